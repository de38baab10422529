"""Workouts from where runners already keep them, and out to where they train with them.

In:  intervals.icu workout text (``.txt``, :mod:`.icu`) and Zwift workouts (``.zwo``, :mod:`.zwo`), straight into
     the :class:`~cadencecoach.workout.model.Workout`, so ``run``, ``render``, ``plan`` and ``validate`` take them.
Out: our own YAML (:mod:`.yaml_out`, loads back to the same timeline) and Garmin FIT workouts (:mod:`.fit`).

The mapping rules (pace references, zones, ramps, cadence units, open steps, what becomes a warning) are in
docs/FORMATS.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cadencecoach.workout.formats._common import DefaultTrial, ImportResult, open_steps, with_open_length

IMPORT_SUFFIXES = (".txt", ".zwo")
"""File suffixes read by an importer instead of the YAML loader."""


def is_import(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMPORT_SUFFIXES


def import_workout(
    path: str | Path,
    *,
    display: str | None = None,
    pace_overrides: Mapping[str, str] | None = None,
    trial_override: str | None = None,
    default_trial: DefaultTrial = None,
) -> ImportResult:
    """Read an intervals.icu ``.txt`` or Zwift ``.zwo`` file. Raises WorkoutError (``FILE:LINE:COL: ...``) for bad
    input, UsageError for a bad ``--pace``/``--trial``; warnings (what was not mapped exactly) are returned."""
    suffix = Path(path).suffix.lower()
    overrides = dict(pace_overrides or {})
    if suffix == ".zwo":
        from cadencecoach.workout.formats.zwo import load_zwo

        return load_zwo(
            path, display=display, pace_overrides=overrides, trial_override=trial_override, default_trial=default_trial
        )
    if suffix == ".txt":
        from cadencecoach.workout.formats.icu import load_icu

        return load_icu(
            path, display=display, pace_overrides=overrides, trial_override=trial_override, default_trial=default_trial
        )
    raise ValueError(f"not an importable workout file: {path}")


__all__ = ["IMPORT_SUFFIXES", "ImportResult", "import_workout", "is_import", "open_steps", "with_open_length"]
