"""``espeak`` (:class:`Pyttsx3Engine`, the default): pyttsx3 with its espeak-ng driver.

libespeak-ng is driven through ctypes, in retrieval mode: espeak-ng synthesises on its own thread and the
driver writes the WAV from its callback. pyttsx3 2.99 quirks handled here:

* ``runAndWait()`` may return after a single 10 ms poll, before the file is written, so we wait for
  the ``finished-utterance`` notification instead;
* ``runAndWait()`` calls ``espeak_Cancel()`` whenever espeak's thread is still busy, which silently
  drops a just-queued rate change (or the utterance), so we wait for espeak to be idle first, and
  right after init run one empty loop (pyttsx3 starts "busy" and would defer every command into
  that race);
* the driver ``print()``\\s "Audio saved to ..." from espeak's thread, so its ``print`` is shadowed
  and fds 1/2 go to ``/dev/null`` around init and synthesis (:func:`silenced`);
* the WAV header always says 22050 Hz (right for espeak-ng's own voices, not for mbrola ones);
* property errors (an unknown voice) are swallowed by pyttsx3 and only reported through the
  ``error`` notification, which we turn into an exception;
* espeak-ng can be initialised once per process and pyttsx3 keeps per-utterance state in the
  driver, so there is one pyttsx3 engine per process, used under a lock, with a fresh temp file per
  cue.

Repeated ``runAndWait()`` calls are fine; no external event loop is needed. libespeak-ng keeps some
state between utterances, so the same text can differ by a few samples within one process (the
cache makes cues stable across runs).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from cadencecoach.speech.engines.base import (
    DEFAULT_RATE,
    DEFAULT_VOICE,
    EmptySpeechError,
    SpeechError,
    check_rate,
    espeak_sentence_gap_s,
    locale_voice,
    read_wav,
)

__all__ = ["Pyttsx3Engine", "silenced"]


def _flush_c_stdio() -> None:
    """Flush C stdio buffers (libespeak-ng may ``printf``), so nothing surfaces after fds are restored."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
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


def _discard(*_args: object, **_kwargs: object) -> None:
    return None


class _Pyttsx3Runtime:
    """The one pyttsx3 engine of this process (libespeak-ng can only be initialised once)."""

    def __init__(self) -> None:
        self._is_playing: Callable[[], int] | None = None
        with silenced():
            import pyttsx3

            driver_name = "espeak" if sys.platform.startswith("linux") else None
            if driver_name == "espeak":
                import pyttsx3.drivers.espeak as espeak_driver
                from pyttsx3.drivers import _espeak

                # The synth callback print()s "Audio saved to ..." from espeak's thread, possibly after
                # the fds are restored: shadow print in the driver module.
                espeak_driver.print = _discard
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
            with silenced():
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
            return read_wav(path)
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
        self.voice = voice or locale_voice()  # DEFAULT_VOICE ("default"): espeak-ng's own default
        self.rate = check_rate(rate)

    def __repr__(self) -> str:
        return f"Pyttsx3Engine(voice={self.voice!r}, rate={self.rate})"

    @property
    def sentence_gap_s(self) -> float:
        return espeak_sentence_gap_s(self.rate)

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise EmptySpeechError("nothing to say")
        voice = None if self.voice == DEFAULT_VOICE else self.voice
        return _pyttsx3_runtime().synthesize(text, voice, self.rate)
