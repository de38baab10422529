"""The live coach: what the feet do, heard and shown while the workout plays (``run --sensor``, ``click --sensor``).

:class:`SensorCoach` is an observer of the live player (like the display and the history recorder: it runs in
the player's main thread, at every poll). It drains the sensor (:mod:`.source`: a footpod over Bluetooth, or a
recorded activity replayed), and changes the run only through timeline edits handed to the player
(:meth:`LivePlayer.request <cadencecoach.sinks.live.player.LivePlayer.request>`), recompiled in the main thread
like the keys' edits:

Drift remarks
    "Cadence 172. Up to 180." when the measured cadence (the median of the last :attr:`CoachSettings.window_s`)
    has been more than ``tolerance`` off the click for ``hold_s``, at most every ``every_s``, never within
    ``settle_s`` of a step's start or a change of tempo (the runner is adjusting), and never over a planned cue:
    the remark is a cue of kind ``coach`` added only where it overlaps no cue of the timeline (with a gap), so
    the countdown, the announcements and every other planned cue keep their place. It waits for a free moment.
Follow mode
    At each clicking step, once the runner's cadence is known (``settle_s``), a click more than ``tolerance``
    away from it starts again at the runner's cadence and walks toward the plan by at most ``follow_rate``
    (spm per second; 1 spm per 30 s by default), the click's phase continuous (:func:`core.edits.follow_cadence`).
    A runner who falls more than ``tolerance`` behind the walk for ``hold_s`` gets a new start there. No drift
    remarks: the click comes to the runner instead.
Distance steps
    When the sensor reports distance, a distance step (``400 m``) ends where the sensor has counted its distance
    since the step began: its end is moved to where the runner's speed says the distance will be reached
    (:func:`core.edits.retime_step`, so "Next: ..." and "3, 2, 1" land before the real boundary), and a step
    whose distance is reached earlier ends there, like a lap press (not counted as a skip). A distance that
    stops growing while the runner runs (``stall_s``) is said once ("Footpod distance lost.") and the step ends
    by time from there.
Losing the sensor
    No reading for ``silent_s`` (or the sensor says so): "Footpod lost." is said once, the display says it, the
    workout goes on unchanged; "Footpod back." when readings return.

Every remark is joined from a vocabulary synthesized before the run (:func:`vocabulary`,
:func:`cadencecoach.speech.phrases.join_words`).

The readings heard during the run (from time zero, pauses left out: the workout's clock) are kept, bounded by
:data:`MAX_RECORDED`, and :meth:`SensorCoach.recorded` returns them as an
:class:`~cadencecoach.activity.model.Activity` with one lap per step as heard, for ``review``.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from statistics import median

import numpy as np

from cadencecoach.activity.model import Activity, Lap
from cadencecoach.core.edits import (
    CADENCE_MAX,
    CADENCE_MIN,
    add_cue,
    cadence_bounds,
    cadence_now,
    end_step,
    follow_cadence,
    recompile,
    retime_step,
)
from cadencecoach.core.timeline import Audio, Cue, TimedStep, Timeline
from cadencecoach.sensors.source import Reading, Sensor, Status
from cadencecoach.sinks.live.player import Edit, LivePlayer
from cadencecoach.speech.phrases import join_words

CADENCE_WORD = "Cadence"
UP_TO, DOWN_TO = "Up to", "Down to"
LOST_TEXT = "Footpod lost."
BACK_TEXT = "Footpod back."
STALLED_TEXT = "Footpod distance lost."
NUMBER_MARGIN = 40  # the numbers synthesized: from the slowest click - this to the fastest + this
SPOKEN_RANGE = (100, 240)  # ... and never outside this (a reading outside is spoken as the nearest end)
CUE_GAP_S = 0.4  # a remark keeps this much silence from any planned cue
STALE_S = 5.0  # a drift remark that waited this long for a gap is made again with the cadence of then
RETIME_TOLERANCE_S = 0.4  # a distance step's end moves when the prediction is this far off
RETIME_EVERY_S = 2.0  # ... at most this often (and only when the latest reading counted on)
MAX_RECORDED = 400_000  # readings kept for the recording (~55 h at 2 per second)


@dataclass(frozen=True)
class CoachSettings:
    """How the coach listens (``run --cadence-tolerance/--cadence-hold/--cadence-every/--follow``).

    The defaults are a coach's: a runner's cadence wanders 2-3 spm step to step, so 4 spm off for 10 s is a
    real drift; one remark a minute at most is a reminder, not nagging; 8 s after a change of tempo the runner
    has had time to find it."""

    tolerance: float = 4.0  # spm either side of the click
    hold_s: float = 10.0  # off by more than the tolerance this long: a remark
    every_s: float = 60.0  # at most one remark this often
    settle_s: float = 8.0  # no remark this soon after a step starts or the tempo changes
    window_s: float = 5.0  # the measured cadence: the median over this window
    silent_s: float = 5.0  # no reading this long: the sensor is lost
    stall_s: float = 10.0  # distance not growing this long while running: it stalled
    follow: bool = False
    follow_rate: Fraction = Fraction(1, 30)  # spm per second the follow click moves toward the plan
    voice: bool = True  # speak the remarks (False: only the display shows the cadence)

    def __post_init__(self) -> None:
        for name in ("tolerance", "hold_s", "every_s", "settle_s", "window_s", "silent_s", "stall_s"):
            value = getattr(self, name)
            if not (value >= 0 and value < 1e6):
                raise ValueError(f"{name} must be between 0 and 1e6 (got {value})")
        if self.follow_rate <= 0:
            raise ValueError("follow_rate must be positive")


def spoken_range(timeline: Timeline) -> range:
    """The numbers the coach may say for `timeline`: around its click cadences, within SPOKEN_RANGE."""
    lo, hi = cadence_bounds(timeline) or (170.0, 190.0)
    low = max(SPOKEN_RANGE[0], int(lo) - NUMBER_MARGIN)
    high = min(SPOKEN_RANGE[1], int(np.ceil(hi)) + NUMBER_MARGIN)
    return range(low, max(high, low) + 1)


def vocabulary(timeline: Timeline) -> list[str]:
    """Every text the coach may say during `timeline`, to synthesize before the run.

    Examples
    --------
    >>> from cadencecoach.core.edits import click_timeline
    >>> words = vocabulary(click_timeline(180, 1000, hours=1))
    >>> words[:4], len(words)
    (['Cadence', 'Up to', 'Down to', 'Footpod lost.'], 87)
    """
    return [CADENCE_WORD, UP_TO, DOWN_TO, LOST_TEXT, BACK_TEXT, STALLED_TEXT] + [str(n) for n in spoken_range(timeline)]


def remark(measured: float, click: float, numbers: range) -> tuple[str, list[list[str]]]:
    """The drift remark: its text and its sentences of vocabulary words.

    Examples
    --------
    >>> remark(171.6, 180.2, range(100, 241))
    ('Cadence 172. Up to 180.', [['Cadence', '172'], ['Up to', '180']])
    >>> remark(250, 182, range(100, 241))[0]
    'Cadence 240. Down to 182.'
    """

    def say(x: float) -> int:
        return int(min(max(round(x), numbers.start), numbers.stop - 1))

    m, c = say(measured), say(click)
    word = UP_TO if click > measured else DOWN_TO
    return f"{CADENCE_WORD} {m}. {word} {c}.", [[CADENCE_WORD, str(m)], [word, str(c)]]


class CadenceWindow:
    """The measured cadence (or speed): the median of the readings of the last `window_s` seconds (zeros
    included: a runner standing still has cadence 0).

    Examples
    --------
    >>> w = CadenceWindow(5.0)
    >>> for t, c in [(0, 170), (1, 172), (2, 200), (3, 171)]:
    ...     w.add(t, c)
    >>> w.value(3.0), w.value(9.0)
    (171.5, None)
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._items: deque[tuple[float, float]] = deque(maxlen=4096)

    def add(self, t: float, cadence: float) -> None:
        self._items.append((t, cadence))

    def value(self, now: float) -> float | None:
        items = self._items
        while items and items[0][0] < now - self.window_s:
            items.popleft()
        values = [c for t, c in items if t <= now + 1e-9]
        return float(median(values)) if values else None


class DriftWatch:
    """When a drift remark is due (pure: times in seconds).

    Examples
    --------
    >>> d = DriftWatch(CoachSettings(tolerance=4, hold_s=10, every_s=60, settle_s=0))
    >>> [d.due(t, 172.0, 180.0, quiet_until=0.0) for t in (0.0, 5.0, 10.0)]
    [False, False, True]
    >>> d.said(10.0); d.due(20.0, 172.0, 180.0, quiet_until=0.0)
    False
    """

    def __init__(self, settings: CoachSettings) -> None:
        self.settings = settings
        self.off_since: float | None = None
        self.last_said = -1e18

    def due(self, now: float, measured: float | None, click: float | None, *, quiet_until: float) -> bool:
        s = self.settings
        if measured is None or click is None or abs(measured - click) <= s.tolerance:
            self.off_since = None
            return False
        if self.off_since is None:
            self.off_since = now
        return now - self.off_since >= s.hold_s and now - self.last_said >= s.every_s and now >= quiet_until

    def said(self, now: float) -> None:
        self.last_said = now
        self.off_since = None


@dataclass(frozen=True)
class SensorStatus:
    """What the display shows of the sensor (``ui.live_view.SensorView``)."""

    name: str
    state: str  # "searching", "live", "lost", "ended", "failed"
    measured: float | None  # spm
    tolerance: float
    note: str | None = None  # "distance lost", the last problem
    step_distance_m: float | None = None  # counted by the sensor since the step began (distance steps)
    following: bool = False
    last_remark: tuple[float, str] | None = None  # (heard seconds, text) of the latest remark that got in


@dataclass
class _DistanceStep:
    index: int
    meters: float
    start_s: float
    start_m: float | None = None  # the sensor's total at the step's start (known once a reading follows it)
    last_m: float | None = None
    last_t: float = 0.0
    grew_at: float = 0.0
    stalled: bool = False
    ended: bool = False
    retimed_at: float = -1e18


class SensorCoach:
    """The live coach, a player observer (see the module doc).

    Parameters
    ----------
    sensor : Sensor
        Started by the caller (so a footpod connects while the cues are synthesized); stopped here at the end.
    settings : CoachSettings
        Tolerance, hold, every, follow.
    speech : Mapping of str to ndarray
        Audio of the :func:`vocabulary` (missing words: the remark is only shown).
    sensor_clock : callable, optional
        The clock of the readings' ``at`` (default ``time.monotonic``; a replay's is the run's own,
        :meth:`heard_s`).
    warn : callable, optional
        Where "footpod lost" and stalls are reported besides being said (default: nowhere).
    """

    def __init__(
        self,
        sensor: Sensor,
        settings: CoachSettings,
        speech: Mapping[str, Audio] | None = None,
        *,
        sensor_clock: Callable[[], float] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.sensor = sensor
        self.settings = settings
        self.speech: Mapping[str, Audio] = speech or {}
        self.sensor_clock = sensor_clock or time.monotonic
        self.warn = warn
        self.player: LivePlayer | None = None
        self.window = CadenceWindow(settings.window_s)
        self.speed_window = CadenceWindow(settings.window_s)  # the sensor's own speed, when it reports one
        self.drift = DriftWatch(settings)
        self.state = "searching"
        self.note: str | None = None
        self.unit_note: str | None = None  # the footpod counts strides: shown with the cadence
        self.remarks: list[tuple[float, str]] = []  # (heard seconds, text) of every remark that got in
        self._numbers = range(SPOKEN_RANGE[0], SPOKEN_RANGE[1] + 1)
        self._last_reading_s: float | None = None  # heard seconds of the latest reading
        self._lost_said = False
        self._pending: tuple[str, list[list[str]], str] | None = None  # (text, words, kind) waiting for a gap
        self._pending_at = 0.0  # when a drift remark began waiting
        self._quiet_until = 0.0
        self._last_click: float | None = None
        self._step: TimedStep | None = None
        self._dist: _DistanceStep | None = None
        self._distances: deque[tuple[float, float]] = deque(maxlen=64)  # (heard s, total m), recent
        self._plan: dict[int, tuple[Fraction, Fraction]] = {}  # step index -> planned cadence (start, end)
        self._anchored: dict[int, float] = {}  # follow mode: step index -> when the walk last started
        self._behind_since: float | None = None
        self._rec_t: list[float] = []
        self._rec: list[tuple[float, float, float]] = []  # cadence, speed, distance (NaN: none)
        self._started_wall: datetime | None = None

    # -- clocks ----------
    def heard_s(self) -> float:
        """Seconds of the workout being heard (negative in the lead-in; 0 before the player starts)."""
        p = self.player
        if p is None:
            return 0.0
        return p.position() / p.sample_rate

    # -- observer ----------
    def on_start(self, player: LivePlayer) -> None:
        self.player = player
        self._numbers = spoken_range(player.timeline)
        self._plan = {st.index: (st.cadence_start, st.cadence_end) for st in player.timeline.steps}
        self._started_wall = datetime.now(timezone.utc) - timedelta(seconds=self.heard_s())

    def on_step(self, player: LivePlayer, step: TimedStep | None) -> None:
        self._step = step
        now = self.heard_s()
        self._quiet_until = max(self._quiet_until, now + self.settings.settle_s)
        self.drift.off_since = None
        self._behind_since = None
        self._dist = None
        if step is not None and step.distance_m is not None:
            self._dist = _DistanceStep(step.index, float(step.distance_m), float(step.start_s), grew_at=now)
            self._dist.start_m = self._distance_at(float(step.start_s))

    def on_tick(self, player: LivePlayer) -> None:
        now = self.heard_s()
        paused = bool(player.engine.want_pause)
        offset = self.sensor_clock() - now
        for event in self.sensor.drain():
            if isinstance(event, Status):
                self._status(event, now)
            elif isinstance(event, Reading):
                self._reading(event, event.at - offset, paused)
        last = self._last_reading_s
        if self.state == "live" and not paused and last is not None and now - last > self.settings.silent_s:
            self._lose(now, f"no reading for {now - last:.0f} s")
        if paused or now < 0:
            return
        step = self._step
        click = cadence_now(player.timeline, player.position()) if step is not None and step.click else None
        if click is not None and self._last_click is not None and abs(click - self._last_click) >= 0.5:
            self._quiet_until = max(self._quiet_until, now + self.settings.settle_s)  # a key or a follow edit
        self._last_click = click
        measured = self.window.value(now) if self.state == "live" else None
        if self._dist is not None and self.state == "live":
            self._distance_tick(player, now)
        if self.settings.follow:
            self._follow(player, now, measured, click)
        else:
            due = self.drift.due(now, measured, click, quiet_until=self._quiet_until)
            if self._pending is not None and self._pending[2] == "drift" and (
                self.drift.off_since is None or now - self._pending_at > STALE_S
            ):
                self._pending = None  # back on the click while it waited, or its numbers are old: not said
            if due and self._pending is None:
                assert measured is not None and click is not None
                text, words = remark(measured, click, self._numbers)
                self._pending = (text, words, "drift")
                self._pending_at = now
        self._say_pending(player, now)

    def on_end(self, player: LivePlayer) -> None:
        self.sensor.stop()

    # -- the sensor ----------
    def _status(self, event: Status, now: float) -> None:
        if event.state == "connected":
            if self._lost_said:
                self._pending = (BACK_TEXT, [[BACK_TEXT]], "status")
            self._lost_said = False
            self.state = "live"
            self.note = None
            if "stride" in event.detail:  # the footpod counts strides (sensors.rsc.CadenceScale): doubled
                self.unit_note = "strides, doubled"
                if self.warn is not None:
                    self.warn(f"sensor: {event.detail}")
        elif event.state == "lost":
            self._lose(now, event.detail or "connection lost")
        elif event.state in ("ended", "failed"):
            self.state = event.state
            self.note = event.detail or None
            if event.state == "failed" and self.warn is not None:
                self.warn(f"sensor: {event.detail}; the workout goes on without it")

    def _lose(self, now: float, why: str) -> None:
        self.state = "lost"
        self.note = why
        if not self._lost_said:
            self._lost_said = True
            self._pending = (LOST_TEXT, [[LOST_TEXT]], "status")
            if self.warn is not None:
                self.warn(f"sensor lost ({why}): the workout goes on")

    def _reading(self, r: Reading, t: float, paused: bool) -> None:
        if self.state in ("searching", "lost"):
            if self.state == "lost" and self._lost_said:
                self._pending = (BACK_TEXT, [[BACK_TEXT]], "status")
            self._lost_said = False
            self.state = "live"
            self.note = None
        self._last_reading_s = t
        if r.cadence is not None:
            self.window.add(t, r.cadence)
        if r.speed is not None:
            self.speed_window.add(t, r.speed)
        if r.distance is not None:
            if self._distances and t < self._distances[-1][0]:
                t = self._distances[-1][0]
            self._distances.append((t, r.distance))
            d = self._dist
            if d is not None and d.start_m is None and t >= d.start_s:
                d.start_m = self._distance_at(d.start_s)
        if not paused and t >= 0 and len(self._rec_t) < MAX_RECORDED:
            self._rec_t.append(t)
            nan = float("nan")
            self._rec.append(
                (
                    nan if r.cadence is None else r.cadence,
                    nan if r.speed is None else r.speed,
                    nan if r.distance is None else r.distance,
                )
            )

    def _distance_at(self, t: float) -> float | None:
        """The sensor's distance total at heard time `t`, interpolated between the readings around it."""
        items = self._distances
        if not items or items[-1][0] < t:
            return None
        times = [x for x, _ in items]
        k = bisect.bisect_left(times, t)
        if k == 0:
            return items[0][1] if items[0][0] == t else None
        (t0, d0), (t1, d1) = items[k - 1], items[k]
        if t1 <= t0:
            return d1
        return d0 + (d1 - d0) * (t - t0) / (t1 - t0)

    def _speed(self) -> float | None:
        """Metres per second over the last few seconds of distance readings."""
        items = self._distances
        if len(items) < 2:
            return None
        t1, d1 = items[-1]
        t0, d0 = items[0]
        for t, d in reversed(items):
            t0, d0 = t, d
            if t1 - t >= 4.0:
                break
        if t1 - t0 <= 0:
            return None
        return (d1 - d0) / (t1 - t0)

    # -- distance steps ----------
    def _distance_tick(self, player: LivePlayer, now: float) -> None:
        d = self._dist
        assert d is not None
        if d.ended or d.stalled or d.start_m is None or not self._distances:
            return
        t_last, total = self._distances[-1]
        if d.last_m is None or total > d.last_m + 0.05:
            d.last_m, d.grew_at = total, t_last
        running = (self.window.value(now) or 0.0) > 0.0
        if running and now - d.grew_at > self.settings.stall_s:
            d.stalled = True
            self.note = "distance lost"
            self._pending = (STALLED_TEXT, [[STALLED_TEXT]], "status")
            if self.warn is not None:
                self.warn("the footpod's distance stopped counting: this step ends by time")
            return
        covered = total - d.start_m
        step = self._step
        if step is None or step.index != d.index:
            return
        if covered >= d.meters - 0.05:  # reached: end the step now (like a lap press), if it still plays
            d.ended = True
            player.request(Edit("lap", self._lap_edit(d.index)))
            return
        if t_last > d.grew_at:  # the latest reading did not count on (a stall?): keep the end where it is
            return
        speed = self.speed_window.value(now)
        if speed is None:
            speed = self._speed()
        if speed is None or speed < 0.3:
            return
        predicted = t_last + (d.meters - covered) / speed
        end = float(step.end_s)
        if abs(predicted - end) <= RETIME_TOLERANCE_S or now - d.retimed_at < RETIME_EVERY_S:
            return
        d.retimed_at = now
        player.request(Edit("retime", self._retime_edit(d.index, predicted)))

    def _lap_edit(self, index: int) -> Callable[[Timeline, int], tuple[Timeline, int] | None]:
        player = self.player
        assert player is not None

        def make(playing: Timeline, now: int) -> tuple[Timeline, int] | None:
            now_s = Fraction(now, playing.sample_rate)
            step = playing.step_at(now)
            if step is None or step.index != index:
                return None  # it ended by itself already
            ended = end_step(playing.segments, now_s)
            if ended is None:
                return None
            return recompile(playing, ended[0], player.speech, player.config.voice_mode, now, cut=True)

        return make

    def _retime_edit(self, index: int, end_s: float) -> Callable[[Timeline, int], tuple[Timeline, int] | None]:
        player = self.player
        assert player is not None

        def make(playing: Timeline, now: int) -> tuple[Timeline, int] | None:
            sr = playing.sample_rate
            step = playing.step_at(now)
            if step is None or step.index != index:
                return None
            new_end = Fraction(round(end_s * sr), sr)
            now_s = Fraction(now, sr)
            if new_end <= now_s:
                ended = end_step(playing.segments, now_s)
                if ended is None:
                    return None
                return recompile(playing, ended[0], player.speech, player.config.voice_mode, now, cut=True)
            segments = retime_step(playing.segments, now_s, new_end)
            if segments is None:
                return None
            return recompile(playing, segments, player.speech, player.config.voice_mode, now)

        return make

    # -- follow mode ----------
    def _follow(self, player: LivePlayer, now: float, measured: float | None, click: float | None) -> None:
        step = self._step
        if step is None or click is None or measured is None or measured <= 0:
            return
        s = self.settings
        if now < float(step.start_s) + s.settle_s:
            return
        planned = self._plan.get(step.index, (step.cadence_start, step.cadence_end))[1]
        anchored = self._anchored.get(step.index)
        if anchored is None:
            self._anchored[step.index] = now
            if abs(measured - click) > s.tolerance:
                self._walk(player, step.index, measured, planned)
            return
        behind = abs(measured - click) > s.tolerance
        if not behind:
            self._behind_since = None
            return
        if self._behind_since is None:
            self._behind_since = now
        if now - self._behind_since >= s.hold_s and now - anchored >= s.every_s:
            self._anchored[step.index] = now
            self._behind_since = None
            self._walk(player, step.index, measured, planned)

    def _walk(self, player: LivePlayer, index: int, measured: float, planned: Fraction) -> None:
        start = Fraction(min(max(round(measured), CADENCE_MIN), CADENCE_MAX))
        rate = self.settings.follow_rate

        def make(playing: Timeline, now: int) -> tuple[Timeline, int] | None:
            step = playing.step_at(now)
            if step is None or step.index != index:
                return None
            segments = follow_cadence(playing.segments, Fraction(now, playing.sample_rate), start, planned, rate)
            if segments is None:
                return None
            return recompile(playing, segments, player.speech, player.config.voice_mode, now)

        player.request(Edit("follow", make))

    # -- speaking ----------
    def _say_pending(self, player: LivePlayer, now: float) -> None:
        pending = self._pending
        if pending is None or player.busy:
            return
        text, words, kind = pending
        if not self.settings.voice or (player.config.voice_mode == "off" and not self.speech):
            self._said(text, kind, now)
            return
        sr = player.sample_rate
        audio = join_words(self.speech, words, sr)
        if audio is None:  # not synthesized (over the speech budget, or no voice): shown only
            self._said(text, kind, now)
            return
        index = self._step.index if self._step is not None else 0
        gap = round(CUE_GAP_S * sr)
        got: list[bool] = []

        def make(playing: Timeline, at: int) -> tuple[Timeline, int] | None:
            cue = Cue(at, "coach", text, len(audio), index, audio)
            timeline = add_cue(playing, cue, gap)
            if timeline is None:
                return None
            got.append(True)
            return timeline, at

        player.request(Edit("coach", make))
        if got:
            self._said(text, kind, now)

    def _said(self, text: str, kind: str, now: float) -> None:
        self._pending = None
        self.remarks.append((now, text))
        if kind == "drift":
            self.drift.said(now)

    # -- what the display and the recording read ----------
    def status(self) -> SensorStatus:
        """The sensor as the display shows it."""
        now = self.heard_s()
        d = self._dist
        covered = None
        if d is not None and d.start_m is not None and self._distances and self.state == "live":
            covered = max(self._distances[-1][1] - d.start_m, 0.0)
        return SensorStatus(
            name=self.sensor.name,
            state=self.state,
            measured=self.window.value(now) if self.state == "live" else None,
            tolerance=self.settings.tolerance,
            note=self.note or self.unit_note,
            step_distance_m=covered,
            following=self.settings.follow,
            last_remark=self.remarks[-1] if self.remarks else None,
        )

    def recorded(self, source: str = "sensor") -> Activity | None:
        """The readings of the run on the workout's clock, one lap per step heard; None without readings."""
        player = self.player
        if player is None or not self._rec_t:
            return None
        t = np.asarray(self._rec_t, np.float64)
        values = np.asarray(self._rec, np.float64).reshape(-1, 3)
        counted = values[:, 2][np.isfinite(values[:, 2])]
        if len(counted):  # a footpod counts from when it was switched on: the recording counts from the start
            values[:, 2] -= counted[0]
        end_s = player.final_position() / player.sample_rate
        laps = tuple(
            Lap(float(st.start_s), min(float(st.end_s), end_s), None, "step")
            for st in player.timeline.steps
            if float(st.start_s) < end_s
        )
        return Activity(
            source=source,
            fmt="sensor",
            t=t,
            cadence=values[:, 0],
            speed=values[:, 1],
            distance=values[:, 2],
            heart_rate=np.full(len(t), np.nan),
            laps=laps,
            started_at=self._started_wall,
            sport="running",
        )
