package awscache

import "time"

// Every cache TTL lbsg uses, with its reason. Caches exist only on the read side; every
// lbsg write invalidates (or writes through) what it changed, and a fresh read bypasses
// them, so a TTL only bounds how long a change made behind lbsg's back goes unseen.
const (
	// SecurityGroupTTL: rules and tags of an SG. Short, because drift (a rule someone else
	// added or removed) should be seen within one verification period, and a revoke is
	// always planned from a fresh read anyway.
	SecurityGroupTTL = 30 * time.Second

	// SearchTTL: SG searches by tag or Name tag (which SGs exist). Same as SGs: another
	// controller or a user may create or delete a matching SG; lbsg's own creates, deletes
	// and tag changes drop every cached search.
	SearchTTL = 30 * time.Second

	// InstanceTTL: an instance and its ENIs (IDs, addresses, groups). Node ENIs and their
	// SGs rarely change after launch, and upstream uses the same 10 minutes.
	InstanceTTL = 10 * time.Minute

	// NetworkInterfaceTTL: ENIs looked up by ID or private IP (ip targets). Same reason as
	// instances; a pod IP that moves to another ENI is a new pod with a new endpoint, which
	// the caller looks up again (and can invalidate).
	NetworkInterfaceTTL = 10 * time.Minute

	// SubnetTTL: subnets by ID, Name tag or role tags. They change only when someone
	// re-tags the VPC, and the LB's subnets are only re-resolved when its spec changes.
	SubnetTTL = 5 * time.Minute

	// VPCTTL: the VPC's CIDR blocks. Associating a CIDR with a VPC is rare, and a late view
	// of a new block only delays rules that use it by this much.
	VPCTTL = 10 * time.Minute

	// InventoryTTL: the lists of load balancers and target groups (with their tags). Plans
	// are made from them, but creates are checked by name right before they happen, and a
	// deletion decision reads them fresh; the TTL bounds how long an NLB deleted in the
	// console goes unnoticed.
	InventoryTTL = 20 * time.Second

	// ListenerTTL: a load balancer's listeners, certificates and rules. Only lbsg is
	// expected to change them; same bound as the inventory for changes made by hand. The
	// controller keeps them for --sync-period when that is longer (elb.NewWithResync):
	// its own writes are written through, and upstream re-checks them at that pace too.
	ListenerTTL = 20 * time.Second

	// TargetTTL: the targets registered in a target group. Registration is lbsg's own
	// write; a target deregistered by hand is registered again within this bound, or
	// within --sync-period when that is longer (as ListenerTTL).
	TargetTTL = 20 * time.Second
)
