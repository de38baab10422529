"""Workouts from where runners already keep them, and out to where they train with them.

In:  intervals.icu workout text (``.txt``, :mod:`.icu`), Zwift workouts (``.zwo``, :mod:`.zwo`) and Garmin FIT
     workouts (``.fit``, :mod:`.fit_import`), straight into the :class:`~cadencecoach.workout.model.Workout`, so
     ``run``, ``render``, ``plan`` and ``validate`` take them.
Out: our own YAML (:mod:`.yaml_out`, loads back to the same timeline) and Garmin FIT workouts (:mod:`.fit`).

The mapping rules (pace references, zones, ramps, cadence units, open steps, what becomes a warning) are in
docs/FORMATS.md.
"""

from __future__ import annotations

from pathlib import Path

from cadencecoach.workout.formats._common import (
    LAP_HINT,
    LIVE_OPEN_STEP_S,
    ImportResult,
    OpenStepTooLong,
    for_live,
    open_steps,
    with_open_length,
)
from cadencecoach.workout.paces import LoadOptions

IMPORT_SUFFIXES = (".txt", ".zwo", ".fit")
"""File suffixes read by an importer instead of the YAML loader."""


def is_import(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMPORT_SUFFIXES


def import_workout(path: str | Path, options: LoadOptions | None = None, *, display: str | None = None) -> ImportResult:
    """Read an intervals.icu ``.txt``, Zwift ``.zwo`` or Garmin FIT ``.fit`` workout file.

    Raises WorkoutError (``FILE:LINE:COL: ...``) for bad input, and
    :class:`~cadencecoach.workout.paces.PaceOverrideError` / :class:`~cadencecoach.workout.paces.TrialError`
    for a pace override or trial (override or recorded) that cannot be used; warnings (what was not mapped
    exactly) are returned."""
    suffix = Path(path).suffix.lower()
    if suffix == ".zwo":
        from cadencecoach.workout.formats.zwo import load_zwo

        return load_zwo(path, options, display=display)
    if suffix == ".txt":
        from cadencecoach.workout.formats.icu import load_icu

        return load_icu(path, options, display=display)
    if suffix == ".fit":
        from cadencecoach.workout.formats.fit_import import load_fit

        return load_fit(path, options, display=display)
    raise ValueError(f"not an importable workout file: {path}")


__all__ = [
    "IMPORT_SUFFIXES",
    "LAP_HINT",
    "LIVE_OPEN_STEP_S",
    "ImportResult",
    "LoadOptions",
    "OpenStepTooLong",
    "for_live",
    "import_workout",
    "is_import",
    "open_steps",
    "with_open_length",
]
