"""``render WORKOUT --music`` and ``run WORKOUT --music``: the runner's songs under a whole workout.

The beat grid
    :func:`music_grid` lays one beat grid over the whole workout: the workout's own clicks where it clicks, and
    in a silent step beats at its cadence, spaced so that a whole number of them joins the last click before
    to the first click after (a tempo change of half a beat over the step at most). Where the click changes
    tempo at a step boundary the music *glides*: its beats move from the old beat interval to the new over
    ``glide_beats`` beats centred on the boundary, leaving the grid by at most :data:`GLIDE_TOLERANCE_S`
    (the glide is shortened where a larger jump would take it further) and meeting the clicks again after it.

The plan
    :func:`plan_bed` places the playlist, in order, looping, along the grid: a song's beats are mapped onto
    grid beats (every click at 1x, every other click at 2x, clicks and midpoints at 0.5x), and the song goes
    on across step boundaries, its stretch following each step's cadence. A song ends at its own end (the
    next one starts on a click ``CROSSFADE_STEPS`` clicks before its last beat, and they crossfade) or before
    the first step whose cadence it could only reach with more than ``max_stretch`` (it fades out over the
    last half second before that step, and the next song that fits starts on the step's first beat). A step
    no song fits is left without music, and a warning says so. Skipped songs are listed with the cadences
    they would fit (:func:`cadencecoach.music.mix.ranges_text`).

    For the live player the plan can be resumed from any sample (`carry`): the song playing there goes on
    from where it is, onto the new grid (after a skip, or a cadence change), and the planning goes on from
    there (:func:`replan`).

Rendering
    :class:`StreamedBed` streams the planned music in blocks (decode, resample, Rubber Band stretch of the
    mono mix on a small thread pool, fades, gain to ``music_lufs``, a true-peak limiter so that bed plus
    click stay below full scale) and is read in order by the renderer: memory stays flat whatever the length
    of the workout. The block renderer (:class:`cadencecoach.core.renderer.MusicBed`) mixes it under the clicks
    and the coach and ducks it by 12 dB, with 80 ms and 400 ms ramps, while the coach speaks.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadencecoach.core.renderer import BlockRenderer, MusicBed
from cadencecoach.core.timeline import Timeline
from cadencecoach.errors import UsageError

if TYPE_CHECKING:  # the heavy modules are imported only once the extra is known to be there
    from cadencecoach.music.analysis import Failure, SongAnalysis
    from cadencecoach.music.mix import Placement
    from cadencecoach.sinks.tags import Chapter

MUSIC_LUFS = -20.0
BED_CEILING_DB = -6.5  # bed true peak + the loudest click (0.5) stay within full scale
DUCK_DB = -12.0
DUCK_ATTACK_S = 0.08
DUCK_RELEASE_S = 0.4
CHANGE_FADE_S = 0.5  # a song that cannot follow the next step's cadence fades out over this before it
END_FADE_S = 2.0  # the music fades out over this at the workout's end
CROSSFADE_STEPS = 16
GLIDE_BEATS = 4
GLIDE_TOLERANCE_S = 0.012  # the glide leaves the clicks by at most this (the tests allow 15 ms)
HISTORY_S = 10.0  # a streamed bed keeps this much behind the last read (the encoder reads back a little)


# ------------------------------------------------------------------------------------------ the grid


@dataclass(frozen=True)
class BeatGrid:
    """The workout's beats (:attr:`clicks`: its clicks, and beats computed in silent steps) and the music's
    (:attr:`music`: the same, glided across tempo changes), in seconds; fractional indices interpolate."""

    clicks: np.ndarray
    music: np.ndarray

    def __len__(self) -> int:
        return len(self.music)

    def at(self, x: np.ndarray | float) -> np.ndarray:
        """Output seconds of (fractional) music beat index `x`, extrapolated with the edge intervals."""
        x = np.asarray(x, np.float64)
        t = self.music
        if len(t) == 1:
            return t[0] + x * 0.5
        out = np.interp(x, np.arange(len(t)), t)
        p0, p1 = t[1] - t[0], t[-1] - t[-2]
        out = np.where(x < 0, t[0] + x * p0, out)
        return np.where(x > len(t) - 1, t[-1] + (x - (len(t) - 1)) * p1, out)

    def index(self, t: float) -> float:
        """The (fractional) music beat index at output second `t` (the inverse of :meth:`at`)."""
        m = self.music
        if len(m) == 1:
            return (t - m[0]) / 0.5
        if t < m[0]:
            return (t - m[0]) / (m[1] - m[0])
        if t > m[-1]:
            return len(m) - 1 + (t - m[-1]) / (m[-1] - m[-2])
        return float(np.interp(t, m, np.arange(len(m))))

    def first_at_or_after(self, t: float) -> int:
        return int(np.searchsorted(self.music, t - 1e-9, side="left"))


def _cadence_fn(timeline: Timeline) -> Callable[[np.ndarray], np.ndarray]:
    """Cadence (spm) at output seconds, from the timeline's steps (linear within a ramp)."""
    sr = timeline.sample_rate
    starts = np.array([s.start / sr for s in timeline.steps] or [0.0])
    ends = np.array([s.end / sr for s in timeline.steps] or [1.0])
    a = np.array([float(s.cadence_start) for s in timeline.steps] or [180.0])
    b = np.array([float(s.cadence_end) for s in timeline.steps] or [180.0])

    def cadence(t: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
        span = np.maximum(ends[i] - starts[i], 1e-9)
        f = np.clip((t - starts[i]) / span, 0.0, 1.0)
        return a[i] + (b[i] - a[i]) * f

    return cadence


def _phase_beats(cadence: Callable[[np.ndarray], np.ndarray], t0: float, t1: float, whole: bool) -> np.ndarray:
    """Beat times strictly inside (t0, t1) at the cadence there, counted from a beat at t0: with `whole`,
    spaced so a whole number of beats ends exactly on t1 (a beat there too, not returned)."""
    if t1 <= t0:
        return np.zeros(0)
    n_pts = max(2, math.ceil((t1 - t0) / 0.02) + 1)
    t = np.linspace(t0, t1, n_pts)
    rate = cadence(t) / 60.0
    phase = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) * 0.5 * np.diff(t))])
    total = float(phase[-1])
    if whole:
        n = max(1, round(total))
        targets = np.arange(1, n) * (total / n)
    else:
        targets = np.arange(1, math.floor(total) + 1, dtype=np.float64)
        targets = targets[targets < total]
    return np.interp(targets, phase, t)


def workout_beats(timeline: Timeline) -> np.ndarray:
    """The workout's beats in seconds: its clicks, beats computed across silent steps (see the module doc),
    and a few beats past the end."""
    sr = timeline.sample_rate
    cadence = _cadence_fn(timeline)
    clicks = timeline.clicks.astype(np.float64) / sr
    end = timeline.end / sr
    if len(clicks) == 0:
        return np.concatenate([[0.0], _phase_beats(cadence, 0.0, end + 4.0, whole=False)])
    parts: list[np.ndarray] = []
    if clicks[0] > 1e-6:  # a silent start: a whole number of beats from 0 into the first click
        parts.append(np.concatenate([[0.0], _phase_beats(cadence, 0.0, float(clicks[0]), whole=True)]))
    # each run of silent steps between two clicks is filled with a whole number of beats
    silent_starts = [st.start / sr for st in timeline.steps if not st.click and st.end > st.start]
    fill_after: set[int] = set()
    for t0 in silent_starts:
        i = int(np.searchsorted(clicks, t0 + 1e-9, side="left")) - 1  # the last click before the silence
        if 0 <= i < len(clicks) - 1:
            fill_after.add(i)
    start = 0
    for i in sorted(fill_after):
        parts.append(clicks[start : i + 1])
        parts.append(_phase_beats(cadence, float(clicks[i]), float(clicks[i + 1]), whole=True))
        start = i + 1
    parts.append(clicks[start:])
    last = float(clicks[-1])
    parts.append(_phase_beats(cadence, last, max(end, last) + 4.0, whole=False))
    return np.unique(np.round(np.concatenate(parts), 9))


def glide(beats: np.ndarray, boundaries: Sequence[float], glide_beats: int, tolerance: float) -> np.ndarray:
    """The music's beats: `beats`, with the interval change at each of `boundaries` (seconds) spread over
    about `glide_beats` beats, never further than `tolerance` from `beats` (see the module doc)."""
    music = beats.copy()
    if glide_beats < 2 or len(beats) < 4:
        return music
    d = np.diff(beats)
    done_to = 0  # intervals before this one are taken by an earlier glide
    for bt in boundaries:
        kb = int(np.searchsorted(beats, bt - 1e-6, side="left"))  # first beat at or after the boundary
        straddle = kb - 1  # the interval from the beat before the boundary to the one at or after it
        if straddle < 1 or straddle >= len(d) - 1:
            continue
        nxt = next((b for b in boundaries if b > bt + 1e-6), math.inf)
        k_next = int(np.searchsorted(beats, nxt - 1e-6, side="left")) - 1
        for h in range(glide_beats // 2, 0, -1):
            i0, i1 = straddle - h, straddle + h  # the window of intervals, inclusive
            if i0 - 1 < done_to or i1 + 1 >= min(len(d), k_next - h):
                continue
            p0, p1 = d[i0 - 1], d[i1 + 1]
            if abs(p1 - p0) < 1e-4:
                break
            n = i1 - i0 + 1
            m = p0 + (p1 - p0) * np.arange(1, n + 1) / (n + 1)
            win = d[i0 : i1 + 1]
            m += (win.sum() - m.sum()) / n
            off = np.cumsum(m - win)
            if np.abs(off).max() <= tolerance and np.all(m > 0):
                music[i0 + 1 : i1 + 2] = beats[i0 + 1 : i1 + 2] + off
                done_to = i1 + 1
                break
    return music


def music_grid(timeline: Timeline, glide_beats: int = GLIDE_BEATS, tolerance: float = GLIDE_TOLERANCE_S) -> BeatGrid:
    """The beat grid of a workout for its music (see the module doc)."""
    beats = workout_beats(timeline)
    sr = timeline.sample_rate
    boundaries = [s.start / sr for s in timeline.steps[1:]]
    return BeatGrid(beats, glide(beats, boundaries, glide_beats, tolerance))


# ------------------------------------------------------------------------------------------ the plan


@dataclass
class BedPlan:
    placements: list[Placement]
    grid: BeatGrid
    songs: list[SongAnalysis]
    silent: list[tuple[float, float, float]] = field(default_factory=list)  # (start, end, cadence) with no song
    skipped: list[SongAnalysis] = field(default_factory=list)  # songs that fit no step of the workout
    cursor: int = 0  # the next song of the playlist
    max_stretch: float = 0.12
    music_lufs: float = MUSIC_LUFS


@dataclass(frozen=True)
class _Steps:
    starts: np.ndarray  # seconds
    ends: np.ndarray
    lo: np.ndarray  # the lowest and highest cadence in the step
    hi: np.ndarray

    @classmethod
    def of(cls, timeline: Timeline) -> _Steps:
        sr = timeline.sample_rate
        st = [s for s in timeline.steps if s.end > s.start]
        a = np.array([float(s.cadence_start) for s in st])
        b = np.array([float(s.cadence_end) for s in st])
        return cls(
            np.array([s.start / sr for s in st]),
            np.array([s.end / sr for s in st]),
            np.minimum(a, b) if len(st) else a,
            np.maximum(a, b) if len(st) else b,
        )

    def at(self, t: float) -> int:
        return max(int(np.searchsorted(self.starts, t + 1e-9, side="right")) - 1, 0)


def _fits(song: SongAnalysis, multiple: float, lo: float, hi: float, max_stretch: float) -> bool:
    return all(abs(c / (multiple * song.tempo) - 1.0) <= max_stretch + 1e-9 for c in (lo, hi))


def _song_beats_anchor(beats: np.ndarray, times: np.ndarray, grid: BeatGrid, boundaries: np.ndarray) -> list[int]:
    """The song's beat indices that must be breakpoints: those within the glide of a boundary (each beat)."""
    if not len(boundaries) or not len(times):
        return []
    out: set[int] = set()
    reach = (GLIDE_BEATS // 2 + 2) * float(np.median(np.diff(grid.music))) if len(grid) > 1 else 1.0
    for b in boundaries:
        lo = int(np.searchsorted(times, b - reach))
        hi = int(np.searchsorted(times, b + reach))
        out.update(range(lo, hi + 1))
    return sorted(out)


def _place_song(
    song: SongAnalysis,
    multiple: float,
    grid: BeatGrid,
    steps: _Steps,
    x0: float,
    *,
    max_stretch: float,
    in_start: float,
    out_floor: float,
    workout_end: float,
    continue_from: tuple[float, float] | None = None,
) -> tuple[Placement, str]:
    """A song whose beat 0 lands on music beat index `x0` (its beats then every `multiple` clicks), from input
    second `in_start`; it ends at its last beat ("end"), before the first step it cannot follow ("limit"),
    or at the workout's end ("workout"). `continue_from` (input s, output s): the map starts exactly there."""
    from cadencecoach.music.mix import Placement, last_beat
    from cadencecoach.music.stretch import TimeMap, beat_map

    beats = song.beats
    nominal = 60.0 / song.tempo

    def target(j: np.ndarray) -> np.ndarray:
        return grid.at(x0 + np.asarray(j, np.float64) * multiple)

    def expected(j: float) -> float:
        out = target(np.array([j - 0.5, j + 0.5]))
        return nominal / max(float(out[1] - out[0]), 1e-6)

    times = target(np.arange(len(beats)))
    last = last_beat(song)
    t_last = float(times[last])
    # the first step it cannot follow, after the one where it starts
    first_out = float(times[int(np.searchsorted(beats, in_start, side="left"))]) if len(beats) else out_floor
    i = steps.at(max(first_out, out_floor))
    end_out, why = min(t_last, workout_end), ("end" if t_last < workout_end else "workout")
    for k in range(i + 1, len(steps.starts)):
        if steps.starts[k] >= end_out:
            break
        if not _fits(song, multiple, float(steps.lo[k]), float(steps.hi[k]), max_stretch):
            end_out, why = float(steps.starts[k]), "limit"
            break
    reach = 4 * 60.0 / max(float(steps.lo.min()), 1.0) if len(steps.lo) else 1.0
    boundaries = steps.starts[(steps.starts > max(first_out, out_floor) - reach) & (steps.starts < end_out)]
    # short pieces at the song's start (its first beats on the grid however the tempo around them changes) and
    # around every tempo change it goes through
    j_start = int(np.searchsorted(beats, in_start - 0.01, side="left"))  # a beat at the very start counts
    anchors = [j_start + 1, j_start + 2, *_song_beats_anchor(beats, times, grid, boundaries)]
    tmap = beat_map(beats, target, expected, in_start, song.duration, anchors=anchors)
    if j_start < len(beats) and continue_from is None:  # its first beat exactly on its grid beat
        b0, t0 = float(beats[j_start]), float(target(np.array([float(j_start)]))[0])
        later = tmap.src > max(b0, in_start) + 0.25 * nominal  # (the map's own start is not a breakpoint)
        if np.any(later):
            s1, d1 = float(tmap.src[later][0]), float(tmap.dst[later][0])
            ratio = (d1 - t0) / (s1 - b0)
            lead = [] if in_start >= b0 else [in_start]
            src = np.concatenate([lead, [b0], tmap.src[later]])
            dst = np.concatenate([[t0 - (b0 - in_start) * ratio] if lead else [], [t0], tmap.dst[later]])
            tmap = TimeMap(src, dst)
    if continue_from is not None:  # start exactly where the song is heard now; the next pieces catch up
        u, t = continue_from
        far = tmap.src > u + nominal
        if np.any(far):
            src = np.concatenate([[u], tmap.src[far]])
            dst = np.concatenate([[t], tmap.dst[far]])
            tmap = TimeMap(src, dst)
    if float(tmap(in_start)) < out_floor:  # never before the floor (the workout's start, or now)
        in_start = min(float(tmap.inverse(out_floor)), song.duration)
    out_start = max(float(tmap(in_start)), out_floor)
    song_end = float(tmap(song.duration))
    # "end": the next song takes over at the last beat (crossfading before it)
    out_end = t_last if why == "end" and song_end <= workout_end else min(end_out, song_end)
    in_end = song.duration if why == "end" else min(float(tmap.inverse(out_end)), song.duration)
    tmap = tmap.clip(in_start, max(in_end, in_start + 1e-3))
    j = np.arange(int(np.searchsorted(beats, in_start - 0.01, side="left")), len(beats))
    beats_out = tmap(beats[j]) if len(j) else np.zeros(0)
    keep = beats_out <= out_end + 1e-9
    k0 = steps.at(float(beats_out[0]) if len(beats_out) else out_start)  # the stretch where it starts (the table)
    speed = (float(steps.lo[k0]) + float(steps.hi[k0])) / 2.0 / (multiple * song.tempo) if len(steps.lo) else 1.0
    p = Placement(song, multiple, speed, tmap, out_start, out_end, None, None, beats_out[keep], j[keep])
    p.click_from = out_start
    return p, why


def plan_bed(
    timeline: Timeline,
    songs: Sequence[SongAnalysis],
    *,
    max_stretch: float = 0.12,
    glide_beats: int = GLIDE_BEATS,
    music_lufs: float = MUSIC_LUFS,
    grid: BeatGrid | None = None,
    carry: Placement | None = None,
    from_s: float = 0.0,
    cursor: int = 0,
) -> BedPlan:
    """Songs along the workout (see the module doc). With `carry` (the placement heard at `from_s`), the plan
    starts at `from_s` with that song going on from where it is; `cursor` is the next song of the playlist."""
    from cadencecoach.music.mix import LEAD_S, MAX_GAIN_DB, fit_song

    if not songs:
        raise UsageError("--music: no readable songs")
    grid = grid if grid is not None else music_grid(timeline, glide_beats)
    steps = _Steps.of(timeline)
    sr = timeline.sample_rate
    workout_end = timeline.end / sr
    plan = BedPlan([], grid, list(songs), max_stretch=max_stretch, music_lufs=music_lufs)
    n_songs = len(songs)
    placements = plan.placements

    def gain_of(song: SongAnalysis) -> float:
        return 10 ** (min(MAX_GAIN_DB, music_lufs - song.loudness) / 20.0) if math.isfinite(song.loudness) else 1.0

    t = from_s
    prev: Placement | None = None
    why = ""
    if carry is not None and carry.out_end > from_s and len(steps.starts):
        song = carry.song
        u = float(carry.tmap.inverse(from_s))
        k_step = steps.at(from_s)
        if _fits(song, carry.multiple, float(steps.lo[k_step]), float(steps.hi[k_step]), max_stretch):
            j1 = int(np.searchsorted(song.beats, u, side="left"))
            if j1 < len(song.beats):
                t1 = float(carry.tmap(song.beats[j1]))
                q = min(carry.multiple, 1.0)
                x1 = round(grid.index(t1) / q) * q
                x0 = x1 - j1 * carry.multiple
                p, why = _place_song(
                    song, carry.multiple, grid, steps, x0, max_stretch=max_stretch, in_start=u,
                    out_floor=from_s, workout_end=workout_end, continue_from=(u, from_s),
                )  # fmt: skip
                p.gain = carry.gain
                p.fade_out = _fade_for(p, why, workout_end)
                placements.append(p)
                prev = p
                t = p.out_end
    fitting_any = set()
    attempts = 0
    while t < workout_end - 0.5 and len(steps.starts):
        crossfade = prev is not None and why == "end"
        song = songs[cursor % n_songs]
        cursor += 1
        k = steps.at(t)
        cad = (float(steps.lo[k]) + float(steps.hi[k])) / 2.0
        fit = fit_song(song, cad, max_stretch)
        x_first = -1
        if not isinstance(fit, str):
            if crossfade:
                assert prev is not None
                # the next song starts on a click CROSSFADE_STEPS before the last one's last beat
                step = 60.0 / cad
                fade = min(CROSSFADE_STEPS * step, max(step, (prev.out_end - prev.out_start) / 3.0))
                x_first = grid.first_at_or_after(prev.out_end - fade)
            else:  # on the first beat from `t` (its lead-in under the last song's fade-out, if any)
                x_first = grid.first_at_or_after(t)
            # it must follow every step from where it starts to `t`
            k0 = steps.at(float(grid.at(x_first)))
            if not all(
                _fits(song, fit[0], float(steps.lo[i]), float(steps.hi[i]), max_stretch) for i in range(k0, k + 1)
            ):
                fit = "outside the stretch limit"
        if isinstance(fit, str):
            attempts += 1
            if attempts >= n_songs:  # nothing fits this step: silence until the next one
                nxt = float(steps.ends[k])
                plan.silent.append((t, nxt, cad))
                t, prev, attempts = nxt, None, 0
            continue
        attempts = 0
        fitting_any.add(id(song))
        multiple = fit[0]
        in_start = max(0.0, float(song.beats[0]) - LEAD_S)
        floor = prev.out_start if crossfade and prev is not None else (t - LEAD_S if prev is not None else t)
        p, new_why = _place_song(
            song, multiple, grid, steps, float(x_first), max_stretch=max_stretch, in_start=in_start,
            out_floor=max(floor, 0.0), workout_end=workout_end,
        )  # fmt: skip
        if p.out_end - p.out_start < 1.0:  # the step is too short for a song: on to the next step
            t, prev = max(p.out_end, float(steps.ends[k])), None
            continue
        p.gain = gain_of(song)
        if crossfade and prev is not None:
            p.fade_in = (p.out_start, prev.out_end)
            prev.fade_out = (p.out_start, prev.out_end)
        else:
            p.fade_in = (p.out_start, p.out_start + LEAD_S) if p.out_start > 0 else None
        p.fade_out = _fade_for(p, new_why, workout_end)
        placements.append(p)
        prev, why = p, new_why
        t = p.out_end
        if len(placements) > 100_000:
            raise UsageError("--music: the playlist does not advance (songs too short)")
    plan.cursor = cursor
    plan.skipped = [s for s in songs if id(s) not in fitting_any and all(s is not p.song for p in placements)]
    return plan


def _fade_for(p: Placement, why: str, workout_end: float) -> tuple[float, float] | None:
    if why == "limit":
        return (max(p.out_start, p.out_end - CHANGE_FADE_S), p.out_end)
    if why == "workout":
        return (max(p.out_start, p.out_end - END_FADE_S), p.out_end)
    if why == "end" and p.out_end >= workout_end - 1e-6:
        return (max(p.out_start, p.out_end - END_FADE_S), p.out_end)
    return (p.out_end - 0.02, p.out_end)  # rings out to its last beat unless a next song takes over (crossfade)


def replan(plan: BedPlan, timeline: Timeline, from_s: float, *, glide_beats: int = GLIDE_BEATS) -> BedPlan:
    """The plan of an edited `timeline` from `from_s` on: the song heard there goes on (``run --music``)."""
    carry = next((p for p in plan.placements if p.out_start <= from_s < p.out_end), None)
    cursor = plan.cursor
    if carry is not None:  # the songs planned after it were not heard: the playlist goes on after it
        idx = next(i for i, s in enumerate(plan.songs) if s is carry.song)
        cursor = idx + 1
    new = plan_bed(
        timeline, plan.songs, max_stretch=plan.max_stretch, glide_beats=glide_beats, music_lufs=plan.music_lufs,
        carry=carry, from_s=from_s, cursor=cursor,
    )  # fmt: skip
    return new


def song_chapters(plan: BedPlan) -> list[Chapter]:
    """One label per song start: ``start, end, "Artist - Title"`` (the song labels beside ``render --music``)."""
    from cadencecoach.sinks.tags import Chapter

    out = []
    for p in plan.placements:
        out.append(Chapter(p.out_start, p.out_end, p.song.name))
    return out


# ------------------------------------------------------------------------------------------ rendering


class StreamedBed:
    """The planned music, streamed: ``read(start, out)`` in order (a little back is kept, :data:`HISTORY_S`)
    renders the music ahead as far as asked, on a small thread pool, mono, limited (see the module doc)."""

    def __init__(self, placements: Sequence[Placement], length: int, rate: int, *, workers: int = 2) -> None:
        self._placements = list(placements)
        self._length = length
        self._rate = rate
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="music")
        self._gen: Iterator[np.ndarray] | None = None
        self._chunks: deque[tuple[int, np.ndarray]] = deque()
        self._hi = 0  # samples [0, _hi) have come out of the stream
        self._history = round(HISTORY_S * rate)

    def _blocks(self) -> Iterator[np.ndarray]:
        from cadencecoach.music.loudness import TruePeakLimiter
        from cadencecoach.music.mix import music_stream

        limiter = TruePeakLimiter(self._rate, 1, BED_CEILING_DB)
        for _at, block in music_stream(
            self._placements, self._length / self._rate, self._rate, self._pool.submit, channels=1
        ):
            y = limiter.process(block)
            if len(y):
                yield y[:, 0].copy()
        y = limiter.flush()
        if len(y):
            yield y[:, 0].copy()

    def read(self, start: int, out: np.ndarray) -> None:
        out.fill(0.0)
        end = min(start + len(out), self._length)
        if self._gen is None:
            self._gen = self._blocks()
        while self._hi < end:
            block = next(self._gen, None)
            if block is None:
                break
            self._chunks.append((self._hi, block))
            self._hi += len(block)
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) < start - self._history:
            self._chunks.popleft()
        if self._chunks and start < self._chunks[0][0]:
            raise RuntimeError(f"music bed read at {start}, before what is kept ({self._chunks[0][0]})")
        for at, block in self._chunks:
            a, b = max(start, at), min(end, at + len(block))
            if b > a:
                out[a - start : b - start] = block[a - at : b - at]
            if at >= end:
                break

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()  # type: ignore[attr-defined]
            self._gen = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._chunks.clear()


def bed_for(source: object, timeline: Timeline) -> MusicBed:
    """The renderer's :class:`MusicBed` over `source`, ducked under the timeline's spoken cues."""
    rate = timeline.sample_rate
    spans = [(c.at, c.end) for c in timeline.cues if c.audio is not None and len(c.audio)]
    return MusicBed(
        source,  # type: ignore[arg-type]
        spans,
        depth_db=DUCK_DB,
        attack=round(DUCK_ATTACK_S * rate),
        release=round(DUCK_RELEASE_S * rate),
    )


# ------------------------------------------------------------------------------------------ the CLI's part


def load_songs(
    paths: Sequence[Path], warn: Callable[[str], None] | None, *, option: str = "--music", use_cache: bool = True
) -> tuple[list[SongAnalysis], list[Failure]]:
    """The songs found in `paths` (files and folders), analysed (or from the cache), in order; what could not
    be read is warned about, one line each. No song at all is a UsageError."""
    from cadencecoach.music.deps import require

    require(f"{option}")
    from cadencecoach.music.analysis import analyze_found

    songs, failures = analyze_found(
        paths, warn, none=f"{option}: no songs found", prefix=f"{option}: ", use_cache=use_cache
    )
    if not songs:
        raise UsageError(f"{option}: none of the {len(failures)} songs could be read")
    return songs, failures


def explain(plan: BedPlan, warn: Callable[[str], None] | None, *, option: str = "--music") -> None:
    """Warnings for the plan: songs that fit no step (with the cadences they would fit), steps with no song."""
    from cadencecoach.music.mix import ranges_text
    from cadencecoach.workout.units import format_clock

    if warn is None:
        return
    for s in plan.skipped:
        tempo = f"{s.tempo:.1f} BPM" if s.tempo > 0 else "no steady beat"
        warn(f"{option}: skipped {s.name} ({tempo}): fits no step of this workout; {ranges_text(s, plan.max_stretch)}")
    for a, b, cad in plan.silent:
        warn(
            f"{option}: no song fits {format_clock(a)}-{format_clock(b)} at {cad:g} spm "
            f"(within {plan.max_stretch * 100:g} % of stretch); that part has no music"
        )


def attach_music(
    renderer: BlockRenderer,
    timeline: Timeline,
    paths: Sequence[Path],
    warn: Callable[[str], None] | None = None,
    *,
    max_stretch: float = 0.12,
    glide_beats: int = GLIDE_BEATS,
    workers: int = 2,
) -> BedPlan:
    """``render --music``: analyze the songs, plan the bed and put it, streamed, under `renderer` (close the
    renderer's bed when done: ``renderer.bed.close()``). Returns the plan (its song table and labels)."""
    songs, _failures = load_songs(paths, warn)
    plan = plan_bed(timeline, songs, max_stretch=max_stretch, glide_beats=glide_beats)
    explain(plan, warn)
    if not plan.placements:
        raise UsageError(f"--music: no song fits any cadence of this workout within {max_stretch * 100:g} % of stretch")
    source = StreamedBed(plan.placements, timeline.length, timeline.sample_rate, workers=workers)
    renderer.set_bed(bed_for(source, timeline))
    return plan


__all__ = [
    "BeatGrid",
    "BedPlan",
    "StreamedBed",
    "attach_music",
    "bed_for",
    "explain",
    "glide",
    "load_songs",
    "music_grid",
    "plan_bed",
    "replan",
    "song_chapters",
    "workout_beats",
]
