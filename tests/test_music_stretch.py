"""Beat-anchored time maps and chunked Rubber Band stretching (music/stretch.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from extra_deps import require_extra

require_extra("music")  # skipped when not installed; a broken install fails

from cadencecoach.music.beats import beat_track  # noqa: E402
from cadencecoach.music.onset import envelopes  # noqa: E402
from cadencecoach.music.stretch import TimeMap, beat_map, points_grid, regular_grid, stretched_stream  # noqa: E402
from music_synth import beat_times, synth_song  # noqa: E402


def test_time_map_is_piecewise_linear_and_invertible() -> None:
    m = TimeMap(np.array([0.0, 10.0, 20.0]), np.array([1.0, 11.0, 16.0]))
    assert m(5.0) == pytest.approx(6.0)
    assert m(15.0) == pytest.approx(13.5)
    assert m(-1.0) == pytest.approx(0.0)  # extrapolated with the first piece
    assert m(22.0) == pytest.approx(17.0)
    assert m.inverse(13.5) == pytest.approx(15.0)
    assert m.speed(1) == pytest.approx(2.0)
    c = m.clip(5.0, 15.0)
    assert c.src[0] == 5.0 and c.src[-1] == 15.0 and c(12.0) == pytest.approx(m(12.0))


def test_beat_map_puts_every_kth_beat_on_the_grid_despite_drift() -> None:
    beats = beat_times(170, 200, drift=0.05, start=0.4)
    grid = regular_grid(2.0, 60 / 180)
    m = beat_map(beats, grid, (60 / 170) / (60 / 180), 0.0, beats[-1] + 1)
    out = m(beats)
    err = out - grid(np.arange(len(beats)))
    assert np.abs(err).max() < 0.010  # 200 beats drifting 5 %: every beat within 10 ms of the grid
    assert np.all(np.diff(m.dst) > 0)


def test_beat_map_clamps_a_tracking_slip() -> None:
    beats = beat_times(120, 100)
    beats = np.delete(beats, 40)  # a missed beat: the grid would ask one piece to race
    m = beat_map(beats, regular_grid(0.0, 0.5), 1.0, 0.0, beats[-1])
    speeds = [m.speed(k) for k in range(m.pieces)]
    assert max(speeds) <= 1.04 + 1e-9 and min(speeds) >= 0.96 - 1e-9


def test_points_grid_extrapolates() -> None:
    g = points_grid(np.array([1.0, 1.5, 2.0]))
    assert g(np.array([-1.0, 0.5, 4.0])).tolist() == pytest.approx([0.5, 1.25, 3.0])


def test_stretched_stream_is_contiguous_and_the_drums_land_on_the_mapped_beats() -> None:
    song = synth_song(172, 24.0, pattern="rock", drift=0.03, seed=5)
    sr = song.sample_rate
    tracked = beat_track(envelopes(song.audio.mean(axis=1), sr))
    speed = (60 / tracked.tempo) / (60 / 180)
    m = beat_map(tracked.beats, regular_grid(1.0, 60 / 180), speed, 0.0, len(song.audio) / sr)
    blocks = (song.audio[i : i + 30000] for i in range(0, len(song.audio), 30000))
    with ThreadPoolExecutor(2) as pool:
        parts = list(stretched_stream(blocks, 2, sr, m, pool.submit))
    pos = parts[0][0]
    assert pos == round(float(m.dst[0] * sr))
    for start, block in parts:
        assert start == pos
        pos += len(block)
    assert pos == round(float(m.dst[-1] * sr))
    y = np.concatenate([b for _, b in parts])
    found = beat_track(envelopes(y.mean(axis=1), sr))
    assert found.tempo == pytest.approx(180, rel=0.005)
    detected = found.beats + parts[0][0] / sr
    expected = m(song.beats)  # where the true beats should now be
    d = detected[:, None] - expected[None, :]
    err = d[np.arange(len(d)), np.argmin(np.abs(d), axis=1)]
    # the song starts on a beat at its very first sample: that onset has no audio before it to be measured
    inside = (detected < expected[-1] + 0.05) & (detected > expected[0] + 0.1)
    assert np.abs(err[inside]).max() < 0.015
    assert abs(np.median(err[inside])) < 0.005
