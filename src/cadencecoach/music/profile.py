"""The inline cadence profile of ``track click``: ``"10min@170, 20min@175-185, 5min@170"``.

Grammar (spaces are free)::

    profile  := item ("," item)*
    item     := extent "@" cadence          a stretch of clicks: 10min@170, 90s@180, 1:30@172
              | extent "@" "off"            silence (no clicks) for that long: 2min@off
              | count "x" "(" profile ")"   a repeat: 4x(1min@185, 1min@165)

``extent`` is a time as in workouts (``90s``, ``10min``, ``1h15min``, ``1:30``, ``1:05:00``); ``cadence`` is
steps per minute ``170`` or a ramp ``175-185`` (linear in tempo over the stretch), each 60-300. Repeats
nest. Every problem is a :class:`~cadencecoach.errors.UsageError` naming the item. This module needs no
optional dependency: ``track click`` works without the music extra.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction

from cadencecoach.errors import UsageError
from cadencecoach.workout.model import Repeat, Step, Workout
from cadencecoach.workout.units import parse_cadence, parse_extent

MAX_REPEAT = 1000
MAX_TOTAL_S = 24 * 3600


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last_cadence: tuple[Fraction, Fraction] = (Fraction(180), Fraction(180))
        self.count = 0

    def error(self, message: str, item: str | None = None) -> UsageError:
        where = f" in '{item.strip()}'" if item else f" at character {self.pos + 1}"
        return UsageError(f'--profile{where}: {message} (write it like "10min@170, 20min@175-185, 5min@170")')

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def profile(self, depth: int = 0) -> list[Step | Repeat]:
        items: list[Step | Repeat] = []
        while True:
            self.skip_ws()
            items.append(self.item(depth))
            self.skip_ws()
            if self.pos < len(self.text) and self.text[self.pos] == ",":
                self.pos += 1
                continue
            return items

    def item(self, depth: int) -> Step | Repeat:
        m = re.compile(r"(\d+)\s*[xX×]\s*\(").match(self.text, self.pos)
        if m:
            count = int(m.group(1))
            if not 1 <= count <= MAX_REPEAT:
                raise self.error(f"repeat count {count} must be 1-{MAX_REPEAT}", m.group(0))
            if depth >= 8:
                raise self.error("repeats nest too deeply")
            self.pos = m.end()
            inner = self.profile(depth + 1)
            self.skip_ws()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise self.error("missing ')' to close the repeat")
            self.pos += 1
            return Repeat(count, tuple(inner))
        end = self.pos
        depth_paren = 0
        while end < len(self.text) and not (self.text[end] in ",)" and depth_paren == 0):
            end += 1
        raw = self.text[self.pos : end]
        if not raw.strip():
            raise self.error("empty item")
        self.pos = end
        if "@" not in raw:
            raise self.error("missing '@cadence'", raw)
        extent_txt, cadence_txt = (p.strip() for p in raw.rsplit("@", 1))
        try:
            extent = parse_extent(extent_txt)
        except ValueError as exc:
            raise self.error(str(exc), raw) from None
        if not extent.is_time:
            raise self.error(f"'{extent_txt}' is a distance: a click track needs times like 10min or 90s", raw)
        click = True
        if cadence_txt.lower() in ("off", "rest", "silence", "-"):
            click, cadence = False, self.last_cadence
        else:
            try:
                cadence = parse_cadence(int(cadence_txt) if cadence_txt.isdigit() else cadence_txt)
            except ValueError as exc:
                raise self.error(str(exc), raw) from None
            self.last_cadence = cadence
        self.count += 1
        a, b = cadence
        label = "Silence" if not click else (f"{_n(a)} spm" if a == b else f"{_n(a)}-{_n(b)} spm")
        return Step(kind="run", extent=extent, duration=extent.value, label=label, cadence=cadence, click=click)


def _n(x: Fraction) -> str:
    return str(int(x)) if x.denominator == 1 else f"{float(x):g}"


def _total(items: tuple[Step | Repeat, ...]) -> tuple[Fraction, int]:
    t, n = Fraction(0), 0
    for it in items:
        if isinstance(it, Repeat):
            tt, nn = _total(it.steps)
            t += it.count * tt
            n += it.count * nn
        else:
            t += it.duration
            n += 1
    return t, n


def parse_profile(text: str, name: str | None = None) -> Workout:
    """The profile as a voiceless workout (one "run" step per item, repeats kept)."""
    if not text or not text.strip():
        raise UsageError('--profile is empty: write it like "10min@170, 20min@175-185, 5min@170"')
    p = _Parser(text)
    items = p.profile()
    p.skip_ws()
    if p.pos != len(p.text):
        raise p.error(f"unexpected '{p.text[p.pos]}'")
    steps = tuple(items)
    total, count = _total(steps)
    if total > MAX_TOTAL_S:
        raise UsageError(f"--profile lasts {float(total) / 3600:.1f} hours; a click track can last at most 24 hours")
    first = next(s for s in _flat(steps))
    return Workout(
        name=name or "Click track",
        steps=steps,
        source="--profile",
        cadence=first.cadence or (Fraction(180), Fraction(180)),
        voice_mode="off",
        total_duration=total,
        total_steps=count,
    )


def _flat(items: tuple[Step | Repeat, ...]) -> Iterator[Step]:
    for it in items:
        if isinstance(it, Repeat):
            yield from _flat(it.steps)
        else:
            yield it
