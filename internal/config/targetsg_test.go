package config

import (
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/sgrules"
)

func TestTargetSGLimitFlags(t *testing.T) {
	c := mustParse(t, "--service-node-port-range=20000-22767", "--allow-client-cidr-rules-outside-node-port-range", "--sg-rules-namespace-share=50",
		"--sg-rules-quota=100")
	if got, want := c.ServiceNodePortRange, (sgrules.PortRange{From: 20000, To: 22767}); got != want {
		t.Errorf("node port range = %v, want %v", got, want)
	}
	if !c.AllowClientCIDRRulesOutsideNodePortRange {
		t.Error("--allow-client-cidr-rules-outside-node-port-range not set")
	}
	if got := c.NamespaceRuleShare(); got != 50 {
		t.Errorf("NamespaceRuleShare() = %d, want 50 (50%% of 100)", got)
	}
	if got := mustParse(t).NamespaceRuleShare(); got != 15 {
		t.Errorf("default NamespaceRuleShare() = %d, want 15 (25%% of 60)", got)
	}
	if got := mustParse(t, "--sg-rules-namespace-share=100").NamespaceRuleShare(); got != 0 {
		t.Errorf("NamespaceRuleShare() at 100%% = %d, want 0: the quota alone applies", got)
	}
	if got := mustParse(t, "--sg-rules-quota=2", "--sg-rules-namespace-share=1").NamespaceRuleShare(); got != 1 {
		t.Errorf("NamespaceRuleShare() = %d, want at least 1", got)
	}
}

func TestTargetSGLimitFlagsRejectBadValues(t *testing.T) {
	for _, bad := range []string{"30000", "32767-30000", "0-100", "1-65536", "a-b", ""} {
		if _, err := parse(t, "--service-node-port-range="+bad); err == nil || !strings.Contains(err.Error(), "FROM-TO") {
			t.Errorf("--service-node-port-range=%q: err = %v, want one saying FROM-TO", bad, err)
		}
	}
	for _, bad := range []string{"0", "101", "-5"} {
		err := mustParse(t, "--cluster-name=c", "--sg-rules-namespace-share="+bad).Validate()
		if err == nil || !strings.Contains(err.Error(), "--sg-rules-namespace-share: must be a percentage from 1 to 100") {
			t.Errorf("--sg-rules-namespace-share=%s: Validate() = %v", bad, err)
		}
	}
}
