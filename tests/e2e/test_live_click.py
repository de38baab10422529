"""`cadencecoach click` and Ctrl-C, end to end: the real program as a subprocess (stdin not a TTY), its
output recorded from the test PulseAudio null sink.

At 44100 Hz, 180 steps/min is exactly 14700 samples between clicks: timing comes only from counting
samples in the stream callback, so the recording must show exactly that (to the sample: the sink, the
stream and the recorder all run at 44100 Hz, nothing resamples)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

try:
    from audio_server import SAMPLE_RATE, Recorder, find_onsets
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, find_onsets  # type: ignore[no-redef]

CLI = Path(sys.executable).with_name("cadencecoach")
PERIOD_180 = 14700


def cc(*args: str) -> list[str]:
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-c", "from cadencecoach.cli.app import run; run()", *args]


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cc(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@contextlib.contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    """:func:`spawn`, and kill the program if it still runs when the block ends (a failed check included)."""
    proc = spawn(*args)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


def ctrl_c(proc: subprocess.Popen[str]) -> str:
    """Press Ctrl-C (SIGINT) and wait (at most 5 s) for the program to end; its stderr."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=5)
    return err


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 15.0) -> str:
    """Read stdout lines until one contains `needle` (the player prints a line when time zero is played)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if needle in line:
            return line
        if not line and proc.poll() is not None:
            break
    err = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"no line with {needle!r}; exit {proc.poll()}; stderr: {err}")


def test_click_180_is_exactly_14700_samples_apart_and_ctrl_c_exits_130() -> None:
    with Recorder() as rec, running("click", "180", "--sample-rate", "44100") as proc:
        wait_for_line(proc, "metronome")
        time.sleep(3.2)
        err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1] == "stopped."
    assert lines[-2].startswith("played ") and "clicks" in lines[-2] and "underflows: 0" in lines[-2]
    x = rec.samples
    assert x is not None
    found = find_onsets(x, 0.05, PERIOD_180 // 2)
    assert len(found) >= 9, f"only {len(found)} clicks recorded"
    gaps = np.diff(found)
    assert np.all(np.abs(gaps - PERIOD_180) <= 1), f"intervals {gaps.tolist()}"
    # a clean stop: nothing after the fade-out, no click cut off mid-way
    last = int(found[-1])
    assert not np.any(np.abs(x[last + PERIOD_180 // 2 :]) > 0.01)


def test_ctrl_c_during_the_lead_in_of_run_exits_130(tmp_path: Path) -> None:
    workout = tmp_path / "short.yaml"
    workout.write_text("name: Short\nsteps:\n  - run: 20s\n")
    with running("run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100") as proc:
        time.sleep(2.0)
        t0 = time.monotonic()
        err = ctrl_c(proc)
        assert time.monotonic() - t0 < 1.5
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "played" in err and "steps: 0 of 1 completed" in err


def test_no_output_device_exits_3_at_once() -> None:
    env = dict(os.environ, PULSE_SERVER="unix:/nonexistent/cadencecoach-no-server")
    env.pop("PULSE_SINK", None)
    probe = subprocess.run(cc("devices"), env=env, capture_output=True, text=True, timeout=30)
    if probe.returncode == 0:  # this machine has a sound card of its own besides the server
        import pytest

        pytest.skip("outputs exist without the sound server on this machine")
    t0 = time.monotonic()
    proc = subprocess.run(cc("click", "180"), env=env, capture_output=True, text=True, timeout=30)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 3
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert 'render them to a file: cadencecoach track click --profile "60min@180" -o FILE' in lines[0]
    assert SAMPLE_RATE == 44100


def _threads(pid: int) -> dict[int, tuple[str, int]]:
    """Native id -> (name, scheduling policy) of every thread of process `pid`."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/comm", encoding="utf-8") as f:
                out[int(t)] = (f.read().strip(), os.sched_getscheduler(int(t)))
        except OSError:
            continue
    return out


def test_every_audio_thread_of_the_player_is_realtime() -> None:
    """Issue 10: under load the server ran dry although the callback thread was SCHED_FIFO, because the audio
    also goes through libpulse's own thread in the player (ALSA's pulse plugin: `threaded-ml` wakes the
    callback thread and writes its blocks to the server), which stayed at normal priority and was held up
    for 100+ ms. Whatever the callback thread gets (SCHED_FIFO here when permitted), that thread gets too."""
    with running("click", "180", "--sample-rate", "44100") as proc:
        wait_for_line(proc, "metronome")
        deadline = time.monotonic() + 3.0
        while True:
            threads = _threads(proc.pid)
            fifo = {tid for tid, (_, policy) in threads.items() if policy == os.SCHED_FIFO}
            pulse = {tid for tid, (name, _) in threads.items() if name == "threaded-ml"}
            if (fifo and pulse <= fifo) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        err = ctrl_c(proc)
    assert proc.returncode == 130, err
    assert pulse, f"no libpulse thread in the player (not on ALSA's pulse plugin?): {threads}"
    if not fifo:
        # unprivileged (no root, CAP_SYS_NICE or rtprio limit): nothing can be raised, and nothing was
        assert all(policy == os.SCHED_OTHER for _, policy in threads.values()), threads
        return
    assert pulse <= fifo, f"the callback thread is SCHED_FIFO but libpulse's thread is not: {threads}"
    assert threads[proc.pid][1] == os.SCHED_OTHER, threads  # the main thread stays as it was
