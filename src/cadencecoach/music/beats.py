"""Tempo and beats from an onset-strength envelope (numpy only).

1. **Periodicity**: the autocorrelation of the envelope in 12 s windows (so a slowly drifting tempo does not
   smear it), summed; a comb over its first four multiples scores every tempo from 40 to 240 BPM, with a
   broad log-normal prior centred on 120 BPM. The best tempo fixes the *family* (it, half, double...).
2. **Beat tracking**: dynamic programming after D. Ellis, "Beat tracking by dynamic programming", J. New Music
   Research 36(1), 2007: the best sequence of beats maximises the onset strength at the beats minus
   ``TIGHTNESS * log(interval / period)**2`` per interval, so the tracker follows slow tempo drift but not
   noise. The recursion is vectorised over blocks of half a period (every predecessor of a frame in the
   block lies before the block).
3. **Metrical level**: the beat is the level whose off-beats (midpoints) are weak and whose every beat is
   strong: if the midpoints are as strong as the beats (kick and snare a beat apart) the tempo doubles; if
   every other beat is weak (eighth-note hats tracked as beats) it halves. Tempos stay within 50-220 BPM.
4. Beats are refined to the onset peak (parabolic, sub-frame), shifted by the detector's measured latency,
   leading/trailing beats in silence are dropped, and a beat more than 12 ms off the robust line through
   its neighbours is put back on it (:func:`repair`).

Confidence (0..1) = pulse clarity (how much stronger the onsets are at the beats than on average) x
regularity (the share of beat intervals within 4 % of the median).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadencecoach.music.onset import FPS, Envelopes

MIN_BPM, MAX_BPM = 50.0, 220.0
SEARCH_MIN_BPM, SEARCH_MAX_BPM = 40.0, 240.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.4
TIGHTNESS = 100.0
LEVEL_RATIO = 0.4  # off-beats this strong (relative to beats) mean the beat is twice as fast
WINDOW_S, WINDOW_HOP_S = 12.0, 6.0
OUTLIER_S = 0.012  # a beat this far off the line through its neighbours is repaired
LATENCY_S = -0.006  # the refined onset peak comes this long after the true onset (measured, see tests)


@dataclass(frozen=True)
class BeatResult:
    tempo: float  # BPM, 60 / median beat interval
    beats: np.ndarray  # float64 seconds, ascending
    confidence: float  # 0..1
    downbeat: int  # index into `beats` of the first beat of a bar (0..3), a heuristic (4/4)

    @property
    def period(self) -> float:
        return 60.0 / self.tempo if self.tempo > 0 else 0.0


EMPTY = BeatResult(0.0, np.zeros(0), 0.0, 0)


# ------------------------------------------------------------------------------------ periodicity


def _acf(env: np.ndarray, max_lag: int) -> np.ndarray:
    """Sum of normalised, unbiased autocorrelations of `env` over overlapping windows."""
    win = int(WINDOW_S * FPS)
    hop = int(WINDOW_HOP_S * FPS)
    n = len(env)
    total = np.zeros(max_lag + 1)
    starts = list(range(0, max(n - win, 0) + 1, hop)) or [0]
    used = 0
    for s in starts:
        x = env[s : s + win].astype(np.float64)
        if len(x) < max_lag + 8:
            continue
        x = x - x.mean()
        if not np.any(x):
            continue
        size = 1 << int(np.ceil(np.log2(2 * len(x))))
        spec = np.fft.rfft(x, size)
        r = np.fft.irfft(spec * np.conj(spec), size)[: max_lag + 1]
        r /= len(x) - np.arange(max_lag + 1)
        if r[0] <= 0:
            continue
        total += r / r[0]
        used += 1
    return total / used if used else total


def _comb(r: np.ndarray, bpms: np.ndarray) -> np.ndarray:
    lags = np.arange(len(r))
    score = np.zeros(len(bpms))
    for k in range(1, 5):
        lag = k * 60.0 * FPS / bpms
        ok = lag < len(r) - 1
        score[ok] += np.interp(lag[ok], lags, r)
    prior = np.exp(-0.5 * (np.log2(bpms / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    return score * prior


def periodicity_tempo(env: np.ndarray) -> float:
    """The tempo (BPM) whose period and multiples the envelope repeats best at; 0 if none."""
    if len(env) < int(4 * FPS) or not np.any(env):
        return 0.0
    bpms = np.geomspace(SEARCH_MIN_BPM, SEARCH_MAX_BPM, 1200)
    max_lag = int(np.ceil(4 * 60.0 * FPS / SEARCH_MIN_BPM)) + 2
    r = _acf(env, min(max_lag, int(WINDOW_S * FPS) - 8))
    score = _comb(r, bpms)
    i = int(np.argmax(score))
    if 0 < i < len(bpms) - 1:  # parabolic refinement on the log-tempo grid
        a, b, c = score[i - 1], score[i], score[i + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(bpms[i] * (bpms[1] / bpms[0]) ** off)
    return float(bpms[i])


# ------------------------------------------------------------------------------------ DP tracking


def _smooth(env: np.ndarray, period: float) -> np.ndarray:
    sigma = max(period / 32.0, 0.5)
    half = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return np.convolve(env, k / k.sum(), mode="same")


def track(env: np.ndarray, period: float) -> np.ndarray:
    """Beat frames (int) by dynamic programming for a beat `period` in frames."""
    n = len(env)
    if n == 0 or period <= 1:
        return np.zeros(0, np.int64)
    std = float(env.std())
    local = _smooth(env / (std if std > 0 else 1.0), period)
    lmin = max(1, round(float(period / 2)))
    lmax = max(lmin + 1, round(float(2 * period)))
    lags = np.arange(lmin, lmax + 1)
    penalty = -TIGHTNESS * np.log(lags / period) ** 2
    score = np.empty(n)
    back = np.full(n, -1, np.int64)
    score[:lmin] = local[:lmin]
    t0 = lmin
    while t0 < n:
        t1 = min(n, t0 + lmin)
        t = np.arange(t0, t1)
        prev = t[:, None] - lags[None, :]
        valid = prev >= 0
        cand = np.where(valid, score[np.clip(prev, 0, None)] + penalty[None, :], -np.inf)
        best = np.argmax(cand, axis=1)
        top = cand[np.arange(len(t)), best]
        has = np.isfinite(top) & (top > 0)
        score[t0:t1] = local[t0:t1] + np.where(has, top, 0.0)
        back[t0:t1] = np.where(has, prev[np.arange(len(t)), best], -1)
        t0 = t1
    # the last beat: the best-scoring local maximum in the last period
    tail = max(0, n - round(float(period)))
    last = tail + int(np.argmax(score[tail:]))
    beats = [last]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    return np.asarray(beats[::-1], np.int64)


# ------------------------------------------------------------------------------------ beat level


def _peak_strength(env: np.ndarray, frames: np.ndarray, radius: int) -> np.ndarray:
    if len(frames) == 0:
        return np.zeros(0)
    idx = np.clip(np.rint(frames).astype(np.int64)[:, None] + np.arange(-radius, radius + 1)[None, :], 0, len(env) - 1)
    return env[idx].max(axis=1)


def _level_change(env: np.ndarray, beats: np.ndarray, tempo: float) -> int:
    """+1: the beat is twice as fast; -1: half as fast; 0: this level."""
    if len(beats) < 8:
        return 0
    base = float(np.median(env))
    on = _peak_strength(env, beats, 2) - base
    mids = (beats[:-1] + beats[1:]) / 2.0
    mid = _peak_strength(env, mids, 3) - base
    s_on = float(np.mean(np.maximum(on, 0)))
    if s_on <= 0:
        return 0
    s_mid = float(np.mean(np.maximum(mid, 0)))
    if s_mid >= LEVEL_RATIO * s_on and tempo * 2 <= MAX_BPM:
        return +1
    even, odd = float(np.mean(np.maximum(on[0::2], 0))), float(np.mean(np.maximum(on[1::2], 0)))
    if min(even, odd) < LEVEL_RATIO * max(even, odd) and tempo / 2 >= MIN_BPM:
        return -1
    return 0


def _refine(env: np.ndarray, frames: np.ndarray, radius: int = 3) -> np.ndarray:
    """Sub-frame peak positions of `env` near each frame (the frame itself where there is no peak)."""
    n = len(env)
    out = frames.astype(np.float64)
    if n < 3 or len(frames) == 0:
        return out
    idx = np.clip(frames[:, None] + np.arange(-radius, radius + 1)[None, :], 1, n - 2)
    best = idx[np.arange(len(frames)), np.argmax(env[idx], axis=1)]
    a, b, c = env[best - 1], env[best], env[best + 1]
    den = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(den < 0, 0.5 * (a - c) / den, 0.0)
    has_peak = (b > 0) & (b >= a) & (b >= c)
    return np.where(has_peak, best + np.clip(off, -0.5, 0.5), out)


def _trim(env: np.ndarray, energy_db: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Drop leading and trailing beats in silence (no onset near them, or a very low level)."""
    if len(beats) == 0:
        return beats
    strength = _peak_strength(env, beats, 3)
    level = _peak_strength(energy_db, beats, 6) if len(energy_db) else np.zeros(len(beats))
    ref = float(np.median(strength[strength > 0])) if np.any(strength > 0) else 0.0
    loud = float(np.percentile(energy_db, 95)) if len(energy_db) else 0.0
    alive = (strength > 0.05 * ref) & (level > loud - 50.0)
    if not np.any(alive):
        return beats[:0]
    first = int(np.argmax(alive))
    last = len(alive) - 1 - int(np.argmax(alive[::-1]))
    return beats[first : last + 1]


def _downbeat(low: np.ndarray, beats: np.ndarray) -> int:
    if len(beats) < 8:
        return 0
    s = _peak_strength(low, beats, 2)
    scores = [float(np.mean(s[q::4])) for q in range(4)]
    return int(np.argmax(scores))


def _confidence(env: np.ndarray, beat_frames: np.ndarray, times: np.ndarray) -> float:
    if len(times) < 4:
        return 0.0
    s = _peak_strength(env, beat_frames, 2)
    mean_env = float(env.mean())
    on = float(s.mean())
    clarity = 0.0 if on <= 0 else max(0.0, min(1.0, (on - mean_env) / on))
    ibi = np.diff(times)
    med = float(np.median(ibi))
    regular = float(np.mean(np.abs(ibi / med - 1.0) < 0.04)) if med > 0 else 0.0
    return round(clarity * regular, 3)


def local_fit(beats: np.ndarray, x: float, half: int = 8) -> float:
    """The time of (fractional) beat index `x` on a robust straight line (Theil-Sen: the median of the pairwise
    slopes, then the median intercept) through the beats within `half` of it: a misplaced beat does not
    move it."""
    n = len(beats)
    lo = max(0, int(np.floor(x)) - half + 1)
    hi = min(n, int(np.ceil(x)) + half)
    if hi - lo < 3:
        lo, hi = max(0, min(lo, n - 3)), min(n, max(hi, 3))
    if hi - lo < 2:
        return float(beats[0]) if n else 0.0
    j = np.arange(lo, hi, dtype=np.float64)
    t = beats[lo:hi]
    a, b = np.triu_indices(len(j), 1)
    slope = float(np.median((t[b] - t[a]) / (j[b] - j[a])))
    icept = float(np.median(t - slope * j))
    return slope * x + icept


def repair(times: np.ndarray, tolerance: float = OUTLIER_S) -> np.ndarray:
    """Beats more than `tolerance` off the robust line through their neighbours are moved onto it (an onset
    at the very first sample of a file is found late; a flam or a fill can pull one beat)."""
    if len(times) < 6:
        return times
    fitted = np.array([local_fit(times, float(i)) for i in range(len(times))])
    off = np.abs(times - fitted) > tolerance
    return np.where(off, fitted, times)


def tempo_of(times: np.ndarray, window: int = 16) -> float:
    """BPM from beat times: the median over 16-beat windows of the least-squares beat period (precise for a
    steady tempo, and the typical tempo of a drifting one)."""
    if len(times) < 2:
        return 0.0
    if len(times) <= window:
        i = np.arange(len(times), dtype=np.float64)
        return 60.0 / float(np.polyfit(i, times, 1)[0])
    i = np.arange(window, dtype=np.float64)
    ic = i - i.mean()
    windows = np.lib.stride_tricks.sliding_window_view(times, window)[:: max(1, window // 4)]
    slopes = (windows - windows.mean(axis=1, keepdims=True)) @ ic / float(ic @ ic)
    return 60.0 / float(np.median(slopes))


def beat_track(env: Envelopes) -> BeatResult:
    """Tempo, beats, confidence and bar phase of a song from its envelopes."""
    onset = env.onset.astype(np.float64)
    tempo = periodicity_tempo(onset)
    if tempo <= 0:
        return EMPTY
    # start at the member of the tempo family nearest the prior, within range
    while tempo > MAX_BPM:
        tempo /= 2
    while tempo < MIN_BPM:
        tempo *= 2
    if tempo * 2 <= MAX_BPM and abs(np.log2(tempo * 2 / PRIOR_BPM)) < abs(np.log2(tempo / PRIOR_BPM)):
        tempo *= 2
    elif tempo / 2 >= MIN_BPM and abs(np.log2(tempo / 2 / PRIOR_BPM)) < abs(np.log2(tempo / PRIOR_BPM)):
        tempo /= 2
    frames = track(onset, 60.0 * FPS / tempo)
    seen = {round(tempo, 3)}
    for _ in range(3):
        change = _level_change(onset, frames.astype(np.float64), tempo)
        if change == 0:
            break
        tempo = tempo * 2 if change > 0 else tempo / 2
        if round(tempo, 3) in seen:
            break
        seen.add(round(tempo, 3))
        frames = track(onset, 60.0 * FPS / tempo)
    frames = _trim(onset, env.energy_db, frames)
    if len(frames) < 4:
        return EMPTY
    refined = _refine(onset, frames)
    raw = refined / FPS - LATENCY_S
    times = repair(raw)
    return BeatResult(
        tempo_of(times), times, _confidence(onset, frames, raw), _downbeat(env.low.astype(np.float64), refined)
    )
