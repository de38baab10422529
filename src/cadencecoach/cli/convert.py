"""``cadencecoach convert IN -o OUT``: a workout (YAML, intervals.icu ``.txt``, Zwift ``.zwo``, Garmin FIT ``.fit``,
or a shipped name) to our YAML (``.yaml``/``.yml``) or to a Garmin FIT workout (``.fit``). Registered by cli.py.

Like cli/live.py, this module has no ``from __future__ import annotations``: Typer needs real annotation objects.
The work is in :mod:`cadencecoach.workout.formats`.
"""

from pathlib import Path
from typing import Annotated

import typer

from cadencecoach.terminal import safe_text

YAML_SUFFIXES = (".yaml", ".yml")
FIT_SUFFIXES = (".fit",)

OpenStepOpt = Annotated[
    str | None,
    typer.Option(
        "--open-step",
        metavar="DURATION",
        help="Give open steps ('press lap') that have no length this nominal one, e.g. --open-step 60s; they stay "
        "open (the lap key ends them) in YAML and FIT alike.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``convert`` to `app`."""
    from cadencecoach.cli.app import PaceOpt, TrialOpt, guard, warn

    @app.command(
        epilog=(
            "Examples:\n\n"
            "  cadencecoach convert threshold.txt -o threshold.yaml --pace threshold=4:15/km\n\n"
            "  cadencecoach convert intervals.zwo -o intervals.fit --trial '5k 20:00'\n\n"
            "  cadencecoach convert garmin-workout.fit -o garmin-workout.yaml\n\n"
            "  cadencecoach convert 10x400 -o 10x400.fit\n\n"
            "  cadencecoach convert hills.txt -o hills.yaml --open-step 90s\n\n"
            "IN is a YAML workout, an intervals.icu workout text (.txt), a Zwift workout (.zwo), a Garmin FIT "
            "workout (.fit: Garmin Connect, TrainingPeaks, TrainerRoad) or a shipped "
            "workout's name. Paces given as percentages (Zwift's Power, intervals.icu's '80% Pace', 'Z2 Pace') "
            "need a reference: --trial, or --pace threshold=... / 5k=... (see docs/FORMATS.md)."
        )
    )
    @guard
    def convert(
        workout: Annotated[
            str, typer.Argument(help="IN: a workout .yaml, .txt (intervals.icu), .zwo (Zwift), .fit (Garmin) or name.")
        ],
        output: Annotated[
            Path,
            typer.Option("-o", "--output", metavar="OUT", help="Output file: .yaml (our format) or .fit (Garmin)."),
        ],
        pace: PaceOpt = None,
        trial: TrialOpt = None,
        open_step: OpenStepOpt = None,
    ) -> None:
        """Convert a workout to our YAML or to a Garmin FIT workout file; what cannot be carried over is a warning."""
        from cadencecoach import pipeline as session
        from cadencecoach.cli.options import check_output, workout_input, writing
        from cadencecoach.cli.program import today_arg
        from cadencecoach.workout.units import format_clock

        workout = today_arg(workout, warn)
        suffix = output.suffix.lower()
        check_output(output, workout_input(workout), check_format=_check_suffix)
        warnings: list[str] = []
        to_yaml = suffix in YAML_SUFFIXES
        w = session.load(workout, pace, trial, open_step=open_step, warn=warnings.append)
        for message in warnings:
            warn(message)
        more: list[str] = []
        if to_yaml:
            with writing(output):
                _write_yaml(w, output, workout, warnings, more)
            what = f"{w.total_steps} steps"
        else:
            from cadencecoach.workout.formats.fit import fit_steps, write_fit

            with writing(output):
                more = write_fit(w, output)
            what = f"{len(fit_steps(w))} FIT steps"
        for message in more:
            warn(message)
        count = len(warnings) + len(more)
        note = f", {count} warning{'s' if count != 1 else ''}" if count else ""
        print(f"wrote {safe_text(output)} ({safe_text(w.name)}: {format_clock(float(w.total_duration))}, {what}{note})")


def _check_suffix(output: Path) -> None:
    if output.suffix.lower() not in YAML_SUFFIXES + FIT_SUFFIXES:
        raise ValueError("write .yaml (our workout format) or .fit (a Garmin workout)")


def _write_yaml(workout: object, output: Path, source: str, import_warnings: list[str], more: list[str]) -> None:
    from cadencecoach.errors import UsageError, WorkoutError
    from cadencecoach.workout.formats.yaml_out import dumps
    from cadencecoach.workout.loader import load_workout_text
    from cadencecoach.workout.source import MAX_YAML_BYTES

    header = "\n".join([f"Converted by cadencecoach from {source}"] + [f"warning: {m}" for m in import_warnings])
    text = dumps(workout, more, header=header)  # type: ignore[arg-type]
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:  # it would be refused when loaded: say so now, and write nothing
        raise UsageError(
            f"-o {output}: the workout written as YAML would be {size // 1024} KiB; a YAML workout is at most "
            f"{MAX_YAML_BYTES // 1024} KiB (convert it to .fit, or play the {source} file itself)"
        )
    try:  # the file must load back: a failure here is a bug, not the runner's problem
        load_workout_text(text, str(output))
    except WorkoutError as exc:
        raise RuntimeError(f"the YAML written for {output} does not load back: {exc}") from None
    from cadencecoach.atomic import write_text

    write_text(output, text)
