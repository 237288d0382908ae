package controller

import (
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// churnWorld is an instance-target Service (NodePort 30100) and an ip-target Service
// whose one Pod's IP is on node-1's ENI: both get rules from the backend SG on the shared
// node SG, with the default --target-sg-rule-budget=1 and --service-node-port-range.
func churnWorld(t *testing.T) *netWorld {
	w := newNetWorld(t)
	w.r.Engine.NodePorts = sgrules.PortRange{From: 30000, To: 32767}
	w.ec2.AssignPrivateIPs("eni-i-1", "10.0.2.10")
	w.addService("web", 30100, false)
	w.addService("api", 30200, true)
	w.setPodEndpoints("api", "node-1", "10.0.2.10")
	w.pass()
	want := []string{"tcp 30100 from " + w.backend, "tcp 8080 from " + w.backend}
	if got := w.rules(w.nodeSG); !slices.Equal(got, want) {
		t.Fatalf("node SG rules = %v, want %v", got, want)
	}
	return w
}

// setReady sets the readiness of every endpoint of the Service's EndpointSlice.
func (w *netWorld) setReady(name string, ready bool) {
	w.t.Helper()
	s := &discoveryv1.EndpointSlice{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "team", Name: name + "-1"}, s); err != nil {
		w.t.Fatal(err)
	}
	for i := range s.Endpoints {
		s.Endpoints[i].Conditions.Ready = &ready
	}
	if err := w.kube.Update(w.ctx, s); err != nil {
		w.t.Fatal(err)
	}
}

// sgWrites is the authorizes and revokes among calls.
func sgWrites(calls map[string]int) int {
	return calls["AuthorizeSecurityGroupIngress"] + calls["RevokeSecurityGroupIngress"]
}

// TestEndpointChurnOnASharedNodeSGWritesOnlyWhatChanges: 60 EndpointSlice edits of an
// ip-target Service that shares the node SG with an instance-target Service. Before, the
// pod port and the NodePort shared one min..max rule, and an endpoint that was not ready
// took its port out of it: each edit revoked and re-authorized that rule, 120 writes on
// the node SG for 60 edits. Now readiness flapping writes nothing (rules follow the Pods,
// ready or not), and an endpoint removed and added back writes only its own rule, never
// the rule every NodePort Service relies on.
func TestEndpointChurnOnASharedNodeSGWritesOnlyWhatChanges(t *testing.T) {
	w := churnWorld(t)
	writes := 0
	for i := range 60 {
		w.now = w.now.Add(time.Second)
		w.setReady("api", i%2 == 1)
		writes += sgWrites(w.pass())
	}
	if writes != 0 {
		t.Errorf("60 readiness flips made %d authorizes and revokes on the node SG, want 0", writes)
	}

	w = churnWorld(t)
	nodePortRule := "tcp 30100 from " + w.backend
	writes = 0
	for i := range 60 {
		w.now = w.now.Add(time.Second)
		if i%2 == 0 {
			w.setPodEndpoints("api", "node-1")
		} else {
			w.setPodEndpoints("api", "node-1", "10.0.2.10")
		}
		writes += sgWrites(w.pass())
		if got := w.rules(w.nodeSG); !slices.Contains(got, nodePortRule) || len(got) > 2 {
			t.Fatalf("edit %d: node SG rules = %v, want %q kept and nothing wider", i, got, nodePortRule)
		}
	}
	if writes != 60 {
		t.Errorf("60 edits that remove and add back the only endpoint made %d writes, want 60 (one on the pod port's own rule each)", writes)
	}
}
