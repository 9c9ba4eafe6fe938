//go:build tools

// Package tools records the MinIO main package so 'go mod tidy' keeps its
// dependencies in go.sum.
package tools

import _ "github.com/minio/minio"
