"""The history database: one SQLite file in the user's cadencecoach folder.

* Where: ``$CADENCECOACH_HOME/history.sqlite3``, else the platform's user data dir
  (:func:`cadencecoach.workout.library.home_dir`).
* How: stdlib :mod:`sqlite3` in autocommit mode; every write is one short ``BEGIN IMMEDIATE`` ...
  ``COMMIT`` transaction, WAL journal (readers never block the writer), ``synchronous=NORMAL`` (a killed
  process never loses a committed transaction) and a busy timeout, so two processes writing at once wait
  for each other instead of failing.
* Schema: versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` [i] takes version i to i+1 and they run
  in one transaction, so a database is always at a whole version.
* Look before use: an existing file is first looked at without changing it (its header bytes, then a
  read-only connection that creates no ``-wal``/``-shm`` file), before any pragma or migration. A database
  the tool will not use is left exactly as it was, byte for byte: one from a newer cadencecoach, one whose
  tables are gone (:data:`REQUIRED_TABLES`), another program's SQLite file, a directory, FIFO or device in
  its place.
* Faults: a corrupt file (``file is not a database``, a failed ``quick_check``) is moved aside by a command
  that writes, with its ``-wal``/``-shm`` files, to ``history.sqlite3.corrupt-YYYYMMDDTHHMMSS`` and a message
  says so; a new database is started. It is never overwritten. A command that only reads refuses it and
  changes nothing. Every database that cannot be used (unwritable file or folder, locked by another program
  for longer than the busy timeout, damaged, refused) is :class:`HistoryError`: one line naming the file and
  the way out, exit 1.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cadencecoach.errors import ResourceError, warn
from cadencecoach.files import kind_of, os_reason

Warn = Callable[[str], None]

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000
ELSEWHERE = "or set CADENCECOACH_HOME to another folder"
"""The way out that always works (a new history in another data folder), the end of every HistoryError."""


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


def _v2(con: sqlite3.Connection) -> None:
    """Version 2: training programs (``program new``); the plan is JSON (cadencecoach.program.store)."""
    con.execute(
        """CREATE TABLE programs (
            id          INTEGER PRIMARY KEY,
            created_at  TEXT NOT NULL,             -- UTC, ISO 8601
            inputs      TEXT NOT NULL,             -- JSON: what the runner asked for
            plan        TEXT NOT NULL,             -- JSON: the weeks and sessions as planned
            active      INTEGER NOT NULL DEFAULT 1 -- the one 'today' and 'program show' use
        )"""
    )


def _v3(con: sqlite3.Connection) -> None:
    """Version 3: reviews of recorded runs (``review``); one per file and workout (cadencecoach.history.reviews)."""
    con.execute(
        """CREATE TABLE reviews (
            id              INTEGER PRIMARY KEY,
            created_at      TEXT NOT NULL,         -- UTC, ISO 8601 (the latest review of it)
            activity        TEXT NOT NULL,         -- the activity file as given
            sha256          TEXT NOT NULL,         -- of the file's bytes
            started_at      TEXT,                  -- UTC, ISO 8601: when the run began, if the file says
            workout         TEXT,                  -- the workout's name (NULL: reviewed lap by lap)
            workout_source  TEXT NOT NULL DEFAULT '',  -- the workout's file ('' without one): the row's key
            aligned_by      TEXT,                  -- 'laps', 'time' or NULL (no workout)
            in_tolerance    REAL,                  -- share 0..1 of the time within the tolerance of the click
            summary         TEXT NOT NULL          -- JSON: the review as 'review --json' prints it
        )"""
    )
    con.execute("CREATE UNIQUE INDEX reviews_once ON reviews (sha256, workout_source)")
    con.execute("CREATE INDEX reviews_by_start ON reviews (started_at)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3]
"""``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``. Append, never edit a released one."""


def schema_version() -> int:
    return len(MIGRATIONS)


REQUIRED_TABLES = ("trials", "sessions", "session_steps")
"""The tables every schema version so far has: a database at version >= 1 without one of them is refused."""

LATER_TABLES = {"programs": 2, "reviews": 3}
"""Tables added later: a database at that version or above without one is refused like a lost table."""


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
        return os_reason(exc)
    return str(exc)


def _not_writable(path: Path) -> str | None:
    """Why the database at `path` cannot be written (the file or its folder), or None when it can."""
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only for you"
    for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if side.exists() and not os.access(side, os.W_OK):
            return f"its journal file {side} is read-only for you"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"its folder {path.parent} is read-only for you (SQLite writes its journal files beside it)"
    return None


def _unwritable(path: Path, exc: BaseException | None = None, reason: str | None = None) -> HistoryError:
    why = reason or _not_writable(path) or (_describe(exc) if exc is not None else "unknown reason")
    return HistoryError(f"cannot write the history database {path}: {why}; make it writable, {ELSEWHERE}")


def _locked(path: Path) -> HistoryError:
    return HistoryError(
        f"the history database {path} is locked by another program (waited {BUSY_TIMEOUT_MS / 1000:g} s): "
        f"let it finish (another cadencecoach, an SQLite browser) and try again, {ELSEWHERE}"
    )


def _damaged(path: Path, problem: str) -> HistoryError:
    return HistoryError(
        f"the history database {path} is damaged ({problem}); nothing was changed: "
        f"'cadencecoach trial add' or the next run moves it aside and starts a new one, {ELSEWHERE}"
    )


def history_error(path: Path, exc: BaseException) -> HistoryError:
    """`exc` (an SQLite or OS error met using the database at `path`) as a one-line :class:`HistoryError`."""
    if isinstance(exc, HistoryError):
        return exc
    if _is_locked(exc):
        return _locked(path)
    if is_corruption(exc):
        return _damaged(path, str(exc))
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text or _not_writable(path):
        return _unwritable(path, exc)
    return HistoryError(f"cannot use the history database {path}: {_describe(exc)}; move it away, {ELSEWHERE}")


# ------------------------------------------------------------------------------------------- database


class Database:
    """An open, checked, migrated history database. Use :meth:`write` for every change."""

    def __init__(self, con: sqlite3.Connection, path: Path) -> None:
        self.con = con
        self.path = path

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE``: takes the write lock now, waits up to the busy
        timeout for another writer). An SQLite error is a :class:`HistoryError` naming the file."""
        con = self.con
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise history_error(self.path, exc) from None
        try:
            yield con
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise history_error(self.path, exc) from None
            raise
        try:
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")  # never leave the connection inside a failed transaction
            raise history_error(self.path, exc) from None

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        """The rows of `sql`; an SQLite error is a :class:`HistoryError` naming the file."""
        try:
            return self.con.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise history_error(self.path, exc) from None

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
    create folders, and they never move a damaged database aside). An existing file is looked at without
    changing it first (:func:`look_before_use`). Raises :class:`HistoryError` when the database cannot be used.
    """
    path = db_path() if path is None else path
    try:
        st: os.stat_result | None = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise HistoryError(
            f"cannot read the history database {path}: {_describe(exc)}; make it readable, {ELSEWHERE}"
        ) from None
    if st is None and not create:
        return None
    if st is not None:
        kind = kind_of(st.st_mode)
        if kind is not None:
            raise HistoryError(
                f"the history database {path} is {kind}, not a file; nothing was changed: move it away, {ELSEWHERE}"
            )
        if create and (why := _not_writable(path)) is not None:
            raise _unwritable(path, reason=why)
        look_before_use(path, repair=create)
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"cannot create the data folder {path.parent}: {_describe(exc)}; create it yourself, {ELSEWHERE}"
            ) from None
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        con: sqlite3.Connection | None = None
        try:
            con = _connect_checked(path, warn, repair=create)
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
            raise history_error(path, exc) from None


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _header(path: Path) -> bytes:
    """The first 100 bytes of the file (SQLite's header), read without blocking."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
        try:
            return os.read(fd, 100)
        finally:
            os.close(fd)
    except OSError as exc:
        raise HistoryError(
            f"cannot read the history database {path}: {_describe(exc)}; make it readable, {ELSEWHERE}"
        ) from None


def _newer(path: Path, version: int) -> HistoryError:
    return HistoryError(
        f"the history database {path} was written by a newer cadencecoach (schema {version}, this one knows up "
        f"to {schema_version()}); nothing was changed: upgrade cadencecoach, {ELSEWHERE}"
    )


def _read_only_uri(path: Path, *, immutable: bool) -> str:
    uri = Path(os.path.abspath(path)).as_uri()
    return uri + ("?immutable=1" if immutable else "?mode=ro")


def look_before_use(path: Path, *, repair: bool) -> None:
    """Check the existing database file at `path` without changing it: its header, then (read-only, no
    ``-wal``/``-shm`` file created, no lock taken when none is in use) its version and its tables.

    Raises :class:`HistoryError` for a database the tool will not use: from a newer cadencecoach, with its
    tables gone, another program's, locked for longer than the busy timeout, or (``repair=False``: a command
    that only reads) damaged. With `repair`, a damaged file is left to :func:`open_db`, which moves it aside.
    """
    header = _header(path)
    if not header:
        return  # an empty file: SQLite's empty database, created below
    if not header.startswith(_SQLITE_MAGIC) or len(header) < 100:
        if repair:
            return
        raise _damaged(path, "not an SQLite database")
    target = schema_version()
    wal = Path(f"{path}-wal")
    in_use = wal.exists() or header[18:20] != b"\x02\x02"  # a WAL file in use, or a rollback journal
    if not wal.exists() and int.from_bytes(header[60:64], "big") > target:
        raise _newer(path, int.from_bytes(header[60:64], "big"))  # the header says it all: nothing opened
    for immutable in (False,) if in_use else (True, False):
        try:
            con = sqlite3.connect(_read_only_uri(path, immutable=immutable), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise history_error(path, exc) from None
        try:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            break
        except sqlite3.DatabaseError as exc:
            if immutable and is_corruption(exc):
                continue  # perhaps a writer checkpointed while we read without locks: look again, locked
            if is_corruption(exc):
                if repair:
                    return
                raise _damaged(path, str(exc)) from None
            raise history_error(path, exc) from None
        finally:
            _close_quietly(con)
    if version > target:
        raise _newer(path, version)
    if version >= 1:
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        missing += [t for t, since in LATER_TABLES.items() if version >= since and t not in tables]
        if missing:
            raise HistoryError(
                f"the history database {path} has lost its tables ({', '.join(missing)}); nothing was changed: "
                f"move it away (a new history is started), {ELSEWHERE}"
            )
    elif tables - {"sqlite_sequence"}:
        raise HistoryError(
            f"{path} is not a cadencecoach history (an SQLite file with other tables: "
            f"{', '.join(sorted(tables)[:5])}); nothing was changed: move it away, {ELSEWHERE}"
        )


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


def _connect_checked(path: Path, warn: Warn | None, *, repair: bool = True) -> sqlite3.Connection:
    con = _connect(path)
    problem = _check(con)
    if problem is None:
        return con
    con.close()
    if not repair:
        raise _damaged(path, problem)
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
            f"the history database {path} is damaged and cannot be moved aside: {_describe(exc)}; "
            f"move it away yourself, {ELSEWHERE}"
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
        raise HistoryError(
            f"cannot use the history database {path}: WAL journal not available (a network file system?); "
            f"move it to a local disk, {ELSEWHERE}"
        )
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    target = schema_version()
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > target:  # look_before_use refused it already, unless it was upgraded meanwhile
        raise _newer(path, version)
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
