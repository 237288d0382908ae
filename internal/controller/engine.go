// Package controller holds the reconcilers that connect Kubernetes objects to the planner:
// observe, plan, apply, then report through Events and status conditions. The decisions
// live in spec, plan and sgrules; this package gathers their inputs and carries out the
// result.
package controller

import (
	"context"
	"fmt"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// Engine gathers what reconcilers and `lbsg plan` share: settings and the AWS boundary.
type Engine struct {
	Settings spec.Settings
	// BackendSGID is the user's --backend-security-group; empty means lbsg manages one.
	BackendSGID string
	// Budget is --target-sg-rule-budget.
	Budget int
	// RuleQuota is --sg-rules-quota; 0 means sgrules.DefaultRulesPerSG.
	RuleQuota int
	// NamespaceShare is the rules one namespace may ask for on one target SG
	// (--sg-rules-namespace-share of RuleQuota); 0 means no limit.
	NamespaceShare int
	// NodePorts is --service-node-port-range (zero: unknown, nothing kept apart), and
	// AllowClientCIDROutsideNodePorts --allow-client-cidr-rules-outside-node-port-range.
	NodePorts                       sgrules.PortRange
	AllowClientCIDROutsideNodePorts bool
	// ENISGTags is --service-target-eni-security-group-tags.
	ENISGTags map[string]string
	// SGSelection is --target-sg-selection; "" is targets.PolicyError.
	SGSelection targets.Policy
	// ExternalManagedTags are tag keys lbsg never removes from the SGs it owns.
	ExternalManagedTags []string
	// Policy decides which references an object may make to what it does not own.
	Policy authz.Policy
	// WatchNamespace is --watch-namespace: lbsg sees only that namespace's objects ("" all).
	WatchNamespace string
	// Classes are the platform's rules about Ingress classes and group names
	// (--ingress-class, --disable-ingress-class-annotation,
	// --disable-ingress-group-name-annotation).
	Classes spec.ClassRules

	EC2  *cloud.Observer
	ELB  *elb.Client
	Exec *apply.Executor
	// Certificates finds the ACM certificates of Ingress hosts (certificate discovery);
	// nil finds none, so an Ingress that needs discovery reports that no certificate
	// matches.
	Certificates CertificateFinder
	// Metrics of the target-SG reconciler; nil records nothing.
	Metrics *NetworkingMetrics

	// gates spaces out the target-health reads of readiness gates (see polls).
	gates *gatePolls
}

// keepTag reports the tag keys lbsg leaves alone when it reconciles tags.
func (e *Engine) keepTag(key string) bool {
	if naming.IsIgnoredTagKey(key, e.Settings.Cluster) {
		return true
	}
	for _, k := range e.ExternalManagedTags {
		if k == key {
			return true
		}
	}
	return false
}

func toState(sg cloud.SecurityGroup) state.SecurityGroup {
	return state.SecurityGroup{ID: sg.ID, Name: sg.Name, Tags: sg.Tags, Ingress: sg.Ingress}
}

func statesOf(sgs []cloud.SecurityGroup) []state.SecurityGroup {
	out := make([]state.SecurityGroup, len(sgs))
	for i, sg := range sgs {
		out[i] = toState(sg)
	}
	return out
}

// backendTags are the tags of the shared backend SG (reference §4).
func (e *Engine) backendTags() map[string]string {
	return naming.MergeTags(map[string]string{
		naming.TagCluster:  e.Settings.Cluster,
		naming.TagResource: naming.BackendSGResourceValue,
	}, e.Settings.DefaultTags)
}

// clusterSGs returns every SG in the VPC that carries the cluster tag: the shared backend
// SG and every stack's managed SG. It is one search, cached and kept current by lbsg's own
// writes, so a reconcile reads no SG when nothing changed and the reads do not grow with
// the number of stacks. fresh bypasses the cache.
func (e *Engine) clusterSGs(ctx context.Context, fresh bool) ([]cloud.SecurityGroup, error) {
	sgs, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.TagCluster: {e.Settings.Cluster}}, fresh)
	if err != nil {
		return nil, fmt.Errorf("find the security groups of cluster %s: %w", e.Settings.Cluster, err)
	}
	return sgs, nil
}

// findBackendSG returns the backend SG lbsg manages for this cluster (nil when there is
// none) among the cluster's SGs, found by its tags and its name, never from process
// memory, so a restart loses nothing. An SG that carries only the tags (they can be copied
// through an annotation) is not it; two that carry everything are an Ambiguity, and lbsg
// then acts on neither.
func (e *Engine) findBackendSG(sgs []cloud.SecurityGroup) (*state.SecurityGroup, error) {
	found, err := plan.RecogniseBackendSG(e.Settings.Cluster, statesOf(sgs))
	if err != nil {
		return nil, fmt.Errorf("find backend security group: %w", err)
	}
	return found, nil
}

// BackendSG returns the backend SG ID, or "" if it does not exist yet.
func (e *Engine) BackendSG(ctx context.Context) (string, error) {
	if e.BackendSGID != "" {
		return e.BackendSGID, nil
	}
	sgs, err := e.clusterSGs(ctx, false)
	if err != nil {
		return "", err
	}
	sg, err := e.findBackendSG(sgs)
	if err != nil || sg == nil {
		return "", err
	}
	return sg.ID, nil
}

// backendSGInput is the shared backend SG as a stack's plan needs it: nil when the user
// names it (--backend-security-group), which lbsg then neither creates nor re-tags.
func (e *Engine) backendSGInput(sgs []cloud.SecurityGroup) (*plan.BackendSGInput, error) {
	if e.BackendSGID != "" {
		return nil, nil
	}
	have, err := e.findBackendSG(sgs)
	if err != nil {
		return nil, err
	}
	return &plan.BackendSGInput{
		Owner: "cluster/" + e.Settings.Cluster,
		Want:  spec.SecurityGroup{Name: naming.BackendSGName(e.Settings.Cluster), Description: naming.BackendSGDescription, Tags: e.backendTags()},
		Have:  have,
		// The Name tag is the console's label, which users may set on the shared SG.
		KeepTag: func(k string) bool { return k == "Name" || naming.IsIgnoredTagKey(k, e.Settings.Cluster) },
	}, nil
}
