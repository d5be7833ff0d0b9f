package processor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/rules"
)

// Deps are a Worker's collaborators.
type Deps struct {
	// AWS are the service clients (awsclient.New); required.
	AWS *awsclient.Clients
	// Rules returns the current contract set; required. Each batch is judged by the set
	// it returns when the batch starts, so swapping what it returns reloads contracts.
	Rules func() *rules.Set
	// Metrics (default: a private registry) and Logger (default: discard).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Shadow, when set, samples the events shadow contracts judge differently (every
	// pipeline offers to it); its owner closes it after Run returned. Optional.
	Shadow *ShadowSampler
}

// Worker consumes the configured source streams: one KCL worker (and one lease table) per
// stream, one goroutine per shard lease (the library's shard consumer), each feeding a
// Pipeline that judges and routes the shard's batches.
//
// Bounds: per shard lease one batch is in flight (at most kcl.maxRecords Kinesis records,
// at most 10 MB as GetRecords returns it, plus the pipeline's outputs); shard leases per
// worker are capped by kcl.maxLeasesPerWorker (0: as many as the stream has).
//
// Lifecycle: New checks the configuration against the contracts; Run starts consuming and
// blocks until its context ends or Stop is called; Stop stops it gracefully within a fixed
// cap. The Worker never handles signals.
type Worker struct {
	cfg     *config.Config
	deps    Deps
	log     *slog.Logger
	streams []*streamRunner

	stopping  chan struct{} // closed when Stop begins
	stopped   chan struct{} // closed when every stream has stopped
	drain     context.Context
	drainStop context.CancelFunc
	stopOnce  sync.Once
	deadline  time.Time  // of the graceful stop, fixed by the first Stop
	mu        sync.Mutex // guards running against a concurrent first Stop
	running   bool
	wg        sync.WaitGroup // runStream goroutines
}

// streamRunner is one source stream's KCL worker and lease table.
type streamRunner struct {
	cfg     config.Stream
	table   string
	store   *checkpoint.Store
	shared  *kclStream
	started atomic.Bool
}

// startBackoff paces retries while a stream's dependencies (lease table, stream) are not
// reachable at start-up.
var startBackoff = Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}

// New checks cfg against the current contract set and returns a Worker. It fails when a
// configured stream has no contract (or no curated stream): that is a configuration
// mistake which would quarantine every record.
func New(cfg *config.Config, deps Deps) (*Worker, error) {
	if deps.AWS == nil || deps.Rules == nil {
		return nil, errors.New("processor: New needs Deps.AWS and Deps.Rules")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Metrics = orNewMetrics(deps.Metrics)
	set := deps.Rules()
	if set == nil {
		return nil, errors.New("processor: no contract set loaded")
	}
	w := &Worker{
		cfg: cfg, deps: deps, log: deps.Logger,
		stopping: make(chan struct{}), stopped: make(chan struct{}),
	}
	w.drain, w.drainStop = context.WithCancel(context.Background())

	curated := NewKinesisSink(deps.AWS.Kinesis, deps.Metrics, WithLogger(deps.Logger))
	quarantineSink := NewS3Sink(deps.AWS.S3, cfg.Quarantine.Bucket, deps.Metrics,
		WithKMSKey(cfg.Quarantine.KMSKeyID), WithLogger(deps.Logger))

	// One memory of unique rules for the whole worker: its shards share it, and it outlives
	// contract reloads (an unchanged rule keeps its window).
	state := rules.NewState()
	var problems []error
	for _, sc := range cfg.Streams {
		if err := checkStream(set, sc); err != nil {
			problems = append(problems, err)
			continue
		}
		deps.Metrics.InitStream(sc.Name, streamDomain(set, sc))
		table := cfg.LeaseTable(sc.Name)
		log := deps.Logger.With(slog.String("stream", sc.Name))
		store, err := checkpoint.New(deps.AWS.DynamoDB, checkpoint.Options{
			Table: table, Stream: sc.Name, WorkerID: cfg.WorkerID,
			LeaseDuration: cfg.KCL.FailoverTime.D(), Metrics: deps.Metrics, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		sc := sc
		shared := &kclStream{
			stream: sc.Name, worker: cfg.WorkerID, store: store, lister: deps.AWS.Kinesis,
			log: log, metrics: deps.Metrics, backoff: DefaultBackoff(),
			stopping: w.stopping, drain: w.drain,
			parentPoll: min(cfg.KCL.ShardSyncInterval.D(), time.Second),
			renewEvery: cfg.KCL.FailoverTime.D() / 4,
		}
		shared.newProcessor = func(shardID string) (BatchProcessor, error) {
			return NewPipeline(PipelineConfig{
				Rules: deps.Rules, Stream: sc.Name, Shard: shardID, Worker: cfg.WorkerID,
				Domain: sc.Contract, Curated: sc.Curated,
				CuratedSink: curated, QuarantineSink: quarantineSink, QuarantinePrefix: cfg.Quarantine.Prefix,
				Logger: log.With(slog.String("shard", shardID)), Metrics: deps.Metrics, Shadow: deps.Shadow,
				State: state,
			})
		}
		w.streams = append(w.streams, &streamRunner{cfg: sc, table: table, store: store, shared: shared})
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return w, nil
}

// CheckSet reports every configured stream that set leaves without an active contract or
// a curated stream (the checks New makes). A contract reload is refused when it fails, so
// that a set which would quarantine a whole stream as no_contract never replaces one that
// judges it.
func CheckSet(cfg *config.Config, set *rules.Set) error {
	var problems []error
	for _, sc := range cfg.Streams {
		if err := checkStream(set, sc); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

// checkStream makes sure a contract judges the stream and names a curated stream.
func checkStream(set *rules.Set, sc config.Stream) error {
	var c *rules.Contract
	if sc.Contract != "" {
		if c = set.ByDomain(sc.Contract); c == nil {
			return fmt.Errorf("stream %s: no active contract for domain %q", sc.Name, sc.Contract)
		}
	} else if c = set.ByStream(sc.Name); c == nil {
		return fmt.Errorf("stream %s: no active contract lists it in its sources (or set streams[].contract)", sc.Name)
	}
	if sc.Curated == "" && c.Curated == "" {
		return fmt.Errorf("stream %s: contract %s names no curated stream (or set streams[].curated)", sc.Name, c.Domain)
	}
	return nil
}

func streamDomain(set *rules.Set, sc config.Stream) string {
	if sc.Contract != "" {
		return sc.Contract
	}
	return set.ByStream(sc.Name).Domain
}

// ContractMetrics describes a contract set for metrics.Metrics.ReloadSucceeded: every
// active and shadow contract with its rules, and every global policy.
func ContractMetrics(set *rules.Set) []metrics.ContractInfo {
	var out []metrics.ContractInfo
	for _, group := range [][]*rules.Contract{set.Contracts(), set.Shadows()} {
		for _, c := range group {
			info := metrics.ContractInfo{Domain: c.Domain, Version: c.Version, Hash: c.Hash, Stage: c.Stage}
			for _, r := range c.Rules() {
				info.Rules = append(info.Rules, metrics.RuleInfo{Name: r.Name, Severity: string(r.Severity)})
			}
			out = append(out, info)
		}
	}
	for _, p := range set.Policies() {
		out = append(out, metrics.ContractInfo{Domain: p.Name, Version: p.Version, Hash: p.Hash, Stage: "policy"})
	}
	return out
}

// Run consumes every configured stream until ctx ends or Stop is called, then stops
// gracefully (Stop with the configured grace period) and returns. A stream whose lease
// table or stream is unreachable at start is retried with backoff; Ready stays false
// until every stream is being consumed. Run may be called once.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	select {
	case <-w.stopping:
		w.mu.Unlock()
		return nil // stopped before it ran
	default:
	}
	if w.running {
		w.mu.Unlock()
		return errors.New("processor: Worker.Run called twice")
	}
	w.running = true
	for _, st := range w.streams {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.runStream(st)
		}()
	}
	w.mu.Unlock()
	go func() {
		w.wg.Wait()
		w.drainStop()
		close(w.stopped)
	}()
	select {
	case <-ctx.Done():
	case <-w.stopping:
	}
	return w.Stop(context.Background())
}

// runStream starts one stream's KCL worker (retrying until its dependencies answer or the
// worker stops), then waits for the stop and shuts the KCL worker down.
func (w *Worker) runStream(st *streamRunner) {
	log := st.shared.log
	var runner kclRunner
	for attempt := 0; runner == nil; attempt++ {
		err := w.startStream(st, &runner)
		if err == nil {
			break
		}
		d := startBackoff.Delay(attempt, false)
		log.Warn("stream not started; retrying", slog.Int("attempt", attempt+1), slog.Duration("wait", d), slog.String("error", err.Error()))
		t := time.NewTimer(d)
		select {
		case <-w.stopping:
			t.Stop()
			return
		case <-t.C:
		}
	}
	st.started.Store(true)
	log.Info("consuming stream", slog.String("leaseTable", st.table), slog.String("worker", w.cfg.WorkerID))
	<-w.stopping
	began := time.Now()
	runner.Shutdown() // returns when every shard consumer has let go of its lease
	log.Info("stream stopped", slog.Duration("took", time.Since(began)))
}

// startStream checks the stream and the lease table and starts the library worker.
func (w *Worker) startStream(st *streamRunner, runner *kclRunner) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(w.drain, cancel)
	defer stop()
	go func() {
		select {
		case <-w.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	lctx, lcancel := context.WithTimeout(ctx, 30*time.Second)
	defer lcancel()
	if _, err := w.deps.AWS.Kinesis.ListShards(lctx, &kinesis.ListShardsInput{StreamName: aws.String(st.cfg.Name), MaxResults: aws.Int32(1)}); err != nil {
		return fmt.Errorf("list shards of %s: %w", st.cfg.Name, err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	if err := st.store.EnsureTable(tctx); err != nil {
		return err
	}
	select {
	case <-w.stopping:
		return errors.New("worker stopping")
	default:
	}
	k := w.cfg.KCL
	r := newKCLWorker(kclWorkerConfig{
		Application: w.cfg.Application, Stream: st.cfg.Name, Table: st.table, Region: w.cfg.Region,
		WorkerID: w.cfg.WorkerID, InitialPosition: k.InitialPosition, MaxRecords: k.MaxRecords,
		IdleTimeBetweenReads: k.IdleTimeBetweenReads.D(), FailoverTime: k.FailoverTime.D(),
		MaxLeasesPerWorker: k.MaxLeasesPerWorker, ShardSyncInterval: k.ShardSyncInterval.D(),
		LeaseStealing: k.LeaseStealing,
	}, st.shared, w.deps.AWS.KinesisWith(kclClientOptions), st.shared.log)
	if err := r.Start(); err != nil {
		return fmt.Errorf("start KCL worker: %w", err)
	}
	*runner = r
	return nil
}

// Ready reports whether every stream is being consumed (and the worker is not stopping).
func (w *Worker) Ready() bool {
	select {
	case <-w.stopping:
		return false
	default:
	}
	for _, st := range w.streams {
		if !st.started.Load() {
			return false
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}

// Leases returns, per stream, the shards this worker holds leases on.
func (w *Worker) Leases() map[string][]string {
	out := make(map[string][]string, len(w.streams))
	for _, st := range w.streams {
		out[st.cfg.Name] = st.store.Held()
	}
	return out
}

// Stop stops the worker gracefully and is safe to call more than once and concurrently:
// stop fetching, let the batches in flight finish and checkpoint what the sinks
// acknowledged, release the leases. Batches still unacknowledged shortly before the
// deadline are abandoned without checkpoint (their records are read again by the next
// owner). The first call fixes the deadline: its ctx's or the configured grace period from
// then, whichever comes first; every call returns by that deadline (or its own ctx's end),
// with an error if shards were still busy. A caller that must finish more work inside the
// grace period (the process: flush, close its HTTP server) passes a ctx ending earlier.
func (w *Worker) Stop(ctx context.Context) error {
	w.stopOnce.Do(func() {
		deadline := time.Now().Add(w.cfg.ShutdownGrace.D())
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		w.deadline = deadline
		// Leave a moment after abandoning in-flight batches for the consumers to release
		// their leases (one conditional UpdateItem each).
		margin := min(time.Second, time.Until(deadline)/5)
		time.AfterFunc(time.Until(deadline)-margin, w.drainStop)
		w.log.Info("stopping: no new batches; finishing those in flight", slog.Time("deadline", deadline))
		w.mu.Lock()
		close(w.stopping)
		if !w.running {
			w.drainStop()
			close(w.stopped)
		}
		w.mu.Unlock()
	})
	ctx, cancel := context.WithDeadline(ctx, w.deadline)
	defer cancel()
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop: shard consumers still busy at the deadline: %w", ctx.Err())
	}
}
