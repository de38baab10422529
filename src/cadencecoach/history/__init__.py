"""Training history: the SQLite database of recorded sessions and time trials, and the charts.

Light to import (sqlite3 and the standard library); matplotlib is imported only by :mod:`.charts` when a
chart is drawn. See docs/HISTORY.md.
"""

from __future__ import annotations

from cadencecoach.history.db import DB_NAME, Database, HistoryError, db_path, open_db, schema_version
from cadencecoach.history.sessions import SessionRecorder, SessionRow, WeekTotal, list_sessions, weekly_totals
from cadencecoach.history.trials import (
    DefaultTrial,
    Trial,
    latest_trial,
    list_trials,
    make_trial,
    pace_table,
    read_latest_trial,
)

__all__ = [
    "DB_NAME",
    "Database",
    "DefaultTrial",
    "HistoryError",
    "SessionRecorder",
    "SessionRow",
    "Trial",
    "WeekTotal",
    "db_path",
    "latest_trial",
    "list_sessions",
    "list_trials",
    "make_trial",
    "open_db",
    "pace_table",
    "read_latest_trial",
    "schema_version",
    "weekly_totals",
]
