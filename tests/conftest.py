"""Shared fakes for the tests of the live player (no sound card needed).

``FakeStream`` calls the player's callback only when a test says so (``pump``); ``ThreadStream`` calls it from
its own thread, faster than real time, like a device would; ``FakeSD`` stands in for ``sounddevice`` (its
device list and settings check); ``ScriptedKeys`` stands in for the keyboard. Import them with
``from conftest import FakeStream, ...`` (``tests/`` is on ``sys.path`` while pytest runs).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


class Flags:
    """The ``status`` argument of a PortAudio callback (``sounddevice.CallbackFlags``)."""

    def __init__(self, underflow: bool = False, other: bool = False) -> None:
        self.output_underflow = underflow
        self._other = other

    def __bool__(self) -> bool:
        return self.output_underflow or self._other


class FakeStream:
    """Calls the callback only when the test says so (``pump``); records what was handed over."""

    def __init__(self, callback: Any, channels: int = 1) -> None:
        self.callback = callback
        self.channels = channels
        self.active = False
        self.latency = 0.0
        self.closed = False
        self.blocks: list[np.ndarray] = []

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def abort(self) -> None:
        self.active = False

    def close(self) -> None:
        self.closed = True

    def pump(self, frames: int, status: Flags | None = None) -> np.ndarray:
        out = np.full((frames, self.channels), np.nan, np.float32)  # the callback must fill every sample
        self.callback(out, frames, None, status or Flags())
        self.blocks.append(out.copy())
        return out


class ThreadStream(FakeStream):
    """Calls the callback from its own thread, faster than real time, like a device would (but quicker)."""

    def __init__(self, callback: Any, channels: int = 1, block: int = 512, period: float = 0.002) -> None:
        super().__init__(callback, channels)
        self.block = block
        self.period = period
        self.stop_calling = threading.Event()  # a lost device: no more callbacks, still "active"
        self.thread_id = 0  # native id of the calling thread, once started
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.active = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.thread_id = threading.get_native_id()
        while self.active and not self.stop_calling.is_set():
            self.pump(self.block)
            time.sleep(self.period)

    def stop(self) -> None:
        self.active = False
        if self._thread is not None:
            self._thread.join(2)

    abort = stop

    def played(self) -> np.ndarray:
        return np.concatenate([b[:, 0] for b in self.blocks]) if self.blocks else np.zeros(0, np.float32)


class FakeSD:
    """``sounddevice`` with a given device list (``default``: the index of the default output, -1: none);
    only 44100 and 48000 Hz pass ``check_output_settings``."""

    def __init__(self, devices: list[dict[str, Any]], default: int = -1) -> None:
        self._devices = devices
        self._default = default
        self.checked: list[dict[str, Any]] = []

    def query_devices(self, device: Any = None, kind: str | None = None) -> Any:
        if kind == "output":
            if self._default < 0:
                raise RuntimeError("no default output device")
            return self._devices[self._default]
        return self._devices

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]

    def check_output_settings(self, **kw: Any) -> None:
        self.checked.append(kw)
        if kw["samplerate"] not in (44100, 48000):
            raise ValueError("Invalid sample rate")


def dev(index: int, name: str, out: int = 2, inp: int = 0, rate: float = 48000.0) -> dict[str, Any]:
    """One entry of ``sounddevice.query_devices()``."""
    return {
        "index": index,
        "name": name,
        "hostapi": 0,
        "max_output_channels": out,
        "max_input_channels": inp,
        "default_samplerate": rate,
    }


class ScriptedKeys:
    """A ``KeyReader`` stand-in: sends each scripted ``(sample, command)`` once the player's position has passed
    `sample`. Build the player with it, then set ``keys.player = player``."""

    active = True

    def __init__(self, script: list[tuple[int, Any]], *, poll_s: float = 0.005) -> None:
        self.script = list(script)
        self.poll_s = poll_s
        self.player: Any = None

    def read(self, timeout: float) -> list[Any]:
        time.sleep(min(timeout, self.poll_s))
        assert self.player is not None, "set keys.player to the player"
        out = []
        while self.script and self.player.engine.pos >= self.script[0][0]:
            out.append(self.script.pop(0)[1])
        return out

    def restore(self) -> None:
        pass


def living_in_group(group: int) -> list[str]:
    """The processes of a process group that still run (not zombies, which only their parent can reap): a stopped
    render or batch must leave none (read from /proc, Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(stat.parent.name)
    return found
