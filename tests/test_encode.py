"""Lossy encoding (sinks/encode.py, sinks/mp3.py): parallel chunks joined without a trace, gapless lengths.

Every file is decoded by FFmpeg (PyAV), a decoder independent of the encoders (LAME for MP3); MP3's Info tag is
also read by mutagen. The signals are a few seconds long, with the workout's texture: short clicks three times a
second, with silence between them, and stretches of continuous sound (speech, music) with none.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.sinks import encode, mp3
from cadencecoach.sinks.audiofile import open_writer

av = pytest.importorskip("av", reason="PyAV (the formats extra) decodes the files")
lameenc = pytest.importorskip("lameenc")

SR = 44100


def workout_like(
    seconds: float, *, speech: tuple[tuple[float, float], ...] = ((2.0, 3.5),), seed: int = 1
) -> np.ndarray:
    """Clicks (12 ms, decaying) every 1/3 s over digital silence, and noise bursts standing in for speech."""
    rng = np.random.default_rng(seed)
    x = np.zeros(round(seconds * SR), np.float32)
    n = round(0.012 * SR)
    click = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(n) / SR) * np.exp(-np.arange(n) / (0.003 * SR))).astype(
        np.float32
    )
    for at in range(0, len(x) - n, SR // 3):
        x[at : at + n] += click
    for a, b in speech:
        i, j = round(a * SR), min(len(x), round(b * SR))
        if j <= i:
            continue
        x[i:j] += (0.2 * rng.standard_normal(j - i) * np.hanning(j - i)).astype(np.float32)
    return x


def renderer(x: np.ndarray):
    def render(start: int, out: np.ndarray) -> None:
        out[:] = x[start : start + len(out)]

    return render


def decode(data: bytes | Path, *, channels: bool = False) -> np.ndarray:
    """The samples FFmpeg decodes: the first channel, or all as ``(n, channels)``."""
    frames = []
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as c:
        for f in c.decode(audio=0):
            a = f.to_ndarray()
            frames.append(a.T if f.format.is_planar else a.reshape(-1, len(f.layout.channels)))
    out = np.concatenate(frames)
    return out if channels else out[:, 0]


def write(path: Path, x: np.ndarray, *, workers: int, chunk_s: float = 3.0, **kwargs) -> list[int]:
    with open_writer(path, SR, expected_frames=len(x), **kwargs) as w:
        return w.render(renderer(x), len(x), workers=workers, chunk_s=chunk_s)


def lame(x: np.ndarray, kbps: int = 64) -> list[bytes]:
    e = lameenc.Encoder()
    e.set_bit_rate(kbps)
    e.set_in_sample_rate(SR)
    e.set_out_sample_rate(SR)
    e.set_channels(1)
    e.set_quality(2)
    pcm = np.clip(np.rint(x * 32767), -32767, 32767).astype(np.int16)
    return mp3.split_frames(e.encode(pcm.tobytes()) + e.flush())


# -- MP3 bitstream --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_encodings() -> tuple[np.ndarray, list[bytes], list[bytes], int]:
    """One signal encoded from its start, and again from frame 40 on: the two overlap by 60 frames."""
    x = workout_like(2.6, speech=((0.0, 2.6),), seed=3)  # continuous sound: the reservoir is never idle
    b0 = 40
    return x, lame(x[: 100 * 1152]), lame(x[b0 * 1152 :]), b0


@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_a_join_decodes_as_each_encoding_did(two_encodings, data) -> None:
    """``a[:j] + b[j:]`` with b's reservoir moved: the frames before the join decode as in a, those from the one
    after it as in b (the join's own frame overlaps a's last granule, as any frame overlaps its neighbour)."""
    _x, a, b, b0 = two_encodings
    j = data.draw(st.integers(b0 + 6, 90))
    joined = mp3.join(a, b, j, j - b0)
    if joined is None:  # b's frame reads more reservoir than a left free there: refused, never a broken stream
        need = mp3._main_data_begin(b[j - b0], mp3.frame_at(b[j - b0]))
        assert need > mp3._main_data_begin(a[j], mp3.frame_at(a[j]))
        return
    assert len(joined) == j + len(b) - (j - b0)
    got = decode(b"".join(joined))
    mine_a, mine_b = decode(b"".join(a)), decode(b"".join(b))
    cut = j * 1152
    assert np.array_equal(got[:cut], mine_a[:cut])
    assert np.array_equal(got[cut + 1152 :], mine_b[cut + 1152 - b0 * 1152 :])


def test_most_joins_fit_the_reservoir(two_encodings) -> None:
    _x, a, b, b0 = two_encodings
    fits = [mp3.join(a, b, j, j - b0) is not None for j in range(b0 + 6, 95)]
    assert sum(fits) >= 0.8 * len(fits)


def test_frames_of_a_stream() -> None:
    frames = lame(workout_like(1.0))
    info = mp3.frame_at(frames[0])
    assert (info.version, info.rate, info.kbps, info.channels, info.samples) == (3, SR, 64, 1, 1152)
    assert all(len(f) == mp3.frame_at(f).size for f in frames)
    with pytest.raises(ValueError, match="middle of a frame"):
        mp3.split_frames(b"".join(frames)[:-10])
    with pytest.raises(ValueError, match="not an MPEG Layer III frame"):
        mp3.frame_at(b"ID3\x04\x00\x00\x00\x00")


@pytest.mark.parametrize(
    ("rate", "channels", "kwargs"),
    [(44100, 1, {}), (48000, 2, {"bitrate": 128}), (22050, 1, {"bitrate": 32}), (44100, 1, {"bitrate": 32}),
     (16000, 1, {"quality": 5}), (44100, 2, {"quality": 8})],
)  # fmt: skip
def test_mp3_files_decode_to_the_samples_written(tmp_path: Path, rate: int, channels: int, kwargs: dict) -> None:
    """The Info tag (encoder delay 576, the padding, the frame count) is what decoders cut by: FFmpeg's decode is
    exactly the input, not shifted; mutagen reads the same length and the LAME tag."""
    mutagen_mp3 = pytest.importorskip("mutagen.mp3")
    t = np.arange(round(1.3 * rate)) / rate
    x = (0.4 * np.sin(2 * np.pi * (200 + 1500 * t) * t) * (t > 0.2)).astype(np.float32)  # a sweep: one best lag
    data = np.repeat(x[:, None], channels, axis=1)
    path = tmp_path / "x.mp3"
    with open_writer(path, rate, channels, **kwargs) as w:
        w.write(data)
    got = decode(path, channels=True)
    assert got.shape == (len(x), channels)
    mono = got[:, 0]
    fit = {k: float(np.dot(mono[12000 + k : 14000 + k], x[12000:14000])) for k in range(-50, 51)}
    assert max(fit, key=fit.__getitem__) == 0
    info = mutagen_mp3.MP3(path).info
    assert abs(info.length - len(x) / rate) < 1e-3
    assert info.encoder_info.startswith("LAME")
    assert info.bitrate_mode == (mutagen_mp3.BitrateMode.VBR if "quality" in kwargs else mutagen_mp3.BitrateMode.CBR)


def test_the_info_tag_crc() -> None:
    frame = mp3.info_frame(lame(workout_like(0.5))[0], frames=10, stream_bytes=2300, padding=1000)
    stored = int.from_bytes(frame[175:177], "big")  # mono MPEG-1: after 4 + 17 + 120 + 34 bytes
    assert stored == mp3.crc16(frame[:175])
    assert frame[21:25] == b"Info" and frame[141:150] == b"LAME3.100"
    assert int.from_bytes(frame[162:165], "big") == (576 << 12) | 1000


# -- in parallel ----------------------------------------------------------------------------------------------


FORMATS = {".mp3": {}, ".m4a": {}, ".opus": {}}


def reference(x: np.ndarray, ext: str) -> np.ndarray:
    if ext != ".opus":
        return x
    import soxr

    return soxr.resample(x, SR, 48000)


def decoded_length(path: Path) -> int:
    """The file's length by its container: what a player plays (MP4's edit list; Ogg's end granule; MP3's tag)."""
    if path.suffix == ".m4a":
        with av.open(str(path)) as c:
            s = c.streams.audio[0]
            return int(s.duration)
    return len(decode(path))


@pytest.mark.parametrize("ext", FORMATS)
def test_parallel_chunks_join_without_a_trace(tmp_path: Path, ext: str) -> None:
    """15 s in chunks of 3 s, on two workers: the same length as one encoder, every join in a silence between
    clicks, and near every join no more error (against the input) than the one encoder made anywhere."""
    x = workout_like(15.0, speech=((2.0, 3.6), (5.5, 7.5), (11.8, 13.0)))
    one = tmp_path / f"one{ext}"
    par = tmp_path / f"par{ext}"
    assert write(one, x, workers=1) == []
    joins = write(par, x, workers=2)
    assert 3 <= len(joins) <= 5
    ref = reference(x, ext)
    scale = 48000 / SR if ext == ".opus" else 1.0
    expected = len(ref)
    assert decoded_length(one) == decoded_length(par) == expected
    a, b = decode(one)[:expected], decode(par)[:expected]
    err_one = np.abs(a - ref)
    err_par = np.abs(b - ref)
    quiet = 3 * encode.Codec(ext, SR).grid  # the silence a join is put in: three frames either side
    for at in joins:
        assert np.max(np.abs(x[at - quiet : at + quiet])) <= encode.SILENCE
        c = round(at * scale)
        window = slice(max(0, c - round(0.05 * SR * scale)), c + round(0.05 * SR * scale))
        assert err_par[window].max() <= err_one.max() + 1e-6
    # the parallel file is as faithful as one encoder's, sample for sample in time (no shift anywhere)
    assert np.percentile(err_par, 99.9) <= 1.2 * np.percentile(err_one, 99.9) + 1e-4
    for second in range(1, 14):
        s = slice(round(second * SR * scale), round((second + 0.5) * SR * scale))
        lags = range(-3, 4)
        best = max(lags, key=lambda k: float(np.dot(np.roll(b, k)[s], ref[s])))
        assert best == 0


@pytest.mark.parametrize("ext", FORMATS)
def test_joins_in_continuous_sound_are_still_clean(tmp_path: Path, ext: str) -> None:
    """Music under the whole render leaves no silence to join in: the join is at the chunk's end, on the frame
    grid, and the error there stays the codec's."""
    x = workout_like(14.0, speech=((0.0, 14.0),), seed=5)
    one, par = tmp_path / f"one{ext}", tmp_path / f"par{ext}"
    write(one, x, workers=1)
    joins = write(par, x, workers=2)
    assert len(joins) >= 2
    ref = reference(x, ext)
    scale = len(ref) / len(x)
    assert decoded_length(par) == len(ref)
    a, b = decode(one)[: len(ref)], decode(par)[: len(ref)]
    err_one, err_par = np.abs(a - ref), np.abs(b - ref)
    for at in joins:
        window = slice(round((at - 2048) * scale), round((at + 2048) * scale))
        assert err_par[window].max() <= 1.5 * err_one.max()
    assert np.percentile(err_par, 99) <= 1.2 * np.percentile(err_one, 99)


def test_a_join_no_frame_can_take_is_encoded_again_from_further_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense music can leave no frame near a join that takes the next chunk's reservoir (issue 17: one join in a
    6-hour render): the chunk is encoded again with a longer warm-up, and the file is as clean as ever."""
    x = workout_like(14.0, speech=((0.0, 14.0),), seed=5)
    real = encode._join_mp3
    tried: dict[int, list[int]] = {}  # join frame -> the first frame of each encoding of the chunk offered

    def refuse_the_first(a, b, at):  # type: ignore[no-untyped-def]
        tried.setdefault(at, []).append(b[0][0])
        return None if len(tried[at]) == 1 else real(a, b, at)

    monkeypatch.setattr(encode, "_join_mp3", refuse_the_first)
    one, par = tmp_path / "one.mp3", tmp_path / "par.mp3"
    write(one, x, workers=1)
    joins = write(par, x, workers=2)
    assert len(joins) >= 2 and len(tried) == len(joins)
    for first, again in (v for v in tried.values()):  # once refused, once from further back
        assert again == first - encode.RETRY_WARM_FRAMES[0]
    assert decoded_length(par) == len(x)
    a, b = decode(one)[: len(x)], decode(par)[: len(x)]
    err_one, err_par = np.abs(a - x), np.abs(b - x)
    for at in joins:
        window = slice(at - 2048, at + 2048)
        assert err_par[window].max() <= 1.5 * err_one.max()
    assert np.percentile(err_par, 99) <= 1.2 * np.percentile(err_one, 99)


def _running(pid: int) -> bool:
    """The process runs (it exists and is not a zombie): read from /proc, not from multiprocessing's bookkeeping,
    whose ``is_alive`` stays True for a child that another thread (the pool's manager) has already reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_a_stop_mid_render_stops_the_workers_and_leaves_nothing(tmp_path: Path) -> None:
    x = workout_like(20.0)
    before = {p.pid for p in multiprocessing.active_children()}
    workers: list[int] = []

    def render(start: int, out: np.ndarray) -> None:
        if start > 9 * SR:  # the workers encode the chunks before: the stop comes while they run
            workers.extend(p.pid for p in multiprocessing.active_children() if p.pid not in before)
            raise KeyboardInterrupt
        out[:] = x[start : start + len(out)]

    with pytest.raises(KeyboardInterrupt), open_writer(tmp_path / "x.m4a", SR) as w:
        w.render(render, len(x), workers=2, chunk_s=3.0)
    assert list(tmp_path.iterdir()) == []
    assert len(workers) == 2
    deadline = time.monotonic() + 5
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in workers if _running(pid)] == []


def test_lossy_codecs_refuse_rates_they_cannot_take() -> None:
    with pytest.raises(ValueError, match="MP3 has no 96000 Hz"):
        encode.Codec(".mp3", 96000)
    with pytest.raises(ValueError, match="Opus needs"):
        encode.Codec(".opus", 44123)
    assert encode.Codec(".opus", 44100).grid == 882 and encode.Codec(".opus", 48000).grid == 960


def test_usable_cores() -> None:
    assert 1 <= encode.usable_cores() <= (os.cpu_count() or 1)
