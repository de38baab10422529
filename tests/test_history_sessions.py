"""Recorded sessions: the recorder's API, statuses (a dead "running" row is interrupted), weekly totals."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from cadencecoach.core.timeline import Timeline, compile_workout
from cadencecoach.history import sessions as sess
from cadencecoach.history.db import open_db
from cadencecoach.history.sessions import (
    SessionRecorder,
    list_sessions,
    process_alive,
    process_identity,
    weekly_totals,
    workout_hash,
)
from cadencecoach.workout.loader import load_workout_text
from cadencecoach.workout.model import Workout

Loaded = tuple[Workout, Timeline, Path]

WORKOUT = """\
name: Short intervals
steps:
  - warmup: 60s
  - repeat: 2
    steps:
      - run: 20s
      - recover: 10s
  - cooldown: 30s
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


@pytest.fixture
def workout(tmp_path: Path) -> Loaded:
    p = tmp_path / "short.yaml"
    p.write_text(WORKOUT)
    w = load_workout_text(WORKOUT, str(p))
    return w, compile_workout(w, 8000), p


def _sessions() -> list[sess.SessionRow]:
    db = open_db()
    assert db is not None
    with db:
        return list_sessions(db)


def test_a_complete_run(home: Path, workout: Loaded) -> None:
    w, tl, path = workout
    rec = SessionRecorder(w, steps=tl.steps)
    sid = rec.start()
    assert sid is not None
    [s] = _sessions()
    assert (s.status, s.steps_total, s.steps_completed, s.run_s) == ("running", 6, 0, 0.0)
    assert s.workout_name == "Short intervals" and s.workout_source == str(path)
    assert s.workout_hash == workout_hash(w) == __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    for i in range(6):
        rec.step_completed(i)
    rec.step_completed(5)  # twice: counted once
    [s] = _sessions()
    assert (s.steps_completed, s.run_s) == (6, 150.0)
    rec.finish(stopped_early=False, underflows=0)
    rec.finish(stopped_early=True, underflows=9)  # only the first finish counts
    [s] = _sessions()
    assert (s.status, s.stopped_early, s.underflows, s.run_s) == ("completed", False, 0, 150.0)
    assert s.ended_at is not None and s.ended_at >= s.started_at
    assert planned_equals(s.planned_s, w.total_duration)


def planned_equals(a: float, b: Fraction) -> bool:
    return abs(a - float(b)) < 1e-9


def test_skips_and_stopping_early(home: Path, workout: Loaded) -> None:
    w, tl, _ = workout
    with SessionRecorder(w, steps=tl.steps) as rec:
        rec.step_completed(0)
        rec.step_skipped(1, at_s=65.0)  # 'n' five seconds into the rep
        rec.heartbeat(70.0)
        rec.finish(stopped_early=True, underflows=3, at_s=72.5)
    [s] = _sessions()
    assert (s.status, s.steps_completed, s.steps_skipped, s.underflows, s.run_s) == ("stopped", 1, 1, 3, 72.5)
    assert s.stopped_early is True


def test_an_exception_in_the_run_marks_it_stopped(home: Path, workout: Loaded) -> None:
    w, tl, _ = workout
    with pytest.raises(KeyboardInterrupt), SessionRecorder(w, steps=tl.steps) as rec:
        rec.step_completed(0)
        raise KeyboardInterrupt
    [s] = _sessions()
    assert s.status == "stopped" and s.run_s == 60.0


def test_heartbeat_is_rate_limited(home: Path, workout: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    w, tl, _ = workout
    rec = SessionRecorder(w, steps=tl.steps)
    rec.start()
    writes: list[str] = []
    original = rec._update
    monkeypatch.setattr(rec, "_update", lambda sql, extra=None: (writes.append(sql), original(sql, extra)))
    for t in range(100):
        rec.heartbeat(float(t))
    assert writes == []
    rec.heartbeat(100.0, force=True)
    assert len(writes) == 1
    assert _sessions()[0].run_s == 100.0


def test_unwritable_home_warns_once_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workout: Loaded
) -> None:
    w, tl, _ = workout
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CADENCECOACH_HOME", str(blocker / "home"))
    messages: list[str] = []
    rec = SessionRecorder(w, steps=tl.steps, warn=messages.append)
    assert rec.start() is None
    rec.step_completed(0)
    rec.step_skipped(1)
    rec.heartbeat(5.0, force=True)
    rec.finish(stopped_early=False, underflows=1)
    assert len(messages) == 1
    assert "not recorded" in messages[0] and "cannot create the data folder" in messages[0]


def test_a_write_failing_mid_run_warns_once(home: Path, workout: Loaded) -> None:
    w, tl, _ = workout
    messages: list[str] = []
    rec = SessionRecorder(w, steps=tl.steps, warn=messages.append)
    rec.start()
    assert rec._db is not None
    rec._db.con.close()  # as if the disk went away
    rec.step_completed(0)
    rec.step_completed(1)
    rec.finish(stopped_early=False)
    assert len(messages) == 1 and "recording this session failed" in messages[0]


def test_dead_and_reused_pids_are_interrupted(home: Path, workout: Loaded) -> None:
    w, _, _ = workout
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    ids = []
    for _ in range(3):
        rec = SessionRecorder(w)
        ids.append(rec.start())
        rec.close()  # the process "dies" without finishing
    db = open_db()
    assert db is not None
    with db, db.write() as con:
        con.execute("UPDATE sessions SET pid = ? WHERE id = ?", (dead_pid, ids[0]))
        con.execute("UPDATE sessions SET proc_id = 'another-boot:1' WHERE id = ?", (ids[1],))
    by_id = {s.id: s.status for s in _sessions()}
    if process_identity(os.getpid()) is None:  # no /proc: a reused pid cannot be told apart
        by_id[ids[1]] = "interrupted"
    assert by_id == {ids[0]: "interrupted", ids[1]: "interrupted", ids[2]: "running"}


def test_another_hosts_session_is_interrupted_when_its_heartbeat_is_stale(home: Path, workout: Loaded) -> None:
    w, _, _ = workout
    a, b = SessionRecorder(w), SessionRecorder(w)
    ia, ib = a.start(), b.start()
    old = (datetime.now(timezone.utc) - timedelta(seconds=sess.STALE_AFTER_S + 60)).isoformat()
    db = open_db()
    assert db is not None
    with db, db.write() as con:
        con.execute("UPDATE sessions SET host = 'elsewhere'")
        con.execute("UPDATE sessions SET heartbeat_at = ? WHERE id = ?", (old, ia))
    assert {s.id: s.status for s in _sessions()} == {ia: "interrupted", ib: "running"}


def test_process_alive() -> None:
    assert process_alive(os.getpid(), process_identity(os.getpid()))
    assert not process_alive(0, None)
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert not process_alive(p.pid, None)


def _row(start: datetime, run_s: float, status: str = "completed") -> sess.SessionRow:
    return sess.SessionRow(
        id=1,
        workout_name="w",
        workout_source=None,
        workout_hash="",
        started_at=start,
        ended_at=None,
        heartbeat_at=start,
        planned_s=run_s,
        run_s=run_s,
        steps_total=1,
        steps_completed=1,
        steps_skipped=0,
        stopped_early=False,
        underflows=0,
        status=status,
        stored_status=status,
        pid=None,
        host=None,
    )


def test_weekly_totals_fill_empty_weeks() -> None:
    local = datetime(2026, 11, 16, 12, 0).astimezone()  # a Monday, local time
    rows = [
        _row(local, 1800),
        _row(local + timedelta(days=6, hours=8), 600, "stopped"),  # Sunday evening: same week
        _row(local + timedelta(days=21), 2400),
    ]
    weeks = weekly_totals(rows)
    assert [w.week.isoformat() for w in weeks] == ["2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07"]
    assert [(w.sessions, w.completed, w.run_s) for w in weeks] == [(2, 1, 2400), (0, 0, 0), (0, 0, 0), (1, 1, 2400)]
    assert weeks[0].to_json()["iso_week"] == "2026-W47"
    assert weekly_totals([]) == []


def test_workout_hash_without_a_file() -> None:
    w = SimpleNamespace(name="x", source="<workout>", steps=(1, 2))
    assert workout_hash(w) == workout_hash(SimpleNamespace(name="x", source="<other>", steps=(1, 2)))
    assert workout_hash(w) != workout_hash(SimpleNamespace(name="x", source="<workout>", steps=(1, 3)))


def test_run_progress_records_each_step_once_in_order(home: Path, workout: Loaded) -> None:
    from cadencecoach.history.progress import RunProgress

    w, tl, _ = workout
    sr = tl.sample_rate
    prog = RunProgress.for_run(w, tl)
    prog.start()
    prog.update(tl.steps, set(), -sr)  # the lead-in: nothing yet
    assert _sessions()[0].steps_completed == 0
    prog.update(tl.steps, set(), tl.steps[1].end)  # warm-up and the first rep are over
    prog.update(tl.steps, set(), tl.steps[1].end + 10)
    s = _sessions()[0]
    assert (s.steps_completed, s.steps_skipped, s.run_s) == (2, 0, 80.0)
    prog.end(tl.steps, {2}, tl.steps[3].start + sr * 5, stopped_early=True, underflows=1)  # 'n' on step 2, then q
    s = _sessions()[0]
    assert (s.status, s.steps_completed, s.steps_skipped, s.underflows, s.run_s) == ("stopped", 2, 1, 1, 95.0)


def test_run_progress_to_the_end(home: Path, workout: Loaded) -> None:
    from cadencecoach.history.progress import RunProgress

    w, tl, _ = workout
    prog = RunProgress.for_run(w, tl)
    prog.start()
    prog.end(tl.steps, set(), tl.length + 4096, stopped_early=False)
    s = _sessions()[0]
    assert (s.status, s.steps_completed, s.run_s) == ("completed", 6, 150.0)
