"""Programs in the history database (table ``programs``, schema 2): save, the active one, by id.

A program is stored as its inputs and its plan (JSON): what it was when made. What happened since (the runs,
the trials) is in the other tables, and :func:`cadencecoach.program.adapt.adapt` reads the two together each
time, so the stored plan never changes and a status is never out of date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cadencecoach.history.db import Database, utc_now
from cadencecoach.program.planner import Program, ProgramInputs, Session, Week

__all__ = ["StoredProgram", "active_program", "get_program", "list_programs", "save_program"]


@dataclass(frozen=True)
class StoredProgram:
    id: int
    created_at: str
    active: bool
    program: Program


def _plan_json(program: Program) -> str:
    return json.dumps(
        {
            "vdot": program.vdot,
            "goal_vdot": program.goal_vdot,
            "notes": list(program.notes),
            "weeks": [
                {
                    "index": w.index,
                    "start": w.start.isoformat(),
                    "phase": w.phase,
                    "light": w.light,
                    "cadence": w.cadence,
                    "at_least": w.at_least,
                    "sessions": [s.to_json() for s in w.sessions],
                }
                for w in program.weeks
            ],
        },
        sort_keys=True,
    )


def _program(inputs_text: str, plan_text: str) -> Program:
    from datetime import date

    inputs = ProgramInputs.from_json(json.loads(inputs_text))
    plan: dict[str, Any] = json.loads(plan_text)
    weeks = tuple(
        Week(
            index=int(w["index"]),
            start=date.fromisoformat(w["start"]),
            phase=str(w["phase"]),
            light=bool(w["light"]),
            cadence=int(w["cadence"]),
            sessions=tuple(Session.from_json(s) for s in w["sessions"]),
            at_least=bool(w.get("at_least", False)),
        )
        for w in plan["weeks"]
    )
    return Program(inputs, float(plan["vdot"]), float(plan["goal_vdot"]), weeks, tuple(plan.get("notes", ())))


def _row(row: Any) -> StoredProgram | None:
    try:
        program = _program(row["inputs"], row["plan"])
    except (ValueError, KeyError, TypeError):
        return None  # written by another version or tool: not ours to guess
    return StoredProgram(int(row["id"]), str(row["created_at"]), bool(row["active"]), program)


def save_program(db: Database, program: Program) -> int:
    """Store `program` as the active one (the one before stays, inactive); its id."""
    with db.write() as con:
        con.execute("UPDATE programs SET active = 0 WHERE active = 1")
        cur = con.execute(
            "INSERT INTO programs (created_at, inputs, plan, active) VALUES (?, ?, ?, 1)",
            (utc_now(), json.dumps(program.inputs.to_json(), sort_keys=True), _plan_json(program)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid


def list_programs(db: Database) -> list[StoredProgram]:
    """Every readable program, newest first (a row this version cannot read is left out)."""
    out = []
    for row in db.query("SELECT * FROM programs ORDER BY id DESC"):
        found = _row(row)
        if found is not None:
            out.append(found)
    return out


def active_program(db: Database) -> StoredProgram | None:
    for row in db.query("SELECT * FROM programs WHERE active = 1 ORDER BY id DESC LIMIT 1"):
        return _row(row)
    return None


def get_program(db: Database, program_id: int) -> StoredProgram | None:
    for row in db.query("SELECT * FROM programs WHERE id = ?", (program_id,)):
        return _row(row)
    return None
