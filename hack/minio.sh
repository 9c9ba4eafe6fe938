#!/usr/bin/env bash
# A real S3 server for tests: MinIO built with `go build` from the module
# pinned in hack/tools/minio/go.mod (github.com/minio/minio publishes only
# pseudo-versions there), cached outside the repo by version; it listens on
# every address so pods on the real Node reach it too.
#
#   hack/minio.sh build   build the binary if it is not cached yet
#   hack/minio.sh up      start MinIO (or reuse the running one); prints the endpoint last
#   hack/minio.sh down    stop the MinIO that `up` started
#   hack/minio.sh env     print export lines for the AWS SDK (eval "$(hack/minio.sh env)")
#
# Environment: FLUXORA_CACHE (default ~/.cache/fluxora), FLUXORA_MINIO_PORT
# (default 19000; the console, when enabled, would be the next port),
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (test defaults below).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD="$HERE/tools/minio"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
VERSION=$(awk '$1=="require" && $2=="github.com/minio/minio"{print $3}' "$MOD/go.mod")
[[ -n "$VERSION" ]] || { echo "[minio] no github.com/minio/minio requirement in $MOD/go.mod" >&2; exit 1; }
BIN="$CACHE/bin/minio-$VERSION/minio"
PORT="${FLUXORA_MINIO_PORT:-19000}"
STATE="$CACHE/minio/$PORT"    # data, log, pid, lock: outside the repo, one set per port
ADDR="127.0.0.1:$PORT"
# Every address, not only loopback: pods on the real Node reach MinIO at the
# node's address (10.245.0.1, the pods' gateway), as they would reach a store
# outside the cluster.
LISTEN=":$PORT"
export MINIO_ROOT_USER="${MINIO_ROOT_USER:-fluxora-test}"
export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-fluxora-test-secret}"

log() { echo "[minio] $*" >&2; }

# Concurrent callers (parallel test workers, two shells) take turns: one
# builds or starts, the others then find it done.
mkdir -p "$STATE"
exec 9>"$CACHE/minio/lock"
flock 9

build() {
  [[ -x "$BIN" ]] && return 0
  log "building MinIO $VERSION into $BIN (first run only; several minutes on 2 cores)"
  mkdir -p "$(dirname "$BIN")"
  local start=$SECONDS
  # -s -w: no symbol tables, a third smaller; tests never debug MinIO.
  (cd "$MOD" && go build -ldflags='-s -w' -o "$BIN.tmp" github.com/minio/minio)
  mv "$BIN.tmp" "$BIN"
  log "built in $((SECONDS - start))s"
}

healthy() { curl -fs --max-time 2 "http://$ADDR/minio/health/live" >/dev/null 2>&1; }

# The pid `up` recorded, if that process is still our MinIO (not a reused pid).
our_pid() {
  local pid
  pid=$(cat "$STATE/pid" 2>/dev/null) || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"minio server"*"--address $LISTEN"* ]] && echo "$pid"
}

# Whether the running server accepts our credentials (a signed ListBuckets),
# so `up` never hands out keys that the server it reuses would refuse.
creds_ok() {
  curl -fs --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" "http://$ADDR/" >/dev/null 2>&1
}

stop() {
  local pid
  pid=$(our_pid) || { rm -f "$STATE/pid"; return 0; }
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$STATE/pid"
}

up() {
  build
  if healthy; then
    if creds_ok; then echo "http://$ADDR"; return 0; fi
    our_pid >/dev/null || { log "something else serves $ADDR with other credentials; stop it or set FLUXORA_MINIO_PORT"; exit 1; }
    log "restarting: running with other credentials"
    stop
  fi
  mkdir -p "$STATE/data"
  # Loopback only. Console off (MINIO_BROWSER), no update check (MINIO_UPDATE,
  # --quiet), no call-home; MINIO_CI_CD lets it run on a plain directory
  # without production drive checks. The console address is given anyway so
  # that MinIO never picks a random port on all interfaces.
  MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_CI_CD=1 \
    setsid "$BIN" server "$STATE/data" --address "$LISTEN" --console-address "127.0.0.1:$((PORT + 1))" --quiet \
    >"$STATE/minio.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/pid"
  for _ in $(seq 1 120); do
    healthy && { echo "http://$ADDR"; return 0; }
    kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
    sleep 0.25
  done
  log "MinIO did not become healthy on $ADDR; last lines of $STATE/minio.log:"
  tail -20 "$STATE/minio.log" >&2
  stop
  exit 1
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) stop ;;
  env) echo "export AWS_ENDPOINT_URL=http://$ADDR AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD AWS_REGION=us-east-1" ;;
  *) echo "usage: $0 build|up|down|env" >&2; exit 2 ;;
esac
