"""What every engine shares: the :class:`SpeechEngine` protocol, the speech errors, the default voice and rate,
and reading the WAV audio an engine writes."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import soundfile

from cadencecoach.core import dsp
from cadencecoach.errors import CoachError

__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_VOICE",
    "ESPEAK_SENTENCE_GAP_S",
    "EmptySpeechError",
    "SpeechEngine",
    "SpeechError",
    "as_mono",
    "check_rate",
    "describe",
    "espeak_sentence_gap_s",
    "locale_voice",
    "read_wav",
]

DEFAULT_RATE = 175
"""Default speaking rate in words per minute."""

DEFAULT_VOICE = "default"
"""The voice name meaning "the engine's default voice" (known without initialising the engine)."""


def locale_voice(environ: Mapping[str, str] | None = None) -> str:
    """The espeak-ng English voice for the user's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, first set):
    ``en-gb`` for British, Irish, Australian, New Zealand, South African and Indian English, else ``en-us``
    (American English, also for other languages and the C locale: the cues are English, and espeak-ng's
    American voice was the better understood one of the two, docs/VOICE.md).

    >>> locale_voice({"LANG": "en_GB.UTF-8"}), locale_voice({"LANG": "en_US.UTF-8"}), locale_voice({"LANG": "C"})
    ('en-gb', 'en-us', 'en-us')
    """
    env = os.environ if environ is None else environ
    name = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    region = name.split(".")[0].replace("-", "_").lower()
    return "en-gb" if region in {"en_gb", "en_ie", "en_au", "en_nz", "en_za", "en_in"} else "en-us"


ESPEAK_SENTENCE_GAP_S = 0.3
"""The pause espeak-ng makes between two sentences at :data:`DEFAULT_RATE` (measured: 0.30-0.31 s in
``Run. Rep 5 of 10. 400 meters at mile pace.``); it scales with 1/rate."""


def espeak_sentence_gap_s(rate: int) -> float:
    """espeak-ng's pause between two sentences at `rate` words per minute (both espeak engines')."""
    return ESPEAK_SENTENCE_GAP_S * DEFAULT_RATE / rate


class SpeechError(CoachError, RuntimeError):
    """A speech engine does not work (not installed, cannot initialise, unknown voice, ...).

    :func:`~cadencecoach.speech.synthesize_cues` catches it and falls back to the next engine; it reaches the
    command line only from code that calls an engine directly (exit 1)."""


class EmptySpeechError(SpeechError):
    """An engine produced no audible audio for one particular text."""


class SpeechEngine(Protocol):
    """Something that speaks: ``synthesize`` returns mono float32 audio and its native sample rate.

    Optional attributes read with ``getattr``: ``cacheable`` (default True: its audio goes to the cue cache),
    ``warn_on_fallback`` (default False: a fallback voice is worth a warning), ``sentence_gap_s`` (the pause
    between two sentences it speaks one by one; default espeak-ng's at its rate; None: it speaks a cue whole,
    as the tones do) and a
    ``synthesize_many(texts) -> {text: (audio, rate) | exception}`` method for engines that prefer a batch.
    """

    name: str
    voice: str
    rate: int  # words per minute

    def synthesize(self, text: str) -> tuple[np.ndarray, int]: ...


def check_rate(rate: int) -> int:
    """`rate` as an int; ValueError unless it is a positive number of words per minute."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"speech rate must be a positive number of words per minute, not {rate!r}")
    return int(rate)


def describe(exc: BaseException) -> str:
    """How a failure is named in a warning: a SpeechError's own message, else ``Type: message``."""
    text = str(exc)
    return text if isinstance(exc, SpeechError) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


def as_mono(audio: npt.ArrayLike) -> np.ndarray:
    """:func:`cadencecoach.core.dsp.as_mono` for engine output: an unusable shape is a :class:`SpeechError`."""
    try:
        return dsp.as_mono(audio)
    except ValueError as exc:
        raise SpeechError(str(exc)) from None


def read_wav(source: str | Path | io.BytesIO) -> tuple[np.ndarray, int]:
    """A WAV file (or its bytes) as mono float32 audio and its sample rate."""
    data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    return as_mono(data), int(rate)
