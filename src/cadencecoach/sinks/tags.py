"""Tags, chapters and cover art in rendered files, and the label files beside them.

:func:`write_tags` adds a :class:`Metadata` (title, artist, album, comment, date, genre, encoder, chapters, a
cover image) in place to a finished audio file (the hidden temporary file of :mod:`cadencecoach.sinks.audiofile`,
before it is renamed onto the target: ``open_writer(..., tags=meta)``), in each container's own convention:

* **MP3**: an ID3v2.4 tag (``TIT2 TPE1 TALB COMM TDRC TCON TSSE``), one ``CHAP`` frame per chapter (``chp0``,
  ``chp1`` ..., times in ms, byte offsets unset, ``TIT2`` and ``TPE1`` sub-frames) and one top-level ordered
  ``CTOC`` listing them: the form podcast apps read; the ``CHAP`` frames are in time order (FFmpeg lists them as
  they come). The cover is an ``APIC`` front cover (type 3). The tag goes in front of the audio, which is kept
  byte for byte (its LAME/Info frame first).
* **FLAC, Ogg Vorbis, Ogg Opus**: Vorbis comments ``TITLE ARTIST ALBUM COMMENT DESCRIPTION DATE GENRE ENCODER`` and
  the chapter convention ``CHAPTER001=HH:MM:SS.mmm`` / ``CHAPTER001NAME=...`` (three digits, as FFmpeg reads
  them: at most :data:`MAX_CHAPTERS`). The cover is a FLAC ``PICTURE`` block in FLAC and a
  ``METADATA_BLOCK_PICTURE`` comment (base64 of the same block) in Ogg.
* **M4A**: the iTunes atoms ``©nam ©ART ©alb ©cmt ©day ©gen ©too`` and ``covr``. The chapters of an M4A are the
  muxer's to write (PyAV's ``container.set_chapters``, :func:`pyav_chapters`): FFmpeg writes a QuickTime chapter
  text track and a Nero ``chpl`` atom, and mutagen's save keeps both (moov before or after mdat: it moves the
  chunk offsets with it).
* **WAV** (plain RIFF/WAVE only; an RF64 file is left untagged): a ``LIST``/``INFO`` chunk (``INAM IART IPRD ICMT
  ICRD IGNR ISFT``) after the data chunk, and the chapters as RIFF markers: a ``cue `` chunk and a
  ``LIST``/``adtl`` chunk with a ``labl`` (its title) and an ``ltxt`` (its length, a region) per cue point: the
  marker convention of Audacity, Reaper and Wavosaur (FFmpeg reads the titles, the ``labl`` chunks first). The
  RIFF size is patched; chunks keep word alignment.

Text from a workout is the user's input: every field goes through :func:`cadencecoach.terminal.safe_text` (the one
sanitizer: control characters and bidi controls shown escaped, never raw in a tag or a label file) and is cut to
:data:`MAX_TITLE` characters (:data:`MAX_COMMENT` for the comment, which keeps its lines). A write the file
system refuses (the disk is full) is an ``OSError`` with its errno, however mutagen wrapped it.

:func:`step_chapters` makes one chapter per step of a compiled timeline, titled like its announcement
(``Run 3 of 10 — 400 m at mile pace``); together they tile the file. :func:`write_label_file` writes them beside
the audio as an Audacity label track (``NAME.txt``) or WebVTT (``NAME.vtt``); :func:`label_path` picks the name so
that a side file the user did not name never replaces a file the tool did not write.
"""

from __future__ import annotations

import base64
import os
import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cadencecoach import atomic
from cadencecoach.errors import UsageError, warn
from cadencecoach.files import InputRefused, read_limited
from cadencecoach.terminal import bounded_text
from cadencecoach.workout.units import format_clock, number_text, written_extent

if TYPE_CHECKING:
    from cadencecoach.core.timeline import TimedStep, Timeline
    from cadencecoach.workout.model import Step

__all__ = [
    "LABEL_ALTERNATIVES",
    "LABEL_FILE_LIMIT",
    "MAX_CHAPTERS",
    "MAX_COMMENT",
    "MAX_TITLE",
    "TAGGED_FORMATS",
    "Chapter",
    "LabelKind",
    "Metadata",
    "announce_label_path",
    "clock",
    "is_label_file",
    "is_vtt_file",
    "label_path",
    "label_text",
    "os_error_in",
    "parse_vtt",
    "pyav_chapters",
    "step_chapters",
    "step_title",
    "tag_text",
    "write_label_file",
    "write_labels_beside",
    "write_tags",
]

MAX_TITLE = 200
"""Longest title, artist, album, genre or chapter title written (characters, after sanitizing)."""
MAX_COMMENT = 4000
"""Longest comment (the workout's notes) written."""
MAX_CHAPTERS = 999
"""Most chapters written into a file: the Vorbis convention has three digits (``CHAPTER999``), and a player's
chapter list of thousands of entries helps no one. A workout with more steps gets no chapters in the file (a
warning says so); its label file still lists every step."""

TAGGED_FORMATS = (".mp3", ".flac", ".ogg", ".opus", ".m4a", ".wav")
"""The containers :func:`write_tags` knows."""

LabelKind = Literal["txt", "vtt"]


@dataclass(frozen=True)
class Chapter:
    """A stretch of the file: a workout step or a song of a mix (times in seconds)."""

    start: float
    end: float
    title: str
    artist: str | None = None

    @property
    def label(self) -> str:
        """``artist - title`` (a song), or the title alone."""
        return f"{self.artist} - {self.title}" if self.artist else self.title


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Metadata:
    """What :func:`write_tags` writes. Empty fields (None, ``""``) are left out."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    comment: str | None = None  # the workout's notes (lines kept)
    date: str | None = None  # ISO ``YYYY-MM-DD``
    genre: str | None = None
    chapters: tuple[Chapter, ...] = ()
    cover: bytes | None = None  # the image file's bytes (PNG)
    cover_mime: str = "image/png"
    encoder: str = "cadencecoach"

    def __post_init__(self) -> None:
        if not isinstance(self.chapters, tuple):
            object.__setattr__(self, "chapters", tuple(self.chapters))
        if self.date is not None and not _DATE.fullmatch(self.date):
            raise ValueError(f"date must be YYYY-MM-DD, got {self.date!r}")


# ------------------------------------------------------------------------------------------------ text


def tag_text(text: str | None, limit: int = MAX_TITLE, *, multiline: bool = False) -> str:
    """`text` as it goes into a tag or a label file: control characters shown escaped
    (:func:`cadencecoach.terminal.safe_text`; `multiline` keeps newlines and tabs) and cut to `limit`
    characters (the last one an ellipsis). None is ``""``.

    >>> tag_text("Run\\x1b[2J fast"), tag_text("x" * 300)[-3:], len(tag_text("x" * 300))
    ('Run\\\\x1b[2J fast', 'xx…', 200)
    """
    return bounded_text(text, limit, multiline=multiline)


def _clean(meta: Metadata) -> Metadata:
    chapters = tuple(
        Chapter(float(c.start), float(c.end), tag_text(c.title), tag_text(c.artist) or None) for c in meta.chapters
    )
    if len(chapters) > MAX_CHAPTERS:
        warn(f"{len(chapters)} chapters: more than {MAX_CHAPTERS}, so the file gets none (the label file has them)")
        chapters = ()
    return Metadata(
        title=tag_text(meta.title),
        artist=tag_text(meta.artist),
        album=tag_text(meta.album),
        comment=tag_text(meta.comment, MAX_COMMENT, multiline=True),
        date=meta.date,
        genre=tag_text(meta.genre),
        chapters=chapters,
        cover=meta.cover or None,
        cover_mime=tag_text(meta.cover_mime) or "image/png",
        encoder=tag_text(meta.encoder),
    )


def clock(t: float) -> str:
    """``HH:MM:SS.mmm`` (to the nearest ms): Vorbis chapters and WebVTT times.

    >>> clock(0), clock(90.5), clock(3723.0004)
    ('00:00:00.000', '00:01:30.500', '01:02:03.000')
    """
    ms = _ms(t)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _ms(t: float) -> int:
    return max(round(float(t) * 1000), 0)


# ------------------------------------------------------------------------------------------ writing tags


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind `exc` (itself, mutagen's ``MutagenError(OSError)``, or its cause), if any."""
    for candidate in (exc, *exc.args[:1], exc.__cause__, exc.__context__):
        if isinstance(candidate, OSError) and candidate.errno is not None:
            return candidate
    return None


def write_tags(path: Path, meta: Metadata, *, ext: str | None = None) -> None:
    """Write `meta` into the audio file at `path`, in place (see the module doc for what each container gets);
    `ext` (default: the file's suffix) says which container it is, for a temporary file of another name.

    Raises
    ------
    ValueError
        An extension not in :data:`TAGGED_FORMATS`.
    OSError
        The file system refused (with its errno: ``ENOSPC`` when the disk is full), unwrapped from mutagen's
        ``MutagenError``.
    """
    kind = (ext or Path(path).suffix).lower()
    writer = _WRITERS.get(kind)
    if writer is None:
        raise ValueError(f"no tags for '{kind}' files: use one of {', '.join(TAGGED_FORMATS)}")
    clean = _clean(meta)
    try:
        writer(Path(path), clean)
    except Exception as exc:
        cause = os_error_in(exc)
        if cause is None or cause is exc:
            raise
        raise cause from None


def _mutagen(what: str) -> Any:
    from cadencecoach import extras

    return extras.load("mutagen", what)


def _id3(path: Path, meta: Metadata) -> None:
    from cadencecoach import extras

    extras.load("mutagen.id3", "MP3 tags and chapters")
    from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TSSE, CTOCFlags

    tags = ID3()  # a new tag: it replaces any there is
    text_frames = (
        (TIT2, meta.title), (TPE1, meta.artist), (TALB, meta.album), (TDRC, meta.date), (TCON, meta.genre),
        (TSSE, meta.encoder),
    )  # fmt: skip
    for frame, value in text_frames:
        if value:
            tags.add(frame(encoding=3, text=[value]))
    if meta.comment:
        tags.add(COMM(encoding=3, lang="eng", desc="", text=[meta.comment]))
    ids = [f"chp{i}" for i in range(len(meta.chapters))]
    if meta.chapters:
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=[meta.title or "Chapters"])],
            )
        )
    for cid, ch in zip(ids, meta.chapters, strict=True):
        subs: list[Any] = [TIT2(encoding=3, text=[ch.title])]
        if ch.artist:
            subs.append(TPE1(encoding=3, text=[ch.artist]))
        tags.add(
            CHAP(
                element_id=cid,
                start_time=_ms(ch.start),
                end_time=_ms(ch.end),
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=subs,
            )
        )
    if meta.cover:
        tags.add(APIC(encoding=3, mime=meta.cover_mime, type=3, desc="", data=meta.cover))
    tags.save(str(path), v2_version=4)
    if len(meta.chapters) > 1:
        _chapters_in_order(path)


def _syncsafe(b: bytes) -> int:
    return (b[0] << 21) | (b[1] << 14) | (b[2] << 7) | b[3]


def _chapters_in_order(path: Path) -> None:
    """Put the ``CHAP`` frames of the ID3v2.4 tag at the start of `path` in time order, in place: mutagen writes
    frames by size, and readers that do not sort (FFmpeg lists them as they come) would show the steps shuffled.
    The frames only change places: the tag keeps its size, and the audio after it is not touched."""
    with open(path, "r+b") as f:
        head = f.read(10)
        if len(head) < 10 or head[:3] != b"ID3" or head[3] != 4 or head[5] & 0xF0:
            return  # not the plain v2.4 tag mutagen writes (unsynchronised, extended header, footer): as it is
        body = f.read(_syncsafe(head[6:10]))
        frames: list[bytes] = []
        pos = 0
        while pos + 10 <= len(body) and body[pos : pos + 4] != b"\0\0\0\0":
            end = pos + 10 + _syncsafe(body[pos + 4 : pos + 8])
            if end > len(body):
                return
            frames.append(body[pos:end])
            pos = end
        slots = [i for i, frame in enumerate(frames) if frame[:4] == b"CHAP"]
        chaps = sorted((frames[i] for i in slots), key=_chap_start)
        if chaps == [frames[i] for i in slots]:
            return
        for i, frame in zip(slots, chaps, strict=True):
            frames[i] = frame
        f.seek(10)
        f.write(b"".join(frames))


def _chap_start(frame: bytes) -> tuple[int, int]:
    """A ``CHAP`` frame's start time (ms), then the number of its element id (``chp12`` -> 12)."""
    nul = frame.index(b"\0", 10)
    element = frame[10:nul]
    (start,) = struct.unpack(">I", frame[nul + 1 : nul + 5])
    digits = element.lstrip(b"chp")
    return start, int(digits) if digits.isdigit() else 0


_VORBIS_KEYS = ("TITLE", "ARTIST", "ALBUM", "COMMENT", "DESCRIPTION", "DATE", "GENRE", "ENCODER")


def _vorbis_fields(meta: Metadata) -> dict[str, str]:
    fields = {
        "TITLE": meta.title,
        "ARTIST": meta.artist,
        "ALBUM": meta.album,
        "COMMENT": meta.comment,
        "DESCRIPTION": meta.comment,
        "DATE": meta.date,
        "GENRE": meta.genre,
        "ENCODER": meta.encoder,
    }
    out = {k: v for k, v in fields.items() if v}
    for i, ch in enumerate(meta.chapters, start=1):
        out[f"CHAPTER{i:03d}"] = clock(ch.start)
        out[f"CHAPTER{i:03d}NAME"] = ch.label
    return out


def _vorbis(path: Path, meta: Metadata) -> None:
    mutagen = _mutagen("FLAC/Ogg tags and chapters")
    f = mutagen.File(str(path))
    if f is None:
        raise ValueError(f"{path.name}: not a FLAC or Ogg file mutagen reads")
    if f.tags is None:
        f.add_tags()
    for key in list(f.tags.keys()):  # ours from an earlier tagging: replaced, never stacked
        upper = key.upper()
        if upper in _VORBIS_KEYS or upper.startswith("CHAPTER") or upper == "METADATA_BLOCK_PICTURE":
            del f.tags[key]
    for key, value in _vorbis_fields(meta).items():
        f.tags[key] = [value]
    from mutagen.flac import FLAC

    if isinstance(f, FLAC):
        f.clear_pictures()
    if meta.cover:
        picture = _flac_picture(meta)
        if isinstance(f, FLAC):
            f.add_picture(picture)
        else:
            f.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]
    f.save()


def _flac_picture(meta: Metadata) -> Any:
    from mutagen.flac import Picture

    assert meta.cover is not None
    pic = Picture()
    pic.type = 3
    pic.mime = meta.cover_mime
    pic.desc = ""
    pic.data = meta.cover
    size = _png_size(meta.cover)
    if size is not None:
        pic.width, pic.height, pic.depth = size
    return pic


_PNG_DEPTH = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel (3: a palette index)


def _png_size(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, bits per pixel) from a PNG's IHDR, or None for anything else."""
    if len(data) < 29 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height, bits, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, bits * _PNG_DEPTH.get(colour, 1)


def _mp4(path: Path, meta: Metadata) -> None:
    _mutagen("M4A tags")
    from mutagen.mp4 import MP4, MP4Cover

    f = MP4(str(path))
    if f.tags is None:
        f.add_tags()
    tags = f.tags
    assert tags is not None
    fields = {
        "\xa9nam": meta.title,
        "\xa9ART": meta.artist,
        "\xa9alb": meta.album,
        "\xa9cmt": meta.comment,
        "\xa9day": meta.date,
        "\xa9gen": meta.genre,
        "\xa9too": meta.encoder,
    }
    for key, value in fields.items():
        if value:
            tags[key] = [value]
        elif key in tags:
            del tags[key]
    tags.pop("covr", None)
    if meta.cover:
        fmt = MP4Cover.FORMAT_JPEG if meta.cover_mime == "image/jpeg" else MP4Cover.FORMAT_PNG
        tags["covr"] = [MP4Cover(meta.cover, imageformat=fmt)]
    f.save()


# ---------------------------------------------------------------------------------------------- WAV


_RIFF_MAX = 0xFFFFFFFF


def _zstr(chunk_id: bytes, text: str, prefix: bytes = b"") -> bytes:
    """A RIFF chunk of `prefix` and a NUL-terminated UTF-8 string, with its pad byte."""
    return _chunk(chunk_id, prefix + text.encode("utf-8") + b"\0")


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", chunk_id, len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _ours(chunk_id: bytes, form: bytes) -> bool:
    """A chunk :func:`_wav` writes (replaced when the file is tagged again)."""
    return chunk_id == b"cue " or (chunk_id == b"LIST" and form in (b"INFO", b"adtl"))


def _wav(path: Path, meta: Metadata) -> None:
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # RF64 (or not a WAV at all): no INFO chunk that a 32-bit RIFF size could count
        rate = block = data_bytes = 0
        data_end: int | None = None
        cut: int | None = None  # where the chunks after the data that are ours begin
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, n = struct.unpack("<4sI", f.read(8))
            form = f.read(4) if n >= 4 else b""
            if chunk_id == b"fmt " and n >= 16:
                f.seek(pos + 8)
                _, _, rate, _, block = struct.unpack("<HHIIH", f.read(14))
            if chunk_id == b"data":
                data_end, data_bytes = pos + 8 + n, n
                cut = None
            elif data_end is not None:  # someone else's chunk after ours: keep everything, append after it
                cut = (pos if cut is None else cut) if _ours(chunk_id, form) else None
            pos += 8 + n + (n & 1)
        if data_end is None or rate <= 0 or block <= 0 or data_end > size:
            return  # no (complete) data chunk: nothing a tag could describe
        end = cut if cut is not None else min(pos, size)
        pad = b"\0" if end & 1 else b""  # an odd data chunk without its pad byte
        tail = pad + _wav_chunks(meta, rate, data_bytes // block)
        if end + len(tail) - 8 > _RIFF_MAX:
            return  # it would not fit a plain RIFF size: left untagged
        f.seek(end)
        f.write(tail)
        f.truncate()
        f.seek(4)
        f.write(struct.pack("<I", end + len(tail) - 8))


def _wav_chunks(meta: Metadata, rate: int, frames: int) -> bytes:
    """The INFO chunk, and the chapters as cue points (sample frames, at most `frames`) with their labels."""
    info = [
        (b"INAM", meta.title),
        (b"IART", meta.artist),
        (b"IPRD", meta.album),
        (b"ICMT", meta.comment),
        (b"ICRD", meta.date),
        (b"IGNR", meta.genre),
        (b"ISFT", meta.encoder),
    ]
    body = b"".join(_zstr(key, value) for key, value in info if value)
    out = _chunk(b"LIST", b"INFO" + body) if body else b""
    if meta.chapters:
        points, labels, lengths = [], [], []
        for i, ch in enumerate(meta.chapters, start=1):
            start = min(round(ch.start * rate), frames)
            length = max(min(round(ch.end * rate), frames) - start, 0)
            points.append(struct.pack("<II4sIII", i, start, b"data", 0, 0, start))
            labels.append(_zstr(b"labl", ch.label, struct.pack("<I", i)))
            lengths.append(_chunk(b"ltxt", struct.pack("<II4sHHHH", i, length, b"rgn ", 0, 0, 0, 0)))
        out += _chunk(b"cue ", struct.pack("<I", len(points)) + b"".join(points))
        # every labl before the first ltxt: FFmpeg reads the labels up to the first other sub-chunk
        out += _chunk(b"LIST", b"adtl" + b"".join(labels + lengths))
    return out


_WRITERS: dict[str, Callable[[Path, Metadata], None]] = {
    ".mp3": _id3,
    ".flac": _vorbis,
    ".ogg": _vorbis,
    ".opus": _vorbis,
    ".m4a": _mp4,
    ".wav": _wav,
}


def pyav_chapters(chapters: Sequence[Chapter]) -> list[dict[str, Any]]:
    """`chapters` for PyAV's ``OutputContainer.set_chapters`` (ms time base, titles sanitized): how an M4A gets
    its chapters, from the muxer (FFmpeg writes a chapter text track and a Nero ``chpl`` atom)."""
    if len(chapters) > MAX_CHAPTERS:
        return []
    return [
        {
            "id": i,
            "start": _ms(c.start),
            "end": _ms(c.end),
            "time_base": Fraction(1, 1000),
            "metadata": {"title": tag_text(c.label)},
        }
        for i, c in enumerate(chapters, start=1)
    ]


# ------------------------------------------------------------------------------------- step chapters


def step_title(timed: TimedStep, step: Step | None = None) -> str:
    """A chapter's title, the announcement's parts in writing: ``Run 3 of 10 — 400 m at mile pace``,
    ``Recover 3 of 10 — 1:30``, ``Warm-up — 15 min``; an effort (or else a heart-rate target) and an incline
    follow after commas (``Tempo — 20 min at 4:10/km, 85%``). `step` is the workout's step (its length as
    written); without it the length is the played time (or distance)."""
    name = timed.label + (f" {timed.rep[0]} of {timed.rep[1]}" if timed.rep else "")
    played = timed.end_s - timed.start_s
    if step is not None:
        what = written_extent(step.extent, played if step.untimed else None)
        if step.pace_spoken and step.pace is not None:
            what += f" at {step.pace_name} pace" if step.pace_name else f" at {step.pace.text}"
    elif timed.distance_m is not None:
        what = f"{number_text(Fraction(timed.distance_m).limit_denominator(1000))} m"
    else:
        what = format_clock(float(played), tenths=True)
    extras = []
    if timed.effort:
        extras.append(timed.effort)
    elif timed.heart_rate:
        extras.append(f"HR {timed.heart_rate}")
    if timed.incline is not None:
        extras.append(f"{number_text(timed.incline)}% incline")
    return f"{name} — {', '.join([what, *extras])}"


def step_chapters(timeline: Timeline) -> list[Chapter]:
    """One chapter per step of `timeline` (steps of no length get none), titled by :func:`step_title`. They tile
    the file: the first starts at 0 (a lead-in before the first step is part of it), each ends where the next
    begins, and the last ends with the file (``timeline.length`` samples: the finish cue and the tail included).
    Starts are the steps' exact start times (``plan --json``'s ``start_s``)."""
    steps = {seg.flat.index: seg.flat.step for seg in timeline.segments}
    timed = [s for s in timeline.steps if s.end_s > s.start_s]
    if not timed:
        return []
    starts = [0.0] + [float(s.start_s) for s in timed[1:]]
    file_end = max(timeline.length / timeline.sample_rate, float(timed[-1].end_s))
    ends = [*starts[1:], file_end]
    return [
        Chapter(start, end, step_title(s, steps.get(s.index)))
        for s, start, end in zip(timed, starts, ends, strict=True)
    ]


# --------------------------------------------------------------------------------------------- label files


#: Largest label file read to tell whether it is ours (100 bytes a chapter: ten thousand of them).
LABEL_FILE_LIMIT = 1 << 20
#: Other names tried for the labels when ``NAME.txt`` (``NAME.vtt``) is a file the tool did not write.
LABEL_ALTERNATIVES = 99


def _read_small_text(path: Path) -> str | None:
    try:
        data = read_limited(path, LABEL_FILE_LIMIT)
    except InputRefused:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_label_file(path: Path) -> bool:
    """`path` is a regular file of Audacity label lines (``start<TAB>end<TAB>label``, seconds), as
    :func:`write_label_file` writes: a file the tool may replace. Empty counts; anything else (a FIFO, a folder,
    text that is not only label lines, over :data:`LABEL_FILE_LIMIT` bytes) does not."""
    text = _read_small_text(path)
    if text is None:
        return False
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            return False
        try:
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            return False
        if not 0.0 <= start <= end:
            return False
    return True


_VTT_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_CUE = re.compile(rf"{_VTT_TIME} --> {_VTT_TIME}")


def _vtt_seconds(groups: Sequence[str]) -> float:
    h, m, s, ms = (int(g) for g in groups)
    return (((h * 60 + m) * 60 + s) * 1000 + ms) / 1000


def parse_vtt(text: str) -> list[Chapter] | None:
    """The cues of a WebVTT file as :func:`write_label_file` writes it (``WEBVTT``, then blocks of a timing line
    and at most one line of text), or None when `text` is anything else. Empty text is no cues."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines:
        return []
    if lines[0] != "WEBVTT":
        return None
    blocks = "\n".join(lines[1:]).strip("\n")
    out: list[Chapter] = []
    if not blocks:
        return out
    for block in blocks.split("\n\n"):
        rows = block.split("\n")
        if len(rows) > 2:
            return None
        m = _VTT_CUE.fullmatch(rows[0])
        if m is None:
            return None
        start, end = _vtt_seconds(m.groups()[:4]), _vtt_seconds(m.groups()[4:])
        if end < start:
            return None
        title = rows[1] if len(rows) == 2 else ""  # a cue without text: a chapter without a title
        title = title.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        out.append(Chapter(start, end, title))
    return out


def is_vtt_file(path: Path) -> bool:
    """`path` is a regular file in the WebVTT form :func:`write_label_file` writes (empty counts): a file the tool
    may replace."""
    text = _read_small_text(path)
    return text is not None and parse_vtt(text) is not None


def label_path(path: Path, kind: LabelKind = "txt", *, alternatives: int | None = None) -> Path:
    """Where the labels of the audio file `path` go: ``NAME.txt`` (``NAME.vtt``) unless it is a file the tool did
    not write (:func:`is_label_file`, :func:`is_vtt_file`), else the first free or ours of ``NAME.labels.txt``,
    ``NAME.labels-2.txt`` ... (`alternatives`, default :data:`LABEL_ALTERNATIVES`).

    Raises
    ------
    UsageError
        All of them are taken by other files.
    """
    count = LABEL_ALTERNATIVES if alternatives is None else alternatives
    ours = is_label_file if kind == "txt" else is_vtt_file
    candidates = [path.with_suffix(f".{kind}"), path.with_suffix(f".labels.{kind}")]
    candidates += [path.with_suffix(f".labels-{i}.{kind}") for i in range(2, count + 1)]
    for candidate in candidates:
        if not os.path.lexists(candidate) or ours(candidate):
            return candidate
    raise UsageError(
        f"-o {path}: the label file {candidates[0].name} and its alternatives up to {candidates[-1].name} are all "
        "files cadencecoach did not write; move them or choose another name"
    )


def announce_label_path(path: Path, kind: LabelKind = "txt", *, alternatives: int | None = None) -> Path:
    """:func:`label_path`, with a warning when it is not ``NAME.txt`` (``NAME.vtt``): that file is someone else's."""
    chosen = label_path(path, kind, alternatives=alternatives)
    usual = path.with_suffix(f".{kind}")
    if chosen != usual:
        warn(f"{usual} is not a label file written by cadencecoach: the labels go to {chosen.name} instead")
    return chosen


def _vtt_text(title: str) -> str:
    return title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label_text(chapters: Iterable[Chapter], kind: LabelKind) -> str:
    """The text of a label file: Audacity's ``start<TAB>end<TAB>label`` lines (seconds, 6 decimals), or WebVTT
    (``WEBVTT``, then a ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` line and the title per cue, blank-line separated)."""
    if kind == "txt":
        return "".join(f"{c.start:.6f}\t{c.end:.6f}\t{tag_text(c.label)}\n" for c in chapters)
    if kind == "vtt":
        cues = []
        for c in chapters:
            title = _vtt_text(tag_text(c.label))
            cues.append(f"{clock(c.start)} --> {clock(c.end)}\n" + (f"{title}\n" if title else ""))
        return "\n".join(["WEBVTT\n", *cues])
    raise ValueError(f"label files are 'txt' or 'vtt', not {kind!r}")


def write_label_file(path: Path, chapters: Iterable[Chapter], kind: LabelKind = "txt") -> None:
    """Write the label file `path` (:func:`label_text`) atomically (:func:`cadencecoach.atomic.write_text`).
    `path` is the label file itself: :func:`label_path` picks it beside the audio."""
    atomic.write_text(path, label_text(chapters, kind), encoding="utf-8")


def write_labels_beside(audio: Path, chapters: Iterable[Chapter], kind: LabelKind = "txt") -> Path:
    """Write the labels of the audio file `audio` where :func:`announce_label_path` says; return that path."""
    target = announce_label_path(audio, kind)
    write_label_file(target, chapters, kind)
    return target
