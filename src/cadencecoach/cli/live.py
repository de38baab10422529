"""The live commands of the CLI: ``click``, ``run`` and ``devices`` (registered by cli.py).

The commands are defined inside :func:`register` with the option types of ``cli.py``; this module has no
``from __future__ import annotations`` so Typer sees real annotation objects.
The work is in :mod:`cadencecoach.cli.play` (and the player in ``sinks.live``).
"""

from typing import Annotated

import typer

DeviceOpt = Annotated[
    str | None,
    typer.Option("--device", metavar="NAME|INDEX", help="Output device: a fragment of its name, or its index."),
]
LatencyOpt = Annotated[
    str,
    typer.Option("--latency", metavar="low|high|SECONDS", help="Output latency: low, high (PortAudio's), or seconds."),
]
LiveRateOpt = Annotated[
    int | None,
    typer.Option(
        "--sample-rate", metavar="HZ", min=8000, max=192000, help="Sample rate (default: the device's own rate)."
    ),
]
BlockOpt = Annotated[
    int, typer.Option("--block-size", hidden=True, min=0, max=16384, help="Frames per callback (0: PortAudio's).")
]
BreathingOpt = Annotated[
    str | None,
    typer.Option("--breathing", metavar="IN:OUT", help="Breathing pattern, e.g. 3:2 (distinct inhale/exhale clicks)."),
]
SpmArg = Annotated[int, typer.Argument(metavar="[SPM]", min=60, max=300, help="Steps per minute (60-300).")]


def click_hint(spm: int) -> str:
    """The offline way out of ``click`` without an audio output: a click track rendered to a file (``track click``;
    the CLI contract asks that an exit-3 message names rendering as the way out)."""
    return f'to get the clicks anyway, render them to a file: cadencecoach track click --profile "60min@{spm}" -o FILE'


def _preload_sounddevice() -> None:
    """Probe PortAudio in a child process and then import sounddevice, in a thread, while the main thread
    imports numpy and the engine (sinks.live.devices.preload_sounddevice). Errors surface later, when
    sinks.live.devices.load_sounddevice imports it again."""
    from cadencecoach.sinks.live.devices import preload_sounddevice

    preload_sounddevice()


def register(app: typer.Typer) -> None:
    """Add ``click``, ``run`` and ``devices`` to `app`."""
    from cadencecoach.cli.app import (
        AccentOpt,
        NoClickOpt,
        NoVoiceOpt,
        PaceOpt,
        SoundOpt,
        SpeechRateOpt,
        TrialOpt,
        VoiceEngineOpt,
        VoiceLevelOpt,
        VoiceModeOpt,
        VoiceNameOpt,
        VolumeOpt,
        WorkoutArg,
        _audio,
        _options,
        guard,
        warn,
    )

    @app.command(
        epilog=(
            "Examples:\n\n  cadencecoach click\n\n  cadencecoach click 172 --accent 4 --sound clave\n\n"
            "  cadencecoach click 180 --breathing 3:2 --device pulse\n\n"
            "Keys: space pause, +/- cadence, c mute, q quit."
        )
    )
    @guard
    def click(
        spm: SpmArg = 180,
        sound: SoundOpt = "woodblock",
        accent: AccentOpt = 0,
        breathing: BreathingOpt = None,
        volume: VolumeOpt = 1.0,
        device: DeviceOpt = None,
        latency: LatencyOpt = "0.1",
        sample_rate: LiveRateOpt = None,
        block_size: BlockOpt = 0,
    ) -> None:
        """A metronome through the audio output until you stop it (q or Ctrl-C)."""
        _preload_sounddevice()
        from cadencecoach.cli.play import LiveOptions, play_click
        from cadencecoach.errors import AudioUnavailableError

        try:
            play_click(
                spm,
                sound=sound,
                accent=accent,
                breathing=breathing,
                volume=volume,
                live=LiveOptions(device, latency, sample_rate, block_size),
            )
        except AudioUnavailableError as exc:  # the player names `render WORKOUT`; a metronome has no workout
            raise exc.with_hint(click_hint(spm)) from None

    @app.command(
        name="run",
        epilog=(
            "Examples:\n\n  cadencecoach run 10x400\n\n"
            "  cadencecoach run my-run.yaml --pace mile=6:10/mi --device USB\n\n"
            "  cadencecoach run tabata --no-voice --latency low\n\n"
            "  cadencecoach run 10x400 --voice-engine espeak --voice-name en-gb\n\n"
            "Keys: space pause, n or → next step, +/- cadence, c click, v voice, q quit."
        ),
    )
    @guard
    def run_workout(
        workout: WorkoutArg,
        pace: PaceOpt = None,
        trial: TrialOpt = None,
        sample_rate: LiveRateOpt = None,
        no_voice: NoVoiceOpt = False,
        no_click: NoClickOpt = False,
        volume: VolumeOpt = 1.0,
        sound: SoundOpt = "woodblock",
        accent: AccentOpt = 0,
        breathing: BreathingOpt = None,
        voice_mode: VoiceModeOpt = None,
        voice_engine: VoiceEngineOpt = "auto",
        voice_name: VoiceNameOpt = None,
        speech_rate: SpeechRateOpt = 175,
        voice_volume: VoiceLevelOpt = 1.0,
        device: DeviceOpt = None,
        latency: LatencyOpt = "0.1",
        block_size: BlockOpt = 0,
    ) -> None:
        """Play a workout live: clicks, spoken cues, a live display and keyboard control."""
        _preload_sounddevice()
        from dataclasses import replace

        from cadencecoach.cli.options import parse_breathing
        from cadencecoach.cli.play import LiveOptions, play_workout

        options = replace(_options(no_voice, no_click, accent, voice_mode), breathing=parse_breathing(breathing))

        def audio_for(rate: int) -> object:
            return _audio(rate, sound, volume, voice_engine, voice_name, speech_rate, voice_volume)

        from cadencecoach.cli.program import today_arg
        from cadencecoach.errors import inform

        play_workout(
            today_arg(workout, warn, inform),
            paces=pace,
            trial=trial,
            options=options,
            audio_settings=audio_for,
            warn=warn,
            live=LiveOptions(device, latency, sample_rate, block_size),
        )

    @app.command(epilog="Examples:\n\n  cadencecoach devices\n\n  cadencecoach click --device 3")
    @guard
    def devices() -> None:
        """List the audio outputs (index, name, channels, default rate; * marks the default)."""
        from cadencecoach.sinks.live.devices import print_devices

        print_devices()
