"""Issue 2 benchmarks: render speed against klick, peak memory by length, cue synthesis cold/warm.

Run:  .venv/bin/python benchmarks/bench_render.py [--runs 5] [--skip-klick]
Prints figures; record them in benchmarks/RESULTS.md.

1. An 80-minute single-step workout at 180 spm, click only, mono 16-bit WAV at 44.1 kHz, rendered by
   `cadencecoach render` (a whole process, imports included) and by klick's export of the same track
   (tempo map `3600 4/4 180`: 3600 bars of 4 beats = 14400 clicks = 80 min), alternating runs; the median of
   the per-pair ratios ours/klick. Goal: <= 1.0.
2. Peak RSS of that render at 10, 40 and 80 minutes (each in a fresh process). Goal: flat, < 300 MB.
   With --lossy-rss also to .mp3, .m4a and .opus at 60 and 240 minutes (issue 18: encoded in parallel chunks,
   the memory must not grow with the length).
3. Cue synthesis for the shipped 10x400 workout with an empty cache (cold) and a filled one (warm), and
   "warm start to first sample": from process start to the first rendered block with a warm cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CLI = [PY, "-m", "cadencecoach"]

WORKOUT = """name: Benchmark {minutes} min
cadence: 180
voice: off
steps:
  - run: {minutes}min
"""

RSS_WRAPPER = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

FIRST_SAMPLE = """
import time
t0 = time.perf_counter()
import numpy as np
from cadencecoach import pipeline as session
from cadencecoach.core.timeline import CompileOptions
w = session.load("10x400")
audio = session.AudioSettings()
timeline, _ = session.compile_with_speech(w, CompileOptions(), audio, None)
renderer = session.make_renderer(timeline, audio)
buf = np.zeros(1024, np.float32)
renderer.render(0, buf)
t1 = time.perf_counter()
print(t1 - t0)
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def bench_klick(tmp: Path, runs: int) -> dict[str, object]:
    workout = tmp / "b80.yaml"
    workout.write_text(WORKOUT.format(minutes=80))
    tempo_map = tmp / "map.txt"
    tempo_map.write_text("3600 4/4 180\n")
    ours_out, klick_out = tmp / "ours.wav", tmp / "klick.wav"
    ours, theirs = [], []
    for _ in range(runs):
        for path in (ours_out, klick_out):
            path.unlink(missing_ok=True)
        ours.append(timed([*CLI, "render", str(workout), "-o", str(ours_out)]))
        theirs.append(timed(["klick", "-W", str(klick_out), "-r", "44100", "-f", str(tempo_map)]))
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    sizes = (ours_out.stat().st_size, klick_out.stat().st_size)
    for path in (ours_out, klick_out):
        path.unlink(missing_ok=True)
    return {
        "ours_s": ours,
        "klick_s": theirs,
        "ours_median_s": statistics.median(ours),
        "klick_median_s": statistics.median(theirs),
        "median_ratio": statistics.median(ratios),
        "file_bytes": sizes,
    }


def bench_rss(tmp: Path, minutes_list: tuple[int, ...] = (10, 40, 80), ext: str = ".wav") -> dict[int, float]:
    """Peak RSS (MB) of `render` to `ext` for each length: the largest process (the encoders' workers included)."""
    out: dict[int, float] = {}
    for minutes in minutes_list:
        workout = tmp / f"b{minutes}.yaml"
        workout.write_text(WORKOUT.format(minutes=minutes))
        target = tmp / f"rss{minutes}{ext}"
        r = subprocess.run(
            [PY, "-c", RSS_WRAPPER, *CLI, "render", str(workout), "-o", str(target)],
            check=True,
            capture_output=True,
            text=True,
        )
        code, kib = r.stdout.split()
        assert code == "0", r.stdout
        out[minutes] = int(kib) / 1024
        target.unlink(missing_ok=True)
    return out


def bench_lossy_rss(tmp: Path) -> None:
    for ext in (".mp3", ".m4a", ".opus"):
        t = time.perf_counter()
        rss = bench_rss(tmp, (60, 240), ext)
        ratio = rss[240] / rss[60]
        print(
            f"peak RSS of `render` (click only, {ext}): "
            + ", ".join(f"{m} min {v:.1f} MB" for m, v in rss.items())
            + f"; 240/60 min {ratio:.2f} (goal: flat, within 1.1)  [{time.perf_counter() - t:.0f} s]"
        )


def bench_cues(tmp: Path) -> dict[str, float]:
    cache = tmp / "speech-cache"
    env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(cache)}
    shutil.rmtree(cache, ignore_errors=True)
    plan = [*CLI, "plan", "10x400", "--json"]
    cold = timed(plan, env)
    warm = statistics.median(timed(plan, env) for _ in range(3))
    no_voice = statistics.median(timed([*plan, "--no-voice"], env) for _ in range(3))
    first = statistics.median(
        float(subprocess.run([PY, "-c", FIRST_SAMPLE], env=env, check=True, capture_output=True, text=True).stdout)
        for _ in range(5)
    )
    n_cues = len(json.loads(subprocess.run(plan, env=env, capture_output=True, text=True).stdout)["cues"])
    return {
        "cues": n_cues,
        "plan_cold_cache_s": cold,
        "plan_warm_cache_s": warm,
        "plan_no_voice_s": no_voice,
        "synthesis_cold_s": cold - no_voice,
        "synthesis_warm_s": warm - no_voice,
        "warm_start_to_first_sample_s": first,
    }


def bench_compile() -> dict[str, float]:
    """Load + compile a 24-hour workout (720 x (1 min run + 1 min recover), 259,200 clicks), no speech."""
    from cadencecoach.core.timeline import compile_workout
    from cadencecoach.workout.loader import load_workout_text

    text = "name: day\nsteps:\n  - repeat: 720\n    steps:\n      - run: 1min\n      - recover: 1min\n"
    loads, compiles = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        workout = load_workout_text(text, "day.yaml")
        t1 = time.perf_counter()
        timeline = compile_workout(workout, 44100)
        t2 = time.perf_counter()
        loads.append(t1 - t0)
        compiles.append(t2 - t1)
    assert len(timeline.clicks) == 259_200
    return {"load_s": statistics.median(loads), "compile_s": statistics.median(compiles)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-klick", action="store_true")
    parser.add_argument("--lossy-rss", action="store_true", help="peak RSS of .mp3/.m4a/.opus renders, 60/240 min")
    parser.add_argument("--only-lossy-rss", action="store_true", help="that alone")
    args = parser.parse_args()
    if args.only_lossy_rss:
        with tempfile.TemporaryDirectory(dir=ROOT) as d:
            bench_lossy_rss(Path(d))
        return
    with tempfile.TemporaryDirectory(dir=ROOT) as d:
        tmp = Path(d)
        if not args.skip_klick and shutil.which("klick"):
            k = bench_klick(tmp, args.runs)
            print("80-min click track, mono 16-bit WAV at 44.1 kHz (whole processes, alternating):")
            print(
                f"  cadencecoach render: median {k['ours_median_s']:.3f} s  runs {[round(x, 3) for x in k['ours_s']]}"
            )
            print(
                f"  klick -W:            median {k['klick_median_s']:.3f} s  runs {[round(x, 3) for x in k['klick_s']]}"
            )
            print(f"  median ratio ours/klick: {k['median_ratio']:.3f}  (goal <= 1.0)  sizes {k['file_bytes']}")
        elif not args.skip_klick:
            print("klick not installed (apt-get install klick): skipping the comparison")
        comp = bench_compile()
        print(
            f"24-hour workout (1440 steps, 259,200 clicks): load {comp['load_s'] * 1000:.0f} ms, "
            f"compile {comp['compile_s'] * 1000:.0f} ms (goal well under 1 s)"
        )
        rss = bench_rss(tmp)
        print("peak RSS of `render` (click only, WAV): " + ", ".join(f"{m} min {v:.1f} MB" for m, v in rss.items()))
        if args.lossy_rss:
            bench_lossy_rss(tmp)
        c = bench_cues(tmp)
        print(f"cue synthesis, 10x400 ({c['cues']} cues):")
        print(
            f"  plan --json, cold cache {c['plan_cold_cache_s']:.2f} s, warm {c['plan_warm_cache_s']:.2f} s, "
            f"no voice {c['plan_no_voice_s']:.2f} s"
        )
        print(f"  synthesis alone: cold {c['synthesis_cold_s']:.2f} s, warm {c['synthesis_warm_s']:.2f} s")
        print(
            f"  warm start to first sample (in-process, imports included): {c['warm_start_to_first_sample_s']:.3f} s"
            "  (goal < 0.3 s)"
        )


if __name__ == "__main__":
    main()
