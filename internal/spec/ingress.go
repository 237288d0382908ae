package spec

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// ALB values, as the ELBv2 API spells them.
const (
	TypeApplication        = "application"
	DualStackNoPublicIPv4  = annotations.IPAddressTypeDualNoPublicV4
	IngressController      = "ingress.k8s.aws/alb"
	IngressClassLegacyName = "alb"
	protocolHTTP           = "HTTP"
	protocolHTTPS          = "HTTPS"
	protocolVersionHTTP1   = "HTTP1"
	defaultHealthCheckPath = "/"
	isDefaultClass         = "ingressclass.kubernetes.io/is-default-class"
)

// IngressGroupID names an Ingress group: an explicit group (alb.ingress.kubernetes.io/
// group.name) by its name, with Namespace empty; an implicit group by its only Ingress.
type IngressGroupID struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Explicit reports whether the group was named by group.name (or IngressClassParams).
func (g IngressGroupID) Explicit() bool { return g.Namespace == "" }

// String is upstream's group ID: the group name, or "<namespace>/<name>". It is the stack
// ID and goes into the ALB and target group name hashes.
func (g IngressGroupID) String() string {
	if g.Explicit() {
		return g.Name
	}
	return g.Namespace + "/" + g.Name
}

// Finalizer is the finalizer every member of the group carries.
func (g IngressGroupID) Finalizer() string {
	if g.Explicit() {
		return naming.IngressGroupFinalizer(g.Name)
	}
	return naming.IngressFinalizer
}

// Owner of the group's stack, for Events and plans.
func (g IngressGroupID) Owner() Owner {
	if g.Explicit() {
		return Owner{Kind: "IngressGroup", Name: g.Name}
	}
	return Owner{Kind: "Ingress", Namespace: g.Namespace, Name: g.Name}
}

// ClassParams are the fields of an IngressClassParams that lbsg applies. A set field
// overrides the matching annotation on every Ingress of the class.
type ClassParams struct {
	Name          string            `json:"name"`
	Group         string            `json:"group,omitempty"`
	Scheme        string            `json:"scheme,omitempty"`
	IPAddressType string            `json:"ipAddressType,omitempty"`
	InboundCIDRs  []string          `json:"inboundCIDRs,omitempty"`
	PrefixLists   []string          `json:"prefixLists,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// Subnets (IDs or Name tags) and SubnetTags (a tag selector) are spec.subnets.
	Subnets    []string            `json:"subnets,omitempty"`
	SubnetTags map[string][]string `json:"subnetTags,omitempty"`
	// LoadBalancerAttributes win over the load-balancer-attributes annotation, key by key.
	LoadBalancerAttributes map[string]string `json:"loadBalancerAttributes,omitempty"`
	// CertificateARNs and SSLPolicy (spec.certificateArn, spec.sslPolicy) override the
	// certificate-arn and ssl-policy annotations.
	CertificateARNs []string `json:"certificateARNs,omitempty"`
	SSLPolicy       string   `json:"sslPolicy,omitempty"`
	// SSLRedirectPort (spec.sslRedirectPort) overrides the ssl-redirect annotation.
	SSLRedirectPort string `json:"sslRedirectPort,omitempty"`
	// WAFv2ACLArn and WAFv2ACLName (spec.wafv2AclArn, spec.wafv2AclName) ask for a web ACL,
	// which lbsg does not associate yet: the class's Ingresses are not served.
	WAFv2ACLArn  string `json:"wafv2AclArn,omitempty"`
	WAFv2ACLName string `json:"wafv2AclName,omitempty"`
}

// IngressMember is one Ingress of a group with what its IngressClass says.
type IngressMember struct {
	Ingress *networkingv1.Ingress
	// ClassName is the IngressClass the Ingress uses ("" for the legacy annotation).
	ClassName string
	// Params are the class's IngressClassParams, nil when it has none.
	Params *ClassParams
	// MissingParams names an IngressClassParams the class refers to that does not exist.
	MissingParams string
}

// IngressFacts are the observed facts the desired state of a group depends on.
type IngressFacts struct {
	// LBExists and LBScheme describe the group's ALB if it exists: an existing ALB keeps
	// its scheme when no annotation sets one.
	LBExists bool
	LBScheme string
	// Services are the backend Services by "<namespace>/<name>".
	Services map[string]*corev1.Service
	// CertificatesByHost are the issued ACM certificates whose domains match each host that
	// certificate discovery looked up (see CertificateDiscoveryHosts); a host without a
	// match maps to nothing.
	CertificatesByHost map[string][]string
	// CertificatesUnknown says discovery did not run (the target-SG pass, which needs no
	// certificate): the members that need it get none, and that is no problem.
	CertificatesUnknown bool
	// EndpointPorts maps "<namespace>/<name>" of a Service to the ports its endpoints
	// report, by Service port name; it resolves named target ports for ip targets.
	EndpointPorts map[string]map[string]int32
	// ForwardTargetGroups are the owners, as observed, of the target groups the members'
	// actions.* annotations forward to by ARN (annotations.ActionTargetGroupARNs); an ARN
	// absent here does not exist. Policy decides whether a member may forward to them: a
	// target group another stack or cluster made is refused (authz).
	ForwardTargetGroups map[string]authz.Owner
	Policy              authz.Policy
	// TargetGroupsUnknown says the owners were not read (the target-SG pass, readiness
	// gates, explain: none of them writes a forward): forwards by ARN are then not judged,
	// and that is no problem. The stack's own plan judges them, and plan.CheckReferences
	// again.
	TargetGroupsUnknown bool
}

// IngressGroupOf returns the group an Ingress belongs to: the class's IngressClassParams
// group, else its group.name annotation, else its own implicit group. A malformed
// group name (annotation or class) puts the Ingress in its implicit group, whose build
// reports the problem.
func IngressGroupOf(ing *networkingv1.Ingress, params *ClassParams) IngressGroupID {
	valid := func(name string) bool {
		_, problems := annotations.ParseIngress(map[string]string{annotations.IngGroupName: name})
		return len(problems) == 0
	}
	if params != nil && params.Group != "" {
		if valid(params.Group) {
			return IngressGroupID{Name: params.Group}
		}
		return IngressGroupID{Namespace: ing.Namespace, Name: ing.Name}
	}
	if name := ing.Annotations[annotations.IngGroupName]; name != "" && valid(name) {
		return IngressGroupID{Name: name}
	}
	return IngressGroupID{Namespace: ing.Namespace, Name: ing.Name}
}

// SortMembers orders a group's members as upstream does: by group.order, then by the
// string "<namespace>/<name>". Listener rule priorities follow this order.
func SortMembers(members []IngressMember) {
	type keyed struct {
		order int32
		key   string
		m     IngressMember
	}
	ks := make([]keyed, len(members))
	for i, m := range members {
		ks[i] = keyed{key: m.Ingress.Namespace + "/" + m.Ingress.Name, m: m}
		if v, ok := m.Ingress.Annotations[annotations.IngGroupOrder]; ok {
			ann, _ := annotations.ParseIngress(map[string]string{annotations.IngGroupOrder: v})
			ks[i].order = ann.GroupOrder
		}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].order != ks[j].order {
			return ks[i].order < ks[j].order
		}
		return ks[i].key < ks[j].key
	})
	for i := range ks {
		members[i] = ks[i].m
	}
}

// member is one Ingress with its annotations resolved against its class's parameters.
type member struct {
	IngressMember
	key       string // "<namespace>/<name>"
	ann       annotations.Ingress
	scheme    string // "" when neither the annotation nor the class sets it
	ipType    string
	cidrs     []string // nil when unset
	cidrsFrom string   // the key (annotation or IngressClassParams field) the CIDRs came from
	prefixes  []string
	ports     []annotations.ListenPort
	tags      map[string]string
	tagsFrom  string // the key (annotation or IngressClassParams field) the tags came from
	tagsValue string
	tls       memberTLS
}

type ingressBuilder struct {
	g        IngressGroupID
	s        Settings
	facts    IngressFacts
	members  []*member
	problems []*Problem
	notices  []Notice
	// forwardsJudged are the "<member>\x00<key>\x00<ARN>" forwards already judged: an
	// action several rules use is reported once.
	forwardsJudged map[string]bool
	// owners are the members ("<namespace>/<name>") each problem belongs to: one for a
	// member's own bad input, two for a conflict between members, none for the group's.
	owners map[*Problem][]string
}

// fail records a problem of the group as a whole, or of the members named.
func (b *ingressBuilder) fail(key, value, reason, fix string, members ...string) {
	b.own(&Problem{Key: key, Value: value, Reason: reason, Fix: fix}, members...)
}

// conflict records members that disagree; value names each side, whose own values the
// caller shortens with short; members are the two sides.
func (b *ingressBuilder) conflict(key, value, reason, fix string, members ...string) {
	b.own(&Problem{Key: key, Value: value, Reason: reason, Fix: fix, Composite: true}, members...)
}

// addOn records a problem of one member's own, tagged with the member.
func (b *ingressBuilder) addOn(p *Problem, member string) {
	b.own(onIngress(p, member), member)
}

// own records a problem and the members it belongs to.
func (b *ingressBuilder) own(p *Problem, members ...string) {
	b.problems = append(b.problems, p)
	b.setOwners(p, members)
}

func (b *ingressBuilder) setOwners(p *Problem, members []string) {
	if len(members) == 0 {
		return
	}
	if b.owners == nil {
		b.owners = map[*Problem][]string{}
	}
	b.owners[p] = members
}

// ownSince gives the problems recorded since index from and not yet owned to member: what
// resolving one member finds is that member's (its IngressClassParams included).
func (b *ingressBuilder) ownSince(from int, member string) {
	for _, p := range b.problems[from:] {
		if _, ok := b.owners[p]; !ok {
			b.setOwners(p, []string{member})
		}
	}
}

// short shortens one member's value inside a conflict message.
func short(v string) string { return annotations.Shorten(v) }

// BuildIngressGroup returns the desired stack of an Ingress group's ALB, or the problems
// that keep it from being built (then nothing in AWS changes for the group). members are
// the group's live Ingresses, in any order. BuildIngressGroupMembers excludes the members
// at fault instead.
func BuildIngressGroup(g IngressGroupID, members []IngressMember, s Settings, facts IngressFacts) (*Stack, []*Problem) {
	st, problems, _ := buildGroup(g, members, s, facts)
	return st, problems
}

// buildGroup builds the group from members, and says which members each problem belongs
// to.
func buildGroup(g IngressGroupID, members []IngressMember, s Settings, facts IngressFacts) (*Stack, []*Problem, map[*Problem][]string) {
	sorted := append([]IngressMember(nil), members...)
	SortMembers(sorted)
	b := &ingressBuilder{g: g, s: s, facts: facts}
	for _, m := range sorted {
		from := len(b.problems)
		rm := b.resolveMember(m)
		b.ownSince(from, rm.key)
		b.members = append(b.members, rm)
	}
	st := b.build()
	if len(b.problems) == 0 {
		b.problems = append(b.problems, checkLimits(st, b.tagSources())...)
	}
	if len(b.problems) > 0 {
		seen := map[string]bool{}
		var problems []*Problem
		for _, p := range b.problems {
			if !seen[p.Error()] {
				seen[p.Error()] = true
				problems = append(problems, p)
			}
		}
		sortProblems(problems)
		return nil, problems, b.owners
	}
	st.Notices = append(st.Notices, b.notices...)
	return st, nil, nil
}

// GroupBuild is an Ingress group built member by member (BuildIngressGroupMembers).
type GroupBuild struct {
	// Stack is built from the members that were not excluded; nil when none is left, or
	// when the group has Problems.
	Stack *Stack
	// Excluded are the members left out, each with the problems that exclude it.
	Excluded []ExcludedMember
	// Problems are the group's own: no one member causes them (a limit of the whole group,
	// a flag). Nothing of the group is applied while it has any.
	Problems []*Problem
}

// ExcludedMember is a member left out of its group's load balancer.
type ExcludedMember struct {
	Ingress  *networkingv1.Ingress
	Problems []*Problem
}

// BuildIngressGroupMembers builds a group from the members that can be served: a member
// whose own input is bad (a malformed annotation, a missing backend, a protection lbsg
// cannot apply...) is excluded, and so is, of two members whose settings must agree across
// the group and do not, the newer one (by creationTimestamp, then namespace/name): the
// oldest member's setting wins. The rest of the group converges. A member's own problems
// are dealt with first, since excluding it may settle a conflict too; each round excludes
// at least one member, so at most len(members)+1 builds are made.
func BuildIngressGroupMembers(g IngressGroupID, members []IngressMember, s Settings, facts IngressFacts) GroupBuild {
	var out GroupBuild
	remaining := append([]IngressMember(nil), members...)
	for len(remaining) > 0 {
		st, problems, owners := buildGroup(g, remaining, s, facts)
		if len(problems) == 0 {
			out.Stack = st
			return out
		}
		excluded := map[string][]*Problem{}
		for _, p := range problems {
			if o := owners[p]; len(o) == 1 {
				excluded[o[0]] = append(excluded[o[0]], p)
			}
		}
		if len(excluded) == 0 {
			for _, p := range problems {
				if o := owners[p]; len(o) > 1 {
					newest := newestOf(remaining, o)
					if _, done := excluded[newest]; !done {
						excluded[newest] = append(excluded[newest], asExcludedBy(p, newest))
					}
				}
			}
		}
		if len(excluded) == 0 {
			out.Problems = problems
			return out
		}
		kept := remaining[:0]
		for _, m := range remaining {
			if ps, ok := excluded[memberKey(m)]; ok {
				out.Excluded = append(out.Excluded, ExcludedMember{Ingress: m.Ingress, Problems: ps})
			} else {
				kept = append(kept, m)
			}
		}
		remaining = kept
	}
	return out
}

func memberKey(m IngressMember) string { return m.Ingress.Namespace + "/" + m.Ingress.Name }

// newestOf returns which of the members named by keys was created last (ties: the greatest
// namespace/name).
func newestOf(members []IngressMember, keys []string) string {
	var newest *networkingv1.Ingress
	for _, m := range members {
		if !slices.Contains(keys, memberKey(m)) {
			continue
		}
		if newest == nil || newest.CreationTimestamp.Before(&m.Ingress.CreationTimestamp) ||
			(newest.CreationTimestamp.Equal(&m.Ingress.CreationTimestamp) && memberKey(m) > newest.Namespace+"/"+newest.Name) {
			newest = m.Ingress
		}
	}
	if newest == nil {
		return keys[len(keys)-1]
	}
	return newest.Namespace + "/" + newest.Name
}

// asExcludedBy says, on a conflict, which side is left out.
func asExcludedBy(p *Problem, key string) *Problem {
	c := *p
	c.Reason += fmt.Sprintf("; the oldest member's setting wins, so Ingress %s, the newer, is excluded from the group", key)
	return &c
}

// tagSources names where the group's tags came from, for limit errors: the first member
// that sets tags, by annotation or through its class.
func (b *ingressBuilder) tagSources() tagSource {
	src := tagSource{key: annotations.IngTags, defaults: len(b.s.DefaultTags)}
	for _, m := range b.members {
		if len(m.tags) == 0 {
			continue
		}
		src.user += len(m.tags)
		if src.value == "" {
			src.key, src.value = m.tagsFrom, m.tagsValue
		}
	}
	return src
}

// onIngress tags a problem with the Ingress it comes from.
func onIngress(p *Problem, key string) *Problem {
	p.Reason += " (Ingress " + key + ")"
	return p
}

func (b *ingressBuilder) resolveMember(im IngressMember) *member {
	ing := im.Ingress
	m := &member{IngressMember: im, key: ing.Namespace + "/" + ing.Name}
	ann, problems := annotations.ParseIngress(ing.Annotations)
	for _, p := range problems {
		b.addOn(p, m.key)
	}
	m.ann = ann
	for _, c := range ann.CIDRChanges {
		b.notices = append(b.notices, Notice{Reason: NoticeCIDRCanonicalized, Message: c.Message(), Ingress: m.key})
	}
	if keys := annotations.UnsupportedIngressKeys(ing.Annotations); len(keys) > 0 {
		b.notices = append(b.notices, Notice{Reason: NoticeUnsupportedAnnotations, Message: annotations.UnsupportedMessage(keys), Ingress: m.key})
	}
	for _, k := range annotations.ProtectiveIngressKeys(ing.Annotations) {
		b.addOn(annotations.ProtectiveError(k, ing.Annotations[k], "the Ingress"), m.key)
	}
	b.checkActionAnnotations(m)
	if p := im.Params; p != nil && p.Group != "" {
		if _, problems := annotations.ParseIngress(map[string]string{annotations.IngGroupName: p.Group}); len(problems) > 0 {
			b.fail("IngressClassParams "+p.Name+" spec.group.name", p.Group, problems[0].Reason, problems[0].Fix)
		}
	}
	if im.MissingParams != "" {
		b.fail("spec.ingressClassName", im.ClassName,
			fmt.Sprintf("IngressClass %s refers to IngressClassParams %s, which does not exist (Ingress %s)", im.ClassName, im.MissingParams, m.key),
			"create the IngressClassParams, or remove spec.parameters from the IngressClass")
	}
	if ann.SchemeSet {
		m.scheme = ann.Scheme
	}
	m.ipType = ann.IPAddressType
	if len(ann.InboundCIDRs) > 0 {
		m.cidrs, m.cidrsFrom = ann.InboundCIDRs, annotations.IngInboundCIDRs
	}
	m.prefixes = ann.PrefixLists
	m.tags = ann.Tags
	m.tagsFrom, m.tagsValue = annotations.IngTags, ing.Annotations[annotations.IngTags]
	if p := im.Params; p != nil {
		field := "IngressClassParams " + p.Name + " spec."
		b.classProtection(m, field)
		if p.Scheme != "" {
			m.scheme = p.Scheme
		}
		if p.IPAddressType != "" {
			m.ipType = p.IPAddressType
		}
		if len(p.InboundCIDRs) > 0 {
			cidrs, changes, err := annotations.CanonicalCIDRs(field+"inboundCIDRs", p.InboundCIDRs)
			if err != nil {
				err.Reason = "invalid CIDR in IngressClassParams InboundCIDR: " + err.Reason
				b.problems = append(b.problems, err)
			}
			m.cidrs, m.cidrsFrom = cidrs, field+"inboundCIDRs"
			for _, c := range changes {
				b.notices = append(b.notices, Notice{Reason: NoticeCIDRCanonicalized, Message: c.Message(), Ingress: m.key})
			}
		}
		if len(p.PrefixLists) > 0 {
			m.prefixes = p.PrefixLists
			if _, err := annotations.ParsePrefixLists(field+"prefixListsIDs", strings.Join(p.PrefixLists, ",")); err != nil {
				b.problems = append(b.problems, err)
			}
		}
		if len(p.Tags) > 0 {
			// IngressClassParams are written by cluster admins, but a forged tracking tag
			// there would mislead lbsg just the same: it is bad input on every Ingress of
			// the class.
			if err := annotations.CheckTags(field+"tags", naming.FormatTags(p.Tags, ","), p.Tags); err != nil {
				b.problems = append(b.problems, err)
			}
			m.tags = naming.MergeTags(p.Tags, ann.Tags) // the class's tags win
			m.tagsFrom, m.tagsValue = field+"tags", naming.FormatTags(p.Tags, ",")
		}
	}
	b.classSubnets(m)
	b.explicitTLS(m)
	m.ports = ann.ListenPorts
	if m.ports == nil {
		if len(m.tls.certs) > 0 {
			m.ports = []annotations.ListenPort{{Protocol: protocolHTTPS, Port: 443}}
		} else {
			m.ports = []annotations.ListenPort{{Protocol: protocolHTTP, Port: 80}}
		}
	}
	b.discoverCertificates(m)
	return m
}

// classProtection refuses the protective fields of a member's IngressClassParams that lbsg
// does not implement (annotations.ProtectiveError), and applies spec.sslRedirectPort.
func (b *ingressBuilder) classProtection(m *member, field string) {
	p := m.Params
	for _, f := range []struct{ name, value string }{{"wafv2AclArn", p.WAFv2ACLArn}, {"wafv2AclName", p.WAFv2ACLName}} {
		if f.value != "" {
			b.addOn(annotations.ProtectiveError(field+f.name, f.value, "the Ingresses of the class"), m.key)
		}
	}
	if p.SSLRedirectPort == "" {
		return
	}
	t, errs := annotations.ParseIngressTLS(map[string]string{annotations.IngSSLRedirect: p.SSLRedirectPort})
	for _, err := range errs {
		err.Key = field + "sslRedirectPort"
		b.problems = append(b.problems, err)
	}
	if len(errs) == 0 {
		m.ann.TLS.RedirectTo = t.RedirectTo
	}
}

// exclusive merges a setting that members either leave unset or must agree on. values
// holds each member's rendered value ("" = unset); it returns the agreed value.
func (b *ingressBuilder) exclusive(key, what string, values []string) string {
	agreed, from := "", ""
	for i, v := range values {
		if v == "" {
			continue
		}
		if agreed == "" {
			agreed, from = v, b.members[i].key
			continue
		}
		if v != agreed {
			b.conflict(key, from+": "+short(agreed)+" | "+b.members[i].key+": "+short(v),
				fmt.Sprintf("conflicting %s across the members of Ingress group %s", what, b.g.String()),
				"give every member that sets it the same value, or move one of these Ingresses to another group", from, b.members[i].key)
			return agreed
		}
	}
	return agreed
}

// setString renders a list as a sorted set, so that members are compared as sets.
func setString(list []string) string {
	if len(list) == 0 {
		return ""
	}
	s := append([]string(nil), list...)
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

// portConfig is one merged listen port.
type portConfig struct {
	port       int32
	protocol   string
	cidrs      []string
	cidrsFrom  string
	prefixes   []string
	certs      []string
	sslPolicy  string
	policyFrom string
	pending    bool // a member's certificates are to be discovered
	protoFrom  string
	cidrOwner  string
	prefixFrom string
}

func (b *ingressBuilder) build() *Stack {
	g, s := b.g, b.s
	pick := func(f func(m *member) string) []string {
		out := make([]string, len(b.members))
		for i, m := range b.members {
			out[i] = f(m)
		}
		return out
	}
	b.exclusive(annotations.IngSecurityGroups, "securityGroups", pick(func(m *member) string { return setString(m.ann.SecurityGroups) }))
	ipType := b.exclusive(annotations.IngIPAddressType, "IPAddressType", pick(func(m *member) string { return m.ipType }))
	scheme := b.exclusive(annotations.IngScheme, "scheme", pick(func(m *member) string { return m.scheme }))
	subnets := b.exclusive(annotations.IngSubnets, "subnets", pick(func(m *member) string { return setString(m.ann.Subnets) }))
	lbName := b.exclusive(annotations.IngLoadBalancerName, "load-balancer-name", pick(func(m *member) string { return m.ann.LoadBalancerName }))
	groupTags := b.mergeTags()
	if ipType == "" {
		ipType = IPv4
	}
	dual := ipType == DualStack || ipType == DualStackNoPublicIPv4
	switch {
	case scheme != "":
	case b.facts.LBExists && b.facts.LBScheme != "":
		scheme = b.facts.LBScheme
	case s.DefaultScheme != "":
		scheme = s.DefaultScheme
	default:
		scheme = SchemeInternal
	}
	ports := b.mergePorts(dual)
	redirect := b.sslRedirect(ports)

	stackTags := naming.IngressStackTags(s.Cluster, g.String())
	specTags := naming.MergeTags(s.DefaultTags, groupTags)
	if s.DefaultTagsLowPriority {
		specTags = naming.MergeTags(groupTags, s.DefaultTags)
	}
	st := &Stack{Owner: g.Owner(), StackID: g.String(), StackTag: naming.IngressStackTag, ResourceTag: naming.IngressResourceTag}
	frontend := FrontendManaged
	var customRefs []string
	sgFrom, sgValue := "", "" // the member whose security-groups the group uses
	for _, m := range b.members {
		if len(m.ann.SecurityGroups) > 0 {
			frontend, customRefs = FrontendCustom, m.ann.SecurityGroups
			sgFrom, sgValue = m.key, m.Ingress.Annotations[annotations.IngSecurityGroups]
			break
		}
	}
	keepManaged := b.keepManagedSG()
	if frontend == FrontendCustom && keepManaged {
		frontend = FrontendManaged
	}
	manageRules := true
	if frontend == FrontendCustom {
		// Read only with custom SGs (seed 000: ignored for auto-generated SGs), so only
		// then can members conflict over it.
		manage := b.exclusive(annotations.IngManageBackendRules, "manage backend security group rules settings", pick(func(m *member) string {
			if m.ann.ManageBackendRules == nil {
				return ""
			}
			return strconv.FormatBool(*m.ann.ManageBackendRules)
		}))
		manageRules = s.EnableManageBackendSGRules
		if manage != "" {
			manageRules = manage == "true"
		}
		if manageRules && !s.EnableBackendSG {
			v := manage
			if v == "" {
				v = "true (from --enable-manage-backend-security-group-rules)"
			}
			b.fail(annotations.IngManageBackendRules, v,
				"backendSG feature is required to manage worker node SG rules when frontendSG manually specified",
				"run the controller with --enable-backend-security-group=true, or set the annotation to false", sgFrom)
		}
	}
	useBackend := s.EnableBackendSG && (frontend == FrontendManaged || manageRules)
	if keepManaged && len(customRefs) > 0 {
		for _, p := range managedPlusCustomCount(annotations.IngSecurityGroups, sgValue, customRefs, useBackend, annotations.IngManageFrontendSG) {
			b.own(p, sgFrom)
		}
	}
	if frontend == FrontendCustom {
		if p := sgCountProblem(annotations.IngSecurityGroups, sgValue, customRefs, useBackend, annotations.IngManageBackendRules); p != nil {
			b.own(p, sgFrom)
		}
	}
	if lbName == "" {
		lbName = naming.IngressLBName(s.Cluster, g.Explicit(), g.Namespace, g.Name, scheme)
	}
	st.LoadBalancer = LoadBalancer{
		Name:          lbName,
		Type:          TypeApplication,
		Scheme:        scheme,
		IPAddressType: ipType,
		Frontend:      frontend,
		CustomSGRefs:  customRefs,
		UseBackendSG:  useBackend,
		Tags:          naming.MergeTags(stackTags, map[string]string{naming.IngressResourceTag: naming.LoadBalancerResourceID}, specTags),
	}
	if subnets != "" {
		for _, m := range b.members {
			if len(m.ann.Subnets) > 0 {
				st.LoadBalancer.SubnetRefs = m.ann.Subnets
				break
			}
		}
	}
	if frontend == FrontendManaged {
		name := naming.IngressSGName(s.Cluster, g.Namespace, g.Name)
		if g.Explicit() {
			name = naming.IngressGroupSGName(s.Cluster, g.Name)
		}
		st.ManagedSG = &SecurityGroup{
			Name:        name,
			Description: naming.ManagedSGDescription,
			Tags:        naming.MergeTags(stackTags, map[string]string{naming.IngressResourceTag: naming.ManagedSGResourceID}, specTags),
			Ingress:     frontendRulesALB(ports, dual),
		}
	}
	tgs := &tgSet{b: b, stackTags: stackTags, specTags: specTags, byID: map[string]int{}}
	b.buildListeners(st, ports, tgs, redirect)
	st.TargetGroups = tgs.list
	b.groupAttrs(st)
	st.Networking.Manage = manageRules
	switch {
	case !manageRules:
	case useBackend:
		st.Networking.Source = SourceBackend
	case frontend == FrontendManaged:
		st.Networking.Source = SourceFrontend
	}
	if st.Networking.Source != "" {
		st.Networking.Needs = albNeeds(st.TargetGroups, s.DisableRestrictedSGRules)
	}
	return st
}

// mergeTags merges the members' tags; two members giving one key different values conflict.
func (b *ingressBuilder) mergeTags() map[string]string {
	out := map[string]string{}
	from := map[string]string{}
	for _, m := range b.members {
		keys := make([]string, 0, len(m.tags))
		for k := range m.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := m.tags[k]
			if old, ok := out[k]; ok && old != v {
				b.conflict(annotations.IngTags, from[k]+": "+short(k+"="+old)+" | "+m.key+": "+short(k+"="+v),
					fmt.Sprintf("conflicting tag %s: %s | %s across the members of Ingress group %s", short(k), short(old), short(v), b.g.String()),
					"give the tag the same value on every member, or set it once on one member", from[k], m.key)
				continue
			}
			out[k], from[k] = v, m.key
		}
	}
	return out
}

// mergePorts merges the members' listen ports (reference §2.4): one protocol per port;
// the members that set client CIDRs (or prefix lists) for a port must agree on the set.
func (b *ingressBuilder) mergePorts(dual bool) []*portConfig {
	byPort := map[int32]*portConfig{}
	for _, m := range b.members {
		for _, lp := range m.ports {
			pc := byPort[lp.Port]
			if pc == nil {
				pc = &portConfig{port: lp.Port, protocol: lp.Protocol, protoFrom: m.key}
				byPort[lp.Port] = pc
			} else if pc.protocol != lp.Protocol {
				b.conflict(annotations.IngListenPorts, fmt.Sprintf("%s: %s:%d | %s: %s:%d", pc.protoFrom, pc.protocol, lp.Port, m.key, lp.Protocol, lp.Port),
					fmt.Sprintf("conflicting protocol for port %d across the members of Ingress group %s", lp.Port, b.g.String()),
					"use one protocol per port in every member's listen-ports", pc.protoFrom, m.key)
				continue
			}
			if len(m.cidrs) > 0 {
				if pc.cidrs == nil {
					pc.cidrs, pc.cidrsFrom, pc.cidrOwner = m.cidrs, m.cidrsFrom, m.key
				} else if setString(pc.cidrs) != setString(m.cidrs) {
					b.conflict(annotations.IngInboundCIDRs, pc.cidrOwner+": "+short(setString(pc.cidrs))+" | "+m.key+": "+short(setString(m.cidrs)),
						fmt.Sprintf("conflicting inbound-cidrs for port %d across the members of Ingress group %s", lp.Port, b.g.String()),
						"give every member that listens on the port the same inbound-cidrs, or leave them unset on all but one", pc.cidrOwner, m.key)
				}
			}
			if len(m.prefixes) > 0 {
				if pc.prefixes == nil {
					pc.prefixes, pc.prefixFrom = m.prefixes, m.key
				} else if setString(pc.prefixes) != setString(m.prefixes) {
					b.conflict(annotations.IngPrefixLists, pc.prefixFrom+": "+short(setString(pc.prefixes))+" | "+m.key+": "+short(setString(m.prefixes)),
						fmt.Sprintf("conflicting inbound-prefix-lists for port %d across the members of Ingress group %s", lp.Port, b.g.String()),
						"give every member that listens on the port the same prefix lists, or leave them unset on all but one", pc.prefixFrom, m.key)
				}
			}
			if lp.Protocol == protocolHTTPS {
				b.mergePortTLS(pc, m)
			}
		}
	}
	out := make([]*portConfig, 0, len(byPort))
	for _, pc := range byPort {
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	for _, pc := range out {
		if pc.protocol == protocolHTTPS && len(pc.certs) == 0 && !pc.pending {
			value := fmt.Sprintf(`[{"HTTPS":%d}]`, pc.port)
			for _, m := range b.members {
				if m.key == pc.protoFrom {
					if raw, ok := m.Ingress.Annotations[annotations.IngListenPorts]; ok {
						value = raw
					}
				}
			}
			b.fail(annotations.IngListenPorts, value,
				fmt.Sprintf("HTTPS listener on port %d has no certificate (Ingress %s)", pc.port, pc.protoFrom),
				"set "+annotations.IngCertificateARN+" to the ARN of an ACM certificate, list the hosts in spec.tls (or in the rules) so that ACM discovery finds their certificate, or listen on HTTP", pc.protoFrom)
		}
		for _, c := range pc.cidrs {
			if isV6(c) && !dual {
				b.fail(pc.cidrsFrom, c,
					fmt.Sprintf("IPv6 CIDR %s on an ipv4 load balancer (upstream drops it silently; lbsg refuses) (Ingress %s)", c, pc.cidrOwner),
					"remove the IPv6 CIDR, or set "+annotations.IngIPAddressType+" to dualstack", pc.cidrOwner)
			}
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// frontendRulesALB are the managed SG's rules (reference §3.4, ALB): each listen port from
// each client CIDR and prefix list; 0.0.0.0/0 (and ::/0 when dualstack) by default.
func frontendRulesALB(ports []*portConfig, dual bool) []sgrules.Rule {
	var rules []sgrules.Rule
	for _, pc := range ports {
		cidrs := pc.cidrs
		if len(cidrs) == 0 && len(pc.prefixes) == 0 {
			cidrs = []string{"0.0.0.0/0", "::/0"}
		}
		for _, c := range cidrs {
			c = strings.TrimSpace(c)
			if isV6(c) && !dual {
				continue
			}
			rules = append(rules, cidrRule(sgrules.ProtoTCP, pc.port, pc.port, c))
		}
		for _, pl := range pc.prefixes {
			rules = append(rules, sgrules.Rule{Key: sgrules.Key{Protocol: sgrules.ProtoTCP, FromPort: pc.port, ToPort: pc.port,
				PeerKind: sgrules.PeerPrefixList, Peer: pl}})
		}
	}
	rules = sgrules.Dedup(rules)
	sgrules.Sort(rules)
	return rules
}

// buildListeners makes one listener per merged port, with the members' rules in group
// order and the default backend (or a 404) as default action.
func (b *ingressBuilder) buildListeners(st *Stack, ports []*portConfig, tgs *tgSet, redirect int32) {
	defaults := map[int32]string{} // port -> target group of the default backend
	defaultActs := map[int32]*state.RuleAction{}
	defaultFrom := map[int32]string{} // port -> the member that set it
	for _, m := range b.members {
		db := m.Ingress.Spec.DefaultBackend
		if db == nil {
			continue
		}
		var id string
		var act *state.RuleAction
		if db.Service != nil && db.Service.Port.Name == annotations.UseAnnotation {
			id, act = b.backendAction(m, tgs, db.Service.Name, "spec.defaultBackend")
		} else {
			id = tgs.forBackend(m, db, "spec.defaultBackend")
		}
		// A default backend serves the ports its own Ingress listens on.
		for _, lp := range m.ports {
			if from, taken := defaultFrom[lp.Port]; taken {
				b.conflict("spec.defaultBackend", from+" | "+m.key,
					fmt.Sprintf("more than one member of Ingress group %s sets a default backend for port %d", b.g.String(), lp.Port),
					"set spec.defaultBackend on one member only, or give the members different listen-ports", from, m.key)
				continue
			}
			defaults[lp.Port], defaultActs[lp.Port], defaultFrom[lp.Port] = id, act, m.key
		}
	}
	for _, pc := range ports {
		l := Listener{Port: pc.port, Protocol: pc.protocol, TargetGroup: defaults[pc.port], DefaultAction: defaultActs[pc.port], Certificates: pc.certs}
		if pc.protocol == protocolHTTPS {
			l.SSLPolicy = pc.sslPolicy
			if l.SSLPolicy == "" {
				l.SSLPolicy, l.SSLPolicyIsDefault = b.s.sslPolicy(), true
			}
		}
		if port := sslRedirectOf(l.DefaultAction); port != 0 {
			// A default action that is exactly ssl-redirect's is planned as one, so that it
			// reads back the same.
			l.DefaultAction, l.RedirectPort = nil, port
		}
		if redirect != 0 && pc.protocol == protocolHTTP {
			// As upstream: an HTTP listener of a group with ssl-redirect only redirects.
			l.TargetGroup, l.DefaultAction, l.RedirectPort = "", nil, redirect
			st.Listeners = append(st.Listeners, l)
			continue
		}
		var prio int32
		for _, m := range b.members {
			if !listensOn(m, pc.port) {
				continue
			}
			for ri, rule := range m.Ingress.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for pi, path := range rule.HTTP.Paths {
					where := fmt.Sprintf("spec.rules[%d].http.paths[%d]", ri, pi)
					patterns, err := pathPatterns(path)
					if err != nil {
						b.addOn(&Problem{Key: where + ".path", Value: path.Path, Reason: err.Error(),
							Fix: "use a path without * and ? for pathType Exact and Prefix, or use ImplementationSpecific"}, m.key)
						continue
					}
					prio++
					r := ListenerRule{Priority: prio, Paths: patterns}
					if rule.Host != "" {
						r.Hosts = []string{rule.Host}
					}
					if !b.customRule(m, tgs, &r, &path.Backend, where+".backend") {
						r.TargetGroup = tgs.forBackend(m, &path.Backend, where+".backend")
					}
					if len(r.Hosts) == 0 && len(r.Paths) == 0 && len(r.Conditions) == 0 {
						r.Paths = []string{"/*"}
					}
					l.Rules = append(l.Rules, r)
				}
			}
		}
		st.Listeners = append(st.Listeners, l)
	}
}

func listensOn(m *member, port int32) bool {
	for _, lp := range m.ports {
		if lp.Port == port {
			return true
		}
	}
	return false
}

// pathPatterns converts an Ingress path into ALB path-pattern values as upstream does:
// Exact as is, Prefix as the path and everything below it, ImplementationSpecific as is
// (ALB wildcards allowed).
func pathPatterns(p networkingv1.HTTPIngressPath) ([]string, error) {
	pt := networkingv1.PathTypeImplementationSpecific
	if p.PathType != nil {
		pt = *p.PathType
	}
	switch pt {
	case networkingv1.PathTypeExact:
		if strings.ContainsAny(p.Path, "*?") {
			return nil, fmt.Errorf("exact path shouldn't contain wildcards: %s", p.Path)
		}
		return []string{p.Path}, nil
	case networkingv1.PathTypePrefix:
		if strings.ContainsAny(p.Path, "*?") {
			return nil, fmt.Errorf("prefix path shouldn't contain wildcards: %s", p.Path)
		}
		if p.Path == "/" {
			return []string{"/*"}, nil
		}
		trimmed := strings.TrimSuffix(p.Path, "/")
		return []string{trimmed, trimmed + "/*"}, nil
	}
	if p.Path == "" {
		return nil, nil
	}
	return []string{p.Path}, nil
}

// tgSet collects the group's target groups, one per (Ingress, Service, port).
type tgSet struct {
	b                   *ingressBuilder
	stackTags, specTags map[string]string
	list                []TargetGroup
	byID                map[string]int
}

// forBackend returns the ResourceID of the target group of a backend, creating it on
// first use; a bad backend is reported as a problem and yields "".
func (t *tgSet) forBackend(m *member, be *networkingv1.IngressBackend, where string) string {
	b := t.b
	ing := m.Ingress
	if be.Service == nil {
		b.addOn(&Problem{Key: where, Value: "resource",
			Reason: "only Service backends are supported", Fix: "point the backend at a Service"}, m.key)
		return ""
	}
	svcName := be.Service.Name
	portStr := be.Service.Port.Name
	if portStr == "" {
		portStr = strconv.Itoa(int(be.Service.Port.Number))
	}
	if portStr == annotations.UseAnnotation {
		// Callers resolve use-annotation backends (backendAction) before this.
		b.addOn(&Problem{Key: where + ".service.port.name", Value: portStr,
			Reason: "use-annotation names an action, not a Service port", Fix: "name a port the Service defines"}, m.key)
		return ""
	}
	id := naming.IngressTargetGroupResourceID(ing.Namespace, ing.Name, svcName, portStr)
	if _, ok := t.byID[id]; ok {
		return id
	}
	svcKey := ing.Namespace + "/" + svcName
	svc := b.facts.Services[svcKey]
	if svc == nil {
		b.addOn(&Problem{Key: where + ".service.name", Value: svcName,
			Reason: fmt.Sprintf("Service %s not found", svcKey), Fix: "create the Service, or point the backend at an existing one"}, m.key)
		return ""
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (be.Service.Port.Name != "" && p.Name == be.Service.Port.Name) || (be.Service.Port.Name == "" && p.Port == be.Service.Port.Number) {
			sp = p
		}
	}
	if sp == nil {
		b.addOn(&Problem{Key: where + ".service.port", Value: portStr,
			Reason: fmt.Sprintf("Service %s has no port %s", svcKey, portStr), Fix: "name a port the Service defines"}, m.key)
		return ""
	}
	backend, problems := annotations.ParseBackend(ing.Annotations, svc.Annotations)
	for _, p := range problems {
		b.addOn(p, m.key)
	}
	tt := backend.TargetType
	if tt == "" {
		tt = b.s.DefaultTargetType
	}
	if tt == "" {
		tt = TargetInstance
	}
	proto := backend.Protocol
	if proto == "" {
		proto = protocolHTTP
	}
	tg := TargetGroup{
		ResourceID:       id,
		Protocol:         proto,
		TargetType:       tt,
		ServicePort:      sp.Port,
		ServicePortName:  sp.Name,
		ServiceNamespace: svc.Namespace,
		ServiceName:      svc.Name,
		NodeSelector:     backend.TargetNodeLabels,
	}
	tg.Port = naming.ServiceTargetGroupPort(tt, sp.Port, sp.NodePort, targetPortString(*sp))
	switch {
	case tt == TargetInstance:
		if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			b.addOn(&Problem{Key: annotations.IngTargetType, Value: tt,
				Reason: fmt.Sprintf("Service %s is of type %s; instance targets need type NodePort or LoadBalancer", svcKey, svc.Spec.Type),
				Fix:    "make the Service type NodePort, or set " + annotations.IngTargetType + ": ip"}, m.key)
			return ""
		}
		tg.TrafficPort = sp.NodePort
	case sp.TargetPort.StrVal != "":
		tg.TargetPortName = sp.TargetPort.StrVal
		tg.TrafficPort = b.facts.EndpointPorts[svcKey][sp.Name]
	case sp.TargetPort.IntVal != 0:
		tg.TrafficPort = sp.TargetPort.IntVal
	default:
		tg.TrafficPort = sp.Port
	}
	tg.HealthCheck = HealthCheck{Protocol: proto, Port: TrafficPort, Path: defaultHealthCheckPath}
	if backend.HealthCheckProtocol != "" {
		tg.HealthCheck.Protocol = backend.HealthCheckProtocol
	}
	if backend.HealthCheckPath != "" {
		tg.HealthCheck.Path = backend.HealthCheckPath
	}
	if hp := backend.HealthCheckPort; hp != "" && hp != TrafficPort {
		if _, ok := numericPort(hp); ok {
			tg.HealthCheck.Port = hp
		} else if port, err := namedHealthCheckPort(svc, hp, tt); err != nil {
			b.addOn(&Problem{Key: annotations.IngHealthCheckPort, Value: hp, Reason: err.Error(),
				Fix: "use traffic-port, a port number, or the name of a Service port with a numeric target port"}, m.key)
		} else {
			tg.HealthCheck.Port = strconv.Itoa(int(port))
		}
	}
	b.backendAttrs(&tg, ing, svc.Annotations, m.key)
	tg.Name = naming.IngressTargetGroupName(naming.IngressTargetGroupNameInput{Cluster: b.s.Cluster, GroupID: b.g.String(),
		IngressNamespace: ing.Namespace, IngressName: ing.Name, ServiceUID: string(svc.UID),
		ServiceNamespace: svc.Namespace, ServiceName: svc.Name, ServicePort: portStr, TargetGroupPort: tg.Port,
		TargetType: tt, Protocol: proto, ProtocolVersion: cmp.Or(tg.ProtocolVersion, protocolVersionHTTP1)})
	tg.Tags = naming.MergeTags(t.stackTags, map[string]string{naming.IngressResourceTag: id}, t.specTags)
	t.byID[id] = len(t.list)
	t.list = append(t.list, tg)
	return id
}

// namedHealthCheckPort resolves a health-check port given as a Service port name: its
// NodePort for instance targets, its numeric target port for ip targets.
func namedHealthCheckPort(svc *corev1.Service, name, targetType string) (int32, error) {
	for _, p := range svc.Spec.Ports {
		if p.Name != name {
			continue
		}
		if targetType == TargetInstance {
			return p.NodePort, nil
		}
		if p.TargetPort.StrVal != "" {
			return 0, fmt.Errorf("health check port %q maps to the named target port %q; ip targets need a numeric one", name, p.TargetPort.StrVal)
		}
		if p.TargetPort.IntVal != 0 {
			return p.TargetPort.IntVal, nil
		}
		return p.Port, nil
	}
	return 0, fmt.Errorf("Service %s/%s has no port named %q", svc.Namespace, svc.Name, name)
}

// albNeeds are the ports targets must admit from the source SG (reference §5.1, ALB): the
// traffic port and a distinct numeric health-check port of each target group, all TCP.
func albNeeds(tgs []TargetGroup, unrestricted bool) []sgrules.Need {
	if unrestricted {
		return []sgrules.Need{{Protocol: sgrules.ProtoTCP, AllPorts: true}}
	}
	var needs []sgrules.Need
	for _, tg := range tgs {
		if tg.TrafficPort == 0 {
			continue
		}
		needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: tg.TrafficPort})
		if hc, ok := numericPort(tg.HealthCheck.Port); ok && hc != tg.TrafficPort {
			needs = append(needs, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: hc})
		}
	}
	return dedupNeeds(needs)
}
