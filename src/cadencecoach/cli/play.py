"""How ``cadencecoach click`` and ``cadencecoach run`` get to the live player: parse the live options, find
the output (exit 3 at once without one), load and compile the workout, attach the observers (the display,
the history recorder) and play. The Typer commands are in :mod:`cadencecoach.cli.live`; the player itself,
which knows nothing of workouts files, history or the display, is :mod:`cadencecoach.sinks.live.player`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cadencecoach.cli.options import parse_breathing, parse_latency
from cadencecoach.core.edits import CADENCE_MAX, CADENCE_MIN, click_timeline, lead_in_texts, make_pre_roll
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import CompileOptions, Timeline
from cadencecoach.errors import UsageError, inform
from cadencecoach.sinks.live import devices
from cadencecoach.sinks.live.keys import HELP, KeyReader
from cadencecoach.sinks.live.player import LEAD_S, LivePlayer, PlayerConfig, PlayerObserver, RendererFactory
from cadencecoach.ui.live_view import display_for

TRACE_ENV = "CADENCECOACH_TRACE_STARTUP"


@dataclass(frozen=True)
class LiveOptions:
    device: str | None = None
    latency: str | None = None
    sample_rate: int | None = None
    block_size: int = 0


def open_output(options: LiveOptions) -> tuple[Any, devices.OutputDevice, int, str | float]:
    """sounddevice, the chosen device, the sample rate and the latency; exit 3 at once without a device."""
    latency = parse_latency(options.latency)
    sd = devices.load_sounddevice()
    device = devices.select_device(sd, options.device)
    rate = options.sample_rate or round(device.default_samplerate) or 44100
    devices.check_settings(sd, device, rate)
    return sd, device, rate, latency


def _keys() -> KeyReader:
    return KeyReader(sys.stdin)


def _trace_enabled() -> bool:
    return os.environ.get(TRACE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def _sigint_default() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt even if the parent started us with SIGINT ignored."""
    try:
        old = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, old)


def play_click(
    spm: int,
    *,
    sound: str = "woodblock",
    accent: int = 0,
    breathing: str | None = None,
    volume: float = 1.0,
    live: LiveOptions | None = None,
) -> int:
    """``cadencecoach click``: a metronome through the audio output until ``q`` or Ctrl-C.

    Parameters
    ----------
    spm : int
        Steps per minute (CADENCE_MIN..CADENCE_MAX).
    sound : str, optional
        The click sound bank.
    accent : int, optional
        Accent every `accent`-th click (0: none).
    breathing : str, optional
        ``--breathing IN:OUT``.
    volume : float, optional
        Click volume.
    live : LiveOptions, optional
        Device, latency, sample rate, block size.

    Returns
    -------
    int
        0.

    Raises
    ------
    UsageError
        A bad SPM, --breathing, --latency, --device, --sample-rate or --sound (exit 2).
    AudioUnavailableError
        No audio output, or it was lost (exit 3).
    """
    live = live or LiveOptions()
    if not CADENCE_MIN <= spm <= CADENCE_MAX:
        raise UsageError(f"SPM must be between {CADENCE_MIN} and {CADENCE_MAX} (got {spm})")
    breath = parse_breathing(breathing)
    with _sigint_default():
        sd, device, rate, latency = open_output(live)
        timeline = click_timeline(spm, rate, accent=accent, breathing=breath)
        # an unknown --sound is exit 2 before the stream opens: _play builds the first renderer before it
        return _play(timeline, _click_renderers(sound, volume), (sd, device, rate, latency), live, mode="click")


def _play(
    timeline: Timeline,
    renderer_for: RendererFactory,
    output: tuple[Any, devices.OutputDevice, int, str | float],
    live: LiveOptions,
    *,
    mode: str,
    voice_mode: str = "off",
    pre_roll: int = 0,
    speech: Mapping[str, np.ndarray] | None = None,
    observers: Sequence[PlayerObserver] = (),
) -> int:
    """Build the first renderer (a bad option fails here, before the stream opens), the player on `output`
    (from :func:`open_output`) with the keyboard, the display and `observers`, and play; the exit code."""
    sd, device, rate, latency = output
    first = renderer_for(timeline)
    settings = PlayerConfig(
        mode=mode,
        voice_mode=voice_mode,
        pre_roll=pre_roll,
        lead=round(LEAD_S * rate),
        trace=_trace_enabled(),
        channels=device.stream_channels,
        realtime=True,
    )
    with _keys() as keys:
        player = LivePlayer(
            timeline,
            renderer_for,
            devices.stream_factory(sd, device, rate, latency, live.block_size),
            settings,
            speech,
            keys=keys,
            renderer=first,
        )
        player.observers.append(display_for(player, HELP))
        player.observers.extend(observers)
        return player.play()


def _click_renderers(sound: str, volume: float) -> RendererFactory:
    """Like session.make_renderer for a voiceless timeline, without importing the workout loader."""
    from cadencecoach.sounds import load_bank

    def build(timeline: Timeline) -> BlockRenderer:
        try:
            bank = load_bank(sound, timeline.sample_rate)
        except ValueError as exc:
            raise UsageError(f"--sound: {exc}") from None
        return BlockRenderer(timeline, bank, volume=volume)

    return build


def _renderer_factory(audio: Any, pre_roll: np.ndarray | None, make: Callable[..., BlockRenderer]) -> RendererFactory:
    def build(timeline: Timeline) -> BlockRenderer:
        return make(timeline, audio, pre_roll)

    return build


def play_workout(
    workout_arg: str,
    *,
    paces: list[str] | None,
    trial: str | None,
    options: CompileOptions,
    audio_settings: Callable[[int], Any],
    warn: Callable[[str], None] | None,
    live: LiveOptions | None = None,
) -> int:
    """``cadencecoach run``: load, find the output (exit 3 at once without one), synthesize every cue and
    the lead-in (cached), compile, play, and record the run in the history.

    Parameters
    ----------
    workout_arg : str
        A workout file or a shipped workout's name.
    paces, trial : optional
        ``--pace`` and ``--trial`` (see :func:`cadencecoach.pipeline.load`).
    options : CompileOptions
        Click, voice, accent, breathing.
    audio_settings : callable
        Sample rate -> the pipeline's AudioSettings (sound, volume, voice).
    warn : callable, optional
        Where warnings go (speech synthesis, history).
    live : LiveOptions, optional
        Device, latency, sample rate, block size.

    Returns
    -------
    int
        0.

    Raises
    ------
    CoachError
        A bad workout or option (exit 2), no audio output or a lost one (exit 3).
    """
    from cadencecoach import pipeline as session
    from cadencecoach.core.timeline import compile_workout

    live = live or LiveOptions()
    with _sigint_default():
        from cadencecoach.workout.formats import for_live

        workout = for_live(session.load(workout_arg, paces, trial))  # open ("press lap") steps end on n
        sd, device, rate, latency = open_output(live)
        audio = audio_settings(rate)
        voice_mode = options.voice_mode or workout.voice_mode
        lead_in = voice_mode != "off"
        texts = session.speech_plan(workout, options, lead_in_texts(workout.name) if lead_in else ())
        speech = session.speech_for(texts, rate, audio.voice, warn, tell=inform)  # within the speech budget
        timeline = compile_workout(workout, rate, speech, options)
        pre_roll = make_pre_roll(workout.name, speech, rate) if lead_in else None
        from cadencecoach.history.progress import RunProgress  # history: record this run (docs/HISTORY.md)

        return _play(
            timeline,
            _renderer_factory(audio, pre_roll, session.make_renderer),
            (sd, device, rate, latency),
            live,
            mode="run",
            voice_mode=voice_mode,
            pre_roll=0 if pre_roll is None else len(pre_roll),
            speech=speech,
            observers=[RunProgress.for_run(workout, timeline, warn)],
        )
