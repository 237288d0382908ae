// Package hack holds the build scripts' tests; the scripts are hack/*.sh.
package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeGo stands in for the go command in testbin.sh: each `go build -o PATH` takes a
// second, logs PATH and writes an executable there; `go mod download -json` names an
// empty go.mod; everything else does nothing. So the script runs end to end in seconds.
const fakeGo = `#!/usr/bin/env bash
case "$1 $2" in
  "mod download")
    printf 'module k8s.io/kubernetes\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n' > "$PWD/fake.mod"
    printf '{"GoMod": "%s"}\n' "$PWD/fake.mod" ;;
  build*)
    out=""
    while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
    echo "$out" >> "$FAKE_GO_LOG"
    sleep 1
    printf '#!/bin/sh\n' > "$out"; chmod +x "$out" ;;
esac
`

// TestTestbinConcurrentRunsBuildOnce guards issue 16 §1.6: `make test` and `make demo`
// started together both built kube-apiserver, and the second deleted the first's work
// directory mid-build. Two runs of testbin.sh at once now build each binary once (the
// second waits for the first's lock), both print the same directory holding both
// binaries, and no work directory is left behind.
func TestTestbinConcurrentRunsBuildOnce(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "fakebin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "cache")
	goLog := filepath.Join(tmp, "go.log")
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"LBSG_CACHE="+cache, "FAKE_GO_LOG="+goLog, "LBSG_TESTBIN_LOCK_WAIT=60")

	type result struct {
		stdout, stderr string
		err            error
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("bash", "testbin.sh")
			cmd.Env = env
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			results[i] = result{out.String(), errOut.String(), err}
		}()
	}
	wg.Wait()

	var dirs []string
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("run %d: %v\n%s", i, r.err, r.stderr)
		}
		dirs = append(dirs, strings.TrimSpace(r.stdout))
	}
	if dirs[0] != dirs[1] || !strings.HasPrefix(dirs[0], filepath.Join(cache, "testbin")) {
		t.Errorf("the runs print %q and %q, want one directory in the cache", dirs[0], dirs[1])
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if fi, err := os.Stat(filepath.Join(dirs[0], b)); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s: %v", b, err)
		}
	}
	raw, err := os.ReadFile(goLog)
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	for _, p := range strings.Fields(string(raw)) {
		built = append(built, filepath.Base(p))
	}
	slices.Sort(built)
	if !slices.Equal(built, []string{"etcd", "kube-apiserver"}) {
		t.Errorf("go build ran for %v, want etcd and kube-apiserver once each", built)
	}
	if !strings.Contains(results[0].stderr+results[1].stderr, "waiting for it") {
		t.Errorf("neither run waited for the other:\n%s\n%s", results[0].stderr, results[1].stderr)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "build", "run.*"))
	if len(left) > 0 {
		t.Errorf("work directories left behind: %v", left)
	}

	// A third run finds the binaries without building or waiting.
	cmd := exec.Command("bash", "testbin.sh")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != dirs[0] {
		t.Errorf("a later run: %v, %q", err, out)
	}
	if raw2, _ := os.ReadFile(goLog); len(raw2) != len(raw) {
		t.Errorf("a later run built again")
	}
}
