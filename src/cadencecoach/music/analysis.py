"""One song in, its analysis out: tempo, confidence, beats, bar phase, loudness, tags.

The song is decoded once, in blocks: the mono mix feeds the onset detector (:mod:`.onset`), every channel
feeds the BS.1770 meter (:mod:`.loudness`); nothing keeps the audio. Results are cached as small JSON files
(``$CADENCECOACH_CACHE_DIR/music`` or the user cache folder), keyed by the file's resolved path (symbolic
links followed), size and modification time (ns), taken before the file is read: any spelling of the path, from
any folder, finds the entry, and a file that changed is analysed again. A loaded entry carries the path as
given now, never the one it was analysed under (a relative path from another folder would not open here), so
``track analyze`` followed by ``track build`` decodes each song for analysis once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cadencecoach import atomic
from cadencecoach.music.beats import beat_track
from cadencecoach.music.decode import DecodeError, open_source, read_tags
from cadencecoach.music.loudness import LoudnessMeter
from cadencecoach.music.onset import OnsetStream

ANALYSIS_VERSION = 4
MULTIPLES = (1.0, 2.0, 0.5)


@dataclass
class SongAnalysis:
    path: str
    title: str
    artist: str | None
    duration: float  # seconds
    sample_rate: int
    channels: int
    tempo: float  # BPM (0: none found)
    confidence: float
    beats: np.ndarray = field(repr=False)  # seconds
    downbeat: int  # index of a bar's first beat in `beats` (0..3)
    loudness: float  # integrated LUFS (-inf: silent)
    peak: float  # sample peak, linear

    @property
    def name(self) -> str:
        return f"{self.artist} - {self.title}" if self.artist else self.title

    def fits(self, cadence: float) -> list[tuple[float, float]]:
        """(multiple, stretch) for 1x, 2x, 0.5x: the song played at `multiple` x its tempo against `cadence`
        needs its speed multiplied by `stretch` (1.05: 5 % faster)."""
        if self.tempo <= 0:
            return []
        return [(m, cadence / (m * self.tempo)) for m in MULTIPLES]

    def best_fit(self, cadence: float) -> tuple[float, float] | None:
        """The multiple needing the least stretch (in log terms), or None without a tempo."""
        fits = self.fits(cadence)
        return min(fits, key=lambda f: abs(math.log(f[1]))) if fits else None

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["beats"] = [round(float(b), 6) for b in self.beats]
        d["loudness"] = None if not math.isfinite(self.loudness) else self.loudness
        return d

    @classmethod
    def from_json(cls, d: dict[str, object]) -> SongAnalysis:
        d = dict(d)
        d["beats"] = np.asarray(d["beats"], np.float64)
        d["loudness"] = -math.inf if d["loudness"] is None else d["loudness"]
        return cls(**d)  # type: ignore[arg-type]


def cache_dir() -> Path:
    root = os.environ.get("CADENCECOACH_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "music"
    import platformdirs

    return Path(platformdirs.user_cache_dir("cadencecoach")) / "music"


def _cache_file(path: Path) -> Path | None:
    """The cache entry of the file `path` names now: its resolved path and identity (size, mtime_ns)."""
    try:
        st = path.stat()
        resolved = path.resolve()
    except (OSError, RuntimeError):  # gone, or a symbolic link loop
        return None
    key = f"{ANALYSIS_VERSION}|{resolved}|{st.st_size}|{st.st_mtime_ns}"
    return cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _cache_load(f: Path | None, path: Path) -> SongAnalysis | None:
    """The entry `f` for the song at `path` (as given now), or None."""
    if f is None or not f.is_file():
        return None
    try:
        result = SongAnalysis.from_json(json.loads(f.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    result.path = str(path)  # the path it was analysed under may be relative to another folder
    return result


def _cache_store(f: Path | None, result: SongAnalysis) -> None:
    if f is None:
        return
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower next time
        f.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(f, json.dumps(result.to_json()), fsync=False)  # a cache: atomic, not durable


def analyze_file(path: str | os.PathLike[str], *, use_cache: bool = True) -> SongAnalysis:
    """Analyze one song (raises :class:`DecodeError` if it cannot be read)."""
    p = Path(path)
    entry = _cache_file(p) if use_cache else None  # the identity before reading: a file changed meanwhile is redone
    cached = _cache_load(entry, p)
    if cached is not None:
        return cached
    with open_source(p) as src:
        info = src.info
        onset = OnsetStream(info.sample_rate)
        meter = LoudnessMeter(info.sample_rate, info.channels)
        frames = 0
        peak = 0.0
        for block in src.blocks():
            frames += len(block)
            onset.feed(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0])
            meter.feed(block)
            if len(block):
                peak = max(peak, float(np.abs(block).max()))
    if frames == 0:
        raise DecodeError("no audio in the file")
    beats = beat_track(onset.finish())
    tags = read_tags(p)
    result = SongAnalysis(
        path=str(p),
        title=tags.title,
        artist=tags.artist,
        duration=frames / info.sample_rate,
        sample_rate=info.sample_rate,
        channels=info.channels,
        tempo=round(beats.tempo, 3),
        confidence=beats.confidence,
        beats=beats.beats,
        downbeat=beats.downbeat,
        loudness=meter.integrated(),
        peak=peak,
    )
    _cache_store(entry, result)
    return result


@dataclass(frozen=True)
class Failure:
    path: str
    reason: str


def analyze_many(
    paths: Iterable[Path],
    *,
    workers: int | None = None,
    use_cache: bool = True,
    on_done: Callable[[SongAnalysis | Failure], None] | None = None,
) -> Iterator[SongAnalysis | Failure]:
    """Analyze songs on a small thread pool (decoding, FFTs and filters release the GIL), in order."""
    items = list(paths)
    n = workers or min(len(items), os.cpu_count() or 1, 4) or 1

    def one(p: Path) -> SongAnalysis | Failure:
        try:
            return analyze_file(p, use_cache=use_cache)
        except DecodeError as exc:
            return Failure(str(p), str(exc))
        except (OSError, ValueError) as exc:
            return Failure(str(p), f"{type(exc).__name__}: {exc}")

    if n <= 1:
        for p in items:
            r = one(p)
            if on_done:
                on_done(r)
            yield r
        return
    with ThreadPoolExecutor(n) as pool:
        for r in pool.map(one, items):
            if on_done:
                on_done(r)
            yield r


def analyze_found(
    paths: Iterable[str | os.PathLike[str]],
    warn: Callable[[str], None] | None,
    *,
    none: str,
    prefix: str = "",
    use_cache: bool = True,
) -> tuple[list[SongAnalysis], list[Failure]]:
    """The songs found in `paths` (files and folders, :func:`~.decode.collect`), analysed (or from the cache), in
    order: (analyses, failures). What cannot be found or read is warned about, one line each (the read failures as
    ``{prefix}skipped PATH: reason``); no song file at all is a UsageError(`none`)."""
    from cadencecoach.errors import UsageError
    from cadencecoach.music.decode import collect

    files, problems = collect(paths)
    for problem in problems:
        if warn:
            warn(problem)
    if not files:
        raise UsageError(none)
    results = list(analyze_many(files, use_cache=use_cache))
    failures = [r for r in results if isinstance(r, Failure)]
    for f in failures:
        if warn:
            warn(f"{prefix}skipped {f.path}: {f.reason}")
    return [r for r in results if not isinstance(r, Failure)], failures
