"""The workout model: what a YAML file means, before timing is compiled."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from cadencecoach.workout.units import Extent, Pace, number_text

KINDS: dict[str, str] = {
    "warmup": "Warm-up",
    "run": "Run",
    "recover": "Recover",
    "rest": "Rest",
    "cooldown": "Cool-down",
}
"""Kind key -> default label."""

INTENSITY: dict[str, str] = {
    "warmup": "warm-up",
    "run": "work",
    "recover": "active recovery",
    "rest": "standing rest",
    "cooldown": "cool-down",
}

VOICE_MODES = ("full", "minimal", "off")

BREATHING_STEPS = range(1, 9)
"""How many steps an inhale or an exhale may last: 1 to 8 (``2:2`` and ``3:2`` are the usual patterns)."""


def parse_breathing(text: object) -> tuple[int, int] | None:
    """``"3:2"`` -> ``(3, 2)``: inhale steps, exhale steps, each in :data:`BREATHING_STEPS`; None if it is not
    such a pattern (the caller says where: a workout line or the ``--breathing`` option).

    Examples
    --------
    >>> parse_breathing("3:2"), parse_breathing(" 2 : 2 "), parse_breathing("9:1"), parse_breathing(32)
    ((3, 2), (2, 2), None, None)
    """
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        inhale, exhale = (int(p) for p in parts)
        if inhale in BREATHING_STEPS and exhale in BREATHING_STEPS:
            return inhale, exhale
    return None


INCLINE_RANGE = (Fraction(-30), Fraction(40))
"""A step's incline (``incline: 10%``): -30 % (a steep descent) to 40 % (a treadmill's or a hill's steepest)."""

HEART_RATE_UNITS = ("zone", "bpm", "%max", "%lthr")


@dataclass(frozen=True)
class HeartRate:
    """A heart-rate target: ``zone`` 1-5 (``Z2``), ``bpm`` (``140-150bpm``), or a percentage of maximum
    (``%max``: ``75-80% HR``) or of threshold heart rate (``%lthr``). ``low == high`` for a single value."""

    unit: str
    low: Fraction
    high: Fraction


_PERCENT = re.compile(r"\s*([+-]?\d{1,3}(?:\.\d{1,3})?)\s*%\s*")


def parse_incline(value: object) -> Fraction:
    """``10%``, ``-2%``, ``2.5%`` -> percent grade, in :data:`INCLINE_RANGE`; ValueError in words otherwise.

    Examples
    --------
    >>> parse_incline("10%"), parse_incline(" -2.5 % ")
    (Fraction(10, 1), Fraction(-5, 2))
    """
    m = _PERCENT.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"'incline' is a grade in percent, like '10%' or '-2%' (got '{value}')")
    grade = Fraction(m.group(1))
    low, high = INCLINE_RANGE
    if not low <= grade <= high:
        raise ValueError(f"incline {m.group(1)}% is outside {low}% to {high}%")
    return grade


_HR = re.compile(
    r"\s*(?:(?P<zone>[zZ](?P<z1>[1-5])(?:\s*-\s*[zZ]?(?P<z2>[1-5]))?)"
    r"|(?P<a>\d{2,3}(?:\.\d)?)(?:\s*-\s*(?P<b>\d{2,3}(?:\.\d)?))?\s*(?P<unit>bpm|%\s*lthr|%\s*max|%))\s*",
    re.IGNORECASE,
)


def parse_heart_rate(value: object) -> HeartRate:
    """``Z2``, ``Z2-Z3``, ``150bpm``, ``140-150bpm``, ``75%`` / ``70-80%`` (of maximum heart rate), ``90% LTHR``
    (of threshold heart rate) -> :class:`HeartRate`; ValueError in words otherwise.

    Examples
    --------
    >>> parse_heart_rate("Z2"), parse_heart_rate("140-150bpm").unit, parse_heart_rate("90% LTHR").unit
    (HeartRate(unit='zone', low=Fraction(2, 1), high=Fraction(2, 1)), 'bpm', '%lthr')
    """
    m = _HR.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(
            f"'heart_rate' is a zone or a range, like 'Z2', '140-150bpm', '75%' (of max) or '90% LTHR' (got '{value}')"
        )
    if m.group("zone"):
        low, high = Fraction(m.group("z1")), Fraction(m.group("z2") or m.group("z1"))
        unit = "zone"
    else:
        low, high = Fraction(m.group("a")), Fraction(m.group("b") or m.group("a"))
        raw = m.group("unit").lower().replace(" ", "")
        unit = {"bpm": "bpm", "%lthr": "%lthr"}.get(raw, "%max")
        bounds = (Fraction(30), Fraction(240)) if unit == "bpm" else (Fraction(30), Fraction(120))
        if not all(bounds[0] <= x <= bounds[1] for x in (low, high)):
            what = "beats per minute" if unit == "bpm" else "percent"
            raise ValueError(f"heart rate {m.group(0).strip()} is outside {bounds[0]}-{bounds[1]} {what}")
    if low > high:
        raise ValueError(f"heart rate {m.group(0).strip()}: write the lower value first")
    return HeartRate(unit, low, high)


def heart_rate_text(hr: HeartRate) -> str:
    """The YAML form: ``Z2``, ``Z2-Z3``, ``140-150bpm``, ``75%``, ``90% LTHR`` (reads back equal)."""
    if hr.unit == "zone":
        return f"Z{hr.low}" if hr.low == hr.high else f"Z{hr.low}-Z{hr.high}"
    span = number_text(hr.low) if hr.low == hr.high else f"{number_text(hr.low)}-{number_text(hr.high)}"
    return {"bpm": f"{span}bpm", "%max": f"{span}%", "%lthr": f"{span}% LTHR"}[hr.unit]


def speak_heart_rate(hr: HeartRate) -> str:
    """``heart rate zone 2``, ``heart rate 140 to 150``, ``75 percent of max heart rate``."""
    span = number_text(hr.low) if hr.low == hr.high else f"{number_text(hr.low)} to {number_text(hr.high)}"
    if hr.unit == "zone":
        return f"heart rate zone {span}" if hr.low == hr.high else f"heart rate zones {span}"
    if hr.unit == "bpm":
        return f"heart rate {span}"
    return f"{span} percent of {'max' if hr.unit == '%max' else 'threshold'} heart rate"


def speak_incline(grade: Fraction) -> str:
    """``Incline 10 percent`` / ``Decline 2 percent`` / ``Flat``."""
    if grade == 0:
        return "Incline 0 percent"
    return f"{'Incline' if grade > 0 else 'Decline'} {number_text(abs(grade))} percent"


@dataclass(frozen=True)
class Step:
    """One step, as written. ``duration`` (seconds) is resolved from the extent and pace."""

    kind: str
    extent: Extent
    duration: Fraction
    label: str
    pace: Pace | None = None
    pace_name: str | None = None  # the name the step named (spoken: "at mile pace")
    pace_spoken: bool = False  # False when the pace only came from the kind-named pace
    cadence: tuple[Fraction, Fraction] | None = None  # None: the workout's default
    click: bool = True
    effort: str | None = None
    breathing: tuple[int, int] | None = None
    say: str | None = None
    line: int = 0
    col: int = 0
    # --- imported workouts (cadencecoach.workout.formats; see docs/FORMATS.md) ---
    # `open`: the step ends when the runner presses the lap key (intervals.icu "press lap"). Its `extent` and
    # `duration` are a nominal length: the one the source gave, or `--open-step`, or 0 when there is none
    # (`plan`/`render` then refuse it; the live player ends the step on the lap key).
    open: bool = False
    # `cues`: timed spoken cues, (offset in seconds from the step's start, text); compiled as kind "custom".
    cues: tuple[tuple[Fraction, str], ...] = ()
    # --- targets for devices and treadmills (docs/WORKOUT-FORMAT.md: incline, heart_rate, pace ranges) ---
    incline: Fraction | None = None  # percent grade (10 = 10 %), in INCLINE_RANGE; spoken in the announcement
    heart_rate: HeartRate | None = None  # a heart-rate target (spoken when there is no effort; exported to FIT)
    pace_range: tuple[Pace, Pace] | None = None  # (slower, faster) when the source gave a range; `pace` is its
    # middle, which times a distance step

    @property
    def untimed(self) -> bool:
        """An open step whose source gave it no time: no length at all (``- recover: lap``, intervals.icu's
        ``press lap``: spoken "as long as you need") or a distance with no pace (spoken as its distance). The
        duration it plays for (``run``'s placeholder, ``--open-step``) is no length to speak of: no halfway."""
        if not self.open:
            return False
        return self.extent.value == 0 if self.extent.is_time else self.pace is None


@dataclass(frozen=True)
class Repeat:
    count: int
    steps: tuple[Step | Repeat, ...]
    line: int = 0
    col: int = 0


@dataclass
class Workout:
    name: str
    steps: tuple[Step | Repeat, ...]
    source: str = "<workout>"
    notes: str | None = None
    cadence: tuple[Fraction, Fraction] = (Fraction(180), Fraction(180))
    cadence_given: bool = False  # the source set the workout's cadence (a FIT export then targets it)
    paces: dict[str, Pace] = field(default_factory=dict)  # every pace name available, resolved
    trial: tuple[Fraction, Fraction] | None = None  # metres, seconds
    trial_source: str | None = None  # "workout", "--trial"
    vdot: float | None = None
    voice_mode: str = "full"  # the YAML `voice:` key: "full", "minimal" or "off"
    total_duration: Fraction = Fraction(0)
    total_steps: int = 0


@dataclass(frozen=True)
class FlatStep:
    """A step with its repeats expanded: the unit the timeline is built of."""

    index: int
    step: Step
    rep: tuple[int, int] | None  # (n, of) of the innermost repeat
    start: Fraction  # seconds
    end: Fraction


def expand(workout: Workout) -> list[FlatStep]:
    """Expand repeats into a flat list with exact start/end times (seconds, as Fractions)."""
    out: list[FlatStep] = []
    t = Fraction(0)

    def walk(items: tuple[Step | Repeat, ...], rep: tuple[int, int] | None) -> None:
        nonlocal t
        for item in items:
            if isinstance(item, Repeat):
                for n in range(1, item.count + 1):
                    walk(item.steps, (n, item.count))
            else:
                end = t + item.duration
                out.append(FlatStep(len(out), item, rep, t, end))
                t = end

    walk(workout.steps, None)
    return out
