"""The on-disk cache of rendered cue audio: where it is, how entries are named, read and written.

One file per cue, ``<key>.speech``, named by :func:`cache_key` (sha256 of the cache version, engine name,
voice, rate and text). The engine's own output (trimmed, at its native rate) is stored in the cache
directory; the same cue ready to play at an output rate (resampled, faded, normalised) in ``at-<rate>/``, so
a warm start neither imports nor initialises a speech engine and does no resampling.

Entry format, version :data:`CACHE_VERSION` (unchanged since it was introduced; bump the version when the
stored audio changes meaning)::

    header  struct "<8sIIQ32s": magic b"CCSPEECH", version (u32), sample rate (u32),
            sample count (u64), sha256 of the payload (32 bytes)
    payload sample count little-endian float32 samples

An entry that is missing, truncated, of another version or whose payload does not match its digest is a
miss (and is rewritten); writes go through :mod:`cadencecoach.atomic`, and an unwritable cache only costs
time (errors are ignored).

Size: the whole cache (both levels) is kept under :data:`MAX_CACHE_BYTES`. A hit touches its entry (its
mtime: least recently used goes first); after a call that wrote entries, :func:`trim` deletes the least
recently used ones until the rest fit; an entry larger than the cap is not written at all. Processes
sharing the cache may trim at once: a file another one deleted first is skipped, and a reader whose entry
disappears has a miss.

Examples
--------
>>> import tempfile, numpy as np
>>> folder = Path(tempfile.mkdtemp())
>>> key = cache_key("espeak", "default", 175, "Go")
>>> store(folder, key, np.array([0.0, 0.5, -0.25], np.float32), 22050)
True
>>> audio, rate = load(folder, key)
>>> audio.tolist(), rate
([0.0, 0.5, -0.25], 22050)
>>> load(folder, cache_key("espeak", "default", 180, "Go")) is None  # another rate: a miss
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np

from cadencecoach import atomic
from cadencecoach.speech.engines.base import SpeechEngine

__all__ = [
    "CACHE_ENV",
    "CACHE_SUFFIX",
    "CACHE_VERSION",
    "MAX_CACHE_BYTES",
    "Lookup",
    "cache_key",
    "entry_path",
    "load",
    "lookup",
    "ready_dir",
    "speech_cache_dir",
    "store",
    "touch",
    "trim",
]

CACHE_VERSION = 1
"""Part of every key and every header; bump it when the stored audio changes meaning (trimming, format)."""

CACHE_SUFFIX = ".speech"
CACHE_ENV = "CADENCECOACH_CACHE_DIR"
"""The environment variable naming the cache root (the speech cache is its ``speech`` folder)."""

MAX_CACHE_BYTES = 300 * 1024 * 1024
"""The speech cache is trimmed to this size (least recently used entries first). One workout at the speech
budget's limit (:mod:`cadencecoach.speech.budget`) needs about 260 MB at 44.1 kHz; an ordinary one 10-40 MB."""

_HEADER = struct.Struct("<8sIIQ32s")  # magic, version, sample rate, sample count, sha256(payload)
_MAGIC = b"CCSPEECH"

Lookup = tuple[str, np.ndarray, int]
"""A cache hit: ``("ready" | "native", audio, its rate)``."""


def speech_cache_dir(cache_dir: Path | None = None) -> Path:
    """Where cue audio is cached: ``cache_dir`` itself if given, else ``$CADENCECOACH_CACHE_DIR/speech``,
    else ``platformdirs.user_cache_dir("cadencecoach")/speech``."""
    if cache_dir is not None:
        return Path(cache_dir)
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser() / "speech"
    import platformdirs

    return Path(platformdirs.user_cache_dir("cadencecoach")) / "speech"


def cache_key(engine_name: str, voice: str, rate: int, text: str) -> str:
    """The sha256 hex digest naming the cached audio of ``text`` spoken by that engine configuration."""
    blob = json.dumps([CACHE_VERSION, engine_name, voice, int(rate), text], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def entry_path(directory: Path, key: str) -> Path:
    """The file of entry `key` in `directory`."""
    return directory / f"{key}{CACHE_SUFFIX}"


def ready_dir(directory: Path, sample_rate: int) -> Path:
    """The folder of the entries ready to play at `sample_rate`."""
    return directory / f"at-{sample_rate}"


def load(directory: Path, key: str) -> tuple[np.ndarray, int] | None:
    """The cached (audio, its rate), or None when missing or corrupt."""
    try:
        blob = entry_path(directory, key).read_bytes()
        magic, version, rate, count, digest = _HEADER.unpack_from(blob)
        payload = memoryview(blob)[_HEADER.size :]
        if (
            magic != _MAGIC
            or version != CACHE_VERSION
            or rate <= 0
            or count == 0
            or len(payload) != 4 * count
            or hashlib.sha256(payload).digest() != digest
        ):
            return None
        audio = np.frombuffer(payload, dtype="<f4").astype(np.float32)
    except (OSError, struct.error, ValueError):
        return None
    if not np.all(np.isfinite(audio)):
        return None
    return audio, int(rate)


def store(directory: Path, key: str, audio: np.ndarray, rate: int, *, cap: int | None = None) -> bool:
    """Write entry `key` atomically (creating `directory`); an unwritable cache only costs time, so errors are
    ignored. An entry larger than `cap` (default :data:`MAX_CACHE_BYTES`) is not written. Returns whether it
    was written.

    Not fsync'ed: an entry torn by a crash fails its digest and is a miss, so durability would only cost time.
    """
    payload = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    if _HEADER.size + len(payload) > (MAX_CACHE_BYTES if cap is None else cap):
        return False
    header = _HEADER.pack(_MAGIC, CACHE_VERSION, rate, audio.size, hashlib.sha256(payload).digest())
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_file(entry_path(directory, key), "wb", fsync=False) as f:
            f.write(header)
            f.write(payload)
    except OSError:
        return False
    return True


def touch(directory: Path, key: str) -> None:
    """Mark entry `key` as just used (its mtime), so :func:`trim` keeps it longest."""
    with contextlib.suppress(OSError):
        os.utime(entry_path(directory, key))


def _entries(root: Path) -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of every entry of the cache at `root` (both levels); temp files are not entries."""
    found: list[tuple[float, int, Path]] = []
    folders = [root]
    try:
        with os.scandir(root) as it:
            folders += [Path(e.path) for e in it if e.name.startswith("at-") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for folder in folders:
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.name.endswith(CACHE_SUFFIX) and not e.name.startswith("."):
                        try:
                            st = e.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        found.append((st.st_mtime, st.st_size, Path(e.path)))
        except OSError:
            continue
    return found


def trim(root: Path, cap: int | None = None) -> int:
    """Delete the least recently used entries of the cache at `root` until the rest take at most `cap` bytes
    (default :data:`MAX_CACHE_BYTES`). Returns the bytes freed; errors are ignored (another process may be
    trimming too).

    Examples
    --------
    >>> import tempfile, time
    >>> root = Path(tempfile.mkdtemp())
    >>> for n, text in enumerate(["old", "new"]):
    ...     store(root, cache_key("e", "v", 175, text), np.zeros(1000, np.float32), 8000)
    ...     os.utime(entry_path(root, cache_key("e", "v", 175, text)), (n, n))
    True
    True
    >>> trim(root, cap=5000) > 0, [load(root, cache_key("e", "v", 175, t)) is not None for t in ("old", "new")]
    (True, [False, True])
    """
    cap = MAX_CACHE_BYTES if cap is None else cap
    entries = _entries(root)
    total = sum(size for _, size, _ in entries)
    freed = 0
    if total <= cap:
        return 0
    for _, size, path in sorted(entries, key=lambda e: (e[0], str(e[2]))):
        if total - freed <= cap:
            break
        try:
            path.unlink()
        except FileNotFoundError:  # another process trimmed it first: it is gone all the same
            pass
        except OSError:
            continue
        freed += size
    return freed


def lookup(directory: Path | None, engine: SpeechEngine, text: str, sample_rate: int) -> Lookup | None:
    """`text` as `engine` says it, from the cache: ready to play at `sample_rate`, else the engine's native
    audio; None on a miss (or when there is no cache, or the engine is not ``cacheable``)."""
    if directory is None or not getattr(engine, "cacheable", True):
        return None
    key = cache_key(engine.name, engine.voice, engine.rate, text)
    ready = load(ready_dir(directory, sample_rate), key)
    if ready is not None and ready[1] == sample_rate:
        touch(ready_dir(directory, sample_rate), key)
        touch(directory, key)  # the native entry is what the ready one is made from again
        return ("ready", *ready)
    native = load(directory, key)
    if native is None:
        return None
    touch(directory, key)
    return ("native", *native)
