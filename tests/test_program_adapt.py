"""The program adapts (docs/PROGRAM.md, "The program adapts"): :func:`adapt` on fixed programs with synthetic
runs and trials.

1. done (completed, or >= 90 %) / shortened (< 90 %), matched by the file ``today`` wrote or by day and name;
2. missed, and a missed quality session moved (to a free or easy day of its week, a trial's: of 7 days, not next
   to a key day; else it stays missed), easy and long runs and the goal never;
3. a short week (< 70 %) cuts the next week's easy and long runs still to come to 110 % of what was run;
4. paces from the latest trial on or before each session's day.

The miler (4 days, 12 weeks from Monday 2027-01-04) has, in its first weeks::

    Tue 05 hills     Wed 06 easy      Fri 08 cadence   Sun 10 long
    Tue 12 hills     Wed 13 strides   Fri 15 cadence   Sun 17 long
    ...
    Tue 02-02 trial  Wed 02-03 strides Fri 02-05 hills Sun 02-07 long      (week 5)
    Tue 02-09 800-400 Wed 02-10 strides Fri 02-12 hills Sun 02-14 long     (week 6)
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadencecoach.program import adapt as adapt_mod
from cadencecoach.program import planner
from cadencecoach.program.adapt import Entry, Run, TrialResult, adapt, session_for
from cadencecoach.program.planner import KEY_KINDS, Program, ProgramInputs, Session, build_program, estimate
from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.units import parse_trial
from program_cases import MILER, SIX_DAYS, THREE_DAYS


@functools.cache
def program(x: ProgramInputs = MILER) -> Program:
    return build_program(x)


def path_of(s: Session) -> str:
    return f"/home/runner/.cadencecoach/programs/1/{s.index:03d}-{s.day.isoformat()}-{s.template}.yaml"


def at(p: Program, day: date) -> Session:
    return next(s for s in p.sessions if s.day == day)


def entry(entries: list[Entry], s: Session) -> Entry:
    return next(e for e in entries if e.session.index == s.index)


def run_of(
    s: Session, share: float = 1.0, status: str = "completed", *, by_path: bool = True, day: date | None = None
) -> Run:
    return Run(
        day=day or s.day,
        source=path_of(s) if by_path else None,
        name=s.title,
        status=status,
        run_s=s.planned_s * share,
        planned_s=s.planned_s,
    )


def all_done(p: Program, before: date, *, but: tuple[date, ...] = ()) -> list[Run]:
    """A completed run of every session before `before`, but those on the days `but`."""
    return [run_of(s) for s in p.sessions if s.day < before and s.day not in but]


def d(month: int, day: int) -> date:
    return date(2027, month, day)


def vdot_of(result: str) -> float:
    meters, secs = parse_trial(result)
    return vdot_mod.vdot(float(meters), float(secs))


def measured(s: Session, trial: str, goal_pace: str) -> tuple[float, float]:
    """(km, seconds) of the session's YAML at `trial`'s paces (planner.estimate: easy pace where none is named)."""
    return estimate(s.yaml(trial, goal_pace), vdot_mod.derived_paces(vdot_of(trial))["easy"])


# ------------------------------------------------------------------------------------------- 1. done, shortened


def test_a_completed_run_of_the_file_is_done_however_short() -> None:
    p = program()
    hills = at(p, d(1, 5))
    r = run_of(hills, share=0.3, status="completed")
    e = entry(adapt(p, [r], [], d(1, 7), path_of), hills)
    assert e.status == "done" and e.run == r


@pytest.mark.parametrize(("share", "status"), [(1.0, "done"), (0.9, "done"), (0.899, "shortened"), (0.2, "shortened")])
@pytest.mark.parametrize("run_status", ["stopped", "interrupted"])
def test_done_at_90_percent_shortened_below(share: float, status: str, run_status: str) -> None:
    p = program()
    hills = at(p, d(1, 5))
    e = entry(adapt(p, [run_of(hills, share, run_status)], [], d(1, 7), path_of), hills)
    assert e.status == status


def test_matched_by_day_and_name_without_the_file() -> None:
    p = program()
    easy = at(p, d(1, 6))
    for source in (None, "/somewhere/else/exported.yaml"):
        r = replace(run_of(easy, 0.95, "stopped", by_path=False), source=source)
        e = entry(adapt(p, [r], [], d(1, 7), path_of), easy)
        assert e.status == "done" and e.run == r


def test_not_matched_on_another_day_or_by_another_name() -> None:
    p = program()
    easy = at(p, d(1, 6))
    other_day = run_of(easy, by_path=False, day=d(1, 7))
    other_name = replace(run_of(easy, by_path=False), name="Easy run, 25 min")
    entries = adapt(p, [other_day, other_name], [], d(1, 8), path_of)
    assert entry(entries, easy).status == "missed"
    assert entry(entries, easy).run is None


def test_the_file_matches_whatever_day_it_was_run() -> None:
    """The file `today` wrote for a session is the session (its run may be recorded a day late)."""
    p = program()
    hills = at(p, d(1, 5))
    e = entry(adapt(p, [run_of(hills, day=d(1, 6))], [], d(1, 8), path_of), hills)
    assert e.status == "done"


def test_the_best_of_several_runs_counts() -> None:
    p = program()
    hills = at(p, d(1, 5))
    runs = [run_of(hills, 0.4, "stopped"), run_of(hills, 0.5, "completed"), run_of(hills, 0.8, "stopped")]
    e = entry(adapt(p, runs, [], d(1, 7), path_of), hills)
    assert e.status == "done" and e.run == runs[1]


def test_a_shortened_session_is_not_repeated() -> None:
    p = program()
    hills = at(p, d(1, 12))
    runs = [*all_done(p, d(1, 12)), run_of(hills, 0.5, "stopped")]
    entries = adapt(p, runs, [], d(1, 13), path_of)
    assert entry(entries, hills).status == "shortened"
    assert entry(entries, hills).day == hills.day
    assert not [e for e in entries if e.status in ("moved", "replaced")]
    assert entry(entries, at(p, d(1, 13))).status == "today"


def test_today_and_planned() -> None:
    p = program()
    entries = adapt(p, all_done(p, d(1, 12)), [], d(1, 12), path_of)
    assert entry(entries, at(p, d(1, 12))).status == "today"
    assert entry(entries, at(p, d(1, 13))).status == "planned"
    assert {e.status for e in entries if e.day < d(1, 12)} == {"done"}
    assert [e.session.index for e in entries] == sorted(e.session.index for e in entries)  # day order


# ------------------------------------------------------------------------------------------- 2. missed, moved


def test_a_missed_quality_session_moves_to_the_next_easy_day_which_gives_way() -> None:
    p = program()
    hills, strides = at(p, d(1, 12)), at(p, d(1, 13))
    entries = adapt(p, all_done(p, d(1, 12)), [], d(1, 13), path_of)
    moved = entry(entries, hills)
    assert (moved.status, moved.day) == ("moved", d(1, 13))
    assert "moved from Tue 12 Jan" in moved.note
    gave = entry(entries, strides)
    assert gave.status == "replaced" and gave.day == d(1, 13)
    assert hills.title in gave.note
    assert session_for(entries, d(1, 13)) == moved


def test_a_missed_quality_session_moves_to_a_rest_day_from_today_on() -> None:
    p = program()
    hills, strides = at(p, d(1, 12)), at(p, d(1, 13))
    entries = adapt(p, all_done(p, d(1, 14), but=(d(1, 12),)), [], d(1, 14), path_of)
    assert (entry(entries, hills).status, entry(entries, hills).day) == ("moved", d(1, 14))  # Thursday: rest
    assert entry(entries, strides).status == "done"
    assert not [e for e in entries if e.status == "replaced"]


def test_a_day_with_a_run_does_not_give_way() -> None:
    """Wednesday's strides were run: the missed hills go to Thursday, a rest day."""
    p = program()
    hills = at(p, d(1, 12))
    runs = [*all_done(p, d(1, 12)), run_of(at(p, d(1, 13)))]
    entries = adapt(p, runs, [], d(1, 13), path_of)
    assert (entry(entries, hills).status, entry(entries, hills).day) == ("moved", d(1, 14))


def test_it_stays_missed_when_every_day_left_is_next_to_a_key_day() -> None:
    """Week 6: the missed 800-400 of Tuesday; Thursday is next to Friday's hills, Saturday to Sunday's long run."""
    p = program()
    speed = at(p, d(2, 9))
    assert speed.kind == "speed" and at(p, d(2, 12)).kind == "hills"
    entries = adapt(p, all_done(p, d(2, 11), but=(d(2, 9),)), [], d(2, 11), path_of)
    e = entry(entries, speed)
    assert (e.status, e.day) == ("missed", speed.day)
    assert not [x for x in entries if x.status in ("moved", "replaced")]


def test_a_week_is_never_crammed_beyond_its_end() -> None:
    """A missed hills session (not a trial) does not move into the next week, even to a free day."""
    p = program()
    hills = at(p, d(2, 12))  # Friday of week 6
    entries = adapt(p, all_done(p, d(2, 13), but=(d(2, 12),)), [], d(2, 13), path_of)
    assert entry(entries, hills).status == "missed"
    assert all(e.day == e.session.day for e in entries)


def _with(p: Program, day: date, template: str, params: tuple[tuple[str, int], ...]) -> Program:
    """`p` with the session of `day` replaced by another template (a synthetic program for a corner)."""
    weeks = []
    for w in p.weeks:
        sessions = tuple(replace(s, template=template, params=params) if s.day == day else s for s in w.sessions)
        weeks.append(replace(w, sessions=sessions))
    return replace(p, weeks=tuple(weeks))


def test_a_missed_trial_may_move_into_the_next_7_days() -> None:
    """Week 5's trial (Tuesday 2 Feb), with the rest of its week taken: it goes to Tuesday 9 Feb when that is an
    easy day (a synthetic program: the real layouts put a key day next to every day of the next week)."""
    p = _with(program(), d(2, 9), "easy", (("minutes", 30),))
    trial = at(p, d(2, 2))
    runs = [*all_done(p, d(2, 4), but=(d(2, 2),))]
    entries = adapt(p, runs, [], d(2, 4), path_of)
    e = entry(entries, trial)
    assert (e.status, e.day) == ("moved", d(2, 9))
    assert entry(entries, at(p, d(2, 9))).status == "replaced"
    # and a hills session of the same week, missed the same way, stays in its week
    hills = at(p, d(2, 5))
    entries = adapt(p, all_done(p, d(2, 6), but=(d(2, 5),)), [], d(2, 6), path_of)
    assert entry(entries, hills).status == "missed"


def test_a_missed_trial_with_no_day_in_7_stays_missed() -> None:
    p = program()
    trial = at(p, d(2, 2))
    entries = adapt(p, all_done(p, d(2, 4), but=(d(2, 2),)), [], d(2, 4), path_of)
    assert entry(entries, trial).status == "missed"
    assert entry(entries, trial).day == trial.day


def test_missed_easy_long_and_cadence_runs_are_not_made_up() -> None:
    p = program()
    missed = (d(1, 6), d(1, 8), d(1, 10))  # easy, cadence builder, long
    entries = adapt(p, all_done(p, d(1, 11), but=missed), [], d(1, 11), path_of)
    for day in missed:
        e = entry(entries, at(p, day))
        assert (e.status, e.day) == ("missed", day)
    assert not [e for e in entries if e.status in ("moved", "replaced")]


def test_the_goal_never_moves() -> None:
    p = program()
    goal = p.sessions[-1]
    assert goal.kind == "goal"
    entries = adapt(p, all_done(p, goal.day), [], goal.day + timedelta(days=1), path_of)
    assert (entry(entries, goal).status, entry(entries, goal).day) == ("missed", goal.day)
    entries = adapt(p, all_done(p, goal.day), [], goal.day, path_of)
    assert entry(entries, goal).status == "today"


def test_a_moved_session_run_on_its_new_day_with_its_name_is_done() -> None:
    """Rule 1: done is "a run on its day with its name"; a moved session's day is the day it moved to. The hills
    of Tue 12 Jan moved to Wed 13 Jan; the runner ran them there from the exported file (its name, not the file
    `today` wrote): on Thursday they are done, not moved again, and Wednesday's strides gave way."""
    p = program()
    hills, strides = at(p, d(1, 12)), at(p, d(1, 13))
    before = adapt(p, all_done(p, d(1, 12)), [], d(1, 13), path_of)
    assert entry(before, hills).day == d(1, 13)
    ran = Run(
        d(1, 13),
        "/exports/season/workouts/004-2027-01-12-hills.yaml",
        hills.title,
        "completed",
        hills.planned_s,
        hills.planned_s,
    )
    after = adapt(p, [*all_done(p, d(1, 12)), ran], [], d(1, 14), path_of)
    assert entry(after, hills).status == "done", (
        f"the hills run on their new day are {entry(after, hills).status} on {entry(after, hills).day}"
    )
    assert entry(after, strides).status == "replaced"


def test_the_easy_day_a_moved_session_took_stays_given_way_once_it_is_done() -> None:
    """The hills of Tue 12 Jan moved to Wed 13 Jan and were run there from the file `today` wrote: on Thursday
    they are done, and Wednesday's strides, which gave way to them, are not *missed* (no mark is ever stale)."""
    p = program()
    hills, strides = at(p, d(1, 12)), at(p, d(1, 13))
    before = adapt(p, all_done(p, d(1, 12)), [], d(1, 13), path_of)
    assert entry(before, strides).status == "replaced"
    after = adapt(p, [*all_done(p, d(1, 12)), run_of(hills, day=d(1, 13))], [], d(1, 14), path_of)
    assert entry(after, hills).status == "done"
    assert entry(after, strides).status == "replaced", f"the strides that gave way are {entry(after, strides).status}"


def check_moves(p: Program, entries: list[Entry], today: date) -> None:
    """What rule 2 promises, whatever was missed."""
    assert sorted(e.session.index for e in entries) == [s.index for s in p.sessions]
    assert entries == sorted(entries, key=lambda e: (e.day, e.session.index))
    live = [e for e in entries if e.status not in ("missed", "replaced")]
    keys = sorted((e for e in live if e.session.kind in KEY_KINDS), key=lambda e: e.day)
    for a, b in itertools.pairwise(keys):
        assert (b.day - a.day).days >= 2, f"{a.session.template} {a.day} and {b.session.template} {b.day}"
    days = [e.day for e in live]
    assert len(days) == len(set(days)), "two sessions on one day"
    planned = {s.index: s for s in p.sessions}
    for e in entries:
        s = planned[e.session.index]
        if e.status != "moved":
            assert e.day == s.day
            continue
        assert s.kind in adapt_mod.MOVABLE, f"a {s.kind} moved"
        assert s.day < today <= e.day, (s.day, today, e.day)
        week_end = p.inputs.start + timedelta(days=7 * (s.week + 1) - 1)
        last = s.day + timedelta(days=7) if s.kind == "trial" else week_end
        assert e.day <= min(last, p.end)
        assert e.run is None
        here = [x for x in entries if x.day == e.day and x is not e]
        assert all(x.status == "replaced" and x.session.kind in adapt_mod.GIVES_WAY for x in here), here
    for e in entries:
        if e.status == "replaced":
            assert any(x.status == "moved" and x.day == e.day for x in entries)
            assert e.run is None
        if e.session.kind in ("easy", "long", "goal", "strides", "cadence"):
            assert e.status != "moved"


@st.composite
def missed_sets(draw: st.DrawFn, p: Program) -> tuple[date, frozenset[int]]:
    today = p.inputs.start + timedelta(days=draw(st.integers(0, 7 * p.inputs.weeks + 2)))
    past = [s.index for s in p.sessions if s.day < today]
    missed = draw(st.sets(st.sampled_from(past))) if past else set()
    return today, frozenset(missed)


@pytest.mark.parametrize("x", [MILER, SIX_DAYS, THREE_DAYS], ids=["4d", "6d", "3d"])
def test_no_key_days_back_to_back_after_moves(x: ProgramInputs) -> None:
    p = program(x)

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(missed_sets(p), st.booleans())
    def check(case: tuple[date, frozenset[int]], shortened: bool) -> None:
        today, missed = case
        runs = [
            run_of(s, 0.5 if shortened and s.index % 3 == 0 else 1.0, "stopped")
            for s in p.sessions
            if s.day < today and s.index not in missed
        ]
        entries = adapt(p, runs, [], today, path_of)
        check_moves(p, entries, today)
        for e in entries:
            if e.session.index in missed:
                assert e.status in ("missed", "moved")

    check()


# ------------------------------------------------------------------------------------------- 3. a short week


def week_runs(p: Program, week: int, share_of_plan: float) -> list[Run]:
    """Runs of week `week` (0-based) adding up to about `share_of_plan` of its km: whole sessions, longest first."""
    w = p.weeks[week]
    target = share_of_plan * w.volume_km
    out, total = [], 0.0
    for s in sorted(w.sessions, key=lambda s: -s.distance_km):
        if total + s.distance_km <= target:
            out.append(run_of(s))
            total += s.distance_km
    return out


def ran_km(p: Program, runs: list[Run]) -> float:
    by_path = {path_of(s): s for s in p.sessions}
    return sum(by_path[r.source].distance_km * min(1.0, r.run_s / r.planned_s) for r in runs if r.source)


FLEXIBLE = ("easy", "long", "strides")


def least(s: Session) -> Session:
    """The session with its easy running at the planner's least (docs/PROGRAM.md, rule 3): easy runs 20 minutes,
    long runs 30, the easy running before sprints 10."""
    p = dict(s.params)
    if s.template == "easy":
        p["minutes"] = min(p["minutes"], planner.EASY_MINUTES[0])
    elif s.template == "long":
        p["minutes"] = min(p["minutes"], planner.LONG_MINUTES[0])
    elif "warmup" in p:
        p["warmup"] = min(p["warmup"], 10)
    return replace(s, params=tuple(sorted(p.items())))


@pytest.mark.parametrize("share", [0.6, 0.4, 0.2])
def test_a_short_week_cuts_the_next_weeks_easy_and_long_runs_to_110_percent(share: float) -> None:
    p = program(SIX_DAYS)
    runs = week_runs(p, 0, share)
    ran = ran_km(p, runs)
    assert ran < 0.7 * p.weeks[0].volume_km
    today = p.weeks[1].start
    entries = adapt(p, runs, [], today, path_of)
    nxt = [entry(entries, s) for s in p.weeks[1].sessions]
    cut_any = False
    for s, e in zip(p.weeks[1].sessions, nxt, strict=True):
        if s.kind in FLEXIBLE:  # cut 5 minutes at a time from the longest: some may stay as planned
            assert e.distance_km <= s.distance_km
            if e.session != s:
                cut_any = True
                assert e.note.startswith("shortened: week 1 ran")
                for name, value in e.session.params:
                    assert value <= dict(s.params)[name] and value >= dict(least(s).params)[name], (s, e.session)
            km, secs = measured(e.session, e.trial, p.goal_pace)  # the cut session is measured again
            assert abs(km - e.distance_km) < 1e-9 and abs(secs - e.session.planned_s) < 1e-6
        else:
            assert e.session == s, f"the {s.kind} session was changed"
    assert cut_any
    total = sum(e.distance_km for e in nxt)
    fixed = sum(s.distance_km for s in p.weeks[1].sessions if s.kind not in FLEXIBLE)
    floor = fixed + sum(
        measured(least(s), p.inputs.trial, p.goal_pace)[0] for s in p.weeks[1].sessions if s.kind in FLEXIBLE
    )
    if floor <= 1.10 * ran:
        assert total <= 1.10 * ran + 1e-6, (
            f"week 1 ran {ran:.1f} of {p.weeks[0].volume_km:.1f} km: week 2 is cut to {total:.1f} km, above 110 %"
            f" ({1.10 * ran:.1f}), though its easy and long runs at their least make {floor:.1f}"
        )
    else:  # it cannot be: every easy and long run at its least
        for s, e in zip(p.weeks[1].sessions, nxt, strict=True):
            if s.kind in FLEXIBLE:
                assert e.session.params == least(s).params, f"{e.session.template} {dict(e.session.params)}"


def test_a_short_week_cuts_only_the_runs_still_to_come() -> None:
    p = program(SIX_DAYS)
    w1 = p.weeks[1]
    runs = [*week_runs(p, 0, 0.5), *(run_of(s) for s in w1.sessions[:2])]  # Monday and Tuesday run as planned
    today = w1.start + timedelta(days=2)
    entries = adapt(p, runs, [], today, path_of)
    for s in w1.sessions:
        e = entry(entries, s)
        if s.day < today:
            assert e.session == s and e.status == "done"
        elif s.kind in FLEXIBLE:
            assert e.distance_km < s.distance_km


def test_no_cut_after_a_week_of_70_percent_or_more() -> None:
    p = program(SIX_DAYS)
    runs = week_runs(p, 0, 0.85)
    assert ran_km(p, runs) >= 0.7 * p.weeks[0].volume_km
    entries = adapt(p, runs, [], p.weeks[1].start, path_of)
    assert all(e.session == s for s, e in zip(p.sessions, entries, strict=True))


def test_a_short_week_cuts_the_next_week_only() -> None:
    p = program(SIX_DAYS)
    runs = week_runs(p, 0, 0.4)
    entries = adapt(p, runs, [], p.weeks[1].start + timedelta(days=3), path_of)
    for s in p.weeks[2].sessions:
        assert entry(entries, s).session == s
    assert not any(entry(entries, s).note for s in p.weeks[2].sessions)


def test_no_cut_before_the_week_is_over() -> None:
    p = program(SIX_DAYS)
    runs = week_runs(p, 0, 0.3)
    entries = adapt(p, runs, [], p.weeks[0].start + timedelta(days=6), path_of)  # its Sunday: not over
    assert all(e.session == s for s, e in zip(p.sessions, entries, strict=True))


# ------------------------------------------------------------------------------------------- 4. paces


def test_a_new_trial_rederives_the_sessions_on_and_after_its_day_only() -> None:
    p = program()
    day = d(1, 13)
    new = TrialResult(day, "1mi 6:10", vdot_of("1mi 6:10"))
    entries = adapt(p, [], [new], p.inputs.start, path_of)
    changed = 0
    for s in p.sessions:
        e = entry(entries, s)
        if s.day < day:
            assert e.trial == p.inputs.trial and e.session == s
        else:
            assert e.trial == "1mi 6:10"
            km, secs = measured(s, "1mi 6:10", p.goal_pace)
            assert abs(e.distance_km - km) < 1e-9 and abs(e.session.planned_s - secs) < 1e-6
            assert e.session.params == s.params and e.session.day == s.day
            changed += abs(e.distance_km - s.distance_km) > 0.05
    assert changed > 10  # faster paces: the easy runs cover more ground


def test_the_latest_trial_on_or_before_each_day_wins() -> None:
    p = program()
    trials = [
        TrialResult(d(2, 2), "1mi 6:05", vdot_of("1mi 6:05")),
        TrialResult(d(1, 13), "1mi 6:20", vdot_of("1mi 6:20")),
        TrialResult(d(12, 1) - timedelta(days=400), "1mi 5:00", vdot_of("1mi 5:00")),  # before the program's
    ]
    entries = adapt(p, [], trials, p.inputs.start, path_of)
    for s in p.sessions:
        want = "1mi 6:05" if s.day >= d(2, 2) else "1mi 6:20" if s.day >= d(1, 13) else p.inputs.trial
        assert entry(entries, s).trial == want, s.day


def test_a_trial_older_than_the_programs_changes_nothing() -> None:
    p = program()
    old = TrialResult(p.inputs.trial_date - timedelta(days=1), "1mi 6:00", vdot_of("1mi 6:00"))
    entries = adapt(p, [], [old], p.inputs.start, path_of)
    assert [e.session for e in entries] == p.sessions
    assert {e.trial for e in entries} == {p.inputs.trial}


# ------------------------------------------------------------------------------------------- session_for


def test_session_for_the_moved_session_and_rest_days() -> None:
    p = program()
    hills = at(p, d(1, 12))
    entries = adapt(p, all_done(p, d(1, 12)), [], d(1, 13), path_of)
    moved = session_for(entries, d(1, 13))
    assert moved is not None and moved.session.index == hills.index and moved.status == "moved"
    assert session_for(entries, d(1, 12)) is None  # it left its day
    assert session_for(entries, d(1, 14)) is None  # Thursday: rest
    assert session_for(entries, d(1, 16)) is None  # Saturday: rest
    done = session_for(entries, d(1, 10))
    assert done is not None and done.status == "done"
    later = session_for(entries, d(1, 15))
    assert later is not None and later.status == "planned" and later.session.kind == "cadence"
