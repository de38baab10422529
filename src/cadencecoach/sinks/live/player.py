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

Faults
    No device: :class:`AudioUnavailableError` (exit 3) before anything is synthesized. Device lost
    mid-run (the stream stops, PortAudio errors, the callback stops being called): stop within a
    second, print the summary, exit 3 (:class:`DeviceLost`). Underflows are counted in the callback and
    reported at the end. SIGTERM: a fade, the summary, exit 143.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, TextIO

import numpy as np

from cadencecoach.core.edits import CADENCE_STEP, change_cadence, end_step, recompile
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import TimedStep, Timeline
from cadencecoach.errors import AudioUnavailableError, CoachError, warn
from cadencecoach.sinks.live.devices import RENDER_HINT, StreamFactory, no_device_error
from cadencecoach.sinks.live.engine import PAUSED, STOPPED, Engine, Swap
from cadencecoach.sinks.live.keys import Command, KeyReader

MARGIN_S = 0.05  # a live change takes effect this far after the rendered position (plus a block)
HEARTBEAT_S = 0.75  # no callback for this long (once flowing): the device is gone
STARTUP_STALL_S = 3.0  # ... allowed in the first seconds (PulseAudio may hold a new stream ~1.5 s)
LEAD_S = 0.05  # silence before the first sample of the timeline: a new stream may lose its first ms
POLL_S = 0.03  # main loop period (keys, faults)
SWITCH_INTERVAL_S = 0.001  # GIL switch interval while playing (Python's default is 5 ms)
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
        return f"{head}; {body}; underflows: {self.underflows}"


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
    ) -> None:
        self.config = config
        self.timeline = timeline  # the one the callback plays (applied)
        self.sample_rate = timeline.sample_rate
        self.speech: Mapping[str, np.ndarray] = speech or {}
        self._make_renderer = make_renderer
        self._stream_factory = stream_factory
        self.click_enabled = True
        self.voice_enabled = True
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
        self.stream: Any = None
        self.keys = keys
        self.steps_total = len(timeline.steps)
        self.skipped: set[int] = set()
        self.quit = False
        self._queue: deque[Command | Edit] = deque()
        self._posted: deque[Command] = deque()  # from other threads (see post)
        self._seq = 0
        self._inflight: tuple[Swap, Timeline, Command | Edit, float] | None = None
        self._latency = 0  # output latency in samples (display only)
        self.scheduling = "normal"  # of the callback thread: "realtime", "nice" or "normal"
        self.stream_threads: dict[int, str] = {}  # the stream's other threads (native id -> what they got)
        self._threads_before: set[int] = set()  # the process's threads before the stream was opened
        self._events: list[tuple[str, int]] = []  # (what, sample) for tests and logs
        self.observers: list[PlayerObserver] = []  # display, history recorder (see PlayerObserver)
        self._heard_step: int | None = -1  # index of the step last reported by on_step (-1: none yet)
        # Swaps the callback may still hold (a local reference in a block that began before `pending` was
        # replaced), with the callback count at replacement: dropped once the callback has moved on.
        self._graveyard: deque[tuple[int, Swap]] = deque()

    # -- renderers ----------------------------------------------------------------------------
    def _renderer(self, timeline: Timeline) -> BlockRenderer:
        r = self._make_renderer(timeline)
        r.click_enabled = self.click_enabled
        r.voice_enabled = self.voice_enabled
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
        if isinstance(command, Edit):
            self._edit(command, self.config.margin_s if margin_s is None else margin_s)
        elif command is Command.PAUSE:
            e.want_pause = not e.want_pause
            self._events.append(("pause" if e.want_pause else "resume", e.pos))
        elif command is Command.MUTE_CLICK:
            self.click_enabled = not self.click_enabled
            self._set_flags()
        elif command is Command.MUTE_VOICE:
            self.voice_enabled = not self.voice_enabled
            self._set_flags()
        elif command in (Command.FASTER, Command.SLOWER, Command.SKIP):
            self._recompile(command, self.config.margin_s if margin_s is None else margin_s)

    def _set_flags(self) -> None:
        renderers = [self.engine.renderer]
        if self._inflight is not None:
            renderers.append(self._inflight[0].renderer)
        for r in renderers:
            r.click_enabled = self.click_enabled
            r.voice_enabled = self.voice_enabled

    def now(self, margin_s: float | None = None) -> int:
        """The first sample a change can still affect: the rendered position, plus a margin unless paused."""
        e = self.engine
        pos = e.pos
        if e.state == PAUSED and e.want_pause:
            return pos
        margin = self.config.margin_s if margin_s is None else margin_s
        return pos + e.max_frames + round(margin * self.sample_rate)

    def _recompile(self, command: Command, margin_s: float) -> None:
        now = self.now(margin_s)
        if now < 0:
            if command is Command.SKIP:
                return  # during the lead-in there is nothing to skip yet
            now = 0
        playing = self.timeline
        now_s = Fraction(now, self.sample_rate)
        cut = False
        if command is Command.SKIP:
            if self.config.mode == "click":
                return
            ended = end_step(playing.segments, now_s)
            if ended is None:
                return
            segments, step = ended
            cut = True
        else:
            delta = CADENCE_STEP if command is Command.FASTER else -CADENCE_STEP
            changed = change_cadence(playing.segments, now_s, delta)
            if changed is None:
                return
            segments, step = changed, -1
        timeline, first = recompile(playing, segments, self.speech, self.config.voice_mode, now, cut=cut)
        if command is Command.SKIP:
            self.skipped.add(step)
        self._swap_in(timeline, first, now, command, margin_s)

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
        return max(e.pos - self._latency, -(self.config.pre_roll + self.config.lead))

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
        )
        s.completed = sum(1 for st in tl.steps if st.end <= pos and st.index not in self.skipped)
        s.clicks = int(np.searchsorted(tl.clicks, pos, side="left"))
        return s

    # -- faults -----------------------------------------------------------------------------------
    def _check(self, started: float, last_beat: list[float], last_count: list[int]) -> None:
        """Raise DeviceLost when the stream ended on its own (a lost device or server: PortAudio stops it,
        seen within a poll) or stopped calling back (a hung server: after HEARTBEAT_S, longer at first)."""
        e = self.engine
        if e.error is not None:
            raise e.error
        now = time.monotonic()
        if e.callbacks != last_count[0]:
            last_count[0] = e.callbacks
            last_beat[0] = now
        else:
            sr = self.sample_rate
            limit = HEARTBEAT_S if e.frames >= 2 * sr else STARTUP_STALL_S
            limit = max(limit, 3 * e.max_frames / sr)
            if now - last_beat[0] > limit:
                raise DeviceLost(
                    "the audio output never started" if e.callbacks == 0 else "the audio output stopped responding"
                )
        try:
            active = bool(self.stream.active)
        except Exception as exc:
            raise DeviceLost(f"the audio output failed ({exc})") from None
        if not active:
            raise DeviceLost("the audio output stopped")

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
        try:
            try:
                self._threads_before = thread_ids()
                self.stream = self._stream_factory(self.engine.callback)
                self.stream.start()
            except _Terminated:
                _close(self.stream, abort=True)
                raise
            except Exception as exc:
                _close(self.stream, abort=True)
                raise no_device_error(f"cannot start the audio output ({exc})") from None
            with contextlib.suppress(Exception):
                self._latency = round(float(self.stream.latency) * self.sample_rate)
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
            _close(self.stream, abort=lost is not None)
        finally:
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
                time.sleep(0.005)
        except KeyboardInterrupt:
            pass

    def _loop(self) -> None:
        started = time.monotonic()
        last_beat, last_count = [started], [0]
        traced = False
        promoted = not self.config.realtime or bool(os.environ.get(NO_REALTIME_ENV))
        while True:
            if self.keys is not None and self.keys.active:
                for command in self.keys.read(POLL_S):
                    self.handle(command)
            else:
                time.sleep(POLL_S)
            while self._posted:
                self.handle(self._posted.popleft())
            self.process()
            self._check(started, last_beat, last_count)
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
        index = None if step is None else step.index
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
