#!/usr/bin/env bash
# Install everything cadencecoach needs on Debian 12 (run as root, or with sudo available):
#   1. system packages via apt-get (skipped when dpkg-query says they are all installed);
#   2. a virtualenv at .venv with `pip install -e '.[dev,all]'` (skipped when the hash of
#      pyproject.toml stored in .venv matches and the venv's python still works).
# Idempotent and quick on the second run. Shared by scripts/main.sh and scripts/test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
export PIP_NO_INPUT=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

# What each package is for:
#   libportaudio2       PortAudio, loaded by the `sounddevice` wheel (real-time output)
#   espeak-ng           speech synthesiser driven by pyttsx3 (also pulls libespeak-ng1)
#   pulseaudio          sound server; tests run a private instance with a null sink;
#                       also ships /etc/alsa/conf.d/99-pulse.conf, which makes ALSA's
#                       "default" device route to PulseAudio whenever a server answers
#   pulseaudio-utils    pactl (control), parec (record the null sink's monitor in tests)
#   libsndfile1         libsndfile for `soundfile`
#   libatomic1          GCC's atomics library: the `pedalboard` wheel ([music] extra: Rubber Band
#                       stretching) links against libatomic.so.1 (found by scripts/check_libs.py in
#                       the fresh-root check; a machine with a compiler has it, a fresh one does not)
#   libasound2-plugins  ALSA's "pulse" PCM plugin, so PortAudio (ALSA host API) reaches PulseAudio
#   python3, python3-venv   `python3 -m venv` (Debian splits ensurepip into python3-venv)
#   ca-certificates     HTTPS for pip on a minimal image
#   klick               the C++ click-track exporter benchmarks/bench_render.py compares against
#   lame, ffmpeg        the encoders benchmarks/bench_encode.py times `render` against (the issue's anchors),
#                       and ffprobe, with which the tests read chapters and tags as players do
#   dbus                dbus-daemon and dbus-send: the media keys (MPRIS) reach a live run over a session
#                       bus; the tests start a private one and press the buttons with dbus-send
APT_PACKAGES=(
  libportaudio2
  espeak-ng
  pulseaudio
  pulseaudio-utils
  libsndfile1
  libatomic1
  libasound2-plugins
  python3
  python3-venv
  ca-certificates
  klick
  lame
  ffmpeg
  dbus
)

log() { printf '[install] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo env DEBIAN_FRONTEND=noninteractive "$@"
  else
    echo "[install] need root (or sudo) to run: $*" >&2
    return 1
  fi
}

# Serialise concurrent installs (e.g. main.sh and test.sh started together) when flock exists.
if command -v flock >/dev/null 2>&1; then
  LOCK_FILE="${TMPDIR:-/tmp}/cadencecoach-install-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
  exec 9>"$LOCK_FILE"
  flock 9
fi

# ---------------------------------------------------------------- system packages
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  if [ "${status:0:2}" != "ii" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "system packages already installed"
fi

# ---------------------------------------------------------------- virtualenv
VENV="$ROOT/.venv"
STAMP="$VENV/.cadencecoach-install-stamp"

if ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  log "creating virtualenv at .venv"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi

EXTRAS="dev,all"
want_stamp="$( (sha256sum pyproject.toml; echo "$EXTRAS"; "$VENV/bin/python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
have_stamp="$(cat "$STAMP" 2>/dev/null || true)"

if [ "$want_stamp" = "$have_stamp" ]; then
  log "virtualenv up to date (pyproject.toml unchanged)"
else
  log "pip install -e '.[$EXTRAS]'"
  rm -f "$STAMP"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
  printf '%s\n' "$want_stamp" >"$STAMP"
fi

log "done"
