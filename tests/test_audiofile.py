from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadencecoach.sinks import audiofile
from cadencecoach.sinks.audiofile import FORMATS, format_for, open_writer

SR = 44100
MINUS_6_DBFS = 10 ** (-6 / 20)
LOSSLESS = (".wav", ".flac")
LOSSY = (".ogg", ".mp3")
ALL = LOSSLESS + LOSSY
# MP3 encoders may add up to a couple of frames (1152 samples each) of padding and delay.
LOSSY_PADDING = 3 * 1152


def sine(seconds: float = 2.0, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (MINUS_6_DBFS * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def sweep(seconds: float = 2.0, f0: float = 200.0, f1: float = 2000.0, sr: int = SR) -> np.ndarray:
    """A -6 dBFS linear chirp: aperiodic, so it aligns unambiguously after a lossy codec."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (MINUS_6_DBFS * np.sin(phase)).astype(np.float32)


def write_in_blocks(path: Path, data: np.ndarray, block: int = 4410, **kwargs) -> None:
    channels = 1 if data.ndim == 1 else data.shape[1]
    with open_writer(path, SR, channels=channels, **kwargs) as w:
        for start in range(0, len(data), block):
            w.write(data[start : start + block])


def aligned_correlation(original: np.ndarray, decoded: np.ndarray, max_lag: int = 4096) -> float:
    """Pearson correlation of ``decoded`` against ``original`` at the best lag in [-max_lag, max_lag]."""
    n = len(original) + len(decoded)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(decoded, size) * np.conj(np.fft.rfft(original, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    best = int(lags[np.argmax(xc[lags])])
    if best >= 0:
        a, b = original, decoded[best:]
    else:
        a, b = original[-best:], decoded
    m = min(len(a), len(b))
    return float(np.corrcoef(a[:m], b[:m])[0, 1])


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- formats -------------------------------------------------------------------------------


def test_formats_table():
    assert set(FORMATS) == {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus"}
    assert all(isinstance(v, str) and v for v in FORMATS.values())
    assert "Vorbis" in FORMATS[".ogg"]


@pytest.mark.parametrize("name", ["a.wav", "dir/b.FLAC", "c.Ogg", "d.mp3"])
def test_format_for_known(name):
    assert format_for(name) == Path(name).suffix.lower()
    assert format_for(Path(name)) in FORMATS


@pytest.mark.parametrize("name, suffix", [("x.xyz", ".xyz"), ("x.aiff", ".aiff"), ("noext", "")])
def test_format_for_unsupported(name, suffix):
    with pytest.raises(ValueError) as info:
        format_for(name)
    assert str(info.value) == f"unsupported output format '{suffix}': use .wav, .flac, .ogg, .mp3, .m4a or .opus"


def test_open_writer_unsupported_extension_writes_nothing(tmp_path):
    with pytest.raises(
        ValueError, match=r"unsupported output format '\.xyz': use \.wav, \.flac, \.ogg, \.mp3, \.m4a or \.opus"
    ):
        open_writer(tmp_path / "out.xyz", SR)
    assert listing(tmp_path) == []


def test_missing_directory_is_a_clear_error(tmp_path):
    target = tmp_path / "missing" / "out.wav"
    with pytest.raises(FileNotFoundError, match="output directory does not exist"):
        open_writer(target, SR)
    assert listing(tmp_path) == []


def test_target_that_is_a_directory_fails_up_front(tmp_path):
    (tmp_path / "out.wav").mkdir()
    with pytest.raises(IsADirectoryError):
        open_writer(tmp_path / "out.wav", SR)
    assert listing(tmp_path) == ["out.wav"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sample_rate": 0},
        {"channels": 0},
        {"bit_depth": 8},
        {"bit_depth": 32},
        {"expected_frames": -1},
        {"bitrate": 0},
        {"quality": 11},
        {"quality": True},
    ],
)
def test_bad_parameters(tmp_path, kwargs):
    args = {"sample_rate": SR, **kwargs}
    with pytest.raises(ValueError):
        open_writer(tmp_path / "out.wav", **args)
    assert listing(tmp_path) == []


def test_mp3_rejects_more_than_two_channels(tmp_path):
    with pytest.raises(ValueError, match="MP3"):
        open_writer(tmp_path / "out.mp3", SR, channels=3)


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", LOSSLESS)
def test_lossless_round_trip_16_bit(tmp_path, ext):
    x = sine()
    path = tmp_path / f"out{ext}"
    write_in_blocks(path, x)
    info = sf.info(path)
    assert info.samplerate == SR
    assert info.channels == 1
    assert info.subtype == "PCM_16"
    y, sr = sf.read(path, dtype="int16")
    assert sr == SR
    assert len(y) == len(x)
    assert np.max(np.abs(y.astype(np.float64) - x.astype(np.float64) * 32767)) <= 1.0
    # and as floats: within one LSB of the original
    yf, _ = sf.read(path, dtype="float32")
    assert np.max(np.abs(yf - x)) <= 1.0 / 32767 + 1e-6


@pytest.mark.parametrize("ext", LOSSLESS)
def test_lossless_round_trip_24_bit(tmp_path, ext):
    x = sine(freq=1000.0)
    path = tmp_path / f"out{ext}"
    write_in_blocks(path, x, bit_depth=24)
    assert sf.info(path).subtype == "PCM_24"
    y, sr = sf.read(path, dtype="int32")
    assert sr == SR
    assert len(y) == len(x)
    assert np.max(np.abs((y >> 8).astype(np.float64) - x.astype(np.float64) * 8388607)) <= 1.0


@pytest.mark.parametrize("ext", LOSSY)
def test_lossy_round_trip(tmp_path, ext):
    x = sweep()
    path = tmp_path / f"out{ext}"
    write_in_blocks(path, x)
    y, sr = sf.read(path, dtype="float32")
    assert sr == SR
    assert y.ndim == 1
    assert abs(len(y) - len(x)) <= LOSSY_PADDING
    assert aligned_correlation(x, y) > 0.9


def test_ogg_is_vorbis(tmp_path):
    path = tmp_path / "out.ogg"
    write_in_blocks(path, sweep(0.5))
    info = sf.info(path)
    assert (info.format, info.subtype) == ("OGG", "VORBIS")


def test_mp3_is_constant_bit_rate(tmp_path):
    path = tmp_path / "out.mp3"
    seconds = 3.0
    write_in_blocks(path, sweep(seconds), bitrate=128)
    kbps = path.stat().st_size * 8 / seconds / 1000
    assert 115 < kbps < 145


def test_mp3_decodes_to_exactly_the_samples_written(tmp_path):
    """LAME's 576 samples of delay and the last frame's padding are in the Info tag: decoders cut both."""
    x = sweep()
    path = tmp_path / "out.mp3"
    write_in_blocks(path, x)
    y, sr = sf.read(path, dtype="float32")
    assert sr == SR and len(y) == len(x)
    assert aligned_correlation(x, y, max_lag=0) > 0.9  # no shift either
    assert listing(tmp_path) == ["out.mp3"]


@pytest.mark.parametrize("ext", ALL)
def test_stereo(tmp_path, ext):
    left, right = sweep(), 0.5 * sweep(f0=3000.0, f1=300.0)
    x = np.stack([left, right], axis=1)
    path = tmp_path / f"out{ext}"
    write_in_blocks(path, x)
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR
    assert y.shape[1] == 2
    if ext in LOSSLESS:
        assert y.shape == x.shape
        assert np.max(np.abs(y - x)) <= 1.0 / 32767 + 1e-6
    else:
        assert abs(len(y) - len(x)) <= LOSSY_PADDING
        assert aligned_correlation(left, y[:, 0]) > 0.9
        assert aligned_correlation(right, y[:, 1]) > 0.9


def test_mono_accepts_column_blocks(tmp_path):
    x = sine(0.5)
    path = tmp_path / "out.wav"
    with open_writer(path, SR) as w:
        w.write(x[:1000].reshape(-1, 1))
        w.write(x[1000:].astype(np.float64))
    y, _ = sf.read(path, dtype="float32")
    assert len(y) == len(x)
    assert np.max(np.abs(y - x)) <= 1.0 / 32767 + 1e-6


def test_large_blocks_are_split(tmp_path):
    x = sine(5.0)  # one block much larger than the internal chunk size
    path = tmp_path / "out.flac"
    with open_writer(path, SR) as w:
        w.write(x)
        assert w.frames_written == len(x)
    y, _ = sf.read(path, dtype="float32")
    assert np.max(np.abs(y - x)) <= 1.0 / 32767 + 1e-6


def test_clipping(tmp_path):
    path = tmp_path / "out.wav"
    with open_writer(path, SR) as w:
        w.write(np.array([2.0, -3.0, 1.0, -1.0, 0.0, np.inf, -np.inf], dtype=np.float32))
    y, _ = sf.read(path, dtype="int16")
    assert y.tolist() == [32767, -32767, 32767, -32767, 0, 32767, -32767]


@pytest.mark.parametrize("ext", LOSSY)
def test_lossy_clipping(tmp_path, ext):
    x = 4.0 * sweep(1.0)
    path = tmp_path / f"out{ext}"
    write_in_blocks(path, x)
    y, _ = sf.read(path, dtype="float32")
    assert np.max(np.abs(y)) < 1.3  # clipped before encoding (codecs overshoot a little)


def test_bad_block_shapes(tmp_path):
    with open_writer(tmp_path / "mono.wav", SR) as w:
        with pytest.raises(ValueError, match="shape"):
            w.write(np.zeros((10, 2), np.float32))
        with pytest.raises(TypeError):
            w.write(np.zeros(10, np.int16))
    with open_writer(tmp_path / "stereo.wav", SR, channels=2) as w, pytest.raises(ValueError, match="shape"):
        w.write(np.zeros(10, np.float32))


def test_empty_file(tmp_path):
    path = tmp_path / "out.wav"
    with open_writer(path, SR) as w:
        w.write(np.zeros(0, np.float32))
    assert sf.info(path).frames == 0


def test_write_after_close_fails(tmp_path):
    path = tmp_path / "out.wav"
    w = open_writer(path, SR)
    w.write(sine(0.1))
    w.close()
    w.close()  # idempotent
    assert w.closed
    with pytest.raises(ValueError, match="closed"):
        w.write(sine(0.1))


# -- WAV / RF64 ----------------------------------------------------------------------------


def test_wav_with_expected_frames_is_plain_riff(tmp_path):
    x = sine(0.5)
    path = tmp_path / "out.wav"
    write_in_blocks(path, x, expected_frames=len(x))
    assert path.read_bytes()[:4] == b"RIFF"
    assert sf.info(path).format == "WAV"


def test_wav_without_expected_frames_is_riff_when_small(tmp_path):
    x = sine(0.5)
    path = tmp_path / "out.wav"
    write_in_blocks(path, x)
    assert path.read_bytes()[:4] == b"RIFF"
    assert sf.info(path).frames == len(x)


def test_rf64_when_expected_data_exceeds_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(audiofile, "WAV_MAX_DATA_BYTES", 1000)
    x = sine(0.1)
    path = tmp_path / "out.wav"
    write_in_blocks(path, x, expected_frames=501)  # 1002 bytes of 16-bit mono
    assert path.read_bytes()[:4] == b"RF64"
    y, sr = sf.read(path, dtype="int16")
    assert (sr, len(y)) == (SR, len(x))


def test_true_4gib_limit_choice():
    assert audiofile.WAV_MAX_DATA_BYTES == 4 * 1024**3 - 1024


def test_plain_wav_refuses_to_overflow(tmp_path, monkeypatch):
    monkeypatch.setattr(audiofile, "WAV_MAX_DATA_BYTES", 1000)
    path = tmp_path / "out.wav"
    with pytest.raises(ValueError, match="4 GiB"), open_writer(path, SR, expected_frames=100) as w:
        w.write(np.zeros(400, np.float32))
        w.write(np.zeros(400, np.float32))
    assert listing(tmp_path) == []


# -- atomicity -----------------------------------------------------------------------------


class Boom(Exception):
    pass


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("ext", ALL)
def test_exception_mid_write_leaves_nothing(tmp_path, ext, exc_type):
    path = tmp_path / f"out{ext}"
    with pytest.raises(exc_type), open_writer(path, SR) as w:
        w.write(sine(1.0))
        # the temporary file lives next to the target, hidden, with the real extension
        (temp,) = listing(tmp_path)
        assert temp.startswith(f".out{ext}.tmp-{os.getpid()}-")
        assert temp.endswith(ext)
        assert not path.exists()
        raise exc_type()
    assert listing(tmp_path) == []


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("ext", ALL)
def test_exception_keeps_existing_target(tmp_path, ext, exc_type):
    path = tmp_path / f"out{ext}"
    old = b"old contents, not audio"
    path.write_bytes(old)
    with pytest.raises(exc_type), open_writer(path, SR) as w:
        w.write(sine(1.0))
        assert path.read_bytes() == old
        raise exc_type()
    assert path.read_bytes() == old
    assert listing(tmp_path) == [path.name]


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
def test_exception_inside_write_cleans_up(tmp_path, exc_type):
    path = tmp_path / "out.wav"
    path.write_bytes(b"old")
    w = open_writer(path, SR)
    w.write(sine(0.5))

    def failing_write(frames):
        raise exc_type()

    w._encoder.write = failing_write  # type: ignore[union-attr]
    with pytest.raises(exc_type), w:
        w.write(sine(0.5))
    assert listing(tmp_path) == ["out.wav"]
    assert path.read_bytes() == b"old"


def test_clean_exit_replaces_existing_target(tmp_path):
    path = tmp_path / "out.wav"
    path.write_bytes(b"old")
    x = sine(0.5)
    write_in_blocks(path, x)
    assert listing(tmp_path) == ["out.wav"]
    y, _ = sf.read(path, dtype="float32")
    assert len(y) == len(x)


def test_abort_by_hand(tmp_path):
    w = open_writer(tmp_path / "out.flac", SR)
    w.write(sine(0.5))
    w.abort()
    assert listing(tmp_path) == []
    w.close()  # no-op after abort
    assert listing(tmp_path) == []


def test_dropped_writer_removes_its_temp_file(tmp_path):
    w = open_writer(tmp_path / "out.wav", SR)
    w.write(sine(0.1))
    del w
    assert listing(tmp_path) == []


def test_written_file_honours_umask(tmp_path):
    path = tmp_path / "out.wav"
    write_in_blocks(path, sine(0.1))
    old = os.umask(0)
    os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~old


# -- constant memory -----------------------------------------------------------------------


def _peak_traced_bytes(path: Path, minutes: int, sr: int) -> int:
    block = np.zeros(1 << 16, np.float32)
    block[::4410] = 0.5  # a few clicks per block
    total = minutes * 60 * sr
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with open_writer(path, sr) as w:
            done = 0
            while done < total:
                n = min(len(block), total - done)
                w.write(block[:n])
                done += n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sf.info(path).frames == total
    path.unlink()
    return peak


@pytest.mark.parametrize("ext", LOSSLESS)
def test_constant_memory(tmp_path, ext):
    sr = 16000
    short = _peak_traced_bytes(tmp_path / f"short{ext}", 10, sr)
    long = _peak_traced_bytes(tmp_path / f"long{ext}", 40, sr)
    assert long < 4 * 1024**2
    assert abs(long - short) < 512 * 1024


def test_direct_pcm16_wav_path_is_canonical_and_exact(tmp_path: Path) -> None:
    """With expected_frames the 16-bit WAV is written directly: a plain 44-byte RIFF header, exact samples."""
    target = tmp_path / "direct.wav"
    rng = np.random.default_rng(7)
    data = (rng.uniform(-1.0, 1.0, 100_000) * 0.9).astype(np.float32)
    with open_writer(target, 44100, expected_frames=len(data)) as writer:
        for start in range(0, len(data), 30_000):
            writer.write(data[start : start + 30_000])
    raw = target.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:16] == b"WAVEfmt " and raw[36:40] == b"data"
    assert int.from_bytes(raw[20:22], "little") == 1  # WAVE_FORMAT_PCM, not EXTENSIBLE
    assert int.from_bytes(raw[40:44], "little") == 2 * len(data) and len(raw) == 44 + 2 * len(data)
    back, rate = sf.read(target, dtype="int16")
    assert rate == 44100
    np.testing.assert_array_equal(back, np.rint(data * 32767).astype(np.int16))


def test_before_commit_runs_on_the_finished_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    seen: list[tuple[Path, bool, int]] = []

    def hook(temp: Path) -> None:
        seen.append((temp, target.exists(), temp.stat().st_size))
        with open(temp, "ab") as f:  # it may change the file in place (tags)
            f.write(b"")

    with open_writer(target, SR, expected_frames=100, before_commit=hook) as w:
        w.write(np.zeros(100, np.float32))
    [(temp, existed, size)] = seen
    assert temp.parent == tmp_path and temp.name.startswith(".out.wav.tmp-") and not existed
    assert size == 44 + 200 and target.stat().st_size == size and not temp.exists()


def test_before_commit_failing_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.flac"

    def hook(temp: Path) -> None:
        raise RuntimeError("tags failed")

    with pytest.raises(RuntimeError, match="tags failed"), open_writer(target, SR, before_commit=hook) as w:
        w.write(np.zeros(100, np.float32))
    assert list(tmp_path.iterdir()) == []


def test_mp3_lame_quality_and_vbr(tmp_path: Path) -> None:
    data = sine(1.0)
    outs = {}
    for name, kwargs in (("q2", {"mp3_quality": 2}), ("q5", {"mp3_quality": 5}), ("vbr", {"quality": 2})):
        target = tmp_path / f"{name}.mp3"
        write_in_blocks(target, data, **kwargs)
        got, rate = sf.read(str(target), dtype="float32")
        assert rate == SR and len(got) == len(data)
        outs[name] = target.read_bytes()
    assert outs["q2"] != outs["q5"]
    assert b"Xing" in outs["vbr"][:200] and b"Info" in outs["q2"][:200]  # the variable and the constant bit rate tag


@pytest.mark.parametrize("kwargs", [{"mp3_quality": 10}, {"mp3_quality": True}, {"sample_rate": 96000}])
def test_bad_mp3_encoder_options(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="MP3"):
        open_writer(tmp_path / "x.mp3", **{"sample_rate": SR, **kwargs})
    assert list(tmp_path.iterdir()) == []
