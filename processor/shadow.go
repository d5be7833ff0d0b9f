package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// Bounds of shadow sampling.
const (
	// ShadowSamplesPerBatch caps the diverging events one batch contributes (the masking
	// work a batch does for sampling).
	ShadowSamplesPerBatch = 10
	// MaxShadowEventBytes caps a sample's masked event; a larger event is sampled without
	// it (EventOmitted "too_large").
	MaxShadowEventBytes = 64 << 10
)

// ShadowConfig configures a ShadowSampler. S3 and Bucket are required.
type ShadowConfig struct {
	S3     S3API
	Bucket string
	// Prefix is the quarantine prefix; objects go under Prefix/_shadow/ (quarantine.ShadowKey).
	Prefix   string
	KMSKeyID string
	Worker   string
	// Interval is how often pending samples are written, one object per domain (default 5m).
	Interval time.Duration
	// PerObject is the size of each domain's sample per interval (default 100): a uniform
	// random sample (reservoir) of the divergences offered during the interval.
	PerObject int
	// WriteTimeout bounds one PutObject (default 10s). A write is tried once.
	WriteTimeout time.Duration
	Metrics      *metrics.Metrics
	Logger       *slog.Logger
	Now          func() time.Time
}

// ShadowSampler keeps a bounded random sample of the events shadow contracts judge
// differently from the active ones and writes it to the quarantine bucket for review, one
// gzip NDJSON object of quarantine.ShadowSample per domain and interval, under
// <prefix>/_shadow/<domain>/dt=<date>/ (quarantine.ShadowKey).
//
// Shadow output is diagnostics, not data: it never affects routing or checkpointing.
// Pipelines offer samples only after their batch was acknowledged, Offer never blocks on
// I/O, and a failed write is logged, counted in meshgate_shadow_samples_total{result="failed"}
// and dropped, never retried.
//
// Bounds: memory holds at most PerObject samples per domain (each event at most
// MaxShadowEventBytes); each worker writes at most one object per domain per Interval
// (288 a day at the default 5m), and none when nothing diverged.
//
// Lifecycle: NewShadowSampler starts the writer goroutine; Close stops it after a final
// write. The sampler is safe for concurrent use.
type ShadowSampler struct {
	cfg ShadowConfig
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]*reservoir // by domain
	closed  bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type reservoir struct {
	seen    int
	samples []quarantine.ShadowSample
}

// NewShadowSampler checks cfg and starts the sampler's writer.
func NewShadowSampler(cfg ShadowConfig) (*ShadowSampler, error) {
	if cfg.S3 == nil || cfg.Bucket == "" {
		return nil, errors.New("new shadow sampler: S3 and Bucket are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.PerObject <= 0 {
		cfg.PerObject = 100
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Metrics = orNewMetrics(cfg.Metrics)
	s := &ShadowSampler{cfg: cfg, log: cfg.Logger, pending: map[string]*reservoir{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s, nil
}

// Offer adds samples to their domains' reservoirs. It takes a lock for a few map and slice
// operations and never waits for I/O; after Close it drops them.
func (s *ShadowSampler) Offer(samples []quarantine.ShadowSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, smp := range samples {
		r := s.pending[smp.Domain]
		if r == nil {
			r = &reservoir{}
			s.pending[smp.Domain] = r
			// Pre-create the domain's series so rate() sees zeros before a first write.
			s.cfg.Metrics.ShadowSamples.WithLabelValues(smp.Domain, metrics.ShadowWritten)
			s.cfg.Metrics.ShadowSamples.WithLabelValues(smp.Domain, metrics.ShadowFailed)
		}
		r.seen++
		if len(r.samples) < s.cfg.PerObject {
			r.samples = append(r.samples, smp)
		} else if j := rand.IntN(r.seen); j < s.cfg.PerObject {
			r.samples[j] = smp
		}
	}
}

func (s *ShadowSampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flush(context.Background())
		}
	}
}

// flush writes every domain's pending samples, one object each, and forgets them.
func (s *ShadowSampler) flush(ctx context.Context) {
	s.mu.Lock()
	pending := s.pending
	s.pending = map[string]*reservoir{}
	s.mu.Unlock()
	at := s.cfg.Now()
	for domain, r := range pending {
		if len(r.samples) == 0 {
			continue
		}
		key := quarantine.ShadowKey(s.cfg.Prefix, domain, s.cfg.Worker, at)
		if err := s.write(ctx, key, r.samples); err != nil {
			s.cfg.Metrics.ShadowSamples.WithLabelValues(domain, metrics.ShadowFailed).Add(float64(len(r.samples)))
			s.log.LogAttrs(ctx, slog.LevelWarn, "shadow samples not written; dropped",
				slog.String("domain", domain), slog.String("bucket", s.cfg.Bucket), slog.String("key", key),
				slog.Int("samples", len(r.samples)), slog.String("error", err.Error()))
			continue
		}
		s.cfg.Metrics.ShadowSamples.WithLabelValues(domain, metrics.ShadowWritten).Add(float64(len(r.samples)))
		s.log.LogAttrs(ctx, slog.LevelInfo, "shadow samples written", slog.String("domain", domain),
			slog.String("key", key), slog.Int("samples", len(r.samples)), slog.Int("offered", r.seen))
	}
}

func (s *ShadowSampler) write(ctx context.Context, key string, samples []quarantine.ShadowSample) error {
	var buf bytes.Buffer
	if err := quarantine.EncodeShadow(&buf, samples); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	in := &s3.PutObjectInput{
		Bucket: &s.cfg.Bucket, Key: &key, Body: bytes.NewReader(buf.Bytes()),
		ContentType: ptr(QuarantineContentType), ContentEncoding: ptr(QuarantineContentEncoding),
		ContentLength: ptr(int64(buf.Len())), ServerSideEncryption: types.ServerSideEncryptionAes256,
	}
	if s.cfg.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = &s.cfg.KMSKeyID
	}
	if _, err := s.cfg.S3.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put shadow samples s3://%s/%s: %w", s.cfg.Bucket, key, err)
	}
	return nil
}

// Close stops the sampler: it refuses further samples, writes what is pending (bounded by
// ctx and the write timeout) and waits for the writer goroutine. It is idempotent.
func (s *ShadowSampler) Close(ctx context.Context) {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.flush(ctx)
	})
}

// divergence names what makes two verdicts route differently, as counted in
// meshgate_shadow_divergences_total: from is the quarantining verdict, other the passing
// one. It lists "decode" for a decode failure, each error-severity rule that fails in from
// but not in other, or "_outcome" when no single rule explains it.
func divergence(from, other *rules.Verdict) []string {
	var out []string
	if from.Decode != nil {
		out = append(out, FailureDecode)
	}
	for i := range from.Violations {
		v := &from.Violations[i]
		if v.Severity == rules.SeverityError && !failsAsError(other, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	if len(out) == 0 { // e.g. the same rule failed in both, but a different one made the difference
		out = append(out, "_outcome")
	}
	return out
}

// sampleShadow records a diverging event of the batch for the ShadowSampler (when one is
// configured and the batch has room): its provenance, both verdicts without offending
// values, and the event with the fields either contract protects masked.
func (p *Pipeline) sampleShadow(bj *batchJudging, rec *Record, direction string, diff []string, active, shadow *rules.Verdict) {
	if p.cfg.Shadow == nil || len(p.samples) >= ShadowSamplesPerBatch {
		return
	}
	smp := quarantine.ShadowSample{
		Domain: bj.c.Domain, Direction: direction, Rules: diff,
		Active: shadowVerdict(bj.c, active), Shadow: shadowVerdict(bj.shadow, shadow),
		Stream: p.cfg.Stream, Shard: p.cfg.Shard, SequenceNumber: rec.SequenceNumber, SubSequence: rec.SubSequence,
		ArrivalTime: rec.ArrivalTime, JudgedAt: bj.now, Worker: p.cfg.Worker,
	}
	switch masked, err := rules.MaskPII(rec.Data, bj.c, bj.shadow); {
	case err != nil:
		smp.EventOmitted = "undecodable"
	case len(masked) > MaxShadowEventBytes:
		smp.EventOmitted = "too_large"
	default:
		smp.Event = masked
	}
	p.samples = append(p.samples, smp)
}

func shadowVerdict(c *rules.Contract, v *rules.Verdict) quarantine.ShadowVerdict {
	sv := quarantine.ShadowVerdict{Version: c.Version, Hash: c.Hash, Outcome: v.Outcome.String()}
	if v.Decode != nil {
		sv.Failures = append(sv.Failures, quarantine.Failure{Rule: FailureDecode, Severity: string(rules.SeverityError), Message: v.Decode.Reason})
	}
	for _, vi := range v.Violations {
		sv.Failures = append(sv.Failures, quarantine.Failure{Rule: vi.Rule, Severity: string(vi.Severity), Message: vi.Message})
	}
	return sv
}

// offerShadow hands the acknowledged batch's samples to the sampler.
func (p *Pipeline) offerShadow() {
	if len(p.samples) == 0 {
		return
	}
	p.cfg.Shadow.Offer(p.samples)
	clear(p.samples)
	p.samples = p.samples[:0]
}
