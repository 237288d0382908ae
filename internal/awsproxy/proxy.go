// Package awsproxy is a counting, fault-injecting HTTP proxy for the AWS query protocol,
// meant to sit between lbsg (or any aws-sdk-go-v2 client) and the moto emulator in tests,
// benchmarks and the local demo environment.
//
// It counts every EC2 and ELBv2 request by service and action, and can answer a request
// itself, in the error shapes AWS uses, instead of forwarding it: throttling, server
// errors, and DependencyViolation on the first deletes of each security group. Every fault
// decision is a pure function of the seed, the action and how many times that action was
// called before, so one seed gives the same faults run after run, whatever the timing of
// calls to other actions.
//
// It listens on the loopback interface only. Typical use, in front of a localenv.Moto:
//
//	p, err := awsproxy.Start(moto.Endpoint, awsproxy.Faults{Seed: 1, Throttle: 0.25, ServerError: 0.05})
//	defer p.Close()
//	// run lbsg with "--aws-api-endpoints=" + p.EndpointsFlag()
//	before := p.Snapshot()
//	// … work …
//	d := p.Snapshot().Sub(before) // d.Calls.Total(), d.Calls.Mutating(), d.Injected[awsproxy.FaultThrottle]
package awsproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Service IDs, the same strings aws-sdk-go-v2 (and lbsg's call counter) use.
const (
	ServiceEC2   = "EC2"
	ServiceELBV2 = "Elastic Load Balancing v2"
)

// Faults says which faults the proxy injects. The zero value injects none.
type Faults struct {
	// Seed makes the fault decisions repeatable: the same seed and the same sequence of
	// calls of each action give the same faults.
	Seed int64
	// Throttle is the probability, in [0, 1], that a request is answered with the
	// service's throttling error (EC2: HTTP 503 RequestLimitExceeded; ELBv2: HTTP 400
	// Throttling).
	Throttle float64
	// ServerError is the probability, in [0, 1], that a request is answered with a server
	// error, HTTP 500 or HTTP 503, half each (see FaultInternalError and
	// FaultServiceUnavailable). Throttle + ServerError must not exceed 1.
	ServerError float64
	// Latency is added to every request before it is answered.
	Latency time.Duration
	// DependencyViolations is the number of DeleteSecurityGroup calls of each security
	// group (by GroupId) that are answered with EC2's DependencyViolation (HTTP 400) before
	// one is forwarded. Calls answered with a throttling or server error do not count.
	DependencyViolations int
}

func (f Faults) validate() error {
	if f.Throttle < 0 || f.Throttle > 1 || f.ServerError < 0 || f.ServerError > 1 || f.Throttle+f.ServerError > 1 {
		return fmt.Errorf("awsproxy: fault probabilities throttle=%v and server error=%v must each be in [0,1] and sum to at most 1",
			f.Throttle, f.ServerError)
	}
	if f.Latency < 0 || f.DependencyViolations < 0 {
		return fmt.Errorf("awsproxy: latency (%s) and dependency violations (%d) must not be negative", f.Latency, f.DependencyViolations)
	}
	return nil
}

// Fault names what the proxy answered instead of forwarding a request.
type Fault string

const (
	// FaultThrottle: EC2 HTTP 503 RequestLimitExceeded, ELBv2 HTTP 400 Throttling.
	FaultThrottle Fault = "Throttle"
	// FaultInternalError: HTTP 500, EC2 InternalError, ELBv2 InternalFailure (the code
	// the query-protocol services other than EC2 use).
	FaultInternalError Fault = "InternalError"
	// FaultServiceUnavailable: HTTP 503 ServiceUnavailable, both services.
	FaultServiceUnavailable Fault = "ServiceUnavailable"
	// FaultDependencyViolation: EC2 HTTP 400 DependencyViolation (DeleteSecurityGroup only).
	FaultDependencyViolation Fault = "DependencyViolation"
)

// Proxy forwards AWS query-protocol requests to a target and counts them. It is an
// http.Handler; Start also serves it on a loopback port. It is safe for concurrent use.
type Proxy struct {
	// URL is the base URL clients use (set by Start; empty for a Proxy from New that is
	// served elsewhere).
	URL string

	target *url.URL
	rp     *httputil.ReverseProxy
	srv    *http.Server
	ln     net.Listener

	mu       sync.Mutex
	faults   Faults
	calls    Counts
	injected map[Fault]Counts
	seq      map[Key]uint64 // calls of each action since the faults were set, for the fault draw
	sgDelete map[string]int // DeleteSecurityGroup calls that reached the service, by GroupId
}

// New returns a proxy to target (the emulator's base URL, e.g. http://127.0.0.1:5000) that
// injects f. Serve it with Start, or mount it in an httptest.Server.
func New(target string, f Faults) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("awsproxy: target %q is not an http(s) base URL", target)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{target: u}
	p.reset(f)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// The SDK signs the Host header; moto does not check signatures, but keep the
			// request as the client sent it all the same.
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "awsproxy: forwarding to "+target+": "+err.Error(), http.StatusBadGateway)
		},
	}
	return p, nil
}

// Start returns a proxy to target that injects f, served on 127.0.0.1 on a free port
// (p.URL). Call Close to stop it.
func Start(target string, f Faults) (*Proxy, error) {
	p, err := New(target, f)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awsproxy: listen on loopback: %w", err)
	}
	p.ln = ln
	p.URL = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// EndpointsFlag returns the value of lbsg's --aws-api-endpoints flag that sends EC2 and
// ELBv2 through the proxy started by Start.
func (p *Proxy) EndpointsFlag() string {
	return ServiceEC2 + "=" + p.URL + "," + ServiceELBV2 + "=" + p.URL
}

// Close stops a proxy from Start, waiting at most a few seconds for requests in flight.
func (p *Proxy) Close() error {
	if p.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return p.srv.Close()
	}
	return nil
}

// SetFaults replaces the faults the proxy injects from now on and restarts their draw
// (and the DependencyViolation count of every SG) from f.Seed. Counts are kept.
func (p *Proxy) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f
	p.seq = map[Key]uint64{}
	p.sgDelete = map[string]int{}
	return nil
}

// Faults returns the faults the proxy injects.
func (p *Proxy) Faults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Snapshot returns a copy of the counts so far.
func (p *Proxy) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Calls: p.calls.clone(), Injected: map[Fault]Counts{}}
	for f, c := range p.injected {
		s.Injected[f] = c.clone()
	}
	return s
}

// Reset zeroes the counts and restarts the fault draw as SetFaults does, keeping the
// faults.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reset(p.faults)
}

func (p *Proxy) reset(f Faults) {
	p.faults = f
	p.calls = Counts{}
	p.injected = map[Fault]Counts{}
	p.seq = map[Key]uint64{}
	p.sgDelete = map[string]int{}
}

// ServeHTTP counts the request, then answers it with a fault or forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The emulator's own control API (/moto-api/reset, …) is not AWS: pass it through.
	if strings.HasPrefix(r.URL.Path, "/moto-api") {
		p.rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, "awsproxy: reading request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	params := requestParams(r, body)
	key := Key{Service: serviceOf(r, params), Action: params.Get("Action")}

	fault, latency := p.decide(key, params)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if fault != "" {
		writeFault(w, key.Service, fault, params.Get("GroupId"))
		return
	}
	p.rp.ServeHTTP(w, r)
}

// decide counts the call and returns the fault to answer it with ("" to forward it).
func (p *Proxy) decide(k Key, params url.Values) (Fault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[k]++
	f := p.faults
	n := p.seq[k]
	p.seq[k] = n + 1
	var fault Fault
	if f.Throttle > 0 || f.ServerError > 0 {
		u := draw(f.Seed, k, n, 0)
		switch {
		case u < f.Throttle:
			fault = FaultThrottle
		case u < f.Throttle+f.ServerError:
			fault = FaultInternalError
			if draw(f.Seed, k, n, 1) < 0.5 {
				fault = FaultServiceUnavailable
			}
		}
	}
	if fault == "" && f.DependencyViolations > 0 && k.Service == ServiceEC2 && k.Action == "DeleteSecurityGroup" {
		id := params.Get("GroupId")
		if p.sgDelete[id] < f.DependencyViolations {
			fault = FaultDependencyViolation
		}
		p.sgDelete[id]++
	}
	if fault != "" {
		if p.injected[fault] == nil {
			p.injected[fault] = Counts{}
		}
		p.injected[fault][k]++
	}
	return fault, f.Latency
}

// requestParams returns the query-protocol parameters of r: its query string plus, for a
// form POST, its body.
func requestParams(r *http.Request, body []byte) url.Values {
	v := r.URL.Query()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || (r.Method == http.MethodPost && len(body) > 0) {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range form {
				v[k] = append(v[k], vs...)
			}
		}
	}
	return v
}

// serviceOf tells EC2 from ELBv2 (both are served on the emulator's one endpoint): by the
// signing name in the SigV4 credential scope, else by the API version.
func serviceOf(r *http.Request, params url.Values) string {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.Contains(auth, "/elasticloadbalancing/aws4_request"):
		return ServiceELBV2
	case strings.Contains(auth, "/ec2/aws4_request"):
		return ServiceEC2
	}
	switch params.Get("Version") {
	case "2015-12-01":
		return ServiceELBV2
	case "":
		return ""
	}
	return ServiceEC2
}
