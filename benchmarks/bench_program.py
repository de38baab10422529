"""Issue 16: how long a program takes to make, and to export for a phone.

Prints, for the 6:30 miler's 12-week, 4-day program:

* ``program new`` in process (build_program, cold and warm session cache);
* ``program export --audio``: the sessions of N weeks rendered to MP3 through
  ``cli.batch_render.render_sessions``, one after another (workers=1, the anchor: what a loop over
  ``cadencecoach render`` does, each render's encoder on every core) and one session per core (the default);
  the ratio is the speed-up of the batch.

    .venv/bin/python benchmarks/bench_program.py [--weeks-rendered 2] [--engine tones]

Speech is made once before either measurement (the cue cache is warm for both), so the figures compare the
rendering alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks-rendered", type=int, default=2, help="render the sessions of the first N weeks")
    ap.add_argument("--engine", default="tones", help="voice engine (tones: no speech cost)")
    args = ap.parse_args()

    from cadencecoach.cli.batch_render import RenderJob, render_sessions
    from cadencecoach.pipeline import VoiceSettings
    from cadencecoach.program import planner
    from cadencecoach.sinks.encode import usable_cores

    inputs = planner.example_inputs()  # the 6:30 miler of docs/PROGRAM.md
    t = time.perf_counter()
    program = planner.build_program(inputs)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    planner.build_program(inputs)
    warm = time.perf_counter() - t
    print(f"build_program 12 weeks x 4 days: cold {cold:.2f} s, warm {warm:.3f} s, {len(program.sessions)} sessions")

    sessions = [s for s in program.sessions if s.week < args.weeks_rendered]
    minutes = sum(s.planned_s for s in sessions) / 60
    voice = VoiceSettings(args.engine, None, 175, 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for s in sessions:
            p = folder / f"{s.index:03d}-{s.template}.yaml"
            p.write_text(s.yaml(inputs.trial, program.goal_pace), encoding="utf-8")
            paths.append(p)

        def batch(workers: int, tag: str) -> float:
            jobs = [RenderJob(p, folder / tag / f"{p.stem}.mp3") for p in paths]
            (folder / tag).mkdir()
            start = time.perf_counter()
            render_sessions(jobs, workers=workers, tell=lambda _m: None, progress=False, voice=voice)
            return time.perf_counter() - start

        batch(1, "warmup")  # the speech cache, the imports
        serial = batch(1, "serial")
        parallel = batch(usable_cores(), "parallel")
    cores = usable_cores()
    print(
        f"export --audio, {len(sessions)} sessions ({minutes:.0f} min of audio), mp3, {cores} cores "
        f"(os.cpu_count {os.cpu_count()}):"
    )
    print(f"  one after another: {serial:.1f} s ({minutes * 60 / serial:.0f} x real time)")
    print(f"  one per core:      {parallel:.1f} s ({minutes * 60 / parallel:.0f} x real time)")
    print(f"  ratio parallel / serial: {parallel / serial:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
