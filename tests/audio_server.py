"""Helpers for end-to-end tests that play through a real (private) PulseAudio server.

`scripts/test.sh` starts a private PulseAudio daemon whose only sink is a 44.1 kHz mono float32
null sink, exports ``PULSE_SERVER`` (and friends) so every client -- sounddevice/PortAudio through
ALSA's ``pulse`` plugin, ``pactl``, ``parec`` -- reaches it, and exports
``CADENCECOACH_TEST_SINK`` with the sink's name. These helpers record what reaches that sink
(from its ``.monitor`` source) so a test can check, sample-accurately, what a player really
played.

Nothing here talks to a server unless ``CADENCECOACH_TEST_SINK`` is set: a developer's own sound
session is never recorded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import numpy as np

SINK_ENV = "CADENCECOACH_TEST_SINK"
SAMPLE_RATE = 44100

_FORMATS: dict[str, np.dtype] = {
    "float32le": np.dtype("<f4"),
    "s16le": np.dtype("<i2"),
}


def sink_name() -> str | None:
    """The name of the test null sink, or None when no test server was set up."""
    return os.environ.get(SINK_ENV) or None


def server_available(timeout: float = 5.0) -> bool:
    """True when ``CADENCECOACH_TEST_SINK`` is set and ``pactl`` answers (and knows that sink)."""
    sink = sink_name()
    if sink is None or shutil.which("pactl") is None:
        return False
    try:
        proc = subprocess.run(
            ["pactl", "list", "short", "sinks"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:
        return False
    return any(line.split("\t")[1:2] == [sink] for line in proc.stdout.splitlines())


def unavailable_reason() -> str:
    """Why `server_available()` is false, for skip messages."""
    if sink_name() is None:
        return f"no test PulseAudio server ({SINK_ENV} unset): run through `bash scripts/test.sh`"
    if shutil.which("pactl") is None:
        return "pactl not found (install pulseaudio-utils)"
    return f"{SINK_ENV}={sink_name()} but pactl gets no answer or no such sink (PULSE_SERVER unreachable?)"


class Recorder:
    """Record the test sink's monitor with ``parec`` while the ``with`` block runs::

        with Recorder() as rec:
            play_something()
        samples = rec.samples          # 1-D (or (n, channels)) numpy array, float32 by default

    ``__enter__`` returns only once samples are actually flowing (so nothing played inside the
    block is missed); ``__exit__`` (or `stop()`, which also returns the array) waits ``tail``
    seconds so the last played audio reaches the monitor, then stops parec and loads the samples.

    The recording runs at the sink's own rate and format (44100 Hz float32le by default: the
    null sink made by test.sh), so the server neither resamples nor converts it.
    """

    def __init__(
        self,
        sink: str | None = None,
        *,
        rate: int = SAMPLE_RATE,
        channels: int = 1,
        sample_format: str = "float32le",
        latency_ms: int = 20,
        tail: float = 0.3,
        start_timeout: float = 5.0,
    ) -> None:
        sink = sink or sink_name()
        if sink is None:
            raise RuntimeError(f"no test sink: {SINK_ENV} is not set")
        if sample_format not in _FORMATS:
            raise ValueError(f"unsupported format {sample_format!r}; one of {sorted(_FORMATS)}")
        self.device = f"{sink}.monitor"
        self.rate = rate
        self.channels = channels
        self.sample_format = sample_format
        self.latency_ms = latency_ms
        self.tail = tail
        self.start_timeout = start_timeout
        self.samples: np.ndarray | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None
        self._stderr: Path | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Recorder:
        if self._proc is not None:
            raise RuntimeError("Recorder already started")
        self._dir = tempfile.TemporaryDirectory(prefix="cc-parec-")
        self._path = Path(self._dir.name) / "capture.raw"
        self._stderr = Path(self._dir.name) / "parec.stderr"
        cmd = [
            "parec",
            f"--device={self.device}",
            f"--format={self.sample_format}",
            f"--rate={self.rate}",
            f"--channels={self.channels}",
            f"--latency-msec={self.latency_ms}",
            "--raw",
            "--client-name=cadencecoach-tests",
            "--stream-name=recorder",
        ]
        with open(self._path, "wb") as out, open(self._stderr, "wb") as err:
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        # The null sink renders (silence) continuously, so its monitor delivers data as soon as
        # parec is connected: wait for the first bytes.
        deadline = time.monotonic() + self.start_timeout
        while self._path.stat().st_size == 0:
            if self._proc.poll() is not None:
                msg = self._read_stderr()
                self._cleanup()
                raise RuntimeError(f"parec exited with {self._proc.returncode}: {msg}")
            if time.monotonic() > deadline:
                self._terminate()
                msg = self._read_stderr()
                self._cleanup()
                raise RuntimeError(f"parec delivered no samples within {self.start_timeout}s: {msg}")
            time.sleep(0.005)
        return self

    def stop(self) -> np.ndarray:
        """Stop recording (after ``tail`` seconds) and return the samples."""
        if self.samples is not None:
            return self.samples
        if self._proc is None or self._path is None:
            raise RuntimeError("Recorder not started")
        if self.tail > 0:
            time.sleep(self.tail)
        self._terminate()
        try:
            raw = self._path.read_bytes()
        finally:
            self._cleanup()
        dtype = _FORMATS[self.sample_format]
        frame = dtype.itemsize * self.channels
        raw = raw[: len(raw) - len(raw) % frame]
        data = np.frombuffer(raw, dtype=dtype)
        data = data.astype(np.float32)
        if dtype.kind == "i":
            data /= 32768.0
        if self.channels > 1:
            data = data.reshape(-1, self.channels)
        self.samples = data
        return data

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.stop()
        else:
            self._terminate()
            self._cleanup()

    # -- internals ---------------------------------------------------------------------------
    def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)  # parec quits cleanly on SIGINT/SIGTERM
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def _read_stderr(self) -> str:
        try:
            return self._stderr.read_text(errors="replace").strip() if self._stderr else ""
        except OSError:
            return ""

    def _cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def chime_regions(
    x: np.ndarray, level: float = 0.1, min_s: float = 0.15, rate: int = SAMPLE_RATE
) -> list[tuple[int, int]]:
    """Stretches where the envelope (10 ms windows) stays above `level` for at least `min_s`: speech (the
    tones voice's chimes), not clicks (which die away within a few ms). ``(start, end)`` samples."""
    w = rate // 100
    env = np.abs(x[: len(x) // w * w]).reshape(-1, w).max(axis=1) > level
    out, start = [], None
    for i, loud in enumerate(np.append(env, False)):
        if loud and start is None:
            start = i
        elif not loud and start is not None:
            if (i - start) * w >= min_s * rate:
                out.append((start * w, i * w))
            start = None
    return out


def find_onsets(signal: np.ndarray, threshold: float, min_gap_samples: int) -> np.ndarray:
    """Sample indices of click onsets in ``signal``.

    An onset is the first sample whose absolute value reaches ``threshold`` after at least
    ``min_gap_samples`` samples below it (the very first loud sample is always an onset). Samples
    that cross the threshold inside a click (its ringing, its other peaks) belong to that click.
    Multi-channel input ((n, ch) arrays) is reduced to its loudest channel per sample.
    """
    x = np.abs(np.asarray(signal, dtype=np.float64))
    if x.ndim == 2:
        x = x.max(axis=1)
    loud = np.flatnonzero(x >= threshold)
    if loud.size == 0:
        return loud.astype(np.int64)
    keep = np.empty(loud.size, dtype=bool)
    keep[0] = True
    keep[1:] = np.diff(loud) > min_gap_samples
    return loud[keep].astype(np.int64)


def first_difference(
    recorded: np.ndarray,
    reference: np.ndarray,
    offset: int,
    *,
    atol: float = 1e-4,
    window: int = 8192,
    search: int = SAMPLE_RATE,
) -> tuple[int, int | None, int | None] | None:
    """Where a recording stops being, sample for sample, the reference it should be, and how it goes on.

    None when ``recorded[offset + i]`` equals ``reference[i]`` (within `atol`) for every ``i`` of the
    reference. Otherwise ``(i, resume, shift)``: ``i`` is the first reference sample that differs; from
    reference sample ``resume`` on the recording is the reference again, ``shift`` samples later than
    expected (``shift > 0``: that many samples were inserted -- a gap; ``< 0``: lost; ``0`` with
    ``resume > i``: samples ``[i, resume)`` were replaced, by silence after an underrun say). Found exactly:
    the first `window` samples of the reference from some sound after ``i`` on that occur, exactly, at one
    shift only within ``+-search`` (clicks repeat: a window that matches at several shifts is skipped),
    followed back to the first sample that matches at that shift. ``(i, None, None)`` when the recording never
    becomes the reference again. Mono, float.
    """
    ref = np.asarray(reference, dtype=np.float64)
    rec = np.asarray(recorded, dtype=np.float64)
    n = len(ref)
    if offset < 0:
        i = 0
    else:
        seg = rec[offset : offset + n]
        bad = np.flatnonzero(np.abs(seg - ref[: len(seg)]) > atol)
        if bad.size:
            i = int(bad[0])
        elif len(seg) == n:
            return None
        else:
            i = len(seg)  # the recording ends early
    k = i
    while k < n:
        loud = np.flatnonzero(np.abs(ref[k:]) > atol)
        if not loud.size:
            break
        k += int(loud[0])
        shifts = _exact_shifts(rec, ref[k : k + window], offset + k, atol, search)
        if len(shifts) == 1:
            shift = shifts[0]
            # back from k to the first sample that matches at this shift
            lo = max(i, -(offset + shift))
            seg = rec[offset + shift + lo : offset + shift + k]
            bad = np.flatnonzero(np.abs(seg - ref[lo : lo + len(seg)]) > atol)
            resume = lo + int(bad[-1]) + 1 if bad.size else lo
            return i, resume, shift
        k += window // 4
    return i, None, None


def _exact_shifts(rec: np.ndarray, part: np.ndarray, at: int, atol: float, search: int) -> list[int]:
    """Every s in [-search, search] with rec[at + s : at + s + len(part)] == part (within atol)."""
    w = len(part)
    lo = max(at - search, 0)
    hi = min(at + search + w, len(rec))
    if hi - lo < w:
        return []
    hay = rec[lo:hi]
    size = 1 << int(np.ceil(np.log2(len(hay) + w)))
    corr = np.fft.irfft(np.fft.rfft(hay, size) * np.conj(np.fft.rfft(part, size)), size)[: len(hay) - w + 1]
    energy = np.convolve(hay * hay, np.ones(w), "valid")
    ssd = energy - 2 * corr + float(part @ part)  # sum of squared differences at every position
    out = []
    for k in np.flatnonzero(ssd <= w * atol * atol + 1e-6):
        if np.abs(hay[k : k + w] - part).max() <= atol:  # exact, not merely close
            out.append(lo + int(k) - at)
    return out
