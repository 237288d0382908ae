// Package explain answers "who can reach what" for one Service or Ingress group: from the
// client CIDRs and prefix lists, through the frontend security groups, the load balancer and
// its listeners, the target groups and the rules on each target security group, to the
// nodes or pods and the ports they admit. It marks every rule that opens more than the
// object asked for (over-exposure) and every rule lbsg did not write (foreign).
//
// It is pure: the caller reads Kubernetes and AWS and passes the values in (Input); Build
// returns a Graph that renders as text, Graphviz dot or JSON.
package explain

// Schema names the JSON layout of Graph. It changes only when a field changes meaning or
// goes away; new fields may be added under the same name.
const Schema = "lbsg.explain/v1"

// Relations of a rule to the explained object.
const (
	// RelationClient: a rule on one of the load balancer's security groups: it decides
	// which clients reach the load balancer.
	RelationClient = "client"
	// RelationPath: a rule on a target security group that admits the load balancer's
	// traffic (its source is one of the load balancer's security groups, or for an NLB
	// without security groups, a CIDR or prefix list on the object's target ports).
	RelationPath = "path"
	// RelationBypass: a rule on a target security group that admits one of the object's
	// target ports from a source that is not the load balancer.
	RelationBypass = "bypass"
	// RelationOther: a rule on a target security group that has nothing to do with the
	// object (other ports, other sources).
	RelationOther = "other"
)

// Roles of a security group in the graph.
const (
	RoleManaged = "managed" // the frontend SG lbsg creates for the load balancer
	RoleUser    = "user"    // a frontend SG the user named by annotation (or attached by hand)
	RoleBackend = "backend" // the cluster's shared backend SG
	RoleTarget  = "target"  // the SG of target nodes or pods that gets the inbound rules
)

// Graph is the answer for one object. Every list is sorted, so equal inputs give equal
// output.
type Graph struct {
	Schema string `json:"schema"`
	Object Object `json:"object"`
	// Stack is the load balancer stack the object belongs to: "Service ns/name",
	// "IngressGroup name" or "Ingress ns/name".
	Stack string `json:"stack"`
	// Members are the Ingresses of the group ("ns/name"), for an Ingress.
	Members []string `json:"members,omitempty"`
	// Problems are why lbsg cannot build the object's desired state (bad input); the graph
	// then shows only what exists.
	Problems []string `json:"problems,omitempty"`
	// Notes are facts the reader needs (no load balancer yet, pending changes...).
	Notes        []string      `json:"notes,omitempty"`
	LoadBalancer *LoadBalancer `json:"loadBalancer,omitempty"`
	Asked        Asked         `json:"asked"`
	// SecurityGroups are the load balancer's SGs (in the load balancer's order) followed
	// by the target SGs (by ID). An SG with two roles appears once.
	SecurityGroups []SecurityGroup `json:"securityGroups"`
	Listeners      []Listener      `json:"listeners"`
	TargetGroups   []TargetGroup   `json:"targetGroups"`
	// Paths are the ways clients reach targets, one per (client source, listener, target
	// group, target SG), followed by the bypasses (target ports reachable directly).
	Paths   []Path  `json:"paths"`
	Summary Summary `json:"summary"`
}

// Object is the Kubernetes object explained.
type Object struct {
	Kind      string `json:"kind"` // Service or Ingress
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// LoadBalancer as it exists in AWS.
type LoadBalancer struct {
	Name    string `json:"name"`
	ARN     string `json:"arn"`
	DNSName string `json:"dnsName,omitempty"`
	Type    string `json:"type"`
	Scheme  string `json:"scheme"`
	// Frontend is how the object gets its frontend SGs: managed, custom or none.
	Frontend       string   `json:"frontend"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
}

// Asked is what the object asks for, as lbsg computes it from its spec and annotations.
type Asked struct {
	// Clients are the rules the load balancer's frontend should have: listener ports from
	// the source ranges (or 0.0.0.0/0) and prefix lists.
	Clients []string `json:"clients,omitempty"`
	// Targets are the rules the target SGs should have for this object: its traffic and
	// health-check ports from lbsg's source SG, or CIDR rules for an NLB without SGs.
	Targets []string `json:"targets,omitempty"`
}

// SecurityGroup with every inbound rule AWS holds, each classified.
type SecurityGroup struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles"`
	// Targets are the targets ("id:port") behind the SG, for a target SG.
	Targets []string `json:"targets,omitempty"`
	Rules   []Rule   `json:"rules"`
	// Missing is set when the SG could not be read (deleted, or not in the VPC).
	Missing bool `json:"missing,omitempty"`
}

// Rule is one inbound rule with one source, as AWS holds it.
type Rule struct {
	Protocol    string `json:"protocol"`
	FromPort    int32  `json:"fromPort"`
	ToPort      int32  `json:"toPort"`
	PeerKind    string `json:"peerKind"` // cidr, cidr6, prefix-list or sg
	Peer        string `json:"peer"`
	Description string `json:"description,omitempty"`
	// Text is the rule as lbsg prints it ("tcp 80 from 0.0.0.0/0").
	Text     string `json:"text"`
	Relation string `json:"relation"`
	// Foreign is set when lbsg did not write the rule: on a managed SG, a rule lbsg does
	// not want (it revokes it at its next reconcile); on a target SG, a rule without
	// lbsg's description for this cluster; every rule of a user or backend SG.
	Foreign bool `json:"foreign"`
	// OverExposure says what the rule opens beyond what the object asked for; empty when
	// nothing.
	OverExposure []string `json:"overExposure,omitempty"`
}

// Listener of the load balancer and the target groups it forwards to.
type Listener struct {
	Protocol     string   `json:"protocol"`
	Port         int32    `json:"port"`
	TargetGroups []string `json:"targetGroups"` // names
	// Other is an action lbsg does not model (redirect, fixed response...).
	Other string `json:"other,omitempty"`
}

// TargetGroup and its registered targets.
type TargetGroup struct {
	Name            string `json:"name"`
	ARN             string `json:"arn"`
	Protocol        string `json:"protocol"`
	TargetType      string `json:"targetType"`
	HealthCheckPort string `json:"healthCheckPort"`
	// Service is the Service ("ns/name") whose endpoints are the targets, when lbsg
	// wants the target group.
	Service string `json:"service,omitempty"`
	// OfObject: the explained object routes to it (in an Ingress group, only some of the
	// group's target groups are the explained Ingress's).
	OfObject bool     `json:"ofObject"`
	Targets  []Target `json:"targets"`
}

// Target is a registered node (instance ID) or pod (IP) and what its SG admits.
type Target struct {
	ID   string `json:"id"`
	Port int32  `json:"port"`
	ENI  string `json:"eni,omitempty"`
	// SecurityGroup gets the inbound rules for the target; Error says why it is unknown.
	SecurityGroup string `json:"securityGroup,omitempty"`
	Error         string `json:"error,omitempty"`
	// Reachable: a rule on SecurityGroup admits the traffic port from the load balancer.
	Reachable bool `json:"reachable"`
	// HealthCheckReachable: the same for the health-check port.
	HealthCheckReachable bool `json:"healthCheckReachable"`
}

// Path is one way from a client source to targets.
type Path struct {
	// Client is the source: a CIDR, a prefix list or a security group.
	Client     string `json:"client"`
	ClientKind string `json:"clientKind"`
	// FrontendSG and ClientRule are the LB SG and its rule that admit the client; empty
	// for an NLB without SGs and for a bypass.
	FrontendSG string `json:"frontendSG,omitempty"`
	ClientRule string `json:"clientRule,omitempty"`
	// Listener ("TCP:80") and TargetGroup (name); empty for a bypass.
	Listener    string `json:"listener,omitempty"`
	TargetGroup string `json:"targetGroup,omitempty"`
	// TargetSG and TargetRule admit the traffic on the targets; TargetRule is empty when
	// no rule does (the targets are then not reachable on this path).
	TargetSG   string   `json:"targetSG"`
	TargetRule string   `json:"targetRule,omitempty"`
	Targets    []string `json:"targets"`
	// Bypass: the targets are reachable from Client without the load balancer.
	Bypass      bool `json:"bypass,omitempty"`
	Foreign     bool `json:"foreign"`
	OverExposed bool `json:"overExposed"`
	Blocked     bool `json:"blocked,omitempty"`
}

// Summary counts what the graph marks.
type Summary struct {
	Rules       int `json:"rules"`
	Foreign     int `json:"foreign"`
	OverExposed int `json:"overExposed"`
	// Unreachable are registered targets no rule admits from the load balancer.
	Unreachable int `json:"unreachable"`
}
