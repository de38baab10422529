"""The history database: one SQLite file in the user's cadencecoach folder.

* Where: ``$CADENCECOACH_HOME/history.sqlite3``, else the platform's user data dir
  (:func:`cadencecoach.workout.library.home_dir`).
* How: stdlib :mod:`sqlite3` in autocommit mode; every write is one short ``BEGIN IMMEDIATE`` ...
  ``COMMIT`` transaction, WAL journal (readers never block the writer), ``synchronous=NORMAL`` (a killed
  process never loses a committed transaction) and a busy timeout, so two processes writing at once wait
  for each other instead of failing.
* Schema: versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` [i] takes version i to i+1 and they run
  in one transaction, so a database is always at a whole version. A database from a newer cadencecoach is
  refused (not touched).
* Faults: a corrupt file (``file is not a database``, a failed ``quick_check``) is moved aside, with its
  ``-wal``/``-shm`` files, to ``history.sqlite3.corrupt-YYYYMMDDTHHMMSS`` and a message says so; a new
  database is started. It is never overwritten. A folder that cannot be created or written raises
  :class:`HistoryError` with a message for the runner.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cadencecoach.errors import ResourceError, warn

Warn = Callable[[str], None]

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000


class HistoryError(ResourceError):
    """The history database cannot be used (exit 1); the message says why, for the runner."""


# ------------------------------------------------------------------------------------------- schema


def _v1(con: sqlite3.Connection) -> None:
    """Version 1: time trials, recorded sessions and the per-step log of each session."""
    statements = [
        """CREATE TABLE trials (
            id          INTEGER PRIMARY KEY,
            date        TEXT NOT NULL,             -- the day it was run, YYYY-MM-DD
            distance    TEXT NOT NULL,             -- as written: 1mi, 5k, 3000m
            distance_m  REAL NOT NULL CHECK (distance_m > 0),
            time_s      REAL NOT NULL CHECK (time_s > 0),
            vdot        REAL NOT NULL,
            note        TEXT,
            created_at  TEXT NOT NULL              -- UTC, ISO 8601
        )""",
        "CREATE INDEX trials_by_date ON trials (date, id)",
        """CREATE TABLE sessions (
            id              INTEGER PRIMARY KEY,
            workout_name    TEXT NOT NULL,
            workout_source  TEXT,                  -- the file it was loaded from
            workout_hash    TEXT NOT NULL,         -- sha256 of the file's bytes
            started_at      TEXT NOT NULL,         -- UTC, ISO 8601
            ended_at        TEXT,
            heartbeat_at    TEXT NOT NULL,         -- last sign of life of the recording process
            planned_s       REAL NOT NULL,
            run_s           REAL NOT NULL DEFAULT 0,   -- workout time played so far
            steps_total     INTEGER NOT NULL,
            steps_completed INTEGER NOT NULL DEFAULT 0,
            steps_skipped   INTEGER NOT NULL DEFAULT 0,
            stopped_early   INTEGER NOT NULL DEFAULT 0,
            underflows      INTEGER NOT NULL DEFAULT 0,
            status          TEXT NOT NULL DEFAULT 'running'
                            CHECK (status IN ('running', 'completed', 'stopped', 'interrupted')),
            pid             INTEGER,
            host            TEXT,
            proc_id         TEXT                   -- boot id and process start time: tells a reused pid apart
        )""",
        "CREATE INDEX sessions_by_start ON sessions (started_at)",
        "CREATE INDEX sessions_running ON sessions (status) WHERE status = 'running'",
        """CREATE TABLE session_steps (
            session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            step_index  INTEGER NOT NULL,
            outcome     TEXT NOT NULL CHECK (outcome IN ('completed', 'skipped')),
            at_s        REAL,                      -- workout time when it ended
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (session_id, step_index)
        )""",
    ]
    for sql in statements:
        con.execute(sql)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]
"""``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``. Append, never edit a released one."""


def schema_version() -> int:
    return len(MIGRATIONS)


# ------------------------------------------------------------------------------------------- paths


def db_path(home: Path | None = None) -> Path:
    if home is None:
        from cadencecoach.workout.library import home_dir

        home = home_dir()
    return home / DB_NAME


def utc_now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------- errors


_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def is_corruption(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _unwritable(path: Path, exc: BaseException) -> HistoryError:
    return HistoryError(f"cannot write the history database {path}: {_describe(exc)}")


# ------------------------------------------------------------------------------------------- database


class Database:
    """An open, checked, migrated history database. Use :meth:`write` for every change."""

    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        self.con = con
        self.path = path

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE``: takes the write lock now, waits up to the busy
        timeout for another writer)."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")  # never leave the connection inside a failed transaction
            raise

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        return self.con.execute(sql, params).fetchall()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_db(path: Path | None = None, *, create: bool = True, warn: Warn | None = None) -> Database | None:
    """Open (and create, migrate, repair) the history database.

    ``create=False``: return None when there is no database yet (for commands that only read: they must not
    create folders). Raises :class:`HistoryError` when the database cannot be used.
    """
    path = db_path() if path is None else path
    if not create and not path.exists():
        return None
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create the data folder {path.parent}: {_describe(exc)}") from None
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        con: sqlite3.Connection | None = None
        try:
            con = _connect_checked(path, warn)
            _configure(con, path)
            _migrate(con, path)
            return Database(con, path)
        except HistoryError:
            _close_quietly(con)
            raise
        except sqlite3.Error as exc:
            _close_quietly(con)
            if _is_locked(exc) and time.monotonic() < deadline:  # another process is creating it
                time.sleep(0.005)
                continue
            if is_corruption(exc):
                raise HistoryError(f"the history database {path} is damaged: {exc}") from None
            raise _unwritable(path, exc) from None


def _close_quietly(con: sqlite3.Connection | None) -> None:
    if con is not None:
        with contextlib.suppress(sqlite3.Error):
            con.close()


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return con


def _check(con: sqlite3.Connection) -> str | None:
    """None when the file is a sound database, else what is wrong."""
    try:
        con.execute("PRAGMA user_version").fetchone()
        row = con.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            return str(exc)
        raise
    if row is None or row[0] != "ok":
        return f"integrity check failed: {row[0] if row else 'no answer'}"
    return None


def _connect_checked(path: Path, warn: Warn | None) -> sqlite3.Connection:
    con = _connect(path)
    problem = _check(con)
    if problem is None:
        return con
    con.close()
    with _lock(path):
        con = _connect(path)  # another process may have repaired it while we waited for the lock
        problem = _check(con)
        if problem is None:
            return con
        con.close()
        aside = move_aside(path)
        message = (
            f"the history database {path} is damaged ({problem}); moved it to {aside} "
            "(nothing was deleted) and started a new one"
        )
        (warn or _default_warn)(message)
        return _connect(path)


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal/-shm files) to a new name beside it; never overwrite."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    n = 0
    while True:
        aside = path.with_name(f"{path.name}.corrupt-{stamp}" + (f"-{n}" if n else ""))
        if not any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):
            break
        n += 1
    try:
        os.rename(path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.rename(side, Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise HistoryError(
            f"the history database {path} is damaged and cannot be moved aside: {_describe(exc)}"
        ) from None
    return aside


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (for repairs); a no-op where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _is_locked(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(exc).lower() or "busy" in str(exc).lower()


def _configure(con: sqlite3.Connection, path: Path) -> None:
    # WAL is a property of the file: set once. SQLite does not wait (busy handler) for the lock this needs,
    # so when two processes create the database at once, retry up to the busy timeout.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() > deadline:
                raise _unwritable(path, exc) from None
            time.sleep(0.005)
    if mode is None or str(mode[0]).lower() != "wal":
        raise HistoryError(f"cannot use the history database {path}: WAL journal not available")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    target = schema_version()
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > target:
        raise HistoryError(
            f"the history database {path} was written by a newer cadencecoach (schema {version}, "
            f"this one knows up to {target}); upgrade cadencecoach"
        )
    if version == target:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated it
        while version < target:
            MIGRATIONS[version](con)
            version += 1
            con.execute(f"PRAGMA user_version = {version}")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise


_default_warn = warn
