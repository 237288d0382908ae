package localenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestLocalEnv starts moto and a control plane, seeds a world and checks it from both sides.
// A missing part fails the test with the message saying how to get it.
func TestLocalEnv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := time.Now()
	moto, err := StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := moto.Close(); err != nil {
			t.Errorf("closing moto: %v", err)
		}
	})
	t.Logf("moto started in %s at %s", time.Since(start).Round(time.Millisecond), moto.Endpoint)

	start = time.Now()
	cp, err := StartControlPlane(ctx, ControlPlaneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	t.Logf("control plane started in %s at %s", time.Since(start).Round(time.Millisecond), cp.Config.Host)

	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(cfg)

	t.Run("Kubeconfig", func(t *testing.T) {
		rc, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(rc, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ns corev1.Namespace
		if err := c.Get(ctx, client.ObjectKey{Name: "default"}, &ns); err != nil {
			t.Fatalf("reading namespace default through %s: %v", cp.Kubeconfig, err)
		}
	})

	t.Run("AWSConfig", func(t *testing.T) {
		if cfg.Region != "us-west-2" || aws.ToString(cfg.BaseEndpoint) != moto.Endpoint {
			t.Errorf("region %q endpoint %q, want us-west-2 and %s", cfg.Region, aws.ToString(cfg.BaseEndpoint), moto.Endpoint)
		}
		if n := cfg.Retryer().MaxAttempts(); n != MotoMaxAttempts {
			t.Errorf("retryer makes %d attempts, want %d", n, MotoMaxAttempts)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil || creds.AccessKeyID != "test" || creds.SecretAccessKey != "test" {
			t.Errorf("credentials %q/%q (%v), want test/test", creds.AccessKeyID, creds.SecretAccessKey, err)
		}
		// ELBv2 is served on the same endpoint.
		if _, err := elasticloadbalancingv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx,
			&elasticloadbalancingv2.DescribeLoadBalancersInput{}); err != nil {
			t.Errorf("ELBv2 DescribeLoadBalancers: %v", err)
		}
	})

	var w *World
	t.Run("SeedWorld", func(t *testing.T) {
		start := time.Now()
		w, err = SeedWorld(ctx, cfg, cp.Client, WorldOptions{Cluster: "test", Nodes: 3, ExtraNodeSG: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("world seeded in %s: VPC %s (%s, IPv6 %q)", time.Since(start).Round(time.Millisecond), w.VPCID, w.VPCCIDR, w.VPCIPv6CIDR)
		checkWorld(ctx, t, e, cp.Client, w)
	})
	if w == nil {
		t.FailNow()
	}

	t.Run("AddAndDeleteNode", func(t *testing.T) {
		n, err := w.AddNode(ctx, cfg, cp.Client)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Nodes) != 4 || n.AZ != w.Subnets[1].AZ {
			t.Errorf("after AddNode: %d nodes, new one in %s; want 4 and %s", len(w.Nodes), n.AZ, w.Subnets[1].AZ)
		}
		checkWorld(ctx, t, e, cp.Client, w)
		if err := w.DeleteNode(ctx, cfg, cp.Client, n.Name); err != nil {
			t.Fatal(err)
		}
		var obj corev1.Node
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: n.Name}, &obj); err == nil {
			t.Errorf("Node %s still exists after DeleteNode", n.Name)
		}
		out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{n.InstanceID}})
		if err != nil {
			t.Fatal(err)
		}
		if st := out.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameTerminated &&
			st != ec2types.InstanceStateNameShuttingDown {
			t.Errorf("instance %s is %s after DeleteNode", n.InstanceID, st)
		}
	})

	t.Run("ResetAndReseed", func(t *testing.T) {
		if err := moto.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{w.VPCID}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidVpcID.NotFound" {
			t.Fatalf("DescribeVpcs %s after Reset: %v, want InvalidVpcID.NotFound", w.VPCID, err)
		}
		// A second world on the fresh moto replaces the first one's Node objects.
		w2, err := SeedWorld(ctx, cfg, cp.Client, WorldOptions{Cluster: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if w2.ExtraSGID != "" {
			t.Errorf("ExtraSGID = %q without ExtraNodeSG", w2.ExtraSGID)
		}
		checkWorld(ctx, t, e, cp.Client, w2)
	})

	t.Run("Close", func(t *testing.T) {
		m, err := StartMoto(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(m.LogPath)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("moto's temp dir %s still there after Close (%v)", dir, err)
		}
		if err := m.Reset(ctx); err == nil {
			t.Errorf("moto at %s still answers after Close", m.Endpoint)
		}
		// The other server is untouched.
		if err := moto.Reset(ctx); err != nil {
			t.Errorf("closing one moto disturbed another: %v", err)
		}
	})
}

// checkWorld asserts through the SDK and the Kubernetes API that w exists as described.
func checkWorld(ctx context.Context, t *testing.T, e *ec2.Client, k8s client.Client, w *World) {
	t.Helper()
	tagsOf := func(tags []ec2types.Tag) map[string]string {
		m := map[string]string{}
		for _, tg := range tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	clusterTag := ClusterTagKey(w.Cluster)

	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{w.VPCID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.0.0.0/16" {
		t.Errorf("VPC %s: %+v, want one with CIDR 10.0.0.0/16", w.VPCID, vpcs.Vpcs)
	}

	if len(w.Subnets) != 2 {
		t.Fatalf("%d subnets, want 2", len(w.Subnets))
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{w.VPCID}},
			{Name: aws.String("tag:" + ELBRoleTag), Values: []string{"1"}},
			{Name: aws.String("tag:" + clusterTag), Values: []string{"shared"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	azs := map[string]string{}
	for _, s := range subnets.Subnets {
		azs[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
	}
	for i, want := range []string{"us-west-2a", "us-west-2b"} {
		s := w.Subnets[i]
		if s.AZ != want || azs[s.ID] != want {
			t.Errorf("subnet %d %s: AZ %q in World, %q in moto (tag-filtered); want %s", i, s.ID, s.AZ, azs[s.ID], want)
		}
	}

	sgs, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{w.VPCID}},
			{Name: aws.String("tag:" + clusterTag), Values: []string{"owned"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sgs.SecurityGroups) != 1 || aws.ToString(sgs.SecurityGroups[0].GroupId) != w.NodeSGID ||
		tagsOf(sgs.SecurityGroups[0].Tags)["Name"] != w.Cluster+"-node" {
		t.Errorf("SGs tagged %s=owned: %+v, want only %s named %s-node", clusterTag, sgs.SecurityGroups, w.NodeSGID, w.Cluster)
	}

	for _, n := range w.Nodes {
		out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{n.InstanceID}})
		if err != nil {
			t.Fatal(err)
		}
		inst := out.Reservations[0].Instances[0]
		if aws.ToString(inst.SubnetId) != n.SubnetID || aws.ToString(inst.PrivateIpAddress) != n.PrivateIP ||
			aws.ToString(inst.Placement.AvailabilityZone) != n.AZ || inst.State.Name != ec2types.InstanceStateNameRunning {
			t.Errorf("instance %s: subnet %s IP %s AZ %s state %s; want %+v running", n.InstanceID,
				aws.ToString(inst.SubnetId), aws.ToString(inst.PrivateIpAddress),
				aws.ToString(inst.Placement.AvailabilityZone), inst.State.Name, n)
		}
		groups, err := ENIGroups(ctx, e, n.ENIID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(groups)
		want := slices.Sorted(slices.Values(w.NodeSGs()))
		if !slices.Equal(groups, want) {
			t.Errorf("ENI %s of %s is in %v, want %v", n.ENIID, n.Name, groups, want)
		}

		var obj corev1.Node
		if err := k8s.Get(ctx, client.ObjectKey{Name: n.Name}, &obj); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(n.Name, "ip-10-0-") || !strings.HasSuffix(n.Name, ".us-west-2.compute.internal") {
			t.Errorf("node name %s", n.Name)
		}
		if got, want := obj.Spec.ProviderID, "aws:///"+n.AZ+"/"+n.InstanceID; got != want {
			t.Errorf("Node %s providerID %q, want %q", n.Name, got, want)
		}
		if obj.Labels["topology.kubernetes.io/zone"] != n.AZ || obj.Labels["kubernetes.io/hostname"] != n.Name {
			t.Errorf("Node %s labels %v", n.Name, obj.Labels)
		}
		ready := false
		for _, c := range obj.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		ip := false
		for _, a := range obj.Status.Addresses {
			ip = ip || (a.Type == corev1.NodeInternalIP && a.Address == n.PrivateIP)
		}
		if !ready || !ip {
			t.Errorf("Node %s status %+v: want Ready=True and InternalIP %s", n.Name, obj.Status, n.PrivateIP)
		}
	}

	var nodes corev1.NodeList
	if err := k8s.List(ctx, &nodes, client.MatchingLabels{WorldLabel: w.Cluster}); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(w.Nodes) {
		t.Errorf("%d Node objects of cluster %s, want %d", len(nodes.Items), w.Cluster, len(w.Nodes))
	}
}

func TestSubnetIPv6(t *testing.T) {
	for _, tc := range []struct {
		block string
		i     int
		want  string
	}{
		{"2600:1f14:abc:de00::/56", 1, "2600:1f14:abc:de01::/64"},
		{"2600:1f14:abc:de00::/56", 2, "2600:1f14:abc:de02::/64"},
		{"", 1, ""},
		{"10.0.0.0/16", 1, ""},
		{"2600:1f14:abc:de00::/64", 1, ""},
	} {
		if got := subnetIPv6(tc.block, tc.i); got != tc.want {
			t.Errorf("subnetIPv6(%q, %d) = %q, want %q", tc.block, tc.i, got, tc.want)
		}
	}
}

func TestAssetsDirMissing(t *testing.T) {
	t.Setenv(AssetsEnv, "")
	t.Setenv("LBSG_CACHE", t.TempDir())
	_, err := AssetsDir()
	if err == nil || !strings.Contains(err.Error(), `run "make testbin" (hack/testbin.sh builds kube-apiserver and etcd from the Go module proxy, ~6 minutes once)`) {
		t.Fatalf("AssetsDir with an empty cache: %v, want the make testbin hint", err)
	}
	t.Setenv(AssetsEnv, t.TempDir())
	if _, err := AssetsDir(); err == nil || !strings.Contains(err.Error(), "make testbin") {
		t.Fatalf("AssetsDir with an empty %s: %v, want the make testbin hint", AssetsEnv, err)
	}
}

func TestMotoMissing(t *testing.T) {
	t.Setenv(PythonEnv, filepath.Join(t.TempDir(), "no-python"))
	_, err := StartMoto(context.Background())
	if err == nil || !strings.Contains(err.Error(), `pip install 'moto[server]'`) {
		t.Fatalf("StartMoto without python: %v, want the pip install hint", err)
	}
}
