"""``render WORKOUT --music``: the playlist under a workout (music/bed.py) and the renderer's music bed
(renderer.MusicBed): beats on the workout's clicks, songs changing where the cadence changes, ducking."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as hs

from beat_probe import CONTINUOUS, kick_onsets, offsets, render_bed
from cadencecoach.core.renderer import ArraySource, BlockRenderer, MusicBed
from cadencecoach.core.timeline import compile_workout, cue_texts
from cadencecoach.workout.loader import load_workout_text
from extra_deps import needs_extra, require_extra
from music_synth import synth_song

needs_music = needs_extra("music")  # skipped when not installed; a broken install fails

SR = 22050
WORKOUT = """\
name: Music under a workout
steps:
  - warmup: 30s
    cadence: 170
  - repeat: 2
    steps:
      - run: 24s
        cadence: 180
      - recover: 14s
        cadence: 160
        click: off
  - cooldown: 20s
    cadence: 165-170
"""


def fake_speech(texts: set[str]) -> dict[str, np.ndarray]:
    out = {}
    for i, text in enumerate(sorted(texts)):
        n = int(SR * min(0.9, 0.3 + 0.02 * len(text)))
        out[text] = (0.5 * np.sin(2 * np.pi * (400 + 30 * i) * np.arange(n) / SR)).astype(np.float32)
    return out


# ------------------------------------------------------------------------------ MusicBed (no extra needed)


def test_bed_ducks_smoothly_under_spans() -> None:
    audio = np.full(20000, 16384, np.int16)
    bed = MusicBed(
        ArraySource(audio, 1 / 32768),
        [(5000, 6000), (6100, 6500), (15000, 15500)],
        depth_db=-12,
        attack=400,
        release=1000,
    )
    out = np.zeros(20000, np.float32)
    bed.mix_into(0, out)
    depth = 10 ** (-12 / 20)
    assert out[1000] == pytest.approx(0.5)
    assert out[4600 - 1] == pytest.approx(0.5, abs=0.01)  # the attack ramp starts 400 samples before
    assert out[4800] == pytest.approx(0.5 * (1 - (1 - depth) * 0.5), abs=0.01)
    assert np.allclose(out[5000:6500], 0.5 * depth)  # two spans closer than attack + release: one
    assert out[7000] == pytest.approx(0.5 * (1 - (1 - depth) * 0.5), abs=0.01)  # halfway up the release
    assert out[8000] == pytest.approx(0.5)
    assert np.all(np.abs(np.diff(out)) < 0.5 * (1 - depth) / 400 + 1e-6)  # no step anywhere
    unducked = np.zeros(20000, np.float32)
    bed.mix_into(0, unducked, duck=False)
    assert np.allclose(unducked, 0.5)
    # any block split gives the same samples, also past the end of the bed
    parts = np.zeros(21000, np.float32)
    for s in range(0, 21000, 777):
        blk = parts[s : s + 777]
        bed.mix_into(s, blk)
    np.testing.assert_array_equal(parts[:20000], out)
    assert not parts[20000:].any()


def test_renderer_mixes_the_bed_under_clicks_and_cues() -> None:
    wk = load_workout_text(textwrap.dedent(WORKOUT), "w.yaml")
    tl = compile_workout(wk, SR, speech=fake_speech(cue_texts(wk)))
    bank = [np.full(40, 0.9, np.float32)] * 4
    r = BlockRenderer(tl, bank)
    base = np.empty(tl.length, np.float32)
    r.render(0, base)
    music = (np.sin(np.arange(tl.length) * 0.05) * 8000).astype(np.int16)
    r.set_bed(MusicBed(ArraySource(music, 1 / 32767), [(c.at, c.end) for c in tl.cues], attack=100, release=200))
    mixed = np.empty(tl.length, np.float32)
    for s in range(0, tl.length, 5000):
        r.render(s, mixed[s : s + 5000])
    cue = tl.cues[3]
    quiet = slice(cue.end + 5000, cue.end + 6000)  # no cue, no click nearby? compare the bed only
    diff = mixed - base
    mid = slice(cue.at + (cue.length // 2) - 50, cue.at + (cue.length // 2) + 50)
    assert np.abs(diff[mid]).max() < 10 ** (-12 / 20) * 8000 / 32767 * 1.01  # -12 dB under the voice
    assert np.abs(diff[quiet]).max() > 0.9 * 8000 / 32767
    r.voice_enabled = False  # voice muted: nothing to duck under
    again = np.empty(tl.length, np.float32)
    r.render(0, again)
    assert np.abs(again - base)[mid].max() > 0.5 * 8000 / 32767


# ------------------------------------------------------------------------------ with the extra


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_extra("music")
    root = tmp_path_factory.mktemp("bed")
    folder = root / "songs"
    folder.mkdir()
    for i, (tempo, pattern) in enumerate([(172.0, "rock"), (88.0, "four"), (186.0, "rock")]):
        synth_song(tempo, 26.0, pattern=pattern, seed=30 + i, sr=SR).write(folder / f"{i}.wav", title=f"S{i}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCECOACH_CACHE_DIR", str(root / "cache"))
        yield folder


def _timeline(text: str = WORKOUT, sr: int = SR):  # type: ignore[no-untyped-def]
    wk = load_workout_text(textwrap.dedent(text), "w.yaml")
    return compile_workout(wk, sr, speech=fake_speech(cue_texts(wk)))


# ------------------------------------------------------------------------------ the beat grid (numpy only)


def test_grid_keeps_the_clicks_and_fills_silent_steps_with_whole_beats() -> None:
    from cadencecoach.music.bed import GLIDE_TOLERANCE_S, music_grid

    tl = _timeline(CONTINUOUS)
    grid = music_grid(tl, glide_beats=0)
    clicks = tl.clicks / SR
    assert np.isin(np.round(clicks, 6), np.round(grid.clicks, 6)).all()  # every click is a beat
    np.testing.assert_array_equal(grid.music, grid.clicks)  # no glide asked
    last = clicks[clicks < 54.0][-1]
    silent = grid.clicks[(grid.clicks > last + 1e-6) & (grid.clicks < 68.0 - 1e-6)]
    gaps = np.diff(np.concatenate([[last], silent, [68.0]]))
    assert gaps[0] == pytest.approx(60 / 180, rel=0.02)  # the beat after the last click is still the run's
    assert np.allclose(gaps[2:], 60 / 165, rtol=0.02)  # 165 spm, a whole number of beats into the next click
    assert len(np.unique(np.round(gaps[2:], 6))) <= 2
    glided = music_grid(tl, glide_beats=4)
    off = glided.music - glided.clicks
    assert np.abs(off).max() <= GLIDE_TOLERANCE_S + 1e-9
    assert np.abs(off).max() > 0.002  # it does glide
    far = np.ones(len(off), bool)
    for st in tl.steps[1:]:
        far &= np.abs(glided.clicks - st.start / SR) > 4 * 60 / 165
    assert not off[far].any()  # away from the boundaries the music's beats are the clicks


@settings(max_examples=60, deadline=None)
@given(
    a=hs.floats(140, 200), b=hs.floats(140, 200), beats=hs.integers(0, 16), n0=hs.integers(8, 40), n1=hs.integers(8, 40)
)
def test_glide_spreads_a_tempo_change_within_the_tolerance(a: float, b: float, beats: int, n0: int, n1: int) -> None:
    from cadencecoach.music.bed import glide

    p0, p1 = 60 / a, 60 / b
    first = np.arange(n0) * p0
    boundary = float(first[-1] + p0)
    clicks = np.concatenate([first, boundary + np.arange(n1) * p1])
    music = glide(clicks, [boundary], beats, 0.012)
    assert np.abs(music - clicks).max() <= 0.012 + 1e-9
    assert music[0] == clicks[0] and music[-1] == clicks[-1]  # it meets the clicks again
    d = np.diff(music)
    assert (d > 0).all()
    steps = np.diff(d)
    if abs(p1 - p0) > 1e-4:  # the interval moves one way only: a glide, never a wobble
        assert ((steps * np.sign(p1 - p0)) >= -1e-9).all()
        changed = music != clicks
        if beats >= 2 and changed.any():
            assert np.abs(steps).max() < abs(p1 - p0) - 1e-6  # spread over more than one beat


# ------------------------------------------------------------------------------ with the extra


@pytest.fixture(scope="module")
def long_song(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, np.ndarray]]:
    """A 2-minute song at 174 BPM, a kick on every beat: it fits every step of CONTINUOUS (within 12 %)."""
    require_extra("music")
    root = tmp_path_factory.mktemp("long")
    song = synth_song(174.0, 125.0, pattern="four", seed=7, sr=SR)
    path = song.write(root / "long.wav", title="Long")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCECOACH_CACHE_DIR", str(root / "cache"))
        yield path, song.beats


@needs_music
def test_a_song_goes_on_across_step_boundaries_with_its_beats_on_the_clicks(long_song: tuple[Path, np.ndarray]) -> None:
    from cadencecoach.music.analysis import analyze_file
    from cadencecoach.music.bed import music_grid, plan_bed

    path, true_beats = long_song
    tl = _timeline(CONTINUOUS)
    song = analyze_file(path)
    plan = plan_bed(tl, [song])
    first = plan.placements[0]
    assert first.out_start == 0.0 and first.out_end >= tl.end / SR - 1e-6  # one song, never restarted
    assert len(plan.placements) == 1
    clicks = music_grid(tl, glide_beats=0).clicks
    # the map: every true beat of the song lands on a click (within 15 ms), through every glide
    mapped = first.tmap(true_beats[(true_beats >= first.tmap.src[0]) & (true_beats <= first.tmap.src[-1])])
    mapped = mapped[mapped < tl.end / SR - 0.5]
    off = np.abs(offsets(mapped, clicks))
    assert off.max() < 0.015, off.max()
    assert np.median(off) < 0.004
    # the input is continuous: the map rises steadily, its pieces' speeds follow the steps' cadences
    assert (np.diff(first.tmap.dst) > 0).all() and (np.diff(first.tmap.src) > 0).all()
    speeds = np.diff(first.tmap.src) / np.diff(first.tmap.dst)
    assert speeds.min() > 165 / 174 * 0.95 and speeds.max() < 180 / 174 * 1.05
    # the audio: kicks on the clicks through the boundaries, and never a gap (no fade at a boundary)
    out = render_bed(plan.placements, tl.length, SR, block=4096)
    raw = kick_onsets(synth_song(174.0, 125.0, pattern="four", seed=7, sr=SR).audio.mean(axis=1), SR)
    latency = float(np.median(offsets(raw, true_beats)))  # the detector's own delay on the unstretched song
    kicks = kick_onsets(out[: tl.end], SR) - latency
    kicks = kicks[kicks > 0.5]
    heard = np.abs(offsets(kicks, clicks))
    assert len(kicks) > 0.9 * len(clicks[clicks < tl.end / SR - 0.5])
    assert np.median(heard) < 0.005 and np.percentile(heard, 95) < 0.012 and heard.max() < 0.015, heard.max()
    for st in tl.steps[1:]:
        b = st.start
        beat = round(SR * 60 / 165)  # the longest beat: every window holds a kick
        rms = [float(np.sqrt(np.mean(out[a : a + beat] ** 2))) for a in range(b - SR, b + SR - beat, SR // 20)]
        assert min(rms) > 0.6 * max(rms), (st.label, rms)  # no fade, no restart


@needs_music
def test_a_song_that_cannot_follow_a_step_changes_before_it(songs: Path, tmp_path: Path) -> None:
    from cadencecoach.music.analysis import analyze_file
    from cadencecoach.music.bed import CHANGE_FADE_S, plan_bed

    text = "name: Fast then slow\nsteps:\n  - run: 20s\n    cadence: 184\n  - recover: 20s\n    cadence: 160\n"
    tl = _timeline(text)
    long_fast = synth_song(186.0, 60.0, pattern="rock", seed=5, sr=SR).write(tmp_path / "fast.wav", title="Fast")
    fast = analyze_file(long_fast)  # 186 BPM: 160 spm would need -14 %
    slow = analyze_file(songs / "1.wav")  # 88 BPM at 2x: 176, fits 160-180 (-9 %)
    plan = plan_bed(tl, [fast, slow])
    first, second = plan.placements[:2]
    assert first.song is fast and first.out_end == pytest.approx(20.0)  # it could go on 40 s: it stops at 20 s
    assert first.fade_out == pytest.approx((20.0 - CHANGE_FADE_S, 20.0))
    first_click = tl.clicks[tl.clicks >= 20 * SR][0] / SR  # the phase goes on: not a click at 20 s itself
    assert second.song is slow and 19.9 < second.out_start <= first_click + 0.002  # (a lead-in if the song has one)
    assert second.beats_out[0] == pytest.approx(first_click, abs=0.001)  # on the step's first click


@needs_music
def test_skipped_songs_are_listed_with_the_cadences_they_fit(songs: Path, tmp_path: Path) -> None:
    from cadencecoach.music.analysis import analyze_file
    from cadencecoach.music.bed import explain, plan_bed

    slow = synth_song(120.0, 20.0, pattern="four", seed=3, sr=SR).write(tmp_path / "slow.wav", title="Slow")
    songs_ = [analyze_file(songs / "0.wav"), analyze_file(slow)]
    plan = plan_bed(_timeline(), songs_)
    warnings: list[str] = []
    explain(plan, warnings.append)
    assert [s.title for s in plan.skipped] == ["slow"]  # (WAV has no title tag: the file name)
    line = next(w for w in warnings if "slow" in w)
    assert "120.0 BPM" in line and "fits" in line and "spm" in line  # e.g. "fits 106-134 spm (1x) ..."


@needs_music
def test_the_streamed_bed_keeps_only_a_window(songs: Path) -> None:
    from cadencecoach.music.analysis import analyze_file
    from cadencecoach.music.bed import HISTORY_S, StreamedBed, plan_bed

    tl = _timeline()
    plan = plan_bed(tl, [analyze_file(p) for p in sorted(songs.glob("*.wav"))])
    bed = StreamedBed(plan.placements, tl.length, SR)
    out = np.zeros(1024, np.float32)
    kept = []
    try:
        for s in range(0, tl.length, 1024):
            bed.read(s, out)
            kept.append(sum(len(b) for _, b in bed._chunks))
        with pytest.raises(RuntimeError):
            bed.read(0, out)  # long gone: a reader that goes back that far is a bug
    finally:
        bed.close()
    assert max(kept) < (HISTORY_S + 20.0) * SR  # history + a stretched piece or two, whatever the length


@needs_music
def test_render_cli_with_music(songs: Path, tmp_path: Path) -> None:
    w = tmp_path / "w.yaml"
    w.write_text(WORKOUT)
    out = tmp_path / "out.wav"
    env = {**os.environ, "CADENCECOACH_CACHE_DIR": os.environ.get("CADENCECOACH_CACHE_DIR", str(tmp_path / "c"))}
    args = ["render", str(w), "-o", str(out), "--voice-engine", "tones", "--sample-rate", str(SR)]
    r = subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args, "--music", str(songs)],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "out.wav: music" in r.stderr and "stretch" in r.stderr  # the song table, one row per song start
    rows = [line for line in r.stderr.splitlines() if line.count("│") == 6]
    labels = (tmp_path / "out.txt").read_text().splitlines()  # the songs' labels beside the file
    assert len(labels) == len(rows) >= 3
    starts = [float(line.split("\t")[0]) for line in labels]
    assert starts[0] == 0.0 and starts == sorted(starts)
    assert {line.split("\t")[2] for line in labels} <= {"0", "1", "2"}  # (WAV: no title tags, the file names)
    plain = tmp_path / "plain.wav"
    r2 = subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args[:2], "-o", str(plain), *args[4:]],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r2.returncode == 0, r2.stderr
    a, _ = sf.read(out, dtype="float32")
    b, _ = sf.read(plain, dtype="float32")
    assert a.shape == b.shape  # the music changes nothing about the timing
    assert np.sqrt(np.mean((a - b) ** 2)) > 0.02  # ... but there is music
    assert np.abs(a).max() <= 1.0
