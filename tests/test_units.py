"""Parsing and speaking the values runners write (``cadencecoach.workout.units``), per shared/spec/workout-format.md."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from cadencecoach.workout.units import (
    METERS_PER_MILE,
    Extent,
    parse_cadence,
    parse_clock,
    parse_extent,
    parse_pace,
    parse_trial,
    speak_duration,
    speak_extent,
    speak_pace,
)

MILE = Fraction(1609344, 1000)


def test_mile_is_exact() -> None:
    assert METERS_PER_MILE == MILE == Fraction("1609.344")


# ------------------------------------------------------------------------------------------ extents


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("45 s", 45),
        ("10min", 600),
        ("1h", 3600),
        ("1h15min", 4500),
        ("1h 15min", 4500),
        ("2min30s", 150),
        ("1.5min", 90),
        ("12.5s", Fraction(25, 2)),
        ("90 sec", 90),
        ("3 minutes", 180),
        ("1:30", 90),  # m:ss
        ("0:45", 45),
        ("10:00", 600),
        ("1:05:00", 3900),  # h:mm:ss
        ("0:30:00", 1800),
        ("1:30.5", Fraction(181, 2)),
    ],
)
def test_time_extents(text: str, seconds: int | Fraction) -> None:
    ext = parse_extent(text)
    assert isinstance(ext, Extent)
    assert ext.kind == "time"
    assert ext.is_time
    assert ext.value == Fraction(seconds)
    assert isinstance(ext.value, Fraction)
    assert ext.unit == "s"


@pytest.mark.parametrize(
    ("text", "meters", "amount", "unit"),
    [
        ("400m", Fraction(400), Fraction(400), "m"),
        ("400 m", Fraction(400), Fraction(400), "m"),
        ("1.2km", Fraction(1200), Fraction(6, 5), "km"),
        ("0.75mi", Fraction(3, 4) * MILE, Fraction(3, 4), "mi"),
        ("1mi", MILE, Fraction(1), "mi"),
        ("5k", Fraction(5000), Fraction(5), "km"),
        ("2 miles", 2 * MILE, Fraction(2), "mi"),
    ],
)
def test_distance_extents_are_exact(text: str, meters: Fraction, amount: Fraction, unit: str) -> None:
    ext = parse_extent(text)
    assert ext.kind == "distance"
    assert not ext.is_time
    assert ext.value == meters
    assert ext.amount == amount
    assert ext.unit == unit


@pytest.mark.parametrize("text", ["90", "1.5", "0", "400", " 90 "])
def test_bare_number_is_an_error_that_suggests_units(text: str) -> None:
    with pytest.raises(ValueError, match="no unit") as info:
        parse_extent(text)
    n = text.strip()
    assert f"'{n}s'" in str(info.value)
    assert f"'{n}min'" in str(info.value)


@pytest.mark.parametrize("text", ["0s", "0min", "0:00", "0:00:00", "0m", "0km", "0.0mi", "0h0min0s"])
def test_zero_extent_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a positive extent"):
        parse_extent(text)


@pytest.mark.parametrize("text", ["-5s", "-400m", "-1:30", "+5s", "- 10min"])
def test_negative_or_signed_extent_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a positive extent"):
        parse_extent(text)


def test_1h15m_is_ambiguous_and_says_to_write_min() -> None:
    with pytest.raises(ValueError, match="'m' is a distance unit") as info:
        parse_extent("1h15m")
    assert "1h15min" in str(info.value)


@pytest.mark.parametrize("text", ["10min5h", "1h1h", "30s2min"])
def test_units_out_of_order_or_repeated(text: str) -> None:
    with pytest.raises(ValueError, match="larger units first"):
        parse_extent(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "5 parsecs",
        "1:5",
        "1:60",
        "1:30:60",
        "1.2.3km",
        "90s!",
        "ten minutes",
        "1:xx",
        "s",
        "km",
        "∞s",
    ],
)
def test_garbage_extents(text: str) -> None:
    with pytest.raises(ValueError):
        parse_extent(text)


def test_absurd_distance_is_rejected_not_overflowing() -> None:
    with pytest.raises(ValueError, match="longer than any run"):
        parse_extent("1" + "0" * 400 + "m")


# -------------------------------------------------------------------------------------------- clock


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1:30", 90), ("6:00", 360), ("19:57", 1197), ("1:30:00", 5400), ("3:10:49", 11449), ("0:59.5", Fraction(119, 2))],
)
def test_parse_clock(text: str, seconds: int | Fraction) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["1:5", "abc", "1:60", "90", "1::30", ":30"])
def test_parse_clock_rejects(text: str) -> None:
    assert parse_clock(text) is None


# -------------------------------------------------------------------------------------------- paces


@pytest.mark.parametrize(
    ("text", "seconds", "per_meters"),
    [
        ("4:30/km", 270, 1000),
        ("7:15/mi", 435, MILE),
        ("5:45/mi", 345, MILE),
        ("1:26/400m", 86, 400),
        ("0:40/200m", 40, 200),
        ("2:55/800m", 175, 800),
        ("3:40/1000m", 220, 1000),
        ("4:30 / KM", 270, 1000),
        ("6:00/mile", 360, MILE),
    ],
)
def test_literal_paces(text: str, seconds: int, per_meters: Fraction | int) -> None:
    pace = parse_pace(text)
    assert pace.s_per_m == Fraction(seconds) / Fraction(per_meters)
    assert pace.s_per_km == pytest.approx(float(Fraction(seconds) / Fraction(per_meters) * 1000))
    assert pace.text == text.strip()


def test_mile_pace_in_seconds_per_km() -> None:
    assert parse_pace("6:00/mi").s_per_km == pytest.approx(360 / 1.609344)
    assert parse_pace("1:30/400m").s_per_km == pytest.approx(225.0)


@pytest.mark.parametrize(
    "text", ["4:30", "4:30/fathom", "abc/km", "/km", "4:60/km", "4:30/", "4:30/300m", "fast", "90s/km", ""]
)
def test_bad_paces(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read pace"):
        parse_pace(text)


def test_zero_pace() -> None:
    with pytest.raises(ValueError, match="more than zero"):
        parse_pace("0:00/km")


def test_absurdly_slow_pace_is_rejected_not_overflowing() -> None:
    with pytest.raises(ValueError, match="slower than 24 hours"):
        parse_pace("1" + "0" * 400 + ":00/km")


# ----------------------------------------------------------------------------------------- cadences


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (180, (180, 180)),
        ("182", (182, 182)),
        (60, (60, 60)),
        (300, (300, 300)),
        ("60-300", (60, 300)),
        ("170-180", (170, 180)),
        ("180-170", (180, 170)),
        ("165 - 170", (165, 170)),
        ("170 to 180", (170, 180)),
        ("170–180", (170, 180)),
        ("175spm", (175, 175)),
        (182.5, (Fraction(365, 2), Fraction(365, 2))),
    ],
)
def test_cadences_and_ramps(value: object, expected: tuple[int | Fraction, int | Fraction]) -> None:
    a, b = parse_cadence(value)
    assert (a, b) == (Fraction(expected[0]), Fraction(expected[1]))
    assert isinstance(a, Fraction)
    assert isinstance(b, Fraction)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(59, "59"), (301, "301"), (0, "0"), (-180, "-180"), ("59-180", "59"), ("180-301", "301"), ("59.9", "59.9")],
)
def test_cadence_bounds_60_300(value: object, shown: str) -> None:
    with pytest.raises(ValueError, match=f"cadence {shown} is outside 60-300"):
        parse_cadence(value)


@pytest.mark.parametrize("value", [True, False, None, "abc", "170-", "-170", [180], {"a": 1}, "170-180-190"])
def test_cadence_garbage(value: object) -> None:
    with pytest.raises(ValueError, match="cadence"):
        parse_cadence(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_cadence_not_finite_is_out_of_range(value: float) -> None:
    with pytest.raises(ValueError, match="outside 60-300"):
        parse_cadence(value)


# ------------------------------------------------------------------------------------------- trials


@pytest.mark.parametrize(
    ("text", "meters", "seconds"),
    [
        ("1mi 6:00", MILE, 360),
        ("mile 5:50", MILE, 350),
        ("5k 19:57", 5000, 1197),
        ("3000m 10:00", 3000, 600),
        ("10k 40min", 10000, 2400),
        ("half 1:30:00", Fraction(421950, 20), 5400),
        ("marathon 3:10:49", 42195, 11449),
    ],
)
def test_trials(text: str, meters: Fraction | int, seconds: int) -> None:
    assert parse_trial(text) == (Fraction(meters), Fraction(seconds))


@pytest.mark.parametrize("text", ["1mi", "6:00", "", "1mi abc", "abc 6:00", "90s 6:00", "1mi 400m", "5 19:57"])
def test_bad_trials(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read trial"):
        parse_trial(text)


def test_trial_needs_time_above_zero() -> None:
    with pytest.raises(ValueError, match="above zero"):
        parse_trial("1mi 0:00")


# ----------------------------------------------------------------------------------------- speaking


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (90, "90 seconds"),
        (45, "45 seconds"),
        (1, "1 second"),
        (900, "15 minutes"),
        (60, "1 minute"),
        (150, "2 minutes 30 seconds"),
        (4500, "1 hour 15 minutes"),
        (3600, "1 hour"),
        (Fraction(857, 10), "85.7 seconds"),
    ],
)
def test_speak_duration(seconds: int | Fraction, spoken: str) -> None:
    assert speak_duration(Fraction(seconds)) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("400m", "400 meters"),
        ("1.2km", "1.2 kilometers"),
        ("1mi", "1 mile"),
        ("0.75mi", "0.75 miles"),
        ("90s", "90 seconds"),
        ("1:30", "90 seconds"),
        ("10min", "10 minutes"),
    ],
)
def test_speak_extent(text: str, spoken: str) -> None:
    assert speak_extent(parse_extent(text)) == spoken


def test_speak_pace() -> None:
    assert speak_pace(parse_pace("5:45/mi")) == "5 45 per mile"
    assert speak_pace(parse_pace("4:00/km")) == "4 flat per kilometer"
    assert speak_pace(parse_pace("1:26/400m")) == "1 26 per 400 meters"
