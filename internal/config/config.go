// Package config holds lbsg's controller flags, which keep the upstream AWS Load Balancer
// Controller's names, value syntax and defaults, and validates them at start-up. Upstream
// flags for features lbsg does not have are accepted and reported in Config.IgnoredFlags,
// so an existing Deployment's argument list starts lbsg unchanged.
package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/targets"
)

// Flag names, as upstream spells them.
const (
	FlagClusterName                = "cluster-name"
	FlagAWSRegion                  = "aws-region"
	FlagAWSVPCID                   = "aws-vpc-id"
	FlagAWSAPIEndpoints            = "aws-api-endpoints"
	FlagAWSMaxRetries              = "aws-max-retries"
	FlagEnableBackendSG            = "enable-backend-security-group"
	FlagBackendSG                  = "backend-security-group"
	FlagDisableRestrictedSGRules   = "disable-restricted-sg-rules"
	FlagEnableManageBackendSGRules = "enable-manage-backend-security-group-rules"
	FlagFeatureGates               = "feature-gates"
	FlagDefaultTags                = "default-tags"
	FlagExternalManagedTags        = "external-managed-tags"
	FlagServiceTargetENISGTags     = "service-target-eni-security-group-tags"
	FlagLoadBalancerClass          = "load-balancer-class"
	FlagDefaultTargetType          = "default-target-type"
	FlagDefaultLoadBalancerScheme  = "default-load-balancer-scheme"
	FlagDefaultSSLPolicy           = "default-ssl-policy"
	FlagSyncPeriod                 = "sync-period"
	FlagMetricsBindAddr            = "metrics-bind-addr"
	FlagHealthProbeBindAddr        = "health-probe-bind-addr"
	FlagEnableLeaderElection       = "enable-leader-election"
	FlagLeaderElectionID           = "leader-election-id"
	FlagLeaderElectionNamespace    = "leader-election-namespace"
	FlagWatchNamespace             = "watch-namespace"
	FlagServiceMaxConcurrent       = "service-max-concurrent-reconciles"
	FlagIngressMaxConcurrent       = "ingress-max-concurrent-reconciles"
	FlagTGBMaxConcurrent           = "targetgroupbinding-max-concurrent-reconciles"
	FlagIngressClass               = "ingress-class"
	FlagDisableIngressClassAnnot   = "disable-ingress-class-annotation"
	FlagDisableIngressGroupAnnot   = "disable-ingress-group-name-annotation"

	// lbsg's own flags.
	FlagTargetSGRuleBudget = "target-sg-rule-budget"
	FlagSGRulesQuota       = "sg-rules-quota"
	FlagDriftCheckInterval = "drift-check-interval"
	FlagOrphanGracePeriod  = "orphan-grace-period"
	FlagTargetSGSelection  = "target-sg-selection"
	FlagIngressGroupNS     = "ingress-group-namespaces"
)

// Defaults.
const (
	DefaultLoadBalancerClass  = "service.k8s.aws/nlb"
	DefaultLeaderElectionID   = "aws-load-balancer-controller-leader"
	DefaultMetricsBindAddr    = ":8080"
	DefaultHealthProbeAddr    = ":61779"
	DefaultSyncPeriod         = 10 * time.Hour
	DefaultDriftCheckInterval = time.Minute
	// DefaultOrphanGracePeriod: long enough for an object deleted and created again (a
	// restore, a re-apply) to come back before its load balancer is deleted.
	DefaultOrphanGracePeriod = 5 * time.Minute
	DefaultAWSMaxRetries     = 10
	// DefaultMaxConcurrentReconciles is upstream's default worker count per controller.
	DefaultMaxConcurrentReconciles = 3
	DefaultTargetSGRuleBudget      = 1
	DefaultIngressClass            = "alb"
)

// Config is the controller configuration, filled by the flags AddFlags registers.
type Config struct {
	ClusterName, AWSRegion, AWSVPCID string
	// LogLevel is --log-level as given; EffectiveLogLevel is what lbsg logs at.
	LogLevel string
	// AWSAPIEndpoints maps an AWS SDK service ID ("EC2", "Elastic Load Balancing v2", see
	// ParseEndpoints) to a custom endpoint URL.
	AWSAPIEndpoints            map[string]string
	EnableBackendSG            bool              // --enable-backend-security-group, default true
	BackendSG                  string            // --backend-security-group: a user-supplied backend SG ID
	DisableRestrictedSGRules   bool              // --disable-restricted-sg-rules
	EnableManageBackendSGRules bool              // --enable-manage-backend-security-group-rules
	FeatureGates               map[string]bool   // --feature-gates k=bool,...; holds every known gate, defaults included
	DefaultTags                map[string]string // --default-tags k=v,...
	ExternalManagedTags        []string          // --external-managed-tags
	ServiceTargetENISGTags     map[string]string // --service-target-eni-security-group-tags
	LoadBalancerClass          string            // --load-balancer-class, default service.k8s.aws/nlb
	DefaultTargetType          string            // --default-target-type instance|ip, default instance
	// DefaultLoadBalancerScheme is --default-load-balancer-scheme (internal|internet-facing,
	// default internal): the scheme of a new load balancer without a scheme annotation. It
	// feeds the NLB name hash, so it must be honoured for names to match upstream.
	DefaultLoadBalancerScheme string
	// DefaultSSLPolicy is --default-ssl-policy: the security policy of new HTTPS and TLS
	// listeners that no annotation or IngressClassParams gives one.
	DefaultSSLPolicy string
	// TargetSGRuleBudget (--target-sg-rule-budget, lbsg's own) is the number of rules per
	// (protocol, source SG) on each target SG. 1 is upstream's single min..max range; N > 1
	// keeps exact ports until N rules, then merges the closest ports.
	TargetSGRuleBudget int
	// TargetSGSelection (--target-sg-selection, lbsg's own) picks the security groups of a
	// target ENI with several of them: error (upstream's rule), first-tagged or all.
	TargetSGSelection string
	// SGRulesQuota (--sg-rules-quota, lbsg's own, default 60: AWS's default) is the inbound
	// rules per security group and address family that lbsg assumes when it checks a
	// target SG's rules before adding any.
	SGRulesQuota int
	// DriftCheckInterval (--drift-check-interval, lbsg's own, default 1m) is how often AWS
	// state is re-read to repair drift.
	DriftCheckInterval time.Duration
	// OrphanGracePeriod (--orphan-grace-period, lbsg's own, default 5m) is how long a load
	// balancer, target group or managed SG of this cluster must stay without its object
	// (found at the drift checks, confirmed without the cache) before lbsg deletes it.
	OrphanGracePeriod       time.Duration
	SyncPeriod              time.Duration // --sync-period, default 10h
	MetricsBindAddr         string        // --metrics-bind-addr, default ":8080"
	HealthProbeBindAddr     string        // --health-probe-bind-addr, default ":61779"
	EnableLeaderElection    bool          // --enable-leader-election, default true
	LeaderElectionID        string        // --leader-election-id, default aws-load-balancer-controller-leader
	LeaderElectionNamespace string        // --leader-election-namespace
	WatchNamespace          string        // --watch-namespace; empty watches all namespaces
	AWSMaxRetries           int           // --aws-max-retries, default 10
	// ServiceMaxConcurrentReconciles and IngressMaxConcurrentReconciles
	// (--service-max-concurrent-reconciles, --ingress-max-concurrent-reconciles, default
	// 3) are how many Services and Ingress groups are reconciled at once.
	ServiceMaxConcurrentReconciles int
	IngressMaxConcurrentReconciles int
	// TGBMaxConcurrentReconciles (--targetgroupbinding-max-concurrent-reconciles, default
	// 3) is how many TargetGroupBindings are reconciled at once.
	TGBMaxConcurrentReconciles int
	// IngressClass (--ingress-class, default alb) is the kubernetes.io/ingress.class value
	// lbsg serves; "" also serves the Ingresses that name no class when there is no default
	// IngressClass, as upstream.
	IngressClass string
	// DisableIngressClassAnnotation (--disable-ingress-class-annotation) refuses the
	// kubernetes.io/ingress.class annotation; DisableIngressGroupNameAnnotation
	// (--disable-ingress-group-name-annotation) refuses group.name, so that only
	// IngressClassParams set groups.
	DisableIngressClassAnnotation     bool
	DisableIngressGroupNameAnnotation bool
	// IngressGroupNamespaces (--ingress-group-namespaces, lbsg's own, default same) says
	// which namespaces an explicit Ingress group that no IngressClassParams pin takes
	// members from: same (its owner's, plus those it consents to with a ReferenceGrant) or
	// any (upstream's behaviour).
	IngressGroupNamespaces string
	Timeouts               // --reconcile-timeout, --aws-api-timeout (lbsg's own)
	TargetSGLimits         // --service-node-port-range, --sg-rules-namespace-share, … (lbsg's own)
	Webhook                // --enable-pod-readiness-gate-inject, --webhook-*

	// AWSAPIThrottle is --aws-api-throttle: client-side rate limits per AWS API bucket,
	// cloud.DefaultThrottle() with the services the flag names replaced.
	AWSAPIThrottle cloud.Throttle

	// IgnoredFlags names the upstream flags that were set but that lbsg does not implement,
	// sorted, each once. Log them at start-up.
	IgnoredFlags []string
	// IgnoredFeatureGates names the upstream feature gates that were set but that lbsg does
	// not implement, sorted, each once.
	IgnoredFeatureGates []string

	// unknownGates are --feature-gates names no controller knows; Validate reports them.
	unknownGates []string
}

// AddFlags registers every flag on fs, with upstream's defaults, and sets c's fields to
// those defaults. --kubeconfig is not registered: controller-runtime registers it on the
// standard library's flag.CommandLine, which the binary adds to fs.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.ClusterName, FlagClusterName, "", "Kubernetes cluster name (required)")
	fs.StringVar(&c.AWSRegion, FlagAWSRegion, "", "AWS region of the cluster; when empty, the AWS SDK default chain decides (AWS_REGION, shared config)")
	fs.StringVar(&c.AWSVPCID, FlagAWSVPCID, "", "AWS VPC ID of the cluster; when empty, the VPC of the subnets tagged kubernetes.io/cluster/<cluster-name>")
	c.AWSAPIEndpoints = map[string]string{}
	fs.Var(&endpointsValue{m: &c.AWSAPIEndpoints}, FlagAWSAPIEndpoints,
		`Custom AWS API endpoints, format: serviceID1=URL1,serviceID2=URL2 with AWS SDK service IDs, e.g. "EC2=http://127.0.0.1:5000,Elastic Load Balancing v2=http://127.0.0.1:5000"`)
	fs.IntVar(&c.AWSMaxRetries, FlagAWSMaxRetries, DefaultAWSMaxRetries, "Maximum retries for AWS APIs")
	c.AWSAPIThrottle = cloud.DefaultThrottle()
	fs.Var(&throttleValue{t: &c.AWSAPIThrottle}, FlagAWSAPIThrottle,
		"Client-side rate limits for AWS APIs, format: serviceID1:operationRegex1=rate:burst,serviceID2:operationRegex2=rate:burst; "+
			"the rules given for a service replace its defaults (see docs/flags.md)")
	c.addLogLevelFlag(fs)

	fs.BoolVar(&c.EnableBackendSG, FlagEnableBackendSG, true, "Enable the shared backend security group for traffic from load balancers to targets")
	fs.StringVar(&c.BackendSG, FlagBackendSG, "", "ID of a backend security group to use instead of the one lbsg manages")
	fs.BoolVar(&c.DisableRestrictedSGRules, FlagDisableRestrictedSGRules, false, "Open all ports on target security groups instead of only the needed ones")
	fs.BoolVar(&c.EnableManageBackendSGRules, FlagEnableManageBackendSGRules, false,
		"Manage target security group rules for load balancers with user-supplied security groups, unless their annotation says otherwise")
	c.FeatureGates = defaultFeatureGates()
	fs.Var(&featureGatesValue{c: c}, FlagFeatureGates, "A set of key=bool pairs that enable or disable features")

	fs.StringToStringVar(&c.DefaultTags, FlagDefaultTags, nil, "AWS tags added to every AWS resource lbsg manages, format: k1=v1,k2=v2")
	fs.StringSliceVar(&c.ExternalManagedTags, FlagExternalManagedTags, nil, "Tag keys that are managed outside lbsg and left alone")
	fs.StringToStringVar(&c.ServiceTargetENISGTags, FlagServiceTargetENISGTags, nil,
		"AWS tags, in addition to the cluster tag, that pick the security group of a target ENI with several security groups")
	fs.StringVar(&c.LoadBalancerClass, FlagLoadBalancerClass, DefaultLoadBalancerClass,
		"The spec.loadBalancerClass of the Services lbsg reconciles")
	fs.StringVar(&c.DefaultTargetType, FlagDefaultTargetType, "instance", "Default target type for Ingresses and Services: instance or ip")
	fs.StringVar(&c.DefaultLoadBalancerScheme, FlagDefaultLoadBalancerScheme, "internal",
		"Default scheme for new load balancers: internal or internet-facing")
	fs.StringVar(&c.DefaultSSLPolicy, FlagDefaultSSLPolicy, annotations.DefaultSSLPolicy,
		"Security policy of new HTTPS and TLS listeners that no annotation or IngressClassParams gives one")

	fs.IntVar(&c.TargetSGRuleBudget, FlagTargetSGRuleBudget, DefaultTargetSGRuleBudget,
		"Rules per protocol and source security group on each target security group: 1 opens one min..max port range, as upstream; N > 1 keeps exact ports until N rules, then merges the closest ports")
	fs.StringVar(&c.TargetSGSelection, FlagTargetSGSelection, string(targets.PolicyError),
		"Which security groups of a target ENI with several get the rules: error (exactly one tagged for the cluster, as upstream; otherwise a Warning Event and no rule for that ENI), first-tagged (the first tagged one in sorted order) or all (every one)")
	fs.IntVar(&c.SGRulesQuota, FlagSGRulesQuota, sgrules.DefaultRulesPerSG,
		"Inbound rules per security group and address family (the account's EC2 quota): lbsg adds no rule that would take a target security group over it")
	fs.DurationVar(&c.DriftCheckInterval, FlagDriftCheckInterval, DefaultDriftCheckInterval,
		"How often AWS state is re-read to repair drift")
	fs.DurationVar(&c.OrphanGracePeriod, FlagOrphanGracePeriod, DefaultOrphanGracePeriod,
		"How long a load balancer, target group or managed security group of this cluster must stay without its Service or Ingress (checked at each drift check, confirmed without the cache) before lbsg deletes it")

	fs.DurationVar(&c.SyncPeriod, FlagSyncPeriod, DefaultSyncPeriod, "Period at which every object is reconciled again")
	fs.StringVar(&c.MetricsBindAddr, FlagMetricsBindAddr, DefaultMetricsBindAddr, "The address the metrics endpoint binds to")
	fs.StringVar(&c.HealthProbeBindAddr, FlagHealthProbeBindAddr, DefaultHealthProbeAddr, "The address the health probes bind to")
	fs.BoolVar(&c.EnableLeaderElection, FlagEnableLeaderElection, true, "Enable leader election, so that only one replica is active")
	fs.StringVar(&c.LeaderElectionID, FlagLeaderElectionID, DefaultLeaderElectionID, "Name of the leader election lock")
	fs.StringVar(&c.LeaderElectionNamespace, FlagLeaderElectionNamespace, "", "Namespace of the leader election lock")
	fs.StringVar(&c.WatchNamespace, FlagWatchNamespace, "", "Namespace to watch; all namespaces when empty")
	fs.IntVar(&c.ServiceMaxConcurrentReconciles, FlagServiceMaxConcurrent, DefaultMaxConcurrentReconciles,
		"Maximum number of Services reconciled at once")
	fs.IntVar(&c.IngressMaxConcurrentReconciles, FlagIngressMaxConcurrent, DefaultMaxConcurrentReconciles,
		"Maximum number of Ingress groups reconciled at once")
	fs.IntVar(&c.TGBMaxConcurrentReconciles, FlagTGBMaxConcurrent, DefaultMaxConcurrentReconciles,
		"Maximum number of TargetGroupBindings reconciled at once")
	fs.StringVar(&c.IngressClass, FlagIngressClass, DefaultIngressClass,
		`The kubernetes.io/ingress.class annotation value lbsg serves; "" also serves Ingresses with no class when the cluster has no default IngressClass`)
	fs.BoolVar(&c.DisableIngressClassAnnotation, FlagDisableIngressClassAnnot, false,
		"Refuse the kubernetes.io/ingress.class annotation: Ingresses name lbsg's class with spec.ingressClassName")
	fs.BoolVar(&c.DisableIngressGroupNameAnnotation, FlagDisableIngressGroupAnnot, false,
		"Refuse the alb.ingress.kubernetes.io/group.name annotation: only IngressClassParams spec.group.name sets Ingress groups")
	fs.StringVar(&c.IngressGroupNamespaces, FlagIngressGroupNS, string(authz.GroupSameNamespace),
		"Which namespaces an explicit Ingress group takes members from: same (the namespace of its oldest member, and those it allows with a ReferenceGrant) or any")

	c.Timeouts.addFlags(fs)
	c.TargetSGLimits.addFlags(fs)
	c.Webhook.addFlags(fs)
	c.addIgnoredFlags(fs)
}

// IngressGroupScope is --ingress-group-namespaces, once Validate has checked it.
func (c *Config) IngressGroupScope() authz.GroupScope {
	s, _ := authz.ParseGroupScope(c.IngressGroupNamespaces)
	return s
}

// NLBSecurityGroup reports whether the NLBSecurityGroup feature gate is on (default true).
func (c *Config) NLBSecurityGroup() bool { return c.Feature(GateNLBSecurityGroup) }

// Feature reports whether a feature gate is on: its set value, else its default.
func (c *Config) Feature(name string) bool {
	if v, ok := c.FeatureGates[name]; ok {
		return v
	}
	return knownGates[name].def
}

// maxOwnTags is the most tags lbsg itself puts on one resource (cluster, stack and resource
// tags), which --default-tags share AWS's per-resource limit with.
const maxOwnTags = 3

// Validate checks the configuration and returns every problem, joined with errors.Join.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := naming.ValidateClusterName(c.ClusterName); err != nil {
		errs = append(errs, err)
	}
	if c.BackendSG != "" && !strings.HasPrefix(c.BackendSG, "sg-") {
		add("invalid value %v for backend security group id", c.BackendSG)
	}
	if c.EnableManageBackendSGRules && !c.EnableBackendSG {
		add("backend security group must be enabled when manage backend security group rule is enabled")
	}
	for _, g := range c.unknownGates {
		add("invalid --%s: unknown feature: %v", FlagFeatureGates, g)
	}
	for _, k := range sortedKeys(c.DefaultTags) {
		switch reason, fix := naming.TagProblem(k, c.DefaultTags[k]); {
		case k == "":
			add("tag key cannot be empty in %v flag", FlagDefaultTags)
		case naming.IsTrackingTagKey(k):
			add("tag key %v cannot be specified in %v flag: %s; fix: %s", k, FlagDefaultTags, reason, fix)
		case reason != "":
			add("invalid --%v: %s; fix: %s", FlagDefaultTags, reason, fix)
		}
	}
	if n := len(c.DefaultTags); n > naming.MaxTagsPerResource-maxOwnTags {
		add("invalid --%v: %d tags; with lbsg's own tracking tags a resource would exceed AWS's limit of %d tags; fix: give at most %d default tags",
			FlagDefaultTags, n, naming.MaxTagsPerResource, naming.MaxTagsPerResource-maxOwnTags)
	}
	for _, k := range c.ExternalManagedTags {
		if naming.IsTrackingTagKey(k) {
			add("tag key %v cannot be specified in %v flag", k, FlagExternalManagedTags)
		}
		if _, ok := c.DefaultTags[k]; ok {
			add("tag key %v cannot be specified in both %v and %v flag", k, FlagDefaultTags, FlagExternalManagedTags)
		}
	}
	switch c.DefaultTargetType {
	case "instance", "ip":
	default:
		add("invalid value %v for default target type", c.DefaultTargetType)
	}
	switch c.DefaultLoadBalancerScheme {
	case "internal", "internet-facing":
	default:
		add("invalid value %v for default load balancer scheme: must be internal or internet-facing", c.DefaultLoadBalancerScheme)
	}
	if err := annotations.CheckSecurityPolicy("--"+FlagDefaultSSLPolicy, c.DefaultSSLPolicy); err != nil {
		add("invalid value %q for --%s: %s", c.DefaultSSLPolicy, FlagDefaultSSLPolicy, err.Reason)
	}
	if c.TargetSGRuleBudget < 1 {
		add("invalid value %d for --%s: must be at least 1", c.TargetSGRuleBudget, FlagTargetSGRuleBudget)
	}
	if _, err := targets.ParsePolicy(c.TargetSGSelection); err != nil {
		add("invalid value %q for --%s: must be one of error, first-tagged, all", c.TargetSGSelection, FlagTargetSGSelection)
	}
	if c.SGRulesQuota < 1 {
		add("invalid value %d for --%s: must be at least 1", c.SGRulesQuota, FlagSGRulesQuota)
	}
	if c.DriftCheckInterval <= 0 {
		add("invalid value %v for --%s: must be positive", c.DriftCheckInterval, FlagDriftCheckInterval)
	}
	if c.OrphanGracePeriod <= 0 {
		add("invalid value %v for --%s: must be positive", c.OrphanGracePeriod, FlagOrphanGracePeriod)
	}
	if c.ServiceMaxConcurrentReconciles < 1 {
		add("invalid value %d for --%s: must be at least 1", c.ServiceMaxConcurrentReconciles, FlagServiceMaxConcurrent)
	}
	if c.IngressMaxConcurrentReconciles < 1 {
		add("invalid value %d for --%s: must be at least 1", c.IngressMaxConcurrentReconciles, FlagIngressMaxConcurrent)
	}
	if c.TGBMaxConcurrentReconciles < 1 {
		add("invalid value %d for --%s: must be at least 1", c.TGBMaxConcurrentReconciles, FlagTGBMaxConcurrent)
	}
	if _, err := authz.ParseGroupScope(c.IngressGroupNamespaces); err != nil {
		add("invalid value for --%s: %v", FlagIngressGroupNS, err)
	}
	if c.SyncPeriod <= 0 {
		add("invalid value %v for --%s: must be positive", c.SyncPeriod, FlagSyncPeriod)
	}
	if c.AWSMaxRetries < 0 {
		add("invalid value %d for --%s: must not be negative", c.AWSMaxRetries, FlagAWSMaxRetries)
	}
	errs = append(errs, c.Timeouts.validate()...)
	c.Webhook.validate(add)
	c.TargetSGLimits.validate(add)
	if err := validateEndpoints(c.AWSAPIEndpoints); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// insertSorted adds s to the sorted list, once.
func insertSorted(list []string, s string) []string {
	i := sort.SearchStrings(list, s)
	if i < len(list) && list[i] == s {
		return list
	}
	list = append(list, "")
	copy(list[i+1:], list[i:])
	list[i] = s
	return list
}
