"""The command line with imported workouts: ``convert``, ``plan``/``validate``/``render`` of ``.txt`` and ``.zwo``,
``--open-step``, warnings on stderr and ``FILE:LINE:COL`` errors with exit 2 (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extra_deps import require_extra

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "workouts" / "examples"
ZWO = """<workout_file><name>Club night</name><sportType>run</sportType><workout>
  <Warmup Duration="300" PowerLow="0.6" PowerHigh="0.8" pace="1" CadenceLow="160" CadenceHigh="170">
    <textevent timeoffset="0" message="Easy does it."/>
  </Warmup>
  <IntervalsT Repeat="3" OnDuration="60" OffDuration="60" OnPower="1.03" OffPower="0.72" pace="1" Cadence="92"/>
  <Cooldown Duration="180" PowerLow="0.7" PowerHigh="0.6" pace="2"/>
</workout></workout_file>
"""
HILLS = "Warmup\n- 2m Z2 Pace\n\nHill 2x\n- 30s 95% Pace 94rpm\n- Jog back down press lap\n"


def cc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**os.environ, "CADENCECOACH_HOME": str(cwd)},  # each test its own (temporary) home
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "club.zwo").write_text(ZWO)
    (tmp_path / "hills.txt").write_text(HILLS)
    return tmp_path


def test_convert_zwo_to_yaml_plans_the_same(files: Path) -> None:
    r = cc("convert", "club.zwo", "-o", "club.yaml", "--trial", "5k 20:00", cwd=files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("wrote club.yaml (Club night: 14:00, 8 steps, 2 warnings)")
    assert "warning: club.zwo:2:3: <Warmup> ramps from 60% to 80% of 5k pace" in r.stderr
    a = cc("plan", "club.zwo", "--json", "--trial", "5k 20:00", "--voice-engine", "tones", cwd=files)
    b = cc("plan", "club.yaml", "--json", "--voice-engine", "tones", cwd=files)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    original, converted = json.loads(a.stdout), json.loads(b.stdout)
    # the import's warnings are listed in plan --json too, told apart by the file position they start with; the
    # YAML written is exact, so it plans the same with none of them
    imported = [w for w in original["warnings"] if w.startswith("club.zwo:")]
    assert imported == [
        "club.zwo:2:3: <Warmup> ramps from 60% to 80% of 5k pace: cadencecoach keeps one pace per step, its middle",
        "club.zwo:6:3: <Cooldown> ramps from 70% to 60% of 10k pace: cadencecoach keeps one pace per step, its middle",
    ]
    assert {**original, "warnings": [w for w in original["warnings"] if w not in imported]} == converted
    assert "# warning: club.zwo:2:3:" in (files / "club.yaml").read_text()


def test_convert_to_fit(files: Path) -> None:
    require_extra("fit")  # skipped when not installed; a broken install fails
    r = cc("convert", "club.zwo", "-o", "club.fit", "--trial", "5k 20:00", cwd=files)
    assert r.returncode == 0, r.stderr
    assert "5 FIT steps" in r.stdout  # warm-up, on, off, repeat, cool-down
    data = (files / "club.fit").read_bytes()
    assert data[8:12] == b".FIT"
    r = cc("convert", "hills.txt", "-o", "hills.fit", "--trial", "5k 20:00", cwd=files)
    assert r.returncode == 0, r.stderr  # FIT keeps open steps open: no --open-step needed


def test_open_step_needs_a_length_for_plan_and_render(files: Path) -> None:
    for args in (
        ("plan", "hills.txt", "--voice-engine", "tones"),
        ("render", "hills.txt", "-o", "hills.wav", "--voice-engine", "tones"),
    ):
        r = cc(*args, "--trial", "5k 20:00", cwd=files)
        assert r.returncode == 2, (args, r.stderr)
        assert "hills.txt:6:2: 'Jog back down' is an open step" in r.stderr
        assert "--open-step" in r.stderr and "Traceback" not in r.stderr
    assert not (files / "hills.wav").exists()
    r = cc("convert", "hills.txt", "-o", "hills.yaml", "--trial", "5k 20:00", cwd=files)  # YAML keeps it open
    assert r.returncode == 0 and "  - recover: lap\n" in (files / "hills.yaml").read_text(), r.stderr
    r = cc(
        "plan", "hills.txt", "--json", "--open-step", "75s", "--trial", "5k 20:00", "--voice-engine", "tones", cwd=files
    )
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)["steps"]
    assert [s["end_s"] - s["start_s"] for s in steps] == [120, 30, 75, 30, 75]
    assert [s["label"] for s in steps] == ["Warm-up", "Hill", "Jog back down", "Hill", "Jog back down"]
    assert [s["cadence_start"] for s in steps][1] == 188  # 94 strides per minute


def test_render_an_imported_workout(files: Path) -> None:
    r = cc(
        "render", "hills.txt", "-o", "hills.wav", "--open-step", "5s", "--trial", "5k 20:00",
        "--voice-engine", "tones", "--sample-rate", "8000", cwd=files,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (files / "hills.wav").stat().st_size > 8000 * 2 * 190  # 3:10 of 16-bit mono


def test_validate_and_errors(files: Path) -> None:
    (files / "bad.zwo").write_text("<workout_file><workout>\n<SteadyState Duration='60'>\n</workout></workout_file>")
    (files / "bad.txt").write_text("Main 3x\n- 1m Z1 Pace\n- 20s 20rpm\n")
    r = cc("validate", "club.zwo", "bad.zwo", "bad.txt", "--trial", "5k 20:00", cwd=files)
    assert r.returncode == 2
    assert r.stdout.startswith("ok  club.zwo  (Club night: 14:00, 8 steps)")
    assert "bad.zwo:3:3: malformed XML: mismatched tag" in r.stderr
    assert "bad.txt:3:7: cadence 20rpm is 40 steps per minute" in r.stderr
    r = cc("plan", "missing.zwo", cwd=files)
    assert r.returncode == 2 and "missing.zwo:1:1: no such file" in r.stderr


def test_convert_usage_errors(files: Path) -> None:
    r = cc("convert", "club.zwo", "-o", "club.gpx", cwd=files)
    assert r.returncode == 2 and "write .yaml" in r.stderr
    r = cc("convert", "club.zwo", "-o", "nowhere/club.yaml", cwd=files)
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = cc("convert", "club.zwo", "-o", "x.yaml", "--open-step", "400m", cwd=files)
    assert r.returncode == 2 and "--open-step 400m: give a time" in r.stderr
    r = cc("convert", "--help", cwd=files)
    assert r.returncode == 0 and "cadencecoach convert intervals.zwo -o intervals.fit" in r.stdout


def test_shipped_name_to_yaml(files: Path) -> None:
    r = cc("convert", "tabata", "-o", "tabata.yaml", cwd=files)
    assert r.returncode == 0, r.stderr
    a = cc("plan", "tabata", "--json", "--voice-engine", "tones", cwd=files)
    b = cc("plan", "tabata.yaml", "--json", "--voice-engine", "tones", cwd=files)
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_examples_validate(tmp_path: Path) -> None:
    args = [str(p) for p in sorted(EXAMPLES.iterdir()) if p.suffix in (".txt", ".zwo", ".yaml")]
    r = cc("validate", *args, "--trial", "5k 20:00", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ok  ") == len(args)
