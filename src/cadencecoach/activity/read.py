"""Reading a recorded activity, whatever its format: :func:`read_activity`.

The format is told by the content, the name's extension only a hint: a FIT header (``.FIT`` in bytes 9-12) is
FIT (:mod:`.fit`); XML whose root is ``<TrainingCenterDatabase>`` is TCX (:mod:`.tcx`), ``<gpx>`` GPX
(:mod:`.gpx`); anything else is CSV (:mod:`.csvfile`) when it is named ``.csv``. A file whose content is not
what its name says is read by its content, with a note. A compressed file (gzip, zip) is refused with what to
do.

Bounded before anything is decoded: at most :data:`MAX_ACTIVITY_BYTES` are read, through
:func:`cadencecoach.files.read_limited` (never blocks: a FIFO, a device or a folder is refused), then at most
:data:`MAX_SAMPLES` samples and :data:`MAX_LAPS` laps are read. Every failure is an :class:`ActivityError`
(exit 2): ``FILE:LINE:COL: message`` for text files, ``FILE: message`` otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cadencecoach.activity._common import (
    MAX_ACTIVITY_BYTES,
    MAX_LAPS,
    MAX_SAMPLES,
    ActivityError,
    clip,
    local,
    xml_root,
)
from cadencecoach.activity.model import Activity
from cadencecoach.files import InputRefused, read_limited

__all__ = [
    "MAX_ACTIVITY_BYTES",
    "MAX_LAPS",
    "MAX_SAMPLES",
    "SUFFIXES",
    "ActivityError",
    "parse_activity",
    "read_activity",
    "sniff",
]

SUFFIXES = {".fit": "fit", ".tcx": "tcx", ".gpx": "gpx", ".csv": "csv"}
NAMES = {"fit": "FIT", "tcx": "TCX", "gpx": "GPX", "csv": "CSV", "xml": "XML"}
_UTF16 = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


def read_activity(path: str | Path, *, display: str | None = None) -> Activity:
    """The activity recorded in the file `path` (FIT, TCX, GPX or CSV); `display` names it in messages.

    Raises :class:`ActivityError` when it cannot be read, :class:`~cadencecoach.errors.ExtraUnavailable` for a
    FIT file without the ``fit`` extra.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.csv"
    >>> _ = p.write_text("time,cadence\\n0,170\\n1,172\\n")
    >>> a = read_activity(p)
    >>> a.fmt, a.cadence.tolist(), a.duration_s
    ('csv', [170.0, 172.0], 1.0)
    """
    path = Path(path)
    shown = display or str(path)
    try:
        data = read_limited(path, MAX_ACTIVITY_BYTES)
    except InputRefused as exc:
        if exc.kind is not None:
            reason = f"is {exc.kind}, not an activity file"
        elif exc.over is not None:
            reason = f"the file is over {MAX_ACTIVITY_BYTES // (1024 * 1024)} MB; an activity file is at most that"
        else:
            reason = exc.reason
        raise ActivityError(shown, reason) from None
    return parse_activity(data, shown, suffix=path.suffix)


def sniff(data: bytes) -> str | None:
    """``"fit"``, ``"xml"`` or None (not told by the content) for a file's first bytes.

    >>> sniff(b"\\x0e\\x10\\x00\\x00\\x00\\x00\\x00\\x00.FIT"), sniff(b"\\xef\\xbb\\xbf <?xml ?><gpx/>"), sniff(b"t,c")
    ('fit', 'xml', None)
    """
    if len(data) >= 12 and data[0] in (12, 14) and data[8:12] == b".FIT":
        return "fit"
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head[:2] in _UTF16 or head.lstrip().startswith(b"<"):
        return "xml"
    return None


def parse_activity(data: bytes, display: str, *, suffix: str = "") -> Activity:
    """The activity in a file's bytes (see :func:`read_activity`); `suffix` is the name's extension, a hint."""
    hint = SUFFIXES.get(suffix.lower())
    if not data:
        raise ActivityError(display, "the file is empty")
    if data[:2] == b"\x1f\x8b":
        raise ActivityError(display, "a gzip-compressed file: decompress it first (gunzip) and give the file inside")
    if data[:4] == b"PK\x03\x04":
        raise ActivityError(display, "a ZIP archive: extract the activity file from it first")
    kind = sniff(data)
    if kind == "fit":
        from cadencecoach.activity.fit import parse_fit

        return _named(parse_fit(data, display), "fit", hint, suffix)
    if kind == "xml":
        root, notes = xml_root(data, display)
        name = local(root.tag)
        if name == "TrainingCenterDatabase":
            from cadencecoach.activity import tcx

            return _named(tcx.read_tree(root, display, notes), "tcx", hint, suffix)
        if name == "gpx":
            from cadencecoach.activity import gpx

            return _named(gpx.read_tree(root, display, notes), "gpx", hint, suffix)
        raise ActivityError(
            display,
            f"an XML file whose root is <{clip(root.tag)}>, not an activity: a TCX file's root is "
            "<TrainingCenterDatabase>, a GPX file's <gpx>",
            root.line,
            root.col,
        )
    if hint == "csv":
        from cadencecoach.activity.csvfile import parse_csv

        return parse_csv(data, display)
    if hint == "fit":
        raise ActivityError(display, "not a FIT file: it does not start with a FIT file header ('.FIT' in bytes 9-12)")
    if hint is not None:
        raise ActivityError(display, f"not a {NAMES[hint]} file: a {NAMES[hint]} file is XML (it starts with '<')")
    raise ActivityError(
        display,
        "not an activity file cadencecoach reads: FIT, TCX and GPX files are told by their content, CSV files "
        "(time,cadence,...) by the name .csv",
    )


def _named(activity: Activity, kind: str, hint: str | None, suffix: str) -> Activity:
    """`activity`, with a note when the file's name said another format."""
    if hint is None or hint == kind:
        return activity
    note = f"the file is named {clip(suffix)} but holds {NAMES[kind]}: read as {NAMES[kind]}"
    return replace(activity, notes=(note, *activity.notes))
