"""End to end, offline: `cadencecoach render` output analysed against `cadencecoach plan --json`.

Every click of the plan is found at its planned sample in the file (its waveform is there, exactly), there
is nothing but silence between clicks, and speech energy lies inside the planned cue windows only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadencecoach.core.renderer import CLICK_LEVEL, DUCK_DB, KEY_DUCK_DB
from cadencecoach.sounds import load_bank

WORKOUT = """\
name: E2E check
cadence: 180
paces:
  recover: 9:00/mi
steps:
  - warmup: 12s
    cadence: 170
    breathing: 3:2
  - repeat: 2
    steps:
      - run: 35s
        cadence: 186
        say: Relax the shoulders.
      - recover: 50m
        click: off
  - cooldown: 10s
    cadence: 160-176
"""


def cc(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(cache)}
    r = subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("render")
    workout = d / "w.yaml"
    workout.write_text(WORKOUT)
    cache = d / "cache"
    out: dict[str, object] = {}
    for name, extra in (("clicks", ["--no-voice"]), ("voice", ["--no-click"]), ("both", [])):
        plan = json.loads(cc("plan", str(workout), "--json", *extra, cache=cache).stdout)
        target = d / f"{name}.wav"
        cc("render", str(workout), "-o", str(target), *extra, cache=cache)
        audio, rate = sf.read(target, dtype="float32")
        assert rate == 44100
        out[name] = (plan, audio)
    return out


def test_every_click_at_its_planned_sample(rendered: dict[str, object]) -> None:
    plan, audio = rendered["clicks"]  # type: ignore[misc]
    sr = plan["sample_rate"]
    bank = load_bank("woodblock", sr)
    onsets = [round(t * sr) for t in plan["clicks"]]
    assert len(onsets) > 40
    # the breathing step's clicks use the inhale/exhale sounds; everything else the regular one
    expected = np.zeros_like(audio)
    warm_end = plan["steps"][0]["end_s"] * sr
    warm_clicks = [o for o in onsets if o < warm_end]
    for o in onsets:
        voice = 0
        if o < warm_end:
            voice = {0: 2, 3: 3}.get(warm_clicks.index(o) % 5, 0)
        sound = bank[voice] * CLICK_LEVEL
        n = min(len(sound), len(expected) - o)
        expected[o : o + n] += sound[:n]
    # 16-bit quantisation is the only difference: every click is there, at its sample, and nothing else
    assert np.max(np.abs(audio - expected)) <= 1.0 / 32767 + 1e-7
    # and independently of the expected waveform: each onset is the first non-silent sample after silence
    loud = np.abs(audio) > 2.0 / 32767
    for o in onsets:
        assert not loud[max(0, o - 200) : o].any() and loud[o : o + 3].any()


def test_speech_inside_planned_windows(rendered: dict[str, object]) -> None:
    plan, audio = rendered["voice"]  # type: ignore[misc]
    sr = plan["sample_rate"]
    assert plan["clicks"] == [] and not np.any(np.isnan(audio))
    inside = np.zeros(len(audio), bool)
    for cue in plan["cues"]:
        a = round(cue["at_s"] * sr)
        b = a + round(cue["duration_s"] * sr)
        inside[a:b] = True
        assert np.sqrt(np.mean(audio[a:b] ** 2)) > 0.01, f"no speech for {cue}"
    assert np.max(np.abs(audio[~inside])) < 1e-4, "sound outside every planned cue window"
    kinds = [c["kind"] for c in plan["cues"]]
    assert kinds.count("countdown") == 3 * 6 and kinds.count("say") == 2 and kinds[-1] == "finish"


def test_mix_is_clicks_ducked_under_speech_plus_voice(rendered: dict[str, object]) -> None:
    """The mix is the clicks plus the voice, each click scaled as a whole: 1 in the clear, -6 dB under speech
    (or starting 20 ms before it), -20 dB under a key word: a countdown word, or the rep number ("1 of 2.",
    somewhere inside an announcement of a repeated step; where exactly is the voice's, not in the plan)."""
    plan, both = rendered["both"]  # type: ignore[misc]
    _, clicks = rendered["clicks"]  # type: ignore[misc]
    _, voice = rendered["voice"]  # type: ignore[misc]
    sr = plan["sample_rate"]
    n = min(len(both), len(clicks), len(voice))
    duck, key = 10 ** (DUCK_DB / 20), 10 ** (KEY_DUCK_DB / 20)
    residue = both[:n] - voice[:n]
    seen: dict[str, int] = {}
    for c in plan["clicks"]:
        o = round(c * sr)
        under = [
            cue
            for cue in plan["cues"]
            if round(cue["at_s"] * sr) - round(0.02 * sr) <= o < round(cue["at_s"] * sr) + round(cue["duration_s"] * sr)
        ]
        if not under:
            allowed = {"clear": 1.0}
        elif under[0]["kind"] == "countdown":
            allowed = {"key": key}
            seen["under countdown"] = seen.get("under countdown", 0) + 1
        elif under[0]["kind"] == "announce" and " of " in under[0]["text"]:
            allowed = {"duck": duck, "key": key}
        else:
            allowed = {"duck": duck}
        sound, got = clicks[o : o + 3000], residue[o : o + 3000]
        gain = float(np.dot(got, sound) / np.dot(sound, sound))
        name = min(allowed, key=lambda k: abs(allowed[k] - gain))
        assert gain == pytest.approx(allowed[name], abs=2e-3), (c, under, gain)
        assert np.max(np.abs(got - sound * np.float32(allowed[name]))) < 3.0 / 32767
        seen[name] = seen.get(name, 0) + 1
    assert seen.get("clear", 0) > 20 and seen.get("duck", 0) > 5, seen
    assert seen.get("key", 0) >= seen["under countdown"] + 2, seen  # and the rep numbers of the 2 clicking reps
    expected = residue  # checked click by click above; between clicks the residue is silence
    mask = np.zeros(n, bool)
    for c in plan["clicks"]:
        mask[round(c * sr) : round(c * sr) + 3000] = True
    assert np.max(np.abs(expected[~mask])) < 3.0 / 32767
    assert np.max(np.abs(both)) <= 1.0
