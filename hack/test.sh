#!/usr/bin/env bash
# The README's test command and CI's only step (.ci/run calls exactly this).
# On a fresh machine it installs or builds what it needs first, each cached
# under ~/.cache/fluxora by version, so later runs start at once:
#   Debian packages, Node 24 (hack/lib/node.sh), npm packages, the Go-built
#   cluster (control plane, kubelet, containerd, kube-proxy, CoreDNS), MinIO,
#   Helm, kstatus and the project's image (built by the integration setup).
# Then, in the order that fails fastest:
#   1. generated files are current, 2. typecheck, 3. lint,
#   4. vitest: unit, image and integration tests (real pods on a real Node,
#      kwok where a test says why), against the local control plane,
#   5. the fault-injection suite on its own control plane,
#   6. the scale and serving benchmarks at reduced size (a missed target
#      prints MISS; an error fails).
#
#   hack/test.sh                  everything above
#   hack/test.sh -- <vitest args> setup, then only `vitest run <args>`
#                                 (e.g. hack/test.sh -- --project unit)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n== %s\n' "$*"; }
source hack/lib/node.sh
source hack/lib/setup.sh

step "setup"
install_debian_packages
ensure_node
command -v go >/dev/null || { echo "the tests need Go (>= 1.26) to build the cluster" >&2; exit 1; }
echo "toolchain: $(go version | cut -d' ' -f3), node $(node --version), npm $(npm --version)"
ensure_npm_packages
step "tools (cached by version; the first run builds them)"
bash hack/control-plane.sh build
bash hack/minio.sh build
bash hack/kstatus.sh >/dev/null
bash hack/helm-tools.sh >/dev/null
bash hack/dockerfile-lint.sh >/dev/null
bash hack/prometheus-operator-crds.sh >/dev/null
echo "tools ready after $((SECONDS - started))s"

# The tests start MinIO on demand and leave it up for the next run in the
# same checkout; a run that found none running stops the one it started, so
# CI ends with no daemon left behind.
minio_port="${FLUXORA_MINIO_PORT:-19000}"
if ! (exec 3<>"/dev/tcp/127.0.0.1/$minio_port") 2>/dev/null; then
  trap 'bash hack/minio.sh down >/dev/null 2>&1 || true' EXIT
fi

if [[ "${1:-}" == "--" ]]; then
  shift
  step "vitest run $*"
  npx vitest run "$@"
  exit 0
fi

step "generated files are up to date"
npm run --silent check:generated
step "typecheck"
npx tsc -p tsconfig.json --noEmit
step "lint"
npx eslint .
step "tests (unit, image, integration)"
npx vitest run

# Fault injection: kill -9 of the operator, kube-apiserver/etcd restarts,
# leader failover, 409s, hand edits. On its own control plane (port 26443,
# kwok Nodes only), started and stopped by the suite; prints its seed and report.
step "fault-injection suite"
npm run --silent test:faults

# Reduced size (the full run is `npm run bench:scale`: 1000 Models, 200
# DriftMonitors). It brings up and stops its own control plane on port 31443;
# a missed target prints MISS but does not fail, an error does.
step "scale benchmark (reduced)"
npm run --silent bench:scale -- --models 100 --monitors 20

# Reduced size (the full run is `npm run bench:serve`): fluxora serve over
# REST and gRPC against MLServer and KServe, in-process onnxruntime and the
# HTTP floor, and with its prediction log on (to MinIO) against off, each
# briefly; the first run builds the peers' venvs.
step "serving benchmark (reduced)"
npm run --silent bench:serve -- --ci

step "all passed in $((SECONDS - started))s"
