"""What each corpus workout file says, read from its own numbers WITHOUT cadencecoach (tests/test_corpus.py).

These readers share no code with ``cadencecoach.workout.formats``: Zwift XML is read with
``xml.etree.ElementTree``, intervals.icu text with the small parser below, FIT with ``fitdecode`` (a different
decoder from the Garmin SDK the exporter writes with). Each gives a :class:`Reference`: the steps (time in
seconds, distance in metres, open), the repeats, the texts the file asks to be spoken and the warnings it must
cause. The test compares ``plan --json`` (and the converted files) with it.

Decisions, the same as the format documents (docs/FORMATS.md) state them, so the test checks the documented
behaviour rather than the importer's code:

* **Zwift** ``Duration`` is seconds unless ``<durationType>distance</durationType>`` (or an element's
  ``durationType="distance"``). ``IntervalsT`` is ``Repeat`` x (OnDuration, OffDuration); a part of length 0 is no
  step. ``RestDay`` is no step. No ``<sportType>`` is a bike workout, as Zwift reads it (its Power is a fraction
  of FTP: effort text, no pace). ``Slope``/``OnSlope``/``OffSlope`` are the incline in percent. A textevent's
  offset runs from its block's start (over the whole of an ``IntervalsT``); textevents of one block at one offset
  are the lines of one message. A file that is not UTF-8 is read as Windows-1252 (what the Zwift-era editors
  wrote when they left the encoding declaration out).
* **Paces the file's numbers fix.** With ``--trial "5k 20:00"`` the trial's own distance is the one reference
  known without Daniels' tables: Zwift ``pace="1"`` (5k) at Power p is 240 s/km / p, p rounded to 0.1% and the
  pace to 0.01 s/km (as FORMATS.md says generated paces are). A distance step at another reference (threshold,
  10k, ...) has an unknown length here: its step is counted, its length is not checked (``seconds=None``).
  intervals.icu literal paces (``4:30/km``, a range ``6:00-5:30/km``: the middle of the two paces) fix the pace.
  A ``distoffset`` in a run step at such a relative pace is placed (by the test) at the pace ``plan`` gives that
  step: a consistency check of the placing, not of the pace.
* **intervals.icu**: ``m`` is minutes (``400m`` is 400 minutes, and the file must warn so: a hint); metres are
  ``mtr``. A header ending in ``Nx`` repeats the steps under it until a blank line or the next header; repeats
  do not nest, so ``- 6x 30s`` is one 30 s step (intervals.icu: "Nested repeats are not supported"), and the
  import must warn that its "6x" is not a repeat (a hint). ``press lap`` is an open step: it lasts its written
  length, or :data:`OPEN_STEP_S` (``--open-step 60s``) when it has none.
* **FIT** ``workout_step``: ``time`` (ms), ``distance`` (cm; timed only by a ``speed`` target: the middle of the
  two paces), ``open`` (:data:`OPEN_STEP_S`), ``repeat_until_steps_cmplt`` (the steps from ``duration_step``,
  ``repeat_steps`` times in all). Any other duration (``hr_less_than``, ``calories``, ...) cannot be measured
  by cadencecoach: the step's length is unknown here (and the import must warn); ``repeat_until_<condition>``
  repeats an unknown number of times (the test accepts any count >= 1 that fits ``plan``'s step count).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

OPEN_STEP_S = Fraction(60)
"""``--open-step 60s``: the length plan gives an open step that has none."""
OPEN_STEP = "60s"
TRIAL = "5k 20:00"
TRIAL_5K_S_PER_KM = Fraction(240)
"""The trial's own pace: 20:00 for 5 km."""
METERS_PER_MILE = Fraction(1609344, 1000)
YARD = Fraction(9144, 10000)


# ----------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class RefStep:
    """One step as the file gives it."""

    what: str  # "time", "distance", "open", or "other" (a FIT condition cadencecoach cannot measure)
    seconds: Fraction | None  # its length in plan; None: the file's numbers alone do not fix it
    meters: Fraction | None = None  # a distance step's distance
    written_s: Fraction | None = None  # a time step's written length (an open step: its nominal one, if any)
    kind: str | None = None  # the step kind the file fixes (Zwift Warmup, FIT intensity), None: left to inference
    cadence: tuple[Fraction, Fraction] | None = None  # steps per minute at its start and end, when given
    pace_s_per_km: Fraction | None = None  # a pace the file's numbers fix
    needs_pace: bool = False  # a pace relative to a reference (the trial gives one): plan must show a pace
    effort: bool = False  # a target with no pace equivalent (power, heart rate, RPE): spoken or warned
    incline: Fraction | None = None  # percent grade (Zwift Slope, OnSlope, OffSlope)
    name: str | None = None  # a FIT step name
    condition: str | None = None  # a FIT duration type cadencecoach cannot measure
    line: int | None = None  # intervals.icu: the step's line (warnings name it)
    where: str = ""  # for failure messages


@dataclass(frozen=True)
class RefRepeat:
    count: int | None  # None: repeated until a condition (FIT) the file's numbers cannot count
    items: tuple[RefStep | RefRepeat, ...]
    condition: str | None = None


@dataclass(frozen=True)
class RefText:
    """A text the file asks to be spoken."""

    text: str
    at_s: Fraction | None = None  # its time from the workout's start, when the file's numbers fix it
    past_end: bool = False  # its offset is past its block's end: only a warning can carry it
    needs_pace: bool = False  # a distoffset with no pace to place it by: a "distoffset" warning may carry it
    joined: bool = False  # one line of a message Zwift shows as several textevents at one offset: must be spoken
    dist_m: Fraction | None = None  # a distoffset into step `step_index`, timed by the pace plan gives that step
    step_index: int | None = None
    where: str = ""


@dataclass
class Reference:
    items: tuple[RefStep | RefRepeat, ...]
    texts: list[RefText] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # texts a warning of the import must hold
    name: str | None = None  # the workout's name, when the file has one
    run: bool = True
    unknown_tokens: list[tuple[int, str]] = field(default_factory=list)  # (line, token): must be warned

    def flat(self, unknown: int = 1) -> list[RefStep]:
        """The steps in the order they are run; a repeat of unknown count is taken `unknown` times."""
        return list(_expand(self.items, unknown))

    @property
    def has_unknown_repeat(self) -> bool:
        return any(r.count is None for r in _repeats(self.items))

    def fit_unknown(self, plan_steps: int) -> int | None:
        """The count (>= 1) of the repeats of unknown count for which the steps number `plan_steps`."""
        if not self.has_unknown_repeat:
            return 1 if len(self.flat()) == plan_steps else None
        one, two = len(self.flat(1)), len(self.flat(2))
        if two == one or plan_steps < one or (plan_steps - one) % (two - one):
            return None
        return 1 + (plan_steps - one) // (two - one)

    def duration(self, unknown: int = 1) -> Fraction | None:
        total = Fraction(0)
        for s in self.flat(unknown):
            if s.seconds is None:
                return None
            total += s.seconds
        return total

    def repeats(self) -> list[RefRepeat]:
        return list(_repeats(self.items))


def _expand(items: tuple[RefStep | RefRepeat, ...], unknown: int) -> Iterator[RefStep]:
    for item in items:
        if isinstance(item, RefRepeat):
            for _ in range(item.count if item.count is not None else unknown):
                yield from _expand(item.items, unknown)
        else:
            yield item


def _repeats(items: tuple[RefStep | RefRepeat, ...]) -> Iterator[RefRepeat]:
    for item in items:
        if isinstance(item, RefRepeat):
            yield item
            yield from _repeats(item.items)


def read(path: Path) -> Reference:
    suffix = path.suffix.lower()
    if suffix == ".zwo":
        return read_zwo(path)
    if suffix == ".txt":
        return read_icu(path)
    if suffix == ".fit":
        return read_fit(path)
    raise ValueError(f"no reference reader for {path}")


def normalized(text: str) -> str:
    """Whitespace runs as one space, ends stripped, case folded: how texts are compared."""
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------------------------------- Zwift

ZWO_STEPS = {"warmup", "cooldown", "ramp", "steadystate", "freeride", "maxeffort", "intervalst"}
ZWO_TEXTS = {"textevent", "textnotification"}
ZWO_HEAD = {
    "name",
    "author",
    "description",
    "sporttype",
    "durationtype",
    "tags",
    "category",
    "subcategory",
    "uniqueid",
    "legacyidhash",
}


def _lower_attrs(el: ET.Element) -> dict[str, str]:
    return {k.lower(): v for k, v in el.attrib.items()}


def _num(attrs: dict[str, str], name: str) -> Fraction | None:
    raw = attrs.get(name.lower())
    return Fraction(raw.strip()) if raw is not None and raw.strip() else None


def _zwo_cadence(value: Fraction | None) -> Fraction | None:
    """Zwift's run cadence is steps per minute; a value under 120 is strides (one foot), doubled."""
    if value is None:
        return None
    return value * 2 if value < 120 else value


def _rounded(x: Fraction, step: Fraction) -> Fraction:
    return Fraction(round(x / step)) * step


class _ZwoReader:
    def __init__(self, root: ET.Element) -> None:
        self.root = root
        head = {c.tag.lower(): c for c in root}
        sport = (head["sporttype"].text or "").strip().lower() if "sporttype" in head else ""
        self.run = sport == "run"  # none: a bike workout, as Zwift reads it
        kind = (head["durationtype"].text or "").strip().lower() if "durationtype" in head else ""
        self.distance = kind == "distance" or _lower_attrs(root).get("durationtype", "").lower() == "distance"
        name = (head["name"].text or "") if "name" in head else ""
        self.name = " ".join(name.split()) or None
        self.texts: list[RefText] = []
        self.t: Fraction | None = Fraction(0)  # the time the next block starts at, while known
        self.n = 0  # the steps (repeats expanded) before the next block
        unknown = [c.tag for c in root if c.tag.lower() not in ZWO_HEAD | {"workout"}]
        if unknown:
            raise ValueError(f"the reference reader does not know <{unknown[0]}> (teach it, or the test is blind)")

    def pace(self, attrs: dict[str, str], power: Fraction | None) -> tuple[Fraction | None, bool, bool]:
        """(pace s/km the file's numbers fix, needs a pace, is effort text) of a Power fraction."""
        if power is None or power <= 0:
            return None, False, False
        if not self.run:
            return None, False, True  # a fraction of FTP: no pace equivalent
        if attrs.get("pace", "").strip() == "1":  # 5k: the trial's own distance
            pct = _rounded(power, Fraction(1, 1000))
            return _rounded(TRIAL_5K_S_PER_KM / pct, Fraction(1, 100)), True, False
        return None, True, False

    def step(
        self,
        el: ET.Element,
        attrs: dict[str, str],
        length: Fraction,
        distance: bool,
        kind: str | None,
        power: Fraction | None,
        cadence: tuple[Fraction, Fraction] | None,
        incline: Fraction | None,
        where: str,
    ) -> RefStep:
        pace, needs, effort = self.pace(attrs, power)
        if el.tag.lower() == "maxeffort":
            effort = True
        if distance:
            seconds = length * pace / 1000 if pace is not None else None
            return RefStep(
                "distance",
                seconds,
                meters=length,
                kind=kind,
                cadence=cadence,
                pace_s_per_km=pace,
                needs_pace=needs,
                effort=effort,
                incline=incline,
                where=where,
            )
        return RefStep(
            "time",
            length,
            written_s=length,
            kind=kind,
            cadence=cadence,
            pace_s_per_km=pace,
            needs_pace=needs,
            effort=effort,
            incline=incline,
            where=where,
        )

    def read(self) -> Reference:
        workout = next((c for c in self.root if c.tag.lower() == "workout"), None)
        items: list[RefStep | RefRepeat] = []
        loose: list[ET.Element] = []
        for n, el in enumerate(workout if workout is not None else (), start=1):
            tag = el.tag.lower()
            if tag in ZWO_TEXTS:
                loose.append(el)
                continue
            if tag == "restday":
                continue
            if tag not in ZWO_STEPS:
                raise ValueError(f"the reference reader does not know <{el.tag}>")
            items.extend(self.block(el, f"<{el.tag}> #{n}"))
        for ev in loose:  # timed from the workout's start
            a = _lower_attrs(ev)
            message = (a.get("message") or a.get("text") or "").strip()
            at = _num(a, "timeoffset")
            if message:
                self.texts.append(RefText(message, at, where="a textevent under <workout>"))
        return Reference(tuple(items), self.texts, name=self.name, run=self.run)

    def block(self, el: ET.Element, where: str) -> list[RefStep | RefRepeat]:
        a = _lower_attrs(el)
        tag = el.tag.lower()
        distance = self.distance or a.get("durationtype", "").lower() == "distance"
        start = self.t
        if tag == "intervalst":
            count = int(Fraction(a["repeat"]))
            on_len, off_len = _num(a, "OnDuration") or Fraction(0), _num(a, "OffDuration") or Fraction(0)
            parts: list[RefStep] = []
            for length, which, kind in ((on_len, "on", "run"), (off_len, "off", "recover")):
                if length <= 0:
                    continue  # an empty part is no step
                power = _num(a, f"{which}Power")
                if power is None:
                    low, high = _num(a, f"Power{which}Low"), _num(a, f"Power{which}High")
                    power = (low + high) / 2 if low is not None and high is not None else low
                cad = _zwo_cadence(_num(a, "Cadence") if which == "on" else _num(a, "CadenceResting"))
                slope = _num(a, f"{which}Slope")
                parts.append(
                    self.step(
                        el,
                        a,
                        length,
                        distance,
                        kind,
                        power,
                        (cad, cad) if cad is not None else None,
                        slope,
                        f"{where} ({which})",
                    )
                )
            block_s = sum((p.seconds for p in parts if p.seconds is not None), Fraction(0))
            known = all(p.seconds is not None for p in parts)
            self.texts.extend(self.events(el, start, count * block_s if known else None, parts, where))
            self.t = start + count * block_s if start is not None and known else None
            self.n += count * len(parts)
            return [RefRepeat(count, tuple(parts))] if parts else []
        length = _num(a, "Duration")
        if length is None:
            raise ValueError(f"{where} has no Duration")
        kind = {"warmup": "warmup", "cooldown": "cooldown"}.get(tag)
        power = _num(a, "Power")
        if power is None and tag != "freeride":
            low, high = _num(a, "PowerLow"), _num(a, "PowerHigh")
            power = (low + high) / 2 if low is not None and high is not None else (low or high)
        low_c, high_c = _zwo_cadence(_num(a, "CadenceLow")), _zwo_cadence(_num(a, "CadenceHigh"))
        if low_c is not None and high_c is not None:
            cadence = (low_c, high_c) if tag in ("warmup", "cooldown", "ramp") else ((low_c + high_c) / 2,) * 2
        else:
            c = _zwo_cadence(_num(a, "Cadence"))
            cadence = (c, c) if c is not None else None
        step = self.step(el, a, length, distance, kind, power, cadence, _num(a, "Slope"), where)
        self.texts.extend(self.events(el, start, step.seconds, [step], where, index=self.n))
        self.t = start + step.seconds if start is not None and step.seconds is not None else None
        self.n += 1
        return [step]

    def events(
        self,
        el: ET.Element,
        start: Fraction | None,
        span: Fraction | None,
        parts: list[RefStep],
        where: str,
        index: int | None = None,
    ) -> list[RefText]:
        """The textevents of a block: their offsets run from the block's start (over all of an IntervalsT).
        `index`: the step's place in the workout, when the block is one step."""
        out: list[RefText] = []
        offsets: list[str | None] = []
        for k, ev in enumerate((c for c in el if c.tag.lower() in ZWO_TEXTS), start=1):
            a = _lower_attrs(ev)
            message = (a.get("message") or a.get("text") or "").strip()
            if not message:
                continue
            here = f"{where} textevent {k}"
            offsets.append(a.get("timeoffset", a.get("distoffset")))
            if "timeoffset" in a:
                offset = Fraction(a["timeoffset"])
            elif len(parts) == 1 and parts[0].pace_s_per_km is not None:  # a distoffset timed by the step's pace
                offset = Fraction(a["distoffset"]) * parts[0].pace_s_per_km / 1000
            elif Fraction(a.get("distoffset", "0")) == 0:
                offset = Fraction(0)  # the block's start, whatever the pace
            elif index is not None and self.run and parts[0].needs_pace:  # at the pace --trial gives the step
                out.append(RefText(message, dist_m=Fraction(a["distoffset"]), step_index=index, where=here))
                continue
            else:  # no pace to place it by (FTP, no target): only a warning can carry it
                no_pace = not self.run or not any(p.needs_pace for p in parts)
                out.append(RefText(message, needs_pace=no_pace, where=here))
                continue
            if span is not None and offset >= span:
                out.append(RefText(message, past_end=True, where=here))
            else:
                out.append(RefText(message, start + offset if start is not None else None, where=here))
        shared = {o for o in offsets if o is not None and offsets.count(o) > 1}
        return [replace(t, joined=o in shared and not t.past_end) for t, o in zip(out, offsets, strict=True)]


def read_zwo(path: Path) -> Reference:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    text = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text)  # a str carries no encoding of its own
    return _ZwoReader(ET.fromstring(text)).read()


# ------------------------------------------------------------------------------------------ intervals.icu

_N = r"\d+(?:\.\d+)?"
_HMS = re.compile(rf"(?:({_N})h)?(?:({_N})m)?(?:({_N})s)?(\d+)?", re.I)
_QUOTES = re.compile(rf"(?:({_N})')?(?:({_N})\")?")
_DISTANCE = re.compile(rf"({_N})(mtr|km|mi)", re.I)
_CLOCK = r"\d+:\d\d(?:\.\d+)?"
_PACE_TOKEN = re.compile(rf"({_CLOCK})(/[0-9a-z]+)?(?:-({_CLOCK})(/[0-9a-z]+)?)?", re.I)
_PERCENT = re.compile(rf"({_N})%?(?:-({_N}))?%")
_ZONE = re.compile(r"Z\d(?:-Z\d)?", re.I)
_RPM = re.compile(rf"({_N})(?:-({_N}))?rpm", re.I)
_WATTS = re.compile(rf"{_N}w?(?:-{_N})?w", re.I)
_HEADER_REPEAT = re.compile(r"(.*?)\s*(\d+)\s*x", re.I)
_PACE_UNITS = {"mtr": Fraction(1), "m": Fraction(1), "km": Fraction(1000), "mi": METERS_PER_MILE, "y": YARD}


def icu_time(token: str) -> Fraction | None:
    """``10m`` ``30s`` ``1h`` ``1m30s`` ``1m30`` ``1h30`` ``1.5m`` ``5'`` ``30"`` ``1'30"`` -> seconds."""
    m = _HMS.fullmatch(token)
    if m and any(m.group(i) for i in (1, 2, 3)):
        h, mi, s, tail = (Fraction(g) if g else None for g in m.groups())
        if tail is not None:  # a bare number after the last unit is the next smaller unit
            if s is not None:
                return None
            if mi is not None:
                s = tail
            else:
                mi = tail
        return (h or 0) * 3600 + (mi or 0) * 60 + (s or 0)
    m = _QUOTES.fullmatch(token)
    if m and any(m.groups()):
        return Fraction(m.group(1) or 0) * 60 + Fraction(m.group(2) or 0)
    return None


def _pace_per(unit: str | None) -> Fraction:
    """``/km`` -> 1000 m, ``/400m`` -> 400, ``/100y`` -> 91.44, no unit -> per km."""
    if not unit:
        return Fraction(1000)
    m = re.fullmatch(r"/(\d*)(mtr|km|mi|m|yd|y)", unit, re.I)
    if m is None:
        raise ValueError(f"pace unit {unit}")
    return Fraction(int(m.group(1) or 1)) * _PACE_UNITS[m.group(2).lower().replace("yd", "y")]


def _clock(text: str) -> Fraction:
    mins, secs = text.split(":")
    return int(mins) * 60 + Fraction(secs)


@dataclass
class _IcuStep:
    step: RefStep
    texts: list[tuple[str, Fraction | None]]  # (text, offset from the step's start or None)


def _icu_step(body: str, line: int, hints: list[str], unknown: list[tuple[int, str]]) -> _IcuStep:
    prompts: list[tuple[str, Fraction | None]] = []
    if "<!>" in body:
        prompt, body = body.split("<!>", 1)
        first: list[str] = []
        current: list[str] | None = None
        at: Fraction | None = None
        for word in prompt.split():
            if "^" in word:
                if current is not None:
                    prompts.append((" ".join(current), at))
                when, _, rest = word.rpartition("^")
                at = Fraction(when) if when.isdecimal() else icu_time(when)
                current = [rest] if rest else []
            elif current is None:
                first.append(word)
            else:
                current.append(word)
        if current is not None:
            prompts.append((" ".join(current), at))
        prompts.insert(0, (" ".join(first), None))
    tokens = body.split()
    is_open = False
    for i in range(len(tokens) - 1):
        if tokens[i].lower() == "press" and tokens[i + 1].lower() == "lap":
            is_open = True
            del tokens[i : i + 2]
            break
    start = next((i for i, t in enumerate(tokens) if icu_time(t) is not None or _DISTANCE.fullmatch(t)), None)
    cue = " ".join(tokens[:start] if start is not None else [])
    if re.fullmatch(r"\d+\s*x", cue, re.I):  # `- 6x 30s`: not a repeat (they do not nest); the file must say so
        hints.append("in a step is not a repeat")
        cue = ""
    seconds = meters = None
    if start is not None:
        token = tokens[start]
        d = _DISTANCE.fullmatch(token)
        if d:
            unit = d.group(2).lower()
            meters = Fraction(d.group(1)) * {"mtr": Fraction(1), "km": Fraction(1000), "mi": METERS_PER_MILE}[unit]
        else:
            seconds = icu_time(token)
            m = re.fullmatch(rf"({_N})m", token, re.I)
            if m and Fraction(m.group(1)) >= 100:
                hints.append(f"'{token}' is {m.group(1)} minutes")
        targets = tokens[start + 1 :]
    else:
        targets = tokens
    pace = None
    needs = effort = False
    cadence = None
    i = 0
    while i < len(targets):
        t = targets[i]
        nxt = targets[i + 1].lower() if i + 1 < len(targets) else ""
        if t.lower() in ("ramp", "freeride"):
            i += 1
            continue
        if m := _RPM.fullmatch(t):
            lo = Fraction(m.group(1))
            hi = Fraction(m.group(2)) if m.group(2) else lo
            cadence = ((lo + hi),) * 2  # strides per minute, doubled: the middle of a range
            i += 1
            continue
        if m := _PACE_TOKEN.fullmatch(t):
            unit_a, unit_b = m.group(2), m.group(4)
            values = [_clock(m.group(1)) / _pace_per(unit_a or unit_b)]
            if m.group(3):
                values.append(_clock(m.group(3)) / _pace_per(unit_b or unit_a))
            pace = sum(values, Fraction(0)) / len(values) * 1000
            i += 2 if nxt == "pace" else 1
            continue
        if _PERCENT.fullmatch(t) or _ZONE.fullmatch(t):
            if nxt == "pace":
                needs = True
            else:
                effort = True  # heart rate, or power (FTP, MMP, a bare zone)
            i += 2 if nxt in ("pace", "hr", "lthr", "mmp", "ftp", "power") else 1
            if nxt == "mmp" and i < len(targets) and icu_time(targets[i]) is not None:
                i += 1
            continue
        if _WATTS.fullmatch(t) or re.fullmatch(r"rpe\d+", t, re.I):
            effort = True
            i += 1
            continue
        if t == "-" and i > 0 and _WATTS.fullmatch(targets[i - 1]):
            i += 1
            continue
        unknown.append((line, t))
        i += 1
    if is_open:
        what, length = "open", seconds if seconds is not None else OPEN_STEP_S
    elif meters is not None:
        what, length = "distance", meters * pace / 1000 if pace is not None else None
    else:
        if seconds is None:
            raise ValueError(f"line {line}: a step with no length")
        what, length = "time", seconds
    step = RefStep(
        what,
        length,
        meters=meters,
        written_s=seconds,
        cadence=cadence,
        pace_s_per_km=pace,
        needs_pace=needs,
        effort=effort,
        line=line,
        where=f"line {line}",
    )
    texts = [(cue, None)] if cue and not prompts else []
    texts += [(text, at) for text, at in prompts if text]
    return _IcuStep(step, texts)


def read_icu(path: Path) -> Reference:
    hints: list[str] = []
    unknown: list[tuple[int, str]] = []
    sections: list[tuple[int | None, list[_IcuStep]]] = []
    current: tuple[int | None, list[_IcuStep]] | None = None
    for line, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text:
            if current is not None and current[0] is not None:
                current = None  # a blank line ends a repeat
            continue
        if text.startswith("-"):
            if current is None:
                current = (None, [])
                sections.append(current)
            current[1].append(_icu_step(text[1:], line, hints, unknown))
            continue
        m = _HEADER_REPEAT.fullmatch(text)
        current = (int(m.group(2)) if m else None, [])
        sections.append(current)
    items: list[RefStep | RefRepeat] = []
    texts: list[RefText] = []
    t: Fraction | None = Fraction(0)
    for count, steps in sections:
        for s in steps:  # texts are timed in the first repetition
            for text, offset in s.texts:
                at = t + offset if t is not None and offset is not None else None
                past = s.step.seconds is not None and offset is not None and offset >= s.step.seconds
                texts.append(RefText(text, None if past else at, past_end=past, where=s.step.where))
            t = t + s.step.seconds if t is not None and s.step.seconds is not None else None
        if count is None:
            items.extend(s.step for s in steps)
        elif steps:
            items.append(RefRepeat(count, tuple(s.step for s in steps)))
            rest = [s.step.seconds for s in steps]
            if t is not None and all(x is not None for x in rest):
                t += (count - 1) * sum((x for x in rest if x is not None), Fraction(0))
            else:
                t = None
    return Reference(tuple(items), texts, hints, unknown_tokens=unknown)


# ---------------------------------------------------------------------------------------------------- FIT

FIT_KINDS = {"warmup": "warmup", "active": "run", "recovery": "recover", "rest": "rest", "cooldown": "cooldown"}


def fit_messages(source: Path | bytes) -> dict[str, list[dict[str, Any]]]:
    """Every data message of a FIT file by name: {field: value} and {field + "#raw": raw value} (CRC checked)."""
    import io

    import fitdecode

    out: dict[str, list[dict[str, Any]]] = {}
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with fitdecode.FitReader(stream, check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                fields: dict[str, Any] = {}
                for f in frame.fields:
                    fields[f.name] = f.value
                    fields[f.name + "#raw"] = f.raw_value
                out.setdefault(frame.name, []).append(fields)
    return out


def fit_structure(steps: list[dict[str, Any]]) -> tuple[RefStep | RefRepeat, ...]:
    """workout_step messages (in message_index order) to steps and repeats."""
    placed: list[tuple[int, RefStep | RefRepeat]] = []  # (message_index of its first step, item)
    for index, m in enumerate(sorted(steps, key=lambda m: m.get("message_index") or 0)):
        kind = str(m.get("duration_type"))
        if kind.startswith("repeat_until"):
            first = int(m["duration_step"])
            body = [item for at, item in placed if at >= first]
            placed = [(at, item) for at, item in placed if at < first]
            if kind == "repeat_until_steps_cmplt":
                placed.append((first, RefRepeat(int(m["repeat_steps"]), tuple(body))))
            else:
                placed.append((first, RefRepeat(None, tuple(body), condition=kind)))
            continue
        placed.append((index, _fit_step(m, index)))
    return tuple(item for _, item in placed)


def _fit_step(m: dict[str, Any], index: int) -> RefStep:
    kind = str(m.get("duration_type"))
    target = str(m.get("target_type"))
    pace = None
    cadence = None
    effort = False
    lo, hi = m.get("custom_target_speed_low#raw"), m.get("custom_target_speed_high#raw")
    if target == "speed" and lo and hi:  # mm/s
        pace = (Fraction(1000, lo) + Fraction(1000, hi)) / 2 * 1000  # the middle of the two paces, s/km
    elif target == "cadence" and m.get("custom_target_cadence_low") and m.get("custom_target_cadence_high"):
        steps_min = Fraction(int(m["custom_target_cadence_low"]) + int(m["custom_target_cadence_high"]))
        cadence = (steps_min, steps_min)  # strides per minute: twice the middle is steps per minute
    elif target not in ("open", "None", "cadence", "speed"):
        effort = True
    if target != "cadence" and str(m.get("secondary_target_type")) == "cadence":
        low, high = m.get("secondary_custom_target_cadence_low"), m.get("secondary_custom_target_cadence_high")
        if low and high:
            cadence = (Fraction(int(low) + int(high)),) * 2
    common: dict[str, Any] = {
        "kind": FIT_KINDS.get(str(m.get("intensity") or "active")),
        "cadence": cadence,
        "pace_s_per_km": pace,
        "effort": effort,
        "name": m.get("wkt_step_name"),
        "where": f"workout_step {index}",
    }
    if kind == "time":
        seconds = Fraction(int(m["duration_time#raw"]), 1000)
        return RefStep("time", seconds, written_s=seconds, **common)
    if kind == "distance":
        meters = Fraction(int(m["duration_distance#raw"]), 100)
        return RefStep("distance", meters * pace / 1000 if pace is not None else None, meters=meters, **common)
    if kind == "open":
        return RefStep("open", OPEN_STEP_S, **common)
    return RefStep("other", None, condition=kind, **common)


def read_fit(path: Path) -> Reference:
    msgs = fit_messages(path)
    steps = msgs.get("workout_step", [])
    (workout,) = msgs.get("workout", [{}])
    texts = [
        RefText(str(m["notes"]), where=f"workout_step {m.get('message_index')} notes") for m in steps if m.get("notes")
    ]
    name = workout.get("wkt_name")
    return Reference(fit_structure(steps), texts, name=str(name) if name else None)
