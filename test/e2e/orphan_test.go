package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// The two tenants of the orphan tests, each with its own namespace.
const (
	orphanTenantA = "orphan-team-a"
	orphanTenantB = "orphan-team-b"
)

// orphanTenants creates the tenants' namespaces and removes, at the end of the test, every
// Service and Ingress left in them (finalizers included).
func (h *harness) orphanTenants() {
	h.t.Helper()
	for _, ns := range []string{orphanTenantA, orphanTenantB} {
		if err := h.k8s.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			h.t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	clear := func() {
		for _, ns := range []string{orphanTenantA, orphanTenantB} {
			svcs := &corev1.ServiceList{}
			_ = h.k8s.List(h.ctx, svcs, client.InNamespace(ns))
			for i := range svcs.Items {
				s := &svcs.Items[i]
				_ = h.k8s.Patch(h.ctx, s, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
				_ = h.k8s.Delete(h.ctx, s)
			}
			ings := &networkingv1.IngressList{}
			_ = h.k8s.List(h.ctx, ings, client.InNamespace(ns))
			for i := range ings.Items {
				ing := &ings.Items[i]
				_ = h.k8s.Patch(h.ctx, ing, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
				_ = h.k8s.Delete(h.ctx, ing)
			}
		}
	}
	clear()
	h.t.Cleanup(clear)
}

// tenantService is an internet-facing NLB Service (instance targets) of a tenant.
func tenantService(ns, name string, nodePort int32) *corev1.Service {
	s := webserver(name, nil)
	s.Namespace = ns
	s.Spec.Ports[0].NodePort = nodePort
	return s
}

// mergePatch applies a JSON merge patch as a tenant does with kubectl patch --type=merge.
func (h *harness) mergePatch(obj client.Object, patch string) {
	h.t.Helper()
	if err := h.k8s.Patch(h.ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		h.t.Fatalf("merge patch %s/%s with %s: %v", obj.GetNamespace(), obj.GetName(), patch, err)
	}
}

func (h *harness) deleteObject(obj client.Object) {
	h.t.Helper()
	if err := h.k8s.Delete(h.ctx, obj); err != nil {
		h.t.Fatalf("delete %s/%s: %v", obj.GetNamespace(), obj.GetName(), err)
	}
	h.eventually(fmt.Sprintf("%s/%s gone", obj.GetNamespace(), obj.GetName()), 30*time.Second, func() string {
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(obj), obj); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("still there (finalizers %v)", obj.GetFinalizers())
		}
		return ""
	})
}

// stackResources is what AWS holds of one stack: its load balancer, target groups and
// managed SG.
type stackResources struct {
	lbARN, lbName string
	tgARNs        []string
	sgID          string
}

// stackOf reads a stack's resources by its stack tag.
func (h *harness) stackOf(tag, id string) stackResources {
	h.t.Helper()
	var s stackResources
	for _, lb := range h.loadBalancers() {
		if h.elbTags(aws.ToString(lb.LoadBalancerArn))[tag] == id {
			s.lbARN, s.lbName = aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.LoadBalancerName)
		}
	}
	for _, tg := range h.targetGroups() {
		if h.elbTags(aws.ToString(tg.TargetGroupArn))[tag] == id {
			s.tgARNs = append(s.tgARNs, aws.ToString(tg.TargetGroupArn))
		}
	}
	for _, g := range h.securityGroups() {
		if g.Tags[tag] == id {
			s.sgID = g.ID
		}
	}
	return s
}

func (s stackResources) empty() bool { return s.lbARN == "" && len(s.tgARNs) == 0 && s.sgID == "" }

func (s stackResources) String() string {
	return fmt.Sprintf("load balancer %q, target groups %v, managed SG %q", s.lbName, s.tgARNs, s.sgID)
}

// eventsIn returns the notes of the Events in a namespace about an object, by reason.
func (h *harness) eventsIn(ns, kind, name string) map[string][]string {
	h.t.Helper()
	list := &eventsv1.EventList{}
	if err := h.k8s.List(h.ctx, list, client.InNamespace(ns)); err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

// portsServedBy returns, for each load balancer, the ports of the instance targets its
// target groups send to.
func (h *harness) portsServedBy() map[string][]int32 {
	h.t.Helper()
	out := map[string][]int32{}
	for _, tg := range h.targetGroups() {
		health, err := h.elb.DescribeTargetHealth(h.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			h.t.Fatalf("describe target health: %v", err)
		}
		for _, lb := range tg.LoadBalancerArns {
			for _, d := range health.TargetHealthDescriptions {
				out[lb] = append(out[lb], aws.ToInt32(d.Target.Port))
			}
		}
	}
	return out
}

// TestLeakedServiceStackIsCollected guards case 8: one merge patch that removes lbsg's
// finalizer (and switches the Service to ClusterIP), then a delete, left the
// internet-facing NLB, its target group and managed SG forever, also across a restart;
// when team-b's internal Service later got the same NodePort, the leaked NLB served it to
// 0.0.0.0/0. Now the stack is deleted: by the Service reconciler when it sees the patch,
// or, when lbsg was down meanwhile, by the drift check's orphan collector once the Service
// is gone (--orphan-grace-period, 3 s here), with an Event in team-a's namespace. Team-b's
// NodePort is then served by its own load balancer only.
func TestLeakedServiceStackIsCollected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		patch   string
		restart bool
	}{
		{"finalizer removed and ClusterIP, then deleted", `{"metadata":{"finalizers":null},"spec":{"type":"ClusterIP"}}`, false},
		{"finalizer removed, then deleted", `{"metadata":{"finalizers":null}}`, false},
		{"finalizer removed and ClusterIP, restart, then deleted", `{"metadata":{"finalizers":null},"spec":{"type":"ClusterIP"}}`, true},
		{"finalizer removed, restart, then deleted", `{"metadata":{"finalizers":null}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, localenv.WorldOptions{})
			h.orphanTenants()
			flags := []string{"--orphan-grace-period=3s"}
			h.startController(flags...)
			const nodePort = 31234
			svc := tenantService(orphanTenantA, "web", nodePort)
			h.create(svc)
			stackID := naming.ServiceStackID(orphanTenantA, "web")
			h.eventually("team-a's NLB", 60*time.Second, func() string {
				if s := h.stackOf(naming.ServiceStackTag, stackID); s.lbARN == "" || len(s.tgARNs) == 0 || s.sgID == "" {
					return s.String()
				}
				return ""
			})
			h.quiesce()
			before := h.stackOf(naming.ServiceStackTag, stackID)
			if tc.restart {
				// Down while the tenant acts: nothing sees the patch or the delete.
				h.stopController()
			}
			h.mergePatch(svc, tc.patch)
			h.deleteObject(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: orphanTenantA, Name: "web"}})
			if tc.restart {
				h.startController(flags...)
			}
			h.eventually("team-a's stack deleted", 60*time.Second, func() string {
				if s := h.stackOf(naming.ServiceStackTag, stackID); !s.empty() {
					return "left: " + s.String()
				}
				return ""
			})
			if tc.restart {
				// Otherwise the Service reconciler may have acted first (putting the
				// finalizer back, or deleting the stack of the switched Service).
				h.eventually("an Event in team-a's namespace", 30*time.Second, func() string {
					for _, note := range h.eventsIn(orphanTenantA, "Service", "web")[controller.EventOrphanDeleted] {
						if strings.Contains(note, "Service "+orphanTenantA+"/web no longer exists") && strings.Contains(note, before.lbName) {
							return ""
						}
					}
					return fmt.Sprint(h.eventsIn(orphanTenantA, "Service", "web"))
				})
			}
			// Team-b's internal Service gets the same NodePort: only its own NLB serves it.
			b := tenantService(orphanTenantB, "db", nodePort)
			b.Annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] = "internal"
			b.Annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"] = h.world.Subnets[0].ID + "," + h.world.Subnets[1].ID
			h.create(b)
			h.eventually("team-b's NLB", 60*time.Second, func() string {
				if s := h.stackOf(naming.ServiceStackTag, naming.ServiceStackID(orphanTenantB, "db")); s.lbARN == "" {
					return s.String()
				}
				return ""
			})
			own := h.stackOf(naming.ServiceStackTag, naming.ServiceStackID(orphanTenantB, "db")).lbARN
			for lb, ports := range h.portsServedBy() {
				if lb != own && slices.Contains(ports, nodePort) {
					t.Errorf("load balancer %s (not team-b's) sends traffic to NodePort %d", lb, nodePort)
				}
			}
			if lb := h.loadBalancer(before.lbName); lb != nil {
				t.Errorf("team-a's internet-facing NLB %s is still there", before.lbName)
			}
		})
	}
}

// TestServiceSwitchedAwayWithoutFinalizerLosesItsStackAtOnce: a Service switched to
// ClusterIP in the same patch that removes lbsg's finalizer is an explicit move; its
// reconciler deletes the stack as it would with the finalizer, long before the grace
// period (an hour here), and clears lbsg's condition.
func TestServiceSwitchedAwayWithoutFinalizerLosesItsStackAtOnce(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.orphanTenants()
	h.startController("--orphan-grace-period=1h")
	svc := tenantService(orphanTenantA, "web", 31235)
	h.create(svc)
	stackID := naming.ServiceStackID(orphanTenantA, "web")
	h.eventually("team-a's NLB", 60*time.Second, func() string {
		if s := h.stackOf(naming.ServiceStackTag, stackID); s.lbARN == "" || s.sgID == "" {
			return s.String()
		}
		return ""
	})
	h.quiesce()
	h.mergePatch(svc, `{"metadata":{"finalizers":null},"spec":{"type":"ClusterIP"}}`)
	h.eventually("team-a's stack deleted", 30*time.Second, func() string {
		if s := h.stackOf(naming.ServiceStackTag, stackID); !s.empty() {
			return "left: " + s.String()
		}
		return ""
	})
	h.eventually("lbsg's condition cleared", 30*time.Second, func() string {
		got := &corev1.Service{}
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(svc), got); err != nil {
			return err.Error()
		}
		if len(got.Status.Conditions) > 0 {
			return fmt.Sprint(got.Status.Conditions)
		}
		return ""
	})
}

// orphanIngress is an Ingress of the alb class in team-a routing to a NodePort Service.
func orphanIngress(name string, ann map[string]string) *networkingv1.Ingress {
	ing := ingress(name, "shop", ann)
	ing.Namespace = orphanTenantA
	return ing
}

func orphanBackend() *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: orphanTenantA, Name: "shop"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "shop"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
}

// TestLeakedIngressStacksAreCollected: an implicit group whose Ingress is deleted after
// its finalizer was removed, and an explicit group none of whose Ingresses is left (both
// while lbsg was down), lose their ALB, target groups and managed SG after the grace
// period once lbsg is back (an Event in team-a's namespace for the implicit group; the
// explicit group is cluster-scoped and logged).
func TestLeakedIngressStacksAreCollected(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.orphanTenants()
	h.startController("--orphan-grace-period=3s")
	h.ensureIngressClass(albClass, "")
	h.create(orphanBackend())
	implicit := orphanIngress("blog", map[string]string{ingScheme: internetFacing})
	explicit := orphanIngress("front", map[string]string{ingScheme: internetFacing, ingGroup: "orphan-shop"})
	h.create(implicit)
	h.create(explicit)
	stacks := map[string]string{naming.ServiceStackID(orphanTenantA, "blog"): "implicit", "orphan-shop": "explicit"}
	for id := range stacks {
		h.eventually("ALB of "+id, 60*time.Second, func() string {
			if s := h.stackOf(naming.IngressStackTag, id); s.lbARN == "" || s.sgID == "" || len(s.tgARNs) == 0 {
				return s.String()
			}
			return ""
		})
	}
	h.quiesce()
	// lbsg is down while the tenant removes the finalizers and deletes the Ingresses (up,
	// it would put the finalizers back first).
	h.stopController()
	for _, ing := range []*networkingv1.Ingress{implicit, explicit} {
		h.mergePatch(ing, `{"metadata":{"finalizers":null}}`)
		h.deleteObject(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: orphanTenantA, Name: ing.Name}})
	}
	h.startController("--orphan-grace-period=3s")
	for id := range stacks {
		h.eventually("stack "+id+" deleted", 60*time.Second, func() string {
			if s := h.stackOf(naming.IngressStackTag, id); !s.empty() {
				return "left: " + s.String()
			}
			return ""
		})
	}
	h.eventually("an Event about Ingress blog", 30*time.Second, func() string {
		for _, note := range h.eventsIn(orphanTenantA, "Ingress", "blog")[controller.EventOrphanDeleted] {
			if strings.Contains(note, "Ingress "+orphanTenantA+"/blog no longer exists") {
				return ""
			}
		}
		return fmt.Sprint(h.eventsIn(orphanTenantA, "Ingress", "blog"))
	})
}

// TestMissingClassNeverMakesAnOrphan: absence of configuration never deletes, also
// without a finalizer. An Ingress whose IngressClass is deleted (and whose finalizer was
// removed) keeps its ALB through many drift checks past the grace period; so does an
// explicit group whose Ingresses' IngressClassParams are missing.
func TestMissingClassNeverMakesAnOrphan(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.orphanTenants()
	h.startController("--orphan-grace-period=2s")
	h.ensureIngressClass(albClass, "")
	h.create(orphanBackend())
	ing := orphanIngress("blog", map[string]string{ingScheme: internetFacing})
	h.create(ing)
	id := naming.ServiceStackID(orphanTenantA, "blog")
	h.eventually("ALB of "+id, 60*time.Second, func() string {
		if s := h.stackOf(naming.IngressStackTag, id); s.lbARN == "" || s.sgID == "" {
			return s.String()
		}
		return ""
	})
	h.quiesce()
	before := h.stackOf(naming.IngressStackTag, id)
	h.deleteIngressClass(albClass)
	h.mergePatch(ing, `{"metadata":{"finalizers":null}}`)
	mark := h.counts().Mutating()
	time.Sleep(10 * time.Second) // five drift checks, five grace periods
	if s := h.stackOf(naming.IngressStackTag, id); s.lbARN != before.lbARN || s.sgID != before.sgID || !slices.Equal(s.tgARNs, before.tgARNs) {
		t.Errorf("stack of an Ingress whose class is missing = %s, want %s kept", s, before)
	}
	for _, action := range []string{"DeleteLoadBalancer", "DeleteTargetGroup", "DeleteSecurityGroup"} {
		if d := h.counts().Mutating()[action] - mark[action]; d != 0 {
			t.Errorf("%d %s while the class was missing", d, action)
		}
	}
}

// TestLeakedGroupIsNotHeldByAnotherTenant guards case 8 across tenants: team-a's explicit
// group lost its Ingresses while lbsg was down (finalizers removed, then deleted), and
// team-b then named the group from Ingresses lbsg cannot resolve: one whose IngressClass is
// missing and that names the group, one (also without a class lbsg knows) whose status
// shows the group's DNS name. Neither may keep team-a's internet-facing ALB, whose target
// groups still send traffic to team-a's NodePort: it is collected after the grace period
// as if team-b had not asked. Team-b's Ingresses are left as they are.
func TestLeakedGroupIsNotHeldByAnotherTenant(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.orphanTenants()
	flags := []string{"--orphan-grace-period=3s"}
	h.startController(flags...)
	h.ensureIngressClass(albClass, "")
	h.create(orphanBackend())
	const group = "orphan-tenant-shop"
	front := orphanIngress("front", map[string]string{ingScheme: internetFacing, ingGroup: group})
	h.create(front)
	h.eventually("ALB of "+group, 60*time.Second, func() string {
		if s := h.stackOf(naming.IngressStackTag, group); s.lbARN == "" || s.sgID == "" || len(s.tgARNs) == 0 {
			return s.String()
		}
		return ""
	})
	h.quiesce()
	before := h.stackOf(naming.IngressStackTag, group)
	lb := h.loadBalancer(before.lbName)
	if lb == nil {
		t.Fatalf("load balancer %s not found", before.lbName)
	}
	h.stopController()
	h.mergePatch(front, `{"metadata":{"finalizers":null}}`)
	h.deleteObject(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: orphanTenantA, Name: "front"}})
	// Team-b's Ingresses, each of a class that does not exist.
	squat := ingress("squat", "shop", map[string]string{ingGroup: group})
	squat.Namespace, squat.Spec.IngressClassName = orphanTenantB, aws.String("no-such-class")
	h.create(squat)
	shows := ingress("shows", "shop", nil)
	shows.Namespace, shows.Spec.IngressClassName = orphanTenantB, aws.String("no-such-class")
	h.create(shows)
	shows.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: aws.ToString(lb.DNSName)}}
	if err := h.k8s.Status().Update(h.ctx, shows); err != nil {
		t.Fatalf("write the status of %s/shows: %v", orphanTenantB, err)
	}
	h.startController(flags...)
	h.eventually("team-a's stack deleted", 60*time.Second, func() string {
		if s := h.stackOf(naming.IngressStackTag, group); !s.empty() {
			return "left: " + s.String()
		}
		return ""
	})
	for _, name := range []string{"squat", "shows"} {
		got := &networkingv1.Ingress{}
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: orphanTenantB, Name: name}, got); err != nil {
			t.Errorf("team-b's Ingress %s: %v", name, err)
		} else if len(got.Finalizers) != 0 {
			t.Errorf("team-b's Ingress %s got finalizers %v", name, got.Finalizers)
		}
	}
}
