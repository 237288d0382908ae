package plan

import (
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

func TestListenerDiffComparesTLSSettings(t *testing.T) {
	const cert = "arn:aws:acm:us-east-1:111122223333:certificate/a"
	tg := Ref{Kind: KindTargetGroup, ID: "tg"}
	tls := func(policy, alpn string) state.Listener {
		return state.Listener{Protocol: "TLS", TargetGroupARN: "tg", Certificates: []string{cert}, SslPolicy: policy, ALPNPolicy: alpn}
	}
	want := spec.Listener{Protocol: "TLS", TargetGroup: "x", Certificates: []string{cert}, SSLPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", ALPNPolicy: "HTTP2Preferred"}
	defaulted := want
	defaulted.SSLPolicy, defaulted.SSLPolicyIsDefault, defaulted.ALPNPolicy = "ELBSecurityPolicy-2016-08", true, ""
	noneALPN := want
	noneALPN.ALPNPolicy = "None"
	redirect := spec.Listener{Protocol: "HTTP", RedirectPort: 443}
	cases := []struct {
		name string
		want spec.Listener
		have state.Listener
		diff string // substring; "" for no change
	}{
		{"matching", want, tls("ELBSecurityPolicy-TLS13-1-2-2021-06", "HTTP2Preferred"), ""},
		{"TCP becomes TLS", want, state.Listener{Protocol: "TCP", TargetGroupARN: "tg"}, "protocol TCP must be TLS"},
		{"policy differs", want, tls("ELBSecurityPolicy-2016-08", "HTTP2Preferred"), `SSL policy "ELBSecurityPolicy-2016-08" must be ELBSecurityPolicy-TLS13-1-2-2021-06`},
		{"ALPN differs", want, tls("ELBSecurityPolicy-TLS13-1-2-2021-06", "HTTP1Only"), "ALPN policy"},
		{"default policy leaves an existing one", defaulted, tls("ELBSecurityPolicy-TLS-1-2-2017-01", "HTTP1Only"), ""},
		{"ALPN None matches none reported", noneALPN, tls("ELBSecurityPolicy-TLS13-1-2-2021-06", ""), ""},
		{"forward becomes the redirect", redirect, state.Listener{Protocol: "HTTP", TargetGroupARN: "tg"}, "must redirect to HTTPS:443"},
		{"redirect matches", redirect, state.Listener{Protocol: "HTTP", RedirectPort: 443}, ""},
		{"redirect to another port", redirect, state.Listener{Protocol: "HTTP", RedirectPort: 8443}, "must redirect to HTTPS:443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := listenerDiff(c.want, tg, c.have, false, false)
			if (c.diff == "") != (got == "") || !strings.Contains(got, c.diff) {
				t.Errorf("diff = %q, want %q", got, c.diff)
			}
		})
	}
}

func TestAdoptedRedirectIsKeptWhenSSLRedirectIsAbsent(t *testing.T) {
	lb := &state.LoadBalancer{ARN: "lb", Name: "alb"}
	have := map[string][]state.Listener{"lb": {{ARN: "l80", Port: 80, Protocol: "HTTP", RedirectPort: 443}}}
	b := &builder{}
	planListeners(b, []spec.Listener{{Port: 80, Protocol: "HTTP"}}, Ref{Kind: KindLoadBalancer, ID: "lb"}, lb, have, map[string]Ref{}, nil)
	for _, c := range b.changes {
		if c.Op == OpModifyListener && !c.Listener.KeepDefaultAction {
			t.Errorf("the redirect is rewritten: %+v", c)
		}
	}
	if len(b.notices) != 1 || !strings.Contains(b.notices[0], "(redirect); left as is") {
		t.Errorf("notices %v", b.notices)
	}
}
