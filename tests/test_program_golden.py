"""Golden programs: :func:`build_program` for fixed inputs and dates, session by session, against the JSON in
``tests/data/programs/NAME.json`` (dates, templates, params, cadence, km and seconds rounded, each week's phase,
light flag and volume).

A golden that is missing, or every one when ``CADENCECOACH_REGOLDEN=1``, is (re)written from the code, and the
test FAILS saying so: a new golden has to be read (against docs/PROGRAM.md) before it is trusted, and a run
never passes on a golden it has just written.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cadencecoach.program.planner import Program, ProgramInputs, build_program
from program_cases import MILER, SIX_DAYS, THREE_DAYS

DATA = Path(__file__).parent / "data" / "programs"

GOLDENS: dict[str, ProgramInputs] = {
    # the docs' runner: a 6:30 miler after a 5:30 mile, 4 runs a week
    "miler-6-30": MILER,
    # a beginner: 3 runs a week, 8 weeks, 12 km a week
    "beginner-3d-8w": THREE_DAYS,
    # 6 runs a week for 16 weeks at 50 km, the trial (a 5k) three months old: a trial at once
    "6d-16w-50km-stale": SIX_DAYS,
    # 5 runs a week from a Wednesday, 10 weeks at 35 km
    "5d-10w-wednesday": ProgramInputs(
        goal="1mi 6:00",
        days=5,
        weeks=10,
        start=date(2027, 3, 3),
        trial="1mi 6:25",
        trial_date=date(2027, 2, 10),
        volume_km=35.0,
        cadence=178,
        cadence_from=172,
    ),
}


def golden_json(p: Program) -> dict[str, Any]:
    """The program as its golden file holds it."""
    return {
        "inputs": p.inputs.to_json(),
        "vdot": round(p.vdot, 2),
        "goal_vdot": round(p.goal_vdot, 2),
        "notes": list(p.notes),
        "weeks": [
            {
                "week": w.index + 1,
                "start": w.start.isoformat(),
                "phase": w.phase,
                "light": w.light,
                "cadence": w.cadence,
                "km": round(w.volume_km, 2),
                "sessions": [
                    {
                        "day": s.day.isoformat(),
                        "weekday": s.day.strftime("%a"),
                        "template": s.template,
                        "title": s.title,
                        "params": dict(s.params),
                        "cadence": s.cadence,
                        "km": round(s.distance_km, 2),
                        "seconds": round(s.planned_s),
                    }
                    for s in w.sessions
                ],
            }
            for w in p.weeks
        ],
    }


def differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = [f"{k}: golden {want.get(k)!r}, now {got.get(k)!r}" for k in got if k != "weeks" and want.get(k) != got[k]]
    wweeks, gweeks = want.get("weeks", []), got["weeks"]
    if len(wweeks) != len(gweeks):
        out.append(f"{len(wweeks)} weeks in the golden, {len(gweeks)} now")
    for ww, gw in zip(wweeks, gweeks, strict=False):
        head = {k: v for k, v in gw.items() if k != "sessions"}
        was = {k: v for k, v in ww.items() if k != "sessions"}
        if head != was:
            out.append(f"week {gw['week']}: golden {was}, now {head}")
        for ws, gs in zip(ww["sessions"], gw["sessions"], strict=False):
            if ws != gs:
                out.append(f"week {gw['week']} {gs['day']}: golden {ws}, now {gs}")
        if len(ww["sessions"]) != len(gw["sessions"]):
            out.append(f"week {gw['week']}: {len(ww['sessions'])} sessions in the golden, {len(gw['sessions'])} now")
    return out


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_program(name: str) -> None:
    got = golden_json(build_program(GOLDENS[name]))
    path = DATA / f"{name}.json"
    if os.environ.get("CADENCECOACH_REGOLDEN") == "1" or not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.fail(f"wrote the golden {path}: read it against docs/PROGRAM.md, then run again without REGOLDEN")
    want = json.loads(path.read_text(encoding="utf-8"))
    diff = differences(want, got)
    assert not diff, f"{name} differs from {path.name} (CADENCECOACH_REGOLDEN=1 rewrites it):\n" + "\n".join(diff[:20])
    assert want == got


def test_goldens_inputs_round_trip() -> None:
    """The stored inputs are the inputs: a golden is of the program it names."""
    for name, x in GOLDENS.items():
        path = DATA / f"{name}.json"
        if path.exists():
            assert ProgramInputs.from_json(json.loads(path.read_text(encoding="utf-8"))["inputs"]) == x
