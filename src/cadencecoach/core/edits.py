"""Live changes as pure timeline edits: what ``+``/``-`` (cadence) and ``n`` (skip a step) do to a playing
timeline, the metronome's timeline and the spoken lead-in.

Everything here is pure (numpy, the standard library, :mod:`cadencecoach.core` and the workout model): the
live player (:mod:`cadencecoach.sinks.live.player`) calls it from its main thread, recompiles and hands the
result to the audio callback. Times are exact :class:`~fractions.Fraction` seconds or integer samples.

Examples
--------
>>> tl = click_timeline(180, 1000, hours=1)
>>> cadence_now(tl, 0)
180.0
>>> changed = change_cadence(tl.segments, Fraction(10), +CADENCE_STEP)
>>> [(float(s.start), [float(c) for c in s.cadence]) for s in changed]
[(0.0, [180.0, 180.0]), (10.0, [182.0, 182.0])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from cadencecoach.core.timeline import (
    COUNTDOWN_MAX_S,
    TAIL_S,
    CompileOptions,
    Cue,
    Segment,
    Timeline,
    compile_segments,
    compile_workout,
    splice,
)
from cadencecoach.workout.model import Step, Workout
from cadencecoach.workout.units import Extent

CUT_FADE_S = 0.01  # a cue cut short by a skip fades out over this
CADENCE_STEP = 2  # spm per + or - key
CADENCE_MIN, CADENCE_MAX = 60, 300
CLICK_HOURS = 24  # `click` is one clicking step this long
LEAD_IN_TEXT = "Starting in"
LEAD_IN_GAP_S = 0.3

Audio = npt.NDArray[np.float32]
"""Mono float32 samples."""


# ================================================================================================ metronome


def click_timeline(
    spm: int | Fraction,
    sample_rate: int,
    *,
    accent: int = 0,
    breathing: tuple[int, int] | None = None,
    hours: int = CLICK_HOURS,
) -> Timeline:
    """The metronome: one clicking step of `hours`, voice off, compiled like any workout.

    Parameters
    ----------
    spm : int or Fraction
        Steps per minute.
    sample_rate : int
        Samples per second of the timeline.
    accent : int, optional
        Accent every `accent`-th click (0: none).
    breathing : tuple of int, optional
        ``(inhale, exhale)`` steps for distinct breathing clicks.
    hours : int, optional
        Length of the one step.

    Returns
    -------
    Timeline
        A timeline with clicks and no cues.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> len(tl.clicks), int(tl.clicks[1] - tl.clicks[0]), tl.cues
    (10800, 333, [])
    """
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
        name="Metronome",
        steps=(step,),
        cadence=(cadence, cadence),
        voice_mode="off",
        total_duration=seconds,
        total_steps=1,
    )
    options = CompileOptions(voice_mode="off", click=True, accent=accent, breathing=breathing)
    return compile_workout(workout, sample_rate, {}, options)


# ================================================================================================ lead-in


def lead_in_texts(name: str) -> set[str]:
    """The texts the spoken lead-in needs (``<name>. Starting in 3, 2, 1``).

    Examples
    --------
    >>> sorted(lead_in_texts("Tabata"))
    ['1', '2', '3', 'Starting in', 'Tabata']
    """
    return {name, LEAD_IN_TEXT, "3", "2", "1"}


def make_pre_roll(name: str, speech: Mapping[str, Audio], sample_rate: int) -> Audio:
    """``<name>. Starting in 3, 2, 1``: the words 3, 2, 1 start 3, 2 and 1 s before time zero.

    Parameters
    ----------
    name : str
        The workout's name (spoken first).
    speech : Mapping of str to ndarray
        Synthesized audio by text (see :func:`lead_in_texts`); missing texts are left out.
    sample_rate : int
        Samples per second.

    Returns
    -------
    ndarray
        float32 mono audio that ends at time zero.

    Examples
    --------
    >>> len(make_pre_roll("W", {}, 100))
    300
    """
    sr = int(sample_rate)
    gap = round(LEAD_IN_GAP_S * sr)
    head: list[Audio] = []
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
        audio = np.asarray(audio[: round(COUNTDOWN_MAX_S * sr)], np.float32)  # over before the next word
        start = head_len + k * sr
        out[start : start + len(audio)] += audio
    return out


# ================================================================================================ edits


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
    """Tempo at `sample` (spm), from the segments, so it stays right after live cadence changes.

    Parameters
    ----------
    timeline : Timeline
        The playing timeline.
    sample : int
        A timeline sample (negative: the lead-in, counted as 0).

    Returns
    -------
    float or None
        Steps per minute, None when no segment plays there.
    """
    if not timeline.segments:
        return None
    t = Fraction(max(sample, 0), timeline.sample_rate)
    i = segment_index(timeline.segments, t)
    if i is None:
        return None
    return float(_cadence_in(timeline.segments[i], t))


def cadence_bounds(timeline: Timeline) -> tuple[float, float] | None:
    """The slowest and fastest click of `timeline`'s clicking segments (spm), None when nothing clicks: the
    range the spoken numbers are chosen around (the live coach, the confirmations).

    Examples
    --------
    >>> cadence_bounds(click_timeline(172, 1000, hours=1))
    (172.0, 172.0)
    """
    cadences = [float(c) for seg in timeline.segments if seg.click for c in seg.cadence]
    return (min(cadences), max(cadences)) if cadences else None


def _clamp(c: Fraction) -> Fraction:
    return min(max(c, Fraction(CADENCE_MIN)), Fraction(CADENCE_MAX))


def change_cadence(segments: Sequence[Segment], now_s: Fraction, delta: int) -> list[Segment] | None:
    """Segments with the cadence of the step playing at `now_s` changed by `delta` from `now_s` on.

    The segment at `now_s` is split into ``[start, now)`` (unchanged) and ``[now, end)`` (``first=False``:
    no second announcement); later segments of the same step change too, other steps do not.

    Parameters
    ----------
    segments : sequence of Segment
        The playing timeline's segments.
    now_s : Fraction
        Seconds from which the change applies.
    delta : int
        Steps per minute to add (negative: slower); the result is kept within CADENCE_MIN..CADENCE_MAX.

    Returns
    -------
    list of Segment or None
        None when nothing plays at `now_s` or the cadence is already at its limit.
    """
    i = segment_index(segments, now_s)
    if i is None:
        return None
    cur = segments[i]
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
        if seg.same_step(cur):
            out.append(replace(seg, cadence=(_clamp(seg.cadence[0] + delta), _clamp(seg.cadence[1] + delta))))
        else:
            out.append(seg)
    return out


def end_step(
    segments: Sequence[Segment], now_s: Fraction, lag_s: Fraction = Fraction(0)
) -> tuple[list[Segment], int] | None:
    """Segments with the step playing at `now_s` ended at `now_s` and every later segment moved earlier
    by ``now_s - old_end`` (exact).

    Parameters
    ----------
    segments : sequence of Segment
        The playing timeline's segments.
    now_s : Fraction
        Seconds at which the step ends.
    lag_s : Fraction, optional
        How long before `now_s` the runner asked for it (the lap key: the output latency plus the block in
        flight, see :meth:`LivePlayer.now <cadencecoach.sinks.live.player.LivePlayer.now>`): the next step
        is that much shorter, so it ends where it would have had the step ended at the key press. Only a
        next step longer than ``4 * lag_s`` is shortened.

    Returns
    -------
    tuple of (list of Segment, int) or None
        The segments and the index of the step ended; None when nothing plays at `now_s`.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> segs = tl.segments + [replace(tl.segments[0], start=Fraction(3600), end=Fraction(3660), take=1)]
    >>> out, step = end_step(segs, Fraction(10), lag_s=Fraction(1, 5))
    >>> [(float(s.start), float(s.end)) for s in out]
    [(0.0, 10.0), (10.0, 69.8)]
    """
    i = segment_index(segments, now_s)
    if i is None:
        return None
    cur = segments[i]
    step = cur.flat.index
    _first, last = _step_span(segments, i)
    shift = now_s - segments[last].end
    # The step's own cues are all in the past now (the player keeps them from the playing timeline, cut at
    # `now`), so its segments carry no announcement here: a long one must not crowd out the next step's.
    out = [replace(seg, first=False) if seg.same_step(cur) else seg for seg in segments[:i]]
    if cur.start < now_s:
        out.append(replace(cur, end=now_s, cadence=(cur.cadence[0], _cadence_in(cur, now_s)), first=False))
    later = [replace(seg, start=seg.start + shift, end=seg.end + shift) for seg in segments[last + 1 :]]
    if later and lag_s > 0:
        nxt_last = 0
        while nxt_last + 1 < len(later) and later[nxt_last + 1].same_step(later[0]):
            nxt_last += 1
        if later[nxt_last].end - later[0].start > 4 * lag_s and later[nxt_last].end - later[nxt_last].start > lag_s:
            end_seg = later[nxt_last]
            new_end = end_seg.end - lag_s
            later[nxt_last] = replace(end_seg, end=new_end, cadence=(end_seg.cadence[0], _cadence_in(end_seg, new_end)))
            for k in range(nxt_last + 1, len(later)):
                later[k] = replace(later[k], start=later[k].start - lag_s, end=later[k].end - lag_s)
    out.extend(later)
    return out, step


def replay_step(
    segments: Sequence[Segment], now_s: Fraction, planned: Mapping[int, Segment], *, back: bool = False
) -> tuple[list[Segment], int] | None:
    """Segments where the step playing at `now_s` starts again at `now_s`, as planned (``p``: back to the start
    of the step); with `back`, the plan's step before it is played first (``p`` early in a step: back one step,
    e.g. after a mistaken lap; ``p`` twice goes back through the plan, not into the step just replayed).
    Everything after moves later by the time added (exact).

    The replayed steps are new steps on the timeline (their segments get the next ``take``), so they are
    announced again and recorded on their own; what was played of the step stays in the past.

    Parameters
    ----------
    segments : sequence of Segment
        The playing timeline's segments.
    now_s : Fraction
        Where the replay starts.
    planned : mapping of int to Segment
        Each step's planned segment (from the timeline first compiled), by step index: what a replay plays.
    back : bool, optional
        Play the previous step (then this one) instead of this one; with no step before, like False.

    Returns
    -------
    tuple of (list of Segment, int) or None
        The segments and the index of the first step replayed; None when nothing plays at `now_s` or a step
        has no plan.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> plan = {0: tl.segments[0]}
    >>> out, index = replay_step(tl.segments, Fraction(100), plan)
    >>> [(float(s.start), float(s.end), s.take) for s in out], index
    ([(0.0, 100.0, 0), (100.0, 3700.0, 1)], 0)
    """
    i = segment_index(segments, now_s)
    if i is None:
        return None
    _first, last = _step_span(segments, i)
    cur = segments[i]
    targets = [cur.flat.index]
    if back and cur.flat.index > 0:  # the plan's step before (after a replay, not the timeline's segment before)
        targets.insert(0, cur.flat.index - 1)
    if any(t not in planned for t in targets):
        return None
    take = max(seg.take for seg in segments) + 1
    out = [replace(seg, first=False) if seg.same_step(cur) else seg for seg in segments[:i]]
    if cur.start < now_s:
        out.append(replace(cur, end=now_s, cadence=(cur.cadence[0], _cadence_in(cur, now_s)), first=False))
    t = now_s
    for index in targets:
        plan = planned[index]
        length = plan.end - plan.start
        out.append(replace(plan, start=t, end=t + length, first=True, take=take))
        t += length
    shift = t - segments[last].end
    out.extend(replace(seg, start=seg.start + shift, end=seg.end + shift) for seg in segments[last + 1 :])
    return out, targets[0]


def step_bounds(segments: Sequence[Segment], now_s: Fraction) -> tuple[Fraction, Fraction] | None:
    """Start and end (seconds) of the step playing at `now_s`, all its segments together; None if none plays.

    Examples
    --------
    >>> step_bounds(click_timeline(180, 1000, hours=1).segments, Fraction(5))
    (Fraction(0, 1), Fraction(3600, 1))
    """
    i = segment_index(segments, now_s)
    if i is None:
        return None
    first, last = _step_span(segments, i)
    return segments[first].start, segments[last].end


def _sample_of(t: Fraction, sr: int) -> int:
    return round(t * sr)


def _step_span(segments: Sequence[Segment], i: int) -> tuple[int, int]:
    """Indexes of the first and last segment of the step segment `i` belongs to."""
    seg = segments[i]
    first = last = i
    while first > 0 and segments[first - 1].same_step(seg):
        first -= 1
    while last + 1 < len(segments) and segments[last + 1].same_step(seg):
        last += 1
    return first, last


def follow_cadence(
    segments: Sequence[Segment], now_s: Fraction, start: Fraction, target: Fraction, rate: Fraction
) -> list[Segment] | None:
    """Segments where, from `now_s` to the end of the step playing then, the click plays `start` spm and moves
    toward `target` by `rate` spm per second (a linear ramp, then `target`): how follow mode walks a runner's
    cadence toward the plan. The click's phase stays continuous (the timeline integrates the tempo).

    Parameters
    ----------
    segments : sequence of Segment
        The playing timeline's segments.
    now_s : Fraction
        Seconds from which the new tempo applies.
    start, target : Fraction
        Steps per minute at `now_s`, and where the ramp ends (both kept within CADENCE_MIN..CADENCE_MAX).
    rate : Fraction
        Steps per minute per second (> 0): 1 spm per 30 s is ``Fraction(1, 30)``.

    Returns
    -------
    list of Segment or None
        None when nothing plays at `now_s` or the step does not click.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> out = follow_cadence(tl.segments, Fraction(60), Fraction(170), Fraction(180), Fraction(1, 30))
    >>> [(float(s.start), float(s.end), [float(c) for c in s.cadence]) for s in out]
    [(0.0, 60.0, [180.0, 180.0]), (60.0, 360.0, [170.0, 180.0]), (360.0, 3600.0, [180.0, 180.0])]
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    i = segment_index(segments, now_s)
    if i is None or not segments[i].click:
        return None
    _first, last = _step_span(segments, i)
    cur = segments[i]
    step_end = segments[last].end
    start, target = _clamp(start), _clamp(target)
    out = list(segments[:i])
    if cur.start < now_s:
        out.append(replace(cur, end=now_s, cadence=(cur.cadence[0], _cadence_in(cur, now_s))))
    ramp_end = now_s + abs(target - start) / rate
    first_flag = cur.first and cur.start >= now_s
    if ramp_end >= step_end:  # the step ends on the way
        sign = 1 if target >= start else -1
        reached = start + sign * rate * (step_end - now_s)
        out.append(replace(cur, start=now_s, end=step_end, cadence=(start, reached), first=first_flag))
    else:
        if ramp_end > now_s:
            out.append(replace(cur, start=now_s, end=ramp_end, cadence=(start, target), first=first_flag))
            first_flag = False
        out.append(replace(cur, start=ramp_end, end=step_end, cadence=(target, target), first=first_flag))
    out.extend(segments[last + 1 :])
    return out


def retime_step(segments: Sequence[Segment], now_s: Fraction, new_end_s: Fraction) -> list[Segment] | None:
    """Segments with the step playing at `now_s` ending at `new_end_s` instead, and every later segment moved by
    the difference (exact): how a distance step follows the footpod (the end is where the runner's speed says
    the distance will be reached, so the preview and the countdown land before the real boundary).

    The step's last segment is stretched or shortened; segments of the step wholly after `new_end_s` go.

    Parameters
    ----------
    segments : sequence of Segment
        The playing timeline's segments.
    now_s : Fraction
        The present (the step must be playing then).
    new_end_s : Fraction
        The step's new end (> `now_s`).

    Returns
    -------
    list of Segment or None
        None when nothing plays at `now_s`, or `new_end_s` is not after it.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> [float(s.end) for s in retime_step(tl.segments, Fraction(5), Fraction(100))]
    [100.0]
    """
    i = segment_index(segments, now_s)
    if i is None or new_end_s <= now_s:
        return None
    _first, last = _step_span(segments, i)
    old_end = segments[last].end
    shift = new_end_s - old_end
    out = list(segments[:i])
    for seg in segments[i : last + 1]:
        if seg.start >= new_end_s:
            break
        if seg.end >= new_end_s or seg is segments[last]:
            span = seg.end - seg.start
            a, b = seg.cadence
            if seg.end > new_end_s and span > 0:  # cut inside a ramp: the tempo reached there
                b = a + (b - a) * (new_end_s - seg.start) / span
            out.append(replace(seg, end=new_end_s, cadence=(a, b)))
            break
        out.append(seg)
    for seg in segments[last + 1 :]:
        out.append(replace(seg, start=seg.start + shift, end=seg.end + shift))
    return out


def add_cue(timeline: Timeline, cue: Cue, gap: int = 0) -> Timeline | None:
    """The timeline with `cue` added (a cue the live coach says: kind ``coach``), or None when it would sound
    within `gap` samples of a cue the timeline has: a coaching remark never talks over a planned cue.

    Parameters
    ----------
    timeline : Timeline
        The playing timeline.
    cue : Cue
        The cue, with its audio and length.
    gap : int, optional
        Samples of silence kept before and after it.

    Returns
    -------
    Timeline or None

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> words = np.zeros(500, np.float32)
    >>> tl2 = add_cue(tl, Cue(2000, "coach", "Cadence 172. Up to 180.", 500, 0, words))
    >>> [(c.at, c.kind) for c in tl2.cues], add_cue(tl2, Cue(2400, "coach", "Hi.", 500, 0, words))
    ([(2000, 'coach')], None)
    """
    lo, hi = cue.at - gap, cue.end + gap
    if any(c.at < hi and c.end > lo for c in timeline.cues):
        return None
    cues = sorted([*timeline.cues, cue], key=lambda c: c.at)
    tail = _sample_of(TAIL_S, timeline.sample_rate)
    return replace(timeline, cues=cues, length=max(timeline.length, cue.end + tail))


def cut_cues(timeline: Timeline, at: int, fade: int) -> tuple[Timeline, int]:
    """The timeline with every cue still sounding at sample `at` cut to end there (a short fade-out before
    `at`).

    Parameters
    ----------
    timeline : Timeline
        The playing timeline.
    at : int
        The sample where sounding cues end.
    fade : int
        Samples of fade-out before `at` (fewer if the cue is shorter).

    Returns
    -------
    tuple of (Timeline, int)
        The new timeline and the first sample where it differs from `timeline` (`at` if nothing was cut).
    """
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
    speech: Mapping[str, Audio],
    voice_mode: str,
    at: int,
    *,
    cut: bool = False,
) -> tuple[Timeline, int]:
    """Compile `segments` and splice the result onto `playing` at sample `at`.

    Parameters
    ----------
    playing : Timeline
        The timeline the callback plays.
    segments : sequence of Segment
        The edited segments (:func:`change_cadence`, :func:`end_step`).
    speech : Mapping of str to ndarray
        Synthesized cue audio by text.
    voice_mode : str
        ``full``, ``minimal`` or ``off``.
    at : int
        The sample from which the new timeline applies.
    cut : bool, optional
        Cut the cues still sounding at `at` (:func:`cut_cues`), as a skip does.

    Returns
    -------
    tuple of (Timeline, int)
        The new timeline and the first sample where it may differ from `playing` (the swap point).
    """
    new = compile_segments(playing.name, segments, playing.sample_rate, speech, playing.options, voice_mode)
    base, first = cut_cues(playing, at, round(CUT_FADE_S * playing.sample_rate)) if cut else (playing, at)
    return splice(base, new, at=at), first


def prefix_cue(timeline: Timeline, at: int, text: str, audio: Audio, gap: int = 0) -> Timeline | None:
    """The timeline with `audio` (`text`) said first in the announcement that starts at sample `at`: how a
    skip or a replay is confirmed ("Skipped. Recover. 3 of 10. 90 seconds."). None when no cue starts at `at`,
    or the longer cue would reach the next one.

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> tl = add_cue(tl, Cue(2000, "announce", "Run.", 300, 0, np.ones(300, np.float32)))
    >>> out = prefix_cue(tl, 2000, "Skipped.", np.zeros(200, np.float32), gap=100)
    >>> [(c.at, c.text, c.length) for c in out.cues]
    [(2000, 'Skipped. Run.', 600)]
    """
    cues = list(timeline.cues)
    for k, c in enumerate(cues):
        if c.at != at or c.audio is None or c.kind not in ("announce", "finish"):
            continue
        joined = np.concatenate([np.asarray(audio, np.float32), np.zeros(max(gap, 0), np.float32), c.audio])
        shift = len(joined) - len(c.audio)
        longer = replace(
            c,
            text=f"{text} {c.text}",
            length=c.length + shift,
            audio=joined,
            key_spans=tuple((a + shift, b + shift) for a, b in c.key_spans),
        )
        if any(o is not c and o.at < longer.end and o.end > longer.at for o in cues):
            return None
        cues[k] = longer
        tail = _sample_of(TAIL_S, timeline.sample_rate)
        return replace(timeline, cues=cues, length=max(timeline.length, longer.end + tail))
    return None


def voice_view(timeline: Timeline, muted_at: int, unmuted_at: int | None, fade: int) -> Timeline:
    """What plays of `timeline`'s cues when the voice was muted at sample `muted_at` (and unmuted at
    `unmuted_at`): a cue sounding at `muted_at` fades out over `fade` samples there; the cues that start while
    muted are silent, even the one still sounding when the voice comes back (no word resumes in the middle:
    the voice speaks again from the next cue).

    Examples
    --------
    >>> tl = click_timeline(180, 1000, hours=1)
    >>> words = np.ones(500, np.float32)
    >>> for at in (1000, 3000, 5000):
    ...     tl = add_cue(tl, Cue(at, "say", f"at {at}", 500, 0, words))
    >>> view = voice_view(tl, 1200, 3200, fade=100)
    >>> [(c.at, c.length) for c in view.cues]
    [(1000, 200), (5000, 500)]
    """
    cut, _first = cut_cues(timeline, muted_at, fade)
    kept = [c for c in cut.cues if c.at < muted_at or (unmuted_at is not None and c.at >= unmuted_at)]
    return replace(cut, cues=kept)
