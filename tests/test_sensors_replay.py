"""The replay sensor (``sensors.replay``) on synthetic activities, and the sensor interface it shares with the
footpod (``sensors.source``: the event buffer, ``--sensor`` parsing, ``open_sensor``)."""

from __future__ import annotations

import math
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from cadencecoach.activity.model import Activity
from cadencecoach.errors import UsageError
from cadencecoach.sensors.replay import ReplayError, ReplaySensor
from cadencecoach.sensors.source import (
    MAX_PENDING,
    Reading,
    Sensor,
    SensorBuffer,
    SensorSpec,
    Status,
    open_sensor,
    parse_sensor,
)

NAN = math.nan


def activity(
    t: list[float] | np.ndarray,
    cadence: list[float] | np.ndarray | None = None,
    speed: list[float] | np.ndarray | None = None,
    distance: list[float] | np.ndarray | None = None,
    source: str = "/runs/monday.csv",
) -> Activity:
    times = np.asarray(t, dtype=np.float64)
    n = len(times)

    def col(values: list[float] | np.ndarray | None) -> np.ndarray:
        return np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64)

    return Activity(source, "csv", times, col(cadence), col(speed), col(distance), np.full(n, np.nan))


class Clock:
    """A playback clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def readings(events: list[Reading | Status]) -> list[Reading]:
    return [e for e in events if isinstance(e, Reading)]


def states(events: list[Reading | Status]) -> list[str]:
    return [e.state for e in events if isinstance(e, Status)]


def test_connected_first_then_the_samples_as_they_come_due_then_ended_once() -> None:
    run = activity(np.arange(6.0), [170, 171, 172, 173, 174, 175], [3.0] * 6, 10 + 3.0 * np.arange(6))
    clock = Clock()
    replay = ReplaySensor(run, clock=clock)
    assert replay.drain() == []  # not started
    replay.start()
    first = replay.drain()
    assert isinstance(first[0], Status) and first[0].state == "connected" and "monday.csv" in first[0].detail
    assert [(r.at, r.cadence, r.speed, r.distance) for r in readings(first)] == [(0.0, 170.0, 3.0, 0.0)]
    assert replay.drain() == []
    clock.now = 2.999
    assert [r.at for r in readings(replay.drain())] == [1.0, 2.0]
    clock.now = 3.0
    assert [r.at for r in readings(replay.drain())] == [3.0]  # t <= clock
    clock.now = 100.0
    last = replay.drain()
    assert [r.at for r in readings(last)] == [4.0, 5.0]
    assert states(last) == ["ended"] and isinstance(last[-1], Status)
    clock.now = 200.0
    assert replay.drain() == []
    replay.stop()
    replay.stop()  # idempotent


def test_nan_and_infinite_values_are_none() -> None:
    run = activity([0, 1, 2], [170, NAN, math.inf], [NAN, 3.1, -math.inf], [NAN, NAN, NAN])
    replay = ReplaySensor(run, clock=lambda: 10.0)
    replay.start()
    got = readings(replay.drain())
    assert [(r.cadence, r.speed, r.distance, r.stride_m) for r in got] == [
        (170.0, None, None, None),
        (None, 3.1, None, None),
        (None, None, None, None),
    ]
    assert "no distance" in replay.detail


def test_distance_counts_from_the_first_recorded_value() -> None:
    run = activity([0, 1, 2, 3], distance=[NAN, 500.0, 503.5, 507.0])
    replay = ReplaySensor(run, clock=lambda: 10.0)
    replay.start()
    assert [r.distance for r in readings(replay.drain())] == [None, 0.0, 3.5, 7.0]


def test_an_offset_starts_into_the_activity_on_the_activity_clock() -> None:
    run = activity(np.arange(0.0, 100.0), np.full(100, 170.0), np.full(100, 3.0), 3.0 * np.arange(100))
    clock = Clock()
    replay = ReplaySensor(run, clock=clock, offset_s=60.0)
    replay.start()
    assert replay.clock() == 60.0  # the sensor's clock is the activity's time
    events = replay.drain()
    assert states(events) == ["connected"] and "from 1:00" in events[0].detail  # type: ignore[union-attr]
    assert [(r.at, r.distance) for r in readings(events)] == [(60.0, 0.0)]  # a pod switched on at 1:00
    clock.now = 2.0
    assert [(r.at, r.distance) for r in readings(replay.drain())] == [(61.0, 3.0), (62.0, 6.0)]
    assert replay.clock() == 62.0


def test_an_activity_that_does_not_start_at_zero() -> None:
    run = activity([5.0, 6.0, 7.0], [160, 161, 162])
    clock = Clock()
    replay = ReplaySensor(run, clock=clock)
    replay.start()
    assert [r.at for r in readings(replay.drain())] == [5.0]
    clock.now = 1.5
    assert [r.at for r in readings(replay.drain())] == [6.0]


def test_a_gap_in_the_file_is_a_silent_sensor() -> None:
    t = [0.0, 1.0, 2.0, 30.0, 31.0]  # 28 s without samples (a watch paused)
    run = activity(t, [170] * 5)
    clock = Clock()
    replay = ReplaySensor(run, clock=clock)
    replay.start()
    clock.now = 2.0
    last = readings(replay.drain())[-1]
    for now in (5.0, 10.0, 29.9):
        clock.now = now
        assert replay.drain() == []  # no readings, no status: silence
    assert replay.clock() - last.at > 5.0
    clock.now = 30.0
    assert [r.at for r in readings(replay.drain())] == [30.0]


def test_a_clock_that_goes_back_returns_nothing_new() -> None:
    run = activity(np.arange(10.0), np.full(10, 170.0))
    clock = Clock()
    replay = ReplaySensor(run, clock=clock)
    replay.start()
    clock.now = 5.0
    assert len(readings(replay.drain())) == 6
    clock.now = 2.0  # a restarted step, a seek back
    assert replay.drain() == []
    clock.now = 6.0
    assert [r.at for r in readings(replay.drain())] == [6.0]


def test_a_jump_ahead_returns_the_latest_readings_only() -> None:
    run = activity(np.arange(1000.0), np.full(1000, 170.0))
    clock = Clock()
    replay = ReplaySensor(run, clock=clock, max_drain=50)
    replay.start()
    replay.drain()
    clock.now = 500.0
    got = readings(replay.drain())
    assert len(got) == 50 and got[0].at == 451.0 and got[-1].at == 500.0
    clock.now = 501.0
    assert [r.at for r in readings(replay.drain())] == [501.0]


def test_a_long_activity_is_played_incrementally() -> None:
    """Two million samples (a 23-day file at 1 Hz): nothing is built up front, each drain returns what is due."""
    n = 2_000_000
    t = np.arange(float(n))
    run = activity(t, np.full(n, 170.0), np.full(n, 3.0), 3.0 * t)
    clock = Clock()
    started = time.process_time()
    replay = ReplaySensor(run, clock=clock)
    replay.start()
    clock.now = 9.0
    assert len(readings(replay.drain())) == 10
    clock.now = 10.0
    assert len(readings(replay.drain())) == 1
    assert time.process_time() - started < 1.0


def test_the_default_clock_is_monotonic_time_since_start() -> None:
    run = activity([0.0, 0.05, 3600.0], [170, 171, 172])
    replay = ReplaySensor(run)
    assert replay.clock() == 0.0  # not started: playback 0
    replay.start()
    deadline = time.monotonic() + 2.0
    got: list[Reading] = []
    while len(got) < 2 and time.monotonic() < deadline:
        got += readings(replay.drain())
        time.sleep(0.01)
    assert [r.at for r in got] == [0.0, 0.05]
    assert 0.05 <= replay.clock() < 2.0


def test_stop_ends_the_replay() -> None:
    run = activity([0.0, 1.0], [170, 171])
    with ReplaySensor(run, clock=lambda: 0.0) as replay:
        assert states(replay.drain()) == ["connected"]
    assert replay.drain() == []
    replay.start()  # a stopped replay stays stopped
    assert replay.drain() == []


@pytest.mark.parametrize(
    ("run", "offset", "message"),
    [
        (activity([]), 0.0, "no samples"),
        (activity([0.0, 2.0, 1.0]), 0.0, "not in order"),
        (activity([0.0, NAN, 1.0]), 0.0, "not in order"),
        (activity([0.0, 1.0]), -1.0, "0 s or more"),
        (activity([0.0, 1.0]), math.nan, "0 s or more"),
        (activity([0.0, 1.0, 60.0]), 61.0, r"offset 1:01 is past the activity's end \(1:00\)"),
    ],
)
def test_what_cannot_be_replayed(run: Activity, offset: float, message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        ReplaySensor(run, offset_s=offset)


def test_the_name_and_detail() -> None:
    run = activity([0.0, 1.0], [170, 171], source="/tmp/x/evening\x1b[2J.fit")
    replay = ReplaySensor(run)
    assert replay.name == "replay evening\\x1b[2J.fit"  # made safe for the terminal
    assert "no speed, no distance" in replay.detail
    assert ReplaySensor(run, name="demo").name == "demo"


# ---- the interface ----------------------------------------------------------------------------------------------


def test_the_buffer_keeps_order_and_is_bounded() -> None:
    buffer = SensorBuffer(maxlen=3)
    for i in range(5):
        buffer.push(Reading(float(i), 170.0, 3.0, None))
    assert [e.at for e in buffer.drain()] == [2.0, 3.0, 4.0] and buffer.dropped == 2
    assert buffer.drain() == []
    assert SensorBuffer()._maxlen == MAX_PENDING == 10_000


def test_the_buffer_takes_events_from_another_thread() -> None:
    buffer = SensorBuffer()
    n = 5000

    def producer() -> None:
        for i in range(n):
            buffer.push(Reading(float(i), None, None, None))

    thread = threading.Thread(target=producer)
    thread.start()
    got: list[float] = []
    while thread.is_alive():
        got += [e.at for e in buffer.drain()]
    thread.join()
    got += [e.at for e in buffer.drain()]
    assert got == [float(i) for i in range(n)]


def test_sensor_is_abstract() -> None:
    with pytest.raises(TypeError):
        Sensor("x")  # type: ignore[abstract]


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("ble", SensorSpec("ble")),
        (" BLE ", SensorSpec("ble")),
        ("ble:Stryd", SensorSpec("ble", "Stryd")),
        ("ble: Polar Stride ", SensorSpec("ble", "Polar Stride")),
        ("ble:C4:7C:8D:6A:12:34", SensorSpec("ble", "C4:7C:8D:6A:12:34")),
        ("replay:run.fit", SensorSpec("replay", "run.fit")),
        ("Replay:C:\\runs\\a b.fit", SensorSpec("replay", "C:\\runs\\a b.fit")),
        ("replay:runs/x:y.csv", SensorSpec("replay", "runs/x:y.csv")),
    ],
)
def test_parse_sensor(text: str, spec: SensorSpec) -> None:
    assert parse_sensor(text) == spec


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not a sensor"),
        ("ant+", "not a sensor"),
        ("bluetooth", "not a sensor"),
        ("ble:", "give a name or address"),
        ("ble:   ", "give a name or address"),
        ("replay", "give the activity file"),
        ("replay:", "give the activity file"),
        ("ble:" + "x" * 300, "at most 248 characters"),
        ("\x1b[2Jevil", "not a sensor"),
    ],
)
def test_parse_sensor_refuses_anything_else(text: str, why: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_sensor(text)
    message = str(info.value)
    assert message.startswith("--sensor ") and why in message
    assert "ble, ble:NAME_OR_ADDRESS or replay:FILE" in message
    assert "\x1b" not in message and len(message) < 200


def test_the_replay_path() -> None:
    assert SensorSpec("replay", "~/run.fit").path == Path("~/run.fit")
    with pytest.raises(ValueError):
        SensorSpec("ble", "Stryd").path  # noqa: B018


def test_open_sensor_reads_the_activity_and_plays_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``open_sensor`` goes through ``activity.read.read_activity`` (stood in for here)."""
    asked: list[Path] = []

    def read_activity(path: Path) -> Activity:
        asked.append(path)
        return activity(np.arange(0.0, 600.0), np.full(600, 172.0), np.full(600, 3.2), 3.2 * np.arange(600))

    fake = types.ModuleType("cadencecoach.activity.read")
    fake.read_activity = read_activity  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cadencecoach.activity.read", fake)
    clock = Clock()
    sensor = open_sensor(parse_sensor("replay:runs/long.csv"), clock=clock, offset_s=300.0)
    assert asked == [Path("runs/long.csv")]
    assert isinstance(sensor, ReplaySensor) and sensor.name == "replay long.csv"
    sensor.start()
    assert [r.at for r in readings(sensor.drain())] == [300.0]
    with pytest.raises(UsageError, match=r"--sensor replay:runs/long.csv: the offset 20:00 is past"):
        open_sensor(parse_sensor("replay:runs/long.csv"), offset_s=1200.0)
