"""The words of the default cues. Short, plain sentences a runner can take in while breathing hard."""

from __future__ import annotations

import re
from fractions import Fraction

from cadencecoach.workout.model import FlatStep
from cadencecoach.workout.units import speak_duration, speak_extent, speak_pace

COUNTDOWN_WORDS = ("3", "2", "1")
FINISH_TEXT = "Workout complete."
HALFWAY_TEXT = "Halfway."


def speak_effort(effort: str) -> str:
    """``85%`` -> ``85 percent effort``; ``85-90%`` -> ``85 to 90 percent effort``; free text stays."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:-|–|to)?\s*(\d+(?:\.\d+)?)?\s*%\s*(effort)?\s*", effort)
    if m:
        a, b = m.group(1), m.group(2)
        return f"{a} to {b} percent effort" if b else f"{a} percent effort"
    return effort


def _what(flat: FlatStep) -> str:
    """``400 meters at mile pace`` / ``90 seconds``."""
    step = flat.step
    text = speak_extent(step.extent)
    if step.pace_spoken and step.pace is not None:
        text += f" at {step.pace_name} pace" if step.pace_name else f" at {speak_pace(step.pace)}"
    return text


def announcement(flat: FlatStep) -> str:
    """``Run. 3 of 10. 400 meters at mile pace. 85 percent effort.``"""
    parts = [flat.step.label]
    if flat.rep is not None:
        parts.append(f"{flat.rep[0]} of {flat.rep[1]}")
    parts.append(_what(flat))
    if flat.step.effort:
        parts.append(speak_effort(flat.step.effort))
    return ". ".join(_strip_dot(p) for p in parts) + "."


def preview(next_step: FlatStep) -> str:
    """``Next: Recover, 90 seconds.``"""
    parts = [next_step.step.label]
    if next_step.rep is not None:
        parts.append(f"{next_step.rep[0]} of {next_step.rep[1]}")
    parts.append(_what(next_step))
    return "Next: " + ", ".join(_strip_dot(p) for p in parts) + "."


def halfway(remaining: Fraction) -> str:
    return f"Halfway. {speak_duration(remaining)} to go."


def _strip_dot(text: str) -> str:
    return text.strip().rstrip(".")
