"""Zwift workouts (``cadencecoach.workout.formats.zwo``): elements, pace references, cadence, textevents, distance
workouts, and bad files (XML errors with line and column, refused DTDs/entities)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cadencecoach.core.timeline import CompileOptions, compile_workout
from cadencecoach.errors import WorkoutError
from cadencecoach.workout.formats import import_workout
from cadencecoach.workout.formats.zwo import parse_zwo
from cadencecoach.workout.model import Repeat, Step, expand
from cadencecoach.workout.paces import LoadOptions

EXAMPLES = Path(__file__).resolve().parent.parent / "workouts" / "examples"
REFS = {"5k": "4:00/km", "10k": "4:10/km", "mile": "3:40/km", "half": "4:25/km", "marathon": "4:40/km"}


def zwo(body: str, head: str = "<sportType>run</sportType>") -> str:
    return f"<workout_file><name>Test</name>{head}<workout>\n{body}\n</workout></workout_file>"


def test_elements_map_to_steps() -> None:
    text = zwo(
        '<Warmup Duration="600" PowerLow="0.6" PowerHigh="0.8" pace="1" CadenceLow="160" CadenceHigh="170"/>\n'
        '<IntervalsT Repeat="5" OnDuration="60" OffDuration="90" OnPower="1.0" OffPower="0.7" pace="1" '
        'Cadence="92" CadenceResting="166"/>\n'
        '<SteadyState Duration="300" Power="0.9" pace="2"/>\n'
        '<FreeRide Duration="120"/>\n'
        '<MaxEffort Duration="20"/>\n'
        '<Cooldown Duration="300" PowerLow="0.7" PowerHigh="0.6" pace="4"/>'
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    warm, rep, steady, free, maxeff, cool = r.workout.steps
    assert isinstance(warm, Step) and warm.kind == "warmup" and warm.duration == 600
    assert warm.pace_name == "70% 5k"  # the ramp's middle, of pace="1" (5k)
    assert warm.pace is not None and warm.pace.s_per_m == Fraction(round(Fraction(240) / Fraction(7, 10) * 100), 100000)
    assert warm.cadence == (160, 170)  # CadenceLow..CadenceHigh on a ramp element: a cadence ramp
    assert isinstance(rep, Repeat) and rep.count == 5
    on, off = rep.steps
    assert (on.kind, on.duration, on.pace_name, on.cadence) == ("run", 60, "5k", (184, 184))  # 92 strides doubled
    assert (off.kind, off.duration, off.pace_name, off.cadence) == ("recover", 90, "70% 5k", (166, 166))
    assert isinstance(steady, Step) and steady.pace_name == "90% 10k"
    assert isinstance(free, Step) and free.pace is None and free.effort is None
    assert isinstance(maxeff, Step) and maxeff.effort == "max effort"
    assert isinstance(cool, Step) and cool.kind == "cooldown" and cool.pace_name == "65% marathon"
    assert r.workout.name == "Test"
    assert sum("ramps from" in w for w in r.warnings) == 2  # Warmup and Cooldown pace ramps: their middle


def test_pace_attribute_missing_means_threshold() -> None:
    r = parse_zwo(
        zwo('<SteadyState Duration="60" Power="1.05"/>'),
        "t.zwo",
        options=LoadOptions(pace_overrides={"threshold": "4:12/km"}),
    )
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.pace_name == "105% threshold" and s.pace is not None
    assert s.pace.text == "4:00/km"


def test_textevents() -> None:
    text = zwo(
        '<SteadyState Duration="300" Power="0.9" pace="2">\n'
        '  <textevent timeoffset="0" message="Settle in"/>\n'
        '  <textevent timeoffset="150" message="Halfway"/>\n'
        '  <textevent timeoffset="400" message="Too late"/>\n'
        "</SteadyState>"
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.say == "Settle in" and s.cues == ((Fraction(150), "Halfway"),)
    assert any(w.startswith("t.zwo:5:3: ") and "Too late" in w for w in r.warnings)
    tl = compile_workout(r.workout, 8000)
    assert [(c.kind, c.at) for c in tl.cues if c.text == "Halfway"] == [("custom", 150 * 8000)]
    minimal = compile_workout(r.workout, 8000, options=CompileOptions(voice_mode="minimal"))
    assert not [c for c in minimal.cues if c.kind == "custom"]  # like `say`: only with voice full


def test_textevents_in_intervals_are_unrolled_to_their_repetition() -> None:
    text = zwo(
        '<IntervalsT Repeat="3" OnDuration="30" OffDuration="30" OnPower="1.1" OffPower="0.6" pace="1">\n'
        '  <textevent timeoffset="65" message="Second one"/>\n'
        "</IntervalsT>"
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    steps = list(r.workout.steps)
    assert len(steps) == 6 and all(isinstance(s, Step) for s in steps)
    assert [s.label for s in steps[::2]] == ["Interval 1 of 3", "Interval 2 of 3", "Interval 3 of 3"]
    assert steps[2].cues == ((Fraction(5), "Second one"),)  # 65 s: 5 s into the second repetition
    assert all(s.cues == () for k, s in enumerate(steps) if k != 2)


def test_loose_textevent_lands_in_its_step() -> None:
    text = zwo(
        '<SteadyState Duration="100" Power="0.9" pace="2"/>\n'
        '<SteadyState Duration="100" Power="0.9" pace="2"/>\n'
        '<textevent timeoffset="150" message="Keep going"/>'
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    first, second = r.workout.steps
    assert isinstance(first, Step) and first.cues == ()
    assert isinstance(second, Step) and second.cues == ((Fraction(50), "Keep going"),)


def test_distance_workout() -> None:
    text = zwo(
        '<SteadyState Duration="400" Power="1.0" pace="0" Cadence="188"/>\n'
        '<SteadyState Duration="1000" Power="1.0" pace="1">\n'
        '  <textevent distoffset="500" message="Halfway there"/>\n'
        "</SteadyState>",
        head="<sportType>run</sportType><durationType>distance</durationType>",
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    a, b = r.workout.steps
    assert isinstance(a, Step) and a.extent.kind == "distance" and a.extent.value == 400 and a.extent.unit == "m"
    assert a.duration == 400 * Fraction(220, 1000) and a.pace_name == "mile"
    assert isinstance(b, Step) and b.extent.unit == "km" and b.duration == 240
    assert b.cues == ((Fraction(120), "Halfway there"),)


def test_distance_without_reference_is_an_error() -> None:
    text = zwo('<SteadyState Duration="400" Power="1.0" pace="0"/>', head="<durationType>distance</durationType>")
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(text, "t.zwo")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (2, 1) and "--pace mile=" in p.message and "--trial" in p.message


def test_time_without_reference_is_spoken_with_a_warning() -> None:
    r = parse_zwo(zwo('<SteadyState Duration="60" Power="0.85" pace="1"/>'), "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.pace is None and s.effort == "85% 5k pace"
    assert any("--pace 5k=" in w for w in r.warnings)


def test_bike_workouts_and_unknown_things_warn() -> None:
    text = zwo(
        '<SteadyState Duration="60" Power="0.75" Foo="1"/>\n<gameplayevent timeoffset="1" type="GPE_CAMERA"/>\n<Bar/>',
        head="<sportType>bike</sportType>",
    )
    r = parse_zwo(text, "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.effort == "75% of FTP"
    joined = "\n".join(r.warnings)
    assert "sportType 'bike'" in joined and 'Foo="1"' in joined and "<gameplayevent>" in joined and "<Bar>" in joined


def test_cadence_units() -> None:
    r = parse_zwo(zwo('<SteadyState Duration="60" Cadence="176"/><SteadyState Duration="60" Cadence="88"/>'), "t.zwo")
    a, b = r.workout.steps
    assert isinstance(a, Step) and isinstance(b, Step) and a.cadence == b.cadence == (176, 176)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("<workout_file><workout>\n<SteadyState Duration='60'>\n</workout></workout_file>", (3, 3), "mismatched tag"),
        (
            "<workout_file>\n  <workout>\n    <SteadyState Duration='x'/>\n</workout></workout_file>",
            (3, 5),
            "not a number",
        ),
        ("<workout_file><workout>\n<SteadyState Power='1'/></workout></workout_file>", (2, 1), "needs Duration"),
        (
            "<workout_file><workout>\n<IntervalsT Repeat='0' OnDuration='1' OffDuration='1'/></workout></workout_file>",
            (2, 1),
            "whole number",
        ),
        ("<workout_file><name>x</name></workout_file>", (1, 1), "no <workout>"),
        ("<html><body/></html>", (1, 1), "not a Zwift workout"),
        ("", (1, 1), "malformed XML"),
        (
            "<workout_file><workout>\n<SteadyState Duration='60' Cadence='20'/></workout></workout_file>",
            (2, 1),
            "outside 60-300",
        ),
    ],
)
def test_bad_files(text: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(text, "bad.zwo")
    first = exc.value.problems[0]
    assert (first.line, first.col) == where, str(first)
    assert message in first.message
    assert str(first).startswith(f"bad.zwo:{where[0]}:{where[1]}: ")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<workout_file><name>&lol3;</name><workout><SteadyState Duration="60"/></workout></workout_file>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<workout_file><name>&xxe;</name><workout><SteadyState Duration="60"/></workout></workout_file>
"""


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL])
def test_dtds_and_entities_are_refused(text: str) -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(text, "evil.zwo")
    (p,) = exc.value.problems
    assert p.line == 2 and "DTD" in p.message


def test_examples_load() -> None:
    r = import_workout(EXAMPLES / "zwift-5k-intervals.zwo", options=LoadOptions(trial_override="5k 20:00"))
    assert r.workout.name == "5 x 3 min at 5k pace" and r.workout.total_steps == 13
    r = import_workout(EXAMPLES / "zwift-distance-ladder.zwo", options=LoadOptions(trial_override="5k 20:00"))
    assert [f.step.extent.kind for f in expand(r.workout)] == ["distance"] * 11
