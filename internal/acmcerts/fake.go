package acmcerts

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// FakeAPI is an in-memory ACM for unit tests: certificates with a status and names, and
// a count of calls by operation.
type FakeAPI struct {
	mu    sync.Mutex
	certs map[string]FakeCertificate
	Calls map[string]int
	// Summaries makes ListCertificates return the names in the summaries, as AWS does;
	// without it the caller must describe each certificate, as with moto.
	Summaries bool
}

// FakeCertificate is one certificate of FakeAPI.
type FakeCertificate struct {
	Domain string
	SANs   []string
	Status acmtypes.CertificateStatus
}

// NewFakeAPI returns an empty fake.
func NewFakeAPI() *FakeAPI {
	return &FakeAPI{certs: map[string]FakeCertificate{}, Calls: map[string]int{}}
}

// Put adds or replaces a certificate.
func (f *FakeAPI) Put(arn string, c FakeCertificate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Status == "" {
		c.Status = acmtypes.CertificateStatusIssued
	}
	f.certs[arn] = c
}

func (f *FakeAPI) ListCertificates(_ context.Context, in *acm.ListCertificatesInput, _ ...func(*acm.Options)) (*acm.ListCertificatesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls["ListCertificates"]++
	arns := make([]string, 0, len(f.certs))
	for arn := range f.certs {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	out := &acm.ListCertificatesOutput{}
	for _, arn := range arns {
		c := f.certs[arn]
		if len(in.CertificateStatuses) > 0 && !containsStatus(in.CertificateStatuses, c.Status) {
			continue
		}
		s := acmtypes.CertificateSummary{CertificateArn: aws.String(arn), DomainName: aws.String(c.Domain), Status: c.Status}
		if f.Summaries {
			s.SubjectAlternativeNameSummaries = append([]string(nil), c.SANs...)
		}
		out.CertificateSummaryList = append(out.CertificateSummaryList, s)
	}
	return out, nil
}

func (f *FakeAPI) DescribeCertificate(_ context.Context, in *acm.DescribeCertificateInput, _ ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls["DescribeCertificate"]++
	c, ok := f.certs[aws.ToString(in.CertificateArn)]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: %s", aws.ToString(in.CertificateArn))
	}
	return &acm.DescribeCertificateOutput{Certificate: &acmtypes.CertificateDetail{CertificateArn: in.CertificateArn,
		DomainName: aws.String(c.Domain), SubjectAlternativeNames: append([]string(nil), c.SANs...), Status: c.Status}}, nil
}

func containsStatus(list []acmtypes.CertificateStatus, s acmtypes.CertificateStatus) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
