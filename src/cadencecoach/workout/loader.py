"""YAML workout files to :class:`~cadencecoach.workout.model.Workout`, with every problem as ``FILE:LINE:COL: message``.

This module is the YAML -> model builder only: reading the file (size, encoding), the limits and the positioned
problems are :mod:`cadencecoach.workout.source`; pace names, trials, aliases and overrides are resolved by the
one pace book, :mod:`cadencecoach.workout.paces`, which the importers (:mod:`cadencecoach.workout.formats`) use
too; what a load is given besides the text travels as one :class:`~cadencecoach.workout.paces.LoadOptions`.

ruamel.yaml reads YAML 1.2 (so ``1:30`` stays the text "1:30", not the sexagesimal 90 of YAML 1.1) and keeps
line and column numbers for every key, value and list item. Problems are collected, not raised one by one,
so a runner sees every mistake in one go. Aliases are shared, not copied, by the YAML composer; the loader
visits each shared node once and computes totals (duration, step count, spoken cues) without expanding
repeats, so an "alias bomb" costs time and memory linear in the file's size; the limits (24 hours, steps, cues,
nesting, the length of a spoken text) are :mod:`cadencecoach.workout.source`'s, the pace bounds the pace book's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.workout.model import (
    KINDS,
    VOICE_MODES,
    Repeat,
    Step,
    Workout,
    parse_breathing,
    parse_heart_rate,
    parse_incline,
)
from cadencecoach.workout.paces import (
    DefaultTrial,
    LoadOptions,
    PaceBook,
    TrialError,
    pace_range,
    parse_checked_pace,
    trial_vdot,
    vdot_in_range,
    vdot_range_message,
)
from cadencecoach.workout.source import (
    MAX_DEPTH,
    MAX_YAML_BYTES,
    Report,
    YamlNode,
    check_totals,
    did_you_mean,
    hms,
    pos_item,
    pos_key,
    pos_node,
    pos_value,
    read_text,
    text_problem,
)
from cadencecoach.workout.units import Extent, Pace, parse_cadence, parse_extent, parse_offset, parse_trial

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

__all__ = ["LoadOptions", "load_workout", "load_workout_text", "parse_yaml"]

TOP_KEYS = ("name", "notes", "cadence", "paces", "trial", "voice", "steps")
STEP_KEYS = ("label", "pace", "cadence", "click", "effort", "breathing", "say", "incline", "heart_rate", "open", "cues")
CUE_KEYS = ("at", "say")
LAP = "lap"
"""The extent of an open step with no length (``- recover: lap``): the lap key ends it."""
REPEAT_KEYS = ("repeat", "steps")

_ON = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}

T = TypeVar("T")

Built = tuple[Step | Repeat | None, Fraction, int, int]
"""What building one list item gives: the item (None when it has problems), its duration, its step count and
its spoken cues (``say``), repeats multiplied out."""


MAX_FLOW_DEPTH = 200
"""Brackets (``[``, ``{``) open at once, at most: ruamel.yaml's scanner takes time quadratic in their depth (5000
``{`` cost it 6 s before it gave up), and no workout nests a tenth as deep."""

_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where the outermost of more than MAX_FLOW_DEPTH open brackets is (counting every bracket, in quotes too:
    a workout's texts do not leave 200 of them open), or None."""
    opened: list[int] = []
    for m in _BRACKETS.finditer(text):
        if m.group() in "[{":
            opened.append(m.start())
            if len(opened) > MAX_FLOW_DEPTH:
                at = opened[0]
                return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
        elif opened:
            opened.pop()
    return None


def parse_yaml(text: str, display: str) -> YamlNode:
    """YAML 1.2 text to ruamel's round-trip nodes (positions kept; duplicate keys refused)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    deep = _too_deep(text)
    if deep is not None:
        message = f"brackets ('[', '{{') are nested more than {MAX_FLOW_DEPTH} deep"
        raise WorkoutError([Problem(display, deep[0], deep[1], message)])

    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    try:
        doc: YamlNode = yaml.load(io.StringIO(text))
        return doc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise WorkoutError([Problem(display, line, col, f"malformed YAML: {_one_line(what)}")]) from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python refuses ints of more than 4300 digits
            raise WorkoutError([Problem(display, 1, 1, "a number has more than 4300 digits")]) from None
        raise WorkoutError([Problem(display, 1, 1, f"malformed YAML: {_one_line(str(exc)) or 'ValueError'}")]) from None
    except (YAMLError, RecursionError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise WorkoutError(
            [Problem(display, 1, 1, f"malformed YAML: {_one_line(str(exc)) or type(exc).__name__}")]
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_workout(
    path: str | Path,
    options: LoadOptions | None = None,
    *,
    display: str | None = None,
    pace_overrides: Mapping[str, str] | None = None,
    trial_override: str | None = None,
    default_trial: DefaultTrial = None,
) -> Workout:
    """Load and check a workout file: :func:`read_text` (at most 128 KiB of UTF-8), then :func:`load_workout_text`.

    `display` names the file in problems (default: `path`); the rest is as for :func:`load_workout_text`.
    Raises :class:`~cadencecoach.errors.WorkoutError` (never anything else for bad input).
    """
    path = Path(path)
    shown = display or str(path)
    text = read_text(path, shown, MAX_YAML_BYTES)
    return load_workout_text(
        text, shown, options, pace_overrides=pace_overrides, trial_override=trial_override, default_trial=default_trial
    )


def load_workout_text(
    text: str,
    display: str = "<workout>",
    options: LoadOptions | None = None,
    *,
    pace_overrides: Mapping[str, str] | None = None,
    trial_override: str | None = None,
    default_trial: DefaultTrial = None,
) -> Workout:
    """A workout's YAML text to a checked :class:`~cadencecoach.workout.model.Workout`.

    Parameters
    ----------
    text
        The YAML (docs/WORKOUT-FORMAT.md).
    display
        The name problems are reported under (``FILE:LINE:COL: message``).
    options
        How paces are resolved (:class:`~cadencecoach.workout.paces.LoadOptions`).
    pace_overrides, trial_override, default_trial
        Shorthands for the fields of `options` of the same names (a given one replaces the field).
        `default_trial` is used only when the workout names a derived pace and neither ``trial:`` nor the trial
        override gives a trial (a callable is called only then); the workout's ``trial_source`` is then
        ``"history"``.

    Returns
    -------
    Workout
        Steps and repeats as written, every duration resolved (seconds, exact), totals computed.

    Raises
    ------
    WorkoutError
        Every problem in the file, in file order.
    PaceOverrideError, TrialError
        A pace override that is no pace, a trial override that is no trial (``ValueError`` both; the caller
        names the option they came from).

    Examples
    --------
    >>> w = load_workout_text('''
    ... name: Strides
    ... steps:
    ...   - repeat: 4
    ...     steps:
    ...       - run: 20s
    ...       - rest: 40s
    ... ''')
    >>> w.name, w.total_duration, w.total_steps
    ('Strides', Fraction(240, 1), 8)
    >>> load_workout_text("name: x\\nsteps:\\n  - run: 400m\\n", "x.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cadencecoach.errors.WorkoutError: x.yaml:3:10: a distance step needs a pace: add 'pace:' to the step or ...
    """
    opts = _with(options, pace_overrides, trial_override, default_trial)
    try:
        doc = parse_yaml(text, display)
        builder = _Builder(display, opts)
        try:
            return builder.build(doc)
        except WorkoutError:
            if opts.default_trial is None or not builder.book.needs_trial:
                raise
            fallback = opts.default_trial() if callable(opts.default_trial) else opts.default_trial
            if not fallback:
                raise
            return _Builder(display, replace(opts, trial_override=None), fallback).build(doc)
    except WorkoutError:
        raise
    except RecursionError:
        raise WorkoutError([Problem(display, 1, 1, "the workout is nested too deeply")]) from None


def _with(
    options: LoadOptions | None,
    pace_overrides: Mapping[str, str] | None,
    trial_override: str | None,
    default_trial: DefaultTrial,
) -> LoadOptions:
    opts = options or LoadOptions()
    return LoadOptions(
        pace_overrides=opts.pace_overrides if pace_overrides is None else pace_overrides,
        trial_override=opts.trial_override if trial_override is None else trial_override,
        default_trial=opts.default_trial if default_trial is None else default_trial,
    )


class _Builder:
    """One file's YAML document to its Workout: every problem collected in ``report``, paces in ``book``."""

    def __init__(self, source: str, options: LoadOptions, default_trial: str | None = None) -> None:
        self.report = Report(source)
        self.book = PaceBook(options)
        self.trial_override = options.trial_override
        self.default_trial = default_trial  # used when there is no other trial (source "history")
        self.default_cadence: tuple[Fraction, Fraction] = (Fraction(180), Fraction(180))
        self._memo: dict[int, Built] = {}

    # ------------------------------------------------------------------ top level
    def build(self, doc: YamlNode) -> Workout:
        ctx = self.report
        if doc is None:
            ctx.add((1, 1), "the file is empty: a workout needs 'name:' and 'steps:'")
            raise WorkoutError(ctx.problems)
        if not isinstance(doc, Mapping):
            ctx.add(pos_node(doc), "a workout is a mapping with 'name:' and 'steps:' at the top level")
            raise WorkoutError(ctx.problems)
        for key in doc:
            if key not in TOP_KEYS:
                hint = did_you_mean(str(key), TOP_KEYS + tuple(KINDS))
                if str(key) in KINDS or str(key) == "repeat":
                    hint = "; steps go in a list under 'steps:'"
                ctx.add(pos_key(doc, key), f"unknown key '{key}'{hint}")

        name = self._text(doc, "name", required=True, spoken=True)  # `run` speaks it before the first step
        notes = self._text(doc, "notes")
        if "cadence" in doc:
            try:
                self.default_cadence = parse_cadence(doc["cadence"])
            except ValueError as exc:
                ctx.add(pos_value(doc, "cadence"), str(exc))
        voice = "full"
        if "voice" in doc:
            v = doc["voice"]
            v = {False: "off"}.get(v, v) if isinstance(v, bool) else v
            if not isinstance(v, str) or v.lower() not in VOICE_MODES:
                ctx.add(pos_value(doc, "voice"), f"voice must be one of full, minimal, off (got '{v}')")
            else:
                voice = v.lower()
        self._trial(doc)
        self._paces(doc)

        steps: tuple[Step | Repeat, ...] = ()
        total = Fraction(0)
        count = 0
        if "steps" not in doc:
            ctx.add(pos_node(doc), "missing 'steps:': a workout needs a non-empty list of steps")
        else:
            steps, total, count, cues = self._steps(doc, "steps", depth=0)
            check_totals(ctx, pos_key(doc, "steps"), total, count, cues)
        ctx.check()
        book = self.book
        return Workout(
            name=name or "",
            steps=steps,
            source=ctx.source,
            notes=notes,
            cadence=self.default_cadence,
            cadence_given="cadence" in doc,
            paces=dict(book.paces),
            trial=book.trial,
            trial_source=book.trial_source,
            vdot=book.vdot,
            voice_mode=voice,
            total_duration=total,
            total_steps=count,
        )

    def _text(self, node: CommentedMap, key: str, required: bool = False, spoken: bool = False) -> str | None:
        """The text of ``key:``; a `spoken` one (``say``, ``label``) is at most MAX_CUE_CHARS long."""
        if key not in node:
            if required:
                self.report.add(pos_node(node), f"missing '{key}:'")
            return None
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.report.add(pos_value(node, key), f"'{key}' must be text")
            return None
        text = str(value).strip()
        if required and not text:
            self.report.add(pos_value(node, key), f"'{key}' must not be empty")
        if spoken:
            problem = text_problem(text, f"'{key}'")
            if problem:
                self.report.add(pos_value(node, key), problem)
                return None
        return text

    def _trial(self, doc: CommentedMap) -> None:
        """The trial that derives paces: the override, else the workout's ``trial:``, else the default one."""
        source = None
        raw: str | None = None
        if self.trial_override:
            raw, source = self.trial_override, "--trial"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                raise TrialError(str(exc)) from None
            if not vdot_in_range(trial_vdot(trial)):  # the option's problem, not the file's
                raise TrialError(vdot_range_message(raw, trial_vdot(trial)))
        elif "trial" in doc:
            raw, source = str(doc["trial"]), "workout"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                self.report.add(pos_value(doc, "trial"), str(exc))
                return
        elif self.default_trial:
            raw, source = self.default_trial, "history"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                self.report.add((1, 1), f"your recorded trial: {exc}")
                return
        else:
            return
        v = trial_vdot(trial)
        if not vdot_in_range(v):
            where = pos_value(doc, "trial") if source == "workout" else (1, 1)
            self.report.add(where, vdot_range_message(raw, v))
            return
        self.book.set_trial(trial, source, v)

    def _paces(self, doc: CommentedMap) -> None:
        """The workout's ``paces:`` (values and aliases), with the overrides over them."""
        book = self.book
        raw: YamlNode = doc.get("paces") if "paces" in doc else None
        written: CommentedMap | None = None
        if isinstance(raw, Mapping):
            written = raw
        elif raw is not None:
            self.report.add(pos_value(doc, "paces"), "'paces' must be a mapping of name: pace, like 'mile: 5:45/mi'")
        aliases = self._written_paces(written) if written is not None else []
        # the overrides win over everything (the contract), so they are in place before aliases follow their
        # targets: `jog: steady` with `--pace steady=4:00/km` is 4:00/km too.
        book.apply_overrides()
        book.resolve_aliases(aliases, self.report.add)

    def _written_paces(self, written: CommentedMap) -> list[tuple[str, str, tuple[int, int]]]:
        """Each pace under ``paces:`` into the book; the aliases (a name, not a pace) are returned, to follow."""
        book = self.book
        aliases: list[tuple[str, str, tuple[int, int]]] = []
        for key in written:
            value = written[key]
            pname = str(key)
            if not isinstance(value, str):
                self.report.add(
                    pos_value(written, key), f"pace '{pname}' must be like '5:45/mi', '4:30/km' or '1:26/400m'"
                )
                continue
            if "/" not in value:
                aliases.append((pname, value.strip(), pos_value(written, key)))
                continue
            try:
                book.define(pname, value)
            except ValueError as exc:
                self.report.add(pos_value(written, key), str(exc))
        return aliases

    # ------------------------------------------------------------------ steps
    def _steps(self, node: CommentedMap, key: str, depth: int) -> tuple[tuple[Step | Repeat, ...], Fraction, int, int]:
        seq: YamlNode = node[key]
        if not isinstance(seq, list) or isinstance(seq, str):
            self.report.add(pos_value(node, key), "'steps' must be a list of steps (each line starting with '- ')")
            return (), Fraction(0), 0, 0
        if not seq:
            self.report.add(pos_value(node, key), "'steps' is empty: add at least one step")
            return (), Fraction(0), 0, 0
        items: list[Step | Repeat] = []
        total = Fraction(0)
        count = cues = 0
        for i, item in enumerate(seq):
            built, dur, n, c = self._item(seq, i, item, depth)
            if built is not None:
                items.append(built)
            total += dur
            count += n
            cues += c
        return tuple(items), total, count, cues

    def _item(self, seq: CommentedSeq, index: int, item: YamlNode, depth: int) -> Built:
        memo = self._memo.get(id(item))
        if memo is not None:
            return memo
        if not isinstance(item, Mapping):
            self.report.add(pos_item(seq, index), "a step is a mapping like '- run: 400m' or '- repeat: 4'")
            result: Built = (None, Fraction(0), 0, 0)
        elif "repeat" in item:
            result = self._repeat(item, depth)
        else:
            result = self._step(item)
        if isinstance(item, Mapping):
            self._memo[id(item)] = result
        return result

    def _repeat(self, node: CommentedMap, depth: int) -> Built:
        ctx = self.report
        ok = True
        for key in node:
            if key not in REPEAT_KEYS:
                ok = False
                if key in KINDS:
                    ctx.add(
                        pos_key(node, key),
                        f"'{key}' cannot sit beside 'repeat:'; put it in the repeat's 'steps:' list",
                    )
                else:
                    ctx.add(
                        pos_key(node, key),
                        f"unknown key '{key}' in a repeat block{did_you_mean(str(key), REPEAT_KEYS)}",
                    )
        count = node["repeat"]
        if isinstance(count, bool) or not isinstance(count, int):
            ctx.add(
                pos_value(node, "repeat"), f"'repeat' needs a whole number of times, like 'repeat: 10' (got '{count}')"
            )
            ok, count = False, 1
        elif count < 1:
            ctx.add(pos_value(node, "repeat"), f"'repeat' must be at least 1 (got {count})")
            ok, count = False, 1
        if depth >= MAX_DEPTH:
            ctx.add(pos_node(node), f"repeats are nested more than {MAX_DEPTH} deep")
            return None, Fraction(0), 0, 0
        if "steps" not in node:
            ctx.add(pos_key(node, "repeat"), "a repeat needs its own 'steps:' list")
            return None, Fraction(0), 0, 0
        steps, total, n, cues = self._steps(node, "steps", depth + 1)
        if not ok or not steps:
            return None, total * count, n * count, cues * count
        line, col = pos_node(node)
        return Repeat(count, steps, line, col), total * count, n * count, cues * count

    def _step(self, node: CommentedMap) -> Built:
        ctx = self.report
        kinds = [k for k in node if k in KINDS]
        for key in node:
            if key not in KINDS and key not in STEP_KEYS:
                ctx.add(pos_key(node, key), f"unknown key '{key}'{did_you_mean(str(key), tuple(KINDS) + STEP_KEYS)}")
        if not kinds:
            if not any(k not in STEP_KEYS for k in node):
                ctx.add(
                    pos_node(node), "step has no kind: give it one of warmup, run, recover, rest, cooldown (or repeat)"
                )
            return None, Fraction(0), 1, 0
        if len(kinds) > 1:
            ctx.add(
                pos_key(node, kinds[1]),
                f"a step has one kind, but this one has '{kinds[0]}' and '{kinds[1]}': make them two steps",
            )
            return None, Fraction(0), 1, 0
        kind = kinds[0]
        failed = False
        raw = node[kind]
        extent = None
        if raw is None or isinstance(raw, (bool, list, dict, Mapping)):
            ctx.add(pos_value(node, kind), f"'{kind}' needs an extent: a time like '90s' or a distance like '400m'")
        elif isinstance(raw, (int, float)):
            ctx.add(pos_value(node, kind), f"'{kind}: {raw}' has no unit: write '{raw}s', '{raw}min' or '{raw}m'")
        elif str(raw).strip().lower() == LAP:
            extent = Extent("time", Fraction(0), Fraction(0), "s")
        else:
            try:
                extent = parse_extent(str(raw))
            except ValueError as exc:
                ctx.add(pos_value(node, kind), str(exc))
        label = KINDS[kind]
        if "label" in node:
            lab = self._text(node, "label", spoken=True)
            if lab:
                label = lab
        cadence, ok = self._parsed(node, "cadence", parse_cadence)
        failed = failed or not ok
        click, ok = self._switch(node, "click", "on or off", default=True)
        failed = failed or not ok
        effort = None
        if "effort" in node:
            v = node["effort"]
            if isinstance(v, bool) or not isinstance(v, (str, int, float)) or not str(v).strip():
                ctx.add(pos_value(node, "effort"), "'effort' is text or a percentage like '85%'")
                failed = True
            else:
                effort = f"{v}%" if isinstance(v, (int, float)) else str(v).strip()
                problem = text_problem(effort, "'effort'")
                if problem:
                    ctx.add(pos_value(node, "effort"), problem)
                    failed = True
        breathing = None
        if "breathing" in node:
            breathing = self._breathing(node)
            failed = failed or breathing is None
        say = self._text(node, "say", spoken=True) if "say" in node else None
        pace, pace_name, pace_spoken = None, None, False
        pace_range: tuple[Pace, Pace] | None = None
        if "pace" in node:
            pace, pace_name, pace_range = self._step_pace(node)
            pace_spoken = pace is not None
            failed = failed or pace is None
        incline, ok = self._parsed(node, "incline", parse_incline)
        failed = failed or not ok
        heart_rate, ok = self._parsed(node, "heart_rate", parse_heart_rate)
        failed = failed or not ok
        is_open, ok = self._switch(node, "open", "true or false", default=False)
        failed = failed or not ok
        if extent is None:
            return None, Fraction(0), 1, 0
        if extent.value == 0:  # `lap`
            is_open = True
        if extent.is_time:
            duration = extent.value
        elif is_open and pace is None and "pace" not in node and kind not in self.book.paces:
            duration = Fraction(0)  # `run: 500m` + `open: true`, no pace: the lap key (or a watch, at 500 m) ends it
        else:
            if pace is None and "pace" not in node:
                if kind in self.book.paces:
                    pace, pace_name = self.book.paces[kind], kind
                elif kind in self.book.failed_aliases:  # its alias was reported
                    return None, Fraction(0), 1, 0
                else:
                    ctx.add(
                        pos_value(node, kind),
                        f"a distance step needs a pace: add 'pace:' to the step or define '{kind}' under 'paces:'",
                    )
                    return None, Fraction(0), 1, 0
            if pace is None:
                return None, Fraction(0), 1, 0
            duration = extent.value * pace.s_per_m
        cues: tuple[tuple[Fraction, str], ...] = ()
        if "cues" in node:
            found = self._cues(node, duration)
            failed = failed or found is None
            cues = found or ()
        if failed:
            return None, duration, 1, 0
        line, col = pos_node(node)
        step = Step(
            kind=kind,
            extent=extent,
            duration=duration,
            label=label,
            pace=pace,
            pace_name=pace_name,
            pace_spoken=pace_spoken,
            cadence=cadence,
            click=click,
            effort=effort,
            breathing=breathing,
            say=say,
            line=line,
            col=col,
            open=is_open,
            cues=cues,
            incline=incline,
            heart_rate=heart_rate,
            pace_range=pace_range,
        )
        return step, duration, 1, (1 if say else 0) + len(cues)

    def _parsed(self, node: CommentedMap, key: str, parse: Callable[[object], T]) -> tuple[T | None, bool]:
        """``parse(node[key])`` (None when the key is absent), and False when it is a problem (reported)."""
        if key not in node:
            return None, True
        try:
            return parse(node[key]), True
        except ValueError as exc:
            self.report.add(pos_value(node, key), str(exc))
            return None, False

    def _switch(self, node: CommentedMap, key: str, words: str, *, default: bool) -> tuple[bool, bool]:
        """A yes/no key (``click: off``, ``open: true``; YAML booleans and on/off, yes/no, true/false), and False
        when it is a problem (reported)."""
        if key not in node:
            return default, True
        v = node[key]
        if isinstance(v, bool):
            return v, True
        if isinstance(v, str) and v.strip().lower() in _ON:
            return _ON[v.strip().lower()], True
        self.report.add(pos_value(node, key), f"'{key}' is {words} (got '{v}')")
        return default, False

    def _cues(self, node: CommentedMap, duration: Fraction) -> tuple[tuple[Fraction, str], ...] | None:
        """``cues:``: a list of ``{at: 1:30, say: text}``, each inside the step (an open step with no length
        takes any time); in the order of their times. None when one has a problem (reported)."""
        from ruamel.yaml.comments import CommentedMap

        ctx = self.report
        seq: YamlNode = node["cues"]
        if not isinstance(seq, list) or isinstance(seq, str):
            ctx.add(pos_value(node, "cues"), "'cues' is a list of timed cues like '- {at: 1:30, say: Halfway up}'")
            return None
        out: list[tuple[Fraction, str]] = []
        ok = True
        for i, cue in enumerate(seq):
            if not isinstance(cue, CommentedMap) or "at" not in cue or "say" not in cue:
                ctx.add(
                    pos_item(seq, i), "a timed cue is a mapping with 'at:' (a time from the step's start) and 'say:'"
                )
                ok = False
                continue
            for key in cue:
                if key not in CUE_KEYS:
                    ctx.add(pos_key(cue, key), f"unknown key '{key}' in a timed cue{did_you_mean(str(key), CUE_KEYS)}")
                    ok = False
            at_raw = cue["at"]
            try:
                if isinstance(at_raw, bool) or not isinstance(at_raw, (str, int)):
                    raise ValueError(f"'at' is a time from the step's start, like '30s' or '1:30' (got '{at_raw}')")
                at = parse_offset(str(at_raw))
            except ValueError as exc:
                ctx.add(pos_value(cue, "at"), str(exc))
                ok = False
                continue
            if duration > 0 and at >= duration:
                ctx.add(
                    pos_value(cue, "at"), f"the cue at {at_raw} is not inside its step, which lasts {hms(duration)}"
                )
                ok = False
                continue
            text = self._text(cue, "say", spoken=True)
            if not text:
                if text is not None:
                    ctx.add(pos_value(cue, "say"), "'say' must not be empty")
                ok = False
                continue
            out.append((at, text))
        return tuple(sorted(out, key=lambda c: c[0])) if ok else None

    def _breathing(self, node: CommentedMap) -> tuple[int, int] | None:
        v = node["breathing"]
        pattern = parse_breathing(v)
        if pattern is None:
            self.report.add(
                pos_value(node, "breathing"), f"'breathing' is inhale:exhale steps, like '3:2' or '2:2' (got '{v}')"
            )
        return pattern

    def _step_pace(self, node: CommentedMap) -> tuple[Pace | None, str | None, tuple[Pace, Pace] | None]:
        """The step's pace, the name it used, and the range (slower, faster) when it is one (``7:15-7:00/km``:
        the step is timed at its middle, :func:`~cadencecoach.workout.paces.pace_range`)."""
        v = node["pace"]
        if not isinstance(v, str) or not v.strip():
            self.report.add(pos_value(node, "pace"), "'pace' is a pace name (like 'mile') or a pace like '5:45/mi'")
            return None, None, None
        v = v.strip()
        if "/" in v:
            try:
                if "-" in v:
                    middle, ends = pace_range(v)
                    return middle, None, ends
                return parse_checked_pace(v), None, None
            except ValueError as exc:
                self.report.add(pos_value(node, "pace"), str(exc))
                return None, None, None
        if v in self.book.paces:
            return self.book.paces[v], v, None
        if v not in self.book.failed_aliases:  # a failed alias was reported where it is written
            self.report.add(pos_value(node, "pace"), self.book.unknown_message(v))
        return None, None, None
