"""Tempo and beat accuracy on real music from Debian packages, against essentia's RhythmExtractor2013.

Usage::

    .venv/bin/python benchmarks/bench_tempo.py                      # every song (56), about 4 minutes
    .venv/bin/python benchmarks/bench_tempo.py --max-songs 12       # a quick look
    .venv/bin/python benchmarks/bench_tempo.py --only hr3-motion --json /tmp/tempo.json

Set-up (not timed; everything goes to ``~/.cache/cadencecoach-bench`` or ``$CADENCECOACH_BENCH_DIR``, never
into the repository, and is reused by later runs):

1. ``apt-get download`` of four packages of real music, unpacked with ``dpkg-deb -x``: the game soundtracks
   ``hyperrogue-music`` (17 songs) and ``drascula-music`` (31 tracks), and the Frets on Fire song packages
   ``fretsonfire-songs-muldjord`` and ``fretsonfire-songs-sectoid`` (8 songs) whose ``notes.mid`` charts give
   the true tempo and beat grid. If a download fails, ``apt-get update`` is run once (as root) and it is
   tried again.
2. A Frets on Fire song comes as a backing track and a guitar track (``song.ogg``, ``guitar.ogg``): they are
   mixed into one FLAC, the song as it is heard. Its chart's beat grid starts at the audio's time 0 (plus
   ``song.ini``'s ``delay``, none here), as the game plays it.
3. essentia (``pip install essentia``) in a virtualenv of its own, run in a child process: the reference is
   ``RhythmExtractor2013(method="multifeature")`` on ``MonoLoader(sampleRate=44100)``.

Then, song by song, one at a time: our tracker through ``cadencecoach.music.analysis.analyze_file(path,
use_cache=False)`` (decode, onsets, beats and loudness) and essentia (load and rhythm extraction), each timed
on its own. Per song: the chart's tempo where there is one, essentia's BPM and ours; the *family* agreement
(the same tempo within 4 % after folding octaves, x2 and x0.5, which are all tried downstream), and whether a
disagreement is a 2:3 or 3:2 one (ours 2/3 or 3/2 of the reference, up to octaves); where the families agree,
the beat agreement: the median and 95th percentile of |our beat - nearest essentia beat| (the slower
tracker's beats and their midpoints when one tracks twice as fast as the other); on charted songs the
share of each tracker's beats within an eighth of a beat of the chart's grid (the phase: a tracker on the
off-beat scores 0); and the time of each tracker and their ratio (ours / essentia).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

PACKAGES = ("hyperrogue-music", "drascula-music", "fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid")
FAMILY_TOL = 0.04

ESSENTIA_WORKER = r"""
import json, sys, time
import essentia
essentia.log.infoActive = False
essentia.log.warningActive = False
import essentia.standard as es
extractor = es.RhythmExtractor2013(method="multifeature")
for line in sys.stdin:
    path = line.rstrip("\n")
    t = time.perf_counter()
    audio = es.MonoLoader(filename=path, sampleRate=44100)()
    bpm, beats, confidence, _, _ = extractor(audio)
    dt = time.perf_counter() - t
    print(json.dumps({"path": path, "bpm": float(bpm), "beats": [float(b) for b in beats], "seconds": dt}), flush=True)
"""


# ------------------------------------------------------------------------------------ set-up


def bench_dir() -> Path:
    return Path(os.environ.get("CADENCECOACH_BENCH_DIR", "~/.cache/cadencecoach-bench")).expanduser()


def fetch(root: Path, packages: tuple[str, ...]) -> Path:
    """The packages downloaded and unpacked under ``root/root`` (once)."""
    debs, tree = root / "debs", root / "root"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not any(debs.glob(f"{p}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit("apt-get is needed to fetch the music (a Debian machine)")
        cmd = ["apt-get", "download", *missing]
        if subprocess.run(cmd, cwd=debs, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], check=True)
            subprocess.run(cmd, cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        stamp = tree / f".{deb.name}.unpacked"
        if deb.name.split("_")[0] in packages and not stamp.exists():
            tree.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
            stamp.touch()
    return tree


def chart_tempo(path: Path) -> float:
    """The tempo of a Frets on Fire ``notes.mid`` chart (BPM; 0 if it changes)."""
    data = path.read_bytes()
    n_tracks, _division = struct.unpack(">HH", data[10:14])
    pos = 8 + struct.unpack(">I", data[4:8])[0]
    tempos: set[int] = set()
    for _ in range(n_tracks):
        end = pos + 8 + struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        p, status = pos + 8, 0

        def vlq() -> int:
            nonlocal p
            v = 0
            while True:
                b = data[p]
                p += 1
                v = (v << 7) | (b & 0x7F)
                if b < 0x80:
                    return v

        while p < end:
            vlq()  # delta time
            b = data[p]
            if b == 0xFF:
                kind = data[p + 1]
                p += 2
                n = vlq()
                if kind == 0x51:
                    tempos.add(int.from_bytes(data[p : p + 3], "big"))
                p += n
            elif b in (0xF0, 0xF7):
                p += 1
                p += vlq()
            else:
                if b & 0x80:
                    status = b
                    p += 1
                p += 1 if status & 0xF0 in (0xC0, 0xD0) else 2
        pos = end
    return 60e6 / tempos.pop() if len(tempos) == 1 else 0.0


def chart_delay(folder: Path) -> float:
    """The chart's offset from the audio (seconds): song.ini's ``delay`` (ms), 0 without one (as the game plays
    it)."""
    import configparser

    ini = configparser.ConfigParser(interpolation=None)
    try:
        ini.read(folder / "song.ini", encoding="utf-8")
        return float(ini.get("song", "delay", fallback="0")) / 1000.0
    except (configparser.Error, ValueError, UnicodeDecodeError):
        return 0.0


def fof_songs(tree: Path, root: Path) -> list[dict[str, object]]:
    """Each Frets on Fire song mixed to one FLAC (cached), with its chart's tempo and grid offset."""
    import soundfile as sf

    out = []
    mixes = root / "mix"
    mixes.mkdir(parents=True, exist_ok=True)
    for notes in sorted(tree.glob("usr/share/games/fretsonfire/data/songs/*/*/notes.mid")):
        folder = notes.parent
        parts = [folder / n for n in ("song.ogg", "guitar.ogg", "rhythm.ogg", "drums.ogg") if (folder / n).exists()]
        if not parts:
            continue
        mix = mixes / (folder.name.replace(" ", "_") + ".flac")
        meta = mix.with_suffix(".json")
        if not meta.exists():
            tracks = [sf.read(p, dtype="float32", always_2d=True) for p in parts]
            rate = tracks[0][1]
            total = np.zeros((max(len(a) for a, _ in tracks), 2), np.float32)
            for a, _ in tracks:
                total[: len(a)] += a if a.shape[1] == 2 else np.repeat(a[:, :1], 2, axis=1)
            peak = float(np.abs(total).max())
            if peak > 0.99:
                total *= np.float32(0.99 / peak)
            tmp = mix.with_suffix(".tmp.flac")
            sf.write(tmp, total, rate)
            tmp.rename(mix)
            tempo = chart_tempo(notes)
            meta.write_text(json.dumps({"tempo": tempo, "offset": chart_delay(folder)}))
        chart = json.loads(meta.read_text())
        out.append({"path": mix, "name": folder.name, "truth": chart["tempo"] or None, "offset": chart["offset"]})
    return out


def essentia_python(root: Path) -> Path:
    venv = root / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(py), "-c", "import essentia"], capture_output=True, check=False).returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "essentia"], check=True)
    return py


# ------------------------------------------------------------------------------------ figures


def fold(ratio: float) -> float:
    while ratio >= 2**0.5:
        ratio /= 2
    while ratio < 2**-0.5:
        ratio *= 2
    return ratio


def relation(ours: float, ref: float) -> str:
    """'=' (same family), '2:3' (ours is 2/3 of the reference, up to octaves), '3:2', or '?'."""
    if ours <= 0 or ref <= 0:
        return "?"
    for label, k in (("=", 1.0), ("2:3", 2 / 3), ("3:2", 3 / 2)):
        if abs(fold(ours / (ref * k)) - 1) < FAMILY_TOL:
            return label
    return "?"


def beat_offsets(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|our beat - nearest reference beat|; the reference gets its midpoints when ours is twice as fast."""
    if len(ours) < 4 or len(ref) < 4:
        return np.zeros(0)
    if np.median(np.diff(ours)) < 0.75 * np.median(np.diff(ref)):
        ref = np.sort(np.concatenate([ref, (ref[:-1] + ref[1:]) / 2]))
    i = np.clip(np.searchsorted(ref, ours), 1, len(ref) - 1)
    return np.minimum(np.abs(ours - ref[i - 1]), np.abs(ours - ref[i]))


def on_grid(beats: np.ndarray, truth: float, offset: float) -> float:
    """The share of the beats within an eighth of the chart's beat of its beat grid (of its eighth-note grid
    when the beats are twice as fast)."""
    if len(beats) < 4:
        return 0.0
    phase = ((beats - offset) * truth / 60.0) % 1.0
    targets = (0.0, 0.5, 1.0) if 60.0 / float(np.median(np.diff(beats))) > 1.5 * truth else (0.0, 1.0)
    dist = np.min([np.abs(phase - t) for t in targets], axis=0)
    return float(np.mean(dist < 0.125))


def run(songs: list[dict[str, object]], py: Path) -> list[dict[str, object]]:
    from cadencecoach.music.analysis import analyze_file

    worker = subprocess.Popen(
        [str(py), "-c", ESSENTIA_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert worker.stdin is not None and worker.stdout is not None
    rows = []
    try:
        for song in songs:
            path = Path(str(song["path"]))
            t = time.perf_counter()
            ours = analyze_file(path, use_cache=False)
            t_ours = time.perf_counter() - t
            worker.stdin.write(str(path) + "\n")
            ref = json.loads(worker.stdout.readline())
            ob, eb = np.asarray(ours.beats), np.asarray(ref["beats"])
            row: dict[str, object] = {
                "name": song["name"],
                "truth": song.get("truth"),
                "essentia": round(ref["bpm"], 2),
                "ours": round(ours.tempo, 2),
                "family": relation(ours.tempo, ref["bpm"]),
                "time_ours": round(t_ours, 3),
                "time_essentia": round(ref["seconds"], 3),
            }
            if row["family"] == "=":
                d = beat_offsets(ob, eb)
                if len(d):
                    row["beat_median_ms"] = round(float(np.median(d)) * 1000, 1)
                    row["beat_p95_ms"] = round(float(np.percentile(d, 95)) * 1000, 1)
            truth = song.get("truth")
            if truth:
                row["family_ours_truth"] = relation(ours.tempo, float(str(truth)))
                row["family_essentia_truth"] = relation(ref["bpm"], float(str(truth)))
                row["on_grid_ours"] = round(on_grid(ob, float(str(truth)), float(str(song["offset"]))), 2)
                row["on_grid_essentia"] = round(on_grid(eb, float(str(truth)), float(str(song["offset"]))), 2)
            rows.append(row)
            print_row(row)
    finally:
        worker.stdin.close()
        worker.wait()
    return rows


HEADER = (
    f"{'song':26s} {'chart':>6s} {'essentia':>8s} {'ours':>7s} {'family':>6s} {'beat med':>8s} {'p95':>6s} "
    f"{'grid ours/ess':>13s} {'t ours':>6s} {'t ess':>6s} {'ratio':>5s}"
)


def print_row(row: dict[str, object]) -> None:
    truth = f"{float(str(row['truth'])):.1f}" if row.get("truth") else ""
    med = f"{row['beat_median_ms']:.1f}" if "beat_median_ms" in row else ""
    p95 = f"{row['beat_p95_ms']:.1f}" if "beat_p95_ms" in row else ""
    grid = f"{row['on_grid_ours']:.2f}/{row['on_grid_essentia']:.2f}" if "on_grid_ours" in row else ""
    t_o, t_e = float(str(row["time_ours"])), float(str(row["time_essentia"]))
    print(
        f"{str(row['name'])[:26]:26s} {truth:>6s} {row['essentia']:>8.2f} {row['ours']:>7.2f} "
        f"{row['family']:>6s} {med:>8s} {p95:>6s} {grid:>13s} {t_o:>6.2f} {t_e:>6.2f} {t_o / t_e:>5.2f}",
        flush=True,
    )


def summary(rows: list[dict[str, object]]) -> None:
    n = len(rows)
    same = [r for r in rows if r["family"] == "="]
    two_three = [r for r in rows if r["family"] in ("2:3", "3:2")]
    print(f"\nsongs: {n}")
    print(f"tempo family, ours = essentia: {len(same)}/{n}")
    print(
        f"2:3 / 3:2 (ours against essentia): {len(two_three)}: "
        + ", ".join(f"{r['name']} {r['ours']} vs {r['essentia']} ({r['family']})" for r in two_three)
    )
    others = [r for r in rows if r["family"] == "?"]
    print(
        f"other disagreements: {len(others)}: "
        + ", ".join(f"{r['name']} {r['ours']} vs {r['essentia']}" for r in others)
    )
    charted = [r for r in rows if r.get("truth")]
    if charted:
        ok_o = sum(r["family_ours_truth"] == "=" for r in charted)
        ok_e = sum(r["family_essentia_truth"] == "=" for r in charted)
        g_o = float(np.mean([float(str(r["on_grid_ours"])) for r in charted]))
        g_e = float(np.mean([float(str(r["on_grid_essentia"])) for r in charted]))
        print(
            f"charted songs: {len(charted)}; family right: ours {ok_o}, essentia {ok_e}; "
            f"beats on the chart's grid (mean share): ours {g_o:.2f}, essentia {g_e:.2f}"
        )
    meds = [float(str(r["beat_median_ms"])) for r in same if "beat_median_ms" in r]
    p95s = [float(str(r["beat_p95_ms"])) for r in same if "beat_p95_ms" in r]
    if meds:
        print(
            f"beat agreement where the families agree ({len(meds)} songs): "
            f"median of the medians {np.median(meds):.1f} ms, median of the 95th percentiles "
            f"{np.median(p95s):.1f} ms; songs with a median over 40 ms (a phase disagreement): "
            f"{sum(m > 40 for m in meds)}"
        )
    t_o = sum(float(str(r["time_ours"])) for r in rows)
    t_e = sum(float(str(r["time_essentia"])) for r in rows)
    ratios = [float(str(r["time_ours"])) / float(str(r["time_essentia"])) for r in rows]
    print(
        f"time: ours {t_o:.1f} s, essentia {t_e:.1f} s, total ratio {t_o / t_e:.2f} "
        f"(per song median {np.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f})"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-songs", type=int, default=0, help="at most this many songs (0: all)")
    ap.add_argument("--only", nargs="+", default=[], help="songs whose name contains one of these")
    ap.add_argument("--json", type=Path, help="write every song's figures here")
    args = ap.parse_args()
    from cadencecoach.errors import CoachError
    from cadencecoach.music.deps import require

    try:
        require("this benchmark")
    except CoachError as exc:
        print(exc, file=sys.stderr)
        return 2
    root = bench_dir()
    t = time.perf_counter()
    tree = fetch(root, PACKAGES)
    songs: list[dict[str, object]] = [
        {"path": p, "name": p.name}
        for pattern in ("usr/share/hyperrogue/music/*.ogg", "usr/share/scummvm/drascula/audio/*.ogg")
        for p in sorted(tree.glob(pattern))
    ]
    songs += fof_songs(tree, root)
    if args.only:
        songs = [s for s in songs if any(o in str(s["name"]) for o in args.only)]
    if args.max_songs:
        songs = songs[: args.max_songs]
    py = essentia_python(root)
    print(f"set-up: {len(songs)} songs in {root} ({time.perf_counter() - t:.1f} s)\n")
    print(HEADER)
    rows = run(songs, py)
    summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
