"""Onset strength, streamed: log-compressed band spectral flux at 86 frames per second.

The audio (mono, any rate) is resampled to 22050 Hz; frames of 1024 samples (Hann) every 256 samples
(11.6 ms), centred on their time (frame ``i`` is centred on ``i * 256 / 22050`` s). The magnitude spectrum is
pooled into 48 log-spaced bands (40 Hz-10 kHz), compressed with ``log(1 + 100 |X|)`` and the positive
frame-to-frame differences are summed: the classic spectral-flux onset detector. The bands below 200 Hz
give a second envelope (kick drums and bass notes) used to find the bars' first beats.

Memory: a few numbers per frame (about 1 KiB per second of audio); the audio itself is never kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr

AN_SR = 22050
N_FFT = 1024
HOP = 256
FPS = AN_SR / HOP
N_BANDS = 48
F_MIN, F_MAX = 40.0, 10000.0
LOW_HZ = 200.0
COMPRESSION = 100.0
_BATCH = 2048  # frames per FFT batch


def _band_matrix() -> tuple[np.ndarray, int]:
    """Triangular, area-normalised band filters (bins x bands) and the number of low bands."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / AN_SR)
    edges = np.geomspace(F_MIN, F_MAX, N_BANDS + 2)
    w = np.zeros((len(freqs), N_BANDS), np.float32)
    for b in range(N_BANDS):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        tri = np.maximum(0.0, np.minimum(up, down))
        if tri.sum() == 0:  # a band narrower than a bin: take the nearest bin
            tri[int(np.argmin(np.abs(freqs - mid)))] = 1.0
        w[:, b] = tri / tri.sum()
    low = int(np.sum(edges[1:-1] < LOW_HZ))
    return w, max(low, 1)


_BANDS, _N_LOW = _band_matrix()
_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
_NORM = np.float32(2.0 / _WINDOW.sum())


@dataclass
class Envelopes:
    """Per-frame features of a whole song (frame ``i`` at ``i / FPS`` seconds)."""

    onset: np.ndarray  # float32 spectral flux, all bands
    low: np.ndarray  # float32 spectral flux, bands below 200 Hz
    energy_db: np.ndarray  # float32 frame level, dB (full-scale sine: about 0 dB)

    def __len__(self) -> int:
        return len(self.onset)


class OnsetStream:
    """Feed mono blocks at ``rate`` with :meth:`feed`; :meth:`finish` returns the :class:`Envelopes`."""

    def __init__(self, rate: int) -> None:
        self._resampler = None if rate == AN_SR else soxr.ResampleStream(rate, AN_SR, 1, dtype="float32", quality="HQ")
        self._buf = np.zeros(N_FFT // 2, np.float32)  # centred frames: half a window of zeros first
        self._prev: np.ndarray | None = None
        self._onset: list[np.ndarray] = []
        self._low: list[np.ndarray] = []
        self._energy: list[np.ndarray] = []

    def feed(self, mono: np.ndarray, last: bool = False) -> None:
        x = np.asarray(mono, np.float32)
        if self._resampler is not None:
            x = self._resampler.resample_chunk(x, last=last)
        if last:
            x = np.concatenate([x, np.zeros(N_FFT // 2, np.float32)])
        self._buf = np.concatenate([self._buf, x]) if len(self._buf) else x
        n_frames = (len(self._buf) - N_FFT) // HOP + 1
        if n_frames <= 0:
            return
        for f0 in range(0, n_frames, _BATCH):
            f1 = min(n_frames, f0 + _BATCH)
            view = np.lib.stride_tricks.sliding_window_view(self._buf[f0 * HOP : (f1 - 1) * HOP + N_FFT], N_FFT)[::HOP]
            self._frames(view)
        self._buf = self._buf[n_frames * HOP :].copy()

    def _frames(self, frames: np.ndarray) -> None:
        mag = np.abs(scipy.fft.rfft(frames * _WINDOW, axis=1, overwrite_x=True)) * _NORM
        bands = mag @ _BANDS
        log = np.log1p(COMPRESSION * bands)
        prev = np.zeros_like(log[:1]) if self._prev is None else self._prev  # silence before the file
        diff = np.diff(np.concatenate([prev, log]), axis=0)
        np.maximum(diff, 0.0, out=diff)
        self._onset.append(diff.sum(axis=1).astype(np.float32))
        self._low.append(diff[:, :_N_LOW].sum(axis=1).astype(np.float32))
        power = (mag * mag).sum(axis=1) * 0.5
        self._energy.append((10.0 * np.log10(power + 1e-12)).astype(np.float32))
        self._prev = log[-1:]

    def finish(self) -> Envelopes:
        self.feed(np.zeros(0, np.float32), last=True)

        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, np.float32)

        return Envelopes(cat(self._onset), cat(self._low), cat(self._energy))


def envelopes(mono: np.ndarray, rate: int) -> Envelopes:
    """The envelopes of a whole mono signal at once (tests, short clips)."""
    stream = OnsetStream(rate)
    for i in range(0, len(mono), 1 << 16):
        stream.feed(mono[i : i + (1 << 16)])
    return stream.finish()
