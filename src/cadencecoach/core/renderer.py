"""The one block renderer: samples ``[start, start + n)`` of a compiled timeline, mixed.

Both the file writer and the live audio callback call :meth:`BlockRenderer.render`, so what a test renders
offline is what the runner hears. ``render`` only slices and adds pre-computed arrays: it does no I/O, takes
no locks and allocates nothing proportional to the workout; all preparation (resampling, ducking gains,
lookup arrays) happens in ``__init__``.

Levels: clicks peak at ``CLICK_LEVEL`` (0.5) and are ducked by 6 dB (to 0.25) under speech; speech peaks at
0.7 (see speech.py). Cues never overlap each other, so the mix peaks at 0.95 before the volume and can only
clip in a degenerate case (clicks overlapping at > 300 spm); a final clip guards that too.

Music bed (``render --music``, see docs/MUSIC.md): an optional :class:`MusicBed` -- pre-rendered, already
tempo-matched music (int16, one sample per timeline sample) -- is added under the clicks and cues, ducked
by ``MusicBed.depth`` while a cue sounds (smooth ramps, computed per block from a few precomputed spans).
With a bed the final clip is always on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cadencecoach.core.timeline import Timeline

CLICK_LEVEL = 0.5
DUCK_DB = -6.0
DUCK_MARGIN_S = 0.02  # a click starting just before speech is ducked too


class MusicBed:
    """Pre-rendered music under a timeline: ``audio[i]`` plays at timeline sample ``i`` (int16, times `scale`).

    Ducking: the music's gain goes down to `depth` over `attack` samples before each spoken span and back up
    over `release` samples after it (linear ramps; spans closer than attack + release are merged)."""

    def __init__(
        self,
        audio: np.ndarray,
        scale: float,
        spans: Sequence[tuple[int, int]] = (),
        *,
        depth_db: float = -12.0,
        attack: int = 0,
        release: int = 0,
    ) -> None:
        self.audio = np.ascontiguousarray(audio, dtype=np.int16)
        self.scale = np.float32(scale)
        self.depth = float(10 ** (depth_db / 20))
        self.attack = max(int(attack), 0)
        self.release = max(int(release), 0)
        merged: list[list[int]] = []
        for a, b in sorted(spans):
            if merged and a - merged[-1][1] <= self.attack + self.release:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self._starts = np.asarray([a - self.attack for a, _ in merged], np.int64)  # ramps included
        self._ends = np.asarray([b + self.release for _, b in merged], np.int64)
        self._spans = np.asarray(merged, np.int64).reshape(-1, 2)

    def mix_into(self, start: int, out: np.ndarray, duck: bool = True) -> None:
        """Add samples ``[start, start + len(out))`` of the (ducked) music into `out`."""
        a, b = max(start, 0), min(start + len(out), len(self.audio))
        if b <= a:
            return
        seg = self.audio[a:b].astype(np.float32)
        seg *= self.scale
        if duck and len(self._spans):
            j0 = int(np.searchsorted(self._ends, a, side="right"))
            j1 = int(np.searchsorted(self._starts, b, side="left"))
            if j1 > j0:
                t = np.arange(a, b, dtype=np.float64)
                w = np.zeros(b - a)
                for j in range(j0, j1):
                    s0, s1 = self._spans[j]
                    up = (t - (s0 - self.attack)) / self.attack if self.attack else (t >= s0).astype(np.float64)
                    down = ((s1 + self.release) - t) / self.release if self.release else (t < s1).astype(np.float64)
                    np.maximum(w, np.clip(np.minimum(up, down), 0.0, 1.0), out=w)
                seg *= (1.0 - (1.0 - self.depth) * w).astype(np.float32)
        out[a - start : b - start] += seg


class BlockRenderer:
    def __init__(
        self,
        timeline: Timeline,
        bank: Sequence[np.ndarray],
        *,
        volume: float = 1.0,
        click_level: float = CLICK_LEVEL,
        voice_level: float = 1.0,
        pre_roll: np.ndarray | None = None,
    ) -> None:
        self.timeline = timeline
        self.volume = float(volume)
        self.click_enabled = True
        self.voice_enabled = True
        self.length = timeline.length
        # click voices, scaled once
        self._bank = [np.ascontiguousarray(b, dtype=np.float32) * np.float32(click_level) for b in bank]
        self._max_click = max((len(b) for b in self._bank), default=0)
        self._onsets = np.ascontiguousarray(timeline.clicks, dtype=np.int64)
        self._voices = np.ascontiguousarray(timeline.click_voice, dtype=np.uint8)
        self._gains = self._duck_gains(timeline)
        self._no_duck = np.ones(len(self._onsets), np.float32)  # voice muted: nothing to duck under
        # cues with audio, sorted by start
        cues = [c for c in timeline.cues if c.audio is not None and len(c.audio)]
        cues.sort(key=lambda c: c.at)
        self._cue_audio = [np.ascontiguousarray(c.audio, dtype=np.float32) * np.float32(voice_level) for c in cues]
        self._cue_at = np.fromiter((c.at for c in cues), np.int64, len(cues))
        self._max_cue = max((len(a) for a in self._cue_audio), default=0)
        self._pre_roll = (
            np.ascontiguousarray(pre_roll, dtype=np.float32) if pre_roll is not None and len(pre_roll) else None
        )
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

        def peak(arrays: Sequence[np.ndarray]) -> float:
            return max((float(np.abs(a).max()) for a in arrays if len(a)), default=0.0)

        if len(self._onsets) > 1 and int(np.diff(self._onsets).min()) < self._max_click:
            return True
        ends = self._cue_at + np.fromiter((len(a) for a in self._cue_audio), np.int64, len(self._cue_audio))
        if len(self._cue_at) > 1 and bool((self._cue_at[1:] < ends[:-1]).any()):
            return True
        loudest = peak(self._bank) + max(
            peak(self._cue_audio), peak([self._pre_roll] if self._pre_roll is not None else [])
        )
        return loudest * max(self.volume, 1.0) > 1.0

    def _duck_gains(self, timeline: Timeline) -> np.ndarray:
        gains = np.ones(len(self._onsets), np.float32)
        spoken = [c for c in timeline.cues if c.audio is not None and len(c.audio)]  # only cues that sound
        if not spoken or not len(self._onsets):
            return gains
        spoken.sort(key=lambda c: c.at)
        margin = int(DUCK_MARGIN_S * timeline.sample_rate)
        starts = np.fromiter((c.at - margin for c in spoken), np.int64, len(spoken))
        ends = np.fromiter((c.end for c in spoken), np.int64, len(spoken))
        i = np.searchsorted(starts, self._onsets, side="right") - 1
        under = (i >= 0) & (ends[np.clip(i, 0, None)] > self._onsets)
        gains[under] = np.float32(10 ** (DUCK_DB / 20))
        return gains

    def render(self, start: int, out: np.ndarray) -> None:
        """Fill `out` (float32, 1-D) with samples ``[start, start + len(out))`` of the timeline."""
        n = len(out)
        out.fill(0.0)
        end = start + n
        if start < 0 and self._pre_roll is not None:
            self._mix(out, self._pre_roll, -len(self._pre_roll) - start, 1.0)
        if self.click_enabled and len(self._onsets):
            onsets = self._onsets
            i0 = int(np.searchsorted(onsets, start - self._max_click, side="right"))
            i1 = int(np.searchsorted(onsets, end, side="left"))
            bank, voices = self._bank, self._voices
            gains = self._gains if self.voice_enabled else self._no_duck
            for i in range(i0, i1):
                self._mix(out, bank[voices[i]], int(onsets[i]) - start, float(gains[i]))
        if self.voice_enabled and len(self._cue_at):
            j0 = int(np.searchsorted(self._cue_at, start - self._max_cue, side="right"))
            j1 = int(np.searchsorted(self._cue_at, end, side="left"))
            for j in range(j0, j1):
                self._mix(out, self._cue_audio[j], int(self._cue_at[j]) - start, 1.0)
        if self.bed is not None:
            self.bed.mix_into(start, out, duck=self.voice_enabled)
        if self.volume != 1.0:
            out *= np.float32(self.volume)
        if self._may_clip:
            np.clip(out, -1.0, 1.0, out=out)

    @staticmethod
    def _mix(out: np.ndarray, src: np.ndarray, offset: int, gain: float) -> None:
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
