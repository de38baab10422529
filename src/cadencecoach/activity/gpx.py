"""GPX tracks (``.gpx``, GPX 1.0 and 1.1) -> :class:`~cadencecoach.activity.model.Activity`.

Read (elements matched on their local names, so ``gpxtpx:hr`` and ``ns3:hr`` are alike)::

    gpx/trk[/type]/trkseg/trkpt[@lat, @lon]/time (ISO 8601, Z or an offset)
      extensions/TrackPointExtension/hr (bpm), cad        (Garmin's gpxtpx v1 and v2)
      extensions/heartrate, extensions/cadence            (other exporters; also hr, heart_rate, cad)

* ``distance`` is the running sum of the great-circle (haversine, R = 6,371,008.8 m) distances between the
  points, in time order, across segments; ``speed`` the distance covered from 2 points before to 2 after over
  the time between them (NaN where that time is 0);
* ``cad`` is per leg (strides per minute) for a run, as Garmin and Strava export it (about 85-90): the
  running-cadence rule of :mod:`._common` doubles it unless its median while moving (speed over 1.5 m/s) is 120
  or more. A track whose ``type`` is a bike ride keeps no cadence (pedal rpm), with a note;
* a point with no ``time`` is left out (with a note); ``lat``/``lon`` must be numbers in range (else an error
  at the point). No laps: GPX has none. ``sport`` is the track's ``type`` when there is one.

A GPX file with routes or waypoints but no track is refused: it is a plan, not a recording.

The XML is streamed (:class:`~cadencecoach.activity._common.XmlStream`), 1 MiB at a time, into the point
arrays: no element is kept.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

from cadencecoach.activity._common import (
    MAX_SAMPLES,
    NAN,
    ActivityError,
    XmlDocument,
    XmlStream,
    attribute,
    build_activity,
    clip,
    forward,
    local,
    number,
    read_stream,
    time_at,
    too_many,
    well_formed,
    xml_root,
)
from cadencecoach.activity.model import Activity, Floats

__all__ = ["EARTH_RADIUS_M", "haversine_m", "parse_gpx", "read_tree"]

EARTH_RADIUS_M = 6_371_008.8
"""The mean Earth radius (IUGG), for the haversine distance."""

HEART_RATE_NAMES = {"hr", "heartrate", "heart_rate"}
CADENCE_NAMES = {"cad", "cadence", "runcadence"}
BIKE_WORDS = ("bik", "cycl", "ride")


def haversine_m(lat: Floats, lon: Floats) -> Floats:
    """The great-circle distance (m) from each point to the next (one fewer than the points), in degrees.

    >>> round(float(haversine_m(np.array([0.0, 0.01]), np.array([0.0, 0.0]))[0]), 2)
    1111.95
    """
    phi, lam = np.radians(lat), np.radians(lon)
    dphi, dlam = np.diff(phi), np.diff(lam)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(dlam / 2) ** 2
    out: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return out


def parse_gpx(data: bytes, display: str = "<activity.gpx>") -> Activity:
    """A GPX file's bytes -> Activity; ActivityError (``FILE:LINE:COL: message``) when it cannot be read."""
    doc, notes = xml_root(data, display)
    if local(doc.tag) != "gpx":
        well_formed(doc, display)
        raise ActivityError(display, f"<{clip(doc.tag)}> is not GPX: a GPX file's root is <gpx>", doc.line, doc.col)
    return read_tree(doc, display, notes)


def _coordinate(attrs: dict[str, str], name: str, limit: float, display: str, line: int, col: int) -> float:
    raw = attribute(attrs, name)
    value = number(raw) if raw is not None else NAN
    if value is None or not math.isfinite(value) or abs(value) > limit:
        shown = f"'{clip(raw)}'" if raw is not None else "missing"
        raise ActivityError(
            display, f"<trkpt> {name} is {shown}: it must be a number of degrees, -{limit:g} to {limit:g}", line, col
        )
    return value


def read_tree(doc: XmlDocument, display: str, notes: list[str] | None = None) -> Activity:
    """The Activity of a GPX file read as far as its root ``<gpx>``
    (:func:`~cadencecoach.activity._common.xml_root`): its elements are streamed, none kept."""
    reader = _Reader(display)
    read_stream(doc, display, reader)
    if not reader.tracks:
        for found, words in ((reader.route, "a route"), (reader.waypoints, "waypoints")):
            if found is not None:
                raise ActivityError(display, f"this GPX file holds {words}, not a recorded track (<trk>)", *found)
        raise ActivityError(display, "no track (<trk>) in the GPX file: nothing was recorded", doc.line, doc.col)
    said = list(notes or ())
    if reader.untimed:
        said.append(f"{reader.untimed} track point{'s' if reader.untimed > 1 else ''} with no <time> left out")
    if reader.naive:
        said.append("times without a time zone read as UTC")
    if reader.bike_cadence:
        said.append("the cadence of a bike ride left out: pedal rpm is not a step cadence")
    times = np.array(reader.t, dtype=np.float64)
    keep, dropped = forward(times)  # (before the distance: a point out of order would add a detour)
    if dropped:
        said.append(dropped)
    times = times[keep]
    la_k, lo_k = np.asarray(reader.lat)[keep], np.asarray(reader.lon)[keep]
    distance = np.concatenate(([0.0], np.cumsum(haversine_m(la_k, lo_k)))) if len(times) else np.zeros(0)
    return build_activity(
        display,
        "gpx",
        (times, np.asarray(reader.cad)[keep], np.full(len(times), NAN), distance, np.asarray(reader.hr)[keep]),
        strides=True,
        derive_speed="",
        sport=reader.sport,
        notes=said,
        nothing="no track point has a <time>: the GPX file is a route, not a recording",
    )


# The roles of the elements read (see XmlStream), by their path:
_ROOT = 1  # gpx
_TRACK = 2  # ./trk
_TYPE = 3  # ./trk/type (the first)
_SEGMENT = 4  # ./trk/trkseg
_POINT = 5  # ./trk/trkseg/trkpt
_TIME = 6  # .../trkpt/time (the first)
_EXTENSIONS = 7  # .../trkpt/extensions (the first)
_UNDER = 8  # + depth - 1: an element 1 to 3 levels under <extensions>
_VALUE = 11  # + depth - 1: one whose name is a heart rate's or a cadence's (HEART_RATE_NAMES, CADENCE_NAMES)
_DEPTH = {_EXTENSIONS: 0, **{_UNDER + d: d + 1 for d in range(3)}, **{_VALUE + d: d + 1 for d in range(3)}}


class _Reader(XmlStream):
    """A GPX file's track points as its elements stream by (the module's doc says what is read).

    Values are read in the order the element tree was read in: a point's ``lat`` and ``lon`` at its start, its
    ``time`` at its end, then its heart rate and cadence: under its (first) ``extensions``, the first value of
    each (up to 3 levels down, in document order) that is not empty, and the first of those two that is not a
    number is the error. A track's ``type`` is known at the track's end: a bike ride's cadence is left out then.
    """

    TEXT = frozenset({_TYPE, _TIME, *range(_VALUE, _VALUE + 3)})

    def __init__(self, display: str) -> None:
        super().__init__(display)
        self.t = array("d")
        self.lat = array("d")
        self.lon = array("d")
        self.hr = array("d")
        self.cad = array("d")
        self.untimed = 0
        self.naive = self.bike_cadence = False
        self.sport: str | None = None
        self.tracks = 0
        self.route: tuple[int, int] | None = None  # the first <rte>'s place
        self.waypoints: tuple[int, int] | None = None  # the first <wpt>'s
        # the open track
        self.kind: str | None = None
        self.track_first = 0
        # the open point
        self.point_at = (NAN, NAN)
        self.time: tuple[str, int, int, str] | None = None
        self.extensions = False
        self.order = 0  # the values under its extensions so far
        self.values: list[tuple[int, int]] = []  # the open values: which (0 heart rate, 1 cadence), their order
        self.first: list[tuple[int, float, ActivityError | None] | None] = [None, None]  # order, value, error

    def enter(self, parent: int, name: str, attrs: dict[str, str], line: int, col: int) -> int:
        depth = _DEPTH.get(parent)
        if depth is not None:
            if depth >= 3:
                return 0
            low = name.lower()
            which = 0 if low in HEART_RATE_NAMES else 1 if low in CADENCE_NAMES else -1
            if which < 0:
                return _UNDER + depth
            self.order += 1
            self.values.append((which, self.order))
            return _VALUE + depth
        if parent == _POINT:
            if name == "time":
                if self.time is not None:
                    return 0
                self.time = ("", line, col, name)
                return _TIME
            if name == "extensions" and not self.extensions:
                self.extensions = True
                return _EXTENSIONS
            return 0
        if parent == _SEGMENT:
            if name != "trkpt":
                return 0
            self.point_at = (
                _coordinate(attrs, "lat", 90, self.display, line, col),
                _coordinate(attrs, "lon", 180, self.display, line, col),
            )
            self.time = None
            self.extensions = False
            self.order = 0
            self.first = [None, None]
            return _POINT
        if parent == _TRACK:
            if name == "trkseg":
                return _SEGMENT
            if name == "type" and self.kind is None:
                self.kind = ""
                return _TYPE
            return 0
        if parent == _ROOT:
            if name == "trk":
                self.tracks += 1
                self.kind = None
                self.track_first = len(self.t)
                return _TRACK
            if name == "rte" and self.route is None:
                self.route = (line, col)
            elif name == "wpt" and self.waypoints is None:
                self.waypoints = (line, col)
            return 0
        return _ROOT if parent == -1 else 0

    def leave(self, role: int, text: str, line: int, col: int, tag: str) -> None:
        if role >= _VALUE:
            which, order = self.values.pop()
            value = number(text)
            wrong = None
            if value is None:
                wrong = ActivityError(self.display, f"<{local(tag)}> '{clip(text.strip())}' is not a number", line, col)
                value = NAN
            elif math.isnan(value):
                return  # (empty: the next one is read)
            first = self.first[which]
            if first is None or order < first[0]:
                self.first[which] = (order, value, wrong)
        elif role == _TIME:
            self.time = (text, line, col, local(tag))
        elif role == _POINT:
            self.point()
        elif role == _TYPE:
            self.kind = text
        elif role == _TRACK:
            self.track()

    def point(self) -> None:
        if self.time is None or not self.time[0].strip():
            self.untimed += 1
            return
        text, line, col, name = self.time
        when, zoned = time_at(text, self.display, name, line, col)
        self.naive |= not zoned
        wrong, order = None, 0
        for found in self.first:
            if found is not None and found[2] is not None and (wrong is None or found[0] < order):
                wrong, order = found[2], found[0]
        if wrong is not None:
            raise wrong  # (the first in document order)
        heart, cadence = self.first
        if len(self.t) >= MAX_SAMPLES:
            raise too_many(self.display, "track points")
        self.t.append(when)
        self.lat.append(self.point_at[0])
        self.lon.append(self.point_at[1])
        self.hr.append(NAN if heart is None else heart[1])
        self.cad.append(NAN if cadence is None else cadence[1])

    def track(self) -> None:
        kind = self.kind.strip().lower() if self.kind is not None and self.kind.strip() else None
        self.sport = self.sport or (clip(kind) if kind else None)
        if kind is not None and any(w in kind for w in BIKE_WORDS):
            cad = self.cad
            for i in range(self.track_first, len(cad)):
                if not math.isnan(cad[i]):
                    self.bike_cadence = True
                    cad[i] = NAN
