"""Loudness (ITU-R BS.1770-4) measured in a stream, and a streamed true-peak limiter.

:class:`LoudnessMeter` applies pyloudnorm's K-weighting filters (high shelf + high pass, their
coefficients for the sample rate) with carried filter state, keeps one mean square per channel per 100 ms,
and gates the 400 ms blocks (75 % overlap) at -70 LUFS and then 10 LU below the mean, as the standard
says; it agrees with ``pyloudnorm.Meter.integrated_loudness`` (see tests) without holding the audio.

:class:`TruePeakLimiter` keeps the *true peak* (the peak of the 4x oversampled signal, BS.1770-4 Annex 2)
below a ceiling. Its gain (in dB) is the required reduction, released at most ``release_db_per_s``
(``y[n] = min(r[n], y[n-1] + rate)``, computed for a whole block as a cumulative minimum), then held by a
minimum filter over the look-ahead and smoothed by a moving average of the same length: the average of
values that are each below the requirement at ``n`` is below it, so the ceiling holds and the gain ramps
smoothly over the look-ahead before every peak. A final clip at the ceiling guards numerical corner cases.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, signal

ABS_GATE = -70.0
REL_GATE = -10.0


def _k_weighting_sos(rate: int) -> np.ndarray:
    """pyloudnorm's K-weighting stages for `rate` as second-order sections (b0 b1 b2 a0 a1 a2)."""
    from cadencecoach import extras

    pyloudnorm = extras.load("pyloudnorm", "loudness measurement")

    try:
        filters = list(pyloudnorm.Meter(rate)._filters.values())
    except AttributeError:  # a pyloudnorm without the private attribute: its public filter class, same stages
        from pyloudnorm import IIRfilter

        filters = [
            IIRfilter(4.0, 1 / math.sqrt(2), 1500.0, rate, "high_shelf"),
            IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"),
        ]
    stages = [np.concatenate([np.asarray(f.b, np.float64), np.asarray(f.a, np.float64)]) for f in filters]
    return np.asarray(stages, np.float64)


class LoudnessMeter:
    """Integrated loudness of a stream: ``feed((n, ch) blocks)``, then :meth:`integrated`."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = int(rate)
        self.channels = int(channels)
        self._sos = _k_weighting_sos(self.rate)
        self._zi = np.zeros((self._sos.shape[0], 2, self.channels))
        self._sub: list[np.ndarray] = []  # (channels,) mean squares of complete 100 ms sub-blocks
        self._acc = np.zeros(self.channels)
        self._in_sub = 0
        self._k = 0  # index of the current sub-block
        self._sub_len = self._bound(1)

    def _bound(self, k: int) -> int:
        return round(float(k * 0.1 * self.rate)) - round(float((k - 1) * 0.1 * self.rate))

    def feed(self, block: np.ndarray) -> None:
        x = np.asarray(block, np.float64)
        if x.ndim == 1:
            x = x[:, None]
        y, self._zi = signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        sq = y * y
        pos = 0
        n = len(sq)
        while pos < n:
            take = min(self._sub_len - self._in_sub, n - pos)
            self._acc += sq[pos : pos + take].sum(axis=0)
            self._in_sub += take
            pos += take
            if self._in_sub == self._sub_len:
                self._sub.append(self._acc.copy())
                self._acc[:] = 0.0
                self._in_sub = 0
                self._k += 1
                self._sub_len = self._bound(self._k + 1)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS; ``-inf`` for silence or less than 0.4 s."""
        if len(self._sub) < 4:
            return -math.inf
        s = np.asarray(self._sub)
        z = (s[:-3] + s[1:-2] + s[2:-1] + s[3:]) / (0.4 * self.rate)
        power = z.sum(axis=1)
        with np.errstate(divide="ignore"):
            lj = -0.691 + 10.0 * np.log10(power)
        above = lj >= ABS_GATE
        if not np.any(above):
            return -math.inf
        rel = -0.691 + 10.0 * math.log10(float(power[above].mean())) + REL_GATE
        keep = above & (lj > rel)
        if not np.any(keep):
            return -math.inf
        return -0.691 + 10.0 * math.log10(float(power[keep].mean()))


def integrated_loudness(x: np.ndarray, rate: int) -> float:
    """BS.1770 integrated loudness of a whole signal ((n,) or (n, ch))."""
    x2 = x[:, None] if x.ndim == 1 else x
    meter = LoudnessMeter(rate, x2.shape[1])
    meter.feed(x2)
    return meter.integrated()


# ----------------------------------------------------------------------------------- true peak

OVERSAMPLE = 4
_TAPS_PER_PHASE = 12


def _phases() -> np.ndarray:
    """Interpolation filters (rows) for the points n + 1/4, n + 2/4, n + 3/4 from x[n-5] .. x[n+6]."""
    h = signal.firwin(OVERSAMPLE * _TAPS_PER_PHASE + 1, 1.0 / OVERSAMPLE, window=("kaiser", 8.0)) * OVERSAMPLE
    centre = OVERSAMPLE * _TAPS_PER_PHASE // 2
    offsets = range(1 - _TAPS_PER_PHASE // 2, _TAPS_PER_PHASE // 2 + 1)
    return np.asarray([[h[centre + k - OVERSAMPLE * o] for o in offsets] for k in range(1, OVERSAMPLE)])


_PHASES = _phases()
_PHASES32 = _PHASES.astype(np.float32)
_HALF = _TAPS_PER_PHASE // 2  # taps before/after the interpolated position
_BOUND = float(np.abs(_PHASES).sum(axis=1).max())  # |interpolated| <= _BOUND * local max |x|


def _abs_max(x: np.ndarray) -> np.ndarray:
    """max over channels of |x| for (n, ch) input (faster than ``abs().max(axis=1)`` for few channels)."""
    out = np.abs(x[:, 0])
    for ch in range(1, x.shape[1]):
        np.maximum(out, np.abs(x[:, ch]), out=out)
    return out


def true_peak_envelope(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per-sample true peak of the inner ``n`` samples of ``(n + 2 * _HALF, ch)`` input: the largest magnitude
    among the sample and the interpolated points on either side of it. Blocks whose every interpolated
    point must stay below `floor` are not interpolated (their sample peak is returned)."""
    n = len(x) - 2 * _HALF
    if n <= 0:
        return np.zeros(0)
    mag = _abs_max(x)
    peak = mag[_HALF : _HALF + n].astype(np.float64)
    if float(mag.max()) * _BOUND <= floor:
        return peak
    after = np.zeros(n, np.float32)
    for k in range(OVERSAMPLE - 1):
        v = ndimage.correlate1d(x, _PHASES32[k], axis=0, mode="constant")  # v[j] = interp. after x[j - 1]
        np.maximum(after, _abs_max(v[_HALF + 1 : _HALF + 1 + n]), out=after)
    np.maximum(peak, after, out=peak)
    np.maximum(peak[1:], after[:-1], out=peak[1:])  # the point just before a sample counts for it too
    return peak


SAFETY_DB = 0.1  # detection margin: a 12-tap interpolator reads peaks a little low near Nyquist
_MARGIN = 10 ** (-SAFETY_DB / 20)


class TruePeakLimiter:
    """Streamed look-ahead limiter: ``process(block)`` returns output aligned with the input (the first
    calls return fewer frames), ``flush()`` the rest; in total exactly as many frames as went in."""

    def __init__(
        self,
        rate: int,
        channels: int,
        ceiling_db: float = -1.0,
        lookahead_s: float = 0.005,
        release_db_per_s: float = 20.0,
    ) -> None:
        self.channels = channels
        self.ceiling_db = float(ceiling_db)
        self.ceiling = 10 ** (ceiling_db / 20)
        self.look = max(3, round(float(lookahead_s * rate)) | 1)  # odd
        self.rel = release_db_per_s / rate
        self._x = np.zeros((_HALF, channels), np.float32)  # input context: _HALF samples before the next one
        self._pending = np.zeros((0, channels), np.float32)  # input samples with a gain, not yet output
        self._y1_prev = 0.0  # release-limited gain (dB) of the last sample with a gain
        self._y1 = np.zeros(0)  # release-limited gains of the pending samples
        self._g1_hist: np.ndarray | None = None  # held gains of the last samples output (for the average)
        self.max_reduction_db = 0.0

    def _required(self, x: np.ndarray) -> np.ndarray:
        tp = true_peak_envelope(x, self.ceiling * _MARGIN)
        with np.errstate(divide="ignore"):
            r = self.ceiling_db - SAFETY_DB - 20.0 * np.log10(np.maximum(tp, 1e-12))
        return np.minimum(r, 0.0)

    def _release(self, r: np.ndarray) -> np.ndarray:
        """y[n] = min(r[n], y[n-1] + rel), from the carried y[-1]."""
        k = np.arange(1, len(r) + 1) * self.rel
        y = np.minimum(np.minimum.accumulate(r - k), self._y1_prev) + k
        if len(y):
            self._y1_prev = float(y[-1])
        return y

    def _step(self, final: bool) -> np.ndarray:
        x = self._x
        if final:
            x = np.concatenate([x, np.zeros((_HALF, self.channels), np.float32)])
        n_new = len(x) - 2 * _HALF
        if n_new > 0:
            self._y1 = np.concatenate([self._y1, self._release(self._required(x))])
            self._pending = np.concatenate([self._pending, x[_HALF : _HALF + n_new]])
            self._x = x[n_new:]
        y1 = self._y1
        if final:  # no more peaks ahead: pad the look-ahead with "no reduction"
            y1 = np.concatenate([y1, np.zeros(self.look - 1)])
        m = len(y1) - (self.look - 1)
        if m <= 0:
            return np.zeros((0, self.channels), np.float32)
        g1 = ndimage.minimum_filter1d(y1, size=self.look, origin=-(self.look // 2), mode="nearest")[:m]
        if self._g1_hist is None:  # before the first sample: as if already at its gain (no ramp from 0 dB)
            self._g1_hist = np.full(self.look - 1, g1[0])
        both = np.concatenate([self._g1_hist, g1])
        c = np.concatenate([[0.0], np.cumsum(both)])
        g2 = (c[self.look :] - c[: -self.look]) / self.look
        self._g1_hist = both[-(self.look - 1) :]
        self._y1 = self._y1[m:]
        out = self._pending[:m]
        self._pending = self._pending[m:]
        self.max_reduction_db = min(self.max_reduction_db, float(g2.min()))
        y = out * np.power(10.0, g2 / 20.0).astype(np.float32)[:, None]
        np.clip(y, -self.ceiling, self.ceiling, out=y)
        return y

    def process(self, block: np.ndarray) -> np.ndarray:
        b = np.asarray(block, np.float32)
        if b.ndim == 1:
            b = b[:, None]
        self._x = np.concatenate([self._x, b])
        return self._step(final=False)

    def flush(self) -> np.ndarray:
        return self._step(final=True)


def true_peak_db(x: np.ndarray) -> float:
    """True peak (dBTP) of a whole signal by 4x polyphase oversampling (for checks and tests)."""
    x2 = x[:, None] if x.ndim == 1 else x
    up = signal.resample_poly(x2.astype(np.float64), OVERSAMPLE, 1, axis=0)
    peak = float(np.abs(up).max()) if len(up) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf
