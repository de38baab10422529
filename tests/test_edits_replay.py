"""The pure halves of issue 14's live controls: ``p`` (replay_step), the lap key's lag (end_step's lag_s), the
step's bounds, the "Skipped."/"Back to" prefix, the fading voice mute (voice_view), and the confirmations'
words (core.confirm, speech.phrases.Vocabulary). Hypothesis generates the playing segments (steps split by
live changes, steps already replayed) and checks that every edit keeps the timeline exact."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadencecoach.core import confirm
from cadencecoach.core.edits import (
    add_cue,
    click_timeline,
    end_step,
    prefix_cue,
    replay_step,
    step_bounds,
    voice_view,
)
from cadencecoach.core.timeline import CompileOptions, Cue, Segment, Timeline, compile_segments
from cadencecoach.speech.phrases import Vocabulary, join_words
from cadencecoach.workout.model import FlatStep, Step
from cadencecoach.workout.units import Extent

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SR = 1000

# ------------------------------------------------------------------------------------------ generators


def make_step(
    index: int, start: Fraction, length: Fraction, cadence: tuple[int, int], click: bool, **kw: object
) -> Segment:
    """One planned step (one segment), as the compiler makes it from a workout."""
    step = Step(
        kind=str(kw.get("kind", "run")),
        extent=Extent("time", length, length, "s"),
        duration=length,
        label=str(kw.get("label", "Run")),
        cadence=(Fraction(cadence[0]), Fraction(cadence[1])),
        click=click,
    )
    rep = kw.get("rep")
    flat = FlatStep(index, step, rep, start, start + length)  # type: ignore[arg-type]
    return Segment(flat, start, start + length, step.cadence, click)  # type: ignore[arg-type]


def split(seg: Segment, cuts: Sequence[int]) -> list[Segment]:
    """`seg` split at the given percentages of its length (as a live cadence change splits a step)."""
    points = sorted({seg.start + (seg.end - seg.start) * Fraction(c, 100) for c in cuts})
    bounds = [seg.start, *points, seg.end]
    a, b = seg.cadence
    span = seg.end - seg.start

    def tempo(t: Fraction) -> Fraction:
        return a + (b - a) * (t - seg.start) / span

    return [
        replace(seg, start=s, end=e, cadence=(tempo(s), tempo(e)), first=k == 0)
        for k, (s, e) in enumerate(itertools.pairwise(bounds))
    ]


LENGTHS = st.one_of(
    st.integers(1, 600).map(Fraction),
    st.tuples(st.integers(1, 6000), st.sampled_from([3, 7, 10, 48000])).map(lambda p: Fraction(*p)),
)
STEP = st.tuples(
    LENGTHS,
    st.tuples(st.integers(120, 200), st.integers(120, 200)),
    st.booleans(),
    st.lists(st.integers(1, 99), max_size=2),
)


@st.composite
def playing(draw: st.DrawFn) -> tuple[list[Segment], dict[int, Segment]]:
    """(the playing segments, each step's plan by index): planned steps, some split by live changes, and
    maybe one step replayed already (so takes above 0 occur)."""
    specs = draw(st.lists(STEP, min_size=1, max_size=6))
    planned: list[Segment] = []
    t = Fraction(0)
    for i, (length, cadence, click, _cuts) in enumerate(specs):
        planned.append(make_step(i, t, length, cadence, click))
        t += length
    segs = [piece for seg, spec in zip(planned, specs, strict=True) for piece in split(seg, spec[3])]
    plan = {seg.flat.index: seg for seg in planned}
    if draw(st.booleans()):
        at = draw(st.integers(0, 999))
        replayed = replay_step(segs, t * Fraction(at, 1000), plan, back=draw(st.booleans()))
        assert replayed is not None
        segs = replayed[0]
    return segs, plan


@st.composite
def moment(draw: st.DrawFn, segs: Sequence[Segment]) -> Fraction:
    """A time within the segments: anywhere, or exactly on a segment's start."""
    if draw(st.booleans()):
        return draw(st.sampled_from([s.start for s in segs]))
    return segs[-1].end * Fraction(draw(st.integers(0, 999)), 1000)


def runs(segs: Sequence[Segment]) -> list[tuple[int, int, Fraction, Fraction]]:
    """The steps on the timeline: (index, take, start, end) of each run of segments of one playing."""
    out: list[tuple[int, int, Fraction, Fraction]] = []
    for seg in segs:
        if out and (out[-1][0], out[-1][1]) == (seg.flat.index, seg.take):
            out[-1] = (*out[-1][:3], seg.end)
        else:
            out.append((seg.flat.index, seg.take, seg.start, seg.end))
    return out


def assert_exact(segs: Sequence[Segment]) -> None:
    """Exact Fractions, contiguous from 0, no empty segment, each playing of a step in one run."""
    assert segs[0].start == 0
    for s in segs:
        assert isinstance(s.start, Fraction) and isinstance(s.end, Fraction)
        assert s.end > s.start
    for a, b in itertools.pairwise(segs):
        assert b.start == a.end
    keys = [(i, take) for i, take, _, _ in runs(segs)]
    assert len(keys) == len(set(keys))  # a (step, take) never comes back after another one


def assert_compiles(segs: Sequence[Segment]) -> Timeline:
    """compile_segments makes one TimedStep per (index, take), with the run's exact bounds."""
    tl = compile_segments("t", segs, SR, None, CompileOptions(), "off")
    assert [(s.index, s.start_s, s.end_s) for s in tl.steps] == [(i, a, b) for i, _, a, b in runs(segs)]
    assert tl.duration_s == segs[-1].end
    return tl


def step_span(segs: Sequence[Segment], now: Fraction) -> tuple[int, int, int]:
    """(first segment of the step playing at `now`, the segment playing then, the step's last segment)."""
    i = next(k for k, s in enumerate(segs) if s.start <= now < s.end)
    first = last = i
    while first > 0 and segs[first - 1].same_step(segs[i]):
        first -= 1
    while last + 1 < len(segs) and segs[last + 1].same_step(segs[i]):
        last += 1
    return first, i, last


# ----------------------------------------------------------------------------------------- replay_step


@PROPS
@given(data=st.data(), case=playing(), back=st.booleans())
def test_replay_step_is_exact(data: st.DataObject, case: tuple[list[Segment], dict[int, Segment]], back: bool) -> None:
    segs, plan = case
    now = data.draw(moment(segs))
    first, i, last = step_span(segs, now)
    cur = segs[i]
    got = replay_step(segs, now, plan, back=back)
    assert got is not None
    out, index = got
    assert_exact(out)
    assert_compiles(out)
    # what was played stays: segments before the step untouched, the step's own cut at `now` (no new announcement)
    assert out[:first] == segs[:first]
    kept = [s for s in out if s.end <= now]
    assert all(not s.first for s in kept[first:])
    assert all(s.same_step(cur) for s in kept[first:])
    # the replayed steps: the plan's step before (with `back`, when there is one) then this one, whole, from `now`
    targets = [cur.flat.index]
    if back and cur.flat.index > 0:
        targets.insert(0, cur.flat.index - 1)
    assert index == targets[0]
    take = max(s.take for s in segs) + 1
    fresh = [s for s in out if s.take == take]
    assert [s.flat.index for s in fresh] == targets
    t = now
    for seg in fresh:
        p = plan[seg.flat.index]
        assert (seg.start, seg.end - seg.start) == (t, p.end - p.start)
        assert seg.first and seg.cadence == p.cadence and seg.click == p.click
        t = seg.end
    # everything after moved by exactly the time added; the total grew by exactly the replayed plans' lengths
    # (less the rest of the step that was cut)
    added = sum((plan[i].end - plan[i].start for i in targets), Fraction(0))
    shift = now + added - segs[last].end
    later = out[len(out) - (len(segs) - last - 1) :] if last + 1 < len(segs) else []
    assert later == [replace(s, start=s.start + shift, end=s.end + shift) for s in segs[last + 1 :]]
    assert out[-1].end == segs[-1].end - (segs[last].end - now) + added
    ended = end_step(segs, now)
    assert ended is not None
    assert out[-1].end == (ended[0][-1].end if ended[0] else 0) + added


def test_replay_step_examples() -> None:
    plan = [
        make_step(0, Fraction(0), Fraction(10), (180, 180), True),
        make_step(1, Fraction(10), Fraction(12), (150, 150), True),
    ]
    plan.append(make_step(2, Fraction(22), Fraction(8), (180, 180), False))
    by_index = {s.flat.index: s for s in plan}
    # restart: the step again from `now`, the rest later by 5 s
    out, index = replay_step(plan, Fraction(5), by_index)  # type: ignore[misc]
    assert index == 0
    assert [(s.flat.index, s.take, s.start, s.end) for s in out] == [
        (0, 0, 0, 5),
        (0, 1, 5, 15),
        (1, 0, 15, 27),
        (2, 0, 27, 35),
    ]
    # back one step from 1 s into step 1
    out, index = replay_step(plan, Fraction(11), by_index, back=True)  # type: ignore[misc]
    assert index == 0
    assert [(s.flat.index, s.take, s.start, s.end) for s in out] == [
        (0, 0, 0, 10),
        (1, 0, 10, 11),
        (0, 1, 11, 21),
        (1, 1, 21, 33),
        (2, 0, 33, 41),
    ]
    # back again 1 s into that replay of step 0: there is no step before step 0 in the plan, so it restarts
    # step 0 (it is not the timeline's segment before -- the cut step 1 -- that is played)
    again, index = replay_step(out, Fraction(12), by_index, back=True)  # type: ignore[misc]
    assert index == 0
    assert [(s.flat.index, s.take) for s in again] == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (2, 0)]
    # back in step 2 after having gone back once: the plan's step 1 then step 2
    out2, index = replay_step(out, Fraction(34), by_index, back=True)  # type: ignore[misc]
    assert index == 1
    assert [(s.flat.index, s.take) for s in out2] == [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (1, 2), (2, 2)]
    # nothing plays: None; a step without a plan: None
    assert replay_step(plan, Fraction(30), by_index) is None
    assert replay_step(plan, Fraction(-1), by_index) is None
    assert replay_step(plan, Fraction(5), {1: plan[1]}) is None
    assert replay_step(plan, Fraction(11), {1: plan[1], 2: plan[2]}, back=True) is None


# ------------------------------------------------------------------------------------- end_step's lag


@PROPS
@given(data=st.data(), case=playing(), lag=st.integers(0, 5000).map(lambda n: Fraction(n, 1000)))
def test_end_step_lag_is_exact(
    data: st.DataObject, case: tuple[list[Segment], dict[int, Segment]], lag: Fraction
) -> None:
    segs, _plan = case
    now = data.draw(moment(segs))
    first, i, last = step_span(segs, now)
    plain = end_step(segs, now)
    lagged = end_step(segs, now, lag)
    assert plain is not None and lagged is not None
    assert plain[1] == lagged[1] == segs[first].flat.index
    if not plain[0]:  # the only step ended where it starts: nothing left
        assert now == 0 and len(runs(segs)) == 1 and lagged[0] == []
        return
    for out in (plain[0], lagged[0]):
        assert_exact(out)
        assert_compiles(out)
        assert out[:first] == segs[:first]  # the past stays; the step's own segments lose their announcement
        assert out[first:i] == [replace(s, first=False) for s in segs[first:i]]
        own = [s for s in out if s.same_step(segs[i])]
        assert all(s.end <= now and not s.first for s in own)
        assert own[-1].end == now if own else segs[i].start == now
    # without a lag: everything after `now` moved earlier by exactly the rest of the step
    assert plain[0][-1].end == segs[-1].end - (segs[last].end - now)
    # with one: the next step is exactly `lag` shorter when it is longer than 4 lags (and its last segment
    # longer than one), everything after it moved `lag` earlier; else the same as without
    nxt = runs(segs[last + 1 :])
    plain_runs, lagged_runs = runs(plain[0]), runs(lagged[0])
    if nxt and lag > 0:
        n_last = last + 1
        while n_last + 1 < len(segs) and segs[n_last + 1].same_step(segs[last + 1]):
            n_last += 1
        length = nxt[0][3] - nxt[0][2]
        shortened = length > 4 * lag and segs[n_last].end - segs[n_last].start > lag
    else:
        shortened = False
    if shortened:
        k = len(plain_runs) - len(nxt)  # the next step's run
        assert lagged_runs[k][2] == plain_runs[k][2] == now
        assert lagged_runs[k][3] == plain_runs[k][3] - lag
        assert [(i, t, a + lag, b + lag) for i, t, a, b in lagged_runs[k + 1 :]] == plain_runs[k + 1 :]
        assert lagged[0][-1].end == plain[0][-1].end - lag
    else:
        assert lagged[0] == plain[0]


def test_end_step_lag_examples() -> None:
    plan = [
        make_step(0, Fraction(0), Fraction(10), (180, 180), True),
        make_step(1, Fraction(10), Fraction(12), (150, 150), True),
    ]
    plan.append(make_step(2, Fraction(22), Fraction(8), (180, 180), False))
    out, step = end_step(plan, Fraction(5), Fraction(1, 5))  # type: ignore[misc]
    assert step == 0
    assert [(s.start, s.end) for s in out] == [(0, 5), (5, Fraction(84, 5)), (Fraction(84, 5), Fraction(124, 5))]
    # a next step no longer than 4 lags keeps its length
    out, _ = end_step(plan, Fraction(5), Fraction(3))  # type: ignore[misc]
    assert [(s.start, s.end) for s in out] == [(0, 5), (5, 17), (17, 25)]
    # the last step: nothing to shorten
    out, step = end_step(plan, Fraction(25), Fraction(1, 5))  # type: ignore[misc]
    assert step == 2 and out[-1].end == 25


# ----------------------------------------------------------------------------------------- step_bounds


def test_step_bounds_spans_a_split_step() -> None:
    base = make_step(0, Fraction(0), Fraction(10), (180, 180), True)
    segs = [*split(base, [30, 60]), make_step(1, Fraction(10), Fraction(5), (150, 150), False)]
    assert len(segs) == 4
    for t in (Fraction(0), Fraction(4), Fraction(999, 100)):
        assert step_bounds(segs, t) == (0, 10)
    assert step_bounds(segs, Fraction(10)) == (10, 15)
    assert step_bounds(segs, Fraction(15)) is None
    assert step_bounds(segs, Fraction(-1, 10)) is None
    # a replayed step is another step: its bounds are its own
    out, _ = replay_step(segs, Fraction(5), {0: base})  # type: ignore[misc]
    assert step_bounds(out, Fraction(4)) == (0, 5)
    assert step_bounds(out, Fraction(5)) == (5, 15)


# ------------------------------------------------------------------------------------------ prefix_cue


def _tl_with(cues: list[Cue]) -> Timeline:
    tl = click_timeline(180, SR, hours=1)
    for c in cues:
        added = add_cue(tl, c)
        assert added is not None
        tl = added
    return tl


def test_prefix_cue() -> None:
    words = np.linspace(0.1, 0.5, 300, dtype=np.float32)
    prefix = np.full(200, 0.25, np.float32)
    tl = _tl_with(
        [Cue(2000, "announce", "Run.", 300, 0, words, ((10, 50),)), Cue(5000, "countdown", "3", 100, 0, words[:100])]
    )
    out = prefix_cue(tl, 2000, "Back to", prefix, gap=100)
    assert out is not None
    c = out.cues[0]
    assert (c.at, c.text, c.length, c.key_spans) == (2000, "Back to Run.", 600, ((310, 350),))
    assert c.audio is not None
    np.testing.assert_array_equal(c.audio[:200], prefix)
    assert not c.audio[200:300].any()
    np.testing.assert_array_equal(c.audio[300:], words)
    assert out.cues[1] is tl.cues[1] and tl.cues[0].text == "Run."  # the input is not changed
    # nothing announced at `at`, or only a countdown there: None
    assert prefix_cue(tl, 2001, "Skipped.", prefix) is None
    assert prefix_cue(tl, 5000, "Skipped.", prefix) is None
    # the longer cue would reach the next one: None
    assert prefix_cue(tl, 2000, "Skipped.", np.zeros(3000, np.float32)) is None
    # a finish cue takes a prefix too, and the timeline grows to hold it
    end = _tl_with([Cue(tl.length - 400, "finish", "Workout complete.", 300, 0, words)])
    longer = prefix_cue(end, end.cues[0].at, "Skipped.", prefix)
    assert longer is not None and longer.cues[0].text == "Skipped. Workout complete."
    assert longer.length >= longer.cues[0].end


# ------------------------------------------------------------------------------------------ voice_view


@st.composite
def cues_and_mute(draw: st.DrawFn) -> tuple[list[Cue], int, int | None, int]:
    gaps = draw(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 2000)), min_size=1, max_size=8))
    cues, at = [], 0
    for k, (gap, length) in enumerate(gaps):
        at += gap
        audio = (np.arange(length, dtype=np.float32) % 97 + 1) / 100
        cues.append(Cue(at, "say", f"cue {k}", length, 0, audio))
        at += length
    muted = draw(st.integers(0, at + 100))
    unmuted = draw(st.one_of(st.none(), st.integers(muted, at + 3000)))
    return cues, muted, unmuted, draw(st.integers(0, 300))


VIEW_BASE = click_timeline(180, SR, hours=1)


@PROPS
@given(case=cues_and_mute())
def test_voice_view_is_silent_while_muted(case: tuple[list[Cue], int, int | None, int]) -> None:
    cues, muted, unmuted, fade = case
    tl = replace(VIEW_BASE, cues=cues)
    view = voice_view(tl, muted, unmuted, fade)
    by_text = {c.text: c for c in view.cues}
    for c in view.cues:  # nothing sounds while muted: not even the end of a cue that began before the unmute
        assert c.end <= muted or (unmuted is not None and c.at >= unmuted)
    for c in cues:
        starts_muted = c.at >= muted and (unmuted is None or c.at < unmuted)
        if starts_muted:
            assert c.text not in by_text
        elif c.at < muted < c.end:  # sounding at the mute: cut to end there, faded over `fade`
            v = by_text[c.text]
            keep = muted - c.at
            f = min(fade, keep)
            assert (v.at, v.end, v.length) == (c.at, muted, keep)
            assert c.audio is not None and v.audio is not None
            np.testing.assert_array_equal(v.audio[: keep - f], c.audio[: keep - f])
            ramp = np.linspace(1, 0, f)
            np.testing.assert_allclose(v.audio[keep - f :], c.audio[keep - f : keep] * ramp, atol=1e-6)
            if f > 1:
                assert v.audio[-1] == 0
        else:
            assert by_text[c.text] is c  # untouched
    assert tl.cues == cues  # the playing timeline is not changed


# ------------------------------------------------------------------------------------ the confirmations


def test_time_left_examples() -> None:
    assert confirm.time_left(125) == ["2", "minutes", "5", "left"]
    assert confirm.time_left(70.4) == ["1", "minute", "10", "left"]
    assert confirm.time_left(60) == ["1", "minute", "left"]
    assert confirm.time_left(59.6) == ["1", "minute", "left"]
    assert confirm.time_left(21.9) == ["20", "seconds", "left"]
    assert confirm.time_left(19.4) == ["19", "seconds", "left"]
    assert confirm.time_left(8.2) == ["8", "seconds", "left"]
    assert confirm.time_left(0.3) == ["0", "seconds", "left"]
    assert confirm.time_left(-4) == ["0", "seconds", "left"]
    assert confirm.time_left(3600) == ["1", "hour", "left"]
    assert confirm.time_left(3599) == ["1", "hour", "left"]  # to the nearest 5 s: 3600
    assert confirm.time_left(2 * 3600 + 61) == ["2", "hours", "1", "minute", "left"]


@PROPS
@given(s=st.floats(0, 3 * 3600, allow_nan=False))
def test_time_left_words(s: float) -> None:
    words = confirm.time_left(s)
    assert words[-1] == "left"
    assert all(int(w) <= 60 for w in words if w.isdigit())  # every number said is in the vocabulary's 0-60
    if words[1] in ("hour", "hours"):
        h = int(words[0])
        assert h >= 1 and words[1] == ("hour" if h == 1 else "hours")
        m = int(words[2]) if len(words) == 5 else 0
        assert len(words) in (3, 5) and 0 <= m < 60
        assert abs(3600 * h + 60 * m - s) < 60 + 2.5  # to the minute (below the 5 s rounding)
        return
    if words[1] == "seconds":
        value = int(words[0])
        assert len(words) == 3 and value < 60
    else:
        m = int(words[0])
        assert m >= 1 and words[1] == ("minute" if m == 1 else "minutes")
        rest = int(words[2]) if len(words) == 4 else 0
        assert len(words) in (3, 4) and 0 <= rest < 60 and (len(words) == 3 or rest > 0)
        value = 60 * m + rest
    if s >= 20:  # to the nearest 5 s
        assert value % 5 == 0 and abs(value - s) <= 2.5
    else:  # to the second
        assert abs(value - s) <= 0.5


def test_said_and_status() -> None:
    assert confirm.said([["Rep", "3", "of", "10"], ["1", "minute", "left"], ["Paused."], [], [" "]]) == (
        "Rep 3 of 10. 1 minute left. Paused."
    )
    assert confirm.said([["Really?"], ["Yes!"]]) == "Really? Yes!"
    reps = [
        make_step(0, Fraction(0), Fraction(30), (170, 170), True, label="Run", rep=(1, 2)),
        make_step(1, Fraction(30), Fraction(75), (170, 170), False, label="Recover", rep=(1, 2)),
        make_step(2, Fraction(105), Fraction(30), (170, 170), True, label="  ", rep=None),
    ]
    tl = compile_segments("W", reps, SR, None, CompileOptions(), "off")
    assert confirm.status(tl, 5 * SR, 170.4, "run") == [
        ["Rep", "1", "of", "2"],
        ["25", "seconds", "left"],
        ["Cadence", "170"],
    ]
    assert confirm.status(tl, 40 * SR, None, "run") == [["Rep", "1", "of", "2"], ["1", "minute", "5", "left"]]
    assert confirm.status(tl, 120 * SR, 171.0, "run") == [["15", "seconds", "left"], ["Cadence", "171"]]  # no label
    assert confirm.status(tl, -2500, None, "run") == [["Starting in", "3"]]
    assert confirm.status(tl, -SR * 300, None, "run") == [["Starting in", "60"]]
    assert confirm.status(tl, tl.end, None, "run") == []
    assert confirm.status(tl, 5 * SR, 170.0, "click") == [["Cadence", "170"]]
    assert confirm.cadence_words(-3) == ["Cadence", "0"] and confirm.cadence_words(420.0) == ["Cadence", "300"]


@st.composite
def workouts(draw: st.DrawFn) -> Timeline:
    """Timelines with reps, labels (blank ones too), steps up to 2 hours, clicks or not, ramps."""
    steps = draw(
        st.lists(
            st.tuples(
                st.one_of(st.integers(1, 300), st.integers(300, 7200)),
                st.tuples(st.integers(60, 300), st.integers(60, 300)),
                st.booleans(),
                st.sampled_from(["Run", "Recover", "Warm-up", "", "Cool-down", "Easy 5k"]),
                st.one_of(st.none(), st.integers(1, 40).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n)))),
            ),
            min_size=1,
            max_size=5,
        )
    )
    segs, t = [], Fraction(0)
    for i, (length, cadence, click, label, rep) in enumerate(steps):
        segs.append(make_step(i, t, Fraction(length), cadence, click, label=label, rep=rep))
        t += length
    return compile_segments("W", segs, 10, None, CompileOptions(), "off")


@PROPS
@given(data=st.data(), tl=workouts())
def test_vocabulary_covers_every_status(data: st.DataObject, tl: Timeline) -> None:
    words = set(confirm.vocabulary(tl))
    assert set(confirm.FIXED) <= words
    clicking = [float(c) for seg in tl.segments if seg.click for c in seg.cadence]
    for _ in range(20):
        heard = data.draw(st.integers(-70 * tl.sample_rate, tl.end + 5 * tl.sample_rate), label="heard")
        cadence = None
        if clicking and data.draw(st.booleans()):  # the keys move it up to CADENCE_MARGIN around the plan
            lo = max(min(clicking) - confirm.CADENCE_MARGIN, 0)
            hi = min(max(clicking) + confirm.CADENCE_MARGIN, confirm.SPOKEN_MAX)
            cadence = data.draw(st.floats(lo, hi), label="cadence")
        for mode in ("run", "click"):
            for sentence in confirm.status(tl, heard, cadence, mode):
                assert set(sentence) <= words, (heard, cadence, sentence)
            if cadence is not None:
                assert set(confirm.cadence_words(cadence)) <= words


def test_vocabulary_covers_the_minutes_of_a_long_step() -> None:
    """A 75-minute step says "70 minutes left" five minutes in: every minute count up to the step's length is
    in the vocabulary, not just the length."""
    seg = make_step(0, Fraction(0), Fraction(75 * 60), (170, 170), False, label="Long run")
    tl = compile_segments("W", [seg], 10, None, CompileOptions(), "off")
    words = set(confirm.vocabulary(tl))
    for minute in range(0, 76):
        said = confirm.status(tl, round((75 - minute) * 60 * 10), None, "run")
        assert set(itertools.chain.from_iterable(said)) <= words, said


# -------------------------------------------------------------------------------------------- Vocabulary


def test_vocabulary_says_once_ready_and_never_raises() -> None:
    """The metronome's vocabulary, made in a thread (``cli.play._InBackground`` around a Vocabulary): silent
    until it is there, then the words joined; a load that fails leaves it silent, with the reason."""
    import threading

    from cadencecoach.cli.play import _InBackground

    release = threading.Event()

    def load(texts: list[str]) -> dict[str, np.ndarray]:
        release.wait(5)
        return {t: np.full(10, 0.1 * (k + 1), np.float32) for k, t in enumerate(texts)}

    v = _InBackground(lambda: Vocabulary(["Paused.", "Cadence", "180"], 100, load).load(), threading.Event())
    assert v.say([["Paused."]]) is None  # not ready yet: silent (the display still shows the text)
    release.set()
    v.close(5)
    audio = v.say([["Cadence", "180"], ["Paused."]])
    assert audio is not None
    expected = join_words(
        {
            "Paused.": np.full(10, 0.1, np.float32),
            "Cadence": np.full(10, 0.2, np.float32),
            "180": np.full(10, 0.3, np.float32),
        },
        [["Cadence", "180"], ["Paused."]],
        100,
    )
    assert expected is not None
    np.testing.assert_array_equal(audio, expected)
    assert len(audio) == 10 + 4 + 10 + 30 + 10  # word gap 40 ms, sentence gap 300 ms at 100 Hz
    assert v.say([["Cadence", "999"]]) is None  # a word it does not have
    assert v.vocabulary is not None and v.vocabulary.error is None

    def broken(texts: list[str]) -> dict[str, np.ndarray]:
        raise RuntimeError("no voice")

    b = Vocabulary(["Paused."], 100, broken).load()
    assert b.say([["Paused."]]) is None and b.error == "no voice"
    quiet = _InBackground(lambda: Vocabulary(["Paused."], 100, broken).load(), threading.Event())
    quiet.close(5)
    assert quiet.say([["Paused."]]) is None


def test_numbers_cover_the_cadence_margin() -> None:
    tl = click_timeline(180, SR, hours=1)
    ns = confirm.numbers(tl)
    assert ns == sorted(set(ns))
    assert set(range(61)) <= set(ns)
    assert set(range(150, 211)) <= set(ns) and 149 not in ns and 211 not in ns
    assert math.isclose(float(max(ns)), 210.0)
