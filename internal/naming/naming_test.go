package naming

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// h10 is an independent rendering of the hash part: the first 10 hex digits of the
// SHA-256 of the concatenated inputs.
func h10(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "")))
	return fmt.Sprintf("%x", sum)[:10]
}

var validName = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

func TestBackendSGName(t *testing.T) {
	long := strings.Repeat("ab-", 100) // 300 chars, 200 after sanitize
	longer := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		cluster string
		want    string
	}{
		{"reference example", "my-cluster", "k8s-traffic-mycluster-4cbfcec96c"},
		{"computed", "my-cluster", "k8s-traffic-mycluster-" + h10("my-cluster")},
		{"dots and underscores dropped, raw name hashed", "prod.eu_west-1", "k8s-traffic-prodeuwest1-" + h10("prod.eu_west-1")},
		{"non-ascii dropped", "clüster", "k8s-traffic-clster-" + h10("clüster")},
		{"under the cut", long, "k8s-traffic-" + strings.Repeat("ab", 100) + "-" + h10(long)},
		{"cut at 232", longer, "k8s-traffic-" + strings.Repeat("x", 232) + "-" + h10(longer)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BackendSGName(tc.cluster)
			if got != tc.want {
				t.Errorf("BackendSGName(%q) = %q, want %q", tc.cluster, got, tc.want)
			}
			if len(got) > 255 || !validName.MatchString(got) {
				t.Errorf("BackendSGName(%q) = %q: not a valid SG name (len %d)", tc.cluster, got, len(got))
			}
		})
	}
}

func TestServiceSGName(t *testing.T) {
	tests := []struct {
		name                      string
		cluster, ns, svcName, uid string
		want                      string
	}{
		{"short", "my-cluster", "default", "echo", "uid-1",
			"k8s-default-echo-" + h10("my-cluster", "echo", "default", "uid-1")},
		{"name hashed before namespace", "c", "ns", "svc", "u",
			"k8s-ns-svc-" + h10("c", "svc", "ns", "u")},
		{"sanitized then cut to 8", "c", "kube-system", "my-service-name", "u",
			"k8s-kubesyst-myservic-" + h10("c", "my-service-name", "kube-system", "u")},
		{"empty after sanitize", "c", "---", "...", "u", "k8s---" + h10("c", "...", "---", "u")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ServiceSGName(tc.cluster, tc.ns, tc.svcName, tc.uid)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if len(got) > 32 {
				t.Errorf("%q is longer than 32", got)
			}
		})
	}
}

func TestIngressSGNames(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"reference example implicit", IngressSGName("my-cluster", "default", "echo-server"), "k8s-default-echoserv-dab668ddb1"},
		{"implicit computed", IngressSGName("my-cluster", "default", "echo-server"),
			"k8s-default-echoserv-" + h10("my-cluster", "default/echo-server")},
		{"reference example group", IngressGroupSGName("my-cluster", "my-shared-group"), "k8s-mysharedgroup-939106a3ee"},
		{"group computed", IngressGroupSGName("my-cluster", "my-shared-group"),
			"k8s-mysharedgroup-" + h10("my-cluster", "my-shared-group")},
		{"group cut at 17", IngressGroupSGName("c", "a-very-long-group-name-indeed"),
			"k8s-averylonggroupnam-" + h10("c", "a-very-long-group-name-indeed")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
			if len(tc.got) > 32 {
				t.Errorf("%q is longer than 32", tc.got)
			}
		})
	}
}

func TestServiceLBName(t *testing.T) {
	got := ServiceLBName("my-cluster", "default", "echo-server", "1234-abcd", "internet-facing")
	want := "k8s-default-echoserv-" + h10("my-cluster", "1234-abcd", "internet-facing")
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if internal := ServiceLBName("my-cluster", "default", "echo-server", "1234-abcd", "internal"); internal == got {
		t.Errorf("scheme must change the name, both are %q", got)
	}
	if a, b := ServiceLBName("c", "ns", "a", "u", "internal"), ServiceLBName("c", "ns", "b", "u", "internal"); a[len(a)-10:] != b[len(b)-10:] {
		t.Errorf("the name must not be hashed: %q vs %q", a, b)
	}
}

func TestServiceTargetGroupName(t *testing.T) {
	base := TargetGroupNameInput{
		Cluster: "my-cluster", Namespace: "default", Name: "echo-server", UID: "uid-1",
		Port: 80, TargetGroupPort: 31234, TargetType: "instance", Protocol: "TCP",
	}
	tests := []struct {
		name string
		in   func(TargetGroupNameInput) TargetGroupNameInput
		want string
	}{
		{"defaults: TCP health check every 10s", func(in TargetGroupNameInput) TargetGroupNameInput { return in },
			"k8s-default-echoserv-" + h10("my-cluster", "uid-1", "31234", "80", "instance", "TCP", "TCP", "10")},
		{"explicit health check", func(in TargetGroupNameInput) TargetGroupNameInput {
			in.HealthCheckProtocol, in.HealthCheckInterval = "HTTP", 30
			return in
		}, "k8s-default-echoserv-" + h10("my-cluster", "uid-1", "31234", "80", "instance", "TCP", "HTTP", "30")},
		{"ip target, udp", func(in TargetGroupNameInput) TargetGroupNameInput {
			in.TargetType, in.TargetGroupPort, in.Protocol = "ip", 8080, "UDP"
			return in
		}, "k8s-default-echoserv-" + h10("my-cluster", "uid-1", "8080", "80", "ip", "UDP", "TCP", "10")},
		{"weighted: base UID after the cluster", func(in TargetGroupNameInput) TargetGroupNameInput {
			in.BaseUID = "base-uid"
			return in
		}, "k8s-default-echoserv-" + h10("my-cluster", "base-uid", "uid-1", "31234", "80", "instance", "TCP", "TCP", "10")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ServiceTargetGroupName(tc.in(base))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if len(got) > 32 || !validName.MatchString(got) {
				t.Errorf("%q is not a valid target group name", got)
			}
		})
	}
}

func TestServiceTargetGroupPort(t *testing.T) {
	tests := []struct {
		name       string
		targetType string
		port, node int32
		targetPort string
		want       int32
	}{
		{"instance uses the NodePort", "instance", 80, 31000, "8080", 31000},
		{"ip numeric targetPort", "ip", 80, 31000, "8080", 8080},
		{"ip named targetPort is 1", "ip", 80, 0, "http", 1},
		{"ip unset targetPort is the port", "ip", 80, 0, "", 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServiceTargetGroupPort(tc.targetType, tc.port, tc.node, tc.targetPort); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	tests := map[string]string{
		"":                 "",
		"abc-DEF_123.x/y":  "abcDEF123xy",
		"日本-ns":            "ns",
		"with space\ttabs": "withspacetabs",
	}
	for in, want := range tests {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIngressLBName(t *testing.T) {
	tests := []struct {
		name     string
		explicit bool
		ns, n    string
		scheme   string
		want     string
	}{
		{"implicit", false, "default", "echo-server", "internal",
			"k8s-default-echoserv-" + h10("c", "default/echo-server", "internal")},
		{"implicit scheme changes the name", false, "default", "echo-server", "internet-facing",
			"k8s-default-echoserv-" + h10("c", "default/echo-server", "internet-facing")},
		{"explicit cut at 17", true, "", "my-very-long-shared-group", "internal",
			"k8s-myverylongsharedg-" + h10("c", "my-very-long-shared-group", "internal")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := IngressLBName("c", tc.explicit, tc.ns, tc.n, tc.scheme)
			if got != tc.want {
				t.Errorf("IngressLBName = %q, want %q", got, tc.want)
			}
			if len(got) > 32 || !validName.MatchString(got) {
				t.Errorf("%q is not a valid load balancer name", got)
			}
		})
	}
}

func TestIngressTargetGroupName(t *testing.T) {
	in := IngressTargetGroupNameInput{Cluster: "c", GroupID: "default/web", IngressNamespace: "default", IngressName: "web",
		ServiceNamespace: "default", ServiceName: "web-svc", ServiceUID: "uid-1",
		ServicePort: "80", TargetGroupPort: 30080, TargetType: "instance", Protocol: "HTTP", ProtocolVersion: "HTTP1"}
	want := "k8s-default-websvc-" + h10("c", "default/web", "default", "web", "uid-1", "80", "30080", "instance", "HTTP", "HTTP1")
	if got := IngressTargetGroupName(in); got != want {
		t.Errorf("IngressTargetGroupName = %q, want %q", got, want)
	}
	in.TargetType = "ip"
	if got := IngressTargetGroupName(in); got == want {
		t.Error("the target type must change the name")
	}
	if got := IngressTargetGroupResourceID("default", "web", "web-svc", "http"); got != "default/web-web-svc:http" {
		t.Errorf("IngressTargetGroupResourceID = %q", got)
	}
}

// The managed SG of a Service that no longer exists is recognised by the shape of its
// name: only the UID in the hash is unknown.
func TestIsServiceSGName(t *testing.T) {
	real := ServiceSGName("prod", "team-a", "web", "8f7c6a2e-uid")
	tests := []struct {
		namespace, name, sg string
		want                bool
	}{
		{"team-a", "web", real, true},
		{"team-a", "web", ServiceSGName("prod", "team-a", "web", "another-uid"), true},
		{"team-a", "web", ServiceSGName("prod", "team-a", "web2", "8f7c6a2e-uid"), false},
		{"team-b", "web", real, false},
		{"team-a", "web", real + "0", false},
		{"team-a", "web", real[:len(real)-1], false},
		{"team-a", "web", real[:len(real)-1] + "G", false},
		{"team-a", "web", IngressSGName("prod", "team-a", "web"), true}, // same shape: tags tell them apart
		{"team-a", "web", BackendSGName("prod"), false},
		{"a-very-long-namespace", "a-very-long-name", ServiceSGName("prod", "a-very-long-namespace", "a-very-long-name", "u"), true},
	}
	for _, tc := range tests {
		if got := IsServiceSGName(tc.namespace, tc.name, tc.sg); got != tc.want {
			t.Errorf("IsServiceSGName(%q, %q, %q) = %t, want %t", tc.namespace, tc.name, tc.sg, got, tc.want)
		}
	}
}
