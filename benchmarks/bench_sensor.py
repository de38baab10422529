"""Issue 15: what listening to the feet costs a live run, and what `review` costs.

Prints:

* the coach's live edits on the shipped ``10x400`` (44.1 kHz, tones voice), each built and wrapped in a new
  renderer in the main thread, as the player does, side by side with the anchor: the ``+`` key's edit
  (``change_cadence`` + recompile + renderer), as a ratio: a distance step's new end (``retime_step``), the
  follow walk (``follow_cadence``), a drift remark (``add_cue``, no recompile);
* the coach's own work per poll of the main loop (draining a replay, the window, the rules), against the
  poll period (30 ms);
* ``read_activity`` + ``review`` of the corpus' largest activity (the 24,239-record multisport FIT), against
  decoding it alone with garmin_fit_sdk, with the reader's decoder options and its CRC check (the anchor: the
  reader's floor).

    .venv/bin/python benchmarks/bench_sensor.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "activities"


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


MEASURE = """
import sys, time
import numpy
from cadencecoach.activity.read import read_activity
def hwm():  # this process's peak resident memory in MB (VmHWM: reset by exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = hwm()
t0 = time.perf_counter()
a = read_activity(sys.argv[1])
wall = time.perf_counter() - t0
print(f"{len(a.t)} samples in {wall:.2f} s, peak RSS {hwm():.0f} MB (before reading {base:.0f} MB)")
"""


def big_xml() -> None:
    """A 100,000-point TCX (the project's writer) and GPX, each read in a fresh process: time and peak memory
    against the file's size (the anchor: the bytes themselves must be held once)."""
    import subprocess
    import sys
    import tempfile
    from datetime import datetime, timezone

    import numpy as np

    from cadencecoach.activity.model import Activity
    from cadencecoach.activity.tcx import tcx_bytes

    n = 100_000
    t = np.arange(n, dtype=float)
    run = Activity(
        "x",
        "sensor",
        t,
        np.full(n, 172.0),
        np.full(n, 3.1),
        3.1 * t,
        140 + (t % 7),
        started_at=datetime(2024, 5, 1, tzinfo=timezone.utc),
    )
    from datetime import timedelta

    t0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
    points = "".join(
        f'<trkpt lat="{45 + i * 2.8e-5:.7f}" lon="7.0"><time>{(t0 + timedelta(seconds=i)):%Y-%m-%dT%H:%M:%SZ}'
        "</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>150</gpxtpx:hr>"
        f"<gpxtpx:cad>86</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>\n"
        for i in range(n)
    )
    gpx = (
        '<?xml version="1.0"?>\n<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"><trk><trkseg>\n'
        + points
        + "</trkseg></trk></gpx>\n"
    ).encode()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in (("run.tcx", tcx_bytes(run)), ("run.gpx", gpx)):
            path = Path(tmp) / name
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
            ).stdout.strip()
            print(f"{name} ({len(data) / 2**20:.1f} MiB, 100,000 points): {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    import numpy as np

    from cadencecoach import pipeline as session
    from cadencecoach.core.edits import (
        CADENCE_STEP,
        add_cue,
        change_cadence,
        follow_cadence,
        recompile,
        retime_step,
    )
    from cadencecoach.core.timeline import CompileOptions, Cue, compile_workout
    from cadencecoach.pipeline import AudioSettings, VoiceSettings

    sr = 44100
    workout = session.load("10x400", None, None)
    options = CompileOptions()
    speech = session.speech_for(session.speech_plan(workout, options), sr, VoiceSettings("tones"), None)
    tl = compile_workout(workout, sr, speech, options)
    audio = AudioSettings(sample_rate=sr)
    rep = next(st for st in tl.steps if st.distance_m is not None)
    now = rep.start + 20 * sr
    now_s = Fraction(now, sr)

    def key_plus() -> None:
        segs = change_cadence(tl.segments, now_s, CADENCE_STEP)
        assert segs is not None
        new, _ = recompile(tl, segs, speech, "full", now)
        session.make_renderer(new, audio, None)

    def retime() -> None:
        segs = retime_step(tl.segments, now_s, rep.end_s + 7)
        assert segs is not None
        new, _ = recompile(tl, segs, speech, "full", now)
        session.make_renderer(new, audio, None)

    def follow() -> None:
        segs = follow_cadence(tl.segments, now_s, Fraction(178), Fraction(186), Fraction(1, 30))
        assert segs is not None
        new, _ = recompile(tl, segs, speech, "full", now)
        session.make_renderer(new, audio, None)

    words = np.zeros(2 * sr, np.float32)

    def remark() -> None:
        new = add_cue(tl, Cue(now, "coach", "Cadence 172. Up to 180.", len(words), rep.index, words), sr // 2)
        assert new is not None
        session.make_renderer(new, audio, None)

    anchor = best(key_plus, args.repeat)
    print(f"10x400 at {sr} Hz: {len(tl.cues)} cues, {len(tl.clicks)} clicks")
    print(f"  anchor: '+' key edit (change_cadence + recompile + renderer): {anchor * 1000:.1f} ms")
    for name, fn in (
        ("distance step's new end (retime_step)", retime),
        ("follow walk (follow_cadence)", follow),
        ("drift remark (add_cue)", remark),
    ):
        t = best(fn, args.repeat)
        print(f"  {name}: {t * 1000:.1f} ms  (ratio {t / anchor:.2f})")

    # the coach's work per poll, on a replayed activity, with a stand-in player clock
    from cadencecoach.sensors.coach import CadenceWindow, CoachSettings, DriftWatch

    n = 20000
    window, drift = CadenceWindow(5.0), DriftWatch(CoachSettings())
    t0 = time.perf_counter()
    for i in range(n):  # 2 readings a second, a poll every 30 ms
        t = i * 0.03
        if i % 17 == 0:
            window.add(t, 172.0)
        drift.due(t, window.value(t), 180.0, quiet_until=0.0)
    per_poll = (time.perf_counter() - t0) / n
    print(f"  coach rules per poll: {per_poll * 1e6:.1f} us ({per_poll / 0.03 * 100:.3f} % of the 30 ms poll)")

    big = CORPUS / "activity-large-fenxi2-multisport.fit"
    if not big.exists():
        print(f"(no corpus at {CORPUS}: review figures skipped)")
        return 0
    from garmin_fit_sdk import Decoder, Stream

    from cadencecoach.activity.read import read_activity
    from cadencecoach.activity.review import review

    def decode() -> None:  # as the reader asks for it (no component expansion, no HR merge), CRC checked
        Decoder(Stream.from_file(str(big))).read(expand_components=False, merge_heart_rates=False)

    def read_and_review() -> None:
        review(read_activity(big), None)

    big_xml()
    floor = best(decode, 3)
    ours = best(read_and_review, 3)
    act = read_activity(big)
    print(f"{big.name}: {len(act.t)} samples, {len(act.laps)} laps")
    print(f"  anchor: garmin_fit_sdk decode alone {floor:.2f} s")
    print(f"  read_activity + review (laps): {ours:.2f} s  (ratio {ours / floor:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
