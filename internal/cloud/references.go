package cloud

import (
	"context"
	"slices"
	"strings"
)

// SecurityGroupsReferencing returns the SGs in the VPC with an inbound rule whose source is
// one of ids (filter ip-permission.group-id), sorted by ID. lbsg uses it to find every rule
// that still points at an SG it owns, also after a restart, before it deletes that SG or
// forgets about a target SG.
func (o *Observer) SecurityGroupsReferencing(ctx context.Context, ids []string, fresh bool) ([]SecurityGroup, error) {
	ids = slices.Sorted(slices.Values(dedup(ids)))
	if len(ids) == 0 {
		return nil, nil
	}
	var all []SecurityGroup
	for chunk := range slices.Chunk(ids, maxFilterValuesVPC) {
		key := refsSearchPrefix + strings.Join(chunk, "\x01")
		groups, err := o.search(ctx, key, append(o.vpcFilters(), filter("ip-permission.group-id", chunk...)), fresh)
		if err != nil {
			return nil, err
		}
		all = append(all, groups...)
	}
	slices.SortFunc(all, func(a, b SecurityGroup) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(all, func(a, b SecurityGroup) bool { return a.ID == b.ID }), nil
}
