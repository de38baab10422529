"""``cadencecoach track``: click tracks from cadence profiles, and the runner's own music at their cadence.

``track click`` needs only the core (timeline + renderer); ``track analyze`` and ``track build`` need the
``[music]`` extra and say how to install it (exit 2) when it is missing. The work is in ``music/``.
Like cli/live.py, no ``from __future__ import annotations``: Typer reads the annotation objects.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

SongsArg = Annotated[
    list[Path], typer.Argument(help="Song files or folders (searched recursively).", metavar="SONG_OR_DIR...")
]
BreathingOpt = Annotated[
    str | None,
    typer.Option("--breathing", metavar="IN:OUT", help="Breathing pattern, e.g. 3:2 (distinct inhale/exhale clicks)."),
]
ClickModeOpt = Annotated[
    str, typer.Option("--click", metavar="on|off|accent", help="Clicks on the stretched beats; accent marks each bar.")
]
MaxStretchOpt = Annotated[
    str, typer.Option("--max-stretch", metavar="PERCENT", help="Skip songs that need more tempo change than this.")
]
CadenceOpt = Annotated[float, typer.Option("--cadence", min=60, max=300, help="Target cadence, steps per minute.")]


def _percent(text: str, option: str) -> float:
    from cadencecoach.cli.options import parse_percent

    return parse_percent(text, option)


def _duration(text: str | None) -> float | None:
    from cadencecoach.errors import UsageError
    from cadencecoach.workout.units import parse_extent

    if text is None:
        return None
    try:
        extent = parse_extent(text)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    if not extent.is_time:
        raise UsageError(f"--duration must be a time like 45min or 1:00:00 (got '{text}')")
    if extent.value > 24 * 3600:
        raise UsageError("--duration can be at most 24 hours")
    return float(extent.value)


def _analyze(songs: list[Path], *, no_cache: bool, warn: Callable[[str], None], none: str) -> tuple[list, list]:
    """The songs found in `songs` (files and folders), analysed (or from the cache): (analyses, failures).

    Songs that cannot be found or read are warned about, one line each; no song at all is a UsageError(`none`).
    """
    from cadencecoach.music.analysis import analyze_found

    return analyze_found(songs, warn, none=none, use_cache=not no_cache)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _clock(seconds: float) -> str:
    from cadencecoach.workout.units import format_clock

    return format_clock(seconds)


def register(app: typer.Typer) -> None:
    """Add the ``track`` sub-app (``click``, ``analyze``, ``build``) to `app`."""
    from cadencecoach.cli.app import (
        AccentOpt,
        BitDepthOpt,
        BitrateOpt,
        Mp3BitrateOpt,
        RateOpt,
        SoundOpt,
        VolumeOpt,
        guard,
        warn,
    )

    track = typer.Typer(
        name="track",
        help="Click tracks from cadence profiles, and your own music stretched to your cadence.",
        no_args_is_help=True,
        rich_markup_mode="rich",
    )

    @track.command(
        name="click",
        epilog=(
            "Examples:\n\n"
            '  cadencecoach track click --profile "10min@170, 20min@175-185, 5min@170" -o tempo.mp3\n\n'
            '  cadencecoach track click --profile "5min@170, 6x(2min@185, 1min@off), 5min@165" -o intervals.wav\n\n'
            "  cadencecoach track click 10x400 -o 10x400-clicks.flac --accent 4 --sound clave\n\n"
            "Profile: comma-separated TIME@CADENCE items (a ramp is 175-185, silence is @off), "
            "N x(...) repeats; see docs/MUSIC.md."
        ),
    )
    @guard
    def click(
        output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .wav, .flac, .ogg or .mp3.")],
        workout: Annotated[
            str | None, typer.Argument(help="A workout file or name whose cadences to click (instead of --profile).")
        ] = None,
        profile: Annotated[
            str | None,
            typer.Option("--profile", metavar="PROFILE", help='Cadence profile, e.g. "10min@170, 20min@175-185".'),
        ] = None,
        sound: SoundOpt = "woodblock",
        accent: AccentOpt = 0,
        breathing: BreathingOpt = None,
        volume: VolumeOpt = 1.0,
        sample_rate: RateOpt = 44100,
        bit_depth: BitDepthOpt = 16,
        bitrate: BitrateOpt = None,
        mp3_bitrate: Mp3BitrateOpt = None,
    ) -> None:
        """Write a click track that follows a cadence profile (or a workout's cadences), without a voice."""
        from cadencecoach import pipeline as session
        from cadencecoach.cli.options import (
            check_audio_output,
            check_encoding,
            check_space,
            parse_breathing,
            rendered_tags,
            workout_input,
            writing,
        )
        from cadencecoach.core.timeline import CompileOptions, compile_workout
        from cadencecoach.errors import UsageError
        from cadencecoach.sinks.file import render_to_file

        if (profile is None) == (workout is None):
            raise UsageError('give either --profile "10min@170, ..." or a WORKOUT, not both and not neither')
        check_audio_output(output, bit_depth, workout_input(workout) if workout is not None else [])
        if profile is not None:
            from cadencecoach.music.profile import parse_profile

            w = parse_profile(profile)
        else:
            assert workout is not None
            w = session.load(workout)
        bitrate = check_encoding(output, bitrate if bitrate is not None else mp3_bitrate, None, None, sample_rate)
        check_space(output, round(float(w.total_duration) * sample_rate), sample_rate, 1, bit_depth, bitrate)
        options = CompileOptions(voice_mode="off", click=True, accent=accent, breathing=parse_breathing(breathing))
        timeline = compile_workout(w, sample_rate, {}, options)
        renderer = session.make_renderer(timeline, session.AudioSettings(sample_rate, sound, volume))
        tags = rendered_tags(w, timeline, output, artist=None, album=None, cover=True)  # as `render` tags
        with writing(output):
            render_to_file(renderer, output, bit_depth=bit_depth, bitrate=bitrate, tags=tags, label=w.name)

    @track.command(
        name="analyze",
        epilog=(
            "Examples:\n\n  cadencecoach track analyze ~/Music/running/\n\n"
            "  cadencecoach track analyze song.mp3 other.flac --cadence 175\n\n"
            "  cadencecoach track analyze ~/Music --json > tempos.json"
        ),
    )
    @guard
    def analyze(
        songs: SongsArg,
        cadence: Annotated[
            float | None, typer.Option("--cadence", min=60, max=300, help="Also show the stretch each song needs.")
        ] = None,
        max_stretch: MaxStretchOpt = "12",
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Analyze again even if cached.")] = False,
    ) -> None:
        """Detect each song's tempo and beats: BPM, confidence, duration, and the cadence it fits at 1x, 2x, 0.5x.

        With --cadence, the songs that `track build` would skip at that cadence are listed under the table with
        the cadences they fit (within --max-stretch)."""
        from cadencecoach.errors import UsageError
        from cadencecoach.music.deps import require

        require("track analyze")
        stretch = _percent(max_stretch, "--max-stretch")
        ok, failed = _analyze(songs, no_cache=no_cache, warn=warn, none="no songs to analyze")
        if as_json:
            out = {
                "songs": [
                    {
                        "path": r.path,
                        "title": r.title,
                        "artist": r.artist,
                        "tempo_bpm": r.tempo,
                        "confidence": r.confidence,
                        "duration_s": round(r.duration, 3),
                        "loudness_lufs": r.to_json()["loudness"],
                        "fits": {f"{m:g}x": round(m * r.tempo, 2) for m in (1.0, 2.0, 0.5)} if r.tempo else {},
                        "beats": r.to_json()["beats"],
                    }
                    for r in ok
                ],
                "skipped": [{"path": f.path, "reason": f.reason} for f in failed],
            }
            sys.stdout.write(json.dumps(out) + "\n")
        else:
            _print_analysis(ok, cadence, stretch)
        if not ok:  # every song failed (each said why above): the last line says what it means
            raise UsageError(f"none of the {len(failed)} songs could be read: no songs analyzed")

    @track.command(
        name="build",
        epilog=(
            "Examples:\n\n  cadencecoach track build --music ~/Music/running --cadence 180 -o run-mix.mp3\n\n"
            "  cadencecoach track build --music a.mp3 b.flac --cadence 172 --click accent -o mix.mp3\n\n"
            "  cadencecoach track build --music ~/Music/running --duration 45min --max-stretch 8 -o 45min.mp3\n\n"
            "Writes FILE and FILE's .txt Audacity labels; an MP3 gets one ID3 chapter per song."
        ),
    )
    @guard
    def build(
        music: Annotated[
            list[Path],
            typer.Option(
                "--music",
                metavar="SONG_OR_DIR",
                help="Songs or folders: several after one --music (--music a.mp3 b.flac ~/Music), or --music again.",
            ),
        ],
        output: Annotated[
            Path, typer.Option("-o", "--output", help="Output file: .mp3 (chapters), .flac, .ogg, .wav.")
        ],
        cadence: CadenceOpt = 180.0,
        max_stretch: MaxStretchOpt = "12",
        click_mode: ClickModeOpt = "on",
        sound: SoundOpt = "woodblock",
        click_volume: Annotated[
            float, typer.Option("--click-volume", min=0.0, max=1.0, help="Click level, 0..1.")
        ] = 0.5,
        loudness: Annotated[
            float, typer.Option("--loudness", min=-40.0, max=-5.0, metavar="LUFS", help="Loudness target (BS.1770).")
        ] = -14.0,
        true_peak: Annotated[
            float, typer.Option("--true-peak", min=-12.0, max=0.0, metavar="DBTP", help="True-peak ceiling.")
        ] = -1.0,
        crossfade: Annotated[
            int, typer.Option("--crossfade", min=1, max=128, metavar="STEPS", help="Crossfade length, in steps.")
        ] = 16,
        duration: Annotated[
            str | None,
            typer.Option("--duration", metavar="TIME", help="Fill this long, looping the songs (e.g. 45min)."),
        ] = None,
        title: Annotated[str | None, typer.Option("--title", help="Title tag of the mix.")] = None,
        sample_rate: RateOpt = 44100,
        bitrate: Annotated[
            int | None,
            typer.Option("--bitrate", min=8, max=320, metavar="KBPS", help="Bit rate (.mp3, .m4a, .opus), kbit/s."),
        ] = None,
        mp3_bitrate: Mp3BitrateOpt = None,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Analyze again even if cached.")] = False,
    ) -> None:
        """Stretch your songs to one cadence, with clicks on their beats, crossfades on a beat, chapters and labels."""
        from cadencecoach.cli.options import check_audio_output, check_encoding, check_space, writing
        from cadencecoach.errors import UsageError
        from cadencecoach.music.deps import require

        check_audio_output(output, 16, [("--music", m) for m in music])
        bitrate = check_encoding(output, bitrate if bitrate is not None else mp3_bitrate, None, None, sample_rate)
        require("track build")
        from cadencecoach.music.mix import BuildOptions, plan_build, render_build
        from cadencecoach.sinks.tags import label_path

        label_path(output)  # the labels beside it: refused now if every name for them is someone else's file
        if click_mode not in ("on", "off", "accent"):
            raise UsageError(f"--click must be on, off or accent (got '{click_mode}')")
        options = BuildOptions(
            cadence=cadence,
            max_stretch=_percent(max_stretch, "--max-stretch"),
            click=click_mode,
            sound=sound,
            click_volume=click_volume,
            target_lufs=loudness,
            true_peak_db=true_peak,
            crossfade_steps=crossfade,
            duration=_duration(duration),
            sample_rate=sample_rate,
            mp3_bitrate=bitrate or 192,
        )
        ok, failed = _analyze(
            music, no_cache=no_cache, warn=warn, none="no songs: give --music with song files or folders"
        )
        plan = plan_build(ok, failed, options)
        check_space(output, round(float(plan.length) * sample_rate), sample_rate, 2, 16, bitrate or 192, music=True)
        with writing(output):
            result = render_build(plan, output, title=title or output.stem)
        _print_build(plan, result)

    app.add_typer(track, name="track")


def _print_analysis(results: list, cadence: float | None, max_stretch: float) -> None:
    from rich.table import Table

    from cadencecoach.terminal import console, markup_safe

    table = Table(title="Songs", title_justify="left")
    table.add_column("song")
    table.add_column("BPM", justify="right")
    table.add_column("confidence", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("1x spm", justify="right")
    table.add_column("2x spm", justify="right")
    table.add_column("0.5x spm", justify="right")
    if cadence:
        table.add_column(f"at {cadence:g} spm", justify="right")
    for r in results:
        row = [markup_safe(r.name), f"{r.tempo:.1f}" if r.tempo else "-", f"{r.confidence:.2f}", _clock(r.duration)]
        row += [f"{m * r.tempo:.0f}" if r.tempo else "-" for m in (1.0, 2.0, 0.5)]
        if cadence:
            fit = r.best_fit(cadence)
            row.append(f"{fit[0]:g}x {(fit[1] - 1) * 100:+.1f} %" if fit else "-")
        table.add_row(*row)
    out = console()
    out.print(table)
    if cadence:
        from cadencecoach.music.mix import Skip, fit_song

        skipped = [Skip(r, fit) for r in results if isinstance(fit := fit_song(r, cadence, max_stretch), str)]
        if skipped:
            out.print(f"not within {max_stretch * 100:g} % of {cadence:g} spm:")
        for s in skipped:
            out.print(f"  {markup_safe(s.song.name)}: {markup_safe(s.reason)}", soft_wrap=True)


def _print_build(plan, result) -> None:
    from cadencecoach.cli.options import print_song_table
    from cadencecoach.terminal import console as make_console
    from cadencecoach.terminal import markup_safe

    console = make_console(stderr=True)
    print_song_table(
        f"{result.path.name} at {plan.options.cadence:g} spm",
        (
            (ch.start, p.song.name, p.song.tempo, p.multiple, p.stretch_percent)
            for ch, p in zip(plan.chapters, plan.placements, strict=True)
        ),
    )
    console.print(
        f"wrote {markup_safe(result.path)}: {_clock(result.seconds)}, {_plural(len(plan.placements), 'song')}, "
        f"{result.clicks} clicks, {result.loudness:.1f} LUFS; labels in {markup_safe(result.labels.name)}"
    )
    _print_skipped(console, plan.skipped)


def _print_skipped(console, skipped: list) -> None:
    """One line per song left out: its name, tempo, why, and the cadences it would fit (in the reason)."""
    from cadencecoach.terminal import markup_safe

    if skipped:
        console.print(f"{_plural(len(skipped), 'song')} skipped:")
    for s in skipped:
        console.print(f"  skipped {markup_safe(s.song.name)}: {markup_safe(s.reason)}", soft_wrap=True)
