package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// OwnerKindTGB is the owner kind of the rules a TargetGroupBinding's spec.networking asks
// for on its targets' SGs.
const OwnerKindTGB = "TargetGroupBinding"

// EventTGBInvalidNetworking: a spec.networking entry is not applied.
const EventTGBInvalidNetworking = "InvalidNetworking"

var sgIDPattern = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)

// ListBindings reads the TargetGroupBindings; none when the CRD is not installed.
func ListBindings(ctx context.Context, c client.Reader) ([]elbv2api.TargetGroupBinding, error) {
	list := &elbv2api.TargetGroupBindingList{}
	if err := c.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list target group bindings: %w", err)
	}
	return list.Items, nil
}

// bindingRuleSet is what one binding asks for on its targets' SGs: ports from security
// group peers (by source) and rules from IP blocks. problems name the entries left out.
type bindingRuleSet struct {
	needs    map[string][]sgrules.Need
	cidr     []sgrules.Rule
	problems []string
}

// bindingRules turns a binding's spec.networking.ingress into needs and CIDR rules. A named
// port is resolved to the container ports of that name of the binding's Pods (namedPorts);
// an entry that cannot be used is left out and named in problems, the rest still applies.
func bindingRules(n *elbv2api.TargetGroupBindingNetworking, namedPorts func(string) []int32) bindingRuleSet {
	out := bindingRuleSet{needs: map[string][]sgrules.Need{}}
	if n == nil {
		return out
	}
	for i, rule := range n.Ingress {
		var needs []sgrules.Need
		ports := rule.Ports
		if len(ports) == 0 {
			ports = []elbv2api.NetworkingPort{{}}
		}
		for j, p := range ports {
			proto := sgrules.ProtoTCP
			if p.Protocol != nil {
				switch *p.Protocol {
				case elbv2api.NetworkingProtocolTCP:
				case elbv2api.NetworkingProtocolUDP:
					proto = sgrules.ProtoUDP
				default:
					out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].ports[%d].protocol %q is not TCP or UDP", i, j, *p.Protocol))
					continue
				}
			}
			switch {
			case p.Port == nil:
				needs = append(needs, sgrules.Need{Protocol: proto, AllPorts: true})
			case p.Port.Type == intstr.Int:
				if p.Port.IntVal < 1 || p.Port.IntVal > sgrules.MaxPort {
					out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].ports[%d].port %d is not a port (1-65535)", i, j, p.Port.IntVal))
					continue
				}
				needs = append(needs, sgrules.Need{Protocol: proto, Port: p.Port.IntVal})
			default:
				found := namedPorts(p.Port.StrVal)
				if len(found) == 0 {
					out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].ports[%d].port %q names no container port of the target Pods", i, j, p.Port.StrVal))
					continue
				}
				for _, port := range found {
					needs = append(needs, sgrules.Need{Protocol: proto, Port: port})
				}
			}
		}
		if len(rule.From) == 0 {
			out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].from is empty: name a securityGroup or an ipBlock", i))
		}
		for j, peer := range rule.From {
			switch {
			case peer.SecurityGroup != nil && peer.IPBlock != nil:
				out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].from[%d] has both securityGroup and ipBlock: give one", i, j))
			case peer.SecurityGroup != nil:
				id := peer.SecurityGroup.GroupID
				if !sgIDPattern.MatchString(id) {
					out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].from[%d].securityGroup.groupID %q is not a security group ID (sg-…)", i, j, id))
					continue
				}
				out.needs[id] = append(out.needs[id], needs...)
			case peer.IPBlock != nil:
				prefix, err := netip.ParsePrefix(peer.IPBlock.CIDR)
				if err != nil || prefix.Masked() != prefix {
					out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].from[%d].ipBlock.cidr %q is not a CIDR (e.g. 10.0.0.0/16)", i, j, peer.IPBlock.CIDR))
					continue
				}
				kind := sgrules.PeerCIDR
				if prefix.Addr().Is6() {
					kind = sgrules.PeerCIDRv6
				}
				for _, nd := range needs {
					from, to := nd.Port, nd.Port
					if nd.AllPorts {
						from, to = 0, sgrules.MaxPort
					}
					out.cidr = append(out.cidr, sgrules.Rule{Key: sgrules.Key{Protocol: nd.Protocol, FromPort: from, ToPort: to, PeerKind: kind, Peer: prefix.String()}})
				}
			default:
				out.problems = append(out.problems, fmt.Sprintf("spec.networking.ingress[%d].from[%d] is empty: give a securityGroup or an ipBlock", i, j))
			}
		}
	}
	return out
}

// bindingContribution is what one binding adds to the target-SG pass: one contribution
// per source SG and one for its IP blocks, all on the ENIs of its targets.
type bindingContribution struct {
	sns     []stackNetworking
	instIDs []string
	ips     []string
}

// bindingSourceField is where a binding names the security groups it admits traffic from.
const bindingSourceField = "spec.networking.ingress[].from[].securityGroup.groupID"

// bindingContributions are the rules of every binding whose target group it owns (the
// target group carries its claim, which only lbsg writes, after the reference authorizer
// allowed it), on the targets the binding has now: the live Pods its Service selects behind
// its port (the same podTargets as its registrations), or the eligible nodes its selector
// selects. Nothing a tenant can write on the binding places a rule elsewhere. A binding
// being deleted, refused, or without networking contributes nothing, so its rules are
// revoked. Upstream's bindings of stacks lbsg adopted contribute nothing either: their
// stack's own contribution covers them. The claims are read from the bound target groups'
// cached descriptions.
//
// The rules themselves are the tenant's: each binding is a restricted owner
// (plan.Restriction), whose rules the planner keeps to the ports its targets receive
// traffic on, from sources the reference authorizer allows.
func (e *Engine) bindingContributions(ctx context.Context, objs ClusterObjects) ([]bindingContribution, error) {
	var out []bindingContribution
	for i := range objs.Bindings {
		b := &objs.Bindings[i]
		if b.DeletionTimestamp != nil || b.Spec.Networking == nil || len(b.Spec.Networking.Ingress) == 0 || upstreamStackOf(b) != nil {
			continue
		}
		tg, err := e.ELB.BoundTargetGroup(ctx, b.Spec.TargetGroupARN)
		if errors.Is(err, elb.ErrTargetGroupNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if self := e.claimOf(b); tg.Tags[self.Key] != self.Value {
			continue
		}
		if c, ok := bindingContributionOf(b, tg, objs); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// bindingContributionOf is one owning binding's contribution, on its targets as objs show
// them, restricted to the ports they receive traffic on: the Service port's NodePort on
// instance targets, the ports of its Pods on ip targets, and the target group's
// health-check port. A binding whose Service or port is missing has no traffic ports and
// contributes nothing.
func bindingContributionOf(b *elbv2api.TargetGroupBinding, tg elb.BoundTargetGroup, objs ClusterObjects) (bindingContribution, bool) {
	var c bindingContribution
	svc := findService(objs.Services, b.Namespace, b.Spec.ServiceRef.Name)
	if svc == nil {
		return c, false
	}
	port := bindingPort(svc, b.Spec.ServiceRef.Port)
	if port == nil {
		return c, false
	}
	var ports []int32
	switch tg.TargetType {
	case elbv2api.TargetTypeInstance:
		if port.NodePort == 0 {
			return c, false
		}
		ports = []int32{port.NodePort}
		nodes, _ := bindingNodes(b, objs.Nodes)
		for _, n := range nodes {
			if id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID); err == nil {
				c.instIDs = appendOnce(c.instIDs, id)
			}
		}
	case elbv2api.TargetTypeIP:
		ts, _ := podTargets(bindingTargetGroup(b, svc, port), objs)
		for _, t := range ts {
			c.ips = appendOnce(c.ips, t.ID)
			if !slices.Contains(ports, t.Port) {
				ports = append(ports, t.Port)
			}
		}
	}
	if len(c.instIDs)+len(c.ips) == 0 {
		return c, false
	}
	ips := c.ips
	rs := bindingRules(b.Spec.Networking, func(name string) []int32 { return containerPorts(objs.Pods, b.Namespace, ips, name) })
	owner := spec.Owner{Kind: OwnerKindTGB, Namespace: b.Namespace, Name: b.Name}
	restrict := &plan.Restriction{Subject: bindingSubject(b), SourceField: bindingSourceField,
		Ports: plan.TrafficPorts(state.TargetGroup{Protocol: tg.Protocol, HealthCheck: state.HealthCheck{Port: tg.HealthCheckPort}}, ports)}
	sources := make([]string, 0, len(rs.needs))
	for s := range rs.needs {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	for _, s := range sources {
		c.sns = append(c.sns, stackNetworking{owner: owner, source: s, needs: rs.needs[s], restrict: restrict})
	}
	if len(rs.cidr) > 0 {
		c.sns = append(c.sns, stackNetworking{owner: owner, cidr: rs.cidr, restrict: restrict})
	}
	return c, len(c.sns) > 0
}

// classifySources says whose each security group is that bindings admit traffic from, as
// the pass read them (sgs), for the reference authorizer: by tracking tags, which no tenant
// writes. One that was not found, or is of another VPC, is left out, and the planner
// refuses its rules: a rule naming it would fail the authorize of every rule on its SG.
func (e *Engine) classifySources(ids []string, sgs map[string]cloud.SecurityGroup, objs ClusterObjects) map[string]authz.Owner {
	if len(ids) == 0 {
		return nil
	}
	c := authz.Classifier{Cluster: e.Settings.Cluster, GroupNamespaces: explicitGroupNamespaces(objs, e.GroupRules())}
	out := make(map[string]authz.Owner, len(ids))
	for _, id := range ids {
		sg, ok := sgs[id]
		if !ok || (sg.VPCID != "" && e.EC2.VPCID() != "" && sg.VPCID != e.EC2.VPCID()) {
			continue
		}
		out[id] = c.Classify(sg.Tags)
	}
	return out
}

// explicitGroupNamespaces are the namespaces of each explicit Ingress group's members, by
// group name: the tags of a group's SGs name no namespace.
func explicitGroupNamespaces(objs ClusterObjects, rules GroupRules) map[string][]string {
	out := map[string][]string{}
	for id, g := range IngressGroups(objs, rules) {
		if !id.Explicit() {
			continue
		}
		for _, m := range g.Members {
			out[id.Name] = appendOnce(out[id.Name], m.Ingress.Namespace)
		}
	}
	return out
}

// containerPorts are the container ports of that name of the namespace's Pods with one of
// the IPs.
func containerPorts(pods []corev1.Pod, namespace string, ips []string, name string) []int32 {
	var out []int32
	for i := range pods {
		p := &pods[i]
		if p.Namespace != namespace || !slices.ContainsFunc(p.Status.PodIPs, func(ip corev1.PodIP) bool { return slices.Contains(ips, ip.IP) }) {
			continue
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == name && !slices.Contains(out, cp.ContainerPort) {
					out = append(out, cp.ContainerPort)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
