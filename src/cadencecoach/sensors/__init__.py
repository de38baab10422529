"""Sensors for live runs: a Bluetooth footpod (:mod:`.ble`, the Running Speed and Cadence service parsed in
:mod:`.rsc`) or a recorded activity played back (:mod:`.replay`), both behind one interface (:mod:`.source`):
:class:`Sensor` (``start``, ``stop``, ``drain``) giving :class:`Reading` and :class:`Status` events.

Importing this package imports neither `bleak` (the optional ``sensors`` extra) nor an activity reader.
"""

from __future__ import annotations

from cadencecoach.sensors.source import (
    Reading,
    Sensor,
    SensorSpec,
    SensorUnavailable,
    Status,
    open_sensor,
    parse_sensor,
)

__all__ = ["Reading", "Sensor", "SensorSpec", "SensorUnavailable", "Status", "open_sensor", "parse_sensor"]
