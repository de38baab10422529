"""The tree is the pipeline, and imports run one way (docs/ARCHITECTURE.md).

Every ``import`` in ``src/cadencecoach`` (module level and inside functions alike, read from the source with
``ast``, so a lazy import cannot hide an edge) is checked against the layer map below: a part may import
the parts listed for it and the standard library; the third-party packages it may import are listed too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cadencecoach"

BASE = {"errors", "atomic", "extras", "files", "terminal"}
"""Shared by every part: the error root, the atomic writer, the optional-extras gate, input files and output
paths (bounded reading, same-file tests, OS reasons in words), the terminal (the one sanitizer, the console)."""

ALLOWED: dict[str, set[str]] = {
    # part: the cadencecoach parts it may import (besides itself and BASE)
    "workout": set(),
    "core": {"workout.model", "workout.units"},  # core compiles the workout model; nothing else of workout
    "speech": {"core"},
    "sounds": {"core"},  # the click sounds: shipped WAVs read and resampled (soxr) for the renderer
    "history": {"workout"},
    # the sinks play or write a compiled timeline; they know the workout's types, never its loaders/formats,
    # history, the pipeline, the ui or the CLI (the player has observers for those)
    "sinks": {"core", "workout.model", "workout.units"},
    "music": {"core", "workout", "sounds", "sinks.audiofile", "sinks.tags"},
    "ui": {"core", "workout", "history"},
    "program": {"workout", "history"},  # a season of sessions: plans from the workouts, stored in the history
    "activity": {"workout", "core"},  # recorded runs (FIT/TCX/GPX/CSV) and their review against a workout
    # footpods and replays, and the live coaching that follows them (an observer of the player, like the ui)
    "sensors": {"activity", "core", "workout", "sinks.live", "speech"},
    "pipeline": {"core", "workout", "speech", "sounds", "history"},
    "settings": set(),
    "cli": {"*"},
    "__main__": {"cli"},
    "__init__": set(),
}

THIRD_PARTY: dict[str, set[str]] = {
    # part: third-party distributions it may import (None of the audio I/O in core or workout)
    "core": {"numpy"},
    "workout": {"numpy", "yaml", "ruamel", "fitdecode", "garmin_fit_sdk", "platformdirs"},
}


def _part(module: str) -> str:
    """``cadencecoach.sinks.live.player`` -> ``sinks``; ``cadencecoach.pipeline`` -> ``pipeline``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        yield ".".join(parts), path


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Absolute names of everything `module` imports, with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            # `from cadencecoach.workout import formats` imports the module formats, not all of workout
            subs = [f"{name}.{a.name}" for a in node.names if _ours(name) and _is_module(f"{name}.{a.name}")]
            for sub in subs or [name]:
                yield sub, node.lineno


def _ours(name: str) -> bool:
    return name == "cadencecoach" or name.startswith("cadencecoach.")


def _permitted(importer: str, target: str) -> bool:
    part = _part(importer)
    if _part(target) == part or target == "cadencecoach":
        return True
    inner = target.removeprefix("cadencecoach.")
    if inner.split(".")[0] in BASE:
        return True
    allowed = ALLOWED.get(part, set())
    return "*" in allowed or any(inner == a or inner.startswith(a + ".") for a in allowed)


def _edges() -> list[tuple[str, str, int]]:
    edges = []
    for module, path in _modules():
        for name, line in _imports(module, path):
            edges.append((module, name, line))
    return edges


EDGES = _edges()


def test_every_part_is_in_the_map() -> None:
    parts = {_part(m) for m, _ in _modules()}
    assert parts <= set(ALLOWED) | BASE, f"parts missing from the layer map: {sorted(parts - set(ALLOWED) - BASE)}"


def test_imports_run_one_way() -> None:
    bad = [
        f"{importer}:{line} imports {target}"
        for importer, target, line in EDGES
        if _ours(target) and not _permitted(importer, target)
    ]
    assert not bad, "imports against the pipeline's direction:\n" + "\n".join(bad)


@pytest.mark.parametrize("part", sorted(THIRD_PARTY))
def test_third_party_imports_of_the_pure_parts(part: str) -> None:
    stdlib = sys.stdlib_module_names
    bad = []
    for importer, target, line in EDGES:
        top = target.split(".")[0]
        if _part(importer) != part or _ours(target) or top in stdlib or top == "__future__":
            continue
        if top not in THIRD_PARTY[part]:
            bad.append(f"{importer}:{line} imports {target}")
    assert not bad, f"{part}/ may import only {sorted(THIRD_PARTY[part])} besides the standard library:\n" + "\n".join(
        sorted(set(bad))
    )


def test_nothing_but_the_cli_imports_the_cli() -> None:
    bad = [
        f"{i}:{line} imports {t}"
        for i, t, line in EDGES
        if t.startswith("cadencecoach.cli") and _part(i) not in ("cli", "__main__")
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The checker itself: an import inside a function and a relative import are both found."""
    pkg = tmp_path / "cadencecoach" / "core"
    pkg.mkdir(parents=True)
    source = pkg / "x.py"
    source.write_text("def f():\n    from ..sinks import live\n    import sounddevice\n")
    found = {name for name, _ in _imports("cadencecoach.core.x", source)}
    assert {"cadencecoach.sinks.live", "sounddevice"} <= found
    assert not _permitted("cadencecoach.core.x", "cadencecoach.sinks.live")
    assert _permitted("cadencecoach.core.x", "cadencecoach.workout.model")
    assert not _permitted("cadencecoach.core.x", "cadencecoach.workout.loader")


def test_private_modules_stay_in_their_package() -> None:
    """``workout.formats._common`` and the like are a package's own business: others import its public names."""
    bad = []
    for importer, target, line in EDGES:
        parts = target.split(".")
        private = [i for i, p in enumerate(parts) if p.startswith("_") and p != "__future__"]
        if not _ours(target) or not private:
            continue
        package = ".".join(parts[: private[0]])
        if importer != package and not importer.startswith(package + "."):
            bad.append(f"{importer}:{line} imports {target}")
    assert not bad, "\n".join(bad)
