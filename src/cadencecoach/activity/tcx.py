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
problem is ``FILE:LINE:COL: message``.

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
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np

from cadencecoach import atomic
from cadencecoach.activity._common import (
    MAX_LAPS,
    NAN,
    ActivityError,
    RawLap,
    Samples,
    build_activity,
    child,
    children,
    clip,
    element_number,
    element_time,
    local,
    too_many_laps,
    xml_root,
)
from cadencecoach.activity.model import Activity, Lap

if TYPE_CHECKING:
    from cadencecoach.activity._common import XmlElement

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
    root, notes = xml_root(data, display)
    if local(root.tag) != "TrainingCenterDatabase":
        raise ActivityError(
            display,
            f"<{clip(root.tag)}> is not TCX: a TCX file's root is <TrainingCenterDatabase>",
            root.line,
            root.col,
        )
    return read_tree(root, display, notes)


def _activities(root: XmlElement) -> Iterator[XmlElement]:
    for lists in children(root, "Activities"):
        for el in lists.children:
            name = local(el.tag)
            if name == "Activity":
                yield el
            elif name == "MultiSportSession":
                for part in el.children:
                    if local(part.tag) in ("FirstSport", "NextSport"):
                        yield from children(part, "Activity")


def read_tree(root: XmlElement, display: str, notes: list[str] | None = None) -> Activity:
    """The Activity of a TCX element tree (its root ``<TrainingCenterDatabase>``)."""
    acts = list(_activities(root))
    if not acts:
        for what, words in (("Workouts", "workouts (plans)"), ("Courses", "courses (routes)")):
            el = child(root, what)
            if el is not None and el.children:
                raise ActivityError(display, f"this TCX file holds {words}, not a recorded activity", el.line, el.col)
        raise ActivityError(display, "no <Activity> in the TCX file: no recorded activity", root.line, root.col)
    reader = _Reader(display)
    for act in acts:
        reader.activity(act)
    said = list(notes or ())
    if reader.untimed:
        said.append(f"{reader.untimed} trackpoint{'s' if reader.untimed > 1 else ''} with no <Time> left out")
    if reader.naive:
        said.append("times without a time zone read as UTC")
    if reader.bike_cadence:
        said.append("the cadence of the Biking activity left out: pedal rpm is not a step cadence")
    sport = acts[0].get("Sport")
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


class _Reader:
    def __init__(self, display: str) -> None:
        self.display = display
        self.samples = Samples(display, "trackpoints")
        self.laps: list[RawLap] = []
        self.untimed = 0
        self.naive = False
        self.bike_cadence = False

    def activity(self, act: XmlElement) -> None:
        sport = (act.get("Sport") or "").strip().lower()
        bike = sport == "biking"
        for lap in children(act, "Lap"):
            first = len(self.samples)
            for track in children(lap, "Track"):
                for point in children(track, "Trackpoint"):
                    self.trackpoint(point, bike)
            self.lap(lap, first)

    def lap(self, lap: XmlElement, first: int) -> None:
        if len(self.laps) >= MAX_LAPS:
            raise too_many_laps(self.display)
        raw = lap.get("StartTime")
        if raw is not None:
            start, zoned = element_time(lap, self.display, raw)
            self.naive |= not zoned
        elif len(self.samples) > first:
            start = self.samples.t[first]
        else:
            return
        total = self._number(lap, "TotalTimeSeconds")
        distance = self._number(lap, "DistanceMeters")
        trigger_el = child(lap, "TriggerMethod")
        trigger = None
        if trigger_el is not None and trigger_el.text.strip():
            name = trigger_el.text.strip()
            trigger = TRIGGERS_IN.get(name.lower(), "heart_rate" if name.lower() == "heartrate" else clip(name))
        self.laps.append(
            RawLap(
                start,
                start + total if math.isfinite(total) and total >= 0 else None,
                distance if math.isfinite(distance) else None,
                trigger,
            )
        )

    def _number(self, el: XmlElement, name: str) -> float:
        found = child(el, name)
        return NAN if found is None else element_number(found, self.display)

    def trackpoint(self, point: XmlElement, bike: bool) -> None:
        time_el = child(point, "Time")
        if time_el is None or not time_el.text.strip():
            self.untimed += 1
            return
        t, zoned = element_time(time_el, self.display)
        self.naive |= not zoned
        distance = heart_rate = cadence = speed = run_cadence = NAN
        for el in point.children:
            name = local(el.tag)
            if name == "DistanceMeters":
                distance = element_number(el, self.display)
            elif name == "HeartRateBpm":
                value = child(el, "Value")
                if value is not None:
                    heart_rate = element_number(value, self.display)
            elif name == "Cadence":
                cadence = element_number(el, self.display)
            elif name == "Extensions":
                for tpx in el.children:
                    if local(tpx.tag) != "TPX":
                        continue
                    for x in tpx.children:
                        if local(x.tag) == "Speed":
                            speed = element_number(x, self.display)
                        elif local(x.tag) == "RunCadence":
                            run_cadence = element_number(x, self.display)
        if not math.isnan(run_cadence):
            cadence = run_cadence
        if bike and not math.isnan(cadence):
            self.bike_cadence = True
            cadence = NAN
        self.samples.add(t, cadence, speed, distance, heart_rate)


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
