"""Where the beats of rendered music are: the kicks of a synthetic song (tests/music_synth.py, "four": a kick and a
bass note on every beat), found to the sample in the low band, and their offsets from the clicks. Shared by the
music bed's tests (test_music_bed, test_music_live, e2e/test_live_music) and benchmarks/bench_bed.py."""

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


def kick_attacks(x: np.ndarray, sr: int, share: float = 0.25) -> np.ndarray:
    """Sample indices of the kick drum's attacks: where the envelope below 200 Hz starts each of its strong rises
    (rises above `share` of the 90th percentile; the attack's start is 20 % of the way up), within a few ms of the
    synthetic songs' true beats and of their stretched beats. A steep filter: a woodblock click has almost nothing
    there, and the tones voice, whose notes go down to 293 Hz, is 50 dB down."""
    from scipy import signal

    low = signal.sosfiltfilt(signal.butter(8, 200, "low", fs=sr, output="sos"), np.asarray(x, np.float64))
    w = max(1, int(0.002 * sr))
    env = np.convolve(np.abs(signal.hilbert(low)), np.ones(w) / w, "same")
    rise = np.convolve(np.maximum(np.diff(env, prepend=env[0]), 0.0), np.ones(w) / w, "same")
    peaks, _ = signal.find_peaks(rise, distance=int(0.2 * sr))
    peaks = peaks[rise[peaks] > share * float(np.percentile(rise[peaks], 90))]
    back, ahead = int(0.05 * sr), int(0.03 * sr)
    out = []
    for p in peaks:
        a = max(p - back, 0)
        before = env[a : p + 1]
        floor, top = float(before.min()), float(env[p : p + ahead].max())
        below = np.flatnonzero(before <= floor + 0.2 * (top - floor))
        out.append(a + (int(below[-1]) if len(below) else 0))
    return np.asarray(out, np.int64)


def render_bed(placements: list, length: int, rate: int, block: int = 8192) -> np.ndarray:  # type: ignore[type-arg]
    """The whole music of `placements` as ``render --music`` streams it (:class:`~cadencecoach.music.bed.StreamedBed`
    read in order, `block` samples at a time)."""
    from cadencecoach.music.bed import StreamedBed

    bed = StreamedBed(placements, length, rate)
    out = np.zeros(length, np.float32)
    try:
        for s in range(0, length, block):
            bed.read(s, out[s : s + block])
    finally:
        bed.close()
    return out
