"""The workout loader (``cadencecoach.workout.loader``): the YAML contract of shared/spec/workout-format.md, and every
problem reported as ``FILE:LINE:COL: message``."""

from __future__ import annotations

import textwrap
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest

from cadencecoach import pipeline
from cadencecoach.errors import Problem, UsageError, WorkoutError
from cadencecoach.workout.loader import load_workout, load_workout_text
from cadencecoach.workout.model import Repeat, Step, Workout, expand
from cadencecoach.workout.paces import PaceOverrideError, TrialError
from cadencecoach.workout.source import Report, check_totals
from spec_example import SPEC_EXAMPLE

MILE = Fraction(1609344, 1000)


def load(text: str, **kwargs: object) -> Workout:
    return load_workout_text(textwrap.dedent(text), "w.yaml", **kwargs)  # type: ignore[arg-type]


def problems(text: str, **kwargs: object) -> list[str]:
    """The problems a (dedented) workout text produces, as printed."""
    with pytest.raises(WorkoutError) as info:
        load(text, **kwargs)
    err = info.value
    assert err.problems, "a WorkoutError always holds at least one problem"
    assert all(isinstance(p, Problem) for p in err.problems)
    assert str(err) == "\n".join(str(p) for p in err.problems)
    return [str(p) for p in err.problems]


def only_problem(text: str, **kwargs: object) -> str:
    found = problems(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


def steps_of(workout: Workout) -> list[Step]:
    return [f.step for f in expand(workout)]


# ------------------------------------------------------------------------------------ the spec example


def test_spec_example_loads() -> None:
    w = load_workout_text(SPEC_EXAMPLE, "w.yaml")
    assert w.name == "10 x 400 m at mile pace"
    assert w.notes == "60-90 s recovery between reps; stay relaxed, drive the arms."
    assert w.cadence == (180, 180)
    assert w.voice_mode == "full"
    assert w.source == "w.yaml"
    assert w.paces["mile"].s_per_m == Fraction(345) / MILE
    assert w.paces["jog"].s_per_m == Fraction(540) / MILE

    warmup, block, cooldown = w.steps
    assert isinstance(warmup, Step)
    assert (warmup.kind, warmup.duration, warmup.cadence, warmup.label) == ("warmup", 900, (170, 170), "Warm-up")
    assert isinstance(block, Repeat)
    assert block.count == 10
    run, recover = block.steps
    assert isinstance(run, Step)
    assert isinstance(recover, Step)
    assert run.kind == "run"
    assert run.extent.kind == "distance"
    assert run.extent.value == 400
    assert run.pace_name == "mile"
    assert run.pace_spoken
    assert run.duration == 400 * Fraction(345) / MILE  # distance / pace, exactly
    assert run.cadence == (186, 186)
    assert run.say == "Relax the shoulders."
    assert run.click is True
    assert (recover.kind, recover.duration, recover.click, recover.cadence) == ("recover", 90, False, None)
    assert isinstance(cooldown, Step)
    assert (cooldown.kind, cooldown.duration, cooldown.cadence) == ("cooldown", 600, (165, 170))

    assert w.total_steps == 22
    assert w.total_duration == 900 + 10 * (run.duration + 90) + 600
    flat = expand(w)
    assert len(flat) == 22
    assert flat[-1].end == w.total_duration
    assert [f.rep for f in flat[1:3]] == [(1, 10), (1, 10)]
    assert flat[20].rep == (10, 10)
    assert flat[0].rep is None
    assert flat[21].rep is None


def test_load_workout_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "ten.yaml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    w = load_workout(path)
    assert w.name == "10 x 400 m at mile pace"
    assert w.source == str(path)
    assert load_workout(str(path), display="ten.yaml").source == "ten.yaml"


def test_utf8_bom_and_crlf_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_bytes("\ufeffname: Fartlek – hills\r\nsteps:\r\n  - run: 1:30\r\n".encode())
    w = load_workout(path)
    assert w.name == "Fartlek – hills"
    assert w.total_duration == 90


def test_problem_positions_with_crlf_and_bom() -> None:
    text = "\ufeffname: x\r\nsteps:\r\n  - run: 1s\r\n    nope: 1\r\n"
    with pytest.raises(WorkoutError) as info:
        load_workout_text(text, "w.yaml")
    assert [str(p) for p in info.value.problems] == ["w.yaml:4:5: unknown key 'nope'; did you mean 'open'?"]


# ------------------------------------------------------------------------------------- YAML 1.2 times


def test_1_30_is_90_seconds_not_sexagesimal() -> None:
    w = load(
        """\
        name: x
        steps:
          - run: 1:30
          - rest: 1:05:00
          - recover: 0:45
        """
    )
    assert [s.duration for s in steps_of(w)] == [90, 3900, 45]
    assert w.total_duration == 90 + 3900 + 45


@pytest.mark.parametrize(
    ("extent", "seconds"),
    [("90s", 90), ("45 s", 45), ("10min", 600), ("1h", 3600), ("1h15min", 4500), ("1:30", 90), ("1:05:00", 3900)],
)
def test_time_extents_in_a_file(extent: str, seconds: int) -> None:
    w = load(f"name: x\nsteps:\n  - run: {extent}\n")
    assert w.total_duration == seconds


# ------------------------------------------------------------------------------- unknown keys, kinds


def test_unknown_top_level_key_with_suggestion() -> None:
    assert problems("name: x\nstesp:\n  - run: 1s\n") == [
        "w.yaml:1:1: missing 'steps:': a workout needs a non-empty list of steps",
        "w.yaml:2:1: unknown key 'stesp'; did you mean 'steps'?",
    ]


def test_unknown_step_key_with_suggestion() -> None:
    assert (
        only_problem(
            """\
            name: x
            steps:
              - run: 1s
                cadense: 180
            """
        )
        == "w.yaml:4:5: unknown key 'cadense'; did you mean 'cadence'?"
    )


def test_unknown_key_in_a_flow_mapping() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - {run: 1s, cadance: 180}\n")
        == "w.yaml:3:15: unknown key 'cadance'; did you mean 'cadence'?"
    )


def test_unknown_key_in_repeat_block() -> None:
    assert problems(
        """\
        name: x
        steps:
          - run: 1s
          - repeat: 3
            step:
              - run: 1s
        """
    ) == [
        "w.yaml:4:5: a repeat needs its own 'steps:' list",
        "w.yaml:5:5: unknown key 'step' in a repeat block; did you mean 'steps'?",
    ]


def test_a_kind_at_top_level_says_where_steps_go() -> None:
    assert problems("name: x\nwarmup: 10min\nsteps:\n  - run: 1s\n") == [
        "w.yaml:2:1: unknown key 'warmup'; steps go in a list under 'steps:'"
    ]


def test_two_kind_keys() -> None:
    assert (
        only_problem(
            """\
            name: x
            steps:
              - run: 1s
                recover: 2s
            """
        )
        == "w.yaml:4:5: a step has one kind, but this one has 'run' and 'recover': make them two steps"
    )


def test_step_without_kind() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - label: a\n")
        == "w.yaml:3:5: step has no kind: give it one of warmup, run, recover, rest, cooldown (or repeat)"
    )


def test_kind_beside_repeat() -> None:
    assert problems("name: x\nsteps:\n  - repeat: 2\n    run: 1s\n    steps:\n      - run: 1s\n") == [
        "w.yaml:4:5: 'run' cannot sit beside 'repeat:'; put it in the repeat's 'steps:' list"
    ]


# --------------------------------------------------------------------------------------- extents


def test_zero_extent() -> None:
    assert only_problem("name: x\nsteps:\n  - run: 0s\n") == "w.yaml:3:10: '0s' is not a positive extent"


def test_negative_extent() -> None:
    assert only_problem("name: x\nsteps:\n  - run: -5s\n") == "w.yaml:3:10: '-5s' is not a positive extent"


def test_bare_number_extent() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - run: 90\n")
        == "w.yaml:3:10: 'run: 90' has no unit: write '90s', '90min' or '90m'"
    )


def test_1h15m_is_an_error_in_a_file() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - warmup: 1h15m\n")
        == "w.yaml:3:13: '1h15m': 'm' is a distance unit; for minutes write 'min' (e.g. '1h15min')"
    )


def test_missing_extent_points_at_the_kind() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - run:\n    label: a\n")
        == "w.yaml:3:5: 'run' needs an extent: a time like '90s' or a distance like '400m'"
    )


# -------------------------------------------------------------------------------------- cadences


def test_cadence_outside_60_300() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - run: 1s\n    cadence: 301\n")
        == "w.yaml:4:14: cadence 301 is outside 60-300 steps per minute"
    )
    assert only_problem("name: x\ncadence: 59\nsteps:\n  - run: 1s\n") == (
        "w.yaml:2:10: cadence 59 is outside 60-300 steps per minute"
    )
    assert only_problem("name: x\nsteps:\n  - run: 1s\n    cadence: 170-320\n") == (
        "w.yaml:4:14: cadence 320 is outside 60-300 steps per minute"
    )


def test_cadence_ramp_and_bounds_load() -> None:
    w = load("name: x\ncadence: 60\nsteps:\n  - run: 1s\n    cadence: 170-180\n  - run: 1s\n    cadence: 300\n")
    assert w.cadence == (60, 60)
    assert [s.cadence for s in steps_of(w)] == [(170, 180), (300, 300)]


def test_every_problem_is_reported_sorted_by_position() -> None:
    assert problems(
        """\
        name: x
        cadence: 400
        voice: loud
        steps:
          - run: 0s
            cadence: 20
        """
    ) == [
        "w.yaml:2:10: cadence 400 is outside 60-300 steps per minute",
        "w.yaml:3:8: voice must be one of full, minimal, off (got 'loud')",
        "w.yaml:5:10: '0s' is not a positive extent",
        "w.yaml:6:14: cadence 20 is outside 60-300 steps per minute",
    ]


# --------------------------------------------------------------------------------------- repeats


@pytest.mark.parametrize("count", [0, -2])
def test_repeat_below_one(count: int) -> None:
    assert (
        only_problem(f"name: x\nsteps:\n  - repeat: {count}\n    steps:\n      - run: 1s\n")
        == f"w.yaml:3:13: 'repeat' must be at least 1 (got {count})"
    )


def test_repeat_not_a_number() -> None:
    assert (
        only_problem("name: x\nsteps:\n  - repeat: two\n    steps:\n      - run: 1s\n")
        == "w.yaml:3:13: 'repeat' needs a whole number of times, like 'repeat: 10' (got 'two')"
    )


def test_repeat_with_empty_steps() -> None:
    assert only_problem("name: x\nsteps:\n  - repeat: 2\n    steps: []\n") == (
        "w.yaml:4:12: 'steps' is empty: add at least one step"
    )


def test_nested_repeats_expand_with_innermost_rep() -> None:
    w = load(
        """\
        name: x
        steps:
          - repeat: 2
            steps:
              - run: 10s
              - repeat: 3
                steps:
                  - rest: 5s
        """
    )
    assert w.total_steps == 8
    assert w.total_duration == 2 * (10 + 3 * 5)
    flat = expand(w)
    assert [f.rep for f in flat] == [(1, 2), (1, 3), (2, 3), (3, 3), (2, 2), (1, 3), (2, 3), (3, 3)]


# -------------------------------------------------------------------------------------- 24 h cap


def test_24_hour_cap_found_without_expanding() -> None:
    text = "name: x\nsteps:\n  - repeat: 100000\n    steps:\n      - run: 1min\n"
    msg = only_problem(text)
    assert msg == "w.yaml:2:1: the workout lasts 1666:40:00, over the 24-hour limit"


def test_24_hours_exactly_is_allowed_one_second_more_is_not() -> None:
    ok = load("name: x\nsteps:\n  - repeat: 86400\n    steps:\n      - run: 1s\n")
    assert ok.total_duration == 86400
    assert ok.total_steps == 86400
    assert only_problem("name: x\nsteps:\n  - run: 12h\n  - run: 12h\n  - run: 1s\n") == (
        "w.yaml:2:1: the workout lasts 24:00:01, over the 24-hour limit"
    )


def test_astronomical_repeat_counts_are_a_workout_error() -> None:
    big = "9" * 2500  # the product has more digits than Python will print
    text = (
        f"name: x\nsteps:\n  - repeat: {big}\n    steps:\n      - repeat: {big}\n        steps:\n          - run: 1s\n"
    )
    msg = only_problem(text)
    assert msg.startswith("w.yaml:2:1: the workout lasts more than")
    assert msg.endswith("over the 24-hour limit")


def test_too_many_steps_with_tiny_steps() -> None:
    text = "name: x\nsteps:\n  - repeat: 10000000\n    steps:\n      - run: 0.000000000001s\n"
    assert only_problem(text) == (
        "w.yaml:2:1: the workout has 10000000 steps once repeats are expanded; the limit is 200000"
    )
    text = (
        "name: x\nsteps:\n  - repeat: 10000000\n    steps:\n      - repeat: 10000000\n        steps:\n"
        "          - run: 0.000000000001s\n"
    )
    assert only_problem(text) == (
        "w.yaml:2:1: the workout has more than 10^12 steps once repeats are expanded; the limit is 200000"
    )


def test_step_count_too_large_to_print_is_still_a_workout_error() -> None:
    big = "9" * 2500  # 10**5000 steps, each about 1e-8000 s long: more digits than Python prints
    tiny = "0." + "0" * 4000 + "1"
    text = (
        f"name: x\nsteps:\n  - repeat: {big}\n    steps:\n      - repeat: {big}\n        steps:\n"
        f"          - run: {tiny}m\n            pace: 0:{tiny.replace('0.', '00.', 1)}/km\n"
    )
    # the pace is refused too now (faster than any runner), and both are reported
    first, second = problems(text)
    assert first.startswith("w.yaml:2:1: the workout has more than 10^12 steps")
    assert second.startswith("w.yaml:8:19: pace '0:00.") and "faster than 1:30/km" in second
    report = Report("w.yaml")  # the count itself, however it comes about
    assert not check_totals(report, (2, 1), Fraction(1), 10**5000)
    assert [str(p) for p in report.problems] == [
        "w.yaml:2:1: the workout has more than 10^12 steps once repeats are expanded; the limit is 200000"
    ]


# ----------------------------------------------------------------------------------------- paces


def test_unknown_pace_with_suggestion() -> None:
    assert (
        only_problem(
            """\
            name: x
            paces:
              mile: 5:45/mi
            steps:
              - run: 400m
                pace: mlie
            """
        )
        == "w.yaml:6:11: unknown pace 'mlie'; did you mean 'mile'?"
    )


@pytest.mark.parametrize("name", ["mile", "threshold", "easy", "interval", "5k", "marathon"])
def test_derived_pace_without_trial(name: str) -> None:
    assert only_problem(f"name: x\nsteps:\n  - run: 400m\n    pace: {name}\n") == (
        f"w.yaml:4:11: pace '{name}' is derived from a time trial: add 'trial: 1mi 6:00' (your result) to the "
        f"workout, pass --trial, or define '{name}' under 'paces:'"
    )


def test_distance_step_without_pace() -> None:
    assert only_problem("name: x\nsteps:\n  - run: 400m\n") == (
        "w.yaml:3:10: a distance step needs a pace: add 'pace:' to the step or define 'run' under 'paces:'"
    )


def test_distance_step_takes_the_pace_named_like_its_kind() -> None:
    w = load(
        """\
        name: x
        paces:
          recover: 6:00/km
        steps:
          - recover: 400m
        """
    )
    (step,) = steps_of(w)
    assert step.duration == Fraction(400 * 360, 1000)  # 144 s
    assert step.pace is not None
    assert step.pace.s_per_m == Fraction(360, 1000)
    assert step.pace_name == "recover"
    assert not step.pace_spoken  # the kind-named pace is not announced


def test_a_kind_named_pace_is_only_for_its_kind() -> None:
    assert only_problem("name: x\npaces:\n  warmup: 10:00/mi\nsteps:\n  - recover: 400m\n") == (
        "w.yaml:5:14: a distance step needs a pace: add 'pace:' to the step or define 'recover' under 'paces:'"
    )


def test_literal_pace_on_a_step() -> None:
    w = load("name: x\nsteps:\n  - run: 1.2km\n    pace: 4:00/km\n  - run: 0.75mi\n    pace: 1:30/400m\n")
    a, b = steps_of(w)
    assert a.duration == 1200 * Fraction(240, 1000)
    assert b.duration == Fraction(3, 4) * MILE * Fraction(90, 400)
    assert a.pace_spoken
    assert a.pace_name is None


def test_bad_literal_pace() -> None:
    assert only_problem("name: x\nsteps:\n  - run: 1s\n    pace: 4:30/fathom\n") == (
        "w.yaml:4:11: cannot read pace '4:30/fathom': write it like '4:30/km', '7:15/mi' or '1:26/400m' "
        "(per km, mi, 200m, 400m, 800m or 1000m)"
    )


@pytest.mark.parametrize(
    ("trial", "name", "seconds_per_km"),
    [
        ("1mi 6:00", "mile", 360 / 1.609344),
        ("5k 19:57", "5k", 1197 / 5),
        ("half 1:30:00", "half", 5400 / 21.0975),
        ("10k 40:00", "10k", 240.0),
        ("marathon 3:10:49", "marathon", 11449 / 42.195),
    ],
)
def test_trial_derives_its_own_race_pace(trial: str, name: str, seconds_per_km: float) -> None:
    w = load(f"name: x\ntrial: {trial}\nsteps:\n  - run: 400m\n    pace: {name}\n")
    assert w.paces[name].s_per_km == pytest.approx(seconds_per_km, rel=1e-6)
    assert w.trial_source == "workout"
    assert w.vdot is not None
    (step,) = steps_of(w)
    assert step.duration == pytest.approx(0.4 * seconds_per_km, rel=1e-6)


def test_trial_derives_every_named_pace_in_order() -> None:
    w = load("name: x\ntrial: 5k 19:57\nsteps:\n  - run: 1s\n")
    names = ("mile", "3k", "5k", "10k", "half", "marathon", "easy", "threshold", "interval", "repetition")
    assert set(names) <= set(w.paces)
    assert w.vdot == pytest.approx(50, abs=0.3)  # Daniels' tables: 5K 19:57 is VDOT 50
    km = {n: w.paces[n].s_per_km for n in names}
    assert km["mile"] < km["3k"] < km["5k"] < km["10k"] < km["half"] < km["marathon"]
    assert km["repetition"] < km["interval"] < km["threshold"] < km["marathon"] < km["easy"]


def test_bad_trial_in_file() -> None:
    assert only_problem("name: x\ntrial: 1mi\nsteps:\n  - run: 1s\n") == (
        "w.yaml:2:8: cannot read trial '1mi': write a distance and a time, like '1mi 6:00' or '5k 19:57'"
    )


def test_absurd_trials_are_workout_errors() -> None:
    msg = only_problem("name: x\ntrial: 1mi 0:01\nsteps:\n  - run: 1s\n")
    assert msg.startswith("w.yaml:2:8: trial '1mi 0:01' gives a VDOT of")
    huge = "1" + "0" * 400
    assert only_problem(f"name: x\ntrial: 1mi {huge}:00\nsteps:\n  - run: 1s\n").startswith("w.yaml:2:8: trial")
    assert only_problem(f"name: x\ntrial: {huge}m 6:00\nsteps:\n  - run: 1s\n").startswith("w.yaml:2:8: ")


PRECEDENCE = """\
name: x
trial: 5k 19:57
paces:
  mile: 6:00/mi
steps:
  - run: 1mi
    pace: mile
  - run: 1km
    pace: 5k
"""


def test_written_paces_win_over_derived() -> None:
    w = load(PRECEDENCE)
    assert w.paces["mile"].s_per_m == Fraction(360) / MILE
    a, b = steps_of(w)
    assert a.duration == 360
    assert b.duration == pytest.approx(1197 / 5, rel=1e-6)


def test_pace_override_wins_over_written_and_derived() -> None:
    w = load(PRECEDENCE, pace_overrides={"mile": "5:00/mi", "5k": "4:00/km"})
    a, b = steps_of(w)
    assert a.duration == 300
    assert b.duration == 240
    assert w.paces["mile"].s_per_m == Fraction(300) / MILE


def test_pace_override_can_define_a_missing_pace() -> None:
    w = load("name: x\nsteps:\n  - run: 400m\n    pace: goal\n", pace_overrides={"goal": "1:20/400m"})
    assert w.total_duration == 80


def test_bad_pace_override_is_a_usage_error(tmp_path: Path) -> None:
    """The loader says what is wrong with the value; the pipeline (which knows the option) names it."""
    with pytest.raises(PaceOverrideError) as info:
        load(PRECEDENCE, pace_overrides={"mile": "fast"})
    assert (info.value.name, info.value.value) == ("mile", "fast")
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(PRECEDENCE))
    with pytest.raises(UsageError, match=r"^--pace mile=fast: "):
        pipeline.load(str(path), ["mile=fast"], use_history=False)


def test_trial_override_replaces_the_workout_trial() -> None:
    w = load(PRECEDENCE, trial_override="1mi 5:00")
    assert w.trial_source == "--trial"
    assert w.trial == (MILE, 300)
    a, b = steps_of(w)
    assert a.duration == 360  # paces: still wins over a derived pace
    assert b.duration < 1197 / 5 - 20  # 5k pace now derived from a much faster trial


def test_trial_override_derives_without_a_trial_in_the_file() -> None:
    w = load("name: x\nsteps:\n  - run: 1mi\n    pace: mile\n", trial_override="1mi 6:00")
    assert w.total_duration == pytest.approx(360, rel=1e-6)


def test_bad_trial_override_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(TrialError):
        load(PRECEDENCE, trial_override="fast")
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(PRECEDENCE))
    with pytest.raises(UsageError, match=r"^--trial: cannot read trial 'fast'"):
        pipeline.load(str(path), trial="fast", use_history=False)


def test_out_of_range_trial_override_is_the_options_problem() -> None:
    # like the importers': the option is named (pipeline turns TrialError into "--trial: ..."), not the file
    with pytest.raises(TrialError, match=r"^trial '1mi 59:00' gives a VDOT of .*range \(10-100\)$"):
        load("name: x\nsteps:\n  - run: 1min\n", trial_override="1mi 59:00")


def test_pace_alias_to_a_derived_pace() -> None:
    w = load("name: x\ntrial: 1mi 6:00\npaces:\n  fast: interval\nsteps:\n  - run: 400m\n    pace: fast\n")
    assert w.paces["fast"] == w.paces["interval"]


# --------------------------------------------------------------------------- other keys and values


def test_voice_modes() -> None:
    assert load("name: x\nvoice: minimal\nsteps:\n  - run: 1s\n").voice_mode == "minimal"
    assert load("name: x\nvoice: off\nsteps:\n  - run: 1s\n").voice_mode == "off"
    assert load("name: x\nsteps:\n  - run: 1s\n").voice_mode == "full"


def test_step_options() -> None:
    w = load(
        """\
        name: x
        steps:
          - run: 30s
            label: Hill sprint
            effort: 85%
            breathing: 3:2
            click: off
            say: Drive the arms.
          - run: 30s
            effort: 90
            breathing: 2:2
        """
    )
    a, b = steps_of(w)
    assert (a.label, a.effort, a.breathing, a.click, a.say) == ("Hill sprint", "85%", (3, 2), False, "Drive the arms.")
    assert (b.label, b.effort, b.breathing, b.click) == ("Run", "90%", (2, 2), True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("click: maybe", "w.yaml:4:12: 'click' is on or off (got 'maybe')"),
        ("breathing: 3-2", "w.yaml:4:16: 'breathing' is inhale:exhale steps, like '3:2' or '2:2' (got '3-2')"),
        ("effort: ''", "w.yaml:4:13: 'effort' is text or a percentage like '85%'"),
        ("pace: [1]", "w.yaml:4:11: 'pace' is a pace name (like 'mile') or a pace like '5:45/mi'"),
    ],
)
def test_bad_step_values(line: str, expected: str) -> None:
    assert only_problem(f"name: x\nsteps:\n  - run: 1s\n    {line}\n") == expected


def test_missing_name() -> None:
    assert only_problem("steps:\n  - run: 1s\n") == "w.yaml:1:1: missing 'name:'"


def test_empty_name_points_at_its_key() -> None:
    assert only_problem("name:\nsteps:\n  - run: 1s\n") == "w.yaml:1:1: 'name' must be text"


def test_not_a_mapping() -> None:
    msg = "w.yaml:1:1: a workout is a mapping with 'name:' and 'steps:' at the top level"
    assert only_problem("- run: 1s\n") == msg
    assert only_problem("just text\n") == msg


def test_step_not_a_mapping() -> None:
    assert only_problem("name: x\nsteps:\n  - 3\n  - run: 1s\n") == (
        "w.yaml:3:5: a step is a mapping like '- run: 400m' or '- repeat: 4'"
    )


# ------------------------------------------------------------------------------------ empty, broken


def test_empty_steps() -> None:
    assert only_problem("name: x\nsteps: []\n") == "w.yaml:2:8: 'steps' is empty: add at least one step"


def test_null_steps_points_at_the_key() -> None:
    assert (
        only_problem("name: x\nsteps:\n")
        == "w.yaml:2:1: 'steps' must be a list of steps (each line starting with '- ')"
    )


def test_steps_not_a_list() -> None:
    assert only_problem("name: x\nsteps: 3\n") == (
        "w.yaml:2:8: 'steps' must be a list of steps (each line starting with '- ')"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "   "])
def test_empty_file(text: str) -> None:
    assert only_problem(text) == "w.yaml:1:1: the file is empty: a workout needs 'name:' and 'steps:'"


def test_empty_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    with pytest.raises(WorkoutError) as info:
        load_workout(path, display="empty.yaml")
    assert str(info.value) == "empty.yaml:1:1: the file is empty: a workout needs 'name:' and 'steps:'"


def test_malformed_yaml_with_position() -> None:
    assert only_problem("name: x\nsteps:\n  - run: 1s\n\tlabel: a\n") == (
        "w.yaml:4:1: malformed YAML: while scanning for the next token found character '\\t' "
        "that cannot start any token"
    )
    assert only_problem("name: x\nsteps:\n  - run: 1s\nname: y\n").startswith(
        'w.yaml:4:1: malformed YAML: while constructing a mapping found duplicate key "name"'
    )
    assert only_problem("name: x\nsteps:\n  - run: [1s\n").startswith("w.yaml:4:1: malformed YAML: ")
    assert only_problem("name: x\nsteps:\n  - run: 1s\n    label: a\n   pace: b\n").startswith(
        "w.yaml:5:4: malformed YAML: "
    )


@pytest.mark.parametrize("text", ["[" * 1000, "- " * 5000, "{a: " * 5000], ids=["flow-seq", "block-seq", "flow-map"])
def test_deeply_nested_yaml_is_a_workout_error(text: str) -> None:
    msg = only_problem(text)
    assert msg.startswith("w.yaml:1:1: ")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\nsteps:\n  - run: 9\xff0s\n")
    with pytest.raises(WorkoutError) as info:
        load_workout(path, display="w.yaml")
    assert str(info.value) == "w.yaml:3:11: not UTF-8 text (byte 0xff); save the file as UTF-8"


def test_non_utf8_column_counts_characters(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_bytes("name: é\xff".encode("utf-8", errors="surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(WorkoutError) as info:
        load_workout(path, display="w.yaml")
    assert str(info.value) == "w.yaml:1:8: not UTF-8 text (byte 0xff); save the file as UTF-8"


def test_binary_file_with_nul(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_bytes(b"name: x\nsteps:\x00\x01\x02\n")
    with pytest.raises(WorkoutError) as info:
        load_workout(path, display="w.yaml")
    assert str(info.value) == "w.yaml:2:7: binary data (a NUL byte): not a YAML workout file"


def test_png_header_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "img.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(WorkoutError) as info:
        load_workout(path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].file == str(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(WorkoutError) as info:
        load_workout(path)
    assert str(info.value) == f"{path}:1:1: no such file"


def test_directory_is_not_a_workout(tmp_path: Path) -> None:
    with pytest.raises(WorkoutError) as info:
        load_workout(tmp_path, display="dir")
    assert str(info.value) == "dir:1:1: is a directory, not a workout file"


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"name: x\n" + b"#" * 1_100_000 + b"\n")
    with pytest.raises(WorkoutError, match="a YAML workout is at most 128 KiB"):
        load_workout(path)


# ------------------------------------------------------------------------------------ alias bombs


def _bomb_of_step_lists(levels: int = 30, width: int = 10, leaf: str = "1s") -> str:
    """Billion laughs: every level is a list of `width` repeats of the previous level's step list."""
    lines = ["name: bomb", "steps:", "  - repeat: 1", "    steps: &l0", f"      - run: {leaf}"]
    for i in range(1, levels):
        items = ", ".join([f"{{repeat: 2, steps: *l{i - 1}}}"] * width)
        lines += ["  - repeat: 1", f"    steps: &l{i} [{items}]"]
    return "\n".join(lines) + "\n"


def _bomb_of_repeat_blocks(levels: int = 40, width: int = 10) -> str:
    """Every level is a repeat block whose steps are `width` aliases of the previous block."""
    lines = ["name: bomb", "steps:", "  - &r0 {repeat: 3, steps: [{run: 1s}, {rest: 2s, click: off}]}"]
    for i in range(1, levels):
        items = ", ".join([f"*r{i - 1}"] * width)
        lines.append(f"  - &r{i} {{repeat: 2, steps: [{items}]}}")
    return "\n".join(lines) + "\n"


def _bomb_under_24h(levels: int = 25) -> str:
    """Doubling per level with tiny steps: under 24 hours, but 2**25 steps once expanded."""
    lines = ["name: bomb", "steps:", "  - &b0 {run: 0.000001s}"]
    for i in range(1, levels):
        lines.append(f"  - &b{i} {{repeat: 1, steps: [*b{i - 1}, *b{i - 1}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_bomb_of_step_lists(), "over the 24-hour limit"),
        (_bomb_of_step_lists(leaf="0.000001s"), "over the 24-hour limit"),
        (_bomb_of_repeat_blocks(), "over the 24-hour limit"),
        (_bomb_under_24h(), "steps once repeats are expanded"),
    ],
    ids=["step-lists", "tiny-steps", "repeat-blocks", "under-24h"],
)
def test_alias_bombs_fail_in_bounded_memory(text: str, message: str) -> None:
    with pytest.raises(WorkoutError) as info:
        load_workout_text(text, "w.yaml")
    assert any(message in p.message for p in info.value.problems), str(info.value)
    tracemalloc.start()
    try:
        with pytest.raises(WorkoutError):
            load_workout_text(text, "w.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000


def test_small_alias_reuse_loads_and_counts() -> None:
    w = load(
        """\
        name: x
        steps:
          - &set {repeat: 2, steps: [{run: 10s}, {rest: 5s}]}
          - *set
          - repeat: 3
            steps: [*set]
        """
    )
    assert w.total_steps == 4 + 4 + 12
    assert w.total_duration == 5 * 2 * 15
    assert len(expand(w)) == 20


def test_pace_without_unit_says_which_units() -> None:
    msg = only_problem("name: x\nsteps:\n  - run: 1km\n    pace: 4:30\n")
    assert msg == "w.yaml:4:11: pace '4:30' needs a unit: write '4:30/km', '4:30/mi' or '4:30/400m'"


# --------------------------------------------------------------------------- aliases and --pace


def test_pace_override_reaches_the_aliases_of_the_pace() -> None:
    """--pace wins over everything: an alias of the overridden pace follows it."""
    text = "name: x\npaces:\n  steady: 5:00/km\n  jog: steady\nsteps:\n  - run: 1km\n    pace: jog\n"
    assert load(text).total_duration == 300
    w = load(text, pace_overrides={"steady": "4:00/km"})
    assert w.total_duration == 240
    assert w.paces["jog"] == w.paces["steady"]


def test_pace_override_of_an_alias_replaces_the_alias() -> None:
    text = "name: x\npaces:\n  steady: 5:00/km\n  jog: steady\nsteps:\n  - run: 1km\n    pace: jog\n"
    w = load(text, pace_overrides={"jog": "6:00/km"})
    assert w.total_duration == 360
    assert w.paces["steady"] != w.paces["jog"]


def test_an_alias_may_name_an_alias_written_below_it() -> None:
    text = "name: x\npaces:\n  easy1: easy2\n  easy2: base\n  base: 6:00/km\nsteps:\n  - run: 1km\n    pace: easy1\n"
    w = load(text)
    assert w.total_duration == 360
    assert w.paces["easy1"] == w.paces["easy2"] == w.paces["base"]


def test_an_alias_of_the_same_name_as_a_derived_pace_wins_over_it() -> None:
    text = "name: x\ntrial: 1mi 6:00\npaces:\n  fast: easy\n  easy: 6:30/km\nsteps:\n  - run: 1km\n    pace: fast\n"
    assert load(text).total_duration == 390


def test_aliases_in_a_circle_are_one_clear_error() -> None:
    text = "name: x\npaces:\n  a: b\n  b: c\n  c: a\nsteps:\n  - run: 1km\n    pace: a\n"
    found = only_problem(text)
    assert found.startswith("w.yaml:5:6: pace 'c' is an alias of 'a'") and "go round in a circle" in found, found


def test_a_chain_of_aliases_to_an_unknown_pace_is_reported_once_where_it_ends() -> None:
    text = "name: x\npaces:\n  a: b\n  b: nowhere\nsteps:\n  - run: 1km\n    pace: a\n"
    assert problems(text) == ["w.yaml:4:6: unknown pace 'nowhere'"]


def test_a_long_chain_of_aliases_written_in_reverse_order_resolves() -> None:
    n = 20_000  # reversed order: each alias names the one written below it
    lines = [f"  p{i}: p{i + 1}" for i in range(n)] + [f"  p{n}: 5:00/km"]
    text = "name: x\npaces:\n" + "\n".join(lines) + "\nsteps:\n  - run: 1km\n    pace: p0\n"
    w = load(text)
    assert w.total_duration == 300
    assert w.paces["p0"] == w.paces[f"p{n}"]
