//go:build linux

// Command bench measures what lbsg costs AWS and the machine it runs on, end to end: it
// starts kube-apiserver and etcd (envtest) and the moto emulator behind lbsg's counting,
// fault-injecting proxy (internal/awsproxy), runs `lbsg controller` as a subprocess against
// them, and for each number N of NLB Services counts the AWS calls, by action, of creating
// them (and an Ingress group of 3), a no-op change, a steady state, endpoint churn and
// deleting everything, with the seconds each took to converge against the least time the
// controller's client-side limits allow, and the controller's peak RSS and CPU time; then the same create and delete of a few Services under throttling and
// server errors; then its memory while a tenant creates many Pods with large annotations.
// It writes docs/benchmarks.md and docs/benchmarks.png.
//
// Run it from the repository root with `make bench` (BENCH_SIZES=1,20 for a quick run). It is
// a benchmark, not a test: nothing here runs under `go test`, and no figure is asserted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lbsg/lbsg/internal/awsproxy"
	"github.com/lbsg/lbsg/internal/localenv"
)

type options struct {
	sizes        []int
	steady       time.Duration
	churn        int
	nodes        int
	faultN       int
	throttle     float64
	serverError  float64
	seed         int64
	quiet        time.Duration
	settle       time.Duration
	phaseTimeout time.Duration
	perObject    time.Duration
	total        time.Duration
	markdown     string
	plot         string
	keepLogs     bool
	tenantPods   int
	tenantKiB    int
	bin          string
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&sizes, "sizes", "1,20,100,500,1000", "numbers of NLB Services to measure, comma-separated (none: skip)")
	flag.DurationVar(&o.steady, "steady", 2*time.Minute, "how long to count calls in the steady state")
	flag.IntVar(&o.churn, "churn-services", 3, "ip-target Services whose Pods are replaced in the endpoint churn")
	flag.IntVar(&o.nodes, "nodes", 3, "nodes (EC2 instances) of the seeded cluster")
	flag.IntVar(&o.faultN, "fault-services", 10, "Services created and deleted under the fault mix (0: skip)")
	flag.Float64Var(&o.throttle, "fault-throttle", 0.25, "share of requests answered with a throttling error in the fault mix")
	flag.Float64Var(&o.serverError, "fault-5xx", 0.05, "share of requests answered with HTTP 500/503 in the fault mix")
	flag.Int64Var(&o.seed, "fault-seed", 1, "seed of the proxy's fault draw")
	flag.DurationVar(&o.quiet, "quiet", 5*time.Second, "a phase ends once the target-SG pass that follows its change ran and neither an AWS call nor a pass came for this long")
	flag.DurationVar(&o.settle, "settle", 60*time.Second, "at most this long waiting for a phase's end after it converged")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 3*time.Minute, "base time a phase may take to converge")
	flag.DurationVar(&o.perObject, "per-object", 2*time.Second, "extra time a phase may take per object it creates or deletes, besides twice what the client-side limits allow")
	flag.DurationVar(&o.total, "timeout", 6*time.Hour, "the whole bench's time limit")
	flag.StringVar(&o.markdown, "out", "docs/benchmarks.md", "the report to write")
	flag.StringVar(&o.plot, "plot", "docs/benchmarks.png", "the plot to write")
	flag.BoolVar(&o.keepLogs, "keep-logs", false, "keep the controller logs (their directory is printed)")
	flag.IntVar(&o.tenantPods, "tenant-pods", 1000, "pending Pods with a large annotation a tenant creates in the memory run (0: skip)")
	flag.IntVar(&o.tenantKiB, "tenant-annotation-kib", 250, "KiB of each tenant Pod's annotation (at most 255: the apiserver's limit)")
	flag.StringVar(&o.bin, "bin", "", "measure this lbsg binary instead of building the working tree (to compare two builds)")
	flag.Parse()
	var err error
	if o.sizes, err = parseSizes(sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.tenantKiB < 1 || o.tenantKiB > 255 {
		fmt.Fprintln(os.Stderr, "bench: --tenant-annotation-kib: from 1 to 255")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 5000 {
			return nil, fmt.Errorf("--sizes: %q is not a number of Services from 1 to 5000", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--sizes: no size given")
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(o options) (err error) {
	// envtest logs through controller-runtime; the bench prints its own progress.
	ctrl.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.total)
	defer cancel()

	m := collectMachine(ctx)
	logf("machine: %s, %d cores, %s memory, %s", m.CPU, m.Cores, m.Memory, m.Go)
	dir, err := os.MkdirTemp("", "lbsg-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keepLogs || err != nil {
			logf("controller logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()

	bin := o.bin
	if bin == "" {
		logf("building lbsg")
		if bin, err = buildController(ctx, dir); err != nil {
			return err
		}
	} else {
		m.Commit = "binary " + bin
	}
	logf("starting moto")
	moto, err := localenv.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, moto.Close()) }()
	m.Moto = motoVersion(ctx)
	logf("starting etcd and kube-apiserver")
	plane, err := localenv.StartControlPlane(ctx, localenv.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, plane.Stop()) }()

	r := &runner{opts: o, moto: moto, plane: plane, bin: bin, dir: dir, logf: logf}
	rep := report{Machine: m, Opts: o, Started: time.Now()}
	for _, n := range o.sizes {
		if ctx.Err() != nil {
			break
		}
		logf("N = %d NLB Services", n)
		res := r.run(ctx, n, nil, sizePhases)
		if res.Err != "" {
			logf("N = %d failed: %s", n, res.Err)
		}
		rep.Sizes = append(rep.Sizes, res)
	}
	if o.faultN > 0 && ctx.Err() == nil {
		f := awsproxy.Faults{Seed: o.seed, Throttle: o.throttle, ServerError: o.serverError}
		logf("%d NLB Services under %.0f %% throttling + %.0f %% 5xx", o.faultN, 100*f.Throttle, 100*f.ServerError)
		res := r.run(ctx, o.faultN, &f, faultPhases)
		if res.Err != "" {
			logf("fault run failed: %s", res.Err)
		}
		rep.Faults = &res
	}
	if o.tenantPods > 0 && ctx.Err() == nil {
		logf("memory: %d pending Pods with %d KiB annotations", o.tenantPods, o.tenantKiB)
		rep.Tenant = r.runTenant(ctx)
		if rep.Tenant.Err != "" {
			logf("memory run failed: %s", rep.Tenant.Err)
		}
	}
	rep.Finished = time.Now()
	if ctx.Err() != nil {
		return fmt.Errorf("stopped before the end (%w); no report written", ctx.Err())
	}
	if err := rep.write(o.markdown, o.plot); err != nil {
		return err
	}
	logf("wrote %s and %s", o.markdown, o.plot)
	for _, s := range rep.Sizes {
		if s.Err != "" {
			return fmt.Errorf("N = %d did not complete: %s", s.N, s.Err)
		}
	}
	if rep.Faults != nil && rep.Faults.Err != "" {
		return fmt.Errorf("the fault run did not complete: %s", rep.Faults.Err)
	}
	if rep.Tenant != nil && rep.Tenant.Err != "" {
		return fmt.Errorf("the memory run did not complete: %s", rep.Tenant.Err)
	}
	return nil
}
