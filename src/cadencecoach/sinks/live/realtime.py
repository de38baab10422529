"""Python's cyclic garbage collector while the live player plays: only in the main thread, never over the
set-up heap.

Why (issue 14, measured with ``benchmarks/bench_live.py``; figures in benchmarks/RESULTS.md)
    A collection holds the GIL from start to end, and the audio callback needs the GIL to start and to go on
    (numpy lets go of it inside a callback for some operations, see :mod:`cadencecoach.core.renderer`).
    With automatic collection a collection runs in whichever thread happens to allocate past the threshold:
    in the audio thread it eats that block's deadline; in the main thread the callback waits for it. A full
    collection of the heap a ``run`` has after set-up (~28,000 objects: numpy, rich, the timeline) takes
    8-14 ms on the 2-core test machine -- more than a 256-frame block (5.8 ms) -- and the young collections
    while the live display draws took up to 2.5-10 ms (generation 1) while playing.

What :func:`realtime_gc` does while playing
    ``gc.collect()`` once, then ``gc.freeze()``: everything the set-up made goes to the permanent
    generation, which no collection scans; then ``gc.disable()``: no collection starts by itself, in any
    thread. The main thread calls :func:`collect_young` in its poll loop: the collections automatic
    collection would have run by now (same thresholds), over the objects made since set-up only. On exit
    everything is put back (collection enabled again if it was, the frozen objects unfrozen if nothing was
    frozen before), so tests and commands that play twice in one process see the collector as it was.

Reference counting frees almost everything at once anyway; the collector only finds cycles, and a cycle made
while playing is found by the next due :func:`collect_young`, as it would have been automatically.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collect_young", "realtime_gc"]


@contextlib.contextmanager
def realtime_gc(*, collect: bool = True) -> Iterator[None]:
    """While the block runs: the set-up heap frozen, automatic collection off (see the module doc).

    Parameters
    ----------
    collect : bool, default True
        Collect once before freezing (garbage frozen would stay until the end; the collection takes
        ~10 ms on a ``run``'s heap).

    Examples
    --------
    >>> import gc
    >>> enabled = gc.isenabled()
    >>> with realtime_gc():
    ...     gc.isenabled(), gc.get_freeze_count() > 0
    (False, True)
    >>> gc.isenabled() == enabled
    True
    """
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    if was_enabled and collect:
        gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if frozen_before == 0:  # ours alone (not nested, nobody else froze anything): put them back
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def collect_young() -> int | None:
    """Main thread, once per poll: run the collection automatic collection would have run by now, if any.

    A generation is collected when its count has reached its threshold (``gc.get_count()`` against
    ``gc.get_threshold()``, the rule automatic collection follows; CPython adds one for generation 2 that
    Python cannot read, so this one collects generation 2 a little more often), the oldest due one (it takes
    the younger ones with it). Under :func:`realtime_gc` that never scans the frozen set-up heap, so even a generation-2
    collection only goes over what was made while playing. Outside it (collection enabled) it does nothing:
    collection is automatic there.

    Returns
    -------
    int or None
        The generation collected, None when none was due (or collection is automatic).

    Examples
    --------
    >>> with realtime_gc():
    ...     junk = [[] for _ in range(gc.get_threshold()[0] + 10)]
    ...     collect_young(), collect_young()
    (0, None)
    """
    thresholds = gc.get_threshold()
    if gc.isenabled() or thresholds[0] == 0:  # automatic, or turned off altogether (threshold 0)
        return None
    counts = gc.get_count()
    for generation in (2, 1, 0):
        if counts[generation] >= thresholds[generation] > 0:
            gc.collect(generation)
            return generation
    return None
