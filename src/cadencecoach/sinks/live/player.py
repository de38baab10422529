"""The real-time player: ``cadencecoach click`` and ``cadencecoach run``.

Audio path
    A ``sounddevice.OutputStream`` (float32, the device's channels, capped at 2) whose callback is
    :meth:`Engine.callback`. The callback renders with :meth:`BlockRenderer.render` into a preallocated
    mono buffer and copies it to every channel. Timing comes only from counting samples there: the
    callback owns the timeline position ``pos`` and advances it by the frames it renders. Nothing
    sleeps to schedule audio; the main thread only polls (keys, display, faults).

Threads
    The callback only *writes ints* (position, counters, state) and reads a few attributes the main
    thread writes (``want_pause``, ``want_stop`` and ``pending``, a swap handed over with one
    reference assignment). No locks, no I/O, no allocation beyond small views in the callback. The
    callback records its thread id once; the main thread then asks for real-time scheduling of that
    thread (SCHED_FIFO where permitted, else a better nice level; CADENCECOACH_NO_REALTIME=1: neither),
    and of every other thread the stream started (Linux: the threads that appeared while it was opened and
    started -- with ALSA's ``pulse`` plugin, libpulse's ``threaded-ml`` thread, which wakes the callback
    thread and writes its blocks to the server: left at normal priority it was the one link that a busy
    machine could hold up for 100+ ms, and the server ran dry), and lowers the GIL switch interval to 1 ms
    while playing.

Live changes
    Pause/resume is a ~20 ms fade done by the callback: the position stops and goes on where it was.
    Changes to the future (skip a step, cadence +-2) are recompiled in the main thread: the segments
    are split at ``now`` (exact Fractions), recompiled with :func:`timeline.compile_segments`, spliced
    onto the playing timeline with :func:`timeline.splice` and wrapped in a new renderer. The swap
    carries the first sample from which the new timeline may differ (``at``); the callback takes it at
    the start of a block if it has not played past ``at`` yet, else it rejects it and the main thread
    retries with a later ``now``. One swap is in flight at a time, so each new timeline is built on
    the one that is playing.

Faults
    No device: :class:`AudioUnavailableError` (exit 3) before anything is synthesized. Device lost
    mid-run (the stream stops, PortAudio errors, the callback stops being called): stop within a
    second, print the summary, exit 3. Underflows are counted in the callback and reported at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Protocol, TextIO

import numpy as np

from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import CompileOptions, Cue, Segment, TimedStep, Timeline, compile_segments, splice
from cadencecoach.errors import AudioUnavailableError, UsageError
from cadencecoach.sinks.live.keys import HELP, Command, KeyReader

RENDER_HINT = "to get the audio anyway, write it to a file: cadencecoach render WORKOUT -o FILE"

FADE_S = 0.02  # pause/resume/stop fade
CUT_FADE_S = 0.01  # a cue cut short by a skip fades out over this
MARGIN_S = 0.05  # a live change takes effect this far after the rendered position (plus a block)
HEARTBEAT_S = 0.75  # no callback for this long (once flowing): the device is gone
STARTUP_STALL_S = 3.0  # ... allowed in the first seconds (PulseAudio may hold a new stream ~1.5 s)
LEAD_S = 0.05  # silence before the first sample of the timeline: a new stream may lose its first ms
POLL_S = 0.03  # main loop period (keys, faults)
DEFAULT_LATENCY_S = 0.1  # a metronome needs no low latency; a deeper buffer rides out a busy machine
SWITCH_INTERVAL_S = 0.001  # GIL switch interval while playing (Python's default is 5 ms)
REALTIME_PRIORITY = 10  # SCHED_FIFO priority asked for the callback thread (where permitted)
NO_REALTIME_ENV = "CADENCECOACH_NO_REALTIME"
REFRESH_HZ = 8  # live display refreshes per second
PROGRESS_EVERY_S = 30  # plain progress lines (no TTY): at every step change and this often
DUMB_TERMINALS = ("dumb", "unknown")  # TERM values that cannot redraw (rich's Console.is_dumb_terminal)
CADENCE_STEP = 2
CADENCE_MIN, CADENCE_MAX = 60, 300
CLICK_HOURS = 24  # `click` is one clicking step this long
BUFFER_FRAMES = 1 << 14  # callback's preallocated mono buffer (larger blocks are rendered in pieces)
TRACE_ENV = "CADENCECOACH_TRACE_STARTUP"

PLAYING, FADE_OUT, PAUSED, FADE_IN, STOPPED = range(5)


# ================================================================================================ devices


@dataclass(frozen=True)
class OutputDevice:
    index: int
    name: str
    channels: int  # max output channels
    default_samplerate: float
    hostapi: str
    is_default: bool

    @property
    def stream_channels(self) -> int:
        """Channels we open: the mono block goes to every one of them (stereo at most)."""
        return max(1, min(self.channels, 2))


def load_sounddevice() -> Any:
    """Import sounddevice; no PortAudio at all is "no audio output" (exit 3)."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library is missing
        raise AudioUnavailableError(f"no audio output: PortAudio is not available ({exc})", RENDER_HINT) from None
    return sounddevice


def _default_output(sd: Any) -> int:
    try:
        return int(sd.query_devices(kind="output")["index"])
    except Exception:
        return -1


def output_devices(sd: Any) -> list[OutputDevice]:
    """Every device with output channels, in PortAudio's order."""
    try:
        devices = list(sd.query_devices())
        hostapis = list(sd.query_hostapis())
    except Exception:
        return []
    default = _default_output(sd)
    out = []
    for i, d in enumerate(devices):
        channels = int(d.get("max_output_channels", 0))
        if channels <= 0:
            continue
        index = int(d.get("index", i))
        api = d.get("hostapi", 0)
        api_name = hostapis[api]["name"] if isinstance(api, int) and 0 <= api < len(hostapis) else ""
        out.append(
            OutputDevice(index, str(d["name"]), channels, float(d["default_samplerate"]), api_name, index == default)
        )
    return out


def no_device_error(detail: str = "no audio output device found") -> AudioUnavailableError:
    return AudioUnavailableError(detail, RENDER_HINT)


def select_device(sd: Any, spec: str | None) -> OutputDevice:
    """The output named by ``--device`` (an index, or a fragment of the name), else the default one."""
    devices = output_devices(sd)
    if not devices:
        raise no_device_error()
    if spec is None or not spec.strip():
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    spec = spec.strip()
    listing = ", ".join(f"{d.index}: {d.name}" for d in devices)
    if spec.lstrip("-").isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return d
        raise UsageError(f"--device {spec}: no output device with that index (outputs: {listing})")
    key = spec.casefold()
    exact = [d for d in devices if d.name.casefold() == key]
    if exact:
        return exact[0]
    matches = [d for d in devices if key in d.name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"--device {spec}: no output device matches (outputs: {listing})")
    names = ", ".join(f"{d.index}: {d.name}" for d in matches)
    raise UsageError(f"--device {spec}: several outputs match ({names}); give more of the name, or the index")


def parse_latency(value: str | None) -> str | float:
    """``--latency low|high|SECONDS``."""
    if value is None:
        return DEFAULT_LATENCY_S
    v = value.strip().lower()
    if v in ("low", "high"):
        return v
    try:
        seconds = float(v.removesuffix("s"))
    except ValueError:
        raise UsageError(f"--latency must be low, high or a number of seconds (got '{value}')") from None
    if not 0.0 < seconds <= 2.0:
        raise UsageError(f"--latency {value}: give a number of seconds between 0 and 2")
    return seconds


def parse_breathing(value: str | None) -> tuple[int, int] | None:
    """``--breathing 3:2`` (inhale steps : exhale steps)."""
    if value is None:
        return None
    parts = value.replace(" ", "").split(":")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        inhale, exhale = int(parts[0]), int(parts[1])
        if 1 <= inhale <= 9 and 1 <= exhale <= 9:
            return inhale, exhale
    raise UsageError(f"--breathing is inhale:exhale steps, like 3:2 or 2:2 (got '{value}')")


def check_settings(sd: Any, device: OutputDevice, sample_rate: int) -> None:
    """Raise UsageError for a rate the device refuses (when its own rate works), else exit 3."""
    try:
        sd.check_output_settings(
            device=device.index, channels=device.stream_channels, dtype="float32", samplerate=sample_rate
        )
    except Exception as exc:
        own = round(device.default_samplerate)
        if own != sample_rate and _settings_ok(sd, device, own):
            raise UsageError(
                f"--sample-rate {sample_rate}: {device.name} does not take it ({exc}); try {own}"
            ) from None
        raise no_device_error(f"cannot open the audio output {device.name!r} ({exc})") from None


def _settings_ok(sd: Any, device: OutputDevice, rate: int) -> bool:
    try:
        sd.check_output_settings(device=device.index, channels=device.stream_channels, dtype="float32", samplerate=rate)
    except Exception:
        return False
    return True


# ================================================================================================ engine


class Renderer(Protocol):
    length: int
    click_enabled: bool
    voice_enabled: bool

    def render(self, start: int, out: np.ndarray) -> None: ...


class Swap:
    """A new renderer for the callback, valid from timeline sample `at` on (it equals the playing one
    before `at`, so the callback may take it at any block start up to `at`)."""

    __slots__ = ("at", "renderer", "seq")

    def __init__(self, seq: int, renderer: Renderer, at: int) -> None:
        self.seq = seq
        self.renderer = renderer
        self.at = at


class Engine:
    """The audio-thread side of the player. :meth:`callback` is the stream callback.

    Written by the main thread: ``want_pause``, ``want_stop``, ``pending``. Written by the callback:
    everything else (ints and the renderer reference it switches to)."""

    def __init__(
        self,
        renderer: Renderer,
        *,
        sample_rate: int,
        channels: int = 1,
        start: int = 0,
        buffer_frames: int = BUFFER_FRAMES,
        trace: bool = False,
    ) -> None:
        self.renderer = renderer
        self.channels = int(channels)
        self.pos = int(start)  # next timeline sample to render
        self.state = PLAYING
        self.want_pause = False
        self.want_stop = False
        self.pending: Swap | None = None
        self.applied_seq = 0
        self.rejected_seq = 0
        # counters (callback-written ints)
        self.callbacks = 0
        self.frames = 0  # frames handed to the device
        self.played = 0  # timeline samples played (not paused, not stopped)
        self.paused_frames = 0
        self.underflows = 0
        self.first_underflow = 0  # frames handed over when the first underflow was reported
        self.other_status = 0
        self.max_frames = 0
        self.error: BaseException | None = None
        self.trace = trace
        self.first_sound = 0.0  # time.time() of the first non-silent block (trace only)
        self.thread_id = 0  # native id of the thread that calls back (the main thread may raise its priority)
        fade = max(1, round(FADE_S * sample_rate))
        self._fade = fade
        steps = np.arange(1, fade + 1, dtype=np.float64) / fade
        self._up = np.ascontiguousarray(steps, dtype=np.float32)  # 1/F .. 1
        self._down = np.ascontiguousarray(1.0 - steps, dtype=np.float32)  # 1-1/F .. 0
        self._k = 0  # fade-out samples done
        self._j = 0  # fade-in samples done
        self._target = PAUSED
        self._buf = np.zeros(max(256, int(buffer_frames)), np.float32)

    @property
    def fade_frames(self) -> int:
        return self._fade

    # -- callback ---------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            self.callbacks += 1
            if not self.thread_id:
                self.thread_id = threading.get_native_id()
            if status:
                if status.output_underflow:
                    if not self.underflows:
                        self.first_underflow = self.frames
                    self.underflows += 1
                else:
                    self.other_status += 1
            if frames > self.max_frames:
                self.max_frames = frames
            p = self.pending
            if p is not None and p.seq > self.applied_seq and p.seq > self.rejected_seq:
                if p.at >= self.pos:
                    self.renderer = p.renderer
                    self.applied_seq = p.seq
                else:
                    self.rejected_seq = p.seq
            buf = self._buf
            size = len(buf)
            done = 0
            while done < frames:
                n = frames - done if frames - done < size else size
                mono = buf[:n]
                self._fill(mono, n)
                outdata[done : done + n] = mono[:, None]
                done += n
            self.frames += frames
            if self.trace and not self.first_sound and self.state != PAUSED and outdata.any():
                self.first_sound = time.time()
        except Exception as exc:  # never let an exception kill the stream silently
            self.error = exc
            outdata.fill(0)

    def _play(self, out: np.ndarray) -> None:
        self.renderer.render(self.pos, out)
        n = len(out)
        self.pos += n
        self.played += n

    def _fill(self, mono: np.ndarray, n: int) -> None:
        off = 0
        fade = self._fade
        while off < n:
            st = self.state
            if st == PLAYING:
                if self.want_stop or self.want_pause:
                    self.state, self._k = FADE_OUT, 0
                    self._target = STOPPED if self.want_stop else PAUSED
                    continue
                self._play(mono[off:])
                off = n
            elif st == FADE_OUT:
                if self._target == PAUSED:
                    if self.want_stop:
                        self._target = STOPPED
                    elif not self.want_pause:
                        self.state, self._j = FADE_IN, fade - self._k
                        continue
                k = self._k
                if k >= fade:
                    self.state = self._target
                    continue
                m = min(n - off, fade - k)
                seg = mono[off : off + m]
                self._play(seg)
                seg *= self._down[k : k + m]
                self._k = k + m
                off += m
            elif st == FADE_IN:
                if self.want_stop or self.want_pause:
                    self.state, self._k = FADE_OUT, fade - self._j
                    self._target = STOPPED if self.want_stop else PAUSED
                    continue
                j = self._j
                if j >= fade:
                    self.state = PLAYING
                    continue
                m = min(n - off, fade - j)
                seg = mono[off : off + m]
                self._play(seg)
                seg *= self._up[j : j + m]
                self._j = j + m
                off += m
            elif st == PAUSED:
                if self.want_stop:
                    self.state = STOPPED
                    continue
                if not self.want_pause:
                    self.state, self._j = FADE_IN, 0
                    continue
                mono[off:] = 0.0
                self.paused_frames += n - off
                off = n
            else:  # STOPPED
                mono[off:] = 0.0
                off = n


# ================================================================================================ timelines


def click_timeline(
    spm: int | Fraction,
    sample_rate: int,
    *,
    accent: int = 0,
    breathing: tuple[int, int] | None = None,
    hours: int = CLICK_HOURS,
) -> Timeline:
    """The metronome: one clicking step of `hours`, voice off, compiled like any workout."""
    from cadencecoach.core.timeline import compile_workout
    from cadencecoach.workout.model import Step, Workout
    from cadencecoach.workout.units import Extent

    cadence = Fraction(spm)
    seconds = Fraction(hours * 3600)
    step = Step(
        kind="run",
        extent=Extent("time", seconds, seconds, "s"),
        duration=seconds,
        label="Metronome",
        cadence=(cadence, cadence),
    )
    workout = Workout(
        name="Metronome", steps=(step,), cadence=(cadence, cadence), voice="off", total_duration=seconds, total_steps=1
    )
    options = CompileOptions(voice="off", click=True, accent=accent, breathing=breathing)
    return compile_workout(workout, sample_rate, {}, options)


LEAD_IN_TEXT = "Starting in"
LEAD_IN_GAP_S = 0.3


def lead_in_texts(name: str) -> set[str]:
    return {name, LEAD_IN_TEXT, "3", "2", "1"}


def make_pre_roll(name: str, speech: Mapping[str, np.ndarray], sample_rate: int) -> np.ndarray:
    """``<name>. Starting in 3, 2, 1``: the words 3, 2, 1 start 3, 2 and 1 s before time zero."""
    sr = int(sample_rate)
    gap = round(LEAD_IN_GAP_S * sr)
    head: list[np.ndarray] = []
    for text in (name, LEAD_IN_TEXT):
        audio = speech.get(text)
        if audio is not None and len(audio):
            head.append(np.asarray(audio, np.float32))
            head.append(np.zeros(gap, np.float32))
    head_len = sum(len(a) for a in head)
    out = np.zeros(head_len + 3 * sr, np.float32)
    at = 0
    for a in head:
        out[at : at + len(a)] = a
        at += len(a)
    for k, word in enumerate(("3", "2", "1")):
        audio = speech.get(word)
        if audio is None:
            continue
        audio = np.asarray(audio[: round(0.9 * sr)], np.float32)  # over before the next word
        start = head_len + k * sr
        out[start : start + len(audio)] += audio
    return out


def segment_index(segments: Sequence[Segment], t: Fraction) -> int | None:
    """Index of the segment playing at `t` seconds (start <= t < end), or None."""
    for i, seg in enumerate(segments):
        if seg.start <= t < seg.end:
            return i
    return None


def _cadence_in(seg: Segment, t: Fraction) -> Fraction:
    a, b = seg.cadence
    span = seg.end - seg.start
    if a == b or span <= 0:
        return a
    return a + (b - a) * (t - seg.start) / span


def cadence_now(timeline: Timeline, sample: int) -> float | None:
    """Tempo at `sample` (spm), from the segments, so it stays right after live cadence changes."""
    if not timeline.segments:
        return None
    t = Fraction(max(sample, 0), timeline.sample_rate)
    i = segment_index(timeline.segments, t)
    if i is None:
        return None
    return float(_cadence_in(timeline.segments[i], t))


def _clamp(c: Fraction) -> Fraction:
    return min(max(c, Fraction(CADENCE_MIN)), Fraction(CADENCE_MAX))


def change_cadence(segments: Sequence[Segment], now_s: Fraction, delta: int) -> list[Segment] | None:
    """Segments with the cadence of the step playing at `now_s` changed by `delta` from `now_s` on.

    The segment at `now_s` is split into ``[start, now)`` (unchanged) and ``[now, end)`` (``first=False``:
    no second announcement); later segments of the same step change too, other steps do not. None when
    nothing plays at `now_s` or the cadence is already at its limit."""
    i = segment_index(segments, now_s)
    if i is None:
        return None
    cur = segments[i]
    step = cur.flat.index
    c_now = _cadence_in(cur, now_s)
    if _clamp(c_now + delta) == c_now:
        return None
    out = list(segments[:i])
    a, b = cur.cadence
    if cur.start < now_s:
        out.append(replace(cur, end=now_s, cadence=(a, c_now)))
        out.append(replace(cur, start=now_s, cadence=(_clamp(c_now + delta), _clamp(b + delta)), first=False))
    else:
        out.append(replace(cur, cadence=(_clamp(a + delta), _clamp(b + delta))))
    for seg in segments[i + 1 :]:
        if seg.flat.index == step:
            out.append(replace(seg, cadence=(_clamp(seg.cadence[0] + delta), _clamp(seg.cadence[1] + delta))))
        else:
            out.append(seg)
    return out


def end_step(segments: Sequence[Segment], now_s: Fraction) -> tuple[list[Segment], int] | None:
    """Segments with the step playing at `now_s` ended at `now_s` and every later segment moved earlier
    by ``now_s - old_end`` (exact). Returns (segments, index of the step ended), or None."""
    i = segment_index(segments, now_s)
    if i is None:
        return None
    cur = segments[i]
    step = cur.flat.index
    last = i
    while last + 1 < len(segments) and segments[last + 1].flat.index == step:
        last += 1
    shift = now_s - segments[last].end
    # The step's own cues are all in the past now (the player keeps them from the playing timeline, cut at
    # `now`), so its segments carry no announcement here: a long one must not crowd out the next step's.
    out = [replace(seg, first=False) if seg.flat.index == step else seg for seg in segments[:i]]
    if cur.start < now_s:
        out.append(replace(cur, end=now_s, cadence=(cur.cadence[0], _cadence_in(cur, now_s)), first=False))
    for seg in segments[last + 1 :]:
        out.append(replace(seg, start=seg.start + shift, end=seg.end + shift))
    return out, step


def cut_cues(timeline: Timeline, at: int, fade: int) -> tuple[Timeline, int]:
    """The timeline with every cue still sounding at sample `at` cut to end there (a short fade-out before
    `at`). Returns it and the first sample where it differs from `timeline` (`at` if nothing was cut)."""
    cues: list[Cue] = []
    first = at
    for c in timeline.cues:
        if c.at < at < c.end:
            keep = at - c.at
            audio = c.audio
            if audio is not None:
                audio = np.array(audio[:keep], dtype=np.float32)
                f = min(fade, keep)
                if f > 0:
                    audio[keep - f :] *= np.linspace(1.0, 0.0, f, dtype=np.float32)
                first = min(first, at - f)
            cues.append(replace(c, length=keep, audio=audio))
        else:
            cues.append(c)
    return replace(timeline, cues=cues), first


def recompile(
    playing: Timeline,
    segments: Sequence[Segment],
    speech: Mapping[str, np.ndarray],
    voice_mode: str,
    at: int,
    *,
    cut: bool = False,
) -> tuple[Timeline, int]:
    """Compile `segments` and splice the result onto `playing` at sample `at`. Returns the new timeline
    and the first sample where it may differ from `playing` (the swap point)."""
    new = compile_segments(playing.name, segments, playing.sample_rate, speech, playing.options, voice_mode)
    base, first = cut_cues(playing, at, round(CUT_FADE_S * playing.sample_rate)) if cut else (playing, at)
    return splice(base, new, at=at), first


# ================================================================================================ player


@dataclass
class Summary:
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


class DeviceLost(Exception):
    pass


class _Terminated(Exception):
    pass


@dataclass
class PlayerConfig:
    mode: str  # "click" or "run"
    voice_mode: str = "off"
    pre_roll: int = 0  # samples of the spoken lead-in (before time zero)
    lead: int = 0  # samples of silence before the lead-in (see LEAD_S)
    margin_s: float = MARGIN_S
    show_live: bool | None = None  # None: when stdin and stdout are terminals
    keys: bool | None = None  # None: when stdin is a TTY
    trace: bool = False
    out: TextIO | None = None  # progress lines (stdout)
    err: TextIO | None = None  # summary (stderr)
    channels: int = 1  # of the stream (the mono block goes to each)
    realtime: bool = False  # ask for real-time scheduling of the callback thread (the commands do)


StreamFactory = Callable[[Callable[..., None]], Any]
RendererFactory = Callable[[Timeline], BlockRenderer]


class LivePlayer:
    """The main-thread side: commands, recompilation, display, faults, summary."""

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
        self._queue: deque[Command] = deque()
        self._posted: deque[Command] = deque()  # from other threads (see post)
        self._seq = 0
        self._inflight: tuple[Swap, Timeline, Command, float] | None = None
        self._latency = 0  # output latency in samples (display only)
        self.scheduling = "normal"  # of the callback thread: "realtime", "nice" or "normal"
        self.stream_threads: dict[int, str] = {}  # the stream's other threads (native id -> what they got)
        self._threads_before: set[int] = set()  # the process's threads before the stream was opened
        self._events: list[tuple[str, int]] = []  # (what, sample) for tests and logs
        self.recording: Any = None  # history: a history.progress.RunProgress when the run is recorded

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

    def post(self, command: Command) -> None:
        """Hand a command over from another thread; the main loop handles it (deque appends are atomic)."""
        self._posted.append(command)

    def process(self) -> None:
        """Finish the swap in flight (if the callback took or refused it), then run queued commands."""
        if self._inflight is not None and not self._settle():
            return
        while self._queue and self._inflight is None:
            self._run(self._queue.popleft())

    @property
    def busy(self) -> bool:
        return self._inflight is not None or bool(self._queue)

    def _settle(self) -> bool:
        """True when no swap is in flight any more."""
        assert self._inflight is not None
        swap, timeline, command, margin = self._inflight
        e = self.engine
        if e.applied_seq >= swap.seq:
            self.timeline = timeline
            self._inflight = None
            return True
        if e.rejected_seq >= swap.seq:  # too late: the callback played past `at`; try again later
            self._inflight = None
            self._run(command, margin * 2)
            return self._inflight is None
        return False

    def _run(self, command: Command, margin_s: float | None = None) -> None:
        e = self.engine
        if command is Command.PAUSE:
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
            renderers.append(self._inflight[0].renderer)  # type: ignore[arg-type]
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
        if now == self.engine.pos:  # paused: what a cut cue's fade-out would change was faded out already
            first = now
        renderer = self._renderer(timeline)
        self._seq += 1
        swap = Swap(self._seq, renderer, first)
        self._inflight = (swap, timeline, command, margin_s)
        if command is Command.SKIP:
            self.skipped.add(step)
        self._events.append((command.value, now))
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
        e = self.engine
        return e.pos >= e.renderer.length and not self.busy

    def summary(self) -> Summary:
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
        """Play until the end, `q`, Ctrl-C (KeyboardInterrupt re-raised after the summary) or a fault
        (AudioUnavailableError after the summary). Returns 0."""
        cfg = self.config
        err = cfg.err or sys.stderr
        interrupted = False
        terminated = False
        lost: str | None = None
        old_term = _on_sigterm()
        old_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # the callback waits less for the GIL while we recompile
        try:
            try:
                self._threads_before = thread_ids()
                self.stream = self._stream_factory(self.engine.callback)
                self.stream.start()
            except Exception as exc:
                _close(self.stream, abort=True)
                raise no_device_error(f"cannot start the audio output ({exc})") from None
            with contextlib.suppress(Exception):
                self._latency = round(float(self.stream.latency) * self.sample_rate)
            if self.recording is not None:  # history: the session's row, status "running"
                self.recording.start()
            try:
                self._loop()
            except (KeyboardInterrupt, _Terminated) as exc:
                interrupted = True
                terminated = isinstance(exc, _Terminated)
                self._fade_out()
            except DeviceLost as exc:
                lost = str(exc)
            if lost is None and not interrupted:
                self._fade_out()
            _close(self.stream, abort=lost is not None)
        finally:
            sys.setswitchinterval(old_switch)
            _restore_sigterm(old_term)
            if self.keys is not None:
                self.keys.restore()
            if self.recording is not None:  # history: completed, or stopped (q, Ctrl-C, SIGTERM, lost device)
                self.recording.end(
                    self.timeline.steps,
                    self.skipped,
                    self.engine.pos if self.finished else self.position(),
                    stopped_early=not self.finished,
                    underflows=self.engine.underflows,
                )
        if self.engine.underflows:
            first = self.engine.first_underflow / self.sample_rate
            print(
                f"warning: {self.engine.underflows} buffer underflow(s), the first {first:.1f} s in: the audio had"
                " gaps (a larger --latency helps)",
                file=err,
            )
        print(self.summary().line(), file=err, flush=True)
        if lost is not None:
            raise no_device_error(f"audio output lost: {lost}")
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
        display = _Display(self) if self._show_live() else _Lines(self)
        traced = False
        promoted = not self.config.realtime or bool(os.environ.get(NO_REALTIME_ENV))
        with display:
            while True:
                if self.keys is not None and self.keys.active:
                    for command in self.keys.read(POLL_S):
                        self.handle(command)
                else:
                    time.sleep(POLL_S)
                while self._posted:
                    self.handle(self._posted.popleft())
                self.process()
                if self.recording is not None:  # history: steps that ended, and a heartbeat
                    self.recording.update(self.timeline.steps, self.skipped, self.position())
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
                display.update()

    def _promote_stream_threads(self) -> None:
        """Real-time scheduling for the threads the audio stream started besides the callback thread: the
        audio reaches the server through them too (see the module doc). Only threads that appeared while the
        stream was opened and started (and still exist) are touched; nothing else in the process is."""
        if self.scheduling == "normal":
            return  # not even the callback thread could be raised
        for tid in sorted(thread_ids() - self._threads_before - {self.engine.thread_id}):
            self.stream_threads[tid] = raise_priority(tid)

    def _show_live(self) -> bool:
        if self.config.show_live is not None:
            return self.config.show_live
        # A dumb terminal (TERM=dumb, e.g. an editor's shell) cannot redraw a panel: rich would show nothing
        # until the end, so it gets the plain progress lines instead.
        dumb = os.environ.get("TERM", "") in DUMB_TERMINALS
        return bool(
            self.keys is not None and self.keys.active and (self.config.out or sys.stdout).isatty() and not dumb
        )


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


def _on_sigterm() -> Any:
    def handler(signum: int, frame: Any) -> None:
        raise _Terminated

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _restore_sigterm(old: Any) -> None:
    if old is not None:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, old)


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


# ================================================================================================ display


def _step_text(step: TimedStep) -> str:
    from cadencecoach.workout.units import format_pace_per_km

    text = step.label
    if step.rep:
        text += f" {step.rep[0]} of {step.rep[1]}"
    extra = []
    if step.pace_s_per_km is not None:
        extra.append((f"{step.pace_name} " if step.pace_name else "") + format_pace_per_km(step.pace_s_per_km))
    if step.effort:
        extra.append(step.effort)
    if extra:
        text += " — " + ", ".join(extra)
    return text


@dataclass
class Snapshot:
    """What the display shows, read once per refresh from the player (main thread)."""

    name: str
    mode: str
    pos: int
    sample_rate: int
    step: TimedStep | None
    next_step: TimedStep | None
    cadence: float | None
    elapsed: float
    remaining: float
    lead_in_left: float
    paused: bool
    click_muted: bool
    voice_muted: bool
    clicks: int
    underflows: int


def snapshot(player: LivePlayer) -> Snapshot:
    tl = player.timeline
    sr = tl.sample_rate
    pos = player.position()
    step = tl.step_at(pos)
    nxt = None
    if step is not None:
        i = tl.steps.index(step)
        nxt = tl.steps[i + 1] if i + 1 < len(tl.steps) else None
    elif pos < 0 and tl.steps:
        nxt = tl.steps[0]
    e = player.engine
    return Snapshot(
        name=tl.name,
        mode=player.config.mode,
        pos=pos,
        sample_rate=sr,
        step=step,
        next_step=nxt,
        cadence=cadence_now(tl, pos) if step is not None and step.click else None,
        elapsed=max(pos, 0) / sr,
        remaining=max(tl.end - max(pos, 0), 0) / sr,
        lead_in_left=max(-pos, 0) / sr,
        paused=e.want_pause,
        click_muted=not player.click_enabled,
        voice_muted=not player.voice_enabled,
        clicks=int(np.searchsorted(tl.clicks, pos, side="left")),
        underflows=e.underflows,
    )


def render_snapshot(s: Snapshot) -> Any:
    """A rich renderable of the snapshot."""
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    from cadencecoach.workout.units import format_clock

    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="dim")
    grid.add_column()
    sr = s.sample_rate
    if s.lead_in_left > 0:
        grid.add_row("starting", Text(f"in {s.lead_in_left:.0f} s", style="bold"))
    elif s.step is not None:
        left = max(s.step.end - s.pos, 0) / sr
        total = max(s.step.end - s.step.start, 1)
        if s.mode == "click":
            grid.add_row("metronome", Text(f"{format_clock(s.elapsed)}  ·  {s.clicks} clicks", style="bold"))
        else:
            grid.add_row("step", Text(_step_text(s.step), style="bold"))
            bar = Table.grid(padding=(0, 1))
            bar.add_column(width=40)
            bar.add_column()
            bar.add_row(
                ProgressBar(total=total, completed=min(max(s.pos - s.step.start, 0), total), width=40),
                f"{format_clock(left)} left",
            )
            grid.add_row("", bar)
    else:
        grid.add_row("step", Text("finished", style="bold"))
    if s.cadence is not None:
        grid.add_row("cadence", Text(f"{s.cadence:.0f} spm", style="bold cyan"))
    elif s.step is not None:
        grid.add_row("cadence", Text("no click", style="dim"))
    if s.mode != "click":
        if s.next_step is not None:
            length = format_clock(float(s.next_step.end_s - s.next_step.start_s))
            grid.add_row("next", f"{_step_text(s.next_step)} ({length})")
        grid.add_row("time", f"{format_clock(s.elapsed)} elapsed  ·  {format_clock(s.remaining)} to go")
    flags = []
    if s.paused:
        flags.append("[bold yellow]PAUSED[/]")
    if s.click_muted:
        flags.append("[yellow]click muted[/]")
    if s.voice_muted:
        flags.append("[yellow]voice muted[/]")
    if s.underflows:
        flags.append(f"[red]{s.underflows} underflows[/]")
    if flags:
        grid.add_row("", "  ".join(flags))
    grid.add_row("keys", Text(HELP, style="dim"))
    return Panel(grid, title=f"[bold]{s.name}[/]", expand=False)


class _Display:
    """rich.live.Live in the main thread (refreshed by :meth:`update`, REFRESH_HZ times a second)."""

    def __init__(self, player: LivePlayer) -> None:
        from rich.console import Console
        from rich.live import Live

        self.player = player
        out = player.config.out
        console = Console(file=out, force_terminal=True) if out is not None else Console()
        self._live = Live(
            render_snapshot(snapshot(player)),
            console=console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._next = 0.0

    def __enter__(self) -> _Display:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._live.update(render_snapshot(snapshot(self.player)), refresh=True)
        self._live.__exit__(None, None, None)

    def update(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 1.0 / REFRESH_HZ
        self._live.update(render_snapshot(snapshot(self.player)), refresh=True)


class _Lines:
    """Without a terminal: one line per step change, and one every PROGRESS_EVERY_S seconds."""

    def __init__(self, player: LivePlayer) -> None:
        self.player = player
        self.out = player.config.out or sys.stdout
        self._step: int | None = None
        self._next_tick = float(PROGRESS_EVERY_S)
        self._paused = False

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _print(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.out, flush=True)

    def update(self) -> None:
        from cadencecoach.workout.units import format_clock

        s = snapshot(self.player)
        if s.pos < 0:
            return
        cadence = f", {s.cadence:.0f} spm" if s.cadence is not None else ""
        clock = format_clock(s.elapsed)
        if s.paused != self._paused:
            self._paused = s.paused
            self._print(f"[{clock}] {'paused' if s.paused else 'resumed'}")
        index = s.step.index if s.step is not None else None
        if index != self._step:
            self._step = index
            if s.step is not None:
                if s.mode == "click":
                    self._print(f"[{clock}] metronome{cadence}")
                else:
                    length = format_clock(float(s.step.end_s - s.step.start_s))
                    self._print(f"[{clock}] {_step_text(s.step)} ({length}){cadence}")
            self._next_tick = s.elapsed + PROGRESS_EVERY_S
        elif s.elapsed >= self._next_tick:
            self._next_tick += PROGRESS_EVERY_S
            if s.mode == "click":
                self._print(f"[{clock}] {s.clicks} clicks{cadence}")
            elif s.step is not None:
                left = format_clock(max(s.step.end - s.pos, 0) / s.sample_rate)
                self._print(f"[{clock}] {s.step.label}: {left} left{cadence}, {format_clock(s.remaining)} to go")


# ================================================================================================ commands


@dataclass(frozen=True)
class LiveOptions:
    device: str | None = None
    latency: str | None = None
    sample_rate: int | None = None
    block_size: int = 0


def open_output(options: LiveOptions) -> tuple[Any, OutputDevice, int, str | float]:
    """sounddevice, the chosen device, the sample rate and the latency; exit 3 at once without a device."""
    latency = parse_latency(options.latency)
    sd = load_sounddevice()
    device = select_device(sd, options.device)
    rate = options.sample_rate or round(device.default_samplerate) or 44100
    check_settings(sd, device, rate)
    return sd, device, rate, latency


def stream_factory(sd: Any, device: OutputDevice, rate: int, latency: str | float, block_size: int) -> StreamFactory:
    def make(callback: Callable[..., None]) -> Any:
        return sd.OutputStream(
            samplerate=rate,
            blocksize=block_size,
            device=device.index,
            channels=device.stream_channels,
            dtype="float32",
            latency=latency,
            callback=callback,
        )

    return make


def _keys() -> KeyReader:
    return KeyReader(sys.stdin)


def _trace_enabled() -> bool:
    return os.environ.get(TRACE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def _sigint_default() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt even if the parent started us with SIGINT ignored."""
    try:
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, old)


def play_click(
    spm: int,
    *,
    sound: str = "woodblock",
    accent: int = 0,
    breathing: str | None = None,
    volume: float = 1.0,
    live: LiveOptions | None = None,
) -> int:
    """``cadencecoach click``."""
    live = live or LiveOptions()
    if not CADENCE_MIN <= spm <= CADENCE_MAX:
        raise UsageError(f"SPM must be between {CADENCE_MIN} and {CADENCE_MAX} (got {spm})")
    breath = parse_breathing(breathing)
    with _sigint_default():
        sd, device, rate, latency = open_output(live)
        timeline = click_timeline(spm, rate, accent=accent, breathing=breath)
        renderer_for = _click_renderers(sound, volume)
        first = renderer_for(timeline)  # an unknown --sound is exit 2 before the stream opens
        config = PlayerConfig(
            mode="click",
            lead=round(LEAD_S * rate),
            trace=_trace_enabled(),
            channels=device.stream_channels,
            realtime=True,
        )
        with _keys() as keys:
            player = LivePlayer(
                timeline,
                renderer_for,
                stream_factory(sd, device, rate, latency, live.block_size),
                config,
                keys=keys,
                renderer=first,
            )
            return player.play()


def _click_renderers(sound: str, volume: float) -> RendererFactory:
    """Like session.make_renderer for a voiceless timeline, without importing the workout loader."""
    from cadencecoach.core.sounds import load_bank

    def build(timeline: Timeline) -> BlockRenderer:
        try:
            bank = load_bank(sound, timeline.sample_rate)
        except ValueError as exc:
            raise UsageError(f"--sound: {exc}") from None
        return BlockRenderer(timeline, bank, volume=volume)

    return build


def _renderer_factory(audio: Any, pre_roll: np.ndarray | None, make: Callable[..., BlockRenderer]) -> RendererFactory:
    def build(timeline: Timeline) -> BlockRenderer:
        return make(timeline, audio, pre_roll)

    return build


def play_workout(
    workout_arg: str,
    *,
    paces: list[str] | None,
    trial: str | None,
    options: CompileOptions,
    audio_settings: Callable[[int], Any],
    warn: Callable[[str], None] | None,
    live: LiveOptions | None = None,
) -> int:
    """``cadencecoach run``: load, find the output (exit 3 at once without one), synthesize every cue and
    the lead-in (cached), compile, play."""
    from cadencecoach import pipeline as session
    from cadencecoach.core.timeline import compile_workout, cue_texts

    live = live or LiveOptions()
    with _sigint_default():
        from cadencecoach.workout.formats._common import for_live

        workout = for_live(session.load(workout_arg, paces, trial))  # open ("press lap") steps end on n
        sd, device, rate, latency = open_output(live)
        audio = audio_settings(rate)
        voice_mode = options.voice or workout.voice
        texts = set(cue_texts(workout, options))
        lead_in = voice_mode != "off"
        if lead_in:
            texts |= lead_in_texts(workout.name)
        speech = session.speech_for(texts, rate, audio.voice, warn)
        timeline = compile_workout(workout, rate, speech, options)
        pre_roll = make_pre_roll(workout.name, speech, rate) if lead_in else None
        renderer_for = _renderer_factory(audio, pre_roll, session.make_renderer)
        first = renderer_for(timeline)
        config = PlayerConfig(
            mode="run",
            voice_mode=voice_mode,
            pre_roll=0 if pre_roll is None else len(pre_roll),
            lead=round(LEAD_S * rate),
            trace=_trace_enabled(),
            channels=device.stream_channels,
            realtime=True,
        )
        with _keys() as keys:
            player = LivePlayer(
                timeline,
                renderer_for,
                stream_factory(sd, device, rate, latency, live.block_size),
                config,
                speech,
                keys=keys,
                renderer=first,
            )
            from cadencecoach.history.progress import RunProgress  # history: record this run (docs/HISTORY.md)

            player.recording = RunProgress.for_run(workout, timeline, warn)
            return player.play()


def print_devices(out: TextIO | None = None) -> None:
    """``cadencecoach devices``: index, name, channels, default rate, default marker."""
    from rich.console import Console
    from rich.table import Table

    sd = load_sounddevice()
    devices = output_devices(sd)
    if not devices:
        raise no_device_error()
    console = Console(file=out) if out is not None else Console()
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, justify in (("", "left"), ("index", "right"), ("name", "left"), ("channels", "right"),
                         ("default rate", "right"), ("host API", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d in devices:
        table.add_row(
            "*" if d.is_default else "",
            str(d.index),
            d.name,
            str(d.channels),
            f"{d.default_samplerate:g} Hz",
            d.hostapi,
        )
    console.print(table)
    console.print("[dim]* default output; choose one with --device NAME-FRAGMENT or --device INDEX[/]")
