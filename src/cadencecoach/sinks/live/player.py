"""The real-time player: ``cadencecoach click`` and ``cadencecoach run`` play through :class:`LivePlayer`.

Audio path
    A ``sounddevice.OutputStream`` (float32, the device's channels, capped at 2; see :mod:`.devices`) whose
    callback is :meth:`Engine.callback` (:mod:`.engine`, the callback's rules). Timing comes only from
    counting samples there. Nothing sleeps to schedule audio; the main thread only polls (keys, observers,
    faults).

Threads
    The callback records its thread id once; the main thread then asks for real-time scheduling of that
    thread (SCHED_FIFO where permitted, else a better nice level; CADENCECOACH_NO_REALTIME=1: neither),
    and of every other thread the stream started (Linux: the threads that appeared while it was opened and
    started -- with ALSA's ``pulse`` plugin, libpulse's ``threaded-ml`` thread, which wakes the callback
    thread and writes its blocks to the server: left at normal priority it was the one link that a busy
    machine could hold up for 100+ ms, and the server ran dry), and lowers the GIL switch interval to 1 ms
    while playing. Whatever the callback swapped out or may still be reading is released here, on the main
    thread (:meth:`Engine.take_retired`, and the replaced swaps kept until the callback has moved on).

Live changes
    Pause/resume is a ~20 ms fade done by the callback: the position stops and goes on where it was.
    Changes to the future (skip a step, cadence +-2) are pure timeline edits (:mod:`cadencecoach.core.edits`)
    recompiled in the main thread and wrapped in a new renderer. The swap carries the first sample from
    which the new timeline may differ (``at``); the callback takes it at the start of a block if it has not
    played past ``at`` yet, else it rejects it and the main thread retries with a later ``now``. One swap is
    in flight at a time, so each new timeline is built on the one that is playing.

Observers
    The display (``ui.live_view``) and the history recorder (``history.progress``) are
    :class:`PlayerObserver` objects in :attr:`LivePlayer.observers`; this package imports neither.

Confirmations
    Every action is said ("Paused.", "Cadence 182", "Skipped." before the next announcement) from a
    vocabulary joined by ``say`` (:mod:`cadencecoach.core.confirm`): an :class:`~.engine.Overlay` the callback
    mixes over the timeline, ducking it, at once when paused, else once no planned cue is sounding.

Faults
    No device: :class:`AudioUnavailableError` (exit 3) before anything is synthesized. Device lost
    mid-run (the stream stops, PortAudio errors, the callback stops being called for HEARTBEAT_S): the
    stream is reopened (``reopen``: the same device, then the default) and the run goes on from the sample
    last heard, "Audio restored."; only when nothing comes back within ``reconnect_s`` (0: at once) does it
    stop: the summary, exit 3 (:class:`DeviceLost`, saying what was missed). Underflows are counted in the
    callback and reported at the end; a burst of them (the first, with ``--latency low``) reopens the stream
    with a larger latency. Stopping (``q``, the end, Ctrl-C, SIGTERM) fades out and drains: the stream runs
    until the faded block has played out. SIGTERM: a fade, the summary, exit 143.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, TextIO

import numpy as np

from cadencecoach.core import confirm
from cadencecoach.core.edits import (
    CADENCE_MAX,
    CADENCE_MIN,
    CADENCE_STEP,
    cadence_now,
    change_cadence,
    end_step,
    prefix_cue,
    recompile,
    replay_step,
    retime_step,
    step_bounds,
    voice_view,
)
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import Segment, TimedStep, Timeline
from cadencecoach.errors import AudioUnavailableError, CoachError, warn
from cadencecoach.sinks.live.devices import RENDER_HINT, StreamFactory, no_device_error
from cadencecoach.sinks.live.engine import PAUSED, STOPPED, Engine, Swap, keep_awake_noise, make_overlay
from cadencecoach.sinks.live.keys import Command, KeyReader, does_something
from cadencecoach.sinks.live.realtime import collect_young, realtime_gc

MARGIN_S = 0.02  # a live change takes effect this far after the rendered position (plus a block)
HEARTBEAT_S = 0.75  # no callback for this long (once flowing): the device is gone
STARTUP_STALL_S = 3.0  # ... allowed in the first seconds (PulseAudio may hold a new stream ~1.5 s)
LEAD_S = 0.05  # silence before the first sample of the timeline: a new stream may lose its first ms
POLL_S = 0.03  # main loop period (keys, faults)
SWITCH_INTERVAL_S = 0.001  # GIL switch interval while playing (Python's default is 5 ms)
RECONNECT_S = 30.0  # a lost output: reopened for this long before the run ends (exit 3)
RETRY_S = 0.5  # between two attempts to reopen it
BACK_WINDOW_S = 3.0  # `p` within this long after a step started: back one step (else: restart this one)
REST_STEP_S = 15  # `+`/`-` in a step without a click: this much more or less rest
REST_MIN_LEFT_S = 5  # `-` never leaves less than this of a rest
VOLUME_STEP_DB = 3.0  # per volume key
VOLUME_MIN = 10 ** (-30 / 20)  # -30 dB
UNDERFLOW_BURST = 3  # this many underflows within UNDERFLOW_WINDOW_S: reopen with a larger latency
UNDERFLOW_WINDOW_S = 30.0
DRAIN_TIMEOUT_S = 1.0  # waiting for the last faded block to reach the device
REALTIME_PRIORITY = 10  # SCHED_FIFO priority asked for the callback thread (where permitted)
NO_REALTIME_ENV = "CADENCECOACH_NO_REALTIME"


@dataclass
class Summary:
    """The line printed when playing ends: time played, steps or clicks, underflows."""

    mode: str
    sample_rate: int
    played: int = 0  # samples (lead-in included)
    lead_in: int = 0
    paused: int = 0
    steps_total: int = 0
    completed: int = 0
    skipped: int = 0
    clicks: int = 0
    underflows: int = 0
    stopped_by: str = "end"
    outages: int = 0  # times the output was lost and came back
    outage_s: float = 0.0  # wall time without output, in all (the workout waited)
    reopened_for_underflows: int = 0  # times the stream was reopened with a larger latency

    def line(self) -> str:
        """``played 0:42 (lead-in 0:05); steps: 2 of 3 completed, 1 skipped; underflows: 0``."""
        from cadencecoach.workout.units import format_clock

        sr = self.sample_rate
        played = format_clock(self.played / sr)
        extra = []
        if self.lead_in:
            extra.append(f"lead-in {format_clock(self.lead_in / sr)}")
        if self.paused:
            extra.append(f"paused {format_clock(self.paused / sr)}")
        head = f"played {played}" + (f" ({', '.join(extra)})" if extra else "")
        if self.mode == "click":
            body = f"{self.clicks} clicks"
        else:
            body = f"steps: {self.completed} of {self.steps_total} completed, {self.skipped} skipped"
        line = f"{head}; {body}; underflows: {self.underflows}"
        if self.outages:
            times = "1 time" if self.outages == 1 else f"{self.outages} times"
            line += f"; audio lost {times}, {self.outage_s:.1f} s without sound (the workout waited)"
        if self.reopened_for_underflows:
            line += f"; latency raised {self.reopened_for_underflows}x after underflows"
        return line


class DeviceLost(AudioUnavailableError):
    """The audio output went away mid-run (exit 3): ``audio output lost: <reason>; <render hint>``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"audio output lost: {reason}", RENDER_HINT)


class _Terminated(CoachError):
    """SIGTERM, raised in the main thread by the handler :meth:`LivePlayer.play` installs. The player turns it
    into the summary and exit 143; should it escape anywhere else it is still exit 143 and prints nothing
    (never "internal error")."""

    exit_code = 128 + signal.SIGTERM

    def lines(self) -> list[str]:
        return []


@dataclass
class PlayerConfig:
    """How a :class:`LivePlayer` plays (set by the commands; tests set the streams and outputs)."""

    mode: str  # "click" or "run"
    voice_mode: str = "off"
    pre_roll: int = 0  # samples of the spoken lead-in (before time zero)
    lead: int = 0  # samples of silence before the lead-in (see LEAD_S)
    margin_s: float = MARGIN_S
    show_live: bool | None = None  # None: when stdin and stdout are terminals (read by the display)
    keys: bool | None = None  # None: when stdin is a TTY
    trace: bool = False
    out: TextIO | None = None  # progress lines (stdout)
    err: TextIO | None = None  # summary (stderr)
    channels: int = 1  # of the stream (the mono block goes to each)
    realtime: bool = False  # ask for real-time scheduling of the callback thread (the commands do)
    confirm: bool = True  # speak confirmations (needs `say`; never when the voice is off or muted)
    output_latency_s: float = 0.0  # beyond the stream's own (a Bluetooth link): the display and the lap key
    keep_awake: bool = False  # the -66 dBFS floor that keeps a Bluetooth sink from powering down
    reconnect_s: float = RECONNECT_S  # a lost output is reopened for this long (0: exit 3 at once)
    latency_low: bool = False  # --latency low: the first underflow (once flowing) reopens with more latency


RendererFactory = Callable[[Timeline], BlockRenderer]


@dataclass(frozen=True)
class Edit:
    """A live change asked for by something other than a key: the sensor coach's remark, its follow-mode
    tempo, a distance step ended at the footpod's distance (:mod:`cadencecoach.sensors.coach`).

    ``make(playing, now)`` is pure and runs in the main thread: it returns the new timeline and the first sample
    where it may differ from `playing` (the swap point, >= ``now`` unless a cue is cut), or None when there is
    nothing to do at `now` (it is asked again with a later `now` if the callback played past the swap point).
    ``what`` names it in the player's events. Unlike ``n``, an edit that ends a step does not count as a skip.
    """

    what: str
    make: Callable[[Timeline, int], tuple[Timeline, int] | None]


class PlayerObserver(Protocol):
    """Something that follows a run from the main thread: the live display, the history recorder.

    The player calls, in its main thread, in the order of :attr:`LivePlayer.observers`:

    ``on_start(player)``
        once the stream has started, before the main loop;
    ``on_step(player, step)``
        when the step being heard changes (``step`` is None in the lead-in and after the end), at most once
        per poll and before that poll's ``on_tick``;
    ``on_tick(player)``
        every poll of the main loop (about every POLL_S), while playing;
    ``on_end(player)``
        once, however playing ended (the end, ``q``, Ctrl-C, SIGTERM, a lost device), after the stream is
        closed and the keyboard restored, before the summary is printed. ``player.finished`` says whether it
        played to the end.

    Observers read the player (``timeline``, ``position()``, ``skipped``, ``engine``...) and change it only
    through :meth:`LivePlayer.request` (an :class:`Edit`: the sensor coach). An observer that raises ends the
    run like any other error.
    """

    def on_start(self, player: LivePlayer) -> None: ...

    def on_step(self, player: LivePlayer, step: TimedStep | None) -> None: ...

    def on_tick(self, player: LivePlayer) -> None: ...

    def on_end(self, player: LivePlayer) -> None: ...


class LivePlayer:
    """The main-thread side: commands, recompilation, observers, faults, summary.

    Parameters
    ----------
    timeline : Timeline
        What to play (compiled at the stream's sample rate).
    make_renderer : callable
        Timeline -> renderer; called again for every recompiled timeline (main thread).
    stream_factory : callable
        Opens the output stream for the engine's callback (see :func:`.devices.stream_factory`).
    config : PlayerConfig
        Mode, lead-in, outputs.
    speech : Mapping of str to ndarray, optional
        Synthesized cue audio by text, for recompiled timelines.
    keys : KeyReader, optional
        The keyboard (None: no keys).
    renderer : BlockRenderer, optional
        The first renderer, if the caller built it already (e.g. to fail before the stream opens).
    say : callable, optional
        Sentences of vocabulary words -> their audio (``speech.phrases.Vocabulary.say``): the spoken
        confirmations; None: none (the display still shows them).
    reopen : callable, optional
        ``reopen(callback, reason, old)`` -> a new unstarted stream after a loss ("stopped", "stalled", "error")
        or underflows ("underflow"): ``devices.StreamOpener.reopen`` (it closes `old` itself). None: a lost
        output ends the run (unless `reopen_same`).
    reopen_same : bool, optional
        Without `reopen`, open the stream again with `stream_factory` (tests).

    Examples
    --------
    Without a sound card, a fake stream drives the callback (``tests/conftest.py`` has one)::

        player = LivePlayer(timeline, make_renderer, FakeStream, PlayerConfig(mode="run"))
        player.observers.append(display)  # ui.live_view.display_for(player, HELP)
        player.play()
    """

    def __init__(
        self,
        timeline: Timeline,
        make_renderer: RendererFactory,
        stream_factory: StreamFactory,
        config: PlayerConfig,
        speech: Mapping[str, np.ndarray] | None = None,
        *,
        keys: KeyReader | None = None,
        renderer: BlockRenderer | None = None,
        say: Callable[[Sequence[Sequence[str]]], np.ndarray | None] | None = None,
        reopen: Callable[[Callable[..., None], str, Any], Any] | None = None,
        reopen_same: bool = False,
    ) -> None:
        self.config = config
        self.timeline = timeline  # the one the callback plays (applied)
        self.sample_rate = timeline.sample_rate
        self.speech: Mapping[str, np.ndarray] = speech or {}
        self._make_renderer = make_renderer
        self._stream_factory = stream_factory
        self._say = say
        self._reopen = reopen
        self._reopen_same = reopen_same  # no `reopen`: open the stream again with `stream_factory` (tests)
        self.click_enabled = True
        self.voice_enabled = True
        self.volume = 1.0  # the live volume (gain; the keys and MPRIS set it)
        self.last_said: tuple[float, str] | None = None  # (seconds into the workout, the confirmation's text)
        self.outages: list[tuple[float, float]] = []  # (wall seconds without output, workout seconds) per loss
        self.reopened_for_underflows = 0
        self.lap_lag = 0  # samples between the last lap key heard and the step's end (see end_step's lag_s)
        self._mute: tuple[int, int | None] | None = None  # voice muted at sample, unmuted at (see voice_view)
        # each step as planned, by index: what `p` replays
        self._planned: dict[int, Segment] = {}
        for seg in timeline.segments:
            self._planned.setdefault(seg.flat.index, seg)
        if renderer is None:
            renderer = self._renderer(timeline)
        else:
            renderer.click_enabled = renderer.voice_enabled = True
        self.engine = Engine(
            renderer,
            sample_rate=self.sample_rate,
            channels=config.channels,
            start=-(config.pre_roll + config.lead),
            trace=config.trace,
        )
        if config.keep_awake:
            self.engine.keep_awake = keep_awake_noise(self.sample_rate)
        self.stream: Any = None
        self.keys = keys
        self.steps_total = len(timeline.steps)
        self.skipped: set[int] = set()
        self.quit = False
        self._queue: deque[Command | Edit] = deque()
        self._posted: deque[Command | float] = deque()  # from other threads (see post, post_volume)
        self._overlays: list[list[Any]] = []  # [overlay, callbacks when the engine let go of it] (see _release)
        self._to_say: tuple[list[list[str]], float] | None = None  # a confirmation waiting for a cue to end
        self._stream_seq = 0
        self._frames_at_open = 0
        self._last_calls = (0, time.monotonic())  # (callbacks, when that count was first seen): _silent_for
        self._old_stream: Any = None
        self._overlay_seq = 0
        self._underflow_times: deque[float] = deque()
        self._seen_underflows = 0
        self._seq = 0
        self._inflight: tuple[Swap, Timeline, Command | Edit, float] | None = None
        self._latency = 0  # output latency in samples (display only)
        self.scheduling = "normal"  # of the callback thread: "realtime", "nice" or "normal"
        self.stream_threads: dict[int, str] = {}  # the stream's other threads (native id -> what they got)
        self._threads_before: set[int] = set()  # the process's threads before the stream was opened
        self._events: list[tuple[str, int]] = []  # (what, sample) for tests and logs
        self.observers: list[PlayerObserver] = []  # display, history recorder (see PlayerObserver)
        self._heard_step: tuple[int, int] | int | None = -1  # (index, start) of the step last reported (-1: none)
        # Swaps the callback may still hold (a local reference in a block that began before `pending` was
        # replaced), with the callback count at replacement: dropped once the callback has moved on.
        self._graveyard: deque[tuple[int, Swap]] = deque()

    # -- renderers ----------------------------------------------------------------------------
    def _renderer(self, timeline: Timeline) -> BlockRenderer:
        """A renderer of `timeline` as heard: the click flag, and the voice as muted (:func:`voice_view`: the
        voice fades out at the mute and comes back from the next cue after the unmute)."""
        view = timeline
        if self._mute is not None:
            view = voice_view(timeline, self._mute[0], self._mute[1], self.engine.fade_frames)
        r = self._make_renderer(view)
        r.click_enabled = self.click_enabled
        return r

    # -- commands -------------------------------------------------------------------------------
    def handle(self, command: Command) -> None:
        """Take a command (from a key). Quit is immediate; the others run in order in :meth:`process`."""
        if command is Command.QUIT:
            self.quit = True
            self.engine.want_stop = True
            return
        self._queue.append(command)
        self.process()

    def request(self, edit: Edit) -> None:
        """Take a live edit (from an observer, in the main thread): queued behind the commands waiting, built on
        the timeline playing when its turn comes."""
        self._queue.append(edit)
        self.process()

    def post(self, command: Command) -> None:
        """Hand a command over from another thread; the main loop handles it (deque appends are atomic)."""
        self._posted.append(command)

    def post_name(self, name: str) -> None:
        """:meth:`post` by the command's name (``"pause"``, ``"skip"``, ``"previous"``...: :class:`Command`
        values), for callers that do not import the keys (MPRIS); an unknown name is ignored."""
        try:
            command = Command(name)
        except ValueError:
            return
        self._posted.append(command)

    def post_volume(self, level: float) -> None:
        """Set the volume (0..1, MPRIS's Volume) from another thread; the main loop applies it."""
        try:
            value = float(level)
        except (TypeError, ValueError):
            return
        if value == value:  # not NaN
            self._posted.append(value)

    def set_volume(self, level: float) -> None:
        """The live volume, 0..1 (clamped); the callback moves to it over a fade (main thread)."""
        self.volume = min(max(float(level), 0.0), 1.0)
        self.engine.gain_target = self.volume

    def process(self) -> None:
        """Finish the swap in flight (if the callback took or refused it), then run queued commands."""
        self._release()
        if self._inflight is not None and not self._settle():
            return
        while self._queue and self._inflight is None:
            self._run(self._queue.popleft())

    def _release(self) -> None:
        """Drop, here on the main thread, what the callback has let go of: the renderer it swapped out and
        the swaps it can no longer be reading."""
        e = self.engine
        e.take_retired()
        graveyard = self._graveyard
        while graveyard and graveyard[0][0] < e.callbacks:
            graveyard.popleft()
        e.take_spent()
        if self._overlays:  # an overlay is dropped two callbacks after the engine last held it
            held = (e.overlay, e.overlay_pending, e.spent)
            keep = []
            for entry in self._overlays:
                if any(entry[0] is h for h in held):
                    entry[1] = None
                elif entry[1] is None:
                    entry[1] = e.callbacks
                elif e.callbacks > entry[1] + 1:
                    continue
                keep.append(entry)
            self._overlays = keep

    @property
    def busy(self) -> bool:
        """A swap in flight or commands waiting."""
        return self._inflight is not None or bool(self._queue)

    def _settle(self) -> bool:
        """True when no swap is in flight any more."""
        assert self._inflight is not None
        swap, timeline, command, margin = self._inflight
        e = self.engine
        if e.applied_seq >= swap.seq:
            self.timeline = timeline
            self._inflight = None
            e.take_retired()  # the renderer it replaced: freed here, not in the callback
            return True
        if e.rejected_seq >= swap.seq:  # too late: the callback played past `at`; try again later
            self._inflight = None
            self._run(command, margin * 2)
            return self._inflight is None
        return False

    def _run(self, command: Command | Edit, margin_s: float | None = None) -> None:
        e = self.engine
        margin = self.config.margin_s if margin_s is None else margin_s
        if isinstance(command, Edit):
            self._edit(command, margin)
        elif not does_something(command, self.config.mode):
            return
        elif command in (Command.PAUSE, Command.PAUSE_ON, Command.RESUME):
            want = not e.want_pause if command is Command.PAUSE else command is Command.PAUSE_ON
            if want == e.want_pause:
                return
            e.want_pause = want
            self._events.append(("pause" if want else "resume", e.pos))
            self._confirm([[confirm.PAUSED if want else confirm.RESUMED]], now=True)
        elif command is Command.MUTE_CLICK:
            self.click_enabled = not self.click_enabled
            self._set_flags()
            self._confirm([[confirm.CLICK_ON if self.click_enabled else confirm.CLICK_OFF]], now=True)
        elif command is Command.MUTE_VOICE:
            self._toggle_voice(margin)
        elif command in (Command.VOLUME_UP, Command.VOLUME_DOWN):
            self._step_volume(+1 if command is Command.VOLUME_UP else -1)
        elif command is Command.STATUS:
            heard = self.position()
            self._confirm(confirm.status(self.timeline, heard, self._cadence_at(heard), self.config.mode))
        elif command in (Command.FASTER, Command.SLOWER, Command.SKIP, Command.PREVIOUS):
            self._recompile(command, margin)

    def _cadence_at(self, sample: int) -> float | None:
        step = self.timeline.step_at(max(sample, 0))
        if step is None or not step.click:
            return None
        return cadence_now(self.timeline, sample)

    def _step_volume(self, sign: int) -> None:
        factor = 10 ** (sign * VOLUME_STEP_DB / 20)
        before = self.volume
        floor = VOLUME_MIN if sign > 0 else min(VOLUME_MIN, before)  # down never raises a volume set below it
        self.set_volume(min(max(before * factor, floor), 1.0))
        if self.volume == before:
            word = confirm.LOUDEST if sign > 0 else confirm.QUIETEST
        else:
            word = confirm.LOUDER if sign > 0 else confirm.QUIETER
        self._confirm([[word]], now=True)

    def _toggle_voice(self, margin_s: float) -> None:
        """``v``: the voice fades out now (``Voice off.`` first), or speaks again from the next cue on."""
        muting = self.voice_enabled
        if muting:
            self._confirm([[confirm.VOICE_OFF]], now=True)  # said before the voice goes
        self.voice_enabled = not muting

        def make(playing: Timeline, now: int) -> tuple[Timeline, int]:
            if muting:
                self._mute = (now, None)
                return playing, max(now - self.engine.fade_frames, self.engine.pos)
            if self._mute is not None:
                self._mute = (self._mute[0], now)
            return playing, now

        self._edit(Edit("mute-voice" if muting else "unmute-voice", make), margin_s)
        if not muting:
            self._confirm([[confirm.VOICE_ON]], now=True)

    # -- confirmations ------------------------------------------------------------------------------
    def _confirm(self, sentences: list[list[str]], *, now: bool = False) -> None:
        """Say `sentences` (vocabulary words) over the timeline, ducking it: at once when `now` or paused, else
        once no planned cue is sounding (a confirmation never talks over one). Nothing without a voice."""
        if not sentences:
            return
        text = confirm.said(sentences)
        self.last_said = (max(self.position(), 0) / self.sample_rate, text)
        if not self.config.confirm or self._say is None:  # (the command turns them off with the voice)
            return
        if not self.voice_enabled and sentences != [[confirm.VOICE_OFF]]:
            return
        self._to_say = (sentences, time.monotonic() if not now else 0.0)
        self._say_waiting()

    def _say_waiting(self) -> None:
        """Hand the waiting confirmation to the callback once nothing planned is being said."""
        waiting = self._to_say
        if waiting is None or self._say is None:
            return
        sentences, since = waiting
        e = self.engine
        if since and not (e.want_pause or e.state == PAUSED):
            heard, ahead = self.position(), self.now() + round(2.0 * self.sample_rate)
            if any(c.at < ahead and c.end > heard for c in self.timeline.cues) and time.monotonic() - since < 10:
                return  # a cue is sounding or about to: wait (but not for ever)
        self._to_say = None
        audio = self._say(sentences)
        if audio is None or not len(audio):
            return
        self._overlay_seq += 1
        overlay = make_overlay(self._overlay_seq, audio, self.sample_rate, confirm.said(sentences))
        self._overlays.append([overlay, None])
        e.overlay_pending = overlay  # the one reference assignment the callback sees

    def _recompile(self, command: Command, margin_s: float) -> None:
        now = self.now(margin_s)
        if now < 0:
            if command in (Command.SKIP, Command.PREVIOUS):
                return  # during the lead-in there is nothing to skip or restart yet
            now = 0
        playing = self.timeline
        sr = self.sample_rate
        now_s = Fraction(now, sr)
        cut = False
        prefix: str | None = None
        said: list[list[str]] = []
        if command is Command.SKIP:
            self.lap_lag = max(now - self.position(), 0)
            ended = end_step(playing.segments, now_s, Fraction(self.lap_lag, sr))
            if ended is None:
                return
            segments, step = ended
            cut, prefix = True, confirm.SKIPPED
        elif command is Command.PREVIOUS:
            heard = self.heard_step()
            if heard is None:
                return
            back = (self.position() - heard.start) < BACK_WINDOW_S * sr
            replayed = replay_step(playing.segments, now_s, self._planned, back=back)
            if replayed is None:
                return
            segments, step = replayed
            cut, prefix = True, confirm.BACK_TO
        else:
            sign = 1 if command is Command.FASTER else -1
            changed = None
            cadence = self._cadence_at(now)
            if cadence is not None or self.config.mode == "click":
                changed = change_cadence(playing.segments, now_s, sign * CADENCE_STEP)
                if changed is not None:
                    reached = min(max(float(cadence or 0) + sign * CADENCE_STEP, CADENCE_MIN), CADENCE_MAX)
                    said = [confirm.cadence_words(reached)]
            else:  # a rest without a click: +/- 15 s of it
                bounds = step_bounds(playing.segments, now_s)
                if bounds is not None:
                    end = bounds[1] + sign * REST_STEP_S
                    end = max(end, now_s + REST_MIN_LEFT_S)
                    if end != bounds[1] and (sign > 0 or end < bounds[1]):
                        changed = retime_step(playing.segments, now_s, end)
                        if changed is not None:
                            word = confirm.MORE_REST if sign > 0 else confirm.LESS_REST
                            said = [[word], confirm.time_left(float(end) - self.position() / sr)]
            if changed is None:
                return
            segments, step = changed, -1
        timeline, first = recompile(playing, segments, self.speech, self.config.voice_mode, now, cut=cut)
        if prefix is not None:
            timeline = self._prefixed(timeline, now, prefix)
        if command is Command.SKIP:
            self.skipped.add(step)
        elif command is Command.PREVIOUS:  # the replayed steps are played again: not skipped any more
            self.skipped.difference_update({step, *(t.index for t in playing.steps if t.start <= now < t.end)})
        self._swap_in(timeline, first, now, command, margin_s)
        if said:
            self._confirm(said, now=True)

    def _prefixed(self, timeline: Timeline, at: int, word: str) -> Timeline:
        """``Skipped.`` / ``Back to`` said first in the announcement that now starts at `at` (or alone)."""
        if not self.config.confirm or self._say is None or not self.voice_enabled:
            return timeline
        audio = self._say([[word]])
        if audio is None:
            return timeline
        gap = round(0.15 * self.sample_rate)
        joined = prefix_cue(timeline, at, word, audio, gap)
        step = timeline.step_at(at)
        if step is not None:
            rep = f" {step.rep[0]} of {step.rep[1]}" if step.rep else ""
            self.last_said = (at / self.sample_rate, f"{word} {step.label}{rep}")
        # no room before the next cue: the announcement alone says where the run is (never two voices at once)
        return joined if joined is not None else timeline

    def _set_flags(self) -> None:
        renderers = [self.engine.renderer]
        if self._inflight is not None:
            renderers.append(self._inflight[0].renderer)
        for r in renderers:
            r.click_enabled = self.click_enabled

    def now(self, margin_s: float | None = None) -> int:
        """The first sample a change can still affect: the rendered position, plus a margin unless paused."""
        e = self.engine
        pos = e.pos
        if e.state == PAUSED and e.want_pause:
            return pos
        margin = self.config.margin_s if margin_s is None else margin_s
        return pos + e.max_frames + round(margin * self.sample_rate)

    def _edit(self, edit: Edit, margin_s: float) -> None:
        now = max(self.now(margin_s), 0)
        made = edit.make(self.timeline, now)
        if made is None:
            return
        timeline, first = made
        self._swap_in(timeline, first, now, edit, margin_s)

    def _swap_in(self, timeline: Timeline, first: int, now: int, command: Command | Edit, margin_s: float) -> None:
        """Hand `timeline` (equal to the playing one before `first`) to the callback; one swap in flight."""
        if now == self.engine.pos:  # paused: what a cut cue's fade-out would change was faded out already
            first = now
        renderer = self._renderer(timeline)
        self._seq += 1
        swap = Swap(self._seq, renderer, first)
        self._inflight = (swap, timeline, command, margin_s)
        self._events.append((command.what if isinstance(command, Edit) else command.value, now))
        old = self.engine.pending
        if old is not None:  # the callback may still hold it for the block it is in: keep it alive till then
            self._graveyard.append((self.engine.callbacks, old))
        self.engine.pending = swap  # the one reference assignment the callback sees

    # -- state for display ------------------------------------------------------------------------
    def position(self) -> int:
        """The timeline sample being heard (rendered position minus the output latency)."""
        e = self.engine
        if e.state == PAUSED:
            return e.pos
        lag = self._latency + round(self.config.output_latency_s * self.sample_rate)
        return max(e.pos - lag, -(self.config.pre_roll + self.config.lead))

    @property
    def finished(self) -> bool:
        """Played to the end (nothing left to play, nothing in flight)."""
        e = self.engine
        return e.pos >= e.renderer.length and not self.busy

    def final_position(self) -> int:
        """Where playing ended: the end when :attr:`finished`, else the sample being heard."""
        return self.engine.pos if self.finished else self.position()

    def heard_step(self) -> TimedStep | None:
        """The step being heard (None in the lead-in and after the end)."""
        return self.timeline.step_at(self.position())

    def summary(self) -> Summary:
        """The counts for the closing line (see :meth:`Summary.line`)."""
        e = self.engine
        pos = e.pos
        tl = self.timeline
        pre = self.config.pre_roll
        lead_in = min(pre, max(e.played - self.config.lead, 0))
        s = Summary(
            mode=self.config.mode,
            sample_rate=self.sample_rate,
            played=e.played,
            lead_in=lead_in,
            paused=e.paused_frames,
            steps_total=self.steps_total,
            skipped=len(self.skipped),
            underflows=e.underflows,
            outages=len(self.outages),
            outage_s=sum(w for w, _ in self.outages),
            reopened_for_underflows=self.reopened_for_underflows,
        )
        last_take = {st.index: st for st in tl.steps}  # a replayed step counts once: its last playing
        s.completed = sum(1 for st in last_take.values() if st.end <= pos and st.index not in self.skipped)
        s.clicks = int(np.searchsorted(tl.clicks, pos, side="left"))
        return s

    # -- faults -----------------------------------------------------------------------------------
    def _check(self) -> None:
        """Raise DeviceLost when the stream ended on its own (a lost device or server: PortAudio stops it,
        seen within a poll) or stopped calling back (a hung server: after HEARTBEAT_S, longer at first); the
        main loop then reopens it (:meth:`_recover`)."""
        e = self.engine
        if e.error is not None:
            raise e.error
        sr = self.sample_rate
        # a new stream (the first, or one reopened) may be held ~1.5 s by PulseAudio before it flows
        limit = HEARTBEAT_S if e.frames - self._frames_at_open >= 2 * sr else STARTUP_STALL_S
        if self._silent_for() > max(limit, 3 * e.max_frames / sr):
            raise DeviceLost(
                "the audio output never started" if e.callbacks == 0 else "the audio output stopped responding"
            )
        try:
            active = bool(self.stream.active)
        except Exception as exc:
            raise DeviceLost(f"the audio output failed ({exc})") from None
        if not active:
            raise DeviceLost("the audio output stopped")

    def _underflowing(self) -> bool:
        """True when the stream should be reopened with a larger latency: with ``--latency low`` the first
        underflow once flowing, else UNDERFLOW_BURST of them within UNDERFLOW_WINDOW_S."""
        e = self.engine
        if e.underflows == self._seen_underflows or self._reopen is None:
            return False
        now = time.monotonic()
        for _ in range(e.underflows - self._seen_underflows):
            self._underflow_times.append(now)
        self._seen_underflows = e.underflows
        while self._underflow_times and now - self._underflow_times[0] > UNDERFLOW_WINDOW_S:
            self._underflow_times.popleft()
        if e.frames < 2 * self.sample_rate:  # a device that starts unprimed: not the latency's fault
            return False
        return self.config.latency_low or len(self._underflow_times) >= UNDERFLOW_BURST

    def _open(self, reason: str | None) -> Any:
        """Open (reason None) or reopen the output stream, with a callback of its own, and start it."""
        self._stream_seq += 1
        self.engine.stream_id = self._stream_seq
        callback = self.engine.callback_for(self._stream_seq)
        self._frames_at_open = self.engine.frames
        self._last_calls = (self.engine.callbacks, time.monotonic())  # the heartbeat starts with the stream
        if reason is None or self._reopen is None:
            stream = self._stream_factory(callback)
        else:
            stream = self._reopen(callback, reason, self._old_stream)
        try:
            stream.start()
        except BaseException:
            _close(stream, abort=True)
            raise
        with contextlib.suppress(Exception):
            self._latency = round(float(stream.latency) * self.sample_rate)
        return stream

    def _recover(self, reason: str, lost: DeviceLost | None) -> None:
        """The output was lost (`lost`) or underflows ("underflow"): reopen it -- the same device, then the
        default (the ``reopen`` the command gave) -- and go on from the sample last heard, with "Audio
        restored" after a loss. Raises `lost`, saying what was missed, when nothing comes back within
        ``reconnect_s``; keys still work meanwhile (``q`` ends the run)."""
        e = self.engine
        started = time.monotonic()
        heard = self.position()
        old, self.stream = self.stream, None
        e.stream_id = -1  # the old stream's late calls write silence (its close may be abandoned)
        if self._reopen is None:
            _close(old, abort=True)
        self._old_stream = old  # a `reopen` closes it itself, bounded, before PortAudio starts again
        e.resume_at(max(heard, e.pos - self._latency - e.max_frames, -(self.config.pre_roll + self.config.lead)))
        limit = self.config.reconnect_s if lost is not None else max(self.config.reconnect_s, 5.0)
        attempt = reason if lost is None else _reason_word(lost.reason)
        last_error = ""
        while True:
            try:
                self._threads_before = thread_ids()
                self.stream = self._open(attempt)
                self._old_stream = None
                break
            except _Terminated:
                raise
            except Exception as exc:
                last_error = str(exc)
            waited = time.monotonic() - started
            if waited >= limit or self.quit:
                missed = self._missed(waited, heard)
                why = lost.reason if lost is not None else "underflows"
                detail = f"{why}, and no output came back within {limit:g} s ({missed})"
                if last_error:
                    detail += f"; last try: {last_error}"
                raise DeviceLost(detail)
            deadline = time.monotonic() + RETRY_S
            while time.monotonic() < deadline and not self.quit:
                if self.keys is not None and self.keys.active:
                    for command in self.keys.read(POLL_S):
                        if command is Command.QUIT:
                            self.handle(command)
                else:
                    time.sleep(POLL_S)
        waited = time.monotonic() - started
        if lost is not None:
            self.outages.append((waited, max(heard, 0) / self.sample_rate))
            self._confirm([[confirm.RESTORED]], now=True)
        else:
            self.reopened_for_underflows += 1
        self._seen_underflows = e.underflows
        self._underflow_times.clear()

    def _missed(self, waited: float, heard: int) -> str:
        from cadencecoach.workout.units import format_clock

        heard = max(heard, 0)
        sr = self.sample_rate
        where = f"stopped at {format_clock(heard / sr)} of {format_clock(self.timeline.end / sr)}"
        return f"{where}, {waited:.0f} s without sound"

    # -- the main loop ----------------------------------------------------------------------------
    def play(self) -> int:
        """Play until the end, ``q``, Ctrl-C, SIGTERM or a fault, then print the summary.

        Returns
        -------
        int
            0 (played to the end, or ``q``).

        Raises
        ------
        KeyboardInterrupt
            Ctrl-C, after a fade-out and the summary.
        SystemExit
            SIGTERM (code 143), after a fade-out and the summary.
        AudioUnavailableError
            The stream could not start, or the device was lost mid-run (after the summary; exit 3).
        """
        cfg = self.config
        err = cfg.err or sys.stderr
        interrupted = False
        terminated = False
        lost: DeviceLost | None = None
        sigterm = _SigTerm()
        old_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the callback waits less for the GIL while we recompile
        # the collector: the set-up heap frozen, collections only in the main loop (realtime.py); no collection
        # first: it would cost the first sound ~10 ms, and the garbage it would find is a few objects
        collector = realtime_gc(collect=False)
        collector.__enter__()
        try:
            try:
                self._threads_before = thread_ids()
                self.stream = self._open(None)
            except _Terminated:
                raise
            except Exception as exc:
                raise no_device_error(f"cannot start the audio output ({exc})") from None
            try:
                for observer in self.observers:  # history: the session's row, status "running"; the display
                    observer.on_start(self)
                self._loop()
            except (KeyboardInterrupt, _Terminated) as exc:
                interrupted = True
                terminated = isinstance(exc, _Terminated) or sigterm.received
                self._fade_out()
            except DeviceLost as exc:
                lost = exc
            sigterm.raising = False  # from here on a SIGTERM is only noted: the cleanup runs to its end
            if lost is None and not interrupted:
                self._fade_out()
            if lost is None:
                self._drain()
            _close(self.stream, abort=lost is not None)
        finally:
            collector.__exit__(None, None, None)
            sys.setswitchinterval(old_switch)
            sigterm.restore()
            if self.keys is not None:
                self.keys.restore()
            for observer in self.observers:  # history: completed, or stopped (q, Ctrl-C, SIGTERM, lost device)
                observer.on_end(self)
        if self.engine.underflows:
            first = self.engine.first_underflow / self.sample_rate
            warn(
                f"{self.engine.underflows} buffer underflow(s), the first {first:.1f} s in: the audio had"
                " gaps (a larger --latency helps)"
            )
        print(self.summary().line(), file=err, flush=True)
        terminated = terminated or sigterm.received
        if lost is not None:
            raise lost
        if terminated:
            raise SystemExit(128 + signal.SIGTERM)
        if interrupted:
            raise KeyboardInterrupt
        return 0

    def _fade_out(self) -> None:
        """Ask the callback to fade out and wait (at most half a second) for it."""
        e = self.engine
        e.want_stop = True
        deadline = time.monotonic() + 0.5
        try:
            while e.state != STOPPED and e.pos < e.renderer.length and time.monotonic() < deadline:
                if not self._calling_back():
                    break
                time.sleep(0.005)
        except KeyboardInterrupt:
            pass

    def _silent_for(self) -> float:
        """Seconds since the callback was last seen called (the count of callbacks last changed), main thread:
        the heartbeat of :meth:`_check`, and what ends waiting for a fade or a drain."""
        now = time.monotonic()
        if self.engine.callbacks != self._last_calls[0]:
            self._last_calls = (self.engine.callbacks, now)
        return now - self._last_calls[1]

    def _calling_back(self, within_s: float = 0.25) -> bool:
        """False once the callback has not been called for `within_s` (a stream that has not started flowing,
        or a stalled one): waiting for it to fade out or drain would only delay the exit."""
        return self._silent_for() < max(within_s, 3 * self.engine.max_frames / self.sample_rate)

    def _drain(self) -> None:
        """Keep the stream running until the last block that sounds (the fade-out, or the end's tail) has been
        handed over and played out: the device's latency and two blocks more, within DRAIN_TIMEOUT_S. Closing
        at once would drop what is still buffered: ``q`` would cut the sound dead instead of fading."""
        e = self.engine
        if self.stream is None:
            return
        e.want_stop = True
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        try:
            while time.monotonic() < deadline and self._calling_back():
                if e.state == STOPPED and e.stopped_frames >= 0:
                    if e.frames - e.stopped_frames >= self._latency + 2 * max(e.max_frames, 256):
                        break
                elif e.error is not None:
                    break
                time.sleep(0.005)
        except KeyboardInterrupt:
            pass

    def _loop(self) -> None:
        self._last_calls = (self.engine.callbacks, time.monotonic())  # the heartbeat counts from here
        traced = False
        promoted = not self.config.realtime or bool(os.environ.get(NO_REALTIME_ENV))
        while True:
            if self.keys is not None and self.keys.active:
                for command in self.keys.read(POLL_S):
                    self.handle(command)
            else:
                time.sleep(POLL_S)
            while self._posted:
                item = self._posted.popleft()
                if isinstance(item, Command):
                    self.handle(item)
                else:
                    self.set_volume(item)
            self.process()
            self._say_waiting()
            collect_young()  # what automatic collection would have done by now, here, not in the callback
            reason: str | None = None
            lost: DeviceLost | None = None
            try:
                self._check()
            except DeviceLost as exc:
                if self.config.reconnect_s <= 0 or (self._reopen is None and not self._reopen_same):
                    raise
                lost, reason = exc, "lost"
            if reason is None and self._underflowing():
                reason = "underflow"
            if reason is not None:
                self._recover(reason, lost)
                self.engine.thread_id = 0  # a new stream: a new callback thread to promote
                promoted = not self.config.realtime or bool(os.environ.get(NO_REALTIME_ENV))
            if not promoted and self.engine.thread_id:
                promoted = True
                self.scheduling = raise_priority(self.engine.thread_id)
                self._promote_stream_threads()
            if self.config.trace and not traced and self.engine.first_sound:
                traced = True
                _trace(self.engine.first_sound, self.config.err or sys.stderr)
            if self.quit or self.finished:
                break
            self._notify()

    def _notify(self) -> None:
        """One poll's observer calls: ``on_step`` if the step heard changed, then ``on_tick``."""
        observers = self.observers
        if not observers:
            return
        step = self.heard_step()
        index = None if step is None else (step.index, step.start)  # a replayed step is a new one
        if index != self._heard_step:
            self._heard_step = index
            for observer in observers:
                observer.on_step(self, step)
        for observer in observers:  # history: steps that ended, and a heartbeat; the display
            observer.on_tick(self)

    def _promote_stream_threads(self) -> None:
        """Real-time scheduling for the threads the audio stream started besides the callback thread: the
        audio reaches the server through them too (see the module doc). Only threads that appeared while the
        stream was opened and started (and still exist) are touched; nothing else in the process is."""
        if self.scheduling == "normal":
            return  # not even the callback thread could be raised
        for tid in sorted(thread_ids() - self._threads_before - {self.engine.thread_id}):
            self.stream_threads[tid] = raise_priority(tid)


def _reason_word(reason: str) -> str:
    """What the opener is told about a loss: ``stalled`` (no callbacks), ``error`` or ``stopped``."""
    if "responding" in reason or "never started" in reason:
        return "stalled"
    if "failed" in reason:
        return "error"
    return "stopped"


def thread_ids() -> set[int]:
    """Native ids of this process's threads (Linux /proc; elsewhere an empty set)."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task") if t.isdigit()}
    except OSError:
        return set()


def raise_priority(tid: int) -> str:
    """Give the audio thread `tid` real-time scheduling (SCHED_FIFO), else a higher nice level, as
    far as the system allows (root, CAP_SYS_NICE or an rtprio limit); the rest of the process is unchanged.
    Returns what it got. Done from the main thread: the callback only records its thread id."""
    try:
        os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        return "realtime"
    except (OSError, AttributeError, ValueError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, tid, -10)
        return "nice"
    except (OSError, AttributeError, ValueError):
        return "normal"


class _SigTerm:
    """While playing, SIGTERM raises :class:`_Terminated` in the main thread -- once, and only while
    ``raising``: a SIGTERM during the fade-out, the close or the summary is only noted (``received``), so it
    never breaks off the cleanup half-done; :meth:`LivePlayer.play` then exits 143 after the summary."""

    def __init__(self) -> None:
        self.received = False
        self.raising = True
        try:
            self._old: Any = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not the main thread
            self._old = None

    def _handler(self, signum: int, frame: Any) -> None:
        first = not self.received
        self.received = True
        if first and self.raising:
            raise _Terminated

    def restore(self) -> None:
        """Put the previous handler back (a SIGTERM from here on is the process's default)."""
        if self._old is not None:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGTERM, self._old)
            self._old = None


def _close(stream: Any, *, abort: bool, timeout: float = 1.0) -> None:
    """Stop and close `stream` without ever hanging the process (a lost server can block PortAudio)."""
    if stream is None:
        return

    def work() -> None:
        with contextlib.suppress(Exception):
            if abort:
                stream.abort()
            else:
                stream.stop()
        with contextlib.suppress(Exception):
            stream.close()

    t = threading.Thread(target=work, name="cadencecoach-close", daemon=True)
    t.start()
    t.join(timeout)


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc; 10 ms resolution)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            stat = f.read()
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        hz = os.sysconf("SC_CLK_TCK")
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / hz
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _trace(first_sound: float, err: TextIO) -> None:
    age = _process_age()
    since = "" if age is None else f" ({age - (time.time() - first_sound):.3f} s after process start)"
    print(f"startup: first sound handed to the device at {first_sound:.6f}{since}", file=err, flush=True)
