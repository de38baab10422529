"""A :class:`~cadencecoach.workout.model.Workout` as a Garmin FIT workout file (``convert WORKOUT -o workout.fit``).

Written with Garmin's own FIT SDK for Python (``garmin-fit-sdk``, the ``fit`` extra). The file holds:

* ``file_id``: type ``workout``, manufacturer ``development``;
* ``workout``: name, sport ``running``, ``num_valid_steps``, the notes as ``wkt_description``;
* one ``workout_step`` per step, in order, with ``message_index`` 0, 1, ...:

  - ``wkt_step_name``: the label; ``intensity``: warmup -> ``warmup``, run -> ``active``, recover -> ``recovery``,
    rest -> ``rest``, cooldown -> ``cooldown``;
  - duration: ``time`` (ms), ``distance`` (cm), or ``open`` for an open step ("press lap": ended by the lap key;
    an open step whose length is a distance and which has no pace, an imported FIT distance step with no
    speed target, is that ``distance`` again, even after ``--open-step``: the watch measures it);
  - targets, two slots (``target_*`` and ``secondary_target_*``), filled in this order: the pace, then the
    click's cadence, then the heart rate when there is a pace; the heart rate, then the cadence when there is
    none. What finds no slot goes into the notes:

    - a pace range (:attr:`~cadencecoach.workout.model.Step.pace_range`) is exactly that ``speed`` range (m/s,
      to FIT's 1 mm/s); a single pace P is the range P + :data:`PACE_BAND_S_PER_KM` to P - 5 s/km: a watch
      alerts when the runner leaves the range, and GPS pace wanders by more than a few s/km, so a range of
      one value would alert all the time;
    - the cadence (steps per minute; a ramp is a range) is a ``cadence`` range in strides per minute (FIT
      counts one foot: half), only where the source set one (the step's ``cadence``, or the workout's own
      ``cadence:``, :attr:`~cadencecoach.workout.model.Workout.cadence_given`) and the click is on: a watch
      alerts on every target, so one nobody wrote is not made up. A cadence the range does not give back
      exactly (a ramp, 172.5) is also in the notes, ``cadence 165-170 spm``;
    - the heart rate (:attr:`~cadencecoach.workout.model.Step.heart_rate`) is a ``heart_rate`` target: a zone
      (1-5) as ``target_value``, a custom range as FIT writes it (% of maximum: 1-100; bpm: bpm + 100); a zone
      range, % of threshold heart rate or a fraction go into the notes (``heart rate 90% LTHR``);
    - an incline goes into the notes (``incline 10%``): the FIT profile names a ``grade`` target type but
      defines no field, unit or scale for its value (speed, heart rate, cadence and power have theirs), so a
      device could only guess what a number there means;

  - ``notes``: what has no FIT field first (``effort X``, ``heart rate ...``, ``cadence ... spm``,
    ``incline 10%``, ``breathing 3:2``, ``no click``), then the ``say`` text, then the timed cues (``at 1:30:
    text``, ``at 0:30.5: text``: FIT has no timed messages; warned), separated by ``"; "`` (a ``"; "`` inside
    an effort is written ``", "``): :mod:`.fit_import` reads each back into its field. A FIT text field holds
    254 bytes: a part that does not fit is left out whole, with a warning;

* a repeat is its steps followed by a ``repeat_until_steps_cmplt`` step whose ``duration_step`` is the
  ``message_index`` of the repeat's first step and whose ``repeat_steps`` is the count (nesting works alike).

What FIT cannot hold (voice mode; breathing patterns and timed cues, which go into the notes) is reported as a
warning.
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
from cadencecoach.workout.model import HeartRate, Repeat, Step, Workout, heart_rate_text
from cadencecoach.workout.paces import decimal_text
from cadencecoach.workout.units import number_text

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
"""A single pace target P is written as the speed range [speed at P + 5 s/km, speed at P - 5 s/km] (a watch
alerts outside the range: a range of one speed would alert at every wobble of GPS pace)."""

INTENSITY = {"warmup": "warmup", "run": "active", "recover": "recovery", "rest": "rest", "cooldown": "cooldown"}
MAX_STRING_BYTES = 254  # a FIT field is at most 255 bytes, the NUL included
MAX_UINT32 = 2**32 - 2  # 0xFFFFFFFF is FIT's "invalid"
MAX_FIT_STEPS = 0x1000
"""A ``message_index`` is 12 bits of index (mask 0x0FFF; 0x7000 reserved, 0x8000 "selected"): 4096 steps."""

FILE_ID, WORKOUT, WORKOUT_STEP = 0, 26, 27


@dataclass(frozen=True)
class FitStep:
    """One workout_step message, in plain values (what :func:`decode` gives back, too)."""

    message_index: int
    name: str | None = None
    duration_type: str = "time"  # time | distance | open | repeat_until_steps_cmplt
    duration_value: int | None = None  # ms | cm | None | message_index to repeat from
    target_type: str = "open"  # speed | cadence | heart_rate | open
    target_value: int | None = None  # 0 for custom ranges, the zone for a heart-rate zone; a repeat's count
    low: int | None = None  # mm/s for speed, strides/min for cadence, % of max or bpm + 100 for heart rate
    high: int | None = None
    secondary_target_type: str | None = None
    secondary_low: int | None = None
    secondary_high: int | None = None
    intensity: str | None = None
    notes: str | None = None
    secondary_target_value: int | None = None  # 0 for a custom range, the zone for a heart-rate zone


@dataclass(frozen=True)
class _Target:
    """One target slot's values: FIT's target type, ``target_value`` and the custom range (or None)."""

    type: str
    value: int
    low: int | None = None
    high: int | None = None


def _speed_range(s_per_m: Fraction) -> tuple[int, int]:
    """mm/s at (pace + band, pace - band); FIT's speed fields are m/s with a scale of 1000."""
    band = PACE_BAND_S_PER_KM / 1000
    slow = s_per_m + band
    fast = max(s_per_m - band, s_per_m / 2)
    return round(1000 / slow), round(1000 / fast)


def _speed_target(step: Step) -> _Target | None:
    """A pace range as exactly its speeds; a single pace as the +- PACE_BAND_S_PER_KM band."""
    if step.pace is None:
        return None
    if step.pace_range is not None:
        slow, fast = step.pace_range
        a, b = sorted((round(1000 / slow.s_per_m), round(1000 / fast.s_per_m)))
        return _Target("speed", 0, a, b)
    return _Target("speed", 0, *_speed_range(step.pace.s_per_m))


def _heart_rate_target(hr: HeartRate) -> _Target | None:
    """A heart-rate target as FIT holds one, or None (it goes into the notes): a zone 1-5, or whole % of
    maximum (1-100) or whole bpm (written + 100)."""
    if any(x.denominator != 1 for x in (hr.low, hr.high)):
        return None
    low, high = int(hr.low), int(hr.high)
    if hr.unit == "zone":
        return _Target("heart_rate", low) if low == high and 1 <= low <= 5 else None
    if hr.unit == "%max" and 1 <= low <= high <= 100:
        return _Target("heart_rate", 0, low, high)
    if hr.unit == "bpm" and 0 < low <= high:
        return _Target("heart_rate", 0, low + 100, high + 100)
    return None


def _cadence_range(cadence: tuple[Fraction, Fraction]) -> tuple[int, int]:
    """Strides per minute (steps / 2): the floor of the lower end, the ceiling of the upper one."""
    lo, hi = min(cadence), max(cadence)
    return math.floor(lo / 2), math.ceil(hi / 2)


def _cadence_exact(cadence: tuple[Fraction, Fraction], strides: tuple[int, int]) -> bool:
    """Whether the strides range reads back as `cadence` (:mod:`.fit_import`: its middle, doubled)."""
    return cadence[0] == cadence[1] == strides[0] + strides[1]


def note_clock(seconds: Fraction) -> str:
    """A timed cue's offset in the notes: ``1:30``, ``1:30.5`` (exact when it is a decimal), ``75:00``."""
    minutes, rest = divmod(seconds, 60)
    whole = int(rest)
    frac = rest - whole
    try:
        tail = decimal_text(frac)[1:] if frac else ""
    except ValueError:
        tail = f"{float(frac):.3f}"[1:].rstrip("0")
    return f"{int(minutes)}:{whole:02d}{tail}"


def heart_rate_note(hr: HeartRate) -> str:
    """``heart rate Z2``, ``heart rate 140-150bpm``, ``heart rate 75% max``, ``heart rate 90% LTHR``."""
    text = heart_rate_text(hr)
    return f"heart rate {text} max" if hr.unit == "%max" else f"heart rate {text}"


def _text(value: str, what: str, warns: list[str]) -> str:
    data = value.encode("utf-8")
    if len(data) <= MAX_STRING_BYTES:
        return value
    cut = data[:MAX_STRING_BYTES].decode("utf-8", errors="ignore")
    warns.append(f"{what} is longer than a FIT text field ({MAX_STRING_BYTES} bytes): cut to '{cut[:40]}...'")
    return cut


def _step_notes(fields: list[str], step: Step, where: str, warnings: list[str]) -> str | None:
    """A step's notes: `fields` (what FIT has no field for: short, first, so they are kept), its ``say``, then
    its timed cues, joined by ``"; "`` for as long as they fit in a FIT text field (254 bytes). A part that
    does not fit is left out whole, with a warning (a cue cut in the middle would be read back as a shorter
    cue); only a first part that is alone too long is cut, at a word."""
    parts: list[str] = []
    size = 0

    def add(text: str) -> bool:
        nonlocal size
        extra = len(text.encode("utf-8")) + (2 if parts else 0)
        if size + extra > MAX_STRING_BYTES:
            return False
        parts.append(text)
        size += extra
        return True

    full = f"(a FIT text field holds {MAX_STRING_BYTES} bytes)"
    for text in [*fields, step.say or ""]:
        text = text.strip()
        if not text or add(text):
            continue
        if not parts:
            cut = text.encode("utf-8")[: MAX_STRING_BYTES - 3].decode("utf-8", errors="ignore")
            cut = (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip() + "..."
            add(cut)
            warnings.append(f"{where}: the notes of '{step.label}' are cut to '{cut[:40]}...' {full}")
        else:
            warnings.append(f"{where}: '{text[:40]}...' does not fit in the notes of '{step.label}' {full}; left out")
    for offset, text in step.cues:
        at = f"{decimal_text(offset)} s into '{step.label}'"
        if add(f"at {note_clock(offset)}: {text}"):
            warnings.append(f"{where}: FIT has no timed messages: '{text}' ({at}) is put in the step's notes")
        else:
            warnings.append(
                f"{where}: FIT has no timed messages, and the step's notes are full {full}: '{text}' ({at}) is left out"
            )
    return "; ".join(parts) or None


def fit_steps(workout: Workout, warns: list[str] | None = None) -> list[FitStep]:
    """The workout's steps as FIT workout_step values (repeats as repeat steps), with warnings."""
    warnings = warns if warns is not None else []
    out: list[FitStep] = []
    problems: list[Problem] = []

    def where(step: Step) -> str:
        return f"{workout.source}:{step.line}:{step.col}" if step.line else workout.source

    def one(step: Step) -> FitStep:
        index = len(out)
        # (its duration 0, or what --open-step gave it: the watch measures the distance either way)
        measured = step.open and step.pace is None and not step.extent.is_time and step.extent.value > 0
        if step.open and not measured:
            dtype, dvalue = "open", None
        elif step.extent.is_time:
            dtype, dvalue = "time", round(step.extent.value * 1000)
        else:
            dtype, dvalue = "distance", round(step.extent.value * 100)
        if dvalue is not None and not 0 < dvalue <= MAX_UINT32:
            problems.append(
                Problem(workout.source, max(step.line, 1), max(step.col, 1), "the step is too long for a FIT file")
            )
        given = step.cadence if step.cadence is not None else workout.cadence if workout.cadence_given else None
        cadence = given if step.click else None
        cad = _Target("cadence", 0, *_cadence_range(cadence)) if cadence is not None else None
        speed = _speed_target(step)
        hr = _heart_rate_target(step.heart_rate) if step.heart_rate is not None else None
        slots = [t for t in ((speed, cad, hr) if speed is not None else (hr, cad)) if t is not None][:2]
        primary = slots[0] if slots else None
        secondary = slots[1] if len(slots) > 1 else None
        fields = [f"effort {step.effort.replace('; ', ', ')}"] if step.effort else []  # what FIT has no field for
        if step.heart_rate is not None and (hr is None or hr not in slots):
            fields.append(heart_rate_note(step.heart_rate))
        if cadence is not None and cad is not None and not _cadence_exact(cadence, (cad.low or 0, cad.high or 0)):
            a, b = cadence
            fields.append(
                f"cadence {number_text(a)} spm" if a == b else f"cadence {number_text(a)}-{number_text(b)} spm"
            )
        if step.incline is not None:
            fields.append(f"incline {number_text(step.incline)}%")
        if step.breathing:
            fields.append(f"breathing {step.breathing[0]}:{step.breathing[1]}")
            warnings.append(
                f"{where(step)}: breathing {step.breathing[0]}:{step.breathing[1]} has no FIT field; it is put in the "
                "step's notes"
            )
        if not step.click:
            fields.append("no click")
        note = _step_notes(fields, step, where(step), warnings)
        return FitStep(
            message_index=index,
            name=_text(step.label, f"{where(step)}: the name '{step.label[:20]}'", warnings),
            duration_type=dtype,
            duration_value=dvalue,
            target_type=primary.type if primary is not None else "open",
            target_value=primary.value if primary is not None else None,
            low=primary.low if primary is not None else None,
            high=primary.high if primary is not None else None,
            secondary_target_type=secondary.type if secondary is not None else None,
            secondary_target_value=secondary.value if secondary is not None else None,
            secondary_low=secondary.low if secondary is not None else None,
            secondary_high=secondary.high if secondary is not None else None,
            intensity=INTENSITY[step.kind],
            notes=note,
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
    if len(out) > MAX_FIT_STEPS:
        raise WorkoutError(
            [
                Problem(
                    workout.source,
                    1,
                    1,
                    f"{len(out)} FIT steps: a FIT workout holds at most {MAX_FIT_STEPS} (a message_index is 12 bits)",
                )
            ]
        )
    if workout.voice_mode != "full":
        warnings.append(f"{workout.source}: voice '{workout.voice_mode}' has no FIT equivalent; not exported")
    return out


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
            m["secondary_target_value"] = s.secondary_target_value if s.secondary_target_value is not None else 0
            if s.secondary_low is not None:
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
        tvalue = next((raw[k] for k in _ZONE_FIELDS if k in raw), raw.get("target_value"))
    low = next((raw[f"custom_target_{k}_low"] for k in _CUSTOM if f"custom_target_{k}_low" in raw), None)
    high = next((raw[f"custom_target_{k}_high"] for k in _CUSTOM if f"custom_target_{k}_high" in raw), None)
    if low is None:
        low, high = raw.get("custom_target_value_low"), raw.get("custom_target_value_high")
    sec = _str(v.get("secondary_target_type"))
    s_value = next((raw[f"secondary_{k}"] for k in _ZONE_FIELDS if f"secondary_{k}" in raw), None)
    if s_value is None:
        s_value = raw.get("secondary_target_value")
    s_low = next(
        (raw[f"secondary_custom_target_{k}_low"] for k in _CUSTOM if f"secondary_custom_target_{k}_low" in raw), None
    )
    s_high = next(
        (raw[f"secondary_custom_target_{k}_high"] for k in _CUSTOM if f"secondary_custom_target_{k}_high" in raw), None
    )
    if s_low is None:
        s_low, s_high = raw.get("secondary_custom_target_value_low"), raw.get("secondary_custom_target_value_high")
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
        secondary_target_value=_int(s_value) if sec is not None else None,
    )


_ZONE_FIELDS = ("target_speed_zone", "target_hr_zone", "target_cadence_zone", "target_power_zone")
_CUSTOM = ("speed", "heart_rate", "cadence", "power")
