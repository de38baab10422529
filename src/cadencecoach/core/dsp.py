"""Sample-level helpers for cue audio: mono float32 arrays in, mono float32 arrays out (numpy only).

Used by :mod:`cadencecoach.speech` on what a text-to-speech engine returns: :func:`trim_silence` cuts the
quiet ends, :func:`fade_edges` puts raised-cosine ramps on them, :func:`normalize_peak` sets the level,
and :func:`fit_duration` (with :func:`time_stretch`, a WSOLA pitch-preserving speed-up) makes a countdown
word fit its second. Resampling needs soxr and lives with the speech code, not here.

Every function takes anything :func:`as_mono` accepts (1-D, or ``(frames, channels)`` which is averaged)
and raises ``ValueError`` for other shapes.

Examples
--------
>>> import numpy as np
>>> x = np.zeros(1000, np.float32)
>>> x[500] = 0.5
>>> trim_silence(x, 1000, margin_s=0.01).size  # the loud sample and 10 ms either side
21
>>> y = normalize_peak(fit_duration(np.full(2000, 0.25, np.float32), 1000, 1.0), 0.7)
>>> y.size, round(float(np.abs(y).max()), 6)
(1000, 0.7)
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "TRIM_MARGIN_S",
    "TRIM_THRESHOLD_DB",
    "TRUNCATE_FADE_S",
    "Audio",
    "as_mono",
    "fade_edges",
    "fit_duration",
    "normalize_peak",
    "time_stretch",
    "trim_silence",
]

Audio = npt.NDArray[np.float32]
"""Mono float32 samples."""

TRIM_THRESHOLD_DB = -45.0
"""Samples quieter than this (relative to the cue's peak) at either end are silence."""

TRIM_MARGIN_S = 0.010
"""Silence kept before the first and after the last loud sample."""

TRUNCATE_FADE_S = 0.010
"""The fade-out :func:`fit_duration` puts on a cue it has to cut short."""


def as_mono(audio: npt.ArrayLike) -> Audio:
    """`audio` as a contiguous 1-D float32 array: channels averaged, NaN and infinities made 0.

    Parameters
    ----------
    audio
        1-D samples, or ``(frames, channels)``.

    Returns
    -------
    numpy.ndarray
        float32, 1-D, C-contiguous (the input itself when it already is all that).

    Raises
    ------
    ValueError
        For any other number of dimensions.
    """
    x: Audio = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = np.asarray(x.mean(axis=1, dtype=np.float32), dtype=np.float32)
    elif x.ndim != 1:
        raise ValueError(f"expected mono or (frames, channels) audio, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(x, dtype=np.float32)


def trim_silence(
    audio: npt.ArrayLike,
    sample_rate: int,
    threshold_db: float = TRIM_THRESHOLD_DB,
    margin_s: float = TRIM_MARGIN_S,
) -> Audio:
    """Cut leading and trailing samples quieter than ``threshold_db`` relative to the peak.

    ``margin_s`` of the cut audio is kept on each side. All-silent (or empty) audio becomes empty.
    """
    x = as_mono(audio)
    if x.size == 0:
        return x
    magnitude = np.abs(x)
    peak = float(magnitude.max())
    if peak <= 0.0:
        return x[:0]
    loud = np.flatnonzero(magnitude > peak * 10.0 ** (threshold_db / 20.0))
    margin = round(margin_s * sample_rate)
    start = max(int(loud[0]) - margin, 0)
    end = min(int(loud[-1]) + 1 + margin, x.size)
    return x[start:end].copy()


def fade_edges(x: Audio, fade_in: int, fade_out: int) -> None:
    """Raised-cosine fades over the first ``fade_in`` and last ``fade_out`` samples of `x`, in place."""
    n = x.size
    for length, at_end in ((fade_in, False), (fade_out, True)):
        length = min(length, n)
        if length <= 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)
        if at_end:
            x[n - length :] *= ramp[::-1]
        else:
            x[:length] *= ramp


def normalize_peak(x: Audio, peak: float) -> Audio:
    """Scale `x` in place so its largest magnitude is `peak` (silence and empty audio stay as they are);
    returns `x`."""
    current = float(np.abs(x).max()) if x.size else 0.0
    if current > 0.0:
        x *= np.float32(peak / current)
    return x


def time_stretch(audio: npt.ArrayLike, sample_rate: int, speed: float) -> Audio:
    """Play ``audio`` ``speed`` times faster without changing its pitch (WSOLA).

    The result has ``round(len(audio) / speed)`` samples. Good for speech up to about 1.6x.
    """
    if not speed > 0.0 or not math.isfinite(speed):
        raise ValueError(f"speed must be a positive number, not {speed!r}")
    x = as_mono(audio)
    n_out = round(x.size / speed)
    if x.size == 0 or n_out == 0:
        return x[:0]
    frame = max(2 * round(0.015 * sample_rate), 4)  # 30 ms frames, 50 % overlap
    hop = frame // 2
    tolerance = max(round(0.008 * sample_rate), 1)  # +-8 ms search for the best-matching continuation
    analysis_hop = hop * speed
    n_frames = math.ceil(n_out / hop) + 2
    front = hop + tolerance
    needed = front - hop + round((n_frames - 1) * analysis_hop) + tolerance + 2 * frame + hop
    xp = np.zeros(max(needed, front + x.size), dtype=np.float64)
    xp[front : front + x.size] = x
    window = np.hanning(frame + 1)[:frame]  # periodic Hann: sums to 1 at 50 % overlap
    y = np.zeros(n_frames * hop + frame, dtype=np.float64)
    weight = np.zeros_like(y)
    previous = -1
    for k in range(n_frames):
        nominal = front - hop + round(k * analysis_hop)
        if previous < 0:
            chosen = nominal
        else:
            template = xp[previous + hop : previous + hop + frame]
            region = xp[nominal - tolerance : nominal + tolerance + frame]
            score = np.correlate(region, template, mode="valid")
            chosen = nominal - tolerance + int(np.argmax(score))
        y[k * hop : k * hop + frame] += window * xp[chosen : chosen + frame]
        weight[k * hop : k * hop + frame] += window
        previous = chosen
    out = y[hop : hop + n_out] / np.maximum(weight[hop : hop + n_out], 1e-3)
    return out.astype(np.float32)


def fit_duration(audio: npt.ArrayLike, sample_rate: int, max_s: float, *, max_speedup: float = 1.6) -> Audio:
    """Make a cue last at most ``max_s`` seconds (e.g. a countdown word that must fit in one second).

    A cue that already fits is returned unchanged. A longer one is sped up without changing its pitch
    (:func:`time_stretch`) by up to ``max_speedup``; whatever is still too long is truncated with a
    10 ms fade-out (:data:`TRUNCATE_FADE_S`). The peak level is preserved.

    Parameters
    ----------
    audio
        The cue (see :func:`as_mono`).
    sample_rate
        Its sample rate.
    max_s
        The longest it may last, in seconds.
    max_speedup
        The fastest it may be played (values below 1 mean 1: never slowed down).

    Returns
    -------
    numpy.ndarray
        At most ``max(int(max_s * sample_rate), 1)`` float32 samples.

    Raises
    ------
    ValueError
        When ``max_s`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> fit_duration(np.full(300, 0.5, np.float32), 1000, 0.5).size  # fits already: unchanged
    300
    >>> fit_duration(np.full(3000, 0.5, np.float32), 1000, 1.0).size  # 1.6x faster, then cut
    1000
    """
    if not max_s > 0.0:
        raise ValueError(f"max_s must be positive, not {max_s!r}")
    x = as_mono(audio)
    limit = max(int(max_s * sample_rate), 1)
    if x.size <= limit:
        return x
    peak = float(np.abs(x).max())
    speed = min(x.size / limit, max(max_speedup, 1.0))
    if speed > 1.0 + 1e-6:
        x = time_stretch(x, sample_rate, speed)
    if x.size > limit:
        x = x[:limit].copy()
        fade_edges(x, 0, round(TRUNCATE_FADE_S * sample_rate))
    new_peak = float(np.abs(x).max()) if x.size else 0.0
    if new_peak > 0.0 and peak > 0.0:
        x *= np.float32(peak / new_peak)
    return x
