"""Benchmark of the music path: analyze + stretch + mix 30 minutes of (synthetic) music into one MP3.

Usage::

    .venv/bin/python benchmarks/bench_music.py                 # 30 minutes, MP3 (the issue's figure)
    .venv/bin/python benchmarks/bench_music.py --minutes 10 --format wav

Set-up (not timed): eight synthetic songs (tests/music_synth.py: drums, bass, chords; 165-196 BPM and
83-98 BPM, some drifting) are written as FLAC files into a cache folder and reused by later runs. The timed
part runs in a fresh child process, so its peak memory (``ru_maxrss``) is that of the music path alone:

1. ``analyze``: decode, onset envelope, tempo, beats and BS.1770 loudness of every song (analysis cache off);
2. ``build``: plan, then decode again, resample, Rubber Band stretch (2 threads), crossfade, clicks, the
   true-peak limiter and the MP3 encoder (lameenc), to a file.

Wall and CPU seconds (user + system) are reported for each part; the goal is under 60 s of wall time on
2 cores for 30 minutes of music. Other processes on the machine inflate the wall time; CPU time is the
steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

SONGS = [  # tempo, pattern, drift, swing
    (172.0, "rock", 0.02, 0.0),
    (88.0, "four", 0.0, 0.0),
    (186.0, "rock", 0.0, 0.25),
    (94.0, "break", -0.02, 0.0),
    (165.0, "four", 0.0, 0.0),
    (176.0, "shuffle", 0.0, 0.0),
    (83.5, "rock", 0.0, 0.0),
    (196.0, "break", 0.0, 0.0),
]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_songs(folder: Path, minutes: float) -> list[Path]:
    from music_synth import synth_song

    folder.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60 / len(SONGS)
    paths = []
    for i, (tempo, pattern, drift, swing) in enumerate(SONGS):
        p = folder / f"{i + 1:02d}-{pattern}-{tempo:g}-{seconds:.0f}s.flac"
        if not p.exists():
            s = synth_song(tempo, seconds, pattern=pattern, drift=drift, swing=swing, seed=100 + i)
            tmp = p.with_suffix(".tmp.flac")
            s.write(tmp, title=f"Synthetic {i + 1} ({pattern} {tempo:g})", artist="bench_music")
            tmp.rename(p)
        paths.append(p)
    return paths


def child(paths: list[Path], out: Path) -> dict[str, float]:
    """The timed part (in a fresh process)."""
    t0, c0 = time.perf_counter(), _cpu()
    from cadencecoach.music.analysis import Failure, analyze_many
    from cadencecoach.music.mix import BuildOptions, plan_build, render_build

    t_import = time.perf_counter() - t0
    results = list(analyze_many(paths, use_cache=False))
    songs = [r for r in results if not isinstance(r, Failure)]
    t1, c1 = time.perf_counter(), _cpu()
    plan = plan_build(songs, [], BuildOptions(cadence=180))
    result = render_build(plan, out, progress=False, title="bench_music")
    t2, c2 = time.perf_counter(), _cpu()
    return {
        "import_s": round(t_import, 2),
        "analyze_wall_s": round(t1 - t0, 2),
        "analyze_cpu_s": round(c1 - c0, 2),
        "build_wall_s": round(t2 - t1, 2),
        "build_cpu_s": round(c2 - c1, 2),
        "total_wall_s": round(t2 - t0, 2),
        "total_cpu_s": round(c2 - c0, 2),
        "music_s": round(sum(s.duration for s in songs), 1),
        "output_s": round(result.seconds, 1),
        "songs": len(plan.placements),
        "skipped": len(plan.skipped),
        "clicks": result.clicks,
        "loudness_lufs": round(result.loudness, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "output_mb": round(out.stat().st_size / 1e6, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--format", choices=("mp3", "wav", "flac", "ogg"), default="mp3")
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "cadencecoach-bench-music")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        *songs, out = args.child
        print(json.dumps(child([Path(s) for s in songs], Path(out))))
        return 0
    from cadencecoach.errors import CoachError
    from cadencecoach.music.deps import require

    try:
        require("this benchmark")
    except CoachError as exc:
        print(exc, file=sys.stderr)
        return 2
    t = time.perf_counter()
    paths = make_songs(args.songs_dir, args.minutes)
    print(f"set-up: {len(paths)} songs, {args.minutes:g} min in {args.songs_dir} ({time.perf_counter() - t:.1f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"bench.{args.format}"
        env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(Path(tmp) / "cache")}
        r = subprocess.run(
            [sys.executable, __file__, "--child", *map(str, paths), str(out)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        figures = json.loads(r.stdout.strip().splitlines()[-1])
    cores = os.cpu_count()
    print(f"cores: {cores}; output: {args.format}")
    width = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"  {k:<{width}}  {v}")
    goal = 60.0 * args.minutes / 30.0
    verdict = "meets" if figures["total_wall_s"] < goal else "misses"
    print(f"goal: under {goal:g} s wall for {args.minutes:g} min on 2 cores -> {verdict} it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
