"""Beat-anchored time maps and chunked Rubber Band stretching (music/stretch.py)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from extra_deps import require_extra

require_extra("music")  # skipped when not installed; a broken install fails

from cadencecoach.music import stretch as stretch_module  # noqa: E402
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


# ------------------------------------------------------------------- short and edge pieces (issue 17)


def _covered(parts: list[tuple[int, np.ndarray]], m: TimeMap, sr: int) -> np.ndarray:
    """The stream's blocks joined, after checking they tile [round(dst[0]*sr), round(dst[-1]*sr)) in order."""
    pos = round(float(m.dst[0] * sr))
    for start, block in parts:
        assert start == pos, (start, pos)
        pos += len(block)
    assert pos == round(float(m.dst[-1] * sr))
    return np.concatenate([b for _, b in parts]) if parts else np.zeros((0, 2), np.float32)


def test_a_first_piece_shorter_than_the_join_does_not_crash() -> None:
    """dr-track23.ogg (drascula-music): its time map starts at -259 samples, so the first piece kept 143
    samples, less than the 10 ms (440-sample) join: ``operands could not be broadcast together with shapes
    (143,2) (440,1)``. The same shape here, through the real Rubber Band."""
    sr = 44100
    song = synth_song(170, 6.0, pattern="rock", seed=3, tail_s=2.0)
    # that song's first pieces (samples): output -258.8 -> -182.5 -> 88017.5 at +6 %; then a last piece of 2 ms
    speed = 1.0598
    dst = np.array([-258.8, -182.5, 88017.5, 88105.7]) / sr
    src = (dst - dst[0]) * speed
    m = TimeMap(src, dst)
    blocks = iter([song.audio[:40000], song.audio[40000:]])
    y = _covered(list(stretched_stream(blocks, 2, sr, m)), m, sr)
    # the whole stays one steady stretch: the same as the song stretched in one piece, joins and all (the
    # joins only blend two renderings of the same music at the same speed)
    whole = TimeMap(src[[0, -1]], dst[[0, -1]])
    ref = _covered(list(stretched_stream(iter([song.audio]), 2, sr, whole)), whole, sr)
    rms = float(np.sqrt(np.mean(ref**2)))
    assert rms > 0.05
    diff = y - ref
    for a in range(0, len(y) - 2205, 2205):  # 50 ms windows: none louder than a tenth of the music
        assert np.sqrt(np.mean(diff[a : a + 2205] ** 2)) < 0.1 * rms, a


def _fake_stretch(audio: np.ndarray, rate: int, speed: float) -> np.ndarray:
    """A linear-interpolation stand-in for Rubber Band: same length rule (round(n / speed)), exact timing."""
    n = len(audio)
    t = np.arange(round(n / speed)) * speed
    return np.stack([np.interp(t, np.arange(n), audio[:, c]) for c in range(audio.shape[1])], 1).astype(np.float32)


_PIECE = st.tuples(
    st.one_of(st.floats(0.00002, 0.012), st.floats(0.012, 0.6)),  # output length: sub-sample to long
    st.floats(0.9, 1.1),  # speed
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(_PIECE, min_size=1, max_size=7),
    src0=st.floats(0.0, 0.05),
    dst0=st.floats(-0.05, 0.05),
)
@example(pieces=[(0.3, 1.05)], src0=0.0, dst0=0.0)  # one piece
@example(pieces=[(0.004, 1.06), (0.5, 1.06), (0.003, 1.02)], src0=0.0, dst0=-259 / 8000)  # short ends, t < 0
@example(pieces=[(0.2, 1.0), (0.00002, 1.0), (0.001, 0.9), (0.2, 1.1)], src0=0.01, dst0=0.0)  # short inside
def test_any_time_map_is_covered_exactly_in_order(pieces: list[tuple[float, float]], src0: float, dst0: float) -> None:
    """Random maps (1 piece, pieces shorter than the join at either end or inside, a negative output start):
    the blocks tile [round(dst[0]*rate), round(dst[-1]*rate)) contiguously, in order, and each output sample
    holds the input that the map puts there (the joins' weights sum to one; a ramp signal shows any misplaced,
    doubled or missing sample)."""
    sr = 8000
    src, dst = [src0], [dst0]
    for length, speed in pieces:
        dst.append(dst[-1] + length)
        src.append(src[-1] + length * speed)
    m = TimeMap(np.array(src), np.array(dst))
    n_in = math.ceil(src[-1] * sr) + 50
    ramp = (np.arange(n_in, dtype=np.float64) / sr).astype(np.float32)  # each sample holds its input time
    audio = np.stack([ramp, -ramp], 1)
    blocks = (audio[i : i + 700] for i in range(0, n_in, 700))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stretch_module, "stretch_piece", _fake_stretch)
        y = _covered(list(stretched_stream(blocks, 2, sr, m, max_in_flight=2)), m, sr)
    assert np.array_equal(y[:, 0], -y[:, 1])
    if not len(y):
        return
    n_out = round(float(m.dst[0] * sr)) + np.arange(len(y))
    want = m.inverse(n_out / sr)
    err = np.abs(y[:, 0] - want) * sr  # in input samples
    # 2 ms away from the song's first and last input sample; within a join (5 ms each side of a breakpoint
    # at most) two neighbours whose speeds differ by up to 20 % are blended
    inside = (want > src[0] + 0.002) & (want < src[-1] - 0.002)
    near = np.min(np.abs(n_out[:, None] - np.round(np.array(dst) * sr)[None, :]), axis=1) <= 0.005 * sr
    assert np.all(err[inside & ~near] < 1.25)  # piece starts rounded to the sample
    assert np.all(err[inside & near] < 2.5)
