// Package state holds plain values describing what exists in AWS, as observed. The readers
// in internal/cloud and internal/elb fill them; the planner compares them with the desired
// state. No behaviour lives here.
package state

import "github.com/lbsg/lbsg/internal/sgrules"

// SecurityGroup as observed.
type SecurityGroup struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags,omitempty"`
	Ingress []sgrules.Rule    `json:"ingress,omitempty"`
}

// LoadBalancer as observed.
type LoadBalancer struct {
	ARN            string            `json:"arn"`
	Name           string            `json:"name"`
	DNSName        string            `json:"dnsName"`
	Type           string            `json:"type"`
	Scheme         string            `json:"scheme"`
	IPAddressType  string            `json:"ipAddressType"`
	SecurityGroups []string          `json:"securityGroups,omitempty"`
	Subnets        []string          `json:"subnets,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	// PrivateLinkEnforce is "on", "off" or "" when AWS does not report it.
	PrivateLinkEnforce string `json:"privateLinkEnforce,omitempty"`
	// VPCID is the load balancer's VPC ("" when not reported). Load balancers are listed
	// for the whole region; only those of the cluster's VPC are ever collected as orphans.
	VPCID string `json:"vpcID,omitempty"`
}

// HealthCheck of a target group as observed.
type HealthCheck struct {
	Protocol     string `json:"protocol"`
	Port         string `json:"port"`
	Path         string `json:"path,omitempty"`
	Interval     int32  `json:"interval,omitempty"`
	Timeout      int32  `json:"timeout,omitempty"`
	Healthy      int32  `json:"healthy,omitempty"`
	Unhealthy    int32  `json:"unhealthy,omitempty"`
	SuccessCodes string `json:"successCodes,omitempty"` // the matcher's HTTP or gRPC codes
}

// TargetGroup as observed.
type TargetGroup struct {
	ARN         string            `json:"arn"`
	Name        string            `json:"name"`
	Protocol    string            `json:"protocol"`
	Port        int32             `json:"port"`
	TargetType  string            `json:"targetType"`
	HealthCheck HealthCheck       `json:"healthCheck"`
	Tags        map[string]string `json:"tags,omitempty"`
	// ProtocolVersion of an HTTP or HTTPS target group (HTTP1, HTTP2, GRPC).
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// VPCID is the target group's VPC ("" when not reported), as for LoadBalancer.
	VPCID string `json:"vpcID,omitempty"`
}

// Listener as observed. TargetGroupARN is the forward target of its default action; an
// ALB listener whose default action is a fixed response has FixedResponseStatus instead.
// What lbsg does not model is recorded too, so the planner can leave it alone.
type Listener struct {
	ARN                 string `json:"arn"`
	Port                int32  `json:"port"`
	Protocol            string `json:"protocol"`
	TargetGroupARN      string `json:"targetGroupARN,omitempty"`
	FixedResponseStatus string `json:"fixedResponseStatus,omitempty"`
	// Certificates are the HTTPS listener's certificate ARNs, the default one first and the
	// others sorted.
	Certificates []string `json:"certificates,omitempty"`
	// Rules are the listener's non-default rules (ALB only), by ascending priority.
	Rules []ListenerRule `json:"rules,omitempty"`
	// SslPolicy is the HTTPS or TLS listener's security policy. lbsg never sets it.
	SslPolicy string `json:"sslPolicy,omitempty"`
	// ALPNPolicy is a TLS listener's ALPN policy; "" when it has none.
	ALPNPolicy string `json:"alpnPolicy,omitempty"`
	// RedirectPort is set when the default action is lbsg's redirect to HTTPS on that port
	// (permanent, keeping host, path and query): ssl-redirect.
	RedirectPort int32 `json:"redirectPort,omitempty"`
	// Unmodelled describes a default action lbsg never writes ("redirect", "fixed-response
	// 503", "authenticate-oidc, forward", "forward to 2 target groups"...); "" for a plain
	// forward to one target group or a fixed 404. lbsg leaves such an action as it is.
	Unmodelled string `json:"unmodelled,omitempty"`
	// DefaultAction is the default action when it is one redirect, fixed response or
	// weighted or sticky forward (also described in Unmodelled): what an actions.*
	// annotation on spec.defaultBackend sets.
	DefaultAction *RuleAction `json:"defaultAction,omitempty"`
	// Tags of the listener. Listeners lbsg creates carry the cluster and stack tags;
	// adopted ones may have none.
	Tags map[string]string `json:"tags,omitempty"`
}

// ListenerRule is one non-default ALB listener rule as observed. Hosts and Paths are the
// values of its host-header and path-pattern conditions; TargetGroupARN is where it forwards.
type ListenerRule struct {
	ARN            string   `json:"arn"`
	Priority       int32    `json:"priority"`
	Hosts          []string `json:"hosts,omitempty"`
	Paths          []string `json:"paths,omitempty"`
	TargetGroupARN string   `json:"targetGroupARN"`
	// Action is the rule's action when it is not a plain forward to one target group (then
	// TargetGroupARN is empty); Conditions its conditions other than host and path.
	Action     *RuleAction     `json:"action,omitempty"`
	Conditions []RuleCondition `json:"conditions,omitempty"`
	// Rich describes what Action and Conditions hold ("redirect", "condition http-header"),
	// "" when they are empty. lbsg rewrites or deletes such a rule only when it carries
	// lbsg's tags: one it adopted is left as it is.
	Rich string `json:"rich,omitempty"`
	// Unmodelled describes actions or conditions lbsg never writes ("authenticate-oidc,
	// forward", "condition unknown"...); "" when lbsg models all of the rule. lbsg neither
	// modifies nor deletes such a rule.
	Unmodelled string `json:"unmodelled,omitempty"`
	// Tags of the rule, as for Listener.Tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// Target is one registered target: an instance ID or an IP, and a port.
type Target struct {
	ID   string `json:"id"`
	Port int32  `json:"port"`
}
