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
	d.heading(lbTitle)
	d.printf("$ aws elbv2 describe-load-balancers\n")
	lbs, err := d.loadBalancers(ctx)
	if err != nil {
		return err
	}
	view := struct {
		LoadBalancers []lbView `json:"LoadBalancers"`
	}{LoadBalancers: []lbView{}}
	onLB := map[string]string{}
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
		for _, id := range lb.SecurityGroups {
			onLB[id] = aws.ToString(lb.LoadBalancerName)
		}
	}
	if err := printJSON(d.out, view); err != nil {
		return err
	}

	d.heading(sgTitle)
	groups, err := d.securityGroups(ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, g := range groups {
		names[aws.ToString(g.GroupId)] = aws.ToString(g.GroupName)
	}
	for i, g := range groups {
		id := aws.ToString(g.GroupId)
		if i > 0 {
			d.printf("\n")
		}
		var roles []string
		if lb, ok := onLB[id]; ok {
			roles = append(roles, "on load balancer "+lb)
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
