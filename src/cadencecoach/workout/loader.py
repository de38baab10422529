"""YAML workout files to :class:`~cadencecoach.workout.model.Workout`, with every problem as ``FILE:LINE:COL: message``.

ruamel.yaml reads YAML 1.2 (so ``1:30`` stays the text "1:30", not the sexagesimal 90 of YAML 1.1) and keeps
line and column numbers for every key, value and list item. Problems are collected, not raised one by one,
so a runner sees every mistake in one go. Aliases are shared, not copied, by the YAML composer; the loader
visits each shared node once and computes totals (duration, step count) without expanding repeats, so an
"alias bomb" costs time and memory linear in the file's size.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from cadencecoach.errors import Problem, WorkoutError
from cadencecoach.workout import vdot as vdot_mod
from cadencecoach.workout.model import KINDS, VOICE_MODES, Repeat, Step, Workout
from cadencecoach.workout.units import Pace, parse_cadence, parse_clock, parse_extent, parse_pace, parse_trial

MAX_DURATION = Fraction(24 * 3600)
MAX_STEPS = 200_000
MAX_DEPTH = 32
MAX_FILE_BYTES = 1_000_000

TOP_KEYS = ("name", "notes", "cadence", "paces", "trial", "voice", "steps")
STEP_KEYS = ("label", "pace", "cadence", "click", "effort", "breathing", "say")
REPEAT_KEYS = ("repeat", "steps")
DERIVED_PACES = tuple(vdot_mod.RACE_DISTANCES) + tuple(vdot_mod.TRAINING_FRACTIONS)

_ON = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Ctx:
    """Collects problems with positions for one file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, pos: tuple[int, int], message: str) -> None:
        self.problems.append(Problem(self.source, pos[0], pos[1], message))


def _pos_key(node: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = node.lc.key(key)
        return line + 1, col + 1
    except Exception:
        return _pos_node(node)


def _pos_value(node: Any, key: Any) -> tuple[int, int]:
    try:
        if node[key] is None:  # an empty value has no position of its own: point at its key
            return _pos_key(node, key)
        line, col = node.lc.value(key)
        return line + 1, col + 1
    except Exception:
        return _pos_key(node, key)


def _pos_item(seq: Any, index: int) -> tuple[int, int]:
    try:
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    except Exception:
        return _pos_node(seq)


def _pos_node(node: Any) -> tuple[int, int]:
    try:
        return node.lc.line + 1, node.lc.col + 1
    except Exception:
        return 1, 1


def read_text(path: Path, display: str) -> str:
    """Read a workout file as UTF-8 text, or raise WorkoutError that says why not."""
    return decode_text(read_bytes(path, display), display)


def read_bytes(path: Path, display: str) -> bytes:
    """Read a workout file's bytes, or raise WorkoutError (``FILE:1:1: no such file``...) that says why not."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WorkoutError([Problem(display, 1, 1, "no such file")]) from None
    except IsADirectoryError:
        raise WorkoutError([Problem(display, 1, 1, "is a directory, not a workout file")]) from None
    except OSError as exc:
        raise WorkoutError([Problem(display, 1, 1, f"cannot read: {exc.strerror or exc}")]) from None


def decode_text(data: bytes, display: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise WorkoutError([Problem(display, 1, 1, f"file is {len(data)} bytes; a workout file is at most 1 MB")])
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise WorkoutError([Problem(display, line, col, "binary data (a NUL byte): not a YAML workout file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise WorkoutError(
            [Problem(display, line, col, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")]
        ) from None


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return line, col


def parse_yaml(text: str, display: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise WorkoutError([Problem(display, line, col, f"malformed YAML: {_one_line(what)}")]) from None
    except (YAMLError, RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise WorkoutError(
            [Problem(display, 1, 1, f"malformed YAML: {_one_line(str(exc)) or type(exc).__name__}")]
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


DefaultTrial = str | Callable[[], str | None] | None
"""A trial to fall back on (e.g. the latest recorded one), or a function that finds it when needed."""


def load_workout(
    path: str | Path,
    *,
    display: str | None = None,
    pace_overrides: Mapping[str, str] | None = None,
    trial_override: str | None = None,
    default_trial: DefaultTrial = None,
) -> Workout:
    """Load and check a workout file. Raises :class:`WorkoutError` (never anything else for bad input)."""
    path = Path(path)
    shown = display or str(path)
    text = read_text(path, shown)
    return load_workout_text(
        text, shown, pace_overrides=pace_overrides, trial_override=trial_override, default_trial=default_trial
    )


def load_workout_text(
    text: str,
    display: str = "<workout>",
    *,
    pace_overrides: Mapping[str, str] | None = None,
    trial_override: str | None = None,
    default_trial: DefaultTrial = None,
) -> Workout:
    """``default_trial`` is used only when the workout names a derived pace and neither ``trial:`` nor
    ``trial_override`` gives a trial (a callable is called only then); the workout's ``trial_source`` is then
    ``"history"``."""
    try:
        doc = parse_yaml(text, display)
        builder = _Builder(display, pace_overrides or {}, trial_override)
        try:
            return builder.build(doc)
        except WorkoutError:
            if default_trial is None or not builder.needs_trial:
                raise
            fallback = default_trial() if callable(default_trial) else default_trial
            if not fallback:
                raise
            return _Builder(display, pace_overrides or {}, None, fallback).build(doc)
    except WorkoutError:
        raise
    except RecursionError:
        raise WorkoutError([Problem(display, 1, 1, "the workout is nested too deeply")]) from None


class _Builder:
    def __init__(
        self,
        source: str,
        pace_overrides: Mapping[str, str],
        trial_override: str | None,
        default_trial: str | None = None,
    ) -> None:
        self.ctx = _Ctx(source)
        self.pace_overrides = pace_overrides
        self.trial_override = trial_override
        self.default_trial = default_trial  # used when there is no other trial (source "history")
        self.paces: dict[str, Pace] = {}
        self.failed_aliases: set[str] = set()  # aliases in `paces:` that got no value (reported where written)
        self.derived_missing = False
        self.needs_trial = False  # a derived pace was named with no trial to derive it from
        self.default_cadence: tuple[Fraction, Fraction] = (Fraction(180), Fraction(180))
        self._memo: dict[int, tuple[Step | Repeat | None, Fraction, int]] = {}

    # ------------------------------------------------------------------ top level
    def build(self, doc: Any) -> Workout:
        ctx = self.ctx
        if doc is None:
            ctx.add((1, 1), "the file is empty: a workout needs 'name:' and 'steps:'")
            raise WorkoutError(ctx.problems)
        if not isinstance(doc, Mapping):
            ctx.add(_pos_node(doc), "a workout is a mapping with 'name:' and 'steps:' at the top level")
            raise WorkoutError(ctx.problems)
        for key in doc:
            if key not in TOP_KEYS:
                hint = did_you_mean(str(key), TOP_KEYS + tuple(KINDS))
                if str(key) in KINDS or str(key) == "repeat":
                    hint = "; steps go in a list under 'steps:'"
                ctx.add(_pos_key(doc, key), f"unknown key '{key}'{hint}")

        name = self._text(doc, "name", required=True)
        notes = self._text(doc, "notes")
        if "cadence" in doc:
            try:
                self.default_cadence = parse_cadence(doc["cadence"])
            except ValueError as exc:
                ctx.add(_pos_value(doc, "cadence"), str(exc))
        voice = "full"
        if "voice" in doc:
            v = doc["voice"]
            v = {False: "off"}.get(v, v) if isinstance(v, bool) else v
            if not isinstance(v, str) or v.lower() not in VOICE_MODES:
                ctx.add(_pos_value(doc, "voice"), f"voice must be one of full, minimal, off (got '{v}')")
            else:
                voice = v.lower()
        trial, trial_source, vdot_value = self._trial(doc)
        self._paces(doc, vdot_value)

        steps: tuple[Step | Repeat, ...] = ()
        total = Fraction(0)
        count = 0
        if "steps" not in doc:
            ctx.add(_pos_node(doc), "missing 'steps:': a workout needs a non-empty list of steps")
        else:
            steps, total, count = self._steps(doc, "steps", depth=0)
            if total > MAX_DURATION:
                ctx.add(_pos_key(doc, "steps"), f"the workout lasts {_hms(total)}, over the 24-hour limit")
            elif count > MAX_STEPS:
                ctx.add(
                    _pos_key(doc, "steps"),
                    f"the workout has {_big(count)} steps once repeats are expanded; the limit is {MAX_STEPS}",
                )
        if ctx.problems:
            raise WorkoutError(sorted(ctx.problems, key=lambda p: (p.line, p.col)))
        return Workout(
            name=name or "",
            steps=steps,
            source=ctx.source,
            notes=notes,
            cadence=self.default_cadence,
            paces=dict(self.paces),
            trial=trial,
            trial_source=trial_source,
            vdot=vdot_value,
            voice=voice,
            total_duration=total,
            total_steps=count,
        )

    def _text(self, node: Any, key: str, required: bool = False) -> str | None:
        if key not in node:
            if required:
                self.ctx.add(_pos_node(node), f"missing '{key}:'")
            return None
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.ctx.add(_pos_value(node, key), f"'{key}' must be text")
            return None
        text = str(value).strip()
        if required and not text:
            self.ctx.add(_pos_value(node, key), f"'{key}' must not be empty")
        return text

    def _trial(self, doc: Any) -> tuple[tuple[Fraction, Fraction] | None, str | None, float | None]:
        source = None
        raw: str | None = None
        if self.trial_override:
            raw, source = self.trial_override, "--trial"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                from cadencecoach.errors import UsageError

                raise UsageError(f"--trial: {exc}") from None
        elif "trial" in doc:
            raw, source = str(doc["trial"]), "workout"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                self.ctx.add(_pos_value(doc, "trial"), str(exc))
                return None, None, None
        elif self.default_trial:
            raw, source = self.default_trial, "history"
            try:
                trial = parse_trial(raw)
            except ValueError as exc:
                self.ctx.add((1, 1), f"your recorded trial: {exc}")
                return None, None, None
        else:
            return None, None, None
        try:
            v = vdot_mod.vdot(float(trial[0]), float(trial[1]))
        except (OverflowError, ValueError):  # a time too long for a float
            v = float("nan")
        if not 10 <= v <= 100:
            where = _pos_value(doc, "trial") if source == "workout" else (1, 1)
            self.ctx.add(where, f"trial '{raw}' gives a VDOT of {v:.1f}, outside any runner's range (10-100)")
            return None, None, None
        return trial, source, v

    def _paces(self, doc: Any, vdot_value: float | None) -> None:
        if vdot_value is not None:
            for pname, s_per_km in vdot_mod.derived_paces(vdot_value).items():
                s_per_m = Fraction(s_per_km).limit_denominator(10**9) / 1000
                self.paces[pname] = Pace(s_per_m, f"{pname} pace")
        else:
            self.derived_missing = True
        written = doc.get("paces") if "paces" in doc else None
        if written is not None and not isinstance(written, Mapping):
            self.ctx.add(_pos_value(doc, "paces"), "'paces' must be a mapping of name: pace, like 'mile: 5:45/mi'")
            written = None
        aliases: list[tuple[str, str, tuple[int, int]]] = []
        written = written or {}
        for key in written:
            value = written[key]
            pname = str(key)
            if not isinstance(value, str):
                self.ctx.add(
                    _pos_value(written, key), f"pace '{pname}' must be like '5:45/mi', '4:30/km' or '1:26/400m'"
                )
                continue
            if "/" not in value:
                aliases.append((pname, value.strip(), _pos_value(written, key)))
                continue
            try:
                self.paces[pname] = parse_pace(value)
            except ValueError as exc:
                self.ctx.add(_pos_value(written, key), str(exc))
        # --pace wins over everything (the contract), so it is in place before aliases follow their targets:
        # `jog: steady` with `--pace steady=4:00/km` is 4:00/km too. An overridden alias is no alias any more.
        for pname, value in self.pace_overrides.items():
            try:
                self.paces[pname] = parse_pace(value)
            except ValueError as exc:
                from cadencecoach.errors import UsageError

                raise UsageError(f"--pace {pname}={value}: {exc}") from None
        pending = {pname: (target, pos) for pname, target, pos in aliases if pname not in self.pace_overrides}
        # An alias may name another alias, above or below it: follow each chain once (linear in the number of
        # aliases, however they are ordered), memoising whether it ended on a value.
        settled: dict[str, bool] = {}
        for start in pending:
            chain: list[str] = []
            on_chain: set[str] = set()
            name = start
            while name in pending and name not in settled and name not in on_chain:
                on_chain.add(name)
                chain.append(name)
                name = pending[name][0]
            if name in on_chain:  # the chain closed on itself
                _, pos = pending[chain[-1]]
                self.ctx.add(
                    pos,
                    f"pace '{chain[-1]}' is an alias of '{name}', and the aliases go round in a circle: give one of "
                    "them a pace like '5:45/mi'",
                )
                ok = False
            elif settled.get(name, name in self.paces and name not in pending):
                for alias in chain:
                    self.paces[alias] = self.paces[name]
                ok = True
            else:
                if name not in settled:  # an unknown name (an alias that failed was reported already)
                    self.ctx.add(pending[chain[-1]][1], self._unknown_pace_message(name))
                ok = False
            for alias in chain:
                settled[alias] = ok
            if not ok:
                self.failed_aliases.update(chain)

    def _unknown_pace_message(self, pname: str) -> str:
        if parse_clock(pname) is not None:
            return f"pace '{pname}' needs a unit: write '{pname}/km', '{pname}/mi' or '{pname}/400m'"
        if pname in DERIVED_PACES and self.derived_missing:
            self.needs_trial = True
            return (
                f"pace '{pname}' is derived from a time trial: add 'trial: 1mi 6:00' (your result) to the workout, "
                f"pass --trial, or define '{pname}' under 'paces:'"
            )
        names = sorted(set(self.paces) | set(DERIVED_PACES))
        return f"unknown pace '{pname}'{did_you_mean(pname, names)}"

    # ------------------------------------------------------------------ steps
    def _steps(self, node: Any, key: str, depth: int) -> tuple[tuple[Step | Repeat, ...], Fraction, int]:
        seq = node[key]
        if not isinstance(seq, list) or isinstance(seq, str):
            self.ctx.add(_pos_value(node, key), "'steps' must be a list of steps (each line starting with '- ')")
            return (), Fraction(0), 0
        if not seq:
            self.ctx.add(_pos_value(node, key), "'steps' is empty: add at least one step")
            return (), Fraction(0), 0
        items: list[Step | Repeat] = []
        total = Fraction(0)
        count = 0
        for i, item in enumerate(seq):
            built, dur, n = self._item(seq, i, item, depth)
            if built is not None:
                items.append(built)
            total += dur
            count += n
        return tuple(items), total, count

    def _item(self, seq: Any, index: int, item: Any, depth: int) -> tuple[Step | Repeat | None, Fraction, int]:
        memo = self._memo.get(id(item))
        if memo is not None:
            return memo
        if not isinstance(item, Mapping):
            self.ctx.add(_pos_item(seq, index), "a step is a mapping like '- run: 400m' or '- repeat: 4'")
            result: tuple[Step | Repeat | None, Fraction, int] = (None, Fraction(0), 0)
        elif "repeat" in item:
            result = self._repeat(item, depth)
        else:
            result = self._step(item)
        if isinstance(item, Mapping):
            self._memo[id(item)] = result
        return result

    def _repeat(self, node: Any, depth: int) -> tuple[Repeat | None, Fraction, int]:
        ctx = self.ctx
        ok = True
        for key in node:
            if key not in REPEAT_KEYS:
                ok = False
                if key in KINDS:
                    ctx.add(
                        _pos_key(node, key),
                        f"'{key}' cannot sit beside 'repeat:'; put it in the repeat's 'steps:' list",
                    )
                else:
                    ctx.add(
                        _pos_key(node, key),
                        f"unknown key '{key}' in a repeat block{did_you_mean(str(key), REPEAT_KEYS)}",
                    )
        count = node["repeat"]
        if isinstance(count, bool) or not isinstance(count, int):
            ctx.add(
                _pos_value(node, "repeat"), f"'repeat' needs a whole number of times, like 'repeat: 10' (got '{count}')"
            )
            ok, count = False, 1
        elif count < 1:
            ctx.add(_pos_value(node, "repeat"), f"'repeat' must be at least 1 (got {count})")
            ok, count = False, 1
        if depth >= MAX_DEPTH:
            ctx.add(_pos_node(node), f"repeats are nested more than {MAX_DEPTH} deep")
            return None, Fraction(0), 0
        if "steps" not in node:
            ctx.add(_pos_key(node, "repeat"), "a repeat needs its own 'steps:' list")
            return None, Fraction(0), 0
        steps, total, n = self._steps(node, "steps", depth + 1)
        if not ok or not steps:
            return None, total * count, n * count
        line, col = _pos_node(node)
        return Repeat(count, steps, line, col), total * count, n * count

    def _step(self, node: Any) -> tuple[Step | None, Fraction, int]:
        ctx = self.ctx
        kinds = [k for k in node if k in KINDS]
        for key in node:
            if key not in KINDS and key not in STEP_KEYS:
                ctx.add(_pos_key(node, key), f"unknown key '{key}'{did_you_mean(str(key), tuple(KINDS) + STEP_KEYS)}")
        if not kinds:
            if not any(k not in STEP_KEYS for k in node):
                ctx.add(
                    _pos_node(node), "step has no kind: give it one of warmup, run, recover, rest, cooldown (or repeat)"
                )
            return None, Fraction(0), 1
        if len(kinds) > 1:
            ctx.add(
                _pos_key(node, kinds[1]),
                f"a step has one kind, but this one has '{kinds[0]}' and '{kinds[1]}': make them two steps",
            )
            return None, Fraction(0), 1
        kind = kinds[0]
        failed = False
        raw = node[kind]
        extent = None
        if raw is None or isinstance(raw, (bool, list, dict, Mapping)):
            ctx.add(_pos_value(node, kind), f"'{kind}' needs an extent: a time like '90s' or a distance like '400m'")
        elif isinstance(raw, (int, float)):
            ctx.add(_pos_value(node, kind), f"'{kind}: {raw}' has no unit: write '{raw}s', '{raw}min' or '{raw}m'")
        else:
            try:
                extent = parse_extent(str(raw))
            except ValueError as exc:
                ctx.add(_pos_value(node, kind), str(exc))
        label = KINDS[kind]
        if "label" in node:
            lab = self._text(node, "label")
            if lab:
                label = lab
        cadence = None
        if "cadence" in node:
            try:
                cadence = parse_cadence(node["cadence"])
            except ValueError as exc:
                ctx.add(_pos_value(node, "cadence"), str(exc))
                failed = True
        click = True
        if "click" in node:
            v = node["click"]
            if isinstance(v, bool):
                click = v
            elif isinstance(v, str) and v.strip().lower() in _ON:
                click = _ON[v.strip().lower()]
            else:
                ctx.add(_pos_value(node, "click"), f"'click' is on or off (got '{v}')")
                failed = True
        effort = None
        if "effort" in node:
            v = node["effort"]
            if isinstance(v, bool) or not isinstance(v, (str, int, float)) or not str(v).strip():
                ctx.add(_pos_value(node, "effort"), "'effort' is text or a percentage like '85%'")
                failed = True
            else:
                effort = f"{v}%" if isinstance(v, (int, float)) else str(v).strip()
        breathing = None
        if "breathing" in node:
            breathing = self._breathing(node)
            failed = failed or breathing is None
        say = self._text(node, "say") if "say" in node else None
        pace, pace_name, pace_spoken = None, None, False
        if "pace" in node:
            pace, pace_name = self._step_pace(node)
            pace_spoken = pace is not None
            failed = failed or pace is None
        if extent is None:
            return None, Fraction(0), 1
        if extent.is_time:
            duration = extent.value
        else:
            if pace is None and "pace" not in node:
                if kind in self.paces:
                    pace, pace_name = self.paces[kind], kind
                elif kind in self.failed_aliases:  # its alias was reported
                    return None, Fraction(0), 1
                else:
                    ctx.add(
                        _pos_value(node, kind),
                        f"a distance step needs a pace: add 'pace:' to the step or define '{kind}' under 'paces:'",
                    )
                    return None, Fraction(0), 1
            if pace is None:
                return None, Fraction(0), 1
            duration = extent.value * pace.s_per_m
        if failed:
            return None, duration, 1
        line, col = _pos_node(node)
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
        )
        return step, duration, 1

    def _breathing(self, node: Any) -> tuple[int, int] | None:
        v = node["breathing"]
        parts = str(v).split(":") if isinstance(v, str) else []
        if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
            a, b = (int(p) for p in parts)
            if 1 <= a <= 8 and 1 <= b <= 8:
                return a, b
        self.ctx.add(
            _pos_value(node, "breathing"), f"'breathing' is inhale:exhale steps, like '3:2' or '2:2' (got '{v}')"
        )
        return None

    def _step_pace(self, node: Any) -> tuple[Pace | None, str | None]:
        v = node["pace"]
        if not isinstance(v, str) or not v.strip():
            self.ctx.add(_pos_value(node, "pace"), "'pace' is a pace name (like 'mile') or a pace like '5:45/mi'")
            return None, None
        v = v.strip()
        if "/" in v:
            try:
                return parse_pace(v), None
            except ValueError as exc:
                self.ctx.add(_pos_value(node, "pace"), str(exc))
                return None, None
        if v in self.paces:
            return self.paces[v], v
        if v not in self.failed_aliases:  # a failed alias was reported where it is written
            self.ctx.add(_pos_value(node, "pace"), self._unknown_pace_message(v))
        return None, None


def _big(n: int) -> str:
    """A count for a message; Python refuses to print ints of more than 4300 digits."""
    return str(n) if n < 10**12 else "more than 10^12"


def _hms(seconds: Fraction) -> str:
    whole = int(seconds)
    if whole >= 10**12:
        return f"{_big(whole // 3600)} hours"
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"
