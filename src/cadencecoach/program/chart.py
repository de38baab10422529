"""``program show --plot``: the season on one chart (the charts extra, matplotlib).

Top: each week's volume as a bar, coloured by phase (base, speed, taper; lighter weeks paler), with the part
run so far over it; the time trials and the goal marked. Bottom: the cadence target week by week.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cadencecoach.history.charts import check_output, require_matplotlib, save_figure

__all__ = ["PHASE_COLORS", "SeasonChart", "plot_season", "season_data"]

PHASE_COLORS = {"base": "#4c956c", "speed": "#d64550", "taper": "#f2a541"}


class SeasonChart:
    """What the chart shows, for the tests: per week (planned km, run km, phase, light, cadence), the trials."""

    def __init__(self) -> None:
        self.weeks: list[tuple[float, float, str, bool, int]] = []
        self.trials: list[tuple[int, str]] = []  # (week, kind: trial or goal)
        self.size_px: tuple[int, int] = (0, 0)


def season_data(program: Any, entries: Sequence[Any]) -> SeasonChart:
    from cadencecoach.program.adapt import by_week, week_km

    chart = SeasonChart()
    weeks = by_week(entries)
    for w in program.weeks:
        rows = [e for e in weeks.get(w.index, []) if e.status != "replaced"]
        chart.weeks.append((week_km(rows), sum(e.ran_km for e in rows), w.phase, w.light, w.cadence))
        for e in rows:
            if e.session.kind in ("trial", "goal"):
                chart.trials.append((w.index, e.session.kind))
    return chart


def plot_season(
    program: Any,
    entries: Sequence[Any],
    path: Path,
    *,
    today: date,
    size: tuple[float, float] = (11, 6),
    dpi: int = 100,
) -> SeasonChart:
    """Draw the season to `path` (written atomically); returns what was drawn."""
    check_output(path, "--plot")
    data = season_data(program, entries)
    plt = require_matplotlib()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=size, dpi=dpi, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    try:
        xs = list(range(1, len(data.weeks) + 1))
        for x, (planned, ran, phase, light, _c) in zip(xs, data.weeks, strict=True):
            top.bar(x, planned, color=PHASE_COLORS[phase], alpha=0.45 if light else 0.85, width=0.8)
            if ran:
                top.bar(x, ran, color="none", edgecolor="black", hatch="//", width=0.8, linewidth=0.8)
        peak = max((p for p, *_ in data.weeks), default=1.0)
        for week, kind in data.trials:
            label = "goal" if kind == "goal" else "trial"
            top.annotate(
                label,
                (week + 1, data.weeks[week][0]),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        current = (today - program.inputs.start).days // 7 + 1
        if 1 <= current <= len(xs):
            top.axvline(current, color="black", linestyle=":", linewidth=1)
        handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASE_COLORS.values()]
        top.legend(handles, list(PHASE_COLORS), loc="upper left", fontsize=8)
        top.set_ylim(0, peak * 1.2)
        top.set_ylabel("km a week")
        top.set_title(f"{program.name}: {program.inputs.days} days a week, {len(xs)} weeks")
        top.grid(axis="y", alpha=0.3)
        bottom.step(xs, [c for *_, c in data.weeks], where="mid", color="#1f77b4")
        bottom.set_ylabel("cadence (spm)")
        bottom.set_xlabel("week")
        bottom.set_xticks(xs)
        bottom.grid(alpha=0.3)
        fig.tight_layout()
        data.size_px = save_figure(fig, path)
    finally:
        plt.close(fig)
    return data
