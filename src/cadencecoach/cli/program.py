"""``cadencecoach program new|show|export`` and ``today``: a season of sessions (docs/PROGRAM.md).

Registered by cli/app.py (``register(app)``). Like cli/history.py this module has no ``from __future__ import
annotations``, so Typer sees real annotation objects. The work is in the ``program`` package; this module reads
the history (runs, trials), asks the program how it stands today, and prints, writes or plays it.

``today`` as a WORKOUT (``run today``, ``render today``, ``plan today``, ``convert today``) is the active
program's session for today, written (atomically, paces from the latest trial) to
``$CADENCECOACH_HOME/programs/ID/DAY-SESSION.yaml``: the file the run is recorded under, which is how the
program knows it was run.
"""

import json
import re
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer

from cadencecoach.terminal import markup_safe

TODAY = "today"
"""The WORKOUT argument that names today's session of the active program."""

STATUS_MARK = {
    "done": "[green]done[/]",
    "shortened": "[yellow]shortened[/]",
    "missed": "[red]missed[/]",
    "moved": "[cyan]moved[/]",
    "replaced": "[dim]gave way[/]",
    "today": "[bold]today[/]",
    "planned": "",
}

DEFAULT_KM_PER_DAY = 6.0
"""With no --volume and no history, a week of DAYS runs is assumed to be DAYS x 6 km (the seeds' beginner,
10-15 miles over 3-4 runs)."""


def _console() -> Any:
    from cadencecoach.terminal import console

    return console()


# ------------------------------------------------------------------------------------------- the parts


def program_dir(program_id: int) -> Path:
    from cadencecoach.workout.library import home_dir

    return home_dir() / "programs" / str(program_id)


def session_path(program_id: int, session: Any) -> Path:
    return program_dir(program_id) / f"{session.day.isoformat()}-{session.template}.yaml"


def _history_in(db: Any, warn: Any) -> tuple[list[Any], list[Any]]:
    """(runs, trials) of the history in `db`, as the program reads them."""
    from cadencecoach.history.sessions import list_sessions
    from cadencecoach.history.trials import list_trials
    from cadencecoach.program.adapt import Run, TrialResult

    rows = list_sessions(db)
    trials = list_trials(db, warn)
    runs = [Run(r.local_start.date(), r.workout_source, r.workout_name, r.status, r.run_s, r.planned_s) for r in rows]
    return runs, [TrialResult(t.date, t.result, t.vdot) for t in trials]


def _history(warn: Any) -> tuple[list[Any], list[Any]]:
    """(runs, trials) of the history; empty without a database."""
    from cadencecoach.history.db import open_db

    db = open_db(create=False, warn=warn)
    if db is None:
        return [], []
    with db:
        return _history_in(db, warn)


def standing(program_id: int | None, warn: Any, today: date | None = None) -> tuple[Any, list[Any]]:
    """(the stored program, its sessions as they stand today): the program, the runs and the trials read from
    the history at once."""
    from cadencecoach.errors import UsageError
    from cadencecoach.history.db import open_db
    from cadencecoach.program.adapt import adapt
    from cadencecoach.program.store import active_program, get_program

    db = open_db(create=False, warn=warn)
    stored = None
    if db is not None:
        with db:
            stored = active_program(db) if program_id is None else get_program(db, program_id)
            if stored is not None:
                runs, trials = _history_in(db, warn)
    if stored is None:
        if program_id is not None:
            raise UsageError(f"--id {program_id}: no such program (see 'cadencecoach program show')")
        raise UsageError(
            "no training program yet: make one with 'cadencecoach program new --goal \"1mi 5:30\" --days 4 --weeks 12'"
        )
    entries = adapt(
        stored.program,
        runs,
        trials,
        today or date.today(),
        lambda s: str(session_path(stored.id, s)),
        created=_created_day(stored.created_at),
    )
    return stored, entries


def _created_day(created_at: str) -> date | None:
    """The local day a program was made (stored as UTC ISO 8601)."""
    from cadencecoach.history.sessions import parse_timestamp

    try:
        when = parse_timestamp(created_at)
    except ValueError:
        return None
    return when.astimezone().date() if when else None


def entry_yaml(stored: Any, entry: Any) -> str:
    from dataclasses import replace

    p = stored.program
    session = replace(entry.session, day=entry.day)  # a moved session says the day it is run on
    return session.yaml(entry.trial, p.goal_pace, program_name=p.name, weeks=p.inputs.weeks)


def write_session(stored: Any, entry: Any) -> Path:
    """The session's workout file (paces from its trial), written atomically; its path."""
    from cadencecoach import atomic

    path = session_path(stored.id, entry.session)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, entry_yaml(stored, entry))
    return path


def today_arg(arg: str, warn: Any, tell: Any = None) -> str:
    """`arg` unchanged, or for ``today`` (when no file of that name is here) the path of today's session."""
    if arg != TODAY or Path(arg).exists():
        return arg
    from cadencecoach.errors import UsageError
    from cadencecoach.program.adapt import session_for

    stored, entries = standing(None, warn)
    day = date.today()
    entry = session_for(entries, day)
    if entry is None:
        raise UsageError(
            f"today: nothing is planned today in program {stored.id} (a rest day){_next_text(entries, day)}"
        )
    path = write_session(stored, entry)
    if tell is not None:
        tell(f"today: {entry.session.title} (week {entry.session.week + 1} of {stored.program.inputs.weeks})")
    return str(path)


def _next_text(entries: list[Any], day: date) -> str:
    """``; next: Thu 12 Mar, Tempo run, 20 min`` (or nothing at the end of the program)."""
    from cadencecoach.program.adapt import next_session

    nxt = next_session(entries, day)
    return f"; next: {nxt.day.strftime('%a %d %b')}, {nxt.session.title}" if nxt else ""


def parse_volume(text: str) -> float:
    """``25km``, ``15mi``, ``25`` (km) -> km."""
    from cadencecoach.errors import UsageError
    from cadencecoach.workout.units import METERS_PER_MILE

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(km|mi|miles?)?\s*", text.lower())
    if not m:
        raise UsageError(f"--volume {text}: write the weekly distance you run now, like 25km or 15mi")
    value = float(m.group(1))
    return value * float(METERS_PER_MILE) / 1000 if (m.group(2) or "km").startswith("mi") else value


def _volume_from_history(runs: list[Any], easy_s_per_km: float, today: date) -> float | None:
    """The average of the last 4 whole weeks' time run, at easy pace, in km; None with fewer than 2 runs."""
    since = today - timedelta(days=today.weekday() + 28)
    recent = [r for r in runs if since <= r.day < since + timedelta(days=28)]
    if len(recent) < 2:
        return None
    return sum(r.run_s for r in recent) / 4 / easy_s_per_km


def _week_label(w: Any) -> str:
    phase = {"base": "base", "speed": "speed", "taper": "taper"}[w.phase]
    return f"{w.index + 1} {phase}{', lighter' if w.light and w.phase != 'taper' else ''}"


def _entry_json(e: Any) -> dict[str, Any]:
    return {
        **e.session.to_json(),
        "kind": e.session.kind,
        "title": e.session.title,
        "planned_day": e.session.day.isoformat(),
        "day": e.day.isoformat(),
        "status": e.status,
        "trial": e.trial,
        "note": e.note,
        "ran_s": None if e.run is None else round(e.run.run_s, 1),
    }


def _program_json(stored: Any, entries: list[Any]) -> dict[str, Any]:
    from cadencecoach.program.adapt import by_week, week_km

    p = stored.program
    weeks = by_week(entries)
    return {
        "id": stored.id,
        "name": p.name,
        "inputs": p.inputs.to_json(),
        "vdot": round(p.vdot, 2),
        "goal_vdot": round(p.goal_vdot, 2),
        "start": p.inputs.start.isoformat(),
        "end": p.end.isoformat(),
        "notes": list(p.notes),
        "weeks": [
            {
                "index": w.index,
                "start": w.start.isoformat(),
                "phase": w.phase,
                "light": w.light,
                "cadence": w.cadence,
                "volume_km": round(week_km(weeks.get(w.index, [])), 2),
                "sessions": [_entry_json(e) for e in weeks.get(w.index, [])],
            }
            for w in p.weeks
        ],
    }


def print_program(stored: Any, entries: list[Any]) -> None:
    from rich.table import Table

    from cadencecoach.program.adapt import by_week, week_km
    from cadencecoach.workout.units import format_clock

    p = stored.program
    console = _console()
    console.print(
        f"[bold]program {stored.id}: {markup_safe(p.name)}[/], {p.inputs.days} days a week, "
        f"{p.inputs.start.isoformat()} to {p.end.isoformat()}; from {markup_safe(p.inputs.trial)} "
        f"(VDOT {p.vdot:.1f}) to VDOT {p.goal_vdot:.1f}"
    )
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, right in (
        ("week", False),
        ("day", False),
        ("session", False),
        ("km", True),
        ("time", True),
        ("spm", True),
        ("", False),
    ):
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    weeks = by_week(entries)
    for w in p.weeks:
        rows = weeks.get(w.index, [])
        km = week_km(rows)
        secs = sum(e.session.planned_s for e in rows if e.status != "replaced")
        for i, e in enumerate(rows):
            mark = STATUS_MARK.get(e.status, e.status)
            if e.note:
                mark = f"{mark} [dim]({markup_safe(e.note)})[/]".strip()
            table.add_row(
                _week_label(w) if i == 0 else "",
                e.day.strftime("%a %d %b"),
                markup_safe(e.session.title),
                f"{e.distance_km:.1f}",
                format_clock(e.session.planned_s),
                str(e.session.cadence),
                mark,
            )
        table.add_row(
            "",
            "",
            f"[dim]week {w.index + 1}[/]",
            f"[dim]{km:.1f}[/]",
            f"[dim]{format_clock(secs)}[/]",
            "",
            "",
            end_section=True,
        )
    console.print(table)
    for note in p.notes:
        console.print(f"[yellow]note:[/] {markup_safe(note)}")


# ------------------------------------------------------------------------------------------- commands

GoalOpt = Annotated[str, typer.Option("--goal", metavar="RESULT", help='Your goal, e.g. --goal "1mi 5:30".')]
IdOpt = Annotated[int | None, typer.Option("--id", metavar="ID", help="A program by its id (default: the active one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]


def register(app: typer.Typer) -> None:
    """Add ``program`` (new, show, export) and ``today`` to `app`."""
    from cadencecoach.cli.app import guard, warn

    program_app = typer.Typer(
        name="program",
        help="A dated training program for a faster mile: base, speed and taper, time trials every 4-6 weeks.",
        no_args_is_help=True,
        rich_markup_mode="rich",
        epilog=(
            'Examples:\n\n  cadencecoach program new --goal "1mi 5:30" --days 4 --weeks 12 --trial "1mi 6:30"\n\n'
            "  cadencecoach program show\n\n  cadencecoach run today\n\n  cadencecoach program export -o season --audio"
        ),
    )
    app.add_typer(program_app, name="program")

    @program_app.command(
        "new",
        epilog=(
            'Examples:\n\n  cadencecoach program new --goal "1mi 5:30" --days 4 --weeks 12 --trial "1mi 6:30"\n\n'
            '  cadencecoach program new --goal "1mi 6:00" --days 3 --weeks 10 --start 2027-01-04 --volume 15mi\n\n'
            '  cadencecoach program new --goal "1mi 5:00" --days 5 --weeks 16 --cadence 185 --cadence-from 174'
        ),
    )
    @guard
    def program_new(
        goal: GoalOpt,
        days: Annotated[int, typer.Option("--days", metavar="N", help="Runs a week, 3 to 6.")] = 4,
        weeks: Annotated[
            int, typer.Option("--weeks", metavar="N", help="Weeks, 6 to 26; the goal mile ends the last.")
        ] = 12,
        start: Annotated[
            str | None, typer.Option("--start", metavar="YYYY-MM-DD", help="The first day (default: next Monday).")
        ] = None,
        trial: Annotated[
            str | None,
            typer.Option(
                "--trial", metavar="RESULT", help='Your current fitness, e.g. "1mi 6:30" (default: your latest trial).'
            ),
        ] = None,
        volume: Annotated[
            str | None,
            typer.Option(
                "--volume",
                metavar="DISTANCE",
                help="What you run a week now, e.g. 25km or 15mi (default: your last 4 weeks, else 6 km a run).",
            ),
        ] = None,
        cadence: Annotated[int, typer.Option("--cadence", metavar="SPM", help="The cadence to work up to.")] = 180,
        cadence_from: Annotated[
            int | None, typer.Option("--cadence-from", metavar="SPM", help="Where the click starts (default: 6 below).")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Make a program from your goal, days a week, weeks, current trial and volume; it becomes the active one."""
        from cadencecoach.errors import UsageError
        from cadencecoach.history.db import open_db
        from cadencecoach.history.trials import make_trial, read_latest_trial
        from cadencecoach.program.adapt import adapt
        from cadencecoach.program.planner import ProgramError, ProgramInputs, build_program, next_monday
        from cadencecoach.program.store import get_program, save_program
        from cadencecoach.workout import vdot as vdot_mod

        today = date.today()
        first = _day_option("--start", start) or next_monday(today)
        if not today - timedelta(days=7) <= first <= today + timedelta(days=366):
            raise UsageError(f"--start {start}: give a day from a week ago to a year ahead")
        try:
            found = make_trial(trial, today) if trial else read_latest_trial(warn=warn)
        except UsageError as exc:
            raise UsageError(f"--trial {trial}: {exc}") from None
        if found is None:
            raise UsageError(
                'no trial to start from: pass --trial "1mi 6:30" (your current mile), or record one with '
                "'cadencecoach trial add 1mi 6:30'"
            )
        runs, _ = _history(warn)
        if volume is not None:
            km = parse_volume(volume)
        else:
            easy = vdot_mod.derived_paces(found.vdot)["easy"]
            km = _volume_from_history(runs, easy, today) or DEFAULT_KM_PER_DAY * days
            warn(f"--volume not given: starting from {km:.0f} km a week")
        inputs = ProgramInputs(
            goal=goal.strip(),
            days=days,
            weeks=weeks,
            start=first,
            trial=found.result,
            trial_date=min(found.date, first),
            volume_km=round(km, 1),
            cadence=cadence,
            cadence_from=cadence_from if cadence_from is not None else max(150, cadence - 6),
        )
        try:
            program = build_program(inputs)
        except ProgramError as exc:
            raise UsageError(str(exc)) from None
        db = open_db(warn=warn)
        assert db is not None
        with db:
            program_id = save_program(db, program)
            stored = get_program(db, program_id)
        assert stored is not None
        entries = adapt(stored.program, runs, [], today, lambda s: str(session_path(stored.id, s)), created=today)
        if as_json:
            sys.stdout.write(json.dumps(_program_json(stored, entries)) + "\n")
            return
        print_program(stored, entries)
        print(f"saved as program {program_id}: 'cadencecoach run today' plays the day's session")

    @program_app.command(
        "show",
        epilog=(
            "Examples:\n\n  cadencecoach program show\n\n  cadencecoach program show --json\n\n"
            "  cadencecoach program show --plot season.png"
        ),
    )
    @guard
    def program_show(
        program_id: IdOpt = None,
        as_json: JsonOpt = False,
        plot: Annotated[
            Path | None, typer.Option("--plot", metavar="FILE", help="A season chart: .png, .svg or .pdf.")
        ] = None,
    ) -> None:
        """The program week by week, each session done, missed, moved or to come."""
        stored, entries = standing(program_id, warn)
        if plot is not None:
            from cadencecoach.cli.options import check_output, writing
            from cadencecoach.history.charts import check_output as chart_format
            from cadencecoach.program.chart import plot_season

            check_output(plot, option="--plot", check_format=lambda p: chart_format(p, "--plot"))
            with writing(plot, option="--plot"):
                plot_season(stored.program, entries, plot, today=date.today())
            print(f"wrote {plot}", file=sys.stderr)
        if as_json:
            sys.stdout.write(json.dumps(_program_json(stored, entries)) + "\n")
            return
        print_program(stored, entries)

    @program_app.command(
        "export",
        epilog=(
            "Examples:\n\n  cadencecoach program export -o season\n\n"
            "  cadencecoach program export -o season --audio\n\n"
            "  cadencecoach program export -o season --audio --format m4a --at 18:30\n\n"
            "  cadencecoach program export -o week3 --audio --from 2027-01-18 --to 2027-01-24"
        ),
    )
    @guard
    def program_export(
        output: Annotated[Path, typer.Option("-o", "--output", metavar="DIR", help="The folder (made if needed).")],
        audio: Annotated[bool, typer.Option("--audio", help="Also one audio file per session, for a phone.")] = False,
        audio_format: Annotated[
            str,
            typer.Option("--format", metavar="EXT", help="The audio files' format: mp3, m4a, opus, ogg, flac, wav."),
        ] = "mp3",
        at: Annotated[
            str, typer.Option("--at", metavar="HH:MM", help="When the sessions start in the calendar.")
        ] = "07:00",
        since: Annotated[
            str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="Only the sessions from this day on.")
        ] = None,
        until: Annotated[
            str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Only the sessions up to this day.")
        ] = None,
        program_id: IdOpt = None,
    ) -> None:
        """Write the program for your calendar (program.ics), your watch (one FIT workout per session) and, with
        --audio, your phone (one audio file per session, a chapter per step), rendered on every core."""
        export(output, audio, audio_format, at, program_id, warn, since=since, until=until)

    @app.command(
        "today",
        epilog=(
            "Examples:\n\n  cadencecoach today\n\n  cadencecoach run today\n\n  cadencecoach render today -o today.m4a"
        ),
    )
    @guard
    def today_command(as_json: JsonOpt = False) -> None:
        """What your program has for today (play it with 'cadencecoach run today')."""
        from cadencecoach.program.adapt import next_session, session_for
        from cadencecoach.workout.units import format_clock

        stored, entries = standing(None, warn)
        day = date.today()
        entry = session_for(entries, day)
        if as_json:
            nxt = next_session(entries, day)
            out = {
                "program": stored.id,
                "date": day.isoformat(),
                "session": None if entry is None else _entry_json(entry),
                "next": None if nxt is None else _entry_json(nxt),
            }
            sys.stdout.write(json.dumps(out) + "\n")
            return
        if entry is None:
            print(f"a rest day in program {stored.id}{_next_text(entries, day)}")
            return
        s = entry.session
        print(
            f"{s.title}: week {s.week + 1} of {stored.program.inputs.weeks}, {s.distance_km:.1f} km, "
            f"{format_clock(s.planned_s)}, {s.cadence} spm, paces from {entry.trial}"
            + (f" ({entry.status})" if entry.status not in ("today", "planned") else "")
        )
        print("play it: cadencecoach run today   (or: cadencecoach render today -o today.m4a)")


def _day_option(option: str, text: str | None) -> date | None:
    from cadencecoach.errors import UsageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text}: write the day as YYYY-MM-DD, like 2027-01-04") from None


def export(
    output: Path,
    audio: bool,
    audio_format: str,
    at: str,
    program_id: int | None,
    warn: Any,
    *,
    since: str | None = None,
    until: str | None = None,
) -> None:
    from cadencecoach import extras
    from cadencecoach.errors import UsageError
    from cadencecoach.program.calendar import Event, write_calendar
    from cadencecoach.program.describe import describe_steps
    from cadencecoach.workout.loader import load_workout_text

    fmt = audio_format.lower().lstrip(".")
    if fmt not in ("m4a", "mp3", "opus", "ogg", "flac", "wav"):
        raise UsageError(f"--format {audio_format}: choose m4a, mp3, opus, ogg, flac or wav")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise UsageError(f"--at {at}: write the time as HH:MM, like 07:00")
    starts_at = time(int(m.group(1)), int(m.group(2)))
    first, last = _day_option("--from", since), _day_option("--to", until)
    if first and last and last < first:
        raise UsageError(f"--to {until} is before --from {since}")
    if output.exists() and not output.is_dir():
        raise UsageError(f"-o {output}: is a file, not a folder")
    stored, entries = standing(program_id, warn)
    output.mkdir(parents=True, exist_ok=True)
    (output / "workouts").mkdir(exist_ok=True)
    from cadencecoach import atomic

    plays = [
        e
        for e in entries
        if e.status != "replaced" and (first is None or e.day >= first) and (last is None or e.day <= last)
    ]
    if not plays:
        raise UsageError(f"no session of program {stored.id} between --from and --to")
    events = []
    files: list[tuple[Any, Path]] = []
    for e in plays:
        stem = f"{e.session.index + 1:03d}-{e.day.isoformat()}-{e.session.template}"
        text = entry_yaml(stored, e)
        yaml_path = output / "workouts" / f"{stem}.yaml"
        atomic.write_text(yaml_path, text)
        workout = load_workout_text(text, str(yaml_path))
        files.append((workout, yaml_path))
        begin = datetime.combine(e.day, starts_at)
        events.append(
            Event(
                uid=f"program-{stored.id}-session-{e.session.index}@cadencecoach",
                start=begin,
                end=begin + timedelta(seconds=round(e.session.planned_s)),
                summary=e.session.title,
                description=describe_steps(
                    workout,
                    header=f"Week {e.session.week + 1} of {stored.program.inputs.weeks}, "
                    f"{e.session.distance_km:.1f} km, {e.session.cadence} spm. Play: cadencecoach run today",
                ),
                categories=("running", e.session.kind),
            )
        )
    write_calendar(output / "program.ics", events, name=stored.program.name, stamp=datetime.now(timezone.utc))
    print(f"wrote {output / 'program.ics'} ({len(events)} sessions)", file=sys.stderr)
    try:
        extras.load("garmin_fit_sdk", "FIT export")
    except Exception as exc:  # the fit extra is missing: the rest of the export still helps
        warn(f"no FIT workouts: {exc}")
    else:
        from cadencecoach.workout.formats.fit import write_fit

        (output / "fit").mkdir(exist_ok=True)
        for workout, yaml_path in files:
            for message in write_fit(workout, output / "fit" / f"{yaml_path.stem}.fit"):
                warn(f"{yaml_path.stem}.fit: {message}")
        print(f"wrote {len(files)} FIT workouts to {output / 'fit'}", file=sys.stderr)
    if audio:
        from cadencecoach.cli.batch_render import RenderJob, render_sessions
        from cadencecoach.errors import inform

        (output / "audio").mkdir(exist_ok=True)
        jobs = [
            RenderJob(yaml_path, output / "audio" / f"{yaml_path.stem}.{fmt}", label=workout.name)
            for workout, yaml_path in files
        ]
        done = render_sessions(jobs, tell=inform)
        print(f"wrote {len(done)} audio files to {output / 'audio'}", file=sys.stderr)
