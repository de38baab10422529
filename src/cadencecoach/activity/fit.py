"""Garmin FIT activity files (``.fit``, file type ``activity``) -> :class:`~cadencecoach.activity.model.Activity`.

Decoded with Garmin's own SDK (``garmin-fit-sdk``, the ``fit`` extra), after the header and both CRCs are checked
(:func:`cadencecoach.workout.formats.fit_import.frame`: a damaged or cut-short file is one error, never a
traceback). The mapping, units as FIT stores them after the SDK's scaling:

* ``record`` messages are the samples: ``timestamp`` (s; ``t`` is the time since the first record: elapsed
  time, timer pauses included), ``cadence`` + ``fractional_cadence`` (strides, one foot, per minute for running:
  the running-cadence rule of :mod:`._common` doubles it to steps), ``enhanced_speed`` else ``speed`` (m/s),
  ``distance`` (m), ``heart_rate`` (bpm);
* the sport of each record: its ``activity_type`` (running, walking; cycling, swimming...), else that of the
  ``session`` it falls in (by the sessions' end times), else the laps': only a foot sport's cadence (running,
  walking, hiking, or a sport the file does not name or calls ``generic``) is a step cadence; a cycling or
  swimming cadence is left out (NaN), with a note;
* ``lap`` messages -> :class:`~cadencecoach.activity.model.Lap`: ``start_time``, ``start_time +
  total_elapsed_time`` (else the lap's ``timestamp``), ``total_distance``, ``lap_trigger``;
* ``started_at`` is the first record's time, ``sport`` the first session's (else the first lap's).

A FIT workout (type ``workout``), a course or another kind of FIT file is refused, saying what it is. At most
:data:`~cadencecoach.activity._common.MAX_SAMPLES` records and :data:`MAX_MESSAGES` messages are decoded (the SDK
takes some 30 us a message).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from cadencecoach import extras
from cadencecoach.activity._common import (
    MAX_LAPS,
    MAX_SAMPLES,
    NAN,
    ActivityError,
    RawLap,
    Samples,
    build_activity,
    clip,
    from_workout_error,
    too_many,
    too_many_laps,
)
from cadencecoach.activity.model import Activity, Floats
from cadencecoach.errors import WorkoutError
from cadencecoach.workout.formats.fit_import import frame

__all__ = ["FOOT_SPORTS", "MAX_MESSAGES", "parse_fit"]

Mesg = Mapping[object, object]
Span = tuple[float, str | None, str | None]
"""A session's or lap's end time, sport and sub-sport."""

FILE_ID, SESSION, LAP, RECORD = 0, 18, 19, 20
MAX_MESSAGES = 2 * MAX_SAMPLES
"""Messages decoded at most (records, HRV, events...): a real file has at most a few per record."""

FOOT_SPORTS = {"running", "walking", "hiking", "mountaineering", "generic", "all"}
"""FIT sports whose cadence is a step cadence (``generic``: a watch that does not say; read as running)."""
FOOT_SUB_SPORTS = {"treadmill", "indoor_running", "indoor_walking", "trail", "track", "street", "casual_walking"}
"""Sub-sports that make any sport a foot sport (``fitness_equipment`` + ``treadmill``)."""
FOOT_ACTIVITY_TYPES = {"running", "walking"}
OTHER_ACTIVITY_TYPES = {"cycling", "swimming", "transition", "sedentary"}
UNNAMED = {None, "generic", "all"}

FILE_KINDS = {
    "workout": "a FIT workout (a plan), not a recorded activity: use it as the workout (--workout)",
    "course": "a FIT course (a route to follow), not a recorded activity",
}


class _Stop(Exception):
    """Raised from the decoder's listener to stop decoding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_fit(data: bytes, display: str = "<activity.fit>") -> Activity:
    """A FIT activity file's bytes -> Activity; ActivityError (``FILE: message``) when it cannot be read.

    :class:`~cadencecoach.errors.ExtraUnavailable` when the ``fit`` extra is not installed."""
    extras.load("garmin_fit_sdk", "reading a FIT activity")
    try:
        body, trailing = frame(data, display)
    except WorkoutError as exc:
        raise from_workout_error(exc, display, positioned=False) from None
    messages = _decode(body, display)
    notes = [f"{trailing} bytes after the end of the FIT file (its CRC) are not read"] if trailing else []
    return _Reader(display, messages, notes).activity()


def _decode(body: bytes, display: str) -> dict[str, list[Mesg]]:
    """The messages of the checked FIT file `body` by the SDK's keys (``record_mesgs``...); stops at the
    ``file_id`` of a file that is no activity, and past the limits."""
    from garmin_fit_sdk import Decoder, Stream

    counts = {"all": 0, RECORD: 0, LAP: 0}
    seen_file_id = False

    def listener(num: int, message: dict[str, Any]) -> None:
        nonlocal seen_file_id
        counts["all"] += 1
        if num == FILE_ID and not seen_file_id:
            seen_file_id = True
            kind = message.get("type")
            if kind is not None and kind != "activity":
                raise _Stop(
                    FILE_KINDS.get(str(kind), f"a FIT file of type '{clip(str(kind))}', not a recorded activity")
                )
        elif num == RECORD:
            counts[RECORD] += 1
            if counts[RECORD] > MAX_SAMPLES:
                raise _Stop(too_many(display, "records").message)
        elif num == LAP:
            counts[LAP] += 1
            if counts[LAP] > MAX_LAPS:
                raise _Stop(too_many_laps(display).message)
        if counts["all"] > MAX_MESSAGES:
            raise _Stop(f"more than {MAX_MESSAGES:,} FIT messages: too many for one run")

    decoder = Decoder(Stream.from_byte_array(bytearray(body)))
    messages, errors = decoder.read(
        mesg_listener=listener,
        merge_heart_rates=False,
        expand_components=False,
        enable_crc_check=False,  # (checked by frame)
    )
    for error in errors:
        if isinstance(error, _Stop):
            raise ActivityError(display, error.message)
    if errors:
        text = str(errors[0])
        m = re.match(r"FIT Runtime Error at byte: (\d+) ?(.*)", text)
        where, why = (f" at byte {m.group(1)}", m.group(2) or "unreadable data") if m else ("", text)
        raise ActivityError(display, f"the FIT data cannot be decoded{where}: {clip(why.rstrip('.'))}")
    out: dict[str, list[Mesg]] = {}
    for key, values in messages.items():
        if isinstance(values, list):
            out[str(key)] = [v for v in values if isinstance(v, Mapping)]
    return out


def _num(value: object) -> float:
    """A FIT field's number (NaN when absent or not a number: an array, a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return NAN
    return float(value)


def _time(value: object) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def _name(value: object) -> str | None:
    return value if isinstance(value, str) else None


class _Reader:
    def __init__(self, display: str, messages: dict[str, list[Mesg]], notes: list[str]) -> None:
        self.display = display
        self.messages = messages
        self.notes = notes

    def activity(self) -> Activity:
        sessions = self.messages.get("session_mesgs", [])
        laps = self.messages.get("lap_mesgs", [])
        records = self.messages.get("record_mesgs", [])
        spans = _spans(sessions) or _spans(laps)
        ends = np.array([end for end, _, _ in spans], dtype=np.float64)
        samples = Samples(self.display, "records")
        other: dict[str, int] = {}
        unnamed = 0
        untimed = 0
        for r in records:
            ts = _time(r.get("timestamp"))
            if ts is None:
                untimed += 1
                continue
            cadence = _num(r.get("cadence"))
            if math.isfinite(cadence):
                fractional = _num(r.get("fractional_cadence"))
                if math.isfinite(fractional):
                    cadence += fractional
                foot, sport = self._foot(r, ts, spans, ends)
                if not foot:
                    other[sport] = other.get(sport, 0) + 1
                    cadence = NAN
                elif sport in UNNAMED:
                    unnamed += 1
            speed = _num(r.get("enhanced_speed"))
            if not math.isfinite(speed):
                speed = _num(r.get("speed"))
            samples.add(ts, cadence, speed, _num(r.get("distance")), _num(r.get("heart_rate")))
        notes = list(self.notes)
        if untimed:
            notes.append(f"{untimed} record{'s' if untimed > 1 else ''} with no time left out")
        if other:
            names = ", ".join(clip(s) for s in other)
            notes.append(f"the cadence of the {names} part left out: it is not a step cadence")
        if unnamed:
            notes.append("the file does not name the sport (or calls it 'generic'): its cadence is read as running")
        if len(sessions) > 1:
            names = ", ".join(clip(str(s.get("sport") or "?")) for s in sessions[:12])
            notes.append(f"{len(sessions)} sessions ({names}) read as one activity")
        raw_laps = [lap for lap in (_lap(m) for m in laps) if lap is not None]
        named = next((_name(m.get("sport")) for m in (*sessions, *laps) if _name(m.get("sport"))), None)
        return build_activity(
            self.display,
            "fit",
            samples.arrays(),
            laps=raw_laps,
            strides=True,
            sport=named,
            notes=notes,
            nothing="no record with a time: the FIT file holds no recorded samples",
        )

    def _foot(self, r: Mesg, ts: float, spans: list[Span], ends: Floats) -> tuple[bool, str]:
        """Whether the record's cadence is a step cadence, and its sport's name."""
        kind = _name(r.get("activity_type"))
        if kind in FOOT_ACTIVITY_TYPES:
            return True, str(kind)
        if kind in OTHER_ACTIVITY_TYPES:
            return False, str(kind)
        if not spans:
            return True, "generic"
        i = min(int(np.searchsorted(ends, ts, side="left")), len(spans) - 1)
        _, sport, sub = spans[i]
        if sport in UNNAMED or sport in FOOT_SPORTS or sub in FOOT_SUB_SPORTS:
            return True, sport or "generic"
        return False, str(sport)


def _spans(messages: list[Mesg]) -> list[Span]:
    """(end time, sport, sub-sport) of sessions or laps, in order of their end; the end is the message's
    ``timestamp`` (FIT's "end of the session"), else start + elapsed time."""
    out: list[Span] = []
    for m in messages:
        end = _time(m.get("timestamp"))
        if end is None:
            start = _time(m.get("start_time"))
            elapsed = _num(m.get("total_elapsed_time"))
            if start is None or not math.isfinite(elapsed):
                continue
            end = start + elapsed
        out.append((end, _name(m.get("sport")), _name(m.get("sub_sport"))))
    out.sort(key=lambda s: s[0])
    return out


def _lap(m: Mesg) -> RawLap | None:
    start = _time(m.get("start_time"))
    if start is None:
        return None
    elapsed = _num(m.get("total_elapsed_time"))
    end = start + elapsed if math.isfinite(elapsed) and elapsed >= 0 else _time(m.get("timestamp"))
    distance = _num(m.get("total_distance"))
    return RawLap(start, end, distance if math.isfinite(distance) else None, _name(m.get("lap_trigger")))
