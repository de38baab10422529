"""From a workout argument to a ready renderer: the steps shared by ``plan``, ``render`` and ``run``.

load (with --pace/--trial) -> synthesize every cue before any audio (cached) -> compile -> renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import UsageError
from .loader import load_workout
from .model import Workout
from .renderer import BlockRenderer
from .timeline import COUNTDOWN_MAX_S, CompileOptions, Timeline, compile_workout, cue_texts
from .workouts import resolve

Warn = Callable[[str], None]


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "espeak"
    voice: str | None = None
    rate: int = 175
    level: float = 1.0  # speech volume relative to the click


@dataclass(frozen=True)
class AudioSettings:
    sample_rate: int = 44100
    sound: str = "woodblock"
    volume: float = 1.0
    voice: VoiceSettings = field(default_factory=VoiceSettings)


def parse_pace_options(values: list[str] | None) -> dict[str, str]:
    """``--pace NAME=VALUE`` (repeatable) to a dict."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--pace {item}: write it as NAME=VALUE, like --pace mile=5:45/mi")
        out[name.strip()] = value.strip()
    return out


def load(arg: str, paces: list[str] | None = None, trial: str | None = None) -> Workout:
    ref = resolve(arg)
    display = arg if ref.origin == "path" else str(ref.path)
    return load_workout(ref.path, display=display, pace_overrides=parse_pace_options(paces), trial_override=trial)


def speech_for(
    texts: set[str] | list[str], sample_rate: int, voice: VoiceSettings, warn: Warn | None
) -> dict[str, np.ndarray]:
    """Synthesize (or load from the cache) every cue text at `sample_rate`; countdown words fit in 0.9 s."""
    if not texts:
        return {}
    from . import speech

    try:
        engine = speech.make_engine(voice.engine, voice.voice, voice.rate)
    except ValueError as exc:
        raise UsageError(f"--voice-engine: {exc}") from None
    audio = speech.synthesize_cues(sorted(texts), sample_rate, engine, warn=warn)
    for word in ("3", "2", "1"):
        if word in audio:
            audio[word] = speech.fit_duration(audio[word], sample_rate, COUNTDOWN_MAX_S)
    return audio


def compile_with_speech(
    workout: Workout, options: CompileOptions, audio: AudioSettings, warn: Warn | None
) -> tuple[Timeline, Mapping[str, np.ndarray]]:
    texts = cue_texts(workout, options)
    speech = speech_for(texts, audio.sample_rate, audio.voice, warn)
    return compile_workout(workout, audio.sample_rate, speech, options), speech


def make_renderer(timeline: Timeline, audio: AudioSettings, pre_roll: np.ndarray | None = None) -> BlockRenderer:
    from .sounds import load_bank

    try:
        bank = load_bank(audio.sound, timeline.sample_rate)
    except ValueError as exc:
        raise UsageError(f"--sound: {exc}") from None
    return BlockRenderer(timeline, bank, volume=audio.volume, voice_level=audio.voice.level, pre_roll=pre_roll)
