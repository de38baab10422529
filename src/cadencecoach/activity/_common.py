"""What the activity readers share: :class:`ActivityError`, the limits, the running-cadence rule, ISO times,
numbers, XML streamed through the hardened XML reader (:class:`XmlStream`: no element kept), and
:func:`build_activity`, which turns samples as read into an :class:`~cadencecoach.activity.model.Activity` by the
same rules for every format.

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
import xml.parsers.expat as expat
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import numpy.typing as npt

from cadencecoach.activity.model import Activity, Floats, Lap
from cadencecoach.errors import CoachError, WorkoutError
from cadencecoach.workout.source import shown

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
    whole, _, part = s.partition(".")
    digits = whole + part
    if len(whole) <= 20 and len(part) <= 20 and digits.isascii() and digits.isdigit():
        return float(s)  # (the usual 142 or 3.25, without the regular expression)
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
    n = len(s)
    if s[16:17] == ":" and s[-1:] == "Z" and (n == 20 or (22 <= n <= 33 and s[19] == ".")):
        # (the usual ``2024-05-01T07:30:00.000Z`` without the regular expression: a file has 100,000 of them)
        rest = s[17:19] + s[20:-1]
        if rest.isascii() and rest.isdigit():
            minute = _MINUTES.get(s[:16])
            if minute is None:
                minute = _minute(s[:16])
            if minute is not None:  # (else not in that form: the regular expression says)
                sec = int(s[17:19])
                if math.isnan(minute) or sec > 60:
                    return None
                return minute + sec + (float("0." + s[20:-1]) if n > 20 else 0.0), True
    m = _ISO.fullmatch(s) if n <= 48 else None
    if m is None:
        return None
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11) or 0)
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if m.group(9) == "+" else -1)
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    when = _clock(y, mo, d, h, mi, int(m.group(6) or 0), m.group(7) or "", offset)
    return None if when is None else (when, bool(m.group(8) or m.group(9)))


_MINUTES: dict[str, float] = {}


def _minute(text: str) -> float | None:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM`` (UTC), kept for the next time (at most 20,000); NaN when
    it is no date or time, None when it is not in that form (ASCII digits)."""
    digits = text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16]
    if not (
        text[4] == text[7] == "-" and text[10] == "T" and text[13] == ":" and digits.isascii() and digits.isdigit()
    ):
        return None
    y, mo, d, h, mi = int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16])
    day = _clock(y, mo, d, 0, 0, 0, "", 0)
    minute = NAN if day is None or h > 23 or mi > 59 else day + h * 3600 + mi * 60
    if len(_MINUTES) < 20_000:
        _MINUTES[text] = minute
    return minute


def _clock(y: int, mo: int, d: int, h: int, mi: int, sec: int, frac: str, offset: int) -> float | None:
    """Seconds since the epoch of a date and time (`frac`: the digits after the seconds' point), `offset` seconds
    ahead of UTC; None when it is no date or time."""
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
    return day + h * 3600 + mi * 60 + sec + (float("0." + frac) if frac else 0.0) - offset


def utc(epoch: float) -> datetime:
    """The UTC datetime of `epoch` seconds."""
    return datetime.fromtimestamp(epoch, timezone.utc)


def clip(text: str) -> str:
    """A value from a file, cut short for a note or a message."""
    return shown(text)


# ----------------------------------------------------------------------------------------------- XML

ACTIVITY_ROOTS = ("TrainingCenterDatabase", "gpx")
"""The local names of the roots of the XML activity files read (TCX, GPX)."""


def local(tag: str) -> str:
    """An XML name without its namespace prefix: ``ns3:TPX`` -> ``TPX`` (namespaces matched on local names)."""
    return tag.rpartition(":")[2]


def attribute(attrs: dict[str, str], name: str) -> str | None:
    """The attribute `name` (lower case) of an element, its name in any case (the last one written wins).

    >>> attribute({"Lat": "1", "lon": "2"}, "lat")
    '1'
    """
    found = None
    for key, value in attrs.items():
        if key.lower() == name:
            found = value
    return found


@dataclass(frozen=True)
class XmlDocument:
    """An XML activity file read as far as its root element (:func:`xml_root`): its bytes as expat reads them
    (UTF-8, or the encoding the file declares) and the root's tag and place. Its elements are streamed by an
    :class:`XmlStream` (:func:`read_stream`), never kept."""

    data: bytes
    tag: str
    line: int
    col: int


class _Root(Exception):
    def __init__(self, tag: str, line: int, col: int) -> None:
        self.tag, self.line, self.col = tag, line, col


def xml_root(data: bytes, display: str) -> tuple[XmlDocument, list[str]]:
    """An XML activity file read by the project's hardened reader (expat, no DTD, so no entity expansion;
    positions kept; :func:`cadencecoach.workout.formats.zwo.expat_parse`) as far as its root element, and the
    notes (a file that is not UTF-8 read as Windows-1252).

    A root that is no activity file's (not :data:`ACTIVITY_ROOTS`) is returned once the rest of the file is
    known to be well-formed XML, so a malformed file says so first.

    >>> doc, notes = xml_root(b'<?xml version="1.0"?>\\n <gpx version="1.1"><trk/></gpx>', "run.gpx")
    >>> doc.tag, doc.line, doc.col, notes
    ('gpx', 2, 2, [])
    """
    from cadencecoach.workout.formats.zwo import as_utf8, expat_parse

    notes: list[str] = []
    try:
        raw, read_as = as_utf8(data, display)
        if read_as is not None:
            notes.append(read_as[2])

        def setup(parser: expat.XMLParserType) -> None:
            def start(tag: str, _attrs: dict[str, str]) -> None:
                raise _Root(tag, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)

            parser.StartElementHandler = start

        expat_parse(raw, display, setup)
    except _Root as root:
        doc = XmlDocument(raw, root.tag, root.line, root.col)
    except WorkoutError as exc:
        raise from_workout_error(exc, display) from None
    else:  # (expat says "no element found" first)
        raise ActivityError(display, "no XML element: not an activity file", 1, 1)
    if local(doc.tag) not in ACTIVITY_ROOTS:
        well_formed(doc, display)
    return doc, notes


def well_formed(doc: XmlDocument, display: str) -> None:
    """ActivityError at the first place where `doc` is not well-formed XML (or refused: a DTD), if any."""
    from cadencecoach.workout.formats.zwo import expat_parse

    try:
        expat_parse(doc.data, display, lambda _parser: None)
    except WorkoutError as exc:
        raise from_workout_error(exc, display) from None


def read_stream(doc: XmlDocument, display: str, reader: XmlStream) -> None:
    """Stream the elements of `doc` through `reader`, a chunk of the file at a time.

    An ActivityError a reader raises (a value that is not a number...) stops the stream; it is raised once the
    whole file is known to be well-formed XML, so a file that is both says it is malformed first, as when the
    whole file was read into a tree before its values."""
    from cadencecoach.workout.formats.zwo import expat_parse

    try:
        expat_parse(doc.data, display, reader.setup)
    except WorkoutError as exc:
        raise from_workout_error(exc, display) from None
    except ActivityError as exc:
        well_formed(doc, display)
        raise exc from None
    finally:
        reader.release()


class XmlStream:
    """A reader of an XML file's elements as expat streams them, keeping none: a small state machine.

    Each element gets a role from its parent's role (``-1`` for the root) and its local name
    (:meth:`enter`; 0 for an element nothing is read from, and so from nothing under it). The direct text of an
    element whose role is in :attr:`TEXT` (not its children's: as ``text`` was in the element tree) is gathered,
    and :meth:`leave` gets it at the element's end, with the element's place (its start) and tag. A handler
    raises :class:`ActivityError` for a value that cannot be read; :func:`read_stream` defers it.

    >>> class Names(XmlStream):
    ...     TEXT = frozenset({2})
    ...     def enter(self, parent, name, attrs, line, col):
    ...         return 1 if parent == -1 else 2 if parent == 1 and name == "name" else 0
    ...     def leave(self, role, text, line, col, tag):
    ...         if role == 2:
    ...             print(line, col, tag, repr(text))
    >>> doc, _ = xml_root(b"<gpx><x:name>a<b>c</b>d</x:name><z><name>no</name></z></gpx>", "n.gpx")
    >>> read_stream(doc, "n.gpx", Names("n.gpx"))
    1 6 x:name 'ad'
    """

    TEXT: frozenset[int] = frozenset()
    """The roles whose text :meth:`leave` gets (others get "")."""

    def __init__(self, display: str) -> None:
        self.display = display
        self._stack: list[tuple[int, list[str] | None, int, int, str]] = []  # role, text, line, col, tag
        self._skipping = 0  # the depth inside an element of role 0
        self._text: list[str] = []  # the text since the last element's start or end
        self._names: dict[str, str] = {}
        self._parser: expat.XMLParserType | None = None

    def enter(self, parent: int, name: str, attrs: dict[str, str], line: int, col: int) -> int:
        """The role of an element that starts (its local name, attributes and place) under one of role
        `parent`; 0: nothing is read from it."""
        raise NotImplementedError

    def leave(self, role: int, text: str, line: int, col: int, tag: str) -> None:
        """An element of `role` ends: its text (roles in :attr:`TEXT`), place and tag."""
        raise NotImplementedError

    def setup(self, parser: expat.XMLParserType) -> None:
        """Set `parser`'s handlers to this reader's (for :func:`~cadencecoach.workout.formats.zwo.expat_parse`)."""
        self._parser = parser
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        # text goes to a list (no Python call a piece); what came since the last start or end is the open element's
        parser.CharacterDataHandler = self._text.append

    def release(self) -> None:
        """Drop the parser (and its buffers) and what was open: the stream is over."""
        self._parser = None
        self._stack.clear()
        self._text.clear()

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        text = self._text
        if self._skipping:
            self._skipping += 1
            if text:
                text.clear()
            return
        stack = self._stack
        if text:
            if stack and stack[-1][1] is not None:
                stack[-1][1].extend(text)
            text.clear()
        name = self._names.get(tag)
        if name is None:
            name = local(tag)
            if len(self._names) < 4096:  # (bounded: a hostile file may use a million names)
                self._names[tag] = name
        parser = self._parser
        assert parser is not None
        line, col = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        role = self.enter(stack[-1][0] if stack else -1, name, attrs, line, col)
        if role:
            stack.append((role, [] if role in self.TEXT else None, line, col, tag))
        else:
            self._skipping = 1

    def _end(self, _tag: str) -> None:
        text = self._text
        if self._skipping:
            self._skipping -= 1
            if text:
                text.clear()
            return
        role, pieces, line, col, tag = self._stack.pop()
        if pieces is None:
            if text:
                text.clear()
            self.leave(role, "", line, col, tag)
            return
        pieces.extend(text)
        text.clear()
        self.leave(role, "".join(pieces), line, col, tag)


def number_at(text: str, display: str, name: str, line: int, col: int) -> float:
    """The number in the text of the element `name` (a local name) at `line`:`col` (NaN when empty), else
    ActivityError there.

    >>> number_at(" 12.5 ", "a.tcx", "DistanceMeters", 3, 7)
    12.5
    >>> number_at("far", "a.tcx", "DistanceMeters", 3, 7)
    Traceback (most recent call last):
    cadencecoach.activity._common.ActivityError: a.tcx:3:7: <DistanceMeters> 'far' is not a number
    """
    value = number(text)
    if value is None:
        raise ActivityError(display, f"<{name}> '{clip(text.strip())}' is not a number", line, col)
    return value


def time_at(text: str, display: str, name: str, line: int, col: int) -> tuple[float, bool]:
    """The ISO time in `text` (the text of the element `name` at `line`:`col`, or one of its attributes) and
    whether it has a time zone, else ActivityError there."""
    value = iso_time(text)
    if value is None:
        raise ActivityError(
            display,
            f"<{name}> '{clip(text.strip())}' is not a date and time (ISO 8601: 2024-05-01T07:30:00Z)",
            line,
            col,
        )
    return value


# ----------------------------------------------------------------------------------------------- samples


class Samples:
    """Samples as read, one at a time, at most :data:`MAX_SAMPLES` (then ActivityError); kept as C doubles
    (8 bytes a value, not a Python float's 32)."""

    def __init__(self, display: str, what: str = "samples") -> None:
        self.display = display
        self.what = what
        self.t = array("d")
        self.cadence = array("d")
        self.speed = array("d")
        self.distance = array("d")
        self.heart_rate = array("d")

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
        """``t, cadence, speed, distance, heart_rate`` as float64 arrays: views of the samples, no copy (no sample
        can be added while they are kept)."""
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
