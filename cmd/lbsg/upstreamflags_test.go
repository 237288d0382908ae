package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// mainArgsEnv carries the arguments TestMainProcess runs main with, one per line.
const mainArgsEnv = "LBSG_TEST_MAIN_ARGS"

// TestMainProcess is the binary, for tests that run it in a process of its own: it runs
// main with the arguments of mainArgsEnv, and does nothing without it.
func TestMainProcess(t *testing.T) {
	raw, ok := os.LookupEnv(mainArgsEnv)
	if !ok {
		return
	}
	os.Args = append([]string{"lbsg"}, strings.Split(raw, "\n")...)
	main()
	os.Exit(0)
}

// TestControllerStartsWithEveryUpstreamFlag runs `lbsg controller` as the binary does, with
// every flag of upstream's current release (docs/upstream-flags.txt, --log-level=warn in
// place of info: upstream accepts any level). lbsg gets past its flags and stops only where
// it needs a cluster (the list's --kubeconfig does not exist), having logged once which
// upstream flags it ignores and that it logs at info.
func TestControllerStartsWithEveryUpstreamFlag(t *testing.T) {
	f, err := os.Open("../../docs/upstream-flags.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := []string{"controller"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "--") {
			continue
		}
		if strings.HasPrefix(line, "--log-level=") {
			line = "--log-level=warn"
		}
		args = append(args, line)
	}
	if len(args) < 50 {
		t.Fatalf("only %d arguments read", len(args))
	}

	// A process of its own, as the binary runs: its logger is the one the controller
	// command sets up, on its own stderr.
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), mainArgsEnv+"="+strings.Join(args, "\n"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	runErr := cmd.Run()
	out := stderr.String()

	if runErr == nil {
		t.Fatal("the controller ran without a cluster")
	}
	last := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	if !strings.Contains(last, "error: load kubeconfig") || strings.Contains(out, "invalid flags") || strings.Contains(out, "unknown") {
		t.Fatalf("the controller stopped on its flags, not for want of a cluster (%v):\n%s", runErr, out)
	}
	if n := strings.Count(out, "upstream flags accepted but not implemented by lbsg"); n != 1 {
		t.Errorf("the ignored flags are logged %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{"required-secrets-label", "quic-environment-variable-name", "gateway-class-max-concurrent-reconciles", "GatewayListenerSet",
		`--log-level=\"warn\"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the start-up log does not name %s:\n%s", want, out)
		}
	}
}
