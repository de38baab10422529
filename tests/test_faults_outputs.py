"""Fault suite, output side: nothing of the user's is destroyed, no temporary file is left, every path problem
is one line (exit 2) said before the work starts, and again when the disk refuses while writing.

- an output that is one of the inputs (the workout, a song, a file in a ``--music`` folder; by path, ``./``,
  symlink or hard link) is refused, and so is a side file (the Audacity labels) that would replace a file the
  tool did not write: the labels then go to ``NAME.labels.txt`` with a warning;
- SIGTERM, SIGHUP (and SIGINT) during a render end with exit 143 / 129 (130), one line, no temporary file and
  the old target as it was;
- outputs get the user's umask (0644 under 022, 0640 under 027) in every format;
- ``-o`` naming a folder, a device, a FIFO, a missing folder, a file as folder, a folder that is not writable
  (run without CAP_DAC_OVERRIDE), a read-only file system, a file that cannot fit in the free space (a 1 MB
  tmpfs): one line before the work; the disk filling up while encoding (ENOSPC, and EFBIG from RLIMIT_FSIZE):
  one line with the reason in words, exit 2, old target intact, nothing left behind.

The command-line cases run the real program (``faults.cc``); a few need root (tmpfs mounts, dropping a
capability) and skip with the reason where that is impossible.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import faults
from cadencecoach import atomic
from cadencecoach.cli import app as cli
from cadencecoach.cli import options, stop
from cadencecoach.errors import UsageError
from cadencecoach.sinks import audiofile, tags
from cadencecoach.sinks.audiofile import NotEnoughSpace, estimated_bytes, open_writer
from extra_deps import needs_extra
from faults import Outcome, assert_clean, assert_nothing_lost, cc, one_line_error, snapshot, temp_leftovers

SHORT = "name: short\nvoice: off\ncadence: 180\nsteps:\n  - run: 10s\n"
TEN_MINUTES = "name: ten\nvoice: off\ncadence: 180\nsteps:\n  - run: 10min\n"
LONG = "name: long\nvoice: off\ncadence: 180\nsteps:\n  - run: 10h\n"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def workout(folder: Path, name: str = "w.yaml", text: str = SHORT) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# -- root-only helpers: small file systems, no CAP_DAC_OVERRIDE ------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    """A small tmpfs at `path` (we are root in the test sandbox); skip with the reason when it cannot be mounted."""
    path.mkdir(exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full or read-only disk: {r.stderr.decode().strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount_read_only(path: Path) -> None:
    r = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {r.stderr.decode().strip()}")


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of `folder` up, leaving about `leave` bytes (whole pages) free; returns the pad file."""
    pad = folder / "pad"
    fd = os.open(pad, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return pad


def cc_unprivileged(*args: str, home: Path) -> Outcome:
    """``faults.cc`` for a child that file permissions apply to (``faults.cc_unprivileged``)."""
    return faults.cc_unprivileged(*args, home=home, cwd=None)


def cc_limited(*args: str, home: Path, file_size: int) -> Outcome:
    """``faults.cc`` with RLIMIT_FSIZE: a write past `file_size` fails with EFBIG (Python ignores SIGXFSZ)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return cc(*args, home=home, preexec=limit)


def cc_signalled(
    sig: signal.Signals, ready: Callable[[], bool], *args: str, home: Path, env: dict[str, str] | None = None
) -> Outcome:
    """Run the command line like ``faults.cc``, send `sig` once `ready()`, and measure it the same way."""
    return cc(*args, home=home, env=env, stop=(sig, ready), timeout=60)


def writing_into(folder: Path) -> bool:
    """A writer's temporary file in `folder` has data in it (not the empty probe ``check_output`` makes)."""
    for temp in temp_leftovers(folder):
        with contextlib.suppress(OSError):
            if temp.stat().st_size > 0:
                return True
    return False


# -- outputs that are inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink"])
def test_render_refuses_to_write_over_its_workout(work: Path, home: Path, how: str) -> None:
    """A workout saved as ``x.wav``: the extension passes the format check, so only the input check saves it."""
    w = workout(work, "x.wav")
    out = {"same": w, "dot": work / "." / "x.wav", "symlink": work / "link.wav", "hardlink": work / "hard.wav"}[how]
    if how == "symlink":
        out.symlink_to(w)
    elif how == "hardlink":
        os.link(w, out)
    before = snapshot(work)
    r = cc("render", str(w), "-o", str(out), home=home)
    assert_clean(r, 2, f"-o {out}", "the workout file", "choose another name")
    one_line_error(r)
    assert_nothing_lost(before, work)


def test_render_names_the_workout_before_the_format(work: Path, home: Path) -> None:
    w = workout(work)
    before = snapshot(work)
    r = cc("render", str(w), "-o", str(w), home=home)
    assert_clean(r, 2, "that is the workout file")
    assert "format" not in r.stderr
    assert_nothing_lost(before, work)


def test_render_refuses_to_write_over_a_song_of_music(work: Path, home: Path) -> None:
    w = workout(work)
    song = work / "song.ogg"
    song.write_bytes(b"OggS not really a song, but the user's")
    before = snapshot(work)
    r = cc("render", str(w), "--music", str(song), "-o", str(song), home=home)
    assert_clean(r, 2, f"-o {song}", "given with --music")
    assert_nothing_lost(before, work)


def test_convert_refuses_to_write_over_its_input(work: Path, home: Path) -> None:
    w = workout(work)
    before = snapshot(work)
    r = cc("convert", str(w), "-o", f"{work}/./w.yaml", home=home)
    assert_clean(r, 2, "-o", "that is the workout file")
    assert_nothing_lost(before, work)


def test_convert_refuses_a_user_workout_by_name(work: Path, home: Path) -> None:
    """``convert tempo -o ~/.../workouts/tempo.yaml``: the name resolves to the very file it would write."""
    mine = home / "workouts"
    mine.mkdir(parents=True)
    w = workout(mine, "tempo.yaml")
    before = snapshot(home)
    r = cc("convert", "tempo", "-o", str(w), home=home)
    assert_clean(r, 2, "that is the workout file")
    assert_nothing_lost(before, home)


def test_track_click_refuses_to_write_over_its_workout(work: Path, home: Path) -> None:
    w = workout(work, "x.flac")
    before = snapshot(work)
    r = cc("track", "click", str(w), "-o", str(w), home=home)
    assert_clean(r, 2, "that is the workout file")
    assert_nothing_lost(before, work)


@needs_extra("music")
@pytest.mark.parametrize("case", ["song", "in-folder", "linked-from-folder"])
def test_track_build_refuses_to_write_over_a_song(work: Path, home: Path, case: str) -> None:
    music = work / "music"
    (music / "sub").mkdir(parents=True)
    inside = music / "sub" / "a-song.ogg"
    inside.write_bytes(b"the user's song")
    elsewhere = work / "elsewhere.ogg"
    elsewhere.write_bytes(b"another song of the user's")
    (music / "link.ogg").symlink_to(elsewhere)  # the folder's song is a link: its target is an input too
    given, out = {
        "song": (inside, inside),
        "in-folder": (music, inside),
        "linked-from-folder": (music, elsewhere),
    }[case]
    before = snapshot(work)
    r = cc("track", "build", "--music", str(given), "-o", str(out), home=home)
    assert_clean(r, 2, f"-o {out}", "given with --music", "choose another name")
    assert_nothing_lost(before, work)


# -- side files: the labels beside a mix -------------------------------------------------------------------


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from extra_deps import require_extra

    require_extra("music")
    from music_synth import synth_song

    root = tmp_path_factory.mktemp("songs")
    folder = root / "songs"
    folder.mkdir()
    for i, tempo in enumerate((176.0, 90.0)):
        synth_song(tempo, 10.0, pattern="rock", seed=i).write(folder / f"{i}.flac", title=f"Song {i}", artist="Synth")
    return folder, root / "cache"


def test_track_build_keeps_a_text_file_of_the_users_beside_the_mix(
    work: Path, home: Path, songs: tuple[Path, Path]
) -> None:
    """``-o mix.mp3`` writes labels to ``mix.txt``: the user's own notes there are kept and the labels go to
    ``mix.labels.txt`` (said in a warning; that file, being ours, is replaced next time: test_label_path_rules).
    Everything comes out with the umask's mode."""
    folder, cache = songs
    notes = work / "mix.txt"
    notes.write_text("my notes about this run\n")
    out = work / "mix.mp3"
    old = os.umask(0o022)
    try:
        r = cc(
            "track", "build", "--music", str(folder), "-o", str(out), "--cadence", "180",
            home=home, env={"CADENCECOACH_CACHE_DIR": str(cache)},
        )  # fmt: skip
    finally:
        os.umask(old)
    assert_clean(r, 0, "is not a label file written by cadencecoach", "mix.labels.txt")
    assert notes.read_text() == "my notes about this run\n"
    labels = (work / "mix.labels.txt").read_text().splitlines()
    assert len(labels) == 2 and labels[1].endswith("Synth - Song 1")
    assert sorted(p.name for p in work.iterdir()) == ["mix.labels.txt", "mix.mp3", "mix.txt"]
    for p in (out, work / "mix.labels.txt"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_track_build_stopped_by_sigterm_leaves_nothing(work: Path, home: Path, songs: tuple[Path, Path]) -> None:
    folder, cache = songs
    out = work / "mix.mp3"
    out.write_bytes(b"old mix")
    before = snapshot(work)
    r = cc_signalled(
        signal.SIGTERM, lambda: writing_into(work),
        "track", "build", "--music", str(folder), "-o", str(out), "--duration", "20min",
        home=home, env={"CADENCECOACH_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert_clean(r, 143, "stopped (SIGTERM)")
    assert_nothing_lost(before, work)


def test_label_path_rules(tmp_path: Path) -> None:
    mix = tmp_path / "mix.ogg"
    assert tags.label_path(mix) == tmp_path / "mix.txt"  # free
    (tmp_path / "mix.txt").write_text("0.000000\t9.500000\tA - Song\n9.500000\t20.000000\tB\n")
    assert tags.label_path(mix) == tmp_path / "mix.txt"  # ours: replaced
    (tmp_path / "mix.txt").write_text("0.0\t9.5\tA - Song\nand a note of mine\n")
    assert tags.label_path(mix) == tmp_path / "mix.labels.txt"  # not only labels: someone else's
    (tmp_path / "mix.labels.txt").write_text("shopping list\n")
    assert tags.label_path(mix) == tmp_path / "mix.labels-2.txt"
    (tmp_path / "mix.labels-2.txt").write_text("")  # empty: nothing to lose
    assert tags.label_path(mix) == tmp_path / "mix.labels-2.txt"


@pytest.mark.parametrize("data", [b"1.0\t0.5\tend before start\n", b"x\t1\ty\n", b"0\t1\n", b"0\t1\t\xff\xfe\n"])
def test_what_is_not_a_label_file(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "mix.txt"
    p.write_bytes(data)
    assert not tags.is_label_file(p)
    p.write_bytes(b"x" * (tags.LABEL_FILE_LIMIT + 1))
    assert not tags.is_label_file(p)


def test_a_fifo_or_a_folder_is_never_taken_for_labels(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "a.txt")
    (tmp_path / "b.txt").mkdir()
    assert tags.label_path(tmp_path / "a.mp3") == tmp_path / "a.labels.txt"  # and it did not block
    assert tags.label_path(tmp_path / "b.mp3") == tmp_path / "b.labels.txt"


def test_every_label_name_taken_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tags, "LABEL_ALTERNATIVES", 3)
    for name in ("m.txt", "m.labels.txt", "m.labels-2.txt", "m.labels-3.txt"):
        (tmp_path / name).write_text("not labels\n")
    with pytest.raises(UsageError, match="are all files cadencecoach did not write"):
        tags.label_path(tmp_path / "m.wav")


# -- signals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sig", "ext", "rate", "code"),
    [
        (signal.SIGTERM, ".wav", "8000", 143),
        (signal.SIGTERM, ".ogg", "44100", 143),
        (signal.SIGHUP, ".flac", "48000", 129),
        (signal.SIGHUP, ".wav", "8000", 129),
        (signal.SIGINT, ".ogg", "44100", 130),
    ],
)
def test_a_stop_signal_during_a_render_leaves_no_temporary_file(
    work: Path, home: Path, sig: signal.Signals, ext: str, rate: str, code: int
) -> None:
    """SIGTERM (a kill, a shutdown) and SIGHUP (a closed terminal) used to end the process at once and leave the
    hidden ``.NAME.tmp-PID-RAND`` file behind (one left 5 GB); now they stop the render like Ctrl-C does."""
    w = workout(work, text=LONG)
    target = work / f"out{ext}"
    target.write_bytes(b"the old render")
    before = snapshot(work)
    r = cc_signalled(
        sig, lambda: writing_into(work), "render", str(w), "-o", str(target), "--sample-rate", rate, home=home
    )
    words = ("stopped.",) if sig == signal.SIGINT else (f"stopped ({sig.name}).",)
    assert_clean(r, code, *words)
    one_line_error(r)
    assert_nothing_lost(before, work)


def test_stop_signals_cooperate_with_the_live_player() -> None:
    """The player's own SIGTERM handling (fade, summary, 143) takes over while it plays and gives ours back."""
    from cadencecoach.sinks.live import player as live

    stops = stop.StopSignals()
    stops.install()
    try:
        ours = signal.getsignal(signal.SIGTERM)
        assert ours == stops._handle and signal.getsignal(signal.SIGHUP) == stops._handle
        term = live._SigTerm()
        assert signal.getsignal(signal.SIGTERM) == term._handler
        term.restore()
        assert signal.getsignal(signal.SIGTERM) == ours
    finally:
        stops.restore()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_signal_the_parent_ignores_stays_ignored() -> None:
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
    try:
        stops = stop.StopSignals()
        stops.install()
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        stops.restore()
    finally:
        signal.signal(signal.SIGHUP, old)


def test_stop_exit_codes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.exit_code_for(stop.Stopped(signal.SIGTERM)) == 143
    assert cli.exit_code_for(stop.Stopped(signal.SIGHUP)) == 129
    assert cli.exit_code_for(KeyboardInterrupt()) == 130
    monkeypatch.setattr(stop.STOP_SIGNALS, "received", signal.SIGHUP)  # the player re-raised Ctrl-C for a SIGHUP
    assert cli.exit_code_for(KeyboardInterrupt()) == 129
    said = capsys.readouterr().err.splitlines()
    assert said == ["stopped (SIGTERM).", "stopped (SIGHUP).", "stopped.", "stopped (SIGHUP)."]


def test_a_stop_inside_an_uninterrupted_region_waits_for_its_end() -> None:
    """A signal handler's raise inside libsndfile's callback would be lost; it is kept for the region's end."""
    happened: list[str] = []

    def stop() -> None:
        happened.append("stop")
        raise KeyboardInterrupt

    assert not atomic.defer_stop(stop)  # outside: the handler raises at once
    with pytest.raises(KeyboardInterrupt), atomic.uninterrupted():
        with atomic.uninterrupted():
            assert atomic.defer_stop(stop)
            assert atomic.defer_stop(lambda: happened.append("second"))  # the first one kept is the one raised
        happened.append("inner end")  # nested: not yet
    assert happened == ["inner end", "stop"]
    assert not atomic.defer_stop(stop)


def test_the_handler_defers_inside_a_region() -> None:
    stops = stop.StopSignals()
    with pytest.raises(stop.Stopped), atomic.uninterrupted():
        stops._handle(signal.SIGTERM, None)  # kept, not raised here
        assert stops.received is None
    assert stops.received == signal.SIGTERM
    stops._handle(signal.SIGTERM, None)  # a second one during the cleanup is only noted


# -- umask ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_get_the_users_umask(work: Path, home: Path, mask: int) -> None:
    """``convert`` used to write 0600 (mkstemp); every output now goes through atomic.temp_beside (0666 & ~umask).
    Every format under 022; under 027 two, to show it is the umask and not a fixed 0644."""
    w = workout(work)
    commands: list[tuple[str, ...]]
    if mask == 0o022:
        commands = [("render", str(w), "-o", str(work / f"r{ext}")) for ext in (".wav", ".flac", ".ogg", ".mp3")]
        commands += [("convert", str(w), "-o", str(work / f"c{ext}")) for ext in (".yaml", ".fit")]
        commands += [("track", "click", "--profile", "5s@170", "-o", str(work / "t.flac"))]
    else:
        commands = [("render", str(w), "-o", str(work / "r.ogg")), ("convert", str(w), "-o", str(work / "c.fit"))]
    old = os.umask(mask)
    try:
        for args in commands:
            assert_clean(cc(*args, home=home), 0)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in work.iterdir() if p != w}
    assert len(modes) == len(commands)
    assert modes == dict.fromkeys(modes, 0o666 & ~mask)


# -- path problems before the work ------------------------------------------------------------------------


def test_a_missing_folder_is_one_line_not_an_internal_error(work: Path, home: Path) -> None:
    w = workout(work)
    r = cc("render", str(w), "-o", "/nonexist/x.wav", home=home)
    assert_clean(r, 2, "-o /nonexist/x.wav", "no such folder /nonexist")
    one_line_error(r)


@pytest.mark.parametrize(
    ("command", "name", "words"),
    [
        ("render", "folder", ("is a folder; give a file name",)),
        ("render", "file/x.wav", ("is not a folder",)),
        ("render", "/dev/null", ("is a device, not a regular file",)),
        ("render", "fifo.wav", ("is a FIFO",)),
        ("convert", "folder", ("is a folder",)),
        ("convert", "/dev/null", ("is a device",)),
        ("convert", "missing/x.fit", ("no such folder",)),
        ("track click", "folder", ("is a folder",)),
    ],
)
def test_bad_output_paths(work: Path, home: Path, command: str, name: str, words: tuple[str, ...]) -> None:
    w = workout(work)
    (work / "folder").mkdir()
    (work / "file").write_text("x")
    os.mkfifo(work / "fifo.wav")
    out = name if name.startswith("/") else str(work / name)
    before = snapshot(work)
    r = cc(*command.split(), str(w), "-o", out, home=home)
    assert_clean(r, 2, f"-o {out}", *words, seconds=10)
    one_line_error(r)
    assert_nothing_lost(before, work)
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("command", ["render", "convert"])
def test_a_folder_that_is_not_writable(work: Path, home: Path, command: str) -> None:
    w = workout(work)
    locked = work / "locked"
    locked.mkdir()
    ext = ".wav" if command == "render" else ".yaml"
    target = locked / f"out{ext}"
    target.write_text("the old file")
    locked.chmod(0o555)
    before = snapshot(work)
    try:
        r = cc_unprivileged(command, str(w), "-o", str(target), home=home)
    finally:
        locked.chmod(0o755)
    assert_clean(r, 2, f"-o {target}", f"cannot write in {locked}", "permission denied")
    one_line_error(r)
    assert_nothing_lost(before, work)


@pytest.mark.parametrize("command", ["render", "convert"])
def test_a_read_only_file_system(work: Path, home: Path, command: str) -> None:
    w = workout(work)
    ext = ".flac" if command == "render" else ".fit"
    with tmpfs(work / "ro") as ro:
        target = ro / f"out{ext}"
        target.write_text("the old file")
        remount_read_only(ro)
        before = snapshot(ro)
        r = cc(command, str(w), "-o", str(target), home=home)
        assert_clean(r, 2, f"-o {target}", "read-only")
        one_line_error(r)
        assert_nothing_lost(before, ro)


@pytest.mark.parametrize(("ext", "extra"), [(".wav", ()), (".wav", ("--bit-depth", "24")), (".mp3", ())])
def test_a_file_that_cannot_fit_is_refused_before_the_work(
    work: Path, home: Path, ext: str, extra: tuple[str, ...]
) -> None:
    """WAV sizes are exact and MP3 sizes follow the constant bit rate: 10 minutes cannot fit in 1 MB."""
    w = workout(work, text=TEN_MINUTES)
    with tmpfs(work / "small") as small:
        target = small / f"out{ext}"
        target.write_bytes(b"old")
        before = snapshot(small)
        r = cc("render", str(w), "-o", str(target), *extra, home=home)
        assert_clean(r, 2, f"-o {target}", "needs at least", "MB is free in", seconds=5)
        one_line_error(r)
        assert_nothing_lost(before, small)


# -- the disk refuses while writing -------------------------------------------------------------------------


@pytest.mark.parametrize(("ext", "size"), [(".flac", "1m"), (".ogg", "128k")])
def test_the_disk_filling_up_while_encoding(work: Path, home: Path, ext: str, size: str) -> None:
    """FLAC and Ogg sizes are only bounded from below, so the render starts; libsndfile then said "System error"
    (FLAC) or nothing (Ogg); now it is the reason in words, and the old file is as it was."""
    w = workout(work, text=TEN_MINUTES)  # 4 MB of FLAC, 700 KB of Ogg; their floors: 53 KB and 37 KB
    with tmpfs(work / "small", size) as small:
        target = small / f"out{ext}"
        target.write_bytes(b"the old render")
        before = snapshot(small)
        r = cc("render", str(w), "-o", str(target), home=home)
        assert_clean(r, 2, f"-o {target}: cannot write it: the disk is full")
        one_line_error(r)
        assert "System error" not in r.stderr
        assert_nothing_lost(before, small)


def test_convert_on_a_full_disk(work: Path, home: Path) -> None:
    w = workout(work)
    with tmpfs(work / "small") as small:
        target = small / "out.yaml"
        target.write_text("name: the old one\n")
        fill(small)
        before = snapshot(small)
        r = cc("convert", str(w), "-o", str(target), home=home)
        assert_clean(r, 2, f"-o {target}", "the disk is full")
        one_line_error(r)
        assert_nothing_lost(before, small)


def test_a_file_size_limit_while_encoding(work: Path, home: Path) -> None:
    """RLIMIT_FSIZE (ulimit -f): EFBIG from the direct WAV writer, in words."""
    w = workout(work, text=TEN_MINUTES)
    target = work / "out.wav"
    target.write_bytes(b"old")
    before = snapshot(work)
    r = cc_limited("render", str(w), "-o", str(target), home=home, file_size=1 << 20)
    assert_clean(r, 2, f"-o {target}: cannot write it: the file is too large")
    one_line_error(r)
    assert_nothing_lost(before, work)


# -- unit: the writer's errors, the size estimates, the checks ------------------------------------------------

SR = 44100


def _noise(seconds: float, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(7)
    return (0.3 * rng.standard_normal((round(seconds * SR), channels))).astype(np.float32)


def _write(path: Path, data: np.ndarray, **kwargs: Any) -> None:
    with open_writer(path, SR, data.shape[1], **kwargs) as w:
        for start in range(0, len(data), 4410):
            w.write(data[start : start + 4410])


@pytest.mark.parametrize(
    ("ext", "kwargs"),
    [(".wav", {}), (".wav", {"bit_depth": 24}), (".wav", {"expected_frames": 3 * SR}), (".flac", {}), (".ogg", {}),
     (".mp3", {"bitrate": 192}), (".mp3", {"quality": 9}), (".m4a", {"bitrate": 256}), (".opus", {"bitrate": 256})],
)  # fmt: skip
def test_every_encoder_reports_a_full_disk_with_its_errno(tmp_path: Path, ext: str, kwargs: dict[str, Any]) -> None:
    with tmpfs(tmp_path / "small", "32k") as small:  # 3 s of stereo noise: 50 KB of Ogg or MP3, 500 KB of FLAC
        target = small / f"out{ext}"
        target.write_bytes(b"old")
        with pytest.raises(OSError) as info:
            _write(target, _noise(3.0), **kwargs)
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
        assert target.read_bytes() == b"old" and sorted(p.name for p in small.iterdir()) == ["out" + ext]


@pytest.mark.parametrize("ext", [".ogg", ".mp3", ".flac"])
def test_a_tail_that_does_not_fit_is_an_error_not_a_short_file(tmp_path: Path, ext: str) -> None:
    """With a little less room than the file needs, libsndfile's Ogg encoder used to drop its last pages without
    a word (the file was committed cut short): every short write is an error now."""
    data = _noise(3.0)
    _write(tmp_path / f"full{ext}", data)
    size = (tmp_path / f"full{ext}").stat().st_size
    with tmpfs(tmp_path / "small", "1m") as small:
        fill(small, leave=max(0, size - 4096))
        target = small / f"out{ext}"
        with pytest.raises(OSError) as info:
            _write(target, data)
        assert info.value.errno == errno.ENOSPC
        assert sorted(p.name for p in small.iterdir()) == ["pad"]


def test_wav_estimate_is_exact(tmp_path: Path) -> None:
    """The sample data exactly; the header (44 bytes from the direct writer, a little more from libsndfile) is
    what the estimate leaves out."""
    data = _noise(0.5)
    for bit_depth, headers in ((16, (44,)), (24, tuple(range(44, 101)))):
        target = tmp_path / f"x{bit_depth}.wav"
        _write(target, data, bit_depth=bit_depth, expected_frames=len(data))
        assert sf.info(str(target)).frames == len(data)
        assert target.stat().st_size - estimated_bytes(target, len(data), SR, 2, bit_depth) in headers


@pytest.mark.parametrize("ext", [".flac", ".ogg", ".mp3"])
def test_lossy_and_flac_estimates_are_lower_bounds_even_for_silence(tmp_path: Path, ext: str) -> None:
    silence = np.zeros((20 * SR, 1), np.float32)
    target = tmp_path / f"s{ext}"
    _write(target, silence)
    assert 0 < estimated_bytes(target, len(silence), SR, 1) <= target.stat().st_size


class _Usage:
    def __init__(self, free: int) -> None:
        self.total = self.used = 0
        self.free = free


def test_open_writer_refuses_what_cannot_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audiofile.shutil, "disk_usage", lambda _p: _Usage(1000))
    with pytest.raises(NotEnoughSpace, match=r"needs at least 5\.3 MB but only 0\.0 MB is free"):
        open_writer(tmp_path / "x.wav", SR, expected_frames=60 * SR)  # a minute, 16-bit mono: 5.3 MB
    assert list(tmp_path.iterdir()) == []
    with open_writer(tmp_path / "x.wav", SR) as w:  # no length given: nothing to check before
        w.write(np.zeros(10, np.float32))


def test_check_space_names_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audiofile.shutil, "disk_usage", lambda _p: _Usage(2_000_000))
    with pytest.raises(UsageError, match=r"^-o .*x\.mp3: needs at least 2\.8 MB but only 2\.0 MB is free in "):
        options.check_space(tmp_path / "x.mp3", 180 * SR, SR, 2, 16, 128)
    options.check_space(tmp_path / "x.flac", 180 * SR, SR, 2)  # FLAC: only a floor, which fits


def test_atomic_writers_name_the_target_not_their_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.yaml"
    target.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError) as info:
        atomic.write_text(target, "new")
    assert info.value.errno == errno.EIO and info.value.filename == str(target)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.yaml"]


def test_writing_names_the_option_only_for_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    with pytest.raises(UsageError, match=r"^-o .*out\.wav: cannot write it: the disk is full$"), options.writing(out):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))
    with pytest.raises(PermissionError), options.writing(out):  # another file's problem is not -o's
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "cache.json"))


def test_check_output_finds_the_same_file_every_way(tmp_path: Path) -> None:
    song = tmp_path / "music" / "deep" / "song.ogg"
    song.parent.mkdir(parents=True)
    song.write_bytes(b"x")
    hard = tmp_path / "hard.ogg"
    os.link(song, hard)
    sym = tmp_path / "sym.ogg"
    sym.symlink_to(song)
    inputs = [("--music", tmp_path / "music")]
    for out in (song, hard, sym, tmp_path / "music" / "deep" / ".." / "deep" / "song.ogg"):
        with pytest.raises(UsageError, match="given with --music"):
            options.check_output(out, inputs)
    options.check_output(tmp_path / "music" / "new.ogg", inputs)  # a new file in the folder destroys nothing
    options.check_output(tmp_path / "other.ogg", [("the workout file", tmp_path / "w.yaml")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.ogg", "music", "sym.ogg"]  # the probe is gone


def test_convert_refuses_a_yaml_too_big_to_load_back(tmp_path: Path) -> None:
    """A large intervals.icu file converts to more YAML than a YAML workout may hold: refused, nothing written."""
    src = tmp_path / "big.txt"
    src.write_text("Big\n" + "".join(f"- {i % 5 + 1}s 5:00/km pace\n" for i in range(3500)))
    before = faults.snapshot(tmp_path)
    r = faults.cc("convert", str(src), "-o", str(tmp_path / "big.yaml"), home=tmp_path / "home")
    faults.assert_clean(r, 2, "-o", "KiB", "at most 128 KiB")
    faults.assert_nothing_lost(before, tmp_path, allow_new=(tmp_path / "home",))
