"""Issue 14's live controls without a sound card: ``p`` (restart / back one step), ``+``/``-`` of rest, the
volume keys, spoken confirmations mixed over the timeline (an overlay the callback ducks it under), the fade
and drain on ``q``, reopening a lost or underflowing output, the old stream's late calls, the keep-awake floor.

The fake streams of ``tests/conftest.py`` drive the real callback: :class:`FakeStream` block by block (what the
"device" got is compared sample for sample with offline renders), :class:`ThreadStream` from a thread of its own
under :meth:`LivePlayer.play`. Confirmations are said by a vocabulary of synthetic words (a tone of its own per
word), so each can be found in the output.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from cadencecoach import pipeline as session
from cadencecoach.core import confirm, edits
from cadencecoach.core.timeline import CompileOptions, Timeline, compile_workout, cue_texts
from cadencecoach.pipeline import VoiceSettings
from cadencecoach.sinks.live.engine import PAUSED, PLAYING, STOPPED, Engine, keep_awake_noise
from cadencecoach.sinks.live.keys import HELP, Command, does_something
from cadencecoach.sinks.live.player import VOLUME_MIN, DeviceLost, LivePlayer, PlayerConfig
from cadencecoach.speech.phrases import Vocabulary
from cadencecoach.ui.live_view import display_for
from cadencecoach.workout.loader import load_workout_text
from conftest import FakeStream, Flags, ScriptedKeys, ThreadStream
from test_live import SR, WORKOUT, make_renderer, offline

FADE = round(0.02 * SR)  # the engine's fades: 240 samples
STEP_DB = 10 ** (-3 / 20)

# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def workout() -> Any:
    return load_workout_text(WORKOUT, "live-test.yaml")


@pytest.fixture(scope="module")
def speech(workout: Any) -> dict[str, np.ndarray]:
    texts = cue_texts(workout, CompileOptions()) | edits.lead_in_texts(workout.name)
    return session.speech_for(texts, SR, VoiceSettings(engine="tones"), None)


@pytest.fixture(scope="module")
def timeline(workout: Any, speech: dict[str, np.ndarray]) -> Timeline:
    return compile_workout(workout, SR, speech, CompileOptions())


def word_tone(k: int, seconds: float = 0.06) -> np.ndarray:
    """The synthetic audio of the k-th vocabulary word: a tone of its own frequency."""
    t = np.arange(round(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * (300 + 37 * k) * t)).astype(np.float32)


class Say:
    """The player's `say`: the vocabulary of the timeline joined into sentences (as the commands do), and a
    record of what it was asked to say."""

    def __init__(self, tl: Timeline) -> None:
        texts = confirm.vocabulary(tl)
        self.vocabulary = Vocabulary(texts, SR, lambda ts: {w: word_tone(k) for k, w in enumerate(ts)}).load()
        assert self.vocabulary.error is None
        self.calls: list[list[list[str]]] = []

    def __call__(self, sentences: Sequence[Sequence[str]]) -> np.ndarray | None:
        self.calls.append([list(s) for s in sentences])
        return self.vocabulary.say(sentences)

    def texts(self) -> list[str]:
        return [confirm.said(c) for c in self.calls]


@pytest.fixture
def say(timeline: Timeline) -> Say:
    return Say(timeline)


def make_player(
    tl: Timeline,
    speech: dict[str, np.ndarray] | None = None,
    *,
    mode: str = "run",
    say: Callable[..., Any] | None = None,
    stream_cls: type[FakeStream] | list[type[FakeStream]] = FakeStream,
    keys: ScriptedKeys | None = None,
    reopen: Callable[..., Any] | None = None,
    reopen_with: Callable[[list[FakeStream]], Callable[..., Any]] | None = None,
    reopen_same: bool = False,
    start: bool = True,
    **kw: Any,
) -> tuple[LivePlayer, list[FakeStream]]:
    """A player whose streams are fakes: `stream_cls` (the first stream, then the next ones, when a list); each
    stream gets ``.player``. `reopen_with(streams)` makes the `reopen` (given the list the streams go to).
    `start`: a FakeStream on the engine's callback, started (pump it); else call ``play()``."""
    classes = stream_cls if isinstance(stream_cls, list) else [stream_cls]
    streams: list[FakeStream] = []
    ref: list[LivePlayer] = []

    def factory(callback: Any) -> FakeStream:
        s = classes[min(len(streams), len(classes) - 1)](callback)
        s.player = ref[0]  # type: ignore[attr-defined]
        streams.append(s)
        return s

    if reopen_with is not None:
        reopen = reopen_with(streams)
    kw.setdefault("voice_mode", "off" if mode == "click" else "full")
    config = PlayerConfig(mode=mode, out=io.StringIO(), err=io.StringIO(), show_live=False, **kw)
    player = LivePlayer(
        tl, make_renderer, factory, config, speech, keys=keys, say=say, reopen=reopen, reopen_same=reopen_same
    )
    ref.append(player)
    player.observers.append(display_for(player, HELP))
    if keys is not None:
        keys.player = player
    if start:
        player.stream = factory(player.engine.callback)
        player.stream.start()
    return player, streams


def poll_to(player: LivePlayer, sample: int, block: int = 512) -> np.ndarray:
    """Run the callback until the position reaches `sample`, doing after each block what the main loop does
    each poll (finish swaps, run commands, hand over a confirmation that waited); returns what it played."""
    out = []
    while player.engine.pos < sample:
        out.append(player.stream.pump(block)[:, 0])
        player.process()
        player._say_waiting()
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def pump(player: LivePlayer, frames: int, block: int = 512) -> np.ndarray:
    """`frames` more frames (paused or not), polled like :func:`poll_to`."""
    out = []
    while frames > 0:
        n = min(block, frames)
        out.append(player.stream.pump(n)[:, 0])
        player.process()
        player._say_waiting()
        frames -= n
    return np.concatenate(out)


def played(player: LivePlayer) -> np.ndarray:
    return np.concatenate([b[:, 0] for b in player.stream.blocks])


def voice_only(tl: Timeline, start: int, n: int) -> np.ndarray:
    r = make_renderer(tl)
    r.click_enabled = False
    out = np.zeros(n, np.float32)
    r.render(start, out)
    return out


def with_overlay(base: np.ndarray, overlay: Any, done: int = 0) -> np.ndarray:
    """What the callback makes of timeline samples `base` under `overlay` from its sample `done` on: the timeline
    times the overlay's duck curve, plus its words (and the timeline alone after it)."""
    out = base.astype(np.float32).copy()
    m = min(len(out), len(overlay.audio) - done)
    out[:m] *= overlay.duck[done : done + m]
    out[:m] += overlay.audio[done : done + m]
    return out


# ------------------------------------------------------------------------------------------ `p`: replay


def test_p_restarts_the_step_from_now(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 5 * SR)
    player.handle(Command.PREVIOUS)
    what, now = player._events[-1]
    assert what == "previous"
    swap = player.engine.pending
    assert swap is not None
    poll_to(player, now + 12 * SR)
    assert not player.busy
    tl = player.timeline
    old = timeline.steps
    now_s = Fraction(now, SR)
    added = now_s - old[0].start_s  # what was played of the step: it is played again
    # the step replays from `now` with its planned length; every later step moved by exactly the time added
    assert [s.index for s in tl.steps] == [0, 0, 1, 2]
    assert tl.steps[0].end_s == tl.steps[1].start_s == now_s
    assert tl.steps[1].end_s - tl.steps[1].start_s == old[0].end_s - old[0].start_s
    for new, was in zip(tl.steps[2:], old[1:], strict=True):
        assert (new.start_s, new.end_s) == (was.start_s + added, was.end_s + added)
    assert tl.duration_s == timeline.duration_s + added
    # what the "device" got: the old timeline before the swap point, the new one from it
    got = played(player)
    np.testing.assert_array_equal(got[: swap.at], offline(timeline, 0, swap.at))
    np.testing.assert_array_equal(got[swap.at :], offline(tl, swap.at, len(got) - swap.at))
    # announced again, "Back to" first: the cue at `now` begins with that word's audio
    announce = [c for c in tl.cues if c.kind == "announce" and c.at >= now]
    assert announce[0].at == now and announce[0].text == "Back to Warm-up. 10 seconds."
    back = say.vocabulary.say([[confirm.BACK_TO]])
    assert back is not None
    voice = voice_only(tl, now, len(back))
    k = int(np.argmax(np.abs(back)))
    level = voice[k] / back[k]
    assert level > 0.1
    np.testing.assert_allclose(voice, back * level, atol=1e-5)
    assert player.last_said == (now / SR, "Back to Warm-up")
    # the old step's countdown (7, 8, 9 s) is gone; the replay's comes 7, 8, 9 s after `now`
    countdown = [c.at for c in tl.cues if c.kind == "countdown" and c.at < (now + 10 * SR)]
    assert countdown == [now + 7 * SR, now + 8 * SR, now + 9 * SR]


def test_p_early_in_a_step_goes_back_one_step(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 11 * SR)  # 1 s into the run
    player.handle(Command.PREVIOUS)
    now = player._events[-1][1]
    poll_to(player, now + SR)
    tl = player.timeline
    now_s = Fraction(now, SR)
    assert [s.index for s in tl.steps] == [0, 1, 0, 1, 2]  # the warm-up, then the run again, whole
    assert tl.steps[1].end_s == tl.steps[2].start_s == now_s
    assert tl.steps[2].end_s == now_s + 10
    assert (tl.steps[3].start_s, tl.steps[3].end_s) == (now_s + 10, now_s + 22)
    assert tl.steps[4].start_s == now_s + 22
    assert [c.text for c in tl.cues if c.kind == "announce" and c.at >= now][:2] == [
        "Back to Warm-up. 10 seconds.",
        "Run. 12 seconds. 85 percent effort.",
    ]
    assert player.last_said is not None and player.last_said[1] == "Back to Warm-up"
    # `p` again 1 s into that warm-up: there is no step before it in the plan, so it restarts it (it does not
    # play the run that was cut)
    player.handle(Command.PREVIOUS)
    again = player._events[-1][1]
    poll_to(player, again + SR)
    assert [s.index for s in player.timeline.steps] == [0, 1, 0, 0, 1, 2]
    assert player.timeline.steps[3].end_s - player.timeline.steps[3].start_s == 10


def test_n_then_p_undoes_a_mistaken_lap(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 5 * SR)
    player.handle(Command.SKIP)
    lap = player._events[-1][1]
    poll_to(player, lap + SR)
    assert player.skipped == {0} and player.lap_lag > 0
    assert player.timeline.steps[1].end_s - player.timeline.steps[1].start_s < 12  # shortened by the lag
    assert player.last_said is not None and player.last_said[1] == "Skipped. Run"
    player.handle(Command.PREVIOUS)  # within 3 s of the run's start: back to the warm-up
    now = player._events[-1][1]
    poll_to(player, now + SR)
    tl = player.timeline
    assert [s.index for s in tl.steps] == [0, 1, 0, 1, 2]
    assert tl.steps[2].end_s - tl.steps[2].start_s == 10  # the skipped warm-up replays whole
    assert tl.steps[3].end_s - tl.steps[3].start_s == 12  # and the run as planned (no lag taken off)
    assert player.skipped == set()
    poll_to(player, tl.length, block=4096)  # to the end
    assert player.finished
    s = player.summary()
    assert (s.completed, s.steps_total, s.skipped) == (3, 3, 0)  # each step counted once
    assert "steps: 3 of 3 completed, 0 skipped" in s.line()


def test_p_in_the_lead_in_and_after_the_end_does_nothing(timeline: Timeline, workout: Any, speech: Any) -> None:
    pre = edits.make_pre_roll(workout.name, speech, SR)
    player, _ = make_player(timeline, speech, pre_roll=len(pre))
    player.handle(Command.PREVIOUS)
    assert player.engine.pending is None and not player.busy
    player, _ = make_player(timeline, speech)
    poll_to(player, timeline.end + 512, block=4096)
    player.handle(Command.PREVIOUS)
    assert player.engine.pending is None and not player.busy and not player._events


# ---------------------------------------------------------------------------------------- `+`/`-` of rest


def test_plus_minus_in_a_rest_change_its_length(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 23 * SR)  # 1 s into the recover step (no click)
    heard = player.position()
    player.handle(Command.FASTER)
    poll_to(player, player.engine.pos + 1024)
    tl = player.timeline
    assert tl.steps[2].end_s == timeline.steps[2].end_s + 15
    assert tl.duration_s == timeline.duration_s + 15
    assert [c.at for c in tl.cues if c.kind == "finish"] == [45 * SR]
    assert player.last_said is not None
    left = confirm.said([confirm.time_left(45 - heard / SR)])
    assert player.last_said[1] == f"More rest. {left}" == "More rest. 20 seconds left."
    # the cadence is untouched (and the rest still silent)
    assert [(s.cadence, s.click) for s in tl.segments] == [(s.cadence, s.click) for s in timeline.segments]
    np.testing.assert_array_equal(tl.clicks, timeline.clicks)
    assert "More rest." in say.texts()[-1]
    # `-`: 15 s less, but never less than 5 s left after `now`
    player.handle(Command.SLOWER)
    now = player._events[-1][1]
    poll_to(player, now + 1024)
    assert player.timeline.steps[2].end_s == timeline.steps[2].end_s  # back to 30 s
    assert player.last_said[1].startswith("Less rest. ")
    player.handle(Command.SLOWER)
    now = player._events[-1][1]
    poll_to(player, now + 1024)
    assert player.timeline.steps[2].end_s == Fraction(now, SR) + 5
    said, events = player.last_said, list(player._events)
    player.handle(Command.SLOWER)  # already at the minimum: nothing changes, nothing is said
    assert not player.busy and player._events == events
    assert player.last_said == said


def test_plus_in_a_clicking_step_changes_the_cadence(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 12 * SR)  # the run, 150 spm
    player.handle(Command.FASTER)
    poll_to(player, 13 * SR)
    assert player.last_said is not None and player.last_said[1] == "Cadence 152."
    assert say.calls[-1] == [["Cadence", "152"]]
    assert edits.cadence_now(player.timeline, 14 * SR) == pytest.approx(152)
    assert player.timeline.steps[1].end_s == timeline.steps[1].end_s  # the length is untouched


# ------------------------------------------------------------------------------------------- the volume


def test_volume_keys_ramp_without_a_step(timeline: Timeline, speech: Any) -> None:
    player, _ = make_player(timeline, speech)
    poll_to(player, 10 * SR)  # the run's announcement is speaking: a loud signal to change
    e = player.engine
    start = e.pos
    player.handle(Command.VOLUME_DOWN)
    out = pump(player, 2048)
    ref = offline(timeline, start, 2048)
    gain = np.full(2048, STEP_DB)
    gain[:FADE] = 1 + (STEP_DB - 1) * np.arange(1, FADE + 1) / FADE  # a linear ramp over the 20 ms fade
    np.testing.assert_allclose(out, ref * gain, atol=1e-6)
    assert e.gain == pytest.approx(STEP_DB) and player.volume == pytest.approx(STEP_DB)
    # no step: consecutive samples differ no more than the signal's own steps plus the ramp's slope
    slope = (1 - STEP_DB) / FADE
    assert np.abs(np.diff(out)).max() <= np.abs(np.diff(ref)).max() + slope * np.abs(ref).max() + 1e-6
    assert np.abs(ref).max() > 0.3
    player.handle(Command.VOLUME_DOWN)
    pump(player, 1024)
    assert e.gain == pytest.approx(STEP_DB**2)
    assert player.last_said is not None and player.last_said[1] == "Quieter."


def test_volume_ramps_over_the_fade_in_blocks_shorter_than_it(timeline: Timeline, speech: Any) -> None:
    """At 48 kHz the fade is 960 samples, longer than a typical block: the ramp goes on across blocks, one fade
    long in all."""
    player, _ = make_player(timeline, speech)
    poll_to(player, 10 * SR)
    start = player.engine.pos
    player.handle(Command.VOLUME_DOWN)
    out = pump(player, 1024, block=64)
    ref = offline(timeline, start, 1024)
    gain = np.full(1024, STEP_DB)
    gain[:FADE] = 1 + (STEP_DB - 1) * np.arange(1, FADE + 1) / FADE
    np.testing.assert_allclose(out, ref * gain, atol=1e-6)
    assert player.engine.gain == STEP_DB


def test_volume_clamps_and_says_so(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say)
    poll_to(player, SR)
    player.handle(Command.VOLUME_UP)
    assert player.volume == 1.0 and player.last_said is not None and player.last_said[1] == "Full volume."
    texts = []
    for _ in range(12):
        player.handle(Command.VOLUME_DOWN)
        texts.append(player.last_said[1])  # type: ignore[index]
        pump(player, 512)
    assert player.volume == VOLUME_MIN and player.engine.gain == pytest.approx(VOLUME_MIN)
    assert texts[0] == "Quieter." and texts[-1] == "Lowest volume."
    assert set(texts) == {"Quieter.", "Lowest volume."}
    for _ in range(12):
        player.handle(Command.VOLUME_UP)
        pump(player, 512)
    assert player.volume == 1.0 and player.last_said[1] == "Full volume."  # type: ignore[index]
    assert [["Full volume."]] in say.calls and [["Lowest volume."]] in say.calls
    # MPRIS's Volume: clamped to 0..1; from silence, down stays silent and up goes to the lowest step
    player.set_volume(3.0)
    assert player.volume == 1.0
    player.set_volume(0.0)
    player.handle(Command.VOLUME_DOWN)
    assert player.volume == 0.0 and player.last_said[1] == "Lowest volume."  # type: ignore[index]
    player.handle(Command.VOLUME_UP)
    assert player.volume == VOLUME_MIN and player.last_said[1] == "Louder."  # type: ignore[index]


def test_posted_volume_and_names_reach_the_main_loop(timeline: Timeline, speech: Any) -> None:
    keys = ScriptedKeys([(4 * SR, Command.QUIT)])
    player, _ = make_player(timeline, speech, stream_cls=ThreadStream, keys=keys, start=False)
    done = threading.Event()

    def mpris() -> None:  # another thread, as the D-Bus service is
        while player.engine.pos < SR:
            time.sleep(0.002)
        player.post_volume(0.5)
        player.post_volume(float("nan"))  # ignored
        player.post_volume("loud")  # type: ignore[arg-type]  # ignored
        player.post_name("no-such-command")  # ignored
        player.post_name("mute-click")
        player.post_name("volume-down")
        done.set()

    t = threading.Thread(target=mpris, daemon=True)
    t.start()
    assert player.play() == 0
    t.join(2)
    assert done.is_set()
    assert player.volume == pytest.approx(0.5 * STEP_DB)
    assert player.engine.gain == pytest.approx(0.5 * STEP_DB)
    assert player.click_enabled is False
    assert player.last_said is not None and player.last_said[1] == "Quieter."


# ----------------------------------------------------------------------------------------- confirmations


def test_paused_is_heard_while_the_timeline_is_paused(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say)
    poll_to(player, 2 * SR)
    e = player.engine
    p0 = e.pos
    player.handle(Command.PAUSE)
    assert e.overlay_pending is not None and e.overlay_pending.text == "Paused."
    overlay = e.overlay_pending
    n = len(overlay.audio) + 1000
    out = pump(player, n)
    assert e.state == PAUSED and e.pos == p0 + FADE  # the timeline faded out and stopped there
    timeline_part = np.zeros(n, np.float32)
    timeline_part[:FADE] = offline(timeline, p0, FADE) * (1 - np.arange(1, FADE + 1) / FADE)
    np.testing.assert_allclose(out, with_overlay(timeline_part, overlay), atol=1e-6)
    words = say.vocabulary.say([[confirm.PAUSED]])
    assert words is not None
    lead = FADE  # the words start once the timeline is ducked
    np.testing.assert_array_equal(out[lead : lead + len(words)], words)  # heard where the paused timeline is silent
    assert not out[len(overlay.audio) :].any()
    assert player.last_said is not None and player.last_said[1] == "Paused."
    # resume: "Resumed." over the fade-in
    player.handle(Command.PAUSE)
    assert e.overlay_pending is not None and e.overlay_pending.text == "Resumed."
    resumed = e.overlay_pending
    out = pump(player, 2048)
    ramp = np.ones(2048)
    ramp[:FADE] = np.arange(1, FADE + 1) / FADE
    np.testing.assert_allclose(out, with_overlay(offline(timeline, p0 + FADE, 2048) * ramp, resumed), atol=1e-6)
    assert e.state == PLAYING and player.last_said[1] == "Resumed."
    # MPRIS's Pause/Play: only what changes something is done (and said)
    player.handle(Command.RESUME)
    assert not e.want_pause and player.last_said[1] == "Resumed."
    player.handle(Command.PAUSE_ON)
    assert e.want_pause and player.last_said[1] == "Paused."
    player.handle(Command.PAUSE_ON)
    assert e.want_pause


def test_a_confirmation_waits_for_a_planned_cue_to_end(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say)
    run_cue = next(c for c in timeline.cues if c.at == 10 * SR)
    poll_to(player, run_cue.at + 600)  # the run's announcement is speaking
    e = player.engine
    player.handle(Command.STATUS)
    assert player.last_said is not None
    assert player.last_said[1] == "Run. 12 seconds left. Cadence 150."  # shown at once
    assert e.overlay_pending is None  # but not said over the announcement
    taken_at = None
    while e.pos < run_cue.end + 3 * SR:
        seq = e.overlay_seq
        start = e.pos
        player.stream.pump(512)
        if e.overlay_seq != seq:
            taken_at = start
            break
        player.process()
        player._say_waiting()
    assert taken_at is not None and run_cue.end <= taken_at < run_cue.end + 1024
    assert say.calls[-1] == [["Run"], ["12", "seconds", "left"], ["Cadence", "150"]]
    # a confirmation of an action (`now`) does not wait: the volume key at a countdown word
    poll_to(player, 19 * SR + 200)
    player.handle(Command.VOLUME_DOWN)
    assert e.overlay_pending is not None and e.overlay_pending.text == "Quieter."


def script(player: LivePlayer) -> np.ndarray:
    """A run with every kind of confirmation: status, pause/resume, a lap, the cadence, the volume, rest."""
    out = [poll_to(player, 2 * SR)]
    player.handle(Command.STATUS)
    out.append(poll_to(player, 3 * SR))
    player.handle(Command.PAUSE)
    out.append(pump(player, SR))
    player.handle(Command.PAUSE)
    out.append(poll_to(player, 5 * SR))
    player.handle(Command.SKIP)
    out.append(poll_to(player, 7 * SR))
    player.handle(Command.FASTER)
    out.append(poll_to(player, 15 * SR))
    poll_to_rest = poll_to(player, 18 * SR)  # the run (shortened by the lap) ended at ~17 s: the rest
    out.append(poll_to_rest)
    player.handle(Command.FASTER)  # in the rest: more rest
    out.append(poll_to(player, 20 * SR))
    return np.concatenate(out)


@pytest.mark.parametrize("variant", ["confirm off", "no say"])
def test_no_voice_mixes_nothing(timeline: Timeline, speech: Any, say: Say, variant: str) -> None:
    # (`run --no-voice` and `--no-confirm` give the player confirm=False; the metronome, whose voice mode is
    # "off" as it has no cues, still confirms its keys: tests/e2e/test_live_control.py)
    kw: dict[str, Any] = {"margin_s": 0.0}
    if variant == "confirm off":
        kw["confirm"] = False
    player, _ = make_player(timeline, speech, say=None if variant == "no say" else say, **kw)
    got = script(player)
    assert player.engine.overlay_seq == 0 and player.engine.overlay is None
    assert player.last_said is not None  # the display still shows what would have been said
    old, _ = make_player(timeline, speech, **kw)  # without any `say`: the behaviour before confirmations
    np.testing.assert_array_equal(got, script(old))
    assert [c.text for c in player.timeline.cues] == [c.text for c in old.timeline.cues]
    # and with a voice: the same script mixes confirmations in (so the comparison above could fail)
    if variant == "no say":
        spoken, _ = make_player(timeline, speech, say=say, **kw)
        assert not np.array_equal(script(spoken), got)
        assert spoken.engine.overlay_seq >= 3
        assert any(c.text.startswith("Skipped. ") for c in spoken.timeline.cues)


def test_a_muted_voice_says_nothing_but_voice_off(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say, margin_s=0.0)
    poll_to(player, 2 * SR)
    player.handle(Command.MUTE_VOICE)
    assert say.texts() == ["Voice off."]
    poll_to(player, 3 * SR)
    player.handle(Command.STATUS)
    player.handle(Command.VOLUME_DOWN)
    poll_to(player, 4 * SR)
    assert say.texts() == ["Voice off."] and player.engine.overlay_seq == 1
    assert player.last_said is not None and player.last_said[1] == "Quieter."
    player.handle(Command.MUTE_VOICE)
    pump(player, 512)
    assert say.texts()[-1] == "Voice on." and player.engine.overlay_seq == 2


# ---------------------------------------------------------------------------------------- `q` and drain


def test_q_fades_a_speaking_overlay_with_the_timeline(timeline: Timeline, speech: Any, say: Say) -> None:
    player, _ = make_player(timeline, speech, say=say)
    poll_to(player, 2 * SR)
    e = player.engine
    player.handle(Command.STATUS)  # no cue near: said at once
    overlay = e.overlay_pending
    assert overlay is not None and overlay.text == "Warm-up. 8 seconds left. Cadence 180."
    pump(player, 1024)
    assert e.overlay is overlay and overlay.done == 1024  # speaking (its words start after 20 ms)
    p0 = e.pos
    player.handle(Command.QUIT)
    out = pump(player, 2048)
    assert e.state == STOPPED
    down = 1 - np.arange(1, FADE + 1) / FADE
    expected = np.zeros(2048, np.float32)
    expected[:FADE] = offline(timeline, p0, FADE) * down * overlay.duck[1024 : 1024 + FADE]
    expected[:FADE] += overlay.audio[1024 : 1024 + FADE] * down
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert not out[FADE:].any()
    assert e.overlay is None  # let go of the rest of the words
    # no jump beyond what the fade allows: |y[k] - y[k-1]| <= the signal's own step + its level / FADE
    signal = with_overlay(offline(timeline, p0, FADE), overlay, done=1024)
    bound = np.abs(np.diff(signal)).max() + np.abs(signal).max() / FADE
    heard = played(player)[-2048 - 1 : -2048 + FADE]
    assert np.abs(np.diff(heard)).max() <= bound + 1e-6


class LatencyStream(ThreadStream):
    """A thread stream with an output latency, that records how it was stopped."""

    def __init__(self, callback: Any) -> None:
        super().__init__(callback)
        self.latency = 0.05
        self.ended: tuple[str, int, int] | None = None  # (how, frames handed over, frames when STOPPED)
        self.first_pos: int | None = None

    def pump(self, frames: int, status: Flags | None = None) -> np.ndarray:
        if self.first_pos is None:
            self.first_pos = self.player.engine.pos  # type: ignore[attr-defined]
        return super().pump(frames, status)

    def _end(self, how: str) -> None:
        if self.ended is None:
            e = self.player.engine  # type: ignore[attr-defined]
            self.ended = (how, e.frames, e.stopped_frames)
        ThreadStream.stop(self)

    def stop(self) -> None:
        self._end("stop")

    def abort(self) -> None:
        self._end("abort")


def test_q_drains_before_closing(timeline: Timeline, speech: Any, say: Say) -> None:
    keys = ScriptedKeys([(2 * SR, Command.STATUS), (2 * SR + 2000, Command.QUIT)])
    player, streams = make_player(timeline, speech, say=say, stream_cls=LatencyStream, keys=keys, start=False)
    assert player.play() == 0
    (stream,) = streams
    assert isinstance(stream, LatencyStream) and stream.closed and stream.ended is not None
    how, frames, stopped = stream.ended
    assert how == "stop" and stopped >= 0
    latency = round(0.05 * SR)
    assert frames - stopped >= latency + 2 * 512  # the fade-out reached the device before the close
    assert player.engine.state == STOPPED
    got = stream.played()
    assert not got[-(latency + 512) :].any()  # what came after the fade was silence
    assert say.calls and say.calls[0][0] == ["Warm-up"]


# -------------------------------------------------------------------------------------------- recovery


class Dies(LatencyStream):
    """Hands over `LIMIT` blocks, then dies: PortAudio ends it (``active`` False) or, with HANG, the server hangs
    (still "active", no more callbacks)."""

    LIMIT = 60  # 2.6 s of frames: past the start-up allowance
    HANG = False

    def _run(self) -> None:
        n = 0
        while self.active and n < self.LIMIT:
            self.pump(self.block)
            time.sleep(self.period)
            n += 1
        self.died_at = self.player.engine.pos  # type: ignore[attr-defined]
        if self.HANG:
            self.stop_calling.set()
        else:
            self.active = False


class Hangs(Dies):
    HANG = True


def reopener(
    streams: list[FakeStream], reasons: list[str], cls: type[FakeStream] = LatencyStream
) -> Callable[..., Any]:
    """A fake ``StreamOpener.reopen``: records the reason, closes the old stream itself, opens a new one."""

    def reopen(callback: Any, reason: str, old: Any) -> FakeStream:
        assert old is streams[-1]
        reasons.append(reason)
        old.abort()
        old.close()
        s = cls(callback)
        s.player = streams[0].player  # type: ignore[attr-defined]
        streams.append(s)
        return s

    return reopen


@pytest.mark.parametrize(("first", "how"), [(Dies, "same"), (Dies, "reopen"), (Hangs, "reopen")])
def test_a_lost_output_is_reopened_and_the_run_goes_on(
    timeline: Timeline, speech: Any, say: Say, first: type[Dies], how: str
) -> None:
    keys = ScriptedKeys([(5 * SR, Command.QUIT)])
    reasons: list[str] = []
    player, streams = make_player(
        timeline,
        speech,
        say=say if how == "reopen" else None,
        stream_cls=[first, LatencyStream],
        keys=keys,
        start=False,
        reopen_with=(lambda streams: reopener(streams, reasons)) if how == "reopen" else None,
        reopen_same=how == "same",
    )
    t0 = time.monotonic()
    assert player.play() == 0
    assert time.monotonic() - t0 < 5
    assert len(streams) == 2
    old, new = streams
    assert isinstance(old, Dies) and isinstance(new, LatencyStream)
    assert player.stream is new and new.closed and old.closed
    assert reasons == ([] if how == "same" else ["stalled" if first.HANG else "stopped"])
    # it went on from the sample last heard (the rendered position less the output latency), fading in
    latency = round(0.05 * SR)
    assert new.first_pos == old.died_at - latency
    ramp = np.ones(512)
    ramp[:FADE] = np.arange(1, FADE + 1) / FADE
    if how == "same":  # nothing said over it: the first block is the timeline faded in
        np.testing.assert_allclose(new.blocks[0][:, 0], offline(timeline, new.first_pos, 512) * ramp, atol=1e-6)
    else:
        assert [["Audio restored."]] in say.calls and player.engine.overlay_seq >= 1
    assert player.last_said is not None and player.last_said[1] == "Audio restored."
    assert len(player.outages) == 1 and player.outages[0][1] == pytest.approx((old.died_at - latency) / SR)
    line = player.summary().line()
    assert "audio lost 1 time" in line and "(the workout waited)" in line
    assert player.config.err.getvalue().strip().endswith(line)  # type: ignore[union-attr]
    # a late call from the abandoned stream's callback writes silence and moves nothing
    e = player.engine
    pos, frames = e.pos, e.frames
    buf = np.full((512, 1), np.nan, np.float32)
    old.callback(buf, 512, None, Flags())
    assert not buf.any() and (e.pos, e.frames) == (pos, frames)


def test_a_reopen_that_keeps_failing_ends_with_what_was_missed(timeline: Timeline, speech: Any) -> None:
    tries: list[str] = []

    def reopen(callback: Any, reason: str, old: Any) -> Any:
        tries.append(reason)
        raise RuntimeError("no such device")

    player, streams = make_player(
        timeline, speech, stream_cls=Dies, keys=ScriptedKeys([]), start=False, reopen=reopen, reconnect_s=0.3
    )
    t0 = time.monotonic()
    with pytest.raises(DeviceLost) as info:
        player.play()
    waited = time.monotonic() - t0
    assert info.value.exit_code == 3
    text = str(info.value)
    assert "the audio output stopped, and no output came back within 0.3 s" in text
    assert re.search(r"\(stopped at 0:0[23] of 0:30, \d s without sound\)", text), text
    assert "last try: no such device" in text
    assert len(tries) >= 1 and set(tries) == {"stopped"}
    assert len(streams) == 1 and waited < 4
    assert "played 0:0" in player.config.err.getvalue()  # type: ignore[union-attr]


def test_reconnect_0_exits_3_at_once(timeline: Timeline, speech: Any) -> None:
    player, streams = make_player(
        timeline, speech, stream_cls=Dies, keys=ScriptedKeys([]), start=False, reopen_same=True, reconnect_s=0
    )
    t0 = time.monotonic()
    with pytest.raises(DeviceLost) as info:
        player.play()
    assert info.value.exit_code == 3
    assert "audio output lost: the audio output stopped" in str(info.value) and "came back" not in str(info.value)
    assert len(streams) == 1 and time.monotonic() - t0 < 2.5
    assert not player.outages


def test_q_while_reconnecting_ends_the_run(timeline: Timeline, speech: Any) -> None:
    class QuitWhileLost(ScriptedKeys):
        def read(self, timeout: float) -> list[Any]:
            time.sleep(min(timeout, self.poll_s))
            return [Command.QUIT] if self.player.stream is None else []

    def reopen(callback: Any, reason: str, old: Any) -> Any:
        raise RuntimeError("still gone")

    player, _ = make_player(
        timeline, speech, stream_cls=Dies, keys=QuitWhileLost([]), start=False, reopen=reopen, reconnect_s=30
    )
    t0 = time.monotonic()
    with pytest.raises(DeviceLost):
        player.play()
    assert time.monotonic() - t0 < 3  # not the 30 s


class Underflows(LatencyStream):
    """Reports an output underflow with the blocks numbered in AT."""

    AT: tuple[int, ...] = ()

    def _run(self) -> None:
        n = 0
        while self.active and not self.stop_calling.is_set():
            self.pump(self.block, Flags(underflow=n in self.AT))
            time.sleep(self.period)
            n += 1


@pytest.mark.parametrize(
    ("at", "low", "reopened"),
    [
        ((60,), True, True),  # --latency low: the first underflow once flowing
        ((0,), True, False),  # ... not one in the first 2 s (a device that starts unprimed)
        ((60,), False, False),  # else one is only counted
        ((60, 62, 64), False, True),  # and three within 30 s reopen
    ],
)
def test_underflows_reopen_with_more_latency(
    timeline: Timeline, speech: Any, say: Say, at: tuple[int, ...], low: bool, reopened: bool
) -> None:
    cls = type("U", (Underflows,), {"AT": at})
    reasons: list[str] = []
    keys = ScriptedKeys([(6 * SR, Command.QUIT)])
    player, streams = make_player(
        timeline,
        speech,
        say=say,
        stream_cls=[cls, LatencyStream],
        keys=keys,
        start=False,
        reopen_with=lambda streams: reopener(streams, reasons),
        latency_low=low,
    )
    assert player.play() == 0
    assert player.engine.underflows == len(at)
    line = player.summary().line()
    if reopened:
        assert reasons == ["underflow"] and len(streams) == 2 and player.reopened_for_underflows == 1
        assert "latency raised 1x after underflows" in line
    else:
        assert reasons == [] and len(streams) == 1 and "latency raised" not in line
    assert "audio lost" not in line and not player.outages
    assert ["Audio restored."] not in [c[0] for c in say.calls]  # nothing was lost


# --------------------------------------------------------------------------------- the engine's streams


def test_callback_for_an_abandoned_stream_writes_silence(timeline: Timeline) -> None:
    e = Engine(make_renderer(timeline), sample_rate=SR)
    first, second = e.callback_for(1), e.callback_for(2)
    e.stream_id = 1
    out = np.full((512, 1), np.nan, np.float32)
    first(out, 512, None, Flags())
    np.testing.assert_array_equal(out[:, 0], offline(timeline, 0, 512))
    e.stream_id = 2  # the main thread moved on to stream 2
    late = np.full((512, 1), np.nan, np.float32)
    first(late, 512, None, Flags(underflow=True))
    assert not late.any()
    assert (e.pos, e.frames, e.callbacks, e.underflows) == (512, 512, 1, 0)  # nothing moved, nothing counted
    second(out, 512, None, Flags())
    np.testing.assert_array_equal(out[:, 0], offline(timeline, 512, 512))
    e.stream_id = -1  # between two streams (reopening): every callback is silent
    second(late, 512, None, Flags())
    assert not late.any() and e.pos == 1024


# ---------------------------------------------------------------------------------------------- keep-awake


def test_keep_awake_floor_is_never_digital_silence(timeline: Timeline, speech: Any) -> None:
    player, _ = make_player(timeline, speech, keep_awake=True)
    noise = keep_awake_noise(SR)
    out = [poll_to(player, 2 * SR)]
    player.handle(Command.PAUSE)
    player.set_volume(0.5)  # the floor is added after the volume: the pause below is the floor, exactly
    out.append(pump(player, SR))
    player.handle(Command.QUIT)
    out.append(pump(player, SR))
    got = np.concatenate(out)
    assert np.all(got != 0)  # never digital zero: not paused, not stopped
    floor = np.resize(noise, len(got))  # the loop, continuous across blocks
    paused = slice(2 * SR + FADE + 512, 3 * SR)  # well inside the pause
    np.testing.assert_array_equal(got[paused], floor[paused])
    rms = 20 * np.log10(np.sqrt(np.mean(got[paused].astype(np.float64) ** 2)))
    assert rms == pytest.approx(-66, abs=0.5)
    n = 2 * SR  # before the pause: the timeline plus the floor, exactly
    np.testing.assert_array_equal(got[:n], offline(timeline, 0, n) + floor[:n])
    assert np.abs(noise).max() < 10 ** (-50 / 20)  # inaudible: its peaks too


def test_without_keep_awake_silence_is_exact_zeros(timeline: Timeline, speech: Any) -> None:
    player, _ = make_player(timeline, speech)
    assert player.engine.keep_awake is None
    poll_to(player, 2 * SR)
    player.handle(Command.PAUSE)
    out = pump(player, SR)
    assert not out[FADE:].any()
    assert np.count_nonzero(offline(timeline, 3 * SR, SR) == 0) > SR // 2  # the timeline has silence too
    player.handle(Command.QUIT)
    assert not pump(player, 2048).any()


# ---------------------------------------------------------------------------------------- names and modes


def test_post_name_ignores_unknown_names(timeline: Timeline) -> None:
    player, _ = make_player(timeline)
    for name in ("no-such-command", "", "PAUSE", "Pause"):
        player.post_name(name)
    assert not player._posted
    player.post_name("previous")
    player.post_name("volume-up")
    assert list(player._posted) == [Command.PREVIOUS, Command.VOLUME_UP]
    player.post_volume(float("nan"))
    player.post_volume(None)  # type: ignore[arg-type]
    player.post_volume("0.25")  # type: ignore[arg-type]  # a number in a string is a number
    assert list(player._posted)[2:] == [0.25]


def test_click_mode_ignores_lap_and_back(say: Say) -> None:
    tl = edits.click_timeline(180, SR, hours=1)
    assert not does_something(Command.SKIP, "click") and not does_something(Command.PREVIOUS, "click")
    assert all(does_something(c, "run") for c in Command)
    assert all(does_something(c, "click") for c in Command if c not in (Command.SKIP, Command.PREVIOUS))
    player, _ = make_player(tl, mode="click", say=say, voice_mode="full")
    poll_to(player, 5 * SR)
    for command in (Command.SKIP, Command.PREVIOUS):
        player.handle(command)
        assert player.engine.pending is None and not player.busy and player.last_said is None
    assert not player._events and not player.skipped
    player.handle(Command.STATUS)
    assert player.last_said is not None and player.last_said[1] == "Cadence 180."
    player.handle(Command.FASTER)
    assert player.last_said[1] == "Cadence 182."
    poll_to(player, 6 * SR)
    assert edits.cadence_now(player.timeline, 7 * SR) == pytest.approx(182)
