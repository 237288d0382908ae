package cloud

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// upstreamMetrics are the AWS SDK metrics the upstream AWS Load Balancer Controller
// exports, with its names, labels and meanings, so that a dashboard or alert written for
// it keeps working on lbsg:
//
//   - aws_api_calls_total{service,operation,status_code,error_code}: SDK operations, retries
//     included, counted once when they end;
//   - aws_api_call_duration_seconds{service,operation}: an operation's latency, retries
//     included;
//   - aws_api_call_retries{service,operation}: how many times an operation was retried;
//   - aws_api_requests_total and aws_api_request_duration_seconds: the same per HTTP
//     attempt.
//
// error_code is "" for a success, the AWS error code for an error AWS returned, and
// "internal" for anything else (a connection error, a timeout). status_code is "" when no
// HTTP response came back.
type upstreamMetrics struct {
	calls           *prometheus.CounterVec
	callDuration    *prometheus.HistogramVec
	callRetries     *prometheus.HistogramVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
}

func newUpstreamMetrics(reg prometheus.Registerer) (*upstreamMetrics, error) {
	full := []string{"service", "operation", "status_code", "error_code"}
	short := []string{"service", "operation"}
	m := &upstreamMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_api_calls_total",
			Help: "AWS SDK operations (retries included) by service, operation, HTTP status code and AWS error code.",
		}, full),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aws_api_call_duration_seconds",
			Help: "Latency of AWS SDK operations, retries included.",
		}, short),
		callRetries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aws_api_call_retries",
			Help:    "Number of times the SDK retried an AWS operation.",
			Buckets: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		}, short),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aws_api_requests_total",
			Help: "HTTP requests (attempts) the AWS SDK made, by service, operation, HTTP status code and AWS error code.",
		}, full),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aws_api_request_duration_seconds",
			Help: "Latency of single HTTP requests (attempts) to AWS.",
		}, short),
	}
	var err error
	if m.calls, err = register(reg, m.calls); err != nil {
		return nil, err
	}
	if m.callDuration, err = register(reg, m.callDuration); err != nil {
		return nil, err
	}
	if m.callRetries, err = register(reg, m.callRetries); err != nil {
		return nil, err
	}
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.requestDuration, err = register(reg, m.requestDuration); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *upstreamMetrics) call(service, op, status, code string, d time.Duration, retries int) {
	m.calls.WithLabelValues(service, op, status, code).Inc()
	m.callDuration.WithLabelValues(service, op).Observe(d.Seconds())
	m.callRetries.WithLabelValues(service, op).Observe(float64(retries))
}

func (m *upstreamMetrics) request(service, op, status, code string, d time.Duration) {
	m.requests.WithLabelValues(service, op, status, code).Inc()
	m.requestDuration.WithLabelValues(service, op).Observe(d.Seconds())
}

// upstreamErrorCode is the error_code label: "" on success, the AWS error code, or
// "internal".
func upstreamErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if code := ErrorCode(err); code != "" {
		return code
	}
	return "internal"
}
