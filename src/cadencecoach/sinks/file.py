"""Streaming a renderer to an audio file: constant memory, atomic, tagged, with a progress bar; lossy formats are
encoded on every core (:mod:`cadencecoach.sinks.encode`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cadencecoach.core.renderer import BlockRenderer

if TYPE_CHECKING:
    from cadencecoach.sinks.tags import Metadata


def render_to_file(
    renderer: BlockRenderer,
    output: Path,
    *,
    bit_depth: int = 16,
    bitrate: int | None = None,
    quality: int | None = None,
    tags: Metadata | None = None,
    label: str = "",
    progress: bool | None = None,
    workers: int | None = None,
    chunk_s: float = 60.0,
) -> int:
    """Render the whole timeline of `renderer` into `output` (constant memory; lossy formats on every core).

    Parameters
    ----------
    renderer : BlockRenderer
        What to render: samples ``[0, renderer.length)``.
    output : Path
        The audio file (format from the extension, see :func:`cadencecoach.sinks.audiofile.open_writer`).
        It appears under its name only when complete; Ctrl-C (KeyboardInterrupt) leaves no file and propagates.
    bit_depth, bitrate, quality, tags : optional
        As for ``open_writer``.
    label : str
        The progress bar's description (default: the file name).
    progress : bool, optional
        Show a progress bar on stderr; None: when stderr is a terminal. Unless False, a ``wrote ...`` summary
        line follows on stderr.
    workers, chunk_s : optional
        As for :meth:`AudioWriter.render <cadencecoach.sinks.audiofile.AudioWriter.render>`.

    Returns
    -------
    int
        The number of samples written.
    """
    from cadencecoach.sinks import audiofile

    total = renderer.length
    sr = renderer.timeline.sample_rate
    show = sys.stderr.isatty() if progress is None else progress
    with audiofile.open_writer(
        output, sr, 1, bit_depth, bitrate, quality=quality, expected_frames=total, tags=tags
    ) as writer:
        if show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            from cadencecoach.terminal import console, safe_text

            columns = (
                TextColumn("[bold]rendering[/]"),
                TextColumn("{task.description}", markup=False),  # file-borne: no markup, no emoji codes
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=console(stderr=True), transient=True) as bar:
                task = bar.add_task(safe_text(label or output.name), total=total)
                writer.render(
                    renderer.render,
                    total,
                    progress=lambda done: bar.update(task, completed=done),
                    workers=workers,
                    chunk_s=chunk_s,
                )
        else:
            writer.render(renderer.render, total, workers=workers, chunk_s=chunk_s)
    if show or progress is None:
        from cadencecoach.terminal import safe_text
        from cadencecoach.workout.units import format_clock

        print(
            f"wrote {safe_text(output)}: {format_clock(total / sr)}, {len(renderer.timeline.clicks)} clicks, "
            f"{len(renderer.timeline.cues)} cues",
            file=sys.stderr,
        )
    return total
