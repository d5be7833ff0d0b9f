package metrics

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

func TestNewRegistersRuntimeCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_start_time_seconds"} {
		if name == "process_start_time_seconds" && !processCollectorWorks() {
			continue
		}
		if !have[name] {
			t.Errorf("%s not registered by New", name)
		}
	}
}

func processCollectorWorks() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

func TestNewToleratesExistingRuntimeCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	New(reg) // must not panic
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestNewPanicsOnSecondMetricsOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	defer func() {
		if recover() == nil {
			t.Fatal("second New on the same registry did not panic")
		}
	}()
	New(reg)
}

func TestPreinitialisedSeries(t *testing.T) {
	m := New(prometheus.NewRegistry())
	for _, sink := range []string{SinkKinesis, SinkS3} {
		for _, res := range []string{ResultOK, ResultError} {
			if v := testutil.ToFloat64(m.SinkRequests.WithLabelValues(sink, res)); v != 0 {
				t.Errorf("sink %s %s = %v", sink, res, v)
			}
		}
	}
	if n := testutil.CollectAndCount(m.SinkRequests); n != 4 {
		t.Errorf("sink_requests series = %d, want 4", n)
	}
	if n := testutil.CollectAndCount(m.Reloads); n != 2 {
		t.Errorf("contract_reloads series = %d, want 2", n)
	}
	if n := testutil.CollectAndCount(m.SinkDuration); n != 2 {
		t.Errorf("sink duration series = %d, want 2", n)
	}
	m.InitStream("orders-raw", "orders")
	if n := testutil.CollectAndCount(m.Checkpoints); n != 2 {
		t.Errorf("checkpoints series after InitStream = %d, want 2", n)
	}
	if n := testutil.CollectAndCount(m.RecordsIn); n != 1 {
		t.Errorf("records_in series after InitStream = %d, want 1", n)
	}
}

func TestSetContractsReplacesInfoAndPreinitsRules(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.SetContracts([]ContractInfo{
		{Domain: "orders", Version: "2.1.0", Hash: "aa", Stage: "active", Rules: []RuleInfo{{"total_matches_items", "error"}, {"notes_short", "warn"}}},
		{Domain: "envelope", Version: "1.0.0", Hash: "bb", Stage: "policy"},
	})
	if got := testutil.ToFloat64(m.ContractsLoaded); got != 2 {
		t.Errorf("contracts_loaded = %v", got)
	}
	if got := testutil.ToFloat64(m.ContractInfo.WithLabelValues("orders", "2.1.0", "aa", "active")); got != 1 {
		t.Errorf("orders info = %v", got)
	}
	if n := testutil.CollectAndCount(m.RuleFailures); n != 2 {
		t.Errorf("rule failure series = %d, want 2", n)
	}
	m.RuleFailures.WithLabelValues("orders", "total_matches_items", "error").Inc()

	m.SetContracts([]ContractInfo{{Domain: "orders", Version: "2.2.0", Hash: "cc", Stage: "active"}})
	want := `
# HELP meshgate_contract_info Loaded contract versions: 1 per domain, version, content hash and stage.
# TYPE meshgate_contract_info gauge
meshgate_contract_info{domain="orders",hash="cc",stage="active",version="2.2.0"} 1
`
	if err := testutil.CollectAndCompare(m.ContractInfo, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.RuleFailures.WithLabelValues("orders", "total_matches_items", "error")); got != 1 {
		t.Errorf("rule failure counter reset by SetContracts: %v", got)
	}
}

func TestReloadSucceededAndFailed(t *testing.T) {
	m := New(prometheus.NewRegistry())
	at := time.Unix(1700000000, 500_000_000)
	m.ReloadSucceeded([]ContractInfo{{Domain: "orders", Version: "1", Hash: "h", Stage: "active"}}, at)
	if got := testutil.ToFloat64(m.ReloadSuccessful); got != 1 {
		t.Errorf("successful = %v", got)
	}
	if got := testutil.ToFloat64(m.ReloadLastSuccessTime); got != 1700000000.5 {
		t.Errorf("last success = %v", got)
	}
	m.ReloadFailed()
	if got := testutil.ToFloat64(m.ReloadSuccessful); got != 0 {
		t.Errorf("successful after failure = %v", got)
	}
	if got := testutil.ToFloat64(m.ReloadLastSuccessTime); got != 1700000000.5 {
		t.Errorf("failure moved last success time: %v", got)
	}
	if ok, bad := testutil.ToFloat64(m.Reloads.WithLabelValues(ResultOK)), testutil.ToFloat64(m.Reloads.WithLabelValues(ResultError)); ok != 1 || bad != 1 {
		t.Errorf("reloads ok=%v error=%v", ok, bad)
	}
	if got := testutil.ToFloat64(m.ContractsLoaded); got != 1 {
		t.Errorf("failed reload changed contracts_loaded: %v", got)
	}
}

func TestCheckpointAndForgetShard(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.CheckpointSucceeded("orders-raw", "shardId-000000000000", time.Unix(100, 0))
	m.CheckpointSucceeded("orders-raw", "shardId-000000000001", time.Unix(200, 0))
	m.MillisBehindLatest.WithLabelValues("orders-raw", "shardId-000000000000").Set(1500)
	m.CheckpointFailed("orders-raw")
	if got := testutil.ToFloat64(m.CheckpointLastSuccess.WithLabelValues("orders-raw", "shardId-000000000001")); got != 200 {
		t.Errorf("last success = %v", got)
	}
	if ok, bad := testutil.ToFloat64(m.Checkpoints.WithLabelValues("orders-raw", ResultOK)), testutil.ToFloat64(m.Checkpoints.WithLabelValues("orders-raw", ResultError)); ok != 2 || bad != 1 {
		t.Errorf("checkpoints ok=%v error=%v", ok, bad)
	}
	m.ForgetShard("orders-raw", "shardId-000000000000")
	if n := testutil.CollectAndCount(m.CheckpointLastSuccess); n != 1 {
		t.Errorf("checkpoint series after ForgetShard = %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.MillisBehindLatest); n != 0 {
		t.Errorf("lag series after ForgetShard = %d, want 0", n)
	}
}

// TestPromtoolCheckMetrics runs the real promtool linter over a scrape with every vector
// populated. It skips without promtool, and fails then when CI=true.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (apt-get install prometheus)")
		}
		t.Skip("promtool not found; install the Debian package prometheus")
	}
	reg := prometheus.NewRegistry()
	rec := &recorder{Registerer: reg}
	New(rec)
	for _, c := range rec.collectors {
		if err := touch(c); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
