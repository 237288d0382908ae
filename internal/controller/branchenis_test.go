package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/targets"
)

// addBranchENI seeds a branch ENI (security groups for pods) holding ip, in sg.
func (w *netWorld) addBranchENI(id, vpc, ip, sg string, kind ec2types.NetworkInterfaceType) {
	w.ec2.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String(id), VpcId: aws.String(vpc), InterfaceType: kind,
		Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String(sg)}},
		PrivateIpAddress:   aws.String(ip),
		PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{PrivateIpAddress: aws.String(ip)}}})
}

// annotatePodENI writes the pod-eni annotation, as the VPC resource controller (or a
// tenant) would, on the Pod setEndpoints made for index i.
func (w *netWorld) annotatePodENI(name string, value string) {
	w.t.Helper()
	pod := &corev1.Pod{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "team", Name: name}, pod); err != nil {
		w.t.Fatal(err)
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[targets.PodENIAnnotation] = value
	if err := w.kube.Update(w.ctx, pod); err != nil {
		w.t.Fatal(err)
	}
}

func podENIValue(eni, ip string) string {
	return `[{"eniId":"` + eni + `","ifAddress":"02:78:59:8f:ee:b2","privateIp":"` + ip + `","vlanId":1,"subnetCidr":"10.0.2.0/24"}]`
}

func (w *netWorld) events() []string {
	var out []string
	ch := w.r.Recorder.(*events.FakeRecorder).Events
	for {
		select {
		case e := <-ch:
			out = append(out, e)
		default:
			return out
		}
	}
}

// TestConfirmedBranchENIGetsTheRuleOnItsSG: a Pod whose pod-eni annotation names a branch
// ENI that EC2 confirms (type branch, cluster VPC, holds the pod IP) gets its rule on that
// ENI's SG, found by one DescribeNetworkInterfaces by ID and no lookup by IP; the next pass
// reads nothing.
func TestConfirmedBranchENIGetsTheRuleOnItsSG(t *testing.T) {
	w := newNetWorld(t)
	branchSG := w.mkSG("branch", nil)
	w.addBranchENI("eni-br", "vpc-1", "10.0.2.5", branchSG, ec2types.NetworkInterfaceTypeBranch)
	w.addService("api", 30100, true)
	w.setEndpoints("api", "10.0.2.5")
	w.annotatePodENI("api-0", podENIValue("eni-br", "10.0.2.5"))
	w.pass()
	if got, want := w.rules(branchSG), []string{"tcp 8080 from " + w.backend}; !slices.Equal(got, want) {
		t.Fatalf("branch ENI SG rules = %v, want %v", got, want)
	}
	if got := w.rules(w.podSG); len(got) != 0 {
		t.Errorf("pod SG rules = %v, want none", got)
	}
	if ev := w.events(); len(ev) != 0 {
		t.Errorf("events = %v, want none", ev)
	}
	if _, byIP := w.r.snap.ipENI["10.0.2.5"]; byIP || w.r.snap.branchENI["eni-br"].ID != "eni-br" {
		t.Errorf("pod IP looked up by IP: %v, branch ENIs read by ID %v; want only the read by ID", byIP, slices.Collect(maps.Keys(w.r.snap.branchENI)))
	}
	w.now = w.now.Add(time.Second)
	w.setEndpoints("api", "10.0.2.5")
	w.annotatePodENI("api-0", podENIValue("eni-br", "10.0.2.5"))
	if got := w.pass(); total(got) != 0 {
		t.Errorf("second pass made %v, want no call", got)
	}
}

// TestForgedPodENIAnnotationIsNotUsed: an annotation naming an ENI that does not hold the
// pod IP, one that is not a branch ENI, one in another VPC, or one EC2 does not know is not
// used: the target ENI is the one that holds the pod IP, and the Service gets a Warning
// Event saying why.
func TestForgedPodENIAnnotationIsNotUsed(t *testing.T) {
	tests := []struct {
		name, value, why string
	}{
		{"ENI of another pod", podENIValue("eni-br", "10.0.1.5"), "does not hold the Pod's IP 10.0.1.5"},
		{"not a branch ENI", podENIValue("eni-pods", "10.0.1.5"), "eni-pods is of type \"\", not a branch ENI"},
		{"another VPC", podENIValue("eni-far", "10.0.1.5"), "not in the cluster's VPC vpc-1"},
		{"unknown ENI", podENIValue("eni-nope", "10.0.1.5"), "no network interface eni-nope"},
		{"entry for another IP", podENIValue("eni-br", "10.0.2.5"), "no entry has privateIp 10.0.1.5"},
		{"not JSON", "eni-br", "not a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newNetWorld(t)
			branchSG := w.mkSG("branch", nil)
			w.addBranchENI("eni-br", "vpc-1", "10.0.2.5", branchSG, ec2types.NetworkInterfaceTypeBranch)
			w.addBranchENI("eni-far", "vpc-2", "10.0.1.5", branchSG, ec2types.NetworkInterfaceTypeBranch)
			w.addService("api", 30100, true)
			w.setEndpoints("api", "10.0.1.5")
			w.annotatePodENI("api-0", tt.value)
			w.pass()
			if got := w.rules(branchSG); len(got) != 0 {
				t.Errorf("claimed ENI's SG rules = %v, want none", got)
			}
			if got, want := w.rules(w.podSG), []string{"tcp 8080 from " + w.backend}; !slices.Equal(got, want) {
				t.Errorf("SG of the ENI holding the pod IP = %v, want %v", got, want)
			}
			ev := strings.Join(w.events(), "\n")
			for _, s := range []string{"Warning", EventPodENIIgnored, "team/api-0", "10.0.1.5", tt.why} {
				if !strings.Contains(ev, s) {
					t.Errorf("events %q lack %q", ev, s)
				}
			}
			// A notice, not a failure: the Service stays Ready, and says it once.
			svc := &corev1.Service{}
			if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "team", Name: "api"}, svc); err != nil {
				t.Fatal(err)
			}
			if c := meta.FindStatusCondition(svc.Status.Conditions, ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
				t.Errorf("Ready condition %+v, want the Service not failing", c)
			}
			w.driftPass()
			if ev := w.events(); len(ev) != 0 {
				t.Errorf("the next pass repeated %v", ev)
			}
		})
	}
}

// TestBranchENILookupsDoNotGrowWithStacks: the ENIs that the Pods of 1 or of 20 Services
// claim are confirmed by the same one DescribeNetworkInterfaces.
func TestBranchENILookupsDoNotGrowWithStacks(t *testing.T) {
	run := func(n int) map[string]int {
		w := newNetWorld(t)
		branchSG := w.mkSG("branch", nil)
		for i := range n {
			name := fmt.Sprintf("api-%d", i)
			ip := fmt.Sprintf("10.0.2.%d", 10+i)
			w.addBranchENI("eni-br-"+name, "vpc-1", ip, branchSG, ec2types.NetworkInterfaceTypeBranch)
			w.addService(name, int32(30100+i), true)
			w.setEndpoints(name, ip)
			w.annotatePodENI(name+"-0", podENIValue("eni-br-"+name, ip))
		}
		got := w.pass()
		if rules := w.rules(branchSG); len(rules) != 1 {
			t.Errorf("branch SG rules with %d Services = %v, want one rule", n, rules)
		}
		delete(got, "DescribeTags") // one per 20 new load balancers
		return got
	}
	one, many := run(1), run(20)
	if !maps.Equal(one, many) {
		t.Errorf("calls with 1 Service %v, with 20 %v: want the same", one, many)
	}
	if one["DescribeNetworkInterfaces"] != 1 {
		t.Errorf("DescribeNetworkInterfaces = %d, want 1 (by ID, none by IP)", one["DescribeNetworkInterfaces"])
	}
}

// TestTargetSGSelectionPolicies: a node ENI with two SGs tagged for the cluster fails the
// stack's rules under error (the Event names the ENI, its SGs and the flag), gets the rule
// on the first in sorted order under first-tagged, and on both under all.
func TestTargetSGSelectionPolicies(t *testing.T) {
	for _, policy := range targets.Policies {
		t.Run(string(policy), func(t *testing.T) {
			w := newNetWorld(t)
			w.r.Engine.SGSelection = policy
			tag := map[string]string{naming.NodeSGClusterTagPrefix + netCluster: "owned"}
			a, b := w.mkSG("multi-a", tag), w.mkSG("multi-b", tag)
			w.ec2.AddInstance(ec2types.Instance{InstanceId: aws.String("i-m"), NetworkInterfaces: []ec2types.InstanceNetworkInterface{{
				NetworkInterfaceId: aws.String("eni-multi"), VpcId: aws.String("vpc-1"),
				Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
				Groups:     []ec2types.GroupIdentifier{{GroupId: aws.String(b)}, {GroupId: aws.String(a)}}}}})
			w.create(nodeObject("node-m", "i-m"))
			w.addService("web", 30000, false)
			w.pass()
			first, second := min(a, b), max(a, b)
			rule := []string{"tcp 30000 from " + w.backend}
			var wantFirst, wantSecond []string
			switch policy {
			case targets.PolicyFirstTagged:
				wantFirst = rule
			case targets.PolicyAll:
				wantFirst, wantSecond = rule, rule
			}
			if got := w.rules(first); !slices.Equal(got, wantFirst) {
				t.Errorf("rules on %s = %v, want %v", first, got, wantFirst)
			}
			if got := w.rules(second); !slices.Equal(got, wantSecond) {
				t.Errorf("rules on %s = %v, want %v", second, got, wantSecond)
			}
			ev := strings.Join(w.events(), "\n")
			if policy == targets.PolicyError {
				for _, s := range []string{"Warning", "eni-multi", first, second, "--target-sg-selection"} {
					if !strings.Contains(ev, s) {
						t.Errorf("events %q lack %q", ev, s)
					}
				}
			} else if ev != "" {
				t.Errorf("events = %q, want none", ev)
			}
		})
	}
}

func nodeObject(name, instance string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   corev1.NodeSpec{ProviderID: "aws:///eu-west-1a/" + instance},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}
