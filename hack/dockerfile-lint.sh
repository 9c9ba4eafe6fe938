#!/usr/bin/env bash
# Builds hack/tools/dockerfile-lint (BuildKit's Dockerfile linter, the rules
# of `docker build --check`, behind a small offline CLI) into
# ~/.cache/fluxora/bin/dockerfile-lint-<buildkit version>-<source hash>/ and
# prints the binary's path. hadolint is not packaged for Debian bookworm and
# is written in Haskell, so it cannot be built from the registries we reach.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
src="$HERE/tools/dockerfile-lint"
version=$(awk '$1=="require" && $2=="github.com/moby/buildkit"{print $3; exit} $1=="github.com/moby/buildkit"{print $2; exit}' "$src/go.mod")
hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
bin="$CACHE/bin/dockerfile-lint-$version-$hash/dockerfile-lint"
if [[ ! -x "$bin" ]]; then
  echo "[dockerfile-lint] building $bin" >&2
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && go build -ldflags='-s -w' -o "$bin.tmp" .) && mv "$bin.tmp" "$bin"
fi
echo "$bin"
