"""Synthetic test music with known beat times: drum patterns, a bass line and a pad (numpy only).

Every song is generated from a tempo curve, so the exact time of every beat is known:

* ``tempo`` is the tempo at the middle of the song; ``drift`` a slow linear change over the whole song
  (``0.04``: from 2 % slower to 2 % faster); the reported ``tempo_bpm`` is ``60 / median(beat interval)``;
* ``swing`` delays the off-beat eighth notes (0: straight, 1/3: triplet swing at 2/3 of the beat);
* ``lead_silence`` seconds of digital silence before the first beat;
* ``pattern``: ``rock`` (kick 1 and 3, snare 2 and 4, closed hats on eighths), ``four`` (kick on every beat,
  clap 2 and 4, open hat on the off-beats), ``break`` (kick 1 and the and-of-2, snare 2 and 4, quiet
  sixteenth hats), ``shuffle`` (rock with swung eighths and a ride).

The sounds are deterministic for a seed. :func:`synthetic_set` is the fixed set the tempo accuracy test uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100


@dataclass(frozen=True)
class SynthSong:
    audio: np.ndarray  # float32 (n, channels)
    sample_rate: int
    beats: np.ndarray  # seconds of every beat (the first is after `lead_silence`)
    tempo_bpm: float  # 60 / median beat interval
    name: str

    def write(self, path: Path, *, title: str | None = None, artist: str | None = None) -> Path:
        """Write to `path` (format from the extension, through soundfile), with title/artist tags if given."""
        import soundfile as sf

        subtype = {".wav": "PCM_16", ".flac": "PCM_16", ".ogg": "VORBIS", ".mp3": "MPEG_LAYER_III"}[path.suffix]
        with sf.SoundFile(path, "w", self.sample_rate, self.audio.shape[1], subtype=subtype) as f:
            if title and path.suffix in (".flac", ".ogg", ".mp3"):
                f.title = title
            if artist and path.suffix in (".flac", ".ogg", ".mp3"):
                f.artist = artist
            f.write(self.audio)
        return path


def _env(n: int, sr: int, decay_s: float, attack: int = 8) -> np.ndarray:
    t = np.arange(n) / sr
    e = np.exp(-t / decay_s)
    a = min(attack, n)
    e[:a] *= np.linspace(0.0, 1.0, a, endpoint=False) + 1.0 / a
    return e


def _band_noise(rng: np.random.Generator, n: int, sr: int, lo: float, hi: float) -> np.ndarray:
    x = rng.standard_normal(n)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec[(f < lo) | (f > hi)] = 0.0
    y = np.fft.irfft(spec, n)
    return y / (np.abs(y).max() + 1e-12)


def _kick(sr: int) -> np.ndarray:
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    freq = 45.0 + 95.0 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    body = np.sin(phase) * _env(n, sr, 0.12)
    click = np.zeros(n)
    m = int(0.004 * sr)
    click[:m] = np.hanning(2 * m)[m:] * 0.5
    return (body + click).astype(np.float32)


def _snare(rng: np.random.Generator, sr: int) -> np.ndarray:
    n = int(0.25 * sr)
    t = np.arange(n) / sr
    noise = _band_noise(rng, n, sr, 1200, 9000) * _env(n, sr, 0.06)
    tone = np.sin(2 * np.pi * 190 * t) * _env(n, sr, 0.05)
    return (0.7 * noise + 0.5 * tone).astype(np.float32)


def _hat(rng: np.random.Generator, sr: int, open_: bool = False) -> np.ndarray:
    n = int((0.22 if open_ else 0.06) * sr)
    return (_band_noise(rng, n, sr, 6000, 16000) * _env(n, sr, 0.08 if open_ else 0.015, attack=4)).astype(np.float32)


def _tone(freq: float, n: int, sr: int, decay_s: float, harmonics: int = 4) -> np.ndarray:
    t = np.arange(n) / sr
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    return (y * _env(n, sr, decay_s, attack=64)).astype(np.float32)


def beat_times(tempo: float, n_beats: int, drift: float = 0.0, start: float = 0.0) -> np.ndarray:
    """Beat times for a tempo changing linearly (by `drift`, relative) over the beats, `tempo` in the middle."""
    i = np.arange(n_beats, dtype=np.float64)
    bpm = tempo * (1.0 + drift * (i / max(n_beats - 1, 1) - 0.5))
    periods = 60.0 / bpm
    return start + np.concatenate([[0.0], np.cumsum(periods[:-1])])


def synth_song(
    tempo: float,
    seconds: float = 20.0,
    *,
    pattern: str = "rock",
    swing: float = 0.0,
    drift: float = 0.0,
    lead_silence: float = 0.0,
    seed: int = 0,
    sr: int = SR,
    channels: int = 2,
    tail_s: float = 0.5,
) -> SynthSong:
    """A drum pattern (with bass and pad) at `tempo` BPM; see the module docstring."""
    rng = np.random.default_rng(seed)
    music_s = max(seconds - lead_silence - tail_s, 2.0)
    n_beats = max(int(music_s * tempo / 60.0), 8)
    beats = beat_times(tempo, n_beats, drift, lead_silence)
    total = int((beats[-1] + 60.0 / tempo + tail_s) * sr) + 1
    out = np.zeros((total, 2), np.float32)
    kick, snare = _kick(sr), _snare(rng, sr)
    hat, open_hat = _hat(rng, sr), _hat(rng, sr, True)
    root = 55.0 * 2 ** (rng.integers(0, 7) / 12)  # A1..E2
    progression = [0, 5, 7, 3]

    def put(sample: np.ndarray, t: float, gain: float, pan: float = 0.0) -> None:
        i = round(float(t * sr))
        if i >= total:
            return
        seg = sample[: total - i] * np.float32(gain)
        out[i : i + len(seg), 0] += seg * np.float32(1.0 - 0.5 * pan)
        out[i : i + len(seg), 1] += seg * np.float32(1.0 + 0.5 * pan)

    swing_pos = 0.5 + 0.5 * swing if pattern != "shuffle" else 2.0 / 3.0
    for b, t in enumerate(beats):
        period = (beats[b + 1] - t) if b + 1 < len(beats) else (t - beats[b - 1])
        off = t + swing_pos * period
        pos = b % 4
        jitter = 1.0 + 0.05 * rng.standard_normal()
        if pattern in ("rock", "shuffle"):
            if pos in (0, 2):
                put(kick, t, 0.9 * jitter)
            else:
                put(snare, t, 0.6 * jitter, 0.1)
            put(hat, t, 0.18, -0.4)
            put(hat, off, 0.12, -0.4)
            if pattern == "shuffle" and pos == 3:
                put(kick, off, 0.5)
        elif pattern == "four":
            put(kick, t, 0.9 * jitter)
            if pos in (1, 3):
                put(snare, t, 0.45 * jitter, 0.1)
            put(open_hat, off, 0.12, -0.4)
        elif pattern == "break":
            if pos == 0:
                put(kick, t, 0.9 * jitter)
            if pos == 1:
                put(kick, t + 0.5 * period, 0.7)
            if pos in (1, 3):
                put(snare, t, 0.7 * jitter, 0.1)
            for k in range(4):
                put(hat, t + k * period / 4, 0.07 if k else 0.12, -0.4)
        else:
            raise ValueError(f"unknown pattern {pattern!r}")
        # bass on every beat, chord pad per bar
        bar = b // 4
        semis = progression[bar % len(progression)]
        note = root * 2 ** (semis / 12)
        put(_tone(note, int(period * 0.9 * sr), sr, period * 0.5, 3), t, 0.25, 0.0)
        if pos == 0:
            bar_len = int(min(4 * period, (total / sr) - t) * sr)
            if bar_len > 0:
                chord = sum(_tone(note * 4 * 2 ** (s / 12), bar_len, sr, 1.5, 2) for s in (0, 4, 7))
                put(chord.astype(np.float32), t, 0.04, 0.3)
    peak = float(np.abs(out).max())
    out *= np.float32(0.7 / peak)
    audio = out if channels == 2 else out.mean(axis=1, keepdims=True)
    ibi = np.diff(beats)
    name = f"{pattern}-{tempo:g}" + (f"-swing{swing:g}" if swing else "") + (f"-drift{drift:g}" if drift else "")
    return SynthSong(np.ascontiguousarray(audio, np.float32), sr, beats, float(60.0 / np.median(ibi)), name)


def synthetic_set(seconds: float = 20.0) -> list[dict[str, object]]:
    """The fixed test set: keyword arguments of :func:`synth_song`, tempos 80-190 BPM."""
    patterns = ["rock", "four", "break", "shuffle"]
    tempos = [80, 84, 88, 92, 97, 100, 105, 110, 116, 120, 124, 128, 133, 138, 142, 148,
              152, 158, 163, 168, 172, 176, 180, 185, 190]  # fmt: skip
    specs: list[dict[str, object]] = []
    for i, tempo in enumerate(tempos):
        spec: dict[str, object] = {"tempo": float(tempo), "seconds": seconds, "pattern": patterns[i % 4], "seed": i}
        if i % 5 == 1:
            spec["swing"] = 0.25
        if i % 4 == 2:
            spec["drift"] = 0.04 if i % 8 == 2 else -0.03
        if i % 3 == 0:
            spec["lead_silence"] = 1.5 + (i % 4)
        specs.append(spec)
    return specs


# ------------------------------------------------------------------------------------ grooves on given beats
#
# The songs below are rendered on explicit beat times, so a section can move (a tempo change, a 16th-note
# displacement) and the truth moves with it. Each groove is built to tempt a beat tracker away from the true
# beat: to 3/2 or 2/3 of the tempo (the 2:3 family), or onto the off-beat.

GROOVES = ("triplet", "dotted", "waltz", "skank", "backbeat")


def _stab(freq: float, sr: int, dur_s: float = 0.09) -> np.ndarray:
    """A short, bright chord stab (a reggae/ska skank): a major triad with many harmonics, fast decay."""
    n = int(dur_s * sr)
    chord = sum(_tone(freq * 2 ** (s / 12), n, sr, dur_s / 3, 8) for s in (0, 4, 7))
    return np.asarray(chord, np.float32)


def shifted_beats(tempo: float, seconds: float, *, start: float = 0.5, shifts=()) -> np.ndarray:
    """Beat times at `tempo` from `start` for `seconds`; `shifts` is a list of ``(from_s, to_s, offset_s)``:
    the beats in ``[from_s, to_s)`` move by `offset_s` (a displaced section), or ``(from_s, None, bpm)``: the
    tempo changes to `bpm` from `from_s` on (the beats stay continuous)."""
    period = 60.0 / tempo
    beats = [start]
    changes = sorted((a, bpm) for a, b, bpm in shifts if b is None)
    while beats[-1] < seconds:
        t = beats[-1]
        p = period
        for a, bpm in changes:
            if t >= a:
                p = 60.0 / bpm
        beats.append(t + p)
    out = np.asarray(beats[:-1])
    for a, b, off in shifts:
        if b is not None:
            out = np.where((out >= a) & (out < b), out + off, out)
    return out


def synth_groove(
    tempo: float,
    seconds: float = 20.0,
    *,
    groove: str = "triplet",
    beats: np.ndarray | None = None,
    seed: int = 0,
    sr: int = SR,
) -> SynthSong:
    """A groove whose true beat is `tempo` (or the given `beats`), mono-compatible stereo:

    * ``triplet``: kick on 1 and 3, snare on 2 and 4, loud hats on every triplet eighth (three per beat): the
      triplet grid grouped in twos is 3/2 of the tempo;
    * ``dotted``: kick and bass on a dotted-quarter pattern (beats 1, 2.5 and 4 of each bar: 3+3+2 eighths),
      snare on 2 and 4, eighth hats: the dotted quarter is 2/3 of the tempo;
    * ``waltz``: 3/4 (kick and bass on 1, snare and a chord stab on 2 and 3) under a steady, even eighth-note
      arpeggio: its bar is 1/3 of the tempo, and read in twos of three eighths it is 6/8 at 2/3 of the tempo;
    * ``skank``: kick and bass on every beat, a loud snare and chord stab on every off-beat (the "and"): the
      off-beats are the strongest onsets, but the beat is where the kick is;
    * ``backbeat``: kick on 1 and 3, snare on 2 and 4, eighth hats (a plain rock beat, for the shift tests).
    """
    if groove not in GROOVES:
        raise ValueError(f"unknown groove {groove!r}")
    rng = np.random.default_rng(seed)
    if beats is None:
        beats = shifted_beats(tempo, seconds - 0.5)
    beats = np.asarray(beats, np.float64)
    total = int((beats[-1] + 1.0) * sr) + 1
    out = np.zeros((total, 2), np.float32)
    kick, snare = _kick(sr), _snare(rng, sr)
    hat = _hat(rng, sr)
    root = 55.0 * 2 ** (rng.integers(0, 7) / 12)
    stab = _stab(root * 8, sr)

    def put(sample: np.ndarray, t: float, gain: float, pan: float = 0.0) -> None:
        i = round(float(t * sr))
        if i < 0 or i >= total:
            return
        seg = sample[: total - i] * np.float32(gain)
        out[i : i + len(seg), 0] += seg * np.float32(1.0 - 0.5 * pan)
        out[i : i + len(seg), 1] += seg * np.float32(1.0 + 0.5 * pan)

    bar = 3 if groove == "waltz" else 4
    for b, t in enumerate(beats):
        period = (beats[b + 1] - t) if b + 1 < len(beats) else (t - beats[b - 1])
        pos = b % bar
        jit = 1.0 + 0.05 * rng.standard_normal()
        note = root * 2 ** ([0, 5, 7, 3][(b // bar) % 4] / 12)
        bass = _tone(note, int(period * 0.8 * sr), sr, period * 0.4, 3)
        if groove == "triplet":
            put(kick if pos in (0, 2) else snare, t, (0.9 if pos in (0, 2) else 0.6) * jit)
            for k in range(3):
                put(hat, t + k * period / 3, 0.35 if k == 0 else 0.3, -0.4)
            put(bass, t, 0.25)
        elif groove == "dotted":
            if pos in (1, 3):
                put(snare, t, 0.6 * jit, 0.1)
            put(hat, t, 0.12, -0.4)
            put(hat, t + period / 2, 0.1, -0.4)
            for when in {0: (0.0,), 1: (0.5,), 3: (0.0,)}.get(pos, ()):  # bar positions 0, 1.5, 3
                put(kick, t + when * period, 1.0 * jit)
                put(_tone(note, int(period * 1.2 * sr), sr, period * 0.6, 3), t + when * period, 0.45)
                put(stab, t + when * period, 0.4, 0.3)
        elif groove == "waltz":
            if pos == 0:
                put(kick, t, 0.8 * jit)
                put(_tone(note, int(period * 2.5 * sr), sr, period, 3), t, 0.3)
            else:  # "oom-pah-pah": the two "pah"s a snare and a chord stab
                put(snare, t, 0.45 * jit, 0.1)
                put(stab, t, 0.35, 0.3)
            arp = [0, 7, 12, 16, 12, 7]
            for k in range(2):
                tone = _tone(note * 4 * 2 ** (arp[(2 * pos + k) % 6] / 12), int(period * 0.45 * sr), sr, 0.08, 4)
                put(tone, t + k * period / 2, 0.28, 0.3)
            put(hat, t, 0.1, -0.4)
            put(hat, t + period / 2, 0.1, -0.4)
        elif groove == "skank":
            put(kick, t, 0.45 * jit)
            put(bass, t, 0.3)
            put(snare, t + period / 2, 0.9 * jit, 0.1)
            put(stab, t + period / 2, 0.6, 0.3)
            put(hat, t + period / 2, 0.2, -0.4)
        else:  # backbeat
            put(kick if pos in (0, 2) else snare, t, (0.9 if pos in (0, 2) else 0.6) * jit)
            put(hat, t, 0.18, -0.4)
            put(hat, t + period / 2, 0.12, -0.4)
            put(bass, t, 0.25)
    out *= np.float32(0.7 / float(np.abs(out).max()))
    ibi = np.diff(beats)
    return SynthSong(np.ascontiguousarray(out), sr, beats, float(60.0 / np.median(ibi)), f"{groove}-{tempo:g}")
