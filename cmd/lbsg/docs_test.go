package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docFiles are the user documentation: the README and docs/*.md.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) < 5 {
		t.Fatalf("docs: %v %v", files, err)
	}
	files = append(files, "../../README.md")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// otherToolsFlags are flags the docs name in commands of other tools (git, kubectl, helm,
// aws, eksctl) and placeholders, which lbsg does not have, with where they are used.
var otherToolsFlags = map[string]string{
	"always": "git describe", "dirty": "git describe", "tags": "git describe",
	"clusterrole": "kubectl create clusterrolebinding", "serviceaccount": "kubectl create clusterrolebinding",
	"field-selector": "kubectl get events", "overwrite": "kubectl annotate",
	"endpoint-url": "aws", "filters": "aws ec2", "query": "aws ec2", "group-id": "aws ec2", "security-group-rules": "aws ec2",
	"policy-arn": "aws iam", "policy-document": "aws iam", "policy-name": "aws iam", "role-name": "aws iam",
	"set-as-default": "aws iam", "set": "helm", "reuse-values": "helm upgrade", "version": "helm upgrade",
	"flag": "a placeholder in helm.md", "flag-name": "a placeholder in helm.md",
}

// lbsgFlags are the flags of every lbsg command, with the commands that have each.
func lbsgFlags() map[string][]string {
	flags := map[string][]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			// The go test flags reach the commands through flag.CommandLine, as
			// controller-runtime's --kubeconfig does; they are not lbsg's.
			if !strings.HasPrefix(f.Name, "test.") && f.Name != "help" && !slices.Contains(flags[f.Name], c.Name()) {
				flags[f.Name] = append(flags[f.Name], c.Name())
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	if _, ok := flags["aws-faults"]; !ok {
		// lbsg demo is built only with -tags demo; its flags are lbsg's all the same.
		for _, f := range []string{"keep", "verbose", "aws-faults"} {
			flags[f] = []string{"demo"}
		}
	}
	return flags
}

// benchFlagPattern finds the flags hack/bench (make bench) defines with the standard flag package.
var benchFlagPattern = regexp.MustCompile(`flag\.[A-Z][A-Za-z0-9]*Var\([^,]+, "([a-z][a-z0-9-]*)"`)

// benchFlags are the flags of make bench's program, which docs/benchmarks.md names.
func benchFlags() []string {
	b, err := os.ReadFile("../../hack/bench/main.go")
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range benchFlagPattern.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// docFlagPattern finds --flag where a flag starts: after white space, a backtick, a
// bracket, or = (make demo ARGS=--keep) or ' (ARGS='--aws-faults=…').
var docFlagPattern = regexp.MustCompile("(?:^|[\\s`(\\[='])--([a-z][a-z0-9-]*[a-z0-9])")

// TestDocsNameOnlyFlagsLbsgHas guards issue 16 §1.5 for flags: every --flag the README and
// docs/ name is a flag of an lbsg command (or of another tool in a command they show), and
// every flag of every lbsg command is named there.
func TestDocsNameOnlyFlagsLbsgHas(t *testing.T) {
	flags := lbsgFlags()
	if len(flags["cluster-name"]) == 0 || len(flags["kubeconfig"]) == 0 || len(flags["role-arn"]) == 0 {
		t.Fatalf("the command tree lacks flags it has: %v", flags)
	}
	seen := map[string]bool{}
	bench := benchFlags()
	for name, text := range docFiles(t) {
		for _, m := range docFlagPattern.FindAllStringSubmatch(text, -1) {
			f := m[1]
			seen[f] = true
			// make bench's own flags may be named too (docs/benchmarks.md), without
			// every one of them having to be.
			if _, ok := flags[f]; !ok && otherToolsFlags[f] == "" && !slices.Contains(bench, f) {
				t.Errorf("%s names --%s, which no lbsg command has", name, f)
			}
		}
	}
	for f, cmds := range flags {
		if !seen[f] {
			t.Errorf("--%s (lbsg %s) is not in the README or docs/", f, strings.Join(cmds, ", "))
		}
	}
	for f, tool := range otherToolsFlags {
		if !seen[f] {
			t.Errorf("otherToolsFlags lists --%s (%s), which the docs no longer name: remove it", f, tool)
		}
	}
}

// Annotation prefixes, as users write them.
const (
	servicePrefix = "service.beta.kubernetes.io/"
	ingressPrefix = "alb.ingress.kubernetes.io/"
)

// codeAnnotations reads internal/annotations' source: the keys lbsg parses (constants whose
// value starts with an annotation prefix; a key ending in '.' is a family, such as
// actions.<name>), and upstream's keys it knows and reports when it does not implement
// them (the lists of upstream.go, with their prefixes).
func codeAnnotations(t *testing.T) (parsed map[string]bool, upstream map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../internal/annotations/*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]ast.Expr{}
	lists := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range g.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if g.Tok == token.CONST {
						consts[n.Name] = vs.Values[i]
					} else if cl, ok := vs.Values[i].(*ast.CompositeLit); ok {
						for _, e := range cl.Elts {
							if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								s, _ := strconv.Unquote(lit.Value)
								lists[n.Name] = append(lists[n.Name], s)
							}
						}
					}
				}
			}
		}
	}
	var eval func(e ast.Expr, depth int) (string, bool)
	eval = func(e ast.Expr, depth int) (string, bool) {
		if depth > 10 {
			return "", false
		}
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return eval(v, depth+1)
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				a, ok1 := eval(e.X, depth+1)
				b, ok2 := eval(e.Y, depth+1)
				return a + b, ok1 && ok2
			}
		case *ast.ParenExpr:
			return eval(e.X, depth+1)
		}
		return "", false
	}
	parsed = map[string]bool{}
	for _, e := range consts {
		if v, ok := eval(e, 0); ok && (strings.HasPrefix(v, servicePrefix) || strings.HasPrefix(v, ingressPrefix)) && v != servicePrefix && v != ingressPrefix {
			parsed[v] = true
		}
	}
	upstream = map[string]bool{}
	for name, prefix := range map[string]string{"upstreamServiceKeys": servicePrefix, "upstreamServicePrefixes": servicePrefix,
		"upstreamIngressKeys": ingressPrefix, "upstreamIngressPrefixes": ingressPrefix} {
		if len(lists[name]) == 0 {
			t.Fatalf("no list %s in internal/annotations", name)
		}
		for _, k := range lists[name] {
			upstream[prefix+k] = true
		}
	}
	if len(parsed) < 40 {
		t.Fatalf("only %d parsed annotation keys found: the scan is broken", len(parsed))
	}
	return parsed, upstream
}

var (
	fullAnnotation = regexp.MustCompile(`(service\.beta\.kubernetes\.io|alb\.ingress\.kubernetes\.io)/([a-z0-9][a-z0-9.*-]*)`)
	// A table row's first cell in docs/annotations.md: the keys it is about, without prefix.
	firstCell = regexp.MustCompile("^\\| ([^|]+)\\|")
	backticks = regexp.MustCompile("`([^`]+)`")
	shortKey  = regexp.MustCompile(`^[a-z0-9][a-zA-Z0-9.*<>-]*$`)
)

// names reports whether a documented key (a full key, a family ending in '.', or a glob
// ending in '*', possibly followed by a <placeholder>) names at least one key the code knows.
func names(doc string, code map[string]bool) bool {
	for k := range code {
		if covers(doc, k) || (strings.HasSuffix(k, ".") && strings.HasPrefix(doc, k)) {
			return true
		}
	}
	return false
}

// covers reports whether a documented key covers the code's key k.
func covers(doc, k string) bool {
	if doc == k {
		return true
	}
	stem := strings.SplitN(doc, "<", 2)[0]
	if strings.HasSuffix(stem, "*") || strings.HasSuffix(stem, ".") {
		return strings.HasPrefix(k, strings.TrimSuffix(stem, "*"))
	}
	return false
}

// documentedAnnotations collects the annotation keys the docs name: full keys anywhere, and
// the keys in the first cell of docs/annotations.md's tables and in its lists of upstream
// keys lbsg does not implement, under the prefix of the half they are in.
func documentedAnnotations(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, text := range docFiles(t) {
		for _, m := range fullAnnotation.FindAllStringSubmatch(text, -1) {
			k := m[1] + "/" + strings.TrimRight(m[2], ".")
			if strings.HasSuffix(m[2], ".") {
				k += "."
			}
			out[k] = append(out[k], name)
		}
	}
	text := docFiles(t)["annotations.md"]
	prefix := servicePrefix
	notImplemented := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "# Ingress annotations"):
			prefix = ingressPrefix
		case strings.HasPrefix(line, "#"):
			notImplemented = strings.Contains(line, "does not implement")
		}
		var cells []string
		if m := firstCell.FindStringSubmatch(line); m != nil && !strings.Contains(m[1], "---") {
			cells = append(cells, m[1])
		}
		if notImplemented {
			cells = append(cells, line)
		}
		for _, c := range cells {
			for _, b := range backticks.FindAllStringSubmatch(c, -1) {
				k := b[1]
				if !shortKey.MatchString(k) || strings.HasPrefix(k, "spec.") || strings.HasPrefix(k, "status.") || k == "alb.ingress" {
					continue
				}
				{
					out[prefix+k] = append(out[prefix+k], "annotations.md")
				}
			}
		}
	}
	return out
}

// TestDocsNameOnlyAnnotationsLbsgKnows guards issue 16 §1.5 for annotations: every Service
// and Ingress annotation the README and docs/ name is one lbsg parses or one of upstream's
// it knows (and reports as not implemented); every key lbsg parses is documented, and so
// is every upstream key it reports.
func TestDocsNameOnlyAnnotationsLbsgKnows(t *testing.T) {
	parsed, upstream := codeAnnotations(t)
	all := map[string]bool{}
	for k := range parsed {
		all[k] = true
	}
	for k := range upstream {
		all[k] = true
	}
	docs := documentedAnnotations(t)
	for k, where := range docs {
		if !names(k, all) {
			t.Errorf("%s names the annotation %s, which lbsg neither parses nor knows as upstream's", where[0], k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		found := false
		for d := range docs {
			if covers(d, k) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("the annotation %s (parsed: %v) is not in the docs", k, parsed[k])
		}
	}
}

var (
	docLink = regexp.MustCompile(`\]\(([^)#\s]*)#([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#+\\s+(.*)$")
	fence   = regexp.MustCompile("(?s)```.*?```")
	slugOut = regexp.MustCompile(`[^\pL\pN\- ]`)
)

// slug is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces
// turned into hyphens.
func slug(h string) string {
	return strings.ReplaceAll(slugOut.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")
}

// TestDocsAnchorsExist guards issue 16 §1.5's broken anchor: every link to a heading of
// the README or docs/ names a heading that exists.
func TestDocsAnchorsExist(t *testing.T) {
	files := docFiles(t)
	anchors := map[string]map[string]bool{}
	for name, text := range files {
		anchors[name] = map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
			anchors[name][slug(m[1])] = true
		}
	}
	checked := 0
	for name, text := range files {
		for _, m := range docLink.FindAllStringSubmatch(text, -1) {
			target := name
			if m[1] != "" {
				target = filepath.Base(m[1])
			}
			a, ok := anchors[target]
			if !ok {
				continue // a file outside the docs (source, test data)
			}
			checked++
			if !a[m[2]] {
				t.Errorf("%s links to %s#%s, which has no such heading", name, target, m[2])
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d anchors checked: the scan is broken", checked)
	}
}

// securityTestName finds the Go tests docs/security.md cites as proof of its guarantees.
var securityTestName = regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]+)(?:/[^`]*)?`")

// TestSecurityGuaranteesCiteTestsThatExist: every test docs/security.md names as the proof
// of a guarantee is a test function of the repository, so a guarantee never rests on a test
// that was renamed or removed.
func TestSecurityGuaranteesCiteTestsThatExist(t *testing.T) {
	text := docFiles(t)["security.md"]
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]+)\(`)
	for _, root := range []string{"../../internal", "../../cmd", "../../test", "../../api", "../../hack"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				defined[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cited := securityTestName.FindAllStringSubmatch(text, -1)
	if len(cited) < 100 {
		t.Fatalf("security.md cites %d tests; the pattern no longer finds them", len(cited))
	}
	for _, m := range cited {
		if !defined[m[1]] {
			t.Errorf("security.md cites %s, which no test file defines", m[1])
		}
	}
}
