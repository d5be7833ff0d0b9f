package reliability

// The scenarios: each runs the real `meshgate run` binary against its own emulators (behind
// fault proxies), puts generated traffic through a ledger, disturbs the worker, and ends
// with an audit of the curated stream and every quarantine object: missing = 0, nothing in
// both places, duplicates within the scenario's bound. Each adds a row to the report.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/jsonx"
	"github.com/meshgate/meshgate/quarantine"
)

// TestCrash: kill -9 at seeded random moments while traffic flows, 12 times, restarting
// each time. Missing = 0; per source shard at most one unacknowledged batch (kcl.maxRecords
// records) of duplicates per crash; checkpoints never ahead of acknowledged records.
func TestCrash(t *testing.T) {
	t.Parallel()
	const kills = 12
	s := newScenario(t, "crash", 101, scenarioOptions{rawShards: 4})
	cfg := s.config("")
	tr := s.produce(6000, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
	w := s.start("w1", cfg)
	var restarted time.Time
	var before int
	var schedule []string
	for k := 0; k < kills; k++ {
		d := time.Duration(600+s.rnd.IntN(2400)) * time.Millisecond // seeded schedule
		schedule = append(schedule, d.String())
		time.Sleep(d)
		w.kill()
		if bad, _ := s.checkpointsHold(); len(bad) > 0 {
			t.Fatalf("after kill %d, checkpoints are ahead of the sinks:\n%s", k+1, strings.Join(bad, "\n"))
		}
		w = s.start("w1", cfg)
		restarted, before = time.Now(), s.ledger.Len()
	}
	t.Logf("kill schedule (uptime before each kill): %s", strings.Join(schedule, " "))
	resumed := waitFor(t, 60*time.Second, "the last restart to consume every shard", func() bool { return w.shardsStarted() == 4 })
	recover := s.caughtUp(before, restarted, 90*time.Second)
	tr.end(t)
	s.waitAccounted(90*time.Second, Options{})
	stopAll(t, w)
	r, _ := s.audit(Options{})
	for shard, d := range r.DuplicatesByShard {
		if d > kills*maxBatch {
			t.Errorf("shard %s: %d duplicates after %d crashes, more than one batch (%d records) per crash", shard, d, kills, maxBatch)
		}
	}
	s.finish(r, recover, fmt.Sprintf("%d kill -9; dups/shard <= %d; last restart consumed all 4 shards in %v", kills, kills*maxBatch, resumed.Round(100*time.Millisecond)))
}

// TestGracefulStop: SIGTERM while traffic flows, three times; each exit is 0 and within the
// grace period, and with healthy sinks the restarts produce zero duplicates.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "graceful-stop", 102, scenarioOptions{rawShards: 2})
	cfg := s.config("")
	tr := s.produce(4000, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
	w := s.start("w1", cfg)
	var restarted time.Time
	var before int
	longest := time.Duration(0)
	for i := 0; i < 3; i++ {
		time.Sleep(time.Duration(1500+s.rnd.IntN(1500)) * time.Millisecond)
		code, took := w.term(grace + 5*time.Second)
		if code != 0 || took > grace {
			t.Fatalf("stop %d: exit code %d after %v (grace %v)\n%s", i+1, code, took, grace, w.tail(20))
		}
		longest = max(longest, took)
		w = s.start("w1", cfg)
		restarted, before = time.Now(), s.ledger.Len()
	}
	resumed := waitFor(t, 60*time.Second, "the last restart to consume both shards", func() bool { return w.shardsStarted() == 2 })
	recover := s.caughtUp(before, restarted, 60*time.Second)
	tr.end(t)
	s.waitAccounted(60*time.Second, Options{})
	stopAll(t, w)
	r, _ := s.audit(Options{})
	if r.Duplicates() != 0 {
		t.Errorf("graceful stops with healthy sinks produced %d duplicates (by shard %v)", r.Duplicates(), r.DuplicatesByShard)
	}
	s.finish(r, recover, fmt.Sprintf("3 SIGTERM, exit 0 in <= %v; restart consumed both shards in %v",
		longest.Round(10*time.Millisecond), resumed.Round(100*time.Millisecond)))
}

// TestSinkFaults: partial PutRecords failures, 5xx and throttling, latency, S3 errors and
// an S3 outage, one after the other while traffic flows. Missing = 0; during the outage no
// checkpoint advances and none is ever ahead of the sinks; the worker never exits and
// catches up by itself once the faults clear.
func TestSinkFaults(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "sink-faults", 103, scenarioOptions{rawShards: 2})
	cfg := s.config("")
	tr := s.produce(8000, 10, 100*time.Millisecond, s.generator(0.12, 0.02))
	w := s.start("w1", cfg)
	waitFor(t, 30*time.Second, "the worker to be ready", w.ready)
	time.Sleep(2 * time.Second)

	phase := func(what string, d time.Duration, set func()) {
		t.Helper()
		set()
		time.Sleep(d)
		if err := errors.Join(s.kin.Clear(), s.s3.Clear()); err != nil {
			t.Fatal(err)
		}
		if !w.running() {
			t.Fatalf("the worker exited during %s:\n%s", what, w.tail(20))
		}
		if bad, _ := s.checkpointsHold(); len(bad) > 0 {
			t.Fatalf("during %s, checkpoints are ahead of the sinks:\n%s", what, strings.Join(bad, "\n"))
		}
	}
	phase("partial PutRecords failures", 4*time.Second, func() {
		s.kin.Set(Faults{PutRecordsFailRate: 0.3})
	})
	phase("Kinesis 5xx and throttling", 4*time.Second, func() {
		s.kin.Set(Faults{Ops: []string{"PutRecords"}, ErrorRate: 0.5, Errors: []HTTPError{InternalFailure, ServiceUnavailable, Throttling, ThroughputExceeded}})
	})
	phase("GetRecords and DynamoDB throttling", 3*time.Second, func() {
		s.kin.Set(Faults{Ops: []string{"GetRecords"}, ErrorRate: 0.5, Errors: []HTTPError{ThroughputExceeded}})
		s.ddb.Set(Faults{ErrorRate: 0.2, Errors: []HTTPError{ThroughputExceeded, InternalFailure}})
	})
	if err := s.ddb.Clear(); err != nil {
		t.Fatal(err)
	}
	phase("latency", 3*time.Second, func() {
		s.kin.Set(Faults{Ops: []string{"PutRecords"}, Latency: 400 * time.Millisecond})
		s.s3.Set(Faults{Ops: []string{"PutObject"}, Latency: 400 * time.Millisecond})
	})
	phase("S3 500 and 503", 3*time.Second, func() {
		s.s3.Set(Faults{Ops: []string{"PutObject"}, ErrorRate: 0.7, Errors: []HTTPError{S3InternalError, S3SlowDown}})
	})

	// S3 down: after the batches in flight settle, no checkpoint moves until it is back.
	s.s3.Set(Faults{Outage: Refused})
	time.Sleep(2 * time.Second)
	held, _ := s.checkpointsHold()
	cpBefore := s.checkpoints()
	time.Sleep(6 * time.Second)
	cpAfter := s.checkpoints()
	if len(held) > 0 {
		t.Errorf("during the S3 outage, checkpoints are ahead of the sinks:\n%s", strings.Join(held, "\n"))
	}
	for shard, cp := range cpAfter {
		if cp != cpBefore[shard] {
			t.Errorf("shard %s: checkpoint moved from %s to %s while S3 was down", shard, cpBefore[shard], cp)
		}
	}
	if !w.running() {
		t.Fatalf("the worker exited during the S3 outage:\n%s", w.tail(20))
	}
	if err := s.s3.Clear(); err != nil {
		t.Fatal(err)
	}
	cleared, before := time.Now(), s.ledger.Len()
	recover := s.caughtUp(before, cleared, 90*time.Second)
	cpRecovered := s.checkpoints()
	moved := 0
	for shard, cp := range cpRecovered {
		if cp != cpAfter[shard] {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("no checkpoint advanced after S3 came back: %v", cpRecovered)
	}
	tr.end(t)
	s.waitAccounted(60*time.Second, Options{})
	if !w.running() || w.started.IsZero() {
		t.Fatalf("the worker exited:\n%s", w.tail(20))
	}
	stopAll(t, w)
	r, _ := s.audit(Options{})

	ks, ss, ds := s.kin.Stats(), s.s3.Stats(), s.ddb.Stats()
	if ks.FailedEntries == 0 || ks.InjectedErrors == 0 || ss.InjectedErrors == 0 || ds.InjectedErrors == 0 || ss.Ops["PutObject"] == 0 {
		t.Errorf("faults not exercised: kinesis %+v, s3 %+v, dynamodb %+v", ks, ss, ds)
	}
	t.Logf("injected: %d PutRecords entries failed, %d Kinesis errors, %d S3 errors, %d DynamoDB errors; checkpoints frozen during the S3 outage: %v",
		ks.FailedEntries, ks.InjectedErrors, ss.InjectedErrors, ds.InjectedErrors, cpAfter)
	s.finish(r, recover, fmt.Sprintf("%d entries failed; %d Kinesis, %d S3, %d DynamoDB errors; latency; S3 down 8s",
		ks.FailedEntries, ks.InjectedErrors, ss.InjectedErrors, ds.InjectedErrors))
}

// TestPoisonRecords: the hostile corpus mixed into the traffic — every hostile kind of the
// generator, huge numbers, an empty payload, and an event whose enriched form no longer fits
// a Kinesis record. Each is quarantined with its reason; the worker never exits and good
// traffic after the poison is curated.
func TestPoisonRecords(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "poison", 104, scenarioOptions{rawShards: 2})
	cfg := s.config("")
	w := s.start("w1", cfg)
	g, err := gen.New(gen.Config{Domain: gen.DomainOrders, Seed: s.seed, BadFraction: 0.1, HostileFraction: 0.4, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	for _, k := range gen.Kinds() {
		if k.Domain == gen.DomainOrders && k.Class == gen.Hostile {
			for i := 0; i < 3; i++ {
				msgs = append(msgs, FromGen(g.Make(gen.DomainOrders, gen.Hostile, k.Name)))
			}
		}
	}
	for i := 0; i < 3; i++ {
		good := g.Make(gen.DomainOrders, gen.Good, "")
		msgs = append(msgs,
			Message{Data: hugeNumber(good.Data, i), PartitionKey: good.PartitionKey, Kind: "huge_number", Expect: gen.OutcomeQuarantined, Decode: jsonx.ReasonInvalidJSON},
			Message{Data: []byte{}, PartitionKey: good.PartitionKey, Kind: "empty_payload", Expect: gen.OutcomeQuarantined, Decode: jsonx.ReasonEmpty})
	}
	edge := g.Make(gen.DomainOrders, gen.Good, "")
	msgs = append(msgs, Message{Data: padTo(edge.Data, producerLimit-len(edge.PartitionKey)), PartitionKey: edge.PartitionKey, Kind: "enriched_too_large", Expect: gen.OutcomeQuarantined})
	for i := 0; i < 400; i++ {
		msgs = append(msgs, FromGen(g.Next()))
	}
	rng := s.rnd
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	i := 0
	tr := s.produce(len(msgs), 10, 100*time.Millisecond, func() Message { i++; return msgs[i-1] })
	tr.wait(t)
	refused := tr.refused
	// Good traffic after the poison must still flow.
	after := 0
	tr = s.produce(200, 20, 100*time.Millisecond, func() Message {
		after++
		return FromGen(g.Make(gen.DomainOrders, gen.Good, ""))
	})
	tr.wait(t)
	r, took := s.waitAccounted(90*time.Second, Options{})
	if !w.running() {
		t.Fatalf("the worker exited on poison:\n%s", w.tail(20))
	}
	stopAll(t, w)
	r, _ = s.audit(Options{})

	// Every hostile record is in quarantine with a decode reason (the audit's wrong-verdict
	// check holds each to its generator's reason); the oversized output is quarantined as such.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, quar, _, err := Read(ctx, s.stack.Kinesis(), s.stack.S3(), s.curated, bucket, qprefix)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{} // shard/seq -> reason
	for _, q := range quar {
		reasons[q.Shard+"/"+q.SequenceNumber] = q.Reason
	}
	kinds := map[string]int{}
	for _, e := range s.ledger.Entries() {
		if e.Decode == "" && e.Kind != "enriched_too_large" {
			continue
		}
		kinds[e.Kind]++
		want := quarantine.ReasonDecode
		if e.Kind == "enriched_too_large" {
			want = quarantine.ReasonTooLarge
		}
		if got := reasons[e.Shard+"/"+e.SequenceNumber]; got != want {
			t.Errorf("%s quarantined with reason %q, want %q", e, got, want)
		}
	}
	for _, k := range []string{"non_json", "invalid_utf8", "bom", "duplicate_key", "too_deep", "not_object", "empty", "huge_number", "empty_payload", "enriched_too_large"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record entered the stream", k)
		}
	}
	t.Logf("hostile records by kind: %v; refused by Kinesis (over 1 MiB, never in the stream): %d; %d good records after the poison", kinds, refused, after)
	s.finish(r, 0, fmt.Sprintf("%d hostile of %d kinds (+%d over 1 MiB refused by Kinesis); drained in %v", sum(kinds), len(kinds), refused, took.Round(100*time.Millisecond)))
}

// producerLimit is the largest record Kinesis takes (data plus key).
const producerLimit = 1 << 20

// hugeNumber replaces the event's total with a number beyond float64 range.
func hugeNumber(data []byte, i int) []byte {
	huge := []string{"1e400", "-1e999", "1" + strings.Repeat("0", 400)}[i%3]
	j := bytes.Index(data, []byte(`"total":`))
	k := j + len(`"total":`)
	end := k
	for end < len(data) && data[end] != ',' && data[end] != '}' {
		end++
	}
	out := append([]byte{}, data[:k]...)
	out = append(out, huge...)
	return append(out, data[end:]...)
}

// padTo adds an "attachment" member so that the event is exactly n bytes.
func padTo(data []byte, n int) []byte {
	head := append([]byte{}, data[:len(data)-1]...)
	head = append(head, `,"attachment":"`...)
	pad := n - len(head) - 2
	return append(append(head, bytes.Repeat([]byte("A"), pad)...), '"', '}')
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestFleet: three workers on an 8-shard stream. The lease table is sampled throughout:
// every open shard has one owner and no two workers count the same lease; after a kill -9,
// the dead worker's shards are taken over within the failover time; after it restarts,
// leases rebalance to it. Nothing missing.
func TestFleet(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "fleet", 105, scenarioOptions{rawShards: 8})
	cfg := s.config("")
	tr := s.produce(8000, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
	ws := map[string]*worker{}
	var wmu sync.Mutex
	for _, id := range []string{"w1", "w2", "w3"} {
		ws[id] = s.start(id, cfg)
	}
	live := func() []*worker {
		wmu.Lock()
		defer wmu.Unlock()
		var out []*worker
		for _, w := range ws {
			if w.running() {
				out = append(out, w)
			}
		}
		return out
	}

	// The sampler: lease table and each worker's own count of its leases.
	var smu sync.Mutex
	var violations []string
	changes := map[string]int{}
	lastOwner := map[string]string{}
	overCount, maxHeld := 0, 0
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(250 * time.Millisecond):
			}
			items, err := s.leases()
			if err != nil {
				continue // the table may not exist yet
			}
			open := 0
			smu.Lock()
			for _, it := range items {
				if it.Checkpoint == checkpoint.ShardEnd {
					continue
				}
				open++
				owner := it.Owner
				if owner != "" && time.Now().After(it.LeaseTimeout) {
					owner = ""
				}
				if owner != "" && owner != "w1" && owner != "w2" && owner != "w3" {
					violations = append(violations, fmt.Sprintf("shard %s owned by unknown worker %q", it.ShardID, owner))
				}
				if owner != "" && owner != lastOwner[it.ShardID] {
					changes[it.ShardID]++
					lastOwner[it.ShardID] = owner
				}
			}
			held := 0
			for _, w := range live() {
				if n := w.leasesHeld(); n > 0 {
					held += n
				}
			}
			maxHeld = max(maxHeld, held)
			// Counts are read one worker after the other, so a lease moving between two
			// reads can be counted twice once; a real double owner persists (it renews).
			if held > open && open > 0 {
				overCount++
				if overCount >= 4 {
					violations = append(violations, fmt.Sprintf("workers count %d leases on %d open shards for 1s", held, open))
				}
			} else {
				overCount = 0
			}
			smu.Unlock()
		}
	}()
	owners := func() map[string]int {
		items, err := s.leases()
		if err != nil {
			return nil
		}
		per := map[string]int{}
		for _, it := range items {
			if it.Checkpoint != checkpoint.ShardEnd && it.Owner != "" && time.Now().Before(it.LeaseTimeout) {
				per[it.Owner]++
			}
		}
		return per
	}
	balanced := func() bool {
		per := owners()
		return per["w1"]+per["w2"]+per["w3"] == 8 && per["w1"] >= 2 && per["w2"] >= 2 && per["w3"] >= 2
	}
	startup := waitFor(t, 90*time.Second, "8 shards shared by 3 workers", balanced)

	// kill -9 w3: its shards go to w1 and w2 within the failover time.
	items, err := s.leases()
	if err != nil {
		t.Fatal(err)
	}
	var orphaned []string
	for _, it := range items {
		if it.Owner == "w3" {
			orphaned = append(orphaned, it.ShardID)
		}
	}
	ws["w3"].kill()
	killed := time.Now()
	takeover := waitFor(t, failover+10*time.Second, "w3's shards taken over", func() bool {
		per := owners()
		return per["w3"] == 0 && per["w1"]+per["w2"] == 8
	})
	// The dead worker's leases expire at most one failover time after the kill; then each
	// survivor takes one lease per shard sync (a library limit, quirk 4 in processor/kcl.go).
	if bound := failover + 4*time.Second; takeover > bound {
		t.Errorf("w3's %d shards taken over after %v; failover time %v, bound %v", len(orphaned), takeover, failover, bound)
	}
	_ = killed

	// w3 comes back: leases rebalance to it.
	wmu.Lock()
	ws["w3"] = s.start("w3", cfg)
	wmu.Unlock()
	back, before := time.Now(), s.ledger.Len()
	rebalance := waitFor(t, 60*time.Second, "leases rebalanced to the restarted w3", balanced)
	recover := s.caughtUp(before, back, 60*time.Second)

	tr.end(t)
	s.waitAccounted(60*time.Second, Options{})
	close(stopSampling)
	<-sampled
	stopAll(t, live()...)
	r, _ := s.audit(Options{})
	smu.Lock()
	defer smu.Unlock()
	for _, v := range violations {
		t.Error(v)
	}
	if maxHeld == 0 {
		t.Error("no worker ever reported a lease in meshgate_leases_held: the double-ownership check saw nothing")
	}
	for shard, d := range r.DuplicatesByShard {
		if bound := (changes[shard] + 2) * maxBatch; d > bound {
			t.Errorf("shard %s: %d duplicates after %d ownership changes (bound %d)", shard, d, changes[shard], bound)
		}
	}
	t.Logf("startup %v, takeover of %d shards %v, rebalance %v, ownership changes %v", startup, len(orphaned), takeover, rebalance, changes)
	s.finish(r, recover, fmt.Sprintf("3 workers/8 shards; kill -9: %d shards taken over in %v; rebalance %v",
		len(orphaned), takeover.Round(100*time.Millisecond), rebalance.Round(100*time.Millisecond)))
}

// TestResharding: two shards split and two merged while traffic flows, with two workers.
// Parents reach SHARD_END before their children start; per partition key, records keep their
// order on the curated stream across the split; nothing missing.
func TestResharding(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "resharding", 106, scenarioOptions{rawShards: 4, curatedShards: 2})
	cfg := s.config("")
	next := s.generator(0.05, 0)
	keys := spreadKeys(4)
	n := 0
	keyed := func() Message {
		m := next()
		key := keys[n%len(keys)]
		n++
		if m.PartitionKey != "" {
			m.Data = bytes.Replace(m.Data, []byte(`"customer_id":"`+m.PartitionKey+`"`), []byte(`"customer_id":"`+key+`"`), 1)
		}
		m.PartitionKey = key
		return m
	}
	s.ddb.Record("UpdateItem") // to see when each SHARD_END checkpoint was written
	tr := s.produce(6000, 10, 100*time.Millisecond, keyed)
	w1, w2 := s.start("w1", cfg), s.start("w2", cfg)
	time.Sleep(4 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kin := s.stack.Kinesis()
	shards := listShards(t, ctx, kin, s.raw)
	sort.Slice(shards, func(i, j int) bool { return aws.ToString(shards[i].ShardId) < aws.ToString(shards[j].ShardId) })
	for _, sh := range shards[:2] {
		_, err := kin.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String(s.raw), ShardToSplit: sh.ShardId,
			NewStartingHashKey: aws.String(midpoint(aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey)))})
		if err != nil {
			t.Fatalf("split %s: %v", aws.ToString(sh.ShardId), err)
		}
		waitActive(t, ctx, kin, s.raw)
		time.Sleep(time.Second)
	}
	if _, err := kin.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: aws.String(s.raw),
		ShardToMerge: shards[2].ShardId, AdjacentShardToMerge: shards[3].ShardId}); err != nil {
		t.Fatalf("merge: %v", err)
	}
	waitActive(t, ctx, kin, s.raw)
	resharded, before := time.Now(), s.ledger.Len()
	time.Sleep(4 * time.Second)
	tr.end(t)
	recover := s.caughtUp(before, resharded, 90*time.Second)
	s.waitAccounted(90*time.Second, Options{})
	stopAll(t, w1, w2)
	r, curated := s.audit(Options{})

	// Parents finished, children got traffic, children started after their parents ended.
	after := listShards(t, ctx, kin, s.raw)
	cps := s.checkpoints()
	finished := shardEndWrites(s.ddb.Recorded())
	started := map[string][]time.Time{}
	for _, w := range []*worker{w1, w2} {
		for _, l := range w.lines() {
			if l.Msg == "shard started" {
				started[l.Shard] = append(started[l.Shard], l.Time)
			}
		}
	}
	perShard := map[string]int{}
	for _, e := range s.ledger.Entries() {
		perShard[e.Shard]++
	}
	children := 0
	for _, sh := range after {
		id := aws.ToString(sh.ShardId)
		var parents []string
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if aws.ToString(p) != "" {
				parents = append(parents, aws.ToString(p))
			}
		}
		if len(parents) == 0 {
			continue
		}
		children++
		if perShard[id] == 0 {
			t.Errorf("child %s got no records: the reshard happened after the traffic", id)
		}
		for _, p := range parents {
			if cps[p] != checkpoint.ShardEnd {
				t.Errorf("parent %s of %s has checkpoint %q, want SHARD_END", p, id, cps[p])
			}
			for _, st := range started[id] {
				if f, ok := finished[p]; !ok || st.Before(f) {
					t.Errorf("child %s started at %s, before its parent %s's SHARD_END checkpoint was sent (%v)", id, st.Format(time.StampMilli), p, f.Format(time.StampMilli))
				}
			}
		}
	}
	if children != 5 {
		t.Errorf("%d child shards, want 5 (2 splits, 1 merge)", children)
	}
	shardsOf := map[string]map[string]bool{}
	for _, e := range s.ledger.Entries() {
		if shardsOf[e.PartitionKey] == nil {
			shardsOf[e.PartitionKey] = map[string]bool{}
		}
		shardsOf[e.PartitionKey][e.Shard] = true
	}
	across := 0
	for _, sh := range shardsOf {
		if len(sh) > 1 {
			across++
		}
	}
	if across < len(keys)/2 {
		t.Errorf("only %d of %d keys have records on both sides of a split or merge", across, len(keys))
	}
	if bad := CheckOrder(s.ledger.Entries(), curated, Options{}); len(bad) > 0 {
		t.Errorf("%d keys out of order on the curated stream:\n%s", len(bad), strings.Join(bad[:min(5, len(bad))], "\n"))
	}
	// Healthy sinks and no crash: duplicates only from batches abandoned when a lease moved
	// (lease stealing rebalances the children between the two workers).
	gaveUp := abandoned(w1, w2)
	for shard, d := range r.DuplicatesByShard {
		if d > gaveUp[shard] {
			t.Errorf("shard %s: %d duplicates, but only %d records were in batches abandoned on it", shard, d, gaveUp[shard])
		}
	}
	s.finish(r, recover, fmt.Sprintf("2 splits + 1 merge, 2 workers; %d keys across parent and child, in order; dups = abandoned batches", across))
}

// shardEndWrites returns, per shard, when the first successful UpdateItem writing its
// SHARD_END checkpoint was sent to DynamoDB (from the proxy's recorded exchanges). A child
// that reads SHARD_END in the table and then logs "shard started" does so after that.
func shardEndWrites(xs []Exchange) map[string]time.Time {
	out := map[string]time.Time{}
	for _, x := range xs {
		var req struct {
			Key                       map[string]map[string]any
			ExpressionAttributeValues map[string]map[string]any
		}
		if x.Status != 200 || json.Unmarshal(x.Request, &req) != nil {
			continue
		}
		cp, _ := req.ExpressionAttributeValues[":cp"]["S"].(string)
		shard, _ := req.Key["ShardID"]["S"].(string)
		if cp == checkpoint.ShardEnd && shard != "" {
			if _, seen := out[shard]; !seen {
				out[shard] = x.At
			}
		}
	}
	return out
}

// spreadKeys returns customer ids whose partition-key hashes (MD5, as Kinesis maps them)
// fall perNth into each eighth of the hash key space, so that every shard, parent or child,
// of the resharded stream carries several keys.
func spreadKeys(perNth int) []string {
	var keys []string
	count := make([]int, 8)
	for i := 0; len(keys) < 8*perNth; i++ {
		key := fmt.Sprintf("C%07d", 1000+i)
		sum := md5.Sum([]byte(key))
		eighth := sum[0] >> 5
		if count[eighth] < perNth {
			count[eighth]++
			keys = append(keys, key)
		}
	}
	return keys
}

func listShards(t *testing.T, ctx context.Context, kin *kinesis.Client, stream string) []ktypes.Shard {
	t.Helper()
	out, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Shards
}

func waitActive(t *testing.T, ctx context.Context, kin *kinesis.Client, stream string) {
	t.Helper()
	waitFor(t, 30*time.Second, stream+" ACTIVE", func() bool {
		out, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
	})
}

func midpoint(a, b string) string {
	x, _ := new(big.Int).SetString(a, 10)
	y, _ := new(big.Int).SetString(b, 10)
	return new(big.Int).Rsh(new(big.Int).Add(x, y), 1).String()
}

// runtimeContract has a rule whose expression fails at run time on some events.
const runtimeContract = `domain: things
version: 1.0.0
owner: reliability@example.com
description: A contract whose rule fails at run time on some events.
sources: [things-raw]
curated: things-curated
rules:
  - name: amount_positive
    check: detail.amount > 0
    message: detail.amount must be positive
enrich:
  - metadata: _meta
`

// TestContractRuntimeErrors: an expression that fails at run time (field of nil, string
// compared with a number) quarantines those events with the error text; the shard never
// stops: every checkpoint reaches its shard's last record.
func TestContractRuntimeErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "things.yaml"), []byte(runtimeContract), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newScenario(t, "contract-errors", 107, scenarioOptions{rawShards: 2, contracts: dir, raw: "things-raw", curated: "things-curated"})
	cfg := s.config("")
	w := s.start("w1", cfg)
	wantErr := map[string]string{
		"nil_detail":   "cannot fetch amount from nil",
		"no_detail":    "cannot fetch amount from nil",
		"string_value": "invalid operation: string > int",
	}
	n := 0
	next := func() Message {
		n++
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		key := fmt.Sprintf("k%d", n%17)
		switch n % 10 {
		case 3:
			return Message{Data: fmt.Appendf(nil, `{"event_id":%q,"detail":null}`, id), PartitionKey: key, Kind: "nil_detail", Expect: gen.OutcomeQuarantined}
		case 6:
			return Message{Data: fmt.Appendf(nil, `{"event_id":%q}`, id), PartitionKey: key, Kind: "no_detail", Expect: gen.OutcomeQuarantined}
		case 9:
			return Message{Data: fmt.Appendf(nil, `{"event_id":%q,"detail":{"amount":"two"}}`, id), PartitionKey: key, Kind: "string_value", Expect: gen.OutcomeQuarantined}
		}
		return Message{Data: fmt.Appendf(nil, `{"event_id":%q,"detail":{"amount":%d}}`, id, n), PartitionKey: key, Kind: "good", Expect: gen.OutcomePassed}
	}
	tr := s.produce(1000, 20, 100*time.Millisecond, next)
	tr.wait(t)
	r, took := s.waitAccounted(60*time.Second, Options{})

	// The shards never stopped: each checkpoint reaches the shard's last record.
	last := map[string]string{}
	for _, e := range s.ledger.Entries() {
		if cur, ok := last[e.Shard]; !ok || seqLE(cur, e.SequenceNumber) {
			last[e.Shard] = e.SequenceNumber
		}
	}
	waitFor(t, 30*time.Second, "checkpoints at the end of every shard", func() bool {
		cps := s.checkpoints()
		for shard, seq := range last {
			if !seqLE(seq, cps[shard]) {
				return false
			}
		}
		return true
	})
	if !w.running() {
		t.Fatalf("the worker exited:\n%s", w.tail(20))
	}
	stopAll(t, w)
	r, _ = s.audit(Options{})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, quar, _, err := Read(ctx, s.stack.Kinesis(), s.stack.S3(), s.curated, bucket, qprefix)
	if err != nil {
		t.Fatal(err)
	}
	kind := map[string]string{}
	for _, e := range s.ledger.Entries() {
		kind[e.Shard+"/"+e.SequenceNumber] = e.Kind
	}
	checked := 0
	for _, q := range quar {
		k := kind[q.Shard+"/"+q.SequenceNumber]
		want, ok := wantErr[k]
		if !ok {
			continue
		}
		checked++
		if q.Reason != quarantine.ReasonRules || len(q.Failures) != 1 || q.Failures[0].Rule != "amount_positive" || q.Failures[0].Error != want {
			t.Errorf("%s record quarantined as %s %+v, want rule amount_positive with error %q", k, q.Reason, q.Failures, want)
		}
	}
	if checked != 300 {
		t.Errorf("%d runtime-error records checked in quarantine, want 300", checked)
	}
	s.finish(r, 0, fmt.Sprintf("%d runtime errors quarantined with the error text; drained in %v", checked, took.Round(100*time.Millisecond)))
}

// TestDependencyOutageAtStart: DynamoDB (then Kinesis) unreachable when the worker starts.
// It says why, retries with backoff, stays alive with /readyz failing, and starts working
// once the dependency appears.
func TestDependencyOutageAtStart(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{"dynamodb", "kinesis"} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, "outage-at-start-"+dep, 108, scenarioOptions{rawShards: 2})
			proxy := map[string]*Proxy{"dynamodb": s.ddb, "kinesis": s.kin}[dep]
			if err := proxy.Set(Faults{Outage: Refused}); err != nil {
				t.Fatal(err)
			}
			cfg := s.config("")
			tr := s.produce(3000, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
			w := s.start("w1", cfg)
			down := 8 * time.Second
			deadline := time.Now().Add(down)
			for time.Now().Before(deadline) {
				if !w.running() {
					t.Fatalf("the worker exited while %s was unreachable (exit %d):\n%s", dep, w.state.ExitCode(), w.tail(20))
				}
				if w.ready() {
					t.Fatalf("/readyz is 200 while %s is unreachable", dep)
				}
				time.Sleep(250 * time.Millisecond)
			}
			var retries []logLine
			for _, l := range w.lines() {
				if l.Msg == "stream not started; retrying" {
					retries = append(retries, l)
				}
			}
			if len(retries) < 2 || len(retries) > 12 {
				t.Errorf("%d start attempts in %v; want a few, spaced by a backoff", len(retries), down)
			}
			for _, l := range retries {
				if !strings.Contains(l.Error, "connection refused") {
					t.Errorf("retry log does not say what failed: %+v", l)
					break
				}
			}
			if len(retries) > 0 {
				t.Logf("first start error: %s", retries[0].Error)
			}
			if err := proxy.Clear(); err != nil {
				t.Fatal(err)
			}
			back, before := time.Now(), s.ledger.Len()
			readyAfter := waitFor(t, 45*time.Second, "/readyz after "+dep+" came back", w.ready)
			recover := s.caughtUp(before, back, 90*time.Second)
			tr.end(t)
			s.waitAccounted(60*time.Second, Options{})
			stopAll(t, w)
			r, _ := s.audit(Options{})
			s.finish(r, recover, fmt.Sprintf("%s refused %v at start: %d retries, ready %v after it came back", dep, down, len(retries), readyAfter.Round(100*time.Millisecond)))
		})
	}
}

// TestDependencyOutageMidRun: DynamoDB (then Kinesis) unreachable for twice the failover
// time while the worker runs and traffic flows. Leases cannot be renewed and lapse, reads or
// checkpoints fail; the worker must stay up, never checkpoint ahead of the sinks, and take
// its shards back and catch up once the dependency returns.
func TestDependencyOutageMidRun(t *testing.T) {
	t.Parallel()
	for _, dep := range []string{"dynamodb", "kinesis"} {
		t.Run(dep, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t, "outage-mid-run-"+dep, 109, scenarioOptions{rawShards: 2})
			proxy := map[string]*Proxy{"dynamodb": s.ddb, "kinesis": s.kin}[dep]
			cfg := s.config("")
			tr := s.produce(6000, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
			w := s.start("w1", cfg)
			waitFor(t, 60*time.Second, "both shards consumed", func() bool { return w.shardsStarted() == 2 })
			time.Sleep(2 * time.Second)
			cpDown := s.checkpoints()
			if err := proxy.Set(Faults{Outage: Refused}); err != nil {
				t.Fatal(err)
			}
			down := 2 * failover
			deadline := time.Now().Add(down)
			for time.Now().Before(deadline) {
				if !w.running() {
					t.Fatalf("the worker exited while %s was unreachable (exit %d):\n%s", dep, w.state.ExitCode(), w.tail(20))
				}
				time.Sleep(250 * time.Millisecond)
			}
			if err := proxy.Clear(); err != nil {
				t.Fatal(err)
			}
			back, before := time.Now(), s.ledger.Len()
			if bad, _ := s.checkpointsHold(); len(bad) > 0 {
				t.Fatalf("after the %s outage, checkpoints are ahead of the sinks:\n%s", dep, strings.Join(bad, "\n"))
			}
			recover := s.caughtUp(before, back, 90*time.Second)
			tr.end(t)
			s.waitAccounted(60*time.Second, Options{})
			if !w.running() {
				t.Fatalf("the worker exited:\n%s", w.tail(20))
			}
			stopAll(t, w)
			r, _ := s.audit(Options{})
			// Duplicates are records whose checkpoint could not be written: after the last
			// checkpoint before the outage, and put before it ended. (With DynamoDB down the
			// worker keeps processing while its checkpoints fail, until its leases lapse; the
			// next owner — itself — reads those records again.)
			for _, e := range r.Duplicated {
				if cp := cpDown[e.Shard]; e.Index >= before || (cp != "" && seqLE(e.SequenceNumber, cp)) {
					t.Errorf("%s duplicated, but it was checkpointed before the outage (%s) or put after it (put #%d, %d before the end)", e, cp, e.Index, before)
				}
			}
			lost := 0
			for _, l := range w.lines() {
				if l.Msg == "lease lost" {
					lost++
				}
			}
			s.finish(r, recover, fmt.Sprintf("%s refused %v mid-run; %d leases lost, worker stayed up", dep, down, lost))
		})
	}
}

// TestSlowShardListing: ListShards answers slower than the failover time (a throttled or
// overloaded Kinesis control plane; every shard start lists the stream's shards to find its
// parents). Shards must still start and every record be routed.
func TestSlowShardListing(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "slow-list-shards", 110, scenarioOptions{rawShards: 2})
	if err := s.kin.Set(Faults{Ops: []string{"ListShards"}, Latency: failover + failover/2}); err != nil {
		t.Fatal(err)
	}
	cfg := s.config("")
	tr := s.produce(600, 10, 100*time.Millisecond, s.generator(0.1, 0.02))
	w := s.start("w1", cfg)
	tr.wait(t)
	r, took := s.waitAccounted(90*time.Second, Options{})
	stopAll(t, w)
	r, _ = s.audit(Options{})
	lost := 0
	for _, l := range w.lines() {
		if l.Msg == "lease lost" || l.Msg == "not starting shard" {
			lost++
		}
	}
	s.finish(r, 0, fmt.Sprintf("ListShards %v slower than usual (failover %v); drained in %v; %d lease losses/aborted starts",
		failover+failover/2, failover, took.Round(100*time.Millisecond), lost))
}

// TestStopWithinGrace: the whole process exit (worker drain and checkpoints, shadow flush,
// admin server) fits in shutdownGrace from SIGTERM, which is what orchestrators enforce with
// SIGKILL. A short grace (3 s) and an S3 that never answers a PutObject make the deadline
// bite: batches are abandoned, the exit code is still 0, the exit comes no later than the
// grace plus a scheduling allowance, /readyz fails from the signal on, and no checkpoint
// covers a record the sinks did not accept. A restart with S3 back routes everything.
func TestStopWithinGrace(t *testing.T) {
	t.Parallel()
	// The worker aims to be gone by 2.85 s (planStop keeps the last quarter of its reserve for
	// the exit itself); the allowance covers signal delivery and this test's own polling on a
	// loaded 2-core CI machine, while the old unbounded stop (12 s here) still fails.
	const shortGrace, allowance = 3 * time.Second, time.Second
	s := newScenario(t, "stop-within-grace", 113, scenarioOptions{rawShards: 2, contracts: contractsWithShadowOrders(t)})
	cfg := s.config("")
	tr := s.produce(3000, 10, 100*time.Millisecond, s.generator(0.3, 0.02))
	w := s.start("w1", cfg, "MESHGATE_SHUTDOWN_GRACE=3s")
	waitFor(t, 60*time.Second, "both shards consumed", func() bool { return w.shardsStarted() == 2 })
	waitFor(t, 20*time.Second, "the worker ready", w.ready)
	if err := s.s3.Set(Faults{Ops: []string{"PutObject"}, Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // batches with bad records now hang in PutObject

	readyz := "http://" + w.adminAddr() + "/readyz"
	began := time.Now()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	notReady := time.Duration(-1)
	for notReady < 0 && time.Since(began) < shortGrace && w.running() {
		if resp, err := httpClient.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				notReady = time.Since(began)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-w.done:
	case <-time.After(shortGrace + 10*time.Second):
		t.Fatalf("no exit %v after SIGTERM (grace %v)\n%s", shortGrace+10*time.Second, shortGrace, w.tail(20))
	}
	took := time.Since(began)
	if code := w.state.ExitCode(); code != 0 || took > shortGrace+allowance {
		t.Fatalf("SIGTERM with PutObject hanging: exit code %d after %v; want 0 within %v + %v\n%s", code, took, shortGrace, allowance, w.tail(20))
	}
	if notReady < 0 || notReady > allowance {
		t.Errorf("/readyz answered 503 only %v after SIGTERM; want it failing from the start of the stop", notReady)
	}
	gaveUp := abandoned(w)
	n := 0
	for _, v := range gaveUp {
		n += v
	}
	if n == 0 {
		t.Fatalf("no batch was abandoned at the deadline: the sink was not blocked, the test proves nothing\n%s", w.tail(20))
	}
	// The shadow samples pending at the stop could not be written either: their flush was cut
	// at its own deadline instead of holding the exit.
	dropped := false
	for _, l := range w.lines() {
		dropped = dropped || l.Msg == "shadow samples not written; dropped"
	}
	if !dropped {
		t.Errorf("no shadow flush was cut short: the test does not cover the shadow part of the stop\n%s", w.tail(20))
	}
	if bad, _ := s.checkpointsHold(); len(bad) > 0 {
		t.Fatalf("checkpoints ahead of the sinks after the stop:\n%s", strings.Join(bad, "\n"))
	}
	if err := s.s3.Clear(); err != nil {
		t.Fatal(err)
	}
	w = s.start("w1", cfg)
	back, before := time.Now(), s.ledger.Len()
	recover := s.caughtUp(before, back, 90*time.Second)
	tr.end(t)
	s.waitAccounted(60*time.Second, Options{})
	stopAll(t, w)
	r, _ := s.audit(Options{})
	s.finish(r, recover, fmt.Sprintf("SIGTERM, grace 3s, PutObject hanging: exit 0 in %v, /readyz 503 after %v, %d records abandoned",
		took.Round(10*time.Millisecond), notReady.Round(time.Millisecond), n))
}

// contractsWithShadowOrders copies examples/contracts and adds a shadow orders contract that
// also refuses totals of 50 or more, so that most orders diverge and shadow samples pile up.
func contractsWithShadowOrders(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "contracts")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(root, "examples", "contracts"))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, edit := range [][2]string{
		{"\nversion: 2.1.0\n", "\nversion: 2.2.0-rc1\n"},
		{"\nstage: active\n", "\nstage: shadow\n"},
		{"\nrules:\n", "\nrules:\n  - name: small_totals_only\n    check: total < 50\n    message: candidate rule\n"},
	} {
		if !strings.Contains(text, edit[0]) {
			t.Fatalf("examples/contracts/orders.yaml changed (%q not found): update contractsWithShadowOrders", edit[0])
		}
		text = strings.Replace(text, edit[0], edit[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dst, "orders-shadow.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestStopDuringSinkOutage: SIGTERM while S3 is down and batches are stuck retrying. The
// worker gives up the unacknowledged batches at the grace deadline without checkpointing
// them, exits 0 within the grace period, and a restart with S3 back routes everything.
func TestStopDuringSinkOutage(t *testing.T) {
	t.Parallel()
	s := newScenario(t, "stop-during-outage", 111, scenarioOptions{rawShards: 2})
	cfg := s.config("")
	tr := s.produce(4000, 10, 100*time.Millisecond, s.generator(0.12, 0.02))
	w := s.start("w1", cfg)
	waitFor(t, 60*time.Second, "both shards consumed", func() bool { return w.shardsStarted() == 2 })
	time.Sleep(time.Second)
	if err := s.s3.Set(Faults{Outage: Refused}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	code, took := w.term(grace + 5*time.Second)
	if code != 0 || took > grace+time.Second {
		t.Fatalf("SIGTERM during the S3 outage: exit code %d after %v (grace %v)\n%s", code, took, grace, w.tail(20))
	}
	if bad, _ := s.checkpointsHold(); len(bad) > 0 {
		t.Fatalf("checkpoints ahead of the sinks after the stop:\n%s", strings.Join(bad, "\n"))
	}
	gaveUp := abandoned(w)
	if err := s.s3.Clear(); err != nil {
		t.Fatal(err)
	}
	w = s.start("w1", cfg)
	back, before := time.Now(), s.ledger.Len()
	recover := s.caughtUp(before, back, 90*time.Second)
	tr.end(t)
	s.waitAccounted(60*time.Second, Options{})
	stopAll(t, w)
	r, _ := s.audit(Options{})
	n := 0
	for _, v := range gaveUp {
		n += v
	}
	s.finish(r, recover, fmt.Sprintf("SIGTERM with S3 down: exit 0 in %v, %d records in abandoned batches", took.Round(100*time.Millisecond), n))
}
