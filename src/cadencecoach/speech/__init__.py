"""Spoken cues: text-to-speech engines, a tone fallback and an on-disk cache of rendered cue audio.

:func:`synthesize_cues` turns cue texts into float32 mono arrays at the output rate, trimmed of leading and
trailing silence and peak-normalised to :data:`CUE_PEAK`. Rendered cues are cached on disk (one file per
cue, keyed by engine name, voice, rate and text) at the engine's native rate, so a warm start neither
imports nor initialises a speech engine.

The package:

:mod:`.engines`
    One module per engine (``espeak`` = pyttsx3, ``piper``, ``espeak-cli``, ``tones``), the
    :class:`SpeechEngine` protocol and errors (:mod:`.engines.base`), and :func:`make_engine` /
    :func:`fallback_chain`.
:mod:`.cache`
    The cache: its folder, keys and entry format (reading, writing, versioning).
:mod:`.synthesize`
    :func:`synthesize_cues`: cache, engines, fallbacks, warn-once state (:data:`WARN_ONCE`);
    :func:`speak_cues`: cues spoken sentence by sentence, with the spans of their key words.

The sample-level helpers (:func:`trim_silence`, :func:`fit_duration`, :func:`time_stretch`) are
:mod:`cadencecoach.core.dsp`'s, re-exported here.
"""

from __future__ import annotations

from cadencecoach.core.dsp import TRIM_MARGIN_S, TRIM_THRESHOLD_DB, fit_duration, time_stretch, trim_silence
from cadencecoach.speech.cache import cache_key, speech_cache_dir
from cadencecoach.speech.engines import (
    AUTO,
    DEFAULT_RATE,
    DEFAULT_VOICE,
    ENGINE_NAMES,
    PIPER_DEFAULT_VOICE,
    PIPER_RATE_AT_UNIT_LENGTH,
    PIPER_SENTENCE_GAP_S,
    PIPER_VOICES,
    EmptySpeechError,
    EspeakCliEngine,
    MissingExtraError,
    PiperEngine,
    Pyttsx3Engine,
    SpeechEngine,
    SpeechError,
    ToneEngine,
    default_engine,
    describe_engine,
    fallback_chain,
    make_engine,
    piper_voice_names,
)
from cadencecoach.speech.synthesize import CUE_PEAK, WARN_ONCE, speak_cues, synthesize_cues

__all__ = [
    "AUTO",
    "CUE_PEAK",
    "DEFAULT_RATE",
    "DEFAULT_VOICE",
    "ENGINE_NAMES",
    "PIPER_DEFAULT_VOICE",
    "PIPER_RATE_AT_UNIT_LENGTH",
    "PIPER_SENTENCE_GAP_S",
    "PIPER_VOICES",
    "TRIM_MARGIN_S",
    "TRIM_THRESHOLD_DB",
    "WARN_ONCE",
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
    "describe_engine",
    "fallback_chain",
    "fit_duration",
    "make_engine",
    "piper_voice_names",
    "speak_cues",
    "speech_cache_dir",
    "synthesize_cues",
    "time_stretch",
    "trim_silence",
]
