"""Recorded sessions: every ``run`` writes a row when it starts and updates it as steps end, so a process
that dies leaves an honest "interrupted" session, never a lost one.

Status: ``running`` (being recorded now), ``completed`` (played to the end), ``stopped`` (the runner quit,
Ctrl-C, SIGTERM, a lost audio device), ``interrupted`` (the recording process died: ``kill -9``, a crash, a
power cut). A row still marked ``running`` whose process is gone -- same host: the pid is dead or belongs to
another process (boot id + start time differ); another host: no heartbeat for :data:`STALE_AFTER_S` -- is
shown as interrupted, and marked so in the database when it is next written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cadencecoach.errors import warn
from cadencecoach.history.db import Database, HistoryError, Warn, open_db, utc_now

STATUSES = ("running", "completed", "stopped", "interrupted")
HEARTBEAT_EVERY_S = 10.0  # the recorder writes a heartbeat (and the time run) at most this often
STALE_AFTER_S = 300.0  # a running session of another host with no heartbeat for this long is interrupted


# ------------------------------------------------------------------------------------------ processes


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) from /proc, or None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def process_identity(pid: int) -> str | None:
    """Something that tells this process apart from a later one with the same pid (Linux), else None."""
    stat = _proc_stat(pid)
    if stat is None:
        return None
    return f"{_boot_id()}:{stat[1]}"


def process_alive(pid: int, identity: str | None) -> bool:
    """Is process `pid` (of this host) alive and the same one that had `identity`?"""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would terminate it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return False
    stat = _proc_stat(pid)
    if stat is not None:
        if stat[0] in ("Z", "X", "x"):  # a zombie has finished
            return False
        if identity and process_identity(pid) != identity:
            return False  # the pid was reused
    return True


# ------------------------------------------------------------------------------------------ sessions


def parse_timestamp(text: str | None) -> datetime | None:
    """A stored time (UTC ISO 8601, as :func:`cadencecoach.history.db.utc_now` writes it) as an aware datetime;
    None for none; ValueError for text that is no time."""
    if not text:
        return None
    ts = datetime.fromisoformat(text)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SessionRow:
    id: int
    workout_name: str
    workout_source: str | None
    workout_hash: str
    started_at: datetime  # aware (UTC)
    ended_at: datetime | None
    heartbeat_at: datetime
    planned_s: float
    run_s: float
    steps_total: int
    steps_completed: int
    steps_skipped: int
    stopped_early: bool
    underflows: int
    status: str  # as it really is (a dead "running" row is "interrupted")
    stored_status: str
    pid: int | None
    host: str | None

    @property
    def local_start(self) -> datetime:
        return self.started_at.astimezone()

    @property
    def week(self) -> date:
        """The Monday of the (local) week it started in."""
        day = self.local_start.date()
        return day - timedelta(days=day.weekday())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workout": self.workout_name,
            "source": self.workout_source,
            "hash": self.workout_hash,
            "started_at": self.local_start.isoformat(timespec="seconds"),
            "ended_at": self.ended_at.astimezone().isoformat(timespec="seconds") if self.ended_at else None,
            "status": self.status,
            "time_run_s": round(self.run_s, 3),
            "planned_s": round(self.planned_s, 3),
            "steps_total": self.steps_total,
            "steps_completed": self.steps_completed,
            "steps_skipped": self.steps_skipped,
            "stopped_early": self.stopped_early,
            "underflows": self.underflows,
            "week": self.week.isoformat(),
        }


def _effective_status(row: Any, now: datetime, host: str) -> str:
    status = row["status"]
    if status != "running":
        return status
    if row["host"] == host and row["pid"] is not None:
        return "running" if process_alive(int(row["pid"]), row["proc_id"]) else "interrupted"
    beat = parse_timestamp(row["heartbeat_at"]) or now
    return "interrupted" if (now - beat).total_seconds() > STALE_AFTER_S else "running"


def list_sessions(db: Database, *, limit: int | None = None, mark: bool = True) -> list[SessionRow]:
    """Sessions, newest first. ``mark``: write "interrupted" into rows whose recording process is gone
    (best effort: a read-only database is only read)."""
    sql = "SELECT * FROM sessions ORDER BY started_at DESC, id DESC"
    rows = db.query(sql + (f" LIMIT {int(limit)}" if limit else ""))
    now = datetime.now(timezone.utc)
    host = socket.gethostname()
    out: list[SessionRow] = []
    dead: list[int] = []
    for r in rows:
        status = _effective_status(r, now, host)
        if status != r["status"]:
            dead.append(r["id"])
        out.append(
            SessionRow(
                id=r["id"],
                workout_name=r["workout_name"],
                workout_source=r["workout_source"],
                workout_hash=r["workout_hash"],
                started_at=parse_timestamp(r["started_at"]) or now,
                ended_at=parse_timestamp(r["ended_at"]),
                heartbeat_at=parse_timestamp(r["heartbeat_at"]) or now,
                planned_s=r["planned_s"],
                run_s=r["run_s"],
                steps_total=r["steps_total"],
                steps_completed=r["steps_completed"],
                steps_skipped=r["steps_skipped"],
                stopped_early=bool(r["stopped_early"]),
                underflows=r["underflows"],
                status=status,
                stored_status=r["status"],
                pid=r["pid"],
                host=r["host"],
            )
        )
    if mark and dead:
        mark_interrupted(db, dead)
    return out


def mark_interrupted(db: Database, ids: Sequence[int]) -> None:
    """Record that these sessions' processes died (ended at their last heartbeat). Best effort."""
    with contextlib.suppress(Exception), db.write() as con:
        for sid in ids:
            con.execute(
                "UPDATE sessions SET status = 'interrupted', stopped_early = 1, ended_at = heartbeat_at"
                " WHERE id = ? AND status = 'running'",
                (sid,),
            )


def reap(db: Database) -> int:
    """Mark every dead "running" session interrupted; returns how many."""
    now = datetime.now(timezone.utc)
    host = socket.gethostname()
    rows = db.query("SELECT * FROM sessions WHERE status = 'running'")
    dead = [r["id"] for r in rows if _effective_status(r, now, host) == "interrupted"]
    if dead:
        mark_interrupted(db, dead)
    return len(dead)


@dataclass(frozen=True)
class WeekTotal:
    week: date  # Monday
    sessions: int
    completed: int
    run_s: float

    def to_json(self) -> dict[str, Any]:
        iso = self.week.isocalendar()
        return {
            "week": self.week.isoformat(),
            "iso_week": f"{iso[0]}-W{iso[1]:02d}",
            "sessions": self.sessions,
            "completed": self.completed,
            "time_run_s": round(self.run_s, 3),
        }


def weekly_totals(sessions: Sequence[SessionRow], *, fill: bool = True) -> list[WeekTotal]:
    """Totals per local week (Monday first), oldest first; ``fill``: weeks without a session are listed too."""
    if not sessions:
        return []
    acc: dict[date, list[float]] = {}
    for s in sessions:
        slot = acc.setdefault(s.week, [0, 0, 0.0])
        slot[0] += 1
        slot[1] += s.status == "completed"
        slot[2] += s.run_s
    weeks = sorted(acc)
    if fill:
        day, last = weeks[0], weeks[-1]
        while day <= last:
            acc.setdefault(day, [0, 0, 0.0])
            day += timedelta(days=7)
        weeks = sorted(acc)
    return [WeekTotal(w, int(acc[w][0]), int(acc[w][1]), float(acc[w][2])) for w in weeks]


# ------------------------------------------------------------------------------------------ recorder


class _Step(Protocol):
    @property
    def end_s(self) -> Any: ...


class _Workout(Protocol):
    name: str
    source: str
    total_duration: Any
    total_steps: int


def workout_hash(workout: Any, path: Path | None = None) -> str:
    """sha256 of the workout file's bytes; of the workout's parsed form when there is no file."""
    candidate = path if path is not None else Path(str(getattr(workout, "source", "")))
    try:
        if candidate.is_file():
            return hashlib.sha256(candidate.read_bytes()).hexdigest()
    except OSError:
        pass
    text = f"{getattr(workout, 'name', '')}\n{getattr(workout, 'steps', '')!r}"
    return hashlib.sha256(text.encode()).hexdigest()


class SessionRecorder:
    """Records one ``run`` in the history database.

    Call from the main thread (never from the audio callback): :meth:`start` when the run starts,
    :meth:`step_completed` / :meth:`step_skipped` as steps end, :meth:`heartbeat` now and then (it writes at
    most every :data:`HEARTBEAT_EVERY_S`), :meth:`finish` at the end. ``at_s`` is the workout time (seconds
    of the timeline played, pauses excluded) at that moment; without it a completed step counts its planned
    end. No method raises: when the database cannot be written (read-only or missing data folder, a newer
    schema, ...) one warning is printed and the workout plays on unrecorded.
    """

    def __init__(
        self,
        workout: _Workout,
        *,
        steps: Sequence[_Step] | None = None,
        db_path: Path | None = None,
        workout_path: Path | None = None,
        warn: Warn | None = None,
    ) -> None:
        self.workout = workout
        self.steps = list(steps) if steps is not None else None
        self.db_path = db_path
        self.workout_path = workout_path
        self._warn_fn = warn
        self._warned = False
        self._db: Database | None = None
        self._lock = threading.Lock()
        self.session_id: int | None = None
        self.finished = False
        self.run_s = 0.0
        self._last_beat = 0.0

    # -- public API -------------------------------------------------------------------------------
    def start(self) -> int | None:
        """Write the session row (status running). Returns its id, or None when it cannot be recorded."""
        with self._lock:
            if self.session_id is not None:
                return self.session_id
            try:
                db = open_db(self.db_path, create=True, warn=self._warn_fn)
                assert db is not None
                self._db = db
                reap(db)
                w = self.workout
                now = utc_now()
                total = len(self.steps) if self.steps is not None else int(getattr(w, "total_steps", 0))
                with db.write() as con:
                    cur = con.execute(
                        "INSERT INTO sessions (workout_name, workout_source, workout_hash, started_at,"
                        " heartbeat_at, planned_s, steps_total, status, pid, host, proc_id)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                        (
                            w.name,
                            str(self.workout_path or getattr(w, "source", None) or "") or None,
                            workout_hash(w, self.workout_path),
                            now,
                            now,
                            float(getattr(w, "total_duration", 0)),
                            total,
                            os.getpid(),
                            socket.gethostname(),
                            process_identity(os.getpid()),
                        ),
                    )
                    self.session_id = cur.lastrowid
                self._last_beat = time.monotonic()
            except Exception as exc:
                self._fail(exc, starting=True)
            return self.session_id

    def step_completed(self, index: int, at_s: float | None = None) -> None:
        if at_s is None and self.steps is not None and 0 <= index < len(self.steps):
            at_s = float(self.steps[index].end_s)
        self._step(index, "completed", at_s)

    def step_skipped(self, index: int, at_s: float | None = None) -> None:
        self._step(index, "skipped", at_s)

    def heartbeat(self, at_s: float | None = None, *, force: bool = False) -> None:
        """A sign of life (and the time run so far); written at most every HEARTBEAT_EVERY_S unless forced."""
        if at_s is not None:
            self.run_s = max(self.run_s, float(at_s))
        if not force and time.monotonic() - self._last_beat < HEARTBEAT_EVERY_S:
            return
        self._update("UPDATE sessions SET heartbeat_at = :now, run_s = :run_s WHERE id = :id")

    def finish(self, stopped_early: bool, underflows: int = 0, at_s: float | None = None) -> None:
        """The run ended: completed, or stopped (q, Ctrl-C, SIGTERM, a lost device) when `stopped_early`."""
        if self.finished:
            return
        self.finished = True
        if at_s is not None:
            self.run_s = max(self.run_s, float(at_s))
        elif not stopped_early:
            self.run_s = max(self.run_s, float(getattr(self.workout, "total_duration", 0)))
        status = "stopped" if stopped_early else "completed"
        self._update(
            "UPDATE sessions SET heartbeat_at = :now, run_s = :run_s, ended_at = :now, status = :status,"
            " stopped_early = :early, underflows = :underflows WHERE id = :id",
            {"status": status, "early": int(bool(stopped_early)), "underflows": int(underflows)},
        )
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> SessionRecorder:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.finished:
            self.finish(stopped_early=exc_type is not None)
        self.close()

    # -- internals --------------------------------------------------------------------------------
    def _step(self, index: int, outcome: str, at_s: float | None) -> None:
        if at_s is not None:
            self.run_s = max(self.run_s, float(at_s))
        with self._lock:
            if self._db is None or self.session_id is None or self.finished:
                return
            try:
                now = utc_now()
                with self._db.write() as con:
                    # a step played again (`p`: back to its start, or back to it after a mistaken lap) is recorded
                    # again: its last playing is its outcome
                    con.execute(
                        "INSERT INTO session_steps (session_id, step_index, outcome, at_s, recorded_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id, step_index) DO UPDATE SET"
                        " outcome = excluded.outcome, at_s = excluded.at_s, recorded_at = excluded.recorded_at",
                        (self.session_id, int(index), outcome, at_s, now),
                    )
                    con.execute(
                        "UPDATE sessions SET heartbeat_at = ?, run_s = MAX(run_s, ?),"
                        " steps_completed = (SELECT count(*) FROM session_steps"
                        "   WHERE session_id = sessions.id AND outcome = 'completed'),"
                        " steps_skipped = (SELECT count(*) FROM session_steps"
                        "   WHERE session_id = sessions.id AND outcome = 'skipped')"
                        " WHERE id = ?",
                        (now, self.run_s, self.session_id),
                    )
                self._last_beat = time.monotonic()
            except Exception as exc:
                self._fail(exc)

    def _update(self, sql: str, extra: dict[str, object] | None = None) -> None:
        """Run an UPDATE of this session with the named parameters :now, :run_s, :id and `extra`."""
        with self._lock:
            if self._db is None or self.session_id is None:
                return
            try:
                params = {"now": utc_now(), "run_s": self.run_s, "id": self.session_id, **(extra or {})}
                with self._db.write() as con:
                    con.execute(sql, params)
                self._last_beat = time.monotonic()
            except Exception as exc:
                self._fail(exc)

    def _fail(self, exc: BaseException, *, starting: bool = False) -> None:
        if self._warned:
            return
        self._warned = True
        reason = str(exc) if isinstance(exc, HistoryError) else f"{type(exc).__name__}: {exc}"
        if starting:
            message = f"this session is not recorded in your history: {reason} (the workout plays anyway)"
        else:
            message = f"recording this session failed: {reason} (the workout plays on)"
        with contextlib.suppress(Exception):
            (self._warn_fn or _default_warn)(message)


_default_warn = warn
