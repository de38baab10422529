"""Tests of the click voices (``cadencecoach.sounds``) and their generator (``scripts/make_sounds.py``)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from cadencecoach.sounds import SOUND_NAMES, VARIANTS, list_sounds, load_bank, sounds_dir

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "make_sounds.py"
RATES = (22050, 44100, 48000)


def _max_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Maximum normalised cross-correlation over all lags (1.0 = the same sound, maybe shifted)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    corr = np.correlate(a64, b64, mode="full")
    return float(np.max(np.abs(corr)) / np.sqrt(np.dot(a64, a64) * np.dot(b64, b64)))


def _dominant_freq(x: np.ndarray, sample_rate: int) -> float:
    window = x.astype(np.float64) * np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(window, 1 << 15))
    return float(np.fft.rfftfreq(1 << 15, 1.0 / sample_rate)[np.argmax(spectrum)])


def test_variants_are_the_click_voice_ids() -> None:
    assert VARIANTS == ("regular", "accent", "inhale", "exhale")


def test_shipped_voices_are_listed_sorted() -> None:
    names = list_sounds()
    assert names == sorted(names)
    assert set(SOUND_NAMES) <= set(names)
    assert {"woodblock", "beep", "clave"} <= set(names)


def test_sounds_dir_holds_the_wav_files() -> None:
    directory = sounds_dir()
    assert directory.is_dir()
    for name in list_sounds():
        for variant in VARIANTS:
            assert (directory / f"{name}-{variant}.wav").is_file()


@pytest.mark.parametrize("name", list_sounds())
def test_shipped_files_format(name: str) -> None:
    for variant in VARIANTS:
        path = sounds_dir() / f"{name}-{variant}.wav"
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
        x, _ = soundfile.read(str(path), dtype="float64")
        assert len(x) <= 0.060 * 48000
        expected_peak = 1.0 if variant == "accent" else 0.9
        assert np.max(np.abs(x)) == pytest.approx(expected_peak, abs=2 / 32768)
        assert abs(x[0]) >= 0.1 * np.max(np.abs(x))  # no leading silence: the onset is sample 0
        assert x[-1] == 0.0  # faded out: no click at the tail
        assert np.max(np.abs(x[-24:])) < 0.01


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("name", list_sounds())
def test_load_bank(name: str, sample_rate: int) -> None:
    bank = load_bank(name, sample_rate)
    assert isinstance(bank, list)
    assert len(bank) == len(VARIANTS)
    for variant, x in zip(VARIANTS, bank, strict=True):
        label = f"{name}-{variant}@{sample_rate}"
        assert x.dtype == np.float32 and x.ndim == 1, label
        assert not x.flags.writeable, label
        assert np.all(np.isfinite(x)), label
        assert 0 < len(x) <= round(0.060 * sample_rate), label
        magnitude = np.abs(x)
        peak = float(magnitude.max())
        assert 0.5 < peak <= 1.0, label
        assert int(np.argmax(magnitude)) < 0.003 * sample_rate, label
        onset = int(np.flatnonzero(magnitude > 0.1 * peak)[0])
        assert onset <= 2, label
        assert float(magnitude[-max(1, sample_rate // 2000) :].max()) < 0.01, label  # quiet tail


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("name", list_sounds())
def test_variants_are_pairwise_distinct(name: str, sample_rate: int) -> None:
    bank = load_bank(name, sample_rate)
    for (va, a), (vb, b) in itertools.combinations(zip(VARIANTS, bank, strict=True), 2):
        corr = _max_correlation(a, b)
        assert corr < 0.8, f"{name}: {va} and {vb} too similar (correlation {corr:.2f})"


@pytest.mark.parametrize("name", list_sounds())
def test_accent_is_stronger_and_higher(name: str) -> None:
    regular, accent = load_bank(name, 48000)[:2]
    assert np.max(np.abs(accent)) > np.max(np.abs(regular))
    assert np.sum(accent.astype(np.float64) ** 2) > 1.1 * np.sum(regular.astype(np.float64) ** 2)
    assert _dominant_freq(accent, 48000) > 1.2 * _dominant_freq(regular, 48000)


@pytest.mark.parametrize("name", list_sounds())
def test_inhale_rises_and_exhale_falls(name: str) -> None:
    sample_rate = 48000
    _, _, inhale, exhale = load_bank(name, sample_rate)

    def early_late(x: np.ndarray) -> tuple[float, float]:
        ms = sample_rate // 1000
        early = _dominant_freq(x[2 * ms : 14 * ms], sample_rate)
        return early, _dominant_freq(x[26 * ms : 42 * ms], sample_rate)

    early, late = early_late(inhale)
    assert late > 1.1 * early, f"{name} inhale: {early:.0f} Hz -> {late:.0f} Hz"
    early, late = early_late(exhale)
    assert late < early / 1.1, f"{name} exhale: {early:.0f} Hz -> {late:.0f} Hz"


def test_load_bank_is_cached() -> None:
    first = load_bank("woodblock", 44100)
    second = load_bank("woodblock", 44100)
    assert all(a is b for a, b in zip(first, second, strict=True))
    first.clear()  # the returned list is the caller's own
    assert len(load_bank("woodblock", 44100)) == len(VARIANTS)
    with pytest.raises(ValueError):
        second[0][0] = 0.5


def test_unknown_name_suggests() -> None:
    with pytest.raises(ValueError) as excinfo:
        load_bank("wodblock", 48000)
    message = str(excinfo.value)
    assert "did you mean 'woodblock'" in message
    for name in list_sounds():
        assert name in message


def test_unknown_name_without_close_match_lists_available() -> None:
    with pytest.raises(ValueError) as excinfo:
        load_bank("xylophone-3000", 48000)
    message = str(excinfo.value)
    assert "did you mean" not in message
    assert all(name in message for name in list_sounds())


@pytest.mark.parametrize("rate", [0, -44100])
def test_bad_sample_rate(rate: int) -> None:
    with pytest.raises(ValueError):
        load_bank("beep", rate)


def _generate(out: Path) -> dict[str, bytes]:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--quiet"], check=True, timeout=120)
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.wav"))}


def test_generator_is_deterministic_and_matches_shipped_files(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a")
    second = _generate(tmp_path / "b")
    expected = {f"{name}-{variant}.wav" for name in ("woodblock", "beep", "clave") for variant in VARIANTS}
    assert expected <= set(first)
    assert first == second
    shipped = {p.name: p.read_bytes() for p in sorted(sounds_dir().glob("*.wav"))}
    assert shipped == first
