"""Charts (matplotlib, Agg backend, imported only when a chart is drawn; the ``charts`` extra).

* :func:`plot_workout` -- ``plan WORKOUT --plot FILE``: the workout's profile as coaches draw it: one block per
  step, as wide as the step lasts, as tall and as warm in colour as it is hard; the cadence line on the right
  axis (ramps slope, silent steps dashed); a marker for every spoken cue.
* :func:`plot_trials` -- ``trial plot -o FILE``: each trial as its equivalent mile time (so a 5k and a mile
  compare) and its VDOT, with the VDOT trend (least squares over the dates).

Both build their data first (returned, so tests can check what was drawn without reading pixels), then draw
it, and write the image beside the target and rename it into place.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cadencecoach.errors import ExtraUnavailable, UsageError
from cadencecoach.history.trials import MILE_M, Trial, equivalent_time, format_time

FORMATS = (".png", ".svg", ".pdf")

# Height (0..1) and colour of each kind of step: the harder, the taller and the warmer.
LEVEL = {"rest": 0.18, "recover": 0.38, "warmup": 0.55, "cooldown": 0.5, "run": 0.85}
COLOR = {"rest": "#9aa5b1", "recover": "#5fa8d3", "warmup": "#f6c85f", "cooldown": "#8fbc8f", "run": "#d64550"}
CUE_COLOR = {
    "announce": "#1f2d3d",
    "say": "#6c5b7b",
    "preview": "#3d84a8",
    "halfway": "#f28e2b",
    "countdown": "#c0392b",
    "finish": "#2e7d32",
    "custom": "#7f8c8d",
}


ChartsUnavailable = ExtraUnavailable
"""matplotlib (the ``charts`` extra) is not installed or cannot be imported (exit 2 with the fix)."""


def check_output(path: Path, option: str) -> None:
    """Refuse an unsupported image format before any work is done."""
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"{option} {path}: the image format follows the extension: {', '.join(FORMATS)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: no such folder {parent}")


def require_matplotlib() -> Any:
    """matplotlib with the Agg backend (no display needed), or ChartsUnavailable (see extras.py)."""
    from cadencecoach import extras

    matplotlib = extras.load("matplotlib", "drawing a chart")
    matplotlib.use("Agg", force=True)
    return extras.load("matplotlib.pyplot", "drawing a chart")


# ------------------------------------------------------------------------------------------- workout


@dataclass(frozen=True)
class Block:
    index: int
    kind: str
    label: str
    start_s: float
    end_s: float
    height: float
    color: str


@dataclass(frozen=True)
class CadencePiece:
    start_s: float
    end_s: float
    spm_start: float
    spm_end: float
    click: bool


@dataclass(frozen=True)
class CueMark:
    at_s: float
    kind: str
    text: str


@dataclass
class WorkoutChart:
    """What :func:`plot_workout` drew."""

    title: str
    duration_s: float
    blocks: list[Block]
    cadence: list[CadencePiece]
    cues: list[CueMark]
    path: Path | None = None
    size_px: tuple[int, int] = (0, 0)


def workout_chart_data(timeline: Any, title: str | None = None) -> WorkoutChart:
    """The blocks, cadence line and cue marks of a compiled timeline (no matplotlib needed)."""
    steps = list(timeline.steps)
    run_speeds = [1 / s.pace_s_per_km for s in steps if s.kind == "run" and s.pace_s_per_km]
    lo, hi = (min(run_speeds), max(run_speeds)) if run_speeds else (0.0, 0.0)
    blocks: list[Block] = []
    cadence: list[CadencePiece] = []
    for s in steps:
        height = LEVEL.get(s.kind, 0.5)
        if s.kind == "run" and s.pace_s_per_km and hi > lo:  # faster reps stand taller
            height = 0.72 + 0.23 * ((1 / s.pace_s_per_km) - lo) / (hi - lo)
        label = s.label + (f" {s.rep[0]}/{s.rep[1]}" if s.rep else "")
        start, end = float(s.start_s), float(s.end_s)
        blocks.append(Block(s.index, s.kind, label, start, end, height, COLOR.get(s.kind, "#888888")))
        cadence.append(CadencePiece(start, end, float(s.cadence_start), float(s.cadence_end), bool(s.click)))
    sr = timeline.sample_rate
    cues = [CueMark(c.at / sr, c.kind, c.text) for c in timeline.cues]
    duration = float(timeline.duration_s) if timeline.duration_s else (blocks[-1].end_s if blocks else 0.0)
    return WorkoutChart(title or timeline.name, duration, blocks, cadence, cues)


def _minutes(x: float, _pos: object = None) -> str:
    return format_time(round(x))


def _tick_step(total_s: float) -> float:
    """Whole minutes (or half minutes, for short workouts) giving at most about 12 ticks."""
    for step in (30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if total_s / step <= 12:
            return float(step)
    return 14400.0


COVER_BACKGROUND = "#1b1f24"
COVER_CADENCE = "#f4f4f4"


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def workout_cover(timeline: Any, *, px: int = 600) -> bytes:
    """The workout's chart as a square PNG of `px` pixels, the cover art of a rendered file: its steps as blocks
    (the colours and heights of :func:`plot_workout`: taller is harder) on a dark ground, and the cadence of the
    steps that click as a line above them. Drawn with numpy alone (no matplotlib: a phone shows a cover at thumbnail
    size, where a chart's text and axes would not read, and every render would pay matplotlib's second of
    importing) and encoded as an 8-bit RGB PNG.

    >>> from types import SimpleNamespace as NS
    >>> step = NS(index=0, kind="run", label="Run", rep=None, start_s=0, end_s=60, pace_s_per_km=None,
    ...           cadence_start=180, cadence_end=180, click=True)
    >>> png = workout_cover(NS(steps=[step], sample_rate=44100, cues=[], duration_s=60, name="x"), px=64)
    >>> png[1:4], int.from_bytes(png[16:20], "big")
    (b'PNG', 64)
    """
    import numpy as np

    data = workout_chart_data(timeline)
    img = np.empty((px, px, 3), np.uint8)
    img[:] = _rgb(COVER_BACKGROUND)
    margin = px // 12
    left, right, bottom, top = margin, px - margin, px - margin, px // 3
    total = max(data.duration_s, 1e-9)

    def x_of(t: float) -> int:
        return left + round((right - left) * t / total)

    gap = max(1, px // 300)
    for b in data.blocks:
        x0, x1 = x_of(b.start_s), x_of(b.end_s)
        if x1 - x0 > 2 * gap:
            x0, x1 = x0 + gap, x1 - gap
        y0 = bottom - round((bottom - top) * b.height)
        img[y0:bottom, x0 : max(x1, x0 + 1)] = _rgb(b.color)
    spm = [v for p in data.cadence for v in (p.spm_start, p.spm_end)]
    if spm:
        lo, hi = min(spm), max(spm)
        band_top, band_bottom = margin, top - margin // 2
        thick = max(1, px // 150)
        for p in data.cadence:
            x0, x1 = x_of(p.start_s), x_of(p.end_s)
            if x1 <= x0 or not p.click:
                continue
            xs = np.arange(x0, x1)
            frac = (xs - x0) / max(x1 - x0, 1)
            v = p.spm_start + (p.spm_end - p.spm_start) * frac
            ys = band_bottom - np.rint((band_bottom - band_top) * ((v - lo) / (hi - lo) if hi > lo else 0.5))
            for dy in range(thick):
                img[(ys + dy).astype(int), xs] = _rgb(COVER_CADENCE)
    return _png(img)


def _png(img: Any) -> bytes:
    """An 8-bit RGB image as PNG bytes (zlib, no filter)."""
    import struct
    import zlib

    height, width = img.shape[:2]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + img[row].tobytes() for row in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def plot_workout(
    timeline: Any,
    path: Path | io.BytesIO,
    *,
    title: str | None = None,
    size: tuple[float, float] = (12, 4.8),
    dpi: float = 100,
) -> WorkoutChart:
    """Draw the workout profile of `timeline` to `path` (.png, .svg, .pdf; a BytesIO gets a PNG); returns what
    was drawn."""
    if isinstance(path, Path):
        check_output(path, "--plot")
    data = workout_chart_data(timeline, title)
    plt = require_matplotlib()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    total = max(data.duration_s, 1e-9)
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    try:
        for b in data.blocks:
            ax.add_patch(
                Rectangle(
                    (b.start_s, 0), b.end_s - b.start_s, b.height, facecolor=b.color, edgecolor="white", linewidth=0.6
                )
            )
            if (b.end_s - b.start_s) / total > 0.06:
                ax.text(
                    (b.start_s + b.end_s) / 2,
                    0.03,
                    b.label,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    rotation=90 if (b.end_s - b.start_s) / total < 0.1 else 0,
                    color="#222222",
                )
        ax.set_xlim(0, total)
        ax.set_ylim(0, 1.12)
        ax.set_yticks([])
        ax.set_ylabel("intensity")
        ax.xaxis.set_major_formatter(FuncFormatter(_minutes))
        ax.xaxis.set_major_locator(MultipleLocator(_tick_step(total)))
        ax.set_xlabel("time (m:ss)")
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)

        kinds_cue = sorted({c.kind for c in data.cues}, key=list(CUE_COLOR).index)
        for kind in kinds_cue:
            xs = [c.at_s for c in data.cues if c.kind == kind]
            ax.plot(
                xs,
                [1.06] * len(xs),
                linestyle="none",
                marker="v",
                markersize=4,
                color=CUE_COLOR[kind],
                label=f"cue: {kind}",
            )

        cad = ax.twinx()
        spm = [v for piece in data.cadence for v in (piece.spm_start, piece.spm_end)]
        for piece in data.cadence:
            cad.plot(
                [piece.start_s, piece.end_s],
                [piece.spm_start, piece.spm_end],
                color="#222222" if piece.click else "#999999",
                linestyle="-" if piece.click else "--",
                linewidth=1.8,
            )
        for before, after in zip(data.cadence, data.cadence[1:], strict=False):  # the jump at a boundary
            if before.spm_end != after.spm_start:
                cad.plot(
                    [before.end_s, after.start_s],
                    [before.spm_end, after.spm_start],
                    color="#222222",
                    linewidth=0.6,
                    alpha=0.5,
                )
        if spm:
            lo, hi = min(spm), max(spm)
            pad = max(5.0, (hi - lo) * 0.15)
            cad.set_ylim(lo - pad, hi + pad)
        cad.set_ylabel("cadence (steps/min)")
        cad.spines["top"].set_visible(False)

        kinds = [k for k in LEVEL if any(b.kind == k for b in data.blocks)]
        handles: list[Any] = [Patch(facecolor=COLOR[k], label=k) for k in kinds]
        handles.append(Line2D([], [], color="#222222", linewidth=1.8, label="cadence"))
        if any(not p.click for p in data.cadence):
            handles.append(Line2D([], [], color="#999999", linestyle="--", label="cadence (no click)"))
        handles += [
            Line2D([], [], linestyle="none", marker="v", color=CUE_COLOR[k], label=f"cue: {k}") for k in kinds_cue
        ]
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=min(len(handles), 7),
            fontsize=8,
            frameon=False,
        )
        ax.set_title(f"{data.title}  ({format_time(round(data.duration_s))}, {len(data.blocks)} steps)")
        fig.tight_layout()
        data.size_px = save_figure(fig, path)
    finally:
        plt.close(fig)
    data.path = path if isinstance(path, Path) else None
    return data


# ------------------------------------------------------------------------------------------- trials


@dataclass(frozen=True)
class TrialPoint:
    id: int | None
    day: date
    result: str
    vdot: float
    mile_s: float  # the equivalent mile time


@dataclass
class TrialChart:
    points: list[TrialPoint]
    trend: list[tuple[date, float]] = field(default_factory=list)  # the VDOT trend line, at the first/last day
    vdot_per_30_days: float | None = None
    path: Path | None = None
    size_px: tuple[int, int] = (0, 0)


def trial_chart_data(trials: Sequence[Trial]) -> TrialChart:
    points = [
        TrialPoint(t.id, t.date, t.result, t.vdot, equivalent_time(t.vdot, MILE_M))
        for t in sorted(trials, key=lambda t: (t.date, t.id or 0))
    ]
    chart = TrialChart(points)
    days = [p.day.toordinal() for p in points]
    if len(set(days)) >= 2:
        n = len(points)
        mx = sum(days) / n
        my = sum(p.vdot for p in points) / n
        sxx = sum((d - mx) ** 2 for d in days)
        slope = sum((d - mx) * (p.vdot - my) for d, p in zip(days, points, strict=True)) / sxx
        first, last = min(days), max(days)
        chart.trend = [(date.fromordinal(d), my + slope * (d - mx)) for d in (first, last)]
        chart.vdot_per_30_days = slope * 30
    return chart


def plot_trials(
    trials: Sequence[Trial], path: Path, *, size: tuple[float, float] = (10, 6), dpi: int = 100
) -> TrialChart:
    """Draw the trials to `path`; returns what was drawn. No trials: UsageError."""
    check_output(path, "-o")
    if not trials:
        raise UsageError("no trials recorded yet: add one with 'cadencecoach trial add 1mi 6:12'")
    data = trial_chart_data(trials)
    plt = require_matplotlib()
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    fig, (top, bottom) = plt.subplots(2, 1, figsize=size, dpi=dpi, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    try:
        xs = [p.day for p in data.points]
        top.plot(xs, [p.mile_s for p in data.points], marker="o", color="#d64550", linewidth=1.5)
        for p in data.points:
            top.annotate(
                p.result, (p.day, p.mile_s), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8
            )
        top.margins(y=0.2)
        top.invert_yaxis()  # faster is higher
        top.yaxis.set_major_formatter(FuncFormatter(_minutes))
        top.set_ylabel("equivalent mile")
        top.set_title(f"Time trials ({len(data.points)})")
        top.grid(alpha=0.3)

        bottom.plot(xs, [p.vdot for p in data.points], linestyle="none", marker="o", color="#1f77b4", label="VDOT")
        if data.trend:
            per = data.vdot_per_30_days or 0.0
            bottom.plot(
                [d for d, _ in data.trend],
                [v for _, v in data.trend],
                linestyle="--",
                color="#1f77b4",
                alpha=0.7,
                label=f"trend ({per:+.1f} per 30 days)",
            )
        vd = [p.vdot for p in data.points]
        bottom.set_ylim(min(vd) - 2, max(vd) + 2)
        bottom.set_ylabel("VDOT")
        bottom.grid(alpha=0.3)
        bottom.legend(loc="best", fontsize=8)
        bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        if len(set(xs)) == 1:
            day = mdates.date2num(xs[0])
            bottom.set_xlim(day - 15, day + 15)
        fig.autofmt_xdate()
        fig.tight_layout()
        data.size_px = save_figure(fig, path)
    finally:
        plt.close(fig)
    data.path = path
    return data


# ------------------------------------------------------------------------------------------- saving


def save_figure(fig: Any, path: Path | io.BytesIO) -> tuple[int, int]:
    """Write beside `path`, then rename: never a half-written image under the target name (a BytesIO: a PNG)."""
    from cadencecoach.atomic import atomic_file

    if isinstance(path, io.BytesIO):
        fig.savefig(path, format="png")
    else:
        with atomic_file(path, "wb") as fh:
            fig.savefig(fh, format=path.suffix.lower().lstrip("."))
    w, h = fig.get_size_inches() * fig.dpi
    return round(w), round(h)
