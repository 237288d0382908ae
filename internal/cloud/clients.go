// Package cloud is lbsg's boundary to AWS: the EC2 and ELBv2 clients with their endpoints,
// retries and call metrics, AWS error classification, the conversion between SDK
// permissions and sgrules values, and the observe side — batched, cached EC2 reads — plus
// the few security-group writes, which invalidate what they change.
//
// It is named cloud, not aws, so that it does not clash with the SDK's aws package.
package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
)

// SDK service IDs, the keys of Options.Endpoints (and of the --aws-api-endpoints flag).
const (
	ServiceEC2   = ec2.ServiceID   // "EC2"
	ServiceELBV2 = elbv2.ServiceID // "Elastic Load Balancing v2"
	ServiceACM   = acm.ServiceID   // "ACM": certificate discovery reads
)

// Options configures the AWS clients.
type Options struct {
	Region string
	VPCID  string
	// Endpoints maps an SDK service ID (ServiceEC2, ServiceELBV2, ServiceACM) to a base URL
	// that replaces the service's default endpoint. Other service IDs (upstream also accepts
	// WAFv2, …) are ignored, so an upstream flag value works unchanged.
	Endpoints map[string]string
	// MaxAttempts caps the SDK's attempts per operation (retries included); 0 keeps the
	// SDK's default.
	MaxAttempts int
	// Credentials replaces the default credential chain when non-nil.
	Credentials aws.CredentialsProvider
	// Registerer receives the call metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// AttemptTimeout bounds each attempt of each call; 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// AuditLog receives one line per AWS write (see package audit); the zero Logger
	// writes none.
	AuditLog logr.Logger
	// Throttle is the client-side rate limits (--aws-api-throttle, see DefaultThrottle)
	// both clients share; nil sets none.
	Throttle Throttle
}

// DefaultAttemptTimeout bounds an attempt when Options.AttemptTimeout is not set: an AWS
// call answers in well under a second, so this only ever cuts a call that hangs.
const DefaultAttemptTimeout = 30 * time.Second

// Clients holds the SDK clients lbsg uses and the counter of their calls.
type Clients struct {
	EC2    *ec2.Client
	ELBV2  *elbv2.Client
	ACM    *acm.Client
	Calls  *Calls
	VPCID  string
	Region string
}

// New loads the default AWS configuration (environment, shared files, IMDS for
// credentials), applies o, and builds the clients. It does not discover the VPC: when
// o.VPCID is empty, Clients.VPCID stays empty and the caller decides what to do.
func New(ctx context.Context, o Options) (*Clients, error) {
	if err := validateEndpoints(o.Endpoints); err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	if o.MaxAttempts > 0 {
		opts = append(opts, config.WithRetryMaxAttempts(o.MaxAttempts))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("load AWS config: no region: set --aws-region or AWS_REGION")
	}
	return newClients(cfg, o)
}

// NewFromConfig builds the clients from an existing aws.Config (tests pass the one
// localenv gives them). Fields of o that are set override cfg; endpoint keys that are not
// SDK service IDs lbsg uses are ignored, and URLs are not checked (New checks them). It panics only when
// o.Registerer holds a different collector under one of lbsg's metric names.
func NewFromConfig(cfg aws.Config, o Options) *Clients {
	c, err := newClients(cfg, o)
	if err != nil {
		panic(err)
	}
	return c
}

func newClients(cfg aws.Config, o Options) (*Clients, error) {
	calls, err := NewCalls(o.Registerer)
	if err != nil {
		return nil, err
	}
	calls.SetAuditLog(o.AuditLog)
	cfg = cfg.Copy()
	if o.Region != "" {
		cfg.Region = o.Region
	}
	if o.Credentials != nil {
		cfg.Credentials = o.Credentials
	}
	timeout := o.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	// The timeout is added after the call counter, so it sits inside it: a timed-out
	// attempt is counted, with its own outcome.
	cfg.APIOptions = append(slices.Clone(cfg.APIOptions), calls.Middleware(), timeoutMiddleware(timeout))
	if len(o.Throttle) > 0 {
		// One throttler for both clients: a rule's bucket is shared by every call it matches.
		cfg.APIOptions = append(cfg.APIOptions, throttleOption(newThrottler(o.Throttle)))
	}
	ec2Client := ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		if u := o.Endpoints[ServiceEC2]; u != "" {
			eo.BaseEndpoint = aws.String(u)
		}
		if o.MaxAttempts > 0 {
			eo.RetryMaxAttempts = o.MaxAttempts
		}
	})
	elbClient := elbv2.NewFromConfig(cfg, func(eo *elbv2.Options) {
		if u := o.Endpoints[ServiceELBV2]; u != "" {
			eo.BaseEndpoint = aws.String(u)
		}
		if o.MaxAttempts > 0 {
			eo.RetryMaxAttempts = o.MaxAttempts
		}
	})
	acmClient := acm.NewFromConfig(cfg, func(ao *acm.Options) {
		if u := o.Endpoints[ServiceACM]; u != "" {
			ao.BaseEndpoint = aws.String(u)
		}
		if o.MaxAttempts > 0 {
			ao.RetryMaxAttempts = o.MaxAttempts
		}
	})
	return &Clients{
		EC2:    ec2Client,
		ELBV2:  elbClient,
		ACM:    acmClient,
		Calls:  calls,
		VPCID:  o.VPCID,
		Region: cfg.Region,
	}, nil
}

func validateEndpoints(m map[string]string) error {
	for k, v := range m {
		if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return fmt.Errorf("AWS endpoint for %s: %q is not an http(s) URL", k, v)
		}
	}
	return nil
}
