"""Reading a workout file, the limits every workout is held to, and its problems with their positions.

Every reader (the YAML loader, the intervals.icu and Zwift importers) reads through :func:`read_bytes` /
:func:`read_text` (at most :data:`MAX_FILE_BYTES`, UTF-8, no binary), collects its problems in one
:class:`Report` (``FILE:LINE:COL: message``, all of them, not just the first) and checks the same limits
(:data:`MAX_DURATION`, :data:`MAX_STEPS`, :data:`MAX_DEPTH`). The ``pos_*`` helpers give the 1-based position
of a key, value, item or node of a parsed YAML document (ruamel.yaml keeps them), falling back to the nearest
thing that has one.

Examples
--------
>>> report = Report("w.yaml")
>>> report.add((3, 5), "cadence must be a number")
>>> report.check()
Traceback (most recent call last):
...
cadencecoach.errors.WorkoutError: w.yaml:3:5: cadence must be a number
"""

from __future__ import annotations

import datetime
import difflib
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from cadencecoach.errors import Problem, WorkoutError

MAX_DURATION = Fraction(24 * 3600)
MAX_STEPS = 200_000
MAX_DEPTH = 32
MAX_FILE_BYTES = 1_000_000

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

YamlScalar: TypeAlias = "str | int | float | bool | datetime.date | None"
YamlNode: TypeAlias = "YamlScalar | CommentedMap | CommentedSeq"
"""A node of a parsed YAML document (ruamel's round-trip types keep positions; its scalars subclass these)."""

Position = tuple[int, int]


class Report:
    """Problems and warnings, with positions, for one source file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def add(self, pos: Position, message: str) -> None:
        self.error(pos[0], pos[1], message)

    def error(self, line: int, col: int, message: str) -> None:
        self.problems.append(Problem(self.source, max(line, 1), max(col, 1), message))

    def warn(self, line: int, col: int, message: str) -> None:
        self.warnings.append(f"{self.source}:{max(line, 1)}:{max(col, 1)}: {message}")

    def check(self) -> None:
        """Raise every problem so far, in file order, as one :class:`WorkoutError`."""
        if self.problems:
            raise WorkoutError(sorted(self.problems, key=lambda p: (p.line, p.col)))


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


def read_text(path: Path, display: str) -> str:
    """Read a workout file as UTF-8 text, or raise WorkoutError that says why not."""
    return decode_text(read_bytes(path, display), display)


def read_bytes(path: Path, display: str) -> bytes:
    """Read a workout file's bytes, or raise WorkoutError (``FILE:1:1: no such file``...) that says why not."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WorkoutError([Problem(display, 1, 1, "no such file")]) from None
    except IsADirectoryError:
        raise WorkoutError([Problem(display, 1, 1, "is a directory, not a workout file")]) from None
    except OSError as exc:
        raise WorkoutError([Problem(display, 1, 1, f"cannot read: {exc.strerror or exc}")]) from None


def check_size(data: bytes, display: str) -> None:
    """WorkoutError when `data` is over :data:`MAX_FILE_BYTES`."""
    if len(data) > MAX_FILE_BYTES:
        raise WorkoutError([Problem(display, 1, 1, f"file is {len(data)} bytes; a workout file is at most 1 MB")])


def decode_text(data: bytes, display: str) -> str:
    """A workout file's bytes as text: at most 1 MB, no NUL byte, UTF-8 (a BOM is dropped)."""
    check_size(data, display)
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
