"""What the live player leaves to its main thread: renderers swapped out by the callback are freed there (the
callback never drops the last reference to one), and the observers are called there, in order."""

from __future__ import annotations

import gc
import io
import threading
import weakref
from typing import Any

import numpy as np
import pytest

from cadencecoach import pipeline as session
from cadencecoach.cli import app as cli
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import CompileOptions, TimedStep, Timeline, compile_workout
from cadencecoach.errors import AudioUnavailableError, CoachError
from cadencecoach.sinks.live import player as live
from cadencecoach.sinks.live.keys import Command
from cadencecoach.sinks.live.player import LivePlayer, PlayerConfig
from cadencecoach.workout.loader import load_workout_text
from conftest import ScriptedKeys, ThreadStream

SR = 8000
WORKOUT = """\
name: Threads
cadence: 170
steps:
  - warmup: 2s
  - run: 3s
  - recover: 2s
"""


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    w = load_workout_text(WORKOUT, "threads.yaml")
    return compile_workout(w, SR, {}, CompileOptions(voice_mode="off"))


def test_swapped_out_renderers_are_freed_on_the_main_thread(timeline: Timeline) -> None:
    freed: list[int] = []  # native thread id of each renderer's release
    created = [0]
    audio = session.AudioSettings(sample_rate=SR)

    def make(t: Timeline) -> BlockRenderer:
        r = session.make_renderer(t, audio)
        r.ballast = np.ones(1 << 16, np.float32)  # type: ignore[attr-defined]  # something big to free
        weakref.finalize(r, lambda: freed.append(threading.get_native_id()))
        created[0] += 1
        return r

    streams: list[ThreadStream] = []

    def factory(callback: Any) -> ThreadStream:
        streams.append(ThreadStream(callback, block=256, period=0.001))
        return streams[-1]

    keys = ScriptedKeys(
        poll_s=0.002,
        script=[(SR // 2, Command.FASTER), (SR, Command.SLOWER), (3 * SR, Command.SKIP), (4 * SR, Command.FASTER)],
    )
    config = PlayerConfig(mode="run", out=io.StringIO(), err=io.StringIO(), show_live=False)
    player = LivePlayer(timeline, make, factory, config, keys=keys)  # type: ignore[arg-type]
    keys.player = player
    main = threading.get_native_id()
    player.play()
    stream = streams[0]
    assert stream.thread_id and stream.thread_id != main
    swaps = player.engine.applied_seq
    assert swaps >= 3 and created[0] == swaps + 1
    during = list(freed)
    assert len(during) >= swaps - 1  # every renderer swapped out but (at most) the last, while playing
    del player, keys, stream
    streams.clear()  # the stream holds the engine (its callback), and so the renderer playing last
    gc.collect()
    assert len(freed) == created[0]
    assert set(freed) == {main}, "a renderer was freed on the callback thread"


def test_the_callback_keeps_a_swapped_out_renderer_until_the_main_thread_takes_it(timeline: Timeline) -> None:
    from cadencecoach.sinks.live.engine import Engine, Swap

    audio = session.AudioSettings(sample_rate=SR)
    first, second, third = (session.make_renderer(timeline, audio) for _ in range(3))
    gone = []
    weakref.finalize(first, lambda: gone.append(1))
    engine = Engine(first, sample_rate=SR)
    out = np.zeros((64, 1), np.float32)
    engine.pending = Swap(1, second, at=1000)
    del first
    engine.callback(out, 64, None, None)
    assert engine.renderer is second and engine.retired is not None and not gone
    engine.pending = Swap(2, third, at=1000)
    engine.callback(out, 64, None, None)  # the slot is full: the swap waits for the main thread
    assert engine.renderer is second and engine.applied_seq == 1
    assert engine.take_retired() is not None
    gc.collect()
    assert gone == [1]  # freed here, by the main thread's take_retired
    engine.callback(out, 64, None, None)
    assert engine.renderer is third and engine.applied_seq == 2


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.threads: set[int] = set()

    def _note(self, what: str, arg: Any = None) -> None:
        self.threads.add(threading.get_native_id())
        if what != "tick":
            self.events.append((what, arg))
        elif not self.events or self.events[-1][0] != "tick":
            self.events.append(("tick", None))

    def on_start(self, player: LivePlayer) -> None:
        self._note("start")

    def on_step(self, player: LivePlayer, step: TimedStep | None) -> None:
        self._note("step", None if step is None else step.index)

    def on_tick(self, player: LivePlayer) -> None:
        self._note("tick")

    def on_end(self, player: LivePlayer) -> None:
        self._note("end", player.finished)


def test_observers_are_called_in_order_on_the_main_thread(timeline: Timeline) -> None:
    audio = session.AudioSettings(sample_rate=SR)
    config = PlayerConfig(mode="run", out=io.StringIO(), err=io.StringIO(), show_live=False)
    player = LivePlayer(
        timeline,
        lambda t: session.make_renderer(t, audio),
        lambda cb: ThreadStream(cb, block=256, period=0.001),
        config,
    )
    rec = Recorder()
    player.observers.append(rec)
    player.play()
    names = [e for e, _ in rec.events]
    assert names[0] == "start" and names[-1] == "end" and names.count("end") == 1
    assert rec.events[-1] == ("end", True)
    steps = [i for e, i in rec.events if e == "step"]
    assert steps in ([0, 1, 2], [0, 1, 2, None])  # None: past the last step, before the renderer's end
    assert rec.threads == {threading.get_native_id()}


def test_terminated_and_device_lost_are_coach_errors(capsys: pytest.CaptureFixture[str]) -> None:
    lost = live.DeviceLost("the audio output stopped")
    assert isinstance(lost, AudioUnavailableError) and lost.exit_code == 3
    assert str(lost) == f"audio output lost: the audio output stopped; {live.RENDER_HINT}"
    assert cli.exit_code_for(live._Terminated()) == 143  # should it ever escape: exit 143, and no message
    assert isinstance(live._Terminated(), CoachError)
    assert capsys.readouterr().err == ""


def test_sigterm_raises_once_and_only_while_playing() -> None:
    """A SIGTERM during the fade-out, the close or the summary must not break the cleanup off half-done (it
    used to escape as "internal error: _Terminated"): it is noted, and play() exits 143 after the summary."""
    term = live._SigTerm()
    try:
        with pytest.raises(live._Terminated):
            term._handler(15, None)
        term._handler(15, None)  # a second one: noted only
        assert term.received
    finally:
        term.restore()
    term = live._SigTerm()
    try:
        term.raising = False  # the cleanup
        term._handler(15, None)
        assert term.received
    finally:
        term.restore()
