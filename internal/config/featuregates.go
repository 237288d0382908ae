package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Feature gates lbsg implements.
const (
	GateNLBSecurityGroup             = "NLBSecurityGroup"
	GateEnableDefaultTagsLowPriority = "EnableDefaultTagsLowPriority"
	GateIngressPlanAnnotation        = "IngressPlanAnnotation"
)

type gate struct {
	def         bool // upstream's default
	implemented bool // lbsg acts on it
}

// knownGates are upstream's gate names (pkg/config/feature_gates.go) with upstream's
// defaults. Gates lbsg does not implement are accepted so an upstream Deployment starts,
// and reported in Config.IgnoredFeatureGates when set.
var knownGates = map[string]gate{
	GateNLBSecurityGroup:             {def: true, implemented: true},
	GateEnableDefaultTagsLowPriority: {def: false, implemented: true},
	GateIngressPlanAnnotation:        {def: false, implemented: true},

	"ListenerRulesTagging":          {def: true},
	"WeightedTargetGroups":          {def: true},
	"ServiceTypeLoadBalancerOnly":   {def: false},
	"EndpointsFailOpen":             {def: true},
	"EnableServiceController":       {def: true},
	"EnableIPTargetType":            {def: true},
	"EnableTCPUDPListener":          {def: false},
	"EnableRGTAPI":                  {def: false},
	"SubnetsClusterTagCheck":        {def: true},
	"NLBHealthCheckAdvancedConfig":  {def: true},
	"ALBSingleSubnet":               {def: false},
	"LBCapacityReservation":         {def: true},
	"SubnetDiscoveryByReachability": {def: true},
	"NLBGatewayAPI":                 {def: true},
	"ALBGatewayAPI":                 {def: true},
	"GlobalAcceleratorController":   {def: false},
	"EnhancedDefaultBehavior":       {def: false},
	"ALBTargetControlAgent":         {def: false},
	"EnableCertificateManagement":   {def: false},
	"GatewayListenerSet":            {def: true},
}

// KnownFeatureGates returns the name of every upstream feature gate, sorted: the names
// --feature-gates accepts.
func KnownFeatureGates() []string { return sortedKeys(knownGates) }

func defaultFeatureGates() map[string]bool {
	m := make(map[string]bool, len(knownGates))
	for name, g := range knownGates {
		m[name] = g.def
	}
	return m
}

// featureGatesValue is the pflag.Value of --feature-gates: "k1=bool,k2=bool". Like upstream,
// repeated flags apply on top of each other and a malformed entry fails the parse. Unlike
// upstream, an unknown gate name is kept for Validate, so that it is reported together with
// every other problem.
type featureGatesValue struct{ c *Config }

func (f *featureGatesValue) Set(v string) error {
	settings := map[string]bool{}
	for _, entry := range strings.Split(v, ",") {
		if entry == "" {
			continue
		}
		k, raw, ok := strings.Cut(entry, "=")
		if !ok {
			return fmt.Errorf("invalid mapStringBool %q: want name=true or name=false", entry)
		}
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("invalid mapStringBool %q: want name=true or name=false", entry)
		}
		settings[strings.TrimSpace(k)] = b
	}
	c := f.c
	if c.FeatureGates == nil {
		c.FeatureGates = defaultFeatureGates()
	}
	for k, b := range settings {
		g, known := knownGates[k]
		switch {
		case !known:
			c.unknownGates = insertSorted(c.unknownGates, k)
			continue
		case !g.implemented:
			c.IgnoredFeatureGates = insertSorted(c.IgnoredFeatureGates, k)
		}
		c.FeatureGates[k] = b
	}
	return nil
}

// String lists the gates that differ from their defaults, sorted.
func (f *featureGatesValue) String() string {
	if f.c == nil {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(f.c.FeatureGates) {
		if v := f.c.FeatureGates[k]; v != knownGates[k].def {
			parts = append(parts, k+"="+strconv.FormatBool(v))
		}
	}
	return strings.Join(parts, ",")
}

func (f *featureGatesValue) Type() string { return "mapStringBool" }
