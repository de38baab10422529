"""BS.1770 loudness in a stream (against pyloudnorm) and the true-peak limiter (music/loudness.py)."""

from __future__ import annotations

import numpy as np
import pytest

from extra_deps import require_extra

require_extra("music")  # skipped when not installed; a broken install fails

import pyloudnorm  # noqa: E402
from scipy import signal  # noqa: E402

from cadencecoach.music.loudness import (  # noqa: E402
    LoudnessMeter,
    TruePeakLimiter,
    integrated_loudness,
    true_peak_db,
    true_peak_envelope,
)

SR = 44100


def music_like(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Stereo noise low-passed at 12 kHz with a slow level change (like music: little energy near Nyquist)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(seconds * SR), 2))
    b, a = signal.butter(6, 12000 / (SR / 2))
    x = signal.lfilter(b, a, x, axis=0)
    x *= (0.6 + 0.4 * np.sin(np.linspace(0, 9, len(x))))[:, None]
    return (x * level).astype(np.float32)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_streamed_loudness_equals_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((rate * 12, 2)) * 0.1).astype(np.float32)
    x[: rate * 3] *= 0.003  # a quiet intro, gated out
    meter = LoudnessMeter(rate, 2)
    for i in range(0, len(x), 7919):  # odd block size: sub-blocks straddle blocks
        meter.feed(x[i : i + 7919])
    ref = pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64))
    assert meter.integrated() == pytest.approx(ref, abs=0.02)
    assert integrated_loudness(x[:, 0], rate) == pytest.approx(
        pyloudnorm.Meter(rate).integrated_loudness(x[:, 0]), abs=0.02
    )


def test_silence_is_minus_infinity() -> None:
    assert integrated_loudness(np.zeros((SR * 2, 2), np.float32), SR) == -np.inf
    assert integrated_loudness(np.zeros((100, 2), np.float32), SR) == -np.inf


def test_true_peak_sees_between_the_samples() -> None:
    t = np.arange(4000)
    x = np.sin(2 * np.pi * t / 4 + np.pi / 4).astype(np.float32)  # fs/4 at 45 degrees: samples at 0.707
    assert float(np.abs(x).max()) == pytest.approx(0.7071, abs=1e-3)
    env = true_peak_envelope(np.pad(x, 6)[:, None])
    assert env.max() == pytest.approx(1.0, abs=0.02)
    assert true_peak_db(x) == pytest.approx(0.0, abs=0.15)


def _limit(x: np.ndarray, block: int, **kw: float) -> tuple[np.ndarray, TruePeakLimiter]:
    lim = TruePeakLimiter(SR, x.shape[1], **kw)
    parts = [lim.process(x[i : i + block]) for i in range(0, len(x), block)]
    parts.append(lim.flush())
    return np.concatenate(parts), lim


def test_limiter_holds_the_true_peak_ceiling() -> None:
    x = music_like(8, 0.6)
    assert true_peak_db(x) > 3.0
    y, lim = _limit(x, 65536, ceiling_db=-1.0)
    assert len(y) == len(x)
    assert true_peak_db(y) <= -1.0 + 0.05
    assert lim.max_reduction_db < -3.0
    # a limiter, not a compressor: where the input was far below the ceiling, the gain is back at 1
    quiet = np.abs(x).max(axis=1) < 0.05
    assert np.median(np.abs(y[quiet] / np.where(x[quiet] == 0, 1, x[quiet]))) > 0.6


def test_limiter_does_not_touch_quiet_audio_and_any_block_size_gives_the_same_output() -> None:
    x = music_like(3, 0.05)
    y, lim = _limit(x, 4096)
    np.testing.assert_array_equal(y, x)
    assert lim.max_reduction_db == 0.0
    loud = music_like(3, 0.5, seed=2)
    a, _ = _limit(loud, 65536)
    b, _ = _limit(loud, 777)
    np.testing.assert_allclose(a, b, atol=1e-4)
