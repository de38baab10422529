"""The history commands of the CLI: ``trial`` (add, list, rm, plot), ``paces`` and ``history`` (the sessions, the
weekly totals and the latest reviews: ``review``'s adherence, docs/REVIEW.md).

Registered by cli/app.py (``register(app)``). Like cli/live.py this module has no ``from __future__ import
annotations``, so Typer sees real annotation objects. The work is in the ``history`` package.

What the database holds (workout names, notes, results, statuses) came from files or from another program:
every table and line shows it through :func:`cadencecoach.terminal.markup_safe` (or ``safe_text``), the CSV
too (a CSV cannot escape a control character: it is written as its escape, ``\\x1b``); JSON escapes it.
"""

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cadencecoach.terminal import markup_safe, safe_text

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def _console() -> Any:
    from cadencecoach.terminal import console

    return console()


def _table(*columns: str, right: tuple[str, ...] = ()) -> Any:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col in columns:
        wraps = col in ("workout", "note", "pace")
        table.add_column(col, justify="right" if col in right else "left", no_wrap=not wraps, overflow="fold")
    return table


def register(app: typer.Typer) -> None:
    """Add ``trial``, ``paces`` and ``history`` to `app`."""
    from cadencecoach.cli.app import TrialOpt, guard, warn

    trial_app = typer.Typer(
        name="trial",
        help="Your time trials: add, list, remove and plot them. The latest one sets your derived paces.",
        no_args_is_help=True,
        rich_markup_mode="rich",
        epilog=(
            "Examples:\n\n  cadencecoach trial add 1mi 6:12 --date 2026-11-20\n\n  cadencecoach trial list\n\n"
            "  cadencecoach trial plot -o trials.png"
        ),
    )
    app.add_typer(trial_app, name="trial")

    # ------------------------------------------------------------------------------ trial add
    @trial_app.command(
        "add",
        epilog=(
            "Examples:\n\n  cadencecoach trial add 1mi 6:12\n\n"
            '  cadencecoach trial add 5k 19:57 --date 2026-11-20 --note "windy, track"\n\n'
            "  cadencecoach trial add mile 5:58.4 --date yesterday"
        ),
    )
    @guard
    def trial_add(
        result: Annotated[
            list[str], typer.Argument(metavar="DISTANCE TIME", help="The result, like 1mi 6:12 or 5k 19:57.")
        ],
        on: Annotated[
            str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="The day you ran it (default: today).")
        ] = None,
        note: Annotated[str | None, typer.Option("--note", help="A note: course, weather, how it felt.")] = None,
    ) -> None:
        """Record a time trial (its VDOT sets your derived paces from now on)."""
        from cadencecoach.history.db import open_db
        from cadencecoach.history.trials import add_trial, make_trial, parse_date

        trial = make_trial(" ".join(result), parse_date(on), note)
        db = open_db(warn=warn)
        assert db is not None
        with db:
            saved = add_trial(db, trial)
        shown = safe_text(saved.result)
        print(f"added trial {saved.id}: {shown} on {saved.date.isoformat()} (VDOT {saved.vdot:.1f})")

    # ------------------------------------------------------------------------------ trial list
    @trial_app.command("list", epilog="Examples:\n\n  cadencecoach trial list\n\n  cadencecoach trial list --json")
    @guard
    def trial_list(as_json: JsonOpt = False) -> None:
        """List your time trials, oldest first, with their VDOT."""
        from cadencecoach.history.db import open_db
        from cadencecoach.history.trials import list_trials

        db = open_db(create=False, warn=warn)
        trials = []
        if db is not None:
            with db:
                trials = list_trials(db)
        if as_json:
            sys.stdout.write(json.dumps({"trials": [t.to_json() for t in trials]}) + "\n")
            return
        if not trials:
            print("no trials recorded yet: add one with 'cadencecoach trial add 1mi 6:12'")
            return
        table = _table("id", "date", "result", "VDOT", "note", right=("id", "VDOT"))
        for t in trials:
            table.add_row(
                str(t.id), t.date.isoformat(), markup_safe(t.result), f"{t.vdot:.1f}", markup_safe(t.note or "")
            )
        _console().print(table)

    # ------------------------------------------------------------------------------ trial rm
    @trial_app.command(
        "rm", epilog="Example:\n\n  cadencecoach trial rm 3      (the id from 'cadencecoach trial list')"
    )
    @guard
    def trial_rm(
        trial_id: Annotated[int, typer.Argument(metavar="ID", help="The trial's id (see trial list).")],
    ) -> None:
        """Remove a time trial."""
        from cadencecoach.errors import UsageError
        from cadencecoach.history.db import open_db
        from cadencecoach.history.trials import remove_trial

        db = open_db(create=False, warn=warn)
        removed = None
        if db is not None:
            with db:
                removed = remove_trial(db, trial_id)
        if removed is None:
            raise UsageError(f"no trial with id {trial_id} (see 'cadencecoach trial list')")
        print(f"removed trial {trial_id}: {safe_text(removed.result)} on {removed.date.isoformat()}")

    # ------------------------------------------------------------------------------ trial plot
    @trial_app.command(
        "plot", epilog="Examples:\n\n  cadencecoach trial plot -o trials.png\n\n  cadencecoach trial plot -o t.svg"
    )
    @guard
    def trial_plot(
        output: Annotated[Path, typer.Option("-o", "--output", help="The image: .png, .svg or .pdf.")],
    ) -> None:
        """Chart your trials over time: the equivalent mile time and the VDOT with its trend."""
        from cadencecoach.cli.options import check_output, writing
        from cadencecoach.history.charts import check_output as chart_format
        from cadencecoach.history.charts import plot_trials
        from cadencecoach.history.db import open_db
        from cadencecoach.history.trials import list_trials

        check_output(output, check_format=lambda p: chart_format(p, "-o"))  # the one output check, before any work
        db = open_db(create=False, warn=warn)
        trials = []
        if db is not None:
            with db:
                trials = list_trials(db)
        with writing(output):
            chart = plot_trials(trials, output)
        trend = ""
        if chart.vdot_per_30_days is not None:
            trend = f", VDOT trend {chart.vdot_per_30_days:+.1f} per 30 days"
        print(f"wrote {safe_text(output)} ({len(chart.points)} trials{trend})")

    # ------------------------------------------------------------------------------ paces
    @app.command(
        epilog=(
            "Examples:\n\n  cadencecoach paces\n\n"
            '  cadencecoach paces --trial "5k 20:00"\n\n  cadencecoach paces --json'
        )
    )
    @guard
    def paces(trial: TrialOpt = None, as_json: JsonOpt = False) -> None:
        """Your training and race paces (per km, per mile, per 400 m) from your latest trial, or --trial.

        Training paces follow Daniels' Running Formula (3rd ed., Table 5.2); easy is shown as its range."""
        from cadencecoach.errors import UsageError
        from cadencecoach.history.trials import make_trial, pace_table, read_latest_trial

        if trial:
            t = make_trial(trial)
            source = f"--trial {t.result}"
        else:
            found = read_latest_trial(warn=warn)
            if found is None:
                raise UsageError(
                    "no trial recorded yet: add one with 'cadencecoach trial add 1mi 6:12',"
                    ' or pass --trial "5k 20:00"'
                )
            t = found
            source = f"your {t.describe()}"
        rows = pace_table(t.vdot)
        if as_json:
            out = {
                "trial": t.to_json() if t.id is not None else {"result": t.result, "vdot": round(t.vdot, 2)},
                "vdot": round(t.vdot, 2),
                "paces": [r.to_json() for r in rows],
            }
            sys.stdout.write(json.dumps(out) + "\n")
            return
        console = _console()
        console.print(f"[bold]paces from {markup_safe(source)}[/]: VDOT {t.vdot:.1f}")
        table = _table(
            "pace",
            "name",
            "per km",
            "per mile",
            "per 400 m",
            "race time",
            right=("per km", "per mile", "per 400 m", "race time"),
        )
        from cadencecoach.history.trials import format_time

        for r in rows:
            table.add_row(
                r.label,
                r.name,
                *r.texts(),  # the easy row: its range, fast-slow
                "" if r.race_time_s is None else format_time(round(r.race_time_s)),
            )
        console.print(table)
        console.print(
            "[dim]use them by name in a workout: 'pace: threshold', 'pace: mile'; 'easy' is the middle of the easy"
            " range, 'easy-fast' and 'easy-slow' its ends[/]"
        )

    # ------------------------------------------------------------------------------ history
    @app.command(
        epilog=(
            "Examples:\n\n  cadencecoach history\n\n  cadencecoach history --json\n\n"
            "  cadencecoach history --csv > sessions.csv\n\n  cadencecoach history --weekly --csv"
        )
    )
    @guard
    def history(
        as_json: JsonOpt = False,
        as_csv: Annotated[
            bool, typer.Option("--csv", help="CSV on stdout (one row per session, or per week).")
        ] = False,
        weekly: Annotated[bool, typer.Option("--weekly", help="Only the weekly totals.")] = False,
        limit: Annotated[
            int | None,
            typer.Option("--limit", "-n", min=1, metavar="N", help="Only the N latest sessions (and reviews)."),
        ] = None,
    ) -> None:
        """Every session you ran (newest first), your weekly totals of time run, and your latest reviews: how
        closely you kept to the click."""
        from cadencecoach.errors import UsageError
        from cadencecoach.history.db import open_db
        from cadencecoach.history.reviews import list_reviews
        from cadencecoach.history.sessions import list_sessions, weekly_totals

        if as_json and as_csv:
            raise UsageError("--json and --csv: choose one")
        db = open_db(create=False, warn=warn)
        sessions = []
        reviews = []
        if db is not None:
            with db:
                sessions = list_sessions(db)
                if not weekly and not as_csv:
                    reviews = list_reviews(db, limit if as_json else (limit or REVIEWS_SHOWN))
        weeks = weekly_totals(sessions)
        shown = sessions[:limit] if limit else sessions
        if as_json:
            out: dict[str, Any] = {"weeks": [w.to_json() for w in weeks]}
            if not weekly:
                out["sessions"] = [s.to_json() for s in shown]
                out["reviews"] = [r.to_json() for r in reviews]
            sys.stdout.write(json.dumps(out) + "\n")
            return
        if as_csv:
            rows = [w.to_json() for w in weeks] if weekly else [s.to_json() for s in shown]
            fields = list(rows[0]) if rows else _csv_fields(weekly)
            writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows([{k: safe_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows])
            return
        _print_history(shown, weeks, weekly)
        if reviews:
            _print_reviews(reviews)


def _csv_fields(weekly: bool) -> list[str]:
    if weekly:
        return ["week", "iso_week", "sessions", "completed", "time_run_s"]
    return [
        "id",
        "workout",
        "source",
        "hash",
        "started_at",
        "ended_at",
        "status",
        "time_run_s",
        "planned_s",
        "steps_total",
        "steps_completed",
        "steps_skipped",
        "stopped_early",
        "underflows",
        "week",
    ]


REVIEWS_SHOWN = 10
"""Reviews ``history`` lists (the latest runs first); ``--json`` lists every one, ``-n`` sets both."""

_STATUS_STYLE = {"completed": "green", "stopped": "yellow", "interrupted": "red", "running": "cyan"}


def _print_history(sessions: list[Any], weeks: list[Any], weekly: bool) -> None:
    from cadencecoach.history.trials import format_time

    console = _console()
    if not sessions:
        console.print("no sessions recorded yet: every 'cadencecoach run' is recorded here")
        return
    if not weekly:
        gaps = any(s.underflows for s in sessions)  # the audio-gaps column only when there were any
        columns = ["id", "started", "workout", "status", "steps", "time run"] + (["underflows"] if gaps else [])
        table = _table(*columns, right=("id", "steps", "time run", "underflows"))
        for s in sessions:
            steps = f"{s.steps_completed}/{s.steps_total}"
            if s.steps_skipped:
                steps += f", {s.steps_skipped} skipped"
            style = _STATUS_STYLE.get(s.status, "")
            row = [
                str(s.id),
                s.local_start.strftime("%Y-%m-%d %H:%M"),
                markup_safe(s.workout_name),
                f"[{style}]{s.status}[/]" if style else markup_safe(s.status),
                steps,
                format_time(round(s.run_s)),
            ]
            table.add_row(*row, *([str(s.underflows) if s.underflows else ""] if gaps else []))
        console.print(table)
        console.print()
    table = _table("week", "sessions", "completed", "time run", right=("sessions", "completed", "time run"))
    for w in weeks:
        iso = w.week.isocalendar()
        table.add_row(
            f"{w.week.isoformat()} ({iso[0]}-W{iso[1]:02d})",
            str(w.sessions),
            str(w.completed),
            format_time(round(w.run_s)),
        )
    console.print(table)
    total = sum(w.run_s for w in weeks)
    console.print(f"[dim]{len(sessions)} sessions, {format_time(round(total))} run in all[/]")


def _print_reviews(reviews: list[Any]) -> None:
    """The latest reviews (``review``): when, which file and workout, and the share of time on the click."""
    from pathlib import PurePath

    from cadencecoach.history.trials import format_time

    console = _console()
    console.print()
    tolerances = {r.summary.get("tolerance_spm") for r in reviews if r.in_tolerance is not None}
    same = len(tolerances) <= 1
    share_col = f"±{next(iter(tolerances)):g} spm" if same and tolerances and None not in tolerances else "on click"
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("run", no_wrap=True)  # the day the activity began
    table.add_column("activity", max_width=20, no_wrap=True, overflow="ellipsis")
    table.add_column("workout", min_width=8, overflow="fold")
    for col in ("time", "km", "spm", share_col):
        table.add_column(col, justify="right", no_wrap=True)
    for r in reviews:
        o = r.overall
        duration, distance, cadence = o.get("duration_s"), o.get("distance_m"), o.get("cadence_spm")
        share = ""
        if r.in_tolerance is not None:
            share = f"{r.in_tolerance:.0%}"
            tol = r.summary.get("tolerance_spm")
            if not same and isinstance(tol, (int, float)):
                share += f" (±{tol:g})"
        workout = markup_safe(r.workout) if r.workout else "[dim]laps[/]"  # (how it was aligned: --json)
        table.add_row(
            str(r.id),
            r.when.strftime("%Y-%m-%d"),
            markup_safe(PurePath(r.activity).name or r.activity),
            workout,
            format_time(round(duration)) if isinstance(duration, (int, float)) else "",
            f"{distance / 1000:.2f}" if isinstance(distance, (int, float)) else "",
            f"{cadence:.0f}" if isinstance(cadence, (int, float)) else "",
            share,
        )
    console.print(table)
    console.print("[dim]reviews of your recorded runs, the latest first ('cadencecoach review FILE --workout W')[/]")
