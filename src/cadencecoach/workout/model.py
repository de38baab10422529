"""The workout model: what a YAML file means, before timing is compiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from cadencecoach.workout.units import Extent, Pace

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
