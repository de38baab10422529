"""A private D-Bus session bus for tests: ``dbus-daemon --session --nofork`` listening on a socket in a temp dir,
so a test never touches (nor needs) the developer's own session bus::

    with PrivateBus() as bus:
        env = bus.env                          # os.environ with DBUS_SESSION_BUS_ADDRESS = bus.address
        bus.wait_for_name("org.mpris.MediaPlayer2.cadencecoach")
        bus.send("org.mpris.MediaPlayer2.Player.Next")

The daemon is killed (and its dir removed) when the block ends, whatever happens in it. ``dbus-send`` and
``dbus-monitor`` come with Debian's ``dbus`` package (scripts/install.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

MPRIS_NAME = "org.mpris.MediaPlayer2.cadencecoach"
MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"


def available() -> bool:
    """True when ``dbus-daemon`` and ``dbus-send`` are installed."""
    return shutil.which("dbus-daemon") is not None and shutil.which("dbus-send") is not None


class PrivateBus:
    """A session bus of its own (see the module docstring); :attr:`address` once started."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        self.start_timeout = start_timeout
        self.address = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment for a client of this bus."""
        return {**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address}

    def start(self) -> PrivateBus:
        self._dir = Path(tempfile.mkdtemp(prefix="cadencecoach-dbus."))
        read, write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [
                    "dbus-daemon",
                    "--session",
                    "--nofork",
                    "--nopidfile",
                    f"--address=unix:path={self._dir / 'bus'}",
                    f"--print-address={write}",
                ],
                pass_fds=(write,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # "Failed to set fd limit" as a non-root user, and the like
                cwd=self._dir,
            )
            os.close(write)
            write = -1
            line = b""
            deadline = time.monotonic() + self.start_timeout
            while not line.endswith(b"\n"):
                if time.monotonic() > deadline:
                    raise RuntimeError("dbus-daemon printed no address")
                chunk = os.read(read, 4096)
                if not chunk:
                    raise RuntimeError(f"dbus-daemon exited ({self._proc.wait()}) before printing its address")
                line += chunk
            self.address = line.decode().strip()
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> PrivateBus:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- clients -------------------------------------------------------------------------------
    def send(
        self,
        member: str,
        *args: str,
        dest: str = MPRIS_NAME,
        path: str = MPRIS_PATH,
        timeout: float = 10.0,
        check: bool = True,
    ) -> str:
        """``dbus-send --session --print-reply --dest=DEST PATH MEMBER ARGS...``: its output (the reply)."""
        proc = subprocess.run(
            ["dbus-send", "--session", "--print-reply", f"--dest={dest}", path, member, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"dbus-send {member} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout + proc.stderr

    def get(self, prop: str, interface: str = PLAYER, dest: str = MPRIS_NAME) -> str:
        """``Properties.Get`` of `prop`: dbus-send's printed reply."""
        return self.send(
            "org.freedesktop.DBus.Properties.Get", f"string:{interface}", f"string:{prop}", dest=dest
        )

    def names(self) -> list[str]:
        """The names on the bus now."""
        out = self.send("org.freedesktop.DBus.ListNames", dest="org.freedesktop.DBus", path="/org/freedesktop/DBus")
        return [line.strip()[len('string "') : -1] for line in out.splitlines() if line.strip().startswith('string "')]

    def wait_for_name(self, name: str = MPRIS_NAME, timeout: float = 10.0, alive: object = None) -> None:
        """Return once `name` has an owner (raise AssertionError after `timeout` s). `alive`, if given, is a
        callable checked on the way: false ends the wait early (the program died)."""
        deadline = time.monotonic() + timeout
        while name not in self.names():
            assert time.monotonic() < deadline, f"{name} never appeared on the bus; names: {self.names()}"
            if callable(alive):
                assert alive(), f"the program exited before {name} appeared"
            time.sleep(0.05)
