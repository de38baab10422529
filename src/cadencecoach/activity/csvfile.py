"""CSV samples (``.csv``) -> :class:`~cadencecoach.activity.model.Activity`: the format tests use and
``--sensor replay:FILE.csv`` plays.

::

    # a comment line (anywhere; blank lines too)
    time,cadence,speed,distance,heart_rate
    0,172,3.1,0,141
    1.0,174,3.2,3.2,
    0:02,,3.2,6.4,143

* The first line that is not a comment is the header: ``time`` and ``cadence`` are needed, ``speed``,
  ``distance`` and ``heart_rate`` may follow, in any order (names in any case, in double quotes or not).
  Other columns are ignored, with a note naming them; a column named twice is an error.
* ``time``: seconds from any start (``12.5``) or a clock (``m:ss``, ``h:mm:ss``, with decimals); needed on
  every row; ``t`` counts from the first row. A row earlier than the one before it is left out (one note).
* ``cadence`` steps per minute (both feet, as the click: *not* strides), 0-400; ``speed`` m/s, 0-30;
  ``distance`` m, the running total (it may not go down); ``heart_rate`` bpm, 0-300.
* A blank cell is no value (NaN). A cell that is not a plain decimal number (``nan``, ``inf``, ``1,5``), a
  negative, infinite or out-of-range value, or a row with more or fewer cells than the header is an error at
  its place: ``FILE:LINE:COL: message``. With a distance and no speed, the speed is computed from the distance.
"""

from __future__ import annotations

import math
import re

import numpy as np

from cadencecoach.activity._common import MAX_SAMPLES, NAN, ActivityError, build_activity, clip, number, too_many
from cadencecoach.activity.model import Activity

__all__ = ["COLUMNS", "LIMITS", "parse_csv"]

COLUMNS = ("time", "cadence", "speed", "distance", "heart_rate")
REQUIRED = ("time", "cadence")
LIMITS = {
    "cadence": (400.0, "steps per minute"),
    "speed": (30.0, "m/s"),
    "distance": (math.inf, "m"),
    "heart_rate": (300.0, "bpm"),
}
"""The largest value of each column, and its unit."""

_LINES = re.compile(r"\r\n|\r|\n")
_CLOCK = re.compile(r"(?:(\d{1,6}):)?(\d{1,6}):(\d{1,2}(?:\.\d{1,9})?)")


def parse_csv(data: bytes, display: str = "<activity.csv>") -> Activity:
    """A CSV file's bytes -> Activity; ActivityError (``FILE:LINE:COL: message``) when it cannot be read."""
    return _Parser(display).parse(_text(data, display))


def _text(data: bytes, display: str) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        col = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise ActivityError(display, "binary data (a NUL byte): not a CSV file", line, col)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        lines = _LINES.split(before)
        raise ActivityError(
            display,
            f"byte 0x{data[exc.start]:02X} is not UTF-8: save the CSV file as UTF-8",
            len(lines),
            len(lines[-1]) + 1,
        ) from None


def _cells(line: str) -> list[tuple[str, int]]:
    """The cells of `line` (stripped, one pair of double quotes removed) and the column each starts at."""
    out: list[tuple[str, int]] = []
    col = 1
    for raw in line.split(","):
        stripped = raw.strip()
        at = col + (len(raw) - len(raw.lstrip()))
        if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
            stripped = stripped[1:-1].strip()
        out.append((stripped, at))
        col += len(raw) + 1
    return out


class _Parser:
    def __init__(self, display: str) -> None:
        self.display = display

    def error(self, line: int, col: int, message: str) -> ActivityError:
        return ActivityError(self.display, message, line, col)

    def parse(self, text: str) -> Activity:
        lines = _LINES.split(text)
        header: dict[str, int] | None = None
        width = 0
        notes: list[str] = []
        rows: list[list[float]] = []
        last_t = -math.inf
        last_d = -math.inf
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cells = _cells(line)
            if header is None:
                header = self.header(n, line, cells, notes)
                width = len(cells)
                continue
            if len(cells) != width:
                col = cells[width][1] if len(cells) > width else len(line) + 1
                raise self.error(n, col, f"this row has {len(cells)} cells, the header names {width} columns")
            if len(rows) >= MAX_SAMPLES:
                raise too_many(self.display, "rows")
            row = [self.time(n, *cells[header["time"]])]
            for name in COLUMNS[1:]:
                k = header.get(name)
                row.append(NAN if k is None else self.value(n, name, *cells[k]))
            d = row[3]
            if row[0] >= last_t:  # (an earlier row is left out: its distance does not count)
                if not math.isnan(d):
                    if d < last_d:
                        k = header["distance"]
                        raise self.error(
                            n,
                            cells[k][1],
                            f"distance {cells[k][0]} is less than the row before's ({last_d:g}): the distance is the "
                            "running total in metres",
                        )
                    last_d = d
                last_t = row[0]
            rows.append(row)
        if header is None:
            raise self.error(1, 1, f"no header: the first line names the columns ({','.join(COLUMNS)})")
        if not rows:
            raise self.error(len(lines), 1, "no samples: the CSV file has a header but no rows")
        table = np.asarray(rows, dtype=np.float64)
        return build_activity(
            self.display,
            "csv",
            (table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4]),
            epoch=False,
            derive_speed="speed: no speed column; computed from the distance",
            notes=notes,
        )

    def header(self, n: int, line: str, cells: list[tuple[str, int]], notes: list[str]) -> dict[str, int]:
        if ";" in line and len(cells) == 1:
            raise self.error(n, 1, "the columns are separated by ';': cadencecoach reads comma-separated values")
        found: dict[str, int] = {}
        ignored: list[str] = []
        for k, (cell, col) in enumerate(cells):
            name = cell.lower()
            if name in COLUMNS:
                if name in found:
                    raise self.error(n, col, f"the column '{name}' is named twice")
                found[name] = k
            else:
                ignored.append(f"'{clip(cell)}'" if cell else "one with no name")
        missing = [c for c in REQUIRED if c not in found]
        if missing:
            raise self.error(
                n,
                1,
                f"the header has no {' or '.join(missing)} column: the first line names the columns, "
                f"{','.join(REQUIRED)}[,speed][,distance][,heart_rate] (in any order)",
            )
        if ignored:
            notes.append(f"column{'s' if len(ignored) > 1 else ''} not read: {', '.join(ignored[:10])}")
        return found

    def time(self, n: int, cell: str, col: int) -> float:
        if not cell:
            raise self.error(n, col, "no time: every row needs one (seconds, or m:ss)")
        m = _CLOCK.fullmatch(cell)
        if m is not None:
            hours = int(m.group(1)) if m.group(1) else None
            minutes, seconds = int(m.group(2)), float(m.group(3))
            if seconds >= 60 or (hours is not None and minutes >= 60):
                raise self.error(n, col, f"time '{clip(cell)}' is not a clock: minutes and seconds go to 59")
            return (hours or 0) * 3600.0 + minutes * 60.0 + seconds
        value = number(cell)
        if value is None or not math.isfinite(value) or value < 0:
            raise self.error(
                n, col, f"time '{clip(cell)}' is not seconds (12.5) or a clock (m:ss, h:mm:ss) of 0 or more"
            )
        return value

    def value(self, n: int, name: str, cell: str, col: int) -> float:
        value = number(cell)
        if value is None:
            raise self.error(n, col, f"{name} '{clip(cell)}' is not a number (leave the cell empty for no value)")
        if math.isnan(value):
            return value
        top, unit = LIMITS[name]
        if not math.isfinite(value) or value < 0 or value > top:
            span = f"0 to {top:g} {unit}" if math.isfinite(top) else f"0 or more {unit}"
            raise self.error(n, col, f"{name} {clip(cell)} is out of range: {span}")
        return value
