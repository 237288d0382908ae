package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// propStack is one stack of TestFailureIsolationProperty: its source (an SG, or HoldCIDR
// for an NLB without SGs), its CIDRs, ports and target SGs; an invalid stack cannot be
// computed and contributes only holds.
type propStack struct {
	name    string
	valid   bool
	source  string
	cidrs   []string
	ports   []int32
	sgs     []string
	anywhen bool // invalid, and where its targets are could not be read
}

// rules are the rules the stack asks for (valid) or could have asked for (invalid), one
// per port, unbudgeted.
func (s propStack) rules(sg string) []sgrules.Rule {
	var out []sgrules.Rule
	for _, p := range s.ports {
		if s.source == HoldCIDR {
			for _, c := range s.cidrs {
				out = append(out, cidr(p, c))
			}
			continue
		}
		out = append(out, fromSG(p, s.source))
	}
	return out
}

// TestFailureIsolationProperty: for random sets of valid and invalid stacks sharing target
// SGs (the backend SG, managed SGs and CIDR rules of NLBs without SGs, one to three target
// SGs, random rule budgets and stale rules), once the plan is applied every valid stack's
// ports are admitted from its source, every lbsg rule left is wanted by a valid stack or
// one an invalid stack could contribute (its ports from its sources on its SGs), no such
// rule is revoked, and no rule lbsg does not own is touched.
func TestFailureIsolationProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 15))
	backend := "sg-0backend"
	targetSGs := []string{"sg-t0", "sg-t1", "sg-t2"}
	portPool := []int32{8080, 8081, 9090, 30000, 30001, 30002, 30010, 31000, 32767}
	cidrPool := []string{"0.0.0.0/0", "192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"}
	pick := func(pool []int32, n int) []int32 {
		out := slices.Clone(pool)
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out[:n]
	}
	for iter := range 1500 {
		var stacks []propStack
		for i := range 1 + r.IntN(6) {
			s := propStack{name: fmt.Sprintf("Service ns%d/s%d", i%3, i), valid: r.IntN(10) >= 3}
			switch r.IntN(3) {
			case 0:
				s.source = backend
			case 1:
				s.source = fmt.Sprintf("sg-0managed%d", i)
			default:
				s.source = HoldCIDR
				for _, c := range cidrPool {
					if r.IntN(2) == 0 {
						s.cidrs = append(s.cidrs, c)
					}
				}
				if len(s.cidrs) == 0 {
					s.cidrs = cidrPool[:1]
				}
			}
			s.ports = pick(portPool, 1+r.IntN(3))
			for _, sg := range targetSGs {
				if r.IntN(2) == 0 {
					s.sgs = append(s.sgs, sg)
				}
			}
			if len(s.sgs) == 0 {
				s.sgs = targetSGs[:1]
			}
			s.anywhen = !s.valid && r.IntN(5) == 0
			stacks = append(stacks, s)
		}
		in := NetworkingInput{
			Cluster: "prod", Budget: r.IntN(4), RuleQuota: 1000,
			Needs: map[string]map[string][]sgrules.Need{}, CIDROwners: map[string]map[string][]sgrules.Rule{},
			OurSources: map[string]bool{backend: true}, Observed: map[string]state.SecurityGroup{},
		}
		if r.IntN(2) == 0 {
			in.NodePorts = sgrules.PortRange{From: 30000, To: 32767}
		}
		observed := map[string][]sgrules.Rule{}
		for _, s := range stacks {
			for _, sg := range s.sgs {
				if s.valid {
					if s.source == HoldCIDR {
						if in.CIDROwners[sg] == nil {
							in.CIDROwners[sg] = map[string][]sgrules.Rule{}
						}
						in.CIDROwners[sg][s.name] = s.rules(sg)
					} else {
						if in.Needs[sg] == nil {
							in.Needs[sg] = map[string][]sgrules.Need{}
						}
						for _, p := range s.ports {
							in.Needs[sg][s.source] = append(in.Needs[sg][s.source], sgrules.Need{Protocol: "tcp", Port: p})
						}
					}
				} else {
					hsg := sg
					if s.anywhen {
						hsg = ""
					}
					for _, p := range s.ports {
						in.Holds = append(in.Holds, Hold{Owner: s.name, SG: hsg, Source: s.source, Protocol: "tcp", Port: p})
					}
				}
				// What the SG holds from before: some of the stack's rules, and stale ones
				// on other ports and peers.
				for _, rl := range s.rules(sg) {
					if r.IntN(3) > 0 {
						observed[sg] = append(observed[sg], owned(rl))
					}
				}
				if r.IntN(2) == 0 {
					stale := propStack{source: s.source, cidrs: []string{cidrPool[r.IntN(len(cidrPool))]}, ports: pick(portPool, 1)}
					observed[sg] = append(observed[sg], owned(stale.rules(sg)[0]))
				}
			}
		}
		for _, sg := range targetSGs {
			if r.IntN(2) == 0 {
				observed[sg] = append(observed[sg], owned(sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 30000, ToPort: 32767, PeerKind: sgrules.PeerSG, Peer: backend}}))
			}
			observed[sg] = append(observed[sg], cidr(22, "10.0.0.0/8")) // not lbsg's
			in.Observed[sg] = sg2(sg, sgrules.Dedup(observed[sg]))
		}

		res := PlanNetworking(in)
		after := map[string][]sgrules.Rule{}
		for _, sg := range targetSGs {
			after[sg] = slices.Clone(in.Observed[sg].Ingress)
		}
		for _, c := range res.Plan.Changes {
			sg := c.Target.ID
			switch c.Op {
			case OpAuthorize:
				after[sg] = append(after[sg], c.Rules...)
			case OpRevoke:
				for _, rv := range c.Rules {
					if rv.Description != ours {
						t.Fatalf("iter %d: revoked a rule lbsg does not own on %s: %s", iter, sg, rv.Key)
					}
					for _, s := range stacks {
						for _, h := range in.Holds {
							if h.Owner == s.name && h.Matches(sg, rv.Key) {
								t.Fatalf("iter %d: revoked %s on %s, which invalid %s could contribute", iter, rv.Key, sg, s.name)
							}
						}
					}
					after[sg] = slices.DeleteFunc(after[sg], func(x sgrules.Rule) bool { return x.Key.Canonical() == rv.Key.Canonical() })
				}
			case OpDeleteSG:
				if len(in.Holds) > 0 {
					t.Fatalf("iter %d: deleted %s while stacks are held", iter, sg)
				}
			}
		}
		for _, s := range stacks {
			if !s.valid {
				continue
			}
			for _, sg := range s.sgs {
				for _, want := range s.rules(sg) {
					if !admitted(after[sg], want.Key) {
						t.Fatalf("iter %d: valid %s: %s not admitted on %s after the plan; rules %v", iter, s.name, want.Key, sg, keysOf(after[sg]))
					}
				}
			}
		}
		for _, sg := range targetSGs {
			wanted := map[sgrules.Key]bool{}
			for _, w := range sgrules.TargetRules(in.Needs[sg], in.Budget, in.NodePorts, ours) {
				wanted[w.Key.Canonical()] = true
			}
			for _, rs := range in.CIDROwners[sg] {
				for _, w := range rs {
					wanted[w.Key.Canonical()] = true
				}
			}
			for _, x := range after[sg] {
				if x.Description != ours || wanted[x.Key.Canonical()] {
					continue
				}
				held := slices.ContainsFunc(in.Holds, func(h Hold) bool { return h.Matches(sg, x.Key) })
				if !held {
					t.Fatalf("iter %d: stale %s left on %s: no valid stack wants it and no invalid one could contribute it", iter, x.Key, sg)
				}
			}
		}
	}
}

// admitted reports whether rules admit k's port from k's peer.
func admitted(rules []sgrules.Rule, k sgrules.Key) bool {
	return slices.ContainsFunc(rules, func(r sgrules.Rule) bool {
		return r.Protocol == k.Protocol && r.PeerKind == k.PeerKind && r.Peer == k.Peer && r.FromPort <= k.FromPort && k.ToPort <= r.ToPort
	})
}

func keysOf(rules []sgrules.Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Key.String())
	}
	return out
}

func sg2(id string, rules []sgrules.Rule) state.SecurityGroup { return sg(id, rules...) }
