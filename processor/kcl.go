package processor

// kcl.go is the one place that knows vmware-go-kcl-v2 (v1.0.0): it adapts the library's
// IRecordProcessor (no context, no error return) to our BatchProcessor.Process(ctx, Batch)
// error, builds the library's configuration and Kinesis client, and works around the
// library's bugs. Everything else in meshgate sees Batch, BatchProcessor and
// checkpoint.Store only.
//
// The invariant this file exists for: a checkpoint advances only past records that both
// sinks acknowledged. ProcessRecords therefore never returns with an unacknowledged batch
// while the lease is held and the worker is not stopping: it retries the same batch until
// Process returns nil. Returning early would let the library fetch the next batch, and that
// batch's checkpoint would skip the failed records. When it must return early (lease lost,
// stop deadline), the processor turns "unacknowledged": it never checkpoints again, not
// even SHARD_END, and skips whatever the library still hands it until it lets go of the
// shard. The next owner starts from the last checkpoint: at-least-once.
//
// vmware-go-kcl-v2 v1.0.0 — what it does, and what we do about it:
//
//  1. Lease renewal runs in a goroutine of its own per shard (renewLease, every
//     LeaseRefreshWaitTime), so a ProcessRecords blocked on a sink outage does not lose the
//     lease by itself. But the consumer loop only looks at a renewal failure between batches,
//     and the renewal goroutine exits on its first error. We watch the lease ourselves
//     (checkpoint.Lease.Done closes on refusal, failure or expiry) and cancel the batch's
//     context, so a blocked ProcessRecords stops as soon as the lease is gone.
//  2. On lease loss or steal the library never calls Shutdown(ZOMBIE); the consumer just
//     returns and releases. Covered by 1 and by the sticky unacknowledged state.
//  3. The library's DynamoCheckpoint writes checkpoints unconditionally (a worker that lost
//     its lease overwrites the new owner's checkpoint and lease), renews by rewriting the whole
//     item from a local cache (moving checkpoints backwards), creates the table with provisioned
//     capacity, does not wait for ACTIVE and fails on the CreateTable race. Replaced by
//     checkpoint.Store (owner-conditional UpdateItems, on-demand table, race-tolerant).
//  4. The shard loop takes at most one new lease per ShardSyncIntervalMillis (default 60 s,
//     jittered ±50 %), so a fresh worker needs minutes to own its shards. We default the
//     interval to 1 s (config kcl.shardSyncInterval); a ShardSyncIntervalMillis of 0 would
//     panic in crypto/rand, config rejects it.
//  5. After a restart under the same worker id (a pod with a stable name, a crash and
//     restart) the library's lease sync (with lease stealing) marks every row that still names
//     this worker as already owned; the shard loop skips those shards and, taking one lease per
//     iteration, never re-acquires the others. checkpoint.Store reports rows naming this worker
//     without a lease it holds as unowned, so they are acquired again at once
//     (e2e TestRestartsUnderTheSameWorkerIDAfterAKill).
//  6. De-aggregation of KPL records loses the sub-sequence number, drops the WHOLE GetRecords
//     batch (never passed to ProcessRecords, so a later checkpoint skips it) when one aggregate
//     has a valid digest but bad protobuf, and panics (crashing the process, over and over on
//     the same record) on an out-of-range partition key index. Our Kinesis client hides
//     aggregates from the library (kplMiddleware flips one magic byte and tags the record) and
//     we de-aggregate here: every user record is judged on its own with its SubSequence; an
//     invalid aggregate is passed on whole and quarantined as undecodable.
//  7. processRecords dereferences GetRecordsOutput.MillisBehindLatest without a nil check
//     (a panic with emulators that omit it). Our middleware fills in -1 ("unknown").
//  8. Parent shards: the library waits only for ParentShardId (ignoring the adjacent parent
//     of a merge, so a merged child may start before one of its parents is finished), treats
//     a parent without checkpoint as gone (the child starts at once, out of order), and waits
//     in a loop that ignores shutdown. Our middleware hides parent ids from the library; our
//     Initialize waits for every parent still in the stream (both parents of a merge) to
//     reach SHARD_END, renewing the child's lease meanwhile and honouring shutdown.
//  9. Worker.Shutdown blocks until every shard consumer returns; it is not safe to call
//     twice concurrently. Our Worker.Stop calls it once, in the background, and bounds the
//     wait: in-flight batches get until the grace deadline, then their context is cancelled.
//  10. renewLease logs through logrus's global logger, bypassing the configured Logger; we
//     route both into slog (library info chatter at debug level).
//  11. ListActiveWorkers failing with ErrShardNotAssigned while any shard is unowned is
//     logged by the library as a warning at every shard sync; we demote it to debug.
//  12. Rate limiting in the consumer (5 GetRecords/s, 10 MB budget) and the idle sleep are
//     plain sleeps that ignore shutdown; they bound the stop latency to about a second with
//     our defaults (idleTimeBetweenReads 1s).
//  13. The consumer treats every GetRecords error other than throttling as fatal for the shard
//     (it returns and releases the lease), e.g. ExpiredIteratorException after a sink outage
//     longer than the iterator's 5 minutes. Harmless here: nothing was checkpointed past the
//     acknowledged batch, and the shard is re-acquired at the next shard sync and resumes from
//     its checkpoint.
//  14. The library has no context anywhere (SDK calls use context.TODO). Our clients bound each
//     response with a header timeout (awsclient) and the store bounds each DynamoDB call.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/sirupsen/logrus"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	kclconfig "github.com/vmware/vmware-go-kcl-v2/clientlibrary/config"
	kcl "github.com/vmware/vmware-go-kcl-v2/clientlibrary/interfaces"
	par "github.com/vmware/vmware-go-kcl-v2/clientlibrary/partition"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
	kcllogger "github.com/vmware/vmware-go-kcl-v2/logger"

	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/metrics"
)

// BatchProcessor processes one shard's batches; Pipeline implements it. Process returns
// nil only when every record of the batch is durably routed; only then is the batch
// checkpointed. It must honour ctx, and may be called again with the same batch.
type BatchProcessor interface {
	Process(ctx context.Context, b Batch) error
}

// ---- the Kinesis client the library uses ------------------------------------------------

// encryptionTypeKPL tags a record whose KPL magic kplMiddleware disguised.
const encryptionTypeKPL ktypes.EncryptionType = "meshgate-kpl-aggregate"

// kclClientOptions installs the middleware that protects the library from itself: it
// fills in a missing MillisBehindLatest, disguises KPL aggregates so that the library
// passes them through untouched (we de-aggregate them), and hides parent shard ids from
// ListShards (we order parents before children ourselves).
func kclClientOptions(o *kinesis.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("meshgate.KCLGuard",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil {
					return out, md, err
				}
				switch res := out.Result.(type) {
				case *kinesis.GetRecordsOutput:
					guardGetRecords(res)
				case *kinesis.ListShardsOutput:
					for i := range res.Shards {
						res.Shards[i].ParentShardId = nil
						res.Shards[i].AdjacentParentShardId = nil
					}
				}
				return out, md, err
			}), middleware.Before)
	})
}

func guardGetRecords(res *kinesis.GetRecordsOutput) {
	if res.MillisBehindLatest == nil {
		res.MillisBehindLatest = aws.Int64(-1)
	}
	for i := range res.Records {
		r := &res.Records[i]
		if isKPLAggregate(r.Data) {
			r.Data[0] ^= 0xFF // no longer the magic: the library leaves it alone
			r.EncryptionType = encryptionTypeKPL
		}
	}
}

// toBatch converts the library's records, undoing guardGetRecords and de-aggregating.
// It reuses recs' backing array.
func toBatch(stream, shard string, in []ktypes.Record, millisBehind int64, recs []Record) Batch {
	recs = recs[:0]
	for i := range in {
		r := &in[i]
		base := Record{
			Data:           r.Data,
			PartitionKey:   aws.ToString(r.PartitionKey),
			SequenceNumber: aws.ToString(r.SequenceNumber),
			ArrivalTime:    aws.ToTime(r.ApproximateArrivalTimestamp),
		}
		if r.EncryptionType == encryptionTypeKPL {
			r.Data[0] ^= 0xFF // restore the magic
			if users, err := deaggregate(r.Data); err == nil {
				for j, u := range users {
					rec := base
					rec.Data, rec.PartitionKey, rec.SubSequence, rec.Aggregated = u.data, u.partitionKey, int64(j), true
					recs = append(recs, rec)
				}
				continue
			}
			// Not a valid aggregate: judged whole (and quarantined as undecodable).
		}
		recs = append(recs, base)
	}
	return Batch{Stream: stream, ShardID: shard, Records: recs, MillisBehindLatest: millisBehind}
}

// ---- shared state of one stream's shard processors ----------------------------------------

// shardLister lists a stream's shards; *kinesis.Client satisfies it. It must be a client
// without kclClientOptions (it needs the parent ids).
type shardLister interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// kclStream is what every shard processor of one stream shares.
type kclStream struct {
	stream string
	worker string
	store  *checkpoint.Store
	// newProcessor builds the BatchProcessor of one shard lease.
	newProcessor func(shardID string) (BatchProcessor, error)
	lister       shardLister
	log          *slog.Logger
	metrics      *metrics.Metrics
	backoff      Backoff

	// stopping is closed when the worker starts to stop: no new batch is started.
	stopping <-chan struct{}
	// drain ends when in-flight batches must give up (the stop deadline).
	drain context.Context

	parentPoll time.Duration // how often a child checks its parents
	renewEvery time.Duration // lease renewal while a child waits for its parents
}

// CreateProcessor implements kcl.IRecordProcessorFactory: one processor per shard lease.
func (s *kclStream) CreateProcessor() kcl.IRecordProcessor { return &shardProcessor{s: s} }

// shardProcessor is the library's record processor for one shard lease.
type shardProcessor struct {
	s       *kclStream
	shardID string
	lease   *checkpoint.Lease
	ctx     context.Context // ends with the lease or at the stop deadline
	cancel  context.CancelFunc
	proc    BatchProcessor
	log     *slog.Logger
	recs    []Record // reused between batches
	// unacked is set once a batch could not be acknowledged (lease lost, stopping, setup
	// failure): from then on nothing is processed or checkpointed for this lease.
	unacked bool
}

var _ kcl.IRecordProcessor = (*shardProcessor)(nil)

// Initialize implements kcl.IRecordProcessor. It runs after the library acquired the lease
// and before the first batch; it waits here for the shard's parents to be finished.
func (p *shardProcessor) Initialize(in *kcl.InitializationInput) {
	p.shardID = in.ShardId
	p.log = p.s.log.With(slog.String("shard", p.shardID))
	p.lease = p.s.store.Lease(p.shardID)
	if p.lease == nil {
		p.unacked = true
		p.log.Warn("shard consumer started without a lease; skipping it until the library lets go")
		return
	}
	// p.ctx ends when the lease ends or at the stop deadline; the goroutine ends with it
	// (the library releases every lease when its consumer returns, which ends the Lease).
	p.ctx, p.cancel = context.WithCancel(p.s.drain)
	go func() {
		select {
		case <-p.lease.Done():
			p.cancel()
		case <-p.ctx.Done():
		}
	}()
	proc, err := p.s.newProcessor(p.shardID)
	if err != nil {
		p.unacked = true
		p.log.Error("cannot build the shard's pipeline; not processing it", slog.String("error", err.Error()))
		return
	}
	p.proc = proc
	checkpointed := ""
	if in.ExtendedSequenceNumber != nil {
		checkpointed = aws.ToString(in.ExtendedSequenceNumber.SequenceNumber)
	}
	if err := p.waitForParents(); err != nil {
		p.unacked = true
		p.log.Info("not starting shard", slog.String("reason", err.Error()))
		return
	}
	p.log.Info("shard started", slog.String("checkpoint", checkpointed))
}

// waitForParents blocks until every parent of the shard that is still in the stream is
// checkpointed at SHARD_END, renewing this shard's lease meanwhile (the library starts
// renewing only after Initialize). It fails when the lease ends or the worker stops first.
//
// The renewal runs in a goroutine of its own: a ListShards or GetItem slower than the
// failover time (a throttled or overloaded service) would otherwise let the lease lapse
// before the shard ever starts, on every acquisition (reliability TestSlowShardListing).
func (p *shardProcessor) waitForParents() error {
	renewCtx, stopRenewing := context.WithCancel(p.ctx)
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		p.renewWhileWaiting(renewCtx)
	}()
	defer func() {
		stopRenewing()
		<-renewing // the library renews from here on; never both at once
	}()
	var parents []string
	listed, logged := false, false
	for poll := 0; ; poll++ {
		if !listed || poll%10 == 0 { // re-list now and then: a parent may expire meanwhile
			ps, err := p.openParents()
			if err != nil {
				p.log.Warn("cannot list the stream's shards to find parents; retrying", slog.String("error", err.Error()))
			} else {
				parents, listed = ps, true
			}
		}
		if listed {
			var pending []string
			for _, parent := range parents {
				it, _, err := p.s.store.Item(p.ctx, parent)
				if err != nil || it.Checkpoint != checkpoint.ShardEnd {
					pending = append(pending, parent)
				}
			}
			if len(pending) == 0 {
				if logged {
					p.log.Info("parent shards finished", slog.Any("parents", parents))
				}
				return nil
			}
			if !logged {
				p.log.Info("waiting for parent shards to finish", slog.Any("parents", pending))
				logged = true
			}
		}
		t := time.NewTimer(p.s.parentPoll)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			if err := p.lease.Err(); err != nil {
				return err
			}
			return errors.New("worker stopping")
		case <-p.s.stopping:
			t.Stop()
			return errors.New("worker stopping")
		}
	}
}

// renewWhileWaiting renews the shard's lease every renewEvery until ctx ends. A failed
// renewal ends the Lease (the store drops it), which ends p.ctx and so the wait.
func (p *shardProcessor) renewWhileWaiting(ctx context.Context) {
	status := &par.ShardStatus{ID: p.shardID, Mux: &sync.RWMutex{}}
	t := time.NewTicker(p.s.renewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := p.s.store.GetLease(status, p.s.worker); err != nil {
			p.log.Warn("lease lost while waiting for parents", slog.String("error", err.Error()))
			return
		}
	}
}

// openParents returns the parents of the shard (parent and, after a merge, adjacent
// parent) that the stream still lists; a parent past the retention period is gone and
// nothing of it is left to order before the child.
func (p *shardProcessor) openParents() ([]string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	byID := map[string]ktypes.Shard{}
	in := &kinesis.ListShardsInput{StreamName: aws.String(p.s.stream)}
	for {
		out, err := p.s.lister.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", p.s.stream, err)
		}
		for _, sh := range out.Shards {
			byID[aws.ToString(sh.ShardId)] = sh
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	self, ok := byID[p.shardID]
	if !ok {
		return []string{}, nil
	}
	parents := []string{}
	for _, id := range []string{aws.ToString(self.ParentShardId), aws.ToString(self.AdjacentParentShardId)} {
		if _, listed := byID[id]; id != "" && listed {
			parents = append(parents, id)
		}
	}
	return parents, nil
}

// ProcessRecords implements kcl.IRecordProcessor: process the batch until both sinks
// acknowledged it, then checkpoint its last sequence number. See the file comment.
func (p *shardProcessor) ProcessRecords(in *kcl.ProcessRecordsInput) {
	if p.unacked || len(in.Records) == 0 {
		return
	}
	select {
	case <-p.s.stopping: // fetched after the stop began: not in flight, leave it
		p.unacked = true
		return
	case <-p.lease.Done():
		p.unacked = true
		return
	default:
	}
	b := toBatch(p.s.stream, p.shardID, in.Records, in.MillisBehindLatest, p.recs)
	p.recs = b.Records[:0]
	if in.MillisBehindLatest >= 0 {
		p.s.metrics.MillisBehindLatest.WithLabelValues(p.s.stream, p.shardID).Set(float64(in.MillisBehindLatest))
	}
	defer clear(p.recs[:cap(p.recs)]) // drop payload references between batches

	for attempt := 0; ; attempt++ {
		err := p.proc.Process(p.ctx, b)
		if err == nil {
			break
		}
		if !p.retryAfter(attempt, err) {
			p.unacked = true
			p.log.Warn("batch not acknowledged; not checkpointing", slog.String("reason", p.letGoReason()),
				slog.String("firstSeq", b.Records[0].SequenceNumber), slog.String("lastSeq", b.Records[len(b.Records)-1].SequenceNumber),
				slog.Int("records", len(b.Records)), slog.String("error", err.Error()))
			return
		}
	}
	last := b.Records[len(b.Records)-1].SequenceNumber
	p.checkpoint(in.Checkpointer, &last)
}

// retryAfter logs a failed attempt and waits before the next one. It returns false when
// the batch must be abandoned: the lease ended or the stop deadline passed.
func (p *shardProcessor) retryAfter(attempt int, err error) bool {
	if p.ctx.Err() != nil {
		return false
	}
	d := p.s.backoff.Delay(attempt, false)
	level := slog.LevelDebug
	if attempt&(attempt+1) == 0 { // attempts 1, 2, 4, 8, ... at warn
		level = slog.LevelWarn
	}
	p.log.Log(context.Background(), level, "batch failed; retrying the same batch",
		slog.Int("attempt", attempt+1), slog.Duration("wait", d), slog.String("error", err.Error()))
	return p.sleep(d)
}

// letGoReason says why the current batch was abandoned.
func (p *shardProcessor) letGoReason() string {
	if err := p.lease.Err(); err != nil {
		return "lease lost: " + err.Error()
	}
	return "stop deadline reached"
}

// sleep waits d unless the lease ends or the stop deadline passes (then it returns false).
func (p *shardProcessor) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// checkpoint writes seq (nil: SHARD_END) for acknowledged records. A transient failure is
// retried a few times; giving up is safe (a later checkpoint covers these records, or a
// restart reprocesses them). A lost lease makes the processor unacknowledged.
func (p *shardProcessor) checkpoint(cp kcl.IRecordProcessorCheckpointer, seq *string) bool {
	for attempt := 0; ; attempt++ {
		err := cp.Checkpoint(seq)
		if err == nil {
			return true
		}
		at := checkpoint.ShardEnd
		if seq != nil {
			at = *seq
		}
		if errors.Is(err, checkpoint.ErrLeaseLost) || p.lease.Err() != nil {
			p.unacked = true
			p.log.Warn("checkpoint refused: lease lost", slog.String("at", at), slog.String("error", err.Error()))
			return false
		}
		if attempt >= 4 || !p.sleep(p.s.backoff.Delay(attempt, false)) {
			p.log.Error("checkpoint failed; a later checkpoint or a restart covers these records",
				slog.String("at", at), slog.String("error", err.Error()))
			return false
		}
	}
}

// Shutdown implements kcl.IRecordProcessor. TERMINATE (the shard is closed and every record
// was delivered) checkpoints SHARD_END, unless some batch went unacknowledged, so the
// children can start. REQUESTED (worker stopping) needs nothing: every acknowledged batch
// is already checkpointed.
func (p *shardProcessor) Shutdown(in *kcl.ShutdownInput) {
	if p.log == nil {
		p.log = p.s.log
	}
	switch in.ShutdownReason {
	case kcl.TERMINATE:
		if p.unacked || p.lease == nil {
			p.log.Info("shard closed but not finished here; its next owner resumes from the last checkpoint")
			return
		}
		if p.checkpoint(in.Checkpointer, nil) {
			p.log.Info("shard finished (SHARD_END)")
		}
	default:
		p.log.Info("shard stopped", slog.String("reason", aws.ToString(kcl.ShutdownReasonMessage(in.ShutdownReason))))
	}
}

// ---- the library's worker ---------------------------------------------------------------

// kclWorkerConfig is the library configuration for one stream.
type kclWorkerConfig struct {
	Application, Stream, Table, Region, WorkerID string
	InitialPosition                              string // TRIM_HORIZON or LATEST
	MaxRecords                                   int
	IdleTimeBetweenReads                         time.Duration
	FailoverTime                                 time.Duration
	MaxLeasesPerWorker                           int // 0: no limit
	ShardSyncInterval                            time.Duration
	LeaseStealing                                bool
}

// kclRunner is a started library worker.
type kclRunner interface {
	Start() error
	Shutdown()
}

// newKCLWorker builds the library worker for one stream on our store and client. The
// client must have been built with kclClientOptions.
func newKCLWorker(c kclWorkerConfig, s *kclStream, client *kinesis.Client, log *slog.Logger) kclRunner {
	ms := func(d time.Duration) int { return max(1, int(d/time.Millisecond)) }
	cfg := kclconfig.NewKinesisClientLibConfig(c.Application, c.Stream, c.Region, c.WorkerID)
	cfg.TableName = c.Table
	cfg.InitialPositionInStream = kclconfig.TRIM_HORIZON
	if c.InitialPosition == "LATEST" {
		cfg.InitialPositionInStream = kclconfig.LATEST
	}
	cfg.InitialPositionInStreamExtended = kclconfig.InitialPositionInStreamExtended{Position: cfg.InitialPositionInStream}
	cfg.MaxRecords = c.MaxRecords
	cfg.IdleTimeBetweenReadsInMillis = ms(c.IdleTimeBetweenReads)
	cfg.FailoverTimeMillis = ms(c.FailoverTime)
	// Renew four times per lease period, like the library's defaults (2.5 s of 10 s).
	cfg.LeaseRefreshWaitTime = ms(c.FailoverTime / 4)
	cfg.LeaseRefreshPeriodMillis = ms(c.FailoverTime / 2)
	cfg.ShardSyncIntervalMillis = ms(c.ShardSyncInterval)
	cfg.MaxLeasesForWorker = kclconfig.DefaultMaxLeasesForWorker
	if c.MaxLeasesPerWorker > 0 {
		cfg.MaxLeasesForWorker = c.MaxLeasesPerWorker
	}
	cfg.EnableLeaseStealing = c.LeaseStealing
	cfg.LeaseStealingIntervalMillis = ms(c.FailoverTime / 2)
	cfg.LeaseStealingClaimTimeoutMillis = ms(2 * c.FailoverTime)
	cfg.ParentShardPollIntervalMillis = ms(s.parentPoll) // unused: parents are ours (quirk 8)
	cfg.Logger = newKCLLogger(log)
	installLogrusBridge(log)
	return kclworker.NewWorker(s, cfg).WithKinesis(client).WithCheckpointer(s.store)
}

// ---- logging ----------------------------------------------------------------------------

// kclLogger routes the library's logger into slog. The library's info messages are
// per-iteration chatter (debug here); meshgate logs lease and shard events itself.
type kclLogger struct{ l *slog.Logger }

func newKCLLogger(l *slog.Logger) kcllogger.Logger {
	return kclLogger{l.With(slog.String("component", "kcl"))}
}

func (k kclLogger) logf(level slog.Level, format string, args []any) {
	if !k.l.Enabled(context.Background(), level) {
		return
	}
	k.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (k kclLogger) Debugf(format string, args ...any) { k.logf(slog.LevelDebug, format, args) }
func (k kclLogger) Infof(format string, args ...any)  { k.logf(slog.LevelDebug, format, args) }
func (k kclLogger) Warnf(format string, args ...any) {
	level := slog.LevelWarn
	for _, a := range args {
		if err, ok := a.(error); ok && (errors.Is(err, chk.ErrShardNotAssigned) || errors.As(err, &chk.ErrLeaseNotAcquired{})) {
			level = slog.LevelDebug // routine while shards are being (re)assigned (quirk 11)
		}
	}
	k.logf(level, format, args)
}
func (k kclLogger) Errorf(format string, args ...any) { k.logf(slog.LevelError, format, args) }
func (k kclLogger) Fatalf(format string, args ...any) {
	k.logf(slog.LevelError, format, args)
	panic(fmt.Sprintf(format, args...))
}
func (k kclLogger) Panicf(format string, args ...any) {
	k.logf(slog.LevelError, format, args)
	panic(fmt.Sprintf(format, args...))
}
func (k kclLogger) WithFields(f kcllogger.Fields) kcllogger.Logger {
	keys := make([]string, 0, len(f))
	for key := range f {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	attrs := make([]any, 0, len(keys))
	for _, key := range keys {
		attrs = append(attrs, slog.Any(key, f[key]))
	}
	return kclLogger{k.l.With(attrs...)}
}

var logrusOnce sync.Once

// installLogrusBridge sends logrus's global logger (used by the library's lease renewal,
// quirk 10) to slog at debug level: meshgate's store logs lease changes itself.
func installLogrusBridge(l *slog.Logger) {
	logrusOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.DebugLevel)
		logrus.AddHook(logrusHook{l.With(slog.String("component", "kcl"))})
	})
}

type logrusHook struct{ l *slog.Logger }

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h logrusHook) Fire(e *logrus.Entry) error {
	h.l.Debug(strings.TrimSpace(e.Message))
	return nil
}
