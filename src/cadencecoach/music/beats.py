"""Tempo and beats from an onset-strength envelope (numpy only).

1. **Periodicity**: the autocorrelation of the envelope in 12 s windows (so a slowly drifting tempo does not
   smear it), summed; a comb over its first four multiples scores every tempo from 40 to 240 BPM, with a
   broad log-normal prior centred on 120 BPM. The best tempo fixes the *family* (it, half, double...).
2. **Beat tracking**: dynamic programming after D. Ellis, "Beat tracking by dynamic programming", J. New Music
   Research 36(1), 2007: the best sequence of beats maximises the onset strength at the beats minus
   ``TIGHTNESS * log(interval / period)**2`` per interval, so the tracker follows slow tempo drift but not
   noise. The recursion is vectorised over blocks of half a period (every predecessor of a frame in the
   block lies before the block). It runs on the bass (below 200 Hz) and the rest each at unit deviation, the
   rest weighted twice: the cymbals and snares hold the 16th-note grid where a bass line pushes ahead of it.
3. **Metrical level**: the beat is the level whose off-beats (midpoints) are weak and whose every beat is
   strong: if the midpoints are as strong as the beats (kick and snare a beat apart) the tempo doubles; if
   every other beat is weak (eighth-note hats tracked as beats) it halves. If instead the *thirds* of the
   beat are strong (in all bands, and above the bass at least as strong as the midpoints), the beat divides
   in three: a slow triple bar (a 3/4 bar at 55 of a 165 BPM waltz) becomes its beats (x3); a faster pulse
   read in threes (6/8 at 110) becomes 3/2 of it (165) when its bass groups the even thirds in twos
   (:func:`_grouping`), so a 2:3 or 3:2 reading needs the bass to agree. Tempos stay within 50-220 BPM.
4. **Half-beat phase**: a skank or a snare on the "and" makes the off-beats the loudest onsets; where the
   bass (kick, bass notes) is clearly and lastingly stronger on the midpoints than on the beats, the beats
   move there (:func:`_half_beat_phase`, a two-state Viterbi with a switching cost).
5. Beats are refined to the onset peak (parabolic, sub-frame), shifted by the detector's measured latency,
   leading/trailing beats in silence are dropped, and a beat more than 12 ms off the robust lines through
   its neighbours on *both* sides is put back (:func:`repair`): a section that moves as a whole (a 16th-note
   displacement, a tempo change) is followed, a lone stray beat is not.

Confidence (0..1) = pulse clarity (how much stronger the onsets are at the beats than on average) x
regularity (the share of beat intervals within 4 % of the median).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cadencecoach.music.onset import FPS, Envelopes

MIN_BPM, MAX_BPM = 50.0, 220.0
SEARCH_MIN_BPM, SEARCH_MAX_BPM = 40.0, 240.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.4
TIGHTNESS = 100.0
LEVEL_RATIO = 0.4  # off-beats this strong (relative to beats) mean the beat is twice as fast
GROUPING_MARGIN = 0.3  # duple bass accents this much more regular than triple ones regroup a pulse in twos
HIGH_WEIGHT = 2.0  # in the tracking envelope the bands above 200 Hz count twice the bass (see _tracking_envelope)
SWITCH_COST = 30.0  # evidence (bass onsets, in standard deviations) needed to move the beat by half a period
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


def _unit(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return x / sd if sd > 0 else x


def _tracking_envelope(env: Envelopes) -> np.ndarray:
    """The envelope the beats are tracked on: bass (below 200 Hz) and the rest each scaled to unit deviation,
    the rest weighted twice. Cymbals, hats and snares keep the 16th-note grid where a bass line or a guitar
    riff pushes ahead of it (the bass alone would pull whole sections a 16th early); which eighth of that
    grid is the beat is then for the bass to say (:func:`_half_beat_phase`)."""
    onset = env.onset.astype(np.float64)
    low = env.low.astype(np.float64)
    return _unit(low) + HIGH_WEIGHT * _unit(np.maximum(onset - low, 0.0))


def _half_beat_phase(low: np.ndarray, frames: np.ndarray, period: float) -> np.ndarray:
    """Beats moved by half a period where the bass says they are on the off-beat (a skank, a snare on the
    "and": the loudest onsets between the beats). A two-state Viterbi over the beats: keep each beat or move
    it to the midpoint before it, scored by the bass onsets there (in standard deviations), with
    :data:`SWITCH_COST` to change state, so only a clear, lasting difference moves a section. A move leaves
    one interval of half a period, whose first beat is dropped (or 1.5 periods)."""
    n = len(frames)
    if n < 8:
        return frames
    b = frames.astype(np.float64)
    mids = np.empty(n)
    mids[1:] = (b[:-1] + b[1:]) / 2.0
    mids[0] = b[0] - period / 2.0
    base, sd = float(np.median(low)), float(low.std()) or 1.0
    emit = np.stack(
        [(_peak_strength(low, b, 2) - base) / sd, (_peak_strength(low, np.maximum(mids, 0.0), 2) - base) / sd],
        axis=1,
    )
    if mids[0] < 0:
        emit[0, 1] = -np.inf
    score = emit[0].copy()
    back = np.zeros((n, 2), np.int8)
    for i in range(1, n):
        stay = score
        move = score[::-1] - SWITCH_COST
        back[i] = np.where(stay >= move, (0, 1), (1, 0))
        score = np.maximum(stay, move) + emit[i]
    state = np.zeros(n, np.int8)
    state[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        state[i - 1] = back[i, state[i]]
    if not state.any():
        return frames
    moved = np.rint(np.where(state == 1, mids, b)).astype(np.int64)
    keep = np.ones(n, bool)
    keep[:-1] = np.diff(moved) >= 0.75 * period  # of the two beats half a period apart, keep the later
    return moved[keep]


# ------------------------------------------------------------------------------------ beat level


def _peak_strength(env: np.ndarray, frames: np.ndarray, radius: int) -> np.ndarray:
    if len(frames) == 0:
        return np.zeros(0)
    idx = np.clip(np.rint(frames).astype(np.int64)[:, None] + np.arange(-radius, radius + 1)[None, :], 0, len(env) - 1)
    return env[idx].max(axis=1)


def _grouping(env: np.ndarray, low: np.ndarray, tempo: float) -> float:
    """How much more regular duple accents are than triple ones on the pulse three times as fast as `tempo`
    (the tatum of a beat divided in three), in the bass: the correlation of the tatums' bass onsets (local
    mean removed) two or four tatums apart, minus three apart. Positive: the tatums group in twos (the beat
    is 3/2 `tempo`): a kick and bass on every other tatum, or a bass line in twos."""
    tatums = track(env, 60.0 * FPS / (3.0 * tempo)).astype(np.float64)
    s = _peak_strength(low, tatums, 1)
    if len(s) < 48:
        return 0.0
    s = (s - np.convolve(s, np.ones(12) / 12.0, mode="same"))[6:-6]
    v = float(s @ s)
    if v <= 0:
        return 0.0
    c2, c3, c4 = (float(s[:-k] @ s[k:]) / v for k in (2, 3, 4))
    return max(c2, c4) - c3


def _divisions(env: np.ndarray, beats: np.ndarray) -> tuple[float, float]:
    """The mean onset strength (above the median) at the midpoints and at the thirds of the beats, each
    relative to that at the beats."""
    base = float(np.median(env))
    on = float(np.mean(np.maximum(_peak_strength(env, beats, 2) - base, 0)))
    if on <= 0:
        return 0.0, 0.0
    gaps = np.diff(beats)
    half = _peak_strength(env, beats[:-1] + gaps / 2.0, 3) - base
    thirds = np.concatenate([_peak_strength(env, beats[:-1] + gaps * (k / 3.0), 2) for k in (1, 2)]) - base
    return float(np.mean(np.maximum(half, 0))) / on, float(np.mean(np.maximum(thirds, 0))) / on


def _level_change(env: np.ndarray, low: np.ndarray, beats: np.ndarray, tempo: float) -> float:
    """The factor to the beat's tempo: 2 (the beat is twice as fast), 0.5 (half as fast), 3 or 1.5 (the
    beat divides in three: a slow triple bar was tracked, or an even pulse grouped in threes whose bass
    groups it in twos), or 1 (this level). A beat divides in three when its midpoints are weak and its
    thirds strong, in all bands and above the bass (there the thirds at least as strong as the midpoints)."""
    if len(beats) < 8:
        return 1.0
    half, thirds = _divisions(env, beats)
    if half >= LEVEL_RATIO and tempo * 2 <= MAX_BPM:
        return 2.0
    if half < LEVEL_RATIO and thirds >= LEVEL_RATIO:
        high_half, high_thirds = _divisions(np.maximum(env - low, 0.0), beats)
        if high_thirds >= max(LEVEL_RATIO, high_half):
            if tempo * 3 <= MAX_BPM:
                return 3.0  # a slow triple bar (3/4) was tracked: its beats are the thirds
            if _grouping(env, low, tempo) > GROUPING_MARGIN:
                return 1.5  # an even pulse read in threes (6/8) whose bass comes in twos (3/4)
    on = np.maximum(_peak_strength(env, beats, 2) - float(np.median(env)), 0)
    even, odd = float(np.mean(on[0::2])), float(np.mean(on[1::2]))
    if min(even, odd) < LEVEL_RATIO * max(even, odd) and tempo / 2 >= MIN_BPM:
        return 0.5
    return 1.0


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


def _side_fit(times: np.ndarray, i: int, side: int, half: int = 8) -> float:
    """Beat `i`'s time predicted by the robust line through up to `half` beats on one side of it (-1: before,
    +1: after), not counting it; NaN with fewer than 3 there."""
    lo, hi = (max(0, i - half), i) if side < 0 else (i + 1, min(len(times), i + 1 + half))
    if hi - lo < 3:
        return float("nan")
    j = np.arange(lo, hi, dtype=np.float64)
    t = times[lo:hi]
    a, b = np.triu_indices(len(j), 1)
    slope = float(np.median((t[b] - t[a]) / (j[b] - j[a])))
    return slope * i + float(np.median(t - slope * j))


def _side_fits(times: np.ndarray, side: int, half: int = 8) -> np.ndarray:
    """:func:`_side_fit` of every beat (vectorised where a full `half` beats are on that side)."""
    n = len(times)
    if n <= 2 * half + 2:
        return np.array([_side_fit(times, i, side, half) for i in range(n)])
    out = np.full(n, np.nan)
    win = np.lib.stride_tricks.sliding_window_view(times, half)  # win[k] = times[k : k + half]
    j = np.arange(half, dtype=np.float64)
    a, b = np.triu_indices(half, 1)
    slope = np.median((win[:, b] - win[:, a]) / (j[b] - j[a]), axis=1)
    icept = np.median(win - slope[:, None] * j[None, :], axis=1)
    if side < 0:  # beat i from times[i - half : i]: window i - half, at x = half
        out[half:] = (slope * half + icept)[: n - half]
        edge = range(half)
    else:  # beat i from times[i + 1 : i + 1 + half]: window i + 1, at x = -1
        out[: n - half] = (icept - slope)[1:]
        edge = range(n - half, n)
    for i in edge:
        out[i] = _side_fit(times, i, side, half)
    return out


def repair(
    times: np.ndarray, tolerance: float = OUTLIER_S, strength: Callable[[np.ndarray], np.ndarray] | None = None
) -> np.ndarray:
    """Beats more than `tolerance` off the robust lines through their neighbours are moved onto them (an onset
    at the very first sample of a file is found late; a flam or a fill can pull one beat). A beat is judged
    against the beats before it and the beats after it separately, and only one that fits neither side is
    moved: where the music itself moves (a section displaced by a 16th note, a sudden tempo change) the beats
    on each side of the step fit their own side and stay. Where the two sides agree the beat goes onto the
    line through both; at a step (the tracker smoothed it over, putting one beat between the two grids) it
    goes to the side whose time has the stronger onset (`strength`: onset strength at times), else the
    nearer."""
    n = len(times)
    if n < 6:
        return times
    out = times.copy()
    left, right = _side_fits(times, -1), _side_fits(times, +1)
    near = np.fmin(np.abs(times - left), np.abs(times - right))  # NaN only where neither side has a fit
    for i in np.flatnonzero(~(near <= tolerance)):
        fits = [float(f) for f in (left[i], right[i]) if np.isfinite(f)]
        if not fits or min(abs(times[i] - f) for f in fits) <= tolerance:
            continue
        if len(fits) == 1 or abs(fits[0] - fits[1]) <= tolerance:
            out[i] = local_fit(times, float(i))
        elif strength is not None:
            out[i] = fits[int(np.argmax(strength(np.asarray(fits))))]
        else:
            out[i] = min(fits, key=lambda f: abs(times[i] - f))
    return out


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
    low = env.low.astype(np.float64)
    tracking = _tracking_envelope(env)
    frames = track(tracking, 60.0 * FPS / tempo)
    seen = {round(tempo, 3)}
    for _ in range(4):
        change = _level_change(onset, low, frames.astype(np.float64), tempo)
        if change == 1.0:
            break
        tempo *= change
        while tempo > MAX_BPM:  # 3/2 of a fast pulse: the half of it
            tempo /= 2
        if round(tempo, 3) in seen:
            break
        seen.add(round(tempo, 3))
        frames = track(tracking, 60.0 * FPS / tempo)
    frames = _half_beat_phase(low, frames, 60.0 * FPS / tempo)
    frames = _trim(onset, env.energy_db, frames)
    if len(frames) < 4:
        return EMPTY
    refined = _refine(onset, frames)
    raw = refined / FPS - LATENCY_S
    times = repair(raw, strength=lambda t: _peak_strength(onset, (t + LATENCY_S) * FPS, 1))
    return BeatResult(tempo_of(times), times, _confidence(onset, frames, raw), _downbeat(low, refined))
