"""Keyboard control end to end: `cadencecoach run` in a pseudo-terminal (so it shows the live display and
reads keys in cbreak mode), keys typed while the test sink is recorded:

    +      the interval shrinks from 60/180 s to 60/182 s (14700 -> 14538.5 samples at 44.1 kHz)
    space  pause: a gap with no clicks; space again: the same tempo goes on
    n      the warm-up ends now: the run's announcement and its 150 spm clicks arrive at once
    q      stop, exit 0, with the terminal restored
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, Recorder, chime_regions, find_onsets
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, chime_regions, find_onsets  # type: ignore[no-redef]

pexpect = pytest.importorskip("pexpect")

try:
    from pty_session import Session
except ImportError:  # tests/ is a package
    from tests.pty_session import Session  # type: ignore[no-redef]

WORKOUT = """\
name: Key check
cadence: 180
steps:
  - warmup: 40s
  - run: 30s
    cadence: 150
"""
P180, P182, P150 = 14700.0, 60 * SAMPLE_RATE / 182, 17640.0



def near(gap: float, period: float) -> bool:
    return abs(gap - period) <= 1.0


def test_pause_skip_and_cadence_keys(tmp_path: Path) -> None:
    workout = tmp_path / "keys.yaml"
    workout.write_text(WORKOUT)
    with Recorder() as rec:
        rec_start = time.time()
        # --no-confirm: the spoken confirmations (tests/e2e/test_live_control.py) would duck the clicks timed here
        s = Session(["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--no-confirm"])
        try:
            s.wait_for("180 spm")  # time zero has been played: the display shows the cadence
            s.drain(2.0)
            t_plus = s.key("+", rec_start)
            s.drain(2.0)
            t_pause = s.key(" ", rec_start)
            s.drain(1.5)
            assert "PAUSED" in s.output
            t_resume = s.key(" ", rec_start)
            s.drain(2.0)
            t_skip = s.key("n", rec_start)
            s.drain(3.0)
            s.key("q", rec_start)
            s.finish()
        finally:
            s.child.close(force=True)
    assert s.child.exitstatus == 0, s.output[-2000:]
    assert "182 spm" in s.output and "150 spm" in s.output
    assert "1 skipped" in s.output
    assert "underflows: 0" in s.output, re.findall(r"\d+ buffer underflow\(s\), the first [\d.]+ s in", s.output)

    x = rec.samples
    assert x is not None
    sr = SAMPLE_RATE
    chimes = chime_regions(x, level=0.02)  # their decaying tails included
    # the run's announcement: a chime that starts right after `n` (key latency + a 50 ms margin + output)
    after_skip = [a for a, _ in chimes if a / sr > t_skip - 0.1]
    assert after_skip, f"no announcement after the skip at {t_skip:.2f} s; chimes at {[a / sr for a, _ in chimes]}"
    announce = after_skip[0] / sr
    assert announce - t_skip < 0.6, (announce, t_skip)

    # clicks outside speech: silence the chimes (and the ducked clicks under them), then find onsets
    masked = x.copy()
    for a, b in chimes:
        masked[max(a - 2000, 0) : b + 200] = 0.0
    clicks = find_onsets(masked, 0.05, 6000)
    zero = max(a for a, _ in chimes if a / sr < t_plus)  # the warm-up's announcement, at time zero
    warm = clicks[(clicks > zero) & (clicks / sr < announce)]
    gaps = np.diff(warm)
    t = warm[1:] / sr  # the time each gap ends
    before_plus = gaps[t < t_plus]
    assert len(before_plus) >= 3 and all(near(g, P180) for g in before_plus[-3:]), before_plus.tolist()
    # after `+`: 60/182 s, and it stays so across the pause
    fast = gaps[(t > t_plus + 0.6) & (t < t_skip)]
    # one gap is the pause: no click for about as long as the keys said
    p = int(np.argmax(fast))
    assert fast[p] / sr > (t_resume - t_pause) - 0.1, fast.tolist()
    assert fast[p] / sr < (t_resume - t_pause) + 2 * P182 / sr, fast.tolist()
    # every other one is 60/182 s (a click caught in the 20 ms fade-out or fade-in may be heard a little late)
    others = [g for i, g in enumerate(fast) if abs(i - p) > 1]
    assert len(others) >= 6 and all(near(g, P182) for g in others), fast.tolist()
    assert all(abs(g - P182) < 0.05 * sr for i, g in enumerate(fast) if abs(i - p) == 1), fast.tolist()
    # after `n`: 150 spm, from the end of the announcement on
    announce_end = next(b for a, b in chimes if a / sr > t_skip - 0.1)
    run = clicks[clicks > announce_end]
    run_gaps = np.diff(run)
    assert len(run_gaps) >= 3 and all(near(g, P150) for g in run_gaps), run_gaps.tolist()
    assert run[0] - announce_end < P150 + 2000


def test_a_dumb_terminal_gets_plain_progress_lines(tmp_path: Path) -> None:
    """TERM=dumb (an editor's shell) cannot redraw the panel: the runner sees the plain lines instead of nothing
    until the end, and the keys still work."""
    workout = tmp_path / "short.yaml"
    workout.write_text("name: Short\ncadence: 180\nsteps:\n  - warmup: 4s\n  - run: 20s\n    cadence: 150\n")
    s = Session(["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100"], term="dumb")
    try:
        s.wait_for("] Warm-up (")
        assert "180 spm" in s.output
        s.wait_for("] Run (")
        s.key("q", time.time())
        s.finish()
    finally:
        s.child.close(force=True)
    assert s.child.exitstatus == 0, s.output[-2000:]
    assert "\x1b[" not in s.output, s.output[-2000:]  # no cursor movement: nothing a dumb terminal garbles
    assert "steps: 1 of 2 completed" in s.output, s.output[-2000:]
