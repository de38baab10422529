"""A recorded activity played back as if it were a footpod: :class:`ReplaySensor`.

Pull-based, no thread: the replay is driven by a playback clock (seconds since the run began: the player's heard
position, so a paused run pauses the replay and a test is deterministic; by default :func:`time.monotonic`
since :meth:`~ReplaySensor.start`). Each :meth:`~ReplaySensor.drain` returns the samples that have come due
since the last one, from an index into the activity's arrays (nothing is copied or built up front), so memory
stays that of the :class:`~cadencecoach.activity.model.Activity` itself.

The sensor's clock (:attr:`ReplaySensor.clock`, and every :attr:`Reading.at`) is the activity's own time,
``t[0] + offset_s + playback``: a reading's ``at`` is its sample's ``t``. A stretch of the file without samples
(a watch paused, a lost signal) gives no readings, just as a footpod falling silent would. Distance is the
activity's running total minus its first recorded value from the replay's start on: the replay is a footpod
switched on where the replay starts (``offset_s`` into the activity).

Examples
--------
>>> import numpy as np
>>> from cadencecoach.activity.model import Activity
>>> t = np.arange(4.0)
>>> nan = np.full(4, np.nan)
>>> run = Activity("run.csv", "csv", t, np.array([170.0, 172, np.nan, 174]), np.full(4, 3.0), 100 + 3 * t, nan)
>>> now = [0.0]
>>> replay = ReplaySensor(run, clock=lambda: now[0])
>>> replay.start()
>>> [(e.at, e.state) if isinstance(e, Status) else (e.at, e.cadence, e.distance) for e in replay.drain()]
[(0.0, 'connected'), (0.0, 170.0, 0.0)]
>>> now[0] = 2.5
>>> [(e.at, e.cadence, e.distance) for e in replay.drain()]
[(1.0, 172.0, 3.0), (2.0, None, 6.0)]
>>> now[0] = 10.0
>>> [e.state if isinstance(e, Status) else e.at for e in replay.drain()], replay.drain()
([3.0, 'ended'], [])
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import PurePath

import numpy as np

from cadencecoach.activity.model import Activity
from cadencecoach.sensors.source import MAX_PENDING, Event, Reading, Sensor, Status
from cadencecoach.terminal import bounded_text
from cadencecoach.workout.units import format_clock

__all__ = ["ReplayError", "ReplaySensor"]


class ReplayError(ValueError):
    """An activity that cannot be replayed (no samples from the offset on, times out of order, a bad offset)."""


def _value(x: float) -> float | None:
    return x if math.isfinite(x) else None


class ReplaySensor(Sensor):
    """Plays `activity` on `clock` (seconds of playback; None: :func:`time.monotonic` since :meth:`start`),
    starting `offset_s` seconds into it.

    :meth:`drain` returns a ``connected`` :class:`Status` first, then a :class:`Reading` for every sample whose
    ``t`` has come (``t <= clock()``; NaN fields are None), then an ``ended`` Status once after the last one.
    A drain that finds more than `max_drain` samples due (the clock jumped ahead) returns the latest
    `max_drain` of them, as a full sensor buffer would. A clock that goes back returns nothing new until it
    passes the last sample returned.
    """

    def __init__(
        self,
        activity: Activity,
        *,
        clock: Callable[[], float] | None = None,
        offset_s: float = 0.0,
        name: str | None = None,
        max_drain: int = MAX_PENDING,
    ) -> None:
        if not (isinstance(offset_s, (int, float)) and math.isfinite(offset_s) and offset_s >= 0):
            raise ReplayError(f"the replay's offset must be 0 s or more, not {offset_s}")
        t = np.asarray(activity.t, dtype=np.float64)
        if len(t) == 0:
            raise ReplayError("the activity has no samples")
        if not np.isfinite(t).all() or bool((np.diff(t) < 0).any()):
            raise ReplayError("the activity's times are not in order")
        t0 = float(t[0])
        first = int(np.searchsorted(t, t0 + offset_s, side="left"))
        if first >= len(t):
            raise ReplayError(
                f"the offset {format_clock(offset_s)} is past the activity's end ({format_clock(activity.duration_s)})"
            )
        source = bounded_text(PurePath(activity.source).name or activity.source, 80)
        super().__init__(name or f"replay {source}", self._now)
        self.activity = activity
        self.offset_s = float(offset_s)
        self._t = t
        self._playback = clock
        self._origin = t0 + float(offset_s)  # the activity's time at playback 0
        self._next = first  # the next sample to return
        distances = activity.distance[first:]
        finite = np.flatnonzero(np.isfinite(distances))
        self._distance_base = float(distances[finite[0]]) if len(finite) else 0.0
        self._max_drain = max(1, int(max_drain))
        self._started_at: float | None = None
        self._announced = False
        self._ended = False
        self._stopped = False
        missing = [what for what in ("cadence", "speed", "distance") if not activity.has(what)]
        start = f" from {format_clock(offset_s)}" if offset_s else ""
        self.detail = f"{source}{start}" + (f" (no {', no '.join(missing)} in the file)" if missing else "")

    def _now(self) -> float:
        """The activity's time now: where playback is (0 before :meth:`start`)."""
        if self._started_at is None:
            return self._origin
        playback = self._playback() if self._playback is not None else time.monotonic() - self._started_at
        return self._origin + playback

    def start(self) -> None:
        """Start playing (again after :meth:`stop`: no; a stopped replay stays stopped)."""
        if self._started_at is None and not self._stopped:
            self._started_at = time.monotonic()

    def stop(self) -> None:
        """Stop for good (idempotent): :meth:`drain` returns nothing more."""
        self._stopped = True

    def drain(self) -> list[Event]:
        """The events due since the last call (see the class); ``[]`` before :meth:`start` and after
        :meth:`stop`."""
        if self._started_at is None or self._stopped:
            return []
        now = self.clock()
        out: list[Event] = []
        if not self._announced:
            self._announced = True
            out.append(Status(now, "connected", self.detail))
        t = self._t
        if self._next < len(t):
            due = int(np.searchsorted(t, now, side="right"))
            start = max(self._next, due - self._max_drain)
            a = self.activity
            for i in range(start, due):
                distance = _value(float(a.distance[i]))
                out.append(
                    Reading(
                        at=float(t[i]),
                        cadence=_value(float(a.cadence[i])),
                        speed=_value(float(a.speed[i])),
                        distance=None if distance is None else max(0.0, distance - self._distance_base),
                    )
                )
            self._next = max(self._next, due)
        if self._next >= len(t) and not self._ended:
            self._ended = True
            out.append(Status(now, "ended", f"{self.detail}: the recording ended"))
        return out
