package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkEngine is issue 3's benchmark: decode + every rule (policy, field declarations,
// contract) + enrichment + encoding of generated ~1 KB order events (10% bad), for meshgate,
// the naive way and the hand-written ceiling, in the same run. One op is one event. Run it on
// one core:
//
//	GOMAXPROCS=1 go test ./benchmarks -run '^$' -bench Engine -benchmem
//
// Besides ns/op and allocs/op it reports events/s (wall), cpu-ns/event and events/cpu-s (the
// process's CPU time: on a shared machine the honest "per core" figure), and logs the ratios.
func BenchmarkEngine(b *testing.B) {
	c, err := Orders("")
	if err != nil {
		b.Fatal(err)
	}
	recs, err := Corpus(5000, DefaultSeed, DefaultBadFraction)
	if err != nil {
		b.Fatal(err)
	}
	cpuNs := map[string]float64{}
	for _, e := range Engines(c) {
		b.Run(e.Name, func(b *testing.B) {
			judge, err := e.New(Now)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(Bytes(recs) / len(recs)))
			b.ReportAllocs()
			cpu0 := CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				judge(recs[i%len(recs)])
			}
			b.StopTimer()
			cpuNs[e.Name] = reportRates(b, b.N, CPUTime()-cpu0)
		})
	}
	if cpuNs["meshgate"] > 0 && cpuNs["naive"] > 0 && cpuNs["ceiling"] > 0 {
		b.Logf("meshgate is %.2fx faster than the naive way and costs %.2fx the hand-written ceiling (CPU ns/event; targets: >= %.0fx naive, >= %d events/s per core)",
			cpuNs["naive"]/cpuNs["meshgate"], cpuNs["meshgate"]/cpuNs["ceiling"], TargetNaiveRatio, TargetEventsPerCore)
	}
}

// reportRates adds the per-event rates and returns CPU ns per event.
func reportRates(b *testing.B, events int, cpu time.Duration) float64 {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu <= 0 {
		return 0
	}
	ns := float64(cpu.Nanoseconds()) / float64(events)
	b.ReportMetric(ns, "cpu-ns/event")
	b.ReportMetric(1e9/ns, "events/cpu-s")
	return ns
}

// BenchmarkPipeline is issue 6's worker-overhead benchmark: one processor.Pipeline per shard,
// all shards processing KCL-shaped batches (500 records) concurrently into acknowledging
// in-memory sinks. One op is one batch per shard.
func BenchmarkPipeline(b *testing.B) {
	set, err := LoadExamples("")
	if err != nil {
		b.Fatal(err)
	}
	recs, err := Corpus(500, DefaultSeed, DefaultBadFraction)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			m := metrics.New(prometheus.NewRegistry())
			b.ReportAllocs()
			var allocs uint64
			var ms runtime.MemStats
			cpu0 := CPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				pipes, batches := newShards(b, set, m, recs, n)
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				b.StartTimer()
				if err := processShards(pipes, batches); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				allocs += ms.Mallocs - before
				b.StartTimer()
			}
			b.StopTimer()
			events := b.N * n * len(recs)
			reportRates(b, events, CPUTime()-cpu0)
			b.ReportMetric(float64(allocs)/float64(events), "allocs/event")
		})
	}
}

func newShards(b *testing.B, set *rules.Set, m *metrics.Metrics, recs [][]byte, n int) ([]*processor.Pipeline, []processor.Batch) {
	pipes := make([]*processor.Pipeline, n)
	batches := make([]processor.Batch, n)
	for i := range pipes {
		sink := ackCurated{new(atomic.Int64)}
		p, err := processor.NewPipeline(processor.PipelineConfig{
			Rules: func() *rules.Set { return set }, Stream: "orders-raw", Shard: fmt.Sprint("shardId-", i),
			CuratedSink: sink, QuarantineSink: ackQuarantine{sink.n}, Now: func() time.Time { return Now }, Metrics: m,
		})
		if err != nil {
			b.Fatal(err)
		}
		pipes[i] = p
		for j, r := range recs {
			batches[i].Records = append(batches[i].Records, processor.Record{Data: r, PartitionKey: "k", SequenceNumber: fmt.Sprint(j), ArrivalTime: Now})
		}
	}
	return pipes, batches
}

func processShards(pipes []*processor.Pipeline, batches []processor.Batch) error {
	errs := make(chan error, len(pipes))
	for i := range pipes {
		go func() { errs <- pipes[i].Process(context.Background(), batches[i]) }()
	}
	var first error
	for range pipes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// TestEngineReport runs the harness briefly and checks its figures are complete and sane:
// every engine measured every round, rates positive, meshgate doing no more allocations
// than the naive way.
func TestEngineReport(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for a few seconds")
	}
	res, err := EngineReport(testWriter{t}, EngineConfig{Records: 400, Rounds: 2, BadFraction: DefaultBadFraction, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) < 1 || len(res.VsNaive) != 2 || len(res.VsCeiling) != 2 {
		t.Fatalf("ratios %v %v", res.VsNaive, res.VsCeiling)
	}
	for _, name := range []string{"meshgate", "naive", "ceiling"} {
		ss := res.Samples[name]
		if len(ss) != 2 || ss[0].Events != 400 || ss[0].CPU <= 0 || ss[0].Wall <= 0 {
			t.Fatalf("%s samples %+v", name, ss)
		}
	}
	if m, n := res.Samples["meshgate"][1].AllocsPerEvent(), res.Samples["naive"][1].AllocsPerEvent(); m >= n {
		t.Errorf("meshgate allocates %.1f per event, the naive way %.1f", m, n)
	}
}

// TestPipelineReport runs the pipeline harness on a few shards and checks that every event
// was acknowledged by a sink and the bad ones were quarantined.
func TestPipelineReport(t *testing.T) {
	out, err := PipelineReport(testWriter{t}, PipelineConfig{Shards: []int{1, 3}, BatchSize: 100, Events: 600, BadFraction: 0.2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		if s.Events != 600 || s.Curated+s.Quarantined != 600 || s.Quarantined == 0 || s.Curated == 0 {
			t.Errorf("%d shards: %d events, %d curated, %d quarantined", s.Shards, s.Events, s.Curated, s.Quarantined)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// BenchmarkCheck is `meshgate check`'s engine (rules.Check) over an in-memory NDJSON corpus of
// 5000 events, writing good events and quarantine records to counting writers: the whole-file
// path without the binary's start-up and file system. One op is the whole corpus.
func BenchmarkCheck(b *testing.B) {
	c, err := Orders("")
	if err != nil {
		b.Fatal(err)
	}
	recs, err := Corpus(5000, DefaultSeed, DefaultBadFraction)
	if err != nil {
		b.Fatal(err)
	}
	var in []byte
	for _, r := range recs {
		in = append(append(in, r...), '\n')
	}
	var good, quar countingWriter
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	cpu0 := CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sum, err := rules.Check(context.Background(), bytes.NewReader(in), rules.CheckConfig{Contract: c, Good: &good, Quarantine: &quar,
			Now: func() time.Time { return Now }})
		if err != nil || sum.Events != len(recs) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRates(b, b.N*len(recs), CPUTime()-cpu0)
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
