"""Tests that need an optional extra (or a dev-only package): skip only when it is genuinely not installed.

* not installed (``importlib.metadata.distribution`` raises PackageNotFoundError): the test is skipped, with
  the reason and the command that installs it;
* installed: the module is imported for real, and any ImportError (a missing shared library such as
  ``libatomic.so.1``, a half-installed wheel) FAILS the test with the error and the fix. ``pytest.importorskip``
  and ``importlib.util.find_spec`` cannot tell the two apart (the first skips a broken install, the second
  never imports), so neither is used for extras.

The extras' modules come from the application's own list (:data:`cadencecoach.extras.DEPENDENCIES`).

    from extra_deps import needs_extra, require_extra, require_module

    require_extra("music")                 # at module level: skip the file, or fail it
    @needs_extra("voice")                  # one test
    pygame = require_module("pygame")      # a dev-only package, inside a test
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from importlib import metadata
from types import ModuleType
from typing import Any, TypeVar

import pytest

from cadencecoach.extras import DEPENDENCIES, install_hint

F = TypeVar("F", bound=Callable[..., Any])

DEV_HINT = "pip install -e '.[dev]' (or re-run bash scripts/install.sh)"

BANNERS = {"pygame": ("PYGAME_HIDE_SUPPORT_PROMPT", "1")}
"""Environment that keeps a package quiet on import (pygame prints a banner otherwise)."""


def _extra_modules(extra: str) -> list[tuple[str, str]]:
    found = [(d.module, d.dist) for d in DEPENDENCIES if d.extra == extra and d.required]
    if not found:
        raise ValueError(f"no such extra: {extra!r}")
    return found


def _absent(pairs: list[tuple[str, str]]) -> list[str]:
    out = []
    for _module, dist in pairs:
        try:
            metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            out.append(dist)
    return out


def _import(module: str, dist: str, hint: str) -> ModuleType:
    if module in BANNERS:
        os.environ.setdefault(*BANNERS[module])
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(
            f"{dist} is installed but does not import ({type(exc).__name__}: {exc}); fix: {hint}", pytrace=False
        )


def skip_reason_extra(extra: str) -> str | None:
    """Why tests of ``extra`` are skipped (its distributions are not installed), or None: it is installed."""
    absent = _absent(_extra_modules(extra))
    if absent:
        return f"the '{extra}' extra is not installed (missing: {', '.join(absent)}): {install_hint(extra)}"
    return None


def require_extra(extra: str) -> None:
    """Skip (module level or inside a test) unless ``extra`` is installed; fail if it is installed but broken."""
    reason = skip_reason_extra(extra)
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
    for module, dist in _extra_modules(extra):
        _import(module, dist, install_hint(extra))


def _resolve(module: str, dist: str | None, hint: str | None) -> tuple[str, str]:
    """The distribution of ``module`` and how to install it (from the extras' list, else a dev package)."""
    known = {d.module: d for d in DEPENDENCIES}.get(module.partition(".")[0])
    return (
        dist or (known.dist if known else module.partition(".")[0]),
        hint or (install_hint(known.extra) if known else DEV_HINT),
    )


def skip_reason_module(module: str, dist: str | None = None, hint: str | None = None) -> str | None:
    """Why tests of ``module`` are skipped (its distribution is not installed), or None: it is installed."""
    dist, hint = _resolve(module, dist, hint)
    return f"{dist} is not installed: {hint}" if _absent([(module, dist)]) else None


def require_module(module: str, dist: str | None = None, hint: str | None = None) -> ModuleType:
    """``module`` imported for real: a skip when its distribution (``dist``, default the module's name, or
    its entry in the extras' list) is not installed, a failure when it is installed but does not import."""
    reason = skip_reason_module(module, dist, hint)
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)
    return _import(module, *_resolve(module, dist, hint))


def _decorator(check: Callable[[], None], reason: str | None) -> Callable[[F], F]:
    def decorate(test: F) -> F:
        if reason is not None:
            return pytest.mark.skip(reason=reason)(test)

        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()  # imported for real when the test runs: a broken install fails it
            return test(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def needs_extra(extra: str) -> Callable[[F], F]:
    """Decorator: the test is skipped unless ``extra`` is installed, and fails if it is installed but broken."""
    return _decorator(lambda: require_extra(extra), skip_reason_extra(extra))


def needs_module(module: str, dist: str | None = None, hint: str | None = None) -> Callable[[F], F]:
    """Decorator form of :func:`require_module`."""

    def check() -> None:
        require_module(module, dist, hint)

    return _decorator(check, skip_reason_module(module, dist, hint))
