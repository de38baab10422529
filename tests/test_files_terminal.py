"""The base pieces of the fault rules: bounded non-blocking reading (files.py) and the one sanitizer (terminal.py)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadencecoach.files import InputRefused, check_regular, os_reason, read_limited, same_file
from cadencecoach.terminal import console, is_safe, markup_safe, safe_text

UNSAFE = [chr(c) for c in range(0x20) if c not in (9, 10)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"]


# ------------------------------------------------------------------------------------------- files


def test_fifo_is_refused_at_once_without_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "w.yaml"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(InputRefused, match="FIFO"):
        read_limited(fifo, 1000)
    assert time.monotonic() - start < 1.0


def test_fifo_with_a_writer_that_never_stops_is_refused_too(tmp_path: Path) -> None:
    fifo = tmp_path / "w.yaml"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer() -> None:  # a writer that would feed it forever
        fd = os.open(fifo, os.O_RDWR)
        try:
            while not stop.is_set():
                try:
                    os.write(fd, b"x" * 4096)
                except BlockingIOError:
                    time.sleep(0.01)
        finally:
            os.close(fd)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        with pytest.raises(InputRefused, match="FIFO"):
            read_limited(fifo, 1000)
    finally:
        stop.set()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused(device: str) -> None:
    with pytest.raises(InputRefused, match="device"):
        read_limited(device, 1000)
    with pytest.raises(InputRefused, match="device"):
        check_regular(device)


def test_directory_missing_and_size(tmp_path: Path) -> None:
    with pytest.raises(InputRefused, match="directory"):
        read_limited(tmp_path, 1000)
    with pytest.raises(InputRefused, match="directory"):
        check_regular(tmp_path)
    with pytest.raises(InputRefused, match="no such file"):
        read_limited(tmp_path / "nope.yaml", 1000)
    p = tmp_path / "w.yaml"
    p.write_bytes(b"a" * 1000)
    assert read_limited(p, 1000) == b"a" * 1000  # exactly at the limit is fine
    p.write_bytes(b"a" * 1001)
    with pytest.raises(InputRefused, match="over 1000 bytes"):
        read_limited(p, 1000)


def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "w.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputRefused, match="device"):
        read_limited(link, 10)


def test_same_file_sees_links_and_dots(tmp_path: Path) -> None:
    a = tmp_path / "song.ogg"
    a.write_bytes(b"x")
    (tmp_path / "hard.ogg").hardlink_to(a)
    (tmp_path / "soft.ogg").symlink_to(a)
    assert same_file(a, tmp_path / "hard.ogg")
    assert same_file(a, tmp_path / "soft.ogg")
    assert same_file(a, tmp_path / "sub" / ".." / "song.ogg")
    assert not same_file(a, tmp_path / "other.ogg")
    assert same_file(tmp_path / "new.wav", tmp_path / "." / "new.wav")  # neither exists: same path


def test_os_reason_words() -> None:
    import errno

    assert os_reason(OSError(errno.ENOSPC, "No space left on device")) == "the disk is full"
    assert os_reason(OSError(errno.EROFS, "Read-only file system")) == "the file system is read-only"
    assert os_reason(OSError(errno.EACCES, "Permission denied")) == "permission denied"
    assert os_reason(OSError(errno.ECONNRESET, "Connection reset by peer")) == "Connection reset by peer"


# ---------------------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("ch", UNSAFE + BIDI + ["\u2028", "\u2029", "\u061c"])
def test_every_control_is_escaped(ch: str) -> None:
    out = safe_text(f"a{ch}b")
    assert ch not in out and out.startswith("a\\") and out.endswith("b")
    assert is_safe(out)


def test_escapes_read_as_python_escapes() -> None:
    assert safe_text("\x1b[2J\x07\r\t\n\x9b\u202e") == "\\x1b[2J\\x07\\r\\t\\n\\x9b\\u202e"
    assert safe_text("notes:\n\tline", multiline=True) == "notes:\n\tline"
    assert safe_text("a\x1bb\nc", multiline=True) == "a\\x1bb\nc"


def test_markup_is_shown_literally() -> None:
    from io import StringIO

    buf = StringIO()
    c = console(file=buf, force_terminal=False, width=80)
    c.print(markup_safe("[bold red]Run[/] \x1b]0;x\x07"))
    assert buf.getvalue().strip() == "[bold red]Run[/] \\x1b]0;x\\x07"


def test_console_broken_pipe_is_an_exception_not_an_exit() -> None:
    class Closed:
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def isatty(self) -> bool:
            return False

    c = console(file=Closed())  # type: ignore[arg-type]
    with pytest.raises(BrokenPipeError):
        c.print("x")


@given(st.text())
def test_safe_text_never_lets_a_control_through(s: str) -> None:
    out = safe_text(s)
    assert is_safe(out)
    assert not any(ch in out for ch in UNSAFE + BIDI + ["\t", "\n"])
    if is_safe(s):
        assert out == s  # ordinary text (any script, emoji, accents) is left exactly as it is


@given(st.text())
def test_multiline_keeps_only_newlines_and_tabs(s: str) -> None:
    out = safe_text(s, multiline=True)
    assert is_safe(out, multiline=True)
    assert out.count("\n") == s.count("\n")


# ------------------------------------------------------------------------------------- the guard


def test_guard_prints_error_lines_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from cadencecoach.cli.app import exit_code_for
    from cadencecoach.errors import Problem, WorkoutError

    code = exit_code_for(WorkoutError([Problem("w.yaml", 1, 7, "unknown key 'x\x1b]0;pwned\x07'")]))
    assert code == 2
    assert capsys.readouterr().err == "w.yaml:1:7: unknown key 'x\\x1b]0;pwned\\x07'\n"


def test_guard_turns_an_unforeseen_file_error_into_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    from cadencecoach.cli.app import exit_code_for

    assert exit_code_for(OSError(errno.EROFS, "Read-only file system", "/mnt/card/out.wav")) == 2
    assert capsys.readouterr().err == "error: /mnt/card/out.wav: the file system is read-only\n"
    assert exit_code_for(OSError("no errno, no file")) is None  # not a user's file problem: stays internal


def test_warnings_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from cadencecoach.errors import warn

    warn("step 'Run\x1b[2J' has no cadence")
    assert capsys.readouterr().err == "warning: step 'Run\\x1b[2J' has no cadence\n"


def test_read_limited_head_gives_the_first_bytes_of_a_file_too_big(tmp_path: Path) -> None:
    big = tmp_path / "big.fit"
    big.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    assert read_limited(big, 100, head=True) == bytes(range(100))
    assert read_limited(big, 20_000, head=True) == big.read_bytes()
    with pytest.raises(InputRefused, match="is over 100 bytes"):
        read_limited(big, 100)
    with pytest.raises(InputRefused):
        read_limited(tmp_path, 100, head=True)  # a folder is still refused
