// Command dockerfile-lint runs BuildKit's Dockerfile checks, the same rules
// `docker build --check` applies (github.com/moby/buildkit/frontend/dockerfile/linter),
// without a container engine and without a network.
//
//	dockerfile-lint [Dockerfile...]   (default: ./Dockerfile)
//
// Prints one line per finding, "<file>:<line>: <Rule>: <detail>", and exits
// 1 when there is any finding, 2 when a file cannot be read or parsed.
// A `# check=skip=<Rule>` directive in the Dockerfile is honoured as by docker.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// offlineImages stands in for the registry: BuildKit resolves every base
// image's config while linting (for its platform and environment). Without a
// network we answer with a minimal non-empty image for the requested
// platform; the rules that read a base image's ENV therefore see none, which
// can only add findings (UndefinedVar), never hide one.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	goos, arch := "linux", runtime.GOARCH
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		goos, arch = opt.ImageOpt.Platform.OS, opt.ImageOpt.Platform.Architecture
	}
	config, err := json.Marshal(map[string]any{
		"os":           goos,
		"architecture": arch,
		"config":       map[string]any{},
		// One layer, so the base is not mistaken for `scratch`.
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
	})
	return ref, "", config, err
}

func lintFile(path string) (findings int, err error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	source := llb.NewSourceMap(nil, path, "Dockerfile", dt)
	source.Definition = &llb.Definition{} // the results keep a copy of the source; there is no LLB to attach
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		MetaResolver: offlineImages{},
		SourceMap:    source,
	})
	if err != nil {
		return 0, err
	}
	if res.Error != nil {
		return 0, fmt.Errorf("%s:%d: %s", path, firstLine(res.Error.Location.Ranges), res.Error.Message)
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = firstLine(w.Location.Ranges)
		}
		fmt.Printf("%s:%d: %s: %s (%s)\n", path, line, w.RuleName, w.Detail, w.URL)
	}
	return len(res.Warnings), nil
}

func firstLine(ranges []*pb.Range) int {
	if len(ranges) == 0 || ranges[0].Start == nil {
		return 0
	}
	return int(ranges[0].Start.Line)
}

func main() {
	files := os.Args[1:]
	if len(files) == 0 {
		files = []string{"Dockerfile"}
	}
	total := 0
	for _, f := range files {
		n, err := lintFile(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockerfile-lint: %v\n", err)
			os.Exit(2)
		}
		total += n
	}
	if total > 0 {
		fmt.Fprintf(os.Stderr, "dockerfile-lint: %d finding(s)\n", total)
		os.Exit(1)
	}
}
