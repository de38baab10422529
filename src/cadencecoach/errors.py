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


class ExtraUnavailable(UsageError):
    """An optional extra (``[music]``, ``[charts]``, ``[fit]``, ``[voice]``) that is not installed, or is
    installed but cannot be imported (exit 2, one line with the fix). Raised by :mod:`cadencecoach.extras`."""

    def __init__(self, message: str, *, extra: str | None = None, reason: str = "missing") -> None:
        self.extra = extra
        self.reason = reason  # "missing" (not installed), "library" (a shared library is missing) or "broken"
        super().__init__(message)


class AudioUnavailableError(Exception):
    """No usable audio output (exit 3). ``detail`` says what failed, ``hint`` the offline way out."""

    def __init__(self, detail: str, hint: str = "") -> None:
        self.detail = detail
        self.hint = hint
        super().__init__(f"{detail}; {hint}" if hint else detail)

    def with_hint(self, hint: str) -> AudioUnavailableError:
        """The same failure with another way out (``click`` has no workout to render)."""
        return AudioUnavailableError(self.detail, hint)
