"""The device side of a live run: :class:`StreamOpener` (the stream opened again after a loss or underflows),
:func:`is_bluetooth` (through a fake ``pactl`` on PATH) and :class:`QuietStderr` (what C code writes to
descriptor 2 kept off the display, in a child process)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadencecoach.errors import AudioUnavailableError
from cadencecoach.sinks.live import devices
from cadencecoach.sinks.live.devices import (
    RENDER_HINT,
    OutputDevice,
    StreamOpener,
    is_bluetooth,
    parse_sinks,
    raised_latency,
    stream_factory,
)

# ================================================================================================ a fake PortAudio


class FakeStream:
    def __init__(self, sd: FakeSD, kwargs: dict[str, Any]) -> None:
        self.sd = sd
        self.kwargs = kwargs
        lat = kwargs["latency"]
        self.latency = {"low": 0.01, "high": 0.09}.get(lat, lat) if isinstance(lat, str) else float(lat)
        self.aborted = self.closed = False

    def abort(self) -> None:
        with self.sd.call("abort"):
            self.aborted = True

    def close(self) -> None:
        with self.sd.call("close"):
            if self.sd.close_hangs.is_set():
                self.sd.release.wait(10)
            self.closed = True


class FakeSD:
    """``sounddevice`` with a device list that `after_init` may change at each ``_initialize``; opening a device
    does what `behaviour` says for its name ("ok", "fail", "hang": until `release` is set). Every call checks
    that no other call is inside it (PortAudio is never entered from two threads at once)."""

    def __init__(self, names: list[str], default: str, hostapi: str = "ALSA") -> None:
        self.names = list(names)
        self.default = default
        self.hostapi = hostapi
        self.behaviour: dict[str, str] = {}
        self.after_init: list[list[str]] = []  # device lists the next initialisations give (then unchanged)
        self.log: list[str] = []
        self.opened: list[dict[str, Any]] = []
        self.streams: list[FakeStream] = []
        self.terminated = 0
        self.initialised = 0
        self._initialized = 1
        self.init_fails = False
        self.inside = 0
        self.overlaps = 0
        self.release = threading.Event()
        self.close_hangs = threading.Event()
        self._guard = threading.Lock()

    class _Call:
        def __init__(self, sd: FakeSD, what: str) -> None:
            self.sd, self.what = sd, what

        def __enter__(self) -> None:
            with self.sd._guard:
                self.sd.inside += 1
                if self.sd.inside > 1:
                    self.sd.overlaps += 1
                self.sd.log.append(self.what)

        def __exit__(self, *exc: object) -> None:
            with self.sd._guard:
                self.sd.inside -= 1

    def call(self, what: str) -> FakeSD._Call:
        return FakeSD._Call(self, what)

    def query_devices(self, device: Any = None, kind: str | None = None) -> Any:
        if kind == "output":
            if self.default not in self.names:
                raise ValueError("no default output")
            return {"index": self.names.index(self.default), "name": self.default}
        return [
            {"index": i, "name": n, "max_output_channels": 2, "default_samplerate": 44100.0, "hostapi": 0}
            for i, n in enumerate(self.names)
        ]

    def query_hostapis(self) -> Any:
        return [{"name": self.hostapi}]

    def _terminate(self) -> None:
        with self.call("terminate"):
            self.terminated += 1
            self._initialized -= 1

    def _initialize(self) -> None:
        with self.call("initialize"):
            if self.init_fails:
                raise OSError("Error initializing PortAudio")
            self.initialised += 1
            self._initialized += 1
            if self.after_init:
                self.names = self.after_init.pop(0)

    def OutputStream(self, **kwargs: Any) -> FakeStream:  # sounddevice's name
        with self.call(f"open {kwargs['device']}"):
            name = self.names[kwargs["device"]]
            what = self.behaviour.get(name, "ok")
            if what == "hang":
                self.release.wait(10)
            if what == "fail":
                raise RuntimeError(f"Error opening OutputStream: {name} refuses")
            stream = FakeStream(self, kwargs)
            self.opened.append(kwargs)
            self.streams.append(stream)
            return stream


def device(sd: FakeSD, name: str) -> OutputDevice:
    return next(d for d in devices.output_devices(sd) if d.name == name)


def opener(sd: FakeSD, name: str = "pulse", latency: str | float = 0.1, **kw: Any) -> StreamOpener:
    kw.setdefault("probe", None)
    return StreamOpener(sd, device(sd, name), 44100, latency, 256, **kw)


def callback(*args: Any) -> None:
    return None


@pytest.fixture(autouse=True)
def _no_leftover_hangs() -> Any:
    yield
    deadline = time.monotonic() + 5
    while devices._PA_LOCK.locked() and time.monotonic() < deadline:  # an abandoned call finishing
        time.sleep(0.01)
    assert not devices._PA_LOCK.locked()


# ================================================================================================ StreamOpener


def test_the_first_open_is_todays_stream() -> None:
    sd = FakeSD(["hw0", "pulse", "default"], default="default")
    op = stream_factory(sd, device(sd, "pulse"), 48000, "low", 512)
    assert isinstance(op, StreamOpener)
    stream = op(callback)
    assert sd.opened == [dict(samplerate=48000, blocksize=512, device=1, channels=2, dtype="float32",
                              latency="low", callback=callback)]  # fmt: skip
    assert (op.described, op.latency, op.reopens) == ("same device", "low", 0)
    assert sd.terminated == sd.initialised == 0 and not stream.closed


def test_a_lost_stream_is_closed_then_portaudio_restarted_and_the_device_found_again_by_name() -> None:
    sd = FakeSD(["hw0", "pulse", "default"], default="default")
    op = opener(sd, "pulse")
    old = op(callback)
    sd.after_init = [["hdmi", "hw0", "usb", "default", "pulse"]]  # the server restarted: a new list
    new = op.reopen(callback, reason="stopped", old=old)
    assert old.aborted and old.closed
    assert sd.log[1:] == ["abort", "close", "terminate", "initialize", "open 4"]  # closed before terminate
    assert (sd.terminated, sd.initialised) == (1, 1)
    assert new is sd.streams[-1] and new.kwargs["device"] == 4 and new.kwargs["callback"] is callback
    assert (op.described, op.device.index, op.reopens, op.failures) == ("same device", 4, 1, [])
    assert sd.overlaps == 0


def test_old_defaults_to_the_stream_it_opened_last() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse")
    first = op(callback)
    second = op.reopen(callback, reason="error")
    assert first.closed and not second.closed
    op.reopen(callback, reason="stalled")
    assert second.closed


def test_the_default_output_when_the_device_is_gone_or_refuses() -> None:
    sd = FakeSD(["hw0", "bt-headset", "default"], default="default")
    op = opener(sd, "bt-headset")
    op(callback)
    sd.after_init = [["hw0", "default"]]  # the headset is gone
    stream = op.reopen(callback, reason="stopped")
    assert stream.kwargs["device"] == 1 and op.described == "default output 'default'"
    sd.after_init = [["bt-headset", "hw0", "default"]]  # it is back: the device the run began on comes first
    stream = op.reopen(callback, reason="stopped")
    assert stream.kwargs["device"] == 0 and op.described == "same device"
    sd.behaviour["bt-headset"] = "fail"
    stream = op.reopen(callback, reason="error")
    assert stream.kwargs["device"] == 2 and op.described == "default output 'default'"
    assert op.reopens == 3 and sd.overlaps == 0


def test_nothing_that_opens_is_audio_unavailable_with_the_reasons() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse")
    op(callback)
    sd.behaviour.update(pulse="fail", default="fail")
    with pytest.raises(AudioUnavailableError) as info:
        op.reopen(callback, reason="stopped")
    assert info.value.exit_code == 3 and RENDER_HINT in str(info.value)
    assert "pulse refuses" in str(info.value) and "default refuses" in str(info.value)
    assert len(op.failures) == 2 and op.reopens == 0
    sd.after_init = [[]]  # no device at all
    with pytest.raises(AudioUnavailableError, match="no output device"):
        op.reopen(callback, reason="stopped")
    sd.init_fails = True
    sd._initialized = 0  # the last initialisation failed: not terminated again (its count would go negative)
    terminated = sd.terminated
    with pytest.raises(AudioUnavailableError, match="does not start again"):
        op.reopen(callback, reason="stopped")
    assert sd.terminated == terminated
    sd.init_fails = False
    sd.after_init = [["pulse", "default"]]
    sd.behaviour.clear()
    assert op.reopen(callback, reason="stopped").kwargs["device"] == 0  # back once PortAudio starts again


def test_a_hanging_open_is_abandoned_within_the_bound_and_nothing_enters_portaudio_meanwhile() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse", attempt_s=0.3, reopen_s=2.0)
    op(callback)
    sd.behaviour["pulse"] = "hang"
    start = time.monotonic()
    with pytest.raises(AudioUnavailableError, match=r"did not return within 0\.3 s"):
        op.reopen(callback, reason="stalled")
    took = time.monotonic() - start
    assert 0.25 < took < 0.8, took
    start = time.monotonic()
    with pytest.raises(AudioUnavailableError, match="never returned"):  # still inside: not entered again
        op.reopen(callback, reason="stalled")
    assert time.monotonic() - start < 0.8
    assert sd.overlaps == 0
    sd.behaviour.clear()
    sd.release.set()  # the hung call returns: the stream it opened late is closed, nobody gets it
    deadline = time.monotonic() + 5
    while devices._PA_LOCK.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    late = sd.streams[-1]
    assert late.closed
    stream = op.reopen(callback, reason="stalled")
    assert stream is not late and stream.kwargs["device"] == 0 and not stream.closed
    assert sd.overlaps == 0


def test_a_hanging_close_of_the_lost_stream_is_abandoned_and_portaudio_left_alone() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse", close_s=0.2)
    old = op(callback)
    sd.close_hangs.set()
    start = time.monotonic()
    with pytest.raises(AudioUnavailableError, match="close the lost stream did not return"):
        op.reopen(callback, reason="stopped", old=old)
    assert time.monotonic() - start < 0.6
    assert sd.terminated == 0  # never re-initialised while the close is inside PortAudio
    sd.close_hangs.clear()
    sd.release.set()
    deadline = time.monotonic() + 5
    while devices._PA_LOCK.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert op.reopen(callback, reason="stopped", old=old).kwargs["device"] == 0  # the same stream again: fine


def test_the_whole_reopen_is_bounded() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    slow = []

    def probe(timeout: float) -> None:
        slow.append(timeout)
        time.sleep(0.5)

    op = opener(sd, "pulse", attempt_s=2.0, reopen_s=0.7, probe=probe)
    op(callback)
    sd.behaviour["pulse"] = "hang"
    start = time.monotonic()
    with pytest.raises(AudioUnavailableError):
        op.reopen(callback, reason="stopped")
    assert time.monotonic() - start < 1.0
    assert slow and slow[0] <= devices.PROBE_AGAIN_S
    sd.release.set()


def test_a_probe_that_fails_leaves_portaudio_as_it_is() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse", probe=lambda timeout: "the audio back-end did not start within 1.5 s")
    op(callback)
    with pytest.raises(AudioUnavailableError, match="did not start within"):
        op.reopen(callback, reason="stopped")
    assert sd.terminated == sd.initialised == 0


def test_the_real_probe_runs_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "_PROBE_CODE", "pass")
    assert devices.probe_again(5.0) is None
    monkeypatch.setattr(devices, "_PROBE_CODE", "import os; os.abort()")
    assert "SIGABRT" in (devices.probe_again(5.0) or "")
    monkeypatch.setattr(devices, "_PROBE_CODE", "import time; time.sleep(30)")
    start = time.monotonic()
    assert "did not start within 0.3 s" in (devices.probe_again(0.3) or "")
    assert time.monotonic() - start < 2


def test_underflows_raise_the_latency_step_by_step_on_the_same_device() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse", latency="low")
    op(callback)
    seen = []
    for _ in range(5):
        stream = op.reopen(callback, reason="underflow")
        seen.append(stream.kwargs["latency"])
        assert stream.kwargs["device"] == 0
    assert seen == ["high", 0.18, 0.36, 0.5, 0.5]  # "high" reports 0.09 s here
    assert op.latency == 0.5 and sd.terminated == 0  # nothing was lost: PortAudio left as it is
    op.reopen(callback, reason="stopped")
    assert sd.opened[-1]["latency"] == 0.5 and sd.terminated == 1  # kept for later reopens


def test_an_underflowing_device_that_refuses_to_reopen_is_handled_like_a_loss() -> None:
    sd = FakeSD(["pulse", "default"], default="default")
    op = opener(sd, "pulse", latency=0.1)
    op(callback)
    sd.behaviour["pulse"] = "fail"
    stream = op.reopen(callback, reason="underflow")
    assert stream.kwargs["device"] == 1 and stream.kwargs["latency"] == 0.2
    assert op.described == "default output 'default'" and sd.terminated == 1


def test_a_bad_reason_is_a_programming_error() -> None:
    sd = FakeSD(["pulse"], default="pulse")
    with pytest.raises(ValueError, match="reason"):
        opener(sd, "pulse").reopen(callback, reason="lost")


def test_raised_latency_never_goes_down() -> None:
    for start in ("low", "high", 0.01, 0.1, 0.3, 0.5, 0.8):
        for reported in (None, 0.0, 0.005, 0.1, 0.6):
            after = raised_latency(start, reported)
            if isinstance(start, float):
                assert isinstance(after, float) and after >= min(start, 0.5) and after <= max(start, 0.5)


# ================================================================================================ is_bluetooth

SINKS = """\
Sink #0
\tState: SUSPENDED
\tName: alsa_output.pci-0000_00_1f.3.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tDriver: module-alsa-card.c
\tVolume: front-left: 65536 / 100% / 0.00 dB
\t        balance 0.00
\tProperties:
\t\tdevice.bus = "pci"
\t\tdevice.description = "Built-in Audio Analog Stereo"
\tFormats:
\t\tpcm

Sink #1
\tState: RUNNING
\tName: bluez_sink.00_1B_66_AA_BB_CC.a2dp_sink
\tDescription: Momentum
\tProperties:
\t\tbluetooth.protocol = "a2dp_sink"
\t\tdevice.description = "Momentum"
\t\tdevice.api = "bluez"
\t\tdevice.bus = "bluetooth"
\tFormats:
\t\tpcm

Sink #2
\tName: cc_null
\tDescription: Null Output
\tProperties:
\t\tdevice.description = "Null Output"
\t\tdevice.class = "abstract"

Sink #3
\tName: headphones_by_api
\tProperties:
\t\tdevice.api = "bluez5"
"""


def fake_pactl(tmp_path: Path, *, default: str = "cc_null", sinks: str = SINKS, hang: bool = False,
               old: bool = False, down: bool = False) -> dict[str, str]:  # fmt: skip
    """A PATH whose only ``pactl`` answers from canned text (only in the C locale, like a translated pactl
    would not be parsed otherwise); `old`: no ``get-default-sink``; `down`: no server."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (tmp_path / "sinks.txt").write_text(sinks)
    script = f"""\
        #!/bin/sh
        echo "$@" >> "{tmp_path}/calls.txt"
        {"exec sleep 30" if hang else ""}
        {"echo 'Connection failure: Connection refused' >&2; exit 1" if down else ""}
        [ "$LC_ALL" = C ] || {{ echo 'Ziel #0'; exit 0; }}
        case "$1 $2" in
          "list sinks") cat "{tmp_path}/sinks.txt" ;;
          "get-default-sink "*) {"echo 'No valid command specified.' >&2; exit 1" if old else f"echo {default}"} ;;
          "info "*) printf 'Server String: /run/pulse/native\\nDefault Sink: {default}\\nDefault Source: x\\n' ;;
          *) exit 1 ;;
        esac
        """
    path = bindir / "pactl"
    path.write_text(textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin", "LC_ALL": "de_DE.UTF-8", "HOME": str(tmp_path)}


PULSE = OutputDevice(1, "pulse", 32, 44100.0, "ALSA", False)
DEFAULT = OutputDevice(2, "default", 32, 44100.0, "ALSA", True)


def test_the_default_sink_decides(tmp_path: Path) -> None:
    assert is_bluetooth(PULSE, fake_pactl(tmp_path, default="cc_null")) is False
    assert is_bluetooth(DEFAULT, fake_pactl(tmp_path, default="bluez_sink.00_1B_66_AA_BB_CC.a2dp_sink")) is True
    assert is_bluetooth(DEFAULT, fake_pactl(tmp_path, default="alsa_output.pci-0000_00_1f.3.analog-stereo")) is False
    assert is_bluetooth(PULSE, fake_pactl(tmp_path, default="headphones_by_api")) is True  # device.api bluez5


def test_pulse_sink_wins_over_the_default_when_the_server_has_it(tmp_path: Path) -> None:
    env = fake_pactl(tmp_path, default="cc_null")
    assert is_bluetooth(PULSE, {**env, "PULSE_SINK": "bluez_sink.00_1B_66_AA_BB_CC.a2dp_sink"}) is True
    assert is_bluetooth(PULSE, {**env, "PULSE_SINK": "no_such_sink"}) is False  # the server plays on the default


def test_an_old_pactl_without_get_default_sink_is_asked_for_its_info(tmp_path: Path) -> None:
    env = fake_pactl(tmp_path, default="bluez_sink.00_1B_66_AA_BB_CC.a2dp_sink", old=True)
    assert is_bluetooth(PULSE, env) is True
    assert (tmp_path / "calls.txt").read_text().splitlines() == ["list sinks", "get-default-sink", "info"]


def test_a_bluez_name_alone_is_enough(tmp_path: Path) -> None:
    env = fake_pactl(tmp_path, default="bluez_output.00_1B_66_AA_BB_CC.1", sinks="")  # PipeWire's name, unlisted
    assert is_bluetooth(PULSE, env) is True


@pytest.mark.parametrize("case", ["no pactl", "no server", "not a server device", "unknown sink"])
def test_unknown_is_none(tmp_path: Path, case: str) -> None:
    env = fake_pactl(tmp_path, down=case == "no server", default="not_listed")
    if case == "no pactl":
        (tmp_path / "empty").mkdir()
        env["PATH"] = str(tmp_path / "empty")
    dev = OutputDevice(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)", 2, 48000.0, "ALSA", False)
    assert is_bluetooth(dev if case == "not a server device" else PULSE, env) is None


def test_a_hanging_pactl_is_none_in_time(tmp_path: Path) -> None:
    start = time.monotonic()
    assert is_bluetooth(PULSE, fake_pactl(tmp_path, hang=True)) is None
    assert time.monotonic() - start < devices.PACTL_TIMEOUT_S + 1.0


def test_is_bluetooth_never_raises_or_prints(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    env = fake_pactl(tmp_path, sinks="\x00garbage\nSink #\n\tName:\n\t\tx = \n", down=False)
    assert is_bluetooth(PULSE, env) in (None, False)
    assert is_bluetooth(PULSE, {"PATH": "\x00"}) is None
    assert capfd.readouterr() == ("", "")


sink_names = st.from_regex(r"[a-z][a-z0-9_.\-]{0,30}", fullmatch=True)
prop_keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True)
prop_values = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters='"'), max_size=20)


@given(st.dictionaries(sink_names, st.dictionaries(prop_keys, prop_values.map(str.strip), max_size=5), max_size=4))
def test_parse_sinks_reads_back_what_pactl_prints(sinks: dict[str, dict[str, str]]) -> None:
    text = ""
    for n, (name, props) in enumerate(sinks.items()):
        text += f"Sink #{n}\n\tState: IDLE\n\tName: {name}\n\tVolume: mono: 100%\n\t        balance 0.00\n"
        text += "\tProperties:\n"
        text += "".join(f'\t\t{k} = "{v}"\n' for k, v in props.items())
        text += "\tFormats:\n\t\tpcm\n\n"
    parsed = parse_sinks(text)
    assert set(parsed) == set(sinks)
    for name, props in sinks.items():
        assert {k: v for k, v in parsed[name].items() if k} == props
        assert parsed[name][""] == name


# ================================================================================================ QuietStderr

CHILD = """
import ctypes, json, os, sys, threading, time
from cadencecoach.sinks.live.quiet import QuietStderr

libc = ctypes.CDLL(None)
def c_write(text):
    data = text.encode()
    libc.write(2, data, len(data))

mode = sys.argv[1]
q = QuietStderr()
original = sys.stderr
try:
    with q:
        c_write("ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred\\n")
        os.write(2, b"Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736\\n")
        t = threading.Thread(target=lambda: [c_write(f"jack line {i}\\n") for i in range(120)])
        t.start(); t.join()
        print("warning: ours, while playing", file=sys.stderr)
        sys.stderr.write("summary line\\n")
        if mode == "raise":
            raise RuntimeError("boom")
        if mode == "interrupt":
            raise KeyboardInterrupt
        time.sleep(0.1)
except (RuntimeError, KeyboardInterrupt) as exc:
    print(f"caught {type(exc).__name__}", file=sys.stderr)
q.restore()  # idempotent
c_write("after: C output visible again\\n")
print("after: python stderr", file=sys.stderr)
print(json.dumps({"captured": q.captured, "count": q.count, "restored": sys.stderr is original,
                  "active": q.active}))
"""


def run_child(mode: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("mode", ["plain", "raise", "interrupt"])
def test_c_writes_to_fd_2_are_captured_while_python_stderr_still_arrives(mode: str) -> None:
    r = run_child(mode, CADENCECOACH_SHOW_AUDIO_ERRORS="")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    err = r.stderr
    assert "underrun occurred" not in err and "pa_linux_alsa" not in err and "jack line" not in err
    assert "warning: ours, while playing" in err and "summary line" in err
    assert err.index("summary line") < err.index("after: C output visible again")
    assert "after: C output visible again" in err and "after: python stderr" in err
    if mode != "plain":
        assert f"caught {'RuntimeError' if mode == 'raise' else 'KeyboardInterrupt'}" in err
    assert out["restored"] is True and out["active"] is False
    assert out["count"] == 122
    assert len(out["captured"]) == 50 and out["captured"][-1] == "jack line 119"  # the last 50


def test_the_first_lines_are_kept_when_few() -> None:
    code = textwrap.dedent(
        """
        import os
        from cadencecoach.sinks.live.quiet import QuietStderr
        with QuietStderr() as q:
            os.write(2, b"ALSA lib pcm.c: underrun occurred\\npartial without newline")
        print(q.captured, q.count)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "CADENCECOACH_SHOW_AUDIO_ERRORS": "0"})  # fmt: skip
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.strip() == "['ALSA lib pcm.c: underrun occurred', 'partial without newline'] 2"


def test_show_audio_errors_keeps_everything_visible() -> None:
    r = run_child("plain", CADENCECOACH_SHOW_AUDIO_ERRORS="1")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[-1])
    assert "underrun occurred" in r.stderr and "jack line 119" in r.stderr and "summary line" in r.stderr
    assert out["captured"] == [] and out["count"] == 0


def test_no_fd_2_at_all_is_a_no_op() -> None:
    code = "import os; os.close(2)\nfrom cadencecoach.sinks.live.quiet import QuietStderr\n"
    code += "with QuietStderr() as q:\n    pass\nprint(q.active)"
    r = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False"
