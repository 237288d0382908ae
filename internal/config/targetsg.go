package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// lbsg's own flags that bound what one tenant may put on a shared target (node or pod)
// security group.
const (
	FlagServiceNodePortRange                     = "service-node-port-range"
	FlagAllowClientCIDRRulesOutsideNodePortRange = "allow-client-cidr-rules-outside-node-port-range"
	FlagSGRulesNamespaceShare                    = "sg-rules-namespace-share"
)

// Defaults of the shared-SG limits. DefaultServiceNodePortRange is kube-apiserver's
// default. DefaultSGRulesNamespaceShare keeps one namespace to a quarter of a shared SG's
// rule quota (15 of AWS's default 60), so that a tenant with many source ranges leaves
// room for at least three others, while an NLB without security groups with a few ports
// and a few source ranges still fits.
var DefaultServiceNodePortRange = sgrules.PortRange{From: 30000, To: 32767}

const DefaultSGRulesNamespaceShare = 25

// TargetSGLimits bound the rules one owner or namespace may put on a shared target SG.
type TargetSGLimits struct {
	// ServiceNodePortRange (--service-node-port-range, kube-apiserver's flag of that
	// name, default 30000-32767) is the cluster's NodePort range: rules from lbsg's source
	// SGs never span ports inside and outside it, and client CIDR rules of NLBs without
	// security groups land on target SGs only inside it.
	ServiceNodePortRange sgrules.PortRange
	// AllowClientCIDRRulesOutsideNodePortRange
	// (--allow-client-cidr-rules-outside-node-port-range, default false) lets client CIDR
	// rules of NLBs without security groups open ports outside the NodePort range on
	// target SGs (ip targets on the node SG with the VPC CNI).
	AllowClientCIDRRulesOutsideNodePortRange bool
	// SGRulesNamespaceShare (--sg-rules-namespace-share, default 25) is the percentage of
	// --sg-rules-quota that the Services and bindings of one namespace may ask for on one
	// target SG.
	SGRulesNamespaceShare int
}

func (l *TargetSGLimits) addFlags(fs *pflag.FlagSet) {
	l.ServiceNodePortRange = DefaultServiceNodePortRange
	fs.Var(&portRangeValue{r: &l.ServiceNodePortRange}, FlagServiceNodePortRange,
		"The cluster's NodePort range, as given to kube-apiserver: rules on target security groups never span ports inside and outside it, and client CIDR rules of NLBs without security groups stay inside it")
	fs.BoolVar(&l.AllowClientCIDRRulesOutsideNodePortRange, FlagAllowClientCIDRRulesOutsideNodePortRange, false,
		"Let client CIDR rules of NLBs without security groups open target ports outside the NodePort range on target security groups (with ip targets and the VPC CNI: on the node security group of every node)")
	fs.IntVar(&l.SGRulesNamespaceShare, FlagSGRulesNamespaceShare, DefaultSGRulesNamespaceShare,
		"Percentage of --sg-rules-quota the load balancers of one namespace may use on one shared target security group; 100 lets one namespace use it all")
}

func (l *TargetSGLimits) validate(add func(format string, args ...any)) {
	if l.SGRulesNamespaceShare < 1 || l.SGRulesNamespaceShare > 100 {
		add("invalid value %d for --%s: must be a percentage from 1 to 100", l.SGRulesNamespaceShare, FlagSGRulesNamespaceShare)
	}
}

// NamespaceRuleShare is the rules (per address family) one namespace may ask for on one
// target SG: its share of the quota, at least 1; 0 (no share: the quota alone applies)
// for a share of 100.
func (c *Config) NamespaceRuleShare() int {
	share := c.SGRulesNamespaceShare
	if share <= 0 {
		share = DefaultSGRulesNamespaceShare
	}
	if share >= 100 {
		return 0
	}
	quota := c.SGRulesQuota
	if quota <= 0 {
		quota = sgrules.DefaultRulesPerSG
	}
	return max(1, quota*share/100)
}

// portRangeValue is a pflag.Value for FROM-TO port ranges.
type portRangeValue struct{ r *sgrules.PortRange }

func (v *portRangeValue) String() string {
	if v.r == nil {
		return ""
	}
	return fmt.Sprintf("%d-%d", v.r.From, v.r.To)
}

func (v *portRangeValue) Type() string { return "portRange" }

func (v *portRangeValue) Set(s string) error {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return fmt.Errorf("%q is not a port range: write FROM-TO, e.g. 30000-32767", s)
	}
	f, err1 := strconv.Atoi(from)
	t, err2 := strconv.Atoi(to)
	if err1 != nil || err2 != nil || f < 1 || t > sgrules.MaxPort || f > t {
		return fmt.Errorf("%q is not a port range: write FROM-TO with 1 <= FROM <= TO <= 65535, e.g. 30000-32767", s)
	}
	*v.r = sgrules.PortRange{From: int32(f), To: int32(t)}
	return nil
}
