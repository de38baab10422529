"""Reading songs (music/decode.py): formats, M4A through PyAV, a clear message without a decoder, tags,
folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from extra_deps import needs_module, require_extra

require_extra("music")  # skipped when not installed; a broken install fails

from cadencecoach.music import decode  # noqa: E402
from cadencecoach.music.analysis import analyze_file  # noqa: E402
from music_synth import synth_song  # noqa: E402


@pytest.fixture(scope="module")
def song() -> object:
    return synth_song(150.0, 8.0, pattern="four", seed=3)


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_libsndfile_formats_stream_and_keep_the_tempo(song: object, ext: str, tmp_path: Path) -> None:
    p = song.write(tmp_path / f"s{ext}", title="Tagged title", artist="Someone")  # type: ignore[attr-defined]
    with decode.open_source(p) as src:
        assert src.info.backend == "libsndfile" and src.info.channels == 2
        blocks = list(src.blocks(10000))
    assert all(b.dtype == np.float32 and b.shape[1] == 2 for b in blocks)
    assert sum(len(b) for b in blocks) == pytest.approx(len(song.audio), abs=3000)  # type: ignore[attr-defined]
    r = analyze_file(p, use_cache=False)
    assert r.tempo == pytest.approx(150, rel=0.01)
    if ext != ".wav":  # WAV files carry no title/artist here
        assert (r.title, r.artist) == ("Tagged title", "Someone")


@needs_module("av")  # PyAV: skipped when not installed (M4A then needs ffmpeg), fails when broken
def test_m4a_through_pyav(song: object, tmp_path: Path) -> None:
    import av

    p = tmp_path / "song.m4a"
    with av.open(str(p), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        stream.layout = "stereo"
        pcm = np.ascontiguousarray(song.audio.T)  # type: ignore[attr-defined]
        for i in range(0, pcm.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, i : i + 1024]), format="fltp", layout="stereo"
            )
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with decode.open_source(p) as src:
        assert src.info.backend == "pyav"
    r = analyze_file(p, use_cache=False)
    assert r.tempo == pytest.approx(150, rel=0.01) and r.title == "song"


def test_m4a_without_a_decoder_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "x.m4a"
    p.write_bytes(b"\x00" * 64)
    monkeypatch.setattr("cadencecoach.music.deps.has_pyav", lambda: False)
    monkeypatch.setattr(decode.shutil, "which", lambda name: None)
    with pytest.raises(decode.DecodeError, match=r"install PyAV \(pip install av\) or the ffmpeg program"):
        decode.open_source(p)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_text("not audio")
    with pytest.raises(decode.DecodeError):
        analyze_file(bad, use_cache=False)
    with pytest.raises(decode.DecodeError, match="no such file"):
        decode.open_source(tmp_path / "nope.flac")


def test_collect_folders_in_natural_order_and_titles_from_names(tmp_path: Path, song: object) -> None:
    (tmp_path / "a").mkdir()
    for name in ("10 - Ten.wav", "2 - Two.wav", ".hidden.wav", "notes.txt"):
        (tmp_path / "a" / name).write_bytes(b"")
    files, problems = decode.collect([tmp_path / "a", tmp_path / "missing", tmp_path / "empty"])
    assert [f.name for f in files] == ["2 - Two.wav", "10 - Ten.wav"]
    assert any("missing: no such file or folder" in p for p in problems)
    assert decode.read_tags(tmp_path / "a" / "10 - Ten.wav").title == "Ten"


def test_ffmpeg_program_fallback(song: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without PyAV, an ``ffmpeg`` on the PATH decodes to raw float32 on a pipe (a stand-in program here)."""
    import sys

    src = song.write(tmp_path / "real.wav")  # type: ignore[attr-defined]
    m4a = tmp_path / "song.m4a"
    m4a.write_bytes(src.read_bytes())
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, numpy as np, soundfile as sf, soxr\n"
        "a = sys.argv; x, sr = sf.read(open(a[a.index('-i') + 1], 'rb'), dtype='float32', always_2d=True)\n"
        "rate = int(a[a.index('-ar') + 1]); x = soxr.resample(x, sr, rate) if rate != sr else x\n"
        "sys.stdout.buffer.write(np.ascontiguousarray(x[:, :int(a[a.index('-ac') + 1])], np.float32).tobytes())\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr("cadencecoach.music.deps.has_pyav", lambda: False)
    monkeypatch.setattr(decode.shutil, "which", lambda name: str(fake) if name == "ffmpeg" else None)
    with decode.open_source(m4a) as s:
        assert s.info.backend == "ffmpeg" and s.info.frames is None
        total = sum(len(b) for b in s.blocks(8192))
    assert total == len(song.audio)  # type: ignore[attr-defined]
    assert analyze_file(m4a, use_cache=False).tempo == pytest.approx(150, rel=0.01)


def test_a_song_that_cannot_be_read_is_bad_input(tmp_path: Path) -> None:
    from cadencecoach.errors import UsageError

    with pytest.raises(UsageError) as info:
        decode.open_source(tmp_path / "gone.flac")
    assert isinstance(info.value, decode.DecodeError)
    assert info.value.exit_code == 2
    assert info.value.lines() == [f"error: {info.value}"]
