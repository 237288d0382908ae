package elb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/state"
)

// CreateLoadBalancerInput is what lbsg sets when it creates a load balancer.
type CreateLoadBalancerInput struct {
	Name, Type, Scheme, IPAddressType string
	Subnets, SecurityGroups           []string
	Tags                              map[string]string
}

// CreateLoadBalancer creates a load balancer and returns it as observed, unless one of
// that name exists already. Right before creating, the name is looked up without the
// cache (one DescribeLoadBalancers): a load balancer of that name that carries every
// tracking tag of in.Tags with the same value is the one a concurrent reconcile (or
// another lbsg process) just created; it is returned with adopted set, and nothing is
// created. One with other tracking tags belongs to something else: a *NameTakenError, and
// nothing is created. The result is written through to the cached inventory.
func (c *Client) CreateLoadBalancer(ctx context.Context, in CreateLoadBalancerInput) (lb state.LoadBalancer, adopted bool, err error) {
	// The lookup and the create are one step within this process, so two reconciles that
	// planned the same load balancer cannot both find nothing and both create.
	unlock := c.creating.lock("load-balancer/" + in.Name)
	defer unlock()
	existing, err := c.loadBalancersNamed(ctx, in.Name)
	if err != nil {
		return state.LoadBalancer{}, false, fmt.Errorf("look up load balancer %s before creating it: %w", in.Name, err)
	}
	switch {
	case len(existing) > 1:
		// Only an emulator lets two load balancers share a name; lbsg does not pick one.
		return state.LoadBalancer{}, false, fmt.Errorf("%d load balancers are named %s; lbsg does not choose between them: delete the extra ones", len(existing), in.Name)
	case len(existing) == 1 && sameOwner(in.Tags, existing[0].Tags):
		c.putLoadBalancer(existing[0])
		return existing[0], true, nil
	case len(existing) == 1:
		return state.LoadBalancer{}, false, &NameTakenError{Kind: "load balancer", Name: in.Name, Tags: existing[0].Tags}
	}
	req := &elbv2.CreateLoadBalancerInput{
		Name:          aws.String(in.Name),
		Type:          elbtypes.LoadBalancerTypeEnum(in.Type),
		Scheme:        elbtypes.LoadBalancerSchemeEnum(in.Scheme),
		IpAddressType: elbtypes.IpAddressType(in.IPAddressType),
		Subnets:       in.Subnets,
		Tags:          sdkTags(in.Tags),
	}
	if len(in.SecurityGroups) > 0 {
		req.SecurityGroups = in.SecurityGroups
	}
	gen := c.listeners.Generation()
	res, err := c.api.CreateLoadBalancer(ctx, req)
	if err != nil {
		c.lbs.Clear() // it may exist after all
		return state.LoadBalancer{}, false, fmt.Errorf("create load balancer %s: %w", in.Name, err)
	}
	if len(res.LoadBalancers) == 0 {
		c.lbs.Clear()
		return state.LoadBalancer{}, false, fmt.Errorf("create load balancer %s: empty response", in.Name)
	}
	lb = lbFromSDK(res.LoadBalancers[0])
	lb.Tags = maps.Clone(in.Tags)
	c.storeTags(lb.ARN, in.Tags)
	c.putLoadBalancer(lb)
	// A new load balancer has no listener yet: the reconcile that follows need not ask.
	c.listeners.Store(map[string][]state.Listener{lb.ARN: nil}, gen)
	return lb, false, nil
}

// loadBalancersNamed reads the load balancers called name, with their tags, bypassing the
// cache: one DescribeLoadBalancers, and one DescribeTags only if there is one.
func (c *Client) loadBalancersNamed(ctx context.Context, name string) ([]state.LoadBalancer, error) {
	lbs, err := c.describeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if hasCode(err, codeLoadBalancerNotFound) {
		return nil, nil
	}
	return lbs, err
}

// putLoadBalancer writes a load balancer lbsg created or found into the cached inventory.
func (c *Client) putLoadBalancer(lb state.LoadBalancer) {
	c.lbs.Update(inventoryKey, func(lbs []state.LoadBalancer) []state.LoadBalancer {
		lbs = slices.DeleteFunc(lbs, func(o state.LoadBalancer) bool { return o.ARN == lb.ARN })
		lbs = append(lbs, cloneLoadBalancer(lb))
		sortLoadBalancers(lbs)
		return lbs
	})
}

// DeleteLoadBalancer deletes a load balancer; one that is already gone is not an error.
func (c *Client) DeleteLoadBalancer(ctx context.Context, arn string) error {
	_, err := c.api.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	c.forget(arn)
	c.forgetTags(arn)
	if err != nil && !hasCode(err, codeLoadBalancerNotFound) {
		c.lbs.Clear()
		return fmt.Errorf("delete load balancer %s: %w", arn, err)
	}
	c.lbs.Update(inventoryKey, func(lbs []state.LoadBalancer) []state.LoadBalancer {
		return slices.DeleteFunc(lbs, func(o state.LoadBalancer) bool { return o.ARN == arn })
	})
	if err != nil {
		return fmt.Errorf("delete load balancer %s: %w", arn, err)
	}
	return nil
}

// NameTakenError means a load balancer or target group of the name lbsg would create
// exists and does not carry the stack's tracking tags: lbsg neither creates a second one
// nor takes it over.
type NameTakenError struct {
	Kind, Name string
	Tags       map[string]string // the existing one's tags
}

func (e *NameTakenError) Error() string {
	var owner []string
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		if naming.IsTrackingTagKey(k) {
			owner = append(owner, k+"="+e.Tags[k])
		}
	}
	who := "no lbsg tracking tags"
	if len(owner) > 0 {
		who = "tracking tags " + strings.Join(owner, ", ")
	}
	return fmt.Sprintf("a %s named %s already exists and is not this stack's (it has %s); lbsg neither adopts nor duplicates it: delete or rename it", e.Kind, e.Name, who)
}

// sameOwner reports whether have carries every tracking tag of want, with the same value.
// want must have at least one.
func sameOwner(want, have map[string]string) bool {
	n := 0
	for k, v := range want {
		if !naming.IsTrackingTagKey(k) {
			continue
		}
		n++
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return n > 0
}

// nameLocks serializes the creates of one name within the process.
type nameLocks struct {
	mu    sync.Mutex
	locks map[string]*nameLock
}

type nameLock struct {
	mu    sync.Mutex
	users int
}

// lock takes the lock of name and returns its release.
func (n *nameLocks) lock(name string) (unlock func()) {
	n.mu.Lock()
	if n.locks == nil {
		n.locks = map[string]*nameLock{}
	}
	l := n.locks[name]
	if l == nil {
		l = &nameLock{}
		n.locks[name] = l
	}
	l.users++
	n.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		n.mu.Lock()
		if l.users--; l.users == 0 {
			delete(n.locks, name)
		}
		n.mu.Unlock()
	}
}

// AWS error codes the create and delete paths react to.
const (
	codeLoadBalancerNotFound = "LoadBalancerNotFound"
	codeTargetGroupNotFound  = "TargetGroupNotFound"
	codeDuplicateTargetGroup = "DuplicateTargetGroupName"
	// codeValidationError: among others, an ARN DescribeTags cannot parse.
	codeValidationError = "ValidationError"
)

func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

// SetSecurityGroups replaces a load balancer's security groups. enforce, when not empty,
// also sets EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic (NLB only).
func (c *Client) SetSecurityGroups(ctx context.Context, arn string, sgs []string, enforce string) error {
	req := &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arn), SecurityGroups: sgs}
	if enforce != "" {
		req.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(enforce)
	}
	_, err := c.api.SetSecurityGroups(ctx, req)
	if err != nil {
		c.lbs.Clear()
		return fmt.Errorf("set security groups %v on %s: %w", sgs, arn, err)
	}
	c.lbs.Update(inventoryKey, func(lbs []state.LoadBalancer) []state.LoadBalancer {
		for i := range lbs {
			if lbs[i].ARN == arn {
				lbs[i].SecurityGroups = slices.Clone(sgs)
				if enforce != "" {
					lbs[i].PrivateLinkEnforce = enforce
				}
			}
		}
		return lbs
	})
	return nil
}

// SetSubnets replaces a load balancer's subnets.
func (c *Client) SetSubnets(ctx context.Context, arn string, subnets []string) error {
	_, err := c.api.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: subnets})
	c.lbs.Clear()
	if err != nil {
		return fmt.Errorf("set subnets %v on %s: %w", subnets, arn, err)
	}
	return nil
}

// SetIPAddressType changes a load balancer's IP address type.
func (c *Client) SetIPAddressType(ctx context.Context, arn, ipType string) error {
	_, err := c.api.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String(arn), IpAddressType: elbtypes.IpAddressType(ipType)})
	c.lbs.Clear()
	if err != nil {
		return fmt.Errorf("set ip address type %s on %s: %w", ipType, arn, err)
	}
	return nil
}

// TargetGroupInput is what lbsg sets on a target group.
type TargetGroupInput struct {
	Name, Protocol, TargetType, VPCID string
	Port                              int32
	HealthCheck                       state.HealthCheck
	Tags                              map[string]string
	// ProtocolVersion (HTTP and HTTPS: HTTP1, HTTP2, GRPC); "" leaves AWS's default.
	ProtocolVersion string
}

// CreateTargetGroup creates a target group and returns its ARN. Target group names are
// unique: when the name is taken, the group of that name is read (one call) and returned
// with adopted set if it carries every tracking tag of in.Tags with the same value (a
// concurrent reconcile created it); otherwise the result is a *NameTakenError. The result
// is written through to the cached inventory.
func (c *Client) CreateTargetGroup(ctx context.Context, in TargetGroupInput) (arn string, adopted bool, err error) {
	req := &elbv2.CreateTargetGroupInput{
		Name:                aws.String(in.Name),
		Protocol:            elbtypes.ProtocolEnum(in.Protocol),
		Port:                aws.Int32(in.Port),
		TargetType:          elbtypes.TargetTypeEnum(in.TargetType),
		VpcId:               aws.String(in.VPCID),
		HealthCheckProtocol: elbtypes.ProtocolEnum(in.HealthCheck.Protocol),
		HealthCheckPort:     aws.String(in.HealthCheck.Port),
		Tags:                sdkTags(in.Tags),
	}
	if in.HealthCheck.Path != "" && in.HealthCheck.Protocol != "TCP" {
		req.HealthCheckPath = aws.String(in.HealthCheck.Path)
	}
	if in.ProtocolVersion != "" {
		req.ProtocolVersion = aws.String(in.ProtocolVersion)
	}
	hs := healthSettings(in.HealthCheck, in.ProtocolVersion)
	req.HealthCheckIntervalSeconds, req.HealthCheckTimeoutSeconds = hs.interval, hs.timeout
	req.HealthyThresholdCount, req.UnhealthyThresholdCount, req.Matcher = hs.healthy, hs.unhealthy, hs.matcher
	unlock := c.creating.lock("target-group/" + in.Name)
	defer unlock()
	gen := c.targets.Generation()
	res, err := c.api.CreateTargetGroup(ctx, req)
	if hasCode(err, codeDuplicateTargetGroup) {
		existing, lerr := c.targetGroupsNamed(ctx, in.Name)
		if lerr != nil {
			return "", false, fmt.Errorf("create target group %s: %w (and reading the existing one: %v)", in.Name, err, lerr)
		}
		if len(existing) == 1 && sameOwner(in.Tags, existing[0].Tags) {
			c.putTargetGroup(existing[0])
			return existing[0].ARN, true, nil
		}
		if len(existing) > 0 {
			return "", false, &NameTakenError{Kind: "target group", Name: in.Name, Tags: existing[0].Tags}
		}
	}
	if err != nil {
		c.tgs.Clear()
		return "", false, fmt.Errorf("create target group %s: %w", in.Name, err)
	}
	if len(res.TargetGroups) == 0 {
		c.tgs.Clear()
		return "", false, fmt.Errorf("create target group %s: empty response", in.Name)
	}
	tg := tgFromSDK(res.TargetGroups[0])
	tg.Tags = maps.Clone(in.Tags)
	c.storeTags(tg.ARN, in.Tags)
	c.putTargetGroup(tg)
	// A new target group has no target yet.
	c.targets.Store(map[string][]state.Target{tg.ARN: nil}, gen)
	return tg.ARN, false, nil
}

// targetGroupsNamed reads the target groups called name, with their tags, bypassing the
// cache.
func (c *Client) targetGroupsNamed(ctx context.Context, name string) ([]state.TargetGroup, error) {
	tgs, err := c.describeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if hasCode(err, codeTargetGroupNotFound) {
		return nil, nil
	}
	return tgs, err
}

// putTargetGroup writes a target group lbsg created or found into the cached inventory
// (which lists only groups named k8s-…).
func (c *Client) putTargetGroup(tg state.TargetGroup) {
	if !strings.HasPrefix(tg.Name, namePrefix) {
		c.tgs.Clear()
		return
	}
	c.tgs.Update(inventoryKey, func(tgs []state.TargetGroup) []state.TargetGroup {
		tgs = slices.DeleteFunc(tgs, func(o state.TargetGroup) bool { return o.ARN == tg.ARN })
		tg.Tags = maps.Clone(tg.Tags)
		tgs = append(tgs, tg)
		sortTargetGroups(tgs)
		return tgs
	})
}

// ModifyHealthCheck updates a target group's health check. The settings left at zero
// (interval, timeout, thresholds, success codes) are not sent: AWS keeps its values.
func (c *Client) ModifyHealthCheck(ctx context.Context, arn string, hc state.HealthCheck, protocolVersion string) error {
	req := &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn),
		HealthCheckProtocol: elbtypes.ProtocolEnum(hc.Protocol), HealthCheckPort: aws.String(hc.Port)}
	if hc.Path != "" && hc.Protocol != "TCP" {
		req.HealthCheckPath = aws.String(hc.Path)
	}
	hs := healthSettings(hc, protocolVersion)
	req.HealthCheckIntervalSeconds, req.HealthCheckTimeoutSeconds = hs.interval, hs.timeout
	req.HealthyThresholdCount, req.UnhealthyThresholdCount, req.Matcher = hs.healthy, hs.unhealthy, hs.matcher
	_, err := c.api.ModifyTargetGroup(ctx, req)
	c.tgs.Clear()
	if err != nil {
		return fmt.Errorf("modify health check of %s: %w", arn, err)
	}
	return nil
}

// DeleteTargetGroup deletes a target group.
func (c *Client) DeleteTargetGroup(ctx context.Context, arn string) error {
	_, err := c.api.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
	c.forget(arn)
	c.forgetTags(arn)
	if err != nil {
		c.tgs.Clear()
		return fmt.Errorf("delete target group %s: %w", arn, err)
	}
	c.tgs.Update(inventoryKey, func(tgs []state.TargetGroup) []state.TargetGroup {
		return slices.DeleteFunc(tgs, func(o state.TargetGroup) bool { return o.ARN == arn })
	})
	return nil
}

// ListenerInput is what lbsg sets on a listener.
type ListenerInput struct {
	Port     int32
	Protocol string // TCP/UDP/TCP_UDP (NLB) or HTTP/HTTPS (ALB)
	// TargetGroupARN is where the default action forwards; "" makes the default action a
	// fixed 404 (text/plain, no body), for an ALB whose rules route all known traffic.
	TargetGroupARN string
	// Certificates (HTTPS): the first is the default certificate, the others are added with
	// AddListenerCertificates (SNI).
	Certificates []string
	// SSLPolicy and ALPNPolicy (HTTPS, TLS) are sent when set; "" leaves AWS's.
	SSLPolicy  string
	ALPNPolicy string
	// RedirectPort makes the default action a permanent redirect to HTTPS on that port,
	// keeping host, path and query (ALB ssl-redirect).
	RedirectPort int32
	// KeepProtocol (ModifyListener) leaves the listener's protocol, certificates and SSL
	// policy as they are: an adopted TLS listener where lbsg would create TCP.
	KeepProtocol bool
	// SameProtocol (ModifyListener) leaves out the protocol, which the listener has already.
	SameProtocol bool
	// KeepDefaultAction (ModifyListener) leaves a default action lbsg does not model (a
	// redirect, an authentication...) as it is.
	KeepDefaultAction bool
	// DefaultAction, when set, is the default action instead of the forward to
	// TargetGroupARN or the 404 (an actions.* annotation on spec.defaultBackend).
	DefaultAction *state.RuleAction
	// Tags (CreateListener) are given in the create call, so the listener never exists
	// without them.
	Tags map[string]string
}

// fixedResponseStatus is the status of the default action of a listener without a target
// group: a request no rule matches is for no backend.
const fixedResponseStatus = "404"

func listenerActions(in ListenerInput) []elbtypes.Action {
	if in.DefaultAction != nil {
		return ruleActions(RuleInput{Action: in.DefaultAction})
	}
	return defaultActions(in.TargetGroupARN, in.RedirectPort)
}

func defaultActions(tgARN string, redirectPort int32) []elbtypes.Action {
	if redirectPort != 0 {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect,
			RedirectConfig: &elbtypes.RedirectActionConfig{Protocol: aws.String(redirectProtocol),
				Port: aws.String(strconv.Itoa(int(redirectPort))), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}}
	}
	if tgARN == "" {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
				StatusCode: aws.String(fixedResponseStatus), ContentType: aws.String("text/plain")}}}
	}
	return forwardActions(tgARN)
}

// redirectProtocol is where ssl-redirect sends HTTP requests.
const redirectProtocol = "HTTPS"

// optional is a string parameter that is sent only when set.
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// alpn is the AlpnPolicy parameter: one policy, or none to leave AWS's.
func alpn(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// defaultCertificate is the Certificates parameter of CreateListener and ModifyListener,
// which take exactly the default certificate.
func defaultCertificate(certs []string) []elbtypes.Certificate {
	if len(certs) == 0 {
		return nil
	}
	return []elbtypes.Certificate{{CertificateArn: aws.String(certs[0])}}
}

// CreateListener creates a listener and returns its ARN. When adding an additional
// certificate fails, the listener exists: its ARN is returned with the error.
func (c *Client) CreateListener(ctx context.Context, lbARN string, in ListenerInput) (string, error) {
	res, err := c.api.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Port:            aws.Int32(in.Port),
		Protocol:        elbtypes.ProtocolEnum(in.Protocol),
		DefaultActions:  listenerActions(in),
		Certificates:    defaultCertificate(in.Certificates),
		SslPolicy:       optional(in.SSLPolicy),
		AlpnPolicy:      alpn(in.ALPNPolicy),
		Tags:            sdkTags(in.Tags),
	})
	if err != nil {
		c.forget(lbARN)
		return "", fmt.Errorf("create listener %s:%d on %s: %w", in.Protocol, in.Port, lbARN, err)
	}
	if len(res.Listeners) == 0 {
		c.forget(lbARN)
		return "", fmt.Errorf("create listener %s:%d: empty response", in.Protocol, in.Port)
	}
	arn := aws.ToString(res.Listeners[0].ListenerArn)
	if len(in.Certificates) > 1 {
		c.forget(lbARN) // the certificate list is read back with the listener
		if err := c.addCertificates(ctx, lbARN, arn, withoutCertificate(in.Certificates[1:], in.Certificates[0])); err != nil {
			return arn, err
		}
		return arn, nil
	}
	if len(in.Certificates) > 0 && len(res.Listeners[0].Certificates) == 0 {
		// An answer without the certificate asked for is not a listing to cache.
		c.forget(lbARN)
		return arn, nil
	}
	c.wroteListener(lbARN, res.Listeners[0], in.Tags)
	return arn, nil
}

// ModifyListener makes an existing listener match in: protocol, default action, default
// certificate and, for HTTPS, the set of additional certificates. What in keeps is not
// sent, so AWS leaves it as it is; the SSL policy is never sent.
func (c *Client) ModifyListener(ctx context.Context, lbARN, arn string, in ListenerInput) error {
	req := &elbv2.ModifyListenerInput{ListenerArn: aws.String(arn)}
	if !in.KeepProtocol {
		req.Certificates = defaultCertificate(in.Certificates)
		if !in.SameProtocol {
			req.Protocol = elbtypes.ProtocolEnum(in.Protocol)
		}
		req.SslPolicy, req.AlpnPolicy = optional(in.SSLPolicy), alpn(in.ALPNPolicy)
	}
	if !in.KeepDefaultAction {
		req.DefaultActions = listenerActions(in)
	}
	_, err := c.api.ModifyListener(ctx, req)
	c.forget(lbARN)
	if err != nil {
		return fmt.Errorf("modify listener %s: %w", arn, err)
	}
	if in.KeepProtocol || (in.Protocol != string(elbtypes.ProtocolEnumHttps) && in.Protocol != string(elbtypes.ProtocolEnumTls)) {
		return nil
	}
	def := ""
	if len(in.Certificates) > 0 {
		def = in.Certificates[0]
	}
	// Read the list after the modify: AWS keeps the additional certificates across it, moto
	// replaces them all by the default one. Either way, this is what remains to fix.
	_, have, err := c.listenerCertificates(ctx, arn)
	if err != nil {
		return fmt.Errorf("modify listener %s: %w", arn, err)
	}
	have = withoutCertificate(have, def)
	want := withoutCertificate(in.Certificates, def)
	var add, remove []string
	for _, cert := range want {
		if !slices.Contains(have, cert) {
			add = append(add, cert)
		}
	}
	for _, cert := range have {
		if !slices.Contains(want, cert) {
			remove = append(remove, cert)
		}
	}
	// Add before removing: a client picking a certificate by SNI in between finds the new
	// one before the old one goes.
	if err := c.addCertificates(ctx, lbARN, arn, add); err != nil {
		return err
	}
	return c.removeCertificates(ctx, lbARN, arn, remove)
}

// addCertificates adds certificates to a listener's list, one per call (the API takes one).
func (c *Client) addCertificates(ctx context.Context, lbARN, arn string, certs []string) error {
	for _, cert := range certs {
		_, err := c.api.AddListenerCertificates(ctx, &elbv2.AddListenerCertificatesInput{
			ListenerArn: aws.String(arn), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(cert)}}})
		c.forget(lbARN)
		if err != nil {
			return fmt.Errorf("add certificate %s to listener %s: %w", cert, arn, err)
		}
	}
	return nil
}

// removeCertificates removes certificates from a listener's list, one per call (the API
// takes one).
func (c *Client) removeCertificates(ctx context.Context, lbARN, arn string, certs []string) error {
	for _, cert := range certs {
		_, err := c.api.RemoveListenerCertificates(ctx, &elbv2.RemoveListenerCertificatesInput{
			ListenerArn: aws.String(arn), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(cert)}}})
		c.forget(lbARN)
		if err != nil {
			return fmt.Errorf("remove certificate %s from listener %s: %w", cert, arn, err)
		}
	}
	return nil
}

// DeleteListener deletes a listener.
func (c *Client) DeleteListener(ctx context.Context, lbARN, arn string) error {
	_, err := c.api.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
	c.forget(lbARN)
	if err != nil {
		return fmt.Errorf("delete listener %s: %w", arn, err)
	}
	return nil
}

// TagListeners adds tags to listeners and rules of one load balancer: one AddTags call
// per 20 ARNs, not one per resource.
func (c *Client) TagListeners(ctx context.Context, lbARN string, arns []string, tags map[string]string) error {
	defer c.forget(lbARN)
	for start := 0; start < len(arns); start += addTagsBatch {
		end := min(start+addTagsBatch, len(arns))
		if _, err := c.api.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: arns[start:end], Tags: sdkTags(tags)}); err != nil {
			return fmt.Errorf("tag %d listener(s) and rule(s) of %s: %w", end-start, lbARN, err)
		}
	}
	return nil
}

// addTagsBatch is the most resources tagged per AddTags call: AddTags documents no limit,
// so lbsg keeps to DescribeTags' 20.
const addTagsBatch = 20

// ForgetListeners drops the cached listeners of a load balancer.
func (c *Client) ForgetListeners(lbARN string) { c.forget(lbARN) }

// RegisterTargets registers targets in one call.
func (c *Client) RegisterTargets(ctx context.Context, tgARN string, targets []state.Target) error {
	_, err := c.api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: sdkTargets(targets)})
	if err != nil {
		c.forget(tgARN)
		return fmt.Errorf("register %d targets in %s: %w", len(targets), tgARN, err)
	}
	c.wroteTargets(tgARN, targets, false)
	return nil
}

// DeregisterTargets deregisters targets in one call.
func (c *Client) DeregisterTargets(ctx context.Context, tgARN string, targets []state.Target) error {
	_, err := c.api.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: sdkTargets(targets)})
	if err != nil {
		c.forget(tgARN)
		return fmt.Errorf("deregister %d targets from %s: %w", len(targets), tgARN, err)
	}
	c.wroteTargets(tgARN, targets, true)
	return nil
}

// Tag sets and removes tags on a load balancer or target group. The tags of a bound
// target group (BoundTargetGroup) are written through; the inventory, which holds lbsg's
// and upstream's load balancers and target groups only, is read again when it holds arn.
func (c *Client) Tag(ctx context.Context, arn string, set map[string]string, remove []string) error {
	if inInventory(arn) {
		defer c.InvalidateInventory()
	}
	defer c.forgetTags(arn)
	if len(set) > 0 {
		if _, err := c.api.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{arn}, Tags: sdkTags(set)}); err != nil {
			c.bound.Invalidate(arn)
			return fmt.Errorf("tag %s: %w", arn, err)
		}
	}
	if len(remove) > 0 {
		if _, err := c.api.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: remove}); err != nil {
			c.bound.Invalidate(arn)
			return fmt.Errorf("untag %s: %w", arn, err)
		}
	}
	c.bound.Update(arn, func(tg BoundTargetGroup) BoundTargetGroup {
		if tg.Tags == nil {
			tg.Tags = map[string]string{}
		}
		for k, v := range set {
			tg.Tags[k] = v
		}
		for _, k := range remove {
			delete(tg.Tags, k)
		}
		return tg
	})
	return nil
}

// inInventory reports whether arn can be in the inventory: a load balancer, or a target
// group named k8s-….
func inInventory(arn string) bool {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	return !ok || strings.HasPrefix(rest, namePrefix)
}

func sdkTargets(ts []state.Target) []elbtypes.TargetDescription {
	out := make([]elbtypes.TargetDescription, len(ts))
	for i, t := range ts {
		out[i] = elbtypes.TargetDescription{Id: aws.String(t.ID), Port: aws.Int32(t.Port)}
	}
	return out
}

// sdkTags returns tags sorted by key; nil for none, so that no empty Tags parameter is
// sent.
func sdkTags(tags map[string]string) []elbtypes.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]elbtypes.Tag, len(keys))
	for i, k := range keys {
		out[i] = elbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])}
	}
	return out
}

type healthParams struct {
	interval, timeout, healthy, unhealthy *int32
	matcher                               *elbtypes.Matcher
}

// healthSettings are the request fields of the health-check settings that are set.
func healthSettings(hc state.HealthCheck, protocolVersion string) healthParams {
	opt := func(v int32) *int32 {
		if v == 0 {
			return nil
		}
		return aws.Int32(v)
	}
	p := healthParams{interval: opt(hc.Interval), timeout: opt(hc.Timeout), healthy: opt(hc.Healthy), unhealthy: opt(hc.Unhealthy)}
	switch {
	case hc.SuccessCodes == "":
	case protocolVersion == "GRPC":
		p.matcher = &elbtypes.Matcher{GrpcCode: aws.String(hc.SuccessCodes)}
	default:
		p.matcher = &elbtypes.Matcher{HttpCode: aws.String(hc.SuccessCodes)}
	}
	return p
}
