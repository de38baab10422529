"""intervals.icu workout text (``workout.formats.icu``): steps, repeats, targets, cues, open steps, errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cadencecoach.core.timeline import compile_workout
from cadencecoach.errors import UsageError, WorkoutError
from cadencecoach.workout.formats import import_workout
from cadencecoach.workout.formats.icu import parse_icu, parse_time
from cadencecoach.workout.model import HeartRate, Repeat, Step, expand
from cadencecoach.workout.paces import LoadOptions, PaceOverrideError, TrialError
from cadencecoach.workout.vdot import derived_paces

EXAMPLES = Path(__file__).resolve().parent.parent / "workouts" / "examples"
T = {"threshold": "4:00/km"}  # threshold speed 1000/240 m/s


def steps_of(result) -> list[Step]:  # type: ignore[no-untyped-def]
    return [f.step for f in expand(result.workout)]


@pytest.mark.parametrize(
    ("token", "seconds"),
    [
        ("10m", 600),
        ("30s", 30),
        ("1h", 3600),
        ("1m30", 90),
        ("1h2m30s", 3750),
        ("1h30", 5400),
        ("5'", 300),
        ('30"', 30),
        ("1'30\"", 90),
        ("1.5m", 90),
        ("90", None),
        ("10x", None),
        ("400mtr", None),
    ],
)
def test_durations(token: str, seconds: int | None) -> None:
    assert parse_time(token) == (None if seconds is None else Fraction(seconds))


def test_the_issue_example() -> None:
    text = "Main Set 6x\n- 400mtr 3:50/km Pace 90rpm\n- Recover 90s Z1 Pace\n"
    r = parse_icu(text, "w.txt", options=LoadOptions(pace_overrides=T))
    (rep,) = r.workout.steps
    assert isinstance(rep, Repeat) and rep.count == 6
    run, rec = rep.steps
    assert run.kind == "run" and run.extent.kind == "distance" and run.extent.value == 400
    assert run.pace is not None and run.pace.s_per_m == Fraction(230, 1000)
    assert run.duration == 400 * Fraction(230, 1000)  # exact: 92 s
    assert run.cadence == (180, 180)  # 90 strides per minute = 180 steps per minute
    assert run.pace_name is None and run.pace_spoken  # a literal pace: "at 3 50 per kilometer"
    assert rec.kind == "recover" and rec.label == "Recover" and rec.duration == 90
    assert rec.pace_name == "Z1"  # intervals.icu's Z1: 72.5% of threshold speed
    assert rec.pace is not None and rec.pace.s_per_m == Fraction(
        round(Fraction(240, 1000) / Fraction(725, 1000) * 100000), 100000
    )
    assert r.workout.total_steps == 12 and r.workout.total_duration == 6 * (92 + 90)
    assert r.warnings == []


def test_sections_warmup_cooldown_labels_and_cues() -> None:
    text = """\
Warmup
- 15m ramp 60-80% Pace 85rpm

Strides 4x
- 20s 3:30/km Pace
- 40s Z1 Pace

- Tempo 2km Z4 Pace
- Focus on form, tall hips 5m 4:10/km Pace
- Push 33^Hold your form <!> 3m 4:10/km Pace

Cooldown
- Easy jog 10m Z2 Pace
"""
    r = parse_icu(text, "w.txt", options=LoadOptions(pace_overrides=T))
    items = r.workout.steps
    warm = items[0]
    assert isinstance(warm, Step) and warm.kind == "warmup" and warm.cadence == (170, 170)
    assert warm.pace_name == "70% threshold"  # a ramp keeps its middle ...
    assert any("ramp 60-80%" in w and "w.txt:2:" in w for w in r.warnings)  # ... with a warning
    strides = items[1]
    assert isinstance(strides, Repeat) and strides.count == 4
    assert [s.kind for s in strides.steps] == ["run", "recover"]
    assert strides.steps[0].label == "Strides"  # the section names its run steps
    tempo, focus, push, cool = items[2:]
    assert isinstance(tempo, Step) and tempo.label == "Tempo" and tempo.extent.unit == "km"
    assert isinstance(focus, Step) and focus.label == "Run" and focus.say == "Focus on form, tall hips"
    assert isinstance(push, Step) and push.label == "Push" and push.cues == ((Fraction(33), "Hold your form"),)
    assert isinstance(cool, Step) and cool.kind == "cooldown" and cool.label == "Easy jog"


def test_timed_prompt_becomes_a_custom_cue() -> None:
    r = parse_icu("- Push 33^Hold your form <!> 3m 4:10/km Pace\n", "w.txt")
    tl = compile_workout(r.workout, 8000)
    custom = [c for c in tl.cues if c.kind == "custom"]
    assert [(c.at, c.text) for c in custom] == [(33 * 8000, "Hold your form")]
    assert tl.to_json()["cues"][1]["kind"] == "custom"


def test_unmapped_targets_are_warnings_and_spoken() -> None:
    text = "- 5m 70% HR\n- 5m 95% LTHR\n- 1m30 Z2\n- 2m 250w - 270w\n- 2m 75%\n- 1m Z3 HR\n- 1m foo\n"
    r = parse_icu(text, "w.txt")
    efforts = [s.effort for s in steps_of(r)]
    assert efforts == [
        "70% of max heart rate",
        "95% of threshold heart rate",
        "power zone 2",
        "250 to 270 watts",
        "75% of FTP",
        "heart rate zone 3",
        None,
    ]
    # grouped: one line per distinct problem, at its first place, with its count
    assert r.warnings == [
        "w.txt:1:6: heart-rate targets have no pace equivalent: spoken as effort text (and kept as heart-rate "
        "targets) (3 times; the first here)",
        "w.txt:3:8: 'Z2' has no pace equivalent (a bare zone is a power zone in intervals.icu; pace zones are "
        "'Z2 Pace'); spoken as effort text 'power zone 2'",
        "w.txt:4:6: power targets have no pace equivalent: spoken as effort text (2 times; the first here)",
        "w.txt:7:6: 'foo' is not a target cadencecoach knows; ignored",
    ]
    assert [s.heart_rate for s in steps_of(r)][:2] == [
        HeartRate("%max", Fraction(70), Fraction(70)),
        HeartRate("%lthr", Fraction(95), Fraction(95)),
    ]
    assert steps_of(r)[5].heart_rate == HeartRate("zone", Fraction(3), Fraction(3))


def test_pace_ranges_units_and_zones() -> None:
    r = parse_icu(
        "- 10m 4:30-4:50/km Pace\n- 1km 1:30/100m Pace\n- 1mi 7:00/mi Pace\n- 5m Z2-Z3 Pace\n- 4m 5:00 Pace\n",
        "w.txt",
        options=LoadOptions(pace_overrides=T),
    )
    a, b, c, d, e = steps_of(r)
    assert a.pace is not None and a.pace.text == "4:40/km"  # the middle of the range
    assert b.pace is not None and b.pace.text == "15:00/km" and b.duration == 900
    assert c.pace is not None and c.duration == 420 and c.extent.unit == "mi"
    assert d.pace_name == "Z2-Z3"
    assert e.pace is not None and e.pace.text == "5:00/km"
    assert sum("range" in w for w in r.warnings) == 1 and any("no unit" in w for w in r.warnings)


def test_pace_override_by_zone_name() -> None:
    r = parse_icu("- 1km Z2 Pace\n", "w.txt", options=LoadOptions(pace_overrides={"Z2": "5:30/km"}))
    (s,) = steps_of(r)
    assert s.duration == 330 and s.pace_name == "Z2"


def test_trial_gives_the_threshold_reference() -> None:
    r = parse_icu("- 1km 100% Pace\n", "w.txt", options=LoadOptions(trial_override="5k 20:00"))
    (s,) = steps_of(r)
    assert s.pace_name == "threshold" and r.workout.trial_source == "--trial"
    vdot = r.workout.vdot
    assert vdot is not None
    expected = derived_paces(vdot)["threshold"]  # Daniels' T pace, rounded to 0.01 s per km
    assert s.pace is not None and abs(float(s.pace.s_per_m * 1000) - expected) <= 0.005


def test_relative_pace_without_reference() -> None:
    # a time step: spoken, with a warning that says how to give a reference
    r = parse_icu("- 10m 80% Pace\n", "w.txt")
    (s,) = steps_of(r)
    assert s.pace is None and s.effort == "80% threshold pace"
    assert any("--pace threshold=" in w and "--trial" in w for w in r.warnings)
    # a distance step cannot be timed: an error at the distance
    with pytest.raises(WorkoutError) as exc:
        parse_icu("- 1m Z4 Pace\n- 1km Z4 Pace\n", "w.txt")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (2, 3) and "--pace threshold=" in p.message


def test_open_steps() -> None:
    r = parse_icu("- 9m Z2 Pace press lap\n- Walk back press lap\n", "w.txt", options=LoadOptions(pace_overrides=T))
    nominal, bare = steps_of(r)
    assert nominal.open and nominal.duration == 540
    assert bare.open and bare.duration == 0 and bare.kind == "rest" and bare.label == "Walk back"


def test_cadence() -> None:
    r = parse_icu("- 1m 85-95rpm\n- 1m 88rpm\n", "w.txt")
    a, b = steps_of(r)
    assert a.cadence == (180, 180) and b.cadence == (176, 176)
    assert any("cadence range 85-95rpm" in w for w in r.warnings)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("Main 3x\n- 1m Z1 Pace\n- Recover\n", (3, 3), "needs a duration"),
        ("- 1m 20rpm\n", (1, 6), "outside 60-300"),
        ("- 0s\n", (1, 3), "not a positive length"),
        ("Main 0x\n- 1m\n", (1, 6), "at least 1"),
        ("Warmup 4x\n\n- 1m\n", (1, 1), "repeats no steps"),
        ("- 400mtr\n", (1, 3), "needs a pace"),
        ("Just words\n", (1, 1), "no steps"),
    ],
)
def test_errors_have_positions(text: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_icu(text, "bad.txt")
    first = exc.value.problems[0]
    assert (first.file, first.line, first.col) == ("bad.txt", *where)
    assert message in first.message
    assert str(first).startswith(f"bad.txt:{where[0]}:{where[1]}: ")


def test_every_problem_is_reported() -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_icu("- 1m 20rpm\n- foo\n- 1m 400rpm\n", "bad.txt")
    assert [(p.line, p.col) for p in exc.value.problems] == [(1, 6), (2, 3), (3, 6)]


def test_bad_overrides_are_usage_errors(tmp_path: Path) -> None:
    """The importer says what is wrong with the value; the pipeline (which knows the option) names it."""
    from cadencecoach import pipeline

    with pytest.raises(PaceOverrideError):
        parse_icu("- 1m\n", "w.txt", options=LoadOptions(pace_overrides={"threshold": "fast"}))
    with pytest.raises(TrialError):
        parse_icu("- 1m\n", "w.txt", options=LoadOptions(trial_override="soon"))
    path = tmp_path / "w.txt"
    path.write_text("- 1m\n")
    with pytest.raises(UsageError, match=r"^--pace threshold=fast: "):
        pipeline.load(str(path), ["threshold=fast"], use_history=False)
    with pytest.raises(UsageError, match=r"^--trial: cannot read trial 'soon'"):
        pipeline.load(str(path), trial="soon", use_history=False)
    with pytest.raises(UsageError, match=r"^--trial: trial '1mi 59:00' gives a VDOT of .*, outside any runner's range"):
        pipeline.load(str(path), trial="1mi 59:00", use_history=False)


def test_24_hour_limit() -> None:
    with pytest.raises(WorkoutError, match="24-hour"):
        parse_icu("Long 30x\n- 1h\n", "w.txt")


def test_binary_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "bin.txt"
    p.write_bytes(b"- 10m\n\x00\x01")
    with pytest.raises(WorkoutError, match=r"binary data"):
        import_workout(p)
    with pytest.raises(WorkoutError, match="no such file"):
        import_workout(tmp_path / "nope.txt")


def test_examples_load() -> None:
    r = import_workout(EXAMPLES / "icu-400s-at-5k.txt", options=LoadOptions(pace_overrides={"threshold": "4:10/km"}))
    assert r.workout.total_steps == 27
    r = import_workout(EXAMPLES / "icu-hill-repeats.txt", options=LoadOptions(trial_override="5k 20:00"))
    assert [s.open for s in steps_of(r)].count(True) == 6


def test_a_count_in_a_step_is_not_a_repeat_and_says_so() -> None:
    """`- 6x 30s 130%` (a real file's way of writing 6 x 30 s) is one 30 s step: intervals.icu repeats sections,
    not steps, and repeats do not nest. The count is not its label, and one grouped warning says why."""
    r = parse_icu("Main Set\n- 6x 30s 4:00/km Pace\n- 6x 30s 6:00/km Pace\n", "w.txt")
    steps = steps_of(r)
    assert [(s.label, s.duration) for s in steps] == [("Run", 30), ("Run", 30)]  # ("Main Set" names no step)
    assert r.warnings == [
        "w.txt:2:2: a count like '6x' in a step is not a repeat: intervals.icu repeats a section (a line '6x' "
        "above its steps); read as one step each (2 times; the first here)"
    ]
