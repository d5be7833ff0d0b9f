package processor

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshgate/meshgate/rules"
)

// TestPipelineUniqueRulesShareAWorkerState: two shards of one worker share the memory of
// unique rules; a duplicate is warned and still routed to the curated stream; a retried batch
// (the same records again) warns exactly as the first attempt did; keys held and evictions
// reach the metrics.
func TestPipelineUniqueRulesShareAWorkerState(t *testing.T) {
	st := rules.NewState()
	a := newFixture(t, "unique", func(c *PipelineConfig) { c.State = st })
	b := newFixture(t, "unique", func(c *PipelineConfig) {
		c.State, c.Shard, c.Metrics = st, "shardId-000000000004", a.m
	})
	b.set.Store(a.set.Load())

	ctx := context.Background()
	batchA := a.batch(`{"order_id":"o1","customer_id":"C1","total":1}`, `{"order_id":"o2","customer_id":"C2","total":-1}`)
	for attempt := 1; attempt <= 2; attempt++ { // the second attempt is a re-delivery
		if err := a.p.Process(ctx, batchA); err != nil {
			t.Fatal(err)
		}
		if got := warned(t, a); got != 0 {
			t.Errorf("attempt %d: %v warned on shard A, want 0 (the same record is not its own duplicate)", attempt, got)
		}
	}
	// o2 was quarantined, so it is not remembered; o1 on another shard is a duplicate.
	batchB := batchOf("orders-raw", "shardId-000000000004",
		`{"order_id":"o1","customer_id":"C1","total":1}`, `{"order_id":"o2","customer_id":"C2","total":2}`)
	for attempt := 1; attempt <= 2; attempt++ {
		if err := b.p.Process(ctx, batchB); err != nil {
			t.Fatal(err)
		}
	}
	if got := warned(t, a); got != 2 {
		t.Errorf("%v warned after shard B's two attempts, want 2 (o1 each time)", got)
	}
	puts := b.cur.all()
	if len(puts) != 2 || len(puts[1].recs) != 2 {
		t.Fatalf("shard B curated %+v, want both records in each attempt", puts)
	}
	if got := counter(t, a.m.RuleFailures, "orders", "order_once", "warn"); got != 2 {
		t.Errorf("rule_failures_total{order_once,warn} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(a.m.UniqueKeys.WithLabelValues("orders", "order_once")); got != 2 {
		t.Errorf("unique_keys = %v, want 2", got)
	}
	// maxKeys is 2: a third key evicts the oldest.
	if err := a.p.Process(ctx, a.batch(`{"order_id":"o3","customer_id":"C3","total":1}`)); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, a.m.UniqueEvicted, "orders", "order_once"); got != 1 {
		t.Errorf("unique_keys_evicted_total = %v, want 1", got)
	}
}

func warned(t *testing.T, f *pipelineFixture) float64 {
	t.Helper()
	return counter(t, f.m.RecordsWarned, "orders", "1.3.0")
}
