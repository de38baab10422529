"""Sessions rendered in parallel (:mod:`cadencecoach.cli.batch_render`), each as ``cadencecoach render`` renders it:
the files decode to the planned length with one chapter per step; results come in job order; one progress bar;
bad workouts, a job failing in its worker and Ctrl-C leave no partial file and no process behind."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4

from cadencecoach import pipeline
from cadencecoach.cli.batch_render import DEFAULT_AUDIO_FORMAT, RenderJob, render_sessions
from cadencecoach.core.timeline import CompileOptions
from cadencecoach.errors import UsageError, WorkoutError
from cadencecoach.sinks.tags import Chapter, step_chapters
from conftest import living_in_group

SRC = Path(__file__).resolve().parents[1] / "src"


def workout(name: str, run_s: int, reps: int = 1, recover_s: int = 20) -> str:
    return textwrap.dedent(
        f"""\
        name: {name}
        cadence: 180
        steps:
          - warmup: 20s
            cadence: 170
          - repeat: {reps}
            steps:
              - run: {run_s}s
                cadence: 186
              - recover: {recover_s}s
          - cooldown: 20s
        """
    )


WORKOUTS = {"easy": workout("Easy, 1", 30), "tempo": workout("Tempo; 2", 40, reps=2), "hills": workout("Hills", 25)}
FORMATS = {"easy": ".mp3", "tempo": ".m4a", "hills": DEFAULT_AUDIO_FORMAT}


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def expected(path: Path) -> tuple[int, list[Chapter]]:
    """The length (samples) and chapters ``render`` gives the workout at `path`, with the tones voice."""
    audio = pipeline.AudioSettings(44100, voice=pipeline.VoiceSettings("tones"))
    w = pipeline.load(str(path), use_history=False)
    timeline, _ = pipeline.compile_with_speech(w, CompileOptions(), audio, None)
    return pipeline.make_renderer(timeline, audio).length, step_chapters(timeline)


def decoded_length(path: Path) -> int:
    with av.open(str(path)) as c:
        n = sum(f.samples for f in c.decode(audio=0))
        stream = c.streams.audio[0]
        assert stream.rate == 44100
        if path.suffix == ".m4a":  # FFmpeg decodes on to the last AAC frame; the edit list says where it ends
            return int(stream.duration)
    return n


def chapters_of(path: Path) -> list[tuple[int, str]]:
    """(start in ms, title) of each chapter, as a podcast app reads them: ID3 CHAP frames, MP4 Nero chapters."""
    if path.suffix == ".mp3":
        chaps = sorted(ID3(path).getall("CHAP"), key=lambda c: c.start_time)
        return [(c.start_time, str(c.sub_frames["TIT2"])) for c in chaps]
    return [(round(c.start * 1000), c.title) for c in MP4(path).chapters]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The three workouts rendered at once, the settings' voice engine (tones) as `render`'s default, stderr a
    terminal (the bar is drawn)."""
    d = tmp_path_factory.mktemp("batch")
    home = d / "home"
    home.mkdir()
    (home / "settings.toml").write_text('voice_engine = "tones"\n')
    out = d / "out"
    out.mkdir()
    jobs = []
    for key, text in WORKOUTS.items():
        (d / f"{key}.yaml").write_text(text)
        jobs.append(RenderJob(d / f"{key}.yaml", out / f"{key}{FORMATS[key]}", label=f"day {len(jobs) + 1}"))
    told: list[str] = []
    terminal = FakeTerminal()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCECOACH_HOME", str(home))
        mp.setenv("CADENCECOACH_CACHE_DIR", str(d / "cache"))
        mp.setenv("COLUMNS", "120")
        mp.setattr(sys, "stderr", terminal)
        started = time.monotonic()
        results = render_sessions(jobs, tell=told.append)
        took = time.monotonic() - started
    return {"dir": d, "jobs": jobs, "results": results, "told": told, "stderr": terminal.getvalue(), "took": took}


def test_results_are_the_outputs_in_job_order(batch) -> None:
    jobs = batch["jobs"]
    assert batch["results"] == [j.output for j in jobs]
    assert sorted(p.name for p in jobs[0].output.parent.iterdir()) == sorted(j.output.name for j in jobs)


@pytest.mark.parametrize("key", list(WORKOUTS))
def test_each_file_decodes_to_the_planned_length_with_a_chapter_per_step(batch, key: str) -> None:
    d = batch["dir"]
    path = d / "out" / f"{key}{FORMATS[key]}"
    length, chapters = expected(d / f"{key}.yaml")
    assert decoded_length(path) == length
    assert chapters_of(path) == [(round(c.start * 1000), c.title) for c in chapters]
    assert len(chapters) == 2 + 2 * (2 if key == "tempo" else 1)
    assert (
        chapters[1].title
        == {"easy": "Run 1 of 1 — 30 s", "tempo": "Run 1 of 2 — 40 s", "hills": "Run 1 of 1 — 25 s"}[key]
    )


def test_the_files_are_tagged_as_render_tags_them(batch) -> None:
    d = batch["dir"]
    mp3 = ID3(d / "out" / "easy.mp3")
    assert str(mp3["TIT2"]) == "Easy, 1" and mp3.getall("APIC")[0].data.startswith(b"\x89PNG")
    m4a = MP4(d / "out" / "tempo.m4a")
    assert m4a.tags is not None and m4a.tags["\xa9nam"] == ["Tempo; 2"] and m4a.tags["covr"]


def test_one_line_per_file_and_the_voice_once(batch) -> None:
    told = batch["told"]
    wrote = [line for line in told if line.startswith("wrote ")]
    found = [re.fullmatch(r"wrote (.+?): \d+:\d\d, \d+ clicks, \d+ cues", line) for line in wrote]
    names = sorted(m.group(1) for m in found if m is not None)
    assert names == sorted(str(j.output) for j in batch["jobs"])
    assert told.count("voice: tones (default)") == 1 and len(told) == 4, told


def test_the_batch_has_one_bar_on_a_terminal(batch) -> None:
    err = batch["stderr"]
    assert "rendering" in err and "3/3 files" in err
    assert "0/3 files" in err
    assert "wrote " not in err  # the lines went to `tell`; a worker's own render drew no bar of its own


def test_plain_lines_and_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path))
    (tmp_path / "w.yaml").write_text(workout("One", 20))
    told: list[str] = []
    got = render_sessions(
        [RenderJob(tmp_path / "w.yaml", tmp_path / "w.wav")], tell=told.append, voice=pipeline.VoiceSettings("tones")
    )
    assert got == [tmp_path / "w.wav"]
    assert [line.split(":")[0] for line in told] == ["voice", f"wrote {tmp_path / 'w.wav'}"]
    assert capsys.readouterr().err == ""


def test_bad_workouts_are_all_reported_before_anything_is_rendered(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path))
    (tmp_path / "good.yaml").write_text(workout("Good", 20))
    (tmp_path / "bad1.yaml").write_text(workout("Bad", 20).replace("cadence: 186", "cadence: fast"))
    (tmp_path / "bad2.yaml").write_text("name: x\nsteps:\n  - sprint: 10s\n")
    out = tmp_path / "out"
    out.mkdir()
    jobs = [RenderJob(tmp_path / f"{n}.yaml", out / f"{n}.mp3") for n in ("good", "bad1", "bad2")]
    with pytest.raises(WorkoutError) as info:
        render_sessions(jobs, tell=lambda line: None, voice=pipeline.VoiceSettings("tones"))
    lines = info.value.lines()
    assert any(line.startswith(f"{tmp_path / 'bad1.yaml'}:9:") for line in lines), lines
    assert any(line.startswith(f"{tmp_path / 'bad2.yaml'}:3:") for line in lines), lines
    assert all(re.match(r".+\.yaml:\d+:\d+: ", line) for line in lines if not line.startswith("warning: "))
    assert list(out.iterdir()) == []


def test_outputs_render_would_refuse_are_refused_first(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(workout("W", 20))
    same = [RenderJob(tmp_path / "w.yaml", tmp_path / "a.mp3"), RenderJob(tmp_path / "w.yaml", tmp_path / "a.mp3")]
    with pytest.raises(UsageError, match="two sessions would be written to it"):
        render_sessions(same, tell=print)
    with pytest.raises(UsageError, match="that is the workout file"):
        render_sessions([RenderJob(tmp_path / "w.yaml", tmp_path / "w.yaml")], tell=print)
    with pytest.raises(UsageError, match=r"-o .*x\.aiff"):
        render_sessions([RenderJob(tmp_path / "w.yaml", tmp_path / "x.aiff")], tell=print)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.yaml"]


# ------------------------------------------------------------------------------------- in a process of its own

SCRIPT = """\
import sys
from pathlib import Path

from cadencecoach.cli.app import exit_code_for
from cadencecoach.cli.batch_render import RenderJob, render_sessions
from cadencecoach.cli.stop import STOP_SIGNALS
from cadencecoach.errors import inform
from cadencecoach.pipeline import VoiceSettings

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2].startswith("--fsize="):  # a file size limit for this process and its own
        import resource

        limit = int(sys.argv.pop(2).removeprefix("--fsize="))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    STOP_SIGNALS.install()  # as cli.app.main does
    d = Path(sys.argv[1])
    jobs = [RenderJob(d / f"{n}.yaml", d / "out" / f"{n}.mp3") for n in sys.argv[2:]]
    try:
        render_sessions(jobs, workers=2, tell=inform, voice=VoiceSettings("tones"))
        code = 0
    except BaseException as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
    exec("")  # as cli.app.main: an interrupt caught above is not reported again at exit
    sys.exit(code)
"""


def _start(d: Path, names: list[str], *, fsize: int | None = None) -> subprocess.Popen[str]:
    (d / "out").mkdir()
    (d / "batch.py").write_text(SCRIPT)
    env = {**os.environ, "CADENCECOACH_HOME": str(d), "PYTHONPATH": str(SRC)}
    limit = [] if fsize is None else [f"--fsize={fsize}"]
    return subprocess.Popen(
        [sys.executable, str(d / "batch.py"), str(d), *limit, *names],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )  # fmt: skip


def _all_gone(group: int) -> None:
    deadline = time.monotonic() + 5
    while living_in_group(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert living_in_group(group) == []  # no worker (nor an encoder of one) outlived the batch


@pytest.mark.parametrize("how", ["ctrl-c to the terminal group", "sigterm to the main process"])
def test_a_stop_mid_render_leaves_no_partial_file_and_no_process(tmp_path: Path, how: str) -> None:
    names = ["a", "b", "c"]
    for n in names:  # 10 minutes each: seconds of encoding
        (tmp_path / f"{n}.yaml").write_text(workout(n, 30, reps=10, recover_s=30))
    proc = _start(tmp_path, names)
    out = tmp_path / "out"
    deadline = time.monotonic() + 30
    while len(list(out.glob(".*.tmp-*"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # both workers are writing their files
    assert len(list(out.glob(".*.tmp-*"))) == 2, proc.communicate()
    time.sleep(0.2)
    if how.startswith("ctrl-c"):
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == (130 if how.startswith("ctrl-c") else 143), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().endswith("stopped." if how.startswith("ctrl-c") else "stopped (SIGTERM).")
    assert list(out.iterdir()) == []  # none was finished; none left half-written
    _all_gone(proc.pid)


def test_a_job_failing_in_its_worker_stops_the_others_and_says_why(tmp_path: Path) -> None:
    """Files may be at most 1 MB (RLIMIT_FSIZE): the long sessions cannot be written (``-o FILE: cannot write it``,
    exit 2, like `render`), the short one can; nothing is left half-written, no worker stays."""
    for n, reps in (("short", 1), ("long1", 10), ("long2", 10)):
        (tmp_path / f"{n}.yaml").write_text(workout(n, 30, reps=reps, recover_s=30))
    proc = _start(tmp_path, ["long1", "short", "long2"], fsize=1_000_000)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert re.search(r"^error: -o \S+/long[12]\.mp3: cannot write it: .*too large.*$", err, re.M), err
    assert "Traceback" not in err
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert left in ([], ["short.mp3"]), left  # finished before the failure: complete
    if left:
        assert decoded_length(tmp_path / "out" / "short.mp3") == expected(tmp_path / "short.yaml")[0]
    _all_gone(proc.pid)
