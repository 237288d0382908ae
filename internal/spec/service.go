package spec

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// Load balancer types and target types, as the ELBv2 API spells them.
const (
	TypeNetwork      = "network"
	TargetInstance   = "instance"
	TargetIP         = "ip"
	SchemeInternal   = "internal"
	SchemeInternet   = "internet-facing"
	IPv4             = "ipv4"
	DualStack        = "dualstack"
	TrafficPort      = "traffic-port"
	annTGAttributes  = "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes"
	preserveClientIP = "preserve_client_ip.enabled"
)

// ServiceFacts are the observed facts the desired state of a Service depends on.
type ServiceFacts struct {
	// LBExists and LBHasSGs describe the Service's NLB if it exists already: an NLB created
	// without security groups can never gain them, and one created with them must keep one.
	LBExists bool
	LBHasSGs bool
	LBScheme string
	// EndpointPorts maps a Service port name to the target port its endpoints report; it
	// resolves named target ports for ip targets.
	EndpointPorts map[string]int32
}

// OwnsService reports whether lbsg provisions an NLB for the Service: type LoadBalancer
// and either lbsg's loadBalancerClass or, with no class, the "external" or "nlb-ip" type
// annotation. Every other Service is left alone.
func OwnsService(svc *corev1.Service, s Settings) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass != nil {
		return *svc.Spec.LoadBalancerClass == s.LoadBalancerClass
	}
	switch svc.Annotations[annotations.SvcLoadBalancerType] {
	case "external", "nlb-ip":
		return true
	}
	return false
}

// ServiceOwner is the Owner of a Service's stack.
func ServiceOwner(svc *corev1.Service) Owner {
	return Owner{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}
}

// BuildService returns the desired stack of an NLB Service, or the problems that keep it
// from being built. It never returns both.
func BuildService(svc *corev1.Service, s Settings, facts ServiceFacts) (*Stack, []*Problem) {
	ann, problems := annotations.ParseService(svc.Annotations)
	attrs, attrProblems := annotations.ParseServiceAttrs(svc.Annotations)
	problems = append(problems, attrProblems...)
	b := &serviceBuilder{svc: svc, s: s, facts: facts, ann: ann}
	if keep, err := annotations.ManageFrontendSG(svc.Annotations, annotations.SvcManageFrontendSG); err != nil {
		problems = append(problems, err)
	} else {
		b.keepManaged = keep
	}
	problems = append(problems, b.resolveSourceRanges()...)
	problems = append(problems, b.validate()...)
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, problems
	}
	st, problems := b.build()
	if st != nil {
		applyServiceAttrs(st, ann.HealthCheckInterval, attrs)
		problems = append(problems, checkLimits(st, b.tagSources())...)
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, problems
	}
	return st, nil
}

type serviceBuilder struct {
	svc   *corev1.Service
	s     Settings
	facts ServiceFacts
	ann   annotations.Service
	// ranges are the client CIDRs in canonical form, from rangesKey; changes are those
	// written in another form.
	ranges    []string
	rangesKey string
	changes   []annotations.CIDRChange
	// keepManaged: the user SGs are attached next to the managed SG, not instead of it.
	keepManaged bool
}

// resolveSourceRanges picks the client CIDRs: spec.loadBalancerSourceRanges wins over the
// annotation. Both are canonical afterwards.
func (b *serviceBuilder) resolveSourceRanges() []*Problem {
	b.ranges, b.rangesKey, b.changes = b.ann.SourceRanges, annotations.SvcSourceRanges, b.ann.CIDRChanges
	if len(b.svc.Spec.LoadBalancerSourceRanges) == 0 {
		return nil
	}
	const key = "spec.loadBalancerSourceRanges"
	cidrs, changes, err := annotations.CanonicalCIDRs(key, b.svc.Spec.LoadBalancerSourceRanges)
	if err != nil {
		return []*Problem{err}
	}
	b.ranges, b.rangesKey, b.changes = cidrs, key, changes
	return nil
}

// written returns a client CIDR as the user wrote it, for messages.
func (b *serviceBuilder) written(canonical string) string {
	for _, c := range b.changes {
		if c.Canonical == canonical {
			return c.Written
		}
	}
	return canonical
}

// tagSources names where the user's tags came from, for limit errors.
func (b *serviceBuilder) tagSources() tagSource {
	return tagSource{key: annotations.SvcAdditionalTags, value: b.svc.Annotations[annotations.SvcAdditionalTags],
		user: len(b.ann.AdditionalTags), defaults: len(b.s.DefaultTags)}
}

func (b *serviceBuilder) targetType() string {
	switch {
	case b.ann.TargetType != "":
		return b.ann.TargetType
	case b.ann.Type == "nlb-ip":
		return TargetIP
	case b.s.DefaultTargetType != "":
		return b.s.DefaultTargetType
	}
	return TargetInstance
}

func (b *serviceBuilder) ipAddressType() string {
	if b.ann.IPAddressType == "" {
		return IPv4
	}
	return b.ann.IPAddressType
}

// scheme follows upstream: the annotation, else the existing NLB's scheme (so that a
// changed default never replaces a running NLB), else --default-load-balancer-scheme.
func (b *serviceBuilder) scheme() string {
	switch {
	case b.ann.SchemeSet && b.ann.Scheme != "":
		return b.ann.Scheme
	case b.facts.LBExists && b.facts.LBScheme != "":
		return b.facts.LBScheme
	case b.s.DefaultScheme != "":
		return b.s.DefaultScheme
	}
	return SchemeInternal
}

// frontend decides which frontend SGs the NLB gets (reference §3.1, §6.2).
func (b *serviceBuilder) frontend() Frontend {
	switch {
	case b.facts.LBExists && !b.facts.LBHasSGs:
		return FrontendNone
	case !b.s.NLBSecurityGroup || b.ann.DisableNLBSG:
		return FrontendNone
	case b.ann.SecurityGroupsSet && len(b.ann.SecurityGroups) > 0 && !b.keepManaged:
		return FrontendCustom
	}
	return FrontendManaged
}

// manageTargetRules applies seed 001: managed SGs always get target rules; custom SGs get
// them only when asked (annotation, else the cluster-wide flag); legacy NLBs default to true.
func (b *serviceBuilder) manageTargetRules(f Frontend) bool {
	switch f {
	case FrontendManaged:
		return true
	case FrontendCustom:
		if b.ann.ManageBackendRules != nil {
			return *b.ann.ManageBackendRules
		}
		return b.s.EnableManageBackendSGRules
	}
	if b.ann.ManageBackendRules != nil {
		return *b.ann.ManageBackendRules
	}
	return true
}

// sourceRanges returns the client CIDRs: spec.loadBalancerSourceRanges wins over the
// annotation.
func (b *serviceBuilder) sourceRanges() (cidrs []string, key string) {
	return b.ranges, b.rangesKey
}

func (b *serviceBuilder) validate() []*Problem {
	var problems []*Problem
	f := b.frontend()
	cidrs, key := b.sourceRanges()
	for _, c := range cidrs {
		if isV6(c) && b.ipAddressType() != DualStack {
			problems = append(problems, &Problem{Key: key, Value: b.written(c),
				Reason: fmt.Sprintf("unsupported v6 cidr %s when lb is not dualstack", c),
				Fix:    "remove the IPv6 CIDR, or set " + annotations.SvcIPAddressType + ": dualstack"})
		}
	}
	problems = append(problems, b.checkSecurityGroupCount(f)...)
	if f == FrontendCustom && b.manageTargetRules(f) && !b.s.EnableBackendSG {
		v := "true (from --enable-manage-backend-security-group-rules)"
		if b.ann.ManageBackendRules != nil {
			v = b.svc.Annotations[annotations.SvcManageBackendRules]
		}
		problems = append(problems, &Problem{Key: annotations.SvcManageBackendRules, Value: v,
			Reason: "backendSG feature is required to manage worker node SG rules when frontendSG is manually specified",
			Fix:    "run the controller with --enable-backend-security-group=true, or set the annotation to false"})
	}
	if b.facts.LBExists && b.facts.LBHasSGs && (!b.s.NLBSecurityGroup || b.ann.DisableNLBSG) {
		key, v := annotations.SvcDisableNLBSG, b.svc.Annotations[annotations.SvcDisableNLBSG]
		if !b.s.NLBSecurityGroup {
			key, v = "--feature-gates", "NLBSecurityGroup=false"
		}
		problems = append(problems, &Problem{Key: key, Value: v,
			Reason: "conflicting security groups configuration: the existing NLB has security groups, and AWS does not allow removing them all",
			Fix:    "remove the setting, or delete and recreate the Service to get an NLB without security groups"})
	}
	if b.targetType() == TargetInstance {
		for _, p := range b.svc.Spec.Ports {
			if p.NodePort == 0 {
				problems = append(problems, &Problem{Key: "spec.ports[" + portName(p) + "].nodePort", Value: "0",
					Reason: "instance targets need a NodePort",
					Fix:    "set spec.allocateLoadBalancerNodePorts to true, or use " + annotations.SvcNLBTargetType + ": ip"})
			}
		}
	}
	for _, p := range b.svc.Spec.Ports {
		switch p.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, "":
		default:
			problems = append(problems, &Problem{Key: "spec.ports[" + portName(p) + "].protocol", Value: string(p.Protocol),
				Reason: "an NLB listener supports TCP and UDP only", Fix: "use TCP or UDP"})
		}
	}
	if _, err := b.preserveClientIP(); err != nil {
		problems = append(problems, err)
	}
	return problems
}

func portName(p corev1.ServicePort) string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(int(p.Port))
}

func (b *serviceBuilder) preserveClientIP() (bool, *Problem) {
	def := b.targetType() == TargetInstance
	raw, ok := b.svc.Annotations[annTGAttributes]
	if !ok {
		return def, nil
	}
	attrs, err := annotations.ParseStringMap(annTGAttributes, raw)
	if err != nil {
		return def, err
	}
	v, ok := attrs[preserveClientIP]
	if !ok {
		return def, nil
	}
	on, err := annotations.ParseBool(annTGAttributes, v)
	if err != nil {
		return def, err
	}
	return on, nil
}

func (b *serviceBuilder) build() (*Stack, []*Problem) {
	svc, s := b.svc, b.s
	f := b.frontend()
	stackTags := naming.ServiceStackTags(s.Cluster, svc.Namespace, svc.Name)
	specTags := naming.MergeTags(s.DefaultTags, b.ann.AdditionalTags)
	if s.DefaultTagsLowPriority {
		specTags = naming.MergeTags(b.ann.AdditionalTags, s.DefaultTags)
	}
	st := &Stack{
		Owner:       ServiceOwner(svc),
		StackID:     naming.ServiceStackID(svc.Namespace, svc.Name),
		StackTag:    naming.ServiceStackTag,
		ResourceTag: naming.ServiceResourceTag,
	}
	manage := b.manageTargetRules(f)
	useBackend := false
	switch f {
	case FrontendManaged:
		useBackend = s.EnableBackendSG
	case FrontendCustom:
		useBackend = manage && s.EnableBackendSG
	}
	st.LoadBalancer = LoadBalancer{
		Name:               b.lbName(),
		Type:               TypeNetwork,
		Scheme:             b.scheme(),
		IPAddressType:      b.ipAddressType(),
		SubnetRefs:         b.ann.Subnets,
		Frontend:           f,
		UseBackendSG:       useBackend,
		Tags:               naming.MergeTags(stackTags, map[string]string{naming.ServiceResourceTag: naming.LoadBalancerResourceID}, specTags),
		PrivateLinkEnforce: b.ann.PrivateLinkEnforce,
	}
	if f == FrontendCustom || f == FrontendManaged && b.keepManaged {
		st.LoadBalancer.CustomSGRefs = b.ann.SecurityGroups
	}
	for _, c := range b.changes {
		st.Notices = append(st.Notices, Notice{Reason: NoticeCIDRCanonicalized, Message: c.Message()})
	}
	if keys := annotations.UnsupportedServiceKeys(svc.Annotations); len(keys) > 0 {
		st.Notices = append(st.Notices, Notice{Reason: NoticeUnsupportedAnnotations, Message: annotations.UnsupportedMessage(keys)})
	}
	st.Notices = append(st.Notices, b.tlsNotices()...)
	if f == FrontendNone {
		st.LoadBalancer.PrivateLinkEnforce = ""
		if b.ann.SecurityGroupsSet && len(b.ann.SecurityGroups) > 0 {
			why := "the existing NLB was created without security groups, and AWS never lets such an NLB gain them"
			if !b.facts.LBExists {
				why = "security groups are disabled for this NLB (feature gate NLBSecurityGroup=false or " + annotations.SvcDisableNLBSG + ")"
			}
			st.Notices = append(st.Notices, Notice{Reason: "SecurityGroupsIgnored",
				Message: fmt.Sprintf("annotation %s=%q is ignored: %s; delete and recreate the Service to get an NLB with security groups",
					annotations.SvcSecurityGroups, annotations.Shorten(svc.Annotations[annotations.SvcSecurityGroups]), why)})
		}
	}
	if f == FrontendManaged {
		st.ManagedSG = &SecurityGroup{
			Name:        naming.ServiceSGName(s.Cluster, svc.Namespace, svc.Name, string(svc.UID)),
			Description: naming.ManagedSGDescription,
			Tags:        naming.MergeTags(stackTags, map[string]string{naming.ServiceResourceTag: naming.ManagedSGResourceID}, specTags),
			Ingress:     b.frontendRules(),
		}
	}
	b.buildTargets(st, stackTags, specTags)
	st.Networking.Manage = manage
	switch {
	case !manage:
	case f == FrontendNone:
		st.Networking.Legacy = b.legacyNeeds(st)
	case useBackend:
		st.Networking.Source = SourceBackend
	case f == FrontendManaged:
		st.Networking.Source = SourceFrontend
	}
	if st.Networking.Source != "" {
		st.Networking.Needs = b.sgNeeds(st)
	}
	return st, nil
}

func (b *serviceBuilder) lbName() string {
	if b.ann.LoadBalancerName != "" {
		return b.ann.LoadBalancerName
	}
	return naming.ServiceLBName(b.s.Cluster, b.svc.Namespace, b.svc.Name, string(b.svc.UID), b.scheme())
}

// frontendRules are the managed SG's inbound rules (reference §3.4, NLB): every Service
// port from every client CIDR and prefix list, plus ICMP path-MTU rules when asked.
func (b *serviceBuilder) frontendRules() []sgrules.Rule {
	cidrs, _ := b.sourceRanges()
	if len(cidrs) == 0 && len(b.ann.PrefixLists) == 0 {
		cidrs = []string{"0.0.0.0/0"}
		if b.ipAddressType() == DualStack {
			cidrs = append(cidrs, "::/0")
		}
	}
	var rules []sgrules.Rule
	for _, p := range b.svc.Spec.Ports {
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = sgrules.ProtoTCP
		}
		for _, c := range cidrs {
			rules = append(rules, cidrRule(proto, p.Port, p.Port, c))
			if b.ann.ICMPForPathMTU {
				if isV6(c) {
					rules = append(rules, cidrRule(sgrules.ProtoICMPv6, 2, 0, c))
				} else {
					rules = append(rules, cidrRule(sgrules.ProtoICMP, 3, 4, c))
				}
			}
		}
		for _, pl := range b.ann.PrefixLists {
			rules = append(rules, sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: p.Port, ToPort: p.Port,
				PeerKind: sgrules.PeerPrefixList, Peer: pl}})
		}
	}
	rules = sgrules.Dedup(rules)
	sgrules.Sort(rules)
	return rules
}

// isV6 reports whether a CIDR (already validated) is IPv6, by its parsed address family.
func isV6(cidr string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && p.Addr().Is6()
}

// checkSecurityGroupCount applies ELBv2's limit of 5 SGs per load balancer to the custom SG
// list plus the backend SG lbsg attaches, before anything is created. A Name tag may
// resolve to several SGs; the caller checks the resolved count again.
func (b *serviceBuilder) checkSecurityGroupCount(f Frontend) []*Problem {
	if f == FrontendManaged && b.keepManaged {
		return managedPlusCustomCount(annotations.SvcSecurityGroups, b.svc.Annotations[annotations.SvcSecurityGroups],
			b.ann.SecurityGroups, b.s.EnableBackendSG, annotations.SvcManageFrontendSG)
	}
	if f != FrontendCustom {
		return nil
	}
	backend := b.manageTargetRules(f) && b.s.EnableBackendSG
	if p := sgCountProblem(annotations.SvcSecurityGroups, b.svc.Annotations[annotations.SvcSecurityGroups],
		b.ann.SecurityGroups, backend, annotations.SvcManageBackendRules); p != nil {
		return []*Problem{p}
	}
	return nil
}

// sgCountProblem is the 5-SG check for a custom SG list; backend says whether lbsg attaches
// the backend SG too, which manageKey turns off.
func sgCountProblem(key, value string, refs []string, backend bool, manageKey string) *Problem {
	n := len(dedupStrings(refs))
	total := n
	if backend {
		total++
	}
	if total <= MaxSecurityGroupsPerLoadBalancer {
		return nil
	}
	reason := fmt.Sprintf("%d security groups exceed the limit of %d per load balancer", n, MaxSecurityGroupsPerLoadBalancer)
	fix := fmt.Sprintf("list at most %d security groups", MaxSecurityGroupsPerLoadBalancer)
	if backend {
		reason = fmt.Sprintf("%d security groups plus the shared backend security group lbsg attaches: %d exceed the limit of %d per load balancer",
			n, total, MaxSecurityGroupsPerLoadBalancer)
		fix = fmt.Sprintf("list at most %d security groups, or set %s to false so that lbsg does not attach the backend security group",
			MaxSecurityGroupsPerLoadBalancer-1, manageKey)
	}
	return &Problem{Key: key, Value: value, Reason: reason, Fix: fix}
}

func dedupStrings(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// tagSource says where the tags of a stack's resources come from, to name the setting in a
// limit error: the user's tags (annotation or IngressClassParams) and --default-tags.
type tagSource struct {
	key, value     string
	user, defaults int
}

// checkLimits checks the AWS limits that only show once the stack is built: at most 50 tags
// on each resource, counting lbsg's own tags, --default-tags and the user's.
func checkLimits(st *Stack, src tagSource) []*Problem {
	problems := checkTagLimit(st, src)
	if n := len(st.Listeners); n > MaxListenersPerLoadBalancer {
		key, value, fix := "spec.ports", fmt.Sprintf("%d ports", n), "serve at most 50 ports from one Service"
		if st.LoadBalancer.Type == TypeApplication {
			key, value, fix = annotations.IngListenPorts, fmt.Sprintf("%d ports", n), "listen on at most 50 ports across the group"
		}
		problems = append(problems, &Problem{Key: key, Value: value,
			Reason: fmt.Sprintf("%d listeners; a load balancer can have at most %d", n, MaxListenersPerLoadBalancer), Fix: fix})
	}
	rules := 0
	for _, l := range st.Listeners {
		rules += len(l.Rules)
	}
	if rules > MaxRulesPerALB {
		problems = append(problems, &Problem{Key: "spec.rules", Value: fmt.Sprintf("%d rules", rules),
			Reason: fmt.Sprintf("%d listener rules (host and path pairs, per listen port); an ALB can have at most %d", rules, MaxRulesPerALB),
			Fix:    "route fewer paths through the group, or split it into several groups"})
	}
	return problems
}

// ELBv2 quotas lbsg checks before any write.
const (
	MaxListenersPerLoadBalancer = 50
	MaxRulesPerALB              = 100 // not counting the default rules
)

func checkTagLimit(st *Stack, src tagSource) []*Problem {
	most, what := len(st.LoadBalancer.Tags), "the load balancer"
	if st.ManagedSG != nil && len(st.ManagedSG.Tags) > most {
		most, what = len(st.ManagedSG.Tags), "the managed security group"
	}
	for _, tg := range st.TargetGroups {
		if len(tg.Tags) > most {
			most, what = len(tg.Tags), "target group "+tg.Name
		}
	}
	if most <= naming.MaxTagsPerResource {
		return nil
	}
	key, value := src.key, src.value
	if src.user == 0 {
		key, value = "--default-tags", fmt.Sprintf("%d tags", src.defaults)
	}
	return []*Problem{{Key: key, Value: value,
		Reason: fmt.Sprintf("%s would get %d tags (%d from %s, %d from --default-tags, the rest lbsg's own); AWS allows at most %d per resource",
			what, most, src.user, src.key, src.defaults, naming.MaxTagsPerResource),
		Fix: "remove tags from the annotation or from --default-tags"}}
}

func cidrRule(proto string, from, to int32, cidr string) sgrules.Rule {
	kind := sgrules.PeerCIDR
	if isV6(cidr) {
		kind = sgrules.PeerCIDRv6
	}
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: kind, Peer: cidr}}
}

func (b *serviceBuilder) buildTargets(st *Stack, stackTags, specTags map[string]string) {
	svc, s := b.svc, b.s
	tt := b.targetType()
	for _, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		port, portName := b.targetPort(p, tt)
		listenerProto := proto
		if b.tlsPort(p) {
			listenerProto = protocolTLS
			if b.ann.TLS.BackendProtocol != annotations.BackendProtocolSSL {
				proto = string(corev1.ProtocolTCP)
			} else {
				proto = protocolTLS
			}
		}
		tg := TargetGroup{
			ResourceID:      naming.TargetGroupResourceID(svc.Namespace, svc.Name, p.Port),
			Protocol:        proto,
			Port:            naming.ServiceTargetGroupPort(tt, p.Port, p.NodePort, targetPortString(p)),
			TrafficPort:     port,
			TargetType:      tt,
			HealthCheck:     b.healthCheck(tt),
			ServicePort:     p.Port,
			ServicePortName: p.Name,
			TargetPortName:  portName,
			IPv6:            false,

			ServiceNamespace: svc.Namespace,
			ServiceName:      svc.Name,
			NodeSelector:     b.ann.TargetNodeLabels,
		}
		tg.Name = naming.ServiceTargetGroupName(naming.TargetGroupNameInput{Cluster: s.Cluster, Namespace: svc.Namespace,
			Name: svc.Name, UID: string(svc.UID), Port: p.Port, TargetGroupPort: tg.Port, TargetType: tt,
			Protocol: proto, HealthCheckProtocol: tg.HealthCheck.Protocol, HealthCheckInterval: b.ann.HealthCheckInterval})
		tg.Tags = naming.MergeTags(stackTags, map[string]string{naming.ServiceResourceTag: tg.ResourceID}, specTags)
		st.TargetGroups = append(st.TargetGroups, tg)
		st.Listeners = append(st.Listeners, b.listener(p, listenerProto, tg.ResourceID))
	}
}

// targetPortString renders spec.ports[].targetPort as upstream hashes it; unset is "".
func targetPortString(p corev1.ServicePort) string {
	if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
		return ""
	}
	return p.TargetPort.String()
}

// targetPort is the port targets are registered on: the NodePort for instance targets, the
// (possibly named) target port for ip targets.
func (b *serviceBuilder) targetPort(p corev1.ServicePort, tt string) (int32, string) {
	if tt == TargetInstance {
		return p.NodePort, ""
	}
	if p.TargetPort.IntVal != 0 && p.TargetPort.StrVal == "" {
		return p.TargetPort.IntVal, ""
	}
	if p.TargetPort.StrVal == "" {
		return p.Port, ""
	}
	if port, ok := b.facts.EndpointPorts[p.Name]; ok {
		return port, p.TargetPort.StrVal
	}
	return 0, p.TargetPort.StrVal
}

func (b *serviceBuilder) healthCheck(tt string) HealthCheck {
	hc := HealthCheck{Protocol: "TCP", Port: TrafficPort}
	if tt == TargetInstance && b.svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && b.svc.Spec.HealthCheckNodePort != 0 {
		hc = HealthCheck{Protocol: "HTTP", Port: strconv.Itoa(int(b.svc.Spec.HealthCheckNodePort)), Path: "/healthz"}
	}
	if b.ann.HealthCheckPort != "" {
		hc.Port = b.ann.HealthCheckPort
	}
	if b.ann.HealthCheckProtocol != "" {
		hc.Protocol = b.ann.HealthCheckProtocol
		if hc.Protocol != "TCP" && hc.Path == "" {
			hc.Path = "/"
		}
		if hc.Protocol == "TCP" {
			hc.Path = ""
		}
	}
	if b.ann.HealthCheckPath != "" && hc.Protocol != "TCP" {
		hc.Path = b.ann.HealthCheckPath
	}
	return hc
}

// sgNeeds are the ports targets must admit from the source SG (reference §5.1, NLB).
func (b *serviceBuilder) sgNeeds(st *Stack) []sgrules.Need {
	var needs []sgrules.Need
	if b.s.DisableRestrictedSGRules {
		needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, AllPorts: true})
		for _, tg := range st.TargetGroups {
			if tg.Protocol == "UDP" || tg.Protocol == "TCP_UDP" {
				needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoUDP, AllPorts: true})
				break
			}
		}
		return dedupNeeds(needs)
	}
	for _, tg := range st.TargetGroups {
		port := tg.TrafficPort
		if port == 0 {
			continue // a named ip target port with no endpoints yet: nothing to admit
		}
		hcPort, hcNumeric := numericPort(tg.HealthCheck.Port)
		switch tg.Protocol {
		case "UDP":
			needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoUDP, Port: port})
			if tg.HealthCheck.Port == TrafficPort || hcPort == port {
				needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: port})
			}
		case "TCP_UDP":
			needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoUDP, Port: port},
				sgrules.Need{Protocol: sgrules.ProtoTCP, Port: port})
		default:
			needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: port})
		}
		if hcNumeric && hcPort != port {
			needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: hcPort})
		}
	}
	return dedupNeeds(needs)
}

// legacyNeeds are the CIDR rules of an NLB without SGs (reference §5.8).
func (b *serviceBuilder) legacyNeeds(st *Stack) []LegacyNeed {
	preserve, _ := b.preserveClientIP()
	ranges, _ := b.sourceRanges()
	defaulted := false
	var out []LegacyNeed
	for _, tg := range st.TargetGroups {
		port := tg.TrafficPort
		if port == 0 {
			continue
		}
		udp := tg.Protocol != "TCP"
		peers := []string{PeerSubnets}
		if udp || preserve {
			peers = append([]string(nil), ranges...)
			if len(peers) == 0 {
				defaulted = true
				peers = []string{"0.0.0.0/0"}
				if st.LoadBalancer.Scheme == SchemeInternal {
					peers = []string{PeerVPC}
				}
			}
		}
		protos := []string{sgrules.ProtoTCP}
		switch tg.Protocol {
		case "UDP":
			protos = []string{sgrules.ProtoUDP}
		case "TCP_UDP":
			protos = []string{sgrules.ProtoTCP, sgrules.ProtoUDP}
		}
		for _, proto := range protos {
			out = append(out, LegacyNeed{Need: sgrules.Need{Protocol: proto, Port: port}, Peers: peers})
		}
		hcPort := port
		if n, ok := numericPort(tg.HealthCheck.Port); ok {
			hcPort = n
		}
		openToAll := false
		for _, p := range peers {
			if p == "0.0.0.0/0" || p == "::/0" {
				openToAll = true
			}
		}
		omitHC := !udp && hcPort == port && (!preserve || defaulted || openToAll)
		if !omitHC {
			out = append(out, LegacyNeed{Need: sgrules.Need{Protocol: sgrules.ProtoTCP, Port: hcPort}, Peers: []string{PeerSubnets}})
		}
	}
	return out
}

func numericPort(p string) (int32, bool) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return int32(n), true
}

func dedupNeeds(needs []sgrules.Need) []sgrules.Need {
	seen := map[sgrules.Need]bool{}
	var out []sgrules.Need
	for _, n := range needs {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Protocol != out[j].Protocol {
			return out[i].Protocol < out[j].Protocol
		}
		if out[i].AllPorts != out[j].AllPorts {
			return out[i].AllPorts
		}
		return out[i].Port < out[j].Port
	})
	return out
}

func sortProblems(ps []*Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
}
