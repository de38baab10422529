#!/usr/bin/env python3
"""Generate the click voices shipped in ``sounds/`` (reproducibly, CC0).

Every voice has four variants, in the order of the timeline's click voice ids::

    NAME-regular.wav  NAME-accent.wav  NAME-inhale.wav  NAME-exhale.wav

All files are mono, 16-bit PCM, 48000 Hz. Each sound starts at sample 0 (a 3-sample raised-cosine attack,
then cosine-phase partials, so the peak is within the first few milliseconds and onset detection is
sample-accurate), lasts at most 60 ms (clicks at 300 spm are 200 ms apart), ends with a raised-cosine fade
to exactly zero, and is peak-normalised to 0.9 full scale (the accent to 1.0).

Variants: ``accent`` is a fifth higher (the clave: a major third), brighter, louder and rings longer;
``inhale`` glides upwards and ``exhale`` glides downwards (both ring longer so the glide is audible).

The output is byte-identical from run to run: the only randomness (the wood block's noise transient) comes
from a generator with a fixed seed, and the WAV header is written by the stdlib ``wave`` module.

Usage::

    python scripts/make_sounds.py            # writes into the repository's sounds/
    python scripts/make_sounds.py --out DIR  # writes into DIR (created if missing)
"""

from __future__ import annotations

import argparse
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

SAMPLE_RATE = 48000
MAX_LENGTH_S = 0.060
ATTACK_SAMPLES = 3
FADE_S = 0.008
PEAK = 0.9
MAX_PEAK_S = 0.002  # the generated peak must be this early (the tests allow 3 ms after resampling)
ACCENT_PEAK = 1.0
SEED = 20_240_917

VARIANTS = ("regular", "accent", "inhale", "exhale")
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sounds"


@dataclass(frozen=True)
class Variant:
    """How a variant modifies its voice's base sound."""

    pitch_start: float  # frequency ratio at the onset
    pitch_end: float  # frequency ratio at the end (exponential glide between the two)
    decay: float  # multiplier of every partial's decay time
    brightness: float  # exponent tilting upper partials (>1 louder upper partials)
    peak: float  # peak-normalisation target


VARIANT_SPECS: dict[str, Variant] = {
    "regular": Variant(1.0, 1.0, 1.0, 1.0, PEAK),
    "accent": Variant(1.5, 1.5, 2.0, 1.6, ACCENT_PEAK),
    "inhale": Variant(0.85, 1.45, 2.2, 1.0, PEAK),
    "exhale": Variant(1.2, 0.65, 2.2, 1.0, PEAK),
}


LONG_S = 0.056  # length of the longer-ringing variants (accent, inhale, exhale)


def _time(v: Variant, regular_s: float) -> np.ndarray:
    """Sample times of a sound: ``regular_s`` long, or LONG_S for a longer-ringing variant."""
    n = round((regular_s if v.decay == 1.0 else LONG_S) * SAMPLE_RATE)
    return np.arange(n, dtype=np.float64) / SAMPLE_RATE


def _ratio(t: np.ndarray, v: Variant) -> np.ndarray:
    """Frequency ratio over time: an exponential glide from pitch_start to pitch_end."""
    if v.pitch_start == v.pitch_end:
        return np.full_like(t, v.pitch_start)
    span = t[-1] if t[-1] > 0 else 1.0
    return v.pitch_start * (v.pitch_end / v.pitch_start) ** (t / span)


def _partial(t: np.ndarray, freq: float, ratio: np.ndarray) -> np.ndarray:
    """A cosine-phase partial (maximum at sample 0) following the glide ``ratio``."""
    inst = freq * ratio
    phase = 2.0 * np.pi * np.concatenate(([0.0], np.cumsum(inst[:-1]))) / SAMPLE_RATE
    return np.cos(phase)


def _strike(t: np.ndarray, amount: float = 0.4) -> np.ndarray:
    """Extra level during the first millisecond so the onset is clearly the loudest moment
    (the partials of a long, gliding variant could otherwise line up again a few ms later)."""
    return 1.0 + amount * np.exp(-t / 0.0008)


def _partials(
    t: np.ndarray, v: Variant, partials: list[tuple[float, float, float]], base_freq: float
) -> np.ndarray:
    """Sum of exponentially damped partials ``(freq_hz, amplitude, decay_s)``."""
    ratio = _ratio(t, v)
    out = np.zeros_like(t)
    for freq, amp, tau in partials:
        tilt = (freq / base_freq) ** (v.brightness - 1.0)
        out += amp * tilt * np.exp(-t / (tau * v.decay)) * _partial(t, freq, ratio)
    return out * _strike(t)


def woodblock(v: Variant, rng: np.random.Generator) -> np.ndarray:
    """A wood block: damped inharmonic partials (~800-2500 Hz) and a very short noise transient."""
    t = _time(v, 0.050)
    x = _partials(t, v, [(820.0, 1.0, 0.014), (1370.0, 0.6, 0.009), (2210.0, 0.4, 0.006)], 820.0)
    burst = round(0.0015 * SAMPLE_RATE)
    noise = rng.uniform(-1.0, 1.0, burst)
    noise = np.diff(noise, prepend=0.0)  # first difference: tilts the noise towards the top end
    noise *= np.exp(-t[:burst] / 0.00035)
    x[:burst] += 0.5 * noise
    return x


def beep(v: Variant, rng: np.random.Generator) -> np.ndarray:
    """A clean sine beep (~1000 Hz) under a short raised-cosine envelope."""
    del rng  # no randomness in a clean beep
    t = _time(v, 0.040)
    ratio = _ratio(t, v)
    env = 0.5 * (1.0 + np.cos(np.pi * t / t[-1]))  # raised-cosine decay from 1 to 0
    env *= _strike(t, 0.15)  # just enough to keep the first crest the loudest
    x = env * _partial(t, 1000.0, ratio)
    if v.brightness != 1.0:  # the accent gets a faint octave for extra brightness
        x += 0.25 * env * _partial(t, 2000.0, ratio)
    return x


def clave(v: Variant, rng: np.random.Generator) -> np.ndarray:
    """A bright resonant clave (~2500 Hz) with an exponential decay."""
    del rng
    t = _time(v, 0.045)
    return _partials(t, v, [(2500.0, 1.0, 0.011), (2500.0 * 2.76, 0.18, 0.004)], 2500.0)


VOICES: dict[str, Callable[[Variant, np.random.Generator], np.ndarray]] = {
    "woodblock": woodblock,
    "beep": beep,
    "clave": clave,
}

# Per-voice adjustments of VARIANT_SPECS: the clave is already bright, so its accent goes up a major third
# (~3150 Hz) rather than a fifth.
VOICE_OVERRIDES: dict[str, dict[str, Variant]] = {
    "clave": {"accent": replace(VARIANT_SPECS["accent"], pitch_start=1.26, pitch_end=1.26, brightness=1.0)},
}


def finish(x: np.ndarray, peak: float) -> np.ndarray:
    """Attack ramp, end fade to zero, peak normalisation; checks the length limit."""
    n = len(x)
    if n > int(MAX_LENGTH_S * SAMPLE_RATE):
        raise ValueError(f"sound too long: {n} samples")
    k = np.arange(ATTACK_SAMPLES, dtype=np.float64)
    x = x.copy()
    x[:ATTACK_SAMPLES] *= 0.5 * (1.0 - np.cos(np.pi * (k + 1) / (ATTACK_SAMPLES + 1)))
    fade = round(FADE_S * SAMPLE_RATE)
    x[n - fade :] *= 0.5 * (1.0 + np.cos(np.pi * np.arange(1, fade + 1) / fade))  # ends at exactly 0
    where = int(np.argmax(np.abs(x)))
    if where > MAX_PEAK_S * SAMPLE_RATE:
        raise ValueError(f"peak too late: sample {where}")
    return x * (peak / np.abs(x[where]))


def render(name: str, variant: str) -> np.ndarray:
    """One sound as float64 in [-1, 1] at SAMPLE_RATE."""
    spec = VOICE_OVERRIDES.get(name, {}).get(variant, VARIANT_SPECS[variant])
    rng = np.random.default_rng([SEED, zlib.crc32(f"{name}-{variant}".encode())])
    return finish(VOICES[name](spec, rng), spec.peak)


def to_pcm16(x: np.ndarray) -> bytes:
    q = np.clip(np.round(x * 32767.0), -32767, 32767).astype("<i2")
    return q.tobytes()


def write_wav(path: Path, x: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(to_pcm16(x))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: sounds/)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not list the written files")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name in VOICES:
        for variant in VARIANTS:
            path = out / f"{name}-{variant}.wav"
            x = render(name, variant)
            write_wav(path, x)
            if not args.quiet:
                print(f"{path}  {len(x) / SAMPLE_RATE * 1000:.1f} ms  peak {np.max(np.abs(x)):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
