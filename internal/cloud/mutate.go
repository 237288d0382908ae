package cloud

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// CreateSecurityGroup creates an SG in the configured VPC, tagged at creation (one call;
// the IAM policy only allows tagging an SG as part of CreateSecurityGroup), and returns its
// ID. InvalidGroup.Duplicate is returned as is (IsGroupDuplicate).
func (o *Observer) CreateSecurityGroup(ctx context.Context, name, description string, tags map[string]string) (string, error) {
	if o.vpcID == "" {
		return "", fmt.Errorf("create security group %s: no VPC ID configured", name)
	}
	in := &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(name),
		Description: aws.String(description),
		VpcId:       aws.String(o.vpcID),
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: sdkTags(tags)}}
	}
	gen := o.sgs.Generation()
	out, err := o.ec2.CreateSecurityGroup(ctx, in)
	if err != nil {
		o.InvalidateSearches() // it may exist after all
		return "", fmt.Errorf("create security group %s in %s: %w", name, o.vpcID, err)
	}
	id := aws.ToString(out.GroupId)
	o.wroteSG(SecurityGroup{ID: id, Name: name, Description: description, VPCID: o.vpcID, Tags: maps.Clone(tags)}, gen)
	return id, nil
}

// DeleteSecurityGroup deletes an SG. An SG that is already gone counts as deleted.
// DependencyViolation is returned as is (IsDependencyViolation) for the caller to requeue.
func (o *Observer) DeleteSecurityGroup(ctx context.Context, id string) error {
	_, err := o.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	if err != nil && !IsNotFound(err) {
		o.Invalidate(id)
		o.InvalidateSearches()
		return fmt.Errorf("delete security group %s: %w", id, err)
	}
	o.deletedSG(id)
	return nil
}

// AuthorizeIngress adds inbound rules to an SG in one call. When ruleTags is non-empty the
// new rules are tagged at creation (resource type security-group-rule), marking the rules
// lbsg owns on shared node SGs; if the IAM policy refuses that, the rules are authorized
// untagged (see RuleTagsDenied).
//
// It is idempotent: if EC2 answers InvalidPermission.Duplicate (the whole call fails when
// one rule exists), the SG is re-read without the cache and only the missing rules are
// authorized, in one more call.
func (o *Observer) AuthorizeIngress(ctx context.Context, sgID string, rules []sgrules.Rule, ruleTags map[string]string) error {
	if len(rules) == 0 {
		return nil
	}
	err := o.authorize(ctx, sgID, rules, ruleTags)
	if IsPermissionDuplicate(err) {
		var missing []sgrules.Rule
		missing, err = o.absentRules(ctx, sgID, rules)
		if err == nil && len(missing) > 0 {
			err = o.authorize(ctx, sgID, missing, ruleTags)
			if IsPermissionDuplicate(err) {
				err = nil // someone else added them meanwhile
			}
		}
	}
	if err != nil {
		return fmt.Errorf("authorize %d ingress rules on security group %s: %w", len(rules), sgID, err)
	}
	return nil
}

// authorize makes one AuthorizeSecurityGroupIngress call (two when rule tags are refused).
//
// Tagging rules at creation needs ec2:CreateTags on security-group-rule/*, which upstream's
// IAM policy does not grant. So that lbsg runs under that policy unchanged, a call with
// rule tags that fails with UnauthorizedOperation is retried once without them, and later
// calls leave them out. Ownership does not depend on the tags (sgrules.OwnedBy reads the
// description); they help people and other tools see which cluster a rule belongs to.
func (o *Observer) authorize(ctx context.Context, sgID string, rules []sgrules.Rule, ruleTags map[string]string) error {
	in := &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sgID), IpPermissions: RulesToSDK(rules)}
	tagged := len(ruleTags) > 0 && !o.ruleTagsDenied.Load()
	if tagged {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroupRule, Tags: sdkTags(ruleTags)}}
	}
	_, err := o.ec2.AuthorizeSecurityGroupIngress(ctx, in)
	if tagged && IsUnauthorized(err) {
		in.TagSpecifications = nil
		if _, err2 := o.ec2.AuthorizeSecurityGroupIngress(ctx, in); !IsUnauthorized(err2) {
			o.ruleTagsDenied.Store(true)
			err = err2
		}
	}
	if err != nil {
		o.invalidateRules(sgID)
		return err
	}
	o.wroteRules(sgID, rules, false)
	return nil
}

// invalidateRules drops what a rule change on sgID makes stale: the SG itself and every
// cached search, since a search may select on rules (SecurityGroupsReferencing).
func (o *Observer) invalidateRules(sgID string) {
	o.Invalidate(sgID)
	o.InvalidateSearches()
}

// RuleTagsDenied reports whether EC2 refused to tag rules (see AuthorizeIngress), so rules
// are being authorized without tags.
func (o *Observer) RuleTagsDenied() bool { return o.ruleTagsDenied.Load() }

// RevokeIngress removes inbound rules from an SG in one call. Rules that do not exist are
// not an error: if EC2 answers InvalidPermission.NotFound (the whole call fails when one
// rule is missing), the SG is re-read without the cache and the rules still present are
// revoked, in one more call, with the descriptions EC2 holds (moto matches SG-sourced rules
// on their description too).
func (o *Observer) RevokeIngress(ctx context.Context, sgID string, rules []sgrules.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	err := o.revoke(ctx, sgID, rules)
	if IsPermissionNotFound(err) {
		var present []sgrules.Rule
		present, err = o.presentRules(ctx, sgID, rules)
		if err == nil && len(present) > 0 {
			err = o.revoke(ctx, sgID, present)
		}
		if IsPermissionNotFound(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("revoke %d ingress rules on security group %s: %w", len(rules), sgID, err)
	}
	return nil
}

func (o *Observer) revoke(ctx context.Context, sgID string, rules []sgrules.Rule) error {
	_, err := o.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(sgID), IpPermissions: RulesToSDK(rules)})
	if err != nil {
		o.invalidateRules(sgID)
		return err
	}
	o.wroteRules(sgID, rules, true)
	return nil
}

// absentRules returns the rules whose key the SG does not hold, from a fresh read.
func (o *Observer) absentRules(ctx context.Context, sgID string, rules []sgrules.Rule) ([]sgrules.Rule, error) {
	current, err := o.currentRules(ctx, sgID)
	if err != nil {
		return nil, err
	}
	var out []sgrules.Rule
	for _, r := range rules {
		if _, ok := current[r.Key.Canonical()]; !ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// presentRules returns the SG's observed rules (observed descriptions) whose keys are
// among rules, from a fresh read.
func (o *Observer) presentRules(ctx context.Context, sgID string, rules []sgrules.Rule) ([]sgrules.Rule, error) {
	current, err := o.currentRules(ctx, sgID)
	if err != nil {
		return nil, err
	}
	var out []sgrules.Rule
	seen := map[sgrules.Key]bool{}
	for _, r := range rules {
		k := r.Key.Canonical()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, current[k]...)
	}
	return out, nil
}

func (o *Observer) currentRules(ctx context.Context, sgID string) (map[sgrules.Key][]sgrules.Rule, error) {
	groups, err := o.SecurityGroups(ctx, []string{sgID}, true)
	if err != nil {
		return nil, err
	}
	g, ok := groups[sgID]
	if !ok {
		return nil, fmt.Errorf("read security group %s: not found", sgID)
	}
	out := map[sgrules.Key][]sgrules.Rule{}
	for _, r := range g.Ingress {
		out[r.Key] = append(out[r.Key], r)
	}
	return out, nil
}

// CreateTags sets tags on a resource (an SG, usually) in one call.
func (o *Observer) CreateTags(ctx context.Context, id string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := o.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: sdkTags(tags)})
	o.Invalidate(id)
	o.InvalidateSearches()
	if err != nil {
		return fmt.Errorf("create tags %v on %s: %w", slices.Sorted(maps.Keys(tags)), id, err)
	}
	return nil
}

// DeleteTags removes tag keys (whatever their values) from a resource in one call. No keys
// means no call: EC2 would delete every tag.
func (o *Observer) DeleteTags(ctx context.Context, id string, keys []string) error {
	keys = dedup(keys)
	if len(keys) == 0 {
		return nil
	}
	tags := make([]ec2types.Tag, len(keys))
	for i, k := range slices.Sorted(slices.Values(keys)) {
		tags[i] = ec2types.Tag{Key: aws.String(k)}
	}
	_, err := o.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: tags})
	o.Invalidate(id)
	o.InvalidateSearches()
	if err != nil {
		return fmt.Errorf("delete tags %v from %s: %w", keys, id, err)
	}
	return nil
}

func sdkTags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
