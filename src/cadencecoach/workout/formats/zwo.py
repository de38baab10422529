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
  ``85% 5k``, or ``5k`` itself at 100% (see docs/FORMATS.md). A ramp (``Warmup``...) or a range (a
  ``SteadyState`` with ``PowerLow``/``PowerHigh`` and no ``Power``) is timed and spoken at its middle; a range
  is kept as the step's ``pace_range`` (slower, faster) too.
* ``Duration`` is seconds, or metres when the file says ``<durationType>distance</durationType>`` (or an
  element has ``durationType="distance"``). A ``0`` is an empty part: an ``IntervalsT`` with
  ``OffDuration="0"`` has no off part (and with ``Repeat="1"`` it is one plain step), an empty step is skipped.
* ``Slope``, ``OnSlope``, ``OffSlope`` are the treadmill's incline in percent: ``Step.incline``.
* ``Cadence`` is steps per minute (values below 120 are strides per minute, and are doubled).
* ``textevent``s are spoken: in the first 3 s of a step they join its ``say``; later ones are timed cues.
  Zwift writes a two-line message as two textevents at the same offset: they are one message.
* No ``<sportType>`` is a bike workout, as in Zwift, unless its durations are distances; a bike workout's
  ``Power`` (fractions of FTP) is spoken as effort text. A file whose only element is ``<RestDay>`` is refused:
  there is nothing to run.
* Bytes that are not UTF-8 in a file that declares no other encoding are read as Windows-1252 (a warning).

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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import cast

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
from cadencecoach.workout.model import INCLINE_RANGE, KINDS, Repeat, Step
from cadencecoach.workout.paces import (
    LoadOptions,
    PaceBook,
    check_pace,
    decimal_text,
    importer_book,
    literal_pace,
    percent_text,
    round_percent,
)
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
IGNORED_ELEMENTS = {"gameplayevent"}
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
METADATA_ELEMENTS = {
    "uniqueid",
    "legacyidhash",
    "authoricon",
    "author_alias",
    "activitysavename",
    "categoryindex",
    "entid",
    "overridehash",
    "painindex",
    "showcp20",
    "skippable",
    "locked",
    "test_details",
    "visibleaftertime",
    "visibleoutsideplan",
    "workoutlength",
    "workoutplan",
}
"""Zwift's own bookkeeping in a workout file's head (ids, icons, plan and menu placement, difficulty): nothing a
runner's coach plays, so no warning."""

_RAMP_ATTRIBUTES = {"duration", "power", "powerlow", "powerhigh", "pace", "cadence", "cadencelow", "cadencehigh"}
_INTERVAL_ATTRIBUTES = {
    "repeat",
    "onduration",
    "offduration",
    "onpower",
    "offpower",
    "poweronlow",
    "poweronhigh",
    "powerofflow",
    "poweroffhigh",
    "pace",
    "cadence",
    "cadencelow",
    "cadencehigh",
    "cadenceresting",
    "onslope",
    "offslope",
    "slope",
}
_FREE_ATTRIBUTES = {"duration", "pace", "cadence", "cadencelow", "cadencehigh"}
KNOWN_ATTRIBUTES = {
    "warmup": _RAMP_ATTRIBUTES | {"slope"},
    "cooldown": _RAMP_ATTRIBUTES | {"slope"},
    "ramp": _RAMP_ATTRIBUTES | {"slope"},
    "steadystate": _RAMP_ATTRIBUTES | {"slope"},
    "intervalst": _INTERVAL_ATTRIBUTES,
    "freeride": _FREE_ATTRIBUTES | {"slope"},
    "maxeffort": _FREE_ATTRIBUTES | {"slope"},
}
"""The attributes each step element maps (``durationType`` too, on all); any other is a warning unless quiet."""

QUIET_ATTRIBUTES = {
    "quantize",
    "flatroad",
    "show_avg",
    "units",
    "overunder",
    "neverfails",
    "textscale",
    "y",
    "x",
    "font_size",
    "ftptest",
    "ramptest",
    "forced_performance_test",
    "slop",
    "text",
    "failthresholdduration",
    "replacement_verb",
    "locked",
}
"""Display hints and Zwift's test mechanics: no meaning for a runner's coach, ignored without a warning. (``Zone``
is quiet on an element whose ``Power`` gives the target; alone it is a warning: its target would be lost.)"""


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
    return _expat_tree(data, display)


_DECLARED = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
_UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


def as_utf8(data: bytes, display: str) -> tuple[bytes, tuple[int, int, str] | None]:
    """`data` as UTF-8 for expat, and the warning (line, column, message) when it was read as Windows-1252.

    Bytes that are valid UTF-8, or a file that declares an encoding other than UTF-8 (``ISO-8859-1``, UTF-16...),
    are expat's business, unchanged. Bytes that are not UTF-8 in a file that declares no encoding, or declares
    UTF-8 falsely, are read as Windows-1252 (what Windows editors and older Zwift tools write: ``\x91attacks\x92``),
    with one warning at the first byte that is not UTF-8. A byte that Windows-1252 does not assign either (0x81,
    0x8D, 0x8F, 0x90, 0x9D) is a problem at its place: the file is in no encoding cadencecoach can tell.

    Positions are in characters, as expat counts them, so the element positions do not move."""
    if data[:2] in _UTF16:
        return data, None
    try:
        data.decode("utf-8")
        return data, None
    except UnicodeDecodeError as exc:
        first = exc.start
    declared = _DECLARED.match(data)
    name = declared.group(1).decode("ascii") if declared else None
    if name is not None and name.lower().replace("-", "").replace("_", "") != "utf8":
        return data, None
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    skip = len(data) - len(body)
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError as exc:
        line, col = _line_col(body[: exc.start].decode("cp1252"))
        byte = body[exc.start]
        raise WorkoutError(
            [
                Problem(
                    display,
                    line,
                    col,
                    f"byte 0x{byte:02X} at {line}:{col} is neither UTF-8 nor Windows-1252: the file is in an encoding "
                    "cadencecoach cannot tell; save it as UTF-8",
                )
            ]
        ) from None
    line, col = _line_col(body[: first - skip].decode("utf-8"))
    shown_char = body[first - skip : first - skip + 1].decode("cp1252")
    said = "declares UTF-8 but is not UTF-8" if name is not None else "not UTF-8"
    message = f"{said}: read as Windows-1252 ({shown_char} at {line}:{col}); save it as UTF-8 to be sure"
    return text.encode("utf-8"), (line, col, message)


def _line_col(before: str) -> tuple[int, int]:
    """The line and column (from 1, in characters; CR LF and a lone CR end a line, as in XML) after `before`."""
    lines = before.replace("\r\n", "\n").replace("\r", "\n")
    return lines.count("\n") + 1, len(lines) - (lines.rfind("\n") + 1) + 1


_XML_CHUNK = 1024 * 1024
XML_MAX_DEPTH = 64
"""Elements nested deeper than this are refused: a workout or an activity is a few levels deep (TCX about 9), and
expat keeps every open element (about 130 bytes each), so depth is memory: 32 MB of ``<a>`` would be 1.4 GB."""
"""Bytes handed to expat at a time by :func:`expat_parse` (1 MiB: what pyexpat hands it of a larger buffer)."""


class _Refused(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        self.line, self.col, self.message = line, col, message


def expat_parse(
    data: bytes, display: str, setup: Callable[[expat.XMLParserType], object], *, chunk: int = _XML_CHUNK
) -> None:
    """Parse `data` with the project's hardened XML reader, `chunk` bytes at a time: expat, refusing a DTD
    (``<!DOCTYPE ...>``), so no entity is declared or expanded and none is fetched.

    `setup(parser)` sets the parser's element and text handlers (``StartElementHandler``, ``EndElementHandler``,
    ``CharacterDataHandler``: text may come in pieces); a handler reads its place as ``parser.CurrentLineNumber``
    and ``parser.CurrentColumnNumber + 1``. :func:`parse_xml`'s tree and the activity readers' streams are read
    with it.

    Raises
    ------
    WorkoutError
        A DTD or an entity, malformed XML, or an encoding expat cannot use, with its place (``FILE:LINE:COL``).
        An exception raised by a handler stops the parse and goes through as it is.

    Examples
    --------
    >>> tags = []
    >>> expat_parse(b"<a><b/></a>", "x.xml", lambda p: setattr(p, "StartElementHandler", lambda t, _: tags.append(t)))
    >>> tags
    ['a', 'b']
    >>> try:
    ...     expat_parse(b"<a>" * 65, "x.xml", lambda p: None)
    ... except WorkoutError as exc:
    ...     print(exc.problems[0].message)
    elements nested more than 64 deep: not a workout file
    >>> try:
    ...     expat_parse(b"<a><b></a>", "x.xml", lambda p: None)
    ... except WorkoutError as exc:
    ...     print(exc.problems[0].line, exc.problems[0].col, exc.problems[0].message)
    1 9 malformed XML: mismatched tag
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True

    def here() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def doctype(*_args: object) -> None:
        raise _Refused(*here(), "a DTD (<!DOCTYPE ...>) is not allowed in a workout file")

    def entity(*_args: object) -> None:
        raise _Refused(*here(), "entity declarations are not allowed in a workout file")

    def external(*_args: object) -> int:
        raise _Refused(*here(), "external entities are not allowed in a workout file")

    setup(parser)
    start = cast("Callable[[str, dict[str, str]], object] | None", parser.StartElementHandler)
    end = cast("Callable[[str], object] | None", parser.EndElementHandler)
    depth = 0

    def opened(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > XML_MAX_DEPTH:
            raise _Refused(*here(), f"elements nested more than {XML_MAX_DEPTH} deep: not a workout file")
        if start is not None:
            start(tag, attrs)

    def closed(tag: str) -> None:
        nonlocal depth
        depth -= 1
        if end is not None:
            end(tag)

    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    view, at = memoryview(data), 0
    try:
        while len(view) - at > chunk:  # (as pyexpat's Parse(data, True) feeds expat: the same places and messages)
            parser.Parse(view[at : at + chunk], False)
            at += chunk
        parser.Parse(view[at:], True)
    except _Refused as exc:
        raise WorkoutError([Problem(display, exc.line, exc.col, exc.message)]) from None
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise WorkoutError(
            [Problem(display, exc.lineno or 1, (exc.offset or 0) + 1, f"malformed XML: {message}")]
        ) from None
    except (LookupError, ValueError) as exc:  # the declaration names an encoding expat cannot use (Shift_JIS...)
        declared = _DECLARED.match(data)
        if declared is None:
            raise
        name = declared.group(1).decode("ascii")
        reason = "a multi-byte encoding" if "multi-byte" in str(exc) else "not a text encoding cadencecoach knows"
        raise WorkoutError(
            [Problem(display, 1, 1, f"the file declares encoding '{clip(name)}', {reason}: save it as UTF-8")]
        ) from None
    finally:  # (the handlers refer to the parser: no cycle left for the garbage collector)
        for handler in _HANDLERS:
            setattr(parser, handler, None)


_HANDLERS = (
    "StartElementHandler",
    "EndElementHandler",
    "CharacterDataHandler",
    "StartDoctypeDeclHandler",
    "EntityDeclHandler",
    "ExternalEntityRefHandler",
)


def _expat_tree(data: bytes, display: str) -> _El:
    """:func:`parse_xml` without the size check."""
    root: list[_El] = []
    stack: list[_El] = []
    texts: dict[int, list[str]] = {}  # an element's text in pieces, joined at its end (not += : quadratic)

    def setup(parser: expat.XMLParserType) -> None:
        def start(tag: str, attrs: dict[str, str]) -> None:
            el = _El(tag, dict(attrs), parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
            if stack:
                stack[-1].children.append(el)
            else:
                root.append(el)
            stack.append(el)

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = chars

    def end(tag: str) -> None:
        el = stack.pop()
        pieces = texts.pop(id(el), None)
        if pieces:
            el.text = "".join(pieces)

    def chars(text: str) -> None:
        if stack:
            texts.setdefault(id(stack[-1]), []).append(text)

    expat_parse(data, display, setup)
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
    check_size(raw, display)
    raw, read_as = as_utf8(raw, display)
    report = Report(display)
    if read_as is not None:
        report.warn(*read_as)
    try:
        root = _expat_tree(raw, display)
    except WorkoutError as exc:  # the encoding's warning goes with the XML's problem: it may be why
        raise WorkoutError(exc.problems, warnings=report.warnings) from None
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
    pace_range: tuple[Pace, Pace] | None = None  # (slower, faster): a ramp's or a range's ends


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
        workout = head.get("workout")
        if workout is None:
            report.error(root.line, root.col, "no <workout> element: the file has no steps")
            report.check()
            raise AssertionError  # unreachable: check() raised
        self._rest_day(workout)
        name = (head["name"].text.strip() if "name" in head else "") or fallback_name
        notes = head["description"].text.strip() if "description" in head else None
        kind = head["durationtype"].text.strip().lower() if "durationtype" in head else ""
        if (root.get("durationType") or "").lower() == "distance" or kind == "distance":
            self.distance = True
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
        elif not sport and self.distance:
            report.warn(root.line, root.col, "no <sportType>: read as a run workout (its durations are distances)")
        elif not sport:  # Zwift lists a file without one as a cycling workout
            report.warn(
                root.line,
                root.col,
                "no <sportType>: a bike workout, as Zwift reads it; its Power targets (fractions of FTP) are spoken "
                "as effort text (add <sportType>run</sportType> if it is a run)",
            )
            self.run = False
        for c in root.children:
            if c.name not in HEAD_ELEMENTS and c.name not in METADATA_ELEMENTS:
                report.warn(c.line, c.col, f"<{c.tag}> is not used by cadencecoach; ignored")
        spoken = [c for el in workout.children for c in (el, *el.children) if c.name in TEXT_ELEMENTS]
        if len(spoken) > MAX_CUES:  # each textevent is spoken once at most: refused before anything is built
            extra = spoken[MAX_CUES]
            report.error(
                extra.line, extra.col, f"more than {MAX_CUES} textevents; the limit of spoken cues is {MAX_CUES}"
            )
            report.check()
        if self.run and not self.distance and "durationtype" not in head:
            by_distance = next((c for c in spoken if (_decimal(c.get("distoffset") or "") or 0) > 0), None)
            if by_distance is not None:
                report.warn(
                    by_distance.line,
                    by_distance.col,
                    "no <durationType>: the durations are read as seconds, as Zwift does, but the textevents are "
                    "placed by distance (distoffset, metres): if the durations are metres, add "
                    "<durationType>distance</durationType> to the file",
                )
            elif "description" in head and _DISTANCES.search(head["description"].text):
                el = head["description"]
                found = _DISTANCES.search(el.text)
                assert found is not None
                report.warn(
                    el.line,
                    el.col,
                    f"no <durationType>: the durations are read as seconds, as Zwift does, but the description "
                    f"speaks of distances ('{clip(found.group().strip())}'): if the durations are metres, add "
                    "<durationType>distance</durationType> to the file",
                )
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
            elif el.name == "restday":
                report.warn(el.line, el.col, f"<{el.tag}> marks a rest day, but the file has steps: they are read")
            else:
                report.warn(el.line, el.col, f"<{el.tag}> is not a Zwift workout step cadencecoach knows; ignored")
        if loose:
            blocks = self._place_loose(blocks, loose)
        items = tuple(item for block in blocks for item in block)
        return ImportResult(build_workout(report, name, items, self.book, notes=notes), report.warnings)

    def _rest_day(self, workout: _El) -> None:
        """A workout of a ``<RestDay>`` and no step is refused: there is nothing to run (exit 2), and saying so
        beats "no steps"."""
        rest = next((c for c in workout.children if c.name == "restday"), None)
        if rest is None or any(c.name in STEP_ELEMENTS for c in workout.children):
            return
        self.report.error(
            rest.line,
            rest.col,
            f"<{rest.tag}>: this file is a rest day, with no steps: nothing to run today (a run workout has "
            "Warmup, SteadyState, IntervalsT... elements)",
        )
        self.report.check()

    # ------------------------------------------------------------------------------------- numbers

    def _number(self, el: _El, attr: str, *, required: bool = False) -> Fraction | None:
        raw = el.get(attr)
        if raw is None:
            if required:
                self.report.error(el.line, el.col, f'<{el.tag}> needs {attr}="..."')
            return None
        value = _decimal(raw)
        if value is None:
            self.report.error(el.line, el.col, f'<{el.tag}> {attr}="{clip(raw)}" is not a number')
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

    def _incline(self, el: _El, *attrs: str) -> Fraction | None:
        """The first of `attrs` that `el` has (``Slope``, ``OnSlope``...): a treadmill incline in percent, rounded
        to 0.1 (Zwift writes 4.0000001), within INCLINE_RANGE; None when none is given or it is a problem."""
        attr = next((a for a in attrs if el.get(a) is not None), None)
        if attr is None:
            return None
        raw = el.get(attr) or ""
        value = _decimal(raw)
        if value is None:
            self.report.error(el.line, el.col, f'<{el.tag}> {attr}="{clip(raw)}" is not a number')
            return None
        low, high = INCLINE_RANGE
        if not low <= value <= high:
            self.report.error(
                el.line,
                el.col,
                f'<{el.tag}> {attr}="{clip(raw)}" is a {decimal_text(value)}% incline, outside {decimal_text(low)}% '
                f"to {decimal_text(high)}% (a treadmill's or a hill's steepest)",
            )
            return None
        return Fraction(round(value * 10), 10)

    def _target(
        self, el: _El, low: Fraction | None, high: Fraction | None, *, shape: str = "ramp", part: str = ""
    ) -> _Target:
        """The pace for Power (or PowerLow..PowerHigh) of `el`'s reference. Two ends are one pace, the middle:
        `shape` ``ramp`` (a Warmup going from one to the other) keeps only that; ``range`` (a SteadyState anywhere
        between) keeps the ends too, as the step's pace range. `part` (``on``, ``off``) names an IntervalsT's half
        in the warning."""
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
        fraction = (low + high) / 2
        if fraction <= 0:
            return _Target()
        try:
            name, pace = self.book.relative(ref, fraction)
        except ValueError as exc:
            self.report.error(el.line, el.col, f"<{el.tag}>: {exc}")
            return _Target()
        level = fraction * TYPICAL_OF_THRESHOLD[ref]
        ends = self._pace_range(ref, low, high) if low != high and pace is not None and shape == "range" else None
        if low != high:
            what = f"<{el.tag}> {part + ' part ' if part else ''}"
            if shape == "ramp":
                what += f"ramps from {_pct(low)} to {_pct(high)} of {ref} pace"
            else:
                what += f"asks for {_pct(min(low, high))} to {_pct(max(low, high))} of {ref} pace (a range)"
            kept = ""
            if shape == "range":
                kept = f" ({name})"
                if ends:
                    kept += f", and the range as the step's pace range ({ends[0].text} to {ends[1].text})"
            self.report.warn(el.line, el.col, f"{what}: cadencecoach keeps one pace per step, its middle{kept}")
        if pace is None:
            effort = f"{name} pace"
            if low != high and shape == "range":
                effort = f"{_pct(min(low, high))} to {_pct(max(low, high))} {ref} pace"
            return _Target(name=name, fraction_of_t=level, effort=effort)
        return _Target(pace=pace, name=name, fraction_of_t=level, pace_range=ends)

    def _pace_range(self, ref: str, low: Fraction, high: Fraction) -> tuple[Pace, Pace] | None:
        """(slower, faster): the paces at `low` and `high` of `ref`'s speed, or None when an end is no
        runner's pace (a ramp from 5% of threshold)."""
        base = self.book.reference(ref)
        slow, fast = round_percent(min(low, high)), round_percent(max(low, high))
        if base is None or slow <= 0:
            return None
        try:
            return check_pace(literal_pace(base / slow)), check_pace(literal_pace(base / fast))
        except ValueError:
            return None

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
        length = self._number(el, "Duration", required=True)
        if length == 0:
            self._empty(el, 'Duration="0"', cues)
            return []
        kind = {"warmup": "warmup", "cooldown": "cooldown"}.get(name, "run")
        if name in ("warmup", "cooldown", "ramp"):
            low, high = self._number(el, "PowerLow"), self._number(el, "PowerHigh")
            if low is None and high is None:
                low = self._number(el, "Power")
            target = self._target(el, low if low is not None else high, high, shape="ramp")
        elif name == "steadystate":
            power = self._number(el, "Power")
            if power is not None:
                target = self._target(el, power, None)
            else:  # PowerLow..PowerHigh: a range (Sufferfest, TrainerRoad exports)
                low, high = self._number(el, "PowerLow"), self._number(el, "PowerHigh")
                target = self._target(el, low if low is not None else high, high, shape="range")
        else:  # FreeRide, MaxEffort: no pace target
            target = _Target(effort="max effort" if name == "maxeffort" else None)
        if kind == "run" and target.fraction_of_t is not None and target.fraction_of_t < Fraction(80, 100):
            kind = "recover"
        cadence = self._cadence_ramp(el)
        incline = self._incline(el, "Slope")
        step = self._step(
            el, kind, KINDS[kind], length, distance, target, cadence, cues, (Fraction(0), Fraction(0)), incline
        )
        if step is not None:
            self._unplaced(cues)
        return [step] if step is not None else []

    def _empty(self, el: _El, what: str, cues: list[_Cue]) -> None:
        """`el` has no length (`what`: ``Duration="0"``): nothing to play; its textevents go with it."""
        lost = [c for c in cues if id(c.el) not in self._placed]
        for c in lost:
            self._placed.add(id(c.el))
        said = f" (and its {len(lost)} textevent{'s' if len(lost) != 1 else ''})" if lost else ""
        self.report.warn(el.line, el.col, f"<{el.tag}> {what}: an empty step, skipped{said}")

    def _intervals(self, el: _El, distance: bool, cues: list[_Cue]) -> list[Item]:
        """An IntervalsT: a Repeat of its on and off steps. A part of length 0 does not exist (Auuki writes one
        plain step as ``Repeat="1" OffDuration="0"``), and ``Repeat="1"`` is its steps, no Repeat of one."""
        count = self._number(el, "Repeat", required=True)
        on_len = self._number(el, "OnDuration", required=True)
        off_len = self._number(el, "OffDuration", required=True)
        if count is not None and (count.denominator != 1 or count < 1):
            self.report.error(
                el.line, el.col, f'<{el.tag}> Repeat="{clip(el.get("Repeat") or "")}" must be a whole number >= 1'
            )
            count = None
        on_t = self._target(el, *_power_pair(self, el, "On"), shape="range", part="on")
        off_t = self._target(el, *_power_pair(self, el, "Off"), shape="range", part="off")
        on_cad = self._cadence(el, "Cadence") if el.get("Cadence") is not None else None
        if on_cad is None and el.get("CadenceLow") is not None and el.get("CadenceHigh") is not None:
            on_cad = self._cadence_ramp(el)
        off_cad = self._cadence(el, "CadenceResting") if el.get("CadenceResting") is not None else None
        on_incline = self._incline(el, "OnSlope", "Slope")
        off_incline = self._incline(el, "OffSlope", "Slope")
        if count is None or on_len is None or off_len is None:
            return []
        if on_len == 0 and off_len == 0:
            self._empty(el, 'OnDuration="0" and OffDuration="0"', cues)
            return []
        n = int(count)
        zero = (Fraction(0), Fraction(0))
        halves: list[tuple[Step, _Target, Fraction]] = []  # each part of a repetition: its step, target, length
        for length, kind, target, cadence, incline in (
            (on_len, "run", on_t, on_cad, on_incline),
            (off_len, "recover", off_t, off_cad, off_incline),
        ):
            if length == 0:
                continue
            step = self._step(el, kind, KINDS[kind], length, distance, target, cadence, [], zero, incline)
            if step is None:
                return []
            halves.append((step, target, length))
        parts = tuple(step for step, _, _ in halves)
        if not cues:
            return list(parts) if n == 1 else [Repeat(n, parts, el.line, el.col)]
        # textevents are timed from the block's start and show once: unroll, so each lands in its repetition;
        # only once the totals say the unrolled block fits the limits (a Repeat="100000000" is refused here)
        if not check_totals(
            self.report,
            (el.line, el.col),
            self.duration + n * sum((p.duration for p in parts), Fraction(0)),
            self.steps + len(parts) * n,
        ):
            return []
        seconds = _Window([c for c in cues if c.unit == "s"])
        metres = _Window([c for c in cues if c.unit == "m"])
        spans = [
            length if distance else (step.duration / target.pace.s_per_m if target.pace is not None else None)
            for step, target, length in halves
        ]  # the metres each part covers (None: unknown, no pace)
        on = parts[0] if on_len > 0 else None
        out: list[Item] = []
        start_s, start_m = Fraction(0), Fraction(0)
        for k in range(1, n + 1):
            for (base, target, _), span_m in zip(halves, spans, strict=True):
                step = replace(base, label=f"Interval {k} of {n}") if base is on and n > 1 else base
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
        known = KNOWN_ATTRIBUTES[el.name] | {"durationtype"}
        lowered = {a.lower() for a in el.attrs}
        powered = bool(lowered & {"power", "powerlow", "powerhigh"})
        for attr in el.attrs:
            a = attr.lower()
            if a in known or a in QUIET_ATTRIBUTES or (a == "zone" and powered):
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
        incline: Fraction | None = None,
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
                hint = REFERENCE_HINT.format(ref=ref)
                self.report.warn(
                    el.line,
                    el.col,
                    f"{target.name} pace: no {ref} pace to map it on ({hint}); spoken as effort text",
                    key=f"no {ref} pace to map Zwift's percentages of it on ({hint}); spoken as effort text",
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
            incline=incline,
            pace_range=target.pace_range,
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
                self._untimed(c)
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

    def _untimed(self, c: _Cue) -> None:
        """`c` is placed by distance in a step with no pace: it cannot be timed (a warning, grouped)."""
        self._placed.add(id(c.el))
        why = "a bike workout has no pace" if not self.run else "its step has no pace"
        self.report.warn(
            c.el.line,
            c.el.col,
            f"<{c.el.tag}> '{clip(c.message)}' at {decimal_text(c.at)} m (distoffset) cannot be timed: {why}; ignored",
            key=f"<{c.el.tag}> distoffset (metres) cannot be timed: {why}; ignored",
        )

    def _cues(self, elements: list[_El]) -> list[_Cue]:
        """The textevents of a block, read once: offset, message (at most MAX_CUE_CHARS), in file order; one
        that cannot be used is a warning (or, too long to speak, a problem) here, once. Textevents at the same
        offset are one message, their lines joined in file order: Zwift shows a two-line message as two
        textevents at one offset (the second with ``y="270"``, a line lower)."""
        read: list[_Cue] = []
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
            read.append(_Cue(c, at[0], at[1], message))
        lines: dict[tuple[str, Fraction], list[_Cue]] = {}
        for cue in read:
            lines.setdefault((cue.unit, cue.at), []).append(cue)
        out: list[_Cue] = []
        for same in lines.values():  # (in the order of each offset's first textevent)
            first = same[0]
            if len(same) == 1:
                out.append(first)
                continue
            message = " ".join(c.message for c in same)
            problem = text_problem(message, f"<{first.el.tag}> message (its {len(same)} lines at one offset, joined)")
            if problem:
                self.report.error(first.el.line, first.el.col, problem)
                self._placed.add(id(first.el))
                continue
            out.append(replace(first, message=message))
        return out

    def _offset(self, c: _El) -> tuple[str, Fraction] | None:
        """A textevent's offset from its block's start: ("s", seconds) or ("m", metres for distoffset). A
        distoffset of 0 is the block's start, as a timeoffset of 0 is: it needs no pace."""
        for attr, unit in (("timeoffset", "s"), ("distoffset", "m")):
            raw = c.get(attr)
            if raw is None:
                continue
            value = _decimal(raw)
            if value is not None and value >= 0:
                return ("s", value) if value == 0 else (unit, value)
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
                reader._untimed(c)


def _with_loose(step: Step, landing: list[tuple[Fraction, _Cue]], order: dict[int, int]) -> Step:
    """`step` with loose textevents that land in it: in its first 3 s they join its ``say`` (in file order),
    later ones are timed cues."""
    says = sorted((c for local, c in landing if local < SAY_WITHIN_S), key=lambda c: order[id(c)])
    timed = [(local, c.message) for local, c in landing if local >= SAY_WITHIN_S]
    say = " ".join(x for x in (step.say, *(c.message for c in says)) if x) or None
    return replace(step, say=say, cues=tuple(sorted((*step.cues, *timed))))


_DISTANCES = re.compile(r"\b\d+(?:\.\d+)?\s?(?:km|mi|miles?|metres|meters|m)\b", re.IGNORECASE)
"""A distance in a description ("1.00 km warming up"): a hint that a run's durations may be metres."""


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
    """IntervalsT's OnPower / OffPower, or PowerOnLow..PowerOnHigh (a range, for :meth:`_Reader._target`)."""
    single = reader._number(el, f"{which}Power")
    if single is not None:
        return single, None
    low, high = reader._number(el, f"Power{which}Low"), reader._number(el, f"Power{which}High")
    return (low, high) if low is not None else (high, None)


def _pct(fraction: Fraction) -> str:
    return percent_text(fraction)


__all__ = ["PACE_REFERENCES", "load_zwo", "parse_xml", "parse_zwo"]
