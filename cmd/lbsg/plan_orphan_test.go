package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// TestPlanListsOrphanedStacks: `lbsg plan` lists the stack of a Service that no longer
// exists (an NLB and a managed SG tagged for it, left in AWS) with why it is an orphan and
// the plan that deletes it, as the controller's collector would; it writes nothing.
func TestPlanListsOrphanedStacks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	moto, plane, world := localWorld(ctx, t, "plan-cluster")
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stack := map[string]string{naming.TagCluster: "plan-cluster", naming.ServiceStackTag: "default/gone"}
	tagsWith := func(resource string) (ec2Tags []ec2types.Tag, elbTags []elbtypes.Tag) {
		for k, v := range stack {
			ec2Tags = append(ec2Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
			elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		ec2Tags = append(ec2Tags, ec2types.Tag{Key: aws.String(naming.ServiceResourceTag), Value: aws.String(resource)})
		elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(naming.ServiceResourceTag), Value: aws.String(resource)})
		return ec2Tags, elbTags
	}
	sgTags, _ := tagsWith(naming.ManagedSGResourceID)
	sgName := naming.ServiceSGName("plan-cluster", "default", "gone", "a-uid-long-gone")
	sg, err := ec2.NewFromConfig(awsCfg).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(sgName),
		Description: aws.String(naming.ManagedSGDescription), VpcId: aws.String(world.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: sgTags}}})
	if err != nil {
		t.Fatal(err)
	}
	_, lbTags := tagsWith(naming.LoadBalancerResourceID)
	if _, err := elbv2.NewFromConfig(awsCfg).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("k8s-default-gone-0123456789"),
		Type: elbtypes.LoadBalancerTypeEnumNetwork, Subnets: []string{world.Subnets[0].ID, world.Subnets[1].ID},
		SecurityGroups: []string{aws.ToString(sg.GroupId)}, Tags: lbTags}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--cluster-name=plan-cluster", "--aws-region=" + localenv.Region, "--aws-vpc-id=" + world.VPCID,
		"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint}); err != nil {
		t.Fatal(err)
	}
	engine, clients, err := app.NewEngine(ctx, cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	report, err := planAll(ctx, plane.Client, engine)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.write(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Service default/gone (orphaned: Service default/gone no longer exists",
		"delete-lb", "k8s-default-gone-0123456789",
		"delete-sg", aws.ToString(sg.GroupId),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
	if err := report.detailedExit(); err == nil {
		t.Error("--detailed-exitcode says nothing would change although an orphan would be deleted")
	}
	if m := clients.Calls.Snapshot().Mutating(); len(m) != 0 {
		t.Errorf("lbsg plan wrote to AWS: %v", m)
	}
}
