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

CLI = Path(sys.executable).with_name("cadencecoach")
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


class Session:
    def __init__(self, args: list[str]) -> None:
        cmd = [str(CLI), *args] if CLI.exists() else [sys.executable, "-m", "cadencecoach", *args]
        env = {**os.environ, "TERM": "xterm-256color"}
        self.child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", dimensions=(40, 120), timeout=30, env=env)
        self.output = ""

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.output += self.child.read_nonblocking(65536, timeout=0.02)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                return

    def wait_for(self, text: str, timeout: float = 25.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline, f"{text!r} never shown; output: {self.output[-2000:]!r}"
            assert self.child.isalive(), f"exited early: {self.output[-2000:]!r}"
            self.drain(0.02)


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
            s.child.expect(pexpect.EOF, timeout=10)
            s.output += s.child.before or ""
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

    # -- back to the start of the run: its 160 spm clicks go on for the run's whole 8 s after `p`
    # (a click counts when another sounds one 160 spm period before it: the countdown's beeps sit between them)
    run = clicks[(when > keys["back"] + 0.8)]
    on_beat = [c for c in run if np.any(np.abs(run - (c - P160)) <= 3)]
    last_run_click = on_beat[-1] / sr if on_beat else 0.0
    # the run starts again at the key (plus the key's latency, < 0.6 s); its last click is 7.875 s into it
    assert keys["back"] + 7.8 < last_run_click < keys["back"] + 8.5, (keys["back"], last_run_click)

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
                s.child.expect(pexpect.EOF, timeout=10)
                s.output += s.child.before or ""
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
