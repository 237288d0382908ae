package acmcerts

import (
	"context"
	"testing"
	"time"

	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/google/go-cmp/cmp"
)

func TestCoversExactAndOneLevelWildcard(t *testing.T) {
	for _, c := range []struct {
		domain, host string
		want         bool
	}{
		{"www.example.com", "www.example.com", true},
		{"*.example.com", "www.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "*.example.com", true},
		{"www.example.com", "api.example.com", false},
		{"*.example.com", "wwwexample.com", false},
	} {
		if got := Covers(c.domain, c.host); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.domain, c.host, got, c.want)
		}
	}
}

func TestMatchFindsIssuedCertificatesByName(t *testing.T) {
	api := NewFakeAPI()
	api.Put("arn:www", FakeCertificate{Domain: "www.example.com"})
	api.Put("arn:wild", FakeCertificate{Domain: "example.com", SANs: []string{"*.example.com"}})
	api.Put("arn:pending", FakeCertificate{Domain: "api.example.com", Status: acmtypes.CertificateStatusPendingValidation})
	got, err := New(api).Match(context.Background(), []string{"WWW.example.com", "api.example.com", "example.com", "other.org"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"www.example.com": {"arn:wild", "arn:www"}, "api.example.com": {"arn:wild"}, "example.com": {"arn:wild"}, "other.org": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}
}

// TestDiscoveryCallsDoNotGrowWithLookups guards the cache: any number of lookups within
// the TTL costs one list and one describe per certificate; after it, one list again.
func TestDiscoveryCallsDoNotGrowWithLookups(t *testing.T) {
	api := NewFakeAPI()
	api.Put("arn:a", FakeCertificate{Domain: "a.example.com"})
	api.Put("arn:b", FakeCertificate{Domain: "b.example.com"})
	now := time.Unix(0, 0)
	d := New(api)
	d.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := d.Match(ctx, nil); err != nil || len(api.Calls) != 0 {
		t.Fatalf("no hosts: calls %v, err %v", api.Calls, err)
	}
	for i := 0; i < 50; i++ {
		if _, err := d.Match(ctx, []string{"a.example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(map[string]int{"ListCertificates": 1, "DescribeCertificate": 2}, api.Calls); diff != "" {
		t.Errorf("calls within the TTL (-want +got):\n%s", diff)
	}
	now = now.Add(DefaultListTTL)
	api.Put("arn:c", FakeCertificate{Domain: "c.example.com"})
	got, err := d.Match(ctx, []string{"c.example.com"})
	if err != nil || len(got["c.example.com"]) != 1 {
		t.Fatalf("new certificate not found: %v %v", got, err)
	}
	if diff := cmp.Diff(map[string]int{"ListCertificates": 2, "DescribeCertificate": 3}, api.Calls); diff != "" {
		t.Errorf("calls after the TTL (-want +got):\n%s", diff)
	}
}

func TestSummariesWithNamesNeedNoDescribe(t *testing.T) {
	api := NewFakeAPI()
	api.Summaries = true
	api.Put("arn:a", FakeCertificate{Domain: "a.example.com", SANs: []string{"a.example.com", "*.a.example.com"}})
	got, err := New(api).Match(context.Background(), []string{"x.a.example.com"})
	if err != nil || len(got["x.a.example.com"]) != 1 || api.Calls["DescribeCertificate"] != 0 {
		t.Errorf("matches %v, calls %v, err %v", got, api.Calls, err)
	}
}
