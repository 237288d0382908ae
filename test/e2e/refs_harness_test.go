package e2e

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/controller"
)

// refNS is a tenant's namespace in the reference tests: it exists once per control plane
// and is emptied before and after each test that uses it.
type refNS struct {
	h    *harness
	name string
}

// refNamespaces returns the tenant namespaces, created if needed, and empties them now and
// when the test ends. What lbsg made for their objects in AWS goes with the next reset.
func (h *harness) refNamespaces(names ...string) []refNS {
	h.t.Helper()
	var out []refNS
	for _, n := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}
		if err := h.k8s.Create(h.ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			h.t.Fatalf("create namespace %s: %v", n, err)
		}
		r := refNS{h: h, name: n}
		r.clear()
		h.t.Cleanup(r.clear)
		out = append(out, r)
	}
	return out
}

// clear removes the namespace's Services and Ingresses, finalizers included, and its
// Events, so that a test sees only its own.
func (n refNS) clear() {
	_ = n.h.k8s.DeleteAllOf(n.h.ctx, &eventsv1.Event{}, client.InNamespace(n.name))
	svcs := &corev1.ServiceList{}
	ings := &networkingv1.IngressList{}
	if err := n.h.k8s.List(n.h.ctx, svcs, client.InNamespace(n.name)); err != nil {
		n.h.t.Fatalf("list services of %s: %v", n.name, err)
	}
	if err := n.h.k8s.List(n.h.ctx, ings, client.InNamespace(n.name)); err != nil {
		n.h.t.Fatalf("list ingresses of %s: %v", n.name, err)
	}
	var objs []client.Object
	for i := range svcs.Items {
		objs = append(objs, &svcs.Items[i])
	}
	for i := range ings.Items {
		objs = append(objs, &ings.Items[i])
	}
	for _, o := range objs {
		if len(o.GetFinalizers()) > 0 {
			o.SetFinalizers(nil)
			_ = n.h.k8s.Update(n.h.ctx, o)
		}
		_ = n.h.k8s.Delete(n.h.ctx, o)
	}
}

func (n refNS) create(obj client.Object) {
	n.h.t.Helper()
	obj.SetNamespace(n.name)
	n.h.create(obj)
}

// nlb is an internet-facing NLB Service on port with instance targets, open to sources.
func (n refNS) nlb(name string, port int32, sources []string, ann map[string]string) *corev1.Service {
	svc := webserver(name, ann)
	svc.Namespace = n.name
	svc.Spec.Ports = []corev1.ServicePort{{Name: "tcp", Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(port)}}
	svc.Spec.LoadBalancerSourceRanges = sources
	return svc
}

func (n refNS) service(name string) *corev1.Service {
	n.h.t.Helper()
	s := &corev1.Service{}
	if err := n.h.k8s.Get(n.h.ctx, client.ObjectKey{Namespace: n.name, Name: name}, s); err != nil {
		n.h.t.Fatalf("get service %s/%s: %v", n.name, name, err)
	}
	return s
}

// patchService changes a Service of the namespace and updates it, retrying on conflicts.
func (n refNS) patchService(name string, change func(*corev1.Service)) {
	n.h.t.Helper()
	for i := 0; i < 5; i++ {
		s := n.service(name)
		change(s)
		err := n.h.k8s.Update(n.h.ctx, s)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			n.h.t.Fatalf("update %s/%s: %v", n.name, name, err)
		}
	}
	n.h.t.Fatalf("update %s/%s: conflicts", n.name, name)
}

// waitProvisioned waits for a Service's load balancer hostname.
func (n refNS) waitProvisioned(name string) {
	n.h.t.Helper()
	n.h.eventually("hostname of "+n.name+"/"+name, 90*time.Second, func() string {
		s := n.service(name)
		if len(s.Status.LoadBalancer.Ingress) > 0 && s.Status.LoadBalancer.Ingress[0].Hostname != "" {
			return ""
		}
		return "condition: " + conditionMessage(s)
	})
}

// waitRefused waits until a Service's Ready condition is False for invalid configuration,
// with a message holding every one of want.
func (n refNS) waitRefused(name string, want ...string) {
	n.h.t.Helper()
	n.h.eventually("Service "+n.name+"/"+name+" refused", 60*time.Second, func() string {
		c := meta.FindStatusCondition(n.service(name).Status.Conditions, controller.ConditionReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controller.ReasonInvalidConfig {
			return fmt.Sprintf("condition %+v", c)
		}
		for _, w := range want {
			if !strings.Contains(c.Message, w) {
				return fmt.Sprintf("condition message %q lacks %q", c.Message, w)
			}
		}
		return ""
	})
}

// events returns the notes of the Events about an object of the namespace, by reason.
func (n refNS) events(kind, name string) map[string][]string {
	n.h.t.Helper()
	list := &eventsv1.EventList{}
	if err := n.h.k8s.List(n.h.ctx, list, client.InNamespace(n.name)); err != nil {
		n.h.t.Fatalf("list events: %v", err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

// waitEvent waits for an Event of the reason whose note holds every one of want.
func (n refNS) waitEvent(kind, name, reason string, want ...string) {
	n.h.t.Helper()
	n.h.eventually(fmt.Sprintf("%s Event on %s %s/%s with %q", reason, kind, n.name, name, want), 60*time.Second, func() string {
	notes:
		for _, m := range n.events(kind, name)[reason] {
			for _, w := range want {
				if !strings.Contains(m, w) {
					continue notes
				}
			}
			return ""
		}
		return fmt.Sprint(n.events(kind, name))
	})
}

// stackSGs returns the SGs of the NLB of a Service of the namespace, sorted; nil without one.
func (n refNS) stackSGs(name string) []string {
	for _, lb := range n.h.loadBalancers() {
		if n.h.elbTags(aws.ToString(lb.LoadBalancerArn))["service.k8s.aws/stack"] == n.name+"/"+name {
			out := append([]string(nil), lb.SecurityGroups...)
			sort.Strings(out)
			return out
		}
	}
	return nil
}

// managedSG returns the managed SG of a Service of the namespace, by its tags.
func (n refNS) managedSG(name string) sg {
	n.h.t.Helper()
	for _, g := range n.h.securityGroups() {
		if g.Tags["service.k8s.aws/stack"] == n.name+"/"+name && g.Tags["service.k8s.aws/resource"] == "ManagedLBSecurityGroup" {
			return g
		}
	}
	n.h.t.Fatalf("no managed SG of Service %s/%s", n.name, name)
	return sg{}
}

// tagSG sets tags on an SG behind lbsg's back.
func (h *harness) tagSG(id string, tags map[string]string) {
	h.t.Helper()
	var ts []ec2types.Tag
	for k, v := range tags {
		ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := h.ec2.CreateTags(h.ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ts}); err != nil {
		h.t.Fatalf("tag %s: %v", id, err)
	}
}

// partnerSG creates an SG with a Name tag that admits tcp port from one CIDR only, as a
// platform team's SG for a partner would.
func (h *harness) partnerSG(name, cidr string, port int32) string {
	h.t.Helper()
	out, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(h.world.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}},
	})
	if err != nil {
		h.t.Fatalf("create SG %s: %v", name, err)
	}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}}); err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(out.GroupId)
}

func (n refNS) ingress(name string) *networkingv1.Ingress {
	n.h.t.Helper()
	ing := &networkingv1.Ingress{}
	if err := n.h.k8s.Get(n.h.ctx, client.ObjectKey{Namespace: n.name, Name: name}, ing); err != nil {
		n.h.t.Fatalf("get ingress %s/%s: %v", n.name, name, err)
	}
	return ing
}

// waitIngressProvisioned waits for an Ingress's load balancer hostname and returns it.
func (n refNS) waitIngressProvisioned(name string) string {
	n.h.t.Helper()
	host := ""
	n.h.eventually("hostname of ingress "+n.name+"/"+name, 90*time.Second, func() string {
		ing := n.ingress(name)
		if len(ing.Status.LoadBalancer.Ingress) > 0 && ing.Status.LoadBalancer.Ingress[0].Hostname != "" {
			host = ing.Status.LoadBalancer.Ingress[0].Hostname
			return ""
		}
		return ingressCondition(ing)
	})
	return host
}

// waitIngressRefused waits until an Ingress's Ready condition is False for invalid
// configuration, with a message holding every one of want.
func (n refNS) waitIngressRefused(name string, want ...string) {
	n.h.t.Helper()
	n.h.eventually("Ingress "+n.name+"/"+name+" refused", 60*time.Second, func() string {
		c := controller.IngressCondition(n.ingress(name))
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controller.ReasonInvalidConfig {
			return fmt.Sprintf("condition %+v", c)
		}
		for _, w := range want {
			if !strings.Contains(c.Message, w) {
				return fmt.Sprintf("condition message %q lacks %q", c.Message, w)
			}
		}
		return ""
	})
}

// actionIngress is an internet-facing Ingress of the alb class whose one rule (path "/")
// takes the action of the annotation actions.<action>.
func actionIngress(name, action, value string) *networkingv1.Ingress {
	ing := ingress(name, action, map[string]string{"alb.ingress.kubernetes.io/actions." + action: value, ingScheme: internetFacing})
	be := &ing.Spec.Rules[0].HTTP.Paths[0].Backend
	be.Service.Port = networkingv1.ServiceBackendPort{Name: "use-annotation"}
	return ing
}
