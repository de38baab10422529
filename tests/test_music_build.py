"""``track build`` end to end on synthetic songs: the multiple with the least stretch, skips, clicks on the
stretched beats (checked in the audio), crossfades, loudness and true peak, ID3 chapters and labels."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from extra_deps import require_extra

require_extra("music")  # skipped when not installed; a broken install fails

from scipy import signal  # noqa: E402

from cadencecoach.errors import UsageError  # noqa: E402
from cadencecoach.music.analysis import analyze_many  # noqa: E402
from cadencecoach.music.loudness import integrated_loudness, true_peak_db  # noqa: E402
from cadencecoach.music.mix import BuildOptions, plan_build, render_build  # noqa: E402
from music_synth import synth_song  # noqa: E402

SONGS = [  # tempo, seconds, pattern, extra: the first three fit 180 spm, the fourth cannot
    (172.0, 22.0, "rock", {"drift": 0.03}),  # 1x, +4.7 %
    (88.0, 20.0, "four", {"lead_silence": 2.0}),  # 2x, +2.3 %
    (186.0, 20.0, "rock", {"swing": 0.3}),  # 1x, -3.2 %
    (120.0, 12.0, "break", {}),  # 1.5x would do, but only 1x/2x/0.5x exist: -25 % / +50 % -> skipped
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("music")
    songs = root / "songs"
    songs.mkdir()
    for i, (tempo, seconds, pattern, extra) in enumerate(SONGS):
        s = synth_song(tempo, seconds, pattern=pattern, seed=10 + i, **extra)  # type: ignore[arg-type]
        s.write(songs / f"{i + 1:02d} {pattern}.flac", title=f"Song {i + 1}", artist="Synth Band")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCECOACH_CACHE_DIR", str(root / "cache"))
        analyses = list(analyze_many(sorted(songs.iterdir())))
        yield {"root": root, "songs": songs, "analyses": analyses}


def _onsets(x: np.ndarray, sr: int, threshold: float, gap_s: float = 0.1) -> np.ndarray:
    above = np.flatnonzero((x[1:] > threshold) & (x[:-1] <= threshold)) + 1
    if not len(above):
        return above / sr
    keep = np.concatenate([[True], np.diff(above) > gap_s * sr])
    return above[keep] / sr


def kick_onsets(music: np.ndarray, sr: int) -> np.ndarray:
    """Attacks of the kick drum (and bass): the low band's envelope rising through 30 % of its typical peak."""
    sos = signal.butter(4, 110, "low", fs=sr, output="sos")
    env = np.abs(signal.sosfiltfilt(sos, music.mean(axis=1)))
    peaks = env[signal.find_peaks(env, distance=int(0.15 * sr))[0]]
    threshold = 0.3 * float(np.percentile(peaks, 90))
    onsets = _onsets(env, sr, threshold)
    # an attack rises from quiet; two overlapping kick tails beating in a crossfade rise slowly, from loud
    before = env[np.clip(np.rint((onsets - 0.015) * sr).astype(int), 0, len(env) - 1)]
    return onsets[before < 0.5 * threshold]


def test_plan_picks_the_least_stretch_and_skips_what_cannot_fit(env: dict) -> None:
    plan = plan_build(env["analyses"], [], BuildOptions(cadence=180))
    assert [(p.song.title, p.multiple) for p in plan.placements] == [("Song 1", 1.0), ("Song 2", 2.0), ("Song 3", 1.0)]
    assert [round(p.stretch_percent, 1) for p in plan.placements] == pytest.approx([4.7, 2.3, -3.2], abs=0.3)
    assert [s.song.title for s in plan.skipped] == ["Song 4"]
    assert "BPM needs -25.0 % at 2x" in plan.skipped[0].reason
    assert len(plan.chapters) == 3
    assert plan.chapters[0].start == 0 and plan.chapters[-1].end == pytest.approx(plan.length)
    # clicks: one every step, on the stretched beats, through the song changes
    assert np.diff(plan.clicks).min() > 0.5 * 60 / 180
    assert np.median(np.diff(plan.clicks)) == pytest.approx(60 / 180, rel=0.002)
    with pytest.raises(UsageError, match="no song can be played at 180 spm"):
        plan_build(env["analyses"][3:], [], BuildOptions(cadence=180))
    wide = plan_build(env["analyses"], [], BuildOptions(cadence=180, max_stretch=0.3))
    assert len(wide.placements) == 4 and not wide.skipped


def test_clicks_are_on_the_stretched_beats_in_the_audio(env: dict) -> None:
    """Build twice (clicks on, off): the difference is the click track as heard; the kick drums of the
    click-less mix are the stretched beats. Every kick has a click within 15 ms."""
    root: Path = env["root"]
    sr = 44100
    plan_on = plan_build(env["analyses"], [], BuildOptions(cadence=180, sound="beep"))
    plan_off = plan_build(env["analyses"], [], BuildOptions(cadence=180, click="off"))
    render_build(plan_on, root / "on.wav", progress=False)
    render_build(plan_off, root / "off.wav", progress=False)
    on, _ = sf.read(root / "on.wav", dtype="float32")
    off, _ = sf.read(root / "off.wav", dtype="float32")
    assert on.shape == off.shape and on.shape[1] == 2
    click_audio = np.abs((on - off).mean(axis=1))
    clicks = _onsets(click_audio, sr, 0.5 * float(click_audio.max()))
    assert len(clicks) == pytest.approx(len(plan_on.clicks), abs=2)
    np.testing.assert_allclose(clicks, plan_on.clicks[: len(clicks)], atol=0.002)
    kicks = kick_onsets(off, sr)
    assert len(kicks) > 40
    err = np.array([np.min(np.abs(clicks - k)) for k in kicks])
    assert err.max() < 0.015, np.sort(err)[-5:]
    assert np.median(err) < 0.006
    # the beats land on the cadence: song 1 (172 BPM at 1x) now has its low drums (kick, bass) one step apart
    first = kicks[(kicks > 2) & (kicks < plan_on.placements[0].out_end - 6)]
    assert np.median(np.diff(first)) == pytest.approx(60 / 180, abs=0.003)


def test_loudness_and_true_peak(env: dict) -> None:
    x, sr = sf.read(env["root"] / "off.wav", dtype="float32")
    assert true_peak_db(x) <= -1.0 + 0.1
    # synthetic drums are far peakier than mastered music, so the limiter costs some loudness here
    assert -17.0 < integrated_loudness(x, sr) < -13.0


def test_cli_build_mp3_chapters_labels_and_skips(env: dict) -> None:
    root: Path = env["root"]
    out = root / "run-mix.mp3"
    r = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "track", "build", "--music", str(env["songs"]), "--cadence", "180",
         "-o", str(out), "--click", "accent", "--title", "Test run"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "CADENCECOACH_CACHE_DIR": str(root / "cache")},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "skipped Synth Band - Song 4" in r.stderr and "-25.0 %" in r.stderr
    # listed under the table, with the cadences it would fit
    skipped = r.stderr[r.stderr.rindex("└") :]
    assert "skipped Synth Band - Song 4: 120.0 BPM needs -25.0 % at 2x" in skipped
    assert "fits 106-134 spm (1x), 212-268 spm (2x), 60-67 spm (0.5x)" in " ".join(skipped.split())
    assert "wrote" in r.stderr and "3 songs" in r.stderr
    from mutagen.id3 import ID3

    tags = ID3(out)
    assert str(tags["TIT2"]) == "Test run"
    toc = tags.getall("CTOC")[0]
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert list(toc.child_element_ids) == [c.element_id for c in chaps]
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["Song 1", "Song 2", "Song 3"]
    assert all(str(c.sub_frames["TPE1"]) == "Synth Band" for c in chaps)
    assert chaps[0].start_time == 0 and all(a.end_time == b.start_time for a, b in itertools.pairwise(chaps))
    decoded, rate = sf.read(out, dtype="float32")
    assert chaps[-1].end_time == pytest.approx(len(decoded) / rate * 1000, abs=80)  # + the MP3 encoder delay
    labels = (root / "run-mix.txt").read_text().splitlines()
    assert len(labels) == 3
    start, _end, name = labels[1].split("\t")
    assert name == "Synth Band - Song 2" and float(start) * 1000 == pytest.approx(chaps[1].start_time, abs=1)
    assert not list(root.glob(".run-mix*"))  # no temporary files left


def test_duration_loops_the_list_and_ends_exactly(env: dict) -> None:
    root: Path = env["root"]
    plan = plan_build(env["analyses"], [], BuildOptions(cadence=180, duration=75.0, sample_rate=22050))
    assert plan.length == 75.0
    titles = [p.song.title for p in plan.placements]
    assert titles[:4] == ["Song 1", "Song 2", "Song 3", "Song 1"]
    out = root / "loop.flac"
    render_build(plan, out, progress=False)
    info = sf.info(out)
    assert info.frames == 75 * 22050
    x, _ = sf.read(out, dtype="float32")
    assert np.abs(x[-200:]).max() < 0.01  # faded out at the end
    import mutagen

    f = mutagen.File(out)
    assert f["CHAPTER001"] == ["00:00:00.000"] and f["CHAPTER004NAME"] == ["Synth Band - Song 1"]


def test_analyze_cli_table_and_json(env: dict) -> None:
    import json

    run_env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(env["root"] / "cache"), "COLUMNS": "160"}
    r = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "track", "analyze", str(env["songs"]), "--cadence", "180"],
        capture_output=True, text=True, timeout=120, env=run_env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Song 2" in r.stdout and "88.0" in r.stdout and "176" in r.stdout  # 2x of 88 BPM
    r = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "track", "analyze", str(env["songs"]), "--json",
         str(env["root"] / "missing.mp3")],
        capture_output=True, text=True, timeout=120, env=run_env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [round(s["tempo_bpm"]) for s in d["songs"]] == [172, 88, 186, 120]
    assert d["songs"][1]["fits"] == {"1x": 88.0, "2x": 176.0, "0.5x": 44.0}
    assert "missing.mp3: no such file or folder" in r.stderr
