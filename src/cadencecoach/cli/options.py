"""Parsers and checks of command-line values that are more than a Typer type: ``--latency``, ``--breathing``,
and the output file of every command that writes one (``-o``, ``--bit-depth``).

A bad value is :class:`~cadencecoach.errors.UsageError` (exit 2) naming the option.

Output files (``render``, ``track click``, ``track build``, ``convert``) are checked the one way,
:func:`check_output`, before any work: not one of the command's inputs (the workout, a song, a file in a
``--music`` folder: the same file by path, symlink or hard link), a format the writer knows, not a folder or a
device, in a folder that exists and takes a new file (a hidden probe file is created and removed: this finds
permissions, read-only file systems and full inode tables as they are); :func:`check_space` refuses a file whose
lower-bound size (:func:`cadencecoach.sinks.audiofile.estimated_bytes`) exceeds the free space; :func:`writing`
turns a write that fails anyway (ENOSPC, EROFS, EACCES, EFBIG while encoding) into the same one-line error.

Examples
--------
>>> parse_latency("LOW"), parse_latency("0.2s"), parse_latency(None)
('low', 0.2, 0.1)
>>> parse_breathing("3:2")
(3, 2)
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cadencecoach import atomic
from cadencecoach.errors import UsageError
from cadencecoach.files import kind_of, os_reason, same_file
from cadencecoach.workout.model import parse_breathing as _breathing_rule

if TYPE_CHECKING:
    from cadencecoach.sinks.tags import Metadata

DEFAULT_LATENCY_S = 0.1  # a metronome needs no low latency; a deeper buffer rides out a busy machine


def parse_latency(value: str | None) -> str | float:
    """``--latency low|high|SECONDS``.

    Parameters
    ----------
    value : str or None
        The option's text; None for the default.

    Returns
    -------
    str or float
        ``"low"``, ``"high"`` (PortAudio's own) or seconds (default DEFAULT_LATENCY_S).

    Raises
    ------
    UsageError
        Not low, high or a number of seconds in (0, 2].
    """
    if value is None:
        return DEFAULT_LATENCY_S
    v = value.strip().lower()
    if v in ("low", "high"):
        return v
    try:
        seconds = float(v.removesuffix("s"))
    except ValueError:
        raise UsageError(f"--latency must be low, high or a number of seconds (got '{value}')") from None
    if not 0.0 < seconds <= 2.0:
        raise UsageError(f"--latency {value}: give a number of seconds between 0 and 2")
    return seconds


def parse_breathing(value: str | None) -> tuple[int, int] | None:
    """``--breathing 3:2`` (inhale steps : exhale steps), by the workout files' rule
    (:func:`cadencecoach.workout.model.parse_breathing`: 1 to 8 steps each).

    Parameters
    ----------
    value : str or None
        The option's text; None when not given.

    Returns
    -------
    tuple of (int, int) or None
        ``(inhale, exhale)``; None when not given.

    Raises
    ------
    UsageError
        Not such a pattern.

    Examples
    --------
    >>> parse_breathing("9:1")
    Traceback (most recent call last):
    ...
    cadencecoach.errors.UsageError: --breathing is inhale:exhale steps, like 3:2 or 2:2 (got '9:1')
    """
    if value is None:
        return None
    pattern = _breathing_rule(value.replace(" ", ""))
    if pattern is None:
        raise UsageError(f"--breathing is inhale:exhale steps, like 3:2 or 2:2 (got '{value}')")
    return pattern


Input = tuple[str, Path]
"""An input of a command, for :func:`check_output`: the option that gave it (``"--music"``) or what it is in words
(``"the workout file"``), and its path (a file, or a folder whose files are all inputs)."""


def workout_input(arg: str) -> list[Input]:
    """The workout file a workout argument names (a path, or a user or shipped workout's name), as an input for
    :func:`check_output`; none when it names nothing (loading it will say so)."""
    from cadencecoach.errors import WorkoutError
    from cadencecoach.workout.library import resolve

    try:
        return [("the workout file", resolve(arg).path)]
    except (WorkoutError, OSError, ValueError):
        return []


def check_output(
    output: Path,
    inputs: Iterable[Input] = (),
    *,
    option: str = "-o",
    check_format: Callable[[Path], None] | None = None,
) -> None:
    """The output file of a command, before any work is done: nothing of the user's is destroyed, the file can
    be written.

    In this order: not a folder, device or FIFO; not one of `inputs` (:func:`cadencecoach.files.same_file`:
    symlinks, hard links, ``./`` paths; for a folder, no file in it); `check_format` (the command's own rule on
    the extension, raising ``ValueError``); its folder exists, is a folder, and a new file can be created in it.

    Raises
    ------
    UsageError
        One line naming `option` and `output`, and why.
    """
    try:
        st: os.stat_result | None = os.stat(output)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise UsageError(f"{option} {output}: {output.parent} is not a folder") from None
    except OSError as exc:
        raise UsageError(f"{option} {output}: {os_reason(exc)}") from None
    if st is not None:
        kind = kind_of(st.st_mode)
        if kind == "a directory":
            raise UsageError(f"{option} {output}: is a folder; give a file name")
        if kind is not None:  # /dev/null, a FIFO: the rename would put a file in its place
            raise UsageError(f"{option} {output}: is {kind}, not a regular file")
    what = _input_it_is(output, inputs)
    if what is not None:
        raise UsageError(f"{option} {output}: that is {what}; choose another name (it would be overwritten)")
    if check_format is not None:
        try:
            check_format(output)
        except ValueError as exc:
            raise UsageError(f"{option} {output}: {exc}") from None
    parent = output.parent
    if not parent.exists():
        raise UsageError(f"{option} {output}: no such folder {parent}")
    if not parent.is_dir():
        raise UsageError(f"{option} {output}: {parent} is not a folder")
    try:  # the one sure test: what the writer will do (permissions, ACLs, a read-only mount, no inodes left)
        temp, fd = atomic.temp_beside(output)
    except OSError as exc:
        raise UsageError(f"{option} {output}: cannot write in {_folder(parent)}: {os_reason(exc)}") from None
    os.close(fd)
    atomic.discard(temp)


def _folder(path: Path) -> str:
    return "this folder" if str(path) == "." else str(path)


def _input_it_is(output: Path, inputs: Iterable[Input]) -> str | None:
    """How `output` is one of `inputs`, in words, or None. A file that does not exist is none of them."""
    try:
        st = os.stat(output)
    except OSError:
        st = None
    for what, path in inputs:
        given = f"{path}, given with {what}" if what.startswith("-") else f"{what} {path}"
        if path.is_dir():
            if st is not None and _folder_holds(path, output, st):
                return f"a file in {given}"
        elif same_file(output, path):
            return given
    return None


def _folder_holds(folder: Path, output: Path, st: os.stat_result) -> bool:
    """`output` (existing, stat `st`) is in `folder` or is one of its files under another name (a link)."""
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        if output.resolve().is_relative_to(folder.resolve()):
            return True
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                other = os.stat(os.path.join(root, name))
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                return True
    return False


def check_audio_output(output: Path, bit_depth: int = 16, inputs: Iterable[Input] = ()) -> None:
    """``-o FILE`` of ``render`` and ``track``: :func:`check_output` with the audio formats we write (by the
    extension), and ``--bit-depth`` 16 or 24; checked before any work is done.

    Raises
    ------
    UsageError
        One of `inputs`, an extension no writer knows (the message lists the ones there are), another bit depth,
        or a path that cannot be written (:func:`check_output`).
    """
    from cadencecoach.sinks import audiofile  # not at import: `click` and `run` never write a file

    if bit_depth not in (16, 24):
        raise UsageError("--bit-depth must be 16 or 24")

    def check_format(path: Path) -> None:
        audiofile.format_for(path)

    check_output(output, inputs, check_format=check_format)


def check_space(
    output: Path,
    frames: int,
    sample_rate: int,
    channels: int = 1,
    bit_depth: int = 16,
    bitrate: int | None = None,
    *,
    music: bool = False,
    vbr: bool = False,
    option: str = "-o",
) -> None:
    """Refuse (UsageError naming `option`) an audio file of `frames` frames that cannot fit in the free space of
    its folder: its size's lower bound (:func:`cadencecoach.sinks.audiofile.estimated_bytes`: exact for WAV, the bit
    rate for MP3, a floor for the others; `music` for a mix of songs) against ``shutil.disk_usage().free``."""
    from cadencecoach.sinks import audiofile

    content: Literal["sparse", "music"] = "music" if music else "sparse"
    needed = audiofile.estimated_bytes(
        output, frames, sample_rate, channels, bit_depth, bitrate, vbr=vbr, content=content
    )
    try:
        audiofile.check_space(output, needed)
    except audiofile.NotEnoughSpace as exc:
        raise UsageError(f"{option} {output}: {exc.strerror}") from None


def check_encoding(
    output: Path, bitrate: int | None, quality: int | None, labels: str | None = None, sample_rate: int | None = None
) -> int | None:
    """``--bitrate``, ``--quality``, ``--labels`` and ``--sample-rate`` against the format of `output` (known
    good: :func:`check_audio_output` came first); returns the bit rate. A usage error for an option the format has
    no use for, rather than ignoring what the runner asked."""
    from cadencecoach.sinks import audiofile, encode

    ext = audiofile.format_for(output)
    if bitrate is not None and ext not in audiofile.BITRATE_FORMATS:
        hint = " (for .ogg, --quality)" if ext == ".ogg" else ""
        raise UsageError(f"--bitrate: {ext} has no bit rate; it applies to .mp3, .m4a and .opus{hint}")
    if quality is not None and ext not in audiofile.QUALITY_FORMATS:
        raise UsageError(f"--quality: {ext} has no quality setting; it applies to .mp3 and .ogg (else --bitrate)")
    if quality is not None and bitrate is not None:
        raise UsageError("give --bitrate (a constant bit rate) or --quality (a variable one), not both")
    if labels is not None and labels not in ("txt", "vtt"):
        raise UsageError(f"--labels must be txt (Audacity labels) or vtt (WebVTT), not '{labels}'")
    if sample_rate is not None and ext in encode.LOSSY:
        try:
            encode.Codec(ext, sample_rate)
        except ValueError as exc:
            raise UsageError(f"--sample-rate {sample_rate}: {exc}") from None
    return bitrate


def rendered_tags(
    workout: Any,
    timeline: Any,
    output: Path,
    *,
    artist: str | None,
    album: str | None,
    cover: bool,
) -> Metadata:
    """The tags of a rendered workout: its name and notes, artist and album (the options, else settings.toml,
    else the defaults), today's date, one chapter per step and the workout's chart as cover."""
    import datetime

    from cadencecoach.settings import load_settings
    from cadencecoach.sinks.tags import Metadata, step_chapters

    settings = load_settings()
    picture = None
    if cover and audiofile_has_cover(output):
        from cadencecoach.history.charts import workout_cover

        picture = workout_cover(timeline)
    return Metadata(
        title=workout.name,
        artist=artist or settings.artist or "cadencecoach",
        album=album or settings.album or "cadencecoach workouts",
        comment=workout.notes or "",
        date=datetime.date.today().isoformat(),
        genre="Workout",
        chapters=tuple(step_chapters(timeline)),
        cover=picture,
    )


@dataclass(frozen=True)
class MusicChoice:
    """``--music`` and its options, as `render` and `run` take them."""

    paths: tuple[Path, ...]
    max_stretch: float = 0.12  # a fraction
    glide_beats: int = 4


def parse_percent(text: str, option: str, *, high: float = 50.0) -> float:
    """A percentage like ``12`` or ``12%`` (0-`high`) as a fraction; a UsageError naming `option` otherwise."""
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise UsageError(f"{option} must be a percentage like 12 or 12% (got '{text}')") from None
    if not 0 <= value <= high or value != value:
        raise UsageError(f"{option} must be between 0 and {high:g} % (got {value:g})")
    return value / 100.0


def music_choice(paths: Iterable[Path] | None, max_stretch: str, glide: int | None) -> MusicChoice | None:
    """``--music`` (None without it), ``--max-stretch`` and ``--glide`` (default: the ``music_glide`` setting,
    else 4 beats)."""
    chosen = tuple(Path(p) for p in paths or ())
    if not chosen:
        return None
    if glide is None:
        from cadencecoach.settings import load_settings

        glide = load_settings().music_glide
    return MusicChoice(chosen, parse_percent(max_stretch, "--max-stretch"), 4 if glide is None else glide)


def print_song_table(title: str, rows: Iterable[tuple[float, str, float, float, float]]) -> None:
    """The song table of ``track build`` and ``render --music`` on stderr: one row per song start (start second,
    song, BPM, multiple, stretch in %)."""
    from rich.table import Table

    from cadencecoach.terminal import console, markup_safe
    from cadencecoach.workout.units import format_clock

    table = Table(title=markup_safe(title), title_justify="left")
    for col, just in (("start", "right"), ("song", "left"), ("BPM", "right"), ("x", "right"), ("stretch", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for start, name, bpm, multiple, stretch in rows:
        table.add_row(format_clock(start), markup_safe(name), f"{bpm:.1f}", f"{multiple:g}", f"{stretch:+.1f} %")
    console(stderr=True).print(table)


def render_loaded(
    workout: Any,
    output: Path,
    options: Any,
    audio: Any,
    *,
    warn: Any,
    tell: Any = None,
    bit_depth: int = 16,
    bitrate: int | None = None,
    quality: int | None = None,
    artist: str | None = None,
    album: str | None = None,
    cover: bool = True,
    music: MusicChoice | None = None,
    labels: str | None = None,
    workers: int | None = None,
) -> None:
    """What ``render`` does once the workout is loaded and the output checked: speech, compile, the renderer
    (with ``--music`` under it, streamed), tags and chapters, the file written atomically, ``--labels`` beside it.
    ``cadencecoach render`` and ``program export --audio`` (cli/batch_render.py) both call it.

    With music: the song table on stderr and the songs' labels beside the file (``NAME.txt``; with
    ``--labels txt`` the same file holds the steps and the songs)."""
    from cadencecoach import pipeline as session
    from cadencecoach.sinks.file import render_to_file

    timeline, _ = session.compile_with_speech(workout, options, audio, warn, tell=tell)
    renderer = session.make_renderer(timeline, audio)
    plan = None
    if music is not None:  # the runner's playlist under the workout (music/bed.py, needs the [music] extra)
        from cadencecoach.music.bed import attach_music

        plan = attach_music(
            renderer, timeline, list(music.paths), warn, max_stretch=music.max_stretch, glide_beats=music.glide_beats
        )
    tags = rendered_tags(workout, timeline, output, artist=artist, album=album, cover=cover)
    try:
        with writing(output):
            render_to_file(
                renderer,
                output,
                bit_depth=bit_depth,
                bitrate=bitrate,
                quality=quality,
                tags=tags,
                label=workout.name,
                workers=workers,
            )
    finally:
        if renderer.bed is not None:
            renderer.bed.close()
    chapters = list(tags.chapters)
    if plan is not None:
        from cadencecoach.music.bed import song_chapters
        from cadencecoach.sinks.tags import write_labels_beside

        print_song_table(
            f"{output.name}: music",
            ((p.out_start, p.song.name, p.song.tempo, p.multiple, p.stretch_percent) for p in plan.placements),
        )
        songs = song_chapters(plan)
        if labels == "txt":
            chapters = sorted([*chapters, *songs], key=lambda c: (c.start, c.end))
        else:
            written = write_labels_beside(output, songs, "txt")
            print(f"song labels in {written.name}", file=sys.stderr)
    if labels is not None:
        write_chapter_labels(output, chapters, labels)


def audiofile_has_cover(output: Path) -> bool:
    """Whether the format of `output` carries cover art (WAV does not)."""
    return output.suffix.lower() != ".wav"


def write_chapter_labels(output: Path, chapters: Any, kind: str) -> None:
    """``--labels``: the chapters beside `output` (``NAME.txt`` Audacity labels or ``NAME.vtt`` WebVTT)."""
    from cadencecoach.sinks.tags import write_labels_beside

    write_labels_beside(output, chapters, "vtt" if kind == "vtt" else "txt")


@contextlib.contextmanager
def writing(output: Path, *, option: str = "-o") -> Iterator[None]:
    """Around the work that writes `output`: a file-system error about it (the disk is full, read-only, permission
    denied, a file size limit) is one line naming `option` with the reason in words (exit 2); the writers have
    already removed their temporary file and left an old `output` as it was."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None or Path(os.fsdecode(exc.filename)) != Path(output):
            raise
        from cadencecoach.sinks.audiofile import NotEnoughSpace

        reason = exc.strerror if isinstance(exc, NotEnoughSpace) else os_reason(exc)
        raise UsageError(f"{option} {output}: cannot write it: {reason}") from None
