"""Recorded runs: :mod:`.model` (:class:`Activity`, :class:`Lap`), the readers (:mod:`.fit`, :mod:`.tcx`,
:mod:`.gpx`, :mod:`.csvfile`) and :func:`read_activity` (:mod:`.read`), which picks the reader by the file's
content; :func:`~.tcx.write_tcx` saves an activity as TCX."""

from __future__ import annotations

from cadencecoach.activity.model import FIELDS, Activity, Lap
from cadencecoach.activity.read import ActivityError, read_activity

__all__ = ["FIELDS", "Activity", "ActivityError", "Lap", "read_activity"]
