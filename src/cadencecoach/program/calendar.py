"""A training program as an iCalendar file (RFC 5545): one event per session, importable by any calendar.

:func:`calendar_text` writes a ``VCALENDAR`` (``VERSION:2.0``, ``PRODID``, ``CALSCALE:GREGORIAN``,
``METHOD:PUBLISH``, ``X-WR-CALNAME``) with one ``VEVENT`` per :class:`Event` (``UID``, ``DTSTAMP``, ``DTSTART``,
``DTEND``, ``SUMMARY``, ``DESCRIPTION``, ``CATEGORIES`` when it has any, ``TRANSP:OPAQUE``); :func:`write_calendar`
writes it to a file with the one atomic writer (:mod:`cadencecoach.atomic`). Written by hand, with the standard
library only: the format is small, and the tests read it back with the maintained ``icalendar`` library.

Times
    A **naive** datetime is written as *floating* local time (``DTSTART:20250303T070000``): the event is at
    07:00 in whatever time zone the calendar (and the runner) is in. That is what a program should use for its
    sessions: a run planned for 07:00 stays at 07:00 when the runner travels or the clocks change. An **aware**
    datetime is a fixed instant, written in UTC (``DTSTART:20250303T060000Z``). An event's start and end are
    both naive or both aware, and it ends after it starts; seconds are kept, microseconds dropped. ``DTSTAMP``
    (when the file was made) is always UTC: an aware `stamp` is converted, a naive one taken as local time
    (Python's own rule, :meth:`datetime.datetime.astimezone`).

Text
    A workout file is untrusted input, and so are the names and notes the events are made of. Every text goes
    through the project's one sanitizer, :func:`cadencecoach.terminal.safe_text` (control characters and bidi
    controls shown escaped, ``\\x1b``: a calendar never carries a raw ESC or NUL), and is bounded the way the
    audio tags are (:func:`cadencecoach.sinks.tags.tag_text`): :data:`MAX_SUMMARY` characters for the summary,
    the calendar's name, a category and a UID, :data:`MAX_DESCRIPTION` for the description (which keeps its
    lines and tabs; ``\\r\\n`` and ``\\r`` are line ends in it), the last kept character an ellipsis. A one-line
    field shows a newline or tab in it escaped (``\\n``), as a tag does. Lone surrogates (not text, and not
    encodable) become U+FFFD. :func:`clean_text` is that rule: what a reader of the file gets back.

    The sanitized text is then escaped as RFC 5545 TEXT (backslash, semicolon, comma; a newline as ``\\n``),
    content lines are folded at 75 octets of UTF-8 (a continuation line starts with one space, which counts),
    never inside a multi-byte character or an escape pair, and every line ends in CRLF.

Examples
--------
>>> from datetime import datetime, timezone
>>> e = Event("p-1@cadencecoach", datetime(2025, 3, 3, 7, 0), datetime(2025, 3, 3, 7, 45), "Easy, 45 min",
...           "Warm-up 10 min\\nEasy 30 min", ("Running",))
>>> text = calendar_text([e], name="Mile plan", stamp=datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc))
>>> print(text.replace("\\r\\n", "\\n"), end="")
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//cadencecoach//program export//EN
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Mile plan
BEGIN:VEVENT
UID:p-1@cadencecoach
DTSTAMP:20250301T120000Z
DTSTART:20250303T070000
DTEND:20250303T074500
SUMMARY:Easy\\, 45 min
DESCRIPTION:Warm-up 10 min\\nEasy 30 min
CATEGORIES:Running
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR
>>> text.count("\\r\\n") == text.count("\\n")
True
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from cadencecoach import atomic
from cadencecoach.terminal import bounded_text

__all__ = [
    "FOLD_OCTETS",
    "MAX_DESCRIPTION",
    "MAX_SUMMARY",
    "PRODID",
    "Event",
    "calendar_text",
    "clean_text",
    "write_calendar",
]

MAX_SUMMARY = 200
"""Longest summary, calendar name, category or UID written (characters, after sanitizing): the tags' title."""
MAX_DESCRIPTION = 4000
"""Longest description written (characters, after sanitizing): the tags' comment."""
FOLD_OCTETS = 75
"""Longest content line, in octets of UTF-8, CRLF not counted (RFC 5545 3.1)."""
PRODID = "-//cadencecoach//program export//EN"
"""Who made the file (RFC 5545 3.7.3). No version in it, so that the same program gives the same file."""


@dataclass(frozen=True)
class Event:
    """One session in the calendar.

    `uid` must stay the same when the program is exported again (``f"{program_id}-{session_index}@cadencecoach"``),
    so that a calendar updates the event instead of adding a second one; `start` and `end` are naive (floating
    local time: what a program should use) or aware (an instant, written in UTC); `description` may have lines.
    """

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    categories: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------- text

_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_ENDS = re.compile("\r\n?")


def clean_text(text: str, limit: int = MAX_SUMMARY, *, multiline: bool = False) -> str:
    """`text` as it goes into the calendar (and comes back out of it): sanitized by
    :func:`cadencecoach.terminal.safe_text` (`multiline` keeps newlines and tabs, and takes ``\\r\\n`` and ``\\r``
    for newlines), stripped, and cut to `limit` characters, the last one an ellipsis (as
    :func:`cadencecoach.sinks.tags.tag_text` cuts a tag).

    >>> clean_text("Run\\x1b[2J fast"), clean_text("a\\r\\nb", multiline=True), len(clean_text("x" * 300))
    ('Run\\\\x1b[2J fast', 'a\\nb', 200)
    """
    s = _SURROGATE.sub("\ufffd", text)
    if multiline:
        s = _LINE_ENDS.sub("\n", s)
    return bounded_text(s, limit, multiline=multiline)


_TEXT_ESCAPES = {"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"}
_TEXT_SPECIAL = re.compile(r"[\\;,\n]")


def _escaped(text: str) -> str:
    """RFC 5545 TEXT (3.3.11): backslash, semicolon and comma escaped, a newline as ``\\n``."""
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], text)


_UNITS = re.compile(r"\\.|.", re.DOTALL)  # an escape pair, or one character: a line is folded between units


def _folded(line: str) -> Iterator[str]:
    """The physical lines of a content line: at most :data:`FOLD_OCTETS` octets each, a continuation line
    starting with one space (counted), never split inside a character or an escape pair."""
    piece: list[str] = []
    size = 0
    for unit in _UNITS.findall(line):
        n = len(unit.encode("utf-8"))
        if size + n > FOLD_OCTETS:
            yield "".join(piece)
            piece, size = [" "], 1
        piece.append(unit)
        size += n
    yield "".join(piece)


# ------------------------------------------------------------------------------------------------ times


def _utc(moment: datetime) -> str:
    """An instant in UTC (``...Z``); a naive `moment` is local time, as :meth:`datetime.astimezone` takes it."""
    return _stamp(moment.astimezone(timezone.utc)) + "Z"


def _stamp(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSS`` of `moment`'s own fields (seconds kept, microseconds dropped)."""
    m = moment
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}"


def _when(moment: datetime) -> str:
    """``DTSTART``/``DTEND``: floating local time for a naive `moment`, UTC for an aware one."""
    return _utc(moment) if _aware(moment) else _stamp(moment)


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None


def _checked_times(event: Event) -> tuple[str, str]:
    if _aware(event.start) != _aware(event.end):
        raise ValueError(f"event {event.uid!r}: its start and end must both be local (naive) times or both aware ones")
    start, end = (e.replace(microsecond=0) for e in (event.start, event.end))
    if end <= start:
        raise ValueError(f"event {event.uid!r}: it ends ({event.end}) before it starts ({event.start})")
    return _when(start), _when(end)


# ----------------------------------------------------------------------------------------------- writer


def calendar_text(events: Sequence[Event], *, name: str, stamp: datetime) -> str:
    """The iCalendar file of `events`, in their order: text with CRLF line ends (see the module's notes).

    Parameters
    ----------
    events : sequence of Event
        At least one (RFC 5545: a calendar has a component), with distinct UIDs (after sanitizing).
    name : str
        The calendar's name (``X-WR-CALNAME``), e.g. the program's.
    stamp : datetime
        When the file is made (every event's ``DTSTAMP``, in UTC); aware, or naive local time.

    Returns
    -------
    str
        Encode it as UTF-8 (:func:`write_calendar` does).

    Raises
    ------
    ValueError
        No events; an empty or repeated UID; an event that ends before it starts, or mixes naive and aware times.
    """
    if not events:
        raise ValueError("a calendar needs at least one event")
    dtstamp = _utc(stamp)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_escaped(PRODID)}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escaped(clean_text(name))}",
    ]
    uids: set[str] = set()
    for event in events:
        uid = clean_text(event.uid)
        if not uid:
            raise ValueError("an event needs a UID")
        if uid in uids:
            raise ValueError(f"two events have the UID {uid!r}: each needs its own")
        uids.add(uid)
        start, end = _checked_times(event)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_escaped(uid)}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART:{start}",
            f"DTEND:{end}",
            f"SUMMARY:{_escaped(clean_text(event.summary))}",
            f"DESCRIPTION:{_escaped(clean_text(event.description, MAX_DESCRIPTION, multiline=True))}",
        ]
        categories = [c for c in (clean_text(c) for c in event.categories) if c]
        if categories:
            lines.append(f"CATEGORIES:{','.join(_escaped(c) for c in categories)}")
        lines += ["TRANSP:OPAQUE", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(f"{physical}\r\n" for line in lines for physical in _folded(line))


def write_calendar(path: str | os.PathLike[str], events: Sequence[Event], *, name: str, stamp: datetime) -> None:
    """Write :func:`calendar_text` to `path` (UTF-8, CRLF) atomically (:func:`cadencecoach.atomic.write_bytes`):
    the file appears complete or not at all; an old one keeps its contents if the write fails.

    Raises
    ------
    ValueError
        As :func:`calendar_text` (before anything is written).
    OSError
        The file system refused, with `path` as its ``filename`` (:func:`cadencecoach.atomic.named`).
    """
    atomic.write_bytes(path, calendar_text(events, name=name, stamp=stamp).encode("utf-8"))
