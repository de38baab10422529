"""A recorded run, whatever file it came from: samples over time (cadence, speed, distance, heart rate) and
the laps the watch recorded.

Every reader (:mod:`.fit`, :mod:`.tcx`, :mod:`.gpx`, :mod:`.csvfile`) returns an :class:`Activity`; the sensor
replay (:mod:`cadencecoach.sensors.replay`) plays one as if it were a footpod, and :mod:`.review` compares one
with a workout. Units are fixed here, once: seconds from the start, steps per minute (both feet), metres per
second, metres, beats per minute; NaN where the file recorded nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
"""One value per sample, float64, NaN where absent."""

FIELDS = ("cadence", "speed", "distance", "heart_rate")


@dataclass(frozen=True)
class Lap:
    """A lap as the device recorded it: ``[start_s, end_s)`` in seconds from the activity's start."""

    start_s: float
    end_s: float
    distance_m: float | None = None  # the device's own figure (None: not recorded; use the samples)
    trigger: str | None = None  # "manual", "distance", "time", "session_end", ... as the file says


@dataclass(frozen=True)
class Activity:
    """Samples of one recorded activity.

    ``t`` is ascending (non-decreasing) seconds from the first sample (elapsed time, pauses included);
    every other array has the same length. ``cadence`` is always steps per minute, both feet: readers convert
    files that record strides (per leg, as Garmin does for running) and say so in ``notes``.
    """

    source: str  # the file as messages show it
    fmt: str  # "fit", "tcx", "gpx", "csv", "sensor"
    t: Floats
    cadence: Floats
    speed: Floats
    distance: Floats  # the running total, non-decreasing
    heart_rate: Floats
    laps: tuple[Lap, ...] = ()
    started_at: datetime | None = None  # wall time of t = 0 (timezone-aware, UTC), when the file says
    sport: str | None = None  # "running", ... as the file says
    notes: tuple[str, ...] = field(default=())  # what the reader did that a runner should know

    @property
    def duration_s(self) -> float:
        """Seconds from the first to the last sample (0 for fewer than two)."""
        return float(self.t[-1] - self.t[0]) if len(self.t) > 1 else 0.0

    def has(self, name: str) -> bool:
        """Whether any sample of `name` (one of :data:`FIELDS`) was recorded."""
        values: Floats = getattr(self, name)
        return bool(len(values)) and bool(np.isfinite(values).any())
