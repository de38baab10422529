"""``program new|show|export``, ``today`` and ``today`` as a WORKOUT (``plan``, ``render``, ``convert``) through the
real Typer app, with an isolated data folder ($CADENCECOACH_HOME), against docs/PROGRAM.md.

Dates: the commands use ``date.today()``, and no test here fakes it; every program starts on a day relative to
today (``--start`` may be a week ago at the earliest), so that today falls on the day a test needs whatever the
weekday: with 4 days a week the runs are on days 1, 2, 4 and 6 of a week (docs: Tue, Wed, Fri, Sun from a
Monday), so

* ``--start today-1``: today is the first quality day (hills in week 1), nothing is in the past;
* ``--start today``: today is a rest day, the next session is tomorrow's;
* ``--start today-2``: yesterday's hills were missed and move to today, whose easy run gives way;
* ``--start today-7``: week 1 is over (its four sessions are history), today is week 2's rest day.

Runs are recorded the way ``run`` records them (:class:`cadencecoach.history.sessions.SessionRecorder`, under the
workout's source file), then moved to the session's day. ``run today`` itself is played end to end elsewhere.
Rendering uses the tones voice engine and ``.wav`` (the one fast format): ``program export --audio`` renders
every session (47 files of 30-60 min here), so its test lets the real batch renderer render two of the jobs the
command hands it and checks the rest of the jobs without rendering them.
"""

from __future__ import annotations

import json
import re
import struct
import sys
import wave
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cadencecoach.history.db import db_path, open_db
from cadencecoach.history.sessions import SessionRecorder
from cli_runner import cc, ok
from extra_deps import require_extra, require_module

GOAL = ["--goal", "1mi 5:30"]
BASE = [*GOAL, "--trial", "1mi 6:30", "--volume", "25km"]
DAY_RE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]{2}\b")
FOUR_DAYS = (1, 2, 4, 6)
"""The days of a week (counted from its first day) a 4-days-a-week program runs on (docs/PROGRAM.md)."""


# ------------------------------------------------------------------------------------------------ helpers


def today() -> date:
    return date.today()


def next_monday() -> date:
    t = today()
    return t + timedelta(days=7 - t.weekday())


def new(start: date | None, *extra: str, base: list[str] | None = None) -> dict[str, Any]:
    """``program new ... --json``: the program made."""
    args = ["program", "new", *(BASE if base is None else base), *extra, "--json"]
    if start is not None:
        args += ["--start", start.isoformat()]
    return json.loads(ok(*args).out)


def show(*extra: str) -> dict[str, Any]:
    return json.loads(ok("program", "show", "--json", *extra).out)


def sessions(program: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for w in program["weeks"] for s in w["sessions"]]


def by_index(program: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {s["index"]: s for s in sessions(program)}


def session_file(home: Path, program_id: int, s: dict[str, Any]) -> Path:
    """Where ``today`` writes a session: ``$CADENCECOACH_HOME/programs/ID/DAY-SESSION.yaml`` (docs/PROGRAM.md)."""
    return home / "programs" / str(program_id) / f"{s['planned_day']}-{s['template']}.yaml"


def record_run(*, name: str, source: Path | None, day: date, planned_s: float, run_s: float, completed: bool) -> int:
    """A run recorded as ``run`` records one (SessionRecorder: start, finish), then moved to `day` at 07:00."""
    workout = SimpleNamespace(name=name, source=str(source) if source else "", total_duration=planned_s, total_steps=3)
    recorder = SessionRecorder(workout)
    sid = recorder.start()
    assert sid is not None
    recorder.finish(stopped_early=not completed, at_s=run_s)
    began = datetime.combine(day, time(7, 0)).astimezone()
    ended = began + timedelta(seconds=run_s)
    db = open_db()
    assert db is not None
    with db, db.write() as con:
        con.execute(
            "UPDATE sessions SET started_at = ?, heartbeat_at = ?, ended_at = ? WHERE id = ?",
            (
                began.astimezone(timezone.utc).isoformat(),
                ended.astimezone(timezone.utc).isoformat(),
                ended.astimezone(timezone.utc).isoformat(),
                sid,
            ),
        )
    return sid


def yaml_doc(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def expanded_steps(items: list[dict[str, Any]]) -> int:
    """Steps a workout plays (repeats unrolled), counted from its YAML."""
    n = 0
    for item in items:
        n += int(item["repeat"]) * expanded_steps(item["steps"]) if "repeat" in item else 1
    return n


def fit_plan(items: list[dict[str, Any]], out: list[tuple[str, int, int]] | None = None) -> list[tuple[str, int, int]]:
    """The FIT workout_step messages a YAML's steps should give (docs: a repeat is its steps, then a
    ``repeat_until_steps_cmplt`` step pointing at the first of them with the count): ("step", 0, 0) or
    ("repeat", first message_index, count)."""
    out = [] if out is None else out
    for item in items:
        if "repeat" in item:
            first = len(out)
            fit_plan(item["steps"], out)
            out.append(("repeat", first, int(item["repeat"])))
        else:
            out.append(("step", 0, 0))
    return out


def fit_messages(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every data message of a FIT file, by name, decoded by fitdecode (not the SDK the exporter writes with)."""
    fitdecode = require_module("fitdecode")
    out: dict[str, list[dict[str, Any]]] = {}
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                out.setdefault(frame.name, []).append({f.name: f.value for f in frame.fields})
    return out


def check_fit(path: Path, yaml_path: Path, title: str) -> None:
    msgs = fit_messages(path)
    (workout,) = msgs["workout"]
    assert workout["wkt_name"] == title
    assert str(workout["sport"]) == "running"
    steps = sorted(msgs["workout_step"], key=lambda m: m["message_index"])
    plan = fit_plan(yaml_doc(yaml_path)["steps"])
    assert workout["num_valid_steps"] == len(steps) == len(plan), path.name
    assert [m["message_index"] for m in steps] == list(range(len(plan)))
    for m, (kind, first, count) in zip(steps, plan, strict=True):
        if kind == "repeat":
            assert m["duration_type"] == "repeat_until_steps_cmplt", (path.name, m)
            assert m["duration_step"] == first and m["repeat_steps"] == count, (path.name, m)
        else:
            assert m["duration_type"] in ("time", "distance", "open"), (path.name, m)


def wav_facts(path: Path) -> tuple[float, int]:
    """(seconds, cue points) of a .wav: its length by the wave module, its chapters as the RIFF ``cue `` chunk."""
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    cues = 0
    with path.open("rb") as f:
        riff, _, kind = struct.unpack("<4sI4s", f.read(12))
        assert riff == b"RIFF" and kind == b"WAVE"
        while header := f.read(8):
            if len(header) < 8:
                break
            cid, size = struct.unpack("<4sI", header)
            if cid == b"cue ":
                cues = struct.unpack("<I", f.read(4))[0]
                f.seek(size - 4 + (size & 1), 1)
            else:
                f.seek(size + (size & 1), 1)
    return seconds, cues


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")  # one table row per session, whatever the terminal
    return h


# ------------------------------------------------------------------------------------------ program new


def test_new_prints_12_weeks_and_48_sessions(home: Path) -> None:
    start = next_monday()
    r = ok("program", "new", *BASE, "--days", "4", "--weeks", "12", "--start", start.isoformat())
    lines = r.out.splitlines()
    assert lines[0].startswith("program 1: Mile program, goal 1mi 5:30, 4 days a week, ")
    assert f"{start.isoformat()} to {(start + timedelta(days=83)).isoformat()}" in lines[0]
    weeks = [int(m.group(1)) for line in lines if (m := re.match(r"\s*(\d+) (?:base|speed|taper)\b", line))]
    assert weeks == list(range(1, 13))
    totals = [int(m.group(1)) for line in lines if (m := re.search(r"│\s*week (\d+)\s*│", line))]
    assert totals == list(range(1, 13))
    rows = [line for line in lines if DAY_RE.search(line)]
    assert len(rows) == 48
    first = start + timedelta(days=1)
    assert first.strftime("%a %d %b") in rows[0] and "hill repeats" in rows[0]
    assert "Goal mile" in rows[-1] and (start + timedelta(days=83)).strftime("%a %d %b") in rows[-1]
    assert lines[-1] == "saved as program 1: 'cadencecoach run today' plays the day's session"
    assert db_path().is_file()


def test_new_json_structure(home: Path) -> None:
    start = next_monday()
    d = new(start, "--days", "4", "--weeks", "12")
    assert d["id"] == 1 and d["name"] == "Mile program, goal 1mi 5:30"
    assert d["inputs"] == {
        "goal": "1mi 5:30",
        "days": 4,
        "weeks": 12,
        "start": start.isoformat(),
        "trial": "1mi 6:30",
        "trial_date": today().isoformat(),  # --trial is today's fitness
        "volume_km": 25.0,
        "cadence": 180,
        "cadence_from": 174,
    }
    assert d["start"] == start.isoformat() and d["end"] == (start + timedelta(days=83)).isoformat()
    assert d["vdot"] == pytest.approx(44.3, abs=0.1) and d["goal_vdot"] == pytest.approx(53.4, abs=0.1)
    assert any("ambitious" in n or "above" in n for n in d["notes"])  # 21 % above the trial's VDOT
    weeks = d["weeks"]
    assert [w["index"] for w in weeks] == list(range(12))
    assert [w["start"] for w in weeks] == [(start + timedelta(days=7 * i)).isoformat() for i in range(12)]
    phases = [w["phase"] for w in weeks]
    assert phases == ["base"] * 4 + ["speed"] * 7 + ["taper"]  # a third of the weeks; the last is the taper
    assert [w["cadence"] for w in weeks] == [174, 174, 176, 176, 178, 178, 180, 180, 180, 180, 180, 180]
    all_sessions = sessions(d)
    assert len(all_sessions) == 48 and [s["index"] for s in all_sessions] == list(range(48))
    for w in weeks:
        first = date.fromisoformat(w["start"])
        assert [(date.fromisoformat(s["day"]) - first).days for s in w["sessions"]] == list(FOUR_DAYS)
        assert w["volume_km"] == pytest.approx(sum(s["distance_km"] for s in w["sessions"]), abs=0.02)
        for s in w["sessions"]:
            assert {"day", "template", "title", "status", "trial", "kind", "planned_s", "distance_km"} <= set(s)
            assert s["status"] == "planned" and s["trial"] == "1mi 6:30" and s["note"] == ""
            assert s["cadence"] == w["cadence"] and s["week"] == w["index"]
            assert s["title"] and s["planned_s"] > 0 and s["distance_km"] > 0 and s["ran_s"] is None
            assert s["planned_day"] == s["day"]
    assert {s["kind"] for s in all_sessions} >= {"easy", "long", "strides", "cadence", "hills", "speed", "tempo"}
    last = all_sessions[-1]
    assert (last["template"], last["kind"], last["title"]) == ("goal", "goal", "Goal mile")
    assert last["day"] == d["end"]
    assert [s["kind"] for s in all_sessions].count("trial") >= 1  # a mile time trial every 4-6 weeks


def test_new_is_stored_and_a_second_one_becomes_active(home: Path) -> None:
    first = new(next_monday(), "--days", "4", "--weeks", "12")
    assert show() == first
    r = ok("program", "show")
    assert r.out.startswith("program 1: Mile program, goal 1mi 5:30, 4 days a week")
    assert len([line for line in r.out.splitlines() if DAY_RE.search(line)]) == 48
    second = new(today() + timedelta(days=3), "--days", "3", "--weeks", "8", base=[*GOAL, "--trial", "1mi 6:00"])
    assert second["id"] == 2 and second["inputs"]["days"] == 3 and len(sessions(second)) == 24
    assert show() == second
    assert show("--id", "1") == first
    assert show("--id", "2") == second
    r = cc("program", "show", "--id", "9")
    assert r.code == 2 and "--id 9" in r.err


def test_new_without_a_trial_asks_for_one(home: Path) -> None:
    r = cc("program", "new", *GOAL, "--volume", "25km")
    assert r.code == 2 and "--trial" in r.err and "trial add" in r.err
    assert not db_path().exists()


def test_new_uses_the_latest_recorded_trial_and_starts_next_monday(home: Path) -> None:
    ran = today() - timedelta(days=10)
    ok("trial", "add", "1mi", "6:40", "--date", (ran - timedelta(days=20)).isoformat())
    ok("trial", "add", "1mi", "6:20", "--date", ran.isoformat())
    d = new(None, base=[*GOAL, "--volume", "25km"])
    assert d["inputs"]["trial"] == "1mi 6:20" and d["inputs"]["trial_date"] == ran.isoformat()
    assert d["start"] == next_monday().isoformat()  # the default start
    assert {s["trial"] for s in sessions(d)} == {"1mi 6:20"}


def test_new_without_volume_warns_and_takes_6_km_a_run(home: Path) -> None:
    for days in (4, 5):
        r = ok("program", "new", *GOAL, "--trial", "1mi 6:30", "--days", str(days), "--json")
        warnings = [line for line in r.err.splitlines() if line.startswith("warning:")]
        assert warnings == [f"warning: --volume not given: starting from {6 * days} km a week"]
        assert json.loads(r.out)["inputs"]["volume_km"] == 6.0 * days


def test_new_without_volume_takes_the_last_4_weeks_of_history(home: Path) -> None:
    from cadencecoach.workout import vdot as vdot_mod

    monday = today() - timedelta(days=today().weekday())
    for week in range(1, 5):  # two runs of an hour in each of the 4 whole weeks before this one
        for offset in (1, 4):
            day = monday - timedelta(days=7 * week) + timedelta(days=offset)
            record_run(name="Easy", source=None, day=day, planned_s=3600, run_s=3600, completed=True)
    record_run(name="Easy", source=None, day=monday - timedelta(days=40), planned_s=3600, run_s=3600, completed=True)
    r = ok("program", "new", *GOAL, "--trial", "1mi 6:30", "--json")
    easy = vdot_mod.derived_paces(json.loads(r.out)["vdot"])["easy"]  # s/km
    expected = 2 * 3600 / easy  # km a week at easy pace
    assert json.loads(r.out)["inputs"]["volume_km"] == pytest.approx(expected, abs=0.1)
    assert f"starting from {expected:.0f} km a week" in r.err


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--days", "2"], "--days"),
        (["--days", "7"], "--days"),
        (["--weeks", "5"], "--weeks"),
        (["--weeks", "27"], "--weeks"),
        (["--goal", "1mi"], "--goal"),
        (["--volume", "fast"], "--volume"),
        (["--volume", "2km"], "--volume"),
        (["--start", "2027-13-01"], "--start"),
        (["--cadence", "120"], "--cadence"),
        (["--cadence", "180", "--cadence-from", "182"], "--cadence-from"),
        (["--trial", "1mi"], "--trial"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_new_refuses_bad_options_naming_them(home: Path, args: list[str], option: str) -> None:
    r = cc("program", "new", *BASE, *args)
    assert r.code == 2, r.err
    assert r.err.startswith("error: ") and option in r.err, r.err
    assert r.err.count("\n") == 1 and r.out == ""
    assert not db_path().exists()  # nothing stored


def test_new_refuses_a_start_out_of_range(home: Path) -> None:
    for day in (today() - timedelta(days=8), today() + timedelta(days=367)):
        r = cc("program", "new", *BASE, "--start", day.isoformat())
        assert r.code == 2 and "--start" in r.err, r.err
    assert new(today() - timedelta(days=7))["start"] == (today() - timedelta(days=7)).isoformat()


# ------------------------------------------------------------------------------------------------ today


def test_today_prints_the_session_of_the_day(home: Path) -> None:
    d = new(today() - timedelta(days=1))
    (s,) = [s for s in sessions(d) if s["day"] == today().isoformat()]
    assert s["status"] == "today" and s["kind"] == "hills"  # the first quality day of week 1
    r = ok("today")
    head, hint = r.out.splitlines()
    minutes, seconds = divmod(int(s["planned_s"]), 60)
    assert head == (
        f"{s['title']}: week 1 of 12, {s['distance_km']:.1f} km, {minutes}:{seconds:02d}, 174 spm, paces from 1mi 6:30"
    )
    assert "cadencecoach run today" in hint
    j = json.loads(ok("today", "--json").out)
    assert j["program"] == 1 and j["date"] == today().isoformat()
    assert j["session"] == s
    nxt = min((x for x in sessions(d) if x["day"] > today().isoformat()), key=lambda x: x["day"])
    assert j["next"] == nxt


def test_today_on_a_rest_day_names_the_next_session(home: Path) -> None:
    d = new(today())
    assert all(s["day"] != today().isoformat() for s in sessions(d))
    nxt = sessions(d)[0]
    assert nxt["day"] == (today() + timedelta(days=1)).isoformat()
    r = ok("today")
    when = (today() + timedelta(days=1)).strftime("%a %d %b")
    assert r.out == f"a rest day in program 1; next: {when}, {nxt['title']}\n"
    j = json.loads(ok("today", "--json").out)
    assert j["session"] is None and j["next"] == nxt
    r = cc("plan", "today", "--voice-engine", "tones")  # today as a WORKOUT on a rest day
    assert r.code == 2 and "a rest day" in r.err and nxt["title"] in r.err
    assert not (home / "programs").exists()


def test_today_without_a_program_says_how_to_make_one(home: Path) -> None:
    for args in (["today"], ["today", "--json"], ["program", "show"], ["plan", "today", "--voice-engine", "tones"]):
        r = cc(*args)
        assert r.code == 2 and "'cadencecoach program new --goal" in r.err and r.out == "", args
    r = cc("program", "export", "-o", str(home.parent / "season"))
    assert r.code == 2 and "program new" in r.err and not (home.parent / "season").exists()


# ---------------------------------------------------------------------------------- today as a WORKOUT


def test_plan_today_is_the_session_with_the_weeks_cadences(home: Path) -> None:
    d = new(today() - timedelta(days=1))
    (s,) = [s for s in sessions(d) if s["day"] == today().isoformat()]
    r = ok("plan", "today", "--voice-engine", "tones", "--json")
    plan = json.loads(r.out)
    assert plan["name"] == s["title"] and plan["duration_s"] == pytest.approx(s["planned_s"])
    written = list((home / "programs" / "1").iterdir())
    assert written == [session_file(home, 1, s)]
    doc = yaml_doc(written[0])
    assert doc["name"] == s["title"] and doc["trial"] == "1mi 6:30" and doc["cadence"] == 174
    assert len(plan["steps"]) == expanded_steps(doc["steps"])
    # every cadence of the shipped workout moved by the same steps a minute: its 180 is the week's 174
    shipped = json.loads(ok("plan", "hill-repeats", "--voice-engine", "tones", "--json").out)
    shifted = {(st["label"], st["cadence_start"] - 6, st["cadence_end"] - 6) for st in shipped["steps"]}
    assert {(st["label"], st["cadence_start"], st["cadence_end"]) for st in plan["steps"]} == shifted
    assert max(st["cadence_start"] for st in plan["steps"]) == 174


def test_a_file_named_today_still_wins(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new(today() - timedelta(days=1))
    here = tmp_path / "here"
    here.mkdir()
    (here / "today").write_text("name: My own today\nsteps:\n  - run: 5min\n    cadence: 170\n")
    monkeypatch.chdir(here)
    plan = json.loads(ok("plan", "today", "--voice-engine", "tones", "--json").out)
    assert plan["name"] == "My own today" and plan["duration_s"] == 300
    assert not (home / "programs").exists()


def test_render_and_convert_today(home: Path, tmp_path: Path) -> None:
    require_extra("fit")
    d = new(today() - timedelta(days=1))
    (s,) = [s for s in sessions(d) if s["day"] == today().isoformat()]
    out = tmp_path / "x.wav"
    r = ok("render", "today", "-o", str(out), "--voice-engine", "tones")
    assert f"today: {s['title']} (week 1 of 12)" in r.err
    seconds, cues = wav_facts(out)
    assert s["planned_s"] <= seconds <= s["planned_s"] + 5  # the finish cue and a short tail follow
    assert cues == expanded_steps(yaml_doc(session_file(home, 1, s))["steps"])  # a chapter per step
    fit = tmp_path / "t.fit"
    r = ok("convert", "today", "-o", str(fit))
    assert fit.is_file()
    check_fit(fit, session_file(home, 1, s), s["title"])


# ---------------------------------------------------------------------------------------- adapting


def test_runs_mark_sessions_done_shortened_and_missed(home: Path) -> None:
    d = new(today() - timedelta(days=7))
    week1 = d["weeks"][0]["sessions"]
    hills, easy, cadence, long_run = week1
    assert [s["kind"] for s in week1] == ["hills", "easy", "cadence", "long"]
    assert all(s["status"] == "missed" for s in week1)
    # the easy run: a run of the file `today` wrote for it, played to the end
    record_run(
        name=easy["title"],
        source=session_file(home, 1, easy),
        day=date.fromisoformat(easy["day"]),
        planned_s=easy["planned_s"],
        run_s=easy["planned_s"],
        completed=True,
    )
    # the cadence builder: its file, stopped at half
    record_run(
        name=cadence["title"],
        source=session_file(home, 1, cadence),
        day=date.fromisoformat(cadence["day"]),
        planned_s=cadence["planned_s"],
        run_s=cadence["planned_s"] / 2,
        completed=False,
    )
    # the long run: another file, but on its day with its name, stopped at 95 %: done
    record_run(
        name=long_run["title"],
        source=home.parent / "elsewhere.yaml",
        day=date.fromisoformat(long_run["day"]),
        planned_s=long_run["planned_s"],
        run_s=0.95 * long_run["planned_s"],
        completed=False,
    )
    # another workout on the hills' day is not the hills (a run with their name later in their week would be:
    # tests/test_program_adapt.py)
    record_run(
        name="Some other workout",
        source=None,
        day=date.fromisoformat(hills["day"]),
        planned_s=hills["planned_s"],
        run_s=hills["planned_s"],
        completed=True,
    )
    now = show()
    got = by_index(now)
    assert [got[s["index"]]["status"] for s in week1] == ["missed", "done", "shortened", "done"]
    assert got[easy["index"]]["ran_s"] == pytest.approx(easy["planned_s"], abs=0.1)
    assert got[cadence["index"]]["ran_s"] == pytest.approx(cadence["planned_s"] / 2, abs=0.1)
    # the week is over: the missed hills find no day of their week from today on, and stay missed
    assert got[hills["index"]]["day"] == hills["day"] and got[hills["index"]]["note"] == ""
    assert not any(s["status"] in ("moved", "replaced") for s in sessions(now))
    assert all(s["status"] == "planned" for w in now["weeks"][1:] for s in w["sessions"])
    text = ok("program", "show").out
    row = {s["title"]: next(line for line in text.splitlines() if s["title"] in line) for s in week1}
    assert "missed" in row[hills["title"]] and "done" in row[easy["title"]]
    assert "shortened" in row[cadence["title"]] and "done" in row[long_run["title"]]


def stored_plan(program_id: int) -> dict[int, dict[str, Any]]:
    """The plan as stored (before what the history says changes it), session by index."""
    from cadencecoach.program.store import get_program

    db = open_db(create=False)
    assert db is not None
    with db:
        stored = get_program(db, program_id)
    assert stored is not None
    return {s.index: s.to_json() for s in stored.program.sessions}


def short_week(home: Path) -> tuple[dict[str, Any], dict[str, Any], float]:
    """A program whose week 1 (over: it started a week ago) ran its first two sessions only: under 70 % of its
    plan."""
    d = new(today() - timedelta(days=7))
    week1 = d["weeks"][0]["sessions"]
    for s in week1[:2]:
        record_run(
            name=s["title"],
            source=session_file(home, 1, s),
            day=date.fromisoformat(s["day"]),
            planned_s=s["planned_s"],
            run_s=s["planned_s"],
            completed=True,
        )
    planned = sum(s["distance_km"] for s in week1)
    ran = sum(s["distance_km"] for s in week1[:2])
    assert 0.2 * planned < ran < 0.7 * planned  # a short week (docs: under 70 % of its plan)
    now = show()
    assert [s["status"] for s in now["weeks"][0]["sessions"]] == ["done", "done", "missed", "missed"]
    return d, now, ran


def test_a_short_week_cuts_the_next_weeks_easy_and_long_runs(home: Path) -> None:
    d, now, ran = short_week(home)
    planned = sum(s["distance_km"] for s in d["weeks"][0]["sessions"])
    plan = stored_plan(1)
    cut_any = False
    for s in now["weeks"][1]["sessions"]:
        old = plan[s["index"]]
        if s["kind"] in ("easy", "long", "strides") and s["params"] != old["params"]:  # 5 minutes at a time
            assert s["note"] == f"shortened: week 1 ran {ran:.0f} of {planned:.0f} km", s
            assert s["planned_s"] < old["planned_s"] and s["distance_km"] < old["distance_km"], (s, old)
            cut_any = True
        elif s["kind"] in ("easy", "long", "strides"):
            assert s["note"] == "" and s["distance_km"] == old["distance_km"]
        else:  # the quality sessions stay as planned
            assert (s["params"], s["planned_s"], s["distance_km"]) == (
                old["params"],
                old["planned_s"],
                old["distance_km"],
            )
    assert cut_any
    for w in now["weeks"][2:]:  # only the next week
        for s in w["sessions"]:
            assert (s["params"], s["distance_km"], s["note"]) == (
                plan[s["index"]]["params"],
                plan[s["index"]]["distance_km"],
                "",
            )


def test_after_a_short_week_the_next_is_at_most_110_percent_of_what_was_run(home: Path) -> None:
    """docs/PROGRAM.md, "The program adapts" 3: "the next week's easy and long runs still to come are shortened so
    that that week is at most 110 % of what was really run"."""
    _, now, ran = short_week(home)
    if now["weeks"][1]["volume_km"] > 1.10 * ran + 0.05:  # "... or they are at the planner's least"
        least = {"easy": ("minutes", 20), "long": ("minutes", 30), "strides": ("warmup", 10)}
        for s in now["weeks"][1]["sessions"]:
            if s["kind"] in least:
                name, value = least[s["kind"]]
                assert s["params"][name] == value, (s, now["weeks"][1]["volume_km"], 1.10 * ran)


def test_a_missed_quality_session_moves_and_an_easy_run_gives_way(home: Path) -> None:
    d = new(today() - timedelta(days=2))
    hills, easy = d["weeks"][0]["sessions"][:2]
    assert hills["kind"] == "hills" and hills["planned_day"] == (today() - timedelta(days=1)).isoformat()
    assert hills["status"] == "moved" and hills["day"] != hills["planned_day"]  # new --json already says so
    now = by_index(show())
    moved, gave = now[hills["index"]], now[easy["index"]]
    assert (moved["status"], moved["day"], moved["planned_day"]) == (
        "moved",
        today().isoformat(),
        (today() - timedelta(days=1)).isoformat(),
    )
    assert moved["note"] == f"moved from {(today() - timedelta(days=1)).strftime('%a %d %b')}"
    assert (gave["status"], gave["note"]) == ("replaced", f"gave way to {hills['title']}")
    assert ok("today").out.startswith(f"{hills['title']}: week 1 of 12") and "(moved)" in ok("today").out
    text = ok("program", "show").out
    assert "moved" in text and "gave way" in text
    plan = json.loads(ok("plan", "today", "--voice-engine", "tones", "--json").out)
    assert plan["name"] == hills["title"]
    (written,) = (home / "programs" / "1").iterdir()
    assert written.name.endswith("-hills.yaml")


def test_running_the_moved_session_keeps_it_on_today(home: Path) -> None:
    """The moved hills, run today from the file `today` wrote: done today, and the easy run still gave way."""
    from cadencecoach import pipeline

    d = new(today() - timedelta(days=2))
    hills, easy = d["weeks"][0]["sessions"][:2]
    ok("plan", "today", "--voice-engine", "tones", "--json")
    (written,) = (home / "programs" / "1").iterdir()
    workout = pipeline.load(str(written), use_history=False)
    recorder = SessionRecorder(workout)  # as `run today` records it: under the file's path, today
    recorder.start()
    recorder.finish(stopped_early=False)
    now = by_index(show())
    assert now[hills["index"]]["status"] == "done" and now[hills["index"]]["ran_s"] == pytest.approx(hills["planned_s"])
    assert now[easy["index"]]["status"] == "replaced", now[easy["index"]]  # it gave way: not to be run as well
    assert now[hills["index"]]["day"] == today().isoformat(), now[hills["index"]]
    j = json.loads(ok("today", "--json").out)
    assert j["session"] is None or j["session"]["index"] == hills["index"], j["session"]


def test_a_new_trial_changes_the_paces_of_later_sessions_only(home: Path) -> None:
    d = new(today() - timedelta(days=6))  # today: the long run of week 1
    ok("trial", "add", "1mi", "5:50", "--date", (today() - timedelta(days=10)).isoformat())
    assert show() == d  # a trial before the program's own does not count
    since = today() - timedelta(days=3)
    ok("trial", "add", "1mi", "6:10", "--date", since.isoformat())
    now = by_index(show())
    for s in sessions(d):
        got = now[s["index"]]
        if s["day"] < since.isoformat():
            assert got == s
        else:
            assert got["trial"] == "1mi 6:10", got
            if s["kind"] in ("easy", "long"):  # the same minutes at a faster easy pace: more km
                assert got["planned_s"] == s["planned_s"] and got["distance_km"] > s["distance_km"], (got, s)
            elif s["template"] in ("10x400", "6x800", "4x1200"):  # metres at a faster pace: less time
                assert got["planned_s"] < s["planned_s"], (got, s)
    assert {now[s["index"]]["trial"] for s in d["weeks"][0]["sessions"]} == {"1mi 6:30", "1mi 6:10"}
    ok("plan", "today", "--voice-engine", "tones", "--json")
    (written,) = (home / "programs" / "1").iterdir()
    assert yaml_doc(written)["trial"] == "1mi 6:10"
    assert "paces from 1mi 6:10" in ok("today").out


# -------------------------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A program whose week 1 hills moved onto today's easy run (which gave way), exported with the defaults to a
    folder that already holds a file of the runner's."""
    d = tmp_path_factory.mktemp("season")
    home = d / "home"
    home.mkdir()
    (home / "settings.toml").write_text('voice_engine = "tones"\n')
    out = d / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCECOACH_HOME", str(home))
        mp.setenv("CADENCECOACH_CACHE_DIR", str(d / "cache"))
        program = new(today() - timedelta(days=2))
        r = ok("program", "export", "-o", str(out))
    plays = [s for s in sessions(program) if s["status"] != "replaced"]
    return {"dir": d, "home": home, "out": out, "program": program, "plays": plays, "stderr": r.err}


@pytest.fixture
def in_season(season: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("CADENCECOACH_HOME", str(season["home"]))
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(season["dir"] / "cache"))
    return season


def stem(s: dict[str, Any]) -> str:
    """docs: NNN-DAY-SESSION (NNN the session's number in the program, DAY the day it is run on)."""
    return f"{s['index'] + 1:03d}-{s['day']}-{s['template']}"


def calendar_events(path: Path) -> list[Any]:
    icalendar = require_module("icalendar")
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
    return list(cal.walk("VEVENT"))


def walk_steps(items: tuple[Any, ...], depth: int = 0) -> Iterator[tuple[int, Any]]:
    """(depth, step or repeat) of a loaded workout, in order."""
    from cadencecoach.workout.model import Repeat

    for item in items:
        yield depth, item
        if isinstance(item, Repeat):
            yield from walk_steps(item.steps, depth + 1)


def check_calendar(path: Path, plays: list[dict[str, Any]], at: time, workouts: Path) -> None:
    from cadencecoach.workout.loader import load_workout_text
    from cadencecoach.workout.model import Repeat

    events = calendar_events(path)
    assert len(events) == len(plays)
    assert len({str(e["UID"]) for e in events}) == len(events)
    by_start = sorted(events, key=lambda e: (e.decoded("DTSTART"), str(e["SUMMARY"])))
    for e, s in zip(by_start, sorted(plays, key=lambda s: (s["day"], s["title"])), strict=True):
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        assert isinstance(start, datetime) and start.tzinfo is None and end.tzinfo is None  # floating local time
        assert "TZID" not in e["DTSTART"].params and not e["DTSTART"].to_ical().endswith(b"Z")
        assert start == datetime.combine(date.fromisoformat(s["day"]), at)
        assert end - start == timedelta(seconds=round(s["planned_s"]))
        assert str(e["SUMMARY"]) == s["title"]
        description = str(e["DESCRIPTION"])
        w = load_workout_text((workouts / f"{stem(s)}.yaml").read_text(), "x.yaml")

        for depth, item in walk_steps(w.steps):
            if isinstance(item, Repeat):
                assert f"{'  ' * depth}{item.count} x:" in description, description
            else:
                assert f"{'  ' * depth}- {item.label}: " in description, (item.label, description)
        assert f"{s['cadence']} spm" in description
        if s["kind"] in ("speed", "trial", "goal") and s["template"] != "tabata":
            assert " pace (" in description, description  # the paces from the trial


def test_export_writes_a_calendar_event_per_session(season: dict[str, Any]) -> None:
    out, plays = season["out"], season["plays"]
    assert len(plays) == 47  # 48 sessions, one easy run gave way to the moved hills
    assert f"wrote {out / 'program.ics'} (47 sessions)" in season["stderr"]
    check_calendar(out / "program.ics", plays, time(7, 0), out / "workouts")
    events = calendar_events(out / "program.ics")
    moved = next(e for e in events if e.decoded("DTSTART").date() == today())
    assert str(moved["SUMMARY"]) == season["program"]["weeks"][0]["sessions"][0]["title"]


def test_export_writes_each_session_as_a_valid_workout(in_season: dict[str, Any]) -> None:
    require_extra("fit")  # the fit folder is there
    out, plays = in_season["out"], in_season["plays"]
    files = sorted((out / "workouts").iterdir())
    assert [f.name for f in files] == sorted(f"{stem(s)}.yaml" for s in plays)
    r = ok("validate", *map(str, files))
    assert len([line for line in r.out.splitlines() if line.startswith("ok ")]) == 47
    for s in plays:
        doc = yaml_doc(out / "workouts" / f"{stem(s)}.yaml")
        assert doc["name"] == s["title"] and doc["cadence"] == s["cadence"] and doc["trial"] == s["trial"]
    assert sorted(p.name for p in out.iterdir()) == ["fit", "keep.txt", "program.ics", "workouts"]
    assert (out / "keep.txt").read_text() == "mine"


def test_export_writes_each_session_as_a_fit_workout(season: dict[str, Any]) -> None:
    require_extra("fit")
    out, plays = season["out"], season["plays"]
    assert sorted(f.name for f in (out / "fit").iterdir()) == sorted(f"{stem(s)}.fit" for s in plays)
    assert f"wrote 47 FIT workouts to {out / 'fit'}" in season["stderr"]
    for s in plays:
        check_fit(out / "fit" / f"{stem(s)}.fit", out / "workouts" / f"{stem(s)}.yaml", s["title"])


def test_check_trials_aim_at_the_mile_the_latest_trial_predicts(in_season: dict[str, Any]) -> None:
    """docs/PROGRAM.md: "A check trial's target is the mile your latest trial predicts; the goal's, your goal."
    Here the trial is 1mi 6:30 (6:30/mi: 242.3 s/km) and the goal 1mi 5:30 (205.1 s/km)."""
    out, plays = in_season["out"], in_season["plays"]
    aims = {}
    for s in plays:
        if s["kind"] in ("trial", "goal"):
            plan = json.loads(
                ok("plan", str(out / "workouts" / f"{stem(s)}.yaml"), "--voice-engine", "tones", "--json").out
            )
            (mile,) = [st for st in plan["steps"] if st["distance_m"] and round(st["distance_m"]) == 1609]
            aims[s["index"]] = (s["kind"], mile["pace_s_per_km"])
    kinds = [k for k, _ in aims.values()]
    assert kinds.count("goal") == 1 and kinds.count("trial") >= 1
    for kind, pace in aims.values():
        expected = (330 if kind == "goal" else 390) / 1.609344
        assert pace == pytest.approx(expected, abs=1.5), (kind, pace, aims)


def test_cadence_builder_labels_name_the_cadences_it_plays(in_season: dict[str, Any]) -> None:
    """A week at 174 spm: the shipped "Build to 180" / "Hold 180" steps are moved to 169-174 and 174 spm, so a
    label (shown, spoken, in the calendar and the FIT file) that still says 180 tells the runner the wrong
    cadence."""
    out, plays = in_season["out"], in_season["plays"]
    s = next(s for s in plays if s["kind"] == "cadence" and s["cadence"] != 180)
    plan = json.loads(ok("plan", str(out / "workouts" / f"{stem(s)}.yaml"), "--voice-engine", "tones", "--json").out)
    named = [(st["label"], st["cadence_end"]) for st in plan["steps"] if re.search(r"\b1[5-9]\d\b", st["label"])]
    assert named, plan["steps"]
    for label, cadence in named:
        assert str(cadence) in label, (label, cadence)


def test_export_without_the_fit_extra_warns_and_writes_the_rest(
    in_season: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "garmin_fit_sdk", None)
    out = tmp_path / "nofit"
    r = ok("program", "export", "-o", str(out))
    assert "warning: no FIT workouts" in r.err and "fit" in r.err
    assert sorted(p.name for p in out.iterdir()) == ["program.ics", "workouts"]
    assert len(list((out / "workouts").iterdir())) == 47


def test_export_at_another_time_and_refusals(in_season: dict[str, Any], tmp_path: Path) -> None:
    evening = tmp_path / "evening"
    ok("program", "export", "-o", str(evening), "--at", "18:30")
    check_calendar(evening / "program.ics", in_season["plays"], time(18, 30), evening / "workouts")
    again = tmp_path / "again"
    ok("program", "export", "-o", str(again), "--at", "18:30")
    uids = [[str(e["UID"]) for e in calendar_events(p / "program.ics")] for p in (evening, again)]
    assert uids[0] == uids[1]  # a calendar updates the events instead of adding them twice
    for at in ("25:00", "7", "07:60"):
        r = cc("program", "export", "-o", str(tmp_path / "bad"), "--at", at)
        assert r.code == 2 and "--at" in r.err, (at, r.err)
    assert not (tmp_path / "bad").exists()
    afile = tmp_path / "a-file"
    afile.write_text("x")
    r = cc("program", "export", "-o", str(afile))
    assert r.code == 2 and "-o" in r.err and afile.read_text() == "x"
    r = cc("program", "export", "-o", str(tmp_path / "bad"), "--audio", "--format", "gif")
    assert r.code == 2 and "--format" in r.err and not (tmp_path / "bad").exists()


def test_export_audio_renders_every_session(
    in_season: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command hands the batch renderer one job per session; the real renderer renders the first two (all
    of them would take minutes: see the module's notes), each as `render` would, a chapter per step."""
    from cadencecoach.cli import batch_render

    real = batch_render.render_sessions
    handed: list[Any] = []

    def two_of_them(jobs: Any, **kw: Any) -> list[Path]:
        handed.extend(jobs)
        return real(list(jobs)[:2], **kw)

    monkeypatch.setattr(batch_render, "render_sessions", two_of_them)
    out = tmp_path / "phone"
    r = ok("program", "export", "-o", str(out), "--audio", "--format", "wav")
    plays = in_season["plays"]
    assert [j.output for j in handed] == [out / "audio" / f"{stem(s)}.wav" for s in plays]
    assert [j.workout for j in handed] == [out / "workouts" / f"{stem(s)}.yaml" for s in plays]
    assert [j.label for j in handed] == [s["title"] for s in plays]
    assert "wrote 2 audio files" in r.err
    assert sorted(p.name for p in (out / "audio").iterdir()) == sorted(f"{stem(s)}.wav" for s in plays[:2])
    for s in plays[:2]:
        seconds, cues = wav_facts(out / "audio" / f"{stem(s)}.wav")
        assert s["planned_s"] <= seconds <= s["planned_s"] + 5
        assert cues == expanded_steps(yaml_doc(out / "workouts" / f"{stem(s)}.yaml")["steps"])

    def none_of_them(jobs: Any, **kw: Any) -> list[Path]:
        handed.extend(jobs)
        return []

    monkeypatch.setattr(batch_render, "render_sessions", none_of_them)
    handed.clear()
    ok("program", "export", "-o", str(tmp_path / "default"), "--audio")
    assert {j.output.suffix for j in handed} == {".mp3"} and len(handed) == 47  # the default format (docs)


# ----------------------------------------------------------------------------------------------- plot


def test_show_plot(home: Path, tmp_path: Path) -> None:
    require_extra("charts")
    new(next_monday())
    png = tmp_path / "season.png"
    r = ok("program", "show", "--plot", str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert f"wrote {png}" in r.err and "program 1:" in r.out
    r = cc("program", "show", "--plot", str(tmp_path / "x.gif"))
    assert r.code == 2 and "--plot" in r.err and not (tmp_path / "x.gif").exists()


def test_help_texts_have_examples() -> None:
    for args in (["program", "new"], ["program", "show"], ["program", "export"], ["today"]):
        r = cc(*args, "--help")
        assert r.code == 0 and "Example" in r.out, args


def test_run_today_plays_the_days_session_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run today` hands the live player the session file `today` wrote (the file the run is recorded under, so
    the program sees it done); the live playing itself is tested end to end in tests/e2e."""
    import cadencecoach.cli.play as play

    d = new(today() - timedelta(days=1))
    (s,) = [s for s in sessions(d) if s["day"] == today().isoformat()]
    played: list[str] = []

    def fake_play(workout_arg: str, **_kw: Any) -> int:
        played.append(workout_arg)
        return 0

    monkeypatch.setattr(play, "play_workout", fake_play)
    r = ok("run", "today", "--voice-engine", "tones")
    assert played == [str(session_file(home, 1, s))]
    assert f"today: {s['title']} (week 1 of 12)" in r.err
