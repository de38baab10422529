"""The sessions a program is made of: shipped workouts, parametrised.

A program never invents a workout: every session is one of the shipped workouts (``workouts/*.yaml``), edited in
a few documented places (:class:`Template`):

* its rep count (the first ``repeat:`` of the workout), within the template's range;
* the minutes of its warm-up, its main block (``minutes``: an easy run's run, a tempo's tempo) and its cool-down;
* its cadences: every cadence in the file moves by the same number of steps per minute, so that the workout's
  own cadence (180 in every shipped file) becomes the week's target and the steps keep their shape (a warm-up
  that ramps 165-170 under a 180 target ramps 159-164 under 174);
* its paces: the example paces the shipped file writes become names the runner's latest trial derives
  (``mile: 5:45/mi`` is dropped, so ``mile`` is the trial's mile pace; ``jog`` is an alias of ``easy-slow``), and the
  file gets the trial as ``trial:``. The time trial's ``goal`` is the mile pace the runner is on course for,
  and the goal race's the goal itself.

The edited YAML is an ordinary workout in our format (``program export`` writes them out): whatever the loader
accepts, ``run``, ``render``, ``plan`` and ``convert`` accept.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cadencecoach.workout.library import shipped_dir

__all__ = ["TEMPLATES", "Template", "session_yaml", "shift_cadence"]

CADENCE_RANGE = (60, 300)
"""What the format accepts for a cadence (docs/WORKOUT-FORMAT.md)."""


@dataclass(frozen=True)
class Template:
    """A shipped workout a session is made from, and what a program may change in it."""

    workout: str  # the shipped file's stem
    kind: str  # the session kind it serves: easy, long, strides, cadence, hills, speed, tempo, trial, goal
    title: str  # the session's name; ``{reps}`` and ``{minutes}`` are filled in
    reps: tuple[int, int] | None = None  # the range of the first repeat's count
    warmup: tuple[int, int] | None = None  # minutes, the range of the first step (a warmup)
    cooldown: tuple[int, int] | None = None  # minutes, the range of the last step (a cooldown)
    main: tuple[int, tuple[int, int]] | None = None  # (index of the top-level step, minutes range)
    paces: dict[str, str | None] = field(default_factory=dict)  # name -> derived alias, or None to drop it
    goal_pace: bool = False  # the workout has a `goal` pace: the trial's target
    notes: str = ""  # the session's notes ({reps}, {minutes}, {cadence}), when the shipped ones name its numbers


def _t(workout: str, kind: str, title: str, **kw: Any) -> Template:
    return Template(workout, kind, title, **kw)


JOG = {"jog": "easy-slow"}
EASY_NOTES = "{minutes} minutes at an easy, conversational pace: the aerobic base your speed is built on."
LONG_NOTES = "The week's longer run, {minutes} minutes easy: the endurance to hold a fast pace for a whole mile."
SPRINTS_NOTES = (
    "An easy run, then {reps} sprints of 25 seconds at 90 % with full recovery: speed and a quick stride turnover "
    "without tiring you out."
)
CADENCE_NOTES = "Your step rate worked up to {cadence} steps per minute in small stages, at the same easy effort."
HILLS_NOTES = (
    "{reps} hard 30-second climbs on a hill of 100 to 200 m: leg strength and endurance that pay off as speed on "
    "the flat (expect a higher top speed after about six weeks of hills)."
)

_ALL = (
    (
        "easy",
        _t(
            "easy-run",
            "easy",
            "Easy run, {minutes} min",
            warmup=(5, 5),
            cooldown=(5, 5),
            main=(1, (10, 80)),
            notes=EASY_NOTES,
        ),
    ),
    (
        "long",
        _t(
            "easy-run",
            "long",
            "Long run, {minutes} min",
            warmup=(5, 5),
            cooldown=(5, 5),
            main=(1, (30, 120)),
            notes=LONG_NOTES,
        ),
    ),
    (
        "strides",
        _t(
            "flat-sprints",
            "strides",
            "Easy run with {reps} sprints",
            reps=(4, 8),
            warmup=(10, 60),
            cooldown=(5, 10),
            notes=SPRINTS_NOTES,
        ),
    ),
    ("cadence", _t("cadence-builder", "cadence", "Cadence builder", notes=CADENCE_NOTES)),
    (
        "hills",
        _t(
            "hill-repeats",
            "hills",
            "{reps} hill repeats",
            reps=(6, 10),
            warmup=(10, 15),
            cooldown=(10, 10),
            notes=HILLS_NOTES,
        ),
    ),
    (
        "400-200",
        _t(
            "400-200",
            "speed",
            "{reps} x 400 m with 200 m jogs",
            reps=(6, 10),
            warmup=(10, 10),
            cooldown=(10, 10),
            paces={"effort": "repetition", **JOG},
        ),
    ),
    (
        "800-400",
        _t(
            "800-400",
            "speed",
            "{reps} x 800 m with 400 m jogs",
            reps=(3, 6),
            warmup=(10, 15),
            cooldown=(10, 10),
            paces={"effort": "interval", **JOG},
        ),
    ),
    (
        "10x400",
        _t(
            "10x400",
            "speed",
            "{reps} x 400 m at mile pace",
            reps=(5, 10),
            warmup=(10, 15),
            cooldown=(10, 10),
            paces={"mile": None, **JOG},
            notes="{reps} laps at your mile pace teach your body the rhythm of the race and the toughness to keep "
            "running fast while it hurts. Stay relaxed, drive the arms.",
        ),
    ),
    (
        "6x800",
        _t(
            "6x800",
            "speed",
            "{reps} x 800 m at mile pace",
            reps=(3, 6),
            warmup=(10, 15),
            cooldown=(10, 15),
            paces=JOG,
            notes="{reps} 800s at your mile pace with 400 m jogs: mile-specific, and the will to hold race pace.",
        ),
    ),
    (
        "4x1200",
        _t(
            "4x1200",
            "speed",
            "{reps} x 1200 m at 3K pace",
            reps=(3, 4),
            warmup=(10, 15),
            cooldown=(10, 10),
            paces=JOG,
            notes="{reps} 1200s at 3K pace with 800 m jogs: the stamina to hold a fast pace for the whole mile.",
        ),
    ),
    (
        "tabata",
        _t(
            "tabata",
            "speed",
            "Tabata, {reps} rounds",
            reps=(6, 8),
            warmup=(10, 15),
            cooldown=(10, 10),
            notes="{reps} rounds of 20 seconds flat out and 10 seconds of rest: speed and VO2 max.",
        ),
    ),
    ("800-then-400s", _t("800-then-400s", "speed", "800 m very hard, then 4 x 400 m", paces=JOG)),
    (
        "tempo",
        _t(
            "tempo",
            "tempo",
            "Tempo run, {minutes} min",
            warmup=(10, 15),
            cooldown=(10, 10),
            main=(1, (15, 30)),
            notes="{minutes} minutes at a comfortably hard pace, one you could hold for about an hour: a higher "
            "lactate threshold, and the focus to keep going.",
        ),
    ),
    (
        "trial",
        _t(
            "mile-trial",
            "trial",
            "Mile time trial",
            warmup=(10, 15),
            cooldown=(5, 10),
            goal_pace=True,
            notes="An all-out mile: the step lasts as long as the mile your latest trial predicts. Record your time "
            "with 'cadencecoach trial add 1mi M:SS': the paces of the sessions after it come from it.",
        ),
    ),
    (
        "goal",
        _t(
            "mile-trial",
            "goal",
            "Goal mile",
            goal_pace=True,
            notes="Your goal mile: the step lasts as long as your goal pace. Even pace, and all the way through the "
            "line; record it with 'cadencecoach trial add 1mi M:SS'.",
        ),
    ),
)

TEMPLATES: dict[str, Template] = dict(_ALL)
"""Every template by the key a session names it with."""


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


_SHIPPED: dict[str, str] = {}


def shipped_text(name: str) -> str:
    """The shipped workout's YAML (read once)."""
    if name not in _SHIPPED:
        _SHIPPED[name] = (shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    return _SHIPPED[name]


_DOCS: dict[str, Any] = {}


def _shipped_doc(name: str) -> Any:
    """The shipped workout parsed once (round trip); each session edits a deep copy (a tenth of a parse)."""
    if name not in _DOCS:
        _DOCS[name] = _yaml().load(shipped_text(name))
    return _DOCS[name]


def shift_cadence(value: object, delta: int) -> object:
    """A cadence as written (``182`` or ``"165-170"``) moved by `delta` steps per minute, kept within 60-300.

    Examples
    --------
    >>> shift_cadence(180, -6), shift_cadence("165-170", 4), shift_cadence("170-165", -2)
    (174, '169-174', '168-163')
    """
    lo, hi = CADENCE_RANGE
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return min(hi, max(lo, value + delta))
    if isinstance(value, str) and "-" in value:
        a, b = (int(Fraction(p.strip())) for p in value.split("-", 1))
        a, b = (min(hi, max(lo, x + delta)) for x in (a, b))
        return f"{a}-{b}"
    return value


_CADENCE_IN_TEXT = re.compile(r"\b(1[4-9]\d|20\d)\b")
"""A cadence named in a step's label ("Build to 175"): moved with the step's cadence."""


def _shift_all(steps: Any, delta: int) -> None:
    for step in steps:
        if "cadence" in step:
            step["cadence"] = shift_cadence(step["cadence"], delta)
            if isinstance(step.get("label"), str):
                step["label"] = _CADENCE_IN_TEXT.sub(lambda m: str(int(m.group()) + delta), step["label"])
        if "steps" in step:
            _shift_all(step["steps"], delta)


def _set_minutes(step: Any, minutes: int) -> None:
    key = next(k for k in ("warmup", "run", "cooldown", "recover") if k in step)
    step[key] = f"{minutes}min"


def session_yaml(
    template: Template,
    *,
    params: dict[str, int],
    cadence: int,
    trial: str,
    goal_pace: str | None = None,
    name: str | None = None,
    note: str | None = None,
) -> str:
    """The template's shipped workout as YAML, edited for one session (see the module's docstring).

    `params` may hold ``reps``, ``warmup``, ``cooldown`` and ``minutes`` (each within the template's range: a
    value outside is a bug, ValueError); `cadence` is the week's target; `trial` the result its paces come
    from; `goal_pace` (``"6:10/mi"``) the target of a trial.
    """
    yaml = _yaml()
    doc = copy.deepcopy(_shipped_doc(template.workout))
    steps = doc["steps"]
    for key, value in params.items():
        bounds = {"reps": template.reps, "warmup": template.warmup, "cooldown": template.cooldown}.get(key)
        if key == "minutes":
            bounds = template.main[1] if template.main else None
        if bounds is None or not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{template.workout}: {key}={value} is outside {bounds}")
        if key == "reps":
            first = next(s for s in steps if "repeat" in s)
            first["repeat"] = value
        elif key == "warmup":
            _set_minutes(steps[0], value)
        elif key == "cooldown":
            _set_minutes(steps[-1], value)
        elif key == "minutes":
            assert template.main is not None
            _set_minutes(steps[template.main[0]], value)
    base = int(doc.get("cadence", 180))
    delta = cadence - base
    doc["cadence"] = cadence
    _shift_all(steps, delta)
    if template.paces or template.goal_pace or "paces" in doc:
        paces = doc.get("paces")
        if paces is None:
            from ruamel.yaml.comments import CommentedMap

            paces = CommentedMap()
        for pname, alias in template.paces.items():
            if alias is None:
                paces.pop(pname, None)
            else:
                paces[pname] = alias
        if template.goal_pace:
            paces["goal"] = goal_pace or "mile"
        for pname in list(paces):  # no example pace of the shipped file survives: all come from the trial
            if pname not in template.paces and pname != "goal":
                paces.pop(pname)
        if paces:
            doc["paces"] = paces
        elif "paces" in doc:
            del doc["paces"]
    doc["trial"] = trial
    if name:
        doc["name"] = name
    own = (
        template.notes.format(reps=params.get("reps", ""), minutes=params.get("minutes", ""), cadence=cadence)
        if template.notes
        else str(doc.get("notes", ""))
    )
    doc["notes"] = f"{note}\n\n{own}".strip() if note else own
    _drop_comments(doc)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _drop_comments(doc: Any) -> None:
    """The shipped file's comments speak of its example paces ("put your own mile pace here"): gone."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    def walk(node: Any) -> None:
        if isinstance(node, (CommentedMap, CommentedSeq)):
            node.ca.items.clear()
            node.ca.comment = None
            for child in node.values() if isinstance(node, CommentedMap) else node:
                walk(child)

    walk(doc)
