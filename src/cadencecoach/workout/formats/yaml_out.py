"""A :class:`~cadencecoach.workout.model.Workout` as YAML in our own format (shared/spec/workout-format.md).

The file loads back through :mod:`cadencecoach.workout.loader` to the same timeline (``plan --json`` is equal): every
number is written exactly (durations and distances as decimals, paces as ``M:SS.ss/km`` or as written), paces
are named as the workout named them, and a kind-named pace stays implicit.

Everything an import carries is written, in the keys our format adds to the contract for it (docs/WORKOUT-FORMAT.md,
"Keys for imported workouts"): timed cues as ``cues:``, open steps as ``open: true`` (or ``lap`` for one with no
length), ``incline:``, ``heart_rate:`` and pace ranges (``pace: 7:15-7:00/km``). A named pace with a range (none
of our importers makes one) would keep its name and lose its range, with a warning.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import TYPE_CHECKING

from cadencecoach.terminal import safe_text
from cadencecoach.workout.formats._common import Item
from cadencecoach.workout.model import KINDS, Repeat, Step, Workout, heart_rate_text
from cadencecoach.workout.paces import DERIVED_PACES, decimal_text, km_text
from cadencecoach.workout.units import METERS_PER_MILE, Pace, format_clock, parse_pace

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

DERIVED = DERIVED_PACES


def duration_text(seconds: Fraction) -> str:
    """``90s``, ``10min``, ``2min30s``, ``1h15min``, ``1h0min5s``: exact, largest unit first (as the loader reads)."""
    if seconds <= 0:
        raise ValueError("a duration must be more than zero")
    whole = int(seconds)
    frac = seconds - whole
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    parts = []
    if h:
        parts.append(f"{h}h")
    if m or (h and (s or frac)):
        parts.append(f"{m}min")
    if s or frac or not parts:
        parts.append(f"{decimal_text(s + frac)}s")
    return "".join(parts)


def extent_text(step: Step) -> str:
    ext = step.extent
    if ext.is_time:
        return duration_text(ext.value)
    return f"{decimal_text(ext.amount)}{ext.unit}"


def _pace_text(pace: Pace) -> str:
    """The pace as written when that reads back exactly, else ``M:SS.ss/km``."""
    try:
        if parse_pace(pace.text).s_per_m == pace.s_per_m:
            return pace.text
    except ValueError:
        pass
    text = km_text(pace.s_per_m)  # ValueError if not exact: never for imported (rounded) or written paces
    if parse_pace(text).s_per_m != pace.s_per_m:
        raise ValueError(f"pace {pace.text} cannot be written exactly")
    return text


def _cadence_value(c: tuple[Fraction, Fraction]) -> int | str:
    a, b = c
    if a == b:
        return int(a) if a.denominator == 1 else decimal_text(a)
    return f"{decimal_text(a)}-{decimal_text(b)}"


def _trial_text(trial: tuple[Fraction, Fraction]) -> str:
    meters, seconds = trial
    if meters == METERS_PER_MILE:
        dist = "1mi"
    elif meters % 1000 == 0:
        dist = f"{decimal_text(meters / 1000)}k"
    else:
        dist = f"{decimal_text(meters)}m"
    clock = format_clock(seconds) if seconds.denominator == 1 else f"{decimal_text(seconds)}s"
    return f"{dist} {clock}"


def to_document(workout: Workout, warnings: list[str] | None = None) -> CommentedMap:
    """The workout as a ruamel CommentedMap (keys in the contract's order)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    warns = warnings if warnings is not None else []
    doc = CommentedMap()
    doc["name"] = workout.name
    if workout.notes:
        doc["notes"] = workout.notes
    if workout.cadence_given or workout.cadence != (Fraction(180), Fraction(180)):  # else left implicit, as it was
        doc["cadence"] = _cadence_value(workout.cadence)
    if workout.trial is not None:
        doc["trial"] = _trial_text(workout.trial)
    paces = CommentedMap()
    used = _used_pace_names(workout.steps)
    for name, pace in workout.paces.items():
        if pace.text == f"{name} pace" and name in DERIVED and workout.trial is not None:
            continue  # derived again from `trial:`
        target = pace.text[: -len(" pace")] if pace.text.endswith(" pace") else None
        if target in DERIVED and workout.trial is not None and target != name:
            paces[name] = target  # an alias of a derived pace (`jog: easy`)
            continue
        if name not in used and not _needed(name, workout):
            continue
        paces[name] = _pace_text(pace)
    if paces:
        doc["paces"] = paces
    if workout.voice_mode != "full":
        doc["voice"] = workout.voice_mode

    def steps(items: tuple[Item, ...]) -> CommentedSeq:
        seq = CommentedSeq()
        for item in items:
            if isinstance(item, Repeat):
                block = CommentedMap()
                block["repeat"] = item.count
                block["steps"] = steps(item.steps)
                seq.append(block)
            else:
                seq.append(_step(item, workout.source, warns))
        return seq

    doc["steps"] = steps(workout.steps)
    return doc


def _needed(name: str, workout: Workout) -> bool:
    """A kind-named pace used implicitly by a distance step."""
    return name in KINDS


def _used_pace_names(items: tuple[Item, ...]) -> set[str]:
    out: set[str] = set()
    for item in items:
        if isinstance(item, Repeat):
            out |= _used_pace_names(item.steps)
        elif item.pace_name:
            out.add(item.pace_name)
    return out


def _step(step: Step, source: str, warns: list[str]) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    where = f"{source}:{step.line}:{step.col}: '{step.label}'" if step.line else f"{source}: '{step.label}'"
    node = CommentedMap()
    no_length = step.open and step.duration <= 0 and step.extent.is_time
    node[step.kind] = "lap" if no_length else extent_text(step)  # a distance with no pace keeps its distance
    if step.open and not no_length:
        node["open"] = True
    if step.label != KINDS[step.kind]:
        node["label"] = step.label
    if step.pace is not None and step.pace_spoken:
        if step.pace_range is not None and not step.pace_name:
            slow, fast = step.pace_range
            node["pace"] = _range_text(slow, fast)
        else:
            node["pace"] = step.pace_name if step.pace_name else _pace_text(step.pace)
            if step.pace_range is not None:
                warns.append(f"{where}: the range of pace '{step.pace_name}' is not written (a named pace has none)")
    if step.cadence is not None:
        node["cadence"] = _cadence_value(step.cadence)
    if not step.click:
        node["click"] = "off"
    if step.effort:
        node["effort"] = step.effort
    if step.breathing:
        node["breathing"] = f"{step.breathing[0]}:{step.breathing[1]}"
    if step.say:
        node["say"] = step.say
    if step.incline is not None:
        node["incline"] = f"{decimal_text(step.incline)}%"
    if step.heart_rate is not None:
        node["heart_rate"] = heart_rate_text(step.heart_rate)
    if step.cues:
        cues = CommentedSeq()
        for offset, text in step.cues:
            cue = CommentedMap()
            cue["at"] = f"{decimal_text(offset)}s"
            cue["say"] = text
            cues.append(cue)
        node["cues"] = cues
    return node


def _range_text(slow: Pace, fast: Pace) -> str:
    """``7:15-7:00/km`` when both ends share a unit as written, else ``7:15/km-7:00/km``; each exact."""
    a, b = _pace_text(slow), _pace_text(fast)
    ua, ub = a[a.index("/") :], b[b.index("/") :]
    return f"{a[: a.index('/')]}-{b}" if ua == ub else f"{a}-{b}"


def dumps(workout: Workout, warnings: list[str] | None = None, header: str | None = None) -> str:
    """The YAML text. Warnings about what could not be written are appended to `warnings` and written as
    comments at the top of the file, under `header`."""
    from ruamel.yaml import YAML

    warns: list[str] = []
    doc = to_document(workout, warns)
    if warnings is not None:
        warnings.extend(warns)
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    lines = [header] if header else []
    lines += [f"warning: {w}" for w in warns]
    for line in lines:
        for part in line.splitlines() or [""]:  # a comment cannot escape: control characters are shown escaped
            out.write(f"# {safe_text(part)}".rstrip() + "\n")
    yaml.dump(doc, out)
    return out.getvalue()
