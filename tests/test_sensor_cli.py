"""`run --sensor` and `click --sensor` from the command line, in this process, with a fake sound card (a stream
that calls back from its own thread, faster than real time) and a replayed CSV as the sensor: the options'
errors (exit 2, one line, before any audio), a whole run with the coach's remark in the progress lines and
the recording written; and `cadencecoach sensors` without Bluetooth (exit 1, one line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cadencecoach import pipeline as session
from cadencecoach.cli import app as cli
from cadencecoach.cli.play import SensorOptions, parse_follow_rate
from cadencecoach.errors import UsageError
from cadencecoach.sinks.live import devices
from conftest import FakeSD, ThreadStream, dev

WORKOUT = """\
name: Sensor cli
cadence: 180
steps:
  - run: 100m
    pace: 1:40/400m
  - recover: 4s
    click: off
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def fake_card(monkeypatch: pytest.MonkeyPatch) -> list[ThreadStream]:
    """A 44.1 kHz output whose stream runs ~6x faster than real time."""
    streams: list[ThreadStream] = []
    monkeypatch.setattr(devices, "load_sounddevice", lambda: FakeSD([dev(0, "fake out", rate=44100.0)], default=0))

    def factory(sd: Any, device: Any, rate: int, latency: Any, block: int) -> Any:
        def open_stream(callback: Any) -> ThreadStream:
            s = ThreadStream(callback, device.stream_channels, block=441, period=0.0015)
            streams.append(s)
            return s

        return open_stream

    monkeypatch.setattr(devices, "stream_factory", factory)
    monkeypatch.setenv("CADENCECOACH_NO_REALTIME", "1")
    return streams


def replay_csv(path: Path, seconds: int = 40, speed: float = 10 / 3) -> Path:
    rows = ["time,cadence,speed,distance"] + [
        f"{t},{180 if t < 4 else 168},{speed:.6f},{speed * t:.3f}" for t in range(seconds + 1)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


# ------------------------------------------------------------------------------------------- options


def test_follow_rate_forms() -> None:
    from fractions import Fraction

    assert parse_follow_rate("1/30") == Fraction(1, 30)
    assert parse_follow_rate(" 3 / 60 ") == Fraction(1, 20)
    assert parse_follow_rate("0.5/15") == Fraction(1, 30)
    for bad in ("30", "1/0", "0/30", "-1/30", "a/b", "100/1", "1/100000"):
        with pytest.raises(UsageError, match=r"^--follow-rate "):
            parse_follow_rate(bad)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (SensorOptions(follow=True), "--follow needs --sensor"),
        (SensorOptions(record="x.tcx"), "--record needs --sensor"),
        (SensorOptions(follow_rate="1/30"), "--follow-rate needs --sensor"),
        (SensorOptions(sensor="ble", tolerance=-1), "--cadence-tolerance must be between 0 and 50"),
        (SensorOptions(sensor="ble", hold_s=1e9), "--cadence-hold must be between 0 and 3600"),
    ],
)
def test_options_that_need_a_sensor_or_a_range(options: SensorOptions, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        options.check()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "tabata", "--follow"], "--follow needs --sensor"),
        (["run", "tabata", "--sensor", "ant+"], "--sensor ant+: not a sensor"),
        (["click", "--sensor", "replay:"], "--sensor replay:: give the activity file"),
        (["run", "tabata", "--sensor", "replay:/nonexistent/run.csv"], "/nonexistent/run.csv"),
        (["click", "--sensor", "ble", "--follow-rate", "fast"], "--follow-rate fast"),
    ],
)
def test_bad_sensor_options_exit_2_before_any_audio(
    argv: list[str], fragment: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    def no_device() -> Any:
        raise AssertionError("looked for the audio output before checking the options")

    monkeypatch.setattr(devices, "load_sounddevice", no_device)
    assert cli.main(argv) == 2
    line = one_error_line(capsys)
    assert fragment in line and "Traceback" not in line


def test_a_replay_that_is_no_activity_is_exit_2_positioned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,cadence\n0,180\n1,fast\n")
    monkeypatch.setattr(devices, "load_sounddevice", lambda: pytest.fail("audio before the replay was read"))
    assert cli.main(["run", "tabata", "--sensor", f"replay:{bad}"]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{bad}:3:"), line


def test_record_never_overwrites_an_input_and_is_a_tcx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    monkeypatch.setattr(devices, "load_sounddevice", lambda: pytest.fail("audio before --record was checked"))
    csv = replay_csv(tmp_path / "run.csv")
    before = csv.read_bytes()
    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    for record, fragment in (
        (csv, "that is the replayed activity"),
        (tmp_path / "run.tcx.d", "ending in .tcx"),
        (tmp_path, "is a folder"),
        (tmp_path / "no-such-folder" / "x.tcx", "no-such-folder"),
    ):
        assert cli.main(["run", str(workout), "--sensor", f"replay:{csv}", "--record", str(record)]) == 2
        line = one_error_line(capsys)
        assert line.startswith(f"error: --record {record}") and fragment in line, line
    link = tmp_path / "w.tcx"
    link.symlink_to(workout)
    assert cli.main(["run", str(workout), "--sensor", f"replay:{csv}", "--record", str(link)]) == 2
    assert "that is the workout file" in one_error_line(capsys)
    assert csv.read_bytes() == before and workout.read_text() == WORKOUT


# ------------------------------------------------------------------------------------------- a whole run


@pytest.mark.beside_audio  # a fake card playing 6x real time keeps both cores busy: not beside real-time tests
def test_run_with_a_replayed_sensor(
    tmp_path: Path,
    fake_card: list[ThreadStream],
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[str]] = []
    real = session.speech_for

    def spy(texts: Any, *a: Any, **k: Any) -> Any:
        asked.append(list(texts))
        return real(texts, *a, **k)

    monkeypatch.setattr(session, "speech_for", spy)
    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT)
    csv = replay_csv(tmp_path / "run.csv")
    record = tmp_path / "rec.tcx"
    argv = ["run", str(workout), "--sensor", f"replay:{csv}", "--voice-engine", "tones", "--cadence-hold", "5"]
    assert cli.main([*argv, "--record", str(record)]) == 0
    out, err = capsys.readouterr()
    assert "steps: 2 of 2 completed, 0 skipped" in err
    coach = [ln for ln in out.splitlines() if "coach:" in ln]
    assert coach and coach[0].endswith("coach: Cadence 168. Up to 180."), out
    assert "[0:30] Recover" in out, out  # 100 m at 3.33 m/s, not the planned 25 s
    assert f"recorded: {record}" in err and "cadencecoach review" in err
    from cadencecoach.activity.read import read_activity

    rec = read_activity(record)
    assert len(rec.laps) == 2 and abs(rec.laps[0].end_s - 30.0) < 0.1
    assert abs(float(np.nanmedian(rec.cadence[rec.t > 10])) - 168) <= 1
    # the coach's words were synthesized with the run's voice, after the workout's cues (and before the
    # spoken confirmations' vocabulary, core.confirm)
    coach_calls = [k for k, w in enumerate(asked) if w[:3] == ["Cadence", "Up to", "Down to"]]
    assert len(coach_calls) == 1 and coach_calls[0] >= 1, asked
    words = asked[coach_calls[0]]
    assert "168" in words and "180" in words
    assert asked[-1][:2] == ["Paused.", "Resumed."]  # the confirmations, last


@pytest.mark.beside_audio
def test_the_recording_goes_to_the_history_folder_by_default(
    tmp_path: Path, fake_card: list[ThreadStream], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workout = tmp_path / "w.yaml"
    workout.write_text(WORKOUT.replace("run: 100m", "run: 20m"))
    csv = replay_csv(tmp_path / "run.csv", seconds=15)
    assert cli.main(["run", str(workout), "--sensor", f"replay:{csv}", "--voice-engine", "tones", "--no-voice"]) == 0
    runs = list((home / "runs").glob("*-sensor-cli.tcx"))
    assert len(runs) == 1 and f"recorded: {runs[0]}" in capsys.readouterr().err


@pytest.mark.beside_audio
def test_click_with_a_replayed_sensor_follows(
    tmp_path: Path,
    fake_card: list[ThreadStream],
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `click` runs until q: end it after ~20 s of audio by stopping the fake stream's player through SIGINT-free q
    from cadencecoach.sinks.live import player as live

    csv = replay_csv(tmp_path / "run.csv", seconds=30)
    original = live.LivePlayer._loop

    def loop_for_a_while(self: Any) -> None:
        def quit_later() -> None:
            self.quit = True

        real_notify = self._notify

        def notify() -> None:
            real_notify()
            if self.position() > 20 * self.sample_rate:
                quit_later()

        self._notify = notify
        original(self)

    monkeypatch.setattr(live.LivePlayer, "_loop", loop_for_a_while)
    argv = ["click", "180", "--sensor", f"replay:{csv}", "--follow", "--follow-rate", "1/2"]
    assert cli.main([*argv, "--record", str(tmp_path / "c.tcx")]) == 0
    _out, err = capsys.readouterr()
    assert "played 0:2" in err  # ~20 s
    assert (tmp_path / "c.tcx").exists()


def test_sensors_without_bluetooth_is_exit_1_one_line(tmp_path: Path) -> None:
    pytest.importorskip("bleak", reason="the [sensors] extra (bleak) is not installed")
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"}
    proc = subprocess.run(
        [sys.executable, "-m", "cadencecoach", "sensors", "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot scan for Bluetooth devices: "), lines
