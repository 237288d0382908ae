//go:build demo

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// lbView is the part of a DescribeLoadBalancers answer the walk-through shows, in the
// AWS CLI's field names and order.
type lbView struct {
	LoadBalancerName string   `json:"LoadBalancerName"`
	LoadBalancerArn  string   `json:"LoadBalancerArn"`
	DNSName          string   `json:"DNSName"`
	Scheme           string   `json:"Scheme"`
	Type             string   `json:"Type"`
	SecurityGroups   []string `json:"SecurityGroups"`
	IpAddressType    string   `json:"IpAddressType"`
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printState prints every load balancer (as `aws elbv2 describe-load-balancers` would,
// restricted to the fields that matter here) under lbTitle, then every security group of
// the VPC with its rules under sgTitle.
func (d *demo) printState(ctx context.Context, lbTitle, sgTitle string) error {
	lbs, err := d.loadBalancers(ctx)
	if err != nil {
		return err
	}
	d.heading(lbTitle)
	d.printf("$ aws elbv2 describe-load-balancers\n")
	if err := d.printLoadBalancers(lbs); err != nil {
		return err
	}
	d.heading(sgTitle)
	return d.printGroups(ctx, lbs, nil)
}

// printLoadBalancers prints lbs as the JSON of `aws elbv2 describe-load-balancers`,
// restricted to the fields that matter here.
func (d *demo) printLoadBalancers(lbs []elbv2types.LoadBalancer) error {
	view := struct {
		LoadBalancers []lbView `json:"LoadBalancers"`
	}{LoadBalancers: []lbView{}}
	for _, lb := range lbs {
		sgs := lb.SecurityGroups
		if sgs == nil {
			sgs = []string{}
		}
		view.LoadBalancers = append(view.LoadBalancers, lbView{
			LoadBalancerName: aws.ToString(lb.LoadBalancerName),
			LoadBalancerArn:  aws.ToString(lb.LoadBalancerArn),
			DNSName:          aws.ToString(lb.DNSName),
			Scheme:           string(lb.Scheme),
			Type:             string(lb.Type),
			SecurityGroups:   sgs,
			IpAddressType:    string(lb.IpAddressType),
		})
	}
	return printJSON(d.out, view)
}

// printGroups prints the VPC's security groups (those whose ID is in only, all when only
// is nil) with their rules, each marked with the load balancers of lbs it is on.
func (d *demo) printGroups(ctx context.Context, lbs []elbv2types.LoadBalancer, only []string) error {
	onLB := map[string][]string{}
	for _, lb := range lbs {
		for _, id := range lb.SecurityGroups {
			onLB[id] = append(onLB[id], aws.ToString(lb.LoadBalancerName))
		}
	}
	groups, names, err := d.securityGroupNames(ctx)
	if err != nil {
		return err
	}
	printed := 0
	for _, g := range groups {
		id := aws.ToString(g.GroupId)
		if only != nil && !slices.Contains(only, id) {
			continue
		}
		if printed > 0 {
			d.printf("\n")
		}
		printed++
		var roles []string
		switch lbNames := onLB[id]; len(lbNames) {
		case 0:
		case 1:
			roles = append(roles, "on load balancer "+lbNames[0])
		default:
			roles = append(roles, "on load balancers "+strings.Join(lbNames, " and "))
		}
		if id == d.world.NodeSGID {
			roles = append(roles, "on every node")
		}
		role := ""
		if len(roles) > 0 {
			role = "  [" + strings.Join(roles, ", ") + "]"
		}
		d.printf("%s  %s%s\n", id, aws.ToString(g.GroupName), role)
		d.printf("  description: %s\n", aws.ToString(g.Description))
		d.printf("  tags:        %s\n", formatTags(g.Tags))
		rules := cloud.RulesFromSDK(g.IpPermissions)
		if len(rules) == 0 {
			d.printf("  inbound:     (none)\n")
			continue
		}
		d.printf("  inbound:\n")
		for _, line := range formatRules(rules, names) {
			d.printf("    %s\n", line)
		}
	}
	return nil
}

// securityGroups returns the VPC's security groups but its default one, by name.
func (d *demo) securityGroups(ctx context.Context) ([]ec2types.SecurityGroup, error) {
	var out []ec2types.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(d.ec2, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.world.VPCID}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeSecurityGroups: %w", err)
		}
		for _, g := range page.SecurityGroups {
			if aws.ToString(g.GroupName) != "default" {
				out = append(out, g)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return aws.ToString(out[i].GroupName) < aws.ToString(out[j].GroupName) })
	return out, nil
}

// formatTags prints tags as key=value, sorted by key.
func formatTags(tags []ec2types.Tag) string {
	if len(tags) == 0 {
		return "(none)"
	}
	kv := make([]string, 0, len(tags))
	for _, t := range tags {
		kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(kv)
	return strings.Join(kv, ", ")
}

// formatRules prints one rule a line, sorted: "tcp 80 from 0.0.0.0/0", "tcp 30080 from
// sg-… (k8s-traffic-demo-…) "description"".
func formatRules(rules []sgrules.Rule, names map[string]string) []string {
	lines := make([]string, 0, len(rules))
	for _, r := range rules {
		line := r.Key.String()
		if r.PeerKind == sgrules.PeerSG {
			if n, ok := names[r.Peer]; ok {
				line += " (" + n + ")"
			}
		}
		if r.Description != "" {
			line += fmt.Sprintf(" %q", r.Description)
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return lines
}

// printShared prints both load balancers, their security groups side by side by name and
// the node SG's lbsg rules, then states (after checking it) that one backend SG serves
// both and the node SG holds a single lbsg rule for them.
func (d *demo) printShared(ctx context.Context) error {
	lbs, err := d.loadBalancers(ctx)
	if err != nil {
		return err
	}
	nlb, err := d.loadBalancer(ctx)
	if err != nil {
		return err
	}
	alb, err := d.alb(ctx)
	if err != nil {
		return err
	}
	if nlb == nil || alb == nil {
		return fmt.Errorf("a load balancer is missing (NLB found: %t, ALB found: %t)", nlb != nil, alb != nil)
	}
	backend, err := d.backendSGID(ctx)
	if err != nil {
		return err
	}
	_, names, err := d.securityGroupNames(ctx)
	if err != nil {
		return err
	}

	d.heading("both load balancers: the NLB of Service " + demoService + " and the ALB of Ingress " + demoIngress)
	d.printf("$ aws elbv2 describe-load-balancers\n")
	if err := d.printLoadBalancers(lbs); err != nil {
		return err
	}

	d.heading("their SecurityGroups side by side")
	rows := [][2]string{{"NLB " + aws.ToString(nlb.LoadBalancerName), "ALB " + aws.ToString(alb.LoadBalancerName)}}
	sgLabel := func(ids []string, i int) string {
		if i >= len(ids) {
			return ""
		}
		label := ids[i] + " " + names[ids[i]]
		if ids[i] == backend {
			label += " (backend)"
		} else {
			label += " (frontend)"
		}
		return label
	}
	for i := 0; i < max(len(nlb.SecurityGroups), len(alb.SecurityGroups)); i++ {
		rows = append(rows, [2]string{sgLabel(nlb.SecurityGroups, i), sgLabel(alb.SecurityGroups, i)})
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		d.printf("  %-*s   %s\n", width, r[0], r[1])
	}

	d.heading("the node security group: lbsg's rules (description " + sgrules.OwnerDescription(demoCluster) + ")")
	d.printf("$ aws ec2 describe-security-groups --group-ids %s\n", d.world.NodeSGID)
	if err := d.printGroups(ctx, lbs, []string{d.world.NodeSGID}); err != nil {
		return err
	}
	rules, err := d.lbsgNodeRules(ctx)
	if err != nil {
		return err
	}

	shared := backend != "" && slices.Contains(nlb.SecurityGroups, backend) && slices.Contains(alb.SecurityGroups, backend)
	if !shared {
		return fmt.Errorf("the backend security group %s is not on both load balancers: NLB %v, ALB %v", backend, nlb.SecurityGroups, alb.SecurityGroups)
	}
	if len(rules) != 1 || rules[0].PeerKind != sgrules.PeerSG || rules[0].Peer != backend {
		return fmt.Errorf("the node security group holds %d lbsg rules, want one from %s: %v", len(rules), backend, formatRules(rules, names))
	}
	d.printf("\nOne backend security group, %s (%s), is shared by the NLB and the ALB, and the node security group holds one lbsg rule for both: %s from it.\n",
		backend, names[backend], portsOf(rules[0]))
	return nil
}

// portsOf renders a rule's protocol and ports: "tcp 31561-32488".
func portsOf(r sgrules.Rule) string {
	k := r.Key
	k.Peer = ""
	return strings.TrimSuffix(k.String(), " from ")
}

// securityGroupNames returns the VPC's security groups and their names by ID.
func (d *demo) securityGroupNames(ctx context.Context) ([]ec2types.SecurityGroup, map[string]string, error) {
	groups, err := d.securityGroups(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, g := range groups {
		names[aws.ToString(g.GroupId)] = aws.ToString(g.GroupName)
	}
	return groups, names, nil
}
