"""Errors meant for people, and the one way warnings reach them.

Every error the tool raises on purpose derives from :class:`CoachError`, which carries the process exit code
(``exit_code``) and the lines to print (``lines()``): the command line has one guard that reads them
(``cli.app.guard``) and never a traceback for something a user can cause. A workout problem is
``FILE:LINE:COL: message`` (:class:`Problem`).

Exit codes (docs/ARCHITECTURE.md, ``cli.md``): 2 bad input (a workout, an option, a file), 3 no audio output,
1 a history database or another resource that cannot be used.

Examples
--------
>>> err = WorkoutError([Problem("w.yaml", 3, 5, "cadence must be a number")])
>>> err.exit_code, err.lines()
(2, ['w.yaml:3:5: cadence must be a number'])
>>> isinstance(UsageError("--volume must be 0..1"), CoachError)
True
"""

from __future__ import annotations

import contextlib
import sys
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


class CoachError(Exception):
    """The root of every error cadencecoach raises on purpose: ``exit_code`` for the process, ``lines()``
    for stderr (``error: <message>`` unless a subclass says otherwise)."""

    exit_code: int = 1

    def lines(self) -> list[str]:
        return [f"error: {self}"]


class WorkoutError(CoachError):
    """A workout that cannot be used. Holds one or more problems, each printed on its own line."""

    exit_code = 2

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings or ())  # the file's warnings so far: they often say why it failed
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        """The problems, then the file's warnings (``warning: ...``), which often explain them."""
        return [str(p) for p in self.problems] + [f"warning: {w}" for w in self.warnings]


class UsageError(CoachError):
    """A bad option, value or input file (exit 2). Raised by the command line and by the code that reads a
    value the user gave; core code that has no idea which option it came from raises ``ValueError`` and the
    caller names the option."""

    exit_code = 2


class ExtraUnavailable(UsageError):
    """An optional extra (``[music]``, ``[charts]``, ``[fit]``, ``[voice]``) that is not installed, or is
    installed but cannot be imported (exit 2, one line with the fix). Raised by :mod:`cadencecoach.extras`."""

    def __init__(self, message: str, *, extra: str | None = None, reason: str = "missing") -> None:
        self.extra = extra
        self.reason = reason  # "missing" (not installed), "library" (a shared library is missing) or "broken"
        super().__init__(message)


class AudioUnavailableError(CoachError):
    """No usable audio output (exit 3). ``detail`` says what failed, ``hint`` the offline way out."""

    exit_code = 3

    def __init__(self, detail: str, hint: str = "") -> None:
        self.detail = detail
        self.hint = hint
        super().__init__(f"{detail}; {hint}" if hint else detail)

    def with_hint(self, hint: str) -> AudioUnavailableError:
        """The same failure with another way out (``click`` has no workout to render)."""
        return AudioUnavailableError(self.detail, hint)


class ResourceError(CoachError):
    """A store the tool keeps (the history database, a cache) that cannot be used (exit 1): the message
    says why, for the runner."""

    exit_code = 1


def inform(message: str) -> None:
    """The one printer of a status line (``voice: piper (en_US-joe-medium)``, ``wrote ...``) on stderr, flushed,
    file-borne text escaped; a closed stderr (a terminal gone after SIGHUP) is left to the exit code."""
    from cadencecoach.terminal import safe_text

    with contextlib.suppress(OSError):
        print(safe_text(message, multiline=True), file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """The one warning printer: ``warning: <message>`` on stderr, flushed (it interleaves with progress);
    control characters from a file are shown escaped (:func:`cadencecoach.terminal.safe_text`)."""
    from cadencecoach.terminal import safe_text

    print(f"warning: {safe_text(message, multiline=True)}", file=sys.stderr, flush=True)
