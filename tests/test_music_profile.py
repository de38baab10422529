"""``track click`` and its inline cadence profile (music/profile.py): no optional dependency needed.
Also: without the music extra, the music commands say how to install it and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadencecoach.cli import app as cli
from cadencecoach.core.timeline import CompileOptions, compile_workout
from cadencecoach.errors import UsageError
from cadencecoach.music.profile import parse_profile
from cadencecoach.workout.model import Repeat, expand


def cc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ},
    )


def test_profile_grammar() -> None:
    w = parse_profile("10min@170, 20min@175-185, 5min@170")
    flat = expand(w)
    assert [f.step.duration for f in flat] == [600, 1200, 300]
    assert [f.step.cadence for f in flat] == [(170, 170), (175, 185), (170, 170)]
    assert w.total_duration == 2100 and w.voice_mode == "off"
    w = parse_profile(" 1:30 @ 172 ,2x( 45s@185 , 1min@off ) , 90 s@ 160-165 ")
    assert isinstance(w.steps[1], Repeat) and w.steps[1].count == 2
    flat = expand(w)
    assert [f.step.duration for f in flat] == [90, 45, 60, 45, 60, 90]
    assert [f.step.click for f in flat] == [True, True, False, True, False, True]
    assert w.total_steps == 6
    assert parse_profile("3x(2x(10s@180))").total_duration == 60


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("10min", "missing '@cadence'"),
        ("10min@", "cannot read cadence"),
        ("10min@17", "outside 60-300"),
        ("10min@170,", "empty item"),
        ("ten@170", "cannot read extent"),
        ("400m@180", "is a distance"),
        ("2x(10s@170", "missing ')'"),
        ("0x(10s@170)", "repeat count"),
        ("10s@170)", "unexpected ')'"),
        ("25h@170", "at most 24 hours"),
    ],
)
def test_profile_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match="--profile") as info:
        parse_profile(text)
    assert message in str(info.value)


def test_profile_clicks_follow_the_cadences() -> None:
    w = parse_profile("10s@120, 6s@off, 10s@150-180, 5s@180")
    tl = compile_workout(w, 8000, {}, CompileOptions(voice_mode="off"))
    t = tl.clicks / 8000
    first = t[t < 10]
    assert np.allclose(np.diff(first), 0.5)
    assert not np.any((t >= 10) & (t < 16))  # @off: silence
    assert t[np.searchsorted(t, 16)] == pytest.approx(16.0)  # clicking resumes on the boundary
    ramp = np.diff(t[(t >= 16) & (t < 26)])
    assert ramp[0] == pytest.approx(60 / 150, abs=0.01) and ramp[-1] == pytest.approx(60 / 180, abs=0.01)
    assert np.all(np.diff(ramp) < 1e-9)  # steadily faster
    assert np.allclose(np.diff(t[t >= 26]), 60 / 180, atol=1 / 8000)
    assert not tl.cues


def test_track_click_writes_the_profile(tmp_path: Path) -> None:
    out = tmp_path / "clicks.wav"
    r = cc("track", "click", "--profile", "4s@150, 2s@off, 3s@180", "-o", str(out), "--sample-rate", "16000")
    assert r.returncode == 0, r.stderr
    x, sr = sf.read(out)
    assert sr == 16000 and len(x) == pytest.approx(9.5 * sr, abs=2)
    onsets = np.flatnonzero((np.abs(x[1:]) > 0.05) & (np.abs(x[:-1]) <= 0.05)) + 1
    onsets = onsets[np.concatenate([[True], np.diff(onsets) > 0.1 * sr])]
    expected = np.concatenate([np.arange(0, 4, 0.4), 6 + np.arange(0, 3, 1 / 3)])
    assert len(onsets) == len(expected)
    assert np.abs(onsets / sr - expected).max() < 0.002


def test_track_click_from_a_workout_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "t.flac"
    r = cc("track", "click", "tabata", "-o", str(out), "--accent", "4", "--sample-rate", "8000")
    assert r.returncode == 0, r.stderr
    assert sf.info(out).duration > 60
    r = cc("track", "click", "--profile", "10s@17", "-o", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "cadence 17 is outside 60-300" in r.stderr and "Traceback" not in r.stderr
    r = cc("track", "click", "-o", str(tmp_path / "x.wav"))
    assert r.returncode == 2 and "--profile" in r.stderr
    r = cc("track", "click", "--profile", "10s@170", "-o", str(tmp_path / "x.aiff"))
    assert r.returncode == 2 and "unsupported output format" in r.stderr
    assert not (tmp_path / "x.wav").exists()


def test_help_texts_have_examples() -> None:
    for sub in ("click", "analyze", "build"):
        r = cc("track", sub, "--help")
        assert r.returncode == 0 and "Examples" in r.stdout, sub


@pytest.mark.parametrize(
    "argv",
    [
        ["track", "analyze", "song.mp3"],
        ["track", "build", "--music", "songs/", "-o", "mix.mp3"],
        ["render", "tabata", "-o", "out.wav", "--music", "songs/", "--no-voice"],
    ],
)
def test_without_the_extra_music_commands_say_how_to_install(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("pedalboard", "pyloudnorm"):  # not installed: importing them fails
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.chdir(tmp_path)
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install 'cadencecoach[music]'" in err and "pedalboard" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.wav").exists() and not (tmp_path / "mix.mp3").exists()


def test_track_click_needs_no_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("scipy", "pedalboard", "pyloudnorm", "mutagen"):  # not installed: importing them fails
        monkeypatch.setitem(sys.modules, module, None)
    out = tmp_path / "c.wav"
    assert cli.main(["track", "click", "--profile", "2s@180", "-o", str(out), "--sample-rate", "8000"]) == 0
    assert sf.info(out).frames == 2 * 8000 + 4000
