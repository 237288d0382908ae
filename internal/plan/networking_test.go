package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

const ours = "elbv2.k8s.aws/cluster=prod"

func cidr(port int32, peer string) sgrules.Rule {
	kind := sgrules.PeerCIDR
	if strings.Contains(peer, ":") {
		kind = sgrules.PeerCIDRv6
	}
	return sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: port, ToPort: port, PeerKind: kind, Peer: peer}}
}

func fromSG(port int32, peer string) sgrules.Rule {
	return sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: port, ToPort: port, PeerKind: sgrules.PeerSG, Peer: peer}}
}

func owned(r sgrules.Rule) sgrules.Rule { r.Description = ours; return r }

// ranges returns n CIDR rules on port, one per /24 of 10.<first>.x.0.
func ranges(n int, port int32, first int) []sgrules.Rule {
	var out []sgrules.Rule
	for i := range n {
		out = append(out, cidr(port, fmt.Sprintf("10.%d.%d.0/24", first+i/256, i%256)))
	}
	return out
}

func ownedAll(rules []sgrules.Rule) []sgrules.Rule {
	out := make([]sgrules.Rule, len(rules))
	for i, r := range rules {
		out[i] = owned(r)
	}
	return out
}

// summary prints a plan as "op sg rule" lines.
func summary(p Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if len(c.Rules) == 0 {
			out = append(out, fmt.Sprintf("%s %s", c.Op, c.Target.ID))
		}
		for _, r := range c.Rules {
			out = append(out, fmt.Sprintf("%s %s %s", c.Op, c.Target.ID, r.Key.String()))
		}
	}
	return out
}

func sg(id string, rules ...sgrules.Rule) state.SecurityGroup {
	return state.SecurityGroup{ID: id, Name: id, Ingress: rules}
}

// networkingCase is one case of TestNetworkingIsolation. TestNetworkingSecondRound
// (golden_apply_test.go) applies the plan of each with the apply package's executor.
type networkingCase struct {
	name      string
	in        NetworkingInput
	want      []string
	overQuota []OverQuota
	held      map[string][]string
	refused   []Refused
}

func networkingCases() []networkingCase {
	backend := "sg-0backend"
	return append([]networkingCase{{
		name: "an owner over the rule quota does not block another owner's rules or a stale revoke on the same SG",
		in: NetworkingInput{
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service a/big":   ranges(61, 30001, 0),
				"Service b/small": {cidr(30002, "192.0.2.0/24")},
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", owned(cidr(30999, "198.51.100.0/24")))},
		},
		want: []string{
			"authorize sg-node tcp 30002 from 192.0.2.0/24",
			"revoke sg-node tcp 30999 from 198.51.100.0/24",
		},
		overQuota: []OverQuota{{SG: "sg-node", Count: 62, Limit: 60, Family: "IPv4", Owners: []string{"Service a/big"}}},
	}, {
		name: "an owner over the rule quota keeps the rules it already has",
		in: NetworkingInput{
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {"Service a/big": ranges(61, 30001, 0)}},
			Observed:   map[string]state.SecurityGroup{"sg-node": sg("sg-node", ownedAll(ranges(10, 30001, 0))...)},
		},
		overQuota: []OverQuota{{SG: "sg-node", Count: 61, Limit: 60, Family: "IPv4", Owners: []string{"Service a/big"}}},
	}, {
		name: "rules outside lbsg count against the quota",
		in: NetworkingInput{
			RuleQuota:  3,
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {"Service a/web": {cidr(30001, "192.0.2.0/24"), cidr(30001, "198.51.100.0/24")}}},
			Observed:   map[string]state.SecurityGroup{"sg-node": sg("sg-node", cidr(22, "10.0.0.0/8"), cidr(443, "10.0.0.0/8"))},
		},
		overQuota: []OverQuota{{SG: "sg-node", Count: 4, Limit: 3, Family: "IPv4", Owners: []string{"Service a/web"}}},
	}, {
		name: "IPv4 and IPv6 rules are budgeted apart",
		in: NetworkingInput{
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service a/v4": ranges(60, 30001, 0),
				"Service a/v6": {cidr(30001, "2001:db8::/32")},
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", ownedAll(ranges(60, 30001, 0))...)},
		},
		want: []string{"authorize sg-node tcp 30001 from 2001:db8::/32"},
	}, {
		name: "SG-sourced rules that do not fit add nothing on that SG, name every owner, and leave other SGs alone",
		in: NetworkingInput{
			RuleQuota:  2,
			Needs:      map[string]map[string][]sgrules.Need{"sg-full": {backend: {{Port: 30001}, {Port: 30010}, {Port: 30020}}}, "sg-other": {backend: {{Port: 30001}}}},
			NeedOwners: map[string][]string{"sg-full": {"Service a/one", "Service b/two"}},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-full": {"Service c/three": {cidr(30004, "192.0.2.0/24")}}},
			Observed: map[string]state.SecurityGroup{
				"sg-full":  sg("sg-full", owned(cidr(31000, "198.51.100.0/24"))),
				"sg-other": sg("sg-other", owned(fromSG(31000, backend))),
			},
		},
		want: []string{
			"authorize sg-other tcp 30001 from sg-0backend",
			"revoke sg-full tcp 31000 from 198.51.100.0/24",
			"revoke sg-other tcp 31000 from sg-0backend",
		},
		overQuota: []OverQuota{{SG: "sg-full", Count: 4, Limit: 2, Family: "IPv4", Owners: []string{"Service a/one", "Service b/two", "Service c/three"}, SGSourced: true}},
	}, {
		name: "a stack that cannot be computed holds only its ports from its sources on the SGs of its targets",
		in: NetworkingInput{
			Holds: []Hold{
				{Owner: "Service a/bad", SG: "sg-a", Source: backend, Protocol: "tcp", Port: 31000},
				{Owner: "Service a/bad", SG: "sg-a", Source: HoldCIDR, Protocol: "tcp", Port: 31001},
			},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(fromSG(31000, backend)), owned(cidr(31001, "192.0.2.0/24")),
					owned(fromSG(31002, backend)), owned(cidr(31003, "0.0.0.0/0"))),
				"sg-b": sg("sg-b", owned(fromSG(31000, backend))),
			},
			DeleteSGs: []state.SecurityGroup{{ID: backend, Name: "backend"}},
		},
		want: []string{
			"revoke sg-a tcp 31002 from sg-0backend",
			"revoke sg-a tcp 31003 from 0.0.0.0/0",
			"revoke sg-b tcp 31000 from sg-0backend",
		},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "another tenant's narrowed and deleted CIDR rules on a shared SG are revoked while a failing stack holds its own",
		in: NetworkingInput{
			Holds: []Hold{{Owner: "Service a/bad", SG: "sg-node", Source: backend, Protocol: "tcp", Port: 30001}},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service b/narrowed": {cidr(30002, "192.0.2.0/24")},
			}},
			Observed: map[string]state.SecurityGroup{
				"sg-node": sg("sg-node", owned(fromSG(30001, backend)), owned(cidr(30002, "0.0.0.0/0")),
					owned(cidr(30003, "0.0.0.0/0"))),
			},
		},
		want: []string{
			"authorize sg-node tcp 30002 from 192.0.2.0/24",
			"revoke sg-node tcp 30002 from 0.0.0.0/0",
			"revoke sg-node tcp 30003 from 0.0.0.0/0",
		},
		held: map[string][]string{"sg-node": {"Service a/bad"}},
	}, {
		name: "a hold on one protocol keeps the other",
		in: NetworkingInput{
			Holds: []Hold{{Owner: "Service a/bad", SG: "sg-a", Source: backend, Protocol: "udp", Port: 31000}},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(fromSG(31000, backend)),
					owned(sgrules.Rule{Key: sgrules.Key{Protocol: "udp", FromPort: 30000, ToPort: 32767, PeerKind: sgrules.PeerSG, Peer: backend}})),
			},
		},
		want: []string{"revoke sg-a tcp 31000 from sg-0backend"},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "a failing stack's own source is held everywhere, other sources are revoked",
		in: NetworkingInput{
			Holds: []Hold{{Owner: "Service a/bad", Source: "sg-managed1"}},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(fromSG(80, "sg-managed1")), owned(fromSG(80, "sg-managed2"))),
			},
		},
		want: []string{"revoke sg-a tcp 80 from sg-managed2"},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "a failing stack whose ports cannot be read holds backend and CIDR rules, not other sources",
		in: NetworkingInput{
			Holds: []Hold{{Owner: "Service a/bad", Source: backend}, {Owner: "Service a/bad", Source: HoldCIDR}},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(fromSG(80, backend)), owned(cidr(81, "192.0.2.0/24")), owned(fromSG(82, "sg-managed2"))),
			},
		},
		want: []string{"revoke sg-a tcp 82 from sg-managed2"},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "on a held SG a new port inside a kept range is not added",
		in: NetworkingInput{
			Budget: 1,
			Needs:  map[string]map[string][]sgrules.Need{"sg-a": {backend: {{Port: 30080}}}},
			Holds:  []Hold{{Owner: "Service a/bad", SG: "sg-a", Source: backend, Protocol: "tcp", Port: 30500}},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 30000, ToPort: 32767, PeerKind: sgrules.PeerSG, Peer: backend}})),
			},
		},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "a grant covered only by a rule revoked in the same pass is still added",
		in: NetworkingInput{
			Holds:      []Hold{{Owner: "Service a/bad", Source: "sg-managed1"}},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-a": {"Service b/ok": {cidr(30080, "10.0.0.0/16")}}},
			Observed: map[string]state.SecurityGroup{
				"sg-a": sg("sg-a", owned(fromSG(80, "sg-managed1")),
					owned(sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 30000, ToPort: 32767, PeerKind: sgrules.PeerCIDR, Peer: "10.0.0.0/16"}})),
			},
		},
		want: []string{"authorize sg-a tcp 30080 from 10.0.0.0/16", "revoke sg-a tcp 30000-32767 from 10.0.0.0/16"},
		held: map[string][]string{"sg-a": {"Service a/bad"}},
	}, {
		name: "the backend SG is not deleted while a hold is in place, even with nothing held",
		in: NetworkingInput{
			Holds:     []Hold{{Owner: "Service a/bad", SG: "sg-elsewhere", Source: backend, Port: 30001}},
			Observed:  map[string]state.SecurityGroup{"sg-a": sg("sg-a", owned(fromSG(80, backend)))},
			DeleteSGs: []state.SecurityGroup{{ID: backend, Name: "backend"}},
		},
		want: []string{"revoke sg-a tcp 80 from sg-0backend"},
	}, {
		name: "the backend SG is deleted only when nothing is held",
		in: NetworkingInput{
			Observed:  map[string]state.SecurityGroup{"sg-a": sg("sg-a", owned(fromSG(80, backend)))},
			DeleteSGs: []state.SecurityGroup{{ID: backend, Name: "backend"}},
		},
		want: []string{"revoke sg-a tcp 80 from sg-0backend", "delete-sg sg-0backend"},
	}, {
		name: "client CIDR rules of an NLB without SGs outside the NodePort range are refused, and lbsg's old ones revoked",
		in: NetworkingInput{
			NodePorts:        sgrules.PortRange{From: 30000, To: 32767},
			ClientCIDROwners: []string{"Service a/ssh"},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service a/ssh":            {cidr(22, "0.0.0.0/0"), cidr(10250, "0.0.0.0/0"), cidr(30022, "0.0.0.0/0")},
				"TargetGroupBinding a/tgb": {cidr(8080, "10.0.0.0/16")},
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", owned(cidr(22, "0.0.0.0/0")))},
		},
		want: []string{
			"authorize sg-node tcp 8080 from 10.0.0.0/16",
			"authorize sg-node tcp 30022 from 0.0.0.0/0",
			"revoke sg-node tcp 22 from 0.0.0.0/0",
		},
		refused: []Refused{
			{SG: "sg-node", Owner: "Service a/ssh", Rule: cidr(10250, "0.0.0.0/0").Key, Why: RefusedOutsideNodePorts},
			{SG: "sg-node", Owner: "Service a/ssh", Rule: cidr(22, "0.0.0.0/0").Key, Why: RefusedOutsideNodePorts},
		},
	}, {
		name: "the platform may allow client CIDR rules outside the NodePort range",
		in: NetworkingInput{
			NodePorts:                       sgrules.PortRange{From: 30000, To: 32767},
			AllowClientCIDROutsideNodePorts: true,
			ClientCIDROwners:                []string{"Service a/ssh"},
			CIDROwners:                      map[string]map[string][]sgrules.Rule{"sg-node": {"Service a/ssh": {cidr(8080, "10.0.0.0/16")}}},
			Observed:                        map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
		},
		want: []string{"authorize sg-node tcp 8080 from 10.0.0.0/16"},
	}, {
		name: "an ip target port and the NodePorts get separate rules at budget 1",
		in: NetworkingInput{
			Budget:    1,
			NodePorts: sgrules.PortRange{From: 30000, To: 32767},
			Needs:     map[string]map[string][]sgrules.Need{"sg-node": {backend: {{Port: 8080}, {Port: 30080}, {Port: 31000}}}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node",
				owned(sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 8080, ToPort: 31000, PeerKind: sgrules.PeerSG, Peer: backend}}))},
		},
		want: []string{
			"authorize sg-node tcp 8080 from sg-0backend",
			"authorize sg-node tcp 30080-31000 from sg-0backend",
			"revoke sg-node tcp 8080-31000 from sg-0backend",
		},
	}, {
		name: "a namespace over its share of the SG gets none of its new rules, keeps its old ones, and others go ahead",
		in: NetworkingInput{
			NamespaceShare:  3,
			OwnerNamespaces: map[string]string{"Service a/many": "a", "Service a/one": "a", "Service b/late": "b"},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service a/many": ranges(3, 30001, 0),
				"Service a/one":  {cidr(30002, "192.0.2.0/24")},
				"Service b/late": ranges(3, 30003, 50),
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node", owned(cidr(30001, "10.0.0.0/24")))},
		},
		want: []string{
			"authorize sg-node tcp 30003 from 10.50.0.0/24",
			"authorize sg-node tcp 30003 from 10.50.1.0/24",
			"authorize sg-node tcp 30003 from 10.50.2.0/24",
		},
		overQuota: []OverQuota{{SG: "sg-node", Count: 4, Limit: 3, Family: "IPv4", Owners: []string{"Service a/many", "Service a/one"}, Namespace: "a"}},
	}, {
		name: "a namespace within its share is planned as usual, the quota still applies",
		in: NetworkingInput{
			RuleQuota:       4,
			NamespaceShare:  3,
			OwnerNamespaces: map[string]string{"Service a/one": "a", "Service b/two": "b"},
			CIDROwners: map[string]map[string][]sgrules.Rule{"sg-node": {
				"Service a/one": ranges(3, 30001, 0),
				"Service b/two": ranges(2, 30002, 50),
			}},
			Observed: map[string]state.SecurityGroup{"sg-node": sg("sg-node")},
		},
		want: []string{
			"authorize sg-node tcp 30001 from 10.0.0.0/24",
			"authorize sg-node tcp 30001 from 10.0.1.0/24",
			"authorize sg-node tcp 30001 from 10.0.2.0/24",
		},
		overQuota: []OverQuota{{SG: "sg-node", Count: 5, Limit: 4, Family: "IPv4", Owners: []string{"Service b/two"}}},
	}}, restrictedCases(backend)...)
}

func TestNetworkingIsolation(t *testing.T) {
	for _, tt := range networkingCases() {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Cluster = "prod"
			res := PlanNetworking(tt.in)
			checkPhases(t, res.Plan)
			if diff := cmp.Diff(tt.want, summary(res.Plan)); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.overQuota, res.OverQuota); diff != "" {
				t.Errorf("over quota mismatch (-want +got):\n%s", diff)
			}
			if tt.held == nil {
				tt.held = map[string][]string{}
			}
			if diff := cmp.Diff(tt.held, res.Held); diff != "" {
				t.Errorf("held mismatch (-want +got):\n%s", diff)
			}
			// The denials' text is TestRestrictedSourceDenialsNameTheSourceItsOwnerAndTheFix's.
			if diff := cmp.Diff(tt.refused, res.Refused, cmpopts.IgnoreFields(Refused{}, "Denial")); diff != "" {
				t.Errorf("refused mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBySGAppliesEachTargetSGOnItsOwnAndDeletesLast(t *testing.T) {
	p := Plan{Changes: []Change{
		{Op: OpAuthorize, Target: Ref{Kind: KindSG, ID: "sg-b"}},
		{Op: OpAuthorize, Target: Ref{Kind: KindSG, ID: "sg-a"}},
		{Op: OpRevoke, Target: Ref{Kind: KindSG, ID: "sg-c"}},
		{Op: OpRevoke, Target: Ref{Kind: KindSG, ID: "sg-a"}},
		{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: "sg-backend"}},
	}}
	perSG, last := BySG(p)
	var got []string
	for _, g := range perSG {
		got = append(got, strings.Join(summary(g), ", "))
	}
	want := []string{"authorize sg-a, revoke sg-a", "authorize sg-b", "revoke sg-c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per-SG plans mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"delete-sg sg-backend"}, summary(last)); diff != "" {
		t.Errorf("last plan mismatch (-want +got):\n%s", diff)
	}
}
