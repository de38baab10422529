"""The live display for a glance at arm's length (ui.live_view, ui.big_digits) and its settings.

Snapshots of real compiled timelines, read through a stand-in for the player, drawn at 40x12, 60x20, 80x24 and
120x40: the time left (read back from the big digits), the rep and the cadence at every size, nothing wider
than the terminal, the keys line on one line, the same columns in the lead-in and the first step, work and
rest in different brightness; the plain lines with the split, belt speed and incline; redraws after a resize
leave nothing behind (checked on a terminal emulator); the settings keys ``treadmill`` and ``speed_unit``.
"""

from __future__ import annotations

import io
import os
import re
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.color import Color
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME

from cadencecoach import terminal
from cadencecoach.core.edits import click_timeline
from cadencecoach.core.timeline import CompileOptions, Timeline, compile_workout
from cadencecoach.settings import SettingsError, load_settings
from cadencecoach.sinks.live.keys import help_items
from cadencecoach.ui import big_digits, live_view
from cadencecoach.workout.loader import load_workout_text

SR = 8000
SIZES = [(40, 12), (60, 20), (80, 24), (120, 40)]
HELP_STRING = "space pause · n/→ next step · +/- cadence · c click · v voice · q quit"  # keys.HELP until now
HELP_RUN = help_items("run")  # the keys line the player gives the display in `run`
HELP_CLICK = [(k, w) for k, w in HELP_RUN if k not in ("n", "p")]

TRACK = """\
name: Track 10x400
cadence: 180
steps:
  - warmup: 5min
  - repeat: 10
    steps:
      - run: 400m
        pace: 3:35/km
        incline: 4%
      - recover: 1min
        cadence: 160
  - cooldown: 5min
"""

UNITS = """\
name: Units
cadence: 176
steps:
  - run: 1mi
    pace: 6:12/mi
  - run: 1km
    pace: 3:35/km
  - run: 10min
    pace: 4:30/km
  - rest: 1min
"""


class _Config:
    def __init__(self, mode: str = "run", out: io.StringIO | None = None, show_live: bool | None = False) -> None:
        self.mode, self.out, self.show_live = mode, out, show_live


class _Engine:
    def __init__(self) -> None:
        self.want_pause = False
        self.underflows = 0


class _Player:
    """What the displays read of a live player (ui.live_view.PlayerView), at a position we set."""

    def __init__(self, timeline: Timeline, mode: str = "run", out: io.StringIO | None = None) -> None:
        self.timeline = timeline
        self.config = _Config(mode, out, show_live=out is not None)
        self.engine = _Engine()
        self.keys = None
        self.click_enabled = True
        self.voice_enabled = True
        self.pos = 0

    def position(self) -> int:
        return self.pos


class _Sensor:
    def __init__(self, measured: float = 176.4, remark: tuple[float, str] | None = None) -> None:
        self.name, self.state, self.measured, self.tolerance = "replay run.csv", "live", measured, 4.0
        self.note, self.step_distance_m, self.last_remark = None, 212.0, remark


class _Coach:
    def __init__(self, status: _Sensor) -> None:
        self._status = status

    def status(self) -> _Sensor:
        return self._status


@pytest.fixture(scope="module")
def track() -> Timeline:
    return compile_workout(load_workout_text(TRACK, "track.yaml"), SR, None, CompileOptions(voice_mode="off"))


def at(timeline: Timeline, index: int, seconds: float) -> int:
    """The sample `seconds` into step `index`."""
    return timeline.steps[index].start + round(seconds * SR)


def states(track: Timeline) -> dict[str, tuple[live_view.Snapshot, str, str | None, str | None]]:
    """name -> (snapshot, the time left the digits show, the rep text, the cadence text)."""
    p = _Player(track)
    out: dict[str, tuple[live_view.Snapshot, str, str | None, str | None]] = {}
    p.pos = -5 * SR
    out["lead-in"] = (live_view.snapshot(p), "0:05", None, None)
    p.pos = at(track, 1, 20)  # the first 400 m: 86 s at 3:35/km
    out["work"] = (live_view.snapshot(p, treadmill=True), "1:06", "1 of 10", "180 spm")
    p.pos = at(track, 4, 15)
    out["rest"] = (live_view.snapshot(p), "0:45", "2 of 10", "160 spm")
    p.pos = at(track, 1, 20)
    p.engine.want_pause = True
    out["paused"] = (live_view.snapshot(p), "1:06", "1 of 10", "180 spm")
    p.engine.want_pause = False
    p.click_enabled = p.voice_enabled = False
    out["muted"] = (live_view.snapshot(p), "1:06", "1 of 10", "180 spm")
    p.click_enabled = p.voice_enabled = True
    p.pos = at(track, 3, 30)
    coach = _Coach(_Sensor(remark=(track.steps[3].start / SR + 28, "Cadence 176. Up to 180.")))
    out["sensor"] = (live_view.snapshot(p, coach), "0:56", "2 of 10", "180 spm")
    click = click_timeline(180, SR, hours=1)
    pc = _Player(click, mode="click")
    pc.pos = 754 * SR
    out["click"] = (live_view.snapshot(pc), "12:34", None, "180 spm")
    return out


def draw(snap: live_view.Snapshot, width: int, height: int, keys: Any = HELP_RUN) -> list[str]:
    """The snapshot printed on a recording console of that size: its rows, as text."""
    con = terminal.console(file=io.StringIO(), width=width, height=height, record=True, color_system=None)
    con.print(live_view.render_snapshot(snap, keys))
    return con.export_text().splitlines()


def ink_column(lines: list[str]) -> int:
    """The first column with a big digit's ink in it."""
    return min(ln.index(c) for ln in lines for c in "█▀▄" if c in ln)


def key_rows(lines: list[str]) -> list[str]:
    return [ln for ln in lines if "quit" in ln or "pause" in ln]


# ------------------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_size_shows_time_left_rep_and_cadence_within_the_width(track: Timeline, size: tuple[int, int]) -> None:
    width, height = size
    for name, (snap, clock, rep, cadence) in states(track).items():
        keys = HELP_CLICK if name == "click" else HELP_RUN
        lines = draw(snap, width, height, keys)
        assert len(lines) <= height, (name, lines)
        assert all(cell_len(ln) <= width for ln in lines), (name, lines)
        assert lines[0][0] == "╭" and lines[0][-1] == "╮" and cell_len(lines[0]) == width, (name, lines[0])
        assert clock in big_digits.read(lines), (name, clock, lines)
        text = "\n".join(lines)
        if rep is not None:
            assert f"Rep {rep}" in text or rep.replace(" of ", "/") in text, (name, text)
        if cadence is not None:
            assert cadence in text, (name, text)
        rows = key_rows(lines)
        assert len(rows) == 1 and "q quit" in rows[0], (name, rows)  # one line: never wrapped


def test_the_facts_of_each_state(track: Timeline) -> None:
    s = states(track)
    big = {name: "\n".join(draw(snap, 120, 40)) for name, (snap, *_rest) in s.items()}
    assert "Starting" in big["lead-in"] and "next   Warm-up (5:00)" in big["lead-in"]
    assert "400 m in 1:26 · 3:35/km · 16.7 km/h · incline 4 %" in big["work"]
    assert "next   Recover 1 of 10 (1:00)" in big["work"]
    assert "Recover" in big["rest"] and "km/h" not in big["rest"]  # no pace, no belt speed
    assert "PAUSED" in big["paused"] and "PAUSED" not in big["work"]
    assert "click muted · voice muted" in big["muted"]
    assert "you    176 spm  ·  212 m" in big["sensor"] and "coach  Cadence 176. Up to 180." in big["sensor"]
    assert "Metronome" in big["click"] and "2262 clicks" in big["click"] and "next" not in big["click"]
    # the 40x12 panel still has the split (the tester's "time left disappears" at 40x12: see above)
    assert "400 m in 1:26" in "\n".join(draw(s["work"][0], 40, 12))


def test_below_40x12_a_few_plain_lines_never_a_crash(track: Timeline) -> None:
    for snap, clock, _rep, _cadence in states(track).values():
        for width, height in [(39, 12), (40, 11), (30, 8), (20, 3), (12, 1), (1, 1), (0, 0)]:
            lines = live_view.frame_lines(snap, HELP_RUN, width, height)
            assert len(lines) <= max(height, 0)
            assert all(line.cell_len <= width for line in lines)
            if width >= 20 and height >= 1:
                assert lines[0].plain.startswith(clock)


def test_the_panel_does_not_move_from_the_lead_in_to_the_first_step(track: Timeline) -> None:
    p = _Player(track)
    for width, height in SIZES:
        frames = []
        for pos in (-1, 0, SR // 2):  # the last sample of the lead-in, the first of the warm-up
            p.pos = pos
            frames.append(draw(live_view.snapshot(p), width, height))
        for lines in frames:
            assert cell_len(lines[0]) == width
            assert all(ln[0] in "╭│╰" and ln[-1] in "╮│╯" for ln in lines), lines
        # the digits start in the same column, the labels too
        cols = [ink_column(f) for f in frames]
        assert cols == [2, 2, 2], cols
        for f in frames:
            nxt = [ln for ln in f if "next" in ln]
            assert not nxt or nxt[0].index("next") == 2


def test_the_time_left_is_a_countdown(track: Timeline) -> None:
    p = _Player(track)
    for seconds, shown in [(0, "5:00"), (0.2, "5:00"), (1.0, "4:59"), (299.5, "0:01")]:
        p.pos = at(track, 0, seconds)
        assert shown in big_digits.read(draw(live_view.snapshot(p), 80, 24))


def test_hour_long_steps_fit_at_40x12() -> None:
    w = load_workout_text("name: Long\ncadence: 170\nsteps:\n  - run: 120min\n", "long.yaml")
    tl = compile_workout(w, SR, None, CompileOptions(voice_mode="off"))
    p = _Player(tl)
    p.pos = at(tl, 0, 1)
    for width, height in SIZES:
        lines = draw(live_view.snapshot(p), width, height)
        assert "1:59:59" in big_digits.read(lines) and "170 spm" in "\n".join(lines)
        assert all(cell_len(ln) <= width for ln in lines)


# ------------------------------------------------------------------------------------------- keys


def test_the_keys_line_fits_and_never_wraps() -> None:
    for width in range(10, 130):
        for keys in (HELP_RUN, HELP_STRING):
            line = live_view.keys_line(keys, width)
            assert cell_len(line) <= width and line.count("\n") == 0
            if width >= 7:
                assert "q quit" in line
    assert live_view.keys_line(HELP_STRING, 80) == HELP_STRING
    at_80 = live_view.keys_line(HELP_RUN, 76)  # the 80x24 panel's line: closer together, short words, fewer keys
    assert cell_len(at_80) <= 76 and at_80.startswith("space pause") and at_80.endswith("q quit")


def test_click_mode_offers_no_step_keys(track: Timeline) -> None:
    snap = states(track)["click"][0]
    for keys in (HELP_STRING, HELP_RUN, HELP_CLICK):
        for width, height in SIZES:
            row = key_rows(draw(snap, width, height, keys))[0]
            assert "next step" not in row and " lap" not in row and "back" not in row and "n/→" not in row, row
    assert live_view.key_items(HELP_RUN, "click") == HELP_CLICK


# ----------------------------------------------------------------------------------------- colours


def _brightness(style: Style) -> float:
    color = style.color or Color.parse("white")
    r, g, b = color.get_truecolor(DEFAULT_TERMINAL_THEME)
    light = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return light * (1.3 if style.bold else 1.0) * (0.5 if style.dim else 1.0)


def _digit_style(snap: live_view.Snapshot) -> Style:
    con = terminal.console(file=io.StringIO(), width=80, height=24)
    for line in live_view.frame_lines(snap, "", 80, 24):
        if "█" in line.plain:
            col = line.plain.index("█")
            styles = [line.style] + [span.style for span in line.spans if span.start <= col < span.end]
            return Style.combine(con.get_style(style) for style in styles)
    raise AssertionError("no digits")


def test_work_and_rest_differ_in_brightness_not_only_hue(track: Timeline, monkeypatch: pytest.MonkeyPatch) -> None:
    s = states(track)
    p = _Player(track)
    p.pos = at(track, 0, 10)
    work, rest, easy = _digit_style(s["work"][0]), _digit_style(s["rest"][0]), _digit_style(live_view.snapshot(p))
    assert work.bold and not work.dim and rest.dim and not rest.bold and not easy.bold and not easy.dim
    assert _brightness(work) > _brightness(easy) > _brightness(rest)
    # NO_COLOR: the colours go, bold and dim stay (what the terminal is sent)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, attribute in (("work", 1), ("rest", 2)):
        player = _Player(track, out=io.StringIO())
        player.pos = s[name][0].pos
        frame = live_view.LiveDisplay(player).frame(80, 24)
        sgr = [{int(x or 0) for x in m.split(";")} for m in re.findall(r"\x1b\[([0-9;]*)m", frame)]
        assert any(attribute in params for params in sgr), name
        assert not any(30 <= x <= 49 or 90 <= x <= 107 for params in sgr for x in params), name


# --------------------------------------------------------------------------------------- the plain lines


def test_plain_lines_carry_the_split_belt_speed_and_incline(track: Timeline) -> None:
    for unit, speed in (("kmh", "16.7 km/h"), ("mph", "10.4 mph")):
        out = io.StringIO()
        p = _Player(track, out=out)
        p.config.show_live = False
        lines = live_view.display_for(p, HELP_RUN, treadmill=True, speed_unit=unit)
        assert isinstance(lines, live_view.ProgressLines)
        for pos in (at(track, 0, 0), at(track, 1, 0), at(track, 1, 20), at(track, 2, 0)):
            p.pos = pos
            lines.update()
        text = out.getvalue().splitlines()
        assert text[0] == "[0:00] Warm-up (5:00), 180 spm"
        assert text[1] == f"[5:00] Run 1 of 10 — 3:35/km (1:26), 400 m in 1:26, {speed}, incline 4 %, 180 spm"
        assert text[2] == "[6:26] Recover 1 of 10 (1:00), 160 spm"
        assert len(text) == 3
    # without the treadmill: the split and the incline, no belt speed
    out = io.StringIO()
    p = _Player(track, out=out)
    lines = live_view.ProgressLines(p)
    p.pos = at(track, 1, 0)
    lines.update()
    assert out.getvalue() == "[5:00] Run 1 of 10 — 3:35/km (1:26), 400 m in 1:26, incline 4 %, 180 spm\n"


def test_the_split_is_in_the_unit_the_workout_wrote() -> None:
    w = load_workout_text(UNITS, "units.yaml")
    tl = compile_workout(w, SR, None, CompileOptions(voice_mode="off"))
    p = _Player(tl)
    got = []
    for i in range(4):
        p.pos = at(tl, i, 1)
        s = live_view.snapshot(p, treadmill=True, speed_unit="mph")
        got.append(" · ".join(live_view.target_parts(s)))
    assert got == [
        "1 mi in 6:12 · 3:51/km · 9.7 mph",
        "1 km in 3:35 · 3:35/km · 10.4 mph",
        "4:30/km · 8.3 mph",  # a time step: the pace alone
        "",
    ]


def test_plain_lines_say_confirmations_mutes_and_volume_once(track: Timeline) -> None:
    out = io.StringIO()
    p: Any = _Player(track, out=out)
    lines = live_view.ProgressLines(p)
    p.pos = at(track, 0, 40)
    lines.update()
    p.volume, p.last_said = 0.71, (41.2, "Volume down")
    p.pos = at(track, 0, 42)
    lines.update()
    lines.update()  # nothing new: nothing printed
    p.click_enabled = False
    p.last_said = (43.0, "Click \x1b[2J off")
    p.pos = at(track, 0, 43)
    lines.update()
    assert out.getvalue().splitlines() == [
        "[0:40] Warm-up (5:00), 180 spm",
        "[0:41] said: Volume down",
        "[0:42] volume 71 %",
        "[0:43] said: Click \\x1b[2J off",
        "[0:43] click muted",
    ]


def test_the_panel_shows_volume_and_what_was_said_for_a_few_seconds(track: Timeline) -> None:
    p: Any = _Player(track)
    p.pos = at(track, 0, 42)
    p.volume, p.last_said = 0.5, (40.0, "Cadence [bold]188[/]")
    text = "\n".join(draw(live_view.snapshot(p), 80, 24))
    assert "volume 50 %" in text and "said   Cadence [bold]188[/]" in text
    p.pos = at(track, 0, 40 + live_view.SAID_SHOWN_S + 1)
    assert "said" not in "\n".join(draw(live_view.snapshot(p), 80, 24))


# -------------------------------------------------------------------------------------------- hypothesis

LABELS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    label=LABELS,
    name=LABELS,
    effort=st.none() | LABELS,
    width=st.integers(40, 200),
    height=st.integers(12, 60),
    which=st.sampled_from(["lead-in", "work", "rest", "paused", "sensor", "click"]),
)
def test_any_label_at_any_size_renders_within_the_width(
    track: Timeline, label: str, name: str, effort: str | None, width: int, height: int, which: str
) -> None:
    snap = _STATES[which]
    steps = {"step": snap.step, "next_step": snap.next_step}
    changed = {k: replace(v, label=label, effort=effort) for k, v in steps.items() if v is not None}
    snap = replace(snap, name=name, **changed)
    lines = live_view.frame_lines(snap, HELP_RUN, width, height)
    assert 3 <= len(lines) <= height
    assert all(line.cell_len == width for line in lines)
    for line in lines:
        assert "\n" not in line.plain and "\x1b" not in line.plain
    rendered = draw(snap, width, height)
    assert all(cell_len(ln) <= width for ln in rendered)


@pytest.fixture(scope="module", autouse=True)
def _states(track: Timeline) -> None:
    _STATES.update({name: v[0] for name, v in states(track).items()})


_STATES: dict[str, live_view.Snapshot] = {}


# ------------------------------------------------------------------------------------- the live display


class _Screen:
    """A terminal emulator (pyte) that the display writes to. A resize keeps what fits from the top left, as
    xterm does (pyte's own drops lines from the top), so what a redraw leaves behind stays to be seen."""

    def __init__(self, width: int, height: int) -> None:
        self.pyte = pytest.importorskip("pyte")
        self.screen = self.pyte.Screen(width, height)
        self.stream = self.pyte.Stream(self.screen)

    def resize(self, width: int, height: int) -> None:
        old = self.screen
        new = self.pyte.Screen(width, height)
        for y in range(min(height, old.lines)):
            for x in range(min(width, old.columns)):
                new.buffer[y][x] = old.buffer[y][x]
        new.cursor.x, new.cursor.y = min(old.cursor.x, width - 1), min(old.cursor.y, height - 1)
        self.screen = new
        self.stream = self.pyte.Stream(new)

    def feed(self, text: str) -> None:
        self.stream.feed(text)

    def rows(self) -> list[str]:
        return [row.rstrip() for row in self.screen.display]


def check_frame(rows: list[str], width: int) -> None:
    """Every non-blank row belongs to one panel of the full width; nothing below it."""
    assert rows[0].startswith("╭") and cell_len(rows[0]) == width and rows[0].endswith("╮"), rows
    bottom = next(i for i, r in enumerate(rows) if r.startswith("╰"))
    assert cell_len(rows[bottom]) == width and rows[bottom].endswith("╯"), rows
    for r in rows[1:bottom]:
        assert r.startswith("│") and r.endswith("│") and cell_len(r) == width, rows
    assert all(not r.strip() for r in rows[bottom + 1 :]), rows


def test_the_display_redraws_cleanly_after_resizes(track: Timeline, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    p = _Player(track, out=out)
    p.pos = -3 * SR
    shown = live_view.display_for(p, HELP_RUN, treadmill=True)
    assert isinstance(shown, live_view.LiveDisplay)
    size = [120, 40]
    monkeypatch.setattr(shown, "size", lambda: tuple(size))
    old = signal.getsignal(signal.SIGWINCH)
    screen = _Screen(120, 40)
    shown.on_start(p)
    assert signal.getsignal(signal.SIGWINCH) == shown._on_winch  # only while shown
    assert out.getvalue().startswith(live_view.ALT_SCREEN_ON)
    written = 0

    def flush() -> list[str]:
        nonlocal written
        screen.feed(out.getvalue()[written:])
        written = len(out.getvalue())
        return screen.rows()

    rows = flush()
    check_frame(rows, 120)
    assert "0:03" in big_digits.read(rows)
    p.pos = at(track, 1, 20)
    for width, height in [(40, 12), (100, 30), (80, 24), (60, 20), (200, 60), (40, 12)]:
        # the terminal changes size (as an xterm does: it keeps what it can), then SIGWINCH
        screen.resize(width, height)
        size[:] = [width, height]
        os.kill(os.getpid(), signal.SIGWINCH)
        assert shown._resized
        shown.on_tick(p)  # redrawn at once, whatever the refresh rate
        rows = flush()
        check_frame(rows, width)
        assert "1:06" in big_digits.read(rows) and "Rep 1 of 10" in "\n".join(rows)
        frames = shown.frames
        shown._next = 0.0
        shown.on_tick(p)
        assert shown.frames == frames  # nothing changed: nothing written
    shown.on_end(p)
    assert signal.getsignal(signal.SIGWINCH) == old
    tail = out.getvalue()[written:]
    assert tail.startswith(live_view.ALT_SCREEN_OFF)
    final = tail[len(live_view.ALT_SCREEN_OFF) :]
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", final)
    assert "Track 10x400" in plain and "Rep 1 of 10" in plain and "180 spm" in plain and "quit" not in plain


def test_the_panel_on_a_terminal_shows_each_step_and_the_same_columns(track: Timeline) -> None:
    """The frames the display writes, on an 80x24 emulator: the lead-in, the warm-up, the first rep."""
    out = io.StringIO()
    p = _Player(track, out=out)
    shown = live_view.LiveDisplay(p, HELP_STRING)
    shown.size = lambda: (80, 24)  # type: ignore[method-assign]
    screen = _Screen(80, 24)
    seen = []
    p.pos = -SR // 2
    shown.on_start(p)
    for pos in (0, at(track, 1, 20)):
        screen.feed(out.getvalue())
        out.seek(0)
        out.truncate()
        seen.append(screen.rows())
        p.pos = pos
        shown._next = 0.0
        shown.on_tick(p)
    screen.feed(out.getvalue())
    seen.append(screen.rows())
    for rows in seen:
        check_frame(rows, 80)
        assert "quit" in "\n".join(rows)
    assert big_digits.read(seen[0]) == ["0:01"] and big_digits.read(seen[1]) == ["5:00"]
    assert big_digits.read(seen[2]) == ["1:06"]
    assert [ink_column(rows) for rows in seen] == [2, 2, 2]


def test_no_sigwinch_handler_outside_the_main_thread(track: Timeline) -> None:
    import threading

    out = io.StringIO()
    p = _Player(track, out=out)
    shown = live_view.LiveDisplay(p)
    old = signal.getsignal(signal.SIGWINCH)
    t = threading.Thread(target=lambda: (shown.on_start(p), shown.on_end(p)))
    t.start()
    t.join()
    assert signal.getsignal(signal.SIGWINCH) == old and not shown._winch
    assert "Track 10x400" in out.getvalue()


def test_bad_speed_unit_is_refused(track: Timeline) -> None:
    with pytest.raises(ValueError, match="kmh"):
        live_view.display_for(_Player(track), speed_unit="knots")


# ----------------------------------------------------------------------------------------- settings


def test_settings_treadmill_and_speed_unit(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('treadmill = true\nspeed_unit = "MPH"\n')
    s = load_settings(path)
    assert s.treadmill is True and s.speed_unit == "mph"
    path.write_text('treadmill = false\nspeed_unit = "kmh"\n')
    s = load_settings(path)
    assert s.treadmill is False and s.speed_unit == "kmh"
    path.write_text('voice_engine = "tones"\n')
    s = load_settings(path)
    assert s.treadmill is None and s.speed_unit is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('treadmill = "yes"', "treadmill must be true or false"),
        ("treadmill = 1", "treadmill must be true or false"),
        ('speed_unit = "knots"', 'speed_unit must be "kmh" or "mph"'),
        ("speed_unit = 3", 'speed_unit must be "kmh" or "mph"'),
        ('speed_unit = "km/h"', 'speed_unit must be "kmh" or "mph"'),
    ],
)
def test_bad_settings_values_name_the_file(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(line + "\n")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message
