"""The live coach (sensors/coach.py) on the real player and callback, driven by a fake stream, with a replayed
activity as the sensor: drift remarks (when, what, never over a planned cue), distance steps that end at the
replayed distance, a stalled or lost sensor, follow mode, the recording; and the timeline edits it makes
(core.edits.follow_cadence, retime_step, add_cue), with hypothesis."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach import pipeline as session
from cadencecoach.activity.model import Activity
from cadencecoach.core.edits import add_cue, cadence_now, click_timeline, follow_cadence, retime_step
from cadencecoach.core.timeline import CompileOptions, Cue, Timeline, compile_workout, cue_texts
from cadencecoach.pipeline import AudioSettings, VoiceSettings
from cadencecoach.sensors.coach import (
    LOST_TEXT,
    STALLED_TEXT,
    CoachSettings,
    DriftWatch,
    SensorCoach,
    remark,
    vocabulary,
)
from cadencecoach.sensors.replay import ReplaySensor
from cadencecoach.sinks.live.player import LivePlayer, PlayerConfig
from cadencecoach.workout.loader import load_workout_text
from conftest import FakeStream

SR = 8000
AUDIO = AudioSettings(sample_rate=SR)
BLOCK = 400  # 50 ms: a poll of the main loop per block

DRIFT = """\
name: Drift
cadence: 180
steps:
  - run: 60s
  - recover: 10s
    click: off
"""

DISTANCE = """\
name: Distance
cadence: 180
steps:
  - run: 100m
    pace: 1:40/400m
  - recover: 8s
    click: off
"""


def activity(
    seconds: float, cadence: Callable[[float], float], speed: float | None = 3.5, *, stall_at: float | None = None
) -> Activity:
    t = np.arange(0.0, seconds + 0.5, 1.0)
    cad = np.array([cadence(x) for x in t], np.float64)
    if speed is None:
        dist = np.full(len(t), np.nan)
        spd = np.full(len(t), np.nan)
    else:
        moving = t if stall_at is None else np.minimum(t, stall_at)
        dist = 12.0 + speed * moving  # a footpod counts from when it was switched on
        spd = np.full(len(t), speed)
    return Activity("test.csv", "csv", t, cad, spd, dist, np.full(len(t), np.nan))


def speech_for(texts: Any) -> dict[str, np.ndarray]:
    return session.speech_for(sorted(texts), SR, VoiceSettings(engine="tones"), None)


class Run:
    """A workout on the real player (fake stream), the coach as its observer, polled once per block."""

    def __init__(self, yaml: str, act: Activity, coach_settings: CoachSettings | None = None) -> None:
        workout = load_workout_text(yaml, "coach-test.yaml")
        texts = cue_texts(workout, CompileOptions())
        speech = speech_for(texts)
        self.timeline = compile_workout(workout, SR, speech, CompileOptions())
        self.coach_speech = speech_for(vocabulary(self.timeline))
        config = PlayerConfig(mode="run", voice_mode="full", out=io.StringIO(), err=io.StringIO(), show_live=False)
        self.player = LivePlayer(
            self.timeline, lambda tl: session.make_renderer(tl, AUDIO, None), FakeStream, config, speech
        )
        self.player.stream = FakeStream(self.player.engine.callback)
        self.player.stream.start()
        self.warnings: list[str] = []
        holder: list[SensorCoach] = []
        sensor = ReplaySensor(act, clock=lambda: holder[0].heard_s())
        self.coach = SensorCoach(
            sensor,
            coach_settings or CoachSettings(),
            self.coach_speech,
            sensor_clock=sensor.clock,
            warn=self.warnings.append,
        )
        holder.append(self.coach)
        sensor.start()
        self.player.observers.append(self.coach)
        self.coach.on_start(self.player)
        self.played: list[np.ndarray] = []
        self._step: int | None = -1

    def to(self, seconds: float) -> None:
        p = self.player
        while p.engine.pos < seconds * SR and not p.finished:
            self.played.append(p.stream.pump(BLOCK)[:, 0].copy())
            p.process()
            step = p.heard_step()
            index = None if step is None else step.index
            if index != self._step:
                self._step = index
                self.coach.on_step(p, step)
            self.coach.on_tick(p)

    def audio(self) -> np.ndarray:
        return np.concatenate(self.played)


def coach_cues(tl: Timeline) -> list[Cue]:
    return [c for c in tl.cues if c.kind == "coach"]


# -------------------------------------------------------------------------------------------- pure parts


def test_remark_words_and_limits() -> None:
    assert remark(172.4, 180, range(100, 241)) == ("Cadence 172. Up to 180.", [["Cadence", "172"], ["Up to", "180"]])
    assert remark(191, 180, range(100, 241))[0] == "Cadence 191. Down to 180."
    assert remark(30, 180, range(100, 241))[0] == "Cadence 100. Up to 180."  # never a number we did not make


def test_drift_watch_hold_every_and_quiet() -> None:
    d = DriftWatch(CoachSettings(tolerance=4, hold_s=10, every_s=60))
    assert not d.due(0, 175.0, 180.0, quiet_until=0)  # within the tolerance (5 off is not "more than 4"? it is)
    d = DriftWatch(CoachSettings(tolerance=4, hold_s=10, every_s=60))
    assert not d.due(0, 176.0, 180.0, quiet_until=0)  # 4 off: within
    assert not d.due(1, 175.9, 180.0, quiet_until=0)
    assert not d.due(10.9, 175.9, 180.0, quiet_until=0)
    assert d.due(11, 175.9, 180.0, quiet_until=0)
    assert not d.due(11, 175.9, 180.0, quiet_until=12)  # quiet after a change of tempo
    d.said(12)
    assert not d.due(30, 170.0, 180.0, quiet_until=0)  # every 60 s at most
    assert d.due(72, 170.0, 180.0, quiet_until=0)
    assert not d.due(73, 180.0, 180.0, quiet_until=0)  # back on the click: the hold starts again
    assert d.off_since is None


@settings(max_examples=60, deadline=None)
@given(
    now=st.integers(1, 3500),
    start=st.integers(120, 220),
    target=st.integers(120, 220),
    per=st.integers(5, 120),
)
def test_follow_cadence_is_exact_and_continuous(now: int, start: int, target: int, per: int) -> None:
    tl = click_timeline(180, 100, hours=1)
    segs = follow_cadence(tl.segments, Fraction(now), Fraction(start), Fraction(target), Fraction(1, per))
    assert segs is not None
    # contiguous, same total length, the tempo continuous after `now` and never past the target
    assert segs[0].start == 0 and segs[-1].end == tl.segments[-1].end
    assert all(a.end == b.start for a, b in itertools.pairwise(segs))
    after = [s for s in segs if s.start >= now]
    assert after[0].start == now and after[0].cadence[0] == start
    assert all(a.cadence[1] == b.cadence[0] for a, b in itertools.pairwise(after))
    lo, hi = min(start, target), max(start, target)
    for s in after:
        assert lo <= s.cadence[0] <= hi and lo <= s.cadence[1] <= hi
        span = s.end - s.start
        assert abs(s.cadence[1] - s.cadence[0]) <= span * Fraction(1, per)  # at most the rate


@settings(max_examples=60, deadline=None)
@given(
    durations=st.lists(st.integers(5, 60), min_size=2, max_size=5),
    step=st.integers(0, 4),
    frac=st.fractions(Fraction(1, 100), Fraction(99, 100)),
    new_len=st.integers(1, 200),
)
def test_retime_step_moves_the_end_and_everything_after(
    durations: list[int], step: int, frac: Fraction, new_len: int
) -> None:
    yaml = "name: R\ncadence: 180\nsteps:\n" + "".join(f"  - run: {d}s\n" for d in durations)
    tl = compile_workout(load_workout_text(yaml, "r.yaml"), 100)
    k = step % len(durations)
    seg = tl.segments[k]
    now = seg.start + (seg.end - seg.start) * frac
    new_end = now + Fraction(new_len, 3)
    segs = retime_step(tl.segments, now, new_end)
    assert segs is not None
    assert segs[k].end == new_end and segs[k].start == seg.start
    shift = new_end - seg.end
    for old, new in zip(tl.segments[k + 1 :], segs[k + 1 :], strict=True):
        assert (new.start, new.end) == (old.start + shift, old.end + shift)
    assert segs[:k] == tl.segments[:k]


def test_add_cue_never_over_a_planned_cue() -> None:
    tl = compile_workout(load_workout_text(DRIFT, "d.yaml"), SR)
    words = np.ones(SR, np.float32)
    planned = tl.cues[0]  # the announcement at 0
    assert add_cue(tl, Cue(planned.end - 10, "coach", "x", SR, 0, words)) is None
    assert add_cue(tl, Cue(planned.end + 100, "coach", "x", SR, 0, words), gap=200) is None
    ok = add_cue(tl, Cue(planned.end + 300, "coach", "x", SR, 0, words), gap=200)
    assert ok is not None and [c.kind for c in ok.cues].count("coach") == 1
    assert ok.cues == sorted(ok.cues, key=lambda c: c.at)


# -------------------------------------------------------------------------------------------- on the player


def test_drift_remark_at_the_hold_and_heard_as_rendered() -> None:
    # on the click until 20 s, then 172: the window's median turns at ~22.5 s, the hold (10 s) ends at ~32.5 s
    act = activity(75, lambda t: 180.0 if t < 20 else 172.0, speed=None)
    run = Run(DRIFT, act)
    run.to(50)
    remarks = run.coach.remarks
    assert [text for _, text in remarks] == ["Cadence 172. Up to 180."]
    at = remarks[0][0]
    assert 32.0 <= at <= 33.5, at
    cues = coach_cues(run.player.timeline)
    assert len(cues) == 1 and cues[0].text == "Cadence 172. Up to 180."
    assert abs(cues[0].at / SR - at) < 0.2
    others = [c for c in run.player.timeline.cues if c.kind != "coach"]
    assert not any(c.at < cues[0].end and c.end > cues[0].at for c in others)
    # what the callback played is the offline render of the timeline with the remark (the one renderer)
    played = run.audio()
    offline = np.zeros(len(played), np.float32)
    session.make_renderer(run.player.timeline, AUDIO, None).render(0, offline)
    np.testing.assert_array_equal(played, offline)
    assert np.abs(played[cues[0].at : cues[0].end]).max() > 0.05  # the remark is heard
    # at most one a minute: still off at 50 s, no second remark
    assert len(run.coach.remarks) == 1


def test_remark_waits_for_a_planned_cue_to_end() -> None:
    # due at ~50.3 s, when "Next: Recover, 10 seconds" (at 50 s) is speaking: it waits, then speaks after it
    act = activity(75, lambda t: 180.0 if t < 38 else 170.0, speed=None)
    run = Run(DRIFT, act)
    run.to(58)
    preview = next(c for c in run.player.timeline.cues if c.kind == "preview")
    cues = coach_cues(run.player.timeline)
    assert len(cues) == 1
    assert cues[0].at >= preview.end + round(0.4 * SR)
    countdown = [c for c in run.player.timeline.cues if c.kind == "countdown"]
    assert not any(c.at < cues[0].end and c.end > cues[0].at for c in countdown)


def test_distance_step_ends_at_the_replayed_distance() -> None:
    # planned 100 m at 25 s; the runner does 3.2 m/s: 100 m at 31.25 s
    run = Run(DISTANCE, activity(45, lambda t: 180.0, speed=3.2))
    run.to(45)
    steps = run.player.timeline.steps
    assert abs(float(steps[0].end_s) - 31.25) < 0.05, float(steps[0].end_s)
    assert float(steps[1].end_s - steps[1].start_s) == 8  # the recovery keeps its length
    assert run.player.skipped == set()  # ended by the footpod: completed, not skipped
    # the countdown was moved with the end: "1" a second before the real boundary
    ones = [c for c in run.player.timeline.cues if c.kind == "countdown" and c.step_index == 0]
    assert [round(c.at / SR - float(steps[0].end_s), 2) for c in ones] == [-3.0, -2.0, -1.0]


def test_a_faster_runner_ends_the_distance_sooner() -> None:
    run = Run(DISTANCE, activity(45, lambda t: 180.0, speed=5.0))
    run.to(40)
    assert abs(float(run.player.timeline.steps[0].end_s) - 20.0) < 0.05


def test_stalled_distance_is_said_once_and_the_step_ends_by_time() -> None:
    run = Run(DISTANCE, activity(60, lambda t: 180.0, speed=3.2, stall_at=12))
    run.to(45)
    texts = [text for _, text in run.coach.remarks]
    assert texts.count(STALLED_TEXT) == 1
    assert any("distance stopped counting" in w for w in run.warnings)
    end = float(run.player.timeline.steps[0].end_s)
    assert 30.5 < end < 32.0  # where the speed said before the stall; not held open forever
    assert run.player.finished or run.player.engine.pos > end * SR


def test_lost_sensor_is_said_once_and_the_workout_goes_on() -> None:
    act = activity(20, lambda t: 180.0, speed=None)
    act = Activity(act.source, act.fmt, act.t, act.cadence, act.speed, act.distance, act.heart_rate)
    run = Run(DRIFT, act)
    run.to(80)
    texts = [text for _, text in run.coach.remarks]
    # the replay ran out at 20 s: "ended", said as nothing (a replay's end is no loss)
    assert LOST_TEXT not in texts and run.coach.state == "ended"
    assert run.player.finished


def test_silent_sensor_is_lost_then_back() -> None:
    t = np.concatenate([np.arange(0, 15.0), np.arange(30, 60.0)])  # nothing from 15 to 30 s
    act = Activity(
        "gap.csv",
        "csv",
        t,
        np.full(len(t), 180.0),
        np.full(len(t), np.nan),
        np.full(len(t), np.nan),
        np.full(len(t), np.nan),
    )
    run = Run(DRIFT, act)
    run.to(40)
    texts = [text for _, text in run.coach.remarks]
    assert texts == [LOST_TEXT, "Footpod back."]
    lost_at = run.coach.remarks[0][0]
    assert 19.0 <= lost_at <= 20.5
    assert any("sensor lost" in w for w in run.warnings)


def test_follow_mode_starts_at_the_runner_and_walks_to_the_plan() -> None:
    act = activity(75, lambda t: 170.0, speed=None)
    run = Run(DRIFT, act, CoachSettings(follow=True, follow_rate=Fraction(1, 5), settle_s=8))
    run.to(10)
    pos = run.player.position()
    assert cadence_now(run.player.timeline, pos) == pytest.approx(170 + (pos / SR - 8.05) / 5, abs=0.3)
    run.to(30)
    # 170 at ~8 s, +1 spm per 5 s: 174 at ~28 s ... reaching 180 at ~58 s; the clicks' phase continuous
    assert cadence_now(run.player.timeline, run.player.position()) == pytest.approx(174.4, abs=0.5)
    run.to(59.5)
    assert cadence_now(run.player.timeline, run.player.position()) == pytest.approx(180, abs=0.01)
    clicks = run.player.timeline.clicks
    gaps = np.diff(clicks[(clicks > 8.5 * SR) & (clicks < 59 * SR)]) / SR
    assert np.all(np.abs(np.diff(gaps)) < 0.002)  # the walk: no jump in the click spacing
    assert run.coach.remarks == []  # follow mode does not nag


def test_recorded_run_has_a_lap_per_step_on_the_workouts_clock() -> None:
    run = Run(DISTANCE, activity(45, lambda t: 176.0, speed=3.2))
    run.to(45)
    rec = run.coach.recorded("run.tcx")
    assert rec is not None and rec.fmt == "sensor" and rec.started_at is not None
    assert [(round(lap.start_s, 2), round(lap.end_s, 2)) for lap in rec.laps][:1] == [(0.0, 31.25)]
    assert rec.t[0] >= 0 and np.all(np.diff(rec.t) >= 0)
    assert np.nanmax(rec.cadence) == 176.0
    assert rec.distance[0] == 0.0  # the footpod's total (it began at 12 m) counted from the start
    assert abs(float(rec.distance[rec.t <= 31][-1]) - 3.2 * 31) < 0.01


def test_a_waiting_remark_is_dropped_when_the_runner_is_back_on_the_click() -> None:
    run = Run(DRIFT, activity(75, lambda t: 180.0, speed=None))
    run.to(20)
    coach = run.coach
    coach._pending = ("Cadence 150. Up to 180.", [["Cadence", "150"], ["Up to", "180"]], "drift")
    coach._pending_at = coach.heard_s()
    run.to(21)
    assert coach._pending is None and coach.remarks == []  # on the click again: nothing stale is said


def test_a_remark_that_waited_too_long_is_made_again_with_the_cadence_of_now() -> None:
    run = Run(DRIFT, activity(75, lambda t: 180.0 if t < 5 else 171.0, speed=None))
    run.to(16.5)  # off since ~7.5 s, due at ~17.5 s
    coach = run.coach
    coach._pending = ("Cadence 160. Up to 180.", [["Cadence", "160"], ["Up to", "180"]], "drift")
    coach._pending_at = coach.heard_s() - 6
    run.to(19)
    assert [text for _, text in coach.remarks] == ["Cadence 171. Up to 180."]
