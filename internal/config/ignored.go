package config

import (
	"time"

	"github.com/spf13/pflag"
)

// ignoredUsage is the help text of every upstream flag lbsg accepts but ignores.
const ignoredUsage = "Accepted for compatibility with aws-load-balancer-controller; ignored by lbsg"

// ignoredFlags are upstream flags (pkg/config, pkg/aws/cloud_config.go, pkg/inject) for
// features lbsg does not have. Each is registered with upstream's value type, so a value
// upstream accepts parses here too, and upstream's default. docs/upstream-flags.txt lists
// every flag of upstream's current release; TestEveryUpstreamFlagParses holds the two
// together. aws-vpc-cache-ttl and enable-acm-certificates are kept from earlier releases.
var ignoredFlags = []struct {
	name string
	reg  func(fs *pflag.FlagSet, name string)
}{
	// Webhooks and ALB add-ons.
	{"kube-ca-pem-filepath", str("")},
	{"enable-shield", boolean(true)},
	{"enable-waf", boolean(true)},
	{"enable-wafv2", boolean(true)},
	{"allowed-certificate-authority-arns", slice()},
	{"enable-acm-certificates", boolean(false)},
	{"default-pca-arn", str("")},
	{"quic-environment-variable-name", str("AWS_LBC_QUIC_SERVER_ID")},
	// lbsg reads no Secret, so there is nothing for a label to narrow.
	{"required-secrets-label", str("")},
	// Ingress backends.
	{"tolerate-non-existent-backend-service", boolean(true)},
	{"tolerate-non-existent-backend-action", boolean(true)},
	// AWS client tuning and VPC discovery.
	{"aws-vpc-tags", stringMap()},
	{"aws-vpc-tag-key", str("Name")},
	{"aws-vpc-cache-ttl", duration(0)},
	// Concurrency, back-off and targets.
	{"enable-endpoint-slices", boolean(true)},
	{"targetgroupbinding-max-exponential-backoff-delay", duration(1000 * time.Second)},
	{"targetgroupbinding-requeue-duration", duration(15 * time.Second)},
	{"globalaccelerator-max-concurrent-reconciles", integer(1)},
	{"globalaccelerator-max-exponential-backoff-delay", duration(1000 * time.Second)},
	{"gateway-class-max-concurrent-reconciles", integer(3)},
	{"alb-gateway-max-concurrent-reconciles", integer(3)},
	{"nlb-gateway-max-concurrent-reconciles", integer(3)},
	{"lb-stabilization-monitor-interval", duration(2 * time.Minute)},
	{"max-targets-per-target-group", integer(0)},
}

func str(def string) func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.String(name, def, ignoredUsage) }
}

func boolean(def bool) func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.Bool(name, def, ignoredUsage) }
}

func integer(def int) func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.Int(name, def, ignoredUsage) }
}

func duration(def time.Duration) func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.Duration(name, def, ignoredUsage) }
}

func slice() func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.StringSlice(name, nil, ignoredUsage) }
}

func stringMap() func(*pflag.FlagSet, string) {
	return func(fs *pflag.FlagSet, name string) { fs.StringToString(name, nil, ignoredUsage) }
}

// addIgnoredFlags registers the ignored flags, each wrapped so that setting it records its
// name in c.IgnoredFlags.
func (c *Config) addIgnoredFlags(fs *pflag.FlagSet) {
	for _, f := range ignoredFlags {
		f.reg(fs, f.name)
		flag := fs.Lookup(f.name)
		flag.Value = &recordingValue{Value: flag.Value, name: f.name, c: c}
	}
}

// recordingValue passes Set through to the typed value (so bad input is still rejected) and
// records the flag's name.
type recordingValue struct {
	pflag.Value
	name string
	c    *Config
}

func (r *recordingValue) Set(v string) error {
	if err := r.Value.Set(v); err != nil {
		return err
	}
	r.c.IgnoredFlags = insertSorted(r.c.IgnoredFlags, r.name)
	return nil
}
