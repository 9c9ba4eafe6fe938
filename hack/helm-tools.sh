#!/usr/bin/env bash
# Builds Helm and kubeconform from the Go modules pinned in
# hack/tools/helm/go.mod into ~/.cache/fluxora/bin/<tool>-<version>/ (once per
# version) and prints the directory holding both binaries.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
ver() { awk -v m="$1" '$1==m{print $2}' "$HERE/tools/helm/go.mod"; }
DIR="$CACHE/bin/helm-$(ver helm.sh/helm/v3)-kubeconform-$(ver github.com/yannh/kubeconform)"
if [[ ! -x "$DIR/helm" || ! -x "$DIR/kubeconform" ]]; then
  echo "[helm-tools] building helm and kubeconform into $DIR" >&2
  mkdir -p "$DIR.tmp"
  (cd "$HERE/tools/helm" && go build -ldflags='-s -w' -o "$DIR.tmp/" helm.sh/helm/v3/cmd/helm github.com/yannh/kubeconform/cmd/kubeconform)
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
fi
echo "$DIR"
