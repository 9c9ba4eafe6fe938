#!/usr/bin/env bash
# `npm run image [-- --out <archive>] [-- --fresh]`: builds the Fluxora
# container image as an OCI image-layout tar, without a container engine
# (see hack/image/build.ts). Needs apt-get/dpkg-deb (Debian) and reaches only
# the package registries: Debian for the base, npm for Node.js and modules.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/node.sh
source "$root/hack/lib/node.sh"
ensure_node
node_home=$(fluxora_node_home)
# dist/ from scratch: tsc never deletes what a removed source file once
# emitted, and the image must hold exactly what this commit builds.
(cd "$root" && rm -rf dist && npm run --silent build)
exec "$root/node_modules/.bin/tsx" "$root/hack/image/build.ts" --node-home "$node_home" "$@"
