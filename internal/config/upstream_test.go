package config

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// upstreamFlagsFile is the checked-in list of every flag of upstream's current release
// (one argument per line, with a value), which docs/flags.md cites.
const upstreamFlagsFile = "../../docs/upstream-flags.txt"

// readUpstreamArgs reads the arguments of docs/upstream-flags.txt.
func readUpstreamArgs(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(upstreamFlagsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var args []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "--") {
			args = append(args, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(args) < 50 {
		t.Fatalf("only %d flags in %s", len(args), upstreamFlagsFile)
	}
	return args
}

func flagName(arg string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
	return name
}

// TestEveryUpstreamFlagParses guards issue 16 §1.3: upstream's --required-secrets-label,
// --quic-environment-variable-name, --gateway-class-max-concurrent-reconciles and the gate
// GatewayListenerSet stopped lbsg. lbsg is given every flag of upstream's current release
// at once, with values upstream accepts, and every gate upstream has: they parse and
// validate, the flags lbsg does not implement are the ones recorded (to be logged once),
// and every gate is known.
func TestEveryUpstreamFlagParses(t *testing.T) {
	args := readUpstreamArgs(t)
	var own []string
	for _, a := range args {
		// controller-runtime registers --kubeconfig; the binary adds it (cmd/lbsg tests it).
		if flagName(a) != "kubeconfig" {
			own = append(own, a)
		}
	}
	c, err := parse(t, own...)
	if err != nil {
		t.Fatalf("upstream's flags do not parse: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("upstream's flags do not validate: %v", err)
	}
	ignored := map[string]bool{}
	for _, f := range ignoredFlags {
		ignored[f.name] = true
	}
	var wantIgnored []string
	for _, a := range own {
		if ignored[flagName(a)] {
			wantIgnored = append(wantIgnored, flagName(a))
		}
	}
	slices.Sort(wantIgnored)
	if !slices.Equal(c.IgnoredFlags, wantIgnored) {
		t.Errorf("IgnoredFlags = %v, want %v", c.IgnoredFlags, wantIgnored)
	}
	for _, must := range []string{"required-secrets-label", "quic-environment-variable-name", "gateway-class-max-concurrent-reconciles"} {
		if !slices.Contains(c.IgnoredFlags, must) {
			t.Errorf("--%s is not reported as accepted and ignored", must)
		}
	}

	var gates []string
	for _, a := range args {
		if flagName(a) == FlagFeatureGates {
			for _, kv := range strings.Split(strings.SplitN(a, "=", 2)[1], ",") {
				name, _, _ := strings.Cut(kv, "=")
				gates = append(gates, name)
			}
		}
	}
	slices.Sort(gates)
	if known := KnownFeatureGates(); !slices.Equal(gates, known) {
		t.Errorf("%s names the gates %v; lbsg knows %v", upstreamFlagsFile, gates, known)
	}
	if !slices.Contains(c.IgnoredFeatureGates, "GatewayListenerSet") {
		t.Errorf("GatewayListenerSet is not reported as ignored: %v", c.IgnoredFeatureGates)
	}
}
