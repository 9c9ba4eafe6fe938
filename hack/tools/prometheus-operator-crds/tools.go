//go:build tools

// Package tools pins what hack/prometheus-operator-crds.sh needs to generate
// the Prometheus Operator's CustomResourceDefinitions offline: its API types
// and controller-gen, the generator the Prometheus Operator itself uses. The
// chart's optional ServiceMonitor and PrometheusRule are validated against
// them (kubeconform schemas and a server-side dry-run).
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
