"""The review of a recorded run (``cadencecoach.activity.review``, ``.plot``): alignment and figures on synthetic
activities with known laps and cadence, against docs/REVIEW.md.

Activities are built directly (the model's arrays), at 1 Hz unless a test says otherwise, so every figure has an
exact expected value: a sample holds its values for the second after it, the last sample ends the recording.
"""

from __future__ import annotations

import io
import itertools
import json
import time
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.activity.model import Activity, Lap
from cadencecoach.activity.review import (
    MAX_GAP_S,
    MILE_M,
    align,
    find_trials,
    format_pace,
    review,
    trial_distance,
)
from cadencecoach.core.timeline import TimedStep, compile_workout
from cadencecoach.workout.loader import load_workout_text
from extra_deps import needs_extra

NAN = np.nan


def act(
    cadence: Any,
    *,
    t: Any = None,
    speed: Any = None,
    distance: Any = None,
    hr: Any = None,
    laps: tuple[Lap, ...] = (),
    notes: tuple[str, ...] = (),
) -> Activity:
    """An activity of the given per-sample values (1 Hz by default); a scalar is repeated."""
    cad = np.asarray(cadence, dtype=np.float64)
    n = len(cad) if cad.ndim else len(np.asarray(t))
    cad = np.broadcast_to(cad, (n,)).astype(np.float64)
    tt = np.arange(n, dtype=np.float64) if t is None else np.asarray(t, dtype=np.float64)

    def col(x: Any) -> np.ndarray:
        return np.full(n, NAN) if x is None else np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()

    return Activity("run.tcx", "tcx", tt, cad, col(speed), col(distance), col(hr), laps=laps, notes=notes)


def step(
    i: int,
    start: float,
    end: float,
    cad: tuple[float, float] = (180, 180),
    *,
    click: bool = True,
    kind: str = "run",
    distance: float | None = None,
    pace: float | None = None,
    label: str = "Run",
    rep: tuple[int, int] | None = None,
) -> TimedStep:
    return TimedStep(
        i,
        kind,
        label,
        rep,
        Fraction(start),
        Fraction(end),
        0,
        0,
        Fraction(cad[0]),
        Fraction(cad[1]),
        click,
        distance,
        pace,
        None,
        None,
    )


def consecutive(*lengths: float, **kw: Any) -> list[TimedStep]:
    out, t = [], 0.0
    for i, n in enumerate(lengths):
        out.append(step(i, t, t + n, **kw))
        t += n
    return out


# ------------------------------------------------------------------------------------------------ figures


def test_three_quarters_of_the_time_within_3_spm_is_exactly_0_75() -> None:
    cadence = np.r_[np.full(30, 181.0), np.full(45, 177.0), np.full(25, 170.0), 170.0]  # 101 samples: 100 s
    r = review(act(cadence, speed=3.0, distance=3.0 * np.arange(101), hr=150.0), consecutive(100))
    row = r.rows[0]
    assert r.aligned_by == "time" and r.rows_are == "steps"
    assert row.in_tolerance == 0.75
    assert row.cadence_s == 100 and row.in_tolerance_s == 75
    assert row.cadence_spm == pytest.approx((30 * 181 + 45 * 177 + 25 * 170) / 100)
    assert row.distance_m == pytest.approx(300) and row.pace_s_per_km == pytest.approx(1000 / 3)
    assert row.hr_avg == 150 and row.hr_max == 150
    assert r.overall.in_tolerance == 0.75


def test_the_tolerance_includes_its_edge() -> None:
    cadence = np.r_[np.full(50, 183.0), np.full(50, 183.5), 0]
    assert review(act(cadence), consecutive(100)).rows[0].in_tolerance == 0.5
    assert review(act(cadence), consecutive(100), tolerance_spm=4).rows[0].in_tolerance == 1.0
    assert review(act(cadence), consecutive(100), tolerance_spm=0).rows[0].in_tolerance == 0.0


def test_a_ramp_is_followed_at_each_moment() -> None:
    """Click 160->180 over 100 s: at sample i (its second's middle) the click is 160.1 + 0.2 i."""
    ramp = [step(0, 0, 100, (160, 180))]
    follows = 160.1 + 0.2 * np.arange(101) + 2  # 2 spm above the click all along
    assert review(act(follows), ramp).rows[0].in_tolerance == 1.0
    steady = review(act(np.full(101, 170.0)), ramp).rows[0]  # within 167..173: i = 35..64
    assert steady.in_tolerance == pytest.approx(0.30)
    assert steady.planned_cadence == (160.0, 180.0)


def test_a_step_without_click_has_no_share_and_the_overall_counts_the_clicking_steps() -> None:
    steps = [step(0, 0, 50, click=False, kind="recover", label="Walk"), step(1, 50, 100)]
    cadence = np.r_[np.full(50, 120.0), np.full(25, 180.0), np.full(26, 150.0)]
    r = review(act(cadence), steps)
    walk, run = r.rows
    assert walk.in_tolerance is None and walk.click is False and walk.planned_cadence == (180.0, 180.0)
    assert walk.cadence_spm == 120
    assert run.in_tolerance == 0.5
    assert r.overall.in_tolerance == 0.5  # the walk is not held against the runner
    assert r.to_json()["rows"][0]["planned"]["cadence"] == [180.0, 180.0]


def test_stopped_time_is_apart_from_the_cadence() -> None:
    cadence = np.r_[np.full(40, 180.0), np.zeros(20), np.full(40, 170.0), 0]
    row = review(act(cadence), consecutive(100)).rows[0]
    assert row.stopped_s == 20 and row.cadence_s == 80
    assert row.cadence_spm == 175 and row.in_tolerance == 0.5
    assert any("stopped 0:20" in n for n in review(act(cadence), consecutive(100)).notes)


def test_a_gap_in_the_samples_counts_as_10_s() -> None:
    t = np.r_[np.arange(50.0), np.arange(150.0, 200.0)]
    r = review(act(np.full(100, 180.0), t=t, distance=t * 3))
    assert MAX_GAP_S == 10
    assert r.overall.recorded_s == 49 + 10 + 49
    assert r.overall.duration_s == 199
    assert r.overall.cadence_s == 108


def test_no_cadence_at_all_says_so_and_gives_the_rest() -> None:
    t = np.arange(601.0)
    r = review(act(NAN, t=t, distance=2.5 * t, hr=140.0), consecutive(300, 300))
    assert any("no cadence in this file" in n for n in r.notes)
    for row in (*r.rows, r.overall):
        assert row.cadence_spm is None and row.in_tolerance is None
        assert row.pace_s_per_km == pytest.approx(400)
        assert row.hr_avg == 140
    json.dumps(r.to_json(), allow_nan=False)


def test_the_distance_comes_from_the_speed_when_the_file_has_none() -> None:
    r = review(act(180.0, t=np.arange(101.0), speed=4.0))
    assert r.overall.distance_m == pytest.approx(400) and r.distance_m == pytest.approx(400)


def test_four_hundred_thousand_samples_are_reviewed_quickly() -> None:
    n = 400_000
    t = np.arange(n, dtype=np.float64)
    cadence = 180 + np.sin(t / 50) * 5
    a = act(cadence, t=t, distance=3 * t, hr=150.0, laps=tuple(Lap(i * 4000.0, (i + 1) * 4000.0) for i in range(100)))
    steps = consecutive(*[4000] * 100)
    start = time.process_time()
    r = review(a, steps)
    review(a, None)
    assert time.process_time() - start < 2.0
    assert r.aligned_by == "laps" and len(r.rows) == 100


# ---------------------------------------------------------------------------------------------- alignment


def test_laps_equal_to_the_steps_align_by_laps_whatever_their_length() -> None:
    a = act(180.0, t=np.arange(301.0), distance=3 * np.arange(301.0), laps=(Lap(0, 70), Lap(70, 200), Lap(200, 300)))
    r = review(a, consecutive(100, 100, 100))
    assert r.aligned_by == "laps" and r.alignment == "3 laps for 3 steps"
    assert [(x.start_s, x.end_s) for x in r.rows] == [(0, 70), (70, 200), (200, 300)]
    assert [x.duration_s for x in r.rows] == [70, 130, 100]


def test_a_run_stopped_early_aligns_its_laps_with_the_first_steps() -> None:
    a = act(180.0, t=np.arange(251.0), laps=(Lap(0, 95), Lap(95, 205), Lap(205, 250)))
    r = review(a, consecutive(100, 100, 100, 100, 100))
    assert r.aligned_by == "laps" and "first 3 of 5 steps (stopped early)" in r.alignment
    assert [x.status for x in r.rows] == ["done", "done", "done", "missing", "missing"]
    assert any("2 of 5 steps not run (no lap for them)" in n for n in r.notes)
    assert r.overall.end_s == 250


def test_laps_that_do_not_fit_the_steps_align_by_time() -> None:
    auto_laps = tuple(Lap(i * 30.0, (i + 1) * 30.0, trigger="distance") for i in range(3))  # 3 laps of 30 s
    a = act(180.0, t=np.arange(401.0), laps=auto_laps)
    r = review(a, consecutive(100, 100, 100, 100))
    assert r.aligned_by == "time" and "3 laps for 4 steps" in r.alignment
    assert [(x.start_s, x.end_s) for x in r.rows] == [(0, 100), (100, 200), (200, 300), (300, 400)]
    more = review(act(180.0, t=np.arange(201.0), laps=(Lap(0, 50), Lap(50, 100), Lap(100, 200))), consecutive(200))
    assert more.aligned_by == "time" and "3 laps for 1 step" in more.alignment
    none = review(act(180.0, t=np.arange(201.0)), consecutive(200))
    assert none.aligned_by == "time" and "no laps" in none.alignment


def test_a_distance_step_lap_is_checked_on_its_distance() -> None:
    t = np.arange(401.0)
    steps = [step(0, 0, 100, distance=400.0), step(1, 100, 200, distance=400.0), step(2, 200, 300)]
    fits = (Lap(0, 130, 410.0), Lap(130, 220))
    assert review(act(180.0, t=t, distance=3 * t, laps=fits), steps).aligned_by == "laps"
    short = (Lap(0, 100, 250.0), Lap(100, 220))
    assert review(act(180.0, t=t, distance=3 * t, laps=short), steps).aligned_by == "time"


def test_an_offset_aligns_by_time_from_there() -> None:
    a = act(np.r_[np.full(60, 150.0), np.full(141, 180.0)], laps=(Lap(0, 100), Lap(100, 200)))
    r = review(a, consecutive(100, 40), offset_s=60)
    assert r.aligned_by == "time" and "1:00 into the activity" in r.alignment
    assert [(x.start_s, x.end_s) for x in r.rows] == [(60, 160), (160, 200)]
    assert r.rows[0].in_tolerance == 1.0
    assert r.rows[1].status == "done"
    assert align(a, consecutive(100, 40)).by == "laps"


def test_a_workout_longer_than_the_run_is_cut_and_then_missing() -> None:
    r = review(act(180.0, t=np.arange(151.0)), consecutive(100, 100, 100))
    assert [x.status for x in r.rows] == ["done", "partial", "missing"]
    assert r.rows[1].duration_s == 50  # to the last sample
    assert any("1 of 3 steps not run (the activity ends before them)" in n for n in r.notes)
    assert r.to_json()["rows"][2]["duration_s"] is None


def test_a_lap_s_device_distance_wins_over_the_samples() -> None:
    t = np.arange(201.0)
    a = act(180.0, t=t, distance=3 * t, laps=(Lap(0, 100, 400.0), Lap(100, 200)))
    r = review(a, consecutive(100, 100))
    assert r.rows[0].distance_m == 400 and r.rows[0].pace_s_per_km == 250
    assert r.rows[1].distance_m == pytest.approx(300)


# ----------------------------------------------------------------------------------------- without workout


def test_without_a_workout_the_rows_are_the_laps() -> None:
    t = np.arange(301.0)
    a = act(170.0, t=t, distance=3 * t, hr=np.linspace(120, 160, 301), laps=(Lap(0, 100), Lap(100, 300)))
    r = review(a)
    assert r.rows_are == "laps" and r.aligned_by is None and r.workout is None
    assert [x.label for x in r.rows] == ["lap 1", "lap 2"]
    assert r.rows[1].hr_max == pytest.approx(160 - 40 / 300)  # the highest sample in it (the last one ends it)
    assert all(x.in_tolerance is None for x in (*r.rows, r.overall))


def test_without_laps_the_run_is_split_by_km_with_a_last_shorter_split() -> None:
    t = np.arange(0.0, 1001.0)
    r = review(act(170.0, t=t, distance=2.5 * t))  # 2500 m at 400 s/km
    assert r.rows_are == "splits" and r.split_m == 1000
    assert [x.label for x in r.rows] == ["km 1", "km 2", "km 3"]
    assert [x.distance_m for x in r.rows] == [1000, 1000, 500]
    assert [x.duration_s for x in r.rows] == pytest.approx([400, 400, 200])
    assert r.rows[0].pace_s_per_km == pytest.approx(400)
    miles = review(act(170.0, t=t, distance=2.5 * t), split_m=MILE_M)
    assert [x.label for x in miles.rows] == ["mi 1", "mi 2"] and miles.rows[1].distance_m == pytest.approx(
        2500 - MILE_M
    )


def test_without_laps_or_distance_the_overall_row_is_the_run() -> None:
    r = review(act(np.full(61, 172.0)))
    assert r.rows == () and r.rows_are == "run"
    assert r.overall.cadence_spm == 172 and r.overall.duration_s == 60


def test_the_json_is_plain_and_complete() -> None:
    a = act(180.0, t=np.arange(201.0), distance=3 * np.arange(201.0), hr=150.0, laps=(Lap(0, 100), Lap(100, 200)))
    data = review(a, consecutive(100, 100, kind="run"), workout="Two").to_json()
    text = json.dumps(data, allow_nan=False)
    assert set(data) == {
        "activity",
        "workout",
        "aligned_by",
        "alignment",
        "offset_s",
        "rows_are",
        "split_m",
        "tolerance_spm",
        "rows",
        "overall",
        "notes",
    }
    assert set(data["activity"]) == {
        "source",
        "fmt",
        "started_at",
        "sport",
        "duration_s",
        "distance_m",
        "laps",
        "notes",
    }
    row = data["rows"][0]
    assert set(row) >= {"label", "kind", "rep", "status", "planned", "duration_s", "distance_m", "cadence_spm"}
    assert set(row["planned"]) == {"duration_s", "distance_m", "cadence", "click", "pace_s_per_km"}
    assert row["heart_rate"] == {"avg": 150.0, "max": 150.0} and data["workout"] == "Two"
    assert json.loads(text)["overall"]["in_tolerance"] == 1.0


def test_a_real_workout_compiles_into_rows_with_labels_and_reps() -> None:
    w = load_workout_text(
        "name: Twice\ncadence: 170\nsteps:\n  - repeat: 2\n    steps:\n      - run: 400m\n        pace: 4:00/km\n"
        "        cadence: 180\n      - recover: 1min\n        click: off\n",
        "twice.yaml",
    )
    steps = compile_workout(w, 8000).steps
    t = np.arange(0.0, 321.0)
    laps = (Lap(0, 90, 400.0), Lap(90, 150), Lap(150, 250, 400.0), Lap(250, 320))
    r = review(act(180.0, t=t, distance=4 * t, laps=laps), steps, workout=w.name)
    assert [x.name for x in r.rows] == ["Run 1/2", "Recover 1/2", "Run 2/2", "Recover 2/2"]
    assert r.rows[0].planned_distance_m == 400 and r.rows[0].planned_pace_s_per_km == 240
    assert r.rows[0].pace_s_per_km == pytest.approx(225)


# ------------------------------------------------------------------------------------------------- trials


def test_trial_distances() -> None:
    assert trial_distance(MILE_M * 1.0099) == ("1mi", MILE_M)
    assert trial_distance(MILE_M * 1.02) is None
    assert trial_distance(1500) == ("1500m", 1500.0) and trial_distance(3000) == ("3000m", 3000.0)
    assert trial_distance(0) is None and trial_distance(None) is None


def test_the_mile_of_a_workout_is_its_run_step_of_a_mile() -> None:
    steps = [step(0, 0, 300, kind="warmup"), step(1, 300, 660, distance=MILE_M), step(2, 660, 960, kind="cooldown")]
    t = np.arange(1001.0)
    r = review(act(180.0, t=t, laps=(Lap(0, 310), Lap(310, 682.4), Lap(682.4, 1000))), steps)
    found = find_trials(r)
    assert [(x.distance, x.time_s) for x in found.found] == [("1mi", pytest.approx(372.4))]


def test_without_a_workout_the_one_lap_of_a_mile_is_the_trial() -> None:
    t = np.arange(1001.0)
    laps = (Lap(0, 300, 800.0), Lap(300, 672, 1612.0), Lap(672, 1000, 900.0))
    found = find_trials(review(act(180.0, t=t, laps=laps)))
    assert found.looked_at == "laps" and [(x.distance, x.time_s) for x in found.found] == [("1mi", 372)]
    one = find_trials(review(act(180.0, t=np.arange(373.0), distance=MILE_M / 372 * np.arange(373.0))))
    assert one.looked_at == "the whole run" and one.found[0].distance == "1mi"
    many = find_trials(review(act(180.0, t=t, laps=(Lap(0, 400, MILE_M), Lap(400, 800, MILE_M)))))
    assert len(many.found) == 2


# ------------------------------------------------------------------------------------------------- format


def test_paces_are_written_per_km_or_per_mile() -> None:
    assert format_pace(300) == "5:00/km" and format_pace(300, MILE_M) == "8:03/mi" and format_pace(None) == "-"


# --------------------------------------------------------------------------------------------------- plot


def test_the_chart_data_has_the_plan_and_the_measured_lines() -> None:
    from cadencecoach.activity.plot import chart_data

    t = np.arange(601.0)
    steps = [step(0, 0, 200, (165, 172), kind="warmup"), step(1, 200, 400, pace=240.0), step(2, 400, 600, click=False)]
    r = review(act(np.where(t < 300, 170.0, 0.0), t=t, distance=4 * t), steps, workout="W")
    data = chart_data(r)
    assert [(b.start_s, b.end_s, b.kind) for b in data.bands] == [
        (0, 200, "warmup"),
        (200, 400, "run"),
        (400, 600, "run"),
    ]
    assert [(p.start, p.end, p.click) for p in data.planned_cadence] == [
        (165, 172, True),
        (180, 180, True),
        (180, 180, False),
    ]
    assert [(p.start_s, p.start) for p in data.planned_pace] == [(200, 240)]
    assert len(data.times) == len(data.cadence) == len(data.pace) == 120  # 5 s bins
    assert np.nanmax(data.cadence) == 170 and np.isnan(data.cadence[-1])
    assert np.nanmedian(data.pace) == pytest.approx(250)
    assert "W" in data.title


@needs_extra("charts")
def test_the_chart_is_a_png() -> None:
    from cadencecoach.activity.plot import draw_review
    from cadencecoach.history.charts import require_matplotlib, save_figure

    t = np.arange(601.0)
    r = review(act(np.full(601, 178.0), t=t, distance=3 * t, hr=150.0), consecutive(300, 300), workout="$x$ \x1b[31m")
    plt = require_matplotlib()
    fig, data = draw_review(r, plt)
    buf = io.BytesIO()
    try:
        assert save_figure(fig, buf) == (1200, 640)
    finally:
        plt.close(fig)
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "\x1b" not in data.title


# ----------------------------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.0, 3.0, 30.0]), min_size=2, max_size=80),
    cadence=st.lists(st.sampled_from([0.0, 170.0, 178.0, 180.0, 183.0, 200.0, NAN]), min_size=80, max_size=80),
    cuts=st.lists(st.floats(0.05, 0.95), min_size=0, max_size=4),
    offset=st.none() | st.floats(0, 50),
)
def test_the_figures_hold_together(
    gaps: list[float], cadence: list[float], cuts: list[float], offset: float | None
) -> None:
    t = np.cumsum([0.0, *gaps])
    cad = np.asarray(cadence[: len(t)])
    end = float(t[-1])
    edges = sorted({0.0, *(c * end for c in cuts), end})
    laps = tuple(Lap(a, b) for a, b in itertools.pairwise(edges))
    steps = consecutive(*[max(b - a, 0.1) for a, b in itertools.pairwise(edges)] or [10.0])
    for r in (review(act(cad, t=t, distance=2 * t, laps=laps), steps, offset_s=offset), review(act(cad, t=t))):
        json.dumps(r.to_json(), allow_nan=False)
        for row in (*r.rows, r.overall):
            if row.status == "missing":
                continue
            assert row.in_tolerance is None or 0 <= row.in_tolerance <= 1
            assert row.cadence_s + row.stopped_s <= row.recorded_s + 1e-9
            assert row.recorded_s <= (row.duration_s or 0) + 1e-9
            assert row.in_tolerance_s <= row.cadence_s + 1e-9
            if row.cadence_spm is not None:
                assert 170 - 1e-9 <= row.cadence_spm <= 200 + 1e-9
        if r.aligned_by == "laps":
            assert sum(x.recorded_s for x in r.rows) == pytest.approx(r.overall.recorded_s)
