"""Finding workouts: a path, or the name of a shipped or user workout (``cadencecoach run tabata``).

Listing a folder only looks at names and ``stat``: nothing is opened. A FIFO or a device named ``*.yaml`` in
the user's folder is listed like any workout (hidden files, folders and links to nothing are not), so
loading it says what it is (``FILE:1:1: is a FIFO (named pipe), not a workout file``, read without blocking by
:func:`cadencecoach.workout.source.read_bytes`) instead of the name silently missing."""

from __future__ import annotations

import difflib
import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

from cadencecoach.errors import Problem, WorkoutError

SUFFIXES = (".yaml", ".yml")


def shipped_dir() -> Path:
    return Path(str(importlib.resources.files("cadencecoach") / "data" / "workouts"))


def home_dir() -> Path:
    """The user's cadencecoach folder: ``$CADENCECOACH_HOME``, else the platform's user data dir."""
    env = os.environ.get("CADENCECOACH_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cadencecoach"))


def user_dir() -> Path:
    return home_dir() / "workouts"


@dataclass(frozen=True)
class WorkoutRef:
    name: str
    path: Path
    origin: str  # "shipped", "user" or "path"


def _scan(directory: Path, origin: str) -> dict[str, WorkoutRef]:
    found: dict[str, WorkoutRef] = {}
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return found
    for p in entries:
        if p.suffix not in SUFFIXES or p.name.startswith("."):
            continue
        try:
            if p.is_dir() or not p.exists():  # a folder, or a link to nothing (an editor's lock file)
                continue
        except OSError:
            continue
        found.setdefault(p.stem, WorkoutRef(p.stem, p, origin))
    return found


def available() -> list[WorkoutRef]:
    """Shipped and user workouts by name; a user workout with a shipped name comes first and hides it."""
    table = _scan(shipped_dir(), "shipped")
    table.update(_scan(user_dir(), "user"))
    return sorted(table.values(), key=lambda r: (r.origin != "user", r.name))


def resolve(arg: str) -> WorkoutRef:
    """A path to a file, or a workout name. Raises WorkoutError (``ARG:1:1: ...``) when neither exists."""
    from cadencecoach.workout.formats import is_import  # intervals.icu, Zwift, FIT

    path = Path(arg).expanduser()
    imported = is_import(path)
    if path.exists() or os.sep in arg or path.suffix in SUFFIXES or imported:
        return WorkoutRef(path.stem, path, "path")
    table = {r.name: r for r in available()}
    if arg in table:
        return table[arg]
    close = difflib.get_close_matches(arg, list(table), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else " (see 'cadencecoach workouts')"
    raise WorkoutError([Problem(arg, 1, 1, f"no such file, and no shipped or user workout of that name{hint}")])
