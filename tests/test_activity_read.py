"""Recorded activities in (``cadencecoach.activity``: FIT, TCX, GPX, CSV) and TCX out: the real FIT runs of the
corpus checked against what is known of them, synthetic files for every rule (the running-cadence rule, sports
whose cadence is no step cadence, laps, namespaces, time zones, times going back), every CSV error at its place,
hostile files (cut short, damaged, a DTD, too big, a FIFO), and write_tcx read back."""

from __future__ import annotations

import functools
import math
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity_files import (
    WHEN,
    csv_bytes,
    fit_bytes,
    gpx_bytes,
    meridian_track,
    run_records,
    tcx_bytes,
)
from cadencecoach.activity import Activity, ActivityError, Lap, read_activity
from cadencecoach.activity import read as read_mod
from cadencecoach.activity.csvfile import parse_csv
from cadencecoach.activity.read import MAX_ACTIVITY_BYTES, parse_activity
from cadencecoach.activity.tcx import tcx_bytes as write_tcx_bytes
from cadencecoach.activity.tcx import write_tcx
from extra_deps import needs_extra, skip_reason_extra

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "activities"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/ is not here (a user's clone has none)")
needs_fit = needs_extra("fit")
FIT_MISSING = skip_reason_extra("fit")


def moving_cadence(a: Activity) -> np.ndarray:
    ok = np.isfinite(a.cadence) & np.isfinite(a.speed) & (a.speed > 1.5) & (a.cadence > 0)
    return a.cadence[ok]


def error_of(data: bytes, name: str = "run.x", suffix: str = "") -> ActivityError:
    with pytest.raises(ActivityError) as info:
        parse_activity(data, name, suffix=suffix)
    return info.value


# ------------------------------------------------------------------------------------------ the corpus


@pytest.fixture(scope="module")
def multisport() -> Activity:
    if FIT_MISSING:
        pytest.skip(FIT_MISSING)
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/ is not here")
    return read_activity(CORPUS / "activity-large-fenxi2-multisport.fit")  # (about 1 s to decode, once)


@needs_corpus
@needs_fit
def test_fenix2_run() -> None:
    a = read_activity(CORPUS / "activity-small-fenix2-run.fit", display="fenix2.fit")
    assert (a.fmt, a.source, a.sport) == ("fit", "fenix2.fit", "running")
    assert len(a.t) == 2809 and a.t[0] == 0 and np.all(np.diff(a.t) >= 0)
    assert a.started_at == datetime(2015, 8, 15, 14, 45, 8, tzinfo=timezone.utc)
    assert all(a.has(f) for f in ("cadence", "speed", "distance", "heart_rate"))
    assert 160 <= np.median(moving_cadence(a)) <= 190  # the file's ~83 strides per minute, doubled
    assert any("doubled" in n for n in a.notes)
    assert len(a.laps) == 4
    assert [round(lap.distance_m or 0) for lap in a.laps] == [849, 2988, 2979, 2193]
    assert a.laps[0].start_s == 1.0 and a.laps[0].end_s == 271.0
    assert a.distance[-1] == pytest.approx(9008, abs=20)


@needs_corpus
@needs_fit
def test_fenix5_run_fractional_cadence() -> None:
    a = read_activity(CORPUS / "garmin-fenix-5-run.fit")
    assert len(a.t) == 21 and a.sport == "running"
    steps = moving_cadence(a)
    assert 160 <= np.median(steps) <= 190
    assert (steps % 2 == 1).any()  # 2 x (90 + 0.5): the fractional cadence counts
    assert a.laps == (Lap(0.0, 56.887, 157.56, "session_end"),)


@needs_corpus
@needs_fit
def test_multisport(multisport: Activity) -> None:
    a = multisport
    assert len(a.t) > 24_000 and a.sport == "generic"
    assert len(a.laps) == 7
    assert any("7 sessions" in n for n in a.notes)
    assert any("starts again" in n for n in a.notes)  # each session's distance counts from 0
    assert a.distance[-1] == pytest.approx(69_830, rel=0.002)  # the sessions' distances added up
    assert np.all(np.diff(a.distance[np.isfinite(a.distance)]) >= 0)
    run = (a.t >= a.laps[4].start_s) & (a.t < a.laps[4].end_s)  # the second running session
    assert 140 <= np.nanmedian(a.cadence[run & (a.speed > 1.5)]) <= 190
    ride = a.t >= a.laps[6].start_s
    assert not np.isfinite(a.cadence[ride]).any()  # no step cadence while cycling


@needs_corpus
@needs_fit
def test_old_run_without_cadence() -> None:
    a = read_activity(CORPUS / "2013-02-06-12-11-14.fit")
    assert len(a.t) == 590
    assert not a.has("cadence") and a.has("heart_rate") and a.has("speed")
    assert [lap.trigger for lap in a.laps] == ["distance"] * 4 + ["manual"]
    assert a.started_at == datetime(2013, 2, 6, 12, 11, 14, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------------ synthetic FIT


@needs_fit
def test_fit_laps_and_fractional_cadence(tmp_path: Path) -> None:
    data = fit_bytes(
        run_records(120, cadence=85, fractional=0.5, start=5),
        laps=[
            {"start": 5, "end": 65, "total_distance": 180.0, "lap_trigger": "distance"},
            {"start": 65, "end": 125, "total_distance": 180.0, "lap_trigger": "manual"},
        ],
        sessions=[{"start": 5, "end": 125, "sport": "running", "sub_sport": "generic"}],
    )
    path = tmp_path / "run.fit"
    path.write_bytes(data)
    a = read_activity(path)
    assert a.started_at == WHEN + timedelta(seconds=5)
    assert len(a.t) == 120 and a.duration_s == 119
    assert np.all(a.cadence == 171)
    assert np.all(a.speed == pytest.approx(3.0))
    assert a.laps == (Lap(0.0, 60.0, 180.0, "distance"), Lap(60.0, 120.0, 180.0, "manual"))


@needs_fit
def test_fit_cycling_cadence_is_no_step_cadence() -> None:
    records = run_records(60, cadence=85) + run_records(60, cadence=90, start=60, speed=8.0)
    data = fit_bytes(
        records,
        sessions=[{"start": 0, "end": 59, "sport": "running"}, {"start": 60, "end": 119, "sport": "cycling"}],
    )
    a = parse_activity(data, "tri.fit")
    assert np.all(a.cadence[:60] == 170)
    assert np.all(np.isnan(a.cadence[60:]))
    assert any("cycling part left out" in n for n in a.notes)
    assert a.sport == "running"


@needs_fit
def test_fit_record_activity_type_wins() -> None:
    records = run_records(10, activity_type="running") + run_records(10, start=10, activity_type="cycling")
    a = parse_activity(fit_bytes(records, sessions=[{"start": 0, "end": 19, "sport": "generic"}]), "x.fit")
    assert np.all(a.cadence[:10] == 170) and np.all(np.isnan(a.cadence[10:]))


@needs_fit
def test_fit_cadence_of_steps_is_kept() -> None:
    a = parse_activity(fit_bytes(run_records(30, cadence=172)), "x.fit")
    assert np.all(a.cadence == 172)
    assert any("not doubled" in n for n in a.notes)
    assert a.sport is None and a.laps == ()


@needs_fit
def test_fit_time_going_back_is_dropped() -> None:
    recs = run_records(5)
    recs.insert(3, {**recs[1], "t": 0.5})
    a = parse_activity(fit_bytes(recs), "x.fit")
    assert a.t.tolist() == [0, 1, 2, 3, 4]
    assert sum("clock went back" in n for n in a.notes) == 1


@needs_fit
def test_fit_duplicate_times_are_kept() -> None:
    recs = run_records(3)
    recs.insert(1, dict(recs[0]))
    assert parse_activity(fit_bytes(recs), "x.fit").t.tolist() == [0, 0, 1, 2]


@needs_fit
def test_fit_workout_is_refused_with_what_to_do() -> None:
    err = error_of(fit_bytes([], file_type="workout"), "plan.fit")
    assert str(err).startswith("plan.fit: a FIT workout")
    assert "--workout" in str(err)
    assert "course" in str(error_of(fit_bytes([], file_type="course")))


@needs_fit
def test_fit_without_records() -> None:
    assert "no record with a time" in str(error_of(fit_bytes([{"heart_rate": 100}])))


@needs_fit
def test_fit_cut_short_and_damaged() -> None:
    data = fit_bytes(run_records(20))
    err = error_of(data[:-30], "cut.fit")
    assert str(err).startswith("cut.fit: the FIT file is cut short") and err.line is None
    bad = bytearray(data)
    bad[40] ^= 0xFF
    assert "damaged" in str(error_of(bytes(bad), "bad.fit"))
    assert "not a FIT file" in str(error_of(b"hello, not fit at all", "x.fit", ".fit"))


@needs_fit
def test_fit_too_many_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from cadencecoach.activity import fit

    monkeypatch.setattr(fit, "MAX_SAMPLES", 50)
    assert "more than" in str(error_of(fit_bytes(run_records(60))))


@needs_fit
@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(14, 10_000), st.integers(0, 255)), min_size=1, max_size=6))
def test_fit_damaged_inside_with_a_good_crc_gives_an_activity_error(flips: list[tuple[int, int]]) -> None:
    """Bytes changed in the messages, the CRC made right again: the decoder's troubles are ActivityErrors."""
    from garmin_fit_sdk import CrcCalculator

    data = bytearray(small_fit())
    for at, value in flips:
        data[at % (len(data) - 16) + 14] = value
    data[-2:] = CrcCalculator.calculate_crc(bytes(data), 0, len(data) - 2).to_bytes(2, "little")
    try:
        a = parse_activity(bytes(data), "fuzz.fit")
    except ActivityError:
        return
    assert len(a.t) >= 1 and np.all(np.diff(a.t) >= 0)


@functools.cache
def small_fit() -> bytes:
    return fit_bytes(
        run_records(20, fractional=0.5),
        laps=[{"start": 0, "end": 19, "total_distance": 57.0}],
        sessions=[{"start": 0, "end": 19, "sport": "running"}],
    )


# ------------------------------------------------------------------------------------------ TCX


def points(n: int, **fields: object) -> list[dict[str, object]]:
    return [{"t": float(i), "distance": 3.0 * i, "hr": 140 + i % 5, **fields} for i in range(n)]


@pytest.mark.parametrize("style", ["default", "prefixed", "bare"])
def test_tcx_run_cadence_in_every_namespace_style(style: str) -> None:
    a = parse_activity(tcx_bytes(points(30, run_cadence=86, speed=3.1), style=style), "run.tcx")
    assert a.fmt == "tcx" and a.sport == "running"
    assert np.all(a.cadence == 172) and np.all(a.speed == 3.1)
    assert a.heart_rate[:3].tolist() == [140, 141, 142]
    assert a.started_at == WHEN and a.duration_s == 29
    assert any("doubled" in n for n in a.notes)


def test_tcx_plain_cadence_rule() -> None:
    strides = parse_activity(tcx_bytes(points(30, cadence=88)), "a.tcx")
    assert np.all(strides.cadence == 176)
    assert any("speed" in n and "computed" in n for n in strides.notes)  # no Speed: from the distance
    assert strides.speed[10] == pytest.approx(3.0)
    steps = parse_activity(tcx_bytes(points(30, cadence=176)), "b.tcx")
    assert np.all(steps.cadence == 176)
    assert any("not doubled" in n for n in steps.notes)


def test_tcx_run_cadence_wins_over_cadence() -> None:
    a = parse_activity(tcx_bytes(points(10, cadence=0, run_cadence=90)), "a.tcx")
    assert np.all(a.cadence == 180)


def test_tcx_biking_cadence_is_left_out() -> None:
    a = parse_activity(tcx_bytes(points(10, cadence=90), sport="Biking"), "a.tcx")
    assert not a.has("cadence") and a.sport == "biking"
    assert any("Biking" in n for n in a.notes)


def test_tcx_time_offsets() -> None:
    a = parse_activity(tcx_bytes(points(5, run_cadence=85), offset_h=2), "a.tcx")
    assert a.started_at == WHEN and a.t.tolist() == [0, 1, 2, 3, 4]
    b = parse_activity(tcx_bytes(points(5, run_cadence=85), offset_h=-5), "a.tcx")
    assert b.started_at == WHEN


def test_tcx_laps() -> None:
    a = parse_activity(tcx_bytes(points(100, run_cadence=85), laps=[(0, 40), (40, 100)]), "a.tcx")
    assert a.laps == (Lap(0.0, 40.0, 0.0, "manual"), Lap(40.0, 100.0, 0.0, "manual"))


def test_tcx_trackpoints_without_time_and_going_back() -> None:
    pts = points(6, run_cadence=85)
    pts[2] = {"distance": 1.0}  # a pause marker with no time
    pts[4]["t"] = 0.5  # the clock went back
    a = parse_activity(tcx_bytes(pts), "a.tcx")
    assert a.t.tolist() == [0, 1, 3, 5]
    assert any("no <Time>" in n for n in a.notes) and any("went back" in n for n in a.notes)


def test_tcx_errors_have_positions() -> None:
    bad_time = tcx_bytes(points(3)).replace(b"2026-05-01T07:30:01.000Z", b"yesterday", 1)
    err = error_of(bad_time, "a.tcx")
    assert err.line == 2 and err.col is not None and "'yesterday' is not a date and time" in str(err)
    bad_number = tcx_bytes(points(3)).replace(b"<DistanceMeters>3.0<", b"<DistanceMeters>far<", 1)
    assert "<DistanceMeters> 'far' is not a number" in str(error_of(bad_number, "a.tcx"))
    workouts = b'<TrainingCenterDatabase><Workouts><Workout Sport="Running"/></Workouts></TrainingCenterDatabase>'
    assert "workouts (plans), not a recorded activity" in str(error_of(workouts))
    assert "no trackpoint has a <Time>" in str(error_of(tcx_bytes([{"distance": 1.0}])))


def test_xml_with_a_dtd_or_an_entity_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
        b"<TrainingCenterDatabase><Activities>&lol2;</Activities></TrainingCenterDatabase>"
    )
    err = error_of(laughs, "bomb.tcx")
    assert err.line == 2 and "DTD" in str(err) and "activity file" in str(err)
    external = b'<!DOCTYPE gpx SYSTEM "http://example.com/x.dtd"><gpx/>'
    assert "DTD" in str(error_of(external, "x.gpx"))
    malformed = error_of(b"<gpx><trk></gpx>", "m.gpx")
    assert "malformed XML" in str(malformed) and malformed.line == 1


def test_xml_nested_without_end_is_refused_early() -> None:
    # expat keeps every open element: 32 MB of <a> would be 1.4 GB; refused at depth 65, at once
    import time

    deep = b"<TrainingCenterDatabase>" + b"<a>" * 4_000_000
    t = time.perf_counter()
    err = error_of(deep, "deep.tcx")
    assert time.perf_counter() - t < 2
    assert "nested more than 64 deep" in str(err) and "activity file" in str(err)
    assert (err.line, err.col) == (1, 24 + 63 * 3 + 1)  # the root and 63 <a> are 64 deep: the next one
    gpx = error_of(b"<gpx>" + b"<trk>" * 100, "deep.gpx")
    assert "nested more than 64 deep" in str(gpx)


def test_other_xml_is_no_activity() -> None:
    err = error_of(b"<workout_file><name>x</name></workout_file>", "w.xml")
    assert "<workout_file>" in str(err) and "TrainingCenterDatabase" in str(err)


def test_tcx_first_time_and_value_as_in_the_tree() -> None:
    # (streamed, read as the element tree was: the first <Time> decides, a trackpoint without one is left out
    # unread, only the first <Value> of a <HeartRateBpm> counts)
    base = tcx_bytes(points(3, run_cadence=85))
    untimed = base.replace(
        b"<Trackpoint><Time>", b"<Trackpoint><Time></Time><DistanceMeters>far</DistanceMeters><Time>", 1
    )
    a = parse_activity(untimed, "a.tcx")
    assert a.t.tolist() == [0, 1] and any("1 trackpoint with no <Time>" in n for n in a.notes)
    values = base.replace(b"<Value>141</Value>", b"<Value>151</Value><Value>x</Value>", 1)
    assert parse_activity(values, "a.tcx").heart_rate.tolist() == [140, 151, 142]


# ------------------------------------------------------------------------------------------ GPX


@pytest.mark.parametrize("extension", ["gpxtpx1", "gpxtpx2", "plain"])
def test_gpx_distance_speed_and_cadence(extension: str) -> None:
    track = [{**p, "hr": 150, "cad": 86} for p in meridian_track(1001, 3.0)]
    a = parse_activity(gpx_bytes(track, extension=extension, segments=3), "run.gpx")
    assert a.fmt == "gpx" and a.laps == ()
    assert a.distance[-1] == pytest.approx(3000.0, rel=0.005)
    assert np.nanmedian(a.speed) == pytest.approx(3.0, rel=0.005)
    assert np.all(a.cadence == 172) and np.all(a.heart_rate == 150)
    assert a.started_at == WHEN


def test_gpx_known_distance_east_west() -> None:
    # 0.1 degree of longitude on the equator: R x pi / 1800 = 11,119.5 m
    track = [{"lat": 0.0, "lon": i * 0.001, "t": float(i * 4)} for i in range(101)]
    a = parse_activity(gpx_bytes(track), "e.gpx")
    assert a.distance[-1] == pytest.approx(6_371_008.8 * math.pi / 1800, rel=0.005)


def test_gpx_duplicate_times_give_no_speed_from_zero_time() -> None:
    track = meridian_track(4)
    track.insert(1, dict(track[0]))
    a = parse_activity(gpx_bytes(track), "d.gpx")
    assert a.t.tolist() == [0, 0, 1, 2, 3]
    assert np.all(np.isfinite(a.speed) | np.isnan(a.speed))


def test_gpx_cadence_of_steps_and_bike_rides() -> None:
    steps = parse_activity(gpx_bytes([{**p, "cad": 170} for p in meridian_track(20)]), "s.gpx")
    assert np.all(steps.cadence == 170)
    ride = parse_activity(gpx_bytes([{**p, "cad": 90} for p in meridian_track(20, 8.0)], kind="cycling"), "r.gpx")
    assert not ride.has("cadence") and ride.sport == "cycling"


def test_gpx_errors() -> None:
    route = b'<gpx><rte><rtept lat="1" lon="2"/></rte></gpx>'
    assert "a route, not a recorded track" in str(error_of(route))
    bad = gpx_bytes(meridian_track(3)).replace(b'lat="45.0"', b'lat="north"')
    err = error_of(bad, "b.gpx")
    assert err.line == 2 and "lat is 'north'" in str(err)
    assert "-90 to 90" in str(error_of(gpx_bytes([{"lat": 91, "lon": 0, "t": 0.0}])))
    untimed = [{"lat": 1.0, "lon": 1.0, "t": None}]
    assert "no track point has a <time>" in str(error_of(gpx_bytes(untimed)))


def test_gpx_values_in_document_order() -> None:
    # the first value of each under <extensions> that is not empty, nested ones in document order; a track's
    # <type> after its points still makes it a ride
    point = '<trkpt lat="1" lon="2"><time>2024-05-01T07:30:0{}Z</time><extensions>{}</extensions></trkpt>'
    ext = "<hr></hr><x><hr>150<cad>88</cad></hr><hr>99</hr></x>"
    run = f"<gpx><trk><trkseg>{point.format(0, ext)}{point.format(1, ext)}</trkseg></trk></gpx>".encode()
    a = parse_activity(run, "r.gpx")
    assert a.heart_rate.tolist() == [150, 150] and a.cadence.tolist() == [176, 176]
    ride = run.replace(b"</trkseg>", b"</trkseg><type>Biking</type>")
    assert not parse_activity(ride, "r.gpx").has("cadence")
    bad = run.replace(b"<hr>150<cad>88</cad></hr>", b"<cad>a<hr>b</hr></cad>", 1)
    err = error_of(bad, "b.gpx")
    assert str(err).startswith("b.gpx:1:") and "<cad> 'a' is not a number" in str(err)
    assert err.col == bad.index(b"<cad>a") + 1


# ------------------------------------------------------------------------------------------ streaming


@functools.cache
def long_tcx(n: int = 60_000) -> bytes:
    """A TCX of `n` trackpoints a second apart, one a line (trackpoint i on line i + 3)."""
    start = datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    track = "".join(
        f"<Trackpoint><Time>{start + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}</Time>"
        f"<DistanceMeters>{3.1 * i:.1f}</DistanceMeters><Cadence>{85 + i % 3}</Cadence></Trackpoint>\n"
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase><Activities><Activity Sport="Running">'
        f'<Lap StartTime="2024-05-01T07:30:00Z"><Track>\n{track}</Track></Lap></Activity></Activities>'
        "</TrainingCenterDatabase>\n"
    ).encode()


def test_a_large_tcx_is_streamed_in_bounded_memory() -> None:
    import tracemalloc

    data = long_tcx()
    parse_activity(long_tcx(3), "warm.tcx")  # (the modules imported and their caches are not the reader's)
    tracemalloc.start()
    try:
        a = parse_activity(data, "long.tcx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(a.t) == 60_000 and a.duration_s == 59_999 and a.distance[-1] == pytest.approx(3.1 * 59_999)
    assert np.all((a.cadence >= 170) & (a.cadence <= 174))
    arrays = 5 * 8 * len(a.t)  # (the five float64 columns: 2.3 MiB)
    # the file's size: as_utf8 checks that the bytes are UTF-8 by decoding them (one str, let go at once); the
    # element tree took 13 times the file (93 MiB for these 6.9 MiB)
    assert peak < len(data) + 3 * arrays, f"peak {peak / 2**20:.1f} MiB for a {len(data) / 2**20:.1f} MiB file"


def test_a_long_file_is_placed_across_chunks_and_malformed_xml_is_said_first() -> None:
    lines = long_tcx().split(b"\n")
    k = 20_000 + 3  # (2.3 MB in: past two of the 1 MiB chunks expat is fed)
    lines[k] = lines[k].replace(b"<Cadence>", b"<Cadence>x")
    bad = b"\n".join(lines)
    err = error_of(bad, "long.tcx")
    assert (err.line, err.col) == (k + 1, lines[k].index(b"<Cadence>") + 1) and "<Cadence> 'x8" in str(err)
    lines[40_003] = lines[40_003].replace(b"</Trackpoint>", b"</Trackpoin>")  # (after the bad value)
    err = error_of(b"\n".join(lines), "long.tcx")
    assert "malformed XML: mismatched tag" in str(err) and err.line == 40_004


def test_text_cut_between_chunks_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from cadencecoach.workout.formats import zwo

    files = {
        "a.tcx": tcx_bytes(points(20, run_cadence=85, speed=3.1), laps=[(0, 10), (10, 20)]),
        "a.gpx": gpx_bytes([{**p, "hr": 150, "cad": 86} for p in meridian_track(20)], segments=2),
    }
    whole = {name: parse_activity(data, name) for name, data in files.items()}
    assert zwo.expat_parse.__kwdefaults__ is not None
    monkeypatch.setitem(zwo.expat_parse.__kwdefaults__, "chunk", 3)  # (every name and number cut somewhere)
    for name, data in files.items():
        cut = parse_activity(data, name)
        assert cut.laps == whole[name].laps and cut.notes == whole[name].notes
        for column in ("t", "cadence", "speed", "distance", "heart_rate"):
            assert np.array_equal(getattr(cut, column), getattr(whole[name], column), equal_nan=True)


# ------------------------------------------------------------------------------------------ CSV


def test_csv_basic() -> None:
    data = (
        b"# from a footpod\ntime,cadence,speed,distance,heart_rate\n"
        b"0,172,3.1,0,141\n1.0,174,3.2,3.2,\n\n0:02,,3.2,6.4,143\n"
    )
    a = parse_activity(data, "r.csv", suffix=".csv")
    assert a.fmt == "csv" and a.started_at is None and a.notes == ()
    assert a.t.tolist() == [0, 1, 2]
    assert a.cadence[:2].tolist() == [172, 174] and math.isnan(a.cadence[2])
    assert math.isnan(a.heart_rate[1])


def test_csv_any_order_clocks_extra_columns_and_quotes() -> None:
    data = b'"Cadence","TIME",lap,power\n170,1:00:00.5,1,200\n172,1:00:01.5,1,210\r\n'
    a = parse_csv(data, "r.csv")
    assert a.t.tolist() == [0, 1] and a.cadence.tolist() == [170, 172]
    assert a.notes == ("columns not read: 'lap', 'power'",)
    assert not a.has("speed")


def test_csv_speed_from_distance() -> None:
    a = parse_csv(csv_bytes([[i, 170, None, 2.5 * i, None] for i in range(10)]), "r.csv")
    assert a.speed[5] == pytest.approx(2.5) and any("computed from the distance" in n for n in a.notes)


def test_csv_time_going_back_is_dropped() -> None:
    a = parse_csv(b"time,cadence,distance\n0,170,0\n1,170,3\n0.5,170,1\n2,170,6\n", "r.csv")
    assert a.t.tolist() == [0, 1, 2]
    assert any("went back" in n for n in a.notes)


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        (b"", 1, 1, "no header"),
        (b"# only a comment\n", 1, 1, "no header"),
        (b"time,cadence\n", 2, 1, "no samples"),
        (b"0,170\n1,172\n", 1, 1, "no time or cadence column"),
        (b"time,speed\n0,3\n", 1, 1, "no cadence column"),
        (b"time;cadence\n0;170\n", 1, 1, "separated by ';'"),
        (b"time,cadence,Time\n", 1, 14, "named twice"),
        (b"time,cadence\n0,170,3\n", 2, 7, "3 cells, the header names 2"),
        (b"time,cadence,speed\n0,170\n", 2, 6, "2 cells, the header names 3"),
        (b"time,cadence\n,170\n", 2, 1, "no time"),
        (b"time,cadence\n  soon,170\n", 2, 3, "time 'soon' is not seconds"),
        (b"time,cadence\n-1,170\n", 2, 1, "time '-1'"),
        (b"time,cadence\n1:75,170\n", 2, 1, "minutes and seconds go to 59"),
        (b"time,cadence\n0,nan\n", 2, 3, "cadence 'nan' is not a number"),
        (b"time,cadence\n0,inf\n", 2, 3, "cadence 'inf' is not a number"),
        (b"time,cadence\n0,1e999\n", 2, 3, "out of range"),
        (b"time,cadence\n0, -5\n", 2, 4, "cadence -5 is out of range: 0 to 400"),
        (b"time,cadence,heart_rate\n0,170,350\n", 2, 7, "heart_rate 350 is out of range"),
        (b"time,cadence,speed\n0,170,45\n", 2, 7, "speed 45 is out of range: 0 to 30 m/s"),
        (b"time,cadence,distance\n0,170,10\n1,170,9\n", 3, 7, "less than the row before's (10)"),
        (b"time,cadence\n0,17\x00\n", 2, 5, "NUL"),
        (b"time,cadence\n0,\xff170\n", 2, 3, "not UTF-8"),
    ],
)
def test_csv_errors_are_positioned(text: bytes, line: int, col: int, words: str) -> None:
    with pytest.raises(ActivityError) as info:
        parse_csv(text, "r.csv")
    err = info.value
    assert (err.line, err.col) == (line, col), str(err)
    assert words in err.message
    assert err.exit_code == 2 and err.lines() == [f"r.csv:{line}:{col}: {err.message}"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.text(alphabet='0123456789.:,-e# \n\r"nafi', max_size=20), max_size=12).map(
            lambda xs: "time,cadence,speed,distance,heart_rate\n" + "\n".join(xs)
        ),
    )
)
def test_csv_parser_raises_nothing_but_activity_errors(text: str) -> None:
    try:
        a = parse_csv(text.encode("utf-8", errors="surrogatepass"), "h.csv")
    except ActivityError:
        return
    assert len(a.t) >= 1 and a.t[0] == 0 and np.all(np.diff(a.t) >= 0)
    assert np.all(np.nan_to_num(a.cadence) >= 0)


# ------------------------------------------------------------------------------------------ write_tcx


def recorded(n: int = 300, laps: tuple[Lap, ...] = ()) -> Activity:
    t = np.arange(n, dtype=np.float64) * 1.0
    cadence = 170 + (np.arange(n) % 7).astype(np.float64)
    hr = np.full(n, 150.0)
    if n > 7:
        cadence[5] = np.nan
        hr[7] = np.nan
    return Activity(
        "footpod", "sensor", t, cadence, np.full(n, 3.25), 3.25 * t, hr, laps=laps, started_at=WHEN, sport="running"
    )


def test_write_tcx_round_trip(tmp_path: Path) -> None:
    laps = (Lap(0.0, 150.0, None, "manual"), Lap(150.0, 299.0, 480.0, "distance"))
    a = recorded(laps=laps)
    path = tmp_path / "out" / "run.tcx"
    path.parent.mkdir()
    write_tcx(path, a)
    b = read_activity(path)
    assert b.fmt == "tcx" and b.sport == "running" and b.started_at == WHEN
    assert np.array_equal(b.t, a.t)
    ok = np.isfinite(a.cadence)
    assert np.array_equal(ok, np.isfinite(b.cadence))
    assert np.max(np.abs(b.cadence[ok] - a.cadence[ok])) <= 1
    assert np.allclose(b.distance, a.distance) and np.allclose(b.speed, a.speed)
    assert np.isnan(b.heart_rate[7]) and b.heart_rate[0] == 150
    assert [(lap.start_s, lap.end_s, lap.trigger) for lap in b.laps] == [(0, 150, "manual"), (150, 299, "distance")]
    assert b.laps[0].distance_m == pytest.approx(3.25 * 149, abs=0.01) and b.laps[1].distance_m == 480
    assert [p.name for p in path.parent.iterdir()] == ["run.tcx"]  # (atomic: no temporary left)


def test_write_tcx_is_tcx_v2() -> None:
    text = write_tcx_bytes(recorded(5), creator="<Coach & \x01 Co>").decode("utf-8")
    assert 'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"' in text
    assert 'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"' in text
    assert "<Id>2026-05-01T07:30:00.000Z</Id>" in text
    assert "<ns3:TPX><ns3:Speed>3.25</ns3:Speed><ns3:RunCadence>85</ns3:RunCadence></ns3:TPX>" in text
    assert "&lt;Coach &amp; \\x01 Co&gt;" in text  # escaped, the control character made visible
    # the order Garmin's schema requires (ActivityLap_t, Trackpoint_t)
    lap = ["<TotalTimeSeconds>", "<DistanceMeters>", "<Calories>", "<Intensity>", "<TriggerMethod>", "<Track>"]
    assert [text.index(x) for x in lap] == sorted(text.index(x) for x in lap)
    assert parse_activity(text.encode(), "x.tcx").duration_s == 4


def test_write_tcx_one_lap_and_no_start() -> None:
    b = parse_activity(write_tcx_bytes(recorded(20)), "x.tcx")
    assert b.laps == (Lap(0.0, 19.0, pytest.approx(3.25 * 19), "manual"),)
    a = recorded(5)
    with pytest.raises(ValueError, match="started_at"):
        write_tcx_bytes(Activity(a.source, a.fmt, a.t, a.cadence, a.speed, a.distance, a.heart_rate))


_value = st.one_of(st.just(math.nan), st.floats(0, 1e4, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 30), st.one_of(st.just(math.nan), st.floats(0, 230)), _value, _value, _value),
        min_size=1,
        max_size=40,
    ),
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(timezone.utc)),
)
def test_write_tcx_round_trip_of_any_samples(
    rows: list[tuple[float, float, float, float, float]], start: datetime
) -> None:
    dt, cad, spd, dist, hr = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    t = np.cumsum(np.round(dt, 3)) - round(dt[0], 3)
    dist = np.where(np.isnan(dist), np.nan, np.maximum.accumulate(np.nan_to_num(dist)))
    hr = np.where(hr > 255, np.nan, hr)
    start = start.replace(microsecond=(start.microsecond // 1000) * 1000)
    a = Activity("x", "sensor", t, cad, spd, dist, hr, started_at=start)
    b = parse_activity(write_tcx_bytes(a), "x.tcx")
    assert b.started_at == start
    assert np.allclose(b.t, t, atol=1e-3)
    for mine, back, tol in ((cad, b.cadence, 1.0), (spd, b.speed, 5e-4), (dist, b.distance, 5e-4)):
        known = np.isfinite(mine)
        if known.any() or np.isfinite(back).any():
            if mine is spd and not known.any():
                continue  # (no speed written: the reader computes one from the distance)
            assert np.array_equal(known, np.isfinite(back))
            assert np.all(np.abs(back[known] - mine[known]) <= tol + 1e-9)
    written = np.isfinite(hr) & (np.round(np.nan_to_num(hr)) >= 1)
    assert np.array_equal(written, np.isfinite(b.heart_rate))
    assert np.all(np.abs(b.heart_rate[written] - hr[written]) <= 0.5)


# ------------------------------------------------------------------------------------------ read_activity


def test_content_wins_over_the_name(tmp_path: Path) -> None:
    path = tmp_path / "run.fit"
    path.write_bytes(tcx_bytes(points(3, run_cadence=85)))
    a = read_activity(path)
    assert a.fmt == "tcx" and a.notes[0] == "the file is named .fit but holds TCX: read as TCX"
    csv = tmp_path / "run.CSV"
    csv.write_bytes(b"time,cadence\n0,170\n")
    assert read_activity(csv).fmt == "csv"


def test_unknown_content(tmp_path: Path) -> None:
    assert "CSV files (time,cadence,...) by the name .csv" in str(error_of(b"time,cadence\n0,170\n", "r.txt", ".txt"))
    assert "not a TCX file" in str(error_of(b"time,cadence", "r.tcx", ".tcx"))
    assert str(error_of(b"", "e.fit")) == "e.fit: the file is empty"
    assert "gzip" in str(error_of(b"\x1f\x8b\x08\x00rest", "r.fit.gz"))
    assert "ZIP" in str(error_of(b"PK\x03\x04rest", "r.zip"))


def test_too_big_is_refused_before_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.fit"
    with path.open("wb") as f:
        f.truncate(MAX_ACTIVITY_BYTES + 1024 * 1024)  # 33 MB (sparse)
    with pytest.raises(ActivityError) as info:
        read_activity(path, display="huge.fit")
    assert str(info.value) == "huge.fit: the file is over 32 MB; an activity file is at most that"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_and_folder_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ActivityError, match=re.escape("pipe.csv: is a FIFO (named pipe), not an activity file")):
        read_activity(fifo, display="pipe.csv")  # (never blocks: no writer)
    with pytest.raises(ActivityError, match="is a directory"):
        read_activity(tmp_path)
    with pytest.raises(ActivityError, match="no such file"):
        read_activity(tmp_path / "none.fit")


def test_activity_error_is_a_usage_exit() -> None:
    from cadencecoach.errors import CoachError

    err = ActivityError("r.fit", "damaged")
    assert isinstance(err, CoachError) and err.exit_code == 2 and err.lines() == ["r.fit: damaged"]
    assert read_mod.ActivityError is ActivityError
