package annotations

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Health-check and attribute keys of a Service (upstream's names, with the prefix).
const (
	SvcHealthCheckTimeout   = ServicePrefix + "aws-load-balancer-healthcheck-timeout"
	SvcHealthyThreshold     = ServicePrefix + "aws-load-balancer-healthcheck-healthy-threshold"
	SvcUnhealthyThreshold   = ServicePrefix + "aws-load-balancer-healthcheck-unhealthy-threshold"
	SvcSuccessCodes         = ServicePrefix + "aws-load-balancer-healthcheck-success-codes"
	SvcAttributes           = ServicePrefix + "aws-load-balancer-attributes"
	SvcCrossZone            = ServicePrefix + "aws-load-balancer-cross-zone-load-balancing-enabled"
	SvcAccessLogEnabled     = ServicePrefix + "aws-load-balancer-access-log-enabled"
	SvcAccessLogBucket      = ServicePrefix + "aws-load-balancer-access-log-s3-bucket-name"
	SvcAccessLogPrefix      = ServicePrefix + "aws-load-balancer-access-log-s3-bucket-prefix"
	SvcProxyProtocol        = ServicePrefix + "aws-load-balancer-proxy-protocol"
	SvcListenerAttrsPrefix  = ServicePrefix + "aws-load-balancer-listener-attributes."
	svcListenerAttrsUpInner = "aws-load-balancer-listener-attributes."
)

// Health-check and attribute keys of an Ingress. The per-backend ones may also be set on the
// backend Service, as upstream allows.
const (
	IngHealthCheckInterval    = IngressPrefix + "healthcheck-interval-seconds"
	IngHealthCheckTimeout     = IngressPrefix + "healthcheck-timeout-seconds"
	IngHealthyThreshold       = IngressPrefix + "healthy-threshold-count"
	IngUnhealthyThreshold     = IngressPrefix + "unhealthy-threshold-count"
	IngSuccessCodes           = IngressPrefix + "success-codes"
	IngTargetGroupAttributes  = IngressPrefix + "target-group-attributes"
	IngBackendProtocolVersion = IngressPrefix + "backend-protocol-version"
	IngLoadBalancerAttributes = IngressPrefix + "load-balancer-attributes"
	IngListenerAttrsPrefix    = IngressPrefix + "listener-attributes."
	ingListenerAttrsUpInner   = "listener-attributes."
)

// Attribute keys lbsg writes for the legacy annotations.
const (
	AttrProxyProtocolV2 = "proxy_protocol_v2.enabled"
	AttrCrossZone       = "load_balancing.cross_zone.enabled"
	AttrAccessLogs      = "access_logs.s3.enabled"
	AttrAccessLogBucket = "access_logs.s3.bucket"
	AttrAccessLogPrefix = "access_logs.s3.prefix"
	attrPreserveIP      = "preserve_client_ip.enabled"
)

// Protocol versions of an ALB target group (backend-protocol-version).
const (
	ProtocolVersionHTTP1 = "HTTP1"
	ProtocolVersionHTTP2 = "HTTP2"
	ProtocolVersionGRPC  = "GRPC"
)

func init() {
	ServiceKeys = append(ServiceKeys, SvcHealthCheckTimeout, SvcHealthyThreshold, SvcUnhealthyThreshold, SvcSuccessCodes,
		SvcAttributes, SvcCrossZone, SvcAccessLogEnabled, SvcAccessLogBucket, SvcAccessLogPrefix, SvcProxyProtocol)
	IngressKeys = append(IngressKeys, IngLoadBalancerAttributes)
	BackendKeys = append(BackendKeys, IngHealthCheckInterval, IngHealthCheckTimeout, IngHealthyThreshold, IngUnhealthyThreshold,
		IngSuccessCodes, IngTargetGroupAttributes, IngBackendProtocolVersion)
	// listener-attributes.* are read now: no longer reported as unsupported.
	upstreamServicePrefixes = without(upstreamServicePrefixes, svcListenerAttrsUpInner)
	upstreamIngressPrefixes = without(upstreamIngressPrefixes, ingListenerAttrsUpInner)
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// HealthSettings are the health-check settings beyond protocol, port and path. Zero means
// "not set": lbsg then leaves AWS's value as it is.
type HealthSettings struct {
	Interval, Timeout, Healthy, Unhealthy int32
	SuccessCodes                          string
}

// ServiceAttrs are the health-check settings and attributes of a Service's NLB. Only the
// attributes the user names are in the maps; every other attribute is left as AWS has it.
type ServiceAttrs struct {
	Health       HealthSettings
	TargetGroup  map[string]string            // target-group-attributes and proxy-protocol
	LoadBalancer map[string]string            // attributes, cross-zone and access-log keys
	Listeners    map[string]map[string]string // by "PROTOCOL-port" (upper-case protocol)
}

// ParseServiceAttrs reads the health-check settings and attribute annotations of a
// Service. A blank value is reported by ParseService and reads as absent here.
func ParseServiceAttrs(ann map[string]string) (ServiceAttrs, []*Error) {
	p := &attrParser{get: func(k string) (string, bool, bool) {
		v, ok := ann[k]
		return v, false, ok && !isBlank(v)
	}}
	var a ServiceAttrs
	a.Health.Timeout = p.int(SvcHealthCheckTimeout, 2, 120, "seconds")
	a.Health.Healthy = p.int(SvcHealthyThreshold, 2, 10, "checks")
	a.Health.Unhealthy = p.int(SvcUnhealthyThreshold, 2, 10, "checks")
	a.Health.SuccessCodes = p.codes(SvcSuccessCodes, 200, 599)

	// preserve_client_ip.enabled and a malformed map are already reported by the spec
	// builder, which reads this key for the target rules.
	a.TargetGroup = p.attrs(SvcTargetGroupAttributes, attrPreserveIP)
	if v, _, ok := p.get(SvcProxyProtocol); ok {
		if v != "*" {
			p.fail(SvcProxyProtocol, v, false, `only "*" (proxy protocol v2 on every target group) is supported`,
				`set it to "*", or remove it`)
		} else {
			a.TargetGroup = p.merge(a.TargetGroup, SvcProxyProtocol, v, AttrProxyProtocolV2, "true", SvcTargetGroupAttributes)
		}
	}

	a.LoadBalancer = p.attrs(SvcAttributes, "")
	if v, _, ok := p.get(SvcCrossZone); ok {
		if b, err := ParseBool(SvcCrossZone, v); err != nil {
			p.add(err, false)
		} else {
			a.LoadBalancer = p.merge(a.LoadBalancer, SvcCrossZone, v, AttrCrossZone, strconv.FormatBool(b), SvcAttributes)
		}
	}
	if v, _, ok := p.get(SvcAccessLogEnabled); ok {
		if b, err := ParseBool(SvcAccessLogEnabled, v); err != nil {
			p.add(err, false)
		} else {
			a.LoadBalancer = p.merge(a.LoadBalancer, SvcAccessLogEnabled, v, AttrAccessLogs, strconv.FormatBool(b), SvcAttributes)
		}
	}
	if v, _, ok := p.get(SvcAccessLogBucket); ok {
		a.LoadBalancer = p.merge(a.LoadBalancer, SvcAccessLogBucket, v, AttrAccessLogBucket, v, SvcAttributes)
	}
	if v, _, ok := p.get(SvcAccessLogPrefix); ok {
		a.LoadBalancer = p.merge(a.LoadBalancer, SvcAccessLogPrefix, v, AttrAccessLogPrefix, v, SvcAttributes)
	}
	a.Listeners = p.listenerAttrs(ann, SvcListenerAttrsPrefix)
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return a, p.errs
}

// BackendAttrs are the per-backend health-check settings, target group attributes and
// protocol version of an Ingress backend.
type BackendAttrs struct {
	Health          HealthSettings
	TargetGroup     map[string]string
	ProtocolVersion string // "" | HTTP1 | HTTP2 | GRPC
}

// ParseBackendAttrs reads the per-backend health-check settings and attributes: for each
// key the Service's value if it has the key, else the Ingress's (see ParseBackend, which
// reports blank values).
func ParseBackendAttrs(ingressAnn, serviceAnn map[string]string) (BackendAttrs, []*Error) {
	bp := &backendParser{ing: ingressAnn, svc: serviceAnn}
	p := &attrParser{get: bp.value}
	var a BackendAttrs
	if v, onSvc, ok := p.get(IngBackendProtocolVersion); ok {
		switch u := strings.ToUpper(v); u {
		case ProtocolVersionHTTP1, ProtocolVersionHTTP2, ProtocolVersionGRPC:
			a.ProtocolVersion = u
		default:
			p.fail(IngBackendProtocolVersion, v, onSvc, "backend protocol version must be HTTP1, HTTP2 or GRPC",
				"set it to HTTP1, HTTP2 or GRPC, or remove it (the default is HTTP1)")
		}
	}
	a.Health.Interval = p.int(IngHealthCheckInterval, 5, 300, "seconds")
	a.Health.Timeout = p.int(IngHealthCheckTimeout, 2, 120, "seconds")
	a.Health.Healthy = p.int(IngHealthyThreshold, 2, 10, "checks")
	a.Health.Unhealthy = p.int(IngUnhealthyThreshold, 2, 10, "checks")
	if a.ProtocolVersion == ProtocolVersionGRPC {
		a.Health.SuccessCodes = p.codes(IngSuccessCodes, 0, 99)
	} else {
		a.Health.SuccessCodes = p.codes(IngSuccessCodes, 200, 499)
	}
	if a.Health.Interval != 0 && a.Health.Timeout != 0 && a.Health.Timeout >= a.Health.Interval {
		v, onSvc, _ := p.get(IngHealthCheckTimeout)
		p.fail(IngHealthCheckTimeout, v, onSvc, fmt.Sprintf("an ALB health check timeout must be shorter than its interval (%d seconds)", a.Health.Interval),
			"lower the timeout or raise "+IngHealthCheckInterval)
		a.Health.Timeout = 0
	}
	a.TargetGroup = p.attrs(IngTargetGroupAttributes, "")
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return a, p.errs
}

// IngressAttrs are the group-level attributes of one Ingress.
type IngressAttrs struct {
	LoadBalancer map[string]string
	Listeners    map[string]map[string]string // by "PROTOCOL-port"
}

// ParseIngressAttrs reads load-balancer-attributes and listener-attributes.* of one Ingress.
func ParseIngressAttrs(ann map[string]string) (IngressAttrs, []*Error) {
	p := &attrParser{get: func(k string) (string, bool, bool) {
		v, ok := ann[k]
		return v, false, ok && !isBlank(v)
	}}
	a := IngressAttrs{LoadBalancer: p.attrs(IngLoadBalancerAttributes, ""), Listeners: p.listenerAttrs(ann, IngListenerAttrsPrefix)}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return a, p.errs
}

type attrParser struct {
	get  func(key string) (v string, onSvc, ok bool)
	errs []*Error
}

func (p *attrParser) add(e *Error, onSvc bool) {
	if onSvc {
		e.Reason += " (on Service)"
	}
	p.errs = append(p.errs, e)
}

func (p *attrParser) fail(key, value string, onSvc bool, reason, fix string) {
	p.add(&Error{Key: key, Value: value, Reason: reason, Fix: fix}, onSvc)
}

// int reads a whole number in [lo, hi]; 0 when absent or bad.
func (p *attrParser) int(key string, lo, hi int64, unit string) int32 {
	v, onSvc, ok := p.get(key)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < lo || n > hi {
		p.fail(key, v, onSvc, fmt.Sprintf("must be a whole number of %s from %d to %d", unit, lo, hi),
			fmt.Sprintf("set it to a number from %d to %d, or remove it to keep AWS's value", lo, hi))
		return 0
	}
	return int32(n)
}

// successCodes is ELBv2's matcher syntax: codes and ranges separated by commas.
var successCodes = regexp.MustCompile(`^\d+(-\d+)?(,\d+(-\d+)?)*$`)

// codes reads a success-codes value ("200", "200,202", "200-299") with every code in
// [lo, hi]; "" when absent or bad.
func (p *attrParser) codes(key string, lo, hi int) string {
	v, onSvc, ok := p.get(key)
	if !ok {
		return ""
	}
	bad := func() string {
		p.fail(key, v, onSvc, fmt.Sprintf("success codes are codes from %d to %d, separated by commas, or a range such as %d-%d", lo, hi, lo, lo+99),
			fmt.Sprintf("write it as %d, %d,%d or %d-%d", lo, lo, lo+2, lo, lo+99))
		return ""
	}
	if !successCodes.MatchString(v) {
		return bad()
	}
	for _, part := range strings.Split(v, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, _ := strconv.Atoi(from)
		b := a
		if isRange {
			b, _ = strconv.Atoi(to)
		}
		if a < lo || b > hi || b < a {
			return bad()
		}
	}
	return v
}

// attrKey is the shape of an ELBv2 attribute key.
var attrKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_.]*$`)

// attrs reads a key1=value1,key2=value2 attribute list. A key ending in .enabled takes true
// or false; a key ending in seconds takes a whole number. skip names a key checked elsewhere.
func (p *attrParser) attrs(key, skip string) map[string]string {
	v, onSvc, ok := p.get(key)
	if !ok {
		return nil
	}
	m, err := ParseStringMap(key, v)
	if err != nil {
		if skip == "" {
			p.add(err, onSvc)
		}
		return nil
	}
	if reason, fix := checkAttrs(m, skip); reason != "" {
		p.fail(key, v, onSvc, reason, fix)
		return nil
	}
	return m
}

func checkAttrs(m map[string]string, skip string) (reason, fix string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch {
		case k == skip:
		case !attrKey.MatchString(k):
			return fmt.Sprintf("%q is not an attribute key (lower-case letters, digits, '.' and '_')", Shorten(k)),
				"use AWS's attribute names, such as deregistration_delay.timeout_seconds=30"
		case v == "":
			return fmt.Sprintf("attribute %s has no value", k), "write it as " + k + "=value, or leave it out"
		case strings.HasSuffix(k, ".enabled") && v != "true" && v != "false":
			return fmt.Sprintf("attribute %s must be true or false, not %q", k, Shorten(v)), "set " + k + "=true or " + k + "=false"
		case strings.HasSuffix(k, "seconds"):
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				return fmt.Sprintf("attribute %s must be a whole number of seconds, not %q", k, Shorten(v)), "set " + k + " to a number such as 60"
			}
		}
	}
	return "", ""
}

// merge sets attr=val in m for a legacy key, unless the attribute list names the same
// attribute with another value: that conflict is an error, not a silent winner.
func (p *attrParser) merge(m map[string]string, key, raw, attr, val, listKey string) map[string]string {
	if old, ok := m[attr]; ok && old != val {
		p.fail(key, raw, false, fmt.Sprintf("it sets %s=%s, but %s sets %s=%s", attr, val, listKey, attr, old),
			"remove one of the two, or make them agree")
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[attr] = val
	return m
}

// listenerPort is the suffix of a listener-attributes key: PROTOCOL-port.
var listenerPort = regexp.MustCompile(`^([A-Za-z_]+)-(\d+)$`)

// listenerAttrs reads every prefix<PROTOCOL>-<port> key, keyed by "PROTOCOL-port".
func (p *attrParser) listenerAttrs(ann map[string]string, prefix string) map[string]map[string]string {
	var out map[string]map[string]string
	keys := make([]string, 0)
	for k := range ann {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := ann[k]
		if isBlank(v) {
			p.add(emptyError(k, v), false)
			continue
		}
		sm := listenerPort.FindStringSubmatch(strings.TrimPrefix(k, prefix))
		port, okPort := int32(0), false
		if sm != nil {
			port, okPort = ParsePort(sm[2])
		}
		if !okPort {
			p.fail(k, v, false, "the key must end in <PROTOCOL>-<port>, such as TCP-80 or HTTPS-443",
				"rename the annotation to "+prefix+"TCP-80 (the listener's protocol and port)")
			continue
		}
		m, err := ParseStringMap(k, v)
		if err != nil {
			p.add(err, false)
			continue
		}
		if reason, fix := checkAttrs(m, ""); reason != "" {
			p.fail(k, v, false, reason, fix)
			continue
		}
		if out == nil {
			out = map[string]map[string]string{}
		}
		out[ListenerAttrsKey(sm[1], port)] = m
	}
	return out
}

// ListenerAttrsKey is how listener attributes are keyed: "TCP-80".
func ListenerAttrsKey(protocol string, port int32) string {
	return strings.ToUpper(protocol) + "-" + strconv.Itoa(int(port))
}

// CheckAttributes applies the attribute checks of the annotations to attributes given
// elsewhere (IngressClassParams); it returns the reason and fix, or "".
func CheckAttributes(m map[string]string) (reason, fix string) { return checkAttrs(m, "") }

// FormatAttributes renders attributes as key=value pairs in key order.
func FormatAttributes(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}
