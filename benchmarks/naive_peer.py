"""A naive metronome, for comparison: a plain ``time.sleep`` loop that plays a click with
``sounddevice.play`` on every beat. This is how a quick script usually does it; bench_live.py records it
and ``cadencecoach click`` through the same PulseAudio null sink and compares their timing.

    python benchmarks/naive_peer.py [SPM] [--seconds S] [--compensated]

``--compensated`` sleeps until each beat's absolute deadline (no accumulating drift from the loop's own
overhead) instead of sleeping one beat after each play; the jitter of opening a stream per beat remains.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def click_sound(sample_rate: int) -> np.ndarray:
    """The same click as cadencecoach's (woodblock, regular, at the renderer's click level)."""
    from cadencecoach.core.renderer import CLICK_LEVEL
    from cadencecoach.sounds import load_bank

    return np.asarray(load_bank("woodblock", sample_rate)[0], np.float32) * np.float32(CLICK_LEVEL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spm", nargs="?", type=float, default=180.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to play")
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--compensated", action="store_true", help="sleep to absolute deadlines")
    args = parser.parse_args(argv)

    import signal

    import sounddevice as sd

    signal.signal(signal.SIGINT, signal.default_int_handler)  # stoppable even if started with SIGINT ignored

    click = click_sound(args.sample_rate)
    period = 60.0 / args.spm
    start = time.monotonic()
    beats = 0
    try:
        while time.monotonic() - start < args.seconds:
            sd.play(click, args.sample_rate)
            beats += 1
            if args.compensated:
                time.sleep(max(0.0, start + beats * period - time.monotonic()))
            else:
                time.sleep(period)
        sd.wait()
    except KeyboardInterrupt:
        pass
    print(f"naive peer: {beats} beats in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
