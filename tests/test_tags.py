"""Tags, chapters, cover art and label files (:mod:`cadencecoach.sinks.tags`), read back by mutagen and by an
independent reader (FFmpeg's ``ffprobe``; PyAV decodes), on a second or two of audio made in ``tmp_path``."""

from __future__ import annotations

import base64
import errno
import itertools
import json
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.core.timeline import Timeline, compile_workout
from cadencecoach.errors import UsageError
from cadencecoach.sinks import audiofile, tags
from cadencecoach.sinks.tags import Chapter, Metadata, write_tags
from cadencecoach.workout.loader import load_workout_text
from extra_deps import require_module

require_module("mutagen")

ROOT = Path(__file__).resolve().parents[1]
SR = 22050
SECONDS = 1.5


def _png(width: int = 4, height: int = 3) -> bytes:
    """A small, valid RGB PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + bytes([200, 30, 30]) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = _png()
CHAPTERS = (
    Chapter(0.0, 0.5, "Warm-up — 15 min"),
    Chapter(0.5, 1.125, "Run 1 of 2 — 400 m at mile pace"),
    Chapter(1.125, SECONDS, "Song", artist="Band"),
)
META = Metadata(
    title="10 x 400 m at mile pace",
    artist="cadencecoach",
    album="Workouts",
    comment="A classic mile session.\nStay relaxed, drive the arms.",
    date="2025-05-17",
    genre="Training",
    chapters=CHAPTERS,
    cover=PNG,
)
EXPECTED_TAGS = {
    "title": META.title,
    "artist": META.artist,
    "album": META.album,
    "comment": META.comment,
    "date": META.date,
    "genre": META.genre,
    "encoder": "cadencecoach",
}


def _signal(rate: int = SR, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    x = 0.05 * np.sin(2 * np.pi * 440 * t)
    x[:: rate // 3][:20] = 0.8  # clicks
    return x.astype(np.float32)


def _probe(path: Path) -> dict[str, Any]:
    """``ffprobe -show_format -show_streams -show_chapters`` of `path` (skip only when ffprobe is absent)."""
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg): it is the independent reader of tags here")
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return dict(json.loads(r.stdout))


def _probe_tags(d: dict[str, Any]) -> dict[str, str]:
    """The audio stream's tags (Ogg keeps its comments there), then the format's (keys in lower case)."""
    out: dict[str, str] = {}
    for s in d["streams"]:
        if s["codec_type"] == "audio":
            out.update({k.lower(): v for k, v in s.get("tags", {}).items()})
    out.update({k.lower(): v for k, v in d["format"].get("tags", {}).items()})
    return out


def _probe_chapters(d: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [(float(c["start_time"]), float(c["end_time"]), c.get("tags", {}).get("title", "")) for c in d["chapters"]]


def _has_cover(d: dict[str, Any]) -> bool:
    return any(s.get("disposition", {}).get("attached_pic") == 1 and s["codec_name"] == "png" for s in d["streams"])


def _write(path: Path, meta: Metadata = META, **kwargs: Any) -> Path:
    """A file written by the tool's one writer, tagged in its ``before_commit`` hook (as ``render`` does)."""
    x = _signal()
    with audiofile.open_writer(
        path, SR, before_commit=lambda temp: write_tags(temp, meta, ext=path.suffix), **kwargs
    ) as w:
        w.write(x)
    return path


def _assert_vorbis_chapters(probe: dict[str, Any], labels: bool = True) -> None:
    found = _probe_chapters(probe)
    assert [round(s * 1000) for s, _, _ in found] == [round(c.start * 1000) for c in CHAPTERS]
    assert [t for _, _, t in found] == [c.label for c in CHAPTERS]


# --------------------------------------------------------------------------------------------------- MP3


def _mp3_with_info_frame(tmp_path: Path) -> Path:
    """An MP3 as the renderer makes it: no ID3 tag, a Xing/LAME ``Info`` frame first (the lame CLI, else PyAV)."""
    wav = tmp_path / "src.wav"
    sf.write(wav, _signal(), SR, subtype="PCM_16")
    out = tmp_path / "a.mp3"
    if shutil.which("lame"):
        subprocess.run(["lame", "--quiet", "-b", "64", str(wav), str(out)], check=True, timeout=30)
    else:
        av = require_module("av")
        with av.open(str(out), "w", format="mp3", options={"id3v2_version": "0", "write_id3v1": "0"}) as c:
            s = c.add_stream("libmp3lame", rate=SR, layout="mono")
            s.bit_rate = 64000
            frame = av.AudioFrame.from_ndarray(_signal()[None, :], format="flt", layout="mono")
            frame.sample_rate = SR
            for p in [*s.encode(frame), *s.encode(None)]:
                c.mux(p)
    data = out.read_bytes()
    assert data[0] == 0xFF and (b"Info" in data[:200] or b"Xing" in data[:200]) and b"ID3" not in data[:3]
    return out


def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def test_mp3_gets_an_id3v24_tag_chapters_and_cover_and_keeps_the_audio_byte_for_byte(tmp_path: Path) -> None:
    from mutagen.id3 import ID3, CTOCFlags
    from mutagen.mp3 import MP3

    path = _mp3_with_info_frame(tmp_path)
    before = path.read_bytes()
    write_tags(path, META)
    after = path.read_bytes()
    assert after[:4] == b"ID3\x04" and after.endswith(before)
    assert 10 + _syncsafe(after[6:10]) == len(after) - len(before)  # the tag, then the audio as it was
    assert MP3(path).info.length == pytest.approx(SECONDS, abs=0.1)  # the Info frame is found after the tag

    t = ID3(path)
    assert t.version == (2, 4, 0)
    assert [str(t[k]) for k in ("TIT2", "TPE1", "TALB", "TDRC", "TCON", "TSSE")] == [
        META.title, META.artist, META.album, META.date, META.genre, "cadencecoach"
    ]  # fmt: skip
    comm = t.getall("COMM")[0]
    assert (comm.lang, comm.desc, comm.text) == ("eng", "", [META.comment])
    (toc,) = t.getall("CTOC")
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert list(toc.child_element_ids) == ["chp0", "chp1", "chp2"]
    chaps = {c.element_id: c for c in t.getall("CHAP")}
    for cid, ch in zip(toc.child_element_ids, CHAPTERS, strict=True):
        c = chaps[cid]
        assert (c.start_time, c.end_time) == (round(ch.start * 1000), round(ch.end * 1000))
        assert (c.start_offset, c.end_offset) == (0xFFFFFFFF, 0xFFFFFFFF)
        assert str(c.sub_frames["TIT2"]) == ch.title
        assert (str(c.sub_frames["TPE1"]) if "TPE1" in c.sub_frames else None) == ch.artist
    (apic,) = t.getall("APIC")
    assert (apic.type, apic.mime, apic.data) == (3, "image/png", PNG)

    d = _probe(path)
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    # in time order as FFmpeg lists them (it does not sort; mutagen writes frames by size)
    assert _probe_chapters(d) == [(c.start, c.end, c.title) for c in CHAPTERS]
    assert _has_cover(d)


def test_mp3_from_the_writer_and_tagged_again(tmp_path: Path) -> None:
    """Through ``open_writer`` (lameenc) and ``before_commit``; tagging again replaces the tag, never stacks."""
    from mutagen.id3 import ID3

    path = _write(tmp_path / "w.mp3")
    once = path.read_bytes()
    write_tags(path, META)
    assert path.read_bytes() == once
    write_tags(path, replace(META, title="Other", chapters=CHAPTERS[:1], cover=None))
    t = ID3(path)
    assert str(t["TIT2"]) == "Other" and len(t.getall("CHAP")) == 1 and not t.getall("APIC")
    assert path.read_bytes().count(b"ID3\x04") == 1


# ------------------------------------------------------------------------------------------- FLAC and Ogg


def test_flac_vorbis_comments_chapters_and_picture(tmp_path: Path) -> None:
    from mutagen.flac import FLAC

    plain = tmp_path / "plain.flac"
    with audiofile.open_writer(plain, SR) as w:
        w.write(_signal())
    path = _write(tmp_path / "a.flac")
    f = FLAC(path)
    assert f["TITLE"] == [META.title] and f["ARTIST"] == [META.artist] and f["ALBUM"] == [META.album]
    assert f["COMMENT"] == [META.comment] == f["DESCRIPTION"]
    assert f["DATE"] == [META.date] and f["GENRE"] == [META.genre] and f["ENCODER"] == ["cadencecoach"]
    assert [f[f"CHAPTER{i:03d}"][0] for i in (1, 2, 3)] == ["00:00:00.000", "00:00:00.500", "00:00:01.125"]
    assert [f[f"CHAPTER{i:03d}NAME"][0] for i in (1, 2, 3)] == [c.label for c in CHAPTERS]
    (pic,) = f.pictures
    assert (pic.type, pic.mime, pic.data, pic.width, pic.height, pic.depth) == (3, "image/png", PNG, 4, 3, 24)
    d = _probe(path)
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    _assert_vorbis_chapters(d)
    assert _has_cover(d)
    a, _ = sf.read(path, dtype="int16")
    b, _ = sf.read(plain, dtype="int16")
    assert np.array_equal(a, b)


def test_ogg_vorbis_comments_chapters_and_metadata_block_picture(tmp_path: Path) -> None:
    from mutagen.flac import Picture
    from mutagen.oggvorbis import OggVorbis

    path = _write(tmp_path / "a.ogg")
    f = OggVorbis(path)
    assert f["TITLE"] == [META.title] and f["COMMENT"] == [META.comment] and f["ENCODER"] == ["cadencecoach"]
    assert f["CHAPTER002"] == ["00:00:00.500"] and f["CHAPTER003NAME"] == ["Band - Song"]
    pic = Picture(base64.b64decode(f["METADATA_BLOCK_PICTURE"][0]))
    assert (pic.type, pic.mime, pic.data) == (3, "image/png", PNG)
    d = _probe(path)
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    _assert_vorbis_chapters(d)
    assert _has_cover(d)
    assert sf.info(path).frames == round(SR * SECONDS)


def _decode(path: Path) -> np.ndarray:
    av = require_module("av")
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])


def _opus(path: Path) -> Path:
    """An Ogg Opus file as PyAV (FFmpeg's Ogg muxer, libopus) writes it."""
    av = require_module("av")
    with av.open(str(path), "w", format="ogg") as c:
        s = c.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(_signal(48000)[None, :], format="flt", layout="mono")
        frame.sample_rate = 48000
        for p in [*s.encode(frame), *s.encode(None)]:
            c.mux(p)
    return path


def test_ogg_opus_comments_chapters_and_picture(tmp_path: Path) -> None:
    from mutagen.oggopus import OggOpus

    path = _opus(tmp_path / "a.opus")
    audio = _decode(path)
    write_tags(path, META)
    f = OggOpus(path)
    assert f["TITLE"] == [META.title] and f["DATE"] == [META.date] and f["CHAPTER001NAME"] == ["Warm-up — 15 min"]
    assert "METADATA_BLOCK_PICTURE" in f
    d = _probe(path)
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    _assert_vorbis_chapters(d)
    assert _has_cover(d)
    assert np.array_equal(_decode(path), audio)


# --------------------------------------------------------------------------------------------------- M4A


def _m4a(path: Path, chapters: tuple[Chapter, ...], faststart: bool) -> Path:
    """An AAC .m4a as PyAV writes it, chapters from the muxer (``set_chapters``)."""
    av = require_module("av")
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream("aac", rate=SR, layout="mono")
        s.bit_rate = 48000
        c.set_chapters(tags.pyav_chapters(chapters))
        frame = av.AudioFrame.from_ndarray(_signal()[None, :], format="flt", layout="mono")
        frame.sample_rate = SR
        for p in [*s.encode(frame), *s.encode(None)]:
            c.mux(p)
    return path


def _av_chapters(path: Path) -> list[tuple[int, int, str]]:
    av = require_module("av")
    with av.open(str(path)) as c:
        return [(ch["start"], ch["end"], ch["metadata"].get("title", "")) for ch in c.chapters()]


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-last", "faststart"])
def test_m4a_atoms_and_cover_and_the_muxers_chapters_survive(tmp_path: Path, faststart: bool) -> None:
    """mutagen's MP4 save rewrites ``moov``/``udta``/``meta``: FFmpeg's chapter text track (``tref chap``) and the
    Nero ``chpl`` atom are kept, with the chunk offsets moved when ``moov`` comes first (faststart)."""
    from mutagen.mp4 import MP4, MP4Cover

    path = _m4a(tmp_path / "a.m4a", CHAPTERS, faststart)
    chapters, audio, probed = _av_chapters(path), _decode(path), _probe_chapters(_probe(path))
    assert [t for _, _, t in probed] == [c.label for c in CHAPTERS]
    assert [round(s * 1000) for s, _, _ in probed] == [round(c.start * 1000) for c in CHAPTERS]
    write_tags(path, META)
    m = MP4(path)
    assert m.tags is not None
    assert [m.tags[k] for k in ("\xa9nam", "\xa9ART", "\xa9alb", "\xa9cmt", "\xa9day", "\xa9gen", "\xa9too")] == [
        [META.title], [META.artist], [META.album], [META.comment], [META.date], [META.genre], ["cadencecoach"]
    ]  # fmt: skip
    (cover,) = m.tags["covr"]
    assert bytes(cover) == PNG and cover.imageformat == MP4Cover.FORMAT_PNG
    assert [(c.start, c.title) for c in m.chapters] == [(c.start, c.label) for c in CHAPTERS]  # Nero chpl
    d = _probe(path)
    assert _probe_chapters(d) == probed and _av_chapters(path) == chapters
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    assert _has_cover(d)
    assert np.array_equal(_decode(path), audio)


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".opus", ".m4a"])
def test_tagging_again_replaces_our_fields(tmp_path: Path, ext: str) -> None:
    import mutagen

    if ext == ".m4a":
        path = _m4a(tmp_path / "a.m4a", (), faststart=False)
    elif ext == ".opus":
        path = _opus(tmp_path / "a.opus")
    else:
        path = _write(tmp_path / f"a{ext}")
    write_tags(path, META)
    write_tags(path, replace(META, title="Second", comment=None, cover=None, chapters=CHAPTERS[:1]))
    f = mutagen.File(path)
    keys = {k.upper() for k in f.tags.keys()}  # noqa: SIM118 (a Vorbis comment iterates over (key, value) pairs)
    if ext == ".m4a":
        assert f.tags["\xa9nam"] == ["Second"] and "\xa9cmt" not in f.tags and "covr" not in f.tags
        return
    assert f.tags["TITLE"] == ["Second"] and f.tags["ARTIST"] == [META.artist]
    assert not keys & {"COMMENT", "DESCRIPTION", "METADATA_BLOCK_PICTURE", "CHAPTER002", "CHAPTER002NAME"}
    assert "CHAPTER001" in keys and not getattr(f, "pictures", [])


# --------------------------------------------------------------------------------------------------- WAV


def _riff_chunks(path: Path) -> list[tuple[bytes, int, bytes]]:
    """(id, offset, body) of every top-level chunk, checking sizes and word alignment on the way."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    out, pos = [], 12
    while pos < len(data):
        assert pos % 2 == 0
        cid, n = struct.unpack("<4sI", data[pos : pos + 8])
        out.append((cid, pos, data[pos + 8 : pos + 8 + n]))
        pos += 8 + n + (n & 1)
    assert pos == len(data)
    return out


def _sub_chunks(body: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 0
    while pos < len(body):
        cid, n = struct.unpack("<4sI", body[pos : pos + 8])
        out.append((cid, body[pos + 8 : pos + 8 + n]))
        pos += 8 + n + (n & 1)
    return out


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expected_frames": round(SR * SECONDS)},  # the direct 16-bit writer: a canonical 44-byte header
        {},  # libsndfile: RF64 turned into plain RIFF (a JUNK chunk) on close
        {"expected_frames": round(SR * SECONDS), "bit_depth": 24},
    ],
    ids=["direct", "libsndfile", "24-bit"],
)
def test_wav_info_chunk_and_cue_markers(tmp_path: Path, kwargs: dict[str, int]) -> None:
    path = _write(tmp_path / "a.wav", **kwargs)
    samples, rate = sf.read(path, dtype="float32")
    assert len(samples) == round(SR * SECONDS)
    plain = tmp_path / "plain.wav"
    sf.write(plain, samples, rate, subtype="PCM_24" if kwargs.get("bit_depth") == 24 else "PCM_16")
    assert np.array_equal(sf.read(plain, dtype="float32")[0], samples)

    chunks = _riff_chunks(path)
    ids = [c[0] for c in chunks]
    assert ids[ids.index(b"data") + 1 :] == [b"LIST", b"cue ", b"LIST"]
    info = dict(_sub_chunks(chunks[-3][2][4:]))
    assert chunks[-3][2][:4] == b"INFO" and info[b"INAM"] == META.title.encode() + b"\0"  # type: ignore[union-attr]
    assert set(info) == {b"INAM", b"IART", b"IPRD", b"ICMT", b"ICRD", b"IGNR", b"ISFT"}
    cue = chunks[-2][2]
    (count,) = struct.unpack("<I", cue[:4])
    points = [struct.unpack("<II4sIII", cue[4 + 24 * i : 28 + 24 * i]) for i in range(count)]
    assert [p[1] for p in points] == [round(c.start * SR) for c in CHAPTERS] == [p[5] for p in points]
    assert all(p[2] == b"data" for p in points)
    adtl = chunks[-1][2]
    assert adtl[:4] == b"adtl"
    subs = _sub_chunks(adtl[4:])
    labels = {struct.unpack("<I", b[:4])[0]: b[4:].rstrip(b"\0").decode() for cid, b in subs if cid == b"labl"}
    assert labels == {i + 1: c.label for i, c in enumerate(CHAPTERS)}
    lengths = {struct.unpack("<I", b[:4])[0]: struct.unpack("<I4s", b[4:12]) for cid, b in subs if cid == b"ltxt"}
    assert lengths[3] == (round(SECONDS * SR) - round(1.125 * SR), b"rgn ")

    d = _probe(path)
    assert EXPECTED_TAGS.items() <= _probe_tags(d).items()
    found = _probe_chapters(d)
    assert [t for _, _, t in found] == [c.label for c in CHAPTERS]
    assert all(abs(s - c.start) <= 1 / SR for (s, _, _), c in zip(found, CHAPTERS, strict=True))

    once = path.read_bytes()
    write_tags(path, META)  # again: our chunks are replaced, not stacked
    assert path.read_bytes() == once


def test_wav_odd_data_gets_its_pad_byte_and_a_foreign_chunk_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    sf.write(path, _signal()[:1001], SR, subtype="PCM_24")  # 3003 bytes of data
    data = path.read_bytes()
    if len(data) % 2:  # libsndfile may or may not write the pad byte: both are handled
        data += b"\0"
    foreign = b"junk" + struct.pack("<I", 3) + b"abc\0"
    data += foreign
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    write_tags(path, META)
    chunks = _riff_chunks(path)
    assert [c[0] for c in chunks][-4:] == [b"junk", b"LIST", b"cue ", b"LIST"]
    assert sf.info(path).frames == 1001
    assert len(_probe_chapters(_probe(path))) == 3


def test_rf64_and_non_wav_files_are_left_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    sf.write(path, _signal(), SR, format="RF64", subtype="PCM_16")
    before = path.read_bytes()
    assert before[:4] == b"RF64"
    write_tags(path, META)
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------------------- text and errors


def test_text_from_a_workout_is_sanitized_and_bounded(tmp_path: Path) -> None:
    from mutagen.flac import FLAC

    meta = Metadata(
        title="Run\x1b]0;pwned\x07 fast",
        artist="A\u202eB",
        comment="line one\nline two\x1b[2J" + " word" * 2000,
        chapters=(Chapter(0.0, 1.0, "x" * 500), Chapter(1.0, SECONDS, "Tab\there\nand line")),
    )
    path = _write(tmp_path / "s.flac", meta)
    f = FLAC(path)
    assert f["TITLE"] == ["Run\\x1b]0;pwned\\x07 fast"] and f["ARTIST"] == ["A\\u202eB"]
    comment = f["COMMENT"][0]
    assert len(comment) == tags.MAX_COMMENT and comment.startswith("line one\nline two\\x1b[2J word")
    assert comment.endswith("…")
    long_name = f["CHAPTER001NAME"][0]
    assert len(long_name) == tags.MAX_TITLE and long_name.endswith("x…")
    assert f["CHAPTER002NAME"] == ["Tab\\there\\nand line"]
    for value in (v for _, v in f.tags):  # type: ignore[union-attr]
        assert not any(ord(ch) < 32 and ch != "\n" for ch in value)
    labels = tmp_path / "s.txt"
    tags.write_label_file(labels, meta.chapters, "txt")
    assert tags.is_label_file(labels) and labels.read_text().splitlines()[1].endswith("Tab\\there\\nand line")


def test_metadata_and_formats_refused() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Metadata(date="17/05/2025")
    with pytest.raises(ValueError, match=r"no tags for '\.aiff'"):
        write_tags(Path("x.aiff"), META)
    assert Metadata(chapters=list(CHAPTERS)).chapters == CHAPTERS  # type: ignore[arg-type]


def test_too_many_chapters_are_left_out_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mutagen.id3 import ID3

    monkeypatch.setattr(tags, "MAX_CHAPTERS", 2)
    path = _write(tmp_path / "m.mp3")
    t = ID3(path)
    assert str(t["TIT2"]) == META.title and not t.getall("CHAP") and not t.getall("CTOC")
    assert "3 chapters: more than 2, so the file gets none" in capsys.readouterr().err


def _no_space(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("ext", [".mp3", ".flac", ".ogg", ".m4a"])
def test_a_full_disk_inside_mutagen_is_an_oserror_with_its_errno(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    import mutagen.flac
    import mutagen.id3._file
    import mutagen.mp4
    import mutagen.ogg

    if ext == ".m4a":
        path = _m4a(tmp_path / "a.m4a", CHAPTERS, faststart=False)
    elif ext == ".mp3":
        path = _mp3_with_info_frame(tmp_path)
    else:
        path = tmp_path / f"a{ext}"
        sf.write(path, _signal(), SR)
    for module in (mutagen.id3._file, mutagen.flac, mutagen.ogg, mutagen.mp4):
        for name in ("insert_bytes", "resize_bytes"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, _no_space)
    with pytest.raises(OSError) as info:
        write_tags(path, META)
    assert info.value.errno == errno.ENOSPC and not type(info.value).__module__.startswith("mutagen")


def test_a_full_disk_while_tagging_leaves_nothing_and_names_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the writer (``render``'s path): the hidden temporary file goes, the error names the target."""
    import mutagen.id3._file

    monkeypatch.setattr(mutagen.id3._file, "insert_bytes", _no_space)
    target = tmp_path / "out.mp3"
    with pytest.raises(OSError) as info:
        _write(target)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_a_real_file_size_limit_in_mutagen_is_efbig(tmp_path: Path) -> None:
    """No mocks: RLIMIT_FSIZE (a child process) makes mutagen's own write fail; the errno comes out."""
    src = tmp_path / "a.flac"
    sf.write(src, _signal(), SR)
    code = f"""
import errno, resource, sys
from pathlib import Path
from cadencecoach.sinks.tags import Metadata, write_tags
path = Path({str(src)!r})
limit = path.stat().st_size + 100
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    write_tags(path, Metadata(title="t", cover=bytes(5000)))
except OSError as exc:
    print(errno.errorcode[exc.errno], type(exc).__name__)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["EFBIG", "OSError"]


# ------------------------------------------------------------------------------------------ step chapters


def _workout_timeline(name: str = "10x400", rate: int = 8000) -> Timeline:
    path = ROOT / "src" / "cadencecoach" / "data" / "workouts" / f"{name}.yaml"
    return compile_workout(load_workout_text(path.read_text(), path.name), rate)


def test_step_chapters_title_like_the_announcement_and_tile_the_file() -> None:
    timeline = _workout_timeline()
    chapters = tags.step_chapters(timeline)
    plan = timeline.to_json()
    steps = plan["steps"]
    assert isinstance(steps, list) and len(chapters) == len(steps) == 22
    assert [c.title for c in chapters[:3]] == [
        "Warm-up — 15 min",
        "Run 1 of 10 — 400 m at mile pace",
        "Recover 1 of 10 — 1:30",
    ]
    assert chapters[19].title == "Run 10 of 10 — 400 m at mile pace" and chapters[-1].title == "Cool-down — 10 min"
    assert [round(c.start * 1000) for c in chapters] == [round(s["start_s"] * 1000) for s in steps]
    assert chapters[0].start == 0.0 and all(a.end == b.start for a, b in itertools.pairwise(chapters))
    assert chapters[-1].end == timeline.length / timeline.sample_rate > steps[-1]["end_s"]


def test_step_titles_of_every_kind_of_step() -> None:
    text = """name: Mixed
paces:
  tempo: 4:10/km
steps:
  - warmup: 10min
  - run: 1.5km
    pace: 4:30/km
    effort: 85%
  - run: 45s
    incline: 4%
  - run: 1mi
    pace: tempo
  - recover: 2min30s
  - run: 20min
    heart_rate: Z2
  - rest: 90.5s
"""
    timeline = compile_workout(load_workout_text(text, "w.yaml"), 8000)
    assert [c.title for c in tags.step_chapters(timeline)] == [
        "Warm-up — 10 min",
        "Run — 1.5 km at 4:30/km, 85%",
        "Run — 45 s, 4% incline",
        "Run — 1 mi at tempo pace",
        "Recover — 2:30",
        "Run — 20 min, HR Z2",
        "Rest — 1:30.5",
    ]


def test_a_lead_in_belongs_to_the_first_chapter_and_empty_steps_get_none() -> None:
    timeline = _workout_timeline("tempo")
    first, second, *rest = timeline.steps
    lead = Fraction(3)
    empty = replace(second, index=99, start_s=second.start_s, end_s=second.start_s)
    shifted = replace(timeline, steps=[replace(first, start_s=lead), empty, second, *rest])
    chapters = tags.step_chapters(shifted)
    assert len(chapters) == len(timeline.steps)
    assert chapters[0].start == 0.0 and chapters[1].start == float(second.start_s)
    assert tags.step_chapters(replace(timeline, steps=[empty])) == []


def test_step_chapters_in_a_rendered_mp3_read_back_by_ffprobe(tmp_path: Path) -> None:
    """A short workout end to end: its chapters in an MP3, against ``plan --json``'s start times."""
    text = "name: Strides\nsteps:\n  - warmup: 2s\n  - repeat: 2\n    steps:\n      - run: 1.5s\n      - recover: 1s\n"
    timeline = compile_workout(load_workout_text(text, "w.yaml"), SR)
    chapters = tags.step_chapters(timeline)
    path = tmp_path / "strides.mp3"
    meta = Metadata(title=timeline.name, chapters=tuple(chapters))
    with audiofile.open_writer(path, SR, before_commit=lambda p: write_tags(p, meta, ext=".mp3")) as w:
        w.write(np.zeros(timeline.length, np.float32))
    found = _probe_chapters(_probe(path))
    steps = timeline.to_json()["steps"]
    assert isinstance(steps, list)
    assert [round(s * 1000) for s, _, _ in found] == [round(s["start_s"] * 1000) for s in steps]
    assert [t for _, _, t in found] == ["Warm-up — 2 s", "Run 1 of 2 — 1.5 s", "Recover 1 of 2 — 1 s",
                                        "Run 2 of 2 — 1.5 s", "Recover 2 of 2 — 1 s"]  # fmt: skip
    assert found[-1][1] == pytest.approx(timeline.length / SR, abs=0.001)


# ----------------------------------------------------------------------------------------------- label files


def test_webvtt_text_and_escaping(tmp_path: Path) -> None:
    chapters = [Chapter(0.0, 90.5, "Warm-up — 15 min"), Chapter(90.5, 3723.25, "a < b & c --> d", artist="X")]
    path = tmp_path / "w.vtt"
    tags.write_label_file(path, chapters, "vtt")
    assert path.read_text() == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:01:30.500\nWarm-up — 15 min\n\n"
        "00:01:30.500 --> 01:02:03.250\nX - a &lt; b &amp; c --&gt; d\n"
    )
    assert "-->" not in path.read_text().splitlines()[-1]
    assert tags.parse_vtt(path.read_text()) == [
        Chapter(0.0, 90.5, "Warm-up — 15 min"),
        Chapter(90.5, 3723.25, "X - a < b & c --> d"),
    ]
    assert tags.is_vtt_file(path)


def test_webvtt_parses_with_an_independent_reader(tmp_path: Path) -> None:
    """FFmpeg's WebVTT demuxer reads the cues back (times and text)."""
    path = tmp_path / "w.vtt"
    tags.write_label_file(path, CHAPTERS, "vtt")
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg)")
    cmd = ["ffprobe", "-v", "error", "-show_packets", "-show_data", "-of", "json", str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    packets = json.loads(r.stdout)["packets"]
    assert [float(p["pts_time"]) for p in packets] == [c.start for c in CHAPTERS]
    assert [float(p["duration_time"]) for p in packets] == pytest.approx([c.end - c.start for c in CHAPTERS])


@pytest.mark.parametrize(
    "text",
    ["WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA\nB\n", "WEBVTT\nNOTE mine\n", "my notes\n", "WEBVTT\n\n1 --> 2\nx\n"],
)
def test_what_is_not_our_webvtt(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.vtt"
    path.write_text(text)
    assert not tags.is_vtt_file(path)


def test_label_path_for_vtt_and_txt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audio = tmp_path / "run.mp3"
    assert tags.label_path(audio, "vtt") == tmp_path / "run.vtt"
    (tmp_path / "run.vtt").write_text("subtitles of a film I care about\n")
    assert tags.label_path(audio, "vtt") == tmp_path / "run.labels.vtt"
    written = tags.write_labels_beside(audio, CHAPTERS, "vtt")
    assert written == tmp_path / "run.labels.vtt" and tags.is_vtt_file(written)
    assert "run.vtt is not a label file written by cadencecoach" in capsys.readouterr().err
    assert tags.label_path(audio, "vtt") == tmp_path / "run.labels.vtt"  # ours now: replaced next time
    assert tags.write_labels_beside(audio, CHAPTERS, "txt") == tmp_path / "run.txt"
    assert (tmp_path / "run.vtt").read_text() == "subtitles of a film I care about\n"
    for i in range(2, 4):
        (tmp_path / f"run.labels-{i}.vtt").write_text("not ours\n")
    (tmp_path / "run.labels.vtt").write_text("not ours\n")
    with pytest.raises(UsageError, match="are all files cadencecoach did not write"):
        tags.label_path(audio, "vtt", alternatives=3)
    with pytest.raises(ValueError, match="'txt' or 'vtt'"):
        tags.label_text(CHAPTERS, "srt")  # type: ignore[arg-type]


_MS = st.integers(0, 10 * 3600 * 1000)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_MS, _MS, st.text(max_size=40), st.one_of(st.none(), st.text(max_size=10))), max_size=6))
def test_label_files_round_trip(rows: list[tuple[int, int, str, str | None]]) -> None:
    """Any titles, any times: both label files read back as written (times to the ms, titles sanitized)."""
    chapters = [Chapter(min(a, b) / 1000, max(a, b) / 1000, title, artist) for a, b, title, artist in rows]
    back = tags.parse_vtt(tags.label_text(chapters, "vtt"))
    assert back == [Chapter(c.start, c.end, tags.tag_text(c.label)) for c in chapters]
    lines = tags.label_text(chapters, "txt").splitlines()
    assert len(lines) == len(chapters)
    for line, c in zip(lines, chapters, strict=True):
        start, end, title = line.split("\t")
        assert (float(start), float(end), title) == (c.start, c.end, tags.tag_text(c.label))


# ------------------------------------------------------------------------------------- music/output unchanged


def test_music_mix_writer_chapters_and_labels(tmp_path: Path) -> None:
    """``track build``'s writer goes through write_tags: song chapters (title, artist), the title, the labels."""
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3

    from cadencecoach.music import output

    songs = [Chapter(0.0, 0.75, "Song 1", "Band"), Chapter(0.75, SECONDS, "Song 2", "Band")]
    for ext in (".mp3", ".flac"):
        path = tmp_path / f"mix{ext}"
        with output.MixWriter(path, SR, 1, chapters=songs, title="Test run") as w:
            w.write(_signal())
        assert w.labels_path == tmp_path / "mix.txt"
        lines = (tmp_path / "mix.txt").read_text().splitlines()
        assert lines == ["0.000000\t0.750000\tBand - Song 1", "0.750000\t1.500000\tBand - Song 2"]
    t = ID3(tmp_path / "mix.mp3")
    assert str(t["TIT2"]) == "Test run"
    chaps = sorted(t.getall("CHAP"), key=lambda c: c.start_time)
    assert [(str(c.sub_frames["TIT2"]), str(c.sub_frames["TPE1"])) for c in chaps] == [("Song 1", "Band")] * 1 + [
        ("Song 2", "Band")
    ]
    f = FLAC(tmp_path / "mix.flac")
    assert f["TITLE"] == ["Test run"] and f["CHAPTER002NAME"] == ["Band - Song 2"]
    assert tags.label_path(tmp_path / "mix.ogg") == tmp_path / "mix.txt"  # ours: replaced
