package apply

import (
	"context"
	"fmt"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/state"
)

// replan stops a plan whose create found the resource already there, created for the same
// stack by a concurrent reconcile (or another lbsg process). The resource is adopted, not
// duplicated; the remaining changes were planned as if it did not exist, so the stack is
// planned again from a fresh view, at the work queue's first backoff step.
func replan(kind, name, id string) error {
	return &RetryError{Err: fmt.Errorf("%s %s (%s) was created by a concurrent reconcile; adopted it, planning again", kind, name, id)}
}

// createSG creates an SG. Names are unique per VPC: when the name is taken, the SG of that
// name that carries every tag of the create (read fresh, one call) is the stack's, created
// concurrently, and is adopted; any other is a conflict and nothing is adopted. The
// cluster's shared backend SG is adopted when it carries the backend SG's identity tags.
func (x *Executor) createSG(ctx context.Context, c plan.Change, res *Result) error {
	id, err := x.EC2.CreateSecurityGroup(ctx, c.SG.Name, c.SG.Description, c.SG.Tags)
	if err == nil {
		res.IDs[c.Target.Key] = id
		return nil
	}
	if !cloud.IsGroupDuplicate(err) || len(c.SG.Tags) == 0 {
		return err
	}
	shared := c.Target.Key == plan.KeyBackendSG
	filters := make(map[string][]string, len(c.SG.Tags))
	for k, v := range c.SG.Tags {
		// The shared backend SG is found by its identity alone: its other tags (the
		// default tags) may have changed since another process created it, and the
		// next plan re-tags it.
		if !shared || naming.IsTrackingTagKey(k) {
			filters[k] = []string{v}
		}
	}
	found, ferr := x.EC2.FindSecurityGroups(ctx, filters, true)
	if ferr != nil {
		return fmt.Errorf("%w (and looking for it by its tags: %v)", err, ferr)
	}
	var same []cloud.SecurityGroup
	for _, g := range found {
		full := !shared || plan.IsBackendSG(c.SG.Tags[naming.TagCluster], state.SecurityGroup{ID: g.ID, Name: g.Name, Tags: g.Tags})
		if g.Name == c.SG.Name && full {
			same = append(same, g)
		}
	}
	if len(same) != 1 {
		return fmt.Errorf("%w: a security group named %s exists without this stack's tags; lbsg neither adopts nor duplicates it: delete or rename it", err, c.SG.Name)
	}
	res.IDs[c.Target.Key] = same[0].ID
	if shared {
		// Another reconcile created the cluster's backend SG first. The changes that use
		// it refer to it by its key, which now resolves to it: nothing to plan again.
		return nil
	}
	return replan("security group", c.SG.Name, same[0].ID)
}
