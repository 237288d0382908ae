// Package acmcerts finds the ACM certificates of Ingress hosts (certificate discovery):
// the issued certificates whose domain names match a host, exactly or by a wildcard.
// Certificates change rarely, so the list is read at most once per ListTTL and the domains
// of a certificate once for as long as it is listed: AWS calls do not grow with the number
// of Ingresses or reconciles.
package acmcerts

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// API is the part of the ACM client discovery uses.
type API interface {
	ListCertificates(context.Context, *acm.ListCertificatesInput, ...func(*acm.Options)) (*acm.ListCertificatesOutput, error)
	DescribeCertificate(context.Context, *acm.DescribeCertificateInput, ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error)
}

// DefaultListTTL is how long a certificate list is used before it is read again: a
// certificate issued (or imported) for a new Ingress is found within it.
const DefaultListTTL = time.Minute

// keyTypes are the key types discovery considers; ACM lists only RSA_2048 keys unless
// asked for others.
var keyTypes = []acmtypes.KeyAlgorithm{
	acmtypes.KeyAlgorithmRsa1024, acmtypes.KeyAlgorithmRsa2048, acmtypes.KeyAlgorithmRsa3072, acmtypes.KeyAlgorithmRsa4096,
	acmtypes.KeyAlgorithmEcPrime256v1, acmtypes.KeyAlgorithmEcSecp384r1, acmtypes.KeyAlgorithmEcSecp521r1,
}

// Discovery matches hosts to certificates, with its own cache. It is safe for concurrent use.
type Discovery struct {
	api     API
	ListTTL time.Duration
	Now     func() time.Time

	mu      sync.Mutex
	listed  time.Time
	valid   bool
	domains map[string][]string // issued certificate ARN -> its domain names, lower case
}

// New returns a discovery over api with the default TTL.
func New(api API) *Discovery {
	return &Discovery{api: api, ListTTL: DefaultListTTL, Now: time.Now, domains: map[string][]string{}}
}

// Match returns, for each host, the ARNs of the issued certificates that cover it, sorted;
// a host no certificate covers maps to nothing. No hosts makes no AWS call.
func (d *Discovery) Match(ctx context.Context, hosts []string) (map[string][]string, error) {
	out := make(map[string][]string, len(hosts))
	if len(hosts) == 0 {
		return out, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return nil, err
	}
	for _, h := range hosts {
		h = strings.ToLower(h)
		var arns []string
		for arn, domains := range d.domains {
			for _, dom := range domains {
				if Covers(dom, h) {
					arns = append(arns, arn)
					break
				}
			}
		}
		sort.Strings(arns)
		out[h] = arns
	}
	return out, nil
}

// Invalidate makes the next Match read the list again.
func (d *Discovery) Invalidate() {
	d.mu.Lock()
	d.valid = false
	d.mu.Unlock()
}

// refresh reads the list of issued certificates when it is older than ListTTL, and the
// domains of the certificates it has not seen.
func (d *Discovery) refresh(ctx context.Context) error {
	now := d.Now()
	if d.valid && now.Sub(d.listed) < d.ListTTL {
		return nil
	}
	seen := map[string]bool{}
	fresh := map[string][]string{}
	p := acm.NewListCertificatesPaginator(d.api, &acm.ListCertificatesInput{
		CertificateStatuses: []acmtypes.CertificateStatus{acmtypes.CertificateStatusIssued},
		Includes:            &acmtypes.Filters{KeyTypes: keyTypes},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list ACM certificates: %w", err)
		}
		for _, s := range page.CertificateSummaryList {
			arn := aws.ToString(s.CertificateArn)
			if arn == "" || seen[arn] {
				continue
			}
			seen[arn] = true
			if doms, ok := d.domains[arn]; ok {
				fresh[arn] = doms
				continue
			}
			// The summary carries the names unless the certificate has more than it holds.
			if len(s.SubjectAlternativeNameSummaries) > 0 && !aws.ToBool(s.HasAdditionalSubjectAlternativeNames) {
				fresh[arn] = lower(aws.ToString(s.DomainName), s.SubjectAlternativeNameSummaries)
				continue
			}
			out, err := d.api.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
			if err != nil {
				return fmt.Errorf("describe ACM certificate %s: %w", arn, err)
			}
			if c := out.Certificate; c != nil {
				fresh[arn] = lower(aws.ToString(c.DomainName), c.SubjectAlternativeNames)
			}
		}
	}
	d.domains, d.listed, d.valid = fresh, now, true
	return nil
}

func lower(domain string, sans []string) []string {
	out := []string{}
	for _, n := range append([]string{domain}, sans...) {
		if n = strings.ToLower(n); n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Covers reports whether a certificate's domain name covers a host: the same name, or a
// wildcard "*.example.com" for a name one label below it ("www.example.com", not
// "example.com" nor "a.b.example.com"). Both are lower case.
func Covers(domain, host string) bool {
	if domain == host {
		return true
	}
	rest, ok := strings.CutPrefix(domain, "*.")
	if !ok {
		return false
	}
	label, parent, ok := strings.Cut(host, ".")
	return ok && label != "" && label != "*" && parent == rest
}
