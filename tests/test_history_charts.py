"""Charts: rendered for real (matplotlib Agg), checked as images and through the data they were drawn from."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from cadencecoach.core.timeline import Timeline, compile_workout
from cadencecoach.errors import UsageError
from cadencecoach.history.charts import (
    COLOR,
    ChartsUnavailable,
    plot_trials,
    plot_workout,
    trial_chart_data,
    workout_chart_data,
)
from cadencecoach.history.trials import Trial, make_trial
from cadencecoach.workout.loader import load_workout_text
from extra_deps import require_extra

WORKOUT = """\
name: Ramps and reps
cadence: 176
paces:
  fast: 3:30/km
  faster: 3:10/km
steps:
  - warmup: 5min
    cadence: 160-172
  - repeat: 3
    steps:
      - run: 400m
        pace: fast
        cadence: 186
      - recover: 60s
        click: off
  - run: 200m
    pace: faster
  - rest: 30s
  - cooldown: 4min
    cadence: 172-160
"""


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    return compile_workout(load_workout_text(WORKOUT), 8000)


def _image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _has_colour(img: np.ndarray, hex_colour: str, min_pixels: int = 50) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img.astype(int) - rgb).sum(axis=2) <= 6).sum()) >= min_pixels


def test_workout_chart_data(timeline: Timeline) -> None:
    data = workout_chart_data(timeline)
    assert len(data.blocks) == len(timeline.steps) == 10
    assert [b.kind for b in data.blocks] == ["warmup"] + ["run", "recover"] * 3 + ["run", "rest", "cooldown"]
    for b, s in zip(data.blocks, timeline.steps, strict=True):
        assert (b.start_s, b.end_s) == (float(s.start_s), float(s.end_s))
    heights = {b.kind: b.height for b in data.blocks}
    assert heights["rest"] < heights["recover"] < heights["warmup"] < heights["run"]
    assert data.blocks[7].height > data.blocks[1].height  # the faster rep stands taller
    assert (data.cadence[0].spm_start, data.cadence[0].spm_end) == (160, 172)  # the ramp
    assert [p.click for p in data.cadence].count(False) == 3
    assert len(data.cues) == len(timeline.cues) > 0
    assert data.duration_s == pytest.approx(float(timeline.duration_s))


def test_plot_workout_renders_the_profile(timeline: Timeline, tmp_path: Path) -> None:
    require_extra("charts")
    out = tmp_path / "workout.png"
    chart = plot_workout(timeline, out, title="Ramps and reps")
    assert chart.path == out and len(chart.blocks) == 10
    img = _image(out)
    assert (img.shape[1], img.shape[0]) == chart.size_px == (1200, 480)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20  # not blank
    for kind in ("warmup", "run", "recover", "rest", "cooldown"):
        assert _has_colour(img, COLOR[kind]), kind
    assert not list(tmp_path.glob(".*part"))  # written beside, then renamed


def test_plot_workout_svg(timeline: Timeline, tmp_path: Path) -> None:
    require_extra("charts")
    out = tmp_path / "w.svg"
    plot_workout(timeline, out)
    assert out.read_text().count("<svg") == 1


def test_bad_image_names_are_refused_early(timeline: Timeline, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.png, \.svg, \.pdf"):
        plot_workout(timeline, tmp_path / "w.gif")
    with pytest.raises(UsageError, match="no such folder"):
        plot_workout(timeline, tmp_path / "missing" / "w.png")


def test_without_matplotlib_the_error_says_how_to_install(
    timeline: Timeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ChartsUnavailable, match=r"pip install 'cadencecoach\[charts\]'"):
        plot_workout(timeline, tmp_path / "w.png")
    assert not (tmp_path / "w.png").exists()


def _trials() -> list[Trial]:
    results = [("1mi 6:30", date(2026, 3, 1)), ("5k 21:40", date(2026, 4, 10)), ("1mi 6:12", date(2026, 5, 20))]
    return [replace(make_trial(text, day), id=i + 1) for i, (text, day) in enumerate(results)]


def test_trial_chart_data_trend() -> None:
    data = trial_chart_data(list(reversed(_trials())))
    assert [p.day for p in data.points] == sorted(p.day for p in data.points)
    assert data.vdot_per_30_days is not None and data.vdot_per_30_days > 0  # getting faster
    assert data.trend[0][0] == date(2026, 3, 1) and data.trend[1][0] == date(2026, 5, 20)
    mile = data.points[0]
    assert mile.result == "1mi 6:30" and mile.mile_s == pytest.approx(390, abs=0.5)
    assert trial_chart_data(_trials()[:1]).trend == []


def test_plot_trials_renders(tmp_path: Path) -> None:
    require_extra("charts")
    out = tmp_path / "trials.png"
    chart = plot_trials(_trials(), out)
    assert len(chart.points) == 3 and len(chart.trend) == 2
    img = _image(out)
    assert (img.shape[1], img.shape[0]) == chart.size_px == (1000, 600)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20
    plot_trials(_trials()[:1], tmp_path / "one.png")  # a single trial: no trend, still a chart
    with pytest.raises(UsageError, match="no trials"):
        plot_trials([], tmp_path / "none.png")
