"""Lossy encoding: MP3 (LAME, through lameenc), AAC in ``.m4a`` and Opus in ``.opus`` (FFmpeg, through PyAV).

One :class:`Codec` describes what is written (format, sample rate, bit rate); its :meth:`Codec.encoder` turns float
samples into *pieces* (MP3 frames, AAC or Opus packets), each with its index on the codec's frame grid, and an
output (:class:`Mp3Output`, :class:`AvOutput`) puts pieces into the file. The same pieces are made two ways:

* **In order** (:class:`StreamEncoder`), for writers that are handed blocks one after another: the music mixes of
  ``track build`` and :func:`cadencecoach.sinks.audiofile.open_writer` callers.
* **In parallel** (:func:`encode_parallel`), for a render, which can produce any stretch of the timeline on
  demand: the timeline is cut into chunks of about a minute, each rendered in this thread and encoded on its own
  core (threads for lameenc, which releases the GIL; processes for PyAV, which does not), and the chunks are
  joined in order. Every chunk but the first starts a dozen frames early on the same frame grid (the encoder's
  warm-up) and every chunk but the last runs a few frames past its end, so at the join both encodings have seen the
  same signal. The join is put in a stretch of digital silence when one comes within a few seconds of the
  chunk's nominal end (a workout has one between almost every pair of clicks): there both encodings are silent,
  and the decoded file is sample for sample what one encoder would have made. MP3 joins also move the bit
  reservoir (:func:`cadencecoach.sinks.mp3.join`). Memory is bounded by the chunks in flight, whatever the length.

Timing: pieces are placed by the frame grid and the codec's delay is written in the container -- the LAME Info
tag's encoder delay and padding (:func:`cadencecoach.sinks.mp3.info_frame`), the MP4 edit list, the Ogg Opus
pre-skip and end granule -- so each file decodes to the rendered samples, neither shifted nor longer (Opus at
48 kHz, its only rate: the render is resampled with soxr when it is not at 48 kHz).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import math
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from cadencecoach.sinks import mp3
from cadencecoach.sinks.pcm import quantize

__all__ = [
    "LOSSY",
    "MP3_QUALITY",
    "AvOutput",
    "Codec",
    "Mp3Output",
    "Piece",
    "StreamEncoder",
    "encode_parallel",
    "render_in_blocks",
    "usable_cores",
]

#: The formats this module writes, with the library that encodes them.
LOSSY = {".mp3": "lameenc", ".m4a": "av", ".opus": "av"}

#: (index on the codec's frame grid, bytes, samples at the codec's rate)
Piece = tuple[int, bytes, int]

#: (FFmpeg's encoder, its muxer, the sample format fed). libopus gets 16-bit integers: fed floats, it takes them
#: for 24-bit sound and codes even digital silence (``lsb_depth``): 2.4 times the bytes on a workout, measured.
_AV_CODECS = {".m4a": ("aac", "ipod", "fltp"), ".opus": ("libopus", "ogg", "s16")}
#: Samples (at the codec's rate) each encoder primes before the input: FFmpeg's AAC encoder, libopus' look-ahead.
_PRIMING = {".m4a": 1024, ".opus": 120}
#: Encoder options. Opus: CELT only ("restricted low delay"): its frames carry little state from one to the next,
#: so chunks join cleanly; in the default mode libopus switches between SILK, hybrid and CELT by its own history,
#: and a join between two encoders in different modes is heard (measured: 3 of 5 joins in two minutes of 10x400).
_OPTIONS: dict[str, dict[str, str]] = {".opus": {"application": "lowdelay"}}
_OPUS_RATE = 48000
#: LAME's algorithm quality (0 best and slowest .. 9) unless asked otherwise: 3, the `lame` command's own default
#: (2 took 1.7 times the CPU for a PESQ 0.05 lower and pre-echo 1 dB lower: benchmarks/RESULTS.md).
MP3_QUALITY = 3
_MP3_RATES = frozenset((8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True)
class Codec:
    """What a lossy file is: its format (extension), the input's sample rate and channels, and the bit rate.

    `kbps` is the constant bit rate of MP3 and the target of AAC and Opus; `vbr` (MP3 only) asks LAME for variable
    bit rate at that quality instead (0 best .. 9 smallest, LAME's ``-V``); `lame_quality` is LAME's algorithm
    quality (0 best and slowest .. 9).
    """

    ext: str
    rate: int
    channels: int = 1
    kbps: int = 64
    vbr: int | None = None
    lame_quality: int = MP3_QUALITY

    def __post_init__(self) -> None:
        if self.ext not in LOSSY:
            raise ValueError(f"not a lossy format of this module: {self.ext}")
        if self.ext == ".mp3" and self.rate not in _MP3_RATES:
            raise ValueError(f"MP3 has no {self.rate} Hz: use one of {', '.join(map(str, sorted(_MP3_RATES)))}")
        if self.ext == ".opus" and self.rate % 50:
            raise ValueError(f"Opus needs a sample rate that is a multiple of 50 Hz, not {self.rate}")

    @property
    def codec_rate(self) -> int:
        """The rate the codec runs at: the input's, except Opus (always 48 kHz)."""
        return _OPUS_RATE if self.ext == ".opus" else self.rate

    @property
    def frame(self) -> int:
        """Samples per codec frame at the codec's rate (an Opus frame: 960 at 48 kHz)."""
        return self.grid * self.codec_rate // self.rate

    @property
    def grid(self) -> int:
        """Input samples per codec frame: chunks start on multiples of it."""
        if self.ext == ".mp3":
            return 1152 if self.rate >= 32000 else 576
        if self.ext == ".m4a":
            return 1024
        return self.rate // 50  # Opus: 20 ms frames

    @property
    def delay(self) -> int:
        """Input samples between the start of the input and decoded frame 0 (before the container's trim)."""
        if self.ext == ".mp3":
            return mp3.ENCODER_DELAY + mp3.DECODER_DELAY
        if self.ext == ".m4a":
            return 1024
        return math.ceil(_PRIMING[".opus"] * self.rate / _OPUS_RATE)  # libopus' look-ahead at 48 kHz

    @property
    def warm_frames(self) -> int:
        """Frames a chunk starts before its join, so that the encoder has settled there: LAME and libopus in a
        dozen frames; FFmpeg's AAC rate control takes seconds to come to the bit rate it spends on a sound
        (measured on noise: with 12 frames the three seconds after a join had 1.4 times the error of one
        encoder's, with 128 frames within 1.16 times)."""
        return 128 if self.ext == ".m4a" else WARM_FRAMES

    @property
    def parallel(self) -> str:
        """How chunks are encoded side by side: lameenc releases the GIL, PyAV does not."""
        return "thread" if self.ext == ".mp3" else "process"

    def encoder(self) -> _Encoder:
        return _LameEncoder(self) if self.ext == ".mp3" else _AvEncoder(self)


class _Encoder:
    def feed(self, pcm: np.ndarray) -> list[Piece]:
        raise NotImplementedError

    def flush(self) -> list[Piece]:
        raise NotImplementedError


_SCRATCH = 1 << 16


class _LameEncoder(_Encoder):
    def __init__(self, codec: Codec) -> None:
        import lameenc

        enc = lameenc.Encoder()
        enc.set_in_sample_rate(codec.rate)
        enc.set_out_sample_rate(codec.rate)  # never resampled: the frame grid and the delay stay exact
        enc.set_channels(codec.channels)
        enc.set_quality(codec.lame_quality)
        if codec.vbr is not None:
            enc.set_vbr(4)  # vbr_mtrh, LAME's default VBR
            enc.set_vbr_quality(codec.vbr)
        else:
            enc.set_bit_rate(codec.kbps)
        self._enc = enc
        self._reader = mp3.FrameReader()
        self._index = 0
        self._samples = mp3.Frame(3 if codec.rate >= 32000 else 2, codec.rate, 0, 0, 1, False, 0).samples
        self._f = np.empty((_SCRATCH, codec.channels), np.float32)
        self._i = np.empty((_SCRATCH, codec.channels), np.int16)

    def _pieces(self, data: bytes) -> list[Piece]:
        frames = self._reader.feed(data)
        out = [(self._index + k, f, self._samples) for k, f in enumerate(frames)]
        self._index += len(frames)
        return out

    def feed(self, pcm: np.ndarray) -> list[Piece]:
        pcm = pcm.reshape(len(pcm), -1)
        out: list[Piece] = []
        for start in range(0, len(pcm), _SCRATCH):
            ints = quantize(pcm[start : start + _SCRATCH], 32767.0, self._f, self._i)
            out += self._pieces(self._enc.encode(ints.tobytes()))
        return out

    def flush(self) -> list[Piece]:
        out = self._pieces(self._enc.flush())
        if self._reader.pending:
            raise ValueError("LAME's output ends in the middle of a frame")
        return out


class _AvEncoder(_Encoder):
    def __init__(self, codec: Codec) -> None:
        from cadencecoach import extras

        av = extras.load("av", f"{codec.ext} files")
        name, _container, sample_format = _AV_CODECS[codec.ext]
        self._av = av
        ctx = av.CodecContext.create(name, "w")
        ctx.sample_rate = codec.codec_rate
        ctx.layout = "mono" if codec.channels == 1 else "stereo"
        ctx.format = sample_format
        ctx.bit_rate = codec.kbps * 1000
        ctx.time_base = Fraction(1, codec.codec_rate)
        ctx.options = dict(_OPTIONS.get(codec.ext, {}))
        ctx.open()
        self._ctx = ctx
        self._format = sample_format
        self._layout = ctx.layout.name
        self._rate = codec.codec_rate
        self._frame = codec.frame  # as the muxer counts them (AvOutput): FFmpeg opens the encoder at this size
        self._pts = 0
        self._pad = _PRIMING[codec.ext]
        self._checked = False
        self._resampler: Any = None
        if codec.codec_rate != codec.rate:
            import soxr

            # soxr's medium quality: flat to 91 % of the band (20 kHz at 44.1 kHz, Opus' own limit) and a third
            # cheaper than its high quality, which took a quarter of the encoding time
            self._resampler = soxr.ResampleStream(
                codec.rate, codec.codec_rate, codec.channels, dtype="float32", quality="MQ"
            )

    def _pieces(self, packets: Iterable[Any]) -> list[Piece]:
        out: list[Piece] = []
        for p in packets:
            if not self._checked:  # the first packet starts the priming before the input
                if int(p.pts) != -self._pad:
                    raise RuntimeError(f"{self._ctx.name} primes {-int(p.pts)} samples, not {self._pad}")
                self._checked = True
            out.append(((int(p.pts) + self._pad) // self._frame, bytes(p), int(p.duration)))
        return out

    def _encode(self, pcm: np.ndarray) -> list[Piece]:
        if not len(pcm):
            return []
        pcm = np.clip(pcm, -1.0, 1.0)  # after resampling, which may ring past full scale
        if self._format == "fltp":
            planar = np.ascontiguousarray(pcm.T)
        else:  # s16, interleaved: on the 16-bit grid, as the WAV render and LAME's input
            planar = np.rint(pcm * 32767.0).astype(np.int16).reshape(1, -1)
        frame = self._av.AudioFrame.from_ndarray(planar, format=self._format, layout=self._layout)
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = self._ctx.time_base
        self._pts += len(pcm)
        return self._pieces(self._ctx.encode(frame))

    def feed(self, pcm: np.ndarray) -> list[Piece]:
        pcm = np.asarray(pcm, np.float32).reshape(len(pcm), -1)
        if self._resampler is not None:
            pcm = self._resampler.resample_chunk(pcm, last=False).reshape(-1, pcm.shape[1])
        return self._encode(pcm)

    def flush(self) -> list[Piece]:
        out: list[Piece] = []
        if self._resampler is not None:
            channels = 1 if self._layout == "mono" else 2
            out += self._encode(
                self._resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True).reshape(-1, channels)
            )
        return out + self._pieces(self._ctx.encode(None))


# -- outputs -----------------------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Mp3Output:
    """MP3 frames to an open file descriptor, after a Xing/LAME Info frame that :meth:`finish` fills in."""

    _TOC_STEP = 64  # a frame offset kept every this many frames, for the seek table

    def __init__(self, fd: int, codec: Codec) -> None:
        self._fd = fd
        self._codec = codec
        self._first: bytes | None = None
        self._info_size = 0
        self._frames = 0
        self._bytes = 0
        self._offsets: list[int] = []

    def write(self, pieces: Sequence[Piece]) -> None:
        if not pieces:
            return
        if self._first is None:
            self._first = pieces[0][1]
            placeholder = self._info(frames=0, padding=0)
            self._info_size = len(placeholder)
            _write_all(self._fd, placeholder)
        data = bytearray()
        for _index, frame, _n in pieces:
            if self._frames % self._TOC_STEP == 0:
                self._offsets.append(self._bytes + len(data))
            data += frame
            self._frames += 1
        _write_all(self._fd, bytes(data))
        self._bytes += len(data)

    def _info(self, *, frames: int, padding: int) -> bytes:
        assert self._first is not None
        total = self._info_size + self._bytes
        toc = None
        if frames and self._codec.vbr is not None:
            toc = []
            for i in range(100):
                k = min(int(i / 100 * frames) // self._TOC_STEP, len(self._offsets) - 1)
                toc.append(min(255, (self._info_size + self._offsets[k]) * 256 // total))
        return mp3.info_frame(
            self._first,
            frames=frames,
            stream_bytes=total,
            padding=padding,
            toc=toc,
            vbr=self._codec.vbr is not None,
            quality=self._codec.lame_quality,
            kbps=self._codec.kbps,
        )

    def finish(self, samples: int) -> None:
        """Write the Info frame for `samples` input samples (the file's decoded length)."""
        if self._first is None:
            return
        spf = mp3.frame_at(self._first).samples
        padding = self._frames * spf - mp3.ENCODER_DELAY - samples
        info = self._info(frames=self._frames, padding=padding)
        os.lseek(self._fd, 0, os.SEEK_SET)
        _write_all(self._fd, info)
        os.lseek(self._fd, 0, os.SEEK_END)

    def discard(self) -> None:
        pass


def _av_os_error(exc: Exception, path: Path) -> OSError:
    code = getattr(exc, "errno", None) or errno.EIO
    return OSError(code, os.strerror(code), str(path))


class AvOutput:
    """AAC or Opus packets muxed by FFmpeg into ``.m4a`` (with an edit list for the priming) or ``.opus``.

    `chapters` (PyAV's chapter dicts, :func:`cadencecoach.sinks.tags.pyav_chapters`) go into the container as
    FFmpeg writes them (MP4: a QuickTime chapter track and Nero ``chpl``); tags are written after, by mutagen.
    """

    def __init__(
        self,
        path: Path,
        codec: Codec,
        *,
        chapters: Sequence[dict[str, Any]] = (),
    ) -> None:
        from cadencecoach import extras

        av = extras.load("av", f"{codec.ext} files")
        name, container_format, sample_format = _AV_CODECS[codec.ext]
        self._av = av
        self._path = path
        options = {"movflags": "+faststart"} if codec.ext == ".m4a" else {}  # the index first: phones stream it
        try:
            self._container = av.open(str(path), "w", format=container_format, options=options)
            stream = self._container.add_stream(name, rate=codec.codec_rate)
            stream.layout = "mono" if codec.channels == 1 else "stereo"
            stream.format = sample_format
            stream.bit_rate = codec.kbps * 1000
            stream.codec_context.options = dict(_OPTIONS.get(codec.ext, {}))  # as the encoders: the same priming
            if chapters:
                self._container.set_chapters(list(chapters))
        except av.FFmpegError as exc:
            raise _av_os_error(exc, path) from None
        self._stream = stream
        self._pad = _PRIMING[codec.ext]
        self._frame = codec.frame
        self._tb = Fraction(1, codec.codec_rate)

    def write(self, pieces: Sequence[Piece]) -> None:
        try:
            for index, data, duration in pieces:
                packet = self._av.Packet(data)
                packet.pts = packet.dts = index * self._frame - self._pad
                packet.duration = duration
                packet.time_base = self._tb
                packet.stream = self._stream
                self._container.mux(packet)
        except self._av.FFmpegError as exc:
            raise _av_os_error(exc, self._path) from None

    def finish(self, samples: int) -> None:
        try:
            self._container.close()
        except self._av.FFmpegError as exc:
            raise _av_os_error(exc, self._path) from None

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()


Output = Mp3Output | AvOutput


class StreamEncoder:
    """Blocks handed in order, encoded in this thread: ``write(frames)`` (float, ``(n, channels)``), ``finish()``.

    The interface of :mod:`cadencecoach.sinks.audiofile`'s encoders (``write``/``finish``/``discard``)."""

    def __init__(self, codec: Codec, output: Output) -> None:
        self._codec = codec
        self._encoder: _Encoder | None = None  # made at the first block: a parallel render never needs it
        self.output = output
        self._samples = 0

    def _started(self) -> _Encoder:
        if self._encoder is None:
            self._encoder = self._codec.encoder()
        return self._encoder

    def write(self, frames: np.ndarray) -> None:
        self.output.write(self._started().feed(frames))
        self._samples += len(frames)

    def finish(self) -> None:
        self.output.write(self._started().flush())
        self.output.finish(self._samples)

    def discard(self) -> None:
        self.output.discard()


# -- in parallel -------------------------------------------------------------------------------------------------

#: Frames a chunk starts before its join (the encoder's warm-up, :attr:`Codec.warm_frames`) and runs past the next
#: one (its look-ahead).
WARM_FRAMES = 12
GUARD_FRAMES = 6
#: Longer warm-ups (frames) tried in turn for a chunk whose reservoir no frame near its join can take.
RETRY_WARM_FRAMES = (WARM_FRAMES + 8, WARM_FRAMES + 24, WARM_FRAMES + 48)
#: How far past a chunk's nominal end a stretch of silence is looked for, in seconds.
SEARCH_S = 4.0
#: Below this a sample is silence (it rounds to 0 in 16 bits).
SILENCE = 2.0**-16


def _encode_chunk(codec: Codec, pcm: np.ndarray) -> list[Piece]:
    """One chunk, in a worker: its pieces, indexed from the chunk's start."""
    enc = codec.encoder()
    return enc.feed(pcm) + enc.flush()


#: The signals a terminal sends to the whole process group: a worker leaves them to the main process.
GROUP_SIGNALS = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTSTP")) if s is not None
)


def _quiet_worker() -> None:
    """A worker process leaves Ctrl-C and the terminal's signals to the main process, which stops it."""
    for sig in GROUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _ready() -> None:
    """A worker's first job: it has started."""


def start_workers(pool: cf.ProcessPoolExecutor, workers: int) -> None:
    """Start the pool's worker processes now, with the terminal's signals blocked: a Ctrl-C while a worker is still
    starting (importing, before :func:`_quiet_worker` runs) is not a traceback from the worker; in this process
    the signal waits, blocked, until the workers are up, and is raised as they are (the caller stops them)."""
    block = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, GROUP_SIGNALS) if block else None
    try:
        for f in [pool.submit(_ready) for _ in range(workers)]:
            f.result()
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


@dataclass
class _Chunk:
    start: int  # first input sample (a multiple of the grid)
    join: int  # the frame where this chunk's pieces begin to count (0 for the first)
    future: cf.Future[list[Piece]] = field(repr=False, default_factory=cf.Future)
    # MP3: the chunk's input and the input before it, to encode it again with a longer warm-up if no frame near
    # its join can take its bit reservoir (dense music: rare, but a 6-hour file has hundreds of joins)
    pcm: np.ndarray | None = field(repr=False, default=None)
    lead: np.ndarray | None = field(repr=False, default=None)


def _silent_join(pcm: np.ndarray, offset: int, first: int, last: int, codec: Codec) -> int | None:
    """The first frame index in [first, last] around whose start the input is silent (:data:`SILENCE`) for three
    frames on either side (`pcm` holds input samples from `offset`), else None."""
    grid = codec.grid
    half = 3 * grid
    lo = first * grid - codec.delay - half - offset
    hi = last * grid - codec.delay + half - offset
    if lo < 0 or hi > len(pcm) or last < first:
        return None
    loud = np.concatenate(([0], np.cumsum(np.any(np.abs(pcm[lo:hi].reshape(hi - lo, -1)) > SILENCE, axis=1))))
    starts = np.arange(first, last + 1) * grid - codec.delay - half - offset - lo
    quiet = np.flatnonzero(loud[starts + 2 * half] - loud[starts] == 0)
    return int(first + quiet[0]) if len(quiet) else None


def encode_parallel(
    render: Callable[[int, np.ndarray], None],
    total: int,
    codec: Codec,
    output: Output,
    *,
    workers: int | None = None,
    chunk_s: float = 60.0,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Encode samples ``[0, total)`` of `render` (``render(start, out)`` fills the float32 array `out`) into
    `output`, in chunks of about `chunk_s` seconds encoded on `workers` cores (default: all there are), and
    finish it. Returns where the chunks were joined (the input sample where the first frame of each chunk after the
    first begins to sound; none for one chunk).

    `progress` is called with the samples done so far, in order. On any exception (Ctrl-C included) the workers are
    stopped and the exception propagates; the caller discards the output."""
    grid = codec.grid
    workers = workers or usable_cores()
    nominal = max(grid, round(chunk_s * codec.rate) // grid * grid)
    search = round(SEARCH_S * codec.rate)
    if total <= nominal + search or workers <= 1:
        _encode_in_order(render, total, codec, output, progress)
        return []
    pool: cf.Executor | None = None
    pending: deque[_Chunk] = deque()
    joins: list[int] = []
    held: list[Piece] = []  # the joined chunk's pieces not written yet (the next join may touch its last frames)
    try:
        if codec.parallel == "thread":
            pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="encode")
        else:
            pool = cf.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker
            )  # no process yet: they start here, and a stop that comes meanwhile stops them (below)
            start_workers(pool, workers)
        start, join = 0, 0
        prev: tuple[int, np.ndarray] | None = None
        while True:
            target = join * grid + nominal
            last = target + search + GUARD_FRAMES * grid >= total
            end = total if last else min(total, target + search + (GUARD_FRAMES + 4) * grid)
            pcm = np.zeros(end - start, np.float32)
            for at in range(start, end, 1 << 16):
                render(at, pcm[at - start : min(end, at + (1 << 16)) - start])
            next_join = 0
            if not last:
                first_j = -(-(target + codec.delay) // grid)
                last_j = (end - GUARD_FRAMES * grid) // grid - 1
                next_join = _silent_join(pcm, start, first_j, last_j, codec) or first_j
                pcm = pcm[: next_join * grid + GUARD_FRAMES * grid - start]
            chunk = _Chunk(start, join, pool.submit(_encode_chunk, codec, pcm))
            if codec.ext == ".mp3" and join > 0 and prev is not None:
                have = start - prev[0]  # input samples of the previous chunk before this one's start
                chunk.pcm = pcm
                chunk.lead = prev[1][max(0, have - RETRY_WARM_FRAMES[-1] * grid) : max(0, have)].copy()
            prev = (start, pcm)
            pending.append(chunk)
            while pending and (last or len(pending) > workers):
                held, joined_at = _take(pending.popleft(), held, codec, output, grid)
                if joined_at is not None:
                    joins.append(joined_at * grid - codec.delay)
                if progress is not None and pending:
                    progress(min(total, pending[0].join * grid))
            if last:
                break
            start, join = max(0, next_join - codec.warm_frames) * grid, next_join
        output.write(held)
        output.finish(total)
        if progress is not None:
            progress(total)
        return joins
    except BaseException:
        if pool is not None:
            for chunk in pending:
                chunk.future.cancel()
            stop_pool(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _encode_in_order(
    render: Callable[[int, np.ndarray], None],
    total: int,
    codec: Codec,
    output: Output,
    progress: Callable[[int], None] | None,
) -> None:
    """One encoder, block after block: for one core, or a render shorter than two chunks."""
    stream = StreamEncoder(codec, output)
    render_in_blocks(render, total, stream.write, progress)
    stream.finish()


def render_in_blocks(
    render: Callable[[int, np.ndarray], None],
    total: int,
    write: Callable[[np.ndarray], None],
    progress: Callable[[int], None] | None = None,
    block: int = 1 << 16,
) -> None:
    """Samples ``[0, total)`` of `render`, in order, into `write`, a block at a time (one scratch buffer)."""
    buf = np.empty(max(1, min(total, block)), np.float32)
    for at in range(0, total, len(buf)):
        n = min(len(buf), total - at)
        render(at, buf[:n])
        write(buf[:n])
        if progress is not None:
            progress(at + n)


def _take(chunk: _Chunk, held: list[Piece], codec: Codec, output: Output, grid: int) -> tuple[list[Piece], int | None]:
    """Join `chunk`'s pieces to `held` (the previous chunk's, from its join on) and write what is final; return what
    the next join may still touch, and the frame of this join (None for the first chunk)."""
    offset = chunk.start // grid
    pieces = [(i + offset, data, n) for i, data, n in chunk.future.result()]
    if not held:
        return [p for p in pieces if p[0] >= chunk.join], None
    if codec.ext == ".mp3":
        joined = _join_mp3(held, pieces, chunk.join)
        for extra in RETRY_WARM_FRAMES:  # none fits: the same input again, from further back (another reservoir)
            if joined is not None or chunk.pcm is None or chunk.lead is None or len(chunk.lead) < extra * grid:
                break
            again = _encode_chunk(codec, np.concatenate([chunk.lead[len(chunk.lead) - extra * grid :], chunk.pcm]))
            pieces = [(i + offset - extra, data, n) for i, data, n in again]
            joined = _join_mp3(held, pieces, chunk.join)
        if joined is None:
            raise RuntimeError(f"no MP3 frame near {chunk.join} takes the next chunk's bit reservoir")
        held, pieces = joined
    else:
        held = [p for p in held if p[0] < chunk.join]
        pieces = [p for p in pieces if p[0] >= chunk.join]
    output.write(held)
    return pieces, pieces[0][0] if pieces else chunk.join


def _join_mp3(a: list[Piece], b: list[Piece], at: int) -> tuple[list[Piece], list[Piece]] | None:
    """Frames of `a` before the join and of `b` from it, with `b`'s reservoir moved (:func:`mp3.join`); the join
    moves back a frame at a time (into `b`'s warm-up), then forward (into `a`'s guard frames), until the reservoir
    fits; None if no frame takes it."""
    a0, b0 = a[0][0], b[0][0]
    back = range(at, max(a0, b0 + WARM_FRAMES // 2), -1)  # MP3's warm-up: WARM_FRAMES
    ahead = range(at + 1, min(a0 + len(a), b0 + len(b)) - 1)
    for j in (*back, *ahead):
        joined = mp3.join([p[1] for p in a], [p[1] for p in b], j - a0, j - b0)
        if joined is not None:
            kept = j - a0
            frames = [(a0 + k, data, a[0][2]) for k, data in enumerate(joined)]
            return frames[:kept], frames[kept:]
    return None


def stop_pool(pool: cf.Executor) -> None:
    """Stop a pool now: cancel what has not started; worker processes are terminated (they hold nothing). The
    chunk being handed to a worker that is gone may be stuck half-written in the pipe: the queue's feeder thread
    is not waited for at exit (or the process would hang there after saying it stopped, seen on a fresh root)."""
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:
        with contextlib.suppress(Exception):
            call_queue.cancel_join_thread()
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(Exception):
            process.terminate()
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    _forget_manager(manager)


def _forget_manager(thread: object) -> None:
    """Wait (briefly) for a stopped process pool's manager thread, then drop it from the list the interpreter
    wakes at exit. At exit Python 3.11 wakes every pool's manager through a pipe that the manager, finishing on
    its own after the stop, may be closing at that moment: ``Exception ignored ... OSError: [Errno 9] Bad file
    descriptor`` after our ``stopped.`` (seen on a fresh root; 1 Ctrl-C in 12-24 while encoding, on 3.11.2 and
    3.11.7 alike, before this). A finished manager needs no wake-up; one still running after 2 s keeps its entry
    and is woken as usual."""
    if not isinstance(thread, threading.Thread):
        return
    thread.join(timeout=2.0)
    if not thread.is_alive():
        import concurrent.futures.process as cf_process

        with contextlib.suppress(Exception):
            cf_process._threads_wakeups.pop(thread, None)
