package annotations

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/state"
)

// Custom actions and conditions of Ingress rules. Their keys are dynamic: the name after
// the prefix is what an Ingress backend names as service.name, with service.port.name
// set to UseAnnotation for an action. The values are JSON, as upstream documents them.
const (
	IngActionsPrefix    = IngressPrefix + "actions."
	IngConditionsPrefix = IngressPrefix + "conditions."
	// UseAnnotation is the backend port name that makes service.name name an action.
	UseAnnotation = "use-annotation"
)

// Limits AWS puts on rule actions and conditions.
const (
	maxForwardTargetGroups = 5
	maxWeight              = 999
	maxStickinessSeconds   = 604800
	maxMessageBody         = 1024
)

// Action is a parsed actions.<name> annotation.
type Action struct {
	Type string
	// Targets of a forward: a target group by ARN or a Service port lbsg makes one for.
	Targets       []ActionTarget
	Stickiness    *state.Stickiness
	Redirect      *state.Redirect
	FixedResponse *state.FixedResponse
}

// ActionTarget is one target group of a forward action.
type ActionTarget struct {
	TargetGroupARN string
	ServiceName    string
	// ServicePort is the Service port's name or number, as written.
	ServicePort string
	Weight      *int32
}

// Condition is one entry of a conditions.<name> annotation. host-header, path-pattern,
// http-request-method and source-ip carry Values; http-header HeaderName and Values;
// query-string Query.
type Condition struct {
	Field      string
	HeaderName string
	Values     []string
	Query      []state.QueryPair
}

// The JSON shapes of the annotations (upstream's field names; encoding/json matches them
// case-insensitively, as upstream's decoder does).
type actionJSON struct {
	Type           string `json:"type"`
	TargetGroupARN string `json:"targetGroupARN"`
	ForwardConfig  *struct {
		TargetGroups []struct {
			TargetGroupARN string          `json:"targetGroupARN"`
			ServiceName    string          `json:"serviceName"`
			ServicePort    json.RawMessage `json:"servicePort"`
			Weight         *int32          `json:"weight"`
		} `json:"targetGroups"`
		TargetGroupStickinessConfig *struct {
			Enabled         *bool  `json:"enabled"`
			DurationSeconds *int32 `json:"durationSeconds"`
		} `json:"targetGroupStickinessConfig"`
	} `json:"forwardConfig"`
	RedirectConfig *struct {
		Protocol   string `json:"protocol"`
		Port       string `json:"port"`
		Host       string `json:"host"`
		Path       string `json:"path"`
		Query      string `json:"query"`
		StatusCode string `json:"statusCode"`
	} `json:"redirectConfig"`
	FixedResponseConfig *struct {
		ContentType string `json:"contentType"`
		StatusCode  string `json:"statusCode"`
		MessageBody string `json:"messageBody"`
	} `json:"fixedResponseConfig"`
}

type valuesJSON struct {
	Values []string `json:"values"`
}

type conditionJSON struct {
	Field             string      `json:"field"`
	HostHeaderConfig  *valuesJSON `json:"hostHeaderConfig"`
	PathPatternConfig *valuesJSON `json:"pathPatternConfig"`
	HTTPHeaderConfig  *struct {
		HTTPHeaderName string   `json:"httpHeaderName"`
		Values         []string `json:"values"`
	} `json:"httpHeaderConfig"`
	HTTPRequestMethodConfig *valuesJSON `json:"httpRequestMethodConfig"`
	QueryStringConfig       *struct {
		Values []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"values"`
	} `json:"queryStringConfig"`
	SourceIPConfig *valuesJSON `json:"sourceIpConfig"`
}

var (
	fixedStatus  = regexp.MustCompile(`^[245][0-9][0-9]$`)
	httpMethod   = regexp.MustCompile(`^[A-Za-z_-]{1,40}$`)
	contentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}
)

// decodeStrict decodes JSON, refusing unknown fields (a misspelt field would otherwise be
// dropped silently, and the rule would route differently from what was meant) and
// trailing data.
func decodeStrict(v string, into any) error {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

// ParseAction parses the value of an actions.<name> annotation.
func ParseAction(key, v string) (*Action, *Error) {
	fail := func(reason, fix string) (*Action, *Error) {
		return nil, &Error{Key: key, Value: v, Reason: reason, Fix: fix}
	}
	if strings.TrimSpace(v) == "" {
		return fail("the action is empty", `set it to a JSON action such as {"type":"fixed-response","fixedResponseConfig":{"statusCode":"404"}}, or remove it`)
	}
	var j actionJSON
	if err := decodeStrict(v, &j); err != nil {
		return fail("malformed action JSON: "+err.Error(), "write the action as upstream documents it: a JSON object with type and forwardConfig, redirectConfig or fixedResponseConfig")
	}
	a := &Action{Type: j.Type}
	switch j.Type {
	case state.ActionForward:
		if j.RedirectConfig != nil || j.FixedResponseConfig != nil {
			return fail("a forward action has redirectConfig or fixedResponseConfig", "remove the config that does not belong to type forward")
		}
		if j.TargetGroupARN != "" {
			if j.ForwardConfig != nil {
				return fail("a forward action has both targetGroupARN and forwardConfig", "use one of them")
			}
			a.Targets = []ActionTarget{{TargetGroupARN: j.TargetGroupARN}}
			return a, nil
		}
		if j.ForwardConfig == nil || len(j.ForwardConfig.TargetGroups) == 0 {
			return fail("a forward action names no target group", "set targetGroupARN, or forwardConfig.targetGroups with serviceName and servicePort or targetGroupARN")
		}
		if n := len(j.ForwardConfig.TargetGroups); n > maxForwardTargetGroups {
			return fail(fmt.Sprintf("a forward action has %d target groups; AWS allows at most %d", n, maxForwardTargetGroups), "forward to at most 5 target groups")
		}
		for i, tg := range j.ForwardConfig.TargetGroups {
			t := ActionTarget{TargetGroupARN: tg.TargetGroupARN, ServiceName: tg.ServiceName, Weight: tg.Weight}
			port, err := servicePort(tg.ServicePort)
			if err != nil {
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d].servicePort: %v", i, err), "set servicePort to the name or number of a port of the Service")
			}
			t.ServicePort = port
			switch {
			case t.TargetGroupARN != "" && t.ServiceName != "":
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d] has both targetGroupARN and serviceName", i), "give one of them")
			case t.TargetGroupARN == "" && t.ServiceName == "":
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d] has neither targetGroupARN nor serviceName", i), "give the ARN of a target group, or a serviceName and servicePort")
			case t.ServiceName != "" && t.ServicePort == "":
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d] has serviceName %s but no servicePort", i, t.ServiceName), "set servicePort to the name or number of a port of the Service")
			case t.TargetGroupARN != "" && tg.ServicePort != nil:
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d] has servicePort without serviceName", i), "remove servicePort, or name the Service")
			}
			if t.Weight != nil && (*t.Weight < 0 || *t.Weight > maxWeight) {
				return fail(fmt.Sprintf("forwardConfig.targetGroups[%d].weight %d is out of range [0:%d]", i, *t.Weight, maxWeight), "set a weight from 0 to 999")
			}
			a.Targets = append(a.Targets, t)
		}
		if s := j.ForwardConfig.TargetGroupStickinessConfig; s != nil {
			st := &state.Stickiness{Enabled: s.Enabled != nil && *s.Enabled}
			if s.DurationSeconds != nil {
				if *s.DurationSeconds < 1 || *s.DurationSeconds > maxStickinessSeconds {
					return fail(fmt.Sprintf("targetGroupStickinessConfig.durationSeconds %d is out of range [1:%d]", *s.DurationSeconds, maxStickinessSeconds),
						"set durationSeconds from 1 to 604800 (7 days)")
				}
				st.DurationSeconds = *s.DurationSeconds
			}
			if st.Enabled && st.DurationSeconds == 0 {
				return fail("targetGroupStickinessConfig is enabled without durationSeconds", "set durationSeconds from 1 to 604800")
			}
			a.Stickiness = st
		}
	case state.ActionRedirect:
		r := j.RedirectConfig
		if r == nil {
			return fail("a redirect action has no redirectConfig", `add redirectConfig, for example {"protocol":"HTTPS","port":"443","statusCode":"HTTP_301"}`)
		}
		if j.ForwardConfig != nil || j.FixedResponseConfig != nil || j.TargetGroupARN != "" {
			return fail("a redirect action has forward or fixed-response settings", "remove the settings that do not belong to type redirect")
		}
		if r.StatusCode != "HTTP_301" && r.StatusCode != "HTTP_302" {
			return fail(fmt.Sprintf("redirectConfig.statusCode %q must be HTTP_301 or HTTP_302", r.StatusCode), "set statusCode to HTTP_301 (permanent) or HTTP_302 (temporary)")
		}
		switch r.Protocol {
		case "", "HTTP", "HTTPS", "#{protocol}":
		default:
			return fail(fmt.Sprintf("redirectConfig.protocol %q must be HTTP, HTTPS or #{protocol}", r.Protocol), "set protocol to HTTP or HTTPS, or leave it out to keep the request's")
		}
		if r.Port != "" && r.Port != "#{port}" {
			if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
				return fail(fmt.Sprintf("redirectConfig.port %q must be a port from 1 to 65535 or #{port}", r.Port), "set port to a number such as 443, or leave it out to keep the request's")
			}
		}
		if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
			return fail(fmt.Sprintf("redirectConfig.path %q must start with /", r.Path), "start the path with /, or leave it out to keep the request's")
		}
		a.Redirect = &state.Redirect{Protocol: r.Protocol, Port: r.Port, Host: r.Host, Path: r.Path, Query: r.Query, StatusCode: r.StatusCode}
	case state.ActionFixedResponse:
		f := j.FixedResponseConfig
		if f == nil {
			return fail("a fixed-response action has no fixedResponseConfig", `add fixedResponseConfig, for example {"contentType":"text/plain","statusCode":"503","messageBody":"down"}`)
		}
		if j.ForwardConfig != nil || j.RedirectConfig != nil || j.TargetGroupARN != "" {
			return fail("a fixed-response action has forward or redirect settings", "remove the settings that do not belong to type fixed-response")
		}
		if !fixedStatus.MatchString(f.StatusCode) {
			return fail(fmt.Sprintf("fixedResponseConfig.statusCode %q must be a 2XX, 4XX or 5XX code", f.StatusCode), "set statusCode to a code such as 404 or 503")
		}
		if f.ContentType != "" && !contains(contentTypes, f.ContentType) {
			return fail(fmt.Sprintf("fixedResponseConfig.contentType %q must be one of %s", f.ContentType, strings.Join(contentTypes, ", ")), "use one of these content types")
		}
		if len(f.MessageBody) > maxMessageBody {
			return fail(fmt.Sprintf("fixedResponseConfig.messageBody has %d bytes; AWS allows at most %d", len(f.MessageBody), maxMessageBody), "shorten the message body")
		}
		a.FixedResponse = &state.FixedResponse{ContentType: f.ContentType, StatusCode: f.StatusCode, MessageBody: f.MessageBody}
	case "":
		return fail("the action has no type", "set type to forward, redirect or fixed-response")
	default:
		return fail(fmt.Sprintf("unknown action type %q", j.Type), "set type to forward, redirect or fixed-response")
	}
	return a, nil
}

// servicePort reads a servicePort given as a name or a number.
func servicePort(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return "", fmt.Errorf("empty")
		}
		return s, nil
	}
	var n int32
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s is neither a port name nor a port number from 1 to 65535", raw)
	}
	return strconv.Itoa(int(n)), nil
}

// ParseConditions parses the value of a conditions.<name> annotation.
func ParseConditions(key, v string) ([]Condition, *Error) {
	fail := func(reason, fix string) ([]Condition, *Error) {
		return nil, &Error{Key: key, Value: v, Reason: reason, Fix: fix}
	}
	if strings.TrimSpace(v) == "" {
		return fail("the conditions are empty", `set them to a JSON list such as [{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","values":["beta"]}}], or remove the annotation`)
	}
	var list []conditionJSON
	if err := decodeStrict(v, &list); err != nil {
		return fail("malformed conditions JSON: "+err.Error(), "write the conditions as upstream documents them: a JSON list of objects with field and its *Config")
	}
	if len(list) == 0 {
		return fail("the condition list is empty", "give at least one condition, or remove the annotation")
	}
	var out []Condition
	for i, c := range list {
		where := fmt.Sprintf("condition %d (%s)", i, c.Field)
		noValues := func(cfg string) ([]Condition, *Error) {
			return fail(where+" has no values", fmt.Sprintf("give %s.values at least one value", cfg))
		}
		set := 0
		for _, p := range []bool{c.HostHeaderConfig != nil, c.PathPatternConfig != nil, c.HTTPHeaderConfig != nil,
			c.HTTPRequestMethodConfig != nil, c.QueryStringConfig != nil, c.SourceIPConfig != nil} {
			if p {
				set++
			}
		}
		if set > 1 {
			return fail(where+" has more than one *Config", "give each condition only the config of its field")
		}
		cond := Condition{Field: c.Field}
		switch c.Field {
		case "host-header":
			if c.HostHeaderConfig == nil || len(c.HostHeaderConfig.Values) == 0 {
				return noValues("hostHeaderConfig")
			}
			cond.Values = c.HostHeaderConfig.Values
		case "path-pattern":
			if c.PathPatternConfig == nil || len(c.PathPatternConfig.Values) == 0 {
				return noValues("pathPatternConfig")
			}
			cond.Values = c.PathPatternConfig.Values
		case state.FieldHTTPHeader:
			h := c.HTTPHeaderConfig
			if h == nil || len(h.Values) == 0 {
				return noValues("httpHeaderConfig")
			}
			if h.HTTPHeaderName == "" {
				return fail(where+" has no httpHeaderName", "set httpHeaderConfig.httpHeaderName to the header to match")
			}
			cond.HeaderName, cond.Values = h.HTTPHeaderName, h.Values
		case state.FieldHTTPRequestMethod:
			if c.HTTPRequestMethodConfig == nil || len(c.HTTPRequestMethodConfig.Values) == 0 {
				return noValues("httpRequestMethodConfig")
			}
			for _, m := range c.HTTPRequestMethodConfig.Values {
				if !httpMethod.MatchString(m) {
					return fail(fmt.Sprintf("%s: %q is not an HTTP method name", where, m), "use method names such as GET or POST")
				}
			}
			cond.Values = c.HTTPRequestMethodConfig.Values
		case state.FieldQueryString:
			if c.QueryStringConfig == nil || len(c.QueryStringConfig.Values) == 0 {
				return noValues("queryStringConfig")
			}
			for _, kv := range c.QueryStringConfig.Values {
				if kv.Value == "" {
					return fail(where+" has a key/value pair without value", "give every queryStringConfig.values entry a value")
				}
				cond.Query = append(cond.Query, state.QueryPair{Key: kv.Key, Value: kv.Value})
			}
		case state.FieldSourceIP:
			if c.SourceIPConfig == nil || len(c.SourceIPConfig.Values) == 0 {
				return noValues("sourceIpConfig")
			}
			for _, ip := range c.SourceIPConfig.Values {
				if _, err := netip.ParsePrefix(ip); err != nil {
					return fail(fmt.Sprintf("%s: %q is not a CIDR", where, ip), "give source IPs as CIDRs such as 192.168.0.0/16")
				}
			}
			cond.Values = c.SourceIPConfig.Values
		case "":
			return fail(fmt.Sprintf("condition %d has no field", i), "set field to host-header, path-pattern, http-header, http-request-method, query-string or source-ip")
		default:
			return fail(fmt.Sprintf("unknown condition field %q", c.Field), "set field to host-header, path-pattern, http-header, http-request-method, query-string or source-ip")
		}
		for _, val := range cond.Values {
			if val == "" {
				return fail(where+" has an empty value", "remove the empty value")
			}
		}
		out = append(out, cond)
	}
	return out, nil
}

// ActionServiceNames returns, sorted and once each, the Services that the well-formed
// actions.* annotations forward to: the Ingress depends on them as on its backends.
func ActionServiceNames(ann map[string]string) []string {
	return actionTargets(ann, func(t ActionTarget) string { return t.ServiceName })
}

// ActionTargetGroupARNs returns, sorted and once each, the target groups that the
// well-formed actions.* annotations forward to by ARN: whose they are decides whether the
// Ingress may forward to them (authz).
func ActionTargetGroupARNs(ann map[string]string) []string {
	return actionTargets(ann, func(t ActionTarget) string { return t.TargetGroupARN })
}

// actionTargets returns, sorted and once each, what of its forward targets the well-formed
// actions.* annotations name.
func actionTargets(ann map[string]string, of func(ActionTarget) string) []string {
	var out []string
	for k, v := range ann {
		if !strings.HasPrefix(k, IngActionsPrefix) {
			continue
		}
		a, err := ParseAction(k, v)
		if err != nil {
			continue
		}
		for _, t := range a.Targets {
			if x := of(t); x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	sort.Strings(out)
	return out
}
