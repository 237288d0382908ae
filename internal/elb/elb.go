// Package elb reads and writes Elastic Load Balancing v2 resources: load balancers, target
// groups, listeners (with their certificates and ALB rules) and targets. Reads are batched
// and cached (package awscache); every write invalidates or writes through what it
// changed, and a read that overlaps a write is not cached, so a reconcile right after a
// write sees it. Load balancers and target groups are never created twice for one name.
package elb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/awscache"
	"github.com/lbsg/lbsg/internal/readiness"
	"github.com/lbsg/lbsg/internal/state"
)

// API lists the ELBv2 calls lbsg makes; *elbv2.Client satisfies it.
type API interface {
	DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTags(context.Context, *elbv2.DescribeTagsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeListenerCertificates(context.Context, *elbv2.DescribeListenerCertificatesInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenerCertificatesOutput, error)
	DescribeRules(context.Context, *elbv2.DescribeRulesInput, ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	CreateLoadBalancer(context.Context, *elbv2.CreateLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	SetSecurityGroups(context.Context, *elbv2.SetSecurityGroupsInput, ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error)
	SetSubnets(context.Context, *elbv2.SetSubnetsInput, ...func(*elbv2.Options)) (*elbv2.SetSubnetsOutput, error)
	SetIpAddressType(context.Context, *elbv2.SetIpAddressTypeInput, ...func(*elbv2.Options)) (*elbv2.SetIpAddressTypeOutput, error)
	CreateTargetGroup(context.Context, *elbv2.CreateTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(context.Context, *elbv2.ModifyTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	CreateListener(context.Context, *elbv2.CreateListenerInput, ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyListener(context.Context, *elbv2.ModifyListenerInput, ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(context.Context, *elbv2.DeleteListenerInput, ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error)
	AddListenerCertificates(context.Context, *elbv2.AddListenerCertificatesInput, ...func(*elbv2.Options)) (*elbv2.AddListenerCertificatesOutput, error)
	RemoveListenerCertificates(context.Context, *elbv2.RemoveListenerCertificatesInput, ...func(*elbv2.Options)) (*elbv2.RemoveListenerCertificatesOutput, error)
	CreateRule(context.Context, *elbv2.CreateRuleInput, ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error)
	ModifyRule(context.Context, *elbv2.ModifyRuleInput, ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	DeleteRule(context.Context, *elbv2.DeleteRuleInput, ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
	RegisterTargets(context.Context, *elbv2.RegisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(context.Context, *elbv2.DeregisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	AddTags(context.Context, *elbv2.AddTagsInput, ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	RemoveTags(context.Context, *elbv2.RemoveTagsInput, ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error)
	DescribeLoadBalancerAttributes(context.Context, *elbv2.DescribeLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancerAttributesOutput, error)
	ModifyLoadBalancerAttributes(context.Context, *elbv2.ModifyLoadBalancerAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error)
	DescribeTargetGroupAttributes(context.Context, *elbv2.DescribeTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(context.Context, *elbv2.ModifyTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	DescribeListenerAttributes(context.Context, *elbv2.DescribeListenerAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenerAttributesOutput, error)
	ModifyListenerAttributes(context.Context, *elbv2.ModifyListenerAttributesInput, ...func(*elbv2.Options)) (*elbv2.ModifyListenerAttributesOutput, error)
}

var _ API = (*elbv2.Client)(nil)

// namePrefix is the prefix of every target group name lbsg (and upstream) creates; only
// those have their tags read, which keeps DescribeTags calls few.
const namePrefix = "k8s-"

// describeTagsBatch is the most ARNs DescribeTags accepts per call.
const describeTagsBatch = 20

// Client is the ELBv2 reader and writer. Its caches are awscache.Cache values, with the
// same rule for reads that overlap writes as the EC2 observer's: a list, listener set or
// target set read while lbsg wrote to it is returned but never stored.
type Client struct {
	api API

	// lbs and tgs hold one entry each (inventoryKey): the whole list, as one read.
	lbs       *awscache.Cache[[]state.LoadBalancer]
	tgs       *awscache.Cache[[]state.TargetGroup]
	listeners *awscache.Cache[[]state.Listener]  // by load balancer ARN
	targets   *awscache.Cache[[]state.Target]    // by target group ARN
	attrs     *awscache.Cache[map[string]string] // attributes by ARN
	bound     *awscache.Cache[BoundTargetGroup]  // TargetGroupBindings' target groups by ARN

	creating nameLocks // one create per name at a time
	arnTags  tagCache
}

// maxPageSize is the most load balancers or target groups ELBv2 lists per call (without
// it, pages are smaller and a cluster's inventory costs more calls).
const maxPageSize = 400

// inventoryKey is the cache key of the list of all load balancers (or target groups).
const inventoryKey = "all"

// Cache names, the "cache" label of lbsg_aws_cache_lookups_total.
const (
	cacheLoadBalancers = "load_balancers"
	cacheTargetGroups  = "target_groups"
	cacheListeners     = "listeners"
	cacheTargets       = "targets"
)

// New returns a Client on the given API.
func New(api API) *Client { return NewWithLookups(api, nil) }

// NewWithLookups returns a Client whose caches count their lookups in lookups
// (lbsg_aws_cache_lookups_total; nil counts nothing).
func NewWithLookups(api API, lookups *prometheus.CounterVec) *Client {
	return NewWithResync(api, lookups, 0)
}

// NewWithResync is NewWithLookups whose listeners and targets are kept for resync
// (--sync-period) when that is longer than their own TTL: only lbsg changes them, its
// writes are written through, and --sync-period is how often upstream re-checks them
// too. The load balancers and their SGs are re-read by the drift check meanwhile.
func NewWithResync(api API, lookups *prometheus.CounterVec, resync time.Duration) *Client {
	now := time.Now
	return &Client{api: api,
		lbs:       awscache.New(cacheLoadBalancers, awscache.InventoryTTL, cloneLoadBalancers, lookups, now),
		tgs:       awscache.New(cacheTargetGroups, awscache.InventoryTTL, cloneTargetGroups, lookups, now),
		listeners: awscache.New(cacheListeners, max(awscache.ListenerTTL, resync), cloneListeners, lookups, now),
		targets:   awscache.New(cacheTargets, max(awscache.TargetTTL, resync), slices.Clone[[]state.Target], lookups, now),
		attrs:     awscache.New(cacheAttributes, awscache.ListenerTTL, maps.Clone[map[string]string], lookups, now),
		bound:     awscache.New("bound_target_groups", boundTTL, cloneBound, lookups, now),
	}
}

// InvalidateInventory drops the cached lists of load balancers and target groups.
func (c *Client) InvalidateInventory() {
	c.lbs.Clear()
	c.tgs.Clear()
}

// LoadBalancers lists every load balancer in the region with its tags. fresh skips the
// cache; a decision to delete must use it.
func (c *Client) LoadBalancers(ctx context.Context, fresh bool) ([]state.LoadBalancer, error) {
	lbs, _, err := c.lbs.Get(ctx, inventoryKey, fresh, func(ctx context.Context) ([]state.LoadBalancer, bool, error) {
		lbs, err := c.describeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		return lbs, err == nil, err
	})
	return lbs, err
}

// describeLoadBalancers runs one DescribeLoadBalancers query (all pages) and reads the
// tags of what it found, sorted by name.
func (c *Client) describeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput) ([]state.LoadBalancer, error) {
	var lbs []state.LoadBalancer
	if len(in.Names) == 0 && len(in.LoadBalancerArns) == 0 {
		in.PageSize = aws.Int32(maxPageSize)
	}
	p := elbv2.NewDescribeLoadBalancersPaginator(c.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancers {
			// Every load balancer: the aws-load-balancer-name annotation may name an NLB
			// without the k8s- prefix, and only its tags say whose it is.
			lbs = append(lbs, lbFromSDK(lb))
		}
	}
	arns := make([]string, len(lbs))
	for i := range lbs {
		arns[i] = lbs[i].ARN
	}
	tags, err := c.cachedTags(ctx, arns)
	if err != nil {
		return nil, err
	}
	for i := range lbs {
		lbs[i].Tags = tags[lbs[i].ARN]
	}
	sortLoadBalancers(lbs)
	return lbs, nil
}

func sortLoadBalancers(lbs []state.LoadBalancer) {
	sort.SliceStable(lbs, func(i, j int) bool { return lbs[i].Name < lbs[j].Name })
}

func lbFromSDK(lb elbtypes.LoadBalancer) state.LoadBalancer {
	out := state.LoadBalancer{
		ARN:                aws.ToString(lb.LoadBalancerArn),
		Name:               aws.ToString(lb.LoadBalancerName),
		DNSName:            aws.ToString(lb.DNSName),
		Type:               string(lb.Type),
		Scheme:             string(lb.Scheme),
		IPAddressType:      string(lb.IpAddressType),
		SecurityGroups:     append([]string(nil), lb.SecurityGroups...),
		PrivateLinkEnforce: aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic),
		VPCID:              aws.ToString(lb.VpcId),
	}
	for _, az := range lb.AvailabilityZones {
		out.Subnets = append(out.Subnets, aws.ToString(az.SubnetId))
	}
	sort.Strings(out.Subnets)
	return out
}

// TargetGroups lists every target group whose name starts with k8s-, with its tags.
func (c *Client) TargetGroups(ctx context.Context, fresh bool) ([]state.TargetGroup, error) {
	tgs, _, err := c.tgs.Get(ctx, inventoryKey, fresh, func(ctx context.Context) ([]state.TargetGroup, bool, error) {
		tgs, err := c.describeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
		return tgs, err == nil, err
	})
	return tgs, err
}

// describeTargetGroups runs one DescribeTargetGroups query (all pages), keeps the groups
// named k8s-… and reads their tags, sorted by name.
func (c *Client) describeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput) ([]state.TargetGroup, error) {
	var tgs []state.TargetGroup
	if len(in.Names) == 0 && len(in.TargetGroupArns) == 0 && in.LoadBalancerArn == nil {
		in.PageSize = aws.Int32(maxPageSize)
	}
	p := elbv2.NewDescribeTargetGroupsPaginator(c.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			if !strings.HasPrefix(aws.ToString(tg.TargetGroupName), namePrefix) {
				continue
			}
			tgs = append(tgs, tgFromSDK(tg))
		}
	}
	arns := make([]string, len(tgs))
	for i := range tgs {
		arns[i] = tgs[i].ARN
	}
	tags, err := c.cachedTags(ctx, arns)
	if err != nil {
		return nil, err
	}
	for i := range tgs {
		tgs[i].Tags = tags[tgs[i].ARN]
	}
	sortTargetGroups(tgs)
	return tgs, nil
}

func tgFromSDK(tg elbtypes.TargetGroup) state.TargetGroup {
	return state.TargetGroup{
		ARN:        aws.ToString(tg.TargetGroupArn),
		Name:       aws.ToString(tg.TargetGroupName),
		Protocol:   string(tg.Protocol),
		Port:       aws.ToInt32(tg.Port),
		TargetType: string(tg.TargetType),
		HealthCheck: state.HealthCheck{
			Protocol:     string(tg.HealthCheckProtocol),
			Port:         aws.ToString(tg.HealthCheckPort),
			Path:         aws.ToString(tg.HealthCheckPath),
			Interval:     aws.ToInt32(tg.HealthCheckIntervalSeconds),
			Timeout:      aws.ToInt32(tg.HealthCheckTimeoutSeconds),
			Healthy:      aws.ToInt32(tg.HealthyThresholdCount),
			Unhealthy:    aws.ToInt32(tg.UnhealthyThresholdCount),
			SuccessCodes: matcherCodes(tg.Matcher),
		},
		ProtocolVersion: aws.ToString(tg.ProtocolVersion),
		VPCID:           aws.ToString(tg.VpcId),
	}
}

// matcherCodes is the success codes of a health check: HTTP codes or gRPC codes.
func matcherCodes(m *elbtypes.Matcher) string {
	if m == nil {
		return ""
	}
	if c := aws.ToString(m.GrpcCode); c != "" {
		return c
	}
	return aws.ToString(m.HttpCode)
}

func sortTargetGroups(tgs []state.TargetGroup) {
	sort.SliceStable(tgs, func(i, j int) bool { return tgs[i].Name < tgs[j].Name })
}

func (c *Client) tags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for start := 0; start < len(arns); start += describeTagsBatch {
		end := min(start+describeTagsBatch, len(arns))
		res, err := c.api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns[start:end]})
		if err != nil {
			return nil, fmt.Errorf("describe tags of %d resources: %w", end-start, err)
		}
		for _, d := range res.TagDescriptions {
			m := map[string]string{}
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = m
		}
	}
	return out, nil
}

// Listeners of one load balancer, by port, with their certificates (HTTPS) and non-default
// rules (HTTP and HTTPS). They are one cache entry: any write on the load balancer, its
// listeners or their rules forgets all of it.
func (c *Client) Listeners(ctx context.Context, lbARN string) ([]state.Listener, error) {
	ls, _, err := c.listeners.Get(ctx, lbARN, false, func(ctx context.Context) ([]state.Listener, bool, error) {
		ls, err := c.describeListeners(ctx, lbARN)
		return ls, err == nil, err
	})
	return ls, err
}

func (c *Client) describeListeners(ctx context.Context, lbARN string) ([]state.Listener, error) {
	var out []state.Listener
	p := elbv2.NewDescribeListenersPaginator(c.api, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
		}
		for _, l := range page.Listeners {
			out = append(out, listenerFromSDK(l))
		}
	}
	for i := range out {
		li := &out[i]
		// DescribeListeners names only the default certificate, and only HTTPS and TLS
		// listeners have others; TCP and UDP listeners cost no extra call.
		if li.Protocol == string(elbtypes.ProtocolEnumHttps) || li.Protocol == string(elbtypes.ProtocolEnumTls) {
			def, extra, err := c.listenerCertificates(ctx, li.ARN)
			if err != nil {
				return nil, err
			}
			if len(li.Certificates) == 0 && def != "" {
				li.Certificates = []string{def}
			}
			if len(li.Certificates) > 0 {
				extra = withoutCertificate(extra, li.Certificates[0])
			}
			li.Certificates = append(li.Certificates, extra...)
		}
		if li.Protocol == string(elbtypes.ProtocolEnumHttp) || li.Protocol == string(elbtypes.ProtocolEnumHttps) {
			rules, err := c.rules(ctx, li.ARN)
			if err != nil {
				return nil, err
			}
			li.Rules = rules
		}
	}
	if err := c.listenerTags(ctx, out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

// listenerTags reads the tags of the listeners and their rules: one DescribeTags per 20
// of them, with the load balancer's listener read (which only a stack's own load
// balancers get), not one call per listener.
func (c *Client) listenerTags(ctx context.Context, ls []state.Listener) error {
	var arns []string
	for _, l := range ls {
		arns = append(arns, l.ARN)
		for _, r := range l.Rules {
			arns = append(arns, r.ARN)
		}
	}
	if len(arns) == 0 {
		return nil
	}
	tags, err := c.tags(ctx, arns)
	if err != nil {
		return fmt.Errorf("listener tags: %w", err)
	}
	// No tags is nil, as the planner's inputs have it.
	nonEmpty := func(m map[string]string) map[string]string {
		if len(m) == 0 {
			return nil
		}
		return m
	}
	for i := range ls {
		ls[i].Tags = nonEmpty(tags[ls[i].ARN])
		for j := range ls[i].Rules {
			ls[i].Rules[j].Tags = nonEmpty(tags[ls[i].Rules[j].ARN])
		}
	}
	return nil
}

// listenerFromSDK converts what DescribeListeners says about a listener: its default action
// and its default certificate. Additional certificates and rules take other calls.
func listenerFromSDK(l elbtypes.Listener) state.Listener {
	li := state.Listener{ARN: aws.ToString(l.ListenerArn), Port: aws.ToInt32(l.Port), Protocol: string(l.Protocol),
		Unmodelled: unmodelledActions(l.DefaultActions, true)}
	// Only HTTPS and TLS listeners have a policy (moto reports one on every listener).
	if l.Protocol == elbtypes.ProtocolEnumHttps || l.Protocol == elbtypes.ProtocolEnumTls {
		li.SslPolicy = aws.ToString(l.SslPolicy)
	}
	if len(l.AlpnPolicy) > 0 {
		li.ALPNPolicy = l.AlpnPolicy[0]
	}
	if len(l.DefaultActions) == 1 {
		// ssl-redirect's redirect is read as such; any other action as an action.
		li.RedirectPort = sslRedirectPort(l.DefaultActions[0])
		if a := actionFromSDK(l.DefaultActions[0]); li.RedirectPort == 0 && a != nil && (li.Unmodelled != "" || !lbsg404(a)) {
			// A 404 with another body or content type is an action's, not lbsg's.
			li.DefaultAction = a
			li.Unmodelled = unmodelledActions(l.DefaultActions, false)
		}
	}
	for _, a := range l.DefaultActions {
		switch a.Type {
		case elbtypes.ActionTypeEnumForward:
			li.TargetGroupARN = forwardTarget(a)
		case elbtypes.ActionTypeEnumFixedResponse:
			if a.FixedResponseConfig != nil {
				li.FixedResponseStatus = aws.ToString(a.FixedResponseConfig.StatusCode)
			}
		}
	}
	// AWS lists only the default certificate here; moto lists them all, the default first.
	def := ""
	for i, cert := range l.Certificates {
		if aws.ToBool(cert.IsDefault) || (i == 0 && def == "") {
			def = aws.ToString(cert.CertificateArn)
		}
	}
	if def != "" {
		li.Certificates = []string{def}
	}
	return li
}

// forwardTarget is the target group a forward action sends to: TargetGroupArn, or the first
// group of its ForwardConfig when only that is set (a weighted forward, which lbsg never
// writes).
func forwardTarget(a elbtypes.Action) string {
	if arn := aws.ToString(a.TargetGroupArn); arn != "" {
		return arn
	}
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
	}
	return ""
}

// listenerCertificates reads a listener's certificate list, uncached: the default one and
// the others, sorted.
func (c *Client) listenerCertificates(ctx context.Context, listenerARN string) (def string, extra []string, err error) {
	p := elbv2.NewDescribeListenerCertificatesPaginator(c.api, &elbv2.DescribeListenerCertificatesInput{ListenerArn: aws.String(listenerARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("describe certificates of listener %s: %w", listenerARN, err)
		}
		for _, cert := range page.Certificates {
			if aws.ToBool(cert.IsDefault) {
				def = aws.ToString(cert.CertificateArn)
			} else {
				extra = append(extra, aws.ToString(cert.CertificateArn))
			}
		}
	}
	return def, withoutCertificate(extra, def), nil
}

// withoutCertificate returns certs sorted and deduplicated, without def.
func withoutCertificate(certs []string, def string) []string {
	var out []string
	for _, cert := range certs {
		if cert != "" && cert != def {
			out = append(out, cert)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func cloneListeners(ls []state.Listener) []state.Listener {
	if ls == nil {
		return nil
	}
	out := make([]state.Listener, len(ls))
	for i, l := range ls {
		l.Certificates = slices.Clone(l.Certificates)
		l.Tags = maps.Clone(l.Tags)
		if l.Rules != nil {
			rules := make([]state.ListenerRule, len(l.Rules))
			for j, r := range l.Rules {
				r.Hosts, r.Paths = slices.Clone(r.Hosts), slices.Clone(r.Paths)
				r.Tags = maps.Clone(r.Tags)
				rules[j] = r
			}
			l.Rules = rules
		}
		out[i] = l
	}
	return out
}

// Targets registered in one target group.
func (c *Client) Targets(ctx context.Context, tgARN string) ([]state.Target, error) {
	ts, _, err := c.targets.Get(ctx, tgARN, false, func(ctx context.Context) ([]state.Target, bool, error) {
		ts, err := c.describeTargets(ctx, tgARN)
		return ts, err == nil, err
	})
	return ts, err
}

func (c *Client) describeTargets(ctx context.Context, tgARN string) ([]state.Target, error) {
	res, err := c.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", tgARN, err)
	}
	var out []state.Target
	for _, d := range res.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		if d.TargetHealth != nil && d.TargetHealth.State == elbtypes.TargetHealthStateEnumDraining {
			continue
		}
		out = append(out, state.Target{ID: aws.ToString(d.Target.Id), Port: aws.ToInt32(d.Target.Port)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Port < out[j].Port
	})
	return out, nil
}

// TargetHealth reads, fresh, the health of every target of a target group, by target. It
// is read only while a Pod waits on a readiness gate of the group, so it is never cached.
func (c *Client) TargetHealth(ctx context.Context, tgARN string) (map[state.Target]readiness.Health, error) {
	res, err := c.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return nil, fmt.Errorf("describe target health of %s: %w", tgARN, err)
	}
	out := map[state.Target]readiness.Health{}
	for _, d := range res.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		var h readiness.Health
		if th := d.TargetHealth; th != nil {
			h = readiness.Health{State: string(th.State), Reason: string(th.Reason), Description: aws.ToString(th.Description)}
		}
		out[state.Target{ID: aws.ToString(d.Target.Id), Port: aws.ToInt32(d.Target.Port)}] = h
	}
	return out, nil
}

// forget is called after every write to a listener, rule or target: it drops the cached
// listeners and targets of the given load balancers and target groups, and stops reads of
// them in flight from being stored. Writes to load balancers and target groups themselves
// also go through the inventory (see write.go).
func (c *Client) forget(arns ...string) {
	if slices.Contains(arns, "") {
		// A write whose load balancer is not known: any cached listeners may be stale.
		c.listeners.Clear()
		c.targets.Clear()
		return
	}
	c.listeners.Invalidate(arns...)
	c.targets.Invalidate(arns...)
}

// Copies of cached values: callers may modify what they get.

func cloneLoadBalancer(lb state.LoadBalancer) state.LoadBalancer {
	lb.SecurityGroups = slices.Clone(lb.SecurityGroups)
	lb.Subnets = slices.Clone(lb.Subnets)
	lb.Tags = maps.Clone(lb.Tags)
	return lb
}

func cloneLoadBalancers(lbs []state.LoadBalancer) []state.LoadBalancer {
	if lbs == nil {
		return nil
	}
	out := make([]state.LoadBalancer, len(lbs))
	for i, lb := range lbs {
		out[i] = cloneLoadBalancer(lb)
	}
	return out
}

func cloneTargetGroups(tgs []state.TargetGroup) []state.TargetGroup {
	if tgs == nil {
		return nil
	}
	out := make([]state.TargetGroup, len(tgs))
	for i, tg := range tgs {
		tg.Tags = maps.Clone(tg.Tags)
		out[i] = tg
	}
	return out
}
