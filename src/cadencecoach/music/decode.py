"""Reading songs: streamed decoding in blocks, whatever the format, and their tags.

* WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF: libsndfile (through soundfile, a core dependency);
* M4A/AAC/ALAC, MP4, WMA, WebM and anything libsndfile refuses: PyAV if it is installed, else the
  ``ffmpeg`` program if it is on the PATH, else :class:`DecodeError` saying what to install.

Every source yields float32 blocks of shape ``(n, channels)`` at its own sample rate; nothing holds more
than one block. Tags (title, artist) come from mutagen; the file name is the fallback title.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from cadencecoach.errors import UsageError
from cadencecoach.files import InputRefused, check_regular, kind_of

BLOCK = 1 << 16

SNDFILE_EXTS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff"})
OTHER_EXTS = frozenset({".m4a", ".m4b", ".aac", ".mp4", ".alac", ".wma", ".webm", ".mka"})
AUDIO_EXTS = SNDFILE_EXTS | OTHER_EXTS


class DecodeError(UsageError):
    """A song that cannot be read (the message says why and, where it helps, what to install).

    Bad input, so a :class:`~cadencecoach.errors.UsageError` (exit 2). :func:`.analysis.analyze_many` turns it
    into a :class:`~.analysis.Failure` (the song is skipped with a warning); one that escapes reaches the CLI
    guard as ``error: <message>``."""


@dataclass(frozen=True)
class SourceInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int | None  # None when the container does not say
    backend: str

    @property
    def duration(self) -> float | None:
        return None if self.frames is None else self.frames / self.sample_rate


class Source(contextlib.AbstractContextManager["Source"]):
    info: SourceInfo

    def blocks(self, frames: int = BLOCK) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SndfileSource(Source):
    def __init__(self, path: Path) -> None:
        try:
            self._f = sf.SoundFile(str(path))
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise DecodeError(str(exc)) from None
        self.info = SourceInfo(path, int(self._f.samplerate), int(self._f.channels), int(self._f.frames), "libsndfile")

    def blocks(self, frames: int = BLOCK) -> Iterator[np.ndarray]:
        self._f.seek(0)
        buf = np.empty((frames, self.info.channels), np.float32)
        while True:
            n = self._f.read(frames, dtype="float32", always_2d=True, out=buf).shape[0]
            if n == 0:
                return
            yield buf[:n].copy()
            if n < frames:
                return

    def close(self) -> None:
        self._f.close()


class _PyAVSource(Source):
    def __init__(self, path: Path) -> None:
        from cadencecoach import extras

        av = extras.load("av", "reading M4A/AAC songs")

        try:
            self._container = av.open(str(path))
        except Exception as exc:  # av raises its own error classes per errno; their strerror is the words
            raise DecodeError(
                f"not an audio file this tool can read ({getattr(exc, 'strerror', None) or exc})"
            ) from None
        if not self._container.streams.audio:
            self._container.close()
            raise DecodeError("no audio stream in the file")
        stream = self._container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 2)
        if rate <= 0:  # what FFmpeg guesses for bytes that are no audio at all
            self._container.close()
            raise DecodeError("not an audio file this tool can read (no sample rate)")
        frames = None
        if stream.duration is not None and stream.time_base is not None:
            frames = round(float(float(stream.duration * stream.time_base) * rate))
        elif self._container.duration:
            frames = round(float(self._container.duration / 1_000_000 * rate))
        self._stream = stream
        self.info = SourceInfo(path, rate, min(channels, 2), frames, "pyav")

    def blocks(self, frames: int = BLOCK) -> Iterator[np.ndarray]:
        import av

        ch = self.info.channels
        resampler = av.AudioResampler(format="fltp", layout="stereo" if ch == 2 else "mono", rate=self.info.sample_rate)
        self._container.seek(0)
        pending: list[np.ndarray] = []
        have = 0
        try:
            for packet in self._container.demux(self._stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        a = out.to_ndarray().T.astype(np.float32, copy=False)
                        pending.append(a)
                        have += len(a)
                        if have >= frames:
                            yield np.concatenate(pending)
                            pending, have = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().T.astype(np.float32, copy=False))
        except av.FFmpegError as exc:
            raise DecodeError(f"decoding failed: {exc}") from None
        if pending:
            yield np.concatenate(pending)

    def close(self) -> None:
        self._container.close()


class _FfmpegSource(Source):
    """The ``ffmpeg`` program decoding to raw float32 on a pipe (rate and channels chosen by us)."""

    def __init__(self, path: Path, exe: str, sample_rate: int = 44100, channels: int = 2) -> None:
        self._exe = exe
        self.info = SourceInfo(path, sample_rate, channels, _ffprobe_frames(path, sample_rate), "ffmpeg")

    def blocks(self, frames: int = BLOCK) -> Iterator[np.ndarray]:
        ch = self.info.channels
        cmd = [self._exe, "-nostdin", "-v", "error", "-i", str(self.info.path), "-vn", "-f", "f32le"]
        cmd += ["-ac", str(ch), "-ar", str(self.info.sample_rate), "-"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        size = frames * ch * 4
        try:
            while True:
                data = proc.stdout.read(size)
                if not data:
                    break
                usable = len(data) - len(data) % (4 * ch)
                yield np.frombuffer(data[:usable], np.float32).reshape(-1, ch).copy()
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
            code = proc.wait()
        if code != 0:
            raise DecodeError(f"ffmpeg failed: {err.splitlines()[-1] if err else f'exit {code}'}")


def _ffprobe_frames(path: Path, rate: int) -> int | None:
    exe = shutil.which("ffprobe")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        return round(float(float(out) * rate))
    except (ValueError, OSError, subprocess.SubprocessError):
        return None


def open_source(path: str | os.PathLike[str]) -> Source:
    """Open a song for streamed decoding; raises :class:`DecodeError` with a person-readable reason."""
    p = Path(path)
    try:  # a FIFO or a device would block the decoder or never end: refused before any library opens it
        st = check_regular(p)
    except InputRefused as exc:
        raise DecodeError(exc.reason) from None
    if st.st_size == 0:
        raise DecodeError("is empty (0 bytes)")
    ext = p.suffix.lower()
    first_error: str | None = None
    if ext not in OTHER_EXTS:
        try:
            return _SndfileSource(p)
        except DecodeError as exc:
            first_error = str(exc)
    from cadencecoach.music.deps import has_pyav

    if has_pyav():
        return _PyAVSource(p)
    exe = shutil.which("ffmpeg")
    if exe:
        return _FfmpegSource(p, exe)
    if ext in OTHER_EXTS:
        raise DecodeError(
            f"cannot decode {ext} files here: install PyAV (pip install av) or the ffmpeg program to read them"
        )
    raise DecodeError(first_error or "unreadable audio")


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str | None
    album: str | None = None


def read_tags(path: str | os.PathLike[str]) -> Tags:
    """Title and artist from the file's tags (mutagen); the title falls back to the file name."""
    p = Path(path)
    title = artist = album = None
    try:
        import mutagen

        f = mutagen.File(str(p), easy=True)
        if f is not None and f.tags is not None:
            title = _first(f.tags.get("title"))
            artist = _first(f.tags.get("artist"))
            album = _first(f.tags.get("album"))
    except Exception:  # a broken tag must not stop the music
        pass
    return Tags(title or _title_from_name(p), artist, album)


def _first(value: object) -> str | None:
    if isinstance(value, list) and value:
        s = str(value[0]).strip()
        return s or None
    if isinstance(value, str):
        return value.strip() or None
    return None


def _title_from_name(p: Path) -> str:
    stem = re.sub(r"^\d+[\s._-]+", "", p.stem)  # "03 - Song" -> "Song"
    return stem.replace("_", " ").strip() or p.stem


def _natural_key(p: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(p))]


def collect(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Songs from files and folders (searched recursively, in natural order); also the problems found."""
    songs: list[Path] = []
    problems: list[str] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            named = [q for q in p.rglob("*") if q.suffix.lower() in AUDIO_EXTS and not q.name.startswith(".")]
            found = sorted((q for q in named if q.is_file()), key=_natural_key)
            for q in sorted(set(named) - set(found), key=_natural_key):
                kind = kind_of(q.stat().st_mode) if q.exists() else None
                if kind is not None and kind != "a directory":  # a FIFO named song.mp3: said, never opened
                    problems.append(f"{q}: is {kind}, not an audio file; skipped")
            if not found:
                problems.append(f"{p}: no audio files in this folder ({', '.join(sorted(AUDIO_EXTS))})")
            songs.extend(found)
        elif p.is_file():
            songs.append(p)
        else:
            kind = kind_of(p.stat().st_mode) if p.exists() else None
            if kind is None:
                problems.append(f"{p}: no such file or folder")
            else:  # a FIFO or a device: never opened (it would block or never end)
                problems.append(f"{p}: is {kind}, not an audio file")
    return songs, problems
