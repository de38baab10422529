"""`run` and open ("press lap") steps: a step with no length waits for the lap key (up to a placeholder)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from cadencecoach import pipeline as session
from cadencecoach.core.timeline import compile_workout
from cadencecoach.workout.formats import LAP_HINT, LIVE_OPEN_STEP_S, for_live

ICU = """Warmup
- 10s Z1 Pace

Main set
- press lap Z3 Pace
- 9m Z2 Pace press lap
- 10s Z1 Pace
"""


def test_open_steps_without_length_get_the_placeholder_and_the_lap_hint(tmp_path: Path) -> None:
    path = tmp_path / "lap.txt"
    path.write_text(ICU)
    workout = for_live(session.load(str(path), ["threshold=4:30/km"], use_history=False))
    timeline = compile_workout(workout, 44100)
    lengths = [s.end_s - s.start_s for s in timeline.steps]
    assert lengths == [10, LIVE_OPEN_STEP_S, Fraction(9 * 60), 10]  # a written length is kept
    says = [c for c in timeline.cues if c.kind == "say"]
    assert [c.text for c in says] == [LAP_HINT] and says[0].step_index == 1


def test_workouts_without_open_steps_are_unchanged() -> None:
    workout = session.load("tabata", use_history=False)
    assert for_live(workout) is workout
