"""Large digits for the live display: a clock (``12:34``) drawn in a 3x5-pixel block font, to be read at arm's
length (on a treadmill's console, a phone strapped to an arm).

Two sizes from the one font:

* ``rows=5``: a pixel is two cells wide (a terminal cell is about twice as tall as it is wide, so pixels come
  out about square) and one row high; ``scale=2`` doubles both (10 rows);
* ``rows=3``: half blocks (``▀ ▄ █``) put two pixel rows in each text row, a pixel one cell wide.

Glyphs are three pixels wide (the colon one), one blank pixel column apart; every pixel column of a digit has
ink in it, so :func:`read` can split a row of glyphs at its blank columns (the tests read the screen with it).
``ascii_only`` draws with ``#`` for a terminal without UTF-8.

Examples
--------
>>> print("\\n".join(line.rstrip() for line in render("1:05")))
  ██        ██████  ██████
████    ██  ██  ██  ██
  ██        ██  ██  ██████
  ██    ██  ██  ██      ██
██████      ██████  ██████
>>> print("\\n".join(line.rstrip() for line in render("42", rows=3)))
█ █ ▀▀█
▀▀█ █▀▀
  ▀ ▀▀▀
>>> width("12:34"), width("12:34", rows=3), width("12:34", scale=2)
(34, 17, 68)
>>> read(render("12:34") + [""] + render("0:07", rows=3) + render("9:59", scale=2))
['12:34', '0:07', '9:59']
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["FONT", "height", "read", "render", "width"]

FONT: dict[str, tuple[str, str, str, str, str]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ":": (".", "#", ".", "#", "."),
}
"""The glyphs, five pixel rows each (``#`` ink)."""

_BY_PATTERN = {pattern: ch for ch, pattern in FONT.items()}
_HALF = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
_HALF_ASCII = {(True, True): "#", (True, False): '"', (False, True): ",", (False, False): " "}
_INK = frozenset("█#")
_HALVES = {"█": (True, True), "▀": (True, False), "▄": (False, True)}


def _pixels(text: str) -> list[str]:
    """The five pixel rows of `text` (``#`` ink, ``.`` blank), glyphs one blank column apart."""
    try:
        glyphs = [FONT[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"no big glyph for {exc.args[0]!r} (digits and ':' only)") from None
    return [".".join(g[r] for g in glyphs) for r in range(5)]


def height(*, rows: int = 5, scale: int = 1) -> int:
    """Text rows that :func:`render` draws: 5 (``scale=2``: 10) or 3."""
    return 3 if rows == 3 else 5 * scale


def width(text: str, *, rows: int = 5, scale: int = 1) -> int:
    """Cells across that :func:`render` draws for `text`."""
    if not text:
        return 0
    n = len(_pixels(text)[0])
    return n if rows == 3 else 2 * scale * n


def render(text: str, *, rows: int = 5, scale: int = 1, ascii_only: bool = False) -> list[str]:
    """`text` (digits and ``:``) in big glyphs: :func:`height` lines of :func:`width` cells each.

    Parameters
    ----------
    text : str
        A clock or a number (``ValueError`` for any other character).
    rows : {5, 3}
        Five rows of full blocks, or three of half blocks.
    scale : int
        ``rows=5`` only: each pixel ``2*scale`` cells wide and `scale` rows high.
    ascii_only : bool
        Draw with ``#`` (and ``"``/``,`` for half blocks) instead of block characters.
    """
    if not text:
        return [""] * height(rows=rows, scale=scale)
    px = _pixels(text)
    if rows == 3:
        halves = _HALF_ASCII if ascii_only else _HALF
        padded = [*px, "." * len(px[0])]
        return [
            "".join(
                halves[(top == "#", bottom == "#")]
                for top, bottom in zip(padded[2 * r], padded[2 * r + 1], strict=True)
            )
            for r in range(3)
        ]
    if rows != 5 or scale < 1:
        raise ValueError("rows is 5 or 3; scale is 1 or more")
    ink = ("#" if ascii_only else "█") * (2 * scale)
    blank = " " * (2 * scale)
    out = []
    for row in px:
        line = "".join(ink if p == "#" else blank for p in row)
        out.extend([line] * scale)
    return out


def _decode(grid: list[list[bool]], cell: int) -> list[tuple[int, str]]:
    """Numbers drawn in five rows of pixels `cell` cells wide: (first column, text) for each."""
    n = max((len(r) for r in grid), default=0)
    inked = [any(c < len(r) and r[c] for r in grid) for c in range(n)]
    runs: list[tuple[int, int]] = []  # [start, end) of columns with ink
    c = 0
    while c < n:
        if not inked[c]:
            c += 1
            continue
        start = c
        while c < n and inked[c]:
            c += 1
        runs.append((start, c))
    found: list[tuple[int, str]] = []
    current: tuple[int, str] | None = None
    last_end = -(10**9)
    for start, end in runs:
        ch = None
        if (end - start) % cell == 0 and (end - start) // cell in (1, 3):
            cols = range(start, end, cell)
            pattern = tuple("".join("#" if c < len(r) and r[c] else "." for c in cols) for r in grid)
            ch = _BY_PATTERN.get(pattern)  # type: ignore[arg-type]
        if ch is None:
            if current is not None:
                found.append(current)
            current, last_end = None, -(10**9)
            continue
        if current is not None and start - last_end == cell:
            current = (current[0], current[1] + ch)
        else:
            if current is not None:
                found.append(current)
            current = (start, ch)
        last_end = end
    if current is not None:
        found.append(current)
    return [(col, text) for col, text in found if any(ch.isdigit() for ch in text)]


def read(lines: Sequence[str]) -> list[str]:
    """Every number drawn by :func:`render` (either size, any scale up to 3) in `lines` (a screen's text),
    top to bottom, left to right. For tests, and to check what a screen shows."""
    rows = [list(line) for line in lines]
    hits: list[tuple[int, int, str]] = []
    for scale in (1, 2, 3):
        span = 5 * scale
        seen: set[tuple[int, int, str]] = set()
        for top in range(len(rows) - span + 1):
            grid = [[ch in _INK for ch in rows[top + k * scale]] for k in range(5)]
            for col, text in _decode(grid, 2 * scale):
                # a pixel row drawn `scale` times decodes from `scale` tops: keep the first
                if not any((top - k, col, text) in seen for k in range(1, scale)):
                    hits.append((top, col, text))
                seen.add((top, col, text))
    for top in range(len(rows) - 2):
        px: list[list[bool]] = []
        for r in range(3):
            halves = [_HALVES.get(ch, (False, False)) for ch in rows[top + r]]
            px.append([h[0] for h in halves])
            px.append([h[1] for h in halves])
        hits.extend((top, col, text) for col, text in _decode(px[:5], 1))
    return [text for _top, _col, text in sorted(hits)]
