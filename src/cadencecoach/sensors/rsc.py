"""The Bluetooth Running Speed and Cadence measurement, byte for byte, and the cadence unit a footpod reports.

Running Speed and Cadence Service (RSCS v1.0, service ``0x1814``); the fields are those of the Bluetooth SIG's
GATT Specification Supplement, "RSC Measurement" (characteristic ``0x2A53``) and "RSC Feature" (``0x2A54``).
Everything is little-endian:

======  ==============================  =======  =================================================
offset  field                           type     unit, presence
======  ==============================  =======  =================================================
0       Flags                           uint8    bit 0: stride length present; bit 1: total distance
                                                 present; bit 2: 0 walking, 1 running; bits 3-7 RFU
1       Instantaneous Speed             uint16   1/256 m/s (M = 1, d = 0, b = -8)
3       Instantaneous Cadence           uint8    1/min (foot falls per minute)
4       Instantaneous Stride Length     uint16   1/100 m (M = 1, d = -2, b = 0), if flags bit 0
4 or 6  Total Distance                  uint32   1/10 m (M = 1, d = -1, b = 0), if flags bit 1
======  ==============================  =======  =================================================

Reserved flag bits are ignored, bytes after the last field present are ignored (a later revision may append
fields), and a packet too short for the fields its flags announce is an :class:`RscError` naming what is
missing. The RSC Feature characteristic is a uint16 of bits (:class:`RscFeatures`).

Cadence: the specification counts foot falls (steps) per minute, but some footpods send strides (one foot's
falls, half the figure). :class:`CadenceScale` turns what a device sends into steps per minute, both feet, the
unit of the whole project (``"steps"``, ``"strides"``, or ``"auto"``: decided from the first running readings).

Examples
--------
>>> m = parse_measurement(bytes([0b111, 0x00, 0x03, 88, 0x7D, 0x00, 0x10, 0x27, 0x00, 0x00]))
>>> m.speed_mps, m.cadence, m.stride_m, m.distance_m, m.running
(3.0, 88, 1.25, 1000.0, True)
>>> parse_measurement(pack_measurement(m)) == m
True
"""

from __future__ import annotations

import statistics
import struct
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "CADENCE_UNITS",
    "RSC_FEATURE",
    "RSC_MEASUREMENT",
    "RSC_SERVICE",
    "CadenceScale",
    "CadenceUnit",
    "RscError",
    "RscFeatures",
    "RscMeasurement",
    "pack_measurement",
    "parse_features",
    "parse_measurement",
    "uuid16",
]


def uuid16(short: int) -> str:
    """The 128-bit form of a 16-bit Bluetooth SIG UUID (``0x1814`` -> ``"00001814-0000-1000-8000-00805f9b34fb"``).

    >>> uuid16(0x2A53)
    '00002a53-0000-1000-8000-00805f9b34fb'
    """
    return f"{short:08x}-0000-1000-8000-00805f9b34fb"


RSC_SERVICE = uuid16(0x1814)
"""Running Speed and Cadence service."""
RSC_MEASUREMENT = uuid16(0x2A53)
"""RSC Measurement characteristic (notify)."""
RSC_FEATURE = uuid16(0x2A54)
"""RSC Feature characteristic (read)."""

_STRIDE_PRESENT = 0x01
_DISTANCE_PRESENT = 0x02
_RUNNING = 0x04

SPEED_RESOLUTION = 256  # 1/256 m/s
STRIDE_RESOLUTION = 100  # 1/100 m
DISTANCE_RESOLUTION = 10  # 1/10 m
MAX_SPEED_MPS = 0xFFFF / SPEED_RESOLUTION
MAX_STRIDE_M = 0xFFFF / STRIDE_RESOLUTION
MAX_DISTANCE_M = 0xFFFF_FFFF / DISTANCE_RESOLUTION


class RscError(ValueError):
    """An RSC packet that cannot be read (too short for the fields its flags announce)."""


@dataclass(frozen=True)
class RscMeasurement:
    """One RSC Measurement as the device sent it (cadence as transmitted: see :class:`CadenceScale`)."""

    speed_mps: float  # metres per second (1/256 m/s steps)
    cadence: int  # per minute as transmitted, 0..255
    stride_m: float | None = None  # metres (1/100 m steps); None: not in the packet
    distance_m: float | None = None  # the device's running total in metres (1/10 m steps); None: not sent
    running: bool = False  # the walking/running status bit (a device without that feature sends 0)


@dataclass(frozen=True)
class RscFeatures:
    """The RSC Feature characteristic (``0x2A54``): what the device can measure."""

    stride_length: bool = False  # bit 0: instantaneous stride length measurement
    total_distance: bool = False  # bit 1: total distance measurement
    walking_running: bool = False  # bit 2: walking or running status
    calibration: bool = False  # bit 3: calibration procedure
    multiple_locations: bool = False  # bit 4: multiple sensor locations


def _view(data: bytes | bytearray | memoryview) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RscError(f"an RSC packet is bytes, not {type(data).__name__}")
    return bytes(data)


def parse_measurement(data: bytes | bytearray | memoryview) -> RscMeasurement:
    """Read an RSC Measurement (``0x2A53``) packet.

    Raises
    ------
    RscError
        The packet is shorter than the fields its flags announce (the message names the first missing one).

    Examples
    --------
    >>> parse_measurement(bytes([0, 0x80, 0x02, 170]))
    RscMeasurement(speed_mps=2.5, cadence=170, stride_m=None, distance_m=None, running=False)
    >>> parse_measurement(bytes([0x02, 0x80, 0x02, 170, 1]))
    Traceback (most recent call last):
    ...
    cadencecoach.sensors.rsc.RscError: RSC measurement of 5 bytes: the total distance (bytes 4-7) is missing
    """
    raw = _view(data)
    n = len(raw)
    if n < 4:
        missing = "the flags" if n == 0 else "the instantaneous speed" if n < 3 else "the instantaneous cadence"
        raise RscError(f"RSC measurement of {n} byte{'' if n == 1 else 's'}: {missing} is missing")
    flags = raw[0]
    speed, cadence = struct.unpack_from("<HB", raw, 1)
    offset = 4
    stride_m: float | None = None
    distance_m: float | None = None
    if flags & _STRIDE_PRESENT:
        if n < offset + 2:
            raise RscError(f"RSC measurement of {n} bytes: the stride length (bytes {offset}-{offset + 1}) is missing")
        (stride,) = struct.unpack_from("<H", raw, offset)
        stride_m = stride / STRIDE_RESOLUTION
        offset += 2
    if flags & _DISTANCE_PRESENT:
        if n < offset + 4:
            raise RscError(f"RSC measurement of {n} bytes: the total distance (bytes {offset}-{offset + 3}) is missing")
        (distance,) = struct.unpack_from("<I", raw, offset)
        distance_m = distance / DISTANCE_RESOLUTION
    return RscMeasurement(
        speed_mps=speed / SPEED_RESOLUTION,
        cadence=cadence,
        stride_m=stride_m,
        distance_m=distance_m,
        running=bool(flags & _RUNNING),
    )


def _raw(value: float, resolution: int, top: int, what: str) -> int:
    scaled = round(value * resolution)
    if not 0 <= scaled <= top:
        raise ValueError(f"{what} {value} is outside what an RSC measurement can carry (0..{top / resolution:g})")
    return scaled


def pack_measurement(m: RscMeasurement) -> bytes:
    """The packet :func:`parse_measurement` reads back as `m` (values rounded to the spec's resolution): the
    inverse, for tests and fake devices. ``ValueError`` for a value the fields cannot carry.

    >>> pack_measurement(RscMeasurement(2.5, 170, running=True)).hex()
    '048002aa'
    """
    if not 0 <= m.cadence <= 0xFF:
        raise ValueError(f"cadence {m.cadence} is outside what an RSC measurement can carry (0..255)")
    flags = _RUNNING if m.running else 0
    tail = b""
    if m.stride_m is not None:
        flags |= _STRIDE_PRESENT
        tail += struct.pack("<H", _raw(m.stride_m, STRIDE_RESOLUTION, 0xFFFF, "stride length"))
    if m.distance_m is not None:
        flags |= _DISTANCE_PRESENT
        tail += struct.pack("<I", _raw(m.distance_m, DISTANCE_RESOLUTION, 0xFFFF_FFFF, "total distance"))
    speed = _raw(m.speed_mps, SPEED_RESOLUTION, 0xFFFF, "speed")
    return struct.pack("<BHB", flags, speed, int(m.cadence)) + tail


def parse_features(data: bytes | bytearray | memoryview) -> RscFeatures:
    """Read the RSC Feature characteristic (``0x2A54``, uint16 little-endian; reserved bits ignored).

    >>> parse_features(bytes([0x07, 0x00]))
    RscFeatures(stride_length=True, total_distance=True, walking_running=True, calibration=False, \
multiple_locations=False)
    """
    raw = _view(data)
    if len(raw) < 2:
        raise RscError(f"RSC feature of {len(raw)} byte{'' if len(raw) == 1 else 's'}: it is 2 bytes (uint16)")
    (bits,) = struct.unpack_from("<H", raw, 0)
    return RscFeatures(
        stride_length=bool(bits & 0x01),
        total_distance=bool(bits & 0x02),
        walking_running=bool(bits & 0x04),
        calibration=bool(bits & 0x08),
        multiple_locations=bool(bits & 0x10),
    )


CadenceUnit = Literal["steps", "strides", "auto"]
"""What a footpod's cadence counts: ``"steps"`` (both feet: the specification), ``"strides"`` (one foot: doubled),
``"auto"`` (steps unless the first running readings look like strides)."""
CADENCE_UNITS: tuple[str, ...] = get_args(CadenceUnit)

STRIDE_RANGE = (40, 115)
"""Cadences (per minute) that, while running, can only be strides: running steps are 130..230 a minute."""
RUNNING_SPEED_MPS = 2.0
"""A reading this fast counts as running even without the running bit (7.2 km/h, 8:20 min/km)."""
PROBE_READINGS = 5
"""Running readings ``"auto"`` looks at before it decides."""


class CadenceScale:
    """Cadence as a device sends it -> steps per minute (both feet).

    ``"steps"`` keeps it, ``"strides"`` doubles it. ``"auto"`` keeps it until it has seen
    :data:`PROBE_READINGS` running readings (the running bit set, or at least :data:`RUNNING_SPEED_MPS`) with a
    cadence above 0; if their median lies in :data:`STRIDE_RANGE` the device reports strides, and every
    cadence is doubled from then on. The decision is made once, and :attr:`note` says so once.

    Examples
    --------
    >>> scale = CadenceScale("auto")
    >>> [scale.steps(RscMeasurement(3.0, 88, running=True)) for _ in range(6)]
    [88.0, 88.0, 88.0, 88.0, 176.0, 176.0]
    >>> scale.unit, scale.take_note()
    ('strides', 'the footpod counts strides (88 a minute while running): cadence doubled to steps')
    >>> scale.take_note() is None
    True
    """

    def __init__(self, unit: str = "auto") -> None:
        if unit not in CADENCE_UNITS:
            raise ValueError(f"cadence unit {unit!r}: use one of {', '.join(CADENCE_UNITS)}")
        self.requested = unit
        self.unit: str = unit  # "steps" or "strides" once decided; "auto" until then
        self._probe: list[int] = []
        self._note: str | None = None

    @property
    def factor(self) -> float:
        """What a transmitted cadence is multiplied by now."""
        return 2.0 if self.unit == "strides" else 1.0

    def steps(self, m: RscMeasurement) -> float:
        """The cadence of `m` in steps per minute (and one more reading for the ``"auto"`` decision)."""
        if self.unit == "auto":
            self._observe(m)
        return m.cadence * self.factor

    def _observe(self, m: RscMeasurement) -> None:
        if m.cadence <= 0 or not (m.running or m.speed_mps >= RUNNING_SPEED_MPS):
            return
        self._probe.append(m.cadence)
        if len(self._probe) < PROBE_READINGS:
            return
        median = statistics.median(self._probe)
        low, high = STRIDE_RANGE
        if low <= median <= high:
            self.unit = "strides"
            self._note = f"the footpod counts strides ({median:g} a minute while running): cadence doubled to steps"
        else:
            self.unit = "steps"
        self._probe = []

    def take_note(self) -> str | None:
        """What the ``"auto"`` decision did, for the runner, the first time it is asked after deciding strides
        (None otherwise, and every later time)."""
        note, self._note = self._note, None
        return note
