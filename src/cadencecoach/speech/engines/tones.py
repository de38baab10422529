"""``tones`` (:class:`ToneEngine`): distinct, deterministic beeps and chimes, used when no text-to-speech
engine works."""

from __future__ import annotations

import hashlib

import numpy as np

from cadencecoach.core.dsp import fade_edges
from cadencecoach.speech.engines.base import DEFAULT_RATE, DEFAULT_VOICE, check_rate

__all__ = ["ToneEngine"]


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip


class ToneEngine:
    """Deterministic tone patterns standing in for speech.

    Countdown numbers ("3", "2", "1", 1..10, or the words) are short beeps whose pitch rises as the
    count falls ("1" is the highest and a little longer); any other text is a two-note chime (about
    0.6 s) whose notes are derived from the text's sha256.
    """

    name = "tones"
    cacheable = False  # cheaper to regenerate than to read
    sentence_gap_s = None  # one chime per cue, not per sentence

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, sample_rate: int = 48000) -> None:
        self.voice = voice or DEFAULT_VOICE
        self.rate = check_rate(rate)
        self.sample_rate = int(sample_rate)

    def __repr__(self) -> str:
        return "ToneEngine()"

    @staticmethod
    def countdown_number(text: str) -> int | None:
        """The number 1..10 a countdown cue text stands for, or None."""
        word = text.strip().strip(".!,;:").strip().lower()
        number = int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
        return number if number is not None and 1 <= number <= 10 else None

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        number = self.countdown_number(text)
        if number is not None:
            if number == 1:
                audio = self._note(1318.5, 0.24)  # E6, a fifth above "2"
            else:
                audio = self._note(880.0 * 2.0 ** (-3 * (number - 2) / 12), 0.12)  # minor thirds down
            return audio, self.sample_rate
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        pentatonic = (0, 2, 4, 7, 9, 12, 14, 16)
        first = 440.0 * 2.0 ** (pentatonic[digest[0] % 8] / 12)
        interval = (3, 4, 5, 7)[digest[1] % 4] * (1 if digest[2] % 2 else -1)
        second = first * 2.0 ** (interval / 12)
        gap = round(0.2 * self.sample_rate)
        b = self._note(second, 0.38)
        audio = np.zeros(gap + b.size, dtype=np.float32)
        a = self._note(first, 0.22)
        audio[: a.size] += a
        audio[gap:] += b
        return audio, self.sample_rate

    def _note(self, frequency: float, seconds: float) -> np.ndarray:
        n = round(seconds * self.sample_rate)
        t = np.arange(n) / self.sample_rate
        wave = (
            np.sin(2 * np.pi * frequency * t)
            + 0.3 * np.sin(4 * np.pi * frequency * t)
            + 0.1 * np.sin(6 * np.pi * frequency * t)
        )
        envelope = np.exp(-t / (seconds / 3.0))
        out = (0.8 * wave * envelope).astype(np.float32)
        fade = round(0.005 * self.sample_rate)
        fade_edges(out, fade, min(round(0.03 * self.sample_rate), n // 2))
        return out
