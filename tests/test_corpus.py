"""The corpus test: every real workout file in ``../shared/corpus/`` (zwo/, icu/, fit/) against what the file
itself says, and through YAML and FIT and back.

For each file, :mod:`corpus_reference` reads the file WITHOUT cadencecoach (ElementTree, a small intervals.icu
parser, fitdecode) and gives its steps, lengths, repeats, texts and hints; its docstring lists the decisions
(what a distance step at a pace relative to threshold is, ``m`` is minutes, ...). Then:

(a) ``plan FILE --json --trial "5k 20:00" --open-step 60s``: the expanded step count, every step's length, the
    total, the kinds, cadences and paces the file fixes, and **no silent loss**: every text the file asks to be
    spoken is spoken (at its time, when the file fixes it) or named in a warning; every target is a pace or
    spoken effort text; every slope is spoken as the incline; every hint (``'400m' is 400 minutes``) is
    printed. The files of :data:`REFUSED` must instead be refused with the reasons listed there.
(b) ``convert FILE -o x.yaml`` (same options), then ``plan x.yaml --json``: equal to (a)'s plan, all of it, but
    for the import warnings (``FILE:LINE:COL: ...``, which only the original file has).
(c) ``convert FILE -o x.fit``: x.fit read back with fitdecode (CRC checked): step count, time and distance
    durations (to the ms, the cm), open steps and repeat counts against the file's own numbers. That x.fit
    imports back to the same steps (kinds, times to 1 ms, distances, cadences, targets, texts) is checked for
    every corpus file, on the model, by tests/test_fit_import.py ``test_corpus_imports_round_trip_through_fit``
    (the CLI reading a .fit by its ``test_cli_validate_plan_convert``).

Speed: the CLI runs in-process (``typer.testing.CliRunner``, the ``tones`` speech engine: no synthesis), each
file's plan is made once and shared by the three checks; one real subprocess (``test_cli_in_a_subprocess``)
checks that the in-process runs are what a shell sees.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    pytest.skip("../shared/corpus/ is not here (a user's clone has none)", allow_module_level=True)

from typer.testing import CliRunner  # noqa: E402

import corpus_reference as reference  # noqa: E402
from cadencecoach.cli.app import app  # noqa: E402
from corpus_reference import OPEN_STEP, TRIAL, Reference, RefRepeat, RefStep, normalized  # noqa: E402
from extra_deps import skip_reason_extra, skip_reason_module  # noqa: E402

FILES = sorted(CORPUS.glob("zwo/*.zwo")) + sorted(CORPUS.glob("icu/*.txt")) + sorted(CORPUS.glob("fit/*.fit"))
NAMES = [f.relative_to(CORPUS).as_posix() for f in FILES]

REFUSED: dict[str, tuple[str | re.Pattern[str], ...]] = {
    # file: what its refusal must say on stderr of `validate` (substrings, or patterns searched for); a
    # refusal for the 24-hour limit must also give the length the file's own numbers add up to
    "icu/run-mn-400m-repeats.txt": ("over the 24-hour limit", "'400m' is 400 minutes", "write metres as 'mtr'"),
    "icu/run-mn-800m-repeats.txt": (
        "over the 24-hour limit",
        "'100m' is 100 minutes",
        "'800m' is 800 minutes",
        "'400m' is 400 minutes",
        "write metres as 'mtr'",
    ),
    # Zwift's rest day has no step at all: said as such, not as a broken file
    "zwo/bike-elj-rest-day.zwo": ("<RestDay>: this file is a rest day, with no steps: nothing to run today",),
}
"""The corpus files cadencecoach must refuse, and why. The 24-hour ones are intervals.icu texts that wrote
``400m`` meaning metres: in intervals.icu ``m`` is minutes, so the workouts last over 100 hours; the hint that
says so (and how to write metres) must come with the error."""

OPTIONS = ("--trial", TRIAL, "--open-step", OPEN_STEP)
PLAN = ("--json", "--voice-engine", "tones", *OPTIONS)
MS = 0.001
EXACT = 1e-6  # plan --json rounds times to 9 decimals; sums of exact fractions stay within this
SAID = ("say", "announce")  # a textevent in a step's first 3 s is spoken after its announcement
EFFORT_WORDS = re.compile(r"(?i)%|percent|zone|watt|heart|power|ftp|rpe|effort|bpm|free")
FIT_SKIP = skip_reason_extra("fit") or skip_reason_module("fitdecode")
"""The FIT checks need the exporter (the fit extra) and the reader of the test (fitdecode, dev)."""


# ------------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        assert self.code == 0, self.stderr
        data: dict[str, Any] = json.loads(self.stdout)
        return data

    @property
    def warnings(self) -> list[str]:
        return [line.removeprefix("warning: ") for line in self.stderr.splitlines() if line.startswith("warning: ")]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CADENCECOACH_HOME for the module (its speech cache is shared by every plan)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted files go."""
    return tmp_path_factory.mktemp("converted")


_RUNS: dict[tuple[str, ...], Run] = {}
_REFERENCES: dict[str, Reference] = {}


def cc(home: Path, *args: str) -> Run:
    """``cadencecoach ARGS`` in-process (each distinct command once per module)."""
    if args not in _RUNS:
        result = CliRunner().invoke(app, list(args), env={"CADENCECOACH_HOME": str(home), "COLUMNS": "200"})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        _RUNS[args] = Run(result.exit_code, result.stdout, result.stderr)
    return _RUNS[args]


def plan(home: Path, path: Path) -> Run:
    return cc(home, "plan", str(path), *PLAN)


def ref(name: str) -> Reference:
    if name.endswith(".fit") and (reason := skip_reason_module("fitdecode")):
        pytest.skip(f"the test reads FIT files with fitdecode: {reason}")
    if name not in _REFERENCES:
        _REFERENCES[name] = reference.read(CORPUS / name)
    return _REFERENCES[name]


def converted(home: Path, work: Path, name: str, suffix: str) -> Path:
    out = work / (name.replace("/", "--") + suffix)
    run = cc(home, "convert", str(CORPUS / name), "-o", str(out), *OPTIONS)
    assert run.code == 0, f"convert {name} -o {out.name}: exit {run.code}\n{run.stderr}"
    return out


IMPORTED = [n for n in NAMES if n not in REFUSED]


def _fit_only(names: list[str]) -> list[Any]:
    marks = [pytest.mark.skip(reason=FIT_SKIP)] if FIT_SKIP else []
    return [pytest.param(n, marks=marks, id=n) for n in names]


# -------------------------------------------------------------------------------------- (a) import checks


def listing(name: str, errors: list[str], most: int = 25) -> str:
    more = f"\n  ... and {len(errors) - most} more" if len(errors) > most else ""
    return f"{name}:\n  " + "\n  ".join(errors[:most]) + more


def _close(a: float, b: float | Fraction, tol: float) -> bool:
    return abs(a - float(b)) <= tol


def _number(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


def _announcements(data: dict[str, Any]) -> list[str]:
    """Each plan step's announcement (or, dropped, the warning that names it)."""
    out = []
    for step in data["steps"]:
        text = next(
            (c["text"] for c in data["cues"] if c["kind"] == "announce" and _close(c["at_s"], step["start_s"], MS)),
            None,
        )
        if text is None:
            text = next((w for w in data["warnings"] if "announce '" in w and f"{step['start_s']:.2f} s" in w), "")
        out.append(text)
    return out


def _check_steps(r: Reference, data: dict[str, Any], errors: list[str]) -> list[RefStep]:
    steps = data["steps"]
    k = r.fit_unknown(len(steps))
    if k is None:
        errors.append(f"{len(steps)} steps in the plan; the file has {len(r.flat())}")
        return []
    flat = r.flat(k)
    announced = _announcements(data)
    for i, (want, got) in enumerate(zip(flat, steps, strict=True)):
        at = f"step {i + 1} ({want.where})"
        length = got["end_s"] - got["start_s"]
        if want.seconds is not None and not _close(length, want.seconds, EXACT):
            errors.append(f"{at}: lasts {length} s; the file says {float(want.seconds)} s")
        if want.kind is not None and got["kind"] != want.kind:
            errors.append(f"{at}: kind {got['kind']}; the file says {want.kind}")
        if want.cadence is not None:
            have = (got["cadence_start"], got["cadence_end"])
            if not all(_close(h, w, EXACT) for h, w in zip(have, want.cadence, strict=True)):
                errors.append(f"{at}: cadence {have}; the file says {tuple(float(c) for c in want.cadence)}")
        if want.pace_s_per_km is not None:
            pace = got["pace_s_per_km"]
            if pace is None or not _close(pace, want.pace_s_per_km, 0.02):
                errors.append(f"{at}: pace {pace} s/km; the file says {float(want.pace_s_per_km):.2f}")
        elif want.needs_pace and got["pace_s_per_km"] is None:
            errors.append(f"{at}: no pace, though --trial gives the reference of its target")
        if want.effort and not EFFORT_WORDS.search(announced[i]):
            errors.append(f"{at}: its target (no pace equivalent) is not spoken: {announced[i]!r}")
        if want.incline is not None:
            said = rf"(?i)\b{'in' if want.incline >= 0 else 'de'}cline {re.escape(_number(abs(want.incline)))} percent"
            if not re.search(said, announced[i]):
                errors.append(f"{at}: slope {_number(want.incline)}% not spoken: {announced[i]!r}")
        if want.name and normalized(want.name.strip("_ ")) not in normalized(f"{got['label']} {announced[i]}"):
            errors.append(f"{at}: its name {want.name!r} is lost (label {got['label']!r})")
    total = r.duration(k)
    if total is not None and not _close(data["duration_s"], total, EXACT):
        errors.append(f"the plan lasts {data['duration_s']} s; the file says {float(total)} s")
    return flat


def _check_texts(r: Reference, data: dict[str, Any], warnings: list[str], errors: list[str]) -> None:
    cues = [(c["at_s"], c["kind"], normalized(c["text"])) for c in data["cues"]]
    warned = [normalized(w) for w in (*warnings, *data["warnings"])]
    for t in r.texts:
        if t.dist_m is not None and t.step_index is not None:  # a distoffset: at the pace plan gives its step
            step = data["steps"][t.step_index] if t.step_index < len(data["steps"]) else None
            if step is not None and step["pace_s_per_km"] is not None:
                local = float(t.dist_m) * step["pace_s_per_km"] / 1000
                if local >= step["end_s"] - step["start_s"]:
                    t = replace(t, past_end=True)
                else:
                    t = replace(t, at_s=Fraction(step["start_s"] + local))
        text = normalized(t.text)
        if not t.joined and any(text in w for w in warned):
            continue  # named in a warning: dropped, but not silently (a line of a message is never dropped)
        if t.past_end:
            errors.append(f"{t.where}: {t.text!r} is past its block's end, and no warning says so")
        elif t.at_s is not None:
            at = float(t.at_s)
            if not any(
                text in c and ((kind == "custom" and _close(s, at, MS)) or (kind in SAID and at - 3 <= s < at + 30))
                for s, kind, c in cues
            ):
                near = [c for c in data["cues"] if abs(c["at_s"] - at) < 5]
                errors.append(f"{t.where}: {t.text!r} (at {at:.3f} s) is not spoken there; cues near: {near}")
        elif not any(text in c for _, _, c in cues) and not (t.needs_pace and any("distoffset" in w for w in warned)):
            errors.append(f"{t.where}: {t.text!r} is neither spoken nor named in a warning")


def _check_hints(r: Reference, warnings: list[str], errors: list[str]) -> None:
    for hint in r.hints:
        if not any(hint in w for w in warnings):
            errors.append(f"no warning says {hint!r}")
    for line, token in r.unknown_tokens:
        if not any(f":{line}:" in w and token in w for w in warnings):
            errors.append(f"line {line}: {token!r} is not a target the format knows, and no warning says so")


def _check_warnings(path: Path, warnings: list[str], data: dict[str, Any], errors: list[str]) -> None:
    """Import warnings: one line per distinct problem (grouped), and listed in plan --json too."""
    seen: dict[str, str] = {}
    for w in warnings:
        message = re.sub(r"^.*?:\d+:\d+: ", "", w)
        if message in seen:
            errors.append(f"the same warning twice: {seen[message]!r} and {w!r}")
        seen[message] = w
        if w.startswith(f"{path}:") and w not in data["warnings"]:
            errors.append(f"an import warning is not in plan --json's warnings: {w!r}")


NOISE = (
    re.compile(r"<(uniqueId|legacyIdHash)>"),  # Zwift's own metadata: nothing the runner can act on
    re.compile(r"distoffset=\"0\""),  # an offset of 0 is the step's start, whatever the pace
)


def _check_noise(warnings: list[str], data: dict[str, Any], errors: list[str]) -> None:
    for w in warnings:
        if any(p.search(w) for p in NOISE):
            errors.append(f"a warning about nothing the runner can change: {w!r}")
    for c in data["cues"]:
        if c["kind"] == "halfway" and re.search(r"\d\.\d+ second", c["text"]):
            errors.append(f"halfway at {c['at_s']} s speaks a fraction of a second: {c['text']!r}")


def _refusal(home: Path, name: str) -> None:
    run = cc(home, "validate", str(CORPUS / name), "--trial", TRIAL)
    assert run.code == 2, f"{name} must be refused; validate said (exit {run.code}):\n{run.stdout}{run.stderr}"
    for want in REFUSED[name]:
        found = want.search(run.stderr) if isinstance(want, re.Pattern) else want in run.stderr
        assert found, f"{name}: the refusal does not say {getattr(want, 'pattern', want)!r}:\n{run.stderr}"
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize("name", NAMES)
def test_import(home: Path, name: str) -> None:
    """(a) The file imports as the file says (or is refused, as REFUSED says)."""
    path = CORPUS / name
    r = ref(name)
    if name in REFUSED:
        total = r.duration(1)
        _refusal(home, name)
        if any("24-hour" in str(getattr(w, "pattern", w)) for w in REFUSED[name]):
            assert total is not None and total > 24 * 3600, f"{name}: the reference says it lasts {total} s"
            seconds = round(total)
            clock = f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
            stderr = cc(home, "validate", str(path), "--trial", TRIAL).stderr
            assert f"lasts {clock}" in stderr, f"{name}: the file's steps add up to {clock}:\n{stderr}"
        return
    run = plan(home, path)
    assert run.code == 0, f"{name} does not import (exit {run.code}):\n{run.stderr}"
    data = run.json
    errors: list[str] = []
    if r.name and data["name"] != r.name:
        errors.append(f"name {data['name']!r}; the file says {r.name!r}")
    _check_steps(r, data, errors)
    _check_texts(r, data, run.warnings, errors)
    _check_hints(r, run.warnings, errors)
    _check_warnings(path, run.warnings, data, errors)
    _check_noise(run.warnings, data, errors)
    assert not errors, listing(name, errors)


def test_every_refused_file_is_in_the_corpus() -> None:
    assert set(REFUSED) <= set(NAMES)


# ----------------------------------------------------------------------------------------- (b) YAML and back


def _without_import_warnings(data: dict[str, Any], source: Path) -> dict[str, Any]:
    prefix = f"{source}:"
    return {**data, "warnings": [w for w in data["warnings"] if not w.startswith(prefix)]}


def _first_difference(a: Any, b: Any, at: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            diff = _first_difference(a.get(key), b.get(key), f"{at}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff = _first_difference(x, y, f"{at}[{i}]")
            if diff:
                return diff
        return f"{at}: {len(a)} items, then {len(b)}" if len(a) != len(b) else None
    return None if a == b else f"{at}: {a!r} from the file, {b!r} from the YAML"


@pytest.mark.parametrize("name", IMPORTED)
def test_yaml_round_trip(home: Path, work: Path, name: str) -> None:
    """(b) plan --json of the converted YAML is the file's."""
    source = CORPUS / name
    original = plan(home, source)
    if original.code != 0:
        pytest.fail(f"{name} does not import (test_import says why)")
    yaml = converted(home, work, name, ".yaml")
    back = plan(home, yaml)
    assert back.code == 0, f"{yaml.name} does not load back:\n{back.stderr}"
    want, got = _without_import_warnings(original.json, source), _without_import_warnings(back.json, yaml)
    if want != got:
        pytest.fail(f"{name}: plan --json of the YAML differs, first at {_first_difference(want, got)}")


# ------------------------------------------------------------------------------------------ (c) FIT and back


def _shape(items: tuple[RefStep | RefRepeat, ...], unknown: int) -> list[tuple[str, Fraction | None]]:
    """Steps as (duration type, written length: ms, cm) in the order they run."""
    out: list[tuple[str, Fraction | None]] = []
    for s in Reference(items).flat(unknown):
        if s.what == "time":
            assert s.written_s is not None
            out.append(("time", s.written_s * 1000))
        elif s.what == "distance":
            assert s.meters is not None
            out.append(("distance", s.meters * 100))
        else:
            out.append((s.what, None))
    return out


def _read_fit(path: Path) -> tuple[dict[str, list[dict[str, Any]]], tuple[RefStep | RefRepeat, ...]]:
    msgs = reference.fit_messages(path)
    return msgs, reference.fit_structure(msgs.get("workout_step", []))


@pytest.mark.parametrize("name", _fit_only(IMPORTED))
def test_fit_export(home: Path, work: Path, name: str) -> None:
    """(c) The FIT file holds the file's steps: durations to the ms / cm, open steps, repeats."""
    original = plan(home, CORPUS / name)
    if original.code != 0:
        pytest.fail(f"{name} does not import (test_import says why)")
    r = ref(name)
    k = r.fit_unknown(len(original.json["steps"])) or 1
    out = converted(home, work, name, ".fit")
    msgs, items = _read_fit(out)
    (file_id,) = msgs["file_id"]
    assert file_id["type"] == "workout"
    (wkt,) = msgs["workout"]
    assert wkt["num_valid_steps"] == len(msgs["workout_step"])
    written = _shape(items, 1)
    want = _shape(r.items, k)
    assert len(written) == len(want), f"{name}: {len(written)} steps in the FIT file; the file has {len(want)}"
    errors = []
    for i, ((w_what, w_raw), (g_what, g_raw)) in enumerate(zip(want, written, strict=True)):
        if w_what == "other":
            continue  # a condition cadencecoach mapped (its import warned): not the file's own numbers
        if g_what != w_what:
            errors.append(f"step {i + 1}: {g_what} in the FIT file; the file has {w_what}")
        elif w_raw is not None and (g_raw is None or abs(g_raw - w_raw) > Fraction(1, 2)):
            unit = "ms" if w_what == "time" else "cm"
            errors.append(f"step {i + 1}: {g_raw} {unit} in the FIT file; the file has {float(w_raw)} {unit}")
    source_repeats = [(rep.count, _shape(rep.items, k)) for rep in r.repeats()]
    for rep in Reference(items).repeats():
        body = _shape(rep.items, 1)
        if not any(count in (rep.count, None) and shape == body for count, shape in source_repeats):
            counts = sorted({c for c, _ in source_repeats if c is not None})
            same = any(count in (rep.count, None) for count, _ in source_repeats)
            what = "its steps differ from the file's" if same else f"the file's repeats are {counts} times"
            errors.append(f"a repeat {rep.count} x {len(body)} steps in the FIT file: {what}")
    assert not errors, listing(name, errors)


# ------------------------------------------------------------------------------------- a real process, once


def test_cli_in_a_subprocess(home: Path) -> None:
    """What the in-process runs see is what a shell sees: one plan, one refusal, through a real process."""
    env = {**os.environ, "CADENCECOACH_HOME": str(home)}
    name = "zwo/bike-nene-ftp-test.zwo"
    p = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "plan", str(CORPUS / name), *PLAN],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    inproc = plan(home, CORPUS / name)
    assert (p.returncode, p.stderr) == (inproc.code, inproc.stderr)
    if p.returncode == 0:
        assert json.loads(p.stdout) == inproc.json
    refused = "icu/run-mn-400m-repeats.txt"
    p = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "validate", str(CORPUS / refused), "--trial", TRIAL],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 2 and all(str(w) in p.stderr for w in REFUSED[refused]), p.stderr
