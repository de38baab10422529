"""The four speech engines, and choosing one: :func:`make_engine`, :func:`default_engine`, :func:`fallback_chain`.

The default (``auto``) is the best voice installed: piper when the ``voice`` extra is there (the README's
set-up installs it), else espeak-ng with the locale's English voice (:func:`~.base.locale_voice`).

Engines (all implement :class:`~cadencecoach.speech.engines.base.SpeechEngine`; one module each):

``espeak`` (:class:`Pyttsx3Engine`, :mod:`.espeak`)
    pyttsx3 with its espeak-ng driver (libespeak-ng through ctypes).
``piper`` (:class:`PiperEngine`, :mod:`.piper`, the optional ``voice`` extra; the default when installed)
    A natural neural voice, offline (piper-tts on onnxruntime, the voice model inside a Python package).
``espeak-cli`` (:class:`EspeakCliEngine`, :mod:`.espeak_cli`)
    ``espeak-ng --stdout``; used when pyttsx3 does not work.
``tones`` (:class:`ToneEngine`, :mod:`.tones`)
    Distinct, deterministic beeps and chimes; used when no text-to-speech engine works.

Creating an engine never imports or initialises a speech library.
"""

from __future__ import annotations

import difflib

from cadencecoach.speech.engines.base import (
    DEFAULT_RATE,
    DEFAULT_VOICE,
    EmptySpeechError,
    SpeechEngine,
    SpeechError,
)
from cadencecoach.speech.engines.espeak import Pyttsx3Engine
from cadencecoach.speech.engines.espeak_cli import EspeakCliEngine
from cadencecoach.speech.engines.piper import (
    PIPER_DEFAULT_VOICE,
    PIPER_RATE_AT_UNIT_LENGTH,
    PIPER_SENTENCE_GAP_S,
    PIPER_VOICES,
    MissingExtraError,
    PiperEngine,
    piper_voice_names,
)
from cadencecoach.speech.engines.tones import ToneEngine

__all__ = [
    "AUTO",
    "DEFAULT_RATE",
    "DEFAULT_VOICE",
    "ENGINE_NAMES",
    "PIPER_DEFAULT_VOICE",
    "PIPER_RATE_AT_UNIT_LENGTH",
    "PIPER_SENTENCE_GAP_S",
    "PIPER_VOICES",
    "EmptySpeechError",
    "EspeakCliEngine",
    "MissingExtraError",
    "PiperEngine",
    "Pyttsx3Engine",
    "SpeechEngine",
    "SpeechError",
    "ToneEngine",
    "default_engine",
    "describe_engine",
    "fallback_chain",
    "make_engine",
    "piper_voice_names",
]

AUTO = "auto"
ENGINE_NAMES: tuple[str, ...] = (AUTO, "espeak", "piper", "espeak-cli", "tones")
"""Names accepted by :func:`make_engine`; the first, ``auto``, is the default (:func:`default_engine`)."""

_ENGINE_CLASSES: dict[str, type[Pyttsx3Engine] | type[PiperEngine] | type[EspeakCliEngine] | type[ToneEngine]] = {
    "espeak": Pyttsx3Engine,
    "piper": PiperEngine,
    "espeak-cli": EspeakCliEngine,
    "tones": ToneEngine,
}


def make_engine(name: str, voice: str | None = None, rate: int = DEFAULT_RATE) -> SpeechEngine:
    """The engine called `name`, speaking with `voice` at `rate` words per minute.

    Creating an engine never imports or initialises a speech library.

    Parameters
    ----------
    name
        One of :data:`ENGINE_NAMES` (case and surrounding blanks do not matter).
    voice
        The engine's voice name (None or ``"default"``: its default voice).
    rate
        Speaking rate in words per minute.

    Returns
    -------
    SpeechEngine

    Raises
    ------
    ValueError
        For an unknown engine (naming the closest one), voice or a rate that is not positive.
    MissingExtraError
        (a ValueError) for ``piper`` without the ``voice`` extra.

    Examples
    --------
    >>> make_engine("Tones")
    ToneEngine()
    >>> make_engine("espak")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown speech engine 'espak'; did you mean 'espeak'? (available: auto, espeak, piper, ...)
    """
    key = name.strip().lower()
    if key == AUTO:
        return default_engine(voice, rate)
    cls = _ENGINE_CLASSES.get(key)
    if cls is None:
        message = f"unknown speech engine {name!r}"
        close = difflib.get_close_matches(key, ENGINE_NAMES, n=1, cutoff=0.5)
        if close:
            message += f"; did you mean {close[0]!r}?"
        raise ValueError(f"{message} (available: {', '.join(ENGINE_NAMES)})")
    return cls(voice, rate)


def default_engine(voice: str | None = None, rate: int = DEFAULT_RATE) -> SpeechEngine:
    """The best engine installed (``--voice-engine auto``): piper when the voice extra is installed, else
    pyttsx3/espeak-ng in the locale's English voice; both fall back as in :func:`fallback_chain`.

    A `voice` that is not a piper voice (``en-us``, ``en-gb-scotland``) chooses espeak-ng with it. Nothing is
    imported: whether piper is installed is read from the package metadata.
    """
    is_piper_voice = voice is None or voice == DEFAULT_VOICE or voice in PIPER_VOICES or voice.endswith(".onnx")
    if is_piper_voice:
        try:
            return PiperEngine(voice, rate)
        except MissingExtraError:
            pass
    return Pyttsx3Engine(None if is_piper_voice else voice, rate)


def describe_engine(engine: SpeechEngine) -> str:
    """How ``run`` and ``render`` name the voice: ``piper (en_US-joe-medium)``, ``espeak (en-us)``."""
    return f"{engine.name} ({engine.voice})"


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
