"""Zwift workouts from the field (``../shared/corpus/zwo``): what issue 13 found in real files, each shown on the
file that has it. The durations and step counts are computed here from each file's own numbers (ElementTree, not
our importer). Skipped where the corpus is absent (a user's clone has none)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from cadencecoach.errors import WorkoutError
from cadencecoach.workout.formats import import_workout
from cadencecoach.workout.formats._common import iter_steps
from cadencecoach.workout.model import Repeat, Step
from cadencecoach.workout.paces import LoadOptions

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
ZWO = CORPUS / "zwo"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/ is not here (a user's clone has none)")
TRIAL = LoadOptions(trial_override="5k 20:00")
STEPS = {"warmup", "cooldown", "ramp", "steadystate", "freeride", "maxeffort"}


def files() -> list[Path]:
    return sorted(ZWO.glob("*.zwo")) if ZWO.is_dir() else []


def expected(path: Path) -> tuple[Fraction, int]:
    """(seconds, steps) from the file's own numbers: a part of length 0 is no step."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    root = ET.fromstring(text)
    workout = next(c for c in root if c.tag.lower() == "workout")
    total, count = Fraction(0), 0
    for el in workout:
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        if el.tag.lower() == "intervalst":
            n = int(attrs["repeat"])
            for part in (Fraction(attrs["onduration"]), Fraction(attrs["offduration"])):
                total += n * part
                count += n if part > 0 else 0
        elif el.tag.lower() in STEPS and Fraction(attrs["duration"]) > 0:
            total += Fraction(attrs["duration"])
            count += 1
    return total, count


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name)
def test_every_file_imports_with_its_own_duration_or_says_why_not(path: Path) -> None:
    if path.name == "bike-elj-rest-day.zwo":
        with pytest.raises(WorkoutError) as exc:
            import_workout(path, options=TRIAL)
        (p,) = exc.value.problems
        assert "rest day" in p.message and "nothing to run today" in p.message
        return
    for options in (None, TRIAL):
        r = import_workout(path, options=options)
        assert (r.workout.total_duration, r.workout.total_steps) == expected(path)
        joined = "\n".join(r.warnings)
        for noise in ("more than zero", "uniqueId", "legacyIdHash", "Slope", "malformed", "no steps"):
            assert noise not in joined
        assert len(r.warnings) <= 5, joined  # one line per distinct problem


def test_hill_ladder_steps_are_plain_with_their_inclines() -> None:
    """102 ``IntervalsT Repeat="1" OffDuration="0" OnSlope=...``: 102 plain steps (no Repeat of one), inclines."""
    path = ZWO / "run-tacx-hill-ladder.zwo"
    r = import_workout(path)
    slopes = [Fraction(el.get("OnSlope", "")) for el in ET.parse(path).getroot().iter("IntervalsT")]
    assert len(slopes) == 102 and all(isinstance(s, Step) for s in r.workout.steps)
    assert [s.incline for s in iter_steps(r.workout.steps)] == slopes
    assert r.workout.total_duration == 90 * 60 and r.warnings == []


def test_chili_pepper_slopes() -> None:
    r = import_workout(ZWO / "bike-tacx-chili-pepper.zwo")
    inclined = [item for item in r.workout.steps if isinstance(item, Step) and item.incline is not None]
    assert [s.incline for s in inclined] == [1, 1]
    reps = [item for item in r.workout.steps if isinstance(item, Repeat) and item.steps[0].incline is not None]
    assert [[s.incline for s in rep.steps] for rep in reps] == [[4, 0], [4, 0]]


def test_fight_club_is_windows_1252() -> None:
    r = import_workout(ZWO / "bike-bdc-fight-club.zwo")
    assert r.warnings[0].endswith(
        "bike-bdc-fight-club.zwo:3:122: not UTF-8: read as Windows-1252 (\u2018 at 3:122); save it as UTF-8 to be sure"
    )
    assert r.workout.notes is not None and "\u2018attacks\u2019" in r.workout.notes
    assert sum("Windows-1252" in w for w in r.warnings) == 1


def test_steady_states_with_power_low_and_high_keep_their_target() -> None:
    """Sufferfest - Angels: 50 ``<SteadyState PowerLow PowerHigh>`` with no Power, each with its target."""
    r = import_workout(ZWO / "bike-bdc-angels.zwo")
    lows = [el.get("PowerLow") for el in ET.parse(ZWO / "bike-bdc-angels.zwo").getroot().iter("SteadyState")]
    efforts = [s.effort for s in iter_steps(r.workout.steps) if s.kind == "run"]
    assert len(efforts) == len(lows) and all(e is not None and e.endswith("% of FTP") for e in efforts)
    assert efforts[0] == f"{Fraction(lows[0] or '') * 100}% of FTP"


def test_two_line_messages_are_one_cue() -> None:
    r = import_workout(ZWO / "bike-nene-ftp-test.zwo")
    cues = [text for step in iter_steps(r.workout.steps) for _, text in step.cues]
    assert "Time to get warmed up and get your cadence up to 90-100rpm" in cues
    assert "Half way done! If it's feeling easy now might be time to add 10 watts." in cues
    assert "Bring your power up to what you think you can hold for 20 minutes" in cues
    assert not [c for c in cues if c in ("Time to get warmed up and", "you can hold for 20 minutes")]


def test_distoffset_zero_needs_no_pace_and_the_rest_is_one_line() -> None:
    r = import_workout(ZWO / "bike-elj-hendys-warmup.zwo")
    first = next(iter_steps(r.workout.steps))
    assert first.say == "Welcome to Coach Hendy's Perfect Race Warmup!"
    (line,) = [w for w in r.warnings if "distoffset" in w]
    assert line.endswith("cannot be timed: a bike workout has no pace; ignored (8 times; the first here)")


def test_missing_reference_is_one_line_per_reference() -> None:
    r = import_workout(ZWO / "run-lhp-variable-intervals.zwo")
    (line,) = [w for w in r.warnings if "no 5k pace" in w]
    assert "no 5k pace to map Zwift's percentages of it on" in line and line.endswith("(14 times; the first here)")
    r = import_workout(ZWO / "run-lhp-variable-intervals.zwo", options=TRIAL)
    assert not [w for w in r.warnings if "no 5k pace" in w]
    warm = next(iter_steps(r.workout.steps))
    assert warm.pace is not None and warm.pace_name == "85.7% 5k"  # its ramp's middle


def test_zwomaker_distance_files_get_a_hint() -> None:
    r = import_workout(ZWO / "run-bou-negative3000.zwo")
    assert any("no <durationType>" in w and "<durationType>distance</durationType>" in w for w in r.warnings)


def test_distances_in_the_description_get_the_same_hint() -> None:
    """luishpinto's files say "1.00 km warming up" and write Duration="1000" with no <durationType>: read as
    seconds, as Zwift does, with a warning that names the likely fix."""
    r = import_workout(ZWO / "run-lhp-four-miles-threshold.zwo", options=TRIAL)
    (hint,) = [w for w in r.warnings if "no <durationType>" in w]
    assert hint.startswith(f"{ZWO / 'run-lhp-four-miles-threshold.zwo'}:4:1: ")
    assert "the description speaks of distances ('1.00 km')" in hint
    assert "add <durationType>distance</durationType> to the file" in hint


def test_rest_day_exits_2_with_one_line(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "validate", str(ZWO / "bike-elj-rest-day.zwo")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CADENCECOACH_HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 2
    assert p.stderr.strip().endswith(
        "bike-elj-rest-day.zwo:12:9: <RestDay>: this file is a rest day, with no steps: nothing to run today (a run "
        "workout has Warmup, SteadyState, IntervalsT... elements)"
    )
    assert "warning" not in p.stderr
