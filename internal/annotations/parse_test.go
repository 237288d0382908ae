package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"annotation", &Error{Key: SvcScheme, Value: "public",
			Reason: `must be "internal" or "internet-facing"`, Fix: "set it to internal or internet-facing, or remove it"},
			`annotation service.beta.kubernetes.io/aws-load-balancer-scheme="public": must be "internal" or "internet-facing"; fix: set it to internal or internet-facing, or remove it`},
		{"field, no fix", &Error{Key: "spec.loadBalancerSourceRanges", Value: "x", Reason: "bad"},
			`spec.loadBalancerSourceRanges="x": bad`},
		{"quotes escaped", &Error{Key: "k/k", Value: `a"b`, Reason: "r", Fix: "f"}, `annotation k/k="a\"b": r; fix: f`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestParseStringList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{" , ,", []string{}},
		{"a", []string{"a"}},
		{" sg-1 , my sg ,,sg-1", []string{"sg-1", "my sg", "sg-1"}},
		{"b,a", []string{"b", "a"}},
	}
	for _, tc := range tests {
		got := ParseStringList(tc.in)
		if got == nil {
			t.Errorf("ParseStringList(%q) = nil, want non-nil", tc.in)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseStringList(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, v := range []string{"1", "t", "T", "TRUE", "true", "True"} {
		if b, err := ParseBool("k/b", v); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v; want true", v, b, err)
		}
	}
	for _, v := range []string{"0", "f", "F", "FALSE", "false", "False"} {
		if b, err := ParseBool("k/b", v); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v; want false", v, b, err)
		}
	}
	for _, v := range []string{"", "yes", "on", " true", "2"} {
		_, err := ParseBool("k/b", v)
		if err == nil {
			t.Errorf("ParseBool(%q): want error", v)
			continue
		}
		if err.Key != "k/b" || err.Value != v || err.Fix == "" {
			t.Errorf("ParseBool(%q) error = %+v: want key, value and fix", v, err)
		}
	}
}

func TestParseStringMap(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"trimmed", " k1 = v1 , k2=v2 ,", map[string]string{"k1": "v1", "k2": "v2"}, ""},
		{"empty value", "k=", map[string]string{"k": ""}, ""},
		{"value with =", "k=a=b", map[string]string{"k": "a=b"}, ""},
		{"later duplicate wins", "k=1,k=2", map[string]string{"k": "2"}, ""},
		{"no =", "k1=v1,oops", nil, `entry "oops" has no "="`},
		{"empty key", "=v", nil, `entry "=v" has an empty key`},
		{"blank key", " =v", nil, "empty key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStringMap("k/m", tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if err.Value != tc.in || err.Fix == "" {
					t.Errorf("err = %+v: want the raw value and a fix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCIDRs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"v4 and v6", "10.0.0.0/8, 2001:db8::/32", []string{"10.0.0.0/8", "2001:db8::/32"}, ""},
		{"host bits allowed", "10.0.0.1/24", []string{"10.0.0.1/24"}, ""},
		{"empty", "", []string{}, ""},
		{"bare address", "10.0.0.1", nil, `"10.0.0.1"`},
		{"bad prefix length", "10.0.0.0/33", nil, `"10.0.0.0/33"`},
		{"all bad ones named", "1.2.3.4/32,nope,300.1.1.1/8", nil, `"nope", "300.1.1.1/8"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCIDRs("k/c", tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Reason, tc.wantErr) {
					t.Fatalf("err = %v, want reason containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePrefixLists(t *testing.T) {
	if got, err := ParsePrefixLists("k/p", "pl-0123abcd, pl-0123456789abcdef0"); err != nil ||
		!cmp.Equal(got, []string{"pl-0123abcd", "pl-0123456789abcdef0"}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"pl-", "pl-XYZ", "sg-0123", "my-list", "pl-0123,prefix"} {
		if _, err := ParsePrefixLists("k/p", bad); err == nil {
			t.Errorf("ParsePrefixLists(%q): want error", bad)
		}
	}
}
