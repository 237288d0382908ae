//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/awsproxy"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/localenv"
)

// Phase names, as the report shows them.
const (
	phaseStart     = "start-up"
	phaseCreate    = "create"
	phaseALB       = "ALB Ingress, 2 listen ports: create"
	phaseALBDelete = "ALB Ingress, 2 listen ports: delete"
	phaseIngress   = "Ingress group of 3: create"
	phaseNoop      = "no-op change"
	phaseSteady    = "steady state"
	phaseIPCreate  = "ip-target Services: create"
	phaseChurn     = "endpoint churn"
	phaseIPDelete  = "ip-target Services: delete"
	phaseIngDelete = "Ingress group of 3: delete"
	phaseDelete    = "delete"
)

// phaseResult is what one phase cost.
type phaseResult struct {
	Name string
	// Calls are the requests the proxy received from the controller, by action, from the
	// phase's first change until the phase ended (see phaseEnd): the target-SG pass that
	// follows the change ran, and then neither a call nor a pass came for opts.quiet.
	Calls awsproxy.Counts
	// Converge are the ones made until the phase's condition held, from which the bound
	// on its seconds is computed.
	Converge awsproxy.Counts
	// Injected is the number of those the proxy answered with a fault.
	Injected int
	// Own is the controller's own count of its attempts (lbsg_aws_api_calls_total) over
	// the same window, -1 if it could not be read.
	Own int
	// Passes is the number of target-SG passes that finished in the window, -1 if unknown.
	Passes int
	// Seconds is the time from the first change until the phase's condition held (for
	// the steady state: the window's length).
	Seconds   float64
	Converged bool
	// Note says why the phase did not converge, or what its end still waited for when
	// opts.settle ran out.
	Note string
}

// runResult is one controller run: one size, or the fault mix.
type runResult struct {
	N        int
	Faults   awsproxy.Faults
	Phases   []phaseResult
	Usage    usage
	Churned  int // ip-target Services whose Pods were replaced
	Err      string
	Duration time.Duration
}

func (r *runResult) phase(name string) *phaseResult {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// runner holds what every run shares: the emulator, the control plane, the binary.
type runner struct {
	opts  options
	moto  *localenv.Moto
	plane *localenv.ControlPlane
	bin   string
	dir   string
	logf  func(format string, args ...any)
}

// session is one controller run against a freshly seeded world.
type session struct {
	*runner
	w     *world
	proxy *awsproxy.Proxy
	ctrl  *controllerProc
	res   *runResult
}

// run seeds a fresh world, starts a proxy and the controller, and runs the phases; the
// controller and proxy are stopped whatever happens.
func (r *runner) run(ctx context.Context, n int, faults *awsproxy.Faults, phases func(ctx context.Context, s *session) error) (res runResult) {
	res.N = n
	started := time.Now()
	s := &session{runner: r, res: &res}
	err := func() error {
		if err := r.moto.Reset(ctx); err != nil {
			return err
		}
		awsCfg := localenv.StaticAWSConfig(r.moto.Endpoint)
		s.w = &world{k8s: r.plane.Client, ec2: ec2.NewFromConfig(awsCfg), elb: elbv2.NewFromConfig(awsCfg)}
		if err := s.w.clear(ctx); err != nil {
			return fmt.Errorf("removing the objects of an earlier run: %w", err)
		}
		var err error
		if s.w.w, err = localenv.SeedWorld(ctx, awsCfg, r.plane.Client, localenv.WorldOptions{Cluster: benchCluster, Nodes: r.opts.nodes}); err != nil {
			return err
		}
		if s.proxy, err = awsproxy.Start(r.moto.Endpoint, awsproxy.Faults{}); err != nil {
			return err
		}
		defer s.proxy.Close()
		logPath := filepath.Join(r.dir, fmt.Sprintf("controller-%s.log", runName(n, faults)))
		r.logf("  controller log: %s", logPath)
		t0 := time.Now()
		if s.ctrl, err = startController(ctx, r.bin, r.plane.Kubeconfig, s.proxy.URL, s.w.w.VPCID, logPath,
			"--aws-api-throttle="+benchThrottle.String()); err != nil {
			return err
		}
		defer func() {
			if err := s.ctrl.stop(); err != nil {
				r.logf("  %v", err)
			}
		}()
		// The start-up reads (the first target-SG pass, its discovery) are the start-up's,
		// not the first phase's.
		ready := time.Since(t0).Seconds()
		note := s.settle(ctx, passState{}, true)
		snap := s.proxy.Snapshot()
		m, err := s.ctrl.metrics(ctx)
		if err != nil {
			return err
		}
		res.Phases = append(res.Phases, phaseResult{Name: phaseStart, Calls: snap.Calls, Converge: snap.Calls, Injected: snap.InjectedTotal(),
			Own: m.Calls.Total(), Passes: m.Pass.Runs, Seconds: ready, Converged: true, Note: note})
		if faults != nil {
			res.Faults = *faults
			if err := s.proxy.SetFaults(*faults); err != nil {
				return err
			}
		}
		perr := phases(ctx, s)
		if u, err := s.ctrl.usage(); err == nil {
			res.Usage = u
		} else {
			perr = errors.Join(perr, err)
		}
		return perr
	}()
	if err != nil {
		res.Err = err.Error()
	}
	res.Duration = time.Since(started)
	return res
}

func runName(n int, faults *awsproxy.Faults) string {
	if faults != nil {
		return fmt.Sprintf("faults-%d", n)
	}
	return strconv.Itoa(n)
}

// measure runs act, then polls done until it returns "" (the phase converged) or the
// timeout passes, then waits for the phase's end (phaseEnd: the target-SG pass that
// follows the change ran, needPass says whether the change makes it run, and then the
// controller was quiet), and records the calls of the whole window.
func (s *session) measure(ctx context.Context, name string, timeout time.Duration, needPass bool, act func() error, done func() (string, error)) error {
	s.logf("  %s ...", name)
	before := s.proxy.Snapshot()
	m0, err := s.ctrl.metrics(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	start := time.Now()
	p := phaseResult{Name: name}
	err = act()
	last := ""
	if err == nil {
		deadline := start.Add(timeout)
		for {
			if err = s.ctrl.alive(); err != nil {
				break
			}
			last, err = done()
			if err != nil || last == "" {
				break
			}
			if time.Now().After(deadline) {
				err = fmt.Errorf("%s: not converged after %s: %s", name, timeout, last)
				break
			}
			if err = sleep(ctx, s.pollInterval()); err != nil {
				break
			}
		}
	}
	p.Seconds = time.Since(start).Seconds()
	p.Converged = err == nil
	p.Converge = s.proxy.Snapshot().Sub(before).Calls
	if err == nil {
		p.Note = s.settle(ctx, m0.Pass, needPass)
	} else {
		p.Note = err.Error()
	}
	d := s.proxy.Snapshot().Sub(before)
	p.Calls, p.Injected, p.Own, p.Passes = d.Calls, d.InjectedTotal(), -1, -1
	if m1, merr := s.ctrl.metrics(ctx); merr == nil {
		p.Own, p.Passes = m1.Calls.Total()-m0.Calls.Total(), m1.Pass.Runs-m0.Pass.Runs
	}
	s.res.Phases = append(s.res.Phases, p)
	s.logf("  %s: %d calls (%d mutating), %d target-SG passes, in %.1f s", name, p.Calls.Total(), p.Calls.Mutating(), p.Passes, p.Seconds)
	if p.Note != "" {
		s.logf("  %s: %s", name, p.Note)
	}
	return err
}

func (s *session) pollInterval() time.Duration {
	if s.res.N > 100 {
		return 2 * time.Second
	}
	return 500 * time.Millisecond
}

// settle waits, at most opts.settle, for the end of a phase whose condition holds (see
// phaseEnd), before being the target-SG pass before the phase's change. It returns "" when
// the phase ended, else what the end still waited for.
func (s *session) settle(ctx context.Context, before passState, needPass bool) string {
	end := newPhaseEnd(s.opts.quiet, needPass, before)
	deadline := time.Now().Add(s.opts.settle)
	for {
		m, err := s.ctrl.metrics(ctx)
		switch {
		case errors.Is(err, errNoPass) && time.Now().Before(deadline):
			// The controller has not started its pass yet.
		case err != nil:
			return err.Error()
		case end.observe(sample{At: time.Now(), Calls: s.proxy.Snapshot().Calls.Total(), Pass: m.Pass}):
			return ""
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("counted until the %s settle limit: %s", s.opts.settle, end.waitingFor())
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err.Error()
		}
	}
}

// window counts the calls over a fixed time, nothing being changed.
func (s *session) window(ctx context.Context, name string, d time.Duration) error {
	s.logf("  %s for %s ...", name, d)
	before := s.proxy.Snapshot()
	m0, err := s.ctrl.metrics(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	start := time.Now()
	if err = sleep(ctx, d); err == nil {
		err = s.ctrl.alive()
	}
	diff := s.proxy.Snapshot().Sub(before)
	p := phaseResult{Name: name, Calls: diff.Calls, Converge: diff.Calls, Injected: diff.InjectedTotal(), Own: -1, Passes: -1,
		Seconds: time.Since(start).Seconds(), Converged: err == nil}
	if m1, merr := s.ctrl.metrics(ctx); merr == nil {
		p.Own, p.Passes = m1.Calls.Total()-m0.Calls.Total(), m1.Pass.Runs-m0.Pass.Runs
	}
	if err != nil {
		p.Note = err.Error()
	}
	s.res.Phases = append(s.res.Phases, p)
	s.logf("  %s: %d calls (%d mutating) in %.0f s", name, p.Calls.Total(), p.Calls.Mutating(), p.Seconds)
	return err
}

// afterDriftCheck waits (at most a little more than lbsg's default drift-check interval)
// for the controller's next DescribeLoadBalancers, the first read of a drift check, then
// for the drift check's pass to end.
func (s *session) afterDriftCheck(ctx context.Context) {
	m, err := s.ctrl.metrics(ctx)
	if err != nil {
		s.logf("  %v", err)
		return
	}
	lbReads := func() int { return s.proxy.Snapshot().Calls.ByAction()["DescribeLoadBalancers"] }
	before := lbReads()
	deadline := time.Now().Add(75 * time.Second)
	for time.Now().Before(deadline) && lbReads() == before {
		if sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
	if note := s.settle(ctx, m.Pass, true); note != "" {
		s.logf("  after the drift check: %s", note)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// benchThrottle are the client-side limits the controller runs with: lbsg's defaults, given
// on its command line so that a --bin build runs with the same. Every bound comes from them.
var benchThrottle = cloud.DefaultThrottle()

// The calls each object of a phase makes at least, of the actions the limits hold back
// most, to size the phase's timeout by what the limits allow.
var (
	createCosts = []cloud.CallCount{
		{Service: cloud.ServiceEC2, Action: "CreateSecurityGroup", N: 1},
		{Service: cloud.ServiceEC2, Action: "AuthorizeSecurityGroupIngress", N: 1},
		{Service: cloud.ServiceELBV2, Action: "CreateLoadBalancer", N: 1},
		{Service: cloud.ServiceELBV2, Action: "CreateTargetGroup", N: 1},
		{Service: cloud.ServiceELBV2, Action: "CreateListener", N: 1},
		{Service: cloud.ServiceELBV2, Action: "RegisterTargets", N: 1},
	}
	deleteCosts = []cloud.CallCount{
		{Service: cloud.ServiceEC2, Action: "DeleteSecurityGroup", N: 1},
		{Service: cloud.ServiceELBV2, Action: "DeleteLoadBalancer", N: 1},
		{Service: cloud.ServiceELBV2, Action: "DeleteTargetGroup", N: 1},
	}
	churnCosts = []cloud.CallCount{
		{Service: cloud.ServiceELBV2, Action: "RegisterTargets", N: 1},
		{Service: cloud.ServiceELBV2, Action: "DeregisterTargets", N: 1},
	}
)

// timeout bounds a phase over n objects that each cost AWS at least each: a base, a time
// per object, and twice what the client-side limits allow for the least those make.
func (s *session) timeout(n int, each []cloud.CallCount) time.Duration {
	all := make([]cloud.CallCount, len(each))
	for i, c := range each {
		c.N *= n
		all[i] = c
	}
	bound, _, _ := benchThrottle.Bound(all)
	return s.opts.phaseTimeout + time.Duration(n)*s.opts.perObject + 2*bound
}

func nlbName(i int) string { return fmt.Sprintf("nlb-%04d", i) }

// createNLBs creates n instance-target NLB Services and waits until each has its hostname
// and its node port is open to the backend SG.
func (s *session) createNLBs(ctx context.Context, n int) error {
	return s.measure(ctx, phaseCreate, s.timeout(n, createCosts), true, func() error {
		for i := 0; i < n; i++ {
			if err := s.w.create(ctx, nlbService(nlbName(i), "instance")); err != nil {
				return err
			}
		}
		return nil
	}, func() (string, error) { return s.w.servicesReady(ctx, "nlb", n, true) })
}

// deleteNLBs deletes the NLB Services and waits until they are gone (finalizers removed)
// and the emulator holds nothing of lbsg's.
func (s *session) deleteNLBs(ctx context.Context, n int) error {
	return s.measure(ctx, phaseDelete, s.timeout(n, deleteCosts), true, func() error {
		return s.w.deleteServices(ctx, "nlb")
	}, func() (string, error) {
		if left, err := s.w.gone(ctx, &corev1.ServiceList{}, "nlb"); err != nil || left != "" {
			return left, err
		}
		return s.w.lbsgResources(ctx, "")
	})
}

// ingressCase is an Ingress workload: its members (one Ingress and backend Service each),
// their group ("" for one implicit group per Ingress) and listen ports.
type ingressCase struct {
	create, delete, kind, group, listenPorts string
	names                                    []string
}

var (
	twoPortALB = ingressCase{create: phaseALB, delete: phaseALBDelete, kind: "alb",
		listenPorts: `[{"HTTP":80},{"HTTP":8080}]`, names: []string{"web"}}
	groupOf3 = ingressCase{create: phaseIngress, delete: phaseIngDelete, kind: "group", group: "bench",
		listenPorts: `[{"HTTP":80}]`, names: []string{"ing-a", "ing-b", "ing-c"}}
)

// createIngresses creates the case's backend Services and Ingresses and waits until every
// Ingress has its hostname and every backend node port is open to the backend SG.
func (s *session) createIngresses(ctx context.Context, c ingressCase) error {
	if err := s.w.ensureIngressClass(ctx); err != nil {
		return err
	}
	return s.measure(ctx, c.create, s.timeout(len(c.names), createCosts), true, func() error {
		for i, n := range c.names {
			if err := s.w.create(ctx, backendService(n, c.kind)); err != nil {
				return err
			}
			if err := s.w.create(ctx, albIngress(n, c.kind, c.group, i+1, c.listenPorts)); err != nil {
				return err
			}
		}
		return nil
	}, func() (string, error) {
		if msg, err := s.w.ingressesReady(ctx, c.names); err != nil || msg != "" {
			return msg, err
		}
		return s.w.servicesReady(ctx, c.kind, len(c.names), true)
	})
}

// deleteIngresses deletes the case's Ingresses and backend Services and waits until the
// Ingresses are gone and no ALB is left.
func (s *session) deleteIngresses(ctx context.Context, c ingressCase) error {
	return s.measure(ctx, c.delete, s.timeout(len(c.names), deleteCosts), true, func() error {
		for _, n := range c.names {
			if err := s.w.k8s.Delete(ctx, albIngress(n, c.kind, c.group, 0, c.listenPorts)); err != nil {
				return fmt.Errorf("deleting Ingress %s: %w", n, err)
			}
		}
		return s.w.deleteServices(ctx, c.kind)
	}, func() (string, error) {
		if left, err := s.w.gone(ctx, &networkingv1.IngressList{}, c.kind); err != nil || left != "" {
			return left, err
		}
		return s.w.lbsgResources(ctx, "application")
	})
}

// noop puts an unrelated annotation on every NLB Service.
func (s *session) noop(ctx context.Context, n int) error {
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	return s.measure(ctx, phaseNoop, s.timeout(n, nil), false, func() error {
		for i := 0; i < n; i++ {
			if err := s.w.touch(ctx, nlbName(i), stamp); err != nil {
				return fmt.Errorf("annotating %s: %w", nlbName(i), err)
			}
		}
		return nil
	}, func() (string, error) { return "", nil })
}

// ipService is one running ip-target Service and its Pods.
type ipService struct {
	name, slice, tg string
	pods            map[string]string
}

const podsPerIPService = 2

func (s *session) createIPServices(ctx context.Context, c int) ([]*ipService, error) {
	var svcs []*ipService
	err := s.measure(ctx, phaseIPCreate, s.timeout(c, createCosts), true, func() error {
		for i := 0; i < c; i++ {
			ip := &ipService{name: fmt.Sprintf("ip-%02d", i)}
			svc := nlbService(ip.name, "ip")
			svc.Labels[benchLabel] = "ip"
			if err := s.w.create(ctx, svc); err != nil {
				return err
			}
			var err error
			if ip.pods, err = s.w.newPods(ctx, ip.name, podsPerIPService); err != nil {
				return err
			}
			ip.slice = ip.name + "-0"
			if err := s.w.create(ctx, endpointSlice(ip.slice, ip.name, ip.pods)); err != nil {
				return err
			}
			svcs = append(svcs, ip)
		}
		return nil
	}, func() (string, error) {
		if msg, err := s.w.servicesReady(ctx, "ip", c, false); err != nil || msg != "" {
			return msg, err
		}
		return s.targetsReady(ctx, svcs)
	})
	return svcs, err
}

func (s *session) targetsReady(ctx context.Context, svcs []*ipService) (string, error) {
	for _, ip := range svcs {
		if ip.tg == "" {
			tg, err := s.w.targetGroupOf(ctx, ip.name)
			if err != nil {
				return "", err
			}
			ip.tg = tg
		}
		if msg, err := s.w.targetsAre(ctx, ip.tg, ip.pods); err != nil || msg != "" {
			return ip.name + ": " + msg, err
		}
	}
	return "", nil
}

// churn replaces every Pod of the ip-target Services, as a rollout does.
func (s *session) churn(ctx context.Context, svcs []*ipService) error {
	s.res.Churned = len(svcs)
	return s.measure(ctx, phaseChurn, s.timeout(len(svcs), churnCosts), true, func() error {
		for _, ip := range svcs {
			pods, slice, err := s.w.replacePods(ctx, ip.name, podsPerIPService, ip.pods, ip.slice)
			if err != nil {
				return err
			}
			ip.pods, ip.slice = pods, slice
		}
		return nil
	}, func() (string, error) { return s.targetsReady(ctx, svcs) })
}

func (s *session) deleteIPServices(ctx context.Context, c int) error {
	return s.measure(ctx, phaseIPDelete, s.timeout(c, deleteCosts), true, func() error {
		return s.w.deleteServices(ctx, "ip")
	}, func() (string, error) {
		if left, err := s.w.gone(ctx, &corev1.ServiceList{}, "ip"); err != nil || left != "" {
			return left, err
		}
		lbs, err := s.w.loadBalancers(ctx)
		if err != nil {
			return "", err
		}
		// What is left are the NLBs of the instance-target Services.
		n := 0
		for _, lb := range lbs {
			if lb.Type == elbv2types.LoadBalancerTypeEnumNetwork {
				n++
			}
		}
		if n > s.res.N {
			return fmt.Sprintf("%d network load balancers, want %d", n, s.res.N), nil
		}
		return "", nil
	})
}

// sizePhases is the whole workload for one size.
func sizePhases(ctx context.Context, s *session) error {
	n := s.res.N
	if err := s.createNLBs(ctx, n); err != nil {
		return err
	}
	// Each Ingress workload is created and deleted next to the N NLBs, before the steady
	// state, so that the steady state has N stacks and nothing else.
	for _, c := range []ingressCase{twoPortALB, groupOf3} {
		if err := s.createIngresses(ctx, c); err != nil {
			return err
		}
		if err := s.deleteIngresses(ctx, c); err != nil {
			return err
		}
	}
	if err := s.noop(ctx, n); err != nil {
		return err
	}
	// The window starts right after a drift check, so that it holds as many checks as
	// whole --drift-check-interval periods fit in it, wherever the checks fall.
	s.afterDriftCheck(ctx)
	if err := s.window(ctx, phaseSteady, s.opts.steady); err != nil {
		return err
	}
	ips, err := s.createIPServices(ctx, s.opts.churn)
	if err != nil {
		return err
	}
	if err := s.churn(ctx, ips); err != nil {
		return err
	}
	if err := s.deleteIPServices(ctx, len(ips)); err != nil {
		return err
	}
	return s.deleteNLBs(ctx, n)
}

// faultPhases creates and deletes n Services under the proxy's faults.
func faultPhases(ctx context.Context, s *session) error {
	if err := s.createNLBs(ctx, s.res.N); err != nil {
		return err
	}
	return s.deleteNLBs(ctx, s.res.N)
}
