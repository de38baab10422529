"""Synthetic recorded activities for tests: FIT (written by Garmin's own SDK encoder), TCX, GPX and CSV bytes,
each as a device or an exporter writes them, with the knobs the readers' rules turn on.

    from activity_files import WHEN, csv_bytes, fit_bytes, gpx_bytes, tcx_bytes, run_records

``tests/`` is on ``sys.path`` while pytest runs. :func:`fit_bytes` needs the ``fit`` extra (``garmin_fit_sdk``),
imported only when called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

WHEN = datetime(2026, 5, 1, 7, 30, tzinfo=timezone.utc)
"""The start of every synthetic activity (UTC)."""

TCX_NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
TPX_NS = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
GPXTPX = {
    1: "http://www.garmin.com/xmlschemas/TrackPointExtension/v1",
    2: "http://www.garmin.com/xmlschemas/TrackPointExtension/v2",
}


# ----------------------------------------------------------------------------------------------- FIT


def run_records(
    n: int,
    *,
    cadence: int | None = 85,
    fractional: float | None = None,
    speed: float | None = 3.0,
    heart_rate: int | None = 150,
    every: float = 1.0,
    start: float = 0.0,
    activity_type: str | None = None,
) -> list[dict[str, Any]]:
    """`n` record fields at one every `every` s from `start` (``t`` is seconds from :data:`WHEN`), the distance
    at `speed`."""
    out = []
    for i in range(n):
        t = start + i * every
        rec: dict[str, Any] = {"t": t}
        if cadence is not None:
            rec["cadence"] = cadence
        if fractional is not None:
            rec["fractional_cadence"] = fractional
        if speed is not None:
            rec["enhanced_speed"] = speed
            rec["distance"] = speed * t
        if heart_rate is not None:
            rec["heart_rate"] = heart_rate
        if activity_type is not None:
            rec["activity_type"] = activity_type
        out.append(rec)
    return out


def fit_bytes(
    records: Iterable[Mapping[str, Any]],
    *,
    laps: Sequence[Mapping[str, Any]] = (),
    sessions: Sequence[Mapping[str, Any]] = (),
    file_type: str | None = "activity",
    start: datetime = WHEN,
) -> bytes:
    """A FIT file written by Garmin's SDK: file_id (`file_type`), the records (``t``: seconds from `start`,
    else a ``timestamp``), then the laps and sessions (``start``/``end``: seconds from `start`; other keys are
    FIT fields: ``sport``, ``total_distance``, ``lap_trigger``...)."""
    from garmin_fit_sdk import Encoder

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    enc = Encoder()
    file_id: dict[str, Any] = {
        "mesg_num": 0,
        "manufacturer": "development",
        "product": 0,
        "serial_number": 1,
        "time_created": start,
    }
    if file_type is not None:
        file_id["type"] = file_type
    enc.write_mesg(file_id)
    for rec in records:
        fields = {k: v for k, v in rec.items() if k != "t"}
        if "t" in rec:
            fields["timestamp"] = at(rec["t"])
        enc.write_mesg({"mesg_num": 20, **fields})
    for num, items in ((19, laps), (18, sessions)):
        for item in items:
            fields = {k: v for k, v in item.items() if k not in ("start", "end")}
            s, e = item["start"], item["end"]
            enc.write_mesg(
                {
                    "mesg_num": num,
                    "start_time": at(s),
                    "timestamp": at(e),
                    "total_elapsed_time": e - s,
                    "total_timer_time": e - s,
                    **fields,
                }
            )
    data: bytes = enc.close()
    return data


# ----------------------------------------------------------------------------------------------- TCX


def iso(seconds: float, *, offset_h: int = 0, start: datetime = WHEN) -> str:
    """`start` + `seconds` in ISO 8601: ``Z``, or the local time with a ``+HH:00`` offset."""
    when = start + timedelta(seconds=seconds)
    if offset_h == 0:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    local = when.astimezone(timezone(timedelta(hours=offset_h)))
    return local.isoformat(timespec="milliseconds")


def tcx_bytes(
    points: Sequence[Mapping[str, Any]],
    *,
    sport: str = "Running",
    laps: Sequence[tuple[float, float]] | None = None,
    style: str = "default",
    offset_h: int = 0,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    """A TCX activity: `points` are dicts of ``t`` (s from :data:`WHEN`; None: no <Time>), ``distance``, ``hr``,
    ``cadence`` (<Cadence>), ``run_cadence`` and ``speed`` (the TPX extension); `laps` (start, end) seconds
    (default one lap around all). `style`: ``default`` (TCX the default namespace, TPX as ``ns3:``, as Garmin
    Connect writes it), ``prefixed`` (every element ``tc:``, TPX a default namespace on <TPX>), or ``bare`` (no
    namespaces at all)."""
    p = "tc:" if style == "prefixed" else ""
    if style == "default":
        root_ns = f' xmlns="{TCX_NS}" xmlns:ns3="{TPX_NS}"'
    elif style == "prefixed":
        root_ns = f' xmlns:tc="{TCX_NS}"'
    else:
        root_ns = ""
    times = [pt["t"] for pt in points if pt.get("t") is not None]
    spans = laps if laps is not None else [(min(times, default=0.0), max(times, default=0.0))]
    out = [prolog, f'<{p}TrainingCenterDatabase{root_ns}><{p}Activities><{p}Activity Sport="{sport}">']
    out.append(f"<{p}Id>{iso(0, offset_h=offset_h)}</{p}Id>")
    for k, (s, e) in enumerate(spans):
        last = k == len(spans) - 1
        inside = [pt for pt in points if pt.get("t") is None or (s <= pt["t"] < e or (last and pt["t"] >= s))]
        out.append(f'<{p}Lap StartTime="{iso(s, offset_h=offset_h)}">')
        out.append(f"<{p}TotalTimeSeconds>{e - s}</{p}TotalTimeSeconds><{p}DistanceMeters>0</{p}DistanceMeters>")
        out.append(f"<{p}Calories>0</{p}Calories><{p}Intensity>Active</{p}Intensity>")
        out.append(f"<{p}TriggerMethod>Manual</{p}TriggerMethod><{p}Track>")
        for pt in inside:
            out.append(f"<{p}Trackpoint>")
            if pt.get("t") is not None:
                out.append(f"<{p}Time>{iso(pt['t'], offset_h=offset_h)}</{p}Time>")
            if "distance" in pt:
                out.append(f"<{p}DistanceMeters>{pt['distance']}</{p}DistanceMeters>")
            if "hr" in pt:
                out.append(f"<{p}HeartRateBpm><{p}Value>{pt['hr']}</{p}Value></{p}HeartRateBpm>")
            if "cadence" in pt:
                out.append(f"<{p}Cadence>{pt['cadence']}</{p}Cadence>")
            ext = ""
            x = "ns3:" if style == "default" else ""
            if "speed" in pt:
                ext += f"<{x}Speed>{pt['speed']}</{x}Speed>"
            if "run_cadence" in pt:
                ext += f"<{x}RunCadence>{pt['run_cadence']}</{x}RunCadence>"
            if ext:
                tpx_ns = f' xmlns="{TPX_NS}"' if style == "prefixed" else ""
                out.append(f"<{p}Extensions><{x}TPX{tpx_ns}>{ext}</{x}TPX></{p}Extensions>")
            out.append(f"</{p}Trackpoint>")
        out.append(f"</{p}Track></{p}Lap>")
    out.append(f"</{p}Activity></{p}Activities></{p}TrainingCenterDatabase>\n")
    return "".join(out).encode("utf-8")


# ----------------------------------------------------------------------------------------------- GPX


def gpx_bytes(
    points: Sequence[Mapping[str, Any]],
    *,
    extension: str = "gpxtpx1",
    kind: str | None = None,
    segments: int = 1,
) -> bytes:
    """A GPX 1.1 track: `points` are dicts of ``lat``, ``lon``, ``t`` (s from :data:`WHEN`; None: no <time>),
    ``hr``, ``cad``. `extension`: ``gpxtpx1``/``gpxtpx2`` (Garmin's TrackPointExtension, prefixed ``gpxtpx:``),
    or ``plain`` (``<heartrate>``/``<cadence>`` straight in <extensions>, as some exporters write). The points
    are split into `segments` <trkseg>s; `kind` is the track's <type>."""
    ns = ""
    if extension.startswith("gpxtpx"):
        ns = f' xmlns:gpxtpx="{GPXTPX[int(extension[-1])]}"'
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<gpx version="1.1" creator="tests" xmlns="http://www.topografix.com/GPX/1/1"{ns}>',
        "<metadata><name>run</name></metadata><trk><name>run</name>",
    ]
    if kind is not None:
        out.append(f"<type>{kind}</type>")
    per = max(1, -(-len(points) // segments))
    for s in range(0, len(points), per):
        out.append("<trkseg>")
        for pt in points[s : s + per]:
            out.append(f'<trkpt lat="{pt["lat"]}" lon="{pt["lon"]}"><ele>10.0</ele>')
            if pt.get("t") is not None:
                out.append(f"<time>{iso(pt['t'])}</time>")
            if "hr" in pt or "cad" in pt:
                if extension == "plain":
                    inner = (f"<heartrate>{pt['hr']}</heartrate>" if "hr" in pt else "") + (
                        f"<cadence>{pt['cad']}</cadence>" if "cad" in pt else ""
                    )
                else:
                    inner = (
                        "<gpxtpx:TrackPointExtension>"
                        + (f"<gpxtpx:hr>{pt['hr']}</gpxtpx:hr>" if "hr" in pt else "")
                        + (f"<gpxtpx:cad>{pt['cad']}</gpxtpx:cad>" if "cad" in pt else "")
                        + "</gpxtpx:TrackPointExtension>"
                    )
                out.append(f"<extensions>{inner}</extensions>")
            out.append("</trkpt>")
        out.append("</trkseg>")
    out.append("</trk></gpx>\n")
    return "".join(out).encode("utf-8")


def meridian_track(n: int, metres_per_s: float = 3.0, lat0: float = 45.0, lon: float = 7.0) -> list[dict[str, Any]]:
    """`n` points a second apart going north along a meridian at `metres_per_s` (a degree of latitude is
    R x pi / 180 m on the haversine's sphere)."""
    import math

    deg_per_m = 180 / (math.pi * 6_371_008.8)
    return [{"lat": lat0 + i * metres_per_s * deg_per_m, "lon": lon, "t": float(i)} for i in range(n)]


# ----------------------------------------------------------------------------------------------- CSV


def csv_bytes(rows: Iterable[Sequence[object]], header: str = "time,cadence,speed,distance,heart_rate") -> bytes:
    """A CSV activity: the header, then one line per row (None: an empty cell)."""
    lines = [header]
    for row in rows:
        lines.append(",".join("" if v is None else str(v) for v in row))
    return ("\n".join(lines) + "\n").encode("utf-8")
