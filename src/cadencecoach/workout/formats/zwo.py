"""Zwift workout files (``.zwo``) -> :class:`~cadencecoach.workout.model.Workout`.

A run workout looks like this::

    <workout_file>
      <name>5 x 1 min</name>
      <sportType>run</sportType>
      <workout>
        <Warmup Duration="600" PowerLow="0.6" PowerHigh="0.8" pace="1" Cadence="170"/>
        <IntervalsT Repeat="5" OnDuration="60" OffDuration="90" OnPower="1.05" OffPower="0.7" pace="1"
                    Cadence="184" CadenceResting="166"/>
        <SteadyState Duration="300" Power="0.85" pace="2">
          <textevent timeoffset="0" message="Settle into 10k effort"/>
          <textevent timeoffset="150" message="Halfway, stay tall"/>
        </SteadyState>
        <Cooldown Duration="300" PowerLow="0.7" PowerHigh="0.6" pace="1"/>
      </workout>
    </workout_file>

* ``Power`` (and ``PowerLow``/``PowerHigh``, ``OnPower``/``OffPower``) is a fraction of a reference pace's
  *speed*. ``pace="N"`` names the reference as Zwift's run pace settings do: 0 mile, 1 5k, 2 10k, 3 half
  marathon, 4 marathon; without ``pace`` the reference is threshold pace. Each becomes a named pace:
  ``85% 5k``, or ``5k`` itself at 100% (see docs/FORMATS.md).
* ``Duration`` is seconds, or metres when the file says ``<durationType>distance</durationType>`` (or an
  element has ``durationType="distance"``).
* ``Cadence`` is steps per minute (values below 120 are strides per minute, and are doubled).
* ``textevent``s are spoken: in the first 3 s of a step they join its ``say``; later ones are timed cues.

XML is read with expat, refusing any DTD (so no entity expansion: no "billion laughs", no external entities).
Every element keeps its line and column, so problems are ``FILE:LINE:COL: message``.

Bounded work: numbers are read only as plain decimals of at most
:data:`~cadencecoach.workout.source.MAX_NUMBER_DIGITS` digits (``Duration="1e999999999"`` is no number, not a
number to build); an ``IntervalsT`` with textevents is unrolled only once the workout's totals so far say the
unrolled block fits the limits (24 hours, 200,000 steps), and its textevents are handed to the repetitions by
window, once each; a textevent's message is at most 300 characters. ``Power`` is 10% to 300% of the
reference pace's speed for a run (the pace book's bounds then apply), at most :data:`FTP_MAX` of FTP otherwise.
"""

from __future__ import annotations

import re
import xml.parsers.expat as expat
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.workout.formats._common import (
    REFERENCE_HINT,
    ImportResult,
    Item,
    build_workout,
    distance_extent,
    pretty_name,
    time_extent,
    totals,
)
from cadencecoach.workout.model import KINDS, Repeat, Step
from cadencecoach.workout.paces import LoadOptions, PaceBook, decimal_text, importer_book, percent_text
from cadencecoach.workout.source import (
    MAX_CUES,
    MAX_DURATION,
    MAX_NUMBER_DIGITS,
    MAX_STEPS,
    Report,
    check_size,
    check_totals,
    read_bytes,
    text_problem,
)
from cadencecoach.workout.source import shown as clip
from cadencecoach.workout.units import Pace

PACE_REFERENCES = {0: "mile", 1: "5k", 2: "10k", 3: "half", 4: "marathon"}
"""Zwift's ``pace="N"`` attribute: which of the runner's race paces ``Power`` is a fraction of."""
DEFAULT_REFERENCE = "threshold"

TYPICAL_OF_THRESHOLD = {
    "mile": Fraction(121, 100),
    "5k": Fraction(108, 100),
    "10k": Fraction(104, 100),
    "half": Fraction(98, 100),
    "marathon": Fraction(94, 100),
    "threshold": Fraction(1),
}
"""Typical speed of each reference relative to threshold (Daniels, VDOT 40-60); used only to tell a recovery
step (under 80% of threshold speed) from a run step."""

FTP_MAX = Fraction(10)
"""A bike workout's Power, a fraction of FTP, is at most 10 (1000%): Zwift step tests go to 6."""

SAY_WITHIN_S = Fraction(3)
STRIDES_BELOW = Fraction(120)

STEP_ELEMENTS = {"warmup", "cooldown", "ramp", "steadystate", "intervalst", "freeride", "maxeffort"}
TEXT_ELEMENTS = {"textevent", "textnotification"}
IGNORED_ELEMENTS = {"gameplayevent", "restday"}
HEAD_ELEMENTS = {
    "name",
    "author",
    "description",
    "sporttype",
    "durationtype",
    "tags",
    "tag",
    "category",
    "subcategory",
    "workout",
    "workout_file",
}
QUIET_ATTRIBUTES = {
    "quantize",
    "flatroad",
    "show_avg",
    "units",
    "zone",
    "overunder",
    "neverfails",
    "textscale",
    "y",
    "x",
    "font_size",
    "duration",
    "ftptest",
    "slop",
    "text",
    "failthresholdduration",
    "replacement_prescription",
    "replacement_verb",
}


@dataclass
class _El:
    tag: str
    attrs: dict[str, str]
    line: int
    col: int
    children: list[_El] = field(default_factory=list)
    text: str = ""

    @property
    def name(self) -> str:
        return self.tag.lower()

    def get(self, *names: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.attrs.items()}
        for n in names:
            if n.lower() in lowered:
                return lowered[n.lower()]
        return None


def parse_xml(data: bytes, display: str) -> _El:
    """A small element tree with positions. DTDs (and so entities) are refused."""
    check_size(data, display)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    root: list[_El] = []
    stack: list[_El] = []
    texts: dict[int, list[str]] = {}  # an element's text in pieces, joined at its end (not += : quadratic)

    class _Refused(Exception):
        def __init__(self, line: int, col: int, message: str) -> None:
            self.line, self.col, self.message = line, col, message

    def here() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def start(tag: str, attrs: dict[str, str]) -> None:
        line, col = here()
        el = _El(tag, dict(attrs), line, col)
        if stack:
            stack[-1].children.append(el)
        else:
            root.append(el)
        stack.append(el)

    def end(tag: str) -> None:
        el = stack.pop()
        pieces = texts.pop(id(el), None)
        if pieces:
            el.text = "".join(pieces)

    def chars(text: str) -> None:
        if stack:
            texts.setdefault(id(stack[-1]), []).append(text)

    def doctype(*_args: object) -> None:
        raise _Refused(*here(), "a DTD (<!DOCTYPE ...>) is not allowed in a workout file")

    def entity(*_args: object) -> None:
        raise _Refused(*here(), "entity declarations are not allowed in a workout file")

    def external(*_args: object) -> int:
        raise _Refused(*here(), "external entities are not allowed in a workout file")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise WorkoutError([Problem(display, exc.line, exc.col, exc.message)]) from None
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise WorkoutError(
            [Problem(display, exc.lineno or 1, (exc.offset or 0) + 1, f"malformed XML: {message}")]
        ) from None
    if not root:
        raise WorkoutError([Problem(display, 1, 1, "no XML element: not a Zwift workout file")])
    return root[0]


def load_zwo(path: str | Path, options: LoadOptions | None = None, *, display: str | None = None) -> ImportResult:
    """Read a Zwift workout file (:func:`parse_zwo`); `display` names it in problems."""
    path = Path(path)
    shown = display or str(path)
    data = read_bytes(path, shown)
    return parse_zwo(data, shown, options, fallback_name=pretty_name(path.stem))


def parse_zwo(
    data: bytes | str,
    display: str = "<workout.zwo>",
    options: LoadOptions | None = None,
    *,
    fallback_name: str = "Zwift workout",
) -> ImportResult:
    """A Zwift workout's XML to a Workout and the warnings for what was not mapped exactly."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    root = parse_xml(raw, display)
    report = Report(display)
    if root.name != "workout_file":
        report.error(root.line, root.col, f"<{root.tag}> is not a Zwift workout: the root element is <workout_file>")
        report.check()
    book = importer_book(options)
    reader = _Reader(report, book)
    return reader.read(root, fallback_name)


@dataclass
class _Target:
    """What an element asks for: a pace (maybe missing its reference), its name, a level for kind inference."""

    pace: Pace | None = None
    name: str | None = None
    fraction_of_t: Fraction | None = None
    effort: str | None = None


class _Reader:
    def __init__(self, report: Report, book: PaceBook) -> None:
        self.report = report
        self.book = book
        self.distance = False
        self.run = True
        self._placed: set[int] = set()
        self.duration = Fraction(0)  # the totals of the blocks read so far (what an unrolled block adds to)
        self.steps = 0

    def read(self, root: _El, fallback_name: str) -> ImportResult:
        report = self.report
        head = {c.name: c for c in root.children}
        name = (head["name"].text.strip() if "name" in head else "") or fallback_name
        notes = head["description"].text.strip() if "description" in head else None
        sport = head["sporttype"].text.strip().lower() if "sporttype" in head else ""
        if sport and sport != "run":
            el = head["sporttype"]
            report.warn(
                el.line,
                el.col,
                f"sportType '{sport}': not a run workout; its Power targets (fractions of FTP) have no pace "
                "equivalent and are spoken as effort text",
            )
            self.run = False
        elif not sport:
            report.warn(root.line, root.col, "no <sportType>: read as a run workout")
        kind = head["durationtype"].text.strip().lower() if "durationtype" in head else ""
        if (root.get("durationType") or "").lower() == "distance" or kind == "distance":
            self.distance = True
        for c in root.children:
            if c.name not in HEAD_ELEMENTS | {"workout"} and c.name not in ("tags",):
                report.warn(c.line, c.col, f"<{c.tag}> is not used by cadencecoach; ignored")
        workout = head.get("workout")
        if workout is None:
            report.error(root.line, root.col, "no <workout> element: the file has no steps")
            report.check()
            raise AssertionError  # unreachable: check() raised
        spoken = [c for el in workout.children for c in (el, *el.children) if c.name in TEXT_ELEMENTS]
        if len(spoken) > MAX_CUES:  # each textevent is spoken once at most: refused before anything is built
            extra = spoken[MAX_CUES]
            report.error(
                extra.line, extra.col, f"more than {MAX_CUES} textevents; the limit of spoken cues is {MAX_CUES}"
            )
            report.check()
        blocks: list[list[Item]] = []
        loose: list[_El] = []
        for el in workout.children:
            if el.name in STEP_ELEMENTS:
                block = self._element(el)
                blocks.append(block)
                duration, steps, _ = totals(tuple(block))
                self.duration += duration
                self.steps += steps
            elif el.name in TEXT_ELEMENTS:
                loose.append(el)
            elif el.name in IGNORED_ELEMENTS:
                report.warn(el.line, el.col, f"<{el.tag}> has no meaning for a runner's coach; ignored")
            else:
                report.warn(el.line, el.col, f"<{el.tag}> is not a Zwift workout step cadencecoach knows; ignored")
        if loose:
            blocks = self._place_loose(blocks, loose)
        items = tuple(item for block in blocks for item in block)
        return ImportResult(build_workout(report, name, items, self.book, notes=notes), report.warnings)

    # ------------------------------------------------------------------------------------- numbers

    def _number(self, el: _El, attr: str, *, required: bool = False, positive: bool = False) -> Fraction | None:
        raw = el.get(attr)
        if raw is None:
            if required:
                self.report.error(el.line, el.col, f'<{el.tag}> needs {attr}="..."')
            return None
        value = _decimal(raw)
        if value is None:
            self.report.error(el.line, el.col, f'<{el.tag}> {attr}="{clip(raw)}" is not a number')
            return None
        if positive and value <= 0:
            self.report.error(el.line, el.col, f'<{el.tag}> {attr}="{clip(raw)}" must be more than zero')
            return None
        if value < 0:
            self.report.error(el.line, el.col, f'<{el.tag}> {attr}="{clip(raw)}" must not be negative')
            return None
        return value

    def _cadence(self, el: _El, attr: str) -> tuple[Fraction, Fraction] | None:
        value = self._number(el, attr)
        if value is None:
            return None
        spm = value * 2 if value < STRIDES_BELOW else value
        if not 60 <= spm <= 300:
            self.report.error(
                el.line,
                el.col,
                f'<{el.tag}> {attr}="{clip(el.get(attr) or "")}" is {decimal_text(spm)} steps per minute, '
                "outside 60-300",
            )
            return None
        return spm, spm

    def _cadence_ramp(self, el: _El) -> tuple[Fraction, Fraction] | None:
        low, high = el.get("CadenceLow"), el.get("CadenceHigh")
        if low is None or high is None:
            return self._cadence(el, "Cadence") if el.get("Cadence") is not None else None
        a, b = self._cadence(el, "CadenceLow"), self._cadence(el, "CadenceHigh")
        if a is None or b is None:
            return None
        if el.name in ("warmup", "cooldown", "ramp"):
            return a[0], b[0]  # a cadence ramp along the step
        mid = (a[0] + b[0]) / 2
        self.report.warn(
            el.line,
            el.col,
            f"cadence range {decimal_text(a[0])}-{decimal_text(b[0])}: the click follows its middle, "
            f"{decimal_text(mid)}",
        )
        return mid, mid

    def _reference(self, el: _El) -> str:
        raw = el.get("pace")
        if raw is None:
            return DEFAULT_REFERENCE
        try:
            index = int(raw)
        except ValueError:
            index = -1
        if index not in PACE_REFERENCES:
            self.report.warn(
                el.line, el.col, f'pace="{clip(raw)}" is not one of Zwift\'s run paces (0-4); using threshold pace'
            )
            return DEFAULT_REFERENCE
        return PACE_REFERENCES[index]

    def _target(self, el: _El, low: Fraction | None, high: Fraction | None) -> _Target:
        """The pace for Power (or PowerLow..PowerHigh) of `el`'s reference."""
        if low is None:
            return _Target()
        if high is None:
            high = low
        if not self.run:
            if max(low, high) > FTP_MAX:
                self.report.error(
                    el.line, el.col, f"<{el.tag}> asks for {_pct(max(low, high))} of FTP; at most {_pct(FTP_MAX)}"
                )
                return _Target()
            text = f"{_pct(low)} of FTP" if low == high else f"{_pct(low)} to {_pct(high)} of FTP"
            return _Target(effort=text)
        ref = self._reference(el)
        if low != high:
            self.report.warn(
                el.line,
                el.col,
                f"<{el.tag}> ramps from {_pct(low)} to {_pct(high)} of {ref} pace: cadencecoach keeps one pace per "
                "step, its middle",
            )
        fraction = (low + high) / 2
        if fraction <= 0:
            return _Target()
        try:
            name, pace = self.book.relative(ref, fraction)
        except ValueError as exc:
            self.report.error(el.line, el.col, f"<{el.tag}>: {exc}")
            return _Target()
        level = fraction * TYPICAL_OF_THRESHOLD[ref]
        if pace is None:
            return _Target(name=name, fraction_of_t=level, effort=f"{name} pace")
        return _Target(pace=pace, name=name, fraction_of_t=level)

    # ------------------------------------------------------------------------------------- elements

    def _element(self, el: _El) -> list[Item]:
        self._check_attributes(el)
        name = el.name
        distance = self.distance or (el.get("durationType") or "").lower() == "distance"
        for c in el.children:
            if c.name not in TEXT_ELEMENTS:
                self.report.warn(c.line, c.col, f"<{c.tag}> inside <{el.tag}> is not used by cadencecoach; ignored")
        cues = self._cues([c for c in el.children if c.name in TEXT_ELEMENTS])
        if name == "intervalst":
            return self._intervals(el, distance, cues)
        length = self._number(el, "Duration", required=True, positive=True)
        kind = {"warmup": "warmup", "cooldown": "cooldown"}.get(name, "run")
        if name in ("warmup", "cooldown", "ramp"):
            target = self._target(el, self._number(el, "PowerLow"), self._number(el, "PowerHigh"))
        elif name == "steadystate":
            target = self._target(el, self._number(el, "Power"), None)
        else:  # FreeRide, MaxEffort: no pace target
            target = _Target(effort="max effort" if name == "maxeffort" else None)
        if kind == "run" and target.fraction_of_t is not None and target.fraction_of_t < Fraction(80, 100):
            kind = "recover"
        cadence = self._cadence_ramp(el)
        step = self._step(el, kind, KINDS[kind], length, distance, target, cadence, cues, (Fraction(0), Fraction(0)))
        if step is not None:
            self._unplaced(cues)
        return [step] if step is not None else []

    def _intervals(self, el: _El, distance: bool, cues: list[_Cue]) -> list[Item]:
        count = self._number(el, "Repeat", required=True)
        on_len = self._number(el, "OnDuration", required=True, positive=True)
        off_len = self._number(el, "OffDuration", required=True, positive=True)
        if count is not None and (count.denominator != 1 or count < 1):
            self.report.error(
                el.line, el.col, f'<{el.tag}> Repeat="{clip(el.get("Repeat") or "")}" must be a whole number >= 1'
            )
            count = None
        on_t = self._target(el, *_power_pair(self, el, "On"))
        off_t = self._target(el, *_power_pair(self, el, "Off"))
        on_cad = self._cadence(el, "Cadence") if el.get("Cadence") is not None else None
        if on_cad is None and el.get("CadenceLow") is not None and el.get("CadenceHigh") is not None:
            on_cad = self._cadence_ramp(el)
        off_cad = self._cadence(el, "CadenceResting") if el.get("CadenceResting") is not None else None
        if count is None or on_len is None or off_len is None:
            return []
        n = int(count)
        zero = (Fraction(0), Fraction(0))
        on = self._step(el, "run", KINDS["run"], on_len, distance, on_t, on_cad, [], zero)
        off = self._step(el, "recover", KINDS["recover"], off_len, distance, off_t, off_cad, [], zero)
        if on is None or off is None:
            return []
        if not cues:
            return [Repeat(n, (on, off), el.line, el.col)]
        # textevents are timed from the block's start and show once: unroll, so each lands in its repetition;
        # only once the totals say the unrolled block fits the limits (a Repeat="100000000" is refused here)
        if not check_totals(
            self.report, (el.line, el.col), self.duration + n * (on.duration + off.duration), self.steps + 2 * n
        ):
            return []
        seconds = _Window([c for c in cues if c.unit == "s"])
        metres = _Window([c for c in cues if c.unit == "m"])
        halves = [
            (on, on_t, on_len if distance else (on.duration / on_t.pace.s_per_m if on_t.pace is not None else None)),
            (
                off,
                off_t,
                off_len if distance else (off.duration / off_t.pace.s_per_m if off_t.pace is not None else None),
            ),
        ]  # each half of a repetition: its step, its target, the metres it covers (None: unknown, no pace)
        out: list[Item] = []
        start_s, start_m = Fraction(0), Fraction(0)
        for k in range(1, n + 1):
            for base, target, span_m in halves:
                step = replace(base, label=f"Interval {k} of {n}") if base is on else base
                end_s = start_s + base.duration
                here = seconds.take(start_s, end_s)
                if span_m is None:
                    metres.untimed(self)  # no pace: the distoffsets left cannot be placed
                else:
                    end_m = start_m + span_m
                    here += metres.take(start_m, end_m)
                out.append(self._with_cues(step, target, here, (start_s, start_m)) if here else step)
                start_s = end_s
                if span_m is not None:
                    start_m = end_m
        self._unplaced(cues)
        return out

    def _check_attributes(self, el: _El) -> None:
        known = {
            "duration",
            "power",
            "powerlow",
            "powerhigh",
            "pace",
            "cadence",
            "cadencelow",
            "cadencehigh",
            "cadenceresting",
            "repeat",
            "onduration",
            "offduration",
            "onpower",
            "offpower",
            "poweronlow",
            "poweronhigh",
            "powerofflow",
            "poweroffhigh",
            "durationtype",
        }
        for attr in el.attrs:
            a = attr.lower()
            if a in known or a in QUIET_ATTRIBUTES:
                continue
            self.report.warn(
                el.line, el.col, f'<{el.tag}> {clip(attr)}="{clip(el.attrs[attr])}" is not used by cadencecoach'
            )

    def _step(
        self,
        el: _El,
        kind: str,
        label: str,
        length: Fraction | None,
        distance: bool,
        target: _Target,
        cadence: tuple[Fraction, Fraction] | None,
        cues: list[_Cue],
        block_start: tuple[Fraction, Fraction],
    ) -> Step | None:
        """One step of `el`; `cues` are the element's textevents that may fall in it (all of them, or those of
        its window when the block is unrolled), and `block_start` is where this step starts in its block
        (seconds, metres)."""
        if length is None:
            return None
        if distance:
            extent = distance_extent(length)
            if target.pace is None:
                if target.name:
                    why = (
                        f"{target.name} pace is relative to your {target.name.split()[-1]} pace, which nothing gives: "
                    )
                    why += REFERENCE_HINT.format(ref=target.name.split()[-1])
                else:
                    why = f"<{el.tag}> is {decimal_text(length)} m with no pace target: cadencecoach cannot time it"
                self.report.error(el.line, el.col, f"a distance step needs a pace: {why}")
                return None
            duration = length * target.pace.s_per_m
        else:
            extent = time_extent(length)
            duration = length
            if target.pace is None and target.name:
                ref = target.name.split()[-1]
                self.report.warn(
                    el.line,
                    el.col,
                    f"{target.name} pace: no {ref} pace to map it on ({REFERENCE_HINT.format(ref=ref)}); "
                    "spoken as effort text",
                )
        step = Step(
            kind=kind,
            extent=extent,
            duration=duration,
            label=label,
            pace=target.pace,
            pace_name=target.name if target.pace is not None else None,
            pace_spoken=target.pace is not None,
            cadence=cadence,
            effort=target.effort,
            line=el.line,
            col=el.col,
        )
        return self._with_cues(step, target, cues, block_start) if cues else step

    def _with_cues(self, step: Step, target: _Target, cues: list[_Cue], block_start: tuple[Fraction, Fraction]) -> Step:
        """`step` with the textevents of `cues` that fall in it (offsets from its block's start, `block_start`
        being where the step starts in it): in its first 3 s they are its ``say``, later ones timed cues."""
        duration = step.duration
        say_parts: list[str] = []
        timed: list[tuple[Fraction, str]] = []
        for c in cues:
            if id(c.el) in self._placed:
                continue
            if c.unit == "s":
                local = c.at - block_start[0]
            elif target.pace is not None:
                local = (c.at - block_start[1]) * target.pace.s_per_m
            else:
                self.report.warn(c.el.line, c.el.col, f"<{c.el.tag}> distoffset needs a pace to be timed; ignored")
                self._placed.add(id(c.el))
                continue
            if not 0 <= local < duration:
                continue
            self._placed.add(id(c.el))
            if local < SAY_WITHIN_S:
                say_parts.append(c.message)
            else:
                timed.append((local, c.message))
        if not say_parts and not timed:
            return step
        return replace(step, say=" ".join(say_parts) or None, cues=tuple(sorted(timed)))

    def _cues(self, elements: list[_El]) -> list[_Cue]:
        """The textevents of a block, read once: offset, message (at most MAX_CUE_CHARS), in file order; one
        that cannot be used is a warning (or, too long to speak, a problem) here, once."""
        out: list[_Cue] = []
        for c in elements:
            at = self._offset(c)
            if at is None:
                continue
            message = (c.get("message") or c.get("text") or "").strip()
            if not message:
                self.report.warn(c.line, c.col, f"<{c.tag}> has no message; ignored")
                self._placed.add(id(c))
                continue
            problem = text_problem(message, f"<{c.tag}> message")
            if problem:
                self.report.error(c.line, c.col, problem)
                self._placed.add(id(c))
                continue
            out.append(_Cue(c, at[0], at[1], message))
        return out

    def _offset(self, c: _El) -> tuple[str, Fraction] | None:
        """A textevent's offset from its block's start: ("s", seconds) or ("m", metres for distoffset)."""
        for attr, unit in (("timeoffset", "s"), ("distoffset", "m")):
            raw = c.get(attr)
            if raw is None:
                continue
            value = _decimal(raw)
            if value is not None and value >= 0:
                return unit, value
            break
        self.report.warn(c.line, c.col, f"<{c.tag}> needs a number (0 or more) in timeoffset or distoffset; ignored")
        self._placed.add(id(c))
        return None

    def _unplaced(self, cues: list[_Cue]) -> None:
        for c in cues:
            if id(c.el) not in self._placed:
                self._placed.add(id(c.el))
                self.report.warn(c.el.line, c.el.col, f"textevent '{c.message}' is past its block's end; ignored")

    def _place_loose(self, blocks: list[list[Item]], loose: list[_El]) -> list[list[Item]]:
        """Textevents directly under <workout>: timed from the workout's start, each goes to the step it falls in.

        A block it falls in that is a repeat is unrolled (a message belongs to one repetition): only when the
        workout's totals are within the limits, and each block is walked once for all its messages."""
        events: list[_Cue] = []
        for c in self._cues(loose):
            if c.unit != "s":
                self.report.warn(c.el.line, c.el.col, f"<{c.el.tag}> outside a step needs a timeoffset; ignored")
                continue
            events.append(c)
        total, count, _ = totals(tuple(item for block in blocks for item in block))
        if not events or total > MAX_DURATION or count > MAX_STEPS:
            return blocks  # (over the limits: build_workout says so; nothing is unrolled)
        order = {id(c): k for k, c in enumerate(events)}
        events.sort(key=lambda c: (c.at, order[id(c)]))
        pending = 0
        t = Fraction(0)
        for bi, block in enumerate(blocks):
            span = totals(tuple(block))[0]
            if pending < len(events) and events[pending].at < t + span:
                steps = _flatten(block) if any(isinstance(x, Repeat) for x in block) else list(block)
                for si, item in enumerate(steps):
                    assert isinstance(item, Step)
                    landing: list[_Cue] = []
                    while pending < len(events) and events[pending].at < t + item.duration:
                        landing.append(events[pending])
                        pending += 1
                    if landing:
                        steps[si] = _with_loose(item, [(c.at - t, c) for c in landing], order)
                    t += item.duration
                blocks[bi] = list(steps)
            else:
                t += span
        for c in events[pending:]:
            self.report.warn(c.el.line, c.el.col, f"textevent '{c.message}' is past the workout's end; ignored")
        return blocks


@dataclass(frozen=True)
class _Cue:
    """A textevent read once: its element (for positions), ``s`` or ``m`` (timeoffset, distoffset), where."""

    el: _El
    unit: str
    at: Fraction
    message: str


class _Window:
    """The cues of one unit in order of their offset, handed out by window: the steps of an unrolled block
    take, in order, those in their spans (which follow each other), so unrolling costs O(steps + cues), not
    O(steps x cues)."""

    def __init__(self, cues: list[_Cue]) -> None:
        self.cues = sorted(cues, key=lambda c: c.at)
        self.next = 0
        self.timed = True

    def take(self, start: Fraction, end: Fraction) -> list[_Cue]:
        """The cues from `start` (on) to `end` (before), after those taken already."""
        cues, i = self.cues, self.next
        if not self.timed or i >= len(cues):
            return []
        while i < len(cues) and cues[i].at < start:  # (none: the spans follow each other from 0)
            i += 1
        j = i
        while j < len(cues) and cues[j].at < end:
            j += 1
        self.next = j
        return cues[i:j]

    def untimed(self, reader: _Reader) -> None:
        """No pace to place distoffsets by: each one left is a warning, once."""
        if not self.timed:
            return
        self.timed = False
        for c in self.cues:
            if id(c.el) not in reader._placed:
                reader._placed.add(id(c.el))
                reader.report.warn(c.el.line, c.el.col, f"<{c.el.tag}> distoffset needs a pace to be timed; ignored")


def _with_loose(step: Step, landing: list[tuple[Fraction, _Cue]], order: dict[int, int]) -> Step:
    """`step` with loose textevents that land in it: in its first 3 s they join its ``say`` (in file order),
    later ones are timed cues."""
    says = sorted((c for local, c in landing if local < SAY_WITHIN_S), key=lambda c: order[id(c)])
    timed = [(local, c.message) for local, c in landing if local >= SAY_WITHIN_S]
    say = " ".join(x for x in (step.say, *(c.message for c in says)) if x) or None
    return replace(step, say=say, cues=tuple(sorted((*step.cues, *timed))))


def _decimal(raw: str) -> Fraction | None:
    """A number as Zwift writes it (``600``, ``0.75449997``, ``1e2``), or None: at most MAX_NUMBER_DIGITS digits
    and an exponent of at most that, so ``1e999999999`` is refused before it costs anything (``Fraction`` would
    build the number)."""
    m = _DECIMAL.fullmatch(raw.strip())
    if m is None or len(m.group("digits").replace(".", "")) > MAX_NUMBER_DIGITS:
        return None
    exponent = int(m.group("exp") or 0)
    if abs(exponent) > MAX_NUMBER_DIGITS:
        return None
    value = Fraction(m.group("digits")) * Fraction(10) ** exponent
    return -value if m.group("sign") == "-" else value


_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<digits>\d+(?:\.\d*)?|\.\d+)(?:[eE](?P<exp>[+-]?\d{1,4}))?")


def _flatten(block: list[Item]) -> list[Step]:
    out: list[Step] = []
    for item in block:
        if isinstance(item, Repeat):
            inner = _flatten(list(item.steps))
            for _ in range(item.count):
                out.extend(inner)
        else:
            out.append(item)
    return out


def _power_pair(reader: _Reader, el: _El, which: str) -> tuple[Fraction | None, Fraction | None]:
    """IntervalsT's OnPower / OffPower, or PowerOnLow..PowerOnHigh (a range: its middle)."""
    single = reader._number(el, f"{which}Power")
    if single is not None:
        return single, None
    low, high = reader._number(el, f"Power{which}Low"), reader._number(el, f"Power{which}High")
    if low is not None and high is not None and low != high:
        reader.report.warn(
            el.line, el.col, f"<{el.tag}> {which.lower()} range {_pct(low)}-{_pct(high)}: using its middle"
        )
        return (low + high) / 2, None
    return low, None


def _pct(fraction: Fraction) -> str:
    return percent_text(fraction)


__all__ = ["PACE_REFERENCES", "load_zwo", "parse_xml", "parse_zwo"]
