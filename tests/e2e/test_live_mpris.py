"""Media controls (MPRIS) end to end: `cadencecoach run` in a pseudo-terminal with DBUS_SESSION_BUS_ADDRESS on a
private dbus-daemon (tests/dbus_bus.py), driven with ``dbus-send`` as a desktop drives it for a headset's
buttons, while the test sink is recorded:

    PlayPause   a gap with no clicks; PlaybackStatus "Paused"; PlayPause again: the same tempo goes on
    Next        the warm-up ends now: the run's announcement and its 150 spm clicks
    Previous    5 s into the run: the run starts again (its announcement; Metadata: all 30 s left)
    Previous    again 2 s after that (within 3 s of its start): back to the warm-up (its announcement, 180 spm)
    Stop        exit 0; the name leaves the bus

Spoken confirmations are off (``--no-confirm``; tests/e2e/test_live_control.py hears them): the clicks and the
steps' announcements are all there is in the recording.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, Recorder, chime_regions, find_onsets
    from dbus_bus import MPRIS_NAME, PLAYER, PrivateBus, available
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, chime_regions, find_onsets  # type: ignore[no-redef]
    from tests.dbus_bus import MPRIS_NAME, PLAYER, PrivateBus, available  # type: ignore[no-redef]

pexpect = pytest.importorskip("pexpect")

try:
    from pty_session import Session
except ImportError:  # tests/ is a package
    from tests.pty_session import Session  # type: ignore[no-redef]

SR = SAMPLE_RATE
WORKOUT = """\
name: Media keys
cadence: 180
steps:
  - warmup: 30s
  - run: 30s
    cadence: 150
  - recover: 30s
"""
P180, P150 = 60 * SR / 180, 60 * SR / 150



def near(gap: float, period: float) -> bool:
    return abs(gap - period) <= 1.0


def title(bus: PrivateBus) -> str:
    meta = bus.get("Metadata")
    found = re.search(r'string "xesam:title"\s+variant\s+string "([^"]*)"', meta)
    assert found, meta
    return found.group(1)


def left_s(text: str) -> int:
    m, s = re.search(r"(\d+):(\d\d) left", text).groups()  # type: ignore[union-attr]
    return int(m) * 60 + int(s)


@pytest.mark.skipif(not available(), reason="dbus-daemon not installed (Debian: dbus)")
def test_media_keys_drive_a_run(tmp_path: Path) -> None:
    workout = tmp_path / "mpris.yaml"
    workout.write_text(WORKOUT)
    t: dict[str, float] = {}
    titles: dict[str, str] = {}
    with PrivateBus() as bus, Recorder() as rec:
        rec_start = time.time()

        def press(name: str, member: str) -> None:
            t[name] = time.time() - rec_start
            bus.send(f"{PLAYER}.{member}")

        args = ["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--no-confirm"]
        s = Session(args, bus.env)
        try:
            bus.wait_for_name(MPRIS_NAME, timeout=25, alive=s.child.isalive)
            assert "boolean true" in bus.get("CanGoNext")
            s.wait_for("180 spm")  # time zero has been played
            s.drain(2.5)
            press("pause", "PlayPause")
            s.drain(0.6)
            assert 'string "Paused"' in bus.get("PlaybackStatus")
            s.drain(0.9)
            press("resume", "PlayPause")
            s.drain(0.6)
            assert 'string "Playing"' in bus.get("PlaybackStatus")
            s.drain(2.0)
            titles["warm"] = title(bus)
            press("next", "Next")
            s.drain(5.0)
            titles["run"] = title(bus)
            press("previous", "Previous")  # 5 s into the run: the run again
            s.drain(1.0)
            titles["restarted"] = title(bus)
            s.drain(1.0)
            press("back", "Previous")  # within 3 s of its new start: back to the warm-up
            s.drain(1.0)
            titles["back"] = title(bus)
            s.drain(3.0)
            press("stop", "Stop")
            s.finish()
        finally:
            s.child.close(force=True)
        gone = MPRIS_NAME not in bus.names()
    out = s.output
    assert s.child.exitstatus == 0, out[-2000:]
    assert gone, "the name stayed on the bus after the run"
    assert "underflows: 0" in out, out[-2000:]

    # -- what the media applet showed
    assert titles["warm"].startswith("Warm-up · 0:"), titles
    assert 20 <= left_s(titles["warm"]) <= 26, titles  # about 6 s into the 30 s warm-up (and the pause)
    assert titles["run"].startswith("Run · 0:") and 23 <= left_s(titles["run"]) <= 26, titles
    assert titles["restarted"].startswith("Run · 0:") and left_s(titles["restarted"]) >= 28, titles
    assert titles["back"].startswith("Warm-up · 0:") and left_s(titles["back"]) >= 28, titles

    # -- what was heard
    x = rec.samples
    assert x is not None
    chimes = chime_regions(x, level=0.02)

    def announcement_after(name: str) -> tuple[float, float]:
        after = [(a / SR, b / SR) for a, b in chimes if a / SR > t[name] - 0.1]
        assert after, f"no announcement after {name} at {t[name]:.2f} s; chimes at {[a / SR for a, _ in chimes]}"
        return after[0]

    lags = {name: announcement_after(name)[0] - t[name] for name in ("next", "previous", "back")}
    assert all(lag < 0.8 for lag in lags.values()), lags  # D-Bus, the poll, the margin, the buffers

    masked = x.copy()
    for a, b in chimes:
        masked[max(a - 2000, 0) : b + 200] = 0.0
    clicks = find_onsets(masked, 0.05, 6000)
    when = clicks / SR

    # the warm-up up to Next: 180 spm, one gap as long as the pause
    zero = max(a for a, _ in chimes if a / SR < t["pause"]) / SR  # the warm-up's announcement, at time zero
    warm = clicks[(when > zero) & (when < announcement_after("next")[0])]
    gaps = np.diff(warm)
    p = int(np.argmax(gaps))
    paused = t["resume"] - t["pause"]
    assert paused - 0.15 < gaps[p] / SR < paused + 2 * P180 / SR, (gaps[p] / SR, paused)
    others = [g for i, g in enumerate(gaps) if abs(i - p) > 1]
    assert len(others) >= 6 and all(near(g, P180) for g in others), gaps.tolist()

    # the run after Next: 150 spm until Previous
    run = clicks[(when > announcement_after("next")[1]) & (when < t["previous"])]
    assert len(run) >= 6 and all(near(g, P150) for g in np.diff(run)), np.diff(run).tolist()
    # the run again after the first Previous (between its announcement and the second Previous): 150 spm
    again = clicks[(when > announcement_after("previous")[1]) & (when < t["back"])]
    assert len(again) >= 2 and all(near(g, P150) for g in np.diff(again)), np.diff(again).tolist()
    # the warm-up again after the second Previous: 180 spm until Stop
    back = clicks[(when > announcement_after("back")[1]) & (when < t["stop"])]
    assert len(back) >= 4 and all(near(g, P180) for g in np.diff(back)), np.diff(back).tolist()
    assert not np.any(when > t["stop"] + 0.8), "clicks after Stop"


def test_a_run_without_a_session_bus_plays_all_the_same(tmp_path: Path) -> None:
    """No session bus (a server, a console login): no media controls, no word about it, the run as ever."""
    workout = tmp_path / "short.yaml"
    workout.write_text("name: Short\ncadence: 180\nsteps:\n  - warmup: 3s\n  - run: 3s\n")
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'nobus'}"}
    args = ["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--plain", "--no-voice"]
    s = Session(args, env)
    try:
        s.finish(timeout=30)
    finally:
        s.child.close(force=True)
    assert s.child.exitstatus == 0, s.output[-2000:]
    assert "steps: 2 of 2 completed" in s.output, s.output[-2000:]
    assert not re.search(r"(?i)d-?bus|mpris|traceback", s.output), s.output[-2000:]
