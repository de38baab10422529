"""Smoke test of the real output path, sample-accurately:

    sounddevice.OutputStream (callback) -> PortAudio (ALSA host API) -> ALSA "default" device
    -> ALSA "pulse" plugin (libasound2-plugins) -> private PulseAudio daemon -> null sink "cc_null"
    -> its monitor source -> parec -> numpy

It plays as the product's player does (a 0.5 s buffer, the stream's threads raised to real-time
scheduling), so that a busy CI machine cannot make the server run dry: an underrun inserts silence
(a gap longer than CLICK_PERIOD) and says nothing about the path, which is what this test is for.

Where resampling could happen on that path, and why it does not here:
  * PortAudio opens ALSA's "default" at 44100 Hz float32 mono. With a PulseAudio server reachable
    (PULSE_SERVER), /etc/alsa/conf.d/99-pulse.conf makes "default" a plain `type pulse` PCM -- no
    `plug`/`rate` converter -- and the pulse plugin hands the stream's own rate/format to the
    server (the sink input is float32le 1ch 44100 Hz).
  * The null sink is created at 44100 Hz float32le mono, and the daemon config (scripts/test.sh)
    sets alternate-sample-rate=44100 and avoid-resampling=no, so the sink can never be switched to
    another rate (by default an idle null sink *does* switch to 48000 for a 48 kHz stream). A
    44100 Hz sink input into a 44100 Hz sink is copied, not resampled.
  * parec records the monitor at the sink's rate and format: again no conversion.
The test proves it: the onsets are exactly CLICK_PERIOD apart *and* each recorded click is the
played 5-sample burst to float precision (a resampler would smear and ring it; a volume change
would scale it).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, Recorder, find_onsets
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, find_onsets  # type: ignore[no-redef]

from cadencecoach.sinks.live.player import raise_priority, thread_ids

sd = pytest.importorskip("sounddevice")

CLICK_PERIOD = 14700  # samples: 3 clicks a second at 44100 Hz (180 steps/min)
FIRST_CLICK = 2205  # 50 ms in, so the first click is not at the stream's very first sample
DURATION = 3 * SAMPLE_RATE
# A distinctive, asymmetric 5-sample burst: every recorded click must reproduce it exactly.
BURST = np.array([0.5, -0.4, 0.3, -0.2, 0.1], dtype=np.float32)
THRESHOLD = 0.05
MIN_GAP = CLICK_PERIOD // 2
LATENCY_S = 0.5  # deeper than the player's 0.1 s default: this test measures the path, not the latency
# Silence played after the last click, so that it has left the stream's buffer (and reached the
# recorder) before the stream ends and the recording stops.
TAIL = int((LATENCY_S + 0.5) * SAMPLE_RATE)


def _program() -> tuple[np.ndarray, np.ndarray]:
    signal = np.zeros(DURATION + TAIL, dtype=np.float32)
    onsets = np.arange(FIRST_CLICK, DURATION - BURST.size, CLICK_PERIOD)
    for onset in onsets:
        signal[onset : onset + BURST.size] = BURST
    return signal, onsets


def _play(signal: np.ndarray) -> list[str]:
    """Play `signal` through the default output with a callback-driven stream; return the
    non-empty callback status flags seen (underflows etc.)."""
    position = 0
    statuses: list[str] = []
    done = threading.Event()
    callback_thread: list[int] = []
    started = threading.Event()

    def callback(outdata: np.ndarray, frames: int, _time: object, status: sd.CallbackFlags) -> None:
        nonlocal position
        if not started.is_set():
            callback_thread.append(threading.get_native_id())
            started.set()
        if status:
            statuses.append(str(status))
        chunk = signal[position : position + frames]
        outdata[: chunk.size, 0] = chunk
        outdata[chunk.size :, 0] = 0.0
        position += frames
        if position >= signal.size:
            raise sd.CallbackStop

    stream = sd.OutputStream(
        samplerate=SAMPLE_RATE,
        channels=1,
        dtype="float32",
        latency=LATENCY_S,
        callback=callback,
        finished_callback=done.set,
    )
    before = thread_ids()
    with stream:
        # As the player does (live.Player): the callback thread and the threads the stream started
        # (libpulse's mainloop writes the blocks to the server) get real-time scheduling if allowed.
        assert started.wait(timeout=10), "the output stream never called back"
        for tid in sorted((thread_ids() - before) | set(callback_thread)):
            raise_priority(tid)
        assert done.wait(timeout=signal.size / SAMPLE_RATE + 10), "output stream never finished"
    return statuses


def test_default_output_is_the_test_server() -> None:
    device = sd.query_devices(kind="output")
    hostapi = sd.query_hostapis(device["hostapi"])["name"]
    assert device["max_output_channels"] >= 1
    assert hostapi == "ALSA", f"unexpected host API {hostapi!r} for {device['name']!r}"
    names = [d["name"] for d in sd.query_devices()]
    assert "pulse" in names, f"ALSA 'pulse' device missing; devices: {names}"


def test_clicks_arrive_sample_accurately() -> None:
    signal, played = _program()
    with Recorder() as rec:
        statuses = _play(signal)
    recorded = rec.samples
    assert recorded is not None

    found = find_onsets(recorded, THRESHOLD, MIN_GAP)
    context = (
        f"played {played.size} clicks, found {found.size} onsets at {found.tolist()}; "
        f"recorded {recorded.size} samples; stream status flags: {statuses}"
    )
    assert found.size == played.size, context
    gaps = np.diff(found)
    assert np.all(np.abs(gaps - CLICK_PERIOD) <= 1), f"gaps {gaps.tolist()}; {context}"

    # Bit-for-bit (to float32 precision) the burst we played: no resampling, no gain, no dither.
    for onset in found:
        got = recorded[onset : onset + BURST.size]
        np.testing.assert_allclose(got, BURST, atol=1e-4, err_msg=f"click at {onset}; {context}")
    # And silence between clicks.
    quiet = recorded.copy()
    for onset in found:
        quiet[onset : onset + BURST.size] = 0.0
    assert np.max(np.abs(quiet)) < 1e-4, context
