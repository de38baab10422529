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
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from cadencecoach.cli.options import MusicChoice, parse_breathing, parse_latency
from cadencecoach.core.edits import CADENCE_MAX, CADENCE_MIN, click_timeline, lead_in_texts, make_pre_roll
from cadencecoach.core.renderer import BlockRenderer
from cadencecoach.core.timeline import CompileOptions, Timeline
from cadencecoach.errors import UsageError, inform
from cadencecoach.errors import warn as warn_stderr
from cadencecoach.sinks.live import devices
from cadencecoach.sinks.live.keys import KeyReader, help_items
from cadencecoach.sinks.live.player import (
    LEAD_S,
    RECONNECT_S,
    LivePlayer,
    PlayerConfig,
    PlayerObserver,
    RendererFactory,
)
from cadencecoach.terminal import safe_text
from cadencecoach.ui.live_view import display_for

TRACE_ENV = "CADENCECOACH_TRACE_STARTUP"
MUSIC_TRACE_ENV = "CADENCECOACH_TRACE_MUSIC"  # run --music: one line of the music worker's figures at the end
BLUETOOTH_LATENCY_S = 0.2  # what an A2DP link adds beyond what PortAudio reports (a typical SBC/AAC headset)


@dataclass(frozen=True)
class LiveOptions:
    device: str | None = None
    latency: str | None = None
    sample_rate: int | None = None
    block_size: int = 0
    plain: bool = False  # --plain: progress lines even on a terminal
    reconnect_s: float = RECONNECT_S  # --reconnect-limit: how long a lost output is waited for
    keep_awake: bool | None = None  # --keep-awake / --no-keep-awake (None: on for a Bluetooth sink)
    output_latency_s: float | None = None  # --output-latency (None: 0, or BLUETOOTH_LATENCY_S on Bluetooth)
    confirm: bool = True  # --no-confirm: no spoken confirmations of the keys
    treadmill: bool | None = None  # --treadmill (None: the settings file's `treadmill`)
    music: MusicChoice | None = None  # run --music SONG_OR_DIR... (--max-stretch, --glide)

    def check(self) -> None:
        """The ranges of the numbers: UsageError naming the option (exit 2), before any audio."""
        if not 0 <= self.reconnect_s <= 3600:
            raise UsageError(f"--reconnect-limit must be between 0 and 3600 seconds (got {self.reconnect_s:g})")
        if self.output_latency_s is not None and not 0 <= self.output_latency_s <= 2:
            raise UsageError(f"--output-latency must be between 0 and 2 seconds (got {self.output_latency_s:g})")


@dataclass(frozen=True)
class SensorOptions:
    """``--sensor`` and the coach's settings (``run``, ``click``); see :mod:`cadencecoach.sensors.coach`."""

    sensor: str | None = None  # ble[:NAME_OR_ADDRESS] | replay:FILE
    unit: str = "auto"  # --sensor-unit: steps, strides, auto
    tolerance: float = 4.0
    hold_s: float = 10.0
    every_s: float = 60.0
    follow: bool = False
    follow_rate: str | None = None  # "1/30": spm per seconds
    record: str | None = None  # --record FILE (default: a file under the history folder's runs/)

    def check(self) -> None:
        """Options that need --sensor, and the settings' ranges: UsageError naming the option (exit 2)."""
        if self.sensor is None:
            for name, given in (
                ("--follow", self.follow),
                ("--follow-rate", self.follow_rate is not None),
                ("--record", self.record is not None),
            ):
                if given:
                    raise UsageError(f"{name} needs --sensor (a footpod or a replay)")
        for name, value, top in (
            ("--cadence-tolerance", self.tolerance, 50.0),
            ("--cadence-hold", self.hold_s, 3600.0),
            ("--cadence-every", self.every_s, 3600.0),
        ):
            if not 0 <= value <= top:
                raise UsageError(f"{name} must be between 0 and {top:g} (got {value:g})")


def parse_follow_rate(text: str | None) -> Fraction:
    """``--follow-rate SPM/SECONDS``: how fast the follow click walks toward the plan (default 1 spm per 30 s).

    Examples
    --------
    >>> parse_follow_rate("1/30"), parse_follow_rate("2/60"), parse_follow_rate(None)
    (Fraction(1, 30), Fraction(1, 30), Fraction(1, 30))
    """
    if text is None:
        return Fraction(1, 30)
    spm, slash, seconds = text.strip().partition("/")
    try:
        rate = Fraction(spm.strip()) / Fraction(seconds.strip()) if slash else None
    except (ValueError, ZeroDivisionError):
        rate = None
    if rate is None or not Fraction(1, 3600) <= rate <= 10:
        raise UsageError(
            f"--follow-rate {safe_text(text)}: give steps per minute per seconds, e.g. 1/30 (1 spm every 30 s),"
            " between 1/3600 and 10/1"
        )
    return rate


def open_output(options: LiveOptions) -> tuple[Any, devices.OutputDevice, int, str | float]:
    """sounddevice, the chosen device, the sample rate and the latency; exit 3 at once without a device."""
    latency = parse_latency(options.latency)
    sd = devices.load_sounddevice()
    device = devices.select_device(sd, options.device)
    rate = options.sample_rate or round(device.default_samplerate) or 44100
    devices.check_settings(sd, device, rate)
    return sd, device, rate, latency


class _Recording:
    """A player observer that saves what the sensor read (``SensorCoach.recorded``) as a TCX file when the run
    ends, however it ends, and says where: ``cadencecoach review FILE --workout W`` reads it back."""

    def __init__(self, coach: Any, path: Path, workout: str | None) -> None:
        self.coach = coach
        self.path = path
        self.workout = workout

    def on_start(self, player: Any) -> None:
        return None

    def on_step(self, player: Any, step: Any) -> None:
        return None

    def on_tick(self, player: Any) -> None:
        return None

    def on_end(self, player: Any) -> None:
        from cadencecoach.activity.tcx import write_tcx
        from cadencecoach.files import os_reason

        activity = self.coach.recorded(str(self.path))
        if activity is None:
            inform("sensor: no readings to record")
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_tcx(self.path, activity)
        except OSError as exc:
            warn_stderr(f"the sensor's recording was not saved to {safe_text(str(self.path))}: {os_reason(exc)}")
            return
        review = f"cadencecoach review {self.path}" + (f" --workout {self.workout}" if self.workout else "")
        inform(f"recorded: {safe_text(str(self.path))} (review it: {safe_text(review)})")


def recording_path(name: str, when: float | None = None) -> Path:
    """Where a run's sensor readings go by default: ``runs/2026-12-02-0715-10-x-400-m.tcx`` in the history's
    folder (``$CADENCECOACH_HOME``)."""
    import re
    import time

    from cadencecoach.workout.library import home_dir

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "run"
    stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime(when))
    return home_dir() / "runs" / f"{stamp}-{slug}.tcx"


def _record_suffix(path: Path) -> None:
    if path.suffix.lower() != ".tcx":
        raise ValueError("the recording is a TCX file: give a name ending in .tcx")


def open_coach(options: SensorOptions, warn: Callable[[str], None] | None, workout_arg: str | None = None) -> Any:
    """The sensor coach for ``--sensor`` (the sensor opened, not started), or None without one. A replay's file
    is read here, and ``--record`` checked like every output (not an input, a ``.tcx`` that can be written):
    their errors are exit 2 before any audio."""
    options.check()
    if options.sensor is None:
        return None
    from cadencecoach.cli.options import check_output, workout_input
    from cadencecoach.sensors.coach import CoachSettings, SensorCoach
    from cadencecoach.sensors.source import open_sensor, parse_sensor

    spec = parse_sensor(options.sensor)
    if options.record is not None:
        inputs = workout_input(workout_arg) if workout_arg is not None else []
        if spec.kind == "replay":
            inputs.append(("the replayed activity", spec.path))
        check_output(Path(options.record), inputs, option="--record", check_format=_record_suffix)
    settings = CoachSettings(
        tolerance=options.tolerance,
        hold_s=options.hold_s,
        every_s=options.every_s,
        follow=options.follow,
        follow_rate=parse_follow_rate(options.follow_rate),
    )
    coaches: list[Any] = []

    def heard() -> float:  # a replay plays on the run's own clock: paused with it, exact in tests
        return float(coaches[0].heard_s()) if coaches else 0.0

    sensor = open_sensor(spec, clock=heard if spec.kind == "replay" else None, cadence_unit=options.unit)
    coach = SensorCoach(sensor, settings, sensor_clock=sensor.clock, warn=warn or warn_stderr)
    coaches.append(coach)
    return coach


def _coach_speech(coach: Any, timeline: Timeline, voice: Any, warn: Callable[[str], None] | None) -> None:
    """Synthesize (or load from the cache) the coach's words for `timeline` before the run."""
    from cadencecoach import pipeline as session
    from cadencecoach.sensors.coach import vocabulary

    coach.speech = session.speech_for(vocabulary(timeline), timeline.sample_rate, voice, warn)


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
    sensor: SensorOptions | None = None,
    voice: Any = None,
    voice_engine: str = "auto",
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
    sensor : SensorOptions, optional
        ``--sensor`` and the coach's settings: the coach speaks with `voice` (``pipeline.VoiceSettings``; None:
        the default voice).

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
    live.check()
    breath = parse_breathing(breathing)
    coach = open_coach(sensor or SensorOptions(), None)
    with _sigint_default(), _running(coach):
        sd, device, rate, latency = open_output(live)
        timeline = click_timeline(spm, rate, accent=accent, breathing=breath)
        observers: list[PlayerObserver] = []
        if coach is not None:
            if voice is None:  # (the pipeline is imported only here: the metronome starts without it)
                from cadencecoach.pipeline import VoiceSettings

                voice = VoiceSettings(voice_engine, None, 175, 1.0)
            _coach_speech(coach, timeline, voice, None)
            assert sensor is not None
            observers.append(_Recording(coach, _record_path(sensor, "click"), None))
        # an unknown --sound is exit 2 before the stream opens: _play builds the first renderer before it
        return _play(
            timeline,
            _click_renderers(sound, volume),
            (sd, device, rate, latency),
            live,
            mode="click",
            observers=observers,
            coach=coach,
            voice=voice if voice is not None else voice_engine,
        )


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
    coach: Any = None,
    voice: Any = None,
) -> int:
    """Build the first renderer (a bad option fails here, before the stream opens), the player on `output`
    (from :func:`open_output`) with the keyboard, the media keys (MPRIS), the spoken confirmations (`voice`:
    ``pipeline.VoiceSettings``; None: none), the display and `observers`, and play; the exit code."""
    from cadencecoach.sinks.live.quiet import QuietStderr
    from cadencecoach.ui.mpris import MprisControl

    sd, device, rate, latency = output
    first = renderer_for(timeline)
    auto = _Bluetooth(device) if live.keep_awake is None or live.output_latency_s is None else None
    settings = PlayerConfig(
        mode=mode,
        voice_mode=voice_mode,
        pre_roll=pre_roll,
        lead=round(LEAD_S * rate),
        trace=_trace_enabled(),
        channels=device.stream_channels,
        realtime=True,
        show_live=False if live.plain else None,
        confirm=live.confirm and voice is not None,
        output_latency_s=live.output_latency_s or 0.0,
        keep_awake=bool(live.keep_awake),
        reconnect_s=live.reconnect_s,
        latency_low=latency == "low",
    )
    vocabulary = _vocabulary(timeline, rate, voice, background=mode == "click") if settings.confirm else None
    opener = devices.stream_factory(sd, device, rate, latency, live.block_size)
    with _keys() as keys:
        player = LivePlayer(
            timeline,
            renderer_for,
            opener,
            settings,
            speech,
            keys=keys,
            renderer=first,
            say=vocabulary.say if vocabulary is not None else None,
            reopen=lambda callback, reason, old: opener.reopen(callback, reason=reason, old=old),
        )
        if coach is not None:  # before the display: the panel shows what the coach read this poll
            player.observers.append(coach)
        from cadencecoach.settings import load_settings

        prefs = load_settings()  # (read once: the treadmill and its unit)
        treadmill = live.treadmill if live.treadmill is not None else bool(prefs.treadmill)
        player.observers.append(
            display_for(player, help_items(mode), coach, treadmill=treadmill, speed_unit=prefs.speed_unit or "kmh")
        )
        player.observers.append(MprisControl(player.post_name, player.post_volume))
        if auto is not None:
            player.observers.append(auto.applied_to(live))
        player.observers.extend(observers)
        try:
            with QuietStderr():  # ALSA's "underrun occurred" and friends never land on the display
                return player.play()
        finally:
            if isinstance(vocabulary, _InBackground):
                vocabulary.close()


class _Bluetooth:
    """Whether the output is a Bluetooth sink (``devices.is_bluetooth``: a few ``pactl`` calls), found in a thread
    while the run starts, then applied by a player observer: the keep-awake floor and the link's latency
    (:data:`BLUETOOTH_LATENCY_S`) for what the options left on automatic."""

    def __init__(self, device: devices.OutputDevice) -> None:
        import threading

        self.answer: bool | None = None
        self._done = threading.Event()
        self._live: LiveOptions | None = None
        self._applied = False

        def work() -> None:
            try:
                self.answer = devices.is_bluetooth(device)
            finally:
                self._done.set()

        threading.Thread(target=work, name="cadencecoach-bluetooth", daemon=True).start()

    def applied_to(self, live: LiveOptions) -> _Bluetooth:
        self._live = live
        return self

    def on_start(self, player: Any) -> None:
        self.on_tick(player)

    def on_step(self, player: Any, step: Any) -> None:
        return None

    def on_tick(self, player: Any) -> None:
        if self._applied or not self._done.is_set() or self._live is None:
            return
        self._applied = True
        if not self.answer:
            return
        if self._live.keep_awake is None:
            from cadencecoach.sinks.live.engine import keep_awake_noise

            player.config.keep_awake = True
            player.engine.keep_awake = keep_awake_noise(player.sample_rate)
        if self._live.output_latency_s is None:
            player.config.output_latency_s = BLUETOOTH_LATENCY_S

    def on_end(self, player: Any) -> None:
        return None


def _vocabulary(timeline: Timeline, rate: int, voice: Any, *, background: bool) -> Any:
    """The confirmations' words (``core.confirm.vocabulary``, ~150 texts) as a ``speech.phrases.Vocabulary``:
    synthesized once, then read from the speech cache (~30 ms), nothing printed meanwhile. `background` (the
    metronome, whose first click must not wait): made ready in a thread while it starts, the speech package
    imported there too; else (``run``) now, with the cues, so no synthesis runs beside the audio callback."""
    from cadencecoach.core import confirm

    if isinstance(voice, str):  # an engine's name (the metronome): its default voice and rate
        engine_name, voice_name, speech_rate = voice, None, 175
    else:  # pipeline.VoiceSettings
        engine_name, voice_name, speech_rate = voice.engine, voice.voice, voice.rate
    texts = confirm.vocabulary(timeline)

    import threading

    cancel = threading.Event()

    def build() -> Any:
        from cadencecoach import speech as speech_pkg
        from cadencecoach.speech.phrases import Vocabulary

        def load(words: list[str]) -> Mapping[str, np.ndarray]:
            if not background:  # run: with the cues, before playing (a cold cache shows the same progress bar)
                from cadencecoach import pipeline

                return pipeline.speech_for(words, rate, voice, None)
            engine = speech_pkg.make_engine(engine_name, voice_name, speech_rate)
            if not getattr(engine, "cacheable", True):  # tones: made, not synthesized
                return speech_pkg.speak_cues(words, rate, engine, warn=lambda _message: None)
            try:  # beside the playing metronome: from the cache only
                return speech_pkg.speak_cues(words, rate, engine, warn=lambda _message: None, progress=_not_cached)
            except _NotCached:
                pass
            _synthesize_in_child(words, engine_name, voice_name, speech_rate, rate, cancel)
            return speech_pkg.speak_cues(words, rate, engine, warn=lambda _message: None, progress=_not_cached)

        return Vocabulary(texts, rate, load).load()

    return _InBackground(build, cancel) if background else build()


class _NotCached(BaseException):
    """A text the metronome's vocabulary needs is not in the speech cache (a BaseException: the synthesis
    does not take it for an engine's failure and try the next engine)."""


def _not_cached(done: int, total: int) -> None:
    raise _NotCached


def _synthesize_in_child(words: list[str], engine: str, voice: str | None, speech_rate: int, rate: int,
                         cancel: Any) -> None:  # fmt: skip
    """Fill the speech cache with `words` in a child process (``speech.warm``); killed when `cancel` is set."""
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "cadencecoach.speech.warm", engine, voice or "", str(speech_rate), str(rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write("\n".join(words) + "\n")
            proc.stdin.close()
        while proc.poll() is None:
            if cancel.wait(0.05):
                raise _NotCached
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class _InBackground:
    """A vocabulary built in a daemon thread: ``say`` is None until it is there (or if building it failed).
    :meth:`close` (when the run ends) kills a synthesis still going (in its child process) and waits for the
    thread."""

    def __init__(self, build: Callable[[], Any], cancel: Any) -> None:
        import threading

        self.vocabulary: Any = None
        self._cancel = cancel

        def work() -> None:
            with contextlib.suppress(Exception, _NotCached):  # no voice, or the run over: no confirmations
                self.vocabulary = build()

        self._thread = threading.Thread(target=work, name="cadencecoach-vocabulary", daemon=True)
        self._thread.start()

    def say(self, sentences: Sequence[Sequence[str]]) -> np.ndarray | None:
        vocabulary = self.vocabulary
        return None if vocabulary is None else vocabulary.say(sentences)

    def close(self, timeout: float = 2.0) -> None:
        self._cancel.set()
        self._thread.join(timeout)


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


def _renderer_factory(
    audio: Any, pre_roll: np.ndarray | None, make: Callable[..., BlockRenderer], music: Any = None
) -> RendererFactory:
    """Renderers of the run's timelines; with `music` (``music.live.LiveMusic``) each gets the music bed over it,
    ducked under its cues, and the music follows the timeline (a voice-mute view changes nothing there)."""
    if music is None:

        def build(timeline: Timeline) -> BlockRenderer:
            return make(timeline, audio, pre_roll)

        return build
    from cadencecoach.music.bed import bed_for

    def build_with_music(timeline: Timeline) -> BlockRenderer:
        renderer = make(timeline, audio, pre_roll)
        renderer.set_bed(bed_for(music, timeline))
        music.retarget(timeline)
        return renderer

    return build_with_music


class _MusicFollower:
    """A player observer: when no change is in flight, the music follows the timeline that plays (a change whose
    renderer was built but never swapped in is not left under the music)."""

    def __init__(self, music: Any) -> None:
        self.music = music

    def on_start(self, player: Any) -> None:
        return None

    def on_step(self, player: Any, step: Any) -> None:
        return None

    def on_tick(self, player: Any) -> None:
        if not player.busy and player.timeline is not self.music.target:
            self.music.retarget(player.timeline)

    def on_end(self, player: Any) -> None:
        return None


def _open_music(choice: MusicChoice, timeline: Timeline, warn: Callable[[str], None] | None) -> Any:
    """``run --music``: the songs analysed (or read from the cache) and planned under `timeline`, one line on
    stderr, the worker started and its first seconds rendered (``music.live``): before the stream opens."""
    from cadencecoach.music.live import prepare_live_music

    return prepare_live_music(
        list(choice.paths), timeline, warn or warn_stderr, inform,
        max_stretch=choice.max_stretch, glide_beats=choice.glide_beats,
    )  # fmt: skip


def _close_music(music: Any, started: float) -> None:
    """Stop the music worker; say if the music was not ready in time (gaps), and its figures when traced."""
    import time

    music.close()
    if music.error is not None:
        warn_stderr(f"--music: the music stopped ({music.error})")
    elif music.misses:
        warn_stderr(
            f"--music: the music was not ready in time {music.misses} time(s), {music.missed / music.rate:.1f} s"
            " without music (a slow or busy machine)"
        )
    if os.environ.get(MUSIC_TRACE_ENV, "") not in ("", "0"):
        inform(music.stats.line(time.monotonic() - started))


def play_workout(
    workout_arg: str,
    *,
    paces: list[str] | None,
    trial: str | None,
    options: CompileOptions,
    audio_settings: Callable[[int], Any],
    warn: Callable[[str], None] | None,
    live: LiveOptions | None = None,
    sensor: SensorOptions | None = None,
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
    sensor : SensorOptions, optional
        ``--sensor`` and the coach's settings (:mod:`cadencecoach.sensors.coach`).

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
    live.check()
    if live.music is not None:  # the [music] extra, before anything is synthesized (exit 2 without it)
        from cadencecoach.music.deps import require

        require("--music")
    with _sigint_default():
        from cadencecoach.workout.formats import for_live

        workout = for_live(session.load(workout_arg, paces, trial))  # open ("press lap") steps end on n
        coach = open_coach(sensor or SensorOptions(), warn, workout_arg)  # a bad replay: exit 2, before any audio
    with _sigint_default(), _running(coach):
        sd, device, rate, latency = open_output(live)
        audio = audio_settings(rate)
        voice_mode = options.voice_mode or workout.voice_mode
        lead_in = voice_mode != "off"
        texts = session.speech_plan(workout, options, lead_in_texts(workout.name) if lead_in else ())
        speech = session.speech_for(texts, rate, audio.voice, warn, tell=inform)  # within the speech budget
        timeline = compile_workout(workout, rate, speech, options)
        pre_roll = make_pre_roll(workout.name, speech, rate) if lead_in else None
        from cadencecoach.history.progress import RunProgress  # history: record this run (docs/HISTORY.md)

        observers: list[PlayerObserver] = [RunProgress.for_run(workout, timeline, warn)]
        if coach is not None:
            if voice_mode != "off":
                _coach_speech(coach, timeline, audio.voice, warn)
            else:
                coach.settings = replace(coach.settings, voice=False)
            assert sensor is not None
            observers.append(_Recording(coach, _record_path(sensor, workout.name), workout_arg))
        import time

        music = _open_music(live.music, timeline, warn) if live.music is not None else None
        started = time.monotonic()
        if music is not None:
            observers.append(_MusicFollower(music))
        try:
            return _play(
                timeline,
                _renderer_factory(audio, pre_roll, session.make_renderer, music),
                (sd, device, rate, latency),
                live,
                mode="run",
                voice_mode=voice_mode,
                pre_roll=0 if pre_roll is None else len(pre_roll),
                speech=speech,
                observers=observers,
                coach=coach,
                voice=audio.voice if voice_mode != "off" else None,
            )
        finally:
            if music is not None:
                _close_music(music, started)


def _record_path(sensor: SensorOptions, name: str) -> Path:
    return Path(sensor.record) if sensor.record else recording_path(name)


@contextlib.contextmanager
def _running(coach: Any) -> Iterator[None]:
    """The coach's sensor started (a footpod connects while the cues are synthesized) and always stopped."""
    if coach is None:
        yield
        return
    coach.sensor.start()
    try:
        yield
    finally:
        coach.sensor.stop()
