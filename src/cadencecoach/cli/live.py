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
SensorOpt = Annotated[
    str | None,
    typer.Option(
        "--sensor",
        metavar="ble[:NAME_OR_ADDRESS]|replay:FILE",
        help="Listen to your feet: a Bluetooth footpod or watch (Running Speed and Cadence), or a recorded"
        " activity (FIT, TCX, GPX, CSV) replayed as if it were one. See `cadencecoach sensors`.",
    ),
]
SensorUnitOpt = Annotated[
    str,
    typer.Option(
        "--sensor-unit",
        metavar="auto|steps|strides",
        help="What the footpod's cadence counts: steps (the standard), strides (per leg), or auto (steps, unless"
        " it reads like strides while running).",
    ),
]
ToleranceOpt = Annotated[
    float, typer.Option("--cadence-tolerance", metavar="SPM", help="Remark when your cadence is this far off.")
]
HoldOpt = Annotated[
    float, typer.Option("--cadence-hold", metavar="SECONDS", help="... once it has been off this long.")
]
EveryOpt = Annotated[
    float, typer.Option("--cadence-every", metavar="SECONDS", help="At most one cadence remark this often.")
]
FollowOpt = Annotated[
    bool,
    typer.Option(
        "--follow", help="Start the click at your own cadence and walk it to the target (with --sensor)."
    ),
]
FollowRateOpt = Annotated[
    str | None,
    typer.Option("--follow-rate", metavar="SPM/SECONDS", help="How fast --follow walks (1/30: 1 spm per 30 s)."),
]
RecordOpt = Annotated[
    str | None,
    typer.Option(
        "--record",
        metavar="FILE.tcx",
        help="Save the sensor's readings here (default: runs/ in the history folder); review them afterwards.",
    ),
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
            "  cadencecoach click 180 --sensor ble --follow\n\n"
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
        sensor: SensorOpt = None,
        sensor_unit: SensorUnitOpt = "auto",
        cadence_tolerance: ToleranceOpt = 4.0,
        cadence_hold: HoldOpt = 10.0,
        cadence_every: EveryOpt = 60.0,
        follow: FollowOpt = False,
        follow_rate: FollowRateOpt = None,
        record: RecordOpt = None,
    ) -> None:
        """A metronome through the audio output until you stop it (q or Ctrl-C)."""
        _preload_sounddevice()
        from cadencecoach.cli.play import LiveOptions, SensorOptions, play_click
        from cadencecoach.errors import AudioUnavailableError

        try:
            play_click(
                spm,
                sound=sound,
                accent=accent,
                breathing=breathing,
                volume=volume,
                live=LiveOptions(device, latency, sample_rate, block_size),
                sensor=SensorOptions(
                    sensor, sensor_unit, cadence_tolerance, cadence_hold, cadence_every, follow, follow_rate, record
                ),
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
            "  cadencecoach run 10x400 --sensor ble\n\n"
            "  cadencecoach run tempo --sensor replay:monday.fit --follow\n\n"
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
        sensor: SensorOpt = None,
        sensor_unit: SensorUnitOpt = "auto",
        cadence_tolerance: ToleranceOpt = 4.0,
        cadence_hold: HoldOpt = 10.0,
        cadence_every: EveryOpt = 60.0,
        follow: FollowOpt = False,
        follow_rate: FollowRateOpt = None,
        record: RecordOpt = None,
    ) -> None:
        """Play a workout live: clicks, spoken cues, a live display and keyboard control."""
        _preload_sounddevice()
        from dataclasses import replace

        from cadencecoach.cli.options import parse_breathing
        from cadencecoach.cli.play import LiveOptions, SensorOptions, play_workout

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
            sensor=SensorOptions(
                sensor, sensor_unit, cadence_tolerance, cadence_hold, cadence_every, follow, follow_rate, record
            ),
        )

    @app.command(epilog="Examples:\n\n  cadencecoach devices\n\n  cadencecoach click --device 3")
    @guard
    def devices() -> None:
        """List the audio outputs (index, name, channels, default rate; * marks the default)."""
        from cadencecoach.sinks.live.devices import print_devices

        print_devices()
