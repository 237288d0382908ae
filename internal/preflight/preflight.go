// Package preflight checks a cluster for the hazards of switching from the upstream AWS
// Load Balancer Controller to lbsg. The checks are pure: they read objects the caller
// listed and say, per hazard, OK, WARN or FAIL and what to do.
package preflight

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Status is a check's verdict.
type Status string

const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Result is one check's verdict, what it saw, and what to do about it.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Names upstream's Helm chart gives its objects, and what identifies its controller.
const (
	UpstreamWebhookName    = "aws-load-balancer-webhook"
	UpstreamWebhookService = "aws-load-balancer-webhook-service"
	UpstreamImage          = "aws-load-balancer-controller"
	ALBController          = "ingress.k8s.aws/alb"
	TGBFinalizer           = "elbv2.k8s.aws/resources"
	ParamsGroup            = "elbv2.k8s.aws"
	ParamsKind             = "IngressClassParams"
)

// Object is the identity and finalizers of an object whose schema lbsg does not import
// (a TargetGroupBinding).
type Object struct {
	Namespace, Name string
	Labels          map[string]string
	Finalizers      []string
}

// Access is the outcome of one SelfSubjectAccessReview.
type Access struct {
	Verb, Group, Resource string
	Allowed               bool
	Reason                string
}

// Cluster is what the checks read. A nil list means it was not listed (the check then says
// so); an empty one means there is none.
type Cluster struct {
	ValidatingWebhooks []admissionv1.ValidatingWebhookConfiguration
	MutatingWebhooks   []admissionv1.MutatingWebhookConfiguration
	Deployments        []appsv1.Deployment
	// TGBCRD reports whether the TargetGroupBinding CRD is installed; TargetGroupBindings
	// are its objects.
	TGBCRD              bool
	TargetGroupBindings []Object
	IngressClasses      []networkingv1.IngressClass
	// HelmReleases are the deployed Helm releases' stored manifests; HelmErr says why
	// they could not be read (then the IngressClass check cannot prove anything).
	HelmReleases []HelmRelease
	HelmErr      error
	// LbsgRelease is the Helm release lbsg's chart is (or will be) installed as, which
	// adopts the IngressClass; empty: DefaultLbsgRelease.
	LbsgRelease ReleaseRef
	// ParamsCRD reports whether the IngressClassParams CRD is installed; Params are the
	// names of its objects.
	ParamsCRD bool
	Params    []string
	// Access is nil when the access check was not run.
	Access []Access
	// FlagsErr is config.Validate's verdict on the controller flags.
	FlagsErr error
	// AWSErr is the outcome of a read-only AWS call with the controller flags; AWSChecked
	// false means it was not made.
	AWSChecked bool
	AWSErr     error
	// GroupsChecked says whether the Ingresses were sorted into groups with the controller's
	// rules; Exclusions are the Ingresses those rules keep out of the group they ask for.
	GroupsChecked bool
	Exclusions    []Exclusion
	// Planned says whether every object was planned against AWS with the controller's
	// flags (as `lbsg plan` does); Refusals are what those plans refuse, and PlanErr why
	// planning failed.
	Planned  bool
	Refusals []Refusal
	PlanErr  error
}

// Refusal is an object, or one of its rules, that lbsg would not serve as it is, and why: a
// reference its policy denies, a setting it fails closed on, bad input, a client CIDR rule
// outside the NodePort range.
type Refusal struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

// Exclusion is an Ingress lbsg would not serve in the group it asks for, and why.
type Exclusion struct {
	Ingress string `json:"ingress"`
	Group   string `json:"group"`
	Reason  string `json:"reason"`
}

// Run runs every check, in the order the runbook takes them.
func Run(c Cluster) []Result {
	rs := []Result{Webhooks(c), UpstreamDeployment(c.Deployments), TargetGroupBindings(c.TGBCRD, c.TargetGroupBindings)}
	rs = append(rs, IngressClass(c.IngressClasses, c.HelmReleases, c.HelmErr, c.LbsgRelease))
	rs = append(rs, ClassParams(c.IngressClasses, c.ParamsCRD, c.Params))
	if c.GroupsChecked {
		rs = append(rs, IngressGroups(c.Exclusions))
	}
	if c.Access != nil {
		rs = append(rs, RBAC(c.Access))
	}
	rs = append(rs, Flags(c.FlagsErr))
	if c.AWSChecked {
		rs = append(rs, AWS(c.AWSErr))
	}
	if c.Planned {
		rs = append(rs, Refusals(c.Refusals, c.PlanErr))
	}
	return rs
}

// Failed reports whether any result is a FAIL.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// Write prints the results, one block per check.
func Write(w io.Writer, rs []Result) error {
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "%-4s  %s: %s\n", r.Status, r.Check, r.Message); err != nil {
			return err
		}
		if r.Fix != "" {
			if _, err := fmt.Fprintf(w, "      fix: %s\n", r.Fix); err != nil {
				return err
			}
		}
	}
	return nil
}

// isUpstreamWebhook tells upstream's webhook configurations by the chart's name or by the
// Service they call, so a renamed release is still found.
func isUpstreamWebhook(name string, services []string) bool {
	if strings.Contains(name, UpstreamWebhookName) {
		return true
	}
	for _, s := range services {
		if s == UpstreamWebhookService {
			return true
		}
	}
	return false
}

func serviceNames(cfgs []admissionv1.WebhookClientConfig) []string {
	var out []string
	for _, c := range cfgs {
		if c.Service != nil {
			out = append(out, c.Service.Name)
		}
	}
	return out
}

// Webhooks finds upstream's webhook configurations. Once upstream's Pods are gone, their
// failurePolicy Fail webhooks reject every Pod, Service and Ingress write they match.
func Webhooks(c Cluster) Result {
	r := Result{Check: "upstream webhooks"}
	var names []string
	for _, v := range c.ValidatingWebhooks {
		var cc []admissionv1.WebhookClientConfig
		for _, w := range v.Webhooks {
			cc = append(cc, w.ClientConfig)
		}
		if isUpstreamWebhook(v.Name, serviceNames(cc)) {
			names = append(names, "validatingwebhookconfiguration/"+v.Name)
		}
	}
	for _, m := range c.MutatingWebhooks {
		var cc []admissionv1.WebhookClientConfig
		for _, w := range m.Webhooks {
			cc = append(cc, w.ClientConfig)
		}
		if isUpstreamWebhook(m.Name, serviceNames(cc)) {
			names = append(names, "mutatingwebhookconfiguration/"+m.Name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		r.Status, r.Message = OK, "no webhook configuration of the upstream controller"
		return r
	}
	r.Fix = "delete them once upstream's Deployment is gone (lbsg's chart installs its own, for Pod readiness gates only, under its release's name): kubectl delete " + strings.Join(names, " ")
	if upstreamRunning(c.Deployments) {
		r.Status = Warn
		r.Message = fmt.Sprintf("%s still present; they call upstream's Pods, and once those are gone they block Pod, Service and Ingress writes",
			strings.Join(names, ", "))
		r.Fix = "`helm uninstall` of upstream's release removes them; if you only scale upstream down, " + r.Fix
		return r
	}
	r.Status = Fail
	r.Message = fmt.Sprintf("%s present but upstream's controller is not running: they block Pod, Service and Ingress writes",
		strings.Join(names, ", "))
	return r
}

// isUpstreamDeployment tells upstream's controller by its image, whatever the release name.
func isUpstreamDeployment(d appsv1.Deployment) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		repo := c.Image
		if i := strings.LastIndex(repo, "@"); i >= 0 {
			repo = repo[:i]
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		if strings.HasSuffix(repo, "/"+UpstreamImage) || repo == UpstreamImage {
			return true
		}
	}
	return false
}

func replicas(d appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func upstreamRunning(ds []appsv1.Deployment) bool {
	for _, d := range ds {
		if isUpstreamDeployment(d) && (replicas(d) > 0 || d.Status.Replicas > 0) {
			return true
		}
	}
	return false
}

// UpstreamDeployment finds upstream's controller. Two controllers reconciling the same
// load balancers undo each other's changes, so it must be stopped before lbsg starts.
func UpstreamDeployment(ds []appsv1.Deployment) Result {
	r := Result{Check: "upstream controller"}
	var running, stopped []string
	for _, d := range ds {
		if !isUpstreamDeployment(d) {
			continue
		}
		id := d.Namespace + "/" + d.Name
		if replicas(d) > 0 || d.Status.Replicas > 0 {
			running = append(running, fmt.Sprintf("%s (%d replicas)", id, replicas(d)))
		} else {
			stopped = append(stopped, id)
		}
	}
	switch {
	case len(running) > 0:
		r.Status = Fail
		r.Message = "upstream's Deployment is running: " + strings.Join(running, ", ") + "; it and lbsg must not run side by side"
		r.Fix = "hand the IngressClass over (see below), then `helm uninstall` upstream's release, or scale it to 0 and delete its webhooks, before starting lbsg"
	case len(stopped) > 0:
		r.Status = Warn
		r.Message = "upstream's Deployment is scaled to 0: " + strings.Join(stopped, ", ")
		r.Fix = "fine for the switch; uninstall it once lbsg runs, after handing the IngressClass over (see below)"
	default:
		r.Status, r.Message = OK, "no Deployment runs upstream's image"
	}
	return r
}

// upstreamStackLabels are the labels upstream puts on the TargetGroupBindings it creates
// for a Service's or an Ingress group's target groups.
var upstreamStackLabels = []string{"service.k8s.aws/stack-name", "ingress.k8s.aws/stack-name", "service.k8s.aws/stack", "ingress.k8s.aws/stack"}

func upstreamMade(o Object) bool {
	for _, l := range upstreamStackLabels {
		if _, ok := o.Labels[l]; ok {
			return true
		}
	}
	return false
}

// TargetGroupBindings lists the TargetGroupBindings. lbsg serves a binding a user wrote
// (it registers its Service's targets and keeps upstream's finalizer name), and releases
// and deletes one upstream made for a stack once lbsg serves that Service or Ingress; so
// none blocks the switch, but the check says what will happen to each.
func TargetGroupBindings(crd bool, objs []Object) Result {
	r := Result{Check: "TargetGroupBindings", Status: OK}
	if !crd {
		r.Message = "CRD not installed: nothing to do"
		return r
	}
	if len(objs) == 0 {
		r.Message = "none"
		return r
	}
	var user, upstream []string
	for _, o := range objs {
		id := o.Namespace + "/" + o.Name
		if upstreamMade(o) {
			upstream = append(upstream, id)
		} else {
			user = append(user, id)
		}
	}
	sort.Strings(user)
	sort.Strings(upstream)
	var parts []string
	if len(user) > 0 {
		parts = append(parts, fmt.Sprintf("%d TargetGroupBinding(s) a user wrote (%s): lbsg serves them, registering their Service's targets in their target groups",
			len(user), strings.Join(user, ", ")))
	}
	if len(upstream) > 0 {
		parts = append(parts, fmt.Sprintf("%d made by upstream for a Service or Ingress (%s): lbsg removes their %s finalizer and deletes them once it serves that Service or Ingress, keeping the target groups and targets",
			len(upstream), strings.Join(upstream, ", "), TGBFinalizer))
	}
	r.Message = strings.Join(parts, "; ")
	return r
}

// Helm's ownership marks and its keep policy.
const (
	helmManagedBy        = "app.kubernetes.io/managed-by"
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
	helmResourcePolicy   = "helm.sh/resource-policy"
)

// ReleaseRef names a Helm release.
type ReleaseRef struct{ Namespace, Name string }

func (r ReleaseRef) String() string { return r.Namespace + "/" + r.Name }

// DefaultLbsgRelease is the release the README installs lbsg's chart as.
var DefaultLbsgRelease = ReleaseRef{Namespace: "kube-system", Name: "lbsg"}

// HelmRelease is what a deployed Helm release's stored manifest says about its objects.
type HelmRelease struct {
	ReleaseRef
	// Chart and ChartVersion are the release's chart, e.g. aws-load-balancer-controller 3.5.0.
	Chart, ChartVersion string
	// Deletes are the cluster-scoped and namespaced objects, as "Kind/name", that
	// `helm uninstall` of the release deletes: those in its manifest (items of a List
	// included) without helm.sh/resource-policy: keep in the manifest. Helm reads the
	// policy from the stored manifest only, never from the live object.
	Deletes []string
}

// IngressClass checks the IngressClasses of ingress.k8s.aws/alb and the IngressClassParams
// they refer to. lbsg never deletes a load balancer because its class is missing, but
// Ingresses stop reconciling until it is back, and IngressClassParams that are lost or
// renamed change the load balancers' settings. A deployed Helm release whose manifest holds
// them deletes them on `helm uninstall`, whatever the live objects' annotations say; lbsg's
// chart adopts them only when they carry its release's ownership. OK is said only for the
// state docs/migrate.md's hand-over leads to (TestMigrationKeepsIngressClassWithHelm):
// held by no release that would delete them, and owned by lbsg's release or by none.
func IngressClass(classes []networkingv1.IngressClass, releases []HelmRelease, helmErr error, lbsg ReleaseRef) Result {
	r := Result{Check: "IngressClass"}
	if lbsg.Name == "" {
		lbsg = DefaultLbsgRelease
	}
	var albs []string
	objects := map[string]bool{} // Kind/name of the classes and their parameters
	var live []string            // kubectl arguments, for the fixes
	foreign := map[string]string{}
	for _, c := range classes {
		if c.Spec.Controller != ALBController {
			continue
		}
		albs = append(albs, c.Name)
		objects["IngressClass/"+c.Name] = true
		live = append(live, "ingressclass/"+c.Name)
		if owner := helmOwner(c.Labels, c.Annotations); owner != "" && owner != lbsg.String() {
			foreign["IngressClass/"+c.Name] = owner
		}
		if p := c.Spec.Parameters; p != nil && p.Kind == ParamsKind && p.APIGroup != nil && *p.APIGroup == ParamsGroup {
			objects[ParamsKind+"/"+p.Name] = true
			live = append(live, "ingressclassparams/"+p.Name)
		}
	}
	sort.Strings(albs)
	sort.Strings(live)
	live = slices.Compact(live)
	if len(albs) == 0 {
		r.Status = Warn
		r.Message = "no IngressClass has controller " + ALBController + ": Ingresses of class alb are not reconciled (their load balancers are left as they are)"
		r.Fix = "create it: kubectl apply an IngressClass named alb with spec.controller " + ALBController + " (the lbsg chart does, with createIngressClassResource)"
		return r
	}
	handOver := func(release string, rel *HelmRelease) string {
		upgrade := "helm upgrade " + release + " CHART -n NAMESPACE --reuse-values --version VERSION --set createIngressClassResource=false"
		if rel != nil {
			upgrade = fmt.Sprintf("helm upgrade %s CHART -n %s --reuse-values --version %s --set createIngressClassResource=false (CHART: the %s chart it was installed from, e.g. eks/%s)",
				rel.Name, rel.Namespace, rel.ChartVersion, rel.Chart, rel.Chart)
		}
		return fmt.Sprintf("hand them over as docs/migrate.md step 4 says: kubectl annotate %s %s=keep; then %s; then kubectl annotate --overwrite %s %s=%s %s=%s",
			strings.Join(live, " "), helmResourcePolicy, upgrade, strings.Join(live, " "), helmReleaseName, lbsg.Name, helmReleaseNamespace, lbsg.Namespace)
	}
	if helmErr != nil {
		r.Status = Warn
		r.Message = fmt.Sprintf("IngressClass %s: cannot tell whether a Helm release would delete it (Helm's release records could not be read: %v)", strings.Join(albs, ", "), helmErr)
		r.Fix = "if a Helm release (upstream's chart) created it, " + handOver("RELEASE", nil)
		return r
	}
	for i := range releases {
		rel := &releases[i]
		var doomed []string
		for _, d := range rel.Deletes {
			if objects[d] {
				doomed = append(doomed, d)
			}
		}
		if len(doomed) == 0 {
			continue
		}
		sort.Strings(doomed)
		r.Status = Fail
		r.Message = fmt.Sprintf("the manifest of Helm release %s (chart %s) holds %s without %s: keep, so `helm uninstall` of it deletes them and Ingresses of the class stop reconciling; annotating the live objects does not help, Helm reads the policy from the release's stored manifest",
			rel.ReleaseRef, rel.Chart, strings.Join(doomed, ", "), helmResourcePolicy)
		r.Fix = handOver(rel.Name, rel)
		return r
	}
	if len(foreign) > 0 {
		var owned []string
		for _, k := range slices.Sorted(maps.Keys(foreign)) {
			owned = append(owned, k+" ("+foreign[k]+")")
		}
		r.Status = Warn
		r.Message = fmt.Sprintf("%s survive an uninstall, but carry another Helm release's ownership: installing lbsg's chart as %s with createIngressClassResource fails (invalid ownership metadata)",
			strings.Join(owned, ", "), lbsg)
		r.Fix = fmt.Sprintf("kubectl annotate --overwrite %s %s=%s %s=%s (or install lbsg's chart with createIngressClassResource=false)",
			strings.Join(live, " "), helmReleaseName, lbsg.Name, helmReleaseNamespace, lbsg.Namespace)
		return r
	}
	r.Status, r.Message = OK, "IngressClass "+strings.Join(albs, ", ")+" has controller "+ALBController+"; no Helm release but lbsg's would delete it or its parameters, so it survives an uninstall of upstream"
	return r
}

// helmOwner is the release ("namespace/name") a live object's Helm marks name, or "".
func helmOwner(labels, annotations map[string]string) string {
	if labels[helmManagedBy] != "Helm" || annotations[helmReleaseName] == "" {
		return ""
	}
	return annotations[helmReleaseNamespace] + "/" + annotations[helmReleaseName]
}

// IngressGroups lists the Ingresses lbsg's tenancy and class rules would keep out of the
// group they ask for (another namespace's group, a class whose namespaceSelector refuses
// them, a refused annotation): upstream serves them, lbsg will not, so a migration is never
// surprised.
func IngressGroups(ex []Exclusion) Result {
	r := Result{Check: "Ingress groups"}
	if len(ex) == 0 {
		r.Status, r.Message = OK, "every Ingress may be in the group it asks for"
		return r
	}
	sort.Slice(ex, func(i, j int) bool { return ex[i].Ingress < ex[j].Ingress })
	parts := make([]string, len(ex))
	for i, e := range ex {
		parts[i] = fmt.Sprintf("%s (group %s): %s", e.Ingress, e.Group, e.Reason)
	}
	r.Status = Warn
	r.Message = fmt.Sprintf("%d Ingress(es) would not be served: %s", len(ex), strings.Join(parts, "; "))
	r.Fix = "let the namespace in (a ReferenceGrant in the group's namespace, or IngressClassParams that pin the group and select it), or run lbsg with --ingress-group-namespaces=any; see docs/ingress.md"
	return r
}

// maxRefusalsShown bounds the refusals one line lists; the rest are counted (`lbsg plan`
// lists them all).
const maxRefusalsShown = 20

// Refusals lists what lbsg's plans of the cluster refuse that upstream serves or writes: a
// security group, target group, group or Pod the reference policy denies, a security setting
// lbsg fails closed on, a reserved tag, a client CIDR rule outside the NodePort range, bad
// input. Each would keep its object, or that rule, from being served after the switch.
func Refusals(rs []Refusal, err error) Result {
	r := Result{Check: "Objects lbsg would refuse"}
	if err != nil {
		r.Status, r.Message = Warn, "could not plan the cluster's objects: "+err.Error()
		r.Fix = "run `lbsg plan` with the controller's flags to see what lbsg would do"
		return r
	}
	if len(rs) == 0 {
		r.Status, r.Message = OK, "lbsg would serve every Service, Ingress and TargetGroupBinding as it is"
		return r
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Object+rs[i].Reason < rs[j].Object+rs[j].Reason })
	shown := rs
	if len(shown) > maxRefusalsShown {
		shown = shown[:maxRefusalsShown]
	}
	parts := make([]string, len(shown))
	for i, x := range shown {
		parts[i] = x.Object + ": " + x.Reason
	}
	r.Status = Warn
	r.Message = fmt.Sprintf("%d refusal(s): %s", len(rs), strings.Join(parts, "; "))
	if len(rs) > len(shown) {
		r.Message += fmt.Sprintf("; and %d more (`lbsg plan` lists them all)", len(rs)-len(shown))
	}
	r.Fix = "fix each object as its message says before the switch, or accept that lbsg leaves it (or that rule) as it is; docs/security.md says why each is refused"
	return r
}

// ClassParams checks that the IngressClassParams an IngressClass references can be read.
func ClassParams(classes []networkingv1.IngressClass, crd bool, params []string) Result {
	r := Result{Check: "IngressClassParams"}
	have := map[string]bool{}
	for _, p := range params {
		have[p] = true
	}
	var refs, missing []string
	for _, c := range classes {
		p := c.Spec.Parameters
		if c.Spec.Controller != ALBController || p == nil || p.Kind != ParamsKind || p.APIGroup == nil || *p.APIGroup != ParamsGroup {
			continue
		}
		refs = append(refs, c.Name+" -> "+p.Name)
		if !have[p.Name] {
			missing = append(missing, c.Name+" -> "+p.Name)
		}
	}
	switch {
	case len(refs) == 0:
		r.Status, r.Message = OK, "no IngressClass references IngressClassParams"
	case !crd:
		r.Status = Fail
		r.Message = "IngressClasses reference IngressClassParams (" + strings.Join(refs, ", ") + ") but the CRD is not installed"
		r.Fix = "kubectl apply -f config/crd/elbv2.k8s.aws_ingressclassparams.yaml (upstream's CRD works as is; Helm keeps it on uninstall)"
	case len(missing) > 0:
		r.Status = Warn
		r.Message = "IngressClassParams referenced but missing: " + strings.Join(missing, ", ") + "; Ingresses of those classes are reported invalid"
		r.Fix = "create the IngressClassParams or remove spec.parameters from the class"
	default:
		r.Status, r.Message = OK, "the CRD is installed and every referenced IngressClassParams exists"
	}
	return r
}

// Required is what lbsg's controller reads and writes in Kubernetes.
var Required = []Access{
	{Verb: "list", Resource: "services"}, {Verb: "watch", Resource: "services"}, {Verb: "update", Resource: "services"},
	{Verb: "patch", Resource: "services/status"},
	{Verb: "list", Group: "networking.k8s.io", Resource: "ingresses"}, {Verb: "watch", Group: "networking.k8s.io", Resource: "ingresses"},
	{Verb: "update", Group: "networking.k8s.io", Resource: "ingresses"},
	{Verb: "patch", Group: "networking.k8s.io", Resource: "ingresses/status"},
	{Verb: "list", Group: "networking.k8s.io", Resource: "ingressclasses"},
	{Verb: "list", Group: ParamsGroup, Resource: "ingressclassparams"},
	{Verb: "list", Group: "gateway.networking.k8s.io", Resource: "referencegrants"},
	{Verb: "list", Resource: "nodes"}, {Verb: "list", Resource: "namespaces"}, {Verb: "list", Resource: "pods"},
	{Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices"},
	{Verb: "create", Group: "events.k8s.io", Resource: "events"},
	{Verb: "get", Group: "coordination.k8s.io", Resource: "leases"}, {Verb: "update", Group: "coordination.k8s.io", Resource: "leases"},
}

// RBAC reports the accesses the identity lacks.
func RBAC(as []Access) Result {
	r := Result{Check: "RBAC"}
	var denied []string
	for _, a := range as {
		if !a.Allowed {
			res := a.Resource
			if a.Group != "" {
				res += "." + a.Group
			}
			denied = append(denied, a.Verb+" "+res)
		}
	}
	if len(denied) == 0 {
		r.Status, r.Message = OK, fmt.Sprintf("the identity may do all %d things lbsg needs", len(as))
		return r
	}
	r.Status = Fail
	r.Message = "the identity may not: " + strings.Join(denied, ", ")
	r.Fix = "bind lbsg's ServiceAccount to a ClusterRole that allows them (the chart's), and check it with `lbsg preflight --rbac-as system:serviceaccount:NS:NAME`"
	return r
}

// Flags reports config.Validate's verdict on the controller flags.
func Flags(err error) Result {
	r := Result{Check: "controller flags"}
	if err == nil {
		r.Status, r.Message = OK, "valid"
		return r
	}
	r.Status = Fail
	r.Message = strings.ReplaceAll(err.Error(), "\n", "; ")
	r.Fix = "correct the flags: lbsg controller refuses to start with them"
	return r
}

// AWS reports whether a read-only AWS call with the controller flags succeeded.
func AWS(err error) Result {
	r := Result{Check: "AWS"}
	if err == nil {
		r.Status, r.Message = OK, "read-only calls with the controller flags succeed"
		return r
	}
	r.Status = Fail
	r.Message = err.Error()
	r.Fix = "check the region, VPC, endpoints and the credentials (the IAM policy of `lbsg iam-policy`)"
	return r
}
