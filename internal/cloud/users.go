package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// SGUsers is what keeps a security group from being deleted: AWS refuses to delete an SG
// that another SG's rule refers to or that a network interface uses.
type SGUsers struct {
	// ReferencedBy are the other SGs with an inbound rule whose source is the SG, sorted.
	ReferencedBy []string
	// Interfaces are the network interfaces that use the SG, sorted by ID.
	Interfaces []InterfaceUse
}

// InterfaceUse is a network interface that uses an SG. Description is AWS's, which names
// the owner of a load balancer's interfaces ("ELB net/<name>/<id>").
type InterfaceUse struct {
	ID, Description string
}

// None reports whether nothing holds the SG.
func (u SGUsers) None() bool { return len(u.ReferencedBy) == 0 && len(u.Interfaces) == 0 }

// Explain says what holds sgID and what clears it, in one sentence per kind of user:
// "security group sg-a is still referenced by a rule of sg-b; remove that rule". It is ""
// when nothing holds it.
func (u SGUsers) Explain(sgID string) string {
	var parts []string
	switch n := len(u.ReferencedBy); {
	case n == 1:
		parts = append(parts, fmt.Sprintf("security group %s is still referenced by a rule of %s; remove that rule", sgID, u.ReferencedBy[0]))
	case n > 1:
		parts = append(parts, fmt.Sprintf("security group %s is still referenced by rules of %s; remove those rules", sgID, strings.Join(u.ReferencedBy, ", ")))
	}
	if len(u.Interfaces) > 0 {
		names := make([]string, len(u.Interfaces))
		lb := false
		for i, e := range u.Interfaces {
			names[i] = e.ID
			if e.Description != "" {
				names[i] += " (" + e.Description + ")"
			}
			lb = lb || strings.HasPrefix(e.Description, "ELB ")
		}
		fix := "detach it from them"
		if lb {
			fix = "a deleted load balancer's interfaces go away within minutes; otherwise detach it"
		}
		parts = append(parts, fmt.Sprintf("security group %s is still attached to network interface(s) %s; %s", sgID, strings.Join(names, ", "), fix))
	}
	return strings.Join(parts, "; ")
}

// SecurityGroupUsers reads, without the cache, what still holds an SG: rules of other SGs
// in the VPC and network interfaces. A rule of the SG that refers to itself does not hold
// it.
func (o *Observer) SecurityGroupUsers(ctx context.Context, sgID string) (SGUsers, error) {
	var u SGUsers
	refs, err := o.SecurityGroupsReferencing(ctx, []string{sgID}, true)
	if err != nil {
		return u, err
	}
	for _, g := range refs {
		if g.ID != sgID {
			u.ReferencedBy = append(u.ReferencedBy, g.ID)
		}
	}
	p := ec2.NewDescribeNetworkInterfacesPaginator(o.ec2, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter("group-id", sgID)}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return u, fmt.Errorf("describe network interfaces that use %s: %w", sgID, err)
		}
		for _, ni := range page.NetworkInterfaces {
			u.Interfaces = append(u.Interfaces, InterfaceUse{ID: aws.ToString(ni.NetworkInterfaceId), Description: aws.ToString(ni.Description)})
		}
	}
	slices.SortFunc(u.Interfaces, func(a, b InterfaceUse) int { return strings.Compare(a.ID, b.ID) })
	return u, nil
}
