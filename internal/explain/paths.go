package explain

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

// paths marks which targets the load balancer reaches and lists the ways from clients to
// targets: through a listener, then the bypasses.
func (b *builder) paths() {
	for i := range b.g.TargetGroups {
		tg := &b.g.TargetGroups[i]
		for j := range tg.Targets {
			t := &tg.Targets[j]
			t.Reachable = b.pathRule(t.SecurityGroup, tg.Protocol, t.Port) != nil
			hc := t.Port
			if n, err := strconv.Atoi(tg.HealthCheckPort); err == nil {
				hc = int32(n)
			}
			t.HealthCheckReachable = b.pathRule(t.SecurityGroup, "TCP", hc) != nil
		}
	}
	legacy := b.frontend() == spec.FrontendNone
	for _, l := range b.g.Listeners {
		name := fmt.Sprintf("%s:%d", l.Protocol, l.Port)
		for _, tgName := range l.TargetGroups {
			tg := b.targetGroup(tgName)
			if tg == nil {
				continue
			}
			if legacy {
				b.legacyPaths(name, tg)
				continue
			}
			for _, sgID := range b.lbSGList() {
				sg := b.sg(sgID)
				for _, r := range sg.Rules {
					if r.Relation != RelationClient || !listenerAdmitted(r, l) {
						continue
					}
					for _, group := range groupTargets(tg) {
						p := Path{Client: r.Peer, ClientKind: r.PeerKind, FrontendSG: sgID, ClientRule: r.Text,
							Listener: name, TargetGroup: tg.Name, TargetSG: group.sg, Targets: group.targets,
							Foreign: r.Foreign, OverExposed: len(r.OverExposure) > 0}
						b.finish(&p, b.pathRule(group.sg, tg.Protocol, group.port))
						b.g.Paths = append(b.g.Paths, p)
					}
				}
			}
		}
	}
	b.bypasses()
}

func (b *builder) finish(p *Path, tr *Rule) {
	if tr == nil {
		p.Blocked = true
		return
	}
	p.TargetRule = tr.Text
	p.Foreign = p.Foreign || tr.Foreign
	p.OverExposed = p.OverExposed || len(tr.OverExposure) > 0
}

// legacyPaths: an NLB without SGs passes clients on to the targets, whose SG decides alone.
func (b *builder) legacyPaths(listener string, tg *TargetGroup) {
	for _, group := range groupTargets(tg) {
		sg := b.sg(group.sg)
		found := false
		if sg != nil {
			for i := range sg.Rules {
				r := &sg.Rules[i]
				if r.Relation != RelationPath || !ruleAdmits(*r, tg.Protocol, group.port) {
					continue
				}
				found = true
				p := Path{Client: r.Peer, ClientKind: r.PeerKind, Listener: listener, TargetGroup: tg.Name,
					TargetSG: group.sg, Targets: group.targets}
				b.finish(&p, r)
				b.g.Paths = append(b.g.Paths, p)
			}
		}
		if !found {
			p := Path{Listener: listener, TargetGroup: tg.Name, TargetSG: group.sg, Targets: group.targets}
			b.finish(&p, nil)
			b.g.Paths = append(b.g.Paths, p)
		}
	}
}

// bypasses are the rules that admit the object's target ports from elsewhere.
func (b *builder) bypasses() {
	for _, sg := range b.g.SecurityGroups {
		if !slices.Contains(sg.Roles, RoleTarget) {
			continue
		}
		for _, r := range sg.Rules {
			if r.Relation != RelationBypass {
				continue
			}
			var ts []string
			for _, tg := range b.g.TargetGroups {
				for _, t := range tg.Targets {
					if t.SecurityGroup == sg.ID && ruleAdmits(r, tg.Protocol, t.Port) {
						ts = append(ts, fmt.Sprintf("%s:%d", t.ID, t.Port))
					}
				}
			}
			if len(ts) == 0 {
				continue // it admits a health-check port only
			}
			b.g.Paths = append(b.g.Paths, Path{Client: r.Peer, ClientKind: r.PeerKind, TargetSG: sg.ID, TargetRule: r.Text,
				Targets: dedupSorted(ts), Bypass: true, Foreign: r.Foreign, OverExposed: true})
		}
	}
}

type targetGroupBySG struct {
	sg      string
	port    int32
	targets []string
}

// groupTargets groups a target group's targets by SG and port, in order.
func groupTargets(tg *TargetGroup) []targetGroupBySG {
	var out []targetGroupBySG
	for _, t := range tg.Targets {
		i := slices.IndexFunc(out, func(g targetGroupBySG) bool { return g.sg == t.SecurityGroup && g.port == t.Port })
		if i < 0 {
			out = append(out, targetGroupBySG{sg: t.SecurityGroup, port: t.Port})
			i = len(out) - 1
		}
		out[i].targets = append(out[i].targets, fmt.Sprintf("%s:%d", t.ID, t.Port))
	}
	return out
}

// pathRule returns the rule of the target SG that admits the load balancer's traffic on
// port, preferring one that opens nothing more; nil when none does.
func (b *builder) pathRule(sgID, tgProtocol string, port int32) *Rule {
	sg := b.sg(sgID)
	if sg == nil {
		return nil
	}
	var found *Rule
	for i := range sg.Rules {
		r := &sg.Rules[i]
		if r.Relation != RelationPath || !ruleAdmits(*r, tgProtocol, port) {
			continue
		}
		if found == nil || len(found.OverExposure) > 0 && len(r.OverExposure) == 0 {
			found = r
		}
	}
	return found
}

func ruleAdmits(r Rule, tgProtocol string, port int32) bool {
	k := sgrules.Key{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort}
	for _, p := range protocols(tgProtocol) {
		if admits(k, p, port) {
			return true
		}
	}
	return false
}

// listenerAdmitted reports whether a client rule admits the listener's port.
func listenerAdmitted(r Rule, l Listener) bool {
	return ruleAdmits(r, l.Protocol, l.Port)
}

func (b *builder) sg(id string) *SecurityGroup {
	i, ok := b.sgIndex[id]
	if !ok {
		return nil
	}
	return &b.g.SecurityGroups[i]
}

func (b *builder) targetGroup(name string) *TargetGroup {
	for i := range b.g.TargetGroups {
		if b.g.TargetGroups[i].Name == name {
			return &b.g.TargetGroups[i]
		}
	}
	return nil
}

func (b *builder) summary() {
	for _, sg := range b.g.SecurityGroups {
		for _, r := range sg.Rules {
			b.g.Summary.Rules++
			if r.Foreign {
				b.g.Summary.Foreign++
			}
			if len(r.OverExposure) > 0 {
				b.g.Summary.OverExposed++
			}
		}
	}
	for _, tg := range b.g.TargetGroups {
		for _, t := range tg.Targets {
			if !t.Reachable {
				b.g.Summary.Unreachable++
			}
		}
	}
}
