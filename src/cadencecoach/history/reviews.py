"""Reviews of recorded runs in the history database (table ``reviews``, schema 3): save, list.

``cadencecoach review ACTIVITY [--workout W]`` stores each review: the activity file (as given, and the sha256
of its bytes), when the run began, the workout's name and file, how the two were aligned, the share of the time
the cadence was within the tolerance of the click, and the review itself as JSON (what ``review --json``
prints). A file is reviewed once per workout: reviewing the same bytes with the same workout again replaces its
row (same id), so a review can be redone with a new version of cadencecoach without a duplicate. ``history``
shows the latest reviews: adherence over time.

This module knows nothing of activities (the history imports no other part but the workout): the caller hands
over plain values and the JSON summary.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cadencecoach.history.db import Database, utc_now
from cadencecoach.history.sessions import parse_timestamp

__all__ = ["StoredReview", "list_reviews", "save_review"]


@dataclass(frozen=True)
class StoredReview:
    """A stored review. ``in_tolerance`` is a share 0..1 (None: no workout, no click or no cadence)."""

    id: int
    created_at: datetime  # aware (UTC)
    activity: str
    sha256: str
    started_at: datetime | None  # aware (UTC); None when the file did not say
    workout: str | None
    workout_source: str  # "" without a workout
    aligned_by: str | None
    in_tolerance: float | None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def when(self) -> datetime:
        """When the run began (local time), else when it was reviewed."""
        return (self.started_at or self.created_at).astimezone()

    @property
    def overall(self) -> dict[str, Any]:
        """The summary's overall row (``{}`` when the stored JSON has none)."""
        found = self.summary.get("overall")
        return found if isinstance(found, dict) else {}

    def to_json(self) -> dict[str, Any]:
        """The ``history --json`` entry: the row, and the review's overall figures (not every step)."""
        overall = self.overall
        return {
            "id": self.id,
            "reviewed_at": self.created_at.astimezone().isoformat(timespec="seconds"),
            "started_at": None if self.started_at is None else self.started_at.astimezone().isoformat(),
            "activity": self.activity,
            "sha256": self.sha256,
            "workout": self.workout,
            "workout_source": self.workout_source or None,
            "aligned_by": self.aligned_by,
            "in_tolerance": None if self.in_tolerance is None else round(self.in_tolerance, 4),
            "tolerance_spm": self.summary.get("tolerance_spm"),
            "duration_s": overall.get("duration_s"),
            "distance_m": overall.get("distance_m"),
            "cadence_spm": overall.get("cadence_spm"),
            "pace_s_per_km": overall.get("pace_s_per_km"),
        }


def _utc_text(when: datetime | None) -> str | None:
    if when is None:
        return None
    aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).isoformat(timespec="seconds")


def save_review(
    db: Database,
    *,
    activity: str,
    sha256: str,
    started_at: datetime | None,
    workout: str | None,
    workout_source: str | None,
    aligned_by: str | None,
    in_tolerance: float | None,
    summary: dict[str, Any],
) -> tuple[int, bool]:
    """Store a review; the same file (`sha256`) with the same workout (`workout_source`) replaces the row it has.

    Returns ``(id, replaced)``. ``in_tolerance`` outside 0..1 (or NaN) is stored as NULL.
    """
    share = in_tolerance if in_tolerance is not None and math.isfinite(in_tolerance) else None
    if share is not None and not 0 <= share <= 1:
        share = None
    values = (
        utc_now(),
        activity,
        sha256,
        _utc_text(started_at),
        workout,
        workout_source or "",
        aligned_by,
        share,
        json.dumps(summary, sort_keys=True, allow_nan=False),
    )
    with db.write() as con:
        found = con.execute(
            "SELECT id FROM reviews WHERE sha256 = ? AND workout_source = ?", (sha256, workout_source or "")
        ).fetchone()
        if found is not None:
            con.execute(
                "UPDATE reviews SET created_at = ?, activity = ?, sha256 = ?, started_at = ?, workout = ?,"
                " workout_source = ?, aligned_by = ?, in_tolerance = ?, summary = ? WHERE id = ?",
                (*values, found[0]),
            )
            return int(found[0]), True
        cur = con.execute(
            "INSERT INTO reviews (created_at, activity, sha256, started_at, workout, workout_source, aligned_by,"
            " in_tolerance, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid, False


def _row(row: Any) -> StoredReview | None:
    """A stored row as a StoredReview; None for one this version cannot read (another tool wrote it)."""
    try:
        created = parse_timestamp(str(row["created_at"]))
        started = parse_timestamp(row["started_at"]) if row["started_at"] else None
        summary = json.loads(row["summary"]) if row["summary"] else {}
    except (ValueError, TypeError, RecursionError):
        return None
    if created is None or not isinstance(summary, dict):
        return None
    share = row["in_tolerance"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        share = None
    text = [row[k] if isinstance(row[k], str) else None for k in ("workout", "aligned_by")]
    return StoredReview(
        id=int(row["id"]),
        created_at=created,
        activity=str(row["activity"]),
        sha256=str(row["sha256"]),
        started_at=started,
        workout=text[0],
        workout_source=str(row["workout_source"] or ""),
        aligned_by=text[1],
        in_tolerance=None if share is None else float(share),
        summary=summary,
    )


def list_reviews(db: Database, limit: int | None = None) -> list[StoredReview]:
    """The stored reviews, the latest run first (by when it began, else when it was reviewed); a row this
    version cannot read is left out. `limit`: at most that many."""
    sql = "SELECT * FROM reviews ORDER BY COALESCE(started_at, created_at) DESC, id DESC"
    params: tuple[object, ...] = ()
    if limit is not None:
        sql += " LIMIT ?"
        params = (max(int(limit), 0),)
    out = []
    for row in db.query(sql, params):
        found = _row(row)
        if found is not None:
            out.append(found)
    return out
