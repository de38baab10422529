"""Compile a workout into a sample-accurate timeline: step boundaries, clicks and spoken cues.

The rules are those of ``shared/spec/workout-format.md`` ("Timing rules"):

* step boundaries are exact sums of durations (Fractions), in samples ``round(start_s * sample_rate)``;
* in a run of consecutive clicking steps the beat phase is the integral of cadence/60; a click sounds where
  the phase reaches a whole number; the phase restarts at 0 (a click on the boundary) at the start and
  wherever clicking resumes after a silent step. A ramp ``a-b`` over T has tempo ``a + (b-a) t/T``;
* default cues (announcement, say, preview, halfway, countdown, finish) never overlap: the lower-priority
  one is dropped (countdown > announcement > preview > halfway) and a warning says so.

A timeline is built from *segments* (a step, or the part of a step after a live change of cadence or a
skip), so the live player can recompile the future from any sample with the same code.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from cadencecoach.core import cues as cue_text
from cadencecoach.workout.model import FlatStep, Workout, expand, heart_rate_text

Audio = npt.NDArray[np.float32]
"""Mono float32 samples: cue audio, click sounds, rendered blocks."""
Onsets = npt.NDArray[np.int64]
"""Sample positions (click onsets), ascending."""
Variants = npt.NDArray[np.uint8]
"""Click variant ids (see :data:`REGULAR` ... :data:`EXHALE`)."""

# Click variants (index into the sound bank): see sounds.VARIANTS
REGULAR, ACCENT, INHALE, EXHALE = 0, 1, 2, 3

PRIORITY = {"countdown": 6, "finish": 6, "announce": 5, "say": 4, "custom": 3, "preview": 2, "halfway": 1}
SAY_GAP_S = Fraction(1, 4)  # pause between the announcement and the step's `say` text
COUNTDOWN_MAX_S = 0.9  # a countdown word is over before the next one (and the boundary) starts
TAIL_S = Fraction(1, 2)  # audio after the last event, so the last click and cue ring out


@dataclass(frozen=True)
class CompileOptions:
    """What the command line adds to a workout."""

    voice_mode: str | None = None  # override the workout's voice mode: "full", "minimal", "off"
    click: bool = True  # False: no clicks at all (--no-click)
    accent: int = 0  # accent every N-th click of a clicking run (0: none)
    breathing: tuple[int, int] | None = None  # breathing for every step that sets none


@dataclass(frozen=True)
class Segment:
    """A stretch of one step with constant settings. A step is one segment unless a live change split it."""

    flat: FlatStep
    start: Fraction  # seconds
    end: Fraction
    cadence: tuple[Fraction, Fraction]  # tempo at `start` and at `end`
    click: bool
    first: bool = True  # the step's first segment (it carries the announcement)
    take: int = 0  # 0 as planned; n: the n-th replay of the step (``p``: back to the start of a step)

    def same_step(self, other: Segment) -> bool:
        """Both belong to one playing of one step (a replayed step is a new step on the timeline)."""
        return self.flat.index == other.flat.index and self.take == other.take


@dataclass(frozen=True)
class TimedStep:
    index: int
    kind: str
    label: str
    rep: tuple[int, int] | None
    start_s: Fraction
    end_s: Fraction
    start: int  # samples
    end: int
    cadence_start: Fraction
    cadence_end: Fraction
    click: bool
    distance_m: float | None
    pace_s_per_km: float | None
    effort: str | None
    pace_name: str | None
    incline: Fraction | None = None  # percent grade (shown by `plan`; not in plan --json, the contract's)
    heart_rate: str | None = None  # the target as written (``Z2``, ``140-150bpm``), shown by `plan`


KeySpans = tuple[tuple[int, int], ...]


class CueSpeech(dict[str, Audio]):
    """Cue audio by text, and where each cue's key words sound (:attr:`key_spans`).

    ``key_spans[text]`` lists ``(start, end)`` sample spans within that text's audio (the rep number of an
    announcement: :func:`cadencecoach.core.cues.is_key_sentence`); :mod:`cadencecoach.speech` fills both
    when it joins a cue from its sentences. A plain mapping of text to audio works everywhere too (no key
    spans; countdown words are key words whole anyway).
    """

    def __init__(self, audio: Mapping[str, Audio] | None = None, key_spans: Mapping[str, KeySpans] | None = None):
        super().__init__(audio or {})
        self.key_spans: dict[str, KeySpans] = dict(key_spans or {})


@dataclass
class Cue:
    at: int  # first sample
    kind: str
    text: str
    length: int  # samples
    step_index: int
    audio: Audio | None = None
    # where the cue's key words sound, (start, end) in samples from `at`: clicks give way there (renderer)
    key_spans: tuple[tuple[int, int], ...] = ()
    # (audio it was made from, level, scaled audio, its peak): the last scaled_audio() result
    _scaled: tuple[Audio, float, Audio, float] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def end(self) -> int:
        return self.at + self.length

    def scaled_audio(self, level: float) -> tuple[Audio, float]:
        """The cue's audio times `level` (float32, read-only) and its peak; ``(empty, 0.0)`` without audio.

        Computed once per cue and level and kept with the cue, so the renderers the live player builds for
        every change share it instead of copying and scaling all cue audio again."""
        audio = self.audio
        if audio is None:
            return np.zeros(0, np.float32), 0.0
        cached = self._scaled
        if cached is not None and cached[0] is audio and cached[1] == level:
            return cached[2], cached[3]
        source = np.ascontiguousarray(audio, dtype=np.float32)
        scaled = source * np.float32(level)
        scaled.flags.writeable = False
        peak = float(np.abs(scaled).max()) if len(scaled) else 0.0
        self._scaled = (audio, level, scaled, peak)
        return scaled, peak


@dataclass
class Timeline:
    name: str
    sample_rate: int
    steps: list[TimedStep]
    segments: list[Segment]
    clicks: Onsets  # int64 onsets, ascending
    click_variant: Variants  # uint8 click variant ids (sounds.VARIANTS)
    cues: list[Cue]
    warnings: list[str]
    end: int  # sample where the last step ends
    length: int  # samples to render: the end plus the finish cue and a short tail
    duration_s: Fraction = Fraction(0)
    options: CompileOptions = field(default_factory=CompileOptions)

    def step_at(self, sample: int) -> TimedStep | None:
        """The step playing at `sample` (None before the start and after the end)."""
        if sample < 0 or sample >= self.end or not self.steps:
            return None
        i = bisect.bisect_right(self.steps, sample, key=lambda s: s.start) - 1
        return self.steps[max(i, 0)]

    def to_json(self) -> dict[str, object]:
        """The ``plan --json`` object (see shared/spec/cli.md)."""
        sr = self.sample_rate
        return {
            "name": self.name,
            "sample_rate": sr,
            "duration_s": _seconds(self.duration_s),
            "steps": [
                {
                    "index": s.index,
                    "kind": s.kind,
                    "label": s.label,
                    "rep": {"n": s.rep[0], "of": s.rep[1]} if s.rep else None,
                    "start_s": _seconds(s.start_s),
                    "end_s": _seconds(s.end_s),
                    "cadence_start": _num(s.cadence_start),
                    "cadence_end": _num(s.cadence_end),
                    "click": s.click,
                    "distance_m": s.distance_m,
                    "pace_s_per_km": s.pace_s_per_km,
                }
                for s in self.steps
            ],
            "clicks": [round(int(c) / sr, 6) for c in self.clicks],
            "cues": [
                {
                    "at_s": round(c.at / sr, 6),
                    "duration_s": round(c.length / sr, 6),
                    "kind": c.kind,
                    "text": c.text,
                }
                for c in self.cues
            ],
            "warnings": list(self.warnings),
        }


def _seconds(x: Fraction) -> float:
    """Times are floats in the JSON contract (exact sums, rounded to 9 decimals)."""
    return round(float(x), 9)


def _num(x: Fraction) -> int | float:
    if x.denominator == 1:
        return int(x) if abs(x) < 2**53 else float(x)
    return round(float(x), 9)


# ----------------------------------------------------------------------------------------- segments


def segments_for(workout: Workout, options: CompileOptions | None = None) -> list[Segment]:
    options = options or CompileOptions()
    out = []
    for flat in expand(workout):
        cadence = flat.step.cadence or workout.cadence
        out.append(Segment(flat, flat.start, flat.end, cadence, flat.step.click and options.click))
    return out


def cue_texts(workout: Workout, options: CompileOptions | None = None) -> set[str]:
    """Every text the compiled timeline may speak (to synthesize before playback)."""
    return set(first_cues(workout, options))


def first_cues(workout: Workout, options: CompileOptions | None = None) -> dict[str, FlatStep]:
    """Every text the compiled timeline may speak, with the step that speaks it first, in step order (the
    order a run needs them: the speech budget of :mod:`cadencecoach.pipeline` keeps the first ones).

    Examples
    --------
    >>> from cadencecoach.workout.loader import load_workout_text
    >>> w = load_workout_text("name: S\\nsteps:\\n  - repeat: 2\\n    steps:\\n      - run: 2s\\n", "w.yaml")
    >>> [(text, flat.index) for text, flat in first_cues(w).items()]
    [('Run. 1 of 2. 2 seconds.', 0), ('Run. 2 of 2. 2 seconds.', 1), ('Workout complete.', 1)]
    """
    options = options or CompileOptions()
    segs = segments_for(workout, options)
    flats = {seg.flat.index: seg.flat for seg in segs}
    out: dict[str, FlatStep] = {}
    for c in _candidates(segs, 48000, _voice_mode(workout, options)):
        out.setdefault(c.text, flats[c.step_index])
    return out


def _voice_mode(workout: Workout, options: CompileOptions) -> str:
    return options.voice_mode or workout.voice_mode


def compile_workout(
    workout: Workout,
    sample_rate: int,
    speech: Mapping[str, Audio] | None = None,
    options: CompileOptions | None = None,
) -> Timeline:
    """Compile `workout` into the sample-accurate timeline the renderer plays (see the module docstring).

    Parameters
    ----------
    workout : Workout
        A loaded workout (:func:`cadencecoach.workout.loader.load_workout_text` and friends).
    sample_rate : int
        Samples per second of the timeline (> 0).
    speech : mapping of str to float32 array, optional
        Audio at `sample_rate` for the cue texts (:func:`cue_texts` lists them). None: no audio, cue lengths
        are estimated from the text (:func:`estimate_seconds`), for timing only (``plan``).
    options : CompileOptions, optional
        What the command line adds: voice mode, clicks off, accents, breathing.

    Returns
    -------
    Timeline
        Steps, click onsets and variants, the cues kept and the warnings about cues dropped.

    Raises
    ------
    ValueError
        A sample rate that is not positive.

    Examples
    --------
    >>> from cadencecoach.workout.loader import load_workout_text
    >>> workout = load_workout_text("name: Strides\\nsteps:\\n  - run: 2s\\n    cadence: 180\\n", "w.yaml")
    >>> timeline = compile_workout(workout, 8000)
    >>> timeline.clicks.tolist()  # 180 spm: a click every 1/3 s, the first on the start
    [0, 2667, 5333, 8000, 10667, 13333]
    >>> [(cue.kind, cue.text) for cue in timeline.cues]
    [('announce', 'Run. 2 seconds.'), ('finish', 'Workout complete.')]
    >>> timeline.end, timeline.length  # the step ends at 2 s; the finish cue and a 0.5 s tail follow
    (16000, 31520)
    """
    options = options or CompileOptions()
    return compile_segments(
        workout.name, segments_for(workout, options), sample_rate, speech, options, _voice_mode(workout, options)
    )


def compile_segments(
    name: str,
    segments: Sequence[Segment],
    sample_rate: int,
    speech: Mapping[str, Audio] | None,
    options: CompileOptions,
    voice_mode: str = "full",
) -> Timeline:
    sr = int(sample_rate)
    if sr <= 0:
        raise ValueError("sample rate must be positive")
    total = segments[-1].end if segments else Fraction(0)
    end = _sample(total, sr)
    clicks, variants = _clicks(segments, sr, options)
    cues, warnings = _resolve(_candidates(segments, sr, voice_mode), sr, speech)
    last = max([end] + [c.end for c in cues])
    return Timeline(
        name=name,
        sample_rate=sr,
        steps=_timed_steps(segments, sr),
        segments=list(segments),
        clicks=clicks,
        click_variant=variants,
        cues=cues,
        warnings=warnings,
        end=end,
        length=last + _sample(TAIL_S, sr),
        duration_s=total,
        options=options,
    )


def _sample(t: Fraction, sr: int) -> int:
    """``round(t * sr)`` (half to even), in integers: no Fraction is built (a workout has ~10 samples to place per
    step, and the largest allowed has 200,000 steps)."""
    if not isinstance(t, Fraction):  # an int (exact anyway) or a float from a caller outside the timeline
        return round(t * sr)
    q, r = divmod(t.numerator * sr, t.denominator)
    twice = 2 * r
    if twice > t.denominator or (twice == t.denominator and q & 1):
        return q + 1
    return q


def _timed_steps(segments: Sequence[Segment], sr: int) -> list[TimedStep]:
    out: list[TimedStep] = []
    takes: list[tuple[int, int]] = []
    for seg in segments:
        flat = seg.flat
        if out and takes[-1] == (flat.index, seg.take):  # a later segment of a step split by a live change
            prev = out[-1]
            out[-1] = replace(prev, end_s=seg.end, end=_sample(seg.end, sr), cadence_end=seg.cadence[1])
            continue
        step = flat.step
        out.append(
            TimedStep(
                index=flat.index,
                kind=step.kind,
                label=step.label,
                rep=flat.rep,
                start_s=seg.start,
                end_s=seg.end,
                start=_sample(seg.start, sr),
                end=_sample(seg.end, sr),
                cadence_start=seg.cadence[0],
                cadence_end=seg.cadence[1],
                click=seg.click,
                distance_m=None if step.extent.is_time else float(step.extent.value),
                pace_s_per_km=step.pace.s_per_km if step.pace is not None else None,
                effort=step.effort,
                incline=step.incline,
                heart_rate=heart_rate_text(step.heart_rate) if step.heart_rate is not None else None,
                pace_name=step.pace_name if step.pace_spoken else None,
            )
        )
        takes.append((flat.index, seg.take))
    return out


# ------------------------------------------------------------------------------------------- clicks


def _clicks(segments: Sequence[Segment], sr: int, options: CompileOptions) -> tuple[Onsets, Variants]:
    onsets: list[Onsets] = []
    variants: list[Variants] = []
    phase = Fraction(0)
    clicking = False
    run_index = 0  # clicks so far in the current clicking run (for accents)
    step_index: tuple[int, int] = (-1, 0)
    step_clicks = 0  # clicks so far in the current step (for breathing)
    for si, seg in enumerate(segments):
        if not seg.click or seg.end <= seg.start:
            clicking = False
            continue
        if not clicking:
            phase, run_index, clicking = Fraction(0), 0, True
        if (seg.flat.index, seg.take) != step_index:
            step_index, step_clicks = (seg.flat.index, seg.take), 0
        a, b = seg.cadence
        span = seg.end - seg.start
        p1 = phase + (a + b) / 2 * span / 60
        k0, k1 = math.ceil(phase), math.ceil(p1)
        n = k1 - k0
        if n > 0:
            dk = np.arange(n, dtype=np.float64) + float(k0 - phase)  # phase still to go, in beats
            if a == b:
                t = dk * (60.0 / float(a))
            else:
                q = 60.0 * dk
                fa, fb, ft = float(a), float(b), float(span)
                t = 2.0 * q / (fa + np.sqrt(fa * fa + 2.0 * (fb - fa) * q / ft))
            # round((start + t) * sr) with the segment start taken exactly, so a click on a boundary rounds
            # like the boundary itself (half to even) even when start * sr ends in exactly .5
            base = seg.start * sr
            whole = math.floor(base)
            on = np.rint(float(whole) + (float(base - whole) + t * sr)).astype(np.int64)
            vo = _variants(n, run_index, step_clicks, seg, options)
            nxt = segments[si + 1] if si + 1 < len(segments) else None
            if nxt is None or not nxt.click or nxt.end <= nxt.start:
                # a beat less than half a sample before silence would round onto the silent step's first sample
                inside = on < _sample(seg.end, sr)
                on, vo = on[inside], vo[inside]
            onsets.append(on)
            variants.append(vo)
            run_index += n
            step_clicks += n
        phase = p1
    if not onsets:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8)
    return np.concatenate(onsets), np.concatenate(variants)


def _variants(n: int, run_index: int, step_index: int, seg: Segment, options: CompileOptions) -> Variants:
    v = np.full(n, REGULAR, np.uint8)
    if options.accent > 0:
        v[(np.arange(run_index, run_index + n) % options.accent) == 0] = ACCENT
    breathing = seg.flat.step.breathing or options.breathing
    if breathing:
        inhale, exhale = breathing
        pos = np.arange(step_index, step_index + n) % (inhale + exhale)
        v[pos == 0] = INHALE
        v[pos == inhale] = EXHALE
    return v


# --------------------------------------------------------------------------------------------- cues


@dataclass(frozen=True)
class _Candidate:
    at: int
    kind: str
    text: str
    step_index: int
    max_s: float | None = None  # countdown words are cut to fit


def _candidates(segments: Sequence[Segment], sr: int, voice_mode: str) -> list[_Candidate]:
    if voice_mode == "off" or not segments:
        return []
    full = voice_mode == "full"
    out: list[_Candidate] = []
    # the logical steps: first segment for the start and the announcement, last for the end
    steps: list[tuple[Segment, Fraction]] = []
    for seg in segments:
        if steps and steps[-1][0].same_step(seg):
            steps[-1] = (steps[-1][0], seg.end)
        else:
            steps.append((seg, seg.end))
    for i, (seg, end) in enumerate(steps):
        flat = seg.flat
        start = seg.start
        dur = end - start
        if seg.first:
            out.append(_Candidate(_sample(start, sr), "announce", cue_text.announcement(flat), flat.index))
            if full and flat.step.say:
                out.append(_Candidate(_sample(start, sr), "say", flat.step.say, flat.index))
            if full:  # timed cues of imported workouts (Zwift textevents, intervals.icu `33^text`)
                for offset, text in flat.step.cues:
                    if 0 <= offset < dur:
                        out.append(_Candidate(_sample(start + offset, sr), "custom", text, flat.index))
        if full and dur >= 30 and i + 1 < len(steps):
            out.append(_Candidate(_sample(end - 10, sr), "preview", cue_text.preview(steps[i + 1][0].flat), flat.index))
        if full and dur >= 120 and not flat.step.untimed:  # (half of a length nobody wrote: nothing to say)
            out.append(_Candidate(_sample((start + end) / 2, sr), "halfway", cue_text.halfway(dur / 2), flat.index))
        if dur >= 5:
            for k, word in zip((3, 2, 1), cue_text.COUNTDOWN_WORDS, strict=True):
                out.append(_Candidate(_sample(end - k, sr), "countdown", word, flat.index, COUNTDOWN_MAX_S))
    if full:
        out.append(_Candidate(_sample(steps[-1][1], sr), "finish", cue_text.FINISH_TEXT, steps[-1][0].flat.index))
    return out


def estimate_seconds(text: str) -> float:
    """A speech length guess for when no audio is at hand (espeak-ng at 175 wpm: ~14 characters/s)."""
    return 0.25 + 0.07 * len(text)


def _resolve(candidates: list[_Candidate], sr: int, speech: Mapping[str, Audio] | None) -> tuple[list[Cue], list[str]]:
    """Keep cues by priority; a cue that would overlap a kept one is dropped with a warning."""
    warnings: list[str] = []
    kept_at = np.zeros(0, np.int64)
    kept_end = np.zeros(0, np.int64)
    kept: list[Cue] = []
    announce_end: dict[int, int] = {}
    for level in sorted(set(PRIORITY.values()), reverse=True):
        level_cues = sorted((c for c in candidates if PRIORITY[c.kind] == level), key=lambda c: (c.at, c.kind))
        accepted: list[Cue] = []
        for cand in level_cues:
            audio = _audio(cand, sr, speech)
            length = len(audio) if audio is not None else round(estimate_seconds(cand.text) * sr)
            if cand.max_s is not None:
                length = min(length, round(cand.max_s * sr))
                if audio is not None:
                    audio = _fit(audio, length, sr)
            spans: KeySpans = ()
            if audio is not None and isinstance(speech, CueSpeech):
                spans = tuple((a, min(b, length)) for a, b in speech.key_spans.get(cand.text, ()) if a < length)
            at = cand.at
            if cand.kind == "say":
                if cand.step_index not in announce_end:
                    warnings.append(f"{at / sr:.2f} s: say '{cand.text}' dropped with its step's announcement")
                    continue
                at = announce_end[cand.step_index] + _sample(SAY_GAP_S, sr)
            cue = Cue(at, cand.kind, cand.text, length, cand.step_index, audio, spans)
            clash = _clash(cue, kept_at, kept_end, kept) or (
                accepted[-1] if accepted and accepted[-1].end > cue.at else None
            )
            if clash is not None:
                warnings.append(
                    f"{at / sr:.2f} s: {cue.kind} '{cue.text}' dropped: it would overlap "
                    f"{clash.kind} '{clash.text}' at {clash.at / sr:.2f} s"
                )
                continue
            accepted.append(cue)
            if cue.kind == "announce":
                announce_end[cue.step_index] = cue.end
        if accepted:
            kept = sorted(kept + accepted, key=lambda c: c.at)
            kept_at = np.fromiter((c.at for c in kept), np.int64, len(kept))
            kept_end = np.fromiter((c.end for c in kept), np.int64, len(kept))
    return kept, warnings


def _clash(cue: Cue, kept_at: Onsets, kept_end: Onsets, kept: list[Cue]) -> Cue | None:
    """A kept cue overlapping [cue.at, cue.end), if any (kept cues do not overlap each other)."""
    if not len(kept_at):
        return None
    i = int(np.searchsorted(kept_at, cue.end, side="left")) - 1  # last kept cue starting before our end
    if i >= 0 and kept_end[i] > cue.at:
        return kept[i]
    return None


def _audio(cand: _Candidate, sr: int, speech: Mapping[str, Audio] | None) -> Audio | None:
    if speech is None:
        return None
    return speech.get(cand.text)


def _fit(audio: Audio, length: int, sr: int) -> Audio:
    """Cut `audio` to `length` samples with a 10 ms fade-out, if it is longer."""
    if len(audio) <= length:
        return audio
    out = np.array(audio[:length], dtype=np.float32)
    fade = min(length, max(1, sr // 100))
    out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


# ------------------------------------------------------------------------------------- live changes


def splice(old: Timeline, new: Timeline, at: int) -> Timeline:
    """The past of `old` (before sample `at`) followed by the future of `new` (from `at`).

    Cues that started before `at` keep playing from `old`; new cues that would start before the end of a
    cue still playing are dropped. Used by the live player to change the future without touching the past."""
    keep_clicks = old.clicks < at
    take_clicks = new.clicks >= at
    past = [c for c in old.cues if c.at < at]
    busy_until = max([at] + [c.end for c in past])
    future = [c for c in new.cues if c.at >= busy_until or (c.at >= at and c.kind == "countdown")]
    future = [c for c in future if not any(p.end > c.at for p in past)]
    return replace(
        new,
        clicks=np.concatenate([old.clicks[keep_clicks], new.clicks[take_clicks]]),
        click_variant=np.concatenate([old.click_variant[keep_clicks], new.click_variant[take_clicks]]),
        cues=past + future,
        warnings=old.warnings,
    )
