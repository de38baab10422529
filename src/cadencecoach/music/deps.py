"""The optional dependencies of the music commands, and a person-readable error when they are missing."""

from __future__ import annotations

import importlib.util

from ..errors import UsageError
from . import INSTALL_HINT

#: import name -> what it is used for (pip names: scipy, pedalboard, pyloudnorm, mutagen)
REQUIRED: dict[str, str] = {
    "scipy": "signal processing (scipy)",
    "pedalboard": "Rubber Band time-stretching (pedalboard)",
    "pyloudnorm": "ITU-R BS.1770 loudness (pyloudnorm)",
    "mutagen": "tags and MP3 chapters (mutagen)",
}


class MusicExtraMissing(UsageError):
    """The ``[music]`` extra is not installed (exit 2, with the command that installs it)."""


def missing() -> list[str]:
    """Import names of the required modules that are not installed."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def require(what: str = "this command") -> None:
    """Raise :class:`MusicExtraMissing` unless every dependency of the music extra is importable."""
    absent = missing()
    if absent:
        names = ", ".join(REQUIRED[n] for n in absent)
        raise MusicExtraMissing(f"{what} needs the music extra (missing: {names}); install it with: {INSTALL_HINT}")


def has_pyav() -> bool:
    return importlib.util.find_spec("av") is not None
