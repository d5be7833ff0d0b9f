package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// CuratedSink receives a batch's good events. KinesisSink implements it; tests use fakes.
//
// Put returns nil only when every record in recs is durably acknowledged by the curated
// stream, and an error otherwise (records may then have been written partly: the caller
// sends the batch again). Put must honour ctx and must not keep recs after it returns. A
// sink shared by several pipelines must be safe for concurrent use.
type CuratedSink interface {
	Put(ctx context.Context, stream string, recs []CuratedRecord) error
}

// QuarantineSink receives a batch's quarantined records as one object under key. S3Sink
// implements it; tests use fakes.
//
// Put returns nil only when the whole object is durably stored, and an error otherwise. The
// key is deterministic for the batch, so writing it again replaces the object. Put must
// honour ctx and must not keep recs after it returns. A sink shared by several pipelines must
// be safe for concurrent use.
type QuarantineSink interface {
	Put(ctx context.Context, key string, recs []quarantine.Record) error
}

// Reason and failure names the pipeline adds to the quarantine package's.
const (
	// ReasonInternal quarantines a record whose judging panicked (a bug, never data's fault:
	// the record is kept and the shard goes on).
	ReasonInternal = "internal_error"
	// NoContractDomain is the domain segment of the object key (and the metrics' domain
	// label) for records of a stream that no active contract judges.
	NoContractDomain = "_no_contract"
	// FailureDecode is the Rule of the failure recorded for a record that did not decode; the
	// failure's Value holds the stable reason code (e.g. "duplicate_key"), its Message the
	// human-readable detail with the byte offset.
	FailureDecode = "decode"
	// FailureTooLarge is the Rule of the failure recorded for an event whose enriched output
	// plus partition key exceeds MaxRecordBytes; Value holds the size in bytes.
	FailureTooLarge = "too_large"
	// FailurePartitionKey is the Rule of the failure recorded for an event whose output
	// partition key Kinesis would refuse (over 256 characters); the record's reason is "rules".
	FailurePartitionKey = "partition_key"
	// FailureNoContract is the Rule of the failure recorded for a record no contract judges.
	FailureNoContract = "no_contract"
	// FailureInternal is the Rule of the failure recorded for a record whose judging panicked;
	// Error holds the panic value.
	FailureInternal = "internal_error"
)

// PipelineConfig is what a Pipeline needs. Rules, Stream, Shard, CuratedSink and
// QuarantineSink are required.
type PipelineConfig struct {
	// Rules returns the current contract set. Process calls it once at the start of each
	// batch and judges the whole batch with that set, so a reload takes effect between batches.
	Rules func() *rules.Set
	// Stream and Shard identify the shard lease this pipeline serves.
	Stream string
	Shard  string
	// Worker is this worker's id, written into quarantine records.
	Worker string
	// Domain, when set, names the contract judging the stream (rules.Set.ByDomain) instead of
	// the contract whose sources list it (rules.Set.ByStream).
	Domain string
	// Curated, when set, overrides the contract's curated stream.
	Curated string

	CuratedSink    CuratedSink
	QuarantineSink QuarantineSink
	// QuarantinePrefix is the key prefix of quarantine objects (see quarantine.ObjectKey).
	QuarantinePrefix string

	// Now is the clock (default time.Now): the judging time of a batch (freshness rules,
	// processing metadata) and the quarantinedAt of its records.
	Now func() time.Time
	// Logger (default: discard) and Metrics (default: a private registry).
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Shadow, when set, receives a sample of the events the domain's shadow contract judges
	// differently from the active one, once their batch is acknowledged (see ShadowSampler).
	// Without it divergences are only counted.
	Shadow *ShadowSampler
	// State holds the memories of unique rules; give every pipeline of a worker the same
	// one so that its shards share them (default: a private State per pipeline).
	State *rules.State
}

// judger is what the pipeline needs from a rules.Evaluator; a seam for tests.
type judger interface {
	Judge(c *rules.Contract, in rules.Input) rules.Verdict
}

// Pipeline judges and routes the batches of one shard lease: decode → contract → route. It
// is not safe for concurrent use: one goroutine per shard lease calls Process, one batch at a
// time, and the pipeline reuses its buffers from batch to batch.
type Pipeline struct {
	cfg       PipelineConfig
	newJudger func() judger
	active    judger
	shadow    judger

	// Per-batch scratch, reused across batches.
	curated     []CuratedRecord
	quarantined []quarantine.Record
	samples     []quarantine.ShadowSample // at most ShadowSamplesPerBatch
	tally       tally
}

// NewPipeline checks cfg and returns a Pipeline.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	switch {
	case cfg.Rules == nil:
		return nil, errors.New("new pipeline: Rules is required")
	case cfg.Stream == "" || cfg.Shard == "":
		return nil, errors.New("new pipeline: Stream and Shard are required")
	case cfg.CuratedSink == nil || cfg.QuarantineSink == nil:
		return nil, errors.New("new pipeline: CuratedSink and QuarantineSink are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Metrics = orNewMetrics(cfg.Metrics)
	if cfg.State == nil {
		cfg.State = rules.NewState()
	}
	p := &Pipeline{cfg: cfg, newJudger: func() judger {
		e := rules.NewEvaluator()
		e.UseState(cfg.State)
		return e
	}}
	p.tally.init()
	return p, nil
}

// Process judges every record of b and routes it: passed and warned events (enriched) to the
// curated stream, everything else — decode failures, failed error-severity rules, outputs
// Kinesis would refuse, records of a stream without contract, records whose judging panicked
// — to one quarantine object for the batch. The two sinks are written concurrently.
//
// Process returns nil only when both sinks acknowledged every record of the batch; only then
// may the caller checkpoint the batch's last sequence number. Otherwise it returns an error
// (wrapping ErrUnacknowledged and the context's error when ctx ended while a sink was still
// retrying) and the caller must not checkpoint; processing the same batch again is safe: it
// can only produce duplicates, and the quarantine object is overwritten, not duplicated.
//
// Records are data, never errors: no record makes Process fail or panic. Errors are for
// infrastructure (sinks, a missing contract set, a contract without curated stream).
func (p *Pipeline) Process(ctx context.Context, b Batch) error {
	if (b.Stream != "" && b.Stream != p.cfg.Stream) || (b.ShardID != "" && b.ShardID != p.cfg.Shard) {
		return fmt.Errorf("%w: pipeline for %s/%s got %s/%s", ErrWrongStream, p.cfg.Stream, p.cfg.Shard, b.Stream, b.ShardID)
	}
	if len(b.Records) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("process %s/%s: %w: %w", p.cfg.Stream, p.cfg.Shard, ErrUnacknowledged, err)
	}
	began := time.Now()
	set := p.cfg.Rules()
	if set == nil {
		return fmt.Errorf("process %s/%s: no contract set loaded", p.cfg.Stream, p.cfg.Shard)
	}
	c, missing := p.contract(set)
	curatedStream := p.cfg.Curated
	if c != nil && curatedStream == "" {
		curatedStream = c.Curated
	}
	if c != nil && curatedStream == "" {
		return fmt.Errorf("process %s/%s: contract %s %s: %w", p.cfg.Stream, p.cfg.Shard, c.Domain, c.Version, ErrNoCuratedStream)
	}
	var shadow *rules.Contract
	if c != nil {
		shadow = set.Shadow(c.Domain)
	}

	p.reset()
	bj := batchJudging{c: c, shadow: shadow, now: p.cfg.Now(), missing: missing}
	for i := range b.Records {
		p.route(&bj, &b.Records[i])
	}

	domain := NoContractDomain
	if c != nil {
		domain = c.Domain
	}
	first, last := &b.Records[0], &b.Records[len(b.Records)-1]
	key := quarantine.ObjectKey(p.cfg.QuarantinePrefix, domain, p.cfg.Stream, p.cfg.Shard, first.ArrivalTime, first.SequenceNumber, last.SequenceNumber)

	var curErr, qErr error
	var wg sync.WaitGroup
	if len(p.curated) > 0 {
		wg.Go(func() { curErr = p.cfg.CuratedSink.Put(ctx, curatedStream, p.curated) })
	}
	if len(p.quarantined) > 0 {
		qErr = p.cfg.QuarantineSink.Put(ctx, key, p.quarantined)
	}
	wg.Wait()
	if err := errors.Join(curErr, qErr); err != nil {
		return fmt.Errorf("process %s/%s batch %s..%s (%d records, %d curated, %d quarantined): %w",
			p.cfg.Stream, p.cfg.Shard, first.SequenceNumber, last.SequenceNumber,
			len(b.Records), len(p.curated), len(p.quarantined), err)
	}

	version := ""
	if c != nil {
		version = c.Version
	}
	p.tally.flush(p.cfg.Metrics, p.cfg.Stream, domain, version)
	if c != nil && c.HasUniqueRules() {
		p.cfg.State.Report(bj.now, func(s rules.UniqueStat) {
			if s.Stage == rules.StageActive {
				p.cfg.Metrics.SetUniqueKeys(s.Domain, s.Rule, s.Keys, s.Evicted)
			}
		})
	}
	p.offerShadow()
	p.cfg.Metrics.BatchDuration.WithLabelValues(p.cfg.Stream).Observe(time.Since(began).Seconds())
	p.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "batch routed",
		slog.String("stream", p.cfg.Stream), slog.String("shard", p.cfg.Shard),
		slog.String("firstSeq", first.SequenceNumber), slog.String("lastSeq", last.SequenceNumber),
		slog.Int("records", len(b.Records)), slog.Int("curated", len(p.curated)), slog.Int("quarantined", len(p.quarantined)))
	p.release()
	return nil
}

// contract picks the contract judging this pipeline's stream; when there is none it also
// returns the sentence saying why, for the quarantine failure.
func (p *Pipeline) contract(set *rules.Set) (*rules.Contract, string) {
	if p.cfg.Domain != "" {
		if c := set.ByDomain(p.cfg.Domain); c != nil {
			return c, ""
		}
		return nil, "no active contract for domain " + strconv.Quote(p.cfg.Domain) + " (configured for stream " + strconv.Quote(p.cfg.Stream) + ")"
	}
	if c := set.ByStream(p.cfg.Stream); c != nil {
		return c, ""
	}
	return nil, "no active contract lists stream " + strconv.Quote(p.cfg.Stream) + " in its sources"
}

// batchJudging is what stays the same for every record of a batch.
type batchJudging struct {
	c, shadow *rules.Contract
	now       time.Time
	missing   string // why c is nil
}

// route judges one record and appends it to the curated or the quarantine list.
func (p *Pipeline) route(bj *batchJudging, rec *Record) {
	p.tally.in++
	if bj.c == nil {
		p.quarantine(bj, rec, quarantine.ReasonNoContract, []quarantine.Failure{{
			Rule: FailureNoContract, Severity: string(rules.SeverityError), Message: bj.missing,
		}})
		return
	}
	in := rules.Input{Data: rec.Data, PartitionKey: rec.PartitionKey, Now: bj.now,
		Stream: p.cfg.Stream, Shard: p.cfg.Shard, SequenceNumber: rec.SequenceNumber, SubSequence: rec.SubSequence}
	v, perr := p.judge(&p.active, bj.c, in)
	if perr != nil {
		p.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "judging a record panicked; quarantining it",
			slog.String("stream", p.cfg.Stream), slog.String("shard", p.cfg.Shard),
			slog.String("sequenceNumber", rec.SequenceNumber), slog.Int64("subSequence", rec.SubSequence),
			slog.String("contract", bj.c.Domain), slog.String("version", bj.c.Version), slog.String("panic", perr.Error()))
		p.quarantine(bj, rec, ReasonInternal, []quarantine.Failure{{
			Rule: FailureInternal, Severity: string(rules.SeverityError),
			Message: "judging this record panicked (a meshgate bug); the record is kept", Error: perr.Error(),
		}})
		return
	}
	if bj.shadow != nil {
		p.compareShadow(bj, rec, in, &v)
	}
	for i := range v.Violations {
		p.tally.rule(v.Violations[i].Rule, v.Violations[i].Severity)
	}

	if v.Outcome == rules.Quarantined {
		if v.Decode != nil {
			p.tally.decode[v.Decode.Reason]++
			p.quarantine(bj, rec, quarantine.ReasonDecode, append([]quarantine.Failure{{
				Rule: FailureDecode, Severity: string(rules.SeverityError), Message: v.Decode.Detail, Value: v.Decode.Reason,
			}}, failures(v.Violations)...))
			return
		}
		p.quarantine(bj, rec, quarantine.ReasonRules, failures(v.Violations))
		return
	}

	key := v.PartitionKey
	if key == "" {
		key = rec.PartitionKey
	}
	// Verdict.Output is allocated per event by the evaluator (rules/enrich.go), so it is ours
	// to keep until the sinks are done; TestPipelineRoutesEveryOutcome would catch aliasing.
	cr := CuratedRecord{Data: v.Output, PartitionKey: key}
	if err := CheckCurated(cr); err != nil {
		f := quarantine.Failure{Rule: FailureTooLarge, Severity: string(rules.SeverityError), Message: err.Error(), Value: strconv.Itoa(cr.Size())}
		reason := quarantine.ReasonTooLarge
		if errors.Is(err, ErrInvalidPartitionKey) {
			f = quarantine.Failure{Rule: FailurePartitionKey, Severity: string(rules.SeverityError), Message: err.Error(), Value: truncate(key, 300)}
			reason = quarantine.ReasonRules
		}
		p.quarantine(bj, rec, reason, append([]quarantine.Failure{f}, failures(v.Violations)...))
		return
	}
	p.curated = append(p.curated, cr)
	if v.Outcome == rules.Warned {
		p.tally.warned++
	} else {
		p.tally.passed++
	}
}

// judge runs j.Judge and turns a panic into an error. After a panic the judger's scratch
// state is suspect, so it is replaced by a fresh one.
func (p *Pipeline) judge(j *judger, c *rules.Contract, in rules.Input) (v rules.Verdict, err error) {
	if *j == nil {
		*j = p.newJudger()
	}
	defer func() {
		if r := recover(); r != nil {
			*j = nil
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return (*j).Judge(c, in), nil
}

func (p *Pipeline) quarantine(bj *batchJudging, rec *Record, reason string, fs []quarantine.Failure) {
	q := quarantine.Record{
		Payload:        rec.Data,
		Reason:         reason,
		Failures:       fs,
		Domain:         p.cfg.Domain,
		Stream:         p.cfg.Stream,
		Shard:          p.cfg.Shard,
		SequenceNumber: rec.SequenceNumber,
		SubSequence:    rec.SubSequence,
		PartitionKey:   rec.PartitionKey,
		ArrivalTime:    rec.ArrivalTime,
		Worker:         p.cfg.Worker,
		QuarantinedAt:  bj.now,
	}
	if bj.c != nil {
		q.Domain, q.Contract, q.ContractVersion = bj.c.Domain, bj.c.Domain, bj.c.Version
	}
	p.quarantined = append(p.quarantined, q)
	p.tally.quarantined[reason]++
}

func failures(vs []rules.Violation) []quarantine.Failure {
	if len(vs) == 0 {
		return nil
	}
	out := make([]quarantine.Failure, len(vs))
	for i, v := range vs {
		out[i] = quarantine.Failure{Rule: v.Rule, Severity: string(v.Severity), Message: v.Message, Value: v.Value, Error: v.Error}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n] + "…"
}

// reset prepares the scratch for a new batch.
func (p *Pipeline) reset() {
	p.curated = p.curated[:0]
	p.quarantined = p.quarantined[:0]
	clear(p.samples)
	p.samples = p.samples[:0]
	p.tally.reset()
}

// release drops references into the finished batch (payloads, outputs) so that they do not
// outlive it: between batches a pipeline holds only its two slices' backing arrays.
func (p *Pipeline) release() {
	clear(p.curated)
	clear(p.quarantined)
}

// compareShadow judges the record with the domain's shadow contract too and counts an
// outcome that differs from the active contract's in meshgate_shadow_divergences_total,
// labelled with the rules that make the difference, and samples the record for the
// ShadowSampler (shadow.go). Routing is unaffected.
func (p *Pipeline) compareShadow(bj *batchJudging, rec *Record, in rules.Input, active *rules.Verdict) {
	sv, err := p.judge(&p.shadow, bj.shadow, in)
	if err != nil {
		p.cfg.Logger.LogAttrs(context.Background(), slog.LevelError, "shadow judging panicked",
			slog.String("contract", bj.shadow.Domain), slog.String("version", bj.shadow.Version), slog.String("panic", err.Error()))
		return
	}
	activeQ, shadowQ := active.Outcome == rules.Quarantined, sv.Outcome == rules.Quarantined
	if activeQ == shadowQ {
		return
	}
	direction, from, other := "would_quarantine", &sv, active
	if activeQ {
		direction, from, other = "would_pass", active, &sv
	}
	diff := divergence(from, other)
	for _, rule := range diff {
		p.tally.shadow[shadowKey{rule, direction}]++
	}
	p.sampleShadow(bj, rec, direction, diff, active, &sv)
}

func failsAsError(v *rules.Verdict, rule string) bool {
	for i := range v.Violations {
		if v.Violations[i].Rule == rule && v.Violations[i].Severity == rules.SeverityError {
			return true
		}
	}
	return false
}

// tally counts a batch's outcomes; it goes to the metrics only once the batch is
// acknowledged, so a batch retried after a sink failure is not counted twice.
type tally struct {
	in, passed, warned int
	quarantined        map[string]int // reason
	rules              map[ruleKey]int
	decode             map[string]int // reason
	shadow             map[shadowKey]int
}

type ruleKey struct {
	rule     string
	severity rules.Severity
}

type shadowKey struct{ rule, direction string }

func (t *tally) init() {
	t.quarantined = map[string]int{}
	t.rules = map[ruleKey]int{}
	t.decode = map[string]int{}
	t.shadow = map[shadowKey]int{}
}

func (t *tally) reset() {
	t.in, t.passed, t.warned = 0, 0, 0
	clear(t.quarantined)
	clear(t.rules)
	clear(t.decode)
	clear(t.shadow)
}

func (t *tally) rule(name string, sev rules.Severity) { t.rules[ruleKey{name, sev}]++ }

func (t *tally) flush(m *metrics.Metrics, stream, domain, version string) {
	m.RecordsIn.WithLabelValues(stream, domain).Add(float64(t.in))
	if t.passed > 0 {
		m.RecordsPassed.WithLabelValues(domain, version).Add(float64(t.passed))
	}
	if t.warned > 0 {
		m.RecordsWarned.WithLabelValues(domain, version).Add(float64(t.warned))
	}
	for reason, n := range t.quarantined {
		m.RecordsQuarantined.WithLabelValues(domain, version, reason).Add(float64(n))
	}
	for k, n := range t.rules {
		m.RuleFailures.WithLabelValues(domain, k.rule, string(k.severity)).Add(float64(n))
	}
	for reason, n := range t.decode {
		m.DecodeFailures.WithLabelValues(domain, reason).Add(float64(n))
	}
	for k, n := range t.shadow {
		m.ShadowDivergences.WithLabelValues(domain, k.rule, k.direction).Add(float64(n))
	}
}
