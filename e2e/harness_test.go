// Package e2e holds the end-to-end tests: the real meshgate binary (testenv.BuildMeshgate)
// against the local emulators (testenv.Start), with the example contracts and generated
// traffic. Each test starts its own emulators on free ports.
package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/awslabs/kinesis-aggregation/go/v2/records"
	"github.com/golang/protobuf/proto"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/producer"
	"github.com/meshgate/meshgate/quarantine"
)

const bucket = "meshgate-quarantine"

// env is one test's emulators, binary and example contracts.
type env struct {
	t         *testing.T
	stack     *testenv.Stack
	bin       string
	contracts string
	dir       string
}

func newEnv(t *testing.T, streams map[string]int32) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	stack := testenv.Start(t)
	bin := testenv.BuildMeshgate(t)
	var wg sync.WaitGroup
	for name, shards := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stack.CreateStream(t, name, shards)
		}()
	}
	wg.Wait()
	stack.CreateBucket(t, bucket)
	return &env{t: t, stack: stack, bin: bin, contracts: filepath.Join(root, "examples", "contracts"), dir: t.TempDir()}
}

// workerConfig writes a worker configuration and returns its path. A stream written
// "name=table" gets leaseTable: table.
func (e *env) workerConfig(name, application string, streams []string, extra string) string {
	e.t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "application: %s\ncontracts: %s\nstreams:\n", application, e.contracts)
	for _, s := range streams {
		name, table, pinned := strings.Cut(s, "=")
		fmt.Fprintf(&sb, "  - name: %s\n", name)
		if pinned {
			fmt.Fprintf(&sb, "    leaseTable: %s\n", table)
		}
	}
	fmt.Fprintf(&sb, `quarantine: {bucket: %s, prefix: quarantine}
kcl:
  initialPosition: TRIM_HORIZON
  idleTimeBetweenReads: 200ms
  shardSyncInterval: 500ms
  failoverTime: 3s
http: {listen: ""}
log: {level: debug}
shutdownGrace: 10s
%s`, bucket, extra)
	path := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// proc is a running meshgate process.
type proc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	state   *os.ProcessState
}

// startWorker runs `meshgate run --config cfg` as worker id.
func (e *env) startWorker(id, cfg string, extraEnv ...string) *proc {
	e.t.Helper()
	logPath := filepath.Join(e.dir, fmt.Sprintf("%s-%d.log", id, time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(e.bin, "run", "--config", cfg)
	cmd.Env = append(append(os.Environ(), e.stack.Endpoints().Environ()...),
		append([]string{"MESHGATE_WORKER_ID=" + id, "MESHGATE_HASH_SALT=e2e-salt"}, extraEnv...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &proc{t: e.t, name: id, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		logFile.Close()
		close(p.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if e.t.Failed() {
			data, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			e.t.Logf("log of %s (last lines):\n%s", id, strings.Join(lines, "\n"))
		}
	})
	return p
}

// signal sends sig and waits for the process to exit; it returns the exit code and the time
// the exit took.
func (p *proc) signal(sig syscall.Signal, timeout time.Duration) (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v of %v", p.name, timeout, sig)
	}
	return p.state.ExitCode(), time.Since(began)
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// events generates n records of domain with the gen Go API.
func events(t *testing.T, domain string, n int, bad, hostile float64, seed uint64) []gen.Record {
	t.Helper()
	g, err := gen.New(gen.Config{Domain: domain, Seed: seed, BadFraction: bad, HostileFraction: hostile, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]gen.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// sent is one record that entered a raw stream.
type sent struct {
	rec   gen.Record
	shard string
	seq   string
	sub   int64 // position inside a KPL aggregate
}

// put sends recs to stream and returns those Kinesis accepted (records over 1 MiB cannot
// enter Kinesis and are left out).
func (e *env) put(stream string, recs []gen.Record) []sent {
	e.t.Helper()
	entries := make([]producer.Entry, len(recs))
	for i, r := range recs {
		entries[i] = producer.Entry{Data: r.Data, PartitionKey: r.PartitionKey}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := producer.Put(ctx, e.stack.Kinesis(), stream, entries)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []sent
	for i, r := range res {
		if r.Err != nil {
			if recs[i].Kind != "too_large" {
				e.t.Fatalf("record %d (%s) not sent: %v", i, recs[i].Kind, r.Err)
			}
			continue
		}
		out = append(out, sent{rec: recs[i], shard: r.Shard, seq: r.SequenceNumber})
	}
	return out
}

// kplAggregate packs user records into one KPL aggregated record (magic, protobuf
// AggregatedRecord of github.com/awslabs/kinesis-aggregation, MD5), as the KPL does.
func kplAggregate(t *testing.T, recs []gen.Record) []byte {
	t.Helper()
	agg := &records.AggregatedRecord{}
	index := map[string]uint64{}
	for _, r := range recs {
		idx, ok := index[r.PartitionKey]
		if !ok {
			idx = uint64(len(agg.PartitionKeyTable))
			index[r.PartitionKey] = idx
			agg.PartitionKeyTable = append(agg.PartitionKeyTable, r.PartitionKey)
		}
		agg.Records = append(agg.Records, &records.Record{PartitionKeyIndex: proto.Uint64(idx), Data: r.Data})
	}
	body, err := proto.Marshal(agg)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	return append(append([]byte{0xF3, 0x89, 0x9A, 0xC2}, body...), sum[:]...)
}

// output is what the worker produced, read back from the curated streams and the bucket.
type output struct {
	curated     map[string][]map[string]any // per curated stream, decoded
	quarantined []quarantine.Record
	objects     []string
}

func (e *env) output(curatedStreams ...string) output {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := output{curated: map[string][]map[string]any{}}
	for _, s := range curatedStreams {
		recs, err := audit.ReadStream(ctx, e.stack.Kinesis(), s)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range recs {
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				e.t.Fatalf("curated record on %s is not JSON: %q", s, r.Data)
			}
			out.curated[s] = append(out.curated[s], m)
		}
	}
	objs, err := audit.ReadQuarantine(ctx, e.stack.S3(), bucket, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range objs {
		out.objects = append(out.objects, o.Key)
		out.quarantined = append(out.quarantined, o.Records...)
	}
	return out
}

func (o output) total() int {
	n := len(o.quarantined)
	for _, recs := range o.curated {
		n += len(recs)
	}
	return n
}

// waitOutput reads the output until it holds at least n records.
func (e *env) waitOutput(n int, timeout time.Duration, streams ...string) output {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o := e.output(streams...)
		if o.total() >= n {
			return o
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %v: %d of %d records routed", timeout, o.total(), n)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// ledgerCheck accounts for every sent record: each must be on a curated stream (matched by
// event_id) or in quarantine (matched by sequence and sub-sequence number), never in both.
// It returns how many records were seen more than once (and how many extra copies).
func ledgerCheck(t *testing.T, sents []sent, o output) (dupRecords, extraCopies int) {
	t.Helper()
	type key struct { // sequence numbers are unique per shard only
		stream, shard, seq string
		sub                int64
	}
	curatedByID := map[string]int{}
	for _, recs := range o.curated {
		for _, m := range recs {
			curatedByID[fmt.Sprint(m["event_id"])]++
		}
	}
	quarantinedBySeq := map[key]int{}
	for _, q := range o.quarantined {
		quarantinedBySeq[key{q.Stream, q.Shard, q.SequenceNumber, q.SubSequence}]++
	}
	missing := 0
	for _, s := range sents {
		q := quarantinedBySeq[key{s.rec.Stream, s.shard, s.seq, s.sub}]
		c := 0
		if s.rec.Outcome != gen.OutcomeQuarantined {
			var ev struct {
				EventID string `json:"event_id"`
			}
			json.Unmarshal(s.rec.Data, &ev)
			c = curatedByID[ev.EventID]
		}
		switch {
		case q+c == 0:
			missing++
			if missing <= 5 {
				t.Errorf("lost: %s record (%s) at %s/%s", s.rec.Kind, s.rec.Outcome, s.shard, s.seq)
			}
		case q > 0 && c > 0:
			t.Errorf("record at %s/%s is both curated and quarantined", s.shard, s.seq)
		case q+c > 1:
			dupRecords++
			extraCopies += q + c - 1
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d records missing", missing, len(sents))
	}
	return dupRecords, extraCopies
}

// leaseOwners reads the lease table: shard -> owner ("" when free), finished shards left out.
func (e *env) leaseOwners(table string) map[string]string {
	e.t.Helper()
	s, err := checkpoint.New(e.stack.DynamoDB(), checkpoint.Options{Table: table, WorkerID: "e2e-observer"})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items, err := s.Items(ctx)
	if err != nil {
		return nil // table not there yet
	}
	out := map[string]string{}
	for _, it := range items {
		if it.Checkpoint == checkpoint.ShardEnd {
			continue
		}
		if it.Owner != "" && time.Now().After(it.LeaseTimeout) {
			out[it.ShardID] = "" // expired
			continue
		}
		out[it.ShardID] = it.Owner
	}
	return out
}

func count(owners map[string]string, who string) int {
	n := 0
	for _, o := range owners {
		if o == who {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(began)
}

func mustJSON(v any) string {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(v)
	return strings.TrimSpace(b.String())
}
