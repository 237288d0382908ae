//go:build demo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/awsproxy"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

const (
	demoCluster   = "demo"
	demoNamespace = "default"
	demoService   = "webserver"
	demoSGName    = "demo-frontend"
	// sgAnnotation is the annotation step 5 of the walk-through puts on the Service.
	sgAnnotation = "service.beta.kubernetes.io/aws-load-balancer-security-groups"

	// demoIngress is the Ingress of seed 002 and the NodePort Service it routes to.
	demoIngress = "frontend"
	// demoALBSGName is the user's security group the Ingress is annotated with.
	demoALBSGName = "demo-alb-frontend"
	// ingressSGAnnotation is the annotation step 5 of the walk-through puts on the Ingress.
	ingressSGAnnotation = "alb.ingress.kubernetes.io/security-groups"

	// demoWait bounds every wait for the controller.
	demoWait = 60 * time.Second
	demoPoll = 500 * time.Millisecond
	// controllerStopTimeout bounds how long the demo waits for the controller to return
	// once cancelled.
	controllerStopTimeout = 30 * time.Second
)

// webserverYAML is the sample Service of the "Network Load Balancers now support Security
// groups" post: external, internet-facing, instance targets.
const webserverYAML = `apiVersion: v1
kind: Service
metadata:
  name: webserver
  namespace: default
  labels:
    role: webserver
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: instance
spec:
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 80
  selector:
    role: webserver
  type: LoadBalancer
`

func init() { optionalCommands = append(optionalCommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var keep, verbose bool
	var faults string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo on a local control plane and AWS emulator",
		Long: `demo starts kube-apiserver, etcd and the moto AWS emulator on loopback, seeds them with
an EKS-like cluster (a VPC, two subnets, a node security group, two nodes), starts the
controller and applies a sample Service of type LoadBalancer. Once its NLB exists it
prints the load balancer and every security group, then walks through "Frontend
Security Groups": it creates a security group, annotates the Service with it, shows the
NLB's security groups, removes the annotation and shows them again. It then does the same
for an Ingress, next to the NLB: an ALB with a managed security group, a security group of
the user's by annotation, then back; and it shows the backend security group both load
balancers share and the single rule it needs on the node security group.

It needs the kube-apiserver and etcd binaries of "make testbin" and moto's server
(pip install 'moto[server]'). Everything it starts is stopped when it ends, unless
--keep is given: then it prints how to reach the cluster and the emulator and waits for
Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d := &demo{out: cmd.OutOrStdout(), keep: keep, verbose: verbose}
			if cmd.Flags().Changed("aws-faults") {
				f, err := awsproxy.ParseFaults(faults)
				if err != nil {
					return fmt.Errorf("--aws-faults: %w", err)
				}
				d.faults = &f
			}
			return d.run(ctx)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave everything running after the walk-through and wait for Ctrl-C")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the controller's logs (to stderr)")
	cmd.Flags().StringVar(&faults, "aws-faults", "",
		"put a fault-injecting proxy between the controller and the emulator, e.g. throttle=0.25,server-error=0.05,dependency-violations=1,latency=20ms,seed=7 (see docs/testing.md)")
	return cmd
}

// demo is one run of `lbsg demo`.
type demo struct {
	out           io.Writer
	keep, verbose bool
	// faults, when set, are injected by proxy, which the controller's AWS calls go through.
	faults *awsproxy.Faults
	proxy  *awsproxy.Proxy

	moto  *localenv.Moto
	cp    *localenv.ControlPlane
	world *localenv.World
	cfg   *config.Config
	ec2   *ec2.Client
	elb   *elasticloadbalancingv2.Client
	k8s   client.Client

	// ctrlDone is closed when the controller has returned; ctrlErr is its error then.
	ctrlDone   chan struct{}
	ctrlErr    error
	cancelCtrl context.CancelFunc
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d *demo) heading(title string) { d.printf("\n== %s ==\n", title) }

// progress prints what is being done and returns a function that prints how long it took.
func (d *demo) progress(what string) func(err error) {
	d.printf("%s ... ", what)
	start := time.Now()
	return func(err error) {
		if err != nil {
			d.printf("failed after %s\n", time.Since(start).Round(10*time.Millisecond))
			return
		}
		d.printf("done (%s)\n", time.Since(start).Round(10*time.Millisecond))
	}
}

func (d *demo) run(ctx context.Context) (err error) {
	started := time.Now()
	d.setupLogging()
	d.heading("setup")
	dir, err := localenv.AssetsDir()
	if err != nil {
		return err
	}
	d.printf("kube-apiserver and etcd: %s\n", dir)
	setDemoAWSEnv()

	// Everything started is stopped in reverse order on the way out, whatever happens.
	defer func() {
		if cerr := d.shutdown(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = errors.New("interrupted")
		}
	}()

	done := d.progress("starting moto (AWS emulator)")
	d.moto, err = localenv.StartMoto(ctx)
	done(err)
	if err != nil {
		return err
	}
	d.printf("  AWS endpoint: %s\n", d.moto.Endpoint)
	if d.faults != nil {
		if d.proxy, err = awsproxy.Start(d.moto.Endpoint, *d.faults); err != nil {
			return err
		}
		d.printf("  the controller's AWS calls go through %s, which injects %s\n", d.proxy.URL, d.faults)
	}
	awsCfg, err := d.moto.AWSConfig(ctx)
	if err != nil {
		return err
	}
	d.ec2 = ec2.NewFromConfig(awsCfg)
	d.elb = elasticloadbalancingv2.NewFromConfig(awsCfg)

	done = d.progress("starting etcd and kube-apiserver")
	d.cp, err = localenv.StartControlPlane(ctx, localenv.ControlPlaneOptions{})
	done(err)
	if err != nil {
		return err
	}
	d.k8s = d.cp.Client
	d.printf("  API server: %s\n", d.cp.Config.Host)

	done = d.progress("seeding the world (VPC, subnets, node security group, 2 nodes)")
	d.world, err = localenv.SeedWorld(ctx, awsCfg, d.k8s, localenv.WorldOptions{Cluster: demoCluster, Nodes: 2})
	done(err)
	if err != nil {
		return err
	}
	d.printWorld()

	if err := d.startController(ctx); err != nil {
		return err
	}

	if err := d.applyService(ctx); err != nil {
		return err
	}
	if err := d.printState(ctx, "the load balancer (aws elbv2 describe-load-balancers)", "the security groups in the VPC"); err != nil {
		return err
	}
	if err := d.printPlan(ctx, "lbsg plan (what the controller would still change: nothing, it has converged)"); err != nil {
		return err
	}
	if err := d.walk(ctx); err != nil {
		return err
	}
	if err := d.walkIngress(ctx); err != nil {
		return err
	}
	if err := d.waitFor(ctx, "the controller to converge (lbsg plan: no changes)", d.converged); err != nil {
		return err
	}
	if err := d.printShared(ctx); err != nil {
		return err
	}
	if err := d.printPlan(ctx, "lbsg plan (the Service and the Ingress: nothing left to change)"); err != nil {
		return err
	}

	d.heading("done")
	d.printf("the walk-through took %s\n", time.Since(started).Round(100*time.Millisecond))
	if d.keep {
		d.printKeep()
		<-ctx.Done()
		d.printf("\n")
	}
	return nil
}

// setupLogging gives controller-runtime a logger: the controller's logs on stderr with
// --verbose, none otherwise (the demo prints what matters).
func (d *demo) setupLogging() {
	if d.verbose {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.ConsoleEncoder()))
		return
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
}

// setDemoAWSEnv points the controller's AWS SDK at the emulator's credentials and region:
// the demo only ever talks to the local moto, so a developer's AWS settings must not leak in.
func setDemoAWSEnv() {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_REGION":                  localenv.Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		_ = os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION"} {
		_ = os.Unsetenv(k)
	}
}

func (d *demo) printWorld() {
	w := d.world
	d.printf("  cluster %q in %s: VPC %s (%s)\n", w.Cluster, w.Region, w.VPCID, w.VPCCIDR)
	for _, s := range w.Subnets {
		d.printf("  subnet %s in %s (%s)\n", s.ID, s.AZ, s.CIDR)
	}
	d.printf("  node security group %s\n", w.NodeSGID)
	for _, n := range w.Nodes {
		d.printf("  node %s: instance %s in %s\n", n.Name, n.InstanceID, n.AZ)
	}
}

// startController runs the controller in a goroutine, configured as the binary would be
// with these flags.
func (d *demo) startController(ctx context.Context) error {
	args := []string{
		"--cluster-name=" + demoCluster,
		"--aws-region=" + localenv.Region,
		"--aws-vpc-id=" + d.world.VPCID,
		"--aws-api-endpoints=EC2=" + d.awsEndpoint() + ",Elastic Load Balancing v2=" + d.awsEndpoint(),
		"--enable-leader-election=false",
		"--metrics-bind-addr=0",
		"--health-probe-bind-addr=0",
		"--drift-check-interval=5s",
	}
	d.cfg = &config.Config{}
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	d.cfg.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("controller flags: %w", err)
	}
	if err := d.cfg.Validate(); err != nil {
		return fmt.Errorf("controller flags: %w", err)
	}
	d.printf("starting the controller: lbsg controller %s\n", strings.Join(args, " "))
	if !d.verbose {
		d.printf("  (its logs are hidden: run with --verbose to see them)\n")
	}
	ctrlCtx, cancel := context.WithCancel(ctx)
	d.ctrlDone = make(chan struct{})
	d.cancelCtrl = cancel
	go func() {
		defer close(d.ctrlDone)
		d.ctrlErr = app.Run(ctrlCtx, d.cfg, app.RunOptions{
			RestConfig:         d.cp.Config,
			SkipNameValidation: true,
			Registry:           prometheus.NewRegistry(),
		})
	}()
	return nil
}

// awsEndpoint is where the controller's AWS calls go: the fault proxy, or moto.
func (d *demo) awsEndpoint() string {
	if d.proxy != nil {
		return d.proxy.URL
	}
	return d.moto.Endpoint
}

// controllerExited returns the controller's error if it has returned (it should not before
// the demo ends).
func (d *demo) controllerExited() error {
	if d.ctrlDone == nil {
		return nil
	}
	select {
	case <-d.ctrlDone:
		if d.ctrlErr != nil {
			return fmt.Errorf("the controller stopped: %w", d.ctrlErr)
		}
		return errors.New("the controller stopped without an error")
	default:
		return nil
	}
}

// shutdown stops the controller, the control plane and moto, in that order.
func (d *demo) shutdown() error {
	if d.moto == nil && d.cp == nil && d.ctrlDone == nil {
		return nil
	}
	d.heading("stopping everything the demo started")
	var errs []error
	if d.ctrlDone != nil {
		done := d.progress("stopping the controller")
		d.cancelCtrl()
		select {
		case <-d.ctrlDone:
			done(nil)
			if d.ctrlErr != nil && !errors.Is(d.ctrlErr, context.Canceled) {
				d.printf("  the controller had returned: %v\n", d.ctrlErr)
			}
		case <-time.After(controllerStopTimeout):
			err := fmt.Errorf("the controller did not stop within %s", controllerStopTimeout)
			done(err)
			errs = append(errs, err)
		}
	}
	if d.proxy != nil {
		s := d.proxy.Snapshot()
		d.printf("the controller made %d AWS calls (%d mutating); %d were answered with an injected fault\n",
			s.Calls.Total(), s.Calls.Mutating(), s.InjectedTotal())
		errs = append(errs, d.proxy.Close())
	}
	if d.cp != nil {
		done := d.progress("stopping kube-apiserver and etcd")
		err := d.cp.Stop()
		done(err)
		errs = append(errs, err)
	}
	if d.moto != nil {
		done := d.progress("stopping moto")
		err := d.moto.Close()
		done(err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// applyService creates the sample Service and waits until its NLB is provisioned and the
// node security group lets the NLB's backend SG in.
func (d *demo) applyService(ctx context.Context) error {
	d.heading("the sample Service (kubectl apply -f webserver.yaml)")
	d.printf("%s", indent(webserverYAML, "  "))
	svc := &corev1.Service{}
	if err := yaml.UnmarshalStrict([]byte(webserverYAML), svc); err != nil {
		return fmt.Errorf("the sample Service: %w", err)
	}
	if err := d.k8s.Create(ctx, svc); err != nil {
		return fmt.Errorf("creating Service %s/%s: %w", demoNamespace, demoService, err)
	}
	d.printf("service/%s created (node port %d)\n", svc.Name, svc.Spec.Ports[0].NodePort)

	var hostname string
	err := d.waitFor(ctx, "the controller to provision the NLB (status.loadBalancer.ingress[0].hostname)", func(ctx context.Context) (bool, error) {
		s, err := d.service(ctx)
		if err != nil {
			return false, err
		}
		if ing := s.Status.LoadBalancer.Ingress; len(ing) > 0 && ing[0].Hostname != "" {
			hostname = ing[0].Hostname
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	d.printf("  EXTERNAL-IP %s\n", hostname)
	return d.waitFor(ctx, "the node security group to admit the backend security group", d.nodeSGAdmitsBackend)
}

// service reads the sample Service.
func (d *demo) service(ctx context.Context) (*corev1.Service, error) {
	s := &corev1.Service{}
	err := d.k8s.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: demoService}, s)
	return s, err
}

// nodeSGAdmitsBackend reports whether the node SG has a rule from the cluster's backend SG.
func (d *demo) nodeSGAdmitsBackend(ctx context.Context) (bool, error) {
	backend, err := d.backendSGID(ctx)
	if err != nil || backend == "" {
		return false, err
	}
	return d.nodeSGAdmits(ctx, backend)
}

// nodeSGAdmits reports whether the node SG has a rule from the SG peer.
func (d *demo) nodeSGAdmits(ctx context.Context, peer string) (bool, error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{d.world.NodeSGID}})
	if err != nil {
		return false, err
	}
	for _, sg := range out.SecurityGroups {
		for _, r := range cloud.RulesFromSDK(sg.IpPermissions) {
			if r.PeerKind == sgrules.PeerSG && r.Peer == peer {
				return true, nil
			}
		}
	}
	return false, nil
}

// backendSGID returns the ID of the cluster's shared backend SG, "" while there is none.
func (d *demo) backendSGID(ctx context.Context) (string, error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.world.VPCID}},
		{Name: aws.String("group-name"), Values: []string{naming.BackendSGName(demoCluster)}},
	}})
	if err != nil {
		return "", err
	}
	if len(out.SecurityGroups) == 0 {
		return "", nil
	}
	return aws.ToString(out.SecurityGroups[0].GroupId), nil
}

// loadBalancer returns the sample Service's NLB (the one whose DNS name is in the Service's
// status), nil while there is none.
func (d *demo) loadBalancer(ctx context.Context) (*elbv2types.LoadBalancer, error) {
	s, err := d.service(ctx)
	if err != nil {
		return nil, err
	}
	if len(s.Status.LoadBalancer.Ingress) == 0 {
		return nil, nil
	}
	return d.loadBalancerByHost(ctx, s.Status.LoadBalancer.Ingress[0].Hostname)
}

// loadBalancerByHost returns the load balancer with the DNS name, nil when there is none.
func (d *demo) loadBalancerByHost(ctx context.Context, host string) (*elbv2types.LoadBalancer, error) {
	lbs, err := d.loadBalancers(ctx)
	if err != nil {
		return nil, err
	}
	for i := range lbs {
		if aws.ToString(lbs[i].DNSName) == host {
			return &lbs[i], nil
		}
	}
	return nil, nil
}

func (d *demo) loadBalancers(ctx context.Context) ([]elbv2types.LoadBalancer, error) {
	var lbs []elbv2types.LoadBalancer
	p := elasticloadbalancingv2.NewDescribeLoadBalancersPaginator(d.elb, &elasticloadbalancingv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeLoadBalancers: %w", err)
		}
		lbs = append(lbs, page.LoadBalancers...)
	}
	return lbs, nil
}

// subject is the Kubernetes object whose Ready condition a wait reports.
type subject struct{ kind, name string }

var (
	serviceSubject = subject{kind: "Service", name: demoService}
	ingressSubject = subject{kind: "Ingress", name: demoIngress}
)

func (s subject) String() string { return s.kind + " " + demoNamespace + "/" + s.name }

// waitFor is waitOn for the sample Service.
func (d *demo) waitFor(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	return d.waitOn(ctx, serviceSubject, what, cond)
}

// waitOn polls cond every demoPoll for at most demoWait. Errors from cond are taken as
// "not yet" (the last one is reported on timeout). While waiting it reports the Ready
// condition of obj when the controller sets it to False; on timeout the error carries it.
func (d *demo) waitOn(ctx context.Context, obj subject, what string, cond func(context.Context) (bool, error)) error {
	done := d.progress("waiting for " + what)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, demoWait)
	defer cancel()
	tick := time.NewTicker(demoPoll)
	defer tick.Stop()
	var lastErr error
	lastNote := ""
	for {
		ok, err := cond(ctx)
		if ok {
			done(nil)
			return nil
		}
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		if note := d.readyNote(ctx, obj); note != "" && note != lastNote {
			lastNote = note
			d.printf("\n  (%s: %s) ... ", time.Since(start).Round(100*time.Millisecond), note)
		}
		if err := d.controllerExited(); err != nil {
			done(err)
			return err
		}
		select {
		case <-ctx.Done():
			done(ctx.Err())
			if parentDone := ctx.Err() != context.DeadlineExceeded; parentDone {
				return ctx.Err()
			}
			msg := fmt.Sprintf("timed out after %s waiting for %s", demoWait, what)
			if lastErr != nil {
				msg += "; last error: " + lastErr.Error()
			}
			if note := d.readyNote(context.Background(), obj); note != "" {
				msg += "; " + obj.String() + ": " + note
			} else {
				msg += "; the " + obj.kind + " has no " + controller.ConditionReady + " condition"
			}
			return errors.New(msg + " (run with --verbose for the controller's logs)")
		case <-tick.C:
		}
	}
}

// readyNote describes the Ready condition of obj when it is not True, "" otherwise.
func (d *demo) readyNote(ctx context.Context, obj subject) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var c *metav1.Condition
	switch obj.kind {
	case "Ingress":
		ing, err := d.ingress(ctx)
		if err != nil {
			return ""
		}
		c = controller.IngressCondition(ing)
	default:
		s, err := d.service(ctx)
		if err != nil {
			return ""
		}
		c = meta.FindStatusCondition(s.Status.Conditions, controller.ConditionReady)
	}
	if c == nil || c.Status == metav1.ConditionTrue {
		return ""
	}
	return fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
}

// printPlan prints what `lbsg plan` says now: the controller has converged, so nothing.
func (d *demo) printPlan(ctx context.Context, title string) error {
	d.heading(title)
	report, err := d.plan(ctx)
	if err != nil {
		return err
	}
	return report.write(d.out)
}

// plan runs `lbsg plan` over the cluster, with a new engine each time as the command
// would: an engine's AWS caches would hide for up to their TTL what the controller changed.
func (d *demo) plan(ctx context.Context) (*Report, error) {
	engine, _, err := app.NewEngine(ctx, d.cfg, nil)
	if err != nil {
		return nil, err
	}
	report, err := planAll(ctx, d.k8s, engine)
	if err != nil {
		return nil, fmt.Errorf("lbsg plan: %w", err)
	}
	return report, nil
}

// converged reports whether `lbsg plan` has nothing left to change.
func (d *demo) converged(ctx context.Context) (bool, error) {
	report, err := d.plan(ctx)
	if err != nil {
		return false, err
	}
	if report.Partial || !report.Networking.Empty() {
		return false, nil
	}
	for _, s := range report.Stacks {
		if len(s.Problems) > 0 || !s.Plan.Empty() {
			return false, nil
		}
	}
	return true, nil
}

// walk follows "Frontend Security Groups" step by step.
func (d *demo) walk(ctx context.Context) error {
	w := d.world
	d.heading("step 1: find the VPC ID of the cluster")
	d.printf("$ aws eks describe-cluster --name %s --query \"cluster.resourcesVpcConfig.vpcId\" --output text\n", w.Cluster)
	d.printf("%s\n", w.VPCID)

	d.heading("step 2: create a security group using the VPC ID")
	sgID, err := d.createUserSG(ctx, demoSGName, "frontend of the webserver load balancer")
	if err != nil {
		return err
	}

	d.heading("step 3: create its ingress rules")
	if err := d.authorizeFromAnywhere(ctx, sgID, 80); err != nil {
		return err
	}

	d.heading("step 4: determine your egress rules (optional)")
	d.printf("skipped: a new security group allows all outbound traffic\n")

	// The backend SG the controller put on the NLB, to watch its rule leave the node SG.
	oldBackend, err := d.backendSGID(ctx)
	if err != nil {
		return err
	}

	d.heading("step 5: add the security group annotation to the Service")
	d.printf("$ kubectl annotate service %s %s=%s\n", demoService, sgAnnotation, sgID)
	if err := d.setAnnotation(ctx, sgID); err != nil {
		return err
	}
	d.printf("service/%s annotated\n", demoService)
	err = d.waitFor(ctx, "the NLB's security groups to be exactly ["+sgID+"]", func(ctx context.Context) (bool, error) {
		lb, err := d.loadBalancer(ctx)
		if err != nil || lb == nil {
			return false, err
		}
		return slices.Equal(lb.SecurityGroups, []string{sgID}), nil
	})
	if err != nil {
		return err
	}

	// manage-backend-rules is off by default with custom SGs: the NLB no longer uses the
	// backend SG, so the node SG must stop admitting it.
	err = d.waitFor(ctx, "the node security group to stop admitting the backend security group", func(ctx context.Context) (bool, error) {
		admits, err := d.nodeSGAdmits(ctx, oldBackend)
		return !admits, err
	})
	if err != nil {
		return err
	}

	if err := d.printState(ctx, "step 6: list the load balancers and verify the security groups are attached",
		"the security groups in the VPC (the NLB has only "+demoSGName+" now)"); err != nil {
		return err
	}

	d.heading("step 7: clean up: remove the annotation (back to the default frontend security group)")
	d.printf("$ kubectl annotate service %s %s-\n", demoService, sgAnnotation)
	if err := d.setAnnotation(ctx, ""); err != nil {
		return err
	}
	d.printf("service/%s annotated\n", demoService)
	err = d.waitFor(ctx, "the NLB to have a managed frontend and the backend security group again", func(ctx context.Context) (bool, error) {
		lb, err := d.loadBalancer(ctx)
		if err != nil || lb == nil {
			return false, err
		}
		backend, err := d.backendSGID(ctx)
		if err != nil || backend == "" {
			return false, err
		}
		return len(lb.SecurityGroups) == 2 && slices.Contains(lb.SecurityGroups, backend) &&
			!slices.Contains(lb.SecurityGroups, sgID), nil
	})
	if err != nil {
		return err
	}
	if err := d.waitFor(ctx, "the node security group to admit the backend security group", d.nodeSGAdmitsBackend); err != nil {
		return err
	}
	return d.printState(ctx, "the load balancer after step 7 (aws elbv2 describe-load-balancers)", "the security groups in the VPC")
}

// createUserSG creates a security group in the cluster's VPC as a user would (step 2 of
// the walk-through) and prints the command and its answer.
func (d *demo) createUserSG(ctx context.Context, name, desc string) (string, error) {
	d.printf("$ aws ec2 create-security-group --group-name %s --description %q --vpc-id %s\n", name, desc, d.world.VPCID)
	out, err := d.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(name),
		Description: aws.String(desc),
		VpcId:       aws.String(d.world.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags:         []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("CreateSecurityGroup: %w", err)
	}
	id := aws.ToString(out.GroupId)
	return id, printJSON(d.out, map[string]string{"GroupId": id})
}

// authorizeFromAnywhere adds the rule "tcp port from 0.0.0.0/0" to a user's security
// group (step 3 of the walk-through) and prints the command.
func (d *demo) authorizeFromAnywhere(ctx context.Context, sgID string, port int32) error {
	d.printf("$ aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --cidr 0.0.0.0/0\n", sgID, port)
	if _, err := d.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(sgID),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		}},
	}); err != nil {
		return fmt.Errorf("AuthorizeSecurityGroupIngress: %w", err)
	}
	d.printf("(rule added: tcp %d from 0.0.0.0/0)\n", port)
	return nil
}

// setAnnotation sets the security-groups annotation on the Service to value, or removes it
// when value is "".
func (d *demo) setAnnotation(ctx context.Context, value string) error {
	s, err := d.service(ctx)
	if err != nil {
		return fmt.Errorf("reading Service %s/%s: %w", demoNamespace, demoService, err)
	}
	patch := client.MergeFrom(s.DeepCopy())
	if value == "" {
		delete(s.Annotations, sgAnnotation)
	} else {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[sgAnnotation] = value
	}
	if err := d.k8s.Patch(ctx, s, patch); err != nil {
		return fmt.Errorf("annotating Service %s/%s: %w", demoNamespace, demoService, err)
	}
	return nil
}

func (d *demo) printKeep() {
	d.heading("everything is still running (--keep)")
	d.printf("kubeconfig: %s\n", d.cp.Kubeconfig)
	d.printf("AWS endpoint: %s (region %s, credentials test/test)\n\n", d.moto.Endpoint, localenv.Region)
	d.printf("  export KUBECONFIG=%s\n", d.cp.Kubeconfig)
	d.printf("  kubectl get service %s -o wide\n", demoService)
	d.printf("  kubectl get ingress %s -o wide\n", demoIngress)
	d.printf("  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=%s\n", localenv.Region)
	d.printf("  aws --endpoint-url %s elbv2 describe-load-balancers\n", d.moto.Endpoint)
	d.printf("  aws --endpoint-url %s ec2 describe-security-groups --filters Name=vpc-id,Values=%s\n\n", d.moto.Endpoint, d.world.VPCID)
	d.printf("press Ctrl-C to stop everything\n")
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(prefix + l)
	}
	return b.String()
}

// frontendYAML is seed 002's Ingress "frontend" with what it needs around it: the "alb"
// IngressClass lbsg serves and a NodePort Service to route to (instance targets, the
// default).
const frontendYAML = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: alb
spec:
  controller: ingress.k8s.aws/alb
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
  namespace: default
spec:
  type: NodePort
  selector:
    role: frontend
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: frontend
  namespace: default
  annotations:
    alb.ingress.kubernetes.io/scheme: internet-facing
spec:
  ingressClassName: alb
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: frontend
            port:
              number: 80
`

// frontendObjects decodes frontendYAML.
func frontendObjects() (*networkingv1.IngressClass, *corev1.Service, *networkingv1.Ingress, error) {
	docs := strings.Split(frontendYAML, "\n---\n")
	if len(docs) != 3 {
		return nil, nil, nil, fmt.Errorf("frontend.yaml: %d documents, want 3", len(docs))
	}
	class, svc, ing := &networkingv1.IngressClass{}, &corev1.Service{}, &networkingv1.Ingress{}
	for i, obj := range []any{class, svc, ing} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), obj); err != nil {
			return nil, nil, nil, fmt.Errorf("frontend.yaml, document %d: %w", i+1, err)
		}
	}
	return class, svc, ing, nil
}

// ingress reads the sample Ingress.
func (d *demo) ingress(ctx context.Context) (*networkingv1.Ingress, error) {
	ing := &networkingv1.Ingress{}
	err := d.k8s.Get(ctx, client.ObjectKey{Namespace: demoNamespace, Name: demoIngress}, ing)
	return ing, err
}

// alb returns the sample Ingress's ALB (the one whose DNS name is in the Ingress's status),
// nil while there is none.
func (d *demo) alb(ctx context.Context) (*elbv2types.LoadBalancer, error) {
	ing, err := d.ingress(ctx)
	if err != nil {
		return nil, err
	}
	if len(ing.Status.LoadBalancer.Ingress) == 0 {
		return nil, nil
	}
	return d.loadBalancerByHost(ctx, ing.Status.LoadBalancer.Ingress[0].Hostname)
}

// sgIDByName returns the ID of the VPC's security group named name, "" when there is none.
func (d *demo) sgIDByName(ctx context.Context, name string) (string, error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.world.VPCID}},
		{Name: aws.String("group-name"), Values: []string{name}},
	}})
	if err != nil {
		return "", err
	}
	if len(out.SecurityGroups) == 0 {
		return "", nil
	}
	return aws.ToString(out.SecurityGroups[0].GroupId), nil
}

// sgRules returns the inbound rules of a security group, formatted and sorted; ok is false
// when the group does not exist.
func (d *demo) sgRules(ctx context.Context, id string) (rules []string, ok bool, err error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-id"), Values: []string{id}},
	}})
	if err != nil {
		return nil, false, err
	}
	if len(out.SecurityGroups) == 0 {
		return nil, false, nil
	}
	return formatRules(cloud.RulesFromSDK(out.SecurityGroups[0].IpPermissions), nil), true, nil
}

// lbsgNodeRules returns lbsg's rules on the node SG (those with lbsg's owner description).
func (d *demo) lbsgNodeRules(ctx context.Context) ([]sgrules.Rule, error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{d.world.NodeSGID}})
	if err != nil {
		return nil, err
	}
	var rules []sgrules.Rule
	for _, sg := range out.SecurityGroups {
		for _, r := range cloud.RulesFromSDK(sg.IpPermissions) {
			if r.Description == sgrules.OwnerDescription(demoCluster) {
				rules = append(rules, r)
			}
		}
	}
	return rules, nil
}

// nodeSGAdmitsPort reports whether the node SG lets the SG peer in on TCP port.
func (d *demo) nodeSGAdmitsPort(ctx context.Context, peer string, port int32) (bool, error) {
	rules, err := d.lbsgNodeRules(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		if r.PeerKind == sgrules.PeerSG && r.Peer == peer && (r.Protocol == sgrules.ProtoAll ||
			r.Protocol == sgrules.ProtoTCP && r.FromPort <= port && port <= r.ToPort) {
			return true, nil
		}
	}
	return false, nil
}

// albHasManagedSGs reports whether the ALB's security groups are exactly its managed
// frontend SG (by name) and the backend SG; it returns the managed SG's ID when they are.
func (d *demo) albHasManagedSGs(ctx context.Context, managedName string) (string, bool, error) {
	lb, err := d.alb(ctx)
	if err != nil || lb == nil {
		return "", false, err
	}
	managed, err := d.sgIDByName(ctx, managedName)
	if err != nil || managed == "" {
		return "", false, err
	}
	backend, err := d.backendSGID(ctx)
	if err != nil || backend == "" {
		return "", false, err
	}
	got := slices.Clone(lb.SecurityGroups)
	want := []string{managed, backend}
	slices.Sort(got)
	slices.Sort(want)
	return managed, slices.Equal(got, want), nil
}

// walkIngress follows "Frontend Security Groups" for an Ingress, next to the NLB: an ALB
// with a managed frontend SG, then the user's SG by annotation, then back.
func (d *demo) walkIngress(ctx context.Context) error {
	d.heading("seed 002 for an Ingress: an ALB next to the NLB (kubectl apply -f frontend.yaml)")
	d.printf("Service %s and its NLB stay; the Ingress %s of class alb gets an Application Load Balancer.\n", demoService, demoIngress)
	d.printf("%s", indent(frontendYAML, "  "))
	class, svc, ing, err := frontendObjects()
	if err != nil {
		return err
	}
	if err := d.k8s.Create(ctx, class); err != nil {
		return fmt.Errorf("creating IngressClass %s: %w", class.Name, err)
	}
	d.printf("ingressclass.networking.k8s.io/%s created\n", class.Name)
	if err := d.k8s.Create(ctx, svc); err != nil {
		return fmt.Errorf("creating Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	nodePort := svc.Spec.Ports[0].NodePort
	d.printf("service/%s created (node port %d)\n", svc.Name, nodePort)
	if err := d.k8s.Create(ctx, ing); err != nil {
		return fmt.Errorf("creating Ingress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	d.printf("ingress.networking.k8s.io/%s created\n", ing.Name)

	var hostname string
	err = d.waitOn(ctx, ingressSubject, "the controller to provision the ALB (status.loadBalancer.ingress[0].hostname)", func(ctx context.Context) (bool, error) {
		ing, err := d.ingress(ctx)
		if err != nil {
			return false, err
		}
		if lb := ing.Status.LoadBalancer.Ingress; len(lb) > 0 && lb[0].Hostname != "" {
			hostname = lb[0].Hostname
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	d.printf("  ADDRESS %s\n", hostname)

	managedName := naming.IngressSGName(demoCluster, demoNamespace, demoIngress)
	var managed string
	err = d.waitOn(ctx, ingressSubject, "the ALB to have its managed frontend security group "+managedName+" and the backend security group", func(ctx context.Context) (bool, error) {
		id, ok, err := d.albHasManagedSGs(ctx, managedName)
		managed = id
		return ok, err
	})
	if err != nil {
		return err
	}
	backend, err := d.backendSGID(ctx)
	if err != nil {
		return err
	}
	admitsALBPort := func(ctx context.Context) (bool, error) { return d.nodeSGAdmitsPort(ctx, backend, nodePort) }
	if err := d.waitOn(ctx, ingressSubject, fmt.Sprintf("the node security group to admit the backend security group on node port %d too", nodePort), admitsALBPort); err != nil {
		return err
	}
	if err := d.printALB(ctx, "the ALB of Ingress "+demoIngress, "the ALB's security groups and the node security group"); err != nil {
		return err
	}

	d.heading("Ingress, steps 2 and 3: create a security group for the ALB and its ingress rule")
	userSG, err := d.createUserSG(ctx, demoALBSGName, "frontend of the "+demoIngress+" ALB")
	if err != nil {
		return err
	}
	if err := d.authorizeFromAnywhere(ctx, userSG, 443); err != nil {
		return err
	}
	userRules, _, err := d.sgRules(ctx, userSG)
	if err != nil {
		return err
	}

	d.heading("Ingress, step 5: add the security group annotation to the Ingress")
	d.printf("$ kubectl annotate ingress %s %s=%s\n", demoIngress, ingressSGAnnotation, userSG)
	if err := d.setIngressAnnotation(ctx, userSG); err != nil {
		return err
	}
	d.printf("ingress.networking.k8s.io/%s annotated\n", demoIngress)
	err = d.waitOn(ctx, ingressSubject, "the ALB's security groups to be exactly ["+userSG+"]", func(ctx context.Context) (bool, error) {
		lb, err := d.alb(ctx)
		if err != nil || lb == nil {
			return false, err
		}
		return slices.Equal(lb.SecurityGroups, []string{userSG}), nil
	})
	if err != nil {
		return err
	}
	err = d.waitOn(ctx, ingressSubject, "the managed security group "+managedName+" ("+managed+") to be deleted", func(ctx context.Context) (bool, error) {
		_, exists, err := d.sgRules(ctx, managed)
		return err == nil && !exists, err
	})
	if err != nil {
		return err
	}
	// manage-backend-security-group-rules is off by default with the user's SGs: the ALB
	// no longer uses the backend SG, so the node SG stops admitting it on the ALB's node
	// port (the NLB still needs it on its own).
	err = d.waitOn(ctx, ingressSubject, fmt.Sprintf("the node security group to stop admitting the backend security group on node port %d", nodePort), func(ctx context.Context) (bool, error) {
		admits, err := d.nodeSGAdmitsPort(ctx, backend, nodePort)
		return !admits, err
	})
	if err != nil {
		return err
	}
	if err := d.printALB(ctx, "Ingress, step 6: list the load balancers and verify the security group is attached",
		"the ALB's security groups and the node security group (the ALB has only "+demoALBSGName+" now)"); err != nil {
		return err
	}
	d.printf("\n%s (%s) is deleted: the ALB no longer uses it.\n", managedName, managed)
	if nlb, err := d.loadBalancer(ctx); err != nil {
		return err
	} else if nlb != nil && slices.Contains(nlb.SecurityGroups, backend) {
		d.printf("%s (%s) stays: the NLB still uses it; the node rule now covers only the NLB's node port.\n", naming.BackendSGName(demoCluster), backend)
	}
	d.printf("lbsg adds no rule to the user's group: the ALB admits only what %s allows (tcp 443, the seed's example).\n", demoALBSGName)

	d.heading("Ingress, step 7: clean up: remove the annotation (back to the default frontend security group)")
	d.printf("$ kubectl annotate ingress %s %s-\n", demoIngress, ingressSGAnnotation)
	if err := d.setIngressAnnotation(ctx, ""); err != nil {
		return err
	}
	d.printf("ingress.networking.k8s.io/%s annotated\n", demoIngress)
	var remade string
	err = d.waitOn(ctx, ingressSubject, "the ALB to have a managed frontend and the backend security group again", func(ctx context.Context) (bool, error) {
		id, ok, err := d.albHasManagedSGs(ctx, managedName)
		remade = id
		return ok, err
	})
	if err != nil {
		return err
	}
	d.printf("  %s is back as %s (a new group under the same name)\n", managedName, remade)
	if err := d.waitOn(ctx, ingressSubject, fmt.Sprintf("the node security group to admit the backend security group on node port %d again", nodePort), admitsALBPort); err != nil {
		return err
	}
	if err := d.printALB(ctx, "the ALB after step 7",
		"the ALB's security groups, the node security group and "+demoALBSGName); err != nil {
		return err
	}
	rules, exists, err := d.sgRules(ctx, userSG)
	if err != nil {
		return err
	}
	if !exists || !slices.Equal(rules, userRules) {
		return fmt.Errorf("the user's security group %s (%s) was changed: rules %v, want %v (exists: %t)", demoALBSGName, userSG, rules, userRules, exists)
	}
	d.printf("\n%s (%s) is untouched: it still exists with its rule %s\n", demoALBSGName, userSG, strings.Join(userRules, ", "))
	return nil
}

// printALB prints the sample Ingress's ALB under lbTitle, then under sgTitle its security
// groups, the node SG and the user's ALB SG when it exists.
func (d *demo) printALB(ctx context.Context, lbTitle, sgTitle string) error {
	lb, err := d.alb(ctx)
	if err != nil {
		return err
	}
	if lb == nil {
		return fmt.Errorf("the ALB of Ingress %s/%s is gone", demoNamespace, demoIngress)
	}
	lbs, err := d.loadBalancers(ctx)
	if err != nil {
		return err
	}
	d.heading(lbTitle)
	d.printf("$ aws elbv2 describe-load-balancers --names %s\n", aws.ToString(lb.LoadBalancerName))
	if err := d.printLoadBalancers([]elbv2types.LoadBalancer{*lb}); err != nil {
		return err
	}
	d.heading(sgTitle)
	show := append(slices.Clone(lb.SecurityGroups), d.world.NodeSGID)
	if user, err := d.sgIDByName(ctx, demoALBSGName); err != nil {
		return err
	} else if user != "" {
		show = append(show, user)
	}
	return d.printGroups(ctx, lbs, show)
}

// setIngressAnnotation sets the security-groups annotation on the Ingress, or removes it
// when value is "".
func (d *demo) setIngressAnnotation(ctx context.Context, value string) error {
	ing, err := d.ingress(ctx)
	if err != nil {
		return fmt.Errorf("reading Ingress %s/%s: %w", demoNamespace, demoIngress, err)
	}
	patch := client.MergeFrom(ing.DeepCopy())
	if value == "" {
		delete(ing.Annotations, ingressSGAnnotation)
	} else {
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		ing.Annotations[ingressSGAnnotation] = value
	}
	if err := d.k8s.Patch(ctx, ing, patch); err != nil {
		return fmt.Errorf("annotating Ingress %s/%s: %w", demoNamespace, demoIngress, err)
	}
	return nil
}
