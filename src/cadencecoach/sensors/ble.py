"""A Bluetooth footpod (Running Speed and Cadence service) through `bleak`: :class:`BleSensor` and :func:`scan`.

`bleak` is the optional ``sensors`` extra (``pip install 'cadencecoach[sensors]'``), imported through
:func:`cadencecoach.extras.load`, so a missing one is one line with the install command (exit 2).

:class:`BleSensor` runs an asyncio loop in its own daemon thread: it scans for a device advertising the RSC
service (``0x1814``) or the one the runner named (an address, matched exactly, or a part of the name, either in
any case), connects, subscribes to the RSC Measurement (``0x2A53``) and turns every notification into a
:class:`~cadencecoach.sensors.source.Reading` stamped with :func:`time.monotonic` (the sensor's clock). A lost
connection is one ``lost`` status, then it keeps trying (scan for the address, connect; 1 s, 2 s, 4 s, then
every 5 s) until :meth:`~BleSensor.stop`, and says ``connected`` when it is back. Bluetooth that is not there
(no D-Bus system bus, no BlueZ, no adapter, turned off) or no footpod found is one ``failed`` status with the
reason in words: nothing ever escapes the thread.

:func:`scan` lists the devices in reach for ``cadencecoach sensors``, or raises :class:`SensorUnavailable`
(exit 1) saying why Bluetooth cannot be used.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from cadencecoach import extras
from cadencecoach.files import os_reason
from cadencecoach.sensors.rsc import (
    RSC_FEATURE,
    RSC_MEASUREMENT,
    RSC_SERVICE,
    CadenceScale,
    RscError,
    parse_features,
    parse_measurement,
)
from cadencecoach.sensors.source import Reading, Sensor, SensorUnavailable, Status
from cadencecoach.terminal import bounded_text

__all__ = [
    "BleSensor",
    "Found",
    "SensorUnavailable",
    "bluetooth_reason",
    "load_bleak",
    "looks_like_address",
    "matches",
    "scan",
]

WHAT = "a Bluetooth footpod (--sensor ble)"
SCAN_TIMEOUT_S = 10.0
"""How long :class:`BleSensor` looks for its footpod before it says ``failed``."""
RESCAN_TIMEOUT_S = 5.0
"""How long each reconnection attempt looks for the lost footpod."""
CONNECT_TIMEOUT_S = 15.0
BACKOFF_S = (1.0, 5.0)
"""The first and the longest wait between reconnection attempts (doubling in between)."""
FIRST_TRIES = 3
"""Connection attempts before the first connection is given up (``failed``)."""
JOIN_TIMEOUT_S = 2.0
"""How long :meth:`BleSensor.stop` waits for the thread."""
NAME_LIMIT = 64
"""A device's name is cut to this many characters for the display (and made safe: it is the device's text)."""

_ADDRESS = re.compile(
    r"^(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$"  # C4:7C:8D:6A:12:34 (Linux, Windows)
    r"|^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$"  # a UUID (macOS)
)


def load_bleak() -> ModuleType:
    """`bleak`, or :class:`~cadencecoach.errors.ExtraUnavailable` (exit 2) with the install command."""
    return extras.load("bleak", WHAT)


def looks_like_address(text: str) -> bool:
    """A Bluetooth address (``C4:7C:8D:6A:12:34``) or the UUID macOS shows for a device.

    >>> looks_like_address("c4:7c:8d:6a:12:34"), looks_like_address("Stryd")
    (True, False)
    """
    return _ADDRESS.match(text) is not None


def matches(target: str | None, address: str, name: str | None) -> bool:
    """Whether a device is the one `target` names: its address exactly, or a part of its name, either in any
    case (None: any device).

    >>> matches("c4:7c:8d:6a:12:34", "C4:7C:8D:6A:12:34", None), matches("stryd", "x", "Stryd 1234")
    (True, True)
    """
    if target is None:
        return True
    wanted = target.casefold()
    return address.casefold() == wanted or (bool(name) and wanted in str(name).casefold())


def _label(name: str | None, address: str) -> str:
    shown = bounded_text(name, NAME_LIMIT) if name else ""
    return f"{shown} ({address})" if shown else address


def _names(exc: BaseException) -> set[str]:
    return {c.__name__ for c in type(exc).__mro__}


_DBUS_REASONS = {
    "org.freedesktop.DBus.Error.ServiceUnknown": "BlueZ is not running (no org.bluez on the D-Bus system bus): "
    "start it with 'systemctl start bluetooth'",
    "org.freedesktop.DBus.Error.NameHasNoOwner": "BlueZ is not running: start it with 'systemctl start bluetooth'",
    "org.freedesktop.DBus.Error.AccessDenied": "BlueZ refused access (is this user allowed to use Bluetooth?)",
    "org.bluez.Error.NotReady": "the Bluetooth adapter is not ready (turned off?)",
    "org.bluez.Error.NotPermitted": "BlueZ does not permit it",
    "org.bluez.Error.InProgress": "another program is scanning or connecting",
    "org.bluez.Error.Failed": "BlueZ failed",
}

_UNAVAILABLE_REASONS = {
    "NO_BLUETOOTH": "no Bluetooth adapter found",
    "NO_BLE_CENTRAL_ROLE": "the Bluetooth adapter cannot connect to Bluetooth LE devices",
    "POWERED_OFF": "Bluetooth is turned off: turn it on and try again",
    "DENIED_BY_USER": "permission to use Bluetooth was denied",
    "DENIED_BY_SYSTEM": "the system denied access to Bluetooth",
    "DENIED_BY_UNKNOWN": "access to Bluetooth was denied",
}


def bluetooth_reason(exc: BaseException) -> str:
    """Why Bluetooth failed, in words, from what `bleak` (or the D-Bus library under it) raised.

    >>> bluetooth_reason(FileNotFoundError(2, "No such file or directory"))[:58]
    'no D-Bus system bus (its socket is missing): Bluetooth on '
    >>> bluetooth_reason(TimeoutError())
    'Bluetooth did not answer in time'
    """
    names = _names(exc)
    text = " ".join(str(exc).split())
    if "BleakBluetoothNotAvailableError" in names:
        reason = getattr(getattr(exc, "reason", None), "name", "")
        return _UNAVAILABLE_REASONS.get(
            reason, f"Bluetooth is not available ({text})" if text else "Bluetooth is not available"
        )
    if "BleakDBusError" in names:
        dbus_error = str(getattr(exc, "dbus_error", "") or "")
        details = getattr(exc, "dbus_error_details", None)
        said = _DBUS_REASONS.get(dbus_error, f"BlueZ: {dbus_error or text}")
        return f"{said} ({bounded_text(str(details), 200)})" if details else said
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "Bluetooth did not answer in time"
    if isinstance(exc, FileNotFoundError):
        return (
            "no D-Bus system bus (its socket is missing): Bluetooth on Linux needs D-Bus and BlueZ running "
            "('systemctl start bluetooth')"
        )
    if isinstance(exc, PermissionError):
        return "permission denied on the D-Bus system bus"
    if isinstance(exc, ConnectionError):
        return "the D-Bus system bus refused the connection (is dbus running?)"
    if isinstance(exc, OSError):
        return f"Bluetooth: {os_reason(exc)}"
    if "BleakDeviceNotFoundError" in names:
        return "the footpod is no longer in reach"
    if "BleakCharacteristicNotFoundError" in names:
        return "the device has no RSC measurement (is it a footpod?)"
    if "BleakError" in names:
        return f"Bluetooth: {bounded_text(text, 200)}" if text else "Bluetooth failed"
    if "AuthError" in names:
        return "the D-Bus system bus refused to authenticate this user"
    return f"Bluetooth failed ({type(exc).__name__}: {bounded_text(text, 200)})"


# ---- scanning, for `cadencecoach sensors` ------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A device in reach: its advertised name (None: none; made safe for the terminal), address, signal
    strength (dBm; None: not reported) and advertised service UUIDs (128-bit, lower case)."""

    name: str | None
    address: str
    rssi: int | None
    services: tuple[str, ...] = ()

    @property
    def footpod(self) -> bool:
        """It advertises the Running Speed and Cadence service."""
        return RSC_SERVICE in self.services


def _run_bounded(coro: Coroutine[Any, Any, Any], limit_s: float) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, limit_s)

    return asyncio.run(bounded())


def scan(timeout_s: float = 5.0, *, all_devices: bool = False, bleak: ModuleType | None = None) -> list[Found]:
    """The devices advertising the RSC service (every Bluetooth LE device with `all_devices`) heard within
    `timeout_s` seconds, strongest signal first.

    Call it from a thread without a running asyncio loop (the command line). `bleak` is imported through
    :func:`load_bleak` unless handed in (tests).

    Raises
    ------
    ExtraUnavailable
        `bleak` is not installed (exit 2).
    SensorUnavailable
        Bluetooth cannot be used (no D-Bus system bus, no BlueZ, no adapter, turned off...): exit 1, the
        message says why. The whole scan is bounded to `timeout_s` + 10 s, whatever the system does.
    """
    ble = bleak if bleak is not None else load_bleak()
    kwargs: dict[str, Any] = {} if all_devices else {"service_uuids": [RSC_SERVICE]}
    try:
        seen = _run_bounded(ble.BleakScanner.discover(timeout_s, return_adv=True, **kwargs), timeout_s + 10.0)
    except Exception as exc:
        raise SensorUnavailable(f"cannot scan for Bluetooth devices: {bluetooth_reason(exc)}") from None
    out: list[Found] = []
    for address, (device, adv) in dict(seen).items():
        services = tuple(str(u).lower() for u in (getattr(adv, "service_uuids", None) or ()))
        if not all_devices and RSC_SERVICE not in services:
            continue
        name = getattr(adv, "local_name", None) or getattr(device, "name", None)
        rssi = getattr(adv, "rssi", None)
        out.append(
            Found(
                name=bounded_text(str(name), NAME_LIMIT) if name else None,
                address=str(getattr(device, "address", address)),
                rssi=int(rssi) if isinstance(rssi, (int, float)) else None,
                services=services,
            )
        )
    out.sort(key=lambda f: (f.rssi is None, -(f.rssi or 0), f.address))
    return out


# ---- the live sensor ---------------------------------------------------------------------------------------


class BleSensor(Sensor):
    """The footpod `target` names (an address or a part of its name; None: the first RSC device found).

    `cadence_unit` is ``"steps"``, ``"strides"`` or ``"auto"`` (:class:`~cadencecoach.sensors.rsc.CadenceScale`;
    when ``auto`` finds strides, a second ``connected`` status says so). ``name`` is ``"footpod"`` (+ the
    target), then ``"footpod <device name>"`` once connected. :attr:`features` holds the device's RSC Feature
    once read, :attr:`bad_packets` counts notifications that could not be parsed (skipped). `bleak` is imported
    now (:func:`load_bleak`) unless a module is handed in (tests use a fake one).
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        cadence_unit: str = "auto",
        scan_timeout_s: float = SCAN_TIMEOUT_S,
        rescan_timeout_s: float = RESCAN_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        backoff_s: tuple[float, float] = BACKOFF_S,
        bleak: ModuleType | Any | None = None,
    ) -> None:
        super().__init__(f"footpod {bounded_text(target, NAME_LIMIT)}" if target else "footpod", time.monotonic)
        self.target = target
        self.scale = CadenceScale(cadence_unit)
        self.scan_timeout_s = scan_timeout_s
        self.rescan_timeout_s = rescan_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.backoff_s = backoff_s
        self._bleak = bleak if bleak is not None else load_bleak()
        self.features: Any = None  # RscFeatures once read (None: not read, or the device has none)
        self.bad_packets = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._label = ""
        self._address: str | None = None
        self._connected = False  # said "connected" and not "lost" since (the loop's thread only)

    # -- the main thread's side

    def start(self) -> None:
        """Start the thread (once); returns at once."""
        if self._thread is not None or self._stopping.is_set():
            return
        self._thread = threading.Thread(target=self._run, name="cadencecoach-footpod", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Cancel the loop (disconnecting) and join the thread for at most :data:`JOIN_TIMEOUT_S` (it is a daemon:
        one that does not end in time is left to the process's exit). Idempotent."""
        self._stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(task.cancel)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_TIMEOUT_S)

    @property
    def running(self) -> bool:
        """The thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- the thread's side

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # nothing escapes the thread
            if not self._stopping.is_set():
                self._push(Status(self.clock(), "failed", bluetooth_reason(exc)))

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._stopping.is_set():
            return
        try:
            await self._follow()
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise

    def _fail(self, detail: str) -> None:
        self._push(Status(self.clock(), "failed", detail))

    async def _follow(self) -> None:
        try:
            found = await self._find(self.target, self.scan_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(bluetooth_reason(exc))
            return
        if found is None:
            which = f" matching '{bounded_text(self.target, NAME_LIMIT)}'" if self.target else ""
            self._fail(f"no footpod{which} found in {self.scan_timeout_s:g} s")
            return
        device, name = found
        self._address = str(device.address)
        self._label = _label(name, self._address)
        if name:
            self.name = f"footpod {bounded_text(name, NAME_LIMIT)}"
        ever = False  # connected at least once
        tries = 0  # attempts before the first connection
        delay = self.backoff_s[0]
        error: BaseException | None = None
        while not self._stopping.is_set():
            if device is not None:
                try:
                    await self._session(device)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = exc
                if self._connected:  # it was, and is no more
                    self._connected = False
                    ever, delay = True, self.backoff_s[0]
                    if not self._stopping.is_set():
                        self._push(Status(self.clock(), "lost", f"{self._label}: connection lost, reconnecting"))
            if not ever:
                tries += 1
                if tries >= FIRST_TRIES:
                    why = bluetooth_reason(error) if error is not None else "it is no longer in reach"
                    self._fail(f"cannot connect to {self._label}: {why}")
                    return
            if self._stopping.is_set():
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_s[1])
            device = await self._refind(device)

    async def _refind(self, device: Any) -> Any:
        """The device again, from a short scan for its address (BlueZ forgets a device that went away); the old
        one when the scan fails, None when it is not in reach."""
        try:
            found = await self._find(self._address, self.rescan_timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            return device
        return None if found is None else found[0]

    async def _find(self, target: str | None, timeout_s: float) -> tuple[Any, str | None] | None:
        """The first device that is an RSC footpod and matches `target`, and its advertised name; None when none
        is heard within `timeout_s`."""
        names: dict[str, str | None] = {}

        def wanted(device: Any, adv: Any) -> bool:
            address = str(getattr(device, "address", ""))
            name = getattr(adv, "local_name", None) or getattr(device, "name", None)
            if target is None:
                services = {str(u).lower() for u in (getattr(adv, "service_uuids", None) or ())}
                ok = RSC_SERVICE in services
            else:
                ok = matches(target, address, name)
            if ok:
                names[address] = name
            return ok

        kwargs: dict[str, Any] = {} if target and looks_like_address(target) else {"service_uuids": [RSC_SERVICE]}
        scanner = self._bleak.BleakScanner
        device = await asyncio.wait_for(
            scanner.find_device_by_filter(wanted, timeout=timeout_s, **kwargs), timeout_s + 10.0
        )
        if device is None:
            return None
        return device, names.get(str(device.address))

    async def _session(self, device: Any) -> None:
        """Connect to `device`, subscribe, say ``connected`` and wait for the connection to end."""
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()

        def disconnected(_client: Any) -> None:
            loop.call_soon_threadsafe(ended.set)

        client = self._bleak.BleakClient(device, disconnected_callback=disconnected, timeout=self.connect_timeout_s)
        try:
            await asyncio.wait_for(client.connect(), self.connect_timeout_s + 5.0)
            if self.features is None:
                with contextlib.suppress(Exception):
                    self.features = parse_features(
                        await asyncio.wait_for(client.read_gatt_char(RSC_FEATURE), self.connect_timeout_s)
                    )
            await asyncio.wait_for(client.start_notify(RSC_MEASUREMENT, self._on_measurement), self.connect_timeout_s)
            self._connected = True
            self._push(Status(self.clock(), "connected", self._label))
            while not ended.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ended.wait(), 1.0)
                if not getattr(client, "is_connected", True):  # a backend that missed the callback
                    break
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(client.disconnect(), 1.0)

    def _on_measurement(self, _sender: Any, data: bytearray) -> None:
        """A notification (on the loop's thread): parsed, scaled to steps, pushed; a bad packet is counted and
        skipped."""
        try:
            m = parse_measurement(data)
        except RscError:
            self.bad_packets += 1
            return
        cadence = self.scale.steps(m)
        at = self.clock()
        self._push(Reading(at=at, cadence=cadence, speed=m.speed_mps, distance=m.distance_m, stride_m=m.stride_m))
        note = self.scale.take_note()
        if note:
            self._push(Status(at, "connected", f"{self._label}: {note}"))
