package elb_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
)

// TestNarrowInterfacesListOnlyWhatLbsgCalls keeps cloud.EC2API and elb.API narrow: every
// method they list is called through them (`ec2.<Op>(`, `api.<Op>(`, or its paginator) in
// lbsg's non-test code, so the in-memory fakes implement nothing lbsg does not use, and
// the IAM policy (derived from these interfaces) allows nothing it does not need.
func TestNarrowInterfacesListOnlyWhatLbsgCalls(t *testing.T) {
	var src strings.Builder
	root := filepath.Join("..", "..")
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "fake.go" {
				return err
			}
			b, err := os.ReadFile(path)
			src.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	code := src.String()
	for _, iface := range []reflect.Type{reflect.TypeFor[cloud.EC2API](), reflect.TypeFor[elb.API]()} {
		for i := range iface.NumMethod() {
			op := iface.Method(i).Name
			called := regexp.MustCompile(`\b(ec2|api)\.` + op + `\(|\bNew` + op + `Paginator\(`)
			if !called.MatchString(code) {
				t.Errorf("%s lists %s, which lbsg never calls: remove it (and from the fake)", iface, op)
			}
		}
	}
}
