package annotations

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// IngressPrefix is the prefix of every Ingress annotation lbsg reads. The per-backend keys
// (see Backend) carry the same prefix when they are set on a backend Service.
const IngressPrefix = "alb.ingress.kubernetes.io/"

// IngressClassAnnotation is the legacy way to pick an Ingress class, still honoured upstream
// (it takes priority over spec.ingressClassName there).
const IngressClassAnnotation = "kubernetes.io/ingress.class"

// Ingress annotation keys (upstream pkg/annotations/constants.go, with the prefix).
const (
	IngGroupName           = IngressPrefix + "group.name"
	IngGroupOrder          = IngressPrefix + "group.order"
	IngScheme              = IngressPrefix + "scheme"
	IngSubnets             = IngressPrefix + "subnets"
	IngIPAddressType       = IngressPrefix + "ip-address-type"
	IngListenPorts         = IngressPrefix + "listen-ports"
	IngCertificateARN      = IngressPrefix + "certificate-arn"
	IngInboundCIDRs        = IngressPrefix + "inbound-cidrs"
	IngPrefixLists         = IngressPrefix + "security-group-prefix-lists"
	IngSecurityGroups      = IngressPrefix + "security-groups"
	IngManageBackendRules  = IngressPrefix + "manage-backend-security-group-rules"
	IngTags                = IngressPrefix + "tags"
	IngLoadBalancerName    = IngressPrefix + "load-balancer-name"
	IngTargetType          = IngressPrefix + "target-type"
	IngBackendProtocol     = IngressPrefix + "backend-protocol"
	IngHealthCheckPort     = IngressPrefix + "healthcheck-port"
	IngHealthCheckPath     = IngressPrefix + "healthcheck-path"
	IngHealthCheckProtocol = IngressPrefix + "healthcheck-protocol"
	IngTargetNodeLabels    = IngressPrefix + "target-node-labels"
)

// IngressKeys are the group-level Ingress annotations lbsg reads; BackendKeys the per-backend
// ones, which may also be set on a backend Service. When present, each must have a value.
var (
	IngressKeys = []string{
		IngGroupName, IngGroupOrder, IngScheme, IngSubnets, IngIPAddressType, IngListenPorts, IngCertificateARN,
		IngInboundCIDRs, IngPrefixLists, IngSecurityGroups, IngManageBackendRules, IngTags, IngLoadBalancerName,
	}
	BackendKeys = []string{
		IngTargetType, IngBackendProtocol, IngHealthCheckPort, IngHealthCheckPath, IngHealthCheckProtocol, IngTargetNodeLabels,
	}
)

// IPAddressTypeDualNoPublicV4 is the ALB-only dualstack variant whose IPv4 side is private.
// Like dualstack, it turns on the IPv6 rules of the frontend security group.
const IPAddressTypeDualNoPublicV4 = "dualstack-without-public-ipv4"

// The two listener and backend protocols an ALB speaks.
const (
	protoHTTP  = "HTTP"
	protoHTTPS = "HTTPS"
)

// Upstream bounds (pkg/ingress/group_loader.go).
const (
	minGroupOrder      = -1000
	maxGroupOrder      = 1000
	maxGroupNameLength = 63
)

// groupName is upstream's rule for group.name, length aside. Upstream allows '.', so a DNS
// label check would reject groups that upstream already manages.
var groupName = regexp.MustCompile(`^([a-z0-9][-a-z0-9.]*)?[a-z0-9]$`)

// ListenPort is one entry of listen-ports.
type ListenPort struct {
	Protocol string // "HTTP" or "HTTPS"
	Port     int32
}

// Ingress is the typed view of the group-level annotations of one Ingress. Merging the members
// of a group, and the defaults that apply after the merge, are the caller's job.
type Ingress struct {
	GroupName          string            // group.name; "" means the Ingress forms its own (implicit) group
	GroupOrder         int32             // group.order in [-1000, 1000]; 0 when absent
	Scheme             string            // "internal" (default) | "internet-facing"
	SchemeSet          bool              // Scheme came from the annotation; group members that set it must agree
	Subnets            []string          // subnets, IDs or Name tags; nil when absent, empty when present but empty
	IPAddressType      string            // "" when absent, else ipv4 | dualstack | dualstack-without-public-ipv4
	ListenPorts        []ListenPort      // listen-ports; nil when absent (the default depends on certificates)
	CertificateARNs    []string          // certificate-arn; nil when absent, empty when present but empty
	InboundCIDRs       []string          // inbound-cidrs, v4 and v6, canonical (see CanonicalCIDR); nil when absent
	PrefixLists        []string          // security-group-prefix-lists; nil when absent
	SecurityGroups     []string          // security-groups, IDs or Name tags; nil when absent
	ManageBackendRules *bool             // manage-backend-security-group-rules; nil when absent
	Tags               map[string]string // tags; nil when absent
	LoadBalancerName   string            // load-balancer-name; at most 32 characters
	TLS                IngressTLS        // ssl-policy and ssl-redirect (see tls.go)
	// CIDRChanges are the inbound CIDRs lbsg uses in another form than written.
	CIDRChanges []CIDRChange
}

// ParseIngress reads the group-level annotations of one Ingress. It returns the typed view and
// ALL problems, sorted by key; a field whose annotation is bad keeps its default.
func ParseIngress(ann map[string]string) (Ingress, []*Error) {
	// svcParser only collects errors and knows the tag rules, so the Ingress reuses it.
	// The backend keys are checked here too, so that an empty one is reported even on an
	// Ingress without backends; BuildIngressGroup drops the duplicate ParseBackend reports.
	ann, blank := withoutBlank(ann, append(append([]string(nil), IngressKeys...), BackendKeys...))
	p := &svcParser{ann: ann, errs: blank}
	ing := Ingress{Scheme: SchemeInternal}

	if v, ok := ann[IngGroupName]; ok {
		switch {
		case !groupName.MatchString(v):
			p.fail(IngGroupName, v, "groupName must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
				"use a name such as my-team.web, or remove the annotation to keep the Ingress in a group of its own")
		case len(v) > maxGroupNameLength:
			p.fail(IngGroupName, v, fmt.Sprintf("groupName must be no more than %d characters (it has %d)", maxGroupNameLength, len(v)),
				"shorten the name to at most 63 characters")
		default:
			ing.GroupName = v
		}
	}
	if v, ok := ann[IngGroupOrder]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			p.fail(IngGroupOrder, v, "failed to load group.order: not a whole number",
				"set it to a whole number from -1000 to 1000, or remove it (the default is 0)")
		case n < minGroupOrder || n > maxGroupOrder:
			p.fail(IngGroupOrder, v, fmt.Sprintf("failed to load group.order: explicit Ingress group order must be within [%d:%d], order: %d", minGroupOrder, maxGroupOrder, n),
				"set it to a whole number from -1000 to 1000, or remove it (the default is 0)")
		default:
			ing.GroupOrder = int32(n)
		}
	}
	if v, ok := ann[IngScheme]; ok {
		switch v {
		case SchemeInternal, SchemeInternetFacing:
			ing.Scheme, ing.SchemeSet = v, true
		default:
			p.fail(IngScheme, v, `unknown scheme: must be "internal" or "internet-facing"`,
				"set it to internal or internet-facing, or remove it")
		}
	}
	if v, ok := ann[IngSubnets]; ok {
		ing.Subnets = p.refs(IngSubnets, v)
	}
	if v, ok := ann[IngIPAddressType]; ok {
		switch v {
		case IPAddressTypeIPv4, IPAddressTypeDual, IPAddressTypeDualNoPublicV4:
			ing.IPAddressType = v
		default:
			p.fail(IngIPAddressType, v, `unknown IPAddressType: must be "ipv4", "dualstack" or "dualstack-without-public-ipv4"`,
				"set it to ipv4, dualstack or dualstack-without-public-ipv4, or remove it")
		}
	}
	if v, ok := ann[IngListenPorts]; ok {
		if ports, err := ParseListenPorts(IngListenPorts, v); err != nil {
			p.add(err)
		} else {
			ing.ListenPorts = ports
		}
	}
	if v, ok := ann[IngCertificateARN]; ok {
		ing.CertificateARNs = p.list(IngCertificateARN, v)
	}
	if v, ok := ann[IngInboundCIDRs]; ok {
		if cidrs, changed, err := ParseCIDRs(IngInboundCIDRs, v); err != nil {
			// Upstream's wording, so that users searching for it find this error too.
			err.Reason = "invalid inbound-cidrs settings: " + err.Reason
			p.add(err)
		} else {
			ing.InboundCIDRs, ing.CIDRChanges = cidrs, changed
		}
	}
	if v, ok := ann[IngPrefixLists]; ok {
		if ids, err := ParsePrefixLists(IngPrefixLists, v); err != nil {
			p.add(err)
		} else {
			// Upstream lets an empty list suppress the default 0.0.0.0/0 rule; lbsg rejects
			// an empty value before it gets here.
			ing.PrefixLists = ids
		}
	}
	if v, ok := ann[IngSecurityGroups]; ok {
		ing.SecurityGroups = p.refs(IngSecurityGroups, v)
	}
	if v, ok := ann[IngManageBackendRules]; ok {
		if b, err := ParseBool(IngManageBackendRules, v); err != nil {
			p.add(err)
		} else {
			ing.ManageBackendRules = &b
		}
	}
	if v, ok := ann[IngTags]; ok {
		ing.Tags = p.tags(IngTags, v)
	}
	if v, ok := ann[IngLoadBalancerName]; ok {
		if err := checkLoadBalancerName(IngLoadBalancerName, v); err != nil {
			p.add(err)
		} else {
			ing.LoadBalancerName = v
		}
	}
	tls, tlsErrs := ParseIngressTLS(ann)
	ing.TLS, p.errs = tls, append(p.errs, tlsErrs...)

	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return ing, p.errs
}

// checkLoadBalancerName applies ELBv2's rules for a load balancer name, with the same messages
// as the Service's aws-load-balancer-name.
func checkLoadBalancerName(key, v string) *Error {
	switch {
	case len(v) > 32:
		return &Error{Key: key, Value: v,
			Reason: fmt.Sprintf("load balancer name cannot be longer than 32 characters (it has %d)", len(v)),
			Fix:    "use a name of at most 32 letters, digits and hyphens, or remove the annotation to get a generated name"}
	case !lbName.MatchString(v):
		return &Error{Key: key, Value: v,
			Reason: "a load balancer name has only letters, digits and hyphens, and neither starts nor ends with a hyphen",
			Fix:    "use a name such as my-alb-1, or remove the annotation to get a generated name"}
	}
	return nil
}

const listenPortsFix = `write a JSON list of {"PROTOCOL": port} objects, such as [{"HTTP":80},{"HTTPS":443}]`

// ParseListenPorts parses listen-ports, a JSON list of objects that map HTTP or HTTPS to a
// port, such as [{"HTTP":80},{"HTTPS":443}] or [{"HTTP":80,"HTTPS":443}]. Ports keep the order
// of the annotation; keys within one object are sorted, since JSON objects have no order.
// Identical entries are kept once. All problems are named in one Error.
//
// lbsg is stricter than upstream where upstream silently picks a winner: the same port with two
// protocols, and a key repeated within one object (JSON keeps only its last value), are errors;
// a list whose objects are all empty or null is an error, as an ALB without listeners serves
// nothing.
func ParseListenPorts(key, v string) ([]ListenPort, *Error) {
	fail := func(reason string) *Error {
		return &Error{Key: key, Value: v, Reason: reason, Fix: listenPortsFix}
	}
	var entries []json.RawMessage
	if err := json.Unmarshal([]byte(v), &entries); err != nil {
		return nil, fail(fmt.Sprintf("failed to parse listen-ports configuration: `%s`: %s", Shorten(v), Shorten(err.Error())))
	}
	if len(entries) == 0 {
		return nil, fail("empty listen-ports configuration")
	}

	var (
		ports    []ListenPort
		problems []string
		protoOf  = map[int32]string{}
		reported = map[string]bool{}
	)
	problem := func(msg string) {
		if !reported[msg] {
			reported[msg] = true
			problems = append(problems, msg)
		}
	}
	for _, raw := range entries {
		pairs, err := decodeListenPortObject(raw)
		if err != nil {
			return nil, fail(fmt.Sprintf("failed to parse listen-ports configuration: `%s`: %s", Shorten(v), Shorten(err.Error())))
		}
		seen := map[string]bool{}
		for _, kv := range pairs {
			if seen[kv.proto] {
				problem(fmt.Sprintf("one listen-ports object repeats the key %q (JSON keeps only the last value)", Shorten(kv.proto)))
			}
			seen[kv.proto] = true
		}
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].proto < pairs[j].proto })
		for _, kv := range pairs {
			if kv.port < 1 || kv.port > 65535 {
				problem(fmt.Sprintf("listen port must be within [1, 65535]: %d", kv.port))
				continue
			}
			if kv.proto != protoHTTP && kv.proto != protoHTTPS {
				// Exact upper case, as upstream: "http" is rejected there too.
				problem(fmt.Sprintf("listen protocol must be within [HTTP, HTTPS]: %s", Shorten(kv.proto)))
				continue
			}
			port := int32(kv.port)
			switch prev, dup := protoOf[port]; {
			case !dup:
				protoOf[port] = kv.proto
				ports = append(ports, ListenPort{Protocol: kv.proto, Port: port})
			case prev != kv.proto:
				problem(fmt.Sprintf("listen port %d is given with two protocols, %s and %s", port, prev, kv.proto))
			}
		}
	}
	switch {
	case len(problems) > 0:
		return nil, fail(someOfReasons(problems))
	case len(ports) == 0:
		return nil, fail("empty listen-ports configuration: no object names a port")
	}
	return ports, nil
}

type protoPort struct {
	proto string
	port  int64
}

// decodeListenPortObject reads one element of listen-ports: an object of integer values, or
// null (which upstream skips). It walks the tokens rather than decoding into a map so that a
// repeated key is seen. The element is already known to be well-formed JSON.
func decodeListenPortObject(raw json.RawMessage) ([]protoPort, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf(`every entry must be an object such as {"HTTP":80}, not %s`, raw)
	}
	var out []protoPort
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		proto, _ := tok.(string) // object keys are always strings
		var port int64
		if err := dec.Decode(&port); err != nil {
			return nil, fmt.Errorf("the port of %q must be a whole number: %v", proto, err)
		}
		out = append(out, protoPort{proto: proto, port: port})
	}
	return out, nil
}

// someOfReasons joins reasons, keeping the message short when there are many.
func someOfReasons(reasons []string) string {
	const show = 3
	if len(reasons) <= show {
		return strings.Join(reasons, "; ")
	}
	return strings.Join(reasons[:show], "; ") + fmt.Sprintf("; and %d more problems", len(reasons)-show)
}

// Backend is the per-backend configuration. These keys may be set on the Ingress or on the
// backend Service (with the same alb.ingress.kubernetes.io/ prefix); the Service's value wins.
type Backend struct {
	TargetType          string            // "" (absent) | instance | ip
	Protocol            string            // backend-protocol: "" | HTTP | HTTPS (stored upper case)
	HealthCheckPort     string            // "" | "traffic-port" | "1".."65535" | a named port of the Service
	HealthCheckPath     string            // healthcheck-path, starts with "/"
	HealthCheckProtocol string            // "" | HTTP | HTTPS (stored upper case)
	TargetNodeLabels    map[string]string // target-node-labels, nil when absent
}

// ParseBackend reads the per-backend keys: for each key the Service's annotation if present
// (even if empty), else the Ingress's, as upstream merges them. It returns ALL problems,
// sorted by key; a problem with a value taken from the Service says "(on Service)".
func ParseBackend(ingressAnn, serviceAnn map[string]string) (Backend, []*Error) {
	p := &backendParser{ing: ingressAnn, svc: serviceAnn}
	var b Backend
	for _, key := range BackendKeys {
		if v, onSvc, ok := p.get(key); ok && isBlank(v) {
			p.add(emptyError(key, v), onSvc)
		}
	}

	if v, onSvc, ok := p.value(IngTargetType); ok {
		switch v {
		case TargetTypeInstance, TargetTypeIP:
			b.TargetType = v
		default:
			// Unlike the Service's nlb-target-type, upstream rejects an empty value here.
			p.fail(IngTargetType, v, onSvc, fmt.Sprintf("unknown targetType: %s", Shorten(v)),
				"set it to instance (targets are node ports) or ip (targets are pod IPs), or remove it to use --default-target-type")
		}
	}
	if v, onSvc, ok := p.value(IngBackendProtocol); ok {
		// Upstream wants exact upper case; lbsg also accepts "https".
		if u, ok := httpProtocol(v); ok {
			b.Protocol = u
		} else {
			p.fail(IngBackendProtocol, v, onSvc, fmt.Sprintf("backend protocol must be within [HTTP, HTTPS]: %s", Shorten(v)),
				"set it to HTTP or HTTPS, or remove it")
		}
	}
	if v, onSvc, ok := p.value(IngHealthCheckPort); ok {
		if hp, ok := healthCheckPort(v); ok {
			b.HealthCheckPort = hp
		} else {
			p.fail(IngHealthCheckPort, v, onSvc,
				fmt.Sprintf("health check port %q not supported: must be traffic-port, a port number 1-65535 or the name of a Service port", Shorten(v)),
				"set it to traffic-port, a port number such as 8080 or a port name such as http")
		}
	}
	if v, onSvc, ok := p.value(IngHealthCheckPath); ok {
		if reason := checkHealthCheckPath(v); reason == "" {
			b.HealthCheckPath = v
		} else {
			p.fail(IngHealthCheckPath, v, onSvc, reason, "set it to a path such as /healthz")
		}
	}
	if v, onSvc, ok := p.value(IngHealthCheckProtocol); ok {
		if u, ok := httpProtocol(v); ok {
			b.HealthCheckProtocol = u
		} else {
			p.fail(IngHealthCheckProtocol, v, onSvc, "healthCheckProtocol must be within [HTTP, HTTPS]",
				"set it to HTTP or HTTPS, or remove it")
		}
	}
	if v, onSvc, ok := p.value(IngTargetNodeLabels); ok {
		if m, err := ParseStringMap(IngTargetNodeLabels, v); err != nil {
			p.add(err, onSvc)
		} else {
			b.TargetNodeLabels = m
		}
	}

	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return b, p.errs
}

// httpProtocol upper-cases v and accepts HTTP and HTTPS.
func httpProtocol(v string) (string, bool) {
	switch u := strings.ToUpper(v); u {
	case protoHTTP, protoHTTPS:
		return u, true
	}
	return "", false
}

// portName is a Service port name as Kubernetes allows it (a DNS label of at most 63
// characters); a health-check port that is not a number must be one.
var portName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// healthCheckPort accepts traffic-port, a number in 1..65535 (returned in canonical
// spelling), or a port name, which is resolved later against the Service. A number out of
// range is not taken for a name.
func healthCheckPort(v string) (string, bool) {
	if v == TrafficPort {
		return v, true
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		n, ok := ParsePort(v)
		return strconv.Itoa(int(n)), ok
	}
	return v, portName.MatchString(v)
}

type backendParser struct {
	ing, svc map[string]string
	errs     []*Error
}

// get returns the value of key, from the Service if it has the key, else from the Ingress.
func (p *backendParser) get(key string) (v string, onSvc, ok bool) {
	if v, ok := p.svc[key]; ok {
		return v, true, true
	}
	v, ok = p.ing[key]
	return v, false, ok
}

// value is get for the parsers: a blank value, reported once by ParseBackend, reads as absent.
func (p *backendParser) value(key string) (v string, onSvc, ok bool) {
	v, onSvc, ok = p.get(key)
	if ok && isBlank(v) {
		return "", onSvc, false
	}
	return v, onSvc, ok
}

// add records e, marking it when the value came from the Service: the user would otherwise
// look for it on the Ingress.
func (p *backendParser) add(e *Error, onSvc bool) {
	if onSvc {
		e.Reason += " (on Service)"
	}
	p.errs = append(p.errs, e)
}

func (p *backendParser) fail(key, value string, onSvc bool, reason, fix string) {
	p.add(&Error{Key: key, Value: value, Reason: reason, Fix: fix}, onSvc)
}
