package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/spec"
)

// stackWorld is one cluster on the in-memory fakes (cloud.FakeEC2, elb.FakeAPI and
// controller-runtime's fake client), with the Service and Ingress-group reconcilers wired
// to one Engine, as the controller runs them.
type stackWorld struct {
	t    *testing.T
	ctx  context.Context
	ec2  *cloud.FakeEC2
	elbv *elb.FakeAPI
	kube client.Client
	eng  *Engine
	svcs *ServiceReconciler
	ings *IngressGroupReconciler
	// mark is the call counts at the last calls() reading.
	mark map[string]int
}

const testCluster = "prod"

func newStackWorld(t *testing.T) *stackWorld {
	t.Helper()
	ec2 := cloud.NewFakeEC2()
	ec2.AddVPC(ec2types.Vpc{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/16")})
	for i, az := range []string{"eu-west-1a", "eu-west-1b"} {
		ec2.AddSubnet(ec2types.Subnet{SubnetId: aws.String(fmt.Sprintf("subnet-%d", i+1)), VpcId: aws.String("vpc-1"),
			AvailabilityZone: aws.String(az), CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)),
			Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/role/elb"), Value: aws.String("1")},
				{Key: aws.String("kubernetes.io/role/internal-elb"), Value: aws.String("1")}}})
	}
	elbv := elb.NewFakeAPI()
	obs := cloud.NewObserverFromAPI(ec2, "vpc-1", nil)
	lbs := elb.New(elbv)
	eng := &Engine{
		Settings: spec.Settings{Cluster: testCluster, EnableBackendSG: true, EnableManageBackendSGRules: true,
			NLBSecurityGroup: true, DefaultTargetType: "instance", DefaultScheme: "internal", LoadBalancerClass: "service.k8s.aws/nlb"},
		Budget: 100,
		EC2:    obs, ELB: lbs,
		Exec: &apply.Executor{EC2: obs, ELB: lbs, VPCID: "vpc-1"},
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
		Spec:   corev1.NodeSpec{ProviderID: "aws:///eu-west-1a/i-0000000000000001"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	kube := fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(node).
		WithStatusSubresource(&corev1.Service{}, &networkingv1.Ingress{}).Build()
	rec := events.NewFakeRecorder(1000)
	return &stackWorld{t: t, ctx: context.Background(), ec2: ec2, elbv: elbv, kube: kube, eng: eng,
		svcs: &ServiceReconciler{Client: kube, Engine: eng, Recorder: rec},
		ings: &IngressGroupReconciler{Client: kube, Engine: eng, Recorder: rec},
		mark: map[string]int{}}
}

// calls returns the AWS calls by action since the previous reading.
func (w *stackWorld) calls() map[string]int {
	now := map[string]int{}
	maps.Copy(now, w.ec2.Calls())
	maps.Copy(now, w.elbv.Calls())
	out := map[string]int{}
	for k, v := range now {
		if d := v - w.mark[k]; d > 0 {
			out[k] = d
		}
	}
	w.mark = now
	return out
}

func total(calls map[string]int) int {
	n := 0
	for _, v := range calls {
		n += v
	}
	return n
}

func describeCalls(calls map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, calls[k]))
	}
	return fmt.Sprintf("%d (%s)", total(calls), strings.Join(parts, " "))
}

// nlbService is a Service lbsg owns: an internal NLB with a managed SG, instance targets.
func nlbService(name string) *corev1.Service {
	class := "service.k8s.aws/nlb"
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080}}},
	}
}

// albIngress is an Ingress of lbsg's class routing two listen ports to one Service.
func (w *stackWorld) albIngress(name, group string) *networkingv1.Ingress {
	w.t.Helper()
	ctx := context.Background()
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	if err := w.kube.Create(ctx, class); client.IgnoreAlreadyExists(err) != nil {
		w.t.Fatal(err)
	}
	backend := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30081}}}}
	if err := w.kube.Create(ctx, backend); client.IgnoreAlreadyExists(err) != nil {
		w.t.Fatal(err)
	}
	className := "alb"
	ann := map[string]string{"alb.ingress.kubernetes.io/listen-ports": `[{"HTTP":80},{"HTTP":8080}]`}
	if group != "" {
		ann["alb.ingress.kubernetes.io/group.name"] = group
	}
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{IngressClassName: &className, Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/" + name, PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
}

func (w *stackWorld) create(obj client.Object) {
	w.t.Helper()
	if err := w.kube.Create(w.ctx, obj); err != nil {
		w.t.Fatal(err)
	}
}

// reconcileService runs the Service reconciler once and fails the test on an error.
func (w *stackWorld) reconcileService(name string) ctrl.Result {
	w.t.Helper()
	res, err := w.svcs.Reconcile(w.ctx, ServiceRequest{Namespace: "shop", Name: name})
	if err != nil {
		w.t.Fatalf("reconcile Service %s: %v", name, err)
	}
	return res
}

// reconcileGroup runs the Ingress-group reconciler once and fails the test on an error.
func (w *stackWorld) reconcileGroup(id spec.IngressGroupID) ctrl.Result {
	w.t.Helper()
	res, err := w.ings.Reconcile(w.ctx, id)
	if err != nil {
		w.t.Fatalf("reconcile Ingress group %s: %v", id.String(), err)
	}
	return res
}

func (w *stackWorld) service(name string) *corev1.Service {
	w.t.Helper()
	svc := &corev1.Service{}
	if err := w.kube.Get(w.ctx, types.NamespacedName{Namespace: "shop", Name: name}, svc); err != nil {
		w.t.Fatal(err)
	}
	return svc
}

// annotate sets an annotation lbsg does not read on a Service.
func (w *stackWorld) annotateService(name, key, value string) {
	w.t.Helper()
	svc := w.service(name)
	if svc.Annotations == nil {
		svc.Annotations = map[string]string{}
	}
	svc.Annotations[key] = value
	if err := w.kube.Update(w.ctx, svc); err != nil {
		w.t.Fatal(err)
	}
}

func (w *stackWorld) deleteService(name string) {
	w.t.Helper()
	if err := w.kube.Delete(w.ctx, w.service(name)); err != nil {
		w.t.Fatal(err)
	}
}

var _ = discoveryv1.LabelServiceName
