package elb

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
)

// Tagging the listeners and rules of an adopted load balancer takes one AddTags per 20 of
// them, not one per resource. (moto takes several resources per AddTags too; this counts
// the batches without building 25 rules in it.)
func TestTagListenersBatchesTwentyPerCall(t *testing.T) {
	ctx := context.Background()
	fake := NewFakeAPI()
	lbARN := fake.AddLoadBalancer("k8s-front-1", nil, nil)
	listenerARN := lbARN + "/listener"
	fake.PutListener(elbtypes.Listener{ListenerArn: aws.String(listenerARN), LoadBalancerArn: aws.String(lbARN), Port: aws.Int32(80)}, nil)
	var arns []string
	for i := range 25 {
		arn := fmt.Sprintf("%s/rule/%d", listenerARN, i)
		if err := fake.PutRule(listenerARN, elbtypes.Rule{RuleArn: aws.String(arn), Priority: aws.String(fmt.Sprint(i + 1))}, nil); err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	var batches [][]string
	fake.Hook = func(action string, in any) {
		if action == "AddTags" {
			batches = append(batches, in.(*elbv2.AddTagsInput).ResourceArns)
		}
	}
	c := New(fake)
	tags := map[string]string{"elbv2.k8s.aws/cluster": "c", "ingress.k8s.aws/stack": "g"}
	if err := c.TagListeners(ctx, lbARN, arns, tags); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{arns[:20], arns[20:]}, batches); diff != "" {
		t.Errorf("AddTags batches (-want +got):\n%s", diff)
	}
	got, err := c.tags(ctx, arns[19:21])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]map[string]string{arns[19]: tags, arns[20]: tags}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
