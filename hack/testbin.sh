#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache directory, once.
# No download site for envtest binaries is reachable from CI, so the binaries are compiled
# from their published Go modules. A later run finds them in the cache and returns at once.
#
# Prints the directory holding the binaries on the last line of stdout (for KUBEBUILDER_ASSETS);
# progress goes to stderr.
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
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  local work="$CACHE/build/etcd-${ETCD_VERSION}"
  rm -rf "$work"; mkdir -p "$work"; cd "$work"
  log "etcd ${ETCD_VERSION}: resolving modules (first run: about a minute)"
  go mod init lbsg.local/etcdbuild >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "go.etcd.io/etcd/api/v3@${ETCD_VERSION}" \
    "go.etcd.io/etcd/client/pkg/v3@${ETCD_VERSION}" "go.etcd.io/etcd/client/v3@${ETCD_VERSION}" \
    "go.etcd.io/etcd/pkg/v3@${ETCD_VERSION}" >&2
  log "etcd ${ETCD_VERSION}: compiling"
  go build -trimpath -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
  mv "$BIN/etcd.tmp" "$BIN/etcd"
  log "etcd ${ETCD_VERSION}: done"
}

build_apiserver() {
  [ -x "$BIN/kube-apiserver" ] && return 0
  local work="$CACHE/build/kube-${KUBE_VERSION}"
  local staging="v0.${KUBE_VERSION#v1.}"
  rm -rf "$work"; mkdir -p "$work"; cd "$work"
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
    -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
  mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
  log "kube-apiserver ${KUBE_VERSION}: done"
}

( build_etcd )
( build_apiserver )
log "binaries ready in $BIN"
echo "$BIN"
