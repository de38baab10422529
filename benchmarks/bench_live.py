"""Issue 3 and 14 benchmarks: the live player's callback cost, underflows under load, start-up time and key
latency at the sink's monitor, and timing against a naive ``time.sleep`` metronome. Prints figures; they are
recorded in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_live.py [--duration 60] [--blocks 256,1024] [--underflow-duration 300]
                                              [--startup-runs 5] [--presses 10] [--long]
                                              [--only callback,underflow,startup,keys,peer] [--proto gc,copy]

Audio goes to a PulseAudio null sink: the one of ``scripts/test.sh`` when CADENCECOACH_TEST_SINK is set,
else a private daemon this script starts (set up the same way, in a temp dir, killed at the end).

1. Callback cost: the real player (LivePlayer, live display rendered to a string in the main thread) on a
   real OutputStream with block sizes ``--blocks`` (256 and 1024), for ``--duration`` seconds of a dense
   interval workout (clicks, ramps, cues); each callback timed with perf_counter by a wrapper into a
   preallocated array. Mean and p99.9 as a share of the block period, without and with a load process
   keeping every core busy. Goal: p99.9 < 10 %.
2. Underflows: ``cadencecoach run`` (a pty: keys and live display on) for ``--underflow-duration`` seconds
   with every core busy; the count from its summary. Goal: 0 in 5 minutes.
3. Start-up, at the monitor: wall clock from spawning ``cadencecoach click 180`` / ``cadencecoach run
   10x400`` (warm cue cache) to its first sound at the sink's monitor, read live (parec streaming into this
   process, see :class:`LiveMonitor`), against the anchor: a bare script that imports numpy and sounddevice
   and plays one click (:data:`BARE_CLICK`), run alternately with it; the ratio of the medians. Also the
   time the child says it handed its first sound to the device (CADENCECOACH_TRACE_STARTUP=1). Goals: click
   within 1.3x of the anchor, < 0.5 s click, < 1.5 s run.
4. Key latency: ``cadencecoach click 180`` in a pty (keys on, default latency and voice, so every key is
   confirmed aloud); ``--presses`` space presses (pause, resume, ...) at random beat phases; for each, the
   time from writing the key to the pty to the first sample at the monitor that differs from the steady
   sound before it (the click pattern continued). Median and max. Goal: < 200 ms.
5. Against a naive peer (benchmarks/naive_peer.py: sounddevice.play per beat, time.sleep between): both at
   180 spm recorded with parec from the sink; interval jitter (std, max deviation from 14700 samples) and
   drift (last onset vs. first + n x 14700). 60 s, or 10 minutes with --long.

``--proto``: prototypes of changes to the player that is measured (the figures say which were applied), for
measuring a change before it is made in the source: ``gc`` (:func:`cadencecoach.sinks.live.realtime.realtime_gc`
around ``LivePlayer.play`` and :func:`~cadencecoach.sinks.live.realtime.collect_young` once per poll),
``copy`` (the callback copies its mono block to each channel separately, instead of one broadcast copy that
makes numpy let go of the GIL at >= 2 channels x 256 frames), ``switch=SECONDS`` (the GIL switch interval
while playing). They apply to this process and to the children of 3 and 4.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
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


PROTOS: list[str] = []  # the prototypes applied here (--proto), passed on to the children of 3 and 4


def child(*args: str) -> list[str]:
    """The command line of a ``cadencecoach`` child, with this run's prototypes applied in it."""
    if not PROTOS:
        return cli(*args)
    boot = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_live;"
        f" bench_live.apply_prototypes({PROTOS!r}); from cadencecoach.cli.app import run; run()"
    )
    return [PY, "-c", boot, *args]


# ------------------------------------------------------------------------------------------ prototypes

COPY_OLD = "outdata[done : done + n] = mono[:, None]"


def apply_prototypes(names: list[str]) -> list[str]:
    """Monkeypatch the live player with the prototypes named (see the module doc); what was applied."""
    from cadencecoach.sinks.live import engine
    from cadencecoach.sinks.live import player as live

    applied: list[str] = []
    for name in names:
        if name == "gc":
            if "collect_young" in inspect.getsource(live):
                applied.append("gc: already in the player")
                continue
            from cadencecoach.sinks.live.realtime import collect_young, realtime_gc

            play, check = live.LivePlayer.play, live.LivePlayer._check

            def patched_play(self: Any, _play: Any = play) -> int:
                with realtime_gc():
                    return int(_play(self))

            def patched_check(self: Any, *args: Any, _check: Any = check) -> None:
                collect_young()
                _check(self, *args)

            live.LivePlayer.play = patched_play
            live.LivePlayer._check = patched_check
            applied.append("gc: realtime_gc() around LivePlayer.play, collect_young() in every poll")
        elif name == "copy":
            source = textwrap.dedent(inspect.getsource(engine.Engine.callback))
            line = next((ln for ln in source.splitlines() if COPY_OLD in ln), None)
            if line is None:
                applied.append("copy: not needed (no broadcast copy in Engine.callback)")
                continue
            pad = line[: len(line) - len(line.lstrip())]
            per_channel = f"{pad}for c in range(outdata.shape[1]):\n{pad}    outdata[done : done + n, c] = mono"
            namespace: dict[str, Any] = {}
            exec(compile(source.replace(line, per_channel), engine.__file__, "exec"), vars(engine), namespace)
            engine.Engine.callback = namespace["callback"]
            applied.append("copy: Engine.callback copies the block channel by channel")
        elif name.startswith("switch="):
            live.SWITCH_INTERVAL_S = float(name.split("=", 1)[1])
            applied.append(f"switch: GIL switch interval {live.SWITCH_INTERVAL_S * 1000:g} ms while playing")
        elif name:
            raise SystemExit(f"unknown prototype {name!r} (gc, copy, switch=SECONDS)")
    return applied


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


class LiveMonitor:
    """The sink's monitor read live: ``parec`` streams float32 mono into this process, a thread appends it
    and notes when each piece arrived (``time.monotonic``).

    Sample ``i`` is mapped to the clock as ``t0 + i / SR``, ``t0`` the earliest ``arrival - samples so far /
    SR`` over the pieces (no sample arrives before the sink has played it: the least-delayed piece gives the
    mapping). It also paces the null sink, as :func:`monitor_reader` does. Resolution: about the parec
    latency (10 ms) -- the null sink plays its blocks at once.
    """

    def __init__(self, latency_ms: int = 10) -> None:
        self.latency_ms = latency_ms
        self._buf = np.zeros(SR * 60, np.float32)
        self.n = 0
        self._t0 = float("inf")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LiveMonitor:
        self._proc = subprocess.Popen(
            ["parec", "--device=cc_null.monitor", f"--latency-msec={self.latency_ms}", "--raw",
             "--format=float32le", f"--rate={SR}", "--channels=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while self.n < SR // 5:  # 200 ms flowing
            if time.monotonic() > deadline:
                raise SystemExit("parec delivers nothing from cc_null.monitor")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None and self._thread is not None
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        rest = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            arrival = time.monotonic()
            if not chunk:
                return
            data = rest + chunk
            usable = len(data) - len(data) % 4
            rest = data[usable:]
            x = np.frombuffer(data[:usable], np.float32)
            with self._lock:
                if self.n + len(x) > len(self._buf):
                    self._buf = np.concatenate([self._buf, np.zeros(max(len(self._buf), len(x)), np.float32)])
                self._buf[self.n : self.n + len(x)] = x
                self.n += len(x)
                self._t0 = min(self._t0, arrival - self.n / SR)

    def samples(self) -> np.ndarray:
        with self._lock:
            return self._buf[: self.n]

    def time_of(self, index: int) -> float:
        """When sample `index` was played (monotonic clock)."""
        return self._t0 + index / SR

    def index_at(self, t: float) -> int:
        """The sample played at monotonic time `t`."""
        return max(round((t - self._t0) * SR), 0)

    def first_sound_after(self, t: float, threshold: float = 0.01, timeout: float = 60.0) -> float:
        """Monotonic time of the first sample above `threshold` played after `t`."""
        deadline = time.monotonic() + timeout
        start = self.index_at(t)
        while time.monotonic() < deadline:
            x = self.samples()
            loud = np.flatnonzero(np.abs(x[start:]) > threshold)
            if len(loud):
                return self.time_of(start + int(loud[0]))
            start = max(start, len(x) - 1)
            time.sleep(0.01)
        raise RuntimeError(f"no sound at the monitor within {timeout:.0f} s")

    def first_change_after(
        self, t: float, period: int, threshold: float = 0.01, timeout: float = 3.0
    ) -> tuple[float, bool]:
        """Monotonic time of the first sample after `t` that differs from the sound one `period` before it
        (the steady pattern continued), and whether the sound was steady (the period before `t` repeated the
        one before it)."""
        deadline = time.monotonic() + timeout
        k = self.index_at(t)
        steady: bool | None = None
        j = k
        while time.monotonic() < deadline:
            x = self.samples()
            if steady is None and len(x) >= k:
                before, earlier = x[k - period : k], x[k - 2 * period : k - period]
                steady = k >= 2 * period and float(np.abs(before - earlier).max()) < threshold
            if steady is not None and len(x) > j:
                diff = np.flatnonzero(np.abs(x[j:] - x[j - period : len(x) - period]) > threshold)
                if len(diff):
                    return self.time_of(j + int(diff[0])), steady
                j = len(x)
            time.sleep(0.005)
        raise RuntimeError(f"no change at the monitor within {timeout:.0f} s of the key")


def other_load(seconds: float = 1.0) -> float:
    """Cores busy over `seconds` (all of the machine: run it while this benchmark's own work is idle)."""

    def ticks() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)

    b0, a0 = ticks()
    time.sleep(seconds)
    b1, a1 = ticks()
    return (os.cpu_count() or 1) * (b1 - b0) / max(a1 - a0, 1)


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

BARE_CLICK = """\
import numpy as np
import sounddevice as sd

t = np.arange(441) / 44100
click = (0.5 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.002)).astype(np.float32)
lead = np.zeros(2205, np.float32)  # 50 ms: a new PulseAudio stream loses its first ms (LEAD_S, the player's)
sd.play(np.concatenate([lead, click, np.zeros(4410, np.float32)]), 44100, latency=0.1, blocking=True)
"""
"""The start-up anchor: a bare script that imports numpy and sounddevice and plays one click, as the player
does: at the latency ``cadencecoach`` opens its stream with by default (0.1 s), after the same 50 ms of
silence (without it the server drops the click's first ~9 ms: it peaks at 0.005 at the monitor)."""


def child_env(cache: str) -> dict[str, str]:
    """The children's environment: a fresh cue cache, and Python's bytecode cached (in the temp dir, not the
    tree) as on a user's machine even where PYTHONDONTWRITEBYTECODE is set: without it every start compiles
    cadencecoach's ~60 modules again (0.24 s on the test machine)."""
    env = dict(os.environ, CADENCECOACH_CACHE_DIR=cache, PYTHONPYCACHEPREFIX=str(Path(cache) / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def first_sound(cmd: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from spawning `cmd` to its first sound at the monitor (read live), and to the first sound it
    says it handed to the device (its CADENCECOACH_TRACE_STARTUP line; None for the anchor)."""
    handed: list[float] = []
    with LiveMonitor() as mon:
        time.sleep(0.1)
        t_spawn, wall_spawn = time.monotonic(), time.time()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(env, CADENCECOACH_TRACE_STARTUP="1"),
        )
        assert proc.stderr is not None
        stderr = proc.stderr

        def trace() -> None:
            for line in stderr:
                m = re.search(r"first sound handed to the device at ([\d.]+)", line)
                if m:
                    handed.append(float(m.group(1)) - wall_spawn)

        reader = threading.Thread(target=trace, daemon=True)
        reader.start()
        try:
            heard = mon.first_sound_after(t_spawn, 0.01, 60.0) - t_spawn
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            reader.join(2)
    return heard, (handed[0] if handed else None)


def startup(runs: int) -> dict[str, list[tuple[float, float | None]]]:
    """The anchor and the commands, alternately, `runs` times each (after one warm-up each)."""
    cache = tempfile.mkdtemp(prefix="cc-bench-cache.")
    env = child_env(cache)
    try:
        out: dict[str, list[tuple[float, float | None]]] = {}
        cases = {
            "bare script (numpy + sounddevice, one click)": [PY, "-c", BARE_CLICK],
            "cadencecoach click 180": child("click", "180", "--sample-rate", str(SR)),
            "cadencecoach run 10x400 (warm cue cache)": child("run", "10x400", "--sample-rate", str(SR)),
        }
        out["cadencecoach run 10x400 (cold cue cache)"] = [
            first_sound(child("run", "10x400", "--sample-rate", str(SR)), env)
        ]
        for cmd in cases.values():
            first_sound(cmd, env)  # warm-up: file cache, bytecode, the cue cache
        for _ in range(runs):
            for name, cmd in cases.items():
                out.setdefault(name, []).append(first_sound(cmd, env))
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# ------------------------------------------------------------------------------------------ keys


def key_latency(presses: int, seed: int = 14) -> tuple[list[float], list[bool], str]:
    """`cadencecoach click 180` in a pty (keys on, default latency and voice); `presses` space presses
    (pause, resume, ...) 3.5-3.8 s apart (a random beat phase each); for each, seconds from writing the key
    to the first changed sample at the monitor, and whether the sound before it was steady."""
    import pty

    rng = random.Random(seed)
    cache = tempfile.mkdtemp(prefix="cc-bench-cache.")
    env = child_env(cache)
    period = 4 * PERIOD_180  # the pattern compared against: four beats (covers --accent 2 and 4)
    latencies: list[float] = []
    steady: list[bool] = []
    with LiveMonitor() as mon:
        master, slave = pty.openpty()
        t_spawn = time.monotonic()
        proc = subprocess.Popen(
            child("click", "180", "--sample-rate", str(SR)),
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        out = bytearray()

        def drain() -> None:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                out.extend(chunk)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            mon.first_sound_after(t_spawn, 0.01, 60.0)
            time.sleep(5.0)  # the confirmations' words are made ready in the background meanwhile
            for _ in range(presses):
                time.sleep(3.5 + rng.uniform(0.0, 60 / 180))
                t_key = time.monotonic()
                os.write(master, b" ")
                heard, was_steady = mon.first_change_after(t_key, period, 0.01, 3.0)
                latencies.append(heard - t_key)
                steady.append(was_steady)
        finally:
            with contextlib.suppress(OSError):
                os.write(master, b"q")
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
            time.sleep(0.2)
            os.close(master)
            reader.join(2)
            shutil.rmtree(cache, ignore_errors=True)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.decode("utf-8", "replace"))
    summary = [ln.strip() for ln in text.splitlines() if "underflows:" in ln and ln.strip().startswith("played")]
    return latencies, steady, summary[-1] if summary else text[-300:]


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
    parser.add_argument("--blocks", default="256,1024", help="block sizes of the callback-cost runs")
    parser.add_argument("--underflow-duration", type=float, default=300.0, help="seconds of the underflow run")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--presses", type=int, default=10, help="key presses of the key-latency run")
    parser.add_argument("--long", action="store_true", help="peer comparison over 10 minutes (else 60 s)")
    parser.add_argument("--peer-seconds", type=float, default=None)
    parser.add_argument("--only", default="callback,underflow,startup,keys,peer")
    parser.add_argument("--proto", default="", help="prototypes to apply: gc, copy, switch=SECONDS (module doc)")
    parser.add_argument("--burn", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burn:
        burn(args.burn)
        return 0
    only = set(args.only.split(","))
    PROTOS[:] = [p for p in args.proto.split(",") if p]
    t_start = time.monotonic()

    def clock() -> str:
        return f"[+{time.monotonic() - t_start:.0f} s]"

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start,"
        f" {other_load():.2f} cores busy over the last second",
        flush=True,
    )
    for line in apply_prototypes(PROTOS) if PROTOS else ["none (the player as it is in the tree)"]:
        print(f"prototype: {line}", flush=True)

    with audio_server():
        if "callback" in only:
            workout = Path(tempfile.mkdtemp(prefix="cc-bench-")) / "dense.yaml"
            workout.write_text(DENSE)
            print(f"\n{clock()} 1. callback cost ({args.duration:.0f} s each; share of the block period)", flush=True)
            with monitor_reader():
                for busy in (False, True):
                    for block in (int(b) for b in args.blocks.split(",")):
                        others = other_load(0.5)
                        with cores_busy(busy):
                            r = callback_cost(block, args.duration, workout)
                        print(
                            f"   block {block:5d} ({1000 * block / SR:5.1f} ms), cores {'busy' if busy else 'idle'}:"
                            f" mean {r['mean_pct']:.2f} %, p99.9 {r['p999_pct']:.2f} %, max {r['max_pct']:.1f} %"
                            f" over {r['callbacks']} callbacks; underflows {r['underflows']}"
                            f" (other load before: {others:.2f} cores)",
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
                f"\n{clock()} 3. start-up: spawn -> first sound at the monitor, read live ({args.startup_runs} runs"
                f" each, alternating; other load {other_load(0.5):.2f} cores)",
                flush=True,
            )
            results = startup(args.startup_runs)
            anchor = statistics.median(v for v, _ in results["bare script (numpy + sounddevice, one click)"])
            for name, values in results.items():
                heard = [v for v, _ in values]
                handed = [h for _, h in values if h is not None]
                vs = ", ".join(f"{v:.3f}" for v in heard)
                extra = f"; handed to the device: median {statistics.median(handed):.3f} s" if handed else ""
                print(
                    f"   {name}: median {statistics.median(heard):.3f} s, {statistics.median(heard) / anchor:.2f}x"
                    f" the bare script  (runs: {vs}){extra}",
                    flush=True,
                )

        if "keys" in only:
            print(
                f"\n{clock()} 4. key latency: `cadencecoach click 180` in a pty, {args.presses} space presses ->"
                f" first changed sample at the monitor (other load {other_load(0.5):.2f} cores)",
                flush=True,
            )
            latencies, steady, summary = key_latency(args.presses)
            ms = [1000 * v for v in latencies]
            print(
                f"   median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms, min {min(ms):.0f} ms"
                f"  (presses: {', '.join(f'{v:.0f}' for v in ms)}; steady before: {sum(steady)} of {len(steady)})",
                flush=True,
            )
            print(f"   {summary}", flush=True)

        if "peer" in only:
            seconds = args.peer_seconds or (600.0 if args.long else 60.0)
            print(
                f"\n{clock()} 5. timing against a naive peer, 180 spm, {seconds:.0f} s each, recorded from the sink",
                flush=True,
            )
            ours = timing(record_onsets(cli("click", "180", "--sample-rate", str(SR)), seconds))
            peers = {}
            variants: tuple[tuple[str, list[str]], ...] = (
                ("naive peer (sleep one beat)", []),
                ("naive peer (absolute deadlines)", ["--compensated"]),
            )
            for label, flags in variants:
                cmd = [PY, str(ROOT / "benchmarks" / "naive_peer.py"), "180", "--seconds", str(seconds + 5), *flags]
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
