"""The live commands of the CLI: ``click``, ``run`` and ``devices`` (registered by cli.py).

The commands are defined inside :func:`register` with the option types of ``cli.py``; this module has no
``from __future__ import annotations`` so Typer sees real annotation objects.
The work is in :mod:`cadencecoach.cli.play` (and the player in ``sinks.live``).
"""

from pathlib import Path
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
    typer.Option("--follow", help="Start the click at your own cadence and walk it to the target (with --sensor)."),
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
PlainOpt = Annotated[
    bool, typer.Option("--plain", help="Plain progress lines instead of the full-screen display (same facts).")
]
ReconnectOpt = Annotated[
    float,
    typer.Option(
        "--reconnect-limit",
        metavar="SECONDS",
        help="A lost audio output (a Bluetooth drop-out, a restarted sound server) is reopened for this long"
        " before the run ends with exit 3; the workout waits meanwhile. 0: end at once.",
    ),
]
KeepAwakeOpt = Annotated[
    bool | None,
    typer.Option(
        "--keep-awake/--no-keep-awake",
        help="Play an inaudible floor (-66 dBFS) so the output never goes digitally silent: a Bluetooth headset"
        " then does not swallow the first syllable of a cue. Default: on for a Bluetooth sink.",
        show_default=False,
    ),
]
OutputLatencyOpt = Annotated[
    float | None,
    typer.Option(
        "--output-latency",
        metavar="SECONDS",
        help="Delay after the sound card that PortAudio does not know (a Bluetooth link: about 0.2, the default"
        " on a Bluetooth sink): the display and the lap key account for it.",
        show_default=False,
    ),
]
NoConfirmOpt = Annotated[
    bool, typer.Option("--no-confirm", help='Do not confirm keys and media buttons aloud ("Paused", "Cadence 182").')
]
TreadmillOpt = Annotated[
    bool | None,
    typer.Option(
        "--treadmill/--no-treadmill",
        help='Show the belt speed of each step\'s pace (km/h, or mph with speed_unit = "mph" in the settings)'
        " and its incline. Default: the settings file's `treadmill`.",
        show_default=False,
    ),
]
MusicOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--music",
        metavar="SONG_OR_DIR",
        help="Your songs under the workout, live: stretched to each step's cadence, their beats on the clicks,"
        " following the keys (repeatable; the music extra).",
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
        GlideOpt,
        MaxStretchOpt,
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
            "  cadencecoach click 175 --keep-awake --output-latency 0.2\n\n"
            "Keys: space pause, +/- cadence, i status, up/down volume, c click, v voice, q quit."
            " Media keys and headset buttons: play/pause."
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
        plain: PlainOpt = False,
        reconnect_limit: ReconnectOpt = 30.0,
        keep_awake: KeepAwakeOpt = None,
        output_latency: OutputLatencyOpt = None,
        no_confirm: NoConfirmOpt = False,
        voice_engine: VoiceEngineOpt = "auto",
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
                live=LiveOptions(
                    device,
                    latency,
                    sample_rate,
                    block_size,
                    plain=plain,
                    reconnect_s=reconnect_limit,
                    keep_awake=keep_awake,
                    output_latency_s=output_latency,
                    confirm=not no_confirm,
                ),
                sensor=SensorOptions(
                    sensor, sensor_unit, cadence_tolerance, cadence_hold, cadence_every, follow, follow_rate, record
                ),
                voice_engine=voice_engine,  # the confirmations, the sensor coach
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
            "  cadencecoach run hills --treadmill --plain\n\n"
            "  cadencecoach run 10x400 --music ~/Music/running --glide 8\n\n"
            "Keys: space pause, n or → lap (next step), p or ← back to the step's start (twice: the step before),"
            " +/- cadence (in a rest: 15 s more or less), i status, up/down volume, c click, v voice, q quit."
            " Media keys and headset buttons (MPRIS): play/pause, next = lap, previous = back."
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
        plain: PlainOpt = False,
        reconnect_limit: ReconnectOpt = 30.0,
        keep_awake: KeepAwakeOpt = None,
        output_latency: OutputLatencyOpt = None,
        no_confirm: NoConfirmOpt = False,
        treadmill: TreadmillOpt = None,
        music: MusicOpt = None,
        max_stretch: MaxStretchOpt = "12",
        glide: GlideOpt = None,
    ) -> None:
        """Play a workout live: clicks, spoken cues, a live display, keys and media buttons; your songs under it
        with --music."""
        _preload_sounddevice()
        from dataclasses import replace

        from cadencecoach.cli.options import music_choice, parse_breathing
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
            live=LiveOptions(
                device,
                latency,
                sample_rate,
                block_size,
                plain=plain,
                reconnect_s=reconnect_limit,
                keep_awake=keep_awake,
                output_latency_s=output_latency,
                confirm=not no_confirm,
                treadmill=treadmill,
                music=music_choice(music, max_stretch, glide),
            ),
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
