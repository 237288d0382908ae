package audit

import (
	"context"
	"testing"

	"github.com/go-logr/logr/funcr"
)

func TestAuditLineCarriesActionResourceObjectOutcome(t *testing.T) {
	ctx := WithObject(context.Background(), "Ingress default/shop")
	if got := Object(ctx); got != "Ingress default/shop" {
		t.Fatalf("Object = %q", got)
	}
	if got := Object(context.Background()); got != "" {
		t.Fatalf("Object of a bare context = %q, want empty", got)
	}
	var lines []string
	l := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{})
	Log(l, Write{Service: "EC2", Action: "RevokeSecurityGroupIngress", Resource: "sg-1", Object: Object(ctx), Outcome: "InvalidPermission.NotFound"})
	Log(l, Write{Service: "EC2", Action: "CreateTags", Resource: "sg-2", Outcome: OutcomeOK})
	want := []string{
		`"level"=0 "msg"="aws write" "action"="RevokeSecurityGroupIngress" "service"="EC2" "resource"="sg-1" "object"="Ingress default/shop" "outcome"="InvalidPermission.NotFound"`,
		`"level"=0 "msg"="aws write" "action"="CreateTags" "service"="EC2" "resource"="sg-2" "object"="none" "outcome"="ok"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines = %q, want %q", lines, want)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %s\nwant      %s", i, lines[i], want[i])
		}
	}
}
