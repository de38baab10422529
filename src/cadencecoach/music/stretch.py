"""Beat-anchored time maps and Rubber Band time-stretching (through pedalboard), in bounded chunks.

A :class:`TimeMap` is piecewise linear from input seconds to output seconds. Its breakpoints sit halfway
between two beats every ``K`` beats (about every 8 s), and map onto the same points of the *target* beat
grid, so every K-th beat lands on the grid however the song's tempo drifts, and the beats between follow a
constant stretch. The speed of a piece is clamped to within ``MAX_LOCAL_DEVIATION`` of the song's overall
stretch (a beat-tracking slip cannot make one piece race); a clamped piece catches up with the grid over the
next pieces. Clicks are laid at ``map(beat)``: on the stretched beats, never on an unrelated grid.

Stretching: each piece is stretched on its own with a constant ratio, with a little audio before and after it
(``PAD_S``) so Rubber Band has context; the pieces are joined with a 10 ms equal-gain crossfade centred on
their breakpoint, which lies between beats (shorter where a piece is shorter than twice that). The pieces are
independent, so two run at once on a thread pool
(pedalboard releases the GIL), and memory is bounded by a few pieces whatever the song's length.

Engine: Rubber Band's "faster" (R2) engine (``high_quality=False``), crisp transients, short FFT window
(``use_long_fft_window=False``: crisper drums, and twice as fast as the default window). Its timing is exact
to about 2 ms at any ratio; the "finer" (R3) engine drifted by up to 100 ms per minute against the requested
ratio in our measurements, and is three to six times slower.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cadencecoach.music.beats import local_fit as _fit_at

PIECE_S = 8.0
PAD_S = 0.2
JOIN_S = 0.010
MAX_LOCAL_DEVIATION = 0.04
MAX_DEVIATION_S = 0.004  # beats inside a piece stay this close to the grid (else the piece is split)
MIN_PIECE_BEATS = 4


@dataclass(frozen=True)
class TimeMap:
    """Piecewise-linear input seconds -> output seconds (extrapolated linearly beyond the ends)."""

    src: np.ndarray  # ascending input seconds
    dst: np.ndarray  # ascending output seconds

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        t = np.asarray(t, np.float64)
        out = np.interp(t, self.src, self.dst)
        lo, hi = t < self.src[0], t > self.src[-1]
        if np.any(lo):
            out = np.where(lo, self.dst[0] + (t - self.src[0]) / self.speed(0), out)
        if np.any(hi):
            out = np.where(hi, self.dst[-1] + (t - self.src[-1]) / self.speed(len(self.src) - 2), out)
        return out

    def clip(self, a: float, b: float) -> TimeMap:
        """The same map restricted to input seconds [a, b]."""
        s = np.unique(np.concatenate([[a], self.src[(self.src > a) & (self.src < b)], [b]]))
        return TimeMap(s, self(s))

    def inverse(self, u: np.ndarray | float) -> np.ndarray:
        return TimeMap(self.dst, self.src)(u)

    def speed(self, k: int) -> float:
        """Input seconds per output second of piece ``k`` (> 1: the music is sped up)."""
        k = min(max(k, 0), len(self.src) - 2)
        return float((self.src[k + 1] - self.src[k]) / (self.dst[k + 1] - self.dst[k]))

    @property
    def pieces(self) -> int:
        return len(self.src) - 1


def beat_map(
    beats: np.ndarray,
    grid: Callable[[np.ndarray], np.ndarray],
    speed: float | Callable[[float], float],
    start: float,
    end: float,
    *,
    piece_s: float = PIECE_S,
    max_dev: float = MAX_LOCAL_DEVIATION,
    anchors: Iterable[int] = (),
) -> TimeMap:
    """The time map for input ``[start, end]`` that puts beat ``j`` (of `beats`, input seconds) on
    ``grid(j)`` (output seconds), every K-th beat exactly, with overall `speed` (input/output seconds).

    `grid` takes beat indices (float, may be fractional or negative) and returns output seconds. `speed` may
    instead be a function of the (fractional) beat index: the expected speed there (a song that goes on across
    steps of different cadences); each piece's speed stays within `max_dev` of it. `anchors`: beat indices that
    are breakpoints whatever the pieces' length (around a change of tempo, where pieces must be short)."""
    beats = np.asarray(beats, np.float64)
    expected = speed if callable(speed) else (lambda _j, v=float(speed): v)
    if len(beats) < 2:
        g0 = float(grid(np.array([0.0]))[0])
        b0 = float(beats[0]) if len(beats) else start
        sp0 = expected(0.0)
        return TimeMap(np.array([start, end]), np.array([g0 - (b0 - start) / sp0, g0 + (end - b0) / sp0]))
    period = float(np.median(np.diff(beats)))
    k = max(4, round(float(piece_s / period / 4)) * 4)
    idx = _anchors(beats, grid, k, anchors)
    src_mid = np.asarray([_fit_at(beats, i - 0.5) for i in idx])
    ideal_mid = grid(idx - 0.5)
    # the first breakpoint: the first beat's half period before it, on the grid likewise
    first_src = _fit_at(beats, -0.5)
    first_dst = float(grid(np.array([-0.5]))[0])
    src = [first_src]
    dst = [first_dst]
    prev_i = -0.5
    for i, s, ideal in zip(idx, src_mid, ideal_mid, strict=True):
        if s <= src[-1] + 1e-6:
            continue
        v = expected((prev_i + float(i) - 0.5) / 2.0)
        lo, hi = v * (1 - max_dev), v * (1 + max_dev)
        want = (s - src[-1]) / max(ideal - dst[-1], 1e-9) if ideal > dst[-1] else hi
        sp = min(max(want, lo), hi)
        src.append(float(s))
        dst.append(dst[-1] + (s - src[-2]) / sp)
        prev_i = float(i) - 0.5
    # extend to the ends with the neighbouring pieces' speeds
    if start < src[0]:
        sp = (src[1] - src[0]) / (dst[1] - dst[0]) if len(src) > 1 else expected(-0.5)
        dst.insert(0, dst[0] - (src[0] - start) / sp)
        src.insert(0, start)
    if end > src[-1]:
        sp = (src[-1] - src[-2]) / (dst[-1] - dst[-2]) if len(src) > 1 else expected(float(len(beats) - 1))
        dst.append(dst[-1] + (end - src[-1]) / sp)
        src.append(end)
    src_a, dst_a = np.asarray(src), np.asarray(dst)
    keep = (src_a >= start - 1e-9) & (src_a <= end + 1e-9)
    # clip to [start, end] exactly (interpolating the map at the ends)
    m = TimeMap(src_a, dst_a)
    inner = src_a[keep]
    s_final = np.unique(np.concatenate([[start], inner, [end]]))
    return TimeMap(s_final, m(s_final))


def _anchors(
    beats: np.ndarray, grid: Callable[[np.ndarray], np.ndarray], k: int, forced: Iterable[int] = ()
) -> np.ndarray:
    """Beat indices whose half-beat-before points become breakpoints: every `k`-th beat and the `forced` ones,
    plus more wherever the beats between two breakpoints would stray more than ``MAX_DEVIATION_S`` from the
    grid (a drifting or loosely played song gets shorter pieces; a steady one keeps long, cheap ones)."""
    n = len(beats)
    extra = {int(a) for a in forced if 0 < int(a) < n}
    anchors = sorted((set(range(k, n, k)) | {n - 1} if n > k else {n - 1}) | extra)
    anchors = [0, *[a for a in anchors if a > 0]]
    j_all = np.arange(n, dtype=np.float64)
    target = grid(j_all)
    changed = True
    while changed:
        changed = False
        out = [anchors[0]]
        for a, b in itertools.pairwise(anchors):
            if b - a >= 2 * MIN_PIECE_BEATS:
                j = np.arange(a, b + 1)
                mapped = target[a] + (beats[j] - beats[a]) * (target[b] - target[a]) / (beats[b] - beats[a])
                if np.abs(mapped - target[j]).max() > MAX_DEVIATION_S:
                    out.append((a + b) // 2)
                    changed = True
            out.append(b)
        anchors = out
    return np.asarray([a for a in anchors if a >= 1], np.int64)


def regular_grid(first: float, period: float) -> Callable[[np.ndarray], np.ndarray]:
    """grid(j) = first + j * period."""

    def grid(j: np.ndarray) -> np.ndarray:
        return first + np.asarray(j, np.float64) * period

    return grid


def points_grid(times: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """grid(j) interpolating the given beat times (extrapolated with the edge periods)."""
    times = np.asarray(times, np.float64)

    def grid(j: np.ndarray) -> np.ndarray:
        j = np.asarray(j, np.float64)
        if len(times) == 1:
            return times[0] + j * 0.5
        out = np.interp(j, np.arange(len(times)), times)
        p0, p1 = times[1] - times[0], times[-1] - times[-2]
        out = np.where(j < 0, times[0] + j * p0, out)
        return np.where(j > len(times) - 1, times[-1] + (j - (len(times) - 1)) * p1, out)

    return grid


# ---------------------------------------------------------------------------------------- stretching


def stretch_piece(audio: np.ndarray, rate: int, speed: float) -> np.ndarray:
    """Rubber Band (R2, crisp) time-stretch of (n, ch) float32 by `speed` (>1: shorter)."""
    from cadencecoach import extras

    pedalboard = extras.load("pedalboard", "time-stretching")

    if abs(speed - 1.0) < 1e-6:
        return audio.copy()
    out = pedalboard.time_stretch(
        np.ascontiguousarray(audio.T),
        float(rate),
        stretch_factor=float(speed),
        high_quality=False,
        transient_mode="crisp",
        use_long_fft_window=False,
    )
    return np.ascontiguousarray(out.T, dtype=np.float32)


def _stretch_padded(audio: np.ndarray, rate: int, speed: float, pre: int, post: int) -> np.ndarray:
    """Stretch `audio` with `pre`/`post` samples of silence around it; returns the part for `audio` only."""
    if pre or post:
        ch = audio.shape[1]
        audio = np.concatenate([np.zeros((pre, ch), np.float32), audio, np.zeros((post, ch), np.float32)])
    y = stretch_piece(audio, rate, speed)
    start = round(pre / speed)
    return y[start : start + round((len(audio) - pre - post) / speed)]


class Window:
    """Sequential random access to a stream of (n, ch) blocks: ``get(a, b)`` for non-decreasing `a`."""

    def __init__(self, blocks: Iterator[np.ndarray], channels: int) -> None:
        self._it = blocks
        self._buf = np.zeros((0, channels), np.float32)
        self._start = 0  # absolute index of _buf[0]
        self._done = False
        self.channels = channels

    def get(self, a: int, b: int) -> np.ndarray:
        a = max(a, 0)
        if a > self._start:  # drop what is no longer needed
            drop = min(a - self._start, len(self._buf))
            self._buf = self._buf[drop:]
            self._start += drop
        while not self._done and self._start + len(self._buf) < b:
            try:
                blk = next(self._it)
            except StopIteration:
                self._done = True
                break
            if self._start + len(self._buf) + len(blk) <= a:  # wholly before what is asked: never kept
                self._start += len(self._buf) + len(blk)
                self._buf = self._buf[:0]
                continue
            self._buf = np.concatenate([self._buf, blk]) if len(self._buf) else blk
        lo = a - self._start
        hi = min(b - self._start, len(self._buf))
        return self._buf[lo:hi] if hi > lo else np.zeros((0, self.channels), np.float32)


def plan_pieces(tmap: TimeMap, rate: int) -> list[tuple[int, int, float, int, int, int, int, int]]:
    """For each piece: (input from, input to (padded), speed, output start of the padded input, keep from,
    keep to, fade-in length, fade-out length) in samples.

    The kept ranges tile ``[round(dst[0]*rate), round(dst[-1]*rate))``: two neighbours overlap by their join,
    a crossfade centred on their breakpoint, ``JOIN_S`` long at most and never longer than half of either
    piece (the whole of the first or the last one), so no two joins overlap and every output sample is one
    piece, or two crossfading. A piece shorter than a sample is left to its neighbours."""
    join = round(float(JOIN_S * rate / 2))
    pad = round(float(PAD_S * rate))
    n_in_end = round(float(tmap.src[-1] * rate))
    n_in_start = round(float(tmap.src[0] * rate))
    ks = [
        k
        for k in range(tmap.pieces)
        if tmap.src[k + 1] > tmap.src[k]
        and tmap.dst[k + 1] > tmap.dst[k]
        and round(float(tmap.dst[k + 1] * rate)) > round(float(tmap.dst[k] * rate))
    ]
    if not ks:
        return []
    # output boundaries: the first piece from the map's start, each piece up to the next one's start
    bounds = [round(float(tmap.dst[0] * rate))]
    bounds += [round(float(tmap.dst[k] * rate)) for k in ks[1:]]
    bounds.append(round(float(tmap.dst[-1] * rate)))
    n = len(ks)
    half = [0] * (n + 1)  # the join's half length at each boundary (none at the two ends)
    for i in range(1, n):
        left = bounds[i] - bounds[i - 1]
        right = bounds[i + 1] - bounds[i]
        half[i] = min(join, left if i == 1 else left // 2, right if i == n - 1 else right // 2)
    out = []
    for i, k in enumerate(ks):
        s0, d0 = tmap.src[k], tmap.dst[k]
        s1 = tmap.src[ks[i + 1]] if i + 1 < n else tmap.src[-1]
        speed = float((tmap.src[k + 1] - s0) / (tmap.dst[k + 1] - d0))
        a = max(n_in_start, math.floor(s0 * rate) - pad)
        b = min(n_in_end, math.ceil(s1 * rate) + pad)
        out_start = round(float((d0 - (s0 - a / rate) / speed) * rate))
        keep_from, keep_to = bounds[i] - half[i], bounds[i + 1] + half[i + 1]
        out.append((a, b, speed, out_start, keep_from, keep_to, 2 * half[i], 2 * half[i + 1]))
    return out


class Pending(Protocol):
    """A stretched piece on its way: a ``concurrent.futures.Future`` or one already done."""

    def result(self) -> np.ndarray: ...


Submit = Callable[[Callable[[], np.ndarray]], Pending]
"""``ThreadPoolExecutor.submit``: runs a piece's stretch on a pool."""


def stretched_stream(
    blocks: Iterator[np.ndarray],
    channels: int,
    rate: int,
    tmap: TimeMap,
    submit: Submit | None = None,
    *,
    max_in_flight: int = 4,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (output start sample, block) covering ``[round(dst[0]*rate), round(dst[-1]*rate))`` in order.

    `blocks` is the song at `rate` from input sample 0. `submit(fn)` runs fn on a pool and returns a
    future (``.result()``); None runs in this thread."""
    window = Window(blocks, channels)
    plan = plan_pieces(tmap, rate)
    pad = round(PAD_S * rate)
    first_in = round(float(tmap.src[0] * rate))
    last_in = round(float(tmap.src[-1] * rate))

    def launch(p: tuple[int, int, float, int, int, int, int, int]) -> Pending:
        a, b, speed, *_ = p
        audio = window.get(a, b).copy()
        # at the song's start and end there is no audio to pad with: pad with silence, so Rubber Band's
        # start-up and ending happen outside the part we keep
        pre = pad if a <= first_in else 0
        post = pad if b >= last_in else 0
        if submit is None:
            return _Done(_stretch_padded(audio, rate, speed, pre, post))
        return submit(lambda: _stretch_padded(audio, rate, speed, pre, post))

    cursor = round(float(tmap.dst[0] * rate))
    end = round(float(tmap.dst[-1] * rate))
    acc = np.zeros((0, channels), np.float32)  # output samples [cursor, cursor + len(acc)) still open
    queue = iter(plan)
    pending = [(p, launch(p)) for p in itertools.islice(queue, max(1, max_in_flight))]
    while pending:
        p, fut = pending.pop(0)
        nxt = next(queue, None)
        if nxt is not None:
            pending.append((nxt, launch(nxt)))
        y = fut.result()
        _a, _b, _speed, out_start, keep_from, keep_to, fade_in, fade_out = p
        lo, hi = keep_from - out_start, keep_to - out_start
        seg = np.zeros((keep_to - keep_from, channels), np.float32)
        src_lo, src_hi = max(lo, 0), min(hi, len(y))
        if src_hi > src_lo:
            seg[src_lo - lo : src_hi - lo] = y[src_lo:src_hi]
        # equal-gain joins: this piece's fade-in sums to one with the previous piece's fade-out, already in acc
        if fade_in:
            seg[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)[:, None]
        if fade_out:
            seg[len(seg) - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)[:, None]
        off = keep_from - cursor  # >= 0: the kept ranges start in order
        if off + len(seg) > len(acc):
            acc = np.concatenate([acc, np.zeros((off + len(seg) - len(acc), channels), np.float32)])
        acc[off : off + len(seg)] += seg
        # everything before the next piece's kept range is final
        ready = (pending[0][0][4] if pending else end) - cursor
        if ready > 0:
            yield cursor, acc[:ready]
            acc = acc[ready:]
            cursor += ready
    if cursor < end:  # no piece (a map shorter than a sample per piece): silence, the range still covered
        yield cursor, np.zeros((end - cursor, channels), np.float32)


class _Done:
    def __init__(self, value: np.ndarray) -> None:
        self._value = value

    def result(self) -> np.ndarray:
        return self._value
