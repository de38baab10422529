"""VDOT race equivalents and training paces (Jack Daniels & Jimmy Gilbert).

Daniels & Gilbert fitted two curves to measured running data:

* the oxygen cost of running at velocity ``v`` (m/min),
  ``VO2 = -4.60 + 0.182258 v + 0.000104 v**2`` (ml/kg/min), and
* the fraction of VO2max that can be sustained for a race lasting ``t`` minutes,
  ``0.8 + 0.1894393 exp(-0.012778 t) + 0.2989558 exp(-0.1932605 t)``.

A race performance's VDOT is the oxygen cost of its average velocity divided by
the sustainable fraction for its duration. :func:`race_time` inverts that for a
given distance (bisection; the VDOT of a fixed distance strictly decreases as the
time grows), which gives the equivalent-performance tables.

Training paces
--------------
A training pace is the velocity whose oxygen cost equals ``fraction * VDOT``
(:func:`velocity_at_vo2`), with the fractions in :data:`TRAINING_FRACTIONS`:

* ``easy`` 0.68 -- middle of Daniels' easy range (roughly 59-74 % of VO2max).
* ``threshold`` 0.88 -- comfortably hard, about one hour of racing effort.
* ``interval`` 0.975 -- about the velocity at VO2max (vVO2max).
* ``repetition`` 1.055 -- about mile-race effort (Daniels' R pace is close to
  current mile race pace).

Marathon pace is not a fraction: it is the race pace from :func:`race_time`
(it works out at 80-84 % of VO2max for VDOT 20-90).

What was checked (these are the values from Daniels' published tables as
remembered, compared with what this module computes; none was adjusted):

* VDOT 50 races: 1 mile 5:50, 5K 19:57, 10K 41:21, half 1:31:35, marathon
  3:10:49 -- computed 5:50, 19:56, 41:20, 1:31:31, 3:10:40 (all within 0.1 %).
  The same holds within ~0.3 % for table rows at VDOT 30, 40, 60 and 70
  (e.g. VDOT 30 5K 30:40, VDOT 60 marathon 2:43:25, VDOT 70 marathon 2:23:10).
* VDOT 50 training: E ~5:00-5:35/km (computed 5:14/km), M 4:31/km (4:31),
  T ~4:15/km (4:15), I ~3:55/km = 1:34/400 m (3:55), R ~1:28/400 m = 3:40/km
  (1:28/400 m). VDOT 40: T ~5:06/km (5:06), I ~4:41/km (4:41), R ~1:46/400 m
  (1:46).
* Because R is a fixed fraction while the sustainable fraction for a mile
  rises with fitness (about 1.02 of VO2max at VDOT 30, 1.07 at 50, 1.12 at 80),
  R pace matches the modelled mile race pace for VDOT 40-55 but is about 3 %
  faster at VDOT 30 and about 5 % slower at VDOT 80. The ordering
  easy > marathon > threshold > interval > repetition (seconds per km) holds
  for the whole VDOT 20-90 range.
"""

from __future__ import annotations

import math

from cadencecoach.workout.units import METERS_PER_MILE

__all__ = [
    "RACE_DISTANCES",
    "TRAINING_FRACTIONS",
    "derived_paces",
    "fraction_of_max",
    "oxygen_cost",
    "race_time",
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

TRAINING_FRACTIONS: dict[str, float] = {
    "easy": 0.68,
    "threshold": 0.88,
    "interval": 0.975,
    "repetition": 1.055,
}

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


def derived_paces(vdot_value: float) -> dict[str, float]:
    """Paces in seconds per km for each race distance and training intensity."""
    _require_positive("vdot_value", vdot_value)
    paces = {name: race_time(vdot_value, d) / d * 1000.0 for name, d in RACE_DISTANCES.items()}
    for name, fraction in TRAINING_FRACTIONS.items():
        paces[name] = 1000.0 / velocity_at_vo2(fraction * vdot_value) * 60.0
    return paces


def trial_paces(distance_m: float, time_s: float) -> tuple[float, dict[str, float]]:
    """VDOT of a time trial and the paces derived from it."""
    value = vdot(distance_m, time_s)
    return value, derived_paces(value)
