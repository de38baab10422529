"""Time trials: parsing, storage, derived paces, and the latest trial as the loader's default."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cadencecoach import pipeline as session
from cadencecoach.errors import UsageError, WorkoutError
from cadencecoach.history.db import open_db
from cadencecoach.history.trials import (
    DefaultTrial,
    add_trial,
    format_time,
    latest_trial,
    list_trials,
    make_trial,
    pace_table,
    parse_date,
    read_latest_trial,
    remove_trial,
)
from cadencecoach.workout.loader import load_workout_text

DERIVED = """\
name: Threshold
steps:
  - warmup: 10min
  - run: 2km
    pace: threshold
"""

LITERAL = """\
name: Easy
steps:
  - run: 5km
    pace: 5:30/km
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


def test_format_time() -> None:
    assert format_time(372) == "6:12"
    assert format_time(372.4) == "6:12.4"
    assert format_time(5495) == "1:31:35"
    assert format_time(59.96) == "1:00"


def test_make_trial_parses_and_computes_vdot() -> None:
    t = make_trial("1mi 6:12", date(2026, 11, 20), "  track  ")
    assert (t.distance, t.distance_m, t.time_s) == ("1mi", 1609.344, 372.0)
    assert t.result == "1mi 6:12" and t.note == "track"
    assert 46 < t.vdot < 48
    assert t.describe() == "1mi 6:12 trial of 2026-11-20"
    assert make_trial("5K 19:57").distance == "5k"
    assert make_trial("mile 5:58.4").result == "mile 5:58.4"


@pytest.mark.parametrize("text", ["1mi", "fast 6:00", "1mi banana", "1mi 0:01", "marathon 30:00:00"])
def test_make_trial_refuses_what_no_runner_ran(text: str) -> None:
    with pytest.raises(UsageError):
        make_trial(text)


def test_parse_date() -> None:
    today = date(2026, 11, 20)
    assert parse_date(None, today=today) == today
    assert parse_date("yesterday", today=today) == date(2026, 11, 19)
    assert parse_date("2026-10-01", today=today) == date(2026, 10, 1)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_date("20/11/2026", today=today)
    with pytest.raises(UsageError, match="future"):
        parse_date("2027-01-01", today=today)


def test_add_list_latest_remove(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        a = add_trial(db, make_trial("1mi 6:12", date(2026, 11, 20)))
        b = add_trial(db, make_trial("5k 20:30", date(2026, 10, 1)))  # added later, run earlier
        c = add_trial(db, make_trial("1mi 6:05", date(2026, 11, 20), "same day, later"))
        assert [t.id for t in list_trials(db)] == [b.id, a.id, c.id]
        assert latest_trial(db) == c
        assert remove_trial(db, c.id or 0) == c
        assert remove_trial(db, 999) is None
        assert latest_trial(db) == a


def test_pace_table_matches_daniels() -> None:
    rows = {r.name: r for r in pace_table(50.0)}
    races = ["mile", "3k", "5k", "10k", "half", "marathon"]
    assert list(rows) == [*races, "easy", "marathon-training", "threshold", "interval", "repetition"]
    # Daniels' Running Formula, 3rd ed. (2014), Table 5.2, VDOT 50 (every row: tests/test_daniels_tables.py)
    assert round(rows["threshold"].s_per_km) == 255  # 4:15/km
    assert rows["interval"].s_per_400m == pytest.approx(93, abs=1)  # 1:33/400 m
    assert rows["repetition"].s_per_400m == pytest.approx(87, abs=1)  # 1:27/400 m
    assert round(rows["marathon-training"].s_per_km) == 271  # 4:31/km
    assert rows["easy"].range_s_per_km == pytest.approx((296, 334), abs=1)  # 4:56-5:34/km
    assert rows["easy"].texts()[0] == "4:57-5:34"  # the range shown (the fast end is 296.6 s)
    assert abs(rows["5k"].race_time_s - (19 * 60 + 57)) < 2  # type: ignore[operator]
    assert rows["mile"].s_per_mile == pytest.approx(rows["mile"].race_time_s)
    assert rows["easy"].race_time_s is None
    j = rows["threshold"].to_json()
    assert j["per_km"] == "4:15" and j["per_mile"] == "6:51" and j["per_400m"] == "1:42"


def test_read_latest_trial_never_creates_or_raises(home: Path, tmp_path: Path) -> None:
    assert read_latest_trial() is None
    assert not home.exists()
    home.mkdir()
    (home / "history.sqlite3").mkdir()  # not even a file
    messages: list[str] = []
    assert read_latest_trial(warn=messages.append) is None
    assert len(messages) == 1 and "cannot read your recorded trials" in messages[0]


# ------------------------------------------------------------------------------------ the loader


def test_loader_uses_the_default_only_when_a_derived_pace_needs_it() -> None:
    calls: list[int] = []

    def default() -> str:
        calls.append(1)
        return "5k 20:00"

    w = load_workout_text(LITERAL, default_trial=default)
    assert calls == [] and w.trial is None
    w = load_workout_text(DERIVED, default_trial=default)
    assert calls == [1] and w.trial_source == "history" and w.vdot == pytest.approx(49.8, abs=0.1)
    with_trial = load_workout_text(DERIVED, trial_override="5k 20:00")
    assert w.total_duration == with_trial.total_duration


def test_loader_prefers_the_workouts_trial_and_the_option() -> None:
    text = DERIVED.replace("steps:", "trial: 1mi 6:00\nsteps:")
    w = load_workout_text(text, default_trial=lambda: pytest.fail("not needed"))  # type: ignore[arg-type,return-value]
    assert w.trial_source == "workout"
    w = load_workout_text(DERIVED, trial_override="1mi 6:00", default_trial="5k 25:00")
    assert w.trial_source == "--trial"


def test_loader_without_any_trial_still_says_how_to_give_one() -> None:
    for default in (None, lambda: None):
        with pytest.raises(WorkoutError, match="derived from a time trial"):
            load_workout_text(DERIVED, default_trial=default)


def test_loader_reports_other_problems_not_the_trial() -> None:
    bad = DERIVED + "  - recover: 90\n"
    with pytest.raises(WorkoutError) as info:
        load_workout_text(bad, default_trial="5k 20:00")
    assert [p.message for p in info.value.problems] == ["'recover: 90' has no unit: write '90s', '90min' or '90m'"]


# ------------------------------------------------------------------------------------ session.load


def test_session_load_uses_the_latest_recorded_trial_and_says_so(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wfile = tmp_path / "threshold.yaml"
    wfile.write_text(DERIVED)
    with pytest.raises(WorkoutError):
        session.load(str(wfile))
    db = open_db()
    assert db is not None
    with db:
        add_trial(db, make_trial("1mi 6:12", date(2026, 11, 20)))
        add_trial(db, make_trial("5k 21:00", date(2026, 9, 1)))
    capsys.readouterr()
    w = session.load(str(wfile))
    assert w.trial_source == "history" and w.vdot == pytest.approx(make_trial("1mi 6:12").vdot)
    err = capsys.readouterr().err
    assert "using your 1mi 6:12 trial of 2026-11-20" in err
    w = session.load(str(wfile), trial="5k 20:00")  # --trial wins, silently
    assert w.trial_source == "--trial" and capsys.readouterr().err == ""
    wfile.write_text(LITERAL)
    session.load(str(wfile))
    assert capsys.readouterr().err == ""


def test_default_trial_message() -> None:
    d = DefaultTrial(path=Path("/nonexistent/history.sqlite3"))
    assert d() is None and d.message() is None
