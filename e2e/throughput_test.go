package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/meshgate/meshgate/gen"
)

// TestThroughput measures events/s through the real worker on the emulators: N orders
// events (10% bad, 2% hostile) are put into a 2-shard stream (MESHGATE_E2E_SHARDS=N: N shards) first, then the worker starts
// and the clock runs until every record is routed. Off by default (it measures, it does not
// check much); run it with
//
//	MESHGATE_E2E_THROUGHPUT=20000 go test -count=1 -run TestThroughput -v ./e2e/
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MESHGATE_E2E_THROUGHPUT"))
	if n <= 0 {
		t.Skip("set MESHGATE_E2E_THROUGHPUT=N to measure")
	}
	shards := 2 // MESHGATE_E2E_SHARDS overrides (benchmarks/run.sh measures 1 and 4)
	if s, err := strconv.Atoi(os.Getenv("MESHGATE_E2E_SHARDS")); err == nil && s > 0 {
		shards = s
	}
	e := newEnv(t, map[string]int32{"orders-raw": int32(shards), "orders-curated": 1})
	cfg := e.workerConfig("w", "e2e-throughput", []string{"orders-raw"}, "")
	sents := e.put("orders-raw", events(t, gen.DomainOrders, n, 0.1, 0.02, 61))
	began := time.Now()
	e.startWorker("w1", cfg)
	var firstAt time.Duration
	waitFor(t, 10*time.Minute, "first records", func() bool {
		if e.output("orders-curated").total() > 0 {
			firstAt = time.Since(began)
			return true
		}
		return false
	})
	o := e.waitOutput(len(sents), 10*time.Minute, "orders-curated")
	took := time.Since(began)
	t.Logf("%d shard(s): %d records routed %v after worker start (first output after %v): %.0f records/s overall, %.0f records/s after start-up",
		shards, o.total(), took.Round(time.Millisecond), firstAt.Round(time.Millisecond),
		float64(o.total())/took.Seconds(), float64(o.total())/(took-firstAt).Seconds())
	ledgerCheck(t, sents, o) // nothing missing

}
