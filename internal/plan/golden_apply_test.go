package plan_test

import (
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/plan"
)

// The golden cases live in testdata/<case>/: an input.json (the planner's input) and a
// plan.golden (the printed plan). They are checked here, in the external test package,
// because a "second round" applies a first plan with the apply package's Executor on the
// in-memory EC2 and ELBv2 fakes, reads them back with lbsg's readers and plans again: the
// path a reconcile takes, with no second applier. Package plan cannot import apply (apply
// imports plan); its external tests can.

var update = flag.Bool("update", false, "rewrite testdata/*/plan.golden from the current planner output")

// secondPlan seeds the fakes with the case's observed state, applies the first plan with
// the Executor, reads the fakes back and plans again.
func secondPlan(t *testing.T, c plan.GoldenInput) plan.Plan {
	t.Helper()
	ctx := context.Background()
	w := newWorld(t)
	first := c.FirstPlan()
	if c.Stack != nil {
		w.seedStack(t, c.Stack.Observed)
		w.apply(t, first)
		next := *c.Stack
		next.Observed = w.observeStack(t)
		return plan.Stack(next, c.Owner)
	}
	w.seedNetworking(t, *c.Networking)
	w.apply(t, first)
	next, err := w.observeNetworking(ctx, *c.Networking)
	if err != nil {
		t.Fatal(err)
	}
	return plan.Networking(next)
}

var render = plan.Render

// TestGolden plans every testdata/<case>/input.json (and, for a second-round case, plans
// again after applying) and compares the printed plan with plan.golden. Run
// `go test ./internal/plan -run TestGolden -update` to rewrite the goldens.
func TestGolden(t *testing.T) {
	for _, dir := range plan.CaseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := plan.ReadGoldenInput(t, dir)
			p := c.FirstPlan()
			if c.ApplyFirst {
				p = secondPlan(t, c)
			}
			got := render(t, p)
			path := filepath.Join(dir, "plan.golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestSecondRound applies every case's plan with the Executor on the fakes, reads them
// back and plans again: the second plan must be empty (each case converges in one round).
func TestSecondRound(t *testing.T) {
	for _, dir := range plan.CaseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if p := secondPlan(t, plan.ReadGoldenInput(t, dir)); !p.Empty() {
				t.Errorf("second round is not empty:\n%s", render(t, p))
			}
		})
	}
}

// TestNetworkingSecondRound applies the plan of every TestNetworkingIsolation case with the
// Executor on the fakes and plans again: whatever is held back, the next round is empty
// (nothing flaps).
func TestNetworkingSecondRound(t *testing.T) {
	ctx := context.Background()
	inputs := plan.NetworkingInputs()
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		t.Run(name, func(t *testing.T) {
			in := inputs[name]
			w := newWorld(t)
			w.seedNetworking(t, in)
			w.apply(t, plan.Networking(in))
			next, err := w.observeNetworking(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if p := plan.Networking(next); !p.Empty() {
				t.Errorf("second round is not empty:\n%s", render(t, p))
			}
		})
	}
}
