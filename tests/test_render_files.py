"""`cadencecoach render` to the files a phone plays: tags, one chapter per step, cover art, exact length and clicks.

A 2.5-minute workout (so the render is encoded in parallel chunks, joined) is rendered once to WAV, the reference,
and once to each lossy format. Each file is read by tools independent of the writer: mutagen (tags, cover),
ffprobe (chapters, tags, the container's duration) and FFmpeg's decoder through PyAV (the samples). The chapter
times are checked against ``plan --json``; the clicks against the WAV render, sample for sample in time.
"""

from __future__ import annotations

import datetime
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from cadencecoach.cli.app import app
from cadencecoach.sinks import tags
from conftest import living_in_group

av = pytest.importorskip("av", reason="PyAV (the formats extra) decodes the files")
mutagen = pytest.importorskip("mutagen")

WORKOUT = """\
name: Phone check
notes: Run tall; relax the shoulders.
cadence: 180
steps:
  - warmup: 40s
    cadence: 170
  - repeat: 3
    steps:
      - run: 20s
        cadence: 186
        effort: hard
      - recover: 15s
        click: off
  - cooldown: 20s
"""

FORMATS = (".mp3", ".m4a", ".opus")
FFPROBE = shutil.which("ffprobe")


def cc(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"CADENCECOACH_HOME": str(home), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("files")
    workout = d / "phone.yaml"
    workout.write_text(WORKOUT)
    common = ["--voice-engine", "tones"]
    out: dict[str, object] = {"dir": d}
    out["plan"] = json.loads(cc(d, "plan", str(workout), "--json", *common))
    cc(d, "render", str(workout), "-o", str(d / "phone.wav"), *common)
    for ext in FORMATS:
        extra = ["--labels", "vtt"] if ext == ".mp3" else []
        cc(d, "render", str(workout), "-o", str(d / f"phone{ext}"), *common, *extra)
    return out


def decode(path: Path, rate: int) -> np.ndarray:
    with av.open(str(path)) as c:
        frames = [f.to_ndarray()[0] for f in c.decode(audio=0)]
        assert c.streams.audio[0].rate == rate
    return np.concatenate(frames)


def probe(path: Path) -> dict:
    assert FFPROBE is not None
    r = subprocess.run(
        [FFPROBE, "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout)


@pytest.mark.parametrize("ext", FORMATS)
def test_the_file_has_exactly_the_render_and_its_clicks(rendered, ext: str) -> None:
    d = rendered["dir"]
    wav, rate = sf.read(str(d / "phone.wav"), dtype="float32")
    plan = rendered["plan"]
    if ext == ".opus":  # Opus runs at 48 kHz only: compare with the WAV resampled
        import soxr

        wav, rate = soxr.resample(wav, rate, 48000), 48000
    got = decode(d / f"phone{ext}", rate)
    if ext == ".m4a":  # the samples FFmpeg decodes run on to the last AAC frame; the edit list says where to stop
        with av.open(str(d / f"phone{ext}")) as c:
            assert c.streams.audio[0].duration == len(wav)
        got = got[: len(wav)]
    assert len(got) == len(wav)
    for t in plan["clicks"][5::40]:  # each click where the WAV has it: the best lag is 0
        at = round(t * rate)
        ref = wav[at : at + round(0.02 * rate)]
        fit = {k: float(np.dot(got[at + k : at + k + len(ref)], ref)) for k in range(-20, 21)}
        assert max(fit, key=fit.__getitem__) == 0, t


@pytest.mark.parametrize("ext", (*FORMATS, ".wav"))
def test_tags_and_one_chapter_per_step(rendered, ext: str) -> None:
    d = rendered["dir"]
    plan = rendered["plan"]
    path = d / f"phone{ext}"
    steps = plan["steps"]
    if FFPROBE is None:
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg; scripts/install.sh does)")
    info = probe(path)
    chapters = info["chapters"]
    assert [round(float(c["start_time"]), 3) for c in chapters] == [0.0] + [round(s["start_s"], 3) for s in steps[1:]]
    length = sf.info(str(d / "phone.wav")).duration  # the render's (ffprobe's MP3 duration is a bit rate estimate)
    # (Ogg chapters have starts only: ffprobe ends the last at its stream length, which counts Opus' 2.5 ms
    # pre-skip, decoded away: the samples are exactly the render's, test above; and prints ms)
    assert float(chapters[-1]["end_time"]) == pytest.approx(length, abs=0.0041 if ext == ".opus" else 0.001)
    titles = [c["tags"]["title"] for c in chapters]
    assert titles[0] == "Warm-up — 40 s"
    assert titles[1] == "Run 1 of 3 — 20 s, hard" and titles[2] == "Recover 1 of 3 — 15 s"
    found = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    for stream in info["streams"]:  # Ogg keeps its comments on the stream (the cover is a stream of its own)
        if stream["codec_type"] == "audio":
            found.update({k.lower(): v for k, v in stream.get("tags", {}).items()})
    assert found["title"] == "Phone check"
    assert found["artist"] == "cadencecoach"
    assert found["album"] == "cadencecoach workouts"
    assert found.get("comment", found.get("description")) == "Run tall; relax the shoulders."
    assert found.get("date", found.get("creation_time", ""))[:10] == datetime.date.today().isoformat()


@pytest.mark.parametrize("ext", FORMATS)
def test_the_workout_chart_is_the_cover(rendered, ext: str) -> None:
    f = mutagen.File(str(rendered["dir"] / f"phone{ext}"))
    if ext == ".mp3":
        data = f.tags.getall("APIC")[0].data
    elif ext == ".m4a":
        data = bytes(f.tags["covr"][0])
    else:
        import base64

        from mutagen.flac import Picture

        data = Picture(base64.b64decode(f["metadata_block_picture"][0])).data
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (600, 600)
    if ext == ".mp3":  # a PNG any decoder reads: the steps' colours are there
        plt = pytest.importorskip("matplotlib.pyplot", reason="matplotlib (the charts extra) decodes the PNG")
        pixels = plt.imread(io.BytesIO(data))
        assert pixels.shape == (600, 600, 3)
        from cadencecoach.history.charts import COLOR

        run = tuple(int(COLOR["run"][i : i + 2], 16) / 255 for i in (1, 3, 5))
        assert np.isclose(pixels, run, atol=1 / 255).all(axis=2).sum() > 1000


def test_labels_beside_the_file(rendered) -> None:
    d = rendered["dir"]
    got = tags.parse_vtt((d / "phone.vtt").read_text(encoding="utf-8"))
    assert got is not None
    assert [round(c.start, 3) for c in got] == [0.0] + [round(s["start_s"], 3) for s in rendered["plan"]["steps"][1:]]
    assert got[1].title == "Run 1 of 3 — 20 s, hard"


def test_lossy_files_are_small(rendered) -> None:
    """A mono track of clicks and speech: 64 kbit/s MP3 (constant), AAC at 96 and Opus at 64 kbit/s targets that
    spend less on the silence between clicks (docs/AUDIO-FILES.md); the cover art comes on top (~40 kB)."""
    d = rendered["dir"]
    seconds = sf.info(str(d / "phone.wav")).duration
    kbps = {ext: ((d / f"phone{ext}").stat().st_size - 50_000) * 8 / seconds / 1000 for ext in FORMATS}
    assert 60 <= kbps[".mp3"] <= 66
    assert kbps[".m4a"] <= 70 and kbps[".opus"] <= 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.wav", "--bitrate", "64"], "--bitrate: .wav has no bit rate"),
        (["-o", "x.ogg", "--bitrate", "64"], "for .ogg, --quality"),
        (["-o", "x.m4a", "--quality", "5"], "--quality: .m4a has no quality setting"),
        (["-o", "x.mp3", "--quality", "5", "--bitrate", "96"], "not both"),
        (["-o", "x.mp3", "--labels", "srt"], "--labels must be txt"),
        (["-o", "x.mp3", "--sample-rate", "96000"], "--sample-rate 96000: MP3 has no 96000 Hz"),
    ],
)
def test_encoding_options_the_format_cannot_use_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["render", "tabata", *args], env={"CADENCECOACH_HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert message in result.output
    assert not any(tmp_path.glob("x.*"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc (Linux)")
@pytest.mark.parametrize("when", ["preparing", "encoding"])
def test_ctrl_c_to_the_terminal_group_mid_render(tmp_path: Path, when: str) -> None:
    """The terminal's Ctrl-C reaches every process of the group, the encoder's workers too (while the render is
    prepared; while the workers encode, once they run): the render stops as always (exit 130, `stopped.`), no
    worker prints a traceback or outlives it, and nothing is left in the folder."""
    import os
    import signal
    import sys
    import time

    env = {**os.environ, "CADENCECOACH_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadencecoach", "render", "10x400", "-o", str(tmp_path / "x.m4a"), "--voice-engine",
         "tones"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    if when == "preparing":  # loading, speaking, drawing: after start-up, before the workers (seconds later)
        time.sleep(1.0)
    else:  # the workers (and multiprocessing's resource tracker) are up: the main process and three more
        deadline = time.monotonic() + 30
        while len(living_in_group(proc.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(living_in_group(proc.pid)) >= 4
        time.sleep(0.3)  # encoding, not starting
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and err.strip().endswith("stopped.")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    deadline = time.monotonic() + 5
    while living_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert living_in_group(proc.pid) == []  # no worker outlived the render


def test_track_click_files_are_tagged_too(tmp_path: Path) -> None:
    if FFPROBE is None:
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg; scripts/install.sh does)")
    out = tmp_path / "tc.mp3"
    cc(tmp_path, "track", "click", "--profile", "20s@170, 20s@180", "-o", str(out))
    info = probe(out)
    assert [(round(float(c["start_time"]), 3), c["tags"]["title"]) for c in info["chapters"]] == [
        (0.0, "170 spm — 20 s"),
        (20.0, "180 spm — 20 s"),
    ]
    assert info["format"]["tags"]["title"] == "Click track"
