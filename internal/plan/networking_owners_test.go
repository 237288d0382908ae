package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// TestTargetSGWritesNameTheOwnersTheyAreFor: an authorize names the owners that ask for
// the rules it adds, not every owner on the SG; a revoke names the owners that asked for
// the rules before, or whose rules on those ports changed, else that no owner needs them.
func TestTargetSGWritesNameTheOwnersTheyAreFor(t *testing.T) {
	backend := "sg-0backend"
	base := func() NetworkingInput {
		return NetworkingInput{
			Cluster: "prod",
			Needs:   map[string]map[string][]sgrules.Need{"sg-node": {backend: {{Port: 30001}, {Port: 30005}}}},
			NeedsByOwner: map[string]map[string]map[string][]sgrules.Need{"sg-node": {
				"Service a/web": {backend: {{Port: 30001}}},
				"Service b/api": {backend: {{Port: 30005}}},
			}},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {"Service c/edge": {cidr(30003, "192.0.2.0/24")}}},
		}
	}
	tests := []struct {
		name     string
		observed []sgrules.Rule
		lastFor  map[sgrules.Key][]string
		want     map[Op][]string
	}{{
		name:     "a new rule names only the owner that asks for it",
		observed: []sgrules.Rule{owned(fromSG(30001, backend)), owned(cidr(30003, "192.0.2.0/24"))},
		want:     map[Op][]string{OpAuthorize: {"Service b/api"}},
	}, {
		name:     "narrowed source ranges name their owner on both writes",
		observed: []sgrules.Rule{owned(fromSG(30001, backend)), owned(fromSG(30005, backend)), owned(cidr(30003, "0.0.0.0/0"))},
		want:     map[Op][]string{OpAuthorize: {"Service c/edge"}, OpRevoke: {"Service c/edge"}},
	}, {
		name: "a rule asked for in the previous pass names who asked",
		observed: []sgrules.Rule{owned(fromSG(30001, backend)), owned(fromSG(30005, backend)), owned(cidr(30003, "192.0.2.0/24")),
			owned(fromSG(30100, backend))},
		lastFor: map[sgrules.Key][]string{fromSG(30100, backend).Key: {"Service d/gone"}},
		want:    map[Op][]string{OpRevoke: {"Service d/gone"}},
	}, {
		name: "a rule nobody asks for says so",
		observed: []sgrules.Rule{owned(fromSG(30001, backend)), owned(fromSG(30005, backend)), owned(cidr(30003, "192.0.2.0/24")),
			owned(cidr(30200, "0.0.0.0/0"))},
		want: map[Op][]string{OpRevoke: {NoOwner}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			in.Observed = map[string]state.SecurityGroup{"sg-node": sg("sg-node", tt.observed...)}
			if tt.lastFor != nil {
				in.LastFor = map[string]map[sgrules.Key][]string{"sg-node": tt.lastFor}
			}
			res := PlanNetworking(in)
			got := map[Op][]string{}
			for _, c := range res.Plan.Changes {
				got[c.Op] = c.For
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("owners per write (-want +got):\n%s", diff)
			}
			wantFor := map[sgrules.Key][]string{
				fromSG(30001, backend).Key:      {"Service a/web"},
				fromSG(30005, backend).Key:      {"Service b/api"},
				cidr(30003, "192.0.2.0/24").Key: {"Service c/edge"},
			}
			if diff := cmp.Diff(wantFor, res.For["sg-node"]); diff != "" {
				t.Errorf("owners of the wanted rules (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHoldsOfAFailingStackAreItsPortsFromItsSources: what a stack that could not be
// computed holds is read from AWS: its target groups' ports (target group, registered
// targets, health check) with their protocols, from the backend SG only when its load
// balancer carries it, or as CIDR rules for a load balancer without SGs, on the SGs of
// its registered targets; every rule from its managed SGs; and, when not even its target
// groups could be read, every backend SG and CIDR rule.
func TestHoldsOfAFailingStackAreItsPortsFromItsSources(t *testing.T) {
	backend := "sg-0backend"
	tgs := []state.TargetGroup{
		{ARN: "tg-tcp", Protocol: "TCP", Port: 30080, HealthCheck: state.HealthCheck{Port: "traffic-port"}},
		{ARN: "tg-udp", Protocol: "UDP", Port: 30053, HealthCheck: state.HealthCheck{Port: "30099"}},
	}
	targets := map[string][]state.Target{"tg-tcp": {{ID: "i-1", Port: 30080}}, "tg-udp": {{ID: "i-1", Port: 30053}}}
	owner := "Service a/bad"
	tests := []struct {
		name string
		f    FailingStack
		want []Hold
	}{{
		name: "with the backend SG, on the SGs of its targets",
		f: FailingStack{Owner: owner, Observed: true, TargetGroups: tgs, Targets: targets, TargetSGsKnown: true, TargetSGs: map[string][]string{"i-1": {"sg-node"}},
			LoadBalancer: &state.LoadBalancer{SecurityGroups: []string{"sg-0managed", backend}}, ManagedSGs: []string{"sg-0managed"}},
		want: []Hold{
			{Owner: owner, Source: "sg-0managed"},
			{Owner: owner, SG: "sg-node", Source: backend, Protocol: "tcp", Port: 30053},
			{Owner: owner, SG: "sg-node", Source: backend, Protocol: "udp", Port: 30053},
			{Owner: owner, SG: "sg-node", Source: backend, Protocol: "tcp", Port: 30080},
			{Owner: owner, SG: "sg-node", Source: backend, Protocol: "tcp", Port: 30099},
		},
	}, {
		name: "without SGs: CIDR rules, on every SG when its targets' SGs could not be read",
		f: FailingStack{Owner: owner, Observed: true, TargetGroups: tgs[:1], Targets: targets,
			LoadBalancer: &state.LoadBalancer{}},
		want: []Hold{{Owner: owner, Source: HoldCIDR, Protocol: "tcp", Port: 30080}},
	}, {
		name: "custom SGs only: nothing of lbsg's to hold",
		f: FailingStack{Owner: owner, Observed: true, TargetGroups: tgs[:1], Targets: targets, TargetSGsKnown: true, TargetSGs: map[string][]string{"i-1": {"sg-node"}},
			LoadBalancer: &state.LoadBalancer{SecurityGroups: []string{"sg-0custom"}}},
	}, {
		name: "no registered targets: nothing on target SGs",
		f:    FailingStack{Owner: owner, Observed: true, TargetGroups: tgs[:1], TargetSGsKnown: true, LoadBalancer: &state.LoadBalancer{SecurityGroups: []string{backend}}},
	}, {
		name: "not observed: every backend SG and CIDR rule",
		f:    FailingStack{Owner: owner},
		want: []Hold{{Owner: owner, Source: backend}, {Owner: owner, Source: HoldCIDR}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, HoldsOf(tt.f, []string{backend})); diff != "" {
				t.Errorf("HoldsOf (-want +got):\n%s", diff)
			}
		})
	}
}
