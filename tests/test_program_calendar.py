"""The program's calendar (:mod:`cadencecoach.program.calendar`), read back by the maintained ``icalendar`` library:
every field of every event, text escaping, folding at 75 octets of UTF-8, CRLF, sanitized and bounded text."""

from __future__ import annotations

import ast
import itertools
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadencecoach.program import calendar
from cadencecoach.program.calendar import (
    FOLD_OCTETS,
    MAX_DESCRIPTION,
    MAX_SUMMARY,
    Event,
    calendar_text,
    clean_text,
    write_calendar,
)

STAMP = datetime(2025, 3, 1, 12, 30, 15, tzinfo=timezone.utc)
MONDAY = datetime(2025, 3, 3, 7, 0)


def event(n: int = 0, **kw: object) -> Event:
    fields: dict[str, object] = {
        "uid": f"mile-plan-{n}@cadencecoach",
        "start": MONDAY + timedelta(days=n),
        "end": MONDAY + timedelta(days=n, minutes=45),
        "summary": f"Session {n}",
        "description": "Warm-up 10 min\nRun 5 x 400 m\nCool-down",
        "categories": ("Running",),
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def parse(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text)


def calendar_name(cal: icalendar.Calendar) -> str:
    """``X-WR-CALNAME`` as written: icalendar keeps an X- property raw (unknown type), so it is compared with
    icalendar's own TEXT escaping of the expected name."""
    return str(cal["X-WR-CALNAME"])


def events_of(text: str) -> list[icalendar.Event]:
    return list(parse(text).walk("VEVENT"))


def lines_of(text: str) -> list[bytes]:
    data = text.encode("utf-8")
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)  # CRLF only, no bare CR or LF
    return lines


def test_the_calendar_and_every_field_of_every_event() -> None:
    evs = [
        event(0),
        event(1, summary="Tempo, 20 min; steady", description="a\nb", categories=("Running", "Tempo")),
        event(2, categories=()),
    ]
    text = calendar_text(evs, name="Mile plan", stamp=STAMP)
    cal = parse(text)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == calendar.PRODID
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Mile plan"
    got = list(cal.walk("VEVENT"))
    assert len(got) == 3
    for want, ev in zip(evs, got, strict=True):
        assert str(ev["UID"]) == want.uid
        assert ev.decoded("DTSTAMP") == STAMP
        assert ev.decoded("DTSTART") == want.start and ev.decoded("DTSTART").tzinfo is None  # floating
        assert ev.decoded("DTEND") == want.end
        assert str(ev["SUMMARY"]) == want.summary
        assert str(ev["DESCRIPTION"]) == want.description
        assert str(ev["TRANSP"]) == "OPAQUE"
        cats = [str(c) for c in ev["CATEGORIES"].cats] if "CATEGORIES" in ev else []
        assert cats == list(want.categories)
    assert "DTSTAMP:20250301T123015Z\r\n" in text
    assert "DTSTART:20250303T070000\r\n" in text  # floating: no Z, no TZID


def test_aware_times_are_written_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    ev = event(start=datetime(2025, 3, 3, 7, 0, tzinfo=paris), end=datetime(2025, 3, 3, 7, 45, 30, 999, tzinfo=paris))
    text = calendar_text([ev], name="p", stamp=datetime(2025, 3, 1, 13, 0, tzinfo=paris))
    assert "DTSTART:20250303T060000Z\r\n" in text and "DTEND:20250303T064530Z\r\n" in text
    assert "DTSTAMP:20250301T120000Z\r\n" in text
    (got,) = events_of(text)
    assert got.decoded("DTSTART") == ev.start and got.decoded("DTSTART").utcoffset() == timedelta(0)
    assert got.decoded("DTEND") == ev.end.replace(microsecond=0)


def test_a_naive_stamp_is_local_time_made_utc() -> None:
    naive = datetime(2025, 3, 1, 12, 0)
    text = calendar_text([event()], name="p", stamp=naive)
    (got,) = events_of(text)
    assert got.decoded("DTSTAMP") == naive.astimezone(timezone.utc)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "at least one event"),
        ([event(0), event(1, uid=event(0).uid)], "two events have the UID"),
        ([event(uid="  ")], "needs a UID"),
        ([event(end=MONDAY)], "ends"),
        ([event(end=MONDAY - timedelta(minutes=1))], "ends"),
        ([event(end=MONDAY + timedelta(microseconds=10))], "ends"),  # the same second once written
        ([event(end=(MONDAY + timedelta(hours=1)).replace(tzinfo=timezone.utc))], "both be local"),
    ],
)
def test_calendars_that_cannot_be_are_refused(events: list[Event], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_text(events, name="p", stamp=STAMP)


def test_text_with_commas_semicolons_backslashes_newlines_and_emoji_round_trips() -> None:
    summary = 'Run, 3 × 400 m; "hard" \\ fast 🏃‍♀️🔥 — ünïcödé'
    description = "Warm-up, 10 min;\nRun 400 m \\n (not a newline)\n\n\tTabbed; 🏃 «ok»\nC:\\path\\N"
    text = calendar_text(
        [event(summary=summary, description=description, categories=("A,B", "C;D", "E\\F"))],
        name="Plan, 2025; mile",
        stamp=STAMP,
    )
    (ev,) = events_of(text)
    assert str(ev["SUMMARY"]) == summary
    assert str(ev["DESCRIPTION"]) == description
    assert [str(c) for c in ev["CATEGORIES"].cats] == ["A,B", "C;D", "E\\F"]
    assert calendar_name(parse(text)) == "Plan\\, 2025\\; mile"
    assert 'SUMMARY:Run\\, 3 × 400 m\\; "hard" \\\\ fast' in text


def test_a_newline_in_a_one_line_field_is_shown_escaped_like_a_tag() -> None:
    (ev,) = events_of(calendar_text([event(summary="two\nlines\tand a tab")], name="p", stamp=STAMP))
    assert str(ev["SUMMARY"]) == "two\\nlines\\tand a tab" == clean_text("two\nlines\tand a tab")


def test_crlf_and_cr_in_a_description_are_line_ends() -> None:
    (ev,) = events_of(calendar_text([event(description="a\r\nb\rc\nd")], name="p", stamp=STAMP))
    assert str(ev["DESCRIPTION"]) == "a\nb\nc\nd"


def test_control_characters_and_bidi_never_reach_the_file() -> None:
    nasty = "Run\x1b]0;pwned\x07 \x00fast\x1b[2J\x7f\x9b\u202eevil\u2028x\x0b\x0c\x1c\x85"
    text = calendar_text(
        [event(uid="u\x1b1", summary=nasty, description=nasty + "\nline 2", categories=(nasty,))],
        name=nasty,
        stamp=STAMP,
    )
    data = text.encode("utf-8")
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", data.replace(b"\r\n", b""))
    for bad in ("\x1b", "\x00", "\x9b", "\x85", "\u202e", "\u2028"):
        assert bad not in text
    (ev,) = events_of(text)
    assert str(ev["SUMMARY"]) == clean_text(nasty) and "\\x1b]0;pwned\\x07" in str(ev["SUMMARY"])
    assert str(ev["DESCRIPTION"]) == clean_text(nasty + "\nline 2", MAX_DESCRIPTION, multiline=True)
    assert str(ev["UID"]) == "u\\x1b1"


def test_lone_surrogates_become_replacement_characters() -> None:
    text = calendar_text([event(summary="a\ud800b", description="c\udfffd")], name="p", stamp=STAMP)
    (ev,) = events_of(text)
    assert str(ev["SUMMARY"]) == "a\ufffdb" and str(ev["DESCRIPTION"]) == "c\ufffdd"


def test_long_text_is_bounded_like_the_tags() -> None:
    from cadencecoach.sinks.tags import MAX_COMMENT, MAX_TITLE, tag_text

    assert (MAX_SUMMARY, MAX_DESCRIPTION) == (MAX_TITLE, MAX_COMMENT)
    summary = "Long run " * 100
    description = ("Easy running, relaxed; " * 10 + "\n") * 40
    (ev,) = events_of(calendar_text([event(summary=summary, description=description)], name="p", stamp=STAMP))
    got_s, got_d = str(ev["SUMMARY"]), str(ev["DESCRIPTION"])
    assert len(got_s) == MAX_SUMMARY and got_s.endswith("…") and got_s == tag_text(summary)
    assert len(got_d) <= MAX_DESCRIPTION and got_d.endswith("…")
    assert got_d == tag_text(description, MAX_COMMENT, multiline=True)


def test_lines_fold_at_exactly_75_octets() -> None:
    text = calendar_text([event(summary="x" * 190)], name="p", stamp=STAMP)
    lines = lines_of(text)
    summary = next(i for i, line in enumerate(lines) if line.startswith(b"SUMMARY:"))
    folded = lines[summary : summary + 3]
    assert [len(line) for line in folded] == [75, 75, 8 + 190 + 2 - 150]  # the continuations' spaces count
    assert all(line.startswith(b" ") for line in folded[1:]) and not lines[summary + 3].startswith(b" ")


@pytest.mark.parametrize("char", ["é", "€", "🏃", "x\u0301"])
def test_folding_never_splits_a_multibyte_character(char: str) -> None:
    summary = char * 120
    text = calendar_text([event(summary=summary, description=f"a,{char};" * 60)], name="p", stamp=STAMP)
    lines = lines_of(text)
    for line in lines:
        assert len(line) <= FOLD_OCTETS
        line.decode("utf-8")  # each physical line is whole characters
    for line, nxt in itertools.pairwise(lines):  # a line is cut only where the next unit would not fit
        if nxt.startswith(b" "):
            unit = re.match(rb"\\.|[\x00-\x7f]|[\xc0-\xff][\x80-\xbf]*", nxt[1:])
            assert unit is not None and len(line) + len(unit.group()) > FOLD_OCTETS
            assert not line.endswith(b"\\") or line.endswith(b"\\\\")  # no escape pair is split
    (ev,) = events_of(text)
    assert str(ev["SUMMARY"]) == clean_text(summary)


def test_escape_pairs_are_not_split_by_a_fold() -> None:
    for pad in range(8):
        text = calendar_text([event(summary="a" * pad + ",;\\" * 60)], name="p", stamp=STAMP)
        for line, nxt in itertools.pairwise(lines_of(text)):
            if nxt.startswith(b" "):
                trailing = len(line) - len(line.rstrip(b"\\"))
                assert trailing % 2 == 0, (pad, line)
        (ev,) = events_of(text)
        assert str(ev["SUMMARY"]) == "a" * pad + ",;\\" * 60


def test_write_calendar_is_atomic_utf8_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "program.ics"
    evs = [event(0, summary="Café 🏃"), event(1)]
    write_calendar(path, evs, name="Mile plan", stamp=STAMP)
    assert path.read_bytes() == calendar_text(evs, name="Mile plan", stamp=STAMP).encode("utf-8")
    assert path.read_bytes().count(b"\r\n") == path.read_bytes().count(b"\n")
    with pytest.raises(ValueError):  # refused before anything is written: the old file is kept, no temp file left
        write_calendar(path, [], name="x", stamp=STAMP)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["program.ics"]
    assert len(events_of(path.read_text(encoding="utf-8"))) == 2


def test_write_calendar_names_the_file_when_the_folder_refuses(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:
        write_calendar(tmp_path / "missing" / "program.ics", [event()], name="p", stamp=STAMP)
    assert info.value.filename == str(tmp_path / "missing" / "program.ics")


def test_the_module_imports_only_the_standard_library_and_base_modules() -> None:
    tree = ast.parse(Path(calendar.__file__).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    ours = {n for n in names if n.startswith("cadencecoach")}
    assert ours <= {"cadencecoach", "cadencecoach.atomic", "cadencecoach.errors", "cadencecoach.terminal"}
    assert {n.split(".")[0] for n in names - ours} <= set(sys.stdlib_module_names) | {"__future__"}


# every code point but surrogates (which hypothesis leaves out of text; tested above): controls, bidi, emoji, CJK
TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.text(
    st.sampled_from(list(",;\\\n\r\t :\"'é€🏃\x1b\x00\x7f\x85\u2028\u202e")), max_size=300
)


@settings(max_examples=300, deadline=None)
@given(summary=TEXT, description=TEXT, category=TEXT, name=TEXT)
def test_any_text_comes_back_from_icalendar_as_sanitized(
    summary: str, description: str, category: str, name: str
) -> None:
    text = calendar_text(
        [event(summary=summary, description=description, categories=(category,))], name=name, stamp=STAMP
    )
    data = text.encode("utf-8")
    lines = lines_of(text)
    assert all(len(line) <= FOLD_OCTETS for line in lines)
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", data.replace(b"\r\n", b""))
    cal = parse(text)
    (ev,) = cal.walk("VEVENT")
    assert str(ev["SUMMARY"]) == clean_text(summary)
    assert str(ev["DESCRIPTION"]) == clean_text(description, MAX_DESCRIPTION, multiline=True)
    cats = [str(c) for c in ev["CATEGORIES"].cats] if "CATEGORIES" in ev else []
    assert cats == ([clean_text(category)] if clean_text(category) else [])
    assert calendar_name(cal) == icalendar.vText(clean_text(name)).to_ical().decode()
    assert ev.decoded("DTSTART") == MONDAY
