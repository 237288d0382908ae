package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

func rule(port int32, peer string) sgrules.Rule {
	kind := sgrules.PeerCIDR
	if strings.HasPrefix(peer, "sg-") {
		kind = sgrules.PeerSG
	}
	return sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: port, ToPort: port, PeerKind: kind, Peer: peer},
		Description: "elbv2.k8s.aws/cluster=prod"}
}

// TestRejectedAuthorizeOnOneTargetSGDoesNotBlockOtherSGs: AWS refuses an authorize on one
// target SG (its rule quota); the authorize and the revoke of another SG still happen, the
// backend SG is not deleted in that pass, and the owner using the failing SG gets an
// Event, its Ready condition and the metrics.
func TestRejectedAuthorizeOnOneTargetSGDoesNotBlockOtherSGs(t *testing.T) {
	ctx := context.Background()
	fake := cloud.NewFakeEC2()
	fake.RuleLimit = 2
	obs := cloud.NewObserverFromAPI(fake, "vpc-1", nil)
	mk := func(name string) string {
		id, err := obs.CreateSecurityGroup(ctx, name, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	full, other, backend := mk("full"), mk("other"), mk("backend")
	if err := obs.AuthorizeIngress(ctx, full, []sgrules.Rule{rule(22, "10.0.0.0/8"), rule(23, "10.0.0.0/8")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := obs.AuthorizeIngress(ctx, other, []sgrules.Rule{rule(31000, backend)}, nil); err != nil {
		t.Fatal(err)
	}
	sgRef := func(id string) plan.Ref { return plan.Ref{Kind: plan.KindSG, ID: id} }
	owner := spec.Owner{Kind: "Service", Namespace: "shop", Name: "big"}
	np := &NetworkingPlan{
		Plan: plan.Plan{Changes: []plan.Change{
			{Op: plan.OpAuthorize, Target: sgRef(full), Rules: []sgrules.Rule{rule(30080, "192.0.2.0/24")}},
			{Op: plan.OpAuthorize, Target: sgRef(other), Rules: []sgrules.Rule{rule(30081, "192.0.2.0/24")}},
			{Op: plan.OpRevoke, Target: sgRef(other), Rules: []sgrules.Rule{rule(31000, backend)}},
			{Op: plan.OpDeleteSG, Target: sgRef(backend)},
		}},
		Contributors: map[string][]spec.Owner{full: {owner}},
	}
	reg := prometheus.NewRegistry()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "big"}}
	kube := fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(svc).WithStatusSubresource(svc).Build()
	recorder := events.NewFakeRecorder(10)
	r := &NetworkingReconciler{Client: kube, Recorder: recorder,
		Engine: &Engine{Exec: &apply.Executor{EC2: obs}, Metrics: NewNetworkingMetrics(reg)}}

	rep := newNetworkReport()
	_, errs := r.applyPerSG(ctx, np, rep)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), full) {
		t.Fatalf("errors = %v, want one naming %s", errs, full)
	}
	sgs, err := obs.SecurityGroups(ctx, []string{full, other, backend}, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sgs[other].Ingress {
		got = append(got, r.Key.String())
	}
	if want := "tcp 30081 from 192.0.2.0/24"; len(got) != 1 || got[0] != want {
		t.Errorf("rules of the other SG = %v, want [%s]: its authorize and revoke must not wait for %s", got, want, full)
	}
	if _, ok := sgs[backend]; !ok {
		t.Errorf("backend SG deleted although a target SG failed in the same pass")
	}

	var objs ClusterObjects
	list := &corev1.ServiceList{}
	if err := kube.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	objs.Services = list.Items
	r.report(ctx, objs, rep)
	select {
	case ev := <-recorder.Events:
		if !strings.Contains(ev, "Warning") || !strings.Contains(ev, full) {
			t.Errorf("event = %q, want a Warning naming %s", ev, full)
		}
	default:
		t.Errorf("no Event for the owner using %s", full)
	}
	fresh := &corev1.Service{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(svc), fresh); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(fresh.Status.Conditions, ConditionReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonTargetRules || !strings.Contains(c.Message, full) {
		t.Errorf("Ready condition = %+v, want False/%s naming %s", c, ReasonTargetRules, full)
	}
	if v := testutil.ToFloat64(r.Engine.Metrics.sgFailures.WithLabelValues(full, failureApply)); v != 1 {
		t.Errorf("lbsg_target_sg_failures{sg=%s,reason=%s} = %v, want 1", full, failureApply, v)
	}
	if v := testutil.ToFloat64(r.Engine.Metrics.ownerFailures.WithLabelValues(owner.String(), failureApply)); v != 1 {
		t.Errorf("lbsg_target_rules_owner_failures = %v, want 1", v)
	}

	// A later pass without the failure clears the condition and the gauges.
	r.report(ctx, objs2(t, kube), newNetworkReport())
	if err := kube.Get(ctx, client.ObjectKeyFromObject(svc), fresh); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(fresh.Status.Conditions, ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition after recovery = %+v, want True", c)
	}
	if n := testutil.CollectAndCount(r.Engine.Metrics.sgFailures); n != 0 {
		t.Errorf("lbsg_target_sg_failures has %d series after recovery, want 0", n)
	}
}

func objs2(t *testing.T, kube client.Client) ClusterObjects {
	t.Helper()
	list := &corev1.ServiceList{}
	if err := kube.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	return ClusterObjects{Services: list.Items}
}

// TestServiceReadyDoesNotHideMissingTargetRules: the Service reconciler's success does not
// overwrite the target-SG reconciler's report that rules are missing.
func TestServiceReadyDoesNotHideMissingTargetRules(t *testing.T) {
	old := &metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonTargetRules}
	if !targetRulesStillFailing(old, metav1.ConditionTrue) {
		t.Errorf("a Ready=True write replaces %s", ReasonTargetRules)
	}
	if targetRulesStillFailing(old, metav1.ConditionFalse) {
		t.Errorf("a new failure must replace %s", ReasonTargetRules)
	}
	if targetRulesStillFailing(&metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonInvalidConfig}, metav1.ConditionTrue) {
		t.Errorf("a fixed configuration must set Ready=True")
	}
}

// TestFailingStackHoldsOnlyWhatItsRegisteredTargetsUse: a stack that cannot be computed
// holds its own ports, read from its target groups, from the backend SG its load balancer
// carries, each on the SG of the registered target it is for, and every rule from
// its own managed SG; only a stack whose target groups cannot be read falls back to
// holding the backend SG's and CIDR rules.
func TestFailingStackHoldsOnlyWhatItsRegisteredTargetsUse(t *testing.T) {
	ctx := context.Background()
	fake := cloud.NewFakeEC2()
	fake.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-node"), VpcId: aws.String("vpc-1"),
		PrivateIpAddress: aws.String("10.0.0.10"), Groups: []ec2types.GroupIdentifier{{GroupId: aws.String("sg-node1")}}})
	fake.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-pod"), VpcId: aws.String("vpc-1"),
		PrivateIpAddress: aws.String("10.0.5.5"), Groups: []ec2types.GroupIdentifier{{GroupId: aws.String("sg-pod1")}}})
	fake.AddInstance(ec2types.Instance{InstanceId: aws.String("i-1"), VpcId: aws.String("vpc-1"),
		State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
		NetworkInterfaces: []ec2types.InstanceNetworkInterface{{NetworkInterfaceId: aws.String("eni-node"),
			Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
			Groups:     []ec2types.GroupIdentifier{{GroupId: aws.String("sg-node1")}}}}})
	e := &Engine{Settings: spec.Settings{Cluster: "prod"}, EC2: cloud.NewObserverFromAPI(fake, "vpc-1", nil)}
	a := spec.Owner{Kind: "Service", Namespace: "shop", Name: "a"}
	b := spec.Owner{Kind: "Service", Namespace: "shop", Name: "b"}
	failing := map[spec.Owner]*StackPlan{
		a: {Owner: a, Observed: plan.Observed{
			LoadBalancers: []state.LoadBalancer{{ARN: "lb-a", SecurityGroups: []string{"sg-managed-a", "sg-backend"}}},
			TargetGroups: []state.TargetGroup{{ARN: "tg-inst", TargetType: "instance", Protocol: "TCP", Port: 30080},
				{ARN: "tg-ip", TargetType: "ip", Protocol: "TCP", Port: 8080}},
			// i-gone was terminated: it receives no traffic and holds nothing.
			Targets: map[string][]state.Target{"tg-inst": {{ID: "i-1", Port: 30080}, {ID: "i-gone", Port: 30080}}, "tg-ip": {{ID: "10.0.5.5", Port: 8080}}},
		}},
		b: nil, // its stack could not even be observed
	}
	owned := []cloud.SecurityGroup{
		{ID: "sg-managed-a", Tags: map[string]string{"service.k8s.aws/stack": "shop/a"}},
		{ID: "sg-managed-b", Tags: map[string]string{"service.k8s.aws/stack": "shop/b"}},
		{ID: "sg-managed-c", Tags: map[string]string{"service.k8s.aws/stack": "shop/c"}},
	}
	var in plan.NetworkingInput
	e.holdFailing(ctx, &in, failing, owned, "sg-backend")
	port := func(sg string, p int32) plan.Hold {
		return plan.Hold{Owner: a.String(), SG: sg, Source: "sg-backend", Protocol: "tcp", Port: p}
	}
	want := []plan.Hold{
		{Owner: a.String(), Source: "sg-managed-a"},
		port("sg-node1", 30080), port("sg-pod1", 8080),
		{Owner: b.String(), Source: "sg-managed-b"},
		{Owner: b.String(), Source: "sg-backend"},
		{Owner: b.String(), Source: plan.HoldCIDR},
	}
	if diff := cmp.Diff(want, in.Holds); diff != "" {
		t.Errorf("Holds (-want +got):\n%s", diff)
	}
}
