"""The history database: schema and migrations, WAL, faults (corrupt file, unusable folder, newer schema)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cadencecoach.history import db as dbmod
from cadencecoach.history.db import HistoryError, db_path, open_db, schema_version
from cadencecoach.history.trials import add_trial, list_trials, make_trial


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


def test_path_follows_cadencecoach_home(home: Path) -> None:
    assert db_path() == home / "history.sqlite3"


def test_new_database_is_wal_versioned_and_has_the_tables(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        assert db.query("PRAGMA journal_mode")[0][0] == "wal"
        assert db.query("PRAGMA user_version")[0][0] == schema_version() >= 1
        assert db.query("PRAGMA busy_timeout")[0][0] >= 1000
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"trials", "sessions", "session_steps"} <= tables
    assert (home / "history.sqlite3").is_file()


def test_readers_do_not_create_anything(home: Path) -> None:
    assert open_db(create=False) is None
    assert not home.exists()


def test_forward_migration_keeps_data(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_db()
    assert db is not None
    with db:
        add_trial(db, make_trial("1mi 6:12"))

    released = len(dbmod.MIGRATIONS)

    def later(con: sqlite3.Connection) -> None:
        con.execute("ALTER TABLE trials ADD COLUMN course TEXT")
        con.execute("UPDATE trials SET course = 'track'")

    monkeypatch.setattr(dbmod, "MIGRATIONS", [*dbmod.MIGRATIONS, later])
    db = open_db()
    assert db is not None
    with db:
        assert db.query("PRAGMA user_version")[0][0] == released + 1
        assert [tuple(r) for r in db.query("SELECT course FROM trials")] == [("track",)]
        assert len(list_trials(db)) == 1


def test_a_failing_migration_leaves_the_old_version(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_db().close()  # type: ignore[union-attr]

    def broken(con: sqlite3.Connection) -> None:
        con.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("boom")

    released = len(dbmod.MIGRATIONS)
    monkeypatch.setattr(dbmod, "MIGRATIONS", [*dbmod.MIGRATIONS, broken])
    with pytest.raises(HistoryError):
        open_db()
    con = sqlite3.connect(home / "history.sqlite3")
    assert con.execute("PRAGMA user_version").fetchone()[0] == released
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    con.close()


def test_a_newer_schema_is_refused_untouched(home: Path) -> None:
    open_db().close()  # type: ignore[union-attr]
    path = home / "history.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(HistoryError, match="newer cadencecoach"):
        open_db()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 99
    con.close()


def test_garbage_file_is_moved_aside_with_a_message(home: Path) -> None:
    home.mkdir()
    path = home / "history.sqlite3"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    messages: list[str] = []
    db = open_db(warn=messages.append)
    assert db is not None
    with db:
        add_trial(db, make_trial("5k 20:00"))
    assert len(messages) == 1 and "damaged" in messages[0] and "moved it to" in messages[0]
    aside = [p for p in home.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # kept, byte for byte
    assert str(aside[0]) in messages[0]


def test_damaged_pages_are_moved_aside_never_overwritten(home: Path) -> None:
    db = open_db()
    assert db is not None
    with db:
        for i in range(300):
            add_trial(db, make_trial(f"5k {20 + i % 5}:00", note="x" * 200))
        db.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = home / "history.sqlite3"
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(2 * page, len(data), page):  # scribble over every b-tree page header after page 2
        data[off : off + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    damaged = bytes(data)
    messages: list[str] = []
    db = open_db(warn=messages.append)
    assert db is not None
    with db:
        assert list_trials(db) == []
    assert len(messages) == 1 and "damaged" in messages[0]
    aside = [p for p in home.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == damaged


def test_two_damaged_files_get_two_names(home: Path) -> None:
    home.mkdir()
    path = home / "history.sqlite3"
    for n in range(2):
        path.write_bytes(b"junk %d" % n * 1000)
        open_db(warn=lambda m: None).close()  # type: ignore[union-attr]
        path.unlink()
        for side in home.glob("history.sqlite3-*"):
            side.unlink()
    aside = sorted(p.read_bytes()[:6] for p in home.iterdir() if ".corrupt-" in p.name)
    assert aside == [b"junk 0", b"junk 1"]


def test_missing_folder_that_cannot_be_created_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CADENCECOACH_HOME", str(blocker / "cadencecoach"))
    with pytest.raises(HistoryError, match="cannot create the data folder"):
        open_db()


def test_a_version_1_history_is_migrated_to_2_with_its_data(home: Path) -> None:
    """A history made before programs existed (schema 1) gets the programs table and keeps its trials."""
    home.mkdir()
    path = home / "history.sqlite3"
    con = sqlite3.connect(path)
    with con:
        dbmod._v1(con)
        con.execute("PRAGMA user_version = 1")
        con.execute(
            "INSERT INTO trials (date, distance, distance_m, time_s, vdot, note, created_at)"
            " VALUES ('2026-11-20', '1mi', 1609.344, 372, 46.6, NULL, '2026-11-20T10:00:00Z')"
        )
    con.close()
    db = open_db()
    assert db is not None
    with db:
        assert db.query("PRAGMA user_version")[0][0] == schema_version()
        assert [t.result for t in list_trials(db)] == ["1mi 6:12"]
        assert db.query("SELECT count(*) FROM programs")[0][0] == 0


def test_a_version_2_history_without_its_programs_table_is_refused(home: Path) -> None:
    open_db().close()  # type: ignore[union-attr]
    con = sqlite3.connect(home / "history.sqlite3")
    con.execute("DROP TABLE programs")
    con.close()
    with pytest.raises(HistoryError, match="lost its tables \\(programs\\)"):
        open_db()
