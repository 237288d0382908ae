package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/explain"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

func newExplainCmd() *cobra.Command {
	cfg := &config.Config{}
	var output string
	cmd := &cobra.Command{
		Use:   "explain (service|ingress) NAMESPACE/NAME",
		Short: "Show who can reach a Service's or an Ingress's targets, and which rules open more than asked",
		Long: `explain reads the cluster of --kubeconfig and the AWS account of the AWS flags and shows,
for one Service (its NLB) or one Ingress (its group's ALB), every way clients reach the
targets: client CIDRs and prefix lists -> frontend security groups (managed or user) -> load
balancer listeners -> target groups -> the rules on each target security group -> the
nodes or pods and the ports they admit.

Every rule that opens more than the object asked for is marked OVER-EXPOSED (a source wider
than the source ranges, a port beyond the listener, traffic or health-check ports, a rule
that reaches the targets without the load balancer), and every rule lbsg did not write is
marked FOREIGN. It only reads.

Output: text (default), dot (Graphviz: lbsg explain ... -o dot | dot -Tsvg > g.svg) or json
(schema "` + explain.Schema + `", see docs/explain.md).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := explainKind(args[0])
			if err != nil {
				return err
			}
			namespace, name, err := splitName(args[1])
			if err != nil {
				return err
			}
			if output != "text" && output != "dot" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text, dot or json", output)
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid flags: %w", err)
			}
			c, _, err := kubeClient()
			if err != nil {
				return err
			}
			engine, _, err := app.NewEngine(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			in, err := explainInput(cmd.Context(), c, engine, kind, namespace, name)
			if err != nil {
				return err
			}
			return writeExplain(cmd, explain.Build(in), output)
		},
	}
	app.AddFlags(cmd.Flags(), cfg)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, dot or json")
	return cmd
}

func writeExplain(cmd *cobra.Command, g explain.Graph, output string) error {
	w := cmd.OutOrStdout()
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(g)
	case "dot":
		return explain.WriteDot(w, g)
	}
	return explain.WriteText(w, g)
}

func explainKind(arg string) (string, error) {
	switch strings.ToLower(arg) {
	case "service", "services", "svc":
		return "Service", nil
	case "ingress", "ingresses", "ing":
		return "Ingress", nil
	}
	return "", fmt.Errorf("cannot explain %q: use service or ingress", arg)
}

func splitName(arg string) (namespace, name string, err error) {
	namespace, name, ok := strings.Cut(arg, "/")
	if !ok {
		namespace, name = "default", arg
	}
	if namespace == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("invalid name %q: use NAMESPACE/NAME", arg)
	}
	return namespace, name, nil
}

// explainInput reads what explain needs for one object: its stack as the controller plans
// it (desired state and what exists in AWS), then the SGs of the load balancer and of its
// registered targets, fresh, in batched reads. Nothing is written.
func explainInput(ctx context.Context, c client.Client, e *controller.Engine, kind, namespace, name string) (explain.Input, error) {
	in := explain.Input{Cluster: e.Settings.Cluster, Object: explain.Object{Kind: kind, Namespace: namespace, Name: name}}
	objs, err := controller.ListClusterObjects(ctx, c, controller.InstalledCRDs(c.RESTMapper()))
	if err != nil {
		return in, err
	}
	// The target-SG pass counts TargetGroupBindings' rules as wanted.
	if objs.Bindings, err = controller.ListBindings(ctx, c); err != nil {
		return in, err
	}
	var sp *controller.StackPlan
	switch kind {
	case "Service":
		svc := findServiceObject(objs.Services, namespace, name)
		if svc == nil {
			return in, fmt.Errorf("Service %s/%s not found", namespace, name)
		}
		if !spec.OwnsService(svc, e.Settings) {
			return in, fmt.Errorf("Service %s/%s is not served by lbsg: it needs type LoadBalancer and loadBalancerClass %s or the annotation %s: external", namespace, name, e.Settings.LoadBalancerClass, annotations.SvcLoadBalancerType)
		}
		if sp, err = e.PlanService(ctx, svc, objs); err != nil {
			return in, fmt.Errorf("plan Service %s/%s: %w", namespace, name, err)
		}
		if sp.Stack != nil && sp.Stack.LoadBalancer.Frontend == spec.FrontendCustom {
			in.AskedClients = askedOfService(svc, e.Settings)
		}
	case "Ingress":
		var g *controller.IngressGroup
		var ing *networkingv1.Ingress
		if g, ing, err = ingressGroupOf(objs, e.GroupRules(), namespace, name); err != nil {
			return in, err
		}
		in.ObjectTargetGroups = ingressTargetGroups(ing)
		if sp, err = e.PlanIngressGroup(ctx, g, objs); err != nil {
			return in, fmt.Errorf("plan Ingress group %s: %w", g.ID.String(), err)
		}
		for _, m := range g.Members {
			in.Members = append(in.Members, m.Ingress.Namespace+"/"+m.Ingress.Name)
		}
		if sp.Stack != nil && sp.Stack.LoadBalancer.Frontend == spec.FrontendCustom {
			in.AskedClients = askedOfIngressGroup(g, objs, e.Settings)
		}
	}
	in.Stack = sp.Owner.String()
	for _, p := range sp.Problems {
		in.Problems = append(in.Problems, p.Error())
	}
	in.Desired = sp.Stack
	if sp.Stack != nil {
		if sp.Stack.ManagedSG != nil {
			in.AskedClients = sp.Stack.ManagedSG.Ingress
		}
		if in.AskedClients == nil && sp.Stack.LoadBalancer.Frontend == spec.FrontendCustom {
			in.AskedClients = listenerClients(sp.Stack)
		}
		if n := len(sp.Plan.Changes); n > 0 {
			in.Notes = append(in.Notes, fmt.Sprintf("lbsg would make %d change(s) to this stack (lbsg plan shows them); this is what exists now", n))
		}
		for _, c := range sp.Plan.Changes {
			note := fmt.Sprintf("pending: %s %s: %s", c.Op, c.Target.String(), c.Reason)
			for _, r := range c.Rules {
				note += "; " + r.Key.String()
			}
			in.Notes = append(in.Notes, note)
		}
	}
	if len(sp.Observed.LoadBalancers) > 0 {
		lb := sp.Observed.LoadBalancers[0]
		in.LoadBalancer = &lb
		in.Listeners = sp.Observed.Listeners[lb.ARN]
	}
	in.TargetGroups, in.Targets = sp.Observed.TargetGroups, sp.Observed.Targets
	if len(sp.Observed.ManagedSGs) > 0 {
		in.ManagedSG = sp.Observed.ManagedSGs[0].ID
	}
	if in.BackendSG, err = e.BackendSG(ctx); err != nil {
		return in, err
	}
	return in, readExplainAWS(ctx, e, &in)
}

// readExplainAWS reads the target ENIs, every SG of the load balancer and of the targets,
// the cluster's SGs (to recognise rules upstream wrote for it) and, for an NLB without SGs,
// the CIDRs its symbolic peers stand for.
func readExplainAWS(ctx context.Context, e *controller.Engine, in *explain.Input) error {
	var err error
	if in.TargetENIs, err = targetENIs(ctx, e, in.Targets); err != nil {
		return err
	}
	var ids []string
	if in.LoadBalancer != nil {
		ids = append(ids, in.LoadBalancer.SecurityGroups...)
	}
	for _, t := range in.TargetENIs {
		if t.SecurityGroup != "" {
			ids = append(ids, t.SecurityGroup)
		}
	}
	sgs, err := e.EC2.SecurityGroups(ctx, ids, true)
	if err != nil {
		return fmt.Errorf("read security groups: %w", err)
	}
	in.SecurityGroups = map[string]state.SecurityGroup{}
	for id, sg := range sgs {
		in.SecurityGroups[id] = state.SecurityGroup{ID: sg.ID, Name: sg.Name, Tags: sg.Tags, Ingress: sg.Ingress}
	}
	owned, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.TagCluster: {e.Settings.Cluster}}, false)
	if err != nil {
		return fmt.Errorf("find the cluster's security groups: %w", err)
	}
	in.ClusterSGs = map[string]bool{}
	for _, sg := range owned {
		in.ClusterSGs[sg.ID] = true
	}
	if in.BackendSG != "" {
		in.ClusterSGs[in.BackendSG] = true
	}
	return legacyPeers(ctx, e, in)
}

// legacyPeers resolves "subnets" and "vpc" for an NLB without SGs.
func legacyPeers(ctx context.Context, e *controller.Engine, in *explain.Input) error {
	if in.Desired == nil || in.LoadBalancer == nil || in.Desired.LoadBalancer.Frontend != spec.FrontendNone {
		return nil
	}
	in.LegacyPeers = map[string][]string{}
	for _, ln := range in.Desired.Networking.Legacy {
		for _, peer := range ln.Peers {
			if _, done := in.LegacyPeers[peer]; done {
				continue
			}
			switch peer {
			case spec.PeerSubnets:
				subnets, err := e.EC2.Subnets(ctx, in.LoadBalancer.Subnets)
				if err != nil {
					return fmt.Errorf("read the load balancer's subnets: %w", err)
				}
				for _, s := range subnets {
					in.LegacyPeers[peer] = append(in.LegacyPeers[peer], s.CIDR)
				}
			case spec.PeerVPC:
				vpc, err := e.EC2.VPC(ctx)
				if err != nil {
					return fmt.Errorf("read the VPC: %w", err)
				}
				in.LegacyPeers[peer] = vpc.CIDRs
			}
		}
	}
	return nil
}

// targetENIs finds, for every registered target, its ENI (the primary ENI of an instance,
// the ENI holding a pod IP) and the SG of it that gets inbound rules.
func targetENIs(ctx context.Context, e *controller.Engine, registered map[string][]state.Target) (map[string]explain.TargetENI, error) {
	var instances, ips []string
	seen := map[string]bool{}
	for _, ts := range registered {
		for _, t := range ts {
			if seen[t.ID] {
				continue
			}
			seen[t.ID] = true
			if strings.HasPrefix(t.ID, "i-") {
				instances = append(instances, t.ID)
			} else {
				ips = append(ips, t.ID)
			}
		}
	}
	sort.Strings(instances)
	sort.Strings(ips)
	enis := map[string]targets.ENI{}
	out := map[string]explain.TargetENI{}
	if len(instances) > 0 {
		insts, err := e.EC2.Instances(ctx, instances)
		if err != nil {
			return nil, fmt.Errorf("read target instances: %w", err)
		}
		for _, id := range instances {
			inst, ok := insts[id]
			if !ok {
				out[id] = explain.TargetENI{Error: "instance not found"}
				continue
			}
			enis[id] = targets.ENI{ID: inst.PrimaryENI.ID, SecurityGroups: inst.PrimaryENI.SecurityGroups}
		}
	}
	if len(ips) > 0 {
		byIP, err := e.EC2.NetworkInterfacesByIP(ctx, ips)
		if err != nil {
			return nil, fmt.Errorf("read target network interfaces: %w", err)
		}
		for _, ip := range ips {
			eni, ok := byIP[ip]
			if !ok {
				out[ip] = explain.TargetENI{Error: "no network interface holds this IP in the VPC"}
				continue
			}
			enis[ip] = targets.ENI{ID: eni.ID, SecurityGroups: eni.SecurityGroups}
		}
	}
	var multi []string
	for _, eni := range enis {
		if len(eni.SecurityGroups) > 1 {
			multi = append(multi, eni.SecurityGroups...)
		}
	}
	tags := map[string]map[string]string{}
	if len(multi) > 0 {
		sgs, err := e.EC2.SecurityGroups(ctx, multi, false)
		if err != nil {
			return nil, fmt.Errorf("read tags of target ENI security groups: %w", err)
		}
		for id, sg := range sgs {
			tags[id] = sg.Tags
		}
	}
	for id, eni := range enis {
		sgs, err := e.SelectTargetSGs(eni, tags)
		sg := strings.Join(sgs, ",")
		t := explain.TargetENI{ENI: eni.ID, SecurityGroup: sg}
		if err != nil {
			t.Error = err.Error()
		}
		out[id] = t
	}
	return out, nil
}

func findServiceObject(list []corev1.Service, namespace, name string) *corev1.Service {
	for i := range list {
		if list[i].Namespace == namespace && list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// ingressTargetGroups are the resource IDs of the target groups an Ingress routes to.
func ingressTargetGroups(ing *networkingv1.Ingress) map[string]bool {
	out := map[string]bool{}
	add := func(b *networkingv1.IngressBackend) {
		if b == nil || b.Service == nil {
			return
		}
		port := b.Service.Port.Name
		if port == "" {
			port = strconv.Itoa(int(b.Service.Port.Number))
		}
		out[naming.IngressTargetGroupResourceID(ing.Namespace, ing.Name, b.Service.Name, port)] = true
	}
	add(ing.Spec.DefaultBackend)
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			add(&p.Backend)
		}
	}
	return out
}

// ingressGroupOf returns the Ingress and the group lbsg serves it in.
func ingressGroupOf(objs controller.ClusterObjects, rules controller.GroupRules, namespace, name string) (*controller.IngressGroup, *networkingv1.Ingress, error) {
	for i := range objs.Ingresses {
		ing := &objs.Ingresses[i]
		if ing.Namespace != namespace || ing.Name != name {
			continue
		}
		ids := controller.GroupsOfIngress(ing, objs, rules)
		if len(ids) == 0 {
			return nil, nil, fmt.Errorf("Ingress %s/%s is not served by lbsg: its IngressClass is not one whose controller is ingress.k8s.aws/alb", namespace, name)
		}
		g := controller.IngressGroups(objs, rules)[ids[0]]
		if g == nil {
			return nil, nil, fmt.Errorf("Ingress %s/%s: group %s not found", namespace, name, ids[0].String())
		}
		return g, ing, nil
	}
	return nil, nil, fmt.Errorf("Ingress %s/%s not found", namespace, name)
}

// askedOfService is what a Service with user SGs asks of its clients: the rules a managed
// SG would have (its ports from its source ranges and prefix lists, or from anywhere). The
// spec computes them when the user SGs are left out.
func askedOfService(svc *corev1.Service, s spec.Settings) []sgrules.Rule {
	cp := svc.DeepCopy()
	delete(cp.Annotations, annotations.SvcSecurityGroups)
	st, problems := spec.BuildService(cp, s, spec.ServiceFacts{})
	if len(problems) > 0 || st.ManagedSG == nil {
		return nil
	}
	return st.ManagedSG.Ingress
}

// askedOfIngressGroup is askedOfService for an Ingress group: the managed SG's rules of
// the group without its user SGs.
func askedOfIngressGroup(g *controller.IngressGroup, objs controller.ClusterObjects, s spec.Settings) []sgrules.Rule {
	members := make([]spec.IngressMember, len(g.Members))
	for i, m := range g.Members {
		ing := m.Ingress.DeepCopy()
		delete(ing.Annotations, annotations.IngSecurityGroups)
		m.Ingress = ing
		members[i] = m
	}
	// The managed SG's rules depend neither on certificates nor on target groups named by
	// ARN: no lookup.
	facts := spec.IngressFacts{Services: map[string]*corev1.Service{}, EndpointPorts: map[string]map[string]int32{},
		CertificatesUnknown: true, TargetGroupsUnknown: true}
	for i := range objs.Services {
		svc := &objs.Services[i]
		facts.Services[svc.Namespace+"/"+svc.Name] = svc
	}
	st, problems := spec.BuildIngressGroup(g.ID, members, s, facts)
	if len(problems) > 0 || st.ManagedSG == nil {
		return nil
	}
	return st.ManagedSG.Ingress
}

// listenerClients is the fallback of what user SGs should admit: every listener port from
// anywhere.
func listenerClients(st *spec.Stack) []sgrules.Rule {
	var out []sgrules.Rule
	for _, l := range st.Listeners {
		proto := sgrules.ProtoTCP
		if strings.EqualFold(l.Protocol, "UDP") {
			proto = sgrules.ProtoUDP
		}
		out = append(out, sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: l.Port, ToPort: l.Port, PeerKind: sgrules.PeerCIDR, Peer: "0.0.0.0/0"}})
	}
	return out
}
