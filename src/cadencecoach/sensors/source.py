"""What a live run reads from a sensor: :class:`Reading` and :class:`Status` events, from a :class:`Sensor`.

A sensor (a Bluetooth footpod, :mod:`.ble`; a recorded activity played back, :mod:`.replay`) is started once,
then the main thread calls :meth:`Sensor.drain` as often as it likes: every event since the last call, in
order, without ever blocking. Threaded sensors push into a :class:`SensorBuffer` (a bounded deque: appends and
pops are atomic, so no lock is shared with the thread). Readings are stamped on the sensor's own clock,
:attr:`Sensor.clock`, so "how long since the last reading" is ``sensor.clock() - reading.at`` for any sensor.

The option ``--sensor`` is read by :func:`parse_sensor` (``ble``, ``ble:NAME_OR_ADDRESS``, ``replay:FILE``) and
opened by :func:`open_sensor`.

Examples
--------
>>> parse_sensor("ble:Stryd")
SensorSpec(kind='ble', target='Stryd')
>>> buffer = SensorBuffer()
>>> buffer.push(Status(0.0, "connected", "Stryd (C4:..)")); buffer.push(Reading(1.0, 170.0, 3.1, 12.5))
>>> [type(e).__name__ for e in buffer.drain()], buffer.drain()
(['Status', 'Reading'], [])
"""

from __future__ import annotations

import abc
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cadencecoach.errors import CoachError, UsageError
from cadencecoach.terminal import safe_text

__all__ = [
    "MAX_PENDING",
    "STATES",
    "Event",
    "Reading",
    "Sensor",
    "SensorBuffer",
    "SensorSpec",
    "SensorUnavailable",
    "Status",
    "open_sensor",
    "parse_sensor",
]

MAX_PENDING = 10_000
"""Events a sensor holds for the main thread at most (the oldest go first): ~15 minutes of 10 Hz readings."""

STATES = ("connected", "lost", "ended", "failed")
"""The :attr:`Status.state` values."""

MAX_TARGET = 248
"""The longest ``NAME_OR_ADDRESS`` (a Bluetooth device name is at most 248 bytes)."""


@dataclass(frozen=True)
class Reading:
    """One measurement: ``at`` is seconds on the sensor's clock (:attr:`Sensor.clock`); None where the sensor
    sends nothing."""

    at: float
    cadence: float | None  # steps per minute, both feet
    speed: float | None  # m/s
    distance: float | None  # metres: the sensor's running total (None: it reports none)
    stride_m: float | None = None


@dataclass(frozen=True)
class Status:
    """A change of the sensor's state (one of :data:`STATES`): ``connected`` (again, after ``lost``; also sent
    once more while connected when a note is worth telling, e.g. that cadence is reported in strides),
    ``lost`` (once per loss; the sensor keeps trying), ``ended`` (a replay ran out), ``failed`` (it cannot
    start: no Bluetooth, no footpod found; nothing more follows)."""

    at: float
    state: str
    detail: str = ""  # for people: "Stryd (C4:..)", "no footpod found in 10 s", ...


Event = Reading | Status


class SensorUnavailable(CoachError):
    """The sensor cannot be used at all (no Bluetooth adapter, no BlueZ, no D-Bus system bus): exit 1, like
    another resource the machine lacks (:class:`~cadencecoach.errors.ResourceError`); the message says why."""

    exit_code = 1


class SensorBuffer:
    """Events pushed by a sensor's thread, taken by the main thread: a deque of at most `maxlen` (the oldest are
    dropped, and counted in :attr:`dropped`, when nobody drains it)."""

    def __init__(self, maxlen: int = MAX_PENDING) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self._maxlen = maxlen
        self.dropped = 0  # an estimate: counted by the pushing thread only

    def push(self, event: Event) -> None:
        """Append `event` (any thread)."""
        if len(self._events) >= self._maxlen:
            self.dropped += 1
        self._events.append(event)

    def drain(self) -> list[Event]:
        """Everything pushed since the last call, oldest first; never blocks."""
        out: list[Event] = []
        pop = self._events.popleft
        while True:
            try:
                out.append(pop())
            except IndexError:
                return out


class Sensor(abc.ABC):
    """A source of :class:`Reading` and :class:`Status` events for a live run.

    ``name`` is for the display (``"footpod Stryd"``, ``"replay run.fit"``); ``clock()`` is "now" on the clock
    the readings are stamped with. :meth:`start` never blocks long (a sensor that needs a thread starts its own);
    :meth:`stop` is idempotent and never hangs; :meth:`drain` is for the main thread and never blocks. A sensor
    is also a context manager (start, then stop).
    """

    name: str
    clock: Callable[[], float]

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.clock = clock
        self._buffer = SensorBuffer()

    @abc.abstractmethod
    def start(self) -> None:
        """Begin (connecting, playing); returns at once."""

    @abc.abstractmethod
    def stop(self) -> None:
        """End for good: idempotent, joins any thread with a timeout, never hangs."""

    def drain(self) -> list[Event]:
        """Every event since the last call, oldest first (main thread; never blocks)."""
        return self._buffer.drain()

    def _push(self, event: Event) -> None:
        self._buffer.push(event)

    def __enter__(self) -> Sensor:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SensorSpec:
    """A parsed ``--sensor``: ``kind`` ``"ble"`` (``target`` a name or address, or None: the first footpod
    found) or ``"replay"`` (``target`` the activity file)."""

    kind: str
    target: str | None = None

    @property
    def path(self) -> Path:
        """The replay's file."""
        if self.kind != "replay" or self.target is None:
            raise ValueError("only a replay has a file")
        return Path(self.target)


SENSOR_FORMS = "ble, ble:NAME_OR_ADDRESS or replay:FILE"


def _usage(text: str, why: str) -> UsageError:
    return UsageError(f"--sensor {safe_text(text)}: {why} (use {SENSOR_FORMS})")


def parse_sensor(text: str) -> SensorSpec:
    """Read ``--sensor``: ``ble`` (the first footpod found), ``ble:NAME_OR_ADDRESS`` (an address such as
    ``C4:7C:8D:6A:12:34``, matched exactly, or a part of the device's name, either in any case) or
    ``replay:FILE`` (a recorded activity played back as if it were a footpod). The kind is read in any case;
    anything else is a :class:`~cadencecoach.errors.UsageError` naming ``--sensor`` and the forms.

    Examples
    --------
    >>> parse_sensor("ble"), parse_sensor("replay:runs/monday.fit")
    (SensorSpec(kind='ble', target=None), SensorSpec(kind='replay', target='runs/monday.fit'))
    >>> parse_sensor("ant+")
    Traceback (most recent call last):
    ...
    cadencecoach.errors.UsageError: --sensor ant+: not a sensor (use ble, ble:NAME_OR_ADDRESS or replay:FILE)
    """
    kind, colon, rest = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "ble":
        if not colon:
            return SensorSpec("ble")
        target = rest.strip()
        if not target:
            raise _usage(text, "give a name or address after 'ble:', or just 'ble' for the first footpod found")
        if len(target) > MAX_TARGET:
            raise _usage(text[:40] + "...", f"a device name or address is at most {MAX_TARGET} characters")
        return SensorSpec("ble", target)
    if kind == "replay":
        if not rest.strip():
            raise _usage(text, "give the activity file after 'replay:'")
        return SensorSpec("replay", rest)
    raise _usage(text, "not a sensor")


def open_sensor(
    spec: SensorSpec,
    *,
    clock: Callable[[], float] | None = None,
    cadence_unit: str = "auto",
    offset_s: float = 0.0,
) -> Sensor:
    """The sensor `spec` names, not started yet.

    ``replay``: the activity file is read now (:func:`cadencecoach.activity.read.read_activity`: its errors are
    the reader's, exit 2) and played on `clock` (seconds of playback: the player's heard position, so a paused
    run pauses the replay; default: :func:`time.monotonic` since :meth:`Sensor.start`), from `offset_s` into
    the activity. The activity's cadence is already steps per minute: `cadence_unit` is not used.

    ``ble``: a :class:`~cadencecoach.sensors.ble.BleSensor` (`bleak` is imported now: the ``sensors`` extra, or
    :class:`~cadencecoach.errors.ExtraUnavailable`, exit 2); its readings are stamped with
    :func:`time.monotonic` whatever `clock` is. `cadence_unit` is ``"steps"``, ``"strides"`` or ``"auto"``
    (:class:`~cadencecoach.sensors.rsc.CadenceScale`).
    """
    if spec.kind == "replay":
        from cadencecoach.activity.read import read_activity
        from cadencecoach.sensors.replay import ReplayError, ReplaySensor

        activity = read_activity(spec.path)
        try:
            return ReplaySensor(activity, clock=clock, offset_s=offset_s, name=f"replay {spec.path.name}")
        except ReplayError as exc:
            raise UsageError(f"--sensor replay:{safe_text(spec.target)}: {exc}") from None
    if spec.kind == "ble":
        from cadencecoach.sensors.ble import BleSensor
        from cadencecoach.sensors.rsc import CADENCE_UNITS

        if cadence_unit not in CADENCE_UNITS:
            raise ValueError(f"cadence unit {cadence_unit!r}: use one of {', '.join(CADENCE_UNITS)}")
        return BleSensor(spec.target, cadence_unit=cadence_unit)
    raise ValueError(f"no such sensor kind: {spec.kind!r}")
