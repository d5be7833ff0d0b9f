package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func loadSet(t testing.TB, dir string) *rules.Set {
	t.Helper()
	set, err := rules.Load(filepath.Join("testdata", dir), rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatalf("load testdata/%s: %v", dir, err)
	}
	return set
}

// memCurated is an in-memory CuratedSink. It copies what it is given (the pipeline reuses its
// buffers) and fails while err is set.
type memCurated struct {
	mu      sync.Mutex
	puts    []curatedPut
	err     error
	calls   int
	started chan struct{} // closed at the first Put, when non-nil
	wait    chan struct{} // Put blocks on it, when non-nil
}

type curatedPut struct {
	stream string
	recs   []CuratedRecord
}

func (m *memCurated) Put(ctx context.Context, stream string, recs []CuratedRecord) error {
	m.mu.Lock()
	m.calls++
	if m.started != nil && m.calls == 1 {
		close(m.started)
	}
	err := m.err
	m.mu.Unlock()
	if m.wait != nil {
		select {
		case <-m.wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	cp := make([]CuratedRecord, len(recs))
	for i, r := range recs {
		cp[i] = CuratedRecord{Data: bytes.Clone(r.Data), PartitionKey: r.PartitionKey}
	}
	m.mu.Lock()
	m.puts = append(m.puts, curatedPut{stream, cp})
	m.mu.Unlock()
	return nil
}

func (m *memCurated) all() []curatedPut {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]curatedPut(nil), m.puts...)
}

// memQuarantine is an in-memory QuarantineSink keyed like a bucket.
type memQuarantine struct {
	mu      sync.Mutex
	objects map[string][]quarantine.Record
	keys    []string // every Put, in order
	err     error
	started chan struct{}
	wait    chan struct{}
}

func (m *memQuarantine) Put(ctx context.Context, key string, recs []quarantine.Record) error {
	m.mu.Lock()
	if m.started != nil && len(m.keys) == 0 {
		close(m.started)
	}
	m.keys = append(m.keys, key)
	err := m.err
	m.mu.Unlock()
	if m.wait != nil {
		select {
		case <-m.wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	cp := make([]quarantine.Record, len(recs))
	for i, r := range recs {
		cp[i] = r
		cp[i].Payload = bytes.Clone(r.Payload)
		cp[i].Failures = append([]quarantine.Failure(nil), r.Failures...)
	}
	m.mu.Lock()
	if m.objects == nil {
		m.objects = map[string][]quarantine.Record{}
	}
	m.objects[key] = cp
	m.mu.Unlock()
	return nil
}

type pipelineFixture struct {
	p   *Pipeline
	cur *memCurated
	q   *memQuarantine
	m   *metrics.Metrics
	set atomic.Pointer[rules.Set]
}

func newFixture(t testing.TB, dir string, edit func(*PipelineConfig)) *pipelineFixture {
	t.Helper()
	f := &pipelineFixture{cur: &memCurated{}, q: &memQuarantine{}, m: newTestMetrics()}
	f.set.Store(loadSet(t, dir))
	cfg := PipelineConfig{
		Rules:            f.set.Load,
		Stream:           "orders-raw",
		Shard:            "shardId-000000000003",
		Worker:           "worker-a",
		CuratedSink:      f.cur,
		QuarantineSink:   f.q,
		QuarantinePrefix: "quarantine",
		Now:              func() time.Time { return testNow },
		Metrics:          f.m,
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	return f
}

func arrival(i int) time.Time { return testNow.Add(-time.Hour + time.Duration(i)*time.Millisecond) }

func batchOf(stream, shard string, payloads ...string) Batch {
	b := Batch{Stream: stream, ShardID: shard, MillisBehindLatest: -1}
	for i, p := range payloads {
		b.Records = append(b.Records, Record{
			Data:           []byte(p),
			PartitionKey:   "src-" + strconv.Itoa(i),
			SequenceNumber: fmt.Sprintf("4960000000000000000000%04d", i),
			ArrivalTime:    arrival(i),
		})
	}
	return b
}

func (f *pipelineFixture) batch(payloads ...string) Batch {
	return batchOf("orders-raw", "shardId-000000000003", payloads...)
}

func (f *pipelineFixture) onlyObject(t *testing.T) (string, []quarantine.Record) {
	t.Helper()
	f.q.mu.Lock()
	defer f.q.mu.Unlock()
	if len(f.q.objects) != 1 {
		t.Fatalf("%d quarantine objects, want 1 (keys %v)", len(f.q.objects), f.q.keys)
	}
	for k, v := range f.q.objects {
		return k, v
	}
	return "", nil
}

func TestPipelineRoutesEveryOutcome(t *testing.T) {
	f := newFixture(t, "v1", nil)
	big := `{"order_id":"o5","customer_id":"C5","total":1,"channel":"web","pad":"` + strings.Repeat("x", MaxRecordBytes-80) + `"}`
	longKey := strings.Repeat("K", 300)
	b := f.batch(
		`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, // passed
		`{"order_id":"o1","customer_id":"C1","total":10}`,                 // warned: no channel
		`{"order_id":"o2","customer_id":"C2","total":-5}`,                 // error rule + warn rule
		`not json`, // decode failure
		`{"order_id":"o4","customer_id":"`+longKey+`","total":3,"channel":"app"}`, // output key too long
		big, // output + key over 1 MiB once enriched
	)
	b.Records[2].SubSequence = 7
	b.Records[2].Aggregated = true
	if err := f.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}

	puts := f.cur.all()
	if len(puts) != 1 || puts[0].stream != "orders-curated" {
		t.Fatalf("curated puts = %+v, want one to orders-curated", puts)
	}
	want := []CuratedRecord{
		{Data: []byte(`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web","gate":"meshgate"}`), PartitionKey: "C0"},
		{Data: []byte(`{"order_id":"o1","customer_id":"C1","total":10,"gate":"meshgate"}`), PartitionKey: "C1"},
	}
	if !reflect.DeepEqual(puts[0].recs, want) {
		t.Errorf("curated = %s\nwant    %s", fmtCurated(puts[0].recs), fmtCurated(want))
	}

	key, qs := f.onlyObject(t)
	wantKey := "quarantine/orders/dt=2025-06-01/orders-raw/shardId-000000000003/49600000000000000000000000-49600000000000000000000005.ndjson.gz"
	if key != wantKey {
		t.Errorf("object key %q\nwant       %q", key, wantKey)
	}
	if len(qs) != 4 {
		t.Fatalf("%d quarantined, want 4: %+v", len(qs), qs)
	}
	wantRules := quarantine.Record{
		Payload: b.Records[2].Data, Reason: "rules",
		Failures: []quarantine.Failure{
			{Rule: "total_positive", Severity: "error", Message: "total must be positive"},
			{Rule: "has_channel", Severity: "warn", Message: "channel should be set"},
		},
		Domain: "orders", Contract: "orders", ContractVersion: "1.2.0",
		Stream: "orders-raw", Shard: "shardId-000000000003", SequenceNumber: "49600000000000000000000002", SubSequence: 7,
		PartitionKey: "src-2", ArrivalTime: arrival(2), Worker: "worker-a", QuarantinedAt: testNow,
	}
	got := qs[0]
	for i := range got.Failures { // Value is the engine's rendering; pin rule, severity and message
		got.Failures[i].Value = ""
	}
	if !reflect.DeepEqual(got, wantRules) {
		t.Errorf("rules quarantine record\n got %+v\nwant %+v", got, wantRules)
	}

	dec := qs[1]
	if dec.Reason != "decode" || string(dec.Payload) != "not json" || len(dec.Failures) != 1 ||
		dec.Failures[0].Rule != "decode" || dec.Failures[0].Value != "invalid_json" || dec.Failures[0].Message == "" ||
		dec.SequenceNumber != "49600000000000000000000003" || dec.ContractVersion != "1.2.0" {
		t.Errorf("decode quarantine record = %+v", dec)
	}
	pk := qs[2]
	if pk.Reason != "rules" || len(pk.Failures) != 1 || pk.Failures[0].Rule != "partition_key" ||
		!strings.Contains(pk.Failures[0].Message, "300 characters") || pk.SequenceNumber != "49600000000000000000000004" {
		t.Errorf("partition key quarantine record = %+v", pk)
	}
	tl := qs[3]
	if tl.Reason != "too_large" || len(tl.Failures) != 1 || tl.Failures[0].Rule != "too_large" ||
		!bytes.Equal(tl.Payload, []byte(big)) || tl.SequenceNumber != "49600000000000000000000005" {
		t.Errorf("too large quarantine record: reason %q failures %+v", tl.Reason, tl.Failures)
	}
	if n, err := strconv.Atoi(tl.Failures[0].Value); err != nil || n <= MaxRecordBytes {
		t.Errorf("too_large Value = %q, want the size over %d", tl.Failures[0].Value, MaxRecordBytes)
	}

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"in", counter(t, f.m.RecordsIn, "orders-raw", "orders"), 6},
		{"passed", counter(t, f.m.RecordsPassed, "orders", "1.2.0"), 1},
		{"warned", counter(t, f.m.RecordsWarned, "orders", "1.2.0"), 1},
		{"quarantined rules", counter(t, f.m.RecordsQuarantined, "orders", "1.2.0", "rules"), 2},
		{"quarantined decode", counter(t, f.m.RecordsQuarantined, "orders", "1.2.0", "decode"), 1},
		{"quarantined too_large", counter(t, f.m.RecordsQuarantined, "orders", "1.2.0", "too_large"), 1},
		{"rule total_positive", counter(t, f.m.RuleFailures, "orders", "total_positive", "error"), 1},
		{"rule has_channel", counter(t, f.m.RuleFailures, "orders", "has_channel", "warn"), 2},
		{"decode invalid_json", counter(t, f.m.DecodeFailures, "orders", "invalid_json"), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("metric %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := histCount(t, f.m.BatchDuration, "orders-raw"); n != 1 {
		t.Errorf("batch duration samples = %d, want 1", n)
	}
}

func fmtCurated(recs []CuratedRecord) string {
	var sb strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&sb, "[%s %s] ", r.PartitionKey, r.Data)
	}
	return sb.String()
}

func TestPipelineNoContractQuarantinesEverything(t *testing.T) {
	f := newFixture(t, "v1", func(c *PipelineConfig) { c.Stream = "payments-raw" })
	b := batchOf("payments-raw", "shardId-000000000003", `{"a":1}`, `garbage`)
	if err := f.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(f.cur.all()) != 0 {
		t.Error("records of a stream without contract reached the curated sink")
	}
	key, qs := f.onlyObject(t)
	if !strings.HasPrefix(key, "quarantine/_no_contract/dt=2025-06-01/payments-raw/") {
		t.Errorf("key %q", key)
	}
	if len(qs) != 2 {
		t.Fatalf("%d quarantined, want 2", len(qs))
	}
	for i, q := range qs {
		if q.Reason != "no_contract" || q.Contract != "" || string(q.Payload) != string(b.Records[i].Data) ||
			len(q.Failures) != 1 || q.Failures[0].Rule != "no_contract" || !strings.Contains(q.Failures[0].Message, `"payments-raw"`) {
			t.Errorf("record %d = %+v", i, q)
		}
	}
	if got := counter(t, f.m.RecordsQuarantined, NoContractDomain, "", "no_contract"); got != 2 {
		t.Errorf("quarantined no_contract = %v, want 2", got)
	}
	if got := counter(t, f.m.RecordsIn, "payments-raw", NoContractDomain); got != 2 {
		t.Errorf("records in = %v, want 2", got)
	}
}

func TestPipelineConfiguredDomainAndCuratedOverride(t *testing.T) {
	f := newFixture(t, "v1", func(c *PipelineConfig) {
		c.Stream = "crm-events"
		c.Domain = "customers"
		c.Curated = "customers-curated-blue"
	})
	b := batchOf("crm-events", "shardId-000000000003", `{"email":"a@example.com"}`, `{"name":"no email"}`)
	if err := f.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	puts := f.cur.all()
	if len(puts) != 1 || puts[0].stream != "customers-curated-blue" || len(puts[0].recs) != 1 ||
		puts[0].recs[0].PartitionKey != "src-0" || string(puts[0].recs[0].Data) != `{"email":"a@example.com"}` {
		t.Errorf("curated puts = %+v", puts)
	}
	_, qs := f.onlyObject(t)
	if len(qs) != 1 || qs[0].Contract != "customers" || qs[0].Failures[0].Rule != "has_email" {
		t.Errorf("quarantined = %+v", qs)
	}

	// A configured domain missing from the set quarantines with no_contract, naming the domain.
	g := newFixture(t, "v1", func(c *PipelineConfig) { c.Domain = "payments" })
	if err := g.p.Process(context.Background(), g.batch(`{"total":1}`)); err != nil {
		t.Fatal(err)
	}
	_, qs = g.onlyObject(t)
	if len(qs) != 1 || qs[0].Reason != "no_contract" || qs[0].Domain != "payments" || !strings.Contains(qs[0].Failures[0].Message, `domain "payments"`) {
		t.Errorf("quarantined = %+v", qs)
	}
}

func TestPipelineReturnsNilOnlyWhenBothSinksAcknowledge(t *testing.T) {
	good := `{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`
	bad := `{"order_id":"o1","customer_id":"C1","total":0,"channel":"web"}`
	sinkDown := errors.New("sink down")
	tests := []struct {
		name       string
		curErr     error
		qErr       error
		payloads   []string
		wantErr    bool
		wantCalled [2]bool // curated, quarantine
	}{
		{"both ok", nil, nil, []string{good, bad}, false, [2]bool{true, true}},
		{"curated fails", sinkDown, nil, []string{good, bad}, true, [2]bool{true, true}},
		{"quarantine fails", nil, sinkDown, []string{good, bad}, true, [2]bool{true, true}},
		{"only good, quarantine would fail", nil, sinkDown, []string{good}, false, [2]bool{true, false}},
		{"only bad, curated would fail", sinkDown, nil, []string{bad}, false, [2]bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "v1", nil)
			f.cur.err, f.q.err = tt.curErr, tt.qErr
			err := f.p.Process(context.Background(), f.batch(tt.payloads...))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Process = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, sinkDown) {
				t.Errorf("error %v does not wrap the sink's error", err)
			}
			if called := [2]bool{f.cur.calls > 0, len(f.q.keys) > 0}; called != tt.wantCalled {
				t.Errorf("sinks called %v, want %v", called, tt.wantCalled)
			}
			in := counter(t, f.m.RecordsIn, "orders-raw", "orders")
			if tt.wantErr && in != 0 || !tt.wantErr && in != float64(len(tt.payloads)) {
				t.Errorf("records_in = %v after %v: unacknowledged batches must not be counted", in, err)
			}
		})
	}
}

func TestPipelineCallsSinksConcurrently(t *testing.T) {
	f := newFixture(t, "v1", nil)
	// Each sink waits until the other has started: sequential calls would deadlock until ctx ends.
	f.cur.started, f.q.started = make(chan struct{}), make(chan struct{})
	f.cur.wait, f.q.wait = f.q.started, f.cur.started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.p.Process(ctx, f.batch(`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, `{"total":-1}`))
	if err != nil {
		t.Fatalf("Process = %v (sinks not called concurrently?)", err)
	}
}

func TestPipelineS3OutageBlocksUntilCancelled(t *testing.T) {
	fs := &fakeS3{fail: func(int) error { return statusErr(503) }}
	f := newFixture(t, "v1", nil)
	p, err := NewPipeline(PipelineConfig{
		Rules: f.set.Load, Stream: "orders-raw", Shard: "shardId-000000000003", Worker: "w",
		CuratedSink:    f.cur,
		QuarantineSink: NewS3Sink(fs, "bucket", f.m, WithBackoff(Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond})),
		Metrics:        f.m,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = p.Process(ctx, f.batch(`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, `{"total":-1}`))
	if err == nil {
		t.Fatal("Process succeeded while S3 was down")
	}
	if !errors.Is(err, ErrUnacknowledged) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap ErrUnacknowledged and the deadline", err)
	}
	if el := time.Since(began); el < 140*time.Millisecond {
		t.Errorf("Process returned after %v, before the context ended", el)
	}
	if n := len(fs.recorded()); n < 5 {
		t.Errorf("only %d PutObject attempts during the outage", n)
	}
	if got := counter(t, f.m.RecordsIn, "orders-raw", "orders"); got != 0 {
		t.Errorf("records_in = %v for an unacknowledged batch", got)
	}
	// The outage ends: the same batch goes through, and its object is the one the failed
	// attempts tried to write.
	fs.mu.Lock()
	fs.fail = nil
	fs.mu.Unlock()
	if err := p.Process(context.Background(), f.batch(`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, `{"total":-1}`)); err != nil {
		t.Fatal(err)
	}
	calls := fs.recorded()
	if last := calls[len(calls)-1]; last.Key != calls[0].Key || len(fs.objects) != 1 {
		t.Errorf("retry wrote %q, outage attempts %q; %d objects", last.Key, calls[0].Key, len(fs.objects))
	}
}

func TestPipelineReprocessingOverwritesTheSameObject(t *testing.T) {
	f := newFixture(t, "v1", nil)
	b := f.batch(`{"total":-1}`, `{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, `[]`)
	for i := 0; i < 3; i++ {
		if err := f.p.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.q.keys) != 3 || f.q.keys[0] != f.q.keys[1] || f.q.keys[1] != f.q.keys[2] {
		t.Errorf("keys %v, want the same key three times", f.q.keys)
	}
	if _, qs := f.onlyObject(t); len(qs) != 2 {
		t.Errorf("%d records in the object, want 2", len(qs))
	}
	// A fresh pipeline (another worker after failover) derives the same key.
	g := newFixture(t, "v1", func(c *PipelineConfig) { c.Worker = "worker-b"; c.Now = time.Now })
	if err := g.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if g.q.keys[0] != f.q.keys[0] {
		t.Errorf("another worker wrote %q, first wrote %q", g.q.keys[0], f.q.keys[0])
	}
}

func TestPipelineReadsRulesOncePerBatch(t *testing.T) {
	f := newFixture(t, "v1", nil)
	v1, v2 := f.set.Load(), loadSet(t, "v2")
	calls := 0
	f.p.cfg.Rules = func() *rules.Set {
		calls++
		if calls == 1 {
			return v1
		}
		return v2
	}
	payloads := []string{`{"order_id":"o0","customer_id":"C0","total":50,"channel":"web"}`, `{"order_id":"o1","customer_id":"C1","total":500,"channel":"web"}`}
	if err := f.p.Process(context.Background(), f.batch(payloads...)); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Rules called %d times for one batch, want 1", calls)
	}
	if err := f.p.Process(context.Background(), f.batch(payloads...)); err != nil {
		t.Fatal(err)
	}
	puts := f.cur.all()
	if len(puts) != 2 || puts[0].stream != "orders-curated" || len(puts[0].recs) != 2 ||
		puts[1].stream != "orders-curated-v2" || len(puts[1].recs) != 1 || !strings.Contains(string(puts[1].recs[0].Data), `"o1"`) {
		t.Fatalf("curated puts %+v", puts)
	}
	if puts[1].recs[0].PartitionKey != "src-1" {
		t.Errorf("v2 has no partitionKey: want the source key, got %q", puts[1].recs[0].PartitionKey)
	}
	_, qs := f.onlyObject(t)
	if len(qs) != 1 || qs[0].ContractVersion != "2.0.0" || qs[0].Failures[0].Rule != "total_above_100" {
		t.Errorf("quarantined %+v", qs)
	}
}

func TestPipelineNilSetIsAnErrorNotAQuarantine(t *testing.T) {
	f := newFixture(t, "v1", nil)
	f.p.cfg.Rules = func() *rules.Set { return nil }
	if err := f.p.Process(context.Background(), f.batch(`{}`)); err == nil {
		t.Fatal("Process without a contract set succeeded")
	}
	if f.cur.calls != 0 || len(f.q.keys) != 0 {
		t.Error("sinks were called without a contract set")
	}
}

func TestPipelineRejectsAnotherShardsBatch(t *testing.T) {
	f := newFixture(t, "v1", nil)
	for _, b := range []Batch{batchOf("other", "shardId-000000000003", `{}`), batchOf("orders-raw", "shardId-000000000009", `{}`)} {
		if err := f.p.Process(context.Background(), b); !errors.Is(err, ErrWrongStream) {
			t.Errorf("Process(%s/%s) = %v, want ErrWrongStream", b.Stream, b.ShardID, err)
		}
	}
	if err := f.p.Process(context.Background(), f.batch()); err != nil || f.cur.calls+len(f.q.keys) != 0 {
		t.Errorf("empty batch: err %v, sink calls %d", err, f.cur.calls+len(f.q.keys))
	}
}

// panickyJudger panics on payloads containing "boom" and judges the rest with a real evaluator.
type panickyJudger struct {
	inner  *rules.Evaluator
	id     int
	judged *[]int
}

func (j *panickyJudger) Judge(c *rules.Contract, in rules.Input) rules.Verdict {
	*j.judged = append(*j.judged, j.id)
	if bytes.Contains(in.Data, []byte("boom")) {
		var m map[string]int
		m["boom"]++ // nil map write: a runtime panic
	}
	return j.inner.Judge(c, in)
}

func TestPipelineRecoversFromAPanicPerRecord(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, "v1", func(c *PipelineConfig) { c.Logger = slogJSON(&logs) })
	var judged []int
	n := 0
	f.p.newJudger = func() judger {
		n++
		return &panickyJudger{inner: rules.NewEvaluator(), id: n, judged: &judged}
	}
	b := f.batch(`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`, `{"boom":true}`, `{"order_id":"o2","customer_id":"C2","total":10,"channel":"web"}`)
	if err := f.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if puts := f.cur.all(); len(puts) != 1 || len(puts[0].recs) != 2 {
		t.Fatalf("curated %+v, want the two good records", puts)
	}
	_, qs := f.onlyObject(t)
	if len(qs) != 1 || qs[0].Reason != ReasonInternal || qs[0].Failures[0].Rule != FailureInternal ||
		!strings.Contains(qs[0].Failures[0].Error, "nil map") || string(qs[0].Payload) != `{"boom":true}` {
		t.Errorf("quarantined %+v", qs)
	}
	if fmt.Sprint(judged) != "[1 1 2]" {
		t.Errorf("judgers used %v, want a fresh one after the panic", judged)
	}
	if got := counter(t, f.m.RecordsQuarantined, "orders", "1.2.0", ReasonInternal); got != 1 {
		t.Errorf("quarantined internal_error = %v", got)
	}
	if !strings.Contains(logs.String(), "panicked") || strings.Contains(logs.String(), `boom\":true`) {
		t.Errorf("log must report the panic without the payload:\n%s", logs.String())
	}
}

func TestPipelineCountsShadowDivergences(t *testing.T) {
	f := newFixture(t, "shadow", nil)
	b := f.batch(
		`{"order_id":"o0","customer_id":"C0","total":10,"channel":"web"}`,   // both pass
		`{"order_id":"o1","customer_id":"C1","total":5000,"channel":"web"}`, // shadow would quarantine
		`{"order_id":"o2","customer_id":"C2","total":-1,"channel":"web"}`,   // both quarantine
		`{"order_id":"o3","customer_id":"C3","total":7000,"channel":"web"}`, // shadow would quarantine
	)
	if err := f.p.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if puts := f.cur.all(); len(puts) != 1 || len(puts[0].recs) != 3 {
		t.Fatalf("routing changed by the shadow contract: %+v", puts)
	}
	if got := counter(t, f.m.ShadowDivergences, "orders", "total_below_1000", "would_quarantine"); got != 2 {
		t.Errorf("divergences total_below_1000/would_quarantine = %v, want 2", got)
	}
	if got := counter(t, f.m.ShadowDivergences, "orders", "total_positive", "would_pass"); got != 0 {
		t.Errorf("divergences would_pass = %v, want 0", got)
	}
}

func TestCompareShadowWouldPass(t *testing.T) {
	f := newFixture(t, "v1", nil)
	active := rules.Verdict{Outcome: rules.Quarantined, Violations: []rules.Violation{
		{Rule: "strict_rule", Severity: rules.SeverityError}, {Rule: "shared", Severity: rules.SeverityError}, {Rule: "w", Severity: rules.SeverityWarn}}}
	shadowV := rules.Verdict{Outcome: rules.Warned, Violations: []rules.Violation{{Rule: "shared", Severity: rules.SeverityWarn}}}
	f.p.newJudger = func() judger { return fixedJudger(shadowV) }
	set := f.set.Load()
	f.p.compareShadow(&batchJudging{shadow: set.ByDomain("orders")}, &Record{}, rules.Input{}, &active)
	f.p.tally.flush(f.m, "orders-raw", "orders", "1.2.0")
	for _, r := range []string{"strict_rule", "shared"} {
		if got := counter(t, f.m.ShadowDivergences, "orders", r, "would_pass"); got != 1 {
			t.Errorf("would_pass %s = %v, want 1", r, got)
		}
	}
	if got := counter(t, f.m.ShadowDivergences, "orders", "w", "would_pass"); got != 0 {
		t.Errorf("a warn rule was counted as a divergence")
	}
}

type fixedJudger rules.Verdict

func (j fixedJudger) Judge(*rules.Contract, rules.Input) rules.Verdict { return rules.Verdict(j) }

func TestPipelineReusesBuffersWithoutCorruptingEarlierBatches(t *testing.T) {
	f := newFixture(t, "v1", nil)
	for i := 0; i < 5; i++ {
		var payloads []string
		for j := 0; j < 50+i*20; j++ {
			payloads = append(payloads, fmt.Sprintf(`{"order_id":"b%d-%d","customer_id":"C%d","total":%d,"channel":"web"}`, i, j, j, j+1))
		}
		if err := f.p.Process(context.Background(), f.batch(payloads...)); err != nil {
			t.Fatal(err)
		}
	}
	for i, put := range f.cur.all() {
		for j, r := range put.recs {
			want := fmt.Sprintf(`{"order_id":"b%d-%d","customer_id":"C%d","total":%d,"channel":"web","gate":"meshgate"}`, i, j, j, j+1)
			if string(r.Data) != want || r.PartitionKey != "C"+strconv.Itoa(j) {
				t.Fatalf("batch %d record %d = %s %s, want %s", i, j, r.PartitionKey, r.Data, want)
			}
		}
	}
}

func TestNewPipelineValidatesConfig(t *testing.T) {
	ok := PipelineConfig{Rules: func() *rules.Set { return nil }, Stream: "s", Shard: "h", CuratedSink: &memCurated{}, QuarantineSink: &memQuarantine{}}
	tests := []struct {
		name string
		edit func(*PipelineConfig)
	}{
		{"no rules", func(c *PipelineConfig) { c.Rules = nil }},
		{"no stream", func(c *PipelineConfig) { c.Stream = "" }},
		{"no shard", func(c *PipelineConfig) { c.Shard = "" }},
		{"no curated sink", func(c *PipelineConfig) { c.CuratedSink = nil }},
		{"no quarantine sink", func(c *PipelineConfig) { c.QuarantineSink = nil }},
	}
	if _, err := NewPipeline(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			if _, err := NewPipeline(cfg); err == nil {
				t.Error("NewPipeline accepted it")
			}
		})
	}
}

func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
