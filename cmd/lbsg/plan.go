package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/preflight"
	"github.com/lbsg/lbsg/internal/spec"
)

func newPlanCmd() *cobra.Command {
	cfg := &config.Config{}
	var output string
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print the changes the controller would make, making none",
		Long: `plan runs the controller's planner against the cluster of --kubeconfig and the AWS
account of the AWS flags, and prints every change the controller would make: per Service,
per Ingress group, for each orphaned stack (a load balancer, target groups or managed security
group whose Service or Ingress no longer exists), then for the target (node and pod)
security groups. It only reads.

With --detailed-exitcode the exit code tells CI what it found, as terraform's does:
0 when nothing would change, 2 when something would, 1 on error. An object that cannot
be planned (invalid annotations) or target security groups that could only be partly
computed are errors: the plan is then incomplete and cannot say "nothing would change".`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid flags: %w", err)
			}
			c, _, err := kubeClient()
			if err != nil {
				return err
			}
			engine, _, err := app.NewEngine(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			report, err := planAll(cmd.Context(), c, engine)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(report)
			} else {
				err = report.write(cmd.OutOrStdout())
			}
			if err != nil || !detailed {
				return err
			}
			return report.detailedExit()
		},
	}
	app.AddFlags(cmd.Flags(), cfg)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false,
		"exit 0 when nothing would change, 2 when something would, 1 on error or when the plan is incomplete")
	return cmd
}

// detailedExit is the outcome of --detailed-exitcode once the report is printed: nil
// (exit 0) when nothing would change, exitCode 2 when something would, and an error (exit
// 1) when the report is incomplete, because then it cannot vouch that nothing would change.
func (r *Report) detailedExit() error {
	invalid := 0
	changes := !r.Networking.Empty()
	for _, s := range r.Stacks {
		if len(s.Problems) > 0 {
			invalid++
		}
		if !s.Plan.Empty() {
			changes = true
		}
	}
	switch {
	case invalid > 0:
		return fmt.Errorf("the plan is incomplete: %d object(s) could not be planned (see \"invalid:\" above); fix them or their annotations", invalid)
	case r.Partial:
		return fmt.Errorf("the plan is incomplete: the target security groups could only be partly computed")
	case changes:
		return exitCode(2)
	}
	return nil
}

// Report is what `lbsg plan` prints.
type Report struct {
	Stacks     []StackReport `json:"stacks"`
	Networking plan.Plan     `json:"targetSecurityGroups"`
	Partial    bool          `json:"partial,omitempty"`
	// Refused are the client CIDR rules of NLBs without security groups that are not added
	// because their port is outside --service-node-port-range.
	Refused []plan.Refused `json:"refused,omitempty"`
}

// Exclusion is an Ingress left out of its group's plan, and why.
type Exclusion struct {
	Ingress string        `json:"ingress"`
	Problem *spec.Problem `json:"problem"`
}

// StackReport is one object's plan, or the problems that keep it from being planned.
type StackReport struct {
	Owner spec.Owner `json:"owner"`
	// Orphaned says why the stack's object no longer holds it (plan.Orphans): the
	// controller deletes it once it stayed so for --orphan-grace-period.
	Orphaned string          `json:"orphaned,omitempty"`
	Problems []*spec.Problem `json:"problems,omitempty"`
	// Excluded are the members of an Ingress group left out of its plan, each with why.
	Excluded []Exclusion   `json:"excluded,omitempty"`
	Notices  []spec.Notice `json:"notices,omitempty"`
	Plan     plan.Plan     `json:"plan"`
}

func planAll(ctx context.Context, c client.Client, e *controller.Engine) (*Report, error) {
	objs, err := controller.ListClusterObjects(ctx, c, controller.InstalledCRDs(c.RESTMapper()))
	if err != nil {
		return nil, err
	}
	// The target-SG pass counts TargetGroupBindings' rules as wanted.
	if objs.Bindings, err = controller.ListBindings(ctx, c); err != nil {
		return nil, err
	}
	sort.Slice(objs.Services, func(i, j int) bool {
		a, b := objs.Services[i], objs.Services[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	r := &Report{}
	add := func(sp *controller.StackPlan) {
		sr := StackReport{Owner: sp.Owner, Problems: sp.Problems, Plan: sp.Plan}
		for _, x := range sp.Excluded {
			sr.Excluded = append(sr.Excluded, Exclusion{Ingress: x.Ingress.Namespace + "/" + x.Ingress.Name, Problem: x.Problem})
		}
		if sp.Stack != nil {
			sr.Notices = sp.Stack.Notices
		}
		r.Stacks = append(r.Stacks, sr)
	}
	for i := range objs.Services {
		svc := &objs.Services[i]
		if !spec.OwnsService(svc, e.Settings) && !hasFinalizer(svc.Finalizers, naming.ServiceFinalizer) {
			continue
		}
		sp, err := e.PlanServiceIn(ctx, c, svc)
		if err != nil {
			return nil, fmt.Errorf("plan %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		add(sp)
	}
	groups := controller.IngressGroups(objs, e.GroupRules())
	ids := make([]spec.IngressGroupID, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		// As its reconciler sees it: the namespaces its load balancer serves keep it.
		g, err := e.IngressGroup(ctx, objs, id)
		if err != nil {
			return nil, fmt.Errorf("plan Ingress group %s: %w", id.String(), err)
		}
		if g == nil {
			continue
		}
		sp, err := e.PlanIngressGroup(ctx, g, objs)
		if err != nil {
			return nil, fmt.Errorf("plan Ingress group %s: %w", id.String(), err)
		}
		add(sp)
	}
	orphans, err := e.PlanOrphans(ctx, objs)
	if err != nil {
		return nil, fmt.Errorf("plan orphaned stacks: %w", err)
	}
	for _, o := range orphans {
		add(o.Stack)
		r.Stacks[len(r.Stacks)-1].Orphaned = o.Orphan.Reason
	}
	np, err := e.PlanNetworking(ctx, objs)
	if err != nil {
		return nil, fmt.Errorf("plan target security groups: %w", err)
	}
	r.Networking, r.Partial, r.Refused = np.Plan, np.Partial, np.Refused
	return r, nil
}

func hasFinalizer(list []string, f string) bool {
	for _, x := range list {
		if x == f {
			return true
		}
	}
	return false
}

func (r *Report) write(w io.Writer) error {
	for _, s := range r.Stacks {
		if s.Orphaned != "" {
			fmt.Fprintf(w, "%s (orphaned: %s; deleted once it stays so for --orphan-grace-period)\n", s.Owner, s.Orphaned)
		} else {
			fmt.Fprintf(w, "%s\n", s.Owner)
		}
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  invalid: %s\n", p.Error())
		}
		for _, x := range s.Excluded {
			fmt.Fprintf(w, "  excluded: Ingress %s: %s\n", x.Ingress, x.Problem.Error())
		}
		for _, n := range s.Notices {
			fmt.Fprintf(w, "  notice (%s): %s\n", n.Reason, n.Message)
		}
		if len(s.Problems) == 0 {
			if err := plan.Write(w, s.Plan); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(w, "target security groups")
	if r.Partial {
		fmt.Fprintln(w, "  (some stacks could not be computed: the rules they may rely on are kept)")
	}
	for _, x := range r.Refused {
		fmt.Fprintf(w, "  refused: %s on %s for %s: %s\n", x.Rule.String(), x.SG, x.Owner, refusedWhy(x))
	}
	return plan.Write(w, r.Networking)
}

// refusals are what a report's plans refuse: objects with problems, group members left out,
// target-SG rules refused (outside the NodePort range, not a traffic port, a denied source).
func (r *Report) refusals() []preflight.Refusal {
	var out []preflight.Refusal
	for _, s := range r.Stacks {
		for _, p := range s.Problems {
			out = append(out, preflight.Refusal{Object: s.Owner.String(), Reason: p.Error()})
		}
		for _, x := range s.Excluded {
			out = append(out, preflight.Refusal{Object: "Ingress " + x.Ingress, Reason: x.Problem.Error()})
		}
	}
	for _, x := range r.Refused {
		out = append(out, preflight.Refusal{Object: x.Owner,
			Reason: fmt.Sprintf("rule %s on %s is refused: %s", x.Rule.String(), x.SG, refusedWhy(x))})
	}
	return out
}

// refusedWhy says in a few words why a rule was refused.
func refusedWhy(x plan.Refused) string {
	switch x.Why {
	case plan.RefusedNotTrafficPort:
		return "not a port its targets receive traffic on"
	case plan.RefusedSource:
		if x.Denial != nil {
			return x.Denial.Decision.Reason
		}
		return "a source it may not name"
	}
	return "outside the NodePort range"
}

// kubeClient connects to the cluster of --kubeconfig (or KUBECONFIG, or in-cluster) with
// lbsg's scheme.
func kubeClient() (client.Client, *rest.Config, error) {
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	c, err := client.New(restCfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	return c, restCfg, nil
}
