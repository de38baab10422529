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

from cadencecoach.core.renderer import BlockRenderer, MusicBed
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
        audio, 1 / 32768, [(5000, 6000), (6100, 6500), (15000, 15500)], depth_db=-12, attack=400, release=1000
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
    r.set_bed(MusicBed(music, 1 / 32767, [(c.at, c.end) for c in tl.cues], attack=100, release=200))
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


def _low_onsets(x: np.ndarray) -> np.ndarray:
    from scipy import signal

    sos = signal.butter(4, 250, "low", fs=SR, output="sos")  # kick, bass and the snare body: all on beats
    env = np.abs(signal.sosfiltfilt(sos, x))
    peaks = env[signal.find_peaks(env, distance=int(0.15 * SR))[0]]
    thr = 0.3 * float(np.percentile(peaks, 90))
    up = np.flatnonzero((env[1:] > thr) & (env[:-1] <= thr)) + 1
    keep = np.concatenate([[True], np.diff(up) > 0.1 * SR])
    return up[keep] / SR


@needs_music
def test_music_beats_fall_on_the_workout_clicks(songs: Path) -> None:
    from cadencecoach.music.bed import attach_music, sections_of

    wk = load_workout_text(textwrap.dedent(WORKOUT), "w.yaml")
    tl = compile_workout(wk, SR, speech=fake_speech(cue_texts(wk)))
    sections = sections_of(tl)
    assert [(round(s.start), round(s.end), s.cadence, s.click) for s in sections] == [
        (0, 30, (170.0, 170.0), True), (30, 54, (180.0, 180.0), True), (54, 68, (160.0, 160.0), False),
        (68, 92, (180.0, 180.0), True), (92, 106, (160.0, 160.0), False), (106, 126, (165.0, 170.0), True),
    ]  # fmt: skip
    bank = [np.zeros(10, np.float32)] * 4  # silent clicks: the output is the music (and the cues)
    r = BlockRenderer(tl, bank, voice_level=0.0)
    warnings: list[str] = []
    attach_music(r, tl, [songs], warnings.append)
    assert r.bed is not None and len(r.bed.audio) == tl.length
    out = np.empty(tl.length, np.float32)
    for s in range(0, tl.length, 8192):
        r.render(s, out[s : s + 8192])
    clicks = tl.clicks / SR
    onsets = _low_onsets(out)
    checked = 0
    for sec in sections:
        if not sec.click:
            continue
        inside = onsets[(onsets > sec.start + 1.0) & (onsets < sec.end - 0.6)]  # past the fade-in
        for t in inside:
            assert np.min(np.abs(clicks - t)) < 0.015, (t, sec)
            checked += 1
    assert checked > 60
    # in a silent step the music goes on at the step's cadence (160 spm: low drums 0.375 s or 0.75 s apart)
    rec = onsets[(onsets > 54.5) & (onsets < 67.5)]
    gaps = np.diff(rec)
    assert np.median(gaps) == pytest.approx(60 / 160, rel=0.01) or np.median(gaps) == pytest.approx(120 / 160, rel=0.01)
    # the music changes song at a cadence change: near-silence in the last few ms before 30 s
    edge = int(30 * SR)
    assert np.abs(out[edge - 40 : edge - 5]).max() < 0.05
    assert np.abs(out[edge : edge + int(0.3 * SR)]).max() > 0.05


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
