"""Listening to rendered cues with an independent speech recognizer (pocketsphinx), cue by cue.

Used by ``tests/test_listening.py`` and ``benchmarks/bench_speech.py --only listening``. A runner who knows the
session knows its phrases, so the recognizer is given them as context: a trigram language model built from
the workout's own cue texts (pocketsphinx's ``ArpaBoLM``), and CMU's pronouncing dictionary. Each cue is cut
from the block renderer's output (what a file holds and the live player plays: clicks, ducking, the voice
level), from a little before it starts to a little after it ends, resampled to 16 kHz, given a quiet noise
floor (exact digital silence confuses the recognizer) and optionally wind-like noise, and decoded alone.

A cue is *heard* when the recognizer's words say what a runner needs: every number of the cue in order (rep
"5 of 10", the countdown's "1", "400 meters") and at most a quarter of its words wrong (word error rate).
"""

from __future__ import annotations

import functools
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

RECOGNIZER_RATE = 16000
NOISE_FLOOR_DBFS = -60.0
"""RMS of the white noise floor added to every clip."""
LEAD_S = 0.1
TAIL_S = 0.3
MAX_WER = 0.25

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """``400`` -> ``four hundred``, ``45`` -> ``forty five`` (0..999999)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    thousands, rest = divmod(n, 1000)
    return number_words(thousands) + " thousand" + ("" if rest == 0 else " " + number_words(rest))


NUMBER_WORDS = frozenset(_ONES) | frozenset(_TENS[2:]) | {"hundred", "thousand"}


def spoken_words(text: str) -> list[str]:
    """A cue text as the words a listener hears: ``Run. Rep 3 of 10.`` -> ``run rep three of ten``."""
    text = text.lower().replace("-", " ").replace("%", " percent")
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    return re.findall(r"[a-z']+", text)


def numbers_of(words: Sequence[str]) -> list[str]:
    return [w for w in words if w in NUMBER_WORDS]


def word_errors(expected: Sequence[str], heard: Sequence[str]) -> int:
    """Levenshtein distance in words."""
    row = list(range(len(heard) + 1))
    for i, e in enumerate(expected, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(heard, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (e != h))
    return row[-1]


def heard_right(expected: Sequence[str], heard: Sequence[str]) -> bool:
    """Every number in order, and at most :data:`MAX_WER` of the words wrong."""
    if numbers_of(expected) != numbers_of(heard):
        return False
    return word_errors(expected, heard) <= MAX_WER * max(len(expected), 1)


class Listener:
    """A pocketsphinx decoder whose language model is built from `phrases` (a workout's cue texts)."""

    def __init__(self, phrases: Sequence[str]) -> None:
        import pocketsphinx
        from pocketsphinx.lm import ArpaBoLM

        sentences = "".join(" ".join(spoken_words(p)) + "\n" for p in dict.fromkeys(phrases))
        lm = ArpaBoLM(text=sentences, add_start=True)
        self._dir = tempfile.TemporaryDirectory(prefix="cc-listen-")
        arpa = Path(self._dir.name) / "cues.arpa"
        lm.compute()
        with arpa.open("w") as f:
            lm.write(f)
        model = Path(pocketsphinx.get_model_path())
        self.decoder = pocketsphinx.Decoder(
            hmm=str(model / "en-us" / "en-us"),
            lm=str(arpa),
            dict=str(model / "en-us" / "cmudict-en-us.dict"),
            samprate=RECOGNIZER_RATE,
            loglevel="FATAL",
        )

    def hear(self, audio: np.ndarray) -> list[str]:
        """The words heard in `audio` (float32 mono at :data:`RECOGNIZER_RATE`)."""
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return [] if hyp is None else [w for w in hyp.hypstr.split() if not w.startswith("<")]


def wind(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Wind-like noise, unit RMS: low-passed (most energy under ~400 Hz, a -6 dB/octave tail into the
    speech band) and gusting (a slow random envelope, 0.3-2 Hz)."""
    white = rng.standard_normal(n + rate)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(len(white), 1 / rate)
    spectrum /= np.sqrt(1 + (f / 400.0) ** 2)
    noise = np.fft.irfft(spectrum, len(white))[rate:]
    k = max(n // max(rate // 2, 1) + 3, 4)
    gust = np.interp(np.arange(n), np.linspace(0, n, k), 0.5 + rng.random(k))
    noise *= gust
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


@dataclass
class Heard:
    kind: str
    text: str
    at: int
    expected: list[str]
    heard: list[str]

    @property
    def ok(self) -> bool:
        return heard_right(self.expected, self.heard)


def cue_clips(
    timeline: Any, renderer: Any, *, wind_dbfs: float | None = None, seed: int = 0
) -> list[tuple[Any, np.ndarray]]:
    """Every cue of `timeline` with audio, and its clip cut from `renderer`'s output at 16 kHz, with the noise
    floor and (`wind_dbfs`) :func:`wind` at that RMS level: the same for every cue and engine, as the wind is
    the same whatever the coach says (the speech peaks at 0.7, -3 dBFS; espeak-ng's RMS is about -21 dBFS,
    piper's -23.5 dBFS, so -31 dBFS is about 10 dB under espeak-ng's speech and -26 dBFS 5 dB)."""
    cues = sorted((c for c in timeline.cues if c.audio is not None and len(c.audio)), key=lambda c: c.at)
    rate = timeline.sample_rate
    rng = np.random.default_rng(seed)
    out = []
    for i, cue in enumerate(cues):
        a = cue.at - round(LEAD_S * rate)
        if i:
            a = max(a, cues[i - 1].end)
        b = cue.end + round(TAIL_S * rate)
        if i + 1 < len(cues):
            b = min(b, cues[i + 1].at)
        clip = np.empty(b - a, np.float32)
        renderer.render(a, clip)
        x = soxr.resample(clip, rate, RECOGNIZER_RATE).astype(np.float32)
        if wind_dbfs is not None:
            x += wind(len(x), RECOGNIZER_RATE, rng) * np.float32(10 ** (wind_dbfs / 20))
        x += rng.standard_normal(len(x)).astype(np.float32) * np.float32(10 ** (NOISE_FLOOR_DBFS / 20))
        out.append((cue, x))
    return out


_WORKER: Listener | None = None


def _start_worker(phrases: list[str]) -> None:
    global _WORKER
    _WORKER = Listener(phrases)


def _hear(clip: np.ndarray) -> list[str]:
    assert _WORKER is not None
    return _WORKER.hear(clip)


def listen(
    timeline: Any, renderer: Any, *, wind_dbfs: float | None = None, seed: int = 0, workers: int = 1
) -> list[Heard]:
    """Every cue of `timeline` with audio, cut from `renderer`'s output (:func:`cue_clips`) and decoded, on
    `workers` processes (each with its own decoder; the decoding is the slow part)."""
    clips = cue_clips(timeline, renderer, wind_dbfs=wind_dbfs, seed=seed)
    phrases = [c.text for c, _ in clips]
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(phrases,)) as pool:
            heard = list(pool.map(_hear, [x for _, x in clips], chunksize=max(len(clips) // (4 * workers), 1)))
    else:
        listener = Listener(phrases)
        heard = [listener.hear(x) for _, x in clips]
    return [Heard(c.kind, c.text, c.at, spoken_words(c.text), h) for (c, _), h in zip(clips, heard, strict=True)]


@functools.lru_cache(maxsize=1)
def available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True
