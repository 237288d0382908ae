package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

const netCluster = "prod"

// netWorld is a cluster of NLB Services on the in-memory EC2 and ELBv2 fakes, with the
// target-SG reconciler on controller-runtime's fake client and a clock the test moves.
type netWorld struct {
	t       *testing.T
	ctx     context.Context
	ec2     *cloud.FakeEC2
	elbAPI  *elb.FakeAPI
	obs     *cloud.Observer
	kube    client.Client
	r       *NetworkingReconciler
	nodeSG  string
	podSG   string
	backend string
	now     time.Time

	mu      sync.Mutex
	changed []spec.Owner
}

func newNetWorld(t *testing.T) *netWorld {
	t.Helper()
	w := &netWorld{t: t, ctx: context.Background(), ec2: cloud.NewFakeEC2(), elbAPI: elb.NewFakeAPI(),
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w.obs = cloud.NewObserverFromAPI(w.ec2, "vpc-1", nil)
	w.nodeSG = w.mkSG("nodes", map[string]string{naming.NodeSGClusterTagPrefix + netCluster: "owned"})
	w.podSG = w.mkSG("pods", map[string]string{naming.NodeSGClusterTagPrefix + netCluster: "owned"})
	w.backend = w.mkSG(naming.BackendSGName(netCluster), map[string]string{naming.TagCluster: netCluster, naming.TagResource: naming.BackendSGResourceValue})
	w.ec2.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-pods"), VpcId: aws.String("vpc-1"),
		Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(w.podSG)}},
		PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{PrivateIpAddress: aws.String("10.0.1.5")}, {PrivateIpAddress: aws.String("10.0.1.6")}, {PrivateIpAddress: aws.String("10.0.1.7")}}})
	w.kube = fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).Build()
	for i := 1; i <= 2; i++ {
		w.addNode(i)
	}
	e := &Engine{
		Settings: spec.Settings{Cluster: netCluster, EnableBackendSG: true, NLBSecurityGroup: true, DefaultTargetType: "instance",
			DefaultScheme: "internal", LoadBalancerClass: "service.k8s.aws/nlb"},
		Budget: 1, EC2: w.obs, ELB: elb.New(w.elbAPI),
		Metrics: NewNetworkingMetrics(prometheus.NewRegistry()),
	}
	e.Exec = &apply.Executor{EC2: w.obs, ELB: e.ELB}
	w.r = &NetworkingReconciler{Client: w.kube, Engine: e, Recorder: events.NewFakeRecorder(100),
		DriftCheck: time.Minute, Resync: 10 * time.Hour, Now: func() time.Time { return w.now },
		LBChanged: func(o spec.Owner) { w.mu.Lock(); w.changed = append(w.changed, o); w.mu.Unlock() }}
	w.r.Orphans = &OrphanCollector{Engine: e, Reader: w.kube, Recorder: w.r.Recorder, Grace: DefaultOrphanGrace}
	return w
}

func (w *netWorld) mkSG(name string, tags map[string]string) string {
	id, err := w.obs.CreateSecurityGroup(w.ctx, name, name, tags)
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

// addNode adds a ready node whose instance's primary ENI is in the node SG.
func (w *netWorld) addNode(i int) {
	id := fmt.Sprintf("i-%d", i)
	w.ec2.AddInstance(ec2types.Instance{InstanceId: aws.String(id), NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
		NetworkInterfaceId: aws.String("eni-" + id), VpcId: aws.String("vpc-1"),
		Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
		Groups:     []ec2types.GroupIdentifier{{GroupId: aws.String(w.nodeSG)}}}}})
	w.create(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)},
		Spec:   corev1.NodeSpec{ProviderID: "aws:///eu-west-1a/" + id},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
}

func (w *netWorld) create(o client.Object) {
	if err := w.kube.Create(w.ctx, o); err != nil {
		w.t.Fatal(err)
	}
}

// addService adds an NLB Service (instance or ip targets) and its load balancer, with
// the backend SG attached, as the Service reconciler leaves it.
func (w *netWorld) addService(name string, nodePort int32, ip bool) {
	class := "service.k8s.aws/nlb"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: nodePort, TargetPort: intstr.FromInt32(8080)}}}}
	if ip {
		svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] = "ip"
	}
	w.create(svc)
	w.elbAPI.AddLoadBalancer("k8s-team-"+name, []string{w.backend}, map[string]string{
		naming.TagCluster: netCluster, naming.ServiceStackTag: naming.ServiceStackID("team", name),
		naming.ServiceResourceTag: naming.LoadBalancerResourceID})
}

// setEndpoints makes the Service's one EndpointSlice hold the given pod IPs (each a Pod
// the Service selects).
func (w *netWorld) setEndpoints(name string, ips ...string) { w.setPodEndpoints(name, "", ips...) }

// setPodEndpoints is setEndpoints with the Pods running on the node named.
func (w *netWorld) setPodEndpoints(name, node string, ips ...string) {
	ready, port, pname := true, int32(8080), "http"
	var eps []discoveryv1.Endpoint
	for i, ip := range ips {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: fmt.Sprintf("%s-%d", name, i), Labels: map[string]string{"app": name}},
			Spec:   corev1.PodSpec{NodeName: node},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
		_ = w.kube.Delete(w.ctx, pod)
		w.create(pod)
		eps = append(eps, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "team", Name: pod.Name}})
	}
	slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name + "-1",
		Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &pname, Port: &port}}, Endpoints: eps}
	_ = w.kube.Delete(w.ctx, slice)
	w.create(slice)
}

// calls returns every AWS call made so far, by action.
func (w *netWorld) calls() map[string]int {
	out := w.ec2.Calls()
	maps.Copy(out, w.elbAPI.Calls())
	return out
}

// pass runs one reconcile and returns the AWS calls it made, by action.
func (w *netWorld) pass() map[string]int {
	w.t.Helper()
	before := w.calls()
	if _, err := w.r.Reconcile(w.ctx, TargetSGPass{}); err != nil {
		w.t.Fatalf("reconcile: %v", err)
	}
	out := map[string]int{}
	for k, v := range w.calls() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// driftPass moves the clock to the next drift check and runs it.
func (w *netWorld) driftPass() map[string]int {
	w.now = w.now.Add(w.r.DriftCheck)
	return w.pass()
}

func (w *netWorld) rules(sg string) []string {
	w.t.Helper()
	sgs, err := w.obs.SecurityGroups(w.ctx, []string{sg}, true)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, r := range sgs[sg].Ingress {
		out = append(out, r.Key.String())
	}
	slices.Sort(out)
	return out
}

// settledWorld is a world of n instance-target Services after its first pass.
func settledWorld(t *testing.T, n int) *netWorld {
	w := newNetWorld(t)
	for i := range n {
		w.addService(fmt.Sprintf("web-%d", i), int32(30000+i), false)
	}
	w.pass()
	want := fmt.Sprintf("tcp 30000-%d from %s", 30000+n-1, w.backend)
	if n == 1 {
		want = fmt.Sprintf("tcp 30000 from %s", w.backend)
	}
	if got := w.rules(w.nodeSG); !slices.Equal(got, []string{want}) {
		t.Fatalf("node SG rules after the first pass = %v, want [%s]", got, want)
	}
	return w
}

// TestTargetSGPassCallsDoNotGrowWithStacks: the same passes over 1 and over 50 Services
// make the same AWS calls: the first pass (beyond one DescribeTags per 20 new load
// balancers), a pass after a new node, and the drift check.
func TestTargetSGPassCallsDoNotGrowWithStacks(t *testing.T) {
	type counts struct{ first, node, drift map[string]int }
	run := func(n int) counts {
		w := newNetWorld(t)
		for i := range n {
			w.addService(fmt.Sprintf("web-%d", i), int32(30000+i), false)
		}
		var c counts
		c.first = w.pass()
		delete(c.first, "DescribeTags")
		w.addNode(3)
		w.now = w.now.Add(time.Second)
		c.node = w.pass()
		c.drift = w.driftPass()
		t.Logf("N=%d: first pass %v, pass after a new node %v, drift check %v", n, c.first, c.node, c.drift)
		return c
	}
	one, fifty := run(1), run(50)
	for _, x := range []struct {
		name string
		a, b map[string]int
	}{{"first pass", one.first, fifty.first}, {"pass after a new node", one.node, fifty.node}, {"drift check", one.drift, fifty.drift}} {
		if !maps.Equal(x.a, x.b) {
			t.Errorf("%s: N=1 makes %v, N=50 makes %v; want the same", x.name, x.a, x.b)
		}
	}
	// The new node's instance (with its ENIs, whose SGs are authoritative), then the SGs.
	if want := map[string]int{"DescribeInstances": 1, "DescribeNetworkInterfaces": 1, "DescribeSecurityGroups": 1}; !maps.Equal(one.node, want) {
		t.Errorf("pass after a new node = %v, want %v", one.node, want)
	}
}

// TestDriftCheckIsTwoCallsAndNothingBetween: with nothing changing, a drift check makes
// one DescribeLoadBalancers and one DescribeSecurityGroups, and a pass between two drift
// checks (an event that changed nothing lbsg uses) makes none; 10 minutes cost 2 calls a
// minute, for 1 Service as for 50.
func TestDriftCheckIsTwoCallsAndNothingBetween(t *testing.T) {
	for _, n := range []int{1, 50} {
		w := settledWorld(t, n)
		w.driftPass()
		w.now = w.now.Add(10 * time.Second)
		if got := w.pass(); total(got) != 0 {
			t.Errorf("N=%d: pass with unchanged inputs made %v, want no call", n, got)
		}
		sum := 0
		for range 10 {
			got := w.driftPass()
			if want := map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1}; !maps.Equal(got, want) {
				t.Errorf("N=%d: drift check made %v, want %v", n, got, want)
			}
			sum += total(got)
		}
		t.Logf("N=%d: steady state %.1f calls per minute over 10 minutes", n, float64(sum)/10)
		if limit := 2 + float64(n)/100; float64(sum)/10 > limit {
			t.Errorf("N=%d: steady state %.1f calls per minute, want at most %.2f", n, float64(sum)/10, limit)
		}
	}
}

// TestDriftCheckPutsBackRevokedRules: a rule revoked behind lbsg's back, on a node SG or
// on an SG of the cluster, is put back by the next drift check (and not before: events
// that change nothing read nothing), with one authorize.
func TestDriftCheckPutsBackRevokedRules(t *testing.T) {
	w := settledWorld(t, 3)
	want := w.rules(w.nodeSG)
	w.revoke(w.nodeSG, 30000, 30002, w.backend)
	if got := w.rules(w.nodeSG); len(got) != 0 {
		t.Fatalf("rules after the out-of-band revoke = %v", got)
	}
	got := w.driftPass()
	if got["AuthorizeSecurityGroupIngress"] != 1 || got["DescribeSecurityGroups"] != 1 || got["DescribeLoadBalancers"] != 1 {
		t.Errorf("drift check made %v, want one DescribeLoadBalancers, one DescribeSecurityGroups and one authorize", got)
	}
	if got := w.rules(w.nodeSG); !slices.Equal(got, want) {
		t.Errorf("node SG rules after the drift check = %v, want %v", got, want)
	}
	// The next drift check finds nothing to do.
	if got := w.driftPass(); got["AuthorizeSecurityGroupIngress"] != 0 {
		t.Errorf("second drift check made %v, want no authorize", got)
	}
}

func (w *netWorld) revoke(sg string, from, to int32, peer string) {
	w.t.Helper()
	rules := []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: from, ToPort: to, PeerKind: sgrules.PeerSG, Peer: peer}}}
	if _, err := w.ec2.RevokeSecurityGroupIngress(w.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sg),
		IpPermissions: cloud.RulesToSDK(rules)}); err != nil {
		w.t.Fatal(err)
	}
}

// TestEndpointChangeWithoutNewENIMakesNoCall: an EndpointSlice change of an ip-target
// Service whose pod IPs stay on the same ENIs makes no AWS call; a new pod IP costs one
// lookup of that IP, and no SG read when its ENI is one already used.
func TestEndpointChangeWithoutNewENIMakesNoCall(t *testing.T) {
	w := newNetWorld(t)
	w.addService("api", 30100, true)
	w.setEndpoints("api", "10.0.1.5", "10.0.1.6")
	w.pass()
	if got, want := w.rules(w.podSG), []string{"tcp 8080 from " + w.backend}; !slices.Equal(got, want) {
		t.Fatalf("pod SG rules = %v, want %v", got, want)
	}
	w.now = w.now.Add(time.Second)
	w.setEndpoints("api", "10.0.1.6", "10.0.1.5") // same addresses, new objects
	if got := w.pass(); total(got) != 0 {
		t.Errorf("endpoint change without new addresses made %v, want no call", got)
	}
	w.setEndpoints("api", "10.0.1.5", "10.0.1.6", "10.0.1.7")
	if got, want := w.pass(), map[string]int{"DescribeNetworkInterfaces": 1}; !maps.Equal(got, want) {
		t.Errorf("new pod IP on a known ENI made %v, want %v", got, want)
	}
}

// TestDriftCheckHandsChangedLoadBalancerToItsReconciler: an SG detached from a load
// balancer behind lbsg's back, or a load balancer deleted, is seen by the next drift
// check, which names the stack to its own reconciler (which puts it back).
func TestDriftCheckHandsChangedLoadBalancerToItsReconciler(t *testing.T) {
	w := settledWorld(t, 2)
	w.driftPass()
	lbs, err := w.r.Engine.ELB.LoadBalancers(w.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.elbAPI.SetSecurityGroups(w.ctx, elbSetSGs(lbs[1].ARN)); err != nil {
		t.Fatal(err)
	}
	w.driftPass()
	want := []spec.Owner{{Kind: "Service", Namespace: "team", Name: "web-1"}}
	if !slices.Equal(w.changed, want) {
		t.Errorf("stacks handed over = %v, want %v", w.changed, want)
	}
	w.changed = nil
	w.driftPass()
	if len(w.changed) != 0 {
		t.Errorf("unchanged load balancers handed over again: %v", w.changed)
	}
}

// TestTargetSGPassRunsAlongsideConcurrentReaders: passes and the Engine's shared reads
// run in parallel without a data race (go test -race).
func TestTargetSGPassRunsAlongsideConcurrentReaders(t *testing.T) {
	w := settledWorld(t, 5)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := w.r.Engine.ELB.LoadBalancers(w.ctx, i%2 == 0); err != nil {
					t.Error(err)
				}
				if _, err := w.r.Engine.BackendSG(w.ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 3 {
		if _, err := w.r.Reconcile(w.ctx, TargetSGPass{}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func elbSetSGs(arn string, sgs ...string) *elbv2.SetSecurityGroupsInput {
	return &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arn), SecurityGroups: sgs}
}

// TestRulesOnAnUntaggedTargetSGAreRevokedWhenPodsMoveAway: pods of an ip-target Service
// on an SG that discovery does not find (untagged, no lbsg rule yet) get their rule there;
// when the pods move to another ENI, that rule is revoked by the next pass, without
// waiting for the next discovery.
func TestRulesOnAnUntaggedTargetSGAreRevokedWhenPodsMoveAway(t *testing.T) {
	w := newNetWorld(t)
	other := w.mkSG("other-pods", nil)
	w.ec2.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-other"), VpcId: aws.String("vpc-1"),
		Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(other)}},
		PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{PrivateIpAddress: aws.String("10.0.2.5")}}})
	w.addService("api", 30100, true)
	w.setEndpoints("api", "10.0.2.5")
	w.pass()
	if got, want := w.rules(other), []string{"tcp 8080 from " + w.backend}; !slices.Equal(got, want) {
		t.Fatalf("rules on the untagged SG = %v, want %v", got, want)
	}
	w.now = w.now.Add(time.Second)
	w.setEndpoints("api", "10.0.1.5")
	w.pass()
	if got := w.rules(other); len(got) != 0 {
		t.Errorf("rules left on the untagged SG after its pods moved away: %v", got)
	}
	if got, want := w.rules(w.podSG), []string{"tcp 8080 from " + w.backend}; !slices.Equal(got, want) {
		t.Errorf("rules on the new pods' SG = %v, want %v", got, want)
	}
}

// TestFailedTargetLookupFailsOnlyTheStacksItLeftUnresolved: when AWS refuses the lookup of
// new pod IPs, the pass goes on: only the Service with unresolved targets fails (and says
// why), and the Service whose targets are known keeps its rule.
func TestFailedTargetLookupFailsOnlyTheStacksItLeftUnresolved(t *testing.T) {
	w := newNetWorld(t)
	w.addService("web", 30000, false)
	w.pass()
	w.addService("api", 30100, true)
	w.setEndpoints("api", "10.0.1.5")
	w.ec2.Fail = func(action string) error {
		if action == "DescribeNetworkInterfaces" {
			return cloud.FakeAPIError("RequestLimitExceeded")
		}
		return nil
	}
	w.now = w.now.Add(time.Second)
	w.r.Engine.ELB.InvalidateInventory() // as the Service reconciler's create would have
	objs, err := ListClusterObjects(w.ctx, w.kube, CRDs{})
	if err != nil {
		t.Fatal(err)
	}
	np, err := w.r.Engine.planNetworking(w.ctx, objs, &w.r.snap, passOptions{Now: w.now, Resync: time.Hour})
	if err != nil {
		t.Fatalf("the pass failed as a whole: %v", err)
	}
	api := spec.Owner{Kind: "Service", Namespace: "team", Name: "api"}
	if err := np.Failures[api]; err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
		t.Errorf("failure of team/api = %v, want one naming the refused lookup", err)
	}
	if len(np.Failures) != 1 {
		t.Errorf("failures = %v, want only team/api", np.Failures)
	}
	if !np.Plan.Empty() {
		t.Errorf("plan = %v, want nothing to change for team/web", np.Plan)
	}
}

// TestPassRevokesOnlyFromAFreshRead: between drift checks the pass plans from cached SGs,
// but a plan that would revoke is made again from a fresh read of the SGs it revokes from,
// alone: a rule lbsg owns that appeared since the cached read (left by an earlier process)
// is revoked with the others, at the cost of one describe.
func TestPassRevokesOnlyFromAFreshRead(t *testing.T) {
	w := settledWorld(t, 2)
	stray := []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 31000, ToPort: 31000, PeerKind: sgrules.PeerSG, Peer: w.backend},
		Description: sgrules.OwnerDescription(netCluster)}}
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(w.nodeSG),
		IpPermissions: cloud.RulesToSDK(stray)}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "team", Name: "web-1"}, svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.Ports[0].NodePort = 30005
	if err := w.kube.Update(w.ctx, svc); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(time.Second)
	got := w.pass()
	if got["DescribeSecurityGroups"] != 1 || got["RevokeSecurityGroupIngress"] == 0 {
		t.Errorf("pass made %v, want one fresh DescribeSecurityGroups of the SG it revokes from, and a revoke", got)
	}
	// The world's budget is one rule per SG: the two ports share one range.
	want := []string{fmt.Sprintf("tcp 30000-30005 from %s", w.backend)}
	if got := w.rules(w.nodeSG); !slices.Equal(got, want) {
		t.Errorf("node SG rules = %v, want %v (the stray lbsg rule revoked too)", got, want)
	}
}

// TestUnknownPodIPIsNotAskedForOnEveryRetry: a pod IP AWS does not know (yet) fails its
// stack's contribution; the retries of the pass that follow do not ask for it again
// before missRetry, then it is asked for once more.
func TestUnknownPodIPIsNotAskedForOnEveryRetry(t *testing.T) {
	w := newNetWorld(t)
	w.addService("api", 30100, true)
	w.setEndpoints("api", "10.0.9.9")
	w.now = w.now.Add(time.Second)
	lookups := func() int {
		before := w.calls()["DescribeNetworkInterfaces"]
		_, _ = w.r.Reconcile(w.ctx, TargetSGPass{})
		return w.calls()["DescribeNetworkInterfaces"] - before
	}
	if got := lookups(); got != 1 {
		t.Fatalf("first pass: %d DescribeNetworkInterfaces, want 1", got)
	}
	w.now = w.now.Add(time.Second)
	if got := lookups(); got != 0 {
		t.Errorf("retry 1s later: %d DescribeNetworkInterfaces, want 0", got)
	}
	w.now = w.now.Add(missRetry)
	if got := lookups(); got != 1 {
		t.Errorf("retry after missRetry: %d DescribeNetworkInterfaces, want 1", got)
	}
}

// removeService deletes a Service and its load balancer, as the Service reconciler does
// (through the caches).
func (w *netWorld) removeService(name string) {
	w.t.Helper()
	if err := w.kube.Delete(w.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name}}); err != nil {
		w.t.Fatal(err)
	}
	lbs, err := w.r.Engine.ELB.LoadBalancers(w.ctx, false)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, lb := range lbs {
		if lb.Name == "k8s-team-"+name {
			if err := w.r.Engine.ELB.DeleteLoadBalancer(w.ctx, lb.ARN); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}

// TestLastServiceGoneDeletesBackendSG: once no load balancer uses the backend SG, one pass
// revokes its rules on the node SG and deletes it, reading only the load balancers (fresh:
// a deletion decision) and the rules that refer to the backend SG (fresh: they are
// revoked, or name what holds it). A user's rule that refers to it holds the deletion: the
// pass fails naming that rule's SG, without asking AWS to delete, and the SG is deleted by
// the pass after the rule is gone.
func TestLastServiceGoneDeletesBackendSG(t *testing.T) {
	for _, userRule := range []bool{false, true} {
		w := settledWorld(t, 1)
		var user string
		rule := []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 6379, ToPort: 6379, PeerKind: sgrules.PeerSG, Peer: w.backend}}}
		if userRule {
			user = w.mkSG("cache", nil)
			if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(user),
				IpPermissions: cloud.RulesToSDK(rule)}); err != nil {
				t.Fatal(err)
			}
		}
		w.removeService("web-0")
		before := w.calls()
		_, err := w.r.Reconcile(w.ctx, TargetSGPass{})
		got := map[string]int{}
		for k, v := range w.calls() {
			if d := v - before[k]; d > 0 {
				got[k] = d
			}
		}
		if got := w.rules(w.nodeSG); len(got) != 0 {
			t.Errorf("user rule %v: node SG rules = %v, want none", userRule, got)
		}
		want := map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1, "RevokeSecurityGroupIngress": 1, "DeleteSecurityGroup": 1}
		if !userRule {
			if err != nil {
				t.Fatalf("pass: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AWS calls of the pass that deletes the backend SG (-want +got):\n%s", diff)
			}
			if _, ok := w.sgs()[w.backend]; ok {
				t.Error("the backend SG is still there")
			}
			continue
		}
		delete(want, "DeleteSecurityGroup")
		var retry *apply.RetryError
		if !errors.As(err, &retry) || !strings.Contains(err.Error(), "still referenced by a rule of "+user) {
			t.Fatalf("pass error = %v, want a RetryError naming %s", err, user)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AWS calls of the pass held by a user's rule (-want +got):\n%s", diff)
		}
		if _, ok := w.sgs()[w.backend]; !ok {
			t.Fatal("the backend SG was deleted while a user's rule refers to it")
		}
		if _, err := w.ec2.RevokeSecurityGroupIngress(w.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(user),
			IpPermissions: cloud.RulesToSDK(rule)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.r.Reconcile(w.ctx, TargetSGPass{}); err != nil {
			t.Fatalf("pass after the user's rule is gone: %v", err)
		}
		if _, ok := w.sgs()[w.backend]; ok {
			t.Error("the backend SG is still there after the user's rule is gone")
		}
	}
}

func (w *netWorld) sgs() map[string]bool {
	w.t.Helper()
	out, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, g := range out.SecurityGroups {
		ids[aws.ToString(g.GroupId)] = true
	}
	return ids
}

// TestPodIPsAreFoundOnTheirNodesENIs: a pod IP is looked for on the ENIs of its Pod's
// node, where VPC CNI puts it: an IP already there when those ENIs were read costs no
// call, a newer one one fresh read of those ENIs, and neither a search across the VPC.
func TestPodIPsAreFoundOnTheirNodesENIs(t *testing.T) {
	w := newNetWorld(t)
	w.ec2.AssignPrivateIPs("eni-i-1", "10.0.2.10")
	w.addService("api", 30100, true)
	w.setPodEndpoints("api", "node-1", "10.0.2.10")
	first := w.pass()
	if first["DescribeInstances"] != 1 || first["DescribeNetworkInterfaces"] != 1 {
		t.Errorf("first pass made %v, want one DescribeInstances and one DescribeNetworkInterfaces (the node's ENIs)", first)
	}
	want := []string{fmt.Sprintf("tcp 8080 from %s", w.backend)}
	if got := w.rules(w.nodeSG); !slices.Equal(got, want) {
		t.Fatalf("node SG rules = %v, want %v", got, want)
	}

	// A rollout: the new Pod's IP was assigned after the node's ENIs were read.
	w.ec2.AssignPrivateIPs("eni-i-1", "10.0.2.11")
	w.setPodEndpoints("api", "node-1", "10.0.2.11")
	if got := w.pass(); !maps.Equal(got, map[string]int{"DescribeNetworkInterfaces": 1}) {
		t.Errorf("pass after a new pod IP made %v, want one DescribeNetworkInterfaces", got)
	}
	if ip := w.r.snap.ipENI["10.0.2.11"]; ip.ID != "eni-i-1" {
		t.Errorf("10.0.2.11 resolved to %q, want eni-i-1", ip.ID)
	}

	// Back to an IP the node's ENIs held when they were read: no call at all.
	w.setPodEndpoints("api", "node-1", "10.0.2.10")
	if got := w.pass(); total(got) != 0 {
		t.Errorf("pass after an IP known on the node's ENIs made %v, want no call", got)
	}
}
