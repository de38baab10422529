"""Benchmark of ``render WORKOUT --music`` (issue 17): wall time against ``track build`` on the same songs, and
peak memory for a 1 h and a 6 h workout (the music bed is streamed: memory must not grow with the length).

Usage::

    .venv/bin/python benchmarks/bench_bed.py                   # all: the 54-min comparison, then 1 h and 6 h
    .venv/bin/python benchmarks/bench_bed.py --only compare    # render 10x400 --music vs track build
    .venv/bin/python benchmarks/bench_bed.py --only memory --hours 1 6
    .venv/bin/python benchmarks/bench_bed.py --only offsets    # beat-to-click offsets through the glides

Set-up (not timed): the eight synthetic songs of ``bench_music.py`` (30 minutes of music, FLAC, cached in a
temporary folder) are analysed once into a fresh analysis cache, so every timed command finds the same cached
analyses and the figures compare stretching, mixing and encoding only.

Each command runs as the CLI in its own process (``python -m cadencecoach ...``), waited for with
``os.wait4``: wall seconds, CPU seconds (user + system) and peak RSS (``ru_maxrss``) of that process. The
anchor of the time goal is ``track build`` of the same songs to the same length (``--duration``) at 180 spm;
``render`` speaks with ``--voice-engine tones`` (no speech synthesis in the figure). Output: MP3, 192 kbit/s
for both.

``offsets``: a synthetic song with a kick on every beat (174 BPM, 2 min) under a workout whose cadence changes
at every step (170, 180, 165 with the click off, 178, a 168-172 ramp); the stretched bed is rendered and every
kick found (tests/beat_probe.py), its offset from the nearest click printed: all kicks, and those within 4 beats
of a step boundary (the glides), for several ``--glide`` lengths; and the planned map's offsets (every true
beat of the song through its time map: what the planner asks of the stretcher).
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


def offsets_figures(glides: list[int]) -> None:
    import numpy as np

    from beat_probe import CONTINUOUS, kick_onsets, offsets, render_bed
    from cadencecoach.core.timeline import compile_workout
    from cadencecoach.music.analysis import analyze_file
    from cadencecoach.music.bed import music_grid, plan_bed
    from cadencecoach.workout.loader import load_workout_text
    from music_synth import synth_song

    sr = 44100
    tl = compile_workout(load_workout_text(CONTINUOUS, "w.yaml"), sr)
    song = synth_song(174.0, 125.0, pattern="four", seed=7, sr=sr)
    tmp = tempfile.TemporaryDirectory()  # the song is read again while rendering
    path = song.write(Path(tmp.name) / "song.wav", title="Song")
    analysis = analyze_file(path, use_cache=False)
    raw = kick_onsets(song.audio.mean(axis=1), sr)
    latency = float(np.median(offsets(raw, song.beats)))
    clicks = music_grid(tl, glide_beats=0).clicks
    ends = np.array([st.start / sr for st in tl.steps[1:]])
    print(f"\nbeat-to-click offsets, ms (|median| / 95th percentile / max), {len(tl.steps) - 1} step boundaries:")
    for g in glides:
        plan = plan_bed(tl, [analysis], glide_beats=g)
        p = plan.placements[0]
        inside = song.beats[(song.beats >= p.tmap.src[0]) & (song.beats <= p.tmap.src[-1])]
        mapped = p.tmap(inside)
        mapped = mapped[(mapped > 0.5) & (mapped < tl.end / sr - 0.5)]
        out = render_bed(plan.placements, tl.length, sr)
        kicks = kick_onsets(out[: tl.end], sr) - latency
        kicks = kicks[(kicks > 0.5) & (kicks < tl.end / sr - 0.5)]
        near = np.min(np.abs(kicks[:, None] - ends[None, :]), axis=1) < 4 * 60 / 165

        def fig(x: np.ndarray) -> str:
            a = np.abs(x) * 1000
            return f"{np.median(a):.1f} / {np.percentile(a, 95):.1f} / {a.max():.1f}"

        heard = offsets(kicks, clicks)
        print(
            f"  --glide {g:<2}  songs {len(plan.placements)}  map: {fig(offsets(mapped, clicks))}   audio, all "
            f"{len(kicks)} kicks: {fig(heard)}   within 4 beats of a boundary ({int(near.sum())}): {fig(heard[near])}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("compare", "memory", "offsets"))
    ap.add_argument("--glides", type=int, nargs="+", default=[0, 2, 4, 8])
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
    if args.only == "offsets":
        offsets_figures(args.glides)
        return 0
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
