package processor

// Worker tests against the local emulators (kinesalite, dynalite, gofakes3) with the real
// KCL: leases, checkpoints, sink outages, lease loss, stop deadline and resharding.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

const thingsContract = `domain: things
version: 1.0.0
owner: things-team@example.com
sources: [things-raw]
curated: things-curated
rules:
  - name: n_not_negative
    check: n >= 0
    message: n must not be negative
enrich:
  - set: gate
    value: '"meshgate"'
`

const bucket = "quarantine-test"

// workerEnv is an emulator stack with the things streams and bucket, and a worker config.
type workerEnv struct {
	t      *testing.T
	stack  *testenv.Stack
	rules  *rules.Set
	s3URL  string // what the worker uses for S3 (may be a faulty proxy)
	logBuf *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newWorkerEnv(t *testing.T, rawShards int32) *workerEnv {
	if testing.Short() {
		t.Skip("emulator test")
	}
	stack := testenv.Start(t)
	for _, kv := range []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=",
		"AWS_PROFILE=", "AWS_EC2_METADATA_DISABLED=true"} {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	stack.CreateStream(t, "things-raw", rawShards)
	stack.CreateStream(t, "things-curated", 1)
	stack.CreateBucket(t, bucket)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "things.yaml"), []byte(thingsContract), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatal(err)
	}
	return &workerEnv{t: t, stack: stack, rules: set, s3URL: stack.Endpoints().S3, logBuf: &syncBuffer{}}
}

func (e *workerEnv) config(worker string) *config.Config {
	c := config.Default()
	c.Application = "things-app"
	c.Region = testenv.Region
	c.WorkerID = worker
	c.Streams = []config.Stream{{Name: "things-raw"}}
	c.Quarantine = config.Quarantine{Bucket: bucket, Prefix: "q"}
	c.KCL.FailoverTime = config.Duration(2 * time.Second)
	c.KCL.ShardSyncInterval = config.Duration(200 * time.Millisecond)
	c.KCL.IdleTimeBetweenReads = config.Duration(100 * time.Millisecond)
	c.ShutdownGrace = config.Duration(5 * time.Second)
	return &c
}

// start runs a worker; the returned function waits for Run and returns its error.
func (e *workerEnv) start(cfg *config.Config) (*Worker, func() error) {
	e.t.Helper()
	ep := e.stack.Endpoints()
	clients, err := awsclient.New(context.Background(), awsclient.Options{
		Region: testenv.Region, KinesisEndpoint: ep.Kinesis, DynamoDBEndpoint: ep.DynamoDB, S3Endpoint: e.s3URL,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("worker", cfg.WorkerID)
	w, err := New(cfg, Deps{AWS: clients, Rules: func() *rules.Set { return e.rules }, Metrics: newTestMetrics(), Logger: log})
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	var runErr error
	ctx, cancel := context.WithCancel(context.Background())
	go func() { runErr = w.Run(ctx); close(done) }()
	wait := func() error { <-done; return runErr }
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			e.t.Error("worker did not stop within 15s of cleanup")
		}
		if e.t.Failed() {
			e.t.Logf("worker log:\n%s", tail(e.logBuf.String(), 60))
		}
	})
	return w, wait
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// put writes records with PutRecords and returns their sequence numbers by shard.
type putRec struct {
	key  string
	data []byte
}

type ledgerEntry struct{ shard, seq string }

func (e *workerEnv) put(stream string, recs []putRec) []ledgerEntry {
	e.t.Helper()
	var out []ledgerEntry
	kin := e.stack.Kinesis()
	for start := 0; start < len(recs); start += 500 {
		chunk := recs[start:min(start+500, len(recs))]
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
		for _, r := range chunk {
			in.Records = append(in.Records, ktypes.PutRecordsRequestEntry{Data: r.data, PartitionKey: aws.String(r.key)})
		}
		res, err := kin.PutRecords(context.Background(), in)
		if err != nil {
			e.t.Fatal(err)
		}
		if aws.ToInt32(res.FailedRecordCount) != 0 {
			e.t.Fatalf("%d records failed", aws.ToInt32(res.FailedRecordCount))
		}
		for _, r := range res.Records {
			out = append(out, ledgerEntry{aws.ToString(r.ShardId), aws.ToString(r.SequenceNumber)})
		}
	}
	return out
}

func (e *workerEnv) curated() []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, r := range e.stack.ReadStream(e.t, context.Background(), "things-curated") {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err != nil {
			e.t.Fatalf("curated record %q: %v", r.Data, err)
		}
		out = append(out, m)
	}
	return out
}

func (e *workerEnv) quarantined() []quarantine.Record {
	e.t.Helper()
	var out []quarantine.Record
	for _, key := range e.stack.ListObjects(e.t, context.Background(), bucket, "") {
		recs, err := quarantine.Decode(bytes.NewReader(e.stack.GetObject(e.t, context.Background(), bucket, key)))
		if err != nil {
			e.t.Fatalf("%s: %v", key, err)
		}
		out = append(out, recs...)
	}
	return out
}

func (e *workerEnv) leaseRows(table string) map[string]checkpoint.Item {
	e.t.Helper()
	s, err := checkpoint.New(e.stack.DynamoDB(), checkpoint.Options{Table: table, WorkerID: "observer"})
	if err != nil {
		e.t.Fatal(err)
	}
	items, err := s.Items(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]checkpoint.Item{}
	for _, it := range items {
		out[it.ShardID] = it
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func thing(n int) []byte { return fmt.Appendf(nil, `{"id":"t-%d","n":%d}`, n, n) }

func TestWorkerRoutesEveryRecordAndCheckpoints(t *testing.T) {
	e := newWorkerEnv(t, 4)
	w, done := e.start(e.config("w1"))
	began := time.Now()
	waitFor(t, 20*time.Second, "the worker to own 4 shards", func() bool { return len(w.Leases()["things-raw"]) == 4 })
	t.Logf("time to own 4 shards: %v", time.Since(began).Round(10*time.Millisecond))
	waitFor(t, 5*time.Second, "ready", w.Ready)

	// 300 plain records (every 5th bad) and 3 KPL aggregates of 10 (every 3rd bad).
	var recs []putRec
	good, bad := 0, 0
	for i := 0; i < 300; i++ {
		n := i
		if i%5 == 0 {
			n = -i - 1
			bad++
		} else {
			good++
		}
		recs = append(recs, putRec{fmt.Sprint("key-", i), thing(n)})
	}
	for a := 0; a < 3; a++ {
		var keys []string
		var datas [][]byte
		for j := 0; j < 10; j++ {
			n := 1000 + a*10 + j
			if j%3 == 0 {
				n = -n
				bad++
			} else {
				good++
			}
			keys, datas = append(keys, fmt.Sprint("agg-", a, "-", j%4)), append(datas, thing(n))
		}
		recs = append(recs, putRec{fmt.Sprint("outer-", a), kplAggregate(t, keys, datas)})
	}
	ledger := e.put("things-raw", recs)

	waitFor(t, 30*time.Second, "every record routed", func() bool {
		return len(e.curated()) >= good && len(e.quarantined()) >= bad
	})
	time.Sleep(500 * time.Millisecond) // anything extra (a duplicate) would show now
	cur, q := e.curated(), e.quarantined()
	if len(cur) != good || len(q) != bad {
		t.Fatalf("curated %d (want %d), quarantined %d (want %d)", len(cur), good, len(q), bad)
	}
	seen := map[string]bool{}
	for _, m := range cur {
		id := fmt.Sprint(m["id"])
		if seen[id] || m["gate"] != "meshgate" || m["n"].(float64) < 0 {
			t.Errorf("curated record %v (duplicate: %v)", m, seen[id])
		}
		seen[id] = true
	}
	aggregated := 0
	for _, r := range q {
		if r.Reason != quarantine.ReasonRules || len(r.Failures) != 1 || r.Failures[0].Rule != "n_not_negative" ||
			r.Stream != "things-raw" || r.Worker != "w1" || r.Contract != "things" {
			t.Errorf("quarantine record %+v", r)
		}
		var v struct{ N int }
		json.Unmarshal(r.Payload, &v)
		if v.N <= -1000 {
			aggregated++
			if (-v.N-1000)%10%3 != 0 || int(r.SubSequence) != (-v.N-1000)%10 {
				t.Errorf("aggregated record n=%d has sub-sequence %d", v.N, r.SubSequence)
			}
		}
	}
	if aggregated != 12 {
		t.Errorf("%d quarantined records came from aggregates, want 12", aggregated)
	}

	// Every shard checkpointed at its last record.
	last := map[string]string{}
	for _, l := range ledger {
		last[l.shard] = l.seq // sequence order within a shard = put order
	}
	waitFor(t, 5*time.Second, "checkpoints at the last records", func() bool {
		rows := e.leaseRows("things-app")
		for shard, seq := range last {
			if rows[shard].Checkpoint != seq {
				return false
			}
		}
		return true
	})

	stopBegan := time.Now()
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop took %v", time.Since(stopBegan).Round(10*time.Millisecond))
	if err := done(); err != nil {
		t.Errorf("Run: %v", err)
	}
	for shard, row := range e.leaseRows("things-app") {
		if row.Owner != "" {
			t.Errorf("%s still owned by %q after stop", shard, row.Owner)
		}
	}
	if w.Ready() {
		t.Error("ready after stop")
	}
	if err := w.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// faultyS3 is a reverse proxy to the S3 emulator that answers 503 while down.
type faultyS3 struct {
	down     atomic.Bool
	requests atomic.Int64 // requests refused while down
	proxy    *httputil.ReverseProxy
}

func newFaultyS3(t *testing.T, target string) (*faultyS3, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyS3{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := &http.Server{Handler: f}
	ln := newLocalListener(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f, "http://" + ln.Addr().String()
}

func (f *faultyS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		f.requests.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected outage</Message></Error>`)
		return
	}
	f.proxy.ServeHTTP(w, r)
}

func TestWorkerHoldsTheCheckpointWhileASinkIsDown(t *testing.T) {
	e := newWorkerEnv(t, 1)
	s3, proxyURL := newFaultyS3(t, e.s3URL)
	e.s3URL = proxyURL
	s3.down.Store(true)
	w, _ := e.start(e.config("w1"))
	waitFor(t, 20*time.Second, "the lease", func() bool { return len(w.Leases()["things-raw"]) == 1 })

	var recs []putRec
	for i := 0; i < 50; i++ {
		n := i
		if i%5 == 0 {
			n = -1 - i
		}
		recs = append(recs, putRec{fmt.Sprint("k", i), thing(n)})
	}
	ledger := e.put("things-raw", recs)
	shard := ledger[0].shard
	waitFor(t, 20*time.Second, "the S3 sink to be retrying", func() bool { return s3.requests.Load() >= 3 })

	// Hold the outage for longer than a lease period: the lease must be renewed meanwhile
	// (the library renews in its own goroutine) and the checkpoint must not move.
	before := e.leaseRows("things-app")[shard]
	time.Sleep(3 * time.Second)
	during := e.leaseRows("things-app")[shard]
	if during.Checkpoint != "" || during.Owner != "w1" || during.LeaseCounter <= before.LeaseCounter {
		t.Fatalf("during the outage: before %+v, after %+v (want no checkpoint, w1 still owner, lease renewed)", before, during)
	}
	if got := len(e.curated()); got != 40 {
		t.Errorf("curated during the outage: %d, want the 40 good ones (sinks run concurrently)", got)
	}

	s3.down.Store(false)
	waitFor(t, 20*time.Second, "checkpoint after recovery", func() bool {
		return e.leaseRows("things-app")[shard].Checkpoint == ledger[len(ledger)-1].seq
	})
	if cur, q := len(e.curated()), len(e.quarantined()); cur != 40 || q != 10 {
		t.Errorf("after recovery: curated %d, quarantined %d; want 40 and 10, no duplicates", cur, q)
	}
}

func TestWorkerLetsGoOfABlockedShardWhenItsLeaseIsTaken(t *testing.T) {
	e := newWorkerEnv(t, 1)
	s3, proxyURL := newFaultyS3(t, e.s3URL)
	e.s3URL = proxyURL
	s3.down.Store(true)
	w, _ := e.start(e.config("a"))
	waitFor(t, 20*time.Second, "the lease", func() bool { return len(w.Leases()["things-raw"]) == 1 })
	ledger := e.put("things-raw", []putRec{{"k", thing(-5)}, {"k", thing(6)}})
	waitFor(t, 20*time.Second, "the S3 sink to be retrying", func() bool { return s3.requests.Load() >= 2 })

	// Worker b takes the lease behind a's back (as after a clock skew or a long pause).
	shard := ledger[0].shard
	if _, err := e.stack.DynamoDB().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:        aws.String("things-app"),
		Key:              map[string]dtypes.AttributeValue{"ShardID": &dtypes.AttributeValueMemberS{Value: shard}},
		UpdateExpression: aws.String("SET AssignedTo = :b, LeaseTimeout = :t"),
		ExpressionAttributeValues: map[string]dtypes.AttributeValue{
			":b": &dtypes.AttributeValueMemberS{Value: "b"},
			":t": &dtypes.AttributeValueMemberS{Value: time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a to let go of the shard", func() bool { return len(w.Leases()["things-raw"]) == 0 })
	refused := s3.requests.Load()
	s3.down.Store(false)
	time.Sleep(2 * time.Second)
	row := e.leaseRows("things-app")[shard]
	if row.Owner != "b" || row.Checkpoint != "" {
		t.Errorf("row %+v: want owner b, no checkpoint", row)
	}
	if keys := e.stack.ListObjects(t, context.Background(), bucket, ""); len(keys) != 0 {
		t.Errorf("a wrote the abandoned batch's quarantine object after losing the lease: %v", keys)
	}
	if !strings.Contains(e.logBuf.String(), "batch not acknowledged; not checkpointing") {
		t.Error("no log line about the abandoned batch")
	}
	t.Logf("S3 refused %d requests before a let go", refused)
}

func TestWorkerStopAbandonsAnUnacknowledgedBatchAtTheDeadline(t *testing.T) {
	e := newWorkerEnv(t, 1)
	s3, proxyURL := newFaultyS3(t, e.s3URL)
	e.s3URL = proxyURL
	s3.down.Store(true)
	cfg := e.config("w1")
	cfg.ShutdownGrace = config.Duration(3 * time.Second)
	w, done := e.start(cfg)
	waitFor(t, 20*time.Second, "the lease", func() bool { return len(w.Leases()["things-raw"]) == 1 })
	ledger := e.put("things-raw", []putRec{{"k", thing(-1)}})
	waitFor(t, 20*time.Second, "the S3 sink to be retrying", func() bool { return s3.requests.Load() >= 2 })

	began := time.Now()
	err := w.Stop(context.Background())
	took := time.Since(began)
	if err != nil || took > 3500*time.Millisecond || took < 1500*time.Millisecond {
		t.Errorf("Stop returned %v after %v; want nil after about 2-3s (grace 3s less the release margin)", err, took)
	}
	if err := done(); err != nil {
		t.Errorf("Run: %v", err)
	}
	row := e.leaseRows("things-app")[ledger[0].shard]
	if row.Checkpoint != "" || row.Owner != "" {
		t.Errorf("row %+v: want no checkpoint and the lease released", row)
	}
}

// TestWorkerFinishesParentsBeforeChildren reshards before the worker starts (a split, then
// a merge of one child with the other original shard), so every shard has records when the
// worker comes: per partition key, everything written before the resharding must reach the
// curated stream before anything written after it.
func TestWorkerFinishesParentsBeforeChildren(t *testing.T) {
	e := newWorkerEnv(t, 2)
	ctx := context.Background()
	kin := e.stack.Kinesis()
	phase := func(p, count int) {
		var recs []putRec
		for i := 0; i < count; i++ {
			recs = append(recs, putRec{fmt.Sprint("key-", i%20), fmt.Appendf(nil, `{"id":"p%d-%d","n":%d,"phase":%d,"i":%d}`, p, i, i, p, i)})
		}
		e.put("things-raw", recs)
	}
	waitActive := func() {
		waitFor(t, 10*time.Second, "stream ACTIVE", func() bool {
			out, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("things-raw")})
			return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
		})
	}
	phase(1, 1000)
	shards, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("things-raw")})
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := shards.Shards[0], shards.Shards[1]
	// Split shard 0 at the middle of its hash range.
	mid := midpoint(aws.ToString(s0.HashKeyRange.StartingHashKey), aws.ToString(s0.HashKeyRange.EndingHashKey))
	if _, err := kin.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("things-raw"),
		ShardToSplit: s0.ShardId, NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	waitActive()
	phase(2, 1000)
	// Merge the upper child of shard 0 with shard 1 (adjacent hash ranges).
	all, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("things-raw")})
	if err != nil {
		t.Fatal(err)
	}
	var upper string
	for _, sh := range all.Shards {
		if aws.ToString(sh.ParentShardId) == aws.ToString(s0.ShardId) && aws.ToString(sh.HashKeyRange.StartingHashKey) == mid {
			upper = aws.ToString(sh.ShardId)
		}
	}
	if _, err := kin.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String("things-raw"),
		ShardToMerge: aws.String(upper), AdjacentShardToMerge: s1.ShardId}); err != nil {
		t.Fatal(err)
	}
	waitActive()
	phase(3, 400)

	// Small batches make the parents slow enough that, without the wait, children would
	// be leased and read while their parents still have records.
	cfg := e.config("w1")
	cfg.KCL.MaxRecords = 25
	w, _ := e.start(cfg)
	waitFor(t, 90*time.Second, "all 2400 records curated", func() bool { return len(e.curated()) >= 2400 })
	cur := e.curated()
	if len(cur) != 2400 {
		t.Fatalf("%d curated records, want 2400", len(cur))
	}
	lastPhase := map[string]float64{}
	lastIndex := map[string]float64{}
	violations := 0
	for _, m := range cur {
		key := fmt.Sprint("key-", int(m["i"].(float64))%20)
		p := m["phase"].(float64)
		if p < lastPhase[key] || (p == lastPhase[key] && m["i"].(float64) < lastIndex[key]) {
			violations++
			if violations <= 5 {
				t.Errorf("key %s: %v after phase %v record %v", key, m, lastPhase[key], lastIndex[key])
			}
		}
		lastPhase[key], lastIndex[key] = p, m["i"].(float64)
	}
	rows := e.leaseRows("things-app")
	var finished []string
	for id, row := range rows {
		if row.Checkpoint == checkpoint.ShardEnd {
			finished = append(finished, id)
		}
	}
	sort.Strings(finished)
	if len(finished) != 3 { // shard 0, shard 1 and the upper child of 0
		t.Errorf("finished shards %v, want the three parents", finished)
	}
	if !strings.Contains(e.logBuf.String(), "waiting for parent shards to finish") {
		t.Log("no child had to wait for its parents this time")
	}
	_ = w
}

// midpoint returns (a+b)/2 of two decimal hash keys.
func midpoint(a, b string) string {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return new(big.Int).Rsh(new(big.Int).Add(x, y), 1).String()
}

func newLocalListener(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
