"""What the importers share: positioned problems and warnings, the pace book (reference paces, named
relative paces), exact extents, kind inference, workout limits and open steps.

Every importer returns an :class:`ImportResult`: a :class:`~cadencecoach.workout.model.Workout` built directly (no
YAML in between) and the warnings for what could not be mapped exactly, each ``FILE:LINE:COL: message``.
Errors are collected the same way and raised together as one :class:`~cadencecoach.errors.WorkoutError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

from cadencecoach.errors import Problem, UsageError, WorkoutError
from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.loader import MAX_DEPTH, MAX_DURATION, MAX_STEPS
from cadencecoach.workout.model import Repeat, Step, Workout
from cadencecoach.workout.units import METERS_PER_MILE, Extent, Pace, parse_extent, parse_pace, parse_trial

Item = Step | Repeat
DefaultTrial = str | Callable[[], str | None] | None

PACE_STEP_S_PER_KM = Fraction(1, 100)
"""Imported paces are rounded to 0.01 s per km, so that the YAML written from them (``M:SS.ss/km``) is exact."""

RECOVER_BELOW = Fraction(80, 100)
"""A step easier than 80% of threshold speed (Z1-Z2) inside a repeat is a recovery."""

RECOVER_RELATIVE = Fraction(85, 100)
"""Inside a repeat, a step at 85% or less of the block's fastest speed is a recovery."""


@dataclass
class ImportResult:
    workout: Workout
    warnings: list[str]


class Report:
    """Problems and warnings, with positions, for one source file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def error(self, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(self.source, max(line, 1), max(col, 1), message))

    def warn(self, line: int, col: int, message: str) -> None:
        self.warnings.append(f"{self.source}:{max(line, 1)}:{max(col, 1)}: {message}")

    def check(self) -> None:
        if self.problems:
            raise WorkoutError(sorted(self.problems, key=lambda p: (p.line, p.col)))


# ------------------------------------------------------------------------------------------- numbers


def decimal_text(x: Fraction) -> str:
    """A terminating Fraction as a plain decimal (``400``, ``0.75``, ``62.5``); ValueError if it does not end."""
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        raise ValueError(f"{x} is not a terminating decimal")
    places = max(twos, fives)
    sign = "-" if x < 0 else ""
    scaled = abs(x) * 10**places
    whole, frac = divmod(int(scaled), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}".rstrip("0").rstrip(".")


def percent_text(fraction: Fraction) -> str:
    """``Fraction(17, 20)`` -> ``85%``; percentages are rounded to 0.1 (Zwift writes 0.75449997)."""
    return decimal_text(round_percent(fraction) * 100) + "%"


def round_percent(fraction: Fraction) -> Fraction:
    return Fraction(round(fraction * 1000), 1000)


def round_pace(s_per_m: Fraction) -> Fraction:
    """Seconds per metre rounded to 0.01 s per km."""
    step = PACE_STEP_S_PER_KM / 1000
    return Fraction(round(s_per_m / step)) * step


def km_text(s_per_m: Fraction) -> str:
    """``M:SS/km`` (with decimals on the seconds when needed); exact for paces from :func:`round_pace`."""
    s_per_km = s_per_m * 1000
    minutes, seconds = divmod(s_per_km, 60)
    whole = int(seconds)
    rest = decimal_text(seconds - whole)
    frac = rest[1:] if rest.startswith("0.") else ""
    return f"{int(minutes)}:{whole:02d}{frac}/km"


def literal_pace(s_per_m: Fraction) -> Pace:
    rounded = round_pace(s_per_m)
    return Pace(rounded, km_text(rounded))


# ------------------------------------------------------------------------------------------- extents


def time_extent(seconds: Fraction) -> Extent:
    return Extent("time", seconds, seconds, "s")


def distance_extent(meters: Fraction, unit: str | None = None) -> Extent:
    """A distance in the unit it was written in, else km or mi when whole, else metres."""
    if unit is None:
        if meters >= 1000 and meters % 1000 == 0:
            unit = "km"
        elif meters >= METERS_PER_MILE and meters % METERS_PER_MILE == 0:
            unit = "mi"
        else:
            unit = "m"
    per = {"m": Fraction(1), "km": Fraction(1000), "mi": METERS_PER_MILE}[unit]
    return Extent("distance", meters, meters / per, unit)


# ---------------------------------------------------------------------------------------- pace book


class PaceBook:
    """The paces an import can use and the named paces it defines.

    References come from ``--trial`` (Daniels' derived paces: ``mile``, ``5k``, ``threshold``, ...), from
    ``--pace NAME=VALUE`` (which wins), or, when neither gives the one needed, from ``default_trial`` (the
    latest recorded trial). A percentage of a reference becomes a named pace (``85% 5k``) whose value is the
    reference's speed times the fraction; ``--pace "85% 5k=4:30/km"`` sets such a name directly.
    """

    def __init__(
        self,
        pace_overrides: Mapping[str, str] | None,
        trial_override: str | None,
        default_trial: DefaultTrial = None,
    ) -> None:
        self.overrides: dict[str, Pace] = {}
        for name, value in (pace_overrides or {}).items():
            try:
                self.overrides[name] = parse_pace(value)
            except ValueError as exc:
                raise UsageError(f"--pace {name}={value}: {exc}") from None
        self.derived: dict[str, Pace] = {}
        self.trial: tuple[Fraction, Fraction] | None = None
        self.trial_source: str | None = None
        self.vdot: float | None = None
        self._default_trial = default_trial
        if trial_override:
            self._derive(trial_override, "--trial")
        self.used: dict[str, Pace] = {}

    def _derive(self, raw: str, source: str) -> None:
        try:
            trial = parse_trial(raw)
            v = vdot_mod.vdot(float(trial[0]), float(trial[1]))
        except (ValueError, OverflowError) as exc:
            raise UsageError(f"--trial: {exc}") from None
        if not 10 <= v <= 100:
            raise UsageError(f"--trial: trial '{raw}' gives a VDOT of {v:.1f}, outside any runner's range (10-100)")
        self.trial, self.trial_source, self.vdot = trial, source, v
        for name, s_per_km in vdot_mod.derived_paces(v).items():
            self.derived[name] = Pace(Fraction(s_per_km).limit_denominator(10**9) / 1000, f"{name} pace")

    def reference(self, name: str) -> Fraction | None:
        """Seconds per metre of a reference pace name, or None when nothing gives it."""
        if name in self.overrides:
            return self.overrides[name].s_per_m
        if name not in self.derived and self.trial is None and self._default_trial is not None:
            raw = self._default_trial() if callable(self._default_trial) else self._default_trial
            self._default_trial = None
            if raw:
                self._derive(raw, "history")
        pace = self.derived.get(name)
        return pace.s_per_m if pace is not None else None

    def named(self, name: str, ref: str, fraction: Fraction) -> Pace | None:
        """The pace called `name`: `fraction` of the speed of reference `ref` (None: no reference)."""
        if name in self.overrides:
            pace = self.overrides[name]
        else:
            base = self.reference(ref)
            if base is None:
                return None
            pace = literal_pace(base / fraction)
        self.used[name] = pace
        return pace

    def relative(self, ref: str, fraction: Fraction) -> tuple[str, Pace | None]:
        """``(name, pace)`` for `fraction` of `ref`'s speed: ``("5k", ...)`` at 100%, ``("85% 5k", ...)``."""
        fraction = round_percent(fraction)
        name = ref if fraction == 1 else f"{percent_text(fraction)} {ref}"
        return name, self.named(name, ref, fraction)

    def threshold_fraction(self, s_per_m: Fraction) -> Fraction | None:
        """Speed as a fraction of threshold speed, when a threshold pace is known (for kind inference)."""
        t = self.overrides.get("threshold") or self.derived.get("threshold")
        return t.s_per_m / s_per_m if t is not None else None


REFERENCE_HINT = "give a reference with --pace {ref}=4:15/km, or --trial '5k 20:00' (derives mile, 5k, threshold, ...)"


# ----------------------------------------------------------------------------------------- kinds

KIND_WORDS: dict[str, str] = {}
for _kind, _words in (
    ("warmup", ("warmup", "warm-up", "warm up", "wu")),
    ("cooldown", ("cooldown", "cool-down", "cool down", "cd", "warmdown", "warm-down")),
    ("recover", ("recover", "recovery", "jog", "float", "recoveries")),
    ("rest", ("rest", "walk", "stand", "standing")),
    ("run", ("run", "rep", "reps", "interval", "intervals", "hard", "fast", "stride", "strides", "sprint", "tempo")),
):
    for _w in _words:
        KIND_WORDS[_w] = _kind


def kind_from_text(text: str) -> str | None:
    """The kind a cue or section name starts with (``Recover 90s`` -> recover, ``Cool down`` -> cooldown)."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
    if not words:
        return None
    if len(words) > 1 and f"{words[0]} {words[1]}" in KIND_WORDS:
        return KIND_WORDS[f"{words[0]} {words[1]}"]
    return KIND_WORDS.get(words[0])


def recover_flags(levels: list[tuple[str, Fraction] | None]) -> list[bool]:
    """For the steps of one repeat block: which are recoveries, from their intensity.

    A level is ``("fraction", f)`` (speed as a fraction of threshold) or ``("speed", m/s)``. A step easier
    than :data:`RECOVER_BELOW` of threshold, or at most :data:`RECOVER_RELATIVE` of the block's fastest step
    measured the same way, is a recovery."""
    out = [False] * len(levels)
    for measure in ("fraction", "speed"):
        vals = [(i, lv[1]) for i, lv in enumerate(levels) if lv is not None and lv[0] == measure]
        if not vals:
            continue
        top = max(v for _, v in vals)
        for i, v in vals:
            if (measure == "fraction" and v < RECOVER_BELOW) or (len(vals) > 1 and v <= top * RECOVER_RELATIVE):
                out[i] = True
    return out


# ------------------------------------------------------------------------------------------- workout


def totals(items: tuple[Item, ...], depth: int = 0) -> tuple[Fraction, int, int]:
    """(duration, expanded step count, nesting depth) without expanding repeats."""
    total, count, deepest = Fraction(0), 0, depth
    for item in items:
        if isinstance(item, Repeat):
            d, n, deep = totals(item.steps, depth + 1)
            total += d * item.count
            count += n * item.count
            deepest = max(deepest, deep)
        else:
            total += item.duration
            count += 1
    return total, count, deepest


def build_workout(
    report: Report,
    name: str,
    items: tuple[Item, ...],
    book: PaceBook,
    notes: str | None = None,
) -> Workout:
    """The Workout, after the same limits as the YAML loader (24 hours, 200,000 steps, 32 levels)."""
    if not items and not report.problems:
        report.error(1, 1, "no steps: the file has no workout steps cadencecoach can use")
    total, count, depth = totals(items)
    if total > MAX_DURATION:
        report.error(1, 1, f"the workout lasts {format_hms(total)}, over the 24-hour limit")
    elif count > MAX_STEPS:
        report.error(1, 1, f"the workout has {count} steps once repeats are expanded; the limit is {MAX_STEPS}")
    if depth > MAX_DEPTH:
        report.error(1, 1, f"repeats are nested more than {MAX_DEPTH} deep")
    report.check()
    return Workout(
        name=name,
        steps=items,
        source=report.source,
        notes=notes or None,
        paces=dict(book.used),
        trial=book.trial,
        trial_source=book.trial_source,
        vdot=book.vdot,
        total_duration=total,
        total_steps=count,
    )


def format_hms(seconds: Fraction) -> str:
    whole = int(seconds)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def pretty_name(stem: str) -> str:
    """A workout name from a file name: ``5x1k_threshold`` -> ``5x1k threshold``."""
    return re.sub(r"[_]+", " ", stem).strip() or "Imported workout"


# ---------------------------------------------------------------------------------------- open steps


def iter_steps(items: tuple[Item, ...]) -> Iterator[Step]:
    for item in items:
        if isinstance(item, Repeat):
            yield from iter_steps(item.steps)
        else:
            yield item


def open_steps(workout: Workout) -> list[Step]:
    """The open steps ("press lap") of a workout, in order (each once, even inside a repeat)."""
    return [s for s in iter_steps(workout.steps) if s.open]


def parse_open_length(text: str) -> Fraction:
    """``--open-step 60s`` / ``2min`` / ``1:30``: a time, as seconds."""
    try:
        extent = parse_extent(text)
    except ValueError as exc:
        raise UsageError(f"--open-step {text}: {exc}") from None
    if not extent.is_time:
        raise UsageError(f"--open-step {text}: give a time, like --open-step 60s or --open-step 2min")
    return extent.value


def with_open_length(workout: Workout, length: str | None, *, require: bool = False) -> Workout:
    """`workout` with every open step that has no length given `length` (``--open-step``), if any; an open
    step whose source gave a length (``- 10m Z2 Pace press lap``) keeps it.

    With `require` (``plan``, ``render``, YAML output), an open step that still has no length is an error at its
    position that says how to give one."""
    seconds = parse_open_length(length) if length is not None else None  # a bad value is an error either way
    if not open_steps(workout):
        return workout
    if seconds is not None:

        def fix(items: tuple[Item, ...]) -> tuple[Item, ...]:
            out: list[Item] = []
            for item in items:
                if isinstance(item, Repeat):
                    out.append(replace(item, steps=fix(item.steps)))
                elif item.open and item.duration <= 0:  # a length written in the source is kept
                    out.append(replace(item, extent=time_extent(seconds), duration=seconds))
                else:
                    out.append(item)
            return tuple(out)

        steps = fix(workout.steps)
        total, count, _ = totals(steps)
        if total > MAX_DURATION:
            raise UsageError(f"--open-step {length}: the workout would last {format_hms(total)}, over 24 hours")
        workout = replace(workout, steps=steps, total_duration=total, total_steps=count)
    if require:
        missing = [s for s in open_steps(workout) if s.duration <= 0]
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


LIVE_OPEN_STEP_S = Fraction(30 * 60)
"""In ``run``, an open step with no length lasts at most this long unless the lap key ends it first."""
LAP_HINT = "Press n when you are done."


def for_live(workout: Workout) -> Workout:
    """`workout` ready for ``run``: every open step without a length gets the LIVE_OPEN_STEP_S placeholder and
    says, after its announcement, that the lap key (n or the right arrow) ends it. Open steps with a length
    from their source keep it; the lap key ends them early like any step."""
    if not any(s.duration <= 0 for s in open_steps(workout)):
        return workout

    def fix(items: tuple[Item, ...]) -> tuple[Item, ...]:
        out: list[Item] = []
        for item in items:
            if isinstance(item, Repeat):
                out.append(replace(item, steps=fix(item.steps)))
            elif item.open and item.duration <= 0:
                say = f"{item.say} {LAP_HINT}" if item.say else LAP_HINT
                out.append(replace(item, extent=time_extent(LIVE_OPEN_STEP_S), duration=LIVE_OPEN_STEP_S, say=say))
            else:
                out.append(item)
        return tuple(out)

    steps = fix(workout.steps)
    total, count, _ = totals(steps)
    return replace(workout, steps=steps, total_duration=total, total_steps=count)
