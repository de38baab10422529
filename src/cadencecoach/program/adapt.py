"""The program as it stands today: what was done, missed, moved, and the paces of what is left.

:func:`adapt` is pure: the stored plan, the runs and trials in the history and today's date give the same
answer every time, so nothing but the plan is stored, and no status can go stale. Its rules (docs/PROGRAM.md,
each tested in tests/test_program_adapt.py):

1. **Done or shortened.** A planned session is *done* when a recorded run of it (the file ``today`` wrote for
   it, on any day; or a run with its name on its day, or, for a quality session, on a later day of the week it
   could move to) completed or ran at least 90 % of it; *shortened* when it ran less. A shortened session is
   not repeated: the part run counts. A quality session run on another day than planned is shown on that day,
   and the easy session it took the place of *gave way*.
2. **Missed, and moved.** A session with no run on a day before today is *missed*. A missed quality session
   (hills, speed, tempo, a time trial) *moves* to the first later day of its week (a trial: of the next 7 days)
   from today on that is a rest day or an easy day (an easy run, strides or cadence work, which gives way), and
   is not next to another quality day or the long run. When no day fits, it stays missed: a week is never
   crammed. Easy and long runs are not made up (the volume rule: a missed run is not added to the next one).
   The goal race never moves.
3. **A short week.** When a past week's runs (the program's, and any other run that week, at easy pace) add up
   to less than 70 % of its plan, the next week's easy and long runs still to come are cut, 5 minutes at a
   time from the longest, until that week is at most 110 % of what was run, or they are at the planner's least
   (easy runs 20 minutes, long runs 30, the easy running before sprints 10). A week that ended before the
   program was made counts only when the history holds a run in it.
4. **Paces from the latest trial.** Every session's paces come from the latest trial on or before its day: the
   program's, or one recorded since (``trial add``, or a reviewed trial). A new trial re-derives the paces of
   every session after it, and of nothing before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cadencecoach.program.planner import EASY_MINUTES, KEY_KINDS, LONG_MINUTES, Program, Session, _measured

__all__ = [
    "DONE_SHARE",
    "SHORT_WEEK_SHARE",
    "Entry",
    "Run",
    "TrialResult",
    "adapt",
    "by_week",
    "next_session",
    "session_for",
    "week_km",
]

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
    def ran_km(self) -> float:
        """The part of the session run, in km: its distance times the share of its time run (at most all)."""
        if self.run is None or not self.session.planned_s:
            return 0.0
        return self.session.distance_km * min(1.0, self.run.run_s / self.session.planned_s)


def _trial_on(program: Program, trials: Sequence[TrialResult], day: date) -> str:
    best = (program.inputs.trial_date, program.inputs.trial)
    for t in sorted(trials, key=lambda t: t.day):
        if program.inputs.trial_date <= t.day <= day:
            best = (t.day, t.result)
    return best[1]


def _window_end(program: Program, s: Session) -> date:
    """The last day a missed session may be moved to (or run late on): the end of its week; a trial: 7 days."""
    week_end = program.inputs.start + timedelta(days=7 * (s.week + 1) - 1)
    return min(s.day + timedelta(days=7) if s.kind == "trial" else week_end, program.end)


def _match(program: Program, runs: Sequence[Run], path_of: Callable[[Session], str]) -> dict[int, Run]:
    """Each session's run: the run of its file (any day), else a run with its name on its day, else (a moved
    quality session run late) a run with its name on a later day of its window. A run counts once."""
    used: set[int] = set()
    out: dict[int, Run] = {}

    def better(r: Run) -> tuple[bool, float]:
        return (r.status == "completed", r.run_s)

    def take(s: Session, candidates: list[int]) -> None:
        if candidates:
            best = max(candidates, key=lambda i: better(runs[i]))
            used.add(best)
            out[s.index] = runs[best]

    for s in program.sessions:
        take(s, [i for i, r in enumerate(runs) if i not in used and r.source == path_of(s)])
    for s in program.sessions:
        if s.index not in out:
            take(s, [i for i, r in enumerate(runs) if i not in used and r.day == s.day and r.name == s.title])
    for s in program.sessions:
        if s.index not in out and s.kind in MOVABLE:
            last = _window_end(program, s)
            take(s, [i for i, r in enumerate(runs) if i not in used and s.day < r.day <= last and r.name == s.title])
    return out


def _remeasure(session: Session, trial: str, goal_pace: str, easy: float) -> Session:
    km, secs = _measured(session.template, session.params, session.cadence, trial, goal_pace, easy)
    return replace(session, distance_km=km, planned_s=secs)


def _easy_pace(trial: str) -> float:
    from cadencecoach.workout import vdot as vdot_mod
    from cadencecoach.workout.units import parse_trial

    meters, secs = parse_trial(trial)
    return vdot_mod.derived_paces(vdot_mod.vdot(float(meters), float(secs)))["easy"]


def _shorter(session: Session) -> Session | None:
    """The session with 5 minutes less easy running, or None at the planner's least (easy runs
    :data:`~cadencecoach.program.planner.EASY_MINUTES`, long runs :data:`~cadencecoach.program.planner.LONG_MINUTES`,
    the easy running before sprints 10 minutes)."""
    p = dict(session.params)
    key, least = {"easy": ("minutes", EASY_MINUTES[0]), "long": ("minutes", LONG_MINUTES[0])}.get(
        session.template, ("warmup", 10)
    )
    if key not in p or p[key] - 5 < least:
        return None
    p[key] -= 5
    return replace(session, params=tuple(sorted(p.items())))


def adapt(
    program: Program,
    runs: Sequence[Run],
    trials: Sequence[TrialResult],
    today: date,
    path_of: Callable[[Session], str],
    created: date | None = None,
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
        day, note = s.day, ""
        if run is not None:
            share = run.run_s / s.planned_s if s.planned_s else 1.0
            status = "done" if run.status == "completed" or share >= DONE_SHARE else "shortened"
            if run.day != s.day:
                day, note = run.day, f"run on {run.day.strftime('%a %d %b')}, planned {s.day.strftime('%a %d %b')}"
        elif s.day < today:
            status = "missed"
        elif s.day == today:
            status = "today"
        else:
            status = "planned"
        entries[s.index] = Entry(s, day, status, trial, run, note)

    def give_way(day: date, to: Session) -> None:
        for x in list(entries.values()):
            if x.day == day and x.session.index != to.index and x.session.kind in GIVES_WAY and x.run is None:
                entries[x.session.index] = replace(x, status="replaced", note=f"gave way to {to.title}")

    # a quality session run on another day than planned: the easy session of that day gave way to it
    for e in list(entries.values()):
        if e.run is not None and e.day != e.session.day:
            give_way(e.day, e.session)

    # rule 2: a missed quality session moves to a free or easy day of its window
    for s in program.sessions:
        e = entries[s.index]
        if e.status != "missed" or s.kind not in MOVABLE:
            continue
        last = _window_end(program, s)
        day = max(today, s.day + timedelta(days=1))
        while day <= last:
            here = [x for x in entries.values() if x.day == day and x.status not in ("replaced", "missed")]
            if all(x.session.kind in GIVES_WAY and x.run is None for x in here) and not _next_to_key(
                entries, day, exclude={s.index, *(x.session.index for x in here)}
            ):
                entries[s.index] = replace(e, day=day, status="moved", note=f"moved from {s.day.strftime('%a %d %b')}")
                give_way(day, s)
                break
            day += timedelta(days=1)

    # rule 3: after a short week, the next one is at most 110 % of what was run
    matched_runs = {id(r) for r in matched.values()}
    for w in program.weeks[:-1]:
        week_end = w.start + timedelta(days=6)
        if week_end >= today:
            continue  # not over yet
        if created is not None and week_end < created and not any(w.start <= r.day <= week_end for r in runs):
            continue  # over before the program was made, and no run recorded in it: nothing to go by
        planned = sum(s.distance_km for s in w.sessions)
        ran = sum(entries[s.index].ran_km for s in w.sessions)
        easy = _easy_pace(_trial_on(program, trials, w.start))
        for r in runs:  # other runs that week count too, at easy pace
            if id(r) not in matched_runs and w.start <= r.day <= week_end:
                ran += r.run_s / easy
        if planned <= 0 or ran >= SHORT_WEEK_SHARE * planned:
            continue
        nxt = program.weeks[w.index + 1]
        allowed = 1.10 * ran
        flexible = [
            s.index
            for s in nxt.sessions
            if s.kind in ("easy", "long", "strides")
            and entries[s.index].day >= today
            and entries[s.index].status not in ("replaced", "done", "shortened")
        ]

        # 5 minutes off the longest flexible run, down to the planner's least
        while week_km([entries[s.index] for s in nxt.sessions]) > allowed:
            for i in sorted(flexible, key=lambda i: -entries[i].distance_km):
                x = entries[i]
                cut = _shorter(x.session)
                if cut is not None:
                    cut = _remeasure(cut, x.trial, goal_pace, _easy_pace(x.trial))
                    entries[i] = replace(
                        x, session=cut, note=f"shortened: week {w.index + 1} ran {ran:.0f} of {planned:.0f} km"
                    )
                    break
            else:
                break
    return sorted(entries.values(), key=lambda e: (e.day, e.session.index))


def _next_to_key(entries: dict[int, Entry], day: date, exclude: set[int]) -> bool:
    for x in entries.values():
        if x.session.index in exclude or x.status in ("replaced", "missed"):
            continue
        if x.session.kind in KEY_KINDS and abs((x.day - day).days) <= 1:
            return True
    return False


def by_week(entries: Sequence[Entry]) -> dict[int, list[Entry]]:
    """The entries of each week (by the week planned), in the order given."""
    out: dict[int, list[Entry]] = {}
    for e in entries:
        out.setdefault(e.session.week, []).append(e)
    return out


def week_km(entries: Sequence[Entry]) -> float:
    """What a week's sessions add up to as they stand (a session that gave way counts nothing)."""
    return sum(e.distance_km for e in entries if e.status != "replaced")


def next_session(entries: Sequence[Entry], day: date) -> Entry | None:
    """The first session after `day` still to run (planned, or moved there)."""
    return next((e for e in entries if e.day > day and e.status in ("planned", "moved")), None)


def session_for(entries: Sequence[Entry], day: date) -> Entry | None:
    """The session to run on `day` (a moved one included), or None on a rest day."""
    for e in entries:
        if e.day == day and e.status in ("today", "moved", "planned", "done", "shortened"):
            return e
    return None
