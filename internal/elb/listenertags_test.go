package elb

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"
)

// addTagsRecorder records AddTags requests; any other call panics (nil API).
type addTagsRecorder struct {
	API
	batches [][]string
	tags    []string
}

func (r *addTagsRecorder) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	r.batches = append(r.batches, in.ResourceArns)
	r.tags = nil
	for _, t := range in.Tags {
		r.tags = append(r.tags, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return &elbv2.AddTagsOutput{}, nil
}

// Tagging the listeners and rules of an adopted load balancer takes one AddTags per 20 of
// them, not one per resource. (moto takes several resources per AddTags too; this counts
// the batches without building 25 rules in it.)
func TestTagListenersBatchesTwentyPerCall(t *testing.T) {
	rec := &addTagsRecorder{}
	c := New(rec)
	var arns []string
	for i := range 25 {
		arns = append(arns, fmt.Sprintf("arn:rule/%d", i))
	}
	err := c.TagListeners(context.Background(), "arn:lb", arns, map[string]string{"elbv2.k8s.aws/cluster": "c", "ingress.k8s.aws/stack": "g"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{arns[:20], arns[20:]}, rec.batches); diff != "" {
		t.Errorf("AddTags batches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"elbv2.k8s.aws/cluster=c", "ingress.k8s.aws/stack=g"}, rec.tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
