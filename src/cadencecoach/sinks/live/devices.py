"""The audio output: PortAudio through ``sounddevice``, the devices it lists, the one ``--device`` names and
the output stream the player plays into.

No PortAudio, no output device or a device that refuses the stream is :class:`AudioUnavailableError` (exit 3,
naming the offline way out, :data:`RENDER_HINT`); a ``--device`` or ``--sample-rate`` that names nothing usable
is :class:`UsageError` (exit 2).
"""

from __future__ import annotations

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


def load_sounddevice() -> Any:
    """Import sounddevice.

    Returns
    -------
    module
        ``sounddevice``.

    Raises
    ------
    AudioUnavailableError
        The PortAudio library is missing ("no audio output", exit 3).
    """
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library is missing
        raise AudioUnavailableError(f"no audio output: PortAudio is not available ({exc})", RENDER_HINT) from None
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
    from rich.console import Console
    from rich.table import Table

    sd = load_sounddevice()
    devices = output_devices(sd)
    if not devices:
        raise no_device_error()
    console = Console(file=out) if out is not None else Console()
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, justify in (("", "left"), ("index", "right"), ("name", "left"), ("channels", "right"),
                         ("default rate", "right"), ("host API", "left")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for d in devices:
        table.add_row(
            "*" if d.is_default else "",
            str(d.index),
            d.name,
            str(d.channels),
            f"{d.default_samplerate:g} Hz",
            d.hostapi,
        )
    console.print(table)
    console.print("[dim]* default output; choose one with --device NAME-FRAGMENT or --device INDEX[/]")
