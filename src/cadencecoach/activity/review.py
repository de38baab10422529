"""A recorded run against the workout it was meant to be (``cadencecoach review``): alignment and figures.

Pure (numpy, no I/O). :func:`review` takes an :class:`~cadencecoach.activity.model.Activity` and, optionally,
the compiled workout's steps (:attr:`cadencecoach.core.timeline.Timeline.steps`) and returns a :class:`Review`:
one :class:`Row` per step (or per lap, or per split without a workout) and an overall row. docs/REVIEW.md is the
reference; the rules in short:

Alignment (with a workout)
    **by laps** when the watch recorded one lap per step: as many laps as steps (lap *i* is step *i*), or at
    least 2 laps but fewer than the steps (a run stopped early: the laps are the first steps) when each lap but
    the last is about as long as its step (a time step within 20 % or 10 s, a distance step within 25 % of its
    distance) and the last is not much longer. Otherwise **by time**: step *i* is the stretch of the activity
    from ``offset + start`` to ``offset + end`` of the workout's planned times. An `offset_s` given always
    aligns by time (the runner says where the workout began). :attr:`Review.alignment` says which and why.
Rows without a workout
    one per lap when the file has 2 laps or more; else one per split of `split_m` (1 km, or 1 mile) and a last,
    shorter one; with no distance at all, no rows. The overall row is then the whole activity.
Overall (with a workout)
    the span of the steps run, from the first one's start to the last one's end; its distance the sum of the
    steps' where each has one; its share that of the clicking steps together.
Time
    every sample holds its values until the next sample, for at most :data:`MAX_GAP_S` (10 s): a longer gap
    (a watch paused, a lost signal) counts as 10 s of the sample before it and the rest as no time. Every
    figure is weighted by that time, so a 1 Hz and a "smart recording" file give the same means. A sample's
    stretch that crosses a row's boundary is split between the two rows.
Cadence
    the mean over the time with a cadence above 0; a cadence of 0 is time **stopped** (shown apart, never in
    the mean); NaN (nothing recorded) is neither. **In tolerance**: the share of the time with a cadence during
    which it was within ±`tolerance_spm` of the click's cadence at that moment (a ramp ``a-b`` interpolated
    over the row's measured time). A step whose click is off has its planned cadence kept (JSON) but no share:
    there was nothing to follow. The overall share is that of the clicking rows together.
Pace and distance
    a lap's own distance when the device recorded one, else the running distance's growth over the row
    (interpolated at its ends), else the speed integrated over time; pace is the row's recorded time (gaps
    capped as above) per km of it.
Heart rate
    time-weighted mean and the highest sample in the row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cadencecoach.activity.model import Activity, Floats, Lap
from cadencecoach.core.timeline import TimedStep
from cadencecoach.workout.units import METERS_PER_MILE, format_clock, parse_distance

__all__ = [
    "MAX_GAP_S",
    "MAX_SPLITS",
    "TOLERANCE_SPM",
    "Review",
    "Row",
    "TrialFind",
    "TrialRun",
    "align",
    "find_trials",
    "format_pace",
    "review",
]

TOLERANCE_SPM = 3.0
"""±spm of the click that count as on it (the issue's ±3)."""
MAX_GAP_S = 10.0
"""A sample holds its values this long at most: a longer gap between samples is no time beyond it."""
MAX_SPLITS = 1000
"""Splits at most; a longer run (or a nonsense distance) has no split rows, with a note."""
LAP_TIME_SLACK = (0.2, 10.0)
"""A lap is about as long as a time step within 20 % or 10 s (the larger)."""
LAP_DISTANCE_SLACK = 0.25
"""... and as long as a distance step within 25 % of its distance."""
MILE_M = float(METERS_PER_MILE)


def format_pace(s_per_km: float | None, unit_m: float = 1000.0) -> str:
    """``4:45/km`` (or ``/mi`` with ``unit_m`` a mile); ``-`` for None.

    >>> format_pace(285.0), format_pace(285.0, MILE_M), format_pace(None)
    ('4:45/km', '7:39/mi', '-')
    """
    if s_per_km is None or not math.isfinite(s_per_km):
        return "-"
    return format_clock(s_per_km * unit_m / 1000) + ("/mi" if abs(unit_m - MILE_M) < 1 else "/km")


@dataclass(frozen=True)
class Row:
    """One step, lap or split of a review (or the overall row): what was planned and what was measured.

    Times are seconds on the activity's clock (``start_s``/``end_s``), None for a step the activity never
    reached. ``in_tolerance`` is a share 0..1 (None: no click, or no cadence measured).
    """

    index: int
    label: str
    kind: str  # a step's kind ("warmup", "run", ...), "lap", "split" or "overall"
    rep: tuple[int, int] | None = None
    status: str = "done"  # "done", "partial" (the activity ended during it), "missing" (never reached)
    start_s: float | None = None
    end_s: float | None = None
    planned_s: float | None = None
    planned_distance_m: float | None = None
    planned_cadence: tuple[float, float] | None = None
    click: bool | None = None
    planned_pace_s_per_km: float | None = None
    duration_s: float | None = None  # elapsed
    recorded_s: float = 0.0  # time with samples (gaps capped)
    cadence_s: float = 0.0  # time with a cadence above 0 (the mean's and the share's weight)
    stopped_s: float = 0.0  # time with a cadence of 0
    in_tolerance_s: float = 0.0
    distance_m: float | None = None
    cadence_spm: float | None = None
    in_tolerance: float | None = None
    pace_s_per_km: float | None = None
    hr_avg: float | None = None
    hr_max: float | None = None

    @property
    def name(self) -> str:
        """The label with its rep: ``Stride 3/10``."""
        return self.label + (f" {self.rep[0]}/{self.rep[1]}" if self.rep else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "kind": self.kind,
            "rep": {"n": self.rep[0], "of": self.rep[1]} if self.rep else None,
            "status": self.status,
            "start_s": _r(self.start_s, 3),
            "end_s": _r(self.end_s, 3),
            "planned": None
            if self.planned_s is None and self.planned_cadence is None
            else {
                "duration_s": _r(self.planned_s, 3),
                "distance_m": _r(self.planned_distance_m, 3),
                "cadence": None if self.planned_cadence is None else [_r(c, 3) for c in self.planned_cadence],
                "click": self.click,
                "pace_s_per_km": _r(self.planned_pace_s_per_km, 2),
            },
            "duration_s": _r(self.duration_s, 3),
            "recorded_s": _r(self.recorded_s, 3),
            "stopped_s": _r(self.stopped_s, 3),
            "distance_m": _r(self.distance_m, 1),
            "cadence_spm": _r(self.cadence_spm, 2),
            "cadence_s": _r(self.cadence_s, 3),
            "in_tolerance": _r(self.in_tolerance, 4),
            "pace_s_per_km": _r(self.pace_s_per_km, 2),
            "heart_rate": None if self.hr_avg is None else {"avg": _r(self.hr_avg, 1), "max": _r(self.hr_max, 1)},
        }


@dataclass(frozen=True)
class Review:
    """A review: the activity, how it was aligned, a row per step/lap/split and the overall row."""

    activity: Activity
    rows: tuple[Row, ...]
    overall: Row
    rows_are: str  # "steps", "laps", "splits" or "run" (no rows: the overall row is all)
    aligned_by: str | None = None  # "laps" or "time" with a workout; None without
    alignment: str = ""  # why, in words
    workout: str | None = None
    tolerance_spm: float = TOLERANCE_SPM
    offset_s: float | None = None
    split_m: float | None = None
    distance_m: float | None = None  # the whole activity's
    notes: tuple[str, ...] = field(default=())  # the reader's, then the review's

    def to_json(self) -> dict[str, Any]:
        """The ``review --json`` object (docs/REVIEW.md)."""
        a = self.activity
        return {
            "activity": {
                "source": a.source,
                "fmt": a.fmt,
                "started_at": a.started_at.isoformat() if a.started_at else None,
                "sport": a.sport,
                "duration_s": _r(a.duration_s, 3),
                "distance_m": _r(self.distance_m, 1),
                "laps": len(a.laps),
                "notes": list(a.notes),
            },
            "workout": self.workout,
            "aligned_by": self.aligned_by,
            "alignment": self.alignment,
            "offset_s": _r(self.offset_s, 3),
            "rows_are": self.rows_are,
            "split_m": _r(self.split_m, 3),
            "tolerance_spm": self.tolerance_spm,
            "rows": [r.to_json() for r in self.rows],
            "overall": self.overall.to_json(),
            "notes": [n for n in self.notes if n not in a.notes],
        }


def _r(x: float | None, digits: int) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


# ------------------------------------------------------------------------------------------------- samples


class _Samples:
    """The activity's arrays with each sample's stretch ``[t, e)``: until the next sample, at most MAX_GAP_S."""

    def __init__(self, a: Activity) -> None:
        t = np.asarray(a.t, dtype=np.float64)
        self.t = t
        n = len(t)
        e = np.empty(n)
        if n:
            e[:-1] = t[:-1] + np.minimum(np.diff(t), MAX_GAP_S)
            e[-1] = t[-1]  # the last sample ends the recording
        self.e = e
        self.cadence = np.asarray(a.cadence, dtype=np.float64)
        self.speed = np.asarray(a.speed, dtype=np.float64)
        self.hr = np.asarray(a.heart_rate, dtype=np.float64)
        dist = np.asarray(a.distance, dtype=np.float64)
        fin = np.isfinite(dist)
        self.dist_t: Floats = t[fin]
        self.dist: Floats = dist[fin]
        self.has_cadence = a.has("cadence")
        self.has_speed = a.has("speed")
        self.has_hr = a.has("heart_rate")
        self.first = float(t[0]) if n else 0.0
        self.last = float(t[-1]) if n else 0.0

    def distance_between(self, a: float, b: float) -> float | None:
        """The running distance's growth from `a` to `b` (interpolated), or None without one."""
        if len(self.dist) == 0:
            return None
        da, db = np.interp([a, b], self.dist_t, self.dist)
        return float(max(db - da, 0.0))

    def measure(
        self,
        a: float,
        b: float,
        *,
        cadence: tuple[float, float] | None = None,
        tolerance: float = TOLERANCE_SPM,
        distance_m: float | None = None,
    ) -> dict[str, Any]:
        """The figures of ``[a, b)``; `cadence` the click's (start, end) over it for the in-tolerance share;
        `distance_m` the device's own distance for it (None: from the samples)."""
        t, e = self.t, self.e
        lo = max(int(np.searchsorted(t, a, "right")) - 1, 0)
        hi = int(np.searchsorted(t, b, "left"))
        ts, es = t[lo:hi], e[lo:hi]
        starts = np.maximum(ts, a)
        ends = np.minimum(es, b)
        w = np.clip(ends - starts, 0.0, None)
        out: dict[str, Any] = {"recorded_s": float(w.sum())}
        cad = self.cadence[lo:hi]
        with np.errstate(invalid="ignore"):
            moving = np.isfinite(cad) & (cad > 0)
            stopped = cad == 0
        cadence_s = float(w[moving].sum())
        out["cadence_s"] = cadence_s
        out["stopped_s"] = float(w[stopped].sum())
        out["cadence_spm"] = float((w[moving] * cad[moving]).sum() / cadence_s) if cadence_s > 0 else None
        out["in_tolerance_s"] = 0.0
        out["in_tolerance"] = None
        if cadence is not None and cadence_s > 0:
            c0, c1 = cadence
            if c0 == c1 or b <= a:
                target: Floats | float = c0
            else:
                mid = (starts + ends) / 2
                target = c0 + (c1 - c0) * np.clip((mid - a) / (b - a), 0.0, 1.0)
            with np.errstate(invalid="ignore"):
                ok = moving & (np.abs(cad - target) <= tolerance + 1e-9)
            inside = float(w[ok].sum())
            out["in_tolerance_s"] = inside
            out["in_tolerance"] = inside / cadence_s
        hr = self.hr[lo:hi]
        hr_ok = np.isfinite(hr) & (w > 0)
        hr_s = float(w[hr_ok].sum())
        out["hr_avg"] = float((w[hr_ok] * hr[hr_ok]).sum() / hr_s) if hr_s > 0 else None
        out["hr_max"] = float(hr[hr_ok].max()) if hr_s > 0 else None
        if distance_m is None:
            distance_m = self.distance_between(a, b)
        if distance_m is None and self.has_speed:
            sp = self.speed[lo:hi]
            sp_ok = np.isfinite(sp)
            distance_m = float((w[sp_ok] * sp[sp_ok]).sum()) if sp_ok.any() else None
        out["distance_m"] = distance_m
        recorded = out["recorded_s"]
        out["pace_s_per_km"] = recorded / (distance_m / 1000) if distance_m and distance_m >= 1 and recorded else None
        return out


# ------------------------------------------------------------------------------------------------ alignment


@dataclass(frozen=True)
class Alignment:
    """Where each step is in the activity: ``windows[i]`` its ``(start, end)`` (None: not reached), a device
    distance per step where laps give one, and the reason in words."""

    by: str  # "laps" or "time"
    windows: tuple[tuple[float, float] | None, ...]
    distances: tuple[float | None, ...]
    reason: str


def _plausible_prefix(laps: Sequence[Lap], steps: Sequence[TimedStep], s: _Samples) -> bool:
    """Each lap but the last about as long as its step, and the last not much longer (module doc)."""
    for i, (lap, step) in enumerate(zip(laps, steps, strict=False)):
        planned = float(step.end_s - step.start_s)
        took = lap.end_s - lap.start_s
        slack = max(LAP_TIME_SLACK[0] * planned, LAP_TIME_SLACK[1])
        last = i == len(laps) - 1
        if step.distance_m is not None and not last:
            ran = lap.distance_m if lap.distance_m is not None else s.distance_between(lap.start_s, lap.end_s)
            if ran is not None and abs(ran - step.distance_m) > LAP_DISTANCE_SLACK * step.distance_m:
                return False
            if ran is not None:
                continue
        if took > planned + slack or (not last and took < planned - slack):
            return False
    return True


def align(
    activity: Activity, steps: Sequence[TimedStep], *, offset_s: float | None = None, s: _Samples | None = None
) -> Alignment:
    """How `steps` sit in `activity`: by its laps or by the planned times (module doc).

    >>> from cadencecoach.activity.model import Lap
    >>> t = np.arange(0.0, 121.0)
    >>> nan = np.full(len(t), np.nan)
    >>> run = Activity("run.tcx", "tcx", t, nan, nan, nan, nan, laps=(Lap(0, 50), Lap(50, 120)))
    >>> from fractions import Fraction as F
    >>> steps = [TimedStep(i, "run", "Run", None, F(60 * i), F(60 * i + 60), 0, 0, F(180), F(180), True, None,
    ...          None, None, None) for i in range(2)]
    >>> a = align(run, steps)
    >>> a.by, a.windows, a.reason
    ('laps', ((0.0, 50.0), (50.0, 120.0)), '2 laps for 2 steps')
    >>> align(run, steps, offset_s=10).windows
    ((10.0, 70.0), (70.0, 120.0))
    """
    s = s or _Samples(activity)
    laps = [lap for lap in activity.laps if lap.end_s >= lap.start_s]
    n, k = len(steps), len(laps)
    if offset_s is None:
        if k and k == n:
            return Alignment(
                "laps",
                tuple((float(lap.start_s), float(lap.end_s)) for lap in laps),
                tuple(lap.distance_m for lap in laps),
                f"{k} lap{'s' if k > 1 else ''} for {n} step{'s' if n > 1 else ''}",
            )
        if 2 <= k < n and _plausible_prefix(laps, steps, s):
            return Alignment(
                "laps",
                tuple((float(lap.start_s), float(lap.end_s)) for lap in laps) + (None,) * (n - k),
                tuple(lap.distance_m for lap in laps) + (None,) * (n - k),
                f"{k} laps for the first {k} of {n} steps (stopped early)",
            )
        if k == 0:
            why = "the file has no laps"
        elif 2 <= k < n:
            why = f"{k} laps for {n} steps, not as long as the steps"
        else:
            why = f"{k} lap{'s' if k > 1 else ''} for {n} step{'s' if n > 1 else ''}"
        reason = f"{why}: the workout's planned times from the start"
        offset = 0.0
    else:
        offset = float(offset_s)
        reason = f"the workout's planned times from {format_clock(offset)} into the activity (the offset given)"
    origin = s.first + offset
    end = s.last
    windows: list[tuple[float, float] | None] = []
    for step in steps:
        a, b = origin + float(step.start_s), origin + float(step.end_s)
        windows.append((a, min(b, end)) if a < end else None)
    return Alignment("time", tuple(windows), (None,) * n, reason)


# ------------------------------------------------------------------------------------------------- review


def _row(base: Row, s: _Samples, a: float, b: float, **kw: Any) -> Row:
    figures = s.measure(a, b, **kw)
    return replace(base, start_s=a, end_s=b, duration_s=b - a, **figures)


def _step_rows(
    s: _Samples, steps: Sequence[TimedStep], alignment: Alignment, tolerance: float
) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    for step, window, lap_m in zip(steps, alignment.windows, alignment.distances, strict=True):
        planned_cadence = (float(step.cadence_start), float(step.cadence_end))
        base = Row(
            index=step.index,
            label=step.label,
            kind=step.kind,
            rep=step.rep,
            planned_s=float(step.end_s - step.start_s),
            planned_distance_m=step.distance_m,
            planned_cadence=planned_cadence,
            click=step.click,
            planned_pace_s_per_km=step.pace_s_per_km,
        )
        if window is None:
            rows.append(replace(base, status="missing"))
            continue
        a, b = window
        row = _row(
            base,
            s,
            a,
            b,
            cadence=planned_cadence if step.click else None,
            tolerance=tolerance,
            distance_m=lap_m,
        )
        if alignment.by == "time" and a + float(step.end_s - step.start_s) > b + 1e-6:
            row = replace(row, status="partial")
        rows.append(row)
    missing = sum(r.status == "missing" for r in rows)
    if missing:
        how = "no lap for them" if alignment.by == "laps" else "the activity ends before them"
        notes.append(f"{missing} of {len(rows)} steps not run ({how})")
    return rows, notes


def _lap_rows(s: _Samples, laps: Sequence[Lap]) -> list[Row]:
    return [
        _row(Row(index=i, label=f"lap {i + 1}", kind="lap"), s, lap.start_s, lap.end_s, distance_m=lap.distance_m)
        for i, lap in enumerate(laps)
    ]


def _split_rows(s: _Samples, split_m: float, unit: str) -> tuple[list[Row], list[str]]:
    if len(s.dist) < 2:
        return [], []
    total = float(s.dist[-1] - s.dist[0])
    if total <= 0:
        return [], []
    full = int(total // split_m)
    if full > MAX_SPLITS:
        return [], [f"{full} splits of {unit}: too many to list; the overall row is the whole run"]
    targets = s.dist[0] + split_m * np.arange(1, full + 1)
    times = np.interp(targets, s.dist, s.dist_t) if full else np.zeros(0)
    edges = [s.first, *[float(x) for x in times]]
    rest = total - full * split_m
    if rest >= 10 and s.last > edges[-1]:
        edges.append(s.last)
    rows = []
    for i in range(len(edges) - 1):
        distance = split_m if i < full else rest
        label = f"{unit} {i + 1}"
        rows.append(_row(Row(index=i, label=label, kind="split"), s, edges[i], edges[i + 1], distance_m=distance))
    return rows, []


def _overall(s: _Samples, rows: Sequence[Row], clicking: bool, planned_s: float | None, *, steps: bool) -> Row:
    """The steps' span together (with a workout), else the whole activity."""
    done = [r for r in rows if r.start_s is not None and r.end_s is not None]
    if done and steps:
        a = min(r.start_s for r in done if r.start_s is not None)
        b = max(r.end_s for r in done if r.end_s is not None)
    else:
        a, b = s.first, s.last
    figures = s.measure(a, b)
    distances = [r.distance_m for r in done]
    if done and steps and all(d is not None for d in distances):
        figures["distance_m"] = float(sum(d for d in distances if d is not None))
        rec = figures["recorded_s"]
        dist = figures["distance_m"]
        figures["pace_s_per_km"] = rec / (dist / 1000) if dist >= 1 and rec else None
    if clicking:
        measured = sum(r.cadence_s for r in done if r.click)
        inside = sum(r.in_tolerance_s for r in done if r.click)
        figures["in_tolerance_s"] = inside
        figures["in_tolerance"] = inside / measured if measured > 0 else None
    else:
        figures["in_tolerance_s"] = 0.0
        figures["in_tolerance"] = None
    return Row(
        index=len(rows),
        label="overall",
        kind="overall",
        start_s=a,
        end_s=b,
        duration_s=b - a,
        planned_s=planned_s,
        **figures,
    )


def review(
    activity: Activity,
    steps: Sequence[TimedStep] | None = None,
    *,
    offset_s: float | None = None,
    tolerance_spm: float = TOLERANCE_SPM,
    workout: str | None = None,
    split_m: float = 1000.0,
) -> Review:
    """Review `activity` against `steps` (a compiled workout's), or lap by lap (split by split) without.

    Parameters
    ----------
    activity
        The recorded run.
    steps
        The workout's steps (:attr:`Timeline.steps <cadencecoach.core.timeline.Timeline.steps>`); None: no workout.
    offset_s
        The workout began this far into the activity: align by time from there (None: by laps when they match
        the steps, else by time from the start).
    tolerance_spm
        ± steps per minute of the click that count as on it.
    workout
        The workout's name, for the output.
    split_m
        The split length without a workout and without laps (1000, or a mile).

    Examples
    --------
    >>> t = np.arange(0.0, 101.0)
    >>> cadence = np.where(t < 75, 180.0, 170.0)  # 75 s on the click, 25 s off
    >>> run = Activity("run.csv", "csv", t, cadence, np.full(101, 3.0), 3 * t, np.full(101, 150.0))
    >>> from fractions import Fraction as F
    >>> step = TimedStep(0, "run", "Tempo", None, F(0), F(100), 0, 0, F(180), F(180), True, None, None, None, None)
    >>> r = review(run, [step])
    >>> r.aligned_by, r.rows[0].in_tolerance, r.rows[0].cadence_spm, format_pace(r.rows[0].pace_s_per_km)
    ('time', 0.75, 177.5, '5:33/km')
    """
    if not (math.isfinite(tolerance_spm) and tolerance_spm >= 0):
        raise ValueError(f"tolerance {tolerance_spm} spm: give 0 or more")
    if offset_s is not None and not (math.isfinite(offset_s) and offset_s >= 0):
        raise ValueError(f"offset {offset_s} s: give 0 or more")
    s = _Samples(activity)
    notes: list[str] = list(activity.notes)
    if not s.has_cadence:
        notes.append("no cadence in this file: the cadence figures are empty, the rest are shown")
    unit = "mi" if abs(split_m - MILE_M) < 1 else "km" if split_m == 1000 else f"{split_m:g} m"
    aligned_by: str | None = None
    reason = ""
    split: float | None = None
    if steps is not None:
        alignment = align(activity, steps, offset_s=offset_s, s=s)
        aligned_by, reason = alignment.by, alignment.reason
        rows, more = _step_rows(s, steps, alignment, tolerance_spm)
        notes += more
        rows_are = "steps"
        planned_s = float(steps[-1].end_s - steps[0].start_s) if steps else 0.0
        clicking = any(step.click for step in steps)
    else:
        planned_s = None
        clicking = False
        if len(activity.laps) >= 2:
            rows, rows_are = _lap_rows(s, activity.laps), "laps"
            reason = f"{len(activity.laps)} laps, as the device recorded them"
        else:
            rows, more = _split_rows(s, split_m, unit)
            notes += more
            rows_are = "splits" if rows else "run"
            split = split_m if rows else None
            if rows:
                reason = f"{'no laps' if not activity.laps else 'one lap'} in the file: splits of 1 {unit}"
    stopped = sum(r.stopped_s for r in rows) if rows else 0.0
    overall = _overall(s, rows, clicking, planned_s, steps=steps is not None)
    if not rows:
        stopped = overall.stopped_s
    if stopped >= 1:
        notes.append(f"stopped {format_clock(stopped)} in all (cadence 0): not in the cadence figures")
    total = s.distance_between(s.first, s.last)
    if total is None and s.has_speed:
        total = s.measure(s.first, s.last)["distance_m"]
    return Review(
        activity=activity,
        rows=tuple(rows),
        overall=overall,
        rows_are=rows_are,
        aligned_by=aligned_by,
        alignment=reason,
        workout=workout,
        tolerance_spm=float(tolerance_spm),
        offset_s=offset_s,
        split_m=split,
        distance_m=total,
        notes=tuple(dict.fromkeys(notes)),
    )


# ------------------------------------------------------------------------------------------------- trials

TRIAL_DISTANCES = ("1mi", "1500m", "3000m", "2mi", "5k", "10k", "half", "marathon")
"""The distances a reviewed run can be a time trial of (as ``trial add`` writes them), within ±1 %."""
TRIAL_SLACK = 0.01


@dataclass(frozen=True)
class TrialRun:
    """A row of a review that is a time trial: its distance as written (``1mi``) and in metres, its time."""

    distance: str
    distance_m: float
    time_s: float
    row: Row


@dataclass(frozen=True)
class TrialFind:
    """What :func:`find_trials` found: the trial rows, what it looked at (``"run steps"``, ``"laps"``,
    ``"the whole run"``) and their distances (for a message when none or many are found)."""

    found: tuple[TrialRun, ...]
    looked_at: str
    distances: tuple[float, ...]


def trial_distance(meters: float | None) -> tuple[str, float] | None:
    """The trial distance `meters` is (±1 %), as written and exact; None when it is none.

    >>> trial_distance(1612.0), trial_distance(5030.0), trial_distance(1000.0)
    (('1mi', 1609.344), ('5k', 5000.0), None)
    """
    if meters is None or not math.isfinite(meters) or meters <= 0:
        return None
    for name in TRIAL_DISTANCES:
        exact = float(parse_distance(name))
        if abs(meters - exact) <= TRIAL_SLACK * exact:
            return name, exact
    return None


def find_trials(review: Review) -> TrialFind:
    """The rows of `review` that are a time trial: with a workout, its run steps whose planned distance is a
    trial distance (their time is the lap's: a step aligned by time has no time of its own, see the caller);
    without, the laps whose distance is one (the whole run when the file has no laps)."""
    if review.rows_are == "steps":
        runs = [r for r in review.rows if r.kind == "run" and r.planned_distance_m is not None]
        found = []
        for r in runs:
            match = trial_distance(r.planned_distance_m)
            if match is not None:
                found.append(TrialRun(match[0], match[1], r.duration_s or 0.0, r))
        return TrialFind(tuple(found), "run steps", tuple(r.planned_distance_m or 0.0 for r in runs))
    a = review.activity
    s = _Samples(a)
    if a.laps:
        rows = review.rows if review.rows_are == "laps" else tuple(_lap_rows(s, a.laps))
        looked_at = "laps"
    else:
        rows = (_row(Row(index=0, label="the whole run", kind="lap"), s, s.first, s.last),)
        looked_at = "the whole run"
    found = []
    for r in rows:
        match = trial_distance(r.distance_m)
        if match is not None and r.duration_s:
            found.append(TrialRun(match[0], match[1], r.duration_s, r))
    return TrialFind(tuple(found), looked_at, tuple(r.distance_m or 0.0 for r in rows))
