"""Issue 18: how long `render` takes to write an encoded file, against the reference encoder alone.

Run:  .venv/bin/python benchmarks/bench_encode.py [--runs 3] [--only mp3|m4a|opus] [--minutes N]
      [--bitrates mp3=128,64 m4a=96,64 opus=64]
Prints figures; record them in benchmarks/RESULTS.md.

The workout is the shipped 54-minute `10x400` with `--voice-engine espeak` (or, with `--minutes N`, a workout
of the same shape and about N minutes, for quick checks), its cue cache warmed by one untimed render first.
For each format and bit rate, side by side on this machine, alternating, `--runs` times (medians reported):

  (a) `cadencecoach render W -o x.EXT --bitrate B` (a whole process, imports included; `--mp3-bitrate B` on a
      command line that has no `--bitrate`): wall time, CPU time (user + sys) and peak RSS of the process;
  (b) the WAV render (`render W -o x.wav`, timed too) and then the reference encoder alone on that WAV:
      mp3: `lame --noreplaygain -b B x.wav` (LAME's CLI at its default quality; a mono WAV gives a mono MP3;
      without the ReplayGain analysis the CLI runs by default, which alone takes ~200 s of CPU on this
      WAV: the issue's 15-16 s for lame is without it; `--lame-replaygain` times lame's defaults once too),
      m4a: `ffmpeg -i x.wav -c:a aac -b:a Bk x.m4a`,
      opus: `ffmpeg -i x.wav -c:a libopus -b:a Bk x.opus`.

The issue's figure is the ratio (a) / (b, encoder alone), goal <= 1.0; the ratio to the WAV render plus the
encoder is printed too. A format the command line refuses (an extension it does not write yet, or no option
for the bit rate of a format other than MP3) is reported as unsupported. The machine has 2 cores shared with
other jobs: the load average is printed before and after, and figures from a loaded machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

PY = sys.executable
CLI = [PY, "-m", "cadencecoach"]
ENGINE = ["--voice-engine", "espeak"]
FORMATS = ("mp3", "m4a", "opus")
#: 128: today's default (the issue's "before"); 64: LAME's default for mono; 96 (AAC): the default chosen by
#: codec_quality.py (AAC and Opus at 64 for comparison with MP3).
DEFAULT_BITRATES = {"mp3": [128, 64], "m4a": [96, 64], "opus": [64]}

#: Runs the command, prints its return code, wall time, CPU time (user + sys) and peak RSS (KiB) as a child.
WRAPPER = """
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.returncode, wall, u.ru_utime + u.ru_stime, u.ru_maxrss)
sys.stderr.write(r.stderr.decode(errors="replace")[-2000:])
"""

SHORT_WORKOUT = """name: Encode benchmark, {minutes} min
cadence: 180
steps:
  - warmup: {warmup}s
    cadence: 170
  - repeat: {reps}
    steps:
      - run: {rep}s
        cadence: 186
        say: Relax the shoulders.
      - recover: {rep}s
        click: off
  - cooldown: {cooldown}s
    cadence: 165-170
"""


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


class Refused(Exception):
    """The command line would not write the file."""


def measured(cmd: list[str]) -> Run:
    r = subprocess.run([PY, "-c", WRAPPER, *cmd], capture_output=True, text=True)
    code, wall, cpu, kib = r.stdout.split()
    if code != "0":
        lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
        raise Refused(lines[-1].strip() if lines else f"exit {code}")
    return Run(float(wall), float(cpu), int(kib) / 1024)


def bitrate_option() -> str | None:
    """`--bitrate` when `render --help` offers it, else `--mp3-bitrate` (today's), else None."""
    text = subprocess.run([*CLI, "render", "--help"], capture_output=True, text=True, env=_wide_env()).stdout
    if re.search(r"(?<![\w-])--bitrate\b", text):
        return "--bitrate"
    if "--mp3-bitrate" in text:
        return "--mp3-bitrate"
    return None


def _wide_env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def workout(tmp: Path, minutes: float | None) -> str:
    if minutes is None:
        return "10x400"
    # 10x400's shape: 28 % warm-up, 54 % reps (run + recover of the same length, at most 90 s), the rest cool-down
    total = minutes * 60
    reps = max(1, round(total * 0.54 / 180))
    rep = min(90, max(10, round(total * 0.54 / (2 * reps))))
    warmup = max(10, round(total * 0.28))
    cooldown = max(10, round(total - warmup - 2 * reps * rep))
    path = tmp / "bench.yaml"
    path.write_text(SHORT_WORKOUT.format(minutes=minutes, warmup=warmup, reps=reps, rep=rep, cooldown=cooldown))
    return str(path)


def reference(fmt: str, kbps: int, wav: Path, out: Path, replaygain: bool = False) -> list[str]:
    if fmt == "mp3":
        return ["lame", "--silent", *([] if replaygain else ["--noreplaygain"]), "-b", str(kbps), str(wav), str(out)]
    codec = "aac" if fmt == "m4a" else "libopus"
    return ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", codec, "-b:a", f"{kbps}k", str(out)]


def describe(runs: list[Run], out: Path) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    return (
        f"median {wall:.2f} s (runs {', '.join(f'{r.wall:.2f}' for r in runs)}), CPU {cpu:.1f} s, "
        f"peak RSS {max(r.rss_mb for r in runs):.0f} MB, {out.stat().st_size / 1e6:.1f} MB"
    )


def bench(
    fmt: str, kbps: int, w: str, option: str | None, runs: int, tmp: Path, wav_runs: list[float], replaygain: bool
) -> None:
    """Times (a) and (b) for one format and bit rate, alternating, and prints them."""
    tool = "lame" if fmt == "mp3" else "ffmpeg"
    wav, ours_out, ref_out = tmp / "x.wav", tmp / f"ours.{fmt}", tmp / f"ref.{fmt}"
    ours_cmd: list[str] | None = None
    refused: str | None = f"no bit-rate option for .{fmt} in `render --help`"
    if option == "--bitrate" or (option == "--mp3-bitrate" and fmt == "mp3"):
        ours_cmd, refused = [*CLI, "render", w, "-o", str(ours_out), *ENGINE, option, str(kbps)], None
    ours: list[Run] = []
    ref: list[Run] = []
    for _ in range(runs):
        if ours_cmd is not None and refused is None:
            ours_out.unlink(missing_ok=True)
            try:
                ours.append(measured(ours_cmd))
            except Refused as e:
                refused = str(e)[:200]
        wav.unlink(missing_ok=True)
        wav_runs.append(measured([*CLI, "render", w, "-o", str(wav), *ENGINE]).wall)
        ref_out.unlink(missing_ok=True)
        ref.append(measured(reference(fmt, kbps, wav, ref_out)))
    print(f"{fmt} at {kbps} kbit/s:")
    if refused is not None:
        print(f"  cadencecoach render -o x.{fmt}: unsupported ({refused})")
    else:
        print(f"  cadencecoach render -o x.{fmt} {option} {kbps}: {describe(ours, ours_out)}")
    print(f"  {tool} alone on the WAV: {describe(ref, ref_out)}")
    print(f"      ({' '.join(reference(fmt, kbps, Path('x.wav'), Path('x.' + fmt)))})")
    if fmt == "mp3" and replaygain:
        ref_out.unlink(missing_ok=True)
        rg = measured(reference(fmt, kbps, wav, ref_out, replaygain=True))
        print(f"  lame with its defaults (ReplayGain analysis on), once: {describe([rg], ref_out)}")
    if refused is None:
        o_wall = statistics.median(r.wall for r in ours)
        r_wall = statistics.median(r.wall for r in ref)
        wav_med = statistics.median(wav_runs)
        print(
            f"  ratio render / {tool} alone: {o_wall / r_wall:.2f} (goal <= 1.0); "
            f"render / (WAV render + {tool}): {o_wall / (wav_med + r_wall):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=FORMATS, action="append")
    parser.add_argument("--lame-replaygain", action="store_true", help="also time lame with its defaults, once")
    parser.add_argument("--minutes", type=float, help="a workout of about this length instead of 10x400")
    parser.add_argument(
        "--bitrates", nargs="+", metavar="FMT=B,B", help="bit rates per format, e.g. mp3=128,64 (kbit/s)"
    )
    args = parser.parse_args()
    bitrates = {k: list(v) for k, v in DEFAULT_BITRATES.items()}
    for item in args.bitrates or []:
        k, _, v = item.partition("=")
        bitrates[k] = [int(b) for b in v.split(",")]
    option = bitrate_option()
    with tempfile.TemporaryDirectory(prefix="bench_encode-") as d:
        tmp = Path(d)
        w = workout(tmp, args.minutes)
        wav = tmp / "x.wav"
        subprocess.run([*CLI, "render", w, "-o", str(wav), *ENGINE], check=True, capture_output=True)  # cue cache
        minutes = sf.info(str(wav)).duration / 60
        print(
            f"workout {w} ({minutes:.1f} min, mono 16-bit WAV at 44.1 kHz), --voice-engine espeak, "
            f"warm cue cache; {args.runs} runs each, alternating; bit-rate option: {option or 'none'}; "
            f"load average {os.getloadavg()[0]:.2f} at start ({os.cpu_count()} CPUs)"
        )
        wav_runs: list[float] = []
        for fmt in args.only or FORMATS:
            tool = "lame" if fmt == "mp3" else "ffmpeg"
            if not shutil.which(tool):
                print(f"{fmt}: {tool} not installed: skipped")
                continue
            for kbps in bitrates.get(fmt, []):
                bench(fmt, kbps, w, option, args.runs, tmp, wav_runs, args.lame_replaygain)
        if wav_runs:
            runs = ", ".join(f"{x:.2f}" for x in wav_runs)
            print(f"WAV render (`render -o x.wav`): median {statistics.median(wav_runs):.2f} s (runs {runs})")
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
