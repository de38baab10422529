"""Cue texts -> cue audio: :func:`synthesize_cues`, through the cache, the engines and their fallbacks.

Every cue comes back as float32 mono audio at the output rate, trimmed of leading and trailing silence
(:func:`cadencecoach.core.dsp.trim_silence`), resampled (soxr, HQ), faded at both ends and peak-normalised to
:data:`CUE_PEAK`. Warnings about falling back are given once per process (:data:`WARN_ONCE`).
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import soxr

from cadencecoach.core import cues as cue_text
from cadencecoach.core import dsp
from cadencecoach.core.timeline import CueSpeech
from cadencecoach.errors import ExtraUnavailable
from cadencecoach.speech import budget, cache
from cadencecoach.speech.engines import ToneEngine, default_engine, fallback_chain
from cadencecoach.speech.engines.base import (
    ESPEAK_SENTENCE_GAP_S,
    EmptySpeechError,
    SpeechEngine,
    as_mono,
    describe,
)

__all__ = ["CUE_PEAK", "EDGE_FADE_S", "WARN_ONCE", "WarnOnce", "finish", "speak_cues", "synthesize_cues"]

CUE_PEAK = 0.7
"""Every cue returned by :func:`synthesize_cues` peaks at this fraction of full scale."""

EDGE_FADE_S = 0.002
"""A tiny fade at both ends, so a trimmed cue never starts or stops with a click."""


class WarnOnce:
    """Warnings given at most once per process, one per topic (thread-safe).

    Examples
    --------
    >>> once, said = WarnOnce(), []
    >>> once("tones", "cues will be tones", said.append)
    >>> once("tones", "cues will be tones", said.append)
    >>> said
    ['cues will be tones']
    >>> once.reset("tones"); once("tones", "again", said.append); said[-1]
    'again'
    """

    def __init__(self) -> None:
        self._given: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, topic: str, message: str, warn: Callable[[str], None] | None) -> None:
        """Give `message` through `warn` (``warnings.warn``, a RuntimeWarning, when None) unless `topic` was
        warned about already."""
        with self._lock:
            if topic in self._given:
                return
            self._given.add(topic)
        if warn is None:
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        else:
            warn(message)

    def reset(self, topic: str | None = None) -> None:
        """Forget that `topic` (every topic when None) was warned about (for tests)."""
        with self._lock:
            if topic is None:
                self._given.clear()
            else:
                self._given.discard(topic)


WARN_ONCE = WarnOnce()
"""This process's warn-once state: topics ``"tones"`` (cues will be tones although speech was asked for)
and ``"fallback"`` (an engine marked ``warn_on_fallback``, piper, failed and a fallback voice speaks)."""


def finish(audio: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """Trimmed native-rate `audio` ready to play: resampled to `sample_rate`, faded at the edges, peaking at
    :data:`CUE_PEAK`."""
    x = as_mono(audio)
    resample = rate != sample_rate and x.size > 0
    x = as_mono(soxr.resample(x, rate, sample_rate, quality="HQ")) if resample else x.copy()
    fade = round(EDGE_FADE_S * sample_rate)
    dsp.fade_edges(x, fade, fade)
    return dsp.normalize_peak(x, CUE_PEAK)


def synthesize_cues(
    texts: Iterable[str],
    sample_rate: int,
    engine: SpeechEngine | None = None,
    cache_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Every distinct text -> float32 mono audio at ``sample_rate``, trimmed and peaking at :data:`CUE_PEAK`.

    Audio comes from the on-disk cache (:mod:`cadencecoach.speech.cache`) when present, else from ``engine``
    and is then cached. An engine with a ``synthesize_many(texts)`` method (piper) gets all cache misses in
    one call, before any other work, so it can load once and spread them over the CPUs. When an engine
    fails, the next one of :func:`~cadencecoach.speech.fallback_chain` is tried.

    Parameters
    ----------
    texts
        Cue texts, in any order, repeats allowed.
    sample_rate
        The output rate, a positive integer.
    engine
        What speaks (default :func:`~cadencecoach.speech.default_engine`: pyttsx3/espeak-ng).
    cache_dir
        The cue cache (default :func:`~cadencecoach.speech.cache.speech_cache_dir`); a cache that cannot be
        used only costs time.
    warn
        Called with the one warning per process given when cues end up as tones although speech was asked
        for, or are spoken by a fallback of an engine marked ``warn_on_fallback`` (piper);
        ``warnings.warn`` (a RuntimeWarning) when None.

    Returns
    -------
    dict
        ``{text: audio}`` for every distinct text, in first-seen order.

    Raises
    ------
    ValueError
        When ``sample_rate`` is not a positive integer, or the texts ask for more speech than
        :mod:`cadencecoach.speech.budget` allows (choose them first with :func:`~cadencecoach.speech.budget.admit`).
    ~cadencecoach.errors.ExtraUnavailable
        When an optional extra is installed but cannot be imported (exit 2 with the fix, rather than a
        fallback voice nobody asked for). Never raises because of other text-to-speech problems.

    Examples
    --------
    A made-up engine saying a 0.1 s tone at 8 kHz for every text, and a fresh cache:

    >>> import tempfile
    >>> class Beep:
    ...     name, voice, rate = "beep", "default", 175
    ...     def synthesize(self, text):
    ...         return np.sin(np.linspace(0, 100 * np.pi, 800)).astype(np.float32), 8000
    >>> folder = Path(tempfile.mkdtemp())
    >>> cues = synthesize_cues(["Go", "3", "Go"], 16000, Beep(), cache_dir=folder)
    >>> list(cues), cues["Go"].size, round(float(np.abs(cues["Go"]).max()), 6)
    (['Go', '3'], 1600, 0.7)
    >>> sorted(p.parent.name for p in folder.rglob("*.speech")).count("at-16000")  # ready to play next time
    2
    """
    sample_rate, chain, unique = _checked(texts, sample_rate, engine)
    return _synthesize(unique, sample_rate, chain, cache_dir, warn, None)


def _checked(
    texts: Iterable[str], sample_rate: int, engine: SpeechEngine | None
) -> tuple[int, list[SpeechEngine], list[str]]:
    """What :func:`synthesize_cues` and :func:`speak_cues` check first: the rate, as an int; the engine and its
    fallbacks; the distinct texts, within the speech budget (a ValueError otherwise)."""
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, not {sample_rate!r}")
    chain = fallback_chain(engine if engine is not None else default_engine())
    unique = list(dict.fromkeys(texts))
    over = budget.admit(unique, budget.rate_of(chain[0]))
    if over.cut is not None:  # the caller chooses what to leave out (pipeline.speech_for), before this call
        raise ValueError(
            f"{over.asked} cue texts (about {over.asked_s / 60:.0f} minutes of speech) are more than one call "
            f"synthesizes ({budget.MAX_CUE_TEXTS} texts, {budget.MAX_SPEECH_S / 60:.0f} minutes): "
            "choose them with cadencecoach.speech.budget.admit"
        )
    return int(sample_rate), chain, unique


def _synthesize(
    unique: list[str],
    sample_rate: int,
    chain: list[SpeechEngine],
    cache_dir: Path | None,
    warn: Callable[[str], None] | None,
    progress: Callable[[int, int], None] | None,
) -> dict[str, np.ndarray]:
    """:func:`synthesize_cues` after its checks: `unique` texts, `chain` the engine and its fallbacks."""
    try:
        directory: Path | None = cache.speech_cache_dir(cache_dir)
    except Exception:
        directory = None
    failed: dict[int, str] = {}  # chain index -> why the engine does not work (for this call)
    empty: list[str] = []  # why particular texts could not be spoken
    spoken = toned = fell_back = 0
    wrote = False  # entries were added: the cache is trimmed to its cap at the end
    out: dict[str, np.ndarray] = {}
    # The first engine's cache hits, and (batch engines) its audio for every miss, synthesized at once.
    head_cached = {text: cache.lookup(directory, chain[0], text, sample_rate) for text in unique}
    batched: dict[str, tuple[np.ndarray, int] | BaseException] = {}
    synthesize_many = getattr(chain[0], "synthesize_many", None)
    misses = [text for text, hit in head_cached.items() if hit is None]
    said = 0  # misses synthesized so far (progress)
    if synthesize_many is not None and misses:
        try:
            if progress is not None:
                progress(0, len(misses))
                batched = synthesize_many(misses, progress=lambda done: progress(done, len(misses)))
                said = len(misses)
            else:
                batched = synthesize_many(misses)
        except ExtraUnavailable:
            raise
        except Exception as exc:
            failed[0] = f"{chain[0].name}: {describe(exc)}"
    for text in unique:
        result: tuple[np.ndarray, int] | None = None
        source: SpeechEngine | None = None
        # the cue is also cached ready to play (resampled to `sample_rate`, faded, normalised) in at-RATE/
        finished_key = ""
        for index, candidate in enumerate(chain):
            cacheable = directory is not None and getattr(candidate, "cacheable", True)
            key = cache.cache_key(candidate.name, candidate.voice, candidate.rate, text) if cacheable else ""
            hit = head_cached[text] if index == 0 else cache.lookup(directory, candidate, text, sample_rate)
            if hit is not None:
                kind, audio, rate = hit
                source = candidate
                if kind == "ready":
                    out[text] = audio
                else:
                    result, finished_key = (audio, rate), key
                break
            prepared = index == 0 and isinstance(batched.get(text), tuple)  # already synthesized in the batch
            if index in failed and not prepared:
                continue
            try:
                if index == 0 and text in batched:
                    answer = batched[text]
                    if isinstance(answer, BaseException):
                        raise answer
                    raw, rate = answer
                else:
                    if progress is not None and index == 0 and said < len(misses):
                        progress(said, len(misses))
                        said += 1
                    raw, rate = candidate.synthesize(text)
                audio = dsp.trim_silence(as_mono(raw), int(rate))
                if audio.size == 0:
                    raise EmptySpeechError(f"{candidate.name} said nothing for {text!r}")
            except EmptySpeechError as exc:
                empty.append(describe(exc))
                continue
            except ExtraUnavailable:
                raise
            except Exception as exc:
                failed[index] = f"{candidate.name}: {describe(exc)}"
                continue
            result, source = (audio, int(rate)), candidate
            if cacheable and directory is not None:
                wrote |= cache.store(directory, key, audio, int(rate))
                finished_key = key
            break
        if text in out:  # found ready at this rate
            spoken += 1
            fell_back += source is not chain[0]
            continue
        if result is None or (source is not chain[0] and isinstance(source, ToneEngine)):
            toned += 1
            if result is None:  # even the tone engine failed (a custom chain): beep anyway
                raw, rate = ToneEngine().synthesize(text)
                result = (dsp.trim_silence(raw, rate), rate)
        else:
            spoken += 1
            fell_back += source is not chain[0]
        out[text] = finish(result[0], result[1], sample_rate)
        if finished_key and directory is not None:
            wrote |= cache.store(cache.ready_dir(directory, sample_rate), finished_key, out[text], sample_rate)
    if progress is not None and said > 0:
        progress(len(misses), len(misses))
    if wrote and directory is not None:
        cache.trim(directory)
    reasons = "; ".join([*failed.values(), *dict.fromkeys(empty)])
    if toned:
        if spoken:
            message = f"text-to-speech failed for {toned} cue(s) ({reasons}); they will be tones"
        else:
            message = f"no text-to-speech engine works ({reasons}); cues will be tones"
        WARN_ONCE("tones", message, warn)
    elif fell_back and getattr(chain[0], "warn_on_fallback", False):
        WARN_ONCE(
            "fallback", f"{chain[0].name} failed for {fell_back} cue(s) ({reasons}); they use a fallback voice", warn
        )
    return {text: out[text] for text in unique}


def speak_cues(
    texts: Iterable[str],
    sample_rate: int,
    engine: SpeechEngine | None = None,
    cache_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CueSpeech:
    """Every distinct cue text -> its audio, spoken sentence by sentence, with where its key words sound.

    Each text is cut into sentences (:func:`cadencecoach.core.cues.sentences`); every distinct sentence is
    synthesized once (:func:`synthesize_cues`: cached, trimmed, peaking at :data:`CUE_PEAK`) and a cue is its
    sentences joined by the engine's pause between sentences (``sentence_gap_s``: what the engine makes
    itself when given the whole text). So the sample span of each sentence is known: those of key
    sentences (:func:`cadencecoach.core.cues.is_key_sentence`, the rep number) go to
    :attr:`CueSpeech.key_spans`, where the renderer ducks the click deep. An engine with
    ``sentence_gap_s = None`` (tones) gets whole texts. Parameters and errors are :func:`synthesize_cues`'s, and
    `progress`, called as ``progress(done, total)`` while sentences missing from the cache are synthesized (a cold
    start takes seconds), never when every one is cached.

    Examples
    --------
    >>> import tempfile
    >>> class Beep:
    ...     name, voice, rate, sentence_gap_s = "beep", "default", 175, 0.25
    ...     def synthesize(self, text):
    ...         return np.sin(np.linspace(0, 100 * np.pi, 800)).astype(np.float32), 8000
    >>> cues = speak_cues(["Run. Rep 2 of 8. 20 seconds."], 8000, Beep(), cache_dir=Path(tempfile.mkdtemp()))
    >>> len(cues["Run. Rep 2 of 8. 20 seconds."]), cues.key_spans
    (6400, {'Run. Rep 2 of 8. 20 seconds.': ((2800, 3600),)})
    """
    sample_rate, chain, unique = _checked(texts, sample_rate, engine)  # the budget is of cue texts, not sentences
    gap_s = getattr(chain[0], "sentence_gap_s", ESPEAK_SENTENCE_GAP_S)  # not said: espeak-ng's
    if gap_s is None:
        return CueSpeech(_synthesize(unique, sample_rate, chain, cache_dir, warn, progress))
    parts = {text: cue_text.sentences(text) or [text] for text in unique}
    uses = Counter(p for ps in parts.values() for p in ps)
    spoken = _synthesize(list(uses), sample_rate, chain, cache_dir, warn, progress)
    gap = np.zeros(round(float(gap_s) * sample_rate), np.float32)
    out = CueSpeech()
    for text, pieces in parts.items():
        chunks: list[np.ndarray] = []
        spans: list[tuple[int, int]] = []
        at = 0
        for piece in pieces:
            if chunks:
                chunks.append(gap)
                at += len(gap)
            audio = spoken[piece]
            uses[piece] -= 1
            if not uses[piece]:  # its last cue: let it go, so the speech is held about once, not twice
                del spoken[piece]
            if cue_text.is_key_sentence(piece):
                spans.append((at, at + len(audio)))
            chunks.append(audio)
            at += len(audio)
        out[text] = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        if spans:
            out.key_spans[text] = tuple(spans)
    return out
