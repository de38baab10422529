"""Errors meant for people: every workout problem is ``FILE:LINE:COL: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in a workout file; ``line`` and ``col`` are 1-based."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class WorkoutError(Exception):
    """A workout that cannot be used. Holds one or more problems, each printed on its own line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(Exception):
    """A bad option or value on the command line (exit 2)."""


class AudioUnavailableError(Exception):
    """No usable audio output (exit 3)."""
