#!/usr/bin/env bash
# A real S3 server for tests: MinIO built with `go build` from the module
# pinned in hack/tools/minio/go.mod, cached under ~/.cache/fluxora/bin by
# version, listening on loopback only.
#   hack/minio.sh build | up | down | env
# Environment: FLUXORA_CACHE, FLUXORA_MINIO_PORT (default 19000),
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (test defaults below).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
VERSION=$(awk '$1=="require" && $2=="github.com/minio/minio"{print $3}' "$HERE/tools/minio/go.mod")
BIN="$CACHE/bin/minio-$VERSION/minio"
DIR="$CACHE/minio"
PORT="${FLUXORA_MINIO_PORT:-19000}"
export MINIO_ROOT_USER="${MINIO_ROOT_USER:-fluxora-test}"
export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-fluxora-test-secret}"

build() {
  [[ -x "$BIN" ]] && return 0
  echo "[minio] building MinIO $VERSION into $BIN (first run only, several minutes)" >&2
  mkdir -p "$(dirname "$BIN")"
  (cd "$HERE/tools/minio" && go build -ldflags='-s -w' -o "$BIN.tmp" github.com/minio/minio) && mv "$BIN.tmp" "$BIN"
}

healthy() { curl -fs --max-time 2 "http://127.0.0.1:$PORT/minio/health/live" >/dev/null 2>&1; }

up() {
  build
  if healthy; then echo "http://127.0.0.1:$PORT"; return 0; fi
  mkdir -p "$DIR/data"
  # Loopback only; no browser console, no update checks, no call-home.
  MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_CI_CD=1 \
    setsid "$BIN" server "$DIR/data" --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$((PORT + 1))" --quiet \
    >"$DIR/minio.log" 2>&1 </dev/null &
  echo $! >"$DIR/pid"
  for _ in $(seq 1 120); do healthy && break; sleep 0.5; done
  healthy || { tail -20 "$DIR/minio.log" >&2; exit 1; }
  echo "http://127.0.0.1:$PORT"
}

down() {
  [[ -f "$DIR/pid" ]] || return 0
  kill "$(cat "$DIR/pid")" 2>/dev/null || true
  rm -f "$DIR/pid"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  env) echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD AWS_REGION=us-east-1" ;;
  *) echo "usage: $0 build|up|down|env" >&2; exit 2 ;;
esac
