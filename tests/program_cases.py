"""The programs several test files build: the same inputs in one place."""

from __future__ import annotations

from datetime import date

from cadencecoach.program.planner import ProgramInputs, example_inputs

MILER = example_inputs()
"""The docs' runner: a 6:30 miler after a 5:30 mile, 4 runs a week, 12 weeks, 25 km."""

SIX_DAYS = ProgramInputs(
    goal="1mi 5:10",
    days=6,
    weeks=16,
    start=date(2027, 1, 4),
    trial="5k 19:57",
    trial_date=date(2026, 10, 1),
    volume_km=50.0,
    cadence=182,
    cadence_from=172,
)
"""6 runs a week for 16 weeks at 50 km, the trial (a 5k) three months old: a trial at once."""

THREE_DAYS = ProgramInputs(
    goal="1mi 9:00",
    days=3,
    weeks=8,
    start=date(2027, 1, 4),
    trial="1mi 9:45",
    trial_date=date(2027, 1, 1),
    volume_km=12.0,
    cadence=172,
    cadence_from=166,
)
"""A beginner: 3 runs a week, 8 weeks, 12 km a week."""
