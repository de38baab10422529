"""Fault suite, speech, history and audio side: bounded speech for any valid workout, a speech cache that keeps
its size, a history database that is never changed when it is not used (and says why in one line), trials with
sane dates, and an audio back-end that aborts at start-up ending in exit 3 instead of taking the process down.

The command-line cases run the real program (``faults.cc``, or :func:`cc_unprivileged` for the permission
cases: root's power over permissions dropped with setpriv, as tests/test_history_reliability.py does, since the
interpreter lives under /root where user nobody cannot reach it) and are held by ``faults.assert_clean``: exit
code, message, no traceback, time and memory bounds; the database cases also compare the file's bytes before
and after and look for ``-wal``/``-shm`` files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from cadencecoach import pipeline
from cadencecoach.core.edits import lead_in_texts
from cadencecoach.core.timeline import CompileOptions
from cadencecoach.errors import AudioUnavailableError, UsageError
from cadencecoach.history import db as dbmod
from cadencecoach.history.db import HistoryError, open_db
from cadencecoach.history.trials import FIRST_DAY, add_trial, list_trials, make_trial, parse_date
from cadencecoach.sinks.live import devices
from cadencecoach.speech import budget, cache
from cadencecoach.speech.synthesize import synthesize_cues
from faults import assert_clean, cc, cc_unprivileged, one_line_error, snapshot

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "cadencecoach" / "data" / "workouts"


def _many_steps(reps: int, name: str = "Many short steps") -> str:
    """A valid workout of 2 x `reps` one-second steps: every announcement ("Run. 3 of 40000.") is distinct."""
    return f"name: {name}\ncadence: 170\nsteps:\n  - repeat: {reps}\n    steps:\n      - run: 1s\n      - recover: 1s\n"


def _expected_cut(text: str, tmp_path: Path, rate: int = 175) -> str:
    """``step N ('Label', n of m)``: what the budget warning must name for this workout."""
    path = tmp_path / "expected.yaml"
    path.write_text(text)
    w = pipeline.load(str(path), use_history=False)
    plan = pipeline.speech_plan(w, CompileOptions())
    admitted = budget.admit(plan, rate)
    assert admitted.cut is not None
    flat = plan[admitted.cut]
    assert flat is not None and flat.rep is not None
    return f"step {flat.index + 1:,} ('{flat.step.label}', {flat.rep[0]:,} of {flat.rep[1]:,})"


# ============================================================================================ 1. speech budget


def _shipped_files() -> list[Path]:
    return sorted(p for p in SHIPPED.rglob("*") if p.suffix in (".yaml", ".txt", ".zwo"))


@pytest.mark.parametrize("rate", [80, 175])
def test_no_shipped_workout_or_example_comes_near_the_speech_budget(rate: int) -> None:
    files = _shipped_files()
    assert len(files) >= 20
    assert sorted(p.name for p in (ROOT / "workouts").rglob("*") if p.is_file()) == sorted(p.name for p in files)
    paces = ["10k=4:00/km", "5k=3:50/km", "mile=3:30/km", "threshold=4:00/km"]
    for path in files:
        w = pipeline.load(str(path), paces, use_history=False, open_step="60s", warn=lambda m: None)
        plan = pipeline.speech_plan(w, CompileOptions(voice_mode="full"), lead_in_texts(w.name))
        admitted = budget.admit(plan, rate)
        assert admitted.cut is None, path
        # at the usual rate with room to spare: a workout three times as talkative still fits
        margin = 3 if rate == 175 else 1
        assert admitted.asked * margin <= budget.MAX_CUE_TEXTS, (path, admitted.asked)
        assert admitted.asked_s * margin <= budget.MAX_SPEECH_S, (
            path,
            admitted.asked,
            admitted.asked_s,
        )


def test_admit_keeps_the_first_texts_in_order_up_to_either_limit() -> None:
    texts = [f"Run. {n} of 100." for n in range(100)]
    by_count = budget.admit(texts, max_texts=10)
    assert by_count.texts == texts[:10] and by_count.cut == texts[10] and by_count.asked == 100
    one = budget.estimate_seconds(texts[0])
    by_time = budget.admit(texts, max_s=one * 3.5)
    assert by_time.texts == texts[:3] and by_time.cut == texts[3]
    assert budget.admit(texts * 2).asked == 100  # repeats count once
    # slower speech is longer: fewer texts fit the same budget
    assert len(budget.admit(texts, 80, max_s=60).texts) < len(budget.admit(texts, 175, max_s=60).texts)


def test_estimate_counts_digits_as_the_words_they_are() -> None:
    assert budget.estimate_seconds("1234 5678") > budget.estimate_seconds("abcd efgh") * 2
    assert budget.estimate_seconds("") == pytest.approx(0.3)


def test_speech_plan_puts_the_shared_words_first_then_steps_in_order(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(_many_steps(3))
    w = pipeline.load(str(path), use_history=False)
    plan = pipeline.speech_plan(w, CompileOptions(), ["Many short steps", "Starting in"])
    texts = list(plan)
    assert texts[:3] == ["Many short steps", "Starting in", "Workout complete."] and plan["Starting in"] is None
    steps = [plan[t].index for t in texts[3:]]  # type: ignore[union-attr]
    assert steps == sorted(steps) and texts[3] == "Run. 1 of 3. 1 second."


def test_speech_for_speaks_the_first_texts_and_names_the_first_silent_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(budget, "MAX_CUE_TEXTS", 5)
    path = tmp_path / "w.yaml"
    path.write_text(_many_steps(10))
    w = pipeline.load(str(path), use_history=False)
    plan = pipeline.speech_plan(w, CompileOptions())
    said: list[str] = []
    audio = pipeline.speech_for(plan, 16000, pipeline.VoiceSettings(engine="tones"), said.append)
    assert list(audio) == list(plan)[:5]
    assert len(said) == 1, said
    # kept: "Workout complete.", then the announcements of steps 1-4; the first left out is step 5's
    assert "new cues from step 5 ('Run', 3 of 10) on are silent" in said[0] and "21 different cue texts" in said[0]
    timeline = pipeline.compile_workout(w, 16000, audio, CompileOptions())
    silent = [c for c in timeline.cues if c.audio is None]
    assert silent and all(c.step_index >= 2 for c in silent)  # timing kept: the cues are there, unspoken


def test_synthesize_cues_refuses_more_than_the_budget_before_any_synthesis(tmp_path: Path) -> None:
    class Never:
        name, voice, rate = "never", "default", 175

        def synthesize(self, text: str) -> tuple[np.ndarray, int]:
            raise AssertionError("synthesized before the budget was checked")

    texts = [f"Run. {n} of 5000." for n in range(5000)]
    with pytest.raises(ValueError, match="choose them with"):
        synthesize_cues(texts, 16000, Never(), cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_plan_of_80000_short_steps_with_tones_is_bounded(tmp_path: Path) -> None:
    text = _many_steps(40_000)
    (tmp_path / "big.yaml").write_text(text)
    r = cc("plan", "big.yaml", "--json", "--voice-engine", "tones", home=tmp_path / "home", cwd=tmp_path)
    # the 80,000 steps' own cost (loading, compiling, the JSON) is most of it; speech is bounded
    assert_clean(r, 0, "80,001 different cue texts", "at most 1,000 texts or 20 min", seconds=40)
    assert r.stderr.count("warning:") == 1
    cut = re.search(r"new cues from step ([\d,]+) \('(Run|Recover)', ([\d,]+) of 40,000\) on are silent", r.stderr)
    assert cut is not None, r.stderr
    assert 100 < int(cut.group(1).replace(",", "")) < budget.MAX_CUE_TEXTS
    plan = json.loads(r.stdout)
    assert len(plan["steps"]) == 80_000


def test_plan_over_the_budget_with_the_default_voice_is_bounded(tmp_path: Path) -> None:
    text = _many_steps(1_000)
    (tmp_path / "w.yaml").write_text(text)
    cache_dir = tmp_path / "cache"
    r = cc(
        "plan", "w.yaml", "--json", home=tmp_path / "home", cwd=tmp_path, env={"CADENCECOACH_CACHE_DIR": str(cache_dir)}
    )
    # The default voice is piper (issue 19): its model and inference buffers alone take ~430 MB in a cold
    # `plan 10x400` (measured with /usr/bin/time -v), so the bounds here are piper's. Memory: the same margin the
    # espeak-era 400 MB had over espeak's ~90 MB. Time: piper speaks the ~210 admitted texts' sentences cold in
    # 13 s on two idle cores and took 22.8 s on a fresh root beside the other half of the suite, against
    # espeak's ~3 s; 60 s is the same factor over piper. What they guard is unchanged: nothing grows with the
    # 2,001 texts asked for.
    words = ("2,001 different cue texts", _expected_cut(text, tmp_path) + " on are silent")
    assert_clean(r, 0, *words, seconds=60, peak_mb=750)
    entries = list(cache_dir.rglob("*.speech"))
    assert entries, "nothing was cached"
    assert sum(p.stat().st_size for p in entries) <= cache.MAX_CACHE_BYTES
    assert len({p.name for p in entries}) <= budget.MAX_CUE_TEXTS


def test_render_over_the_budget_warns_and_writes(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(_many_steps(150))  # 5 minutes, 301 texts: over the 20 minutes of speech
    r = cc("render", "w.yaml", "-o", "w.wav", "--voice-engine", "tones", "--sample-rate", "16000",
           home=tmp_path / "home", cwd=tmp_path)  # fmt: skip
    assert_clean(r, 0, "on are silent (timing and clicks unchanged)")
    assert (tmp_path / "w.wav").stat().st_size > 16000 * 2 * 290


# ================================================================================================ 2. the cache


def _entry(root: Path, text: str, samples: int = 1000, *, at: float | None = None) -> Path:
    key = cache.cache_key("e", "v", 175, text)
    assert cache.store(root, key, np.zeros(samples, np.float32), 8000)
    path = cache.entry_path(root, key)
    if at is not None:
        os.utime(path, (at, at))
    return path


def test_trim_evicts_the_least_recently_used_first(tmp_path: Path) -> None:
    size = _entry(tmp_path, "probe").stat().st_size
    _entry(tmp_path, "probe").unlink()
    old, mid, new = (_entry(tmp_path, t, at=n) for n, t in enumerate(["old", "mid", "new"], start=1))
    ready = _entry(cache.ready_dir(tmp_path, 16000), "ready", at=0.5)  # the ready-to-play level counts too
    (tmp_path / ".x.speech.tmp-1-abcd.speech").write_bytes(b"x" * size * 10)  # another writer's temp file
    freed = cache.trim(tmp_path, cap=2 * size)
    assert freed == 2 * size
    assert not ready.exists() and not old.exists() and mid.exists() and new.exists()
    assert (tmp_path / ".x.speech.tmp-1-abcd.speech").exists()  # never someone else's file in progress
    assert cache.trim(tmp_path, cap=2 * size) == 0


def test_a_hit_touches_its_entry_so_it_is_kept(tmp_path: Path) -> None:
    from cadencecoach.speech.engines import ToneEngine

    class Cached(ToneEngine):
        name = "cached"
        cacheable = True

    engine = Cached()
    key = cache.cache_key(engine.name, engine.voice, engine.rate, "Go")
    cache.store(tmp_path, key, np.ones(1000, np.float32), 8000)
    os.utime(cache.entry_path(tmp_path, key), (1, 1))
    other = _entry(tmp_path, "other", at=2)
    assert cache.lookup(tmp_path, engine, "Go", 16000) is not None  # a hit: now the most recently used
    cache.trim(tmp_path, cap=other.stat().st_size)
    assert cache.entry_path(tmp_path, key).exists() and not other.exists()


def test_an_entry_larger_than_the_cap_is_not_cached(tmp_path: Path) -> None:
    key = cache.cache_key("e", "v", 175, "long")
    assert not cache.store(tmp_path, key, np.zeros(10_000, np.float32), 8000, cap=1000)
    assert not cache.entry_path(tmp_path, key).exists()


def test_synthesis_keeps_the_cache_under_its_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Beep:
        name, voice, rate = "beep", "default", 175

        def synthesize(self, text: str) -> tuple[np.ndarray, int]:
            return np.sin(np.linspace(0, 400, 8000)).astype(np.float32), 8000

    cap = 200_000  # about six entries of each level
    monkeypatch.setattr(cache, "MAX_CACHE_BYTES", cap)
    for n in range(4):
        synthesize_cues([f"cue {n} {i}" for i in range(10)], 16000, Beep(), cache_dir=tmp_path)
        assert sum(p.stat().st_size for p in tmp_path.rglob("*.speech")) <= cap
    last = synthesize_cues([f"cue 3 {i}" for i in range(2)], 16000, Beep(), cache_dir=tmp_path)
    assert set(last) == {"cue 3 0", "cue 3 1"}


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from pathlib import Path
    from cadencecoach.speech import cache
    root, tag = Path(sys.argv[1]), sys.argv[2]
    for i in range(150):
        key = cache.cache_key("e", "v", 175, f"{tag}-{i % 40}")
        cache.store(root, key, np.full(500 + i % 7, i, np.float32), 8000)
        cache.store(cache.ready_dir(root, 16000), key, np.full(700, i, np.float32), 16000)
        cache.trim(root, cap=30_000)
        cache.load(root, cache.cache_key("e", "v", 175, f"other-{i % 40}"))
    print("ok")
    """
)


def test_concurrent_writers_and_trimmers_leave_a_valid_cache(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag], stdout=subprocess.PIPE, text=True)
        for tag in ("a", "b", "c", "other")
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and all(o.strip() == "ok" for o in outs)
    assert not [p for p in tmp_path.rglob(".*") if ".tmp-" in p.name]
    entries = list(tmp_path.rglob("*.speech"))
    assert entries and sum(p.stat().st_size for p in entries) <= 30_000 + 4 * 3000  # a trim may race a write
    for p in entries:
        assert cache.load(p.parent, p.name.removesuffix(cache.CACHE_SUFFIX)) is not None, p  # none torn


# ================================================================================================ 3. history


def _make_db(home: Path, *, trials: int = 1) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    db = open_db(home / "history.sqlite3")
    assert db is not None
    with db:
        for _ in range(trials):
            add_trial(db, make_trial("1mi 6:12", date(2026, 1, 5)))
    return home / "history.sqlite3"


def _sides(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def _assert_untouched(path: Path, before: dict[str, str]) -> None:
    assert snapshot(path.parent) == before, "the database folder changed"
    assert _sides(path) == []


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_database_from_a_newer_version_is_not_touched(tmp_path: Path, journal: str) -> None:
    home = tmp_path / "home"
    path = _make_db(home)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA journal_mode = {journal}")
    con.execute("PRAGMA user_version = 99")
    con.close()
    assert _sides(path) == []
    before = snapshot(home)
    for args in (("trial", "list"), ("trial", "add", "1mi", "6:00")):
        r = cc(*args, home=home)
        assert_clean(r, 1, "newer cadencecoach", "schema 99", str(path), "nothing was changed", "upgrade")
        one_line_error(r)
        _assert_untouched(path, before)
    with pytest.raises(HistoryError, match="newer"):
        open_db(path)
    _assert_untouched(path, before)


def test_a_database_with_its_tables_gone_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _make_db(home)
    con = sqlite3.connect(path)
    for table in ("session_steps", "sessions", "trials"):
        con.execute(f"DROP TABLE {table}")
    con.commit()
    con.close()
    before = snapshot(home)
    for args in (("history",), ("trial", "rm", "1")):
        r = cc(*args, home=home)
        assert_clean(r, 1, "lost its tables", "trials", str(path), "move it away")
        one_line_error(r)
        _assert_untouched(path, before)


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    con = sqlite3.connect(home / "history.sqlite3")
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.commit()
    con.close()
    before = snapshot(home)
    r = cc("trial", "add", "1mi", "6:00", home=home)
    assert_clean(r, 1, "not a cadencecoach history", "recipes")
    _assert_untouched(home / "history.sqlite3", before)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_directory_or_fifo_in_the_databases_place(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "history.sqlite3"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    before = snapshot(home)
    for args in (("trial", "add", "1mi", "6:00"), ("paces",)):
        r = cc(*args, home=home)
        if args == ("paces",):  # reading the latest trial only warns; then there is no trial
            assert_clean(r, 2, "warning: cannot read your recorded trials", "not a file", "no trial recorded")
        else:
            assert_clean(r, 1, str(path), "directory" if kind == "directory" else "FIFO", "move it away")
            one_line_error(r)
        assert snapshot(home) == before


def test_garbage_bytes_are_refused_by_readers_and_moved_aside_by_writers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "history.sqlite3"
    garbage = os.urandom(4096) + b"not a database" * 100
    path.write_bytes(garbage)
    before = snapshot(home)
    for args in (("trial", "list"), ("trial", "plot", "-o", str(tmp_path / "t.png"))):
        r = cc(*args, home=home)
        assert_clean(r, 1, "damaged", str(path), "nothing was changed", "moves it aside")
        one_line_error(r)
        _assert_untouched(path, before)
    r = cc("trial", "add", "1mi", "6:00", home=home)  # a writer repairs: the file is kept, under a new name
    assert_clean(r, 0, "moved it to")
    aside = [p for p in home.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage


def test_a_database_locked_by_another_program(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _make_db(home)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys, time
            con = sqlite3.connect({str(path)!r}, isolation_level=None)
            con.execute("PRAGMA locking_mode = EXCLUSIVE")
            con.execute("BEGIN EXCLUSIVE")
            con.execute("DELETE FROM trials")
            print("locked", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        r = cc("trial", "add", "1mi", "6:00", home=home)
        assert_clean(r, 1, "locked by another program", str(path), "try again")
        one_line_error(r)
        assert r.seconds >= dbmod.BUSY_TIMEOUT_MS / 1000 * 0.9  # it waited for the other writer first
    finally:
        holder.communicate("", timeout=10)
    db = open_db(path)  # the holder rolled back: nothing lost
    assert db is not None
    with db:
        assert len(list_trials(db)) == 1


# ------------------------------------------------------------------------------- unwritable, as a user


@pytest.fixture
def shared_home() -> Iterator[Path]:
    """A data folder outside pytest's private tmp_path (so that permissions, not the path, decide)."""
    d = Path(tempfile.mkdtemp(prefix="cc-faults-history-"))
    os.chmod(d, 0o755)
    try:
        yield d / "home"
    finally:
        for root, dirs, files in os.walk(d):
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o755)
        shutil.rmtree(d)


@pytest.mark.parametrize("layout", ["read-only file", "read-only folder"])
def test_an_unwritable_database_is_one_line_with_the_way_out(shared_home: Path, layout: str) -> None:
    path = _make_db(shared_home)
    if layout == "read-only file":
        os.chmod(path, 0o444)
    else:
        os.chmod(shared_home, 0o555)
    before = snapshot(shared_home)
    r = cc_unprivileged("trial", "add", "1mi", "6:00", home=shared_home)
    why = "the file is read-only" if layout == "read-only file" else "is read-only for you"
    assert_clean(r, 1, "cannot write the history database", str(path), why, "make it writable", "CADENCECOACH_HOME")
    one_line_error(r)
    assert snapshot(shared_home) == before
    if layout == "read-only folder":  # nothing can be read either: SQLite needs its journal files beside it
        r = cc_unprivileged("history", home=shared_home)
        assert_clean(r, 1, "cannot write the history database", "CADENCECOACH_HOME")


def test_plan_and_render_work_when_only_the_history_is_unusable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "history.sqlite3").mkdir()
    r = cc("render", "tabata", "-o", str(tmp_path / "t.wav"), "--no-voice", "--sample-rate", "8000", home=home)
    assert_clean(r, 0)
    (tmp_path / "w.yaml").write_text("name: T\nsteps:\n  - run: 1min\n    pace: threshold\n")
    r = cc("plan", "w.yaml", "--no-voice", home=home, cwd=tmp_path)  # derived pace: the latest trial is looked up
    assert_clean(r, 2, "warning: cannot read your recorded trials", "not a file", "threshold")
    r = cc("plan", "w.yaml", "--no-voice", "--trial", "5k 20:00", home=home, cwd=tmp_path)
    assert_clean(r, 0)


# ---------------------------------------------------------------------------------------------- trials


def test_parse_date_keeps_trials_in_a_sane_range() -> None:
    today = date(2026, 12, 1)
    assert parse_date("1900-01-01", today=today) == FIRST_DAY
    assert parse_date("2026-12-02", today=today) == today + timedelta(days=1)
    for bad in ("1899-12-31", "0001-01-01"):
        with pytest.raises(UsageError, match="from 1900-01-01 to 2026-12-02"):
            parse_date(bad, today=today)
    for future in ("2026-12-03", "9999-12-31"):
        with pytest.raises(UsageError, match="in the future"):
            parse_date(future, today=today)


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_trial_add_refuses_a_date_out_of_range(tmp_path: Path, day: str) -> None:
    r = cc("trial", "add", "1mi", "6:12", "--date", day, home=tmp_path / "home")
    assert_clean(r, 2, f"--date {day}")
    assert not (tmp_path / "home" / "history.sqlite3").exists()


def test_impossible_results_use_the_pace_books_check(tmp_path: Path) -> None:
    r = cc("trial", "add", "1mi", "0:01", home=tmp_path / "home")
    assert_clean(r, 2, "outside any runner's range")
    with pytest.raises(UsageError, match="outside any runner's range"):
        make_trial("1mi 0:01")


def _store_bad_rows(path: Path) -> None:
    con = sqlite3.connect(path)
    rows = [
        ("0001-01-01", 1609.344, 372.0, 46.7),
        ("9999-12-31", 1609.344, 372.0, 46.7),
        ("not a day", 1609.344, 372.0, 46.7),
        ("2026-02-01", 1609.344, 1.0, 1e9),
    ]
    for day, metres, secs, v in rows:
        con.execute(
            "INSERT INTO trials (date, distance, distance_m, time_s, vdot, created_at) VALUES (?, '1mi', ?, ?, ?, 'x')",
            (day, metres, secs, v),
        )
    con.commit()
    con.close()


def test_bad_trial_rows_already_stored_are_skipped_with_a_warning(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _make_db(home)  # trial 1 is good
    _store_bad_rows(path)
    r = cc("trial", "list", "--json", home=home)
    assert_clean(r, 0, "trial 2 in the history is skipped", "0001-01-01", "trial 3", "trial 4", "trial 5",
                 "cadencecoach trial rm 2")  # fmt: skip
    assert [t["id"] for t in json.loads(r.stdout)["trials"]] == [1]
    r = cc("trial", "plot", "-o", str(tmp_path / "trials.png"), home=home)
    assert_clean(r, 0, "trial 2 in the history is skipped")
    assert (tmp_path / "trials.png").stat().st_size > 1000
    r = cc("paces", "--json", home=home)  # the year-9999 row is not "the latest trial"
    assert_clean(r, 0)
    assert json.loads(r.stdout)["trial"]["id"] == 1
    for bad in ("2", "4"):
        r = cc("trial", "rm", bad, home=home)
        assert_clean(r, 0)
    db = open_db(path)
    assert db is not None
    with db:
        assert [t.id for t in list_trials(db, warn=lambda m: None)] == [1]


# ================================================================================================ 4. audio


@pytest.fixture
def no_audio_env(tmp_path: Path) -> dict[str, str]:
    """No PulseAudio server and an empty ALSA configuration: PortAudio's ALSA host API calls abort()."""
    (tmp_path / "empty-alsa.conf").write_text("")
    return {"PULSE_SERVER": "unix:/nonexistent/pulse", "ALSA_CONFIG_PATH": str(tmp_path / "empty-alsa.conf")}


def test_the_environment_really_aborts_an_import_of_sounddevice(no_audio_env: dict[str, str]) -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import sounddevice"],
        env={**os.environ, **no_audio_env},
        capture_output=True,
        timeout=30,
    )
    if r.returncode == 0:
        pytest.skip("PortAudio does not abort here (another ALSA or PortAudio build)")
    assert r.returncode < 0 or r.returncode == 134, r


@pytest.mark.parametrize("command", [["devices"], ["click"], ["click", "170"]])
def test_an_aborting_audio_back_end_is_exit_3_naming_render(
    tmp_path: Path, no_audio_env: dict[str, str], command: list[str]
) -> None:
    r = cc(*command, home=tmp_path / "home", env=no_audio_env)
    assert_clean(r, 3, "no audio output", "crashed while starting", "render")
    one_line_error(r)


def test_a_broken_alsa_configuration_is_exit_3(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("pcm.!default { type nonsense {{{ ;;\n")
    env = {"PULSE_SERVER": "unix:/nonexistent/pulse", "ALSA_CONFIG_PATH": str(tmp_path / "bad.conf")}
    r = cc("devices", home=tmp_path / "home", env=env)
    assert_clean(r, 3, "no audio output", "render")


def test_plan_and_render_never_import_sounddevice(tmp_path: Path, no_audio_env: dict[str, str]) -> None:
    code = textwrap.dedent(
        """
        import sys
        from cadencecoach.cli.app import run
        for argv in (["plan", "tabata"], ["render", "tabata", "-o", "t.wav", "--sample-rate", "8000"]):
            sys.argv = ["cadencecoach", *argv, "--no-voice"]
            try:
                run()
            except SystemExit as exc:
                assert not exc.code, exc.code
        print("sounddevice" in sys.modules, "cadencecoach.sinks.live.devices" in sys.modules)
        """
    )
    env = {**os.environ, **no_audio_env, "CADENCECOACH_HOME": str(tmp_path / "home")}  # an import would abort
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-2:] == ["False", "False"]
    assert (tmp_path / "t.wav").stat().st_size > 8000


def test_the_probe_turns_a_crash_into_audio_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(devices, "_PROBE_CODE", "import os; os.abort()")
    monkeypatch.setattr(devices, "_PROBE", devices._Probe())
    start = time.monotonic()
    with pytest.raises(AudioUnavailableError) as info:
        devices.load_sounddevice()
    assert "SIGABRT" in str(info.value) and "render" in str(info.value) and info.value.exit_code == 3
    assert "sounddevice" not in sys.modules
    with pytest.raises(AudioUnavailableError):  # probed once per process: the answer is kept
        devices.load_sounddevice()
    assert time.monotonic() - start < 10


def test_the_probe_is_skipped_once_sounddevice_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = object()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    monkeypatch.setattr(devices, "_PROBE_CODE", "raise SystemExit('must not run')")
    monkeypatch.setattr(devices, "_PROBE", devices._Probe())
    assert devices.probe_portaudio() is None
    assert devices.load_sounddevice() is fake
    assert devices._PROBE._proc is None


def test_the_probe_names_what_failed() -> None:
    assert "SIGABRT" in (devices._probe_verdict(-6, "") or "")
    assert devices._probe_verdict(0, "ALSA lib noise") is None
    err = "ALSA lib pcm.c: unknown\nTraceback...\nsounddevice.PortAudioError: Error initializing PortAudio: host"
    assert devices._probe_verdict(1, err) == "PortAudio cannot start (Error initializing PortAudio: host)"
    assert "not installed" not in (devices._probe_verdict(1, "ModuleNotFoundError: No module named 'x'") or "")
    assert "cannot be imported" in (devices._probe_verdict(1, "ModuleNotFoundError: No module named 'x'") or "")


def test_the_probe_of_a_hung_back_end_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(devices, "_PROBE_CODE", "import time; time.sleep(60)")
    monkeypatch.setattr(devices, "PROBE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(devices, "_PROBE", devices._Probe())
    with pytest.raises(AudioUnavailableError, match=r"did not start within 0\.5 s"):
        devices.load_sounddevice()
