"""``cadencecoach`` in a pseudo-terminal for the end-to-end tests: it shows the live display and reads keys in
cbreak mode as it does for a runner; everything it prints is drained all along (so it never blocks on a full
pty) into :attr:`Session.output`, and into `on_output` (a terminal emulator, say) if given."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pexpect

CLI = Path(sys.executable).with_name("cadencecoach")


def command(*args: str) -> list[str]:
    """The command line that runs ``cadencecoach ARGS`` (the installed script, else the module)."""
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-m", "cadencecoach", *args]


class Session:
    """``cadencecoach ARGS`` in a pty of `rows` x `columns` with ``TERM=term`` (a real terminal window, whatever
    the test run itself has), in `env` (default: this process's)."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str] | None = None,
        *,
        term: str = "xterm-256color",
        rows: int = 40,
        columns: int = 120,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        cmd = command(*args)
        environment = {**(os.environ if env is None else env), "TERM": term}
        environment.pop("COLUMNS", None)  # the pty's size, not the test run's
        environment.pop("LINES", None)
        self.child = pexpect.spawn(
            cmd[0], cmd[1:], encoding="utf-8", dimensions=(rows, columns), timeout=30, env=environment
        )
        self.output = ""
        self._on_output = on_output

    def drain(self, seconds: float) -> None:
        """Read what it prints for `seconds` (returns early at its end)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.02)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return
            self.output += data
            if self._on_output is not None:
                self._on_output(data)

    def wait_for(self, text: str, timeout: float = 25.0, *, regex: bool = False) -> float:
        """Drain until `text` (a regular expression with `regex`) is shown; when (``time.monotonic()``)."""
        deadline = time.monotonic() + timeout
        while not (re.search(text, self.output) if regex else text in self.output):
            assert time.monotonic() < deadline, f"{text!r} never shown; output: {self.output[-3000:]!r}"
            assert self.child.isalive(), f"exited early ({self.child.exitstatus}): {self.output[-3000:]!r}"
            self.drain(0.02)
        return time.monotonic()

    def key(self, k: str, since: float) -> float:
        """Type `k`; when, in seconds after `since` (``time.time()``: a recording's start, say)."""
        self.child.send(k)
        return time.time() - since

    def finish(self, timeout: float = 10.0) -> None:
        """Wait for its end and keep the last of its output."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.output += self.child.before or ""
