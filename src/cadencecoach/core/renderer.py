"""The one block renderer: samples ``[start, start + n)`` of a compiled timeline, mixed.

Both the file writer and the live audio callback call :meth:`BlockRenderer.render`, so what a test renders
offline is what the runner hears. ``render`` only slices and adds pre-computed arrays: it does no I/O, takes
no locks and allocates nothing proportional to the workout; all preparation (resampling, ducking gains,
lookup arrays) happens in ``__init__``.

For blocks of up to 500 samples ``render`` keeps the GIL throughout (issue 14): were it to let go, the live
callback would wait for the main thread to hand it back, up to a whole switch interval. So the few lookups
per block use :mod:`bisect` on the sorted arrays (``np.searchsorted`` releases the GIL on every call); numpy
releases it in the sums only for slices longer than its threshold (500 elements).

Levels: clicks peak at ``CLICK_LEVEL`` (0.5) and are ducked by 6 dB (to 0.25) under speech, and by
``KEY_DUCK_DB`` (20 dB, to 0.05) under the words a runner must not miss: a countdown word, the rep number of an
announcement (the cue's ``key_spans``); a click is never moved or dropped. Speech peaks at 0.7 (see
speech.py). Cues never overlap each other, so the mix peaks at 0.95 before the volume and can only clip in a
degenerate case (clicks overlapping at > 300 spm); a final clip guards that too.

Music bed (``render --music`` and ``run --music``, see docs/MUSIC.md): an optional :class:`MusicBed` --
already tempo-matched music read by timeline sample from a :class:`MusicSource` (streamed in blocks by
``music.bed``, or prepared ahead of the playhead by a worker for the live player) -- is added under the clicks
and cues, ducked by ``MusicBed.depth`` while a cue sounds (smooth ramps, computed per block from a few
precomputed spans, in scratch buffers allocated once). With a bed the final clip is always on.

Clicks alone (``track build``: clicks on a song's stretched beats) use :class:`ClickTrack`, the part of the
renderer that places click sounds at onsets; :class:`BlockRenderer` mixes one under its cues.

Cue audio is scaled by the voice level once per cue and level (:meth:`Cue.scaled_audio
<cadencecoach.core.timeline.Cue.scaled_audio>`), not once per renderer: the live player builds a new renderer
for every change, over cues it mostly shares with the old one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from cadencecoach.core.timeline import Audio, Cue, Timeline

__all__ = [
    "CLICK_LEVEL",
    "DUCK_DB",
    "DUCK_MARGIN_S",
    "KEY_DUCK_DB",
    "ArraySource",
    "BlockRenderer",
    "ClickTrack",
    "MusicBed",
    "MusicSource",
]

CLICK_LEVEL = 0.5
DUCK_DB = -6.0
KEY_DUCK_DB = -20.0
"""Clicks under key words (countdown words, rep numbers): chosen by listening and by recognizer, see
docs/VOICE.md ("Every word heard")."""
DUCK_MARGIN_S = 0.02  # a click starting just before speech is ducked too

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


def _peak(arrays: Sequence[Audio]) -> float:
    return max((float(np.abs(a).max()) for a in arrays if len(a)), default=0.0)


def _mix(out: Audio, src: Audio, offset: int, gain: float) -> None:
    """Add `src` placed at `offset` (relative to out[0]) into `out`, scaled by `gain`."""
    a = max(offset, 0)
    b = min(offset + len(src), len(out))
    if b <= a:
        return
    seg = src[a - offset : b - offset]
    if gain == 1.0:
        out[a:b] += seg
    else:
        out[a:b] += seg * np.float32(gain)


def _starts_within(onsets: Int64Array, spans: Sequence[tuple[int, int]]) -> npt.NDArray[np.bool_]:
    """Which `onsets` fall in one of `spans` (``[start, end)``, sorted by start, not overlapping)."""
    starts = np.fromiter((a for a, _ in spans), np.int64, len(spans))
    ends = np.fromiter((b for _, b in spans), np.int64, len(spans))
    i = np.searchsorted(starts, onsets, side="right") - 1
    result: npt.NDArray[np.bool_] = (i >= 0) & (ends[np.clip(i, 0, None)] > onsets)
    return result


class MusicSource(Protocol):
    """Music under a timeline, by timeline sample: what :class:`MusicBed` reads.

    ``read(start, out)`` fills `out` (float32, 1-D) with music samples ``[start, start + len(out))``, zeros where
    there is none (before it is ready, past its end). It is called in order by the file writer and from the live
    callback, so it takes no locks held by slow code, does no I/O and allocates nothing per call."""

    def read(self, start: int, out: Audio) -> None: ...


class ArraySource:
    """A whole pre-rendered bed in memory: ``audio[i] * scale`` at timeline sample ``i`` (tests, short clips)."""

    def __init__(self, audio: npt.ArrayLike, scale: float = 1.0) -> None:
        self.audio = np.ascontiguousarray(audio)
        self.scale = np.float32(scale)

    def read(self, start: int, out: Audio) -> None:
        out.fill(0.0)
        a, b = max(start, 0), min(start + len(out), len(self.audio))
        if b > a:
            np.multiply(self.audio[a:b], self.scale, out=out[a - start : b - start], casting="unsafe")


class MusicBed:
    """Music under a timeline (a :class:`MusicSource`), ducked under the coach.

    Ducking: the music's gain goes down to `depth` over `attack` samples before each spoken span and back up
    over `release` samples after it (linear ramps; spans closer than attack + release are merged). The spans
    are the timeline's; the source may be shared by the renderers of several timelines (the live player's)."""

    BLOCK = 4096  # the scratch buffers' size: longer blocks are mixed in parts

    def __init__(
        self,
        source: MusicSource,
        spans: Sequence[tuple[int, int]] = (),
        *,
        depth_db: float = -12.0,
        attack: int = 0,
        release: int = 0,
    ) -> None:
        self.source = source
        self.depth = float(10 ** (depth_db / 20))
        self.attack = max(int(attack), 0)
        self.release = max(int(release), 0)
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a - merged[-1][1] <= self.attack + self.release:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self._starts: Int64Array = np.asarray([a - self.attack for a, _ in merged], np.int64)  # ramps included
        self._ends: Int64Array = np.asarray([b + self.release for _, b in merged], np.int64)
        self._spans: Int64Array = np.asarray(merged, np.int64).reshape(-1, 2)
        # scratch, allocated here once: the live callback mixes with no allocation proportional to anything
        self._music: Audio = np.zeros(self.BLOCK, np.float32)
        self._w: Float64Array = np.zeros(self.BLOCK)
        self._tmp: Float64Array = np.zeros(self.BLOCK)
        self._t: Float64Array = np.arange(self.BLOCK, dtype=np.float64)

    def close(self) -> None:
        """Let go of the source's resources (a streamed source's threads), if it has any."""
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def mix_into(self, start: int, out: Audio, duck: bool = True) -> None:
        """Add samples ``[start, start + len(out))`` of the (ducked) music into `out`."""
        for s in range(0, len(out), self.BLOCK):
            self._mix_part(start + s, out[s : s + self.BLOCK], duck)

    def _mix_part(self, start: int, out: Audio, duck: bool) -> None:
        n = len(out)
        seg = self._music[:n]
        self.source.read(start, seg)
        if duck and len(self._spans):
            b = start + n
            j0 = bisect_right(self._ends, start)  # bisect: see the module doc
            j1 = bisect_left(self._starts, b)
            if j1 > j0:
                w, tmp = self._w[:n], self._tmp[:n]
                w.fill(0.0)
                for j in range(j0, j1):
                    s0, s1 = int(self._spans[j, 0]), int(self._spans[j, 1])
                    # up = (t - (s0 - attack)) / attack; down = ((s1 + release) - t) / release; t = start + i
                    if self.attack:
                        np.subtract(self._t[:n], s0 - self.attack - start, out=tmp)
                        tmp *= 1.0 / self.attack
                    else:
                        tmp.fill(0.0)
                        tmp[max(s0 - start, 0) :] = 1.0
                    np.minimum(tmp, 1.0, out=tmp)
                    if self.release:
                        down = (s1 + self.release - start) - self._t[:n]
                        down *= 1.0 / self.release
                        np.minimum(tmp, down, out=tmp)
                    else:
                        tmp[max(min(s1 - start, n), 0) :] = 0.0
                    np.clip(tmp, 0.0, 1.0, out=tmp)
                    np.maximum(w, tmp, out=w)
                w *= -(1.0 - self.depth)
                w += 1.0
                seg *= w
        out += seg


class ClickTrack:
    """Click sounds placed at onsets: the clicks of a timeline, or any clicks (``track build``'s beats).

    Parameters
    ----------
    onsets : array_like of int
        Onset of every click, in samples, ascending.
    variants : array_like of int
        For every click, the index of its sound in `bank` (see :data:`cadencecoach.sounds.VARIANTS`).
    bank : sequence of float32 arrays
        The click sounds, each starting at its onset (:func:`cadencecoach.sounds.load_bank`).
    click_level : float, default :data:`CLICK_LEVEL`
        The sounds are scaled by it (once, here).

    Examples
    --------
    >>> bank = [np.ones(3, np.float32), np.full(3, 2.0, np.float32)]
    >>> track = ClickTrack([2, 6], [0, 1], bank, click_level=0.5)
    >>> out = np.empty(8, np.float32)
    >>> track.render(0, out)
    >>> out.tolist()
    [0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 1.0, 1.0]
    """

    def __init__(
        self,
        onsets: npt.ArrayLike,
        variants: npt.ArrayLike,
        bank: Sequence[npt.ArrayLike],
        *,
        click_level: float = CLICK_LEVEL,
    ) -> None:
        self.bank: list[Audio] = [np.ascontiguousarray(b, dtype=np.float32) * np.float32(click_level) for b in bank]
        self.max_length = max((len(b) for b in self.bank), default=0)
        self.onsets: Int64Array = np.ascontiguousarray(onsets, dtype=np.int64)
        self.variants: npt.NDArray[np.uint8] = np.ascontiguousarray(variants, dtype=np.uint8)
        self.peak = _peak(self.bank)
        # two clicks closer than the longest sound may add up beyond the loudest one
        self.may_overlap = len(self.onsets) > 1 and int(np.diff(self.onsets).min()) < self.max_length

    def __len__(self) -> int:
        return len(self.onsets)

    def mix_into(self, start: int, out: Audio, gains: npt.NDArray[np.float32] | None = None) -> None:
        """Add the clicks sounding in samples ``[start, start + len(out))`` into `out`; click ``i`` scaled by
        ``gains[i]`` if given (the renderer's ducking)."""
        if not len(self.onsets):
            return
        onsets = self.onsets
        # bisect, not np.searchsorted: the same indices, without releasing the GIL (see the module doc)
        i0 = bisect_right(onsets, start - self.max_length)
        i1 = bisect_left(onsets, start + len(out))
        bank, variants = self.bank, self.variants
        for i in range(i0, i1):
            _mix(out, bank[variants[i]], int(onsets[i]) - start, 1.0 if gains is None else float(gains[i]))

    def render(self, start: int, out: Audio) -> None:
        """Fill `out` (float32, 1-D) with samples ``[start, start + len(out))`` of the clicks, clipped to
        [-1, 1] when they can exceed it."""
        out.fill(0.0)
        self.mix_into(start, out)
        if self.may_overlap or self.peak > 1.0:
            np.clip(out, -1.0, 1.0, out=out)


class BlockRenderer:
    """Samples of a compiled timeline, block by block: clicks (ducked under speech), cues, a music bed.

    Parameters
    ----------
    timeline : Timeline
        The compiled workout (:func:`cadencecoach.core.timeline.compile_workout`), with cue audio.
    bank : sequence of float32 arrays
        The click sounds, indexed by click variant (:func:`cadencecoach.sounds.load_bank`).
    volume : float, default 1.0
        Scales the whole mix (a live attribute: ``renderer.volume = 0.5``).
    click_level : float, default :data:`CLICK_LEVEL`
        Peak of an unducked click.
    voice_level : float, default 1.0
        Scales the cue audio.
    pre_roll : float32 array, optional
        Audio before time zero (the live lead-in), rendered at negative starts.

    Attributes ``click_enabled`` and ``voice_enabled`` mute clicks / cues live.
    """

    def __init__(
        self,
        timeline: Timeline,
        bank: Sequence[npt.ArrayLike],
        *,
        volume: float = 1.0,
        click_level: float = CLICK_LEVEL,
        voice_level: float = 1.0,
        pre_roll: npt.ArrayLike | None = None,
    ) -> None:
        self.timeline = timeline
        self.volume = float(volume)
        self.click_enabled = True
        self.voice_enabled = True
        self.length = timeline.length
        self.clicks = ClickTrack(timeline.clicks, timeline.click_variant, bank, click_level=click_level)
        # cues with audio, sorted by start; their audio scaled once per cue and level (shared by renderers)
        cues = [c for c in timeline.cues if c.audio is not None and len(c.audio)]
        cues.sort(key=lambda c: c.at)
        self._gains = self._duck_gains(timeline, cues)
        self._no_duck = np.ones(len(self.clicks), np.float32)  # voice muted: nothing to duck under
        scaled = [c.scaled_audio(voice_level) for c in cues]
        self._cue_audio: list[Audio] = [a for a, _ in scaled]
        self._cue_peak = max((p for _, p in scaled), default=0.0)
        self._cue_at: Int64Array = np.fromiter((c.at for c in cues), np.int64, len(cues))
        self._max_cue = max((len(a) for a in self._cue_audio), default=0)
        self._pre_roll: Audio | None = None
        if pre_roll is not None:
            roll = np.ascontiguousarray(pre_roll, dtype=np.float32)
            self._pre_roll = roll if len(roll) else None
        self._may_clip = self._can_exceed_full_scale()
        self.bed: MusicBed | None = None

    def set_bed(self, bed: MusicBed | None) -> None:
        """Play `bed` under the clicks and cues (``render --music``); None removes it."""
        self.bed = bed
        self._may_clip = True if bed is not None else self._can_exceed_full_scale()

    @property
    def pre_roll_length(self) -> int:
        """Samples before time zero (the live lead-in); ``render`` takes negative starts for them."""
        return 0 if self._pre_roll is None else len(self._pre_roll)

    def _can_exceed_full_scale(self) -> bool:
        """True unless the mix provably stays within [-1, 1]: clicks never overlap each other, cues never
        overlap each other (the compiler guarantees it), and the loudest click plus the loudest cue fit."""
        if self.clicks.may_overlap:
            return True
        ends = self._cue_at + np.fromiter((len(a) for a in self._cue_audio), np.int64, len(self._cue_audio))
        if len(self._cue_at) > 1 and bool((self._cue_at[1:] < ends[:-1]).any()):
            return True
        loudest = self.clicks.peak + max(self._cue_peak, _peak([self._pre_roll] if self._pre_roll is not None else []))
        return loudest * max(self.volume, 1.0) > 1.0

    def _duck_gains(self, timeline: Timeline, spoken: Sequence[Cue]) -> npt.NDArray[np.float32]:
        """Per click: 1; the duck gain when it starts under a cue that sounds (`spoken`, sorted by start); the
        key duck gain when it starts under a key word (a countdown cue, or a cue's ``key_spans``)."""
        onsets = self.clicks.onsets
        gains = np.ones(len(onsets), np.float32)
        if not spoken or not len(onsets):
            return gains
        margin = int(DUCK_MARGIN_S * timeline.sample_rate)
        gains[_starts_within(onsets, [(c.at - margin, c.end) for c in spoken])] = np.float32(10 ** (DUCK_DB / 20))
        keys: list[tuple[int, int]] = []
        for c in spoken:
            if c.kind == "countdown":
                keys.append((c.at - margin, c.end))
            else:
                keys.extend((c.at + a - margin, c.at + b) for a, b in c.key_spans)
        if keys:
            gains[_starts_within(onsets, sorted(keys))] = np.float32(10 ** (KEY_DUCK_DB / 20))
        return gains

    def render(self, start: int, out: Audio) -> None:
        """Fill `out` with samples ``[start, start + len(out))`` of the timeline.

        Parameters
        ----------
        start : int
            First sample; negative starts reach into the pre-roll, starts at or past :attr:`length` are silence.
        out : float32 array, 1-D
            Filled in place (any length). It takes no locks, does no I/O and allocates nothing proportional to
            the workout, so the live callback calls it too.

        Examples
        --------
        >>> from cadencecoach.core.timeline import compile_workout
        >>> from cadencecoach.workout.loader import load_workout_text
        >>> workout = load_workout_text("name: Strides\\nsteps:\\n  - run: 2s\\n    cadence: 180\\n", "w.yaml")
        >>> timeline = compile_workout(workout, 8000)  # no speech: the cues are silent
        >>> renderer = BlockRenderer(timeline, [np.ones(40, np.float32)] * 4)
        >>> out = np.empty(8000, np.float32)
        >>> renderer.render(0, out)
        >>> out.shape, out.dtype, float(out.max()), int(np.count_nonzero(out))  # 3 clicks of 40 samples
        ((8000,), dtype('float32'), 0.5, 120)
        """
        n = len(out)
        out.fill(0.0)
        end = start + n
        if start < 0 and self._pre_roll is not None:
            _mix(out, self._pre_roll, -len(self._pre_roll) - start, 1.0)
        if self.click_enabled:
            self.clicks.mix_into(start, out, self._gains if self.voice_enabled else self._no_duck)
        if self.voice_enabled and len(self._cue_at):
            j0 = bisect_right(self._cue_at, start - self._max_cue)  # bisect: see the module doc
            j1 = bisect_left(self._cue_at, end)
            for j in range(j0, j1):
                _mix(out, self._cue_audio[j], int(self._cue_at[j]) - start, 1.0)
        if self.bed is not None:
            self.bed.mix_into(start, out, duck=self.voice_enabled)
        if self.volume != 1.0:
            out *= np.float32(self.volume)
        if self._may_clip:
            np.clip(out, -1.0, 1.0, out=out)
