"""The collector while playing (sinks.live.realtime): frozen set-up heap, no automatic collection, the
main thread's collect_young, everything restored after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from cadencecoach.sinks.live.realtime import collect_young, realtime_gc


class Cycle:
    """An object in a reference cycle: only the collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def collector_as_found() -> Iterator[None]:
    """Every test starts with automatic collection on and nothing frozen, and leaves it so."""
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    gc.unfreeze()
    gc.enable()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()
    else:
        gc.disable()


def collections_by_thread() -> tuple[list[tuple[int, int]], object]:
    """Record (generation, thread id) of every collection that starts; returns the list and the callback."""
    seen: list[tuple[int, int]] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append((info["generation"], threading.get_ident()))

    gc.callbacks.append(record)
    return seen, record


def test_inside_automatic_collection_is_off_and_the_set_up_heap_frozen() -> None:
    gc.collect()  # garbage of earlier tests out of the count
    before = len(gc.get_objects())
    with realtime_gc():
        assert not gc.isenabled()
        # (in the whole suite, other tests' daemon threads let go of objects meanwhile: the collection before
        # the freeze may find a good part of the heap garbage, so not "nearly all of it" frozen, but most)
        frozen = gc.get_freeze_count()
        assert frozen >= before * 0.5
        assert len(gc.get_objects()) < max(frozen * 0.1, 1000)  # the collector sees (nearly) nothing of the set-up
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_everything_is_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), realtime_gc():
        raise RuntimeError("the device went away")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_collection_stays_off_after_if_it_was_off_before() -> None:
    gc.disable()
    with realtime_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_and_foreign_freezes_are_left_frozen() -> None:
    keep = [Cycle() for _ in range(10)]
    gc.freeze()  # someone else's (or an outer realtime_gc's)
    frozen = gc.get_freeze_count()
    with realtime_gc():
        with realtime_gc():
            pass
        assert not gc.isenabled()  # the inner one did not switch collection back on
    assert gc.get_freeze_count() >= frozen  # not unfrozen: it was not ours alone
    assert gc.isenabled()
    del keep


def test_no_collection_starts_by_itself_in_any_thread_while_playing() -> None:
    seen, record = collections_by_thread()
    try:
        with realtime_gc():
            del seen[:]  # realtime_gc's own collection, before freezing
            gc.set_threshold(10, 10, 10)  # automatic collection would run many times below

            def allocate() -> None:  # an audio thread that allocates (it must never collect)
                junk = [Cycle() for _ in range(2000)]
                del junk

            worker = threading.Thread(target=allocate)
            worker.start()
            worker.join()
            allocate()
            assert seen == []
    finally:
        gc.callbacks.remove(record)


def test_collect_young_collects_in_the_calling_thread_only_when_due() -> None:
    seen, record = collections_by_thread()
    try:
        with realtime_gc():
            del seen[:]
            assert collect_young() is None  # nothing allocated yet: nothing due
            threshold = gc.get_threshold()[0]
            junk = [Cycle() for _ in range(threshold + 10)]
            assert collect_young() == 0
            assert seen == [(0, threading.get_ident())]
            assert collect_young() is None  # the count was reset
            del junk
    finally:
        gc.callbacks.remove(record)


def test_collect_young_frees_cycles_made_while_playing() -> None:
    with realtime_gc():
        import weakref

        c = Cycle()
        alive = weakref.ref(c)
        del c
        assert alive() is not None  # a cycle: reference counting cannot free it, nothing collects by itself
        for _ in range(gc.get_threshold()[0] + 10):
            Cycle()  # made and dropped (each one a cycle too): the count goes up
        for _ in range(50):  # polls, until the cycle's generation is collected
            collect_young()
            for _ in range(gc.get_threshold()[0] + 10):
                Cycle()
            if alive() is None:
                break
        assert alive() is None


def test_collect_young_takes_the_oldest_due_generation() -> None:
    with realtime_gc():
        gc.set_threshold(5, 2, 2)
        for _ in range(6):  # two gen-0 collections -> gen 1 due; two gen-1 -> gen 2 due
            junk = [Cycle() for _ in range(10)]
            collect_young()
            del junk
        generations = []
        for _ in range(12):
            junk = [Cycle() for _ in range(10)]
            generations.append(collect_young())
            del junk
        assert {0, 1, 2} <= set(generations)


def test_collect_young_does_nothing_while_collection_is_automatic() -> None:
    seen, record = collections_by_thread()
    try:
        gc.disable()
        gc.enable()
        junk = [Cycle() for _ in range(50)]
        del seen[:]
        assert collect_young() is None
        assert seen == []
        del junk
    finally:
        gc.callbacks.remove(record)


def test_collect_young_does_nothing_when_collection_is_turned_off_by_a_zero_threshold() -> None:
    with realtime_gc():
        gc.set_threshold(0)
        junk = [Cycle() for _ in range(1000)]
        assert collect_young() is None
        del junk


def test_collections_under_realtime_gc_never_scan_the_set_up_heap() -> None:
    """The point of the freeze: a collection while playing costs what was made since, not the whole heap."""
    heap = [[Cycle() for _ in range(100)] for _ in range(500)]  # a set-up heap of ~50,000 objects
    with realtime_gc():
        assert len(gc.get_objects(generation=2)) < 1000
        gc.collect(2)  # the worst a collect_young can do
        assert len(gc.get_objects()) < 1000
    del heap
