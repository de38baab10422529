"""``python -m cadencecoach.speech.warm ENGINE VOICE RATE SAMPLE_RATE`` (texts on stdin, one per line): synthesize
every text into the speech cache, and exit.

The metronome makes its confirmations' words ready while it already plays (``cli.play``): when some are not in
the cache yet, they are synthesized here, in a child process, so that no speech engine's threads (piper's pool,
onnxruntime's) run in the player's process beside the audio callback or while it exits; the player then reads
them from the cache. A child that is no longer needed is killed. ``VOICE`` empty: the engine's default.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        sys.stderr.write("usage: python -m cadencecoach.speech.warm ENGINE VOICE RATE SAMPLE_RATE < texts\n")
        return 2
    from cadencecoach.speech import make_engine, speak_cues

    engine_name, voice, rate, sample_rate = argv
    texts = [line for line in sys.stdin.read().splitlines() if line.strip()]
    engine = make_engine(engine_name, voice or None, int(rate))
    speak_cues(texts, int(sample_rate), engine, warn=lambda _message: None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
