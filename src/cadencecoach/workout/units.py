"""Parsing and speaking the values runners write: times, distances, paces, cadences, trial results.

All quantities are exact :class:`fractions.Fraction` values (seconds, metres, seconds per metre), so step
boundaries are exact sums however long the workout is. Parsers raise :class:`ValueError` with a message
meant for the runner; the loader adds the file position.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction

METERS_PER_MILE = Fraction(1609344, 1000)

_TIME_UNITS: dict[str, int] = {}
for _names, _secs in (
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("min", "mins", "minute", "minutes"), 60),
    (("s", "sec", "secs", "second", "seconds"), 1),
):
    for _n in _names:
        _TIME_UNITS[_n] = _secs

_DIST_UNITS: dict[str, tuple[Fraction, str]] = {}
for _dist_names, _meters, _canon in (
    (("m", "meter", "meters", "metre", "metres"), Fraction(1), "m"),
    (("k", "km", "kilometer", "kilometers", "kilometre", "kilometres"), Fraction(1000), "km"),
    (("mi", "mile", "miles"), METERS_PER_MILE, "mi"),
):
    for _n in _dist_names:
        _DIST_UNITS[_n] = (_meters, _canon)

_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(rf"\s*({_NUMBER})\s*([a-zA-Z]+)\s*")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?(\.\d+)?$")

RACE_NAMES: dict[str, Fraction] = {
    "mile": METERS_PER_MILE,
    "half": Fraction(421950, 20),
    "marathon": Fraction(42195),
    "half-marathon": Fraction(421950, 20),
}

PACE_UNITS: dict[str, Fraction] = {
    "km": Fraction(1000),
    "mi": METERS_PER_MILE,
    "mile": METERS_PER_MILE,
    "400m": Fraction(400),
    "200m": Fraction(200),
    "800m": Fraction(800),
    "1000m": Fraction(1000),
}


@dataclass(frozen=True)
class Extent:
    """How long a step lasts: a time (seconds) or a distance (metres)."""

    kind: str  # "time" | "distance"
    value: Fraction  # seconds or metres
    amount: Fraction  # the number as written, in `unit`
    unit: str  # "s" for times; "m", "km" or "mi" for distances

    @property
    def is_time(self) -> bool:
        return self.kind == "time"


@dataclass(frozen=True)
class Pace:
    """A pace: seconds per metre, with the text it came from."""

    s_per_m: Fraction
    text: str

    @property
    def s_per_km(self) -> float:
        return float(self.s_per_m * 1000)


def _fraction(digits: str) -> Fraction:
    """A decimal number as written (``\\d+(.\\d+)?``); ValueError in words for one of more digits than
    Python reads (4300)."""
    try:
        return Fraction(digits)
    except ValueError:
        raise ValueError(f"a number of {len(digits)} digits is no workout value") from None


def parse_offset(text: str) -> Fraction:
    """When a timed cue speaks, from its step's start: a time as in :func:`parse_extent` (``30s``, ``1:30``,
    ``2min``), or zero (``0s``, ``0``, ``0:00``); ValueError in words otherwise.

    Examples
    --------
    >>> parse_offset("1:30"), parse_offset("0s"), parse_offset("12.5s")
    (Fraction(90, 1), Fraction(0, 1), Fraction(25, 2))
    """
    s = text.strip()
    if re.fullmatch(r"0+(?:\.0+)?\s*(?:s|sec|min)?|0+:00(?::00)?", s):
        return Fraction(0)
    if re.fullmatch(_NUMBER, s):
        raise ValueError(f"'{s}' has no unit: write '{s}s' or '{s}min'")
    extent = parse_extent(s)
    if not extent.is_time:
        raise ValueError(f"'{s}' is a distance; a cue's time is like '30s' or '1:30' from the step's start")
    return extent.value


def parse_clock(text: str) -> Fraction | None:
    """``m:ss`` or ``h:mm:ss`` (with optional decimals on the seconds) to seconds, or None."""
    m = _CLOCK.match(text.strip())
    if not m:
        return None
    a, b, c, frac = m.groups()
    try:
        extra = Fraction(frac) if frac else Fraction(0)
        if c is None:
            return int(a) * 60 + int(b) + extra
        return int(a) * 3600 + int(b) * 60 + int(c) + extra
    except ValueError:  # more digits than Python reads (4300): no clock
        return None


def parse_extent(text: str) -> Extent:
    """Parse ``90s``, ``45 s``, ``10min``, ``1h15min``, ``1:30``, ``1:05:00``, ``400m``, ``1.2km``, ``0.75mi``."""
    s = text.strip()
    if not s:
        raise ValueError("empty extent: write a time like '90s' or '10min', or a distance like '400m'")
    if s.startswith("-") or s.startswith("+"):
        raise ValueError(f"'{s}' is not a positive extent")
    if re.fullmatch(_NUMBER, s):
        raise ValueError(f"'{s}' has no unit: write '{s}s', '{s}min' or '{s}m'")
    clock = parse_clock(s)
    if clock is not None:
        return _checked(Extent("time", clock, clock, "s"), s)
    parts = []
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError(_extent_hint(s))
        parts.append((_fraction(m.group(1)), m.group(2).lower()))
        pos = m.end()
    if len(parts) == 1 and parts[0][1] in _DIST_UNITS:
        amount, unit = parts[0]
        meters, canon = _DIST_UNITS[unit]
        return _checked(Extent("distance", amount * meters, amount, canon), s)
    total = Fraction(0)
    last = None
    for amount, unit in parts:
        if unit not in _TIME_UNITS:
            if unit in _DIST_UNITS and len(parts) > 1:
                raise ValueError(f"'{s}': '{unit}' is a distance unit; for minutes write 'min' (e.g. '1h15min')")
            raise ValueError(_extent_hint(s))
        secs = _TIME_UNITS[unit]
        if last is not None and secs >= last:
            raise ValueError(f"'{s}': write the larger units first, each once (e.g. '1h15min', '2min30s')")
        last = secs
        total += amount * secs
    return _checked(Extent("time", total, total, "s"), s)


MAX_DISTANCE_M = Fraction(10**9)  # far beyond any run; keeps every value a finite float and a short number


def _checked(extent: Extent, text: str) -> Extent:
    if extent.value <= 0:
        raise ValueError(f"'{text}' is not a positive extent")
    if not extent.is_time and extent.value > MAX_DISTANCE_M:
        raise ValueError(f"'{text}' is longer than any run (at most 1000000 km)")
    return extent


def _extent_hint(s: str) -> str:
    return (
        f"cannot read extent '{s}': use a time ('90s', '10min', '1h15min', '1:30', '1:05:00') "
        "or a distance ('400m', '1.2km', '0.75mi')"
    )


MAX_PACE_S_PER_KM = 24 * 3600  # slower than this is no pace (and would not fit a float)


def parse_pace(text: str) -> Pace:
    """Parse ``M:SS/km``, ``M:SS/mi``, ``M:SS/400m`` (``/200m``, ``/800m``, ``/1000m``)."""
    s = text.strip()
    if "/" not in s:
        raise ValueError(f"cannot read pace '{s}': write it like '4:30/km', '7:15/mi' or '1:26/400m'")
    clock_txt, unit_txt = (p.strip() for p in s.split("/", 1))
    secs = parse_clock(clock_txt)
    unit = unit_txt.lower()
    if secs is None or unit not in PACE_UNITS:
        raise ValueError(
            f"cannot read pace '{s}': write it like '4:30/km', '7:15/mi' or '1:26/400m' "
            "(per km, mi, 200m, 400m, 800m or 1000m)"
        )
    if secs <= 0:
        raise ValueError(f"pace '{s}' must be more than zero")
    s_per_m = secs / PACE_UNITS[unit]
    if s_per_m * 1000 > MAX_PACE_S_PER_KM:
        raise ValueError(f"pace '{s}' is slower than 24 hours per km")
    return Pace(s_per_m, s)


def parse_cadence(value: object) -> tuple[Fraction, Fraction]:
    """``182`` or a ramp ``"170-180"``; each end within 60..300 steps per minute."""
    if isinstance(value, bool):
        raise ValueError("cadence must be a number of steps per minute like 180, or a ramp like 170-180")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cadence {value} is outside 60-300 steps per minute")
    if isinstance(value, (int, float)):
        a = b = Fraction(str(value))
    elif isinstance(value, str):
        m = re.fullmatch(rf"\s*({_NUMBER})\s*(?:(?:-|–|to)\s*({_NUMBER})\s*)?(?:spm)?\s*", value)
        if not m:
            raise ValueError(f"cannot read cadence '{value}': write steps per minute like 180, or a ramp like 170-180")
        a = _fraction(m.group(1))
        b = _fraction(m.group(2)) if m.group(2) else a
    else:
        raise ValueError("cadence must be a number of steps per minute like 180, or a ramp like 170-180")
    for c in (a, b):
        if not 60 <= c <= 300:
            raise ValueError(f"cadence {_num(c)} is outside 60-300 steps per minute")
    return a, b


def parse_distance(text: str) -> Fraction:
    """A race distance: ``1mi``, ``5k``, ``3000m``, ``mile``, ``half``, ``marathon``."""
    s = text.strip().lower()
    if s in RACE_NAMES:
        return RACE_NAMES[s]
    ext = parse_extent(s)
    if ext.kind != "distance":
        raise ValueError(f"'{text}' is not a distance")
    return ext.value


def parse_trial(text: str) -> tuple[Fraction, Fraction]:
    """A time-trial result ``"1mi 6:00"`` or ``"5k 19:57"`` to (metres, seconds)."""
    parts = str(text).split()
    if len(parts) < 2:
        raise ValueError(f"cannot read trial '{text}': write a distance and a time, like '1mi 6:00' or '5k 19:57'")
    try:
        meters = parse_distance(parts[0])
        time_txt = "".join(parts[1:])
        secs = parse_clock(time_txt)
        if secs is None:
            ext = parse_extent(time_txt)
            if ext.kind != "time":
                raise ValueError(time_txt)
            secs = ext.value
    except ValueError:
        raise ValueError(
            f"cannot read trial '{text}': write a distance and a time, like '1mi 6:00' or '5k 19:57'"
        ) from None
    if secs <= 0:
        raise ValueError(f"trial '{text}' needs a time above zero")
    return meters, secs


# ---------------------------------------------------------------------------------------- speaking


def number_text(x: Fraction | float | int) -> str:
    """A number as a person writes it: 400, 1.2, 0.75 (no trailing zeros; at most 3 decimals)."""
    f = Fraction(x) if not isinstance(x, Fraction) else x
    if f.denominator == 1:
        return str(f.numerator)
    return f"{float(f):.3f}".rstrip("0").rstrip(".")


_num = number_text


def _plural(n: Fraction | int, word: str) -> str:
    return f"{_num(n)} {word}" + ("" if n == 1 else "s")


@functools.lru_cache(maxsize=4096)  # a repeat speaks the same few lengths thousands of times
def speak_duration(seconds: Fraction | float) -> str:
    """``90 seconds``, ``15 minutes``, ``2 minutes 30 seconds``, ``1 hour 15 minutes``."""
    total = Fraction(seconds).limit_denominator(1000)
    if total < 120 and total % 60 != 0:
        return _plural(_round_speech(total), "second")
    whole = round(total)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    parts = []
    if h:
        parts.append(_plural(h, "hour"))
    if m:
        parts.append(_plural(m, "minute"))
    if s:
        parts.append(_plural(s, "second"))
    return " ".join(parts) or "0 seconds"


def _round_speech(x: Fraction) -> Fraction:
    return Fraction(round(x * 10), 10) if x.denominator != 1 else x


def speak_extent(extent: Extent) -> str:
    if extent.is_time:
        return speak_duration(extent.value)
    word = {"m": "meter", "km": "kilometer", "mi": "mile"}[extent.unit]
    return _plural(extent.amount, word)


def written_extent(extent: Extent, seconds: Fraction | None = None) -> str:
    """A step's length as a reader wants it written (chapter titles): ``400 m``, ``1.5 km``, ``45 s``, ``15 min``,
    ``1:30``; `seconds` stands in for a time extent's own (an open step's played time).

    >>> written_extent(parse_extent("400m")), written_extent(parse_extent("90s")), written_extent(parse_extent("15min"))
    ('400 m', '1:30', '15 min')
    """
    if not extent.is_time:
        return f"{number_text(extent.amount)} {extent.unit}"
    value = extent.value if seconds is None else seconds
    if value < 60:
        return f"{number_text(value)} s"
    if value % 60 == 0:
        return f"{number_text(value / 60)} min"
    return format_clock(value, tenths=True)


def format_clock(
    seconds: float | Fraction, *, hours: bool = False, truncate: bool = False, tenths: bool = False
) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on (always with ``hours=True``): the one clock format.

    Rounded to the nearest second, or cut down to it with ``truncate=True`` (a step of 59.9 s shows as
    ``0:59``, as a watch counts it); ``tenths=True`` adds a tenth when there is one (``6:12.4``).

    Examples
    --------
    >>> format_clock(372), format_clock(5495.4), format_clock(90, hours=True), format_clock(372.44, tenths=True)
    ('6:12', '1:31:35', '0:01:30', '6:12.4')
    """
    frac = 0
    if tenths:
        whole, frac = divmod(round(seconds * 10), 10)
    else:
        whole = int(seconds) if truncate else round(seconds)
    h, rem = divmod(int(whole), 3600)
    m, s = divmod(rem, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h or hours else f"{m}:{s:02d}"
    return f"{text}.{frac}" if frac else text


def speak_pace(pace: Pace) -> str:
    """``4 30 per kilometer`` style for literal paces."""
    clock, unit = (p.strip() for p in pace.text.split("/", 1))
    secs = parse_clock(clock) or Fraction(0)
    m, s = divmod(round(secs), 60)
    unit_word = {"km": "kilometer", "mi": "mile", "mile": "mile"}.get(
        unit.lower(), unit.lower().replace("m", " meters")
    )
    spoken = f"{m} {s:02d}" if s else f"{m} flat"
    return f"{spoken} per {unit_word}"


def format_pace_per_km(s_per_km: float) -> str:
    return format_clock(s_per_km) + "/km"
