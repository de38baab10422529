"""What the activity readers share: :class:`ActivityError`, the limits, the running-cadence rule, ISO times,
numbers, the hardened XML reader, and :func:`build_activity`, which turns samples as read into an
:class:`~cadencecoach.activity.model.Activity` by the same rules for every format.

The rules (every reader):

* samples need a time; a sample earlier than the one kept before it is dropped (a device's clock glitch),
  with one note; equal times are kept;
* a negative or infinite value is no value (NaN), with a note; the distance is made a running total: one
  that falls by more than :data:`RESTART_M` starts again (a multisport file's sessions each count from 0) and
  is counted on from the total so far; a smaller fall is held at the most so far; each with a note;
* :data:`MAX_SAMPLES` samples and :data:`MAX_LAPS` laps at most (an error beyond);
* **the running-cadence rule** (:func:`step_cadence`): FIT, TCX and GPX files record a running cadence per
  leg (strides per minute, one foot: about 85-95); it is doubled to steps per minute, unless its median over
  the moving samples (speed over :data:`MOVING_SPEED` m/s; every sample with a cadence when the file has no
  speed) is :data:`STEPS_FROM` or more: then the file already records steps (both feet) and it is kept. Either
  way a note says which. (The same 120 as :mod:`cadencecoach.workout.formats.fit_import`'s cadence targets.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cadencecoach.activity.model import Activity, Floats, Lap
from cadencecoach.errors import CoachError, WorkoutError
from cadencecoach.workout.source import shown

if TYPE_CHECKING:
    from cadencecoach.workout.formats.zwo import _El as XmlElement

MAX_ACTIVITY_BYTES = 32 * 1024 * 1024
"""The largest activity file read (checked before reading it all): a 24-hour FIT run at one record a second is
about 3 MB, its TCX about 25 MB."""
MAX_SAMPLES = 400_000
"""Samples at most: over 110 hours at one a second."""
MAX_LAPS = 10_000
STEPS_FROM = 120.0
"""A running cadence whose median (moving) is this or more is steps per minute already, not strides."""
MOVING_SPEED = 1.5
"""m/s: the samples the cadence rule looks at (a slow jog is over 2)."""
RESTART_M = 100.0
"""A distance that falls by more than this (m) starts again (a multisport file's next session); a smaller fall
is a glitch, held at the most so far."""

NAN = math.nan
Bools = npt.NDArray[np.bool_]


class ActivityError(CoachError):
    """A recorded activity that cannot be read (exit 2): ``FILE:LINE:COL: message`` when the place is known
    (text files), else ``FILE: message``.

    >>> ActivityError("run.csv", "cadence 'x' is not a number", 3, 7).lines()
    ["run.csv:3:7: cadence 'x' is not a number"]
    >>> str(ActivityError("run.fit", "the FIT file is cut short"))
    'run.fit: the FIT file is cut short'
    """

    exit_code = 2

    def __init__(self, file: str, message: str, line: int | None = None, col: int | None = None) -> None:
        self.file = file
        self.message = message
        self.line = line
        self.col = col
        where = f"{file}:{line}:{col}" if line is not None else file
        super().__init__(f"{where}: {message}")

    def lines(self) -> list[str]:
        return [str(self)]


def from_workout_error(exc: WorkoutError, display: str, *, positioned: bool = True) -> ActivityError:
    """The first problem of a :class:`WorkoutError` raised by a shared reader (the XML reader, the FIT frame
    check) as an ActivityError; `positioned` False drops the position (a binary file's 1:1)."""
    if not exc.problems:
        return ActivityError(display, str(exc))
    p = exc.problems[0]
    message = p.message.replace("a workout file", "an activity file").replace(
        "not a FIT workout file", "not a FIT file"
    )
    return ActivityError(display, message, p.line, p.col) if positioned else ActivityError(display, message)


# ----------------------------------------------------------------------------------------------- values

_NUMBER = re.compile(r"[+-]?(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][+-]?\d{1,3})?")


def number(text: str | None) -> float | None:
    """A decimal number (``12``, ``-3.5``, ``1e3``); NaN for no text; None for text that is not one.

    ``nan``, ``inf``, ``1_000`` and hex are not numbers here (Python's ``float`` would take them).

    >>> number(" 3.25 "), number(""), number("nan"), number("1e999")
    (3.25, nan, None, inf)
    """
    if text is None:
        return NAN
    s = text.strip()
    if not s:
        return NAN
    if len(s) > 48 or _NUMBER.fullmatch(s) is None:
        return None
    return float(s)


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?"
)
_DAYS: dict[tuple[int, int, int], float] = {}


def iso_time(text: str) -> tuple[float, bool] | None:
    """Seconds since the epoch of an ISO 8601 date and time (``2024-05-01T07:30:00Z``, ``...+02:00``,
    ``...07:30:00.250``), and whether it had a time zone (without one it is read as UTC); None when the text is
    not one.

    >>> iso_time("2024-05-01T07:30:00.5+02:00")
    (1714541400.5, True)
    >>> iso_time("1 May 2024") is None
    True
    """
    s = text.strip()
    m = _ISO.fullmatch(s) if len(s) <= 48 else None
    if m is None:
        return None
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    sec = int(m.group(6) or 0)
    if h > 23 or mi > 59 or sec > 60:  # (60: a leap second)
        return None
    day = _DAYS.get((y, mo, d))
    if day is None:
        try:
            day = datetime(y, mo, d, tzinfo=timezone.utc).timestamp()
        except (ValueError, OverflowError):
            return None
        if len(_DAYS) < 10_000:
            _DAYS[(y, mo, d)] = day
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11) or 0)
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if m.group(9) == "+" else -1)
    return day + h * 3600 + mi * 60 + sec + frac - offset, bool(m.group(8) or m.group(9))


def utc(epoch: float) -> datetime:
    """The UTC datetime of `epoch` seconds."""
    return datetime.fromtimestamp(epoch, timezone.utc)


def clip(text: str) -> str:
    """A value from a file, cut short for a note or a message."""
    return shown(text)


# ----------------------------------------------------------------------------------------------- XML


def local(tag: str) -> str:
    """An XML name without its namespace prefix: ``ns3:TPX`` -> ``TPX`` (namespaces matched on local names)."""
    return tag.rpartition(":")[2]


def xml_root(data: bytes, display: str) -> tuple[XmlElement, list[str]]:
    """The element tree of an XML activity file, read by the project's hardened reader (expat, no DTD, so no
    entity expansion; positions kept), and the notes (a file that is not UTF-8 read as Windows-1252)."""
    from cadencecoach.workout.formats.zwo import _expat_tree, as_utf8

    notes: list[str] = []
    try:
        raw, read_as = as_utf8(data, display)
        if read_as is not None:
            notes.append(read_as[2])
        root = _expat_tree(raw, display)
    except WorkoutError as exc:
        raise from_workout_error(exc, display) from None
    return root, notes


def children(el: XmlElement, name: str) -> Iterator[XmlElement]:
    """The children of `el` with the local name `name`."""
    return (c for c in el.children if local(c.tag) == name)


def child(el: XmlElement, name: str) -> XmlElement | None:
    """The first child of `el` with the local name `name`."""
    return next(children(el, name), None)


def descendants(el: XmlElement, depth: int) -> Iterator[XmlElement]:
    """The elements under `el`, at most `depth` levels down (bounded: extensions nest a level or two)."""
    for c in el.children:
        yield c
        if depth > 1:
            yield from descendants(c, depth - 1)


def element_number(el: XmlElement, display: str, what: str | None = None) -> float:
    """The number in `el`'s text (NaN when empty), else ActivityError at the element."""
    value = number(el.text)
    if value is None:
        name = what or f"<{local(el.tag)}>"
        raise ActivityError(display, f"{name} '{clip(el.text.strip())}' is not a number", el.line, el.col)
    return value


def element_time(el: XmlElement, display: str, text: str | None = None) -> tuple[float, bool]:
    """The ISO time in `el`'s text (or `text`, an attribute's), else ActivityError at the element."""
    raw = el.text if text is None else text
    value = iso_time(raw)
    if value is None:
        raise ActivityError(
            display,
            f"<{local(el.tag)}> '{clip(raw.strip())}' is not a date and time (ISO 8601: 2024-05-01T07:30:00Z)",
            el.line,
            el.col,
        )
    return value


# ----------------------------------------------------------------------------------------------- samples


class Samples:
    """Samples as read, one at a time, at most :data:`MAX_SAMPLES` (then ActivityError)."""

    def __init__(self, display: str, what: str = "samples") -> None:
        self.display = display
        self.what = what
        self.t: list[float] = []
        self.cadence: list[float] = []
        self.speed: list[float] = []
        self.distance: list[float] = []
        self.heart_rate: list[float] = []

    def __len__(self) -> int:
        return len(self.t)

    def add(
        self, t: float, cadence: float = NAN, speed: float = NAN, distance: float = NAN, heart_rate: float = NAN
    ) -> None:
        if len(self.t) >= MAX_SAMPLES:
            raise too_many(self.display, self.what)
        self.t.append(t)
        self.cadence.append(cadence)
        self.speed.append(speed)
        self.distance.append(distance)
        self.heart_rate.append(heart_rate)

    def arrays(self) -> tuple[Floats, Floats, Floats, Floats, Floats]:
        """``t, cadence, speed, distance, heart_rate`` as float64 arrays."""
        return tuple(  # type: ignore[return-value]
            np.asarray(x, dtype=np.float64) for x in (self.t, self.cadence, self.speed, self.distance, self.heart_rate)
        )


def too_many(display: str, what: str = "samples") -> ActivityError:
    return ActivityError(
        display, f"more than {MAX_SAMPLES:,} {what} (over 110 hours at one a second): too long to be one run"
    )


def too_many_laps(display: str) -> ActivityError:
    return ActivityError(display, f"more than {MAX_LAPS:,} laps: not a run cadencecoach reads")


@dataclass(frozen=True)
class RawLap:
    """A lap as read: absolute times (the samples' clock), its end None when the file does not say."""

    start: float
    end: float | None = None
    distance_m: float | None = None
    trigger: str | None = None


def forward(t: Floats) -> tuple[Bools, str | None]:
    """Which samples to keep (each at or after the one kept before it) and the note for those dropped."""
    if len(t) == 0:
        return np.ones(0, dtype=bool), None
    keep: Bools = t >= np.maximum.accumulate(t)
    dropped = int(len(t) - np.count_nonzero(keep))
    if not dropped:
        return keep, None
    s = "s" if dropped > 1 else ""
    return keep, (
        f"{dropped} sample{s} earlier than the sample before {'them' if s else 'it'} (the device's clock "
        f"went back) left out"
    )


def step_cadence(raw: Floats, speed: Floats) -> tuple[Floats, str | None]:
    """A running cadence as a file records it -> steps per minute, by the running-cadence rule (the module's
    doc), and the note that says what was done (None when there is no cadence).

    >>> steps, note = step_cadence(np.array([85.0, 86.0, np.nan]), np.array([3.0, 3.1, 3.0]))
    >>> steps.tolist(), note
    ([170.0, 172.0, nan], 'cadence: the file records strides (one foot) per minute; doubled to steps per minute')
    >>> step_cadence(np.array([170.0, 172.0]), np.array([3.0, 3.1]))[0].tolist()
    [170.0, 172.0]
    """
    present = np.isfinite(raw) & (raw > 0)
    if not present.any():
        return raw * 2, None
    if np.isfinite(speed).any():
        moving = present & np.isfinite(speed) & (speed > MOVING_SPEED)
        if not moving.any():
            moving = present
    else:
        moving = present
    median = float(np.median(raw[moving]))
    if median >= STEPS_FROM:
        return raw.copy(), (
            f"cadence: its median while moving ({median:.0f}) is {STEPS_FROM:.0f} or more, so the file records "
            "steps (both feet) per minute: kept as it is, not doubled"
        )
    return raw * 2, "cadence: the file records strides (one foot) per minute; doubled to steps per minute"


def speed_from_distance(t: Floats, distance: Floats, half: int = 2) -> Floats:
    """Speed (m/s) from a running distance: the distance covered over the time from `half` samples before to
    `half` after (fewer at the ends), NaN where that time is 0 or a distance is missing.

    >>> speed_from_distance(np.array([0.0, 1, 2, 3, 4]), np.array([0.0, 3, 6, 9, 12])).tolist()
    [3.0, 3.0, 3.0, 3.0, 3.0]
    """
    n = len(t)
    if n < 2:
        return np.full(n, NAN)
    idx = np.arange(n)
    lo = np.clip(idx - half, 0, n - 1)
    hi = np.clip(idx + half, 0, n - 1)
    dt = t[hi] - t[lo]
    dd = distance[hi] - distance[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Floats = np.where(dt > 0, dd / np.where(dt > 0, dt, 1.0), NAN)
    return out


def _clean(values: Floats) -> int:
    """Negative and infinite values -> NaN, in place; how many there were."""
    bad = (values < 0) | np.isinf(values)
    count = int(np.count_nonzero(bad))
    if count:
        values[bad] = NAN
    return count


def _running_total(distance: Floats) -> tuple[int, int]:
    """The distance made a running total, in place: a fall of more than :data:`RESTART_M` is a restart (the
    next session of a multisport file), the distances after it added to the total so far; a smaller fall is
    held at the most so far. How many restarts and held samples there were."""
    finite = np.flatnonzero(np.isfinite(distance))
    if len(finite) < 2:
        return 0, 0
    values = distance[finite]
    if not (np.diff(values) < 0).any():
        return 0, 0
    restarts = held = 0
    offset = 0.0
    most = -math.inf
    out = values.tolist()
    for i, v in enumerate(out):
        v += offset
        if v < most - RESTART_M:
            offset += most - v
            v = most
            restarts += 1
        elif v < most:
            v = most
            held += 1
        most = max(most, v)
        out[i] = v
    distance[finite] = out
    return restarts, held


def build_activity(
    display: str,
    fmt: str,
    columns: tuple[Floats, Floats, Floats, Floats, Floats],
    *,
    laps: Sequence[RawLap] = (),
    epoch: bool = True,
    strides: bool = False,
    derive_speed: str | None = None,
    sport: str | None = None,
    notes: Iterable[str] = (),
    nothing: str = "no sample has a time: nothing was recorded",
) -> Activity:
    """The Activity of samples as read (``t`` in seconds on the file's clock: since the epoch with `epoch`, for
    ``started_at``), by the rules of the module's doc. `strides`: the cadence is a file's running cadence (the
    running-cadence rule applies); `derive_speed`: the speed is computed from the distance when the file has
    none, with this note (none when empty); `nothing`: the error when no sample is left."""
    t, cadence, speed, distance, heart_rate = (np.array(c, dtype=np.float64) for c in columns)
    said = list(notes)
    keep, dropped = forward(t)
    if dropped:
        said.append(dropped)
        t, cadence, speed, distance, heart_rate = (c[keep] for c in (t, cadence, speed, distance, heart_rate))
    if len(t) == 0:
        raise ActivityError(display, nothing)
    bad = sum(_clean(c) for c in (cadence, speed, distance, heart_rate))
    if bad:
        said.append(f"{bad} negative or infinite value{'s' if bad > 1 else ''} left out")
    restarts, held = _running_total(distance)
    if restarts:
        said.append(
            f"the distance starts again from 0 {restarts} time{'s' if restarts > 1 else ''} (a new session): "
            "counted on from the total so far"
        )
    if held:
        said.append(f"the distance goes down at {held} sample{'s' if held > 1 else ''}: held at the most so far")
    t0 = float(t[0])
    rel = t - t0
    if derive_speed is not None and not np.isfinite(speed).any() and np.isfinite(distance).any():
        speed = speed_from_distance(rel, distance)
        if derive_speed:
            said.append(derive_speed)
    if strides:
        cadence, note = step_cadence(cadence, speed)
        if note:
            said.append(note)
    return Activity(
        source=display,
        fmt=fmt,
        t=rel,
        cadence=cadence,
        speed=speed,
        distance=distance,
        heart_rate=heart_rate,
        laps=_laps(laps, t0, float(rel[-1]), display),
        started_at=utc(t0) if epoch else None,
        sport=sport,
        notes=tuple(dict.fromkeys(said)),
    )


def _laps(raw: Sequence[RawLap], t0: float, last: float, display: str) -> tuple[Lap, ...]:
    """Laps relative to the first sample, in order of their start; a start before it is 0, an end not given is
    the next lap's start (or the last sample), and no end is before its start."""
    if len(raw) > MAX_LAPS:
        raise too_many_laps(display)
    ordered = sorted((r for r in raw if math.isfinite(r.start)), key=lambda r: r.start)
    out: list[Lap] = []
    for i, r in enumerate(ordered):
        start = max(0.0, r.start - t0)
        if r.end is not None and math.isfinite(r.end):
            end = r.end - t0
        elif i + 1 < len(ordered):
            end = ordered[i + 1].start - t0
        else:
            end = last
        distance = r.distance_m if r.distance_m is not None and math.isfinite(r.distance_m) else None
        start, end = round(start, 3), round(max(start, end), 3)  # (FIT stores ms; its floats carry noise)
        out.append(Lap(start, end, distance if distance is None or distance >= 0 else None, r.trigger))
    return tuple(out)
