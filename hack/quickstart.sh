#!/usr/bin/env bash
# The README's first command: run the operator and show it working.
#
# With no reachable cluster in your kubeconfig, it builds and starts the local
# cluster of hack/control-plane.sh (no Docker needed) with a real Node, puts
# the example data and model v1 in a local MinIO, builds the project's image
# and imports it into the node, installs the operator in the cluster from
# manifests/install, applies the example Model and prints an inference answer
# from its pods, through its Service.
#
# With a reachable kind cluster as the current context, it builds the image,
# loads it there (kind load image-archive) and installs the operator. On
# another existing cluster it installs the operator with the published image.
#
# On a machine that cannot run real pods (not root, no cgroups), it says why
# in one line and falls back to kwok Nodes: the operator then runs as a local
# process and the Model's pods are simulated, so nothing answers inference.
#
#   hack/quickstart.sh          start (idempotent; also `npm run quickstart`)
#   hack/quickstart.sh down     stop what it started
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
STATE="$CACHE/quickstart"
mkdir -p "$STATE"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
source hack/lib/node.sh
source hack/lib/setup.sh

stop_local_operator() {
  if [[ -f "$STATE/operator.pid" ]]; then kill "$(cat "$STATE/operator.pid")" 2>/dev/null || true; rm -f "$STATE/operator.pid"; fi
}

if [[ "${1:-}" == "down" ]]; then
  stop_local_operator
  if [[ -f "$STATE/local" ]]; then
    bash hack/control-plane.sh down
    bash hack/minio.sh down || true
    rm -f "$STATE/local"
  fi
  say "stopped"
  exit 0
fi

started=$SECONDS
install_debian_packages
ensure_node
ensure_npm_packages

# kubectl: yours if you have one, else the one built with the control plane.
KUBECTL=$(command -v kubectl || true)
if [[ -n "${KUBECONFIG:-}" || -f "$HOME/.kube/config" ]] && [[ -n "$KUBECTL" ]] &&
  "$KUBECTL" version --request-timeout=5s >/dev/null 2>&1; then
  CONTEXT=$("$KUBECTL" config current-context)
  k() { "$KUBECTL" "$@"; }
  say "using your current kube-context: $CONTEXT"
  rm -f "$STATE/local"
  if [[ "$CONTEXT" == kind-* ]] && command -v kind >/dev/null; then
    say "building the image and loading it into kind cluster ${CONTEXT#kind-}"
    npm run --silent image
    kind load image-archive "$CACHE/images/fluxora.oci.tar" --name "${CONTEXT#kind-}"
  else
    say "the operator's pods will pull ghcr.io/fluxora/fluxora:$(node -p 'require("./package.json").version')"
  fi
  say "installing the operator (kubectl apply -k manifests/install)"
  k apply --server-side -k manifests/install >/dev/null
  k -n fluxora-system rollout status deployment/fluxora-operator --timeout=180s
  cat <<EOF

The operator runs in namespace fluxora-system. To serve the example Model, put
an ONNX model in your object store, point manifests/examples/storage-secret.yaml
at the store and model.yaml at the artifact, then:

  kubectl apply -f manifests/examples/storage-secret.yaml -f manifests/examples/model.yaml
  kubectl wait --for=condition=Ready model/churn --timeout=120s
EOF
  exit 0
fi

# The local cluster. Real pods when this machine can run them, else kwok.
if why=$(bash hack/node.sh check 2>&1); then
  export FLUXORA_NODE_KIND=both
else
  say "no real pods on this machine ($why): falling back to kwok Nodes, whose pods run nothing"
  export FLUXORA_NODE_KIND=kwok
fi
say "starting the local cluster (the first run builds it from Go modules: up to ~25 min on 2 cores)"
KCFG=$(bash hack/control-plane.sh up | tail -n 1)
KUBECTL="$(bash hack/control-plane.sh bin-dir)/kubectl"
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }
touch "$STATE/local"
REAL=$([[ "$(bash hack/control-plane.sh node-kind)" == kwok ]] && echo no || echo yes)

say "starting MinIO and writing the example data and model v1 to s3://fluxora-examples"
bash hack/minio.sh up >/dev/null
eval "$(bash hack/minio.sh env)"
node_modules/.bin/tsx hack/example.ts data

say "installing the CRDs"
k apply --server-side --force-conflicts -f crds/ >/dev/null
k wait --for=condition=Established crd/models.fluxora.io crd/driftmonitors.fluxora.io crd/retrainjobs.fluxora.io --timeout=60s >/dev/null

if [[ $REAL == yes ]]; then
  say "building the image and importing it into the node (nothing is pulled)"
  npm run --silent image
  bash hack/node.sh import "$CACHE/images/fluxora.oci.tar" 2>/dev/null
  stop_local_operator
  say "installing the operator in the cluster (kubectl apply -k manifests/install)"
  k apply --server-side --force-conflicts -k manifests/install >/dev/null
  # A new image under the same tag: restart so the operator runs this build.
  k -n fluxora-system rollout restart deployment/fluxora-operator >/dev/null
  k -n fluxora-system rollout status deployment/fluxora-operator --timeout=180s | tail -n 1
else
  if [[ -f "$STATE/operator.pid" ]] && kill -0 "$(cat "$STATE/operator.pid")" 2>/dev/null; then
    say "operator already running (pid $(cat "$STATE/operator.pid"))"
  else
    say "starting the operator as a local process (logs: $STATE/operator.log)"
    npm run --silent build
    nohup node dist/cli/main.js operator --kubeconfig "$KCFG" \
      --metrics-bind-address 127.0.0.1:18080 --health-probe-bind-address 127.0.0.1:18081 \
      >"$STATE/operator.log" 2>&1 </dev/null &
    echo $! >"$STATE/operator.pid"
    for _ in $(seq 1 60); do curl -fs http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fs http://127.0.0.1:18081/readyz >/dev/null || { tail -20 "$STATE/operator.log"; exit 1; }
  fi
fi

say "applying the example Model (manifests/examples: minio-service, storage-secret, model)"
k apply -f manifests/examples/minio-service.yaml -f manifests/examples/storage-secret.yaml -f manifests/examples/model.yaml
k wait --for=condition=Ready model/churn --timeout=180s
echo
# -o wide: plain `kubectl get models` leaves out the (long) ENDPOINT column.
say "kubectl get model churn -o wide"
k get models.fluxora.io churn -o wide
echo
k get deployment,service,pods -l fluxora.io/model=churn -o wide
echo

if [[ $REAL == yes ]]; then
  IP=$(k get service churn -o jsonpath='{.spec.clusterIP}')
  BODY='{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[0.5,-0.2,1.0, 2.0,1.5,3.0]}]}'
  say "an inference request to the Model's Service (kube-proxy routes the ClusterIP to a pod)"
  echo "curl -s http://$IP:8080/v2/models/churn/infer -H 'content-type: application/json' -d '$BODY'"
  # A Ready pod is routed a moment later (EndpointSlice, kube-proxy).
  for _ in $(seq 1 40); do
    if ANSWER=$(curl -fsS --max-time 5 "http://$IP:8080/v2/models/churn/infer" -H 'content-type: application/json' -d "$BODY" 2>/dev/null); then break; fi
    sleep 0.5
  done
  [[ -n "${ANSWER:-}" ]] || { echo "no answer from the Service" >&2; exit 1; }
  echo "$ANSWER"
  echo
fi

cat <<EOF
Ready in $((SECONDS - started))s. Try:

  export KUBECONFIG=$KCFG
  alias kubectl=$KUBECTL
  kubectl explain model.spec
  kubectl describe model churn
  kubectl -n fluxora-system logs deploy/fluxora-operator
  kubectl patch model churn --type merge -p '{"spec":{"serving":{"replicas":3}}}'

The walk-through from drift to a new version is in docs/walkthrough.md.
Stop everything with: hack/quickstart.sh down
EOF
