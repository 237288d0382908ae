// Package controller holds the reconcilers that connect Kubernetes objects to the planner:
// observe, plan, apply, then report through Events and status conditions. The decisions
// live in spec, plan and sgrules; this package gathers their inputs and carries out the
// result.
package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
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
	// ENISGTags is --service-target-eni-security-group-tags.
	ENISGTags map[string]string
	// ExternalManagedTags are tag keys lbsg never removes from the SGs it owns.
	ExternalManagedTags []string

	EC2  *cloud.Observer
	ELB  *elb.Client
	Exec *apply.Executor
	// Metrics of the target-SG reconciler; nil records nothing.
	Metrics *NetworkingMetrics

	// backendMu serialises creation of the shared backend SG within this process.
	backendMu sync.Mutex
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

// backendTags are the tags of the shared backend SG (reference §4).
func (e *Engine) backendTags() map[string]string {
	return naming.MergeTags(map[string]string{
		naming.TagCluster:  e.Settings.Cluster,
		naming.TagResource: naming.BackendSGResourceValue,
	}, e.Settings.DefaultTags)
}

// findBackendSG returns the backend SG lbsg manages for this cluster (nil when there is
// none), found by its tags and its name, never from process memory, so a restart loses
// nothing. An SG that carries only the tags (they can be copied through an annotation) is
// not it; two that carry everything are an Ambiguity, and lbsg then acts on neither.
func (e *Engine) findBackendSG(ctx context.Context, fresh bool) (*cloud.SecurityGroup, error) {
	sgs, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{
		naming.TagCluster:  {e.Settings.Cluster},
		naming.TagResource: {naming.BackendSGResourceValue},
	}, fresh)
	if err != nil {
		return nil, fmt.Errorf("find backend security group: %w", err)
	}
	states := make([]state.SecurityGroup, len(sgs))
	for i, sg := range sgs {
		states[i] = toState(sg)
	}
	found, err := plan.RecogniseBackendSG(e.Settings.Cluster, states)
	if err != nil || found == nil {
		return nil, err
	}
	for i := range sgs {
		if sgs[i].ID == found.ID {
			return &sgs[i], nil
		}
	}
	return nil, nil
}

// BackendSG returns the backend SG ID, or "" if it does not exist yet.
func (e *Engine) BackendSG(ctx context.Context) (string, error) {
	if e.BackendSGID != "" {
		return e.BackendSGID, nil
	}
	sg, err := e.findBackendSG(ctx, false)
	if err != nil || sg == nil {
		return "", err
	}
	return sg.ID, nil
}

// EnsureBackendSG returns the backend SG ID, creating the SG when it does not exist and
// reconciling its tags when it does.
func (e *Engine) EnsureBackendSG(ctx context.Context) (string, error) {
	if e.BackendSGID != "" {
		return e.BackendSGID, nil
	}
	e.backendMu.Lock()
	defer e.backendMu.Unlock()
	sg, err := e.findBackendSG(ctx, false)
	if err != nil {
		return "", err
	}
	want := e.backendTags()
	if sg != nil {
		var add = map[string]string{}
		for k, v := range want {
			if sg.Tags[k] != v {
				add[k] = v
			}
		}
		var remove []string
		for k := range sg.Tags {
			if _, ok := want[k]; !ok && !naming.IsIgnoredTagKey(k, e.Settings.Cluster) && k != "Name" {
				remove = append(remove, k)
			}
		}
		sort.Strings(remove)
		if len(add) > 0 {
			if err := e.EC2.CreateTags(ctx, sg.ID, add); err != nil {
				return "", fmt.Errorf("tag backend security group: %w", err)
			}
		}
		if len(remove) > 0 {
			if err := e.EC2.DeleteTags(ctx, sg.ID, remove); err != nil {
				return "", fmt.Errorf("untag backend security group: %w", err)
			}
		}
		return sg.ID, nil
	}
	name := naming.BackendSGName(e.Settings.Cluster)
	id, err := e.EC2.CreateSecurityGroup(ctx, name, naming.BackendSGDescription, want)
	if cloud.IsGroupDuplicate(err) {
		// Another controller process created it between our read and our write.
		if sg, ferr := e.findBackendSG(ctx, true); ferr == nil && sg != nil {
			return sg.ID, nil
		}
		return "", fmt.Errorf("create backend security group: a security group named %s exists in VPC %s without the tags %s=%s and %s=%s; lbsg does not adopt it: tag it or delete it: %w",
			name, e.EC2.VPCID(), naming.TagCluster, e.Settings.Cluster, naming.TagResource, naming.BackendSGResourceValue, err)
	}
	if err != nil {
		return "", fmt.Errorf("create backend security group: %w", err)
	}
	return id, nil
}
