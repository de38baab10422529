"""The live player records its run (history.progress.RunProgress, an observer of sinks.live.player.LivePlayer),
with a fake audio stream driven from a thread, faster than real time."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from cadencecoach import pipeline as session
from cadencecoach.core.timeline import CompileOptions, Timeline, compile_workout
from cadencecoach.history.db import open_db
from cadencecoach.history.progress import RunProgress
from cadencecoach.history.sessions import SessionRow, list_sessions
from cadencecoach.sinks.live.keys import Command
from cadencecoach.sinks.live.player import LivePlayer, PlayerConfig
from cadencecoach.workout.loader import load_workout_text
from cadencecoach.workout.model import Workout
from conftest import ScriptedKeys, ThreadStream

SR = 8000
WORKOUT = """\
name: Recorded
steps:
  - warmup: 2s
  - run: 3s
    cadence: 170
  - recover: 2s
"""


def fast_stream(callback: Any) -> ThreadStream:
    # 8x real time (256 frames at 8 kHz every 4 ms): a scripted key lands where the test says even when a busy
    # machine holds the main loop up for half a second (at 32x, 0.13 s was enough to play past the step)
    return ThreadStream(callback, block=256, period=0.004)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("CADENCECOACH_HOME", str(h))
    return h


@pytest.fixture(scope="module")
def loaded() -> tuple[Workout, Timeline]:
    w = load_workout_text(WORKOUT, "recorded.yaml")
    return w, compile_workout(w, SR, {}, CompileOptions(voice_mode="off"))


def play(loaded: tuple[Workout, Timeline], script: list[tuple[int, Command]], warn: Any = None) -> str:
    w, tl = loaded
    err = io.StringIO()
    config = PlayerConfig(mode="run", voice_mode="off", out=io.StringIO(), err=err, show_live=False)
    keys = ScriptedKeys(script, poll_s=0.002)
    player = LivePlayer(
        tl, lambda t: session.make_renderer(t, session.AudioSettings(sample_rate=SR)), fast_stream, config, keys=keys
    )  # type: ignore[arg-type]
    keys.player = player
    player.observers.append(RunProgress.for_run(w, tl, warn))
    player.play()
    return err.getvalue()


def recorded() -> list[SessionRow]:
    db = open_db()
    assert db is not None
    with db:
        return list_sessions(db)


def test_a_run_with_a_skip_is_recorded_completed(home: Path, loaded: tuple[Workout, Timeline]) -> None:
    err = play(loaded, [(3 * SR, Command.SKIP)])  # one second into the run step
    assert "steps: 2 of 3 completed, 1 skipped" in err
    [s] = recorded()
    assert (s.workout_name, s.status, s.steps_total) == ("Recorded", "completed", 3)
    assert (s.steps_completed, s.steps_skipped, s.stopped_early) == (2, 1, False)
    assert 5.0 < s.run_s < 5.6  # 7 s planned, the 3 s run step cut after about 1 s


def test_a_lap_undone_with_p_is_recorded_completed(home: Path, loaded: tuple[Workout, Timeline]) -> None:
    """``n`` one second into the run, then ``p`` at once (within 3 s of the recovery's start: back one step):
    the run plays whole again, and the history records its last playing, completed, not the skip."""
    err = play(loaded, [(3 * SR, Command.SKIP), (int(3.5 * SR), Command.PREVIOUS)])
    assert "steps: 3 of 3 completed, 0 skipped" in err, err
    [s] = recorded()
    assert (s.status, s.steps_total, s.steps_completed, s.steps_skipped) == ("completed", 3, 3, 0)
    assert 8.0 < s.run_s < 9.5  # the run's first second, its 3 s again, a bit of the recovery, then all of it


def test_quitting_is_recorded_stopped(home: Path, loaded: tuple[Workout, Timeline]) -> None:
    play(loaded, [(int(2.5 * SR), Command.QUIT)])
    [s] = recorded()
    assert (s.status, s.steps_completed, s.stopped_early) == ("stopped", 1, True)
    assert 2.0 <= s.run_s < 3.5


def test_an_unwritable_home_warns_once_and_the_run_plays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loaded: tuple[Workout, Timeline]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("CADENCECOACH_HOME", str(blocker / "home"))
    messages: list[str] = []
    err = play(loaded, [], warn=messages.append)
    assert "steps: 3 of 3 completed" in err
    assert len(messages) == 1 and "not recorded" in messages[0]
