"""MPRIS media controls (``cadencecoach.ui.mpris``): the title and state read from the player (pure), and the
control on a real private ``dbus-daemon`` (tests/dbus_bus.py) driven with ``dbus-send`` like a headset's
buttons are by the desktop, with a fake player in place of ``LivePlayer``."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.core.edits import click_timeline
from cadencecoach.core.timeline import Timeline, compile_workout
from cadencecoach.terminal import is_safe
from cadencecoach.ui import mpris
from cadencecoach.ui.mpris import MprisControl, MprisState, read_state, step_title
from cadencecoach.workout.loader import load_workout_text

try:
    from dbus_bus import MPRIS_NAME, PLAYER, PrivateBus, available
except ImportError:  # tests/ is a package
    from tests.dbus_bus import MPRIS_NAME, PLAYER, PrivateBus, available  # type: ignore[no-redef]

SR = 1000
WORKOUT = """\
name: Ladder
cadence: 180
steps:
  - warmup: 40s
  - repeat: 3
    steps:
      - run: 30s
        cadence: 170
      - recover: 20s
"""


@functools.cache
def timeline(text: str = WORKOUT) -> Timeline:
    return compile_workout(load_workout_text(text), SR)


class FakePlayer:
    """What MprisControl reads of LivePlayer (ui.mpris.MprisPlayerView), set by the test."""

    def __init__(self, tl: Timeline | None = None, *, mode: str = "run", pos: int = 0) -> None:
        self.timeline = tl if tl is not None else timeline()
        self.config = SimpleNamespace(mode=mode)
        self.engine = SimpleNamespace(want_pause=False)
        self.volume = 1.0
        self.pos = pos
        self.reads = 0

    def position(self) -> int:
        self.reads += 1
        return self.pos

    def heard_step(self) -> Any:
        return self.timeline.step_at(self.pos)


def eventually(cond: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what or cond}"
        time.sleep(0.01)


# -- the title and the state (pure) ----------------------------------------------------------------
def test_title_names_the_step_its_repetition_and_the_time_left() -> None:
    tl = timeline()
    run2 = tl.steps[3]
    assert (run2.label, run2.rep) == ("Run", (2, 3))
    assert step_title(run2, run2.start + 20 * SR, SR) == "Run 2 of 3 · 0:10 left"
    assert step_title(run2, run2.start + 20 * SR + 400, SR) == "Run 2 of 3 · 0:10 left"  # 9.6 s: rounded
    assert step_title(run2, run2.start + 20 * SR + 600, SR) == "Run 2 of 3 · 0:09 left"
    assert step_title(tl.steps[0], 0, SR) == "Warm-up · 0:40 left"  # no repetition outside a repeat
    assert step_title(None, -5 * SR, SR) == "Starting in 5 s"
    assert step_title(None, tl.end, SR) == "Finished"
    assert step_title(tl.steps[0], 0, SR, mode="click", cadence=181.6) == "Metronome 182 spm"


def test_an_hour_long_step_shows_hours() -> None:
    step = SimpleNamespace(label="Long run", rep=None, end=3 * 3600 * SR)
    assert step_title(step, 3600 * SR - 1, SR) == "Long run · 2:00:00 left"  # type: ignore[arg-type]


def test_the_state_read_from_the_player() -> None:
    tl = timeline()
    p = FakePlayer(tl, pos=tl.steps[1].start + 12_345)
    s = read_state(p, now=7.0)
    assert s.status == "Playing" and s.run_mode
    assert s.track == "/org/cadencecoach/step/1"
    assert s.title == "Run 1 of 3 · 0:18 left"
    assert s.album == "Ladder"
    assert s.length_us == 30_000_000 and s.position_us == 12_345_000
    assert s.taken_at == 7.0 and s.volume == 1.0
    p.engine.want_pause, p.volume = True, 0.25
    s = read_state(p, now=8.0)
    assert s.status == "Paused" and s.volume == 0.25
    assert s.position_at(100.0) == 12_345_000  # paused: the position stays
    lead = read_state(FakePlayer(tl, pos=-3 * SR), now=0.0)
    assert (lead.track, lead.title, lead.length_us, lead.position_us) == (
        "/org/cadencecoach/lead_in",
        "Starting in 3 s",
        None,
        0,
    )


def test_the_metronome_has_its_tempo_and_no_steps_to_go_to() -> None:
    s = read_state(FakePlayer(click_timeline(176, SR, hours=1), mode="click", pos=5 * SR), now=0.0)
    assert s.title == "Metronome 176 spm" and not s.run_mode
    assert s.track == "/org/cadencecoach/step/0" and s.length_us == 3600 * 1_000_000


def test_position_goes_on_while_playing_within_the_step() -> None:
    s = MprisState(status="Playing", position_us=29_000_000, length_us=30_000_000, taken_at=1.0)
    assert s.position_at(1.5) == 29_500_000
    assert s.position_at(9.0) == 30_000_000  # never past the step's end
    assert s.position_at(0.0) == 29_000_000  # nor back before it was read


def test_a_label_with_escapes_is_plain_text() -> None:
    tl = timeline()
    step = replace(tl.steps[1], label="Run\x1b]0;pwned\x07\u202e\n")
    title = step_title(step, step.start, SR)
    assert title.startswith("Run\\x1b]0;pwned\\x07\\u202e\\n 1 of 3 · ")
    p = FakePlayer(replace(tl, name="Evil\x1b[2J" + "x" * 500))
    album = read_state(p, 0.0).album
    assert album.startswith("Evil\\x1b[2J") and len(album) <= mpris.LABEL_CHARS


def _plain(text: str) -> bool:
    """No control or bidi character, nothing that is not UTF-8 (a D-Bus string must be valid UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return is_safe(text) and not any(unicodedata.category(ch) == "Cc" for ch in text)


@settings(max_examples=300, deadline=None)
@given(
    label=st.text(st.characters(codec=None), max_size=300),
    name=st.text(st.characters(codec=None), max_size=300),
    rep=st.one_of(st.none(), st.tuples(st.integers(1, 99), st.integers(1, 99))),
    into=st.integers(-10 * SR, 40 * SR),
)
def test_title_and_album_are_always_plain_text(label: str, name: str, rep: Any, into: int) -> None:
    tl = timeline()
    step = replace(tl.steps[1], label=label, rep=rep)
    title = step_title(step, step.start + into, SR)
    assert _plain(title), repr(title)
    assert title.endswith(" left") and len(title) < mpris.LABEL_CHARS + 30
    album = read_state(FakePlayer(replace(tl, name=name)), 0.0).album
    assert _plain(album), repr(album)


def test_bus_address_falls_back_to_the_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert mpris.bus_address() is None
    (tmp_path / "bus").write_text("")  # a file, not a socket
    assert mpris.bus_address() is None
    (tmp_path / "bus").unlink()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "bus"))
        assert mpris.bus_address() == f"unix:path={tmp_path / 'bus'}"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/x")
    assert mpris.bus_address() == "unix:path=/x"
    assert mpris.bus_address("unix:path=/given") == "unix:path=/given"


# -- on a real bus -----------------------------------------------------------------------------------------


@pytest.fixture
def bus() -> Iterator[PrivateBus]:
    if not available():
        pytest.skip("dbus-daemon not installed (Debian: dbus)")
    with PrivateBus() as b:
        yield b


class Control:
    """A started MprisControl with a fake player, what it handed over, and the test's tick."""

    def __init__(self, bus: PrivateBus, player: FakePlayer | None = None) -> None:
        self.player = player or FakePlayer(pos=45 * SR)
        self.commands: list[str] = []
        self.volumes: list[float] = []

        def set_volume(level: float) -> None:
            self.volumes.append(level)
            self.player.volume = min(level, 1.0)

        self.control = MprisControl(self.commands.append, set_volume, bus_address=bus.address)
        self.control.on_start(self.player)

    def tick(self) -> None:
        """A poll of the player's main loop, past the snapshot interval."""
        self.control._due = True
        self.control.on_tick(self.player)
        time.sleep(0.05)  # the bus thread takes it

    def end(self) -> None:
        self.control.on_end(self.player)


@pytest.fixture
def control(bus: PrivateBus) -> Iterator[Control]:
    c = Control(bus)
    bus.wait_for_name(MPRIS_NAME)
    eventually(lambda: c.control.active, what="active")
    yield c
    c.end()


def value(reply: str) -> str:
    """The printed value of a dbus-send Properties.Get reply (one line)."""
    return reply.split("variant", 1)[1].strip()


def test_the_buttons_become_commands(bus: PrivateBus, control: Control) -> None:
    assert control.control.bus_name == MPRIS_NAME
    for member, expected in [
        ("Next", "skip"),
        ("Previous", "previous"),
        ("PlayPause", "pause"),
        ("Pause", "pause-on"),
        ("Play", "resume"),
        ("Stop", "quit"),
    ]:
        bus.send(f"{PLAYER}.{member}")
        assert control.commands[-1] == expected, (member, control.commands)
    bus.send("org.mpris.MediaPlayer2.Quit")
    bus.send("org.mpris.MediaPlayer2.Raise")
    bus.send(f"{PLAYER}.Seek", "int64:5000000")
    bus.send(f"{PLAYER}.SetPosition", "objpath:/org/cadencecoach/step/1", "int64:0")
    bus.send(f"{PLAYER}.OpenUri", "string:file:///x.mp3")
    assert control.commands == ["skip", "previous", "pause", "pause-on", "resume", "quit", "quit"]


def test_properties_answer_like_a_player(bus: PrivateBus, control: Control) -> None:
    assert value(bus.get("PlaybackStatus")) == 'string "Playing"'
    meta = bus.get("Metadata")
    assert 'object path "/org/cadencecoach/step/1"' in meta
    assert 'string "Run 1 of 3 · 0:25 left"' in meta
    assert 'string "Ladder"' in meta and 'string "cadencecoach"' in meta
    assert "int64 30000000" in meta
    assert value(bus.get("Volume")) == "double 1"
    pos = int(value(bus.get("Position")).split()[1])
    assert 5_000_000 <= pos < 7_000_000  # 5 s into the step when read, carried on since
    for prop, expected in [
        ("CanGoNext", "boolean true"),
        ("CanGoPrevious", "boolean true"),
        ("CanPlay", "boolean true"),
        ("CanPause", "boolean true"),
        ("CanSeek", "boolean false"),
        ("CanControl", "boolean true"),
        ("Rate", "double 1"),
        ("MinimumRate", "double 1"),
        ("MaximumRate", "double 1"),
    ]:
        assert value(bus.get(prop)) == expected, prop
    root = "org.mpris.MediaPlayer2"
    assert value(bus.get("Identity", root)) == 'string "cadencecoach"'
    assert value(bus.get("DesktopEntry", root)) == 'string "cadencecoach"'
    assert value(bus.get("CanQuit", root)) == "boolean true"
    assert value(bus.get("CanRaise", root)) == "boolean false"
    assert value(bus.get("HasTrackList", root)) == "boolean false"
    assert "array [" in bus.get("SupportedUriSchemes", root)
    for iface in (root, PLAYER):  # what a media applet asks first
        out = bus.send("org.freedesktop.DBus.Properties.GetAll", f"string:{iface}")
        assert "Error" not in out
    assert "LoopStatus" not in bus.send("org.freedesktop.DBus.Introspectable.Introspect")

    control.player.engine.want_pause = True
    control.control.on_tick(control.player)  # a pause is read at once, not at the next interval
    eventually(lambda: value(bus.get("PlaybackStatus")) == 'string "Paused"', 2.0, "Paused")


def test_volume_is_set_through_the_player(bus: PrivateBus, control: Control) -> None:
    def set_volume(v: str) -> None:
        bus.send("org.freedesktop.DBus.Properties.Set", f"string:{PLAYER}", "string:Volume", f"variant:double:{v}")

    set_volume("0.5")
    set_volume("-1")  # the spec: a negative volume is 0
    set_volume("nan")  # nonsense: ignored
    assert control.volumes == [0.5, 0.0]
    control.tick()
    eventually(lambda: value(bus.get("Volume")) == "double 0", 2.0, "Volume 0")
    bus.send("org.freedesktop.DBus.Properties.Set", f"string:{PLAYER}", "string:Rate", "variant:double:2")
    assert control.commands == [] and value(bus.get("Rate")) == "double 1"
    bus.send("org.freedesktop.DBus.Properties.Set", f"string:{PLAYER}", "string:Rate", "variant:double:0")
    assert control.commands == ["pause-on"]  # the spec: rate 0 is Pause


class Watcher:
    """A dbus_fast client that records the signals from /org/mpris/MediaPlayer2 (its own thread and loop)."""

    def __init__(self, address: str) -> None:
        self.signals: list[tuple[str, list[Any]]] = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(address), self._loop).result(10)

    async def _start(self, address: str) -> None:
        from dbus_fast import Message, MessageType, unpack_variants
        from dbus_fast.aio import MessageBus

        self.bus = await MessageBus(bus_address=address).connect()

        def on_message(msg: Message) -> None:
            if msg.message_type == MessageType.SIGNAL and msg.path == mpris.OBJECT_PATH:
                self.signals.append((msg.member, unpack_variants(msg.body)))

        self.bus.add_message_handler(on_message)
        await self.bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[f"type='signal',path='{mpris.OBJECT_PATH}'"],
            )
        )

    def changed(self) -> list[dict[str, Any]]:
        return [body[1] for member, body in list(self.signals) if member == "PropertiesChanged" and body[0] == PLAYER]

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self.bus.disconnect)
        time.sleep(0.05)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2)
        self._loop.close()


def test_changes_are_announced(bus: PrivateBus, control: Control) -> None:
    w = Watcher(bus.address)
    try:
        p = control.player
        control.tick()
        control.tick()
        assert w.changed() == []  # nothing changed: nothing said
        p.pos += 1 * SR  # a second on: the title's time left
        control.tick()
        eventually(lambda: w.changed(), 2.0, "PropertiesChanged")
        (first,) = w.changed()
        assert set(first) == {"Metadata"}
        assert first["Metadata"]["xesam:title"] == "Run 1 of 3 · 0:24 left"
        p.pos += 200  # within the same second: no news
        control.tick()
        p.engine.want_pause = True
        control.tick()
        p.volume = 0.5
        control.tick()
        p.engine.want_pause = False
        p.pos = p.timeline.steps[2].start  # the next step
        control.tick()
        eventually(lambda: len(w.changed()) == 4, 2.0, "four changes")
        assert w.changed()[1:3] == [{"PlaybackStatus": "Paused"}, {"Volume": 0.5}]
        last = w.changed()[3]
        assert last["PlaybackStatus"] == "Playing"
        assert last["Metadata"]["mpris:trackid"] == "/org/cadencecoach/step/2"
        assert last["Metadata"]["mpris:length"] == 20_000_000
        assert last["Metadata"]["xesam:title"] == "Recover 1 of 3 · 0:20 left"
        p.pos += 5 * SR  # 5 s on in a moment: a jump (the fake's clock does not run)
        control.tick()
        p.pos -= 5 * SR  # back to the step's start (Previous restarted it)
        control.tick()
        eventually(lambda: len([m for m, _ in w.signals if m == "Seeked"]) == 2, 2.0, "Seeked")
        assert [b for m, b in w.signals if m == "Seeked"] == [[5_000_000], [0]]
        control.end()  # the run ends: Stopped, and the name is let go
        eventually(lambda: w.changed()[-1] == {"PlaybackStatus": "Stopped"}, 2.0, "Stopped")
        eventually(lambda: MPRIS_NAME not in bus.names(), 2.0, "name released")
        assert not control.control.active
    finally:
        w.close()


def test_the_player_is_read_at_most_every_quarter_second(control: Control) -> None:
    p = control.player
    reads = p.reads
    start = time.monotonic()
    while time.monotonic() - start < 0.6:
        control.control.on_tick(p)
        time.sleep(0.005)
    assert p.reads - reads <= 3  # 0.6 s / 0.25 s


def test_the_metronome_has_no_next_or_previous(bus: PrivateBus) -> None:
    c = Control(bus, FakePlayer(click_timeline(180, SR, hours=1), mode="click", pos=2 * SR))
    try:
        bus.wait_for_name(MPRIS_NAME)
        assert value(bus.get("CanGoNext")) == "boolean false"
        assert value(bus.get("CanGoPrevious")) == "boolean false"
        assert 'string "Metronome 180 spm"' in bus.get("Metadata")
        bus.send(f"{PLAYER}.Next")
        bus.send(f"{PLAYER}.Previous")
        bus.send(f"{PLAYER}.PlayPause")
        assert c.commands == ["pause"]
    finally:
        c.end()


def test_a_second_instance_takes_its_own_name(bus: PrivateBus) -> None:
    first = Control(bus)
    second = None
    try:
        bus.wait_for_name(MPRIS_NAME)
        second = Control(bus)
        instance = f"{MPRIS_NAME}.instance{os.getpid()}"
        bus.wait_for_name(instance)
        eventually(lambda: second.control.active, what="second active")
        assert second.control.bus_name == instance
        bus.send(f"{PLAYER}.Next", dest=instance)
        assert second.commands == ["skip"] and first.commands == []
        first.end()
        eventually(lambda: MPRIS_NAME not in bus.names(), 2.0, "first name released")
        assert instance in bus.names()
    finally:
        first.end()
        if second is not None:
            second.end()


def test_commands_that_fail_in_the_player_say_nothing(bus: PrivateBus, capfd: pytest.CaptureFixture[str]) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("player gone")

    p = FakePlayer(pos=45 * SR)
    c = MprisControl(broken, broken, bus_address=bus.address)
    c.on_start(p)
    try:
        bus.wait_for_name(MPRIS_NAME)
        bus.send(f"{PLAYER}.Next")  # answered all the same
        bus.send("org.freedesktop.DBus.Properties.Set", f"string:{PLAYER}", "string:Volume", "variant:double:0.5")
    finally:
        c.on_end(p)
    assert capfd.readouterr() == ("", "")


def test_the_bus_going_away_mid_run_says_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    if not available():
        pytest.skip("dbus-daemon not installed (Debian: dbus)")
    b = PrivateBus().start()
    c = Control(b)
    try:
        b.wait_for_name(MPRIS_NAME)
        eventually(lambda: c.control.active, what="active")
    finally:
        b.stop()
    eventually(lambda: not c.control.active, 2.0, "inactive once the bus is gone")
    for _ in range(3):
        c.tick()
    start = time.monotonic()
    c.end()
    assert time.monotonic() - start < 0.5
    assert capfd.readouterr() == ("", "")


# -- no bus -------------------------------------------------------------------------------------------------
def _inactive(control: MprisControl, player: FakePlayer, within: float = 0.5) -> None:
    """The control stays inactive (for `within` s, or until its thread gave up); ticks and on_end are harmless."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        control.on_tick(player)
        assert not control.active and control.bus_name is None
        if control._thread is not None and not control._thread.is_alive():
            break
        time.sleep(0.02)
    control.on_tick(player)
    start = time.monotonic()
    control.on_end(player)
    assert time.monotonic() - start < mpris.JOIN_S + 0.2


def test_no_bus_address_no_controls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    p = FakePlayer()
    c = MprisControl(lambda _: None, lambda _: None)
    c.on_start(p)
    assert c._thread is None  # nothing to connect to: not even a thread
    _inactive(c, p, 0.1)
    assert capfd.readouterr() == ("", "")


def _serve(path: Path, greet: bytes | None) -> socket.socket:
    """A Unix socket at `path` that accepts and then says `greet` and hangs up (None: says nothing, ever)."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(4)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if greet is None:
                held.append(conn)  # never answers: the handshake hangs
            else:
                conn.sendall(greet)
                conn.close()

    threading.Thread(target=accept, daemon=True).start()
    return srv


@pytest.mark.parametrize(
    "how", ["dead address", "bad address", "refuses", "never answers", "no dbus_fast"], ids=lambda h: h
)
def test_a_bus_that_is_not_there_says_nothing(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    address = f"unix:path={tmp_path / 'bus'}"
    srv = None
    if how == "bad address":
        address = "carrier-pigeon:coop=/roof"
    elif how == "refuses":
        srv = _serve(tmp_path / "bus", b"REJECTED\r\n")
    elif how == "never answers":
        srv = _serve(tmp_path / "bus", None)
    elif how == "no dbus_fast":
        if not available():
            pytest.skip("dbus-daemon not installed (Debian: dbus)")
        b = PrivateBus().start()
        address = b.address
        monkeypatch.setitem(sys.modules, "dbus_fast", None)  # import dbus_fast: ImportError
    try:
        p = FakePlayer()
        c = MprisControl(lambda _: None, lambda _: None, bus_address=address)
        start = time.monotonic()
        c.on_start(p)
        assert time.monotonic() - start < 0.05  # never delays the run
        _inactive(c, p)
        assert c._thread is not None and not c._thread.is_alive()
    finally:
        if srv is not None:
            srv.close()
        if how == "no dbus_fast":
            b.stop()
    assert capfd.readouterr() == ("", "")
