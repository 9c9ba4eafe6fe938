// Command kstatus reads Kubernetes objects as JSON (one per line) on stdin
// and prints, per line, the status Flux's kstatus computes for it:
// {"status":"Current|InProgress|Failed|...","message":"..."}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		// unstructured's own decoder keeps integers as int64, as kstatus expects.
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(in.Bytes()); err != nil {
			_ = out.Encode(result{Error: err.Error()})
			continue
		}
		res, err := status.Compute(obj)
		if err != nil {
			_ = out.Encode(result{Error: err.Error()})
			continue
		}
		_ = out.Encode(result{Status: res.Status.String(), Message: res.Message})
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
