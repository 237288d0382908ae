// Package plan computes the ordered changes that turn observed AWS state into the desired
// state. It is pure: the same inputs always give the same plan, and nothing here talks to
// AWS or Kubernetes. `lbsg plan` prints a Plan; the apply package executes it.
package plan

import (
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Op is what a Change does.
type Op string

const (
	OpCreateSG   Op = "create-sg"
	OpTagSG      Op = "tag-sg"
	OpAuthorize  Op = "authorize"
	OpCreateTG   Op = "create-tg"
	OpModifyTG   Op = "modify-tg"
	OpTag        Op = "tag"
	OpCreateLB   Op = "create-lb"
	OpSetLBSGs   Op = "set-lb-sgs"
	OpSetSubnets Op = "set-subnets"
	OpSetIPType  Op = "set-ip-address-type"
	// OpTagListeners adds the cluster and stack tags to listeners and rules that exist
	// without them (adopted from upstream or from an older lbsg), once, before any other
	// write on them: the IAM policy allows listener and rule writes only on resources
	// tagged for the cluster.
	OpTagListeners   Op = "tag-listeners"
	OpCreateListener Op = "create-listener"
	OpModifyListener Op = "modify-listener"
	OpCreateRule     Op = "create-rule"
	OpModifyRule     Op = "modify-rule"
	OpDeleteRule     Op = "delete-rule"
	OpRegister       Op = "register-targets"
	OpDeregister     Op = "deregister-targets"
	OpRevoke         Op = "revoke"
	// OpSetLBAttributes, OpSetTGAttributes and OpSetListenerAttributes write the
	// attributes (Change.Attributes) whose observed value differs from the user's.
	OpSetLBAttributes       Op = "set-lb-attributes"
	OpSetTGAttributes       Op = "set-tg-attributes"
	OpSetListenerAttributes Op = "set-listener-attributes"
	OpDeleteListener        Op = "delete-listener"
	OpDeleteLB              Op = "delete-lb"
	OpDeleteTG              Op = "delete-tg"
	OpDeleteSG              Op = "delete-sg"
)

// Phase orders changes: creates and widenings first, narrowings and deletes last, so that
// nothing is referenced before it exists and no rule is revoked before its replacement.
type Phase int

const (
	// PhaseReplaceLBs deletes a load balancer that must be replaced (its scheme or name
	// changed) before anything else: its target groups can belong to one load balancer
	// only, so the new one cannot use them while the old one exists.
	PhaseReplaceLBs Phase = iota + 1
	PhaseEnsureSGs
	PhaseAuthorize
	PhaseTargetGroups
	// PhaseTargets registers targets before any listener or rule forwards to a new
	// target group, so traffic never reaches an empty one.
	PhaseTargets
	PhaseLoadBalancers
	PhaseAttachSGs
	PhaseListeners
	PhaseRevoke
	PhaseDeleteListeners
	PhaseDeleteLBs
	PhaseDeleteTGs
	PhaseDeleteSGs
)

var phaseOf = map[Op]Phase{
	OpCreateSG: PhaseEnsureSGs, OpTagSG: PhaseEnsureSGs,
	OpAuthorize: PhaseAuthorize,
	OpCreateTG:  PhaseTargetGroups, OpModifyTG: PhaseTargetGroups, OpTag: PhaseTargetGroups,
	OpCreateLB: PhaseLoadBalancers, OpSetSubnets: PhaseLoadBalancers, OpSetIPType: PhaseLoadBalancers,
	OpTagListeners:   PhaseLoadBalancers,
	OpSetLBSGs:       PhaseAttachSGs,
	OpCreateListener: PhaseListeners, OpModifyListener: PhaseListeners,
	OpCreateRule: PhaseListeners, OpModifyRule: PhaseListeners,
	OpDeleteRule: PhaseDeleteListeners,
	OpRegister:   PhaseTargets, OpDeregister: PhaseTargets,
	OpSetTGAttributes: PhaseTargetGroups, OpSetLBAttributes: PhaseLoadBalancers, OpSetListenerAttributes: PhaseListeners,
	OpRevoke:         PhaseRevoke,
	OpDeleteListener: PhaseDeleteListeners,
	OpDeleteLB:       PhaseDeleteLBs,
	OpDeleteTG:       PhaseDeleteTGs,
	OpDeleteSG:       PhaseDeleteSGs,
}

// Kinds of resources a Change targets.
const (
	KindSG           = "security-group"
	KindLoadBalancer = "load-balancer"
	KindTargetGroup  = "target-group"
	KindListener     = "listener"
	KindRule         = "listener-rule"
)

// Ref points at a resource: by AWS ID (or ARN) when it exists, or by the logical Key of a
// resource that an earlier Change of the same plan creates.
type Ref struct {
	Kind string `json:"kind"`
	Key  string `json:"key,omitempty"`
	ID   string `json:"id,omitempty"`
}

func (r Ref) String() string {
	if r.ID != "" {
		return r.ID
	}
	return "(new " + r.Key + ")"
}

// Change is one step of a plan: one AWS API call.
type Change struct {
	Op     Op     `json:"op"`
	Phase  Phase  `json:"phase"`
	Target Ref    `json:"target"`
	Owner  string `json:"owner"`
	Reason string `json:"reason"`

	SG       *spec.SecurityGroup `json:"sg,omitempty"`
	Rules    []sgrules.Rule      `json:"rules,omitempty"`
	RuleTags map[string]string   `json:"ruleTags,omitempty"`
	Tags     map[string]string   `json:"tags,omitempty"`
	Untag    []string            `json:"untag,omitempty"`
	LB       *LBSpec             `json:"lb,omitempty"`
	SGs      []Ref               `json:"sgs,omitempty"`
	Subnets  []string            `json:"subnets,omitempty"`
	IPType   string              `json:"ipType,omitempty"`
	TG       *spec.TargetGroup   `json:"tg,omitempty"`
	Targets  []state.Target      `json:"targets,omitempty"`
	Listener *ListenerSpec       `json:"listener,omitempty"`
	Rule     *RuleSpec           `json:"rule,omitempty"`
	// TagARNs are the listeners and rules tag-listeners tags with Tags; its Target is
	// their load balancer.
	TagARNs []string `json:"tagARNs,omitempty"`
	// PrivateLinkEnforce is set on set-lb-sgs (and create-lb) when it must change.
	PrivateLinkEnforce string `json:"privateLinkEnforce,omitempty"`
	// Attributes (set-*-attributes) are the attributes to write: only those the user set
	// whose observed value differs.
	Attributes map[string]string `json:"attributes,omitempty"`
	// For (authorize and revoke on target SGs) names the owners the rules are for: those
	// that ask for the rules authorized; for a revoke, those that asked for the rules
	// before, or whose rules on the same ports changed, else NoOwner. The audit line of
	// the write names them instead of every owner on the SG.
	For []string `json:"for,omitempty"`
	// HeldBy (delete-sg) are the other SGs whose rules, read fresh while planning, still
	// refer to the SG once the plan's own revokes ran: AWS refuses the deletion until
	// those rules are gone, and they are not lbsg's to remove. See MarkHeldDeletes.
	HeldBy []string `json:"heldBy,omitempty"`
}

// LBSpec is the payload of create-lb.
type LBSpec struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Scheme        string            `json:"scheme"`
	IPAddressType string            `json:"ipAddressType"`
	Subnets       []string          `json:"subnets"`
	Tags          map[string]string `json:"tags"`
}

// ListenerSpec is the payload of create-listener and modify-listener. A zero TargetGroup
// means the default action is a fixed 404 response (an ALB without a default backend).
type ListenerSpec struct {
	LoadBalancer Ref      `json:"loadBalancer"`
	Port         int32    `json:"port"`
	Protocol     string   `json:"protocol"`
	TargetGroup  Ref      `json:"targetGroup"`
	Certificates []string `json:"certificates,omitempty"`
	// SSLPolicy and ALPNPolicy of an HTTPS or TLS listener ("" leaves them as AWS has them).
	SSLPolicy  string `json:"sslPolicy,omitempty"`
	ALPNPolicy string `json:"alpnPolicy,omitempty"`
	// RedirectPort makes the default action a 301 redirect to HTTPS on that port.
	RedirectPort int32 `json:"redirectPort,omitempty"`
	// SameProtocol (modify-listener) says the listener already has Protocol: it is not
	// sent again (the emulator refuses a TLS protocol in ModifyListener even unchanged).
	SameProtocol bool `json:"sameProtocol,omitempty"`
	// KeepProtocol and KeepDefaultAction (modify-listener) leave what lbsg does not model
	// as observed: the protocol with its certificates and SSL policy, or the default action.
	KeepProtocol      bool `json:"keepProtocol,omitempty"`
	KeepDefaultAction bool `json:"keepDefaultAction,omitempty"`
	// DefaultAction replaces the forward to TargetGroup or the 404 when set;
	// DefaultForwardRefs parallel its forward targets, as RuleSpec.ForwardRefs.
	DefaultAction      *state.RuleAction `json:"defaultAction,omitempty"`
	DefaultForwardRefs []Ref             `json:"defaultForwardRefs,omitempty"`
	// Tags (create-listener) are the listener's tags: the cluster and stack tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// RuleSpec is the payload of create-rule and modify-rule.
type RuleSpec struct {
	LoadBalancer Ref      `json:"loadBalancer"`
	Listener     Ref      `json:"listener"`
	Priority     int32    `json:"priority"`
	Hosts        []string `json:"hosts,omitempty"`
	Paths        []string `json:"paths,omitempty"`
	TargetGroup  Ref      `json:"targetGroup"`
	// Action replaces the forward to TargetGroup when set. ForwardRefs parallel a forward
	// Action's targets: the target group lbsg makes, or none for one given by ARN.
	Action      *state.RuleAction     `json:"action,omitempty"`
	ForwardRefs []Ref                 `json:"forwardRefs,omitempty"`
	Conditions  []state.RuleCondition `json:"conditions,omitempty"`
	// Tags (create-rule) are the rule's tags: the cluster and stack tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// Plan is an ordered list of changes.
type Plan struct {
	Changes []Change `json:"changes"`
	// Notices say what lbsg left as observed although it differs from the desired state,
	// because lbsg does not model it (an adopted redirect, a TLS listener...). Each becomes
	// a Warning Event on the owner; they change nothing.
	Notices []string `json:"notices,omitempty"`
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }
