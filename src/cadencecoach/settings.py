"""User settings: a small TOML file read by the command line for option defaults (a flag always wins).

Where: ``$CADENCECOACH_HOME/settings.toml`` when ``CADENCECOACH_HOME`` is set, else ``settings.toml`` in the
platform's user config folder (``~/.config/cadencecoach/settings.toml`` on Linux). A missing file means
no settings. Example::

    # ~/.config/cadencecoach/settings.toml
    voice_engine = "piper"    # the default of --voice-engine: auto, espeak, piper, espeak-cli or tones
    artist = "Sam Runner"     # the artist tag of rendered files (--artist); default "cadencecoach"
    album = "Mile plan"       # their album tag (--album); default "cadencecoach workouts"
    treadmill = true          # the live display shows the belt speed of each step's pace (run --treadmill)
    speed_unit = "mph"        # ... in km/h ("kmh", the default) or miles per hour ("mph")
    music_glide = 4           # --music: a song's tempo glides over this many beats at a step boundary (0-16)

Unknown keys are ignored (so a newer file works with an older version). Python 3.11+ reads TOML with the
standard library's ``tomllib``; on 3.10 the ``tomli`` package is needed (only when the file exists).

The file is read through :func:`cadencecoach.files.read_limited`: a FIFO, a device or a folder in its place is
refused at once (never read, so nothing blocks), and so is a file over :data:`MAX_SETTINGS_BYTES` (64 KiB),
whatever it claims; every problem is one :class:`SettingsError` line naming the file (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadencecoach.errors import UsageError
from cadencecoach.files import InputRefused, read_limited

__all__ = [
    "MAX_GLIDE",
    "MAX_SETTINGS_BYTES",
    "SETTINGS_FILE",
    "SPEED_UNITS",
    "Settings",
    "SettingsError",
    "load_settings",
    "settings_path",
]

SETTINGS_FILE = "settings.toml"
MAX_SETTINGS_BYTES = 64 * 1024
"""A settings file is a few lines; one over 64 KiB is not one (and is not read further)."""
MAX_GLIDE = 16
"""The longest ``music_glide`` (``--glide``), in beats."""
SPEED_UNITS = ("kmh", "mph")
"""The values of ``speed_unit``: a treadmill's belt speed in km/h or in miles per hour."""


class SettingsError(UsageError):
    """The settings file cannot be read or has a bad value (exit 2, like a bad option)."""


@dataclass(frozen=True)
class Settings:
    """The settings in effect; None means "not set" (the built-in default applies)."""

    voice_engine: str | None = None
    artist: str | None = None  # tags of rendered files
    album: str | None = None
    treadmill: bool | None = None  # the live display shows the belt speed (and incline) of each step
    speed_unit: str | None = None  # "kmh" or "mph" (SPEED_UNITS): the unit of that belt speed
    music_glide: int | None = None  # --music: beats over which a song glides to a step's new tempo (--glide)
    path: Path | None = None  # the file they came from (None: no file)


def settings_path() -> Path:
    """``$CADENCECOACH_HOME/settings.toml``, else ``platformdirs.user_config_dir("cadencecoach")/settings.toml``."""
    home = os.environ.get("CADENCECOACH_HOME")
    if home:
        return Path(home).expanduser() / SETTINGS_FILE
    import platformdirs

    return Path(platformdirs.user_config_dir("cadencecoach")) / SETTINGS_FILE


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise SettingsError("reading it needs Python 3.11+ or the tomli package (pip install tomli)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise SettingsError("not valid TOML: nested too deeply") from None


def load_settings(path: Path | None = None) -> Settings:
    """The settings in ``path`` (default :func:`settings_path`); :class:`SettingsError` when unusable."""
    path = settings_path() if path is None else Path(path)
    try:
        raw = read_limited(path, MAX_SETTINGS_BYTES)
    except InputRefused as exc:
        if not os.path.exists(path):
            return Settings()  # no file (or a link to none): no settings
        if exc.over is not None:
            raise SettingsError(f"{path}: is over 64 KiB; a settings file is a few lines of TOML") from None
        raise SettingsError(f"{path}: {exc.reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    try:
        data = _parse_toml(text)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    engine = data.get("voice_engine")
    if engine is not None and (not isinstance(engine, str) or not engine.strip()):
        raise SettingsError(f'{path}: voice_engine must be a name in quotes, like voice_engine = "piper"')
    tags: dict[str, str | None] = {}
    for key in ("artist", "album"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 200):
            raise SettingsError(f'{path}: {key} must be a name in quotes (at most 200 characters), like {key} = "Sam"')
        tags[key] = value.strip() if value else None
    treadmill = data.get("treadmill")
    if treadmill is not None and not isinstance(treadmill, bool):
        raise SettingsError(f"{path}: treadmill must be true or false (no quotes), like treadmill = true")
    unit = data.get("speed_unit")
    if unit is not None and (not isinstance(unit, str) or unit.strip().lower() not in SPEED_UNITS):
        raise SettingsError(f'{path}: speed_unit must be "kmh" or "mph" (in quotes), like speed_unit = "mph"')
    glide = data.get("music_glide")
    if glide is not None and (isinstance(glide, bool) or not isinstance(glide, int) or not 0 <= glide <= MAX_GLIDE):
        raise SettingsError(
            f"{path}: music_glide must be a whole number of beats from 0 to {MAX_GLIDE}, like music_glide = 4"
        )
    return Settings(
        voice_engine=engine.strip().lower() if engine else None,
        music_glide=glide,
        treadmill=treadmill,
        speed_unit=unit.strip().lower() if unit is not None else None,
        path=path,
        **tags,
    )
