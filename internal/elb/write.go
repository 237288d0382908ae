package elb

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/state"
)

// CreateLoadBalancerInput is what lbsg sets when it creates a load balancer.
type CreateLoadBalancerInput struct {
	Name, Type, Scheme, IPAddressType string
	Subnets, SecurityGroups           []string
	Tags                              map[string]string
}

// CreateLoadBalancer creates a load balancer and returns it as observed.
func (c *Client) CreateLoadBalancer(ctx context.Context, in CreateLoadBalancerInput) (state.LoadBalancer, error) {
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
	res, err := c.api.CreateLoadBalancer(ctx, req)
	c.forget()
	if err != nil {
		return state.LoadBalancer{}, fmt.Errorf("create load balancer %s: %w", in.Name, err)
	}
	if len(res.LoadBalancers) == 0 {
		return state.LoadBalancer{}, fmt.Errorf("create load balancer %s: empty response", in.Name)
	}
	lb := lbFromSDK(res.LoadBalancers[0])
	lb.Tags = in.Tags
	return lb, nil
}

// DeleteLoadBalancer deletes a load balancer; one that is already gone is not an error.
func (c *Client) DeleteLoadBalancer(ctx context.Context, arn string) error {
	_, err := c.api.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	c.forget(arn)
	if err != nil {
		return fmt.Errorf("delete load balancer %s: %w", arn, err)
	}
	return nil
}

// SetSecurityGroups replaces a load balancer's security groups. enforce, when not empty,
// also sets EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic (NLB only).
func (c *Client) SetSecurityGroups(ctx context.Context, arn string, sgs []string, enforce string) error {
	req := &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arn), SecurityGroups: sgs}
	if enforce != "" {
		req.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(enforce)
	}
	_, err := c.api.SetSecurityGroups(ctx, req)
	c.forget(arn)
	if err != nil {
		return fmt.Errorf("set security groups %v on %s: %w", sgs, arn, err)
	}
	return nil
}

// SetSubnets replaces a load balancer's subnets.
func (c *Client) SetSubnets(ctx context.Context, arn string, subnets []string) error {
	_, err := c.api.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: subnets})
	c.forget(arn)
	if err != nil {
		return fmt.Errorf("set subnets %v on %s: %w", subnets, arn, err)
	}
	return nil
}

// SetIPAddressType changes a load balancer's IP address type.
func (c *Client) SetIPAddressType(ctx context.Context, arn, ipType string) error {
	_, err := c.api.SetIpAddressType(ctx, &elbv2.SetIpAddressTypeInput{LoadBalancerArn: aws.String(arn), IpAddressType: elbtypes.IpAddressType(ipType)})
	c.forget(arn)
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
}

// CreateTargetGroup creates a target group and returns its ARN.
func (c *Client) CreateTargetGroup(ctx context.Context, in TargetGroupInput) (string, error) {
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
	res, err := c.api.CreateTargetGroup(ctx, req)
	c.forget()
	if err != nil {
		return "", fmt.Errorf("create target group %s: %w", in.Name, err)
	}
	if len(res.TargetGroups) == 0 {
		return "", fmt.Errorf("create target group %s: empty response", in.Name)
	}
	return aws.ToString(res.TargetGroups[0].TargetGroupArn), nil
}

// ModifyHealthCheck updates a target group's health check.
func (c *Client) ModifyHealthCheck(ctx context.Context, arn string, hc state.HealthCheck) error {
	req := &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn),
		HealthCheckProtocol: elbtypes.ProtocolEnum(hc.Protocol), HealthCheckPort: aws.String(hc.Port)}
	if hc.Path != "" && hc.Protocol != "TCP" {
		req.HealthCheckPath = aws.String(hc.Path)
	}
	_, err := c.api.ModifyTargetGroup(ctx, req)
	c.forget(arn)
	if err != nil {
		return fmt.Errorf("modify health check of %s: %w", arn, err)
	}
	return nil
}

// DeleteTargetGroup deletes a target group.
func (c *Client) DeleteTargetGroup(ctx context.Context, arn string) error {
	_, err := c.api.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
	c.forget(arn)
	if err != nil {
		return fmt.Errorf("delete target group %s: %w", arn, err)
	}
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
	// KeepProtocol (ModifyListener) leaves the listener's protocol, certificates and SSL
	// policy as they are: an adopted TLS listener where lbsg would create TCP.
	KeepProtocol bool
	// KeepDefaultAction (ModifyListener) leaves a default action lbsg does not model (a
	// redirect, an authentication...) as it is.
	KeepDefaultAction bool
}

// fixedResponseStatus is the status of the default action of a listener without a target
// group: a request no rule matches is for no backend.
const fixedResponseStatus = "404"

func defaultActions(tgARN string) []elbtypes.Action {
	if tgARN == "" {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
				StatusCode: aws.String(fixedResponseStatus), ContentType: aws.String("text/plain")}}}
	}
	return forwardActions(tgARN)
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
		DefaultActions:  defaultActions(in.TargetGroupARN),
		Certificates:    defaultCertificate(in.Certificates),
	})
	c.forget(lbARN)
	if err != nil {
		return "", fmt.Errorf("create listener %s:%d on %s: %w", in.Protocol, in.Port, lbARN, err)
	}
	if len(res.Listeners) == 0 {
		return "", fmt.Errorf("create listener %s:%d: empty response", in.Protocol, in.Port)
	}
	arn := aws.ToString(res.Listeners[0].ListenerArn)
	if len(in.Certificates) > 1 {
		if err := c.addCertificates(ctx, lbARN, arn, withoutCertificate(in.Certificates[1:], in.Certificates[0])); err != nil {
			return arn, err
		}
	}
	return arn, nil
}

// ModifyListener makes an existing listener match in: protocol, default action, default
// certificate and, for HTTPS, the set of additional certificates. What in keeps is not
// sent, so AWS leaves it as it is; the SSL policy is never sent.
func (c *Client) ModifyListener(ctx context.Context, lbARN, arn string, in ListenerInput) error {
	req := &elbv2.ModifyListenerInput{ListenerArn: aws.String(arn)}
	if !in.KeepProtocol {
		req.Protocol, req.Certificates = elbtypes.ProtocolEnum(in.Protocol), defaultCertificate(in.Certificates)
	}
	if !in.KeepDefaultAction {
		req.DefaultActions = defaultActions(in.TargetGroupARN)
	}
	_, err := c.api.ModifyListener(ctx, req)
	c.forget(lbARN)
	if err != nil {
		return fmt.Errorf("modify listener %s: %w", arn, err)
	}
	if in.KeepProtocol || in.Protocol != string(elbtypes.ProtocolEnumHttps) {
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

// ForgetListeners drops the cached listeners of a load balancer.
func (c *Client) ForgetListeners(lbARN string) { c.forget(lbARN) }

// RegisterTargets registers targets in one call.
func (c *Client) RegisterTargets(ctx context.Context, tgARN string, targets []state.Target) error {
	_, err := c.api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: sdkTargets(targets)})
	c.forget(tgARN)
	if err != nil {
		return fmt.Errorf("register %d targets in %s: %w", len(targets), tgARN, err)
	}
	return nil
}

// DeregisterTargets deregisters targets in one call.
func (c *Client) DeregisterTargets(ctx context.Context, tgARN string, targets []state.Target) error {
	_, err := c.api.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: sdkTargets(targets)})
	c.forget(tgARN)
	if err != nil {
		return fmt.Errorf("deregister %d targets from %s: %w", len(targets), tgARN, err)
	}
	return nil
}

// Tag sets and removes tags on a load balancer or target group.
func (c *Client) Tag(ctx context.Context, arn string, set map[string]string, remove []string) error {
	defer c.forget(arn)
	if len(set) > 0 {
		if _, err := c.api.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{arn}, Tags: sdkTags(set)}); err != nil {
			return fmt.Errorf("tag %s: %w", arn, err)
		}
	}
	if len(remove) > 0 {
		if _, err := c.api.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: remove}); err != nil {
			return fmt.Errorf("untag %s: %w", arn, err)
		}
	}
	return nil
}

func sdkTargets(ts []state.Target) []elbtypes.TargetDescription {
	out := make([]elbtypes.TargetDescription, len(ts))
	for i, t := range ts {
		out[i] = elbtypes.TargetDescription{Id: aws.String(t.ID), Port: aws.Int32(t.Port)}
	}
	return out
}

func sdkTags(tags map[string]string) []elbtypes.Tag {
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
