"""The history commands through the real Typer app: trial add/list/rm/plot, paces, history, plan --plot."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cadencecoach.cli.app import app
from cadencecoach.history.db import open_db
from extra_deps import require_extra

DERIVED = """\
name: Threshold
steps:
  - warmup: 10min
    cadence: 165-175
  - run: 2km
    pace: threshold
  - cooldown: 5min
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


def cc(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_trial_add_list_rm(home: Path) -> None:
    code, out, _ = cc("trial", "add", "1mi", "6:12", "--date", "2025-11-20", "--note", "track, windy")
    assert code == 0 and out.startswith("added trial 1: 1mi 6:12 on 2025-11-20 (VDOT 46.7)")
    assert cc("trial", "add", "5k 19:57", "--date", "2025-10-01")[0] == 0
    code, out, _ = cc("trial", "list", "--json")
    trials = json.loads(out)["trials"]
    assert [(t["id"], t["result"], t["note"]) for t in trials] == [
        (2, "5k 19:57", None),
        (1, "1mi 6:12", "track, windy"),
    ]
    code, out, _ = cc("trial", "list")
    assert code == 0 and "1mi 6:12" in out and "track, windy" in out
    assert cc("trial", "rm", "2") == (0, "removed trial 2: 5k 19:57 on 2025-10-01\n", "")
    code, _, err = cc("trial", "rm", "2")
    assert code == 2 and "no trial with id 2" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1mi"], "cannot read trial"),
        (["1mi", "6:12", "--date", "20.11.2026"], "YYYY-MM-DD"),
        (["marathon", "20:00:00"], "VDOT"),
    ],
)
def test_trial_add_refuses_bad_input(home: Path, args: list[str], message: str) -> None:
    code, _, err = cc("trial", "add", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not home.exists()


def test_listing_commands_create_nothing(home: Path) -> None:
    assert cc("trial", "list")[1].startswith("no trials recorded yet")
    assert json.loads(cc("history", "--json")[1]) == {"weeks": [], "sessions": [], "reviews": []}
    assert cc("history")[1].startswith("no sessions recorded yet")
    assert not home.exists()


def test_trial_add_in_an_unwritable_home_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CADENCECOACH_HOME", str(blocker / "home"))
    code, _, err = cc("trial", "add", "1mi", "6:12")
    assert code == 1 and err.startswith("error: cannot create the data folder") and err.count("\n") == 1


def test_paces_from_latest_trial_or_option(home: Path) -> None:
    code, _, err = cc("paces")
    assert code == 2 and "trial add" in err
    cc("trial", "add", "5k", "20:00", "--date", "2025-11-01")
    code, out, _ = cc("paces")
    assert code == 0 and "paces from your 5k 20:00 trial of 2025-11-01: VDOT 49.8" in out
    assert "threshold" in out and "per 400 m" in out
    code, out, _ = cc("paces", "--trial", "1mi 6:00", "--json")
    d = json.loads(out)
    assert d["trial"]["result"] == "1mi 6:00" and len(d["paces"]) == 11  # 6 races, E M T I R
    mile = d["paces"][0]
    assert mile["name"] == "mile" and mile["race_time"] == "6:00" and mile["per_mile"] == "6:00"
    assert set(mile) >= {"per_km", "per_mile", "per_400m", "s_per_km"} and "range_s_per_km" not in mile
    easy = next(p for p in d["paces"] if p["name"] == "easy")  # the middle, with the range (easy-fast, easy-slow)
    fast, slow = easy["range_s_per_km"]
    assert fast < easy["s_per_km"] < slow and easy["range_per_km"].count("-") == 1
    code, out, _ = cc("paces", "--trial", "5k 24:08")  # VDOT 39.9: Daniels' Running Formula 3rd ed., Table 5.2, row 40
    assert "5:56-6:38" in out and "marathon-training" in out  # E per km; M is a row of its own


def _seed_sessions() -> None:
    db = open_db()
    assert db is not None
    monday = datetime(2026, 11, 2, 9, 0).astimezone()
    rows = [
        (monday, 1800.0, "completed", 5, 0),
        (monday + timedelta(days=2), 900.0, "stopped", 2, 1),
        (monday + timedelta(days=14), 2700.0, "completed", 6, 0),
    ]
    with db, db.write() as con:
        for start, run_s, status, done, skipped in rows:
            ts = start.astimezone(timezone.utc).isoformat()
            con.execute(
                "INSERT INTO sessions (workout_name, workout_hash, started_at, ended_at, heartbeat_at, planned_s,"
                " run_s, steps_total, steps_completed, steps_skipped, stopped_early, status)"
                " VALUES ('Tempo', 'abc', ?, ?, ?, 2700, ?, 6, ?, ?, ?, ?)",
                (ts, ts, ts, run_s, done, skipped, int(status != "completed"), status),
            )


def test_history_table_json_csv(home: Path) -> None:
    _seed_sessions()
    code, out, _ = cc("history")
    assert code == 0 and "Tempo" in out and "stopped" in out and "2026-11-02" in out and "1:30:00" in out
    d = json.loads(cc("history", "--json")[1])
    assert [s["status"] for s in d["sessions"]] == ["completed", "stopped", "completed"]  # newest first
    assert [(w["week"], w["sessions"], w["time_run_s"]) for w in d["weeks"]] == [
        ("2026-11-02", 2, 2700.0),
        ("2026-11-09", 0, 0.0),
        ("2026-11-16", 1, 2700.0),
    ]
    rows = list(csv.DictReader(io.StringIO(cc("history", "--csv")[1])))
    assert len(rows) == 3 and rows[1]["status"] == "stopped" and rows[1]["steps_skipped"] == "1"
    weeks = list(csv.DictReader(io.StringIO(cc("history", "--csv", "--weekly")[1])))
    assert [w["iso_week"] for w in weeks] == ["2026-W45", "2026-W46", "2026-W47"]
    assert len(json.loads(cc("history", "--json", "-n", "1")[1])["sessions"]) == 1
    assert cc("history", "--json", "--csv")[0] == 2


def test_plan_uses_the_latest_trial_and_plots(home: Path, tmp_path: Path) -> None:
    require_extra("charts")
    wfile = tmp_path / "threshold.yaml"
    wfile.write_text(DERIVED)
    code, _, err = cc("plan", str(wfile), "--voice-engine", "tones", "--json")
    assert code == 2 and "derived from a time trial" in err
    cc("trial", "add", "5k", "20:00", "--date", "2025-11-01")
    png = tmp_path / "plan.png"
    code, out, err = cc("plan", str(wfile), "--voice-engine", "tones", "--json", "--plot", str(png))
    assert code == 0, err
    assert json.loads(out)["steps"][1]["pace_s_per_km"] == pytest.approx(255.5, abs=1)
    assert "using your 5k 20:00 trial of 2025-11-01" in err and f"wrote {png} (3 steps" in err
    assert png.stat().st_size > 10_000


def test_workouts_lists_a_user_workout_with_derived_paces_like_plan(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`workouts` uses the latest recorded trial as `plan` does: the same length, not "invalid"."""
    monkeypatch.setenv("COLUMNS", "200")  # one table row per workout, whatever the terminal
    (home / "workouts").mkdir(parents=True)
    (home / "workouts" / "threshold.yaml").write_text(DERIVED)
    code, out, _ = cc("workouts")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(" threshold "))
    assert "invalid" in row
    cc("trial", "add", "5k", "20:00", "--date", "2025-11-01")
    code, out, _ = cc("workouts")
    row = next(line for line in out.splitlines() if line.startswith(" threshold "))
    code, plan_out, _ = cc("plan", "threshold", "--voice-engine", "tones", "--json")
    assert code == 0
    length = json.loads(plan_out)["duration_s"]
    assert f"{int(length // 60)}:{int(length % 60):02d}" in row and "invalid" not in row, row


def test_plan_plot_refuses_a_bad_name_before_any_work(home: Path, tmp_path: Path) -> None:
    code, _, err = cc("plan", "no-such-workout", "--plot", str(tmp_path / "x.jpg"))
    assert code == 2 and "--plot" in err and ".png" in err


def test_plot_options_without_matplotlib_exit_2_with_the_install_hint(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cc("trial", "add", "5k", "20:00")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for args in (
        ["trial", "plot", "-o", str(tmp_path / "t.png")],
        ["plan", "tabata", "--plot", str(tmp_path / "w.png")],
    ):
        code, _, err = cc(*args, *(["--voice-engine", "tones"] if args[0] == "plan" else []))
        assert code == 2 and "pip install 'cadencecoach[charts]'" in err, err


def test_trial_plot(home: Path, tmp_path: Path) -> None:
    require_extra("charts")
    assert cc("trial", "plot", "-o", str(tmp_path / "t.png"))[0] == 2  # nothing to plot yet
    for text, day in (("1mi 6:30", "2025-09-01"), ("1mi 6:12", "2025-11-01")):
        cc("trial", "add", *text.split(), "--date", day)
    code, out, _ = cc("trial", "plot", "-o", str(tmp_path / "t.png"))
    assert code == 0 and out.startswith(f"wrote {tmp_path / 't.png'} (2 trials, VDOT trend +")


def test_help_texts_have_examples() -> None:
    for args in (["trial", "add"], ["trial", "list"], ["trial", "rm"], ["trial", "plot"], ["paces"], ["history"]):
        code, out, _ = cc(*args, "--help")
        assert code == 0 and "Example" in out, args
