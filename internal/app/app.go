// Package app wires the configuration into running parts: AWS clients, the engine the
// reconcilers and `lbsg plan` share, and the controller manager. The binary, the demo and
// the end-to-end tests all start lbsg through it.
package app

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/spf13/pflag"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/acmcerts"
	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// AddFlags registers the controller flags and the standard library flags
// (controller-runtime's --kubeconfig) on fs.
func AddFlags(fs *pflag.FlagSet, cfg *config.Config) {
	cfg.AddFlags(fs)
	fs.AddGoFlagSet(flag.CommandLine)
}

// Settings turns the flags into the planner's settings.
func Settings(cfg *config.Config) spec.Settings {
	return spec.Settings{
		Cluster:                    cfg.ClusterName,
		EnableBackendSG:            cfg.EnableBackendSG,
		EnableManageBackendSGRules: cfg.EnableManageBackendSGRules,
		NLBSecurityGroup:           cfg.NLBSecurityGroup(),
		DisableRestrictedSGRules:   cfg.DisableRestrictedSGRules,
		DefaultTags:                cfg.DefaultTags,
		DefaultTagsLowPriority:     cfg.Feature(config.GateEnableDefaultTagsLowPriority),
		DefaultTargetType:          cfg.DefaultTargetType,
		DefaultScheme:              cfg.DefaultLoadBalancerScheme,
		LoadBalancerClass:          cfg.LoadBalancerClass,
		DefaultSSLPolicy:           cfg.DefaultSSLPolicy,
	}
}

// NewEngine connects to AWS and builds the engine the reconcilers and `lbsg plan` share.
func NewEngine(ctx context.Context, cfg *config.Config, reg prometheus.Registerer) (*controller.Engine, *cloud.Clients, error) {
	clients, err := cloud.New(ctx, cloud.Options{
		Region:         cfg.AWSRegion,
		VPCID:          cfg.AWSVPCID,
		Endpoints:      cfg.AWSAPIEndpoints,
		MaxAttempts:    cfg.AWSMaxRetries + 1,
		Registerer:     reg,
		AttemptTimeout: cfg.AWSAPI(),
		AuditLog:       ctrl.Log.WithName("audit"),
		Throttle:       cfg.AWSAPIThrottle,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("connect to AWS: %w", err)
	}
	if clients.VPCID == "" {
		if clients.VPCID, err = discoverVPC(ctx, clients.EC2, cfg.ClusterName); err != nil {
			return nil, nil, err
		}
	}
	obs := cloud.NewObserver(clients, reg)
	lbs := elb.NewWithResync(clients.ELBV2, cloud.LookupCounter(reg), cfg.SyncPeriod)
	budget := cfg.TargetSGRuleBudget
	if budget < 1 {
		budget = 1
	}
	e := &controller.Engine{
		Settings:                        Settings(cfg),
		BackendSGID:                     cfg.BackendSG,
		Budget:                          budget,
		RuleQuota:                       cfg.SGRulesQuota,
		NamespaceShare:                  cfg.NamespaceRuleShare(),
		NodePorts:                       cfg.ServiceNodePortRange,
		AllowClientCIDROutsideNodePorts: cfg.AllowClientCIDRRulesOutsideNodePortRange,
		ENISGTags:                       cfg.ServiceTargetENISGTags,
		SGSelection:                     targets.Policy(cfg.TargetSGSelection),
		ExternalManagedTags:             cfg.ExternalManagedTags,
		WatchNamespace:                  cfg.WatchNamespace,
		EC2:                             obs,
		ELB:                             lbs,
		Exec:                            &apply.Executor{EC2: obs, ELB: lbs, VPCID: clients.VPCID, ChangeTimeout: cfg.AWSAPI(), Changes: apply.NewChangeCounter(reg)},
		Metrics:                         controller.NewNetworkingMetrics(reg),
		Certificates:                    acmcerts.New(clients.ACM),
		Policy:                          authz.Policy{Groups: cfg.IngressGroupScope()},
		Classes:                         spec.ClassRulesOf(cfg.IngressClass, cfg.DisableIngressClassAnnotation, cfg.DisableIngressGroupNameAnnotation),
	}
	return e, clients, nil
}

// discoverVPC finds the cluster's VPC from its subnets' kubernetes.io/cluster/<name> tag,
// for clusters run without --aws-vpc-id outside EC2.
func discoverVPC(ctx context.Context, api *ec2.Client, cluster string) (string, error) {
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag-key"), Values: []string{"kubernetes.io/cluster/" + cluster}},
	}})
	if err != nil {
		return "", fmt.Errorf("discover the cluster's VPC: %w", err)
	}
	vpcs := map[string]bool{}
	for _, s := range out.Subnets {
		vpcs[aws.ToString(s.VpcId)] = true
	}
	if len(vpcs) != 1 {
		return "", fmt.Errorf("--aws-vpc-id is not set and %d VPCs have subnets tagged kubernetes.io/cluster/%s: set --aws-vpc-id", len(vpcs), cluster)
	}
	for v := range vpcs {
		return v, nil
	}
	return "", nil
}

// Version is set at build time with -ldflags "-X github.com/lbsg/lbsg/internal/app.Version=v1.2.3".
var Version = "dev"

// RunOptions are what embedders (the demo, end-to-end tests) may set; the binary sets none.
type RunOptions struct {
	// RestConfig nil means controller-runtime's usual discovery (--kubeconfig, KUBECONFIG,
	// in-cluster).
	RestConfig *rest.Config
	// Started, when set, receives the engine and AWS clients once they exist (tests read
	// the API call counts from them).
	Started func(*controller.Engine, *cloud.Clients)
	// Registry for metrics; nil is controller-runtime's global registry.
	Registry prometheus.Registerer
	// SkipNameValidation allows several managers in one process (tests).
	SkipNameValidation bool
	// Logger, when set, is the manager's and its reconcilers' logger instead of
	// controller-runtime's global one (tests read what a reconcile logs).
	Logger logr.Logger
	// WebhookHost is the address the webhook server binds to; "" is every interface (in a
	// cluster, the API server reaches it through the webhook Service).
	WebhookHost string
}

// Scheme holds the Kubernetes types lbsg reads: the built-in ones, its CRDs and Gateway
// API's ReferenceGrant.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(elbv2api.AddToScheme(s))
	utilruntime.Must(gatewayv1beta1.Install(s))
	return s
}

// GracefulShutdownTimeout is how long the manager waits, once asked to stop, for the
// reconciles in flight to finish their AWS call; with the lease release after it, the
// process ends within 30 s of SIGTERM.
const GracefulShutdownTimeout = 20 * time.Second

// Run starts the controller manager and blocks until ctx is done, then stops: reconciles
// start no new AWS change, the one in flight finishes, and the leader lease is released.
// The binary passes a context that SIGTERM and SIGINT cancel (SignalContext); ctx must not
// be nil.
func Run(ctx context.Context, cfg *config.Config, o RunOptions) error {
	if ctx == nil {
		return fmt.Errorf("app.Run: nil context: pass one that ends on shutdown (SignalContext)")
	}
	restCfg := o.RestConfig
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid flags: %w", err)
	}
	logger := ctrl.Log.WithName("setup")
	if w := cfg.LogLevelWarning(); w != "" {
		logger.Info(w)
	}
	if len(cfg.IgnoredFlags) > 0 {
		logger.Info("upstream flags accepted but not implemented by lbsg; they have no effect", "flags", cfg.IgnoredFlags)
	}
	if len(cfg.IgnoredFeatureGates) > 0 {
		logger.Info("upstream feature gates accepted but not implemented by lbsg", "gates", cfg.IgnoredFeatureGates)
	}
	if restCfg == nil {
		var err error
		if restCfg, err = ctrl.GetConfig(); err != nil {
			return fmt.Errorf("load kubeconfig: %w", err)
		}
	}
	opts := ctrl.Options{
		Scheme:                  Scheme(),
		Metrics:                 metricsserver.Options{BindAddress: cfg.MetricsBindAddr},
		HealthProbeBindAddress:  cfg.HealthProbeBindAddr,
		LeaderElection:          cfg.EnableLeaderElection,
		LeaderElectionID:        cfg.LeaderElectionID,
		LeaderElectionNamespace: cfg.LeaderElectionNamespace,
		// Step down at once on shutdown instead of letting the lease expire, so a new
		// replica leads within seconds; safe because Run returns only after the
		// reconcilers stopped.
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       ptr(GracefulShutdownTimeout),
		Cache:                         cacheOptions(cache.Options{SyncPeriod: &cfg.SyncPeriod}),
		NewClient:                     newGuardedClient,
	}
	if o.Logger.GetSink() != nil {
		opts.Logger = o.Logger
	}
	hooks := webhookServer(cfg.Webhook, o.WebhookHost, logger)
	if hooks != nil {
		opts.WebhookServer = hooks
	}
	if cfg.WatchNamespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{cfg.WatchNamespace: {}}
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	reg := o.Registry
	if reg == nil {
		reg = metrics.Registry
	}
	engine, clients, err := NewEngine(ctx, cfg, reg)
	if err != nil {
		return err
	}
	if o.Started != nil {
		o.Started(engine, clients)
	}
	crds := controller.InstalledCRDs(mgr.GetRESTMapper())
	if !crds.Params {
		logger.Info("the IngressClassParams CRD is not installed: IngressClasses that refer to parameters are reported as misconfigured")
	}
	if !crds.Grants {
		logger.Info("Gateway API's ReferenceGrant CRD is not installed: no namespace can let another join its Ingress groups")
	}
	_, tgbErr := mgr.GetRESTMapper().RESTMapping(elbv2api.GroupVersion.WithKind("TargetGroupBinding").GroupKind(), elbv2api.GroupVersion.Version)
	if tgbErr != nil {
		logger.Info("the TargetGroupBinding CRD is not installed: TargetGroupBindings are not served", "error", tgbErr.Error())
	}
	if err := controller.Setup(ctx, mgr, engine, controller.Options{Resync: cfg.SyncPeriod, DriftCheck: cfg.DriftCheckInterval,
		SkipNameValidation: o.SkipNameValidation, WatchIngressClassParams: crds.Params, WatchReferenceGrants: crds.Grants,
		ReconcileTimeout: cfg.Reconcile(), SyncPeriod: cfg.SyncPeriod,
		ServiceWorkers: cfg.ServiceMaxConcurrentReconciles, IngressWorkers: cfg.IngressMaxConcurrentReconciles,
		WatchTargetGroupBindings: tgbErr == nil, TGBWorkers: cfg.TGBMaxConcurrentReconciles, OrphanGrace: cfg.OrphanGracePeriod}); err != nil {
		return fmt.Errorf("set up controllers: %w", err)
	}
	if hooks != nil {
		registerPodGateWebhook(mgr, engine, crds, tgbErr == nil)
	}
	if err := addReadyzChecks(mgr, clients.EC2, engine.Exec.VPCID); err != nil {
		return err
	}
	logger.Info("starting", "cluster", cfg.ClusterName, "vpc", engine.Exec.VPCID, "version", Version)
	return mgr.Start(ctx)
}

func ptr[T any](v T) *T { return &v }
