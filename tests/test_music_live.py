"""``run --music``: the live music source (music/live.py). A worker renders the planned music into a ring ahead of
the read position; the callback's reads only copy from it. The tests drive the reads themselves (a fake clock:
a block is read, then the worker is let catch up), so what each read returns is deterministic."""

from __future__ import annotations

import textwrap
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from beat_probe import kick_attacks, render_bed
from beat_probe import offsets as nearest_offsets
from cadencecoach.core.edits import change_cadence, end_step, recompile, voice_view
from cadencecoach.core.timeline import Timeline, compile_workout, cue_texts
from cadencecoach.workout.loader import load_workout_text
from extra_deps import require_extra
from music_synth import synth_song

require_extra("music")

from cadencecoach.music.analysis import SongAnalysis  # noqa: E402  (after the extra's check)
from cadencecoach.music.bed import plan_bed  # noqa: E402
from cadencecoach.music.live import LiveMusic, same_beats  # noqa: E402
from cadencecoach.music.loudness import integrated_loudness  # noqa: E402

SR = 22050
BLOCK = 1024
WORKOUT = """\
name: Live music
steps:
  - warmup: 10s
    cadence: 170
  - run: 20s
    cadence: 180
  - run: 20s
    cadence: 165
"""


@dataclass
class Setup:
    timeline: Timeline
    song: SongAnalysis
    beats: np.ndarray  # the synthetic song's true beats (input seconds)


def fake_speech(texts: set[str]) -> dict[str, np.ndarray]:
    return {t: (0.3 * np.sin(np.arange(int(0.4 * SR)) * 0.2)).astype(np.float32) for t in texts}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    folder = tmp_path_factory.mktemp("live-music")
    synth = synth_song(170.0, 60.0, pattern="four", seed=5, sr=SR, channels=1)  # a kick on every beat
    path = synth.write(folder / "four-170.wav")
    # the analysis as the tracker would give it, from the song's known beats (exact, and no analysis to wait for)
    song = SongAnalysis(
        str(path), "Four", None, len(synth.audio) / SR, SR, 1, synth.tempo_bpm, 0.9, synth.beats, 0,
        integrated_loudness(synth.audio, SR), float(np.abs(synth.audio).max()),
    )  # fmt: skip
    wk = load_workout_text(textwrap.dedent(WORKOUT), "w.yaml")
    timeline = compile_workout(wk, SR, speech=fake_speech(cue_texts(wk)))
    return Setup(timeline, song, synth.beats)


def make_music(setup: Setup, **kw: object) -> LiveMusic:
    plan = plan_bed(setup.timeline, [setup.song])
    music = LiveMusic(plan, setup.timeline, **kw).start()  # type: ignore[arg-type]
    assert music.wait_ready(3.0)
    return music


def reference(setup: Setup) -> np.ndarray:
    """The same plan streamed by ``render --music``'s source."""
    plan = plan_bed(setup.timeline, [setup.song])
    return render_bed(plan.placements, setup.timeline.length, SR)


def play(
    music: LiveMusic,
    out: np.ndarray,
    start: int,
    end: int,
    changes: dict[int, Callable[[int], None]] | None = None,
) -> None:
    """Read `out[start:end]` block by block like the callback, letting the worker catch up after each block (the
    fake clock); ``changes[sample]`` is called (with the read position) once the reads reach `sample`."""
    todo = dict(changes or {})
    for a in range(start, end, BLOCK):
        for at in [k for k in todo if k <= a]:
            todo.pop(at)(a)
            assert music.settle(10.0)
        music.read(a, out[a : min(a + BLOCK, end)])
        assert music.settle(10.0), music.error


def kicks(x: np.ndarray, sr: int = SR) -> np.ndarray:
    """Onsets (seconds) of the kick drum (:func:`beat_probe.kick_attacks`)."""
    return kick_attacks(x, sr, 0.25) / sr


def offsets(onsets: np.ndarray, timeline: Timeline, a: float, b: float) -> np.ndarray:
    """Each onset in [a, b) s minus the timeline's nearest click (seconds)."""
    inside = onsets[(onsets >= a) & (onsets < b)]
    return nearest_offsets(inside, timeline.clicks / SR)


def music_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("cadencecoach-music", "cadencecoach-stretch"))]


# ------------------------------------------------------------------------------------------------ the ring


def test_the_ring_holds_the_planned_music_ahead_and_behind(setup: Setup) -> None:
    ref = reference(setup)
    music = make_music(setup)
    try:
        out = np.zeros(setup.timeline.length, np.float32)
        play(music, out, 0, 20 * SR)
        np.testing.assert_array_equal(out[: 20 * SR], ref[: 20 * SR])  # what render --music streams, exactly
        assert music.misses == 0
        assert 6.0 <= music.ahead_now <= 7.01  # ready this far past the read position
        hi = music._span[1]
        assert hi == 20 * SR + round(music.ahead_now * SR)
        back = np.zeros(BLOCK, np.float32)
        music.read(20 * SR - round(2.5 * SR), back)  # a little behind: still there
        np.testing.assert_array_equal(back, ref[20 * SR - round(2.5 * SR) :][:BLOCK])
        ahead = np.zeros(BLOCK, np.float32)
        music.read(20 * SR + 5 * SR, ahead)  # ahead: there too
        np.testing.assert_array_equal(ahead, ref[25 * SR :][:BLOCK])
        assert music.misses == 0
        assert music.stats.ahead_min >= 6.0 - 1e-9  # topped up all along (REFILL_S below AHEAD_S at the least)
    finally:
        music.close()


def test_a_read_of_what_is_not_there_gives_zeros_at_once(setup: Setup) -> None:
    plan = plan_bed(setup.timeline, [setup.song])
    idle = LiveMusic(plan, setup.timeline)  # no worker at all: nothing is ever ready
    out = np.ones(4096, np.float32)
    t0 = time.perf_counter()
    for _ in range(100):
        idle.read(SR, out)
    assert time.perf_counter() - t0 < 0.05  # no waiting for anything
    assert not out.any() and idle.misses == 100 and idle.missed == 100 * 4096
    idle.read(-5000, out[:4096])  # before time zero (the lead-in) there is no music, and none missing
    assert not out.any() and idle.misses == 100

    music = make_music(setup)
    try:
        far = np.ones(BLOCK, np.float32)
        music.read(8 * SR, far[: BLOCK // 2])  # past what is rendered yet... (the worker has 7 s)
        assert not far[: BLOCK // 2].any() and music.misses == 1
        partly = np.ones(BLOCK, np.float32)
        hi = music._span[1]
        music.read(hi - 100, partly)  # the last 100 samples are there, the rest is zeros
        assert partly[:100].any() and not partly[100:].any() and music.missed == BLOCK // 2 + BLOCK - 100
    finally:
        music.close()


def test_read_allocates_nothing(setup: Setup) -> None:
    music = make_music(setup)
    out = np.zeros(4096, np.float32)
    play(music, out := np.zeros(setup.timeline.length, np.float32), 0, 12 * SR)  # past the ring's end once
    music.close()  # (the worker's allocations are not the callback's: only reads from here on)
    block = np.zeros(4096, np.float32)
    hi = music._span[1]
    wrap = (hi // music.size) * music.size - 1000  # a read across the ring's end copies in two parts
    assert hi - music.size + music.guard < wrap and wrap + 4096 < hi
    music.read(wrap, block)
    np.testing.assert_array_equal(block, out[wrap : wrap + 4096])
    misses = music.misses
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for k in range(2000):
            music.read(hi - 3 * SR + (k * 37) % SR, block)  # inside the ring
            music.read(wrap, block)  # across its end
            music.read(hi + 40 * SR, block)  # a miss
            music.read(-8192, block)  # the lead-in
        now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert music.misses == misses + 2000
    assert now - base < 512  # nothing kept
    assert peak - base < 2048  # nothing the size of a block (16 KiB) made: a few array views at a time


# ------------------------------------------------------------------------------------------------ changes


def test_after_a_cadence_change_the_beats_move_onto_the_new_clicks(setup: Setup) -> None:
    ref = reference(setup)
    music = make_music(setup)
    tl = setup.timeline
    out = np.zeros(tl.length, np.float32)
    changed: list[tuple[int, int, Timeline]] = []

    def faster(at: int) -> None:
        now = at + 2 * BLOCK  # the player's "now": past the block being played
        new, _first = recompile(tl, change_cadence(tl.segments, Fraction(now, SR), 10) or [], {}, "off", now)
        changed.append((at, now, new))
        music.retarget(new)

    try:
        play(music, out, 0, 26 * SR, {15 * SR: faster})
        assert music.stats.changes == 1 and music.misses == 0
    finally:
        music.close()
    at, _now, new = changed[0]
    switch = at / SR + music.stats.follow_lags[0]  # seconds: where the new music took over
    assert 0.25 <= music.stats.follow_lags[0] <= 0.6  # the lead (the reads wait for the worker here)
    np.testing.assert_array_equal(out[: 15 * SR + 3 * BLOCK], ref[: 15 * SR + 3 * BLOCK])  # before: untouched
    assert not np.array_equal(out[18 * SR : 20 * SR], ref[18 * SR : 20 * SR])  # after: other music
    onsets = kicks(out)
    period = 60.0 / 190.0
    settled = offsets(onsets, new, switch + 2 * period, 26.0)  # from two beats after the switch on
    assert len(settled) >= 20
    assert np.median(np.abs(settled)) < 0.006 and np.abs(settled).max() < 0.015, settled
    # and on the new clicks, not the old ones: the old clicks are 190/180 - 1 = 5.6 % further apart
    assert np.median(np.abs(offsets(onsets, tl, 22.0, 26.0))) > 0.03
    before = offsets(onsets, tl, 1.0, 15.0)
    assert np.median(np.abs(before)) < 0.006  # (through the glide at 10 s too)


def test_a_skip_moves_the_music_onto_the_next_steps_clicks(setup: Setup) -> None:
    music = make_music(setup)
    tl = setup.timeline
    out = np.zeros(tl.length, np.float32)
    changed: list[tuple[int, int, Timeline]] = []

    def skip(at: int) -> None:
        now = at + 2 * BLOCK
        ended = end_step(tl.segments, Fraction(now, SR), Fraction(0))
        assert ended is not None
        new, _first = recompile(tl, ended[0], {}, "off", now, cut=True)
        changed.append((at, now, new))
        music.retarget(new)

    try:
        play(music, out, 0, 27 * SR, {20 * SR + 1234: skip})  # the 165 spm step starts at once, in a new phase
    finally:
        music.close()
    at, now, new = changed[0]
    assert new.steps[2].start == now and float(new.steps[2].cadence_start) == 165.0
    assert music.stats.changes == 1 and music.misses == 0
    switch = at / SR + music.stats.follow_lags[0]
    period = 60.0 / 165.0
    onsets = kicks(out)
    settled = offsets(onsets, new, switch + 2 * period, 27.0)
    assert len(settled) >= 15
    assert np.median(np.abs(settled)) < 0.006 and np.abs(settled).max() < 0.015, settled


def test_a_change_of_voice_only_changes_nothing(setup: Setup) -> None:
    music = make_music(setup)
    tl = setup.timeline
    try:
        out = np.zeros(tl.length, np.float32)
        play(music, out, 0, 5 * SR)
        view = voice_view(tl, 5 * SR, None, 400)  # the voice muted: the cues go, the clicks and steps stay
        assert view is not tl and same_beats(view, tl)
        before = music._ring.copy()
        music.retarget(view)
        assert music.settle()
        assert music.stats.ignored == 1 and music.stats.changes == 0
        np.testing.assert_array_equal(music._ring, before)
    finally:
        music.close()


def test_pause_then_resume_goes_on_seamlessly(setup: Setup) -> None:
    ref = reference(setup)
    music = make_music(setup)
    tl = setup.timeline
    try:
        out = np.zeros(tl.length, np.float32)
        play(music, out, 0, 12 * SR)
        span = music._span
        time.sleep(0.35)  # paused: no reads; the worker wakes a few times and has nothing to do
        assert music._span == span and music.stats.restarts == 0
        play(music, out, 12 * SR, 16 * SR)
        np.testing.assert_array_equal(out[: 16 * SR], ref[: 16 * SR])  # as if there had been no pause
        assert music.misses == 0
    finally:
        music.close()


def test_a_read_far_behind_the_ring_renders_again_from_there(setup: Setup) -> None:
    ref = reference(setup)
    music = make_music(setup)
    tl = setup.timeline
    try:
        out = np.zeros(tl.length, np.float32)
        play(music, out, 0, 20 * SR)
        again = np.zeros(tl.length, np.float32)
        music.read(4 * SR, again[4 * SR : 4 * SR + BLOCK])  # the stream reopened 16 s earlier: not in the ring
        assert music.misses == 1 and not again[4 * SR : 4 * SR + BLOCK].any()
        assert music.settle()
        assert music.stats.restarts == 1
        play(music, again, 4 * SR + BLOCK, 9 * SR)
        assert music.misses == 1

        # the same music from there on: a stream started inside a song settles within a fraction of a second
        # (the stretcher's context, the limiter), then it is the music that played the first time
        def rms(x: np.ndarray) -> float:
            return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))

        a, b, c = 4 * SR + BLOCK, round(4.5 * SR), 9 * SR
        assert rms(again[a:b] - ref[a:b]) < 0.1 * rms(ref[a:b])
        assert rms(again[b:c] - ref[b:c]) < 0.01 * rms(ref[b:c])
    finally:
        music.close()


def test_close_stops_and_joins_the_threads(setup: Setup) -> None:
    before = set(music_threads())
    music = make_music(setup)
    mine = set(music_threads()) - before
    assert any(t.name == "cadencecoach-music" for t in mine)
    assert any(t.name.startswith("cadencecoach-stretch") for t in mine)  # the pool has worked already
    t0 = time.monotonic()
    music.close()
    assert time.monotonic() - t0 < 5.0
    assert not music.alive
    assert not [t for t in mine if t.is_alive()]
    music.close()  # twice is fine


# ------------------------------------------------------------------------------------------------ the CLI's part


class FakeMusic:
    def __init__(self, timeline: Timeline) -> None:
        self.target = timeline
        self.retargeted: list[Timeline] = []

    def read(self, start: int, out: np.ndarray) -> None:
        out.fill(0.25)

    def retarget(self, timeline: Timeline) -> None:
        self.target = timeline
        self.retargeted.append(timeline)


def test_every_renderer_of_the_run_has_the_bed_and_moves_the_music(setup: Setup) -> None:
    from cadencecoach import pipeline as session
    from cadencecoach.cli.play import _MusicFollower, _renderer_factory

    tl = setup.timeline
    music = FakeMusic(tl)
    build = _renderer_factory(session.AudioSettings(sample_rate=SR), None, session.make_renderer, music)
    view = voice_view(tl, SR, None, 400)
    r = build(view)
    assert r.bed is not None and r.bed.source is music and music.retargeted == [view]
    out, plain = np.zeros(4 * SR, np.float32), np.zeros(4 * SR, np.float32)
    r.render(0, out)
    session.make_renderer(view, session.AudioSettings(sample_rate=SR)).render(0, plain)
    music_part = out - plain  # the (fake) music under the clicks and cues: 0.25, ducked by 12 dB under a cue
    assert music_part.max() == pytest.approx(0.25, abs=1e-6)
    assert music_part.min() == pytest.approx(0.25 * 10 ** (-12 / 20), abs=1e-3)

    class Player:
        busy = True
        timeline = tl

    follower = _MusicFollower(music)
    follower.on_tick(Player())  # a change in flight: the music waits for it
    assert music.retargeted == [view]
    Player.busy = False
    follower.on_tick(Player())  # none: the music follows what plays
    follower.on_tick(Player())
    assert music.retargeted == [view, tl]


def test_no_music_without_the_option() -> None:
    from cadencecoach.cli.options import music_choice

    assert music_choice(None, "12", None) is None
    chosen = music_choice([Path("a.ogg"), Path("b")], "8%", 6)
    assert chosen is not None and chosen.paths == (Path("a.ogg"), Path("b"))
    assert chosen.max_stretch == pytest.approx(0.08) and chosen.glide_beats == 6
