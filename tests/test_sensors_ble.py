"""The Bluetooth footpod (``sensors.ble``) without hardware: a fake `bleak` module (a scanner and a client the
test drives) for finding, connecting, notifications, losing and finding the pod again, Bluetooth that is not
there, and stopping; then the real `bleak` on this machine (no BlueZ): a readable reason, fast, never a hang."""

from __future__ import annotations

import asyncio
import enum
import struct
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

from cadencecoach.errors import CoachError, ExtraUnavailable
from cadencecoach.sensors import ble
from cadencecoach.sensors.ble import BleSensor, Found, bluetooth_reason, scan
from cadencecoach.sensors.rsc import RSC_FEATURE, RSC_MEASUREMENT, RSC_SERVICE, RscFeatures
from cadencecoach.sensors.source import Reading, SensorSpec, SensorUnavailable, Status, open_sensor
from extra_deps import skip_reason_module

ADDRESS = "C4:7C:8D:6A:12:34"
FAST = {"scan_timeout_s": 0.2, "rescan_timeout_s": 0.05, "connect_timeout_s": 1.0, "backoff_s": (0.01, 0.04)}


# ---- the fake bleak ----------------------------------------------------------------------------------------------


class BleakError(Exception):
    pass


class BleakDBusError(BleakError):
    def __init__(self, dbus_error: str, body: list[str]) -> None:
        super().__init__(dbus_error, *body)

    @property
    def dbus_error(self) -> str:
        return str(self.args[0])

    @property
    def dbus_error_details(self) -> str | None:
        return str(self.args[1]) if len(self.args) > 1 else None


class Reason(enum.Enum):
    NO_BLUETOOTH = 1
    POWERED_OFF = 2


class BleakBluetoothNotAvailableError(BleakError):
    def __init__(self, msg: str, reason: Reason) -> None:
        super().__init__(msg, reason)

    @property
    def reason(self) -> Reason:
        return self.args[1]  # type: ignore[no-any-return]


class Device:
    def __init__(self, address: str, name: str | None) -> None:
        self.address = address
        self.name = name


class Adv:
    def __init__(self, name: str | None, services: list[str], rssi: int = -60) -> None:
        self.local_name = name
        self.service_uuids = services
        self.rssi = rssi


def packet(cadence: int, speed: float = 3.0, distance: float | None = None, running: bool = True) -> bytes:
    """An RSC measurement written from the spec's table (not by the code under test)."""
    flags = (0x04 if running else 0) | (0x02 if distance is not None else 0)
    data = struct.pack("<BHB", flags, round(speed * 256), cadence)
    return data + (struct.pack("<I", round(distance * 10)) if distance is not None else b"")


class World:
    """What the fake radio hears, and what happened."""

    def __init__(self) -> None:
        self.devices: list[tuple[Device, Adv]] = [(Device(ADDRESS, "Stryd 1234"), Adv("Stryd 1234", [RSC_SERVICE]))]
        self.in_reach = True
        self.scan_error: BaseException | None = None
        self.connect_errors: list[BaseException] = []
        self.scan_kwargs: list[dict[str, Any]] = []
        self.scans = 0
        self.clients: list[Client] = []
        self.notifying = threading.Event()
        self.hang_scan = False

    def module(self) -> types.SimpleNamespace:
        world = self

        class BleakScanner:
            @classmethod
            async def find_device_by_filter(
                cls, filterfunc: Callable[[Any, Any], bool], timeout: float = 10.0, **kwargs: Any
            ) -> Device | None:
                world.scans += 1
                world.scan_kwargs.append(kwargs)
                if world.scan_error is not None:
                    raise world.scan_error
                if world.hang_scan:
                    await asyncio.sleep(3600)
                if world.in_reach:
                    for device, adv in world.devices:
                        if filterfunc(device, adv):
                            return device
                await asyncio.sleep(timeout)
                return None

            @classmethod
            async def discover(
                cls, timeout: float = 5.0, *, return_adv: bool = False, **kwargs: Any
            ) -> dict[str, tuple[Device, Adv]]:
                world.scan_kwargs.append(kwargs)
                if world.scan_error is not None:
                    raise world.scan_error
                if world.hang_scan:
                    await asyncio.sleep(3600)
                return {d.address: (d, a) for d, a in world.devices}

        class BleakClient(Client):
            def __init__(self, device: Device, disconnected_callback: Any = None, **kwargs: Any) -> None:
                super().__init__(world, device, disconnected_callback)

        return types.SimpleNamespace(BleakScanner=BleakScanner, BleakClient=BleakClient)


class Client:
    def __init__(self, world: World, device: Device, disconnected: Callable[[Any], None] | None) -> None:
        self.world = world
        self.device = device
        self.disconnected = disconnected
        self.is_connected = False
        self.callback: Callable[[Any, bytearray], None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.notified_uuid: str | None = None
        self.disconnects = 0
        world.clients.append(self)

    async def connect(self) -> None:
        if self.world.connect_errors:
            raise self.world.connect_errors.pop(0)
        self.is_connected = True

    async def read_gatt_char(self, uuid: str) -> bytearray:
        assert uuid == RSC_FEATURE
        return bytearray(b"\x07\x00")

    async def start_notify(self, uuid: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.notified_uuid = uuid
        self.callback = callback
        self.loop = asyncio.get_running_loop()
        self.world.notifying.set()

    async def disconnect(self) -> None:
        self.disconnects += 1
        self.is_connected = False

    # driven by the test, from its thread
    def notify(self, data: bytes) -> None:
        assert self.loop is not None and self.callback is not None
        self.loop.call_soon_threadsafe(self.callback, "2a53", bytearray(data))

    def drop(self) -> None:
        """The pod walks out of reach."""
        assert self.loop is not None
        self.is_connected = False
        self.loop.call_soon_threadsafe(self.disconnected, self)  # type: ignore[arg-type]


def collect(sensor: BleSensor, until: Callable[[list[Reading | Status]], bool], timeout: float = 3.0) -> list[Any]:
    events: list[Reading | Status] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events += sensor.drain()
        if until(events):
            return events
        time.sleep(0.005)
    raise AssertionError(f"timed out; events so far: {events}")


def states(events: list[Reading | Status]) -> list[str]:
    return [e.state for e in events if isinstance(e, Status)]


def has_state(state: str, count: int = 1) -> Callable[[list[Reading | Status]], bool]:
    return lambda events: states(events).count(state) >= count


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def sensors() -> Any:
    started: list[BleSensor] = []
    yield started
    for s in started:
        s.stop()


def make(world: World, sensors: list[BleSensor], target: str | None = None, **kwargs: Any) -> BleSensor:
    sensor = BleSensor(target, bleak=world.module(), **{**FAST, **kwargs})
    sensors.append(sensor)
    return sensor


# ---- finding, connecting, readings -------------------------------------------------------------------------------


def test_found_connected_and_notifications_become_readings(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    assert sensor.name == "footpod"
    before = time.monotonic()
    sensor.start()
    events = collect(sensor, has_state("connected"))
    assert events == [Status(events[0].at, "connected", f"Stryd 1234 ({ADDRESS})")]
    assert sensor.name == "footpod Stryd 1234"
    client = world.clients[-1]
    assert client.notified_uuid == RSC_MEASUREMENT
    assert sensor.features == RscFeatures(True, True, True)
    client.notify(packet(172, 3.5, distance=1234.5))
    client.notify(b"\x02\x00")  # too short: counted, skipped
    client.notify(packet(0, 0.0, running=False))
    got = collect(sensor, lambda e: len(e) >= 2)
    assert [(r.cadence, r.speed, r.distance, r.stride_m) for r in got] == [
        (172.0, 3.5, 1234.5, None),
        (0.0, 0.0, None, None),
    ]
    assert all(before <= r.at <= time.monotonic() for r in got)  # stamped on the sensor's clock
    assert sensor.clock is time.monotonic
    assert sensor.bad_packets == 1
    assert world.scan_kwargs[0] == {"service_uuids": [RSC_SERVICE]}


def test_a_device_without_the_rsc_service_is_passed_over(world: World, sensors: list[BleSensor]) -> None:
    world.devices.insert(
        0, (Device("00:11:22:33:44:55", "Heart"), Adv("Heart", ["0000180d-0000-1000-8000-00805f9b34fb"]))
    )
    sensor = make(world, sensors)
    sensor.start()
    events = collect(sensor, has_state("connected"))
    assert ADDRESS in events[0].detail


@pytest.mark.parametrize("target", ["c4:7c:8d:6a:12:34", ADDRESS, "stryd", "RYD 12"])
def test_a_named_footpod_by_address_or_part_of_its_name(world: World, sensors: list[BleSensor], target: str) -> None:
    world.devices.insert(0, (Device("AA:BB:CC:DD:EE:FF", "Polar Stride"), Adv("Polar Stride", [RSC_SERVICE])))
    sensor = make(world, sensors, target)
    assert sensor.name == f"footpod {target}"
    sensor.start()
    events = collect(sensor, has_state("connected"))
    assert ADDRESS in events[0].detail
    by_address = ":" in target
    assert world.scan_kwargs[0] == ({} if by_address else {"service_uuids": [RSC_SERVICE]})


def test_no_footpod_found_fails_once_and_ends(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors, "Garmin")
    sensor.start()
    events = collect(sensor, has_state("failed"))
    assert events == [Status(events[0].at, "failed", "no footpod matching 'Garmin' found in 0.2 s")]
    sensor._thread.join(2.0)  # type: ignore[union-attr]
    assert not sensor.running and sensor.drain() == []


def test_auto_cadence_from_a_device_that_counts_strides(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    sensor.start()
    collect(sensor, has_state("connected"))
    for _ in range(6):
        world.clients[-1].notify(packet(88))
    events = collect(sensor, lambda e: len(e) >= 7)
    assert [e.cadence for e in events if isinstance(e, Reading)] == [88, 88, 88, 88, 176, 176]
    (note,) = [e for e in events if isinstance(e, Status)]
    assert note.state == "connected" and "strides" in note.detail and ADDRESS in note.detail


def test_a_fixed_cadence_unit(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors, cadence_unit="strides")
    sensor.start()
    collect(sensor, has_state("connected"))
    world.clients[-1].notify(packet(90))
    assert collect(sensor, lambda e: len(e) >= 1)[0].cadence == 180.0
    with pytest.raises(ValueError, match="cadence unit"):
        BleSensor(None, cadence_unit="legs", bleak=world.module())


# ---- losing it, finding it again ----------------------------------------------------------------------------------


def test_a_lost_footpod_is_one_lost_then_connected_again(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    sensor.start()
    collect(sensor, has_state("connected"))
    world.in_reach = False
    scans = world.scans
    world.clients[-1].drop()
    events = collect(sensor, has_state("lost"))
    assert states(events) == ["lost"] and "reconnecting" in events[0].detail
    deadline = time.monotonic() + 2.0
    while world.scans < scans + 4 and time.monotonic() < deadline:  # several attempts while out of reach
        time.sleep(0.01)
    assert world.scans >= scans + 4
    assert sensor.drain() == []  # still only the one "lost"
    world.in_reach = True
    events = collect(sensor, has_state("connected"))
    assert states(events) == ["connected"]
    assert world.scan_kwargs[-1] == {}  # looked for by its address
    world.clients[-1].notify(packet(170))
    assert collect(sensor, lambda e: len(e) >= 1)[0].cadence == 170.0
    world.clients[-1].drop()  # and again
    assert states(collect(sensor, has_state("lost"))) == ["lost"]


def test_reconnection_attempts_that_fail_keep_trying(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    sensor.start()
    collect(sensor, has_state("connected"))
    world.connect_errors = [BleakError("Device with address C4:7C:8D:6A:12:34 was not found.")] * 5
    world.clients[-1].drop()
    events = collect(sensor, has_state("connected"))
    assert states(events) == ["lost", "connected"]


def test_a_backend_that_misses_the_disconnect_callback(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    sensor.start()
    collect(sensor, has_state("connected"))
    world.clients[-1].is_connected = False  # no callback: found by the once-a-second check
    assert states(collect(sensor, has_state("lost"))) == ["lost"]


def test_a_first_connection_that_never_works_fails(world: World, sensors: list[BleSensor]) -> None:
    world.connect_errors = [BleakError("le-connection-abort-by-local")] * 3
    sensor = make(world, sensors)
    sensor.start()
    events = collect(sensor, has_state("failed"))
    assert states(events) == ["failed"]
    assert events[0].detail == f"cannot connect to Stryd 1234 ({ADDRESS}): Bluetooth: le-connection-abort-by-local"


def test_a_footpod_that_goes_away_before_the_first_connection_fails(
    world: World, sensors: list[BleSensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.connect_errors = [BleakError("le-connection-abort-by-local")]
    sensor = make(world, sensors)
    real_connect = Client.connect

    async def connect_then_vanish(self: Client) -> None:
        world.in_reach = False
        await real_connect(self)

    monkeypatch.setattr(Client, "connect", connect_then_vanish)
    sensor.start()
    events = collect(sensor, has_state("failed"))
    assert states(events) == ["failed"] and "cannot connect to Stryd 1234" in events[0].detail


def test_a_first_connection_that_works_on_the_second_try(world: World, sensors: list[BleSensor]) -> None:
    world.connect_errors = [asyncio.TimeoutError()]
    sensor = make(world, sensors)
    sensor.start()
    assert states(collect(sensor, has_state("connected"))) == ["connected"]


# ---- Bluetooth that is not there -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (FileNotFoundError(2, "No such file or directory"), "no D-Bus system bus"),
        (BleakBluetoothNotAvailableError("No Bluetooth adapters found.", Reason.NO_BLUETOOTH), "no Bluetooth adapter"),
        (BleakBluetoothNotAvailableError("No powered...", Reason.POWERED_OFF), "Bluetooth is turned off"),
        (
            BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", ["The name org.bluez was not provided"]),
            "BlueZ is not running",
        ),
        (BleakDBusError("org.example.Odd", []), "BlueZ: org.example.Odd"),
        (PermissionError(13, "Permission denied"), "permission denied"),
        (ConnectionRefusedError(111, "Connection refused"), "refused the connection"),
        (OSError(19, "No such device"), "Bluetooth: No such device"),
        (BleakError("adapter 'hci1' not found"), "Bluetooth: adapter 'hci1' not found"),
        (RuntimeError("something odd"), "Bluetooth failed (RuntimeError: something odd)"),
    ],
)
def test_bluetooth_that_is_not_there_is_failed_with_a_reason(
    world: World, sensors: list[BleSensor], error: BaseException, detail: str
) -> None:
    world.scan_error = error
    sensor = make(world, sensors)
    sensor.start()
    events = collect(sensor, has_state("failed"))
    assert states(events) == ["failed"] and detail in events[0].detail
    sensor._thread.join(2.0)  # type: ignore[union-attr]
    assert not sensor.running  # ended, nothing escaped the thread (pytest would report an unhandled one)


def test_the_reasons_are_one_line_and_bounded() -> None:
    reason = bluetooth_reason(BleakError("x\n\x1b[2J" + "y" * 1000))
    assert "\n" not in reason and "\x1b" not in reason and len(reason) < 260


# ---- stopping -----------------------------------------------------------------------------------------------------


def test_stop_while_connected_joins_fast_and_disconnects(world: World, sensors: list[BleSensor]) -> None:
    sensor = make(world, sensors)
    sensor.start()
    collect(sensor, has_state("connected"))
    began = time.monotonic()
    sensor.stop()
    assert time.monotonic() - began < 2.0
    assert not sensor.running
    assert world.clients[-1].disconnects >= 1
    assert "lost" not in states(sensor.drain())  # stopping is not losing it
    sensor.stop()  # idempotent
    sensor.start()  # a stopped sensor stays stopped
    assert not sensor.running


def test_stop_while_scanning_joins_fast(world: World, sensors: list[BleSensor]) -> None:
    world.hang_scan = True
    sensor = make(world, sensors, scan_timeout_s=30.0)
    sensor.start()
    deadline = time.monotonic() + 2.0
    while world.scans == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    began = time.monotonic()
    sensor.stop()
    assert time.monotonic() - began < 2.0 and not sensor.running
    assert sensor.drain() == []


def test_stop_before_start_and_right_after(world: World) -> None:
    sensor = BleSensor(None, bleak=world.module(), **FAST)
    sensor.stop()
    sensor = BleSensor(None, bleak=world.module(), **FAST)
    sensor.start()
    began = time.monotonic()
    sensor.stop()
    assert time.monotonic() - began < 2.0 and not sensor.running


def test_as_a_context_manager(world: World) -> None:
    with BleSensor(None, bleak=world.module(), **FAST) as sensor:
        assert isinstance(sensor, BleSensor)
        collect(sensor, has_state("connected"))
    assert not sensor.running


# ---- scan() for `cadencecoach sensors` ---------------------------------------------------------------------------


def test_scan_lists_footpods_strongest_first(world: World) -> None:
    world.devices = [
        (Device("AA:00:00:00:00:01", "Far pod"), Adv("Far pod", [RSC_SERVICE.upper()], rssi=-90)),
        (Device("AA:00:00:00:00:02", None), Adv(None, ["0000180d-0000-1000-8000-00805f9b34fb"], rssi=-40)),
        (Device("AA:00:00:00:00:03", "Near\x1b[2J pod"), Adv("Near\x1b[2J pod", [RSC_SERVICE], rssi=-50)),
    ]
    found = scan(0.1, bleak=world.module())
    assert [(f.name, f.address, f.rssi, f.footpod) for f in found] == [
        ("Near\\x1b[2J pod", "AA:00:00:00:00:03", -50, True),
        ("Far pod", "AA:00:00:00:00:01", -90, True),
    ]
    assert world.scan_kwargs[-1] == {"service_uuids": [RSC_SERVICE]}
    everything = scan(0.1, all_devices=True, bleak=world.module())
    assert [f.address for f in everything] == ["AA:00:00:00:00:02", "AA:00:00:00:00:03", "AA:00:00:00:00:01"]
    assert everything[0] == Found(None, "AA:00:00:00:00:02", -40, ("0000180d-0000-1000-8000-00805f9b34fb",))
    assert world.scan_kwargs[-1] == {}


def test_scan_without_bluetooth_is_sensor_unavailable(world: World) -> None:
    world.scan_error = FileNotFoundError(2, "No such file or directory")
    with pytest.raises(SensorUnavailable) as info:
        scan(0.1, bleak=world.module())
    assert isinstance(info.value, CoachError) and info.value.exit_code == 1
    assert str(info.value).startswith("cannot scan for Bluetooth devices: no D-Bus system bus")


def test_scan_is_bounded_in_time(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.hang_scan = True
    real = ble._run_bounded
    monkeypatch.setattr(ble, "_run_bounded", lambda coro, limit: real(coro, 0.2))
    began = time.monotonic()
    with pytest.raises(SensorUnavailable, match="did not answer in time"):
        scan(0.1, bleak=world.module())
    assert time.monotonic() - began < 2.0


def test_a_missing_bleak_is_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bleak", None)
    for attempt in (lambda: BleSensor(), lambda: scan(), lambda: open_sensor(SensorSpec("ble", "Stryd"))):
        with pytest.raises(ExtraUnavailable) as info:
            attempt()
        assert info.value.exit_code == 2 and "pip install 'cadencecoach[sensors]'" in str(info.value)


def test_open_sensor_makes_a_ble_sensor(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    monkeypatch.setattr(ble, "load_bleak", world.module)
    sensor = open_sensor(SensorSpec("ble", "Stryd"), cadence_unit="steps", clock=lambda: 5.0)
    assert isinstance(sensor, BleSensor) and sensor.target == "Stryd" and sensor.scale.unit == "steps"
    assert sensor.clock is time.monotonic  # a footpod's readings are on monotonic time, whatever the clock
    with pytest.raises(ValueError, match="cadence unit"):
        open_sensor(SensorSpec("ble"), cadence_unit="paces")


# ---- the real bleak, on a machine without BlueZ ---------------------------------------------------------------------

REAL_BLEAK = skip_reason_module("bleak")


@pytest.mark.skipif(REAL_BLEAK is not None, reason=REAL_BLEAK or "")
def test_the_real_bleak_says_why_and_does_not_hang() -> None:
    began = time.monotonic()
    try:
        found = scan(1.0)
    except SensorUnavailable as exc:
        reason = str(exc)
        assert reason.startswith("cannot scan for Bluetooth devices: ")
        assert "Errno" not in reason and "Traceback" not in reason and "\n" not in reason
    else:  # a machine with Bluetooth: a list, in time
        assert all(isinstance(f, Found) for f in found)
    assert time.monotonic() - began < 5.0


@pytest.mark.skipif(REAL_BLEAK is not None, reason=REAL_BLEAK or "")
def test_the_real_bleak_sensor_fails_or_keeps_looking_and_stops_fast() -> None:
    sensor = BleSensor("no such footpod", scan_timeout_s=1.0)
    sensor.start()
    deadline = time.monotonic() + 4.0
    events: list[Reading | Status] = []
    while time.monotonic() < deadline and "failed" not in states(events):
        events += sensor.drain()
        time.sleep(0.02)
    began = time.monotonic()
    sensor.stop()
    assert time.monotonic() - began < 2.5 and not sensor.running
    (failed,) = [e for e in events if isinstance(e, Status)]
    assert failed.state == "failed" and failed.detail and "Errno" not in failed.detail
