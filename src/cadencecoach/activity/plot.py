"""``review --plot FILE``: a recorded run's cadence and pace against the plan (matplotlib, the ``charts`` extra).

Two panels over the run's time, the steps (or laps, or splits) shaded behind them:

* **cadence**: the measured cadence (time-weighted means of bins of at least 5 s, stops left out), the click's
  planned cadence as steps and ramps (solid where the click plays, dashed grey where it is off) with the
  ±tolerance band around it;
* **pace**: the measured pace (the distance over a rolling 30 s, faster up; stops and walking slower than
  :data:`SLOWEST_S_PER_KM` left out) and each step's planned pace.

:func:`chart_data` builds what is drawn (returned, so tests check it without reading pixels); :func:`draw_review`
draws it into a new figure with the pyplot module it is given (the CLI hands over
:func:`cadencecoach.history.charts.require_matplotlib`'s and writes the figure with
:func:`cadencecoach.history.charts.save_figure`: this part imports no history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cadencecoach.activity.model import Floats
from cadencecoach.activity.review import MAX_GAP_S, MILE_M, Review
from cadencecoach.terminal import bounded_text
from cadencecoach.workout.units import format_clock

__all__ = ["Band", "Piece", "ReviewChart", "chart_data", "draw_review"]

BINS = 1200
"""Points per line at most (a bin is at least :data:`MIN_BIN_S`)."""
MIN_BIN_S = 5.0
PACE_WINDOW_S = 30.0
SLOWEST_S_PER_KM = 20 * 60.0
"""Slower than 20:00/km is standing or walking: no pace drawn."""
SHADE = {
    "warmup": "#f6c85f",
    "run": "#d64550",
    "recover": "#5fa8d3",
    "rest": "#9aa5b1",
    "cooldown": "#8fbc8f",
    "lap": "#b0b7c3",
    "split": "#b0b7c3",
}


@dataclass(frozen=True)
class Piece:
    """A planned value over ``[start_s, end_s)``: from `start` to `end` (a ramp), the click on or off."""

    start_s: float
    end_s: float
    start: float
    end: float
    click: bool = True


@dataclass(frozen=True)
class Band:
    """A row's stretch of the run, shaded."""

    start_s: float
    end_s: float
    kind: str
    label: str


@dataclass
class ReviewChart:
    """What :func:`draw_review` draws: the measured lines (NaN: a gap) and the plan."""

    title: str
    times: Floats  # bin centres, s
    cadence: Floats  # spm
    pace: Floats  # s/km
    planned_cadence: list[Piece] = field(default_factory=list)
    planned_pace: list[Piece] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    tolerance_spm: float = 3.0
    unit_m: float = 1000.0
    size_px: tuple[int, int] | None = None


def _bins(review: Review) -> tuple[Floats, Floats, Floats]:
    """Bin centres, the cadence and the pace per bin (vectorised: bincount, interp, one convolution)."""
    a = review.activity
    t = np.asarray(a.t, dtype=np.float64)
    if len(t) < 2:
        empty = np.zeros(0)
        return empty, empty, empty
    span = float(t[-1] - t[0])
    width = max(MIN_BIN_S, span / BINS)
    nbins = max(int(np.ceil(span / width)), 1)
    which = np.minimum(((t - t[0]) / width).astype(np.int64), nbins - 1)
    w = np.zeros(len(t))
    w[:-1] = np.minimum(np.diff(t), MAX_GAP_S)
    centres = t[0] + (np.arange(nbins) + 0.5) * width
    cad = np.asarray(a.cadence, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        moving = np.isfinite(cad) & (cad > 0)
    cw = np.bincount(which, weights=np.where(moving, w, 0.0), minlength=nbins)
    cs = np.bincount(which, weights=np.where(moving, w * np.where(moving, cad, 0.0), 0.0), minlength=nbins)
    with np.errstate(invalid="ignore", divide="ignore"):
        cadence = np.where(cw > 0, cs / np.where(cw > 0, cw, 1.0), np.nan)
    recorded = np.bincount(which, weights=w, minlength=nbins)
    dist = np.asarray(a.distance, dtype=np.float64)
    fin = np.isfinite(dist)
    if fin.sum() >= 2:
        edges = t[0] + np.arange(nbins + 1) * width
        at = np.interp(edges, t[fin], dist[fin])
        covered = np.diff(at)
    else:
        speed = np.asarray(a.speed, dtype=np.float64)
        ok = np.isfinite(speed)
        covered = np.bincount(which, weights=np.where(ok, w * np.where(ok, speed, 0.0), 0.0), minlength=nbins)
    k = max(round(PACE_WINDOW_S / width), 1)
    kernel = np.ones(k)
    covered_k = np.convolve(covered, kernel, mode="same")
    recorded_k = np.convolve(recorded, kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        pace = np.where(covered_k > 0, recorded_k / (covered_k / 1000), np.nan)
    pace = np.where((pace > 0) & (pace <= SLOWEST_S_PER_KM) & (recorded > 0), pace, np.nan)
    return centres, cadence, pace


def chart_data(review: Review, *, unit_m: float = 1000.0) -> ReviewChart:
    """What the review's chart shows (see the module doc)."""
    times, cadence, pace = _bins(review)
    planned_cadence: list[Piece] = []
    planned_pace: list[Piece] = []
    bands: list[Band] = []
    for r in review.rows:
        if r.start_s is None or r.end_s is None or r.end_s <= r.start_s:
            continue
        bands.append(Band(r.start_s, r.end_s, r.kind, bounded_text(r.name, 40)))
        if r.planned_cadence is not None:
            c0, c1 = r.planned_cadence
            planned_cadence.append(Piece(r.start_s, r.end_s, c0, c1, bool(r.click)))
        if r.planned_pace_s_per_km is not None:
            p = r.planned_pace_s_per_km
            planned_pace.append(Piece(r.start_s, r.end_s, p, p))
    name = review.activity.source.replace("\\", "/").rsplit("/", 1)[-1] or review.activity.source
    title = bounded_text(name, 60)
    if review.workout:
        title += f" vs {bounded_text(review.workout, 60)}"
    share = review.overall.in_tolerance
    if share is not None:
        title += f": {share:.0%} within ±{review.tolerance_spm:g} spm"
    return ReviewChart(
        title=title,
        times=times,
        cadence=cadence,
        pace=pace,
        planned_cadence=planned_cadence,
        planned_pace=planned_pace,
        bands=bands,
        tolerance_spm=review.tolerance_spm,
        unit_m=unit_m,
    )


def _text(s: str) -> str:
    """Text for matplotlib: a ``$`` would start mathtext."""
    return s.replace("$", r"\$")


def _clock(x: float, _pos: object = None) -> str:
    return format_clock(max(x, 0.0))


def _nice(span: float, ticks: int, steps: tuple[float, ...]) -> float:
    """The smallest of `steps` that gives at most `ticks` ticks over `span`."""
    return next((s for s in steps if span / s <= ticks), steps[-1])


TIME_STEPS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0)
PACE_STEPS = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)


def draw_review(
    review: Review, plt: Any, *, unit_m: float = 1000.0, size: tuple[float, float] = (12, 6.4), dpi: float = 100
) -> tuple[Any, ReviewChart]:
    """A new figure of `review` drawn with `plt` (pyplot, Agg), and what was drawn. The caller saves and closes
    the figure."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    data = chart_data(review, unit_m=unit_m)
    fig, (cad_ax, pace_ax) = plt.subplots(
        2, 1, sharex=True, figsize=size, dpi=dpi, gridspec_kw={"height_ratios": [3, 2]}
    )
    try:
        for ax in (cad_ax, pace_ax):
            for i, b in enumerate(data.bands):
                ax.axvspan(b.start_s, b.end_s, color=SHADE.get(b.kind, "#b0b7c3"), alpha=0.16 + 0.08 * (i % 2), lw=0)
            for spine in ("top", "right"):
                ax.spines[spine].set_visible(False)
        tol = data.tolerance_spm
        for p in data.planned_cadence:
            xs = [p.start_s, p.end_s]
            if p.click:
                cad_ax.fill_between(
                    xs, [p.start - tol, p.end - tol], [p.start + tol, p.end + tol], color="#222222", alpha=0.12, lw=0
                )
            cad_ax.plot(
                xs,
                [p.start, p.end],
                color="#222222" if p.click else "#999999",
                linestyle="-" if p.click else "--",
                linewidth=1.6,
            )
        cad_ax.plot(data.times, data.cadence, color="#1f77b4", linewidth=1.0)
        values = [v for p in data.planned_cadence if p.click for v in (p.start, p.end)]
        measured = data.cadence[np.isfinite(data.cadence)]
        if len(measured):
            values += [float(np.percentile(measured, 2)), float(np.percentile(measured, 98))]
        if values:
            lo, hi = min(values), max(values)
            pad = max(5.0, (hi - lo) * 0.15)
            cad_ax.set_ylim(lo - pad, hi + pad)
        else:
            cad_ax.text(0.5, 0.5, "no cadence in this file", transform=cad_ax.transAxes, ha="center", color="#666666")
        cad_ax.set_ylabel("cadence (steps/min)")
        scale = unit_m / 1000
        for p in data.planned_pace:
            pace_ax.plot([p.start_s, p.end_s], [p.start * scale, p.end * scale], color="#222222", linewidth=1.6)
        pace_ax.plot(data.times, data.pace * scale, color="#d62728", linewidth=1.0)
        paces = [p.start * scale for p in data.planned_pace]
        shown = data.pace[np.isfinite(data.pace)] * scale
        if len(shown):
            paces += [float(np.percentile(shown, 3)), float(np.percentile(shown, 97))]
        if paces:
            lo, hi = min(paces), max(paces)
            pad = max(10.0, (hi - lo) * 0.1)
            pace_ax.set_ylim(hi + pad, max(lo - pad, 1.0))  # faster up
            pace_ax.yaxis.set_major_locator(MultipleLocator(_nice(hi - lo + 2 * pad, 6, PACE_STEPS)))
        pace_ax.yaxis.set_major_formatter(FuncFormatter(_clock))
        pace_ax.set_ylabel("pace (min/mi)" if abs(unit_m - MILE_M) < 1 else "pace (min/km)")
        pace_ax.xaxis.set_major_formatter(FuncFormatter(_clock))
        pace_ax.set_xlabel("time (m:ss)")
        if len(review.activity.t):
            first, last = float(review.activity.t[0]), float(review.activity.t[-1])
            pace_ax.set_xlim(first, max(last, first + 1))
            pace_ax.xaxis.set_major_locator(MultipleLocator(_nice(last - first, 12, TIME_STEPS)))
        handles: list[Any] = [
            Line2D([], [], color="#1f77b4", label="cadence"),
            Line2D([], [], color="#d62728", label="pace"),
        ]
        if data.planned_cadence:
            handles.append(Line2D([], [], color="#222222", linewidth=1.6, label="plan"))
            handles.append(Patch(facecolor="#222222", alpha=0.12, label=f"±{tol:g} spm"))
        if any(not p.click for p in data.planned_cadence):
            handles.append(Line2D([], [], color="#999999", linestyle="--", label="plan (no click)"))
        pace_ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.3),
            ncol=len(handles),
            fontsize=8,
            frameon=False,
        )
        cad_ax.set_title(_text(data.title))
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return fig, data
