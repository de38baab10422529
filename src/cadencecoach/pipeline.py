"""From a workout argument to a ready renderer: the steps shared by ``plan``, ``render`` and ``run``.

load (with --pace/--trial) -> synthesize every cue before any audio (cached) -> compile -> renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import COUNTDOWN_MAX_S, CompileOptions, Timeline, compile_workout, cue_texts
from cadencecoach.errors import UsageError
from cadencecoach.workout.library import resolve
from cadencecoach.workout.loader import load_workout
from cadencecoach.workout.model import Workout

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


def load(
    arg: str,
    paces: list[str] | None = None,
    trial: str | None = None,
    *,
    use_history: bool = True,
    open_step: str | None = None,
    require_open_length: bool = False,
    warn: Warn | None = None,
) -> Workout:
    """`open_step` (``--open-step``) gives open steps ("press lap", imported) a length; with
    `require_open_length` (plan, render) an open step without one is an error. `warn` gets the import warnings
    of a ``.txt``/``.zwo`` workout (default: stderr)."""
    ref = resolve(arg)
    display = arg if ref.origin == "path" else str(ref.path)
    # history: a workout that names derived paces and gives no trial uses the latest recorded trial, and says so
    found: list[Any] = []  # the history lookup, made only when a derived pace needs a trial

    def from_history() -> str | None:
        from cadencecoach.history.trials import DefaultTrial

        found.append(DefaultTrial())
        return found[0]()

    default = from_history if use_history and not trial else None
    from cadencecoach.workout import formats  # intervals.icu .txt and Zwift .zwo workouts (formats/, docs/FORMATS.md)

    if formats.is_import(ref.path):
        imported = formats.import_workout(
            ref.path,
            display=display,
            pace_overrides=parse_pace_options(paces),
            trial_override=trial,
            default_trial=default,
        )
        for message in imported.warnings:
            (warn or _warn_stderr)(message)
        workout = imported.workout
    else:
        workout = load_workout(
            ref.path,
            display=display,
            pace_overrides=parse_pace_options(paces),
            trial_override=trial,
            default_trial=default,
        )
    if found and workout.trial_source == "history":
        found[0].announce()
    return formats.with_open_length(workout, open_step, require=require_open_length)


def _warn_stderr(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr, flush=True)


def speech_for(
    texts: set[str] | list[str], sample_rate: int, voice: VoiceSettings, warn: Warn | None
) -> dict[str, np.ndarray]:
    """Synthesize (or load from the cache) every cue text at `sample_rate`; countdown words fit in 0.9 s."""
    if not texts:
        return {}
    from cadencecoach import speech

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
    from cadencecoach.core.sounds import load_bank

    try:
        bank = load_bank(audio.sound, timeline.sample_rate)
    except ValueError as exc:
        raise UsageError(f"--sound: {exc}") from None
    return BlockRenderer(timeline, bank, volume=audio.volume, voice_level=audio.voice.level, pre_roll=pre_roll)
