"""The audio server lost mid-run: `cadencecoach click` plays into a throwaway PulseAudio daemon of its own
(not the shared test server), the daemon is killed, and with ``--reconnect-limit 0`` (no waiting for it to
come back: tests/e2e/test_live_reopen.py has the default, where it does) the player must stop within a second
with exit 3, a message naming `render` as the way out, and its summary."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CLI = Path(sys.executable).with_name("cadencecoach")


def cc(*args: str) -> list[str]:
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-c", "from cadencecoach.cli.app import run; run()", *args]


@contextmanager
def throwaway_pulse() -> Iterator[tuple[dict[str, str], subprocess.Popen[bytes]]]:
    """A private PulseAudio daemon with a null sink, set up like scripts/test.sh does (all in a temp dir)."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        pytest.skip("pulseaudio/pactl not installed")
    root = Path(tempfile.mkdtemp(prefix="cc-lost-"))
    runtime = root / "runtime"
    for d in (runtime, root / "state", root / "home"):
        d.mkdir(mode=0o700)
    (root / "daemon.conf").write_text(
        "daemonize = no\nexit-idle-time = -1\nrealtime-scheduling = no\nhigh-priority = no\n"
        "default-sample-format = float32le\ndefault-sample-rate = 44100\nalternate-sample-rate = 44100\n"
    )
    (root / "client.conf").write_text("autospawn = no\n")
    socket = runtime / "native"
    env = dict(os.environ)
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_RUNTIME_PATH=str(runtime / "pulse"),
        PULSE_STATE_PATH=str(root / "state"),
        PULSE_CONFIG=str(root / "daemon.conf"),
        PULSE_CLIENTCONFIG=str(root / "client.conf"),
        PULSE_COOKIE=str(root / "cookie"),
        PULSE_SERVER=f"unix:{socket}",
        PULSE_SINK="cc_lost",
    )
    daemon = start_daemon(env)
    if daemon is None:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip("could not start a throwaway PulseAudio daemon")
    try:
        yield env, daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.wait(5)
        shutil.rmtree(root, ignore_errors=True)


def start_daemon(env: dict[str, str], answer_within_s: float = 10.0) -> subprocess.Popen[bytes] | None:
    """A PulseAudio daemon with a null sink (``$PULSE_SINK``) on the socket and in the directories of `env`
    (:func:`throwaway_pulse`'s); returns once ``pactl`` gets an answer, or None (the daemon killed) if it never
    does. tests/e2e/test_live_reopen.py starts a second one on the same socket."""
    root = Path(env["XDG_RUNTIME_DIR"]).parent
    socket = env["PULSE_SERVER"].removeprefix("unix:")
    sink = env["PULSE_SINK"]
    daemon = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--system=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            "--realtime=no",
            "--high-priority=no",
            "--log-target=stderr",
            f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1 auth-cookie-enabled=0",
            f"--load=module-null-sink sink_name={sink} rate=44100 format=float32le channels=1",
        ],
        env=dict(env, HOME=str(root / "home")),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + answer_within_s
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            daemon.wait(5)
            return None
        time.sleep(0.02)
    subprocess.run(["pactl", "set-default-sink", sink], env=env, capture_output=True, check=False)
    return daemon


def test_server_lost_mid_run_stops_within_a_second_with_exit_3() -> None:
    with throwaway_pulse() as (env, daemon):
        proc = subprocess.Popen(
            cc("click", "180", "--sample-rate", "44100", "--reconnect-limit", "0"),
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
            assert proc.poll() is None
            daemon.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            _, err = proc.communicate(timeout=10)
            took = time.monotonic() - killed
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 3, err
    assert took < 1.0, f"took {took:.2f} s to notice"
    assert "Traceback" not in err
    assert "audio output lost" in err and "render them to a file: cadencecoach track click" in err
    summary = [ln for ln in err.splitlines() if ln.startswith("played ")]
    assert summary and "clicks" in summary[0]
