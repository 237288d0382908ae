package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/localenv"
)

// A controller restart between create and delete still removes the backend SG: the
// decision comes from AWS and Kubernetes, not from process memory (upstream #4526).
func TestRestartBetweenCreateAndDelete(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	if _, ok := h.sgByName(wantBackendName(cluster)); !ok {
		t.Fatal("no backend SG")
	}
	h.quiesce()
	h.stopController()

	h.startController()
	before := h.counts()
	time.Sleep(3 * time.Second)
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("a restarted controller changed AWS although nothing changed: %v", w)
	}
	if err := h.k8s.Delete(h.ctx, h.service("webserver")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}

// An NLB deleted behind the controller's back is recreated, and a deleted node rule is
// restored, by the periodic resync.
func TestDriftRepaired(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	h.quiesce()
	node := h.securityGroups()[h.world.NodeSGID]
	var ours []string
	for _, r := range node.Rules {
		if r.Description != "" {
			ours = append(ours, r.Key.String())
		}
	}
	// Delete the node rule behind lbsg's back.
	b, _ := h.sgByName(wantBackendName(cluster))
	np := h.service("webserver").Spec.Ports[0].NodePort
	if _, err := h.ec2.RevokeSecurityGroupIngress(h.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(h.world.NodeSGID),
		IpPermissions: rulesToSDK(np, b.ID)}); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("tcp %d from %s", np, b.ID)}
	h.eventually("node rule restored", 20*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprint(got)
		}
		return ""
	})
	// Delete the NLB behind lbsg's back.
	for _, lb := range h.loadBalancers() {
		if _, err := h.elb.DeleteLoadBalancer(h.ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("NLB recreated", 90*time.Second, func() string {
		if len(h.loadBalancers()) != 1 {
			return "no load balancer"
		}
		return ""
	})
}

// 20 Services share one backend SG, and each node SG holds as many lbsg rules as with one.
func TestTwentyServicesShareBackendSG(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("web-0", nil))
	h.waitHostname("web-0")
	h.quiesce()
	one := lbsgRules(h.securityGroups()[h.world.NodeSGID])
	if len(one) != 1 {
		t.Fatalf("node SG lbsg rules with one Service = %v", one)
	}
	for i := 1; i < 20; i++ {
		h.create(webserver(fmt.Sprintf("web-%d", i), nil))
	}
	var ports []int32
	for i := 0; i < 20; i++ {
		h.waitHostname(fmt.Sprintf("web-%d", i))
		ports = append(ports, h.service(fmt.Sprintf("web-%d", i)).Spec.Ports[0].NodePort)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	b, _ := h.sgByName(wantBackendName(cluster))
	want := []string{fmt.Sprintf("tcp %d-%d from %s", ports[0], ports[19], b.ID)}
	h.eventually("one merged node rule", 60*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	backends := 0
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/resource"] == "backend-sg" {
			backends++
		}
	}
	if backends != 1 {
		t.Errorf("%d backend SGs, want 1", backends)
	}
	for _, lb := range h.loadBalancers() {
		found := false
		for _, id := range lb.SecurityGroups {
			found = found || id == b.ID
		}
		if !found {
			t.Errorf("NLB %s lacks the backend SG", aws.ToString(lb.LoadBalancerName))
		}
	}
}

// ip targets: pod IPs from EndpointSlices; the rule lands on the pod ENI's SG on the
// target port.
func TestIPTargets(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	ips := h.podIPs(2)
	svc := webserver("web-ip", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(svc)
	h.endpoints("web-ip", "http", 8080, ips)
	h.waitHostname("web-ip")
	h.eventually("pod rule", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		want := []string{"tcp 8080 from " + b.ID}
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	tgs := h.targetGroups()
	if len(tgs) != 1 || string(tgs[0].TargetType) != "ip" {
		t.Fatalf("target groups = %+v", tgs)
	}
	h.eventually("ip targets registered", 30*time.Second, func() string {
		th, err := h.elb.DescribeTargetHealth(h.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgs[0].TargetGroupArn})
		if err != nil {
			return err.Error()
		}
		var got []string
		for _, d := range th.TargetHealthDescriptions {
			got = append(got, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
		}
		sort.Strings(got)
		var want []string
		for _, ip := range ips {
			want = append(want, ip+":8080")
		}
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	if err := h.k8s.Delete(h.ctx, h.service("web-ip")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}

// podIPs assigns n secondary IPs on the first node's ENI, as the VPC CNI does for pods,
// and returns them sorted.
func (h *harness) podIPs(n int32) []string {
	h.t.Helper()
	out, err := h.ec2.AssignPrivateIpAddresses(h.ctx, &ec2.AssignPrivateIpAddressesInput{
		NetworkInterfaceId: aws.String(h.world.Nodes[0].ENIID), SecondaryPrivateIpAddressCount: aws.Int32(n)})
	if err != nil {
		h.t.Fatal(err)
	}
	var ips []string
	for _, a := range out.AssignedPrivateIpAddresses {
		ips = append(ips, aws.ToString(a.PrivateIpAddress))
	}
	sort.Strings(ips)
	return ips
}

// endpoints creates, for each IP, a Pod the Service selects, and an EndpointSlice of the
// Service with ready endpoints at the IPs that name those Pods, on the named port; they
// are deleted when the test ends.
func (h *harness) endpoints(service, portName string, port int32, ips []string) {
	h.t.Helper()
	selector := h.service(service).Spec.Selector
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: service + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String(portName), Port: aws.Int32(port)}},
	}
	for i, ip := range ips {
		pod := h.pod(fmt.Sprintf("%s-pod-%d", service, i), selector, []string{ip})
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, TargetRef: podRef(pod.Name),
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	h.create(slice)
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, slice) })
}
