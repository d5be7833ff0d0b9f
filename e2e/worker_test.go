package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/quarantine"
)

var exampleStreams = map[string]int32{"orders-raw": 2, "customers-raw": 1, "orders-curated": 1, "customers-curated": 1}

// TestRoutesEveryEventWithItsVerdict: mixed good, bad and hostile events of both domains →
// every good (and warned) event on its curated stream, enriched; every bad one in quarantine
// with exactly the rules (or decode reason) the generator says it breaks; nothing else.
// The quarantine listing is cross-checked with the real AWS CLI v2. orders-raw has a pinned
// leaseTable: after the graceful stop that table (read with the AWS CLI) holds the checkpoint
// of every orders shard at the last record put, and the derived name was never created.
func TestRoutesEveryEventWithItsVerdict(t *testing.T) {
	e := newEnv(t, exampleStreams)
	const pinned = "e2e-route-orders-leases"
	cfg := e.workerConfig("w", "e2e-route", []string{"orders-raw=" + pinned, "customers-raw"}, "")
	recordPath := filepath.Join(e.dir, "aws-calls.json")
	w := e.startWorker("w1", cfg, "MESHGATE_RECORD_AWS_CALLS="+recordPath)

	orders := events(t, gen.DomainOrders, 1400, 0.15, 0.04, 11)
	customers := events(t, gen.DomainCustomers, 600, 0.15, 0.04, 12)
	began := time.Now()
	sents := append(e.put("orders-raw", orders), e.put("customers-raw", customers)...)
	o := e.waitOutput(len(sents), 2*time.Minute, "orders-curated", "customers-curated")
	took := time.Since(began)
	t.Logf("%d records put and routed in %v: %.0f records/s end to end (including the put)",
		len(sents), took.Round(time.Millisecond), float64(len(sents))/took.Seconds())
	time.Sleep(time.Second) // a duplicate or stray record would show up now
	o = e.output("orders-curated", "customers-curated")

	// Expected verdicts, by payload.
	type want struct {
		s       sent
		matched int
	}
	var all []*want
	bySeq := map[string]*want{} // "stream/shard/seq#sub": sequence numbers are unique per shard only
	goodByID := map[string]*want{}
	wantCurated := map[string]int{}
	for _, s := range sents {
		w := &want{s: s}
		all = append(all, w)
		bySeq[fmt.Sprint(s.rec.Stream, "/", s.shard, "/", s.seq, "#", s.sub)] = w
		if s.rec.Outcome != gen.OutcomeQuarantined {
			var ev map[string]any
			if err := json.Unmarshal(s.rec.Data, &ev); err != nil {
				t.Fatal(err)
			}
			goodByID[fmt.Sprint(ev["event_id"])] = w
			wantCurated[s.rec.Domain+"-curated"]++
		}
	}
	for stream, recs := range o.curated {
		if len(recs) != wantCurated[stream] {
			t.Errorf("%s holds %d events, want %d", stream, len(recs), wantCurated[stream])
		}
		for _, m := range recs {
			w := goodByID[fmt.Sprint(m["event_id"])]
			if w == nil {
				t.Errorf("%s: unexpected event %v", stream, m["event_id"])
				continue
			}
			w.matched++
			checkEnriched(t, w.s.rec, m)
		}
	}
	wantQuarantined := 0
	for _, s := range sents {
		if s.rec.Outcome == gen.OutcomeQuarantined {
			wantQuarantined++
		}
	}
	if len(o.quarantined) != wantQuarantined {
		t.Errorf("%d records quarantined, want %d", len(o.quarantined), wantQuarantined)
	}
	for _, q := range o.quarantined {
		w := bySeq[fmt.Sprint(q.Stream, "/", q.Shard, "/", q.SequenceNumber, "#", q.SubSequence)]
		if w == nil || w.s.rec.Outcome != gen.OutcomeQuarantined || string(q.Payload) != string(w.s.rec.Data) {
			t.Errorf("unexpected quarantine record at %s (%s, %v)", q.SequenceNumber, q.Reason, q.Failures)
			continue
		}
		w.matched++
		checkQuarantined(t, w.s, q)
	}
	for _, w := range all {
		if w.matched != 1 {
			t.Errorf("%s record (%s, %s) routed %d times", w.s.rec.Kind, w.s.rec.Domain, w.s.rec.Outcome, w.matched)
		}
	}
	if dups, _ := ledgerCheck(t, sents, o); dups != 0 {
		t.Errorf("%d duplicates with healthy sinks", dups)
	}

	// The real AWS CLI v2 lists the same quarantine objects.
	cliKeys := awsCLIListKeys(t, e.stack.Endpoints().S3, bucket)
	sort.Strings(o.objects)
	if !reflect.DeepEqual(cliKeys, o.objects) {
		t.Errorf("aws s3api list-objects-v2 lists %d keys, the SDK %d:\ncli %v\nsdk %v", len(cliKeys), len(o.objects), cliKeys, o.objects)
	}

	code, took := w.signal(syscall.SIGTERM, 15*time.Second)
	if code != 0 {
		t.Errorf("worker exited %d after SIGTERM", code)
	}
	t.Logf("graceful stop took %v", took.Round(time.Millisecond))

	// The pinned lease table holds orders-raw's checkpoints: each shard at its last record.
	lastSeq := map[string]string{} // "stream/shard" -> highest sequence number put
	for _, s := range sents {
		k := s.rec.Stream + "/" + s.shard
		if seqLess(lastSeq[k], s.seq) {
			lastSeq[k] = s.seq
		}
	}
	lastOf := func(stream string) map[string]string {
		out := map[string]string{}
		for k, seq := range lastSeq {
			if shard, ok := strings.CutPrefix(k, stream+"/"); ok {
				out[shard] = seq
			}
		}
		return out
	}
	if got, want := awsCLICheckpoints(t, e.stack.Endpoints().DynamoDB, pinned), lastOf("orders-raw"); len(want) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("aws dynamodb scan %s: checkpoints %v, want orders-raw's last sequence numbers %v", pinned, got, want)
	}
	if got, want := e.checkpoints("e2e-route-customers-raw"), lastOf("customers-raw"); !reflect.DeepEqual(got, want) {
		t.Errorf("customers-raw's derived lease table holds checkpoints %v, want %v", got, want)
	}
	if _, err := e.stack.DynamoDB().DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("e2e-route-orders-raw")}); err == nil {
		t.Errorf("the derived table e2e-route-orders-raw exists although orders-raw pins %s", pinned)
	}

	// MESHGATE_RECORD_AWS_CALLS: the operations the worker used, for the IAM policy.
	data, err := os.ReadFile(recordPath)
	if err != nil {
		t.Fatal(err)
	}
	var calls []struct{ Action string }
	if err := json.Unmarshal(data, &calls); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, c := range calls {
		actions = append(actions, c.Action)
	}
	for _, must := range []string{"kinesis:GetRecords", "kinesis:PutRecords", "kinesis:ListShards", "kinesis:GetShardIterator",
		"dynamodb:UpdateItem", "dynamodb:GetItem", "s3:PutObject"} {
		if !contains(actions, must) {
			t.Errorf("recorded AWS calls %v lack %s", actions, must)
		}
	}
	t.Logf("AWS actions the worker called: %s", strings.Join(actions, " "))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// checkEnriched checks the example contracts' enrichment on a curated event.
func checkEnriched(t *testing.T, src gen.Record, got map[string]any) {
	t.Helper()
	var in map[string]any
	json.Unmarshal(src.Data, &in)
	meta, _ := got["_meta"].(map[string]any)
	if meta == nil || meta["contract"] != src.Domain {
		t.Errorf("%s event %v: _meta = %v", src.Domain, got["event_id"], got["_meta"])
	}
	if got["region"] == nil || got["region"] == "" {
		t.Errorf("%s event %v: no region", src.Domain, got["event_id"])
	}
	switch src.Domain {
	case gen.DomainOrders:
		if h, _ := got["customer_email"].(string); len(h) != 64 || h == in["customer_email"] {
			t.Errorf("order %v: customer_email not hashed: %v", got["event_id"], got["customer_email"])
		}
		if p, _ := got["payment"].(map[string]any); p != nil && p["card_number"] != nil && p["card_number"] != "[REDACTED]" {
			t.Errorf("order %v: card number not redacted", got["event_id"])
		}
	case gen.DomainCustomers:
		if got["name"] != nil || got["full_name"] != in["name"] {
			t.Errorf("customer %v: name not renamed to full_name", got["event_id"])
		}
	}
}

// checkQuarantined checks a quarantine record against what the generator says is wrong.
func checkQuarantined(t *testing.T, s sent, q quarantine.Record) {
	t.Helper()
	if q.Stream != s.rec.Stream || q.SequenceNumber != s.seq || q.Shard != s.shard || q.SubSequence != s.sub {
		t.Errorf("%s record: provenance %s/%s/%s#%d, want %s/%s/%s#%d", s.rec.Kind, q.Stream, q.Shard, q.SequenceNumber,
			q.SubSequence, s.rec.Stream, s.shard, s.seq, s.sub)
	}
	if s.rec.Decode != "" {
		if q.Reason != quarantine.ReasonDecode || len(q.Failures) == 0 || q.Failures[0].Value != s.rec.Decode {
			t.Errorf("%s record: reason %s failures %v, want decode %s", s.rec.Kind, q.Reason, q.Failures, s.rec.Decode)
		}
		return
	}
	var rules []string
	for _, f := range q.Failures {
		rules = append(rules, f.Rule)
	}
	sort.Strings(rules)
	if q.Reason != quarantine.ReasonRules || !reflect.DeepEqual(rules, s.rec.Rules) {
		t.Errorf("%s %s record: reason %s rules %v, want rules %v", s.rec.Domain, s.rec.Kind, q.Reason, rules, s.rec.Rules)
	}
	if q.Contract != s.rec.Domain || q.ContractVersion == "" || q.Worker == "" {
		t.Errorf("%s record: contract %q version %q worker %q", s.rec.Kind, q.Contract, q.ContractVersion, q.Worker)
	}
}

// seqLess compares Kinesis sequence numbers (decimal strings of up to 128 bits); "" is least.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// checkpoints reads a lease table with the checkpoint store: shard -> checkpoint.
func (e *env) checkpoints(table string) map[string]string {
	e.t.Helper()
	s, err := checkpoint.New(e.stack.DynamoDB(), checkpoint.Options{Table: table, WorkerID: "e2e-observer"})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items, err := s.Items(ctx)
	if err != nil {
		e.t.Fatalf("read lease table %s: %v", table, err)
	}
	out := map[string]string{}
	for _, it := range items {
		out[it.ShardID] = it.Checkpoint
	}
	return out
}

// awsCLICheckpoints scans a lease table with the real AWS CLI v2: shard -> Checkpoint.
func awsCLICheckpoints(t *testing.T, endpoint, table string) map[string]string {
	t.Helper()
	out := awsCLI(t, "--endpoint-url", endpoint, "--output", "json", "dynamodb", "scan", "--table-name", table, "--consistent-read")
	var res struct {
		Items []map[string]struct{ S string }
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("aws output %q: %v", out, err)
	}
	got := map[string]string{}
	for _, it := range res.Items {
		got[it["ShardID"].S] = it["Checkpoint"].S
	}
	return got
}

// awsCLI runs the real AWS CLI v2 (Debian's awscli) against the emulators and returns stdout.
func awsCLI(t *testing.T, args ...string) []byte {
	t.Helper()
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (AWS CLI v2, Debian package awscli) is missing", cli)
		}
		t.Skipf("%s missing: apt-get install awscli", cli)
	}
	cfg := filepath.Join(t.TempDir(), "aws-config")
	os.WriteFile(cfg, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = append(testenv.Endpoints{}.Environ(), "AWS_CONFIG_FILE="+cfg, "AWS_PAGER=", "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// awsCLIListKeys lists a bucket with the real AWS CLI v2 (Debian's awscli).
func awsCLIListKeys(t *testing.T, endpoint, bucket string) []string {
	t.Helper()
	out := awsCLI(t, "--endpoint-url", endpoint, "--output", "json", "s3api", "list-objects-v2", "--bucket", bucket)
	var res struct{ Contents []struct{ Key string } }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("aws output %q: %v", out, err)
	}
	keys := []string{}
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	sort.Strings(keys)
	return keys
}

// TestResumesFromCheckpointAfterSIGTERM stops the worker with SIGTERM while traffic flows,
// starts it again, and accounts for every record put: nothing lost and, with healthy sinks,
// nothing twice (a graceful stop checkpoints everything it acknowledged).
func TestResumesFromCheckpointAfterSIGTERM(t *testing.T) {
	e := newEnv(t, map[string]int32{"orders-raw": 2, "orders-curated": 1})
	cfg := e.workerConfig("w", "e2e-resume", []string{"orders-raw"}, "")
	recs := events(t, gen.DomainOrders, 3000, 0.1, 0.02, 21)

	w := e.startWorker("w1", cfg)
	var sents []sent
	// First third, then SIGTERM while the second third is being put and processed.
	sents = append(sents, e.put("orders-raw", recs[:1000])...)
	e.waitOutput(500, time.Minute, "orders-curated")
	putDone := make(chan []sent)
	go func() {
		var s []sent
		for i := 1000; i < 2000; i += 100 {
			s = append(s, e.put("orders-raw", recs[i:i+100])...)
			time.Sleep(30 * time.Millisecond)
		}
		putDone <- s
	}()
	time.Sleep(300 * time.Millisecond)
	code, took := w.signal(syscall.SIGTERM, 15*time.Second)
	if code != 0 || took > 10*time.Second {
		t.Errorf("SIGTERM: exit %d after %v; want 0 within the 10s grace", code, took)
	}
	t.Logf("stopped mid-stream in %v with %d records routed", took.Round(time.Millisecond), e.output("orders-curated").total())
	sents = append(sents, <-putDone...)
	sents = append(sents, e.put("orders-raw", recs[2000:])...)

	e.startWorker("w1", cfg) // same worker id: resumes from its checkpoints
	o := e.waitOutput(len(sents), 2*time.Minute, "orders-curated")
	time.Sleep(time.Second)
	o = e.output("orders-curated")
	dups, extra := ledgerCheck(t, sents, o)
	if dups != 0 {
		t.Errorf("%d records (%d extra copies) seen twice after a graceful stop with healthy sinks", dups, extra)
	}
	if o.total() != len(sents) {
		t.Errorf("%d records routed for %d put", o.total(), len(sents))
	}
}

// TestTwoWorkersShareShardsAndHandOver runs two workers on a 4-shard stream: they share the
// shards; a SIGTERMed one hands its shards over at once; a killed one loses them after the
// failover time. Traffic flows throughout and nothing is lost.
func TestTwoWorkersShareShardsAndHandOver(t *testing.T) {
	e := newEnv(t, map[string]int32{"orders-raw": 4, "orders-curated": 1})
	// The plan's default shard sync interval (1s), to measure what users get.
	cfg := e.workerConfig("w", "e2e-fleet", []string{"orders-raw"}, "")
	cfg1s := e.workerConfig("w1s", "e2e-fleet", []string{"orders-raw"}, "")
	data, _ := os.ReadFile(cfg1s)
	os.WriteFile(cfg1s, []byte(strings.Replace(string(data), "shardSyncInterval: 500ms", "shardSyncInterval: 1s", 1)), 0o644)
	const table = "e2e-fleet"
	recs := events(t, gen.DomainOrders, 2400, 0.1, 0.02, 31)

	a := e.startWorker("a", cfg1s)
	ownAll := waitFor(t, 30*time.Second, "a to own 4 shards", func() bool { return count(e.leaseOwners(table), "a") == 4 })
	t.Logf("time for one worker to own 4 shards (shardSyncInterval 1s, measured from process start incl. table creation): %v", ownAll.Round(10*time.Millisecond))

	var sents []sent
	traffic := func(from, to int) chan []sent {
		ch := make(chan []sent, 1)
		go func() {
			var s []sent
			for i := from; i < to; i += 50 {
				s = append(s, e.put("orders-raw", recs[i:min(i+50, to)])...)
				time.Sleep(50 * time.Millisecond)
			}
			ch <- s
		}()
		return ch
	}
	t1 := traffic(0, 800)
	b := e.startWorker("b", cfg)
	balance := waitFor(t, 60*time.Second, "a and b to share the shards 2/2", func() bool {
		o := e.leaseOwners(table)
		return count(o, "a") == 2 && count(o, "b") == 2
	})
	t.Logf("time until a second worker holds its half (lease stealing): %v", balance.Round(10*time.Millisecond))
	sents = append(sents, <-t1...)

	t2 := traffic(800, 1600)
	time.Sleep(500 * time.Millisecond)
	code, took := a.signal(syscall.SIGTERM, 15*time.Second)
	if code != 0 {
		t.Errorf("a exited %d after SIGTERM", code)
	}
	handover := waitFor(t, 30*time.Second, "b to own all 4 shards after a's graceful stop", func() bool {
		return count(e.leaseOwners(table), "b") == 4
	})
	t.Logf("graceful stop of a took %v; b owned all shards %v later", took.Round(time.Millisecond), handover.Round(10*time.Millisecond))
	sents = append(sents, <-t2...)

	// Start a again, then kill b without warning: a takes over after the failover time.
	a2 := e.startWorker("a", cfg)
	waitFor(t, 60*time.Second, "a to take its share back", func() bool { return count(e.leaseOwners(table), "a") == 2 })
	t3 := traffic(1600, 2400)
	time.Sleep(500 * time.Millisecond)
	b.signal(syscall.SIGKILL, 5*time.Second)
	failover := waitFor(t, 30*time.Second, "a to own all 4 shards after b was killed", func() bool {
		return count(e.leaseOwners(table), "a") == 4
	})
	t.Logf("failover after kill -9 (failoverTime 3s): %v", failover.Round(10*time.Millisecond))
	sents = append(sents, <-t3...)

	o := e.waitOutput(len(sents), 2*time.Minute, "orders-curated")
	time.Sleep(time.Second)
	o = e.output("orders-curated")
	dups, extra := ledgerCheck(t, sents, o)
	t.Logf("%d records put, %d routed; %d records seen twice (%d extra copies), from the kill -9", len(sents), o.total(), dups, extra)
	if !a2.running() {
		t.Error("a exited")
	}
}

// TestJudgesKPLAggregatedRecordsIndividually puts KPL-aggregated records: every user record
// inside is judged on its own — good ones curated, bad ones quarantined with their own rules
// and their sub-sequence number.
func TestJudgesKPLAggregatedRecordsIndividually(t *testing.T) {
	e := newEnv(t, map[string]int32{"orders-raw": 1, "orders-curated": 1})
	cfg := e.workerConfig("w", "e2e-kpl", []string{"orders-raw"}, "")
	recs := events(t, gen.DomainOrders, 90, 0.3, 0, 41)
	e.startWorker("w1", cfg)

	kin := e.stack.Kinesis()
	var sents []sent
	for a := 0; a < 3; a++ {
		group := recs[a*30 : (a+1)*30]
		out, err := kin.PutRecord(context.Background(), &kinesis.PutRecordInput{
			StreamName: aws.String("orders-raw"), PartitionKey: aws.String(fmt.Sprint("agg-", a)), Data: kplAggregate(t, group),
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range group {
			sents = append(sents, sent{rec: r, shard: aws.ToString(out.ShardId), seq: aws.ToString(out.SequenceNumber), sub: int64(i)})
		}
	}
	// One plain record after the aggregates, to see the stream order kept.
	plain := events(t, gen.DomainOrders, 1, 0, 0, 42)
	sents = append(sents, e.put("orders-raw", plain)...)

	o := e.waitOutput(len(sents), time.Minute, "orders-curated")
	time.Sleep(500 * time.Millisecond)
	o = e.output("orders-curated")
	if dups, _ := ledgerCheck(t, sents, o); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
	bySeq := map[string]quarantine.Record{}
	for _, q := range o.quarantined {
		bySeq[fmt.Sprint(q.SequenceNumber, "#", q.SubSequence)] = q
	}
	bad := 0
	for _, s := range sents {
		if s.rec.Outcome != gen.OutcomeQuarantined {
			continue
		}
		bad++
		q, ok := bySeq[fmt.Sprint(s.seq, "#", s.sub)]
		if !ok {
			t.Errorf("bad user record %d of aggregate %s not in quarantine", s.sub, s.seq)
			continue
		}
		if string(q.Payload) != string(s.rec.Data) || q.PartitionKey != s.rec.PartitionKey {
			t.Errorf("user record %d: quarantined payload/key differ from the user record", s.sub)
		}
		checkQuarantined(t, s, q)
	}
	if bad == 0 || len(o.quarantined) != bad {
		t.Errorf("%d quarantined, want %d (> 0)", len(o.quarantined), bad)
	}
	if o.total() != len(sents) {
		t.Errorf("%d routed for %d user records", o.total(), len(sents))
	}
}

// TestRestartsUnderTheSameWorkerIDAfterAKill kills the worker (kill -9) and starts it again at
// once under the same worker id, as an orchestrator restarting a pod with a stable name does.
// Its old rows still name it as owner with unexpired leases; it must take them back at once
// (the library alone would skip them as "already owned") and lose nothing.
func TestRestartsUnderTheSameWorkerIDAfterAKill(t *testing.T) {
	e := newEnv(t, map[string]int32{"orders-raw": 3, "orders-curated": 1})
	cfg := e.workerConfig("w", "e2e-restart", []string{"orders-raw"}, "")
	const table = "e2e-restart"
	recs := events(t, gen.DomainOrders, 1500, 0.1, 0.02, 51)
	w := e.startWorker("pod-0", cfg)
	waitFor(t, 30*time.Second, "pod-0 to own 3 shards", func() bool { return count(e.leaseOwners(table), "pod-0") == 3 })
	sents := e.put("orders-raw", recs[:750])
	e.waitOutput(300, time.Minute, "orders-curated")
	w.signal(syscall.SIGKILL, 5*time.Second)

	e.startWorker("pod-0", cfg)
	took := waitFor(t, 20*time.Second, "the restarted pod-0 to hold 3 live leases", func() bool {
		return count(e.leaseOwners(table), "pod-0") == 3 && strings.Count(readLogs(t, e.dir, "pod-0"), `"msg":"lease acquired"`) >= 6
	})
	t.Logf("restarted worker re-acquired its 3 shards %v after start (failoverTime 3s)", took.Round(10*time.Millisecond))
	sents = append(sents, e.put("orders-raw", recs[750:])...)
	o := e.waitOutput(len(sents), time.Minute, "orders-curated")
	time.Sleep(500 * time.Millisecond)
	o = e.output("orders-curated")
	dups, extra := ledgerCheck(t, sents, o)
	t.Logf("%d records put, %d routed, %d seen twice (%d extra copies) after kill -9", len(sents), o.total(), dups, extra)
}

// readLogs concatenates the logs of every process of worker id started in dir.
func readLogs(t *testing.T, dir, id string) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, id+"-*.log"))
	var sb strings.Builder
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		sb.Write(data)
	}
	return sb.String()
}
