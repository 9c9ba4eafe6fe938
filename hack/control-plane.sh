#!/usr/bin/env bash
# A real, local Kubernetes cluster for tests and local runs, with no container
# engine: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, plus
# Nodes of two kinds:
#   real  a kubelet with containerd, CNI, kube-proxy and CoreDNS (hack/node.sh)
#         that runs real pods of images built here;
#   kwok  simulated Nodes and Pods, for scale tests and for pod states a real
#         node cannot produce on demand.
# Everything is built with `go build` from the Go modules pinned in
# hack/tools/*/go.mod and cached outside the repository, keyed by version, so
# only the first run pays for the build.
#
#   hack/control-plane.sh build   build (or reuse) the binaries
#   hack/control-plane.sh up      build if needed, start everything, wait until usable
#   hack/control-plane.sh down    stop everything (state is kept until the next `up --fresh`)
#   hack/control-plane.sh status  exit 0 when the API server answers
#   hack/control-plane.sh pause-pods|resume-pods   freeze/unfreeze kwok's simulated pods
#   hack/control-plane.sh env     print `export KUBECONFIG=... PATH=...` for a shell
#
# Environment:
#   FLUXORA_CACHE     cache root (default ~/.cache/fluxora)
#   FLUXORA_CP_DIR    state dir: etcd data, certs, logs, kubeconfig (default $FLUXORA_CACHE/cp)
#   FLUXORA_CP_PORT   kube-apiserver port (default 16443); other ports derive from it
#   FLUXORA_NODES     number of kwok Nodes (default 2)
#   FLUXORA_NODE_KIND real | kwok | both (default: both when this machine can run
#                     real pods, else kwok). Pods land on the real Node unless
#                     their namespace asks for kwok (annotation
#                     scheduler.alpha.kubernetes.io/node-selector: fluxora.io/node-kind=kwok).
#                     Only one control plane per machine can have the real Node.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
CP_DIR="${FLUXORA_CP_DIR:-$CACHE/cp}"
API_PORT="${FLUXORA_CP_PORT:-16443}"
ETCD_PORT=$((API_PORT - 4000))      # 12443
ETCD_PEER_PORT=$((API_PORT - 3999)) # 12444
KCM_PORT=$((API_PORT + 1))
SCHED_PORT=$((API_PORT + 2))
KWOK_PORT=$((API_PORT + 3))
NODES="${FLUXORA_NODES:-2}"
NODE_KIND_LABEL=fluxora.io/node-kind
# The real node's address (the pods' bridge): the API server advertises it so
# pods reach it through the `kubernetes` Service. Keep in step with hack/node.sh.
NODE_IP=10.245.0.1

k8s_version() { awk '$1=="k8s.io/kubernetes"{print $2}' "$HERE/tools/kubernetes/go.mod"; }
etcd_version() { awk '$1=="go.etcd.io/etcd/server/v3"{print $2}' "$HERE/tools/kubernetes/go.mod"; }
kwok_version() { awk '$1=="require" && $2=="sigs.k8s.io/kwok"{print $3}' "$HERE/tools/kwok/go.mod"; }

# The suffix names the build recipe: bump it when the set of binaries or their flags change.
K8S_BIN="$CACHE/bin/kubernetes-$(k8s_version)-etcd-$(etcd_version)-b2"
KWOK_BIN="$CACHE/bin/kwok-$(kwok_version)"
KUBECONFIG_FILE="$CP_DIR/kubeconfig"

log() { printf '[control-plane] %s\n' "$*" >&2; }

# -X flags that stamp the Kubernetes binaries with their real version. Without
# them every binary says v0.0.0-master and `kubectl version` cannot parse the
# server's version. The build date is fixed so the stamp does not change the
# binaries from one build to the next.
k8s_ldflags() {
  local v major minor pkg flags="-s -w"
  v=$(k8s_version)
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

build() {
  local start=$SECONDS
  if [[ ! -x "$K8S_BIN/kube-apiserver" || ! -x "$K8S_BIN/kubelet" || ! -x "$K8S_BIN/etcd" ]]; then
    log "building Kubernetes $(k8s_version) + etcd $(etcd_version) into $K8S_BIN (first run only; ~25 min on 2 cores)"
    rm -rf "$K8S_BIN.tmp" && mkdir -p "$K8S_BIN.tmp"
    # One `go build` for every Kubernetes binary: they share most packages,
    # so the kubelet and kube-proxy cost about a minute on top of the rest.
    (cd "$HERE/tools/kubernetes" && go build -trimpath -ldflags="$(k8s_ldflags)" -o "$K8S_BIN.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
    # etcd's main package is the module root, so `go build` names it after the directory.
    (cd "$HERE/tools/kubernetes" && go build -trimpath -ldflags='-s -w' -o "$K8S_BIN.tmp/etcd" go.etcd.io/etcd/server/v3)
    rm -rf "$K8S_BIN" && mv "$K8S_BIN.tmp" "$K8S_BIN"
  fi
  if [[ ! -x "$KWOK_BIN/kwok" ]]; then
    log "building kwok $(kwok_version) into $KWOK_BIN"
    mkdir -p "$KWOK_BIN.tmp"
    (cd "$HERE/tools/kwok" && go build -ldflags='-s -w' -o "$KWOK_BIN.tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
    rm -rf "$KWOK_BIN" && mv "$KWOK_BIN.tmp" "$KWOK_BIN"
  fi
  if [[ "${FLUXORA_NODE_KIND:-}" != kwok ]] && bash "$HERE/node.sh" check 2>/dev/null; then
    bash "$HERE/node.sh" build
  fi
  log "binaries ready in $((SECONDS - start))s"
}

# The node kinds of this control plane: chosen at `up`, remembered in the state dir.
node_kind() {
  if [[ -f "$CP_DIR/node-kind" ]]; then cat "$CP_DIR/node-kind"; return; fi
  local kind=${FLUXORA_NODE_KIND:-}
  if [[ -z "$kind" ]]; then
    local why
    if why=$(bash "$HERE/node.sh" check 2>&1); then kind=both; else
      log "no real Node: $why; using kwok Nodes only"
      kind=kwok
    fi
  fi
  case "$kind" in real | kwok | both) echo "$kind" ;; *) log "FLUXORA_NODE_KIND must be real, kwok or both, not '$kind'"; return 1 ;; esac
}
has_real() { [[ "$KIND" == real || "$KIND" == both ]]; }
has_kwok() { [[ "$KIND" == kwok || "$KIND" == both ]]; }

api_healthy() {
  [[ -f "$CP_DIR/admin.token" ]] || return 1
  curl -fsk --max-time 2 -H "Authorization: Bearer $(cat "$CP_DIR/admin.token")" \
    "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1
}

wait_for() { # wait_for <seconds> <description> <command...>
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      log "timed out waiting for $what; last log lines:"
      tail -n 30 "$CP_DIR"/logs/*.log >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

start_bg() { # start_bg <name> <command...>: detached, logs to logs/<name>.log, pid in pids/<name>
  local name=$1
  shift
  setsid "$@" >"$CP_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$CP_DIR/pids/$name"
}

# sign_cert <name> <subject> [subjectAltName]: a key and a certificate signed by the cluster CA.
sign_cert() {
  local d="$CP_DIR/pki" name=$1 subj=$2 san=${3:-}
  [[ -f "$d/$name.crt" ]] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
  if [[ -n "$san" ]]; then printf 'subjectAltName=%s\n' "$san" >"$d/$name.ext"; else : >"$d/$name.ext"; fi
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null
  rm -f "$d/$name.csr" "$d/$name.ext"
}

make_certs() {
  local d="$CP_DIR/pki" node
  mkdir -p "$d"
  if [[ ! -f "$d/sa.key" ]]; then
    openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
    openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fluxora-local-ca" \
      -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  fi
  # A state dir from before the real Node lacks the node's address in the API server's certificate.
  if [[ -f "$d/apiserver.crt" ]] && ! openssl x509 -in "$d/apiserver.crt" -noout -text | grep -q "IP Address:$NODE_IP"; then
    rm -f "$d/apiserver.crt"
  fi
  sign_cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # The real Node's identities: the Node authorizer knows a kubelet by
  # system:node:<name> in group system:nodes; kube-proxy is system:kube-proxy
  # (bound to system:node-proxier by default); the API server shows its own
  # client certificate to kubelets, which check it against this CA.
  node=$(bash "$HERE/node.sh" node-name)
  sign_cert "kubelet-$node" "/O=system:nodes/CN=system:node:$node"
  sign_cert kubelet-serving "/CN=$node" "IP:$NODE_IP,IP:127.0.0.1,DNS:$node,DNS:localhost"
  sign_cert kube-proxy "/CN=system:kube-proxy"
  sign_cert apiserver-kubelet-client "/O=fluxora:apiservers/CN=kube-apiserver-kubelet-client"
}

# write_cert_kubeconfig <name> <file>: a kubeconfig that authenticates with pki/<name>.crt.
write_cert_kubeconfig() {
  cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fluxora-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $CP_DIR/pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $CP_DIR/pki/$1.crt
    client-key: $CP_DIR/pki/$1.key
contexts:
- name: fluxora-local
  context: {cluster: fluxora-local, user: $1}
current-context: fluxora-local
EOF
}

write_kubeconfig() { # write_kubeconfig <admin|operator> <file>
  local token
  token=$(cat "$CP_DIR/$1.token")
  cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fluxora-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $CP_DIR/pki/ca.crt
users:
- name: $1
  user:
    token: $token
contexts:
- name: fluxora-local
  context: {cluster: fluxora-local, user: $1, namespace: default}
current-context: fluxora-local
EOF
}

# kwok needs Stage definitions for how simulated Nodes and Pods move through
# their lifecycle. We use the "fast" stages that ship inside the pinned kwok
# module (nodes become Ready and keep a heartbeat Lease; pods become Ready at
# once; pods owned by a Job complete), read from the Go module cache rather
# than copied into this repository.
write_kwok_stages() {
  local dir f
  dir=$(cd "$HERE/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  : >"$CP_DIR/kwok-stages.yaml"
  for f in "$dir"/kustomize/stage/node/fast/*.yaml "$dir"/kustomize/stage/node/heartbeat-with-lease/*.yaml \
    "$dir"/kustomize/stage/pod/fast/*.yaml; do
    [[ "$(basename "$f")" == kustomization.yaml ]] && continue
    { cat "$f"; echo "---"; } >>"$CP_DIR/kwok-stages.yaml"
  done
}

create_nodes() {
  local i
  for ((i = 0; i < NODES; i++)); do
    cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake}
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
    $NODE_KIND_LABEL: kwok
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1100"}
  capacity: {cpu: "64", memory: 256Gi, pods: "1100"}
  nodeInfo: {architecture: amd64, kubeletVersion: fake, kubeProxyVersion: fake, operatingSystem: linux}
  phase: Running
---
EOF
  done | "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" apply -f - >/dev/null
}

start_apiserver() {
  KIND=${KIND:-$(node_kind)}
  local net=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1)
  if has_real; then
    # Pods reach the API server at the node's address, through the `kubernetes`
    # Service; the API server reaches kubelets with its own client certificate
    # and checks theirs.
    net=(--bind-address=0.0.0.0 --advertise-address="$NODE_IP"
      --kubelet-client-certificate="$CP_DIR/pki/apiserver-kubelet-client.crt"
      --kubelet-client-key="$CP_DIR/pki/apiserver-kubelet-client.key"
      --kubelet-certificate-authority="$CP_DIR/pki/ca.crt"
      --kubelet-preferred-address-types=InternalIP,Hostname)
  fi
  start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" "${net[@]}" \
    --enable-admission-plugins=NodeRestriction,PodNodeSelector --admission-control-config-file="$CP_DIR/admission.yaml" \
    --secure-port="$API_PORT" --tls-cert-file="$CP_DIR/pki/apiserver.crt" --tls-private-key-file="$CP_DIR/pki/apiserver.key" \
    --client-ca-file="$CP_DIR/pki/ca.crt" --token-auth-file="$CP_DIR/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$CP_DIR/pki/sa.pub" \
    --service-account-signing-key-file="$CP_DIR/pki/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true --cert-dir="$CP_DIR/pki" --profiling=false --v=1 \
    --audit-policy-file="$CP_DIR/audit-policy.yaml" --audit-log-path="$CP_DIR/logs/audit.log" \
    --audit-log-format=json --audit-log-mode=blocking --audit-log-maxsize=200 --audit-log-maxbackup=1
  wait_for 90 kube-apiserver api_healthy
}

# Restarts kube-apiserver alone (state in etcd is kept), for fault-injection
# tests: watches drop, and the new watch cache no longer holds old versions,
# so clients resuming from them get 410 Gone.
restart_apiserver() {
  local pid
  pid=$(cat "$CP_DIR/pids/kube-apiserver")
  # SIGKILL, like a crashed or OOM-killed API server: no graceful goodbye to clients.
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  start_apiserver
}

# Compacts etcd's history up to its current revision, as kube-apiserver does
# every few minutes; old resourceVersions are then gone for good.
# kwok moves simulated pods through their lifecycle at once: a Job's pod
# completes before anything could run in it. Pausing kwok (SIGSTOP) freezes
# every simulated pod where it is, so a local process can do the pod's work
# (e.g. `fluxora train` via hack/run-local.ts) before the Job is seen to finish.
pause_pods() { # pause_pods STOP|CONT
  [[ -f "$CP_DIR/pids/kwok" ]] || { log "kwok is not running"; return 1; }
  kill -"$1" "$(cat "$CP_DIR/pids/kwok")"
  log "kwok $([[ $1 == STOP ]] && echo paused: simulated pods stay as they are || echo resumed)"
}

compact_etcd() {
  local rev
  rev=$(curl -fs -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA==","limit":1}' |
    sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
  curl -fs -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
  echo "$rev"
}

up() {
  local fresh=${1:-}
  build
  if [[ "$fresh" != "--fresh" ]] && api_healthy; then
    log "already running: KUBECONFIG=$KUBECONFIG_FILE"
    echo "$KUBECONFIG_FILE"
    return 0
  fi
  down >/dev/null 2>&1 || true
  local start=$SECONDS
  rm -rf "$CP_DIR/etcd" "$CP_DIR/logs" "$CP_DIR/pids" "$CP_DIR/node-kind"
  mkdir -p "$CP_DIR/logs" "$CP_DIR/pids" "$CP_DIR/etcd"
  KIND=$(node_kind)
  if has_real && [[ -f /run/fluxora/owner && "$(cat /run/fluxora/owner)" != "$CP_DIR" ]] &&
    [[ -S /run/fluxora/containerd.sock ]]; then
    log "the real Node already belongs to the control plane in $(cat /run/fluxora/owner); use FLUXORA_NODE_KIND=kwok here"
    return 1
  fi
  echo "$KIND" >"$CP_DIR/node-kind"
  make_certs
  [[ -f "$CP_DIR/admin.token" ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CP_DIR/admin.token"
  [[ -f "$CP_DIR/operator.token" ]] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CP_DIR/operator.token"
  # Two identities: an admin for tests and kubectl, and "fluxora-operator",
  # which holds only what the operator's ClusterRole grants, so tests exercise
  # the same RBAC the chart installs.
  {
    printf '%s,admin,admin,system:masters\n' "$(cat "$CP_DIR/admin.token")"
    printf '%s,fluxora-operator,fluxora-operator,fluxora:operators\n' "$(cat "$CP_DIR/operator.token")"
  } >"$CP_DIR/tokens.csv"
  # Audit only the operator's requests: tests count its writes server-side
  # (e.g. "a no-op resync writes nothing") from this log.
  cat >"$CP_DIR/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [fluxora-operator]
- level: None
EOF
  # PodNodeSelector: a namespace's annotation pins its pods to a kind of Node;
  # pods in other namespaces go to the real Node when there is one.
  {
    echo "apiVersion: apiserver.config.k8s.io/v1"
    echo "kind: AdmissionConfiguration"
    echo "plugins:"
    echo "- name: PodNodeSelector"
    echo "  configuration:"
    echo "    podNodeSelectorPluginConfig:"
    if has_real; then echo "      clusterDefaultNodeSelector: $NODE_KIND_LABEL=real"; else echo "      clusterDefaultNodeSelector: \"\""; fi
  } >"$CP_DIR/admission.yaml"
  write_kubeconfig admin "$KUBECONFIG_FILE"
  write_kubeconfig operator "$CP_DIR/operator.kubeconfig"
  write_cert_kubeconfig "kubelet-$(bash "$HERE/node.sh" node-name)" "$CP_DIR/kubelet.kubeconfig"
  write_cert_kubeconfig kube-proxy "$CP_DIR/kube-proxy.kubeconfig"

  start_bg etcd "$K8S_BIN/etcd" --name=fluxora --data-dir="$CP_DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="fluxora=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level=warn
  wait_for 30 etcd curl -fs --max-time 1 "http://127.0.0.1:$ETCD_PORT/health"

  start_apiserver

  local common=(--kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE"
    --authorization-kubeconfig="$KUBECONFIG_FILE" --bind-address=127.0.0.1 --leader-elect=false --profiling=false)
  start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" "${common[@]}" --secure-port="$KCM_PORT" \
    --service-account-private-key-file="$CP_DIR/pki/sa.key" --root-ca-file="$CP_DIR/pki/ca.crt" \
    --cluster-signing-cert-file="$CP_DIR/pki/ca.crt" --cluster-signing-key-file="$CP_DIR/pki/ca.key" \
    --use-service-account-credentials=false --concurrent-deployment-syncs=10 --concurrent-replicaset-syncs=10 \
    --concurrent-gc-syncs=20 --kube-api-qps=200 --kube-api-burst=400
  start_bg kube-scheduler "$K8S_BIN/kube-scheduler" "${common[@]}" --secure-port="$SCHED_PORT" \
    --kube-api-qps=200 --kube-api-burst=400
  if has_kwok; then
    write_kwok_stages
    start_bg kwok "$KWOK_BIN/kwok" --config="$CP_DIR/kwok-stages.yaml" --kubeconfig="$KUBECONFIG_FILE" \
      --node-lease-duration-seconds=40 --manage-all-nodes=false \
      --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
      --server-address="127.0.0.1:$KWOK_PORT"
    create_nodes
  fi
  # The API server's kubelet client may read logs, exec and port-forward on every kubelet.
  "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" create clusterrolebinding fluxora:apiserver-kubelet-client \
    --clusterrole=system:kubelet-api-admin --user=kube-apiserver-kubelet-client >/dev/null
  # The control plane is usable once the default ServiceAccount exists (the
  # token controller in kube-controller-manager makes it) and the nodes are Ready.
  wait_for 90 "default ServiceAccount" "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" get serviceaccount default -o name
  if has_kwok; then
    wait_for 60 "kwok nodes Ready" "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" wait --for=condition=Ready \
      node -l "$NODE_KIND_LABEL=kwok" --timeout=2s
  fi
  if has_real; then
    mkdir -p /run/fluxora && echo "$CP_DIR" >/run/fluxora/owner
    FLUXORA_CP_DIR="$CP_DIR" FLUXORA_CP_PORT="$API_PORT" bash "$HERE/node.sh" up
  fi
  log "started in $((SECONDS - start))s ($KIND Nodes): KUBECONFIG=$KUBECONFIG_FILE"
  echo "$KUBECONFIG_FILE"
}

down() {
  local f pid
  [[ -d "$CP_DIR/pids" ]] || return 0
  if [[ -f "$CP_DIR/pids/kubelet" || -f "$CP_DIR/pids/containerd" ]]; then
    FLUXORA_CP_DIR="$CP_DIR" FLUXORA_CP_PORT="$API_PORT" bash "$HERE/node.sh" down
    rm -f /run/fluxora/owner
  fi
  for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    f="$CP_DIR/pids/$name"
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$f"
  done
  log "stopped"
}

case "${1:-}" in
  build) build ;;
  up) up "${2:-}" ;;
  down) down ;;
  status) api_healthy ;;
  restart-apiserver) restart_apiserver ;;
  compact-etcd) compact_etcd ;;
  pause-pods) pause_pods STOP ;;
  resume-pods) pause_pods CONT ;;
  env) echo "export KUBECONFIG=$KUBECONFIG_FILE PATH=$K8S_BIN:\$PATH" ;;
  node-kind) cat "$CP_DIR/node-kind" ;;
  bin-dir) echo "$K8S_BIN" ;;
  *)
    echo "usage: $0 build|up [--fresh]|down|status|env|bin-dir|restart-apiserver|compact-etcd|pause-pods|resume-pods" >&2
    exit 2
    ;;
esac
