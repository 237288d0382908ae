package controller

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// TestForwardTargetGroupsReadsWhatTheInventoryLacks: a target group named k8s-… that the
// cached inventory does not hold yet (another stack just made it) is classified by its own
// tags, never taken for one made outside Kubernetes; one made outside is External; the
// group's own is Own. No AWS call is made for a group that forwards to no ARN.
func TestForwardTargetGroupsReadsWhatTheInventoryLacks(t *testing.T) {
	w := newStackWorld(t)
	if _, err := w.eng.ELB.TargetGroups(w.ctx, false); err != nil { // the inventory, cached before
		t.Fatal(err)
	}
	put := func(name string, tags map[string]string) string {
		arn := "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/" + name + "/1"
		w.elbv.PutTargetGroup(elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name),
			Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), TargetType: elbtypes.TargetTypeEnumInstance, VpcId: aws.String("vpc-1")}, tags)
		return arn
	}
	theirs := put("k8s-teamb-api-0123456789", map[string]string{naming.TagCluster: testCluster, naming.ServiceStackTag: "team-b/api"})
	mine := put("k8s-shop-web-0123456789", map[string]string{naming.TagCluster: testCluster, naming.IngressStackTag: "shop/web"})
	ext := put("ext", map[string]string{"team": "platform"})

	action := func(arns ...string) string {
		v := `{"type":"forward","forwardConfig":{"targetGroups":[`
		for i, a := range arns {
			if i > 0 {
				v += ","
			}
			v += `{"targetGroupARN":"` + a + `"}`
		}
		return v + `]}}`
	}
	g := &IngressGroup{ID: spec.IngressGroupID{Namespace: "shop", Name: "web"}, Members: []spec.IngressMember{{Ingress: &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: map[string]string{
			annotations.IngActionsPrefix + "a": action(theirs, ext),
			annotations.IngActionsPrefix + "b": action(mine),
		}}}}}}
	w.calls()
	owners, tags, err := w.eng.forwardTargetGroups(w.ctx, g, plan.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]authz.Class{theirs: authz.Stack, mine: authz.Own, ext: authz.External}
	for arn, class := range want {
		if owners[arn].Class != class || tags[arn] == nil {
			t.Errorf("%s: owner %+v, tags %v; want class %s", arn, owners[arn], tags[arn], class)
		}
	}
	if n := w.calls()["DescribeTags"]; n != 1 {
		t.Errorf("DescribeTags = %d, want 1 for the three ARNs the inventory lacks", n)
	}

	g.Members[0].Ingress.Annotations = map[string]string{annotations.IngActionsPrefix + "r": `{"type":"redirect","redirectConfig":{"statusCode":"HTTP_301"}}`}
	if owners, _, err := w.eng.forwardTargetGroups(w.ctx, g, plan.Observed{}); err != nil || owners != nil {
		t.Errorf("without forwards by ARN: %v, %v", owners, err)
	}
	if c := w.calls(); total(c) != 0 {
		t.Errorf("AWS calls without forwards by ARN: %v", c)
	}
}
