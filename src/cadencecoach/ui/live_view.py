"""What the live player shows while it plays: a full-screen panel for a glance at arm's length on a terminal
(:class:`LiveDisplay`), else plain progress lines (:class:`ProgressLines`).

Both are observers of the player (``sinks.live.player.PlayerObserver``: ``on_start``, ``on_step``,
``on_tick``, ``on_end``) and run in its main thread; :func:`display_for` picks one. They read the player
through :class:`PlayerView` (this module imports nothing of the player, and changes nothing of it) into a
:class:`Snapshot`; everything drawn comes from the snapshot (:func:`frame_lines`).

The panel
    Drawn on the terminal's alternate screen, every row of it at every redraw (cursor addressed, the rest of
    each row and the rows below erased), REFRESH_HZ times a second at most and only when something changed,
    so nothing of an earlier frame can survive: a resize (SIGWINCH, handled only while shown and only in the
    main thread; the handler just marks it) clears the screen and redraws at the new size at the next tick.
    Its layout follows the size (:func:`layout_for`): from 80x24 the step's time left in 5-row block digits
    (10 rows from 86x30), "Rep 3 of 10", the cadence, a progress bar, the target ("400 m in 1:26", the pace,
    the treadmill's belt speed and incline), the next step, the time elapsed and to go, the footpod, the
    coach's remark or the player's spoken confirmation, the flags and the keys; from 40x12 the same with
    3-row digits, rows dropped by importance when the height is short; below that a few plain lines. The
    panel spans the whole width and its contents sit at fixed columns, so nothing moves from the lead-in to
    the first step. Work, rest and warm-up/cool-down differ in brightness as well as hue (:data:`TONE_STYLES`:
    bold, plain, dim), which survives ``NO_COLOR``. The keys line is fitted to the width (:func:`keys_line`),
    never wrapped. When playing ends the normal screen comes back with the last state printed once as a
    compact panel; the summary line follows it.

The plain lines
    One per step change (the step, its length, the target split, belt speed and incline, the cadence), one
    every PROGRESS_EVERY_S seconds, and one for each pause/resume, mute, volume change, coach's remark and
    spoken confirmation; no escape sequences.

The workout's name and its steps' labels, pace names and efforts came from a file: both displays show them
through :func:`cadencecoach.terminal.safe_text` (the panel as rich ``Text``, never parsed as markup), so
nothing in a shared workout acts on the terminal.
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import numpy as np

from cadencecoach.core.edits import cadence_now
from cadencecoach.core.timeline import TimedStep, Timeline
from cadencecoach.terminal import safe_text
from cadencecoach.ui import big_digits

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.text import Text

REFRESH_HZ = 8  # live display refreshes per second (at most; a frame is only written when it changed)
PROGRESS_EVERY_S = 30  # plain progress lines (no TTY): at every step change and this often
DUMB_TERMINALS = ("dumb", "unknown")  # TERM values that cannot redraw (rich's Console.is_dumb_terminal)
REMARK_SHOWN_S = 10  # the panel shows the coach's latest remark this long
SAID_SHOWN_S = 5  # ... and the player's spoken confirmation ("Paused") this long
BIG_SIZE = (80, 24)  # from this size (columns, rows): 5-row digits and every line
COMPACT_SIZE = (40, 12)  # from this size: 3-row digits, the lines that fit; below it a few plain lines
SCALE2_ROWS = 30  # from this many rows (and the width for them): 10-row digits
SPEED_UNITS = ("kmh", "mph")
KM_PER_MILE = 1.609344
WORK_KINDS = frozenset({"run"})
REST_KINDS = frozenset({"recover", "rest", "walk"})
TONE_STYLES = {"work": "bold bright_yellow", "easy": "cyan", "rest": "dim white", "idle": "bold"}
"""How a step's label and digits look: work (bold, bright), warm-up/cool-down (plain), rest (dim); the lead-in
and the end (``idle``). Brightness differs, not only hue, so the difference survives NO_COLOR."""
BORDER_STYLES = {"work": "bright_yellow", "easy": "cyan", "rest": "grey50", "idle": "grey50"}
KeysHelp = str | Sequence[tuple[str, str]]
"""The keys line: ``"space pause · n lap · q quit"`` or ``[("space", "pause"), ("n", "lap"), ("q", "quit")]``."""


class _Config(Protocol):
    @property
    def mode(self) -> str: ...

    @property
    def show_live(self) -> bool | None: ...

    @property
    def out(self) -> TextIO | None: ...


class _Engine(Protocol):
    @property
    def want_pause(self) -> bool: ...

    @property
    def underflows(self) -> int: ...


class _Keys(Protocol):
    @property
    def active(self) -> bool: ...


class PlayerView(Protocol):
    """What the display reads of ``sinks.live.player.LivePlayer`` (main thread). It also reads, when the
    player has them, ``volume`` (float, 1.0 = full) and ``last_said`` (``(seconds into the workout, text)``:
    the last spoken confirmation of a key, or None)."""

    @property
    def timeline(self) -> Timeline: ...

    @property
    def config(self) -> _Config: ...

    @property
    def engine(self) -> _Engine: ...

    @property
    def keys(self) -> _Keys | None: ...

    @property
    def click_enabled(self) -> bool: ...

    @property
    def voice_enabled(self) -> bool: ...

    def position(self) -> int: ...


class SensorState(Protocol):
    """What the display shows of a footpod or replay (``sensors.coach.SensorStatus``)."""

    @property
    def name(self) -> str: ...

    @property
    def state(self) -> str: ...  # "searching", "live", "lost", "ended", "failed"

    @property
    def measured(self) -> float | None: ...

    @property
    def tolerance(self) -> float: ...

    @property
    def note(self) -> str | None: ...

    @property
    def step_distance_m(self) -> float | None: ...

    @property
    def last_remark(self) -> tuple[float, str] | None: ...  # (seconds into the workout, what the coach said)


class SensorView(Protocol):
    """The live coach as the display reads it (``sensors.coach.SensorCoach``)."""

    def status(self) -> SensorState: ...


def _step_text(step: TimedStep) -> str:
    """The step as the displays show it (safe for a terminal; not rich markup)."""
    from cadencecoach.workout.units import format_pace_per_km

    text = step.label
    if step.rep:
        text += f" {step.rep[0]} of {step.rep[1]}"
    extra = []
    if step.pace_s_per_km is not None:
        extra.append((f"{step.pace_name} " if step.pace_name else "") + format_pace_per_km(step.pace_s_per_km))
    if step.effort:
        extra.append(step.effort)
    if extra:
        text += " — " + ", ".join(extra)
    return safe_text(text)


@dataclass
class Snapshot:
    """What the display shows, read once per refresh from the player (main thread)."""

    name: str
    mode: str
    pos: int
    sample_rate: int
    step: TimedStep | None
    next_step: TimedStep | None
    cadence: float | None
    elapsed: float
    remaining: float
    lead_in_left: float
    paused: bool
    click_muted: bool
    voice_muted: bool
    clicks: int
    underflows: int
    sensor: SensorState | None = None
    written: str | None = None  # the step's distance as the workout wrote it ("400 m", "1 mi"); None: a time
    treadmill: bool = False  # show the belt speed of the step's pace
    speed_unit: str = "kmh"  # ... in "kmh" or "mph"
    volume: float = 1.0  # the player's volume (1.0: full)
    said: tuple[float, str] | None = None  # the player's last spoken confirmation: (seconds in, text)


def _start(step: TimedStep) -> int:
    return step.start


def _written(tl: Timeline, step: TimedStep) -> str | None:
    """The step's distance in the unit its workout wrote (``400 m``, ``1.5 km``, ``1 mi``); None for a time."""
    from cadencecoach.workout.units import written_extent

    segs = tl.segments
    j = bisect.bisect_right(segs, step.start_s, key=lambda seg: seg.start) - 1
    while j >= 0 and segs[j].flat.index != step.index and segs[j].start >= step.start_s:
        j -= 1  # a zero-length step starting where this one does
    if j < 0 or segs[j].flat.index != step.index:
        return None
    extent = segs[j].flat.step.extent
    return None if extent.is_time else written_extent(extent)


def snapshot(
    player: PlayerView, sensor: SensorView | None = None, *, treadmill: bool = False, speed_unit: str = "kmh"
) -> Snapshot:
    """What the display shows now, read from `player` (and the sensor coach's status)."""
    tl = player.timeline
    sr = tl.sample_rate
    pos = player.position()
    step = tl.step_at(pos)
    nxt = None
    steps = tl.steps
    if step is not None:
        i = max(bisect.bisect_right(steps, pos, key=_start) - 1, 0)
        if steps[i] is not step:
            i = steps.index(step)
        nxt = steps[i + 1] if i + 1 < len(steps) else None
    elif pos < 0 and steps:
        nxt = steps[0]
    e = player.engine
    try:
        volume = float(getattr(player, "volume", 1.0))
    except (TypeError, ValueError):
        volume = 1.0
    said = getattr(player, "last_said", None)
    if not (isinstance(said, tuple) and len(said) == 2):
        said = None
    return Snapshot(
        name=tl.name,
        mode=player.config.mode,
        pos=pos,
        sample_rate=sr,
        step=step,
        next_step=nxt,
        cadence=cadence_now(tl, pos) if step is not None and step.click else None,
        elapsed=max(pos, 0) / sr,
        remaining=max(tl.end - max(pos, 0), 0) / sr,
        lead_in_left=max(-pos, 0) / sr,
        paused=e.want_pause,
        click_muted=not player.click_enabled,
        voice_muted=not player.voice_enabled,
        clicks=int(np.searchsorted(tl.clicks, pos, side="left")),
        underflows=e.underflows,
        sensor=sensor.status() if sensor is not None else None,
        written=_written(tl, step) if step is not None and step.distance_m is not None else None,
        treadmill=treadmill,
        speed_unit=speed_unit,
        volume=volume,
        said=said,
    )


# ------------------------------------------------------------------------------------------- facts


def feet_text(s: Snapshot) -> tuple[str, str] | None:
    """The sensor's line: ``("you", "176 spm  ·  312 m")`` and its style; None without a sensor.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> snap = NS(sensor=NS(name="replay run.csv", state="live", measured=175.6, tolerance=4.0, note=None,
    ...           step_distance_m=312.4), cadence=180.0)
    >>> feet_text(snap)
    ('176 spm  ·  312 m', 'bold yellow')
    """
    sensor = s.sensor
    if sensor is None:
        return None
    if sensor.state != "live" or sensor.measured is None:
        what = {"searching": "searching", "lost": "lost", "ended": "replay ended", "failed": "unavailable"}
        text = f"{safe_text(sensor.name)}: {what.get(sensor.state, sensor.state)}"
        if sensor.note:
            text += f" ({safe_text(sensor.note)})"
        return text, "dim" if sensor.state == "searching" else "yellow"
    text = f"{sensor.measured:.0f} spm"
    if sensor.step_distance_m is not None:
        text += f"  ·  {sensor.step_distance_m:.0f} m"
    if sensor.note:
        text += f"  ·  {safe_text(sensor.note)}"
    style = "bold green"
    if s.cadence is not None and abs(sensor.measured - s.cadence) > sensor.tolerance:
        style = "bold yellow"
    return text, style


def tone(kind: str | None) -> str:
    """``work`` (run), ``rest`` (recover, rest, walk), ``easy`` (warm-up, cool-down, anything else) or ``idle``
    (no step: the lead-in, the end); :data:`TONE_STYLES` says how each looks."""
    if kind is None:
        return "idle"
    if kind in WORK_KINDS:
        return "work"
    if kind in REST_KINDS:
        return "rest"
    return "easy"


def split_text(step: TimedStep | None, written: str | None) -> str | None:
    """The target split of a distance step with a pace, in the workout's unit; None otherwise.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> split_text(NS(distance_m=400.0, pace_s_per_km=215.0), "400 m")
    '400 m in 1:26'
    >>> split_text(NS(distance_m=1609.344, pace_s_per_km=231.2), "1 mi")
    '1 mi in 6:12'
    >>> split_text(NS(distance_m=None, pace_s_per_km=215.0), None) is None
    True
    """
    from cadencecoach.workout.units import format_clock

    if step is None or written is None or step.distance_m is None or step.pace_s_per_km is None:
        return None
    return f"{written} in {format_clock(step.distance_m * step.pace_s_per_km / 1000)}"


def belt_text(pace_s_per_km: float, unit: str = "kmh") -> str:
    """A treadmill's belt speed for a pace: km/h (``unit="kmh"``) or miles per hour (``"mph"``).

    Examples
    --------
    >>> belt_text(290.3), belt_text(290.3, "mph"), belt_text(215.0)
    ('12.4 km/h', '7.7 mph', '16.7 km/h')
    """
    kmh = 3600.0 / pace_s_per_km if pace_s_per_km > 0 else 0.0
    if unit == "mph":
        return f"{kmh / KM_PER_MILE:.1f} mph"
    return f"{kmh:.1f} km/h"


def incline_text(grade: Fraction | float) -> str:
    """``incline 4 %``, ``incline 1.5 %``, ``incline -2 %``.

    >>> incline_text(Fraction(4)), incline_text(Fraction(3, 2)), incline_text(-2)
    ('incline 4 %', 'incline 1.5 %', 'incline -2 %')
    """
    from cadencecoach.workout.units import number_text

    return f"incline {number_text(Fraction(grade).limit_denominator(1000))} %"


def step_facts(s: Snapshot) -> list[str]:
    """What the plain step line adds to the step's own text: the split, the heart-rate target, the belt speed
    (treadmill) and the incline (each safe for a terminal)."""
    step = s.step
    if step is None or s.mode == "click":
        return []
    out = []
    split = split_text(step, s.written)
    if split:
        out.append(split)
    if step.heart_rate:
        out.append(step.heart_rate)
    if s.treadmill and step.pace_s_per_km is not None:
        out.append(belt_text(step.pace_s_per_km, s.speed_unit))
    if step.incline is not None:
        out.append(incline_text(step.incline))
    return [safe_text(x) for x in out]


def target_parts(s: Snapshot) -> list[str]:
    """The panel's target line: the split (a distance step) or the pace, the effort, the heart-rate target,
    the belt speed (treadmill) and the incline."""
    from cadencecoach.workout.units import format_pace_per_km

    step = s.step
    if step is None or s.mode == "click":
        return []
    out = []
    split = split_text(step, s.written)
    if split:
        out.append(split)
    if step.pace_s_per_km is not None:
        out.append((f"{step.pace_name} " if step.pace_name else "") + format_pace_per_km(step.pace_s_per_km))
    if step.effort:
        out.append(step.effort)
    if step.heart_rate:
        out.append(step.heart_rate)
    if s.treadmill and step.pace_s_per_km is not None:
        out.append(belt_text(step.pace_s_per_km, s.speed_unit))
    if step.incline is not None:
        out.append(incline_text(step.incline))
    return [safe_text(x) for x in out]


def flag_items(s: Snapshot) -> list[tuple[str, str]]:
    """The flags after the step's lines, with their styles (PAUSED is shown in the header)."""
    out = []
    if s.click_muted:
        out.append(("click muted", "yellow"))
    if s.voice_muted:
        out.append(("voice muted", "yellow"))
    if abs(s.volume - 1.0) >= 0.005:
        out.append((f"volume {round(s.volume * 100)} %", "yellow"))
    if s.underflows:
        out.append((f"{s.underflows} underflows", "red"))
    return out


def _recent(said: tuple[float, str] | None, now: float, shown: float) -> str | None:
    if said is None:
        return None
    try:
        at = float(said[0])
    except (TypeError, ValueError):
        return None
    return safe_text(said[1]) if 0 <= now - at < shown else None


# -------------------------------------------------------------------------------------------- keys

_KEY_RANK = {"q": 0, "space": 1, "n": 2, "n/→": 2, "+/-": 3, "p": 4, "p/←": 4, "↑/↓": 5, "i": 6, "c": 7, "v": 8}
"""Which keys stay when the line is short (lower first); others after these, in their order."""
_SHORT = {"next step": "lap", "cadence·rest": "cad", "cadence": "cad", "volume": "vol", "status": "info"}
_STEP_KEYS = frozenset({"n", "n/→", "→", "right", "p", "p/←", "←", "left"})
_STEP_WORDS = frozenset({"lap", "next step", "back", "previous step"})


def key_items(keys_help: KeysHelp, mode: str = "run") -> list[tuple[str, str]]:
    """The keys line as ``(key, what)`` pairs (a string is split at `` · ``); in ``click`` mode without the
    keys that move between steps (there are none).

    >>> key_items("space pause · n/→ next step · q quit", "click")
    [('space', 'pause'), ('q', 'quit')]
    """
    items: list[tuple[str, str]] = []
    if isinstance(keys_help, str):
        for part in keys_help.split(" · "):
            key, _, what = part.strip().partition(" ")
            if key:
                items.append((key, what.strip()))
    else:
        items = [(str(k), str(w)) for k, w in keys_help]
    if mode == "click":
        items = [(k, w) for k, w in items if k not in _STEP_KEYS and w not in _STEP_WORDS]
    return [(safe_text(k), safe_text(w)) for k, w in items]


def keys_line(keys_help: KeysHelp, width: int, mode: str = "run") -> str:
    """The keys line in at most `width` cells: as given, else closer together, else with short words, else
    without the least important keys (``q quit`` stays longest); never wrapped.

    Examples
    --------
    >>> help = [("space", "pause"), ("n", "lap"), ("+/-", "cadence"), ("c", "click"), ("v", "voice"), ("q", "quit")]
    >>> keys_line(help, 80)
    'space pause · n lap · +/- cadence · c click · v voice · q quit'
    >>> keys_line(help, 55)
    'space pause  n lap  +/- cad  c click  v voice  q quit'
    >>> keys_line(help, 30)
    'space pause  n lap  q quit'
    >>> keys_line(help, 30, "click")
    'space pause  +/- cad  q quit'
    """
    from rich.cells import cell_len

    items = key_items(keys_help, mode)
    if not items or width <= 0:
        return ""

    def join(its: list[tuple[str, str]], sep: str, short: bool) -> str:
        return sep.join(f"{k} {_SHORT.get(w, w) if short else w}".strip() for k, w in its)

    for sep, short in ((" · ", False), ("  ", False), (" · ", True), ("  ", True)):
        text = join(items, sep, short)
        if cell_len(text) <= width:
            return text
    order = sorted(range(len(items)), key=lambda i: (_KEY_RANK.get(items[i][0], len(_KEY_RANK)), i))
    while len(order) > 1:
        order.pop()  # the least important left
        text = join([items[i] for i in sorted(order)], "  ", True)
        if cell_len(text) <= width:
            return text
    return _cut(join([items[order[0]]], "  ", True), width)


def _cut(text: str, width: int) -> str:
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    if width <= 1:
        return set_cell_size(text, max(width, 0))
    return set_cell_size(text, width - 1).rstrip() + "…"


# ------------------------------------------------------------------------------------------ layout


def layout_for(width: int, height: int) -> str:
    """``big`` (from 80x24), ``compact`` (from 40x12) or ``lines`` (smaller): the panel for a terminal size.

    >>> layout_for(80, 24), layout_for(79, 40), layout_for(40, 12), layout_for(120, 11)
    ('big', 'compact', 'compact', 'lines')
    """
    if width >= BIG_SIZE[0] and height >= BIG_SIZE[1]:
        return "big"
    if width >= COMPACT_SIZE[0] and height >= COMPACT_SIZE[1]:
        return "compact"
    return "lines"


def _ceil_clock(seconds: float) -> str:
    """Time left as a countdown shows it: ``0:01`` until it is over."""
    from cadencecoach.workout.units import format_clock

    return format_clock(max(math.ceil(seconds - 1e-6), 0))


@dataclass
class _View:
    """The snapshot as the layouts draw it."""

    title: str
    head: str
    tone: str
    clock: str  # the big digits: time left (the lead-in's, the step's), or the metronome's time
    rep: str | None = None  # "Rep 3 of 10" (the metronome: "412 clicks")
    rep_short: str | None = None  # "3/10"
    cadence: str | None = None  # "180 spm" / "no click"
    cadence_style: str = "bold"
    progress: float | None = None
    length: str | None = None
    target: list[str] = field(default_factory=list)
    next: str | None = None
    time: str | None = None
    feet: tuple[str, str] | None = None
    remarks: list[tuple[str, str]] = field(default_factory=list)  # ("coach", text), ("said", text)
    flags: list[tuple[str, str]] = field(default_factory=list)
    paused: bool = False


def _view(s: Snapshot) -> _View:
    from cadencecoach.workout.units import format_clock

    step = s.step
    v = _View(title=safe_text(s.name), head="", tone="idle", clock="0:00", paused=s.paused)
    if s.pos < 0:
        v.head, v.clock = "Starting", _ceil_clock(s.lead_in_left)
    elif step is None:
        v.head = "Finished"
    elif s.mode == "click":
        v.head, v.tone = "Metronome", tone(step.kind)
        v.clock = format_clock(s.elapsed, truncate=True)
        v.rep = v.rep_short = f"{s.clicks} clicks"
    else:
        v.head, v.tone = safe_text(step.label), tone(step.kind)
        total = max(step.end - step.start, 1)
        v.clock = _ceil_clock(max(step.end - s.pos, 0) / s.sample_rate)
        v.progress = min(max(s.pos - step.start, 0) / total, 1.0)
        v.length = format_clock(float(step.end_s - step.start_s))
        if step.rep:
            v.rep, v.rep_short = f"Rep {step.rep[0]} of {step.rep[1]}", f"{step.rep[0]}/{step.rep[1]}"
    if s.cadence is not None:
        v.cadence, v.cadence_style = f"{s.cadence:.0f} spm", "bold cyan"
    elif step is not None:
        v.cadence, v.cadence_style = "no click", "dim"
    v.target = target_parts(s)
    if s.mode != "click":
        if s.next_step is not None:
            length = format_clock(float(s.next_step.end_s - s.next_step.start_s))
            v.next = f"{_step_text(s.next_step)} ({length})"
        v.time = f"{format_clock(s.elapsed, truncate=True)} elapsed · {_ceil_clock(s.remaining)} to go"
    v.feet = feet_text(s)
    remark = _recent(s.sensor.last_remark, s.elapsed, REMARK_SHOWN_S) if s.sensor is not None else None
    if remark:
        v.remarks.append(("coach", remark))
    said = _recent(s.said, s.elapsed, SAID_SHOWN_S)
    if said:
        v.remarks.append(("said", said))
    v.flags = flag_items(s)
    return v


def _text(text: str = "", style: str = "") -> Text:
    from rich.text import Text

    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def _fit(line: Text, width: int) -> Text:
    """`line` cut to `width` cells (an ellipsis at the cut)."""
    if line.cell_len <= width:
        return line
    out = line.copy()
    if width <= 1:
        out.truncate(max(width, 0))
    else:
        out.truncate(width, overflow="ellipsis")
    return out


def _labelled(label: str, body: Text, col: int, width: int) -> Text:
    line = _text(f"{label:<{col}}", "dim")
    line.append_text(body)
    return _fit(line, width)


def _header(v: _View, width: int) -> Text:
    line = _text(v.head, TONE_STYLES[v.tone])
    if v.tone != "rest":
        line.stylize("bold")
    if not v.paused:
        return _fit(line, width)
    tag = _text(" PAUSED ", "bold reverse yellow")
    line = _fit(line, max(width - tag.cell_len - 2, 1))
    line.append(" " * max(width - line.cell_len - tag.cell_len, 1))
    line.append_text(tag)
    return _fit(line, width)


def _digits(v: _View, width: int, layout: str, height: int, ascii_only: bool) -> list[Text]:
    """The time in big digits at the left, the rep and cadence at the right; smaller digits, shorter words or
    no side column if the width needs it, bold text at the very least."""
    tone_style = TONE_STYLES[v.tone]
    options: list[tuple[int, int]] = []  # (rows, scale)
    if layout == "big":
        if height >= SCALE2_ROWS and big_digits.width("88:88", scale=2) + 14 <= width:
            options.append((5, 2))
        options.append((5, 1))
    options.append((3, 1))
    for rows, scale in options:
        glyph_w = big_digits.width(v.clock, rows=rows, scale=scale)
        for rep, cadence in ((v.rep, v.cadence), (v.rep_short, v.cadence)):
            side = [x or "" for x in (rep, cadence)]
            side_w = max(len(x) for x in side)
            if glyph_w + (2 + side_w if side_w else 0) > width:
                continue
            glyphs = big_digits.render(v.clock, rows=rows, scale=scale, ascii_only=ascii_only)
            n = len(glyphs)
            # the rep a third of the way down, the cadence at the bottom third (3 rows: first and last)
            where = {0: 0, n - 1: 1} if n == 3 else {n // 5: 0, n - 1 - n // 5: 1}
            out = []
            for r, glyph in enumerate(glyphs):
                line = _text(glyph, tone_style)
                k = where.get(r)
                if k is not None and side[k]:
                    style = "bold" if k == 0 else v.cadence_style
                    line.append(" " * (width - line.cell_len - len(side[k])))
                    line.append(side[k], style=style)
                out.append(line)
            return out
    line = _text(v.clock, f"{tone_style} bold")
    for extra, style in ((v.rep_short, "bold"), (v.cadence, v.cadence_style)):
        if extra:
            line.append("  ")
            line.append(extra, style=style)
    return [_fit(line, width)]


def _bar(v: _View, width: int, ascii_only: bool) -> Text | None:
    if v.progress is None or v.length is None:
        return None
    suffix = f" of {v.length}"
    n = width - len(suffix)
    if n < 5:
        return None
    done = round(v.progress * n)
    full, empty = ("=", "-") if ascii_only else ("━", "─")
    line = _text(full * done, BORDER_STYLES[v.tone])
    line.append(empty * (n - done), style="grey35")
    line.append(suffix, style="dim")
    return line


def _panel(
    v: _View, s: Snapshot, keys_help: KeysHelp, width: int, height: int, layout: str, ascii_only: bool
) -> list[Text]:
    inner = width - 4
    avail = height - 2
    col = 7 if layout == "big" else 6
    blocks: list[tuple[int, list[Text]]] = [(10, [_header(v, inner)])]
    if layout == "big":
        blocks.append((1, [_text()]))
    blocks.append((10, _digits(v, inner, layout, height, ascii_only)))
    if layout == "big":
        bar = _bar(v, inner, ascii_only)
        if bar is not None:
            blocks.append((3, [bar]))
    if v.target:
        blocks.append((8, [_fit(_text(" · ".join(v.target), "bold"), inner)]))
    if v.next is not None:
        blocks.append((5, [_labelled("next", _text(v.next), col, inner)]))
    if v.time is not None:
        blocks.append((4, [_labelled("time", _text(v.time), col, inner)]))
    if v.feet is not None:
        blocks.append((7, [_labelled("you", _text(*v.feet), col, inner)]))
    for label, text in v.remarks:
        blocks.append((6, [_labelled(label, _text(text, "italic"), col, inner)]))
    if v.flags:
        line = _text()
        for i, (text, style) in enumerate(v.flags):
            if i:
                line.append(" · ", style="dim")
            line.append(text, style=style)
        blocks.append((9, [_fit(line, inner)]))
    keys = keys_line(keys_help, inner, s.mode)
    if keys:
        blocks.append((6, [_text(keys, "dim")]))
    total = sum(len(lines) for _, lines in blocks)
    dropped: set[int] = set()
    for i in sorted(range(len(blocks)), key=lambda i: (blocks[i][0], -i)):  # least important, the later first
        if total <= avail:
            break
        dropped.add(i)
        total -= len(blocks[i][1])
    body = [line for i, (_, lines) in enumerate(blocks) if i not in dropped for line in lines][: max(avail, 0)]
    return _boxed(body, v, width, ascii_only)


def _boxed(body: list[Text], v: _View, width: int, ascii_only: bool) -> list[Text]:
    tl, hz, tr, vt, bl, br = ("+", "-", "+", "|", "+", "+") if ascii_only else ("╭", "─", "╮", "│", "╰", "╯")
    border = BORDER_STYLES[v.tone]
    top = _text(tl + hz, border)
    if v.title and width >= 8:
        top.append_text(_fit(_text(f" {v.title} ", "bold"), width - 4))
    top.append(hz * (width - 1 - top.cell_len) + tr, style=border)
    out = [top]
    for line in body:
        row = _text(vt + " ", border)
        row.append_text(line)
        row.append(" " * (width - 2 - row.cell_len) + " ")
        row.append(vt, style=border)
        out.append(row)
    out.append(_text(bl + hz * (width - 2) + br, border))
    return out


def _lines(v: _View, width: int, height: int) -> list[Text]:
    """Below 40x12: a few plain lines, the time left first."""
    first = _text(v.clock, f"{TONE_STYLES[v.tone]} bold")
    first.append("  ")
    first.append(v.head, style=TONE_STYLES[v.tone])
    if v.rep_short:
        first.append(f" {v.rep_short}", style="bold")
    if v.cadence:
        first.append("  ")
        first.append(v.cadence, style=v.cadence_style)
    out = [first]
    flags = ([("PAUSED", "bold reverse yellow")] if v.paused else []) + v.flags
    if flags:
        line = _text()
        for i, (text, style) in enumerate(flags):
            line.append(("  " if i else "") + text, style=style)
        out.append(line)
    if v.target:
        out.append(_text(" · ".join(v.target)))
    if v.next is not None:
        out.append(_text(f"next {v.next}", "dim"))
    return [_fit(line, width) for line in out[: max(height, 0)]]


def frame_lines(
    s: Snapshot,
    keys_help: KeysHelp = "",
    width: int = 80,
    height: int = 24,
    *,
    layout: str | None = None,
    ascii_only: bool = False,
) -> list[Text]:
    """The display of `s` for a `width` x `height` terminal: one rich ``Text`` per row, none wider than
    `width` (a panel's rows exactly that wide), at most `height` of them.

    Parameters
    ----------
    s : Snapshot
        What to show.
    keys_help : str or sequence of (key, what)
        The keys line (fitted to the width, :func:`keys_line`); none when empty.
    width, height : int
        The terminal's size.
    layout : {"big", "compact", "lines"}, optional
        Force a layout (default: :func:`layout_for` the size).
    ascii_only : bool
        Borders and digits in ASCII (a terminal without UTF-8).
    """
    width, height = max(int(width), 0), max(int(height), 0)
    layout = layout or layout_for(width, height)
    v = _view(s)
    if layout == "lines" or width < 10 or height < 6:
        return _lines(v, width, height)
    return _panel(v, s, keys_help, width, height, layout, ascii_only)


class _Frame:
    """:func:`frame_lines` as a rich renderable, at the size of what it is printed on."""

    def __init__(self, s: Snapshot, keys_help: KeysHelp, layout: str | None) -> None:
        self.s, self.keys_help, self.layout = s, keys_help, layout

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or console.height
        lines = frame_lines(
            self.s, self.keys_help, options.max_width, height, layout=self.layout, ascii_only=options.ascii_only
        )
        for line in lines:
            line.end = "\n"
            yield line


def render_snapshot(s: Snapshot, keys_help: KeysHelp = "", *, layout: str | None = None) -> Any:
    """A rich renderable of the snapshot, laid out for the console (or the ``width``/``height``) it is printed
    with (:func:`frame_lines`).

    Parameters
    ----------
    s : Snapshot
        What to show.
    keys_help : str or sequence of (key, what), optional
        The keys line (``sinks.live.keys.HELP`` or ``help_items(mode)``); none when empty.
    layout : {"big", "compact", "lines"}, optional
        Force a layout (default: by the size).

    Returns
    -------
    rich renderable
        The panel (or plain lines below 40x12).
    """
    return _Frame(s, keys_help, layout)


# ---------------------------------------------------------------------------------------- displays


class _Shown:
    """A display as a player observer: shown (``__enter__``) at ``on_start``, redrawn (``update``) at every
    ``on_tick`` -- it sees a step change itself there -- and closed (``__exit__``) at ``on_end``."""

    def __enter__(self) -> _Shown:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self) -> None:
        raise NotImplementedError

    def on_start(self, player: PlayerView) -> None:
        self.__enter__()

    def on_step(self, player: PlayerView, step: TimedStep | None) -> None:
        return None

    def on_tick(self, player: PlayerView) -> None:
        self.update()

    def on_end(self, player: PlayerView) -> None:
        self.__exit__(None, None, None)


ALT_SCREEN_ON = "\x1b[?1049h\x1b[?25l\x1b[2J"  # the alternate screen, the cursor hidden, cleared
ALT_SCREEN_OFF = "\x1b[?25h\x1b[?1049l"  # the cursor shown, the normal screen back


def _check_unit(speed_unit: str) -> str:
    if speed_unit not in SPEED_UNITS:
        raise ValueError(f"speed_unit is 'kmh' or 'mph', not {speed_unit!r}")
    return speed_unit


class LiveDisplay(_Shown):
    """The full-screen panel (see the module docstring), redrawn from :meth:`update` (REFRESH_HZ times a
    second at most); a player observer, shown from ``on_start`` to ``on_end``."""

    def __init__(
        self,
        player: PlayerView,
        keys_help: KeysHelp = "",
        sensor: SensorView | None = None,
        *,
        treadmill: bool = False,
        speed_unit: str = "kmh",
    ) -> None:
        from cadencecoach.terminal import console as make_console

        self.player = player
        self.keys_help = keys_help
        self.sensor = sensor
        self.treadmill = treadmill
        self.speed_unit = _check_unit(speed_unit)
        out = player.config.out
        self.console = make_console(file=out, force_terminal=True) if out is not None else make_console()
        self._next = 0.0
        self._shown = False
        self._resized = False
        self._size: tuple[int, int] | None = None
        self._last = ""
        self._old_winch: Any = None
        self._winch = False
        self.frames = 0  # frames written (for tests)

    # -- the terminal -----------------------------------------------------------------------------
    def size(self) -> tuple[int, int]:
        """The terminal's columns and rows now (the console's guess when the output is no terminal)."""
        try:
            w, h = os.get_terminal_size(self.console.file.fileno())
        except (AttributeError, ValueError, OSError):
            w, h = self.console.size
        if w <= 0 or h <= 0:
            w, h = self.console.size
        return w, h

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.console.file.write(text)
            self.console.file.flush()

    def _on_winch(self, signum: int, frame: Any) -> None:
        self._resized = True  # the next tick redraws at the new size
        old = self._old_winch
        if callable(old):
            old(signum, frame)

    def _ansi(self, line: Text) -> str:
        from rich.console import COLOR_SYSTEMS
        from rich.segment import Segment

        console = self.console
        name = console.color_system
        system = COLOR_SYSTEMS.get(name) if name else None
        segments: Any = line.render(console, end="")
        if console.no_color and system is not None:
            segments = Segment.remove_color(segments)
        parts = []
        for seg in segments:
            if seg.control:
                continue
            parts.append(seg.style.render(seg.text, color_system=system) if seg.style and system else seg.text)
        return "".join(parts)

    def frame(self, width: int, height: int) -> str:
        """What one redraw writes for a `width` x `height` terminal: every row from the top left, each erased
        to its end, and everything below the last one erased."""
        s = self.snapshot()
        lines = frame_lines(s, self.keys_help, width, height, ascii_only=self.console.options.ascii_only)
        out = []
        for row, line in enumerate(lines, 1):
            out.append(f"\x1b[{row};1H")
            out.append(self._ansi(line))
            if line.cell_len < width:
                out.append("\x1b[K")  # (never after a full row: it would erase its last cell)
        if len(lines) < height:
            out.append(f"\x1b[{len(lines) + 1};1H\x1b[J")
        return "".join(out)

    def snapshot(self) -> Snapshot:
        return snapshot(self.player, self.sensor, treadmill=self.treadmill, speed_unit=self.speed_unit)

    def draw(self, force: bool = False) -> None:
        """Redraw now, if anything changed (or `force`); after a resize the screen is cleared first."""
        size = self.size()
        resized = self._resized or size != self._size
        self._resized = False
        body = self.frame(*size)
        if body == self._last and not resized and not force:
            return
        self._last, self._size = body, size
        self.frames += 1
        self._write(("\x1b[2J" if resized else "") + body)

    # -- the observer ------------------------------------------------------------------------------
    def __enter__(self) -> LiveDisplay:
        if self._shown:
            return self
        self._shown = True
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGWINCH"):
            try:
                self._old_winch = signal.signal(signal.SIGWINCH, self._on_winch)
                self._winch = True
            except (ValueError, OSError):
                self._winch = False
        self._write(ALT_SCREEN_ON)
        atexit.register(self._leave_screen)  # should the process end without on_end
        self._size = None
        self.draw(force=True)
        return self

    def _leave_screen(self) -> None:
        if self._shown:
            self._write(ALT_SCREEN_OFF)

    def __exit__(self, *exc: object) -> None:
        if not self._shown:
            return
        self._shown = False
        if self._winch:
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signal.SIGWINCH, self._old_winch if self._old_winch is not None else signal.SIG_DFL)
            self._winch, self._old_winch = False, None
        self._write(ALT_SCREEN_OFF)
        with contextlib.suppress(Exception):
            atexit.unregister(self._leave_screen)
        # the last state, once, on the normal screen (the summary line follows)
        with contextlib.suppress(Exception):
            width, _ = self.size()
            layout = "compact" if width >= COMPACT_SIZE[0] else "lines"
            self.console.print(render_snapshot(self.snapshot(), "", layout=layout), width=min(width, 80), height=24)

    def update(self) -> None:
        now = time.monotonic()
        if now < self._next and not self._resized:
            return
        self._next = now + 1.0 / REFRESH_HZ
        self.draw()


class ProgressLines(_Shown):
    """Without a terminal: one line per step change, and one every PROGRESS_EVERY_S seconds, and one for each
    pause, mute, volume change, coach's remark and spoken confirmation (a player observer, like
    :class:`LiveDisplay`)."""

    def __init__(
        self,
        player: PlayerView,
        keys_help: KeysHelp = "",
        sensor: SensorView | None = None,
        *,
        treadmill: bool = False,
        speed_unit: str = "kmh",
    ) -> None:
        self.player = player
        self.sensor = sensor
        self.treadmill = treadmill
        self.speed_unit = _check_unit(speed_unit)
        self.out = player.config.out or sys.stdout
        self._step: int | None = None
        self._step_start: int | None = None
        self._next_tick = float(PROGRESS_EVERY_S)
        self._paused = False
        self._remark: tuple[float, str] | None = None
        self._said: tuple[float, str] | None = None
        self._state: tuple[bool, bool, int] | None = None

    def _print(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.out, flush=True)

    def update(self) -> None:
        from cadencecoach.workout.units import format_clock

        s = snapshot(self.player, self.sensor, treadmill=self.treadmill, speed_unit=self.speed_unit)
        if s.pos < 0:
            return
        cadence = f", {s.cadence:.0f} spm" if s.cadence is not None else ""
        feet = feet_text(s)
        if feet is not None:
            cadence += f", you {feet[0]}"
        clock = format_clock(s.elapsed)
        if s.paused != self._paused:
            self._paused = s.paused
            self._print(f"[{clock}] {'paused' if s.paused else 'resumed'}")
        said = s.sensor.last_remark if s.sensor is not None else None
        if said is not None and said != self._remark:
            self._remark = said
            self._print(f"[{format_clock(max(said[0], 0))}] coach: {safe_text(said[1])}")
        if s.said is not None and s.said != self._said:
            self._said = s.said
            with contextlib.suppress(TypeError, ValueError):
                self._print(f"[{format_clock(max(float(s.said[0]), 0))}] said: {safe_text(s.said[1])}")
        self._state_changes(s, clock)
        index = s.step.index if s.step is not None else None
        start = s.step.start if s.step is not None else None
        if index != self._step or start != self._step_start:
            self._step, self._step_start = index, start
            if s.step is not None:
                if s.mode == "click":
                    self._print(f"[{clock}] metronome{cadence}")
                else:
                    length = format_clock(float(s.step.end_s - s.step.start_s))
                    facts = "".join(f", {fact}" for fact in step_facts(s))
                    self._print(f"[{clock}] {_step_text(s.step)} ({length}){facts}{cadence}")
            self._next_tick = s.elapsed + PROGRESS_EVERY_S
        elif s.elapsed >= self._next_tick:
            self._next_tick += PROGRESS_EVERY_S
            if s.mode == "click":
                self._print(f"[{clock}] {s.clicks} clicks{cadence}")
            elif s.step is not None:
                left = format_clock(max(s.step.end - s.pos, 0) / s.sample_rate)
                label = safe_text(s.step.label)
                self._print(f"[{clock}] {label}: {left} left{cadence}, {format_clock(s.remaining)} to go")

    def _state_changes(self, s: Snapshot, clock: str) -> None:
        """A line when the click or voice is muted or unmuted or the volume changes (not for the state at the
        start)."""
        state = (s.click_muted, s.voice_muted, round(s.volume * 100))
        old, self._state = self._state, state
        if old is None or old == state:
            return
        said = []
        if state[0] != old[0]:
            said.append("click muted" if state[0] else "click on")
        if state[1] != old[1]:
            said.append("voice muted" if state[1] else "voice on")
        if state[2] != old[2]:
            said.append(f"volume {state[2]} %")
        self._print(f"[{clock}] {', '.join(said)}")


def show_live(player: PlayerView) -> bool:
    """The rich panel or plain lines: ``config.show_live`` if set, else the panel when the keys are live and
    the output is a terminal that can redraw."""
    if player.config.show_live is not None:
        return player.config.show_live
    # A dumb terminal (TERM=dumb, e.g. an editor's shell) cannot redraw a panel: rich would show nothing
    # until the end, so it gets the plain progress lines instead.
    dumb = os.environ.get("TERM", "") in DUMB_TERMINALS
    return bool(
        player.keys is not None and player.keys.active and (player.config.out or sys.stdout).isatty() and not dumb
    )


def display_for(
    player: PlayerView,
    keys_help: KeysHelp = "",
    sensor: SensorView | None = None,
    *,
    treadmill: bool = False,
    speed_unit: str = "kmh",
) -> LiveDisplay | ProgressLines:
    """The display observer for `player` (see :func:`show_live`).

    Parameters
    ----------
    player : PlayerView
        The live player (``sinks.live.player.LivePlayer``).
    keys_help : str or sequence of (key, what), optional
        The keys line the panel shows (``sinks.live.keys.HELP``, or ``help_items(mode)``), fitted to the width.
    sensor : SensorView, optional
        The sensor coach (``run --sensor``): its cadence is shown beside the click's.
    treadmill : bool
        Show the belt speed of each step's pace (``run --treadmill``, ``treadmill = true`` in the settings).
    speed_unit : {"kmh", "mph"}
        The unit of that belt speed (``speed_unit`` in the settings).

    Returns
    -------
    LiveDisplay or ProgressLines
        Append it to ``player.observers``.
    """
    if show_live(player):
        return LiveDisplay(player, keys_help, sensor, treadmill=treadmill, speed_unit=speed_unit)
    return ProgressLines(player, keys_help, sensor, treadmill=treadmill, speed_unit=speed_unit)
