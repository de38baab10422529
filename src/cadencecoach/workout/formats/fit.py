"""A :class:`~cadencecoach.workout.model.Workout` as a Garmin FIT workout file (``convert WORKOUT -o workout.fit``).

Written with Garmin's own FIT SDK for Python (``garmin-fit-sdk``, the ``fit`` extra). The file holds:

* ``file_id``: type ``workout``, manufacturer ``development``;
* ``workout``: name, sport ``running``, ``num_valid_steps``, the notes as ``wkt_description``;
* one ``workout_step`` per step, in order, with ``message_index`` 0, 1, ...:

  - ``wkt_step_name``: the label; ``intensity``: warmup -> ``warmup``, run -> ``active``, recover -> ``recovery``,
    rest -> ``rest``, cooldown -> ``cooldown``;
  - duration: ``time`` (ms), ``distance`` (cm), or ``open`` for an open step ("press lap": ended by the lap key);
  - target: a pace becomes a ``speed`` range in m/s, the pace +- :data:`PACE_BAND_S_PER_KM`; the click's cadence
    (steps per minute; a ramp is a range) becomes a ``cadence`` range in strides per minute (FIT counts one foot:
    half), as the primary target when there is no pace, else as the secondary target; a step whose click is off
    has no cadence target;
  - ``notes``: effort, ``say`` and timed cues (FIT has no timed messages: listed with their time, and warned);

* a repeat is its steps followed by a ``repeat_until_steps_cmplt`` step whose ``duration_step`` is the
  ``message_index`` of the repeat's first step and whose ``repeat_steps`` is the count (nesting works alike).

What FIT cannot hold (breathing patterns, voice mode) is reported as a warning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from cadencecoach import atomic
from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.workout.formats._common import Item
from cadencecoach.workout.model import Repeat, Step, Workout
from cadencecoach.workout.paces import decimal_text

FitValue = str | int | datetime | None
"""A field value we write: a name, a number (in the field's scaled units), a time."""
Message = dict[str, FitValue]
"""One FIT message: ``mesg_num`` and its fields by profile name."""
Decoded = dict[str, object]
"""A message as read back by fitdecode: field name -> value (whatever type the field has)."""


class _Encoder(Protocol):
    """What we use of ``garmin_fit_sdk.Encoder`` (the SDK ships no type information)."""

    def write_mesg(self, mesg: Message) -> object: ...

    def close(self) -> bytes: ...


ProfileMessages = Mapping[int, Mapping[str, Mapping[str, Mapping[str, object]]]]
"""What we read of ``garmin_fit_sdk.Profile["messages"]``: message number -> ``fields`` -> field -> its name."""

PACE_BAND_S_PER_KM = Fraction(5)
"""A pace target P is written as the speed range [speed at P + 5 s/km, speed at P - 5 s/km]."""

INTENSITY = {"warmup": "warmup", "run": "active", "recover": "recovery", "rest": "rest", "cooldown": "cooldown"}
MAX_STRING_BYTES = 254  # a FIT field is at most 255 bytes, the NUL included
MAX_UINT32 = 2**32 - 2  # 0xFFFFFFFF is FIT's "invalid"

FILE_ID, WORKOUT, WORKOUT_STEP = 0, 26, 27


@dataclass(frozen=True)
class FitStep:
    """One workout_step message, in plain values (what :func:`decode` gives back, too)."""

    message_index: int
    name: str | None = None
    duration_type: str = "time"  # time | distance | open | repeat_until_steps_cmplt
    duration_value: int | None = None  # ms | cm | None | message_index to repeat from
    target_type: str = "open"  # speed | cadence | open
    target_value: int | None = None  # 0 for custom ranges; the count for a repeat step
    low: int | None = None  # mm/s for speed, strides/min for cadence
    high: int | None = None
    secondary_target_type: str | None = None
    secondary_low: int | None = None
    secondary_high: int | None = None
    intensity: str | None = None
    notes: str | None = None


def _speed_range(s_per_m: Fraction) -> tuple[int, int]:
    """mm/s at (pace + band, pace - band); FIT's speed fields are m/s with a scale of 1000."""
    band = PACE_BAND_S_PER_KM / 1000
    slow = s_per_m + band
    fast = max(s_per_m - band, s_per_m / 2)
    return round(1000 / slow), round(1000 / fast)


def _cadence_range(cadence: tuple[Fraction, Fraction]) -> tuple[int, int]:
    """Strides per minute (steps / 2): the floor of the lower end, the ceiling of the upper one."""
    lo, hi = min(cadence), max(cadence)
    return math.floor(lo / 2), math.ceil(hi / 2)


def _text(value: str, what: str, warns: list[str]) -> str:
    data = value.encode("utf-8")
    if len(data) <= MAX_STRING_BYTES:
        return value
    cut = data[:MAX_STRING_BYTES].decode("utf-8", errors="ignore")
    warns.append(f"{what} is longer than a FIT text field ({MAX_STRING_BYTES} bytes): cut to '{cut[:40]}...'")
    return cut


def fit_steps(workout: Workout, warns: list[str] | None = None) -> list[FitStep]:
    """The workout's steps as FIT workout_step values (repeats as repeat steps), with warnings."""
    warnings = warns if warns is not None else []
    out: list[FitStep] = []
    problems: list[Problem] = []

    def where(step: Step) -> str:
        return f"{workout.source}:{step.line}:{step.col}" if step.line else workout.source

    def one(step: Step) -> FitStep:
        index = len(out)
        if step.open:
            dtype, dvalue = "open", None
        elif step.extent.is_time:
            dtype, dvalue = "time", round(step.extent.value * 1000)
        else:
            dtype, dvalue = "distance", round(step.extent.value * 100)
        if dvalue is not None and not 0 < dvalue <= MAX_UINT32:
            problems.append(
                Problem(workout.source, max(step.line, 1), max(step.col, 1), "the step is too long for a FIT file")
            )
        cadence = step.cadence or workout.cadence
        cad = _cadence_range(cadence) if step.click else None
        target_type, target_value = "open", None
        low = high = None
        secondary: tuple[int, int] | None = None
        if step.pace is not None:
            target_type, target_value = "speed", 0
            low, high = _speed_range(step.pace.s_per_m)
            secondary = cad
        elif cad is not None:
            target_type, target_value = "cadence", 0
            low, high = cad
        notes = [step.effort or "", step.say or ""]
        for offset, text in step.cues:
            notes.append(f"at {_clock(offset)}: {text}")
            warnings.append(
                f"{where(step)}: FIT has no timed messages: '{text}' ({decimal_text(offset)} s into "
                f"'{step.label}') is put in the step's notes"
            )
        if step.breathing:
            warnings.append(
                f"{where(step)}: breathing {step.breathing[0]}:{step.breathing[1]} has no FIT equivalent; not exported"
            )
        note = "; ".join(n.strip() for n in notes if n and n.strip()) or None
        return FitStep(
            message_index=index,
            name=_text(step.label, f"{where(step)}: the name '{step.label[:20]}'", warnings),
            duration_type=dtype,
            duration_value=dvalue,
            target_type=target_type,
            target_value=target_value,
            low=low,
            high=high,
            secondary_target_type="cadence" if secondary is not None else None,
            secondary_low=secondary[0] if secondary is not None else None,
            secondary_high=secondary[1] if secondary is not None else None,
            intensity=INTENSITY[step.kind],
            notes=_text(note, f"{where(step)}: the notes", warnings) if note else None,
        )

    def walk(items: tuple[Item, ...]) -> None:
        for item in items:
            if isinstance(item, Repeat):
                first = len(out)
                walk(item.steps)
                out.append(
                    FitStep(
                        message_index=len(out),
                        duration_type="repeat_until_steps_cmplt",
                        duration_value=first,
                        target_type="open",
                        target_value=item.count,
                    )
                )
            else:
                out.append(one(item))

    walk(workout.steps)
    if problems:
        raise WorkoutError(problems)
    if len(out) > 0xFFFE:
        raise WorkoutError([Problem(workout.source, 1, 1, f"{len(out)} FIT steps: a FIT workout holds at most 65534")])
    if workout.voice_mode != "full":
        warnings.append(f"{workout.source}: voice '{workout.voice_mode}' has no FIT equivalent; not exported")
    return out


def _clock(seconds: Fraction) -> str:
    whole = int(seconds)
    m, s = divmod(whole, 60)
    return f"{m}:{s:02d}"


def _messages(workout: Workout, steps: list[FitStep], created: datetime, warns: list[str]) -> list[Message]:
    mesgs: list[Message] = [
        {
            "mesg_num": FILE_ID,
            "type": "workout",
            "manufacturer": "development",
            "product": 0,
            "serial_number": 1,
            "time_created": created,
        }
    ]
    wkt: Message = {
        "mesg_num": WORKOUT,
        "wkt_name": _text(workout.name, "the workout's name", warns),
        "sport": "running",
        "sub_sport": "generic",
        "num_valid_steps": len(steps),
    }
    if workout.notes:
        wkt["wkt_description"] = _text(workout.notes, "the workout's notes", warns)
    mesgs.append(wkt)
    for s in steps:
        m: Message = {"mesg_num": WORKOUT_STEP, "message_index": s.message_index}
        if s.name is not None:
            m["wkt_step_name"] = s.name
        m["duration_type"] = s.duration_type
        if s.duration_value is not None:
            m["duration_value"] = s.duration_value
        m["target_type"] = s.target_type
        if s.target_value is not None:
            m["target_value"] = s.target_value
        if s.low is not None:
            m["custom_target_value_low"] = s.low
            m["custom_target_value_high"] = s.high
        if s.secondary_target_type is not None:
            m["secondary_target_type"] = s.secondary_target_type
            m["secondary_target_value"] = 0
            m["secondary_custom_target_value_low"] = s.secondary_low
            m["secondary_custom_target_value_high"] = s.secondary_high
        if s.intensity is not None:
            m["intensity"] = s.intensity
        if s.notes:
            m["notes"] = s.notes
        mesgs.append(m)
    return mesgs


def encode(workout: Workout, *, created: datetime | None = None) -> tuple[bytes, list[str]]:
    """The FIT file's bytes and the warnings (what FIT could not hold)."""
    from cadencecoach import extras

    extras.load("garmin_fit_sdk", "FIT export")  # not installed or broken: exit 2 with the fix
    from garmin_fit_sdk import Encoder, Profile

    warns: list[str] = []
    steps = fit_steps(workout, warns)
    when = created or datetime.now(timezone.utc)
    encoder: _Encoder = Encoder()
    profile: ProfileMessages = Profile["messages"]
    for mesg in _messages(workout, steps, when, warns):
        # the SDK's encoder skips field names it does not know: make a typo an error instead
        num = mesg["mesg_num"]
        assert isinstance(num, int)
        names = {str(f["name"]) for f in profile[num]["fields"].values()}
        unknown = set(mesg) - names - {"mesg_num"}
        if unknown:
            raise AssertionError(f"FIT fields not in the profile: {sorted(unknown)}")
        encoder.write_mesg(mesg)
    return encoder.close(), warns


def write_fit(workout: Workout, path: str | Path, *, created: datetime | None = None) -> list[str]:
    """Write `workout` to `path` atomically (a temporary file beside it, renamed when complete)."""
    data, warns = encode(workout, created=created)
    atomic.write_bytes(path, data)
    return warns


def decode(data: bytes) -> tuple[Decoded, Decoded, list[FitStep]]:
    """Read a FIT workout back with a *different* library (fitdecode, a dev dependency): (file_id, workout,
    steps). For tests and for checking a file by hand."""
    import io

    import fitdecode

    file_id: Decoded = {}
    wkt: Decoded = {}
    steps: list[FitStep] = []
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            values = {f.name: f.value for f in frame.fields}
            raws = {f.name: f.raw_value for f in frame.fields}
            if frame.name == "file_id":
                file_id = values
            elif frame.name == "workout":
                wkt = values
            elif frame.name == "workout_step":
                steps.append(_decoded_step(values, raws))
    return file_id, wkt, steps


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _decoded_step(v: Decoded, raw: Decoded) -> FitStep:
    dtype = v.get("duration_type")
    dvalue: object = None
    if dtype == "time":
        dvalue = raw.get("duration_time", raw.get("duration_value"))
    elif dtype == "distance":
        dvalue = raw.get("duration_distance", raw.get("duration_value"))
    elif dtype == "repeat_until_steps_cmplt":
        dvalue = raw.get("duration_step", raw.get("duration_value"))
    ttype = v.get("target_type")
    tvalue = raw.get("repeat_steps") if dtype == "repeat_until_steps_cmplt" else None
    if tvalue is None:
        tvalue = next((raw[k] for k in ("target_speed_zone", "target_cadence_zone", "target_value") if k in raw), None)
    low = next((raw[k] for k in ("custom_target_speed_low", "custom_target_cadence_low") if k in raw), None)
    high = next((raw[k] for k in ("custom_target_speed_high", "custom_target_cadence_high") if k in raw), None)
    if low is None:
        low, high = raw.get("custom_target_value_low"), raw.get("custom_target_value_high")
    sec = _str(v.get("secondary_target_type"))
    s_low = raw.get("secondary_custom_target_cadence_low", raw.get("secondary_custom_target_value_low"))
    s_high = raw.get("secondary_custom_target_cadence_high", raw.get("secondary_custom_target_value_high"))
    index = _int(v.get("message_index"))
    assert index is not None, "a workout_step without message_index"
    return FitStep(
        message_index=index,
        name=_str(v.get("wkt_step_name")),
        duration_type=str(dtype),
        duration_value=_int(dvalue),
        target_type=str(ttype),
        target_value=_int(tvalue),
        low=_int(low),
        high=_int(high),
        secondary_target_type=sec,
        secondary_low=_int(s_low) if sec is not None else None,
        secondary_high=_int(s_high) if sec is not None else None,
        intensity=_str(v.get("intensity")),
        notes=_str(v.get("notes")),
    )
