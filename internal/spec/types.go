// Package spec builds the desired state of a load balancer stack from Kubernetes objects and
// the controller's settings. It is pure: it takes values and returns values and problems,
// and references that only AWS can resolve (SG names, subnet names) stay unresolved here.
package spec

import (
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// Settings are the controller-wide inputs of the desired state (from flags).
type Settings struct {
	Cluster                    string
	EnableBackendSG            bool
	EnableManageBackendSGRules bool
	NLBSecurityGroup           bool // feature gate
	DisableRestrictedSGRules   bool
	DefaultTags                map[string]string
	DefaultTagsLowPriority     bool
	DefaultTargetType          string
	DefaultScheme              string
	LoadBalancerClass          string
	// DefaultSSLPolicy is --default-ssl-policy: the security policy of TLS and HTTPS
	// listeners that no annotation or IngressClassParams gives one ("" means upstream's
	// default, annotations.DefaultSSLPolicy).
	DefaultSSLPolicy string
}

// sslPolicy is the policy a TLS or HTTPS listener gets when nothing else sets one.
func (s Settings) sslPolicy() string {
	if s.DefaultSSLPolicy != "" {
		return s.DefaultSSLPolicy
	}
	return annotations.DefaultSSLPolicy
}

// Frontend says how a load balancer gets its frontend security groups.
type Frontend string

const (
	FrontendManaged Frontend = "managed" // lbsg creates one SG for the load balancer
	FrontendCustom  Frontend = "custom"  // the user names the SGs by annotation
	FrontendNone    Frontend = "none"    // an NLB without security groups
)

// Stack is the desired state of one load balancer and everything lbsg creates for it.
type Stack struct {
	Owner   Owner  `json:"owner"`
	StackID string `json:"stackID"`
	// StackTag and ResourceTag are the tag keys that tie AWS resources to this stack:
	// service.k8s.aws/... for a Service, ingress.k8s.aws/... for an Ingress group.
	StackTag    string `json:"stackTag"`
	ResourceTag string `json:"resourceTag"`

	LoadBalancer LoadBalancer     `json:"loadBalancer"`
	ManagedSG    *SecurityGroup   `json:"managedSG,omitempty"`
	TargetGroups []TargetGroup    `json:"targetGroups"`
	Listeners    []Listener       `json:"listeners"`
	Networking   TargetNetworking `json:"networking"`

	// Notices are not errors: things the user asked for that lbsg deliberately ignores,
	// with the reason. Each becomes a Warning Event.
	Notices []Notice `json:"notices,omitempty"`
}

// Owner is the Kubernetes object a stack belongs to, so Events reach the right object.
type Owner struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (o Owner) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// LoadBalancer is the desired load balancer. Subnets and custom SGs are references (IDs or
// Name tags) that the caller resolves against AWS.
type LoadBalancer struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"` // "network" or "application"
	Scheme        string            `json:"scheme"`
	IPAddressType string            `json:"ipAddressType"`
	SubnetRefs    []string          `json:"subnetRefs,omitempty"` // nil: discover by role tags
	Frontend      Frontend          `json:"frontend"`
	CustomSGRefs  []string          `json:"customSGRefs,omitempty"`
	UseBackendSG  bool              `json:"useBackendSG"`
	Tags          map[string]string `json:"tags"`
	// PrivateLinkEnforce is "on", "off" or "" (leave as is).
	PrivateLinkEnforce string `json:"privateLinkEnforce,omitempty"`
	// Attributes are the load balancer attributes the user set; others are left as they are.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// SecurityGroup is a managed frontend security group.
type SecurityGroup struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
	Ingress     []sgrules.Rule    `json:"ingress"`
}

// HealthCheck of a target group. Port is "traffic-port" or a number.
type HealthCheck struct {
	Protocol string `json:"protocol"`
	Port     string `json:"port"`
	Path     string `json:"path,omitempty"`
	// The settings below are zero unless the user set them: AWS's value is then left as is.
	Interval     int32  `json:"interval,omitempty"`
	Timeout      int32  `json:"timeout,omitempty"`
	Healthy      int32  `json:"healthy,omitempty"`
	Unhealthy    int32  `json:"unhealthy,omitempty"`
	SuccessCodes string `json:"successCodes,omitempty"`
}

// TargetGroup is one target group per Service port (NLB) or per Ingress backend (ALB).
type TargetGroup struct {
	ResourceID string `json:"resourceID"` // the resource tag value that identifies it
	Name       string `json:"name"`
	Protocol   string `json:"protocol"` // TCP, UDP, TCP_UDP
	Port       int32  `json:"port"`     // the port the target group is created with (upstream's formula)
	// TrafficPort is the port targets receive traffic on: the NodePort (instance) or the
	// resolved target port (ip); 0 while a named port has no endpoints.
	TrafficPort int32             `json:"trafficPort"`
	TargetType  string            `json:"targetType"`
	HealthCheck HealthCheck       `json:"healthCheck"`
	Tags        map[string]string `json:"tags"`
	// ServicePort and TargetPortName identify the Service port, to resolve ip targets.
	ServicePort     int32  `json:"servicePort"`
	ServicePortName string `json:"servicePortName,omitempty"`
	TargetPortName  string `json:"targetPortName,omitempty"`
	IPv6            bool   `json:"ipv6,omitempty"`
	// ServiceNamespace and ServiceName name the Service whose endpoints are the targets.
	ServiceNamespace string `json:"serviceNamespace"`
	ServiceName      string `json:"serviceName"`
	// NodeSelector limits instance targets to nodes with these labels.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// ProtocolVersion (ALB: HTTP1, HTTP2, GRPC) is set at creation; "" leaves AWS's default.
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// Attributes are the target group attributes the user set; others are left as they are.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Listener serves one load-balancer port. Its default action forwards to TargetGroup; an
// ALB listener with no default backend answers 404 instead (TargetGroup is empty).
type Listener struct {
	Port        int32  `json:"port"`
	Protocol    string `json:"protocol"`
	TargetGroup string `json:"targetGroup,omitempty"` // ResourceID of the target group
	// DefaultAction replaces the forward to TargetGroup (then empty) or the 404 when
	// spec.defaultBackend names an actions.* annotation.
	DefaultAction *state.RuleAction `json:"defaultAction,omitempty"`
	// Certificates are the certificate ARNs of an HTTPS or TLS listener, the default one first.
	Certificates []string `json:"certificates,omitempty"`
	// SSLPolicy is the security policy of an HTTPS or TLS listener.
	SSLPolicy string `json:"sslPolicy,omitempty"`
	// SSLPolicyIsDefault says no annotation or IngressClassParams chose SSLPolicy: a new
	// listener gets it, an existing one keeps the policy it has (a person or upstream may
	// have chosen it).
	SSLPolicyIsDefault bool `json:"sslPolicyIsDefault,omitempty"`
	// ALPNPolicy is the ALPN policy of an NLB TLS listener; "" leaves it as AWS has it.
	ALPNPolicy string `json:"alpnPolicy,omitempty"`
	// RedirectPort, when set, makes the default action a permanent (301) redirect to HTTPS
	// on that port (ALB ssl-redirect); the listener then has no rules.
	RedirectPort int32 `json:"redirectPort,omitempty"`
	// Rules are the ALB listener rules, by ascending priority.
	Rules []ListenerRule `json:"rules,omitempty"`
	// Attributes are the listener attributes the user set; others are left as they are.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ListenerRule forwards requests whose host matches one of Hosts (when set) and whose path
// matches one of Paths (ALB path patterns, when set) to a target group.
type ListenerRule struct {
	Priority    int32    `json:"priority"`
	Hosts       []string `json:"hosts,omitempty"`
	Paths       []string `json:"paths,omitempty"`
	TargetGroup string   `json:"targetGroup"` // ResourceID of the target group
	// Action replaces the forward to TargetGroup (then empty) when an actions.* annotation
	// sets a redirect, a fixed response or a forward to several target groups.
	Action *state.RuleAction `json:"action,omitempty"`
	// Conditions are the conditions.* annotation's conditions other than host and path.
	Conditions []state.RuleCondition `json:"conditions,omitempty"`
}

// TargetNetworking is what the targets' security groups must admit for this stack.
type TargetNetworking struct {
	// Manage is false when the user supplied frontend SGs and did not ask lbsg to manage
	// target rules: then lbsg adds nothing to target SGs for this stack.
	Manage bool `json:"manage"`
	// Source says which SG is the peer of the target rules: "backend" (the shared backend
	// SG) or "frontend" (the managed frontend SG, when the backend SG is disabled). Empty
	// for legacy NLBs without SGs, whose rules come from CIDRs.
	Source string         `json:"source,omitempty"`
	Needs  []sgrules.Need `json:"needs,omitempty"`
	// LegacyCIDRs are the rules of an NLB without security groups (reference §5.8), by
	// peer CIDR. Only used when Source is empty.
	Legacy []LegacyNeed `json:"legacy,omitempty"`
}

// LegacyNeed is a CIDR-sourced rule for an NLB without security groups. Peers are
// symbolic where AWS must resolve them: "subnets" (the LB subnets' CIDRs) and "vpc".
type LegacyNeed struct {
	Need  sgrules.Need `json:"need"`
	Peers []string     `json:"peers"`
}

// Source values of TargetNetworking.
const (
	SourceBackend  = "backend"
	SourceFrontend = "frontend"
)

// Legacy symbolic peers.
const (
	PeerSubnets = "subnets"
	PeerVPC     = "vpc"
)

// Notice is something lbsg ignores or adjusts on purpose; it is reported as a Warning Event.
type Notice struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Ingress is "<namespace>/<name>" of the one member of an Ingress group the notice is
	// about; empty means the stack's object (the Service, or every member of the group).
	Ingress string `json:"ingress,omitempty"`
}

// Reasons of the notices the spec builders give.
const (
	// NoticeCIDRCanonicalized: a CIDR is used in another form than written (host bits
	// cleared, IPv6 spelled canonically).
	NoticeCIDRCanonicalized = "CIDRCanonicalized"
	// NoticeUnsupportedAnnotations: upstream annotation keys lbsg does not implement.
	NoticeUnsupportedAnnotations = "UnsupportedAnnotations"
)

// MaxSecurityGroupsPerLoadBalancer is ELBv2's limit of security groups on one load balancer.
const MaxSecurityGroupsPerLoadBalancer = 5

// Problem is bad input: it names the key, the value and the fix. A stack with problems is
// not applied.
type Problem = annotations.Error
