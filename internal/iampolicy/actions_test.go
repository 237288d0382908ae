package iampolicy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modulePath is the import path prefix of lbsg's own packages.
const modulePath = "github.com/lbsg/lbsg"

// sdkServices maps the AWS SDK packages lbsg may import to their IAM service prefix. A
// service package missing here fails the test: its actions need statements first.
var sdkServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/ec2":                    "ec2",
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2": "elasticloadbalancing",
	"github.com/aws/aws-sdk-go-v2/service/acm":                    "acm",
}

// implicitActions are allowed although no lbsg code calls them, because AWS checks them on
// the caller's behalf.
var implicitActions = map[string]string{
	"iam:CreateServiceLinkedRole": "CreateLoadBalancer creates the ELB service-linked role the first time an account uses ELB",
}

// controllerRoots are the files the controller's packages are reached from: the command
// without the demo, which seeds the emulator, and without install, whose IAM and EKS calls
// (creating lbsg's policies and role) run with the installing user's credentials: neither
// is part of the controller.
func controllerRoots(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "cmd", "lbsg", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "demo") || strings.HasPrefix(base, "install") {
			continue
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("no controller sources under %s/cmd/lbsg", root)
	}
	return out
}

// TestPolicyAllowsExactlyTheActionsTheControllerCalls derives the list of AWS actions lbsg
// can call from its source, not from a list someone keeps: starting at cmd/lbsg (without
// the demo), it follows every import of an lbsg package and, in every non-test file of
// those packages, collects each reference to an SDK operation: a `<Op>Input` type of an
// SDK service package (how every operation is called, literal or not, and how the narrow
// EC2API/elb.API interfaces list them) and each `New<Op>Paginator`. Each becomes
// `<prefix>:<Op>`. The policy's documents together must allow exactly those, plus implicitActions: a new call
// without a statement fails here, and so does a statement for a call that is gone.
func TestPolicyAllowsExactlyTheActionsTheControllerCalls(t *testing.T) {
	root := moduleRoot(t)
	called, where := calledActions(t, root)
	if len(called) < 20 {
		t.Fatalf("found only %d AWS actions in the controller's sources (%v): the scan is broken", len(called), called)
	}
	// What a role with every managed document attached may do.
	docs, err := Managed(Options{ClusterName: DocClusterName})
	if err != nil {
		t.Fatal(err)
	}
	doc := Merge(docs)
	allowed := map[string]bool{}
	for _, a := range doc.Actions() {
		allowed[a] = true
	}
	for a, why := range implicitActions {
		if !allowed[a] {
			t.Errorf("implicit action %s (%s) is not in the policy", a, why)
		}
		delete(allowed, a)
	}
	for _, a := range slices.Sorted(maps.Keys(called)) {
		if !allowed[a] {
			t.Errorf("the controller calls %s (%s) but the policy does not allow it: add it to a statement in iampolicy.go and to docs/iam.md", a, where[a])
		}
	}
	for _, a := range slices.Sorted(maps.Keys(allowed)) {
		if !called[a] {
			t.Errorf("the policy allows %s but no controller code calls it: remove it", a)
		}
	}
}

// calledActions returns the AWS actions referenced by the controller's packages, with one
// place each is referenced.
func calledActions(t *testing.T, root string) (map[string]bool, map[string]string) {
	t.Helper()
	called := map[string]bool{}
	where := map[string]string{}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	var queue []string
	scan := func(path string) {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		services := map[string]string{} // local package name → IAM prefix
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, modulePath+"/") && !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
			if strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/") && !strings.HasSuffix(p, "/types") {
				prefix, ok := sdkServices[p]
				if !ok {
					t.Errorf("%s imports %s: its actions have no statement in the policy (add the service to sdkServices and the policy)", rel(root, path), p)
					continue
				}
				name := filepath.Base(p)
				if imp.Name != nil {
					name = imp.Name.Name
				}
				services[name] = prefix
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			prefix, ok := services[pkg.Name]
			if !ok {
				return true
			}
			name := sel.Sel.Name
			var op string
			switch {
			case strings.HasPrefix(name, "New") && strings.HasSuffix(name, "Paginator"):
				op = strings.TrimSuffix(strings.TrimPrefix(name, "New"), "Paginator")
			case strings.HasSuffix(name, "Input"):
				op = strings.TrimSuffix(name, "Input")
			default:
				return true
			}
			action := prefix + ":" + op
			if !called[action] {
				called[action] = true
				where[action] = rel(root, fset.Position(sel.Pos()).String())
			}
			return true
		})
	}
	for _, f := range controllerRoots(t, root) {
		scan(f)
	}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(pkg, modulePath+"/")))
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				scan(f)
			}
		}
	}
	if seen[modulePath+"/internal/localenv"] {
		t.Errorf("the controller's packages import internal/localenv, which seeds the emulator: its calls would count as the controller's")
	}
	return called, where
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}
