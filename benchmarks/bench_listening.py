"""Issue 19 benchmark: how many cues an independent speech recognizer hears, per engine and noise level.

Run:  .venv/bin/python benchmarks/bench_listening.py [--engines piper,espeak:en-us,espeak:default]
      [--conditions quiet,clicks,wind10,wind5] [--key-duck-db -20] [--workers 2]
Prints one table row per engine and condition; the figures are recorded in benchmarks/RESULTS.md.

The listener is ``tests/listening.py``: pocketsphinx (its English model from the wheel) with a trigram model
of the workout's own phrases, as a runner who knows the session; each cue of ``10x400`` and ``tabata`` is cut
from the block renderer's output (what a file holds), with a -60 dBFS noise floor, and decoded alone. A cue
is heard when every number in it is heard, in order, and at most a quarter of its words are wrong.

Conditions: ``quiet`` (no clicks), ``clicks`` (the default render), ``wind-31`` / ``wind-26`` (clicks, plus
gusting low-frequency noise at -31 / -26 dBFS RMS: about 10 / 5 dB under espeak-ng's speech, 7.5 / 2.5 dB under
piper's, whose peaks are the same but whose RMS is 2.5 dB lower). ``--key-duck-db -6``
measures the clicks as they were before issue 19 (ducked 6 dB under the key words too).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # listening: the recognizer harness the test uses
sys.path.insert(0, str(ROOT / "src"))

import listening  # noqa: E402
from cadencecoach import pipeline  # noqa: E402
from cadencecoach.core import renderer as renderer_module  # noqa: E402
from cadencecoach.core.timeline import CompileOptions  # noqa: E402

WORKOUTS = ("10x400", "tabata")
CONDITIONS = {"quiet": (False, None), "clicks": (True, None), "wind-31": (True, -31.0), "wind-26": (True, -26.0)}


def measure(engine: str, voice: str | None, condition: str, workers: int) -> dict[str, object]:
    click, snr = CONDITIONS[condition]  # snr: the wind's level, dBFS
    heard: list[listening.Heard] = []
    started = time.perf_counter()
    for name in WORKOUTS:
        workout = pipeline.load(name, use_history=False)
        audio = pipeline.AudioSettings(voice=pipeline.VoiceSettings(engine=engine, voice=voice))
        timeline, _ = pipeline.compile_with_speech(workout, CompileOptions(click=click), audio, None)
        renderer = pipeline.make_renderer(timeline, audio)
        heard += listening.listen(timeline, renderer, wind_dbfs=snr, workers=workers)
    ones = [h for h in heard if h.text == "1"]
    reps = [h for h in heard if h.kind == "announce" and " of " in h.text]
    missed: dict[str, int] = {}
    for h in heard:
        if not h.ok:
            key = f"{h.text!r} -> {' '.join(h.heard)!r}"
            missed[key] = missed.get(key, 0) + 1
    return {
        "cues": (sum(h.ok for h in heard), len(heard)),
        "ones": (sum(h.ok for h in ones), len(ones)),
        "reps": (sum(h.ok for h in reps), len(reps)),
        "seconds": time.perf_counter() - started,
        "missed": sorted(missed.items(), key=lambda kv: -kv[1])[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="piper,espeak:en-us,espeak:default")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--key-duck-db", type=float, default=None, help="override KEY_DUCK_DB (-6: as before)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="also print the most frequent misses")
    args = parser.parse_args()
    if args.key_duck_db is not None:
        renderer_module.KEY_DUCK_DB = args.key_duck_db
    print(f"key words: clicks ducked {renderer_module.KEY_DUCK_DB:g} dB; other speech {renderer_module.DUCK_DB:g} dB")
    print(f"{'engine':<16} {'condition':<8} {'cues heard':>16} {'countdown 1':>12} {'rep numbers':>12} {'time':>7}")
    for spec in args.engines.split(","):
        engine, _, voice = spec.partition(":")
        for condition in args.conditions.split(","):
            r = measure(engine, voice or None, condition, args.workers)
            (ok, n), (o1, n1), (orep, nrep) = r["cues"], r["ones"], r["reps"]  # type: ignore[misc]
            print(
                f"{spec:<16} {condition:<8} {ok:>4}/{n:<4} {100 * ok / n:5.1f} %   {o1:>4}/{n1:<4}   "
                f"{orep:>4}/{nrep:<4}   {r['seconds']:5.1f} s",
                flush=True,
            )
            if args.verbose:
                for line, count in r["missed"]:  # type: ignore[attr-defined]
                    print(f"{'':<26}{count}x {line}")


if __name__ == "__main__":
    main()
