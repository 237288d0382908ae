//go:build linux

package main

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lbsg/lbsg/internal/awsproxy"
	"github.com/lbsg/lbsg/internal/cloud"
)

// report is everything one bench run measured.
type report struct {
	Machine           machine
	Opts              options
	Started, Finished time.Time
	Sizes             []runResult
	Faults            *runResult
	Tenant            *tenantResult
}

func (r *report) size(n int) *runResult {
	for i := range r.Sizes {
		if r.Sizes[i].N == n {
			return &r.Sizes[i]
		}
	}
	return nil
}

func (r *report) smallest() *runResult {
	if len(r.Sizes) == 0 {
		return nil
	}
	s := &r.Sizes[0]
	for i := range r.Sizes {
		if r.Sizes[i].N < s.N {
			s = &r.Sizes[i]
		}
	}
	return s
}

const notRun = "not run"

// calls renders "total (mutating)" of a phase of a run, or why there is none.
func calls(res *runResult, phase string) string {
	if res == nil {
		return notRun
	}
	p := res.phase(phase)
	if p == nil {
		return "did not get there"
	}
	s := fmt.Sprintf("%d (%d)", p.Calls.Total(), p.Calls.Mutating())
	if !p.Converged {
		s += " not converged"
	}
	return s
}

func perMinute(res *runResult) string {
	if res == nil {
		return notRun
	}
	p := res.phase(phaseSteady)
	if p == nil || p.Seconds <= 0 {
		return "did not get there"
	}
	return fmt.Sprintf("%.1f per minute", float64(p.Calls.Total())/(p.Seconds/60))
}

func seconds(res *runResult, phase string) string {
	if res == nil {
		return notRun
	}
	p := res.phase(phase)
	if p == nil || !p.Converged {
		return "did not converge"
	}
	return fmt.Sprintf("%.1f s", p.Seconds)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// refRow is a row of the first table: the upstream controller's figure and lbsg's
// before the issue, both measured on the reference machine, beside this run's.
type refRow struct {
	work, upstream, before string
	got                    func(*report) string
}

var refRows = []refRow{
	{"create one NLB Service (managed SG, new backend SG): AWS calls (mutating)", "29 (9)", "42 (8)",
		func(r *report) string { return calls(r.size(1), phaseCreate) }},
	{"delete it", "11 (6)", "24 (5)", func(r *report) string { return calls(r.size(1), phaseDelete) }},
	{"one ALB Ingress, 2 listen ports", "34 (11)", "50 (11)", func(r *report) string { return calls(r.smallest(), phaseALB) }},
	{"an Ingress group of 3", "50 (19)", "89 (18)", func(r *report) string { return calls(r.smallest(), phaseIngress) }},
	{"20 NLB Services", "458 (148)", "572 (130)", func(r *report) string { return calls(r.size(20), phaseCreate) }},
	{"no-op change (unrelated annotation)", "17", "4", func(r *report) string { return calls(r.size(1), phaseNoop) }},
	{"steady state, nothing changes, 1 Service", "0 per minute", "12 per minute", func(r *report) string { return perMinute(r.size(1)) }},
	{"10 Services under 25 % throttling + 5 % 5xx: converge / delete", "70 s / 85 s, 544 calls", "142 s / 135 s, 861 calls",
		func(r *report) string { return faultSummary(r.Faults) }},
	{"100 NLB Services: create calls (mutating) / seconds", "2,401 (714) / 28 s", "3,717 (612) / 25 s",
		func(r *report) string {
			s := r.size(100)
			if s == nil {
				return notRun
			}
			return calls(s, phaseCreate) + " / " + seconds(s, phaseCreate)
		}},
	{"100 Services, steady state, nothing changes", "0 per minute", "318 per minute", func(r *report) string { return perMinute(r.size(100)) }},
	{"100 Services: delete all, calls", "1,248", "2,470", func(r *report) string { return calls(r.size(100), phaseDelete) }},
	{"100 Services: controller peak RSS", "79 MB", "67 MB", func(r *report) string {
		if s := r.size(100); s != nil && s.Usage.PeakRSS > 0 {
			return mib(s.Usage.PeakRSS)
		}
		return notRun
	}},
}

func faultSummary(f *runResult) string {
	if f == nil {
		return notRun
	}
	c, d := f.phase(phaseCreate), f.phase(phaseDelete)
	if c == nil || d == nil {
		return "did not complete: " + f.Err
	}
	return fmt.Sprintf("%s / %s, %d calls (%d answered with a fault)", seconds(f, phaseCreate), seconds(f, phaseDelete),
		c.Calls.Total()+d.Calls.Total(), c.Injected+d.Injected)
}

// target is one target of the issue and whether this run meets it.
type target struct {
	text string
	eval func(*report) string
}

func atMost(got, limit int) string {
	if got <= limit {
		return fmt.Sprintf("%d: met", got)
	}
	return fmt.Sprintf("%d: **not met**", got)
}

func phaseTotal(res *runResult, phase string) (int, bool) {
	if res == nil {
		return 0, false
	}
	p := res.phase(phase)
	if p == nil || !p.Converged {
		return 0, false
	}
	return p.Calls.Total(), true
}

func limitTarget(n int, phase string, limit int) func(*report) string {
	return func(r *report) string {
		got, ok := phaseTotal(r.size(n), phase)
		if !ok {
			return notRun
		}
		return atMost(got, limit)
	}
}

// smallestTarget checks a phase of the smallest size, where the fewest other stacks exist.
func smallestTarget(phase string, limit int) func(*report) string {
	return func(r *report) string {
		s := r.smallest()
		if s == nil {
			return notRun
		}
		got, ok := phaseTotal(s, phase)
		if !ok {
			return notRun
		}
		return atMost(got, limit) + fmt.Sprintf(" (at N = %d)", s.N)
	}
}

var targets7 = []target{
	{"one NLB Service create ≤ 15 calls in all", limitTarget(1, phaseCreate, 15)},
	{"its delete ≤ 10", limitTarget(1, phaseDelete, 10)},
	{"no-op change ≤ 2", limitTarget(1, phaseNoop, 2)},
	{"ALB Ingress with 2 ports ≤ 18 calls", smallestTarget(phaseALB, 18)},
	{"Ingress group of 3 ≤ 35", smallestTarget(phaseIngress, 35)},
	{"20 Services ≤ 250 calls", limitTarget(20, phaseCreate, 250)},
	{"calls per Service at N = 500 no more than at N = 20 (create)", func(r *report) string {
		a, okA := phaseTotal(r.size(20), phaseCreate)
		b, okB := phaseTotal(r.size(500), phaseCreate)
		if !okA || !okB {
			return notRun + " (needs N = 20 and N = 500)"
		}
		pa, pb := float64(a)/20, float64(b)/500
		verdict := "met"
		if pb > pa {
			verdict = "**not met**"
		}
		return fmt.Sprintf("%.1f at 500, %.1f at 20: %s", pb, pa, verdict)
	}},
	{"an endpoint change of one Service costs its (de)registrations plus at most one read, whatever N", func(r *report) string {
		var parts []string
		for _, s := range r.Sizes {
			p := s.phase(phaseChurn)
			if p == nil || !p.Converged || s.Churned == 0 {
				continue
			}
			reads := float64(p.Calls.Total()-p.Calls.Mutating()) / float64(s.Churned)
			verdict := "met"
			if reads > 1 {
				verdict = "**not met**"
			}
			parts = append(parts, fmt.Sprintf("N = %d: %.1f reads and %.1f writes per Service: %s", s.N,
				reads, float64(p.Calls.Mutating())/float64(s.Churned), verdict))
		}
		if len(parts) == 0 {
			return notRun
		}
		return strings.Join(parts, "; ")
	}},
	{"steady state ≤ 2 + N/100 calls per minute (the issue averages 10 minutes)", func(r *report) string {
		var parts []string
		for _, s := range r.Sizes {
			p := s.phase(phaseSteady)
			if p == nil || p.Seconds <= 0 {
				continue
			}
			rate := float64(p.Calls.Total()) / (p.Seconds / 60)
			limit := 2 + float64(s.N)/100
			verdict := "met"
			if rate > limit {
				verdict = "**not met**"
			}
			parts = append(parts, fmt.Sprintf("N = %d: %.1f ≤ %.2f %s", s.N, rate, limit, verdict))
		}
		if len(parts) == 0 {
			return notRun
		}
		return strings.Join(parts, "; ")
	}},
	{"under the fault mix, 10 Services converge and are deleted at least as fast as upstream (70 s / 85 s) with fewer calls (544)", func(r *report) string {
		f := r.Faults
		if f == nil {
			return notRun
		}
		c, d := f.phase(phaseCreate), f.phase(phaseDelete)
		if c == nil || d == nil || !c.Converged || !d.Converged {
			return "did not complete"
		}
		n := c.Calls.Total() + d.Calls.Total()
		verdict := "met"
		if c.Seconds > 70 || d.Seconds > 85 || n >= 544 {
			verdict = "**not met**"
		}
		s := fmt.Sprintf("%.0f s / %.0f s, %d calls: %s", c.Seconds, d.Seconds, n, verdict)
		if f.N != 10 {
			s += fmt.Sprintf(" (with %d Services)", f.N)
		}
		return s
	}},
	{"controller peak RSS ≤ 150 MiB at 500 Services", func(r *report) string {
		s := r.size(500)
		if s == nil || s.Usage.PeakRSS == 0 {
			return notRun
		}
		if s.Usage.PeakRSS <= 150<<20 {
			return mib(s.Usage.PeakRSS) + ": met"
		}
		return mib(s.Usage.PeakRSS) + ": **not met**"
	}},
}

// upstreamConverge100 is the upstream controller's seconds to converge 100 NLB Services,
// measured on the reference machine (issue 17).
const upstreamConverge100 = 31.0

var targets17 = []target{
	{"one NLB Service create ≤ 12 calls in all", limitTarget(1, phaseCreate, 12)},
	{"its delete ≤ 8", limitTarget(1, phaseDelete, 8)},
	{"no-op change: 0", limitTarget(1, phaseNoop, 0)},
	{"ALB Ingress with 2 ports ≤ 16", smallestTarget(phaseALB, 16)},
	{"Ingress group of 3 ≤ 25", smallestTarget(phaseIngress, 25)},
	{"20 Services ≤ 180", limitTarget(20, phaseCreate, 180)},
	{"calls per Service flat up to N = 1,000: no size above 20 costs more per Service to create than N = 20", flatTarget},
	{"convergence at N = 100 no slower than upstream (31 s on the reference machine), against the bound the client-side limits allow", func(r *report) string {
		s := r.size(100)
		if s == nil {
			return notRun
		}
		p := s.phase(phaseCreate)
		if p == nil || !p.Converged {
			return "did not converge"
		}
		d, _, _ := phaseBound(p)
		verdict := "met"
		if p.Seconds > upstreamConverge100 {
			verdict = "**not met**"
			if d.Seconds() > upstreamConverge100 {
				verdict += " (the limits alone allow no less than " + secondsText(d) + ")"
			}
		}
		return fmt.Sprintf("%.1f s; bound %s, ratio %s: %s", p.Seconds, secondsText(d), ratio(p.Seconds, d), verdict)
	}},
}

// flatTarget compares the create's calls per Service of every size above 20 with N = 20's.
func flatTarget(r *report) string {
	base, ok := phaseTotal(r.size(20), phaseCreate)
	if !ok {
		return notRun + " (needs N = 20)"
	}
	per20 := float64(base) / 20
	var parts []string
	verdict, largest := "met", 20
	for i := range r.Sizes {
		s := &r.Sizes[i]
		if s.N <= 20 {
			continue
		}
		t, ok := phaseTotal(s, phaseCreate)
		if !ok {
			parts = append(parts, fmt.Sprintf("N = %d: did not converge", s.N))
			verdict = "**not met**"
			continue
		}
		per := float64(t) / float64(s.N)
		parts = append(parts, fmt.Sprintf("N = %d: %.1f", s.N, per))
		if per > per20 {
			verdict = "**not met**"
		}
		largest = max(largest, s.N)
	}
	if len(parts) == 0 {
		return notRun + " (needs a size above 20)"
	}
	out := fmt.Sprintf("%s (N = 20: %.1f): %s", strings.Join(parts, ", "), per20, verdict)
	if largest < 1000 {
		out += fmt.Sprintf(" up to N = %d; N = 1,000 not run", largest)
	}
	return out
}

// callCounts turns the proxy's counts into the limits' input.
func callCounts(c awsproxy.Counts) []cloud.CallCount {
	out := make([]cloud.CallCount, 0, len(c))
	for k, n := range c {
		out = append(out, cloud.CallCount{Service: k.Service, Action: k.Action, N: n})
	}
	return out
}

// phaseBound is the least time the controller's client-side limits allow for the calls a
// phase made until its condition held, and the bucket that sets it.
func phaseBound(p *phaseResult) (time.Duration, cloud.BucketTime, bool) {
	return benchThrottle.Bound(callCounts(p.Converge))
}

func secondsText(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// ratio renders seconds / bound, "-" when the limits held nothing back.
func ratio(seconds float64, bound time.Duration) string {
	if bound <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", seconds/bound.Seconds())
}

// bucketText names a bucket for a table cell: service, actions, size and refill, calls.
func bucketText(b cloud.BucketTime) string {
	service := b.Rule.Service
	if service == cloud.ServiceELBV2 {
		service = "ELBv2"
	}
	re := strings.ReplaceAll(b.Rule.Operation.String(), "|", `\|`)
	return fmt.Sprintf("%s `%s` (%d calls; %d at once, then %g/s)", service, re, b.Calls, b.Rule.Burst, b.Rule.Rate)
}

// convergeRow renders seconds, bound, ratio and the bucket that sets the bound of a phase.
func convergeRow(res *runResult, phase string) string {
	p := res.phase(phase)
	if p == nil || !p.Converged {
		return "did not converge | | |"
	}
	d, by, ok := phaseBound(p)
	set := "no limit held a call back"
	if ok {
		set = bucketText(by)
	}
	return fmt.Sprintf("%.1f s | %s | %s | %s", p.Seconds, secondsText(d), ratio(p.Seconds, d), set)
}

// rssSlope is the bytes of peak RSS each Service adds, from the smallest to the largest size.
func (r *report) rssSlope() (base *runResult, slope float64, ok bool) {
	var lo, hi *runResult
	for i := range r.Sizes {
		s := &r.Sizes[i]
		if s.Usage.PeakRSS == 0 || s.Err != "" {
			continue
		}
		if lo == nil || s.N < lo.N {
			lo = s
		}
		if hi == nil || s.N > hi.N {
			hi = s
		}
	}
	if lo == nil || hi == nil || hi.N == lo.N {
		return nil, 0, false
	}
	return lo, float64(hi.Usage.PeakRSS-lo.Usage.PeakRSS) / float64(hi.N-lo.N), true
}

func (r *report) sizesText() string {
	var ns []string
	for _, s := range r.Sizes {
		ns = append(ns, fmt.Sprint(s.N))
	}
	return strings.Join(ns, ", ")
}

func (r *report) markdown(plotName string) string {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `make bench` (`go run ./hack/bench`); do not edit by hand. ")
	p("This run covers **N = %s** NLB Services", r.sizesText())
	if r.Faults != nil {
		p(" and the fault mix with %d Services", r.Faults.N)
	}
	if r.Tenant != nil {
		p(", and the memory run with a tenant's %d Pods", r.Tenant.Pods)
	}
	p("; the steady state was counted over %s, starting just after a drift check (so the window holds one check per whole `--drift-check-interval`). ", r.Opts.steady)
	p("`make bench` measures N = 1, 20, 100, 500 and 1,000 by default; `make bench BENCH_SIZES=1,20` is a quick run.\n\n")
	p("Every figure comes from one run of the real parts: kube-apiserver and etcd (envtest), the moto AWS emulator, ")
	p("and `lbsg controller` as a subprocess with upstream's default flags (leader election off, loopback ports) ")
	p("and lbsg's default client-side limits, given explicitly (`--aws-api-throttle`, at AWS's published request buckets: ")
	p("[flags.md](flags.md#client-side-rate-limits---aws-api-throttle)). ")
	p("AWS calls are the requests lbsg's counting proxy (`internal/awsproxy`) received from the controller, ")
	p("failed and retried attempts included; the bench's own reads go straight to the emulator and are not counted.\n\n")
	p("**Counting rule.** A phase's calls are counted as an observer outside the controller counts them: from its first change ")
	p("until nothing more is called because of it. The target-SG pass runs after every change (and at every drift check), ")
	p("so a phase ends only once the pass that follows its change has run, no pass is running, queued or due for a retry ")
	p("after a failure, and neither an AWS call nor a pass came for %s (the time the controller's watches take to queue the pass ", r.Opts.quiet)
	p("a change causes). The bench reads the pass from the controller's metrics (`controller_runtime_reconcile_total`, ")
	p("`controller_runtime_active_workers` and `workqueue_depth` of the `%s` controller). ", passController)
	p("A change the pass does not watch (the no-op) waits for no pass. A phase whose end did not come within %s is ", r.Opts.settle)
	p("counted until then, and says so below. A phase's seconds run from its first change until its condition held. ")
	p("What the controller reads when it starts (its discovery and first pass, before any Service exists) is the start-up ")
	p("phase's: an observer who starts the controller and creates the first Service at once counts it with the create.\n\n")
	p("**Bound.** The least time the client-side limits allow for the calls a phase made until its condition held: ")
	p("each bucket starts full, lets its burst through at once and then refills at its rate, a call waits for every bucket ")
	p("it draws on, and the slowest bucket sets the bound. The ratio of seconds to bound says how close the controller ")
	p("came to what the limits allow: 1 is as fast as they allow; buckets that did not start full, and the bench's ")
	p("polling of the condition, make it higher.\n\n")
	p("Call counts are deterministic; times depend on the machine.\n\n")

	p("## Machine\n\n")
	m := r.Machine
	p("| | |\n|---|---|\n")
	p("| CPU | %s, %d cores |\n| memory | %s |\n| Go | %s |\n| kernel | %s |\n", m.CPU, m.Cores, m.Memory, m.Go, m.Kernel)
	p("| control plane | %s |\n| emulator | %s |\n| lbsg | %s |\n", m.ControlPlane, m.Moto, m.Commit)
	p("| date | %s, %s in all |\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second))
	if m.Load != "" {
		p("| load average at start | %s |\n", m.Load)
	}
	p("\n")

	p("## Against the issue's figures\n\n")
	p("The upstream AWS Load Balancer Controller's figures and lbsg's before issue 7 were measured side by side on ")
	p("the reference machine, through an independent counting proxy; they are a reference, not this machine's.\n\n")
	p("| work | upstream LBC | lbsg before issue 7 | this run |\n|---|---|---|---|\n")
	for _, row := range refRows {
		p("| %s | %s | %s | %s |\n", row.work, row.upstream, row.before, row.got(r))
	}
	p("\n## Targets of issue 7\n\n| target | this run |\n|---|---|\n")
	for _, t := range targets7 {
		p("| %s | %s |\n", t.text, t.eval(r))
	}
	p("\n## Targets of issue 17\n\n")
	p("Counted as the counting rule above says, the target-SG pass included. Upstream sets no client-side limit on ELBv2, ")
	p("so against the emulator nothing holds it back; in AWS, AWS's own buckets do, at the same rates as lbsg's limits.\n\n")
	p("| target | this run |\n|---|---|\n")
	for _, t := range targets17 {
		p("| %s | %s |\n", t.text, t.eval(r))
	}
	p("\n## Convergence against the client-side limits\n\n")
	p("Seconds to converge, the bound the limits allow for the same calls, their ratio, and the bucket that sets the bound.\n\n")
	p("| N | create | bound | ratio | set by | delete | bound | ratio | set by |\n|---|---|---|---|---|---|---|---|---|\n")
	for i := range r.Sizes {
		s := &r.Sizes[i]
		p("| %d | %s | %s |\n", s.N, convergeRow(s, phaseCreate), convergeRow(s, phaseDelete))
	}
	if f := r.Faults; f != nil {
		p("| %d under faults | %s | %s |\n", f.N, convergeRow(f, phaseCreate), convergeRow(f, phaseDelete))
	}

	p("\n## By size\n\n")
	p("Calls are total (mutating). Per Service: the create's calls divided by N. ")
	p("Churn: %d ip-target Services with %d Pods each get all their Pods and EndpointSlice replaced; calls per churned Service. ", r.Opts.churn, podsPerIPService)
	p("The ALB Ingress listens on HTTP 80 and 8080; the group's three Ingresses on HTTP 80, one path each; ")
	p("each Ingress workload is created and deleted with the N NLBs in place, before the no-op change and the steady state. ")
	p("Peak RSS is the controller's VmHWM over the whole run; CPU is its user + system time over the whole run.\n\n")
	p("| N | create | per Service | create s | no-op | steady state | churn per Service | delete | delete s | peak RSS | peak RSS / N | CPU s |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i := range r.Sizes {
		s := &r.Sizes[i]
		perSvc, churn, rssPer := "-", "-", "-"
		if t, ok := phaseTotal(s, phaseCreate); ok {
			perSvc = fmt.Sprintf("%.1f", float64(t)/float64(s.N))
		}
		if c := s.phase(phaseChurn); c != nil && c.Converged && s.Churned > 0 {
			churn = fmt.Sprintf("%.1f", float64(c.Calls.Total())/float64(s.Churned))
		}
		if s.Usage.PeakRSS > 0 {
			rssPer = fmt.Sprintf("%.0f KiB", float64(s.Usage.PeakRSS)/float64(s.N)/1024)
		}
		p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |\n", s.N, calls(s, phaseCreate), perSvc,
			seconds(s, phaseCreate), calls(s, phaseNoop), perMinute(s), churn, calls(s, phaseDelete), seconds(s, phaseDelete),
			mib(s.Usage.PeakRSS), rssPer, s.Usage.CPUSeconds)
	}
	if base, slope, ok := r.rssSlope(); ok {
		p("\nMemory: each Service adds about **%.0f KiB** of peak RSS (from N = %d to the largest size); ", slope/1024, base.N)
		est := float64(base.Usage.PeakRSS) + slope*float64(5000-base.N)
		p("extrapolated linearly, 5,000 Services would need about %.0f MiB. ", est/(1<<20))
		p("Few or small sizes make this slope noisy: the larger the largest N, the better the estimate.\n")
	}
	for _, s := range r.Sizes {
		if s.Err != "" {
			p("\nN = %d did not complete: `%s`\n", s.N, oneLine(s.Err))
		}
	}
	r.notesMarkdown(p)
	p("\n![calls per Service and seconds to converge against N](%s)\n", plotName)

	if f := r.Faults; f != nil {
		p("\n## Under faults\n\n")
		p("%d NLB Services created and then deleted while the proxy answers %.0f %% of requests with the service's throttling error ",
			f.N, 100*f.Faults.Throttle)
		p("and %.0f %% with HTTP 500/503 (seed %d); the controller runs with its default retries.\n\n", 100*f.Faults.ServerError, f.Faults.Seed)
		p("| phase | seconds | calls (mutating) | answered with a fault | upstream (reference machine) |\n|---|---|---|---|---|\n")
		for _, ph := range []struct{ name, up string }{{phaseCreate, "70 s"}, {phaseDelete, "85 s"}} {
			c := f.phase(ph.name)
			if c == nil {
				p("| %s | did not get there | | | %s |\n", ph.name, ph.up)
				continue
			}
			p("| %s | %s | %d (%d) | %d | %s |\n", ph.name, seconds(f, ph.name), c.Calls.Total(), c.Calls.Mutating(), c.Injected, ph.up)
		}
		p("\nUpstream: 544 calls for both. Peak RSS %s, CPU %.1f s.\n", mib(f.Usage.PeakRSS), f.Usage.CPUSeconds)
		if f.Err != "" {
			p("\nThe fault run did not complete: `%s`\n", oneLine(f.Err))
		}
	}

	r.tenantMarkdown(p)

	p("\n## Calls by action\n\n")
	p("Each phase's calls by action, total (mutating actions in bold). \"own\" is the controller's own count of its ")
	p("attempts (`lbsg_aws_api_calls_total`) over the same window, as a cross-check of the proxy; \"target-SG passes\" ")
	p("the passes that finished in it; \"bound s\" the least time the client-side limits allow for its calls until its ")
	p("condition held.\n")
	runs := slices.Clone(r.Sizes)
	if r.Faults != nil {
		runs = append(runs, *r.Faults)
	}
	for _, s := range runs {
		title := fmt.Sprintf("N = %d", s.N)
		if s.Faults.Throttle > 0 || s.Faults.ServerError > 0 {
			title = fmt.Sprintf("%d Services under faults", s.N)
		}
		p("\n<details><summary>%s</summary>\n\n", title)
		actions := map[string]bool{}
		for _, ph := range s.Phases {
			for a := range ph.Calls.ByAction() {
				actions[a] = true
			}
		}
		p("| action |")
		for _, ph := range s.Phases {
			p(" %s |", ph.Name)
		}
		p("\n|---|")
		for range s.Phases {
			p("---|")
		}
		p("\n")
		for _, a := range slices.Sorted(maps.Keys(actions)) {
			name := a
			if !awsproxy.IsReadOnlyAction(a) {
				name = "**" + a + "**"
			}
			p("| %s |", name)
			for _, ph := range s.Phases {
				if n := ph.Calls.ByAction()[a]; n > 0 {
					p(" %d |", n)
				} else {
					p(" |")
				}
			}
			p("\n")
		}
		p("| total (mutating) |")
		for _, ph := range s.Phases {
			p(" %d (%d) |", ph.Calls.Total(), ph.Calls.Mutating())
		}
		p("\n| own |")
		for _, ph := range s.Phases {
			if ph.Own < 0 {
				p(" ? |")
			} else {
				p(" %d |", ph.Own)
			}
		}
		p("\n| target-SG passes |")
		for _, ph := range s.Phases {
			if ph.Passes < 0 {
				p(" ? |")
			} else {
				p(" %d |", ph.Passes)
			}
		}
		p("\n| seconds |")
		for _, ph := range s.Phases {
			p(" %.1f |", ph.Seconds)
		}
		p("\n| bound s |")
		for i := range s.Phases {
			d, _, _ := phaseBound(&s.Phases[i])
			p(" %.1f |", d.Seconds())
		}
		p("\n\n</details>\n")
	}
	p("\n## How to run\n\n")
	p("```\nmake bench                                     # N = 1, 20, 100, 500, 1,000, the fault mix and the memory run\n")
	p("make bench BENCH_SIZES=1,20 BENCH_STEADY=30s    # a quick run\n")
	p("go run ./hack/bench --sizes none --fault-services 0 --tenant-pods 1000 --out /tmp/memory.md --plot /tmp/memory.png\n")
	p("                                               # the memory run alone\n")
	p("go run ./hack/bench -h                         # every knob\n```\n")
	p("\nIt needs what `make test` needs (kube-apiserver and etcd from `make testbin`, moto for python3) and ")
	p("writes this file and %s. Every wait is bounded; everything it starts is stopped on exit or Ctrl-C.\n", plotName)
	return b.String()
}

// notesMarkdown lists the phases that did not end as the counting rule says, and why.
func (r *report) notesMarkdown(p func(format string, args ...any)) {
	runs := slices.Clone(r.Sizes)
	if r.Faults != nil {
		runs = append(runs, *r.Faults)
	}
	first := true
	for _, s := range runs {
		for _, ph := range s.Phases {
			if ph.Note == "" || !ph.Converged {
				continue
			}
			if first {
				p("\nPhases whose end did not come in time (their calls are counted until the limit):\n\n")
				first = false
			}
			p("- N = %d, %s: %s\n", s.N, ph.Name, oneLine(ph.Note))
		}
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func (r *report) write(mdPath, plotPath string) error {
	rel, err := filepath.Rel(filepath.Dir(mdPath), plotPath)
	if err != nil {
		rel = plotPath
	}
	if err := writePlot(r, plotPath); err != nil {
		return fmt.Errorf("writing the plot: %w", err)
	}
	return os.WriteFile(mdPath, []byte(r.markdown(rel)), 0o644)
}

// series returns (N, value) of each size where f has a value.
func (r *report) series(f func(*runResult) (float64, bool)) [][2]float64 {
	var out [][2]float64
	for i := range r.Sizes {
		if v, ok := f(&r.Sizes[i]); ok && !math.IsNaN(v) {
			out = append(out, [2]float64{float64(r.Sizes[i].N), v})
		}
	}
	slices.SortFunc(out, func(a, b [2]float64) int { return int(a[0] - b[0]) })
	return out
}
