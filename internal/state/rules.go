package state

// RuleAction is a listener rule's action beyond a plain forward to one target group: a
// forward to several target groups with weights and stickiness, a redirect or a fixed
// response. The desired state (spec) and the observed state use the same values; in the
// desired state a forward target names its target group by ResourceID when lbsg makes it.
type RuleAction struct {
	Type          string         `json:"type"` // forward, redirect, fixed-response
	Forward       []ForwardTo    `json:"forward,omitempty"`
	Stickiness    *Stickiness    `json:"stickiness,omitempty"`
	Redirect      *Redirect      `json:"redirect,omitempty"`
	FixedResponse *FixedResponse `json:"fixedResponse,omitempty"`
}

// Rule action types, as the ELBv2 API spells them.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
)

// ForwardTo is one target group of a forward action. TargetGroup (desired state only) is
// the ResourceID of a target group lbsg makes; TargetGroupARN one given by ARN.
type ForwardTo struct {
	TargetGroup    string `json:"targetGroup,omitempty"`
	TargetGroupARN string `json:"targetGroupARN,omitempty"`
	Weight         *int32 `json:"weight,omitempty"`
}

// Stickiness is a forward action's target group stickiness.
type Stickiness struct {
	Enabled         bool  `json:"enabled"`
	DurationSeconds int32 `json:"durationSeconds,omitempty"`
}

// Redirect is a redirect action; empty fields keep the request's value (AWS's #{...}).
type Redirect struct {
	Protocol   string `json:"protocol,omitempty"`
	Port       string `json:"port,omitempty"`
	Host       string `json:"host,omitempty"`
	Path       string `json:"path,omitempty"`
	Query      string `json:"query,omitempty"`
	StatusCode string `json:"statusCode"` // HTTP_301 or HTTP_302
}

// FixedResponse is a fixed-response action.
type FixedResponse struct {
	ContentType string `json:"contentType,omitempty"`
	StatusCode  string `json:"statusCode"`
	MessageBody string `json:"messageBody,omitempty"`
}

// Condition fields beyond host-header and path-pattern, which rules keep in Hosts and Paths.
const (
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// RuleCondition is one http-header, http-request-method, query-string or source-ip
// condition of a rule.
type RuleCondition struct {
	Field      string `json:"field"`
	HeaderName string `json:"headerName,omitempty"` // http-header
	// Values of http-header, http-request-method and source-ip.
	Values []string `json:"values,omitempty"`
	// Query of query-string: key=value pairs, the key may be empty.
	Query []QueryPair `json:"query,omitempty"`
}

// QueryPair is one key/value of a query-string condition.
type QueryPair struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}
