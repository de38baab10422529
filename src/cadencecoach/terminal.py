"""What reaches the terminal: the one sanitizer for text that came from a file (nothing from a workout, a
song's tags, the settings or the history database reaches the terminal raw), and the one rich console.

A shared workout is untrusted input: its name, notes, labels and cue texts could carry ESC sequences (an
OSC that retitles the window, a CSI that clears the screen or moves the cursor to fake output), BEL,
backspaces and carriage returns that overwrite what was printed, C1 controls (``\\x9b`` is a CSI on many
terminals) or Unicode bidi overrides that make text read differently from what it is ("Trojan Source").
:func:`safe_text` shows each of them escaped (``\\x1b``, ``\\u202e``) so the runner sees that something odd
is there and nothing acts on the terminal. Every printer (plain and rich, stdout and stderr) passes
file-borne text through it; ``cli.app``'s guard and :func:`cadencecoach.errors.warn` apply it to every
error and warning line as a backstop. Rich's own markup is a separate matter: ``ui`` escapes ``[...]``
with ``rich.markup.escape`` on top (:func:`markup_safe` does both).

:func:`console` makes every rich ``Console`` the tool prints through: when the reader of a pipe goes away
(``cadencecoach plan W | head -1``) it raises ``BrokenPipeError`` for the command line's guard (silent
exit 141, as coreutils end) instead of rich's own silent ``SystemExit(1)``.

Examples
--------
>>> safe_text("Run\\x1b]0;pwned\\x07 fast")
'Run\\\\x1b]0;pwned\\\\x07 fast'
>>> safe_text("Tempo\\u202eevil")
'Tempo\\\\u202eevil'
>>> safe_text("two\\nlines"), safe_text("two\\nlines", multiline=True)
('two\\\\nlines', 'two\\nlines')
>>> safe_text("Café — 400 m, 3:2 breathing")
'Café — 400 m, 3:2 breathing'
>>> safe_text("W" * 1500)[-30:]
'WWW... (500 more characters)'
"""

from __future__ import annotations

import functools
import re
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "is_safe", "markup_safe", "safe_text"]

# C0 controls but tab and newline, DEL, C1 controls; bidi embeddings/overrides/isolates and the marks
# that change how text around them is ordered; the line and paragraph separators (they break lines).
_UNSAFE_CORE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_ONE_LINE = re.compile(f"[\t\n{_UNSAFE_CORE}]")
_UNSAFE_MULTILINE = re.compile(f"[{_UNSAFE_CORE}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


MAX_WORD = 1000
"""The longest run without a space shown: rich folds a long unbroken word in quadratic time (a 100,000-character
word in a workout's notes took minutes to print), and no one reads one; the rest is counted instead."""

_LONG_WORD = re.compile(rf"\S{{{MAX_WORD + 1},}}")


def _cut(match: re.Match[str]) -> str:
    word = match.group()
    return f"{word[:MAX_WORD]}... ({len(word) - MAX_WORD} more characters)"


def safe_text(text: object, *, multiline: bool = False) -> str:
    """`text` (str() of it) with every control character and bidi control shown escaped, and a run of more than
    :data:`MAX_WORD` characters without a space cut short (with a count of the rest).

    One-line fields (names, labels, cue texts, tags) escape tab and newline too; `multiline` keeps
    newlines and tabs (notes, a block of error lines).
    """
    s = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE
    return _LONG_WORD.sub(_cut, pattern.sub(_escape, s))


def is_safe(text: str, *, multiline: bool = False) -> bool:
    """True when :func:`safe_text` would leave `text` as it is."""
    pattern = _UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE
    return pattern.search(text) is None and _LONG_WORD.search(text) is None


def bounded_text(text: str | None, limit: int, *, multiline: bool = False) -> str:
    """`text` as it is written into a file another program shows (a tag, a label, a calendar event): made safe
    (:func:`safe_text`; `multiline` keeps newlines and tabs), stripped and cut to `limit` characters, the last one
    an ellipsis. None is ``""``.

    >>> bounded_text("Run\\x1b[2J fast", 200), bounded_text("x" * 300, 200)[-3:], len(bounded_text("x" * 300, 200))
    ('Run\\\\x1b[2J fast', 'xx…', 200)
    """
    if not text:
        return ""
    s = safe_text(text, multiline=multiline).strip()
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def markup_safe(text: object, *, multiline: bool = False) -> str:
    """:func:`safe_text`, then rich markup escaped: file-borne text for a rich ``print`` or a table cell."""
    from rich.markup import escape

    return escape(safe_text(text, multiline=multiline))


def console(*, stderr: bool = False, file: IO[str] | None = None, **kwargs: Any) -> Console:
    """A rich ``Console`` (``stderr`` or `file`, other keywords passed on) whose broken pipe is a
    ``BrokenPipeError``, not rich's ``SystemExit(1)``. Emoji codes stay as written (``:fire:`` in a workout
    name is text, not an emoji: :func:`markup_safe` does not escape them)."""
    kwargs.setdefault("emoji", False)
    return _console_class()(stderr=stderr, file=file, **kwargs)


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError("the reader of the output went away")

    return _Console
