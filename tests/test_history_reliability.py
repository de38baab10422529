"""The history database under faults, with real processes: two writers at once, ``kill -9`` in the middle of a
recorded session, and folders or files the user cannot write (when the tests run as root, which ignores file
permissions, the writer runs with root's DAC capabilities dropped by setpriv)."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import cadencecoach
from cadencecoach.history.db import open_db
from cadencecoach.history.sessions import list_sessions

SRC = str(Path(cadencecoach.__file__).resolve().parents[1])


def _env(home: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "CADENCECOACH_HOME": str(home),
        "PYTHONPATH": SRC + (os.pathsep + path if path else ""),
        "HOME": "/tmp",
    }


# ------------------------------------------------------------------------------------ two writers

WRITER = """
import sys, time
from pathlib import Path
from types import SimpleNamespace
from cadencecoach.history.db import open_db
from cadencecoach.history.sessions import SessionRecorder
from cadencecoach.history.trials import add_trial, make_trial

tag, n, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
for i in range(n):
    db = open_db()              # every round opens afresh: creation and migration race too
    add_trial(db, make_trial("5k 20:00", note=f"{tag}-{i}"))
    db.close()
    if i % 5 == 0:
        w = SimpleNamespace(name=f"w-{tag}-{i}", source="<test>", total_duration=90, total_steps=3, steps=())
        rec = SessionRecorder(w, warn=lambda m: print("WARN", m, file=sys.stderr))
        assert rec.start() is not None
        for step in range(3):
            rec.step_completed(step, at_s=30.0 * (step + 1))
        rec.finish(stopped_early=False, underflows=0)
print("done", flush=True)
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"  # does not exist yet: both processes create it
    go = tmp_path / "go"
    n = 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag, str(n), str(go)],
            env=_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "done", err
        assert "WARN" not in err, err
    con = sqlite3.connect(home / "history.sqlite3")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    notes = {r[0] for r in con.execute("SELECT note FROM trials")}
    assert notes == {f"{t}-{i}" for t in "ab" for i in range(n)}
    rows = con.execute("SELECT status, steps_completed, run_s FROM sessions").fetchall()
    assert len(rows) == 2 * len(range(0, n, 5))
    assert set(rows) == {("completed", 3, 90.0)}
    assert con.execute("SELECT count(*) FROM session_steps").fetchone()[0] == 3 * len(rows)
    con.close()


# ------------------------------------------------------------------------------------ kill -9

RUNNER = """
import sys
from types import SimpleNamespace
from cadencecoach.history.sessions import SessionRecorder

w = SimpleNamespace(name="Long run", source="<test>", total_duration=10**6, total_steps=10**6, steps=())
rec = SessionRecorder(w)
print("session", rec.start(), flush=True)
for i in range(10**6):
    rec.step_completed(i, at_s=float(i + 1))
    if i == 20:
        print("running", flush=True)
"""


def test_kill_9_mid_session_leaves_a_consistent_interrupted_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    p = subprocess.Popen(
        [sys.executable, "-c", RUNNER], env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    first = p.stdout.readline().split()
    assert first[0] == "session" and first[1] != "None", p.stderr.read() if p.stderr else ""
    sid = int(first[1])
    assert p.stdout.readline().strip() == "running"
    time.sleep(0.3)  # in the middle of a stream of step writes
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    assert p.returncode == -signal.SIGKILL

    raw = sqlite3.connect(home / "history.sqlite3")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored, completed, run_s = raw.execute(
        "SELECT status, steps_completed, run_s FROM sessions WHERE id = ?", (sid,)
    ).fetchone()
    logged, last = raw.execute("SELECT count(*), max(at_s) FROM session_steps WHERE session_id = ?", (sid,)).fetchone()
    raw.close()
    assert stored == "running"  # what the dead process left
    assert completed == logged > 20  # the counters and the step log were written together
    assert run_s == last

    db = open_db(home / "history.sqlite3")
    assert db is not None
    with db:
        [s] = list_sessions(db)
        assert (s.id, s.status, s.steps_completed) == (sid, "interrupted", completed)
    db = open_db(home / "history.sqlite3")
    assert db is not None
    with db:  # and it was written down, with the last sign of life as the end
        row = db.query("SELECT status, ended_at, heartbeat_at FROM sessions WHERE id = ?", (sid,))[0]
        assert row["status"] == "interrupted" and row["ended_at"] == row["heartbeat_at"]


def test_a_live_session_of_this_process_is_running_not_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from cadencecoach.history.sessions import SessionRecorder

    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path))
    rec = SessionRecorder(SimpleNamespace(name="w", source="<t>", total_duration=60, total_steps=2, steps=()))
    assert rec.start() is not None
    db = open_db()
    assert db is not None
    with db:
        assert [s.status for s in list_sessions(db)] == ["running"]
    rec.finish(stopped_early=True)
    db = open_db()
    assert db is not None
    with db:
        assert [s.status for s in list_sessions(db)] == ["stopped"]


# ------------------------------------------------------------------------------------ no permission


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder user nobody can reach (pytest's tmp_path is private to its owner)."""
    d = Path(tempfile.mkdtemp(prefix="cc-history-"))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        for root, dirs, _files in os.walk(d):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        subprocess.run(["rm", "-rf", str(d)], check=False)


# Root's power over file permissions is the capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (and
# CAP_FOWNER for owner checks). setpriv (util-linux, on every Debian) drops them from the bounding, inheritable
# and ambient sets, so the exec'd Python is root without them: it keeps the venv under /root readable (it
# is root's own) while a 0555 folder is as read-only to it as to anyone.
DROP_DAC = "-dac_override,-dac_read_search,-fowner"
SETPRIV = ["setpriv", f"--inh-caps={DROP_DAC}", f"--ambient-caps={DROP_DAC}", f"--bounding-set={DROP_DAC}"]

PROBE = """
import os, sys, cadencecoach.history.db
assert sys.version_info >= (3, 10)
try:
    open(os.path.join(sys.argv[1], "probe"), "w")
except PermissionError:
    print("no write")
else:
    print("wrote")
"""


@functools.lru_cache(maxsize=1)
def _unprivileged() -> tuple[list[str], dict[str, object]] | None:
    """A command prefix and Popen arguments that run Python without root's power over permissions."""
    if os.geteuid() != 0:
        return [sys.executable], {}
    candidates: list[tuple[list[str], dict[str, object]]] = [([*SETPRIV, sys.executable], {})]
    as_nobody: dict[str, object] = {"user": 65534, "group": 65534, "extra_groups": []}
    candidates += [([exe], as_nobody) for exe in (sys.executable, "/usr/bin/python3")]
    probe_dir = Path(tempfile.mkdtemp(prefix="cc-probe-"))
    try:
        os.chmod(probe_dir, 0o555)
        for cmd, kwargs in candidates:
            try:
                r = subprocess.run(
                    [*cmd, "-c", PROBE, str(probe_dir)],
                    env=_env(Path("/nonexistent")),
                    cwd="/",
                    capture_output=True,
                    text=True,
                    timeout=30,
                    **kwargs,  # type: ignore[call-overload]
                )
            except OSError:
                continue
            if r.returncode == 0 and r.stdout.strip() == "no write":
                return cmd, kwargs
    finally:
        os.chmod(probe_dir, 0o755)
        subprocess.run(["rm", "-rf", str(probe_dir)], check=False)
    return None


def _run_unprivileged(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    how = _unprivileged()
    if how is None:
        pytest.skip("running as root without setpriv (util-linux), and no Python interpreter that user nobody can run")
    cmd, kwargs = how
    return subprocess.run(
        [*cmd, "-c", code], env=_env(home), cwd="/", capture_output=True, text=True, timeout=60, **kwargs
    )  # type: ignore[call-overload]


OPEN = """
from cadencecoach.history.db import HistoryError, open_db
try:
    open_db()
except HistoryError as exc:
    print("HistoryError:", exc)
else:
    print("opened")
"""

RECORD = """
from types import SimpleNamespace
from cadencecoach.history.sessions import SessionRecorder
w = SimpleNamespace(name="Tempo", source="<t>", total_duration=60, total_steps=2, steps=())
rec = SessionRecorder(w)
print("id", rec.start(), flush=True)
rec.step_completed(0)
rec.step_skipped(1, at_s=40.0)
rec.heartbeat(50.0, force=True)
rec.finish(stopped_early=True, underflows=2)
print("the workout played on", flush=True)
"""


def test_read_only_folder_is_a_clear_error(shared_dir: Path) -> None:
    home = shared_dir / "home"
    home.mkdir()
    os.chmod(home, 0o555)
    r = _run_unprivileged(OPEN, home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HistoryError: cannot write the history database"), r.stdout
    assert str(home) in r.stdout


def test_read_only_database_file_is_a_clear_error(shared_dir: Path) -> None:
    home = shared_dir / "home"
    home.mkdir()
    con = sqlite3.connect(home / "history.sqlite3")
    con.execute("CREATE TABLE x (y)")
    con.close()
    os.chmod(home / "history.sqlite3", 0o444)
    os.chmod(home, 0o555)
    r = _run_unprivileged(OPEN, home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HistoryError: cannot write the history database"), r.stdout


@pytest.mark.parametrize("layout", ["read-only folder", "missing folder under a read-only one"])
def test_recorder_warns_once_and_the_workout_plays_on(shared_dir: Path, layout: str) -> None:
    home = shared_dir / "home"
    home.mkdir()
    os.chmod(home, 0o555)
    target = home if layout == "read-only folder" else home / "cadencecoach"
    r = _run_unprivileged(RECORD, target)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["id None", "the workout played on"]
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert "not recorded" in warnings[0] and "plays anyway" in warnings[0] and str(home) in warnings[0]
    assert "Traceback" not in r.stderr
