"""Input files and output paths, checked the one way: nothing blocks, nothing reads without bound, nothing
the user owns is overwritten.

- :func:`read_limited` reads a small input (a workout, the settings) without ever blocking on a FIFO or a
  terminal: it opens non-blocking, refuses anything that is not a regular file *by fstat of the open
  descriptor* (no stat-then-open race), and reads at most ``limit + 1`` bytes, so ``/dev/zero``, a growing
  file or one that lies about its size cannot make it read more.
- :func:`check_regular` is the same refusal for a file a library will open itself (a song for the decoder).
- :func:`same_file` tells whether two paths are one file (symlinks and hard links included): the test
  for "this output would overwrite one of the inputs".
- :func:`os_reason` is the reason of an ``OSError`` in words, for one-line errors ("the disk is full").

Every failure is :class:`InputRefused` (a ``ValueError``) with ``reason`` in words; the caller adds the
position or the option and raises its own error (a workout's ``FILE:1:1: ...``, ``--music: ...``).

Examples
--------
>>> read_limited("/dev/zero", 10)
Traceback (most recent call last):
...
cadencecoach.files.InputRefused: is a device, not a regular file
>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "w.yaml"
>>> _ = p.write_bytes(b"x" * 11)
>>> read_limited(p, 10)
Traceback (most recent call last):
...
cadencecoach.files.InputRefused: is over 10 bytes
>>> same_file(p, p.parent / "." / "w.yaml")
True
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["InputRefused", "check_regular", "kind_of", "os_reason", "read_limited", "same_file"]

StrPath = str | os.PathLike[str]


class InputRefused(ValueError):
    """An input that will not be read; ``reason`` says why, in words (``is a FIFO (named pipe)...``), and the
    fields say which case it is, for a caller that words it its own way: ``kind`` (what it is instead of a
    regular file, :func:`kind_of`), ``over`` (the byte limit it is over)."""

    def __init__(self, reason: str, *, kind: str | None = None, over: int | None = None) -> None:
        self.reason = reason
        self.kind = kind
        self.over = over
        super().__init__(reason)


def kind_of(mode: int) -> str | None:
    """None for a regular file, else what it is instead (``a directory``, ``a FIFO (named pipe)``...)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _refused_kind(kind: str) -> InputRefused:
    return InputRefused(f"is {kind}, not a regular file", kind=kind)


def _refuse_kind(mode: int) -> None:
    kind = kind_of(mode)
    if kind is not None:
        raise _refused_kind(kind)


def os_reason(exc: OSError) -> str:
    """The reason of `exc` in words, for a one-line error."""
    words = {
        errno.ENOENT: "no such file or folder",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EISDIR: "is a directory",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.ENAMETOOLONG: "the name is too long",
        errno.ELOOP: "too many symbolic links",
        errno.EFBIG: "the file is too large for this file system",
        errno.EIO: "input/output error (a failing disk or a lost network share?)",
        errno.EMFILE: "too many open files",
        errno.ENXIO: "no such device",
    }
    if exc.errno in words:
        return words[exc.errno]
    return exc.strerror or str(exc) or type(exc).__name__


def read_limited(path: StrPath, limit: int, *, head: bool = False) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them, or :class:`InputRefused`; with `head`,
    its first `limit` bytes however long it is (to tell what a file too big to read is).

    Never blocks (opened ``O_NONBLOCK``, so a FIFO with no writer cannot hang it) and never reads more
    than ``limit + 1`` bytes whatever ``stat`` says.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputRefused("no such file") from None
    except IsADirectoryError:
        raise _refused_kind("a directory") from None
    except OSError as exc:
        raise InputRefused(f"cannot read: {os_reason(exc)}") from None
    try:
        _refuse_kind(os.fstat(fd).st_mode)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            except BlockingIOError:  # cannot happen for a regular file; never wait for one that lies
                raise InputRefused("cannot read: the file would block") from None
            except OSError as exc:
                raise InputRefused(f"cannot read: {os_reason(exc)}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            if head:
                return b"".join(chunks)[:limit]
            raise InputRefused(f"is over {limit} bytes", over=limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_regular(path: StrPath) -> os.stat_result:
    """``stat`` of `path` when it is a regular file (symlinks followed), else :class:`InputRefused`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputRefused("no such file") from None
    except OSError as exc:
        raise InputRefused(f"cannot read: {os_reason(exc)}") from None
    _refuse_kind(st.st_mode)
    return st


def same_file(a: StrPath, b: StrPath) -> bool:
    """True when `a` and `b` name one file: the same resolved path, or (both existing) the same inode."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False
