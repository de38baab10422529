"""How much distinct speech one workout may ask for: decided from the texts alone, before any synthesis.

Every distinct cue text costs an engine call (10-30 ms with espeak-ng, far more with piper), a cache entry and,
while the workout plays, its audio at the output rate in memory (float32: 10.6 MB per minute of speech at
44.1 kHz). A valid workout can still ask for far too much: 40,000 repeats of two 1-second steps announce
"Run. 3 of 40000." 80,000 times, each text different. So the texts to synthesize are admitted in the order a
run needs them until either limit would be passed:

* :data:`MAX_CUE_TEXTS` distinct texts, and
* :data:`MAX_SPEECH_S` seconds of speech in all, as :func:`estimate_seconds` guesses it (generously: digits
  are spoken as words, "1234" takes longer than "abcd").

The shipped workouts need at most 60 texts and about 4 minutes (tested), so the limits only stop a workout no
runner would write by hand. What happens to the rest is the caller's (:func:`cadencecoach.pipeline.speech_for`:
a warning naming the first step whose new cues are not spoken; those cues are silent, timing and clicks
unchanged).

Examples
--------
>>> admitted = admit(["Go.", "Run. 1 of 2.", "Run. 2 of 2."], max_texts=2)
>>> admitted.texts, admitted.cut
(['Go.', 'Run. 1 of 2.'], 'Run. 2 of 2.')
>>> admit(["Go."]).cut is None
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_CUE_TEXTS", "MAX_SPEECH_S", "REFERENCE_RATE", "Admitted", "admit", "estimate_seconds", "rate_of"]

MAX_CUE_TEXTS = 1000
"""At most this many distinct cue texts are synthesized for one workout (the shipped ones need at most 60)."""

MAX_SPEECH_S = 1200.0
"""At most this much speech (seconds, estimated by :func:`estimate_seconds`: 20 minutes) is synthesized for one
workout; the shipped ones need at most about 4 minutes. At 44.1 kHz that is at most ~210 MB of cue audio."""

REFERENCE_RATE = 175  # words per minute the per-character costs below were measured at (espeak-ng)
_PER_TEXT_S = 0.3
_PER_CHAR_S = 0.08  # a letter, a space
_PER_DIGIT_S = 0.45  # "1234" is "one thousand two hundred thirty-four"
_PER_PAUSE_S = 0.25  # . , ; : ! ? end a phrase


def estimate_seconds(text: str, rate: int = REFERENCE_RATE) -> float:
    """A generous guess of how long `text` takes to say at `rate` words per minute (measured on espeak-ng at
    175 wpm: ordinary words take about 0.07 s a character, long numbers up to 0.6 s a digit).

    Examples
    --------
    >>> round(estimate_seconds("Keep going, nice and easy."), 2)  # espeak-ng says it in 1.95 s
    2.72
    >>> estimate_seconds("Go", 350) < estimate_seconds("Go", 175)
    True
    """
    digits = sum(map(text.count, "0123456789"))
    pauses = sum(map(text.count, ".,;:!?"))
    others = len(text) - digits - pauses
    seconds = _PER_TEXT_S + _PER_CHAR_S * others + _PER_DIGIT_S * digits + _PER_PAUSE_S * pauses
    return seconds * REFERENCE_RATE / max(int(rate), 1)


def rate_of(engine: object) -> int:
    """An engine's speaking rate (words per minute) for :func:`admit`; the reference rate when it has none."""
    rate = getattr(engine, "rate", REFERENCE_RATE)
    try:
        value = int(rate)
    except (TypeError, ValueError):
        return REFERENCE_RATE
    return value if value > 0 else REFERENCE_RATE


@dataclass(frozen=True)
class Admitted:
    """What :func:`admit` keeps: ``texts`` (in the order given), the first text left out (``cut``, None when
    everything fits), how many distinct texts were asked for, their estimated speech in all (seconds) and the
    estimated speech of those kept."""

    texts: list[str]
    cut: str | None
    asked: int
    asked_s: float
    kept_s: float


def admit(
    texts: Iterable[str], rate: int = REFERENCE_RATE, *, max_texts: int | None = None, max_s: float | None = None
) -> Admitted:
    """The distinct `texts`, in order, up to the first that would pass either limit (none after it).

    Parameters
    ----------
    texts
        Cue texts in the order they are needed; repeats are counted once.
    rate
        Speaking rate, words per minute (slower speech is longer).
    max_texts, max_s
        The limits (default :data:`MAX_CUE_TEXTS`, :data:`MAX_SPEECH_S`).

    Returns
    -------
    Admitted
    """
    max_texts = MAX_CUE_TEXTS if max_texts is None else max_texts
    max_s = MAX_SPEECH_S if max_s is None else max_s
    unique = list(dict.fromkeys(texts))
    kept: list[str] = []
    cut: str | None = None
    total = 0.0
    asked_s = 0.0
    for text in unique:
        seconds = estimate_seconds(text, rate)
        asked_s += seconds
        if cut is None:
            if len(kept) >= max_texts or total + seconds > max_s:
                cut = text
            else:
                kept.append(text)
                total += seconds
    return Admitted(kept, cut, len(unique), asked_s, total)
