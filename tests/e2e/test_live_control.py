"""The live controls of issue 14 end to end: `cadencecoach run` in a pseudo-terminal (keys in cbreak mode), the
test sink recorded, every action heard in the recording.

The voice is the ``tones`` engine: every text is a distinct, deterministic chime, so each spoken confirmation
("Paused.", "Quieter.", "Back to"...) is found in the recording by matching its exact audio (a normalized
cross-correlation against the words joined as the player joins them).

    9       volume down 3 dB: "Quieter.", the clicks after it 0.708 times as loud
    space   pause ("Paused.", heard over the silence), space again ("Resumed.")
    n       lap: "Skipped." then the run's announcement, at once
    p       4 s into the run: back to its start ("Back to"): it plays its whole 8 s again
    +       in the click-less recovery: 15 s more rest ("More rest.")
    v, v    "Voice off.", "Voice on."
    i       the status ("Recover. ... left.")
    q       while the status speaks: a fade, not a cut
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

try:
    from audio_server import SAMPLE_RATE, Recorder, find_onsets
except ImportError:  # tests/ is a package
    from tests.audio_server import SAMPLE_RATE, Recorder, find_onsets  # type: ignore[no-redef]

from cadencecoach import speech
from cadencecoach.core import confirm
from cadencecoach.speech.phrases import join_words

pexpect = pytest.importorskip("pexpect")

try:
    from pty_session import Session
except ImportError:  # tests/ is a package
    from tests.pty_session import Session  # type: ignore[no-redef]

SR = SAMPLE_RATE
WORKOUT = """\
name: Control check
cadence: 180
steps:
  - warmup: 14s
  - run: 8s
    cadence: 160
  - recover: 20s
    click: off
  - run: 10s
    cadence: 170
"""
P160 = 60 * SR / 160


def spoken(sentences: list[list[str]]) -> np.ndarray:
    """What the player says for `sentences` with the tones voice (the same words, joined the same way)."""
    words = sorted({w for s in sentences for w in s})
    audio = speech.speak_cues(words, SR, speech.make_engine("tones", None, 175))
    joined = join_words(audio, sentences, SR)
    assert joined is not None
    return joined


def find(x: np.ndarray, ref: np.ndarray, lo_s: float, hi_s: float) -> tuple[float, float]:
    """Where `ref` best matches the recording between `lo_s` and `hi_s` (seconds), and how well (normalized
    cross-correlation, 1.0 = the same waveform up to a gain)."""
    lo, hi = max(int(lo_s * SR), 0), min(int(hi_s * SR) + len(ref), len(x))
    hay = x[lo:hi].astype(np.float64)
    r = ref.astype(np.float64)
    w = len(r)
    if len(hay) < w:
        return -1.0, 0.0
    size = 1 << int(np.ceil(np.log2(len(hay) + w)))
    corr = np.fft.irfft(np.fft.rfft(hay, size) * np.conj(np.fft.rfft(r, size)), size)[: len(hay) - w + 1]
    energy = np.sqrt(np.maximum(np.convolve(hay * hay, np.ones(w), "valid"), 1e-12))
    score = corr / (energy * np.sqrt(float(r @ r)))
    k = int(np.argmax(score))
    return (lo + k) / SR, float(score[k])



def test_every_control_is_heard(tmp_path: Path) -> None:
    workout = tmp_path / "control.yaml"
    workout.write_text(WORKOUT)
    keys: dict[str, float] = {}
    with Recorder() as rec:
        t0 = time.time()
        s = Session(["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--plain"])

        def key(name: str, k: str) -> None:
            keys[name] = time.time() - t0
            s.child.send(k)

        try:
            s.wait_for("] Warm-up (")
            s.drain(2.5)
            key("quieter", "9")
            s.drain(3.0)
            key("pause", " ")
            s.drain(1.5)
            key("resume", " ")
            s.drain(1.5)
            key("skip", "n")
            s.wait_for("] Run (")
            s.drain(4.0)
            key("back", "p")
            s.wait_for("] Recover (", timeout=15)
            keys["recover_shown"] = time.time() - t0
            s.drain(1.0)
            key("more", "+")
            s.drain(2.0)
            key("voice_off", "v")
            s.drain(1.5)
            key("voice_on", "v")
            s.drain(1.5)
            key("status", "i")
            s.drain(0.35)
            key("quit", "q")
            s.finish()
        finally:
            s.child.close(force=True)
    out = s.output
    assert s.child.exitstatus == 0, out[-2000:]
    assert "audio output lost" not in out and "underrun" not in out, out[-2000:]
    assert "1 skipped" in out, out[-2000:]

    x = rec.samples
    assert x is not None
    # -- every confirmation is heard, soon after its key (key to ear: the poll, the margin, the buffers)
    expected = {
        "quieter": [[confirm.QUIETER]],
        "pause": [[confirm.PAUSED]],
        "resume": [[confirm.RESUMED]],
        "skip": [[confirm.SKIPPED]],
        "back": [[confirm.BACK_TO]],
        "more": [[confirm.MORE_REST]],
        "voice_off": [[confirm.VOICE_OFF]],
        "voice_on": [[confirm.VOICE_ON]],
    }
    heard: dict[str, float] = {}
    for name, sentences in expected.items():
        ref = spoken(sentences)
        at, score = find(x, ref, keys[name] - 0.1, keys[name] + 0.8)
        assert score > 0.8, (name, round(score, 3), round(at - keys[name], 3))
        heard[name] = at - keys[name]
    assert all(-0.05 < lag < 0.6 for lag in heard.values()), heard

    # -- volume: the warm-up's clicks after `9` are 3 dB quieter
    sr = SR
    clicks = find_onsets(x, 0.02, 6000)
    peaks = np.array([np.abs(x[c : c + 400]).max() for c in clicks])
    when = clicks / sr
    before = peaks[(when < keys["quieter"]) & (when > keys["quieter"] - 1.6)]  # after the announcement
    after = peaks[(when > keys["quieter"] + 1.0) & (when < keys["pause"])]  # after "Quieter."
    assert len(before) >= 2 and len(after) >= 2, (before, after)
    ratio = float(np.median(after) / np.median(before))
    assert abs(ratio - 10 ** (-3 / 20)) < 0.03, ratio

    # -- back to the start of the run: it plays its whole 8 s again, from where "Back to" is said (the swap
    # point) to the recovery's announcement, exactly
    from cadencecoach.core.timeline import compile_workout
    from cadencecoach.workout.loader import load_workout_text

    planned = compile_workout(load_workout_text(WORKOUT, "control.yaml"), SR)
    recover_text = next(c.text for c in planned.cues if c.kind == "announce" and c.step_index == 2)
    recover_ref = speech.speak_cues([recover_text], SR, speech.make_engine("tones", None, 175))[recover_text]
    back_at = keys["back"] + heard["back"]
    recover_at, score = find(x, recover_ref, back_at + 7.0, back_at + 9.0)
    assert score > 0.8, score
    assert abs(recover_at - back_at - 8.0) < 0.002, recover_at - back_at

    # -- the stop fades: the status was speaking when `q` came, over the recovery's silence, so the recording
    # there is the status's words times the volume, then times the fade: measure the fade from their ratio
    said = out[out.rindex("said: Recover.") + len("said: ") :].splitlines()[0].strip()
    ref = spoken([sentence.rstrip(".").split(" ") for sentence in said.split(". ")])  # as core.confirm.said wrote
    start, score = find(x, ref[: sr // 5], keys["status"], keys["quit"] + 0.5)  # its first 0.2 s: before `q`
    assert score > 0.9, (said, score)
    s0 = round(start * sr)
    seg = x[s0 : s0 + len(ref)].astype(np.float64)
    r = ref[: len(seg)].astype(np.float64)
    usable = np.abs(r) > 0.02
    gain = np.full(len(r), np.nan)
    gain[usable] = seg[usable] / r[usable]
    volume = 10 ** (-3 / 20)
    idx = np.flatnonzero(usable)
    full = idx[np.abs(gain[idx] - volume) < 0.01]
    gone = idx[(np.abs(gain[idx]) < 0.01) & (idx > full[0])]
    assert len(full) and len(gone), "the fade is not inside the status's words"
    fade_start = int(full[full < gone[0]][-1])
    fade_end = int(gone[0])
    fade_ms = (fade_end - fade_start) / sr * 1000
    assert 15 <= fade_ms <= 25, fade_ms  # the 20 ms fade, heard: not a cut
    ramp = gain[fade_start:fade_end]
    ramp = ramp[~np.isnan(ramp)]
    assert np.all(np.diff(ramp) < 0.01), "the fade goes down"
    assert not x[s0 + fade_end + sr // 100 : s0 + len(seg)].any()  # then silence
    print(f"fade on q: {fade_ms:.1f} ms, {len(ramp)} samples measured; key to ear: {heard}")


def test_latency_low_under_load_never_ends_the_run_and_ctrl_c_fades(tmp_path: Path) -> None:
    """``--latency low`` with every core busy: underflows may come (they reopen the stream with more latency),
    the run never ends on its own, nothing from ALSA reaches the terminal; Ctrl-C while "Paused." speaks over
    the paused silence: the recording is those words times a 20 ms fade, then silence; exit 130."""
    import subprocess

    busy = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)
    ]
    try:
        with Recorder() as rec:
            t0 = time.time()
            s = Session(["run", "tabata", "--voice-engine", "tones", "--sample-rate", "44100", "--plain",
                         "--latency", "low"])  # fmt: skip
            try:
                s.wait_for("] Easy jog (")  # tabata's warm-up
                s.drain(6.0)
                pause = time.time() - t0
                s.child.send(" ")
                s.drain(0.35)
                interrupt = time.time() - t0
                s.child.sendintr()
                s.finish()
            finally:
                s.child.close(force=True)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    out = s.output
    assert s.child.exitstatus == 130 or s.child.signalstatus == 2, out[-2000:]
    assert "audio output lost" not in out, out[-2000:]
    assert "underrun" not in out.lower() and "ALSA lib" not in out, out[-2000:]
    assert "played " in out  # the summary
    x = rec.samples
    assert x is not None
    ref = spoken([[confirm.PAUSED]])
    start, score = find(x, ref[: SR // 10], pause - 0.1, interrupt + 0.5)
    assert score > 0.9, score
    s0 = round(start * SR)
    seg = x[s0 : s0 + len(ref)].astype(np.float64)
    r = ref[: len(seg)].astype(np.float64)
    usable = np.flatnonzero(np.abs(r) > 0.02)
    gain = seg[usable] / r[usable]
    full = usable[np.abs(gain - 1.0) < 0.01]
    gone = usable[(np.abs(gain) < 0.01) & (usable > full[0])]
    assert len(full) and len(gone), "Ctrl-C did not come while the words played"
    fade_ms = (int(gone[0]) - int(full[full < gone[0]][-1])) / SR * 1000
    assert 15 <= fade_ms <= 25, fade_ms
    summary = next(ln for ln in out.splitlines() if ln.startswith("played "))
    print(f"fade on Ctrl-C: {fade_ms:.1f} ms; {summary.strip()}")


def test_keep_awake_floor_and_the_lap_key_counts_the_output_latency(tmp_path: Path) -> None:
    """``--keep-awake``: the output is never digital silence while the run plays (a floor at -66 dBFS under
    everything); ``--output-latency 0.3``: a lap pressed 2 s into the warm-up shortens the next step by the
    lag between the key and the change (the output latency included), so the 10 s run's 160 spm clicks
    run lasts 10 s less that lag (0.3 s and the stream's own latency, a block and the margin)."""
    workout = tmp_path / "awake.yaml"
    workout.write_text(
        "name: Awake\ncadence: 180\nsteps:\n  - warmup: 8s\n  - run: 10s\n    cadence: 160\n"
        "  - recover: 6s\n    click: off\n"
    )
    with Recorder() as rec:
        t0 = time.time()
        s = Session(["run", str(workout), "--voice-engine", "tones", "--sample-rate", "44100", "--plain",
                     "--keep-awake", "--output-latency", "0.3"])  # fmt: skip
        try:
            s.wait_for("] Warm-up (")
            s.drain(2.0)
            lap = time.time() - t0
            s.child.send("n")
            s.wait_for("] Recover (", timeout=20)
            s.drain(2.5)
            quit_at = time.time() - t0
            s.child.send("q")
            s.finish()
        finally:
            s.child.close(force=True)
    assert s.child.exitstatus == 0, s.output[-2000:]
    x = rec.samples
    assert x is not None
    # the floor: from the stream's first sample to the stop, never an exact zero; in the click-less recovery
    # (away from its cues) it is the -66 dBFS noise alone
    first = int(np.flatnonzero(x)[0])
    stop = round((quit_at - 0.1) * SR)
    assert first < round(lap * SR) and not np.any(x[first + SR // 10 : stop] == 0.0)
    # the run's length: from "Skipped." (said where the run now starts) to the recovery's announcement
    from cadencecoach.core.timeline import compile_workout
    from cadencecoach.workout.loader import load_workout_text

    planned = compile_workout(load_workout_text(workout.read_text(), str(workout)), SR)
    recover_text = next(c.text for c in planned.cues if c.kind == "announce" and c.step_index == 2)
    tones = speech.make_engine("tones", None, 175)
    run_start, score1 = find(x, spoken([[confirm.SKIPPED]]), lap, lap + 1.0)
    recover_ref = speech.speak_cues([recover_text], SR, tones)[recover_text]
    run_end, score2 = find(x, recover_ref, lap + 8.0, lap + 12.0)
    assert score1 > 0.8 and score2 > 0.8, (score1, score2)
    length = run_end - run_start
    lag = 10.0 - length  # the key's lag: the output latency (0.3 s) and the stream's, a block, the margin
    assert 0.3 < lag < 0.7, (length, lag)
    print(f"lap with --output-latency 0.3: the next step shortened by {lag:.3f} s")
    at = round((run_end + 1.2) * SR)  # in the 6 s recovery: after its announcement, before its countdown
    quiet = x[at : at + round(1.6 * SR)].astype(np.float64)
    rms_db = 20 * np.log10(np.sqrt(np.mean(quiet**2)))
    assert -67.5 < rms_db < -64.5, rms_db
    assert np.abs(quiet).max() < 0.01


def test_the_metronome_confirms_its_keys_too() -> None:
    """``click``: its vocabulary is made ready in the background while it starts; ``+`` says "Cadence 182",
    ``i`` says it again; lap and back do nothing there (and are not offered)."""
    with Recorder() as rec:
        t0 = time.time()
        s = Session(["click", "180", "--voice-engine", "tones", "--sample-rate", "44100", "--plain"])
        try:
            s.wait_for("] metronome")
            s.drain(1.5)
            plus = time.time() - t0
            s.child.send("+")
            s.drain(1.5)
            s.child.send("n")  # nothing in the metronome
            s.drain(0.5)
            status = time.time() - t0
            s.child.send("i")
            s.drain(1.5)
            s.child.send("q")
            s.finish()
        finally:
            s.child.close(force=True)
    assert s.child.exitstatus == 0, s.output[-2000:]
    x = rec.samples
    assert x is not None
    ref = spoken([confirm.cadence_words(182)])
    for when in (plus, status):
        at, score = find(x, ref, when - 0.1, when + 0.8)
        assert score > 0.8 and 0 < at - when < 0.6, (when, at, score)
    assert "Skipped" not in s.output
