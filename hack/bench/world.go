//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// world is one size's seeded cluster, read and written straight at the emulator (never
// through the counting proxy, so the bench's own reads are not counted).
type world struct {
	k8s   client.Client
	ec2   *ec2.Client
	elb   *elbv2.Client
	w     *localenv.World
	nextP int // pods created so far, for unique names
	// podIPs are the addresses handed to bench Pods: the emulator picks secondary
	// addresses at random and may pick one twice, which no real ENI does.
	podIPs map[string]bool
}

// create creates obj, retrying a few times on conflicts and server timeouts.
func (w *world) create(ctx context.Context, obj client.Object) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = w.k8s.Create(ctx, obj); err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !apierrors.IsServerTimeout(err) && !apierrors.IsTooManyRequests(err) && !apierrors.IsTimeout(err) {
			break
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
}

func (w *world) ensureIngressClass(ctx context.Context) error {
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: ingressClass},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	return w.create(ctx, ic)
}

// services returns the bench's Services with the label value.
func (w *world) services(ctx context.Context, kind string) ([]corev1.Service, error) {
	var l corev1.ServiceList
	if err := w.k8s.List(ctx, &l, client.InNamespace(benchNamespace), client.MatchingLabels{benchLabel: kind}); err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	return l.Items, nil
}

// deleteServices deletes the bench's Services with the label value, one by one (the
// Service API has no collection delete).
func (w *world) deleteServices(ctx context.Context, kind string) error {
	svcs, err := w.services(ctx, kind)
	if err != nil {
		return err
	}
	for i := range svcs {
		if err := w.k8s.Delete(ctx, &svcs[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Service %s: %w", svcs[i].Name, err)
		}
	}
	return nil
}

// touch sets the unrelated annotation on a Service.
func (w *world) touch(ctx context.Context, name, value string) error {
	var err error
	for i := 0; i < 5; i++ {
		var s corev1.Service
		if err = w.k8s.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: name}, &s); err != nil {
			return err
		}
		s.Annotations[noopAnnotation] = value
		if err = w.k8s.Update(ctx, &s); err == nil || !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}

// newPods assigns n IPs on a node's ENI (so that they are in the VPC, as VPC CNI pod IPs
// are) and creates n Running Pods of the app with them; it returns name → IP.
func (w *world) newPods(ctx context.Context, app string, n int) (map[string]string, error) {
	node := w.w.Nodes[w.nextP%len(w.w.Nodes)]
	if w.podIPs == nil {
		w.podIPs = map[string]bool{}
	}
	var ips []string
	for try := 0; len(ips) < n; try++ {
		if try == 10 {
			return nil, fmt.Errorf("the emulator kept assigning addresses already in use on %s", node.ENIID)
		}
		out, err := w.ec2.AssignPrivateIpAddresses(ctx, &ec2.AssignPrivateIpAddressesInput{
			NetworkInterfaceId: aws.String(node.ENIID), SecondaryPrivateIpAddressCount: aws.Int32(int32(n - len(ips)))})
		if err != nil {
			return nil, fmt.Errorf("assigning pod IPs on %s: %w", node.ENIID, err)
		}
		for _, a := range out.AssignedPrivateIpAddresses {
			if ip := aws.ToString(a.PrivateIpAddress); !w.podIPs[ip] {
				w.podIPs[ip] = true
				ips = append(ips, ip)
			}
		}
	}
	pods := map[string]string{}
	for _, ip := range ips {
		w.nextP++
		p := pod(fmt.Sprintf("%s-pod-%d", app, w.nextP), app)
		p.Spec.NodeName = node.Name // the node whose ENI holds its IP, as the scheduler and VPC CNI leave it
		if err := w.create(ctx, p); err != nil {
			return nil, err
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			StartTime: &metav1.Time{Time: time.Now()}}
		if err := w.k8s.Status().Update(ctx, p); err != nil {
			return nil, fmt.Errorf("setting the IP of Pod %s: %w", p.Name, err)
		}
		pods[p.Name] = ip
	}
	return pods, nil
}

// replacePods deletes the app's Pods and EndpointSlice and creates new ones with new IPs,
// as a rollout does; it returns the new IPs.
func (w *world) replacePods(ctx context.Context, app string, n int, old map[string]string, oldSlice string) (map[string]string, string, error) {
	for p := range old {
		if err := w.k8s.Delete(ctx, pod(p, app), client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("deleting Pod %s: %w", p, err)
		}
	}
	if err := w.k8s.Delete(ctx, &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: oldSlice}}); err != nil && !apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("deleting EndpointSlice %s: %w", oldSlice, err)
	}
	pods, err := w.newPods(ctx, app, n)
	if err != nil {
		return nil, "", err
	}
	slice := fmt.Sprintf("%s-%d", app, w.nextP)
	if err := w.create(ctx, endpointSlice(slice, app, pods)); err != nil {
		return nil, "", err
	}
	return pods, slice, nil
}

// backendSG returns the ID of lbsg's shared backend SG, "" when there is none.
func (w *world) backendSG(ctx context.Context) (string, error) {
	out, err := w.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.TagCluster), Values: []string{benchCluster}},
		{Name: aws.String("tag:" + naming.TagResource), Values: []string{naming.BackendSGResourceValue}},
	}})
	if err != nil {
		return "", fmt.Errorf("looking for the backend SG: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return "", nil
	}
	return aws.ToString(out.SecurityGroups[0].GroupId), nil
}

// uncoveredPorts returns the ports no rule of the node SG opens to the backend SG.
func (w *world) uncoveredPorts(ctx context.Context, ports []int32) ([]int32, error) {
	backend, err := w.backendSG(ctx)
	if err != nil || backend == "" {
		return ports, err
	}
	out, err := w.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{w.w.NodeSGID}})
	if err != nil || len(out.SecurityGroups) != 1 {
		return ports, fmt.Errorf("reading the node SG %s: %v", w.w.NodeSGID, err)
	}
	var missing []int32
	for _, p := range ports {
		covered := false
		for _, perm := range out.SecurityGroups[0].IpPermissions {
			fromBackend := slices.ContainsFunc(perm.UserIdGroupPairs, func(g ec2types.UserIdGroupPair) bool {
				return aws.ToString(g.GroupId) == backend
			})
			all := aws.ToString(perm.IpProtocol) == "-1"
			if fromBackend && (all || (aws.ToInt32(perm.FromPort) <= p && p <= aws.ToInt32(perm.ToPort))) {
				covered = true
				break
			}
		}
		if !covered {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// servicesReady returns "" when every Service of the kind has its load balancer hostname
// and the node SG lets the backend SG reach its node port, else what is missing.
func (w *world) servicesReady(ctx context.Context, kind string, want int, needNodePorts bool) (string, error) {
	svcs, err := w.services(ctx, kind)
	if err != nil {
		return "", err
	}
	if len(svcs) != want {
		return fmt.Sprintf("%d of %d Services exist", len(svcs), want), nil
	}
	pending := 0
	var ports []int32
	for _, s := range svcs {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer &&
			(len(s.Status.LoadBalancer.Ingress) == 0 || s.Status.LoadBalancer.Ingress[0].Hostname == "") {
			pending++
		}
		if needNodePorts {
			for _, p := range s.Spec.Ports {
				ports = append(ports, p.NodePort)
			}
		}
	}
	if pending > 0 {
		return fmt.Sprintf("%d of %d Services without a hostname", pending, want), nil
	}
	missing, err := w.uncoveredPorts(ctx, ports)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%d node ports not yet open to the backend SG (e.g. %d)", len(missing), missing[0]), nil
	}
	return "", nil
}

// ingressesReady returns "" when every member of the group has the group's hostname.
func (w *world) ingressesReady(ctx context.Context, names []string) (string, error) {
	for _, n := range names {
		var ing networkingv1.Ingress
		if err := w.k8s.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: n}, &ing); err != nil {
			return "", err
		}
		if len(ing.Status.LoadBalancer.Ingress) == 0 || ing.Status.LoadBalancer.Ingress[0].Hostname == "" {
			return "Ingress " + n + " has no hostname", nil
		}
	}
	return "", nil
}

// gone returns "" when no object of the list type with the bench label of the value is left.
func (w *world) gone(ctx context.Context, list client.ObjectList, kind string) (string, error) {
	if err := w.k8s.List(ctx, list, client.InNamespace(benchNamespace), client.MatchingLabels{benchLabel: kind}); err != nil {
		return "", err
	}
	if n := meta(list); n > 0 {
		return fmt.Sprintf("%d %s objects left (finalizers)", n, kind), nil
	}
	return "", nil
}

func meta(list client.ObjectList) int {
	switch l := list.(type) {
	case *corev1.ServiceList:
		return len(l.Items)
	case *networkingv1.IngressList:
		return len(l.Items)
	}
	return 0
}

// lbsgResources describes what of lbsg's is left in the emulator: load balancers, target
// groups, SGs tagged for the cluster and rules on the node SG; "" when nothing is.
func (w *world) lbsgResources(ctx context.Context, lbType string) (string, error) {
	lbs, err := w.loadBalancers(ctx)
	if err != nil {
		return "", err
	}
	var left []string
	n := 0
	for _, lb := range lbs {
		if lbType == "" || string(lb.Type) == lbType {
			n++
		}
	}
	if n > 0 {
		left = append(left, fmt.Sprintf("%d load balancers", n))
	}
	if lbType != "" {
		return strings.Join(left, ", "), nil
	}
	tgs, err := w.targetGroups(ctx)
	if err != nil {
		return "", err
	}
	if len(tgs) > 0 {
		left = append(left, fmt.Sprintf("%d target groups", len(tgs)))
	}
	sgs, err := w.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.TagCluster), Values: []string{benchCluster}}}})
	if err != nil {
		return "", fmt.Errorf("listing SGs: %w", err)
	}
	if len(sgs.SecurityGroups) > 0 {
		left = append(left, fmt.Sprintf("%d security groups", len(sgs.SecurityGroups)))
	}
	node, err := w.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{w.w.NodeSGID}})
	if err != nil || len(node.SecurityGroups) != 1 {
		return "", fmt.Errorf("reading the node SG: %v", err)
	}
	rules := 0
	for _, p := range node.SecurityGroups[0].IpPermissions {
		for _, g := range p.UserIdGroupPairs {
			if aws.ToString(g.Description) == sgrules.OwnerDescription(benchCluster) {
				rules++
			}
		}
		for _, r := range p.IpRanges {
			if aws.ToString(r.Description) == sgrules.OwnerDescription(benchCluster) {
				rules++
			}
		}
	}
	if rules > 0 {
		left = append(left, fmt.Sprintf("%d rules on the node SG", rules))
	}
	return strings.Join(left, ", "), nil
}

// targetGroupOf returns the ARN of the target group of a Service's stack.
func (w *world) targetGroupOf(ctx context.Context, service string) (string, error) {
	tgs, err := w.targetGroups(ctx)
	if err != nil {
		return "", err
	}
	want := naming.ServiceStackID(benchNamespace, service)
	for i := 0; i < len(tgs); i += 20 {
		var arns []string
		for _, tg := range tgs[i:min(i+20, len(tgs))] {
			arns = append(arns, aws.ToString(tg.TargetGroupArn))
		}
		tags, err := w.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
		if err != nil {
			return "", fmt.Errorf("reading target group tags: %w", err)
		}
		for _, d := range tags.TagDescriptions {
			for _, t := range d.Tags {
				if aws.ToString(t.Key) == naming.ServiceStackTag && aws.ToString(t.Value) == want {
					return aws.ToString(d.ResourceArn), nil
				}
			}
		}
	}
	return "", nil
}

// maxPages bounds every paged read: 100 pages of 400 are far more than the bench creates.
const maxPages = 100

func (w *world) loadBalancers(ctx context.Context) ([]elbv2types.LoadBalancer, error) {
	var out []elbv2types.LoadBalancer
	pg := elbv2.NewDescribeLoadBalancersPaginator(w.elb, &elbv2.DescribeLoadBalancersInput{})
	for i := 0; pg.HasMorePages() && i < maxPages; i++ {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing load balancers: %w", err)
		}
		out = append(out, page.LoadBalancers...)
	}
	return out, nil
}

func (w *world) targetGroups(ctx context.Context) ([]elbv2types.TargetGroup, error) {
	var out []elbv2types.TargetGroup
	pg := elbv2.NewDescribeTargetGroupsPaginator(w.elb, &elbv2.DescribeTargetGroupsInput{})
	for i := 0; pg.HasMorePages() && i < maxPages; i++ {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing target groups: %w", err)
		}
		out = append(out, page.TargetGroups...)
	}
	return out, nil
}

// targetsAre returns "" when the target group's targets are exactly the IPs.
func (w *world) targetsAre(ctx context.Context, tgARN string, pods map[string]string) (string, error) {
	if tgARN == "" {
		return "no target group yet", nil
	}
	th, err := w.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return "", fmt.Errorf("reading targets: %w", err)
	}
	var got, want []string
	for _, d := range th.TargetHealthDescriptions {
		got = append(got, aws.ToString(d.Target.Id))
	}
	for _, ip := range pods {
		want = append(want, ip)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Sprintf("targets %v, want %v", got, want), nil
	}
	return "", nil
}

// clear removes every object the bench created in Kubernetes, finalizers included, so that a
// failed size leaves nothing to the next.
func (w *world) clear(ctx context.Context) error {
	var errs []error
	var svcs corev1.ServiceList
	if err := w.k8s.List(ctx, &svcs, client.InNamespace(benchNamespace), client.HasLabels{benchLabel}); err != nil {
		return err
	}
	for i := range svcs.Items {
		s := &svcs.Items[i]
		if len(s.Finalizers) > 0 {
			s.Finalizers = nil
			_ = w.k8s.Update(ctx, s)
		}
		if err := w.k8s.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	var ings networkingv1.IngressList
	if err := w.k8s.List(ctx, &ings, client.InNamespace(benchNamespace), client.HasLabels{benchLabel}); err != nil {
		return err
	}
	for i := range ings.Items {
		g := &ings.Items[i]
		if len(g.Finalizers) > 0 {
			g.Finalizers = nil
			_ = w.k8s.Update(ctx, g)
		}
		if err := w.k8s.Delete(ctx, g); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, obj := range []client.Object{&corev1.Pod{}, &discoveryv1.EndpointSlice{}} {
		if err := w.k8s.DeleteAllOf(ctx, obj, client.InNamespace(benchNamespace), client.HasLabels{benchLabel},
			client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
