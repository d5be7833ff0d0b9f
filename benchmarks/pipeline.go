package benchmarks

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// Kinesis's per-shard write limit: the rate one shard can carry at most.
const ShardWriteLimit = 1000 // records/s

// Targets of issue 6 for the worker pipeline.
const (
	TargetShardsPerCore = 32        // shards at ShardWriteLimit one core keeps up with
	TargetRSS64Shards   = 150 << 20 // bytes, with 64 shards leased
)

// PipelineConfig configures PipelineReport.
type PipelineConfig struct {
	// Contracts is the examples directory ("" finds the main module's examples/contracts).
	Contracts string
	// Shards are the shard counts to run, one after the other (default 1, 8, 64).
	Shards []int
	// BatchSize is the records per KCL batch (default 500).
	BatchSize int
	// Events is the total number of events per shard count (default 64000), spread evenly
	// over the shards.
	Events      int
	Seed        uint64
	BadFraction float64
}

// PipelineSample is one shard count's run.
type PipelineSample struct {
	Shards int
	Sample
	Curated, Quarantined int64
}

// ackCurated and ackQuarantine are in-memory sinks that acknowledge every batch at once and
// keep nothing but counts: the benchmark measures the pipeline, not a network.
type ackCurated struct{ n *atomic.Int64 }

func (a ackCurated) Put(_ context.Context, _ string, recs []processor.CuratedRecord) error {
	a.n.Add(int64(len(recs)))
	return nil
}

type ackQuarantine struct{ n *atomic.Int64 }

func (a ackQuarantine) Put(_ context.Context, _ string, recs []quarantine.Record) error {
	a.n.Add(int64(len(recs)))
	return nil
}

// PipelineReport runs processor.Pipeline as the worker does — one pipeline and one goroutine
// per shard lease, all shards concurrently, KCL-shaped batches, one shared metrics registry —
// with acknowledging in-memory sinks, for each shard count, and prints events/s per core
// (events per CPU-second of the process), allocations per event and the process's RSS.
func PipelineReport(w io.Writer, cfg PipelineConfig) ([]PipelineSample, error) {
	if len(cfg.Shards) == 0 {
		cfg.Shards = []int{1, 8, 64}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Events <= 0 {
		cfg.Events = 64000
	}
	set, err := LoadExamples(cfg.Contracts)
	if err != nil {
		return nil, err
	}
	recs, err := Corpus(cfg.BatchSize, cfg.Seed, cfg.BadFraction)
	if err != nil {
		return nil, err
	}
	// The bare engine on the same records, in the same process, as the reference for the
	// pipeline's own overhead.
	c := set.ByStream("orders-raw")
	if c == nil {
		return nil, fmt.Errorf("no contract judges orders-raw")
	}
	judge, _ := Engines(c)[0].New(Now)
	JudgeAll(judge, recs)
	rounds := max(1, cfg.Events/len(recs))
	bare := Measure(rounds*len(recs), func() {
		for range rounds {
			JudgeAll(judge, recs)
		}
	})

	m := metrics.New(prometheus.NewRegistry())
	var out []PipelineSample
	for _, n := range cfg.Shards {
		s, err := runShards(set, m, recs, n, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	fmt.Fprintf(w, "pipeline: processor.Pipeline per shard, batches of %d records (%.0f B mean, %.0f%% bad), acknowledging in-memory sinks, GOMAXPROCS=%d\n",
		cfg.BatchSize, float64(Bytes(recs))/float64(len(recs)), 100*cfg.BadFraction, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shards\tevents\tevents/s per core (CPU)\tevents/s (wall)\tcores busy\tallocs/event\tB/event\tshards at 1000/s per core\t")
	fmt.Fprintf(tw, "Judge only\t%d\t%.0f\t%.0f\t%.2f\t%.1f\t%.0f\t%.1f\t\n", bare.Events, bare.PerCPUSecond(), bare.PerSecond(),
		bare.CPU.Seconds()/bare.Wall.Seconds(), bare.AllocsPerEvent(), bare.BytesPerEvent(), bare.PerCPUSecond()/ShardWriteLimit)
	for _, s := range out {
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.2f\t%.1f\t%.0f\t%.1f\t\n", s.Shards, s.Events, s.PerCPUSecond(), s.PerSecond(),
			s.CPU.Seconds()/s.Wall.Seconds(), s.AllocsPerEvent(), s.BytesPerEvent(), s.PerCPUSecond()/ShardWriteLimit)
	}
	tw.Flush()
	rss := CurrentRSS()
	fmt.Fprintf(w, "process RSS now %.1f MiB, peak %.1f MiB (the largest shard count held its batches last)\n",
		float64(rss)/(1<<20), float64(PeakRSS())/(1<<20))
	return out, nil
}

func runShards(set *rules.Set, m *metrics.Metrics, recs [][]byte, n int, cfg PipelineConfig) (PipelineSample, error) {
	var curated, quarantined atomic.Int64
	perShard := (cfg.Events + n - 1) / n
	batchesPerShard := max(1, (perShard+cfg.BatchSize-1)/cfg.BatchSize)
	pipes := make([]*processor.Pipeline, n)
	batches := make([]processor.Batch, n)
	arrival := Now.Add(-time.Minute)
	for i := range pipes {
		shard := fmt.Sprintf("shardId-%012d", i)
		p, err := processor.NewPipeline(processor.PipelineConfig{
			Rules: func() *rules.Set { return set }, Stream: "orders-raw", Shard: shard, Worker: "bench",
			CuratedSink: ackCurated{&curated}, QuarantineSink: ackQuarantine{&quarantined},
			QuarantinePrefix: "quarantine", Now: func() time.Time { return Now }, Metrics: m,
		})
		if err != nil {
			return PipelineSample{}, err
		}
		pipes[i] = p
		// Every shard holds its own copy of its batch, as it would hold its own GetRecords
		// response.
		b := processor.Batch{Stream: "orders-raw", ShardID: shard, MillisBehindLatest: -1}
		for j, r := range recs {
			b.Records = append(b.Records, processor.Record{Data: append([]byte(nil), r...),
				PartitionKey: "k" + strconv.Itoa(j), SequenceNumber: fmt.Sprintf("4959%020d%04d", i, j), ArrivalTime: arrival})
		}
		batches[i] = b
	}
	ctx := context.Background()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pipes {
		wg.Go(func() {
			<-start
			for k := 0; k < batchesPerShard && errs[i] == nil; k++ {
				errs[i] = pipes[i].Process(ctx, batches[i])
			}
		})
	}
	events := n * batchesPerShard * len(recs)
	s := Measure(events, func() {
		close(start)
		wg.Wait()
	})
	for _, err := range errs {
		if err != nil {
			return PipelineSample{}, err
		}
	}
	if int(curated.Load()+quarantined.Load()) != events {
		return PipelineSample{}, fmt.Errorf("%d shards: sinks acknowledged %d curated + %d quarantined of %d events",
			n, curated.Load(), quarantined.Load(), events)
	}
	return PipelineSample{Shards: n, Sample: s, Curated: curated.Load(), Quarantined: quarantined.Load()}, nil
}

// CurrentRSS is the process's resident set size now (VmRSS), or 0 when unknown.
func CurrentRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
