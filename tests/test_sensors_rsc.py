"""The Bluetooth RSC Measurement (0x2A53) and RSC Feature (0x2A54) parsers, and the cadence unit decision.

The fixtures are written here byte by byte from the GATT Specification Supplement's field table (flags uint8,
speed uint16 1/256 m/s, cadence uint8 1/min, stride uint16 1/100 m if bit 0, distance uint32 1/10 m if bit 1,
all little-endian), not by the code under test.
"""

from __future__ import annotations

import itertools
import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadencecoach.sensors.rsc import (
    RSC_FEATURE,
    RSC_MEASUREMENT,
    RSC_SERVICE,
    CadenceScale,
    RscError,
    RscFeatures,
    RscMeasurement,
    pack_measurement,
    parse_features,
    parse_measurement,
)


def test_the_uuids() -> None:
    assert RSC_SERVICE == "00001814-0000-1000-8000-00805f9b34fb"
    assert RSC_MEASUREMENT == "00002a53-0000-1000-8000-00805f9b34fb"
    assert RSC_FEATURE == "00002a54-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize(("stride", "distance", "running"), list(itertools.product([False, True], repeat=3)))
def test_every_flag_combination(stride: bool, distance: bool, running: bool) -> None:
    flags = stride * 0x01 | distance * 0x02 | running * 0x04
    data = struct.pack("<BHB", flags, 3 * 256 + 128, 172)  # 3.5 m/s, 172/min
    if stride:
        data += struct.pack("<H", 123)  # 1.23 m
    if distance:
        data += struct.pack("<I", 54321)  # 5432.1 m
    m = parse_measurement(data)
    assert m.speed_mps == 3.5
    assert m.cadence == 172
    assert m.stride_m == (pytest.approx(1.23) if stride else None)
    assert m.distance_m == (pytest.approx(5432.1) if distance else None)
    assert m.running is running


def test_distance_alone_follows_the_cadence() -> None:
    """Without a stride length, the total distance starts at byte 4."""
    m = parse_measurement(bytes([0x02, 0x00, 0x02, 180]) + struct.pack("<I", 10))
    assert (m.speed_mps, m.cadence, m.stride_m, m.distance_m) == (2.0, 180, None, 1.0)


def test_boundary_values() -> None:
    zero = parse_measurement(struct.pack("<BHBHI", 0x03, 0, 0, 0, 0))
    assert zero == RscMeasurement(0.0, 0, 0.0, 0.0, False)
    top = parse_measurement(struct.pack("<BHBHI", 0x07, 0xFFFF, 0xFF, 0xFFFF, 0xFFFF_FFFF))
    assert top.speed_mps == 0xFFFF / 256
    assert top.cadence == 255
    assert top.stride_m == pytest.approx(655.35)
    assert top.distance_m == pytest.approx(429_496_729.5)
    assert top.running


@pytest.mark.parametrize("reserved", [0x08, 0x10, 0x20, 0x40, 0x80, 0xF8])
def test_reserved_flag_bits_are_ignored(reserved: int) -> None:
    plain = parse_measurement(struct.pack("<BHB", 0x04, 512, 170))
    assert parse_measurement(struct.pack("<BHB", 0x04 | reserved, 512, 170)) == plain
    with_stride = parse_measurement(struct.pack("<BHBH", 0x01 | reserved, 512, 170, 110))
    assert with_stride.stride_m == pytest.approx(1.1) and with_stride.distance_m is None


def test_extra_trailing_bytes_are_ignored() -> None:
    m = parse_measurement(struct.pack("<BHBH", 0x01, 256, 160, 100) + b"\xde\xad\xbe\xef\x00")
    assert m == RscMeasurement(1.0, 160, 1.0, None, False)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        (b"", "the flags"),
        (b"\x00", "the instantaneous speed"),
        (b"\x00\x01", "the instantaneous speed"),
        (b"\x00\x01\x02", "the instantaneous cadence"),
        (b"\x01\x00\x02\xaa", "the stride length (bytes 4-5)"),
        (b"\x01\x00\x02\xaa\x10", "the stride length (bytes 4-5)"),
        (b"\x02\x00\x02\xaa\x10\x00\x00", "the total distance (bytes 4-7)"),
        (b"\x03\x00\x02\xaa\x10\x00\x01\x02\x03", "the total distance (bytes 6-9)"),
    ],
)
def test_short_packets_name_what_is_missing(data: bytes, missing: str) -> None:
    with pytest.raises(RscError, match=rf"RSC measurement of {len(data)} bytes?: {re.escape(missing)} is missing"):
        parse_measurement(data)


def test_rsc_error_is_a_value_error_and_not_bytes_is_refused() -> None:
    assert issubclass(RscError, ValueError)
    with pytest.raises(RscError, match="bytes, not str"):
        parse_measurement("\x00\x00\x02\xaa")  # type: ignore[arg-type]


def test_bytearray_and_memoryview() -> None:
    raw = struct.pack("<BHB", 0, 640, 175)
    assert parse_measurement(bytearray(raw)) == parse_measurement(memoryview(raw)) == parse_measurement(raw)


def test_features() -> None:
    assert parse_features(struct.pack("<H", 0)) == RscFeatures()
    assert parse_features(struct.pack("<H", 0x001F)) == RscFeatures(True, True, True, True, True)
    assert parse_features(struct.pack("<H", 0xFFE2)) == RscFeatures(total_distance=True)  # reserved bits ignored
    assert parse_features(struct.pack("<H", 0x0005) + b"\x99") == RscFeatures(stride_length=True, walking_running=True)
    for short in (b"", b"\x07"):
        with pytest.raises(RscError, match="it is 2 bytes"):
            parse_features(short)


def test_pack_refuses_what_the_fields_cannot_carry() -> None:
    for bad in (
        RscMeasurement(-0.1, 170),
        RscMeasurement(256.0, 170),
        RscMeasurement(3.0, 256),
        RscMeasurement(3.0, 170, stride_m=700.0),
        RscMeasurement(3.0, 170, distance_m=-1.0),
    ):
        with pytest.raises(ValueError, match="outside"):
            pack_measurement(bad)


# ---- properties ---------------------------------------------------------------------------------------------

measurements = st.builds(
    RscMeasurement,
    speed_mps=st.integers(0, 0xFFFF).map(lambda raw: raw / 256),
    cadence=st.integers(0, 0xFF),
    stride_m=st.none() | st.integers(0, 0xFFFF).map(lambda raw: raw / 100),
    distance_m=st.none() | st.integers(0, 0xFFFF_FFFF).map(lambda raw: raw / 10),
    running=st.booleans(),
)


@given(measurements)
def test_parse_reads_back_what_pack_wrote(m: RscMeasurement) -> None:
    assert parse_measurement(pack_measurement(m)) == m


@given(measurements, st.integers(0, 0x1F).map(lambda r: r << 3), st.binary(max_size=8))
def test_reserved_bits_and_trailing_bytes_change_nothing(m: RscMeasurement, reserved: int, tail: bytes) -> None:
    raw = bytearray(pack_measurement(m))
    raw[0] |= reserved
    assert parse_measurement(bytes(raw) + tail) == m


@given(st.binary(max_size=16))
def test_any_bytes_are_a_measurement_or_an_rsc_error(data: bytes) -> None:
    try:
        m = parse_measurement(data)
    except RscError:
        flags = data[0] if data else 0
        assert len(data) < 4 + 2 * (flags & 1) + 4 * ((flags >> 1) & 1)
        return
    assert isinstance(m, RscMeasurement)
    assert 0 <= m.speed_mps <= 0xFFFF / 256 and 0 <= m.cadence <= 255


@given(st.binary(max_size=4))
def test_any_bytes_are_features_or_an_rsc_error(data: bytes) -> None:
    try:
        assert isinstance(parse_features(data), RscFeatures)
    except RscError:
        assert len(data) < 2


# ---- the cadence unit -----------------------------------------------------------------------------------------


def running(cadence: int, speed: float = 3.0, bit: bool = True) -> RscMeasurement:
    return RscMeasurement(speed, cadence, running=bit)


def test_steps_and_strides_are_fixed() -> None:
    steps, strides = CadenceScale("steps"), CadenceScale("strides")
    for _ in range(10):
        assert steps.steps(running(88)) == 88.0
        assert strides.steps(running(88)) == 176.0
    assert steps.take_note() is None and strides.take_note() is None
    with pytest.raises(ValueError, match="steps, strides, auto"):
        CadenceScale("feet")


def test_auto_keeps_steps_from_a_device_that_sends_steps() -> None:
    scale = CadenceScale()
    out = [scale.steps(running(c)) for c in (170, 172, 168, 171, 174, 90, 88)]
    assert out == [170, 172, 168, 171, 174, 90, 88]
    assert scale.unit == "steps" and scale.take_note() is None


def test_auto_doubles_from_the_decision_on_and_says_so_once() -> None:
    scale = CadenceScale()
    out = [scale.steps(running(c)) for c in (86, 87, 88, 89, 90, 91)]
    assert out == [86, 87, 88, 89, 180, 182]
    assert scale.unit == "strides" and scale.factor == 2.0
    note = scale.take_note()
    assert note is not None and "strides" in note and "doubled" in note
    assert scale.take_note() is None
    assert scale.steps(RscMeasurement(1.0, 50)) == 100.0  # walking too, from then on


def test_auto_looks_only_at_running_readings() -> None:
    """Walking (no running bit, under 2 m/s) and standing (cadence 0) are not counted; 2 m/s counts as running."""
    scale = CadenceScale()
    for _ in range(20):
        scale.steps(RscMeasurement(1.4, 55, running=False))  # a walk at 110 steps: could be strides, ignored
        scale.steps(running(0))
    assert scale.unit == "auto"
    for _ in range(5):
        scale.steps(running(85, speed=2.0, bit=False))
    assert scale.unit == "strides"


def test_auto_decides_on_the_median_so_one_odd_reading_does_not_decide() -> None:
    scale = CadenceScale()
    for c in (170, 88, 172, 171, 169):  # one glitch in the stride range
        scale.steps(running(c))
    assert scale.unit == "steps"
    scale = CadenceScale()
    for c in (88, 170, 87, 89, 90):
        scale.steps(running(c))
    assert scale.unit == "strides"


@pytest.mark.parametrize(("cadence", "unit"), [(39, "steps"), (40, "strides"), (115, "strides"), (116, "steps")])
def test_auto_range_edges(cadence: int, unit: str) -> None:
    scale = CadenceScale()
    for _ in range(5):
        scale.steps(running(cadence))
    assert scale.unit == unit
