"""``cadencecoach review`` through the real Typer app (docs/REVIEW.md): the corpus activities, synthetic TCX runs
with known laps and cadence, ``--json``, ``--plot``, the store and ``history``, ``--add-trial``, hostile paths.

The synthetic runs are TCX files written here (:func:`tcx`: one ``<Lap>`` per list of samples, 1 Hz, cadence in
steps per minute, which the readers keep as it is: its median is over 120). The data folder is isolated
($CADENCECOACH_HOME) as in tests/test_program_cli.py.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cli_runner import cc, ok
from extra_deps import needs_extra

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "activities"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/ is not here (a user's clone has none)")
SMALL = CORPUS / "activity-small-fenix2-run.fit"
START = datetime(2026, 11, 20, 7, 0, tzinfo=timezone.utc)
MILE = 1609.344


def review_json(*args: str) -> dict[str, Any]:
    return json.loads(ok("review", *args, "--json").out)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")
    return h


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def tcx(
    path: Path,
    laps: list[list[float]],
    *,
    speed: float | list[float] = 3.0,
    hr: float | None = 150.0,
    start: datetime = START,
) -> Path:
    """A TCX run: lap i is ``len(laps[i])`` seconds, one trackpoint a second with the cadence given (NaN: none),
    the distance growing at `speed` m/s (one for all, or one per lap); the laps back to back, and one more point
    that ends the last."""
    speeds = speed if isinstance(speed, list) else [speed] * len(laps)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">',
        '<Activities><Activity Sport="Running">',
        f"<Id>{_iso(start)}</Id>",
    ]
    second = 0
    metres = 0.0
    for cadences, v in zip(laps, speeds, strict=True):
        began = start + timedelta(seconds=second)
        out.append(f'<Lap StartTime="{_iso(began)}">')
        out.append(f"<TotalTimeSeconds>{len(cadences)}</TotalTimeSeconds>")
        out.append(f"<DistanceMeters>{len(cadences) * v:.3f}</DistanceMeters>")
        out.append("<Calories>0</Calories><Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>")
        for c in cadences:
            when = start + timedelta(seconds=second)
            point = f"<Trackpoint><Time>{_iso(when)}</Time><DistanceMeters>{metres:.3f}</DistanceMeters>"
            if hr is not None:
                point += f"<HeartRateBpm><Value>{hr:.0f}</Value></HeartRateBpm>"
            if c == c:  # not NaN
                point += f"<Cadence>{c:.0f}</Cadence>"
            out.append(point + "</Trackpoint>")
            second += 1
            metres += v
        if cadences is laps[-1]:  # a last point ends the run (a sample holds its values until the next one)
            when = start + timedelta(seconds=second)
            out.append(f"<Trackpoint><Time>{_iso(when)}</Time><DistanceMeters>{metres:.3f}</DistanceMeters>")
            out.append(f"<Cadence>{cadences[-1]:.0f}</Cadence></Trackpoint>" if cadences else "</Trackpoint>")
        out.append("</Track></Lap>")
    out.append("</Activity></Activities></TrainingCenterDatabase>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


TWO_STEPS = """name: Two steps
cadence: 180
steps:
  - run: 100s
    label: Fast
  - recover: 100s
    label: Easy
    cadence: 160
"""


@pytest.fixture
def workout(tmp_path: Path) -> Path:
    p = tmp_path / "two.yaml"
    p.write_text(TWO_STEPS, encoding="utf-8")
    return p


def two_lap_run(tmp_path: Path, name: str = "run.tcx") -> Path:
    """Lap 1 (100 s): 75 s at 181, 25 s at 170 (75 % on the 180 click); lap 2 (100 s): all at 160."""
    return tcx(tmp_path / name, [[181.0] * 75 + [170.0] * 25, [160.0] * 100])


# ------------------------------------------------------------------------------------------- the corpus


@needs_corpus
def test_the_small_fenix_run_is_reviewed_lap_by_lap(home: Path) -> None:
    r = ok("review", str(SMALL))
    assert "activity-small-fenix2-run.fit" in r.out and "4 laps" in r.out
    assert all(f"lap {i}" in r.out for i in range(1, 5)) and "overall" in r.out
    assert "doubled to steps per minute" in r.out
    assert "saved as review 1" in r.out
    data = review_json(str(SMALL), "--no-save")
    assert data["rows_are"] == "laps" and len(data["rows"]) == 4 and data["aligned_by"] is None
    assert data["activity"]["fmt"] == "fit" and data["activity"]["sport"] == "running"
    assert 8900 < data["overall"]["distance_m"] < 9100
    assert all(150 < row["cadence_spm"] < 180 for row in data["rows"])
    assert data["stored"] is None


@needs_corpus
def test_a_corpus_run_against_a_shipped_workout_is_aligned_by_time(home: Path) -> None:
    data = review_json(str(SMALL), "--workout", "tempo")
    assert data["workout"] == "Tempo run" and data["aligned_by"] == "time"
    assert "4 laps for 3 steps" in data["alignment"]
    assert [row["status"] for row in data["rows"]] == ["done", "done", "partial"]
    assert 0 <= data["overall"]["in_tolerance"] <= 1


@needs_corpus
def test_a_file_without_cadence_says_so(home: Path) -> None:
    r = ok("review", str(CORPUS / "2013-02-06-12-11-14.fit"))
    assert "no cadence in this file" in r.out and "lap 5" in r.out


@needs_corpus
def test_every_small_corpus_file_is_reviewed(home: Path) -> None:
    for f in sorted(CORPUS.glob("*.fit")):
        if f.stat().st_size < 200_000:
            data = review_json(str(f), "--no-save")
            assert data["overall"]["duration_s"] > 0, f


# ---------------------------------------------------------------------------------------- synthetic runs


def test_laps_for_the_steps_give_the_exact_share(home: Path, tmp_path: Path, workout: Path) -> None:
    data = review_json(str(two_lap_run(tmp_path)), "--workout", str(workout))
    assert data["aligned_by"] == "laps" and data["alignment"] == "2 laps for 2 steps"
    fast, easy = data["rows"]
    assert fast["label"] == "Fast" and fast["in_tolerance"] == 0.75
    assert fast["cadence_spm"] == pytest.approx((75 * 181 + 25 * 170) / 100)
    assert easy["in_tolerance"] == 1.0 and easy["planned"]["cadence"] == [160.0, 160.0]
    assert data["overall"]["in_tolerance"] == pytest.approx(175 / 200)
    assert fast["pace_s_per_km"] == pytest.approx(1000 / 3, abs=0.01)


def test_the_table_shows_plan_and_measure(home: Path, tmp_path: Path, workout: Path) -> None:
    r = ok("review", str(two_lap_run(tmp_path)), "--workout", str(workout))
    assert "aligned by laps: 2 laps for 2 steps" in r.out
    assert re.search(r"Fast .*1:40 .*180 .*178 .*75%", r.out), r.out
    assert "cadence within ±3 spm of the click 88% of the time" in r.out
    assert "pace/km" in r.out and "5:33" in r.out


def test_a_run_stopped_early_aligns_its_laps(home: Path, tmp_path: Path) -> None:
    w = tmp_path / "four.yaml"
    w.write_text("name: Four\ncadence: 180\nsteps:\n  - repeat: 4\n    steps:\n      - run: 60s\n", encoding="utf-8")
    run = tcx(tmp_path / "early.tcx", [[180.0] * 60, [180.0] * 62, [180.0] * 30])
    data = review_json(str(run), "--workout", str(w))
    assert data["aligned_by"] == "laps" and "stopped early" in data["alignment"]
    assert [row["status"] for row in data["rows"]] == ["done", "done", "done", "missing"]
    assert "not run" in ok("review", str(run), "--workout", str(w), "--no-save").out


def test_an_offset_aligns_by_time(home: Path, tmp_path: Path, workout: Path) -> None:
    run = tcx(tmp_path / "late.tcx", [[150.0] * 30 + [180.0] * 100 + [160.0] * 100])
    data = review_json(str(run), "--workout", str(workout), "--offset", "0:30")
    assert data["aligned_by"] == "time" and data["offset_s"] == 30
    assert [row["in_tolerance"] for row in data["rows"]] == [1.0, 1.0]


def test_miles_and_tolerance(home: Path, tmp_path: Path, workout: Path) -> None:
    data = review_json(str(two_lap_run(tmp_path)), "--workout", str(workout), "--tolerance", "10")
    assert data["tolerance_spm"] == 10 and data["rows"][0]["in_tolerance"] == 1.0
    r = ok("review", str(two_lap_run(tmp_path)), "--unit", "mi", "--no-save")
    assert "/mi" in r.out and " mi" in r.out


@needs_extra("fit")
def test_a_fit_file_with_a_lap_per_step(home: Path, tmp_path: Path, workout: Path) -> None:
    """A watch's FIT file (Garmin's encoder): strides doubled, a lap per step."""
    from activity_files import fit_bytes, run_records

    records = run_records(100, cadence=90) + run_records(101, cadence=80, start=100)
    laps = [{"start": 0, "end": 100, "total_distance": 300.0}, {"start": 100, "end": 200, "total_distance": 300.0}]
    run = tmp_path / "watch.fit"
    run.write_bytes(fit_bytes(records, laps=laps, sessions=[{"start": 0, "end": 200, "sport": "running"}]))
    data = review_json(str(run), "--workout", str(workout))
    assert data["activity"]["fmt"] == "fit" and data["aligned_by"] == "laps"
    assert [(row["cadence_spm"], row["in_tolerance"]) for row in data["rows"]] == [(180.0, 1.0), (160.0, 1.0)]
    assert data["activity"]["started_at"] == "2026-05-01T07:30:00+00:00"


def test_a_gpx_track_without_laps_is_split_by_km(home: Path, tmp_path: Path) -> None:
    from activity_files import gpx_bytes, meridian_track

    points = meridian_track(1001, metres_per_s=2.5)
    for p in points:
        p["cad"], p["hr"] = 86, 140
    run = tmp_path / "track.gpx"
    run.write_bytes(gpx_bytes(points))
    data = review_json(str(run))
    assert data["rows_are"] == "splits" and [row["label"] for row in data["rows"]] == ["km 1", "km 2", "km 3"]
    assert data["rows"][0]["pace_s_per_km"] == pytest.approx(400, abs=1)
    assert data["rows"][0]["cadence_spm"] == 172
    assert "mi 1" in ok("review", str(run), "--unit", "mi", "--no-save").out


def test_a_csv_without_cadence(home: Path, tmp_path: Path, workout: Path) -> None:
    from activity_files import csv_bytes

    run = tmp_path / "run.csv"
    run.write_bytes(csv_bytes([(t, None, 3.0, 3.0 * t, 150) for t in range(201)]))
    r = ok("review", str(run), "--workout", str(workout))
    assert "no cadence in this file" in r.out and "aligned by time: the file has no laps" in r.out
    assert "pace/km" in r.out and "5:33" in r.out


def test_a_sensor_recording_saved_as_tcx_is_reviewed_by_its_laps(home: Path, tmp_path: Path, workout: Path) -> None:
    """``run --sensor`` saves what it heard (an Activity of format "sensor", a lap per step) as TCX."""
    import numpy as np

    from cadencecoach.activity.model import Activity, Lap
    from cadencecoach.activity.tcx import write_tcx

    t = np.arange(0.0, 201.0)
    cadence = np.where(t < 100, 182.0, 162.0)  # even: TCX keeps strides per minute, whole numbers
    heard = Activity(
        "sensor", "sensor", t, cadence, np.full(201, 3.0), 3 * t, np.full(201, np.nan),
        laps=(Lap(0, 100), Lap(100, 200)), started_at=START,
    )  # fmt: skip
    run = tmp_path / "sensor-run.tcx"
    write_tcx(run, heard)
    data = review_json(str(run), "--workout", str(workout))
    assert data["aligned_by"] == "laps" and [row["in_tolerance"] for row in data["rows"]] == [1.0, 1.0]
    assert [row["cadence_spm"] for row in data["rows"]] == [182.0, 162.0]


# ------------------------------------------------------------------------------------------ plot, store


@needs_extra("charts")
def test_plot_writes_a_png(home: Path, tmp_path: Path, workout: Path) -> None:
    out = tmp_path / "run.png"
    r = ok("review", str(two_lap_run(tmp_path)), "--workout", str(workout), "--plot", str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {out}" in r.err


def test_plot_checks_its_file_first(home: Path, tmp_path: Path) -> None:
    run = two_lap_run(tmp_path)
    for bad, why in ((tmp_path / "x.gif", ".png"), (run, "activity"), (tmp_path, "folder")):
        r = cc("review", str(run), "--plot", str(bad))
        assert r.code == 2 and "--plot" in r.err and why in r.err, r.err
    assert not (home / "history.sqlite3").exists()


def test_reviews_are_stored_once_per_file_and_workout_and_history_shows_them(
    home: Path, tmp_path: Path, workout: Path
) -> None:
    run = two_lap_run(tmp_path)
    assert "saved as review 1" in ok("review", str(run), "--workout", str(workout)).out
    assert "updated review 1" in ok("review", str(run), "--workout", str(workout)).out
    assert "saved as review 2" in ok("review", str(run)).out
    ok("review", str(run), "--no-save")
    h = ok("history")
    assert "Two steps" in h.out and "88%" in h.out and "run.tcx" in h.out and "2026-11-20" in h.out
    reviews = json.loads(ok("history", "--json").out)["reviews"]
    assert [(r["id"], r["workout"], r["in_tolerance"]) for r in reviews] == [(2, None, None), (1, "Two steps", 0.875)]
    assert reviews[1]["aligned_by"] == "laps" and reviews[1]["distance_m"] == pytest.approx(600, abs=3)
    assert "reviews" not in json.loads(ok("history", "--json", "--weekly").out)


def test_a_history_that_cannot_be_written_is_a_warning(home: Path, tmp_path: Path) -> None:
    home.mkdir()
    (home / "history.sqlite3").mkdir()  # a folder in its place
    r = ok("review", str(two_lap_run(tmp_path)))
    assert "lap 2" in r.out and "not stored" in r.err


# ------------------------------------------------------------------------------------------------ trials


MILE_TT = """name: Mile TT
steps:
  - warmup: 10min
    cadence: 170
  - run: 1mi
    pace: 6:00/mi
    cadence: 186
  - cooldown: 5min
    cadence: 165
"""


def test_add_trial_records_the_mile_of_a_reviewed_trial(home: Path, tmp_path: Path) -> None:
    w = tmp_path / "tt.yaml"
    w.write_text(MILE_TT, encoding="utf-8")
    run = tcx(tmp_path / "tt.tcx", [[170.0] * 600, [186.0] * 372, [165.0] * 300], speed=[3.0, MILE / 372, 2.8])
    r = ok("review", str(run), "--workout", str(w), "--add-trial")
    assert "added trial 1: 1mi 6:12 on 2026-11-20" in r.out
    assert "paces from it: easy" in r.out and "threshold" in r.out
    trials = json.loads(ok("trial", "list", "--json").out)["trials"]
    assert [(t["result"], t["date"]) for t in trials] == [("1mi 6:12", "2026-11-20")]
    assert "review of tt.tcx" in trials[0]["note"]


def test_add_trial_without_a_workout_takes_the_one_mile_lap(home: Path, tmp_path: Path) -> None:
    run = tcx(tmp_path / "laps.tcx", [[170.0] * 300, [186.0] * 380, [165.0] * 200], speed=[3.0, MILE / 380, 2.8])
    data = json.loads(ok("review", str(run), "--add-trial", "--json").out)
    assert data["trial"]["result"] == "1mi 6:20" and data["stored"]["id"] == 1


def test_add_trial_says_what_it_found(home: Path, tmp_path: Path, workout: Path) -> None:
    run = two_lap_run(tmp_path)
    r = cc("review", str(run), "--add-trial")
    assert r.code == 2 and "--add-trial" in r.err and "300 m, 300 m" in r.err, r.err
    r = cc("review", str(run), "--workout", str(workout), "--add-trial")
    assert r.code == 2 and "--add-trial" in r.err and "no run step of a trial distance" in r.err
    w = tmp_path / "tt.yaml"
    w.write_text(MILE_TT, encoding="utf-8")
    r = cc("review", str(run), "--workout", str(w), "--add-trial")
    assert r.code == 2 and "aligned by time" in r.err and "trial add 1mi" in r.err, r.err
    assert cc("review", str(run), "--add-trial", "--no-save").code == 2
    assert not (home / "history.sqlite3").exists()  # nothing stored when the trial is refused


# ------------------------------------------------------------------------------------------------ hostile


def test_bad_activity_paths_are_one_line_and_exit_2(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.fit"
    os.mkfifo(fifo)
    junk = tmp_path / "junk.tcx"
    junk.write_text("<not xml", encoding="utf-8")
    for bad in (tmp_path, fifo, tmp_path / "missing.fit", junk):
        r = cc("review", str(bad))
        assert r.code == 2, (bad, r.err)
        assert len(r.err.strip().splitlines()) == 1 and r.out == "", (bad, r.err)
    assert not (home / "history.sqlite3").exists()


def test_bad_options(home: Path, tmp_path: Path, workout: Path) -> None:
    run = two_lap_run(tmp_path)
    for args, word in (
        (["--offset", "soon", "--workout", str(workout)], "--offset"),
        (["--offset", "1:00"], "--workout"),
        (["--unit", "parsec"], "--unit"),
        (["--workout", "no-such-workout"], "no such file"),
    ):
        r = cc("review", str(run), *args)
        assert r.code == 2 and word in r.err, (args, r.err)


def test_a_file_name_from_anywhere_is_shown_safely(home: Path, tmp_path: Path) -> None:
    run = two_lap_run(tmp_path, "run\x1b[31m[bold].tcx")
    r = ok("review", str(run))
    assert "\x1b" not in r.out and "\\x1b" in r.out and "[bold]" in r.out


def test_help_has_examples() -> None:
    r = ok("review", "--help")
    assert "cadencecoach review run.fit --workout 10x400" in r.out and "--add-trial" in r.out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX FIFOs")
def test_the_sha_is_of_the_file(home: Path, tmp_path: Path) -> None:
    import hashlib

    run = two_lap_run(tmp_path)
    ok("review", str(run))
    (stored,) = json.loads(ok("history", "--json").out)["reviews"]
    assert stored["sha256"] == hashlib.sha256(run.read_bytes()).hexdigest() and stored["activity"] == str(run)
