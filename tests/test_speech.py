"""Tests of the speech layer: tones, cache, trimming/resampling, fallbacks and the real espeak-ng engines."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cadencecoach import speech
from cadencecoach.speech import (
    CUE_PEAK,
    EspeakCliEngine,
    Pyttsx3Engine,
    SpeechError,
    ToneEngine,
    cache_key,
    fit_duration,
    make_engine,
    synthesize_cues,
    time_stretch,
    trim_silence,
)
from cadencecoach.speech.engines.espeak import silenced
from extra_deps import needs_module

HAVE_LIBESPEAK = ctypes.util.find_library("espeak-ng") is not None or shutil.which("espeak-ng") is not None
needs_pyttsx3 = needs_module(
    "pyttsx3", hint="pip install pyttsx3 (a core dependency; or re-run bash scripts/install.sh)"
)
HAVE_ESPEAK_CLI = shutil.which("espeak-ng") is not None


class FakeEngine:
    """Counts calls; says a 0.2 s tone framed by silence with a noise floor below the trim threshold."""

    def __init__(self, name: str = "fake", voice: str = "v", rate: int = 175, native_rate: int = 16000) -> None:
        self.name, self.voice, self.rate, self.native_rate = name, voice, rate, native_rate
        self.calls: list[str] = []

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        self.calls.append(text)
        sr = self.native_rate
        rng = np.random.default_rng(len(text))
        audio = (rng.standard_normal(sr) * 2e-4).astype(np.float32)  # 1 s, peaks near -55 dB
        t = np.arange(round(0.2 * sr)) / sr
        start = round(0.3 * sr)
        audio[start : start + t.size] = 0.5 * np.sin(2 * np.pi * (300 + len(text)) * t)
        return audio, sr


class BrokenEngine:
    name, voice, rate = "broken", "default", 175

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        self.calls += 1
        raise RuntimeError("no speech here")


@pytest.fixture(autouse=True)
def _fresh_warning_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    speech.WARN_ONCE.reset()
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "env-cache"))
    yield
    speech.WARN_ONCE.reset()


def _no_warning(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


def _dominant_frequency(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sr)[np.argmax(spectrum)])


# ---- tones ------------------------------------------------------------------------------------------


def test_tone_engine_is_deterministic() -> None:
    for text in ("3", "Run. 3 of 10. 400 meters at mile pace.", "Halfway"):
        a, sr_a = ToneEngine().synthesize(text)
        b, sr_b = ToneEngine().synthesize(text)
        assert sr_a == sr_b
        assert a.dtype == np.float32 and a.ndim == 1
        np.testing.assert_array_equal(a, b)


def test_countdown_tones_are_short_distinct_and_one_is_highest() -> None:
    engine = ToneEngine()
    pitches = {}
    for text in ("3", "2", "1"):
        audio, sr = engine.synthesize(text)
        assert 0.05 < audio.size / sr < 0.4
        pitches[text] = _dominant_frequency(audio, sr)
    assert len({round(p) for p in pitches.values()}) == 3
    assert pitches["1"] > pitches["2"] > pitches["3"]
    # the words and the digits beep alike
    np.testing.assert_array_equal(engine.synthesize("Three")[0], engine.synthesize("3")[0])


def test_other_texts_are_distinct_chimes_of_sensible_length() -> None:
    engine = ToneEngine()
    texts = ["Run. 3 of 10. 400 meters at mile pace.", "Recover. 2 minutes.", "Halfway.", "Workout complete."]
    seen = []
    for text in texts:
        audio, sr = engine.synthesize(text)
        assert 0.4 <= audio.size / sr <= 0.8
        seen.append(audio)
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            assert seen[i].shape != seen[j].shape or not np.allclose(seen[i], seen[j])


def test_explicit_tone_engine_does_not_warn(tmp_path: Path) -> None:
    cues = synthesize_cues(["3", "Go"], 44100, engine=ToneEngine(), cache_dir=tmp_path, warn=_no_warning)
    assert set(cues) == {"3", "Go"}
    assert not list(tmp_path.iterdir())  # tones are not cached


# ---- processing -------------------------------------------------------------------------------------


def test_silence_trimmed_with_margin_and_peak_normalised(tmp_path: Path) -> None:
    engine = FakeEngine(native_rate=16000)
    audio = synthesize_cues(["Go"], 16000, engine=engine, cache_dir=tmp_path)["Go"]
    assert audio.dtype == np.float32 and audio.ndim == 1
    expected = round(0.2 * 16000) + 2 * round(speech.TRIM_MARGIN_S * 16000)
    assert abs(audio.size - expected) <= 2
    assert float(np.abs(audio).max()) == pytest.approx(CUE_PEAK, abs=1e-6)


def test_trim_silence_edge_cases() -> None:
    assert trim_silence(np.zeros(100, np.float32), 1000).size == 0
    assert trim_silence(np.zeros(0, np.float32), 1000).size == 0
    x = np.zeros(1000, np.float32)
    x[500] = 1.0
    assert trim_silence(x, 1000, margin_s=0.01).size == 21


@pytest.mark.parametrize("out_rate", [44100, 48000])
def test_resampled_to_the_output_rate(tmp_path: Path, out_rate: int) -> None:
    engine = FakeEngine(native_rate=22050)
    audio = synthesize_cues(["Go"], out_rate, engine=engine, cache_dir=tmp_path)["Go"]
    native = trim_silence(engine.synthesize("Go")[0], 22050)
    assert abs(audio.size - native.size * out_rate / 22050) <= 1
    assert float(np.abs(audio).max()) == pytest.approx(CUE_PEAK, abs=1e-6)


def test_duplicate_texts_synthesised_once(tmp_path: Path) -> None:
    engine = FakeEngine()
    cues = synthesize_cues(["a", "b", "a"], 16000, engine=engine, cache_dir=tmp_path)
    assert list(cues) == ["a", "b"]
    assert engine.calls == ["a", "b"]


# ---- cache ------------------------------------------------------------------------------------------


def test_cache_hit_avoids_the_engine(tmp_path: Path) -> None:
    texts = ["Run. 1 of 4.", "3", "2", "1"]
    first = synthesize_cues(texts, 44100, engine=FakeEngine(), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.speech"))) == 4
    engine = FakeEngine()
    second = synthesize_cues(texts, 44100, engine=engine, cache_dir=tmp_path)
    assert engine.calls == []
    for text in texts:
        np.testing.assert_array_equal(first[text], second[text])
    # stored at the native rate: another output rate still hits the cache
    third = synthesize_cues(texts, 48000, engine=engine, cache_dir=tmp_path)
    assert engine.calls == []
    assert abs(third["3"].size - first["3"].size * 48000 / 44100) <= 2


def test_cache_key_depends_on_every_field() -> None:
    base = cache_key("espeak", "default", 175, "Three")
    assert base == cache_key("espeak", "default", 175, "Three")
    variants = [
        cache_key("espeak-cli", "default", 175, "Three"),
        cache_key("espeak", "en-us", 175, "Three"),
        cache_key("espeak", "default", 180, "Three"),
        cache_key("espeak", "default", 175, "Two"),
        cache_key("espeak", "default", 175, "three"),
    ]
    assert len({base, *variants}) == 6


def test_cache_misses_when_voice_rate_engine_or_text_change(tmp_path: Path) -> None:
    synthesize_cues(["Go"], 16000, engine=FakeEngine(), cache_dir=tmp_path)
    for engine in (FakeEngine(voice="w"), FakeEngine(rate=200), FakeEngine(name="other")):
        synthesize_cues(["Go"], 16000, engine=engine, cache_dir=tmp_path)
        assert engine.calls == ["Go"]
    engine = FakeEngine()
    synthesize_cues(["Go", "Stop"], 16000, engine=engine, cache_dir=tmp_path)
    assert engine.calls == ["Stop"]


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip", "empty"])
def test_corrupt_cache_file_is_regenerated(tmp_path: Path, damage: str) -> None:
    good = synthesize_cues(["Go"], 16000, engine=FakeEngine(), cache_dir=tmp_path)["Go"]
    (native,) = tmp_path.glob("*.speech")  # the engine's output at its own rate
    (ready,) = tmp_path.glob("at-16000/*.speech")  # the same cue ready to play at 16 kHz
    blobs = {path: path.read_bytes() for path in (native, ready)}
    for path, blob in blobs.items():
        if damage == "garbage":
            path.write_bytes(b"not a cue at all")
        elif damage == "truncate":
            path.write_bytes(blob[: len(blob) // 2])
        elif damage == "flip":
            path.write_bytes(blob[:-1] + bytes([blob[-1] ^ 0x40]))
        else:
            path.write_bytes(b"")
    engine = FakeEngine()
    again = synthesize_cues(["Go"], 16000, engine=engine, cache_dir=tmp_path)["Go"]
    assert engine.calls == ["Go"]
    np.testing.assert_array_equal(good, again)
    for path, blob in blobs.items():
        assert path.read_bytes() == blob  # rewritten
    engine = FakeEngine()
    synthesize_cues(["Go"], 16000, engine=engine, cache_dir=tmp_path)
    assert engine.calls == []


def test_corrupt_ready_entry_is_rebuilt_from_the_native_one(tmp_path: Path) -> None:
    good = synthesize_cues(["Go"], 16000, engine=FakeEngine(), cache_dir=tmp_path)["Go"]
    (ready,) = tmp_path.glob("at-16000/*.speech")
    blob = ready.read_bytes()
    ready.write_bytes(b"broken")
    engine = FakeEngine()
    again = synthesize_cues(["Go"], 16000, engine=engine, cache_dir=tmp_path)["Go"]
    assert engine.calls == []  # the native entry was still good
    np.testing.assert_array_equal(good, again)
    assert ready.read_bytes() == blob


def test_cache_writes_leave_no_temp_files(tmp_path: Path) -> None:
    synthesize_cues(["a", "b"], 16000, engine=FakeEngine(), cache_dir=tmp_path)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert [p.suffix for p in files] == [".speech"] * 4
    assert sorted(p.parent.name for p in files) == ["at-16000", "at-16000", tmp_path.name, tmp_path.name]


def test_unwritable_cache_still_speaks(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    engine = FakeEngine()
    cues = synthesize_cues(["Go"], 16000, engine=engine, cache_dir=blocker / "speech", warn=_no_warning)
    assert cues["Go"].size > 0 and engine.calls == ["Go"]


def test_cache_dir_from_environment(tmp_path: Path) -> None:
    synthesize_cues(["Go"], 16000, engine=FakeEngine())
    assert len(list((tmp_path / "env-cache" / "speech").glob("*.speech"))) == 1
    assert speech.speech_cache_dir(tmp_path) == tmp_path


def test_warm_start_does_not_import_pyttsx3(tmp_path: Path) -> None:
    texts = ["Three", "Run. 3 of 10."]
    audio = np.sin(np.linspace(0, 300, 5000)).astype(np.float32)
    for text in texts:
        speech.cache.store(tmp_path, cache_key("espeak", "default", 175, text), audio, 22050)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cadencecoach.speech import synthesize_cues
        def boom(message):
            raise SystemExit("warned: " + message)
        cues = synthesize_cues({texts!r}, 48000, cache_dir=Path({str(tmp_path)!r}), warn=boom)
        assert all(a.size > 0 for a in cues.values())
        assert "pyttsx3" not in sys.modules, "pyttsx3 was imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


# ---- fallbacks --------------------------------------------------------------------------------------


def test_failing_engine_falls_back_to_tones_and_warns_once(tmp_path: Path) -> None:
    messages: list[str] = []
    engine = BrokenEngine()
    cues = synthesize_cues(["3", "2", "Go"], 44100, engine=engine, cache_dir=tmp_path, warn=messages.append)
    assert engine.calls == 1  # a broken engine is not retried for every cue
    expected = synthesize_cues(["3", "2", "Go"], 44100, engine=ToneEngine(), cache_dir=tmp_path)
    for text, audio in cues.items():
        np.testing.assert_array_equal(audio, expected[text])
    assert len(messages) == 1
    assert messages[0].startswith("no text-to-speech engine works (")
    assert "no speech here" in messages[0] and messages[0].endswith("cues will be tones")
    synthesize_cues(["1"], 44100, engine=BrokenEngine(), cache_dir=tmp_path, warn=messages.append)
    assert len(messages) == 1  # once per process


def test_warns_through_warnings_module_without_callback(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match="cues will be tones"):
        synthesize_cues(["Go"], 44100, engine=BrokenEngine(), cache_dir=tmp_path)


def test_engine_raising_empty_audio_falls_back(tmp_path: Path) -> None:
    class Silent(FakeEngine):
        def synthesize(self, text: str) -> tuple[np.ndarray, int]:
            self.calls.append(text)
            return np.zeros(1000, np.float32), 16000

    messages: list[str] = []
    engine = Silent()
    cues = synthesize_cues(["a", "b"], 16000, engine=engine, cache_dir=tmp_path, warn=messages.append)
    assert engine.calls == ["a", "b"]  # empty audio is per text, not a broken engine
    assert all(a.size > 0 for a in cues.values())
    assert len(messages) == 1


def test_default_chain_falls_through_pyttsx3_and_cli_to_tones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the voice extra the default is espeak, falling back to the CLI, then tones."""
    monkeypatch.setattr(speech.engines.piper.extras, "installed", lambda *_names: False)
    monkeypatch.setattr(speech.engines.espeak, "_PYTTSX3_ERROR", "ModuleNotFoundError: No module named 'pyttsx3'")
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    messages: list[str] = []
    cues = synthesize_cues(["3", "Go"], 48000, cache_dir=tmp_path, warn=messages.append)
    assert set(cues) == {"3", "Go"}
    assert messages == [
        "no text-to-speech engine works (espeak: ModuleNotFoundError: No module named 'pyttsx3'; "
        "espeak-cli: espeak-ng is not installed); cues will be tones"
    ]


def test_fallback_chain_order() -> None:
    names = [e.name for e in speech.fallback_chain(Pyttsx3Engine("en-us", 160))]
    assert names == ["espeak", "espeak-cli", "tones"]
    chain = speech.fallback_chain(Pyttsx3Engine("en-us", 160))
    assert all((e.voice, e.rate) == ("en-us", 160) for e in chain)
    assert [e.name for e in speech.fallback_chain(EspeakCliEngine())] == ["espeak-cli", "tones"]
    assert [e.name for e in speech.fallback_chain(ToneEngine())] == ["tones"]


def test_make_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    engine = make_engine("espeak", None, 175)
    assert isinstance(engine, Pyttsx3Engine) and (engine.voice, engine.rate) == ("en-gb", 175)  # the locale's
    assert make_engine("espeak", "default", 175).voice == "default"  # espeak-ng's own default voice
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert make_engine("espeak-cli", None, 175).voice == "en-us"
    assert isinstance(make_engine("espeak-cli", "en-us", 150), EspeakCliEngine)
    assert isinstance(make_engine("tones", None, 175), ToneEngine)
    assert make_engine("auto", "en-gb-scotland", 160).voice == "en-gb-scotland"  # not a piper voice: espeak
    monkeypatch.setattr(speech.engines.piper.extras, "installed", lambda *_names: False)
    assert isinstance(speech.default_engine(), Pyttsx3Engine)  # without the voice extra
    assert isinstance(make_engine("auto", None, 175), Pyttsx3Engine)
    with pytest.raises(ValueError, match="unknown speech engine 'espak'; did you mean 'espeak'"):
        make_engine("espak", None, 175)
    with pytest.raises(ValueError, match="positive"):
        make_engine("espeak", None, 0)


# ---- fit_duration -----------------------------------------------------------------------------------


def test_fit_duration_leaves_short_cues_alone() -> None:
    x = np.ones(1000, np.float32) * 0.5
    np.testing.assert_array_equal(fit_duration(x, 10000, 0.2), x)


def test_fit_duration_speeds_up_without_changing_pitch() -> None:
    sr = 22050
    t = np.arange(sr) / sr
    x = (0.7 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = fit_duration(x, sr, 0.7)
    assert y.size <= int(0.7 * sr)
    assert y.size >= int(0.7 * sr) - 2
    assert _dominant_frequency(y, sr) == pytest.approx(440, abs=3)
    assert float(np.abs(y).max()) == pytest.approx(0.7, abs=1e-5)


def test_fit_duration_truncates_with_a_fade_beyond_max_speedup() -> None:
    sr = 16000
    x = (0.5 * np.sin(2 * np.pi * 300 * np.arange(sr) / sr)).astype(np.float32)
    y = fit_duration(x, sr, 0.25, max_speedup=1.5)
    assert y.size == int(0.25 * sr)
    assert abs(float(y[-1])) < 1e-3
    assert float(np.abs(y[-round(0.02 * sr) : -round(0.01 * sr)]).max()) > 0.3  # faded, not silenced


def test_time_stretch_length() -> None:
    x = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
    assert time_stretch(x, 16000, 1.25).size == 8000
    assert time_stretch(x, 16000, 0.5).size == 20000


# ---- real engines -----------------------------------------------------------------------------------


@needs_pyttsx3  # skipped when not installed; installed but broken fails
@pytest.mark.skipif(not HAVE_LIBESPEAK, reason="espeak-ng is not installed")
def test_real_pyttsx3_speech_is_plausible_and_silent(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = Pyttsx3Engine()
    texts = ["Three", "Two", "One", "Run. 3 of 10. 400 meters at mile pace.", "Three"]
    cues = synthesize_cues(texts, 44100, engine=engine, cache_dir=tmp_path, warn=_no_warning)
    assert list(cues) == texts[:4]
    three = cues["Three"]
    assert 0.2 <= three.size / 44100 <= 2.0
    assert float(np.abs(three).max()) == pytest.approx(CUE_PEAK, abs=1e-6)
    assert 1.5 <= cues[texts[3]].size / 44100 <= 6.0
    # the cues came from pyttsx3 (cached under its key), not from a fallback
    assert (tmp_path / f"{cache_key('espeak', engine.voice, 175, 'Three')}.speech").is_file()
    # a long text takes espeak-ng longer than runAndWait()'s single 10 ms poll: we must wait for it
    long_text = " ".join(["Recover for two minutes, then run four hundred meters at mile pace."] * 6)
    long_cue = synthesize_cues([long_text], 22050, engine=engine, cache_dir=tmp_path, warn=_no_warning)
    assert long_cue[long_text].size / 22050 > 15.0
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@needs_pyttsx3  # skipped when not installed; installed but broken fails
@pytest.mark.skipif(not HAVE_LIBESPEAK, reason="espeak-ng is not installed")
def test_real_pyttsx3_voice_and_rate() -> None:
    # pyttsx3's runAndWait() cancels espeak's queued parameter changes unless we wait for espeak first:
    # every rate change must take effect, in both directions, repeatedly.
    durations = {}
    for rate in (120, 260, 120, 400, 175):
        audio, sr = Pyttsx3Engine(rate=rate).synthesize("Four hundred meters")
        assert sr > 0
        durations.setdefault(rate, []).append(trim_silence(audio, sr).size / sr)
    assert durations[120][0] == pytest.approx(durations[120][1], rel=0.02)
    assert durations[120][0] > durations[175][0] > durations[260][0] > durations[400][0]
    assert durations[120][0] > 1.8 * durations[260][0]
    us, _ = Pyttsx3Engine("en-us").synthesize("Four hundred meters")
    assert us.size > 0
    with pytest.raises(SpeechError, match="unknown voice 'nosuchvoice'"):
        Pyttsx3Engine("nosuchvoice").synthesize("Three")
    # the engine still works afterwards
    again, sr = Pyttsx3Engine(rate=120).synthesize("Four hundred meters")
    assert trim_silence(again, sr).size / sr == pytest.approx(durations[120][0], rel=0.02)


@pytest.mark.skipif(not HAVE_ESPEAK_CLI, reason="espeak-ng is not installed")
def test_real_espeak_cli(tmp_path: Path) -> None:
    audio, sr = EspeakCliEngine().synthesize("Three")
    assert audio.dtype == np.float32 and 0.2 <= trim_silence(audio, sr).size / sr <= 2.0
    dash, _ = EspeakCliEngine().synthesize("-5 seconds")  # not taken for an option
    assert trim_silence(dash, sr).size / sr > 0.3
    with pytest.raises(SpeechError):
        EspeakCliEngine("nosuchvoice").synthesize("Three")
    cues = synthesize_cues(["Three"], 48000, engine=EspeakCliEngine(), cache_dir=tmp_path, warn=_no_warning)
    assert 0.2 <= cues["Three"].size / 48000 <= 2.0


def test_silenced_hides_c_level_output(capfd: pytest.CaptureFixture[str]) -> None:
    print("before", flush=True)
    with silenced():
        os.write(1, b"junk on fd 1\n")
        os.write(2, b"junk on fd 2\n")
        print("python junk")
        print("python junk", file=sys.stderr)
    print("after", flush=True)
    out, err = capfd.readouterr()
    assert out == "before\nafter\n" and err == ""


# ---- cues spoken sentence by sentence (issue 19) -------------------------------------------------------


def test_cues_are_spoken_sentence_by_sentence_with_the_rep_number_as_a_key_span(tmp_path: Path) -> None:
    from cadencecoach.speech import speak_cues
    from cadencecoach.speech.engines.base import ESPEAK_SENTENCE_GAP_S

    engine = FakeEngine()
    texts = ["Run. 3 of 10. 400 meters at mile pace.", "Recover. 3 of 10. 90 seconds.", "3", "Halfway."]
    cues = speak_cues(texts, 16000, engine=engine, cache_dir=tmp_path)
    # every distinct sentence once: "3 of 10." is shared by both announcements
    assert sorted(engine.calls) == sorted(["Run.", "3 of 10.", "400 meters at mile pace.", "Recover.", "90 seconds.",
                                           "3", "Halfway."])  # fmt: skip
    alone = synthesize_cues(["Run.", "3 of 10.", "400 meters at mile pace."], 16000, engine=engine, cache_dir=tmp_path)
    gap = round(ESPEAK_SENTENCE_GAP_S * 16000)  # an engine that does not say its pause gets espeak-ng's
    joined = np.concatenate([alone["Run."], np.zeros(gap, np.float32), alone["3 of 10."], np.zeros(gap, np.float32),
                             alone["400 meters at mile pace."]])  # fmt: skip
    assert np.array_equal(cues[texts[0]], joined)
    start = len(alone["Run."]) + gap
    assert cues.key_spans[texts[0]] == ((start, start + len(alone["3 of 10."])),)
    assert texts[2] not in cues.key_spans and texts[3] not in cues.key_spans  # countdown words: key by kind
    tones = speak_cues(texts, 16000, engine=ToneEngine(), cache_dir=tmp_path)  # one chime per cue, as before
    assert np.array_equal(tones[texts[0]], synthesize_cues([texts[0]], 16000, engine=ToneEngine())[texts[0]])
    assert tones.key_spans == {}


def test_the_speech_budget_counts_cue_texts_not_their_sentences(tmp_path: Path) -> None:
    """1,000 cue texts (the budget's count) of two sentences, one of them unique: 1,001 sentences in one call."""
    from cadencecoach.speech import speak_cues
    from cadencecoach.speech.budget import MAX_CUE_TEXTS

    class Quick:
        name, voice, rate = "quick", "v", 175

        def synthesize(self, text: str) -> tuple[np.ndarray, int]:
            return np.full(80, 0.5, np.float32), 8000

    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(letters[i // 26**k % 26] for k in range(3)) for i in range(MAX_CUE_TEXTS)]  # aaa, baa, ...
    texts = [f"{word.capitalize()}. Go" for word in words]  # about 1.1 s each by the budget's estimate
    cues = speak_cues(texts, 8000, engine=Quick(), cache_dir=tmp_path)
    assert len(cues) == MAX_CUE_TEXTS and len(cues[texts[0]]) == 2 * 80 + round(0.3 * 8000)
    with pytest.raises(ValueError, match="choose them with"):
        speak_cues([*texts, "One too many."], 8000, engine=Quick(), cache_dir=tmp_path)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_compiled_announcements_carry_their_key_spans(tmp_path: Path) -> None:
    """Through the pipeline: the rep number's span reaches the timeline's cue, which the renderer ducks."""
    from cadencecoach import pipeline
    from cadencecoach.core.timeline import CueSpeech, compile_workout
    from cadencecoach.workout.loader import load_workout_text

    workout = load_workout_text("name: R\nsteps:\n  - repeat: 2\n    steps:\n      - run: 20s\n", "w.yaml")
    voice = pipeline.VoiceSettings(engine="espeak-cli")
    speech = pipeline.speech_for(pipeline.speech_plan(workout, pipeline.CompileOptions()), 16000, voice, None)
    assert isinstance(speech, CueSpeech)
    timeline = compile_workout(workout, 16000, speech)
    announcements = [c for c in timeline.cues if c.kind == "announce"]
    assert [c.text for c in announcements] == ["Run. 1 of 2. 20 seconds.", "Run. 2 of 2. 20 seconds."]
    for cue in announcements:
        ((a, b),) = cue.key_spans
        assert 0 < a < b < cue.length  # "N of 2." sits between "Run." and "20 seconds."
