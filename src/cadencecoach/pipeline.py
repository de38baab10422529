"""The one path from a workout argument to sound: load -> speak -> compile -> renderer (+ lead-in).

``plan``, ``render``, ``run`` and ``track`` all go through here, so what ``plan`` shows is what ``render``
writes and what ``run`` plays:

1. :func:`load` -- a workout name or path (YAML, or an intervals.icu ``.txt`` / Zwift ``.zwo`` / FIT ``.fit``
   import) to a checked :class:`~cadencecoach.workout.model.Workout`, with ``--pace`` / ``--trial`` (and the
   latest recorded trial when a derived pace needs one) and ``--open-step``. This is the layer that knows those
   options: the workout package raises plain ``ValueError`` subclasses for a bad value, and they are named here.
2. :func:`speech_for` -- every cue text synthesized (or read from the cache) before any audio starts, within the
   speech budget (:mod:`cadencecoach.speech.budget`: at most 1,000 distinct texts and 20 minutes of speech, in
   the order :func:`speech_plan` gives; the rest are silent, with one warning naming the step).
3. :func:`compile_with_speech` -- the workout compiled to a :class:`~cadencecoach.core.timeline.Timeline`.
4. :func:`make_renderer` -- the timeline and the click bank to a
   :class:`~cadencecoach.core.renderer.BlockRenderer`, with an optional lead-in (``pre_roll``) before it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cadencecoach.core import cues as cue_text
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import (
    COUNTDOWN_MAX_S,
    CompileOptions,
    CueSpeech,
    Timeline,
    compile_workout,
    first_cues,
)
from cadencecoach.errors import Problem, UsageError, WorkoutError
from cadencecoach.errors import warn as warn_stderr
from cadencecoach.workout import formats
from cadencecoach.workout.formats import OpenStepTooLong
from cadencecoach.workout.library import resolve
from cadencecoach.workout.loader import load_workout
from cadencecoach.workout.model import FlatStep, Workout
from cadencecoach.workout.paces import LoadOptions, PaceOverrideError, TrialError
from cadencecoach.workout.units import parse_extent

if TYPE_CHECKING:
    from cadencecoach.history.trials import DefaultTrial
    from cadencecoach.speech.budget import Admitted

Warn = Callable[[str], None]


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "auto"
    voice: str | None = None
    rate: int = 175
    level: float = 1.0  # speech volume relative to the click


@dataclass(frozen=True)
class AudioSettings:
    sample_rate: int = 44100
    sound: str = "woodblock"
    volume: float = 1.0
    voice: VoiceSettings = field(default_factory=VoiceSettings)


# ------------------------------------------------------------------------------------------------ 1. load


def parse_pace_options(values: list[str] | None) -> dict[str, str]:
    """``--pace NAME=VALUE`` (repeatable) to a dict."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--pace {item}: write it as NAME=VALUE, like --pace mile=5:45/mi")
        out[name.strip()] = value.strip()
    return out


def parse_open_length(text: str) -> Fraction:
    """``--open-step 60s`` / ``2min`` / ``1:30``: a time, as seconds (UsageError naming the option if not)."""
    try:
        extent = parse_extent(text)
    except ValueError as exc:
        raise UsageError(f"--open-step {text}: {exc}") from None
    if not extent.is_time:
        raise UsageError(f"--open-step {text}: give a time, like --open-step 60s or --open-step 2min")
    return extent.value


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
    """A workout argument (a shipped or user workout's name, or a path) to a checked workout.

    Parameters
    ----------
    arg
        ``tabata``, ``workouts/tempo.yaml``, ``club.zwo``, ``hills.txt``, ...
    paces
        ``--pace NAME=VALUE`` values; they win over the workout's own paces.
    trial
        ``--trial``: a time trial (``"5k 20:00"``) that replaces the workout's ``trial:``.
    use_history
        With no `trial`, a workout that names derived paces and gives no trial uses the latest recorded trial
        (looked up only then), and says so on stderr.
    open_step
        ``--open-step``: the length of open steps ("press lap", imported) that have none.
    require_open_length
        ``plan``, ``render``, YAML output: an open step still without a length is an error.
    warn
        Gets the import warnings of a ``.txt``/``.zwo``/``.fit`` workout (default: ``warning: ...`` on stderr).

    Returns
    -------
    Workout

    Raises
    ------
    WorkoutError
        Every problem of the workout (``FILE:LINE:COL: message``), or no such workout.
    UsageError
        A bad ``--pace``, ``--trial`` or ``--open-step`` value, named as given.

    Examples
    --------
    >>> w = load("tabata", use_history=False)
    >>> w.name, w.total_steps, float(w.total_duration)
    ('Tabata intervals', 18, 1740.0)
    """
    ref = resolve(arg)
    display = arg if ref.origin == "path" else str(ref.path)
    found: list[DefaultTrial] = []  # the history lookup, made only when a derived pace needs a trial

    def from_history() -> str | None:
        from cadencecoach.history.trials import DefaultTrial

        found.append(DefaultTrial())
        return found[0]()

    options = LoadOptions(
        pace_overrides=parse_pace_options(paces),
        trial_override=trial,
        default_trial=from_history if use_history and not trial else None,
    )
    workout = _load_file(ref.path, display, options, warn or warn_stderr)
    if found and workout.trial_source == "history":
        found[0].announce()
    return _open_steps(workout, open_step, require=require_open_length)


def _load_file(path: Path, display: str, options: LoadOptions, warn: Warn) -> Workout:
    """The YAML loader or the importer for `path`; a bad override value is named as its option."""
    try:
        if not formats.is_import(path):
            return load_workout(path, options, display=display)
        imported = formats.import_workout(path, options, display=display)
    except PaceOverrideError as exc:
        raise UsageError(f"--pace {exc.name}={exc.value}: {exc.reason}") from None
    except TrialError as exc:
        raise UsageError(f"--trial: {exc}") from None
    for message in imported.warnings:
        warn(message)
    return imported.workout


def _open_steps(workout: Workout, open_step: str | None, *, require: bool) -> Workout:
    """``--open-step`` given to the open steps that have no length; with `require`, none may be left without."""
    seconds = parse_open_length(open_step) if open_step is not None else None  # a bad value is an error either way
    try:
        workout = formats.with_open_length(workout, seconds)
    except OpenStepTooLong as exc:
        raise UsageError(f"--open-step {open_step}: {exc}") from None
    if require:
        missing = [s for s in formats.open_steps(workout) if s.duration <= 0]
        if missing:
            raise WorkoutError(
                [
                    Problem(
                        workout.source,
                        max(s.line, 1),
                        max(s.col, 1),
                        f"'{s.label}' is an open step ('press lap': the lap key ends it in `run`) with no length; "
                        "give it one with --open-step DURATION, e.g. --open-step 60s",
                    )
                    for s in missing
                ]
            )
    return workout


# ------------------------------------------------------------------------------- 2. speak, 3. compile, 4. render


def speech_plan(workout: Workout, options: CompileOptions, lead_in: Iterable[str] = ()) -> dict[str, FlatStep | None]:
    """Every text a run of `workout` speaks, in the order it needs them, with the step that speaks it first
    (None: before the first step, the spoken lead-in of `run`).

    The order is what the speech budget keeps first (:func:`speech_for`): the lead-in, then the words every
    workout shares (the countdown, "Workout complete."), then each step's cues as the workout goes.
    """
    firsts = first_cues(workout, options)
    out: dict[str, FlatStep | None] = dict.fromkeys(lead_in)
    for text in (*cue_text.COUNTDOWN_WORDS, cue_text.FINISH_TEXT):
        if text in firsts:
            out.setdefault(text, firsts[text])
    for text, flat in firsts.items():
        out.setdefault(text, flat)
    return out


def speech_for(
    texts: Mapping[str, FlatStep | None] | set[str] | list[str],
    sample_rate: int,
    voice: VoiceSettings,
    warn: Warn | None,
    *,
    tell: Warn | None = None,
) -> CueSpeech:
    """Synthesize (or load from the cache) every cue text at `sample_rate`, sentence by sentence, with the spans
    of its key words (:func:`cadencecoach.speech.speak_cues`); countdown words fit in 0.9 s.

    At most :data:`~cadencecoach.speech.budget.MAX_CUE_TEXTS` distinct texts and
    :data:`~cadencecoach.speech.budget.MAX_SPEECH_S` seconds of speech are synthesized, decided before any
    synthesis: `texts` in the order given (:func:`speech_plan`; a set is taken in sorted order) until a limit
    would be passed. The texts after it get no audio (their cues are silent: timing and clicks unchanged) and
    one warning names the first step whose new cues are not spoken.

    `tell` (``run``, ``render``) gets the line naming the voice asked for (``voice: piper
    (en_US-joe-medium)``; a fallback voice has its own warning); a cold synthesis shows a progress bar on stderr
    when it is a terminal.
    """
    if not texts:
        return CueSpeech()
    from cadencecoach import speech
    from cadencecoach.speech.budget import admit, rate_of

    ordered: Mapping[str, FlatStep | None] = (
        texts if isinstance(texts, Mapping) else dict.fromkeys(sorted(texts) if isinstance(texts, set) else texts)
    )
    try:
        engine = speech.make_engine(voice.engine, voice.voice, voice.rate)
    except ValueError as exc:
        raise UsageError(f"--voice-engine: {exc}") from None
    admitted = admit(ordered, rate_of(engine))
    if admitted.cut is not None:
        (warn or warn_stderr)(_budget_warning(admitted, ordered.get(admitted.cut)))
    with _speaking_progress(engine.name) as progress:
        audio = speech.speak_cues(admitted.texts, sample_rate, engine, warn=warn, progress=progress)
    if tell is not None:  # after the synthesis: an extra that does not work is one error line, not two
        tell(f"voice: {speech.describe_engine(engine)}")
    for word in ("3", "2", "1"):
        if word in audio:
            audio[word] = speech.fit_duration(audio[word], sample_rate, COUNTDOWN_MAX_S)
    return audio


@contextmanager
def _speaking_progress(engine: str) -> Iterator[Callable[[int, int], None] | None]:
    """A transient progress bar on stderr for the cue phrases not in the cache (when stderr is a terminal):
    a cold piper start takes seconds; a warm one draws nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    bar: Any = None
    task: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from cadencecoach.terminal import console

            bar = Progress(
                TextColumn(f"[bold]speaking[/] new phrases ({engine})"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console(stderr=True),
                transient=True,
            )
            bar.start()
            task = bar.add_task("", total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _budget_warning(admitted: Admitted, flat: FlatStep | None) -> str:
    """``too much speech ...: new cues from step 2,001 ('Run', 1,001 of 40,000) on are silent``."""
    from cadencecoach.speech.budget import MAX_CUE_TEXTS, MAX_SPEECH_S

    if flat is not None:
        rep = f", {flat.rep[0]:,} of {flat.rep[1]:,}" if flat.rep else ""
        where = f"new cues from step {flat.index + 1:,} ('{flat.step.label}'{rep}) on"
    else:
        where = f"new cues from '{admitted.cut}' on"
    return (
        f"this workout asks for {admitted.asked:,} different cue texts, about {admitted.asked_s / 60:,.0f} min "
        f"of speech; cadencecoach speaks at most {MAX_CUE_TEXTS:,} texts or {MAX_SPEECH_S / 60:.0f} min: "
        f"{where} are silent (timing and clicks unchanged)"
    )


def compile_with_speech(
    workout: Workout, options: CompileOptions, audio: AudioSettings, warn: Warn | None, *, tell: Warn | None = None
) -> tuple[Timeline, Mapping[str, np.ndarray]]:
    speech = speech_for(speech_plan(workout, options), audio.sample_rate, audio.voice, warn, tell=tell)
    return compile_workout(workout, audio.sample_rate, speech, options), speech


def make_renderer(timeline: Timeline, audio: AudioSettings, pre_roll: np.ndarray | None = None) -> BlockRenderer:
    from cadencecoach.sounds import load_bank

    try:
        bank = load_bank(audio.sound, timeline.sample_rate)
    except ValueError as exc:
        raise UsageError(f"--sound: {exc}") from None
    return BlockRenderer(timeline, bank, volume=audio.volume, voice_level=audio.voice.level, pre_roll=pre_roll)
