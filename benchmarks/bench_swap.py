"""What a live change costs before the callback can take it: building the new renderer.

Every live edit (skip a step, cadence +-2, cutting a cue) recompiles the timeline on the main thread and wraps it
in a new ``BlockRenderer``; the player then hands it to the callback. This script loads a workout with its speech
(from the cue cache: run a ``render`` of it once first), compiles it, and times building renderers for it, and
measures the memory each new renderer adds while the old one is still alive (as during a swap).

Run:  .venv/bin/python benchmarks/bench_swap.py [WORKOUT] [--runs 20]

It also runs against an older checkout (the issue-12 anchor: the tree before the restructure), so that the two
can be printed side by side:  PYTHONPATH=/path/to/old/src .venv/bin/python benchmarks/bench_swap.py
(the old tree had ``cadencecoach.session`` and ``cadencecoach.renderer``; both layouts are found).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from typing import Any


def _modules() -> tuple[Any, str]:
    try:
        from cadencecoach import pipeline

        return pipeline, "restructured (pipeline.py)"
    except ImportError:
        from cadencecoach import session  # type: ignore[attr-defined,unused-ignore]

        return session, "before the restructure (session.py)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workout", nargs="?", default="10x400")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    pipe, layout = _modules()

    def warn(message: str) -> None:
        print(f"warning: {message}")

    workout = pipe.load(args.workout, use_history=False)
    try:
        from cadencecoach.core.timeline import CompileOptions
    except ImportError:
        from cadencecoach.timeline import CompileOptions  # type: ignore[no-redef,import-not-found,unused-ignore]

    audio = pipe.AudioSettings(sample_rate=44100, voice=pipe.VoiceSettings())
    timeline, _speech = pipe.compile_with_speech(workout, CompileOptions(), audio, warn)
    cue_bytes = sum(c.audio.nbytes for c in timeline.cues if c.audio is not None)

    first = pipe.make_renderer(timeline, audio)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        pipe.make_renderer(timeline, audio)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    second = pipe.make_renderer(timeline, audio)
    added = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del first, second

    print(f"layout: {layout}")
    print(f"workout: {workout.name}: {len(timeline.cues)} cues, {cue_bytes / 1e6:.1f} MB of cue audio at 44100 Hz")
    median, fastest = statistics.median(times) * 1e3, min(times) * 1e3
    print(f"new renderer: median {median:.1f} ms, min {fastest:.1f} ms ({args.runs} runs)")
    print(f"memory a second renderer adds while the first is alive: {added / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
