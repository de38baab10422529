"""`cadencecoach run` end to end: a short workout played live through the test PulseAudio sink, recorded,
and compared with `cadencecoach render` of the same workout: every click where the offline render has it
(relative to the first click, within 2 samples) and speech energy where the plan puts the cues."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

try:
    from audio_server import SAMPLE_RATE, Recorder, first_difference
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, first_difference  # type: ignore[no-redef]

CLI = Path(sys.executable).with_name("cadencecoach")

WORKOUT = """\
name: Live check
cadence: 180
steps:
  - warmup: 6s
  - run: 7s
    cadence: 150
  - recover: 6s
    click: off
"""
COMMON = ("--voice-engine", "tones", "--sample-rate", "44100")


def cc(*args: str) -> list[str]:
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-c", "from cadencecoach.cli.app import run; run()", *args]


def align(recorded: np.ndarray, reference: np.ndarray, span: int) -> int:
    """Offset d with recorded[d + i] ~ reference[i], from the first `span` samples of the reference."""
    ref = reference[:span].astype(np.float64)
    rec = recorded.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(rec) + span)))
    corr = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)[: len(rec) - span]
    return int(np.argmax(corr))


def local_lag(recorded: np.ndarray, reference: np.ndarray, d: int, at: int, width: int = 600, search: int = 8) -> int:
    """The lag (samples) that best matches reference[at : at + width] in the recording around d + at."""
    ref = reference[at : at + width].astype(np.float64)
    best, best_lag = -np.inf, 0
    for lag in range(-search, search + 1):
        s = d + at + lag
        seg = recorded[s : s + width].astype(np.float64)
        if len(seg) < width:
            continue
        score = float(np.dot(seg, ref)) / (np.linalg.norm(seg) * np.linalg.norm(ref) + 1e-12)
        if score > best:
            best, best_lag = score, lag
    return best_lag


def describe_break(broken: tuple[int, int | None, int | None], plan: dict) -> str:
    i, resume, shift = broken
    where = f"the live recording stops being the offline render at sample {i} ({i / SAMPLE_RATE:.3f} s"
    steps = [s for s in plan.get("steps", []) if s.get("start_s", 0) * SAMPLE_RATE <= i]
    where += f", in {steps[-1].get('label', 'step ' + str(len(steps)))})" if steps else ")"
    if resume is None or shift is None:
        return where + " and never becomes it again"
    how = f"samples {i}..{resume - 1} differ, " if resume > i else ""
    if shift > 0:
        how += f"then it goes on {shift} samples late ({shift} inserted: the player's stream ran dry)"
    elif shift < 0:
        how += f"then it goes on {-shift} samples early ({-shift} lost)"
    else:
        how += "then it goes on in time (replaced, e.g. by silence after an underrun)"
    return f"{where}: {how}"


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def test_run_plays_what_render_writes(tmp_path: Path) -> None:
    workout = tmp_path / "live-check.yaml"
    workout.write_text(WORKOUT)
    wav = tmp_path / "offline.wav"
    subprocess.run(cc("render", str(workout), "-o", str(wav), "--bit-depth", "24", *COMMON), check=True, timeout=60)
    plan = json.loads(
        subprocess.run(
            cc("plan", str(workout), "--json", *COMMON), check=True, capture_output=True, text=True, timeout=60
        ).stdout
    )
    offline, rate = soundfile.read(str(wav), dtype="float32")
    assert rate == SAMPLE_RATE

    t0 = time.monotonic()
    with Recorder() as rec:
        proc = subprocess.run(
            cc("run", str(workout), *COMMON), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90
        )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 60
    assert "steps: 3 of 3 completed, 0 skipped; underflows: 0" in proc.stderr
    # plain progress lines, one per step (stdin is not a terminal)
    assert [ln.split("] ", 1)[1].split(" (")[0] for ln in proc.stdout.splitlines()] == ["Warm-up", "Run", "Recover"]

    recorded = rec.samples
    assert recorded is not None
    d = align(recorded, offline, 2 * SAMPLE_RATE)
    # the spoken lead-in ("Live check. Starting in 3, 2, 1") sounds in the seconds before time zero
    lead = recorded[max(d - 4 * SAMPLE_RATE, 0) : d]
    assert rms(lead) > 0.02
    # ... with the "1" over before zero
    assert np.abs(recorded[d - SAMPLE_RATE // 20 : d]).max() < 0.01

    # the recording is the offline render, sample for sample (24-bit file: to its precision); when it is not,
    # say exactly where and how it breaks (issue 10: a gap or a loss there shifts every later click)
    broken = first_difference(recorded, offline, d)
    assert broken is None, describe_break(broken, plan)

    clicks = np.rint(np.asarray(plan["clicks"]) * SAMPLE_RATE).astype(np.int64)
    assert len(clicks) == 18 + 18  # 6 s at 180; 7 s at 150, the first on the boundary (whole phase there)
    lags = np.array([local_lag(recorded, offline, d, int(c)) for c in clicks])
    assert np.all(np.abs(lags - lags[0]) <= 2), f"click lags relative to the first: {lags.tolist()}"
    # and the samples themselves: the live stream is the offline render (24-bit file: to its precision)
    end = len(offline)
    np.testing.assert_allclose(recorded[d : d + end], offline, atol=1e-4)

    # speech energy where the plan puts every cue, and about as loud as offline
    for cue in plan["cues"]:
        a = round(cue["at_s"] * SAMPLE_RATE)
        b = a + round(cue["duration_s"] * SAMPLE_RATE)
        live_level, ref_level = rms(recorded[d + a : d + b]), rms(offline[a:b])
        assert ref_level > 0.05, cue
        assert 0.8 < live_level / ref_level < 1.25, (cue, live_level, ref_level)
    # silence after the end
    tail = recorded[d + end : d + end + SAMPLE_RATE // 2]
    assert np.abs(tail).max() < 0.01
