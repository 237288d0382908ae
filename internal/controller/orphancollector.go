package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/plan"
)

// Event reasons of the orphan collector.
const (
	EventOrphanDeleted       = "DeletedOrphanedStack"
	EventFailedOrphanCleanup = "FailedDeleteOrphanedStack"
)

// DefaultOrphanGrace is how long a stack must be seen orphaned before it is collected
// (--orphan-grace-period).
const DefaultOrphanGrace = 5 * time.Minute

// OrphanCollector deletes the stacks whose object no longer exists (plan.Orphans). It
// runs at each drift check of the target-SG pass, from what that check read anyway (the
// load balancers and the cluster's SGs, fresh), so a cluster without orphans costs it no
// AWS call; the target group inventory (cached) is read only while a stack is suspected
// (also one that only Ingresses whose hold its target groups decide may hold,
// plan.Holder), and every --sync-period for target groups left without a load balancer. A stack is
// collected once it has been an orphan for Grace and a read of its objects without the
// cache confirms it: a stack whose object is created, restored or re-labelled within the
// grace period is left alone. The deletion is the plan of a deleted owner, applied by the
// executor; then an Event in the owner's namespace (an explicit Ingress group has none:
// the log line) says what was deleted and why. What is suspected lives only in memory: a
// restart starts the grace period again, which only delays a collection.
type OrphanCollector struct {
	Engine *Engine
	// Reader reads Kubernetes without the cache, for the confirmation.
	Reader   client.Reader
	Recorder events.EventRecorder
	// Grace is how long a stack must stay an orphan before it is deleted.
	Grace time.Duration
	// WithParams and WithBindings say which CRDs are installed.
	WithParams, WithGrants, WithBindings bool

	mu        sync.Mutex
	firstSeen map[plan.StackRef]time.Time
}

// Collect finds the orphans among the stacks of inv (read by a drift check; tgs nil when
// not read) and objs (the informer cache), and deletes those due. It returns how many it
// deleted; failures are reported (log and Event) and retried at the next drift check.
func (c *OrphanCollector) Collect(ctx context.Context, objs ClusterObjects, inv orphanInventory, readTGs bool, now time.Time) int {
	if c == nil {
		return 0
	}
	logger := log.FromContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.firstSeen == nil {
		c.firstSeen = map[plan.StackRef]time.Time{}
	}
	found, _ := c.Engine.orphans(objs, inv)
	if inv.tgsUnread && (readTGs || len(found) > 0 || len(c.firstSeen) > 0) {
		tgs, err := c.Engine.ELB.TargetGroups(ctx, false)
		if err != nil {
			logger.Error(err, "orphaned stacks: read target groups")
			return 0
		}
		inv.tgs, inv.tgsUnread = tgs, false
		found, _ = c.Engine.orphans(objs, inv)
	}
	seen := map[plan.StackRef]bool{}
	var due []plan.Orphan
	for _, o := range found {
		if o.Suspected {
			continue // undecided without its target groups
		}
		seen[o.Stack] = true
		first, ok := c.firstSeen[o.Stack]
		if !ok {
			c.firstSeen[o.Stack], first = now, now
			logger.Info("stack without its object; deleted if it stays so for the grace period",
				"stack", o.Stack.String(), "owner", o.Owner.String(), "reason", o.Reason, "grace", c.Grace.String())
		}
		if now.Sub(first) >= c.Grace {
			due = append(due, o)
		}
	}
	for ref := range c.firstSeen {
		if !seen[ref] {
			delete(c.firstSeen, ref) // its object came back, or its resources are gone
		}
	}
	if len(due) == 0 {
		return 0
	}
	confirmed, err := c.confirm(ctx, inv, due)
	if err != nil {
		logger.Error(err, "orphaned stacks: read their objects without the cache")
		return 0
	}
	deleted := 0
	for _, o := range confirmed {
		if c.collect(ctx, o) {
			delete(c.firstSeen, o.Stack)
			deleted++
		}
	}
	return deleted
}

// confirm reads the objects of the due stacks without the cache (a Service by name; the
// Ingresses, classes and parameters for Ingress groups) and decides again: only the
// stacks still orphaned are returned, with the reason read now.
func (c *OrphanCollector) confirm(ctx context.Context, inv orphanInventory, due []plan.Orphan) ([]plan.Orphan, error) {
	var fresh ClusterObjects
	ingresses := false
	for _, o := range due {
		if o.Owner.Kind != "Service" {
			ingresses = true
			continue
		}
		svc := &corev1.Service{}
		err := c.Reader.Get(ctx, client.ObjectKey{Namespace: o.Owner.Namespace, Name: o.Owner.Name}, svc)
		switch {
		case err == nil:
			fresh.Services = append(fresh.Services, *svc)
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("get Service %s/%s: %w", o.Owner.Namespace, o.Owner.Name, err)
		}
	}
	if ingresses {
		objs, err := listIngressObjects(ctx, c.Reader, CRDs{Params: c.WithParams, Grants: c.WithGrants})
		if err != nil {
			return nil, err
		}
		fresh.Ingresses, fresh.Classes, fresh.Params, fresh.Namespaces = objs.Ingresses, objs.Classes, objs.Params, objs.Namespaces
	}
	if c.WithBindings {
		bindings, err := ListBindings(ctx, c.Reader)
		if err != nil {
			return nil, err
		}
		fresh.Bindings = bindings
	}
	still, _ := c.Engine.orphans(fresh, inv)
	byRef := map[plan.StackRef]plan.Orphan{}
	for _, o := range still {
		byRef[o.Stack] = o
	}
	var out []plan.Orphan
	for _, o := range due {
		if now, ok := byRef[o.Stack]; ok {
			out = append(out, now)
		}
	}
	return out, nil
}

// collect deletes one orphaned stack and reports it; false when it failed.
func (c *OrphanCollector) collect(ctx context.Context, o plan.Orphan) bool {
	logger := log.FromContext(ctx).WithValues("stack", o.Stack.String(), "owner", o.Owner.String())
	ctx = audit.WithObject(ctx, o.Owner.String()+" (orphaned stack)")
	sp, err := c.Engine.PlanOrphan(ctx, o)
	if err == nil {
		_, err = c.Engine.Exec.Apply(ctx, sp.Plan)
	}
	what := orphanResources(o)
	var retry *apply.RetryError
	if errors.As(err, &retry) {
		// Throttling, or an SG AWS still holds for a moment after its load balancer went.
		logger.Info("orphaned stack: waiting; retried at the next drift check", "resources", what, "reason", err.Error())
		return false
	}
	if err != nil {
		logger.Error(err, "orphaned stack not deleted; retried at the next drift check", "resources", what)
		c.event(o, corev1.EventTypeWarning, EventFailedOrphanCleanup, fmt.Sprintf(
			"the load balancer stack %s is left without its object (%s) and could not be deleted: %s; retried at the next drift check", o.Stack, o.Reason, err.Error()))
		return false
	}
	// The audit line of a collection: each AWS write has its own line too.
	logger.Info("deleted orphaned stack", "reason", o.Reason, "resources", what, "changes", len(sp.Plan.Changes))
	c.event(o, corev1.EventTypeNormal, EventOrphanDeleted, fmt.Sprintf(
		"deleted %s of the load balancer stack %s: %s (it stayed so for %s)", what, o.Stack, o.Reason, c.Grace))
	return true
}

// event records an Event about the stack's owner in its namespace; an explicit Ingress
// group, cluster-scoped, has none (the log line reports it).
func (c *OrphanCollector) event(o plan.Orphan, kind, reason, note string) {
	if c.Recorder == nil || o.Owner.Namespace == "" {
		return
	}
	meta := metav1.ObjectMeta{Namespace: o.Owner.Namespace, Name: o.Owner.Name}
	var obj runtime.Object = &corev1.Service{ObjectMeta: meta}
	if o.Owner.Kind == "Ingress" {
		obj = &networkingv1.Ingress{ObjectMeta: meta}
	}
	c.Recorder.Eventf(obj, nil, kind, reason, "CollectOrphan", "%s", note)
}

// orphanResources names what an orphaned stack has in AWS.
func orphanResources(o plan.Orphan) string {
	var parts []string
	for _, lb := range o.Observed.LoadBalancers {
		parts = append(parts, "load balancer "+lb.Name)
	}
	for _, tg := range o.Observed.TargetGroups {
		parts = append(parts, "target group "+tg.Name)
	}
	for _, sg := range o.Observed.ManagedSGs {
		parts = append(parts, "security group "+sg.ID)
	}
	return strings.Join(parts, ", ")
}
