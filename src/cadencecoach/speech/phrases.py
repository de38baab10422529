"""Spoken sentences joined from a small vocabulary synthesized before a run: the live coach's remarks
("Cadence 172. Up to 180.") are put together from the words "Cadence", "Up to" and the numbers, so nothing a
runner hears mid-run waits for the speech engine.

Examples
--------
>>> import numpy as np
>>> words = {"Cadence": np.ones(10, np.float32), "172": np.ones(5, np.float32)}
>>> len(join_words(words, [["Cadence", "172"]], 100, word_gap_s=0.1))
25
>>> join_words(words, [["Cadence", "999"]], 100) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from cadencecoach.core.timeline import Audio

WORD_GAP_S = 0.04  # between the words of a sentence
SENTENCE_GAP_S = 0.3  # between sentences


def join_words(
    speech: Mapping[str, Audio],
    sentences: Sequence[Sequence[str]],
    sample_rate: int,
    *,
    word_gap_s: float = WORD_GAP_S,
    sentence_gap_s: float = SENTENCE_GAP_S,
) -> Audio | None:
    """The audio of `sentences` (each a list of vocabulary texts) joined with short gaps.

    Parameters
    ----------
    speech : Mapping of str to ndarray
        Synthesized audio of every vocabulary text.
    sentences : sequence of sequence of str
        What to say: ``[["Cadence", "172"], ["Up to", "180"]]``.
    sample_rate : int
        Samples per second.

    Returns
    -------
    ndarray or None
        float32 mono audio; None when a word has no audio (it was not synthesized, or the voice is off).
    """
    pieces: list[Audio] = []
    word_gap = np.zeros(round(word_gap_s * sample_rate), np.float32)
    sentence_gap = np.zeros(round(sentence_gap_s * sample_rate), np.float32)
    for k, sentence in enumerate(sentences):
        if k:
            pieces.append(sentence_gap)
        for j, word in enumerate(sentence):
            audio = speech.get(word)
            if audio is None or not len(audio):
                return None
            if j:
                pieces.append(word_gap)
            pieces.append(np.asarray(audio, np.float32))
    if not pieces:
        return None
    return np.concatenate(pieces).astype(np.float32, copy=False)


class Vocabulary:
    """A small vocabulary (the live confirmations: ``Paused.``, ``Cadence``, the numbers...) made ready once,
    then joined into sentences at once (:func:`join_words`).

    ``load(texts)`` synthesizes or reads from the cache; it must print nothing (the live display may be up).
    If it fails, :meth:`say` returns None (the display still shows what would have been said) and `error`
    says why. The metronome makes it ready in a thread of its own (``cli.play``: that thread imports this
    package too, off the start-up path).

    Examples
    --------
    >>> v = Vocabulary(["Paused."], 100, lambda texts: {t: np.ones(10, np.float32) for t in texts}).load()
    >>> len(v.say([["Paused."]]))
    10
    """

    def __init__(self, texts: Sequence[str], sample_rate: int, load: Callable[[list[str]], Mapping[str, Audio]]):
        self.texts = list(texts)
        self.sample_rate = int(sample_rate)
        self._load = load
        self._speech: Mapping[str, Audio] = {}
        self.error: str | None = None

    def load(self) -> Vocabulary:
        """Make it ready (``run``: before playing, with the cues; ~30 ms from the cache)."""
        try:
            self._speech = dict(self._load(self.texts))
        except Exception as exc:  # no voice: confirmations stay silent, the run goes on
            self.error = str(exc) or type(exc).__name__
        return self

    def say(self, sentences: Sequence[Sequence[str]]) -> Audio | None:
        """The audio of `sentences`; None when a word has no audio (or the vocabulary could not be made)."""
        return join_words(self._speech, sentences, self.sample_rate)
