"""`cadencecoach run --sensor replay:FILE` end to end, through the test PulseAudio sink: a recorded run (a CSV
of time, cadence, speed, distance) replayed as if it were a footpod. The runner falls to 170 spm at 5 s on a
180 click, and runs 100 m at 3.33 m/s where the plan said 25 s (4 m/s). Heard: the live stream is the offline
render until the coach's "Cadence 170. Up to 180." at the planned moment (the hold after the drift), and the
100 m step ends at the replayed 100 m (30 s), not at its planned 25 s; the recording of the run reads back
with a lap per step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

try:
    from audio_server import SAMPLE_RATE, Recorder, first_difference
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, first_difference  # type: ignore[no-redef]

CLI = Path(sys.executable).with_name("cadencecoach")
SR = SAMPLE_RATE

WORKOUT = """\
name: Sensor check
cadence: 180
steps:
  - run: 100m
    pace: 1:40/400m
  - recover: 6s
    click: off
"""
SPEED = 10 / 3  # m/s: 100 m in 30 s
COMMON = ("--voice-engine", "tones", "--sample-rate", str(SR))


def cc(*args: str) -> list[str]:
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-c", "from cadencecoach.cli.app import run; run()", *args]


def replay_csv(path: Path) -> None:
    lines = ["time,cadence,speed,distance"]
    for t in range(0, 46):
        lines.append(f"{t},{180 if t < 5 else 170},{SPEED:.6f},{SPEED * t:.3f}")
    path.write_text("\n".join(lines) + "\n")


def align(recorded: np.ndarray, reference: np.ndarray, span: int) -> int:
    ref = reference[:span].astype(np.float64)
    rec = recorded.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(rec) + span)))
    corr = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)[: len(rec) - span]
    return int(np.argmax(corr))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_replayed_footpod_drift_cue_and_distance_step(tmp_path: Path) -> None:
    workout = tmp_path / "sensor-check.yaml"
    workout.write_text(WORKOUT)
    csv = tmp_path / "run.csv"
    replay_csv(csv)
    wav = tmp_path / "offline.wav"
    subprocess.run(cc("render", str(workout), "-o", str(wav), "--bit-depth", "24", *COMMON), check=True, timeout=60)
    offline, rate = soundfile.read(str(wav), dtype="float32")
    assert rate == SR
    record = tmp_path / "recorded.tcx"
    env_home = {"CADENCECOACH_HOME": str(tmp_path / "home")}
    with Recorder() as rec:
        proc = subprocess.run(
            cc(
                "run",
                str(workout),
                "--sensor",
                f"replay:{csv}",
                "--cadence-hold",
                "6",
                "--record",
                str(record),
                *COMMON,
            ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **env_home},
        )
    assert proc.returncode == 0, proc.stderr
    assert "steps: 2 of 2 completed, 0 skipped; underflows: 0" in proc.stderr
    coach_lines = [ln for ln in proc.stdout.splitlines() if "coach:" in ln]
    assert coach_lines == ["[0:13] coach: Cadence 170. Up to 180."], proc.stdout
    assert "[0:30] Recover" in proc.stdout, proc.stdout  # the step change, heard at the replayed 100 m

    recorded = rec.samples
    assert recorded is not None
    d = align(recorded, offline, 2 * SR)
    # the live stream is the offline render, sample for sample, until the coach speaks: at the end of the
    # hold (the window's median is off from ~7 s, + 6 s), never before
    broken = first_difference(recorded, offline, d)
    assert broken is not None
    assert 12.9 * SR <= broken[0] <= 14.0 * SR, broken[0] / SR
    remark = recorded[d + broken[0] : d + broken[0] + SR]
    assert np.sqrt(np.mean(np.square(remark, dtype=np.float64))) > 0.02  # speech there

    # the clicks go on past the planned end (25 s), where the plan's recovery (click off) would be silent: the
    # step ends at the replayed 100 m (30 s; the progress line above, the recording's lap below). A click of
    # the offline render away from any cue (5 s) is the template; 25.33-26.67 s has no cue live (the countdown,
    # where clicks give way to the words, is at 27-29 s)
    at5 = 15 * SR // 3
    click = offline[at5 : at5 + SR // 50]
    n = len(click)
    for k in range(76, 81):  # 180 spm from 0: the phase continuous through the edits
        at = d + round(k * SR / 3)
        assert similarity(recorded[at : at + n], click) > 0.9, k / 3
        assert similarity(offline[at - d : at - d + n], click) < 0.5, k / 3  # the plan: the recovery, no click

    # the recording: one lap per step on the workout's clock, the step's lap ending at 30 s
    from cadencecoach.activity.read import read_activity

    run = read_activity(record)
    assert abs(run.laps[0].end_s - 30.0) < 0.1 and len(run.laps) == 2
    assert abs(float(np.nanmedian(run.cadence[run.t > 10])) - 170) <= 1
