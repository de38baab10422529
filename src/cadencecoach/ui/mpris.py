"""Media controls for a live run over MPRIS 2.2 (D-Bus): Bluetooth headset buttons, keyboard media keys and the
desktop's media applet pause, resume, skip and stop ``cadencecoach run`` and ``click``.

:class:`MprisControl` is an observer of the player (``sinks.live.player.PlayerObserver``: ``on_start``,
``on_step``, ``on_tick``, ``on_end``); it reads the player through :class:`MprisPlayerView` (this module imports
nothing of the player) and hands commands back through two callables it is given.

Threads
    A daemon thread runs its own asyncio loop with a ``dbus_fast`` connection to the session bus (the
    ``bus_address`` given, else ``DBUS_SESSION_BUS_ADDRESS``, else ``$XDG_RUNTIME_DIR/bus`` where that socket
    exists, as libdbus does). It owns ``org.mpris.MediaPlayer2.cadencecoach`` (another instance has it:
    ``org.mpris.MediaPlayer2.cadencecoach.instance<pid>``) and exports ``/org/mpris/MediaPlayer2`` with the
    ``org.mpris.MediaPlayer2`` and ``org.mpris.MediaPlayer2.Player`` interfaces.

    The player is read only in its main thread (``on_tick``): at most every :data:`SNAPSHOT_S` (and at once when
    the step, the pause or the volume changed) it builds a frozen :class:`MprisState` and hands it to the bus
    thread with ``loop.call_soon_threadsafe``. The bus thread answers every ``Get`` from the latest one and emits
    ``PropertiesChanged`` for what changed (``PlaybackStatus``, ``Metadata``, ``Volume``; the title carries
    the whole seconds left, so ``Metadata`` changes about once a second). Commands go the other way through
    ``command(name)`` (thread-safe: the player's ``post_name``): ``pause`` (toggle), ``pause-on``, ``resume``,
    ``skip``, ``previous``, ``quit``; and ``set_volume(level)`` for a write of ``Volume``.

Faults
    No bus, no ``dbus_fast``, a bus that refuses or goes away: nothing is printed and nothing raised, the run
    goes on without media controls (:attr:`MprisControl.active` stays or turns false). ``on_start`` only starts
    the thread; ``on_end`` stops it and waits at most :data:`JOIN_S`.

Labels and the workout's name came from a file: the title and album are plain text
(:func:`plain_text`: control characters shown escaped, cut to a length, valid UTF-8).

Examples
--------
Wired into the player like the display (``cli.play``)::

    player.observers.append(MprisControl(player.post_name, player.post_volume))
"""

# No ``from __future__ import annotations`` here: dbus_fast reads the D-Bus signatures from the annotations of
# the interface methods, which are defined in a function (dbus_fast is imported lazily) and must be objects.

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from cadencecoach.core.edits import cadence_now
from cadencecoach.core.timeline import TimedStep, Timeline
from cadencecoach.terminal import bounded_text

if TYPE_CHECKING:  # asyncio itself is imported in the bus thread: ~60 ms the run's start need not wait for
    import asyncio

BUS_NAME = "org.mpris.MediaPlayer2.cadencecoach"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
ROOT_INTERFACE = "org.mpris.MediaPlayer2"
PLAYER_INTERFACE = "org.mpris.MediaPlayer2.Player"
TRACK_PREFIX = "/org/cadencecoach/step/"
LEAD_IN_TRACK = "/org/cadencecoach/lead_in"
FINISHED_TRACK = "/org/cadencecoach/finished"
IDENTITY = "cadencecoach"
DESKTOP_ENTRY = "cadencecoach"
SNAPSHOT_S = 0.25  # the player is read for the bus at most this often (besides step, pause, volume changes)
CONNECT_S = 3.0  # connecting and owning the name may take this long, then the control gives up
JOIN_S = 1.0  # on_end waits this long for the bus thread
SEEKED_US = 1_000_000  # a jump of the position this large within a step is announced with Seeked
LABEL_CHARS = 120  # the step's label and the workout's name are cut to this many characters

COMMANDS = ("pause", "pause-on", "resume", "skip", "previous", "quit")
"""The names ``command`` gets: ``pause`` toggles; ``pause-on`` pauses (nothing if paused); ``resume``;
``skip`` ends the step now (Next); ``previous`` restarts the step or goes back one (the player decides);
``quit`` stops (Stop, Quit)."""


class _Config(Protocol):
    @property
    def mode(self) -> str: ...  # "run" or "click"


class _Engine(Protocol):
    @property
    def want_pause(self) -> bool: ...


class MprisPlayerView(Protocol):
    """What the media controls read of ``sinks.live.player.LivePlayer`` (main thread only)."""

    @property
    def timeline(self) -> Timeline: ...

    @property
    def config(self) -> _Config: ...

    @property
    def engine(self) -> _Engine: ...

    @property
    def volume(self) -> float: ...  # 1.0: full

    def position(self) -> int: ...  # the timeline sample being heard (negative in the lead-in)

    def heard_step(self) -> TimedStep | None: ...


@dataclass(frozen=True)
class MprisState:
    """What the bus shows, read from the player in its main thread; the bus thread only reads it.

    ``position_us`` is the position into the track when the player was read (``taken_at``, ``time.monotonic``);
    :meth:`position_at` carries it on while playing.
    """

    status: str = "Stopped"  # PlaybackStatus: "Playing", "Paused", "Stopped"
    run_mode: bool = True  # CanGoNext / CanGoPrevious (the metronome has no steps to go to)
    track: str = FINISHED_TRACK  # mpris:trackid
    title: str = ""
    album: str = ""
    length_us: int | None = None  # mpris:length (the step's length; none in the lead-in)
    position_us: int = 0
    taken_at: float = 0.0
    volume: float = 1.0

    @property
    def metadata_key(self) -> tuple[str, str, str, int | None]:
        """What ``Metadata`` is made of: it changed when this did."""
        return (self.track, self.title, self.album, self.length_us)

    def position_at(self, now: float) -> int:
        """The position into the track at `now` (monotonic seconds): carried on while playing, within the track.

        >>> MprisState(status="Playing", position_us=1_000_000, taken_at=10.0, length_us=5_000_000).position_at(10.5)
        1500000
        >>> MprisState(status="Paused", position_us=1_000_000, taken_at=10.0).position_at(99.0)
        1000000
        """
        pos = self.position_us
        if self.status == "Playing":
            pos += max(round((now - self.taken_at) * 1_000_000), 0)
        if self.length_us is not None:
            pos = min(pos, self.length_us)
        return max(pos, 0)


def plain_text(text: str) -> str:
    """`text` from a file as a D-Bus string for a media applet: control characters shown escaped, cut to
    :data:`LABEL_CHARS` (:func:`cadencecoach.terminal.bounded_text`), valid UTF-8 (a lone surrogate is ``?``).

    >>> plain_text("Hill\\x07 sprint\\ud800")
    'Hill\\\\x07 sprint?'
    """
    return bounded_text(text, LABEL_CHARS).encode("utf-8", "replace").decode("utf-8")


def step_title(
    step: TimedStep | None, pos: int, sample_rate: int, *, mode: str = "run", cadence: float | None = None
) -> str:
    """The track title for the step heard at `pos`: the step, its repetition and the time left in it.

    Parameters
    ----------
    step : TimedStep or None
        The step being heard (None in the lead-in and after the end).
    pos : int
        The timeline sample being heard (negative in the lead-in).
    sample_rate : int
        Of the timeline.
    mode : str
        ``"run"`` or ``"click"`` (the metronome: its tempo, no steps).
    cadence : float, optional
        The tempo heard (spm), for the metronome.

    Returns
    -------
    str
        Plain text: no control characters whatever the label (see :func:`plain_text`).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> step_title(NS(label="Run", rep=(3, 10), end=1000 * 200), 1000 * 130, 1000)
    'Run 3 of 10 · 1:10 left'
    >>> step_title(None, -4600, 1000), step_title(None, 0, 1000, mode="click", cadence=180.0)
    ('Starting in 5 s', 'Metronome 180 spm')
    >>> step_title(NS(label="Tempo\\x1b[2J", rep=None, end=60_000), 0, 1000)
    'Tempo\\\\x1b[2J · 1:00 left'
    """
    if mode == "click":
        return f"Metronome {cadence:.0f} spm" if cadence is not None else "Metronome"
    if step is None:
        if pos < 0:
            return f"Starting in {-pos / sample_rate:.0f} s"
        return "Finished"
    from cadencecoach.workout.units import format_clock

    label = step.label + (f" {step.rep[0]} of {step.rep[1]}" if step.rep else "")
    left = round(max(step.end - pos, 0) / sample_rate)
    return f"{plain_text(label)} · {format_clock(left)} left"


def read_state(player: MprisPlayerView, now: float) -> MprisState:
    """The player's state for the bus, read now (main thread); `now` is ``time.monotonic()``."""
    tl = player.timeline
    sr = tl.sample_rate
    pos = player.position()
    mode = player.config.mode
    step = player.heard_step()
    cadence = cadence_now(tl, pos) if mode == "click" else None
    if step is not None:
        track = f"{TRACK_PREFIX}{step.index}"
        length_us: int | None = (step.end - step.start) * 1_000_000 // sr
        position_us = max(pos - step.start, 0) * 1_000_000 // sr
    else:
        track = LEAD_IN_TRACK if pos < 0 else FINISHED_TRACK
        length_us, position_us = None, 0
    volume = float(player.volume)
    return MprisState(
        status="Paused" if player.engine.want_pause else "Playing",
        run_mode=mode != "click",
        track=track,
        title=step_title(step, pos, sr, mode=mode, cadence=cadence),
        album=plain_text(tl.name),
        length_us=length_us,
        position_us=position_us,
        taken_at=now,
        volume=volume if math.isfinite(volume) else 1.0,
    )


def bus_address(given: str | None = None) -> str | None:
    """Where the session bus is: `given`, else ``DBUS_SESSION_BUS_ADDRESS``, else ``$XDG_RUNTIME_DIR/bus`` if that
    socket exists (libdbus's default), else None."""
    if given:
        return given
    env = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if env:
        return env
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        path = os.path.join(runtime, "bus")
        with contextlib.suppress(OSError):
            import stat

            if stat.S_ISSOCK(os.stat(path).st_mode):
                return f"unix:path={path}"
    return None


class MprisControl:
    """The run's media controls on the session bus (see the module docstring): a player observer.

    Parameters
    ----------
    command : callable
        ``command(name)`` hands one of :data:`COMMANDS` to the player's main loop; called from the bus thread
        (it must be thread-safe: ``LivePlayer.post_name``).
    set_volume : callable
        ``set_volume(level)``: a client wrote ``Volume`` (>= 0.0, 1.0 full; the player clamps); bus thread.
    bus_address : str, optional
        The D-Bus address to connect to (default: the session bus, see :func:`bus_address`).

    Attributes
    ----------
    active : bool
        Connected and owning :attr:`bus_name` (set by the bus thread).
    bus_name : str or None
        The well-known name owned, once :attr:`active`.
    """

    def __init__(
        self,
        command: Callable[[str], None],
        set_volume: Callable[[float], None],
        *,
        bus_address: str | None = None,
    ) -> None:
        self._command = command
        self._set_volume = set_volume
        self._address = bus_address
        self.active = False
        self.bus_name: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # published by the bus thread once it exists
        self._stop_requested = threading.Event()
        self._stop: asyncio.Event | None = None  # the bus thread's
        self._sent: MprisState | None = None  # main thread: the last state handed over
        self._due = True  # main thread: read the player at the next tick whatever the time
        self._gone = False  # the bus thread has ended (no bus, or it went away): nothing more to read for it
        self._state = MprisState()  # bus thread: what the bus shows
        self._player_iface: Any = None  # bus thread: the exported org.mpris.MediaPlayer2.Player

    # -- the observer (main thread) ------------------------------------------------------------
    def on_start(self, player: MprisPlayerView) -> None:
        """Start the bus thread (returns at once) with the player's state as it is now."""
        if self._thread is not None and self._thread.is_alive():
            return
        address = bus_address(self._address)
        if address is None:
            return
        self._stop_requested.clear()
        self._gone = False
        self.bus_name = None
        self._state = read_state(player, time.monotonic())
        self._sent = self._state
        self._thread = threading.Thread(target=self._run, args=(address,), name="cadencecoach-mpris", daemon=True)
        self._thread.start()

    def on_step(self, player: MprisPlayerView, step: TimedStep | None) -> None:
        """The step heard changed: the next tick reads the player at once."""
        self._due = True

    def on_tick(self, player: MprisPlayerView) -> None:
        """Read the player for the bus (at most every :data:`SNAPSHOT_S`, sooner after a change)."""
        sent = self._sent
        if sent is None or self._gone:
            return
        now = time.monotonic()
        if not (
            self._due
            or now - sent.taken_at >= SNAPSHOT_S
            or player.engine.want_pause != (sent.status == "Paused")
            or player.volume != sent.volume
        ):
            return
        self._due = False
        state = read_state(player, now)
        self._sent = state
        self._post(self._apply, state)

    def on_end(self, player: MprisPlayerView) -> None:
        """Stop: ``PlaybackStatus`` Stopped, release the name, close the connection; waits at most :data:`JOIN_S`."""
        thread = self._thread
        if thread is None:
            return
        self._stop_requested.set()
        self._post(self._request_stop)
        thread.join(JOIN_S)
        self._sent = None

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` in the bus thread's loop (nothing once it is gone)."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(fn, *args)

    # -- the bus thread --------------------------------------------------------------------------
    def _run(self, address: str) -> None:
        try:
            import asyncio

            _quiet_logging()
            loop = asyncio.new_event_loop()
        except Exception:
            return
        loop.set_exception_handler(lambda _loop, _context: None)  # nothing of this loop reaches stderr
        try:
            self._stop = asyncio.Event()
            self._loop = loop
            if not self._stop_requested.is_set():
                loop.run_until_complete(self._serve(address))
        except BaseException:
            pass
        finally:
            self.active = False
            self._gone = True
            self._loop = None
            with contextlib.suppress(BaseException):
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0))
                loop.run_until_complete(loop.shutdown_asyncgens())
            with contextlib.suppress(BaseException):
                loop.close()

    def _request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def _serve(self, address: str) -> None:
        import asyncio

        assert self._stop is not None
        stopping = asyncio.ensure_future(self._stop.wait())
        connecting = asyncio.ensure_future(self._connect(address))
        done, _ = await asyncio.wait({stopping, connecting}, timeout=CONNECT_S, return_when=asyncio.FIRST_COMPLETED)
        if connecting not in done or connecting.exception() is not None:
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
            stopping.cancel()
            return
        bus = connecting.result()
        lost = asyncio.ensure_future(bus.wait_for_disconnect())
        self.active = True
        await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
        self.active = False
        if not lost.done():
            with contextlib.suppress(Exception):
                self._player_iface.emit_properties_changed({"PlaybackStatus": "Stopped"})
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(bus.release_name(self.bus_name), 0.3)
            with contextlib.suppress(Exception):
                bus.disconnect()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(lost), 0.3)
        for fut in (stopping, lost):
            fut.cancel()
            with contextlib.suppress(BaseException):
                await fut

    async def _connect(self, address: str) -> Any:
        """Connect, export the interfaces, own the name; the bus (raises if any of it fails)."""
        from dbus_fast import NameFlag, RequestNameReply
        from dbus_fast.aio import MessageBus

        bus = MessageBus(bus_address=address)
        try:
            connected = await bus.connect()
            if connected is not None:  # dbus-fast 5 returns the bus; older ones connect in the constructor too
                bus = connected
            root, player = _interfaces(self)
            bus.export(OBJECT_PATH, root)
            bus.export(OBJECT_PATH, player)
            self._player_iface = player
            owned = (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER)
            name = BUS_NAME
            if await bus.request_name(name, NameFlag.DO_NOT_QUEUE) not in owned:
                name = f"{BUS_NAME}.instance{os.getpid()}"
                if await bus.request_name(name, NameFlag.DO_NOT_QUEUE) not in owned:
                    raise OSError(f"cannot own {name}")
            self.bus_name = name
            return bus
        except BaseException:
            self._player_iface = None
            with contextlib.suppress(Exception):
                bus.disconnect()
            raise

    def _apply(self, state: MprisState) -> None:
        """A new state from the main thread: keep it, emit what changed (bus thread)."""
        old, self._state = self._state, state
        iface = self._player_iface
        if iface is None or not self.active:
            return
        changed: dict[str, Any] = {}
        if state.status != old.status:
            changed["PlaybackStatus"] = state.status
        if state.metadata_key != old.metadata_key:
            changed["Metadata"] = _metadata(state)
        if state.volume != old.volume:
            changed["Volume"] = state.volume
        with contextlib.suppress(Exception):
            if changed:
                iface.emit_properties_changed(changed)
            if state.track == old.track and abs(state.position_us - old.position_at(state.taken_at)) > SEEKED_US:
                iface.Seeked(state.position_us)

    # -- what the interfaces do (bus thread) ---------------------------------------------------
    def _send(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self._command(name)

    def _volume(self, level: float) -> None:
        if math.isfinite(level):
            with contextlib.suppress(Exception):
                self._set_volume(max(level, 0.0))


def _quiet_logging() -> None:
    """dbus_fast logs what it cannot deliver; with no handler anywhere Python would print that on stderr."""
    logger = logging.getLogger("dbus_fast")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _metadata(state: MprisState) -> dict[str, Any]:
    """``Metadata`` (``a{sv}``) for `state`."""
    from dbus_fast import Variant

    meta = {
        "mpris:trackid": Variant("o", state.track),
        "xesam:title": Variant("s", state.title),
        "xesam:album": Variant("s", state.album),
        "xesam:artist": Variant("as", [IDENTITY]),
    }
    if state.length_us is not None:
        meta["mpris:length"] = Variant("x", state.length_us)
    return meta


def _interfaces(control: MprisControl) -> tuple[Any, Any]:
    """The two exported interfaces, answering from `control`'s latest state (dbus_fast imported here)."""
    from dbus_fast.annotations import (
        DBusBool,
        DBusDict,
        DBusDouble,
        DBusInt64,
        DBusObjectPath,
        DBusSignature,
        DBusStr,
    )
    from dbus_fast.constants import PropertyAccess
    from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

    read = PropertyAccess.READ
    DBusStrings = Annotated[list[str], DBusSignature("as")]

    class Root(ServiceInterface):
        def __init__(self) -> None:
            super().__init__(ROOT_INTERFACE)

        @dbus_method()
        def Raise(self) -> None:
            pass

        @dbus_method()
        def Quit(self) -> None:
            control._send("quit")

        @dbus_property(access=read)
        def CanQuit(self) -> DBusBool:
            return True

        @dbus_property(access=read)
        def CanRaise(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def HasTrackList(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def Identity(self) -> DBusStr:
            return IDENTITY

        @dbus_property(access=read)
        def DesktopEntry(self) -> DBusStr:
            return DESKTOP_ENTRY

        @dbus_property(access=read)
        def SupportedUriSchemes(self) -> DBusStrings:
            return []

        @dbus_property(access=read)
        def SupportedMimeTypes(self) -> DBusStrings:
            return []

    class Player(ServiceInterface):
        def __init__(self) -> None:
            super().__init__(PLAYER_INTERFACE)

        @dbus_method()
        def Next(self) -> None:
            if control._state.run_mode:
                control._send("skip")

        @dbus_method()
        def Previous(self) -> None:
            if control._state.run_mode:
                control._send("previous")

        @dbus_method()
        def Pause(self) -> None:
            control._send("pause-on")

        @dbus_method()
        def PlayPause(self) -> None:
            control._send("pause")

        @dbus_method()
        def Stop(self) -> None:
            control._send("quit")

        @dbus_method()
        def Play(self) -> None:
            control._send("resume")

        @dbus_method()
        def Seek(self, offset: DBusInt64) -> None:
            pass  # CanSeek is false

        @dbus_method()
        def SetPosition(self, track_id: DBusObjectPath, position: DBusInt64) -> None:
            pass

        @dbus_method()
        def OpenUri(self, uri: DBusStr) -> None:
            pass

        @dbus_signal()
        def Seeked(self, position: DBusInt64) -> DBusInt64:
            return position

        @dbus_property(access=read)
        def PlaybackStatus(self) -> DBusStr:
            return control._state.status

        @dbus_property()
        def Rate(self) -> DBusDouble:
            return 1.0

        @Rate.setter  # type: ignore[no-redef]  # mypy knows only the builtin property's setter
        def Rate(self, value: DBusDouble) -> None:
            if value == 0.0:  # the spec: as if Pause was called; any other rate is out of range, ignored
                control._send("pause-on")

        @dbus_property(access=read)
        def Metadata(self) -> DBusDict:
            return _metadata(control._state)

        @dbus_property()
        def Volume(self) -> DBusDouble:
            return control._state.volume

        @Volume.setter  # type: ignore[no-redef]
        def Volume(self, value: DBusDouble) -> None:
            control._volume(value)

        @dbus_property(access=read)
        def Position(self) -> DBusInt64:
            return control._state.position_at(time.monotonic())

        @dbus_property(access=read)
        def MinimumRate(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def MaximumRate(self) -> DBusDouble:
            return 1.0

        @dbus_property(access=read)
        def CanGoNext(self) -> DBusBool:
            return control._state.run_mode

        @dbus_property(access=read)
        def CanGoPrevious(self) -> DBusBool:
            return control._state.run_mode

        @dbus_property(access=read)
        def CanPlay(self) -> DBusBool:
            return True

        @dbus_property(access=read)
        def CanPause(self) -> DBusBool:
            return True

        @dbus_property(access=read)
        def CanSeek(self) -> DBusBool:
            return False

        @dbus_property(access=read)
        def CanControl(self) -> DBusBool:
            return True

    return Root(), Player()
