package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/lbsg/lbsg/internal/cloud"
)

// Readiness timing: AWS is asked at most once per AWSProbeInterval whatever the probe
// rate, and each question is bounded.
const (
	AWSProbeInterval = 30 * time.Second
	awsRetryInterval = 5 * time.Second
	awsProbeTimeout  = 5 * time.Second
	cacheSyncWait    = time.Second
)

// addReadyzChecks makes /readyz true only when the informer caches have synced (before,
// reconciles would plan from a partial view of the cluster) and AWS answers. /healthz
// stays a ping: a slow AWS is no reason to restart the process.
func addReadyzChecks(mgr ctrl.Manager, api cloud.EC2API, vpcID string) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers-synced", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), cacheSyncWait)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return fmt.Errorf("the informer caches have not synced yet")
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("aws", newAWSProbe(api, vpcID, time.Now).check)
}

// awsProbe answers whether AWS is reachable from one cheap read (DescribeVpcs of the
// cluster's VPC), remembered for AWSProbeInterval.
type awsProbe struct {
	api   cloud.EC2API
	vpcID string
	now   func() time.Time

	mu   sync.Mutex
	at   time.Time
	last error
}

func newAWSProbe(api cloud.EC2API, vpcID string, now func() time.Time) *awsProbe {
	return &awsProbe{api: api, vpcID: vpcID, now: now}
}

func (p *awsProbe) check(req *http.Request) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ttl := AWSProbeInterval
	if p.last != nil {
		ttl = awsRetryInterval // notice soon that AWS is back
	}
	if !p.at.IsZero() && p.now().Sub(p.at) < ttl {
		return p.last
	}
	ctx, cancel := context.WithTimeout(req.Context(), awsProbeTimeout)
	defer cancel()
	_, err := p.api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{p.vpcID}}}})
	if err != nil {
		err = fmt.Errorf("AWS is not reachable: DescribeVpcs %s: %w", p.vpcID, err)
	}
	p.at, p.last = p.now(), err
	return err
}
