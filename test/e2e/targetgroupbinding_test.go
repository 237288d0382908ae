package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// userTargetGroup creates a target group with the ELBv2 API, as Terraform would, outside
// Kubernetes; tags may mark it as a stack's.
func (h *harness) userTargetGroup(name, vpcID string, targetType elbtypes.TargetTypeEnum, tags map[string]string) string {
	h.t.Helper()
	in := &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(80),
		VpcId: aws.String(vpcID), TargetType: targetType}
	for k, v := range tags {
		in.Tags = append(in.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := h.elb.CreateTargetGroup(h.ctx, in)
	if err != nil {
		h.t.Fatalf("create target group %s: %v", name, err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

// binding creates a TargetGroupBinding in the default namespace; it is removed (finalizer
// included) when the test ends.
func (h *harness) binding(name, service string, port intstr.IntOrString, arn string, mutate func(*elbv2api.TargetGroupBinding)) *elbv2api.TargetGroupBinding {
	h.t.Helper()
	b := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, ServiceRef: elbv2api.ServiceReference{Name: service, Port: port}}}
	if mutate != nil {
		mutate(b)
	}
	h.create(b)
	h.t.Cleanup(func() {
		got := &elbv2api.TargetGroupBinding{}
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(b), got); err != nil {
			return
		}
		got.Finalizers = nil
		_ = h.k8s.Update(h.ctx, got)
		_ = h.k8s.Delete(h.ctx, got)
	})
	return b
}

func (h *harness) getBinding(name string) (*elbv2api.TargetGroupBinding, bool) {
	h.t.Helper()
	b := &elbv2api.TargetGroupBinding{}
	err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, b)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		h.t.Fatalf("get binding %s: %v", name, err)
	}
	return b, true
}

// waitTargets waits until the target group holds exactly want ("id:port").
func (h *harness) waitTargets(what, arn string, want []string) {
	h.t.Helper()
	sort.Strings(want)
	h.eventually(what, 45*time.Second, func() string {
		got := h.registeredTargets(aws.String(arn))
		if len(got) == 0 && len(want) == 0 {
			return ""
		}
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("targets %v, want %v", got, want)
		}
		return ""
	})
}

func (h *harness) labelNode(name string, labels map[string]string) {
	h.t.Helper()
	n := &corev1.Node{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: name}, n); err != nil {
		h.t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for k, v := range labels {
		n.Labels[k] = v
	}
	if err := h.k8s.Patch(h.ctx, n, patch); err != nil {
		h.t.Fatal(err)
	}
}

// A binding of an instance target group made outside Kubernetes gets the eligible nodes on
// the Service's NodePort, follows the node selector as node labels change, and on deletion
// deregisters what lbsg registered, and only that: a target someone else registered stays,
// and the target group itself is kept.
func TestTargetGroupBindingRegistersNodesAndReleasesOnlyItsOwnTargets(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	arn := h.userTargetGroup("terraform-instance", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	// Someone else's target: an instance outside the cluster, registered by hand.
	run, err := h.ec2.RunInstances(h.ctx, &ec2.RunInstancesInput{ImageId: aws.String(h.world.ImageID), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(h.world.Subnets[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	outsider := aws.ToString(run.Instances[0].InstanceId)
	if _, err := h.elb.RegisterTargets(h.ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(outsider), Port: aws.Int32(9999)}}}); err != nil {
		t.Fatal(err)
	}
	foreign := outsider + ":9999"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tgb-nodes"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"role": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	h.create(svc)
	nodePort := h.service("tgb-nodes").Spec.Ports[0].NodePort
	h.binding("nodes", "tgb-nodes", intstr.FromString("http"), arn, nil)

	var all []string
	for _, n := range h.world.Nodes {
		all = append(all, fmt.Sprintf("%s:%d", n.InstanceID, nodePort))
	}
	h.waitTargets("every node registered", arn, append([]string{foreign}, all...))
	b, _ := h.getBinding("nodes")
	if !controllerHasFinalizer(b.Finalizers) {
		t.Errorf("finalizers %v, want %s", b.Finalizers, controller.TGBFinalizer)
	}
	if b.Status.ObservedGeneration == nil || *b.Status.ObservedGeneration != b.Generation {
		t.Errorf("status.observedGeneration = %v, want %d", b.Status.ObservedGeneration, b.Generation)
	}

	// Only nodes labelled pool=a: the others are deregistered, and come back when labelled.
	h.labelNode(h.world.Nodes[0].Name, map[string]string{"pool": "a"})
	b.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"pool": "a"}}
	if err := h.k8s.Update(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.waitTargets("only the pool=a node", arn, []string{foreign, all[0]})
	h.labelNode(h.world.Nodes[1].Name, map[string]string{"pool": "a"})
	h.waitTargets("the newly labelled node too", arn, append([]string{foreign}, all...))

	if err := h.k8s.Delete(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.eventually("the binding to be gone", 30*time.Second, func() string {
		if _, ok := h.getBinding("nodes"); ok {
			return "still there"
		}
		return ""
	})
	h.waitTargets("lbsg's targets deregistered, the foreign one kept", arn, []string{foreign})
	if _, err := h.elb.DescribeTargetGroups(h.ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}}); err != nil {
		t.Errorf("the user's target group must survive its binding: %v", err)
	}
}

func controllerHasFinalizer(fs []string) bool {
	for _, f := range fs {
		if f == controller.TGBFinalizer {
			return true
		}
	}
	return false
}

// An ip binding registers the IPs of the Pods the Service selects behind its port, follows
// Pods as they are replaced, never registers an endpoint that is not a selected Pod, opens
// its networking port on the Pods' SG, and deregisters everything it registered (and
// revokes the rule) when deleted.
func TestTargetGroupBindingIPTargetsFollowPods(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	// The binding's CIDR rule is on the Pods' port, outside the NodePort range: the
	// platform allows it (TestTargetGroupBindingCIDRRuleOnAPodPortIsRefusedOutsideTheNodePortRange
	// shows the default).
	h.startController("--allow-client-cidr-rules-outside-node-port-range")
	arn := h.userTargetGroup("terraform-ip", h.world.VPCID, elbtypes.TargetTypeEnumIp, nil)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tgb-pods"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"role": "tgb-web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	h.create(svc)
	// web-0 has the node's primary IP: the emulator finds an ENI by its primary address
	// only, so that the pass resolves the Pods' ENI (real EC2 finds secondary ones too).
	ips := []string{h.world.Nodes[0].PrivateIP}
	for _, ip := range h.podIPs(2) {
		if ip != ips[0] {
			ips = append(ips, ip)
		}
	}
	h.pod("web-0", map[string]string{"role": "tgb-web"}, []string{ips[0]})
	h.pod("web-1", map[string]string{"role": "tgb-web"}, []string{ips[1]})
	h.pod("stranger", map[string]string{"role": "other"}, []string{ips[2]})
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "tgb-pods-1", Labels: map[string]string{discoveryv1.LabelServiceName: "tgb-pods"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{ips[0]}, TargetRef: podRef("web-0"), Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
			{Addresses: []string{ips[1]}, TargetRef: podRef("web-1"), Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
			{Addresses: []string{ips[2]}, TargetRef: podRef("stranger"), Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
		},
	}
	h.create(slice)
	t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, slice) })
	port := intstr.FromInt32(8080)
	b := h.binding("pods", "tgb-pods", intstr.FromInt32(80), arn, func(b *elbv2api.TargetGroupBinding) {
		b.Spec.Networking = &elbv2api.TargetGroupBindingNetworking{Ingress: []elbv2api.NetworkingIngressRule{{
			From: []elbv2api.NetworkingPeer{{IPBlock: &elbv2api.IPBlock{CIDR: "10.98.0.0/16"}}}, Ports: []elbv2api.NetworkingPort{{Port: &port}}}}}
	})

	h.waitTargets("the selected Pods registered", arn, []string{ips[0] + ":8080", ips[1] + ":8080"})
	// The Pods' ENI (a node's, in this world) gets the rule.
	h.eventually("the ip binding's rule on the pods' SG", 60*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, []string{"tcp 8080 from 10.98.0.0/16"}) {
			return fmt.Sprint(got, h.eventsOf("TargetGroupBinding", "pods")[controller.EventFailedNetwork])
		}
		return ""
	})
	h.waitEventOf("TargetGroupBinding", "pods", controller.EventEndpointsSkipped, ips[2])

	// web-1 is replaced by web-2 on the stranger's IP (the stranger is gone).
	stranger := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "stranger"}}
	_ = h.k8s.Delete(h.ctx, stranger, client.GracePeriodSeconds(0))
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-1"}}
	_ = h.k8s.Delete(h.ctx, old, client.GracePeriodSeconds(0))
	h.eventually("the replaced Pods to be gone", 30*time.Second, func() string {
		for _, n := range []string{"web-1", "stranger"} {
			if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: n}, &corev1.Pod{}); err == nil {
				return n + " still there"
			}
		}
		return ""
	})
	h.pod("web-2", map[string]string{"role": "tgb-web"}, []string{ips[2]})
	if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(slice), slice); err != nil {
		t.Fatal(err)
	}
	slice.Endpoints = []discoveryv1.Endpoint{
		{Addresses: []string{ips[0]}, TargetRef: podRef("web-0"), Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
		{Addresses: []string{ips[2]}, TargetRef: podRef("web-2"), Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
	}
	if err := h.k8s.Update(h.ctx, slice); err != nil {
		t.Fatal(err)
	}
	h.waitTargets("the targets to follow the Pods", arn, []string{ips[0] + ":8080", ips[2] + ":8080"})

	if err := h.k8s.Delete(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.waitTargets("every target deregistered", arn, nil)
	h.eventually("the ip binding's rule revoked", 60*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) > 0 {
			return fmt.Sprintf("%v left", got)
		}
		return ""
	})
	if _, err := h.elb.DescribeTargetGroups(h.ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}}); err != nil {
		t.Errorf("the user's target group must survive its binding: %v", err)
	}
}

// spec.networking.ingress puts a rule from a security group peer and one from an IP block
// on the node SG (the targets' SG), with lbsg's ownership description; deleting the
// binding revokes both and leaves the user's own rules alone.
func TestTargetGroupBindingNetworkingRulesOnNodeSG(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	peer, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("terraform-lb"),
		Description: aws.String("the user's load balancer"), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	peerID := aws.ToString(peer.GroupId)
	arn := h.userTargetGroup("terraform-net", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tgb-net"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"role": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	h.create(svc)
	nodePort := h.service("tgb-net").Spec.Ports[0].NodePort
	np := intstr.FromInt32(nodePort)
	tcp := "TCP"
	b := h.binding("net", "tgb-net", intstr.FromInt32(80), arn, func(b *elbv2api.TargetGroupBinding) {
		b.Spec.Networking = &elbv2api.TargetGroupBindingNetworking{Ingress: []elbv2api.NetworkingIngressRule{{
			From: []elbv2api.NetworkingPeer{
				{SecurityGroup: &elbv2api.SecurityGroup{GroupID: peerID}},
				{IPBlock: &elbv2api.IPBlock{CIDR: "10.99.0.0/16"}},
			},
			Ports: []elbv2api.NetworkingPort{{Protocol: &tcp, Port: &np}},
		}}}
	})
	want := []string{fmt.Sprintf("tcp %d from %s", nodePort, peerID), fmt.Sprintf("tcp %d from 10.99.0.0/16", nodePort)}
	sort.Strings(want)
	h.eventually("the binding's rules on the node SG", 60*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	// lbsg plan reads the bindings too: converged, it plans nothing on target SGs.
	h.quiesce()
	objs, err := controller.ListClusterObjects(h.ctx, h.k8s, controller.CRDs{Params: true})
	if err != nil {
		t.Fatal(err)
	}
	if objs.Bindings, err = controller.ListBindings(h.ctx, h.k8s); err != nil {
		t.Fatal(err)
	}
	netPlan, err := h.engine.PlanNetworking(h.ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range netPlan.Plan.Changes {
		t.Errorf("the converged target-SG plan has a change: %s %s %s", c.Op, c.Target, c.Reason)
	}
	if err := h.k8s.Delete(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.eventually("the binding's rules revoked", 60*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) > 0 {
			return fmt.Sprintf("%v left", got)
		}
		return ""
	})
	h.waitTargets("every target deregistered", arn, nil)
	if _, err := h.elb.DescribeTargetGroups(h.ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}}); err != nil {
		t.Errorf("the user's target group must survive its binding: %v", err)
	}
}

// A binding to a target group a load balancer stack owns (tagged for a Service stack), or
// to one of another VPC, is refused with a Warning Event: nothing is registered and the
// binding gets no finalizer.
func TestTargetGroupBindingToAStackOrForeignTargetGroupIsRefused(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	owned := h.userTargetGroup("k8s-default-web-0123456789", h.world.VPCID, elbtypes.TargetTypeEnumInstance,
		map[string]string{"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": "default/web"})
	other, err := h.ec2.CreateVpc(h.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.50.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	foreign := h.userTargetGroup("other-vpc", aws.ToString(other.Vpc.VpcId), elbtypes.TargetTypeEnumInstance, nil)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tgb-refused"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"role": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	h.create(svc)
	h.binding("to-stack", "tgb-refused", intstr.FromInt32(80), owned, nil)
	h.binding("to-other-vpc", "tgb-refused", intstr.FromInt32(80), foreign, nil)
	h.waitEventOf("TargetGroupBinding", "to-stack", controller.EventTGBRefused, "belongs to Service default/web")
	h.waitEventOf("TargetGroupBinding", "to-other-vpc", controller.EventTGBRefused, "not the cluster's VPC")
	h.quiesce()
	for name, arn := range map[string]string{"to-stack": owned, "to-other-vpc": foreign} {
		if got := h.registeredTargets(aws.String(arn)); len(got) > 0 {
			t.Errorf("%s: targets %v registered in a refused target group", name, got)
		}
		if b, _ := h.getBinding(name); controllerHasFinalizer(b.Finalizers) || strings.Contains(b.Annotations[controller.TGBTargetsAnnotation], arn) {
			t.Errorf("%s: a refused binding got finalizers %v and annotations %v", name, b.Finalizers, b.Annotations)
		}
	}
	if n := h.counts().Mutating()["RegisterTargets"]; n > 0 {
		t.Errorf("RegisterTargets called %d times for refused bindings", n)
	}
}

// A binding upstream made for a Service stack (its stack labels and finalizer) is released
// and deleted once lbsg serves that Service, and the target group and its targets are left
// to lbsg. A binding upstream made for a stack lbsg does not serve is left alone.
func TestUpstreamTargetGroupBindingOfAnAdoptedServiceIsReleased(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("web", nil))
	h.waitHostname("web")
	var arn string
	for _, tg := range h.targetGroups() {
		arn = aws.ToString(tg.TargetGroupArn)
	}
	if arn == "" {
		t.Fatal("no target group for the Service")
	}
	h.eventually("the Service's targets", 30*time.Second, func() string {
		if len(h.registeredTargets(aws.String(arn))) < len(h.world.Nodes) {
			return "not every node registered"
		}
		return ""
	})
	h.quiesce()
	before := h.registeredTargets(aws.String(arn))
	upstream := func(name, stack string) {
		h.binding(name, stack, intstr.FromInt32(80), arn, func(b *elbv2api.TargetGroupBinding) {
			b.Labels = map[string]string{"service.k8s.aws/stack-namespace": "default", "service.k8s.aws/stack-name": stack}
			b.Finalizers = []string{controller.TGBFinalizer}
		})
	}
	upstream("k8s-default-web-abc", "web")
	upstream("k8s-default-gone-abc", "gone")
	h.eventually("the upstream binding of web to be released", 30*time.Second, func() string {
		if b, ok := h.getBinding("k8s-default-web-abc"); ok {
			return fmt.Sprintf("still there, finalizers %v", b.Finalizers)
		}
		return ""
	})
	h.waitEventOf("TargetGroupBinding", "k8s-default-web-abc", controller.EventTGBAdopted, "Service default/web")
	h.quiesce()
	if got := h.registeredTargets(aws.String(arn)); !reflect.DeepEqual(got, before) {
		t.Errorf("targets %v after the release, want them kept: %v", got, before)
	}
	if b, ok := h.getBinding("k8s-default-gone-abc"); !ok || !controllerHasFinalizer(b.Finalizers) {
		t.Errorf("the binding of a stack lbsg does not serve must be left alone")
	}
}
