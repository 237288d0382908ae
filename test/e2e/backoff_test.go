package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// TestDeletingServiceWithReferencedSGNamesTheBlocker guards issue 6 case 8: a Service
// whose managed SG a user's rule on another SG refers to used to stay Terminating, retried
// every 10 s with no Event. Now the first failed attempt already shows a Warning Event and
// a condition naming the SG that holds it and the fix, and once the user removes the rule
// the Service finishes deleting (retries back off, but not past a few seconds yet).
func TestDeletingServiceWithReferencedSGNamesTheBlocker(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	svc := h.service("webserver")
	managed, ok := h.sgByName(wantServiceSGName(cluster, "default", "webserver", string(svc.UID)))
	if !ok {
		t.Fatal("no managed SG")
	}

	// The user lets the load balancer's SG reach a database.
	out, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("database"),
		Description: aws.String("database"), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	db := aws.ToString(out.GroupId)
	userRule := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(managed.ID), Description: aws.String("from the web tier")}}}}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(db), IpPermissions: userRule}); err != nil {
		t.Fatal(err)
	}

	if err := h.k8s.Delete(h.ctx, h.service("webserver")); err != nil {
		t.Fatal(err)
	}
	want := "security group " + managed.ID + " is still referenced by a rule of " + db + "; remove that rule"
	start := time.Now()
	h.eventually("the blocker in an Event", 15*time.Second, func() string {
		for _, m := range h.events("webserver")[controller.EventFailedCleanup] {
			if strings.Contains(m, want) {
				return ""
			}
		}
		return "events: " + strings.Join(h.events("webserver")[controller.EventFailedCleanup], " | ")
	})
	t.Logf("blocker reported %s after the deletion", time.Since(start).Round(100*time.Millisecond))
	s := h.service("webserver")
	if c := meta.FindStatusCondition(s.Status.Conditions, controller.ConditionReady); c == nil || c.Reason != controller.ReasonWaiting || !strings.Contains(c.Message, want) {
		t.Errorf("condition = %s, want %s naming the blocker", conditionMessage(s), controller.ReasonWaiting)
	}
	if _, ok := h.securityGroups()[managed.ID]; !ok {
		t.Fatal("the referenced SG was deleted while the user's rule refers to it")
	}

	if _, err := h.ec2.RevokeSecurityGroupIngress(h.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(db), IpPermissions: userRule}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the Service to finish deleting", 60*time.Second, func() string {
		err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: "webserver"}, &corev1.Service{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		return "still there: " + conditionMessage(h.service("webserver"))
	})
	if _, ok := h.securityGroups()[managed.ID]; ok {
		t.Error("the managed SG was not deleted once the rule was gone")
	}
	if _, ok := h.securityGroups()[db]; !ok {
		t.Error("the user's SG was touched")
	}
}

// TestLongEventIsDelivered guards issue 6 case 14: a Warning Event whose note would pass
// 1,024 bytes (a 4 KB scheme value) was refused by the apiserver and the user saw
// nothing. It now arrives, shortened, naming the key and the fix, and the condition says
// the same.
func TestLongEventIsDelivered(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	key := "service.beta.kubernetes.io/aws-load-balancer-scheme"
	h.create(webserver("webserver", map[string]string{key: strings.Repeat("internet-facing-", 256)}))
	var note string
	h.eventually("a FailedBuildModel Event", 30*time.Second, func() string {
		for _, m := range h.events("webserver")[controller.EventFailedBuildModel] {
			if strings.Contains(m, key) {
				note = m
				return ""
			}
		}
		return "events: " + strings.Join(h.events("webserver")[controller.EventFailedBuildModel], " | ")
	})
	if len(note) > controller.MaxEventNote || !strings.Contains(note, "annotation "+key+`="internet-facing-`) || !strings.Contains(note, "; fix: ") || !strings.Contains(note, "…") {
		t.Errorf("note (%d bytes) = %q", len(note), note)
	}
	s := h.service("webserver")
	if c := meta.FindStatusCondition(s.Status.Conditions, controller.ConditionReady); c == nil || c.Reason != controller.ReasonInvalidConfig || !strings.Contains(c.Message, key) {
		t.Errorf("condition = %s", conditionMessage(s))
	}
	if len(h.loadBalancers()) != 0 {
		t.Error("a load balancer was created for a Service with an invalid scheme")
	}
}

// reconcileErrors reads controller-runtime's error count of one controller from the
// process-wide registry the in-process controller reports to.
func reconcileErrors(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_reconcile_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == name {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestUndeletableBackendSGBacksOff guards issue 6 case 8's cluster-wide half: a backend SG
// that a user's rule keeps from being deleted used to rerun the whole target-SG pass every
// 10 s forever. The pass now fails into the work queue's backoff: retries come later and
// later (about 0.5, 1, 2, 4, 8, 16, 32 s apart), so in the second 20 s after the first
// failure there is at most one retry where a fixed 10 s requeue makes two.
func TestUndeletableBackendSGBacksOff(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	out, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("cache"),
		Description: aws.String("cache"), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	userRule := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6379), ToPort: aws.Int32(6379),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(backend.ID)}}}}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: userRule}); err != nil {
		t.Fatal(err)
	}
	const pass = "target-security-groups"
	before := reconcileErrors(t, pass)
	if err := h.k8s.Delete(h.ctx, h.service("webserver")); err != nil {
		t.Fatal(err)
	}
	h.eventually("the Service to be deleted", 30*time.Second, func() string {
		err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: "webserver"}, &corev1.Service{})
		if apierrors.IsNotFound(err) {
			return ""
		}
		return conditionMessage(h.service("webserver"))
	})
	h.eventually("the first failed pass", 30*time.Second, func() string {
		if reconcileErrors(t, pass) > before {
			return ""
		}
		return "no failure yet"
	})
	time.Sleep(20 * time.Second)
	mid := reconcileErrors(t, pass)
	time.Sleep(20 * time.Second)
	if late := reconcileErrors(t, pass) - mid; late > 1 {
		t.Errorf("%v failed passes in the second 20 s after the first failure, want at most 1 (backoff)", late)
	}
	if _, ok := h.securityGroups()[backend.ID]; !ok {
		t.Error("the backend SG was deleted while a user's rule refers to it")
	}
	// Once the rule is gone the backend SG goes too (within the backoff reached, ~30 s).
	if _, err := h.ec2.RevokeSecurityGroupIngress(h.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: userRule}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the backend SG to be deleted", 90*time.Second, func() string {
		if _, ok := h.securityGroups()[backend.ID]; ok {
			return "still there"
		}
		return ""
	})
}
