"""`cadencecoach run --music` end to end: a synthetic song (a kick drum on every beat) under a short workout, played
live through the test PulseAudio sink in a pseudo-terminal, keys typed, the sink recorded. In the recording the
clicks (a woodblock: found by matching its sound) and the kicks (the low band's attacks) are found; the kicks
must sit on the clicks all along: through the glide from 170 to 180 spm at a step boundary, after `+` three
times (186 spm from the next click on), and after `n` (the 165 spm recovery starts at once, in a new phase) --
each from the third beat after the clicks changed.

The figures of the run (the music worker's CPU, how far ahead its ring stayed, how long after each key the music
took over) are printed with ``-s``: ``CADENCECOACH_TRACE_MUSIC=1`` makes the run print them, the lag from the key
to the music on the new clicks is measured in the recording."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, Recorder
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder  # type: ignore[no-redef]

try:
    from beat_probe import kick_attacks
    from extra_deps import require_extra
    from music_synth import synth_song
except ImportError:  # tests/ is a package
    from tests.beat_probe import kick_attacks  # type: ignore[no-redef]
    from tests.extra_deps import require_extra  # type: ignore[no-redef]
    from tests.music_synth import synth_song  # type: ignore[no-redef]

pexpect = pytest.importorskip("pexpect")

try:
    from pty_session import Session
except ImportError:  # tests/ is a package
    from tests.pty_session import Session  # type: ignore[no-redef]

SR = SAMPLE_RATE
WORKOUT = """\
name: Music check
steps:
  - warmup: 8s
    cadence: 170
  - run: 40s
    cadence: 180
  - recover: 20s
    cadence: 165
"""


def woodblock_clicks(x: np.ndarray) -> np.ndarray:
    """Sample indices of the clicks: peaks of the normalized cross-correlation of the recording with the click
    sound, both band-passed to 600-3000 Hz (the woodblock's band, above the kick and the bass). On the offline
    render of this workout it finds 190 of the 198 clicks, to the sample, and nothing else (the others, ducked
    under a cue, are not checked)."""
    from scipy import signal

    from cadencecoach.sounds import load_bank

    band = signal.butter(4, [600, 3000], "bandpass", fs=SR, output="sos")
    y = signal.sosfiltfilt(band, x.astype(np.float64))
    sound = np.asarray(load_bank("woodblock", SR)[0], np.float64)
    tmpl = signal.sosfiltfilt(band, np.concatenate([sound, np.zeros(2000)]))[: SR // 50]  # its first 20 ms
    corr = signal.fftconvolve(y, tmpl[::-1], "valid")
    energy = np.sqrt(np.maximum(np.convolve(np.square(y), np.ones(len(tmpl)), "valid"), 1e-12))
    peaks, _ = signal.find_peaks(corr / (energy * np.linalg.norm(tmpl)), height=0.7, distance=int(0.2 * SR))
    return peaks


def kicks(x: np.ndarray) -> np.ndarray:
    """Sample indices of the kick drum's attacks (:func:`beat_probe.kick_attacks`, as in tests/test_music_live.py)."""
    return kick_attacks(x, SR, 0.2)


def offsets_to_clicks(kick: np.ndarray, clicks: np.ndarray, period: float) -> np.ndarray:
    """Each kick minus the nearest click (samples), for kicks with a click within a third of a period."""
    if not len(clicks):
        return np.zeros(0)
    i = np.clip(np.searchsorted(clicks, kick), 1, len(clicks) - 1)
    nearest = np.where(np.abs(clicks[i] - kick) < np.abs(clicks[i - 1] - kick), clicks[i], clicks[i - 1])
    d = (kick - nearest).astype(np.float64)
    return d[np.abs(d) < period / 3]


def first_interval_near(clicks: np.ndarray, period: float, after: int, tol: float = 3.0) -> int:
    """The first click (sample) after `after` from which the click interval is `period` (twice in a row)."""
    gaps = np.diff(clicks)
    for k in range(len(gaps) - 1):
        if clicks[k] > after and abs(gaps[k] - period) <= tol and abs(gaps[k + 1] - period) <= tol:
            return int(clicks[k])
    raise AssertionError(f"no clicks {period / SR:.4f} s apart after {after / SR:.2f} s")


def test_the_music_follows_the_clicks_live(tmp_path: Path) -> None:
    require_extra("music")
    song = synth_song(170.0, 60.0, pattern="four", seed=11, sr=SR).write(tmp_path / "four-170.flac", title="Four")
    workout = tmp_path / "music.yaml"
    workout.write_text(WORKOUT)
    env = {
        **os.environ,
        "CADENCECOACH_CACHE_DIR": str(tmp_path / "cache"),
        "CADENCECOACH_HOME": str(tmp_path / "home"),
        "CADENCECOACH_TRACE_MUSIC": "1",
    }
    args = ["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--no-confirm"]
    t0 = time.monotonic()
    with Recorder() as rec:
        rec_start = time.time()
        s = Session([*args, "--music", str(song)], env=env)
        try:
            s.wait_for("170 spm", timeout=40)  # the songs analysed, time zero played
            s.drain(11.0)  # into the run (the glide at 8 s behind)
            for _ in range(3):
                t_plus = s.key("+", rec_start)
                s.drain(0.12)
            s.wait_for("186 spm")
            s.drain(5.0)
            t_skip = s.key("n", rec_start)
            s.drain(6.0)
            s.key("q", rec_start)
            s.finish()
        finally:
            s.child.close(force=True)
    elapsed = time.monotonic() - t0
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", s.output)
    assert s.child.exitstatus == 0, out[-2000:]
    assert "underflows: 0" in out, out[-2000:]
    assert "music: 1 song" in out, out[-3000:]  # the line said before the run
    assert "not ready in time" not in out, out[-2000:]  # no gaps in the music
    trace = re.search(r"music: worker .*restarts", out.replace("\r\n", " ").replace("\n", " "))
    assert trace, out[-2000:]

    x = rec.samples
    assert x is not None
    clicks = woodblock_clicks(x)
    hits = kicks(x)
    p170, p180, p186, p165 = (60 * SR / c for c in (170, 180, 186, 165))
    first = int(clicks[0])  # time zero (the warm-up clicks from its start)
    # the music is there from the first click on (its first seconds were rendered before the stream opened)
    assert np.abs(hits - first).min() < 0.02 * SR
    c186 = first_interval_near(clicks, p186, first + int(9 * SR))  # `+` three times: heard from here
    skip_click = first_interval_near(clicks, p165, c186)  # `n`: the recovery, from its first click (at the key)
    end = int(clicks[-1])

    def window(a: float, b: float, period: float) -> np.ndarray:
        inside = hits[(hits >= a) & (hits < b)]
        return offsets_to_clicks(inside, clicks[(clicks >= a - period) & (clicks < b + period)], period) / SR

    # all along, after the first second: the kicks on the clicks (median within a few ms; the brief: 20 ms)
    steady = np.concatenate([
        window(first + SR, c186, p180),
        window(c186 + 2.5 * p186, skip_click, p186),
        window(skip_click + 2.5 * p165, end, p165),
    ])  # fmt: skip
    assert len(steady) >= 40, len(steady)
    assert np.median(np.abs(steady)) < 0.008, np.round(steady * 1000, 1).tolist()
    assert np.percentile(np.abs(steady), 90) < 0.020, np.round(steady * 1000, 1).tolist()
    # through the glide at the step boundary (8 s: 170 to 180 spm)
    boundary = first + 8 * SR
    glide = window(boundary - 3 * p170, boundary + 4 * p180, p180)
    assert len(glide) >= 6 and np.abs(glide).max() < 0.020, np.round(glide * 1000, 1).tolist()
    # after `+`: from the third beat on, the kicks on the new clicks (not following, they would be 10.8 ms further
    # off every beat: 32 ms by the third). The music takes over 0.3 s past what the callback has rendered, later
    # if the worker needs longer to render it (on a busy machine): about a beat after the clicks change
    plus = window(c186 + 2.5 * p186, c186 + 10 * p186, p186)
    assert len(plus) >= 6 and np.abs(plus).max() < 0.020, np.round(plus * 1000, 1).tolist()
    # after `n`: the recovery's clicks start at once, in another phase; from the third beat on the kicks are on them
    skip = window(skip_click + 2.5 * p165, skip_click + 10 * p165, p165)
    assert len(skip) >= 6 and np.abs(skip).max() < 0.020, np.round(skip * 1000, 1).tolist()
    assert elapsed < 60

    # the figures: after each key, each kick against the nearest click (ms), and from when on they all sit within
    # 8 ms of them (the music on the new clicks), counted from the key press (wall clock, ~20 ms)
    for name, key_s, period in (("+", t_plus, p186), ("n", t_skip, p165)):
        key = round(key_s * SR)
        after = hits[(hits > key) & (hits < key + 12 * period)]
        offs = [offsets_to_clicks(np.array([h]), clicks, period) for h in after]
        ms = [float(o[0]) / SR * 1000 if len(o) else float("nan") for o in offs]
        on = next((k for k in range(len(ms)) if all(abs(v) < 8 for v in ms[k:] if v == v)), len(ms))
        took = (after[on] - key) / SR * 1000 if on < len(after) else float("nan")
        print(
            f"\n{name}: key at {key_s:.3f} s; kicks after it, ms from the nearest click: "
            + " ".join(f"{v:+.0f}" for v in ms)
            + f"; the music on the new clicks from {took:.0f} ms after the key"
        )
    print(trace.group(0), f"\n(recorded {len(x) / SR:.1f} s, wall {elapsed:.1f} s)")
