package annotations

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
)

// ServicePrefix is the prefix of every Service annotation lbsg reads.
const ServicePrefix = "service.beta.kubernetes.io/"

// Service annotation keys (upstream pkg/annotations/constants.go, with the prefix).
const (
	SvcLoadBalancerType      = ServicePrefix + "aws-load-balancer-type"
	SvcNLBTargetType         = ServicePrefix + "aws-load-balancer-nlb-target-type"
	SvcScheme                = ServicePrefix + "aws-load-balancer-scheme"
	SvcInternal              = ServicePrefix + "aws-load-balancer-internal" // legacy form of SvcScheme
	SvcIPAddressType         = ServicePrefix + "aws-load-balancer-ip-address-type"
	SvcLoadBalancerName      = ServicePrefix + "aws-load-balancer-name"
	SvcSubnets               = ServicePrefix + "aws-load-balancer-subnets"
	SvcSecurityGroups        = ServicePrefix + "aws-load-balancer-security-groups"
	SvcManageBackendRules    = ServicePrefix + "aws-load-balancer-manage-backend-security-group-rules"
	SvcSourceRanges          = ServicePrefix + "load-balancer-source-ranges"
	SvcPrefixLists           = ServicePrefix + "aws-load-balancer-security-group-prefix-lists"
	SvcICMPForPathMTU        = ServicePrefix + "aws-load-balancer-enable-icmp-for-path-mtu-discovery"
	SvcPrivateLinkEnforce    = ServicePrefix + "aws-load-balancer-inbound-sg-rules-on-private-link-traffic"
	SvcDisableNLBSG          = ServicePrefix + "aws-load-balancer-disable-nlb-sg"
	SvcAdditionalTags        = ServicePrefix + "aws-load-balancer-additional-resource-tags"
	SvcHealthCheckPort       = ServicePrefix + "aws-load-balancer-healthcheck-port"
	SvcHealthCheckProtocol   = ServicePrefix + "aws-load-balancer-healthcheck-protocol"
	SvcHealthCheckPath       = ServicePrefix + "aws-load-balancer-healthcheck-path"
	SvcHealthCheckInterval   = ServicePrefix + "aws-load-balancer-healthcheck-interval"
	SvcTargetNodeLabels      = ServicePrefix + "aws-load-balancer-target-node-labels"
	SvcTargetGroupAttributes = ServicePrefix + "aws-load-balancer-target-group-attributes"
)

// ServiceKeys are the Service annotations lbsg reads. Every one of them, when present, must
// have a value: an empty one is an error, never the default.
var ServiceKeys = []string{
	SvcLoadBalancerType, SvcNLBTargetType, SvcScheme, SvcInternal, SvcIPAddressType, SvcLoadBalancerName,
	SvcSubnets, SvcSecurityGroups, SvcManageBackendRules, SvcSourceRanges, SvcPrefixLists, SvcICMPForPathMTU,
	SvcPrivateLinkEnforce, SvcDisableNLBSG, SvcAdditionalTags, SvcHealthCheckPort, SvcHealthCheckProtocol,
	SvcHealthCheckPath, SvcHealthCheckInterval, SvcTargetNodeLabels, SvcTargetGroupAttributes,
}

// withoutBlank returns ann without the keys of keys whose value is blank, and an error for
// each such key, so that the parsers only ever see values.
func withoutBlank(ann map[string]string, keys []string) (map[string]string, []*Error) {
	var errs []*Error
	for _, k := range keys {
		if v, ok := ann[k]; ok && isBlank(v) {
			errs = append(errs, emptyError(k, v))
		}
	}
	if len(errs) == 0 {
		return ann, nil
	}
	out := make(map[string]string, len(ann))
	for k, v := range ann {
		out[k] = v
	}
	for _, e := range errs {
		delete(out, e.Key)
	}
	return out, errs
}

// Values.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
	IPAddressTypeIPv4    = "ipv4"
	IPAddressTypeDual    = "dualstack"
	TargetTypeInstance   = "instance"
	TargetTypeIP         = "ip"
	TrafficPort          = "traffic-port"
)

// Service is the typed view of a Service's annotations. Zero values mean "absent" unless a
// field says otherwise.
type Service struct {
	Type                string            // raw aws-load-balancer-type: "external", "nlb-ip", "nlb", "" …
	TargetType          string            // aws-load-balancer-nlb-target-type: "instance" | "ip" | "" (absent); "nlb-ip" type implies "ip"
	Scheme              string            // "internal" (default) | "internet-facing"; honours legacy aws-load-balancer-internal
	SchemeSet           bool              // Scheme came from an annotation (upstream keeps an existing NLB's scheme otherwise)
	IPAddressType       string            // "ipv4" (default) | "dualstack"
	LoadBalancerName    string            // aws-load-balancer-name: overrides the generated NLB name; at most 32 characters
	Subnets             []string          // aws-load-balancer-subnets, nil when absent
	SecurityGroups      []string          // aws-load-balancer-security-groups, IDs or Name tags
	SecurityGroupsSet   bool              // the annotation is present (and so not empty)
	ManageBackendRules  *bool             // aws-load-balancer-manage-backend-security-group-rules, nil when absent
	SourceRanges        []string          // load-balancer-source-ranges, canonical CIDRs (see CanonicalCIDR)
	PrefixLists         []string          // aws-load-balancer-security-group-prefix-lists, each pl-<hex>
	PrefixListsSet      bool              // the annotation is present (and so not empty)
	ICMPForPathMTU      bool              // aws-load-balancer-enable-icmp-for-path-mtu-discovery is "on"
	PrivateLinkEnforce  string            // aws-load-balancer-inbound-sg-rules-on-private-link-traffic: "", "on", "off"
	DisableNLBSG        bool              // aws-load-balancer-disable-nlb-sg
	AdditionalTags      map[string]string // aws-load-balancer-additional-resource-tags, nil when absent
	HealthCheckPort     string            // "" | "traffic-port" | "1".."65535"
	HealthCheckProtocol string            // "" | TCP | HTTP | HTTPS (stored upper case)
	HealthCheckPath     string            // aws-load-balancer-healthcheck-path, starts with "/"
	HealthCheckInterval int32             // aws-load-balancer-healthcheck-interval in seconds (5..300), 0 when absent
	TargetNodeLabels    map[string]string // aws-load-balancer-target-node-labels, nil when absent
	TLS                 ServiceTLS        // the TLS listener annotations (see tls.go)
	// CIDRChanges are the source ranges lbsg uses in another form than written.
	CIDRChanges []CIDRChange
}

// ParseService reads every Service annotation lbsg knows. It returns the typed view and ALL
// problems, sorted by key; a field whose annotation is bad keeps its default.
func ParseService(ann map[string]string) (Service, []*Error) {
	ann, blank := withoutBlank(ann, ServiceKeys)
	p := &svcParser{ann: ann, errs: blank}
	s := Service{
		Type:          ann[SvcLoadBalancerType],
		Scheme:        SchemeInternal,
		IPAddressType: IPAddressTypeIPv4,
	}
	p.targetType(&s)
	p.scheme(&s)

	if v, ok := ann[SvcIPAddressType]; ok {
		switch v {
		case IPAddressTypeIPv4, IPAddressTypeDual:
			s.IPAddressType = v
		default:
			p.fail(SvcIPAddressType, v, "unknown IPAddressType: must be \"ipv4\" or \"dualstack\" (an NLB does not support dualstack-without-public-ipv4)",
				"set it to ipv4 or dualstack, or remove it")
		}
	}
	if v, ok := ann[SvcLoadBalancerName]; ok {
		switch {
		case len(v) > 32:
			p.fail(SvcLoadBalancerName, v, fmt.Sprintf("load balancer name cannot be longer than 32 characters (it has %d)", len(v)),
				"use a name of at most 32 letters, digits and hyphens, or remove the annotation to get a generated name")
		case !lbName.MatchString(v):
			p.fail(SvcLoadBalancerName, v, "a load balancer name has only letters, digits and hyphens, and neither starts nor ends with a hyphen",
				"use a name such as my-nlb-1, or remove the annotation to get a generated name")
		default:
			s.LoadBalancerName = v
		}
	}
	if v, ok := ann[SvcSubnets]; ok {
		s.Subnets = p.refs(SvcSubnets, v)
	}
	if v, ok := ann[SvcSecurityGroups]; ok {
		if sgs := p.refs(SvcSecurityGroups, v); sgs != nil {
			s.SecurityGroups, s.SecurityGroupsSet = sgs, true
		}
	}
	if v, ok := ann[SvcManageBackendRules]; ok {
		if b, err := ParseBool(SvcManageBackendRules, v); err != nil {
			p.add(err)
		} else {
			s.ManageBackendRules = &b
		}
	}
	if v, ok := ann[SvcSourceRanges]; ok {
		if cidrs, changed, err := ParseCIDRs(SvcSourceRanges, v); err != nil {
			p.add(err)
		} else {
			s.SourceRanges, s.CIDRChanges = cidrs, changed
		}
	}
	if v, ok := ann[SvcPrefixLists]; ok {
		if ids, err := ParsePrefixLists(SvcPrefixLists, v); err != nil {
			p.add(err)
		} else {
			s.PrefixLists, s.PrefixListsSet = ids, true
		}
	}
	if v, ok := ann[SvcICMPForPathMTU]; ok {
		switch v {
		case "on":
			s.ICMPForPathMTU = true
		case "off":
		default:
			p.fail(SvcICMPForPathMTU, v, `must be "on" or "off" (upstream silently ignores other values; lbsg rejects them)`,
				`set it to "on" to allow ICMP for path MTU discovery, or "off"`)
		}
	}
	if v, ok := ann[SvcPrivateLinkEnforce]; ok {
		switch v {
		case "on", "off":
			s.PrivateLinkEnforce = v
		default:
			p.fail(SvcPrivateLinkEnforce, v,
				fmt.Sprintf("Invalid value for securityGroupsInboundRulesOnPrivateLink status: %s, value must be one of [on, off]", Shorten(v)),
				`set it to "on" or "off"`)
		}
	}
	if v, ok := ann[SvcDisableNLBSG]; ok {
		if b, err := ParseBool(SvcDisableNLBSG, v); err != nil {
			p.add(err)
		} else {
			s.DisableNLBSG = b
		}
	}
	if v, ok := ann[SvcAdditionalTags]; ok {
		s.AdditionalTags = p.tags(SvcAdditionalTags, v)
	}
	if v, ok := ann[SvcTargetNodeLabels]; ok {
		if m, err := ParseStringMap(SvcTargetNodeLabels, v); err != nil {
			p.add(err)
		} else {
			s.TargetNodeLabels = m
		}
	}
	p.healthCheck(&s)
	p.parseServiceTLS(&s)

	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Key < p.errs[j].Key })
	return s, p.errs
}

// lbName is ELBv2's rule for a load balancer name, length aside.
var lbName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)

type svcParser struct {
	ann  map[string]string
	errs []*Error
}

func (p *svcParser) add(e *Error) { p.errs = append(p.errs, e) }

func (p *svcParser) fail(key, value, reason, fix string) {
	p.add(&Error{Key: key, Value: value, Reason: reason, Fix: fix})
}

// refs parses a list of IDs or Name tags, recording the error; nil means bad.
func (p *svcParser) refs(key, v string) []string {
	l, err := ParseRefs(key, v)
	if err != nil {
		p.add(err)
		return nil
	}
	return l
}

// list parses a stringList, recording the error; nil means bad.
func (p *svcParser) list(key, v string) []string {
	l, err := ParseStringList(key, v)
	if err != nil {
		p.add(err)
		return nil
	}
	return l
}

func (p *svcParser) targetType(s *Service) {
	if v, ok := p.ann[SvcNLBTargetType]; ok {
		switch v {
		case TargetTypeInstance, TargetTypeIP:
			s.TargetType = v
		default:
			p.fail(SvcNLBTargetType, v, `must be "instance" or "ip"`,
				"set it to instance (targets are node ports) or ip (targets are pod IPs), or remove it to use --default-target-type")
		}
	}
	if s.Type == "nlb-ip" {
		s.TargetType = TargetTypeIP // upstream: the nlb-ip type always means ip targets
	}
}

func (p *svcParser) scheme(s *Service) {
	if v, ok := p.ann[SvcScheme]; ok {
		switch v {
		case SchemeInternal, SchemeInternetFacing:
			s.Scheme, s.SchemeSet = v, true
		default:
			p.fail(SvcScheme, v, `unknown scheme: must be "internal" or "internet-facing"`,
				"set it to internal or internet-facing, or remove it")
		}
		return
	}
	if v, ok := p.ann[SvcInternal]; ok {
		internal, err := ParseBool(SvcInternal, v)
		if err != nil {
			err.Fix = `set it to "true" (internal) or "false" (internet-facing), or better, replace it with ` + SvcScheme
			p.add(err)
			return
		}
		s.SchemeSet = true
		if !internal {
			s.Scheme = SchemeInternetFacing
		}
	}
}

// tags parses a tags annotation and checks every tag (see naming.TagProblem): a tracking
// tag set by a tenant would let it pass its own resources off as lbsg's.
func (p *svcParser) tags(key, v string) map[string]string {
	m, err := ParseStringMap(key, v)
	if err != nil {
		p.add(err)
		return nil
	}
	if err := CheckTags(key, v, m); err != nil {
		p.add(err)
		return nil
	}
	return m
}

// CheckTags checks user-supplied tags against the reserved keys and prefixes and AWS's
// limits (naming.UserTagProblem), and returns one Error (key and value are the setting the
// tags come from) naming every bad tag, or nil.
func CheckTags(key, value string, tags map[string]string) *Error {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var reasons []string
	fix := ""
	for _, k := range keys {
		if reason, f := naming.UserTagProblem(k, tags[k]); reason != "" {
			reasons = append(reasons, reason)
			if fix == "" {
				fix = f
			}
		}
	}
	if len(tags) > naming.MaxTagsPerResource {
		reasons = append(reasons, fmt.Sprintf("%d tags; AWS allows at most %d per resource", len(tags), naming.MaxTagsPerResource))
		if fix == "" {
			fix = "remove tags"
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	if len(reasons) > 3 {
		reasons = append(reasons[:3], fmt.Sprintf("and %d more", len(reasons)-3))
	}
	return &Error{Key: key, Value: value, Reason: strings.Join(reasons, "; "), Fix: fix}
}

func (p *svcParser) healthCheck(s *Service) {
	if v, ok := p.ann[SvcHealthCheckPort]; ok {
		if n, isPort := ParsePort(v); isPort {
			s.HealthCheckPort = strconv.Itoa(int(n))
		} else if v == TrafficPort {
			s.HealthCheckPort = v
		} else {
			p.fail(SvcHealthCheckPort, v, fmt.Sprintf("health check port %q not supported: must be traffic-port or a port number 1-65535", Shorten(v)),
				"set it to traffic-port or a port number such as 8080")
		}
	}
	if v, ok := p.ann[SvcHealthCheckProtocol]; ok {
		switch u := strings.ToUpper(v); u {
		case "TCP", "HTTP", "HTTPS":
			s.HealthCheckProtocol = u
		default:
			p.fail(SvcHealthCheckProtocol, v, "unsupported health check protocol: must be TCP, HTTP or HTTPS",
				"set it to TCP, HTTP or HTTPS, or remove it")
		}
	}
	if v, ok := p.ann[SvcHealthCheckPath]; ok {
		if reason := checkHealthCheckPath(v); reason == "" {
			s.HealthCheckPath = v
		} else {
			p.fail(SvcHealthCheckPath, v, reason, "set it to a path such as /healthz")
		}
	}
	if v, ok := p.ann[SvcHealthCheckInterval]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 5 || n > 300 {
			p.fail(SvcHealthCheckInterval, v, "must be a whole number of seconds from 5 to 300",
				"set it to a number of seconds such as 10, or remove it")
		} else {
			s.HealthCheckInterval = int32(n)
		}
	}
}
