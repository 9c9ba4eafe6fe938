#!/usr/bin/env bash
# `npm run quickstart`: run the operator and show it working.
#
# Uses your current kube-context when a cluster answers; otherwise builds and
# starts the local control plane from hack/control-plane.sh (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok: no Docker
# needed). Installs the CRDs, starts `fluxora operator` in the background,
# applies manifests/examples/model.yaml and waits for the Model to be Ready.
#
#   npm run quickstart            start (idempotent)
#   npm run quickstart -- down    stop the operator (and the local control plane)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}/quickstart"
mkdir -p "$STATE"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [[ "${1:-}" == "down" ]]; then
  if [[ -f "$STATE/operator.pid" ]]; then kill "$(cat "$STATE/operator.pid")" 2>/dev/null || true; rm -f "$STATE/operator.pid"; fi
  [[ -f "$STATE/local" ]] && bash hack/control-plane.sh down && rm -f "$STATE/local"
  say "stopped"
  exit 0
fi

[[ -d node_modules ]] || { say "installing npm dependencies"; npm ci --no-audit --no-fund; }
say "building fluxora"
npm run --silent build

# kubectl: yours if you have one, else the one built with the control plane.
KUBECTL=$(command -v kubectl || true)
if [[ -n "${KUBECONFIG:-}" || -f "$HOME/.kube/config" ]] && [[ -n "$KUBECTL" ]] &&
  "$KUBECTL" version --request-timeout=5s >/dev/null 2>&1; then
  say "using your current kube-context: $("$KUBECTL" config current-context)"
  KCFG="${KUBECONFIG:-$HOME/.kube/config}"
  rm -f "$STATE/local"
else
  say "no reachable cluster in your kubeconfig: starting the local control plane (first run builds it, ~15 min)"
  KCFG=$(bash hack/control-plane.sh up | tail -n 1)
  KUBECTL="$(bash hack/control-plane.sh bin-dir)/kubectl"
  touch "$STATE/local"
fi
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }

say "installing the CRDs"
k apply --server-side --force-conflicts -f crds/ >/dev/null
k wait --for=condition=Established crd/models.fluxora.io crd/driftmonitors.fluxora.io crd/retrainjobs.fluxora.io --timeout=60s >/dev/null

if [[ -f "$STATE/operator.pid" ]] && kill -0 "$(cat "$STATE/operator.pid")" 2>/dev/null; then
  say "operator already running (pid $(cat "$STATE/operator.pid"))"
else
  say "starting the operator (logs: $STATE/operator.log)"
  nohup node dist/cli/main.js operator --kubeconfig "$KCFG" \
    --metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
    >"$STATE/operator.log" 2>&1 </dev/null &
  echo $! >"$STATE/operator.pid"
  for _ in $(seq 1 60); do curl -fs http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs http://127.0.0.1:18081/readyz >/dev/null || { tail -20 "$STATE/operator.log"; exit 1; }
fi

say "applying manifests/examples/storage-secret.yaml and model.yaml"
k apply -f manifests/examples/storage-secret.yaml -f manifests/examples/model.yaml
say "waiting for the Model to become Ready"
k wait --for=condition=Ready model/churn --timeout=120s
echo
# -o wide: plain `kubectl get models` leaves out the (long) ENDPOINT column.
say "kubectl get model churn -o wide"
k get models.fluxora.io churn -o wide
echo
k get deployment,service,pods -l fluxora.io/model=churn
echo
k get events --field-selector involvedObject.name=churn --sort-by=.lastTimestamp | tail -n 5
cat <<EOF

The operator is running in the background (pid $(cat "$STATE/operator.pid"), logs $STATE/operator.log,
metrics http://127.0.0.1:18080/metrics). Try:

  export KUBECONFIG=$KCFG
  alias kubectl=$KUBECTL
  kubectl explain model.spec
  kubectl describe model churn
  kubectl patch model churn --type merge -p '{"spec":{"serving":{"replicas":3}}}'
  kubectl get models -w

Stop everything with: npm run quickstart -- down
EOF
