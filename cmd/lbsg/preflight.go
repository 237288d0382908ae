package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/helmrelease"
	"github.com/lbsg/lbsg/internal/preflight"
	"github.com/lbsg/lbsg/internal/spec"
)

// tgbGVK is upstream's TargetGroupBinding, read as unstructured: lbsg does not model it.
var tgbGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "TargetGroupBinding"}

func newPreflightCmd() *cobra.Command {
	cfg := &config.Config{}
	var output, rbacAs, lbsgRelease string
	var skipAWS bool
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check a cluster for the hazards of switching from the upstream controller to lbsg",
		Long: `preflight reads the cluster of --kubeconfig, and AWS with the controller's flags, and
prints OK, WARN or FAIL for each hazard of replacing the upstream AWS Load Balancer
Controller with lbsg, with what to do: upstream's webhook configurations, its Deployment,
TargetGroupBinding finalizers, the IngressClass (read with the manifests Helm stores of
its deployed releases, which decide what an uninstall deletes), IngressClassParams,
lbsg's RBAC, the controller flags, the Ingresses lbsg's group rules keep out of their
group, and, planning every object as the controller would, what lbsg would refuse (a
reference its tenant-isolation policy denies, a security setting it fails closed on, bad
input). It changes nothing. It exits 1 when any check fails. See docs/migrate.md.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, restCfg, err := kubeClient()
			if err != nil {
				return err
			}
			cl, err := readCluster(ctx, c)
			if err != nil {
				return err
			}
			ns, name, ok := strings.Cut(lbsgRelease, "/")
			if !ok || ns == "" || name == "" {
				return fmt.Errorf("invalid --lbsg-release %q: want NAMESPACE/NAME, e.g. %s", lbsgRelease, preflight.DefaultLbsgRelease)
			}
			cl.LbsgRelease = preflight.ReleaseRef{Namespace: ns, Name: name}
			if cl.Access, err = reviewAccess(ctx, restCfg, rbacAs); err != nil {
				return err
			}
			cl.FlagsErr = cfg.Validate()
			if cl.FlagsErr == nil {
				if cl.Exclusions, err = groupExclusions(ctx, c, cfg); err != nil {
					return err
				}
				cl.GroupsChecked = true
			}
			if cl.FlagsErr == nil && !skipAWS {
				cl.AWSChecked, cl.AWSErr = true, checkAWS(ctx, cfg)
			}
			if cl.AWSChecked && cl.AWSErr == nil {
				// What the controller's own plans would refuse, object by object.
				cl.Planned = true
				engine, _, err := app.NewEngine(ctx, cfg, nil)
				if err == nil {
					var report *Report
					if report, err = planAll(ctx, c, engine); err == nil {
						cl.Refusals = report.refusals()
					}
				}
				cl.PlanErr = err
			}
			rs := preflight.Run(cl)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(rs)
			} else {
				err = preflight.Write(cmd.OutOrStdout(), rs)
			}
			if err != nil {
				return err
			}
			if preflight.Failed(rs) {
				// The FAIL lines say why; nothing more to print.
				return exitCode(1)
			}
			return nil
		},
	}
	app.AddFlags(cmd.Flags(), cfg)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&rbacAs, "rbac-as", "",
		"check RBAC as this user, e.g. system:serviceaccount:kube-system:lbsg (by impersonation); default: the kubeconfig's identity")
	cmd.Flags().BoolVar(&skipAWS, "skip-aws", false, "do not call AWS")
	cmd.Flags().StringVar(&lbsgRelease, "lbsg-release", preflight.DefaultLbsgRelease.String(),
		"NAMESPACE/NAME of the Helm release lbsg's chart is (or will be) installed as: it adopts the IngressClass")
	return cmd
}

// readCluster lists what the checks read. A missing CRD is a fact for the checks, not an
// error.
func readCluster(ctx context.Context, c client.Client) (preflight.Cluster, error) {
	var cl preflight.Cluster
	var vwcs admissionv1.ValidatingWebhookConfigurationList
	if err := c.List(ctx, &vwcs); err != nil {
		return cl, fmt.Errorf("list validating webhook configurations: %w", err)
	}
	var mwcs admissionv1.MutatingWebhookConfigurationList
	if err := c.List(ctx, &mwcs); err != nil {
		return cl, fmt.Errorf("list mutating webhook configurations: %w", err)
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps); err != nil {
		return cl, fmt.Errorf("list deployments: %w", err)
	}
	var classes networkingv1.IngressClassList
	if err := c.List(ctx, &classes); err != nil {
		return cl, fmt.Errorf("list ingress classes: %w", err)
	}
	cl.ValidatingWebhooks, cl.MutatingWebhooks = vwcs.Items, mwcs.Items
	cl.Deployments, cl.IngressClasses = deps.Items, classes.Items
	// Without read access to Secrets the IngressClass check says what it cannot prove.
	cl.HelmReleases, cl.HelmErr = helmrelease.Deployed(ctx, c)

	if _, err := c.RESTMapper().RESTMapping(tgbGVK.GroupKind(), tgbGVK.Version); err == nil {
		cl.TGBCRD = true
		var tgbs unstructured.UnstructuredList
		tgbs.SetGroupVersionKind(tgbGVK.GroupVersion().WithKind(tgbGVK.Kind + "List"))
		if err := c.List(ctx, &tgbs); err != nil {
			return cl, fmt.Errorf("list target group bindings: %w", err)
		}
		cl.TargetGroupBindings = []preflight.Object{}
		for _, o := range tgbs.Items {
			cl.TargetGroupBindings = append(cl.TargetGroupBindings, preflight.Object{
				Namespace: o.GetNamespace(), Name: o.GetName(), Labels: o.GetLabels(), Finalizers: o.GetFinalizers()})
		}
	}
	gk := elbv2api.GroupVersion.WithKind("IngressClassParams").GroupKind()
	if _, err := c.RESTMapper().RESTMapping(gk, elbv2api.GroupVersion.Version); err == nil {
		cl.ParamsCRD = true
		var params elbv2api.IngressClassParamsList
		if err := c.List(ctx, &params); err != nil {
			return cl, fmt.Errorf("list ingress class params: %w", err)
		}
		for _, p := range params.Items {
			cl.Params = append(cl.Params, p.Name)
		}
	}
	return cl, nil
}

// groupExclusions sorts the cluster's Ingresses into groups with the controller's rules, and
// returns those kept out of the group they ask for.
func groupExclusions(ctx context.Context, c client.Client, cfg *config.Config) ([]preflight.Exclusion, error) {
	objs, err := controller.ListClusterObjects(ctx, c, controller.InstalledCRDs(c.RESTMapper()))
	if err != nil {
		return nil, err
	}
	rules := controller.GroupRules{Policy: authz.Policy{Groups: cfg.IngressGroupScope()},
		Classes: spec.ClassRulesOf(cfg.IngressClass, cfg.DisableIngressClassAnnotation, cfg.DisableIngressGroupNameAnnotation)}
	var out []preflight.Exclusion
	for id, g := range controller.IngressGroups(objs, rules) {
		for _, x := range g.Excluded {
			out = append(out, preflight.Exclusion{Ingress: x.Ingress.Namespace + "/" + x.Ingress.Name, Group: id.String(), Reason: x.Problem.Error()})
		}
	}
	return out, nil
}

// reviewAccess asks the API server, per verb and resource lbsg needs, whether the identity
// (the kubeconfig's, or the impersonated one) may.
func reviewAccess(ctx context.Context, restCfg *rest.Config, as string) ([]preflight.Access, error) {
	if as != "" {
		restCfg = rest.CopyConfig(restCfg)
		restCfg.Impersonate = rest.ImpersonationConfig{UserName: as}
	}
	c, err := client.New(restCfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	var out []preflight.Access
	for _, a := range preflight.Required {
		res, sub, _ := strings.Cut(a.Resource, "/")
		r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.Verb, Group: a.Group, Resource: res, Subresource: sub}}}
		if err := c.Create(ctx, r); err != nil {
			return nil, fmt.Errorf("review access to %s %s: %w", a.Verb, a.Resource, err)
		}
		a.Allowed, a.Reason = r.Status.Allowed, r.Status.Reason
		out = append(out, a)
	}
	return out, nil
}

// checkAWS makes the read-only calls the controller makes first: the VPC and one page of
// load balancers.
func checkAWS(ctx context.Context, cfg *config.Config) error {
	_, clients, err := app.NewEngine(ctx, cfg, nil)
	if err != nil {
		return err
	}
	if _, err := clients.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{clients.VPCID}}); err != nil {
		return fmt.Errorf("describe VPC %s: %w", clients.VPCID, err)
	}
	if _, err := clients.ELBV2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(1)}); err != nil {
		return fmt.Errorf("describe load balancers: %w", err)
	}
	return nil
}
