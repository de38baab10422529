"""What the importers share: exact extents, kind inference, the workout limits and open steps.

The pace book (reference paces, named relative paces) is :mod:`cadencecoach.workout.paces` and the positioned
problems and warnings are :class:`cadencecoach.workout.source.Report`, shared with the YAML loader.

Every importer returns an :class:`ImportResult`: a :class:`~cadencecoach.workout.model.Workout` built directly (no
YAML in between) and the warnings for what could not be mapped exactly, each ``FILE:LINE:COL: message``.
Errors are collected the same way and raised together as one :class:`~cadencecoach.errors.WorkoutError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

from cadencecoach.workout.model import Repeat, Step, Workout
from cadencecoach.workout.paces import PaceBook
from cadencecoach.workout.source import MAX_DEPTH, MAX_DURATION, Report, check_totals, text_problem
from cadencecoach.workout.units import METERS_PER_MILE, Extent, format_clock

__all__ = [
    "LAP_HINT",
    "LIVE_OPEN_STEP_S",
    "REFERENCE_HINT",
    "ImportResult",
    "Item",
    "OpenStepTooLong",
    "build_workout",
    "distance_extent",
    "for_live",
    "iter_steps",
    "kind_from_text",
    "open_steps",
    "pretty_name",
    "recover_flags",
    "spoken",
    "time_extent",
    "totals",
    "with_open_length",
]

Item = Step | Repeat

RECOVER_BELOW = Fraction(80, 100)
"""A step easier than 80% of threshold speed (Z1-Z2) inside a repeat is a recovery."""

RECOVER_RELATIVE = Fraction(85, 100)
"""Inside a repeat, a step at 85% or less of the block's fastest speed is a recovery."""


@dataclass
class ImportResult:
    workout: Workout
    warnings: list[str]


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


def spoken(items: tuple[Item, ...], report: Report | None = None) -> int:
    """The spoken texts a file asks for (each step's ``say`` and timed cues), repeats multiplied out, without
    expanding them; with `report`, each text too long to speak (a label, an effort, a say, a cue) is a problem
    at its step."""
    count = 0
    for item in items:
        if isinstance(item, Repeat):
            count += spoken(item.steps, report) * item.count
            continue
        count += (1 if item.say else 0) + len(item.cues)
        if report is None:
            continue
        texts = [("the label", item.label), ("the effort", item.effort), ("the spoken text", item.say)]
        texts += [("a timed cue", text) for _, text in item.cues]
        for what, text in texts:
            problem = text_problem(text, what) if text else None
            if problem:
                report.error(item.line, item.col, problem)
    return count


def build_workout(
    report: Report,
    name: str,
    items: tuple[Item, ...],
    book: PaceBook,
    notes: str | None = None,
    *,
    why_long: str | None = None,
) -> Workout:
    """The Workout, after the same limits as the YAML loader (:func:`cadencecoach.workout.source.check_totals`:
    24 hours, 200,000 steps, 10,000 spoken cues; 32 levels; spoken texts, the name included, of at most 300
    characters). `why_long` is the likely reason of a workout over 24 hours, said with that problem."""
    if not items and not report.problems:
        report.error(1, 1, "no steps: the file has no workout steps cadencecoach can use")
    total, count, depth = totals(items)
    check_totals(report, (1, 1), total, count, spoken(items, report), why_long=why_long)
    if depth > MAX_DEPTH:
        report.error(1, 1, f"repeats are nested more than {MAX_DEPTH} deep")
    name_problem = text_problem(name, "the workout's name")  # `run` speaks it before the first step
    if name_problem:
        report.error(1, 1, name_problem)
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


class OpenStepTooLong(ValueError):
    """Open steps given a length that makes the workout last over 24 hours (the caller names the option)."""


def with_open_length(workout: Workout, seconds: Fraction | None) -> Workout:
    """`workout` with every open step that has no length given `seconds`, if any; an open step whose source
    gave a length (``- 10m Z2 Pace press lap``) keeps it. Raises :class:`OpenStepTooLong` when the workout
    would then last over 24 hours. An open step left without a length is the caller's to refuse (``plan`` and
    ``render`` do, :func:`cadencecoach.pipeline.load`)."""
    if not open_steps(workout) or seconds is None:
        return workout
    length = seconds  # (narrowed to a Fraction for the lambda)

    def fill(step: Step) -> Step:  # a distance with no pace keeps its distance (a watch still ends it there)
        return replace(step, extent=time_extent(length) if step.extent.is_time else step.extent, duration=length)

    steps, total, count = _fill_open_steps(workout, fill)
    if total > MAX_DURATION:
        lasts = format_clock(total, hours=True, truncate=True)
        raise OpenStepTooLong(f"the workout would last {lasts}, over 24 hours")
    return replace(workout, steps=steps, total_duration=total, total_steps=count)


LIVE_OPEN_STEP_S = Fraction(30 * 60)
"""In ``run``, an open step with no length lasts at most this long unless the lap key ends it first."""
LAP_HINT = "Press n when you are done."


def for_live(workout: Workout) -> Workout:
    """`workout` ready for ``run``: every open step without a length gets the LIVE_OPEN_STEP_S placeholder and
    says, after its announcement, that the lap key (n or the right arrow) ends it. Open steps with a length
    from their source keep it; the lap key ends them early like any step."""
    if not any(s.duration <= 0 for s in open_steps(workout)):
        return workout

    def placeholder(step: Step) -> Step:
        say = f"{step.say} {LAP_HINT}" if step.say else LAP_HINT
        # the extent stays what the source said (none: "as long as you need"; a distance with no pace: "500 meters")
        return replace(step, duration=LIVE_OPEN_STEP_S, say=say)

    steps, total, count = _fill_open_steps(workout, placeholder)
    return replace(workout, steps=steps, total_duration=total, total_steps=count)


def _fill_open_steps(workout: Workout, fill: Callable[[Step], Step]) -> tuple[tuple[Item, ...], Fraction, int]:
    """`workout`'s steps with every open step that has no length (duration 0) replaced by ``fill(step)``, inside
    repeats too, and their new total duration and step count."""

    def fix(items: tuple[Item, ...]) -> tuple[Item, ...]:
        out: list[Item] = []
        for item in items:
            if isinstance(item, Repeat):
                out.append(replace(item, steps=fix(item.steps)))
            elif item.open and item.duration <= 0:
                out.append(fill(item))
            else:
                out.append(item)
        return tuple(out)

    steps = fix(workout.steps)
    total, count, _ = totals(steps)
    return steps, total, count
