#!/usr/bin/env bash
# Install everything, then run ruff and the whole pytest suite against a PRIVATE PulseAudio daemon
# whose only sink is a 44.1 kHz mono float32 null sink ("cc_null"). End-to-end tests
# (tests/e2e, marker `audio_server`) play through sounddevice -> PortAudio -> ALSA "pulse" plugin
# -> this daemon, and record the sink's monitor with parec.
#
# Usage: bash scripts/test.sh [pytest args...]      e.g. bash scripts/test.sh -m audio_server -q
# Exit code: ruff's or mypy's if one of them fails, else pytest's.
#
# Isolation: the daemon lives entirely in a fresh temp dir (socket, runtime dir, state, cookie,
# config, HOME, log); clients reach it only through the PULSE_* variables exported below, so a
# developer's own sound session is never touched (nor used). Works as root with no sound card:
# PulseAudio in per-user mode only *warns* when run as root ("not intended to be run as root");
# it needs no --system, no D-Bus (warns, harmless), no realtime scheduling, no hardware.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install.sh

PY="$ROOT/.venv/bin/python"
SINK="cc_null"
RATE=44100
TMP_BASE="${TMPDIR:-/tmp}"
PREFIX="cadencecoach-pulse."

log() { printf '[test] %s\n' "$*"; }

# ---------------------------------------------------------------- lint and types
# CADENCECOACH_SKIP_LINT=1 skips both (a developer re-running a few tests); CI never sets it.
if [ -z "${CADENCECOACH_SKIP_LINT:-}" ]; then
  log "ruff check src tests benchmarks scripts"
  "$ROOT/.venv/bin/ruff" check src tests benchmarks scripts
  log "mypy (src/cadencecoach)"
  "$ROOT/.venv/bin/mypy"
fi

# ---------------------------------------------------------------- leftovers from killed runs
# A run killed with SIGKILL cannot run its trap: its daemon keeps running and its dir stays.
# Reap only what is provably ours: a dir named $PREFIX* whose owning test.sh is gone; its daemon
# is killed by the pid recorded in the dir, and only if that pid's command line names the dir.
reap_stale() {
  local d owner pid cmd
  for d in "$TMP_BASE/$PREFIX"*; do
    [ -d "$d" ] || continue
    owner="$(cat "$d/owner.pid" 2>/dev/null || true)"
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && [ "$owner" != "$$" ]; then
      continue # another test.sh is using it right now
    fi
    if [ -z "$owner" ] && [ -z "$(find "$d" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
      continue # just created by another test.sh that has not written owner.pid yet
    fi
    pid="$(cat "$d/daemon.pid" 2>/dev/null || true)"
    cmd=""
    if [ -n "$pid" ]; then
      cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    fi
    if [ -n "$cmd" ] && [[ "$cmd" == *"$d"* ]]; then
      log "stopping leftover PulseAudio daemon $pid from $d"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$d"
  done
}
reap_stale

# ---------------------------------------------------------------- private daemon
PA_DIR="$(mktemp -d "$TMP_BASE/${PREFIX}XXXXXX")"
PA_PID=""
echo "$$" >"$PA_DIR/owner.pid"
mkdir -p "$PA_DIR/runtime" "$PA_DIR/state" "$PA_DIR/home"
chmod 700 "$PA_DIR" "$PA_DIR/runtime"

# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
  local code=$?
  if [ -n "$PA_PID" ] && kill -0 "$PA_PID" 2>/dev/null; then
    kill "$PA_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PA_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PA_PID" 2>/dev/null || true
    wait "$PA_PID" 2>/dev/null || true
  fi
  rm -rf "$PA_DIR"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Daemon config (pulse-daemon.conf(5)), found through $PULSE_CONFIG.
# Resampling: there is none anywhere on the test path when the player opens 44100 Hz.
#  - The sink is created at rate=44100 format=float32le channels=1 (module args below).
#  - PulseAudio may *reconfigure an idle sink* to another rate: by default it switches to
#    alternate-sample-rate (48000) when a 48 kHz stream arrives (observed with the null sink,
#    even with avoid-resampling=no). alternate-sample-rate=44100 pins the sink at 44100; a
#    stream at another rate is then resampled into the sink (speex) instead of the sink (and its
#    monitor, which parec records) silently changing rate.
#  - avoid-resampling=yes would do the opposite (follow the stream's rate *and* format): keep it off.
#  - The ALSA "pulse" plugin passes the rate/format PortAudio asks for straight to the server
#    (no ALSA `plug`/`rate` layer), and parec records the monitor at the sink's own rate.
# Scheduling: as a desktop PulseAudio does (its defaults): the sink's I/O thread SCHED_RR at
# realtime-priority 5, the main thread at nice -11 -- where permitted (root here: directly; else
# rtkit over D-Bus, which this daemon does not have: it warns and runs at normal priority, as before).
# At normal priority its threads wait like any other on a busy machine (up to ~90 ms seen with both
# cores loaded, against the player's ~120 ms of buffer; issue 10): the e2e tests measure the player
# against a server that keeps time, not against a starved one.
cat >"$PA_DIR/daemon.conf" <<EOF
daemonize = no
exit-idle-time = -1
realtime-scheduling = yes
realtime-priority = 5
high-priority = yes
nice-level = -11
flat-volumes = no
avoid-resampling = no
default-sample-format = float32le
default-sample-rate = $RATE
alternate-sample-rate = $RATE
default-sample-channels = 1
EOF

# Client config (pulse-client.conf(5)), found through $PULSE_CLIENTCONFIG: never autospawn a
# daemon in the developer's session if ours dies.
cat >"$PA_DIR/client.conf" <<EOF
autospawn = no
EOF

export XDG_RUNTIME_DIR="$PA_DIR/runtime"
export PULSE_RUNTIME_PATH="$PA_DIR/runtime/pulse"
export PULSE_STATE_PATH="$PA_DIR/state"
export PULSE_CONFIG="$PA_DIR/daemon.conf"
export PULSE_CLIENTCONFIG="$PA_DIR/client.conf"
export PULSE_COOKIE="$PA_DIR/cookie"
export PULSE_SERVER="unix:$PA_DIR/runtime/native"
export PULSE_SINK="$SINK"
export PULSE_SOURCE="$SINK.monitor"

log "starting private PulseAudio daemon in $PA_DIR"
# -n: no default.pa (no hardware detection, no X11/D-Bus/bluetooth modules, no state restore);
# only the two modules we load. HOME points into the temp dir so the daemon never reads or
# writes ~/.config/pulse.
HOME="$PA_DIR/home" pulseaudio \
  -n \
  --daemonize=no \
  --system=no \
  --exit-idle-time=-1 \
  --disallow-exit \
  --use-pid-file=no \
  --realtime=yes \
  --high-priority=yes \
  --log-target="file:$PA_DIR/pulseaudio.log" \
  --load="module-native-protocol-unix socket=$PA_DIR/runtime/native auth-anonymous=1 auth-cookie-enabled=0" \
  --load="module-null-sink sink_name=$SINK rate=$RATE format=float32le channels=1 sink_properties=device.description=cadencecoach-test-null-sink" \
  </dev/null >/dev/null 2>&1 &
PA_PID=$!
echo "$PA_PID" >"$PA_DIR/daemon.pid"

ready=""
for _ in $(seq 100); do
  if ! kill -0 "$PA_PID" 2>/dev/null; then
    break
  fi
  if pactl info >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  log "PulseAudio did not come up; its log:"
  cat "$PA_DIR/pulseaudio.log" >&2 || true
  exit 1
fi
pactl set-default-sink "$SINK"
pactl set-default-source "$SINK.monitor"
log "PulseAudio $(pactl info | sed -n 's/^Server Version: //p') ready at $PULSE_SERVER:" \
  "$(pactl list short sinks | grep -F "$SINK" | cut -f2,4 | tr '\t' ' ')"

export CADENCECOACH_TEST_SINK="$SINK"

# ---------------------------------------------------------------- tests
# With no arguments (CI, the fresh-machine check), the suite runs as two pytest processes side by side, one
# per core: the real-time tests through the PulseAudio server (`-m audio_server`, mostly waiting on the clock)
# with the CPU-heavy ones that are marked to keep them company (`beside_audio`: the recognizer and property
# tests, chosen so that the two take about as long), and everything else. The second process gets no audio server at all (PULSE_SERVER names none, no test sink), so
# nothing it runs can play into the sink the real-time tests record: a test there that needed it would fail
# or skip, visibly. CADENCECOACH_TEST_SERIAL=1, or any pytest argument, runs one process as before.
if [ "$#" -eq 0 ] && [ "${CADENCECOACH_TEST_SERIAL:-0}" != 1 ]; then
  AUDIO_LOG="$PA_DIR/pytest-audio.log"
  log "pytest -m 'audio_server or beside_audio' (log: $AUDIO_LOG), beside pytest -m 'not audio_server and not beside_audio'"
  set +e
  "$PY" -m pytest -m "audio_server or beside_audio" >"$AUDIO_LOG" 2>&1 &
  audio_pid=$!
  env PULSE_SERVER="unix:$PA_DIR/no-server-here" CADENCECOACH_TEST_SINK= \
    "$PY" -m pytest -m "not audio_server and not beside_audio"
  rest_code=$?
  wait "$audio_pid"
  audio_code=$?
  set -e
  log "pytest (audio_server, beside_audio):"
  cat "$AUDIO_LOG"
  log "pytest exit codes: $rest_code (the rest), $audio_code (audio_server, beside_audio)"
  code=$rest_code
  [ "$code" -ne 0 ] || code=$audio_code
  exit "$code"
fi
log "pytest $*"
set +e
"$PY" -m pytest "$@"
code=$?
set -e
log "pytest exit code $code"
exit "$code"
