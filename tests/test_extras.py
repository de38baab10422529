"""Optional extras that cannot work (extras.py): not installed, or installed but a shared library is missing
(``ImportError: libatomic.so.1: cannot open shared object file``) or otherwise broken. Every feature says so in
one line with the fix and exits 2; never ``internal error: ImportError``.

The broken cases are simulated with a finder at the front of ``sys.meta_path`` that raises the ImportError a
wheel gives when the dynamic loader cannot find a library; "not installed" with a None entry in sys.modules
(what ``import`` does when a module is absent: ModuleNotFoundError naming it).
"""

from __future__ import annotations

import importlib.abc
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cadencecoach import extras, speech
from cadencecoach.cli import app as cli
from cadencecoach.errors import ExtraUnavailable, UsageError
from extra_deps import needs_extra, needs_module, require_extra, require_module

LIBATOMIC = "libatomic.so.1: cannot open shared object file: No such file or directory"


class BrokenFinder(importlib.abc.MetaPathFinder):
    """Importing any of `modules` (or their submodules) raises ImportError(`message`)."""

    def __init__(self, modules: tuple[str, ...], message: str) -> None:
        self.modules = modules
        self.message = message

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in self.modules:
            raise ImportError(self.message, name=name)
        return None


def break_imports(monkeypatch: pytest.MonkeyPatch, *modules: str, message: str = LIBATOMIC) -> None:
    """Make `modules` installed-but-broken for the rest of the test (imported ones are forgotten first)."""
    for name in list(sys.modules):
        if name.partition(".")[0] in modules:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [BrokenFinder(modules, message), *sys.meta_path])


def uninstall(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CADENCECOACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CADENCECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


# ---- the mechanism ------------------------------------------------------------------------------------


def test_a_missing_shared_library_names_it_and_its_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    break_imports(monkeypatch, "pedalboard")
    with pytest.raises(ExtraUnavailable) as info:
        extras.load("pedalboard", "track build")
    message = str(info.value)
    assert isinstance(info.value, UsageError) and info.value.reason == "library" and info.value.extra == "music"
    assert message == (
        "track build cannot use the optional 'music' extra: pedalboard is installed but the shared library "
        "libatomic.so.1 is missing; install the system package libatomic1 (Debian/Ubuntu: apt-get install "
        "libatomic1), or re-run bash scripts/install.sh"
    )
    with pytest.raises(ExtraUnavailable, match="libatomic1"):  # require() imports for real too
        extras.require("music", "track build")


def test_an_unknown_library_and_a_library_that_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    break_imports(monkeypatch, "matplotlib", message="libfoo.so.3: cannot open shared object file: No such file")
    with pytest.raises(ExtraUnavailable) as info:
        extras.load("matplotlib.pyplot", "drawing a chart")
    assert "the shared library libfoo.so.3 is missing; install the system package that provides libfoo.so.3" in str(
        info.value
    )
    assert "pip install" not in str(info.value)  # pip cannot fix it
    old = "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found\n(required by /x/_c.so)"
    break_imports(monkeypatch, "garmin_fit_sdk", message=old)
    with pytest.raises(ExtraUnavailable) as info:
        extras.load("garmin_fit_sdk", "FIT export")
    message = str(info.value)
    assert "\n" not in message and "the shared library libstdc++.so.6 cannot be loaded (" in message
    assert "apt-get install libstdc++6" in message and message.startswith("FIT export cannot use the optional 'fit'")


def test_not_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    uninstall(monkeypatch, "pedalboard", "pyloudnorm")
    with pytest.raises(ExtraUnavailable) as info:
        extras.require("music", "track analyze")
    assert info.value.reason == "missing"
    assert str(info.value) == (
        "track analyze needs the optional 'music' extra (missing: pedalboard (Rubber Band time-stretching), "
        "pyloudnorm (ITU-R BS.1770 loudness)); install it with: pip install 'cadencecoach[music]' "
        "(or re-run bash scripts/install.sh)"
    )


def test_installed_but_broken_otherwise_says_reinstall(monkeypatch: pytest.MonkeyPatch) -> None:
    break_imports(monkeypatch, "pyloudnorm", message="cannot import name 'Meter' from partially initialized module")
    with pytest.raises(ExtraUnavailable) as info:
        extras.load("pyloudnorm", "loudness")
    assert info.value.reason == "broken"
    assert "pyloudnorm is installed but does not import (ImportError: cannot import name 'Meter'" in str(info.value)
    assert "pip install --force-reinstall 'cadencecoach[music]'" in str(info.value)


def test_an_optional_module_not_installed_is_just_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "installed", lambda module, dist=None: module != "av")
    assert extras.available("av") is False  # M4A files then go to ffmpeg
    monkeypatch.setattr(extras, "installed", lambda module, dist=None: True)
    break_imports(monkeypatch, "av")
    with pytest.raises(ExtraUnavailable, match="libatomic1"):  # installed but broken: said, not passed over
        extras.available("av")


def test_the_extras_list_matches_the_package_metadata() -> None:
    """Each dependency is listed under the extra that brings it; an extra that includes another
    (``music = ["cadencecoach[formats]", ...]``) names it, and gets its dependencies through it."""
    declared: dict[str, set[str]] = {}
    includes: dict[str, set[str]] = {}
    for requirement in metadata.requires("cadencecoach") or []:
        found = re.match(r"([A-Za-z0-9_.-]+)(\[[\w,]+\])?.*;\s*extra\s*==\s*\"(\w+)\"", requirement)
        if not found or found.group(3) not in ("music", "formats", "charts", "fit", "voice", "sensors"):
            continue
        if found.group(1) == "cadencecoach":
            includes.setdefault(found.group(3), set()).update(found.group(2).strip("[]").split(","))
        else:
            declared.setdefault(found.group(3), set()).add(found.group(1).lower())
    listed: dict[str, set[str]] = {}
    for dep in extras.DEPENDENCIES:
        listed.setdefault(dep.extra, set()).add(dep.dist)
    assert listed == declared
    assert includes == {"music": {"formats"}}


# ---- every feature, through the real command line ---------------------------------------------------------


@pytest.fixture
def song(tmp_path: Path) -> Path:
    path = tmp_path / "song.wav"
    t = np.arange(22050 * 2) / 22050
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)
    return path


FEATURES = {
    "track analyze": (("pedalboard",), ["track", "analyze", "{song}"]),
    "track build": (("pedalboard",), ["track", "build", "--music", "{song}", "-o", "mix.mp3"]),
    "render --music": (("pedalboard",), ["render", "tabata", "-o", "out.wav", "--music", "{song}", "--no-voice"]),
    "plan --plot": (("matplotlib",), ["plan", "tabata", "--plot", "w.png", "--voice-engine", "tones"]),
    "convert to FIT": (("garmin_fit_sdk",), ["convert", "tabata", "-o", "t.fit"]),
    "piper": (("piper", "onnxruntime"), ["render", "tabata", "-o", "out.wav", "--voice-engine", "piper"]),
}


def _cli(argv: list[str], song: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main([arg.format(song=song) for arg in argv])
    return code, capsys.readouterr().err


@pytest.fixture
def fresh_piper(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No piper voice loaded in this process yet, and the voice extra counted as installed (its metadata)."""
    monkeypatch.setattr(speech.engines.piper, "_PIPER_RUNTIMES", {})
    monkeypatch.setattr(speech.engines.piper, "_PIPER_ERRORS", {})
    monkeypatch.setattr(extras, "installed", lambda module, dist=None: True)
    yield


@pytest.mark.parametrize("feature", list(FEATURES))
def test_a_broken_extra_is_one_line_and_exit_2(
    feature: str,
    song: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_piper: None,
) -> None:
    modules, argv = FEATURES[feature]
    break_imports(monkeypatch, *modules)
    code, err = _cli(argv, song, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "libatomic.so.1" in lines[0] and "apt-get install libatomic1" in lines[0]
    assert "bash scripts/install.sh" in lines[0]
    assert "internal error" not in err and "Traceback" not in err and "fallback" not in err
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".mp3", ".wav", ".png", ".fit") and p != song]


@pytest.mark.parametrize("feature", list(FEATURES))
def test_a_missing_extra_is_one_line_and_exit_2(
    feature: str, song: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_piper: None
) -> None:
    modules, argv = FEATURES[feature]
    uninstall(monkeypatch, *modules)
    code, err = _cli(argv, song, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    extra = next(d.extra for d in extras.DEPENDENCIES if d.module == modules[0])
    assert lines[0].startswith("error: ") and f"pip install 'cadencecoach[{extra}]'" in lines[0]
    assert "internal error" not in err and "Traceback" not in err


def test_a_broken_extra_in_a_fresh_process(tmp_path: Path, song: Path) -> None:
    """The console script's path end to end: `cadencecoach track build` with pedalboard's library missing."""
    script = textwrap.dedent(
        f"""
        import sys

        class BrokenFinder:  # what the dynamic loader makes of pedalboard without libatomic1
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] == "pedalboard":
                    raise ImportError({LIBATOMIC!r}, name=name)

        sys.meta_path.insert(0, BrokenFinder())
        sys.argv = ["cadencecoach", "track", "build", "--music", {str(song)!r}, "-o", "mix.mp3"]
        from cadencecoach.cli.app import run
        run()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == (
        "error: track build cannot use the optional 'music' extra: pedalboard is installed but the shared library "
        "libatomic.so.1 is missing; install the system package libatomic1 (Debian/Ubuntu: apt-get install "
        "libatomic1), or re-run bash scripts/install.sh\n"
    )
    assert not (tmp_path / "mix.mp3").exists()


# ---- the test helper (extra_deps.py): skip only when not installed, fail when installed but broken -----------


def test_helper_skips_what_is_not_installed() -> None:
    with pytest.raises(pytest.skip.Exception, match="no-such-dist-for-cadencecoach is not installed"):
        require_module("no_such_module_for_cadencecoach", dist="no-such-dist-for-cadencecoach")

    @needs_module("no_such_module_for_cadencecoach")
    def test() -> None: ...

    assert [m.name for m in test.pytestmark] == ["skip"]  # type: ignore[attr-defined]


def test_helper_fails_what_is_installed_but_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    break_imports(monkeypatch, "pyloudnorm")
    with pytest.raises(pytest.fail.Exception, match=r"pyloudnorm is installed but does not import .*libatomic\.so\.1"):
        require_extra("music")
    with pytest.raises(pytest.fail.Exception, match=r"pip install 'cadencecoach\[music\]'"):
        require_module("pyloudnorm")
    calls: list[int] = []

    @needs_extra("music")
    def test() -> None:
        calls.append(1)

    with pytest.raises(pytest.fail.Exception):
        test()
    assert calls == []  # the test body never ran
