"""Benchmark of ``render WORKOUT --music`` (issue 17): wall time against ``track build`` on the same songs, and
peak memory for a 1 h and a 6 h workout (the music bed is streamed: memory must not grow with the length).

Usage::

    .venv/bin/python benchmarks/bench_bed.py                   # all: the 54-min comparison, then 1 h and 6 h
    .venv/bin/python benchmarks/bench_bed.py --only compare    # render 10x400 --music vs track build
    .venv/bin/python benchmarks/bench_bed.py --only memory --hours 1 6

Set-up (not timed): the eight synthetic songs of ``bench_music.py`` (30 minutes of music, FLAC, cached in a
temporary folder) are analysed once into a fresh analysis cache, so every timed command finds the same cached
analyses and the figures compare stretching, mixing and encoding only.

Each command runs as the CLI in its own process (``python -m cadencecoach ...``), waited for with
``os.wait4``: wall seconds, CPU seconds (user + system) and peak RSS (``ru_maxrss``) of that process. The
anchor of the time goal is ``track build`` of the same songs to the same length (``--duration``) at 180 spm;
``render`` speaks with ``--voice-engine tones`` (no speech synthesis in the figure). Output: MP3, 192 kbit/s
for both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))


def _run(args: list[str], env: dict[str, str]) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadencecoach", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{err}")
    return {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def _workout(path: Path, hours: float) -> Path:
    """Intervals of 3 min at 180 spm and 2 min at 165 (clicks off), for `hours`, with a 10-min warm-up."""
    reps = max(1, round((hours * 60 - 10) / 5))
    path.write_text(
        f"name: Bench {hours:g} h\nsteps:\n  - warmup: 10min\n    cadence: 170\n  - repeat: {reps}\n    steps:\n"
        "      - run: 3min\n        cadence: 180\n      - recover: 2min\n        cadence: 165\n        click: off\n"
    )
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("compare", "memory"))
    ap.add_argument("--hours", type=float, nargs="+", default=[1.0, 6.0])
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "cadencecoach-bench-music")
    args = ap.parse_args()
    from bench_music import make_songs

    from cadencecoach.errors import CoachError
    from cadencecoach.music.deps import require

    try:
        require("this benchmark")
    except CoachError as exc:
        print(exc, file=sys.stderr)
        return 2
    songs = make_songs(args.songs_dir, 30.0)
    print(f"songs: {len(songs)} synthetic, 30 min, in {args.songs_dir}; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(t / "cache"), "CADENCECOACH_HOME": str(t / "home")}
        _run(["track", "analyze", str(args.songs_dir)], env)  # the cache, for every timed run
        if args.only in (None, "compare"):
            from cadencecoach import pipeline
            from cadencecoach.workout.units import format_clock

            seconds = float(pipeline.load("10x400").total_duration)
            build = _run(
                ["track", "build", "--music", str(args.songs_dir), "--cadence", "180", "--duration",
                 format_clock(seconds), "-o", str(t / "build.mp3")],
                env,
            )  # fmt: skip
            render = _run(
                ["render", "10x400", "-o", str(t / "render.mp3"), "--voice-engine", "tones", "--music",
                 str(args.songs_dir)],
                env,
            )  # fmt: skip
            print(f"\n54-minute comparison ({format_clock(seconds)} of audio, MP3):")
            print(f"  track build --duration   {build}")
            print(f"  render 10x400 --music    {render}")
            print(
                f"  ratio render / build: wall {render['wall_s'] / build['wall_s']:.2f}x (goal <= 2x), "
                f"cpu {render['cpu_s'] / build['cpu_s']:.2f}x, peak RSS "
                f"{render['peak_rss_mb'] / build['peak_rss_mb']:.2f}x"
            )
        if args.only in (None, "memory"):
            rows = []
            for hours in args.hours:
                w = _workout(t / f"bench-{hours:g}h.yaml", hours)
                out = t / f"bench-{hours:g}h.mp3"
                r = _run(["render", str(w), "-o", str(out), "--voice-engine", "tones", "--music",
                          str(args.songs_dir)], env)  # fmt: skip
                out.unlink()
                rows.append((hours, r))
                print(f"  render {hours:g} h --music   {r}")
            if len(rows) > 1:
                lo, hi = rows[0][1]["peak_rss_mb"], rows[-1][1]["peak_rss_mb"]
                print(
                    f"  peak RSS {rows[-1][0]:g} h / {rows[0][0]:g} h: {hi / lo:.3f}x (goal: within 10 %, < 300 MB);"
                    " wall per audio hour: " + ", ".join(f"{r['wall_s'] / h:.0f} s" for h, r in rows)
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
