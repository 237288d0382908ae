package plan

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Logical keys of resources created within a stack's plan.
const (
	keyManagedSG = "managed-sg"
	keyLB        = "load-balancer"
)

func tgKey(resourceID string) string { return "target-group/" + resourceID }

// Resolved holds the desired state's references after AWS resolved them.
type Resolved struct {
	SubnetIDs   []string `json:"subnetIDs"`
	CustomSGIDs []string `json:"customSGIDs,omitempty"`
	BackendSGID string   `json:"backendSGID,omitempty"`
}

// Observed is what exists in AWS for one stack, found by its tags.
type Observed struct {
	LoadBalancers []state.LoadBalancer        `json:"loadBalancers,omitempty"`
	Listeners     map[string][]state.Listener `json:"listeners,omitempty"` // by LB ARN
	TargetGroups  []state.TargetGroup         `json:"targetGroups,omitempty"`
	Targets       map[string][]state.Target   `json:"targets,omitempty"` // by TG ARN
	ManagedSGs    []state.SecurityGroup       `json:"managedSGs,omitempty"`
	// Attributes of the stack's load balancers, target groups and listeners, by ARN. They
	// are read only for the stacks whose desired state sets attributes.
	Attributes map[string]map[string]string `json:"attributes,omitempty"`
}

// StackInput is everything the stack planner needs.
type StackInput struct {
	// Desired is nil when the stack must go: the owner was deleted or is no longer ours.
	Desired  *spec.Stack
	Resolved Resolved
	// Targets are the desired targets by target-group ResourceID.
	Targets  map[string][]state.Target
	Observed Observed
	// KeepTag reports tag keys lbsg never removes (aws:*, legacy keys, external-managed).
	KeepTag func(key string) bool
	// BackendSG is the cluster's shared backend SG as observed, for a stack whose load
	// balancer uses it and whose Resolved.BackendSGID is empty (lbsg manages the SG).
	BackendSG *BackendSGInput
}

// KeyBackendSG is the logical key of the shared backend SG when a plan creates it: the
// changes that use it (the load balancer's SG list) refer to it by this key, and the
// executor resolves it to the ID of the SG it created, or found created concurrently.
const KeyBackendSG = "backend-sg"

// BackendSGInput is the shared backend SG: what it must be, and what exists.
type BackendSGInput struct {
	// Owner names the changes to the shared SG ("cluster/<name>"): no one stack owns it.
	Owner string
	Want  spec.SecurityGroup
	// Have is the backend SG found by its full identity; nil when there is none yet.
	Have *state.SecurityGroup
	// KeepTag reports tag keys left alone on it.
	KeepTag func(key string) bool
}

// planBackendSG returns the ref the load balancer uses for the backend SG: the existing
// SG (re-tagged if its tags drifted) or the one this plan creates.
func planBackendSG(b *builder, in *BackendSGInput) Ref {
	if in.Have == nil {
		ref := Ref{Kind: KindSG, Key: KeyBackendSG}
		want := in.Want
		b.addOwned(Change{Op: OpCreateSG, Target: ref, SG: &want,
			Reason: "create the shared backend security group"}, in.Owner)
		return ref
	}
	ref := Ref{Kind: KindSG, ID: in.Have.ID}
	if add, remove := diffTags(in.Want.Tags, in.Have.Tags, in.KeepTag); len(add) > 0 || len(remove) > 0 {
		b.addOwned(Change{Op: OpTagSG, Target: ref, Tags: add, Untag: remove,
			Reason: "reconcile the shared backend security group's tags"}, in.Owner)
	}
	return ref
}

type builder struct {
	owner   string
	changes []Change
	notices []string
}

// notice records something lbsg leaves as observed although the desired state differs.
func (b *builder) notice(format string, args ...any) {
	b.notices = append(b.notices, fmt.Sprintf(format, args...))
}

func (b *builder) add(c Change) { b.addOwned(c, b.owner) }

// addOwned adds a change made on behalf of owner rather than of the stack.
func (b *builder) addOwned(c Change, owner string) {
	if c.Phase == 0 {
		c.Phase = phaseOf[c.Op]
	}
	c.Owner = owner
	b.changes = append(b.changes, c)
}

func (b *builder) plan() Plan {
	sort.SliceStable(b.changes, func(i, j int) bool { return b.changes[i].Phase < b.changes[j].Phase })
	return Plan{Changes: b.changes, Notices: b.notices}
}

// Stack plans one load balancer stack: its managed SG, target groups, load balancer,
// listeners and targets. Target-SG rules are planned separately (Networking), because
// they are shared by every stack of the cluster.
func Stack(in StackInput, owner string) Plan {
	b := &builder{owner: owner}
	var backendRef Ref
	if in.Desired == nil {
		planDeleteAll(b, in.Observed)
		return b.plan()
	}
	d := in.Desired
	if d.LoadBalancer.UseBackendSG && in.Resolved.BackendSGID == "" && in.BackendSG != nil {
		backendRef = planBackendSG(b, in.BackendSG)
	}
	sgRef := planManagedSG(b, d.ManagedSG, in.Observed.ManagedSGs, in.KeepTag)
	tgRefs, staleTGs := planTargetGroups(b, d.TargetGroups, resourceTag(d), in.Observed.TargetGroups, in.KeepTag)
	lbRef, lb := planLoadBalancer(b, d, in, sgRef, backendRef)
	inUse := planListeners(b, d.Listeners, lbRef, lb, in.Observed.Listeners, tgRefs, listenerTags(d))
	planAttributes(b, d, tgRefs, lbRef, lb, in.Observed)
	planTargets(b, d.TargetGroups, tgRefs, in.Targets, in.Observed.Targets)
	for _, tg := range staleTGs {
		if inUse[tg.ARN] {
			b.notice("target group %s is still used by an action that lbsg does not manage; not deleted", tg.Name)
			continue
		}
		b.add(Change{Op: OpDeleteTG, Target: Ref{Kind: KindTargetGroup, ID: tg.ARN},
			Reason: fmt.Sprintf("target group %s is no longer needed", tg.Name)})
	}
	return b.plan()
}

func planDeleteAll(b *builder, o Observed) {
	for _, lb := range o.LoadBalancers {
		b.add(Change{Op: OpDeleteLB, Target: Ref{Kind: KindLoadBalancer, ID: lb.ARN},
			Reason: fmt.Sprintf("load balancer %s is no longer wanted", lb.Name)})
	}
	for _, tg := range o.TargetGroups {
		b.add(Change{Op: OpDeleteTG, Target: Ref{Kind: KindTargetGroup, ID: tg.ARN},
			Reason: fmt.Sprintf("target group %s is no longer wanted", tg.Name)})
	}
	for _, sg := range o.ManagedSGs {
		b.add(Change{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: sg.ID},
			Reason: fmt.Sprintf("managed security group %s is no longer wanted", sg.Name)})
	}
}

// planManagedSG returns a Ref to the managed SG the LB should use (zero Ref if none).
func planManagedSG(b *builder, want *spec.SecurityGroup, have []state.SecurityGroup, keep func(string) bool) Ref {
	var ref Ref
	rest := have
	if want != nil {
		if len(have) == 0 {
			ref = Ref{Kind: KindSG, Key: keyManagedSG}
			b.add(Change{Op: OpCreateSG, Target: ref, SG: want,
				Reason: fmt.Sprintf("create managed security group %s", want.Name)})
			if len(want.Ingress) > 0 {
				b.add(Change{Op: OpAuthorize, Target: ref, Rules: want.Ingress,
					Reason: fmt.Sprintf("allow %d client rule(s) to the load balancer", len(want.Ingress))})
			}
		} else {
			cur := have[0]
			rest = have[1:]
			ref = Ref{Kind: KindSG, ID: cur.ID}
			if add, remove := diffTags(want.Tags, cur.Tags, keep); len(add) > 0 || len(remove) > 0 {
				b.add(Change{Op: OpTagSG, Target: ref, Tags: add, Untag: remove,
					Reason: "reconcile the managed security group's tags"})
			}
			grant, revoke := sgrules.Diff(want.Ingress, cur.Ingress, nil)
			if len(grant) > 0 {
				b.add(Change{Op: OpAuthorize, Target: ref, Rules: grant, Reason: "add missing client rules"})
			}
			if len(revoke) > 0 {
				b.add(Change{Op: OpRevoke, Target: ref, Rules: revoke, Reason: "remove client rules that are no longer wanted"})
			}
		}
	}
	for _, sg := range rest {
		b.add(Change{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: sg.ID},
			Reason: fmt.Sprintf("managed security group %s is no longer used", sg.Name)})
	}
	return ref
}

// diffTags returns the tags to set and the keys to remove so that have matches want,
// leaving alone keys that keep reports.
func diffTags(want, have map[string]string, keep func(string) bool) (map[string]string, []string) {
	add := map[string]string{}
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			add[k] = v
		}
	}
	var remove []string
	for k := range have {
		if _, ok := want[k]; ok {
			continue
		}
		if keep != nil && keep(k) {
			continue
		}
		remove = append(remove, k)
	}
	sort.Strings(remove)
	if len(add) == 0 {
		add = nil
	}
	return add, remove
}

// tgCompatible reports whether an existing target group can serve the desired one: the
// protocol, port and target type of a target group cannot change.
func tgCompatible(want spec.TargetGroup, have state.TargetGroup) bool {
	return strings.EqualFold(want.Protocol, have.Protocol) && want.Port == have.Port &&
		want.TargetType == have.TargetType && want.Name == have.Name
}

func hcEqual(want spec.HealthCheck, have state.HealthCheck) bool {
	if !strings.EqualFold(want.Protocol, have.Protocol) || want.Port != have.Port {
		return false
	}
	if !setEqual(want.Interval, have.Interval) || !setEqual(want.Timeout, have.Timeout) ||
		!setEqual(want.Healthy, have.Healthy) || !setEqual(want.Unhealthy, have.Unhealthy) ||
		(want.SuccessCodes != "" && want.SuccessCodes != have.SuccessCodes) {
		return false
	}
	return want.Protocol == "TCP" || want.Path == have.Path
}

// setEqual compares a health-check setting the user may leave unset (0): unset matches
// whatever AWS has.
func setEqual(want, have int32) bool { return want == 0 || want == have }

// resourceTag is the tag whose value identifies a resource within the stack.
func resourceTag(d *spec.Stack) string {
	if d.ResourceTag != "" {
		return d.ResourceTag
	}
	return naming.ServiceResourceTag
}

func planTargetGroups(b *builder, want []spec.TargetGroup, tagKey string, have []state.TargetGroup, keep func(string) bool) (map[string]Ref, []state.TargetGroup) {
	refs := map[string]Ref{}
	used := map[string]bool{}
	for i := range want {
		tg := want[i]
		var match *state.TargetGroup
		for j := range have {
			if !used[have[j].ARN] && have[j].Tags[tagKey] == tg.ResourceID && tgCompatible(tg, have[j]) {
				match = &have[j]
				break
			}
		}
		if match == nil {
			ref := Ref{Kind: KindTargetGroup, Key: tgKey(tg.ResourceID)}
			refs[tg.ResourceID] = ref
			b.add(Change{Op: OpCreateTG, Target: ref, TG: &tg,
				Reason: fmt.Sprintf("create target group %s for %s/%s port %d (%s targets on %s %d)", tg.Name, tg.ServiceNamespace, tg.ServiceName, tg.ServicePort, tg.TargetType, tg.Protocol, tg.Port)})
			continue
		}
		used[match.ARN] = true
		ref := Ref{Kind: KindTargetGroup, ID: match.ARN}
		refs[tg.ResourceID] = ref
		if !hcEqual(tg.HealthCheck, match.HealthCheck) {
			b.add(Change{Op: OpModifyTG, Target: ref, TG: &tg,
				Reason: fmt.Sprintf("health check %s differs from %s", hcString(state.HealthCheck(tg.HealthCheck)), hcString(state.HealthCheck{Protocol: match.HealthCheck.Protocol,
					Port: match.HealthCheck.Port, Path: match.HealthCheck.Path, Interval: pick(tg.HealthCheck.Interval, match.HealthCheck.Interval),
					Timeout: pick(tg.HealthCheck.Timeout, match.HealthCheck.Timeout), Healthy: pick(tg.HealthCheck.Healthy, match.HealthCheck.Healthy),
					Unhealthy: pick(tg.HealthCheck.Unhealthy, match.HealthCheck.Unhealthy), SuccessCodes: pickS(tg.HealthCheck.SuccessCodes, match.HealthCheck.SuccessCodes)}))})
		}
		if add, remove := diffTags(tg.Tags, match.Tags, keep); len(add) > 0 || len(remove) > 0 {
			b.add(Change{Op: OpTag, Target: ref, Tags: add, Untag: remove, Reason: "reconcile the target group's tags"})
		}
	}
	var stale []state.TargetGroup
	for _, tg := range have {
		if !used[tg.ARN] {
			stale = append(stale, tg)
		}
	}
	return refs, stale
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x] == 0 {
			return false
		}
		m[x]--
	}
	return true
}

// desiredSGs is the LB's SG list: the managed SG (then any user SGs kept next to it) or
// the custom SGs, then the backend SG.
func desiredSGs(d *spec.Stack, in StackInput, managed, backend Ref) []Ref {
	var refs []Ref
	switch d.LoadBalancer.Frontend {
	case spec.FrontendNone:
		return nil
	case spec.FrontendManaged:
		refs = append(refs, managed)
		// The user SGs the opt-in keeps next to the managed SG.
		for _, id := range in.Resolved.CustomSGIDs {
			refs = append(refs, Ref{Kind: KindSG, ID: id})
		}
	case spec.FrontendCustom:
		for _, id := range in.Resolved.CustomSGIDs {
			refs = append(refs, Ref{Kind: KindSG, ID: id})
		}
	}
	switch {
	case !d.LoadBalancer.UseBackendSG:
	case in.Resolved.BackendSGID != "":
		refs = append(refs, Ref{Kind: KindSG, ID: in.Resolved.BackendSGID})
	case backend != Ref{}:
		refs = append(refs, backend)
	}
	return refs
}

func planLoadBalancer(b *builder, d *spec.Stack, in StackInput, managed, backend Ref) (Ref, *state.LoadBalancer) {
	want := d.LoadBalancer
	sgs := desiredSGs(d, in, managed, backend)
	var cur *state.LoadBalancer
	for i := range in.Observed.LoadBalancers {
		lb := &in.Observed.LoadBalancers[i]
		if cur == nil && lb.Name == want.Name {
			cur = lb
			continue
		}
		b.add(Change{Op: OpDeleteLB, Phase: PhaseReplaceLBs, Target: Ref{Kind: KindLoadBalancer, ID: lb.ARN},
			Reason: fmt.Sprintf("load balancer %s is replaced by %s (scheme or identity changed)", lb.Name, want.Name)})
	}
	if cur == nil {
		ref := Ref{Kind: KindLoadBalancer, Key: keyLB}
		b.add(Change{Op: OpCreateLB, Target: ref, SGs: sgs, PrivateLinkEnforce: want.PrivateLinkEnforce,
			LB: &LBSpec{Name: want.Name, Type: want.Type, Scheme: want.Scheme, IPAddressType: want.IPAddressType,
				Subnets: in.Resolved.SubnetIDs, Tags: want.Tags},
			Reason: fmt.Sprintf("create %s %s load balancer %s", want.Scheme, want.Type, want.Name)})
		return ref, nil
	}
	ref := Ref{Kind: KindLoadBalancer, ID: cur.ARN}
	if add, remove := diffTags(want.Tags, cur.Tags, in.KeepTag); len(add) > 0 || len(remove) > 0 {
		b.add(Change{Op: OpTag, Target: ref, Tags: add, Untag: remove, Reason: "reconcile the load balancer's tags"})
	}
	if len(in.Resolved.SubnetIDs) > 0 && !sameSet(in.Resolved.SubnetIDs, cur.Subnets) {
		b.add(Change{Op: OpSetSubnets, Target: ref, Subnets: in.Resolved.SubnetIDs,
			Reason: fmt.Sprintf("subnets %v differ from %v", in.Resolved.SubnetIDs, cur.Subnets)})
	}
	if want.IPAddressType != "" && want.IPAddressType != cur.IPAddressType {
		b.add(Change{Op: OpSetIPType, Target: ref, IPType: want.IPAddressType,
			Reason: fmt.Sprintf("IP address type %s differs from %s", want.IPAddressType, cur.IPAddressType)})
	}
	if len(cur.SecurityGroups) > 0 {
		ids := make([]string, 0, len(sgs))
		known := true
		for _, r := range sgs {
			if r.ID == "" {
				known = false
			}
			ids = append(ids, r.ID)
		}
		enforce := ""
		if want.PrivateLinkEnforce != "" && want.PrivateLinkEnforce != cur.PrivateLinkEnforce {
			enforce = want.PrivateLinkEnforce
		}
		if len(sgs) > 0 && (!known || !sameSet(ids, cur.SecurityGroups) || enforce != "") {
			b.add(Change{Op: OpSetLBSGs, Target: ref, SGs: sgs, PrivateLinkEnforce: enforce,
				Reason: fmt.Sprintf("security groups %s differ from %v", refsString(sgs), cur.SecurityGroups)})
		}
	}
	return ref, cur
}

func refsString(refs []Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// listenerTags are the tags lbsg puts on the listeners and rules it creates, and adds once
// to those it finds without them: the cluster tag and the stack tag (the keys upstream
// tags its listeners and rules with), so that the IAM policy can limit listener and rule
// writes to the cluster's, as it does for load balancers.
func listenerTags(d *spec.Stack) map[string]string {
	tags := map[string]string{}
	if c := d.LoadBalancer.Tags[naming.TagCluster]; c != "" {
		tags[naming.TagCluster] = c
	}
	if d.StackTag != "" && d.StackID != "" {
		tags[d.StackTag] = d.StackID
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// foreignTag returns "key=value" for the first of lbsg's listener tags that an existing
// listener or rule carries with another value (another cluster's, another stack's), or "".
// Such a listener or rule is not this stack's: lbsg neither retags, modifies nor deletes
// it (and the IAM policy would refuse it).
func foreignTag(want, have map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if hv, ok := have[k]; ok && hv != want[k] {
			return k + "=" + hv
		}
	}
	return ""
}

// missingTags returns the tags of want an existing listener or rule lacks (nil for none,
// or when it carries one of them with another value).
func missingTags(want, have map[string]string) map[string]string {
	if foreignTag(want, have) != "" {
		return nil
	}
	var missing map[string]string
	for k, v := range want {
		if _, ok := have[k]; !ok {
			if missing == nil {
				missing = map[string]string{}
			}
			missing[k] = v
		}
	}
	return missing
}

// planListeners plans the listeners and their rules. It returns the target groups that
// actions lbsg leaves as they are still forward to, which must not be deleted.
func planListeners(b *builder, want []spec.Listener, lbRef Ref, lb *state.LoadBalancer, have map[string][]state.Listener, tgRefs map[string]Ref, tags map[string]string) map[string]bool {
	inUse := map[string]bool{}
	wantRules := wantedRules(want)
	var cur []state.Listener
	if lb != nil {
		cur = have[lb.ARN]
	}
	byPort := map[int32]state.Listener{}
	for _, l := range cur {
		byPort[l.Port] = l
	}
	wanted := map[int32]bool{}
	for _, l := range want {
		wanted[l.Port] = true
		var tg Ref
		if l.TargetGroup != "" {
			tg = tgRefs[l.TargetGroup]
		}
		ls := &ListenerSpec{LoadBalancer: lbRef, Port: l.Port, Protocol: l.Protocol, TargetGroup: tg, Certificates: l.Certificates,
			SSLPolicy: l.SSLPolicy, ALPNPolicy: l.ALPNPolicy, RedirectPort: l.RedirectPort}
		if l.DefaultAction != nil {
			rs := ruleSpec(Ref{}, Ref{}, spec.ListenerRule{Action: l.DefaultAction}, tgRefs)
			ls.DefaultAction, ls.DefaultForwardRefs = rs.Action, rs.ForwardRefs
		}
		old, ok := byPort[l.Port]
		if f := foreignTag(tags, old.Tags); ok && f != "" {
			b.notice("listener %d of %s carries the tag %s, not this stack's; it and its rules are left as they are", l.Port, lb.Name, f)
			markInUse(inUse, old)
			continue
		}
		var ref Ref
		var oldRules []state.ListenerRule
		switch {
		case !ok:
			ref = Ref{Kind: KindListener, Key: fmt.Sprintf("listener/%d", l.Port)}
			ls.Tags = tags
			b.add(Change{Op: OpCreateListener, Target: ref, Listener: ls,
				Reason: fmt.Sprintf("create %s listener on port %d", l.Protocol, l.Port)})
		default:
			ref = Ref{Kind: KindListener, ID: old.ARN}
			oldRules = old.Rules
			// What lbsg does not model is left as observed: it is never rewritten to what
			// lbsg would have created.
			ls.KeepProtocol = keepsProtocol(l, old)
			// A redirect to HTTPS the stack does not ask for (neither ssl-redirect nor a
			// default backend action) was made by upstream or a person: lbsg cannot tell, so
			// it stays.
			adoptedRedirect := old.Unmodelled == "" && old.RedirectPort != 0 && l.RedirectPort == 0 && l.DefaultAction == nil
			ls.KeepDefaultAction = keepsDefaultAction(l, old) || adoptedRedirect
			ls.SameProtocol = strings.EqualFold(old.Protocol, l.Protocol)
			if adoptedRedirect {
				b.notice("listener %d of %s has a default action that lbsg does not manage (redirect); left as is (set %s to manage it)",
					l.Port, lb.Name, "alb.ingress.kubernetes.io/ssl-redirect")
			}
			if ls.KeepProtocol {
				b.notice("listener %d of %s is %s, which lbsg does not manage (it would create %s); its protocol, certificates and SSL policy are left as is",
					l.Port, lb.Name, old.Protocol, l.Protocol)
			}
			if old.Unmodelled != "" {
				b.notice("listener %d of %s has a default action that lbsg does not manage (%s); left as is", l.Port, lb.Name, old.Unmodelled)
			}
			why := defaultActionDiff(ls, old)
			if why == "" {
				why = listenerDiff(l, tg, old, ls.KeepProtocol, ls.KeepDefaultAction || l.DefaultAction != nil || old.DefaultAction != nil)
			}
			if why != "" {
				b.add(Change{Op: OpModifyListener, Target: ref, Listener: ls,
					Reason: fmt.Sprintf("listener on port %d: %s", l.Port, why)})
			}
		}
		if ok && ls.KeepDefaultAction {
			markDefaultInUse(inUse, old)
		}
		for _, r := range oldRules {
			if ruleLeft(r, tags, wantRules[l.Port][r.Priority]) != "" || foreignTag(tags, r.Tags) != "" {
				markRuleInUse(inUse, r)
			}
		}
		planRules(b, lbRef, lb, ref, l, oldRules, tgRefs, tags)
	}
	planAdoptedListenerTags(b, lbRef, lb, cur, wanted, wantRules, tags)
	for _, l := range cur {
		if f := foreignTag(tags, l.Tags); !wanted[l.Port] && f != "" {
			b.notice("listener %d of %s carries the tag %s, not this stack's; not deleted", l.Port, lb.Name, f)
			markInUse(inUse, l)
			continue
		}
		if !wanted[l.Port] {
			b.add(Change{Op: OpDeleteListener, Target: Ref{Kind: KindListener, ID: l.ARN},
				Listener: &ListenerSpec{LoadBalancer: lbRef, Port: l.Port, Protocol: l.Protocol},
				Reason:   fmt.Sprintf("listener on port %d is no longer wanted", l.Port)})
		}
	}
	return inUse
}

// markInUse records the target groups a listener that lbsg leaves as it is forwards to.
func markInUse(inUse map[string]bool, l state.Listener) {
	markDefaultInUse(inUse, l)
	for _, r := range l.Rules {
		markRuleInUse(inUse, r)
	}
}

// planAdoptedListenerTags adds the cluster and stack tags to the existing listeners of
// the load balancer and to the rules lbsg may modify or delete (those of the listeners it
// keeps, without actions or conditions it does not model) that lack them, before any
// other write on them. Only the missing keys are sent, so that a resource that has the
// cluster tag is never sent it again; resources missing the same keys share one change
// (usually there is one: upstream's listeners have neither).
func planAdoptedListenerTags(b *builder, lbRef Ref, lb *state.LoadBalancer, cur []state.Listener, wanted map[int32]bool, wantedRules map[int32]map[int32]bool, tags map[string]string) {
	if len(tags) == 0 {
		return
	}
	type group struct {
		tags             map[string]string
		arns             []string
		listeners, rules int
	}
	var groups []*group
	add := func(missing map[string]string, arn string, rule bool) {
		if missing == nil {
			return
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return maps.Equal(g.tags, missing) })
		if i < 0 {
			groups = append(groups, &group{tags: missing})
			i = len(groups) - 1
		}
		g := groups[i]
		g.arns = append(g.arns, arn)
		if rule {
			g.rules++
		} else {
			g.listeners++
		}
	}
	for _, l := range cur {
		if foreignTag(tags, l.Tags) != "" {
			continue // left as it is, with its rules
		}
		add(missingTags(tags, l.Tags), l.ARN, false)
		if !wanted[l.Port] {
			continue // deleted with its rules
		}
		for _, r := range l.Rules {
			if ruleLeft(r, tags, wantedRules[l.Port][r.Priority]) == "" {
				add(missingTags(tags, r.Tags), r.ARN, true)
			}
		}
	}
	for _, g := range groups {
		b.add(Change{Op: OpTagListeners, Target: lbRef, Tags: g.tags, TagARNs: g.arns,
			Reason: fmt.Sprintf("add lbsg's tags to %d listener(s) and %d rule(s) that lack them", g.listeners, g.rules)})
	}
}

// keepsProtocol reports whether an existing listener's protocol is one lbsg does not model
// where it wants TCP: a TLS listener on an NLB, which terminates TLS with its own
// certificates and SSL policy before the same TCP targets.
func keepsProtocol(want spec.Listener, have state.Listener) bool {
	return strings.EqualFold(want.Protocol, "TCP") && strings.EqualFold(have.Protocol, "TLS")
}

// listenerDiff says why an existing listener must be modified, or "" when it matches. What
// is kept (keepProtocol: the protocol and certificates; keepAction: the default action) is
// not compared.
func listenerDiff(want spec.Listener, tg Ref, have state.Listener, keepProtocol, keepAction bool) string {
	switch {
	case !keepProtocol && !strings.EqualFold(have.Protocol, want.Protocol):
		return fmt.Sprintf("protocol %s must be %s", have.Protocol, want.Protocol)
	case !keepAction && want.RedirectPort != have.RedirectPort:
		if want.RedirectPort == 0 {
			return fmt.Sprintf("the default action must not redirect to HTTPS:%d", have.RedirectPort)
		}
		return fmt.Sprintf("the default action must redirect to HTTPS:%d", want.RedirectPort)
	case !keepAction && want.RedirectPort != 0:
		// The redirect matches; a redirect has no target group to compare.
	case !keepAction && want.TargetGroup == "" && (have.TargetGroupARN != "" || have.FixedResponseStatus != "404"):
		return "the default action must answer 404 (no default backend)"
	case !keepAction && want.TargetGroup != "" && (tg.ID == "" || have.TargetGroupARN != tg.ID):
		return "the default action must forward to " + tg.String()
	case !keepProtocol && !sameCertificates(want.Certificates, have.Certificates):
		return fmt.Sprintf("certificates %v must be %v", have.Certificates, want.Certificates)
	}
	switch {
	case keepProtocol:
	case want.SSLPolicy != "" && !want.SSLPolicyIsDefault && have.SslPolicy != want.SSLPolicy:
		return fmt.Sprintf("SSL policy %q must be %s", have.SslPolicy, want.SSLPolicy)
	case want.ALPNPolicy != "" && alpnOrNone(have.ALPNPolicy) != want.ALPNPolicy:
		return fmt.Sprintf("ALPN policy %q must be %s", have.ALPNPolicy, want.ALPNPolicy)
	}
	return ""
}

// alpnOrNone reads a listener without an ALPN policy as the policy None, which AWS may
// report either way.
func alpnOrNone(p string) string {
	if p == "" {
		return "None"
	}
	return p
}

// sameCertificates compares certificate lists: the default (first) one exactly, the
// others as a set.
func sameCertificates(want, have []string) bool {
	if len(want) == 0 || len(have) == 0 {
		return len(want) == len(have)
	}
	return want[0] == have[0] && sameSet(want[1:], have[1:])
}

// planRules makes a listener's rules match, matching existing rules by priority so that
// no rule is ever created at a priority another rule still holds. A rule with actions or
// conditions lbsg does not model is neither modified nor deleted, even at a priority lbsg
// wants.
func planRules(b *builder, lbRef Ref, lb *state.LoadBalancer, listener Ref, l spec.Listener, have []state.ListenerRule, tgRefs map[string]Ref, tags map[string]string) {
	byPrio := map[int32]state.ListenerRule{}
	for _, r := range have {
		byPrio[r.Priority] = r
	}
	wanted := map[int32]bool{}
	for _, r := range l.Rules {
		wanted[r.Priority] = true
		rs := ruleSpec(lbRef, listener, r, tgRefs)
		old, ok := byPrio[r.Priority]
		left := ruleLeft(old, tags, true)
		switch {
		case ok && left != "":
			b.notice("rule %d on listener %d of %s has %s, which lbsg does not manage; left as is, so %s is not routed to %s",
				r.Priority, l.Port, lb.Name, left, ruleString(r.Hosts, r.Paths), ruleTarget(r))
		case ok && foreignTag(tags, old.Tags) != "":
			b.notice("rule %d on listener %d of %s carries the tag %s, not this stack's; left as is, so %s is not routed to %s",
				r.Priority, l.Port, lb.Name, foreignTag(tags, old.Tags), ruleString(r.Hosts, r.Paths), ruleTarget(r))
		case !ok:
			rs.Tags = tags
			b.add(Change{Op: OpCreateRule, Target: Ref{Kind: KindRule, Key: fmt.Sprintf("rule/%d/%d", l.Port, r.Priority)}, Rule: rs,
				Reason: fmt.Sprintf("route %s to %s on port %d (priority %d)", ruleString(r.Hosts, r.Paths), ruleTarget(r), l.Port, r.Priority)})
		case ruleDiffers(rs, old):
			b.add(Change{Op: OpModifyRule, Target: Ref{Kind: KindRule, ID: old.ARN}, Rule: rs,
				Reason: fmt.Sprintf("rule %d on port %d must route %s to %s", r.Priority, l.Port, ruleString(r.Hosts, r.Paths), ruleTarget(r))})
		}
	}
	for _, r := range have {
		if left := ruleLeft(r, tags, wanted[r.Priority]); !wanted[r.Priority] && left != "" {
			b.notice("rule %d on listener %d of %s has %s, which lbsg does not manage; left as is", r.Priority, l.Port, lb.Name, left)
			continue
		}
		if f := foreignTag(tags, r.Tags); !wanted[r.Priority] && f != "" {
			b.notice("rule %d on listener %d of %s carries the tag %s, not this stack's; not deleted", r.Priority, l.Port, lb.Name, f)
			continue
		}
		if !wanted[r.Priority] {
			b.add(Change{Op: OpDeleteRule, Target: Ref{Kind: KindRule, ID: r.ARN},
				Rule:   &RuleSpec{LoadBalancer: lbRef, Listener: listener, Priority: r.Priority},
				Reason: fmt.Sprintf("rule %d on port %d is no longer wanted", r.Priority, l.Port)})
		}
	}
}

func ruleString(hosts, paths []string) string {
	h, p := "*", "*"
	if len(hosts) > 0 {
		h = strings.Join(hosts, ",")
	}
	if len(paths) > 0 {
		p = strings.Join(paths, ",")
	}
	return "host " + h + " path " + p
}

func planTargets(b *builder, tgs []spec.TargetGroup, refs map[string]Ref, want map[string][]state.Target, have map[string][]state.Target) {
	for _, tg := range tgs {
		ref := refs[tg.ResourceID]
		var cur []state.Target
		if ref.ID != "" {
			cur = have[ref.ID]
		}
		add, remove := diffTargets(want[tg.ResourceID], cur)
		if len(add) > 0 {
			b.add(Change{Op: OpRegister, Target: ref, Targets: add,
				Reason: fmt.Sprintf("register %d target(s) for port %d", len(add), tg.ServicePort)})
		}
		if len(remove) > 0 {
			b.add(Change{Op: OpDeregister, Target: ref, Targets: remove,
				Reason: fmt.Sprintf("deregister %d target(s) that are gone", len(remove))})
		}
	}
}

func diffTargets(want, have []state.Target) (add, remove []state.Target) {
	h := map[state.Target]bool{}
	for _, t := range have {
		h[t] = true
	}
	w := map[state.Target]bool{}
	for _, t := range want {
		w[t] = true
		if !h[t] {
			add = append(add, t)
		}
	}
	for _, t := range have {
		if !w[t] {
			remove = append(remove, t)
		}
	}
	sortTargets(add)
	sortTargets(remove)
	return add, remove
}

func sortTargets(ts []state.Target) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].ID != ts[j].ID {
			return ts[i].ID < ts[j].ID
		}
		return ts[i].Port < ts[j].Port
	})
}
