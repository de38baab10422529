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
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

import numpy as np

FADE_S = 0.02  # pause/resume/stop fade
BUFFER_FRAMES = 1 << 14  # callback's preallocated mono buffer (larger blocks are rendered in pieces)

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
        """Samples of a pause/resume/stop fade."""
        return self._fade

    def take_retired(self) -> Renderer | None:
        """Main thread: take the renderer the callback swapped out (the caller drops it: freed here, on the
        main thread). The callback fills the slot only while it is empty, so this never races with it."""
        r = self.retired
        if r is not None:
            self.retired = None
        return r

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
