package controller

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

func tgt(id string, port int32) state.Target { return state.Target{ID: id, Port: port} }

func TestTargetsDiffDeregistersOnlyWhatLbsgRegistered(t *testing.T) {
	for _, tc := range []struct {
		name                string
		want, have, tracked []state.Target
		register, dereg     []state.Target
	}{
		{name: "first registration", want: []state.Target{tgt("i-1", 30000), tgt("i-2", 30000)},
			register: []state.Target{tgt("i-1", 30000), tgt("i-2", 30000)}},
		{name: "nothing to do", want: []state.Target{tgt("i-1", 30000)}, have: []state.Target{tgt("i-1", 30000)},
			tracked: []state.Target{tgt("i-1", 30000)}},
		{name: "a node leaves", want: []state.Target{tgt("i-1", 30000)}, have: []state.Target{tgt("i-1", 30000), tgt("i-2", 30000)},
			tracked: []state.Target{tgt("i-1", 30000), tgt("i-2", 30000)}, dereg: []state.Target{tgt("i-2", 30000)}},
		{name: "someone else's target stays", want: []state.Target{tgt("i-1", 30000)},
			have: []state.Target{tgt("i-1", 30000), tgt("i-9", 9999)}, tracked: []state.Target{tgt("i-1", 30000)}},
		{name: "a tracked target already gone is not deregistered", want: nil, have: nil,
			tracked: []state.Target{tgt("10.0.0.1", 8080)}},
		{name: "deletion: every tracked target still there", want: nil,
			have:    []state.Target{tgt("10.0.0.1", 8080), tgt("10.0.0.9", 8080)},
			tracked: []state.Target{tgt("10.0.0.1", 8080)}, dereg: []state.Target{tgt("10.0.0.1", 8080)}},
		{name: "duplicates registered once", want: []state.Target{tgt("i-1", 1), tgt("i-1", 1)}, register: []state.Target{tgt("i-1", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, dereg := targetsDiff(tc.want, tc.have, tc.tracked)
			if !reflect.DeepEqual(reg, tc.register) || !reflect.DeepEqual(dereg, tc.dereg) {
				t.Errorf("targetsDiff = %v, %v; want %v, %v", reg, dereg, tc.register, tc.dereg)
			}
		})
	}
}

func TestTrackedTargetsRecordRoundTripsAndRefusesGarbage(t *testing.T) {
	in := trackedTargets{ARN: "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/x/1", Targets: []state.Target{tgt("i-2", 30000), tgt("10.0.0.1", 8080)}}
	v := encodeTracked(in)
	if v != "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/x/1 10.0.0.1:8080,i-2:30000" {
		t.Errorf("encodeTracked = %q", v)
	}
	out, err := decodeTracked(v)
	if err != nil || out.ARN != in.ARN || !reflect.DeepEqual(out.Targets, sortedTargets(in.Targets)) {
		t.Errorf("decodeTracked = %+v, %v", out, err)
	}
	if got, err := decodeTracked(in.ARN + " "); err != nil || got.ARN != in.ARN || len(got.Targets) != 0 {
		t.Errorf("no targets: %+v, %v", got, err)
	}
	for _, bad := range []string{"arn x", "arn i-1:0", "arn i-1:http", "arn :80"} {
		if _, err := decodeTracked(bad); err == nil || !strings.Contains(err.Error(), TGBTargetsAnnotation) {
			t.Errorf("decodeTracked(%q) = %v, want an error naming the annotation", bad, err)
		}
	}
}

func TestBindingNetworkingRulesFromSecurityGroupAndIPBlockPeers(t *testing.T) {
	p := func(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
	named := intstr.FromString("metrics")
	udp, sctp := "UDP", "SCTP"
	n := &elbv2api.TargetGroupBindingNetworking{Ingress: []elbv2api.NetworkingIngressRule{
		{From: []elbv2api.NetworkingPeer{{SecurityGroup: &elbv2api.SecurityGroup{GroupID: "sg-0123456789abcdef0"}}, {IPBlock: &elbv2api.IPBlock{CIDR: "10.1.0.0/16"}}},
			Ports: []elbv2api.NetworkingPort{{Port: p(8080)}, {Protocol: &udp, Port: p(53)}, {Port: &named}}},
		{From: []elbv2api.NetworkingPeer{{IPBlock: &elbv2api.IPBlock{CIDR: "2001:db8::/32"}}}}, // every TCP port
		{From: []elbv2api.NetworkingPeer{{SecurityGroup: &elbv2api.SecurityGroup{GroupID: "my-sg"}}, {IPBlock: &elbv2api.IPBlock{CIDR: "10.1.0.1/16"}}, {}},
			Ports: []elbv2api.NetworkingPort{{Protocol: &sctp}, {Port: p(70000)}}},
	}}
	rs := bindingRules(n, func(name string) []int32 {
		if name == "metrics" {
			return []int32{9100}
		}
		return nil
	})
	wantNeeds := map[string][]sgrules.Need{"sg-0123456789abcdef0": {{Protocol: "tcp", Port: 8080}, {Protocol: "udp", Port: 53}, {Protocol: "tcp", Port: 9100}}}
	if !reflect.DeepEqual(rs.needs, wantNeeds) {
		t.Errorf("needs = %v, want %v", rs.needs, wantNeeds)
	}
	var cidr []string
	for _, r := range rs.cidr {
		cidr = append(cidr, r.Key.String())
	}
	wantCIDR := []string{"tcp 8080 from 10.1.0.0/16", "udp 53 from 10.1.0.0/16", "tcp 9100 from 10.1.0.0/16", "tcp 0-65535 from 2001:db8::/32"}
	if !reflect.DeepEqual(cidr, wantCIDR) {
		t.Errorf("cidr rules = %v, want %v", cidr, wantCIDR)
	}
	for _, want := range []string{`protocol "SCTP"`, "port 70000", `groupID "my-sg"`, `cidr "10.1.0.1/16"`, "from[2] is empty"} {
		if !strings.Contains(strings.Join(rs.problems, "\n"), want) {
			t.Errorf("problems %q lack %q", rs.problems, want)
		}
	}
}

// tgbWorld is one cluster on the in-memory fakes with the TargetGroupBinding reconciler.
type tgbWorld struct {
	t    *testing.T
	ctx  context.Context
	elbv *elb.FakeAPI
	kube client.Client
	rec  *events.FakeRecorder
	r    *TargetGroupBindingReconciler
	mark map[string]int
}

const tgbVPC = "vpc-1"

func newTGBWorld(t *testing.T, nodes int) *tgbWorld {
	t.Helper()
	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	if err := elbv2api.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "app"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "x"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080, TargetPort: intstr.FromInt32(8080)}}}}}
	for i := 1; i <= nodes; i++ {
		objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)},
			Spec:   corev1.NodeSpec{ProviderID: fmt.Sprintf("aws:///us-west-2a/i-%016d", i)},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
	}
	kube := fakeclient.NewClientBuilder().WithScheme(sch).WithObjects(objs...).
		WithStatusSubresource(&elbv2api.TargetGroupBinding{}).Build()
	elbv := elb.NewFakeAPI()
	lbs := elb.New(elbv)
	eng := &Engine{Settings: spec.Settings{Cluster: testCluster}, ELB: lbs, Exec: &apply.Executor{ELB: lbs, VPCID: tgbVPC}}
	rec := events.NewFakeRecorder(1000)
	return &tgbWorld{t: t, ctx: context.Background(), elbv: elbv, kube: kube, rec: rec, mark: map[string]int{},
		r: &TargetGroupBindingReconciler{Client: kube, Engine: eng, Recorder: rec}}
}

// targetGroup seeds a target group made outside Kubernetes and returns its ARN.
func (w *tgbWorld) targetGroup(name, vpc, targetType string, tags map[string]string) string {
	arn := "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/" + name + "/0123456789abcdef"
	w.elbv.PutTargetGroup(elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name),
		VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnum(targetType), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumTcp}, tags)
	return arn
}

func (w *tgbWorld) bind(name, arn string, mutate func(*elbv2api.TargetGroupBinding)) {
	w.t.Helper()
	b := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, ServiceRef: elbv2api.ServiceReference{Name: "app", Port: intstr.FromInt32(80)}}}
	if mutate != nil {
		mutate(b)
	}
	if err := w.kube.Create(w.ctx, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *tgbWorld) reconcile(name string) {
	w.t.Helper()
	if _, err := w.r.Reconcile(w.ctx, TGBRequest{Namespace: "default", Name: name}); err != nil {
		w.t.Fatalf("reconcile %s: %v", name, err)
	}
}

func (w *tgbWorld) binding(name string) (*elbv2api.TargetGroupBinding, bool) {
	b := &elbv2api.TargetGroupBinding{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "default", Name: name}, b); err != nil {
		return nil, false
	}
	return b, true
}

// tags reads a target group's tags from AWS.
func (w *tgbWorld) tags(arn string) map[string]string {
	w.t.Helper()
	tg, err := elb.New(w.elbv).BoundTargetGroup(w.ctx, arn)
	if err != nil {
		w.t.Fatal(err)
	}
	return tg.Tags
}

func (w *tgbWorld) targets(arn string) []string {
	w.t.Helper()
	ts, err := elb.New(w.elbv).Targets(w.ctx, arn)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s:%d", t.ID, t.Port))
	}
	return out
}

// calls returns the ELB calls by action since the previous reading.
func (w *tgbWorld) calls() map[string]int {
	now := w.elbv.Calls()
	out := map[string]int{}
	for k, v := range now {
		if d := v - w.mark[k]; d > 0 {
			out[k] = d
		}
	}
	w.mark = maps.Clone(now)
	return out
}

func (w *tgbWorld) events() string {
	var out []string
	for {
		select {
		case e := <-w.rec.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

func TestTGBFinalizerDeregistersOnlyLbsgTargetsAndKeepsTheTargetGroup(t *testing.T) {
	w := newTGBWorld(t, 2)
	arn := w.targetGroup("terraform", tgbVPC, "instance", nil)
	w.elbv.PutTargets(arn, []elbtypes.TargetDescription{{Id: aws.String("i-outsider"), Port: aws.Int32(9999)}})
	w.bind("b", arn, nil)
	w.reconcile("b")
	want := []string{"i-0000000000000001:30080", "i-0000000000000002:30080", "i-outsider:9999"}
	if got := w.targets(arn); !reflect.DeepEqual(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	b, _ := w.binding("b")
	if !hasFinalizer(b, TGBFinalizer) || !strings.HasPrefix(b.Annotations[TGBTargetsAnnotation], arn+" ") {
		t.Fatalf("finalizers %v, annotations %v", b.Finalizers, b.Annotations)
	}
	// A node leaves: its target goes, the outsider stays.
	if err := w.kube.Delete(w.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2"}}); err != nil {
		t.Fatal(err)
	}
	w.reconcile("b")
	if got, want := w.targets(arn), []string{"i-0000000000000001:30080", "i-outsider:9999"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the node left: targets %v, want %v", got, want)
	}
	w.calls()
	if err := w.kube.Delete(w.ctx, b); err != nil {
		t.Fatal(err)
	}
	w.reconcile("b")
	if got, want := w.targets(arn), []string{"i-outsider:9999"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after deletion: targets %v, want %v", got, want)
	}
	if _, ok := w.binding("b"); ok {
		t.Error("the binding's finalizer was not released")
	}
	calls := w.calls()
	for _, action := range []string{"DeleteTargetGroup", "ModifyTargetGroup", "ModifyTargetGroupAttributes", "AddTags"} {
		if calls[action] > 0 {
			t.Errorf("%s called on the user's target group", action)
		}
	}
	if calls["DeregisterTargets"] != 1 || calls["RemoveTags"] != 1 {
		t.Errorf("deletion calls %v, want one DeregisterTargets and one RemoveTags (lbsg's claim)", calls)
	}
	if tags := w.tags(arn); len(tags) != 0 {
		t.Errorf("tags %v left on the user's target group, want none", tags)
	}
}

func TestTGBRefusesTargetGroupsLbsgMustNotTouch(t *testing.T) {
	ipv6, ip := "ipv6", "ip"
	for _, tc := range []struct {
		name   string
		vpc    string
		tags   map[string]string
		mutate func(*elbv2api.TargetGroupBinding)
		noTG   bool
		want   string
	}{
		{name: "another VPC", vpc: "vpc-other", want: "not the cluster's VPC"},
		{name: "a Service stack's", vpc: tgbVPC, tags: map[string]string{"service.k8s.aws/stack": "default/web"}, want: "belongs to Service default/web"},
		{name: "an Ingress stack's", vpc: tgbVPC, tags: map[string]string{"ingress.k8s.aws/stack": "shop"}, want: "belongs to Ingress group shop"},
		{name: "spec.vpcID of another VPC", vpc: tgbVPC, mutate: func(b *elbv2api.TargetGroupBinding) { b.Spec.VpcID = "vpc-other" }, want: `spec.vpcID "vpc-other"`},
		{name: "target type mismatch", vpc: tgbVPC, mutate: func(b *elbv2api.TargetGroupBinding) { b.Spec.TargetType = &ip }, want: `spec.targetType "ip"`},
		{name: "ipv6", vpc: tgbVPC, mutate: func(b *elbv2api.TargetGroupBinding) { b.Spec.IPAddressType = &ipv6 }, want: `spec.ipAddressType "ipv6"`},
		{name: "no such target group", noTG: true, want: "does not exist"},
		{name: "no such Service", vpc: tgbVPC, mutate: func(b *elbv2api.TargetGroupBinding) { b.Spec.ServiceRef.Name = "nope" }, want: "Service default/nope does not exist"},
		{name: "no such port", vpc: tgbVPC, mutate: func(b *elbv2api.TargetGroupBinding) { b.Spec.ServiceRef.Port = intstr.FromString("grpc") }, want: "has no port grpc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTGBWorld(t, 1)
			arn := "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/missing/0"
			if !tc.noTG {
				arn = w.targetGroup("tg", tc.vpc, "instance", tc.tags)
			}
			w.bind("b", arn, tc.mutate)
			w.reconcile("b")
			if ev := w.events(); !strings.Contains(ev, "Warning") || !strings.Contains(ev, tc.want) {
				t.Errorf("events %q, want a Warning containing %q", ev, tc.want)
			}
			calls := w.calls()
			if calls["RegisterTargets"]+calls["DeregisterTargets"] > 0 {
				t.Errorf("calls %v: a refused binding changed targets", calls)
			}
		})
	}
}

// The AWS calls of one binding's reconcile do not depend on how many other bindings
// exist, and a second reconcile with nothing changed reads nothing.
func TestTGBReconcileCallsDoNotGrowWithOtherBindings(t *testing.T) {
	measure := func(others int) (first, again map[string]int) {
		w := newTGBWorld(t, 2)
		for i := 0; i < others; i++ {
			name := fmt.Sprintf("other-%d", i)
			w.bind(name, w.targetGroup(name, tgbVPC, "instance", nil), nil)
			w.reconcile(name)
		}
		w.bind("mine", w.targetGroup("mine", tgbVPC, "instance", nil), nil)
		w.calls()
		w.reconcile("mine")
		first = w.calls()
		w.reconcile("mine")
		return first, w.calls()
	}
	alone, againAlone := measure(0)
	crowded, againCrowded := measure(10)
	if !reflect.DeepEqual(alone, crowded) {
		t.Errorf("calls with 10 other bindings %v, alone %v", crowded, alone)
	}
	want := map[string]int{"DescribeTargetGroups": 1, "DescribeTags": 1, "DescribeTargetHealth": 1, "AddTags": 1, "RegisterTargets": 1}
	if !reflect.DeepEqual(alone, want) {
		t.Errorf("first reconcile calls %v, want %v", alone, want)
	}
	if len(againAlone) > 0 || len(againCrowded) > 0 {
		t.Errorf("a second reconcile with nothing changed called %v / %v, want nothing", againAlone, againCrowded)
	}
}

// An upstream binding is released only once lbsg serves its stack (finalizer and a True
// Ready condition) and its target group carries that stack's tags; until then it is left
// alone, and a binding whose labels its target group contradicts is never released.
func TestTGBUpstreamBindingReleasedOnlyOnceLbsgServesItsStack(t *testing.T) {
	w := newTGBWorld(t, 1)
	w.r.Engine.Settings.LoadBalancerClass = "service.k8s.aws/nlb"
	cls := "service.k8s.aws/nlb"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &cls,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30081}}}}
	if err := w.kube.Create(w.ctx, svc); err != nil {
		t.Fatal(err)
	}
	stackTags := map[string]string{"elbv2.k8s.aws/cluster": testCluster, "service.k8s.aws/stack": "default/web"}
	arn := w.targetGroup("k8s-default-web-0123456789", tgbVPC, "instance", stackTags)
	other := w.targetGroup("k8s-default-other-0123456789", tgbVPC, "instance", map[string]string{"elbv2.k8s.aws/cluster": testCluster, "service.k8s.aws/stack": "default/other"})
	w.elbv.PutTargets(arn, []elbtypes.TargetDescription{{Id: aws.String("i-0000000000000001"), Port: aws.Int32(30081)}})
	upstream := func(name, tgARN string) {
		w.bind(name, tgARN, func(b *elbv2api.TargetGroupBinding) {
			b.Labels = map[string]string{"service.k8s.aws/stack-namespace": "default", "service.k8s.aws/stack-name": "web"}
			b.Finalizers = []string{TGBFinalizer}
		})
	}
	upstream("k8s-web", arn)
	upstream("k8s-mislabelled", other)
	w.reconcile("k8s-web")
	if _, ok := w.binding("k8s-web"); !ok {
		t.Fatal("released before lbsg serves the Service")
	}
	// lbsg serves it: its finalizer and its Ready condition.
	svc.Finalizers = []string{"service.k8s.aws/resources"}
	if err := w.kube.Update(w.ctx, svc); err != nil {
		t.Fatal(err)
	}
	w.reconcile("k8s-web")
	if _, ok := w.binding("k8s-web"); !ok {
		t.Fatal("released before lbsg's Ready condition")
	}
	svc.Status.Conditions = []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonReconciled, LastTransitionTime: metav1.Now()}}
	if err := w.kube.Status().Update(w.ctx, svc); err != nil {
		t.Fatal(err)
	}
	w.calls()
	w.reconcile("k8s-web")
	w.reconcile("k8s-mislabelled")
	if _, ok := w.binding("k8s-web"); ok {
		t.Error("upstream's binding of a stack lbsg serves was not released and deleted")
	}
	if b, ok := w.binding("k8s-mislabelled"); !ok || !hasFinalizer(b, TGBFinalizer) {
		t.Error("a binding whose target group belongs to another stack was released")
	}
	if ev := w.events(); !strings.Contains(ev, EventTGBAdopted) || !strings.Contains(ev, "and service.k8s.aws/stack=default/web; lbsg leaves this binding alone") {
		t.Errorf("events %q, want the adoption and the refusal", ev)
	}
	if got := w.targets(arn); !reflect.DeepEqual(got, []string{"i-0000000000000001:30081"}) {
		t.Errorf("targets %v after the release, want them kept", got)
	}
	if c := w.calls(); c["RegisterTargets"]+c["DeregisterTargets"] > 0 {
		t.Errorf("calls %v: releasing a binding changed targets", c)
	}
}

// Only a binding that owns its target group (the claim lbsg wrote on it) contributes rules,
// on the targets it has now: its live selected Pods, or its eligible nodes. A binding being
// deleted, one whose target group is unclaimed or claimed by another binding, and
// upstream's contribute nothing, so the pass revokes their rules; what a binding's
// annotation says places no rule anywhere.
func TestTGBNetworkingContributesOnlyForOwningBindings(t *testing.T) {
	w := newTGBWorld(t, 2)
	key := naming.BoundByTagKey(testCluster)
	net := &elbv2api.TargetGroupBindingNetworking{Ingress: []elbv2api.NetworkingIngressRule{{
		From: []elbv2api.NetworkingPeer{{SecurityGroup: &elbv2api.SecurityGroup{GroupID: "sg-0123456789abcdef0"}}, {IPBlock: &elbv2api.IPBlock{CIDR: "10.9.0.0/16"}}}}}}
	now := metav1.Now()
	mk := func(name, arn string, mutate func(*elbv2api.TargetGroupBinding)) elbv2api.TargetGroupBinding {
		b := elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, Networking: net, ServiceRef: elbv2api.ServiceReference{Name: "app", Port: intstr.FromInt32(80)}}}
		if mutate != nil {
			mutate(&b)
		}
		return b
	}
	claimed := func(name, targetType, by string) string {
		return w.targetGroup(name, tgbVPC, targetType, map[string]string{key: by})
	}
	forged := func(b *elbv2api.TargetGroupBinding) {
		b.Annotations = map[string]string{TGBTargetsAnnotation: b.Spec.TargetGroupARN + " i-0000000000000009:30080,10.9.9.9:8080"}
	}
	app := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "app"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "x"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}}}}
	pod := func(name, ip string, phase corev1.PodPhase) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "x"}},
			Status: corev1.PodStatus{Phase: phase, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	pods := []corev1.Pod{pod("web-1", "10.0.0.5", corev1.PodRunning), pod("job", "10.0.0.6", corev1.PodSucceeded)}
	ready, port, portName := true, int32(8080), "http"
	slice := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "app-1", Labels: map[string]string{discoveryv1.LabelServiceName: "app"}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}}}
	for _, p := range pods {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIPs[0].IP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: p.Name}})
	}
	nodes := &corev1.NodeList{}
	if err := w.kube.List(w.ctx, nodes); err != nil {
		t.Fatal(err)
	}
	objs := ClusterObjects{Nodes: nodes.Items, Services: []corev1.Service{app}, Slices: []discoveryv1.EndpointSlice{slice}, Pods: pods,
		IPHolders: podsByIP(pods, nil), Bindings: []elbv2api.TargetGroupBinding{
			mk("nodes", claimed("nodes", "instance", "default/nodes"), forged),
			mk("pods", claimed("pods", "ip", "default/pods"), forged),
			mk("unclaimed", w.targetGroup("unclaimed", tgbVPC, "instance", nil), forged),
			mk("theirs", claimed("theirs", "instance", "team-b/theirs"), forged),
			mk("deleting", claimed("deleting", "instance", "default/deleting"), func(b *elbv2api.TargetGroupBinding) {
				b.DeletionTimestamp = &now
				b.Finalizers = []string{TGBFinalizer}
			}),
			mk("upstream", claimed("upstream", "instance", "default/upstream"), func(b *elbv2api.TargetGroupBinding) { b.Labels = map[string]string{"ingress.k8s.aws/stack": "shop"} }),
		}}
	cs, err := w.r.Engine.bindingContributions(w.ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d contributions, want the two owning bindings'", len(cs))
	}
	if got := cs[0]; !reflect.DeepEqual(got.instIDs, []string{"i-0000000000000001", "i-0000000000000002"}) || len(got.ips) > 0 {
		t.Errorf("instance binding's targets %v %v, want the nodes only", got.instIDs, got.ips)
	}
	if got := cs[1]; !reflect.DeepEqual(got.ips, []string{"10.0.0.5"}) || len(got.instIDs) > 0 {
		t.Errorf("ip binding's targets %v %v, want the live Pod only", got.instIDs, got.ips)
	}
	c := cs[0]
	if len(c.sns) != 2 || c.sns[0].source != "sg-0123456789abcdef0" || !c.sns[0].needs[0].AllPorts ||
		len(c.sns[1].cidr) != 1 || c.sns[1].cidr[0].Key.String() != "tcp 0-65535 from 10.9.0.0/16" {
		t.Errorf("contributions %+v", c.sns)
	}
	if c.sns[0].owner != (spec.Owner{Kind: OwnerKindTGB, Namespace: "default", Name: "nodes"}) {
		t.Errorf("owner %v", c.sns[0].owner)
	}
	// Their rules are kept to the ports their targets receive traffic on: the NodePort,
	// the live Pod's port.
	for i, want := range []int32{30080, 8080} {
		for _, sn := range cs[i].sns {
			if sn.restrict == nil || !reflect.DeepEqual(sn.restrict.Ports, []sgrules.Need{{Protocol: "tcp", Port: want}}) {
				t.Errorf("binding %d: restriction %+v, want tcp %d", i, sn.restrict, want)
			}
		}
	}
}

// Upstream's binding of an explicit Ingress group is released once an Ingress of the group
// carries the group's finalizer and lbsg's Ready condition.
func TestTGBUpstreamBindingOfIngressGroupReleasedOnceLbsgServesTheGroup(t *testing.T) {
	w := newTGBWorld(t, 1)
	arn := w.targetGroup("k8s-shop-echo-0123456789", tgbVPC, "instance", map[string]string{"elbv2.k8s.aws/cluster": testCluster, "ingress.k8s.aws/stack": "shop"})
	w.bind("k8s-shop", arn, func(b *elbv2api.TargetGroupBinding) {
		b.Labels = map[string]string{"ingress.k8s.aws/stack": "shop"}
		b.Finalizers = []string{TGBFinalizer}
	})
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "echo", Finalizers: []string{"group.ingress.k8s.aws/shop"}}}
	if err := w.kube.Create(w.ctx, ing); err != nil {
		t.Fatal(err)
	}
	w.reconcile("k8s-shop")
	if _, ok := w.binding("k8s-shop"); !ok {
		t.Fatal("released before lbsg's Ready condition on the group")
	}
	ing.Annotations = map[string]string{ConditionAnnotation: `{"type":"lbsg.k8s.aws/Ready","status":"True","reason":"Reconciled","message":"","lastTransitionTime":"2026-01-01T00:00:00Z"}`}
	if err := w.kube.Update(w.ctx, ing); err != nil {
		t.Fatal(err)
	}
	w.reconcile("k8s-shop")
	if _, ok := w.binding("k8s-shop"); ok {
		t.Error("upstream's binding of a group lbsg serves was not released")
	}
}
