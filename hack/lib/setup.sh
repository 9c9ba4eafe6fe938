# Sourced by hack/test.sh and hack/quickstart.sh: what a fresh machine lacks.
# shellcheck shell=bash

# Debian packages the scripts and tests use, installed only when missing.
install_debian_packages() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v git >/dev/null || missing+=(git)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev) # the pause image's static binary
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  command -v lua5.1 >/dev/null || missing+=(lua5.1) # runs the Argo CD health checks (Argo embeds a Lua 5.1)
  # prometheus + promtool: the observability test checks the chart's alert rules and dashboard queries on a real Prometheus
  [[ -x /usr/bin/prometheus && -x /usr/bin/promtool ]] || missing+=(prometheus)
  # The real Node: runc, the CNI plugins, iptables and conntrack for kube-proxy.
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) != 0 ]]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `npm ci` when node_modules does not match package-lock.json and the Node
# major in use (onnxruntime-node and esbuild ship per-platform binaries).
ensure_npm_packages() {
  local stamp="node_modules/.fluxora-installed" want
  want="$(sha256sum package-lock.json .npmrc | sha256sum | cut -c1-16) node-$(node --version | cut -d. -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  echo "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}
