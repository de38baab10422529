"""Garmin FIT workout import (``workout.formats.fit_import``): the real FIT workouts of the corpus checked
against durations and step counts computed here with a *different* decoder (fitdecode) and a different
algorithm (a watch's program counter walking the steps), workouts built with Garmin's SDK encoder for each
mapping rule and each way a file can be bad, and a round trip of every shipped workout through FIT."""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from extra_deps import require_extra, require_module

require_extra("fit")  # skipped when not installed; a broken install fails
fitdecode = require_module("fitdecode")  # a dev dependency: the independent reader

from garmin_fit_sdk import CrcCalculator, Encoder  # noqa: E402

from cadencecoach import pipeline  # noqa: E402
from cadencecoach.errors import WorkoutError  # noqa: E402
from cadencecoach.workout.formats import IMPORT_SUFFIXES, ImportResult, fit_import, import_workout, is_import  # noqa: E402
from cadencecoach.workout.formats.fit import encode  # noqa: E402
from cadencecoach.workout.formats.fit_import import parse_fit  # noqa: E402
from cadencecoach.workout.library import shipped_dir  # noqa: E402
from cadencecoach.workout.loader import load_workout_text  # noqa: E402
from cadencecoach.workout.model import HeartRate, Repeat, Step, Workout  # noqa: E402
from cadencecoach.workout.paces import LoadOptions  # noqa: E402
from cadencecoach.workout.units import parse_pace  # noqa: E402
from test_formats_cli import cc  # noqa: E402  (the same subprocess runner)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/ is not here (a user's clone has none)")
CORPUS_FIT = sorted((CORPUS / "fit").glob("*.fit")) if CORPUS.is_dir() else []
CORPUS_ACTIVITIES = sorted((CORPUS / "activities").glob("*.fit")) if CORPUS.is_dir() else []
WHEN = datetime(2026, 5, 1, 7, 30, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------------ building files


def fit(steps: list[dict[str, Any]], *, name: str | None = "Test", file_type: str = "workout", **workout: Any) -> bytes:
    """A FIT file written by Garmin's SDK: file_id, workout, the steps with message_index 0, 1, ..."""
    enc = Encoder()
    enc.write_mesg(
        {
            "mesg_num": 0,
            "type": file_type,
            "manufacturer": "development",
            "product": 0,
            "serial_number": 1,
            "time_created": WHEN,
        }
    )
    wkt: dict[str, Any] = {"mesg_num": 26, "num_valid_steps": len(steps), "sport": "running", **workout}
    if name is not None:
        wkt["wkt_name"] = name
    enc.write_mesg({k: v for k, v in wkt.items() if v is not None})
    for i, s in enumerate(steps):
        enc.write_mesg({"mesg_num": 27, "message_index": i, **s})
    data: bytes = enc.close()
    return data


def secs(seconds: float, **kw: Any) -> dict[str, Any]:
    return {"duration_type": "time", "duration_value": round(seconds * 1000), **kw}


def metres(m: float, **kw: Any) -> dict[str, Any]:
    return {"duration_type": "distance", "duration_value": round(m * 100), **kw}


def lap(**kw: Any) -> dict[str, Any]:
    return {"duration_type": "open", **kw}


def repeat(back: int, count: int, kind: str = "repeat_until_steps_cmplt") -> dict[str, Any]:
    return {"duration_type": kind, "duration_value": back, "target_value": count}


def target(kind: str, low: int = 0, high: int | None = None, *, zone: int = 0, slot: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {f"{slot}target_type": kind, f"{slot}target_value": zone}
    if not zone:
        out[f"{slot}custom_target_value_low"] = low
        out[f"{slot}custom_target_value_high"] = low if high is None else high
    return out


def speed(slow: str, fast: str | None = None) -> dict[str, Any]:
    """A speed target from paces (``4:30/km``), in mm/s as FIT holds them."""
    a = round(1000 / parse_pace(slow).s_per_m)
    b = round(1000 / parse_pace(fast or slow).s_per_m)
    return target("speed", a, b)


def load(data: bytes, tmp_path: Path, name: str = "w.fit", options: LoadOptions | None = None) -> ImportResult:
    path = tmp_path / name
    path.write_bytes(data)
    return import_workout(path, options, display=name)


def refused(data: bytes, tmp_path: Path, name: str = "w.fit") -> list[str]:
    with pytest.raises(WorkoutError) as info:
        load(data, tmp_path, name)
    return info.value.lines()


def flat(items: tuple[Step | Repeat, ...]) -> list[Step]:
    out: list[Step] = []
    for item in items:
        if isinstance(item, Repeat):
            for _ in range(item.count):
                out.extend(flat(item.steps))
        else:
            out.append(item)
    return out


# ------------------------------------------------------------------------------------- the corpus, checked


def fitdecode_steps(path: Path) -> tuple[str | None, list[dict[int, tuple[Any, Any]]]]:
    """(file type, workout steps as {field number: (value, raw value)}) read by fitdecode, CRC checked."""
    file_type = None
    steps: list[dict[int, tuple[Any, Any]]] = []
    with fitdecode.FitReader(io.BytesIO(path.read_bytes()), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "file_id":
                file_type = frame.get_value("type")
            elif frame.name == "workout_step":
                steps.append({f.def_num: (f.value, f.raw_value) for f in frame.fields})
    steps.sort(key=lambda s: s[254][1])
    return file_type, steps


def watch(steps: list[dict[int, tuple[Any, Any]]]) -> tuple[Fraction, int]:
    """(seconds, steps run) as a watch runs the workout: a program counter through the step list, a repeat step
    jumping back to its duration_step until it has been done its count (conditions cadencecoach cannot measure:
    once). A distance step is timed by the middle of its speed range's paces; one with no speed, an open step
    and a step ending on a condition last 0 s (the lap key ends them); a step of no length is not run."""
    total, count, pc = Fraction(0), 0, 0
    done: dict[int, int] = defaultdict(int)
    guard = 0
    while pc < len(steps):
        guard += 1
        assert guard < 1_000_000
        s = steps[pc]
        dtype = s[1][0]
        value = s.get(2, (None, None))[1]
        if str(dtype).startswith("repeat_until_"):
            assert dtype not in ("repeat_until_time", "repeat_until_distance"), "not in the corpus: not modelled"
            times = s[4][1] if dtype == "repeat_until_steps_cmplt" else 1
            done[pc] += 1
            if done[pc] < times:
                for j in range(value, pc):
                    done[j] = 0
                pc = value
                continue
            done[pc] = 0
        elif dtype == "time":
            if value:
                total += Fraction(value, 1000)
                count += 1
        elif dtype == "distance":
            if value:
                count += 1
                if s.get(3, (None,))[0] == "speed" and not s.get(4, (0, 0))[1]:
                    lo, hi = s[5][1], s[6][1]
                    total += Fraction(value, 100) * (Fraction(1000, lo) + Fraction(1000, hi)) / 2
        else:
            count += 1
        pc += 1
    return total, count


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FIT, ids=lambda p: p.name)
def test_corpus_workouts_import_with_their_own_numbers(path: Path) -> None:
    file_type, steps = fitdecode_steps(path)
    assert file_type == "workout"
    seconds, count = watch(steps)
    r = import_workout(path, display=path.name)
    w = r.workout
    assert w.total_steps == count == len(flat(w.steps))
    assert abs(w.total_duration - seconds) <= Fraction(1, 100)  # (a distance step's pace: to 0.01 s/km)
    # one line per kind of warning, each at a place in the file, none a duplicate
    assert len(r.warnings) == len(set(r.warnings)) <= 6
    assert all(m.startswith(f"{path.name}:1:") for m in r.warnings)


@needs_corpus
def test_corpus_mappings() -> None:
    by_name = {p.name: import_workout(p, display=p.name) for p in CORPUS_FIT}
    beech = by_name["trainerroad-beech.fit"]
    steps = flat(beech.workout.steps)
    assert [(s.kind, s.open, s.say) for s in steps][:2] == [
        ("warmup", False, "10 minutes warmup."),
        ("rest", True, "Hit lap when ready for main set."),
    ]
    assert steps[0].effort == "158 to 205 watts"  # power_lap 1158-1205: watts + 1000
    assert any("sport 'cycling'" in m for m in beech.warnings)
    stages = by_name["stages-threshold-1x20.fit"].workout
    assert stages.notes is not None and stages.notes.startswith("The threshold sessions")  # a developer field
    assert [s.label for s in flat(stages.steps)] == ["Warmup", "Threshold", "Endurance", "Cool Down"]
    (first, rep, last) = by_name["sdk-WorkoutRepeatSteps.fit"].workout.steps
    assert isinstance(first, Step) and first.heart_rate == HeartRate("zone", Fraction(2), Fraction(2))
    assert isinstance(rep, Repeat) and rep.count == 3 and [s.label for s in rep.steps] == ["B1_", "B2_"]
    assert isinstance(last, Step) and last.open and last.say == "Until your heart rate is below 125 beats per minute."
    custom = flat(by_name["sdk-WorkoutCustomTargetValues.fit"].workout.steps)
    assert custom[0].heart_rate == HeartRate("%max", Fraction(50), Fraction(60))
    assert custom[1].effort == "300 to 310 watts" and custom[1].extent.value == 500 and custom[1].open
    greater = by_name["sdk-WorkoutRepeatGreaterThanStep.fit"]
    assert isinstance(greater.workout.steps[1], Repeat) and greater.workout.steps[1].count == 1
    assert any("until heart rate above 80% of max" in m and "done once" in m for m in greater.warnings)


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_ACTIVITIES, ids=lambda p: p.name)
def test_recorded_activities_are_refused(path: Path) -> None:
    with pytest.raises(WorkoutError) as info:
        import_workout(path, display=path.name)
    (problem,) = info.value.problems
    assert (problem.line, problem.col) == (1, 1)
    assert problem.message.startswith("a recorded activity (FIT file type 'activity'")
    assert "not a workout" in problem.message and "Export the planned workout itself" in problem.message
    if path.stat().st_size > 1_000_000:  # only its head is looked at
        assert "over 1 MB" in problem.message


# --------------------------------------------------------------------------------------- the mapping


def test_durations_names_kinds_notes(tmp_path: Path) -> None:
    data = fit(
        [
            secs(600, wkt_step_name="Easy start", intensity="warmup", notes="Relax; breathe easy."),
            metres(1000, intensity="active", **speed("4:30/km", "4:10/km")),
            metres(1609.344, intensity="recovery", **speed("6:00/km")),  # 160934 cm: 1 mi
            lap(intensity="rest", notes="Press lap when ready."),
            secs(90.5, wkt_step_name="Recover 90s", intensity="other"),
            secs(0, intensity="active"),  # no length: left out
            secs(300, intensity="cooldown"),
        ],
        name=None,
        wkt_description="Tuesday session",
    )
    r = load(data, tmp_path, "tuesday_session.fit")
    w = r.workout
    assert w.name == "tuesday session" and w.notes == "Tuesday session"  # the file's stem when no wkt_name
    a, b, c, d, e, f = w.steps
    assert isinstance(a, Step) and (a.kind, a.label, a.duration) == ("warmup", "Easy start", 600)
    assert a.say == "Relax; breathe easy." and (a.line, a.col) == (1, 1)
    assert isinstance(b, Step) and (b.kind, b.label, b.extent.unit, b.extent.value) == ("run", "Run", "km", 1000)
    assert b.pace_range is not None and [p.text for p in b.pace_range] == ["4:30/km", "4:10/km"]
    assert b.pace is not None and b.pace.text == "4:20/km" and b.pace_spoken and b.pace_name is None
    assert b.duration == 1000 * b.pace.s_per_m
    assert isinstance(c, Step) and (c.kind, c.extent.unit, c.extent.amount) == ("recover", "mi", 1)
    assert c.pace_range is None and c.pace is not None and abs(c.pace.s_per_km - 360) < 0.5
    assert isinstance(d, Step) and d.open and d.duration == 0 and d.kind == "rest" and d.say == "Press lap when ready."
    assert isinstance(e, Step) and (e.kind, e.label, e.duration) == ("recover", "Recover 90s", Fraction(181, 2))
    assert isinstance(f, Step) and (f.kind, f.col) == ("cooldown", 7)
    assert any(m.startswith("tuesday_session.fit:1:6: step 6 ('Run') has no length") for m in r.warnings)


def test_nested_repeats(tmp_path: Path) -> None:
    data = fit(
        [
            secs(300, intensity="warmup"),  # 0
            secs(60, wkt_step_name="A"),  # 1
            secs(30, wkt_step_name="B"),  # 2
            secs(30, wkt_step_name="C", intensity="recovery"),  # 3
            repeat(2, 3),  # 4: (B C) x3
            secs(120, wkt_step_name="D", intensity="rest"),  # 5
            repeat(1, 2),  # 6: (A (B C)x3 D) x2
            repeat(0, 2),  # 7: everything so far x2
            secs(300, intensity="cooldown"),  # 8
        ]
    )
    w = load(data, tmp_path).workout
    outer, cool = w.steps
    assert isinstance(outer, Repeat) and outer.count == 2 and isinstance(cool, Step)
    _, middle = outer.steps
    assert isinstance(middle, Repeat) and middle.count == 2 and (middle.line, middle.col) == (1, 7)
    _, inner, _ = middle.steps
    assert isinstance(inner, Repeat) and inner.count == 3 and [s.label for s in inner.steps] == ["B", "C"]
    labels = [s.label for s in flat(w.steps)]
    assert labels == (["Warm-up"] + (["A"] + ["B", "C"] * 3 + ["D"]) * 2) * 2 + ["Cool-down"]
    assert w.total_steps == len(labels) and w.total_duration == 2 * (300 + 2 * (60 + 3 * 60 + 120)) + 300


def test_targets(tmp_path: Path) -> None:
    data = fit(
        [
            secs(60, **target("heart_rate", zone=3)),
            secs(60, **target("heart_rate", 70, 80)),  # % of max
            secs(60, **target("heart_rate", 240, 250)),  # bpm + 100
            secs(60, **target("power", 1250, 1280)),  # watts + 1000
            secs(60, **target("power", 85, 95)),  # % of FTP
            secs(60, **target("power_3s", zone=4)),
            secs(60, **target("cadence", 90)),  # strides per minute
            secs(60, **target("cadence", 85, 88)),  # a range: its middle, warned
            secs(60, **target("cadence", 90, 91)),  # one odd cadence, 181: no warning
            secs(60, **target("cadence", 180)),  # steps per minute already: warned
            metres(400, **speed("4:00/km"), **target("cadence", 92, slot="secondary_")),
            secs(60, **target("speed", zone=2)),
            secs(60, **target("grade", 5, 10)),
        ]
    )
    r = load(data, tmp_path)
    s = flat(r.workout.steps)
    assert [x.heart_rate for x in s[:3]] == [
        HeartRate("zone", Fraction(3), Fraction(3)),
        HeartRate("%max", Fraction(70), Fraction(80)),
        HeartRate("bpm", Fraction(140), Fraction(150)),
    ]
    assert [x.effort for x in s[3:6]] == ["250 to 280 watts", "85 to 95% of FTP", "power zone 4"]
    assert [x.cadence for x in s[6:11]] == [(180, 180), (173, 173), (181, 181), (180, 180), (184, 184)]
    assert s[10].pace is not None and s[10].pace.text == "4:00/km" and s[10].pace_range is None
    assert s[11].effort == "speed zone 2" and s[11].pace is None
    assert s[12].effort is None and s[12].pace is None
    w = r.warnings
    assert (
        "w.fit:1:1: heart-rate targets are kept as heart-rate targets" in w[0] and "(3 times; the first here)" in w[0]
    )
    assert any(m.startswith("w.fit:1:4: power targets have no pace equivalent") and "(3 times" in m for m in w)
    assert any(m.startswith("w.fit:1:8: step 8 ('Run'): cadence range 170-176 steps per minute") for m in w)
    assert any(m.startswith("w.fit:1:10:") and "read as steps per minute" in m for m in w)
    assert any(m.startswith("w.fit:1:13:") and "'grade' target (5-10)" in m and "no unit" in m for m in w)
    assert not any(":1:9:" in m for m in w)


def test_conditions_and_their_nearest_honest_thing(tmp_path: Path) -> None:
    data = fit(
        [
            secs(60),  # 0
            secs(30),  # 1
            repeat(0, 600_000, "repeat_until_time"),  # 2: until 10 min: 7 x 90 s (the fewest that reach it)
            metres(400, **speed("4:00/km")),  # 3
            repeat(3, 200_000, "repeat_until_distance"),  # 4: until 2 km: 5 x 400 m
            secs(45),  # 5
            repeat(5, 180, "repeat_until_hr_less_than"),  # 6: until HR < 80 bpm: once
            {"duration_type": "hr_greater_than", "duration_value": 85},  # 7: until HR > 85% of max
            {"duration_type": "calories", "duration_value": 100},  # 8
            {"duration_type": "power_greater_than", "duration_value": 1300},  # 9
        ]
    )
    r = load(data, tmp_path)
    a, b, c, d, e, f = r.workout.steps
    assert isinstance(a, Repeat) and a.count == 7
    assert isinstance(b, Repeat) and b.count == 5
    assert isinstance(c, Repeat) and c.count == 1
    assert isinstance(d, Step) and d.open and d.say == "Until your heart rate is above 85 percent of your maximum."
    assert isinstance(e, Step) and e.open and e.say == "Until you have burned 100 calories."
    assert isinstance(f, Step) and f.open and f.say == "Until your power is above 300 watts."
    w = r.warnings
    assert (
        "w.fit:1:3: repeats until a time or distance has passed are done a fixed number of times: the fewest "
        "that reach it (2 times; the first here)" in w
    )
    alone = load(fit([secs(60), secs(30), repeat(0, 600_000, "repeat_until_time")]), Path(tmp_path)).warnings
    assert alone == [
        "w.fit:1:3: step 3 repeats steps 1-2 until 10:00 has passed: cadencecoach repeats a fixed number of times, "
        "here 7 (the block is 1:30)"
    ]
    assert any(m.startswith("w.fit:1:7: step 7 repeats steps 6-6 until heart rate below 80 bpm") for m in w)
    assert any(m.startswith("w.fit:1:8: step 8 ('Run') lasts until heart rate above 85% of max") for m in w)


def test_distance_without_a_pace_is_an_open_step_unless_its_kind_has_one(tmp_path: Path) -> None:
    data = fit([metres(800, intensity="active"), secs(60, intensity="recovery")])
    r = load(data, tmp_path)
    first = r.workout.steps[0]
    assert isinstance(first, Step) and first.open and first.duration == 0 and first.extent.value == 800
    assert first.say == "800 meters."
    assert any("--pace run=4:30/km" in m for m in r.warnings)
    timed = load(data, tmp_path, options=LoadOptions(pace_overrides={"run": "4:00/km"})).workout
    first = timed.steps[0]
    assert isinstance(first, Step) and not first.open and first.duration == 192 and first.pace_name == "run"
    assert timed.paces["run"].text == "4:00/km"


def test_warnings_are_grouped(tmp_path: Path) -> None:
    data = fit([secs(60, **target("power", 1200 + i)) for i in range(40)], sport="cycling")
    r = load(data, tmp_path)
    assert r.warnings == [
        "w.fit:1:1: sport 'cycling': not a running workout; its steps are read as running steps and its power "
        "targets spoken as effort text",
        "w.fit:1:1: power targets have no pace equivalent; spoken as effort text (40 times; the first here)",
    ]


# ------------------------------------------------------------------------------------------- bad files


def test_bad_back_references(tmp_path: Path) -> None:
    forward = fit([secs(60), repeat(5, 2)])
    (line,) = refused(forward, tmp_path)
    assert line.startswith("w.fit:1:2: step 2 repeats from step 6, which is not a step before it: the FIT file is")
    itself = fit([secs(60), repeat(1, 2)])
    assert refused(itself, tmp_path)[0].startswith("w.fit:1:2: step 2 repeats from step 2, which is not a step")
    crossing = fit([secs(60), secs(60), secs(60), repeat(1, 2), repeat(2, 2)])
    (line,) = refused(crossing, tmp_path)
    assert line.startswith("w.fit:1:5: step 5 repeats from step 3, which is inside an earlier repeat (steps 2-4)")
    zero = fit([secs(60), repeat(0, 0)])
    assert refused(zero, tmp_path)[0].startswith("w.fit:1:2: step 2 repeats steps 1-1 0 times")
    deep = fit([secs(1)] + [repeat(0, 2) for _ in range(40)])
    assert refused(deep, tmp_path)[0] == "w.fit:1:34: repeats are nested more than 32 deep"


def test_damaged_files_are_one_clear_problem(tmp_path: Path) -> None:
    good = fit([secs(60), secs(30)])
    assert load(good, tmp_path).workout.total_steps == 2
    (line,) = refused(good[:-7], tmp_path)
    assert line.startswith("w.fit:1:1: the FIT file is cut short: its header announces")
    bad = bytearray(good)
    bad[40] ^= 0x55
    (line,) = refused(bytes(bad), tmp_path)
    assert line.startswith("w.fit:1:1: the FIT file is damaged: its CRC (0x")
    header = bytearray(good)
    header[12] ^= 0xFF
    assert "its header's CRC does not match" in refused(bytes(header), tmp_path)[0]
    assert refused(b"name: x\nsteps: []\n", tmp_path)[0].startswith("w.fit:1:1: not a FIT file")
    assert refused(b"", tmp_path)[0] == "w.fit:1:1: the file is empty: not a FIT workout file"
    r = load(good + b"\x00" * 5, tmp_path)
    assert r.warnings == ["w.fit:1:1: 5 bytes after the end of the FIT file (its CRC) are not read; ignored"]
    # records that are no FIT records, with right CRCs (a broken writer): the decoder's error, with its byte
    body = bytes([0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    head = bytearray(good[:14])
    head[4:8] = len(body).to_bytes(4, "little")
    head[12:14] = CrcCalculator.calculate_crc(bytes(head[:12]), 0, 12).to_bytes(2, "little")
    data = bytes(head) + body
    data += CrcCalculator.calculate_crc(data, 0, len(data)).to_bytes(2, "little")
    (line,) = refused(data, tmp_path)
    assert (
        line == "w.fit:1:1: the FIT data cannot be decoded at byte 15: Invalid local message number; not a workout file"
    )


def test_other_fit_files_are_refused(tmp_path: Path) -> None:
    (line,) = refused(fit([secs(60)], file_type="activity"), tmp_path)
    assert line.startswith("w.fit:1:1: a recorded activity (FIT file type 'activity'), not a workout: ")
    (line,) = refused(fit([], file_type="course"), tmp_path)
    assert line.startswith("w.fit:1:1: a course (a route to follow) (FIT file type 'course'), not a workout")
    (line,) = refused(fit([], file_type="settings"), tmp_path)
    assert line.startswith("w.fit:1:1: a FIT file (FIT file type 'settings'), not a workout")
    (line,) = refused(fit([]), tmp_path)
    assert line == "w.fit:1:1: no steps: the file has no workout steps cadencecoach can use"


def test_big_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fit_import, "MAX_MESSAGES", 50)
    (line,) = refused(fit([secs(1)] * 60), tmp_path)
    assert line == "w.fit:1:1: more than 50 FIT messages: not a workout (a workout has a few dozen)"
    monkeypatch.setattr(fit_import, "MAX_FIT_STEPS", 20)
    (line,) = refused(fit([secs(1)] * 30), tmp_path)
    assert line == "w.fit:1:1: more than 20 workout steps: a FIT workout holds at most 20"
    over = tmp_path / "big.fit"
    over.write_bytes(fit([secs(1)], file_type="activity") + b"\x00" * 1_000_000)
    with pytest.raises(WorkoutError, match=r"activity'.*over 1 MB\), not a workout"):
        import_workout(over)


# ---------------------------------------------------------------------------------------- round trips


def same_steps(a: Workout, b: Workout, *, full_notes: bool = False) -> None:
    """The same steps: structure, kinds, labels, extents (time to the ms, distance to the cm), open steps,
    cadence and click, heart rate, texts; paces within what FIT's speeds (1 mm/s) and 0.01 s/km keep. With
    `full_notes`, a step's timed cues may miss some: those its notes (254 bytes) had no room for."""

    def walk(x: tuple[Step | Repeat, ...], y: tuple[Step | Repeat, ...]) -> None:
        assert len(x) == len(y)
        for p, q in zip(x, y, strict=True):
            if isinstance(p, Repeat):
                assert isinstance(q, Repeat) and p.count == q.count
                walk(p.steps, q.steps)
                continue
            assert isinstance(q, Step)
            assert (p.kind, p.label, p.open, p.extent.kind) == (q.kind, q.label, q.open, q.extent.kind)
            tol = Fraction(1, 2000) if p.extent.is_time else Fraction(1, 200)
            assert abs(p.extent.value - q.extent.value) <= tol
            if p.extent.is_time:
                assert abs(p.duration - q.duration) <= tol
            pc = (p.cadence or a.cadence) if p.click else None
            qc = (q.cadence or b.cadence) if q.click else None
            assert pc == qc, p.label
            assert p.heart_rate == q.heart_rate and p.incline == q.incline and p.breathing == q.breathing
            assert (p.effort, p.say) == (q.effort, q.say)
            if full_notes:  # those kept, in order
                rest = iter(p.cues)
                assert all(cue in rest for cue in q.cues)
            else:
                assert q.cues == p.cues
            assert (p.pace is None) == (q.pace is None) and (p.pace_range is None) == (q.pace_range is None)
            for want, got in zip([p.pace, *(p.pace_range or ())], [q.pace, *(q.pace_range or ())], strict=True):
                if want is not None and got is not None:
                    v = 1 / want.s_per_m  # m/s: half a mm/s of FIT rounding, as seconds per metre, and 0.01 s/km
                    assert abs(want.s_per_m - got.s_per_m) <= Fraction(1, 2000) / v**2 + Fraction(1, 100_000)

    walk(a.steps, b.steps)


SHIPPED = sorted(p.stem for p in shipped_dir().glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_workouts_round_trip(name: str) -> None:
    w = pipeline.load(name, use_history=False)
    data, warns = encode(w, created=WHEN)
    r = parse_fit(data, f"{name}.fit")
    assert r.warnings == []  # everything FIT has no field for is in the notes, and read back
    same_steps(w, r.workout)
    assert (r.workout.name, r.workout.total_steps) == (w.name, w.total_steps)
    notes = w.notes or ""
    if len(notes.encode()) <= 254:
        assert r.workout.notes == w.notes
    else:  # a FIT text field holds 254 bytes: cut, with a warning when written
        assert r.workout.notes is not None and notes.startswith(r.workout.notes)
        assert any("the workout's notes is longer than a FIT text field" in m for m in warns)


def test_everything_the_model_holds_round_trips() -> None:
    w = load_workout_text(
        """\
name: Everything
cadence: 172
steps:
  - warmup: 10min
  - repeat: 2
    steps:
      - run: 1km
        pace: 4:20/km
      - recover: 90s
      - repeat: 2
        steps:
          - run: 20s
          - rest: 40s
  - run: 5min
  - cooldown: 0.75mi
    pace: 6:00/km
""",
        "everything.yaml",
    )
    warm, rep, tempo, cool = w.steps
    assert isinstance(warm, Step) and isinstance(rep, Repeat) and isinstance(tempo, Step) and isinstance(cool, Step)
    run, rec, inner = rep.steps
    assert isinstance(run, Step) and isinstance(rec, Step) and isinstance(inner, Repeat)
    stride, rest = inner.steps
    assert isinstance(stride, Step) and isinstance(rest, Step)
    slow, fast = parse_pace("4:30/km"), parse_pace("4:10/km")
    steps = (
        replace(warm, cadence=(Fraction(165), Fraction(170)), heart_rate=HeartRate("zone", Fraction(1), Fraction(2))),
        replace(
            rep,
            steps=(
                replace(run, pace_range=(slow, fast), heart_rate=HeartRate("bpm", Fraction(160), Fraction(170))),
                replace(rec, click=False, breathing=(3, 2), heart_rate=HeartRate("%max", Fraction(65), Fraction(70))),
                replace(
                    inner,
                    steps=(
                        replace(stride, effort="fast; relaxed", cadence=(Fraction(345, 2), Fraction(345, 2))),
                        replace(rest, incline=Fraction(-5, 2), say="Walk; shake it out."),
                    ),
                ),
            ),
        ),
        replace(
            tempo,
            incline=Fraction(10),
            heart_rate=HeartRate("%lthr", Fraction(90), Fraction(95)),
            cues=((Fraction(61, 2), "Half a minute in."), (Fraction(240), "One minute left.")),
        ),
        cool,
        replace(warm, open=True, extent=replace(warm.extent, value=Fraction(0)), duration=Fraction(0), label="Lap"),
    )
    rich = replace(w, steps=steps)
    data, warns = encode(rich, created=WHEN)
    assert any("breathing 3:2 has no FIT field; it is put in the step's notes" in m for m in warns)
    r = parse_fit(data, "everything.fit")
    back = r.workout
    assert flat(back.steps)[3].effort == "fast, relaxed"  # "; " separates the notes' parts: written as ", "
    same_steps(replace(rich, steps=_fix_effort(rich.steps)), back)
    cooldown = back.steps[3]
    assert isinstance(cooldown, Step) and (cooldown.extent.unit, cooldown.extent.amount) == ("mi", Fraction(3, 4))
    assert [m for m in r.warnings if "heart-rate" not in m] == []


def _fix_effort(items: tuple[Step | Repeat, ...]) -> tuple[Step | Repeat, ...]:
    out: list[Step | Repeat] = []
    for item in items:
        if isinstance(item, Repeat):
            out.append(replace(item, steps=_fix_effort(item.steps)))
        elif item.effort == "fast; relaxed":
            out.append(replace(item, effort="fast, relaxed"))
        else:
            out.append(item)
    return tuple(out)


REFUSED = {"bike-elj-rest-day.zwo", "run-mn-400m-repeats.txt", "run-mn-800m-repeats.txt"}  # (tests/test_corpus.py)
CORPUS_OTHERS = (
    sorted(p for p in [*(CORPUS / "zwo").glob("*.zwo"), *(CORPUS / "icu").glob("*.txt")] if p.name not in REFUSED)
    if CORPUS.is_dir()
    else []
)


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_OTHERS, ids=lambda p: p.name)
def test_corpus_imports_round_trip_through_fit(path: Path) -> None:
    w = import_workout(path, LoadOptions(trial_override="5k 20:00"), display=path.name).workout
    data, warns = encode(w, created=WHEN)
    back = parse_fit(data, "x.fit").workout
    same_steps(w, back, full_notes=True)
    dropped = {t for p, q in zip(flat(w.steps), flat(back.steps), strict=True) for _, t in set(p.cues) - set(q.cues)}
    told = " ".join(m for m in warns if "is left out" in m)
    assert all(f"'{text}'" in told for text in dropped)  # nothing left out silently


def test_fit_is_an_import_suffix_and_loads_through_the_pipeline(tmp_path: Path) -> None:
    assert ".fit" in IMPORT_SUFFIXES and is_import("Workout.FIT")
    path = tmp_path / "hills.fit"
    path.write_bytes(fit([secs(600, intensity="warmup"), lap(intensity="recovery"), repeat(0, 3)]))
    heard: list[str] = []
    w = pipeline.load(str(path), use_history=False, open_step="90s", require_open_length=True, warn=heard.append)
    assert (w.total_steps, w.total_duration, heard) == (6, 3 * (600 + 90), [])
    with pytest.raises(WorkoutError, match=r"hills.fit:1:2: 'Recover' is an open step .* --open-step"):
        pipeline.load(str(path), use_history=False, require_open_length=True)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_validate_plan_convert(tmp_path: Path) -> None:
    (tmp_path / "intervals.fit").write_bytes(
        fit(
            [
                secs(300, intensity="warmup", **target("cadence", 85)),
                metres(400, intensity="active", **speed("4:00/km"), **target("cadence", 92, slot="secondary_")),
                secs(90, intensity="recovery", notes="Easy jog."),
                repeat(1, 4),
                lap(intensity="cooldown"),
            ],
            name="Track 4 x 400",
        )
    )
    (tmp_path / "run.fit").write_bytes(fit([secs(60)], file_type="activity"))
    r = cc("validate", "intervals.fit", "run.fit", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == "ok  intervals.fit  (Track 4 x 400: 17:24, 10 steps)\n"
    assert "run.fit:1:1: a recorded activity (FIT file type 'activity'), not a workout" in r.stderr
    r = cc("plan", "intervals.fit", "--json", "--open-step", "5min", "--voice-engine", "tones", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert [s["end_s"] - s["start_s"] for s in plan["steps"]] == [300] + [96, 90] * 4 + [300]
    assert plan["steps"][1]["cadence_start"] == 184 and plan["steps"][0]["cadence_start"] == 170
    r = cc("convert", "intervals.fit", "-o", "again.fit", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("wrote again.fit (Track 4 x 400: 17:24, 5 FIT steps")
    again = import_workout(tmp_path / "again.fit").workout
    first = import_workout(tmp_path / "intervals.fit").workout
    same_steps(first, again)
    assert math.isclose(float(again.total_duration), 1044)
