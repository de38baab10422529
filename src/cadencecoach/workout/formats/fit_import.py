"""Garmin FIT workout files (``.fit``) -> :class:`~cadencecoach.workout.model.Workout`.

What Garmin Connect, TrainingPeaks, TrainerRoad or intervals.icu export as a workout is a FIT file of type
``workout``: a ``file_id``, one ``workout`` message (name, sport, description) and ``workout_step`` messages in
order (``message_index`` 0, 1, ...). Decoded with Garmin's own SDK (``garmin-fit-sdk``, the ``fit`` extra).

Reading is bounded and checked before anything is decoded (:func:`frame`): at most 1 MB is read
(:func:`cadencecoach.workout.source.read_bytes`), the header must be a FIT header, the file must hold all the
bytes its header announces (else it is *cut short*), and both CRCs (the header's, when it has one, and the
file's) must match: a damaged file is one problem, never a traceback. A FIT file of another type (a recorded
``activity``, a ``course``, ...) is refused as soon as its ``file_id`` is decoded, with what to do instead; one
over 1 MB is looked at only far enough to say what it is. At most :data:`MAX_MESSAGES` messages and 4096 steps
(a ``message_index`` is 12 bits) are decoded; repeats are folded as they come (each step is moved into its
repeat once: linear), never unrolled, and nested at most 32 deep.

Positions: a FIT file has no lines, so a problem or warning about a step is ``FILE:1:N``, N being the step's
number (its ``message_index`` + 1, as Garmin Connect numbers steps, and "step N" in the message too); one about
the file as a whole is ``FILE:1:1`` (a byte offset, when there is one, is in the message).

The mapping (docs/FORMATS.md, "Garmin FIT workouts in"):

* ``wkt_name`` -> the name (else the file name); ``wkt_description`` -> the notes (else a developer field named
  ``description`` on the workout message, as Stages Link writes it);
* ``intensity`` -> the kind: warmup, active -> run, recovery -> recover, rest, cooldown, interval -> run;
  ``other`` or none: the kind the step's name starts with (``Recover 2 min``), else run;
* ``wkt_step_name`` -> the label (else the kind's label);
* duration ``time`` (ms; also ``repetition_time``) and ``distance`` (cm; a value that is not whole metres but is,
  to the cm, a whole hundredth of a mile is read as miles: Garmin stores 1 mi as 160934 cm) -> the extent; a
  distance step is timed by its pace (its speed target, else ``--pace KIND=...`` for its kind); with no pace it
  is an open step that keeps its distance (the lap key ends it), with a warning. A step of no length (0 s,
  0 m) is left out, with a warning;
* ``open`` -> an open step (:attr:`~cadencecoach.workout.model.Step.open`, duration 0: the lap key ends it);
* ``hr_less_than``, ``hr_greater_than``, ``calories``, ``power_*``, ``training_peaks_tss``, ``reps`` (a
  condition cadencecoach cannot measure) -> an open step whose spoken text says the condition ("Until your
  heart rate is below 125 beats per minute."), with a warning;
* ``repeat_until_steps_cmplt`` -> a :class:`~cadencecoach.workout.model.Repeat` of the steps from
  ``duration_step`` to the step before, ``repeat_steps`` times (repeats nest; a back-reference that is not to
  an earlier step, or that starts inside an earlier repeat, is a problem); ``repeat_until_time`` /
  ``repeat_until_distance`` -> a fixed count, the fewest repetitions that reach the time or distance (at
  least 1; 1 when the block's length is not known); ``repeat_until_hr_*``, ``_power_*``, ``_calories``,
  ``_training_peaks_tss`` -> the steps once; each with a warning;
* targets (``target_type`` and ``secondary_target_type`` alike):

  - ``speed`` (custom low/high, m/s) -> the pace: ``pace_range`` = (the low speed's pace, the high speed's) and
    ``pace`` its middle, the mean of the two paces' seconds per metre (as an intervals.icu range); a range that
    is a single pace +- 5 s/km to FIT's 1 mm/s (what ``convert -o x.fit`` writes for one pace) is that single
    pace. Each pace is the whole seconds per km, else per mile, that gives the file's speed exactly to the mm/s
    (Garmin Connect stores 4:30/km as 3.704 m/s, which is 4:29.98/km), else the speed's pace to 0.01 s/km. A
    speed zone has no speeds in the file: spoken as effort text, with a warning;
  - ``cadence`` (custom, strides per minute) -> the click's cadence, doubled to steps per minute (a value of
    120 or more is steps per minute already: warned); a range of 2 strides or more is its middle, with a
    warning (a 1-stride range, 90-91, is how one odd cadence, 181, is written);
  - ``heart_rate`` -> :attr:`~cadencecoach.workout.model.Step.heart_rate`: zone 1-5, or custom (FIT values up
    to 100 are % of maximum heart rate, above 100 beats per minute + 100), with a warning: spoken, not a pace;
  - ``power`` (and ``power_3s/10s/30s/lap``) -> effort text (``250 to 280 watts``: FIT values above 1000 are
    watts + 1000, others % of FTP; ``power zone 3``), with a warning;
  - ``grade``, ``resistance``, ``swim_stroke``: ignored, with a warning (FIT defines no unit for a grade);

* ``notes`` are spoken at the step's start (``say``), except the parts, separated by ``"; "``, that
  :mod:`.fit` writes for what FIT has no field for: ``effort X``, ``heart rate Z2``, ``cadence 165-170 spm``,
  ``incline 10%``, ``breathing 3:2``, ``no click`` and timed cues ``at 1:30: text`` (last: a part after a cue
  is the rest of its text), read back into their fields (a cue past the step's end stays in the ``say``);
* ``sport`` other than running (or generic), a ``sub_sport`` that is not a running one: a warning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.files import InputRefused, read_limited
from cadencecoach.workout.formats._common import (
    ImportResult,
    Item,
    build_workout,
    distance_extent,
    iter_steps,
    kind_from_text,
    pretty_name,
    time_extent,
    totals,
)
from cadencecoach.workout.formats.fit import MAX_FIT_STEPS, PACE_BAND_S_PER_KM, heart_rate_note, note_clock
from cadencecoach.workout.model import KINDS, HeartRate, Repeat, Step, parse_breathing, parse_heart_rate, parse_incline
from cadencecoach.workout.paces import LoadOptions, PaceBook, check_pace, importer_book, literal_pace, middle_pace
from cadencecoach.workout.source import MAX_DEPTH, MAX_FILE_BYTES, Report, check_size, read_bytes, too_big
from cadencecoach.workout.units import METERS_PER_MILE, Extent, Pace, format_clock, number_text, parse_cadence

__all__ = ["MAX_MESSAGES", "frame", "load_fit", "parse_fit"]

Mesg = Mapping[str, object]
"""One decoded message: field name -> value (the SDK's types: str for enums, int, float, str, datetime)."""

FILE_ID, FILE_CREATOR, WORKOUT, WORKOUT_STEP = 0, 49, 26, 27
QUIET_MESSAGES = {"file_id_mesgs", "file_creator_mesgs", "workout_mesgs", "workout_step_mesgs"}
DEVELOPER_MESSAGES = {"developer_data_id_mesgs", "field_description_mesgs"}

MAX_MESSAGES = 20_000
"""Messages decoded from one file at most: a workout has a few dozen (at most 4096 steps, and a few messages
more); 1 MB could hold some 250,000, which would take the decoder over 10 s."""
INDEX_MASK = 0x0FFF
"""A ``message_index`` is 12 bits of index (0x7000 reserved, 0x8000 "selected"): at most 4096 steps
(:data:`cadencecoach.workout.formats.fit.MAX_FIT_STEPS`)."""
HEAD_BYTES = 64 * 1024
"""Of a file over 1 MB, only this much is decoded, to say what it is (its ``file_id`` comes first)."""

STRIDES_BELOW = Fraction(120)
"""A FIT running cadence is strides (one foot) per minute; a value of 120 or more is steps per minute already."""
BAND_S_PER_KM = PACE_BAND_S_PER_KM
"""What :mod:`.fit` writes for one pace: the speeds of pace + and - 5 s/km (read back as that one pace)."""

INTENSITY_KIND = {
    "warmup": "warmup",
    "active": "run",
    "recovery": "recover",
    "rest": "rest",
    "cooldown": "cooldown",
    "interval": "run",
}

RUNNING_SUB_SPORTS = {
    "generic",
    "treadmill",
    "street",
    "trail",
    "track",
    "indoor_running",
    "virtual_activity",
    "ultra",
    "obstacle",
}

FILE_KINDS = {
    "activity": (
        "a recorded activity",
        "cadencecoach plays planned workouts, not recorded runs. Export the planned workout itself as a FIT file "
        "(in Garmin Connect, TrainingPeaks or intervals.icu: from the workout, not from the activity), or write it "
        "as a cadencecoach YAML workout",
    ),
    "course": (
        "a course (a route to follow)",
        "cadencecoach plays workouts (timed steps), not routes. Export a workout as a FIT file instead",
    ),
}

_TIME = ("time", "repetition_time")
_HR_DURATION = {"hr_less_than": "below", "hr_greater_than": "above"}
_POWER_DURATION = re.compile(r"power(?:_(3s|10s|30s|lap))?_(less|greater)_than")
_REPEAT_MEASURED = {
    "repeat_until_calories": "calories",
    "repeat_until_hr_less_than": "heart rate",
    "repeat_until_hr_greater_than": "heart rate",
    "repeat_until_power_less_than": "power",
    "repeat_until_power_greater_than": "power",
    "repeat_until_power_last_lap_less_than": "power",
    "repeat_until_max_power_last_lap_less_than": "power",
    "repeat_until_training_peaks_tss": "training stress",
}
_POWER_TARGETS = {"power", "power_3s", "power_10s", "power_30s", "power_lap"}
_STRENGTH_FIELDS = ("equipment", "exercise_category", "exercise_name", "exercise_weight", "weight_display_unit")


# ----------------------------------------------------------------------------------------------- reading


def load_fit(path: str | Path, options: LoadOptions | None = None, *, display: str | None = None) -> ImportResult:
    """Read a FIT workout file (:func:`parse_fit`); `display` names it in problems.

    Raises WorkoutError (``FILE:1:N: ...``) for a file that is not a FIT workout, damaged, or has problems;
    :class:`~cadencecoach.errors.ExtraUnavailable` when the ``fit`` extra is not installed."""
    path = Path(path)
    shown = display or str(path)
    try:
        data = read_bytes(path, shown)
    except WorkoutError as exc:
        if [p.message for p in exc.problems] == [too_big(MAX_FILE_BYTES)]:
            _refuse_big(path, shown)
        raise
    return parse_fit(data, shown, options, fallback_name=pretty_name(path.stem))


def parse_fit(
    data: bytes,
    display: str = "<workout.fit>",
    options: LoadOptions | None = None,
    *,
    fallback_name: str = "FIT workout",
) -> ImportResult:
    """A FIT workout file's bytes to a Workout and the warnings for what was not mapped exactly."""
    check_size(data, display)
    body, trailing = frame(data, display)
    messages = _decode(body, display)
    report = Report(display)
    if trailing:
        report.warn(1, 1, f"{trailing} bytes after the end of the FIT file (its CRC) are not read; ignored")
    return _Reader(report, importer_book(options), messages).read(fallback_name)


def _crc(data: bytes) -> int:
    from cadencecoach import extras

    sdk = extras.load("garmin_fit_sdk", "FIT import")  # not installed or broken: exit 2 with the fix
    crc: int = sdk.CrcCalculator.calculate_crc(data, 0, len(data))
    return crc


def frame(data: bytes, display: str) -> tuple[bytes, int]:
    """The FIT file in `data` (header, records, CRC) and how many bytes follow it, after checking that it is a
    FIT file, holds all it announces, and that its CRCs match; else WorkoutError (one problem, at 1:1)."""

    def refuse(message: str) -> WorkoutError:
        return WorkoutError([Problem(display, 1, 1, message)])

    if not data:
        raise refuse("the file is empty: not a FIT workout file")
    if len(data) < 12 or data[0] not in (12, 14) or data[8:12] != b".FIT":
        raise refuse("not a FIT file: it does not start with a FIT file header ('.FIT' in bytes 9-12)")
    header = data[0]
    size = int.from_bytes(data[4:8], "little")
    total = header + size + 2
    again = "download or export it again"
    if len(data) < max(header, total):
        raise refuse(
            f"the FIT file is cut short: its header announces {total} bytes, the file has {len(data)} (an "
            f"unfinished download or copy?); {again}"
        )
    if header == 14:
        stored = int.from_bytes(data[12:14], "little")
        if stored != 0 and stored != _crc(data[:12]):  # 0: a header written without its CRC (allowed)
            raise refuse(f"the FIT file is damaged: its header's CRC does not match the header; {again}")
    stored = int.from_bytes(data[total - 2 : total], "little")
    computed = _crc(data[: total - 2])
    if stored != computed:
        raise refuse(
            f"the FIT file is damaged: its CRC (0x{stored:04X}, after its data) does not match its "
            f"contents (0x{computed:04X}); {again}"
        )
    return data[:total], len(data) - total


class _Stop(Exception):
    """Raised from the decoder's listener to stop decoding: the file is no workout, or too big to be one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _file_type_problem(file_id: Mesg, *, big: bool = False) -> str | None:
    """Why a file with this ``file_id`` is no workout, or None when it is one (type ``workout``)."""
    kind = file_id.get("type")
    if kind == "workout":
        return None
    over = ", over 1 MB" if big else ""
    if kind is None:
        return f"the FIT file does not say what it holds (its file_id has no type{over}): not a FIT workout file"
    what, todo = FILE_KINDS.get(str(kind), ("", ""))
    if not what:
        what = "a FIT file"
        todo = "cadencecoach reads FIT workout files (type 'workout'); export a workout as a FIT file"
    return f"{what} (FIT file type '{kind}'{over}), not a workout: {todo}"


def _decode(body: bytes, display: str, *, head: bool = False) -> dict[str, list[Mesg]]:
    """Every message of the (checked) FIT file `body`, by the SDK's keys (``workout_step_mesgs``...).

    Stops at the ``file_id`` of a file that is no workout (WorkoutError saying what it is), and after
    :data:`MAX_MESSAGES` messages. With `head` (the start of a file too big to read), only says what it is."""
    from garmin_fit_sdk import Decoder, Stream

    count = steps = 0
    seen_file_id = False

    def listener(num: int, message: Mesg) -> None:
        nonlocal count, steps, seen_file_id
        count += 1
        if num == FILE_ID and not seen_file_id:
            seen_file_id = True
            problem = _file_type_problem(message, big=head)
            if problem is not None:
                raise _Stop(problem)
            if head:
                raise _Stop("")
        elif num == WORKOUT_STEP:
            steps += 1
            if steps > MAX_FIT_STEPS:
                raise _Stop(f"more than {MAX_FIT_STEPS:,} workout steps: a FIT workout holds at most {MAX_FIT_STEPS:,}")
        if count > MAX_MESSAGES:
            raise _Stop(f"more than {MAX_MESSAGES:,} FIT messages: not a workout (a workout has a few dozen)")

    decoder = Decoder(Stream.from_byte_array(bytearray(body)))
    messages, errors = decoder.read(
        mesg_listener=listener,
        merge_heart_rates=False,
        expand_components=False,
        enable_crc_check=not head,  # (checked already, or not there to check)
    )
    for error in errors:
        if isinstance(error, _Stop):
            if error.message:
                raise WorkoutError([Problem(display, 1, 1, error.message)])
            return {}
    if head:
        return {}
    if errors:
        text = str(errors[0])
        m = re.match(r"FIT Runtime Error at byte: (\d+) ?(.*)", text)
        where, why = (f" at byte {m.group(1)}", m.group(2) or "unreadable data") if m else ("", text)
        raise WorkoutError(
            [Problem(display, 1, 1, f"the FIT data cannot be decoded{where}: {why.rstrip('.')}; not a workout file")]
        )
    out: dict[str, list[Mesg]] = {}
    for key, values in messages.items():
        if isinstance(values, list):
            out[str(key)] = [v for v in values if isinstance(v, Mapping)]
    if "file_id_mesgs" not in out:
        raise WorkoutError([Problem(display, 1, 1, "the FIT file has no file_id message: not a FIT workout file")])
    return out


def _refuse_big(path: Path, display: str) -> None:
    """A file over 1 MB: if its first messages say it is a FIT file of another type, say so (WorkoutError);
    else return (the caller gives the size problem). Reads at most HEAD_BYTES, never blocking."""
    try:
        head = read_limited(path, HEAD_BYTES, head=True)
    except InputRefused:
        return
    if len(head) < 12 or head[0] not in (12, 14) or head[8:12] != b".FIT":
        return
    from cadencecoach import extras

    try:
        if not extras.available("garmin_fit_sdk", "FIT import"):
            return
    except extras.ExtraUnavailable:
        return
    _decode(head, display, head=True)  # WorkoutError when it says what else it is


# ----------------------------------------------------------------------------------------------- values


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _index(value: object) -> int | None:
    """A ``message_index``: its 12 bits of index (the SDK names some raw values: 4095 is ``'mask'``)."""
    if isinstance(value, str):
        from garmin_fit_sdk import Profile

        names: Mapping[int, str] = Profile["types"]["message_index"]
        value = next((k for k, v in names.items() if v == value), None)
    raw = _int(value)
    return raw & INDEX_MASK if raw is not None else None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _num(x: Fraction | int) -> str:
    return number_text(Fraction(x))


def _hr_value(v: int) -> tuple[str, Fraction]:
    """FIT's ``workout_hr``: up to 100 a percentage of maximum heart rate, above it bpm + 100."""
    return ("%max", Fraction(v)) if v <= 100 else ("bpm", Fraction(v - 100))


def _hr_words(v: int) -> tuple[str, str]:
    """(short, spoken) for a FIT heart-rate value: ``125 bpm`` / ``125 beats per minute``."""
    unit, x = _hr_value(v)
    if unit == "bpm":
        return f"{_num(x)} bpm", f"{_num(x)} beats per minute"
    return f"{_num(x)}% of max", f"{_num(x)} percent of your maximum"


def _power_words(v: int) -> str:
    """FIT's ``workout_power``: above 1000 watts + 1000, else a percentage of FTP."""
    return f"{v - 1000} watts" if v > 1000 else f"{v}% of FTP"


def _distance(cm: int) -> Extent:
    """A FIT distance (cm): whole metres as metres or km; else, when it is (to the cm) a whole hundredth of a
    mile, that many miles (``160934`` -> 1 mi); else metres to the cm."""
    if cm % 100 and cm >= 100:
        hundredths = round(Fraction(cm) / METERS_PER_MILE)
        if hundredths > 0 and round(hundredths * METERS_PER_MILE) == cm:
            return distance_extent(hundredths * METERS_PER_MILE / 100, "mi")
    return distance_extent(Fraction(cm, 100))


def _clock(seconds: Fraction) -> str:
    return format_clock(seconds, hours=seconds >= 3600)


# ----------------------------------------------------------------------------------------------- notes

_AT = re.compile(r"at (\d{1,5}):([0-5]\d(?:\.\d{1,6})?): (.+)", re.DOTALL)


@dataclass
class _Notes:
    """A step's notes, split into what :mod:`.fit` writes for fields FIT lacks, and the rest (spoken)."""

    say: list[str] = field(default_factory=list)
    effort: str | None = None
    heart_rate: HeartRate | None = None
    cadence: tuple[Fraction, Fraction] | None = None
    incline: Fraction | None = None
    breathing: tuple[int, int] | None = None
    click: bool = True
    cues: list[tuple[Fraction, str]] = field(default_factory=list)


def _notes(text: str | None) -> _Notes:
    out = _Notes()
    if not text:
        return out
    for raw in text.split("; "):
        part = raw.strip()
        if not part:
            continue
        m = _AT.fullmatch(part)
        if m:
            out.cues.append((int(m.group(1)) * 60 + Fraction(m.group(2)), m.group(3).strip()))
            continue
        if out.cues:  # the cues come last: a part after one is the rest of its text ("Not a sprint; a surge")
            offset, said = out.cues[-1]
            out.cues[-1] = (offset, f"{said}; {part}")
            continue
        low = part.lower()
        try:
            if low.startswith("effort ") and out.effort is None:
                out.effort = part[len("effort ") :].strip()
                continue
            if low.startswith("heart rate ") and out.heart_rate is None:
                out.heart_rate = parse_heart_rate(part[len("heart rate ") :].replace("% of max", "% max"))
                continue
            if low.startswith("cadence ") and low.endswith(" spm") and out.cadence is None:
                out.cadence = parse_cadence(part[len("cadence ") :])
                continue
            if low.startswith("incline ") and out.incline is None:
                out.incline = parse_incline(part[len("incline ") :])
                continue
            if low.startswith("breathing ") and out.breathing is None:
                breathing = parse_breathing(part[len("breathing ") :])
                if breathing is not None:
                    out.breathing = breathing
                    continue
            if low == "no click":
                out.click = False
                continue
        except ValueError:
            pass  # not in the form .fit writes: spoken as it is
        out.say.append(part)
    return out


# ----------------------------------------------------------------------------------------------- targets


@dataclass
class _Targets:
    """What a step's two target slots ask for."""

    pace: Pace | None = None
    pace_range: tuple[Pace, Pace] | None = None
    cadence: tuple[Fraction, Fraction] | None = None
    heart_rate: HeartRate | None = None
    efforts: list[str] = field(default_factory=list)
    cadence_noted: bool = False  # the notes give the exact cadence (``cadence 165-170 spm``): no range warning


@dataclass
class _Node:
    """A step or a repeat being built: the message_index of its first and last messages, its nesting depth."""

    start: int
    end: int
    item: Item | None  # None: a step left out (no length)
    depth: int = 0


class _Reader:
    def __init__(self, report: Report, book: PaceBook, messages: dict[str, list[Mesg]]) -> None:
        self.report = report
        self.book = book
        self.messages = messages
        self.dev_names: dict[int, str] = {}
        for m in messages.get("field_description_mesgs", []):
            key, name = _int(m.get("key")), _text(m.get("field_name"))
            if key is not None:
                self.dev_names[key] = name or f"field {key}"
        self.dev_used: list[str] = []

    # ------------------------------------------------------------------------------------- the file

    def read(self, fallback_name: str) -> ImportResult:
        report = self.report
        workouts = self.messages.get("workout_mesgs", [])
        wkt: Mesg = workouts[0] if workouts else {}
        if len(workouts) > 1:
            report.warn(1, 1, f"{len(workouts)} workout messages: the first is read, the others ignored")
        name = _text(wkt.get("wkt_name")) or fallback_name
        notes = _text(wkt.get("wkt_description"))
        dev = wkt.get("developer_fields")
        if isinstance(dev, Mapping):
            for key, value in dev.items():
                if notes is None and self.dev_names.get(key) == "description" and _text(value):
                    notes = _text(value)
                else:
                    self._developer(key)
        self._sport(wkt)
        for key, values in self.messages.items():
            if key not in QUIET_MESSAGES | DEVELOPER_MESSAGES and values:
                what = key.removesuffix("_mesgs")
                report.warn(1, 1, f"{len(values)} FIT '{what}' message(s) are not used by cadencecoach; ignored")
        items = self._steps(self.messages.get("workout_step_mesgs", []))
        if self.dev_used:
            names = ", ".join(self.dev_used[:6]) + (", ..." if len(self.dev_used) > 6 else "")
            report.warn(1, 1, f"developer fields (one app's own data: {names}) are not used by cadencecoach; ignored")
        workout = build_workout(report, name, items, self.book, notes=notes)
        return ImportResult(workout, report.warnings)

    def _developer(self, key: object) -> None:
        name = self.dev_names.get(key, f"field {key}") if isinstance(key, int) else str(key)
        if name not in self.dev_used:
            self.dev_used.append(name)

    def _sport(self, wkt: Mesg) -> None:
        sport, sub = wkt.get("sport"), wkt.get("sub_sport")
        if sport in (None, "generic", "running") and (sub is None or sub in RUNNING_SUB_SPORTS):
            return
        shown = [f"sport '{sport}'" if sport is not None else "", f"sub-sport '{sub}'" if sub is not None else ""]
        self.report.warn(
            1,
            1,
            f"{', '.join(x for x in shown if x)}: not a running workout; its steps are read as running steps and "
            "its power targets spoken as effort text",
        )

    # ------------------------------------------------------------------------------------- structure

    def _steps(self, mesgs: list[Mesg]) -> tuple[Item, ...]:
        report = self.report
        if len(mesgs) > MAX_FIT_STEPS:
            report.error(1, 1, f"{len(mesgs):,} workout steps; a FIT workout holds at most {MAX_FIT_STEPS:,}")
            report.check()
        indices = [_index(m.get("message_index")) for m in mesgs]
        if all(i is None for i in indices):
            ordered = list(enumerate(mesgs))
        elif all(i is not None for i in indices) and len(set(indices)) == len(indices):
            ordered = sorted(((i, m) for i, m in zip(indices, mesgs, strict=True) if i is not None), key=lambda p: p[0])
        else:
            report.error(
                1, 1, "the workout steps' message_index values are missing or repeated: they cannot be put in order"
            )
            report.check()
            raise AssertionError  # unreachable: check() raised
        nodes: list[_Node] = []
        for idx, m in ordered:
            dtype = m.get("duration_type")
            if isinstance(dtype, str) and dtype.startswith("repeat_until_"):
                if not self._repeat(nodes, idx, dtype, m):
                    report.check()
                    return ()
            else:
                nodes.append(_Node(idx, idx, self._step(idx, m)))
            dev = m.get("developer_fields")
            if isinstance(dev, Mapping):
                for key in dev:
                    self._developer(key)
        return tuple(n.item for n in nodes if n.item is not None)

    def _repeat(self, nodes: list[_Node], idx: int, dtype: str, m: Mesg) -> bool:
        """Fold the steps the repeat step at `idx` goes back to into one node; False on a structural problem."""
        report = self.report
        col = idx + 1
        back = _int(m.get("duration_value"))
        if back is None or not 0 <= back < idx:
            shown = "no step" if back is None else f"step {back + 1}"
            report.error(
                1,
                col,
                f"step {col} repeats from {shown}, which is not a step before it: the FIT file is malformed "
                "(a repeat step's duration_step is the message_index of the first step it repeats)",
            )
            return False
        k = len(nodes)
        while k > 0 and nodes[k - 1].start >= back:
            k -= 1
        if k == len(nodes) or nodes[k].start != back:
            inside = nodes[k - 1] if k > 0 else None
            span = f" (steps {inside.start + 1}-{inside.end + 1})" if inside is not None else ""
            report.error(
                1,
                col,
                f"step {col} repeats from step {back + 1}, which is inside an earlier repeat{span}: repeats in a "
                "FIT workout must nest; the FIT file is malformed",
            )
            return False
        body = nodes[k:]
        depth = 1 + max(n.depth for n in body)
        if depth > MAX_DEPTH:
            report.error(1, col, f"repeats are nested more than {MAX_DEPTH} deep")
            return False
        steps = tuple(n.item for n in body if n.item is not None)
        count = self._count(idx, dtype, m, steps, back)
        if count is None:
            return False
        notes = _text(m.get("notes"))
        if notes:
            report.warn(1, col, f"the notes of repeat step {col} ('{notes[:40]}') are not used; ignored")
        item = Repeat(count, steps, 1, col) if steps else None
        nodes[k:] = [_Node(back, idx, item, depth)]
        return True

    def _count(self, idx: int, dtype: str, m: Mesg, steps: tuple[Item, ...], back: int) -> int | None:
        """How many times a repeat step's block is done: its count, or the nearest fixed count to its condition."""
        report = self.report
        col = idx + 1
        value = _int(m.get("target_value"))
        block = f"step {col} repeats steps {back + 1}-{idx}"
        if dtype == "repeat_until_steps_cmplt":
            if value is None or value < 1:
                report.error(1, col, f"{block} {0 if value is None else value} times: a repeat is done at least once")
                return None
            return value
        fixed = "repeats until a time or distance has passed are done a fixed number of times: the fewest that reach it"
        if dtype in ("repeat_until_time", "repeat_until_distance") and value is not None and value > 0:
            if dtype == "repeat_until_time":
                goal, length = Fraction(value, 1000), _seconds(steps)
                said = f"{_clock(goal)} has passed"
            else:
                goal, length = Fraction(value, 100), _metres(steps)
                said = f"{_num(goal)} m are covered"
            if length is not None and length > 0:
                count = max(1, math.ceil(goal / length))
                lasts = _clock(length) if dtype == "repeat_until_time" else f"{_num(length)} m"
                report.warn(
                    1,
                    col,
                    f"{block} until {said}: cadencecoach repeats a fixed number of times, here {count} (the block "
                    f"is {lasts})",
                    key=fixed,
                )
                return count
            report.warn(
                1,
                col,
                f"{block} until {said}, and the block's length is not known (open or untimed steps): done once",
                key="repeats until a time or distance, of a block of unknown length, are done once",
            )
            return 1
        what = _REPEAT_MEASURED.get(dtype, dtype.removeprefix("repeat_until_").replace("_", " "))
        condition = dtype.removeprefix("repeat_until_").replace("_", " ")
        if what == "heart rate" and value is not None:
            condition = f"heart rate {_HR_DURATION.get(dtype.removeprefix('repeat_until_'), '')} {_hr_words(value)[0]}"
        elif what == "power" and value is not None:
            condition += f" {_power_words(value)}"
        elif value is not None:
            condition += f" {value}"
        report.warn(
            1,
            col,
            f"{block} until {condition}: cadencecoach cannot measure {what}; the steps are done once",
            key="repeats until a heart-rate, power, calorie or training-stress condition are done once: cadencecoach "
            "cannot measure them",
        )
        return 1

    # ------------------------------------------------------------------------------------- one step

    def _step(self, idx: int, m: Mesg) -> Step | None:
        report = self.report
        col = idx + 1
        name = _text(m.get("wkt_step_name"))
        intensity = m.get("intensity")
        kind = INTENSITY_KIND.get(intensity) if isinstance(intensity, str) else None
        if kind is None:
            kind = (kind_from_text(name) if name else None) or "run"
        label = name or KINDS[kind]
        here = f"step {col} ('{label}')"
        notes = _notes(_text(m.get("notes")))
        if any(m.get(f) is not None for f in _STRENGTH_FIELDS):
            report.warn(
                1,
                col,
                f"{here} is a strength exercise (exercise fields): they are not used by cadencecoach; ignored",
                key="strength-exercise fields (equipment, exercise name, weight) are not used by cadencecoach; ignored",
            )
        targets = _Targets(cadence_noted=notes.cadence is not None)
        self._target(targets, here, col, m, "")
        self._target(targets, here, col, m, "secondary_")
        if notes.cadence is not None:
            targets.cadence = notes.cadence
        heart_rate = targets.heart_rate or notes.heart_rate
        efforts = ([notes.effort] if notes.effort else []) + targets.efforts
        pace = targets.pace
        pace_name: str | None = None
        spoken_pace = pace is not None
        say_first: str | None = None
        is_open = False

        dtype = m.get("duration_type")
        value = _int(m.get("duration_value"))
        if (dtype in _TIME or dtype == "distance") and not value:
            unit = "m" if dtype == "distance" else "s"
            report.warn(
                1,
                col,
                f"{here} has no length (0 {unit}); left out",
                key="steps of no length (0 s or 0 m) are left out",
            )
            return None
        if dtype in _TIME:
            assert value is not None
            extent = time_extent(Fraction(value, 1000))
            duration = extent.value
        elif dtype == "distance":
            assert value is not None
            extent = _distance(value)
            if pace is None and kind in self.book.overrides:
                pace = self.book.overrides[kind]
                pace_name = kind
                self.book.used[kind] = pace
            if pace is not None:
                duration = extent.value * pace.s_per_m
            else:
                duration, is_open = Fraction(0), True
                distance = f"{_num(extent.amount)} {_unit_words(extent)}"
                say_first = f"{distance[0].upper()}{distance[1:]}."
                report.warn(
                    1,
                    col,
                    f"{here} is {distance} with no pace to time it: an open step (the lap key ends it; plan and "
                    f"render need --open-step), or give its pace with --pace {kind}=4:30/km",
                    key="distance steps with no pace target are open steps (the lap key ends them; plan and render "
                    "need --open-step), unless --pace KIND=PACE gives their kind (run, recover, ...) a pace",
                )
        else:
            extent, duration, is_open = time_extent(Fraction(0)), Fraction(0), True
            if dtype != "open":
                say_first = self._condition(here, col, dtype, value)

        cues: list[tuple[Fraction, str]] = []
        say_parts = list(notes.say)
        for offset, text in notes.cues:
            if duration <= 0 or 0 < offset < duration:
                cues.append((offset, text))
            else:
                say_parts.append(f"at {note_clock(offset)}: {text}")
        say = " ".join(x for x in (say_first, "; ".join(say_parts)) if x) or None
        return Step(
            kind=kind,
            extent=extent,
            duration=duration,
            label=label,
            pace=pace,
            pace_name=pace_name,
            pace_spoken=spoken_pace,
            cadence=targets.cadence,
            click=notes.click,
            effort="; ".join(efforts) or None,
            breathing=notes.breathing,
            say=say,
            line=1,
            col=col,
            open=is_open,
            cues=tuple(sorted(cues)),
            incline=notes.incline,
            heart_rate=heart_rate,
            pace_range=targets.pace_range,
        )

    def _condition(self, here: str, col: int, dtype: object, value: int | None) -> str | None:
        """A step that ends on a condition cadencecoach cannot measure: an open step; the spoken condition."""
        report = self.report
        what: str
        say: str | None
        if dtype in _HR_DURATION and value is not None:
            side = _HR_DURATION[str(dtype)]
            short, spoken = _hr_words(value)
            what, cond, say = "heart rate", f"heart rate {side} {short}", f"Until your heart rate is {side} {spoken}."
        elif isinstance(dtype, str) and _POWER_DURATION.fullmatch(dtype) and value is not None:
            pm = _POWER_DURATION.fullmatch(dtype)
            assert pm is not None
            side = "below" if pm.group(2) == "less" else "above"
            avg = f" ({pm.group(1)} average)" if pm.group(1) else ""
            watts = _power_words(value)
            what, cond = "power", f"power{avg} {side} {watts}"
            say = f"Until your power is {side} {watts.replace('%', ' percent')}."
        elif dtype == "calories" and value is not None:
            what, cond, say = "calories", f"{value} calories", f"Until you have burned {value} calories."
        elif dtype == "reps" and value is not None:
            what, cond, say = "repetitions", f"{value} repetitions", f"{value} repetitions."
        elif dtype == "training_peaks_tss":
            what, cond, say = "training stress", "a training stress score", None
        else:
            shown = f"duration type {dtype}" if isinstance(dtype, int) else f"duration type '{dtype}'"
            if dtype is None:
                shown = "no duration type"
            report.warn(
                1,
                col,
                f"{here} has {shown}, which cadencecoach does not know: an open step (the lap key ends it)",
                key="steps with a duration type cadencecoach does not know are open steps (the lap key ends them)",
            )
            return None
        report.warn(
            1,
            col,
            f"{here} lasts until {cond}: cadencecoach cannot measure {what}; an open step (the lap key ends it; "
            "plan and render need --open-step)",
            key=f"steps that last until a {what} condition are open steps (the lap key ends them; plan and render "
            f"need --open-step): cadencecoach cannot measure {what}",
        )
        return say

    def _target(self, out: _Targets, here: str, col: int, m: Mesg, slot: str) -> None:
        """One target slot (`slot` ``""`` or ``"secondary_"``) of a step into `out`."""
        report = self.report
        ttype = m.get(f"{slot}target_type")
        if ttype is None or ttype == "open":
            return
        zone = _int(m.get(f"{slot}target_value"))
        low = _int(m.get(f"{slot}custom_target_value_low"))
        high = _int(m.get(f"{slot}custom_target_value_high"))
        if low is None:
            low = high
        if high is None:
            high = low
        custom = not zone and low is not None and high is not None
        lo, hi = (min(low, high), max(low, high)) if low is not None and high is not None else (0, 0)
        if ttype in ("speed", "speed_lap"):
            if out.pace is not None:
                report.warn(
                    1, col, f"{here} has a second speed target; ignored", key="second speed targets are ignored"
                )
            elif zone:
                self._effort(out, col, f"speed zone {zone}", here, "speed zones have no speeds in a FIT workout")
            elif custom and lo > 0:
                self._speed(out, col, here, lo, hi)
            else:
                report.warn(1, col, f"{here} has a speed target with no speeds; ignored")
        elif ttype == "cadence":
            if zone:
                self._effort(out, col, f"cadence zone {zone}", here, "cadence zones have no cadences in a FIT workout")
            elif custom and lo > 0:
                self._cadence(out, col, here, lo, hi)
            else:
                report.warn(1, col, f"{here} has a cadence target with no values; ignored")
        elif ttype in ("heart_rate", "heart_rate_lap"):
            self._heart_rate(out, col, here, zone, lo, hi, custom)
        elif ttype in _POWER_TARGETS:  # (power_3s/10s/30s/lap: the device's averaging window; said alike)
            if zone:
                text = f"power zone {zone}"
            elif custom and lo > 0:
                if lo == hi:
                    text = _power_words(lo)
                elif lo > 1000:
                    text = f"{lo - 1000} to {hi - 1000} watts"
                elif hi <= 1000:
                    text = f"{lo} to {hi}% of FTP"
                else:
                    text = f"{_power_words(lo)} to {_power_words(hi)}"
            else:
                report.warn(1, col, f"{here} has a power target with no values; ignored")
                return
            self._effort(out, col, text, here, "power targets have no pace equivalent")
        else:
            shown = f"'{ttype}'" if isinstance(ttype, str) else f"type {ttype}"
            values = f" ({lo}-{hi})" if custom else f" ({zone})" if zone else ""
            why = {"grade": "FIT defines no unit for a grade target"}.get(str(ttype), "cadencecoach has no use for it")
            report.warn(
                1,
                col,
                f"{here} has a {shown} target{values}: {why}; ignored",
                key=f"{shown} targets are ignored: {why}",
            )

    def _effort(self, out: _Targets, col: int, text: str, here: str, why: str) -> None:
        out.efforts.append(text)
        self.report.warn(
            1,
            col,
            f"{here}: '{text}': {why}; spoken as effort text",
            key=f"{why}; spoken as effort text",
        )

    def _speed(self, out: _Targets, col: int, here: str, lo: int, hi: int) -> None:
        """Custom speeds (mm/s) to the pace: one pace (equal speeds, or the +-5 s/km band :mod:`.fit` writes for
        one pace), or a range (slower, faster) and its middle. Each pace is the whole seconds per km or per mile
        that gives exactly this speed to the mm/s (Garmin Connect stores 4:30/km as 3.704 m/s), if one does."""
        slow, fast = Fraction(1000, lo), Fraction(1000, hi)  # seconds per metre
        middle = (slow + fast) / 2
        try:
            if lo == hi:
                out.pace = check_pace(_pace(slow, lambda p: round(1000 / p) == lo))
                return
            single = _pace(middle, lambda p: _is_band(p, lo, hi, exact=True))
            if _is_band(single.s_per_m, lo, hi, exact=False):  # what .fit writes for one pace
                out.pace = check_pace(single)
                return
            ends = (
                check_pace(_pace(slow, lambda p: round(1000 / p) == lo)),
                check_pace(_pace(fast, lambda p: round(1000 / p) == hi)),
            )
            out.pace = check_pace(middle_pace(*ends), None)
            out.pace_range = ends
        except ValueError as exc:
            self.report.error(1, col, f"{here}: speed target {lo / 1000:g}-{hi / 1000:g} m/s: {exc}")

    def _cadence(self, out: _Targets, col: int, here: str, lo: int, hi: int) -> None:
        report = self.report
        if lo >= STRIDES_BELOW:
            a, b = Fraction(lo), Fraction(hi)
            report.warn(
                1,
                col,
                f"{here}: cadence target {lo}-{hi} is 120 or more: read as steps per minute (FIT's running cadence "
                "is strides, one foot, per minute)",
                key="cadence targets of 120 or more are read as steps per minute, not FIT's strides per minute",
            )
        else:
            a, b = Fraction(lo * 2), Fraction(hi * 2)
        if (
            b - a > 2 and not out.cadence_noted
        ):  # (a 1-stride range, 90-91, is how one odd cadence, 181, is written: its middle is exact)
            report.warn(
                1,
                col,
                f"{here}: cadence range {_num(a)}-{_num(b)} steps per minute: the click follows its middle, "
                f"{_num((a + b) / 2)}",
                key="cadence ranges: the click follows their middle",
            )
        mid = (a + b) / 2
        if not 60 <= mid <= 300:
            report.error(1, col, f"{here}: cadence {_num(mid)} steps per minute is outside 60-300")
            return
        out.cadence = (mid, mid)

    def _heart_rate(self, out: _Targets, col: int, here: str, zone: int | None, lo: int, hi: int, custom: bool) -> None:
        report = self.report
        if out.heart_rate is not None:
            report.warn(1, col, f"{here} has a second heart-rate target; ignored")
            return
        if zone:
            if not 1 <= zone <= 5:
                report.warn(1, col, f"{here}: heart-rate zone {zone} is not one of 1-5; ignored")
                return
            text = f"Z{zone}"
        elif custom and lo > 0:
            (unit_a, a), (unit_b, b) = _hr_value(lo), _hr_value(hi)
            if unit_a != unit_b:
                report.warn(
                    1,
                    col,
                    f"{here}: heart-rate target {lo}-{hi} mixes % of max (up to 100) and bpm (over 100); ignored",
                )
                return
            span = _num(a) if a == b else f"{_num(a)}-{_num(b)}"
            text = f"{span}bpm" if unit_a == "bpm" else f"{span}% max"  # (parse_heart_rate's forms)
        else:
            report.warn(1, col, f"{here} has a heart-rate target with no values; ignored")
            return
        try:
            hr = parse_heart_rate(text)
        except ValueError as exc:
            report.warn(1, col, f"{here}: {exc}; ignored")
            return
        out.heart_rate = hr
        report.warn(
            1,
            col,
            f"{here}: heart-rate target {heart_rate_note(hr).removeprefix('heart rate ')}: kept as the step's "
            "heart-rate target (spoken when it has no effort, "
            "exported to FIT), but it is not a pace",
            key="heart-rate targets are kept as heart-rate targets (spoken when the step has no effort, exported to "
            "FIT), but are not paces: cadencecoach cannot measure heart rate",
        )


def _pace(s_per_m: Fraction, exact: Callable[[Fraction], bool]) -> Pace:
    """The pace of whole seconds per km, else per mile, near `s_per_m` for which `exact` holds (it gives the
    file's speeds back); else `s_per_m` to 0.01 s/km (:func:`~cadencecoach.workout.paces.literal_pace`)."""
    for per, unit in ((Fraction(1000), "km"), (METERS_PER_MILE, "mi")):
        whole = round(s_per_m * per)
        candidate = Fraction(whole) / per
        if whole > 0 and exact(candidate):
            return Pace(candidate, f"{whole // 60}:{whole % 60:02d}/{unit}")
    return literal_pace(s_per_m)


def _band(s_per_m: Fraction) -> tuple[Fraction, Fraction] | None:
    """The speeds (m/s x 1000, unrounded) :mod:`.fit` writes for one pace: pace + and - BAND_S_PER_KM."""
    band = BAND_S_PER_KM / 1000
    if s_per_m <= band:
        return None
    return 1000 / (s_per_m + band), 1000 / max(s_per_m - band, s_per_m / 2)


def _is_band(s_per_m: Fraction, lo: int, hi: int, *, exact: bool) -> bool:
    """Whether (lo, hi) mm/s is the band of `s_per_m`: exactly (rounded), or within 1 mm/s (a middle read to
    0.01 s/km)."""
    speeds = _band(s_per_m)
    if speeds is None:
        return False
    if exact:
        return (round(speeds[0]), round(speeds[1])) == (lo, hi)
    return abs(speeds[0] - lo) <= 1 and abs(speeds[1] - hi) <= 1


def _unit_words(extent: Extent) -> str:
    return {"m": "meters", "km": "kilometers", "mi": "miles"}.get(extent.unit, extent.unit)


def _seconds(items: Sequence[Item]) -> Fraction | None:
    """How long the block `items` lasts once; None when an open step of no length is in it."""
    if any(s.duration <= 0 for s in iter_steps(tuple(items))):
        return None
    return totals(tuple(items))[0]


def _metres(items: Sequence[Item]) -> Fraction | None:
    """How far the block `items` goes once (a time step by its pace); None when a step's distance is unknown."""
    total = Fraction(0)
    for item in items:
        if isinstance(item, Repeat):
            inner = _metres(item.steps)
            if inner is None:
                return None
            total += inner * item.count
        elif not item.extent.is_time:
            total += item.extent.value
        elif item.pace is not None and item.duration > 0:
            total += item.duration / item.pace.s_per_m
        else:
            return None
    return total
