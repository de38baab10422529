"""A training program for a faster mile, laid out week by week from the runner's inputs (docs/PROGRAM.md).

:func:`build_program` is pure: the same inputs give the same program, to the session. Every rule below is a
tested invariant (tests/test_program_rules.py), and docs/PROGRAM.md says each in words.

The weeks
    The program is ``weeks`` weeks of 7 days from ``start``. A **base** phase (a third of the weeks, at least 2;
    half for a runner under 20 km a week) of easy running, one longer run, hills, strides and cadence work;
    a **speed** phase (speed work once a week, a tempo run once a week); a **taper**: the last week, lighter,
    ending with the goal mile on its last day.

The days
    ``days`` runs a week (3-6) on fixed days of the week (:data:`LAYOUTS`); the two quality days and the long
    run are never on consecutive days, within a week or across two.

The volume
    Week 1 is the runner's current volume (more only when the sessions of ``days`` runs cannot be shorter: then
    a note says so; under half of that least, ProgramError). A building week adds at most 10 % to the last full
    week; every 3rd or 4th week is lighter (80 %, at most 90 % of the last full week; a week with a time trial is
    the lighter one when it can be); the taper week is 60 % (at most 70 %); no week goes above 1.6 times the
    start or 12 km a running day (or the least week 1 could be). The volume is what the sessions add up to
    (their distance at their paces, easy pace where a step names none, nothing for a walk or a rest). When a week
    is tight: the quality sessions give way first (fewer reps, shorter warm-ups), then quality day 2 becomes an
    easy run, then everything is at its least; a week still above the rules then is planned at that least
    (``Week.at_least``) and a note names it. The long run is 28-35 % of the week and at least a quarter longer
    than an easy day.

The time trials
    A mile time trial every 4-6 weeks (the first 4-6 weeks after the runner's latest trial; at once in week 1
    when that trial is more than 6 weeks old), none in the last 2 weeks before the goal; it takes the first
    quality day of its week.

The cadence
    The click starts at ``cadence_from`` and goes up 2 steps per minute (3 when the way is long) every 2 weeks
    until the target, then holds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from cadencecoach.program.templates import TEMPLATES, session_yaml
from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.units import METERS_PER_MILE, format_clock, parse_trial

__all__ = [
    "LAYOUTS",
    "Program",
    "ProgramError",
    "ProgramInputs",
    "Session",
    "Week",
    "build_program",
    "example_inputs",
    "next_monday",
]

DAYS_RANGE = (3, 6)
WEEKS_RANGE = (6, 26)
CADENCE_RANGE = (150, 200)
VOLUME_RANGE_KM = (5.0, 200.0)

GROWTH = 1.10
"""A building week adds at most 10 % to the last full week."""
LIGHTER_THAN = 0.90
"""A lighter week is at most 90 % of the last full week, even when its sessions cannot be shorter."""
RAISED_AT_MOST = 2.0
AT_LEAST_OVER_FULL = 1.25  # a week at its least above the rules is still at most this over the last full week
"""A runner whose volume is under half of the least week of the program is refused (with the way out)."""
CAP_OVER_START = 1.6
CAP_KM_PER_DAY = 12.0
"""No week above 1.6 x the start or 12 km a running day (or the least week 1 could be)."""
LIGHT = 0.80
"""A lighter week is 80 % of the last full week."""
TAPER = 0.60
TAPER_AT_MOST = 0.70
"""The taper week is 60 % of the last full week, at most 70 % when its sessions cannot be shorter."""
LONG_SHARE = 0.28
LONG_SHARE_MAX = 0.35
"""The long run is 28 % to 35 % of the week (Daniels: at most 25-30 % for runners under 40 miles a week; with two
quality days in four, a quarter longer than the easy day needs up to 35 %)."""
TRIAL_GAP_DAYS = (28, 42)
"""A time trial every 4 to 6 weeks."""
TRIAL_AIM_DAYS = 35
"""... aiming at 5."""
NO_TRIAL_BEFORE_GOAL_DAYS = 14
"""No check trial in the last 2 weeks before the goal."""
HILL_WEEKS = 6
"""Hill repeats for six weeks (the seeds: "after six weeks of hill workouts ...")."""
CADENCE_EVERY_WEEKS = 2
BEGINNER_KM = 20.0
"""A runner under 20 km a week (the seeds' beginner: 10-15 miles over 3-4 runs) gets the beginner speed work."""

LAYOUTS: dict[int, tuple[tuple[int, str], ...]] = {
    # days a week -> (day of the week counted from the week's first day, slot); Q = a quality day, L = long run
    3: ((1, "Q1"), (3, "Q2"), (6, "L")),
    4: ((1, "Q1"), (2, "E"), (4, "Q2"), (6, "L")),
    5: ((0, "E"), (1, "Q1"), (3, "Q2"), (4, "E"), (6, "L")),
    6: ((0, "E"), (1, "Q1"), (2, "E"), (3, "E"), (4, "Q2"), (6, "L")),
}
"""Which days of the week run, and what: the quality days and the long run are never next to each other."""

HARD_KINDS = frozenset({"hills", "speed", "tempo", "trial", "goal"})
KEY_KINDS = HARD_KINDS | {"long"}
"""No two of these on consecutive days."""

SPEED_BEGINNER = ("400-200", "400-200", "800-400", "800-400", "10x400", "tabata", "6x800")
SPEED = ("800-400", "10x400", "6x800", "tabata", "4x1200", "800-then-400s", "10x400")
"""The speed sessions of the speed phase, in order (the seeds: 400/200 for beginners, then 800/400, 10 x 400 m at
mile pace, Tabata, 800 very hard then 400s), starting again from the first when the phase is longer."""

LONG_OVER_EASY = 1.25
"""The long run is at least a quarter longer than an easy day (the seeds: "one weekly run that's slightly longer
than the others")."""
EASY_MINUTES = (20, 75)
LONG_MINUTES = (30, 120)


class ProgramError(ValueError):
    """Inputs no program can be made from; ``option`` names the option (the CLI reports it, exit 2)."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        super().__init__(f"{option}: {message}")


def mile_pace(result: str) -> str:
    """A result as the mile pace it is run at: ``"1mi 5:30"`` -> ``"5:30/mi"``, ``"5k 20:00"`` -> ``"6:26.2/mi"``."""
    meters, secs = parse_trial(result)
    return f"{format_clock(float(secs / meters) * METERS_PER_MILE, tenths=True)}/mi"


def next_monday(today: date) -> date:
    """The first Monday after `today` (a week later when today is one)."""
    return today + timedelta(days=7 - today.weekday())


@dataclass(frozen=True)
class ProgramInputs:
    """What the runner said (``program new``), everything explicit (the CLI fills in the defaults)."""

    goal: str  # "1mi 5:30"
    days: int
    weeks: int
    start: date
    trial: str  # the current fitness: "1mi 6:30"
    trial_date: date
    volume_km: float  # the runner's current weekly volume
    cadence: int  # the target
    cadence_from: int  # where the click starts

    def to_json(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "days": self.days,
            "weeks": self.weeks,
            "start": self.start.isoformat(),
            "trial": self.trial,
            "trial_date": self.trial_date.isoformat(),
            "volume_km": self.volume_km,
            "cadence": self.cadence,
            "cadence_from": self.cadence_from,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgramInputs:
        return cls(
            goal=str(data["goal"]),
            days=int(data["days"]),
            weeks=int(data["weeks"]),
            start=date.fromisoformat(data["start"]),
            trial=str(data["trial"]),
            trial_date=date.fromisoformat(data["trial_date"]),
            volume_km=float(data["volume_km"]),
            cadence=int(data["cadence"]),
            cadence_from=int(data["cadence_from"]),
        )


def example_inputs() -> ProgramInputs:
    """The runner of docs/PROGRAM.md: a 6:30 miler after a 5:30 mile, 4 runs a week for 12 weeks, 25 km a week."""
    return ProgramInputs(
        goal="1mi 5:30",
        days=4,
        weeks=12,
        start=date(2027, 1, 4),
        trial="1mi 6:30",
        trial_date=date(2026, 12, 28),
        volume_km=25.0,
        cadence=180,
        cadence_from=174,
    )


@dataclass(frozen=True)
class Session:
    """One planned run."""

    index: int  # in the program, by day
    week: int  # 0-based
    day: date
    template: str  # a key of TEMPLATES
    params: tuple[tuple[str, int], ...]
    cadence: int
    distance_km: float  # at the paces of the trial it was planned with
    planned_s: float

    @property
    def kind(self) -> str:
        return TEMPLATES[self.template].kind

    @property
    def hard(self) -> bool:
        return self.kind in HARD_KINDS

    @property
    def title(self) -> str:
        p = dict(self.params)
        return TEMPLATES[self.template].title.format(reps=p.get("reps", ""), minutes=p.get("minutes", ""))

    def yaml(self, trial: str, goal_pace: str | None, *, program_name: str = "", weeks: int = 0) -> str:
        """This session as a workout in our YAML, its paces from `trial`."""
        t = TEMPLATES[self.template]
        note = None
        if program_name:
            note = f"{program_name}, week {self.week + 1} of {weeks}: {self.day.strftime('%A %d %B %Y')}."
        return session_yaml(
            t,
            params=dict(self.params),
            cadence=self.cadence,
            trial=trial,
            goal_pace=goal_pace if self.kind == "goal" else None,  # a check trial: the mile the trial predicts
            name=self.title,
            note=note,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "week": self.week,
            "day": self.day.isoformat(),
            "template": self.template,
            "params": dict(self.params),
            "cadence": self.cadence,
            "distance_km": round(self.distance_km, 2),
            "planned_s": round(self.planned_s, 1),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        if data["template"] not in TEMPLATES:
            raise ValueError(f"unknown session template {data['template']!r}")
        return cls(
            index=int(data["index"]),
            week=int(data["week"]),
            day=date.fromisoformat(data["day"]),
            template=str(data["template"]),
            params=tuple(sorted((str(k), int(v)) for k, v in dict(data["params"]).items())),
            cadence=int(data["cadence"]),
            distance_km=float(data["distance_km"]),
            planned_s=float(data["planned_s"]),
        )


@dataclass(frozen=True)
class Week:
    index: int
    start: date
    phase: str  # base, speed, taper
    light: bool
    cadence: int
    sessions: tuple[Session, ...] = ()
    at_least: bool = False  # every session at its least and still above the volume rules (a note says so)

    @property
    def volume_km(self) -> float:
        return sum(s.distance_km for s in self.sessions)

    @property
    def planned_s(self) -> float:
        return sum(s.planned_s for s in self.sessions)


@dataclass(frozen=True)
class Program:
    inputs: ProgramInputs
    vdot: float
    goal_vdot: float
    weeks: tuple[Week, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the runner should know (a raised first week...)

    @property
    def sessions(self) -> list[Session]:
        return [s for w in self.weeks for s in w.sessions]

    @property
    def end(self) -> date:
        return self.inputs.start + timedelta(days=7 * self.inputs.weeks - 1)

    @property
    def goal_pace(self) -> str:
        """The goal as a mile pace (``5:30/mi``): the goal race's target."""
        return mile_pace(self.inputs.goal)

    @property
    def name(self) -> str:
        return f"Mile program, goal {self.inputs.goal}"


# ------------------------------------------------------------------------------------------- estimates


def estimate(text: str, easy_s_per_km: float) -> tuple[float, float]:
    """(distance km, seconds) of a session's YAML: each step's distance, or its time at its pace (easy pace
    where it names none; a walk or a rest counts no distance)."""
    from cadencecoach.workout.loader import load_workout_text
    from cadencecoach.workout.model import expand

    w = load_workout_text(text, "<session>")
    meters = Fraction(0)
    for flat in expand(w):
        step = flat.step
        if step.extent.kind == "distance":
            meters += step.extent.value
            continue
        if step.kind == "rest" or "walk" in (step.label or "").lower():
            continue
        s_per_m = step.pace.s_per_m if step.pace is not None else Fraction(easy_s_per_km) / 1000
        if step.kind == "recover" and step.pace is None:
            s_per_m = Fraction(easy_s_per_km * 1.1) / 1000  # a recovery jog: slower than easy
        meters += step.duration / s_per_m
    return float(meters) / 1000, float(w.total_duration)


# ------------------------------------------------------------------------------------------- the layout


def _check(inputs: ProgramInputs) -> tuple[float, float]:
    lo, hi = DAYS_RANGE
    if not lo <= inputs.days <= hi:
        raise ProgramError("--days", f"{inputs.days} runs a week: give {lo} to {hi} (the material: 3-6)")
    lo, hi = WEEKS_RANGE
    if not lo <= inputs.weeks <= hi:
        raise ProgramError("--weeks", f"{inputs.weeks} weeks: give {lo} to {hi}")
    lo, hi = CADENCE_RANGE
    for option, value in (("--cadence", inputs.cadence), ("--cadence-from", inputs.cadence_from)):
        if not lo <= value <= hi:
            raise ProgramError(option, f"{value} steps per minute: give {lo} to {hi}")
    if inputs.cadence_from > inputs.cadence:
        raise ProgramError("--cadence-from", f"{inputs.cadence_from} is above the target --cadence {inputs.cadence}")
    vlo, vhi = VOLUME_RANGE_KM
    if not (math.isfinite(inputs.volume_km) and vlo <= inputs.volume_km <= vhi):
        raise ProgramError("--volume", f"{inputs.volume_km:g} km a week: give {vlo:g} to {vhi:g} km")
    if inputs.trial_date > inputs.start:
        raise ProgramError("--trial", f"the trial's day {inputs.trial_date} is after the start {inputs.start}")
    values = []
    for option, text in (("--trial", inputs.trial), ("--goal", inputs.goal)):
        try:
            meters, secs = parse_trial(text)
            v = vdot_mod.vdot(float(meters), float(secs))
        except ValueError as exc:
            raise ProgramError(option, str(exc)) from None
        if not 10 <= v <= 100:
            raise ProgramError(option, f"'{text}' is VDOT {v:.1f}: no runner's result (a typo, or the wrong unit?)")
        values.append(v)
    return values[0], values[1]


def _phases(inputs: ProgramInputs) -> list[str]:
    share = 2 if inputs.volume_km < BEGINNER_KM else 3
    base = max(2, int(inputs.weeks / share + 0.5))  # halves round up
    base = min(base, inputs.weeks - 2)
    return ["base"] * base + ["speed"] * (inputs.weeks - base - 1) + ["taper"]


def _cadences(inputs: ProgramInputs) -> list[int]:
    gap = inputs.cadence - inputs.cadence_from
    steps_available = max(1, (inputs.weeks - 2) // CADENCE_EVERY_WEEKS)
    step = 2 if gap <= 2 * steps_available else 3
    out = []
    for w in range(inputs.weeks):
        out.append(min(inputs.cadence, inputs.cadence_from + step * (w // CADENCE_EVERY_WEEKS)))
    return out


def _trial_days(inputs: ProgramInputs, q1_days: list[date], goal_day: date) -> set[date]:
    """The days of the check trials: on a week's first quality day, 4-6 weeks apart."""
    out: set[date] = set()
    previous = inputs.trial_date
    if (q1_days[0] - previous).days > TRIAL_GAP_DAYS[1]:
        out.add(q1_days[0])  # the paces are stale: a trial at once
        previous = q1_days[0]
    while True:
        candidates = [
            d for d in q1_days if TRIAL_GAP_DAYS[0] <= (d - previous).days <= TRIAL_GAP_DAYS[1] and d not in out
        ]
        candidates = [d for d in candidates if (goal_day - d).days >= NO_TRIAL_BEFORE_GOAL_DAYS]
        if not candidates:
            return out
        best = min(candidates, key=lambda d: (abs((d - previous).days - TRIAL_AIM_DAYS), d))
        out.add(best)
        previous = best


# ------------------------------------------------------------------------------------------- building


@dataclass
class _Ctx:
    inputs: ProgramInputs
    vdot: float
    easy: float  # s/km
    trial: str
    goal_pace: str
    beginner: bool
    speed_weeks: int = 0  # in the speed phase
    hill_weeks: int = 0
    speed_done: int = 0
    tempo_done: int = 0


def _measure(ctx: _Ctx, key: str, params: dict[str, int], cadence: int) -> tuple[float, float]:
    """(km, seconds) of a session, at the paces of the program's trial."""
    return _measured(key, tuple(sorted(params.items())), cadence, ctx.trial, ctx.goal_pace, ctx.easy)


def _measured(
    key: str, params: tuple[tuple[str, int], ...], cadence: int, trial: str, goal_pace: str, easy: float
) -> tuple[float, float]:
    """(km, seconds) of a session; its cadence changes neither (measured at the shipped 180)."""
    return _measured_at(key, params, trial, goal_pace if TEMPLATES[key].kind == "goal" else "", easy)


@functools.lru_cache(maxsize=4096)
def _measured_at(
    key: str, params: tuple[tuple[str, int], ...], trial: str, goal_pace: str, easy: float
) -> tuple[float, float]:
    text = session_yaml(TEMPLATES[key], params=dict(params), cadence=180, trial=trial, goal_pace=goal_pace or None)
    return estimate(text, easy)


def _quality(ctx: _Ctx, phase: str, slot: str, week: int, trial_day: bool) -> tuple[str, dict[str, int]]:
    """The quality session of a slot: (template key, params) before fitting to the volume."""
    if slot == "Q1":
        if trial_day:
            return "trial", {"warmup": 15, "cooldown": 10}
        if phase == "taper":
            return "10x400", {"reps": 5, "warmup": 15, "cooldown": 10}
        if phase == "base" and ctx.hill_weeks < HILL_WEEKS:
            reps = min(10, 6 + ctx.hill_weeks // 2)
            return "hills", {"reps": reps, "warmup": 15, "cooldown": 10}
        if phase == "base":  # six weeks of hills done: a tempo run
            return "tempo", {"minutes": min(30, 15 + 5 * ctx.tempo_done), "warmup": 15, "cooldown": 10}
        seq = SPEED_BEGINNER if ctx.beginner else SPEED
        key = seq[ctx.speed_done % len(seq)]
        t = TEMPLATES[key]
        params: dict[str, int] = {}
        if t.reps:  # from the least to the most reps over the speed phase
            lo, hi = t.reps
            params["reps"] = lo + round((hi - lo) * min(1.0, ctx.speed_done / max(1, ctx.speed_weeks - 1)))
        if t.warmup:
            params["warmup"] = t.warmup[1]
        if t.cooldown:
            params["cooldown"] = t.cooldown[1]
        return key, params
    # Q2
    if phase == "taper":
        return "strides", {"reps": 4, "warmup": 20, "cooldown": 5}
    if phase == "base":
        if ctx.inputs.days == 3 and week % 2:
            return "strides", {"reps": 6, "warmup": 20, "cooldown": 10}
        return "cadence", {}
    if ctx.hill_weeks < HILL_WEEKS:
        return "hills", {"reps": min(10, 6 + ctx.hill_weeks // 2), "warmup": 15, "cooldown": 10}
    return "tempo", {"minutes": min(30, 15 + 5 * ctx.tempo_done), "warmup": 15, "cooldown": 10}


def _shrink(key: str, params: dict[str, int]) -> dict[str, int] | None:
    """One step lighter (fewer reps, then shorter warm-up/cool-down), or None when it is at its least."""
    t = TEMPLATES[key]
    p = dict(params)
    if t.reps and p.get("reps", t.reps[0]) > t.reps[0]:
        p["reps"] = p.get("reps", t.reps[0]) - 1
        return p
    if t.main and p.get("minutes", t.main[1][0]) > t.main[1][0]:
        p["minutes"] = max(t.main[1][0], p["minutes"] - 5)
        return p
    for name, bounds in (("warmup", t.warmup), ("cooldown", t.cooldown)):
        if bounds and p.get(name, bounds[0]) > bounds[0]:
            p[name] = max(bounds[0], p[name] - 5)
            return p
    return None


def _minutes_for(km: float, easy: float, bounds: tuple[int, int], overhead_min: float = 10) -> int:
    """Whole 5 minutes of easy running that fit in `km` (`overhead_min`: the rest of the session, e.g. the easy
    run's 5-minute warm-up and cool-down), within `bounds`."""
    run = km * easy / 60 - overhead_min
    m = int(run // 5 * 5)
    return min(bounds[1], max(bounds[0], m))


def _split(remaining: float, target: float, n_easy: int, ctx: _Ctx) -> tuple[float, float]:
    """(long run km, each easy day's km) for the `remaining` km of a week: the long run a quarter longer than
    each easy day (:data:`LONG_OVER_EASY`), from :data:`LONG_SHARE` to :data:`LONG_SHARE_MAX` of the week; each
    within its minutes."""

    def km(minutes: float) -> float:
        return (minutes + 10) * 60 / ctx.easy

    lo_long, hi_long = km(LONG_MINUTES[0]), km(LONG_MINUTES[1])
    lo_easy, hi_easy = km(EASY_MINUTES[0]), km(EASY_MINUTES[1])
    if n_easy == 0:  # three days: the long run takes what is left, up to 45 % of the week
        return min(hi_long, max(lo_long, min(remaining, 0.45 * target))), 0.0
    shared = remaining * LONG_OVER_EASY / (n_easy + LONG_OVER_EASY)  # a quarter longer than each easy day
    long_km = min(hi_long, max(lo_long, LONG_SHARE * target, min(shared, LONG_SHARE_MAX * target)))
    each = min(hi_easy, long_km / LONG_OVER_EASY, (remaining - long_km) / n_easy)
    return long_km, max(lo_easy, each)


def _week(
    ctx: _Ctx,
    index: int,
    start: date,
    phase: str,
    light: bool,
    cadence: int,
    target: float,
    trial_days: set[date],
    relief: int = 0,
) -> Week:
    """One week at about `target` km. `relief` 1: the second quality day is an easy run; 2: and the quality
    sessions and the long run at their least (a week whose least is still above what the rules allow)."""
    layout = LAYOUTS[ctx.inputs.days]
    chosen: dict[int, tuple[str, dict[str, int]]] = {}
    easy_offsets = [o for o, slot in layout if slot == "E"]
    for offset, slot in layout:
        day = start + timedelta(days=offset)
        if slot == "Q2" and relief >= 1:
            easy_offsets.append(offset)
        elif slot in ("Q1", "Q2"):
            chosen[offset] = _quality(ctx, phase, slot, index, day in trial_days)
    easy_offsets.sort()
    long_offset = next(o for o, slot in layout if slot == "L")
    # sprints after an easy run: the first easy day of every week but the first and the taper
    strides_offset = easy_offsets[0] if easy_offsets and index > 0 and phase != "taper" else None

    def quality_km() -> float:
        return sum(_measure(ctx, k, p, cadence)[0] for k, p in chosen.values())

    def lighter() -> bool:
        for offset in sorted(chosen, key=lambda o: -_measure(ctx, *chosen[o], cadence)[0]):
            smaller = _shrink(*chosen[offset])
            if smaller is not None:
                chosen[offset] = (chosen[offset][0], smaller)
                return True
        return False

    # the quality sessions give way (fewer reps, shorter warm-ups) when they leave too little for the rest
    easy_least = (EASY_MINUTES[0] + 10) * 60 / ctx.easy
    least_rest = (LONG_MINUTES[0] + 10) * 60 / ctx.easy + easy_least * len(easy_offsets)
    if phase == "taper":
        least_rest = _measure(ctx, "goal", {}, cadence)[0] + easy_least * len(easy_offsets)
    while (relief >= 2 or quality_km() + least_rest > target) and lighter():
        pass
    remaining = max(0.0, target - quality_km())
    sessions: list[tuple[int, str, dict[str, int]]] = [(o, k, p) for o, (k, p) in chosen.items()]
    if phase == "taper":
        long_km = math.inf
        each = (remaining - _measure(ctx, "goal", {}, cadence)[0]) / max(1, len(easy_offsets))
        sessions.append((long_offset, "goal", {}))
    else:
        long_km, each = _split(remaining, target, len(easy_offsets), ctx)
        minutes = LONG_MINUTES[0] if relief >= 2 else _minutes_for(long_km, ctx.easy, LONG_MINUTES)
        sessions.append((long_offset, "long", {"minutes": minutes}))
        long_km = _measure(ctx, "long", {"minutes": minutes}, cadence)[0]
    for o in easy_offsets:
        if o == strides_offset:
            key, name, params = "strides", "warmup", {"reps": 6, "warmup": 10, "cooldown": 5}
            sprints_km = _measure(ctx, key, params, cadence)[0] - 10 * 60 / ctx.easy
            params["warmup"] = _minutes_for(each - sprints_km, ctx.easy, (10, 60), overhead_min=0)
        else:
            key, name, params = "easy", "minutes", {"minutes": _minutes_for(each, ctx.easy, EASY_MINUTES)}
        t = TEMPLATES[key]
        bounds = t.warmup if key == "strides" else (t.main[1] if t.main else None)
        least = bounds[0] if bounds else 0
        # the long run is at least a quarter longer than an easy day (in km)
        while _measure(ctx, key, params, cadence)[0] * LONG_OVER_EASY > long_km and params[name] - 5 >= least:
            params[name] -= 5
        sessions.append((o, key, params))
    sessions.sort()
    out = []
    for offset, key, params in sessions:
        km, secs = _measure(ctx, key, params, cadence)
        out.append(
            Session(
                index=0,
                week=index,
                day=start + timedelta(days=offset),
                template=key,
                params=tuple(sorted(params.items())),
                cadence=cadence,
                distance_km=km,
                planned_s=secs,
            )
        )
    return Week(index, start, phase, light, cadence, tuple(out))


def build_program(inputs: ProgramInputs) -> Program:
    """The program for `inputs` (see the module's docstring); ProgramError for inputs no program fits."""
    vdot_value, goal_vdot = _check(inputs)
    paces = vdot_mod.derived_paces(vdot_value)
    ctx = _Ctx(
        inputs=inputs,
        vdot=vdot_value,
        easy=paces["easy"],
        trial=inputs.trial,
        goal_pace=mile_pace(inputs.goal),
        beginner=inputs.volume_km < BEGINNER_KM or inputs.days <= 3,
    )
    phases = _phases(inputs)
    ctx.speed_weeks = phases.count("speed")
    cadences = _cadences(inputs)
    q1 = next(o for o, slot in LAYOUTS[inputs.days] if slot == "Q1")
    week_starts = [inputs.start + timedelta(days=7 * w) for w in range(inputs.weeks)]
    goal_day = week_starts[-1] + timedelta(days=next(o for o, s in LAYOUTS[inputs.days] if s == "L"))
    trial_days = _trial_days(inputs, [s + timedelta(days=q1) for s in week_starts], goal_day)
    notes: list[str] = []
    least: list[int] = []  # the weeks at their least and above the rules
    weeks: list[Week] = []
    full = inputs.volume_km  # the last full week's volume
    since_light = 0
    cap = max(inputs.volume_km, min(inputs.volume_km * CAP_OVER_START, CAP_KM_PER_DAY * inputs.days))
    for w, phase in enumerate(phases):
        has_trial = week_starts[w] + timedelta(days=q1) in trial_days
        # (a lighter week is lighter than the last full one, and under the cap too: a full week at its least may
        # have been above it)
        if phase == "taper":
            light, target, allowed = True, min(TAPER * full, cap), min(TAPER_AT_MOST * full, cap)
        elif w > 0 and (since_light >= 3 or (has_trial and since_light >= 2)):
            light, target, allowed = True, min(LIGHT * full, cap), min(LIGHTER_THAN * full, cap)
        elif w == 0:
            light, target, allowed = False, full, GROWTH * full
        else:
            light, target = False, min(full * GROWTH, cap)
            allowed = target
        for relief in range(3):  # the week as planned, else with the second quality day easy, else at its least
            week = _week(ctx, w, week_starts[w], phase, light, cadences[w], target, trial_days, relief)
            if week.volume_km <= allowed + 1e-9:
                break
        if w == 0 and week.volume_km > allowed:
            if week.volume_km > RAISED_AT_MOST * inputs.volume_km:
                raise ProgramError(
                    "--volume",
                    f"{inputs.volume_km:g} km a week is less than half of the least {inputs.days} runs a week of"
                    f" this program take ({week.volume_km:.0f} km): run fewer days (--days), or build up with easy"
                    f" runs to about {week.volume_km / RAISED_AT_MOST:.0f} km a week first",
                )
            notes.append(
                f"week 1 is {week.volume_km:.0f} km: the least {inputs.days} runs a week of this program take,"
                f" above your {inputs.volume_km:g} km; with fewer days it would be less"
            )
            cap = max(cap, week.volume_km)
        elif week.volume_km > allowed + 1e-9:
            if week.volume_km > AT_LEAST_OVER_FULL * full + 1e-9:
                # even at its least (a speed session's warm-up, reps and cool-down) the week is over a quarter
                # above the weeks before it: no program of these days fits this volume (the weeks before grow to
                # at most CAP_OVER_START x the runner's volume)
                needed = max(inputs.volume_km + 1, math.ceil(week.volume_km / (AT_LEAST_OVER_FULL * CAP_OVER_START)))
                raise ProgramError(
                    "--volume",
                    f"the least {inputs.days} runs of week {w + 1} of this program take {week.volume_km:.0f} km,"
                    f" over a quarter more than the {full:.0f} km of the weeks before (your {inputs.volume_km:g} km"
                    f" a week): run fewer days (--days), or build up with easy runs to about {needed:g} km a week"
                    " first",
                )
            week = replace(week, at_least=True)
            least.append(w + 1)
        weeks.append(week)
        kinds = {s.kind for s in week.sessions}
        ctx.hill_weeks += "hills" in kinds
        ctx.speed_done += "speed" in kinds
        ctx.tempo_done += "tempo" in kinds
        if light:
            since_light = 0
        else:
            since_light += 1
            full = week.volume_km
    if least:
        notes.append(
            f"week{'s' if len(least) > 1 else ''} {', '.join(map(str, least))}: every session at its least, and"
            " still more than the 10 % rule or a lighter week allows (a bigger session in a small week)"
        )
    if cadences[-1] < inputs.cadence:
        notes.append(
            f"the click reaches {cadences[-1]} of your target {inputs.cadence} steps per minute: a few steps every"
            f" two weeks is as fast as a cadence should rise (a longer program, or --cadence-from higher)"
        )
    index = 0
    numbered: list[Week] = []
    for week in weeks:
        sessions = []
        for s in week.sessions:
            sessions.append(replace(s, index=index))
            index += 1
        numbered.append(replace(week, sessions=tuple(sessions)))
    if goal_vdot > vdot_value * 1.10:
        notes.append(
            f"the goal {inputs.goal} (VDOT {goal_vdot:.1f}) is {100 * (goal_vdot / vdot_value - 1):.0f} % above"
            f" your {inputs.trial} (VDOT {vdot_value:.1f}): a gain that usually takes longer than {inputs.weeks} weeks"
        )
    return Program(inputs, vdot_value, goal_vdot, tuple(numbered), tuple(notes))
