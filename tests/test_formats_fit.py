"""Garmin FIT export (``workout.formats.fit``): written with Garmin's SDK (garmin-fit-sdk), read back with a
different library (fitdecode), and every step compared with what the workout model says it should be."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from extra_deps import require_extra, require_module

require_extra("fit")  # skipped when not installed; a broken install fails
fitdecode = require_module("fitdecode")  # a dev dependency, to read the files back

from cadencecoach.errors import WorkoutError  # noqa: E402
from cadencecoach.workout.formats import import_workout, with_open_length  # noqa: E402
from cadencecoach.workout.formats.fit import decode, encode, write_fit  # noqa: E402
from cadencecoach.workout.loader import load_workout, load_workout_text  # noqa: E402
from cadencecoach.workout.model import Repeat, Step, Workout  # noqa: E402
from cadencecoach.workout.paces import LoadOptions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "workouts" / "examples"
INTENSITY = {"warmup": "warmup", "run": "active", "recover": "recovery", "rest": "rest", "cooldown": "cooldown"}
WHEN = datetime(2026, 5, 1, 7, 30, tzinfo=timezone.utc)


def read_all(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Every data message, by name, as {field: value} (fitdecode's scaled values; CRC checked)."""
    import io

    out: dict[str, list[dict[str, Any]]] = {}
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                out.setdefault(frame.name, []).append({f.name: f.value for f in frame.fields})
    return out


def expected_steps(workout: Workout) -> list[dict[str, Any]]:
    """What each workout_step must say, from the model alone (repeats as repeat steps after their body)."""
    out: list[dict[str, Any]] = []

    def walk(items: tuple[Step | Repeat, ...]) -> None:
        for item in items:
            if isinstance(item, Repeat):
                first = len(out)
                walk(item.steps)
                out.append({"repeat_from": first, "count": item.count})
            else:
                out.append({"step": item})

    walk(workout.steps)
    return out


def check_step(got: dict[str, Any], want: dict[str, Any], workout: Workout, index: int) -> None:
    assert got["message_index"] == index
    if "repeat_from" in want:
        assert got["duration_type"] == "repeat_until_steps_cmplt"
        assert got["duration_step"] == want["repeat_from"]
        assert got["repeat_steps"] == want["count"]
        return
    step: Step = want["step"]
    assert got["wkt_step_name"] == step.label
    assert got["intensity"] == INTENSITY[step.kind]
    if step.open:
        assert got["duration_type"] == "open"
    elif step.extent.is_time:
        assert got["duration_type"] == "time"
        assert got["duration_time"] == pytest.approx(float(step.extent.value), abs=0.0005)  # seconds
    else:
        assert got["duration_type"] == "distance"
        assert got["duration_distance"] == pytest.approx(float(step.extent.value), abs=0.005)  # metres
    # a cadence target only where the source set one (the step's, or the workout's own `cadence:`), click on
    given = step.cadence if step.cadence is not None else workout.cadence if workout.cadence_given else None
    cadence = given if step.click else None
    strides = (math.floor(min(cadence) / 2), math.ceil(max(cadence) / 2)) if cadence is not None else None
    if step.pace is not None:
        assert got["target_type"] == "speed"
        speed = 1 / float(step.pace.s_per_m)  # m/s
        low, high = got["custom_target_speed_low"], got["custom_target_speed_high"]
        assert low < speed < high
        if step.pace_range is not None:  # exactly the range, to FIT's resolution (1 mm/s)
            slow, fast = step.pace_range
            assert low == pytest.approx(1 / float(slow.s_per_m), abs=0.0005)
            assert high == pytest.approx(1 / float(fast.s_per_m), abs=0.0005)
        else:  # pace + and - 5 s/km, as speeds to FIT's resolution (1 mm/s)
            assert low == pytest.approx(1 / (float(step.pace.s_per_m) + 0.005), abs=0.0005)
            assert high == pytest.approx(1 / (float(step.pace.s_per_m) - 0.005), abs=0.0005)
        if strides is not None:
            assert got["secondary_target_type"] == "cadence"
            assert (got["secondary_custom_target_cadence_low"], got["secondary_custom_target_cadence_high"]) == strides
        elif step.heart_rate is None:
            assert got.get("secondary_target_type") is None
    elif step.heart_rate is not None and step.heart_rate.unit in ("zone", "bpm", "%max"):
        assert got["target_type"] == "heart_rate"
    elif strides is not None:
        assert got["target_type"] == "cadence"
        assert (got["custom_target_cadence_low"], got["custom_target_cadence_high"]) == strides
    else:
        assert got["target_type"] == "open"
    notes = got.get("notes") or ""
    if step.say:
        assert step.say in notes
    if step.effort:
        assert step.effort in notes
    for _, text in step.cues:
        assert text in notes


def roundtrip(workout: Workout) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    data, warns = encode(workout, created=WHEN)
    msgs = read_all(data)
    (file_id,) = msgs["file_id"]
    assert file_id["type"] == "workout" and file_id["manufacturer"] == "development"
    assert file_id["time_created"] == WHEN
    (wkt,) = msgs["workout"]
    assert wkt["wkt_name"] == workout.name and wkt["sport"] == "running"
    steps = msgs["workout_step"]
    want = expected_steps(workout)
    assert wkt["num_valid_steps"] == len(steps) == len(want)
    for i, (got, exp) in enumerate(zip(steps, want, strict=True)):
        check_step(got, exp, workout, i)
    return msgs, warns


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "workouts").glob("*.yaml")))
def test_every_shipped_workout(name: str) -> None:
    workout = load_workout(ROOT / "workouts" / f"{name}.yaml", trial_override="1mi 6:00")
    roundtrip(workout)


def test_imported_zwift_workout() -> None:
    r = import_workout(EXAMPLES / "zwift-5k-intervals.zwo", options=LoadOptions(trial_override="5k 20:00"))
    msgs, warns = roundtrip(r.workout)
    steps = msgs["workout_step"]
    assert [s["duration_type"] for s in steps].count("repeat_until_steps_cmplt") == 1
    # the cadence ramp the strides range cannot give back exactly (issue 13), then the say text
    assert steps[0]["notes"] == "cadence 164-172 spm; Easy start, let the legs wake up."
    assert any("FIT has no timed messages" in w and "Relax the shoulders." in w for w in warns)


def test_open_steps_stay_open() -> None:
    r = import_workout(EXAMPLES / "icu-hill-repeats.txt", options=LoadOptions(trial_override="5k 20:00"))
    msgs, _ = roundtrip(r.workout)
    types = [s["duration_type"] for s in msgs["workout_step"]]
    assert types == ["time", "time", "open", "repeat_until_steps_cmplt", "time"]
    # --open-step gives a length for YAML/plan/render; FIT keeps the step open
    msgs, _ = roundtrip(with_open_length(r.workout, Fraction(90)))
    assert [s["duration_type"] for s in msgs["workout_step"]] == types


def test_nested_repeats_click_off_and_ramps() -> None:
    w = load_workout_text(
        """\
name: Nested
cadence: 170-176
paces: {mile: "5:45/mi"}
steps:
  - warmup: 10min
  - repeat: 2
    steps:
      - repeat: 3
        steps:
          - run: 200m
            pace: mile
            cadence: 181
            effort: 90%
          - rest: 45s
            click: off
      - recover: 3min
        breathing: "3:2"
        say: Walk it off.
""",
        "nested.yaml",
    )
    msgs, warns = roundtrip(w)
    steps = msgs["workout_step"]
    assert [s["duration_type"] for s in steps] == [
        "time",
        "distance",
        "time",
        "repeat_until_steps_cmplt",
        "time",
        "repeat_until_steps_cmplt",
    ]
    assert (steps[3]["duration_step"], steps[3]["repeat_steps"]) == (1, 3)
    assert (steps[5]["duration_step"], steps[5]["repeat_steps"]) == (1, 2)
    assert (steps[0]["custom_target_cadence_low"], steps[0]["custom_target_cadence_high"]) == (85, 88)  # a ramp
    assert (steps[1]["secondary_custom_target_cadence_low"], steps[1]["secondary_custom_target_cadence_high"]) == (
        90,
        91,
    )
    assert any("breathing 3:2" in w for w in warns)


def test_decode_helper_matches_and_sdk_reads_it_too() -> None:
    from garmin_fit_sdk import Decoder, Stream

    r = import_workout(EXAMPLES / "icu-400s-at-5k.txt", options=LoadOptions(pace_overrides={"threshold": "4:10/km"}))
    data, _ = encode(r.workout, created=WHEN)
    _, wkt, steps = decode(data)
    assert wkt["num_valid_steps"] == len(steps)
    assert Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == [] and len(messages["workout_step_mesgs"]) == len(steps)


def test_write_is_atomic_and_long_steps_are_refused(tmp_path: Path) -> None:
    w = load_workout(ROOT / "workouts" / "tabata.yaml")
    out = tmp_path / "t.fit"
    write_fit(w, out, created=WHEN)
    assert out.read_bytes()[8:12] == b".FIT" and [p.name for p in tmp_path.iterdir()] == ["t.fit"]
    # 50,000 km within 24 hours needs a pace no runner keeps (the loader refuses 0:01/km now): built directly
    near = load_workout_text("name: far\nsteps:\n  - run: 50km\n    pace: 3:00/km\n", "far.yaml")
    (step,) = near.steps
    assert isinstance(step, Step)
    long_step = replace(step, extent=replace(step.extent, value=Fraction(50_000_000), amount=Fraction(50000)))
    far = replace(near, steps=(replace(long_step, duration=Fraction(50000)),), total_duration=Fraction(50000))
    with pytest.raises(WorkoutError, match="too long for a FIT file"):
        encode(far)
    assert far.total_duration == Fraction(50000)


def test_targets_only_where_given_heart_rate_pace_ranges_and_incline() -> None:
    """Issue 13: no cadence target the source did not set; heart-rate targets as FIT heart-rate targets (in the
    slot left free, else in the notes); a pace range as exactly its speeds; an incline in the notes."""
    from cadencecoach.workout.model import HeartRate
    from cadencecoach.workout.units import parse_pace

    w = load_workout_text(
        "name: Targets\nsteps:\n  - warmup: 10min\n  - run: 1km\n    pace: 4:20/km\n"
        "  - run: 5min\n    cadence: 176\n  - recover: 2min\n  - run: 400m\n    pace: 4:00/km\n    cadence: 181\n",
        "targets.yaml",
    )
    assert not w.cadence_given
    warm, run, tempo, rec, fast = w.steps
    assert isinstance(run, Step) and isinstance(tempo, Step) and isinstance(rec, Step) and isinstance(fast, Step)
    zone3 = HeartRate("zone", Fraction(3), Fraction(3))
    steps = (
        warm,
        replace(run, pace_range=(parse_pace("4:30/km"), parse_pace("4:10/km")), heart_rate=zone3),
        replace(tempo, heart_rate=HeartRate("bpm", Fraction(150), Fraction(160)), incline=Fraction(10)),
        replace(rec, heart_rate=HeartRate("%lthr", Fraction(80), Fraction(80)), incline=Fraction(-2)),
        replace(fast, heart_rate=HeartRate("%max", Fraction(85), Fraction(90))),
    )
    data, _ = encode(replace(w, steps=steps), created=WHEN)
    _, _, got = decode(data)
    assert (got[0].target_type, got[0].secondary_target_type, got[0].notes) == ("open", None, None)
    assert (got[1].target_type, got[1].low, got[1].high) == ("speed", 3704, 4000)  # 4:30/km and 4:10/km exactly
    assert (got[1].secondary_target_type, got[1].secondary_target_value, got[1].secondary_low) == (
        "heart_rate",
        3,
        None,
    )
    assert (got[2].target_type, got[2].target_value, got[2].low, got[2].high) == ("heart_rate", 0, 250, 260)
    assert (got[2].secondary_target_type, got[2].secondary_low, got[2].secondary_high) == ("cadence", 88, 88)
    assert got[2].notes == "incline 10%"
    assert (got[3].target_type, got[3].notes) == ("open", "heart rate 80% LTHR; incline -2%")
    assert (got[4].target_type, got[4].secondary_target_type) == ("speed", "cadence")  # no slot left for the HR
    assert (got[4].secondary_low, got[4].secondary_high) == (90, 91)  # 181: read back as its middle
    assert got[4].notes == "heart rate 85-90% max"


def test_click_off_and_ramps_are_in_the_notes() -> None:
    w = load_workout(ROOT / "workouts" / "10x400.yaml")
    _, _, got = decode(encode(w, created=WHEN)[0])
    recover = next(s for s in got if s.name == "Recover")
    assert (recover.target_type, recover.notes) == ("open", "no click")
    assert got[-1].notes == "cadence 165-170 spm" and (got[-1].low, got[-1].high) == (82, 85)
