"""``--help`` of every command (walked from the app, not a hand-made list): each shows its texts literally.

Rich markup would take ``[voice]`` in ``pip install 'cadencecoach[voice]'`` for a tag and swallow it; cli.py
escapes every help text of the app in one place (``literal_help``). Here the raw texts (the app built with
that step switched off) are compared with what ``--help`` prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cadencecoach.cli import app as cli

SRC = Path(cli.__file__).parent
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}  # no wrapping inside a bracketed word
BRACKETED = re.compile(r"\[[^\[\]\n]*\]")
EXTRA_HINT = re.compile(r"pip install '(cadencecoach\[[a-z,]+\])'")


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


def _texts(command: Any) -> list[str]:
    texts = [getattr(command, attr, None) for attr in ("help", "short_help", "epilog")]
    texts += [getattr(param, "help", None) for param in command.params if not getattr(param, "hidden", False)]
    return [t for t in texts if t]


def _raw_tree(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, ...], list[str]]:
    """Every command path -> its help texts as written in the source (before literal_help)."""
    with monkeypatch.context() as m:
        m.setattr(cli, "literal_help", lambda command: None)
        return {path: _texts(command) for path, command in _walk(typer.main.get_command(cli.app))}


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, ...], str]:
    runner = CliRunner()
    out = {}
    with pytest.MonkeyPatch.context() as m:
        m.setattr("typer.rich_utils.MAX_WIDTH", 400)
        for path, _command in _walk(typer.main.get_command(cli.app)):
            result = runner.invoke(cli.app, [*path, "--help"], env=WIDE)
            assert result.exit_code == 0, (path, result.output)
            out[path] = result.output
    return out


def test_every_command_is_walked(rendered: dict[tuple[str, ...], str]) -> None:
    names = {" ".join(path) for path in rendered}
    assert {"", "plan", "render", "run", "click", "track", "track click", "track build"} <= names
    assert len(names) >= 15


def test_every_bracket_in_a_help_text_is_shown(
    rendered: dict[tuple[str, ...], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _raw_tree(monkeypatch)
    assert raw.keys() == rendered.keys()
    checked = 0
    for path, texts in raw.items():
        for text in texts:
            for word in BRACKETED.findall(text):
                assert word in rendered[path], f"`cadencecoach {' '.join(path)} --help` lost {word!r}"
                checked += 1
    assert checked > 0  # there are brackets to check: --voice-engine names the voice extra


def test_every_extra_named_in_the_command_sources_keeps_its_brackets(rendered: dict[tuple[str, ...], str]) -> None:
    shown = "\n".join(rendered.values())
    wanted = {m for f in SRC.glob("*.py") for m in EXTRA_HINT.findall(f.read_text(encoding="utf-8"))}
    assert "cadencecoach[voice]" in wanted
    for name in wanted:
        assert f"pip install '{name}'" in shown, name
    assert "'cadencecoach'" not in shown  # the swallowed form
    for path in (("plan",), ("render",), ("run",)):
        assert "needs pip install 'cadencecoach[voice]'" in rendered[path], path
