"""``cadencecoach review ACTIVITY [--workout W]``: a recorded run against its workout (docs/REVIEW.md).

Registered by cli/app.py (``register(app)``). Like cli/history.py this module has no ``from __future__ import
annotations``, so Typer sees real annotation objects. The work is elsewhere: the readers
(:mod:`cadencecoach.activity.read`), the figures (:mod:`cadencecoach.activity.review`), the chart
(:mod:`cadencecoach.activity.plot`, written by :mod:`cadencecoach.history.charts`), the store
(:mod:`cadencecoach.history.reviews`) and the trials (:mod:`cadencecoach.history.trials`).

Everything from a file (its name, the reader's notes, step labels, the workout's name) is shown through
:func:`cadencecoach.terminal.markup_safe`; JSON escapes it.
"""

import hashlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cadencecoach.terminal import markup_safe, safe_text

EPILOG = (
    "Examples:\n\n  cadencecoach review run.fit\n\n  cadencecoach review run.fit --workout 10x400\n\n"
    "  cadencecoach review run.tcx --workout tempo.yaml --offset 2:30 --plot run.png\n\n"
    "  cadencecoach review trial.fit --workout mile-trial --add-trial\n\n"
    "  cadencecoach review run.gpx --unit mi --json"
)

COMPILE_RATE = 8000
"""The sample rate the workout is compiled at for its step times (exact Fractions; the rate only sets samples)."""
MAX_ROWS = 500
"""Rows the table draws; ``--json`` lists every one."""


def _console() -> Any:
    from cadencecoach.terminal import console

    return console()


def _offset(text: str | None) -> float | None:
    from cadencecoach.errors import UsageError
    from cadencecoach.workout.units import parse_clock, parse_offset

    if text is None:
        return None
    clock = parse_clock(text)
    if clock is not None:
        return float(clock)
    try:
        return float(parse_offset(text))
    except ValueError:
        raise UsageError(
            f"--offset {text}: write how far into the activity the workout began, like 2:30 or 90s"
        ) from None


def _unit_m(unit: str) -> float:
    from cadencecoach.errors import UsageError
    from cadencecoach.workout.units import METERS_PER_MILE

    u = unit.strip().lower()
    if u in ("km", "k"):
        return 1000.0
    if u in ("mi", "mile", "miles"):
        return float(METERS_PER_MILE)
    raise UsageError(f"--unit {unit}: choose km or mi")


def _steps(arg: str, pace: Any, trial: Any, warn: Any) -> tuple[Any, list[Any]]:
    """The workout `arg` (a name, a path, ``today``) and its compiled steps."""
    from cadencecoach import pipeline
    from cadencecoach.cli.program import today_arg
    from cadencecoach.core.timeline import compile_workout

    arg = today_arg(arg, warn)
    workout = pipeline.load(arg, pace, trial, warn=warn)
    timeline = compile_workout(workout, COMPILE_RATE)
    return workout, list(timeline.steps)


def _sha256(path: str) -> str:
    from cadencecoach.activity.read import MAX_ACTIVITY_BYTES
    from cadencecoach.files import read_limited

    return hashlib.sha256(read_limited(path, MAX_ACTIVITY_BYTES)).hexdigest()


# --------------------------------------------------------------------------------------------- the table


def _distance(m: Any, unit_m: float) -> str:
    if m is None:
        return ""
    return f"{m / unit_m:.2f} {'mi' if unit_m != 1000 else 'km'}"


def _length(m: float) -> str:
    """A planned distance as written: ``400 m``, ``1 mi``, ``5 km``."""
    from cadencecoach.workout.units import METERS_PER_MILE

    mile = float(METERS_PER_MILE)
    if m >= mile - 0.5 and abs(m / mile - round(m / mile)) * mile < 0.5:
        return f"{round(m / mile)} mi"
    if m >= 1000 and abs(m / 1000 - round(m / 1000)) * 1000 < 0.5:
        return f"{round(m / 1000)} km"
    return f"{m:g} m"


def _clock(s: Any) -> str:
    from cadencecoach.workout.units import format_clock

    return "" if s is None else format_clock(s)


def _cadence(c: Any) -> str:
    if c is None:
        return ""
    a, b = (round(x) if abs(x - round(x)) < 0.05 else round(x, 1) for x in c)
    return f"{a}" if a == b else f"{a}→{b}"


def _share(x: Any) -> str:
    return "" if x is None else f"{x:.0%}"


def _header(r: Any, unit_m: float) -> list[str]:
    from pathlib import PurePath

    from cadencecoach.workout.units import format_clock

    a = r.activity
    name = PurePath(a.source).name or a.source
    bits = [a.fmt.upper()]
    if a.sport:
        bits.append(markup_safe(a.sport))
    if a.started_at is not None:
        bits.append(a.started_at.astimezone().strftime("%Y-%m-%d %H:%M"))
    bits.append(format_clock(a.duration_s))
    if r.distance_m is not None:
        bits.append(_distance(r.distance_m, unit_m))
    if a.laps:
        bits.append(f"{len(a.laps)} lap{'s' if len(a.laps) > 1 else ''}")
    lines = [f"[bold]{markup_safe(name)}[/]  ({', '.join(bits)})"]
    if r.workout is not None:
        lines.append(f"workout: [bold]{markup_safe(r.workout)}[/]; aligned by {r.aligned_by}: {r.alignment}")
    elif r.alignment:
        lines.append(f"no workout: {r.alignment}")
    return lines


STEP_WIDTH = 14
"""The step column wraps beyond this when the terminal is narrow."""
DROPPED_FIRST = ("HR", "pace plan", "stopped")
"""The columns left out, in this order, while the table is wider than the terminal."""


def _cell_len(text: str) -> int:
    from rich.text import Text

    return Text.from_markup(text).cell_len


def _fit(columns: list[str], rows: list[list[str]], width: int, label: str) -> list[int]:
    """The indexes of the columns kept: the optional ones dropped (:data:`DROPPED_FIRST`) until the table fits
    `width` (the step column counted at most :data:`STEP_WIDTH`)."""
    keep = list(range(len(columns)))

    def need() -> int:
        total = 0
        for i in keep:
            w = max([_cell_len(columns[i]), *(_cell_len(r[i]) for r in rows)])
            total += min(w, STEP_WIDTH) if columns[i] == label else w
        return total + 3 * (len(keep) - 1)

    for name in DROPPED_FIRST:
        if need() <= width:
            break
        if name in columns:
            keep.remove(columns.index(name))
    return keep


def print_review(r: Any, unit_m: float, console: Any = None) -> None:
    """The review as a table: a header, a row per step/lap/split (at most MAX_ROWS), the overall row, notes.

    Distances in the unit's header (``km``), paces per unit (``/km``); on a narrow terminal the heart rate, the
    planned pace and the stopped time are left out, in that order (``--json`` has everything)."""
    from rich.table import Table

    from cadencecoach.activity.review import format_pace

    console = console or _console()
    for line in _header(r, unit_m):
        console.print(line)
    for note in r.notes:
        console.print(f"note: {markup_safe(note)}", style="dim")
    steps = r.rows_are == "steps"
    rows = list(r.rows)
    every = [*rows, r.overall]
    hr = any(x.hr_avg is not None for x in every)
    stopped = any(x.stopped_s >= 1 for x in every)
    plan_pace = steps and any(x.planned_pace_s_per_km is not None for x in rows)
    unit = "km" if unit_m == 1000 else "mi"
    tol = f"±{r.tolerance_spm:g}"
    label = {"steps": "step", "laps": "lap"}.get(r.rows_are, "split")
    columns = ["#", label]
    if steps:
        columns.append("plan")
    columns += ["time", unit]
    columns += ["click", "spm", tol] if steps else ["spm"]
    if stopped:
        columns.append("stopped")
    if plan_pace:
        columns.append("pace plan")
    columns.append(f"pace/{unit}")
    if hr:
        columns.append("HR")

    def pace_text(p: Any) -> str:
        return "" if p is None else format_pace(p, unit_m).split("/")[0]

    def cells(x: Any, number: str) -> list[str]:
        out = {"#": number, label: markup_safe(x.name)}
        if steps:
            planned = ""
            if x.planned_distance_m is not None:
                planned = _length(x.planned_distance_m)
            elif x.planned_s is not None:
                planned = _clock(x.planned_s) if x.planned_s > 0 or x.kind == "overall" else "open"
            out["plan"] = planned
        if x.status == "missing":
            out["time"] = "[dim]not run[/]"
            return [out.get(c, "") for c in columns]
        out["time"] = _clock(x.duration_s) + (" [yellow](cut)[/]" if x.status == "partial" else "")
        out[unit] = "" if x.distance_m is None else f"{x.distance_m / unit_m:.2f}"
        if steps and x.kind != "overall":
            out["click"] = _cadence(x.planned_cadence) if x.click else "[dim]off[/]"
        out["spm"] = "" if x.cadence_spm is None else f"{x.cadence_spm:.0f}"
        if steps:
            out[tol] = _share(x.in_tolerance) if (x.click or x.kind == "overall") else "[dim]-[/]"
        out["stopped"] = _clock(x.stopped_s) if x.stopped_s >= 1 else ""
        out["pace plan"] = pace_text(x.planned_pace_s_per_km)
        out[f"pace/{unit}"] = pace_text(x.pace_s_per_km)
        out["HR"] = "" if x.hr_avg is None else f"{x.hr_avg:.0f}/{x.hr_max:.0f}"
        return [out.get(c, "") for c in columns]

    body = [cells(x, str(x.index + 1)) for x in rows[:MAX_ROWS]]
    overall = cells(r.overall, "")
    overall[1] = "[bold]overall[/]"
    keep = _fit(columns, [*body, overall], console.width, label)
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for i in keep:
        col = columns[i]
        wraps = col == label
        table.add_column(col, justify="left" if wraps else "right", no_wrap=not wraps, overflow="fold")
    for n, cells_ in enumerate(body):
        table.add_row(*(cells_[i] for i in keep), end_section=n == len(body) - 1)
    table.add_row(*(overall[i] for i in keep))
    console.print(table)
    if len(rows) > MAX_ROWS:
        console.print(f"... and {len(rows) - MAX_ROWS} more rows (review --json lists every one)")
    o = r.overall
    if steps and o.in_tolerance is not None:
        measured = sum(x.cadence_s for x in rows if x.click)
        console.print(
            f"cadence within {tol} spm of the click {o.in_tolerance:.0%} of the time "
            f"({_clock(o.in_tolerance_s)} of {_clock(measured)} with a cadence, clicking steps)"
        )


# --------------------------------------------------------------------------------------------- the trial


def _trial_run(r: Any) -> Any:
    """The one row of `r` that is a time trial (``--add-trial``), else UsageError saying what was found."""
    from cadencecoach.activity.review import TRIAL_DISTANCES, find_trials
    from cadencecoach.errors import UsageError

    found = find_trials(r)
    names = ", ".join(TRIAL_DISTANCES)
    if not found.found:
        if found.looked_at == "run steps":
            what = (
                "the workout has no run step of a trial distance"
                if not found.distances
                else "its run steps of a set distance are "
                + ", ".join(dict.fromkeys(_length(d) for d in found.distances[:100]))
            )
        else:
            what = f"{found.looked_at}: " + (
                ", ".join(f"{d:.0f} m" for d in found.distances[:10]) + (" ..." if len(found.distances) > 10 else "")
            )
            what = ("no lap is a trial distance; the " if found.looked_at == "laps" else "") + what
        raise UsageError(f"--add-trial: no trial distance ({names}, ±1 %) found: {what}")
    if len(found.found) > 1:
        which = ", ".join(f"{t.row.name} ({t.distance})" for t in found.found[:6])
        raise UsageError(
            f"--add-trial: {len(found.found)} {found.looked_at} are a trial distance ({which}); add the one you "
            "ran as a trial with 'cadencecoach trial add DISTANCE TIME'"
        )
    run = found.found[0]
    if r.rows_are == "steps":
        if r.aligned_by != "laps":
            raise UsageError(
                f"--add-trial: the {run.distance} step is aligned by time ({r.alignment}), so its time is the "
                f"plan's, not yours; press lap at each step (or run it with 'run --sensor'), or add it with "
                f"'cadencecoach trial add {run.distance} M:SS'"
            )
        if run.row.status == "missing":
            raise UsageError(f"--add-trial: the {run.distance} step '{safe_text(run.row.name)}' was not run")
    return run


def _trial_day(r: Any) -> tuple[date, bool]:
    """The local day the run began (and True), or today (and False) when the file does not say."""
    from cadencecoach.errors import UsageError
    from cadencecoach.history.trials import FIRST_DAY, last_day

    a = r.activity
    if a.started_at is None:
        return date.today(), False
    day = a.started_at.astimezone().date()
    if not FIRST_DAY <= day <= last_day():
        raise UsageError(
            f"--add-trial: the run's date {day.isoformat()} is outside {FIRST_DAY.isoformat()}.."
            f"{last_day().isoformat()}: the device's clock was wrong; add it with 'cadencecoach trial add'"
        )
    return day, True


def _paces_line(vdot: float, unit_m: float) -> str:
    from cadencecoach.activity.review import format_pace
    from cadencecoach.history.trials import pace_table

    parts = []
    for row in pace_table(vdot):
        if row.kind != "training":
            continue
        if row.range_s_per_km is not None:
            fast, slow = row.range_s_per_km
            text = format_pace(fast, unit_m).split("/")[0] + "-" + format_pace(slow, unit_m)
        else:
            text = format_pace(row.s_per_km, unit_m)
        parts.append(f"{row.name} {text}")
    return "paces from it: " + ", ".join(parts) + " (see 'cadencecoach paces')"


# --------------------------------------------------------------------------------------------- the command

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout (docs/REVIEW.md).")]


def register(app: typer.Typer) -> None:
    """Add ``review`` to `app`."""
    from cadencecoach.cli.app import PaceOpt, TrialOpt, guard, warn

    @app.command("review", epilog=EPILOG)
    @guard
    def review_command(
        activity: Annotated[str, typer.Argument(metavar="ACTIVITY", help="A recorded run: .fit, .tcx, .gpx or .csv.")],
        workout: Annotated[
            str | None,
            typer.Option(
                "--workout",
                "-w",
                metavar="W",
                help="The workout it was (a shipped name, a file, or 'today'); without, lap by lap.",
            ),
        ] = None,
        offset: Annotated[
            str | None,
            typer.Option(
                "--offset",
                metavar="M:SS",
                help="The workout began this far into the activity (aligns by the planned times from there).",
            ),
        ] = None,
        tolerance: Annotated[
            float,
            typer.Option("--tolerance", min=0.0, max=30.0, metavar="SPM", help="± steps per minute on the click."),
        ] = 3.0,
        unit: Annotated[
            str, typer.Option("--unit", metavar="km|mi", help="Paces and distances per km or per mile.")
        ] = "km",
        as_json: JsonOpt = False,
        plot: Annotated[
            Path | None,
            typer.Option(
                "--plot", metavar="FILE", help="Also draw cadence and pace against the plan (.png/.svg/.pdf)."
            ),
        ] = None,
        no_save: Annotated[bool, typer.Option("--no-save", help="Do not store the review in the history.")] = False,
        add_trial: Annotated[
            bool,
            typer.Option("--add-trial", help="Record the run's one time-trial lap or step (a mile, 5k...) as a trial."),
        ] = False,
        pace: PaceOpt = None,
        trial: TrialOpt = None,
    ) -> None:
        """Compare a recorded run (FIT, TCX, GPX, CSV) with its workout: per step (or lap) the planned and measured
        cadence, pace and heart rate, and the share of time within ±3 spm of the click. Stored in the history."""
        from cadencecoach.activity.read import read_activity
        from cadencecoach.activity.review import review
        from cadencecoach.errors import UsageError

        unit_m = _unit_m(unit)
        offset_s = _offset(offset)
        if offset_s is not None and workout is None:
            raise UsageError("--offset places a workout in the activity: give the workout with --workout")
        if add_trial and no_save:
            raise UsageError("--add-trial stores a trial in the history: it cannot go with --no-save")
        if plot is not None:  # the one output check, before any work
            from cadencecoach.cli.options import check_output, workout_input
            from cadencecoach.history.charts import check_output as chart_format

            inputs = [("the activity file", Path(activity)), *(workout_input(workout) if workout else [])]
            check_output(plot, inputs, option="--plot", check_format=lambda p: chart_format(p, "--plot"))
        w, steps = _steps(workout, pace, trial, warn) if workout is not None else (None, None)
        recorded = read_activity(activity, display=activity)
        result = review(
            recorded,
            steps,
            offset_s=offset_s,
            tolerance_spm=tolerance,
            workout=None if w is None else w.name,
            split_m=unit_m,
        )
        pending = _make_trial(_trial_run(result), result) if add_trial else None
        if plot is not None:
            from cadencecoach.activity.plot import draw_review
            from cadencecoach.cli.options import writing
            from cadencecoach.history.charts import require_matplotlib, save_figure

            plt = require_matplotlib()
            with writing(plot, option="--plot"):
                fig, _ = draw_review(result, plt, unit_m=unit_m)
                try:
                    save_figure(fig, plot)
                finally:
                    plt.close(fig)
            print(f"wrote {safe_text(plot)}", file=sys.stderr)
        summary = result.to_json()
        stored = None if no_save else _store(activity, recorded, w, result, summary, warn, strict=add_trial)
        added = _save_trial(pending, warn) if pending is not None else None
        if as_json:
            out = dict(summary)
            out["stored"] = None if stored is None else {"id": stored[0], "replaced": stored[1]}
            if added is not None:
                out["trial"] = added[0].to_json()
            sys.stdout.write(json.dumps(out) + "\n")
            return
        print_review(result, unit_m)
        if stored is not None:
            review_id, replaced = stored
            print(
                f"updated review {review_id} (this file with this workout was reviewed before)"
                if replaced
                else f"saved as review {review_id}: 'cadencecoach history' shows your reviews"
            )
        if added is not None:
            saved, dated = added
            print(
                f"added trial {saved.id}: {safe_text(saved.result)} on {saved.date.isoformat()} (VDOT {saved.vdot:.1f})"
                + ("" if dated else " (dated today: the file does not say when it was run)")
            )
            print(_paces_line(saved.vdot, unit_m))


def _store(
    activity: str, recorded: Any, w: Any, result: Any, summary: Any, warn: Any, *, strict: bool
) -> tuple[int, bool] | None:
    """Store the review; (id, replaced). A history that cannot be written is a warning (the review is printed
    anyway), or with `strict` (``--add-trial`` needs it) the HistoryError."""
    from cadencecoach.files import InputRefused
    from cadencecoach.history.db import HistoryError, open_db
    from cadencecoach.history.reviews import save_review

    try:
        digest = _sha256(activity)
        db = open_db(warn=warn)
        assert db is not None
        with db:
            return save_review(
                db,
                activity=activity,
                sha256=digest,
                started_at=recorded.started_at,
                workout=None if w is None else w.name,
                workout_source=None if w is None else w.source,
                aligned_by=result.aligned_by,
                in_tolerance=result.overall.in_tolerance,
                summary=summary,
            )
    except HistoryError as exc:
        if strict:
            raise
        warn(f"the review was not stored: {exc}")
    except (InputRefused, OSError) as exc:  # the file changed since it was read
        warn(f"the review was not stored: cannot read {safe_text(activity)} again: {exc}")
    return None


def _make_trial(run: Any, result: Any) -> tuple[Any, bool]:
    """The trial of `run` (dated the run's day) and whether the file gave that day; UsageError naming
    --add-trial for a result no runner has."""
    from pathlib import PurePath

    from cadencecoach.errors import UsageError
    from cadencecoach.history.trials import format_time, make_trial

    day, dated = _trial_day(result)
    name = PurePath(result.activity.source).name or result.activity.source
    note = f"review of {name}" + (f" ({result.workout})" if result.workout else "")
    try:
        trial = make_trial(f"{run.distance} {format_time(run.time_s)}", day, note[:200])
    except UsageError as exc:
        raise UsageError(f"--add-trial: {exc}") from None
    return trial, dated


def _save_trial(pending: tuple[Any, bool], warn: Any) -> tuple[Any, bool]:
    from cadencecoach.history.db import open_db
    from cadencecoach.history.trials import add_trial

    trial, dated = pending
    db = open_db(warn=warn)
    assert db is not None
    with db:
        return add_trial(db, trial), dated
