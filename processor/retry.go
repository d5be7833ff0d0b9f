package processor

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshgate/meshgate/metrics"
)

// Backoff is a capped exponential backoff with full jitter: before retry n (n = 0 for the
// first retry) a sink waits a uniformly random time in [0, min(Max, Initial·2ⁿ)). Failures
// classified as permanent wait in [Max/2, Max) straight away: retrying them fast cannot
// help, but giving up would lose records.
type Backoff struct {
	// Initial bounds the first retry's wait. Default 100ms.
	Initial time.Duration
	// Max caps every wait. Default 10s.
	Max time.Duration
	// Rand returns a number in [0, 1); nil means math/rand/v2's Float64. Tests fix it.
	Rand func() float64
}

// DefaultBackoff is the backoff both sinks use unless told otherwise.
func DefaultBackoff() Backoff {
	return Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second}
}

func (b Backoff) withDefaults() Backoff {
	d := DefaultBackoff()
	if b.Initial <= 0 {
		b.Initial = d.Initial
	}
	if b.Max <= 0 {
		b.Max = d.Max
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	return b
}

// Ceiling is the upper bound of the wait before retry n of a retryable failure.
func (b Backoff) Ceiling(n int) time.Duration {
	b = b.withDefaults()
	c := b.Initial
	for i := 0; i < n && c < b.Max; i++ {
		c *= 2
	}
	return min(c, b.Max)
}

// Delay is the wait before retry n; permanent selects the permanent-failure range.
func (b Backoff) Delay(n int, permanent bool) time.Duration {
	b = b.withDefaults()
	if permanent {
		return b.Max/2 + time.Duration(b.Rand()*float64(b.Max/2))
	}
	return time.Duration(b.Rand() * float64(b.Ceiling(n)))
}

// SleepFunc waits d or until ctx ends, returning ctx.Err() in the latter case.
type SleepFunc func(ctx context.Context, d time.Duration) error

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errClass is how a sink treats a failed call.
type errClass uint8

const (
	// classRetryable: transient (throttling, 5xx, network, timeouts); retried with backoff.
	classRetryable errClass = iota
	// classPermanent: retrying the same request is not expected to help (missing stream or
	// bucket, access denied, invalid request). Still retried — at the capped delay and logged
	// at error level — because dropping records is never an option; an operator fixes the
	// cause (creates the stream, grants the permission) and the worker carries on by itself.
	classPermanent
	// classCanceled: our own context ended; stop and report the records as unacknowledged.
	classCanceled
)

func (c errClass) String() string {
	switch c {
	case classPermanent:
		return "permanent"
	case classCanceled:
		return "canceled"
	}
	return "retryable"
}

// classifyAWS holds the checks both sinks share; each sink's classify function (one per
// sink, next to the sink) adds its service's error codes in front of it.
//
// Order: our context first (only an ended ctx of ours stops a sink; an SDK timeout while our
// ctx is alive is just a timeout), then network errors, then HTTP status. Anything unknown is
// retryable: in a gate that must not lose data the only effect of the class is how long we
// wait and how loudly we log.
func classifyAWS(ctx context.Context, err error) errClass {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return classCanceled
	}
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return classRetryable
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
			return classRetryable
		case code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusNotFound,
			code == http.StatusBadRequest && !hasAPICode(err):
			return classPermanent
		}
	}
	return classRetryable
}

// apiCode returns the AWS error code of err ("" when it has none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func hasAPICode(err error) bool { return apiCode(err) != "" }

// retrier waits between attempts of one sink, counting and logging each retry.
type retrier struct {
	sink    string // "kinesis" or "s3": the metrics' sink label
	backoff Backoff
	sleep   SleepFunc
	log     *slog.Logger
	metrics *metrics.Metrics
}

// wait sleeps before retry n after a failure of the given class. It logs the first retry
// and then every power of two at warn level (error level for permanent failures, every
// time: those need a human and arrive at most once per Backoff.Max). It returns ctx.Err()
// when the context ends first.
func (r *retrier) wait(ctx context.Context, n int, class errClass, err error, attrs ...any) error {
	r.metrics.SinkRetries.WithLabelValues(r.sink).Inc()
	d := r.backoff.Delay(n, class == classPermanent)
	switch {
	case class == classPermanent:
		r.log.LogAttrs(ctx, slog.LevelError, "sink call failed permanently; retrying so that no record is dropped",
			append(retryAttrs(r.sink, n, d, class, err), slog.Group("batch", attrs...))...)
	case n&(n+1) == 0: // n = 0, 1, 3, 7, ...: retries 1, 2, 4, 8, ...
		r.log.LogAttrs(ctx, slog.LevelWarn, "sink call failed; retrying",
			append(retryAttrs(r.sink, n, d, class, err), slog.Group("batch", attrs...))...)
	}
	return r.sleep(ctx, d)
}

func retryAttrs(sink string, n int, d time.Duration, class errClass, err error) []slog.Attr {
	return []slog.Attr{
		slog.String("sink", sink), slog.Int("retry", n+1), slog.Duration("wait", d),
		slog.String("class", class.String()), slog.String("error", err.Error()),
	}
}

// SinkOption configures KinesisSink and S3Sink.
type SinkOption func(*sinkOptions)

type sinkOptions struct {
	backoff  Backoff
	sleep    SleepFunc
	log      *slog.Logger
	kmsKeyID string
}

func buildSinkOptions(opts []SinkOption) sinkOptions {
	o := sinkOptions{backoff: DefaultBackoff(), sleep: sleepCtx, log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	o.backoff = o.backoff.withDefaults()
	return o
}

// WithBackoff sets the retry backoff (default DefaultBackoff()).
func WithBackoff(b Backoff) SinkOption { return func(o *sinkOptions) { o.backoff = b } }

// WithSleep replaces the wait between retries; tests use it to run retries instantly and to
// record the waits. The function must return ctx.Err() once ctx has ended.
func WithSleep(f SleepFunc) SinkOption {
	return func(o *sinkOptions) {
		if f != nil {
			o.sleep = f
		}
	}
}

// WithLogger sets the logger for retries and failures (default: discard).
func WithLogger(l *slog.Logger) SinkOption {
	return func(o *sinkOptions) {
		if l != nil {
			o.log = l
		}
	}
}

// WithKMSKey makes the S3 sink request SSE-KMS with this key id or ARN instead of SSE-S3
// (AES256). The Kinesis sink ignores it (curated stream encryption is a stream setting).
func WithKMSKey(id string) SinkOption { return func(o *sinkOptions) { o.kmsKeyID = id } }

func orNewMetrics(m *metrics.Metrics) *metrics.Metrics {
	if m == nil {
		// A private, unregistered set: the sink works, nothing is exported.
		return metrics.New(prometheus.NewRegistry())
	}
	return m
}
