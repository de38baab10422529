"""Turns the live player's state into :class:`~.sessions.SessionRecorder` calls. :class:`RunProgress` is an
observer of the player (``sinks.live.player.PlayerObserver``: ``on_start``, ``on_step``, ``on_tick``,
``on_end``), attached by the ``run`` command; the player knows nothing of history. Main thread only."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from cadencecoach.history.db import Warn
from cadencecoach.history.sessions import SessionRecorder


class _TimedStep(Protocol):
    @property
    def index(self) -> int: ...

    @property
    def end(self) -> int: ...  # sample where the step ends


class _Player(Protocol):
    """What the recorder reads of ``sinks.live.player.LivePlayer``."""

    @property
    def timeline(self) -> Any: ...  # .steps: the playing timeline's steps

    @property
    def skipped(self) -> Collection[int]: ...

    @property
    def finished(self) -> bool: ...

    @property
    def engine(self) -> Any: ...  # .underflows

    def position(self) -> int: ...

    def final_position(self) -> int: ...


class RunProgress:
    """Records a live run: each step once, in order, as the position passes its end.

    ``update(steps, skipped, position)`` is cheap to call at every poll of the main loop (it looks only at
    the next unrecorded step; the database is written when a step ends, and a heartbeat every 10 s).
    A step whose index is in ``skipped`` (the runner pressed ``n``) is recorded as skipped. ``position`` is
    the timeline sample being heard (negative during the lead-in)."""

    def __init__(self, recorder: SessionRecorder, sample_rate: int) -> None:
        self.recorder = recorder
        self.sample_rate = sample_rate
        self.next_step = 0

    @classmethod
    def for_run(cls, workout: Any, timeline: Any, warn: Warn | None = None) -> RunProgress:
        return cls(SessionRecorder(workout, steps=timeline.steps, warn=warn), timeline.sample_rate)

    def start(self) -> None:
        """The session's row, status "running"."""
        self.recorder.start()

    # -- player observer -------------------------------------------------------------------------------
    def on_start(self, player: _Player) -> None:
        """The stream started: the session's row, status "running"."""
        self.start()

    def on_step(self, player: _Player, step: object) -> None:
        """The step heard changed: record the steps that ended."""
        self.update(player.timeline.steps, player.skipped, player.position())

    def on_tick(self, player: _Player) -> None:
        """A poll of the main loop: steps that ended, and a heartbeat."""
        self.update(player.timeline.steps, player.skipped, player.position())

    def on_end(self, player: _Player) -> None:
        """Completed, or stopped (q, Ctrl-C, SIGTERM, a lost device)."""
        self.end(
            player.timeline.steps,
            player.skipped,
            player.final_position(),
            stopped_early=not player.finished,
            underflows=player.engine.underflows,
        )

    def update(self, steps: Sequence[_TimedStep], skipped: Collection[int], position: int) -> None:
        sr = self.sample_rate
        while self.next_step < len(steps) and steps[self.next_step].end <= position:
            step = steps[self.next_step]
            if step.index in skipped:
                self.recorder.step_skipped(step.index, at_s=step.end / sr)
            else:
                self.recorder.step_completed(step.index, at_s=step.end / sr)
            self.next_step += 1
        if position > 0 and steps:
            self.recorder.heartbeat(min(position, steps[-1].end) / sr)

    def end(
        self,
        steps: Sequence[_TimedStep],
        skipped: Collection[int],
        position: int,
        *,
        stopped_early: bool,
        underflows: int = 0,
    ) -> None:
        """The run is over (any way): record the steps that ended, then the outcome."""
        self.update(steps, skipped, position)
        workout_end = steps[-1].end if steps else 0
        at = min(max(position, 0), workout_end) / self.sample_rate
        self.recorder.finish(stopped_early=stopped_early, underflows=underflows, at_s=at)
