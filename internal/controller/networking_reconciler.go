package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// NetworkingReconciler keeps the rules on target (node and pod) security groups. It has a
// single work item for the whole cluster (NetworkingKey): the events that may change a
// stack's target ENIs or ports map to it, and the work queue folds a burst of them into
// one pass. A pass never plans a stack: each stack's contribution comes from its spec,
// the load balancer inventory and the NetworkingSnapshot, so its AWS calls do not grow
// with the number of stacks.
//
// Every DriftCheck a pass reads every SG it plans and every load balancer fresh, repairs
// rules changed behind lbsg's back, and hands the stacks whose load balancer changed
// (deleted, SGs detached) to their own reconciler (LBChanged). Between drift checks, a
// pass whose inputs are those of the last settled pass reads nothing.
//
// Each target SG is applied on its own: a change AWS refuses on one SG, a quota or a
// stack that cannot be computed never stops the changes of another SG.
type NetworkingReconciler struct {
	Client   client.Client
	Engine   *Engine
	Recorder events.EventRecorder
	// DriftCheck is how often AWS is re-read to repair rules changed behind lbsg's back.
	DriftCheck time.Duration
	// Resync is how long discovery and resolved target ENIs are trusted (--sync-period).
	Resync time.Duration
	// CRDs are the optional CRDs the cluster has.
	CRDs CRDs
	// WithBindings is set when the TargetGroupBinding CRD is installed.
	WithBindings bool
	// LBChanged is told of each stack whose load balancer changed between two drift
	// checks (nil: nobody is told).
	LBChanged func(spec.Owner)
	// Orphans collects, at each drift check, the stacks whose object no longer exists
	// (nil: none are collected).
	Orphans *OrphanCollector
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	snap      NetworkingSnapshot
	lastDrift time.Time

	// reported remembers the messages last reported per owner, only so that a pass every
	// DriftCheck does not repeat the same Events; it holds no state the plan depends on.
	reported sync.Map
	// podENINoticed are the pod-eni notices of the last pass (see reportPodENI).
	podENINoticed map[string]bool
	// recommended are the owners told of NLBs with security groups in the last pass
	// (see reportRefused).
	recommended map[string]bool
	// drift tells drift repairs from asked-for changes, for lbsg_drift_*_total only.
	drift driftTracker
}

// TargetSGPass is the request of the target-SG reconciler: one pass over every target SG
// of the cluster. It has a single value, so the work queue holds at most one pass and
// folds a burst of events into it.
type TargetSGPass struct{}

// targetSGPass is the one request every event of the target-SG reconciler maps to.
var targetSGPass = []TargetSGPass{{}}

// newPassRateLimiter is NewRateLimiter for the target-SG pass's typed work queue.
func newPassRateLimiter() workqueue.TypedRateLimiter[TargetSGPass] {
	return workqueue.NewTypedMaxOfRateLimiter[TargetSGPass](
		newJitteredBackoff[TargetSGPass](BackoffBase, BackoffMax, BackoffJitter),
		&workqueue.TypedBucketRateLimiter[TargetSGPass]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// Event reasons of the target-SG reconciler.
const (
	// EventRuleQuota: the rules a load balancer needs on a target SG do not fit its quota.
	EventRuleQuota = "SecurityGroupRuleQuotaExceeded"
	// EventRuleShare: the load balancers of one namespace ask for more rules on a shared
	// target SG than the namespace's share of its quota (--sg-rules-namespace-share).
	EventRuleShare = "SecurityGroupRuleShareExceeded"
	// EventClientCIDRRefused: a client CIDR rule of an NLB without SGs, or a CIDR rule of
	// a TargetGroupBinding, is not added to a target SG because its port is outside the
	// NodePort range.
	EventClientCIDRRefused = "ClientCIDRRuleRefused"
	// EventNetworkingRefused: a TargetGroupBinding's spec.networking rule is not added to
	// a target SG because its port is not one its targets receive traffic on.
	EventNetworkingRefused = "NetworkingRuleRefused"
	// EventNLBSGRecommended (Normal) recommends an NLB with security groups to a Service
	// whose client CIDR rules were refused.
	EventNLBSGRecommended = "NLBSecurityGroupRecommended"
)

// Reconcile runs one pass over every target SG.
func (r *NetworkingReconciler) Reconcile(ctx context.Context, _ TargetSGPass) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	now := r.now()
	objs, err := ListClusterObjects(ctx, r.Client, r.CRDs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.WithBindings {
		if objs.Bindings, err = ListBindings(ctx, r.Client); err != nil {
			return ctrl.Result{}, err
		}
	}
	// A pass close enough to the due drift check is the drift check: the requeue that
	// schedules it may fire a little early.
	drift := r.lastDrift.IsZero() || now.Sub(r.lastDrift) >= r.DriftCheck-r.DriftCheck/10
	np, err := r.Engine.planNetworking(ctx, objs, &r.snap, passOptions{Drift: drift, Resync: r.Resync, Now: now})
	if err != nil {
		return ctrl.Result{}, err
	}
	if drift {
		r.lastDrift = now
		r.lbChanged(ctx, np)
	}
	next := ctrl.Result{RequeueAfter: max(r.DriftCheck-now.Sub(r.lastDrift), time.Second)}
	if np.Unchanged {
		logger.V(1).Info("target security groups: inputs unchanged")
		return next, nil
	}
	rep := newNetworkReport()
	for owner, ferr := range np.Failures {
		rep.owner(owner, EventFailedNetwork, failureCompute, fmt.Sprintf(
			"target security group rules not updated: %s; the rules it may rely on (its target ports from its load balancer's sources, on the security groups of its registered targets) are kept until this is fixed, and other load balancers' rules are updated as usual", ferr.Error()))
	}
	r.reportPodENI(objs, np.PodENINotices)
	for _, q := range np.OverQuota {
		event, reason := EventRuleQuota, failureOverQuota
		if q.Namespace != "" {
			event, reason = EventRuleShare, failureOverShare
		}
		rep.fail.sgs[[2]string{q.SG, reason}] = true
		for _, name := range q.Owners {
			if o, ok := np.Owner(name); ok {
				rep.owner(o, event, reason, quotaMessage(q))
			}
		}
	}
	r.reportRefused(objs, np, rep)
	applied, errs := r.applyPerSG(ctx, np, rep)
	rep.fail.held = len(np.Held)
	r.report(ctx, objs, rep)
	settled := len(errs) == 0 && !np.Partial && len(np.OverQuota) == 0 && len(np.Held) == 0
	collected := 0
	if drift {
		// From what the drift check read: no call while no stack is suspected.
		collected = r.Orphans.Collect(ctx, objs, orphanInventory{lbs: np.LoadBalancers, sgs: np.ClusterSGs, tgsUnread: true}, np.Rediscovered, now)
	}
	// After a collection the pass plans again soon: the backend SG may be unused now.
	r.snap.settle(np.fingerprint, settled && collected == 0)
	if len(errs) > 0 {
		// Returned, so that the work queue retries the pass with backoff.
		return ctrl.Result{}, errors.Join(errs...)
	}
	if collected > 0 {
		next = ctrl.Result{RequeueAfter: time.Second}
	}
	if applied > 0 || np.Partial || len(np.OverQuota) > 0 {
		logger.Info("target security groups reconciled", "changes", applied, "partial", np.Partial,
			"authorizeOnlySGs", len(np.Held), "overQuotaSGs", len(np.OverQuota))
	} else {
		logger.V(1).Info("target security groups: nothing to change", "sgs", len(np.Input.Observed))
	}
	return next, nil
}

func (r *NetworkingReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// lbChanged tells LBChanged of the stacks whose load balancer is gone or has other SGs
// than at the previous drift check, or whose managed SG drifted: their own reconciler
// repairs them.
func (r *NetworkingReconciler) lbChanged(ctx context.Context, np *NetworkingPlan) {
	cur := map[spec.Owner]string{}
	for _, lb := range np.LoadBalancers {
		if o, ok := np.LBOwners[lb.ARN]; ok {
			// AWS lists an LB's SGs in no fixed order.
			cur[o] = lb.ARN + "=" + strings.Join(dedupStrings(lb.SecurityGroups), ",")
		}
	}
	r.snap.mu.Lock()
	prev := r.snap.lbSGs
	r.snap.lbSGs = cur
	r.snap.mu.Unlock()
	if r.LBChanged == nil {
		return
	}
	var changed []spec.Owner
	for o, was := range prev {
		if cur[o] != was {
			changed = append(changed, o)
		}
	}
	// A managed SG that drifted is repaired by its stack's reconciler too; its rules were
	// read in the same batched read as every other SG of the cluster.
	for _, o := range np.ManagedSGDrift {
		if !slices.Contains(changed, o) {
			log.FromContext(ctx).Info("managed security group changed behind lbsg's back; reconciling its stack", "owner", o.String())
			changed = append(changed, o)
		}
	}
	slices.SortFunc(changed, func(a, b spec.Owner) int { return compareStrings(a.String(), b.String()) })
	for _, o := range changed {
		r.LBChanged(o)
	}
}

// applyPerSG applies each target SG's changes on their own, collecting failures, then the
// SG deletions, only when every SG succeeded (a deleted SG must be referenced nowhere).
func (r *NetworkingReconciler) applyPerSG(ctx context.Context, np *NetworkingPlan, rep *networkReport) (applied int, errs []error) {
	logger := log.FromContext(ctx)
	rules := map[string]int{}
	for id, sg := range np.Input.Observed {
		rules[id] = len(sg.Ingress)
	}
	run := func(p plan.Plan, sg string) bool {
		fp := wanted(np.Input, sg)
		drift := r.drift.isDrift(sg, fp)
		res, err := r.Engine.Exec.Apply(audit.WithObject(ctx, contributors(np.Contributors[sg])), p)
		applied += res.Applied
		r.Engine.Metrics.recordDrift(p.Changes, res.Applied, drift)
		if _, target := rules[sg]; target {
			rules[sg] += ruleDelta(p.Changes[:res.Applied]) // the backend SG is no target SG
		}
		if err == nil {
			return true
		}
		r.drift.forget(sg)
		rep.fail.sgs[[2]string{sg, failureApply}] = true
		errs = append(errs, fmt.Errorf("target security group %s: %w", sg, err))
		var retry *apply.RetryError
		if errors.As(err, &retry) {
			// Throttling or a dependency that clears by itself: retried with backoff.
			logger.Info("target security group: waiting", "sg", sg, "reason", err.Error())
			return false
		}
		for _, o := range np.Contributors[sg] {
			rep.owner(o, EventFailedNetwork, failureApply, fmt.Sprintf("target security group %s not updated: %s", sg, err.Error()))
		}
		return false
	}
	perSG, last := plan.BySG(np.Plan)
	ok := true
	for _, p := range perSG {
		if !run(p, p.Changes[0].Target.String()) {
			ok = false
		}
	}
	if ok && !last.Empty() && run(last, last.Changes[0].Target.String()) {
		for _, c := range last.Changes {
			delete(rules, c.Target.ID) // deleted: no series left behind
		}
	}
	r.settleDrift(np, rep)
	r.Engine.Metrics.recordRules(rules)
	return applied, errs
}

// settleDrift remembers what was wanted on each target SG that this pass left as wanted
// (see driftTracker); SGs that failed, are over quota or hold revokes back are not.
func (r *NetworkingReconciler) settleDrift(np *NetworkingPlan, rep *networkReport) {
	unsettled := map[string]bool{}
	for k := range rep.fail.sgs {
		unsettled[k[0]] = true
	}
	for _, q := range np.OverQuota {
		unsettled[q.SG] = true
	}
	for sg := range np.Held {
		unsettled[sg] = true
	}
	for sg := range np.Input.Observed {
		if unsettled[sg] {
			r.drift.forget(sg)
			continue
		}
		r.drift.settled(sg, wanted(np.Input, sg))
	}
}

// ruleDelta is how many rules the changes added to their SG, less those they removed.
func ruleDelta(changes []plan.Change) int {
	n := 0
	for _, c := range changes {
		switch c.Op {
		case plan.OpAuthorize:
			n += len(c.Rules)
		case plan.OpRevoke:
			n -= len(c.Rules)
		}
	}
	return n
}

// quotaMessage explains a quota problem to the owner of a load balancer whose new rules
// are held back, with the fix.
func quotaMessage(q plan.OverQuota) string {
	if q.Namespace != "" {
		return fmt.Sprintf("%s; the rules already there are kept, and other namespaces' rules are added. Use fewer source ranges or ports "+
			"in namespace %s (spec.loadBalancerSourceRanges, the source-ranges annotation, spec.networking of TargetGroupBindings), "+
			"or NLBs with security groups, whose source ranges are rules on their own security group; "+
			"the platform team sets the share with --sg-rules-namespace-share", q.String(), q.Namespace)
	}
	if q.SGSourced {
		return fmt.Sprintf("%s; the rules already there are kept. Remove rules lbsg does not manage from %s, "+
			"use the shared backend security group (--enable-backend-security-group) or a lower --target-sg-rule-budget, "+
			"or set --sg-rules-quota to the account's raised quota", q.String(), q.SG)
	}
	return fmt.Sprintf("%s; the rules already there are kept. Use fewer source ranges "+
		"(spec.loadBalancerSourceRanges or the source-ranges annotation), or an NLB with security groups, "+
		"whose source ranges are rules on its own security group", q.String())
}

// networkReport gathers a pass's failures per owner and per target SG.
type networkReport struct {
	msgs map[spec.Owner][]ownerMessage
	fail *passFailures
}

type ownerMessage struct{ event, text string }

func newNetworkReport() *networkReport {
	return &networkReport{msgs: map[spec.Owner][]ownerMessage{}, fail: newPassFailures()}
}

func (rep *networkReport) owner(o spec.Owner, event, reason, text string) {
	rep.fail.owners[[2]string{o.String(), reason}] = true
	for _, m := range rep.msgs[o] {
		if m.text == text {
			return
		}
	}
	rep.msgs[o] = append(rep.msgs[o], ownerMessage{event, text})
}

// report puts every failure on the objects of its owner (an Event when new, the Ready
// condition), clears the condition of the owners that recovered, and sets the metrics.
func (r *NetworkingReconciler) report(ctx context.Context, objs ClusterObjects, rep *networkReport) {
	failing := map[string]bool{}
	for owner, msgs := range rep.msgs {
		seen, _ := r.reported.Load(owner)
		prev, _ := seen.(map[string]bool)
		now := map[string]bool{}
		texts := make([]string, 0, len(msgs))
		for _, m := range msgs {
			now[m.text] = true
			texts = append(texts, m.text)
			if prev[m.text] {
				continue
			}
			for _, o := range r.ownerObjects(objs, owner) {
				r.Recorder.Eventf(o, nil, corev1.EventTypeWarning, m.event, "Reconcile", "%s", m.text)
			}
		}
		r.reported.Store(owner, now)
		for _, o := range r.ownerObjects(objs, owner) {
			failing[objectKey(o)] = true
			if err := r.setTargetRulesCondition(ctx, o, joinMessages(texts)); err != nil {
				log.FromContext(ctx).Error(err, "update condition")
			}
		}
	}
	r.reported.Range(func(k, _ any) bool {
		if _, still := rep.msgs[k.(spec.Owner)]; !still {
			r.reported.Delete(k)
		}
		return true
	})
	r.clearTargetRulesConditions(ctx, objs, failing)
	r.Engine.Metrics.record(rep.fail)
}

// ownerObjects returns the Kubernetes objects of a stack's owner.
func (r *NetworkingReconciler) ownerObjects(objs ClusterObjects, owner spec.Owner) []runtime.Object {
	var out []runtime.Object
	switch owner.Kind {
	case OwnerKindTGB:
		for i := range objs.Bindings {
			if b := &objs.Bindings[i]; b.Namespace == owner.Namespace && b.Name == owner.Name {
				out = append(out, b)
			}
		}
	case "Service":
		for i := range objs.Services {
			s := &objs.Services[i]
			if s.Namespace == owner.Namespace && s.Name == owner.Name {
				out = append(out, s)
			}
		}
	default:
		if g := IngressGroups(objs, r.Engine.GroupRules())[groupIDOf(owner)]; g != nil {
			for _, ing := range g.Objects() {
				out = append(out, ing)
			}
		}
	}
	return out
}

// contributors names, for the audit log, the Services and Ingress groups whose rules land
// on a target SG: the objects its writes serve when a change does not name them itself
// (plan.Change.For, which names only the owners its rules are for).
func contributors(owners []spec.Owner) string {
	if len(owners) == 0 {
		return "target security groups"
	}
	names := make([]string, len(owners))
	for i, o := range owners {
		names[i] = o.String()
	}
	return strings.Join(names, ", ")
}
