package e2e

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// otherVPC creates a second VPC with the cluster VPC's CIDR, a subnet and an SG in it.
func (h *harness) otherVPC() (vpcID, subnetID, sgID string) {
	h.t.Helper()
	v, err := h.ec2.CreateVpc(h.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(h.world.VPCCIDR)})
	if err != nil {
		h.t.Fatal(err)
	}
	vpcID = aws.ToString(v.Vpc.VpcId)
	s, err := h.ec2.CreateSubnet(h.ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		h.t.Fatal(err)
	}
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("elsewhere"),
		Description: aws.String("elsewhere"), VpcId: aws.String(vpcID)})
	if err != nil {
		h.t.Fatal(err)
	}
	return vpcID, aws.ToString(s.Subnet.SubnetId), aws.ToString(g.GroupId)
}

// Regression for §1 case 15 (an SG of another VPC): a security-groups annotation naming
// an SG of another VPC is bad input, named with the SG, its VPC and the cluster's VPC,
// before anything is created, for a Service and for an Ingress.
func TestSecurityGroupOfAnotherVPCIsBadInput(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	otherVPC, _, otherSG := h.otherVPC()
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(webserver("other-vpc", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-security-groups": otherSG}))
	h.create(backendService("ing-svc", 30082, nil))
	h.create(ingress("other-vpc-ing", "ing-svc", map[string]string{ingSGs: otherSG, ingScheme: internetFacing}))
	h.waitEvent("other-vpc", controller.EventFailedBuildModel, otherSG+" is in VPC "+otherVPC+", not in the cluster's VPC "+h.world.VPCID)
	h.waitEvent("other-vpc", controller.EventFailedBuildModel, "service.beta.kubernetes.io/aws-load-balancer-security-groups")
	h.waitIngressEvent("other-vpc-ing", controller.EventFailedBuildModel, otherSG+" is in VPC "+otherVPC)
	h.waitIngressEvent("other-vpc-ing", controller.EventFailedBuildModel, ingSGs)
	h.quiesce()
	if lbs := h.loadBalancers(); len(lbs) > 0 {
		t.Errorf("%d load balancers created", len(lbs))
	}
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] != "" {
			t.Errorf("security group %s created", g.Name)
		}
	}
}

// A Pod whose IP is held by an ENI of another VPC (same CIDR) gets no rule on that ENI's
// SG: pod ENIs are looked up in the cluster's VPC only.
func TestPodIPOfAnotherVPCOpensNothingThere(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	_, subnet, otherSG := h.otherVPC()
	ni, err := h.ec2.CreateNetworkInterface(h.ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnet), Groups: []string{otherSG}})
	if err != nil {
		t.Fatal(err)
	}
	ip := aws.ToString(ni.NetworkInterface.PrivateIpAddress)
	h.startController()
	svc := webserver("far", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(svc)
	h.pod("far-pod", svc.Spec.Selector, []string{ip})
	h.sliceOf("far", "far-1", discoveryv1.Endpoint{Addresses: []string{ip}, TargetRef: podRef("far-pod")})
	h.waitHostname("far")
	h.waitEvent("far", controller.EventFailedNetwork, ip)
	time.Sleep(2 * time.Second)
	h.quiesce()
	g, err := h.ec2.DescribeSecurityGroups(h.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{otherSG}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.SecurityGroups[0].IpPermissions); n != 0 {
		t.Errorf("the other VPC's SG %s got %d rules", otherSG, n)
	}
}
