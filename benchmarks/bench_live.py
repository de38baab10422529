"""Issue 3 benchmarks: the live player's callback cost, underflows under load, start-up time, and timing
against a naive ``time.sleep`` metronome. Prints figures; the lead records them in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_live.py [--duration 60] [--underflow-duration 300] [--long]
                                              [--only callback,underflow,startup,peer]

Audio goes to a PulseAudio null sink: the one of ``scripts/test.sh`` when CADENCECOACH_TEST_SINK is set,
else a private daemon this script starts (set up the same way, in a temp dir, killed at the end).

1. Callback cost: the real player (LivePlayer, live display rendered to a string in the main thread) on a
   real OutputStream with block sizes 256 and 1024, for ``--duration`` seconds of a dense interval workout
   (clicks, ramps, cues); each callback timed with perf_counter by a wrapper into a preallocated array.
   Mean and p99.9 as a share of the block period, without and with a load process keeping every core
   busy. Goal: p99.9 < 10 %.
2. Underflows: ``cadencecoach run`` (a pty: keys and live display on) for ``--underflow-duration`` seconds
   with every core busy; the count from its summary. Goal: 0 in 5 minutes.
3. Start-up: from spawning ``cadencecoach click`` / ``cadencecoach run 10x400`` (warm cue cache) to the
   first non-silent block handed to the device (the child reports its wall-clock time of that callback,
   CADENCECOACH_TRACE_STARTUP=1). Goals: < 0.5 s click, < 1.5 s run.
4. Against a naive peer (benchmarks/naive_peer.py: sounddevice.play per beat, time.sleep between): both at
   180 spm recorded with parec from the sink; interval jitter (std, max deviation from 14700 samples) and
   drift (last onset vs. first + n x 14700). 60 s, or 10 minutes with --long.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # audio_server: Recorder, find_onsets

PY = sys.executable
CLI = Path(PY).with_name("cadencecoach")
SR = 44100
PERIOD_180 = 14700

DENSE = """\
name: Benchmark intervals
cadence: 180
steps:
  - repeat: 40
    steps:
      - run: 12s
        cadence: 186-194
        say: Drive the arms.
      - recover: 8s
        cadence: 170
        breathing: 3:2
"""


def cli(*args: str) -> list[str]:
    if CLI.exists():
        return [str(CLI), *args]
    return [PY, "-c", "from cadencecoach.cli.app import run; run()", *args]


# ------------------------------------------------------------------------------------------- server


@contextlib.contextmanager
def audio_server() -> Iterator[None]:
    """Make sure PULSE_SERVER points at a null sink (test.sh's, or a private one started here)."""
    if os.environ.get("CADENCECOACH_TEST_SINK"):
        yield
        return
    root = Path(tempfile.mkdtemp(prefix="cc-bench-pulse."))
    runtime = root / "runtime"
    for d in (runtime, root / "state", root / "home"):
        d.mkdir(mode=0o700)
    (root / "daemon.conf").write_text(
        "daemonize = no\nexit-idle-time = -1\nrealtime-scheduling = no\nhigh-priority = no\n"
        "flat-volumes = no\navoid-resampling = no\ndefault-sample-format = float32le\n"
        f"default-sample-rate = {SR}\nalternate-sample-rate = {SR}\ndefault-sample-channels = 1\n"
    )
    (root / "client.conf").write_text("autospawn = no\n")
    socket = runtime / "native"
    env = {
        "XDG_RUNTIME_DIR": str(runtime),
        "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
        "PULSE_STATE_PATH": str(root / "state"),
        "PULSE_CONFIG": str(root / "daemon.conf"),
        "PULSE_CLIENTCONFIG": str(root / "client.conf"),
        "PULSE_COOKIE": str(root / "cookie"),
        "PULSE_SERVER": f"unix:{socket}",
        "PULSE_SINK": "cc_null",
        "PULSE_SOURCE": "cc_null.monitor",
    }
    os.environ.update(env)
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
            f"--log-target=file:{root / 'pulseaudio.log'}",
            f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1 auth-cookie-enabled=0",
            f"--load=module-null-sink sink_name=cc_null rate={SR} format=float32le channels=1",
        ],
        env=dict(os.environ, HOME=str(root / "home")),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("could not start a private PulseAudio daemon")
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-sink", "cc_null"], capture_output=True, check=False)
        os.environ["CADENCECOACH_TEST_SINK"] = "cc_null"
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(5)
        except subprocess.TimeoutExpired:
            daemon.kill()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def monitor_reader() -> Iterator[None]:
    """A low-latency reader of the sink's monitor, as a real sound card would pace the sink (without one
    the null sink runs with a 2-s latency and holds new streams for ~1.5 s)."""
    proc = subprocess.Popen(
        ["parec", "--device=cc_null.monitor", "--latency-msec=20", "--raw"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        proc.wait(5)


# --------------------------------------------------------------------------------------------- load


def burn(workers: int) -> None:
    """Keep `workers` cores busy until killed (the load process: this one plus workers-1 children)."""
    import multiprocessing

    def spin() -> None:
        x = 0
        while True:
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF

    procs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(workers - 1)]
    for p in procs:
        p.start()
    spin()


@contextlib.contextmanager
def cores_busy(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    workers = os.cpu_count() or 2
    proc = subprocess.Popen([PY, __file__, "--burn", str(workers)], start_new_session=True)
    try:
        time.sleep(0.5)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the load process group we started
        proc.wait(5)


# ------------------------------------------------------------------------------------- 1. callback


class TimedCallback:
    """Wraps the engine's callback: perf_counter around it, stored into a preallocated array."""

    def __init__(self, inner: Any, capacity: int) -> None:
        self.inner = inner
        self.times = np.zeros(capacity, np.float64)
        self.n = 0

    def __call__(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        t0 = time.perf_counter()
        self.inner(outdata, frames, time_info, status)
        dt = time.perf_counter() - t0
        i = self.n
        if i < len(self.times):
            self.times[i] = dt
            self.n = i + 1


def callback_cost(block: int, seconds: float, workout: Path) -> dict[str, float]:
    import sounddevice as sd

    from cadencecoach import pipeline as session
    from cadencecoach.core.edits import lead_in_texts, make_pre_roll
    from cadencecoach.core.timeline import CompileOptions, compile_workout, cue_texts
    from cadencecoach.sinks.live import player as live
    from cadencecoach.sinks.live.keys import HELP, Command
    from cadencecoach.ui.live_view import display_for

    w = session.load(str(workout))
    audio = session.AudioSettings(sample_rate=SR, voice=session.VoiceSettings(engine="tones"))
    texts = set(cue_texts(w, CompileOptions())) | lead_in_texts(w.name)
    speech = session.speech_for(texts, SR, audio.voice, None)
    timeline = compile_workout(w, SR, speech, CompileOptions())
    pre_roll = make_pre_roll(w.name, speech, SR)
    capacity = int(seconds * SR / block) + 1000
    timed: list[TimedCallback] = []

    def factory(callback: Any) -> Any:
        t = TimedCallback(callback, capacity)
        timed.append(t)
        return sd.OutputStream(samplerate=SR, blocksize=block, channels=2, dtype="float32", latency="high", callback=t)

    config = live.PlayerConfig(
        mode="run",
        voice_mode="full",
        pre_roll=len(pre_roll),
        lead=round(live.LEAD_S * SR),
        show_live=True,  # the main thread renders the rich display (to a string) 8 times a second
        out=io.StringIO(),
        err=io.StringIO(),
        channels=2,
        realtime=True,  # as the commands do
    )
    player = live.LivePlayer(timeline, lambda t: session.make_renderer(t, audio, pre_roll), factory, config, speech)
    player.observers.append(display_for(player, HELP))
    # a live change now and then, as a runner would (recompiled in the main thread)
    script = [(5.0, Command.FASTER), (15.0, Command.SKIP), (25.0, Command.SLOWER), (35.0, Command.PAUSE),
              (37.0, Command.PAUSE), (45.0, Command.MUTE_CLICK), (47.0, Command.MUTE_CLICK)]  # fmt: skip

    def driver() -> None:
        t0 = time.monotonic()
        for at, command in script:
            if at >= seconds:
                break
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            player.post(command)  # the main loop handles it (and recompiles)
        time.sleep(max(0.0, t0 + seconds - time.monotonic()))
        player.post(Command.QUIT)

    threading.Thread(target=driver, daemon=True).start()
    player.play()
    t = timed[0]
    share = t.times[: t.n] / (block / SR)
    return {
        "callbacks": t.n,
        "mean_pct": 100 * float(share.mean()),
        "p999_pct": 100 * float(np.quantile(share, 0.999)),
        "max_pct": 100 * float(share.max()),
        "underflows": player.engine.underflows,
    }


# ------------------------------------------------------------------------------------ 2. underflows


def underflow_run(seconds: float) -> tuple[int, str]:
    """`cadencecoach run` in a pty (keys + live display) for `seconds` with every core busy."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cli("run", "10x400", "--voice-engine", "tones", "--sample-rate", str(SR)),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    out = bytearray()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            out.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    os.write(master, b"q")
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    time.sleep(0.2)
    stop.set()
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.decode("utf-8", "replace"))
    summary = [ln.strip() for ln in text.splitlines() if "underflows:" in ln and ln.strip().startswith("played")]
    if not summary:
        return -1, text[-500:]
    m = re.search(r"underflows: (\d+)", summary[-1])
    warning = [ln.strip() for ln in text.splitlines() if "underflow(s)" in ln]
    return (int(m.group(1)) if m else -1), " / ".join([summary[-1], *warning[-1:]])


# --------------------------------------------------------------------------------------- 3. startup


def first_sound_delay(args: list[str], env: dict[str, str]) -> float:
    t0 = time.time()
    proc = subprocess.Popen(
        cli(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env, CADENCECOACH_TRACE_STARTUP="1"),
    )
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"first sound handed to the device at ([\d.]+)", line)
            if m:
                return float(m.group(1)) - t0
            if not line and proc.poll() is not None:
                raise RuntimeError(f"{args}: exited {proc.returncode} before any sound")
        raise RuntimeError(f"{args}: no sound within 120 s")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def startup(runs: int) -> dict[str, list[float]]:
    cache = tempfile.mkdtemp(prefix="cc-bench-cache.")
    env = dict(os.environ, CADENCECOACH_CACHE_DIR=cache)
    try:
        out: dict[str, list[float]] = {}
        out["run 10x400 (cold cue cache)"] = [first_sound_delay(["run", "10x400", "--sample-rate", str(SR)], env)]
        for name, args in (
            ("click", ["click", "180", "--sample-rate", str(SR)]),
            ("run 10x400 (warm cue cache)", ["run", "10x400", "--sample-rate", str(SR)]),
        ):
            out[name] = [first_sound_delay(args, env) for _ in range(runs)]
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# ------------------------------------------------------------------------------------------ 4. peer


def record_onsets(cmd: list[str], seconds: float) -> np.ndarray:
    from audio_server import Recorder, find_onsets

    with Recorder(tail=0.5) as rec:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(seconds)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert rec.samples is not None
    return find_onsets(rec.samples, 0.05, PERIOD_180 // 2)


def timing(onsets: np.ndarray, skip: int = 2) -> dict[str, float]:
    """Interval statistics in samples; the first `skip` intervals (stream start-up) are left out."""
    on = onsets[skip:]
    gaps = np.diff(on).astype(np.float64)
    dev = gaps - PERIOD_180
    drift = float(on[-1] - on[0] - (len(on) - 1) * PERIOD_180)
    return {
        "clicks": len(on),
        "std": float(gaps.std()),
        "max_dev": float(np.abs(dev).max()),
        "drift_samples": drift,
        "drift_ms": 1000 * drift / SR,
        "span_s": float(on[-1] - on[0]) / SR,
    }


# -------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per callback-cost run")
    parser.add_argument("--underflow-duration", type=float, default=300.0, help="seconds of the underflow run")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--long", action="store_true", help="peer comparison over 10 minutes (else 60 s)")
    parser.add_argument("--peer-seconds", type=float, default=None)
    parser.add_argument("--only", default="callback,underflow,startup,peer")
    parser.add_argument("--burn", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burn:
        burn(args.burn)
        return 0
    only = set(args.only.split(","))
    t_start = time.monotonic()

    def clock() -> str:
        return f"[+{time.monotonic() - t_start:.0f} s]"

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start", flush=True)

    with audio_server():
        if "callback" in only:
            workout = Path(tempfile.mkdtemp(prefix="cc-bench-")) / "dense.yaml"
            workout.write_text(DENSE)
            print(f"\n{clock()} 1. callback cost ({args.duration:.0f} s each; share of the block period)", flush=True)
            with monitor_reader():
                for busy in (False, True):
                    for block in (256, 1024):
                        with cores_busy(busy):
                            r = callback_cost(block, args.duration, workout)
                        print(
                            f"   block {block:5d} ({1000 * block / SR:5.1f} ms), cores {'busy' if busy else 'idle'}:"
                            f" mean {r['mean_pct']:.2f} %, p99.9 {r['p999_pct']:.2f} %, max {r['max_pct']:.1f} %"
                            f" over {r['callbacks']} callbacks; underflows {r['underflows']}",
                            flush=True,
                        )
            shutil.rmtree(workout.parent, ignore_errors=True)

        if "underflow" in only:
            what = f"`cadencecoach run` (pty, live display) for {args.underflow_duration:.0f} s, every core busy"
            print(f"\n{clock()} 2. underflows: {what}", flush=True)
            with monitor_reader(), cores_busy(True):
                count, summary = underflow_run(args.underflow_duration)
            print(f"   underflows: {count}   ({summary})", flush=True)

        if "startup" in only:
            print(
                f"\n{clock()} 3. start-up to the first sound handed to the device ({args.startup_runs} runs)",
                flush=True,
            )
            with monitor_reader():
                results = startup(args.startup_runs)
            for name, values in results.items():
                vs = ", ".join(f"{v:.3f}" for v in values)
                print(f"   {name}: median {statistics.median(values):.3f} s  (runs: {vs})", flush=True)

        if "peer" in only:
            seconds = args.peer_seconds or (600.0 if args.long else 60.0)
            print(
                f"\n{clock()} 4. timing against a naive peer, 180 spm, {seconds:.0f} s each, recorded from the sink",
                flush=True,
            )
            ours = timing(record_onsets(cli("click", "180", "--sample-rate", str(SR)), seconds))
            peers = {}
            variants = (("naive peer (sleep one beat)", []), ("naive peer (absolute deadlines)", ["--compensated"]))
            for label, extra in variants:
                cmd = [PY, str(ROOT / "benchmarks" / "naive_peer.py"), "180", "--seconds", str(seconds + 5), *extra]
                peers[label] = timing(record_onsets(cmd, seconds))
            for label, r in (("cadencecoach click", ours), *peers.items()):
                print(
                    f"   {label:32s} {r['clicks']:5d} clicks over {r['span_s']:.1f} s: interval std {r['std']:.2f},"
                    f" max deviation {r['max_dev']:.0f} samples; drift {r['drift_samples']:+.0f} samples"
                    f" ({r['drift_ms']:+.1f} ms)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
