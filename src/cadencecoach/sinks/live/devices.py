"""The audio output: PortAudio through ``sounddevice``, the devices it lists, the one ``--device`` names and
the output stream the player plays into.

No PortAudio, a back-end that fails or aborts at start-up (probed in a child process before sounddevice is
imported here: :func:`probe_portaudio`), no output device or a device that refuses the stream is
:class:`AudioUnavailableError` (exit 3, naming the offline way out, :data:`RENDER_HINT`); a ``--device`` or
``--sample-rate`` that names nothing usable is :class:`UsageError` (exit 2).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
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


def stream_factory(sd: Any, device: OutputDevice, rate: int, latency: str | float, block_size: int) -> StreamFactory:
    """What opens the player's output stream: a float32 ``sd.OutputStream`` on `device`.

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
    StreamFactory
        callback -> an unstarted stream.
    """

    def make(callback: Callable[..., None]) -> Any:
        return sd.OutputStream(
            samplerate=rate,
            blocksize=block_size,
            device=device.index,
            channels=device.stream_channels,
            dtype="float32",
            latency=latency,
            callback=callback,
        )

    return make


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
