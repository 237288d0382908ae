// Package iampolicy renders the IAM policy lbsg needs, for one cluster: every write is
// conditioned on the value of that cluster's tag (or on creating a resource with it), rule
// writes on security groups are limited to the cluster's VPC, and reads are listed one by
// one. It is pure: it renders a document from options and reads nothing.
//
// The policy is larger than one managed policy may be, so Managed splits it into as many
// documents as AWS's limits need, and Inline checks the inline limit (split.go).
//
// docs/iam.md explains each statement; docs/iam-policy-N.json are Managed's documents for
// the cluster name DocClusterName (make iam-policy).
package iampolicy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
)

// ClusterTagKey is the tag lbsg (and upstream) puts on every SG, load balancer and target
// group it creates, with the cluster name as value.
const ClusterTagKey = "elbv2.k8s.aws/cluster"

// DocClusterName is the placeholder cluster name of the committed docs/iam-policy-N.json.
const DocClusterName = "my-cluster"

// DefaultLoadBalancerNamePattern matches the names lbsg (and upstream) generate for load
// balancers. Listeners and rules that exist without the cluster tag (upstream's, an older
// lbsg's) can be tagged once only on load balancers of such names (see
// Options.LoadBalancerNamePatterns).
const DefaultLoadBalancerNamePattern = "k8s-*"

// stackTagKeys are the stack tag keys lbsg puts on listeners and rules with the cluster
// tag.
var stackTagKeys = []string{naming.ServiceStackTag, naming.IngressStackTag}

// elbServiceName is the service the ELB service-linked role belongs to.
const elbServiceName = "elasticloadbalancing.amazonaws.com"

// Options select what the policy is rendered for. Only ClusterName is required; the
// others narrow the ARNs and are wildcards when empty.
type Options struct {
	ClusterName string
	// Partition is the ARN partition: aws (the default), aws-cn, aws-us-gov, …
	Partition string
	Region    string
	AccountID string
	// VPCID limits rule writes and SG creation to the cluster's VPC. Without it they are
	// limited to SGs of any VPC of the account (Warnings says so).
	VPCID string
	// LoadBalancerNamePatterns are names (IAM wildcards * and ? allowed) of load balancers
	// whose untagged listeners and rules lbsg may tag for the cluster, besides
	// DefaultLoadBalancerNamePattern: the names set with the load-balancer-name
	// annotations.
	LoadBalancerNamePatterns []string
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document. Actions and resources are always lists, and
// actions are sorted, so that the rendering is stable.
type Statement struct {
	Sid       string    `json:"Sid"`
	Effect    string    `json:"Effect"`
	Action    []string  `json:"Action"`
	Resource  []string  `json:"Resource"`
	Condition Condition `json:"Condition,omitempty"`
}

// Condition maps an operator (StringEquals, ArnLike, …) to condition keys and their values.
// encoding/json writes map keys sorted, so the rendering is stable.
type Condition map[string]map[string]Values

// Values are the values of one condition key: a lone value is written as a string.
type Values []string

// MarshalJSON writes one value as a string and several as a list.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

// UnmarshalJSON reads a string or a list of strings.
func (v *Values) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*v = Values{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*v = many
	return nil
}

var (
	partitionPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	vpcPattern       = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	// lbNamePattern is an ELB name (letters, digits, '-', at most 32) with IAM wildcards.
	lbNamePattern = regexp.MustCompile(`^[A-Za-z0-9*?-]{1,32}$`)
)

// ValidateClusterName is the controller's own --cluster-name rule: the name goes into
// condition values, where ',' '$' '*' or white space would change what the policy matches.
func ValidateClusterName(name string) error { return naming.ValidateClusterName(name) }

// Validate checks every option, so that no value can change the meaning of the policy.
func (o Options) Validate() error {
	if err := ValidateClusterName(o.ClusterName); err != nil {
		return err
	}
	checks := []struct {
		flag, value string
		re          *regexp.Regexp
		want        string
	}{
		{"--partition", o.Partition, partitionPattern, "an ARN partition such as aws, aws-cn or aws-us-gov"},
		{"--region", o.Region, regionPattern, "a region such as us-west-2"},
		{"--account-id", o.AccountID, accountPattern, "12 digits"},
		{"--vpc-id", o.VPCID, vpcPattern, "a VPC ID such as vpc-0123456789abcdef0"},
	}
	for _, c := range checks {
		if c.value != "" && !c.re.MatchString(c.value) {
			return fmt.Errorf("invalid %s %q: want %s", c.flag, c.value, c.want)
		}
	}
	for _, p := range o.LoadBalancerNamePatterns {
		if !lbNamePattern.MatchString(p) {
			return fmt.Errorf("invalid --load-balancer-name-pattern %q: want a load balancer name (letters, digits and '-', at most 32) with the wildcards * and ?", p)
		}
	}
	return nil
}

// Warnings returns what the options leave wider than they could be.
func (o Options) Warnings() []string {
	var out []string
	if o.VPCID == "" {
		out = append(out, "no --vpc-id: rule writes and security group creation are allowed in every VPC of the account; "+
			"pass --vpc-id (the controller's --aws-vpc-id) to limit them to the cluster's VPC")
	}
	return out
}

// Render returns the policy for o.
func Render(o Options) (Document, error) {
	if err := o.Validate(); err != nil {
		return Document{}, err
	}
	a := arns{partition: or(o.Partition, "aws"), region: or(o.Region, "*"), account: or(o.AccountID, "*")}
	vpc := or(o.VPCID, "*")
	patterns := append([]string{DefaultLoadBalancerNamePattern}, o.LoadBalancerNamePatterns...)
	patterns = slices.Compact(slices.Sorted(slices.Values(patterns)))

	cluster := Values{o.ClusterName}
	requestTag := "aws:RequestTag/" + ClusterTagKey
	resourceTag := "aws:ResourceTag/" + ClusterTagKey
	vpcARN := a.ec2("vpc/" + vpc)
	vpcCond := Condition{arnOperator(vpcARN): {"ec2:Vpc": {vpcARN}}}
	sg := a.ec2("security-group/*")
	lbs := []string{a.elb("loadbalancer/app/*/*"), a.elb("loadbalancer/net/*/*")}
	tgs := []string{a.elb("targetgroup/*/*")}
	listeners := []string{a.elb("listener/app/*/*/*"), a.elb("listener/net/*/*/*")}
	// lbsg creates rules on ALB listeners only.
	rules := []string{a.elb("listener-rule/app/*/*/*/*")}
	var namedListeners, namedRules []string
	for _, p := range patterns {
		namedListeners = append(namedListeners, a.elb("listener/app/"+p+"/*/*"), a.elb("listener/net/"+p+"/*/*"))
		namedRules = append(namedRules, a.elb("listener-rule/app/"+p+"/*/*/*"))
	}
	// Tag writes on resources lbsg already owns may neither set nor remove the cluster tag:
	// that is what makes a resource another cluster's, or nobody's.
	retag := func() Condition {
		return Condition{
			"StringEquals":                 {resourceTag: cluster},
			"ForAllValues:StringNotEquals": {"aws:TagKeys": {ClusterTagKey}},
		}
	}

	stmts := []Statement{
		{
			Sid: "DescribeEC2",
			Action: []string{"ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
				"ec2:DescribeSubnets", "ec2:DescribeVpcs"},
			Resource: []string{"*"},
		},
		{
			Sid: "DescribeELB",
			Action: []string{"elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeListeners",
				"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags",
				"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
				"elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTargetGroupAttributes",
				"elasticloadbalancing:DescribeListenerAttributes"},
			Resource: []string{"*"},
		},
		{
			// Certificate discovery for Ingress hosts (reads only).
			Sid:      "DiscoverCertificates",
			Action:   []string{"acm:DescribeCertificate", "acm:ListCertificates"},
			Resource: []string{"*"},
		},
		{
			Sid:      "CreateSecurityGroupsInClusterVPC",
			Action:   []string{"ec2:CreateSecurityGroup"},
			Resource: []string{vpcARN},
		},
		{
			Sid:       "CreateSecurityGroupsTaggedForCluster",
			Action:    []string{"ec2:CreateSecurityGroup"},
			Resource:  []string{sg},
			Condition: Condition{"StringEquals": {requestTag: cluster}},
		},
		{
			Sid:      "TagSecurityGroupsOnCreate",
			Action:   []string{"ec2:CreateTags"},
			Resource: []string{sg},
			Condition: Condition{"StringEquals": {
				"ec2:CreateAction": {"CreateSecurityGroup"},
				requestTag:         cluster,
			}},
		},
		{
			Sid:       "RetagClusterSecurityGroups",
			Action:    []string{"ec2:CreateTags", "ec2:DeleteTags"},
			Resource:  []string{sg},
			Condition: retag(),
		},
		{
			Sid:       "DeleteClusterSecurityGroups",
			Action:    []string{"ec2:DeleteSecurityGroup"},
			Resource:  []string{sg},
			Condition: merge(Condition{"StringEquals": {resourceTag: cluster}}, vpcCond),
		},
		{
			Sid:       "RuleWritesInClusterVPC",
			Action:    []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"},
			Resource:  []string{sg},
			Condition: vpcCond,
		},
		{
			Sid:       "AuthorizeRulesTaggedForCluster",
			Action:    []string{"ec2:AuthorizeSecurityGroupIngress"},
			Resource:  []string{a.ec2("security-group-rule/*")},
			Condition: Condition{"StringEquals": {requestTag: cluster}},
		},
		{
			Sid:      "TagRulesOnAuthorize",
			Action:   []string{"ec2:CreateTags"},
			Resource: []string{a.ec2("security-group-rule/*")},
			Condition: Condition{"StringEquals": {
				"ec2:CreateAction": {"AuthorizeSecurityGroupIngress"},
				requestTag:         cluster,
			}},
		},
		{
			Sid:       "CreateLoadBalancersAndTargetGroupsTaggedForCluster",
			Action:    []string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"},
			Resource:  concat(lbs, tgs),
			Condition: Condition{"StringEquals": {requestTag: cluster}},
		},
		{
			Sid:      "TagLoadBalancersAndTargetGroupsOnCreate",
			Action:   []string{"elasticloadbalancing:AddTags"},
			Resource: concat(lbs, tgs),
			Condition: Condition{"StringEquals": {
				"elasticloadbalancing:CreateAction": {"CreateLoadBalancer", "CreateTargetGroup"},
				requestTag:                          cluster,
			}},
		},
		{
			Sid:       "RetagClusterLoadBalancersAndTargetGroups",
			Action:    []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
			Resource:  concat(lbs, tgs),
			Condition: retag(),
		},
		{
			Sid: "ChangeClusterLoadBalancers",
			Action: []string{"elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:SetIpAddressType",
				"elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:ModifyLoadBalancerAttributes"},
			Resource:  lbs,
			Condition: Condition{"StringEquals": {resourceTag: cluster}},
		},
		{
			// CreateListener is authorized on the load balancer, so its tag applies; lbsg
			// sends the cluster tag with every listener it creates.
			Sid:       "CreateListenersOnClusterLoadBalancers",
			Action:    []string{"elasticloadbalancing:CreateListener"},
			Resource:  lbs,
			Condition: Condition{"StringEquals": {resourceTag: cluster, requestTag: cluster}},
		},
		{
			// CreateRule is authorized on the listener, so its tag applies.
			Sid:       "CreateRulesOnClusterListeners",
			Action:    []string{"elasticloadbalancing:CreateRule"},
			Resource:  listeners,
			Condition: Condition{"StringEquals": {resourceTag: cluster, requestTag: cluster}},
		},
		{
			// Where the new listener or rule is a resource of the call, it must be created
			// with the cluster tag.
			Sid:       "CreateListenersAndRulesTaggedForCluster",
			Action:    []string{"elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule"},
			Resource:  concat(listeners, rules),
			Condition: Condition{"StringEquals": {requestTag: cluster}},
		},
		{
			Sid:      "TagListenersAndRulesOnCreate",
			Action:   []string{"elasticloadbalancing:AddTags"},
			Resource: concat(listeners, rules),
			Condition: Condition{"StringEquals": {
				"elasticloadbalancing:CreateAction": {"CreateListener", "CreateRule"},
				requestTag:                          cluster,
			}},
		},
		{
			Sid: "ChangeClusterListeners",
			Action: []string{"elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:DeleteListener",
				"elasticloadbalancing:ModifyListener", "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyListenerAttributes"},
			Resource:  listeners,
			Condition: Condition{"StringEquals": {resourceTag: cluster}},
		},
		{
			Sid:       "ChangeClusterRules",
			Action:    []string{"elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyRule"},
			Resource:  rules,
			Condition: Condition{"StringEquals": {resourceTag: cluster}},
		},
		{
			// A listener or rule with the cluster tag but not the stack tag gets the stack
			// tag; the request may not name the cluster tag.
			Sid:       "RetagClusterListenersAndRules",
			Action:    []string{"elasticloadbalancing:AddTags"},
			Resource:  concat(listeners, rules),
			Condition: retag(),
		},
		{
			// Listeners and rules created without any tag (by upstream, or an older lbsg)
			// get the cluster and stack tags once. They have no tag to test, so this is
			// limited by the load balancer's name, to resources without a cluster tag
			// (Null: a resource of another cluster keeps its tag), and to lbsg's keys.
			Sid:      "TagUntaggedListenersAndRulesForCluster",
			Action:   []string{"elasticloadbalancing:AddTags"},
			Resource: concat(namedListeners, namedRules),
			Condition: Condition{
				"StringEquals":              {requestTag: cluster},
				"Null":                      {resourceTag: {"true"}},
				"ForAllValues:StringEquals": {"aws:TagKeys": append(Values{ClusterTagKey}, stackTagKeys...)},
			},
		},
		{
			Sid: "ChangeClusterTargetGroups",
			Action: []string{"elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DeregisterTargets",
				"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:ModifyTargetGroupAttributes"},
			Resource:  tgs,
			Condition: Condition{"StringEquals": {resourceTag: cluster}},
		},
		{
			// TargetGroupBindings name target groups made outside Kubernetes, which carry
			// no cluster tag; lbsg only registers and deregisters its targets there. Null
			// keeps every other cluster's target groups out (they keep their tag).
			Sid:       "RegisterTargetsInBoundTargetGroups",
			Action:    []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"},
			Resource:  tgs,
			Condition: Condition{"Null": {resourceTag: {"true"}}},
		},
		{
			// On a target group a TargetGroupBinding binds, lbsg keeps the claim of the
			// binding that owns its targets and the seal of what it registered there, under
			// keys that name the cluster: nothing else, and never the cluster tag. Null keeps
			// every target group tagged for a cluster out.
			Sid:      "TagBoundTargetGroups",
			Action:   []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
			Resource: tgs,
			Condition: Condition{
				"Null": {resourceTag: {"true"}},
				"ForAllValues:StringEquals": {"aws:TagKeys": {naming.BoundByTagKey(o.ClusterName),
					naming.RegisteredTagKey(o.ClusterName)}},
			},
		},
		{
			Sid:       "CreateELBServiceLinkedRole",
			Action:    []string{"iam:CreateServiceLinkedRole"},
			Resource:  []string{fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/%s/AWSServiceRoleForElasticLoadBalancing", a.partition, a.account, elbServiceName)},
			Condition: Condition{"StringEquals": {"iam:AWSServiceName": {elbServiceName}}},
		},
	}
	for i := range stmts {
		stmts[i].Effect = "Allow"
		stmts[i].Action = slices.Sorted(slices.Values(stmts[i].Action))
	}
	return Document{Version: "2012-10-17", Statement: stmts}, nil
}

// Actions returns every action the document allows, sorted.
func (d Document) Actions() []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Action...)
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

type arns struct{ partition, region, account string }

func (a arns) ec2(resource string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s", a.partition, a.region, a.account, resource)
}

func (a arns) elb(resource string) string {
	return fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:%s", a.partition, a.region, a.account, resource)
}

// arnOperator is ArnEquals for a complete ARN and ArnLike for one with wildcards, which
// says to the reader which of the two it is.
func arnOperator(arn string) string {
	if strings.ContainsAny(arn, "*?") {
		return "ArnLike"
	}
	return "ArnEquals"
}

func merge(cs ...Condition) Condition {
	out := Condition{}
	for _, c := range cs {
		for op, kv := range c {
			if out[op] == nil {
				out[op] = map[string]Values{}
			}
			for k, v := range kv {
				out[op][k] = v
			}
		}
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
