package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// TGBFinalizer is the finalizer of a TargetGroupBinding, upstream's name: a binding
// upstream served keeps working, and its finalizer is released by whichever controller
// serves it.
const TGBFinalizer = "elbv2.k8s.aws/resources"

// Event reasons of TargetGroupBindings.
const (
	// EventTGBRefused: lbsg does not register targets in the binding's target group.
	EventTGBRefused = "TargetGroupBindingRefused"
	// EventTGBAdopted: an upstream binding of a stack lbsg now serves was released.
	EventTGBAdopted = "TargetGroupBindingAdopted"
	// EventTGBRecordIgnored: the binding's registered-targets annotation names targets
	// lbsg cannot vouch it registered for this binding; none of them is deregistered.
	EventTGBRecordIgnored = "RegisteredTargetsRecordIgnored"
)

// TGBRequest is the work item of the TargetGroupBinding reconciler: one binding.
type TGBRequest struct {
	Namespace, Name string
}

func tgbRequestOf(o client.Object) TGBRequest {
	return TGBRequest{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// TargetGroupBindingReconciler registers the endpoints of a Service in a target group
// made outside Kubernetes, and releases the bindings upstream made for stacks lbsg now
// serves.
type TargetGroupBindingReconciler struct {
	Client   client.Client
	Engine   *Engine
	Recorder events.EventRecorder
	// Resync is how often a binding is re-read against AWS to repair drift.
	Resync time.Duration
	// Notify asks the target-SG reconciler for a pass (the binding's rules changed).
	Notify func()
}

// Reconcile serves one binding.
func (r *TargetGroupBindingReconciler) Reconcile(ctx context.Context, req TGBRequest) (ctrl.Result, error) {
	ctx = audit.WithObject(ctx, "TargetGroupBinding "+req.Namespace+"/"+req.Name)
	b := &elbv2api.TargetGroupBinding{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Name}, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if st := upstreamStackOf(b); st != nil {
		return r.adopt(ctx, b, *st)
	}
	if b.DeletionTimestamp != nil {
		return ctrl.Result{}, r.finalize(ctx, b)
	}
	return r.reconcileNormal(ctx, b)
}

// refuse reports why lbsg leaves the binding's target group alone.
func (r *TargetGroupBindingReconciler) refuse(b *elbv2api.TargetGroupBinding, format string, args ...any) {
	r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, EventTGBRefused, "Reconcile", format, args...)
}

// ignoreRecord reports targets of the binding's record that lbsg does not deregister.
func (r *TargetGroupBindingReconciler) ignoreRecord(b *elbv2api.TargetGroupBinding, format string, args ...any) {
	r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, EventTGBRecordIgnored, "Reconcile", format, args...)
}

// checkTargetGroup returns why lbsg must not register targets in tg for b, or "": what
// the target group is (its VPC and target type). Whose it is the reference authorizer
// decides (authorizeTargetGroup).
func (r *TargetGroupBindingReconciler) checkTargetGroup(b *elbv2api.TargetGroupBinding, tg elb.BoundTargetGroup) string {
	vpc := r.Engine.Exec.VPCID
	if tg.VPCID != vpc {
		return fmt.Sprintf("target group %s is in VPC %s, not the cluster's VPC %s; lbsg registers targets only in target groups of the cluster's VPC (fix spec.targetGroupARN)", tg.ARN, tg.VPCID, vpc)
	}
	if b.Spec.VpcID != "" && b.Spec.VpcID != vpc {
		return fmt.Sprintf("spec.vpcID %q is not the cluster's VPC %s (fix spec.vpcID or remove it)", b.Spec.VpcID, vpc)
	}
	switch tg.TargetType {
	case elbv2api.TargetTypeInstance, elbv2api.TargetTypeIP:
	default:
		return fmt.Sprintf("target group %s has target type %q; a binding registers only instance or ip targets", tg.ARN, tg.TargetType)
	}
	if t := b.Spec.TargetType; t != nil && *t != tg.TargetType {
		return fmt.Sprintf("spec.targetType %q does not match target group %s, whose target type is %q (fix spec.targetType or remove it)", *t, tg.ARN, tg.TargetType)
	}
	if t := b.Spec.IPAddressType; t != nil && *t != elbv2api.IPAddressTypeIPv4 {
		return fmt.Sprintf("spec.ipAddressType %q is not supported: lbsg registers IPv4 targets only (set ipv4 or remove it)", *t)
	}
	return ""
}

func (r *TargetGroupBindingReconciler) reconcileNormal(ctx context.Context, b *elbv2api.TargetGroupBinding) (ctrl.Result, error) {
	e := r.Engine
	arn := b.Spec.TargetGroupARN
	tg, err := e.ELB.BoundTargetGroup(ctx, arn)
	if errors.Is(err, elb.ErrTargetGroupNotFound) {
		r.refuse(b, "target group %s does not exist (fix spec.targetGroupARN)", arn)
		return ctrl.Result{RequeueAfter: r.Resync}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if why := r.checkTargetGroup(b, tg); why != "" {
		r.refuse(b, "%s", why)
		return ctrl.Result{}, nil
	}
	// Whose the target group is comes first: nothing of it, and nothing the binding's
	// record names, is touched before the reference authorizer says it is the binding's.
	tags, err := e.ownerTags(ctx, r.Client, b, tg)
	if err != nil {
		return ctrl.Result{}, err
	}
	if d := e.authorizeTargetGroup(b, arn, tags); d != nil {
		r.refuse(b, "%s; lbsg registers and deregisters nothing for this binding", d.Error())
		return ctrl.Result{}, nil
	}
	rec, err := decodeTracked(b.Annotations[TGBTargetsAnnotation])
	if err != nil {
		r.ignoreRecord(b, "%s; lbsg will deregister none of the targets it lists (remove the annotation)", err.Error())
		rec = trackedTargets{}
	}
	if rec.ARN != "" && rec.ARN != arn {
		// The record is of another target group (spec.targetGroupARN changed, where the
		// CRD does not forbid it): take lbsg's targets out of it, if it was this binding's.
		if err := r.release(ctx, b, rec.ARN, rec); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.record(ctx, b, trackedTargets{}); err != nil {
			return ctrl.Result{}, err
		}
		rec = trackedTargets{}
	}
	var untrusted []state.Target
	if !e.vouched(b, tg, rec) {
		untrusted, rec = rec.Targets, trackedTargets{}
	}
	if !controllerutil.ContainsFinalizer(b, TGBFinalizer) {
		patch := client.MergeFrom(b.DeepCopy())
		controllerutil.AddFinalizer(b, TGBFinalizer)
		if err := r.Client.Patch(ctx, b, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	if n := b.Spec.Networking; n != nil {
		// Named ports are checked by the target-SG pass, which knows the target Pods.
		for _, p := range bindingRules(n, func(string) []int32 { return []int32{1} }).problems {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, EventTGBInvalidNetworking, "Reconcile", "%s; this entry is not applied, the others are", p)
		}
	}
	want, objs, problem, err := r.desiredTargets(ctx, b, tg.TargetType)
	if err != nil {
		return ctrl.Result{}, err
	}
	if problem != "" {
		// Missing configuration never deregisters anything.
		r.refuse(b, "%s", problem)
		return ctrl.Result{RequeueAfter: r.Resync}, nil
	}
	have, err := e.ELB.Targets(ctx, arn)
	if err != nil {
		return ctrl.Result{}, err
	}
	if _, kept := targetsDiff(want, have, untrusted); len(kept) > 0 {
		r.ignoreRecord(b, "annotation %s lists %d registered target(s) that are no longer targets (%s), but lbsg did not record them for this binding in %s (the annotation was copied, edited or written by an older lbsg): lbsg deregisters none of them (deregister them by hand if they are yours), and keeps its own record from now on",
			TGBTargetsAnnotation, len(kept), targetList(kept, 3), arn)
	}
	register, deregister := targetsDiff(want, have, rec.Targets)
	pre := trackedTargets{ARN: arn, Targets: stillTracked(want, have, rec.Targets)}
	next := trackedTargets{ARN: arn, Targets: want}
	if err := r.write(ctx, b, tg, tags, objs, rec, pre, next, register, deregister); err != nil {
		if errors.Is(err, errDenied) {
			r.refuse(b, "%s; nothing was changed", err.Error())
			return ctrl.Result{RequeueAfter: r.Resync}, nil
		}
		return ctrl.Result{}, r.failed(ctx, b, err)
	}
	if len(register)+len(deregister) > 0 {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, EventSuccessfullyDeploy, "Reconcile",
			"registered %d and deregistered %d targets in %s", len(register), len(deregister), arn)
	}
	if g := b.Generation; b.Status.ObservedGeneration == nil || *b.Status.ObservedGeneration != g {
		patch := client.MergeFrom(b.DeepCopy())
		b.Status.ObservedGeneration = &g
		if err := r.Client.Status().Patch(ctx, b, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("update status: %w", err)
		}
	}
	var gates []gatedGroup
	if tg.TargetType == elbv2api.TargetTypeIP {
		gates = []gatedGroup{{gate: b.Name, namespace: b.Namespace, arn: arn}}
	}
	return e.afterGates(ctx, r.Client, gates, r.Resync)
}

// write makes a binding's target group hold want: one plan, checked as a whole, then
// applied in steps. The claim and the seal of the records to come are written first (one
// AddTags, only when they change); then the record of what is or may be registered (pre),
// the registrations and deregistrations, and the record of what is (next). Whatever step
// fails, the record on the binding is one the seal vouches for.
func (r *TargetGroupBindingReconciler) write(ctx context.Context, b *elbv2api.TargetGroupBinding, tg elb.BoundTargetGroup, tags map[string]string,
	objs ClusterObjects, rec, pre, next trackedTargets, register, deregister []state.Target) error {
	e := r.Engine
	cluster := e.Settings.Cluster
	self, sealKey := e.claimOf(b), naming.RegisteredTagKey(cluster)
	digest := func(t trackedTargets) string { return recordDigest(cluster, b.Namespace, b.Name, t) }
	changes := len(register)+len(deregister) > 0
	ref := plan.Ref{Kind: plan.KindTargetGroup, ID: tg.ARN}
	var claim, targets []plan.Change
	if tg.Tags[self.Key] != self.Value || !sealed(tg.Tags[sealKey], digest(next)) || (changes && !sealed(tg.Tags[sealKey], digest(pre))) {
		var keep string
		if len(rec.Targets) > 0 {
			keep = digest(rec)
		}
		claim = append(claim, plan.Change{Op: plan.OpTag, Phase: plan.PhaseTargetGroups, Target: ref,
			Tags:   map[string]string{self.Key: self.Value, sealKey: sealValue(keep, digest(pre), digest(next))},
			Reason: "claim the target group for TargetGroupBinding " + self.Value + " and seal its registered-targets record"})
	}
	if len(register) > 0 {
		targets = append(targets, plan.Change{Op: plan.OpRegister, Phase: plan.PhaseTargets, Target: ref, Targets: register,
			Reason: fmt.Sprintf("register %d target(s) of TargetGroupBinding %s", len(register), self.Value)})
	}
	if len(deregister) > 0 {
		targets = append(targets, plan.Change{Op: plan.OpDeregister, Phase: plan.PhaseTargets, Target: ref, Targets: deregister,
			Reason: fmt.Sprintf("deregister %d target(s) TargetGroupBinding %s registered and no longer has", len(deregister), self.Value)})
	}
	if len(claim)+len(targets) == 0 {
		return r.record(ctx, b, next)
	}
	err := e.applyChecked(ctx, b, tg.ARN, tags, objs, [][]plan.Change{claim, targets}, func(int) error {
		if !changes {
			return nil
		}
		return r.record(ctx, b, pre)
	})
	if err != nil {
		return err
	}
	return r.record(ctx, b, next)
}

func (r *TargetGroupBindingReconciler) failed(ctx context.Context, b *elbv2api.TargetGroupBinding, err error) error {
	if !shuttingDown(ctx, err) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, EventFailedDeploy, "Reconcile", "%s", err.Error())
	}
	return err
}

// record writes the tracked targets to the binding when they changed.
func (r *TargetGroupBindingReconciler) record(ctx context.Context, b *elbv2api.TargetGroupBinding, t trackedTargets) error {
	v := encodeTracked(t)
	if b.Annotations[TGBTargetsAnnotation] == v {
		return nil
	}
	patch := client.MergeFrom(b.DeepCopy())
	if v == "" {
		delete(b.Annotations, TGBTargetsAnnotation)
	} else {
		if b.Annotations == nil {
			b.Annotations = map[string]string{}
		}
		b.Annotations[TGBTargetsAnnotation] = v
	}
	if err := r.Client.Patch(ctx, b, patch); err != nil {
		return fmt.Errorf("record registered targets: %w", err)
	}
	return nil
}

// release lets go of target group arn for b: it deregisters the targets of rec that are
// still there when the target group's seal vouches for rec, and removes b's claim and
// seal, after the same checks as a registration. A target group that is not b's (another
// binding's or stack's) is left as it is, and so is one that no longer exists.
func (r *TargetGroupBindingReconciler) release(ctx context.Context, b *elbv2api.TargetGroupBinding, arn string, rec trackedTargets) error {
	e := r.Engine
	tg, err := e.ELB.BoundTargetGroup(ctx, arn)
	if elb.IsTargetGroupNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	tags, err := e.ownerTags(ctx, r.Client, b, tg)
	if err != nil {
		return err
	}
	if d := e.authorizeTargetGroup(b, arn, tags); d != nil {
		if len(rec.Targets) > 0 {
			r.ignoreRecord(b, "%s; lbsg deregisters none of the %d target(s) annotation %s lists there", d.Error(), len(rec.Targets), TGBTargetsAnnotation)
		}
		return nil
	}
	var gone []state.Target
	switch {
	case len(rec.Targets) == 0:
	case e.vouched(b, tg, rec):
		have, err := e.ELB.Targets(ctx, arn)
		if elb.IsTargetGroupNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		_, gone = targetsDiff(nil, have, rec.Targets)
	default:
		r.ignoreRecord(b, "annotation %s lists %d target(s) that lbsg did not record for this binding in %s (the annotation was copied, edited or written by an older lbsg): lbsg deregisters none of them",
			TGBTargetsAnnotation, len(rec.Targets), arn)
	}
	self, sealKey := e.claimOf(b), naming.RegisteredTagKey(e.Settings.Cluster)
	ref := plan.Ref{Kind: plan.KindTargetGroup, ID: arn}
	var changes []plan.Change
	if len(gone) > 0 {
		changes = append(changes, plan.Change{Op: plan.OpDeregister, Phase: plan.PhaseTargets, Target: ref, Targets: gone,
			Reason: fmt.Sprintf("deregister the %d target(s) TargetGroupBinding %s registered", len(gone), self.Value)})
	}
	if tg.Tags[self.Key] == self.Value {
		changes = append(changes, plan.Change{Op: plan.OpTag, Phase: plan.PhaseDeleteTGs, Target: ref, Untag: []string{self.Key, sealKey},
			Reason: "release the target group's claim by TargetGroupBinding " + self.Value})
	}
	err = e.applyChecked(ctx, b, arn, tags, ClusterObjects{}, [][]plan.Change{changes}, nil)
	if elb.IsTargetGroupNotFound(err) {
		return nil
	}
	return err
}

// finalize deregisters the targets lbsg registered, and nothing else of the target
// group, releases the target group, then the binding.
func (r *TargetGroupBindingReconciler) finalize(ctx context.Context, b *elbv2api.TargetGroupBinding) error {
	if !controllerutil.ContainsFinalizer(b, TGBFinalizer) {
		return nil
	}
	rec, err := decodeTracked(b.Annotations[TGBTargetsAnnotation])
	if err != nil {
		r.ignoreRecord(b, "%s; no target is deregistered", err.Error())
		rec = trackedTargets{}
	}
	arns := []string{b.Spec.TargetGroupARN}
	if rec.ARN != "" && rec.ARN != b.Spec.TargetGroupARN {
		arns = append([]string{rec.ARN}, arns...)
	}
	for _, arn := range arns {
		t := rec
		if arn != rec.ARN {
			t = trackedTargets{}
		}
		if err := r.release(ctx, b, arn, t); err != nil {
			if errors.Is(err, errDenied) {
				r.refuse(b, "%s; the finalizer is kept", err.Error())
			} else {
				r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, EventFailedCleanup, "Cleanup", "%s", err.Error())
			}
			return err
		}
	}
	patch := client.MergeFrom(b.DeepCopy())
	controllerutil.RemoveFinalizer(b, TGBFinalizer)
	if err := r.Client.Patch(ctx, b, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	if r.Notify != nil && b.Spec.Networking != nil {
		r.Notify()
	}
	return nil
}

// bindingPort returns the Service port a binding names, by number or by name.
func bindingPort(svc *corev1.Service, ref intstr.IntOrString) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (ref.Type == intstr.Int && p.Port == ref.IntVal) || (ref.Type == intstr.String && p.Name == ref.StrVal) {
			return p
		}
	}
	return nil
}

// bindingNodes are the nodes a binding of an instance target group has: the eligible ones
// its spec.nodeSelector selects. problem says why the selector cannot be used.
func bindingNodes(b *elbv2api.TargetGroupBinding, nodes []corev1.Node) (out []corev1.Node, problem string) {
	candidates := nodes
	if sel := b.Spec.NodeSelector; sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, fmt.Sprintf("spec.nodeSelector: %v; targets are left as they are (fix the selector)", err)
		}
		candidates = nil
		for _, n := range nodes {
			if s.Matches(labels.Set(n.Labels)) {
				candidates = append(candidates, n)
			}
		}
	}
	return eligibleNodes(candidates, nil), ""
}

// bindingTargetGroup is the ip target group a binding fills from its Service's port, as
// podTargets reads it.
func bindingTargetGroup(b *elbv2api.TargetGroupBinding, svc *corev1.Service, port *corev1.ServicePort) spec.TargetGroup {
	return spec.TargetGroup{Name: b.Name, TargetType: spec.TargetIP, ServiceNamespace: svc.Namespace, ServiceName: svc.Name, ServicePortName: port.Name}
}

// desiredTargets computes the binding's targets with the code the load balancers' own
// target groups use, and returns the objects they were computed from. A problem (Service
// or port missing, no NodePort, bad node selector) is returned as a message, and then
// nothing changes in AWS.
func (r *TargetGroupBindingReconciler) desiredTargets(ctx context.Context, b *elbv2api.TargetGroupBinding, targetType string) ([]state.Target, ClusterObjects, string, error) {
	var objs ClusterObjects
	ref := b.Spec.ServiceRef
	svc := &corev1.Service{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: ref.Name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, objs, fmt.Sprintf("spec.serviceRef.name: Service %s/%s does not exist; targets are left as they are (create the Service or fix the name)", b.Namespace, ref.Name), nil
		}
		return nil, objs, "", fmt.Errorf("get service: %w", err)
	}
	port := bindingPort(svc, ref.Port)
	if port == nil {
		return nil, objs, fmt.Sprintf("spec.serviceRef.port: Service %s/%s has no port %s; targets are left as they are (name one of its ports)", svc.Namespace, svc.Name, ref.Port.String()), nil
	}
	nodes := &corev1.NodeList{}
	if err := r.Client.List(ctx, nodes); err != nil {
		return nil, objs, "", fmt.Errorf("list nodes: %w", err)
	}
	objs.Services, objs.Nodes = []corev1.Service{*svc}, nodes.Items
	if targetType == elbv2api.TargetTypeInstance {
		if port.NodePort == 0 {
			return nil, objs, fmt.Sprintf("Service %s/%s port %s has no NodePort, which instance targets need; targets are left as they are (make the Service NodePort or LoadBalancer, or bind an ip target group)", svc.Namespace, svc.Name, ref.Port.String()), nil
		}
		eligible, problem := bindingNodes(b, nodes.Items)
		if problem != "" {
			return nil, objs, problem, nil
		}
		var out []state.Target
		for _, n := range eligible {
			id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID)
			if err != nil {
				continue
			}
			out = append(out, state.Target{ID: id, Port: port.NodePort})
		}
		return out, objs, "", nil
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := r.Client.List(ctx, slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return nil, objs, "", fmt.Errorf("list endpoint slices: %w", err)
	}
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(svc.Namespace)); err != nil {
		return nil, objs, "", fmt.Errorf("list pods: %w", err)
	}
	holders, err := podsWithIPs(ctx, r.Client, sliceAddresses(slices.Items))
	if err != nil {
		return nil, objs, "", err
	}
	objs.Slices, objs.Pods, objs.IPHolders = slices.Items, pods.Items, holders
	out, skipped := podTargets(bindingTargetGroup(b, svc, port), objs)
	for _, n := range skippedNotices(map[string][]targets.Skipped{svc.Namespace + "/" + svc.Name: skipped}) {
		if len(skipped) > 0 {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, n.Reason, "Reconcile", "%s", n.Message)
		}
	}
	return out, objs, "", nil
}

// upstreamStack is the load balancer stack an upstream-made binding serves, from the
// labels upstream puts on the bindings it creates.
type upstreamStack struct {
	Kind      string // "Service" or "Ingress"
	Namespace string
	Name      string // Service or Ingress name (implicit group)
	Group     string // explicit Ingress group
}

// Labels upstream puts on the TargetGroupBindings of its stacks.
const (
	upstreamSvcStackNamespace = "service.k8s.aws/stack-namespace"
	upstreamSvcStackName      = "service.k8s.aws/stack-name"
	upstreamIngStackNamespace = "ingress.k8s.aws/stack-namespace"
	upstreamIngStackName      = "ingress.k8s.aws/stack-name"
	upstreamIngStack          = "ingress.k8s.aws/stack"
)

func upstreamStackOf(b *elbv2api.TargetGroupBinding) *upstreamStack {
	l := b.Labels
	switch {
	case l[upstreamSvcStackName] != "":
		ns := l[upstreamSvcStackNamespace]
		if ns == "" {
			ns = b.Namespace
		}
		return &upstreamStack{Kind: "Service", Namespace: ns, Name: l[upstreamSvcStackName]}
	case l[upstreamIngStackName] != "":
		ns := l[upstreamIngStackNamespace]
		if ns == "" {
			ns = b.Namespace
		}
		return &upstreamStack{Kind: "Ingress", Namespace: ns, Name: l[upstreamIngStackName]}
	case l[upstreamIngStack] != "":
		return &upstreamStack{Kind: "Ingress", Group: l[upstreamIngStack]}
	}
	return nil
}

// stackTag is the tag the stack's resources carry.
func (s upstreamStack) stackTag() (key, value string) {
	switch {
	case s.Kind == "Service":
		return naming.ServiceStackTag, naming.ServiceStackID(s.Namespace, s.Name)
	case s.Group != "":
		return naming.IngressStackTag, s.Group
	}
	return naming.IngressStackTag, s.Namespace + "/" + s.Name
}

func (s upstreamStack) String() string {
	if s.Group != "" {
		return "Ingress group " + s.Group
	}
	return s.Kind + " " + s.Namespace + "/" + s.Name
}

// adopt releases an upstream binding once lbsg serves its stack: lbsg's finalizer is on
// the Service or Ingress and lbsg's Ready condition is true there, so the load balancer,
// its target groups and targets are lbsg's. The binding is then deleted after its finalizer
// is removed, so that no controller deregisters the targets lbsg now keeps.
func (r *TargetGroupBindingReconciler) adopt(ctx context.Context, b *elbv2api.TargetGroupBinding, st upstreamStack) (ctrl.Result, error) {
	serves, err := r.servesStack(ctx, st)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !serves {
		// Upstream may still serve it; try again later.
		return ctrl.Result{RequeueAfter: r.Resync}, nil
	}
	// The labels are only what the binding says; the target group's tags, which lbsg's
	// stack now owns, must agree before the binding is let go.
	tg, err := r.Engine.ELB.BoundTargetGroup(ctx, b.Spec.TargetGroupARN)
	if err != nil && !errors.Is(err, elb.ErrTargetGroupNotFound) {
		return ctrl.Result{}, err
	}
	if err == nil {
		key, value := st.stackTag()
		if tg.Tags[naming.TagCluster] != r.Engine.Settings.Cluster || tg.Tags[key] != value {
			r.refuse(b, "labelled as upstream's binding of %s, but target group %s is not tagged %s=%s and %s=%s; lbsg leaves this binding alone (remove the labels if it is yours)",
				st.String(), b.Spec.TargetGroupARN, naming.TagCluster, r.Engine.Settings.Cluster, key, value)
			return ctrl.Result{}, nil
		}
	}
	if controllerutil.ContainsFinalizer(b, TGBFinalizer) {
		patch := client.MergeFrom(b.DeepCopy())
		controllerutil.RemoveFinalizer(b, TGBFinalizer)
		if err := r.Client.Patch(ctx, b, patch); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("release upstream binding: %w", err))
		}
	}
	if b.DeletionTimestamp == nil {
		if err := r.Client.Delete(ctx, b); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("delete upstream binding: %w", err)
		}
	}
	log.FromContext(ctx).Info("released upstream TargetGroupBinding", "stack", st.String())
	r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, EventTGBAdopted, "Adopt",
		"%s is served by lbsg: this binding upstream made for it is released and deleted; its target group and targets are kept", st.String())
	return ctrl.Result{}, nil
}

// servesStack reports whether lbsg has taken over an upstream stack.
func (r *TargetGroupBindingReconciler) servesStack(ctx context.Context, st upstreamStack) (bool, error) {
	if st.Kind == "Service" {
		svc := &corev1.Service{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Name}, svc); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return spec.OwnsService(svc, r.Engine.Settings) && hasFinalizer(svc, naming.ServiceFinalizer) &&
			conditionTrue(svc.Status.Conditions), nil
	}
	if st.Group == "" {
		ing := &networkingv1.Ingress{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: st.Namespace, Name: st.Name}, ing); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return hasFinalizer(ing, naming.IngressFinalizer) && ingressReady(ing), nil
	}
	list := &networkingv1.IngressList{}
	if err := r.Client.List(ctx, list); err != nil {
		return false, fmt.Errorf("list ingresses: %w", err)
	}
	f := naming.IngressGroupFinalizer(st.Group)
	for i := range list.Items {
		if ing := &list.Items[i]; hasFinalizer(ing, f) && ingressReady(ing) {
			return true, nil
		}
	}
	return false, nil
}

func ingressReady(ing *networkingv1.Ingress) bool {
	c := IngressCondition(ing)
	return c != nil && c.Status == metav1.ConditionTrue
}

func conditionTrue(cs []metav1.Condition) bool {
	for _, c := range cs {
		if c.Type == ConditionReady {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

// bindingsOfService are the bindings of a namespace whose serviceRef names the Service, or
// that upstream made for its stack.
func bindingsOfService(ctx context.Context, c client.Reader, namespace, name string) []TGBRequest {
	list := &elbv2api.TargetGroupBindingList{}
	if err := c.List(ctx, list); err != nil {
		return nil
	}
	var out []TGBRequest
	for i := range list.Items {
		b := &list.Items[i]
		st := upstreamStackOf(b)
		if (b.Namespace == namespace && b.Spec.ServiceRef.Name == name && st == nil) ||
			(st != nil && st.Kind == "Service" && st.Namespace == namespace && st.Name == name) {
			out = append(out, tgbRequestOf(b))
		}
	}
	return out
}

// bindingsWhere lists the bindings a predicate keeps.
func bindingsWhere(ctx context.Context, c client.Reader, keep func(*elbv2api.TargetGroupBinding) bool) []TGBRequest {
	list := &elbv2api.TargetGroupBindingList{}
	if err := c.List(ctx, list); err != nil {
		return nil
	}
	var out []TGBRequest
	for i := range list.Items {
		if keep(&list.Items[i]) {
			out = append(out, tgbRequestOf(&list.Items[i]))
		}
	}
	return out
}

// isUpstreamIngressBinding reports a binding upstream made for an Ingress stack.
func isUpstreamIngressBinding(b *elbv2api.TargetGroupBinding) bool {
	st := upstreamStackOf(b)
	return st != nil && st.Kind == "Ingress"
}
