package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// NetworkingSnapshot is what the target-SG pass keeps of AWS between passes, so that a
// pass costs the same few batched reads whatever the number of stacks:
//
//   - discovery: the SGs tagged for the cluster (the backend SG, every managed SG), the
//     node SGs tagged for the cluster, and the SGs with a rule whose source is one of the
//     cluster's SGs (stale rules, also after a restart). These are searches; they run at
//     start, every --sync-period, and when the set of stacks or of their load balancers'
//     SGs changes.
//   - how target IDs (instances, pod IPs) map to ENIs, and LB subnets to CIDRs: looked up
//     once per new ID, forgotten every --sync-period.
//   - what the last pass wanted, so that a pass whose inputs did not change reads nothing
//     (the drift check re-reads every SG anyway).
//
// The rules of the SGs, which the plan revokes from, are never taken from it: each pass
// that plans reads them fresh, in one batched DescribeSecurityGroups.
type NetworkingSnapshot struct {
	mu sync.Mutex

	discovered  time.Time
	stacksKey   string
	owned       []cloud.SecurityGroup
	tagged      []string
	referencing []string
	// planned are the target SGs passes wanted rules on: they stay in the universe after
	// no stack needs them, so that what lbsg added there is revoked even before the
	// next discovery finds it.
	planned map[string]bool

	instENI     map[string]cloud.ENI
	ipENI       map[string]cloud.ENI
	subnetCIDRs map[string]string
	vpcCIDRs    []string
	memoSince   time.Time
	// missed are the instance IDs and pod IPs AWS did not know at the time given: the
	// passes that follow (a failing pass is retried soon) do not ask again before
	// missRetry.
	missed map[string]time.Time
	// branchENI are the ENIs pod-eni annotations name, by ID (the zero ENI: not found),
	// read at branchSince (they are forgotten with the other resolved IDs).
	branchENI   map[string]cloud.ENI
	branchSince time.Time

	// settled is the fingerprint of the inputs of the last pass that left every target SG
	// as wanted (zero when it did not).
	settled [32]byte
	// lbSGs are the SGs of each stack's load balancer, by ARN, at the last drift check.
	lbSGs map[spec.Owner]string
	// lastFor are the owners of each rule the last pass wanted, by target SG: only to
	// name, on a revoke's audit line, whose rules stopped being needed.
	lastFor map[string]map[sgrules.Key][]string
}

// settle records the fingerprint of a pass's inputs when it left every target SG as
// wanted, and forgets it otherwise.
func (snap *NetworkingSnapshot) settle(fp [32]byte, ok bool) {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	if ok {
		snap.settled = fp
	} else {
		snap.settled = [32]byte{}
	}
}

// passOptions say how much of the snapshot a pass may trust.
type passOptions struct {
	// Drift: read the load balancers fresh and plan even when nothing seems changed.
	Drift bool
	// Resync is how long discovery and resolved IDs are trusted (--sync-period); 0
	// trusts nothing (lbsg plan).
	Resync time.Duration
	Now    time.Time
}

// netStack is one stack as the target-SG pass sees it: its identity, its desired stack
// (pure, from spec) and its load balancer (from the inventory).
type netStack struct {
	owner spec.Owner
	id    *plan.Identity
	stack *spec.Stack
	lb    *state.LoadBalancer
	// err is why its contribution cannot be computed (the stack is then failing).
	err error
	// observed is false when not even its load balancer could be recognised.
	unobserved bool
}

// netStacks builds every stack lbsg serves from Kubernetes and the load balancer
// inventory, without any AWS call. backendNeeded reports that some load balancer may
// still use the backend SG although no stack contributes from it.
func (e *Engine) netStacks(objs ClusterObjects, lbs []state.LoadBalancer) (stacks []*netStack, backendNeeded bool) {
	for i := range objs.Services {
		svc := &objs.Services[i]
		ours := spec.OwnsService(svc, e.Settings) && svc.DeletionTimestamp == nil
		if !ours {
			if p := serviceReleaseProblem(svc); p != nil && hasFinalizer(svc, naming.ServiceFinalizer) {
				// lbsg cannot tell whether it is still its own: it fails like a stack with
				// bad input, so the rules its load balancer relies on are kept.
				ns := e.recognise(spec.ServiceOwner(svc), e.serviceIdentity(svc), lbs)
				if ns.err == nil && ns.lb != nil {
					ns.err = fmt.Errorf("invalid configuration: %s", p.Error())
				}
				stacks = append(stacks, ns)
				backendNeeded = true
				continue
			}
			if hasFinalizer(svc, naming.ServiceFinalizer) {
				// Being deleted or switched away: its LB may still use the backend SG
				// until the Service reconciler removed it.
				backendNeeded = true
			}
			continue
		}
		ns := e.recognise(spec.ServiceOwner(svc), e.serviceIdentity(svc), lbs)
		if ns.err == nil {
			facts := spec.ServiceFacts{EndpointPorts: endpointPorts(svc, objs.Slices)}
			if ns.lb != nil {
				facts.LBExists, facts.LBHasSGs, facts.LBScheme = true, len(ns.lb.SecurityGroups) > 0, ns.lb.Scheme
			}
			st, problems := spec.BuildService(svc, e.Settings, facts)
			ns.setStack(st, problems)
		}
		stacks = append(stacks, ns)
	}
	groups := IngressGroups(objs, e.GroupRules())
	ids := make([]spec.IngressGroupID, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		g := groups[id]
		if len(g.Leaving) > 0 {
			// Until the group's reconciler removed what they used, keep the backend SG.
			backendNeeded = true
		}
		refused := refusedProblems(g)
		if len(g.Members) == 0 && len(g.Unresolved) == 0 && len(refused) == 0 {
			continue
		}
		ns := e.recognise(id.Owner(), e.ingressIdentity(id), lbs)
		if ns.err == nil {
			switch {
			case len(g.Unresolved) > 0:
				// Without the class, lbsg does not know what the group should be.
				problems := make([]*spec.Problem, len(g.Unresolved))
				for i, u := range g.Unresolved {
					problems[i] = u.Problem
				}
				ns.setStack(nil, problems)
			case len(g.Members) == 0:
				// Its Ingresses are refused by their class: the group may be held as it is.
				ns.setStack(nil, refused)
			default:
				// The members the group's reconciler serves; with none left, the group's
				// rules are held while its load balancer is.
				b := spec.BuildIngressGroupMembers(id, g.Members, e.Settings, ingressFactsOf(g, objs, ns.lb))
				for _, x := range b.Excluded {
					b.Problems = append(b.Problems, x.Problems...)
				}
				if b.Stack != nil {
					b.Problems = nil
				}
				ns.setStack(b.Stack, b.Problems)
			}
		}
		stacks = append(stacks, ns)
	}
	// The informer cache lists objects in no fixed order; the pass's fingerprints must not
	// depend on it.
	slices.SortStableFunc(stacks, func(a, b *netStack) int { return compareStrings(a.owner.String(), b.owner.String()) })
	return stacks, backendNeeded
}

// refusedProblems are the problems of the Ingresses a group's classes refuse, which may
// hold the group (spec.GroupHolders); the reference policy's denials never do.
func refusedProblems(g *IngressGroup) []*spec.Problem {
	var out []*spec.Problem
	for _, x := range g.Excluded {
		if !x.Denied {
			out = append(out, x.Problem)
		}
	}
	return out
}

// recognise finds a stack's load balancer in the inventory.
func (e *Engine) recognise(owner spec.Owner, id plan.Identity, lbs []state.LoadBalancer) *netStack {
	ns := &netStack{owner: owner, id: &id}
	found, err := plan.RecogniseLoadBalancers(id, lbs)
	if err != nil {
		ns.err, ns.unobserved = err, true
		return ns
	}
	if len(found) > 0 {
		ns.lb = &found[0]
	}
	return ns
}

// setStack records the built stack, or its problems: bad input fails the stack only when
// its load balancer exists (nothing else needs rules, and its bad input must not keep
// every other stack's stale rules from being revoked).
func (ns *netStack) setStack(st *spec.Stack, problems []*spec.Problem) {
	if len(problems) > 0 {
		if ns.lb != nil {
			ns.err = fmt.Errorf("invalid configuration: %s", problems[0].Error())
		}
		return
	}
	ns.stack = st
}

// ingressFactsOf gathers what an Ingress group's stack depends on besides its Ingresses:
// the backend Services, their endpoint ports, and its load balancer.
func ingressFactsOf(g *IngressGroup, objs ClusterObjects, lb *state.LoadBalancer) spec.IngressFacts {
	// Target SG rules depend neither on certificates nor on target groups named by ARN
	// (lbsg opens nothing for those): the pass makes no ACM call and reads no such tags.
	facts := spec.IngressFacts{Services: map[string]*corev1.Service{}, EndpointPorts: map[string]map[string]int32{},
		CertificatesUnknown: true, TargetGroupsUnknown: true}
	if lb != nil {
		facts.LBExists, facts.LBScheme = true, lb.Scheme
	}
	backends := map[string]bool{}
	for _, m := range g.Members {
		for _, name := range spec.BackendServices(m.Ingress) {
			backends[m.Ingress.Namespace+"/"+name] = true
		}
	}
	for i := range objs.Services {
		svc := &objs.Services[i]
		if key := svc.Namespace + "/" + svc.Name; backends[key] {
			facts.Services[key] = svc
			facts.EndpointPorts[key] = endpointPorts(svc, objs.Slices)
		}
	}
	return facts
}

// stacksKey names the stacks, what Kubernetes asks of each and the SGs of their load
// balancers: when it changes (a Service or Ingress changed, a managed SG was created or
// deleted), discovery runs again. Endpoints and nodes are not part of it.
func stacksKey(stacks []*netStack) string {
	type key struct {
		Owner spec.Owner
		LB    string
		SGs   []string
		Err   string
		Stack *spec.Stack
	}
	keys := make([]key, len(stacks))
	for i, ns := range stacks {
		keys[i] = key{Owner: ns.owner, Stack: ns.stack}
		if ns.lb != nil {
			// AWS lists an LB's SGs in no fixed order.
			keys[i].LB, keys[i].SGs = ns.lb.ARN, dedupStrings(ns.lb.SecurityGroups)
		}
		if ns.err != nil {
			keys[i].Err = ns.err.Error()
		}
	}
	fp := fingerprint(keys)
	return string(fp[:])
}

// discover runs the searches when the snapshot is older than the resync period or the
// stacks changed; it also forgets resolved IDs every resync period.
func (e *Engine) discover(ctx context.Context, snap *NetworkingSnapshot, key string, o passOptions) error {
	stale := snap.discovered.IsZero() || o.Resync <= 0 || o.Now.Sub(snap.discovered) >= o.Resync
	if stale || snap.memoSince.IsZero() {
		snap.instENI, snap.ipENI, snap.subnetCIDRs, snap.vpcCIDRs = map[string]cloud.ENI{}, map[string]cloud.ENI{}, map[string]string{}, nil
		snap.memoSince = o.Now
		if stale && !snap.discovered.IsZero() {
			// Tags of load balancers changed by hand are caught up with at the same pace.
			e.ELB.ForgetTags()
		}
	}
	if !stale && key == snap.stacksKey {
		return nil
	}
	// When only the stacks changed, the searches may come from the cache: lbsg's own SG
	// creates and deletes are written through it, and what others do is caught up with
	// when the snapshot is stale.
	owned, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.TagCluster: {e.Settings.Cluster}}, stale)
	if err != nil {
		return fmt.Errorf("find the cluster's security groups: %w", err)
	}
	tagged, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.NodeSGClusterTagPrefix + e.Settings.Cluster: nil}, stale)
	if err != nil {
		return fmt.Errorf("find the cluster's node security groups: %w", err)
	}
	if stale || snap.referencing == nil {
		// Rules that refer to the cluster's SGs are searched for only when the snapshot is
		// stale: between two such searches, the only rules that can refer to an SG lbsg
		// created since are those lbsg wrote, and the SGs it wrote them to stay in the
		// pass's universe (snap.planned).
		sources := make([]string, 0, len(owned)+1)
		for _, sg := range owned {
			sources = append(sources, sg.ID)
		}
		if e.BackendSGID != "" {
			sources = append(sources, e.BackendSGID)
		}
		referencing, err := e.EC2.SecurityGroupsReferencing(ctx, sources, true)
		if err != nil {
			return fmt.Errorf("find rules that refer to the cluster's security groups: %w", err)
		}
		snap.referencing = idsOf(referencing)
	}
	snap.owned, snap.tagged = owned, idsOf(tagged)
	snap.stacksKey = key
	if stale {
		snap.discovered = o.Now
	}
	return nil
}

func idsOf(sgs []cloud.SecurityGroup) []string {
	out := make([]string, len(sgs))
	for i, sg := range sgs {
		out[i] = sg.ID
	}
	return out
}

// missRetry is how long an instance ID or pod IP that AWS did not know is not asked for
// again: a pod's IP may be on its ENI a moment after Kubernetes reports it, but a pass
// retried by the work queue must not ask AWS each time.
const missRetry = 10 * time.Second

// resolveENIs maps every instance ID and pod IP to its ENI, asking AWS (one batched call
// each) only for those not resolved before, nor missed in the last missRetry; what is missing (or could not be read: the
// error says why) is absent from the maps.
//
// A pod IP is looked for first on the ENIs of the instance its Pod runs on (hints: IP →
// instance IDs), where VPC CNI puts it: in the cached ENIs, then in those ENIs read again,
// in one call; only the IPs still unknown are searched for across the VPC, in one more.
func (e *Engine) resolveENIs(ctx context.Context, snap *NetworkingSnapshot, instIDs, ips []string, hints map[string][]string, now time.Time) error {
	if snap.missed == nil {
		snap.missed = map[string]time.Time{}
	}
	missedLately := func(key string) bool {
		at, ok := snap.missed[key]
		return ok && now.Sub(at) < missRetry
	}
	var newIDs, newIPs []string
	for _, id := range dedupStrings(instIDs) {
		if _, ok := snap.instENI[id]; !ok && !missedLately("instance/"+id) {
			newIDs = append(newIDs, id)
		}
	}
	for _, ip := range dedupStrings(ips) {
		if _, ok := snap.ipENI[ip]; !ok && !missedLately("ip/"+ip) {
			newIPs = append(newIPs, ip)
		}
	}
	// Only an answer counts as a miss: a failed read is retried with the pass.
	var idsFailed, ipsFailed bool
	defer func() {
		for _, id := range newIDs {
			if _, ok := snap.instENI[id]; !ok && !idsFailed {
				snap.missed["instance/"+id] = now
			}
		}
		for _, ip := range newIPs {
			if _, ok := snap.ipENI[ip]; !ok && !ipsFailed {
				snap.missed["ip/"+ip] = now
			}
		}
		for k, at := range snap.missed {
			if now.Sub(at) >= missRetry {
				delete(snap.missed, k)
			}
		}
	}()
	var errs []error
	if len(newIDs) > 0 {
		insts, err := e.EC2.Instances(ctx, newIDs)
		if err != nil {
			idsFailed = true
			errs = append(errs, fmt.Errorf("read instances: %w", err))
		}
		for id, inst := range insts {
			snap.instENI[id] = inst.PrimaryENI
		}
	}
	if len(newIPs) > 0 {
		onNodes, err := e.ipsOnNodeENIs(ctx, newIPs, hints)
		if err != nil {
			errs = append(errs, err) // the search across the VPC below may still find them
		}
		var rest []string
		for _, ip := range newIPs {
			if eni, ok := onNodes[ip]; ok {
				snap.ipENI[ip] = eni
			} else {
				rest = append(rest, ip)
			}
		}
		if len(rest) > 0 {
			enis, err := e.EC2.NetworkInterfacesByIP(ctx, rest)
			if err != nil {
				ipsFailed = true
				errs = append(errs, fmt.Errorf("read network interfaces: %w", err))
			}
			for ip, eni := range enis {
				snap.ipENI[ip] = eni
			}
		}
	}
	// An IP no target uses any more is forgotten: it may come back on another ENI. So is
	// an instance that is no target any more.
	prune(snap.ipENI, ips)
	prune(snap.instENI, instIDs)
	return errors.Join(errs...)
}

// ipsOnNodeENIs finds pod IPs on the ENIs of the instances hints name for them: first in
// the cached ENIs (no call when the IP was there when they were read), then in those ENIs
// read fresh, in one call. Only an ENI that AWS lists with the IP resolves it: the hint,
// taken from a Pod's node, only says where to look.
func (e *Engine) ipsOnNodeENIs(ctx context.Context, ips []string, hints map[string][]string) (map[string]cloud.ENI, error) {
	var instIDs []string
	for _, ip := range ips {
		instIDs = append(instIDs, hints[ip]...)
	}
	if len(instIDs) == 0 {
		return nil, nil
	}
	insts, err := e.EC2.Instances(ctx, dedupStrings(instIDs))
	if err != nil {
		return nil, fmt.Errorf("read the instances of pods' nodes: %w", err)
	}
	wanted := make(map[string]bool, len(ips))
	for _, ip := range ips {
		wanted[ip] = true
	}
	found := map[string]cloud.ENI{}
	match := func(enis []cloud.ENI) {
		for _, eni := range enis {
			for _, ip := range slices.Concat(eni.PrivateIPs, eni.IPv6s) {
				if _, ok := found[ip]; !ok && wanted[ip] {
					found[ip] = eni
				}
			}
		}
	}
	var eniIDs []string
	for _, ip := range ips {
		for _, id := range hints[ip] {
			if inst, ok := insts[id]; ok {
				match(inst.ENIs)
				for _, eni := range inst.ENIs {
					eniIDs = append(eniIDs, eni.ID)
				}
			}
		}
	}
	var stale []string
	for _, ip := range ips {
		if _, ok := found[ip]; !ok && len(hints[ip]) > 0 {
			stale = append(stale, ip)
		}
	}
	if len(stale) == 0 || len(eniIDs) == 0 {
		return found, nil
	}
	fresh, err := e.EC2.NetworkInterfaces(ctx, dedupStrings(eniIDs), true)
	if err != nil {
		return found, fmt.Errorf("read the network interfaces of pods' nodes: %w", err)
	}
	match(slices.Collect(maps.Values(fresh)))
	return found, nil
}

// podIPHints maps each of ips to the instances of the nodes that Pods with that IP run
// on (more than one only when Pods on several nodes report the same IP).
func podIPHints(objs ClusterObjects, ips []string) map[string][]string {
	if len(ips) == 0 {
		return nil
	}
	want := make(map[string]bool, len(ips))
	for _, ip := range ips {
		want[ip] = true
	}
	nodeInst := map[string]string{}
	for i := range objs.Nodes {
		n := &objs.Nodes[i]
		if id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID); err == nil {
			nodeInst[n.Name] = id
		}
	}
	out := map[string][]string{}
	for i := range objs.Pods {
		p := &objs.Pods[i]
		inst, ok := nodeInst[p.Spec.NodeName]
		if !ok {
			continue
		}
		for _, a := range p.Status.PodIPs {
			if want[a.IP] && !slices.Contains(out[a.IP], inst) {
				out[a.IP] = append(out[a.IP], inst)
			}
		}
	}
	return out
}

func prune(m map[string]cloud.ENI, keep []string) {
	k := make(map[string]bool, len(keep))
	for _, x := range keep {
		k[x] = true
	}
	for x := range m {
		if !k[x] {
			delete(m, x)
		}
	}
}

// legacyCIDRs resolves the symbolic peers of an NLB without SGs into CIDR rules, from
// the snapshot's subnet and VPC CIDRs (read once per resync period).
func (e *Engine) legacyCIDRs(ctx context.Context, snap *NetworkingSnapshot, st *spec.Stack, lb state.LoadBalancer) ([]sgrules.Rule, error) {
	var out []sgrules.Rule
	for _, ln := range st.Networking.Legacy {
		for _, peer := range ln.Peers {
			var cidrs []string
			switch peer {
			case spec.PeerSubnets:
				var missing []string
				for _, id := range lb.Subnets {
					if _, ok := snap.subnetCIDRs[id]; !ok {
						missing = append(missing, id)
					}
				}
				if len(missing) > 0 {
					subnets, err := e.EC2.Subnets(ctx, missing)
					if err != nil {
						return nil, err
					}
					for _, s := range subnets {
						snap.subnetCIDRs[s.ID] = s.CIDR
					}
				}
				for _, id := range lb.Subnets {
					if c, ok := snap.subnetCIDRs[id]; ok {
						cidrs = append(cidrs, c)
					}
				}
			case spec.PeerVPC:
				if snap.vpcCIDRs == nil {
					vpc, err := e.EC2.VPC(ctx)
					if err != nil {
						return nil, err
					}
					snap.vpcCIDRs = slices.Clone(vpc.CIDRs)
				}
				cidrs = snap.vpcCIDRs
			default:
				cidrs = []string{peer}
			}
			for _, c := range cidrs {
				kind := sgrules.PeerCIDR
				if strings.Contains(c, ":") {
					kind = sgrules.PeerCIDRv6
				}
				out = append(out, sgrules.Rule{Key: sgrules.Key{Protocol: ln.Need.Protocol, FromPort: ln.Need.Port, ToPort: ln.Need.Port, PeerKind: kind, Peer: c}})
			}
		}
	}
	return out, nil
}

// fingerprint hashes what a pass plans from, less the SGs' rules.
func fingerprint(v any) [32]byte {
	b, _ := json.Marshal(v)
	return sha256.Sum256(b)
}
