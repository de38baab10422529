"""The optional dependencies of the music commands (the ``[music]`` extra), through :mod:`cadencecoach.extras`."""

from __future__ import annotations

from cadencecoach import extras


def require(what: str = "this command") -> None:
    """Import every module the music extra always needs (scipy, pedalboard, pyloudnorm);
    :class:`~cadencecoach.errors.ExtraUnavailable` (exit 2, with the fix) if one is missing or broken."""
    extras.require("music", what)


def has_pyav() -> bool:
    """Whether PyAV (the extra's M4A/AAC decoder) can be used: False when it is not installed (ffmpeg is
    tried instead); an installed but broken PyAV is an error with the fix, not a silent fallback."""
    return extras.available("av", "reading M4A/AAC songs")
