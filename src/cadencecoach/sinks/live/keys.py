"""Keyboard control of the live player: single key presses from a terminal, decoded into commands.

Only when stdin is a TTY: :class:`KeyReader` puts the terminal in cbreak mode (keys arrive at once, no
echo; Ctrl-C still sends SIGINT) and restores the saved settings on exit, whatever happens (the ``with``
block's ``finally``, and an ``atexit`` hook in case the process ends some other way). Keys are read in the
main loop with ``select`` (:meth:`KeyReader.read`), never from a thread.

=========================  ===================================================================
key                        command
=========================  ===================================================================
space                      pause / resume
``n``, right arrow         end the current step now (lap)
``p``, left arrow          back to the start of the step; within its first 3 s: the step before
``+`` (or ``=``)           cadence +2 spm from now on; in a rest (no click): 15 s more rest
``-`` (or ``_``)           cadence -2 spm from now on; in a rest: 15 s less rest
up / down arrow (``0``/``9``)  volume up / down (3 dB)
``i``                      say the status: rep, time left, cadence
``c``                      mute / unmute the click
``v``                      mute / unmute the voice (fades; unmuted, it speaks again from the next cue)
``q``                      stop (exit 0), after a fade
=========================  ===================================================================

Every action is confirmed aloud ("Paused", "Skipped. Recover, 3 of 10", "Cadence 188"), unless the voice is
off or muted. Media keys and headset buttons reach the same commands through MPRIS (:mod:`cadencecoach.ui.mpris`).
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import os
import select
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any


class Command(enum.Enum):
    PAUSE = "pause"  # toggle pause / resume
    SKIP = "skip"
    FASTER = "faster"
    SLOWER = "slower"
    MUTE_CLICK = "mute-click"
    MUTE_VOICE = "mute-voice"
    QUIT = "quit"
    PREVIOUS = "previous"  # restart the step; within its first seconds: back one step
    STATUS = "status"  # speak rep, time left, cadence
    VOLUME_UP = "volume-up"
    VOLUME_DOWN = "volume-down"
    PAUSE_ON = "pause-on"  # pause (nothing if paused): MPRIS Pause
    RESUME = "resume"  # resume (nothing if playing): MPRIS Play


KEYMAP: dict[str, Command] = {
    " ": Command.PAUSE,
    "n": Command.SKIP,
    "N": Command.SKIP,
    "right": Command.SKIP,
    "+": Command.FASTER,
    "=": Command.FASTER,
    "-": Command.SLOWER,
    "_": Command.SLOWER,
    "c": Command.MUTE_CLICK,
    "C": Command.MUTE_CLICK,
    "v": Command.MUTE_VOICE,
    "V": Command.MUTE_VOICE,
    "q": Command.QUIT,
    "Q": Command.QUIT,
    "p": Command.PREVIOUS,
    "P": Command.PREVIOUS,
    "left": Command.PREVIOUS,
    "i": Command.STATUS,
    "I": Command.STATUS,
    "up": Command.VOLUME_UP,
    "0": Command.VOLUME_UP,
    "down": Command.VOLUME_DOWN,
    "9": Command.VOLUME_DOWN,
}

_RUN_HELP: list[tuple[str, str]] = [
    ("space", "pause"),
    ("n", "lap"),
    ("p", "back"),
    ("+/-", "cadence·rest"),
    ("i", "status"),
    ("↑/↓", "volume"),
    ("c", "click"),
    ("v", "voice"),
    ("q", "quit"),
]
_CLICK_HELP: list[tuple[str, str]] = [
    ("space", "pause"),
    ("+/-", "cadence"),
    ("i", "status"),
    ("↑/↓", "volume"),
    ("c", "click"),
    ("v", "voice"),
    ("q", "quit"),
]
_NOT_IN_CLICK = {Command.SKIP, Command.PREVIOUS}


def help_items(mode: str) -> list[tuple[str, str]]:
    """The keys line as (key, what) pairs, most important first: ``run`` has them all, the metronome
    (``click``) only those that do something there.

    Examples
    --------
    >>> [k for k, _ in help_items("click")]
    ['space', '+/-', 'i', '↑/↓', 'c', 'v', 'q']
    """
    return list(_CLICK_HELP if mode == "click" else _RUN_HELP)


def does_something(command: Command, mode: str) -> bool:
    """False for the keys that have no meaning in `mode` (lap and back in the metronome)."""
    return not (mode == "click" and command in _NOT_IN_CLICK)


HELP = " · ".join(f"{k} {what}" for k, what in _RUN_HELP)

_ARROWS = {"A": "up", "B": "down", "C": "right", "D": "left"}


def decode(data: str) -> tuple[list[str], str]:
    """Split terminal input into key names; returns (keys, rest) where `rest` is an incomplete escape
    sequence to prepend to the next read. Arrow keys are ``up``/``down``/``right``/``left`` (``ESC [ C``
    or ``ESC O C``); other escape sequences are dropped; a lone ESC is ``esc``."""
    keys: list[str] = []
    i = 0
    while i < len(data):
        ch = data[i]
        if ch != "\x1b":
            keys.append(ch)
            i += 1
            continue
        if i + 1 >= len(data):
            return keys, data[i:]  # maybe the start of a sequence: wait for more
        nxt = data[i + 1]
        if nxt not in "[O":
            keys.append("esc")
            i += 1
            continue
        # CSI / SS3: parameters (digits, ';') then one final byte in @..~
        j = i + 2
        while j < len(data) and (data[j].isdigit() or data[j] == ";"):
            j += 1
        if j >= len(data):
            return keys, data[i:]
        final = data[j]
        if final in _ARROWS:
            keys.append(_ARROWS[final])
        i = j + 1
    return keys, ""


def commands_for(keys: list[str]) -> list[Command]:
    return [KEYMAP[k] for k in keys if k in KEYMAP]


class KeyReader:
    """Single key presses from a TTY (cbreak mode while the ``with`` block runs).

    ``read(timeout)`` waits up to `timeout` seconds for input with ``select`` and returns the commands
    typed (possibly none). Not a TTY: :attr:`active` is False and ``read`` just sleeps nothing and
    returns ``[]``."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        try:
            self._fd: int | None = self._stream.fileno()
        except (AttributeError, ValueError, OSError):
            self._fd = None
        self.active = self._fd is not None and os.isatty(self._fd)
        self._saved: list[Any] | None = None
        self._rest = ""

    # -- terminal mode ----------------------------------------------------------------------
    def __enter__(self) -> KeyReader:
        if self.active and self._fd is not None:
            import termios
            import tty

            try:
                self._saved = termios.tcgetattr(self._fd)
                tty.setcbreak(self._fd, termios.TCSANOW)
            except termios.error:
                self.active = False
                self._saved = None
            else:
                atexit.register(self.restore)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()

    def restore(self) -> None:
        """Put the terminal back as it was (idempotent)."""
        saved, self._saved = self._saved, None
        if saved is None or self._fd is None:
            return
        import termios

        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)
        with contextlib.suppress(Exception):
            atexit.unregister(self.restore)

    # -- reading ----------------------------------------------------------------------------
    def read(self, timeout: float) -> list[Command]:
        if not self.active or self._fd is None:
            return []
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            if self._rest:  # a lone ESC with nothing after it
                keys, self._rest = decode(self._rest + "\x00")
                return commands_for(keys)
            return []
        try:
            raw = os.read(self._fd, 256)
        except OSError:
            return []
        if not raw:  # EOF (the terminal went away): stop listening
            self.active = False
            return []
        keys, self._rest = decode(self._rest + raw.decode("utf-8", errors="replace"))
        return commands_for(keys)


@contextlib.contextmanager
def keyboard(stream: IO[str] | None = None) -> Iterator[KeyReader]:
    with KeyReader(stream) as reader:
        yield reader
