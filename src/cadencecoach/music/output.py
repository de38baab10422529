"""Writing a mix: streamed, atomic audio files with chapters, and the Audacity label file beside them.

Every format goes through :func:`cadencecoach.sinks.audiofile.open_writer`, the tool's one audio writer; MP3
asks it for lameenc (LAME, a core dependency) at quality 5 and the requested constant bit rate: three times
faster than libsndfile's MP3 path at the same bit rate, which matters for an hour of stereo music. The audio
is written to a hidden temporary file beside the target, the chapters are added to it (``before_commit``),
and only then is it renamed onto the target: there is never a half-written file under the target's name.
The label file is written with :func:`cadencecoach.atomic.write_text`.

Chapters: MP3 gets ID3v2.3 ``CHAP`` frames (one per song, with ``TIT2`` title and ``TPE1`` artist sub-frames)
and a top-level ordered ``CTOC``; FLAC and OGG get the ``CHAPTERnnn``/``CHAPTERnnnNAME`` Vorbis comments;
every format gets ``NAME.txt``, an Audacity label track: ``start<TAB>end<TAB>label`` per song, in seconds.

The label file is a side file the user did not name, so it never replaces a file the tool did not write:
:func:`label_path` takes ``NAME.txt`` when it is free or is a label file already (it parses completely as
``start<TAB>end<TAB>label`` lines, :func:`is_label_file`), else the first of ``NAME.labels.txt``,
``NAME.labels-2.txt`` ... ``NAME.labels-99.txt`` that is, and :class:`MixWriter` says so with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from cadencecoach import atomic
from cadencecoach.errors import UsageError, warn
from cadencecoach.files import InputRefused, read_limited


@dataclass(frozen=True)
class Chapter:
    start: float  # seconds
    end: float
    title: str
    artist: str | None = None

    @property
    def label(self) -> str:
        return f"{self.artist} - {self.title}" if self.artist else self.title


MP3_QUALITY = 5  # LAME's quality setting for mixes (sinks.audiofile's default, 2, is slower)


class MixWriter:
    """``with MixWriter(path, rate, 2) as w: w.write(block)``; chapters and labels added on success."""

    def __init__(
        self,
        path: Path,
        rate: int,
        channels: int = 2,
        *,
        bitrate: int = 192,
        bit_depth: int = 16,
        chapters: Sequence[Chapter] = (),
        title: str | None = None,
        labels: bool = True,
    ) -> None:
        from cadencecoach.sinks import audiofile

        self.path = Path(path)
        self.ext = audiofile.format_for(self.path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"output folder does not exist: {self.path.parent}")
        if self.path.is_dir():
            raise IsADirectoryError(f"output path is a folder: {self.path}")
        self.chapters = list(chapters)
        self.title = title
        self.labels = labels
        self.labels_path = announce_label_path(self.path) if labels else self.path.with_suffix(".txt")
        self.frames = 0
        self._w = audiofile.open_writer(
            self.path,
            rate,
            channels,
            bit_depth,
            bitrate,
            mp3_encoder="lameenc",
            mp3_quality=MP3_QUALITY,
            before_commit=self._add_chapters,
        )

    def _add_chapters(self, temp: Path) -> None:
        try:
            add_chapters(temp, self.chapters, self.title, ext=self.ext)
        except Exception as exc:  # mutagen wraps a failed write (the disk is full) in its MutagenError
            cause = _os_error_in(exc)
            if cause is None:
                raise
            raise atomic.named(cause, self.path) from None

    def write(self, block: np.ndarray) -> None:
        self._w.write(block)
        self.frames += len(block)

    def __enter__(self) -> MixWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._w.abort()
            return
        self._w.close()  # adds the chapters, then renames; on an error nothing is left behind
        if self.labels:
            chosen = label_path(self.path)  # again: a file may have appeared while the mix was written
            if chosen != self.labels_path:
                self.labels_path = announce_label_path(self.path)
            write_labels(self.labels_path, self.chapters)


def _os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind `exc` (itself, mutagen's ``MutagenError(OSError)``, or its cause), if any."""
    for candidate in (exc, *exc.args[:1], exc.__cause__, exc.__context__):
        if isinstance(candidate, OSError) and candidate.errno is not None:
            return candidate
    return None


#: Largest label file read to tell whether it is ours (100 bytes a song: ten thousand songs).
LABEL_FILE_LIMIT = 1 << 20
#: Other names tried for the labels when ``NAME.txt`` is a file the tool did not write.
LABEL_ALTERNATIVES = 99


def is_label_file(path: Path) -> bool:
    """`path` is a regular file of Audacity label lines (``start<TAB>end<TAB>label``, seconds), as
    :func:`write_labels` writes: a file the tool may replace. Empty counts; anything else (a FIFO, a folder,
    text that is not only label lines, over :data:`LABEL_FILE_LIMIT` bytes) does not."""
    try:
        data = read_limited(path, LABEL_FILE_LIMIT)
    except InputRefused:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
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


def label_path(path: Path) -> Path:
    """Where the labels of the mix `path` go: ``NAME.txt`` unless it is a file the tool did not write (see the
    module doc), else the first free or ours of ``NAME.labels.txt``, ``NAME.labels-2.txt``, ...

    Raises
    ------
    UsageError
        All of them are taken by other files.
    """
    candidates = [path.with_suffix(".txt"), path.with_suffix(".labels.txt")]
    candidates += [path.with_suffix(f".labels-{i}.txt") for i in range(2, LABEL_ALTERNATIVES + 1)]
    for candidate in candidates:
        if not os.path.lexists(candidate) or is_label_file(candidate):
            return candidate
    raise UsageError(
        f"-o {path}: the label file {candidates[0].name} and its alternatives up to {candidates[-1].name} are all "
        "files cadencecoach did not write; move them or choose another name"
    )


def announce_label_path(path: Path) -> Path:
    """:func:`label_path`, with a warning when it is not ``NAME.txt`` (that file is someone else's)."""
    chosen = label_path(path)
    usual = path.with_suffix(".txt")
    if chosen != usual:
        warn(f"{usual} is not a label file written by cadencecoach: the labels go to {chosen.name} instead")
    return chosen


def write_labels(path: Path, chapters: Sequence[Chapter]) -> None:
    """An Audacity label file: one ``start\\tend\\tlabel`` line per chapter (seconds, 6 decimals)."""
    text = "".join(f"{c.start:.6f}\t{c.end:.6f}\t{c.label.replace(chr(9), ' ')}\n" for c in chapters)
    atomic.write_text(path, text, encoding="utf-8")


def add_chapters(path: Path, chapters: Sequence[Chapter], title: str | None, *, ext: str | None = None) -> None:
    """Chapters (and the title) into the audio file at `path`, in place; `ext` (default: its suffix) says
    which kind: ID3v2.3 ``CHAP``/``CTOC`` for MP3, Vorbis comments for FLAC and OGG, nothing for WAV."""
    ext = (ext or path.suffix).lower()
    if ext == ".mp3":
        _id3_chapters(path, chapters, title)
    elif ext in (".flac", ".ogg"):
        _vorbis_chapters(path, chapters, title)


def _id3_chapters(path: Path, chapters: Sequence[Chapter], title: str | None) -> None:
    from cadencecoach import extras

    extras.load("mutagen.id3", "MP3 chapters")
    from mutagen.id3 import CHAP, CTOC, ID3, TIT2, TPE1, TSSE, CTOCFlags

    tags = ID3()
    if title:
        tags.add(TIT2(encoding=3, text=[title]))
    tags.add(TSSE(encoding=3, text=["cadencecoach"]))
    ids = [f"chp{i}" for i in range(len(chapters))]
    if chapters:
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text=[title or "Songs"])],
            )
        )
    for cid, ch in zip(ids, chapters, strict=True):
        subs: list[Any] = [TIT2(encoding=3, text=[ch.title])]
        if ch.artist:
            subs.append(TPE1(encoding=3, text=[ch.artist]))
        tags.add(
            CHAP(
                element_id=cid,
                start_time=round(float(ch.start * 1000)),
                end_time=round(float(ch.end * 1000)),
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=subs,
            )
        )
    tags.save(str(path), v2_version=3)


def _clock(t: float) -> str:
    ms = round(float(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vorbis_chapters(path: Path, chapters: Sequence[Chapter], title: str | None) -> None:
    from cadencecoach import extras

    mutagen = extras.load("mutagen", "FLAC/OGG chapters")

    f = mutagen.File(str(path))
    if f is None:
        return
    if f.tags is None:
        f.add_tags()
    if title:
        f["TITLE"] = title
    for i, ch in enumerate(chapters, start=1):
        f[f"CHAPTER{i:03d}"] = _clock(ch.start)
        f[f"CHAPTER{i:03d}NAME"] = ch.label
    f.save()
