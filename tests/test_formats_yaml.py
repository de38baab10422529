"""YAML output (``workout.formats.yaml_out``): a workout written as YAML loads back through loader.py to the
same timeline (``plan --json`` equal), for our own workouts and for imported ones."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from cadencecoach.core.timeline import compile_workout
from cadencecoach.workout.formats import import_workout, with_open_length
from cadencecoach.workout.formats.icu import parse_icu
from cadencecoach.workout.formats.yaml_out import dumps, duration_text
from cadencecoach.workout.formats.zwo import parse_zwo
from cadencecoach.workout.loader import load_workout, load_workout_text
from cadencecoach.workout.model import Workout
from cadencecoach.workout.paces import LoadOptions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "workouts" / "examples"


def plan(workout: Workout) -> dict[str, Any]:
    return compile_workout(workout, 44100).to_json()


def roundtrip(workout: Workout) -> tuple[Workout, list[str], str]:
    warns: list[str] = []
    text = dumps(workout, warns, header="test")
    return load_workout_text(text, "out.yaml"), warns, text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (90, "1min30s"),
        (600, "10min"),
        (45, "45s"),
        (3600, "1h"),
        (4500, "1h15min"),
        (3605, "1h0min5s"),
        ("2.5", "2.5s"),
    ],
)
def test_duration_text(seconds: object, text: str) -> None:
    assert duration_text(Fraction(str(seconds))) == text


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "workouts").glob("*.yaml")))
def test_shipped_workouts_roundtrip(name: str) -> None:
    original = load_workout(ROOT / "workouts" / f"{name}.yaml")
    back, warns, _ = roundtrip(original)
    assert plan(back) == plan(original)
    assert warns == []


def test_trial_aliases_and_kind_named_paces() -> None:
    text = """\
name: Derived
trial: 5k 19:57
voice: minimal
paces:
  jog: easy
  recover: 6:30/km
  fast: 1:26/400m
steps:
  - run: 1mi
    pace: threshold
  - recover: 400m
  - run: 400m
    pace: fast
    breathing: "2:2"
  - rest: 30s
    pace: jog
    effort: 85
  - run: 2min
    pace: 4:05.5/km
"""
    original = load_workout_text(text, "in.yaml")
    back, _, out = roundtrip(original)
    assert plan(back) == plan(original)
    assert "jog: easy" in out and "trial: 5k 19:57" in out


def test_trial_from_the_command_line_is_written() -> None:
    original = load_workout_text("name: T\nsteps:\n  - run: 1km\n    pace: 5k\n", "in.yaml", trial_override="1mi 6:00")
    back, _, out = roundtrip(original)
    assert plan(back) == plan(original) and "trial: 1mi 6:00" in out


def test_zwift_roundtrip_is_exact() -> None:
    """The brief's test: convert x.zwo -o x.yaml, and the YAML plans the same timeline."""
    text = """<workout_file><name>Z</name><sportType>run</sportType><workout>
      <Warmup Duration="600" PowerLow="0.6" PowerHigh="0.8" pace="1" CadenceLow="160" CadenceHigh="170">
        <textevent timeoffset="0" message="Easy does it."/>
      </Warmup>
      <IntervalsT Repeat="4" OnDuration="95.5" OffDuration="60" OnPower="1.03" OffPower="0.72" pace="1" Cadence="92"/>
      <SteadyState Duration="300" Power="0.9" pace="3"/>
      <FreeRide Duration="120"/>
      <Cooldown Duration="300" PowerLow="0.7" PowerHigh="0.6" pace="2"/>
    </workout></workout_file>"""
    imported = parse_zwo(text, "z.zwo", options=LoadOptions(trial_override="5k 20:00"))
    back, warns, _ = roundtrip(imported.workout)
    assert plan(back) == plan(imported.workout)
    assert warns == []


def test_distance_zwift_roundtrip() -> None:
    r = import_workout(EXAMPLES / "zwift-distance-ladder.zwo", options=LoadOptions(trial_override="5k 21:30"))
    back, _, _ = roundtrip(r.workout)
    assert plan(back) == plan(r.workout)


def test_icu_roundtrip() -> None:
    r = import_workout(EXAMPLES / "icu-400s-at-5k.txt", options=LoadOptions(pace_overrides={"threshold": "4:10/km"}))
    back, warns, _ = roundtrip(r.workout)
    assert plan(back) == plan(r.workout) and warns == []


def test_timed_cues_are_written_and_read_back() -> None:
    r = parse_icu("- Push 33^Hold your form <!> 3m 4:10/km Pace\n", "w.txt")
    back, warns, text = roundtrip(r.workout)
    assert warns == []
    assert "    cues:\n      - at: 33s\n        say: Hold your form\n" in text
    assert plan(back) == plan(r.workout)
    assert [c["text"] for c in plan(back)["cues"] if c["kind"] == "custom"] == ["Hold your form"]


def test_open_steps_stay_open() -> None:
    """An open step with no length is written `lap`; one with a length `open: true`; both read back open."""
    r = parse_icu(
        "- 9m Z2 Pace press lap\n- Walk back press lap\n",
        "w.txt",
        options=LoadOptions(pace_overrides={"threshold": "4:00/km"}),
    )
    back, warns, text = roundtrip(r.workout)
    assert warns == []
    assert "  - run: 9min\n    open: true\n" in text and "  - rest: lap\n" in text
    assert [(s.open, s.duration) for s in back.steps] == [(True, Fraction(540)), (True, Fraction(0))]  # type: ignore[union-attr]
    fixed = with_open_length(r.workout, Fraction(75))
    back, warns, _ = roundtrip(fixed)
    assert plan(back) == plan(fixed) and warns == []
    assert all(s.open for s in back.steps)  # type: ignore[union-attr]


def test_converted_example_is_current() -> None:
    """workouts/examples/zwift-5k-intervals.yaml is what `convert` writes for the .zwo beside it."""
    r = import_workout(
        EXAMPLES / "zwift-5k-intervals.zwo",
        display="zwift-5k-intervals.zwo",
        options=LoadOptions(trial_override="5k 20:00"),
    )
    shipped = load_workout(EXAMPLES / "zwift-5k-intervals.yaml")
    assert plan(r.workout) == plan(shipped)  # all of it: the timed cue is in the YAML now (`cues:`)

    def body(text: str) -> list[str]:  # without the comments (the header, the import's warnings)
        return [line for line in text.splitlines() if not line.startswith("#")]

    assert body(dumps(r.workout)) == body((EXAMPLES / "zwift-5k-intervals.yaml").read_text())
