"""Many workouts rendered at once (``program export --audio``): :func:`render_sessions`.

Each :class:`RenderJob` is rendered exactly as ``cadencecoach render WORKOUT -o OUTPUT`` renders it with its
default options (the same functions, in the same order: :func:`cadencecoach.pipeline.load`,
:func:`~cadencecoach.pipeline.compile_with_speech`, :func:`~cadencecoach.pipeline.make_renderer`,
:func:`~cadencecoach.cli.options.rendered_tags` (a chapter per step, the chart as cover), then
:func:`~cadencecoach.sinks.file.render_to_file` inside :func:`~cadencecoach.cli.options.writing`), several at a time
in worker processes, one per usable core (:func:`cadencecoach.sinks.encode.usable_cores`).

The work, in order
    1. Every output is checked as ``render`` checks its ``-o`` (:func:`~cadencecoach.cli.options.check_audio_output`:
       a format we write, not a folder, not one of the workouts, writable), no two jobs share one, and the
       ``formats`` extra is there for ``.m4a``/``.opus``; then every workout is loaded: the problems of *all* the
       bad ones are one :class:`~cadencecoach.errors.WorkoutError` (``FILE:LINE:COL: message`` lines, exit 2)
       before anything is rendered, so a bad workout leaves no file, whole or partial. The free space of each
       folder is checked for all its files together.
    2. The cue texts of every workout are spoken in this process, one workout after another (one speech engine,
       the phrases the sessions share synthesized once, the ``voice: ...`` line said once): the workers then find
       them in the speech cache (:mod:`cadencecoach.speech.cache`) and start no engine. Sharing the cache is safe:
       an entry is written to a temporary file and renamed (:mod:`cadencecoach.atomic`; names carry the pid), a
       reader checks the digest of what it reads (a torn or vanished entry is a miss, synthesized again), and
       trimming skips what another process deleted first. A cache that cannot keep everything (unwritable, or
       trimmed to its cap) only costs the workers the synthesis.
    3. The jobs go to a pool of worker processes (``spawn``), at most `workers` at a time; results come back in
       job order. A worker's encoder (:func:`cadencecoach.sinks.encode.encode_parallel`) gets
       ``usable_cores() // workers_running`` cores (at least 1): with as many jobs as cores, each encodes in order
       in its own worker (no pool inside the pool); with fewer, each encodes on its share. Either way the batch
       asks for no more than the cores there are.

What is printed
    A worker's stderr is kept while it renders (a render there sees no terminal: no bar of its own) and its lines
    (``wrote FILE: 0:45, 70 clicks, 6 cues``, warnings) are handed to `tell` as the job finishes, each line once
    for the whole batch (a warning every worker gives is told once). With `progress` and stderr a terminal, one
    rich bar for the batch (seconds of audio done, files done) stands under those lines, and goes when done.

Stops and failures
    Ctrl-C (and SIGTERM/SIGHUP, :mod:`cadencecoach.cli.stop`): the workers ignore the terminal's signals; this
    process stops them with SIGTERM, which a worker raises as :class:`~cadencecoach.cli.stop.Stopped` in its
    render, so its writer deletes its temporary file (:mod:`cadencecoach.atomic`) and its own encoder processes
    are stopped (:func:`cadencecoach.sinks.encode.encode_parallel`); then it exits. A worker not gone within
    :data:`STOP_WAIT_S` is killed and its temporary files deleted here. The exception propagates (the command
    line's guard: ``stopped.``, 130). Files already finished stay: each is complete. A job that fails in its worker
    (a file system that refuses: ``-o FILE: cannot write it: ...``, any :class:`~cadencecoach.errors.CoachError`)
    stops the others the same way and is raised as :class:`RenderFailed`, with the worker's error lines and exit
    code.

The phone's format
    :data:`DEFAULT_AUDIO_FORMAT` is ``.mp3``. LAME comes with cadencecoach itself (``lameenc``: no extra to
    install), every phone and podcast app plays it, gapless (the LAME Info tag), and reads its ID3 ``CHAP``
    chapters, the chapter form podcast apps support most widely. And it is the cheaper encode, which is what a
    batch spends: on one core the 54-minute 10x400 took 14 s to ``.mp3`` and 38 s to ``.m4a`` (AAC through PyAV;
    measured with ``workers=1``, as a worker of a full batch encodes). ``.m4a`` is less than half the size (11 MB
    against 26 MB) but needs the ``formats`` extra, and fewer Android apps read its chapters (a QuickTime text
    track).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import io
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadencecoach import atomic
from cadencecoach.cli.stop import Stopped
from cadencecoach.errors import CoachError, Problem, UsageError, WorkoutError
from cadencecoach.terminal import safe_text

if TYPE_CHECKING:
    from cadencecoach.core.timeline import CompileOptions
    from cadencecoach.pipeline import AudioSettings, VoiceSettings
    from cadencecoach.workout.model import Workout

__all__ = ["DEFAULT_AUDIO_FORMAT", "SAMPLE_RATE", "STOP_WAIT_S", "RenderFailed", "RenderJob", "render_sessions"]

DEFAULT_AUDIO_FORMAT = ".mp3"
"""The extension of the session files for a phone (see the module's notes)."""
SAMPLE_RATE = 44100
"""``render``'s default ``--sample-rate``."""
STOP_WAIT_S = 10.0
"""How long a stopped worker has to delete its temporary file and exit before it is killed."""

Tell = Callable[[str], None]


@dataclass(frozen=True)
class RenderJob:
    """One file to render: `workout` (a path, or a shipped or user workout's name, as ``render`` takes it) to
    `output` (the format from its extension); `trial` as ``--trial``; `label` names the job on the progress bar
    (default: the workout's name)."""

    workout: Path
    output: Path
    trial: str | None = None
    label: str = ""


class RenderFailed(CoachError):
    """A job that failed in its worker: the lines and the exit code of the worker's error (a
    :class:`~cadencecoach.errors.CoachError` is carried across as those, not pickled)."""

    def __init__(self, lines: Sequence[str], exit_code: int) -> None:
        self._lines = list(lines)
        self.exit_code = exit_code
        super().__init__("\n".join(self._lines))

    def lines(self) -> list[str]:
        return list(self._lines)


def render_sessions(
    jobs: Sequence[RenderJob],
    *,
    workers: int | None = None,
    tell: Tell,
    progress: bool = True,
    voice: VoiceSettings | None = None,
) -> list[Path]:
    """Render every job as ``cadencecoach render WORKOUT -o OUTPUT`` does, in parallel (see the module's notes).

    Parameters
    ----------
    jobs : sequence of RenderJob
        The files to make; their outputs must differ.
    workers : int, optional
        Renders at a time (worker processes); default: the usable cores.
    tell : callable
        Gets each line the renders print (``wrote ...``, warnings, ``voice: ...``), once each.
    progress : bool
        One progress bar for the batch on stderr, when it is a terminal.
    voice : VoiceSettings, optional
        The speech voice; default ``render``'s: ``voice_engine`` of settings.toml, else auto.

    Returns
    -------
    list of Path
        The outputs, in job order, every one complete.

    Raises
    ------
    WorkoutError
        Every problem of every bad workout (nothing rendered).
    UsageError
        An output ``render`` would refuse, two jobs with one output, not enough space, a bad ``trial``.
    RenderFailed
        A job failed in its worker (the others stopped, their temporary files deleted).
    KeyboardInterrupt
        Ctrl-C, or :class:`~cadencecoach.cli.stop.Stopped` (SIGTERM/SIGHUP): the workers stopped, no partial file.
    """
    from cadencecoach import pipeline as session
    from cadencecoach.core.timeline import CompileOptions
    from cadencecoach.pipeline import AudioSettings
    from cadencecoach.sinks.encode import usable_cores

    jobs = list(jobs)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if not jobs:
        return []
    said = _Once(tell)
    _check_outputs(jobs)
    loaded = _load_all(jobs)
    _check_space(jobs, loaded)
    audio = AudioSettings(SAMPLE_RATE, voice=voice or _default_voice())
    options = CompileOptions()  # render's defaults: the workout's voice mode, clicks, no accent
    for w in loaded:  # the cues spoken once, here (the workers find them in the cache)
        session.speech_for(session.speech_plan(w, options), audio.sample_rate, audio.voice, said.warn, tell=said)
    running = min(len(jobs), workers or usable_cores())
    share = max(1, usable_cores() // running)
    work = [_Work(w, job.output, audio, options, share) for w, job in zip(loaded, jobs, strict=True)]
    labels = [job.label or w.name for w, job in zip(loaded, jobs, strict=True)]
    seconds = [float(w.total_duration) for w in loaded]
    with _batch_bar(progress, sum(seconds), len(jobs)) as advance:

        def finished(index: int, done: _Done) -> None:
            said.lines(done.lines)
            advance(seconds[index], labels[index])

        _run_pool(work, running, finished)
    return [job.output for job in jobs]


# ---------------------------------------------------------------------------------------------- before the work


def _check_outputs(jobs: Sequence[RenderJob]) -> None:
    """Every output as ``render`` checks its ``-o`` (none of the workouts of the batch), no two alike, and the
    extra its encoder needs."""
    from cadencecoach.cli.options import check_audio_output, check_encoding, workout_input

    inputs = [i for job in jobs for i in workout_input(str(job.workout))]
    seen: dict[Path, Path] = {}
    for job in jobs:
        key = job.output.resolve()
        if key in seen:
            raise UsageError(f"-o {job.output}: two sessions would be written to it (also {seen[key]})")
        seen[key] = job.output
        check_audio_output(job.output, 16, inputs)
        check_encoding(job.output, None, None, None, SAMPLE_RATE)
    from cadencecoach import extras
    from cadencecoach.sinks.encode import LOSSY

    for ext in sorted({job.output.suffix.lower() for job in jobs}):
        if LOSSY.get(ext) == "av":  # the formats extra, asked for here (as its encoder would) and not in a worker
            extras.load("av", f"{ext} files")


def _load_all(jobs: Sequence[RenderJob]) -> list[Workout]:
    """Every workout, as ``render`` loads it; the problems of all the bad ones in one WorkoutError."""
    from cadencecoach import pipeline as session

    loaded: list[Workout] = []
    problems: list[Problem] = []
    warnings: list[str] = []
    for job in jobs:
        try:
            loaded.append(session.load(str(job.workout), None, job.trial, require_open_length=True))
        except WorkoutError as exc:
            problems += exc.problems
            warnings += exc.warnings
    if problems:
        raise WorkoutError(problems, warnings)
    return loaded


def _check_space(jobs: Sequence[RenderJob], loaded: Sequence[Workout]) -> None:
    """The free space of each folder against all the files going into it (``render``'s check, summed)."""
    from cadencecoach.cli.options import check_space

    frames: dict[Path, tuple[RenderJob, int]] = {}
    for job, w in zip(jobs, loaded, strict=True):
        folder = Path(os.path.abspath(job.output)).parent
        first, total = frames.get(folder, (job, 0))
        frames[folder] = (first, total + round(float(w.total_duration) * SAMPLE_RATE))
    for job, total in frames.values():
        check_space(job.output, total, SAMPLE_RATE)


def _default_voice() -> VoiceSettings:
    """``render``'s voice when no option is given: ``voice_engine`` of settings.toml, else auto."""
    from cadencecoach.pipeline import VoiceSettings
    from cadencecoach.settings import load_settings

    return VoiceSettings(load_settings().voice_engine or "auto")


class _Once:
    """`tell`, each line at most once; :meth:`warn` prints a warning as ``render`` does and remembers its lines."""

    def __init__(self, tell: Tell) -> None:
        self._tell = tell
        self._said: set[str] = set()

    def __call__(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            self._tell(line)

    def lines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self(line)

    def warn(self, message: str) -> None:
        from cadencecoach.errors import warn

        self._said.update(f"warning: {safe_text(message, multiline=True)}".splitlines())
        warn(message)


@contextlib.contextmanager
def _batch_bar(progress: bool, total_s: float, count: int) -> Iterator[Callable[[float, str], None]]:
    """The batch's one bar on stderr (a terminal only): seconds of audio done, files done, the last one's label."""
    import sys

    if not (progress and sys.stderr.isatty()):
        yield lambda seconds, label: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from cadencecoach.terminal import console

    columns = (
        TextColumn("[bold]rendering[/]"),
        TextColumn("{task.fields[files]}", markup=False),  # a label is file-borne: no markup
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
    )
    done = 0
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=max(total_s, 1e-9), files=f"0/{count} files")

        def advance(seconds: float, label: str) -> None:
            nonlocal done
            done += 1
            bar.update(task, advance=seconds, files=f"{done}/{count} files ({safe_text(label)})")

        yield advance


# ------------------------------------------------------------------------------------------------------ the pool


@dataclass(frozen=True)
class _Work:
    """What a worker renders (pickled to it): the loaded workout, and ``render``'s settings."""

    workout: Workout
    output: Path
    audio: AudioSettings
    options: CompileOptions
    encode_workers: int


@dataclass(frozen=True)
class _Done:
    """What a worker sends back: the lines its render printed; for a failure, its exit code and error lines."""

    lines: tuple[str, ...] = ()
    error: tuple[int, tuple[str, ...]] | None = None


@dataclass
class _Pool:
    executor: cf.ProcessPoolExecutor
    processes: list[Any] = field(default_factory=list)


def _run_pool(work: Sequence[_Work], running: int, finished: Callable[[int, _Done], None]) -> None:
    """`work` on `running` worker processes; `finished(index, done)` as each job ends (in the order they end). On
    a failure or a stop, the workers are stopped (:func:`_stop`) and the exception propagates."""
    from cadencecoach.sinks import encode

    executor = cf.ProcessPoolExecutor(
        running, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
    )
    pool = _Pool(executor)
    stopped = False
    try:
        encode.start_workers(executor, running)  # started with the terminal's signals blocked here
        pool.processes = list((getattr(executor, "_processes", None) or {}).values())
        futures = {executor.submit(_render_job, w): i for i, w in enumerate(work)}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                result: _Done = future.result()
                if result.error is not None:
                    code, lines = result.error
                    raise RenderFailed(lines, code)
                finished(futures[future], result)
    except BaseException:
        stopped = True
        with atomic.uninterrupted():  # a second Ctrl-C waits for the cleanup (cli.stop)
            _stop(pool, [w.output for w in work])
        raise
    finally:
        if not stopped:
            executor.shutdown(wait=True)


def _stop(pool: _Pool, outputs: Sequence[Path]) -> None:
    """Stop every worker now: SIGTERM (each deletes its temporary file and exits), a kill after
    :data:`STOP_WAIT_S`, and the temporary files of the killed ones deleted here."""
    from cadencecoach.sinks import encode

    processes = pool.processes or list((getattr(pool.executor, "_processes", None) or {}).values())
    encode.stop_pool(pool.executor)  # cancels what has not started, SIGTERM to every worker, the pool let go
    left = _wait_gone(processes, STOP_WAIT_S)
    for process in left:
        with contextlib.suppress(Exception):
            process.kill()
    if left:
        _wait_gone(left, 2.0)
    pids = {p.pid for p in processes if p.pid is not None}
    for output in outputs:
        for temp in _temporary_files(output, pids):
            atomic.discard(temp)


def _wait_gone(processes: Sequence[Any], timeout: float) -> list[Any]:
    """Wait up to `timeout` s for `processes` to end (by their sentinels: whoever reaps them); those still running."""
    deadline = time.monotonic() + timeout
    alive: dict[Any, Any] = {}
    for p in processes:
        with contextlib.suppress(ValueError):  # a closed process object: gone
            alive[p.sentinel] = p
    while alive:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for sentinel in multiprocessing.connection.wait(list(alive), remaining):
            alive.pop(sentinel, None)
    return list(alive.values())


def _temporary_files(output: Path, pids: set[int]) -> list[Path]:
    """The hidden temporary files beside `output` that processes `pids` made
    (:func:`cadencecoach.atomic.temp_beside`: ``.{name}.tmp-{pid}-{random}{suffix}``)."""
    found: list[Path] = []
    for pid in pids:
        with contextlib.suppress(OSError):
            found += output.parent.glob(f".{_glob_literal(output.name)}.tmp-{pid}-*")
    return found


def _glob_literal(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


# ----------------------------------------------------------------------------------------------- in a worker


class _WorkerState:
    busy = False  # rendering a job (a stop then unwinds it: the writer deletes its temporary file)
    stopping = False  # the stop has been raised: more signals are not raised into the cleanup


_WORKER = _WorkerState()


def _worker_started() -> None:
    """A worker leaves the terminal's signals (Ctrl-C to the whole group) to the main process, which stops it with
    SIGTERM: raised into the render it is doing, or the end of an idle worker."""
    from cadencecoach.sinks import encode

    for sig in encode.GROUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_signal)


def _stop_signal(signum: int, frame: object) -> None:
    if atomic.defer_stop(lambda: _stop_signal(signum, None)):  # deleting a temporary file, in libsndfile: after
        return
    if not _WORKER.busy:
        os._exit(128 + signum)  # nothing open, nothing to clean up
    if _WORKER.stopping:
        return
    _WORKER.stopping = True
    raise Stopped(signum)


def _render_job(work: _Work) -> _Done:
    """One job, in a worker: ``render``'s steps after loading, its stderr kept for the main process."""
    _WORKER.busy = True
    out = io.StringIO()
    try:
        with contextlib.redirect_stderr(out):
            try:
                _render(work)
            except CoachError as exc:
                return _Done(tuple(out.getvalue().splitlines()), (exc.exit_code, tuple(exc.lines())))
        return _Done(tuple(out.getvalue().splitlines()))
    except KeyboardInterrupt:  # the main process's stop: the writer has deleted its temporary file on the way
        os._exit(128 + signal.SIGTERM)
    finally:
        _WORKER.busy = False


def _render(work: _Work) -> None:
    """What ``render`` does once the workout is loaded, with its default options."""
    from cadencecoach import errors
    from cadencecoach.cli.options import render_loaded

    render_loaded(work.workout, work.output, work.options, work.audio, warn=errors.warn, workers=work.encode_workers)
