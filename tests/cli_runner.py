"""The app in this process through Typer's CliRunner, for the CLI tests: ``cc(...)`` gives the exit code and
the outputs (an exception other than the exit fails the test, and so does a traceback in either output);
``ok(...)`` also asserts exit 0. Import with ``from cli_runner import cc, ok`` (tests/ is on sys.path)."""

from __future__ import annotations

from types import SimpleNamespace

from typer.testing import CliRunner

from cadencecoach.cli.app import app


def cc(*args: str) -> SimpleNamespace:
    """One command through the real app: exit code, stdout, stderr; an exception other than the exit fails."""
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exc_info, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr, (args, r.stderr)
    return SimpleNamespace(code=r.exit_code, out=r.stdout, err=r.stderr)


def ok(*args: str) -> SimpleNamespace:
    """:func:`cc`, and exit 0."""
    r = cc(*args)
    assert r.code == 0, (args, r.code, r.err)
    return r
