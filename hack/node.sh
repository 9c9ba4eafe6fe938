#!/usr/bin/env bash
# A real Node for the local control plane (hack/control-plane.sh): a kubelet
# with containerd 2.x and runc, CNI bridge networking, kube-proxy (so Service
# ClusterIPs route) and CoreDNS (so <svc>.<ns>.svc resolves), all built from
# pinned Go modules or taken from Debian, with images built here, so nothing
# is ever pulled from a registry.
#
#   hack/node.sh build    build (or reuse) containerd, CoreDNS and the node images
#   hack/node.sh up       start containerd, kubelet, kube-proxy and CoreDNS (the API server must run)
#   hack/node.sh down     stop them and undo the host changes (mounts, sysctls, bridge)
#   hack/node.sh import <archive>   import an OCI image archive into the node's containerd
#   hack/node.sh check    exit 0 if this machine can run real pods, else say why on stderr
#
# It is called by hack/control-plane.sh, which owns the certificates, the
# kubeconfigs and the ports; the variables below come from there.
#
# The machine's facts this relies on are in ../shared/REAL-NODE.md: root
# without CAP_SYS_RESOURCE (containerd must not write oom_score_adj), cgroup v1
# (kubelet needs failCgroupV1: false, cgroupfs driver), the disk reported as
# ~72% used (image GC and eviction thresholds must not evict local images).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
CP_DIR="${FLUXORA_CP_DIR:-$CACHE/cp}"
NODE_DIR="$CP_DIR/node"
# Short paths: containerd's and the shims' unix sockets must fit in 108 bytes.
RUN_DIR=/run/fluxora
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"

# The node's network. The bridge is the pods' gateway and the node's
# InternalIP: the API server reaches the kubelet there, pods reach the API
# server (through the `kubernetes` Service) and MinIO there. A fixed address
# keeps certificates and tests the same on every machine.
BRIDGE=fluxora0
NODE_IP=10.245.0.1
POD_SUBNET=10.245.0.0/24
CLUSTER_CIDR=10.245.0.0/16
SERVICE_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
NODE_NAME="${FLUXORA_NODE_NAME:-$(hostname)}"
NODE_KIND_LABEL=fluxora.io/node-kind

PAUSE_IMAGE=localhost/fluxora-pause:1

containerd_version() { awk '$1=="require" && $2=="github.com/containerd/containerd/v2"{print $3}' "$HERE/tools/containerd/go.mod"; }
coredns_version() { awk '$1=="require" && $2=="github.com/coredns/coredns"{print $3}' "$HERE/tools/coredns/go.mod"; }
k8s_bin() { bash "$HERE/control-plane.sh" bin-dir; }

CONTAINERD_BIN="$CACHE/bin/containerd-$(containerd_version)"
COREDNS_BIN="$CACHE/bin/coredns-$(coredns_version)"
COREDNS_IMAGE="localhost/fluxora-coredns:$(coredns_version)"
IMAGES_DIR="$CACHE/images"

log() { printf '[node] %s\n' "$*" >&2; }

# Why a machine cannot run real pods, or nothing when it can.
why_not() {
  [[ $(id -u) == 0 ]] || { echo "real pods need root (the kubelet and containerd manage cgroups, mounts and network namespaces)"; return; }
  [[ -d /sys/fs/cgroup/cpu || -f /sys/fs/cgroup/cgroup.controllers ]] || { echo "real pods need cgroups, and /sys/fs/cgroup has none"; return; }
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || { echo "real pods need bridge netfilter (/proc/sys/net/bridge/bridge-nf-call-iptables is missing)"; return; }
  ip link add fluxora-probe type bridge 2>/dev/null || { echo "real pods need to create a network bridge, and 'ip link add ... type bridge' fails here"; return; }
  ip link del fluxora-probe
}

check() {
  local why
  why=$(why_not)
  [[ -z "$why" ]] || { echo "$why" >&2; return 1; }
}

# Debian packages: runc, the CNI plugins, iptables and conntrack (kube-proxy).
apt_packages() {
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  local start=$SECONDS
  apt_packages
  if [[ ! -x "$CONTAINERD_BIN/containerd" ]]; then
    log "building containerd $(containerd_version) into $CONTAINERD_BIN (~2-3 min)"
    rm -rf "$CONTAINERD_BIN.tmp" && mkdir -p "$CONTAINERD_BIN.tmp"
    (cd "$HERE/tools/containerd" && go build -trimpath \
      -ldflags="-s -w -X github.com/containerd/containerd/v2/version.Version=$(containerd_version)" \
      -o "$CONTAINERD_BIN.tmp/" github.com/containerd/containerd/v2/cmd/containerd \
      github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/ctr)
    rm -rf "$CONTAINERD_BIN" && mv "$CONTAINERD_BIN.tmp" "$CONTAINERD_BIN"
  fi
  if [[ ! -x "$COREDNS_BIN/coredns" ]]; then
    log "building CoreDNS $(coredns_version) into $COREDNS_BIN (~3-5 min)"
    rm -rf "$COREDNS_BIN.tmp" && mkdir -p "$COREDNS_BIN.tmp"
    # Static, so its image needs nothing but the binary.
    (cd "$HERE/tools/coredns" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' \
      -o "$COREDNS_BIN.tmp/coredns" github.com/coredns/coredns)
    rm -rf "$COREDNS_BIN" && mv "$COREDNS_BIN.tmp" "$COREDNS_BIN"
  fi
  mkdir -p "$IMAGES_DIR"
  if [[ ! -f "$IMAGES_DIR/pause.oci.tar" ]]; then
    (cd "$HERE/.." && node_modules/.bin/tsx hack/image/pause.ts --out "$IMAGES_DIR/pause.oci.tar" >&2)
  fi
  if [[ ! -f "$IMAGES_DIR/coredns-$(coredns_version).oci.tar" ]]; then
    (cd "$HERE/.." && node_modules/.bin/tsx hack/image/binary-image.ts --binary "$COREDNS_BIN/coredns" --ref "$COREDNS_IMAGE" \
      --out "$IMAGES_DIR/coredns-$(coredns_version).oci.tar" >&2)
  fi
  log "node binaries and images ready in $((SECONDS - start))s"
}

start_bg() { # start_bg <name> <command...>: detached, logs to logs/<name>.log, pid in pids/<name>
  local name=$1
  shift
  setsid "$@" >"$CP_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$CP_DIR/pids/$name"
}

wait_for() { # wait_for <seconds> <description> <command...>
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      log "timed out waiting for $what; last log lines:"
      tail -n 30 "$CP_DIR"/logs/{containerd,kubelet,kube-proxy}.log >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

kubectl_() { "$(k8s_bin)/kubectl" --kubeconfig "$CP_DIR/kubeconfig" "$@"; }
ctr_() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# Host settings the node needs; each original value is saved and put back by `down`.
set_sysctl() { # set_sysctl <path under /proc/sys> <value>
  local f="/proc/sys/$1" saved="$NODE_DIR/sysctl/${1//\//.}"
  mkdir -p "$NODE_DIR/sysctl"
  [[ -f "$saved" ]] || cat "$f" >"$saved"
  echo "$2" >"$f"
}

restore_sysctls() {
  local saved name
  for saved in "$NODE_DIR"/sysctl/*; do
    [[ -f "$saved" ]] || continue
    name=$(basename "$saved")
    cat "$saved" >"/proc/sys/${name//.//}" 2>/dev/null || true
    rm -f "$saved"
  done
}

setup_network() {
  set_sysctl net/ipv4/ip_forward 1
  set_sysctl net/bridge/bridge-nf-call-iptables 1
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Host-originated traffic to ClusterIPs leaves from the node's address, so
  # it works even on a machine without a default route; kube-proxy's DNAT does the rest.
  ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
  mkdir -p "$NODE_DIR/cni"
  cat >"$NODE_DIR/cni/10-fluxora.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "fluxora",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# Removes every iptables rule and chain of the node: kube-proxy's (KUBE-SERVICES...),
# the kubelet's (KUBE-FIREWALL, KUBE-KUBELET-CANARY) and the bridge plugin's
# masquerade chains (CNI-*). Rules are deleted by number: their comments hold
# quotes and spaces that would not survive a shell round trip.
remove_iptables_rules() {
  local ipt t chain n
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in filter nat mangle; do
      for chain in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1=="-A" && / -j (KUBE-|CNI-)/ {print $2}' | sort -u); do
        for n in $("$ipt" -t "$t" -L "$chain" --line-numbers -n 2>/dev/null | awk 'NR>2 && $2 ~ /^(KUBE-|CNI-)/ {print $1}' | sort -rn); do
          "$ipt" -t "$t" -D "$chain" "$n" 2>/dev/null || true
        done
      done
      for chain in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
        "$ipt" -t "$t" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$ipt" -t "$t" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
        "$ipt" -t "$t" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

teardown_network() {
  ip route del "$SERVICE_CIDR" dev "$BRIDGE" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  remove_iptables_rules
  rm -rf "$NODE_DIR/cni/ipam"
  restore_sysctls
}

write_containerd_config() {
  mkdir -p "$NODE_DIR/containerd" "$RUN_DIR"
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
version = 3
root = "$NODE_DIR/containerd/root"
state = "$RUN_DIR/containerd"

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # Built here (hack/image/pause.c) and imported: nothing is pulled.
    sandbox = "$PAUSE_IMAGE"

[plugins.'io.containerd.cri.v1.runtime']
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails with
  # "failed to update /proc/self/oom_score_adj: Permission denied".
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$NODE_DIR/cni"
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      SystemdCgroup = false

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
EOF
}

write_kubelet_config() {
  mkdir -p "$NODE_DIR/kubelet"
  cat >"$NODE_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# The API server's client certificate (and every other caller) is checked:
# x509 against the cluster CA, tokens and authorization through the API server.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CP_DIR/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $CP_DIR/pki/kubelet-serving.crt
tlsPrivateKeyFile: $CP_DIR/pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# cgroup v1 without systemd as init.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# Images here are imported, not pulled: garbage-collecting one would break
# every pod that needs it. The disk reads ~72% used, so keep eviction low.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
serializeImagePulls: false
maxPods: 110
nodeStatusReportFrequency: 10s
syncFrequency: 10s
EOF
}

write_kube_proxy_config() {
  cat >"$NODE_DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CP_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
nodePortAddresses: [$NODE_IP/32]
# Leave the host's conntrack table size alone.
conntrack: {maxPerCore: 0}
iptables: {syncPeriod: 30s, minSyncPeriod: 1s}
EOF
}

import_image() { # import_image <archive>
  local archive=$1
  ctr_ images import --platform linux/amd64 "$archive" >&2
}

coredns_manifest() {
  cat <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [services, namespaces, pods]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:1053 {
        errors
        health :8080
        ready :8181
        kubernetes cluster.local in-addr.arpa ip6.arpa {
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 30
        }
        forward . /etc/resolv.conf
        cache 30
        loop
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      nodeSelector: {$NODE_KIND_LABEL: real}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        # Non-root without capabilities: a port above 1024, mapped to 53 by the Service.
        ports:
        - {name: dns, containerPort: 1053, protocol: UDP}
        - {name: dns-tcp, containerPort: 1053, protocol: TCP}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10}
        resources: {requests: {cpu: 50m, memory: 40Mi}, limits: {memory: 170Mi}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, targetPort: dns, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: dns-tcp, protocol: TCP}
EOF
}

node_ready() {
  [[ "$(kubectl_ get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

up() {
  local why
  why=$(why_not)
  if [[ -n "$why" ]]; then
    log "$why"
    return 1
  fi
  build
  local start=$SECONDS
  mkdir -p "$CP_DIR/logs" "$CP_DIR/pids" "$NODE_DIR"
  setup_network
  write_containerd_config
  write_kubelet_config
  write_kube_proxy_config

  # containerd finds containerd-shim-runc-v2 on PATH; runc is Debian's.
  start_bg containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$NODE_DIR/containerd/config.toml"
  wait_for 30 containerd ctr_ version
  import_image "$IMAGES_DIR/pause.oci.tar"
  import_image "$IMAGES_DIR/coredns-$(coredns_version).oci.tar"

  start_bg kubelet "$(k8s_bin)/kubelet" --config="$NODE_DIR/kubelet-config.yaml" \
    --kubeconfig="$CP_DIR/kubelet.kubeconfig" --root-dir="$NODE_DIR/kubelet" --cert-dir="$NODE_DIR/kubelet/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --node-labels="$NODE_KIND_LABEL=real" --v=1
  start_bg kube-proxy "$(k8s_bin)/kube-proxy" --config="$NODE_DIR/kube-proxy-config.yaml" --v=1
  wait_for 90 "node $NODE_NAME Ready" node_ready
  log "node $NODE_NAME Ready in $((SECONDS - start))s"
  coredns_manifest | kubectl_ apply -f - >/dev/null
}

# Stops a daemon started by start_bg: SIGTERM, then SIGKILL after 5 s.
stop_daemon() {
  local f="$CP_DIR/pids/$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
}

down() {
  stop_daemon kube-proxy
  stop_daemon kubelet
  # Shims outlive containerd: stop every task first, so no container keeps running.
  if [[ -S "$CONTAINERD_SOCK" && -x "$CONTAINERD_BIN/ctr" ]]; then
    local task
    for task in $(ctr_ tasks list -q 2>/dev/null); do
      ctr_ tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
    done
    for _ in $(seq 1 50); do
      [[ -z "$(ctr_ tasks list -q 2>/dev/null | head -1)" ]] && break
      sleep 0.1
    done
  fi
  stop_daemon containerd
  pkill -KILL -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $CONTAINERD_SOCK" 2>/dev/null || true
  # The kubelet mounts volumes (and bind-mounts its root dir onto itself);
  # containerd mounts rootfs snapshots and sandbox files. Deepest first.
  local m
  for m in $(awk -v a="$NODE_DIR" -v b="$RUN_DIR" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$RUN_DIR/containerd" "$CONTAINERD_SOCK" "$CONTAINERD_SOCK.ttrpc"
  teardown_network
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  check) check ;;
  import) import_image "$2" ;;
  node-name) echo "$NODE_NAME" ;;
  *)
    echo "usage: $0 build|up|down|check|import <archive>|node-name" >&2
    exit 2
    ;;
esac
