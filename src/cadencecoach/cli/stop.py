"""SIGINT, SIGTERM and SIGHUP for the whole command line: every stop ends like Ctrl-C, so every cleanup runs.

Installed once, by :func:`cadencecoach.cli.app.main` (:data:`STOP_SIGNALS`). SIGTERM (a ``kill``) and SIGHUP (a
closed terminal) raise :class:`Stopped`, a ``KeyboardInterrupt``: the atomic writers delete their temporary
file and an old target keeps its contents; the guard prints ``stopped (SIGTERM).`` and exits 128 + the signal's
number (143, 129; Ctrl-C: ``stopped.``, 130). A stop that comes inside an ``atomic.uninterrupted`` region (a C
library calling back into Python, a temporary file being deleted) is raised when the region ends.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import time
from typing import Any

from cadencecoach import atomic

__all__ = ["STOPS", "STOP_GRACE_S", "STOP_SIGNALS", "StopSignals", "Stopped"]


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a ``kill``, a closed terminal), raised in the main thread as if it were Ctrl-C, so every
    cleanup runs as for Ctrl-C (the atomic writers delete their temporary file; an old target keeps its contents):
    the command ends with one line, ``stopped (SIGTERM).``, and exit 128 + the signal's number (143, 129)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: After a first stop signal, repeats within this many seconds are only noted, so they cannot break off the
#: cleanup the first one started (deleting a 5 GB temporary file); later ones raise again.
STOP_GRACE_S = 3.0

#: The signals besides SIGINT that stop a command like Ctrl-C (SIGHUP does not exist on Windows).
STOPS = tuple(sig for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if sig is not None)


def _interrupt_main_soon(signum: int) -> None:
    time.sleep(0.02)
    with contextlib.suppress(Exception):
        _thread.interrupt_main(signal.Signals(signum))


class StopSignals:
    """The command line's handlers of SIGINT, SIGTERM and SIGHUP, installed for the whole command by :func:`main`
    (the one place). A signal the parent ignores (``nohup``, a background job's SIGINT) stays ignored. The live
    player puts its own SIGTERM (and Ctrl-C) handling in place while it plays, and ours back afterwards; a SIGHUP
    while it plays ends it like Ctrl-C (fade, summary), then exit 129."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._at = 0.0
        self._old: dict[int, Any] = {}
        self._old_hook: Any = None

    def install(self) -> None:
        self.received = None
        if self._old_hook is None:
            self._old_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        for sig in (signal.SIGINT, *STOPS):
            usual = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
            try:
                if signal.getsignal(sig) is not usual:
                    continue
                self._old[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):  # not the main thread, or a platform without it
                return

    def restore(self) -> None:
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)
        self._old.clear()
        if self._old_hook is not None:
            sys.unraisablehook = self._old_hook
            self._old_hook = None

    def _unraisable(self, unraisable: Any) -> None:
        """A stop raised where Python cannot raise it (a finalizer, a weakref callback, while modules load) is
        "ignored" with a traceback, and the command would go on as if no one had pressed Ctrl-C (seen once in 30
        early Ctrl-Cs of ``render``): deliver it again instead, so it ends the command as every stop does."""
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and self.received is not None:
            self._at = 0.0  # the grace period is for a second signal, not for this one
            signum = self.received
            # from another thread, a moment later: a stop raised in this hook would be ignored again
            threading.Thread(target=_interrupt_main_soon, args=(signum,), daemon=True).start()
            return
        (self._old_hook or sys.__unraisablehook__)(unraisable)

    def _handle(self, signum: int, frame: Any) -> None:
        # inside libsndfile (an exception in its callback would be lost) or deleting a temporary file: stop after
        if atomic.defer_stop(lambda: self._handle(signum, None)):
            return
        now = time.monotonic()
        if self.received is not None and now - self._at < STOP_GRACE_S:
            return
        self.received, self._at = signum, now
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)


STOP_SIGNALS = StopSignals()
