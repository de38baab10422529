"""intervals.icu workout text (``.txt``) -> :class:`~cadencecoach.workout.model.Workout`.

The format, as intervals.icu's workout builder reads it::

    Warmup
    - 15m ramp 60-80% Pace 85rpm

    Main Set 6x
    - 400mtr 3:50/km Pace 90rpm
    - Recover 90s Z1 Pace

    Cooldown
    - 10m Z2 Pace

* A line starting with ``-`` is a step; any other non-blank line is a section header. A header ending in ``Nx``
  (or a line that is just ``Nx``) repeats its steps N times, until the next header or blank line.
* Extents: ``10m`` (m is minutes), ``30s``, ``1h``, ``1m30``, ``1h2m30s``, ``5'``, ``30"``, ``1'30"``;
  distances ``400mtr``, ``2km``, ``1mi``.
* Targets: ``4:30/km Pace`` (also ``/mi``, ``/400m``, ``/100m``, ...), ranges ``4:30-4:50/km Pace``,
  ``80% Pace`` / ``78-82% Pace`` (of threshold pace), ``Z2 Pace`` (intervals.icu's default pace zones),
  ``ramp 60-80% Pace``; heart rate (``70% HR``, ``95% LTHR``, ``Z2 HR``) and power (``75%``, ``220w``, ``Z2``)
  have no pace equivalent: they become spoken effort text, with a warning.
* ``90rpm`` is running cadence in strides per minute (one foot): 180 steps per minute.
* Text before the extent is the step's cue: a short one becomes the label (``- Recover 90s Z1 Pace``), a long
  one is spoken after the announcement. ``First 33^Second <!> 10m ...`` adds a cue 33 s into the step.
* ``press lap``: an open step, ended by the lap key (see :attr:`cadencecoach.workout.model.Step.open`).

Bounded work: every line is read in time linear in its length (no regular expression that backtracks over a
long line), a number of more than :data:`~cadencecoach.workout.source.MAX_NUMBER_DIGITS` digits is refused
before it is read, repeats are never expanded (their totals are multiplied, :func:`._common.build_workout`), and
a pace is held to the pace book's bounds: ``0% Pace`` or ``1000000% Pace`` is an error at its column, as are
percentages of heart rate or power outside :data:`EFFORT_PERCENT`.

The mapping rules are in docs/FORMATS.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from cadencecoach.workout.formats._common import (
    REFERENCE_HINT,
    ImportResult,
    Item,
    build_workout,
    distance_extent,
    kind_from_text,
    pretty_name,
    recover_flags,
    time_extent,
)
from cadencecoach.workout.model import KINDS, HeartRate, Repeat, Step
from cadencecoach.workout.paces import (
    LoadOptions,
    PaceBook,
    check_pace,
    decimal_text,
    importer_book,
    literal_pace,
)
from cadencecoach.workout.source import MAX_NUMBER_DIGITS, Report, read_text
from cadencecoach.workout.source import shown as clip
from cadencecoach.workout.units import METERS_PER_MILE, Pace, parse_pace

# intervals.icu's default running pace zones, as % of threshold speed (Friel's): zone -> (low, high, used)
PACE_ZONES: dict[int, tuple[Fraction, Fraction, Fraction]] = {
    1: (Fraction(0), Fraction("77.5"), Fraction("72.5")),
    2: (Fraction("77.5"), Fraction("87.7"), Fraction("82.6")),
    3: (Fraction("87.7"), Fraction("94.3"), Fraction(91)),
    4: (Fraction("94.3"), Fraction(100), Fraction("97.2")),
    5: (Fraction(100), Fraction("103.4"), Fraction("101.7")),
    6: (Fraction("103.4"), Fraction("111.5"), Fraction("107.5")),
    7: (Fraction("111.5"), Fraction(999), Fraction(115)),
}
"""The pace a ``Zn Pace`` target maps to is the `used` percentage of threshold speed (the middle of the zone;
75% below Z1's top and 115% for the open Z7). ``--pace Z2=5:30/km`` sets a zone's pace directly."""

NUM = r"\d+(?:\.\d+)?"
_TIME_HMS = re.compile(rf"^(?:(?P<h>{NUM})h)?(?:(?P<m>{NUM})m)?(?:(?P<s>{NUM})s)?(?P<tail>\d+)?$", re.I)
_TIME_QUOTE = re.compile(rf"^(?:(?P<m>{NUM})')?(?:(?P<s>{NUM})(?:\"|'')?)?$")
_DIST = re.compile(rf"^(?P<n>{NUM})(?P<u>mtr|km|mi)$", re.I)
_PCT = re.compile(rf"^(?P<a>{NUM})%?(?:-(?P<b>{NUM}))?%$")
_ZONE = re.compile(r"^Z(?P<a>\d)(?:-Z(?P<b>\d))?$", re.I)
_CZONE = re.compile(r"^CZ\d(?:-CZ\d)?$", re.I)
_WATTS = re.compile(rf"^(?P<a>{NUM})w?(?:-(?P<b>{NUM}))?w$", re.I)
_WATT_ONE = re.compile(rf"^{NUM}w$", re.I)
_RPM = re.compile(rf"^(?P<a>{NUM})(?:-(?P<b>{NUM}))?rpm$", re.I)
_CLOCK = r"\d+:[0-5]\d(?:\.\d+)?"
_PACE_UNIT = r"/(?:\d+)?(?:mtr|km|mi|m|y|yd)"
_PACE = re.compile(rf"^(?P<a>{_CLOCK})(?P<ua>{_PACE_UNIT})?(?:-(?P<b>{_CLOCK})(?P<ub>{_PACE_UNIT})?)?$", re.I)
_LONG_NUMBER = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1},}}")

YARD = Fraction(9144, 10000)
UNIT_M = {"mtr": Fraction(1), "m": Fraction(1), "km": Fraction(1000), "mi": METERS_PER_MILE, "y": YARD, "yd": YARD}
LABEL_MAX_CHARS = 24
LABEL_MAX_WORDS = 3  # a cue of up to 2 words (3 when it starts with a kind: "Jog back down") is the label

EFFORT_PERCENT: dict[str, tuple[Fraction, Fraction]] = {
    "hr": (Fraction(1), Fraction(150)),
    "lthr": (Fraction(1), Fraction(150)),
    "power": (Fraction(0), Fraction(1000)),
    "mmp": (Fraction(0), Fraction(1000)),
}
"""The percentages of heart rate (max, threshold) and of power (FTP, max mean power) a step may ask for;
real files go to 170% of FTP (a bike tabata) and Zwift step tests to 600%."""


@dataclass
class _Tok:
    text: str
    col: int  # 1-based


@dataclass
class _Draft:
    """A step as read, before its kind is settled (that needs the whole repeat block)."""

    line: int
    col: int
    cue: str = ""
    extent_col: int = 0
    seconds: Fraction | None = None
    meters: Fraction | None = None
    unit: str | None = None
    open: bool = False
    pace: Pace | None = None
    pace_name: str | None = None
    level: tuple[str, Fraction] | None = None
    cadence: tuple[Fraction, Fraction] | None = None
    efforts: list[str] = field(default_factory=list)
    cues: list[tuple[Fraction, str]] = field(default_factory=list)
    pace_missing: str | None = None  # a pace target that needs a reference nobody gave
    pace_missing_ref: str | None = None
    pace_range: tuple[Pace, Pace] | None = None  # an absolute range (slower, faster); `pace` is its middle
    heart_rate: HeartRate | None = None
    minutes_text: str | None = None  # `400m` read as 400 minutes (a likely mistake for metres): what to say


@dataclass
class _Section:
    name: str
    line: int
    col: int
    count: int | None  # repeat count, None for a plain section
    drafts: list[_Draft] = field(default_factory=list)


def load_icu(path: str | Path, options: LoadOptions | None = None, *, display: str | None = None) -> ImportResult:
    """Read an intervals.icu workout text file (:func:`parse_icu`); `display` names it in problems."""
    path = Path(path)
    shown = display or str(path)
    text = read_text(path, shown)
    return parse_icu(text, shown, options, name=pretty_name(path.stem))


def parse_icu(
    text: str, display: str = "<workout.txt>", options: LoadOptions | None = None, *, name: str | None = None
) -> ImportResult:
    """intervals.icu workout text to a Workout and the warnings for what was not mapped exactly."""
    report = Report(display)
    book = importer_book(options)
    sections: list[_Section] = []
    current: _Section | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            if current is not None and current.count is not None:
                current = None  # a blank line ends a repeat block
            continue
        indent = len(line) - len(line.lstrip())
        long_number = _LONG_NUMBER.search(line)
        if long_number:
            digits = clip(long_number.group())
            message = f"'{digits}' has more than {MAX_NUMBER_DIGITS} digits: no workout value"
            report.error(lineno, long_number.start() + 1, message)
            if not stripped.startswith("-"):
                current = None  # a header that cannot be read: its steps are not some other block's
            continue
        if stripped.startswith("-"):
            if current is None:
                current = _Section("", lineno, 1, None)
                sections.append(current)
            draft = _parse_step(report, book, stripped[1:], lineno, indent + 2)
            if draft is not None:
                current.drafts.append(draft)
            continue
        repeat = _repeat_header(stripped)
        if repeat:
            title, count, at = repeat
            if count < 1:
                report.error(lineno, indent + at + 1, f"a repeat needs at least 1 time (got {count}x)")
                count = 1
            current = _Section(title, lineno, indent + 1, count)
        else:
            current = _Section(stripped, lineno, indent + 1, None)
        sections.append(current)
    items = _build(report, book, sections)
    minutes = [d.minutes_text for sec in sections for d in sec.drafts if d.minutes_text]
    workout = build_workout(report, name or "Imported workout", items, book, why_long=minutes[0] if minutes else None)
    return ImportResult(workout, report.warnings)


def _repeat_header(text: str) -> tuple[str, int, int] | None:
    """``Main Set 6x`` -> ("Main Set", 6, offset of the count); None when `text` does not end in ``Nx``.

    Scanned from the end, in linear time (a pattern like ``.*?\\s*\\d+\\s*x$`` backtracks quadratically over a
    long line of spaces)."""
    if not text or text[-1] not in "xX":
        return None
    body = text[:-1].rstrip()
    start = len(body)
    while start > 0 and body[start - 1].isdecimal():
        start -= 1
    if start == len(body):
        return None
    return body[:start].strip(), int(body[start:]), start


# --------------------------------------------------------------------------------------------- steps


def _tokens(text: str, col0: int) -> list[_Tok]:
    return [_Tok(m.group(), col0 + m.start()) for m in re.finditer(r"\S+", text)]


def parse_time(token: str) -> Fraction | None:
    """``10m``, ``30s``, ``1h``, ``1m30``, ``1h2m30s``, ``1h30`` (= 1h30m), ``5'``, ``30"``, ``1'30"`` -> seconds."""
    t = token.strip()
    if not t:
        return None
    m = _TIME_HMS.match(t)
    if m and any(m.group(g) for g in ("h", "m", "s")):
        h, mi, s, tail = (Fraction(m.group(g)) if m.group(g) else None for g in ("h", "m", "s", "tail"))
        if tail is not None:
            if s is not None:
                return None
            if mi is not None:
                s = tail
            elif h is not None:
                mi = tail
        total = (h or 0) * 3600 + (mi or 0) * 60 + (s or 0)
        return Fraction(total)
    if "'" in t or '"' in t:
        m = _TIME_QUOTE.match(t)
        if m and (m.group("m") or m.group("s")):
            if m.group("m") is None and not t.endswith('"') and not t.endswith("''"):
                return None
            return Fraction(m.group("m") or 0) * 60 + Fraction(m.group("s") or 0)
    return None


def _parse_step(report: Report, book: PaceBook, body: str, line: int, col0: int) -> _Draft | None:
    draft = _Draft(line, col0)
    prompt_text = ""
    if "<!>" in body:
        cut = body.index("<!>")
        prompt_text, body = body[:cut], body[cut + 3 :]
        step_col0 = col0 + cut + 3
    else:
        step_col0 = col0
    toks = _tokens(body, step_col0)
    # `press lap` anywhere: an open step
    i = 0
    kept: list[_Tok] = []
    while i < len(toks):
        if toks[i].text.lower() == "press" and i + 1 < len(toks) and toks[i + 1].text.lower() == "lap":
            draft.open = True
            i += 2
            continue
        kept.append(toks[i])
        i += 1
    toks = kept
    found = next(((k, v) for k, t in enumerate(toks) if (v := _extent(t.text)) is not None), None)
    start = found[0] if found is not None else None
    if start is None:
        start = next((k for k, t in enumerate(toks) if _is_target(t.text)), len(toks))
        extent_tok = None
    else:
        extent_tok = toks[start]
    cue = " ".join(t.text for t in toks[:start])
    rest = toks[start + 1 :] if extent_tok is not None else toks[start:]
    if prompt_text:
        cue = " ".join(x for x in (_prompts(report, draft, prompt_text, line, col0), cue) if x)
    draft.cue = cue.strip()
    if extent_tok is not None:
        draft.extent_col = extent_tok.col
        assert found is not None
        kind, amount, unit = found[1]
        if amount <= 0:
            report.error(line, extent_tok.col, f"'{extent_tok.text}' is not a positive length")
            return None
        if kind == "time":
            draft.seconds = amount
            if extent_tok.text.lower().endswith("m") and amount >= 100 * 60:
                draft.minutes_text = (
                    f"'{extent_tok.text}' at {line}:{extent_tok.col} is {decimal_text(amount / 60)} minutes: in "
                    f"intervals.icu 'm' is minutes; write metres as 'mtr' ({extent_tok.text[:-1]}mtr)"
                )
                report.warn(
                    line,
                    extent_tok.col,
                    f"'{extent_tok.text}' is {decimal_text(amount / 60)} minutes (in intervals.icu 'm' is minutes; "
                    "metres are 'mtr')",
                )
        else:
            draft.meters, draft.unit = amount, unit
    elif not draft.open:
        at = toks[0].col if toks else col0
        report.error(
            line, at, "a step needs a duration ('10m', '90s', '1m30') or a distance ('400mtr', '2km'), or 'press lap'"
        )
        return None
    _targets(report, book, draft, rest, line)
    return draft


def _prompts(report: Report, draft: _Draft, text: str, line: int, col0: int) -> str:
    """``First prompt 33^Second prompt`` -> cue text "First prompt", timed cue (33 s, "Second prompt")."""
    parts = _prompt_marks(text)
    first = text[: parts[0][0]] if parts else text
    for k, (start, end, raw) in enumerate(parts):
        stop = parts[k + 1][0] if k + 1 < len(parts) else len(text)
        message = text[end:stop].strip()
        offset = Fraction(raw) if raw.isdecimal() else parse_time(raw)
        if offset is None:
            report.warn(line, col0 + start + 1, f"cannot read the prompt time '{clip(raw)}^'; prompt ignored")
            continue
        if message:
            draft.cues.append((offset, message))
    return first.strip()


def _prompt_marks(text: str) -> list[tuple[int, int, str]]:
    """The ``TIME^`` marks of a prompt text: (start, end, TIME) of each run of non-blanks up to its last ``^``
    (what the pattern ``(\\S+)\\^`` finds, in linear time: that pattern backtracks quadratically over a long
    word)."""
    marks: list[tuple[int, int, str]] = []
    for word in re.finditer(r"\S+", text):
        caret = word.group().rfind("^")
        if caret >= 1:
            marks.append((word.start(), word.start() + caret + 1, word.group()[:caret]))
    return marks


def _extent(text: str) -> tuple[str, Fraction, str] | None:
    m = _DIST.match(text)
    if m:
        unit = m.group("u").lower()
        return "distance", Fraction(m.group("n")) * UNIT_M[unit], {"mtr": "m"}.get(unit, unit)
    secs = parse_time(text)
    if secs is not None:
        return "time", secs, "s"
    return None


def _is_target(text: str) -> bool:
    t = text.lower()
    return (
        t in ("ramp", "freeride")
        or any(p.match(text) for p in (_PCT, _ZONE, _CZONE, _WATTS, _WATT_ONE, _RPM, _PACE))
        or t.startswith("rpe")
    )


_SUFFIX = {"pace": "pace", "hr": "hr", "lthr": "lthr", "mmp": "mmp", "power": "power", "ftp": "power", "w": "power"}


def _targets(report: Report, book: PaceBook, draft: _Draft, toks: list[_Tok], line: int) -> None:
    ramp = False
    i = 0
    while i < len(toks):
        tok = toks[i]
        t = tok.text
        low = t.lower()
        nxt = toks[i + 1].text.lower() if i + 1 < len(toks) else ""
        suffix = _SUFFIX.get(nxt)
        if low == "ramp":
            ramp = True
            i += 1
            continue
        if low == "freeride":
            draft.efforts.append("free run")
            i += 1
            continue
        m = _RPM.match(t)
        if m:
            _cadence(report, draft, m, tok, line)
            i += 1
            continue
        m = _PACE.match(t)
        if m:
            i += 2 if suffix == "pace" else 1
            _abs_pace(report, draft, m, tok, line, ramp)
            continue
        m = _PCT.match(t)
        if m:
            a = Fraction(m.group("a"))
            b = Fraction(m.group("b")) if m.group("b") else a
            i += 2 if suffix else 1
            if suffix == "mmp" and i < len(toks) and parse_time(toks[i].text) is not None:
                i += 1
            shown = f"{t} {toks[i - 1].text}" if suffix else t
            _percent(report, book, draft, a, b, suffix or "power", shown, tok, line, ramp)
            continue
        m = _ZONE.match(t)
        if m:
            i += 2 if suffix else 1
            _zone(report, book, draft, int(m.group("a")), int(m.group("b") or m.group("a")), suffix, tok, line)
            continue
        if _CZONE.match(t):
            i += 2 if suffix else 1
            draft.efforts.append(f"custom zone {t.upper()}")
            report.warn(line, tok.col, f"custom zone '{t}' has no pace equivalent; spoken as effort text")
            continue
        if _WATTS.match(t) or _WATT_ONE.match(t):
            # `315w`, `200-240w`, `315w - 330w`
            lo = t[:-1]
            if nxt == "-" and i + 2 < len(toks) and _WATT_ONE.match(toks[i + 2].text):
                hi = toks[i + 2].text[:-1]
                i += 3
                text = f"{lo} to {hi} watts"
            else:
                i += 1
                text = f"{lo.replace('-', ' to ')} watts"
            draft.efforts.append(text)
            report.warn(
                line,
                tok.col,
                f"power target '{text}' has no pace equivalent; spoken as effort text",
                key=_no_pace("power"),
            )
            continue
        report.warn(line, tok.col, f"'{t}' is not a target cadencecoach knows; ignored")
        i += 1


def _cadence(report: Report, draft: _Draft, m: re.Match[str], tok: _Tok, line: int) -> None:
    a = Fraction(m.group("a"))
    b = Fraction(m.group("b")) if m.group("b") else a
    if a != b:
        mid = (a + b) / 2
        report.warn(
            line,
            tok.col,
            f"cadence range {tok.text}: the click follows its middle, {decimal_text(mid)} rpm "
            f"= {decimal_text(mid * 2)} steps per minute",
        )
        a = b = mid
    spm = a * 2  # running cadence in intervals.icu is strides (one foot) per minute
    if not 60 <= spm <= 300:
        report.error(
            line,
            tok.col,
            f"cadence {tok.text} is {decimal_text(spm)} steps per minute (rpm are strides, doubled), outside 60-300",
        )
        return
    draft.cadence = (spm, spm)


def _abs_pace(report: Report, draft: _Draft, m: re.Match[str], tok: _Tok, line: int, ramp: bool) -> None:
    unit_b = m.group("ub")
    unit_a = m.group("ua") or unit_b
    unit_b = unit_b or unit_a
    values = []
    ends: list[Pace] = []
    for clock, unit in ((m.group("a"), unit_a), (m.group("b"), unit_b)):
        if clock is None:
            continue
        mins, secs = clock.split(":")
        seconds = int(mins) * 60 + Fraction(secs)
        if unit is None:
            report.warn(line, tok.col, f"pace '{tok.text}' has no unit; read as per km")
            per = Fraction(1000)
        else:
            mu = re.fullmatch(r"/(\d+)?(mtr|km|mi|m|y|yd)", unit, re.I)
            assert mu is not None
            per = Fraction(int(mu.group(1)) if mu.group(1) else 1) * UNIT_M[mu.group(2).lower()]
        if seconds <= 0 or per <= 0:
            report.error(line, tok.col, f"pace '{tok.text}' must be more than zero per more than zero")
            return
        values.append(seconds / per)
        ends.append(_exact_pace(f"{clock}{unit}" if unit else None, seconds / per))
    if len(values) == 2 and values[0] != values[1]:
        # the middle of the ends as kept (as our YAML reads `pace: 7:15-7:00/km` back): the exact ends when our
        # format can write them, else each rounded to 0.01 s/km first
        values = [e.s_per_m for e in ends]
    s_per_m = sum(values, Fraction(0)) / len(values)
    if len(values) == 2 and values[0] != values[1]:
        what = "ramp" if ramp else "pace range"
        report.warn(
            line,
            tok.col,
            f"{what} {tok.text}: cadencecoach speaks (and times a distance step at) its middle, {_km(s_per_m)}"
            + ("" if ramp else "; the range goes to FIT exports"),
            key=f"{what}s: cadencecoach speaks (and times a distance step at) the middle of each"
            + ("" if ramp else "; the range goes to FIT exports"),
        )
        if not ramp:
            slow, fast = sorted(ends, key=lambda e: -e.s_per_m)
            draft.pace_range = (slow, fast)
    pace = literal_pace(s_per_m)  # M:SS.ss/km (a range's middle, /100m, /100y: rounded to 0.01 s per km)
    try:
        check_pace(pace, f"pace '{tok.text}' ({pace.text})" if pace.text != tok.text else None)
    except ValueError as exc:
        report.error(line, tok.col, str(exc))
        return
    if len(ends) == 1:
        pace = ends[0]  # as written when our own format reads it exactly ("7:00/mi", "1:26/400m"), else the same
    draft.pace, draft.pace_name = pace, None
    draft.level = ("speed", 1 / pace.s_per_m)


def _exact_pace(text: str | None, s_per_m: Fraction) -> Pace:
    """The pace `text` as written when our format reads it back exactly (``7:00/mi``, ``1:26/400m``), else
    `s_per_m` rounded to 0.01 s/km (:func:`literal_pace`)."""
    if text is not None:
        try:
            exact = parse_pace(text.lower().replace("mtr", "m"))
            if exact.s_per_m == s_per_m:
                return exact
        except ValueError:
            pass
    return literal_pace(s_per_m)


def _km(s_per_m: Fraction) -> str:
    from cadencecoach.workout.units import format_pace_per_km

    return format_pace_per_km(float(s_per_m * 1000))


def _percent(
    report: Report,
    book: PaceBook,
    draft: _Draft,
    a: Fraction,
    b: Fraction,
    kind: str,
    shown: str,
    tok: _Tok,
    line: int,
    ramp: bool,
) -> None:
    mid = (a + b) / 2
    if kind == "pace":
        if a != b:
            what = "ramp" if ramp else "range"
            report.warn(
                line,
                tok.col,
                f"pace {what} {tok.text}: cadencecoach keeps one pace per step, its middle",
                key=f"pace {what}s relative to threshold: cadencecoach keeps one pace per step, the middle of each",
            )
        try:
            name, pace = book.relative("threshold", mid / 100)
        except ValueError as exc:
            report.error(line, tok.col, f"'{shown}': {exc}")
            return
        draft.level = ("fraction", mid / 100)
        _set_pace(report, draft, name, pace, "threshold", tok, line)
        return
    low, high = EFFORT_PERCENT.get(kind, EFFORT_PERCENT["power"])
    if not all(low <= x <= high for x in (a, b)):
        report.error(
            line, tok.col, f"'{shown}' is outside {decimal_text(low)}-{decimal_text(high)}%: no effort to ask for"
        )
        return
    words = {"hr": "of max heart rate", "lthr": "of threshold heart rate", "mmp": "of max mean power"}
    text = f"{_span(a, b)}% {words.get(kind, 'of FTP')}"
    draft.efforts.append(text)
    draft.level = draft.level or ("fraction", mid / 100)
    if kind in ("hr", "lthr") and all(30 <= x <= 120 for x in (a, b)):
        draft.heart_rate = HeartRate("%max" if kind == "hr" else "%lthr", min(a, b), max(a, b))
    report.warn(line, tok.col, f"'{shown}' has no pace equivalent; spoken as effort text '{text}'", key=_no_pace(kind))


def _no_pace(kind: str | None, hint: str = "") -> str:
    """The grouped warning for targets of `kind` (hr, lthr, power, mmp, None: a bare zone) in a file."""
    if kind in ("hr", "lthr"):
        return "heart-rate targets have no pace equivalent: spoken as effort text (and kept as heart-rate targets)"
    return f"power targets have no pace equivalent{hint}: spoken as effort text"


def _span(a: Fraction, b: Fraction) -> str:
    return decimal_text(a) if a == b else f"{decimal_text(a)} to {decimal_text(b)}"


def _zone(
    report: Report,
    book: PaceBook,
    draft: _Draft,
    a: int,
    b: int,
    kind: str | None,
    tok: _Tok,
    line: int,
) -> None:
    if a not in PACE_ZONES or b not in PACE_ZONES:
        report.warn(line, tok.col, f"zone '{tok.text}' is not one of Z1-Z7; ignored")
        return
    used = (PACE_ZONES[a][2] + PACE_ZONES[b][2]) / 2
    if kind == "pace":
        name = f"Z{a}" if a == b else f"Z{a}-Z{b}"
        try:
            pace = book.named(name, "threshold", used / 100)
        except ValueError as exc:
            report.error(line, tok.col, str(exc))
            return
        draft.level = ("fraction", used / 100)
        _set_pace(report, draft, name, pace, "threshold", tok, line)
        return
    what = "heart rate" if kind in ("hr", "lthr") else "power"
    zone = f"zone {a}" if a == b else f"zones {a} to {b}"
    text = f"{what} {zone}"
    draft.efforts.append(text)
    draft.level = draft.level or ("fraction", used / 100)
    if kind == "hr" and a <= b <= 5:
        draft.heart_rate = HeartRate("zone", Fraction(a), Fraction(b))
    shown = tok.text + (f" {kind.upper()}" if kind else "")
    hint = " (a bare zone is a power zone in intervals.icu; pace zones are 'Z2 Pace')" if kind is None else ""
    report.warn(
        line,
        tok.col,
        f"'{shown}' has no pace equivalent{hint}; spoken as effort text '{text}'",
        key=_no_pace(kind, hint),
    )


def _set_pace(report: Report, draft: _Draft, name: str, pace: Pace | None, ref: str, tok: _Tok, line: int) -> None:
    if pace is None:
        draft.pace_missing = f"'{tok.text} Pace' is relative to your {ref} pace, which nothing gives: " + (
            REFERENCE_HINT.format(ref=ref)
        )
        draft.pace_missing_ref = ref
        draft.efforts.append(f"{name} pace")
        return
    draft.pace, draft.pace_name = pace, name


# -------------------------------------------------------------------------------------------- build


def _build(report: Report, book: PaceBook, sections: list[_Section]) -> tuple[Item, ...]:
    items: list[Item] = []
    for sec in sections:
        if not sec.drafts:
            if sec.count is not None:
                report.error(sec.line, sec.col, f"'{sec.name or ''} {sec.count}x' repeats no steps".replace("' ", "'"))
            continue
        section_kind = kind_from_text(sec.name) if sec.name else None
        flags = recover_flags([d.level for d in sec.drafts]) if sec.count is not None else [False] * len(sec.drafts)
        steps: list[Step] = []
        for draft, recover in zip(sec.drafts, flags, strict=True):
            step = _step(report, draft, sec, section_kind, recover)
            if step is not None:
                steps.append(step)
        if len(steps) != len(sec.drafts):
            continue
        if sec.count is not None:
            items.append(Repeat(sec.count, tuple(steps), sec.line, sec.col))
        else:
            items.extend(steps)
    return tuple(items)


def _step(report: Report, d: _Draft, sec: _Section, section_kind: str | None, recover: bool) -> Step | None:
    if re.fullmatch(r"\d+\s*[xX]", d.cue):  # `- 6x 30s 130%`: intervals.icu repeats sections, not steps
        report.warn(
            d.line,
            d.col,
            f"'{d.cue}' in a step is not a repeat: intervals.icu repeats a section (a line '{d.cue}' above its "
            "steps); read as one step",
            key="a count like '6x' in a step is not a repeat: intervals.icu repeats a section (a line '6x' above "
            "its steps); read as one step each",
        )
        d.cue = ""
    cue_kind = kind_from_text(d.cue) if d.cue else None
    if cue_kind:
        kind = cue_kind
    elif section_kind in ("warmup", "cooldown"):
        kind = section_kind
    elif recover:
        kind = "recover"
    else:
        kind = "run"
    label, say = KINDS[kind], None
    words = len(d.cue.split())
    short = words <= LABEL_MAX_WORDS - 1 or (cue_kind is not None and words <= LABEL_MAX_WORDS)
    if d.cue and short and len(d.cue) <= LABEL_MAX_CHARS and not re.search(r"[.!?]", d.cue):
        label = d.cue[0].upper() + d.cue[1:]
    elif d.cue:
        say = d.cue
    if (
        label == KINDS[kind]
        and kind == "run"
        and sec.name
        and section_kind in (None, "run")
        and not re.fullmatch(r"(?i)main(\s*set)?", sec.name)
    ):
        short = len(sec.name) <= LABEL_MAX_CHARS and len(sec.name.split()) <= LABEL_MAX_WORDS
        if short:
            label = sec.name
    if d.seconds is not None:
        extent = time_extent(d.seconds)
        duration = d.seconds
    elif d.meters is not None:
        extent = distance_extent(d.meters, d.unit if d.unit in ("m", "km", "mi") else "m")
        if d.pace is None:
            why = d.pace_missing or (
                "a distance step needs a pace to last a time: add one like '4:30/km Pace' or '80% Pace' to the line"
            )
            report.error(d.line, d.extent_col or d.col, why)
            return None
        duration = d.meters * d.pace.s_per_m
    else:  # an open step with no length: the lap key ends it (plan/render need --open-step)
        extent = time_extent(Fraction(0))
        duration = Fraction(0)
    if d.pace_missing and d.meters is None:
        ref = d.pace_missing_ref
        report.warn(
            d.line,
            d.col,
            d.pace_missing.replace("which nothing gives", "which nothing gives; spoken only"),
            key=f"paces relative to your {ref} pace, which nothing gives, are spoken only: "
            + REFERENCE_HINT.format(ref=ref),
        )
    cues = tuple((o, t) for o, t in d.cues if duration <= 0 or o < duration)
    for o, t in d.cues:
        if duration > 0 and o >= duration:
            report.warn(d.line, d.col, f"prompt '{t}' at {decimal_text(o)} s is past the step's end; dropped")
    effort = "; ".join(d.efforts) or None
    return Step(
        kind=kind,
        extent=extent,
        duration=duration,
        label=label,
        pace=d.pace,
        pace_name=d.pace_name,
        pace_spoken=d.pace is not None,
        cadence=d.cadence,
        effort=effort,
        say=say,
        line=d.line,
        col=d.col,
        open=d.open,
        cues=cues,
        pace_range=d.pace_range,
        heart_rate=d.heart_rate,
    )


__all__ = ["PACE_ZONES", "load_icu", "parse_icu", "parse_time"]
