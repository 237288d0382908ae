//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tenantPodLabel marks the tenant's Pods of the memory run.
const tenantPodLabel = "tenant-pod"

// payloadAnnotation is the tenant's large annotation, which lbsg never reads.
const payloadAnnotation = "bench.lbsg.io/payload"

// tenantResult is the memory run: the controller's memory when idle, after a tenant
// created many pending Pods with large annotations, and after a restart with them in
// place (the informers then list them all at once).
type tenantResult struct {
	Pods, AnnotationKiB int
	Idle, Loaded        usage
	Restarted           usage
	CreateSeconds       float64
	Err                 string
}

// tenantPhases returns the phases of the memory run, which fill res.
func tenantPhases(res *tenantResult) func(ctx context.Context, s *session) error {
	return func(ctx context.Context, s *session) error {
		var err error
		if res.Idle, err = s.steadyUsage(ctx); err != nil {
			return err
		}
		s.logf("  idle: RSS %s, peak %s", mib(res.Idle.RSS), mib(res.Idle.PeakRSS))
		s.logf("  creating %d pending Pods with %d KiB annotations ...", res.Pods, res.AnnotationKiB)
		start := time.Now()
		payload := strings.Repeat("x", res.AnnotationKiB<<10)
		for i := 0; i < res.Pods; i++ {
			if err := s.w.create(ctx, tenantPod(i, payload)); err != nil {
				return err
			}
			if err := s.ctrl.alive(); err != nil {
				return err
			}
		}
		res.CreateSeconds = time.Since(start).Seconds()
		if res.Loaded, err = s.steadyUsage(ctx); err != nil {
			return err
		}
		s.logf("  with the Pods: RSS %s, peak %s", mib(res.Loaded.RSS), mib(res.Loaded.PeakRSS))
		s.logf("  restarting the controller ...")
		if err := s.ctrl.stop(); err != nil {
			return err
		}
		restarted, err := startController(ctx, s.bin, s.plane.Kubeconfig, s.proxy.URL, s.w.w.VPCID,
			filepath.Join(s.dir, "controller-tenant-restarted.log"))
		if err != nil {
			return err
		}
		s.ctrl = restarted
		if res.Restarted, err = s.steadyUsage(ctx); err != nil {
			return err
		}
		s.logf("  restarted with the Pods: RSS %s, peak %s", mib(res.Restarted.RSS), mib(res.Restarted.PeakRSS))
		return s.w.k8s.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(benchNamespace),
			client.MatchingLabels{benchLabel: tenantPodLabel}, client.GracePeriodSeconds(0))
	}
}

// tenantPod is a pending Pod (no node, no IP) carrying the payload in an annotation.
func tenantPod(i int, payload string) *corev1.Pod {
	p := pod(fmt.Sprintf("tenant-%04d", i), "tenant")
	p.Labels[benchLabel] = tenantPodLabel
	p.Annotations = map[string]string{payloadAnnotation: payload}
	return p
}

// steadyUsage waits until the controller's RSS has not grown for opts.quiet (at most
// opts.settle), so that the informers have taken in what was just written, and returns its
// usage then.
func (s *session) steadyUsage(ctx context.Context) (usage, error) {
	u, err := s.ctrl.usage()
	if err != nil {
		return u, err
	}
	deadline := time.Now().Add(s.opts.settle)
	since := time.Now()
	for time.Now().Before(deadline) && time.Since(since) < s.opts.quiet {
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return u, err
		}
		if err := s.ctrl.alive(); err != nil {
			return u, err
		}
		now, err := s.ctrl.usage()
		if err != nil {
			return u, err
		}
		if now.PeakRSS > u.PeakRSS || now.RSS > u.RSS+1<<20 {
			since = time.Now()
		}
		u = now
	}
	return u, nil
}

// runTenant runs the memory run and returns its result.
func (r *runner) runTenant(ctx context.Context) *tenantResult {
	res := &tenantResult{Pods: r.opts.tenantPods, AnnotationKiB: r.opts.tenantKiB}
	run := r.run(ctx, 0, nil, tenantPhases(res))
	if run.Err != "" {
		res.Err = run.Err
	}
	// A failed run leaves its Pods behind; remove them now, they weigh on the control plane.
	if err := r.plane.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(benchNamespace),
		client.MatchingLabels{benchLabel: tenantPodLabel}, client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
		r.logf("  removing the tenant's Pods: %v", err)
	}
	return res
}

// tenantMarkdown renders the memory run.
func (r *report) tenantMarkdown(p func(format string, args ...any)) {
	t := r.Tenant
	if t == nil {
		return
	}
	p("\n## Memory with a tenant's Pods\n\n")
	p("A tenant creates %d pending Pods, each with a %d KiB annotation lbsg does not read, while the controller runs ", t.Pods, t.AnnotationKiB)
	p("(no load balancer exists); then the controller is restarted with them in place, so its informers list them all at once. ")
	p("RSS is the controller's VmRSS once it stopped growing for %s; peak RSS its VmHWM since it started. ", r.Opts.quiet)
	p("The issue measured lbsg before issue 15 going from 57 MB to 315 MB with 700 such Pods of 250 KB; ")
	p("on this machine, lbsg before issue 15 (commit %s) measured %s.\n\n", beforeIssue15Commit, beforeIssue15)
	p("| | RSS | peak RSS |\n|---|---|---|\n")
	p("| idle, after start-up | %s | %s |\n", mib(t.Idle.RSS), mib(t.Idle.PeakRSS))
	p("| after the tenant created the Pods (%.0f s) | %s | %s |\n", t.CreateSeconds, mib(t.Loaded.RSS), mib(t.Loaded.PeakRSS))
	p("| restarted with the Pods in place | %s | %s |\n", mib(t.Restarted.RSS), mib(t.Restarted.PeakRSS))
	if t.Err != "" {
		p("\nThe memory run did not complete: `%s`\n", oneLine(t.Err))
	}
}

// lbsg before issue 15 in the same memory run, measured on the machine of docs/benchmarks.md
// with --bin; a reference, as the upstream figures are.
const (
	beforeIssue15Commit = "d0c7b42"
	beforeIssue15       = "45 MiB idle, 390 MiB once a tenant created 1,000 such Pods of 250 KiB, and 390 MiB restarted with them"
)
