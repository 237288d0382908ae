package explain

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Build classifies what in holds into the graph of who can reach what. It does not modify
// in.
func Build(in Input) Graph {
	b := &builder{in: in, g: Graph{Schema: Schema, Object: in.Object, Stack: in.Stack,
		Members: slices.Clone(in.Members), Problems: slices.Clone(in.Problems), Notes: slices.Clone(in.Notes),
		SecurityGroups: []SecurityGroup{}, Listeners: []Listener{}, TargetGroups: []TargetGroup{}, Paths: []Path{}},
		sgIndex: map[string]int{}, lbSGs: map[string]bool{}}
	b.loadBalancer()
	if !b.known() {
		b.g.Notes = append(b.g.Notes, "what the object asks for is unknown until its input is fixed: no rule is marked over-exposed")
	}
	b.asked()
	b.frontendSGs()
	b.targetGroups()
	b.targetSGs()
	b.listeners()
	b.paths()
	b.summary()
	return b.g
}

type builder struct {
	in      Input
	g       Graph
	sgIndex map[string]int // SG ID → index in g.SecurityGroups
	lbSGs   map[string]bool
	// askedClients and askedTargets are the canonical keys of what the object asks for.
	askedClients []sgrules.Key
	askedTargets []sgrules.Key
	// tgByARN maps a target group ARN to its index in g.TargetGroups.
	tgByARN map[string]int
}

func (b *builder) frontend() spec.Frontend {
	if b.in.Desired != nil {
		return b.in.Desired.LoadBalancer.Frontend
	}
	if b.in.LoadBalancer != nil && len(b.in.LoadBalancer.SecurityGroups) == 0 {
		return spec.FrontendNone
	}
	if b.in.ManagedSG != "" {
		return spec.FrontendManaged
	}
	return spec.FrontendCustom
}

// known reports whether the object's desired state, and so what it asks for, is known:
// without it (invalid input) nothing is marked over-exposed, and the rules of the managed
// SG are taken as lbsg's.
func (b *builder) known() bool { return b.in.Desired != nil }

func (b *builder) loadBalancer() {
	lb := b.in.LoadBalancer
	if lb == nil {
		b.g.Notes = append(b.g.Notes, "the load balancer does not exist: nothing can reach the targets through it")
		return
	}
	b.g.LoadBalancer = &LoadBalancer{Name: lb.Name, ARN: lb.ARN, DNSName: lb.DNSName, Type: lb.Type, Scheme: lb.Scheme,
		Frontend: string(b.frontend()), SecurityGroups: slices.Clone(lb.SecurityGroups)}
	for _, id := range lb.SecurityGroups {
		b.lbSGs[id] = true
	}
}

// asked computes the rules the object asks for on its frontend and on its targets.
func (b *builder) asked() {
	b.askedClients = keysOf(b.in.AskedClients)
	for _, r := range b.in.AskedClients {
		b.g.Asked.Clients = append(b.g.Asked.Clients, r.Key.Canonical().String())
	}
	targets := askedTargetRules(b.in, b.lbSGList())
	b.askedTargets = keysOf(targets)
	for _, r := range targets {
		b.g.Asked.Targets = append(b.g.Asked.Targets, r.Key.String())
	}
}

func (b *builder) lbSGList() []string {
	if b.in.LoadBalancer == nil {
		return nil
	}
	return b.in.LoadBalancer.SecurityGroups
}

// askedTargetRules are the rules the object's targets need: its needs from lbsg's source
// SG, the CIDR rules of an NLB without SGs, or (with user SGs whose target rules lbsg does
// not manage) the traffic and health-check ports from any of the load balancer's SGs.
func askedTargetRules(in Input, lbSGs []string) []sgrules.Rule {
	st := in.Desired
	if st == nil {
		return nil
	}
	var out []sgrules.Rule
	if st.LoadBalancer.Frontend == spec.FrontendNone {
		for _, ln := range st.Networking.Legacy {
			for _, peer := range ln.Peers {
				cidrs, symbolic := in.LegacyPeers[peer]
				if !symbolic {
					cidrs = []string{peer}
				}
				for _, c := range cidrs {
					kind := sgrules.PeerCIDR
					if strings.Contains(c, ":") {
						kind = sgrules.PeerCIDRv6
					}
					out = append(out, sgrules.Rule{Key: needKey(ln.Need, kind, c)})
				}
			}
		}
		return sgrules.Dedup(out)
	}
	needs := st.Networking.Needs
	var sources []string
	switch st.Networking.Source {
	case spec.SourceBackend:
		sources = []string{in.BackendSG}
	case spec.SourceFrontend:
		sources = []string{in.ManagedSG}
	default:
		sources = lbSGs
		needs = trafficNeeds(st.TargetGroups)
	}
	for _, src := range sources {
		if src == "" {
			continue
		}
		for _, n := range needs {
			out = append(out, sgrules.Rule{Key: needKey(n, sgrules.PeerSG, src)})
		}
	}
	return sgrules.Dedup(out)
}

func needKey(n sgrules.Need, kind sgrules.PeerKind, peer string) sgrules.Key {
	proto := sgrules.NormalizeProtocol(n.Protocol)
	if proto == "" {
		proto = sgrules.ProtoTCP
	}
	from, to := n.Port, n.Port
	if n.AllPorts {
		from, to = 0, sgrules.MaxPort
	}
	return sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: kind, Peer: peer}
}

// trafficNeeds are the traffic and health-check ports of the target groups, for a stack
// whose target rules lbsg does not manage (user SGs): what the user's rules must admit.
func trafficNeeds(tgs []spec.TargetGroup) []sgrules.Need {
	var out []sgrules.Need
	for _, tg := range tgs {
		if tg.TrafficPort == 0 {
			continue
		}
		for _, p := range protocols(tg.Protocol) {
			out = append(out, sgrules.Need{Protocol: p, Port: tg.TrafficPort})
		}
		if n, err := strconv.Atoi(tg.HealthCheck.Port); err == nil && int32(n) != tg.TrafficPort {
			out = append(out, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: int32(n)})
		}
	}
	return out
}

// protocols maps a listener or target-group protocol to the SG protocols it uses.
func protocols(p string) []string {
	switch strings.ToUpper(p) {
	case "UDP":
		return []string{sgrules.ProtoUDP}
	case "TCP_UDP":
		return []string{sgrules.ProtoTCP, sgrules.ProtoUDP}
	}
	return []string{sgrules.ProtoTCP}
}

func (b *builder) addSG(id, role string) *SecurityGroup {
	if i, ok := b.sgIndex[id]; ok {
		sg := &b.g.SecurityGroups[i]
		if !slices.Contains(sg.Roles, role) {
			sg.Roles = append(sg.Roles, role)
		}
		return sg
	}
	sg := SecurityGroup{ID: id, Roles: []string{role}, Rules: []Rule{}}
	if obs, ok := b.in.SecurityGroups[id]; ok {
		sg.Name = obs.Name
	} else {
		sg.Missing = true
	}
	b.sgIndex[id] = len(b.g.SecurityGroups)
	b.g.SecurityGroups = append(b.g.SecurityGroups, sg)
	return &b.g.SecurityGroups[len(b.g.SecurityGroups)-1]
}

// frontendSGs classifies the rules of the load balancer's SGs: they decide which clients
// reach it.
func (b *builder) frontendSGs() {
	var desiredManaged map[sgrules.Key]bool
	if b.in.Desired != nil && b.in.Desired.ManagedSG != nil {
		desiredManaged = map[sgrules.Key]bool{}
		for _, k := range keysOf(b.in.Desired.ManagedSG.Ingress) {
			desiredManaged[k] = true
		}
	}
	for _, id := range b.lbSGList() {
		role := RoleUser
		switch id {
		case b.in.ManagedSG:
			role = RoleManaged
		case b.in.BackendSG:
			role = RoleBackend
		}
		sg := b.addSG(id, role)
		for _, r := range sorted(b.in.SecurityGroups[id].Ingress) {
			k := r.Key.Canonical()
			rule := newRule(r, RelationClient)
			// lbsg writes rules only on its managed SG, and only the ones it wants there.
			rule.Foreign = role != RoleManaged || (b.known() && !desiredManaged[k])
			if !b.known() {
				sg.Rules = append(sg.Rules, rule)
				continue
			}
			if p := portsBeyond(k, b.askedClients); p != "" {
				rule.OverExposure = append(rule.OverExposure, "opens "+p+", beyond the listener ports asked for")
			}
			if s := sourceBeyond(k, b.askedClients); s != "" {
				rule.OverExposure = append(rule.OverExposure, s)
			}
			if role == RoleBackend {
				rule.OverExposure = append(rule.OverExposure, "the backend SG is shared by every load balancer of the cluster: a rule on it opens all of them")
			}
			sg.Rules = append(sg.Rules, rule)
		}
	}
}

func newRule(r sgrules.Rule, relation string) Rule {
	k := r.Key.Canonical()
	return Rule{Protocol: k.Protocol, FromPort: k.FromPort, ToPort: k.ToPort, PeerKind: string(k.PeerKind), Peer: k.Peer,
		Description: r.Description, Text: k.String(), Relation: relation}
}

func sorted(rules []sgrules.Rule) []sgrules.Rule {
	out := slices.Clone(rules)
	sgrules.Sort(out)
	return out
}

func (b *builder) targetGroups() {
	b.tgByARN = map[string]int{}
	tgs := slices.Clone(b.in.TargetGroups)
	sort.Slice(tgs, func(i, j int) bool { return tgs[i].Name < tgs[j].Name })
	for _, tg := range tgs {
		out := TargetGroup{Name: tg.Name, ARN: tg.ARN, Protocol: tg.Protocol, TargetType: tg.TargetType,
			HealthCheckPort: tg.HealthCheck.Port, Targets: []Target{}, OfObject: b.in.ObjectTargetGroups == nil}
		if st := b.in.Desired; st != nil {
			id := tg.Tags[st.ResourceTag]
			for _, want := range st.TargetGroups {
				if want.ResourceID == id && id != "" {
					out.Service = want.ServiceNamespace + "/" + want.ServiceName
				}
			}
			out.OfObject = out.OfObject || b.in.ObjectTargetGroups[id]
		}
		ts := slices.Clone(b.in.Targets[tg.ARN])
		sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID || ts[i].ID == ts[j].ID && ts[i].Port < ts[j].Port })
		for _, t := range ts {
			eni := b.in.TargetENIs[t.ID]
			out.Targets = append(out.Targets, Target{ID: t.ID, Port: t.Port, ENI: eni.ENI, SecurityGroup: eni.SecurityGroup, Error: eni.Error})
		}
		b.tgByARN[tg.ARN] = len(b.g.TargetGroups)
		b.g.TargetGroups = append(b.g.TargetGroups, out)
	}
}

// targetSGs classifies every rule of every target SG by its relation to the object.
func (b *builder) targetSGs() {
	behind := map[string][]string{}
	for _, tg := range b.g.TargetGroups {
		for _, t := range tg.Targets {
			if t.SecurityGroup != "" {
				behind[t.SecurityGroup] = append(behind[t.SecurityGroup], fmt.Sprintf("%s:%d", t.ID, t.Port))
			}
		}
	}
	ids := make([]string, 0, len(behind))
	for id := range behind {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	owned := sgrules.OwnedBy(b.in.Cluster, b.in.ClusterSGs)
	legacy := b.frontend() == spec.FrontendNone
	for _, id := range ids {
		sg := b.addSG(id, RoleTarget)
		sg.Targets = dedupSorted(behind[id])
		isManaged := slices.Contains(sg.Roles, RoleManaged)
		for _, r := range sorted(b.in.SecurityGroups[id].Ingress) {
			if slices.ContainsFunc(sg.Rules, func(x Rule) bool { return x.Text == r.Key.Canonical().String() }) {
				continue // already classified as a client rule of the same SG
			}
			rule := b.targetRule(id, r, legacy)
			rule.Foreign = !owned(r) && !isManaged
			sg.Rules = append(sg.Rules, rule)
		}
	}
}

func (b *builder) targetRule(sgID string, r sgrules.Rule, legacy bool) Rule {
	k := r.Key.Canonical()
	related := overlaps(k, b.askedTargets)
	relation := RelationOther
	switch {
	case k.PeerKind == sgrules.PeerSG && k.Peer == sgID && !b.lbSGs[sgID]:
		// The SG admitting its own members (nodes talking to nodes) is traffic inside
		// the cluster, not a way in for clients.
	case k.PeerKind == sgrules.PeerSG && b.lbSGs[k.Peer]:
		relation = RelationPath
	case legacy && k.PeerKind != sgrules.PeerSG && related:
		// An NLB without SGs hands clients to the targets: CIDR rules on its ports are
		// its path, and sourceBeyond tells those wider than asked.
		relation = RelationPath
	case related:
		relation = RelationBypass
	}
	rule := newRule(r, relation)
	if !b.known() {
		// Without the asked ports, only the rules from the load balancer's SGs are known
		// to be on its path; nothing else can be told apart.
		if relation != RelationPath {
			rule.Relation = RelationOther
		}
		return rule
	}
	switch relation {
	case RelationPath:
		if p := portsBeyond(k, b.askedTargets); p != "" {
			why := "opens " + p + ", beyond this object's traffic and health-check ports"
			if k.Peer == b.in.BackendSG {
				why += " (the backend SG is shared: another load balancer of the cluster may need them)"
			}
			rule.OverExposure = append(rule.OverExposure, why)
		}
		if s := sourceBeyond(k, b.askedTargets); s != "" {
			rule.OverExposure = append(rule.OverExposure, s)
		}
	case RelationBypass:
		rule.OverExposure = append(rule.OverExposure, fmt.Sprintf("admits this object's target ports from %s directly, not through the load balancer", k.Peer))
	}
	return rule
}

func dedupSorted(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

func (b *builder) listeners() {
	ls := slices.Clone(b.in.Listeners)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Port < ls[j].Port })
	for _, l := range ls {
		out := Listener{Protocol: l.Protocol, Port: l.Port, TargetGroups: []string{}, Other: l.Unmodelled}
		for _, arn := range listenerTGs(l) {
			if i, ok := b.tgByARN[arn]; ok {
				out.TargetGroups = append(out.TargetGroups, b.g.TargetGroups[i].Name)
			} else {
				out.TargetGroups = append(out.TargetGroups, arn)
			}
		}
		if out.Other == "" && l.FixedResponseStatus != "" {
			out.Other = "fixed-response " + l.FixedResponseStatus
		}
		b.g.Listeners = append(b.g.Listeners, out)
	}
}

// listenerTGs are the target groups a listener forwards to: its default action, then its
// rules', each once.
func listenerTGs(l state.Listener) []string {
	var out []string
	add := func(arn string) {
		if arn != "" && !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	add(l.TargetGroupARN)
	forwards := func(a *state.RuleAction) {
		if a != nil {
			for _, f := range a.Forward {
				add(f.TargetGroupARN)
			}
		}
	}
	forwards(l.DefaultAction)
	for _, r := range l.Rules {
		add(r.TargetGroupARN)
		forwards(r.Action) // a weighted forward (actions.* annotations)
	}
	return out
}
