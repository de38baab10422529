"""What the live player shows while it plays: a rich panel redrawn REFRESH_HZ times a second on a terminal
(:class:`LiveDisplay`), else plain progress lines (:class:`ProgressLines`).

Both are observers of the player (``sinks.live.player.PlayerObserver``: ``on_start``, ``on_step``,
``on_tick``, ``on_end``) and run in its main thread; :func:`display_for` picks one. They read the player
through :class:`PlayerView` (this module imports nothing of the player) into a :class:`Snapshot`.

The workout's name and its steps' labels, pace names and efforts came from a file: both displays show them
through :func:`cadencecoach.terminal.safe_text` (the panel as rich ``Text``, never parsed as markup), so
nothing in a shared workout acts on the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

import numpy as np

from cadencecoach.core.edits import cadence_now
from cadencecoach.core.timeline import TimedStep, Timeline
from cadencecoach.terminal import safe_text

REFRESH_HZ = 8  # live display refreshes per second
PROGRESS_EVERY_S = 30  # plain progress lines (no TTY): at every step change and this often
DUMB_TERMINALS = ("dumb", "unknown")  # TERM values that cannot redraw (rich's Console.is_dumb_terminal)
REMARK_SHOWN_S = 10  # the panel shows the coach's latest remark this long


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
    """What the display reads of ``sinks.live.player.LivePlayer`` (main thread)."""

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


def snapshot(player: PlayerView, sensor: SensorView | None = None) -> Snapshot:
    """What the display shows now, read from `player` (and the sensor coach's status)."""
    tl = player.timeline
    sr = tl.sample_rate
    pos = player.position()
    step = tl.step_at(pos)
    nxt = None
    if step is not None:
        i = tl.steps.index(step)
        nxt = tl.steps[i + 1] if i + 1 < len(tl.steps) else None
    elif pos < 0 and tl.steps:
        nxt = tl.steps[0]
    e = player.engine
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
    )


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


def render_snapshot(s: Snapshot, keys_help: str = "") -> Any:
    """A rich renderable of the snapshot.

    Parameters
    ----------
    s : Snapshot
        What to show.
    keys_help : str, optional
        The keys line (``sinks.live.keys.HELP``); none when empty.

    Returns
    -------
    rich.panel.Panel
        The panel.
    """
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    from cadencecoach.workout.units import format_clock

    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="dim")
    grid.add_column()
    sr = s.sample_rate
    if s.lead_in_left > 0:
        grid.add_row("starting", Text(f"in {s.lead_in_left:.0f} s", style="bold"))
    elif s.step is not None:
        left = max(s.step.end - s.pos, 0) / sr
        total = max(s.step.end - s.step.start, 1)
        if s.mode == "click":
            grid.add_row("metronome", Text(f"{format_clock(s.elapsed)}  ·  {s.clicks} clicks", style="bold"))
        else:
            grid.add_row("step", Text(_step_text(s.step), style="bold"))
            bar = Table.grid(padding=(0, 1))
            bar.add_column(width=40)
            bar.add_column()
            bar.add_row(
                ProgressBar(total=total, completed=min(max(s.pos - s.step.start, 0), total), width=40),
                f"{format_clock(left)} left",
            )
            grid.add_row("", bar)
    else:
        grid.add_row("step", Text("finished", style="bold"))
    if s.cadence is not None:
        grid.add_row("cadence", Text(f"{s.cadence:.0f} spm", style="bold cyan"))
    elif s.step is not None:
        grid.add_row("cadence", Text("no click", style="dim"))
    feet = feet_text(s)
    if feet is not None:
        grid.add_row("you", Text(feet[0], style=feet[1]))
        said = s.sensor.last_remark if s.sensor is not None else None
        if said is not None and 0 <= s.elapsed - said[0] < REMARK_SHOWN_S:
            grid.add_row("coach", Text(safe_text(said[1]), style="italic"))
    if s.mode != "click":
        if s.next_step is not None:
            length = format_clock(float(s.next_step.end_s - s.next_step.start_s))
            grid.add_row("next", Text(f"{_step_text(s.next_step)} ({length})"))
        grid.add_row("time", f"{format_clock(s.elapsed)} elapsed  ·  {format_clock(s.remaining)} to go")
    flags = []
    if s.paused:
        flags.append("[bold yellow]PAUSED[/]")
    if s.click_muted:
        flags.append("[yellow]click muted[/]")
    if s.voice_muted:
        flags.append("[yellow]voice muted[/]")
    if s.underflows:
        flags.append(f"[red]{s.underflows} underflows[/]")
    if flags:
        grid.add_row("", "  ".join(flags))
    if keys_help:
        grid.add_row("keys", Text(keys_help, style="dim"))
    return Panel(grid, title=Text(safe_text(s.name), style="bold"), expand=False)


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


class LiveDisplay(_Shown):
    """rich.live.Live in the main thread (refreshed by :meth:`update`, REFRESH_HZ times a second); a player
    observer: shown from ``on_start`` to ``on_end``."""

    def __init__(self, player: PlayerView, keys_help: str = "", sensor: SensorView | None = None) -> None:
        from rich.live import Live

        from cadencecoach.terminal import console as make_console

        self.player = player
        self.keys_help = keys_help
        self.sensor = sensor
        out = player.config.out
        console = make_console(file=out, force_terminal=True) if out is not None else make_console()
        self._live = Live(
            render_snapshot(snapshot(player, sensor), keys_help),
            console=console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._next = 0.0

    def __enter__(self) -> LiveDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._live.update(render_snapshot(snapshot(self.player, self.sensor), self.keys_help), refresh=True)
        self._live.__exit__(None, None, None)

    def update(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 1.0 / REFRESH_HZ
        self._live.update(render_snapshot(snapshot(self.player, self.sensor), self.keys_help), refresh=True)


class ProgressLines(_Shown):
    """Without a terminal: one line per step change, and one every PROGRESS_EVERY_S seconds (a player
    observer, like :class:`LiveDisplay`)."""

    def __init__(self, player: PlayerView, keys_help: str = "", sensor: SensorView | None = None) -> None:
        self.player = player
        self.sensor = sensor
        self.out = player.config.out or sys.stdout
        self._step: int | None = None
        self._next_tick = float(PROGRESS_EVERY_S)
        self._paused = False
        self._remark: tuple[float, str] | None = None

    def _print(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.out, flush=True)

    def update(self) -> None:
        from cadencecoach.workout.units import format_clock

        s = snapshot(self.player, self.sensor)
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
        index = s.step.index if s.step is not None else None
        if index != self._step:
            self._step = index
            if s.step is not None:
                if s.mode == "click":
                    self._print(f"[{clock}] metronome{cadence}")
                else:
                    length = format_clock(float(s.step.end_s - s.step.start_s))
                    self._print(f"[{clock}] {_step_text(s.step)} ({length}){cadence}")
            self._next_tick = s.elapsed + PROGRESS_EVERY_S
        elif s.elapsed >= self._next_tick:
            self._next_tick += PROGRESS_EVERY_S
            if s.mode == "click":
                self._print(f"[{clock}] {s.clicks} clicks{cadence}")
            elif s.step is not None:
                left = format_clock(max(s.step.end - s.pos, 0) / s.sample_rate)
                label = safe_text(s.step.label)
                self._print(f"[{clock}] {label}: {left} left{cadence}, {format_clock(s.remaining)} to go")


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
    player: PlayerView, keys_help: str = "", sensor: SensorView | None = None
) -> LiveDisplay | ProgressLines:
    """The display observer for `player` (see :func:`show_live`).

    Parameters
    ----------
    player : PlayerView
        The live player (``sinks.live.player.LivePlayer``).
    keys_help : str, optional
        The keys line the panel shows (``sinks.live.keys.HELP``).
    sensor : SensorView, optional
        The sensor coach (``run --sensor``): its cadence is shown beside the click's.

    Returns
    -------
    LiveDisplay or ProgressLines
        Append it to ``player.observers``.
    """
    if show_live(player):
        return LiveDisplay(player, keys_help, sensor)
    return ProgressLines(player, keys_help, sensor)
