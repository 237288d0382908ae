package controller

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

// addManagedService adds an NLB Service whose load balancer carries its managed SG (with
// the client rules and tags its spec wants) and the backend SG, as the Service reconciler
// leaves it. It returns the managed SG's ID.
func (w *netWorld) addManagedService(name string, nodePort int32) string {
	w.t.Helper()
	class := "service.k8s.aws/nlb"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: nodePort, TargetPort: intstr.FromInt32(8080)}}}}
	st, problems := spec.BuildService(svc, w.r.Engine.Settings, spec.ServiceFacts{LBExists: true, LBHasSGs: true, LBScheme: "internal"})
	if len(problems) > 0 || st.ManagedSG == nil {
		w.t.Fatalf("build %s: %v (managed SG %v)", name, problems, st)
	}
	w.create(svc)
	id, err := w.obs.CreateSecurityGroup(w.ctx, st.ManagedSG.Name, naming.ManagedSGDescription, st.ManagedSG.Tags)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: cloud.RulesToSDK(st.ManagedSG.Ingress)}); err != nil {
		w.t.Fatal(err)
	}
	w.elbAPI.AddLoadBalancer("k8s-team-"+name, []string{id, w.backend}, map[string]string{
		naming.TagCluster: netCluster, naming.ServiceStackTag: naming.ServiceStackID("team", name),
		naming.ServiceResourceTag: naming.LoadBalancerResourceID})
	return id
}

func (w *netWorld) authorize(sg string, rules ...sgrules.Rule) {
	w.t.Helper()
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg),
		IpPermissions: cloud.RulesToSDK(rules)}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *netWorld) revokeRules(sg string, rules ...sgrules.Rule) {
	w.t.Helper()
	if _, err := w.ec2.RevokeSecurityGroupIngress(w.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sg),
		IpPermissions: cloud.RulesToSDK(rules)}); err != nil {
		w.t.Fatal(err)
	}
}

func anyCIDR(port int32) sgrules.Rule {
	return sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: port, ToPort: port, PeerKind: sgrules.PeerCIDR, Peer: "0.0.0.0/0"}}
}

// TestDriftCheckHandsDriftedManagedSGsToTheirReconciler: a rule added behind lbsg's back
// to one Service's managed SG, and a client rule revoked from another's, are seen by the
// next drift check, in the same two calls as ever, and only those two stacks are handed
// to their reconciler; the third is not. While the drift stays, each check hands them over
// again.
func TestDriftCheckHandsDriftedManagedSGsToTheirReconciler(t *testing.T) {
	w := newNetWorld(t)
	sgs := map[string]string{}
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		sgs[name] = w.addManagedService(name, int32(30000+i))
	}
	w.pass()
	w.driftPass()
	if len(w.changed) != 0 {
		t.Fatalf("stacks handed over with nothing drifted: %v", w.changed)
	}
	w.authorize(sgs["web-1"], anyCIDR(9999))
	w.revokeRules(sgs["web-2"], anyCIDR(80))
	got := w.driftPass()
	if want := map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1}; !maps.Equal(got, want) {
		t.Errorf("drift check made %v, want %v", got, want)
	}
	want := []spec.Owner{{Kind: "Service", Namespace: "team", Name: "web-1"}, {Kind: "Service", Namespace: "team", Name: "web-2"}}
	if !slices.Equal(w.changed, want) {
		t.Errorf("stacks handed over = %v, want %v", w.changed, want)
	}
	w.changed = nil
	w.driftPass()
	if !slices.Equal(w.changed, want) {
		t.Errorf("stacks handed over while the drift stays = %v, want %v", w.changed, want)
	}
	// Repaired (as the Service reconciler does): nothing is handed over any more.
	w.revokeRules(sgs["web-1"], anyCIDR(9999))
	w.authorize(sgs["web-2"], anyCIDR(80))
	w.changed = nil
	w.driftPass()
	if len(w.changed) != 0 {
		t.Errorf("stacks handed over after the repair: %v", w.changed)
	}
}

// TestManagedSGDriftCheckCostsNoCall: with managed SGs, steady state is still one
// DescribeLoadBalancers and one DescribeSecurityGroups per drift check, for 1 Service as
// for 150 (one DescribeSecurityGroups reads 200 SGs), and nothing is handed over: 2 calls
// a minute, within 2 + N/100.
func TestManagedSGDriftCheckCostsNoCall(t *testing.T) {
	for _, n := range []int{1, 150} {
		w := newNetWorld(t)
		for i := range n {
			w.addManagedService(fmt.Sprintf("web-%d", i), int32(30000+i))
		}
		w.pass()
		w.driftPass()
		sum := 0
		for range 10 {
			got := w.driftPass()
			if want := map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1}; !maps.Equal(got, want) {
				t.Errorf("N=%d: drift check made %v, want %v", n, got, want)
			}
			sum += total(got)
		}
		if len(w.changed) != 0 {
			t.Errorf("N=%d: stacks handed over in steady state: %v", n, w.changed)
		}
		t.Logf("N=%d: steady state %.1f calls per minute over 10 minutes", n, float64(sum)/10)
		if limit := 2 + float64(n)/100; float64(sum)/10 > limit {
			t.Errorf("N=%d: steady state %.1f calls per minute, want at most %.2f", n, float64(sum)/10, limit)
		}
	}
}

// TestDriftCheckEmptiesTheBackendSG: an inbound rule added behind lbsg's back to the
// backend SG, which every load balancer of the cluster carries, is revoked by the next
// drift check (one revoke beyond its two reads); a backend SG the user names
// (--backend-security-group) is left alone.
func TestDriftCheckEmptiesTheBackendSG(t *testing.T) {
	for _, userNamed := range []bool{false, true} {
		w := settledWorld(t, 2)
		if userNamed {
			w.r.Engine.BackendSGID = w.backend
		}
		w.driftPass()
		w.authorize(w.backend, anyCIDR(9999))
		got := w.driftPass()
		want := map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1, "RevokeSecurityGroupIngress": 1}
		wantRules := []string(nil)
		if userNamed {
			delete(want, "RevokeSecurityGroupIngress")
			wantRules = []string{"tcp 9999 from 0.0.0.0/0"}
		}
		if !maps.Equal(got, want) {
			t.Errorf("user-named %t: drift check made %v, want %v", userNamed, got, want)
		}
		if got := w.rules(w.backend); !slices.Equal(got, wantRules) {
			t.Errorf("user-named %t: backend SG rules = %v, want %v", userNamed, got, wantRules)
		}
		if got := w.driftPass(); got["RevokeSecurityGroupIngress"] != 0 {
			t.Errorf("user-named %t: next drift check made %v, want no revoke", userNamed, got)
		}
	}
}
