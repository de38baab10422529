"""The audio output: PortAudio through ``sounddevice``, the devices it lists, the one ``--device`` names and
the output stream the player plays into.

No PortAudio, a back-end that fails or aborts at start-up (probed in a child process before sounddevice is
imported here: :func:`probe_portaudio`), no output device or a device that refuses the stream is
:class:`AudioUnavailableError` (exit 3, naming the offline way out, :data:`RENDER_HINT`); a ``--device`` or
``--sample-rate`` that names nothing usable is :class:`UsageError` (exit 2).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from cadencecoach.errors import AudioUnavailableError, UsageError

RENDER_HINT = "to get the audio anyway, write it to a file: cadencecoach render WORKOUT -o FILE"

StreamFactory = Callable[[Callable[..., None]], Any]
"""Opens the output stream for a callback (the player calls it once, in :meth:`LivePlayer.play`)."""


@dataclass(frozen=True)
class OutputDevice:
    """One PortAudio device with output channels (see :func:`output_devices`)."""

    index: int
    name: str
    channels: int  # max output channels
    default_samplerate: float
    hostapi: str
    is_default: bool

    @property
    def stream_channels(self) -> int:
        """Channels we open: the mono block goes to every one of them (stereo at most)."""
        return max(1, min(self.channels, 2))


PROBE_TIMEOUT_S = 10.0
"""How long the probe (:func:`probe_portaudio`) may take to start PortAudio before the back-end counts as hung."""

_PROBE_CODE = "import sounddevice"  # importing it runs Pa_Initialize: every host API scans its devices


class _Probe:
    """This process's one probe of PortAudio: a child Python that imports sounddevice, so that a back-end that
    aborts (PortAudio through ALSA with no PulseAudio server and an empty ALSA configuration calls abort())
    takes the child down, not us. Started at most once per process, only before sounddevice is imported
    here; nothing is kept across runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._result: tuple[str | None] | None = None  # (None,): PortAudio starts; (reason,): it does not

    def start(self) -> None:
        with self._lock:
            if self._proc is not None or self._result is not None:
                return
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _PROBE_CODE],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    close_fds=True,
                )
            except OSError as exc:  # no child process at all: no way to look first, so do not import either
                self._result = (f"cannot start a process to check the audio back-end ({exc.strerror or exc})",)

    def result(self) -> str | None:
        self.start()
        with self._lock:
            if self._result is not None:
                return self._result[0]
            proc = self._proc
            assert proc is not None
            try:
                _, err = proc.communicate(timeout=PROBE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                self._result = (f"the audio back-end did not start within {PROBE_TIMEOUT_S:g} s",)
                return self._result[0]
            self._result = (_probe_verdict(proc.returncode, err.decode("utf-8", "replace")),)
            return self._result[0]


def _probe_verdict(returncode: int, stderr: str) -> str | None:
    """What the probe's exit says: None (PortAudio starts), or why there is no audio output."""
    if returncode == 0:
        return None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return (
            f"the audio back-end crashed while starting (PortAudio died of {name}: is a PulseAudio or PipeWire "
            "server running, is the ALSA configuration sound?)"
        )
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("ALSA lib", "  "))]
    last = lines[-1] if lines else f"exit status {returncode}"
    if last.startswith(("ModuleNotFoundError", "ImportError")):
        return f"the sounddevice package cannot be imported ({last})"
    if last.startswith("OSError"):
        return f"PortAudio is not available ({last.removeprefix('OSError: ')})"
    return f"PortAudio cannot start ({last.rpartition('PortAudioError: ')[2] or last})"


_PROBE = _Probe()


def preload_sounddevice() -> None:
    """Start the probe now and, once it says PortAudio starts, import sounddevice, in a thread: PortAudio's
    start-up (the probe's, then ours: it scans the devices in C, without the GIL) overlaps the main thread's
    imports. Errors surface in :func:`load_sounddevice`."""

    def work() -> None:
        try:
            if _PROBE.result() is None:
                import sounddevice  # noqa: F401
        except BaseException:
            return

    if "sounddevice" in sys.modules:
        return
    start_probe()
    threading.Thread(target=work, name="cadencecoach-preload", daemon=True).start()


def start_probe() -> None:
    """Start the probe of :func:`probe_portaudio` now (in the background) unless sounddevice is imported already;
    its answer is read when sounddevice is first needed."""
    if "sounddevice" not in sys.modules:
        _PROBE.start()


def probe_portaudio() -> str | None:
    """None when PortAudio starts in a child process (so importing sounddevice here is safe), else why not.
    Probed once per process, and not at all once sounddevice is imported.

    Examples
    --------
    >>> "SIGABRT" in _probe_verdict(-6, "")
    True
    >>> _probe_verdict(1, "OSError: PortAudio library not found")
    'PortAudio is not available (PortAudio library not found)'
    """
    if "sounddevice" in sys.modules:
        return None
    return _PROBE.result()


def load_sounddevice() -> Any:
    """Import sounddevice, after a probe in a child process (:func:`probe_portaudio`) says it is safe.

    Returns
    -------
    module
        ``sounddevice``.

    Raises
    ------
    AudioUnavailableError
        PortAudio is missing, fails to start or takes the probe down ("no audio output", exit 3).
    """
    reason = probe_portaudio()
    if reason is not None:
        raise AudioUnavailableError(f"no audio output: {reason}", RENDER_HINT)
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library is missing
        raise AudioUnavailableError(f"no audio output: PortAudio is not available ({exc})", RENDER_HINT) from None
    except Exception as exc:  # PortAudioError from Pa_Initialize (the back-end changed since the probe)
        raise AudioUnavailableError(f"no audio output: PortAudio cannot start ({exc})", RENDER_HINT) from None
    return sounddevice


def _default_output(sd: Any) -> int:
    try:
        return int(sd.query_devices(kind="output")["index"])
    except Exception:
        return -1


def output_devices(sd: Any) -> list[OutputDevice]:
    """Every device with output channels, in PortAudio's order.

    Parameters
    ----------
    sd : module
        ``sounddevice`` (or a stand-in with ``query_devices`` and ``query_hostapis``).

    Returns
    -------
    list of OutputDevice
        Empty when PortAudio lists nothing (or fails to).
    """
    try:
        devices = list(sd.query_devices())
        hostapis = list(sd.query_hostapis())
    except Exception:
        return []
    default = _default_output(sd)
    out = []
    for i, d in enumerate(devices):
        channels = int(d.get("max_output_channels", 0))
        if channels <= 0:
            continue
        index = int(d.get("index", i))
        api = d.get("hostapi", 0)
        api_name = hostapis[api]["name"] if isinstance(api, int) and 0 <= api < len(hostapis) else ""
        out.append(
            OutputDevice(index, str(d["name"]), channels, float(d["default_samplerate"]), api_name, index == default)
        )
    return out


def no_device_error(detail: str = "no audio output device found") -> AudioUnavailableError:
    """Exit 3 with `detail` and the offline way out (:data:`RENDER_HINT`).

    Examples
    --------
    >>> no_device_error().exit_code
    3
    """
    return AudioUnavailableError(detail, RENDER_HINT)


def select_device(sd: Any, spec: str | None) -> OutputDevice:
    """The output named by ``--device`` (an index, or a fragment of the name), else the default one.

    Parameters
    ----------
    sd : module
        ``sounddevice``.
    spec : str or None
        ``--device``: an index, the exact name, or a fragment matching one name (case-insensitive).

    Returns
    -------
    OutputDevice
        The chosen output (no `spec`: the default output, else the first).

    Raises
    ------
    AudioUnavailableError
        No output device at all (exit 3).
    UsageError
        `spec` matches no output, or several (exit 2).
    """
    devices = output_devices(sd)
    if not devices:
        raise no_device_error()
    if spec is None or not spec.strip():
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    spec = spec.strip()
    listing = ", ".join(f"{d.index}: {d.name}" for d in devices)
    if spec.lstrip("-").isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return d
        raise UsageError(f"--device {spec}: no output device with that index (outputs: {listing})")
    key = spec.casefold()
    exact = [d for d in devices if d.name.casefold() == key]
    if exact:
        return exact[0]
    matches = [d for d in devices if key in d.name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"--device {spec}: no output device matches (outputs: {listing})")
    names = ", ".join(f"{d.index}: {d.name}" for d in matches)
    raise UsageError(f"--device {spec}: several outputs match ({names}); give more of the name, or the index")


def check_settings(sd: Any, device: OutputDevice, sample_rate: int) -> None:
    """Check that `device` takes a float32 stream at `sample_rate`.

    Raises
    ------
    UsageError
        The device refuses the rate but takes its own (exit 2, naming it).
    AudioUnavailableError
        The device cannot be opened at all (exit 3).
    """
    try:
        sd.check_output_settings(
            device=device.index, channels=device.stream_channels, dtype="float32", samplerate=sample_rate
        )
    except Exception as exc:
        own = round(device.default_samplerate)
        if own != sample_rate and _settings_ok(sd, device, own):
            raise UsageError(
                f"--sample-rate {sample_rate}: {device.name} does not take it ({exc}); try {own}"
            ) from None
        raise no_device_error(f"cannot open the audio output {device.name!r} ({exc})") from None


def _settings_ok(sd: Any, device: OutputDevice, rate: int) -> bool:
    try:
        sd.check_output_settings(device=device.index, channels=device.stream_channels, dtype="float32", samplerate=rate)
    except Exception:
        return False
    return True


def stream_factory(sd: Any, device: OutputDevice, rate: int, latency: str | float, block_size: int) -> StreamOpener:
    """What opens the player's output stream: a float32 ``sd.OutputStream`` on `device` (a :class:`StreamOpener`,
    which can also open it again after a loss: :meth:`StreamOpener.reopen`).

    Parameters
    ----------
    sd : module
        ``sounddevice``.
    device : OutputDevice
        The output (its :attr:`~OutputDevice.stream_channels`).
    rate : int
        Sample rate.
    latency : str or float
        ``"low"``, ``"high"`` or seconds.
    block_size : int
        Frames per callback (0: PortAudio's choice).

    Returns
    -------
    StreamOpener
        callback -> an unstarted stream.
    """
    return StreamOpener(sd, device, rate, latency, block_size)


# ------------------------------------------------------------------------------------------------ reopening

REOPEN_REASONS = ("stopped", "stalled", "error", "underflow")
"""Why :meth:`StreamOpener.reopen` is called: the stream stopped on its own, stopped calling back, failed, or
underflows (the one reason that raises the latency and keeps PortAudio as it is)."""

ATTEMPT_S = 2.0
"""The longest one PortAudio call of a reopen may take (an open, re-initialising PortAudio): a call that hangs
is abandoned in its daemon thread."""

REOPEN_S = 4.0
"""The longest a whole :meth:`StreamOpener.reopen` takes."""

CLOSE_S = 1.0
"""The longest closing the lost stream may take before it is abandoned."""

PROBE_AGAIN_S = 1.5
"""How long the child-process check before re-initialising PortAudio may take (:func:`probe_again`)."""

MAX_LATENCY_S = 0.5
"""Underflows never raise the output latency past this (:func:`raised_latency`)."""

_PA_LOCK = threading.Lock()
"""Held by whoever is inside PortAudio for the opener: the first open (main thread) and every bounded call of a
reopen (its daemon thread, which keeps it while a call hangs, so nothing else of ours calls into PortAudio
meanwhile). Never taken by the audio callback."""

LOCK_WAIT_S = 0.25
"""How long a bounded call waits for :data:`_PA_LOCK` (normally free: held that long only by a call that hangs)."""

_EXIT_GUARDED = False


class _Stuck(Exception):
    """A bounded PortAudio call that did not return in time (abandoned), or could not start because an earlier
    one is still inside PortAudio."""


def _bounded(call: Callable[[], Any], timeout: float, what: str, discard: Callable[[Any], None] | None = None) -> Any:
    """``call()`` in a daemon thread that holds :data:`_PA_LOCK`, waited for at most `timeout` seconds.

    Its result or its exception; :class:`_Stuck` when it did not finish in time (it is abandoned: should it
    return later, `discard` gets what it returned, e.g. a stream nobody will use) or could not get the lock.
    """
    if timeout <= 0:
        raise _Stuck(f"{what}: no time left")
    state = threading.Lock()
    box: dict[str, Any] = {}
    abandoned = [False]

    def work() -> None:
        if not _PA_LOCK.acquire(timeout=min(timeout, LOCK_WAIT_S)):  # held only by a call that hangs
            with state:
                box["error"] = _Stuck(f"{what}: an earlier call into the audio back-end never returned")
            return
        try:
            with state:
                if abandoned[0]:
                    return
            try:
                value = call()
            except BaseException as exc:  # handed to the waiting thread
                with state:
                    box["error"] = exc
                return
            with state:
                late = abandoned[0]
                if not late:
                    box["value"] = value
            if late and discard is not None:
                with contextlib.suppress(BaseException):
                    discard(value)
        finally:
            _PA_LOCK.release()

    thread = threading.Thread(target=work, name=f"cadencecoach-{what.replace(' ', '-')}", daemon=True)
    thread.start()
    thread.join(timeout)
    with state:
        if "value" in box:
            return box["value"]
        if "error" in box:
            raise box["error"]
        abandoned[0] = True
    raise _Stuck(f"{what} did not return within {timeout:.1f} s")


def _guard_exit(sd: Any) -> None:
    """After a PortAudio call was abandoned: sounddevice's exit handler (which terminates PortAudio) runs at exit
    only if nothing of ours is still inside PortAudio -- else it could hang the exit."""
    global _EXIT_GUARDED
    handler = getattr(sd, "_exit_handler", None)
    if _EXIT_GUARDED or not callable(handler):
        return
    _EXIT_GUARDED = True
    atexit.unregister(handler)

    def at_exit() -> None:
        if _PA_LOCK.acquire(timeout=0.5):
            try:
                handler()
            finally:
                _PA_LOCK.release()

    atexit.register(at_exit)


def raised_latency(latency: str | float, reported: float | None) -> str | float:
    """The next output latency after underflows: ``"low"`` -> ``"high"`` -> twice what the stream reported
    (or was asked for, if more), at most :data:`MAX_LATENCY_S`.

    Examples
    --------
    >>> raised_latency("low", 0.01)
    'high'
    >>> raised_latency("high", 0.08)
    0.16
    >>> raised_latency(0.1, 0.12), raised_latency(0.3, 0.3), raised_latency(0.5, None)
    (0.24, 0.5, 0.5)
    """
    if latency == "low":
        return "high"
    asked = latency if isinstance(latency, (int, float)) else 0.0
    base = max(float(asked), float(reported or 0.0)) or 0.1
    return round(min(MAX_LATENCY_S, max(2 * base, float(asked))), 6)


def probe_again(timeout: float = PROBE_AGAIN_S) -> str | None:
    """Before PortAudio is re-initialised in this process (:meth:`StreamOpener.reopen`): does it start in a child
    process, within `timeout`? None if so, else why not. A server that went away can leave a back-end that
    aborts, or one that hangs (a stopped server accepts the connection and never answers): the child takes that,
    not us."""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", _PROBE_CODE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=True,
        )
    except OSError as exc:
        return f"cannot start a process to check the audio back-end ({exc.strerror or exc})"
    try:
        _, err = proc.communicate(timeout=max(timeout, 0.05))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return f"the audio back-end did not start within {timeout:.1f} s"
    return _probe_verdict(proc.returncode, err.decode("utf-8", "replace"))


class StreamOpener:
    """Opens the player's output stream, and opens it again when it is lost or underflows.

    ``opener(callback)`` opens an unstarted float32 ``sd.OutputStream`` on the device, as the player always did.
    :meth:`reopen` replaces a lost (or underflowing) stream: the lost one is closed, PortAudio re-initialised
    (its device list changes when a PulseAudio server restarts or a Bluetooth device reconnects), then the
    device the run began on is looked for again by name, then the default output is tried; every PortAudio
    call bounded in time (:data:`ATTEMPT_S`, the whole reopen :data:`REOPEN_S`).

    Parameters
    ----------
    sd : module
        ``sounddevice`` (or a stand-in: ``OutputStream``, ``query_devices``, ``query_hostapis``,
        ``_terminate``, ``_initialize``).
    device : OutputDevice
        The output the run begins on (``--device``, else the default).
    rate : int
        Sample rate (the timeline's: it never changes).
    latency : str or float
        ``"low"``, ``"high"`` or seconds; raised by underflows (:func:`raised_latency`).
    block_size : int
        Frames per callback (0: PortAudio's choice).
    attempt_s, reopen_s, close_s : float, optional
        The bounds (:data:`ATTEMPT_S`, :data:`REOPEN_S`, :data:`CLOSE_S`).
    probe : callable or None, optional
        ``timeout -> None or reason``, run before PortAudio is re-initialised (default :func:`probe_again`;
        None: no check).

    Attributes
    ----------
    device : OutputDevice
        The device of the stream opened last.
    latency : str or float
        The latency the next stream is opened with.
    described : str
        Where the stream opened last goes, for the summary: ``"same device"`` or ``"default output 'pulse'"``.
    reopens : int
        Streams opened by :meth:`reopen`.
    failures : list of str
        Why the last :meth:`reopen`'s attempts failed (empty after a success).

    Examples
    --------
    ::

        opener = stream_factory(sd, device, 44100, "low", 0)
        stream = opener(engine.callback)          # the player starts it
        ...                                       # lost: stream.active is False
        stream = opener.reopen(engine.callback, reason="stopped", old=stream)
        stream.start()                            # AudioUnavailableError: nothing came back (try again later)
    """

    def __init__(
        self,
        sd: Any,
        device: OutputDevice,
        rate: int,
        latency: str | float,
        block_size: int,
        *,
        attempt_s: float = ATTEMPT_S,
        reopen_s: float = REOPEN_S,
        close_s: float = CLOSE_S,
        probe: Callable[[float], str | None] | None = probe_again,
    ) -> None:
        self.sd = sd
        self.chosen = device  # what the run began on: looked for first by every reopen
        self.device = device
        self.rate = rate
        self.latency: str | float = latency
        self.block_size = block_size
        self.attempt_s = attempt_s
        self.reopen_s = reopen_s
        self.close_s = close_s
        self.probe = probe
        self.described = "same device"
        self.reopens = 0
        self.failures: list[str] = []
        self._stream: Any = None

    # -- opening ----------------------------------------------------------------------------------
    def _make(self, device: OutputDevice, callback: Callable[..., None]) -> Any:
        return self.sd.OutputStream(
            samplerate=self.rate,
            blocksize=self.block_size,
            device=device.index,
            channels=device.stream_channels,
            dtype="float32",
            latency=self.latency,
            callback=callback,
        )

    def __call__(self, callback: Callable[..., None]) -> Any:
        """An unstarted stream on the device, opened here (the first one of a run)."""
        if not _PA_LOCK.acquire(timeout=self.attempt_s):
            raise no_device_error("cannot open the audio output (the audio back-end is stuck in an earlier call)")
        try:
            stream = self._make(self.device, callback)
        finally:
            _PA_LOCK.release()
        self._stream = stream
        return stream

    def _run(self, call: Callable[[], Any], deadline: float, what: str, *, limit: float | None = None,
             discard: Callable[[Any], None] | None = None) -> Any:  # fmt: skip
        timeout = min(self.attempt_s if limit is None else limit, deadline - time.monotonic())
        try:
            return _bounded(call, timeout, what, discard)
        except _Stuck:
            _guard_exit(self.sd)
            raise

    def _close(self, old: Any, deadline: float) -> float | None:
        """Abort and close `old` (bounded); the latency it reported, if it said."""
        if old is None:
            return None

        def work() -> float | None:
            reported = None
            with contextlib.suppress(Exception):
                reported = float(old.latency)
            with contextlib.suppress(Exception):
                old.abort()
            with contextlib.suppress(Exception):
                old.close()
            return reported

        try:
            result: float | None = self._run(work, deadline, "close the lost stream", limit=self.close_s)
        except _Stuck as exc:
            self.failures.append(str(exc))
            raise
        return result

    def _open(self, device: OutputDevice, callback: Callable[..., None], deadline: float, what: str) -> Any:
        def discard(stream: Any) -> None:
            with contextlib.suppress(Exception):
                stream.close()

        try:
            return self._run(lambda: self._make(device, callback), deadline, f"open {what}", discard=discard)
        except _Stuck as exc:
            self.failures.append(str(exc))
            raise  # the call may still be inside PortAudio: nothing else is tried meanwhile
        except Exception as exc:
            self.failures.append(f"{what}: {exc}")
        return None

    def _reinitialise(self, deadline: float) -> list[OutputDevice]:
        """Terminate and initialise PortAudio again (bounded); the outputs it lists now."""
        sd = self.sd

        def work() -> list[OutputDevice]:
            if getattr(sd, "_initialized", 1) > 0:
                with contextlib.suppress(Exception):
                    sd._terminate()
            sd._initialize()
            return output_devices(sd)

        result: list[OutputDevice] = self._run(work, deadline, "re-initialise the audio back-end")
        return result

    def reopen(self, callback: Callable[..., None], *, reason: str, old: Any = None) -> Any:
        """A new unstarted stream for `callback`, after the stream was lost or underflows.

        Parameters
        ----------
        callback : callable
            The stream callback (the engine's).
        reason : str
            ``"stopped"``, ``"stalled"``, ``"error"`` (lost) or ``"underflow"``: the latency is raised one step
            (:func:`raised_latency`, kept for later reopens) and the same device opened again without
            re-initialising PortAudio (if that fails, as for a loss).
        old : stream, optional
            The stream being replaced (default: the one this opener opened last). It is aborted and closed here,
            bounded, before PortAudio is re-initialised: do not close it yourself (a close that is still running
            would race with the re-initialisation), and drop it afterwards.

        Returns
        -------
        stream
            Unstarted; :attr:`described` says where it goes, :attr:`latency` with what latency.

        Raises
        ------
        AudioUnavailableError
            Nothing opened within :data:`REOPEN_S` (:attr:`failures` says why); call again later.
        """
        if reason not in REOPEN_REASONS:
            raise ValueError(f"reason must be one of {', '.join(REOPEN_REASONS)} (got {reason!r})")
        deadline = time.monotonic() + self.reopen_s
        self.failures = []
        if old is None:
            old = self._stream
        self._stream = None
        try:
            opened = self._reopen(callback, reason, old, deadline)
        except _Stuck:  # a call that hangs (abandoned) or could not start: nothing more is tried this time
            raise self._nothing() from None
        if opened is None:
            raise self._nothing()
        stream, device, described = opened
        self._stream = stream
        self.device = device
        self.described = described
        self.reopens += 1
        self.failures = []
        return stream

    def _reopen(
        self, callback: Callable[..., None], reason: str, old: Any, deadline: float
    ) -> tuple[Any, OutputDevice, str] | None:
        reported = self._close(old, deadline)
        if reason == "underflow":
            self.latency = raised_latency(self.latency, reported)
            stream = self._open(self.device, callback, deadline, repr(self.device.name))
            if stream is not None:
                return stream, self.device, self.described
        if self.probe is not None:
            why = self.probe(min(PROBE_AGAIN_S, deadline - time.monotonic()))
            if why is not None:
                self.failures.append(why)
                return None
        try:
            outputs = self._reinitialise(deadline)
        except _Stuck as exc:
            self.failures.append(str(exc))
            raise
        except Exception as exc:
            self.failures.append(f"the audio back-end does not start again ({exc})")
            return None
        if not outputs:
            self.failures.append("no output device")
            return None
        same = _find(outputs, self.chosen)
        if same is not None:
            stream = self._open(same, callback, deadline, repr(same.name))
            if stream is not None:
                return stream, same, "same device"
        else:
            self.failures.append(f"{self.chosen.name!r} is gone")
        default = next((d for d in outputs if d.is_default), None)
        if default is not None and (same is None or default.index != same.index):
            stream = self._open(default, callback, deadline, f"the default output {default.name!r}")
            if stream is not None:
                return stream, default, f"default output {default.name!r}"
        return None

    def _nothing(self) -> AudioUnavailableError:
        detail = "; ".join(self.failures) or "nothing opened"
        return no_device_error(f"no audio output came back ({detail})")


def _find(outputs: list[OutputDevice], device: OutputDevice) -> OutputDevice | None:
    """`device` in a new device list: by name, on the same host API if it has one of that name."""
    named = [d for d in outputs if d.name == device.name]
    for d in named:
        if d.hostapi == device.hostapi:
            return d
    return named[0] if named else None


def print_devices(out: TextIO | None = None) -> None:
    """``cadencecoach devices``: index, name, channels, default rate, default marker.

    Parameters
    ----------
    out : TextIO, optional
        Where the table goes (default: stdout).

    Raises
    ------
    AudioUnavailableError
        No PortAudio or no output device (exit 3).
    """
    from rich.table import Table

    from cadencecoach.terminal import console as make_console
    from cadencecoach.terminal import markup_safe

    sd = load_sounddevice()
    devices = output_devices(sd)
    if not devices:
        raise no_device_error()
    console = make_console(file=out)
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, justify in (("", "left"), ("index", "right"), ("name", "left"), ("channels", "right"),
                         ("default rate", "right"), ("host API", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d in devices:
        table.add_row(
            "*" if d.is_default else "",
            str(d.index),
            markup_safe(d.name),
            str(d.channels),
            f"{d.default_samplerate:g} Hz",
            markup_safe(d.hostapi),
        )
    console.print(table)
    console.print("[dim]* default output; choose one with --device NAME-FRAGMENT or --device INDEX[/]")


# ------------------------------------------------------------------------------------------------ Bluetooth

PACTL_TIMEOUT_S = 1.5
"""The longest one ``pactl`` call of :func:`is_bluetooth` may take."""

SERVER_DEVICES = frozenset({"pulse", "default", "pipewire"})
"""PortAudio's ALSA devices that go to the sound server (ALSA's ``pulse``/``pipewire`` plugins): their sink is
``$PULSE_SINK`` or the server's default sink."""

_BLUEZ_NAME = re.compile(r"^bluez_(sink|output)\.", re.IGNORECASE)


def is_bluetooth(device: OutputDevice, env: Mapping[str, str] = os.environ) -> bool | None:
    """Whether `device` plays on a Bluetooth sink; None when that cannot be told.

    For PortAudio's ``pulse``/``default``/``pipewire`` ALSA devices the sink is ``$PULSE_SINK`` (if the server
    has it) or the server's default sink (``pactl get-default-sink``, else ``pactl info``); it is Bluetooth when
    ``pactl list sinks`` gives it ``device.bus = "bluetooth"`` or a BlueZ API, or its name is a BlueZ one
    (``bluez_sink.*``, ``bluez_output.*``). ALSA's ``bluealsa`` device is Bluetooth too.

    Parameters
    ----------
    device : OutputDevice
        The output the stream goes to.
    env : Mapping of str to str, optional
        The environment (``PATH`` to find ``pactl``, ``PULSE_SERVER``, ``PULSE_SINK``).

    Returns
    -------
    bool or None
        None: not a sound-server device, no ``pactl``, no server, or it did not answer within
        :data:`PACTL_TIMEOUT_S`. Never raises, never prints.

    Examples
    --------
    >>> is_bluetooth(OutputDevice(3, "bluealsa", 2, 48000.0, "ALSA", False))
    True
    >>> is_bluetooth(OutputDevice(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)", 2, 48000.0, "ALSA", False)) is None
    True
    """
    try:
        return _is_bluetooth(device, env)
    except Exception:
        return None


def _is_bluetooth(device: OutputDevice, env: Mapping[str, str]) -> bool | None:
    name = device.name.strip().casefold()
    if name == "bluealsa" or name.startswith("bluealsa"):
        return True
    if name not in SERVER_DEVICES and "pulse" not in device.hostapi.casefold():
        return None
    pactl = shutil.which("pactl", path=env.get("PATH", os.defpath))
    if pactl is None:
        return None
    run_env = {**env, "LC_ALL": "C", "LANG": "C", "LANGUAGE": ""}
    listing = _pactl(pactl, ["list", "sinks"], run_env)
    if listing is None:
        return None
    sinks = parse_sinks(listing)
    if "pulse" in device.hostapi.casefold() and name not in SERVER_DEVICES:  # PortAudio's own PulseAudio API
        sink = next((s for s in sinks.values() if device.name in (s.get("", ""), s.get("device.description"))), None)
        return None if sink is None else _bluez(sink)
    wanted = env.get("PULSE_SINK", "").strip()
    if not wanted or wanted not in sinks:
        wanted = _default_sink(pactl, run_env) or ""
    if wanted in sinks:
        return _bluez(sinks[wanted])
    if _BLUEZ_NAME.match(wanted):
        return True
    return None


def _bluez(props: Mapping[str, str]) -> bool:
    return (
        props.get("device.bus", "").casefold() == "bluetooth"
        or props.get("device.api", "").casefold().startswith("bluez")
        or bool(_BLUEZ_NAME.match(props.get("", "")))
    )


def _pactl(pactl: str, args: list[str], env: Mapping[str, str]) -> str | None:
    """``pactl ARGS``'s output, or None (not 0, no answer within :data:`PACTL_TIMEOUT_S`, cannot run)."""
    try:
        proc = subprocess.run(
            [pactl, *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PACTL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def _default_sink(pactl: str, env: Mapping[str, str]) -> str | None:
    out = _pactl(pactl, ["get-default-sink"], env)
    if out is not None and out.strip() and "\n" not in out.strip():
        return out.strip()
    out = _pactl(pactl, ["info"], env)
    if out is None:
        return None
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Default Sink":
            return value.strip() or None
    return None


def parse_sinks(text: str) -> dict[str, dict[str, str]]:
    """``pactl list sinks`` (C locale) -> {sink name: its properties}; ``""`` holds the name itself,
    ``"device.description"`` the Description line unless a property gives it.

    Examples
    --------
    >>> text = 'Sink #1\\n\\tName: bluez_sink.00_11.a2dp_sink\\n\\tProperties:\\n\\t\\tdevice.bus = "bluetooth"\\n'
    >>> parse_sinks(text)["bluez_sink.00_11.a2dp_sink"]["device.bus"]
    'bluetooth'
    """
    sinks: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    in_props = False
    for raw in text.split("\n"):  # pactl ends lines with \n (a value may hold other line breaks)
        line = raw.strip()
        if not raw.startswith((" ", "\t")):  # "Sink #3": a new sink
            current = {} if raw.startswith("Sink #") else None
            in_props = False
            continue
        if current is None:
            continue
        if raw.startswith("\t\t") or raw.startswith("        "):
            if in_props:
                key, sep, value = line.partition(" = ")
                if sep:
                    current[key.strip()] = value.strip().strip('"')
            continue
        in_props = line == "Properties:"
        key, sep, value = line.partition(":")
        if sep and key == "Name":
            current[""] = value.strip()
            sinks[value.strip()] = current
        elif sep and key == "Description":
            current.setdefault("device.description", value.strip())
    return sinks
