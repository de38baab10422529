"""The program as it stands today: what was done, missed, moved, and the paces of what is left.

:func:`adapt` is pure: the stored plan, the runs and trials in the history and today's date give the same
answer every time, so nothing but the plan is stored, and no status can go stale. Its rules (docs/PROGRAM.md,
each tested in tests/test_program_adapt.py):

1. **Done or shortened.** A planned session is *done* when a recorded run of it (the file ``today`` wrote for
   it, or a run on its day with its name) completed or ran at least 90 % of it; *shortened* when it ran less.
   A shortened session is not repeated: the part run counts.
2. **Missed, and moved.** A session with no run on a day before today is *missed*. A missed quality session
   (hills, speed, tempo, a time trial) *moves* to the first later day of its week (a trial: of the next 7 days)
   from today on that is a rest day or an easy run (which it replaces), and is not next to another quality
   day or the long run. When no day fits, it stays missed: a week is never crammed. Easy and long runs are not
   made up (the volume rule: a missed run is not added to the next one). The goal race never moves.
3. **A short week.** When a past week's runs add up to less than 70 % of its plan, the next week's easy and
   long runs still to come are shortened so that that week is at most 110 % of what was run (the same
   10 % rule as the plan, counted from what was really run).
4. **Paces from the latest trial.** Every session's paces come from the latest trial on or before its day: the
   program's, or one recorded since (``trial add``, or a reviewed trial). A new trial re-derives the paces of
   every session after it, and of nothing before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cadencecoach.program.planner import KEY_KINDS, TEMPLATES, Program, Session, _measured

__all__ = ["DONE_SHARE", "SHORT_WEEK_SHARE", "Entry", "Run", "TrialResult", "adapt", "session_for"]

DONE_SHARE = 0.9
"""A run of at least 90 % of the session's planned time is the session done."""
SHORT_WEEK_SHARE = 0.7
"""A week whose runs add up to less than 70 % of its plan is a short week (rule 3)."""
MOVABLE = frozenset({"hills", "speed", "tempo", "trial"})
GIVES_WAY = frozenset({"easy", "strides", "cadence"})


@dataclass(frozen=True)
class Run:
    """A recorded session of the history, as the program needs it."""

    day: date  # local day it started
    source: str | None  # the file it was loaded from
    name: str  # the workout's name
    status: str  # completed, stopped, interrupted, running
    run_s: float
    planned_s: float


@dataclass(frozen=True)
class TrialResult:
    day: date
    result: str  # "1mi 6:12"
    vdot: float


@dataclass(frozen=True)
class Entry:
    """A session as it stands: its day now, its status, the trial its paces come from."""

    session: Session  # as planned, or re-planned (rule 3: fewer minutes)
    day: date
    status: str  # done, shortened, missed, moved, replaced, today, planned
    trial: str
    run: Run | None = None
    note: str = ""

    @property
    def distance_km(self) -> float:
        return self.session.distance_km

    @property
    def runs_today(self) -> bool:
        return self.status in ("today", "moved") and self.run is None


def _trial_on(program: Program, trials: Sequence[TrialResult], day: date) -> str:
    best = (program.inputs.trial_date, program.inputs.trial)
    for t in sorted(trials, key=lambda t: t.day):
        if program.inputs.trial_date <= t.day <= day:
            best = (t.day, t.result)
    return best[1]


def _match(program: Program, runs: Sequence[Run], path_of: Callable[[Session], str]) -> dict[int, Run]:
    used: set[int] = set()
    out: dict[int, Run] = {}

    def better(r: Run) -> tuple[bool, float]:
        return (r.status == "completed", r.run_s)

    for s in program.sessions:
        path = path_of(s)
        candidates = [i for i, r in enumerate(runs) if i not in used and r.source == path]
        if not candidates:
            candidates = [i for i, r in enumerate(runs) if i not in used and r.day == s.day and r.name == s.title]
        if candidates:
            best = max(candidates, key=lambda i: better(runs[i]))
            used.add(best)
            out[s.index] = runs[best]
    return out


def _remeasure(session: Session, trial: str, goal_pace: str, easy: float) -> Session:
    km, secs = _measured(session.template, session.params, session.cadence, trial, goal_pace, easy)
    return replace(session, distance_km=km, planned_s=secs)


def _easy_pace(trial: str) -> float:
    from cadencecoach.workout import vdot as vdot_mod
    from cadencecoach.workout.units import parse_trial

    meters, secs = parse_trial(trial)
    return vdot_mod.derived_paces(vdot_mod.vdot(float(meters), float(secs)))["easy"]


def _shorter(session: Session, factor: float) -> Session:
    """The session's easy running cut to `factor` (whole 5 minutes, within the template's bounds)."""
    t = TEMPLATES[session.template]
    p = dict(session.params)
    key, bounds = ("minutes", t.main[1]) if t.main else ("warmup", t.warmup)
    if bounds is None or key not in p:
        return session
    p[key] = max(bounds[0], min(p[key], int(p[key] * factor // 5 * 5)))
    return replace(session, params=tuple(sorted(p.items())))


def adapt(
    program: Program,
    runs: Sequence[Run],
    trials: Sequence[TrialResult],
    today: date,
    path_of: Callable[[Session], str],
) -> list[Entry]:
    """Every session of `program` as it stands on `today` (see the module's docstring), in day order."""
    matched = _match(program, runs, path_of)
    goal_pace = program.goal_pace
    entries: dict[int, Entry] = {}
    for s in program.sessions:
        trial = _trial_on(program, trials, s.day)
        if trial != program.inputs.trial:
            s = _remeasure(s, trial, goal_pace, _easy_pace(trial))
        run = matched.get(s.index)
        if run is not None:
            share = run.run_s / s.planned_s if s.planned_s else 1.0
            status = "done" if run.status == "completed" or share >= DONE_SHARE else "shortened"
        elif s.day < today:
            status = "missed"
        elif s.day == today:
            status = "today"
        else:
            status = "planned"
        entries[s.index] = Entry(s, s.day, status, trial, run)

    # rule 2: a missed quality session moves to a free or easy day of its week
    for s in program.sessions:
        e = entries[s.index]
        if e.status != "missed" or s.kind not in MOVABLE:
            continue
        week_end = program.inputs.start + timedelta(days=7 * (s.week + 1) - 1)
        last = s.day + timedelta(days=7) if s.kind == "trial" else week_end
        last = min(last, program.end)
        day = max(today, s.day + timedelta(days=1))
        while day <= last:
            here = [x for x in entries.values() if x.day == day and x.status not in ("replaced", "missed")]
            if all(x.session.kind in GIVES_WAY and x.run is None for x in here) and not _next_to_key(
                entries, day, exclude={s.index, *(x.session.index for x in here)}
            ):
                for x in here:
                    entries[x.session.index] = replace(x, status="replaced", note=f"gave way to {s.title}")
                entries[s.index] = replace(e, day=day, status="moved", note=f"moved from {s.day.strftime('%a %d %b')}")
                break
            day += timedelta(days=1)

    # rule 3: after a short week, the next one is at most 110 % of what was run
    for w in program.weeks[:-1]:
        week_end = w.start + timedelta(days=6)
        if week_end >= today:
            break
        planned = sum(s.distance_km for s in w.sessions)
        ran = 0.0
        for s in w.sessions:
            e = entries[s.index]
            if e.run is not None and e.session.planned_s:
                ran += e.session.distance_km * min(1.0, e.run.run_s / e.session.planned_s)
        if planned <= 0 or ran >= SHORT_WEEK_SHARE * planned:
            continue
        nxt = program.weeks[w.index + 1]
        next_entries = [entries[s.index] for s in nxt.sessions]
        total = sum(x.distance_km for x in next_entries if x.status != "replaced")
        allowed = 1.10 * ran
        if total <= allowed:
            continue
        fixed = sum(
            x.distance_km
            for x in next_entries
            if x.status != "replaced" and not (x.session.kind in ("easy", "long", "strides") and x.day >= today)
        )
        flexible = total - fixed
        factor = max(0.0, (allowed - fixed) / flexible) if flexible > 0 else 1.0
        for x in next_entries:
            if x.session.kind in ("easy", "long", "strides") and x.day >= today and x.status != "replaced":
                cut = _remeasure(_shorter(x.session, factor), x.trial, goal_pace, _easy_pace(x.trial))
                if cut.params != x.session.params:
                    entries[x.session.index] = replace(
                        x, session=cut, note=f"shortened: week {w.index + 1} ran {ran:.0f} of {planned:.0f} km"
                    )
    return sorted(entries.values(), key=lambda e: (e.day, e.session.index))


def _next_to_key(entries: dict[int, Entry], day: date, exclude: set[int]) -> bool:
    for x in entries.values():
        if x.session.index in exclude or x.status in ("replaced", "missed"):
            continue
        if x.session.kind in KEY_KINDS and abs((x.day - day).days) <= 1:
            return True
    return False


def session_for(entries: Sequence[Entry], day: date) -> Entry | None:
    """The session to run on `day` (a moved one included), or None on a rest day."""
    for e in entries:
        if e.day == day and e.status in ("today", "moved", "planned", "done", "shortened"):
            return e
    return None
