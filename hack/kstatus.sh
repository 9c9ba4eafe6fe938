#!/usr/bin/env bash
# Builds hack/tools/kstatus (Flux's kstatus library behind a tiny CLI) into
# ~/.cache/fluxora/bin/kstatus-<library version>-<source hash>/ and prints the binary's path.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
src="$HERE/tools/kstatus"
version=$(awk '$1=="github.com/fluxcd/cli-utils"{print $2; exit}' "$src/go.mod")
hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
bin="$CACHE/bin/kstatus-$version-$hash/kstatus"
if [[ ! -x "$bin" ]]; then
  echo "[kstatus] building $bin" >&2
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && go build -o "$bin.tmp" .) && mv "$bin.tmp" "$bin"
fi
echo "$bin"
