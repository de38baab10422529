"""Writing a mix: streamed, atomic audio files with chapters, and the Audacity label file beside them.

Every format goes through :func:`cadencecoach.sinks.audiofile.open_writer`, the tool's one audio writer; MP3 is
LAME (lameenc) at quality 5 and the requested constant bit rate, faster than the writer's default quality, which
matters for an hour of stereo music. The audio is written to a hidden temporary file beside the target, the
chapters are added to it (the writer's ``tags``), and only then is it renamed onto the target: there is never a
half-written file under the target's name.
The label file is written with :func:`cadencecoach.atomic.write_text`.

Chapters and the title are written by :func:`cadencecoach.sinks.tags.write_tags`, the tool's one tagger: MP3
gets ID3v2.4 ``CHAP`` frames (one per song, with ``TIT2`` title and ``TPE1`` artist sub-frames) and a top-level
ordered ``CTOC``; FLAC and OGG get the ``CHAPTERnnn``/``CHAPTERnnnNAME`` Vorbis comments; WAV gets RIFF cue
markers; every format gets ``NAME.txt``, an Audacity label track: ``start<TAB>end<TAB>label`` per song, in seconds.

The label file is a side file the user did not name, so it never replaces a file the tool did not write:
:func:`cadencecoach.sinks.tags.label_path` takes ``NAME.txt`` when it is free or is a label file already (it parses
completely as ``start<TAB>end<TAB>label`` lines, ``tags.is_label_file``), else the first of ``NAME.labels.txt``,
``NAME.labels-2.txt`` ... ``NAME.labels-99.txt`` that is, and :class:`MixWriter` says so with a warning
(the same rule as for the labels of rendered workouts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from cadencecoach.sinks import tags
from cadencecoach.sinks.tags import Chapter, Metadata

__all__ = ["MP3_QUALITY", "Chapter", "MixWriter"]

MP3_QUALITY = 5  # LAME's quality setting for mixes (sinks.audiofile's default, 3, is slower)


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
        self.labels_path = tags.announce_label_path(self.path) if labels else self.path.with_suffix(".txt")
        self.frames = 0
        self._w = audiofile.open_writer(
            self.path,
            rate,
            channels,
            bit_depth,
            bitrate,
            mp3_quality=MP3_QUALITY,
            tags=Metadata(title=title, chapters=tuple(self.chapters)),  # written before the file is committed
        )

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
            chosen = tags.label_path(self.path)  # again: a file may have appeared while the mix was written
            if chosen != self.labels_path:
                self.labels_path = tags.announce_label_path(self.path)
            tags.write_label_file(self.labels_path, self.chapters, "txt")
