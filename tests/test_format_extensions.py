"""The YAML keys our format adds for what imported workouts carry (docs/WORKOUT-FORMAT.md, "Keys for imported
workouts"): ``incline``, ``heart_rate``, pace ranges, open steps (``open: true``, ``lap``) and timed ``cues``;
that the YAML writer and the loader agree on them exactly; grouped warnings; and the reason given with a
workout over 24 hours."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.core.cues import announcement, halfway, preview
from cadencecoach.core.timeline import compile_workout
from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.workout.formats._common import time_extent
from cadencecoach.workout.formats.icu import parse_icu
from cadencecoach.workout.formats.yaml_out import dumps
from cadencecoach.workout.loader import load_workout_text
from cadencecoach.workout.model import (
    HeartRate,
    Repeat,
    Step,
    Workout,
    expand,
    heart_rate_text,
    parse_heart_rate,
    parse_incline,
)
from cadencecoach.workout.source import MAX_REPORTED, Report

HILLS = """\
name: Treadmill hills
steps:
  - warmup: 5min
    incline: 1%
    heart_rate: Z2
  - repeat: 3
    steps:
      - run: 2min
        pace: 4:10-4:00/km
        incline: 10%
        cues:
          - {at: 60s, say: Halfway up}
          - {at: 30s, say: Drive the arms}
      - recover: lap
        incline: 0%
  - cooldown: 400m
    pace: 6:00-6:30/km
    open: true
    heart_rate: 140-150bpm
"""


def steps_of(w: Workout) -> list[Step]:
    return [f.step for f in expand(w)]


def test_the_keys_load_into_the_model() -> None:
    w = load_workout_text(HILLS, "h.yaml")
    warm, run, rec, *_, cool = steps_of(w)
    assert warm.incline == 1 and warm.heart_rate == HeartRate("zone", Fraction(2), Fraction(2))
    assert run.incline == 10 and run.cues == ((30, "Drive the arms"), (60, "Halfway up"))  # in time order
    assert run.pace is not None and run.pace.s_per_m == Fraction(245, 1000)  # timed at the middle
    assert run.pace_range is not None and [p.text for p in run.pace_range] == ["4:10/km", "4:00/km"]
    assert rec.open and rec.duration == 0 and rec.incline == 0
    assert cool.open and cool.duration == 400 * Fraction(375, 1000)  # 400 m at the middle, 6:15/km
    assert cool.pace_range is not None and [p.text for p in cool.pace_range] == ["6:30/km", "6:00/km"]
    assert cool.heart_rate == HeartRate("bpm", Fraction(140), Fraction(150))
    assert not w.cadence_given and load_workout_text("cadence: 180\n" + HILLS, "h.yaml").cadence_given


def test_they_are_spoken() -> None:
    w = load_workout_text(HILLS, "h.yaml")
    flat = expand(w)
    assert announcement(flat[0]) == "Warm-up. 5 minutes. Heart rate zone 2. Incline 1 percent."
    assert announcement(flat[1]) == "Run. 1 of 3. 2 minutes at 4 05 per kilometer. Incline 10 percent."
    assert preview(flat[1]) == "Next: Run, 1 of 3, 2 minutes at 4 05 per kilometer, incline 10 percent."
    assert announcement(flat[-1]).endswith("Heart rate 140 to 150.")
    effort = load_workout_text(
        "name: x\nsteps:\n  - run: 1min\n    effort: easy\n    heart_rate: Z2\n    incline: -2%\n", "x.yaml"
    )
    assert announcement(expand(effort)[0]) == "Run. 1 minute. easy effort. Decline 2 percent."  # the effort wins


@pytest.mark.parametrize(
    ("yaml", "where", "message"),
    [
        ("  - run: 1min\n    incline: 50%\n", (4, 14), "incline 50% is outside -30% to 40%"),
        ("  - run: 1min\n    incline: 10\n", (4, 14), "'incline' is a grade in percent"),
        ("  - run: 1min\n    heart_rate: Z9\n", (4, 17), "'heart_rate' is a zone or a range"),
        ("  - run: 1min\n    heart_rate: 300bpm\n", (4, 17), "outside 30-240 beats per minute"),
        ("  - run: 1min\n    heart_rate: 160-150bpm\n", (4, 17), "write the lower value first"),
        ("  - run: 1min\n    open: maybe\n", (4, 11), "'open' is true or false"),
        ("  - run: 1min\n    pace: 4:00-/km\n", (4, 11), "pace range '4:00-/km' is like '7:15-7:00/km'"),
        ("  - run: 1min\n    pace: 0:10-4:00/km\n", (4, 11), "faster than 1:30/km"),
        ("  - run: 1min\n    cues: hello\n", (4, 11), "'cues' is a list of timed cues"),
        ("  - run: 1min\n    cues:\n      - at: 30s\n", (5, 9), "a timed cue is a mapping with 'at:'"),
        ("  - run: 1min\n    cues:\n      - {at: 1min, say: late}\n", (5, 14), "is not inside its step"),
        ("  - run: 1min\n    cues:\n      - {at: 30, say: x}\n", (5, 14), "'30' has no unit"),
        ("  - run: 1min\n    cues:\n      - {at: 10m, say: x}\n", (5, 14), "is a distance"),
        ("  - run: 1min\n    cues:\n      - {at: 5s, say: x, when: now}\n", (5, 26), "unknown key 'when'"),
        ("  - run: 1min\n    cues:\n      - {at: 5s, say: ''}\n", (5, 23), "'say' must not be empty"),
    ],
)
def test_bad_values_are_problems_at_their_place(yaml: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(WorkoutError) as info:
        load_workout_text("name: x\nsteps:\n" + yaml, "x.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == where and message in problem.message, str(problem)


def test_a_cue_of_an_open_step_without_length_may_be_any_time() -> None:
    w = load_workout_text("name: x\nsteps:\n  - run: lap\n    cues:\n      - {at: 10min, say: Still going}\n", "x")
    assert steps_of(w)[0].cues == ((600, "Still going"),)


def test_written_and_read_back_plan_the_same() -> None:
    w = load_workout_text(HILLS, "h.yaml")
    warns: list[str] = []
    text = dumps(w, warns)
    assert warns == []
    back = load_workout_text(text, "back.yaml")
    assert steps_of(back) == [
        s.__class__(**{**s.__dict__, "line": b.line, "col": b.col})
        for s, b in zip(steps_of(w), steps_of(back), strict=True)
    ]
    assert "    pace: 4:10-4:00/km\n" in text and "  - recover: lap\n" in text and "    open: true\n" in text
    assert "cadence:" not in text  # the source left the default implicit


# ---------------------------------------------------------------------------------------------- properties

zones = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(lambda t: HeartRate("zone", *map(Fraction, sorted(t))))
bpms = st.tuples(st.integers(30, 240), st.integers(30, 240)).map(lambda t: HeartRate("bpm", *map(Fraction, sorted(t))))
percents = st.tuples(st.sampled_from(["%max", "%lthr"]), st.integers(300, 1200), st.integers(300, 1200)).map(
    lambda t: HeartRate(t[0], *sorted((Fraction(t[1], 10), Fraction(t[2], 10))))
)


@given(st.one_of(zones, bpms, percents))
def test_heart_rate_text_reads_back_equal(hr: HeartRate) -> None:
    assert parse_heart_rate(heart_rate_text(hr)) == hr


@given(st.integers(-300, 400))
def test_incline_text_reads_back_equal(tenths: int) -> None:
    grade = Fraction(tenths, 10)
    from cadencecoach.workout.paces import decimal_text

    assert parse_incline(f"{decimal_text(grade)}%") == grade


@st.composite
def imported_steps(draw: st.DrawFn) -> Step:
    """A step as an importer builds it: any of the keys our YAML gained, at exact values."""
    seconds = Fraction(draw(st.integers(1, 3600)), draw(st.sampled_from([1, 2, 4, 10])))
    is_open = draw(st.booleans())
    no_length = is_open and draw(st.booleans())
    duration = Fraction(0) if no_length else seconds
    cue_count = draw(st.integers(0, 3))
    top = duration if duration > 0 else Fraction(7200)
    offsets = sorted(Fraction(draw(st.integers(0, int(top * 10) - 1)), 10) for _ in range(cue_count))
    return Step(
        kind=draw(st.sampled_from(["warmup", "run", "recover", "rest", "cooldown"])),
        extent=time_extent(duration),
        duration=duration,
        label=draw(st.sampled_from(["Run", "Hill", "Jog back down"])),
        open=is_open,
        cues=tuple((o, f"cue {i}") for i, o in enumerate(offsets)),
        incline=draw(st.none() | st.integers(-300, 400).map(lambda t: Fraction(t, 10))),
        heart_rate=draw(st.none() | zones | bpms | percents),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(imported_steps(), min_size=1, max_size=5), st.integers(1, 4))
def test_any_imported_workout_round_trips_through_yaml(steps: list[Step], count: int) -> None:
    w = Workout(name="Imported", steps=(steps[0], Repeat(count, tuple(steps[1:]))) if len(steps) > 1 else tuple(steps))
    back = load_workout_text(dumps(w), "back.yaml")
    assert [(s.kind, s.duration, s.label, s.open, s.cues, s.incline, s.heart_rate) for s in steps_of(back)] == [
        (s.kind, s.duration, s.label, s.open, s.cues, s.incline, s.heart_rate) for s in steps_of(w)
    ]


# ------------------------------------------------------------------------------- warnings, reasons, halfway


def test_warnings_are_grouped_by_problem_with_a_count_and_the_first_place() -> None:
    report = Report("w.txt")
    report.warn(3, 1, "pace 80%: no threshold pace", key="no threshold pace to map percentages on")
    report.warn(1, 2, "distinct")
    for line in range(5, 9):
        report.warn(line, 4, "pace 85%: no threshold pace", key="no threshold pace to map percentages on")
    report.warn(9, 9, "distinct")
    report.warn(10, 1, "alone", key="a key shown only when there are several")
    assert report.warnings == [
        "w.txt:3:1: no threshold pace to map percentages on (5 times; the first here)",
        "w.txt:1:2: distinct (2 times; the first here)",
        "w.txt:10:1: alone",
    ]


def test_distinct_warnings_are_capped() -> None:
    report = Report("w.txt")
    for k in range(MAX_REPORTED + 5):
        report.warn(k + 1, 1, f"problem {k}")
    assert len(report.warnings) == MAX_REPORTED + 1
    assert report.warnings[-1] == f"w.txt: 5 more kinds of warning; only the first {MAX_REPORTED} are shown"


def test_a_failing_file_prints_its_warnings_with_its_problems() -> None:
    err = WorkoutError([Problem("w.txt", 1, 1, "too long")], warnings=["w.txt:7:3: '400m' is 400 minutes"])
    assert err.lines() == ["w.txt:1:1: too long", "warning: w.txt:7:3: '400m' is 400 minutes"]


def test_over_24_hours_says_that_m_is_minutes() -> None:
    text = "Main Set 8x\n- 400m 4:00/km Pace\n- 200m Z1 Pace\n"
    with pytest.raises(WorkoutError) as info:
        parse_icu(text, "w.txt")
    assert info.value.lines()[0] == (
        "w.txt:1:1: the workout lasts 80:00:00, over the 24-hour limit ('400m' at 2:3 is 400 minutes: in "
        "intervals.icu 'm' is minutes; write metres as 'mtr' (400mtr))"
    )
    assert "warning: w.txt:2:3: '400m' is 400 minutes (in intervals.icu 'm' is minutes; metres are 'mtr')" in (
        info.value.lines()
    )


def test_halfway_is_said_in_whole_seconds() -> None:
    assert halfway(Fraction(201, 2)) == "Halfway. 100 seconds to go."
    assert halfway(Fraction(90)) == "Halfway. 90 seconds to go."
    w = load_workout_text("name: x\nsteps:\n  - run: 201s\n", "x.yaml")
    (cue,) = [c for c in compile_workout(w, 8000).cues if c.kind == "halfway"]
    assert cue.text == "Halfway. 100 seconds to go." and cue.at == 8000 * 201 // 2


def test_an_open_distance_step_needs_no_pace() -> None:
    """`run: 500m` + `open: true` with no pace (a FIT workout's distance step with no speed target): no length
    in time, the lap key ends it; written back as such, announced live as its distance."""
    from cadencecoach.workout.formats import for_live

    w = load_workout_text("name: x\nsteps:\n  - run: 500m\n    open: true\n  - recover: lap\n", "x.yaml")
    run, _ = steps_of(w)
    assert run.open and run.duration == 0 and run.extent.amount == 500 and not run.extent.is_time
    text = dumps(w)
    assert "  - run: 500m\n    open: true\n" in text and "  - recover: lap\n" in text
    assert announcement(expand(for_live(w))[0]) == "Run. 500 meters."
    with pytest.raises(WorkoutError, match="a distance step needs a pace"):
        load_workout_text("name: x\nsteps:\n  - run: 500m\n", "x.yaml")  # not open: as the contract says


def test_a_step_with_no_length_is_spoken_as_long_as_you_need_live() -> None:
    """In `run`, an open step the source gave no time (`lap`, or a distance with no pace) plays up to the
    placeholder's 30 minutes: the coach does not announce "30 minutes" nor a halfway of them."""
    from cadencecoach.workout.formats import for_live, with_open_length

    text = "name: x\nsteps:\n  - run: 500m\n    open: true\n  - recover: lap\n  - cooldown: 5min\n    open: true\n"
    live = compile_workout(for_live(load_workout_text(text, "x.yaml")), 8000)
    said = [(c.kind, c.text) for c in live.cues if c.kind != "countdown"]
    assert said[:5] == [
        ("announce", "Run. 500 meters."),
        ("say", "Press n when you are done."),
        ("preview", "Next: Recover, as long as you need."),
        ("announce", "Recover. As long as you need."),
        ("say", "Press n when you are done."),
    ]
    assert ("halfway", "Halfway. 2 minutes 30 seconds to go.") in said  # a nominal length of its own: said
    assert [c.step_index for c in live.cues if c.kind == "halfway"] == [2]
    filed = compile_workout(with_open_length(load_workout_text(text, "x.yaml"), Fraction(60)), 8000)
    assert [c.text for c in filed.cues if c.kind == "announce"][1] == "Recover. 1 minute."  # --open-step: a length
