package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// anyIPv4 renders "tcp port from 0.0.0.0/0" as a user adds or revokes it by hand.
func anyIPv4(port int32) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
}

// managedSGOf returns the managed SG among a load balancer's SGs (the one tagged
// ManagedLBSecurityGroup by its stack).
func (h *harness) managedSGOf(lb *elbtypes.LoadBalancer) sg {
	h.t.Helper()
	all := h.securityGroups()
	for _, id := range lb.SecurityGroups {
		g := all[id]
		if g.Tags[naming.ServiceResourceTag] == naming.ManagedSGResourceID || g.Tags[naming.IngressResourceTag] == naming.ManagedSGResourceID {
			return g
		}
	}
	h.t.Fatalf("no managed SG among %v", lb.SecurityGroups)
	return sg{}
}

// driftSG adds "tcp 9999 from 0.0.0.0/0" to an SG and revokes "tcp 80 from 0.0.0.0/0" from
// it (when revoke), through EC2 directly, as a person or another tool would.
func (h *harness) driftSG(id string, revoke bool) {
	h.t.Helper()
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: anyIPv4(9999)}); err != nil {
		h.t.Fatalf("authorize on %s: %v", id, err)
	}
	if !revoke {
		return
	}
	if _, err := h.ec2.RevokeSecurityGroupIngress(h.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: anyIPv4(80)}); err != nil {
		h.t.Fatalf("revoke on %s: %v", id, err)
	}
}

// TestManagedSGDriftIsRepairedByTheDriftCheck guards case 12: a rule added out of band to
// a managed SG (tcp 9999 from 0.0.0.0/0) and a client rule revoked from it stayed until
// the next --sync-period (10 h). With --sync-period at an hour, the drift check (every
// --drift-check-interval: 2 s here, 1 m by default) finds both on the NLB's and on the
// ALB's managed SG and hands those two stacks to their reconcilers, which put the client
// rule back and revoke the other; a rule added to the backend SG, which every load
// balancer carries, is revoked too.
func TestManagedSGDriftIsRepairedByTheDriftCheck(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--sync-period=1h")
	h.create(webserver("web", nil))
	h.ensureIngressClass(albClass, "")
	h.create(backendService("shop", 30080, nil))
	h.create(ingress("shop", "shop", map[string]string{ingScheme: internetFacing}))
	h.waitHostname("web")
	albHost := h.waitIngressHostname("shop")
	h.quiesce()
	nlb := h.loadBalancerOfService("web")
	nlbSG, albSG := h.managedSGOf(nlb), h.managedSGOf(h.albByHostname(albHost))
	backend, ok := h.sgByName(naming.BackendSGName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	want := map[string][]string{nlbSG.ID: ruleStrings(nlbSG.Rules), albSG.ID: ruleStrings(albSG.Rules), backend.ID: ruleStrings(backend.Rules)}
	for id, rules := range want {
		if id != backend.ID && !slices.Contains(rules, "tcp 80 from 0.0.0.0/0") {
			t.Fatalf("managed SG %s rules = %v, want tcp 80 from 0.0.0.0/0 among them", id, rules)
		}
	}
	h.driftSG(nlbSG.ID, true)
	h.driftSG(albSG.ID, true)
	h.driftSG(backend.ID, false)
	h.eventually("every drifted SG repaired", 45*time.Second, func() string {
		all := h.securityGroups()
		for id, rules := range want {
			if got := ruleStrings(all[id].Rules); !slices.Equal(got, rules) {
				return fmt.Sprintf("rules of %s = %v, want %v", id, got, rules)
			}
		}
		return ""
	})
}

// loadBalancerOfService returns the load balancer whose DNS name a Service shows.
func (h *harness) loadBalancerOfService(name string) *elbtypes.LoadBalancer {
	h.t.Helper()
	host := h.waitHostname(name)
	for _, lb := range h.loadBalancers() {
		if aws.ToString(lb.DNSName) == host {
			return &lb
		}
	}
	h.t.Fatalf("no load balancer with DNS name %s", host)
	return nil
}
