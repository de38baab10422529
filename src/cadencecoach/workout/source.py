"""Reading a workout file, the limits every workout is held to, and its problems with their positions.

Every reader (the YAML loader, the intervals.icu and Zwift importers) reads through :func:`read_bytes` /
:func:`read_text` (:func:`cadencecoach.files.read_limited`: a FIFO, a device or a folder is refused at once,
never read; at most :data:`MAX_YAML_BYTES` or :data:`MAX_FILE_BYTES` are read whatever the file claims; UTF-8,
no binary), collects
its problems in one :class:`Report` (``FILE:LINE:COL: message``, all of them, not just the first) and checks
the same limits, all *before* it expands anything (repeat counts are multiplied, not unrolled):

==========================  ==================  ======================================================
limit                       value               what it bounds
==========================  ==================  ======================================================
:data:`MAX_FILE_BYTES`      1,000,000 bytes     an imported file read (intervals.icu, Zwift)
:data:`MAX_YAML_BYTES`      131,072 bytes       a YAML workout read (128 KiB: its parser is slow)
:data:`MAX_DURATION`        24 hours            the whole workout, repeats multiplied out
:data:`MAX_STEPS`           200,000             steps once repeats are expanded
:data:`MAX_DEPTH`           32                  repeats nested in repeats (and YAML brackets at most
                                                200 deep: ``loader.MAX_FLOW_DEPTH``)
:data:`MAX_CUES`            10,000              the file's own spoken texts (``say``, timed cues) once
                                                repeats are expanded
:data:`MAX_CUE_CHARS`       300 characters      one spoken text (``say``, a label, an effort, a Zwift
                                                textevent, an intervals.icu cue): about 20 s of speech
:data:`MAX_NUMBER_DIGITS`   30 digits           one number in an imported file (intervals.icu, Zwift)
:data:`MAX_REPORTED`        100                 problems (and warnings) printed for one file, then a
                                                line saying how many more
==========================  ==================  ======================================================

Paces have their bounds in the pace book (:mod:`cadencecoach.workout.paces`: 1:30/km to 60:00/km, and a pace
relative to a reference 10% to 300% of its speed). The
``pos_*`` helpers give the 1-based position of a key, value, item or node of a parsed YAML document
(ruamel.yaml keeps them), falling back to the nearest thing that has one.

Examples
--------
>>> report = Report("w.yaml")
>>> report.add((3, 5), "cadence must be a number")
>>> report.check()
Traceback (most recent call last):
...
cadencecoach.errors.WorkoutError: w.yaml:3:5: cadence must be a number
>>> read_bytes(Path("/dev/zero"), "zero.yaml")
Traceback (most recent call last):
...
cadencecoach.errors.WorkoutError: zero.yaml:1:1: is a device, not a workout file
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.files import InputRefused, read_limited
from cadencecoach.workout.units import format_clock

MAX_DURATION = Fraction(24 * 3600)
MAX_STEPS = 200_000
MAX_DEPTH = 32
MAX_FILE_BYTES = 1_000_000
MAX_YAML_BYTES = 128 * 1024
"""A YAML workout is read by ruamel.yaml's pure-Python parser (it keeps the positions), some 30 kB a second of
dense YAML on a slow machine: 128 KiB is at most about 4 s, and over a hundred times the longest real workout
(the shipped ones are under 1 kB, the longest real Zwift file 16 kB)."""
MAX_CUES = 10_000
"""Spoken texts a file may ask for once repeats are expanded (``say`` and timed cues; the coach's own
announcements are not counted): real workouts have a few dozen."""
MAX_CUE_CHARS = 300
"""The longest text one cue may speak (about 20 s at 14 characters a second); the longest in the corpus of
real Zwift files is 210."""
MAX_NUMBER_DIGITS = 30
"""A number in an imported file with more digits than this is no workout value (and would cost time)."""
MAX_REPORTED = 100
"""Problems (and warnings) printed for one file; the rest are counted in one more line."""

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

YamlScalar: TypeAlias = "str | int | float | bool | datetime.date | None"
YamlNode: TypeAlias = "YamlScalar | CommentedMap | CommentedSeq"
"""A node of a parsed YAML document (ruamel's round-trip types keep positions; its scalars subclass these)."""

Position = tuple[int, int]


@dataclass
class _Group:
    """Warnings of one kind: where and what the first said, and how many came."""

    where: str
    message: str
    count: int = 1


class Report:
    """Problems and warnings, with positions, for one source file.

    Warnings are grouped: one line per distinct problem, at its first place, with how many times it came
    (``FILE:3:1: no threshold pace ...; spoken as effort text (12 times; the first here)``). A warning is
    grouped with the others of the same `key` (default: its message), so the 43 steps of a file that all lack
    the same reference pace say so once. At most :data:`MAX_REPORTED` problems and distinct warnings are
    printed (a file of 100,000 mistakes says so in one more line, not in 100,000).

    When the file fails (:meth:`check`), its warnings go with the problems: a warning often says why
    (``'400m' is 400 minutes`` explains ``over the 24-hour limit``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self._groups: dict[str, _Group] = {}

    def add(self, pos: Position, message: str) -> None:
        self.error(pos[0], pos[1], message)

    def error(self, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(self.source, max(line, 1), max(col, 1), message))

    def warn(self, line: int, col: int, message: str, *, key: str | None = None) -> None:
        """A warning at (line, col). With `key`, warnings of the same key are one line: the first one's
        message when it is alone, else `key` with the count."""
        group = key if key is not None else message
        found = self._groups.get(group)
        if found is None:
            self._groups[group] = _Group(f"{self.source}:{max(line, 1)}:{max(col, 1)}", message)
        else:
            found.count += 1

    @property
    def warnings(self) -> list[str]:
        """The warnings, one line per distinct problem, in the order they first came."""
        out: list[str] = []
        for key, g in self._groups.items():
            if len(out) == MAX_REPORTED:
                out.append(
                    f"{self.source}: {len(self._groups) - MAX_REPORTED} more kinds of warning; only the first "
                    f"{MAX_REPORTED} are shown"
                )
                break
            out.append(
                f"{g.where}: {g.message}" if g.count == 1 else f"{g.where}: {key} ({g.count} times; the first here)"
            )
        return out

    def check(self) -> None:
        """Raise every problem so far, in file order, as one :class:`WorkoutError` (the first
        :data:`MAX_REPORTED`, and how many more), with the warnings so far."""
        if self.problems:
            found = sorted(self.problems, key=lambda p: (p.line, p.col))
            if len(found) > MAX_REPORTED:
                rest = found[MAX_REPORTED]
                more = f"and {len(found) - MAX_REPORTED} more problems (fix these first)"
                found = [*found[:MAX_REPORTED], Problem(rest.file, rest.line, rest.col, more)]
            raise WorkoutError(found, warnings=self.warnings)


def check_totals(
    report: Report, pos: Position, duration: Fraction, steps: int, cues: int = 0, *, why_long: str | None = None
) -> bool:
    """Add the problem (at `pos`) when the totals of a workout, repeats multiplied out, are over the limits:
    :data:`MAX_DURATION`, :data:`MAX_STEPS`, :data:`MAX_CUES` (the first one over); `why_long`, the likely
    reason of a workout over 24 hours, is said with it. True when within them."""
    if duration > MAX_DURATION:
        why = f" ({why_long})" if why_long else ""
        report.add(pos, f"the workout lasts {hms(duration)}, over the 24-hour limit{why}")
    elif steps > MAX_STEPS:
        report.add(pos, f"the workout has {big(steps)} steps once repeats are expanded; the limit is {MAX_STEPS}")
    elif cues > MAX_CUES:
        report.add(pos, f"the workout has {big(cues)} spoken cues once repeats are expanded; the limit is {MAX_CUES}")
    else:
        return True
    return False


def text_problem(text: str, what: str) -> str | None:
    """Why `text` (spoken as `what`: ``'say'``, ``the label``...) is too long to speak, or None.

    Examples
    --------
    >>> text_problem("Relax your shoulders", "'say'") is None
    True
    >>> text_problem("word " * 2000, "'say'")
    "'say' is 10000 characters; a spoken text is at most 300 (about 20 seconds): shorten it or split it"
    """
    if len(text) <= MAX_CUE_CHARS:
        return None
    return (
        f"{what} is {len(text)} characters; a spoken text is at most {MAX_CUE_CHARS} (about 20 seconds): "
        "shorten it or split it"
    )


def shown(raw: str, limit: int = 40) -> str:
    """A value from a file, cut for a message (a 5000-digit number is not repeated in full)."""
    return raw if len(raw) <= limit else raw[: limit - 3] + "..."


def big(n: int) -> str:
    """A count for a message; Python refuses to print ints of more than 4300 digits."""
    return str(n) if n < 10**12 else "more than 10^12"


def hms(seconds: Fraction) -> str:
    """``H:MM:SS`` of a length that may be astronomically long."""
    whole = int(seconds)
    if whole >= 10**12:
        return f"{big(whole // 3600)} hours"
    return format_clock(whole, hours=True)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# ---------------------------------------------------------------------------------------- positions


def pos_key(node: YamlNode, key: YamlNode) -> Position:
    try:
        from ruamel.yaml.comments import CommentedMap

        assert isinstance(node, CommentedMap)
        line, col = node.lc.key(key)
        return int(line) + 1, int(col) + 1
    except Exception:
        return pos_node(node)


def pos_value(node: YamlNode, key: YamlNode) -> Position:
    try:
        from ruamel.yaml.comments import CommentedMap

        assert isinstance(node, CommentedMap)
        if node[key] is None:  # an empty value has no position of its own: point at its key
            return pos_key(node, key)
        line, col = node.lc.value(key)
        return int(line) + 1, int(col) + 1
    except Exception:
        return pos_key(node, key)


def pos_item(seq: YamlNode, index: int) -> Position:
    try:
        from ruamel.yaml.comments import CommentedSeq

        assert isinstance(seq, CommentedSeq)
        line, col = seq.lc.item(index)
        return int(line) + 1, int(col) + 1
    except Exception:
        return pos_node(seq)


def pos_node(node: YamlNode) -> Position:
    try:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        assert isinstance(node, (CommentedMap, CommentedSeq))
        return int(node.lc.line) + 1, int(node.lc.col) + 1
    except Exception:
        return 1, 1


# ------------------------------------------------------------------------------------------ reading


def read_text(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """Read a workout file as UTF-8 text (at most `limit` bytes), or raise WorkoutError that says why not."""
    return decode_text(read_bytes(path, display, limit), display, limit)


def read_bytes(path: Path, display: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a workout file's bytes, or raise WorkoutError (``FILE:1:1: no such file``...) that says why not.

    Through :func:`cadencecoach.files.read_limited`: never blocks (a FIFO with no writer), refuses anything but
    a regular file before reading it, and reads at most `limit` (+1) bytes whatever the file claims."""
    try:
        return read_limited(path, limit)
    except InputRefused as exc:
        if exc.kind is not None:
            reason = f"is {exc.kind}, not a workout file"
        elif exc.over is not None:
            reason = too_big(exc.over)
        else:
            reason = exc.reason
        raise WorkoutError([Problem(display, 1, 1, reason)]) from None


def too_big(limit: int) -> str:
    """The problem of a file over `limit` bytes, in words."""
    if limit == MAX_YAML_BYTES:
        return "the file is over 128 KiB; a YAML workout is at most 128 KiB"
    if limit == MAX_FILE_BYTES:
        return "the file is over 1 MB; a workout file is at most 1 MB"
    return f"the file is over {limit} bytes; a workout file is at most {limit} bytes"


def check_size(data: bytes, display: str, limit: int = MAX_FILE_BYTES) -> None:
    """WorkoutError when `data` is over `limit` bytes."""
    if len(data) > limit:
        raise WorkoutError([Problem(display, 1, 1, too_big(limit))])


def decode_text(data: bytes, display: str, limit: int = MAX_FILE_BYTES) -> str:
    """A workout file's bytes as text: at most `limit` bytes, no NUL byte, UTF-8 (a BOM is dropped)."""
    check_size(data, display, limit)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise WorkoutError([Problem(display, line, col, "binary data (a NUL byte): not a YAML workout file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise WorkoutError(
            [Problem(display, line, col, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")]
        ) from None


def _line_col(data: bytes, offset: int) -> Position:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return line, col
