"""The harness of the fault suite (``tests/test_faults_*.py``): run the real command line as a user would,
in a subprocess, and measure what it cost.

:func:`cc` runs ``python -m cadencecoach ARGS`` with its own ``CADENCECOACH_HOME`` (so the user's history,
settings and caches are never touched), stdin from /dev/null, a hard timeout, and returns a
:class:`Outcome`: exit code, stdout, stderr, wall time and the child's peak resident memory (from
``wait4``'s rusage, so it is the process's own figure, not a sample). :func:`assert_clean` holds every
fault case to the brief's rules: the exit code wanted, the message's words, no traceback or "internal error",
no raw control character on either stream, and time and memory under their bounds. :func:`snapshot` and
:func:`assert_nothing_lost` check that no file was lost, changed or left half-written (no ``.tmp-`` file).

``FAULT_LOG`` (env) names a file that gets one line per case (name, seconds, peak MB): the note's figures.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# what a fault case may cost at most: a tiny hostile file must be refused in well under this
TIME_BOUND_S = 20.0
MEMORY_BOUND_MB = 400.0

_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Outcome:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


# A tiny parent for the measured process: Linux carries a process's peak RSS across exec, and a child forked
# from pytest starts with pytest's; spawned from this small interpreter it starts with ~10 MB, so the figure
# is the program's own. It passes the exit status on (a death by a signal, too) and writes the peak in KB.
_SPAWN = (
    "import os, signal, sys\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n"
    "    signal.signal(s, lambda n, f: os.kill(pid, n))\n"
    "while True:\n"
    "    try:\n"
    "        _, status, usage = os.wait4(pid, 0)\n"
    "        break\n"
    "    except InterruptedError:\n"
    "        continue\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(str(usage.ru_maxrss))\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "if code < 0:\n"
    "    signal.signal(-code, signal.SIG_DFL)\n"
    "    os.kill(os.getpid(), -code)\n"
    "sys.exit(code)\n"
)


def cc(
    *args: str,
    home: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = TIME_BOUND_S * 2,
    stdin: int | None = subprocess.DEVNULL,
    prefix: tuple[str, ...] = (),
    preexec: Callable[[], None] | None = None,
    stop: tuple[signal.Signals, Callable[[], bool]] | None = None,
) -> Outcome:
    """Run the command line in a subprocess; wall time, and the program's own peak RSS measured by ``wait4`` in
    a tiny spawning parent.

    `prefix` goes before the program (a ``setpriv`` that drops root's powers over permissions); `preexec` runs
    in the child before it starts (a ``setrlimit``; inherited by the program); `stop` is ``(signal, ready)``:
    the signal is sent (passed on by the parent) once ``ready()`` is true, as a user's ``kill`` would be.
    """
    full_env = {**os.environ, "CADENCECOACH_HOME": str(home), "COLUMNS": "120", **(env or {})}
    fd, peak_file = tempfile.mkstemp(prefix="cc-peak-")
    os.close(fd)
    os.chmod(peak_file, 0o666)  # an unprivileged prefix must be able to write it
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", _SPAWN, peak_file, *prefix, sys.executable, "-m", "cadencecoach", *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=cwd,
        preexec_fn=preexec,
        start_new_session=True,  # a hang is killed with everything it started
    )
    chunks: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=name, f=f: chunks.__setitem__(n, f.read()), daemon=True)
        for name, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for t in readers:
        t.start()
    try:
        try:
            if stop is not None:
                send_when(proc, stop[0], stop[1], timeout=timeout)
            proc.wait(timeout=max(0.1, timeout - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise AssertionError(f"cadencecoach {' '.join(args)} still running after {timeout} s: it hangs") from None
        finally:
            for t in readers:
                t.join(timeout=5)
        seconds = time.monotonic() - start
        text = Path(peak_file).read_text().strip()
        peak_mb = int(text) / 1024 if text else 0.0
    finally:
        os.unlink(peak_file)
    _log((f"[{stop[0].name}]", *args) if stop else args, seconds, peak_mb)
    return Outcome(
        tuple(args),
        proc.returncode,
        chunks.get("out", b"").decode("utf-8", "replace"),
        chunks.get("err", b"").decode("utf-8", "replace"),
        seconds,
        peak_mb,
    )


def _log(args: tuple[str, ...], seconds: float, peak_mb: float) -> None:
    path = os.environ.get("FAULT_LOG")
    if path:
        case = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{case}\t{seconds:.2f} s\t{peak_mb:.0f} MB\t{' '.join(args)[:120]}\n")


def assert_clean(
    r: Outcome,
    code: int,
    *words: str,
    seconds: float = TIME_BOUND_S,
    peak_mb: float = MEMORY_BOUND_MB,
) -> None:
    """`r` exited with `code`, said every one of `words` (case-insensitive) on stderr, printed no traceback,
    no "internal error" and no raw control character, within `seconds` and `peak_mb`."""
    detail = f"cadencecoach {' '.join(r.args)}\n--- rc {r.returncode}\n--- stderr\n{r.stderr[-3000:]}"
    assert r.returncode == code, detail
    assert "Traceback" not in r.output and "internal error" not in r.output, detail
    for word in words:
        assert word.lower() in r.stderr.lower(), f"{word!r} not said\n{detail}"
    bad = _RAW_CONTROL.search(r.stdout) or _RAW_CONTROL.search(r.stderr)
    assert bad is None, f"raw control character {bad.group()!r} printed\n{detail}" if bad else ""
    assert r.seconds <= seconds, f"took {r.seconds:.1f} s (bound {seconds} s)\n{detail}"
    assert r.peak_mb <= peak_mb, f"peak memory {r.peak_mb:.0f} MB (bound {peak_mb} MB)\n{detail}"


def one_line_error(r: Outcome) -> str:
    """The single non-warning line of stderr (asserts there is exactly one)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1, f"want one error line, got:\n{r.stderr}"
    return lines[0]


def snapshot(*roots: Path) -> dict[str, str]:
    """Path -> sha256 (or the link target / ``<dir>``) of everything under `roots`."""
    out: dict[str, str] = {}
    for root in roots:
        items = [root] if not root.is_dir() else [root, *sorted(root.rglob("*"))]
        for p in items:
            if p.is_symlink():
                out[str(p)] = "-> " + os.readlink(p)
            elif p.is_dir():
                out[str(p)] = "<dir>"
            elif p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[str(p)] = "<special>"
    return out


def temp_leftovers(*roots: Path) -> list[Path]:
    """Hidden temporary files of the atomic writer (``.NAME.tmp-PID-RANDOM``) left under `roots`."""
    found: list[Path] = []
    for root in roots:
        found += [p for p in root.rglob(".*") if ".tmp-" in p.name]
    return found


def assert_nothing_lost(before: dict[str, str], *roots: Path, allow_new: tuple[Path, ...] = ()) -> None:
    """Everything in `before` is still there unchanged, nothing new but `allow_new`, no temp file left."""
    after = snapshot(*roots)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert not changed, f"files lost or changed: {changed}"
    new = set(after) - set(before) - {str(p) for p in allow_new}
    assert not new, f"files appeared: {sorted(new)}"
    assert not temp_leftovers(*roots), f"temp files left: {temp_leftovers(*roots)}"


def send_when(
    proc: subprocess.Popen[bytes], sig: signal.Signals, ready: Callable[[], bool], timeout: float = 30.0
) -> None:
    """Send `sig` to `proc` once `ready()` is true (polled), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before it was ready for {sig.name}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"not ready for {sig.name} after {timeout} s")
        time.sleep(0.02)
    proc.send_signal(sig)


# ------------------------------------------------------------------------------- without root's powers

_DROP_DAC = "-dac_override,-dac_read_search,-fowner"
SETPRIV = ("setpriv", f"--inh-caps={_DROP_DAC}", f"--ambient-caps={_DROP_DAC}", f"--bounding-set={_DROP_DAC}")
"""Root without the capabilities that ignore file permissions (util-linux's setpriv, in every Debian): the tests
run as root, and setuid to nobody cannot even start the interpreter under /root."""


@functools.cache
def unprivileged_prefix() -> tuple[str, ...] | None:
    """The command prefix under which file permissions apply (``()`` when not root), or None when there is none."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        return None
    probe = Path(tempfile.mkdtemp(prefix="cc-probe-"))
    try:
        os.chmod(probe, 0o555)
        code = f"open({str(probe / 'x')!r}, 'w')"
        r = subprocess.run([*SETPRIV, sys.executable, "-c", code], capture_output=True, timeout=30)
        return SETPRIV if r.returncode != 0 and b"PermissionError" in r.stderr else None
    finally:
        os.chmod(probe, 0o755)
        shutil.rmtree(probe)


def cc_unprivileged(*args: str, home: Path, **kwargs: Any) -> Outcome:
    """:func:`cc` as a user whom file permissions apply to; the test is skipped, with the reason, where that
    cannot be arranged (root without setpriv)."""
    import pytest

    prefix = unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: cannot drop the power over file permissions")
    kwargs.setdefault("cwd", Path("/"))
    return cc(*args, home=home, prefix=prefix, **kwargs)
