package e2e

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// databaseENI creates an ENI with its own SG in the world's first subnet, as a database
// would have, and returns its IP and SG.
func (h *harness) databaseENI() (ip, sgID string) {
	h.t.Helper()
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("database"),
		Description: aws.String("database"), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		h.t.Fatal(err)
	}
	ni, err := h.ec2.CreateNetworkInterface(h.ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(h.world.Subnets[0].ID),
		Groups: []string{aws.ToString(g.GroupId)}, Description: aws.String("database")})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(ni.NetworkInterface.PrivateIpAddress), aws.ToString(g.GroupId)
}

// sliceOf creates a hand-made EndpointSlice of the Service (any tenant can) with ready
// endpoints on port 8080 named "http".
func (h *harness) sliceOf(service, name string, eps ...discoveryv1.Endpoint) {
	h.t.Helper()
	ready := true
	for i := range eps {
		eps[i].Conditions.Ready = &ready
	}
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(8080)}},
		Endpoints:   eps,
	}
	h.create(s)
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, s) })
}

func (h *harness) registeredTargets(tgARN *string) []string {
	h.t.Helper()
	th, err := h.elb.DescribeTargetHealth(h.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgARN})
	if err != nil {
		h.t.Fatal(err)
	}
	var got []string
	for _, d := range th.TargetHealthDescriptions {
		got = append(got, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
	}
	sort.Strings(got)
	return got
}

// Regression for §1 case 2: a hand-made EndpointSlice with the IP of a database ENI made
// lbsg register it behind an internet-facing NLB and open the database's SG to the
// backend SG. Only IPs of Pods the Service selects are targets; the rest are named in one
// Warning Event, and the database's SG never gets a rule. Real Pods still work, and a
// Service without a selector gets no ip targets.
func TestEndpointSliceIPsThatNoSelectedPodHasAreNeverTargets(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	dbIP, dbSG := h.databaseENI()
	// The emulator may hand the database ENI's address out again; two live Pods with one
	// IP would make neither a target.
	ips := slices.DeleteFunc(h.podIPs(1), func(ip string) bool { return ip == dbIP })
	svc := webserver("web-ip", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(svc)
	h.endpoints("web-ip", "http", 8080, ips) // a real Pod: web-ip-pod-0
	// A Pod the Service does not select, claiming nothing but existing.
	h.pod("db-client", map[string]string{"role": "other"}, []string{dbIP})
	h.sliceOf("web-ip", "web-ip-forged",
		discoveryv1.Endpoint{Addresses: []string{dbIP}},                                                              // no targetRef
		discoveryv1.Endpoint{Addresses: []string{dbIP}, TargetRef: podRef("web-ip-pod-0")},                           // a real Pod, not its IP
		discoveryv1.Endpoint{Addresses: []string{dbIP}, TargetRef: podRef("ghost")},                                  // no such Pod
		discoveryv1.Endpoint{Addresses: []string{dbIP}, TargetRef: podRef("db-client")},                              // not selected
		discoveryv1.Endpoint{Addresses: []string{dbIP}, TargetRef: &corev1.ObjectReference{Kind: "Node", Name: "x"}}, // not a Pod
	)
	// A Service without selector, whose only slice is hand-made.
	nosel := webserver("no-sel", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	nosel.Spec.Selector = nil
	nosel.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(nosel)
	h.sliceOf("no-sel", "no-sel-1", discoveryv1.Endpoint{Addresses: []string{ips[0]}, TargetRef: podRef("web-ip-pod-0")},
		discoveryv1.Endpoint{Addresses: []string{dbIP}})
	h.waitHostname("web-ip")
	h.waitHostname("no-sel")

	h.waitEvent("web-ip", controller.EventEndpointsSkipped, dbIP)
	h.waitEvent("no-sel", controller.EventEndpointsSkipped, "the Service has no selector")
	h.eventually("the pod rule on the node SG", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 8080 from " + b.ID}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	h.quiesce()
	for _, m := range h.events("web-ip")[controller.EventEndpointsSkipped] {
		for _, want := range []string{"no targetRef to a Pod", "not one of the Pod's IPs", "no such Pod", "not selected by the Service", "targetRef is a Node"} {
			if !strings.Contains(m, want) {
				t.Errorf("skipped-endpoints Event %q lacks %q", m, want)
			}
		}
	}
	for _, tg := range h.targetGroups() {
		got := h.registeredTargets(tg.TargetGroupArn)
		var want []string
		if strings.Contains(aws.ToString(tg.TargetGroupName), "webip") {
			for _, ip := range ips {
				want = append(want, ip+":8080")
			}
			sort.Strings(want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("target group %s: targets %v, want %v", aws.ToString(tg.TargetGroupName), got, want)
		}
	}
	if got := h.securityGroups()[dbSG].Rules; len(got) != 0 {
		t.Errorf("database SG %s has rules %v, want none", dbSG, ruleStrings(got))
	}
	for _, name := range []string{"web-ip", "no-sel"} {
		if err := h.k8s.Delete(h.ctx, h.service(name)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeft()
}
