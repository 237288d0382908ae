package elb_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/elb"
)

// TestTCPListenerBecomesTLSInPlace guards the modify path the emulator cannot run: a TCP
// listener turned TLS gets the protocol, the default certificate, the policies and the
// additional certificates; a later modify of the same TLS listener leaves the protocol out.
// (In-memory ELBv2: moto's ModifyListener refuses the TLS protocol and ignores certificates
// and ALPN on TLS listeners.)
func TestTCPListenerBecomesTLSInPlace(t *testing.T) {
	ctx := context.Background()
	fake, c, lbARN := fakeALB(t)
	arn, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 443, Protocol: "TCP", TargetGroupARN: "tg"})
	if err != nil {
		t.Fatal(err)
	}
	var sent []*elbv2.ModifyListenerInput
	fake.Hook = func(action string, in any) {
		if m, ok := in.(*elbv2.ModifyListenerInput); ok {
			sent = append(sent, m)
		}
	}
	in := elb.ListenerInput{Port: 443, Protocol: "TLS", TargetGroupARN: "tg", Certificates: []string{"cert-a", "cert-b"},
		SSLPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", ALPNPolicy: "HTTP2Preferred"}
	if err := c.ModifyListener(ctx, lbARN, arn, in); err != nil {
		t.Fatal(err)
	}
	ls, err := c.Listeners(ctx, lbARN)
	if err != nil {
		t.Fatal(err)
	}
	got := ls[0]
	if got.Protocol != "TLS" || got.SslPolicy != in.SSLPolicy || got.ALPNPolicy != in.ALPNPolicy {
		t.Errorf("listener %+v", got)
	}
	if diff := cmp.Diff([]string{"cert-a", "cert-b"}, got.Certificates); diff != "" {
		t.Errorf("certificates (-want +got):\n%s", diff)
	}
	in.SameProtocol, in.SSLPolicy = true, "ELBSecurityPolicy-TLS-1-2-2017-01"
	if err := c.ModifyListener(ctx, lbARN, arn, in); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0].Protocol != "TLS" || sent[1].Protocol != "" || aws.ToString(sent[1].SslPolicy) != in.SSLPolicy {
		t.Errorf("ModifyListener requests: %+v", sent)
	}
}

// TestSSLRedirectReadsBackAsModelled guards the redirect lbsg writes for ssl-redirect: it is
// read back as the redirect to that port, not as an action lbsg does not manage.
func TestSSLRedirectReadsBackAsModelled(t *testing.T) {
	ctx := context.Background()
	_, c, lbARN := fakeALB(t)
	if _, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 80, Protocol: "HTTP", RedirectPort: 8443}); err != nil {
		t.Fatal(err)
	}
	c.ForgetListeners(lbARN)
	ls, err := c.Listeners(ctx, lbARN)
	if err != nil {
		t.Fatal(err)
	}
	if ls[0].RedirectPort != 8443 || ls[0].Unmodelled != "" || ls[0].TargetGroupARN != "" {
		t.Errorf("listener %+v", ls[0])
	}
}
