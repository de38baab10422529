"""A session's steps in words, for a calendar event's description (``program export``)."""

from __future__ import annotations

from cadencecoach.workout.model import Repeat, Step, Workout
from cadencecoach.workout.units import format_clock, written_extent

__all__ = ["describe_steps"]


def _cadence(step: Step) -> str:
    if step.cadence is None:
        return ""
    a, b = (round(float(x)) for x in step.cadence)
    return f", {a} spm" if a == b else f", {a}-{b} spm"


def _step(step: Step) -> str:
    text = f"{step.label}: {written_extent(step.extent, step.duration)}"
    if step.extent.kind == "distance":
        text += f" ({format_clock(float(step.duration))})"
    if step.pace_name and step.pace is not None:
        text += f" at {step.pace_name} pace ({format_clock(step.pace.s_per_km)}/km)"
    elif step.effort:
        text += f", {step.effort}"
    if not step.click:
        text += ", no click"
    return text + _cadence(step)


def describe_steps(workout: Workout, *, header: str = "") -> str:
    """One line per step, repeats indented under ``N x``; the total time last."""
    lines = [header] if header else []

    def walk(items: tuple[Step | Repeat, ...], depth: int) -> None:
        for item in items:
            pad = "  " * depth
            if isinstance(item, Repeat):
                lines.append(f"{pad}{item.count} x:")
                walk(item.steps, depth + 1)
            else:
                lines.append(f"{pad}- {_step(item)}")

    walk(workout.steps, 0)
    lines.append(f"Total {format_clock(float(workout.total_duration))}")
    if workout.trial is not None and workout.vdot is not None:
        lines.append(f"Paces from VDOT {workout.vdot:.1f}.")
    return "\n".join(lines)
