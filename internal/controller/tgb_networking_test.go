package controller

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// A binding's contribution carries the ports its targets receive traffic on, which lbsg
// derives from the Service and the target group, never from the rules: the planner keeps
// the rules to them. Without its Service or NodePort it has none, and contributes nothing.
func TestBindingContributionIsRestrictedToItsTrafficPorts(t *testing.T) {
	all := intstr.FromInt32(22)
	binding := func() *elbv2api.TargetGroupBinding {
		return &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "ssh"},
			Spec: elbv2api.TargetGroupBindingSpec{ServiceRef: elbv2api.ServiceReference{Name: "app", Port: intstr.FromInt32(80)},
				Networking: &elbv2api.TargetGroupBindingNetworking{Ingress: []elbv2api.NetworkingIngressRule{{
					From:  []elbv2api.NetworkingPeer{{IPBlock: &elbv2api.IPBlock{CIDR: "0.0.0.0/0"}}, {SecurityGroup: &elbv2api.SecurityGroup{GroupID: "sg-0123456789abcdef0"}}},
					Ports: []elbv2api.NetworkingPort{{Port: &all}},
				}}}}}
	}
	svc := func(nodePort int32) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "app"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}}}
	}
	node := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-0000000000000001"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	instance := elb.BoundTargetGroup{TargetType: elbv2api.TargetTypeInstance, Protocol: "TCP", HealthCheckPort: "traffic-port"}
	withHC := instance
	withHC.HealthCheckPort = "31000"
	for _, tc := range []struct {
		name     string
		tg       elb.BoundTargetGroup
		services []corev1.Service
		want     []sgrules.Need // nil: no contribution
	}{
		{"instance targets: the NodePort", instance, []corev1.Service{svc(30080)}, []sgrules.Need{{Protocol: "tcp", Port: 30080}}},
		{"and the target group's health-check port", withHC, []corev1.Service{svc(30080)},
			[]sgrules.Need{{Protocol: "tcp", Port: 30080}, {Protocol: "tcp", Port: 31000}}},
		{"no Service", instance, nil, nil},
		{"no NodePort", instance, []corev1.Service{svc(0)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := bindingContributionOf(binding(), tc.tg, ClusterObjects{Services: tc.services, Nodes: []corev1.Node{node}})
			if tc.want == nil {
				if ok {
					t.Fatalf("contribution %+v, want none", c)
				}
				return
			}
			if !ok || len(c.sns) != 2 {
				t.Fatalf("contribution %+v, %t: want one from the SG and one from the CIDR", c, ok)
			}
			for _, sn := range c.sns {
				if sn.restrict == nil || !reflect.DeepEqual(sn.restrict.Ports, tc.want) {
					t.Errorf("restriction %+v, want ports %v", sn.restrict, tc.want)
				}
				if want := (authz.Subject{Kind: OwnerKindTGB, Namespace: "team-b", Name: "ssh"}); !reflect.DeepEqual(sn.restrict.Subject, want) {
					t.Errorf("subject %+v, want %+v", sn.restrict.Subject, want)
				}
			}
		})
	}
}

// Each refused rule of a binding is told on the binding with the rule, its port, the SG
// and the fix, under the reason of why it was refused.
func TestBindingRefusalNamesTheRulePortSGAndFix(t *testing.T) {
	ssh := sgrules.Key{Protocol: "tcp", FromPort: 22, ToPort: 22, PeerKind: sgrules.PeerCIDR, Peer: "0.0.0.0/0"}
	pod := sgrules.Key{Protocol: "tcp", FromPort: 8080, ToPort: 8080, PeerKind: sgrules.PeerCIDR, Peer: "10.0.0.0/16"}
	other := sgrules.Key{Protocol: "tcp", FromPort: 30080, ToPort: 30080, PeerKind: sgrules.PeerSG, Peer: "sg-0teama"}
	denial := &authz.Denial{Reference: authz.Reference{Key: bindingSourceField, Value: "sg-0teama", ID: "sg-0teama"},
		Decision: authz.Decision{Reason: "security group sg-0teama belongs to Service team-a/web (namespace team-a)", Fix: "name the security group of the load balancer"}}
	traffic := []sgrules.Need{{Protocol: "tcp", Port: 30080}}
	for _, tc := range []struct {
		refused       plan.Refused
		event, reason string
		want          []string
	}{
		{plan.Refused{SG: "sg-node", Rule: ssh, Why: plan.RefusedNotTrafficPort}, EventNetworkingRefused, failureNotTrafficPort,
			[]string{"tcp 22 from 0.0.0.0/0", "sg-node", "port tcp 22", "(tcp 30080)", "Fix: open only the targets' port"}},
		{plan.Refused{SG: "sg-node", Rule: pod, Why: plan.RefusedOutsideNodePorts}, EventClientCIDRRefused, failureRefused,
			[]string{"tcp 8080 from 10.0.0.0/16", "sg-node", "port tcp 8080", "30000-32767", "from: securityGroup", "--allow-client-cidr-rules-outside-node-port-range"}},
		{plan.Refused{SG: "sg-node", Rule: other, Why: plan.RefusedSource, Denial: denial}, EventReferenceDenied, failureSourceDenied,
			[]string{"tcp 30080 from sg-0teama", "sg-node", bindingSourceField, "Service team-a/web", "name the security group of the load balancer"}},
	} {
		t.Run(tc.refused.Why, func(t *testing.T) {
			event, reason, msg := bindingRefusal(tc.refused.SG, []plan.Refused{tc.refused}, traffic, "30000-32767")
			if event != tc.event || reason != tc.reason {
				t.Errorf("reasons %s, %s; want %s, %s", event, reason, tc.event, tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "NLB") {
				t.Errorf("a binding's message %q must not talk about its NLB", msg)
			}
		})
	}
}
