"""Streamed, atomic audio-file writing: WAV (RF64 above 4 GiB), FLAC, Ogg Vorbis, MP3, AAC (.m4a) and Opus.

``open_writer(path, sample_rate)`` returns an :class:`AudioWriter`, a context manager whose
``write(block)`` takes float32 blocks (``(n,)`` mono or ``(n, channels)``) in [-1, 1] and streams
them to disk, and whose ``render(render, total)`` pulls a whole render (a timeline renders any stretch on demand):
the lossy formats then encode it in parallel on every core (:func:`cadencecoach.sinks.encode.encode_parallel`).
Memory use does not depend on the length of the file: every block goes through fixed-size scratch buffers straight
into the encoder.

The file is written to a hidden temporary file in the target's directory
(``.{name}.tmp-{pid}-{random}{ext}``, :func:`cadencecoach.atomic.temp_beside`), fsync'ed and renamed onto
the target (:func:`cadencecoach.atomic.commit`) only when the ``with`` block exits cleanly. On any exception,
KeyboardInterrupt included, the temporary file is closed and deleted and the exception propagates: the target
is never half-written and a file that already existed there keeps its old contents. Tags and chapters
(:mod:`cadencecoach.sinks.tags`) are written into the temporary file before it is renamed.

A file that cannot be written (the disk is full, the file system is read-only or went away, a size limit) is an
``OSError`` with its ``errno`` and the *target's* name, however the encoder met it: libsndfile writes through a file
object of ours (soundfile's virtual I/O) that keeps the real error, because libsndfile itself says only "System
error" (WAV, FLAC) or nothing at all (Ogg pages that did not fit were dropped silently and the file committed
cut short). :func:`estimated_bytes` is a cheap lower bound of a file's size for a free-space check before the work;
``open_writer`` makes that check itself when it is given ``expected_frames`` (:class:`NotEnoughSpace`).

For 16- and 24-bit PCM (WAV, FLAC) the float -> integer conversion is done here with numpy
(scale by 32767 or 8388607, round to nearest, clip) and integers are handed to libsndfile, which
is faster than letting libsndfile convert floats and makes clipping explicit. Lossy formats get
clipped float32 samples (MP3: 16-bit integers, LAME's input).

MP3 is always LAME through lameenc (a core dependency), never resampled, with a LAME Info tag for gapless
playback: the one MP3 path of the tool, for workouts (``render``) and music mixes (``track build``,
:mod:`cadencecoach.music.output`). AAC and Opus are FFmpeg's, through PyAV (the ``formats`` extra).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import numpy as np
import soundfile as sf

from cadencecoach import atomic
from cadencecoach.sinks import encode
from cadencecoach.sinks.pcm import quantize

if TYPE_CHECKING:
    from cadencecoach.sinks.tags import Metadata

__all__ = [
    "DEFAULT_KBPS",
    "DEFAULT_VORBIS_QUALITY",
    "FORMATS",
    "MP3_QUALITY",
    "WAV_MAX_DATA_BYTES",
    "AudioWriter",
    "NotEnoughSpace",
    "check_space",
    "estimated_bytes",
    "format_for",
    "open_writer",
]

FORMATS: dict[str, str] = {
    ".wav": "WAV, 16- or 24-bit PCM (RF64 for data beyond 4 GiB)",
    ".flac": "FLAC, lossless, 16- or 24-bit",
    ".ogg": "Ogg Vorbis, lossy",
    ".mp3": "MP3 (MPEG-1/2 Layer III), lossy, constant bit rate (or VBR with a quality), gapless",
    ".m4a": "AAC in MPEG-4 (.m4a), lossy, gapless (the formats extra)",
    ".opus": "Opus in Ogg, lossy, gapless, resampled to 48 kHz (the formats extra)",
}

#: Default bit rates (kbit/s) of the lossy formats for the tool's mono click-and-speech tracks: the lowest at which
#: clicks keep their attack and speech its band (measured: benchmarks/codec_quality.py, docs/FORMATS.md).
DEFAULT_KBPS = {".mp3": 64, ".m4a": 96, ".opus": 64}
#: Ogg Vorbis' default quality (oggenc's scale): libsndfile's own (4) smears the clicks (pre-echo -22 dB, 2 ms
#: rise times); 6 is the lowest that keeps them.
DEFAULT_VORBIS_QUALITY = 6

#: Formats whose encoder takes a bit rate / a VBR quality (``--bitrate``, ``--quality``).
BITRATE_FORMATS = (".mp3", ".m4a", ".opus")
QUALITY_FORMATS = (".mp3", ".ogg")

#: Largest amount of sample data (bytes) written as a plain RIFF/WAV file; beyond it RF64 is needed
#: because RIFF chunk sizes are 32-bit. 1 KiB of headroom is kept for the header.
WAV_MAX_DATA_BYTES = 4 * 1024**3 - 1024

#: Frames converted per step: the scratch buffers hold this many frames whatever the block size.
_CHUNK_FRAMES = 1 << 16

#: libsndfile command (sndfile.h) that makes an RF64 file that ends up small enough a plain
#: RIFF/WAVE file (with a JUNK chunk in place of ds64) when it is closed.
_SFC_RF64_AUTO_DOWNGRADE = 0x1210

MP3_QUALITY = encode.MP3_QUALITY

#: MP3 bit rates (kbit/s) of the MPEG versions LAME picks by sample rate: (minimum sample rate, lo, hi).
_MP3_BITRATE_RANGES = ((32000, 32, 320), (16000, 8, 160), (0, 8, 64))


def format_for(path: str | os.PathLike[str]) -> str:
    """The output format of ``path``: its extension in lower case, a key of :data:`FORMATS`.

    Raises ``ValueError`` for any other extension.
    """
    suffix = Path(path).suffix
    ext = suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"unsupported output format '{suffix}': use .wav, .flac, .ogg, .mp3, .m4a or .opus")
    return ext


#: Lower bounds of compressed sizes, for :func:`estimated_bytes`: FLAC as a fraction of 16-bit PCM, Ogg Vorbis in
#: bytes per second per channel. "sparse" is a workout render (clicks and cues over silence: digital silence packs to
#: 0.15 % in FLAC and 0.8 kbit/s in Vorbis, measured), "music" a mix (songs under the clicks: synthetic test songs
#: pack to 38 % and 44 kbit/s a channel, real music more).
_FLAC_FRACTION = {"sparse": 0.001, "music": 0.2}
_OGG_BYTES_PER_S = {"sparse": 500 / 8, "music": 16_000 / 8}


def estimated_bytes(
    path: str | os.PathLike[str],
    frames: int,
    sample_rate: int,
    channels: int = 1,
    bit_depth: int = 16,
    bitrate: int | None = None,
    *,
    vbr: bool = False,
    content: Literal["sparse", "music"] = "sparse",
) -> int:
    """A lower bound of the size of the file `path` (format from its extension) of `frames` frames.

    Exact for WAV (the sample data; the header is extra), from the constant bit rate for MP3 (as LAME clamps it for
    the sample rate, less 2 %; with `vbr`, its lowest frame rate), and a floor that no sound goes below for FLAC,
    Ogg Vorbis, AAC and Opus, whose sizes depend on the sound (`content`: ``"sparse"`` for a workout's clicks and cues
    over silence, ``"music"`` for a mix). `bitrate` defaults to the format's (:data:`DEFAULT_KBPS`). A file whose
    estimate exceeds the free space cannot fit; one under it may still not (the writer then fails cleanly).

    Examples
    --------
    >>> estimated_bytes("a.wav", 44100 * 60, 44100)  # a minute of 16-bit mono: 5.3 MB
    5292000
    >>> estimated_bytes("a.mp3", 44100 * 60, 44100, bitrate=128)  # 128 kbit/s for a minute, less 2 %
    940800
    """
    ext = format_for(path)
    seconds = frames / sample_rate
    kbps = bitrate or DEFAULT_KBPS.get(ext, 0)
    if ext == ".wav":
        return frames * channels * (bit_depth // 8)
    if ext == ".flac":
        return int(frames * channels * 2 * _FLAC_FRACTION[content])
    if ext == ".ogg":
        return int(seconds * channels * _OGG_BYTES_PER_S[content])
    if ext in _LOSSY_FLOOR:
        return int(seconds * kbps * 1000 / 8 * _LOSSY_FLOOR[ext][content])
    lo, hi = next((lo, hi) for min_rate, lo, hi in _MP3_BITRATE_RANGES if sample_rate >= min_rate)
    return int(seconds * (lo if vbr else min(max(kbps, lo), hi)) * 1000 / 8 * 0.98)


#: Lower bounds of AAC and Opus sizes as fractions of their target bit rate (FFmpeg's AAC spends less on silence,
#: libopus much less), for :func:`estimated_bytes`.
_LOSSY_FLOOR = {".m4a": {"sparse": 0.1, "music": 0.5}, ".opus": {"sparse": 0.02, "music": 0.5}}


class NotEnoughSpace(OSError):
    """The file would not fit in the free space of its folder (``errno`` ENOSPC, the target as ``filename``);
    ``strerror`` says how much it needs and how much there is."""


def _megabytes(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def check_space(path: str | os.PathLike[str], needed: int) -> None:
    """Raise :class:`NotEnoughSpace` when `needed` bytes (an :func:`estimated_bytes` lower bound) are more than the
    free space of `path`'s folder; nothing when the free space cannot be read (the write then says what failed)."""
    target = Path(path)
    try:
        free = shutil.disk_usage(target.parent).free
    except OSError:
        return
    if needed > free:
        words = f"needs at least {_megabytes(needed)} but only {_megabytes(free)} is free in {target.parent}"
        raise NotEnoughSpace(errno.ENOSPC, words, str(target))


class _FdSink:
    """The file object libsndfile writes through (soundfile's virtual I/O) instead of the bare descriptor: the
    first error of any call is kept (``error``) and the call reports failure to libsndfile, which then stops or
    goes on as it does; :meth:`check` raises the kept error once the libsndfile call has returned. Nothing raises
    out of these methods: an exception in a cffi callback would be printed and lost (which is also why every
    libsndfile call runs :func:`cadencecoach.atomic.uninterrupted`: a stop signal waits until it has returned)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None:
            return 0
        try:
            _write_all(self.fd, data)
        except BaseException as exc:  # kept, and raised by check() after the C call
            self.error = exc
            return 0
        return len(data)

    def readinto(self, buf: memoryview) -> int:
        try:
            data = os.read(self.fd, len(buf))
            buf[: len(data)] = data
            return len(data)
        except BaseException as exc:
            self.error = self.error or exc
            return 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        try:
            return os.lseek(self.fd, offset, whence)
        except BaseException as exc:
            self.error = self.error or exc
            return -1

    def tell(self) -> int:
        return self.seek(0, os.SEEK_CUR)

    def check(self) -> None:
        """Raise the kept error, if any."""
        if self.error is not None:
            raise self.error


class _Encoder:
    """One output stream on an open file descriptor; ``write`` takes validated 2-D frames."""

    def write(self, frames: np.ndarray) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Flush everything to the file descriptor (it stays open)."""
        raise NotImplementedError

    def discard(self) -> None:
        """Release resources after a failure; never raises."""
        raise NotImplementedError


class _SoundFileEncoder(_Encoder):
    def __init__(
        self,
        fd: int,
        ext: str,
        sample_rate: int,
        channels: int,
        bit_depth: int,
        quality: int | None,
        expected_frames: int | None,
    ) -> None:
        self._limit_bytes: int | None = None
        self._bytes_per_frame = channels * bit_depth // 8
        self._frames = 0
        # kind: "i16" / "i32" (integer PCM converted here) or "f32" (clipped floats for lossy codecs)
        compression: float | None = None
        auto_downgrade = False
        if ext in (".wav", ".flac"):
            subtype = "PCM_24" if bit_depth == 24 else "PCM_16"
            self._kind = "i32" if bit_depth == 24 else "i16"
            if ext == ".flac":
                fmt = "FLAC"
            elif expected_frames is None:
                fmt, auto_downgrade = "RF64", True
            elif expected_frames * self._bytes_per_frame > WAV_MAX_DATA_BYTES:
                fmt = "RF64"
            else:
                fmt = "WAV"
                self._limit_bytes = WAV_MAX_DATA_BYTES
        else:
            fmt, subtype, self._kind = "OGG", "VORBIS", "f32"
            # oggenc's scale, 0..10 (libsndfile's level runs the other way, 0..1)
            compression = (10 - (DEFAULT_VORBIS_QUALITY if quality is None else quality)) / 10
        self._sink = _FdSink(fd)
        with self._io():
            self._file = sf.SoundFile(
                self._sink,
                mode="w",
                samplerate=sample_rate,
                channels=channels,
                subtype=subtype,
                format=fmt,
                compression_level=compression,
            )
        if auto_downgrade:
            from soundfile import _ffi, _snd

            _snd.sf_command(self._file._file, _SFC_RF64_AUTO_DOWNGRADE, _ffi.NULL, 1)
        self._scratch_f = np.empty((_CHUNK_FRAMES, channels), dtype=np.float32)
        if self._kind == "i16":
            self._scratch_i: np.ndarray | None = np.empty((_CHUNK_FRAMES, channels), dtype=np.int16)
        elif self._kind == "i32":
            self._scratch_i = np.empty((_CHUNK_FRAMES, channels), dtype=np.int32)
        else:
            self._scratch_i = None

    def write(self, frames: np.ndarray) -> None:
        n = frames.shape[0]
        if self._limit_bytes is not None and (self._frames + n) * self._bytes_per_frame > self._limit_bytes:
            raise ValueError("WAV data would exceed 4 GiB: pass expected_frames (or leave it None) so RF64 is used")
        if self._kind == "i16":
            assert self._scratch_i is not None
            out = quantize(frames, 32767.0, self._scratch_f, self._scratch_i)
        elif self._kind == "i32":
            # 24-bit: libsndfile takes the top 24 bits of each int32.
            assert self._scratch_i is not None
            out = quantize(frames, 8388607.0, self._scratch_f, self._scratch_i)
            np.left_shift(out, 8, out=out)
        else:
            out = self._scratch_f[:n]
            np.clip(frames, -1.0, 1.0, out=out)
        with self._io():
            self._file.write(out)
        self._frames += n

    @contextlib.contextmanager
    def _io(self) -> Iterator[None]:
        """A libsndfile call: the error its writes met, not its "System error" (nor nothing, for Ogg and MP3)."""
        try:
            with atomic.uninterrupted():
                yield
        except Exception:  # LibsndfileError, or soundfile's assertion that all frames were written
            self._sink.check()
            raise
        self._sink.check()

    def finish(self) -> None:
        with self._io():
            self._file.close()

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self._file.close()


class _Pcm16WavEncoder(_Encoder):
    """Canonical 16-bit PCM WAV written directly: a 44-byte header (sizes patched on finish) and raw frames.

    libsndfile's own write path copies every block through cffi and checks each sample; for the long,
    mostly silent files a workout makes, writing the converted int16 buffer straight to the descriptor is
    about twice as fast, and the header is the plain RIFF/WAVE one every player reads."""

    def __init__(self, fd: int, sample_rate: int, channels: int) -> None:
        self._fd = fd
        self._channels = channels
        self._sample_rate = sample_rate
        self._frames = 0
        self._scratch_f = np.empty((_CHUNK_FRAMES, channels), dtype=np.float32)
        self._scratch_i = np.empty((_CHUNK_FRAMES, channels), dtype="<i2")
        _write_all(fd, self._header(0))

    def _header(self, frames: int) -> bytes:
        block_align = 2 * self._channels
        data = frames * block_align
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF",
            36 + data,
            b"WAVE",
            b"fmt ",
            16,
            1,
            self._channels,
            self._sample_rate,
            self._sample_rate * block_align,
            block_align,
            16,
            b"data",
            data,
        )

    def write(self, frames: np.ndarray) -> None:  # at most _CHUNK_FRAMES frames (AudioWriter.write chunks)
        n = frames.shape[0]
        if (self._frames + n) * 2 * self._channels > WAV_MAX_DATA_BYTES:
            raise ValueError("WAV data would exceed 4 GiB: pass expected_frames (or leave it None) so RF64 is used")
        out = quantize(frames, 32767.0, self._scratch_f, self._scratch_i)
        _write_all(self._fd, out.data.cast("B"))
        self._frames += n

    def finish(self) -> None:
        os.lseek(self._fd, 0, os.SEEK_SET)
        _write_all(self._fd, self._header(self._frames))

    def discard(self) -> None:
        pass


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class AudioWriter:
    """A streamed, atomic audio-file writer; create it with :func:`open_writer`.

    Use it as a context manager: the target file appears (atomically) only when the ``with`` block
    exits without an exception. ``close()`` and ``abort()`` do the same by hand.
    """

    def __init__(
        self,
        path: Path,
        sample_rate: int,
        channels: int,
        bit_depth: int,
        bitrate: int | None,
        expected_frames: int | None,
        fsync: bool,
        *,
        quality: int | None = None,
        mp3_quality: int = MP3_QUALITY,
        tags: Metadata | None = None,
        before_commit: Callable[[Path], None] | None = None,
    ) -> None:
        self.path = path
        self.format = format_for(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self.bit_depth = bit_depth
        self.frames_written = 0
        self._fsync = fsync
        self._closed = False
        self._rendered = False
        self._fd: int | None = None
        self._encoder: _Encoder | encode.StreamEncoder | None = None
        self._codec: encode.Codec | None = None
        self._tags = tags
        self._before_commit = before_commit
        try:
            self.temp_path, fd = atomic.temp_beside(self.path)
        except OSError as exc:
            self._closed = True
            raise self._named(exc) from None
        self._fd = fd
        with self._or_abort():
            if self.format in encode.LOSSY:
                vbr = None if quality is None or self.format != ".mp3" else max(0, min(9, 10 - quality))
                self._codec = encode.Codec(
                    self.format,
                    sample_rate,
                    channels,
                    kbps=bitrate or DEFAULT_KBPS[self.format],
                    vbr=vbr,
                    lame_quality=mp3_quality,
                )
                output: encode.Output
                if self.format == ".mp3":
                    output = encode.Mp3Output(fd, self._codec)
                else:
                    from cadencecoach.sinks.tags import pyav_chapters

                    chapters = pyav_chapters(tags.chapters) if tags is not None and self.format == ".m4a" else []
                    output = encode.AvOutput(self.temp_path, self._codec, chapters=chapters)
                self._encoder = encode.StreamEncoder(self._codec, output)
            elif (
                self.format == ".wav"
                and bit_depth == 16
                and expected_frames is not None
                and expected_frames * 2 * channels <= WAV_MAX_DATA_BYTES
            ):
                self._encoder = _Pcm16WavEncoder(fd, sample_rate, channels)
            else:
                self._encoder = _SoundFileEncoder(
                    fd,
                    self.format,
                    sample_rate,
                    channels,
                    bit_depth,
                    quality,
                    expected_frames,
                )

    def _named(self, exc: OSError) -> OSError:
        return atomic.named(exc, self.path)

    @contextlib.contextmanager
    def _or_abort(self) -> Iterator[None]:
        """A step of the writer (start, write, finish): on any failure the temporary file goes, and an
        ``OSError`` names the target (:func:`cadencecoach.atomic.named`), not the hidden temporary file."""
        try:
            yield
        except OSError as exc:
            self.abort()
            raise self._named(exc) from None
        except BaseException:
            self.abort()
            raise

    # -- writing -----------------------------------------------------------------------------

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (float, ``(n,)`` for mono or ``(n, channels)``), clipped to [-1, 1]."""
        if self._closed or self._encoder is None or self._rendered:
            raise ValueError("audio writer is closed")
        a = np.asarray(block)
        if a.dtype.kind != "f":
            raise TypeError(f"audio blocks must be floating point, got {a.dtype}")
        if a.ndim == 1 and self.channels == 1:
            a = a.reshape(-1, 1)
        elif a.ndim != 2 or a.shape[1] != self.channels:
            expected = "(n,) or (n, 1)" if self.channels == 1 else f"(n, {self.channels})"
            raise ValueError(f"audio block has shape {a.shape}, expected {expected}")
        n = a.shape[0]
        with self._or_abort():
            for start in range(0, n, _CHUNK_FRAMES):
                chunk = a[start : start + _CHUNK_FRAMES]
                self._encoder.write(chunk)
                self.frames_written += chunk.shape[0]

    def render(
        self,
        render: Callable[[int, np.ndarray], None],
        total: int,
        *,
        progress: Callable[[int], None] | None = None,
        workers: int | None = None,
        chunk_s: float = 60.0,
    ) -> list[int]:
        """Write samples ``[0, total)`` of `render` (``render(start, out)`` fills the float32 array `out`, mono),
        the whole file: the lossy formats encode it in parallel chunks on `workers` cores (default all,
        :func:`cadencecoach.sinks.encode.encode_parallel`), the others block after block. `progress` is called with
        the samples done. Nothing may be written after it; ``close()`` finishes the file. Returns where parallel
        chunks were joined (input samples; :func:`~cadencecoach.sinks.encode.encode_parallel`)."""
        if self._closed or self._encoder is None or self._rendered:
            raise ValueError("audio writer is closed")
        if self.channels != 1:
            raise ValueError("render() writes mono: use write() for more channels")
        with self._or_abort():
            if isinstance(self._encoder, encode.StreamEncoder):
                assert self._codec is not None
                self._rendered = True
                joins = encode.encode_parallel(
                    render, total, self._codec, self._encoder.output, workers=workers, chunk_s=chunk_s,
                    progress=progress,
                )  # fmt: skip
                self.frames_written += total
                return joins
        encode.render_in_blocks(render, total, self.write, progress, _CHUNK_FRAMES)
        return []

    # -- finishing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the file, fsync it and move it onto the target path. Idempotent.

        A ``before_commit`` hook given to :func:`open_writer` runs on the finished temporary file first (it may
        rewrite it in place, e.g. add tags); if it raises, nothing is committed."""
        if self._closed:
            return
        with self._or_abort():
            assert self._encoder is not None and self._fd is not None
            if not self._rendered:
                self._encoder.finish()
            if self._tags is not None:
                self._write_tags()
            if self._before_commit is not None:
                self._before_commit(self.temp_path)
            fd = self._fd
            if self._fsync:
                os.fsync(fd)
            self._fd = None
            os.close(fd)
            atomic.commit(self.temp_path, self.path, fsync=False)
        self._closed = True
        if self._fsync:
            atomic.fsync_directory(self.path.parent)

    def _write_tags(self) -> None:
        from cadencecoach.sinks import tags

        assert self._tags is not None
        tags.write_tags(self.temp_path, self._tags, ext=self.format)

    def abort(self) -> None:
        """Drop everything written so far: close and delete the temporary file. Never raises (a stop signal that
        comes meanwhile is raised once it is done: :func:`cadencecoach.atomic.uninterrupted`)."""
        if self._closed:
            return
        with atomic.uninterrupted():
            self._closed = True
            if self._encoder is not None:
                self._encoder.discard()
            if self._fd is not None:
                fd, self._fd = self._fd, None
                with contextlib.suppress(OSError):
                    os.close(fd)
            atomic.discard(self.temp_path)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # A writer dropped without close() must not leave its temporary file behind.
        if not getattr(self, "_closed", True) and hasattr(self, "temp_path"):
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<AudioWriter {self.path} {self.format} {self.sample_rate} Hz x{self.channels} {state}>"


def open_writer(
    path: str | os.PathLike[str],
    sample_rate: int,
    channels: int = 1,
    bit_depth: int = 16,
    bitrate: int | None = None,
    *,
    quality: int | None = None,
    expected_frames: int | None = None,
    fsync: bool = True,
    mp3_quality: int = MP3_QUALITY,
    tags: Metadata | None = None,
    before_commit: Callable[[Path], None] | None = None,
) -> AudioWriter:
    """Open `path` for streamed, atomic writing; the format comes from its extension.

    Parameters
    ----------
    path : str or os.PathLike
        The target: ``.wav``, ``.flac``, ``.ogg``, ``.mp3``, ``.m4a`` or ``.opus`` (:data:`FORMATS`). It appears only
        when the writer is closed without an error (see the module docstring).
    sample_rate : int
        Frames per second, > 0. MP3 takes the MPEG rates (8000 ... 48000 Hz); Opus multiples of 50 Hz.
    channels : int, default 1
        Channels per frame; blocks are ``(n,)`` (mono) or ``(n, channels)``. MP3, AAC and Opus take 1 or 2.
    bit_depth : {16, 24}, default 16
        PCM bits per sample, for WAV and FLAC.
    bitrate : int, optional
        kbit/s: MP3's constant bit rate, AAC's and Opus' target; default :data:`DEFAULT_KBPS`. MP3's is clamped to
        what the MPEG version of the sample rate allows (8-160 below 32 kHz).
    quality : int, optional
        0..10, higher is better: variable bit rate at that quality instead of `bitrate`, for MP3 (LAME's ``-V``
        ``10 - quality``, at most ``-V 9``) and Ogg Vorbis (oggenc's ``-q``). None: MP3 at `bitrate`, Vorbis at
        :data:`DEFAULT_VORBIS_QUALITY`.
    expected_frames : int, optional
        Picks the WAV container: plain WAV if the data fits in 4 GiB, RF64 otherwise. When None, an RF64 file
        is written that libsndfile turns into a plain RIFF/WAVE (WAVE_FORMAT_EXTENSIBLE) file on close if it
        ended up small enough. A 16-bit WAV with `expected_frames` is written directly (a canonical 44-byte
        header), faster than through libsndfile.
    fsync : bool, default True
        False skips the fsync calls (faster, but not crash-durable).
    mp3_quality : int, default :data:`MP3_QUALITY`
        LAME's algorithm quality (0 best .. 9 fastest).
    tags : Metadata, optional
        Title, artist, album, comment, date, chapters and cover, written into the file before it is committed
        (:func:`cadencecoach.sinks.tags.write_tags`; the chapters of an ``.m4a`` go in as it is muxed).
    before_commit : callable, optional
        Called with the path of the finished, closed-for-writing temporary file just before it is fsync'ed and
        renamed onto `path` (to add tags or chapters in place). If it raises, the temporary file is deleted.

    Returns
    -------
    AudioWriter
        A context manager; ``write(block)`` takes float blocks in [-1, 1] (clipped), ``render(fn, total)`` a whole
        render.

    Raises
    ------
    ValueError
        An unsupported extension or parameter.
    FileNotFoundError, NotADirectoryError
        The directory does not exist / is not a directory.
    IsADirectoryError
        The target is a directory.
    NotEnoughSpace
        With `expected_frames`: the file cannot fit in the free space (:func:`estimated_bytes`).
    OSError
        The temporary file cannot be created (permission denied, a read-only file system), with the target's name.
    ExtraUnavailable
        ``.m4a`` or ``.opus`` without PyAV (the formats extra).

    All of them before anything is written. Writing and closing raise ``OSError`` (the target's name, the real
    errno) when the file system refuses.

    Examples
    --------
    >>> import tempfile, numpy as np, soundfile
    >>> target = Path(tempfile.mkdtemp()) / "tone.wav"
    >>> tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)).astype(np.float32)
    >>> with open_writer(target, 8000, expected_frames=len(tone)) as writer:
    ...     writer.write(tone)
    >>> info = soundfile.info(str(target))
    >>> info.samplerate, info.channels, info.frames, info.subtype
    (8000, 1, 800, 'PCM_16')
    >>> sorted(p.name for p in target.parent.iterdir())  # no temporary file left
    ['tone.wav']
    """
    target = Path(path)
    ext = format_for(target)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample rate must be a positive integer, got {sample_rate!r}")
    if not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    if ext in encode.LOSSY and channels > 2:
        raise ValueError(f"{ext[1:].upper()} supports 1 or 2 channels, got {channels}")
    if bit_depth not in (16, 24):
        raise ValueError(f"bit depth must be 16 or 24, got {bit_depth!r}")
    if bitrate is not None and (
        isinstance(bitrate, bool) or not isinstance(bitrate, (int, np.integer)) or bitrate <= 0
    ):
        raise ValueError(f"bit rate must be a positive integer (kbit/s), got {bitrate!r}")
    if quality is not None and (
        isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 10
    ):
        raise ValueError(f"quality must be an integer 0..10, got {quality!r}")
    if expected_frames is not None and expected_frames < 0:
        raise ValueError(f"expected_frames must be >= 0, got {expected_frames!r}")
    parent = target.parent
    if not parent.exists():
        raise FileNotFoundError(f"output directory does not exist: {parent}")
    if not parent.is_dir():
        raise NotADirectoryError(f"not a directory: {parent}")
    if target.is_dir():
        raise IsADirectoryError(f"output path is a directory: {target}")
    if isinstance(mp3_quality, bool) or not isinstance(mp3_quality, (int, np.integer)) or not 0 <= mp3_quality <= 9:
        raise ValueError(f"MP3 quality must be an integer 0..9, got {mp3_quality!r}")
    if ext in encode.LOSSY:
        encode.Codec(ext, int(sample_rate), int(channels))  # the rate it takes (ValueError otherwise)
        if encode.LOSSY[ext] == "av":
            from cadencecoach import extras

            extras.load("av", f"{ext} files")
    if expected_frames is not None:
        needed = estimated_bytes(
            target, expected_frames, sample_rate, channels, bit_depth, bitrate, vbr=quality is not None
        )
        check_space(target, needed)
    return AudioWriter(
        target,
        int(sample_rate),
        int(channels),
        bit_depth,
        None if bitrate is None else int(bitrate),
        expected_frames,
        fsync,
        quality=None if quality is None else int(quality),
        mp3_quality=int(mp3_quality),
        tags=tags,
        before_commit=before_commit,
    )
