#!/usr/bin/env bash
# Install everything, render the 10x400 workout to out/10x400.mp3 and, when this machine has an
# audio output, play it live. Usage: bash scripts/main.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/install.sh

CC="$ROOT/.venv/bin/cadencecoach"
WORKOUT="10x400"
OUT="out/$WORKOUT.mp3"

mkdir -p "$(dirname "$OUT")"
echo "[main] rendering $WORKOUT -> $OUT"
"$CC" render "$WORKOUT" -o "$OUT"

# Is there an audio output PortAudio can open? (None on a headless box with no sound server:
# PortAudio then lists no device at all and query_devices(kind="output") raises.)
has_output() {
  "$ROOT/.venv/bin/python" - <<'PY' 2>/dev/null
import sys

try:
    import sounddevice as sd

    dev = sd.query_devices(kind="output")
    sys.exit(0 if dev and dev["max_output_channels"] > 0 else 1)
except Exception:
    sys.exit(1)
PY
}

if has_output; then
  echo "[main] audio output found: playing $WORKOUT live (cadencecoach run $WORKOUT)"
  exec "$CC" run "$WORKOUT"
else
  echo "[main] no audio output on this machine; the workout is ready in $ROOT/$OUT"
  echo "[main] copy it to your phone, or on a machine with a sound server play it with:  paplay $OUT"
  echo "[main] (paplay comes with pulseaudio-utils, installed above), or coach live:    .venv/bin/cadencecoach run $WORKOUT"
fi
