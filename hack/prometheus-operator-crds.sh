#!/usr/bin/env bash
# Generates the Prometheus Operator's CustomResourceDefinitions (ServiceMonitor,
# PrometheusRule, ...) from its Go API types with controller-gen, both pinned in
# hack/tools/prometheus-operator-crds/go.mod, into
# ~/.cache/fluxora/prometheus-operator-crds-<api version>-<source hash>/ (once)
# and prints that directory. The packaging test validates the chart's optional
# ServiceMonitor and PrometheusRule against them, with no network.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${FLUXORA_CACHE:-$HOME/.cache/fluxora}"
src="$HERE/tools/prometheus-operator-crds"
api=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
version=$(awk -v m="$api" '$1==m{print $2; exit}' "$src/go.mod")
hash=$(cat "$src/go.mod" "$src/go.sum" "$src/tools.go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
out="$CACHE/prometheus-operator-crds-$version-$hash"
if [[ ! -f "$out/monitoring.coreos.com_servicemonitors.yaml" ]]; then
  echo "[prometheus-operator-crds] generating $out" >&2
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (
    cd "$src"
    go build -o "$out.tmp/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen
    # maxDescLen=0: descriptions are not needed to validate, and keep the CRDs small.
    "$out.tmp/controller-gen" crd:crdVersions=v1,maxDescLen=0,allowDangerousTypes=true \
      paths="$api/v1" output:crd:dir="$out.tmp"
  )
  rm "$out.tmp/controller-gen"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out"
