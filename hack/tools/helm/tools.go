//go:build tools

// Package tools records the main packages built from this module so that
// 'go mod tidy' keeps their dependencies in go.sum.
package tools

import (
	_ "github.com/yannh/kubeconform/cmd/kubeconform"
	_ "helm.sh/helm/v3/cmd/helm"
)
