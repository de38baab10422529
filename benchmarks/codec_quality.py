"""Issue 18: choose the default bit rate of each lossy format by a measured listening check.

Run:  .venv/bin/python benchmarks/codec_quality.py [--workouts 10x400 tabata] [--start 885] [--seconds 120]
      [--only mp3|aac|opus|opus-audio|vorbis] [--ladder 48,64,80] [--mp3-quality 2]
(about 4 minutes on one core; PESQ needs `pip install pesq`, else its columns are nan.)
Prints one table per codec and the lowest bit rate that passes; record them in benchmarks/RESULTS.md.

Each shipped workout is rendered to WAV by the tool (`render W -o W.wav --voice-engine espeak`), and a stretch
with a step's preview, the 3-2-1 countdown, the step's announcement and clicks is cut from it (by default
885-1005 s: the end of the warm-up, the first rep and, in tabata, four sprint/rest changes). The excerpts are
encoded with the encoders the tool uses, mono, at a ladder of bit rates:

- MP3: lameenc, quality 2 (the tool's; `--mp3-quality`), CBR; below 64 kbit/s LAME lowers the sample rate
  of a mono stream by itself (to 32, 24, 22.05 kHz), as the `lame` CLI does: the decoded audio is resampled
  back for the comparison ("kHz" column);
- AAC: FFmpeg's native ``aac`` through PyAV, in .m4a;
- Opus: ``libopus`` through PyAV at 48 kHz (the excerpt resampled 44.1 -> 48 kHz, the decoded audio back),
  in .opus, CELT only (``application=lowdelay``) as the tool writes it, and ("opus-audio") in libopus'
  default mode for comparison; the "resample only" row is the round trip without the codec;
- Vorbis: libsndfile (soundfile) OGG/VORBIS at a few compression levels (VBR: the bit rate is measured).

Every file is decoded by FFmpeg (PyAV), its delay after what the container compensates found by
cross-correlation with the WAV (reported, in samples at 44.1 kHz; positive: the decoded audio is late) and
removed, and then compared with the WAV:

- clicks (every onset of `plan --json` 'clicks' in the excerpt with no cue within 10 ms of it: under speech
  the 10 % threshold of a rise time is already crossed by the speech, and the coding noise of the speech
  would count as pre-echo; those clicks are in the speech figures instead): pre-echo, the energy of the coding error
  in the 5 ms before the onset relative to the click's energy in the 5 ms after it (dB: the error, not the
  decoded signal, so that speech under a click does not count as pre-echo); the peak kept (max |decoded| /
  max |WAV| over the click's first 5 ms, dB); the rise time (from the first sample reaching 10 % of the
  click's peak to the first reaching 90 %, searched from 5 ms before the onset) minus the WAV's. Median and
  worst over all clicks.
- speech (the `plan --json` 'cues' windows, at_s .. at_s + duration_s): segmental SNR (20 ms frames above
  -50 dBFS, each clamped to -10..35 dB, mean), log-spectral distance over 0.3-8 kHz (1024-point frames, mean),
  and the effective bandwidth: the top of the highest 250 Hz band (where the WAV has content: within 70 dB of
  its strongest band) in which the decoded energy is within 30 dB of the WAV's. "bw all" is over the whole
  excerpt (the clicks are broadband: the codec's own low-pass), "bw speech" over the cue windows (espeak
  speaks at 22.05 kHz, so its speech has nothing above ~11 kHz whatever the codec).
- size: bytes per hour of audio (the excerpts' files together, container overhead included), MB = 10^6 B.

- speech, a listening proxy when the `pesq` package is importable (`pip install pesq`, a small C extension;
  the script runs without it): ITU-T P.862.2 wide-band PESQ (MOS-LQO, 1.0 .. 4.64) at 16 kHz, of the cue
  windows padded by 0.5 s and merged into utterances; mean and lowest over the utterances.
- size: bytes per hour of audio (the excerpts' files together, container overhead included), MB = 10^6 B.

A row passes when the clicks keep their attack: the 95th percentile of the pre-echo is under -30 dB (the
single worst click depends on where it falls in the codec's frame: it is reported, not judged), every click's
rise time is within 0.5 ms of the WAV's and its peak within 1 dB; and the speech stays clear: its band reaches
8 kHz and PESQ's mean is at least 4.0 (without `pesq`: the segmental SNR within 3 dB of the ladder's best).
The segmental SNR is reported but does not decide when PESQ is there: it has no plateau on these ladders (it
keeps rising about a dB a step up to 192 kbit/s), so "close to the plateau" cannot be read from it. The
chosen default is the lowest passing setting.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import lameenc
import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cadencecoach"]
SR = 44100
OPUS_SR = 48000

LADDERS: dict[str, list[float]] = {
    "mp3": [32, 40, 48, 56, 64, 80, 96, 128, 192],
    "aac": [32, 48, 64, 96, 128, 192],
    "opus": [16, 24, 32, 48, 64, 96],
    "opus-audio": [16, 24, 32, 48, 64, 96],
    # libsndfile compression level (0 best .. 1 smallest): Vorbis quality = 1 - level
    "vorbis": [1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.0],
}
TITLES = {
    "mp3": "MP3, lameenc, CBR, mono (kbit/s)",
    "aac": "AAC-LC, FFmpeg native `aac` via PyAV, .m4a, mono (kbit/s)",
    "opus": "Opus, libopus via PyAV at 48 kHz, CELT only (application=lowdelay, as the tool), .opus, mono (kbit/s)",
    "opus-audio": "Opus, libopus via PyAV at 48 kHz, its default application (audio: SILK/hybrid/CELT), "
    "for comparison, mono (kbit/s)",
    "vorbis": "Vorbis, libsndfile OGG/VORBIS VBR, mono (compression level; quality = 1 - level; libsndfile's "
    "default, today's .ogg, is quality 0.4 = level 0.6)",
}

# pass criteria (see the module docstring)
MAX_PRE_ECHO_DB = -30.0
MAX_RISE_DELTA_MS = 0.5
MAX_PEAK_LOSS_DB = 1.0
MIN_SPEECH_BW_HZ = 8000.0
SEGSNR_PLATEAU_DB = 3.0  # without pesq
MIN_PESQ = 4.0

CLICK_MS = 5.0
MAX_LAG = 8192


@dataclass
class Excerpt:
    name: str
    audio: np.ndarray  # float32 mono at SR
    clicks: np.ndarray  # onset sample indices within audio, of the clicks clear of speech (see clean_clicks)
    under_speech: int  # clicks left out: a cue plays within 10 ms of them
    cues: list[tuple[int, int]]  # (start, stop) sample indices within audio
    seconds: float


# ---------------------------------------------------------------- encoders: (audio, path, setting) -> path


MP3_QUALITY = [2]  # LAME's quality (0 best .. 9): the tool's; --mp3-quality changes it


def enc_mp3(x: np.ndarray, path: Path, kbps: float) -> Path:
    enc = lameenc.Encoder()
    enc.set_bit_rate(int(kbps))
    enc.set_in_sample_rate(SR)
    enc.set_channels(1)
    enc.set_quality(MP3_QUALITY[0])
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    data = enc.encode(pcm.tobytes()) + enc.flush()
    path = path.with_suffix(".mp3")
    path.write_bytes(bytes(data))
    return path


def _enc_pyav(
    x: np.ndarray, path: Path, codec: str, rate: int, kbps: float, options: dict[str, str] | None = None
) -> Path:
    with av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=rate, layout="mono")
        st.bit_rate = int(kbps * 1000)
        st.codec_context.options = dict(options or {})
        fmt = "fltp" if codec == "aac" else "flt"
        step = 1 << 14
        for i in range(0, len(x), step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[i : i + step], dtype=np.float32).reshape(1, -1), format=fmt, layout="mono"
            )
            frame.sample_rate = rate
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    return path


def enc_aac(x: np.ndarray, path: Path, kbps: float) -> Path:
    return _enc_pyav(x, path.with_suffix(".m4a"), "aac", SR, kbps)


def enc_opus(x: np.ndarray, path: Path, kbps: float) -> Path:
    """As the tool writes .opus: CELT only (libopus' "restricted low delay" application)."""
    options = {"application": "lowdelay", "compression_level": os.environ.get("CQ_OPUS_COMPLEXITY", "10")}
    return _enc_pyav(to_48k(x), path.with_suffix(".opus"), "libopus", OPUS_SR, kbps, options)


def enc_opus_audio(x: np.ndarray, path: Path, kbps: float) -> Path:
    """libopus' default application ("audio": SILK, hybrid or CELT as it sees fit), for comparison."""
    return _enc_pyav(to_48k(x), path.with_suffix(".opus"), "libopus", OPUS_SR, kbps)


def enc_vorbis(x: np.ndarray, path: Path, level: float) -> Path:
    path = path.with_suffix(".ogg")
    # in blocks, as the tool writes: libsndfile 1.2.2's Vorbis encoder crashes on one 5-million-frame write
    with sf.SoundFile(path, "w", SR, 1, "VORBIS", format="OGG", compression_level=level) as f:
        for i in range(0, len(x), 1 << 16):
            f.write(x[i : i + (1 << 16)])
    return path


ENCODERS: dict[str, Callable[[np.ndarray, Path, float], Path]] = {
    "mp3": enc_mp3,
    "aac": enc_aac,
    "opus": enc_opus,
    "opus-audio": enc_opus_audio,
    "vorbis": enc_vorbis,
}


def resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Polyphase resampling with a long Kaiser window (stop band ~ -100 dB), so that its images do not pass
    for bandwidth the codec kept."""
    g = math.gcd(up, down)
    return signal.resample_poly(x, up // g, down // g, window=("kaiser", 10.0)).astype(np.float32)


def to_48k(x: np.ndarray) -> np.ndarray:
    return resample(x, OPUS_SR, SR)


def from_48k(x: np.ndarray) -> np.ndarray:
    return resample(x, SR, OPUS_SR)


def decode(path: Path) -> tuple[np.ndarray, int]:
    """The file decoded by FFmpeg (PyAV), mono float32 at SR, and the file's own sample rate (Opus at 48 kHz,
    or MP3 where LAME lowered it, resampled back to SR here)."""
    parts = []
    with av.open(str(path)) as f:
        stream = f.streams.audio[0]
        rate = stream.codec_context.sample_rate
        for frame in f.decode(stream):
            a = frame.to_ndarray()
            if a.dtype == np.int16:
                a = a.astype(np.float32) / 32768.0
            parts.append(a.reshape(-1, frame.samples).mean(axis=0) if a.ndim == 2 else a)
    y = np.concatenate(parts).astype(np.float32)
    if rate != SR:
        y = resample(y, SR, rate)
    return y, rate


def align(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """y shifted to line up with x (cross-correlation over the first 20 s); the lag in samples."""
    n = min(len(x), 20 * SR)
    a, b = x[:n].astype(np.float64), y[: n + MAX_LAG].astype(np.float64)
    corr = signal.correlate(b, a, mode="full", method="fft")
    zero = len(a) - 1  # index of lag 0
    window = corr[zero - MAX_LAG : zero + MAX_LAG + 1]
    lag = int(np.argmax(window)) - MAX_LAG
    out = np.zeros_like(x)
    seg = y[lag : lag + len(x)] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), y[: len(x) + lag]])
    out[: len(seg)] = seg
    return out, lag


# ---------------------------------------------------------------- metrics


def _rise(a: np.ndarray, onset: int, n: int) -> float:
    """10-90 % rise time (samples) of |a| at a click: searched from n samples before the onset."""
    seg = np.abs(a[onset - n : onset + n])
    peak = seg[n:].max()
    t10 = int(np.argmax(seg >= 0.1 * peak))
    t90 = int(np.argmax(seg >= 0.9 * peak))
    return float(max(t90 - t10, 0))


def click_metrics(x: np.ndarray, y: np.ndarray, clicks: np.ndarray) -> dict[str, np.ndarray]:
    n = round(CLICK_MS * SR / 1000)
    pre, peak, rise = [], [], []
    err = y - x
    for c in clicks:
        e_click = float(np.sum(x[c : c + n].astype(np.float64) ** 2))
        e_pre = float(np.sum(err[c - n : c].astype(np.float64) ** 2))
        pre.append(10 * np.log10(max(e_pre, 1e-20) / e_click))
        peak.append(20 * np.log10(np.abs(y[c : c + n]).max() / np.abs(x[c : c + n]).max()))
        rise.append((_rise(y, c, n) - _rise(x, c, n)) * 1000 / SR)
    return {"pre": np.array(pre), "peak": np.array(peak), "rise": np.array(rise)}


def wav_rise_ms(x: np.ndarray, clicks: np.ndarray) -> float:
    n = round(CLICK_MS * SR / 1000)
    return float(np.median([_rise(x, c, n) for c in clicks]) * 1000 / SR)


def _mask(length: int, cues: list[tuple[int, int]]) -> np.ndarray:
    m = np.zeros(length, bool)
    for a, b in cues:
        m[max(a, 0) : max(b, 0)] = True
    return m


def segsnr_frames(x: np.ndarray, y: np.ndarray, cues: list[tuple[int, int]]) -> list[float]:
    n = round(0.020 * SR)
    out = []
    for a, b in cues:
        for i in range(a, b - n + 1, n):
            r = x[i : i + n].astype(np.float64)
            e = r - y[i : i + n]
            er = float(np.sum(r**2))
            if er / n < 10 ** (-50 / 10):
                continue
            snr = 10 * np.log10(er / max(float(np.sum(e**2)), 1e-20))
            out.append(float(np.clip(snr, -10.0, 35.0)))
    return out


def lsd_frames(x: np.ndarray, y: np.ndarray, cues: list[tuple[int, int]]) -> list[float]:
    n, hop = 1024, 512
    win = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = (freqs >= 300) & (freqs <= 8000)
    out = []
    for a, b in cues:
        for i in range(a, b - n + 1, hop):
            r = x[i : i + n].astype(np.float64)
            if np.mean(r**2) < 10 ** (-50 / 10):
                continue
            pr = np.abs(np.fft.rfft(r * win))[band] ** 2 + 1e-10
            pd = np.abs(np.fft.rfft(y[i : i + n] * win))[band] ** 2 + 1e-10
            out.append(float(np.sqrt(np.mean((10 * np.log10(pr / pd)) ** 2))))
    return out


def speech_segments(cues: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The cue windows padded by 0.5 s and merged where less than 2 s apart (PESQ wants utterances)."""
    pad, gap = SR // 2, 2 * SR
    out: list[list[int]] = []
    for a, b in sorted(cues):
        a, b = max(a - pad, 0), min(b + pad, length)
        if out and a - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out if b - a >= SR]


def pesq_scores(x: np.ndarray, y: np.ndarray, cues: list[tuple[int, int]]) -> list[float]:
    """ITU-T P.862.2 wide-band PESQ (MOS-LQO, 1.0-4.64) of each speech segment, at 16 kHz; [] without `pesq`."""
    try:
        from pesq import pesq
    except ImportError:
        return []
    out = []
    for a, b in speech_segments(cues, len(x)):
        r, d = resample(x[a:b], 16000, SR), resample(y[a:b], 16000, SR)
        out.append(float(pesq(16000, r.astype(np.float64), d.astype(np.float64), "wb")))
    return out


def _have_pesq() -> bool:
    try:
        import pesq  # noqa: F401
    except ImportError:
        return False
    return True


def band_powers(a: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Power in 250 Hz bands (0-22 kHz) of the samples under mask (all when None)."""
    n = 4096
    win = np.hanning(n)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    idx = (freqs // 250).astype(int)
    acc = np.zeros(idx.max() + 1)
    for i in range(0, len(a) - n + 1, n // 2):
        if mask is not None and not mask[i : i + n].any():
            continue
        spec = np.abs(np.fft.rfft(a[i : i + n] * win)) ** 2
        acc += np.bincount(idx, spec, minlength=len(acc))
    return acc


def bandwidth(px: np.ndarray, py: np.ndarray, rate: int) -> float:
    """Top of the highest 250 Hz band below rate / 2 where the WAV has content and py is within 30 dB of it."""
    content = (px > px.max() * 10 ** (-70 / 10)) & (np.arange(len(px)) * 250 + 250 <= rate / 2)
    ok = content & (py >= px * 10 ** (-30 / 10))
    hits = np.nonzero(ok)[0]
    return float((hits.max() + 1) * 250) if len(hits) else 0.0


# ---------------------------------------------------------------- the check


def excerpts(workouts: list[str], start: float, seconds: float, tmp: Path) -> list[Excerpt]:
    out = []
    for w in workouts:
        wav = tmp / f"{w}.wav"
        subprocess.run([*CLI, "render", w, "-o", str(wav), "--voice-engine", "espeak"], check=True, capture_output=True)
        plan = json.loads(
            subprocess.run(
                [*CLI, "plan", w, "--json", "--voice-engine", "espeak"], check=True, capture_output=True, text=True
            ).stdout
        )
        s0 = round(start * SR)
        x, sr = sf.read(wav, dtype="float32", start=s0, stop=s0 + round(seconds * SR))
        assert sr == SR and x.ndim == 1
        wav.unlink()
        clicks = np.array([round(t * SR) - s0 for t in plan["clicks"]])
        margin = 2 * round(CLICK_MS * SR / 1000)
        clicks = clicks[(clicks >= margin) & (clicks <= len(x) - margin)]
        cues = []
        for c in plan["cues"]:
            a, b = round(c["at_s"] * SR) - s0, round((c["at_s"] + c["duration_s"]) * SR) - s0
            if b > 0 and a < len(x):
                cues.append((max(a, 0), min(b, len(x))))
        near = _mask(len(x), [(a - margin, b + margin) for a, b in cues])
        clean = clicks[~near[clicks]]
        out.append(Excerpt(w, x, clean, len(clicks) - len(clean), cues, len(x) / SR))
    return out


def measure(ex: list[Excerpt], codec: str, setting: float | None, tmp: Path) -> dict[str, float]:
    pre, peak, rise, snr, lsd, mos = [], [], [], [], [], []
    size, secs, lags = 0, 0.0, []
    bw_all, bw_speech = [], []
    for e in ex:
        if setting is None:  # the 48 kHz round trip alone
            y, lag, nbytes, rate = from_48k(to_48k(e.audio))[: len(e.audio)], 0, 0, OPUS_SR
        else:
            path = ENCODERS[codec](e.audio, tmp / f"{e.name}-{codec}-{setting}", setting)
            nbytes = path.stat().st_size
            decoded, rate = decode(path)
            y, lag = align(e.audio, decoded)
            path.unlink()
        cm = click_metrics(e.audio, y, e.clicks)
        pre += list(cm["pre"])
        peak += list(cm["peak"])
        rise += list(cm["rise"])
        snr += segsnr_frames(e.audio, y, e.cues)
        lsd += lsd_frames(e.audio, y, e.cues)
        mos += pesq_scores(e.audio, y, e.cues)
        mask = _mask(len(e.audio), e.cues)
        bw_all.append(bandwidth(band_powers(e.audio, None), band_powers(y, None), rate))
        bw_speech.append(bandwidth(band_powers(e.audio, mask), band_powers(y, mask), rate))
        size += nbytes
        secs += e.seconds
        lags.append(lag)
    return {
        "rate": rate,
        "mb_h": size / secs * 3600 / 1e6,
        "kbps": size * 8 / secs / 1000,
        "lag": lags[0] if len(set(lags)) == 1 else float("nan"),
        "pre_med": float(np.median(pre)),
        "pre_p95": float(np.percentile(pre, 95)),
        "pre_worst": float(np.max(pre)),
        "peak_med": float(np.median(peak)),
        "peak_worst": float(np.min(peak)) if -np.min(peak) > np.max(peak) else float(np.max(peak)),
        "rise_med": float(np.median(rise)),
        "rise_worst": float(np.max(np.abs(rise))),
        "segsnr": float(np.mean(snr)),
        "lsd": float(np.mean(lsd)),
        "pesq": float(np.mean(mos)) if mos else float("nan"),
        "pesq_min": float(np.min(mos)) if mos else float("nan"),
        "bw_all": min(bw_all),
        "bw_speech": min(bw_speech),
    }


def passes(r: dict[str, float], plateau: float) -> list[str]:
    """The criteria a row fails (empty: it passes)."""
    fails = []
    if r["pre_p95"] >= MAX_PRE_ECHO_DB:
        fails.append("pre-echo")
    if r["rise_worst"] > MAX_RISE_DELTA_MS:
        fails.append("rise")
    if abs(r["peak_worst"]) > MAX_PEAK_LOSS_DB:
        fails.append("peak")
    if r["bw_speech"] < MIN_SPEECH_BW_HZ:
        fails.append("band")
    if math.isnan(r["pesq"]):
        if r["segsnr"] < plateau - SEGSNR_PLATEAU_DB:
            fails.append("segSNR")
    elif r["pesq"] < MIN_PESQ:
        fails.append("PESQ")
    return fails


COLUMNS = (
    "setting",
    "kbit/s",
    "kHz",
    "MB/h",
    "delay",
    "pre-echo med / p95 / worst dB",
    "peak med / worst dB",
    "rise Δ med / worst ms",
    "segSNR dB",
    "LSD dB",
    "PESQ mean / min",
    "bw all / speech kHz",
    "verdict",
)


def row_cells(label: str, r: dict[str, float], verdict: str) -> list[str]:
    return [
        label,
        f"{r['kbps']:.1f}",
        f"{r['rate'] / 1000:g}",
        f"{r['mb_h']:.1f}",
        f"{r['lag']:.0f}",
        f"{r['pre_med']:.1f} / {r['pre_p95']:.1f} / {r['pre_worst']:.1f}",
        f"{r['peak_med']:+.2f} / {r['peak_worst']:+.2f}",
        f"{r['rise_med']:+.2f} / {r['rise_worst']:.2f}",
        f"{r['segsnr']:.1f}",
        f"{r['lsd']:.1f}",
        f"{r['pesq']:.2f} / {r['pesq_min']:.2f}",
        f"{r['bw_all'] / 1000:.2f} / {r['bw_speech'] / 1000:.2f}",
        verdict,
    ]


def table(codec: str, rows: list[tuple[str, dict[str, float]]]) -> str | None:
    """Print the codec's table (Markdown); the lowest passing setting."""
    real = [r for label, r in rows if label != "resample only"]
    plateau = max(r["segsnr"] for r in real)
    title = TITLES[codec] + (f", LAME quality {MP3_QUALITY[0]}" if codec == "mp3" else "")
    lines = [f"\n{title}", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    chosen = None
    for label, r in rows:
        if label == "resample only":
            verdict = "-"
        else:
            fails = passes(r, plateau)
            verdict = "fails " + ", ".join(fails) if fails else "pass"
            if not fails and chosen is None:
                chosen = label
        lines.append("| " + " | ".join(row_cells(label, r, verdict)) + " |")
    print("\n".join(lines))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workouts", nargs="+", default=["10x400", "tabata"])
    parser.add_argument("--start", type=float, default=885.0, help="excerpt start (s)")
    parser.add_argument("--seconds", type=float, default=120.0, help="excerpt length (s)")
    parser.add_argument("--only", choices=sorted(LADDERS), action="append")
    parser.add_argument("--mp3-quality", type=int, default=2, help="LAME's quality, 0 best .. 9 (default 2)")
    parser.add_argument("--ladder", help="settings to try instead of the ladder, e.g. 48,64,80")
    args = parser.parse_args()
    MP3_QUALITY[0] = args.mp3_quality
    if args.ladder:
        for codec in args.only or list(LADDERS):
            LADDERS[codec] = [float(v) for v in args.ladder.split(",")]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ex = excerpts(args.workouts, args.start, args.seconds, tmp)
        clicks = np.concatenate([e.clicks for e in ex])
        print(
            f"excerpts: {', '.join(f'{e.name} {args.start:g}-{args.start + e.seconds:g} s' for e in ex)}; "
            f"{len(clicks)} clicks clear of speech (and {sum(e.under_speech for e in ex)} under a cue, left out of "
            f"the click figures), {sum(len(e.cues) for e in ex)} cues; "
            f"WAV click rise time (10-90 %) {np.median([wav_rise_ms(e.audio, e.clicks) for e in ex]):.3f} ms"
        )
        choices = {}
        for codec in args.only or list(LADDERS):
            rows = []
            if codec == "opus":
                rows.append(("resample only", measure(ex, codec, None, tmp)))
            for setting in LADDERS[codec]:
                rows.append((f"{setting:g}", measure(ex, codec, setting, tmp)))
            choices[codec] = table(codec, rows)
        print("\nlowest passing setting: " + ", ".join(f"{c} {s}" for c, s in choices.items()))
        if not _have_pesq():
            print("(pesq not importable: PESQ columns are nan and the speech verdict uses the segmental SNR)")


if __name__ == "__main__":
    main()
