"""``track build``: songs stretched to a cadence, crossfaded on a beat, with clicks on the stretched beats.

Planning (:func:`plan_build`) is pure arithmetic on the analyses: for each song the multiple (1x, 2x, 0.5x)
needing the least stretch, or a skip when even that exceeds ``max_stretch``; a beat-anchored time map onto
the output beat grid (:func:`.stretch.beat_map`); where it starts and ends; its fades; its clicks. A song
after the first starts on its first beat, placed on a click of the song before, ``crossfade_steps`` steps
before that song's last beat, and the two crossfade (equal power) over those steps. With ``duration`` the
list is looped and the last song fades out to end exactly there.

Rendering (:func:`render_build`) streams: each song is decoded, resampled and stretched piece by piece (two
pieces at a time on a thread pool), faded, gain-matched to the loudness target (its BS.1770 loudness from the
analysis), summed with the clicks (the workouts' click sounds, placed by :class:`.core.renderer.ClickTrack`) and
sent through the true-peak limiter to the writer. Memory is a few seconds of audio per song in flight.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cadencecoach.errors import UsageError
from cadencecoach.music.analysis import Failure, SongAnalysis
from cadencecoach.music.decode import open_source
from cadencecoach.music.loudness import LoudnessMeter, TruePeakLimiter
from cadencecoach.music.output import Chapter, MixWriter
from cadencecoach.music.stretch import PAD_S, Submit, TimeMap, beat_map, regular_grid, stretched_stream

if TYPE_CHECKING:
    from cadencecoach.core.renderer import ClickTrack

LEAD_S = 0.05  # a song after the first starts this long before its first beat (its attack stays whole)
MIN_BEATS = 8
MIN_CONFIDENCE = 0.05
MAX_GAIN_DB = 20.0
END_FADE_S = 0.02


@dataclass(frozen=True)
class BuildOptions:
    cadence: float = 180.0
    max_stretch: float = 0.12
    click: str = "on"  # on | off | accent
    sound: str = "woodblock"
    click_volume: float = 0.5
    target_lufs: float = -14.0
    true_peak_db: float = -1.0
    crossfade_steps: int = 16
    duration: float | None = None
    sample_rate: int = 44100
    mp3_bitrate: int = 192
    bit_depth: int = 16
    workers: int = field(default_factory=lambda: max(2, min(4, os.cpu_count() or 2)))  # stretching threads


@dataclass
class Placement:
    song: SongAnalysis
    multiple: float
    speed: float  # input seconds per output second (the overall stretch)
    tmap: TimeMap
    out_start: float
    out_end: float
    fade_in: tuple[float, float] | None
    fade_out: tuple[float, float] | None
    beats_out: np.ndarray  # output seconds of the song's beats in use
    beat_index: np.ndarray  # their indices in song.beats
    clicks: np.ndarray = field(default_factory=lambda: np.zeros(0))  # output seconds
    accents: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    click_from: float = 0.0
    click_to: float = math.inf
    gain: float = 1.0

    @property
    def stretch_percent(self) -> float:
        return (self.speed - 1.0) * 100.0


@dataclass
class Skip:
    song: SongAnalysis
    reason: str


@dataclass
class BuildPlan:
    placements: list[Placement]
    skipped: list[Skip]
    failures: list[Failure]
    length: float  # seconds
    clicks: np.ndarray  # output seconds
    accents: np.ndarray
    chapters: list[Chapter]
    options: BuildOptions


def song_clicks(song: SongAnalysis, j: np.ndarray, beats_out: np.ndarray, multiple: float) -> tuple[np.ndarray, ...]:
    """Clicks (output seconds) and accent flags for the song's beats `j` mapped to `beats_out`."""
    bar = ((j - song.downbeat) % 4) == 0
    if multiple == 1.0:
        return beats_out, bar
    if multiple == 2.0:
        mids = (beats_out[:-1] + beats_out[1:]) / 2.0
        clicks = np.empty(len(beats_out) + len(mids))
        clicks[0::2] = beats_out
        clicks[1::2] = mids
        acc = np.zeros(len(clicks), bool)
        acc[0::2] = bar
        return clicks, acc
    keep = ((j - song.downbeat) % 2) == 0
    return beats_out[keep], bar[keep]


def _usable(song: SongAnalysis) -> str | None:
    if song.tempo <= 0 or len(song.beats) < MIN_BEATS:
        return "no steady beat found"
    if song.confidence < MIN_CONFIDENCE:
        return f"beat too unclear (confidence {song.confidence:.2f})"
    return None


def fit_song(song: SongAnalysis, cadence: float, max_stretch: float) -> tuple[float, float] | str:
    """(multiple, speed) or the reason the song cannot be used at `cadence`.

    Of the multiples within `max_stretch` (1x, 2x, 0.5x), the one needing the least stretch (in log terms): a
    song fits exactly the cadences of :func:`fit_ranges`. The reason for a song that does not fit names the
    cadences it would fit (:func:`ranges_text`)."""
    reason = _usable(song)
    if reason:
        return reason
    fits = [f for f in song.fits(cadence) if abs(f[1] - 1.0) <= max_stretch + 1e-9]
    if fits:
        return min(fits, key=lambda f: abs(math.log(f[1])))
    fit = song.best_fit(cadence)
    assert fit is not None
    multiple, speed = fit
    return (
        f"{song.tempo:.1f} BPM needs {(speed - 1) * 100:+.1f} % at {multiple:g}x "
        f"(more than --max-stretch {max_stretch * 100:g} %); {ranges_text(song, max_stretch)}"
    )


def last_beat(song: SongAnalysis) -> int:
    """Index of the song's last beat that is not in its last 0.3 s (a ring-out, not music)."""
    return max(int(np.searchsorted(song.beats, song.duration - 0.3, side="right")) - 1, 0)


def _place(
    song: SongAnalysis, multiple: float, speed: float, first_beat_out: float, in_start: float, cadence: float
) -> tuple[TimeMap, int]:
    period_out = 60.0 * multiple / cadence
    tmap = beat_map(song.beats, regular_grid(first_beat_out, period_out), speed, in_start, song.duration)
    return tmap, last_beat(song)


def plan_build(songs: Sequence[SongAnalysis], failures: Sequence[Failure], options: BuildOptions) -> BuildPlan:
    """Where every song goes (see the module docstring). Raises UsageError when no song can be used."""
    cadence = float(options.cadence)
    step = 60.0 / cadence
    usable: list[tuple[SongAnalysis, float, float]] = []
    skipped: list[Skip] = []
    for song in songs:
        fit = fit_song(song, cadence, options.max_stretch)
        if isinstance(fit, str):
            skipped.append(Skip(song, fit))
        else:
            usable.append((song, fit[0], fit[1]))
    if not usable:
        detail = "; ".join(f"{s.song.name}: {s.reason}" for s in skipped) or "no readable songs"
        raise UsageError(f"no song can be played at {cadence:g} spm ({detail})")
    duration = options.duration
    placements: list[Placement] = []
    i = 0
    while True:
        song, multiple, speed = usable[i % len(usable)]
        prev = placements[-1] if placements else None
        if prev is None:
            in_start = 0.0
            first_out = float(song.beats[0]) / speed
        else:
            in_start = max(0.0, float(song.beats[0]) - LEAD_S)
            end = prev.beats_out[-1]
            fade = min(options.crossfade_steps * step, max(step, (end - prev.out_start) / 3.0))
            k = int(np.argmin(np.abs(prev.clicks - (end - fade))))
            first_out = float(prev.clicks[k]) if len(prev.clicks) else end - fade
        tmap, last = _place(song, multiple, speed, first_out, in_start, cadence)
        out_start = float(tmap(in_start))
        is_last_of_list = duration is None and i == len(usable) - 1
        song_end_out = float(tmap(song.duration))
        last_beat_out = float(tmap(song.beats[last]))
        fade_out: tuple[float, float] | None = None
        if duration is not None and song_end_out >= duration - 1e-6:
            out_end = float(duration)
            fade_out = (max(out_start, out_end - options.crossfade_steps * step), out_end)
            final = True
        elif is_last_of_list:
            out_end = song_end_out
            fade_out = (out_end - END_FADE_S, out_end)
            final = True
        else:
            out_end = last_beat_out
            final = False
        in_end = float(tmap.inverse(out_end))
        tmap = tmap.clip(in_start, min(in_end, song.duration))
        first_j = int(np.searchsorted(song.beats, in_start, side="left"))
        j = np.arange(first_j, len(song.beats))
        beats_out = tmap(song.beats[j])
        inside = beats_out <= out_end + 1e-9
        j, beats_out = j[inside], beats_out[inside]
        if len(beats_out) == 0:
            beats_out, j = np.array([out_start]), np.array([first_j])
        fade_in = None
        if prev is not None:
            fade_in = (out_start, prev.out_end)
            prev.fade_out = (first_out, prev.out_end)
            # the clicks change hands half a step after the click nearest the crossfade's middle
            mid = (first_out + prev.out_end) / 2.0
            if len(prev.clicks):
                mid = float(prev.clicks[int(np.argmin(np.abs(prev.clicks - mid)))]) + step / 2.0
            prev.click_to = mid
            click_from = mid
        else:
            click_from = 0.0
        p = Placement(song, multiple, speed, tmap, out_start, out_end, fade_in, fade_out, beats_out, j)
        p.click_from = click_from
        p.clicks, p.accents = song_clicks(song, j, beats_out, multiple)
        if math.isfinite(song.loudness):
            gain_db = min(MAX_GAIN_DB, options.target_lufs - song.loudness)
            p.gain = 10 ** (gain_db / 20.0)
        placements.append(p)
        i += 1
        if final:
            break
        if i > 10_000:
            raise UsageError("the playlist does not advance (songs too short for the crossfade)")
    length = placements[-1].out_end
    # clicks: each placement owns [click_from, click_to)
    clicks: list[np.ndarray] = []
    accents: list[np.ndarray] = []
    for p in placements:
        own = (p.clicks >= p.click_from) & (p.clicks < min(p.click_to, length)) & (p.clicks >= 0)
        clicks.append(p.clicks[own])
        accents.append(p.accents[own])
    all_clicks = np.concatenate(clicks) if clicks else np.zeros(0)
    all_acc = np.concatenate(accents) if accents else np.zeros(0, bool)
    order = np.argsort(all_clicks, kind="stable")
    all_clicks, all_acc = all_clicks[order], all_acc[order]
    if len(all_clicks) > 1:  # no two clicks closer than half a step (at a song change)
        keep = np.ones(len(all_clicks), bool)
        last_t = all_clicks[0]
        for n in range(1, len(all_clicks)):
            if all_clicks[n] - last_t < 0.5 * step:
                keep[n] = False
            else:
                last_t = all_clicks[n]
        all_clicks, all_acc = all_clicks[keep], all_acc[keep]
    chapters = []
    for n, p in enumerate(placements):
        start = 0.0 if n == 0 else p.click_from
        end = placements[n + 1].click_from if n + 1 < len(placements) else length
        chapters.append(Chapter(start, end, p.song.title, p.song.artist))
    return BuildPlan(placements, skipped, list(failures), length, all_clicks, all_acc, chapters, options)


def fit_ranges(song: SongAnalysis, max_stretch: float) -> list[tuple[float, float, float]]:
    """The cadences (steps per minute) at which :func:`fit_song` places `song`: ``(lo, hi, multiple)`` for
    1x, 2x and 0.5x its tempo, each ``multiple * tempo * (1 -/+ max_stretch)``, clipped to the cadences the
    command line takes (60-300 spm), in that order. Ranges that overlap (a stretch of a third or more) are
    merged into one, which keeps the multiple of its slowest part. No range: no usable beat, or none in 60-300.

    >>> import numpy as np
    >>> song = SongAnalysis("a.ogg", "A", None, 200.0, 44100, 2, 167.0, 0.8, np.arange(300) * 0.36, 0, -14, 1)
    >>> [(round(lo, 1), round(hi, 1), m) for lo, hi, m in fit_ranges(song, 0.12)]
    [(147.0, 187.0, 1.0), (293.9, 300.0, 2.0), (73.5, 93.5, 0.5)]
    """
    return [(lo, hi, members[0]) for lo, hi, members in _fit_spans(song, max_stretch)]


def ranges_text(song: SongAnalysis, max_stretch: float) -> str:
    """:func:`fit_ranges` in words: ``fits 147-187 spm (1x), 294-300 spm (2x), 74-93 spm (0.5x)``, whole steps
    per minute inside each range; a merged range names its multiples, ``fits 60-216 spm (1x, 2x)``.

    >>> import numpy as np
    >>> song = SongAnalysis("a.ogg", "A", None, 200.0, 44100, 2, 167.0, 0.8, np.arange(300) * 0.36, 0, -14, 1)
    >>> ranges_text(song, 0.12)
    'fits 147-187 spm (1x), 294-300 spm (2x), 74-93 spm (0.5x)'
    >>> slow = SongAnalysis("b.ogg", "B", None, 200.0, 44100, 2, 80.0, 0.8, np.arange(300) * 0.75, 0, -14, 1)
    >>> ranges_text(slow, 0.35)
    'fits 60-216 spm (1x, 2x)'
    """
    spans = _fit_spans(song, max_stretch)
    if not spans:
        why = _usable(song)
        return f"fits no cadence ({why})" if why else "fits no cadence of 60-300 spm"
    parts = []
    for lo, hi, members in spans:
        a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
        span = f"{a}-{b}" if a < b else f"{a}" if a == b else f"{(lo + hi) / 2:.1f}"
        parts.append(f"{span} spm ({', '.join(f'{m:g}x' for m in members)})")
    return "fits " + ", ".join(parts)


def _fit_spans(song: SongAnalysis, max_stretch: float) -> list[tuple[float, float, list[float]]]:
    """(lo, hi, its multiples from the slowest part up), merged where they overlap, in the order 1x, 2x, 0.5x."""
    from cadencecoach.core.edits import CADENCE_MAX, CADENCE_MIN
    from cadencecoach.music.analysis import MULTIPLES

    if _usable(song):
        return []
    raw = []
    for m in MULTIPLES:
        lo = max(m * song.tempo * (1.0 - max_stretch), float(CADENCE_MIN))
        hi = min(m * song.tempo * (1.0 + max_stretch), float(CADENCE_MAX))
        if lo <= hi:
            raw.append((lo, hi, m))
    merged: list[tuple[float, float, list[float]]] = []
    for lo, hi, m in sorted(raw):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi), [*merged[-1][2], m])
        else:
            merged.append((lo, hi, [m]))
    return sorted(merged, key=lambda span: min(MULTIPLES.index(m) for m in span[2]))


# ------------------------------------------------------------------------------------------- render


def song_blocks(path: str, rate: int, channels: int = 2) -> Iterator[np.ndarray]:
    """The song as float32 blocks at `rate`: stereo (a mono song doubled), or mono (`channels` 1: the mean of
    its first two channels, for the workout's mono mix, stretched at half the cost)."""
    import soxr

    with open_source(path) as src:
        ch_in = src.info.channels
        rs = (
            None
            if src.info.sample_rate == rate
            else soxr.ResampleStream(src.info.sample_rate, rate, channels, "float32")
        )
        for b in src.blocks():
            if channels == 1:
                b = b[:, :1] if ch_in == 1 else b[:, :2].mean(axis=1, keepdims=True)
            elif ch_in == 1:
                b = np.repeat(b, 2, axis=1)
            elif ch_in > 2:
                b = b[:, :2]
            if rs is not None:
                b = rs.resample_chunk(np.ascontiguousarray(b))
            if len(b):
                yield np.ascontiguousarray(b, np.float32)
        if rs is not None:
            tail = rs.resample_chunk(np.zeros((0, channels), np.float32), last=True)
            if len(tail):
                yield tail


def _apply_envelope(p: Placement, seg: np.ndarray, a: int, rate: int) -> np.ndarray:
    """`seg` (output samples [a, a + len)) times the song's gain and fades (curves only where they are)."""
    out = seg * np.float32(p.gain)
    b = a + len(seg)
    for fade, rising in ((p.fade_in, True), (p.fade_out, False)):
        if fade is None or fade[1] <= fade[0]:
            continue
        f0, f1 = round(float(fade[0] * rate)), round(float(fade[1] * rate))
        if (b <= f0 and not rising) or (a >= f1 and rising):
            continue
        if (b <= f0 and rising) or (a >= f1 and not rising):
            out[:] = 0.0
            continue
        x = np.clip((np.arange(a, b, dtype=np.float64) + 0.5 - f0) / max(f1 - f0, 1), 0.0, 1.0)
        curve = np.sin(0.5 * np.pi * x) if rising else np.cos(0.5 * np.pi * x)
        out *= curve.astype(np.float32)[:, None]
    return out


SILENCE_BLOCK = 1 << 16  # silence between songs is yielded in blocks this long (memory never grows with a gap)


def _silence(start: int, end: int, channels: int) -> Iterator[tuple[int, np.ndarray]]:
    for a in range(start, end, SILENCE_BLOCK):
        yield a, np.zeros((min(SILENCE_BLOCK, end - a), channels), np.float32)


def music_stream(
    placements: Sequence[Placement],
    length: float,
    rate: int,
    submit: Submit | None,
    *,
    channels: int = 2,
    start: int = 0,
) -> Iterator[tuple[int, np.ndarray]]:
    """The summed, faded, gain-matched music of `placements` (sorted by start; only neighbours overlap):
    contiguous (start sample, block) from sample `start` to ``length`` seconds, `channels` wide.

    From a `start` inside a song, that song is stretched from there on (its map cut at `start`, less the
    stretcher's context): what is yielded is the same music a stream from 0 yields there, to within the joins
    of the stretched pieces (a few samples' rounding)."""
    total = round(float(length * rate))
    acc = np.zeros((0, channels), np.float32)  # output samples [emitted, emitted + len(acc)) still open
    emitted = start
    todo = [p for p in placements if round(float(p.out_end * rate)) > start]
    for n, p in enumerate(todo):
        nxt_start = round(float(todo[n + 1].out_start * rate)) if n + 1 < len(todo) else total
        nxt_start = max(nxt_start, emitted)
        lo_limit, hi_limit = round(float(p.out_start * rate)), min(round(float(p.out_end * rate)), total)
        if lo_limit > emitted + len(acc):  # silence before this song
            ready = len(acc)
            if ready:
                yield emitted, acc
                emitted += ready
                acc = np.zeros((0, channels), np.float32)
            yield from _silence(emitted, lo_limit, channels)
            emitted = lo_limit
        tmap = p.tmap
        if start > lo_limit:  # cut the map a piece's context before `start`
            u = float(tmap.inverse(start / rate)) - 2 * PAD_S
            if u > tmap.src[0]:
                tmap = tmap.clip(u, float(tmap.src[-1]))
        for at, block in stretched_stream(song_blocks(p.song.path, rate, channels), channels, rate, tmap, submit):
            a, b = max(at, lo_limit, emitted), min(at + len(block), hi_limit)
            if b <= a:
                continue
            seg = _apply_envelope(p, block[a - at : b - at], a, rate)
            need = b - emitted
            if need > len(acc):
                acc = np.concatenate([acc, np.zeros((need - len(acc), channels), np.float32)])
            acc[a - emitted : b - emitted] += seg
            ready = min(b, nxt_start) - emitted
            if ready > 0:
                yield emitted, acc[:ready]
                acc = acc[ready:]
                emitted += ready
        # whatever is before the next song's start is final now
        ready = min(nxt_start, emitted + len(acc)) - emitted
        if ready > 0:
            yield emitted, acc[:ready]
            acc = acc[ready:]
            emitted += ready
        if nxt_start > emitted:  # a gap: silence
            yield from _silence(emitted, min(nxt_start, total), channels)
            acc = np.zeros((0, channels), np.float32)
            emitted = max(emitted, min(nxt_start, total))
    if len(acc) and emitted < total:
        yield emitted, acc[: total - emitted]
        emitted = min(total, emitted + len(acc))
    if emitted < total:
        yield from _silence(emitted, total, channels)


@dataclass
class BuildResult:
    path: Path
    labels: Path
    seconds: float
    clicks: int
    loudness: float  # integrated LUFS of the written mix
    limiter_db: float  # largest gain reduction of the true-peak limiter (<= 0)


def click_renderer(onsets_s: np.ndarray, accents: np.ndarray, length: int, options: BuildOptions) -> ClickTrack:
    """The clicks of the mix: the workouts' click sounds (:class:`~cadencecoach.core.renderer.ClickTrack`) at
    these onsets (seconds), accented where `accents` says when ``options.click`` is ``"accent"``."""
    from cadencecoach.core.renderer import ClickTrack
    from cadencecoach.core.timeline import ACCENT, REGULAR
    from cadencecoach.sounds import load_bank

    rate = options.sample_rate
    onsets = np.rint(np.asarray(onsets_s) * rate).astype(np.int64)
    ok = (onsets >= 0) & (onsets < length)
    voices = np.where(np.asarray(accents)[ok], ACCENT, REGULAR).astype(np.uint8)
    if options.click != "accent":
        voices[:] = REGULAR
    try:
        bank = load_bank(options.sound, rate)
    except ValueError as exc:
        raise UsageError(f"--sound: {exc}") from None
    return ClickTrack(onsets[ok], voices, bank, click_level=options.click_volume)


def render_build(
    plan: BuildPlan, output: Path, *, progress: bool | None = None, title: str | None = None
) -> BuildResult:
    """Write the planned mix to `output` (+ its label file); returns what was written."""
    options = plan.options
    rate = options.sample_rate
    total = round(float(plan.length * rate))
    clicks = click_renderer(plan.clicks, plan.accents, total, options) if options.click != "off" else None
    limiter = TruePeakLimiter(rate, 2, options.true_peak_db)
    meter = LoudnessMeter(rate, 2)
    show = sys.stderr.isatty() if progress is None else progress
    click_buf = np.zeros(1 << 17, np.float32)
    with (
        ThreadPoolExecutor(max(1, options.workers)) as pool,
        MixWriter(
            output, rate, 2, bitrate=options.mp3_bitrate, bit_depth=options.bit_depth,
            chapters=plan.chapters, title=title,
        ) as writer,
    ):  # fmt: skip
        bar = _Progress(total, output.name) if show else None
        try:
            for start, block in music_stream(plan.placements, plan.length, rate, pool.submit):
                for s in range(0, len(block), len(click_buf)):
                    part = block[s : s + len(click_buf)]
                    if clicks is not None:
                        cb = click_buf[: len(part)]
                        clicks.render(start + s, cb)
                        part = part + cb[:, None]
                    out = limiter.process(part)
                    if len(out):
                        meter.feed(out)
                        writer.write(out)
                if bar:
                    bar.update(start + len(block))
            out = limiter.flush()
            if len(out):
                meter.feed(out)
                writer.write(out)
        finally:
            if bar:
                bar.close()
    return BuildResult(
        output, writer.labels_path, total / rate, len(plan.clicks), meter.integrated(), limiter.max_reduction_db
    )


class _Progress:
    def __init__(self, total: int, label: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from cadencecoach.terminal import console, safe_text

        self._p = Progress(
            TextColumn("[bold]building[/]"),
            TextColumn("{task.description}", markup=False),  # file-borne: no markup, no emoji codes
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self._p.start()
        self._task = self._p.add_task(safe_text(label), total=total)

    def update(self, done: int) -> None:
        self._p.update(self._task, completed=done)

    def close(self) -> None:
        self._p.stop()
