"""Parsers and checks of command-line values that are more than a Typer type: ``--latency``, ``--breathing``,
and an audio file's ``-o`` / ``--bit-depth``.

A bad value is :class:`~cadencecoach.errors.UsageError` (exit 2) naming the option.

Examples
--------
>>> parse_latency("LOW"), parse_latency("0.2s"), parse_latency(None)
('low', 0.2, 0.1)
>>> parse_breathing("3:2")
(3, 2)
"""

from __future__ import annotations

from pathlib import Path

from cadencecoach.errors import UsageError
from cadencecoach.workout.model import parse_breathing as _breathing_rule

DEFAULT_LATENCY_S = 0.1  # a metronome needs no low latency; a deeper buffer rides out a busy machine


def parse_latency(value: str | None) -> str | float:
    """``--latency low|high|SECONDS``.

    Parameters
    ----------
    value : str or None
        The option's text; None for the default.

    Returns
    -------
    str or float
        ``"low"``, ``"high"`` (PortAudio's own) or seconds (default DEFAULT_LATENCY_S).

    Raises
    ------
    UsageError
        Not low, high or a number of seconds in (0, 2].
    """
    if value is None:
        return DEFAULT_LATENCY_S
    v = value.strip().lower()
    if v in ("low", "high"):
        return v
    try:
        seconds = float(v.removesuffix("s"))
    except ValueError:
        raise UsageError(f"--latency must be low, high or a number of seconds (got '{value}')") from None
    if not 0.0 < seconds <= 2.0:
        raise UsageError(f"--latency {value}: give a number of seconds between 0 and 2")
    return seconds


def parse_breathing(value: str | None) -> tuple[int, int] | None:
    """``--breathing 3:2`` (inhale steps : exhale steps), by the workout files' rule
    (:func:`cadencecoach.workout.model.parse_breathing`: 1 to 8 steps each).

    Parameters
    ----------
    value : str or None
        The option's text; None when not given.

    Returns
    -------
    tuple of (int, int) or None
        ``(inhale, exhale)``; None when not given.

    Raises
    ------
    UsageError
        Not such a pattern.

    Examples
    --------
    >>> parse_breathing("9:1")
    Traceback (most recent call last):
    ...
    cadencecoach.errors.UsageError: --breathing is inhale:exhale steps, like 3:2 or 2:2 (got '9:1')
    """
    if value is None:
        return None
    pattern = _breathing_rule(value.replace(" ", ""))
    if pattern is None:
        raise UsageError(f"--breathing is inhale:exhale steps, like 3:2 or 2:2 (got '{value}')")
    return pattern


def check_audio_output(output: Path, bit_depth: int = 16) -> None:
    """``-o FILE`` of ``render`` and ``track``: a format we write (by its extension), and ``--bit-depth`` 16 or 24;
    checked before any work is done.

    Raises
    ------
    UsageError
        An extension no writer knows (the message lists the ones there are), or another bit depth.
    """
    from cadencecoach.sinks import audiofile  # not at import: `click` and `run` never write a file

    try:
        audiofile.format_for(output)
    except ValueError as exc:
        raise UsageError(f"-o {output}: {exc}") from None
    if bit_depth not in (16, 24):
        raise UsageError("--bit-depth must be 16 or 24")
