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


# ------------------------------------------------------------------ issue 13: what real files do (inline XML)


def test_an_empty_intervals_part_does_not_exist() -> None:
    """OffDuration="0" (Auuki, Tacx) is no off part: Repeat="1" is one plain step, Repeat="3" a repeat of one."""
    text = zwo(
        '<IntervalsT Repeat="1" OnDuration="300" OffDuration="0" OnSlope="1"/>\n'
        '<IntervalsT Repeat="3" OnDuration="30" OffDuration="0" OnPower="1.1" pace="1"/>\n'
        '<IntervalsT Repeat="2" OnDuration="0" OffDuration="60" OffPower="0.6" pace="1"/>\n'
        '<IntervalsT Repeat="1" OnDuration="60" OffDuration="30" OnPower="1.1" OffPower="0.6" pace="1"/>\n'
        '<IntervalsT Repeat="4" OnDuration="0" OffDuration="0"/>\n'
        '<SteadyState Duration="0" Power="0.9" pace="1"><textevent timeoffset="0" message="Gone"/></SteadyState>'
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    plain, threes, offs, on, off = r.workout.steps
    assert isinstance(plain, Step) and (plain.kind, plain.label, plain.duration) == ("run", "Run", 300)
    assert isinstance(threes, Repeat) and threes.count == 3 and [s.duration for s in threes.steps] == [30]
    assert isinstance(offs, Repeat) and [(s.kind, s.duration) for s in offs.steps] == [("recover", 60)]
    assert isinstance(on, Step) and isinstance(off, Step) and (on.duration, off.duration) == (60, 30)  # no Repeat
    assert r.workout.total_duration == 300 + 90 + 120 + 90 and r.workout.total_steps == 1 + 3 + 2 + 2
    assert any(w.startswith("t.zwo:6:1: ") and 'OffDuration="0": an empty step, skipped' in w for w in r.warnings)
    assert any(w.startswith("t.zwo:7:1: ") and "an empty step, skipped (and its 1 textevent)" in w for w in r.warnings)
    assert not [w for w in r.warnings if "more than zero" in w]


def test_an_empty_part_with_textevents_is_unrolled_without_it() -> None:
    text = zwo(
        '<IntervalsT Repeat="2" OnDuration="60" OffDuration="0" OnPower="1.1" pace="1">\n'
        '  <textevent timeoffset="70" message="Second"/>\n'
        "</IntervalsT>"
    )
    r = parse_zwo(text, "t.zwo", options=LoadOptions(pace_overrides=REFS))
    first, second = r.workout.steps
    assert isinstance(first, Step) and isinstance(second, Step)
    assert (first.label, second.label) == ("Interval 1 of 2", "Interval 2 of 2")
    assert second.cues == ((Fraction(10), "Second"),)


def test_negative_durations_are_still_problems() -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(zwo('<IntervalsT Repeat="2" OnDuration="60" OffDuration="-5"/>'), "t.zwo")
    assert "must not be negative" in exc.value.problems[0].message


def test_a_steady_state_range_is_its_middle_with_the_range_kept() -> None:
    """<SteadyState PowerLow PowerHigh> and no Power (Sufferfest exports): the middle, a warning, pace_range."""
    body = '<SteadyState Duration="300" PowerLow="0.85" PowerHigh="0.95" pace="1"/>'
    r = parse_zwo(zwo(body), "t.zwo", options=LoadOptions(pace_overrides=REFS))
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.pace_name == "90% 5k" and s.pace is not None
    assert s.pace_range is not None
    slower, faster = s.pace_range
    five_k = Fraction(240, 1000)  # 4:00/km in s/m
    assert abs(slower.s_per_m - five_k / Fraction(85, 100)) < Fraction(1, 10**5)
    assert abs(faster.s_per_m - five_k / Fraction(95, 100)) < Fraction(1, 10**5)
    assert slower.s_per_m > s.pace.s_per_m > faster.s_per_m
    (w,) = r.warnings
    assert w.startswith("t.zwo:2:1: <SteadyState> asks for 85% to 95% of 5k pace (a range)") and "90% 5k" in w
    # no reference: the range is spoken; bike: as % of FTP; equal ends: one pace, no warning, no range
    r = parse_zwo(zwo(body), "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.effort == "85% to 95% 5k pace" and s.pace_range is None
    r = parse_zwo(zwo(body, head="<sportType>bike</sportType>"), "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.effort == "85% to 95% of FTP"
    r = parse_zwo(zwo('<SteadyState Duration="60" PowerLow="0.9" PowerHigh="0.9" pace="1"/>'), "t.zwo", REFS_OPTS)
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.pace_name == "90% 5k" and s.pace_range is None and r.warnings == []


REFS_OPTS = LoadOptions(pace_overrides=REFS)


def test_interval_ranges_keep_their_ends_and_ramps_their_middle() -> None:
    text = zwo(
        '<Warmup Duration="600" PowerLow="0.6" PowerHigh="0.8" pace="1"/>\n'
        '<Ramp Duration="60" Power="0.9" pace="1"/>\n'
        '<IntervalsT Repeat="2" OnDuration="60" OffDuration="60" PowerOnLow="1.0" PowerOnHigh="1.1" '
        'OffPower="0.6" pace="1"/>'
    )
    r = parse_zwo(text, "t.zwo", options=REFS_OPTS)
    warm, ramp, rep = r.workout.steps
    assert isinstance(warm, Step) and warm.pace_range is None and warm.pace_name == "70% 5k"  # a ramp: no range
    assert isinstance(ramp, Step) and ramp.pace_name == "90% 5k"  # a Ramp with only Power: that Power
    assert isinstance(rep, Repeat)
    on, off = rep.steps
    assert on.pace_name == "105% 5k" and on.pace_range is not None and off.pace_range is None
    assert any("<IntervalsT> on part asks for 100% to 110% of 5k pace" in w for w in r.warnings)


def test_textevents_at_one_offset_are_one_message() -> None:
    """Zwift's two-line message: two textevents at one offset (the second y="270"), in say and timed cues."""
    text = zwo(
        '<SteadyState Duration="300" Power="0.9" pace="1">\n'
        '  <textevent timeoffset="0" message="Welcome to"/>\n'
        '  <textevent timeoffset="0" message="the test" y="270"/>\n'
        '  <textevent timeoffset="35" message="Time to get warmed up and"/>\n'
        '  <textevent timeoffset="35" message="get your cadence up" y="270"/>\n'
        '  <textevent timeoffset="60" message="Alone"/>\n'
        "</SteadyState>\n"
        '<SteadyState Duration="100" Power="0.9" pace="1"/>\n'
        '<textevent timeoffset="350" message="Loose one"/>\n'
        '<textevent timeoffset="350" message="and two" y="270"/>'
    )
    r = parse_zwo(text, "t.zwo", options=REFS_OPTS)
    a, b = r.workout.steps
    assert isinstance(a, Step) and a.say == "Welcome to the test"
    assert a.cues == ((Fraction(35), "Time to get warmed up and get your cadence up"), (Fraction(60), "Alone"))
    assert isinstance(b, Step) and b.cues == ((Fraction(50), "Loose one and two"),)
    assert r.warnings == []
    tl = compile_workout(r.workout, 8000)
    assert [c.text for c in tl.cues if c.kind == "custom" and c.at == 35 * 8000] == [
        "Time to get warmed up and get your cadence up"
    ]


CP1252 = (
    b'<?xml version="1.0" ?>\n<workout_file>\n  <description>23 \x91attacks\x92, caf\xe9</description>\n'
    b'  <sportType>run</sportType><workout><SteadyState Duration="60"/></workout></workout_file>'
)


def test_windows_1252_without_a_declaration_is_read_with_one_warning() -> None:
    r = parse_zwo(CP1252, "w.zwo")
    assert r.workout.notes == "23 \u2018attacks\u2019, caf\u00e9"
    (w,) = r.warnings
    assert w == "w.zwo:3:19: not UTF-8: read as Windows-1252 (\u2018 at 3:19); save it as UTF-8 to be sure"
    lying = CP1252.replace(b'version="1.0" ', b'version="1.0" encoding="UTF-8" ')
    r = parse_zwo(lying, "w.zwo")
    assert r.workout.notes == "23 \u2018attacks\u2019, caf\u00e9"
    assert r.warnings[0].startswith("w.zwo:3:19: declares UTF-8 but is not UTF-8: read as Windows-1252")
    # a file that says what it is stays expat's: ISO-8859-1 is read as such, with no warning
    latin = CP1252.replace(b"\x91attacks\x92", b"attacks").replace(
        b'version="1.0" ', b'version="1.0" encoding="ISO-8859-1" '
    )
    r = parse_zwo(latin, "w.zwo")
    assert r.workout.notes == "23 attacks, caf\u00e9" and r.warnings == []
    # valid UTF-8: untouched
    r = parse_zwo(CP1252.decode("cp1252").encode("utf-8"), "w.zwo")
    assert r.workout.notes == "23 \u2018attacks\u2019, caf\u00e9" and r.warnings == []


def test_bytes_in_no_encoding_are_a_problem_at_their_place() -> None:
    bad = CP1252.replace(b"caf\xe9", b"caf\x81")
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(bad, "b.zwo")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (3, 33)
    assert "byte 0x81 at 3:33 is neither UTF-8 nor Windows-1252" in p.message and "save it as UTF-8" in p.message


def test_broken_xml_read_as_windows_1252_keeps_the_encoding_warning() -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(CP1252.replace(b"</workout_file>", b""), "b.zwo")
    assert "malformed XML" in exc.value.problems[0].message
    assert any("read as Windows-1252" in w for w in exc.value.warnings)


def test_distoffset_zero_is_the_start_and_the_rest_is_one_line() -> None:
    text = zwo(
        '<FreeRide Duration="300">\n'
        '  <textevent distoffset="0" message="Off you go"/>\n'
        '  <textevent distoffset="100" message="A"/>\n'
        '  <textevent distoffset="200" message="B"/>\n'
        "</FreeRide>"
    )
    r = parse_zwo(text, "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.say == "Off you go"
    (w,) = [w for w in r.warnings if "distoffset" in w and "durationType" not in w]
    assert w.startswith("t.zwo:4:3: <textevent> distoffset (metres) cannot be timed: its step has no pace; ignored")
    assert w.endswith("(2 times; the first here)")


def test_one_line_per_missing_reference() -> None:
    body = "\n".join(f'<SteadyState Duration="60" Power="{p}" pace="1"/>' for p in ("0.8", "0.9", "1.0", "1.05"))
    r = parse_zwo(zwo(body + '\n<SteadyState Duration="60" Power="0.9" pace="2"/>'), "t.zwo")
    assert r.warnings == [
        "t.zwo:2:1: no 5k pace to map Zwift's percentages of it on (give a reference with --pace 5k=4:15/km, or "
        "--trial '5k 20:00' (derives mile, 5k, threshold, ...)); spoken as effort text (4 times; the first here)",
        "t.zwo:6:1: 90% 10k pace: no 10k pace to map it on (give a reference with --pace 10k=4:15/km, or --trial "
        "'5k 20:00' (derives mile, 5k, threshold, ...)); spoken as effort text",
    ]


def test_zwift_metadata_is_quiet_and_meaning_is_not() -> None:
    head = (
        "<uniqueId>996568d7</uniqueId><legacyIdHash>1332385225</legacyIdHash><authorIcon>x.png</authorIcon>"
        "<author_alias>Z</author_alias><painIndex>3</painIndex><workoutLength>1800</workoutLength>"
        "<Skippable>1</Skippable><tags><tag name='hills'/></tags><sportType>run</sportType>"
    )
    body = (
        '<SteadyState Duration="60" Power="0.9" pace="1" Zone="2" show_avg="1" Text="text"/>\n'
        '<SteadyState Duration="60" Zone="3"/>\n'
        '<SteadyState Duration="60" Power="0.5" pace="1" replacement_prescription="WALK" replacement_verb=""/>\n'
        '<FreeRide Duration="60" Power="0.9" FlatRoad="1"/>\n'
        '<Warmup Duration="60" PowerLow="0.5" PowerHigh="0.6" CadenceResting="80"/>'
    )
    r = parse_zwo(zwo(body, head=head), "t.zwo", options=REFS_OPTS)
    loud = [w for w in r.warnings if "not used" in w]
    assert len(loud) == 4, r.warnings
    assert 'Zone="3"' in loud[0] and 'replacement_prescription="WALK"' in loud[1]
    assert '<FreeRide> Power="0.9"' in loud[2] and 'CadenceResting="80"' in loud[3]
    assert not [w for w in r.warnings if "uniqueId" in w or "<" + "tags>" in w or "authorIcon" in w]


def test_slopes_are_the_steps_incline() -> None:
    text = zwo(
        '<SteadyState Duration="60" Slope="1"/>\n'
        '<IntervalsT Repeat="2" OnDuration="40" OffDuration="20" OnSlope="4.0000001" OffSlope="0"/>\n'
        '<IntervalsT Repeat="2" OnDuration="40" OffDuration="20" Slope="-2.5"/>\n'
        '<FreeRide Duration="60"/>'
    )
    r = parse_zwo(text, "t.zwo")
    steady, rep, both, free = r.workout.steps
    assert isinstance(steady, Step) and steady.incline == 1
    assert isinstance(rep, Repeat) and [s.incline for s in rep.steps] == [4, 0]
    assert isinstance(both, Repeat) and [s.incline for s in both.steps] == [Fraction(-5, 2)] * 2
    assert isinstance(free, Step) and free.incline is None
    assert not [w for w in r.warnings if "Slope" in w]


@pytest.mark.parametrize(
    ("attr", "message"),
    [('Slope="45"', "45% incline, outside -30% to 40%"), ('Slope="-31"', "outside"), ('Slope="steep"', "not a number")],
)
def test_slopes_out_of_bounds_are_problems(attr: str, message: str) -> None:
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(zwo(f"<SteadyState Duration='60' {attr}/>"), "t.zwo")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (2, 1) and message in p.message


def test_a_rest_day_is_refused_as_one() -> None:
    text = zwo("<RestDay />", head="<uniqueId>1</uniqueId><sportType>bike</sportType>")
    with pytest.raises(WorkoutError) as exc:
        parse_zwo(text, "rest.zwo")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (2, 1) and "rest day" in p.message and "nothing to run today" in p.message
    assert exc.value.warnings == []  # not "no steps", not the bike warning: a rest day says just that
    r = parse_zwo(zwo('<RestDay/>\n<SteadyState Duration="60"/>'), "rest.zwo")
    assert r.workout.total_duration == 60 and any("rest day" in w for w in r.warnings)


def test_no_sport_type_is_zwifts_bike_unless_distances() -> None:
    body = '<SteadyState Duration="60" Power="0.75"/>'
    r = parse_zwo(f"<workout_file><workout>{body}</workout></workout_file>", "t.zwo")
    (s,) = r.workout.steps
    assert isinstance(s, Step) and s.effort == "75% of FTP" and s.pace is None
    assert "no <sportType>: a bike workout" in r.warnings[0]
    dist = f"<workout_file><durationType>distance</durationType><workout>{body}</workout></workout_file>"
    with pytest.raises(WorkoutError) as exc:  # a run: its distance step needs a threshold pace
        parse_zwo(dist, "t.zwo")
    assert "threshold" in exc.value.problems[0].message
    assert any("read as a run workout" in w for w in exc.value.warnings)


def test_distoffsets_in_a_time_run_hint_at_a_missing_duration_type() -> None:
    text = zwo('<SteadyState Duration="1000" Power="0.6"><textevent distoffset="200" message="200 m"/></SteadyState>')
    r = parse_zwo(text, "t.zwo")
    assert any(w.startswith("t.zwo:2:42: no <durationType>") and "<durationType>distance" in w for w in r.warnings)
    timed = zwo('<SteadyState Duration="1000" Power="0.6"><textevent timeoffset="200" message="x"/></SteadyState>')
    assert not [w for w in parse_zwo(timed, "t.zwo").warnings if "durationType" in w]


@pytest.mark.parametrize(("encoding", "reason"), [("shift_jis", "a multi-byte encoding"), ("rot13", "not a text")])
def test_an_encoding_expat_cannot_use_is_a_problem(encoding: str, reason: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding}"?>' + zwo('<SteadyState Duration="60"/>')
    with pytest.raises(WorkoutError) as exc:  # (was a LookupError / ValueError out of expat: a crash)
        parse_zwo(text.encode("ascii"), "e.zwo")
    (p,) = exc.value.problems
    assert (p.line, p.col) == (1, 1) and f"declares encoding '{encoding}', {reason}" in p.message
