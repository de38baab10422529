#!/usr/bin/env bash
# The fresh-machine check: run the README's two set-up commands on a truly fresh Debian 12.
#
#   bash scripts/fresh-check.sh [--include-changes] [--keep] [--only main|test] [-- PYTEST_ARGS...]
#
# 1. Bootstraps a clean Debian 12 minbase root (`debootstrap --variant=minbase bookworm`) from the
#    Debian mirror named in this machine's apt sources (the pristine bootstrap is cached, see below).
# 2. Copies in only this machine's network configuration: the resolver (/etc/resolv.conf, /etc/hosts),
#    the apt sources of Debian's own suites (bookworm*) and the apt.conf.d files that set Acquire::
#    options (proxies, validity checks), the local CA certificates the network needs
#    (/usr/local/share/ca-certificates), and pip's global configuration (/etc/pip.conf, /etc/xdg/pip).
#    Nothing else from this machine: no compiler, no system libraries, no user pip config, no venv.
# 3. Clones the checkout (HEAD; with --include-changes also the uncommitted changes and untracked files)
#    to /root/cadencecoach inside the root, with a read-only copy of ../shared beside it when there is one
#    (the layout CI uses).
# 4. In a chroot with /proc, /sys, /dev, /dev/pts and /dev/shm bound, and a clean environment, runs
#       cd /root/cadencecoach && bash scripts/main.sh
#       cd /root/cadencecoach && bash scripts/test.sh
#    then checks every compiled extension module in the venv with ldd (scripts/check_libs.py).
#    Fails if any of them fails; prints the time each took.
# 5. Always unmounts everything and removes the root (also on failure, Ctrl-C, SIGTERM, SIGHUP); it
#    never deletes anything while a mount is still in place below the root.
#
# Cache (between runs on the same machine; $CADENCECOACH_FRESH_CACHE, default /var/cache/cadencecoach-fresh):
#   - the pristine debootstrap output (rebuilt when older than 7 days or when the mirror changes);
#     every run works on a copy, so nothing installed by a run survives into the next;
#   - apt's downloaded .deb files and pip's HTTP cache: downloads only. pip's cache of wheels it
#     *built* is not kept, so a package that needs a compiler to build still fails on the fresh root.
#   None of these can hide a missing install step: the packages still have to be installed by
#   scripts/install.sh on a root that has none of them.
#
# Needs root and debootstrap (installed with apt-get when missing). Exit code: 0 when both commands
# and the library check pass, 1 otherwise (130/143/129 when interrupted).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CADENCECOACH_FRESH_CACHE:-/var/cache/cadencecoach-fresh}"
WORK_BASE="${CADENCECOACH_FRESH_WORKDIR:-/var/tmp}"
SUITE=bookworm
MAX_BASE_AGE_DAYS=7

include_changes=""
keep=""
only=""
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --include-changes) include_changes=1 ;;
    --keep) keep=1 ;;
    --only) only="${2:?--only needs main or test}"; shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$only" in "" | main | test) ;; *) echo "fresh-check: --only takes main or test" >&2; exit 2 ;; esac

log() { printf '[fresh-check] %s\n' "$*"; }
die() { printf '[fresh-check] FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and mounts)"
command -v git >/dev/null || die "needs git (to clone the checkout)"

export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi

# ---------------------------------------------------------------- this machine's Debian mirror
# The first URI of an active apt source that carries the suite itself (deb822 .sources or one-line .list).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uri = ""; ok = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/ && $i ~ /(^|[ \t])deb([ \t]|$)/) deb = 1
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (deb && ok && uri != "") { print uri; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f"
  done
}
MIRROR="$(debian_mirror | head -n 1)"
[ -n "$MIRROR" ] || MIRROR="http://deb.debian.org/debian"
log "Debian mirror: $MIRROR"

# ---------------------------------------------------------------- the root and its cleanup
mkdir -p "$CACHE" "$CACHE/apt-archives/partial" "$CACHE/pip-http" "$WORK_BASE"
R="$(mktemp -d "$WORK_BASE/cadencecoach-fresh.XXXXXX")"
MOUNTED=()

mounts_below() { awk -v r="$R/" 'index($2 "/", r) == 1 { print $2 }' /proc/mounts; }

# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
  local code=$? p i left
  trap - EXIT INT TERM HUP
  # processes still running inside the root (a daemon a killed test run left behind)
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ]; then
      kill -TERM "${p#/proc/}" 2>/dev/null || true
    fi
  done
  sleep 0.5
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ]; then
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[i]}" 2>/dev/null || umount -R -l "${MOUNTED[i]}" 2>/dev/null || true
  done
  # anything still mounted below the root (deepest first)
  while read -r left; do
    umount -l "$left" 2>/dev/null || true
  done < <(mounts_below | sort -r)
  left="$(mounts_below)"
  if [ -n "$left" ]; then
    printf '[fresh-check] still mounted below %s, NOT removing it:\n%s\n' "$R" "$left" >&2
    [ "$code" -ne 0 ] || code=1
  elif [ -n "$keep" ]; then
    log "kept the root at $R"
  else
    rm -rf --one-file-system "$R"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

bind() { # bind SRC DEST_IN_ROOT [--rbind]
  mkdir -p "$R$2"
  mount "${3:---bind}" "$1" "$R$2"
  MOUNTED+=("$R$2")
}

# ---------------------------------------------------------------- debootstrap (cached pristine copy)
BASE="$CACHE/base-$SUITE"
stamp="$SUITE minbase $MIRROR"
if [ -f "$BASE/.stamp" ] && [ "$(cat "$BASE/.stamp")" = "$stamp" ] &&
  [ -z "$(find "$BASE/.stamp" -mtime +"$MAX_BASE_AGE_DAYS" 2>/dev/null)" ]; then
  log "using the cached pristine $SUITE minbase from $(date -r "$BASE/.stamp" +%F)"
else
  log "debootstrap --variant=minbase $SUITE (cached in $BASE afterwards)"
  rm -rf --one-file-system "$BASE" "$BASE.new"
  t=$SECONDS
  debootstrap --variant=minbase "$SUITE" "$BASE.new" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
  rm -rf "$BASE.new/var/cache/apt/archives/"*.deb
  printf '%s\n' "$stamp" >"$BASE.new/.stamp"
  mv "$BASE.new" "$BASE"
  log "debootstrap took $((SECONDS - t)) s"
fi
cp -a "$BASE/." "$R/"
rm -f "$R/.stamp"

# ---------------------------------------------------------------- this machine's network configuration
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
[ -f /etc/hosts ] && cp -L /etc/hosts "$R/etc/hosts"
# apt sources: Debian's own suites only (third-party repositories would need their keyrings and could
# supply what Debian does not have)
: >"$R/etc/apt/sources.list"
rm -f "$R/etc/apt/sources.list.d/"*
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  awk -v suite="$SUITE" 'BEGIN { RS = ""; ORS = "\n\n" }
    { keep = 0; n = split($0, lines, "\n")
      for (i = 1; i <= n; i++) if (lines[i] ~ /^Suites:/) { m = split(lines[i], s, /[ \t]+/); keep = (m > 1)
        for (j = 2; j <= m; j++) if (s[j] != suite && index(s[j], suite "-") != 1) keep = 0 }
      if (keep) print }' "$f" >>"$R/etc/apt/sources.list.d/debian.sources"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
    s = $(i + 1); if (s == suite || index(s, suite "-") == 1) print }' "$f" >>"$R/etc/apt/sources.list"
done
[ -s "$R/etc/apt/sources.list" ] || [ -s "$R/etc/apt/sources.list.d/debian.sources" ] ||
  echo "deb $MIRROR $SUITE main" >"$R/etc/apt/sources.list"
[ -s "$R/etc/apt/sources.list.d/debian.sources" ] || rm -f "$R/etc/apt/sources.list.d/debian.sources"
for f in /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && grep -q '^[[:space:]]*Acquire' "$f" && cp "$f" "$R/etc/apt/apt.conf.d/"
done
# keep downloaded .debs (minbase does by default; make it explicit) so the archive cache below works
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$R/etc/apt/apt.conf.d/10cadencecoach-keep-debs"
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$R/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$R/etc/pip.conf"
if [ -d /etc/xdg/pip ]; then
  mkdir -p "$R/etc/xdg"
  cp -a /etc/xdg/pip "$R/etc/xdg/pip"
fi

# ---------------------------------------------------------------- the checkout
DEST=/root/cadencecoach
git clone -q --no-local "$ROOT" "$R$DEST"
log "cloned $(git -C "$ROOT" rev-parse --short HEAD) to $DEST"
if [ -n "$include_changes" ]; then
  git -C "$ROOT" diff --binary HEAD >"$R/tmp/changes.patch"
  if [ -s "$R/tmp/changes.patch" ]; then
    git -C "$R$DEST" apply --whitespace=nowarn "$R/tmp/changes.patch"
    log "applied the uncommitted changes"
  fi
  rm -f "$R/tmp/changes.patch"
  (cd "$ROOT" && git ls-files -z --others --exclude-standard) | (cd "$ROOT" && xargs -0r cp --parents -t "$R$DEST")
elif [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=normal)" ]; then
  log "note: the checkout has uncommitted changes; they are NOT tested (use --include-changes)"
fi
if [ -d "$ROOT/../shared" ]; then
  cp -a "$ROOT/../shared" "$R/root/shared"
  chmod -R a-w "$R/root/shared"
fi

# ---------------------------------------------------------------- mounts
mount -t proc proc "$R/proc"
MOUNTED+=("$R/proc")
bind /sys /sys --rbind
bind /dev /dev
bind /dev/pts /dev/pts
bind /dev/shm /dev/shm
bind "$CACHE/apt-archives" /var/cache/apt/archives
bind "$CACHE/pip-http" /root/.cache/pip/http-v2

# ---------------------------------------------------------------- the README's two commands
in_root() { # a login-free shell with a clean environment, as a new root user has it
  # In the background + wait: bash runs a trap only when its foreground command ends, but `wait` returns
  # at once on a signal, so SIGTERM/SIGHUP sent to this script alone still clean up straight away (the
  # cleanup kills whatever still runs inside the root). A background job of a script starts with SIGINT and
  # SIGQUIT ignored, which every program inside would inherit (a Ctrl-C test would then hang): env's
  # --default-signal gives them back their default. TERM is the caller's (a terminal's), else "dumb".
  chroot "$R" /usr/bin/env --default-signal=INT,QUIT -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
    TERM="${TERM:-dumb}" LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${CI:+CI="$CI"} /bin/bash -c "$1" </dev/null &
  wait "$!"
}

results=()
run_step() { # run_step NAME COMMAND
  local t=$SECONDS rc=0
  log "running in the fresh root: $2"
  in_root "$2" || rc=$?
  results+=("$1: exit $rc in $((SECONDS - t)) s")
  log "$1: exit $rc in $((SECONDS - t)) s"
  return "$rc"
}

failed=""
if [ "$only" != test ]; then
  run_step "bash scripts/main.sh" "cd $DEST && bash scripts/main.sh" || failed=1
fi
if [ "$only" != main ]; then
  quoted=""
  [ ${#pytest_args[@]} -gt 0 ] && quoted="$(printf ' %q' "${pytest_args[@]}")"
  run_step "bash scripts/test.sh" "cd $DEST && bash scripts/test.sh$quoted" || failed=1
fi
if [ -x "$R$DEST/.venv/bin/python" ]; then
  run_step "library check" "cd $DEST && .venv/bin/python scripts/check_libs.py .venv" || failed=1
fi

log "summary:"
for line in "${results[@]}"; do log "  $line"; done
[ -z "$failed" ] || die "a set-up command failed on the fresh $SUITE root"
log "PASSED: the README's set-up commands work on a fresh Debian 12 root"
