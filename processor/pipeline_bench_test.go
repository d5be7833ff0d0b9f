package processor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/quarantine"
)

// ackCurated and ackQuarantine acknowledge at once, keeping nothing: the benchmark measures
// the pipeline, not a sink.
type ackCurated struct{ n int }

func (a *ackCurated) Put(_ context.Context, _ string, recs []CuratedRecord) error {
	a.n += len(recs)
	return nil
}

type ackQuarantine struct{ n int }

func (a *ackQuarantine) Put(_ context.Context, _ string, recs []quarantine.Record) error {
	a.n += len(recs)
	return nil
}

// BenchmarkPipelineProcess processes KCL-shaped batches of 500 ~1 KB order events, 5% bad.
func BenchmarkPipelineProcess(b *testing.B) {
	f := newFixture(b, "v1", nil)
	cur, q := &ackCurated{}, &ackQuarantine{}
	f.p.cfg.CuratedSink, f.p.cfg.QuarantineSink = cur, q
	notes := strings.Repeat("lorem ipsum ", 60)
	var payloads []string
	for i := 0; i < 500; i++ {
		total := i%97 + 1
		if i%20 == 0 {
			total = -total
		}
		payloads = append(payloads, fmt.Sprintf(`{"order_id":"o-%06d","customer_id":"C%07d","total":%d,"channel":"web","currency":"EUR","notes":"%s"}`, i, i, total, notes))
	}
	batch := f.batch(payloads...)
	size := 0
	for _, r := range batch.Records {
		size += len(r.Data)
	}
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	for b.Loop() {
		if err := f.p.Process(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Records))/time.Since(began).Seconds(), "events/s")
	if cur.n == 0 || q.n == 0 {
		b.Fatal("nothing routed")
	}
}
