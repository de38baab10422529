"""Where the beats of rendered music are: the kicks of a synthetic song (tests/music_synth.py, "four": a kick and a
bass note on every beat), found to the sample in the low band, and their offsets from the clicks. Shared by the
music bed's tests and benchmarks/bench_bed.py."""

from __future__ import annotations

import numpy as np

# a workout whose cadence changes at every step: 170, 180, 165 with the click off, 178, a 168-172 ramp
CONTINUOUS = """\
name: Cadence changes, one song
steps:
  - warmup: 30s
    cadence: 170
  - run: 24s
    cadence: 180
  - recover: 14s
    cadence: 165
    click: off
  - run: 24s
    cadence: 178
  - cooldown: 20s
    cadence: 168-172
"""


def kick_onsets(x: np.ndarray, sr: int) -> np.ndarray:
    """Onsets (seconds) of the low band (below 150 Hz: kick and bass), from a causal filter (an onset is never
    smeared earlier), one per 0.15 s at most."""
    from scipy import signal

    sos = signal.butter(4, 150, "low", fs=sr, output="sos")
    env = np.abs(signal.sosfilt(sos, x))
    peaks = env[signal.find_peaks(env, distance=int(0.15 * sr))[0]]
    thr = 0.25 * float(np.percentile(peaks, 90))
    up = np.flatnonzero((env[1:] > thr) & (env[:-1] <= thr)) + 1
    keep = np.concatenate([[True], np.diff(up) > 0.15 * sr])
    return up[keep] / sr


def offsets(values: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Signed offset of each of `values` from the nearest of `ref` (ascending), seconds."""
    i = np.clip(np.searchsorted(ref, values), 1, len(ref) - 1)
    left, right = ref[i - 1], ref[i]
    return np.where(np.abs(values - left) < np.abs(values - right), values - left, values - right)
