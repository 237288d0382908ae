// Package e2e runs lbsg end to end: a real kube-apiserver and etcd (envtest) and the moto
// AWS emulator over HTTP, through the real aws-sdk-go-v2 clients. When a part is missing the
// suite fails and says how to get it; it never skips.
package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/sgrules"
)

const cluster = "e2e-cluster"

var (
	moto  *localenv.Moto
	plane *localenv.ControlPlane
)

func TestMain(m *testing.M) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": localenv.Region, "AWS_EC2_METADATA_DISABLED": "true"} {
		os.Setenv(k, v)
	}
	ctrl.SetLogger(logr.Discard())
	ctx := context.Background()
	var err error
	if moto, err = localenv.StartMoto(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the AWS emulator is required:", err)
		os.Exit(1)
	}
	grants, err := referenceGrantCRD()
	if err != nil {
		moto.Close()
		fmt.Fprintln(os.Stderr, "FAIL: Gateway API's ReferenceGrant CRD is required:", err)
		os.Exit(1)
	}
	if plane, err = localenv.StartControlPlane(ctx, localenv.ControlPlaneOptions{CRDDirectoryPaths: []string{grants}, Scheme: app.Scheme()}); err != nil {
		moto.Close()
		fmt.Fprintln(os.Stderr, "FAIL: kube-apiserver and etcd are required:", err)
		os.Exit(1)
	}
	code := m.Run()
	plane.Stop()
	moto.Close()
	os.Exit(code)
}

// harness is one test's world and controller.
type harness struct {
	t     *testing.T
	ctx   context.Context
	k8s   client.Client
	world *localenv.World
	ec2   *ec2.Client
	elb   *elbv2.Client

	mu     sync.Mutex
	calls  *cloud.Calls
	stop   context.CancelFunc
	done   chan error
	engine *controller.Engine
}

// newHarness resets moto and Kubernetes and seeds a fresh world.
func newHarness(t *testing.T, opts localenv.WorldOptions) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, k8s: plane.Client}
	h.clearServices()
	if err := moto.Reset(ctx); err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.ec2, h.elb = ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	if opts.Cluster == "" {
		opts.Cluster = cluster
	}
	if h.world, err = localenv.SeedWorld(ctx, cfg, plane.Client, opts); err != nil {
		t.Fatalf("seed world: %v", err)
	}
	h.clearIngresses()
	t.Cleanup(func() {
		h.stopController()
		h.clearIngresses()
		h.clearServices()
	})
	return h
}

// clearServices removes every Service a previous test left (finalizers included).
func (h *harness) clearServices() {
	list := &corev1.ServiceList{}
	if err := h.k8s.List(h.ctx, list, client.InNamespace("default")); err != nil {
		h.t.Fatalf("list services: %v", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == "kubernetes" {
			continue
		}
		if len(s.Finalizers) > 0 {
			s.Finalizers = nil
			_ = h.k8s.Update(h.ctx, s)
		}
		_ = h.k8s.Delete(h.ctx, s)
	}
}

// startController runs lbsg in-process with the given extra flags.
func (h *harness) startController(args ...string) {
	h.t.Helper()
	h.startControllerWith(app.RunOptions{}, args...)
}

// controllerConfig parses the flags every test's lbsg runs with, then args (a flag given
// again in args wins).
func (h *harness) controllerConfig(args ...string) *config.Config {
	h.t.Helper()
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	base := []string{"--cluster-name=" + h.world.Cluster, "--aws-region=" + localenv.Region, "--aws-vpc-id=" + h.world.VPCID,
		"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint + ",ACM=" + moto.Endpoint,
		"--enable-leader-election=false", "--metrics-bind-addr=0", "--health-probe-bind-addr=0",
		"--aws-max-retries=1", "--drift-check-interval=2s", "--sync-period=10s"}
	if err := fs.Parse(append(base, args...)); err != nil {
		h.t.Fatalf("flags: %v", err)
	}
	return cfg
}

// startControllerWith runs lbsg in-process with o and the test flags plus args, and waits
// until it started. Unset in o: the test control plane, a fresh metrics registry. o.Started,
// when set, runs after the harness recorded the engine and the AWS call counts.
func (h *harness) startControllerWith(o app.RunOptions, args ...string) {
	h.t.Helper()
	h.startControllerConfig(h.controllerConfig(args...), o)
}

// startControllerConfig is startControllerWith with a configuration the test parsed itself.
func (h *harness) startControllerConfig(cfg *config.Config, o app.RunOptions) {
	h.t.Helper()
	if o.RestConfig == nil {
		o.RestConfig = plane.Config
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	o.SkipNameValidation = true
	then := o.Started
	ctx, cancel := context.WithCancel(h.ctx)
	started := make(chan struct{})
	h.done = make(chan error, 1)
	h.stop = cancel
	o.Started = func(e *controller.Engine, c *cloud.Clients) {
		h.mu.Lock()
		h.engine, h.calls = e, c.Calls
		h.mu.Unlock()
		if then != nil {
			then(e, c)
		}
		close(started)
	}
	go func() { h.done <- app.Run(ctx, cfg, o) }()
	select {
	case <-started:
	case err := <-h.done:
		h.t.Fatalf("controller did not start: %v", err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("controller did not start within 30s")
	}
}

func (h *harness) stopController() {
	if h.stop == nil {
		return
	}
	h.stop()
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.t.Error("controller did not stop within 30s")
	}
	h.stop = nil
}

// counts returns the AWS calls the controller made so far.
func (h *harness) counts() cloud.Counts {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls.Snapshot()
}

// eventually polls cond until it returns "" (success) or the deadline passes.
func (h *harness) eventually(what string, timeout time.Duration, cond func() string) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	h.t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
}

// quiesce waits until the controller made no AWS write for a while.
func (h *harness) quiesce() {
	h.t.Helper()
	last := h.counts().Mutating()
	stable := 0
	for i := 0; i < 120 && stable < 8; i++ {
		time.Sleep(250 * time.Millisecond)
		now := h.counts().Mutating()
		if fmt.Sprint(now) == fmt.Sprint(last) {
			stable++
		} else {
			stable = 0
		}
		last = now
	}
}

// webserver is the sample Service of seed 003.
func webserver(name string, ann map[string]string) *corev1.Service {
	a := map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
		"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
		"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
	}
	for k, v := range ann {
		if v == "" {
			delete(a, k)
			continue
		}
		a[k] = v
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: a},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"role": "webserver"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
		},
	}
}

func (h *harness) create(obj client.Object) {
	h.t.Helper()
	if err := h.k8s.Create(h.ctx, obj); err != nil {
		h.t.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

func (h *harness) service(name string) *corev1.Service {
	h.t.Helper()
	s := &corev1.Service{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, s); err != nil {
		h.t.Fatalf("get service %s: %v", name, err)
	}
	return s
}

// patchAnnotations sets (or, for "", removes) annotations on a Service.
func (h *harness) patchAnnotations(name string, ann map[string]string) {
	h.t.Helper()
	for i := 0; i < 5; i++ {
		s := h.service(name)
		for k, v := range ann {
			if v == "" {
				delete(s.Annotations, k)
			} else {
				s.Annotations[k] = v
			}
		}
		err := h.k8s.Update(h.ctx, s)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			h.t.Fatalf("update %s: %v", name, err)
		}
	}
	h.t.Fatalf("update %s: conflicts", name)
}

// waitHostname waits for the Service's load balancer hostname.
func (h *harness) waitHostname(name string) string {
	h.t.Helper()
	host := ""
	h.eventually("hostname of "+name, 60*time.Second, func() string {
		s := h.service(name)
		if len(s.Status.LoadBalancer.Ingress) > 0 && s.Status.LoadBalancer.Ingress[0].Hostname != "" {
			host = s.Status.LoadBalancer.Ingress[0].Hostname
			return ""
		}
		return "condition: " + conditionMessage(s)
	})
	return host
}

func conditionMessage(s *corev1.Service) string {
	c := meta.FindStatusCondition(s.Status.Conditions, controller.ConditionReady)
	if c == nil {
		return "(none)"
	}
	return string(c.Status) + " " + c.Reason + ": " + c.Message
}

// loadBalancers returns every load balancer in moto.
func (h *harness) loadBalancers() []elbtypes.LoadBalancer {
	h.t.Helper()
	out, err := h.elb.DescribeLoadBalancers(h.ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		h.t.Fatalf("describe load balancers: %v", err)
	}
	return out.LoadBalancers
}

func (h *harness) loadBalancer(name string) *elbtypes.LoadBalancer {
	for _, lb := range h.loadBalancers() {
		if aws.ToString(lb.LoadBalancerName) == name {
			return &lb
		}
	}
	return nil
}

func (h *harness) targetGroups() []elbtypes.TargetGroup {
	h.t.Helper()
	out, err := h.elb.DescribeTargetGroups(h.ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		h.t.Fatalf("describe target groups: %v", err)
	}
	return out.TargetGroups
}

func (h *harness) elbTags(arn string) map[string]string {
	h.t.Helper()
	out, err := h.elb.DescribeTags(h.ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		h.t.Fatalf("describe tags: %v", err)
	}
	m := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return m
}

// sg is a security group as the test sees it.
type sg struct {
	ID, Name, Description string
	Tags                  map[string]string
	Rules                 []sgrules.Rule
}

// securityGroups returns every SG of the world's VPC but the default one, by ID.
func (h *harness) securityGroups() map[string]sg {
	h.t.Helper()
	out, err := h.ec2.DescribeSecurityGroups(h.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{h.world.VPCID}}}})
	if err != nil {
		h.t.Fatalf("describe security groups: %v", err)
	}
	m := map[string]sg{}
	for _, g := range out.SecurityGroups {
		if aws.ToString(g.GroupName) == "default" {
			continue
		}
		tags := map[string]string{}
		for _, t := range g.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		m[aws.ToString(g.GroupId)] = sg{ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName),
			Description: aws.ToString(g.Description), Tags: tags, Rules: cloud.RulesFromSDK(g.IpPermissions)}
	}
	return m
}

func (h *harness) sgByName(name string) (sg, bool) {
	for _, g := range h.securityGroups() {
		if g.Name == name {
			return g, true
		}
	}
	return sg{}, false
}

// lbsgRules are the rules on an SG that carry lbsg's cluster description.
func lbsgRules(g sg) []string {
	var out []string
	for _, r := range g.Rules {
		if r.Description == sgrules.OwnerDescription(cluster) {
			out = append(out, r.Key.String())
		}
	}
	sort.Strings(out)
	return out
}

func ruleStrings(rules []sgrules.Rule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Key.String()
	}
	sort.Strings(out)
	return out
}

// events returns the messages of the Events about a Service, by reason.
func (h *harness) events(name string) map[string][]string {
	h.t.Helper()
	return h.eventsOf("Service", name)
}

// eventsOf returns the messages of the Events about an object of the kind, by reason.
func (h *harness) eventsOf(kind, name string) map[string][]string {
	h.t.Helper()
	list := &eventsv1.EventList{}
	if err := h.k8s.List(h.ctx, list, client.InNamespace("default")); err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

func (h *harness) waitEvent(name, reason, contains string) {
	h.t.Helper()
	h.waitEventOf("Service", name, reason, contains)
}

func (h *harness) waitEventOf(kind, name, reason, contains string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("event %s on %s %s containing %q", reason, kind, name, contains), 30*time.Second, func() string {
		for _, m := range h.eventsOf(kind, name)[reason] {
			if strings.Contains(m, contains) {
				return ""
			}
		}
		return fmt.Sprint(h.eventsOf(kind, name))
	})
}

// rulesToSDK renders one tcp rule from an SG, as a user would revoke it.
func rulesToSDK(port int32, sgID string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(sgID), Description: aws.String(sgrules.OwnerDescription(cluster))}}}}
}
