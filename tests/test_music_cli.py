"""The ``--music`` command line (issue 17): several paths after one flag (``cli.app.spread_options``), the
analysis cache found from any folder and by any spelling of a path (``music/analysis.py``), and the skipped
songs listed with the cadences they would fit (``music.mix.fit_ranges``/``ranges_text``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cadencecoach.cli.app import spread_options
from extra_deps import needs_extra


def cc(*args: str, cwd: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """The real command line (``python -m cadencecoach``, through ``main``) in `cwd`, its cache under `root`."""
    env = {
        **os.environ,
        "CADENCECOACH_HOME": str(root / "home"),
        "CADENCECOACH_CACHE_DIR": str(root / "cache"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "cadencecoach", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


# ------------------------------------------------------------------------ several paths after one --music


def test_words_after_music_are_more_music_until_the_next_option() -> None:
    assert spread_options(["track", "build", "--music", "a.ogg", "b.ogg", "dir/", "-o", "x.mp3"]) == [
        "track", "build", "--music", "a.ogg", "--music", "b.ogg", "--music", "dir/", "-o", "x.mp3",
    ]  # fmt: skip
    # the workout goes before --music; other options' values are left alone; repeating --music still works
    assert spread_options(["render", "10x400", "--music", "a", "--sound", "beep", "--music", "b", "c"]) == [
        "render", "10x400", "--music", "a", "--sound", "beep", "--music", "b", "--music", "c",
    ]  # fmt: skip
    # --music=a is one value; "--" ends the options (what follows is positional); a first value may start with "-"
    assert spread_options(["render", "--music=a", "w"]) == ["render", "--music=a", "w"]
    assert spread_options(["render", "--music", "a", "--", "w"]) == ["render", "--music", "a", "--", "w"]
    assert spread_options(["track", "build", "--music", "-odd.ogg", "b"]) == [
        "track", "build", "--music", "-odd.ogg", "--music", "b",
    ]  # fmt: skip
    assert spread_options(["plan", "10x400", "--pace", "mile=6:00"]) == ["plan", "10x400", "--pace", "mile=6:00"]
    assert spread_options(["track", "build", "--music"]) == ["track", "build", "--music"]  # Click says what is missing


@pytest.mark.parametrize("command", [["track", "build"], ["render", "tabata", "--no-voice"]])
def test_several_music_paths_after_one_flag_reach_the_command(tmp_path: Path, command: list[str]) -> None:
    """Every path after --music is a --music input: the output may not be the second one (checked before any work,
    so no extra is needed). Before, the second path was an unexpected extra argument."""
    (tmp_path / "a.ogg").write_bytes(b"")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.ogg").write_bytes(b"")
    for out in ("a.ogg", "b/c.ogg"):
        r = cc(*command, "--music", "a.ogg", "b", "-o", out, cwd=tmp_path, root=tmp_path)
        assert r.returncode == 2, r.stderr
        assert "given with --music" in r.stderr and "unexpected extra argument" not in r.stderr


@pytest.mark.parametrize("command", [["track", "build"], ["render"]])
def test_help_says_how_several_paths_are_given(tmp_path: Path, command: list[str]) -> None:
    r = cc(*command, "--help", cwd=tmp_path, root=tmp_path)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.replace("│", " ").split())
    assert "several after one --music" in text
    if command == ["render"]:
        assert "the workout goes before --music" in text


# ----------------------------------------------------------------- the cache from another folder, by a link


@pytest.fixture
def songs(tmp_path: Path) -> Iterator[Path]:
    """tmp/music/01 a.flac (176 BPM: 1x at 180 spm), tmp/music/02 b.flac (91 BPM: 2x), tmp/elsewhere/, and
    tmp/link -> music."""
    from music_synth import synth_song

    (tmp_path / "music").mkdir()
    (tmp_path / "elsewhere").mkdir()
    synth_song(176, 7.0, pattern="rock", seed=1, sr=22050).write(tmp_path / "music" / "01 a.flac", title="Song A")
    synth_song(91, 7.0, pattern="four", seed=2, sr=22050).write(tmp_path / "music" / "02 b.flac", title="Song B")
    (tmp_path / "link").symlink_to("music")
    yield tmp_path


def _entries(root: Path) -> list[Path]:
    return sorted((root / "cache" / "music").glob("*.json"))


def _mark_cached(root: Path) -> None:
    """Retitle every cache entry 'Cached ...': a title shown so came from the cache, not a new analysis."""
    for f in _entries(root):
        d = json.loads(f.read_text())
        d["title"] = "Cached " + d["title"]
        f.write_text(json.dumps(d))


def _analyzed(r: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    assert r.returncode == 0, r.stderr
    return [(s["path"], s["title"]) for s in json.loads(r.stdout)["songs"]]


@needs_extra("music")
def test_the_cache_is_found_from_another_folder_and_through_a_link(songs: Path) -> None:
    root = songs
    assert _analyzed(cc("track", "analyze", "music", "--json", cwd=root, root=root)) == [
        ("music/01 a.flac", "Song A"), ("music/02 b.flac", "Song B"),
    ]  # fmt: skip
    assert len(_entries(root)) == 2
    _mark_cached(root)
    elsewhere = root / "elsewhere"
    # another folder, another spelling (relative, through the link): the same entries, with the paths as given now
    assert _analyzed(cc("track", "analyze", "../music", "../link/02 b.flac", "--json", cwd=elsewhere, root=root)) == [
        ("../music/01 a.flac", "Cached Song A"), ("../music/02 b.flac", "Cached Song B"),
        ("../link/02 b.flac", "Cached Song B"),
    ]  # fmt: skip
    # and build from there (it failed with "internal error: DecodeError: no such file": the cached path was
    # music/..., relative to the first folder); several paths after one --music
    r = cc("track", "build", "--music", "../link/01 a.flac", "../music/02 b.flac", "-o", "mix.wav",
           "--sample-rate", "22050", "--click", "off", cwd=elsewhere, root=root)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Cached Song A" in r.stderr and "Cached Song B" in r.stderr and "2 songs" in r.stderr
    assert (elsewhere / "mix.wav").stat().st_size > 22050 * 4 * 5
    assert len(_entries(root)) == 2  # nothing was analysed again


@needs_extra("music")
def test_a_changed_file_is_analysed_again(songs: Path) -> None:
    from music_synth import synth_song

    root = songs
    a, b = root / "music" / "01 a.flac", root / "music" / "02 b.flac"
    _analyzed(cc("track", "analyze", "music", "--json", cwd=root, root=root))
    _mark_cached(root)
    # a new modification time (same size, same bytes); a new size (same modification time)
    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    st = b.stat()
    synth_song(91, 7.5, pattern="four", seed=2, sr=22050).write(b, title="Song B")  # half a second longer
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert b.stat().st_mtime_ns == st.st_mtime_ns and b.stat().st_size != st.st_size
    assert [t for _p, t in _analyzed(cc("track", "analyze", "music", "--json", cwd=root, root=root))] == [
        "Song A", "Song B",
    ]  # fmt: skip
    assert len(_entries(root)) == 4
    # an unchanged file still comes from the cache (the test above can tell)
    assert [t for _p, t in _analyzed(cc("track", "analyze", "link", "--json", cwd=root, root=root))] == [
        "Song A", "Song B",
    ]  # fmt: skip
    assert len(_entries(root)) == 4


# ---------------------------------------------------------------------- where a skipped song would fit


def _flat(ranges: list[tuple[float, float, float]]) -> list[float]:
    return [x for r in ranges for x in r]


def _song(tempo: float, confidence: float = 0.8, beats: int = 64) -> object:
    from cadencecoach.music.analysis import SongAnalysis

    return SongAnalysis("x.flac", "X", None, 100.0, 44100, 2, tempo, confidence, np.arange(beats) * 60 / max(tempo, 1),
                        0, -14.0, 1.0)  # fmt: skip


@needs_extra("music")
def test_fit_ranges_boundaries_clipping_and_merging() -> None:
    from cadencecoach.music.mix import fit_ranges, fit_song, ranges_text

    song = _song(120.0)
    assert _flat(fit_ranges(song, 0.12)) == pytest.approx([105.6, 134.4, 1.0, 211.2, 268.8, 2.0, 60.0, 67.2, 0.5])
    assert ranges_text(song, 0.12) == "fits 106-134 spm (1x), 212-268 spm (2x), 60-67 spm (0.5x)"
    # the ends are in: fit_song places the song exactly there, and not a hair outside
    for lo, hi, m in fit_ranges(song, 0.12):
        assert fit_song(song, hi, 0.12) == (m, pytest.approx(hi / (m * 120.0)))
        if lo > 60:
            assert fit_song(song, lo, 0.12) == (m, pytest.approx(lo / (m * 120.0)))
            assert isinstance(fit_song(song, lo - 0.01, 0.12), str)
        assert isinstance(fit_song(song, hi + 0.01, 0.12), str) or hi == 300.0
    # clipped to 60-300 spm: 0.5x of 100 BPM (44-56) is out, 2x of 170 BPM reaches 300 at most
    assert [m for *_r, m in fit_ranges(_song(100.0), 0.12)] == [1.0, 2.0]
    assert fit_ranges(_song(170.0), 0.12)[1] == pytest.approx((299.2, 300.0, 2.0))  # 340 * 0.88
    assert fit_ranges(_song(290.0), 0.0) == [(290.0, 290.0, 1.0), (145.0, 145.0, 0.5)]  # no stretch: points
    assert ranges_text(_song(290.0), 0.0) == "fits 290 spm (1x), 145 spm (0.5x)"
    assert ranges_text(_song(172.4), 0.0) == "fits 172.4 spm (1x), 86.2 spm (0.5x)"
    # a stretch of a third or more: 1x and 2x overlap and are one range (the slower part's multiple)
    assert _flat(fit_ranges(_song(80.0), 0.35)) == pytest.approx([60.0, 216.0, 1.0])
    assert ranges_text(_song(80.0), 0.35) == "fits 60-216 spm (1x, 2x)"
    assert _flat(fit_ranges(_song(120.0), 0.5)) == pytest.approx([60.0, 300.0, 0.5])
    assert ranges_text(_song(120.0), 0.5) == "fits 60-300 spm (0.5x, 1x, 2x)"
    # no range: no usable beat
    assert (
        fit_ranges(_song(0.0), 0.12) == [] and ranges_text(_song(0.0), 0.12) == "fits no cadence (no steady beat found)"
    )
    assert fit_ranges(_song(120.0, confidence=0.01), 0.12) == []


@needs_extra("music")
def test_fit_song_fits_exactly_the_ranges() -> None:
    """Across tempos, stretches and cadences: fit_song places the song iff the cadence is in one of its ranges,
    at a multiple within the stretch (where two overlap, the one needing less stretch)."""
    from cadencecoach.music.mix import fit_ranges, fit_song

    rng = np.random.default_rng(17)
    for _ in range(3000):
        song = _song(float(rng.uniform(40, 250)))
        stretch = float(rng.choice([0.0, 0.05, 0.12, 0.3, 0.32, 0.34, 0.5]))
        cadence = float(rng.uniform(60, 300))
        fit = fit_song(song, cadence, stretch)
        inside = any(lo - 1e-9 <= cadence <= hi + 1e-9 for lo, hi, _m in fit_ranges(song, stretch))
        assert (not isinstance(fit, str)) == inside, (song.tempo, stretch, cadence, fit)
        if not isinstance(fit, str):
            assert abs(fit[1] - 1) <= stretch + 1e-9


@needs_extra("music")
def test_a_skipped_song_is_listed_with_the_cadences_it_fits(songs: Path) -> None:
    """track build: one line per skipped song under the table; track analyze --cadence lists the same."""
    root = songs
    # 200 spm: song B (91 BPM) at 2x needs +9.9 %; song A (176 BPM) would need +13.6 % at 1x
    r = cc("track", "build", "--music", "music", "-o", "mix.wav", "--cadence", "200", "--sample-rate", "22050",
           "--click", "off", cwd=root, root=root)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    table_end = max(n for n, line in enumerate(lines) if line.startswith("└"))
    assert "Song B" in "".join(lines[:table_end]) and "Song A" not in "".join(lines[:table_end])
    skipped = [line.strip() for line in lines[table_end:] if "skipped Song" in line]
    assert skipped == [
        "skipped Song A: 176.0 BPM needs +13.6 % at 1x (more than --max-stretch 12 %); "
        "fits 155-197 spm (1x), 78-98 spm (0.5x)"
    ], r.stderr
    r = cc("track", "analyze", "music", "--cadence", "150", "--max-stretch", "5", cwd=root, root=root)
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "not within 5 % of 150 spm:" in out
    assert (
        "Song A: 176.0 BPM needs -14.8 % at 1x (more than --max-stretch 5 %); fits 168-184 spm (1x), 84-92 spm (0.5x)"
        in out
    )
    assert (
        "Song B: 91.0 BPM needs -17.6 % at 2x (more than --max-stretch 5 %); fits 87-95 spm (1x), 173-191 spm (2x)"
        in out
    )
