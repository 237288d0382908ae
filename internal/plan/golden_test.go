package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenInput is the content of testdata/<case>/input.json: exactly one of Stack and
// Networking. The goldens themselves, and the second rounds, are checked by the external
// tests (golden_apply_test.go), which apply plans with the apply package's executor; the
// tests here check what the planner alone promises, on every case's first plan.
type goldenInput struct {
	// Stack is a StackInput without KeepTag; the test sets KeepTag to keep aws:* keys.
	Stack *StackInput `json:"stack,omitempty"`
	// Owner of a stack plan; "Service shop/web" when empty.
	Owner      string           `json:"owner,omitempty"`
	Networking *NetworkingInput `json:"networking,omitempty"`
	// ApplyFirst: the golden holds the plan made after the first one was applied, on the
	// in-memory EC2 and ELBv2 (STYLE part 5 rule 7, "second round").
	ApplyFirst bool `json:"applyFirst,omitempty"`
}

func keepAWSTags(key string) bool { return strings.HasPrefix(key, "aws:") }

func readGoldenInput(t *testing.T, dir string) goldenInput {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in goldenInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s/input.json: %v", dir, err)
	}
	if (in.Stack == nil) == (in.Networking == nil) {
		t.Fatalf("%s/input.json: want exactly one of \"stack\" and \"networking\"", dir)
	}
	if in.Stack != nil {
		in.Stack.KeepTag = keepAWSTags
		if in.Owner == "" {
			in.Owner = "Service shop/web"
		}
	}
	return in
}

// firstPlan plans a golden input.
func (in goldenInput) firstPlan() Plan {
	if in.Stack != nil {
		return Stack(*in.Stack, in.Owner)
	}
	return Networking(*in.Networking)
}

func render(t *testing.T, p Plan) string {
	t.Helper()
	var b strings.Builder
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func caseDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	sort.Strings(dirs)
	return dirs
}

// TestIdempotency: the planner is pure, so the same input planned twice gives the same
// plan, and planning does not modify its input.
func TestIdempotency(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			first := in.firstPlan()
			pristine := readGoldenInput(t, dir)
			if diff := cmp.Diff(pristine, in, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().Type().Kind().String() == "func"
			}, cmp.Ignore())); diff != "" {
				t.Fatalf("planning modified its input (-before +after):\n%s", diff)
			}
			second := in.firstPlan()
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("same input, different plans (-first +second):\n%s", diff)
			}
			if a, b := render(t, first), render(t, second); a != b {
				t.Errorf("same input, different text:\n%s\n---\n%s", a, b)
			}
		})
	}
}

// checkPhases verifies that a plan's changes are sorted by phase and that each change's
// phase is the one of its op.
func checkPhases(t *testing.T, p Plan) {
	t.Helper()
	for i, c := range p.Changes {
		want, ok := phaseOf[c.Op]
		if !ok {
			t.Errorf("change %d: op %q has no phase", i, c.Op)
		}
		if c.Op == OpDeleteLB && c.Phase == PhaseReplaceLBs {
			continue
		}
		if c.Phase != want {
			t.Errorf("change %d (%s): phase %d, want %d", i, c.Op, c.Phase, want)
		}
		if i > 0 && p.Changes[i-1].Phase > c.Phase {
			t.Errorf("change %d (%s, phase %d) comes after %s (phase %d)", i, c.Op, c.Phase, p.Changes[i-1].Op, p.Changes[i-1].Phase)
		}
		if c.Owner == "" || c.Reason == "" {
			t.Errorf("change %d (%s) has no owner or reason: %+v", i, c.Op, c)
		}
	}
}

func TestPlanSortedByPhase(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			checkPhases(t, in.firstPlan())
		})
	}
	// Every phase is reachable and phases follow the declared order of the ops.
	ops := []Op{OpCreateSG, OpTagSG, OpAuthorize, OpCreateTG, OpModifyTG, OpTag, OpSetTGAttributes, OpRegister, OpDeregister, OpCreateLB, OpSetSubnets, OpSetIPType,
		OpSetLBAttributes, OpTagListeners, OpSetLBSGs, OpCreateListener, OpModifyListener, OpCreateRule, OpModifyRule, OpSetListenerAttributes, OpRevoke,
		OpDeleteListener, OpDeleteRule, OpDeleteLB, OpDeleteTG, OpDeleteSG}
	if len(ops) != len(phaseOf) {
		t.Fatalf("phaseOf has %d ops, the test knows %d", len(phaseOf), len(ops))
	}
	for i := 1; i < len(ops); i++ {
		if phaseOf[ops[i-1]] > phaseOf[ops[i]] {
			t.Errorf("%s (phase %d) must not come after %s (phase %d)", ops[i], phaseOf[ops[i]], ops[i-1], phaseOf[ops[i-1]])
		}
	}
	// The builder sorts whatever order changes were added in, stably.
	b := &builder{owner: "test"}
	for _, op := range []Op{OpDeleteSG, OpRevoke, OpCreateSG, OpAuthorize, OpDeleteSG} {
		b.add(Change{Op: op, Target: Ref{Kind: KindSG, ID: fmt.Sprintf("sg-%d", len(b.changes))}})
	}
	var got []string
	for _, c := range b.plan().Changes {
		got = append(got, string(c.Op)+" "+c.Target.ID)
	}
	want := []string{"create-sg sg-2", "authorize sg-3", "revoke sg-1", "delete-sg sg-0", "delete-sg sg-4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("builder order mismatch (-want +got):\n%s", diff)
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			p := in.firstPlan()
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back Plan
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("JSON round trip mismatch (-before +after):\n%s", diff)
			}
			if render(t, p) != render(t, back) {
				t.Errorf("JSON round trip changes the printed plan")
			}
		})
	}
}

func TestWriteEmpty(t *testing.T) {
	for _, p := range []Plan{{}, {Changes: []Change{}}} {
		if got := render(t, p); got != "  no changes\n" {
			t.Errorf("Write(%+v) = %q, want %q", p, got, "  no changes\n")
		}
	}
}
