package cloud

import (
	"context"
	"testing"

	"github.com/lbsg/lbsg/internal/sgrules"
)

func TestZZProbe(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, err := w.o.NetworkInterfacesByIP(ctx, []string{"2001:db8::1"})
	t.Logf("v6 filter: %v", err)
	a, _ := w.o.CreateSecurityGroup(ctx, "a", "a", nil)
	b, _ := w.o.CreateSecurityGroup(ctx, "b", "b", nil)
	err = w.o.AuthorizeIngress(ctx, a, []sgrules.Rule{rule("tcp", 1, 1, sgrules.PeerSG, b, "x")}, nil)
	t.Logf("auth1: %v", err)
	err = w.o.AuthorizeIngress(ctx, a, []sgrules.Rule{rule("tcp", 1, 1, sgrules.PeerSG, b, "y")}, nil)
	t.Logf("auth2: %v", err)
	g, _ := w.o.SecurityGroups(ctx, []string{a}, true)
	t.Logf("rules: %+v", g[a].Ingress)
	err = w.o.AuthorizeIngress(ctx, a, []sgrules.Rule{rule("tcp", 2, 2, sgrules.PeerCIDR, "1.0.0.0/8", "x")}, nil)
	err = w.o.AuthorizeIngress(ctx, a, []sgrules.Rule{rule("tcp", 2, 2, sgrules.PeerCIDR, "1.0.0.0/8", "y")}, nil)
	t.Logf("cidr auth2: %v", err)
	t.Logf("calls:\n%s", w.c.Calls.Snapshot())
}
