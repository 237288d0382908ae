package plan

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

const (
	tgbB       = "TargetGroupBinding team-b/ssh"
	tgbField   = "spec.networking.ingress[].from[].securityGroup.groupID"
	nodePortLo = 30000
	nodePortHi = 32767
)

func tcpPorts(ports ...int32) []sgrules.Need {
	out := make([]sgrules.Need, len(ports))
	for i, p := range ports {
		out[i] = sgrules.Need{Protocol: sgrules.ProtoTCP, Port: p}
	}
	return out
}

// restrictB is team-b's binding, whose targets receive traffic on ports.
func restrictB(ports ...sgrules.Need) map[string]Restriction {
	return map[string]Restriction{tgbB: {Subject: authz.Subject{Kind: "TargetGroupBinding", Namespace: "team-b", Name: "ssh"},
		Ports: ports, SourceField: tgbField}}
}

func allPorts(peer string) sgrules.Rule {
	r := cidr(0, peer)
	r.ToPort = sgrules.MaxPort
	return r
}

// restrictedCases are the TestNetworkingIsolation cases of owners whose rules a tenant
// writes rule by rule (TargetGroupBindings).
func restrictedCases(backend string) []networkingCase {
	nodePorts := sgrules.PortRange{From: nodePortLo, To: nodePortHi}
	lb, teamA, gone := "sg-0lb", "sg-0teama", "sg-0gone"
	sources := map[string]authz.Owner{
		lb:      {Class: authz.External},
		teamA:   {Class: authz.Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}},
		backend: {Class: authz.BackendSG},
	}
	udpAll := allPorts("10.0.0.0/16")
	udpAll.Protocol = sgrules.ProtoUDP
	return []networkingCase{{
		name: "a binding's CIDR rules land only on its traffic ports, and its old ones elsewhere are revoked; other owners' rules go ahead",
		in: NetworkingInput{
			NodePorts:        nodePorts,
			ClientCIDROwners: []string{"Service team-a/web"},
			Restricted:       restrictB(tcpPorts(30080)...),
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				tgbB:                 {cidr(22, "0.0.0.0/0"), cidr(10250, "0.0.0.0/0"), cidr(30080, "0.0.0.0/0"), allPorts("10.0.0.0/16")},
				"Service team-a/web": {cidr(30001, "0.0.0.0/0")},
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", owned(cidr(22, "0.0.0.0/0")))},
		},
		want: []string{
			"authorize sg-node tcp 30001 from 0.0.0.0/0",
			"authorize sg-node tcp 30080 from 0.0.0.0/0",
			"authorize sg-node tcp 30080 from 10.0.0.0/16",
			"revoke sg-node tcp 22 from 0.0.0.0/0",
		},
		refused: []Refused{
			{SG: "sg-node", Owner: tgbB, Rule: cidr(10250, "0.0.0.0/0").Key, Why: RefusedNotTrafficPort},
			{SG: "sg-node", Owner: tgbB, Rule: cidr(22, "0.0.0.0/0").Key, Why: RefusedNotTrafficPort},
		},
	}, {
		name: "a binding's rules from security groups: its traffic ports only, exact, from the sources it may name",
		in: NetworkingInput{
			Budget:     1,
			NodePorts:  nodePorts,
			Restricted: restrictB(append(tcpPorts(8080, 9090), sgrules.Need{Protocol: sgrules.ProtoTCP, Port: 30080})...),
			Sources:    sources,
			Needs: map[string]map[string][]sgrules.Need{"sg-node": {
				lb:      {{Port: 8080}, {Port: 9090}, {Port: 22}},
				teamA:   {{Port: 8080}},
				gone:    {{Port: 8080}},
				backend: {{AllPorts: true}, {Port: 30001}, {Port: 30500}},
			}},
			NeedsByOwner: map[string]map[string]map[string][]sgrules.Need{"sg-node": {
				tgbB:                 {lb: {{Port: 8080}, {Port: 9090}, {Port: 22}}, teamA: {{Port: 8080}}, gone: {{Port: 8080}}, backend: {{AllPorts: true}}},
				"Service team-a/web": {backend: {{Port: 30001}, {Port: 30500}}},
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", owned(fromSG(22, lb)))},
		},
		want: []string{
			// Two traffic ports far apart are two rules, whatever the budget; the backend
			// SG's own rules are merged within it as usual.
			"authorize sg-node tcp 8080 from sg-0backend",
			"authorize sg-node tcp 8080 from sg-0lb",
			"authorize sg-node tcp 9090 from sg-0backend",
			"authorize sg-node tcp 9090 from sg-0lb",
			"authorize sg-node tcp 30001-30500 from sg-0backend",
			"revoke sg-node tcp 22 from sg-0lb",
		},
		refused: []Refused{
			{SG: "sg-node", Owner: tgbB, Rule: fromSG(22, lb).Key, Why: RefusedNotTrafficPort},
			{SG: "sg-node", Owner: tgbB, Rule: fromSG(8080, gone).Key, Why: RefusedSource},
			{SG: "sg-node", Owner: tgbB, Rule: fromSG(8080, teamA).Key, Why: RefusedSource},
		},
	}, {
		name: "a binding's CIDR rule on a port outside the NodePort range is refused, its rule from a security group there is not",
		in: NetworkingInput{
			NodePorts:    nodePorts,
			Restricted:   restrictB(tcpPorts(8080)...),
			Sources:      sources,
			Needs:        map[string]map[string][]sgrules.Need{"sg-node": {lb: {{Port: 8080}}}},
			NeedsByOwner: map[string]map[string]map[string][]sgrules.Need{"sg-node": {tgbB: {lb: {{Port: 8080}}}}},
			CIDROwners:   map[string]map[string][]sgrules.Rule{"sg-node": {tgbB: {cidr(8080, "10.0.0.0/16"), udpAll}}},
			Observed:     map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
		},
		want: []string{"authorize sg-node tcp 8080 from sg-0lb"},
		refused: []Refused{
			{SG: "sg-node", Owner: tgbB, Rule: cidr(8080, "10.0.0.0/16").Key, Why: RefusedOutsideNodePorts},
			{SG: "sg-node", Owner: tgbB, Rule: udpAll.Key, Why: RefusedNotTrafficPort},
		},
	}, {
		name: "the platform may allow a binding's CIDR rules outside the NodePort range, still only on its traffic ports",
		in: NetworkingInput{
			NodePorts:                       nodePorts,
			AllowClientCIDROutsideNodePorts: true,
			Restricted:                      restrictB(tcpPorts(8080)...),
			CIDROwners:                      map[string]map[string][]sgrules.Rule{"sg-node": {tgbB: {cidr(8080, "10.0.0.0/16"), cidr(22, "10.0.0.0/16")}}},
			Observed:                        map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
		},
		want:    []string{"authorize sg-node tcp 8080 from 10.0.0.0/16"},
		refused: []Refused{{SG: "sg-node", Owner: tgbB, Rule: cidr(22, "10.0.0.0/16").Key, Why: RefusedNotTrafficPort}},
	}, {
		name: "a binding whose targets cannot be placed holds only its traffic ports, from its sources",
		in: NetworkingInput{
			Holds: append(HoldsOfRestricted(tgbB, restrictB(tcpPorts(30080)...)[tgbB], HoldCIDR),
				HoldsOfRestricted(tgbB, restrictB(tcpPorts(30080)...)[tgbB], lb)...),
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node",
				owned(cidr(30080, "0.0.0.0/0")), owned(fromSG(30080, lb)), owned(cidr(30099, "0.0.0.0/0")), owned(fromSG(22, lb)))},
		},
		want: []string{"revoke sg-node tcp 22 from sg-0lb", "revoke sg-node tcp 30099 from 0.0.0.0/0"},
		held: map[string][]string{"sg-node": {tgbB}},
	}}
}

// TestRestrictedSourceDenialsNameTheSourceItsOwnerAndTheFix: a source the authorizer
// refuses, or that was not found, carries the denial the Event quotes.
func TestRestrictedSourceDenialsNameTheSourceItsOwnerAndTheFix(t *testing.T) {
	in := NetworkingInput{
		Cluster:    "prod",
		Restricted: restrictB(tcpPorts(30080)...),
		Sources:    map[string]authz.Owner{"sg-0teama": {Class: authz.Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}}},
		Needs:      map[string]map[string][]sgrules.Need{"sg-node": {"sg-0teama": {{Port: 30080}}, "sg-0gone": {{Port: 30080}}}},
		NeedsByOwner: map[string]map[string]map[string][]sgrules.Need{"sg-node": {tgbB: {
			"sg-0teama": {{Port: 30080}}, "sg-0gone": {{Port: 30080}}}}},
		Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
	}
	res := PlanNetworking(in)
	if !res.Plan.Empty() {
		t.Errorf("nothing may be planned from denied sources:\n%v", summary(res.Plan))
	}
	want := map[string][]string{
		"sg-0gone":  {tgbField, `"sg-0gone"`, "was found in the cluster's VPC", "name an existing security group"},
		"sg-0teama": {tgbField, `"sg-0teama"`, "Service team-a/web", "namespace team-a", "name the security group of the load balancer"},
	}
	if len(res.Refused) != len(want) {
		t.Fatalf("refused = %+v, want one per source", res.Refused)
	}
	for _, x := range res.Refused {
		if x.Why != RefusedSource || x.Denial == nil {
			t.Fatalf("refused %+v: want a source denial", x)
		}
		msg := x.Denial.Error()
		for _, w := range want[x.Rule.Peer] {
			if !strings.Contains(msg, w) {
				t.Errorf("denial %q lacks %q", msg, w)
			}
		}
	}
}

func TestTrafficPortsAreTheTargetPortsAndTheHealthCheckPort(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tg    state.TargetGroup
		ports []int32
		want  []sgrules.Need
	}{
		{"instance targets on a NodePort, traffic-port health check", state.TargetGroup{Protocol: "TCP", Port: 80, HealthCheck: state.HealthCheck{Port: "traffic-port"}},
			[]int32{30080}, tcpPorts(30080)},
		{"ip targets on two ports and a health-check port", state.TargetGroup{Protocol: "HTTP", Port: 80, HealthCheck: state.HealthCheck{Port: "9000"}},
			[]int32{8443, 8080, 8080}, tcpPorts(8080, 8443, 9000)},
		{"UDP targets are health-checked over TCP", state.TargetGroup{Protocol: "UDP"}, []int32{5353},
			[]sgrules.Need{{Protocol: "tcp", Port: 5353}, {Protocol: "udp", Port: 5353}}},
		{"no targets: only the health-check port", state.TargetGroup{Protocol: "TCP", HealthCheck: state.HealthCheck{Port: "31000"}}, nil, tcpPorts(31000)},
		{"nothing", state.TargetGroup{Protocol: "TCP", Port: 80}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, TrafficPorts(tc.tg, tc.ports)); diff != "" {
				t.Errorf("TrafficPorts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRestrictionLeavesTheInputAlone: the planner plans the same input twice (again after
// a fresh read), so restricting never writes into it.
func TestRestrictionLeavesTheInputAlone(t *testing.T) {
	for _, tc := range restrictedCases("sg-0backend") {
		before := deepCopyInput(tc.in)
		PlanNetworking(tc.in)
		if !reflect.DeepEqual(before, tc.in) {
			t.Errorf("%s: the input changed", tc.name)
		}
	}
}

func deepCopyInput(in NetworkingInput) NetworkingInput {
	out := in
	out.Needs = map[string]map[string][]sgrules.Need{}
	for sg, m := range in.Needs {
		out.Needs[sg] = map[string][]sgrules.Need{}
		for k, v := range m {
			out.Needs[sg][k] = append([]sgrules.Need(nil), v...)
		}
	}
	out.NeedsByOwner = map[string]map[string]map[string][]sgrules.Need{}
	for sg, m := range in.NeedsByOwner {
		out.NeedsByOwner[sg] = map[string]map[string][]sgrules.Need{}
		for o, bySrc := range m {
			out.NeedsByOwner[sg][o] = map[string][]sgrules.Need{}
			for k, v := range bySrc {
				out.NeedsByOwner[sg][o][k] = append([]sgrules.Need(nil), v...)
			}
		}
	}
	out.CIDROwners = map[string]map[string][]sgrules.Rule{}
	for sg, m := range in.CIDROwners {
		out.CIDROwners[sg] = map[string][]sgrules.Rule{}
		for o, v := range m {
			out.CIDROwners[sg][o] = append([]sgrules.Rule(nil), v...)
		}
	}
	if in.Needs == nil {
		out.Needs = nil
	}
	if in.NeedsByOwner == nil {
		out.NeedsByOwner = nil
	}
	if in.CIDROwners == nil {
		out.CIDROwners = nil
	}
	return out
}

// TestRestrictedOwnersNeverOpenMoreThanTheirTrafficPorts is the property behind the
// restriction: whatever rules a tenant's binding asks for, from whatever CIDRs or security
// groups, on a target SG it shares with other owners, every rule lbsg adds for it admits
// only its traffic ports, a CIDR only inside the NodePort range, and a security group only
// when the authorizer allows it; and every other owner's rules are planned as if the
// binding asked for nothing.
func TestRestrictedOwnersNeverOpenMoreThanTheirTrafficPorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 6))
	nodePorts := sgrules.PortRange{From: nodePortLo, To: nodePortHi}
	portPool := []int32{22, 80, 443, 8080, 10250, 30080, 30081, 31000, 32767, 40000}
	srcPool := []string{"sg-0lb", "sg-0teama", "sg-0backend", "sg-0gone"}
	sources := map[string]authz.Owner{
		"sg-0lb":      {Class: authz.External},
		"sg-0teama":   {Class: authz.Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}},
		"sg-0backend": {Class: authz.BackendSG},
	}
	allowedSrc := map[string]bool{"sg-0lb": true, "sg-0backend": true}
	landed := 0
	for i := range 300 {
		traffic := tcpPorts(portPool[rng.IntN(len(portPool))], portPool[rng.IntN(len(portPool))])
		in := NetworkingInput{
			Cluster: "prod", Budget: rng.IntN(3), NodePorts: nodePorts, Restricted: restrictB(traffic...), Sources: sources,
			AllowClientCIDROutsideNodePorts: rng.IntN(4) == 0,
			ClientCIDROwners:                []string{"Service team-a/web"},
			Needs:                           map[string]map[string][]sgrules.Need{"sg-node": {}},
			NeedsByOwner:                    map[string]map[string]map[string][]sgrules.Need{"sg-node": {tgbB: {}}},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service team-a/web": {cidr(30001, "192.0.2.0/24")}}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
		}
		var asked []sgrules.Rule
		for range 1 + rng.IntN(6) {
			n := sgrules.Need{Port: portPool[rng.IntN(len(portPool))], AllPorts: rng.IntN(5) == 0}
			if rng.IntN(2) == 0 {
				src := srcPool[rng.IntN(len(srcPool))]
				in.Needs["sg-node"][src] = append(in.Needs["sg-node"][src], n)
				in.NeedsByOwner["sg-node"][tgbB][src] = append(in.NeedsByOwner["sg-node"][tgbB][src], n)
				continue
			}
			r := cidr(n.Port, "0.0.0.0/0")
			if n.AllPorts {
				r = allPorts("0.0.0.0/0")
			}
			asked = append(asked, r)
		}
		in.CIDROwners["sg-node"][tgbB] = asked
		res := PlanNetworking(in)
		for _, c := range res.Plan.Changes {
			if c.Op != OpAuthorize {
				continue
			}
			for _, r := range c.Rules {
				if r.Key == cidr(30001, "192.0.2.0/24").Key {
					continue // the other owner's
				}
				landed++
				if r.FromPort != r.ToPort || !isTrafficPort(traffic, r.Key) {
					t.Fatalf("case %d: %s is not one traffic port of %v", i, r.Key, traffic)
				}
				switch r.PeerKind {
				case sgrules.PeerSG:
					if !allowedSrc[r.Peer] {
						t.Fatalf("case %d: %s is from a source the binding may not name", i, r.Key)
					}
				default:
					if !in.AllowClientCIDROutsideNodePorts && (r.FromPort < nodePortLo || r.ToPort > nodePortHi) {
						t.Fatalf("case %d: %s is a CIDR rule outside the NodePort range", i, r.Key)
					}
				}
			}
		}
		if !authorizes(res.Plan, cidr(30001, "192.0.2.0/24").Key) {
			t.Fatalf("case %d: the other owner's rule was not planned", i)
		}
	}
	if landed < 100 {
		t.Errorf("only %d of the binding's rules landed: the cases test little", landed)
	}
}

func isTrafficPort(traffic []sgrules.Need, k sgrules.Key) bool {
	for _, n := range traffic {
		if n.Protocol == sgrules.NormalizeProtocol(k.Protocol) && n.Port == k.FromPort {
			return true
		}
	}
	return false
}

func authorizes(p Plan, k sgrules.Key) bool {
	for _, c := range p.Changes {
		for _, r := range c.Rules {
			if c.Op == OpAuthorize && r.Key == k {
				return true
			}
		}
	}
	return false
}
