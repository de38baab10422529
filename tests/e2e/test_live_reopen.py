"""The audio server killed mid-run, and a new one started on the same socket: the player opens its stream again
(PortAudio re-initialised, the device found again by name) and the clicks go on at the same tempo, with "Audio
restored"; with no server coming back, exit 3 once ``--reconnect-limit`` has passed, naming ``render``.

Everything plays into throwaway PulseAudio daemons of this test's own (``throwaway_pulse`` of
test_live_faults.py, and a second daemon on its socket), never the shared test server; the new daemon's monitor
is recorded with parec to see the clicks come back (at 44100 Hz nothing resamples: 180 spm is exactly 14700
samples). The figure reported is the recovery time: from the new daemon's start to the first click at its
monitor.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, find_onsets
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, find_onsets  # type: ignore[no-redef]

try:
    from e2e.test_live_faults import cc, throwaway_pulse
    from e2e.test_live_faults import start_daemon as start_pulse
except ImportError:
    from tests.e2e.test_live_faults import cc, throwaway_pulse  # type: ignore[no-redef]
    from tests.e2e.test_live_faults import start_daemon as start_pulse  # type: ignore[no-redef]

pexpect = pytest.importorskip("pexpect")

try:
    from pty_session import Session
except ImportError:  # tests/ is a package
    from tests.pty_session import Session  # type: ignore[no-redef]

PERIOD_180 = 14700
SINK = "cc_lost"  # throwaway_pulse's null sink
KILL_AT_S = 3.0  # after time zero
OUTAGE_S = 2.0  # from the kill to the new daemon
BACK_WITHIN_S = 8.0  # from the new daemon's start to the first click at its monitor


def start_daemon(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A new PulseAudio daemon on the socket (and in the directories) of `env`, set up like throwaway_pulse's;
    returns once it answers."""
    daemon = start_pulse(env)
    if daemon is None:
        pytest.fail("the second PulseAudio daemon did not start")
    return daemon


@contextmanager
def monitor(env: dict[str, str]) -> Iterator[tuple[list[float], list[np.ndarray]]]:
    """parec on the sink's monitor of the server in `env`, started without waiting for it: yields
    ``([wall time of the first sample], [samples])``, both filled once the block ends (a thread notes when the
    first bytes arrive, and how many)."""
    with tempfile.TemporaryDirectory(prefix="cc-reopen-") as tmp:
        path = Path(tmp) / "capture.raw"
        with open(path, "wb") as out:
            proc = subprocess.Popen(
                ["parec", f"--device={SINK}.monitor", "--format=float32le", f"--rate={SAMPLE_RATE}", "--channels=1",
                 "--latency-msec=20", "--raw", "--client-name=cadencecoach-tests"],
                env=env,
                stdout=out,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        first: list[float] = []
        samples: list[np.ndarray] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                size = path.stat().st_size
                if size:
                    first.append(time.monotonic() - size / 4 / SAMPLE_RATE)
                    return
                time.sleep(0.002)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield first, samples
        finally:
            done.set()
            watcher.join(5)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            raw = path.read_bytes()
            samples.append(np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4").astype(np.float32))
        assert first, "parec delivered nothing"



def playing_at(env: dict[str, str], session: Session, timeout: float) -> float:
    """When (monotonic) a stream first plays into the server of `env` (a sink input: parec's is a source
    output), draining the program's output meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        listed = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=env, capture_output=True, text=True)
        if listed.stdout.strip():
            return time.monotonic()
        assert time.monotonic() < deadline, "the player never came back to the new server"
        session.drain(0.02)


def plain(text: str) -> str:
    """Terminal output without escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r", "", text)


def test_a_killed_server_that_comes_back_brings_the_clicks_back_at_the_same_tempo() -> None:
    with throwaway_pulse() as (env, daemon):
        # --no-confirm: "Audio restored." is still shown, not said over the clicks whose gaps are measured here
        s = Session(["click", "180", "--sample-rate", "44100", "--no-confirm"], env)
        new: subprocess.Popen[bytes] | None = None
        try:
            s.wait_for(r"[Mm]etronome", timeout=20, regex=True)
            s.drain(KILL_AT_S)
            assert s.child.isalive(), s.output[-2000:]
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(5)
            s.drain(OUTAGE_S)
            assert s.child.isalive(), f"gave up during a {OUTAGE_S:g} s outage: {plain(s.output)[-2000:]!r}"
            started = time.monotonic()
            new = start_daemon(env)
            with monitor(env) as (first, recorded):
                stream_back = playing_at(env, s, timeout=BACK_WITHIN_S) - started
                s.wait_for(r"[Aa]udio restored", timeout=BACK_WITHIN_S + 4, regex=True)
                s.drain(5.0)  # clicks on the new server
            s.child.send("q")
            s.finish()
        finally:
            s.child.close(force=True)
            if new is not None and new.poll() is None:
                new.kill()
                new.wait(5)
    out = plain(s.output)
    assert s.child.exitstatus == 0, out[-3000:]
    assert "Traceback" not in out
    for noise in ("ALSA lib", "Expression '", "pa_linux_alsa", "underrun occurred"):  # kept off the display
        assert noise not in out, out[-3000:]
    x = recorded[0]
    onsets = find_onsets(x, threshold=0.05, min_gap_samples=2000)
    assert len(onsets) >= 8, f"{len(onsets)} clicks on the new server; {plain(s.output)[-600:]!r}"
    recovery = first[0] + onsets[0] / SAMPLE_RATE - started
    print(
        f"recovery: the player's stream on the new server {stream_back:.2f} s after its start, the first click at"
        f" its monitor {recovery:.2f} s after (a fresh null sink delivers its monitor ~1.9 s late)"
    )
    assert stream_back < BACK_WITHIN_S / 2, stream_back
    assert recovery < BACK_WITHIN_S, recovery
    gaps = np.diff(onsets)
    assert np.all(gaps == PERIOD_180), f"180 spm is exactly {PERIOD_180} samples: {gaps.tolist()}"
    summary = [ln for ln in out.splitlines() if ln.startswith("played ") and "clicks" in ln]
    assert summary, out[-3000:]
    assert "audio lost 1 time," in summary[-1], summary[-1]  # the outage, once: not the new stream's start too


def test_a_server_that_stays_away_is_exit_3_after_the_reconnect_limit() -> None:
    limit = 3.0
    with throwaway_pulse() as (env, daemon):
        proc = subprocess.Popen(
            cc("click", "180", "--sample-rate", "44100", "--reconnect-limit", f"{limit:g}"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # printed once time zero is played
            assert "metronome" in line, (line, proc.poll())
            time.sleep(1.0)
            daemon.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            _, err = proc.communicate(timeout=limit + 20)
            took = time.monotonic() - killed
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 3, err
    assert limit - 0.5 <= took <= limit + 5.0, f"gave up after {took:.2f} s (limit {limit:g} s)"
    assert "Traceback" not in err
    assert "render them to a file: cadencecoach track click" in err, err
    summary = [ln for ln in err.splitlines() if ln.startswith("played ")]
    assert summary and "clicks" in summary[0], err
    for noise in ("ALSA lib", "Expression '", "pa_linux_alsa"):  # nothing from the back-end over the display
        assert noise not in err, err


def test_the_throwaway_server_is_no_bluetooth_sink() -> None:
    from cadencecoach.sinks.live.devices import OutputDevice, is_bluetooth

    with throwaway_pulse() as (env, _daemon):
        for name in ("pulse", "default"):
            assert is_bluetooth(OutputDevice(0, name, 32, 44100.0, "ALSA", True), env) is False
        no_sink = {k: v for k, v in env.items() if k != "PULSE_SINK"}
        assert is_bluetooth(OutputDevice(0, "default", 32, 44100.0, "ALSA", True), no_sink) is False
    assert is_bluetooth(OutputDevice(0, "pulse", 32, 44100.0, "ALSA", True), env) is None  # the server is gone


def test_the_opener_reopens_in_process_across_a_server_restart() -> None:
    """The device side alone, without the player: StreamOpener.reopen against a real PortAudio and servers."""
    code = r"""
import sys, time
from cadencecoach.sinks.live import devices
sd = devices.load_sounddevice()
opener = devices.stream_factory(sd, devices.select_device(sd, "pulse"), 44100, "low", 0)
calls = [0]
def callback(outdata, frames, time_info, status):
    calls[0] += 1
    outdata.fill(0)
stream = opener(callback)
stream.start()
time.sleep(0.5)
assert calls[0] > 0
print("playing", flush=True)
sys.stdin.readline()  # the server was killed
while stream.active:
    time.sleep(0.01)
failures = 0
deadline = time.monotonic() + 20
while True:
    try:
        stream = opener.reopen(callback, reason="stopped", old=stream)
        break
    except devices.AudioUnavailableError as exc:
        failures += 1
        assert time.monotonic() < deadline, exc
        time.sleep(0.2)
before = calls[0]
stream.start()
time.sleep(0.5)
print("back", failures, opener.described, calls[0] > before, stream.active, flush=True)
stream.close()
"""
    with throwaway_pulse() as (env, daemon):
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        new = None
        try:
            assert proc.stdout is not None and proc.stdin is not None
            assert proc.stdout.readline().strip() == "playing"
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(5)
            proc.stdin.write("\n")
            proc.stdin.flush()
            time.sleep(1.0)  # reopens fail meanwhile
            new = start_daemon(env)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            if new is not None:
                new.kill()
                new.wait(5)
    assert proc.returncode == 0, err
    words = out.split()
    assert words[0] == "back" and int(words[1]) >= 1 and out.strip().endswith("same device True True"), out
    assert os.environ.get("PULSE_SERVER") != env["PULSE_SERVER"]  # the shared test server was never touched
