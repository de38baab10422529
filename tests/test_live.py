"""The live player without a sound card: a fake stream drives the real callback, a fake sounddevice lists
devices. What the callback hands to the "device" is compared, sample for sample, with an offline render of
the timeline the player says it is playing."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from cadencecoach import pipeline as session
from cadencecoach.cli import app as cli
from cadencecoach.cli.options import parse_breathing, parse_latency
from cadencecoach.core import edits
from cadencecoach.core.edits import change_cadence, click_timeline, cut_cues, end_step, make_pre_roll
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import CompileOptions, Timeline, compile_workout, cue_texts
from cadencecoach.errors import AudioUnavailableError, UsageError
from cadencecoach.pipeline import AudioSettings, VoiceSettings
from cadencecoach.sinks.live import devices
from cadencecoach.sinks.live import player as live
from cadencecoach.sinks.live.devices import select_device
from cadencecoach.sinks.live.engine import PAUSED, PLAYING, STOPPED, Engine
from cadencecoach.sinks.live.keys import HELP, Command, KeyReader, commands_for, decode
from cadencecoach.sinks.live.player import LivePlayer, PlayerConfig
from cadencecoach.ui.live_view import display_for
from cadencecoach.workout.loader import load_workout_text
from conftest import FakeSD, FakeStream, Flags, ScriptedKeys, ThreadStream, dev

SR = 12000  # 180 spm = 4000 samples, 150 spm = 4800
WORKOUT = """\
name: Live test
cadence: 180
steps:
  - warmup: 10s
  - run: 12s
    cadence: 150
    effort: 85%
  - recover: 8s
    click: off
"""


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


AUDIO = AudioSettings(sample_rate=SR)


def make_renderer(tl: Timeline, pre_roll: np.ndarray | None = None) -> BlockRenderer:
    return session.make_renderer(tl, AUDIO, pre_roll)


def offline(tl: Timeline, start: int, n: int, pre_roll: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(n, np.float32)
    make_renderer(tl, pre_roll).render(start, out)
    return out


def player_for(
    tl: Timeline,
    speech: dict[str, np.ndarray] | None = None,
    mode: str = "run",
    stream_cls: type[FakeStream] = FakeStream,
    pre_roll: np.ndarray | None = None,
    **kw: Any,
) -> tuple[LivePlayer, list[FakeStream]]:
    streams: list[FakeStream] = []

    def factory(callback: Any) -> FakeStream:
        s = stream_cls(callback)
        streams.append(s)
        return s

    config = PlayerConfig(
        mode=mode,
        voice_mode="off" if mode == "click" else "full",
        pre_roll=0 if pre_roll is None else len(pre_roll),
        out=io.StringIO(),
        err=io.StringIO(),
        show_live=False,
        **kw,
    )
    player = LivePlayer(tl, lambda t: make_renderer(t, pre_roll), factory, config, speech)
    player.observers.append(display_for(player, HELP))
    player.stream = factory(player.engine.callback)
    player.stream.start()
    return player, streams


def pump_to(player: LivePlayer, sample: int, block: int = 512) -> np.ndarray:
    """Run the callback until the position reaches `sample`; returns what it played."""
    out = []
    while player.engine.pos < sample:
        out.append(player.stream.pump(block)[:, 0])
        player.process()
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def onsets(x: np.ndarray, threshold: float = 0.05, gap: int = 1000) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) >= threshold)
    if not len(loud):
        return loud
    keep = np.concatenate([[True], np.diff(loud) > gap])
    return loud[keep]


# ------------------------------------------------------------------------------------------- engine


@pytest.mark.parametrize("channels", [1, 2])
def test_callback_plays_exactly_the_offline_render(timeline: Timeline, channels: int) -> None:
    engine = Engine(make_renderer(timeline), sample_rate=SR, channels=channels, buffer_frames=700)
    rng = np.random.default_rng(1)
    blocks = []
    pos = 0
    while pos < 5 * SR:
        n = int(rng.integers(1, 3000))  # odd sizes, and larger than the buffer (rendered in pieces)
        out = np.full((n, channels), np.nan, np.float32)
        engine.callback(out, n, None, Flags())
        assert np.array_equal(out[:, 0], out[:, -1])  # the mono block on every channel
        blocks.append(out[:, 0])
        pos += n
    played = np.concatenate(blocks)
    np.testing.assert_array_equal(played, offline(timeline, 0, len(played)))
    assert engine.pos == len(played) == engine.played


def test_pre_roll_plays_before_time_zero(workout: Any, speech: dict[str, np.ndarray], timeline: Timeline) -> None:
    pre = make_pre_roll(workout.name, speech, SR)
    # "3", "2", "1" start 3, 2, 1 s before zero
    for k, word in zip((3, 2, 1), ("3", "2", "1"), strict=True):
        a = speech[word]
        np.testing.assert_allclose(pre[len(pre) - k * SR : len(pre) - k * SR + len(a)], a, atol=1e-6)
    engine = Engine(make_renderer(timeline, pre), sample_rate=SR, start=-len(pre))
    out = np.zeros((len(pre) + SR, 1), np.float32)
    engine.callback(out, len(out), None, Flags())
    np.testing.assert_array_equal(out[: len(pre), 0], pre)
    np.testing.assert_array_equal(out[len(pre) :, 0], offline(timeline, 0, SR))


def test_underflows_are_counted(timeline: Timeline) -> None:
    engine = Engine(make_renderer(timeline), sample_rate=SR)
    out = np.zeros((256, 1), np.float32)
    for flags in (Flags(), Flags(underflow=True), Flags(other=True), Flags(underflow=True)):
        engine.callback(out, 256, None, flags)
    assert engine.underflows == 2
    assert engine.other_status == 1


def test_callback_errors_are_kept_not_raised(timeline: Timeline) -> None:
    class Broken:
        length = 10**9
        click_enabled = voice_enabled = True

        def render(self, start: int, out: np.ndarray) -> None:
            raise RuntimeError("boom")

    engine = Engine(Broken(), sample_rate=SR)
    out = np.ones((64, 1), np.float32)
    engine.callback(out, 64, None, Flags())
    assert isinstance(engine.error, RuntimeError)
    assert not out.any()


# ---------------------------------------------------------------------------------------- pause/stop


def test_pause_keeps_the_position_and_resumes_where_it_was(timeline: Timeline) -> None:
    player, _ = player_for(timeline)
    engine = player.engine
    before = pump_to(player, 2 * SR + 100)
    p0 = engine.pos
    player.handle(Command.PAUSE)
    fade = engine.fade_frames
    fading = player.stream.pump(fade + 300)[:, 0]
    assert engine.state == PAUSED
    assert engine.pos == p0 + fade  # the position stopped after the fade-out
    ref = offline(timeline, p0, fade)
    ramp = 1.0 - np.arange(1, fade + 1) / fade
    np.testing.assert_allclose(fading[:fade], ref * ramp, atol=1e-6)
    assert not fading[fade:].any()
    for _ in range(20):  # a while paused: silence, no movement
        assert not player.stream.pump(512).any()
    assert engine.pos == p0 + fade
    assert engine.paused_frames == 300 + 20 * 512
    player.handle(Command.PAUSE)  # resume: fade in from where it stopped
    resumed = player.stream.pump(4 * fade)[:, 0]
    ref = offline(timeline, p0 + fade, 4 * fade)
    up = np.arange(1, fade + 1) / fade
    np.testing.assert_allclose(resumed[:fade], ref[:fade] * up, atol=1e-6)
    np.testing.assert_array_equal(resumed[fade:], ref[fade:])
    assert engine.state == PLAYING
    assert len(before) == p0


def test_quick_pause_resume_reverses_the_fade(timeline: Timeline) -> None:
    player, _ = player_for(timeline)
    engine = player.engine
    pump_to(player, SR)
    p0 = engine.pos
    fade = engine.fade_frames
    player.handle(Command.PAUSE)
    player.stream.pump(100)
    player.handle(Command.PAUSE)  # resumed before the fade-out is over: fade back in from that level
    out = player.stream.pump(2000)[:, 0]
    assert engine.state == PLAYING
    assert engine.pos == p0 + 2100  # never stopped
    ref = offline(timeline, p0 + 100, 2000)
    gain = 1.0 - 100 / fade + np.arange(1, 101) / fade
    np.testing.assert_allclose(out[:100], ref[:100] * gain, atol=1e-6)
    np.testing.assert_array_equal(out[100:], ref[100:])


def test_stop_fades_out_and_goes_silent(timeline: Timeline) -> None:
    player, _ = player_for(timeline)
    pump_to(player, SR)
    player.handle(Command.QUIT)
    assert player.quit
    out = player.stream.pump(2048)[:, 0]
    assert player.engine.state == STOPPED
    assert not out[player.engine.fade_frames :].any()


# ------------------------------------------------------------------------------------------ changes


def test_skip_starts_the_next_step_at_once_with_its_announcement(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech)
    pump_to(player, 3 * SR)
    player.handle(Command.SKIP)
    now = player._events[-1][1]
    assert now > player.engine.pos - 512
    pump_to(player, now + 4 * SR)
    tl = player.timeline
    assert [s.index for s in tl.steps] == [0, 1, 2]
    assert tl.steps[0].end == now and tl.steps[1].start == now
    # every later boundary moved by exactly (now - old end), less the lap key's lag (the block and margin
    # between the key and `now`, and the output latency): the next step is that much shorter, so it ends
    # where it would have had the warm-up ended when the key was pressed
    lag = Fraction(player.lap_lag, SR)
    assert 0 < player.lap_lag <= now - 3 * SR + 512
    shift = Fraction(now, SR) - timeline.steps[0].end_s - lag
    assert tl.steps[1].end_s - tl.steps[1].start_s == timeline.steps[1].end_s - timeline.steps[1].start_s - lag
    assert tl.steps[2].start_s == timeline.steps[2].start_s + shift
    assert tl.end == round((timeline.duration_s + shift) * SR)
    announce = [c for c in tl.cues if c.kind == "announce" and c.step_index == 1]
    assert len(announce) == 1 and announce[0].at == now
    assert announce[0].text.startswith("Run.")
    assert player.skipped == {0}
    # what the "device" got is the old timeline before `now` and the new one after it
    played = np.concatenate([b[:, 0] for b in player.stream.blocks])
    np.testing.assert_array_equal(played[:now], offline(timeline, 0, now))
    np.testing.assert_array_equal(played[now:], offline(tl, now, len(played) - now))
    # the announcement sounds from `now`
    a = speech[announce[0].text]
    assert np.abs(played[now : now + len(a)]).max() > 0.5


def test_skip_cuts_a_cue_still_playing(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech, margin_s=0.0)
    pump_to(player, 512)  # the warm-up announcement is playing
    first = timeline.cues[0]
    assert first.kind == "announce" and first.end > 2000
    player.handle(Command.SKIP)
    now = player._events[-1][1]
    assert now < first.end
    pump_to(player, now + 2 * SR)
    tl = player.timeline
    cut = next(c for c in tl.cues if c.step_index == 0 and c.kind == "announce")
    assert cut.end == now
    assert [c.at for c in tl.cues if c.kind == "announce" and c.step_index == 1] == [now]
    played = np.concatenate([b[:, 0] for b in player.stream.blocks])
    np.testing.assert_array_equal(played[now:], offline(tl, now, len(played) - now))


def test_skip_is_ignored_in_click_mode_and_in_the_lead_in(workout: Any, speech: Any, timeline: Timeline) -> None:
    player, _ = player_for(click_timeline(180, SR, hours=1), mode="click")
    pump_to(player, SR)
    player.handle(Command.SKIP)
    assert not player.busy and player.engine.pending is None
    pre = make_pre_roll(workout.name, speech, SR)
    player, _ = player_for(timeline, speech, pre_roll=pre)
    player.handle(Command.SKIP)
    assert player.engine.pending is None


@pytest.mark.parametrize(("command", "new"), [(Command.FASTER, 182), (Command.SLOWER, 178)])
def test_cadence_keys_change_click_spacing_after_now_only(command: Command, new: int) -> None:
    tl0 = click_timeline(180, SR, hours=1)
    player, _ = player_for(tl0, mode="click")
    pump_to(player, 5 * SR + 77)
    player.handle(command)
    now = player._events[-1][1]
    pump_to(player, now + 10 * SR)
    tl = player.timeline
    before = tl.clicks[tl.clicks < now]
    np.testing.assert_array_equal(before, tl0.clicks[tl0.clicks < now])
    after = tl.clicks[tl.clicks >= now]
    gaps = np.diff(after[:40])
    period = 60 * SR / new
    assert np.all(np.abs(gaps - period) <= 1)
    # the interval straddling `now` is part old, part new tempo: no click lost, none doubled
    straddle = after[0] - before[-1]
    assert min(period, 4000) - 1 <= straddle <= max(period, 4000) + 1
    assert edits.cadence_now(tl, now + SR) == pytest.approx(new)
    assert edits.cadence_now(tl, now - SR) == pytest.approx(180)
    # the device got exactly that
    played = np.concatenate([b[:, 0] for b in player.stream.blocks])
    got = onsets(played)
    end = len(played) - 2000
    np.testing.assert_array_equal(got[got < end], tl.clicks[tl.clicks < end])


def test_cadence_changes_only_the_current_step(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech)
    pump_to(player, 12 * SR)  # in step 1 (150 spm)
    player.handle(Command.FASTER)
    player.handle(Command.FASTER)  # queued until the first is in place
    pump_to(player, 13 * SR)
    assert not player.busy
    tl = player.timeline
    assert [float(s.cadence_start) for s in tl.steps] == [180, 150, 180]
    assert float(tl.steps[1].cadence_end) == 154
    assert edits.cadence_now(tl, 20 * SR) == pytest.approx(154)
    # the announcement of step 1 is not repeated by the split
    assert len([c for c in tl.cues if c.kind == "announce" and c.step_index == 1]) == 1
    assert [c.text for c in tl.cues] == [c.text for c in timeline.cues]


def test_mutes(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech)
    pump_to(player, SR)
    start = player.engine.pos
    player.handle(Command.MUTE_CLICK)
    out = pump_to(player, 9 * SR)
    r = make_renderer(timeline)
    r.click_enabled = False
    ref = np.zeros(len(out), np.float32)
    r.render(start, ref)
    np.testing.assert_array_equal(out, ref)
    # the voice fades out from the mute's swap point on (the 20 ms fade ends there), then is silent
    player.handle(Command.MUTE_VOICE)
    muted_at = player._events[-1][1]
    out = pump_to(player, 10 * SR + 4000)
    after = out[muted_at - 9 * SR + 1 :] if muted_at > 9 * SR else out
    assert not after.any()  # both muted
    player.handle(Command.MUTE_CLICK)
    start = player.engine.pos
    out = pump_to(player, start + 3 * SR)
    r = make_renderer(edits.voice_view(timeline, muted_at, None, player.engine.fade_frames))
    ref = np.zeros(len(out), np.float32)
    r.render(start, ref)
    np.testing.assert_array_equal(out, ref)
    # flags survive a recompile
    player.handle(Command.FASTER)
    pump_to(player, player.engine.pos + SR)
    assert not any(c.at >= muted_at for c in player.engine.renderer.timeline.cues)
    assert player.engine.renderer.click_enabled is True
    assert player.voice_enabled is False


def test_voice_mute_fades_and_unmute_waits_for_the_next_cue(timeline: Timeline, speech: Any) -> None:
    """``v`` while a cue speaks: it fades out over 20 ms ending at the swap point; ``v`` again while the
    next cue would be speaking: that one stays silent, and the voice comes back with the cue after it."""
    player, _ = player_for(timeline, speech, margin_s=0.0)
    first = timeline.cues[0]
    pump_to(player, first.at + 512)
    player.handle(Command.MUTE_VOICE)
    muted_at = player._events[-1][1]
    assert first.at < muted_at < first.end
    out = pump_to(player, muted_at + SR)
    played = np.concatenate([b[:, 0] for b in player.stream.blocks])
    fade = player.engine.fade_frames
    # up to the fade: as before; the fade: the cue's samples times a ramp down; then the cue is gone
    np.testing.assert_array_equal(played[: muted_at - fade], offline(timeline, 0, muted_at - fade))
    view = edits.voice_view(timeline, muted_at, None, fade)
    rest = len(played) - muted_at + fade
    np.testing.assert_array_equal(played[muted_at - fade :], offline(view, muted_at - fade, rest))
    assert len(out)
    # unmute in the middle of a later cue: it stays silent; the one after it speaks
    later = [c for c in timeline.cues if c.at > muted_at + SR]
    assert len(later) >= 2
    pump_to(player, later[0].at + 256)
    player.handle(Command.MUTE_VOICE)
    unmuted_at = player._events[-1][1]
    assert later[0].at < unmuted_at < later[0].end
    pump_to(player, later[1].end + 100)
    heard = player.engine.renderer.timeline.cues
    assert later[0].at not in [c.at for c in heard]
    assert later[1].at in [c.at for c in heard]


def test_a_late_swap_is_rejected_and_retried(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech, margin_s=0.0)
    pump_to(player, 2 * SR)
    player.handle(Command.FASTER)
    swap = player.engine.pending
    assert swap is not None
    player.engine.pos = swap.at + 1  # as if the callback had played past `at` before seeing the swap
    player.stream.pump(256)
    assert player.engine.rejected_seq == swap.seq
    player.process()  # retried with a later `now`
    retry = player.engine.pending
    assert retry is not None and retry.seq > swap.seq and retry.at > swap.at
    player.stream.pump(256)
    player.process()
    assert player.engine.applied_seq == retry.seq and not player.busy


# ------------------------------------------------------------------------------------- recompilation


def test_end_step_and_change_cadence_are_exact(timeline: Timeline) -> None:
    segs = timeline.segments
    now = Fraction(123457, SR)
    ended, step = end_step(segs, now)  # type: ignore[misc]
    assert step == 1
    assert ended[1].end == now and ended[2].start == now
    assert ended[2].end - ended[2].start == segs[2].end - segs[2].start
    assert end_step(segs, Fraction(-1)) is None
    changed = change_cadence(segs, now, 2)
    assert changed is not None and len(changed) == 4
    a, b = changed[1], changed[2]
    assert a.end == b.start == now and not b.first and a.first
    assert a.cadence == (150, 150) and b.cadence == (152, 152)
    # a ramp: the rest of it moves by delta from the tempo at `now`
    ramp = [replace(s, cadence=(Fraction(160), Fraction(170))) if s.flat.index == 1 else s for s in segs]
    changed = change_cadence(ramp, segs[1].start + 6, -2)
    assert changed is not None
    assert changed[1].cadence == (160, 165) and changed[2].cadence == (163, 168)
    # at the limit nothing changes
    top = [replace(s, cadence=(Fraction(300), Fraction(300))) for s in segs]
    assert change_cadence(top, now, 2) is None


def test_cut_cues(timeline: Timeline) -> None:
    first = timeline.cues[0]
    at = first.at + 1000
    cut, changed_from = cut_cues(timeline, at, 120)
    c = cut.cues[0]
    assert c.length == 1000 and c.end == at and len(c.audio) == 1000
    assert changed_from == at - 120
    np.testing.assert_array_equal(c.audio[:880], first.audio[:880])
    assert c.audio[-1] == 0.0
    assert cut.cues[1:] == timeline.cues[1:]


def test_click_timeline() -> None:
    tl = click_timeline(180, 44100, accent=4, breathing=None, hours=1)
    assert len(tl.clicks) == 3 * 3600
    assert np.all(np.diff(tl.clicks) == 14700)
    assert list(tl.click_variant[:5]) == [1, 0, 0, 0, 1]
    assert tl.cues == []


# ------------------------------------------------------------------------------------------- devices


DEVICES = [
    dev(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)"),
    dev(1, "USB Audio Device: Microphone (hw:1,0)", out=0, inp=1),
    dev(2, "USB Audio Device: Speaker (hw:1,0)"),
    dev(3, "pulse", out=32, rate=44100.0),
    dev(4, "default", out=32, rate=44100.0),
]


def test_device_selection_by_fragment_index_and_default() -> None:
    sd = FakeSD(DEVICES, default=4)
    assert select_device(sd, None).name == "default"
    assert select_device(sd, "3").name == "pulse"
    assert select_device(sd, "speaker").index == 2  # a fragment, any case
    assert select_device(sd, "PULSE").index == 3
    assert select_device(sd, "default").index == 4  # exact name wins
    assert select_device(sd, "hda").stream_channels == 2
    assert select_device(sd, "pulse").stream_channels == 2  # 32 channels: we open 2
    with pytest.raises(UsageError, match="several outputs match"):
        select_device(sd, "hw:")  # two outputs (the microphone is not one)
    with pytest.raises(UsageError, match="no output device with that index"):
        select_device(sd, "1")  # an input only
    with pytest.raises(UsageError, match="no output device matches"):
        select_device(sd, "bluetooth")
    assert select_device(FakeSD(DEVICES[:3], default=-1), None).index == 0  # no default: the first output


def test_no_device_is_audio_unavailable_naming_render() -> None:
    for sd in (FakeSD([]), FakeSD([dev(0, "mic", out=0, inp=2)])):
        with pytest.raises(AudioUnavailableError, match=r"cadencecoach render WORKOUT -o FILE"):
            select_device(sd, None)


def test_sample_rate_the_device_refuses_is_a_usage_error() -> None:
    sd = FakeSD(DEVICES, default=4)
    device = select_device(sd, None)
    devices.check_settings(sd, device, 48000)
    with pytest.raises(UsageError, match="try 44100"):
        devices.check_settings(sd, device, 12345)


def test_latency_and_breathing_options() -> None:
    assert parse_latency(None) == 0.1
    assert parse_latency("high") == "high"
    assert parse_latency("LOW") == "low"
    assert parse_latency("0.05") == 0.05
    assert parse_latency("0.1s") == 0.1
    for bad in ("fast", "0", "-1", "5"):
        with pytest.raises(UsageError):
            parse_latency(bad)
    assert parse_breathing("3:2") == (3, 2)
    assert parse_breathing(" 8 : 8 ") == (8, 8)
    assert parse_breathing(None) is None
    for bad in ("3", "3:0", "a:b", "3:2:1", "9:1", "2:9"):  # 1..8 each side, as in a workout file
        with pytest.raises(UsageError, match=rf"^--breathing is inhale:exhale steps, like 3:2 or 2:2 \(got '{bad}'\)$"):
            parse_breathing(bad)


@pytest.mark.parametrize("argv", [["click"], ["click", "170", "--accent", "4"], ["run", "tabata"], ["devices"]])
def test_cli_without_a_device_exits_3_at_once(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSD([]))

    def no_speech(*a: Any, **k: Any) -> None:
        raise AssertionError("synthesized speech before finding the device")

    monkeypatch.setattr(session, "speech_for", no_speech)
    t0 = time.monotonic()
    assert cli.main(argv) == 3
    assert time.monotonic() - t0 < 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no audio output" in err[0]
    if argv[0] == "click":  # a metronome has no workout: the offline way out is a click track in a file
        spm = argv[1] if len(argv) > 1 else "180"
        assert f'cadencecoach track click --profile "60min@{spm}" -o FILE' in err[0]
        assert "WORKOUT" not in err[0]
    else:
        assert "cadencecoach render WORKOUT -o FILE" in err[0]


def test_cli_bad_live_options_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSD(DEVICES, default=4))
    assert cli.main(["click", "--latency", "soon"]) == 2
    assert cli.main(["click", "--breathing", "3"]) == 2
    assert cli.main(["click", "--breathing", "9:1"]) == 2
    assert "--breathing is inhale:exhale steps" in capsys.readouterr().err
    assert cli.main(["click", "--device", "nothing-like-it"]) == 2
    assert cli.main(["click", "400"]) == 2
    assert cli.main(["click", "--sample-rate", "12345"]) == 2
    assert cli.main(["click", "--sound", "cowbell"]) == 2


def test_devices_lists_outputs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSD(DEVICES, default=4))
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "Speaker" in out and "pulse" in out and "Microphone" not in out
    line = next(ln for ln in out.splitlines() if " default " in f" {ln} " and "44100" in ln)
    assert line.lstrip().startswith("*")


# ----------------------------------------------------------------------------------------------- keys


def test_key_decoding() -> None:
    assert decode(" n+-cvq") == ([" ", "n", "+", "-", "c", "v", "q"], "")
    assert decode("\x1b[Cx") == (["right", "x"], "")
    assert decode("\x1bOC") == (["right"], "")
    assert decode("a\x1b[") == (["a"], "\x1b[")  # incomplete: kept for the next read
    assert decode("\x1b[1;5C") == (["right"], "")
    assert decode("\x1b[3~") == ([], "")  # other sequences are dropped
    assert commands_for([" ", "right", "n", "+", "=", "-", "c", "v", "q", "x"]) == [
        Command.PAUSE,
        Command.SKIP,
        Command.SKIP,
        Command.FASTER,
        Command.FASTER,
        Command.SLOWER,
        Command.MUTE_CLICK,
        Command.MUTE_VOICE,
        Command.QUIT,
    ]


def test_key_reader_restores_the_terminal() -> None:
    import os
    import pty
    import termios

    master, slave = pty.openpty()
    try:
        with open(slave, closefd=False) as f:
            before = termios.tcgetattr(slave)
            with pytest.raises(RuntimeError), KeyReader(f) as keys:
                assert keys.active
                assert not termios.tcgetattr(slave)[3] & termios.ICANON  # cbreak
                os.write(master, b" \x1b[C+q")
                got: list[Command] = []
                deadline = time.monotonic() + 2
                while len(got) < 4 and time.monotonic() < deadline:
                    got += keys.read(0.1)
                assert got == [Command.PAUSE, Command.SKIP, Command.FASTER, Command.QUIT]
                raise RuntimeError("something went wrong mid-run")
            assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
    assert not KeyReader(io.StringIO()).active


# ----------------------------------------------------------------------------------- the main loop


def run_player(
    tl: Timeline, speech: Any, script: list[tuple[int, Command]], stream_cls: Any = ThreadStream, **kw: Any
) -> tuple[LivePlayer, ThreadStream, str, BaseException | None]:
    streams: list[ThreadStream] = []

    def factory(callback: Any) -> ThreadStream:
        s = stream_cls(callback)
        streams.append(s)
        return s

    err = io.StringIO()
    config = PlayerConfig(mode=kw.pop("mode", "run"), voice_mode="full", out=io.StringIO(), err=err, **kw)
    keys = ScriptedKeys(script)
    player = LivePlayer(tl, make_renderer, factory, config, speech, keys=keys)  # type: ignore[arg-type]
    player.observers.append(display_for(player, HELP))
    keys.player = player
    exc: BaseException | None = None
    try:
        player.play()
    except BaseException as e:
        exc = e
    return player, streams[0], err.getvalue(), exc


def test_play_to_the_end_with_keys(timeline: Timeline, speech: Any) -> None:
    script = [(2 * SR, Command.PAUSE), (2 * SR, Command.PAUSE), (4 * SR, Command.SKIP), (6 * SR, Command.FASTER)]
    player, stream, err, exc = run_player(timeline, speech, script, show_live=False)
    assert exc is None
    assert player.engine.pos >= player.timeline.length
    assert stream.closed
    assert "steps: 2 of 3 completed, 1 skipped" in err
    assert "underflows: 0" in err
    out = player.config.out.getvalue()  # type: ignore[union-attr]
    assert "Warm-up" in out and "Run" in out and "Recover" in out


def test_play_quit_key_and_live_display(timeline: Timeline, speech: Any) -> None:
    script = [(SR, Command.MUTE_VOICE), (2 * SR, Command.QUIT)]
    player, _stream, err, exc = run_player(timeline, speech, script, show_live=True)
    assert exc is None
    assert player.engine.state == STOPPED
    assert "played 0:0" in err
    shown = player.config.out.getvalue()  # type: ignore[union-attr]
    assert "Live test" in shown and "180 spm" in shown and "voice muted" in shown


def test_device_lost_mid_run_exits_3_with_summary(timeline: Timeline, speech: Any) -> None:
    class Dying(ThreadStream):
        def _run(self) -> None:
            n = 0
            while self.active and n < 40:
                self.pump(self.block)
                time.sleep(self.period)
                n += 1
            self.active = False  # PortAudio ended the stream on its own

    t0 = time.monotonic()
    _player, _stream, err, exc = run_player(timeline, speech, [], stream_cls=Dying)
    assert isinstance(exc, AudioUnavailableError)
    assert "audio output lost" in str(exc) and "cadencecoach render WORKOUT -o FILE" in str(exc)
    assert time.monotonic() - t0 < 3
    assert "played 0:0" in err


def test_device_silent_mid_run_exits_3(timeline: Timeline, speech: Any) -> None:
    class Hanging(ThreadStream):
        def _run(self) -> None:
            n = 0
            while self.active and n < 60:  # more than the 2 s after which stalls are not forgiven
                self.pump(self.block)
                time.sleep(self.period)
                n += 1
            self.stalled = time.monotonic()
            # still "active", but no more callbacks: the server hangs

    _, stream, err, exc = run_player(timeline, speech, [], stream_cls=Hanging)
    assert isinstance(exc, AudioUnavailableError) and "stopped responding" in str(exc)
    assert time.monotonic() - stream.stalled < live.HEARTBEAT_S + 0.5  # type: ignore[attr-defined]
    assert "underflows: 0" in err


def test_ctrl_c_fades_out_then_raises(timeline: Timeline, speech: Any) -> None:
    class Interrupting(ScriptedKeys):
        def read(self, timeout: float) -> list[Command]:
            if self.player.engine.pos >= SR:
                raise KeyboardInterrupt
            return super().read(timeout)

    streams: list[ThreadStream] = []
    err = io.StringIO()
    config = PlayerConfig(mode="run", voice_mode="full", out=io.StringIO(), err=err, show_live=False)
    player = LivePlayer(timeline, make_renderer, lambda cb: streams.append(ThreadStream(cb)) or streams[-1], config)
    player.keys = Interrupting([])  # type: ignore[assignment]
    player.keys.player = player
    with pytest.raises(KeyboardInterrupt):
        player.play()
    assert player.engine.state == STOPPED
    assert "played" in err.getvalue()
    played = streams[0].played()
    assert not played[-256:].any()  # faded out, then silence


def test_skip_while_paused_takes_effect_where_it_stopped(timeline: Timeline, speech: Any) -> None:
    player, _ = player_for(timeline, speech)
    pump_to(player, 3 * SR)
    player.handle(Command.PAUSE)
    player.stream.pump(1024)
    stopped_at = player.engine.pos
    player.handle(Command.SKIP)
    player.stream.pump(512)  # still paused: the callback takes the swap anyway
    player.process()
    assert not player.busy
    assert player.timeline.steps[1].start == stopped_at
    player.handle(Command.PAUSE)
    resumed = pump_to(player, stopped_at + 2 * SR)
    fade = player.engine.fade_frames
    ref = offline(player.timeline, stopped_at, len(resumed))
    np.testing.assert_array_equal(resumed[fade:], ref[fade:])  # the run's announcement right after resuming
    assert np.abs(resumed[: SR // 2]).max() > 0.3


def test_sigterm_stops_with_a_fade_and_exit_143(timeline: Timeline, speech: Any) -> None:
    class Terminating(ScriptedKeys):
        def read(self, timeout: float) -> list[Command]:
            if self.player.engine.pos >= SR:
                raise live._Terminated
            return super().read(timeout)

    streams: list[ThreadStream] = []
    err = io.StringIO()
    config = PlayerConfig(mode="run", voice_mode="full", out=io.StringIO(), err=err, show_live=False)
    player = LivePlayer(timeline, make_renderer, lambda cb: streams.append(ThreadStream(cb)) or streams[-1], config)
    player.keys = Terminating([])  # type: ignore[assignment]
    player.keys.player = player
    with pytest.raises(SystemExit) as exc:
        player.play()
    assert exc.value.code == 143
    assert player.engine.state == STOPPED and "played" in err.getvalue()


def test_raise_priority_of_a_thread() -> None:
    import os

    ready, done = threading.Event(), threading.Event()
    tid: list[int] = []

    def worker() -> None:
        tid.append(threading.get_native_id())
        ready.set()
        done.wait(5)

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready.wait(5)
        got = live.raise_priority(tid[0])
        assert got in ("realtime", "nice", "normal")
        if got == "realtime":
            assert os.sched_getscheduler(tid[0]) == os.SCHED_FIFO
        assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the caller is unchanged
    finally:
        done.set()
        t.join()


def test_the_callback_records_its_thread(timeline: Timeline) -> None:
    engine = Engine(make_renderer(timeline), sample_rate=SR)
    out = np.zeros((64, 1), np.float32)
    engine.callback(out, 64, None, Flags())
    assert engine.thread_id == threading.get_native_id()


@pytest.mark.skipif(not live.thread_ids(), reason="needs /proc/self/task (Linux)")
def test_every_thread_the_stream_started_is_raised_not_just_the_callback(
    timeline: Timeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ALSA's pulse plugin the blocks reach the server through a second thread of the stream (libpulse's
    threaded-ml): it wakes the callback thread and writes to the socket. At normal priority a busy machine held
    it up for 100+ ms and the server ran dry (issue 10) although the callback thread itself was SCHED_FIFO. So
    the player raises every thread that appeared while the stream was opened and started -- and only those."""
    raised: list[int] = []
    monkeypatch.setattr(live, "raise_priority", lambda tid: raised.append(tid) or "realtime")
    monkeypatch.delenv(live.NO_REALTIME_ENV, raising=False)
    stop = threading.Event()
    io_tid: list[int] = []
    before_tid: list[int] = []

    def idle(into: list[int]) -> None:
        into.append(threading.get_native_id())
        stop.wait(10)

    unrelated = threading.Thread(target=idle, args=(before_tid,), daemon=True)  # exists before the stream
    unrelated.start()

    class IoThreadStream(ThreadStream):
        def __init__(self, callback: Any) -> None:
            super().__init__(callback)
            self.io = threading.Thread(target=idle, args=(io_tid,), daemon=True)  # like libpulse's threaded-ml
            self.io.start()

    config = PlayerConfig(mode="run", out=io.StringIO(), err=io.StringIO(), show_live=False, realtime=True)
    player = LivePlayer(timeline, make_renderer, IoThreadStream, config)
    try:
        player.play()
    finally:
        stop.set()
    assert player.engine.thread_id and io_tid and before_tid
    assert raised[0] == player.engine.thread_id  # the callback thread first, as before
    assert io_tid[0] in raised and player.stream_threads.get(io_tid[0]) == "realtime"
    assert before_tid[0] not in raised and threading.get_native_id() not in raised
