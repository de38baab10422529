from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.workout.vdot import (
    DERIVED_NAMES,
    RACE_DISTANCES,
    TRAINING_PACES,
    derived_paces,
    easy_range,
    fraction_of_max,
    marathon_training_pace,
    oxygen_cost,
    race_time,
    repetition_pace,
    trial_paces,
    vdot,
    velocity_at_vo2,
)


def hms(h: int, m: int, s: int) -> float:
    return h * 3600.0 + m * 60.0 + s


# Rows of Daniels' VDOT race-equivalency table (Daniels' Running Formula).
TABLE = [
    (30, "5k", hms(0, 30, 40)),
    (30, "marathon", hms(4, 49, 17)),
    (40, "5k", hms(0, 24, 8)),
    (40, "marathon", hms(3, 49, 45)),
    (50, "mile", hms(0, 5, 50)),
    (50, "5k", hms(0, 19, 57)),
    (50, "10k", hms(0, 41, 21)),
    (50, "half", hms(1, 31, 35)),
    (50, "marathon", hms(3, 10, 49)),
    (60, "5k", hms(0, 17, 3)),
    (60, "marathon", hms(2, 43, 25)),
    (70, "marathon", hms(2, 23, 10)),
]


@pytest.mark.parametrize(("vdot_value", "race", "table_time"), TABLE)
def test_race_time_matches_daniels_table(vdot_value: float, race: str, table_time: float) -> None:
    assert race_time(vdot_value, RACE_DISTANCES[race]) == pytest.approx(table_time, rel=0.01)


@pytest.mark.parametrize(("vdot_value", "race", "table_time"), TABLE)
def test_vdot_of_table_performance(vdot_value: float, race: str, table_time: float) -> None:
    assert vdot(RACE_DISTANCES[race], table_time) == pytest.approx(vdot_value, rel=0.01)


def test_reference_points() -> None:
    assert vdot(5000, hms(0, 19, 57)) == pytest.approx(50.0, abs=0.1)
    # A 6:00 mile sits just below 48.5 (the VDOT 50 mile is 5:50).
    assert vdot(RACE_DISTANCES["mile"], 360.0) == pytest.approx(48.4, abs=0.1)


def test_equation_pieces() -> None:
    assert oxygen_cost(0.0) == pytest.approx(-4.60)
    assert oxygen_cost(200.0) == pytest.approx(-4.60 + 0.182258 * 200 + 0.000104 * 200**2)
    assert fraction_of_max(0.0) == pytest.approx(0.8 + 0.1894393 + 0.2989558)
    assert fraction_of_max(1e6) == pytest.approx(0.8)
    # velocity_at_vo2 is the inverse of oxygen_cost on positive velocities.
    for v in (50.0, 150.0, 250.0, 400.0):
        assert velocity_at_vo2(oxygen_cost(v)) == pytest.approx(v, rel=1e-12)


def test_vdot50_training_paces() -> None:
    """Daniels' Running Formula, 3rd ed. (2014), Table 5.2, VDOT 50: E 4:56-5:34/km, M 4:31/km, T 4:15/km,
    I 93 s/400 m, R 87 s/400 m (every row: tests/test_daniels_tables.py)."""
    paces = derived_paces(50.0)
    assert easy_range(50.0) == pytest.approx((296, 334), abs=1)
    assert paces["easy"] == pytest.approx(315, abs=1)  # the middle of the range
    assert paces["marathon-training"] == pytest.approx(271, abs=1)  # 4:31 /km
    assert paces["marathon"] == pytest.approx(271, abs=2)  # the race-equivalent, the same from VDOT 46 up
    assert paces["threshold"] == pytest.approx(255, abs=1)  # 4:15 /km
    assert paces["interval"] * 0.4 == pytest.approx(93, abs=1)  # 1:33 /400 m
    assert paces["repetition"] * 0.4 == pytest.approx(87, abs=1)  # 1:27 /400 m


def test_derived_paces_keys_and_race_paces() -> None:
    paces = derived_paces(45.0)
    assert list(paces) == list(DERIVED_NAMES) == [*RACE_DISTANCES, *TRAINING_PACES]
    assert set(TRAINING_PACES) == {
        "easy",
        "easy-fast",
        "easy-slow",
        "marathon-training",
        "threshold",
        "interval",
        "repetition",
    }
    for name, distance in RACE_DISTANCES.items():
        assert paces[name] == pytest.approx(race_time(45.0, distance) / distance * 1000.0)
    fast, slow = easy_range(45.0)
    assert (paces["easy-fast"], paces["easy-slow"]) == (fast, slow)
    assert paces["easy"] == pytest.approx((fast + slow) / 2)


def test_trial_paces() -> None:
    value, paces = trial_paces(5000, hms(0, 19, 57))
    assert value == pytest.approx(vdot(5000, hms(0, 19, 57)))
    assert paces == derived_paces(value)
    assert paces["5k"] == pytest.approx(hms(0, 19, 57) / 5, rel=1e-9)


@pytest.mark.parametrize(
    "args",
    [(0.0, 100.0), (-1.0, 100.0), (5000.0, 0.0), (5000.0, -5.0), (math.nan, 100.0), (5000.0, math.inf)],
)
def test_vdot_rejects_bad_input(args: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        vdot(*args)


@pytest.mark.parametrize("args", [(0.0, 5000.0), (-50.0, 5000.0), (50.0, 0.0), (50.0, -1.0)])
def test_race_time_rejects_bad_input(args: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        race_time(*args)


@pytest.mark.parametrize("bad", [0.0, -3.0, math.nan])
def test_other_functions_reject_bad_input(bad: float) -> None:
    with pytest.raises(ValueError):
        velocity_at_vo2(bad)
    for function in (derived_paces, easy_range, marathon_training_pace, repetition_pace):
        with pytest.raises(ValueError):
            function(bad)


distances = st.floats(min_value=400.0, max_value=42195.0)
vdots = st.floats(min_value=25.0, max_value=85.0)


@settings(max_examples=300, deadline=None)
@given(distance=distances, vdot_value=vdots)
def test_race_time_inverts_vdot(distance: float, vdot_value: float) -> None:
    t = race_time(vdot_value, distance)
    assert t > 0
    assert vdot(distance, t) == pytest.approx(vdot_value, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(distance=distances, vdot_value=st.floats(min_value=20.0, max_value=90.0))
def test_race_time_bracketed_to_microsecond(distance: float, vdot_value: float) -> None:
    t = race_time(vdot_value, distance)
    assert vdot(distance, t - 1e-6) >= vdot_value >= vdot(distance, t + 1e-6)


@settings(max_examples=100, deadline=None)
@given(
    distance=distances,
    low=st.floats(min_value=20.0, max_value=90.0),
    delta=st.floats(min_value=0.01, max_value=10.0),
)
def test_faster_with_higher_vdot(distance: float, low: float, delta: float) -> None:
    high = low + delta
    assert race_time(high, distance) < race_time(low, distance)
    slow, fast = derived_paces(low), derived_paces(high)
    for name in slow:
        assert fast[name] < slow[name]


@settings(max_examples=100, deadline=None)
@given(vdot_value=st.floats(min_value=30.0, max_value=80.0))
def test_training_pace_order(vdot_value: float) -> None:
    p = derived_paces(vdot_value)
    assert p["easy"] > p["marathon"] > p["threshold"] > p["interval"] > p["repetition"]
    assert p["easy-slow"] > p["easy"] > p["easy-fast"] > p["marathon-training"] > p["threshold"]


def test_race_paces_slow_down_with_distance() -> None:
    paces = derived_paces(50.0)
    ordered = sorted(RACE_DISTANCES, key=RACE_DISTANCES.__getitem__)
    for shorter, longer in itertools.pairwise(ordered):
        assert paces[shorter] < paces[longer]
