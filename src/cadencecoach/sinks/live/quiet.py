"""Keep what the audio back-end's C libraries print off the live display.

ALSA (``ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred``), PortAudio (``Expression '...' failed in
'src/hostapi/alsa/pa_linux_alsa.c'``) and JACK write straight to file descriptor 2, whenever they like and
from their own threads: over a live display that is garbage on the screen. While a :class:`QuietStderr` is
active, file descriptor 2 is a pipe that a daemon thread reads into a bounded list (:attr:`QuietStderr.captured`,
the last :data:`KEEP_LINES` lines, and :attr:`QuietStderr.count`), while Python's own ``sys.stderr`` (our
warnings, the summary) is pointed at a copy of the original descriptor 2 and still reaches the terminal.

``CADENCECOACH_SHOW_AUDIO_ERRORS=1`` turns it off (everything stays visible, as before).

Children started meanwhile inherit the pipe as their stderr: their output is captured too (and a child that
outlives the block writes into a pipe nobody reads any more: EPIPE).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import io
import os
import select
import sys
import threading
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import TextIO

SHOW_ENV = "CADENCECOACH_SHOW_AUDIO_ERRORS"
KEEP_LINES = 50
LINE_MAX = 500  # characters kept of one line
_POLL_S = 0.05


def _flush_c_stdio() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


class QuietStderr:
    """A context manager: what C code writes to file descriptor 2 meanwhile is captured, not shown.

    Parameters
    ----------
    enabled : bool, optional
        False: do nothing. Default: unless ``CADENCECOACH_SHOW_AUDIO_ERRORS`` is set (and not ``0``) in `env`.
    env : Mapping of str to str, optional
        The environment (default ``os.environ``).
    keep : int, optional
        Lines kept (the last ones).

    Attributes
    ----------
    count : int
        Lines written to descriptor 2 while active (the kept ones and the dropped ones).
    active : bool
        Descriptor 2 is the pipe right now.

    Examples
    --------
    >>> with QuietStderr(enabled=False) as quiet:
    ...     pass
    >>> quiet.captured, quiet.count
    ([], 0)
    """

    def __init__(self, *, enabled: bool | None = None, env: Mapping[str, str] | None = None,
                 keep: int = KEEP_LINES) -> None:  # fmt: skip
        if enabled is None:
            show = (os.environ if env is None else env).get(SHOW_ENV, "")
            enabled = show.strip() in ("", "0")
        self.enabled = enabled
        self.count = 0
        self.active = False
        self._lines: deque[str] = deque(maxlen=max(1, keep))
        self._lock = threading.Lock()
        self._saved_fd: int | None = None  # a copy of the original descriptor 2
        self._read_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._old_stderr: TextIO | None = None
        self._our_stderr: TextIO | None = None

    @property
    def captured(self) -> list[str]:
        """The last lines written to descriptor 2 while active (oldest first; a partial last line included once
        the block has ended)."""
        with self._lock:
            return list(self._lines)

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> QuietStderr:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()

    def start(self) -> None:
        """Redirect descriptor 2 into the pipe (once; nothing when disabled or descriptor 2 is not open)."""
        if not self.enabled or self.active or self._saved_fd is not None:
            return
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        _flush_c_stdio()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 at all: nothing to keep off the screen
            return
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            os.close(saved)
            return
        try:
            flags = fcntl.fcntl(write_fd, fcntl.F_GETFL)
            fcntl.fcntl(write_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)  # a full pipe drops lines, never blocks
            os.set_inheritable(saved, False)
            our = self._python_stderr(saved)
            os.dup2(write_fd, 2)
        except Exception:
            for fd in (saved, read_fd, write_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
            return
        os.close(write_fd)
        self._saved_fd, self._read_fd = saved, read_fd
        if our is not None:
            self._old_stderr, self._our_stderr = sys.stderr, our
            sys.stderr = our
        self.active = True
        self._thread = threading.Thread(target=self._read, name="cadencecoach-quiet-stderr", daemon=True)
        self._thread.start()

    def _python_stderr(self, saved: int) -> TextIO | None:
        """A line-buffered text stream on a copy of the original descriptor 2, if ``sys.stderr`` writes to
        descriptor 2 (not, e.g., pytest's capture or another file)."""
        current = sys.stderr
        try:
            if current is None or current.fileno() != 2:
                return None
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return None
        fd = os.dup(saved)
        os.set_inheritable(fd, False)
        # lives while active; flushed on restore, not closed (something may still hold it)
        return open(
            fd,
            "w",
            buffering=1,
            encoding=getattr(current, "encoding", None) or "utf-8",
            errors=getattr(current, "errors", None) or "backslashreplace",
            closefd=True,
        )

    def restore(self) -> None:
        """Put descriptor 2 and ``sys.stderr`` back, stop the reader (idempotent; safe to call at any time)."""
        if self._saved_fd is None:
            return
        saved, self._saved_fd = self._saved_fd, None
        _flush_c_stdio()
        if self._our_stderr is not None:
            with contextlib.suppress(Exception):
                self._our_stderr.flush()
            if sys.stderr is self._our_stderr:
                sys.stderr = self._old_stderr
            self._old_stderr = None
        with contextlib.suppress(OSError):
            os.dup2(saved, 2)  # closes the pipe's write end held by descriptor 2: the reader sees the end
        with contextlib.suppress(OSError):
            os.close(saved)
        self.active = False
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(1.0)
            if not thread.is_alive() and self._read_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._read_fd)  # (a reader still running keeps it: never a descriptor reused under it)
                self._read_fd = None

    # -- the reader -----------------------------------------------------------------------------
    def _read(self) -> None:
        fd = self._read_fd
        assert fd is not None
        partial = b""
        while True:
            try:
                ready, _, _ = select.select([fd], [], [], _POLL_S)
            except (OSError, ValueError):
                break
            if not ready:
                if self._stop.is_set():
                    break  # stopped, and nothing more in the pipe (a child may still hold its write end)
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not chunk:
                break
            *lines, partial = (partial + chunk).split(b"\n")
            for line in lines:
                self._keep(line)
            if len(partial) > 8 * LINE_MAX:
                self._keep(partial)
                partial = b""
        if partial:
            self._keep(partial)

    def _keep(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        if len(text) > LINE_MAX:
            text = text[: LINE_MAX - 3] + "..."
        with self._lock:
            self._lines.append(text)
            self.count += 1
