"""Streaming a renderer to an audio file in blocks: constant memory, atomic, with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from cadencecoach.core.renderer import BlockRenderer

BLOCK = 1 << 16


def render_to_file(
    renderer: BlockRenderer,
    output: Path,
    *,
    bit_depth: int = 16,
    mp3_bitrate: int = 128,
    label: str = "",
    progress: bool | None = None,
    block: int = BLOCK,
) -> int:
    """Render the whole timeline of `renderer` into `output`, block by block (constant memory).

    Parameters
    ----------
    renderer : BlockRenderer
        What to render: samples ``[0, renderer.length)``.
    output : Path
        The audio file (format from the extension, see :func:`cadencecoach.sinks.audiofile.open_writer`).
        It appears under its name only when complete; Ctrl-C (KeyboardInterrupt) leaves no file and propagates.
    bit_depth, mp3_bitrate : int
        As for ``open_writer``.
    label : str
        The progress bar's description (default: the file name).
    progress : bool, optional
        Show a progress bar on stderr; None: when stderr is a terminal. Unless False, a ``wrote ...`` summary
        line follows on stderr.
    block : int
        Samples per rendered block.

    Returns
    -------
    int
        The number of samples written.
    """
    from cadencecoach.sinks import audiofile

    total = renderer.length
    sr = renderer.timeline.sample_rate
    show = sys.stderr.isatty() if progress is None else progress
    buf = np.empty(block, np.float32)
    with audiofile.open_writer(output, sr, 1, bit_depth, mp3_bitrate, expected_frames=total) as writer:
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
                for start in range(0, total, block):
                    n = min(block, total - start)
                    renderer.render(start, buf[:n])
                    writer.write(buf[:n])
                    bar.update(task, completed=start + n)
        else:
            for start in range(0, total, block):
                n = min(block, total - start)
                renderer.render(start, buf[:n])
                writer.write(buf[:n])
    if show or progress is None:
        from cadencecoach.terminal import safe_text
        from cadencecoach.workout.units import format_clock

        print(
            f"wrote {safe_text(output)}: {format_clock(total / sr)}, {len(renderer.timeline.clicks)} clicks, "
            f"{len(renderer.timeline.cues)} cues",
            file=sys.stderr,
        )
    return total
