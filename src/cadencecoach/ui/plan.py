"""Human-readable tables for ``plan`` and ``workouts`` (rich).

Everything that came from a file (workout names, notes, labels, pace names, efforts, warnings, problems, file
names) goes through :func:`cadencecoach.terminal.markup_safe`: control characters shown escaped, rich markup
printed literally. The consoles come from :func:`cadencecoach.terminal.console` (a broken pipe ends the
command silently). ``plan`` draws at most MAX_PLAN_ROWS steps; ``plan --json`` lists every one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadencecoach import terminal
from cadencecoach.core.timeline import Timeline
from cadencecoach.terminal import markup_safe
from cadencecoach.workout.model import Workout
from cadencecoach.workout.paces import decimal_text
from cadencecoach.workout.units import format_clock, format_pace_per_km

if TYPE_CHECKING:
    from rich.console import Console

MAX_PLAN_ROWS = 500
"""Steps the ``plan`` table draws, and warnings it prints; the rest are counted in one line each (``plan --json``
lists every step and every warning)."""

_STYLE = {"warmup": "green", "run": "bold red", "recover": "cyan", "rest": "blue", "cooldown": "green"}


def _cadence(a: object, b: object) -> str:
    return f"{a}" if a == b else f"{a}→{b}"


def print_plan(
    workout: Workout, timeline: Timeline, console: Console | None = None, max_rows: int = MAX_PLAN_ROWS
) -> None:
    """The plan table: a header, the first `max_rows` steps, the clicks and cues, the first `max_rows` warnings."""
    from rich.table import Table

    console = console or terminal.console()
    duration = format_clock(float(timeline.duration_s))
    console.print(f"[bold]{markup_safe(workout.name)}[/]  ({duration}, {len(timeline.steps)} steps)")
    if workout.notes:
        console.print(markup_safe(workout.notes, multiline=True), style="dim")
    if workout.trial is not None and workout.vdot is not None:
        console.print(f"paces from trial ({markup_safe(workout.trial_source)}): VDOT {workout.vdot:.1f}", style="dim")
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col in ("#", "start", "length", "step", "cadence", "pace / effort", "click"):
        table.add_column(col, justify="right" if col in ("#", "start", "length") else "left", no_wrap=col != "step")
    for s in timeline.steps[:max_rows]:
        pace = ""
        if s.pace_s_per_km is not None:
            pace = (f"{s.pace_name} " if s.pace_name else "") + format_pace_per_km(s.pace_s_per_km)
        if s.effort:
            pace = f"{pace} {s.effort}".strip()
        if s.heart_rate:
            pace = f"{pace} HR {s.heart_rate}".strip()
        if s.incline is not None:
            pace = f"{pace} {decimal_text(s.incline)}% incline".strip()
        length = format_clock(float(s.end_s - s.start_s))
        if s.distance_m is not None:
            length = f"{s.distance_m:g}m {length}"
        step = s.label + (f" {s.rep[0]}/{s.rep[1]}" if s.rep else "")
        table.add_row(
            str(s.index + 1),
            format_clock(float(s.start_s)),
            length,
            f"[{_STYLE[s.kind]}]{markup_safe(step)}[/]",
            _cadence(s.cadence_start, s.cadence_end),
            markup_safe(pace),
            "on" if s.click else "[dim]off[/]",
        )
    console.print(table)
    hidden = len(timeline.steps) - max_rows
    if hidden > 0:
        console.print(f"... and {hidden} more steps (plan --json lists every step)")
    console.print(f"{len(timeline.clicks)} clicks, {len(timeline.cues)} spoken cues")
    for w in timeline.warnings[:max_rows]:
        console.print(f"[yellow]warning:[/] {markup_safe(w, multiline=True)}")
    more = len(timeline.warnings) - max_rows
    if more > 0:
        console.print(f"[yellow]warning:[/] ... and {more} more warnings (plan --json lists every one)")


def _first(text: str) -> str:
    """The first sentence of `text` on one line, safe for a table cell."""
    return markup_safe(text.split(". ")[0].replace("\n", " "))


def print_workouts(console: Console | None = None) -> None:
    from rich.table import Table

    from cadencecoach.errors import WorkoutError
    from cadencecoach.workout.library import available, user_dir
    from cadencecoach.workout.loader import load_workout

    console = console or terminal.console()
    table = Table(show_edge=False, header_style="bold")
    for col in ("name", "from", "length", "steps", "what it is for"):
        table.add_column(col, overflow="fold")
    recorded: list[str | None] = []  # the latest recorded trial, read once, when a workout first needs it

    def latest_trial() -> str | None:
        # history: a workout that names derived paces and gives no trial uses the latest recorded trial, as
        # `plan` and `run` do, so both list the same length
        if not recorded:
            from cadencecoach.history.trials import DefaultTrial

            recorded.append(DefaultTrial()())
        return recorded[0]

    for ref in available():
        try:
            w = load_workout(ref.path, default_trial=latest_trial)
            length, steps, about = format_clock(float(w.total_duration)), str(w.total_steps), _first(w.notes or w.name)
        except WorkoutError as exc:
            length, steps, about = "", "", f"[red]invalid:[/] {_first(str(exc.problems[0]))}"
        table.add_row(markup_safe(ref.name), ref.origin, length, steps, about)
    console.print(table)
    console.print(f"[dim]your workouts: {markup_safe(user_dir())}[/]")
