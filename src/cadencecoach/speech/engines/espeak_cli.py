"""``espeak-cli`` (:class:`EspeakCliEngine`): ``espeak-ng --stdout``, used when pyttsx3 does not work."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess

import numpy as np

from cadencecoach.speech.engines.base import (
    DEFAULT_RATE,
    DEFAULT_VOICE,
    EmptySpeechError,
    SpeechError,
    as_mono,
    check_rate,
    espeak_sentence_gap_s,
    locale_voice,
    read_wav,
)

__all__ = ["EspeakCliEngine"]


def _parse_stream_wav(blob: bytes) -> tuple[np.ndarray, int]:
    """Parse 16-bit PCM WAV written to a pipe (``espeak-ng --stdout``: chunk sizes are placeholders)."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise SpeechError("espeak-ng did not write a WAV file")
    pos, rate, channels, bits = 12, 0, 1, 16
    while pos + 8 <= len(blob):
        chunk, size = blob[pos : pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
        body = pos + 8
        if chunk == b"fmt ":
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", blob, body)
        elif chunk == b"data":
            if bits != 16 or rate <= 0 or channels < 1:
                raise SpeechError(f"unsupported WAV from espeak-ng ({bits} bit, {rate} Hz)")
            payload = blob[body:]
            usable = len(payload) - len(payload) % (2 * channels)
            pcm = np.frombuffer(payload[:usable], dtype="<i2").reshape(-1, channels)
            return as_mono(pcm.astype(np.float32) / 32768.0), rate
        pos = body + size + (size & 1)
    raise SpeechError("espeak-ng wrote a WAV file without audio")


class EspeakCliEngine:
    """``espeak-ng --stdout -v VOICE -s RATE -- TEXT`` (``-v`` omitted for the default voice)."""

    name = "espeak-cli"

    def __init__(self, voice: str | None = None, rate: int = DEFAULT_RATE, executable: str | None = None) -> None:
        self.voice = voice or locale_voice()  # DEFAULT_VOICE ("default"): espeak-ng's own default
        self.rate = check_rate(rate)
        self.executable = executable

    def __repr__(self) -> str:
        return f"EspeakCliEngine(voice={self.voice!r}, rate={self.rate})"

    @property
    def sentence_gap_s(self) -> float:
        return espeak_sentence_gap_s(self.rate)

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise EmptySpeechError("nothing to say")
        exe = self.executable or shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            raise SpeechError("espeak-ng is not installed")
        command = [exe, "--stdout", "-s", str(self.rate)]
        if self.voice != DEFAULT_VOICE:
            command += ["-v", self.voice]
        command += ["--", text]
        try:
            proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SpeechError(f"cannot run {exe}: {exc}") from exc
        problem = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        if proc.returncode != 0:
            detail = f": {problem[0]}" if problem else ""
            raise SpeechError(f"espeak-ng exited with status {proc.returncode}{detail}")
        if len(proc.stdout) <= 44:
            raise SpeechError(f"espeak-ng: {problem[0]}" if problem else f"espeak-ng said nothing for {text!r}")
        try:
            return read_wav(io.BytesIO(proc.stdout))
        except Exception:  # libsndfile may reject the placeholder chunk sizes of a streamed WAV
            return _parse_stream_wav(proc.stdout)
