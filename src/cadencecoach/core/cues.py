"""The words of the default cues. Short, plain sentences a runner can take in while breathing hard."""

from __future__ import annotations

import re
from fractions import Fraction

from cadencecoach.workout.model import FlatStep, speak_heart_rate, speak_incline
from cadencecoach.workout.units import speak_duration, speak_extent, speak_pace

COUNTDOWN_WORDS = ("3", "2", "1")
FINISH_TEXT = "Workout complete."
HALFWAY_TEXT = "Halfway."

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_KEY_SENTENCE = re.compile(r"(?:Rep\s+)?\d+\s+of\s+\d+[.!?]?", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    """The sentences of a cue text, each with its own full stop; speech engines speak them one by one and
    :mod:`cadencecoach.speech` joins them with the engine's own pause, so it knows where each one sounds.

    >>> sentences("Run. 3 of 10. 400 meters at mile pace.")
    ['Run.', '3 of 10.', '400 meters at mile pace.']
    >>> sentences("Next: Run, 3 of 10, 1.5 kilometers.")
    ['Next: Run, 3 of 10, 1.5 kilometers.']
    """
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def is_key_sentence(sentence: str) -> bool:
    """A sentence the runner must not miss, under which the click gives way (the renderer's key ducking):
    the rep number of an announcement, ``3 of 10.`` (or ``Rep 3 of 10.``, in a custom text).

    >>> is_key_sentence("3 of 10."), is_key_sentence("400 meters at mile pace.")
    (True, False)
    """
    return _KEY_SENTENCE.fullmatch(sentence.strip()) is not None


def speak_effort(effort: str) -> str:
    """``85%`` -> ``85 percent effort``; ``85-90%`` -> ``85 to 90 percent effort``; a lone word is said as a
    phrase (``maximum`` -> ``maximum effort``: a single word after a pause sounds clipped); other text stays.

    >>> speak_effort("85-90%"), speak_effort("maximum"), speak_effort("Hard."), speak_effort("all out")
    ('85 to 90 percent effort', 'maximum effort', 'Hard effort', 'all out')
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:-|–|to)?\s*(\d+(?:\.\d+)?)?\s*%\s*(effort)?\s*", effort)
    if m:
        a, b = m.group(1), m.group(2)
        return f"{a} to {b} percent effort" if b else f"{a} percent effort"
    word = effort.strip().rstrip(".!")
    if re.fullmatch(r"[^\W\d_]+", word) and word.lower() != "effort":
        return f"{word} effort"
    return effort


def _what(flat: FlatStep) -> str:
    """``400 meters at mile pace`` / ``90 seconds``."""
    step = flat.step
    text = "as long as you need" if step.untimed and step.extent.is_time else speak_extent(step.extent)
    if step.pace_spoken and step.pace is not None:
        text += f" at {step.pace_name} pace" if step.pace_name else f" at {speak_pace(step.pace)}"
    return text


def rep_phrase(rep: tuple[int, int]) -> str:
    """``3 of 10``. Measured against ``Rep 3 of 10``, ``3 out of 10``, ``Number 3 of 10`` and the rep joined to
    the label (``Run 3 of 10``) by an independent recognizer: none was heard better, all are longer
    (docs/VOICE.md, "Every word heard")."""
    return f"{rep[0]} of {rep[1]}"


def announcement(flat: FlatStep) -> str:
    """``Run. 3 of 10. 400 meters at mile pace. 85 percent effort.``; a heart-rate target is spoken where
    there is no effort (``heart rate zone 2``), an incline last (``Incline 10 percent``). The rep is a
    sentence of its own, a key sentence (:func:`is_key_sentence`)."""
    step = flat.step
    parts = [step.label]
    if flat.rep is not None:
        parts.append(rep_phrase(flat.rep))
    what = _what(flat)
    parts.append(what[0].upper() + what[1:])
    if step.effort:
        parts.append(speak_effort(step.effort))
    elif step.heart_rate is not None:
        hr = speak_heart_rate(step.heart_rate)
        parts.append(hr[0].upper() + hr[1:])
    if step.incline is not None:
        parts.append(speak_incline(step.incline))
    return ". ".join(_strip_dot(p) for p in parts) + "."


def preview(next_step: FlatStep) -> str:
    """``Next: Recover, 3 of 10, 90 seconds.`` (and the incline, to set a treadmill in time:
    ``..., incline 4 percent.``)"""
    parts = [next_step.step.label]
    if next_step.rep is not None:
        parts.append(rep_phrase(next_step.rep))
    parts.append(_what(next_step))
    if next_step.step.incline is not None:
        incline = speak_incline(next_step.step.incline)
        parts.append(incline[0].lower() + incline[1:])
    return "Next: " + ", ".join(_strip_dot(p) for p in parts) + "."


def halfway(remaining: Fraction) -> str:
    """``Halfway. 2 minutes to go.``: in whole seconds (a 201 s step's half is "100 seconds", not "100.5")."""
    return f"Halfway. {speak_duration(Fraction(round(remaining)))} to go."


def _strip_dot(text: str) -> str:
    return text.strip().rstrip(".")
