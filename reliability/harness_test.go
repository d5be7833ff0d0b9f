package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/meshgate/meshgate/checkpoint"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
)

// The scenarios' common settings. Traffic is sized so the whole suite stays within a few
// minutes on two cores.
const (
	bucket    = "meshgate-quarantine"
	qprefix   = "quarantine"
	maxBatch  = 50               // kcl.maxRecords: the unit of the duplicate bound
	failover  = 4 * time.Second  // kcl.failoverTime
	grace     = 10 * time.Second // shutdownGrace
	syncEvery = 500 * time.Millisecond
)

// rows collects the report lines; TestMain prints them.
var rows Rows

func TestMain(m *testing.M) {
	code := m.Run()
	if rs := rows.Sorted(); len(rs) > 0 {
		table := Table(rs)
		fmt.Printf("\nreliability report\n\n%s\n", table)
		if path := os.Getenv("MESHGATE_RELIABILITY_REPORT"); path != "" {
			if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
				fmt.Fprintf(os.Stderr, "write %s: %v\n", path, err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// scenario is one test's emulators, fault proxies in front of them (the worker's
// endpoints), ledger and workers.
type scenario struct {
	t         *testing.T
	name      string
	stack     *testenv.Stack
	bin       string
	dir       string
	contracts string
	raw       string // source stream
	curated   string // curated stream
	app       string // application name = lease table
	kin, ddb  *Proxy
	s3        *Proxy
	ledger    *Ledger
	rnd       *rand.Rand
	seed      uint64
}

type scenarioOptions struct {
	rawShards     int32
	curatedShards int32
	contracts     string // contracts directory; default examples/contracts
	raw, curated  string // default orders-raw, orders-curated
}

func newScenario(t *testing.T, name string, seed uint64, o scenarioOptions) *scenario {
	t.Helper()
	// The scenarios run in `make reliability` (and so in `make test` and CI), all at once
	// with -parallel; a plain `go test ./...` would run them two at a time, so it skips them.
	if os.Getenv("MESHGATE_RELIABILITY") == "" {
		t.Skip("reliability scenario: run by `make reliability` (MESHGATE_RELIABILITY=1)")
	}
	if testing.Short() {
		t.Skip("reliability scenario (runs the worker binary against the emulators)")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if o.contracts == "" {
		o.contracts = filepath.Join(root, "examples", "contracts")
	}
	if o.raw == "" {
		o.raw, o.curated = "orders-raw", "orders-curated"
	}
	if o.curatedShards == 0 {
		o.curatedShards = 2
	}
	st := testenv.Start(t)
	bin := testenv.BuildMeshgate(t)
	var wg sync.WaitGroup
	for _, s := range []struct {
		name   string
		shards int32
	}{{o.raw, o.rawShards}, {o.curated, o.curatedShards}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.CreateStream(t, s.name, s.shards)
		}()
	}
	wg.Wait()
	st.CreateBucket(t, bucket)
	s := &scenario{
		t: t, name: name, stack: st, bin: bin, dir: t.TempDir(), contracts: o.contracts,
		raw: o.raw, curated: o.curated, app: "rel-" + name, ledger: &Ledger{},
		rnd: rand.New(rand.NewPCG(seed, 0x7363656e)), seed: seed,
	}
	ep := st.Endpoints()
	s.kin = s.proxy(ep.Kinesis, seed+1)
	s.ddb = s.proxy(ep.DynamoDB, seed+2)
	s.s3 = s.proxy(ep.S3, seed+3)
	return s
}

func (s *scenario) proxy(target string, seed uint64) *Proxy {
	p, err := NewProxy(target, seed)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { p.Close() })
	return p
}

// config writes the worker configuration (extra is appended YAML) and returns its path.
func (s *scenario) config(extra string) string {
	s.t.Helper()
	cfg := fmt.Sprintf(`application: %s
contracts: %s
streams:
  - name: %s
quarantine: {bucket: %s, prefix: %s}
kcl:
  initialPosition: TRIM_HORIZON
  maxRecords: %d
  idleTimeBetweenReads: 200ms
  shardSyncInterval: %s
  failoverTime: %s
  leaseStealing: true
http: {listen: "127.0.0.1:0"}
log: {level: info}
shutdownGrace: %s
%s`, s.app, s.contracts, s.raw, bucket, qprefix, maxBatch, syncEvery, failover, grace, extra)
	path := filepath.Join(s.dir, "worker.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// ---- workers ----------------------------------------------------------------------------

// worker is one running `meshgate run` process.
type worker struct {
	s       *scenario
	id      string
	cmd     *exec.Cmd
	logPath string
	started time.Time
	done    chan struct{}
	state   *os.ProcessState

	adminOnce sync.Once
	admin     string
}

// start runs `meshgate run --config cfg` as worker id, with the proxies as its endpoints.
func (s *scenario) start(id, cfg string, env ...string) *worker {
	s.t.Helper()
	logPath := filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", id, time.Now().UnixNano()))
	f, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "run", "--config", cfg)
	eps := testenv.Endpoints{Kinesis: s.kin.URL(), DynamoDB: s.ddb.URL(), S3: s.s3.URL()}
	cmd.Env = append(eps.Environ(), append([]string{"MESHGATE_WORKER_ID=" + id, "MESHGATE_HASH_SALT=reliability"}, env...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	w := &worker{s: s, id: id, cmd: cmd, logPath: logPath, started: time.Now(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		w.state = cmd.ProcessState
		f.Close()
		close(w.done)
	}()
	s.t.Cleanup(func() {
		if w.running() {
			_ = cmd.Process.Kill()
			<-w.done
		}
		if s.t.Failed() {
			s.t.Logf("log of %s (last lines):\n%s", id, w.tail(30))
		}
	})
	return w
}

func (w *worker) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *worker) kill() {
	w.s.t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.s.t.Fatalf("%s survived SIGKILL for 10s", w.id)
	}
}

// term sends SIGTERM and waits up to timeout; it returns the exit code and how long the
// exit took (-1 and timeout when it did not exit).
func (w *worker) term(timeout time.Duration) (int, time.Duration) {
	began := time.Now()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		return w.state.ExitCode(), time.Since(began)
	case <-time.After(timeout):
		return -1, timeout
	}
}

func (w *worker) log() string {
	data, _ := os.ReadFile(w.logPath)
	return string(data)
}

func (w *worker) tail(n int) string {
	lines := strings.Split(strings.TrimSpace(w.log()), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logLine is one JSON log line of the worker.
type logLine struct {
	Time    time.Time     `json:"time"`
	Level   string        `json:"level"`
	Msg     string        `json:"msg"`
	Shard   string        `json:"shard"`
	Addr    string        `json:"addr"`
	Error   string        `json:"error"`
	Attempt int           `json:"attempt"`
	Wait    time.Duration `json:"wait"`
	Parents []string      `json:"parents"`
	Reason  string        `json:"reason"`
	Records int           `json:"records"`
}

func (w *worker) lines() []logLine {
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(w.log()))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg != "" {
			out = append(out, l)
		}
	}
	return out
}

// adminAddr returns the admin server's address, from its "admin server listening" line.
func (w *worker) adminAddr() string {
	w.s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for w.admin == "" {
		for _, l := range w.lines() {
			if l.Msg == "admin server listening" {
				w.admin = l.Addr
			}
		}
		if w.admin != "" {
			break
		}
		if time.Now().After(deadline) || !w.running() {
			w.s.t.Fatalf("%s: no admin address in its log:\n%s", w.id, w.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w.admin
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

// ready reports whether /readyz answers 200.
func (w *worker) ready() bool {
	resp, err := httpClient.Get("http://" + w.adminAddr() + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

var leasesHeldRE = regexp.MustCompile(`(?m)^meshgate_leases_held\{[^}]*\} ([0-9.e+]+)$`)

// leasesHeld is the worker's own count of the leases it holds (meshgate_leases_held);
// -1 when the metrics cannot be read.
func (w *worker) leasesHeld() int {
	resp, err := httpClient.Get("http://" + w.adminAddr() + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n := 0
	for _, m := range leasesHeldRE.FindAllSubmatch(body, -1) {
		f, _ := strconv.ParseFloat(string(m[1]), 64)
		n += int(f)
	}
	return n
}

// ---- traffic ----------------------------------------------------------------------------

// traffic is a producer putting records in the background at a steady pace.
type traffic struct {
	stop chan struct{}
	done chan struct{}
	err  error
	sent int
	// refused counts records Kinesis cannot carry (over 1 MiB): never put, never owed.
	refused int
}

// generator returns the scenario's gen source: orders, with bad and hostile records.
func (s *scenario) generator(bad, hostile float64) func() Message {
	g, err := gen.New(gen.Config{Domain: gen.DomainOrders, Seed: s.seed, BadFraction: bad, HostileFraction: hostile, Now: time.Now()})
	if err != nil {
		s.t.Fatal(err)
	}
	return func() Message { return FromGen(g.Next()) }
}

// produce puts n records from next, chunk records every interval, until n are put or
// stopTraffic is called.
func (s *scenario) produce(n, chunk int, every time.Duration, next func() Message) *traffic {
	tr := &traffic{stop: make(chan struct{}), done: make(chan struct{})}
	p := NewProducer(s.stack.Kinesis(), s.raw, s.ledger)
	go func() {
		defer close(tr.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for tr.sent < n {
			msgs := make([]Message, 0, chunk)
			for len(msgs) < chunk && tr.sent+len(msgs) < n {
				msgs = append(msgs, next())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := p.Put(ctx, msgs)
			cancel()
			if err != nil {
				tr.err = err
				return
			}
			tr.sent += len(msgs)
			tr.refused = p.Refused
			select {
			case <-tr.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return tr
}

// end stops the producer and waits for it.
func (tr *traffic) end(t *testing.T) {
	t.Helper()
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wait(t)
}

// wait waits for the producer to finish and fails the test if it failed.
func (tr *traffic) wait(t *testing.T) {
	t.Helper()
	<-tr.done
	if tr.err != nil {
		t.Fatalf("producer: %v", tr.err)
	}
}

// ---- auditing -----------------------------------------------------------------------------

// audit reads the curated stream and the bucket (from the emulators, not through the
// proxies) and audits the ledger against them.
func (s *scenario) audit(opts Options) (*Report, []Curated) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	curated, quar, objects, err := Read(ctx, s.stack.Kinesis(), s.stack.S3(), s.curated, bucket, qprefix)
	if err != nil {
		s.t.Fatalf("read the worker's output: %v", err)
	}
	r := Audit(s.ledger.Entries(), curated, quar, opts)
	r.Objects = objects
	return r, curated
}

// waitAccounted audits until nothing is missing (or timeout) and returns the last report and
// how long it took.
func (s *scenario) waitAccounted(timeout time.Duration, opts Options) (*Report, time.Duration) {
	s.t.Helper()
	began := time.Now()
	for {
		r, _ := s.audit(opts)
		if len(r.Missing) == 0 {
			return r, time.Since(began)
		}
		if time.Since(began) > timeout {
			s.t.Fatalf("after %v: %s\n%s", timeout, r.Summary(), strings.Join(r.Problems(5), "\n"))
		}
		time.Sleep(time.Second)
	}
}

// caughtUp waits until every record put before the ledger reached n entries is behind a
// checkpoint (a checkpoint lies only past records both sinks acknowledged — checked by
// checkpointsHold and the final audit), and returns the time since from (the end of a
// disturbance): the time to recover. It polls the lease table, which is cheap, so the time is
// not inflated by full audits. Traffic may go on meanwhile.
func (s *scenario) caughtUp(n int, from time.Time, timeout time.Duration) time.Duration {
	s.t.Helper()
	last := map[string]string{} // shard -> highest sequence number put before n
	for _, e := range s.ledger.Entries()[:n] {
		if cur, ok := last[e.Shard]; !ok || seqLE(cur, e.SequenceNumber) {
			last[e.Shard] = e.SequenceNumber
		}
	}
	for {
		at := time.Now()
		items, err := s.leases()
		behind := 0
		if err != nil {
			behind = len(last)
		} else {
			cps := map[string]string{}
			for _, it := range items {
				cps[it.ShardID] = it.Checkpoint
			}
			for shard, seq := range last {
				if cp := cps[shard]; cp != checkpoint.ShardEnd && !seqLE(seq, cp) {
					behind++
				}
			}
		}
		if behind == 0 {
			return at.Sub(from)
		}
		if time.Since(from) > timeout {
			s.t.Fatalf("%v after the disturbance, %d shards are not yet checkpointed past the records put before it", timeout, behind)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// finish audits the final state, fails the test on any problem, and reports the row.
func (s *scenario) finish(r *Report, recover time.Duration, note string) {
	s.t.Helper()
	s.t.Logf("%s: %s (%d quarantine objects)", s.name, r.Summary(), r.Objects)
	if p := r.Problems(5); len(p) > 0 {
		s.t.Errorf("%s:\n%s", s.name, strings.Join(p, "\n"))
	}
	if r.Records == 0 {
		s.t.Errorf("%s: no records were put", s.name)
	}
	rows.Add(RowFrom(s.name, r, recover, note))
}

// leases reads the lease table (directly from the emulator).
func (s *scenario) leases() ([]checkpoint.Item, error) {
	st, err := checkpoint.New(s.stack.DynamoDB(), checkpoint.Options{Table: s.app, WorkerID: "reliability-observer"})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return st.Items(ctx)
}

// checkpointsHold checks the invariant behind every checkpoint: it lies only past records
// the sinks acknowledged. It reads the lease table first, then the outputs; every ledger
// entry at or before its shard's checkpoint (every entry of a shard at SHARD_END) must be
// accounted for. It returns the violations and the checkpoints read.
func (s *scenario) checkpointsHold() ([]string, map[string]string) {
	s.t.Helper()
	cps := s.checkpoints()
	r, _ := s.audit(Options{})
	var bad []string
	for _, e := range r.Missing {
		cp, ok := cps[e.Shard]
		if !ok || cp == "" {
			continue
		}
		if cp == checkpoint.ShardEnd || seqLE(e.SequenceNumber, cp) {
			bad = append(bad, fmt.Sprintf("%s is missing but the checkpoint of %s is %s", e, e.Shard, cp))
		}
	}
	return bad, cps
}

// seqLE reports a <= b for Kinesis sequence numbers (decimal strings).
func seqLE(a, b string) bool {
	x, ok1 := new(big.Int).SetString(a, 10)
	y, ok2 := new(big.Int).SetString(b, 10)
	return ok1 && ok2 && x.Cmp(y) <= 0
}

// checkpoints returns shard -> checkpoint from the lease table.
func (s *scenario) checkpoints() map[string]string {
	s.t.Helper()
	items, err := s.leases()
	var missing *ddbtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return map[string]string{} // the worker has not created it yet: no checkpoints
	}
	if err != nil {
		s.t.Fatalf("read lease table %s: %v", s.app, err)
	}
	out := map[string]string{}
	for _, it := range items {
		out[it.ShardID] = it.Checkpoint
	}
	return out
}

// waitFor polls cond every 100ms until it holds or timeout passes; it returns the time taken.
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

// stopAll stops every running worker gracefully and checks each exits 0 within the grace.
func stopAll(t *testing.T, ws ...*worker) {
	t.Helper()
	var wg sync.WaitGroup
	for _, w := range ws {
		if !w.running() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, took := w.term(grace + 5*time.Second)
			if code != 0 {
				t.Errorf("%s: exit code %d after SIGTERM (took %v)\n%s", w.id, code, took, w.tail(15))
			}
		}()
	}
	wg.Wait()
}

// shardsStarted counts the distinct shards this worker process has started consuming.
func (w *worker) shardsStarted() int {
	seen := map[string]bool{}
	for _, l := range w.lines() {
		if l.Msg == "shard started" {
			seen[l.Shard] = true
		}
	}
	return len(seen)
}

// abandoned sums, per shard, the records of batches the workers gave up without checkpoint
// (lease lost or stop deadline): the only duplicates a run without crashes may have.
func abandoned(ws ...*worker) map[string]int {
	out := map[string]int{}
	for _, w := range ws {
		for _, l := range w.lines() {
			if l.Msg == "batch not acknowledged; not checkpointing" {
				out[l.Shard] += l.Records
			}
		}
	}
	return out
}
