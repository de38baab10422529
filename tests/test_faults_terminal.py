"""Fault suite, terminal side: nothing from a file reaches the terminal raw, `plan` draws a bounded table, and
a reader that goes away (``| head -1``) ends the command silently.

Hostile text comes from every place a file can put it: a YAML workout (escaped ESC sequences in name, notes,
labels, say, effort, pace names), an intervals.icu ``.txt`` (raw ESC, BEL, CR and U+202E in its file name --
the workout's name -- and its step texts), a Zwift ``.zwo`` (C1 controls and bidi characters as character
references: XML 1.0 forbids most C0 controls), a song's tags and file name, the history database (a session
of a workout with ESC in its name, a trial's note), a user workout's file name in the workouts folder and the
system's audio device names. Each must show escaped (``\\x1b``) on stdout and stderr, rich markup in it must
print literally, and ``--json`` must stay exact (JSON escapes every control character).

The command-line cases run the real program (``faults.cc``) and are held by ``faults.assert_clean``: exit
code, no traceback, no raw control character on either stream, time and memory bounds.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cadencecoach import terminal
from cadencecoach.core.timeline import CompileOptions, Timeline, compile_workout
from cadencecoach.ui import live_view
from cadencecoach.ui.plan import MAX_PLAN_ROWS, print_plan
from cadencecoach.workout.loader import load_workout_text
from faults import TIME_BOUND_S, assert_clean, cc

OSC = "\x1b]0;pwned\x07"  # retitles the terminal window
CLEAR = "\x1b[2J"  # clears the screen
MARKUP = "[bold red]loud[/]"  # rich markup: must print as written

# the dangerous characters that must never reach a terminal raw (rich's own styling codes are not in here:
# they appear only where a test forces a terminal, and are checked for separately)
RAW = ("\x1b]", "\x1b[2J", "\x1b[1A", "\x07", "\x08", "\x9b", "\u202e", "\u2066", "\r")

HOSTILE_YAML = r"""
name: "Evil \e]0;pwned\a [bold red]loud[/] \x1b[2J :fire:"
notes: "Read me \e[31m red \u202e tfel-ot-thgir [link=https://example.com]click[/link]"
cadence: 180
paces:
  "fast\e[1A": 4:00/km
steps:
  - warmup: 1min
    label: "Warm \x1b[1A up [red]x"
    say: "Say \e]0;cue\a it \x9b2J"
  - run: 1min
    pace: "fast\e[1A"
    effort: "hard \x08\x08 [blink]now[/blink]"
"""

ICU_NAME = f"evil {OSC}\r\u202eicu.txt"  # the file name is the workout's name
ICU_TEXT = (
    "Warmup\n- Easy \x1b[2J\x07 now \u202egnol 10m 70% Pace 85rpm\n\n"
    "Main Set 2x\n- Hard \x1b]0;x\x07 [bold]y[/] 1m 100% Pace\n- Jog \x08\x08 back 1m Z1 Pace\n"
)

ZWO_TEXT = """<workout_file>
  <name>Zw &#x9b;2J &#x202e;evil [red]x[/]</name>
  <description>Desc &#x9b;31m &#x2066;isolated&#x2069; &#x85;next</description>
  <sportType>run</sportType>
  <workout>
    <SteadyState Duration="120" Power="0.8">
      <textevent timeoffset="0" message="Go &#x9b;2J &#x202e; [bold]now[/]"/>
      <textevent timeoffset="45" message="Later &#x9b;1A on"/>
    </SteadyState>
  </workout>
</workout_file>
"""


def assert_no_raw(text: str) -> None:
    for seq in RAW:
        assert seq not in text, f"{seq!r} reached the terminal raw:\n{text!r}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "in"
    d.mkdir()
    files = {"yaml": d / "evil.yaml", "icu": d / ICU_NAME, "zwo": d / "evil.zwo"}
    files["yaml"].write_text(HOSTILE_YAML)
    files["icu"].write_text(ICU_TEXT)
    files["zwo"].write_text(ZWO_TEXT)
    return files


# -------------------------------------------------------------------------------- validate, plan, json


def test_validate_shows_every_file_borne_name_escaped(hostile: dict[str, Path], home: Path) -> None:
    r = cc("validate", *(str(p) for p in hostile.values()), home=home)
    assert_clean(r, 0)
    assert "Evil \\x1b]0;pwned\\x07 [bold red]loud[/] \\x1b[2J :fire:" in r.stdout
    assert "evil \\x1b]0;pwned\\x07\\r\\u202eicu" in r.stdout  # the .txt's name (and path)
    assert "Zw \\x9b2J \\u202eevil [red]x[/]" in r.stdout
    assert r.stdout.count("ok  ") == 3, r.stdout


def test_validate_problem_lines_are_escaped(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / f"bad {CLEAR}.yaml"
    bad.write_text('name: "x"\nsteps:\n  - sprint\x1b[2J: 1min\n')
    r = cc("validate", str(bad), home=home)
    assert_clean(r, 2, "bad \\x1b[2J.yaml:")


def test_plan_of_a_hostile_yaml_prints_it_escaped_and_literal(hostile: dict[str, Path], home: Path) -> None:
    r = cc("plan", str(hostile["yaml"]), "--voice-engine", "tones", home=home)
    assert_clean(r, 0)
    out = r.stdout
    assert "Evil \\x1b]0;pwned\\x07 [bold red]loud[/] \\x1b[2J :fire:" in out  # markup, emoji codes as written
    assert "Read me \\x1b[31m red \\u202e tfel-ot-thgir [link=https://example.com]click[/link]" in out
    assert "Warm \\x1b[1A up [red]x" in out
    assert "fast\\x1b[1A 4:00/km hard \\x08\\x08 [blink]now[/blink]" in out
    assert "spoken cues" in out


@pytest.mark.parametrize("kind", ["icu", "zwo"])
def test_plan_of_an_imported_workout_prints_it_escaped(kind: str, hostile: dict[str, Path], home: Path) -> None:
    r = cc("plan", str(hostile[kind]), "--voice-engine", "tones", home=home)
    assert_clean(r, 0)
    if kind == "icu":
        assert "evil \\x1b]0;pwned\\x07\\r\\u202eicu" in r.stdout and "Hard \\x1b]0;x\\x07" in r.stdout
        assert "[bold]y[/]" in r.stdout
        assert "icu.txt:2:" in r.stderr  # the import warnings name the (escaped) file
    else:
        assert "Zw \\x9b2J \\u202eevil [red]x[/]" in r.stdout
        assert "Desc \\x9b31m \\u2066isolated\\u2069 \\x85next" in r.stdout


def test_plan_json_keeps_the_text_exact(hostile: dict[str, Path], home: Path) -> None:
    for path, name in (
        (hostile["yaml"], "Evil \x1b]0;pwned\x07 [bold red]loud[/] \x1b[2J :fire:"),
        (hostile["icu"], "evil \x1b]0;pwned\x07\r\u202eicu"),
    ):
        r = cc("plan", str(path), "--json", "--voice-engine", "tones", home=home)
        assert_clean(r, 0)
        assert r.stdout.isascii()
        d = json.loads(r.stdout)
        assert d["name"] == name
    assert d["steps"][1]["label"] == "Hard \x1b]0;x\x07 [bold]y[/]"
    r = cc("plan", str(hostile["yaml"]), "--json", "--voice-engine", "tones", home=home)
    texts = {c["text"] for c in json.loads(r.stdout)["cues"]}
    assert "Say \x1b]0;cue\x07 it \x9b2J" in texts


# ------------------------------------------------------------------------------------------- workouts


def test_workouts_lists_hostile_user_workouts_escaped(home: Path) -> None:
    folder = home / "workouts"  # workout/library.py: user_dir()
    folder.mkdir(parents=True)
    (folder / f"named {OSC}.yaml").write_text(HOSTILE_YAML)
    (folder / "noted.yaml").write_text('name: N\nnotes: "First \\e[2J [bold]line[/]. Second."\nsteps:\n  - run: 1min\n')
    (folder / f"broken {CLEAR}.yaml").write_text("name: B\nsteps:\n  - sprint\x1b]0;x\x07: 1min\n")
    r = cc("workouts", home=home, env={"COLUMNS": "250"})
    assert_clean(r, 0)
    assert "named \\x1b]0;pwned\\x07" in r.stdout
    assert "Read me \\x1b[31m red \\u202e" in r.stdout
    assert "First \\x1b[2J [bold]line[/]" in r.stdout and "Second" not in r.stdout
    assert "broken \\x1b[2J" in r.stdout and "invalid:" in r.stdout


# ------------------------------------------------------------------------------------------- history


def _seed(home: Path, names: list[str]) -> None:
    """Sessions of workouts with these names, and a trial with a hostile note (as a crafted DB could hold)."""
    from cadencecoach.history.db import db_path, open_db

    db = open_db(db_path(home))
    assert db is not None
    ts = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc).isoformat()
    with db, db.write() as con:
        for name in names:
            con.execute(
                "INSERT INTO sessions (workout_name, workout_hash, started_at, ended_at, heartbeat_at,"
                " planned_s, run_s, steps_total, steps_completed, status)"
                " VALUES (?, 'abc', ?, ?, ?, 600, 600, 2, 2, 'completed')",
                (name, ts, ts, ts),
            )
        con.execute(
            "INSERT INTO trials (date, distance, distance_m, time_s, vdot, note, created_at)"
            " VALUES ('2026-11-01', '1mi', 1609.344, 372, 46.7, ?, ?)",
            (f"windy {OSC} {MARKUP}", ts),
        )


def test_history_listings_show_names_and_notes_escaped(home: Path) -> None:
    name = f"Tempo {OSC}\u202e {MARKUP}"
    _seed(home, [name, "Easy\r\x08\x08"])
    r = cc("history", home=home, env={"COLUMNS": "200"})
    assert_clean(r, 0)
    assert "Tempo \\x1b]0;pwned\\x07\\u202e [bold red]loud[/]" in r.stdout and "Easy\\r\\x08\\x08" in r.stdout
    r = cc("history", "--json", home=home)
    assert_clean(r, 0)
    assert {s["workout"] for s in json.loads(r.stdout)["sessions"]} == {name, "Easy\r\x08\x08"}
    r = cc("history", "--csv", home=home)
    assert_clean(r, 0)
    assert {row["workout"] for row in csv.DictReader(io.StringIO(r.stdout))} == {
        "Tempo \\x1b]0;pwned\\x07\\u202e [bold red]loud[/]",
        "Easy\\r\\x08\\x08",
    }
    r = cc("trial", "list", home=home, env={"COLUMNS": "200"})
    assert_clean(r, 0)
    assert "windy \\x1b]0;pwned\\x07 [bold red]loud[/]" in r.stdout


# -------------------------------------------------------------------------------------- track analyze


def test_track_analyze_shows_tags_and_file_names_escaped(tmp_path: Path, home: Path) -> None:
    pytest.importorskip("soundfile")
    from extra_deps import require_extra

    require_extra("music")
    import mutagen.flac
    import soundfile as sf

    sr = 22050
    audio = np.zeros(sr * 12, np.float32)
    tick = (np.sin(np.arange(400) * 0.3) * np.linspace(0.8, 0.0, 400)).astype(np.float32)
    for beat in np.arange(0.0, 11.5, 0.5):  # 120 BPM
        audio[int(beat * sr) : int(beat * sr) + 400] += tick
    song = tmp_path / f"song {CLEAR}\u202e.flac"
    sf.write(song, audio, sr)
    tags = mutagen.flac.FLAC(song)
    tags["title"] = f"Title {OSC} {MARKUP}"
    tags["artist"] = "Artist \x9b2J"
    tags.save()
    junk = tmp_path / f"junk {OSC}.flac"  # not audio: a warning naming it
    junk.write_bytes(b"not a flac file at all")
    r = cc("track", "analyze", str(song), str(junk), home=home, env={"COLUMNS": "250"})
    assert_clean(r, 0, "junk \\x1b]0;pwned\\x07.flac")
    assert "Artist \\x9b2J - Title \\x1b]0;pwned\\x07 [bold red]loud[/]" in r.stdout
    r = cc("track", "analyze", str(song), "--json", home=home)
    assert_clean(r, 0)
    d = json.loads(r.stdout)["songs"][0]
    assert (d["title"], d["artist"], d["path"]) == (f"Title {OSC} {MARKUP}", "Artist \x9b2J", str(song))


# --------------------------------------------------------------------------------------------- render


def test_render_summary_escapes_the_output_name(hostile: dict[str, Path], tmp_path: Path, home: Path) -> None:
    out = tmp_path / f"out {OSC}.wav"
    r = cc("render", str(hostile["yaml"]), "-o", str(out), "--no-voice", home=home)
    assert_clean(r, 0, "wrote", "out \\x1b]0;pwned\\x07.wav")
    assert out.stat().st_size > 44


def test_render_progress_bar_on_a_terminal_shows_the_name_escaped(
    hostile: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    """The progress bar (stderr a terminal: a pty) shows the workout's name escaped, its markup literally."""
    master, slave = pty.openpty()
    env = {**os.environ, "CADENCECOACH_HOME": str(home), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cadencecoach",
            "render",
            str(hostile["yaml"]),
            "-o",
            str(tmp_path / "o.wav"),
            "--no-voice",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=TIME_BOUND_S) == 0
    text = seen.decode("utf-8", "replace")
    assert "rendering" in text and "Evil \\x1b]0;pwned\\x07 [bold red]loud[/] \\x1b[2J :fire:" in text, text
    for raw in ("\x1b]", "\x07", CLEAR):  # rich moves the cursor itself (\r, \x1b[1A, \x1b[2K): not those
        assert raw not in text, f"{raw!r} reached the terminal raw:\n{text!r}"


# ---------------------------------------------------------------------------------------- plan bounds


def test_plan_of_many_steps_draws_a_bounded_table(tmp_path: Path, home: Path) -> None:
    # 4,000 steps: the cap is what is tested here; the 80,000 steps, bounded in time and memory, are
    # test_faults_speech_history.py::test_plan_of_80000_short_steps_with_tones_is_bounded
    w = tmp_path / "many.yaml"
    w.write_text(
        "name: Many\ncadence: 180\nsteps:\n  - repeat: 2000\n    steps:\n      - run: 1s\n      - recover: 1s\n"
    )
    r = cc("plan", str(w), "--no-voice", home=home)
    assert_clean(r, 0)
    lines = r.stdout.splitlines()
    assert len(lines) < MAX_PLAN_ROWS + 10
    assert f"... and {4000 - MAX_PLAN_ROWS} more steps (plan --json lists every step)" in lines
    assert any(line.lstrip().startswith(f"{MAX_PLAN_ROWS} ") for line in lines)


def test_plan_json_lists_every_step_past_the_table_cap(tmp_path: Path, home: Path) -> None:
    w = tmp_path / "more.yaml"
    w.write_text("name: More\nsteps:\n  - repeat: 400\n    steps:\n      - run: 5s\n      - recover: 5s\n")
    r = cc("plan", str(w), "--no-voice", "--json", home=home)
    assert_clean(r, 0)
    assert len(json.loads(r.stdout)["steps"]) == 800


# ---------------------------------------------------------------------------------------- broken pipe


def _first_line_then_close(*args: str, home: Path) -> tuple[int, bytes, str]:
    """Run the command with stdout a real pipe, read one line, close the pipe (as ``| head -1`` does).

    The pipe holds one page only, so a command with more to say is still writing when the reader goes away.
    """
    env = {**os.environ, "CADENCECOACH_HOME": str(home), "COLUMNS": "120"}
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadencecoach", *args],
        stdin=subprocess.DEVNULL,
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(write_end)
    assert proc.stderr is not None
    with os.fdopen(read_end, "rb") as reader:
        line = reader.readline()
    err = proc.stderr.read().decode("utf-8", "replace")
    return proc.wait(timeout=TIME_BOUND_S), line, err


@pytest.mark.parametrize("command", ["plan", "workouts"])
def test_a_reader_that_goes_away_ends_the_command_silently(command: str, tmp_path: Path, home: Path) -> None:
    long = "name: Long\nnotes: " + "stride, " * 2_000 + "\nsteps:\n  - run: 1min\n"  # 16 KB to print
    (home / "workouts").mkdir(parents=True)
    (home / "workouts" / "long.yaml").write_text(long)
    args = ("plan", "long", "--no-voice") if command == "plan" else ("workouts",)
    code, line, err = _first_line_then_close(*args, home=home)
    assert line.strip(), "nothing printed"
    assert (code, err) == (141, "")


# ------------------------------------------------------------------------------- printers, in process


def _recording_console(width: int = 200) -> tuple[Any, io.StringIO]:
    buf = io.StringIO()
    return terminal.console(file=buf, width=width, color_system=None), buf


@pytest.fixture(scope="module")
def hostile_workout() -> Any:
    return load_workout_text(HOSTILE_YAML, "evil.yaml")


@pytest.fixture(scope="module")
def hostile_timeline(hostile_workout: Any) -> Timeline:
    return compile_workout(hostile_workout, 8000, {}, CompileOptions(voice_mode="off"))


def test_print_plan_escapes_and_caps_rows(hostile_workout: Any, hostile_timeline: Timeline) -> None:
    con, buf = _recording_console()
    print_plan(hostile_workout, hostile_timeline, con, max_rows=1)
    out = buf.getvalue()
    assert_no_raw(out)
    assert "Evil \\x1b]0;pwned\\x07 [bold red]loud[/] \\x1b[2J :fire:" in out
    assert "Warm \\x1b[1A up [red]x" in out and "hard" not in out  # the second step is past the cap
    assert "... and 1 more steps (plan --json lists every step)" in out
    con, buf = _recording_console()
    print_plan(hostile_workout, hostile_timeline, con)
    assert "more steps" not in buf.getvalue() and "[blink]now[/blink]" in buf.getvalue()


def test_print_plan_caps_the_warnings_too(hostile_workout: Any, hostile_timeline: Timeline) -> None:
    """A workout of 200,000 0.4-second steps drops ~175,000 cues, each with a warning: printing them all took
    ~100 s of rich rendering; the table prints the first ones and counts the rest (--json has them all)."""
    many = replace(hostile_timeline, warnings=[f"{i}.00 s: announce 'x' dropped" for i in range(1000)])
    con, buf = _recording_console()
    print_plan(hostile_workout, many, con, max_rows=10)
    out = buf.getvalue()
    assert out.count("dropped") == 10 and "9.00 s" in out and "10.00 s" not in out
    assert "... and 990 more warnings (plan --json lists every one)" in out


def test_the_console_keeps_emoji_codes_and_raises_broken_pipe() -> None:
    con, buf = _recording_console()
    con.print(terminal.markup_safe("Tempo :fire: [bold]x[/]"))
    assert buf.getvalue() == "Tempo :fire: [bold]x[/]\n"

    class Gone(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    with pytest.raises(BrokenPipeError):
        terminal.console(file=Gone()).print("x")


class _Config:
    def __init__(self, mode: str, out: io.StringIO, show_live: bool) -> None:
        self.mode, self.out, self.show_live = mode, out, show_live


class _Engine:
    want_pause = False
    underflows = 0


class _Player:
    """What the displays read of a live player (ui.live_view.PlayerView), at a position we set."""

    def __init__(self, timeline: Timeline, out: io.StringIO, show_live: bool = False, mode: str = "run") -> None:
        self.timeline = timeline
        self.config = _Config(mode, out, show_live)
        self.engine = _Engine()
        self.keys = None
        self.click_enabled = True
        self.voice_enabled = True
        self.pos = 0

    def position(self) -> int:
        return self.pos


def test_live_panel_shows_names_labels_and_efforts_escaped(hostile_timeline: Timeline) -> None:
    tl = hostile_timeline
    player = _Player(tl, io.StringIO())
    for pos in (tl.steps[0].start + 10, tl.steps[1].start + 10):
        player.pos = pos
        con, buf = _recording_console(120)
        con.print(live_view.render_snapshot(live_view.snapshot(player), "keys: q quit"))
        out = buf.getvalue()
        assert_no_raw(out)
        assert "Evil \\x1b]0;pwned\\x07 [bold red]loud[/]" in out  # the panel's title
        assert "[blink]now[/blink]" in out and "fast\\x1b[1A 4:00/km" in out  # step 2 (next, then current)
    assert "Warm" not in out  # the first step is past
    player.pos = tl.steps[0].start + 10
    shown = live_view.display_for(player)  # show_live=False: plain lines
    assert isinstance(shown, live_view.ProgressLines)


def test_live_display_on_a_terminal_shows_nothing_raw(hostile_timeline: Timeline) -> None:
    out = io.StringIO()
    player = _Player(hostile_timeline, out, show_live=True)
    shown = live_view.display_for(player, "keys")
    assert isinstance(shown, live_view.LiveDisplay)
    shown.on_start(player)
    player.pos = hostile_timeline.steps[1].start + 10
    shown._next = 0.0
    shown.on_tick(player)
    shown.on_end(player)
    text = out.getvalue()
    assert "\x1b]" not in text and "\x07" not in text and "\x08" not in text and "\x1b[1A up" not in text
    assert "\\x1b]0;pwned\\x07" in text and "[blink]now[/blink]" in text


def test_progress_lines_show_labels_escaped(hostile_timeline: Timeline) -> None:
    tl = hostile_timeline
    out = io.StringIO()
    player = _Player(tl, out)
    lines = live_view.ProgressLines(player)
    for pos in (tl.steps[0].start, tl.steps[0].start + 31 * tl.sample_rate, tl.steps[1].start):
        player.pos = pos
        lines.update()
    text = out.getvalue()
    assert_no_raw(text)
    assert "Warm \\x1b[1A up [red]x" in text and "Warm \\x1b[1A up [red]x: " in text  # step line and tick line
    assert "hard \\x08\\x08 [blink]now[/blink]" in text


def test_devices_lists_system_names_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    from cadencecoach.sinks.live import devices
    from conftest import FakeSD, dev

    fake = FakeSD([dev(0, f"USB {OSC} [bold]dac[/]"), dev(1, "pulse\u202e", out=32, rate=44100.0)], default=1)
    monkeypatch.setattr(devices, "load_sounddevice", lambda: fake)
    buf = io.StringIO()
    monkeypatch.setenv("COLUMNS", "200")
    devices.print_devices(buf)
    out = buf.getvalue()
    assert_no_raw(out)
    assert "USB \\x1b]0;pwned\\x07 [bold]dac[/]" in out and "pulse\\u202e" in out


def test_every_rich_console_comes_from_terminal_console() -> None:
    src = Path(terminal.__file__).parent
    makers = [
        f"{p.relative_to(src)}:{n}"
        for p in src.rglob("*.py")
        if p.name != "terminal.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "Console(" in line
    ]
    assert makers == []


def test_track_build_summary_shows_song_names_and_file_names_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from cadencecoach.cli.track import _print_build

    monkeypatch.setenv("COLUMNS", "200")
    song = SimpleNamespace(name=f"Artist - Title {OSC} {MARKUP}", tempo=90.0)
    out = tmp_path / f"mix {CLEAR}.mp3"
    plan = SimpleNamespace(
        options=SimpleNamespace(cadence=180.0),
        chapters=[SimpleNamespace(start=0.0)],
        placements=[SimpleNamespace(song=song, multiple=2.0, stretch_percent=0.0)],
        skipped=[],
    )
    result = SimpleNamespace(path=out, seconds=60.0, clicks=180, loudness=-14.0, labels=out.with_suffix(".txt"))
    _print_build(plan, result)
    err = capsys.readouterr().err
    assert_no_raw(err)
    assert "Artist - Title \\x1b]0;pwned\\x07 [bold red]loud[/]" in err and "mix \\x1b[2J.mp3 at 180 spm" in err
    assert "labels in mix \\x1b[2J.txt" in err


def test_a_huge_word_in_notes_or_a_label_prints_in_bounded_time(tmp_path: Path, home: Path) -> None:
    """rich folds an unbroken word in quadratic time: 100,000 characters of notes took minutes to print. Shown
    text cuts any run without a space at terminal.MAX_WORD and counts the rest."""
    (home / "workouts").mkdir(parents=True, exist_ok=True)
    w = home / "workouts" / "long.yaml"  # `workouts` lists it too
    w.write_text("name: Long\nnotes: " + "W" * 100_000 + "\nsteps:\n  - run: 1min\n    effort: " + "E" * 250 + "\n")
    r = cc("plan", str(w), "--no-voice", home=home)
    assert_clean(r, 0, seconds=5)
    assert f"({100_000 - terminal.MAX_WORD} more characters)" in r.stdout.replace("\n", "")
    r = cc("workouts", home=home)
    assert_clean(r, 0, seconds=5)
    assert "long" in r.stdout and "more characters)" in r.stdout.replace("\n", "")
