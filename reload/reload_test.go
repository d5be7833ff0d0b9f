package reload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/metrics"
	_ "github.com/meshgate/meshgate/odcs" // examples/contracts/payments is an ODCS document
	"github.com/meshgate/meshgate/rules"
)

// copyExamples copies examples/contracts into a new temporary directory.
func copyExamples(t testing.TB) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "examples", "contracts")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("example contracts: %v", err)
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit rewrites file by replacing old with new (which must occur) and bumps the mtime so
// that a stamp sees the change even on coarse-grained file systems.
func edit(t testing.TB, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	writeFile(t, file, strings.Replace(string(data), old, new, 1))
}

// writeFile replaces file atomically (a temporary file with its final time, renamed into
// place), as editors and deploy tools do, so that a poll never sees a half-written state.
func writeFile(t testing.TB, file, text string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(file), "."+filepath.Base(file)+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func describe(set *rules.Set) []metrics.ContractInfo {
	var out []metrics.ContractInfo
	for _, c := range append(append([]*rules.Contract{}, set.Contracts()...), set.Shadows()...) {
		out = append(out, metrics.ContractInfo{Domain: c.Domain, Version: c.Version, Hash: c.Hash, Stage: c.Stage})
	}
	return out
}

type fixture struct {
	dir string
	r   *Reloader
	m   *metrics.Metrics
	log *syncBuf
}

func newFixture(t *testing.T, interval time.Duration, check func(*rules.Set) error) *fixture {
	t.Helper()
	dir := copyExamples(t)
	m := metrics.New(prometheus.NewRegistry())
	log := &syncBuf{}
	r, err := New(context.Background(), Config{
		Source: DirSource{Dir: dir}, Options: rules.Options{HashSalt: "test"}, Check: check,
		Interval: interval, Settle: 20 * time.Millisecond,
		Metrics: m, Describe: describe, Logger: slog.New(slog.NewJSONHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, r: r, m: m, log: log}
}

func (f *fixture) version(domain string) string {
	if c := f.r.Current().ByDomain(domain); c != nil {
		return c.Version
	}
	return ""
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFirstLoadRecordsMetrics(t *testing.T) {
	f := newFixture(t, 0, nil)
	if got := testutil.ToFloat64(f.m.ReloadSuccessful); got != 1 {
		t.Errorf("last_reload_successful = %v", got)
	}
	if got := testutil.ToFloat64(f.m.Reloads.WithLabelValues(metrics.ResultOK)); got != 1 {
		t.Errorf("reloads ok = %v", got)
	}
	c := f.r.Current().ByDomain("orders")
	if got := testutil.ToFloat64(f.m.ContractInfo.WithLabelValues("orders", "2.1.0", c.Hash, "active")); got != 1 {
		t.Errorf("contract_info orders = %v", got)
	}
}

func TestNewFailsOnBrokenContracts(t *testing.T) {
	dir := copyExamples(t)
	edit(t, filepath.Join(dir, "orders.yaml"), "check: is_email(customer_email)", "check: is_emial(customer_email)")
	_, err := New(context.Background(), Config{Source: DirSource{Dir: dir}, Options: rules.Options{HashSalt: "x"}})
	var list rules.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Error(), "orders.yaml:") {
		t.Fatalf("err = %v", err)
	}
}

func TestPollPicksUpAnEdit(t *testing.T) {
	f := newFixture(t, 30*time.Millisecond, nil)
	first := f.r.Current()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	edit(t, filepath.Join(f.dir, "orders.yaml"), "version: 2.1.0", "version: 2.2.0")
	waitUntil(t, "orders 2.2.0", func() bool { return f.version("orders") == "2.2.0" })
	if got := testutil.ToFloat64(f.m.Reloads.WithLabelValues(metrics.ResultOK)); got != 2 {
		t.Errorf("reloads ok = %v, want 2", got)
	}
	if first.ByDomain("orders").Version != "2.1.0" {
		t.Errorf("the old set changed under its users")
	}
	if got := testutil.ToFloat64(f.m.ContractInfo.WithLabelValues("orders", "2.1.0", first.ByDomain("orders").Hash, "active")); got != 0 {
		t.Errorf("old contract_info series still there")
	}
	if !strings.Contains(f.log.String(), `"changes":["orders 2.1.0 -> 2.2.0"]`) {
		t.Errorf("log does not name the change:\n%s", f.log.String())
	}
}

func TestBrokenEditKeepsTheRunningSet(t *testing.T) {
	f := newFixture(t, 30*time.Millisecond, nil)
	running := f.r.Current()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	edit(t, filepath.Join(f.dir, "orders.yaml"), "check: is_email(customer_email)", "check: is_emial(customer_email)")
	waitUntil(t, "a failed reload", func() bool { return testutil.ToFloat64(f.m.ReloadSuccessful) == 0 })
	if f.r.Current() != running {
		t.Fatal("the running set was replaced by a broken one")
	}
	if got := testutil.ToFloat64(f.m.Reloads.WithLabelValues(metrics.ResultError)); got != 1 {
		t.Errorf("reloads error = %v", got)
	}
	// The log names the position of the problem.
	var entry struct {
		Msg       string   `json:"msg"`
		Positions []string `json:"positions"`
		Error     string   `json:"error"`
	}
	for _, line := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(line, "reload failed") {
			json.Unmarshal([]byte(line), &entry)
		}
	}
	want := filepath.Join(f.dir, "orders.yaml") + ":35:12: rule \"customer_email_valid\" check: unknown function is_emial"
	if len(entry.Positions) != 1 || !strings.HasPrefix(entry.Positions[0], want) {
		t.Fatalf("positions %q, want %q\nlog:\n%s", entry.Positions, want, f.log.String())
	}
	// The same broken content is not reloaded again on every poll.
	time.Sleep(150 * time.Millisecond)
	if got := testutil.ToFloat64(f.m.Reloads.WithLabelValues(metrics.ResultError)); got != 1 {
		t.Errorf("broken content retried: reloads error = %v", got)
	}
	// Fixing it reloads.
	edit(t, filepath.Join(f.dir, "orders.yaml"), "check: is_emial(customer_email)", "check: is_email(customer_email) && customer_email != \"\"")
	waitUntil(t, "a successful reload", func() bool { return testutil.ToFloat64(f.m.ReloadSuccessful) == 1 })
	if f.r.Current() == running || f.r.LastError() != nil {
		t.Errorf("fixed contracts not swapped in (last error %v)", f.r.LastError())
	}
}

func TestTriggerReloadsWithoutPolling(t *testing.T) {
	f := newFixture(t, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	edit(t, filepath.Join(f.dir, "customers.yaml"), "version: 1.3.0", "version: 1.4.0")
	time.Sleep(100 * time.Millisecond)
	if f.version("customers") != "1.3.0" {
		t.Fatal("reloaded without a trigger while polling is off")
	}
	f.r.Trigger()
	waitUntil(t, "customers 1.4.0", func() bool { return f.version("customers") == "1.4.0" })

	// A trigger with nothing changed keeps the same set and still counts as a success.
	set := f.r.Current()
	f.r.Trigger()
	waitUntil(t, "a third ok reload", func() bool { return testutil.ToFloat64(f.m.Reloads.WithLabelValues(metrics.ResultOK)) == 3 })
	if f.r.Current() != set {
		t.Error("an unchanged reload replaced the set")
	}
}

func TestCheckRejectsASet(t *testing.T) {
	f := newFixture(t, 0, func(s *rules.Set) error {
		if s.ByStream("customers-raw") == nil {
			return errors.New("stream customers-raw: no active contract lists it")
		}
		return nil
	})
	running := f.r.Current()
	edit(t, filepath.Join(f.dir, "customers.yaml"), "sources: [customers-raw]", "sources: [crm-raw]")
	err := f.r.Reload(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), "do not fit the worker: stream customers-raw: no active contract lists it") {
		t.Fatalf("err = %v", err)
	}
	if f.r.Current() != running || testutil.ToFloat64(f.m.ReloadSuccessful) != 0 {
		t.Error("a rejected set was swapped in")
	}
}

// TestConcurrentReadersSeeWholeSets reloads continuously while readers check that every
// set they get is internally consistent (both domains of one version generation).
func TestConcurrentReadersSeeWholeSets(t *testing.T) {
	f := newFixture(t, 0, nil)
	var stop sync.WaitGroup
	quit := make(chan struct{})
	bad := make(chan string, 1)
	for range 4 {
		stop.Add(1)
		go func() {
			defer stop.Done()
			for {
				select {
				case <-quit:
					return
				default:
				}
				s := f.r.Current()
				o, c := s.ByDomain("orders").Version, s.ByDomain("customers").Version
				if strings.TrimPrefix(o, "2.1.") != strings.TrimPrefix(c, "1.3.") {
					select {
					case bad <- o + " with " + c:
					default:
					}
				}
			}
		}()
	}
	for i := 1; i <= 5; i++ {
		prevO, prevC := f.version("orders"), f.version("customers")
		edit(t, filepath.Join(f.dir, "orders.yaml"), "version: "+prevO, "version: 2.1."+string(rune('0'+i)))
		edit(t, filepath.Join(f.dir, "customers.yaml"), "version: "+prevC, "version: 1.3."+string(rune('0'+i)))
		if err := f.r.Reload(context.Background(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	close(quit)
	stop.Wait()
	select {
	case b := <-bad:
		t.Fatalf("a reader saw a mixed set: orders %s", b)
	default:
	}
	if f.version("orders") != "2.1.5" {
		t.Errorf("orders %s", f.version("orders"))
	}
}
