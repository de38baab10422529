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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from cadencecoach.activity._common import (
    MAX_SAMPLES,
    NAN,
    ActivityError,
    build_activity,
    child,
    children,
    clip,
    descendants,
    element_number,
    element_time,
    forward,
    local,
    number,
    too_many,
    xml_root,
)
from cadencecoach.activity.model import Activity, Floats

if TYPE_CHECKING:
    from cadencecoach.activity._common import XmlElement

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
    root, notes = xml_root(data, display)
    if local(root.tag) != "gpx":
        raise ActivityError(display, f"<{clip(root.tag)}> is not GPX: a GPX file's root is <gpx>", root.line, root.col)
    return read_tree(root, display, notes)


def _coordinate(point: XmlElement, name: str, limit: float, display: str) -> float:
    raw = point.get(name)
    value = number(raw) if raw is not None else NAN
    if value is None or not math.isfinite(value) or abs(value) > limit:
        shown = f"'{clip(raw)}'" if raw is not None else "missing"
        raise ActivityError(
            display,
            f"<trkpt> {name} is {shown}: it must be a number of degrees, -{limit:g} to {limit:g}",
            point.line,
            point.col,
        )
    return value


def read_tree(root: XmlElement, display: str, notes: list[str] | None = None) -> Activity:
    """The Activity of a GPX element tree (its root ``<gpx>``)."""
    tracks = list(children(root, "trk"))
    if not tracks:
        for what, words in (("rte", "a route"), ("wpt", "waypoints")):
            el = child(root, what)
            if el is not None:
                raise ActivityError(
                    display, f"this GPX file holds {words}, not a recorded track (<trk>)", el.line, el.col
                )
        raise ActivityError(display, "no track (<trk>) in the GPX file: nothing was recorded", root.line, root.col)
    t: list[float] = []
    lat: list[float] = []
    lon: list[float] = []
    hr: list[float] = []
    cad: list[float] = []
    untimed = 0
    naive = bike_cadence = False
    sport: str | None = None
    for trk in tracks:
        kind_el = child(trk, "type")
        kind = kind_el.text.strip().lower() if kind_el is not None and kind_el.text.strip() else None
        sport = sport or (clip(kind) if kind else None)
        bike = kind is not None and any(w in kind for w in BIKE_WORDS)
        for seg in children(trk, "trkseg"):
            for point in children(seg, "trkpt"):
                la = _coordinate(point, "lat", 90, display)
                lo = _coordinate(point, "lon", 180, display)
                time_el = child(point, "time")
                if time_el is None or not time_el.text.strip():
                    untimed += 1
                    continue
                when, zoned = element_time(time_el, display)
                naive |= not zoned
                heart = cadence = NAN
                ext = child(point, "extensions")
                if ext is not None:
                    for el in descendants(ext, 3):
                        name = local(el.tag).lower()
                        if name in HEART_RATE_NAMES and math.isnan(heart):
                            heart = element_number(el, display)
                        elif name in CADENCE_NAMES and math.isnan(cadence):
                            cadence = element_number(el, display)
                if bike and not math.isnan(cadence):
                    bike_cadence = True
                    cadence = NAN
                if len(t) >= MAX_SAMPLES:
                    raise too_many(display, "track points")
                t.append(when)
                lat.append(la)
                lon.append(lo)
                hr.append(heart)
                cad.append(cadence)
    said = list(notes or ())
    if untimed:
        said.append(f"{untimed} track point{'s' if untimed > 1 else ''} with no <time> left out")
    if naive:
        said.append("times without a time zone read as UTC")
    if bike_cadence:
        said.append("the cadence of a bike ride left out: pedal rpm is not a step cadence")
    times = np.asarray(t, dtype=np.float64)
    keep, dropped = forward(times)  # (before the distance: a point out of order would add a detour)
    if dropped:
        said.append(dropped)
    times = times[keep]
    la_k, lo_k = np.asarray(lat)[keep], np.asarray(lon)[keep]
    distance = np.concatenate(([0.0], np.cumsum(haversine_m(la_k, lo_k)))) if len(times) else np.zeros(0)
    return build_activity(
        display,
        "gpx",
        (times, np.asarray(cad)[keep], np.full(len(times), NAN), distance, np.asarray(hr)[keep]),
        strides=True,
        derive_speed="",
        sport=sport,
        notes=said,
        nothing="no track point has a <time>: the GPX file is a route, not a recording",
    )
