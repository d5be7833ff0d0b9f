package processor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/meshgate/meshgate/metrics"
)

func newTestMetrics() *metrics.Metrics { return metrics.New(prometheus.NewRegistry()) }

// counter reads one series of a counter vector.
func counter(t *testing.T, c *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.WithLabelValues(labels...).Write(&m); err != nil {
		t.Fatalf("read counter %v: %v", labels, err)
	}
	return m.GetCounter().GetValue()
}

// histCount reads the sample count of one series of a histogram vector.
func histCount(t *testing.T, h *prometheus.HistogramVec, labels ...string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.WithLabelValues(labels...).(prometheus.Metric).Write(&m); err != nil {
		t.Fatalf("read histogram %v: %v", labels, err)
	}
	return m.GetHistogram().GetSampleCount()
}

// sleepRecorder is a SleepFunc that returns at once and remembers the waits. When cancelAt
// is > 0 it cancels cancel on that call (1-based) and returns the context's error, as a real
// sleep interrupted by cancellation would.
type sleepRecorder struct {
	mu       sync.Mutex
	waits    []time.Duration
	cancelAt int
	cancel   context.CancelFunc
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n := len(s.waits)
	s.mu.Unlock()
	if s.cancelAt > 0 && n >= s.cancelAt {
		s.cancel()
	}
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for n, w := range want {
		if got := b.Ceiling(n); got != w*time.Millisecond {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, w*time.Millisecond)
		}
	}
	if got := b.Ceiling(1 << 20); got != time.Second {
		t.Errorf("Ceiling(huge) = %v, want the cap", got)
	}
}

func TestBackoffDelayIsFullJitterWithinCeiling(t *testing.T) {
	b := Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	seenLow, seenHigh := false, false
	for n := 0; n < 6; n++ {
		ceil := b.Ceiling(n)
		for i := 0; i < 200; i++ {
			d := b.Delay(n, false)
			if d < 0 || d >= ceil {
				t.Fatalf("Delay(%d) = %v outside [0, %v)", n, d, ceil)
			}
			seenLow = seenLow || d < ceil/4
			seenHigh = seenHigh || d > ceil*3/4
		}
	}
	if !seenLow || !seenHigh {
		t.Errorf("delays do not spread over the range (low %v, high %v)", seenLow, seenHigh)
	}
	for i := 0; i < 200; i++ {
		if d := b.Delay(0, true); d < b.Max/2 || d >= b.Max {
			t.Fatalf("permanent Delay = %v outside [%v, %v)", d, b.Max/2, b.Max)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	b := Backoff{}.withDefaults()
	if b.Initial != 100*time.Millisecond || b.Max != 10*time.Second || b.Rand == nil {
		t.Errorf("defaults = %+v", b)
	}
	if b := (Backoff{Initial: time.Second, Max: time.Millisecond}).withDefaults(); b.Max != time.Second {
		t.Errorf("Max below Initial not raised: %+v", b)
	}
}

func TestSleepCtxHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleepCtx on canceled ctx = %v", err)
	}
	if time.Since(began) > time.Second {
		t.Fatal("sleepCtx did not return promptly")
	}
	if err := sleepCtx(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("sleepCtx = %v", err)
	}
}

func statusErr(code int) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
		Err:      fmt.Errorf("status %d", code),
	}
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }

func TestClassify(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		kinesis errClass
		s3      errClass
	}{
		{"our ctx canceled", ended, fmt.Errorf("op: %w", context.Canceled), classCanceled, classCanceled},
		{"sdk timeout while our ctx lives", live, fmt.Errorf("op: %w", context.DeadlineExceeded), classRetryable, classRetryable},
		{"connection refused", live, dial, classRetryable, classRetryable},
		{"503", live, statusErr(503), classRetryable, classRetryable},
		{"500", live, statusErr(500), classRetryable, classRetryable},
		{"429", live, statusErr(429), classRetryable, classRetryable},
		{"403 without code", live, statusErr(403), classPermanent, classPermanent},
		{"404 without code", live, statusErr(404), classPermanent, classPermanent},
		{"throughput exceeded", live, apiErr("ProvisionedThroughputExceededException"), classRetryable, classRetryable},
		{"entry internal failure", live, apiErr("InternalFailure"), classRetryable, classRetryable},
		{"kms throttling", live, apiErr("KMSThrottlingException"), classRetryable, classRetryable},
		{"stream missing", live, apiErr("ResourceNotFoundException"), classPermanent, classRetryable},
		{"kinesis access denied", live, apiErr("AccessDeniedException"), classPermanent, classRetryable},
		{"kinesis invalid argument", live, apiErr("InvalidArgumentException"), classPermanent, classRetryable},
		{"kms disabled", live, apiErr("KMSDisabledException"), classPermanent, classRetryable},
		{"s3 slow down", live, apiErr("SlowDown"), classRetryable, classRetryable},
		{"s3 internal error", live, apiErr("InternalError"), classRetryable, classRetryable},
		{"bucket missing", live, apiErr("NoSuchBucket"), classRetryable, classPermanent},
		{"s3 access denied", live, apiErr("AccessDenied"), classRetryable, classPermanent},
		{"unknown error", live, errors.New("something odd"), classRetryable, classRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyKinesis(tt.ctx, tt.err); got != tt.kinesis {
				t.Errorf("classifyKinesis = %v, want %v", got, tt.kinesis)
			}
			if got := classifyS3(tt.ctx, tt.err); got != tt.s3 {
				t.Errorf("classifyS3 = %v, want %v", got, tt.s3)
			}
		})
	}
}
