package localenv

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Tag keys and values of an EKS cluster's resources, as the upstream controller and lbsg
// read them.
const (
	ClusterTagPrefix = "kubernetes.io/cluster/"
	ELBRoleTag       = "kubernetes.io/role/elb"
	// WorldLabel is put on every Node object SeedWorld creates; its value is the cluster.
	// SeedWorld deletes labelled Nodes of a previous world (the same cluster name) it did
	// not create.
	WorldLabel = "localenv.lbsg.io/cluster"

	// DefaultCluster is the cluster name SeedWorld uses when WorldOptions.Cluster is empty.
	DefaultCluster = "lbsg-local"
	// VPCCIDR is the IPv4 CIDR of the seeded VPC.
	VPCCIDR = "10.0.0.0/16"
	// NodeInstanceType is the EC2 instance type of every node.
	NodeInstanceType = "t3.medium"
)

// ClusterTagKey returns "kubernetes.io/cluster/<cluster>".
func ClusterTagKey(cluster string) string { return ClusterTagPrefix + cluster }

// ProviderID returns the providerID the AWS cloud provider gives a node: aws:///<az>/<instance-id>.
func ProviderID(az, instanceID string) string { return "aws:///" + az + "/" + instanceID }

// NodeName returns the name EKS gives the node with this private IPv4 address in Region:
// ip-10-0-1-23.us-west-2.compute.internal.
func NodeName(privateIP string) string {
	return "ip-" + strings.ReplaceAll(privateIP, ".", "-") + "." + Region + ".compute.internal"
}

// WorldOptions configure SeedWorld.
type WorldOptions struct {
	// Cluster is the cluster's name (default DefaultCluster).
	Cluster string
	// Nodes is the number of nodes (default 2).
	Nodes int
	// ExtraNodeSG also attaches a second, untagged SG (World.ExtraSGID) to every node ENI,
	// so that the node SG has to be selected by its cluster tag (DESIGN §5.3).
	ExtraNodeSG bool
}

// World is what a real EKS cluster in AWS looks like, seeded into moto and the control plane.
type World struct {
	Cluster, Region, VPCID, VPCCIDR string
	// VPCIPv6CIDR is the VPC's Amazon-provided IPv6 block ("" if moto gave none).
	VPCIPv6CIDR string
	// Subnets are two subnets in us-west-2a and us-west-2b, tagged kubernetes.io/role/elb=1
	// and kubernetes.io/cluster/<cluster>=shared.
	Subnets []Subnet
	// NodeSGID is the node security group, tagged kubernetes.io/cluster/<cluster>=owned and
	// Name=<cluster>-node.
	NodeSGID string
	// ExtraSGID is the second, untagged (Name tag only) SG on every node ENI; "" unless
	// WorldOptions.ExtraNodeSG.
	ExtraSGID string
	// ImageID is the AMI every node runs.
	ImageID string
	// Nodes has one EC2 instance per node, alternating subnets.
	Nodes []Node
}

// Subnet is one of the world's subnets.
type Subnet struct {
	ID, AZ, CIDR string
	// IPv6CIDR is the subnet's IPv6 /64 ("" when the VPC has no IPv6 block).
	IPv6CIDR string
}

// Node is one node: an EC2 instance and its Node object.
type Node struct {
	Name, InstanceID, AZ, PrivateIP, ENIID string
	SubnetID                               string
}

// ProviderID returns the node's spec.providerID.
func (n Node) ProviderID() string { return ProviderID(n.AZ, n.InstanceID) }

// SeedWorld creates an EKS-like cluster's AWS resources in moto (VPC, two subnets, the node
// SG, one instance per node) and one Ready Node object per instance in Kubernetes. Call it on
// a fresh moto (after Reset); Node objects of a previous world with the same cluster name
// are replaced.
func SeedWorld(ctx context.Context, cfg aws.Config, k8s client.Client, opts WorldOptions) (*World, error) {
	if opts.Cluster == "" {
		opts.Cluster = DefaultCluster
	}
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Nodes < 0 {
		return nil, fmt.Errorf("seeding world: Nodes is %d, want >= 0", opts.Nodes)
	}
	c := opts.Cluster
	w := &World{Cluster: c, Region: Region, VPCCIDR: VPCCIDR}
	e := ec2.NewFromConfig(cfg)

	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		return nil, fmt.Errorf("seeding world: DescribeImages: %w", err)
	}
	if len(imgs.Images) == 0 || imgs.Images[0].ImageId == nil {
		return nil, errors.New("seeding world: DescribeImages (owner amazon) returned no image to run nodes from")
	}
	w.ImageID = *imgs.Images[0].ImageId

	vpcTags := tagSpec(ec2types.ResourceTypeVpc, map[string]string{"Name": c, ClusterTagKey(c): "owned"})
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:                   aws.String(VPCCIDR),
		AmazonProvidedIpv6CidrBlock: aws.Bool(true),
		TagSpecifications:           vpcTags,
	})
	if err != nil {
		return nil, fmt.Errorf("seeding world: CreateVpc: %w", err)
	}
	w.VPCID = aws.ToString(vpc.Vpc.VpcId)
	for _, a := range vpc.Vpc.Ipv6CidrBlockAssociationSet {
		if a.Ipv6CidrBlock != nil && *a.Ipv6CidrBlock != "" {
			w.VPCIPv6CIDR = *a.Ipv6CidrBlock
			break
		}
	}

	for i, az := range []string{Region + "a", Region + "b"} {
		cidr := fmt.Sprintf("10.0.%d.0/24", i+1)
		in := &ec2.CreateSubnetInput{
			VpcId:            aws.String(w.VPCID),
			CidrBlock:        aws.String(cidr),
			AvailabilityZone: aws.String(az),
			TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, map[string]string{
				"Name":           fmt.Sprintf("%s-public-%s", c, az),
				ELBRoleTag:       "1",
				ClusterTagKey(c): "shared",
			}),
		}
		v6 := subnetIPv6(w.VPCIPv6CIDR, i+1)
		if v6 != "" {
			in.Ipv6CidrBlock = aws.String(v6)
		}
		sn, err := e.CreateSubnet(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("seeding world: CreateSubnet %s in %s: %w", cidr, az, err)
		}
		w.Subnets = append(w.Subnets, Subnet{ID: aws.ToString(sn.Subnet.SubnetId), AZ: az, CIDR: cidr, IPv6CIDR: v6})
	}

	w.NodeSGID, err = createSG(ctx, e, w.VPCID, c+"-node", "EKS node security group of "+c,
		map[string]string{"Name": c + "-node", ClusterTagKey(c): "owned"})
	if err != nil {
		return nil, fmt.Errorf("seeding world: %w", err)
	}
	if opts.ExtraNodeSG {
		w.ExtraSGID, err = createSG(ctx, e, w.VPCID, c+"-extra", "a second, untagged SG on the nodes of "+c,
			map[string]string{"Name": c + "-extra"})
		if err != nil {
			return nil, fmt.Errorf("seeding world: %w", err)
		}
	}

	for i := 0; i < opts.Nodes; i++ {
		n, err := w.runInstance(ctx, e, i)
		if err != nil {
			return nil, fmt.Errorf("seeding world: %w", err)
		}
		w.Nodes = append(w.Nodes, n)
	}

	if err := w.pruneNodeObjects(ctx, k8s); err != nil {
		return nil, fmt.Errorf("seeding world: %w", err)
	}
	for _, n := range w.Nodes {
		if err := w.putNodeObject(ctx, k8s, n); err != nil {
			return nil, fmt.Errorf("seeding world: %w", err)
		}
	}
	return w, nil
}

// AddNode starts one more instance (in the next subnet in turn) and creates its Node object.
func (w *World) AddNode(ctx context.Context, cfg aws.Config, k8s client.Client) (Node, error) {
	n, err := w.runInstance(ctx, ec2.NewFromConfig(cfg), len(w.Nodes))
	if err != nil {
		return Node{}, err
	}
	if err := w.putNodeObject(ctx, k8s, n); err != nil {
		return Node{}, err
	}
	w.Nodes = append(w.Nodes, n)
	return n, nil
}

// DeleteNode terminates the named node's instance and deletes its Node object.
func (w *World) DeleteNode(ctx context.Context, cfg aws.Config, k8s client.Client, name string) error {
	i := slices.IndexFunc(w.Nodes, func(n Node) bool { return n.Name == name })
	if i < 0 {
		return fmt.Errorf("deleting node %s: not in the world", name)
	}
	n := w.Nodes[i]
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{
		InstanceIds: []string{n.InstanceID},
	}); err != nil {
		return fmt.Errorf("deleting node %s: TerminateInstances %s: %w", name, n.InstanceID, err)
	}
	obj := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting node %s: %w", name, err)
	}
	w.Nodes = slices.Delete(w.Nodes, i, i+1)
	return nil
}

// NodeSGs returns the SGs every node ENI is in: NodeSGID, then ExtraSGID if set.
func (w *World) NodeSGs() []string {
	sgs := []string{w.NodeSGID}
	if w.ExtraSGID != "" {
		sgs = append(sgs, w.ExtraSGID)
	}
	return sgs
}

// ENIGroups returns the IDs of the SGs an ENI is in, read with DescribeNetworkInterfaces
// (moto's DescribeInstances keeps showing an instance's groups from before any
// ModifyNetworkInterfaceAttribute).
func ENIGroups(ctx context.Context, e *ec2.Client, eniID string) ([]string, error) {
	out, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		NetworkInterfaceIds: []string{eniID},
	})
	if err != nil {
		return nil, fmt.Errorf("DescribeNetworkInterfaces %s: %w", eniID, err)
	}
	if len(out.NetworkInterfaces) != 1 {
		return nil, fmt.Errorf("DescribeNetworkInterfaces %s: %d interfaces returned, want 1", eniID, len(out.NetworkInterfaces))
	}
	var ids []string
	for _, g := range out.NetworkInterfaces[0].Groups {
		ids = append(ids, aws.ToString(g.GroupId))
	}
	return ids, nil
}

func (w *World) runInstance(ctx context.Context, e *ec2.Client, i int) (Node, error) {
	if len(w.Subnets) == 0 {
		return Node{}, errors.New("running a node instance: the world has no subnets")
	}
	sn := w.Subnets[i%len(w.Subnets)]
	out, err := e.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId:          aws.String(w.ImageID),
		InstanceType:     ec2types.InstanceType(NodeInstanceType),
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		SubnetId:         aws.String(sn.ID),
		SecurityGroupIds: []string{w.NodeSGID},
		TagSpecifications: tagSpec(ec2types.ResourceTypeInstance, map[string]string{
			"Name":                   fmt.Sprintf("%s-node-%d", w.Cluster, i),
			ClusterTagKey(w.Cluster): "owned",
		}),
	})
	if err != nil {
		return Node{}, fmt.Errorf("RunInstances in %s: %w", sn.ID, err)
	}
	if len(out.Instances) != 1 {
		return Node{}, fmt.Errorf("RunInstances in %s: %d instances returned, want 1", sn.ID, len(out.Instances))
	}
	inst := out.Instances[0]
	n := Node{
		InstanceID: aws.ToString(inst.InstanceId),
		AZ:         sn.AZ,
		SubnetID:   sn.ID,
		PrivateIP:  aws.ToString(inst.PrivateIpAddress),
	}
	for _, ni := range inst.NetworkInterfaces {
		if n.ENIID == "" || (ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0) {
			n.ENIID = aws.ToString(ni.NetworkInterfaceId)
		}
	}
	if n.ENIID == "" {
		enis, err := e.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
			Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{n.InstanceID}}},
		})
		if err != nil {
			return Node{}, fmt.Errorf("DescribeNetworkInterfaces of %s: %w", n.InstanceID, err)
		}
		if len(enis.NetworkInterfaces) == 0 {
			return Node{}, fmt.Errorf("instance %s has no network interface", n.InstanceID)
		}
		n.ENIID = aws.ToString(enis.NetworkInterfaces[0].NetworkInterfaceId)
	}
	if n.InstanceID == "" || n.PrivateIP == "" {
		return Node{}, fmt.Errorf("RunInstances in %s returned an instance without ID or private IP", sn.ID)
	}
	n.Name = NodeName(n.PrivateIP)
	if w.ExtraSGID != "" {
		if _, err := e.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: aws.String(n.ENIID),
			Groups:             w.NodeSGs(),
		}); err != nil {
			return Node{}, fmt.Errorf("adding %s to ENI %s: %w", w.ExtraSGID, n.ENIID, err)
		}
	}
	return n, nil
}

// pruneNodeObjects deletes the Node objects of an earlier world of this cluster.
func (w *World) pruneNodeObjects(ctx context.Context, k8s client.Client) error {
	var list corev1.NodeList
	if err := k8s.List(ctx, &list, client.MatchingLabels{WorldLabel: w.Cluster}); err != nil {
		return fmt.Errorf("listing Nodes of cluster %s: %w", w.Cluster, err)
	}
	for i := range list.Items {
		if err := k8s.Delete(ctx, &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Node %s of an earlier world: %w", list.Items[i].Name, err)
		}
	}
	return nil
}

// putNodeObject creates the Node object of n (replacing one of the same name, whose
// providerID cannot be changed) and marks it Ready through the status subresource.
func (w *World) putNodeObject(ctx context.Context, k8s client.Client, n Node) error {
	obj := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name,
			Labels: map[string]string{
				"kubernetes.io/hostname":           n.Name,
				"kubernetes.io/os":                 "linux",
				"kubernetes.io/arch":               "amd64",
				"topology.kubernetes.io/zone":      n.AZ,
				"topology.kubernetes.io/region":    w.Region,
				"node.kubernetes.io/instance-type": NodeInstanceType,
				WorldLabel:                         w.Cluster,
			},
		},
		Spec: corev1.NodeSpec{ProviderID: n.ProviderID()},
	}
	err := k8s.Create(ctx, obj)
	if apierrors.IsAlreadyExists(err) {
		old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}
		if err := k8s.Delete(ctx, old); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replacing Node %s: %w", n.Name, err)
		}
		err = k8s.Create(ctx, obj)
	}
	if err != nil {
		return fmt.Errorf("creating Node %s: %w", n.Name, err)
	}
	now := metav1.NewTime(time.Now())
	obj.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{
			Type:               corev1.NodeReady,
			Status:             corev1.ConditionTrue,
			Reason:             "KubeletReady",
			Message:            "kubelet is posting ready status",
			LastHeartbeatTime:  now,
			LastTransitionTime: now,
		}},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.PrivateIP},
			{Type: corev1.NodeHostName, Address: n.Name},
			{Type: corev1.NodeInternalDNS, Address: n.Name},
		},
	}
	if err := k8s.Status().Update(ctx, obj); err != nil {
		return fmt.Errorf("marking Node %s Ready: %w", n.Name, err)
	}
	return nil
}

func createSG(ctx context.Context, e *ec2.Client, vpcID, name, desc string, tags map[string]string) (string, error) {
	out, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         aws.String(name),
		Description:       aws.String(desc),
		VpcId:             aws.String(vpcID),
		TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, tags),
	})
	if err != nil {
		return "", fmt.Errorf("CreateSecurityGroup %s: %w", name, err)
	}
	return aws.ToString(out.GroupId), nil
}

func tagSpec(rt ec2types.ResourceType, tags map[string]string) []ec2types.TagSpecification {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ts := ec2types.TagSpecification{ResourceType: rt}
	for _, k := range keys {
		ts.Tags = append(ts.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return []ec2types.TagSpecification{ts}
}

// subnetIPv6 returns the i-th /64 of an IPv6 /56 (or shorter) block, "" if block is not one.
func subnetIPv6(block string, i int) string {
	p, err := netip.ParsePrefix(block)
	if err != nil || !p.Addr().Is6() || p.Bits() > 56 || i < 0 || i > 255 {
		return ""
	}
	b := p.Masked().Addr().As16()
	b[7] = byte(i)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64).String()
}
