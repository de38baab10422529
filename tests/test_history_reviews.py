"""Reviews in the history database (``history/reviews.py``, table ``reviews``, schema 3): store, replace, list,
the migration from schema 2 and the rules the database code keeps (a lost table refused, rows another tool wrote)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from cadencecoach.history import db as dbmod
from cadencecoach.history.db import HistoryError, open_db, schema_version
from cadencecoach.history.reviews import list_reviews, save_review
from cadencecoach.history.trials import add_trial, list_trials, make_trial


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


def save(db: Any, *, sha: str = "a" * 64, source: str | None = "/w/10x400.yaml", **kw: Any) -> tuple[int, bool]:
    values: dict[str, Any] = {
        "activity": "run.fit",
        "sha256": sha,
        "started_at": datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc),
        "workout": "10x400",
        "workout_source": source,
        "aligned_by": "laps",
        "in_tolerance": 0.74,
        "summary": {"overall": {"duration_s": 1800.0, "distance_m": 6000.0, "cadence_spm": 178.2}, "tolerance_spm": 3},
    }
    values.update(kw)
    return save_review(db, **values)


def test_schema_3_has_the_reviews_table(home: Path) -> None:
    assert schema_version() >= 3 and dbmod.LATER_TABLES["reviews"] == 3
    db = open_db()
    assert db is not None
    with db:
        cols = {r["name"] for r in db.query("PRAGMA table_info(reviews)")}
    assert cols == {
        "id",
        "created_at",
        "activity",
        "sha256",
        "started_at",
        "workout",
        "workout_source",
        "aligned_by",
        "in_tolerance",
        "summary",
    }


def test_a_review_is_stored_and_listed(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        assert save(db) == (1, False)
        (r,) = list_reviews(db)
    assert r.id == 1 and r.activity == "run.fit" and r.workout == "10x400" and r.aligned_by == "laps"
    assert r.in_tolerance == 0.74 and r.started_at == datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc)
    assert r.overall["cadence_spm"] == 178.2
    data = r.to_json()
    assert data["in_tolerance"] == 0.74 and data["distance_m"] == 6000.0 and data["tolerance_spm"] == 3
    assert data["workout_source"] == "/w/10x400.yaml"
    json.dumps(data)


def test_the_same_file_and_workout_replace_their_row(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        first, _ = save(db)
        again = save(db, in_tolerance=0.8, activity="moved/run.fit")
        other_workout = save(db, source="/w/tempo.yaml", workout="tempo")
        laps_only = save(db, source=None, workout=None, aligned_by=None, in_tolerance=None)
        laps_again = save(db, source=None, workout=None, aligned_by=None, in_tolerance=None)
        other_file = save(db, sha="b" * 64)
        rows = list_reviews(db)
    assert again == (first, True)
    assert other_workout[1] is False and laps_only[1] is False and laps_again == (laps_only[0], True)
    assert other_file[1] is False
    assert len(rows) == 4
    replaced = next(r for r in rows if r.id == first)
    assert replaced.in_tolerance == 0.8 and replaced.activity == "moved/run.fit"
    nothing = next(r for r in rows if r.id == laps_only[0])
    assert nothing.workout is None and nothing.workout_source == "" and nothing.in_tolerance is None


def test_reviews_are_listed_latest_run_first(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        for i, day in enumerate((5, 20, 12)):
            save(
                db, sha=hashlib.sha256(bytes([i])).hexdigest(), started_at=datetime(2026, 11, day, tzinfo=timezone.utc)
            )
        save(db, sha="c" * 64, started_at=None)  # no time in the file: when it was reviewed (now)
        days = [r.started_at.day if r.started_at else None for r in list_reviews(db)]
        assert days == [None, 20, 12, 5]
        assert len(list_reviews(db, limit=2)) == 2


def test_a_share_out_of_range_is_stored_as_nothing(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        save(db, in_tolerance=float("nan"))
        save(db, sha="d" * 64, in_tolerance=1.5)
        assert [r.in_tolerance for r in list_reviews(db)] == [None, None]


def test_a_row_another_tool_wrote_is_left_out(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        save(db)
        with db.write() as con:
            con.execute(
                "INSERT INTO reviews (created_at, activity, sha256, summary, in_tolerance)"
                " VALUES ('not a time', 'x.fit', 'e', '{}', 0.5)"
            )
            con.execute(
                "INSERT INTO reviews (created_at, activity, sha256, summary, in_tolerance)"
                " VALUES ('2026-11-01T00:00:00+00:00', 'y.fit', 'f', '[broken', 0.5)"
            )
            con.execute(
                "INSERT INTO reviews (created_at, activity, sha256, summary, in_tolerance)"
                " VALUES ('2026-11-01T00:00:00+00:00', 'z.fit', 'g', '{}', 'lots')"
            )
        found = list_reviews(db)
    assert [r.activity for r in found] == ["run.fit", "z.fit"] and found[1].in_tolerance is None


def test_a_version_2_history_gets_the_reviews_table_and_keeps_its_data(home: Path) -> None:
    home.mkdir()
    path = home / "history.sqlite3"
    con = sqlite3.connect(path)
    with con:
        dbmod._v1(con)
        dbmod._v2(con)
        con.execute("PRAGMA user_version = 2")
    con.close()
    db = open_db()
    assert db is not None
    with db:
        add_trial(db, make_trial("1mi 6:12"))
        assert db.query("PRAGMA user_version")[0][0] == schema_version()
        assert db.query("SELECT count(*) FROM reviews")[0][0] == 0
        assert save(db) == (1, False)
        assert [t.result for t in list_trials(db)] == ["1mi 6:12"]


def test_a_version_3_history_without_its_reviews_table_is_refused_untouched(home: Path) -> None:
    open_db().close()  # type: ignore[union-attr]
    con = sqlite3.connect(home / "history.sqlite3")
    con.execute("DROP TABLE reviews")
    con.close()
    before = (home / "history.sqlite3").read_bytes()
    with pytest.raises(HistoryError, match="lost its tables \\(reviews\\)"):
        open_db()
    assert (home / "history.sqlite3").read_bytes() == before
