#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache directory, once.
# No download site for envtest binaries is reachable from CI, so the binaries are compiled
# from their published Go modules. A later run finds them in the cache and returns at once.
#
# Prints the directory holding the binaries on the last line of stdout (for KUBEBUILDER_ASSETS);
# progress goes to stderr.
#
# Runs started together (`make test` and `make demo`) build once: a build holds a lock on
# $CACHE/testbin/.lock and the others wait for it, then find the binaries. Each build works
# in a directory of its own and moves a finished binary into place in one rename, so no run
# ever sees, or deletes, another's half-built files.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
CACHE="${LBSG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lbsg}"
BIN="$CACHE/testbin/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}"

log() { printf '[testbin] %s\n' "$*" >&2; }

if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ]; then
  log "using cached kube-apiserver ${KUBE_VERSION} and etcd ${ETCD_VERSION} in $BIN"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH: install Go 1.26 or newer"; exit 1; }
mkdir -p "$BIN" "$CACHE/build"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off

# One build at a time: wait (at most LBSG_TESTBIN_LOCK_WAIT seconds, default an hour) for a
# build another run started, then use what it built.
LOCK="$CACHE/testbin/.lock"
LOCK_WAIT="${LBSG_TESTBIN_LOCK_WAIT:-3600}"
OWN_LOCK_DIR=""
WORK=""
trap 'rm -rf ${WORK:+"$WORK"} ${OWN_LOCK_DIR:+"$OWN_LOCK_DIR"}' EXIT
if command -v flock >/dev/null; then
  exec 9>"$LOCK"
  if ! flock -n 9; then
    log "another run is building the binaries; waiting for it (lock $LOCK)"
    flock -w "$LOCK_WAIT" 9 || { log "still locked after ${LOCK_WAIT}s: is a build hung? (lock $LOCK)"; exit 1; }
  fi
else
  # Without flock(1) (macOS): a lock directory holding the builder's PID; a lock whose
  # process is gone is taken over.
  waited=0
  until mkdir "$LOCK.d" 2>/dev/null; do
    holder=$(cat "$LOCK.d/pid" 2>/dev/null || true)
    if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
      rm -rf "$LOCK.d"; continue
    fi
    [ "$waited" -eq 0 ] && log "another run is building the binaries; waiting for it (lock $LOCK.d)"
    [ "$waited" -ge "$LOCK_WAIT" ] && { log "still locked after ${LOCK_WAIT}s (lock $LOCK.d)"; exit 1; }
    sleep 1; waited=$((waited + 1))
  done
  OWN_LOCK_DIR="$LOCK.d"
  echo $$ > "$OWN_LOCK_DIR/pid"
fi
if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ]; then
  log "kube-apiserver ${KUBE_VERSION} and etcd ${ETCD_VERSION} were built meanwhile: using $BIN"
  echo "$BIN"
  exit 0
fi
# This run's build modules, removed when it ends; finished binaries are renamed into $BIN.
WORK=$(mktemp -d "$CACHE/build/run.XXXXXX")

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  local work="$WORK/etcd-${ETCD_VERSION}"
  mkdir -p "$work"; cd "$work"
  log "etcd ${ETCD_VERSION}: resolving modules (first run: about a minute)"
  go mod init lbsg.local/etcdbuild >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "go.etcd.io/etcd/api/v3@${ETCD_VERSION}" \
    "go.etcd.io/etcd/client/pkg/v3@${ETCD_VERSION}" "go.etcd.io/etcd/client/v3@${ETCD_VERSION}" \
    "go.etcd.io/etcd/pkg/v3@${ETCD_VERSION}" >&2
  log "etcd ${ETCD_VERSION}: compiling"
  go build -trimpath -o "$work/etcd" go.etcd.io/etcd/server/v3 >&2
  mv "$work/etcd" "$BIN/etcd"
  log "etcd ${ETCD_VERSION}: done"
}

build_apiserver() {
  [ -x "$BIN/kube-apiserver" ] && return 0
  local work="$WORK/kube-${KUBE_VERSION}"
  local staging="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$work"; cd "$work"
  log "kube-apiserver ${KUBE_VERSION}: resolving modules (staging modules at ${staging})"
  go mod init lbsg.local/kubebuild >/dev/null 2>&1
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -n "$gomod" ] || { log "could not download k8s.io/kubernetes@${KUBE_VERSION} from the Go module proxy"; exit 1; }
  # k8s.io/kubernetes requires its staging repositories at v0.0.0 and replaces them with
  # local directories; a dependent module must point each at its published version instead.
  local mods
  mods=$(grep -E '^[[:space:]]*k8s\.io/[a-z0-9./-]+ v0\.0\.0[[:space:]]*(//.*)?$' "$gomod" | awk '{print $1}' | sort -u)
  for m in $mods; do go mod edit -replace "$m=$m@${staging}"; done
  go mod edit -require "k8s.io/kubernetes@${KUBE_VERSION}"
  printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
  go mod tidy -e >&2 || true
  log "kube-apiserver ${KUBE_VERSION}: compiling (first run: 4-6 minutes on 2 cores, ~2.5 GB memory)"
  go build -trimpath -ldflags "-X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#v1.}" \
    -o "$work/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$work/kube-apiserver" "$BIN/kube-apiserver"
  log "kube-apiserver ${KUBE_VERSION}: done"
}

( build_etcd )
( build_apiserver )
log "binaries ready in $BIN"
echo "$BIN"
