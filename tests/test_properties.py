"""Property tests (hypothesis): random valid workouts compile to exact timelines, and no input text or bytes
makes the loader raise anything but WorkoutError."""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cadencecoach.core.timeline import Timeline, compile_workout, cue_texts
from cadencecoach.errors import WorkoutError
from cadencecoach.workout.loader import load_workout, load_workout_text
from cadencecoach.workout.model import KINDS

MILE = Fraction(1609344, 1000)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------- workout generator


@dataclass(frozen=True)
class GStep:
    kind: str
    extent: str  # as written
    duration: Fraction  # seconds, computed here from the extent and pace
    options: tuple[tuple[str, str], ...]  # extra "key: value" lines
    cadence: tuple[int, int] | None
    click: bool


@dataclass(frozen=True)
class GRepeat:
    count: int
    items: tuple[GStep | GRepeat, ...]


@dataclass(frozen=True)
class GWorkout:
    cadence: tuple[int, int]
    cadence_text: str | None
    items: tuple[GStep | GRepeat, ...]


def _tenths(n: int) -> tuple[str, Fraction]:
    return f"{n // 10}.{n % 10}s", Fraction(n, 10)


def _just_past_a_beat(k: int) -> tuple[str, Fraction]:
    """k beats at 180 spm plus under half a sample: the last beat nearly falls on the boundary."""
    hundred_thousandths = -(-k * 100000 // 3)
    return f"{hundred_thousandths // 100000}.{hundred_thousandths % 100000:05d}s", Fraction(hundred_thousandths, 100000)


TIME_EXTENTS = st.one_of(
    st.integers(1, 400).map(lambda n: (f"{n}s", Fraction(n))),
    st.integers(1, 3000).map(_tenths),
    st.integers(1, 5).map(lambda n: (f"{n}min", Fraction(60 * n))),
    st.integers(1, 600).map(lambda n: (f"{n // 60}:{n % 60:02d}", Fraction(n))),
    st.tuples(st.integers(1, 3), st.integers(1, 59)).map(lambda p: (f"{p[0]}min{p[1]}s", Fraction(60 * p[0] + p[1]))),
    st.integers(1, 40).map(lambda n: (f"{n} s", Fraction(n))),
    st.integers(1, 900).map(_just_past_a_beat),
)

DISTANCES = st.one_of(
    st.integers(50, 3000).map(lambda n: (f"{n}m", Fraction(n))),
    st.integers(1, 30).map(lambda n: (f"{n // 10}.{n % 10}km", Fraction(n, 10) * 1000)),
    st.sampled_from(["0.25mi", "0.5mi", "0.75mi", "1mi"]).map(lambda s: (s, Fraction(s[:-2]) * MILE)),
)

PACE_UNITS = {
    "km": (Fraction(1000), 150, 480),
    "mi": (MILE, 240, 780),
    "400m": (Fraction(400), 60, 190),
    "200m": (Fraction(200), 30, 95),
    "800m": (Fraction(800), 120, 380),
    "1000m": (Fraction(1000), 150, 480),
}


@st.composite
def paces(draw: st.DrawFn) -> tuple[str, Fraction]:
    """A literal pace and its seconds per metre."""
    unit = draw(st.sampled_from(sorted(PACE_UNITS)))
    meters, lo, hi = PACE_UNITS[unit]
    secs = draw(st.integers(lo, hi))
    return f"{secs // 60}:{secs % 60:02d}/{unit}", Fraction(secs) / meters


CADENCES = st.one_of(
    st.none(),
    st.integers(60, 300).map(lambda c: (c, c)),
    st.tuples(st.integers(60, 300), st.integers(60, 300)),
)


@st.composite
def steps(draw: st.DrawFn) -> GStep:
    kind = draw(st.sampled_from(list(KINDS)))
    options: list[tuple[str, str]] = []
    if draw(st.booleans()):
        extent, duration = draw(TIME_EXTENTS)
    else:
        extent, meters = draw(DISTANCES)
        pace_text, s_per_m = draw(paces())
        options.append(("pace", pace_text))
        duration = meters * s_per_m
    cadence = draw(CADENCES)
    if cadence is not None:
        a, b = cadence
        options.append(("cadence", str(a) if a == b and draw(st.booleans()) else f"{a}-{b}"))
    click = draw(st.sampled_from([True, True, True, False]))
    if not click:
        options.append(("click", "off"))
    elif draw(st.booleans()):
        options.append(("click", "on"))
    breathing = draw(st.sampled_from([None, None, "3:2", "2:2"]))
    if breathing:
        options.append(("breathing", breathing))
    if draw(st.integers(0, 4)) == 0:
        options.append(("say", "Stay tall."))
    if draw(st.integers(0, 4)) == 0:
        options.append(("effort", "85%"))
    return GStep(kind, extent, duration, tuple(options), cadence, click)


ITEMS = st.recursive(
    steps(),
    lambda children: st.builds(GRepeat, st.integers(1, 4), st.lists(children, min_size=1, max_size=3).map(tuple)),
    max_leaves=10,
)


@st.composite
def workouts(draw: st.DrawFn) -> GWorkout:
    cad = draw(st.one_of(st.none(), st.integers(60, 300)))
    items = tuple(draw(st.lists(ITEMS, min_size=1, max_size=5)))
    cadence = (cad, cad) if cad is not None else (180, 180)
    return GWorkout(cadence, None if cad is None else str(cad), items)


def emit(items: tuple[GStep | GRepeat, ...], indent: int) -> Iterator[str]:
    pad = " " * indent
    for item in items:
        if isinstance(item, GRepeat):
            yield f"{pad}- repeat: {item.count}"
            yield f"{pad}  steps:"
            yield from emit(item.items, indent + 4)
        else:
            yield f"{pad}- {item.kind}: {item.extent}"
            for key, value in item.options:
                yield f"{pad}  {key}: {value}"


def to_yaml(w: GWorkout) -> str:
    lines = ["name: generated"]
    if w.cadence_text is not None:
        lines.append(f"cadence: {w.cadence_text}")
    lines.append("steps:")
    lines.extend(emit(w.items, 2))
    return "\n".join(lines) + "\n"


def flatten(items: tuple[GStep | GRepeat, ...]) -> Iterator[GStep]:
    for item in items:
        if isinstance(item, GRepeat):
            for _ in range(item.count):
                yield from flatten(item.items)
        else:
            yield item


def count_flat(items: tuple[GStep | GRepeat, ...]) -> int:
    return sum(i.count * count_flat(i.items) if isinstance(i, GRepeat) else 1 for i in items)


def compiled(w: GWorkout, sr: int, speech: dict[str, np.ndarray] | None = None) -> tuple[Timeline, list[GStep]]:
    assume(count_flat(w.items) <= 150)
    flat = list(flatten(w.items))
    assume(sum(s.duration for s in flat) <= 4 * 3600)
    wk = load_workout_text(to_yaml(w), "gen.yaml")
    return compile_workout(wk, sr, speech=speech), flat


RATES = st.sampled_from([8000, 22050, 44100, 48000])


# ------------------------------------------------------------------------------------- properties


@FAST
@given(workouts(), RATES)
def test_generated_workouts_compile_with_exact_boundaries(w: GWorkout, sr: int) -> None:
    tl, flat = compiled(w, sr)
    assert len(tl.steps) == len(flat)
    t = Fraction(0)
    for step, g in zip(tl.steps, flat, strict=True):
        assert step.kind == g.kind
        assert step.start_s == t
        assert step.end_s == t + g.duration
        assert step.start == round(t * sr)
        assert step.end == round((t + g.duration) * sr)
        assert step.click is g.click
        a, b = g.cadence or w.cadence
        assert (step.cadence_start, step.cadence_end) == (a, b)
        t += g.duration
    assert tl.duration_s == t
    assert tl.end == round(t * sr)
    j = tl.to_json()
    assert len(j["steps"]) == len(flat)
    assert j["clicks"] == sorted(j["clicks"])


@FAST
@given(workouts(), RATES)
def test_clicks_ascending_inside_clicking_steps_and_on_the_grid(w: GWorkout, sr: int) -> None:
    tl, flat = compiled(w, sr)
    clicks = tl.clicks
    assert np.all(np.diff(clicks) > 0)
    starts = np.array([s.start for s in tl.steps])
    owner = np.searchsorted(starts, clicks, side="right") - 1
    for onset, i in zip(clicks.tolist(), owner.tolist(), strict=True):
        step = tl.steps[i]
        assert step.click, f"click at {onset} inside silent step {i}"
        assert step.start <= onset < step.end
    for i, step in enumerate(tl.steps):
        mine = clicks[owner == i]
        if not step.click:
            assert len(mine) == 0
            continue
        gaps = np.diff(mine)
        a, b = float(step.cadence_start), float(step.cadence_end)
        if a == b:
            assert np.all(np.abs(gaps - 60 / a * sr) <= 1.0)
        else:
            assert np.all(gaps >= 60 / max(a, b) * sr - 1)
            assert np.all(gaps <= 60 / min(a, b) * sr + 1)
    # per clicking run: a click on its first sample, and one click per whole beat of the phase integral
    for _, run in itertools.groupby(zip(tl.steps, flat, strict=True), key=lambda p: p[0].click):
        run = list(run)
        if not run[0][0].click:
            continue
        first, last = run[0][0], run[-1][0]
        beats = sum((s.cadence_start + s.cadence_end) / 2 * g.duration / 60 for s, g in run)
        n = int(np.count_nonzero((clicks >= first.start) & (clicks < last.end)))
        assert n in (math.ceil(beats), math.ceil(beats) - 1)
        assert clicks[np.searchsorted(clicks, first.start)] == first.start


@FAST
@given(workouts(), RATES)
def test_kept_cues_never_overlap(w: GWorkout, sr: int) -> None:
    tl, _ = compiled(w, sr)
    _assert_cues_ok(tl)


@FAST
@given(workouts(), st.data())
def test_kept_cues_never_overlap_with_any_speech_lengths(w: GWorkout, data: st.DataObject) -> None:
    sr = 8000
    assume(count_flat(w.items) <= 150)
    assume(sum(s.duration for s in flatten(w.items)) <= 4 * 3600)  # as compiled() does: the loader refuses 24 h
    wk = load_workout_text(to_yaml(w), "gen.yaml")
    texts = sorted(cue_texts(wk))
    lengths = data.draw(st.lists(st.integers(1, 12 * sr), min_size=len(texts), max_size=len(texts)))
    speech = {t: np.zeros(n, np.float32) for t, n in zip(texts, lengths, strict=True)}
    tl, _ = compiled(w, sr, speech)
    _assert_cues_ok(tl)
    for cue in tl.cues:
        assert cue.audio is not None
        assert len(cue.audio) == cue.length


def _assert_cues_ok(tl: Timeline) -> None:
    cues = sorted(tl.cues, key=lambda c: c.at)
    for a, b in itertools.pairwise(cues):
        assert a.end <= b.at, (a.kind, a.text, b.kind, b.text)
    for c in cues:
        assert c.length > 0
        assert c.at >= 0
        assert c.end <= tl.length
    countdown_by_step: dict[int, list[int]] = {}
    for c in cues:
        if c.kind == "countdown":
            countdown_by_step.setdefault(c.step_index, []).append(c.end)
    for index, ends in countdown_by_step.items():
        assert max(ends) <= tl.steps[index].end  # the last word is over before the boundary
    finish = [c for c in cues if c.kind == "finish"]
    assert all(c.at == tl.end for c in finish)


# ------------------------------------------------------------------------------------- loader fuzz


def _load_text(text: str) -> None:
    try:
        load_workout_text(text, "fuzz.yaml")
    except WorkoutError as err:
        assert err.problems
        for p in err.problems:
            assert p.line >= 1
            assert p.col >= 1
            assert str(p).startswith(f"fuzz.yaml:{p.line}:{p.col}: ")


@FUZZ
@given(st.text())
def test_loader_only_raises_workout_error_on_any_text(text: str) -> None:
    _load_text(text)


TOKENS = st.sampled_from(
    [
        "name: x\n", "steps:\n", "  - ", "    ", "- ", "run: ", "recover: ", "repeat: ", "cadence: ", "pace: ",
        "paces:\n", "trial: ", "voice: ", "click: ", "breathing: ", "label: ", "effort: ", "say: ", "steps: ",
        "90", "90s", "1:30", "1:05:00", "400m", "1.2km", "1mi", "0s", "-5s", "1h15m", "170-180", "301", "0",
        "100000", "5:45/mi", "1:26/400m", "mile", "threshold", "1mi 6:00", "5k 19:57", "off", "on", "3:2",
        "&a ", "*a", "&b ", "*b", "<<: *a\n", "!!binary ", "!!set ", "!!omap ", "!tag ", "? ", ": ", "[", "]",
        "{", "}", ", ", "\n", "\t", "'", '"', "#", "|\n", ">\n", "---\n", "...\n", "%YAML 1.1\n", "~", "null",
        ".nan", ".inf", "1e400", "9" * 30, "\ufeff", "é", "\x85", "\u2028",
    ]
)  # fmt: skip


@FUZZ
@given(st.lists(TOKENS, max_size=40).map("".join))
def test_loader_only_raises_workout_error_on_yamlish_text(text: str) -> None:
    _load_text(text)


@FUZZ
@given(st.one_of(st.binary(), st.text().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_loader_only_raises_workout_error_on_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="cadencecoach-fuzz-") as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        try:
            load_workout(path, display="fuzz.yaml")
        except WorkoutError as err:
            assert err.problems
            assert all(p.file == "fuzz.yaml" and p.line >= 1 and p.col >= 1 for p in err.problems)


@given(
    st.fractions(min_value=-(10**6), max_value=10**7, max_denominator=10**6),
    st.sampled_from([8000, 22050, 44100, 48000, 96000, 192000]),
)
def test_sample_rounding_in_integers_is_round_half_even(t: Fraction, sr: int) -> None:
    """``timeline._sample`` places every boundary, click and cue: its integer arithmetic must be exactly
    ``round(t * sr)`` (half to even), also on exact halves."""
    from cadencecoach.core.timeline import _sample

    assert _sample(t, sr) == round(t * sr)
    half = Fraction(2 * round(t * sr) + 1, 2 * sr)  # exactly half a sample past a sample
    assert _sample(half, sr) == round(half * sr)
