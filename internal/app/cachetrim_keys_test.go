package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/targets"
)

const module = "github.com/lbsg/lbsg"

// notCachedKinds are annotation keys lbsg reads on objects whose annotations the cache
// keeps whole (IngressClass) or that it does not read from the cache (`lbsg preflight`
// reads CRDs through the API).
var notCachedKinds = map[string]string{
	"ingressclass.kubernetes.io/is-default-class": "IngressClass",
	"meta.helm.sh/release-name":                   "CustomResourceDefinition (preflight)",
	"helm.sh/resource-policy":                     "CustomResourceDefinition (preflight)",
}

// annotationKey is the shape of an annotation key, or of a prefix of keys.
var annotationKey = regexp.MustCompile(`^([a-z0-9-]+\.)+[a-z]+/[A-Za-z0-9._-]*$`)

// TestCacheKeepsEveryAnnotationKeyTheCodeReads derives, from lbsg's source, every
// annotation key it reads: the constant index of every x.Annotations[...] and
// x.GetAnnotations()[...], and every key or prefix the annotations package declares. Each
// must survive the cache's trimming on the kinds that carry it; a new key in a new place
// fails here until the trimming keeps it.
func TestCacheKeepsEveryAnnotationKeyTheCodeReads(t *testing.T) {
	keys := readAnnotationKeys(t, "../..")
	for _, must := range []string{targets.PodENIAnnotation, controller.ConditionAnnotation, controller.TGBTargetsAnnotation,
		annotations.IngressClassAnnotation, annotations.SvcLoadBalancerType, annotations.IngGroupName, annotations.IngActionsPrefix} {
		if !slices.Contains(keys, must) {
			t.Fatalf("the source scan did not find %s: it no longer sees how lbsg reads annotations (found %v)", must, keys)
		}
	}
	for _, k := range keys {
		probe := k
		if strings.HasSuffix(k, ".") || strings.HasSuffix(k, "/") || strings.HasSuffix(k, "-") {
			probe = k + "x" // a prefix: what it starts must be kept
		}
		if kind, ok := notCachedKinds[k]; ok {
			t.Logf("%s: read on %s, not trimmed", k, kind)
			continue
		}
		if !keepConfigAnnotation(probe) && !keepPodAnnotation(probe) && !keepOwnAnnotation(probe) {
			t.Errorf("lbsg reads annotation %s, which the informer cache drops: keep it in cachetrim.go", k)
		}
	}
}

// readAnnotationKeys parses every non-test Go file of the module under root (but hack/,
// which is not lbsg) and returns, sorted, the annotation keys lbsg reads.
func readAnnotationKeys(t *testing.T, root string) []string {
	t.Helper()
	fset := token.NewFileSet()
	type file struct {
		pkg     string
		imports map[string]string // local name → import path
		ast     *ast.File
	}
	var files []file
	consts := map[string]map[string]ast.Expr{} // package path → name → value
	constFile := map[string]map[string]*file{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (name == "testdata" || name == "hack" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		fl := file{pkg: path.Join(module, filepath.ToSlash(rel)), imports: map[string]string{}, ast: f}
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			name := path.Base(ip)
			if im.Name != nil {
				name = im.Name.Name
			}
			fl.imports[name] = ip
		}
		files = append(files, fl)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		f := &files[i]
		for _, decl := range f.ast.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for j, n := range vs.Names {
					if j < len(vs.Values) {
						if consts[f.pkg] == nil {
							consts[f.pkg], constFile[f.pkg] = map[string]ast.Expr{}, map[string]*file{}
						}
						consts[f.pkg][n.Name], constFile[f.pkg][n.Name] = vs.Values[j], f
					}
				}
			}
		}
	}
	// value folds a constant string expression: literals, constants and their sums.
	var value func(e ast.Expr, f *file, depth int) (string, bool)
	lookup := func(pkg, name string, depth int) (string, bool) {
		e, ok := consts[pkg][name]
		if !ok {
			return "", false
		}
		return value(e, constFile[pkg][name], depth+1)
	}
	value = func(e ast.Expr, f *file, depth int) (string, bool) {
		if depth > 20 {
			return "", false
		}
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.ParenExpr:
			return value(e.X, f, depth+1)
		case *ast.Ident:
			return lookup(f.pkg, e.Name, depth)
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok {
				if ip, ok := f.imports[x.Name]; ok {
					return lookup(ip, e.Sel.Name, depth)
				}
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				a, okA := value(e.X, f, depth+1)
				b, okB := value(e.Y, f, depth+1)
				return a + b, okA && okB
			}
		}
		return "", false
	}
	found := map[string]bool{}
	for i := range files {
		f := &files[i]
		ast.Inspect(f.ast, func(n ast.Node) bool {
			ix, ok := n.(*ast.IndexExpr)
			if !ok || !readsAnnotations(ix.X) {
				return true
			}
			if k, ok := value(ix.Index, f, 0); ok {
				found[k] = true
			}
			return true
		})
	}
	annPkg := module + "/internal/annotations"
	for name := range consts[annPkg] {
		if k, ok := lookup(annPkg, name, 0); ok && annotationKey.MatchString(k) {
			found[k] = true
		}
	}
	var out []string
	for k := range found {
		if annotationKey.MatchString(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// readsAnnotations reports whether e is x.Annotations or x.GetAnnotations().
func readsAnnotations(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		return e.Sel.Name == "Annotations"
	case *ast.CallExpr:
		s, ok := e.Fun.(*ast.SelectorExpr)
		return ok && s.Sel.Name == "GetAnnotations" && len(e.Args) == 0
	}
	return false
}
