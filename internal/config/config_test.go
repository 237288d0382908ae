package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// parse registers the flags on a fresh FlagSet and parses args.
func parse(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	c := &Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	c.AddFlags(fs)
	return c, fs.Parse(args)
}

func mustParse(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := parse(t, args...)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t)
	want := &Config{
		LogLevel:                       "info",
		AWSAPIEndpoints:                map[string]string{},
		EnableBackendSG:                true,
		FeatureGates:                   defaultFeatureGates(),
		LoadBalancerClass:              "service.k8s.aws/nlb",
		DefaultTargetType:              "instance",
		DefaultLoadBalancerScheme:      "internal",
		DefaultSSLPolicy:               "ELBSecurityPolicy-2016-08",
		TargetSGRuleBudget:             1,
		TargetSGSelection:              "error",
		SGRulesQuota:                   60,
		DriftCheckInterval:             time.Minute,
		OrphanGracePeriod:              5 * time.Minute,
		SyncPeriod:                     10 * time.Hour,
		MetricsBindAddr:                ":8080",
		HealthProbeBindAddr:            ":61779",
		EnableLeaderElection:           true,
		LeaderElectionID:               "aws-load-balancer-controller-leader",
		AWSMaxRetries:                  10,
		Timeouts:                       Timeouts{ReconcileTimeout: 3 * time.Minute, AWSAPITimeout: 30 * time.Second},
		TargetSGLimits:                 TargetSGLimits{ServiceNodePortRange: sgrules.PortRange{From: 30000, To: 32767}, SGRulesNamespaceShare: 25},
		AWSAPIThrottle:                 cloud.DefaultThrottle(),
		ServiceMaxConcurrentReconciles: 3,
		IngressMaxConcurrentReconciles: 3,
		TGBMaxConcurrentReconciles:     3,
		IngressClass:                   "alb",
		IngressGroupNamespaces:         "same",
		Webhook: Webhook{EnablePodReadinessGateInject: true, BindPort: 9443,
			CertDir: "/tmp/k8s-webhook-server/serving-certs", CertFile: "tls.crt", KeyFile: "tls.key"},
	}
	if diff := cmp.Diff(want, c, cmpopts.IgnoreUnexported(Config{}), cmpopts.EquateEmpty(), throttleByString); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !c.NLBSecurityGroup() || c.Feature(GateEnableDefaultTagsLowPriority) || c.Feature(GateIngressPlanAnnotation) {
		t.Errorf("gate defaults wrong: %v", c.FeatureGates)
	}
	// Only the cluster name is missing.
	if err := c.Validate(); err == nil || err.Error() != "kubernetes cluster name must be specified" {
		t.Errorf("Validate() = %v, want only the cluster name error", err)
	}
	if err := mustParse(t, "--cluster-name=c").Validate(); err != nil {
		t.Errorf("Validate() with defaults = %v", err)
	}
}

func TestNLBSecurityGroupWithoutFlags(t *testing.T) {
	if !(&Config{}).NLBSecurityGroup() {
		t.Error("a Config built without AddFlags must default NLBSecurityGroup to true")
	}
}

func TestFlagsParse(t *testing.T) {
	c := mustParse(t,
		"--cluster-name=my-cluster",
		"--aws-region=us-west-2",
		"--aws-vpc-id=vpc-123",
		"--enable-backend-security-group=false",
		"--backend-security-group=sg-0abc",
		"--disable-restricted-sg-rules",
		"--feature-gates=NLBSecurityGroup=false, EnableDefaultTagsLowPriority=true",
		"--feature-gates=IngressPlanAnnotation=1",
		"--default-tags=team=a,env=prod",
		"--default-tags=owner=me",
		"--external-managed-tags=Name,cost-center",
		"--service-target-eni-security-group-tags=role=node",
		"--load-balancer-class=example.com/nlb",
		"--default-target-type=ip",
		"--default-load-balancer-scheme=internet-facing",
		"--default-ssl-policy=ELBSecurityPolicy-TLS13-1-2-2021-06",
		"--target-sg-rule-budget=4",
		"--drift-check-interval=30s",
		"--orphan-grace-period=90s",
		"--target-sg-selection=first-tagged",
		"--sync-period=1h",
		"--metrics-bind-addr=:9090",
		"--health-probe-bind-addr=:9091",
		"--enable-leader-election=false",
		"--leader-election-id=lbsg",
		"--leader-election-namespace=kube-system",
		"--watch-namespace=apps",
		"--aws-max-retries=3",
	)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cluster", c.ClusterName, "my-cluster"},
		{"region", c.AWSRegion, "us-west-2"},
		{"vpc", c.AWSVPCID, "vpc-123"},
		{"backend sg enabled", c.EnableBackendSG, false},
		{"backend sg", c.BackendSG, "sg-0abc"},
		{"unrestricted", c.DisableRestrictedSGRules, true},
		{"nlb sg gate", c.NLBSecurityGroup(), false},
		{"low priority gate", c.Feature(GateEnableDefaultTagsLowPriority), true},
		{"plan gate", c.Feature(GateIngressPlanAnnotation), true},
		{"default tags merge across flags", c.DefaultTags, map[string]string{"team": "a", "env": "prod", "owner": "me"}},
		{"external tags", c.ExternalManagedTags, []string{"Name", "cost-center"}},
		{"eni tags", c.ServiceTargetENISGTags, map[string]string{"role": "node"}},
		{"class", c.LoadBalancerClass, "example.com/nlb"},
		{"target type", c.DefaultTargetType, "ip"},
		{"scheme", c.DefaultLoadBalancerScheme, "internet-facing"},
		{"ssl policy", c.DefaultSSLPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06"},
		{"budget", c.TargetSGRuleBudget, 4},
		{"target sg selection", c.TargetSGSelection, "first-tagged"},
		{"drift", c.DriftCheckInterval, 30 * time.Second},
		{"orphan grace", c.OrphanGracePeriod, 90 * time.Second},
		{"sync", c.SyncPeriod, time.Hour},
		{"metrics", c.MetricsBindAddr, ":9090"},
		{"probe", c.HealthProbeBindAddr, ":9091"},
		{"leader", c.EnableLeaderElection, false},
		{"leader id", c.LeaderElectionID, "lbsg"},
		{"leader ns", c.LeaderElectionNamespace, "kube-system"},
		{"watch", c.WatchNamespace, "apps"},
		{"retries", c.AWSMaxRetries, 3},
		{"nothing ignored", c.IgnoredFlags, []string(nil)},
		{"no ignored gates", c.IgnoredFeatureGates, []string(nil)},
	}
	for _, ch := range checks {
		if diff := cmp.Diff(ch.want, ch.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ch.name, diff)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cluster name", nil, "kubernetes cluster name must be specified"},
		{"backend sg id", []string{"--backend-security-group=my-backend"}, "invalid value my-backend for backend security group id"},
		{"manage rules without backend sg",
			[]string{"--enable-manage-backend-security-group-rules", "--enable-backend-security-group=false"},
			"backend security group must be enabled when manage backend security group rule is enabled"},
		{"unknown gate", []string{"--feature-gates=NoSuchGate=true"}, "invalid --feature-gates: unknown feature: NoSuchGate"},
		{"default tag is a tracking key", []string{"--default-tags=elbv2.k8s.aws/cluster=x"},
			"tag key elbv2.k8s.aws/cluster cannot be specified in default-tags flag"},
		{"default tag is a gateway tracking key", []string{"--default-tags=gateway.k8s.aws.nlb/stack=x"},
			"tag key gateway.k8s.aws.nlb/stack cannot be specified in default-tags flag"},
		{"default tag reserved by AWS", []string{"--default-tags=aws:foo=x"},
			`invalid --default-tags: tag key "aws:foo" is reserved: keys starting with "aws:" belong to AWS; fix: remove the tag or rename its key`},
		{"default tag empty key", []string{"--default-tags==x"}, "tag key cannot be empty in default-tags flag"},
		{"external tag is a tracking key", []string{"--external-managed-tags=service.k8s.aws/stack"},
			"tag key service.k8s.aws/stack cannot be specified in external-managed-tags flag"},
		{"default and external collide", []string{"--default-tags=team=a", "--external-managed-tags=team"},
			"tag key team cannot be specified in both default-tags and external-managed-tags flag"},
		{"budget zero", []string{"--target-sg-rule-budget=0"}, "invalid value 0 for --target-sg-rule-budget: must be at least 1"},
		{"target type", []string{"--default-target-type=alb"}, "invalid value alb for default target type"},
		{"scheme", []string{"--default-load-balancer-scheme=public"}, "invalid value public for default load balancer scheme"},
		{"ssl policy", []string{"--default-ssl-policy=Modern"}, `invalid value "Modern" for --default-ssl-policy: not an ELB security policy name`},
		{"drift interval", []string{"--drift-check-interval=0s"}, "invalid value 0s for --drift-check-interval: must be positive"},
		{"orphan grace", []string{"--orphan-grace-period=0s"}, "invalid value 0s for --orphan-grace-period: must be positive"},
		{"target sg selection", []string{"--target-sg-selection=any"}, `invalid value "any" for --target-sg-selection: must be one of error, first-tagged, all`},
		{"empty target sg selection", []string{"--target-sg-selection="}, `invalid value "" for --target-sg-selection`},
		{"webhook port", []string{"--webhook-bind-port=70000"}, "invalid value 70000 for --webhook-bind-port: must be a TCP port"},
		{"webhook cert dir", []string{"--webhook-cert-dir="}, "--webhook-cert-dir is empty: name the webhook certificate's location, or set --enable-pod-readiness-gate-inject=false"},
		{"webhook key file", []string{"--webhook-key-file="}, "--webhook-key-file is empty"},
		{"sync period", []string{"--sync-period=-1h"}, "invalid value -1h0m0s for --sync-period: must be positive"},
		{"retries", []string{"--aws-max-retries=-1"}, "invalid value -1 for --aws-max-retries: must not be negative"},
		{"group namespaces", []string{"--ingress-group-namespaces=all"}, `invalid value for --ingress-group-namespaces: "all" is not a group scope: use "same" or "any"`},
		{"empty group namespaces", []string{"--ingress-group-namespaces="}, `invalid value for --ingress-group-namespaces: "" is not a group scope`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name != "cluster name" {
				args = append([]string{"--cluster-name=c"}, args...)
			}
			err := mustParse(t, args...).Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateJoinsAllErrors(t *testing.T) {
	c := mustParse(t,
		"--backend-security-group=bad",
		"--feature-gates=Foo=true,Bar=false",
		"--target-sg-rule-budget=0",
		"--default-target-type=x",
	)
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Validate() = %v, want a joined error", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		got = append(got, e.Error())
	}
	want := []string{
		"kubernetes cluster name must be specified",
		"invalid value bad for backend security group id",
		"invalid --feature-gates: unknown feature: Bar",
		"invalid --feature-gates: unknown feature: Foo",
		"invalid value x for default target type",
		"invalid value 0 for --target-sg-rule-budget: must be at least 1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestFeatureGatesSyntax(t *testing.T) {
	for _, bad := range []string{"NLBSecurityGroup", "NLBSecurityGroup=maybe", "=true=x"} {
		if _, err := parse(t, "--feature-gates="+bad); err == nil {
			t.Errorf("--feature-gates=%s: want a parse error", bad)
		}
	}
	c := mustParse(t, "--cluster-name=c", "--feature-gates=EnableServiceController=false,NLBSecurityGroup=true,,ALBGatewayAPI=false")
	if err := c.Validate(); err != nil {
		t.Fatalf("upstream gates must be accepted: %v", err)
	}
	if diff := cmp.Diff([]string{"ALBGatewayAPI", "EnableServiceController"}, c.IgnoredFeatureGates); diff != "" {
		t.Errorf("IgnoredFeatureGates (-want +got):\n%s", diff)
	}
	if c.Feature("EnableServiceController") {
		t.Error("an ignored gate's value is still recorded")
	}
}

func TestIgnoredFlags(t *testing.T) {
	c := mustParse(t,
		"--cluster-name=c",
		"--enable-shield=false",
		"--enable-waf",
		"--enable-wafv2=false",
		"--webhook-bind-port=9443",
		"--webhook-cert-dir=/tmp/certs",
		"--ingress-class=alb",
		"--aws-api-throttle=Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20,EC2:.*=10:40",
		"--aws-vpc-tags=env=prod,team=net",
		"--aws-vpc-tag-key=Name",
		"--log-level=debug",
		"--default-ssl-policy=ELBSecurityPolicy-TLS13-1-2-2021-06",
		"--enable-pod-readiness-gate-inject=true",
		"--enable-endpoint-slices=true",
		"--service-max-concurrent-reconciles=5",
		"--ingress-max-concurrent-reconciles=5",
		"--targetgroupbinding-max-concurrent-reconciles=5",
		"--targetgroupbinding-max-exponential-backoff-delay=5m",
		"--enable-shield=true", // set twice, recorded once
	)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	want := []string{
		"aws-vpc-tag-key", "aws-vpc-tags", "enable-endpoint-slices",
		"enable-shield", "enable-waf", "enable-wafv2",
		"targetgroupbinding-max-exponential-backoff-delay",
	}
	if diff := cmp.Diff(want, c.IgnoredFlags); diff != "" {
		t.Errorf("IgnoredFlags (-want +got):\n%s", diff)
	}
	// Upstream value types still apply.
	for _, bad := range []string{"--webhook-bind-port=abc", "--enable-shield=maybe", "--targetgroupbinding-max-exponential-backoff-delay=5"} {
		if _, err := parse(t, bad); err == nil {
			t.Errorf("%s: want a parse error", bad)
		}
	}
	if _, err := parse(t, "--kubeconfig=/x"); err == nil {
		t.Error("--kubeconfig is left to controller-runtime and must not be registered here")
	}
}

func TestEveryIgnoredFlagParses(t *testing.T) {
	c := &Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	c.AddFlags(fs)
	for _, f := range ignoredFlags {
		if fs.Lookup(f.name).Usage != ignoredUsage {
			t.Errorf("--%s has usage %q", f.name, fs.Lookup(f.name).Usage)
		}
		if fs.Lookup(f.name).Changed {
			t.Errorf("--%s changed before parsing", f.name)
		}
	}
	if len(c.IgnoredFlags) != 0 {
		t.Errorf("registering must not record anything: %v", c.IgnoredFlags)
	}
}

func TestTimeoutFlags(t *testing.T) {
	c := mustParse(t, "--cluster-name=c", "--reconcile-timeout=90s", "--aws-api-timeout=5s")
	if c.Reconcile() != 90*time.Second || c.AWSAPI() != 5*time.Second {
		t.Errorf("timeouts = %v, %v", c.Reconcile(), c.AWSAPI())
	}
	if (Timeouts{}).Reconcile() != DefaultReconcileTimeout || (Timeouts{}).AWSAPI() != DefaultAWSAPITimeout {
		t.Error("a Config built without AddFlags must still bound reconciles and AWS calls")
	}
	err := mustParse(t, "--cluster-name=c", "--reconcile-timeout=-1s", "--aws-api-timeout=-1s").Validate()
	if err == nil || !strings.Contains(err.Error(), "--reconcile-timeout") || !strings.Contains(err.Error(), "--aws-api-timeout") {
		t.Errorf("Validate() = %v, want both negative timeouts reported", err)
	}
}

func TestLogLevelIsHonouredNotIgnored(t *testing.T) {
	for _, lvl := range []string{"info", "debug", "error"} {
		c := mustParse(t, "--cluster-name=c", "--log-level="+lvl)
		if err := c.Validate(); err != nil {
			t.Errorf("--log-level=%s: Validate() = %v", lvl, err)
		}
		if c.LogLevel != lvl || slices.Contains(c.IgnoredFlags, "log-level") {
			t.Errorf("--log-level=%s: LogLevel %q, ignored flags %v", lvl, c.LogLevel, c.IgnoredFlags)
		}
	}
	for _, lvl := range []string{"info", "debug", "error"} {
		if c := mustParse(t, "--cluster-name=c", "--log-level="+lvl); c.EffectiveLogLevel() != lvl || c.LogLevelWarning() != "" {
			t.Errorf("--log-level=%s: effective %q, warning %q", lvl, c.EffectiveLogLevel(), c.LogLevelWarning())
		}
	}
}

// TestLogLevelUpstreamAcceptsFallsBackToInfo guards issue 16 §1.3: upstream starts with any
// --log-level (warn, trace, …) and logs at info; lbsg exited. Now it starts, logs at info,
// and says so once.
func TestLogLevelUpstreamAcceptsFallsBackToInfo(t *testing.T) {
	for _, lvl := range []string{"warn", "trace", "INFO", ""} {
		c := mustParse(t, "--cluster-name=c", "--log-level="+lvl)
		if err := c.Validate(); err != nil {
			t.Errorf("--log-level=%q: Validate() = %v, want lbsg to start", lvl, err)
		}
		if c.EffectiveLogLevel() != LogLevelInfo {
			t.Errorf("--log-level=%q: effective level %q, want info", lvl, c.EffectiveLogLevel())
		}
		if w := c.LogLevelWarning(); !strings.Contains(w, "--log-level") || !strings.Contains(w, "info") {
			t.Errorf("--log-level=%q: warning %q, want one naming the flag and the level used", lvl, w)
		}
	}
}

// TestMaxConcurrentReconcilesFlagsAreImplemented: upstream's worker-count flags for
// Services and Ingresses are read (not ignored), and a value below 1 is refused naming
// the flag.
func TestMaxConcurrentReconcilesFlagsAreImplemented(t *testing.T) {
	c := mustParse(t, "--cluster-name=prod", "--service-max-concurrent-reconciles=5", "--ingress-max-concurrent-reconciles=7",
		"--targetgroupbinding-max-concurrent-reconciles=2")
	if c.ServiceMaxConcurrentReconciles != 5 || c.IngressMaxConcurrentReconciles != 7 || c.TGBMaxConcurrentReconciles != 2 {
		t.Errorf("workers = %d, %d, %d; want 5, 7, 2", c.ServiceMaxConcurrentReconciles, c.IngressMaxConcurrentReconciles, c.TGBMaxConcurrentReconciles)
	}
	if len(c.IgnoredFlags) != 0 {
		t.Errorf("IgnoredFlags = %v, want none", c.IgnoredFlags)
	}
	c = mustParse(t, "--cluster-name=prod", "--service-max-concurrent-reconciles=0")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--service-max-concurrent-reconciles") {
		t.Errorf("Validate() = %v, want an error naming --service-max-concurrent-reconciles", err)
	}
}

// The Ingress class flags are upstream's and now read: they are no longer reported as
// ignored, and --ingress-group-namespaces picks the group scope.
func TestIngressClassFlags(t *testing.T) {
	c := mustParse(t, "--cluster-name=c", "--ingress-class=", "--disable-ingress-class-annotation",
		"--disable-ingress-group-name-annotation=true", "--ingress-group-namespaces=any")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if c.IngressClass != "" || !c.DisableIngressClassAnnotation || !c.DisableIngressGroupNameAnnotation || c.IngressGroupScope() != "any" {
		t.Errorf("config %+v", c)
	}
	if len(c.IgnoredFlags) != 0 {
		t.Errorf("IgnoredFlags = %v, want none", c.IgnoredFlags)
	}
}
