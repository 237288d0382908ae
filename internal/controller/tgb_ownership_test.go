package controller

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/naming"
)

// bindIn creates a binding of Service "app" in namespace ns (the Service is created there
// too when missing).
func (w *tgbWorld) bindIn(ns, name, arn string, mutate func(*elbv2api.TargetGroupBinding)) {
	w.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "x"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080, TargetPort: intstr.FromInt32(8080)}}}}
	if err := w.kube.Create(w.ctx, svc); err != nil && !strings.Contains(err.Error(), "already exists") {
		w.t.Fatal(err)
	}
	b := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, ServiceRef: elbv2api.ServiceReference{Name: "app", Port: intstr.FromInt32(80)}}}
	if mutate != nil {
		mutate(b)
	}
	if err := w.kube.Create(w.ctx, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *tgbWorld) reconcileIn(ns, name string) {
	w.t.Helper()
	if _, err := w.r.Reconcile(w.ctx, TGBRequest{Namespace: ns, Name: name}); err != nil {
		w.t.Fatalf("reconcile %s/%s: %v", ns, name, err)
	}
}

func (w *tgbWorld) bindingIn(ns, name string) *elbv2api.TargetGroupBinding {
	w.t.Helper()
	b := &elbv2api.TargetGroupBinding{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: name}, b); err != nil {
		w.t.Fatal(err)
	}
	return b
}

func created(at int64) func(*elbv2api.TargetGroupBinding) {
	return func(b *elbv2api.TargetGroupBinding) { b.CreationTimestamp = metav1.Time{Time: time.Unix(at, 0)} }
}

// TestTGBOwnership: what a binding may register into and deregister from is decided by the
// reference authorizer from the target group's tags, which only lbsg writes; the binding's
// registered-targets annotation, which its tenant writes (and kubectl exports), never
// makes lbsg deregister a target it did not record for that very binding. The victim is
// team-a's binding, whose target group also holds a target someone registered by hand.
func TestTGBOwnership(t *testing.T) {
	nodes := []string{"i-0000000000000001:30080", "i-0000000000000002:30080"}
	const outsider = "i-outsider:9999"
	tests := []struct {
		name string
		// attack runs after the victim converged; it returns the binding to reconcile.
		attack func(w *tgbWorld, victimARN, victimRecord string) (ns, name string)
		// refused is a fragment of the Warning the attacking binding must get.
		refused string
		// victim are the targets the victim's target group must hold afterwards.
		victim []string
		// registers says the attacking binding may register in a target group of its own.
		registers bool
	}{
		{
			name: "a copied record on another namespace's binding of its own target group",
			attack: func(w *tgbWorld, _, rec string) (string, string) {
				own := w.targetGroup("evil", tgbVPC, "instance", nil)
				w.bindIn("team-b", "evil", own, func(b *elbv2api.TargetGroupBinding) {
					b.Annotations = map[string]string{TGBTargetsAnnotation: rec}
				})
				return "team-b", "evil"
			},
			refused: "belongs to TargetGroupBinding team-a/victim", victim: append([]string{outsider}, nodes...), registers: true,
		},
		{
			name: "a copied record on a binding of the victim's target group",
			attack: func(w *tgbWorld, arn, rec string) (string, string) {
				w.bindIn("team-b", "evil", arn, func(b *elbv2api.TargetGroupBinding) {
					b.Annotations = map[string]string{TGBTargetsAnnotation: rec}
				})
				return "team-b", "evil"
			},
			refused: "belongs to TargetGroupBinding team-a/victim", victim: append([]string{outsider}, nodes...),
		},
		{
			name: "a second binding of the victim's target group in the victim's namespace",
			attack: func(w *tgbWorld, arn, _ string) (string, string) {
				w.bindIn("team-a", "second", arn, nil)
				return "team-a", "second"
			},
			refused: "belongs to TargetGroupBinding team-a/victim", victim: append([]string{outsider}, nodes...),
		},
		{
			name: "the victim's own record edited to list the hand-made target",
			attack: func(w *tgbWorld, arn, rec string) (string, string) {
				b := w.bindingIn("team-a", "victim")
				b.Annotations[TGBTargetsAnnotation] = rec + "," + outsider
				if err := w.kube.Update(w.ctx, b); err != nil {
					w.t.Fatal(err)
				}
				// A node leaves, so that the victim has something to deregister.
				if err := w.kube.Delete(w.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2"}}); err != nil {
					w.t.Fatal(err)
				}
				return "team-a", "victim"
			},
			refused: "did not record them for this binding", victim: []string{outsider, nodes[0], nodes[1]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTGBWorld(t, 2)
			arn := w.targetGroup("victim", tgbVPC, "instance", map[string]string{"owner": "platform"})
			w.elbv.PutTargets(arn, []elbtypes.TargetDescription{{Id: aws.String("i-outsider"), Port: aws.Int32(9999)}})
			w.bindIn("team-a", "victim", arn, created(100))
			w.reconcileIn("team-a", "victim")
			if got := w.targets(arn); !reflect.DeepEqual(got, append([]string{}, nodes[0], nodes[1], outsider)) {
				t.Fatalf("victim's targets %v", got)
			}
			if tags := w.tags(arn); tags[naming.BoundByTagKey(testCluster)] != "team-a/victim" || tags["owner"] != "platform" {
				t.Fatalf("victim's target group tags %v, want lbsg's claim beside the owner's tags", tags)
			}
			rec := w.bindingIn("team-a", "victim").Annotations[TGBTargetsAnnotation]
			w.events()
			w.calls()
			ns, name := tt.attack(w, arn, rec)
			w.reconcileIn(ns, name)
			if ev := w.events(); !strings.Contains(ev, "Warning") || !strings.Contains(ev, tt.refused) {
				t.Errorf("events %q, want a Warning containing %q", ev, tt.refused)
			}
			calls := w.calls()
			if n := calls["RegisterTargets"]; (n > 0) != tt.registers {
				t.Errorf("calls %v: RegisterTargets %d, want any: %t", calls, n, tt.registers)
			}
			want := append([]string{}, tt.victim...)
			if got := w.targets(arn); !reflect.DeepEqual(sortedStrings(got), sortedStrings(want)) {
				t.Errorf("victim's targets %v, want %v", got, want)
			}
			// The victim keeps converging.
			w.reconcileIn("team-a", "victim")
			if tags := w.tags(arn); tags[naming.BoundByTagKey(testCluster)] != "team-a/victim" {
				t.Errorf("victim's claim %v", tags)
			}
		})
	}
}

// An unclaimed target group belongs to the oldest binding that names it, and a claim left
// by a binding that no longer exists frees the target group.
func TestTGBOneBindingPerTargetGroup(t *testing.T) {
	w := newTGBWorld(t, 1)
	shared := w.targetGroup("shared", tgbVPC, "instance", nil)
	w.bindIn("team-a", "old", shared, created(100))
	w.bindIn("team-b", "young", shared, created(200))
	w.reconcileIn("team-b", "young")
	if ev := w.events(); !strings.Contains(ev, "belongs to TargetGroupBinding team-a/old (namespace team-a)") {
		t.Errorf("events %q, want the younger binding refused", ev)
	}
	if got := w.targets(shared); len(got) > 0 {
		t.Errorf("targets %v registered by the younger binding", got)
	}
	w.reconcileIn("team-a", "old")
	if got := w.targets(shared); len(got) != 1 {
		t.Errorf("targets %v, want the older binding's node", got)
	}

	orphan := w.targetGroup("orphan", tgbVPC, "instance", map[string]string{naming.BoundByTagKey(testCluster): "team-c/gone"})
	w.bindIn("team-b", "heir", orphan, nil)
	w.reconcileIn("team-b", "heir")
	if tags := w.tags(orphan); tags[naming.BoundByTagKey(testCluster)] != "team-b/heir" {
		t.Errorf("claim %v, want the new binding's", tags)
	}
	// Another cluster's claim leaves the target group to this cluster's bindings.
	shared2 := w.targetGroup("multi", tgbVPC, "instance", map[string]string{naming.BoundByTagKey("other-cluster"): "team-z/x"})
	w.bindIn("team-b", "multi", shared2, nil)
	w.reconcileIn("team-b", "multi")
	if got := w.targets(shared2); len(got) != 1 {
		t.Errorf("targets %v in a target group another cluster shares, want this cluster's node", got)
	}
}

// A binding moved to another target group (possible where the CRD does not make
// spec.targetGroupARN immutable) takes its recorded targets out of the old one, and its
// claim with them, then registers in the new one.
func TestTGBMovedBindingReleasesItsOldTargetGroup(t *testing.T) {
	w := newTGBWorld(t, 1)
	old := w.targetGroup("old", tgbVPC, "instance", nil)
	moved := w.targetGroup("new", tgbVPC, "instance", nil)
	w.bindIn("team-a", "web", old, nil)
	w.reconcileIn("team-a", "web")
	b := w.bindingIn("team-a", "web")
	b.Spec.TargetGroupARN = moved
	if err := w.kube.Update(w.ctx, b); err != nil {
		t.Fatal(err)
	}
	w.reconcileIn("team-a", "web")
	if got := w.targets(old); len(got) > 0 {
		t.Errorf("old target group keeps %v", got)
	}
	if tags := w.tags(old); len(tags) > 0 {
		t.Errorf("old target group keeps tags %v", tags)
	}
	if got := w.targets(moved); len(got) != 1 {
		t.Errorf("new target group holds %v, want the node", got)
	}
}

func sortedStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}
