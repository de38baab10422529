"""The audio-thread side of the live player: :meth:`Engine.callback` is the output stream's callback.

The callback's rules (it runs on PortAudio's thread, with a deadline of one block):
  - no I/O, no logging, no locks held by slow code, no sleeping;
  - no avoidable allocation: it renders into a preallocated mono buffer (views of it are the only new
    objects) and copies that to every channel;
  - NOTHING FREED THERE: the callback never drops the last reference to anything big. A renderer it swaps out
    goes to the :attr:`Engine.retired` slot and the main thread takes it (:meth:`Engine.take_retired`), so
    its arrays are freed on the main thread;
  - it only *writes ints* (position, counters, state) and the renderer references it switches, and reads a
    few attributes the main thread writes (``want_pause``, ``want_stop`` and ``pending``, a :class:`Swap`
    handed over with one reference assignment).

Timing comes only from counting samples: the callback owns the timeline position ``pos`` and advances it by
the frames it renders. Pause/resume/stop is a ~20 ms fade done here.

Besides the timeline, the callback mixes:
  - an :class:`Overlay`: a spoken confirmation ("Paused", "Cadence 188") handed over like a swap, played
    from its first sample whatever the timeline does (paused included), the timeline ducked under it by the
    overlay's own precomputed gain curve; the main thread takes it back once played (:meth:`take_spent`);
  - the volume: ``gain_target`` (main thread) approached over a fade (no click when it changes);
  - the keep-awake floor (``keep_awake``): noise at -66 dBFS, so a Bluetooth sink that powers down on
    digital silence does not swallow the first syllable of the next cue.

Each output stream gets its own callback (:meth:`Engine.callback_for`): after a lost device is reopened, a
late call from the old stream (its close abandoned) writes silence and touches nothing.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

FADE_S = 0.02  # pause/resume/stop fade
BUFFER_FRAMES = 1 << 14  # callback's preallocated mono buffer (larger blocks are rendered in pieces)
KEEP_AWAKE_DBFS = -66.0  # the keep-awake noise floor (inaudible under headphones; not digital silence)
KEEP_AWAKE_FRAMES = 1 << 15  # its loop (0.7 s at 44.1 kHz)
OVERLAY_DUCK_DB = -12.0  # the timeline under a spoken confirmation

PLAYING, FADE_OUT, PAUSED, FADE_IN, STOPPED = range(5)


class Renderer(Protocol):
    """What the callback plays: ``render(start, out)`` fills `out` with the samples from `start` on."""

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


class Overlay:
    """A spoken confirmation for the callback: `audio` (float32 mono) mixed from its first sample, the
    timeline multiplied by `duck` (same length, 1.0 at both ends: the ramps are in it) while it plays. Built
    by the main thread (:func:`make_overlay`); the callback only reads it and advances ``done``."""

    __slots__ = ("audio", "done", "duck", "seq", "text")

    def __init__(self, seq: int, audio: np.ndarray, duck: np.ndarray, text: str = "") -> None:
        self.seq = seq
        self.audio = audio
        self.duck = duck
        self.text = text
        self.done = 0  # samples played (callback-written)


def make_overlay(
    seq: int, audio: np.ndarray, sample_rate: int, text: str = "", duck_db: float = OVERLAY_DUCK_DB
) -> Overlay:
    """An :class:`Overlay` of `audio`, the timeline ducked by `duck_db` under it (20 ms ramps; the words start
    once the timeline is down).

    Examples
    --------
    >>> o = make_overlay(1, np.ones(100, np.float32), 1000)
    >>> len(o.audio), len(o.duck), float(o.duck[0]), round(float(o.duck[50]), 3), float(o.duck[-1])
    (140, 140, 1.0, 0.251, 1.0)
    """
    sr = int(sample_rate)
    ramp = max(1, round(FADE_S * sr))
    lead = ramp
    words = np.asarray(audio, np.float32)
    padded = np.zeros(lead + len(words) + ramp, np.float32)
    padded[lead : lead + len(words)] = words
    depth = np.float32(10 ** (duck_db / 20))
    duck = np.full(len(padded), depth, np.float32)
    up = np.linspace(1.0, float(depth), min(ramp, len(padded)), dtype=np.float32)
    duck[: len(up)] = up
    duck[-len(up) :] = up[::-1]
    duck[0] = duck[-1] = 1.0
    return Overlay(seq, padded, duck, text)


def keep_awake_noise(sample_rate: int, dbfs: float = KEEP_AWAKE_DBFS, frames: int = KEEP_AWAKE_FRAMES) -> np.ndarray:
    """The keep-awake floor's loop: white noise at `dbfs` (RMS), seeded (the same every run), zero-mean.

    Examples
    --------
    >>> x = keep_awake_noise(44100)
    >>> round(20 * float(np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))))
    -66
    """
    rng = np.random.default_rng(1234)
    noise = rng.standard_normal(int(frames))
    noise -= noise.mean()
    noise *= 10 ** (dbfs / 20) / np.sqrt(np.mean(noise**2))
    return np.ascontiguousarray(noise, dtype=np.float32)


class Engine:
    """The audio-thread side of the player. :meth:`callback` is the stream callback.

    Written by the main thread: ``want_pause``, ``want_stop``, ``pending`` (and ``retired`` back to None,
    through :meth:`take_retired`). Written by the callback: everything else (ints, the renderer reference it
    switches to, and ``retired``: the renderer it switched from, which the callback must not free).

    Parameters
    ----------
    renderer : Renderer
        What to play first.
    sample_rate : int
        Samples per second (sets the fade length).
    channels : int, optional
        Channels of the stream; the mono block goes to each.
    start : int, optional
        The first timeline sample (negative: a lead-in before time zero).
    buffer_frames : int, optional
        Size of the preallocated mono buffer; larger blocks are rendered in pieces.
    trace : bool, optional
        Record the wall time of the first audible block (``first_sound``).
    """

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
        self.retired: Renderer | None = None  # swapped out by the callback; freed by the main thread
        self.overlay_pending: Overlay | None = None  # main thread -> callback (one reference assignment)
        self.overlay: Overlay | None = None  # playing (callback-written)
        self.spent: Overlay | None = None  # played or replaced: the main thread drops it (take_spent)
        self.overlay_seq = 0  # the last overlay taken (callback-written)
        self.gain_target = 1.0  # the volume (main thread)
        self.gain = 1.0  # the volume applied (callback)
        self.keep_awake: np.ndarray | None = None  # the floor's loop (main thread sets it before the stream starts)
        self._awake_at = 0
        self.stream_id = 0  # the stream whose callback may play (main thread; see callback_for)
        self.stopped_frames = -1  # frames handed over when the fade-out reached STOPPED
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
        self._scratch = np.zeros(len(self._buf), np.float32)  # gain ramps, overlay ducking
        self._stop_k = 0  # samples of an overlay faded out since the stop
        self._gain_to, self._gain_from, self._gain_k = 1.0, 1.0, fade  # the volume fade: target, start, done

    @property
    def fade_frames(self) -> int:
        """Samples of a pause/resume/stop fade."""
        return self._fade

    def take_retired(self) -> Renderer | None:
        """Main thread: take the renderer the callback swapped out (the caller drops it: freed here, on the
        main thread). The callback fills the slot only while it is empty, so this never races with it."""
        r = self.retired
        if r is not None:
            self.retired = None
        return r

    def resume_at(self, pos: int) -> None:
        """Main thread, while no stream calls back (a lost one abandoned, the next not started): go on from
        timeline sample `pos` with a fade-in from silence (unless paused or stopping)."""
        self.pos = int(pos)
        if self.state not in (PAUSED, STOPPED):
            self.state, self._j = FADE_IN, 0

    def take_spent(self) -> Overlay | None:
        """Main thread: take the overlay the callback is done with (it fills the slot only while empty)."""
        o = self.spent
        if o is not None:
            self.spent = None
        return o

    def callback_for(self, stream_id: int) -> Any:
        """The callback for one output stream: it plays while ``self.stream_id == stream_id`` (the main
        thread moves ``stream_id`` on when it abandons a stream), else it writes silence."""

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if self.stream_id != stream_id:
                outdata.fill(0)
                return
            self.callback(outdata, frames, time_info, status)

        return callback

    # -- callback ---------------------------------------------------------------------------
    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """The stream callback: fill `outdata` (frames x channels) from the position on."""
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
                if p.at < self.pos:
                    self.rejected_seq = p.seq
                elif self.retired is None:  # else: the main thread has not taken the last one yet; next block
                    self.retired = self.renderer  # never the last reference: the main thread frees it
                    self.renderer = p.renderer
                    self.applied_seq = p.seq
            o = self.overlay_pending
            if o is not None and o.seq > self.overlay_seq and self.spent is None:
                if self.overlay is not None:
                    self.spent = self.overlay  # never the last reference: the main thread drops it
                self.overlay = o
                self.overlay_seq = o.seq
            buf = self._buf
            size = len(buf)
            done = 0
            while done < frames:
                n = frames - done if frames - done < size else size
                mono = buf[:n]
                self._fill(mono, n)
                if self.overlay is not None:
                    self._mix_overlay(mono, n)
                if self.gain != 1.0 or self.gain_target != 1.0:
                    self._apply_gain(mono, n)
                if self.keep_awake is not None:
                    self._add_floor(mono, n)
                for c in range(outdata.shape[1]):  # a channel at a time: numpy keeps the GIL (<= 500 elements)
                    outdata[done : done + n, c] = mono
                done += n
            if self.state == STOPPED and self.stopped_frames < 0:
                self.stopped_frames = self.frames
            self.frames += frames
            if self.trace and not self.first_sound and self.state != PAUSED and outdata.any():
                self.first_sound = time.time()
        except Exception as exc:  # never let an exception kill the stream silently
            self.error = exc
            outdata.fill(0)

    def _mix_overlay(self, mono: np.ndarray, n: int) -> None:
        o = self.overlay
        assert o is not None
        k = o.done
        m = min(n, len(o.audio) - k)
        if self.want_stop:  # stopping: the words fade out with the rest (over one fade), then end
            m = min(m, self._fade - self._stop_k)
        if m > 0:
            seg = mono[:m]
            seg *= o.duck[k : k + m]
            if self.want_stop:
                words = self._scratch[:m]
                np.multiply(o.audio[k : k + m], self._down[self._stop_k : self._stop_k + m], out=words)
                seg += words
                self._stop_k += m
            else:
                seg += o.audio[k : k + m]
            o.done = k + m
        finished = o.done >= len(o.audio) or (self.want_stop and self._stop_k >= self._fade)
        if finished and self.spent is None:
            self.spent = o
            self.overlay = None

    def _apply_gain(self, mono: np.ndarray, n: int) -> None:
        g1 = float(self.gain_target)
        if self.gain == g1:
            mono *= np.float32(g1)
            return
        if g1 != self._gain_to:  # a new target: one linear fade from the gain applied now (across blocks)
            self._gain_to, self._gain_from, self._gain_k = g1, self.gain, 0
        g0, k, fade = self._gain_from, self._gain_k, len(self._up)  # the volume fades along the same 1/F .. 1
        m = min(n, fade - k)
        ramp = self._scratch[:m]
        np.multiply(self._up[k : k + m], np.float32(g1 - g0), out=ramp)
        ramp += np.float32(g0)
        mono[:m] *= ramp
        if n > m:
            mono[m:] *= np.float32(g1)
        self._gain_k = k + m
        self.gain = g1 if self._gain_k >= fade else g0 + (g1 - g0) * self._gain_k / fade

    def _add_floor(self, mono: np.ndarray, n: int) -> None:
        noise = self.keep_awake
        assert noise is not None
        at, size, off = self._awake_at, len(noise), 0
        while off < n:
            m = min(n - off, size - at)
            mono[off : off + m] += noise[at : at + m]
            off += m
            at = (at + m) % size
        self._awake_at = at

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
