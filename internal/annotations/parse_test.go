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
		in      string
		want    []string
		wantErr string
	}{
		{"a", []string{"a"}, ""},
		{" sg-1 , my sg , sg-1", []string{"sg-1", "my sg", "sg-1"}, ""},
		{"b,a", []string{"b", "a"}, ""},
		{"", nil, "the value is empty"},
		{"  ", nil, "the value is empty"},
		{" , ,", nil, "entry 1 of the comma-separated list is empty"},
		{"a,,b", nil, "entry 2 of the comma-separated list is empty"},
		{"a,b,", nil, "entry 3 of the comma-separated list is empty"},
	}
	for _, tc := range tests {
		got, err := ParseStringList("k/l", tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Reason, tc.wantErr) || err.Key != "k/l" || err.Value != tc.in || err.Fix == "" {
				t.Errorf("ParseStringList(%q) error = %v, want key, value, fix and %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseStringList(%q): unexpected %v", tc.in, err)
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
		{"empty", "", nil, "the value is empty"},
		{"trailing comma", " k1 = v1 , k2=v2 ,", nil, "entry 3 of the comma-separated list is empty"},
		{"trimmed", " k1 = v1 , k2=v2 ", map[string]string{"k1": "v1", "k2": "v2"}, ""},
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
		name        string
		in          string
		want        []string
		wantChanged []CIDRChange
		wantErr     string
	}{
		{"v4 and v6", "10.0.0.0/8, 2001:db8::/32", []string{"10.0.0.0/8", "2001:db8::/32"}, nil, ""},
		{"host bits give the network", "10.0.0.1/24", []string{"10.0.0.0/24"},
			[]CIDRChange{{Key: "k/c", Written: "10.0.0.1/24", Canonical: "10.0.0.0/24"}}, ""},
		{"upper-case IPv6 canonicalised", "2001:DB8:0:0::/32", []string{"2001:db8::/32"},
			[]CIDRChange{{Key: "k/c", Written: "2001:DB8:0:0::/32", Canonical: "2001:db8::/32"}}, ""},
		{"IPv6 host bits", "2001:db8::1/64", []string{"2001:db8::/64"},
			[]CIDRChange{{Key: "k/c", Written: "2001:db8::1/64", Canonical: "2001:db8::/64"}}, ""},
		{"empty", "", nil, nil, "the value is empty"},
		{"empty element", "10.0.0.0/8,,10.1.0.0/16", nil, nil, "entry 2"},
		{"bare address", "10.0.0.1", nil, nil, `"10.0.0.1"`},
		{"bad prefix length", "10.0.0.0/33", nil, nil, `"10.0.0.0/33"`},
		{"leading zero in the mask", "10.0.0.0/08", nil, nil, `"10.0.0.0/08"`},
		{"leading zero in the IPv6 mask", "::/00", nil, nil, `"::/00"`},
		{"leading zero in an octet", "010.0.0.0/8", nil, nil, `"010.0.0.0/8"`},
		{"zone", "fe80::1%eth0/64", nil, nil, `"fe80::1%eth0/64"`},
		{"IPv4-mapped IPv6", "::ffff:10.0.0.0/104", nil, nil, `"::ffff:10.0.0.0/104"`},
		{"all bad ones named", "1.2.3.4/32,nope,300.1.1.1/8", nil, nil, `"nope", "300.1.1.1/8"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := ParseCIDRs("k/c", tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Reason, tc.wantErr) {
					t.Fatalf("err = %v, want reason containing %q", err, tc.wantErr)
				}
				if err.Value != tc.in {
					t.Errorf("err.Value = %q, want the annotation's value %q", err.Value, tc.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantChanged, changed); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCIDRChangeMessageShowsTheCanonicalForm(t *testing.T) {
	tests := []struct {
		c    CIDRChange
		want string
	}{
		{CIDRChange{Key: SvcSourceRanges, Written: "10.0.0.1/8", Canonical: "10.0.0.0/8"},
			`annotation service.beta.kubernetes.io/load-balancer-source-ranges: CIDR "10.0.0.1/8" has host bits set; lbsg uses 10.0.0.0/8, the network it names, as AWS stores it; fix: write 10.0.0.0/8`},
		{CIDRChange{Key: "spec.loadBalancerSourceRanges", Written: "2001:DB8::/32", Canonical: "2001:db8::/32"},
			`spec.loadBalancerSourceRanges: CIDR "2001:DB8::/32" is not in canonical form; lbsg uses 2001:db8::/32, the network it names, as AWS stores it; fix: write 2001:db8::/32`},
	}
	for _, tc := range tests {
		if got := tc.c.Message(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestParsePrefixLists(t *testing.T) {
	if got, err := ParsePrefixLists("k/p", "pl-0123abcd, pl-0123456789abcdef0"); err != nil ||
		!cmp.Equal(got, []string{"pl-0123abcd", "pl-0123456789abcdef0"}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"pl-", "pl-XYZ", "sg-0123", "my-list", "pl-0123,prefix", "", " ", "pl-0123,,pl-0456"} {
		if _, err := ParsePrefixLists("k/p", bad); err == nil {
			t.Errorf("ParsePrefixLists(%q): want error", bad)
		}
	}
}
