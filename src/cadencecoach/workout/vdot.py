"""VDOT race equivalents and training paces (Jack Daniels & Jimmy Gilbert; Daniels' Running Formula).

Daniels & Gilbert fitted two curves to measured running data:

* the oxygen cost of running at velocity ``v`` (m/min),
  ``VO2 = -4.60 + 0.182258 v + 0.000104 v**2`` (ml/kg/min), and
* the fraction of VO2max that can be sustained for a race lasting ``t`` minutes,
  ``0.8 + 0.1894393 exp(-0.012778 t) + 0.2989558 exp(-0.1932605 t)``.

A race performance's VDOT is the oxygen cost of its average velocity divided by
the sustainable fraction for its duration. :func:`race_time` inverts that for a
given distance (bisection; the VDOT of a fixed distance strictly decreases as the
time grows), which gives the equivalent-performance tables (``mile`` ...
``marathon`` in :func:`derived_paces`: race paces, not training paces).

Training paces
--------------
The training paces follow Table 5.2, "Training intensities based on current
VDOT", of Daniels' Running Formula, 3rd ed. (Human Kinetics, 2014), rows VDOT
30-85 (tests/data/daniels_3rd_table_5_2.txt; tests/test_daniels_tables.py checks
every row). Each is the velocity whose oxygen cost is ``f * VDOT``
(:func:`training_pace`), where, measured on the book's paces, ``f`` is:

* ``threshold`` (T): 0.88, constant (:data:`TRAINING_FRACTIONS`);
* ``interval`` (I): 0.975, constant: the book's per-km I times (VDOT 37-85)
  within 0.9 s/km (their mean fraction is 0.974);
* ``easy-fast`` and ``easy-slow``, the ends of the book's easy (E) range, and
  ``marathon-training``, the book's marathon (M) training pace: not constant
  (the fast end rises from 0.725 of VDOT at VDOT 30 to 0.740 at 85, M from 0.778
  to 0.843, the slow end stays near 0.630), so each is a polynomial in VDOT
  fitted to the table (:data:`EASY_FAST_FIT`, :data:`EASY_SLOW_FIT`,
  :data:`MARATHON_TRAINING_FIT`, :func:`fitted_fraction`);
* ``easy`` is the middle of the easy range: the mean of its ends in s/km
  (:func:`easy_range`), the one easy pace a workout names.

``repetition`` (R) is not a fraction: the book's R per 400 m is its I per 400 m
less a fixed gap, 8 s up to VDOT 47, 7 s at 48-49 and 6 s from 50 (every row
that gives a 400 m time). :func:`repetition_pace` applies that rule to the
modelled I, with the gap going from 8 s at VDOT 47 to 6 s at 50 in a straight
line (:func:`repetition_gap`) so R has no jump.

Outside VDOT 30-85 (the pace book accepts 10-100) the fitted fractions are held
at their end values (VDOT 30 below, 85 above) and the gap at 8 s / 6 s, so every
pace stays continuous and gets strictly faster as VDOT rises, and the order
easy-slow > easy > easy-fast > marathon-training > threshold > interval >
repetition (seconds per km) holds from VDOT 10 to 100.

What differs from the book (max over its 56 rows, in s/km; the book rounds to
whole seconds per km for E, M and T, per 400 m for I and R):

=================  =========  ==================================================
pace               max error  why
=================  =========  ==================================================
easy-fast          0.74       the fit (the book's rounding alone is 0.5)
easy-slow          0.77       the fit
marathon-training  0.61       the fit
threshold          0.74       the constant fraction
interval           0.86       against the book's per-km I (VDOT 37-85); 3.21
                              against its per-400 m I, which is rounded to
                              whole seconds and disagrees with its own per-km
                              column by up to 4 s/km (-1.5 to +4.0)
repetition         3.37       the book's R is its rounded 400 m I less the gap,
                              so it carries that column's unevenness
=================  =========  ==================================================

``marathon`` stays the marathon race-equivalent. For VDOT 46 and above it is the
book's M within 0.7 s/km; below, the race-equivalent is faster than the book's M
training pace, by 11 s/km at VDOT 30: use ``marathon-training`` for M runs.

Examples
--------
>>> paces = derived_paces(50.0)
>>> [round(paces[n]) for n in ("easy-fast", "easy-slow", "marathon-training", "threshold")]  # 4:56 5:34 4:31 4:15
[297, 334, 271, 255]
>>> round(paces["interval"] * 0.4, 1), round(paces["repetition"] * 0.4, 1)  # per 400 m; the book: 93 and 87
(93.9, 87.9)
"""

from __future__ import annotations

import math

from cadencecoach.workout.units import METERS_PER_MILE

__all__ = [
    "DERIVED_NAMES",
    "EASY_FAST_FIT",
    "EASY_SLOW_FIT",
    "FIT_RANGE",
    "MARATHON_TRAINING_FIT",
    "RACE_DISTANCES",
    "TRAINING_FRACTIONS",
    "TRAINING_PACES",
    "derived_paces",
    "easy_range",
    "fitted_fraction",
    "fraction_of_max",
    "marathon_training_pace",
    "oxygen_cost",
    "race_time",
    "repetition_gap",
    "repetition_pace",
    "training_pace",
    "trial_paces",
    "vdot",
    "velocity_at_vo2",
]

# Oxygen-cost quadratic: VO2 = _C0 + _C1 v + _C2 v**2 (v in m/min).
_C0 = -4.60
_C1 = 0.182258
_C2 = 0.000104

RACE_DISTANCES: dict[str, float] = {
    "mile": float(METERS_PER_MILE),
    "3k": 3000.0,
    "5k": 5000.0,
    "10k": 10000.0,
    "half": 21097.5,
    "marathon": 42195.0,
}
"""The race-equivalent paces, by name: the distance in metres."""

TRAINING_PACES: tuple[str, ...] = (
    "easy",
    "easy-fast",
    "easy-slow",
    "marathon-training",
    "threshold",
    "interval",
    "repetition",
)
"""The training paces :func:`derived_paces` gives: the easy range's middle and ends, then M, T, I and R."""

DERIVED_NAMES: tuple[str, ...] = tuple(RACE_DISTANCES) + TRAINING_PACES
"""Every name :func:`derived_paces` gives a pace to, races first."""

TRAINING_FRACTIONS: dict[str, float] = {
    "threshold": 0.88,
    "interval": 0.975,
}
"""The training paces at a constant fraction of VDOT (the others: :func:`derived_paces`)."""

FIT_RANGE = (30.0, 85.0)
"""The VDOTs of Table 5.2 the fits were made on; outside, a fitted fraction is held at its end value."""

# The fitted fractions f(VDOT) = c0 + c1 x + c2 x**2 + c3 x**3, x = (VDOT - 57.5) / 27.5 (-1 at VDOT 30, +1
# at 85). Fitted to Daniels' Running Formula, 3rd ed. (2014), Table 5.2, all 56 rows (VDOT 30-85), by least
# squares on the fraction: f = oxygen_cost(the book's pace in m/min) / VDOT for each row, then
# numpy.polyfit(x, f, degree), rounded to 6 decimals (tests/test_daniels_tables.py refits them from
# tests/data/daniels_3rd_table_5_2.txt and checks they are these). Max error over the rows, in s/km:
EASY_FAST_FIT: tuple[float, ...] = (0.732608, 0.00756)  # E pace, fast end; linear; max 0.74 s/km
EASY_SLOW_FIT: tuple[float, ...] = (0.628918, -0.00055, 0.003251, -0.002018)  # E, slow end; cubic; 0.77 s/km
MARATHON_TRAINING_FIT: tuple[float, ...] = (0.822548, 0.019923, -0.012948, 0.012631)  # M pace; cubic; 0.61 s/km

# Daniels' R per 400 m is his I per 400 m less this many seconds: 8 up to VDOT 47, 6 from VDOT 50 (the book: 7
# at 48 and 49); between 47 and 50 the gap goes down in a straight line, so R pace has no jump.
_R_GAP = ((47.0, 8.0), (50.0, 6.0))

# Precision of race_time, in seconds.
_TIME_TOLERANCE_S = 1e-6


def _require_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def oxygen_cost(v_m_per_min: float) -> float:
    """Oxygen cost (ml/kg/min) of running at ``v_m_per_min`` metres per minute."""
    v = v_m_per_min
    return _C0 + _C1 * v + _C2 * v * v


def fraction_of_max(t_min: float) -> float:
    """Fraction of VO2max sustainable for a race lasting ``t_min`` minutes."""
    return 0.8 + 0.1894393 * math.exp(-0.012778 * t_min) + 0.2989558 * math.exp(-0.1932605 * t_min)


def vdot(distance_m: float, time_s: float) -> float:
    """VDOT of running ``distance_m`` metres in ``time_s`` seconds."""
    _require_positive("distance_m", distance_m)
    _require_positive("time_s", time_s)
    t_min = time_s / 60.0
    return oxygen_cost(distance_m / t_min) / fraction_of_max(t_min)


def race_time(vdot_value: float, distance_m: float) -> float:
    """Time in seconds to race ``distance_m`` metres at ``vdot_value``.

    Solves ``vdot(distance_m, t) == vdot_value`` by bisection to 1e-6 s. For a
    fixed distance VDOT strictly decreases as the time grows (from +inf for
    t -> 0 to a negative value for very slow times), so every positive VDOT has
    exactly one solution.
    """
    _require_positive("vdot_value", vdot_value)
    _require_positive("distance_m", distance_m)

    # Bracket: vdot(lo) > target >= vdot(hi). Start from a guess around the
    # time at a velocity of VO2max, then widen geometrically.
    guess = distance_m / velocity_at_vo2(vdot_value) * 60.0
    lo = guess / 2.0
    while vdot(distance_m, lo) <= vdot_value:
        lo /= 2.0
    hi = guess * 2.0
    while vdot(distance_m, hi) > vdot_value:
        hi *= 2.0

    while hi - lo > _TIME_TOLERANCE_S:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):  # float resolution reached
            break
        if vdot(distance_m, mid) > vdot_value:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def velocity_at_vo2(vo2: float) -> float:
    """Velocity (m/min) whose oxygen cost is ``vo2`` ml/kg/min.

    The positive root of ``_C2 v**2 + _C1 v + (_C0 - vo2) = 0``, computed in a
    cancellation-free form.
    """
    _require_positive("vo2", vo2)
    c = vo2 - _C0  # > 0, so the roots have opposite signs
    return 2.0 * c / (_C1 + math.sqrt(_C1 * _C1 + 4.0 * _C2 * c))


def fitted_fraction(coefficients: tuple[float, ...], vdot_value: float) -> float:
    """The fraction of VDOT a fitted training pace runs at (``coefficients`` in ``x = (VDOT - 57.5) / 27.5``,
    lowest power first), VDOT held to :data:`FIT_RANGE`.

    Examples
    --------
    >>> round(fitted_fraction(MARATHON_TRAINING_FIT, 30.0), 4), round(fitted_fraction(MARATHON_TRAINING_FIT, 85.0), 4)
    (0.777, 0.8422)
    >>> fitted_fraction(MARATHON_TRAINING_FIT, 20.0) == fitted_fraction(MARATHON_TRAINING_FIT, 30.0)
    True
    """
    low, high = FIT_RANGE
    x = (min(max(vdot_value, low), high) - (low + high) / 2) / ((high - low) / 2)
    fraction = 0.0
    for c in reversed(coefficients):
        fraction = fraction * x + c
    return fraction


def training_pace(fraction: float, vdot_value: float) -> float:
    """Seconds per km at the velocity whose oxygen cost is ``fraction * vdot_value``."""
    _require_positive("vdot_value", vdot_value)
    return 60_000.0 / velocity_at_vo2(fraction * vdot_value)


def easy_range(vdot_value: float) -> tuple[float, float]:
    """Daniels' easy (E) range in seconds per km: ``(fast end, slow end)``.

    Examples
    --------
    >>> [round(s) for s in easy_range(40.0)]  # Table 5.2: 5:56-6:38/km
    [356, 398]
    """
    return (
        training_pace(fitted_fraction(EASY_FAST_FIT, vdot_value), vdot_value),
        training_pace(fitted_fraction(EASY_SLOW_FIT, vdot_value), vdot_value),
    )


def marathon_training_pace(vdot_value: float) -> float:
    """Daniels' marathon (M) training pace in seconds per km (not the marathon race-equivalent).

    Examples
    --------
    >>> round(marathon_training_pace(35.0)), round(race_time(35.0, 42195.0) / 42.195)  # Table 5.2 M: 6:10/km
    (370, 364)
    """
    return training_pace(fitted_fraction(MARATHON_TRAINING_FIT, vdot_value), vdot_value)


def repetition_gap(vdot_value: float) -> float:
    """Seconds per 400 m by which Daniels' R pace is faster than his I pace: 8 to VDOT 47, 6 from 50.

    Examples
    --------
    >>> [repetition_gap(v) for v in (30.0, 47.0, 48.5, 50.0, 85.0)]
    [8.0, 8.0, 7.0, 6.0, 6.0]
    """
    (v0, g0), (v1, g1) = _R_GAP
    if vdot_value <= v0:
        return g0
    if vdot_value >= v1:
        return g1
    return g0 + (g1 - g0) * (vdot_value - v0) / (v1 - v0)


def repetition_pace(vdot_value: float) -> float:
    """Daniels' repetition (R) pace in seconds per km: the interval pace less :func:`repetition_gap` per 400 m.

    Examples
    --------
    >>> round(repetition_pace(40.0) * 0.4, 1)  # Table 5.2: R 1:44 per 400 m (I 1:52)
    104.5
    """
    interval_400m = training_pace(TRAINING_FRACTIONS["interval"], vdot_value) * 0.4
    return (interval_400m - repetition_gap(vdot_value)) * 2.5


def derived_paces(vdot_value: float) -> dict[str, float]:
    """Paces in seconds per km for every name in :data:`DERIVED_NAMES`: the race equivalents, then the training
    paces (see the module's docstring)."""
    _require_positive("vdot_value", vdot_value)
    paces = {name: race_time(vdot_value, d) / d * 1000.0 for name, d in RACE_DISTANCES.items()}
    fast, slow = easy_range(vdot_value)
    paces["easy"] = (fast + slow) / 2
    paces["easy-fast"] = fast
    paces["easy-slow"] = slow
    paces["marathon-training"] = marathon_training_pace(vdot_value)
    for name, fraction in TRAINING_FRACTIONS.items():
        paces[name] = training_pace(fraction, vdot_value)
    paces["repetition"] = repetition_pace(vdot_value)
    return paces


def trial_paces(distance_m: float, time_s: float) -> tuple[float, dict[str, float]]:
    """VDOT of a time trial and the paces derived from it."""
    value = vdot(distance_m, time_s)
    return value, derived_paces(value)
