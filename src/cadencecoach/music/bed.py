"""``render WORKOUT --music SONG_OR_DIR``: the runner's playlist under a whole workout.

The compiled timeline is cut into *sections*: runs of steps with one constant cadence and the same click
state (a ramp is a section of its own). Each section is filled with songs from the playlist, in order and
looping, skipping songs that cannot reach the section's cadence within ``max_stretch``. A song's beats are
mapped onto the section's own click times (at 1x, every other click at 2x, clicks and midpoints at 0.5x),
so the music's beats coincide with the workout's clicks; for a silent step the same grid is computed from
its cadence. Within a section songs crossfade on a click (as in ``track build``); at a section boundary
(where the cadence changes) the song fades out over the last half second and the next song starts on the
new step's first click.

The music is rendered once, before playback, to an int16 mono *bed* (the workout renderer is mono), gain
matched to ``music_lufs``, true-peak limited so that bed plus click stay below full scale, and handed to the
block renderer (:class:`cadencecoach.core.renderer.MusicBed`), which mixes it under the clicks and the coach and
ducks it by 12 dB, with 80 ms and 400 ms ramps, while the coach speaks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadencecoach.core.renderer import BlockRenderer, MusicBed
from cadencecoach.core.timeline import Timeline
from cadencecoach.errors import UsageError

if TYPE_CHECKING:  # the heavy modules are imported only once the extra is known to be there
    from cadencecoach.music.analysis import SongAnalysis
    from cadencecoach.music.mix import Placement

MUSIC_LUFS = -20.0
BED_CEILING_DB = -6.5  # bed true peak + the loudest click (0.5) stay within full scale
DUCK_DB = -12.0
DUCK_ATTACK_S = 0.08
DUCK_RELEASE_S = 0.4
SECTION_FADE_S = 0.5
CROSSFADE_STEPS = 16
MAX_BED_HOURS = 6


@dataclass
class Section:
    start: float  # seconds
    end: float
    cadence: tuple[float, float]
    click: bool
    grid: np.ndarray  # click times (seconds) of the section, at its cadence

    @property
    def mean_cadence(self) -> float:
        return (self.cadence[0] + self.cadence[1]) / 2.0


def _computed_grid(start: float, end: float, a: float, b: float) -> np.ndarray:
    """Beat times at cadence a -> b (linear in tempo) from `start` (a beat) until `end`."""
    span = end - start
    n = math.ceil(span * (a + b) / 2.0 / 60.0) + 1
    k = np.arange(n, dtype=np.float64)
    if a == b:
        t = k * 60.0 / a
    else:
        q = 60.0 * k
        t = 2.0 * q / (a + np.sqrt(np.maximum(a * a + 2.0 * (b - a) * q / span, 0.0)))
    t = start + t
    return t[t < end]


def sections_of(timeline: Timeline) -> list[Section]:
    sr = timeline.sample_rate
    clicks = timeline.clicks
    out: list[Section] = []
    for st in timeline.steps:
        a, b = float(st.cadence_start), float(st.cadence_end)
        start, end = st.start / sr, st.end / sr
        if end <= start:
            continue
        prev = out[-1] if out else None
        if prev is not None and a == b and prev.cadence == (a, b) and prev.click == st.click:
            prev.end = end
            continue
        out.append(Section(start, end, (a, b), st.click, np.zeros(0)))
    for sec in out:
        if sec.click:
            lo = int(np.searchsorted(clicks, round(sec.start * sr), side="left"))
            hi = int(np.searchsorted(clicks, round(sec.end * sr), side="left"))
            grid = clicks[lo:hi] / sr
            sec.grid = grid if len(grid) >= 2 else _computed_grid(sec.start, sec.end, *sec.cadence)
        else:
            sec.grid = _computed_grid(sec.start, sec.end, *sec.cadence)
    return out


def _song_grid(clicks: np.ndarray, multiple: float) -> np.ndarray:
    """The song's beat times on a section's click times for a song played at `multiple` x its tempo."""
    if multiple == 2.0:
        return clicks[0::2]
    if multiple == 0.5:
        mids = (clicks[:-1] + clicks[1:]) / 2.0
        out = np.empty(len(clicks) + len(mids))
        out[0::2], out[1::2] = clicks, mids
        return out
    return clicks


def plan_bed(
    timeline: Timeline,
    songs: Sequence[SongAnalysis],
    *,
    max_stretch: float = 0.12,
    music_lufs: float = MUSIC_LUFS,
    warn: Callable[[str], None] | None = None,
) -> list[Placement]:
    """Placements of songs under the workout (see the module docstring)."""
    from cadencecoach.music.mix import LEAD_S, MAX_GAIN_DB, Placement, fit_song, last_beat, song_clicks
    from cadencecoach.music.stretch import beat_map, points_grid

    if not songs:
        raise UsageError("--music: no readable songs")
    placements: list[Placement] = []
    cursor = 0  # next song of the playlist
    silent: list[str] = []
    for sec in sections_of(timeline):
        cadence = sec.mean_cadence
        step = 60.0 / cadence
        placed_in_section: list[Placement] = []
        t_from = sec.start
        attempts = 0
        while t_from < sec.end - 2 * step and attempts < len(songs):
            song = songs[cursor % len(songs)]
            cursor += 1
            fit = fit_song(song, cadence, max_stretch)
            if isinstance(fit, str):
                attempts += 1
                continue
            attempts = 0
            multiple, speed = fit
            grid = sec.grid[sec.grid >= t_from - 1e-9]
            beat_grid = _song_grid(grid, multiple)
            if len(beat_grid) < 2:
                break
            prev = placed_in_section[-1] if placed_in_section else None
            in_start = max(0.0, float(song.beats[0]) - LEAD_S)
            tmap = beat_map(song.beats, points_grid(beat_grid), speed, in_start, song.duration)
            last = last_beat(song)
            out_start = float(tmap(in_start))
            end_out = min(float(tmap(song.beats[last])), sec.end)
            final = end_out >= sec.end - 2 * step
            out_end = sec.end if final else end_out
            if final:
                out_end = min(float(tmap(song.duration)), sec.end)
            in_end = min(float(tmap.inverse(out_end)), song.duration)
            tmap = tmap.clip(in_start, in_end)
            fade_in = (out_start, out_start + LEAD_S) if prev is None else (out_start, prev.out_end)
            fade_out = (max(out_start, out_end - SECTION_FADE_S), out_end) if final else None
            first_j = int(np.searchsorted(song.beats, in_start, side="left"))
            j = np.arange(first_j, len(song.beats))
            beats_out = tmap(song.beats[j])
            keep = beats_out <= out_end
            p = Placement(song, multiple, speed, tmap, out_start, out_end, fade_in, fade_out, beats_out[keep], j[keep])
            p.clicks, p.accents = song_clicks(song, j[keep], beats_out[keep], multiple)
            if math.isfinite(song.loudness):
                p.gain = 10 ** (min(MAX_GAIN_DB, music_lufs - song.loudness) / 20.0)
            if prev is not None:
                prev.fade_out = (out_start, prev.out_end)
            placed_in_section.append(p)
            if final:
                break
            # the next song starts on a click `CROSSFADE_STEPS` before this one's last beat
            fade = min(CROSSFADE_STEPS * step, max(step, (out_end - out_start) / 3.0))
            later = grid[grid >= out_end - fade]
            t_from = float(later[0]) if len(later) else out_end
        if not placed_in_section:
            silent.append(f"{_clock(sec.start)}-{_clock(sec.end)} at {cadence:g} spm")
        placements.extend(placed_in_section)
    if warn:
        for s in silent:
            warn(f"--music: no song fits {s} (within the stretch limit); that part has no music")
    if not placements:
        raise UsageError("--music: no song fits any cadence of this workout within 12 % of stretch")
    return placements


def _clock(t: float) -> str:
    from cadencecoach.workout.units import format_clock

    return format_clock(t)


def render_bed(placements: Sequence[Placement], timeline: Timeline, *, workers: int = 2) -> MusicBed:
    """Render the placements to a ducked, limited int16 mono bed for the timeline's renderer."""
    from cadencecoach.music.loudness import TruePeakLimiter
    from cadencecoach.music.mix import music_stream

    rate = timeline.sample_rate
    total = timeline.length
    audio = np.zeros(total, np.int16)
    limiter = TruePeakLimiter(rate, 1, BED_CEILING_DB)
    pos = 0

    def put(block: np.ndarray) -> None:
        nonlocal pos
        n = min(len(block), total - pos)
        if n > 0:
            audio[pos : pos + n] = np.clip(np.rint(block[:n, 0] * 32767.0), -32767, 32767).astype(np.int16)
        pos += len(block)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for _start, block in music_stream(placements, total / rate, rate, pool.submit):
            put(limiter.process(block.mean(axis=1, keepdims=True)))
        put(limiter.flush())
    spans = [(c.at, c.end) for c in timeline.cues if c.audio is not None and len(c.audio)]
    return MusicBed(
        audio,
        1.0 / 32767.0,
        spans,
        depth_db=DUCK_DB,
        attack=round(DUCK_ATTACK_S * rate),
        release=round(DUCK_RELEASE_S * rate),
    )


def attach_music(
    renderer: BlockRenderer,
    timeline: Timeline,
    paths: Sequence[Path],
    warn: Callable[[str], None] | None = None,
    *,
    max_stretch: float = 0.12,
) -> BlockRenderer:
    """``render --music``: analyze the songs, plan and render the bed, and put it under `renderer`."""
    from cadencecoach.music.deps import require

    require("render --music")
    from cadencecoach.music.analysis import Failure, analyze_many
    from cadencecoach.music.decode import collect

    if timeline.length > MAX_BED_HOURS * 3600 * timeline.sample_rate:
        raise UsageError(f"--music works for workouts up to {MAX_BED_HOURS} hours")
    files, problems = collect(paths)
    for p in problems:
        if warn:
            warn(p)
    if not files:
        raise UsageError("--music: no songs found")
    results = list(analyze_many(files))
    songs = [r for r in results if not isinstance(r, Failure)]
    for f in results:
        if isinstance(f, Failure) and warn:
            warn(f"--music: skipped {f.path}: {f.reason}")
    placements = plan_bed(timeline, songs, max_stretch=max_stretch, warn=warn)
    renderer.set_bed(render_bed(placements, timeline))
    return renderer
