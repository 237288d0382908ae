package plan

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// ReferenceCheck is what CheckReferences judges a plan's references against: who makes
// them, the policy, and the owners of what they may name, as observed.
type ReferenceCheck struct {
	From       authz.Subject
	Policy     authz.Policy
	Classifier authz.Classifier
	// SGTags and TGTags are the observed tags of every security group and target group the
	// plan may name that exists, by ID and ARN. One the plan names that is not here cannot
	// be classified and is refused.
	SGTags map[string]map[string]string
	TGTags map[string]map[string]string
	// BackendSGID is the shared backend SG the stack's load balancer carries because lbsg
	// attaches it ("" when it does not use it): lbsg's own wiring, not the object's choice.
	BackendSGID string
	// PodIPs are the live Pods holding each IP; Instances the instance IDs of the cluster's
	// Nodes. A target is registered only if it is one of them.
	PodIPs    map[string][]PodRef
	Instances map[string]bool
}

// PodRef names a live Pod.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// HostNetwork Pods share their Node's IP with each other.
	HostNetwork bool `json:"hostNetwork,omitempty"`
}

// CheckReferences returns every reference of the plan's changes that the policy refuses:
// the security groups a load balancer is given, the target groups listeners and rules
// forward to, the target groups targets are written to, the targets themselves, and the
// prefix lists client rules admit.
// Resources the plan creates (referred to by key) are the stack's own. A plan with any
// denial must not be applied: the resolvers refuse such references with a Problem first,
// so a denial here means a path that skipped them, and failing closed is the only safe
// answer.
func CheckReferences(p Plan, in ReferenceCheck) []authz.Denial {
	var out []authz.Denial
	deny := func(r authz.Reference) {
		if d := in.Policy.Decide(r); !d.Allowed {
			out = append(out, authz.Denial{Reference: r, Decision: d})
		}
	}
	for _, c := range p.Changes {
		for _, ref := range c.SGs {
			if ref.ID == "" || (ref.ID == in.BackendSGID && in.BackendSGID != "") {
				continue
			}
			deny(in.classified(authz.SecurityGroup, ref.ID, in.SGTags, string(c.Op)))
		}
		for _, arn := range forwardTargets(c) {
			deny(in.classified(authz.TargetGroup, arn, in.TGTags, string(c.Op)))
		}
		if c.Target.Kind == KindTargetGroup && c.Target.ID != "" {
			deny(in.classified(authz.TargetGroup, c.Target.ID, in.TGTags, string(c.Op)))
		}
		if c.Op == OpAuthorize {
			for _, r := range c.Rules {
				if r.PeerKind == sgrules.PeerPrefixList {
					// A managed prefix list is an AWS object no stack makes: classified as
					// such and asked about like every other reference, so that a policy
					// on prefix lists would have one place to go.
					deny(authz.Reference{From: in.From, Kind: authz.PrefixList, Value: r.Peer, ID: r.Peer, Key: string(c.Op),
						Owner: authz.Owner{Class: authz.External}})
				}
			}
		}
		if c.Op == OpRegister {
			for _, t := range c.Targets {
				if r, ok := in.target(t.ID); !ok {
					out = append(out, authz.Denial{Reference: r, Decision: authz.Decision{
						Reason: fmt.Sprintf("target %s is neither the IP of exactly one live Pod nor a Node's instance", t.ID),
						Fix:    "targets are the live Pods a Service selects, or the cluster's Nodes"}})
				} else if r.Kind == authz.Pod {
					deny(r)
				}
			}
		}
	}
	return out
}

// classified is a reference to an existing resource, with its owner from its observed tags.
func (in ReferenceCheck) classified(kind authz.Kind, id string, tags map[string]map[string]string, key string) authz.Reference {
	r := authz.Reference{From: in.From, Kind: kind, Value: id, ID: id, Key: key}
	t, ok := tags[id]
	if !ok {
		// Not observed: whose it is cannot be told, so it is treated as lbsg-made by no
		// stack, which the policy refuses.
		r.Owner = authz.Owner{Class: authz.Unattributed}
		return r
	}
	r.Owner = in.Classifier.Classify(t)
	return r
}

// target classifies one registered target: an IP must be held by exactly one live Pod, an
// instance must be a Node's.
func (in ReferenceCheck) target(id string) (authz.Reference, bool) {
	r := authz.Reference{From: in.From, Kind: authz.Pod, Value: id, ID: id, Key: string(OpRegister)}
	if _, err := netip.ParseAddr(id); err != nil {
		r.Kind = "Instance"
		return r, in.Instances[id]
	}
	// One Pod holds an IP, or Pods on the host network share their Node's: then any of
	// them is the target, and the IP belongs to their namespaces. A Pod of its own and
	// host-network Pods on one IP is a conflict, as two Pods of their own are.
	var own, host []PodRef
	for _, p := range in.PodIPs[id] {
		if p.HostNetwork {
			host = append(host, p)
		} else {
			own = append(own, p)
		}
	}
	holders := own
	if len(own) == 0 {
		holders = host
	}
	if len(own) > 1 || (len(own) == 1 && len(host) > 0) || len(holders) == 0 {
		return r, false
	}
	r.Owner = authz.Owner{Class: authz.Stack, Stack: "Pod " + holders[0].Namespace + "/" + holders[0].Name}
	for _, p := range holders {
		if !slices.Contains(r.Owner.Namespaces, p.Namespace) {
			r.Owner.Namespaces = append(r.Owner.Namespaces, p.Namespace)
		}
	}
	return r, true
}

// TargetGroupsNamed are the existing target groups a plan's changes forward or write to.
func TargetGroupsNamed(p Plan) []string {
	var arns []string
	for _, c := range p.Changes {
		more := forwardTargets(c)
		if c.Target.Kind == KindTargetGroup && c.Target.ID != "" {
			more = append(more, c.Target.ID)
		}
		for _, a := range more {
			if !slices.Contains(arns, a) {
				arns = append(arns, a)
			}
		}
	}
	return arns
}

// forwardTargets are the existing target groups a change's listener or rule forwards to.
func forwardTargets(c Change) []string {
	var arns []string
	add := func(tg Ref, refs []Ref, action *state.RuleAction) {
		ids := []string{tg.ID}
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
		if action != nil {
			for _, f := range action.Forward {
				ids = append(ids, f.TargetGroupARN)
			}
		}
		for _, id := range ids {
			if id != "" && !slices.Contains(arns, id) {
				arns = append(arns, id)
			}
		}
	}
	if l := c.Listener; l != nil {
		add(l.TargetGroup, l.DefaultForwardRefs, l.DefaultAction)
	}
	if r := c.Rule; r != nil {
		add(r.TargetGroup, r.ForwardRefs, r.Action)
	}
	return arns
}
