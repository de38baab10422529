"""The one atomic writer: a file appears under its name complete or not at all.

Everything the tool writes for the user or keeps for itself (rendered audio, converted workouts, FIT files,
charts, speech and music caches, label files) goes to a hidden temporary file beside the target
(``.{name}.tmp-{pid}-{random}{suffix}``, created exclusively, so two writers never share one), is flushed and
fsync'ed, and is renamed onto the target (``os.replace``) only when complete; on any exception (Ctrl-C
included, and SIGTERM/SIGHUP, which the command line turns into exceptions) the temporary file is deleted and a
file that already existed keeps its old contents. A file system that refuses (full, read-only, permission) is
an ``OSError`` with its errno and the *target's* name (:func:`named`), never the hidden temporary file's.

:func:`temp_beside` + :func:`commit` + :func:`discard` are the pieces for streamed writers
(:mod:`cadencecoach.sinks.audiofile` keeps its fd open while it encodes); :func:`atomic_file` is the context
manager for everything else, and :func:`write_bytes` / :func:`write_text` the one-call forms.

Examples
--------
>>> import pathlib, tempfile
>>> target = pathlib.Path(tempfile.mkdtemp()) / "plan.txt"
>>> write_text(target, "10 x 400 m\\n")
>>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
('10 x 400 m\\n', ['plan.txt'])
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def temp_beside(path: str | os.PathLike[str], *, mode: int = 0o666) -> tuple[Path, int]:
    """Create a new hidden temporary file in `path`'s directory; return it and its open descriptor.

    Permissions are `mode` less the umask, as for any file the user creates (not mkstemp's 0600).
    """
    target = Path(path)
    for _ in range(100):
        temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{target.suffix}")
        try:
            return temp, os.open(temp, _FLAGS, mode)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {target}")


def commit(temp: str | os.PathLike[str], path: str | os.PathLike[str], *, fsync: bool = True) -> None:
    """Rename the finished (closed) `temp` onto `path`, then make the rename durable."""
    os.replace(temp, path)
    if fsync:
        fsync_directory(Path(path).parent)


def discard(temp: str | os.PathLike[str]) -> None:
    """Delete a temporary file that will not be committed. Never raises (a stop signal that comes meanwhile is
    raised once it is deleted: :func:`uninterrupted`)."""
    with uninterrupted(), contextlib.suppress(OSError):
        os.unlink(temp)


#: Per thread: how deep it is in :func:`uninterrupted` regions, and the stop kept for when it leaves the outermost.
_DEPTH: dict[int, int] = {}
_DEFERRED: dict[int, Callable[[], None]] = {}


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """A region a stop signal must not break into: deleting a temporary file, closing a writer, a C library
    (libsndfile) that calls back into Python to write -- an exception raised in a cffi callback is printed and
    lost. A signal handler that raises (the command line's SIGINT/SIGTERM/SIGHUP, :mod:`cadencecoach.cli.app`)
    asks :func:`defer_stop` first; the stop it keeps is raised when the outermost region ends."""
    ident = threading.get_ident()
    _DEPTH[ident] = _DEPTH.get(ident, 0) + 1
    try:
        yield
    finally:
        _DEPTH[ident] -= 1
        action = None
        if _DEPTH[ident] == 0:
            del _DEPTH[ident]
            action = _DEFERRED.pop(ident, None)
        if action is not None:
            action()


def defer_stop(action: Callable[[], None]) -> bool:
    """For a signal handler: inside an :func:`uninterrupted` region of the calling thread, keep `action` (the
    handler's raise, the first one kept) for when the region ends and return True; else return False (the handler
    raises at once)."""
    ident = threading.get_ident()
    if not _DEPTH.get(ident):
        return False
    _DEFERRED.setdefault(ident, action)
    return True


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename in `directory` durable (POSIX); best effort."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None, fsync: bool = True
) -> Iterator[IO[Any]]:
    """``with atomic_file(path, "w", encoding="utf-8") as f: f.write(...)``: `path` gets the contents when
    the block ends without an exception, and is untouched otherwise. `mode` is ``"wb"`` or ``"w"``."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file writes a whole new file: mode 'w' or 'wb', not {mode!r}")
    try:
        temp, fd = temp_beside(path)
    except OSError as exc:
        raise named(exc, path) from None
    try:
        with os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        commit(temp, path, fsync=fsync)
    except OSError as exc:
        discard(temp)
        raise named(exc, path) from None
    except BaseException:
        discard(temp)
        raise


def named(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """`exc` (a failed write, fsync or rename) as the error of writing `path`, not of its hidden temporary file:
    the same errno (so the same subclass: ``PermissionError``...), `path` as ``filename``. An error without an
    errno, or already about `path`, is returned as it is."""
    name = os.fspath(path)
    if exc.errno is None or exc.filename == name:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), name)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Write `data` to `path` atomically."""
    with atomic_file(path, "wb", fsync=fsync) as f:
        f.write(data)


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = True) -> None:
    """Write `text` to `path` atomically."""
    with atomic_file(path, "w", encoding=encoding, fsync=fsync) as f:
        f.write(text)
