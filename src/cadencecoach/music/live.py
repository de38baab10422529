"""``run WORKOUT --music``: the music bed of :mod:`.bed`, prepared live, ahead of the playhead, in a worker.

The audio callback reads the music through :class:`~cadencecoach.core.renderer.MusicBed` (ducked under the coach
like ``render --music``) from :meth:`LiveMusic.read`, which only copies from a preallocated ring buffer: no lock,
no allocation but a few views, no I/O, no logging, never a wait. Everything else happens in one worker thread
(plus a small pool for Rubber Band, which releases the GIL): planning (:func:`.bed.replan`), decoding,
stretching, the true-peak limiter.

The ring
    ``RING`` samples (``ahead_s + behind_s`` and a guard) of mono float32 music, indexed by timeline sample
    modulo its size. The worker keeps it filled to ``ahead_s`` past the callback's last read position (an int
    the callback publishes), in chunks of at most ``guard`` samples; what it holds is published as one
    ``(lo, hi)`` tuple (one reference assignment): samples ``[lo, hi)`` are there. A chunk written at ``hi``
    overwrites the samples ``RING`` earlier, so the callback treats only ``[max(lo, hi - RING + guard), hi)`` as
    readable. Samples the callback asks for that are not there (not ready yet, or overwritten) are zeros, and
    counted in :attr:`LiveMusic.misses` (reads) and :attr:`LiveMusic.missed` (samples).

Live changes
    :meth:`LiveMusic.retarget` (main thread, from the player's renderer factory) hands the new timeline over. The
    worker replans from ``switch`` = the last read position + a lead long enough to render it (measured: the time
    the last change took to render its first block, scaled by how far into its song the music is, since a song
    is decoded from its start; at least ``lead_s``), renders the new plan from a little before the switch, and
    crossfades (``crossfade_s``) from the ring's old content to the new at the switch. It writes only past what
    the callback may be reading: first the published ``hi`` is lowered to the switch (the callback can then read
    only before it), and if the playhead has come too close meanwhile the switch moves later. A timeline whose
    clicks, steps and end equal the one playing (the voice-mute view) changes nothing. Paused, the read position
    stops and the ring just waits. A read far outside the ring (a stream reopened from an earlier sample, a
    seek) makes the worker render again from there.

Nothing is freed in the callback: the ring is never replaced; plans, streams and blocks are dropped by the
worker. :meth:`LiveMusic.close` stops the worker and the pool (joined, in bounded time).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadencecoach.core.timeline import Timeline

if TYPE_CHECKING:
    from cadencecoach.music.bed import BedPlan

__all__ = ["LiveMusic", "MusicStats", "prepare_live_music", "same_beats"]

AHEAD_S = 7.0  # the ring is kept filled this far past the last read
BEHIND_S = 3.0  # ... and keeps about this much before it (a stream reopened a little earlier finds it there)
GUARD_S = 0.25  # the most the worker writes in one go (the part of the ring the callback treats as unsafe)
REFILL_S = 0.5  # the worker tops the ring up once it is this much short of AHEAD_S
LEAD_S = 0.3  # a change takes effect at least this far past the last read
MAX_LEAD_S = 3.0  # ... and at most this far (later if the render is slower: the switch moves)
EPSILON_S = 0.05  # the new plan is rendered from this long before the switch (the limiter and stretcher settle)
CROSSFADE_S = 0.04  # old music to new at the switch
SAFETY_S = 0.15  # never write closer than this past the last read position
AFTER_S = 0.5  # a change is spliced in once this much of the new music past the switch is rendered
SEEK_S = 1.0  # a read this far past the ring's end (or before its start) renders again from there
CHUNK_S = 0.25  # the limiter is fed this much at a time (GIL held ~4 ms at most)
IDLE_S = 0.1  # the worker's wake-up period when there is nothing to do
NICE = 5  # the worker's threads run this much nicer than the process (the callback comes first)
PIECE_COST_S = 8.0  # the fixed part of a render's first block, in seconds of song (one stretched piece)


def same_beats(a: Timeline, b: Timeline) -> bool:
    """Whether two timelines put the same music under them: the same clicks, steps and end (the voice-mute view
    of a timeline is the same; a cadence change, a skip or a replayed step is not)."""
    if a is b:
        return True
    return (
        a.sample_rate == b.sample_rate
        and a.end == b.end
        and a.length == b.length
        and a.steps == b.steps
        and np.array_equal(a.clicks, b.clicks)
    )


class MusicStats:
    """What the worker did, for the run's report and the measurements (worker-written, read anywhere)."""

    def __init__(self) -> None:
        self.worker_cpu = 0.0  # CPU seconds of the worker thread
        self.pool_cpu = 0.0  # ... and of the Rubber Band pool's threads
        self.ahead_sum = 0.0  # seconds rendered past the read position, summed over the worker's looks
        self.ahead_min = math.inf  # ... the least seen while playing (after the ring was first full)
        self.ahead_looks = 0
        self.changes = 0  # retargets that changed the music
        self.ignored = 0  # retargets that did not (the same beats)
        self.render_lags: list[float] = []  # seconds from a retarget to its first block rendered
        self.switch_leads: list[float] = []  # seconds from the read position to the switch, when spliced in
        self.follow_lags: list[float] = []  # seconds from the read position when the change was asked to the switch
        self.restarts = 0  # renders from a read far outside the ring

    @property
    def ahead_mean(self) -> float:
        return self.ahead_sum / self.ahead_looks if self.ahead_looks else 0.0

    def line(self, played_s: float) -> str:
        """One line for a trace: CPU, the ring's lead, the changes followed."""
        cpu = self.worker_cpu + self.pool_cpu
        share = 100.0 * cpu / played_s if played_s > 0 else 0.0
        lags = ", ".join(f"{x * 1000:.0f}" for x in self.render_lags) or "-"
        leads = ", ".join(f"{x * 1000:.0f}" for x in self.switch_leads) or "-"
        follow = ", ".join(f"{x * 1000:.0f}" for x in self.follow_lags) or "-"
        low = self.ahead_min if math.isfinite(self.ahead_min) else 0.0
        return (
            f"music: worker {cpu:.2f} s CPU ({share:.1f} % of one core over {played_s:.0f} s; pool {self.pool_cpu:.2f}"
            f" s), ring ahead {self.ahead_mean:.1f} s on average (least {low:.1f} s), {self.changes} changes"
            f" followed ({self.ignored} ignored), first block rendered {lags} ms after each, the new music {follow} ms"
            f" past the read position when each was asked ({leads} ms when it was spliced in), {self.restarts} restarts"
        )


class LiveMusic:
    """The live player's :class:`~cadencecoach.core.renderer.MusicSource` (see the module doc).

    Parameters
    ----------
    plan : BedPlan
        The music planned under `timeline` (:func:`.bed.plan_bed`).
    timeline : Timeline
        The timeline playing first.
    glide_beats : int
        The tempo glide of the replans (``--glide``).
    workers : int
        Rubber Band threads (1-2).

    Call :meth:`start`, then :meth:`wait_ready` before the stream opens; :meth:`close` at the end.
    """

    def __init__(
        self,
        plan: BedPlan,
        timeline: Timeline,
        *,
        glide_beats: int = 4,
        workers: int = 2,
        ahead_s: float = AHEAD_S,
        behind_s: float = BEHIND_S,
        lead_s: float = LEAD_S,
        crossfade_s: float = CROSSFADE_S,
    ) -> None:
        rate = timeline.sample_rate
        self.rate = rate
        self._plan = plan
        self._timeline = timeline  # the one the ring's music follows (worker)
        self._target = timeline  # the last handed over (main thread)
        self._pending: Timeline | None = None  # main thread -> worker (one reference assignment)
        self._asked: tuple[Timeline, int] | None = None  # the last handed over, and the read position then
        self._glide = int(glide_beats)
        self._workers = max(1, min(int(workers), 2))
        self.ahead = round(ahead_s * rate)
        self.guard = round(GUARD_S * rate)
        self.refill = round(REFILL_S * rate)
        self.size = self.ahead + round(behind_s * rate) + 2 * self.guard
        self.lead = round(lead_s * rate)
        self.max_lead = max(self.lead, round(MAX_LEAD_S * rate))
        self.crossfade = max(1, round(crossfade_s * rate))
        self.epsilon = round(EPSILON_S * rate)
        self.safety = round(SAFETY_S * rate)
        self.after = max(round(AFTER_S * rate), self.crossfade)
        self.seek = round(SEEK_S * rate)
        self._length_s = timeline.length / rate
        # the callback's side: the ring and a few ints
        self._ring = np.zeros(self.size, np.float32)
        self._span: tuple[int, int] = (0, 0)  # samples [lo, hi) are in the ring (worker-published)
        self.read_to = 0  # the end of the last read (callback-published)
        self.reads = 0
        self.misses = 0  # reads that lacked samples (zeros instead)
        self.missed = 0  # samples missed
        # the worker's side
        self.stats = MusicStats()
        self.error: BaseException | None = None
        self._stream: Generator[tuple[int, np.ndarray], None, None] | None = None
        self._taken: Timeline | None = None  # the last pending timeline the worker took
        self._timing: tuple[float, float] | None = None  # (when, song seconds) of a render's start
        self._carry: tuple[int, np.ndarray] | None = None  # a block rendered, not all written yet
        self._silent_from: int | None = None  # the stream ended (or failed): silence from here
        self._per_song_s = 0.0  # render seconds per second into the song (see _predicted_lag)
        self._filled_once = False
        self._idle = False  # the worker is waiting for something to do
        self._stop = False
        self._wake = threading.Event()
        self._lock = threading.Lock()  # the pool's CPU counter (never taken by the callback)
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    # -- the callback's side ------------------------------------------------------------------
    def read(self, start: int, out: np.ndarray) -> None:
        """Fill `out` with music samples ``[start, start + len(out))``: a copy from the ring, zeros for what is
        not there (counted as a miss). Called from the audio callback: no lock, no I/O, no allocation."""
        n = len(out)
        end = start + n
        self.read_to = end  # published first: the worker writes only past it
        self.reads += 1
        lo, hi = self._span
        floor = hi - self.size + self.guard  # below it, slots may be being overwritten
        if floor < lo:
            floor = lo
        if floor < 0:
            floor = 0
        a = start if start > floor else floor
        b = end if end < hi else hi
        if b <= a:
            out.fill(0.0)
            got = 0
        else:
            if a > start:
                out[: a - start].fill(0.0)
            if b < end:
                out[b - start :].fill(0.0)
            i = a % self.size
            m = b - a
            ring = self._ring
            if i + m <= self.size:
                out[a - start : b - start] = ring[i : i + m]
            else:
                k = self.size - i
                out[a - start : a - start + k] = ring[i:]
                out[a - start + k : b - start] = ring[: m - k]
            got = m
        want = end - (start if start > 0 else 0) if end > 0 else 0  # (before time zero there is no music)
        if got < want:
            self.misses += 1
            self.missed += want - got

    # -- the main thread's side ---------------------------------------------------------------
    def start(self) -> LiveMusic:
        """Start the worker: it renders from the timeline's start (or where the callback reads)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cadencecoach-music", daemon=True)
            self._thread.start()
        return self

    def wait_ready(self, seconds: float, timeout: float = 10.0) -> bool:
        """Wait until the first `seconds` of music past the read position are in the ring (before playing, so
        the first click has music); False after `timeout` seconds (or if the worker failed)."""
        deadline = time.monotonic() + timeout
        want = round(seconds * self.rate)
        while time.monotonic() < deadline:
            hi = self._span[1]
            if hi - max(self.read_to, 0) >= want or self._silent_from is not None or self.error is not None:
                return self.error is None
            time.sleep(0.005)
        return False

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until the worker has nothing left to do (no change waiting, the ring full); False after `timeout`
        seconds. For tests and measurements: the player never waits for the worker."""
        deadline = time.monotonic() + timeout
        self._wake.set()  # (it would look at the read position within IDLE_S anyway)
        while time.monotonic() < deadline:
            if self.error is not None or not self.alive:
                return False
            pending = self._pending
            full = self._span[1] - max(self.read_to, 0) >= self.ahead - self.refill
            if (pending is None or pending is self._taken) and self._idle and full and not self._wake.is_set():
                return True
            time.sleep(0.001)
        return False

    def retarget(self, timeline: Timeline) -> None:
        """The music follows `timeline` from now on (main thread, cheap: the worker does the work)."""
        if timeline is self._target:
            return
        self._target = timeline
        self._asked = (timeline, self.read_to)  # (for the figures: where the callback was when it was asked)
        self._pending = timeline
        self._wake.set()

    @property
    def target(self) -> Timeline:
        """The timeline last handed to :meth:`retarget` (or the first)."""
        return self._target

    @property
    def ahead_now(self) -> float:
        """Seconds of music ready past the last read."""
        return (self._span[1] - max(self.read_to, 0)) / self.rate

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker and the pool and wait for them (at most `timeout` seconds; they are daemons)."""
        self._stop = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        _be_nice()
        cpu0 = time.thread_time()
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="cadencecoach-stretch", initializer=_be_nice)
        try:
            self._restart(max(self.read_to, 0))
            while not self._stop:
                try:
                    did = self._step()
                except Exception as exc:  # a song gone, a decoder failing: the run goes on without music
                    self.error = exc
                    self._close_stream()
                    self._carry = None
                    self._silent_from = self._span[1]
                    did = True
                self.stats.worker_cpu = time.thread_time() - cpu0
                if not did:
                    self._idle = True
                    self._wake.wait(IDLE_S)
                    self._wake.clear()
                    self._idle = False
        finally:
            self._close_stream()
            self._carry = None
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            self.stats.worker_cpu = time.thread_time() - cpu0

    def _step(self) -> bool:
        """One thing to do: a change, a seek, a chunk. False when there was nothing."""
        pending = self._pending
        if pending is not None and pending is not self._taken:
            self._taken = pending  # (the main thread may hand over a newer one meanwhile: it is seen next time)
            self._retarget(pending)
            return True
        r = max(self.read_to, 0)
        lo, hi = self._span
        if r < lo or r > hi + self.seek:
            self.stats.restarts += 1
            self._restart(r)
            return True
        short = hi - r < self.ahead - (self.refill if self._filled_once else 0)
        if self._filled_once and self.reads:
            self._look(r, hi)
        if not short:
            self._filled_once = True
            return False
        self._fill(r)
        return True

    def _look(self, r: int, hi: int) -> None:
        st = self.stats
        ahead = (hi - r) / self.rate
        st.ahead_sum += ahead
        st.ahead_looks += 1
        st.ahead_min = min(st.ahead_min, ahead)

    def _submit(self, fn: Callable[[], np.ndarray]) -> Future[np.ndarray]:
        pool = self._pool
        assert pool is not None

        def timed() -> np.ndarray:
            c0 = time.thread_time()
            try:
                return fn()
            finally:
                with self._lock:
                    self.stats.pool_cpu += time.thread_time() - c0

        return pool.submit(timed)

    def _limited(self, plan: BedPlan, start: int) -> Generator[tuple[int, np.ndarray], None, None]:
        """The plan's music from sample `start`, mono, limited: contiguous (at, block) from `start`."""
        from cadencecoach.music.bed import BED_CEILING_DB
        from cadencecoach.music.loudness import TruePeakLimiter
        from cadencecoach.music.mix import music_stream

        limiter = TruePeakLimiter(self.rate, 1, BED_CEILING_DB)
        at = start
        chunk = round(CHUNK_S * self.rate)
        stream = music_stream(plan.placements, self._length_s, self.rate, self._submit, channels=1, start=start)
        try:
            for _at, block in stream:
                for s in range(0, len(block), chunk):
                    y = limiter.process(block[s : s + chunk])
                    if len(y):
                        yield at, y[:, 0]
                        at += len(y)
            y = limiter.flush()
            if len(y):
                yield at, y[:, 0]
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def _restart(self, r: int) -> None:
        """Render from sample `r` (the start, a seek): the ring is emptied and filled from there."""
        self._close_stream()
        self._carry = None
        self._silent_from = None
        self._span = (r, r)  # one assignment: the callback sees the old ring or an empty one
        self._filled_once = False
        self._stream = self._limited(self._plan, r)
        self._timing = (time.perf_counter(), self._song_seconds(r / self.rate))

    def _next_block(self) -> tuple[int, np.ndarray] | None:
        if self._carry is not None:
            block, self._carry = self._carry, None
            return block
        if self._stream is None:
            return None
        got = next(self._stream, None)
        if got is None:
            self._close_stream()
        if self._timing is not None:  # the first block of a render: how long it took (see _predicted_lag)
            t0, song_s = self._timing
            self._timing = None
            self._per_song_s = (time.perf_counter() - t0) / (song_s + PIECE_COST_S)
        return got

    def _fill(self, r: int) -> None:
        """Write the next chunk at ``hi`` (at most ``guard`` samples, up to ``r + ahead``)."""
        hi = self._span[1]
        room = min(self.guard, r + self.ahead - hi)
        if room <= 0:
            return
        if self._silent_from is not None:
            self._write_zeros(hi, room)
            return
        block = self._next_block()
        if block is None:
            self._silent_from = hi
            self._write_zeros(hi, room)
            return
        at, y = block
        if at > hi:  # (a contiguous stream has no gaps; were there one, silence up to the block)
            self._write_zeros(hi, min(at - hi, room))
            self._carry = block
            return
        y = y[hi - at :]
        m = min(len(y), room)
        self._write(hi, y[:m])
        if m < len(y):
            self._carry = (hi + m, y[m:])

    def _publish_write(self, at: int, n: int) -> int:
        """Before writing samples ``[at, at + n)``: the span's start moved past the slots they overwrite (``n`` is
        at most ``guard``, a part of the ring the callback does not read anyway; see the module doc)."""
        lo, hi = self._span
        if at + n - self.size > lo:
            lo = at + n - self.size
            self._span = (lo, hi)
        return lo

    def _write(self, at: int, data: np.ndarray) -> None:
        """Write `data` at sample `at` (the span's end) in guard-sized chunks, publishing each."""
        for s in range(0, len(data), self.guard):
            part = data[s : s + self.guard]
            a = at + s
            lo = self._publish_write(a, len(part))
            i = a % self.size
            k = min(len(part), self.size - i)
            self._ring[i : i + k] = part[:k]
            if k < len(part):
                self._ring[: len(part) - k] = part[k:]
            self._span = (lo, a + len(part))

    def _write_zeros(self, at: int, n: int) -> None:
        for s in range(0, n, self.guard):
            a, m = at + s, min(self.guard, n - s)
            lo = self._publish_write(a, m)
            i = a % self.size
            k = min(m, self.size - i)
            self._ring[i : i + k] = 0.0
            if k < m:
                self._ring[: m - k] = 0.0
            self._span = (lo, a + m)

    def _get(self, at: int, n: int) -> np.ndarray:
        out = np.empty(n, np.float32)
        i = at % self.size
        k = min(n, self.size - i)
        out[:k] = self._ring[i : i + k]
        if k < n:
            out[k:] = self._ring[: n - k]
        return out

    # -- a change -------------------------------------------------------------------------------
    def _song_seconds(self, t: float) -> float:
        """How far into its song the music playing at output second `t` is (0 without one)."""
        for p in self._plan.placements:
            if p.out_start <= t < p.out_end:
                return max(float(p.tmap.inverse(t)), 0.0)
        return 0.0

    def _predicted_lag(self, r: int) -> int:
        """Samples a change at `r` takes to render its first block: a stretched piece, and the song decoded from
        its start to where it is (the rate measured on the last render)."""
        song_s = self._song_seconds(r / self.rate)
        return round(self._per_song_s * (song_s + PIECE_COST_S) * self.rate)

    def _retarget(self, timeline: Timeline) -> None:
        if same_beats(timeline, self._timeline):
            self.stats.ignored += 1
            return
        from cadencecoach.music.bed import replan

        t0 = time.perf_counter()
        r = max(self.read_to, 0)
        lead = min(max(self.lead, round(1.1 * self._predicted_lag(r)) + self.safety), self.max_lead)
        switch = r + lead
        begin = max(switch - self.epsilon, 0)
        song_s = self._song_seconds(begin / self.rate)
        plan = replan(self._plan, timeline, begin / self.rate, glide_beats=self._glide)
        stream = self._limited(plan, begin)
        blocks: list[np.ndarray] = []
        covered = begin
        try:
            while True:
                if self._stop or self._pending is not self._taken:  # closing, or a newer change: drop this one
                    stream.close()
                    return
                if covered >= max(switch, self.read_to + self.safety) + self.after:
                    break
                item = next(stream, None)
                if item is None:
                    break
                if not blocks:
                    took = time.perf_counter() - t0
                    self.stats.render_lags.append(took)
                    self._per_song_s = took / (song_s + PIECE_COST_S)
                blocks.append(item[1])
                covered = item[0] + len(item[1])
        except BaseException:
            stream.close()
            raise
        new = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        self._close_stream()
        self._plan, self._timeline = plan, timeline
        self._stream, self._carry, self._silent_from = stream, None, None
        self.stats.changes += 1
        self._splice(new, begin, switch)

    def _splice(self, new: np.ndarray, begin: int, switch: int) -> None:
        """Put `new` (the new music from sample `begin`) in the ring from the switch on, crossfading from the old
        music there; what is not written yet is carried to the next chunks. Everything is computed first; then
        the span is cut at the switch, the samples copied and the span extended: the callback, which reads only
        inside the span, never sees a half-written sample, and waits for nothing."""
        end = begin + len(new)
        for _attempt in range(4):
            lo, hi_old = self._span
            r = max(self.read_to, 0)
            x = max(switch, r + self.safety)
            if x >= hi_old:  # no old music at the switch (the ring ran short): the new goes on from the ring's end
                x = max(hi_old, begin)
                head = np.zeros(max(x - hi_old, 0), np.float32)  # (silence up to the new music, if it starts later)
                data = np.concatenate([head, new[x - begin : x - begin + max(r + self.ahead - x, 0)]])
                x = hi_old
            else:
                data = new[x - begin : x - begin + max(r + self.ahead, x + self.crossfade) - x].copy()
                xf = min(self.crossfade, hi_old - x, len(data))
                if xf > 0:
                    ramp = (np.arange(xf, dtype=np.float32) + 0.5) / np.float32(xf)
                    data[:xf] += (self._get(x, xf) - data[:xf]) * (1.0 - ramp)  # old * (1 - ramp) + new * ramp
            if max(self.read_to, 0) + self.safety // 3 <= x:
                break  # (else the playhead came too close while this was computed: once more, a little later)
        at_end = x + len(data)
        new_lo = max(lo, at_end - self.size)
        self._span = (new_lo, min(x, hi_old))  # one assignment: the callback now reads only before the switch
        i = x % self.size
        k = min(len(data), self.size - i)
        self._ring[i : i + k] = data[:k]
        if k < len(data):
            self._ring[: len(data) - k] = data[k:]
        self._span = (new_lo, at_end)
        self.stats.switch_leads.append((x - self.read_to) / self.rate)
        asked = self._asked
        if asked is not None and asked[0] is self._timeline:
            self.stats.follow_lags.append((x - max(asked[1], 0)) / self.rate)
        if at_end < end:
            self._carry = (at_end, new[at_end - begin :])
        self._filled_once = True


def _be_nice() -> None:
    """This thread (the music worker, a Rubber Band thread) a little nicer than the rest: the callback and the
    main thread come first on a busy machine (Linux: per thread)."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))


def prepare_live_music(
    paths: Sequence[Path],
    timeline: Timeline,
    warn: Callable[[str], None] | None,
    tell: Callable[[str], None] | None = None,
    *,
    max_stretch: float = 0.12,
    glide_beats: int = 4,
    ready_s: float = AHEAD_S - REFILL_S,
) -> LiveMusic:
    """``run --music``: analyse the songs (or read them from the cache), plan them under `timeline`, say so on
    `tell` in one line, and start the worker; returns once the first `ready_s` seconds are rendered (the ring
    full: the worker idles while the stream starts). The same errors as ``render --music`` (UsageError: no songs,
    none fits)."""
    from cadencecoach.errors import UsageError
    from cadencecoach.music.bed import explain, load_songs, plan_bed

    songs, failures = load_songs(paths, warn)
    plan = plan_bed(timeline, songs, max_stretch=max_stretch, glide_beats=glide_beats)
    explain(plan, warn)
    if not plan.placements:
        raise UsageError(f"--music: no song fits any cadence of this workout within {max_stretch * 100:g} % of stretch")
    if tell is not None:
        first = plan.placements[0]
        skipped = len(plan.skipped) + len(failures)
        tell(
            f"music: {len(songs)} song{'s' if len(songs) != 1 else ''}"
            + (f" ({skipped} skipped)" if skipped else "")
            + f", {len(plan.placements)} under the workout; first: {first.song.name}"
            f" ({first.song.tempo:.1f} BPM at {first.multiple:g}x, {first.stretch_percent + 0.0:+.1f} %)"
        )
    music = LiveMusic(plan, timeline, glide_beats=glide_beats).start()
    try:
        music.wait_ready(ready_s, timeout=15.0)
    except BaseException:  # Ctrl-C while it renders
        music.close()
        raise
    return music
