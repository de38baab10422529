"""Garmin Training Center files (``.tcx``, TrainingCenterDatabase v2): read into an
:class:`~cadencecoach.activity.model.Activity`, and written from one (:func:`write_tcx`).

Read (elements matched on their local names, so a default namespace and prefixes such as ``ns3:`` are alike)::

    TrainingCenterDatabase/Activities/Activity[@Sport]        (also inside MultiSportSession/.../Activity)
      Lap[@StartTime]/TotalTimeSeconds (s), DistanceMeters (m), TriggerMethod
        Track/Trackpoint/Time (ISO 8601, Z or an offset), DistanceMeters (m, running total),
          HeartRateBpm/Value (bpm), Cadence, Extensions/TPX/Speed (m/s), Extensions/TPX/RunCadence

* Cadence: ``RunCadence`` (Garmin's running extension) where there is one, else ``Cadence``; both are per leg
  (strides per minute) for a run: the running-cadence rule of :mod:`._common` doubles them to steps per minute
  unless their median while moving is 120 or more (then the file already wrote steps: kept). A ``Biking``
  activity's ``Cadence`` is pedal rpm, not a step cadence: left out, with a note. ``Sport="Other"`` is read as
  a foot sport.
* No ``Speed`` anywhere: the speed is computed from the distance (over 5 samples), with a note.
* Trackpoints with no ``Time`` are left out (with a note); laps start at their ``StartTime`` and last
  ``TotalTimeSeconds``; ``t = 0`` (``started_at``) is the first trackpoint's time.
* A TCX file with workouts or courses but no activity is refused, saying what it holds.

XML goes through the project's hardened reader (expat, no DTD: no entity expansion; positions kept), so a
problem is ``FILE:LINE:COL: message``. It is streamed, 1 MiB at a time, into the sample arrays: no element is
kept (a 30 MB file of 100,000 trackpoints: about 60 MB at the peak, its bytes included, where a tree took 400).

Written (:func:`write_tcx`): one ``Activity Sport="Running"``, the activity's laps (or one), each trackpoint's
``Time`` (``started_at + t``, to the ms), ``DistanceMeters``, ``HeartRateBpm`` and the ``TPX`` extension with
``Speed`` and ``RunCadence`` (steps / 2, TCX's per-leg unit, a whole number), valid against Garmin's
TrainingCenterDatabase v2 and ActivityExtension v2 schemas; the reader reads it back to within 1 step per
minute (cadences under 240).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from cadencecoach import atomic
from cadencecoach.activity._common import (
    MAX_LAPS,
    NAN,
    ActivityError,
    RawLap,
    Samples,
    XmlDocument,
    XmlStream,
    attribute,
    build_activity,
    clip,
    local,
    number,
    number_at,
    read_stream,
    time_at,
    too_many_laps,
    well_formed,
    xml_root,
)
from cadencecoach.activity.model import Activity, Lap

__all__ = ["TCX_NS", "TPX_NS", "parse_tcx", "read_tree", "tcx_bytes", "write_tcx"]

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMAS = (
    f"{TCX_NS} http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd "
    f"{TPX_NS} http://www.garmin.com/xmlschemas/ActivityExtensionv2.xsd"
)

TRIGGERS_IN = {"manual": "manual", "distance": "distance", "location": "position_marked", "time": "time"}
"""TCX TriggerMethod -> the lap trigger's FIT name (``HeartRate`` -> ``heart_rate``)."""
TRIGGERS_OUT = {
    "manual": "Manual",
    "distance": "Distance",
    "time": "Time",
    "heart_rate": "HeartRate",
    "position_start": "Location",
    "position_lap": "Location",
    "position_waypoint": "Location",
    "position_marked": "Location",
}


# ----------------------------------------------------------------------------------------------- reading


def parse_tcx(data: bytes, display: str = "<activity.tcx>") -> Activity:
    """A TCX file's bytes -> Activity; ActivityError (``FILE:LINE:COL: message``) when it cannot be read."""
    doc, notes = xml_root(data, display)
    if local(doc.tag) != "TrainingCenterDatabase":
        well_formed(doc, display)
        raise ActivityError(
            display,
            f"<{clip(doc.tag)}> is not TCX: a TCX file's root is <TrainingCenterDatabase>",
            doc.line,
            doc.col,
        )
    return read_tree(doc, display, notes)


def read_tree(doc: XmlDocument, display: str, notes: list[str] | None = None) -> Activity:
    """The Activity of a TCX file read as far as its root ``<TrainingCenterDatabase>``
    (:func:`~cadencecoach.activity._common.xml_root`): its elements are streamed, none kept."""
    reader = _Reader(display)
    read_stream(doc, display, reader)
    if not reader.activities:
        for found, words in ((reader.workouts, "workouts (plans)"), (reader.courses, "courses (routes)")):
            if found is not None and found[2]:
                raise ActivityError(display, f"this TCX file holds {words}, not a recorded activity", *found[:2])
        raise ActivityError(display, "no <Activity> in the TCX file: no recorded activity", doc.line, doc.col)
    said = list(notes or ())
    if reader.untimed:
        said.append(f"{reader.untimed} trackpoint{'s' if reader.untimed > 1 else ''} with no <Time> left out")
    if reader.naive:
        said.append("times without a time zone read as UTC")
    if reader.bike_cadence:
        said.append("the cadence of the Biking activity left out: pedal rpm is not a step cadence")
    sport = reader.sport
    return build_activity(
        display,
        "tcx",
        reader.samples.arrays(),
        laps=reader.laps,
        strides=True,
        derive_speed="speed: none in the file; computed from the distance",
        sport=sport.strip().lower() if sport else None,
        notes=said,
        nothing="no trackpoint has a <Time>: the TCX file holds no recorded samples",
    )


# The roles of the elements read (see XmlStream), by their path:
_ROOT = 1  # TrainingCenterDatabase
_ACTIVITIES = 2  # ./Activities
_MULTISPORT = 3  # ./Activities/MultiSportSession
_PART = 4  # ./Activities/MultiSportSession/FirstSport or NextSport
_ACTIVITY = 5  # ./Activities/Activity, ./Activities/MultiSportSession/*/Activity
_LAP = 6  # .../Activity/Lap
_LAP_TIME = 7  # .../Lap/TotalTimeSeconds (the first)
_LAP_DISTANCE = 8  # .../Lap/DistanceMeters (the first)
_LAP_TRIGGER = 9  # .../Lap/TriggerMethod (the first)
_TRACK = 10  # .../Lap/Track
_POINT = 11  # .../Track/Trackpoint
_TIME = 12  # .../Trackpoint/Time (the first)
_DISTANCE = 13  # .../Trackpoint/DistanceMeters
_HEART = 14  # .../Trackpoint/HeartRateBpm
_HEART_VALUE = 15  # .../HeartRateBpm/Value (the first)
_CADENCE = 16  # .../Trackpoint/Cadence
_EXTENSIONS = 17  # .../Trackpoint/Extensions
_TPX = 18  # .../Extensions/TPX
_SPEED = 19  # .../TPX/Speed
_RUN_CADENCE = 20  # .../TPX/RunCadence
_WORKOUTS = 21  # ./Workouts (the first)
_COURSES = 22  # ./Courses (the first)
_POINT_CHILDREN = {"DistanceMeters": _DISTANCE, "HeartRateBpm": _HEART, "Cadence": _CADENCE, "Extensions": _EXTENSIONS}
_TPX_CHILDREN = {"Speed": _SPEED, "RunCadence": _RUN_CADENCE}
_LAP_FIELDS = {"TotalTimeSeconds": _LAP_TIME, "DistanceMeters": _LAP_DISTANCE, "TriggerMethod": _LAP_TRIGGER}

_Text = tuple[str, int, int, str]
"""An element's text, line, column and local name."""


class _Reader(XmlStream):
    """A TCX file's trackpoints and laps as its elements stream by (the module's doc says what is read).

    Values are read when their element ends, in the order the element tree was read in: a trackpoint's
    ``Time`` first, then its other values in order (a trackpoint with no ``Time`` is left out unread); a lap's
    ``StartTime``, ``TotalTimeSeconds`` and ``DistanceMeters`` after its trackpoints."""

    TEXT = frozenset(
        {_LAP_TIME, _LAP_DISTANCE, _LAP_TRIGGER, _TIME, _DISTANCE, _HEART_VALUE, _CADENCE, _SPEED, _RUN_CADENCE}
    )

    def __init__(self, display: str) -> None:
        super().__init__(display)
        self.samples = Samples(display, "trackpoints")
        self.laps: list[RawLap] = []
        self.untimed = 0
        self.naive = False
        self.bike_cadence = False
        self.activities = 0
        self.sport: str | None = None  # the first activity's Sport
        self.workouts: tuple[int, int, bool] | None = None  # the first <Workouts>: place, whether it has children
        self.courses: tuple[int, int, bool] | None = None
        self.bike = False
        # the open lap
        self.lap_first = 0
        self.lap_start: tuple[str, int, int] | None = None  # StartTime, the lap's place
        self.lap_fields: dict[int, _Text] = {}
        # the open trackpoint
        self.time: _Text | None = None
        self.heart_value = False  # its HeartRateBpm's Value is read
        self.wrong: ActivityError | None = None  # its first value that is not a number
        self.distance = self.heart_rate = self.cadence = self.speed = self.run_cadence = NAN

    def enter(self, parent: int, name: str, attrs: dict[str, str], line: int, col: int) -> int:
        if parent == _POINT:
            if name == "Time":
                if self.time is not None:
                    return 0
                self.time = ("", line, col, name)
                return _TIME
            role = _POINT_CHILDREN.get(name, 0)
            if role == _HEART:
                self.heart_value = False
            return role
        if parent == _TPX:
            return _TPX_CHILDREN.get(name, 0)
        if parent == _EXTENSIONS:
            return _TPX if name == "TPX" else 0
        if parent == _HEART:
            if name != "Value" or self.heart_value:
                return 0
            self.heart_value = True
            return _HEART_VALUE
        if parent == _TRACK:
            if name != "Trackpoint":
                return 0
            self.time, self.wrong = None, None
            self.distance = self.heart_rate = self.cadence = self.speed = self.run_cadence = NAN
            return _POINT
        if parent == _LAP:
            if name == "Track":
                return _TRACK
            role = _LAP_FIELDS.get(name, 0)
            if role in self.lap_fields:
                return 0
            return role
        if parent == _ACTIVITY:
            if name != "Lap":
                return 0
            self.lap_first = len(self.samples)
            raw = attribute(attrs, "starttime")
            self.lap_start = None if raw is None else (raw, line, col)
            self.lap_fields = {}
            return _LAP
        if parent in (_ACTIVITIES, _PART):
            if name == "Activity":
                self.activity(attrs)
                return _ACTIVITY
            return _MULTISPORT if name == "MultiSportSession" and parent == _ACTIVITIES else 0
        if parent == _MULTISPORT:
            return _PART if name in ("FirstSport", "NextSport") else 0
        if parent == _ROOT:
            if name == "Activities":
                return _ACTIVITIES
            if name == "Workouts" and self.workouts is None:
                self.workouts = (line, col, False)
                return _WORKOUTS
            if name == "Courses" and self.courses is None:
                self.courses = (line, col, False)
                return _COURSES
            return 0
        if parent == _WORKOUTS and self.workouts is not None:
            self.workouts = (*self.workouts[:2], True)
        elif parent == _COURSES and self.courses is not None:
            self.courses = (*self.courses[:2], True)
        return _ROOT if parent == -1 else 0

    def leave(self, role: int, text: str, line: int, col: int, tag: str) -> None:
        if role == _DISTANCE:
            self.distance = self._value(text, line, col, tag, self.distance)
        elif role == _HEART_VALUE:
            self.heart_rate = self._value(text, line, col, tag, self.heart_rate)
        elif role == _SPEED:
            self.speed = self._value(text, line, col, tag, self.speed)
        elif role == _RUN_CADENCE:
            self.run_cadence = self._value(text, line, col, tag, self.run_cadence)
        elif role == _CADENCE:
            self.cadence = self._value(text, line, col, tag, self.cadence)
        elif role == _TIME:
            self.time = (text, line, col, local(tag))
        elif role == _POINT:
            self.trackpoint()
        elif role in _LAP_FIELDS.values():
            self.lap_fields[role] = (text, line, col, local(tag))
        elif role == _LAP:
            self.lap()

    def _value(self, text: str, line: int, col: int, tag: str, before: float) -> float:
        """A trackpoint's value; one that is not a number is kept to be raised if the trackpoint is read."""
        value = number(text)
        if value is not None:
            return value
        if self.wrong is None:
            message = f"<{local(tag)}> '{clip(text.strip())}' is not a number"
            self.wrong = ActivityError(self.display, message, line, col)
        return before

    def activity(self, attrs: dict[str, str]) -> None:
        sport = attribute(attrs, "sport")
        if not self.activities:
            self.sport = sport
        self.activities += 1
        self.bike = (sport or "").strip().lower() == "biking"

    def lap(self) -> None:
        if len(self.laps) >= MAX_LAPS:
            raise too_many_laps(self.display)
        if self.lap_start is not None:
            raw, line, col = self.lap_start
            start, zoned = time_at(raw, self.display, "Lap", line, col)
            self.naive |= not zoned
        elif len(self.samples) > self.lap_first:
            start = self.samples.t[self.lap_first]
        else:
            return
        total = self._lap_number(_LAP_TIME)
        distance = self._lap_number(_LAP_DISTANCE)
        trigger_text = self.lap_fields.get(_LAP_TRIGGER)
        trigger = None
        if trigger_text is not None and trigger_text[0].strip():
            name = trigger_text[0].strip()
            trigger = TRIGGERS_IN.get(name.lower(), "heart_rate" if name.lower() == "heartrate" else clip(name))
        self.laps.append(
            RawLap(
                start,
                start + total if math.isfinite(total) and total >= 0 else None,
                distance if math.isfinite(distance) else None,
                trigger,
            )
        )

    def _lap_number(self, role: int) -> float:
        found = self.lap_fields.get(role)
        if found is None:
            return NAN
        text, line, col, name = found
        return number_at(text, self.display, name, line, col)

    def trackpoint(self) -> None:
        if self.time is None or not self.time[0].strip():
            self.untimed += 1
            return
        text, line, col, name = self.time
        t, zoned = time_at(text, self.display, name, line, col)
        self.naive |= not zoned
        if self.wrong is not None:
            raise self.wrong
        cadence = self.cadence if math.isnan(self.run_cadence) else self.run_cadence
        if self.bike and not math.isnan(cadence):
            self.bike_cadence = True
            cadence = NAN
        self.samples.add(t, cadence, self.speed, self.distance, self.heart_rate)


# ----------------------------------------------------------------------------------------------- writing


def write_tcx(path: str | Path, activity: Activity, *, creator: str = "cadencecoach") -> None:
    """Write `activity` as a TCX file (atomically: :func:`cadencecoach.atomic.write_bytes`).

    ValueError when the activity has no ``started_at`` (TCX times are wall-clock times)."""
    atomic.write_bytes(path, tcx_bytes(activity, creator=creator))


def tcx_bytes(activity: Activity, *, creator: str = "cadencecoach") -> bytes:
    """The TCX file of `activity` (see :func:`write_tcx`).

    >>> from datetime import datetime, timezone
    >>> import numpy as np
    >>> a = Activity("x", "sensor", np.array([0.0, 1.0]), np.array([170.0, np.nan]), np.full(2, 3.0),
    ...              np.array([0.0, 3.0]), np.full(2, np.nan), started_at=datetime(2024, 5, 1, tzinfo=timezone.utc))
    >>> parse_tcx(tcx_bytes(a)).cadence.tolist()
    [170.0, nan]
    """
    if activity.started_at is None:
        raise ValueError("a TCX file needs the activity's start time (started_at)")
    from cadencecoach import __version__
    from cadencecoach.terminal import bounded_text

    start = activity.started_at.astimezone(timezone.utc) if activity.started_at.tzinfo else activity.started_at
    start = start.replace(tzinfo=None)
    t = activity.t
    laps = _write_laps(activity)
    # each sample goes to the last lap that starts at or before it (those before the first: the first)
    owner = np.clip(np.searchsorted(np.array([lap.start_s for lap in laps]), t, side="right") - 1, 0, len(laps) - 1)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<TrainingCenterDatabase xmlns="{TCX_NS}" xmlns:ns3="{TPX_NS}" xmlns:xsi="{XSI_NS}" '
        f'xsi:schemaLocation="{SCHEMAS}">\n',
        ' <Activities>\n  <Activity Sport="Running">\n',
        f"   <Id>{_time(start, 0.0)}</Id>\n",
    ]
    bounds = np.searchsorted(owner, np.arange(len(laps) + 1), side="left")
    for k, lap in enumerate(laps):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        begin = min(lap.start_s, float(t[lo])) if hi > lo else lap.start_s  # (samples before the first lap: in it)
        out.append(f'   <Lap StartTime="{_time(start, begin)}">\n')
        out.append(f"    <TotalTimeSeconds>{_num(max(0.0, lap.end_s - begin))}</TotalTimeSeconds>\n")
        out.append(f"    <DistanceMeters>{_num(_lap_distance(activity, lap, lo, hi))}</DistanceMeters>\n")
        out.append("    <Calories>0</Calories>\n    <Intensity>Active</Intensity>\n")
        out.append(f"    <TriggerMethod>{TRIGGERS_OUT.get(lap.trigger or '', 'Manual')}</TriggerMethod>\n")
        if hi > lo:
            out.append("    <Track>\n")
            out.extend(_trackpoints(activity, start, lo, hi))
            out.append("    </Track>\n")
        out.append("   </Lap>\n")
    name = escape(bounded_text(creator, 60) or "cadencecoach")
    major, minor = (int(x) if x.isdigit() else 0 for x in ([*__version__.split("."), "0", "0"][:2]))
    out.extend(
        [
            "  </Activity>\n </Activities>\n",
            f' <Author xsi:type="Application_t">\n  <Name>{name}</Name>\n',
            f"  <Build><Version><VersionMajor>{major}</VersionMajor><VersionMinor>{minor}</VersionMinor>"
            "</Version></Build>\n",
            "  <LangID>en</LangID>\n  <PartNumber>000-00000-00</PartNumber>\n </Author>\n",
            "</TrainingCenterDatabase>\n",
        ]
    )
    return "".join(out).encode("utf-8")


def _write_laps(activity: Activity) -> list[Lap]:
    laps = sorted(activity.laps, key=lambda lap: lap.start_s)
    if not laps:
        end = float(activity.t[-1]) if len(activity.t) else 0.0
        return [Lap(0.0, end)]
    return laps


def _lap_distance(activity: Activity, lap: Lap, lo: int, hi: int) -> float:
    if lap.distance_m is not None and math.isfinite(lap.distance_m) and lap.distance_m >= 0:
        return lap.distance_m
    d = activity.distance[lo:hi]
    d = d[np.isfinite(d)]
    return float(d[-1] - d[0]) if len(d) > 1 else 0.0


def _time(start: datetime, t: float) -> str:
    """ISO time (UTC, to the ms) of `start` + `t` seconds."""
    when = start + timedelta(milliseconds=round(t * 1000))
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _num(x: float) -> str:
    """A number as TCX writes it: up to 3 decimals, no exponent."""
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _trackpoints(activity: Activity, start: datetime, lo: int, hi: int) -> Iterator[str]:
    t, d, hr, spd, cad = activity.t, activity.distance, activity.heart_rate, activity.speed, activity.cadence
    for i in range(lo, hi):
        parts = [f"     <Trackpoint>\n      <Time>{_time(start, float(t[i]))}</Time>\n"]
        if math.isfinite(d[i]) and d[i] >= 0:
            parts.append(f"      <DistanceMeters>{_num(float(d[i]))}</DistanceMeters>\n")
        if math.isfinite(hr[i]) and round(float(hr[i])) >= 1:
            parts.append(f"      <HeartRateBpm><Value>{min(255, round(float(hr[i])))}</Value></HeartRateBpm>\n")
        ext = []
        if math.isfinite(spd[i]) and spd[i] >= 0:
            ext.append(f"<ns3:Speed>{_num(float(spd[i]))}</ns3:Speed>")
        if math.isfinite(cad[i]) and cad[i] >= 0:
            ext.append(f"<ns3:RunCadence>{min(254, round(float(cad[i]) / 2))}</ns3:RunCadence>")
        if ext:
            parts.append(f"      <Extensions><ns3:TPX>{''.join(ext)}</ns3:TPX></Extensions>\n")
        parts.append("     </Trackpoint>\n")
        yield "".join(parts)
