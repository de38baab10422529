"""The timeline compiler (``cadencecoach.core.timeline``): the "Timing rules" of shared/spec/workout-format.md and the
``plan --json`` object of shared/spec/cli.md. Expected values are computed here, independently of the compiler."""

from __future__ import annotations

import itertools
import json
import math
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from cadencecoach.core.timeline import (
    ACCENT,
    EXHALE,
    INHALE,
    REGULAR,
    CompileOptions,
    Timeline,
    compile_workout,
    cue_texts,
)
from cadencecoach.workout.loader import load_workout_text
from cadencecoach.workout.model import Workout
from spec_example import SPEC_EXAMPLE

SR = 44100
MILE = Fraction(1609344, 1000)


def workout(text: str) -> Workout:
    return load_workout_text(textwrap.dedent(text), "w.yaml")


def compile_text(
    text: str,
    sr: int = SR,
    speech: dict[str, np.ndarray] | None = None,
    options: CompileOptions | None = None,
) -> Timeline:
    tl = compile_workout(workout(text), sr, speech=speech, options=options)
    assert_well_formed(tl)
    return tl


def assert_well_formed(tl: Timeline) -> None:
    """Invariants every compiled timeline keeps."""
    clicks = tl.clicks
    assert clicks.dtype == np.int64
    assert len(tl.click_variant) == len(clicks)
    assert np.all(np.diff(clicks) > 0), "clicks strictly ascending"
    kept = sorted(tl.cues, key=lambda c: c.at)
    for a, b in itertools.pairwise(kept):
        assert a.end <= b.at, f"cues overlap: {a.kind} {a.text!r} and {b.kind} {b.text!r}"
    assert tl.length >= tl.end
    assert all(c.end <= tl.length for c in tl.cues)


def clicks_in(tl: Timeline, lo: int, hi: int) -> np.ndarray:
    return tl.clicks[(tl.clicks >= lo) & (tl.clicks < hi)]


def exact_sample(t: Fraction, sr: int = SR) -> int:
    return round(t * sr)


# ------------------------------------------------------------------------------------- boundaries


def test_boundaries_are_exact_sums() -> None:
    tl = compile_text(
        """\
        name: x
        steps:
          - warmup: 90s
          - run: 400m
            pace: 5:45/mi
          - recover: 1:30
          - run: 1.2km
            pace: 4:00/km
          - rest: 0.75mi
            pace: 1:31/400m
          - cooldown: 1h15min
        """
    )
    durations = [
        Fraction(90),
        400 * Fraction(345) / MILE,
        Fraction(90),
        Fraction(1200) * Fraction(240, 1000),
        Fraction(3, 4) * MILE * Fraction(91, 400),
        Fraction(4500),
    ]
    start = Fraction(0)
    assert len(tl.steps) == len(durations)
    for step, d in zip(tl.steps, durations, strict=True):
        assert step.start_s == start
        assert step.end_s == start + d
        assert step.start == exact_sample(start)
        assert step.end == exact_sample(start + d)
        start += d
    assert tl.duration_s == start
    assert tl.end == exact_sample(start)


def test_no_drift_over_many_distance_steps() -> None:
    tl = compile_text(
        """\
        name: drift
        steps:
          - repeat: 500
            steps:
              - run: 400m
                pace: 5:45/mi
              - recover: 0.1mi
                pace: 9:00/mi
                click: off
        """
    )
    run = 400 * Fraction(345) / MILE
    jog = Fraction(1, 10) * MILE * Fraction(540) / MILE
    assert jog == 54
    assert len(tl.steps) == 1000
    for i, step in enumerate(tl.steps):
        start = (i // 2) * (run + jog) + (i % 2) * run
        assert step.start_s == start
        assert step.start == round(start * SR)
    assert tl.duration_s == 500 * (run + jog)
    assert tl.end == round(500 * (run + jog) * SR)
    assert tl.steps[-1].end == tl.end


# ------------------------------------------------------------------------------------------ clicks


def test_180_spm_is_exactly_14700_samples() -> None:
    tl = compile_text("name: x\ncadence: 180\nsteps:\n  - run: 60s\n")
    assert len(tl.clicks) == 180  # phase 0..179; phase 180 falls on the end
    assert tl.clicks[0] == 0
    assert np.all(np.diff(tl.clicks) == 14700)
    assert np.all(tl.click_variant == REGULAR)


def test_186_spm_each_click_rounds_its_exact_time() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 60s\n    cadence: 186\n")
    assert len(tl.clicks) == 186
    expected = [round(k * Fraction(60, 186) * SR) for k in range(186)]
    assert tl.clicks.tolist() == expected
    gaps = np.diff(tl.clicks)
    assert set(gaps.tolist()) <= {14225, 14226}


def test_186_spm_after_an_offset_start() -> None:
    tl = compile_text(
        """\
        name: x
        steps:
          - rest: 10.3s
            click: off
          - run: 20s
            cadence: 186
        """
    )
    start = Fraction(103, 10)
    n = math.ceil(Fraction(186, 60) * 20)
    expected = [round((start + k * Fraction(60, 186)) * SR) for k in range(n)]
    assert tl.clicks.tolist() == expected


def test_clicks_restart_on_boundaries_and_skip_silent_steps() -> None:
    tl = compile_text(
        """\
        name: x
        steps:
          - run: 10.1s
          - recover: 5.05s
            click: off
          - run: 10s
            cadence: 170
          - rest: 3s
            click: off
          - run: 0.5s
        """
    )
    a, b, c, d, e = tl.steps
    assert tl.clicks[0] == 0 == a.start
    assert len(clicks_in(tl, b.start, b.end)) == 0
    assert len(clicks_in(tl, d.start, d.end)) == 0
    assert clicks_in(tl, c.start, c.end)[0] == c.start  # phase restarts at 0: a click on the boundary
    assert clicks_in(tl, e.start, e.end)[0] == e.start
    assert b.click is False
    assert (b.cadence_start, b.cadence_end) == (180, 180)  # a silent step still shows its cadence
    # within each clicking step: start + k * 60 / cadence, to the sample
    for step, cad in ((a, 180), (c, 170), (e, 180)):
        got = clicks_in(tl, step.start, step.end).tolist()
        n = math.ceil(Fraction(cad, 60) * (step.end_s - step.start_s))
        assert got == [round((step.start_s + k * Fraction(60, cad)) * SR) for k in range(n)]


def test_no_click_on_the_first_sample_of_a_silent_step() -> None:
    # the 2nd beat falls 0.29 samples before the silent step: it must not round onto the silent step
    tl = compile_text("name: x\nsteps:\n  - run: 0.33334s\n  - rest: 1s\n    click: off\n  - run: 0.1s\n")
    _, rest, last = tl.steps
    assert rest.start == 14700
    assert len(clicks_in(tl, rest.start, rest.end)) == 0
    assert tl.clicks.tolist() == [0, last.start]


def test_phase_is_continuous_across_a_cadence_change() -> None:
    tl = compile_text(
        """\
        name: x
        steps:
          - run: 10.1s
            cadence: 180
          - run: 20s
            cadence: 150
        """
    )
    first, second = tl.steps
    phase_at_boundary = Fraction(180, 60) * Fraction(101, 10)  # 30.3 beats
    k = math.ceil(phase_at_boundary)
    t_first = Fraction(101, 10) + (k - phase_at_boundary) * Fraction(60, 150)  # 10.38 s
    got = clicks_in(tl, second.start, second.end)
    assert got[0] == round(t_first * SR)
    assert got[0] != second.start  # no restart when clicking continues
    n_second = math.ceil(phase_at_boundary + Fraction(150, 60) * 20) - k
    assert got.tolist() == [round((t_first + j * Fraction(60, 150)) * SR) for j in range(n_second)]
    assert len(clicks_in(tl, first.start, first.end)) == math.ceil(phase_at_boundary)


def test_click_on_a_boundary_when_the_phase_is_whole() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 10s\n  - run: 10s\n    cadence: 150\n")
    second = tl.steps[1]
    assert clicks_in(tl, second.start, second.end)[0] == second.start  # 180 * 10 / 60 = 30 beats exactly
    assert len(tl.clicks) == 30 + 25


def ramp_click_times(a: float, b: float, span: float, start: float, phase0: float) -> list[float]:
    """Times where phase0 + integral of (a + (b - a) t / span) / 60 reaches a whole number, found by bisection."""

    def phase(t: float) -> float:
        return phase0 + (a * t + (b - a) * t * t / (2 * span)) / 60

    out = []
    k = math.ceil(phase0)
    while phase(span) > k:
        lo, hi = 0.0, span
        for _ in range(80):
            mid = (lo + hi) / 2
            if phase(mid) < k:
                lo = mid
            else:
                hi = mid
        out.append(start + hi)
        k += 1
    return out


@pytest.mark.parametrize(("a", "b"), [(170, 180), (165, 170), (180, 150), (60, 300), (300, 60)])
def test_ramp_clicks_follow_the_integral_of_a_linear_tempo(a: int, b: int) -> None:
    tl = compile_text(f"name: x\nsteps:\n  - run: 60s\n    cadence: {a}-{b}\n")
    step = tl.steps[0]
    assert (step.cadence_start, step.cadence_end) == (a, b)
    expected = ramp_click_times(a, b, 60.0, 0.0, 0.0)
    assert len(tl.clicks) == len(expected)
    assert np.max(np.abs(tl.clicks - np.array(expected) * SR)) <= 1.0
    assert tl.clicks[0] == 0


def test_ramp_with_a_phase_carried_in() -> None:
    tl = compile_text(
        """\
        name: x
        steps:
          - run: 10.1s
          - run: 30s
            cadence: 150-190
        """
    )
    _, ramp = tl.steps
    expected = ramp_click_times(150, 190, 30.0, 10.1, 30.3)
    got = clicks_in(tl, ramp.start, ramp.end)
    assert len(got) == len(expected)
    assert np.max(np.abs(got - np.array(expected) * SR)) <= 1.0
    # tempo at the end ~190: the last gaps are close to 60/190 s
    assert abs(int(got[-1] - got[-2]) - 60 / 190 * SR) < 0.01 * SR


def test_ramp_numerically_integrated_independently() -> None:
    """A fine-step numerical integration of the tempo (no closed form) agrees within one sample."""
    tl = compile_text("name: x\nsteps:\n  - run: 45s\n    cadence: 165-185\n")
    dt = 1.0 / (SR * 4)
    t = np.arange(0, 45.0, dt)
    tempo = 165 + 20 * t / 45.0
    phase = np.concatenate([[0.0], np.cumsum((tempo[:-1] + tempo[1:]) / 2 * dt / 60)])
    ks = np.arange(0, math.ceil(phase[-1]))
    times = np.interp(ks, phase, t[: len(phase)])
    assert len(tl.clicks) == len(times)
    assert np.max(np.abs(tl.clicks - times * SR)) <= 1.0


def test_no_clicks_option() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 60s\n", options=CompileOptions(click=False))
    assert len(tl.clicks) == 0
    assert all(s.click is False for s in tl.steps)


# ---------------------------------------------------------------------------------- click voices


def test_breathing_3_2() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 10s\n    breathing: 3:2\n")
    v = tl.click_variant.tolist()
    assert v[:10] == [INHALE, REGULAR, REGULAR, EXHALE, REGULAR] * 2
    for i, voice in enumerate(v):
        assert voice == {0: INHALE, 3: EXHALE}.get(i % 5, REGULAR)


def test_breathing_2_2() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 10s\n    breathing: 2:2\n")
    v = tl.click_variant.tolist()
    assert v[:8] == [INHALE, REGULAR, EXHALE, REGULAR] * 2
    assert all(voice == {0: INHALE, 2: EXHALE}.get(i % 4, REGULAR) for i, voice in enumerate(v))


def test_breathing_starts_with_an_inhale_on_each_step() -> None:
    tl = compile_text(
        "name: x\nsteps:\n  - run: 10.1s\n    breathing: 3:2\n  - run: 10s\n    breathing: 2:2\n  - run: 5s\n"
    )
    _, second, third = tl.steps
    i = int(np.searchsorted(tl.clicks, second.start))
    assert tl.click_variant[i] == INHALE
    assert tl.click_variant[i + 2] == EXHALE
    j = int(np.searchsorted(tl.clicks, third.start))
    assert np.all(tl.click_variant[j:] == REGULAR)


def test_breathing_option_for_every_step() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 10s\n", options=CompileOptions(breathing=(2, 2)))
    assert tl.click_variant[:4].tolist() == [INHALE, REGULAR, EXHALE, REGULAR]


def test_accent_every_fourth_click_restarting_after_silence() -> None:
    tl = compile_text(
        "name: x\nsteps:\n  - run: 10.1s\n  - run: 10s\n  - rest: 2s\n    click: off\n  - run: 10s\n",
        options=CompileOptions(accent=4),
    )
    last = tl.steps[-1]
    j = int(np.searchsorted(tl.clicks, last.start))
    first_run = tl.click_variant[:j]  # one clicking run across two steps: accents count through the boundary
    assert all(v == (ACCENT if i % 4 == 0 else REGULAR) for i, v in enumerate(first_run.tolist()))
    second_run = tl.click_variant[j:]
    assert all(v == (ACCENT if i % 4 == 0 else REGULAR) for i, v in enumerate(second_run.tolist()))


def test_no_accent_by_default() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 10s\n")
    assert np.all(tl.click_variant == REGULAR)


# -------------------------------------------------------------------------------------------- cues

CUE_WORKOUT = """\
name: Cues
steps:
  - warmup: 2min
  - run: 30s
    label: Hill sprint
    effort: 85%
    say: Drive the arms.
  - recover: 29.9s
  - repeat: 2
    steps:
      - run: 5s
      - rest: 4.9s
  - cooldown: 119s
"""


def cues_of(tl: Timeline, kind: str) -> list[tuple[int, str, int]]:
    return [(c.at, c.text, c.step_index) for c in tl.cues if c.kind == kind]


def test_announcements_on_each_steps_first_sample() -> None:
    tl = compile_text(CUE_WORKOUT)
    assert cues_of(tl, "announce") == [
        (0, "Warm-up. 2 minutes.", 0),
        (tl.steps[1].start, "Hill sprint. 30 seconds. 85 percent effort.", 1),
        (tl.steps[2].start, "Recover. 29.9 seconds.", 2),
        (tl.steps[3].start, "Run. 1 of 2. 5 seconds.", 3),
        (tl.steps[4].start, "Rest. 1 of 2. 4.9 seconds.", 4),
        (tl.steps[5].start, "Run. 2 of 2. 5 seconds.", 5),
        (tl.steps[6].start, "Rest. 2 of 2. 4.9 seconds.", 6),
        (tl.steps[7].start, "Cool-down. 119 seconds.", 7),
    ]
    assert not tl.warnings


def test_say_right_after_the_announcement() -> None:
    tl = compile_text(CUE_WORKOUT)
    announce = next(c for c in tl.cues if c.kind == "announce" and c.step_index == 1)
    (say,) = [c for c in tl.cues if c.kind == "say"]
    assert say.text == "Drive the arms."
    assert say.step_index == 1
    assert announce.end <= say.at <= announce.end + SR // 2


def test_spec_example_announcement_texts() -> None:
    tl = compile_text(SPEC_EXAMPLE)
    texts = [c.text for c in tl.cues if c.kind == "announce"]
    assert texts[0] == "Warm-up. 15 minutes."
    assert texts[1] == "Run. 1 of 10. 400 meters at mile pace."
    assert texts[2] == "Recover. 1 of 10. 90 seconds."
    assert texts[5] == "Run. 3 of 10. 400 meters at mile pace."
    assert texts[-1] == "Cool-down. 10 minutes."
    assert sum(c.kind == "say" and c.text == "Relax the shoulders." for c in tl.cues) == 10


def test_preview_10s_before_the_end_of_steps_of_30s_or_more_but_not_the_last() -> None:
    tl = compile_text(CUE_WORKOUT)
    s = tl.steps
    assert cues_of(tl, "preview") == [
        (exact_sample(s[0].end_s - 10), "Next: Hill sprint, 30 seconds.", 0),
        (exact_sample(s[1].end_s - 10), "Next: Recover, 29.9 seconds.", 1),
    ]  # not the 29.9 s recover, and not the last step (119 s)


def test_preview_names_the_rep_and_pace() -> None:
    tl = compile_text(SPEC_EXAMPLE)
    previews = [c.text for c in tl.cues if c.kind == "preview"]
    assert previews[0] == "Next: Run, 1 of 10, 400 meters at mile pace."
    assert previews[1] == "Next: Recover, 1 of 10, 90 seconds."
    assert previews[-1] == "Next: Cool-down, 10 minutes."


def test_no_preview_for_a_long_last_step() -> None:
    tl = compile_text("name: x\nsteps:\n  - run: 5min\n")
    assert cues_of(tl, "preview") == []


def test_halfway_only_for_steps_of_2_minutes_or_more() -> None:
    tl = compile_text(CUE_WORKOUT)
    assert cues_of(tl, "halfway") == [(60 * SR, "Halfway. 1 minute to go.", 0)]  # not the 119 s cool-down
    tl = compile_text("name: x\nsteps:\n  - run: 30s\n  - run: 2min30s\n")
    assert cues_of(tl, "halfway") == [(exact_sample(Fraction(30 + 75)), "Halfway. 75 seconds to go.", 1)]


def test_countdown_words_start_3_2_1_seconds_before_the_end() -> None:
    tl = compile_text(CUE_WORKOUT)
    count = [c for c in tl.cues if c.kind == "countdown"]
    with_countdown = [s for s in tl.steps if s.end_s - s.start_s >= 5]
    assert len(count) == 3 * len(with_countdown)
    assert {c.step_index for c in count} == {0, 1, 2, 3, 5, 7}  # not the 4.9 s rests
    for step in with_countdown:
        mine = [c for c in count if c.step_index == step.index]
        assert [c.text for c in mine] == ["3", "2", "1"]
        assert [c.at for c in mine] == [exact_sample(step.end_s - k) for k in (3, 2, 1)]
        for word, nxt in itertools.pairwise(mine):
            assert word.end <= nxt.at
        assert mine[-1].end <= step.end  # the last word is over before the boundary


def test_long_countdown_speech_is_cut_to_fit() -> None:
    wk = workout("name: x\nsteps:\n  - run: 10s\n  - run: 10s\n")
    speech = {text: np.full(int(1.5 * SR), 0.5, np.float32) for text in cue_texts(wk)}
    tl = compile_workout(wk, SR, speech=speech)
    assert_well_formed(tl)
    count = [c for c in tl.cues if c.kind == "countdown"]
    assert len(count) == 6
    for c in count:
        assert c.audio is not None
        assert len(c.audio) == c.length < SR
    first = tl.steps[0]
    assert count[2].end <= first.end
    assert count[0].end <= count[1].at


def test_finish_at_the_end() -> None:
    tl = compile_text(CUE_WORKOUT)
    assert cues_of(tl, "finish") == [(tl.end, "Workout complete.", 7)]
    finish = tl.cues[-1]
    assert finish.kind == "finish"
    assert tl.length >= finish.end


def test_voice_minimal_is_announcements_and_countdown() -> None:
    tl = compile_text("voice: minimal\n" + CUE_WORKOUT)
    kinds = {c.kind for c in tl.cues}
    assert kinds == {"announce", "countdown"}
    assert len(cues_of(tl, "announce")) == 8


def test_voice_off_says_nothing() -> None:
    tl = compile_text("voice: off\n" + CUE_WORKOUT)
    assert tl.cues == []
    assert len(tl.clicks) > 0


def test_voice_option_overrides_the_workout() -> None:
    assert compile_text(CUE_WORKOUT, options=CompileOptions(voice_mode="off")).cues == []
    tl = compile_text("voice: off\n" + CUE_WORKOUT, options=CompileOptions(voice_mode="minimal"))
    assert {c.kind for c in tl.cues} == {"announce", "countdown"}


def test_cue_texts_lists_every_spoken_text() -> None:
    wk = workout(CUE_WORKOUT)
    tl = compile_workout(wk, SR)
    assert {c.text for c in tl.cues} <= cue_texts(wk)


# ---------------------------------------------------------------------------------------- overlap


def test_long_preview_overlapping_the_countdown_is_dropped_with_a_warning() -> None:
    text = "name: x\nsteps:\n  - run: 30s\n  - recover: 10s\n"
    wk = workout(text)
    speech = {t: np.full(int(0.5 * SR), 0.1, np.float32) for t in cue_texts(wk)}
    speech["Next: Recover, 10 seconds."] = np.full(8 * SR, 0.1, np.float32)  # 20 s .. 28 s: over "3" at 27 s
    tl = compile_workout(wk, SR, speech=speech)
    assert_well_formed(tl)
    assert cues_of(tl, "preview") == []
    assert [c.at for c in tl.cues if c.kind == "countdown" and c.step_index == 0] == [27 * SR, 28 * SR, 29 * SR]
    (warning,) = tl.warnings
    assert "preview 'Next: Recover, 10 seconds.' dropped" in warning
    assert "countdown '3'" in warning
    assert tl.to_json()["warnings"] == [warning]


def test_long_label_makes_the_preview_overlap_without_speech_audio() -> None:
    label = "Strides up the long drag past the water tower and the old mill, then float back down " * 2
    tl = compile_text(f"name: x\nsteps:\n  - run: 30s\n  - run: 60s\n    label: {label.strip()}\n")
    assert cues_of(tl, "preview") == []
    assert len(tl.warnings) == 1
    assert "preview" in tl.warnings[0]
    assert "dropped" in tl.warnings[0]


def test_announcement_overlapping_the_countdown_is_dropped_with_its_say() -> None:
    label = "A very long label that takes far more than two seconds to say out loud"
    tl = compile_text(f"name: x\nsteps:\n  - run: 5s\n    label: {label}\n    say: Go.\n  - run: 5s\n")
    assert [c.step_index for c in tl.cues if c.kind == "announce"] == [1]
    assert [c.text for c in tl.cues if c.kind == "countdown"] == ["3", "2", "1"] * 2
    assert cues_of(tl, "say") == []
    assert len(tl.warnings) == 2
    assert "announce" in tl.warnings[0]
    assert "say 'Go.'" in tl.warnings[1]


def test_short_steps_keep_the_earlier_announcement() -> None:
    tl = compile_text("name: x\nsteps:\n  - repeat: 6\n    steps:\n      - run: 1s\n      - rest: 1s\n")
    announced = [c.step_index for c in tl.cues if c.kind == "announce"]
    assert announced[0] == 0
    assert len(announced) < 12
    assert len(tl.warnings) == 12 - len(announced)


# -------------------------------------------------------------------------------------------- JSON


def test_plan_json_shape() -> None:
    tl = compile_text(SPEC_EXAMPLE)
    j = tl.to_json()
    assert list(j) == ["name", "sample_rate", "duration_s", "steps", "clicks", "cues", "warnings"]
    assert j["name"] == "10 x 400 m at mile pace"
    assert j["sample_rate"] == SR
    assert isinstance(j["duration_s"], (int, float))  # docs/CONTRACT-NOTES.md: integers when whole
    assert j["duration_s"] == pytest.approx(float(tl.duration_s))
    assert len(j["steps"]) == 22
    step_keys = [
        "index",
        "kind",
        "label",
        "rep",
        "start_s",
        "end_s",
        "cadence_start",
        "cadence_end",
        "click",
        "distance_m",
        "pace_s_per_km",
    ]
    for i, s in enumerate(j["steps"]):
        assert list(s) == step_keys
        assert s["index"] == i
        assert s["kind"] in ("warmup", "run", "recover", "rest", "cooldown")
        assert isinstance(s["start_s"], (int, float))
        assert isinstance(s["end_s"], (int, float))
        assert isinstance(s["click"], bool)
    warm, run, rec = j["steps"][:3]
    assert warm == {
        "index": 0,
        "kind": "warmup",
        "label": "Warm-up",
        "rep": None,
        "start_s": 0.0,
        "end_s": 900.0,
        "cadence_start": 170,
        "cadence_end": 170,
        "click": True,
        "distance_m": None,
        "pace_s_per_km": None,
    }
    assert run["rep"] == {"n": 1, "of": 10}
    assert run["distance_m"] == 400.0
    assert run["pace_s_per_km"] == pytest.approx(345 / 1.609344)
    assert (run["cadence_start"], run["cadence_end"]) == (186, 186)
    assert run["end_s"] == pytest.approx(900 + 400 * 345 / 1609.344)
    assert rec["click"] is False
    assert (rec["cadence_start"], rec["cadence_end"]) == (180, 180)
    assert j["steps"][20]["rep"] == {"n": 10, "of": 10}
    cool = j["steps"][-1]
    assert (cool["kind"], cool["rep"], cool["cadence_start"], cool["cadence_end"]) == ("cooldown", None, 165, 170)

    assert j["clicks"] == sorted(j["clicks"])
    assert j["clicks"][:2] == [0.0, round(round(60 / 170 * SR) / SR, 6)]
    assert [round(c * SR) for c in j["clicks"]] == tl.clicks.tolist()  # exact to the sample
    for c in j["cues"]:
        assert list(c) == ["at_s", "duration_s", "kind", "text"]
        assert c["kind"] in ("announce", "say", "preview", "halfway", "countdown", "finish", "custom")
    first_cue = j["cues"][0]
    assert (first_cue["at_s"], first_cue["kind"], first_cue["text"]) == (0.0, "announce", "Warm-up. 15 minutes.")
    assert first_cue["duration_s"] > 0
    assert [round(c["at_s"] * SR) for c in j["cues"]] == [c.at for c in tl.cues]
    assert j["warnings"] == []
    assert json.loads(json.dumps(j)) == j


def test_plan_json_no_clicks_inside_silent_steps() -> None:
    j = compile_text(SPEC_EXAMPLE).to_json()
    clicks = np.array([round(c * SR) for c in j["clicks"]])  # samples
    for s in j["steps"]:
        inside = clicks[(clicks >= round(s["start_s"] * SR)) & (clicks < round(s["end_s"] * SR))]
        if not s["click"]:
            assert len(inside) == 0
        else:
            assert len(inside) > 0


# --------------------------------------------------------------------------------------- 24 hours


def test_a_24_hour_workout_compiles() -> None:
    wk = workout("name: day\nsteps:\n  - repeat: 720\n    steps:\n      - run: 1min\n      - recover: 1min\n")
    assert wk.total_duration == 86400
    tl = compile_workout(wk, SR)
    assert len(tl.steps) == 1440
    assert tl.end == 86400 * SR
    assert len(tl.clicks) == 86400 * 3  # one clicking run at 180 spm
    assert np.all(np.diff(tl.clicks) == 14700)
    assert_well_formed(tl)
    j = tl.to_json()
    assert j["steps"][-1]["end_s"] == 86400.0


def test_click_on_a_boundary_that_falls_on_half_a_sample_rounds_like_the_boundary() -> None:
    # 77.65 s * 22050 Hz = 1712182.5 samples exactly: the step starts at 1712182 (half to even), and so does
    # its first click (a float sum rounded it to 1712183 before)
    wk = workout("name: tie\nsteps:\n  - rest: 77.65s\n    click: off\n  - run: 10s\n")
    tl = compile_workout(wk, 22050)
    assert tl.steps[1].start == 1712182
    assert int(tl.clicks[0]) == tl.steps[1].start
