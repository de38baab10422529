"""Float samples to integer PCM: the one conversion every writer and encoder uses (scale, round, clip, cast)."""

from __future__ import annotations

import numpy as np

__all__ = ["quantize"]


def quantize(frames: np.ndarray, full_scale: float, scratch_f: np.ndarray, scratch_i: np.ndarray) -> np.ndarray:
    """Float frames in [-1, 1] to integer PCM in the preallocated scratch buffers: scale by `full_scale` (32767 for
    16 bits), round to nearest, clip, cast. Returns the filled part of ``scratch_i`` (as many rows as `frames`).

    >>> f, i = np.empty((4, 1), np.float32), np.empty((4, 1), np.int16)
    >>> quantize(np.array([[0.5], [-1.5], [1.0]], np.float32), 32767.0, f, i).ravel().tolist()
    [16384, -32767, 32767]
    """
    n = frames.shape[0]
    f = scratch_f[:n]
    np.multiply(frames, full_scale, out=f)
    np.rint(f, out=f)
    np.clip(f, -full_scale, full_scale, out=f)
    out = scratch_i[:n]
    np.copyto(out, f, casting="unsafe")
    return out
