"""Time trials: record them, find the latest, derive the training paces (Daniels' VDOT, see vdot.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cadencecoach.errors import UsageError, warn
from cadencecoach.history.db import Database, HistoryError, Warn, open_db, utc_now
from cadencecoach.workout import paces as pace_book
from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.units import METERS_PER_MILE, format_clock, parse_trial

VDOT_RANGE = pace_book.VDOT_RANGE  # the pace book's: outside it, no runner's result

FIRST_DAY = date(1900, 1, 1)
"""The earliest day a trial may have been run; the latest is tomorrow (one day of slack for time zones)."""


def format_time(seconds: float) -> str:
    """``6:12``, ``19:57``, ``1:31:35``; tenths only when the time has them (``6:12.4``)."""
    return format_clock(seconds, tenths=True)


@dataclass(frozen=True)
class Trial:
    """A time-trial result."""

    id: int | None
    date: date
    distance: str  # as written, lower case: "1mi", "5k", "mile", "3000m"
    distance_m: float
    time_s: float
    vdot: float
    note: str | None = None

    @property
    def result(self) -> str:
        """``1mi 6:12``: what ``--trial`` and ``trial:`` accept."""
        return f"{self.distance} {format_time(self.time_s)}"

    def describe(self) -> str:
        return f"{self.result} trial of {self.date.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "result": self.result,
            "distance": self.distance,
            "distance_m": self.distance_m,
            "time_s": self.time_s,
            "vdot": round(self.vdot, 2),
            "note": self.note,
        }


def make_trial(text: str, when: date | None = None, note: str | None = None) -> Trial:
    """A trial from ``"1mi 6:12"`` (or ``"5k 19:57"``); raises UsageError for a result no runner has."""
    try:
        meters, secs = parse_trial(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    v = pace_book.trial_vdot((meters, secs))  # the pace book's one check, as for --trial and trial:
    if not pace_book.vdot_in_range(v):
        raise UsageError(pace_book.vdot_range_message(text, v))
    distance = text.split()[0].lower()
    return Trial(None, when or date.today(), distance, float(meters), float(secs), v, (note or "").strip() or None)


def last_day(today: date | None = None) -> date:
    """The latest day a trial may have: tomorrow (one day of slack for time zones)."""
    return (today or date.today()) + timedelta(days=1)


def parse_date(text: str | None, *, today: date | None = None) -> date:
    """``--date``: ``YYYY-MM-DD``, ``today`` or ``yesterday``; from :data:`FIRST_DAY` to tomorrow.

    Examples
    --------
    >>> parse_date("2026-11-20", today=date(2026, 12, 1))
    datetime.date(2026, 11, 20)
    >>> parse_date("0001-01-01", today=date(2026, 12, 1))
    Traceback (most recent call last):
    ...
    cadencecoach.errors.UsageError: --date 0001-01-01: give a day from 1900-01-01 to 2026-12-02
    """
    today = today or date.today()
    if text is None or text.strip().lower() == "today":
        return today
    if text.strip().lower() == "yesterday":
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--date {text}: write the day as YYYY-MM-DD, like 2026-11-20") from None
    if day > last_day(today):
        raise UsageError(f"--date {text} is in the future")
    if day < FIRST_DAY:
        raise UsageError(f"--date {text}: give a day from {FIRST_DAY.isoformat()} to {last_day(today).isoformat()}")
    return day


class BadRow(ValueError):
    """A stored trial that cannot be used (written by another tool, or before dates were checked)."""


def _row(row: Any, *, today: date | None = None) -> Trial:
    """A stored row as a Trial; :class:`BadRow` (saying what is wrong) unless every value is one a trial has."""
    raw = row["date"]
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise BadRow(f"its date {raw!r} is not a day") from None
    if not FIRST_DAY <= day <= last_day(today):
        raise BadRow(f"its date {day.isoformat()} is outside {FIRST_DAY.isoformat()}..{last_day(today).isoformat()}")
    values: dict[str, float] = {}
    for name in ("distance_m", "time_s", "vdot"):
        value = row[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise BadRow(f"its {name} {value!r} is not a positive number")
        values[name] = float(value)
    if not pace_book.vdot_in_range(values["vdot"]):
        raise BadRow(f"its VDOT {values['vdot']:.1f} is outside any runner's range")
    return Trial(
        id=row["id"],
        date=day,
        distance=str(row["distance"]),
        distance_m=values["distance_m"],
        time_s=values["time_s"],
        vdot=values["vdot"],
        note=row["note"],
    )


def _valid_rows(rows: list[Any], warn_fn: Warn | None) -> list[Trial]:
    """The rows that are trials; each other one skipped with a warning naming it and the way out."""
    out: list[Trial] = []
    for row in rows:
        try:
            out.append(_row(row))
        except BadRow as exc:
            trial_id = row["id"]
            (warn_fn or _warn)(
                f"trial {trial_id} in the history is skipped: {exc} (remove it with 'cadencecoach trial rm {trial_id}')"
            )
    return out


def add_trial(db: Database, trial: Trial) -> Trial:
    with db.write() as con:
        cur = con.execute(
            "INSERT INTO trials (date, distance, distance_m, time_s, vdot, note, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                trial.date.isoformat(),
                trial.distance,
                trial.distance_m,
                trial.time_s,
                trial.vdot,
                trial.note,
                utc_now(),
            ),
        )
        new_id = cur.lastrowid
    return Trial(new_id, trial.date, trial.distance, trial.distance_m, trial.time_s, trial.vdot, trial.note)


def list_trials(db: Database, warn: Warn | None = None) -> list[Trial]:
    """Oldest first (by the day run, then the order they were added). A stored row that is no trial (a date
    outside :data:`FIRST_DAY` .. tomorrow, a value out of range) is skipped with a warning naming it."""
    return _valid_rows(db.query("SELECT * FROM trials ORDER BY date, id"), warn)


def latest_trial(db: Database, warn: Warn | None = None) -> Trial | None:
    """The latest trial (by the day run); rows that are no trial are skipped (with a warning), never used."""
    for row in db.query("SELECT * FROM trials ORDER BY date DESC, id DESC"):
        found = _valid_rows([row], warn)
        if found:
            return found[0]
    return None


def remove_trial(db: Database, trial_id: int) -> Trial | None:
    """Delete a trial, even one whose stored values are bad; returns it (None when there was no such id)."""
    with db.write() as con:
        rows = con.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchall()
        if not rows:
            return None
        con.execute("DELETE FROM trials WHERE id = ?", (trial_id,))
    row = rows[0]
    try:
        return _row(row)
    except BadRow:  # what it was, as far as it can be read
        try:
            day = date.fromisoformat(str(row["date"]))
        except ValueError:
            day = date.min
        numbers = [
            float(v) if isinstance(v, (int, float)) and 0 < v < float("inf") else 0.0
            for v in (row["distance_m"], row["time_s"], row["vdot"])
        ]
        return Trial(row["id"], day, str(row["distance"]), numbers[0], numbers[1], numbers[2], row["note"])


# --------------------------------------------------------------------------------- the latest, quietly


def read_latest_trial(path: Path | None = None, warn: Warn | None = None) -> Trial | None:
    """The latest recorded trial, or None (no database, no trial, or a database that cannot be read: then one
    warning). Never creates the data folder, never raises."""
    try:
        db = open_db(path, create=False, warn=warn)
        if db is None:
            return None
        with db:
            return latest_trial(db, warn)
    except (HistoryError, OSError) as exc:
        (warn or _warn)(f"cannot read your recorded trials: {exc}")
    except Exception as exc:  # a history problem must not stop a workout
        (warn or _warn)(f"cannot read your recorded trials: {type(exc).__name__}: {exc}")
    return None


class DefaultTrial:
    """The loader's ``default_trial``: called only when a workout names derived paces and gives no trial.

    Remembers which trial it handed out, so the caller can say so (:meth:`announce`)."""

    def __init__(self, path: Path | None = None, warn: Warn | None = None) -> None:
        self.path = path
        self.warn = warn
        self.used: Trial | None = None

    def __call__(self) -> str | None:
        trial = read_latest_trial(self.path, self.warn)
        self.used = trial
        return trial.result if trial is not None else None

    def message(self) -> str | None:
        if self.used is None:
            return None
        return f"using your {self.used.describe()} (VDOT {self.used.vdot:.1f}) for the derived paces"

    def announce(self, out: Callable[[str], None] | None = None) -> None:
        text = self.message()
        if text:
            (out or (lambda m: print(m, file=sys.stderr, flush=True)))(text)


_warn = warn


# ------------------------------------------------------------------------------------------- paces

RACE_LABELS = {
    "mile": "mile",
    "3k": "3 km",
    "5k": "5 km",
    "10k": "10 km",
    "half": "half marathon",
    "marathon": "marathon",
}
TRAINING_LABELS = {
    "easy": "easy (E)",
    "marathon-training": "marathon training (M)",
    "threshold": "threshold (T)",
    "interval": "interval (I)",
    "repetition": "repetition (R)",
}
"""The training rows of :func:`pace_table`, easy to hard (``easy-fast`` and ``easy-slow`` are the easy row's range)."""
MILE_M = float(METERS_PER_MILE)


def _per_mile(s_per_km: float) -> float:
    return s_per_km * MILE_M / 1000


def _per_400m(s_per_km: float) -> float:
    return s_per_km * 0.4


def _range_text(low_high: tuple[float, float]) -> str:
    """``5:56-6:38``: a range of seconds, each end rounded to the second."""
    return "-".join(format_time(round(s)) for s in low_high)


@dataclass(frozen=True)
class PaceRow:
    name: str  # the pace name a workout uses: mile, 5k, easy, threshold, ...
    label: str
    kind: str  # "race" or "training"
    s_per_km: float
    race_time_s: float | None  # equivalent race time, for race paces
    range_s_per_km: tuple[float, float] | None = None  # (fast end, slow end), for the easy row

    @property
    def s_per_mile(self) -> float:
        return _per_mile(self.s_per_km)

    @property
    def s_per_400m(self) -> float:
        return _per_400m(self.s_per_km)

    def texts(self) -> tuple[str, str, str]:
        """Per km, per mile, per 400 m, to the second: the range (``5:56-6:38``) when the row has one."""
        if self.range_s_per_km is None:
            km, mile, track = (format_time(round(s)) for s in (self.s_per_km, self.s_per_mile, self.s_per_400m))
            return km, mile, track
        fast, slow = self.range_s_per_km
        return (
            _range_text((fast, slow)),
            _range_text((_per_mile(fast), _per_mile(slow))),
            _range_text((_per_400m(fast), _per_400m(slow))),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "s_per_km": round(self.s_per_km, 2),
            "s_per_mile": round(self.s_per_mile, 2),
            "s_per_400m": round(self.s_per_400m, 2),
            "per_km": format_time(round(self.s_per_km)),
            "per_mile": format_time(round(self.s_per_mile)),
            "per_400m": format_time(round(self.s_per_400m)),
            "race_time_s": None if self.race_time_s is None else round(self.race_time_s, 1),
            "race_time": None if self.race_time_s is None else format_time(round(self.race_time_s)),
        }
        if self.range_s_per_km is not None:  # the easy row: its ends (easy-fast, easy-slow); s_per_km is the middle
            fast, slow = self.range_s_per_km
            out["range_s_per_km"] = [round(fast, 2), round(slow, 2)]
            out["range_per_km"], out["range_per_mile"], out["range_per_400m"] = self.texts()
        return out


def pace_table(vdot_value: float) -> list[PaceRow]:
    """Every derived pace of a VDOT, race paces first (short to long), then training paces (easy to hard). The
    easy row is the middle of Daniels' easy range (the pace ``easy``) and carries the range (``easy-fast``,
    ``easy-slow``).

    Examples
    --------
    >>> easy = pace_table(40.0)[6]
    >>> easy.name, easy.texts()[0]  # Daniels' Running Formula, 3rd ed., Table 5.2: E 5:56-6:38/km
    ('easy', '5:56-6:38')
    """
    paces = vdot_mod.derived_paces(vdot_value)
    rows = [
        PaceRow(name, RACE_LABELS[name], "race", paces[name], paces[name] * d / 1000)
        for name, d in vdot_mod.RACE_DISTANCES.items()
    ]
    for name, label in TRAINING_LABELS.items():
        ends = (paces["easy-fast"], paces["easy-slow"]) if name == "easy" else None
        rows.append(PaceRow(name, label, "training", paces[name], None, ends))
    return rows


def equivalent_time(vdot_value: float, distance_m: float) -> float:
    return vdot_mod.race_time(vdot_value, distance_m)


__all__ = [
    "DefaultTrial",
    "PaceRow",
    "Trial",
    "add_trial",
    "equivalent_time",
    "format_time",
    "latest_trial",
    "list_trials",
    "make_trial",
    "pace_table",
    "parse_date",
    "read_latest_trial",
    "remove_trial",
]
