package reload_test

// End-to-end tests of hot reload and shadow contracts: the real `meshgate run` binary
// (testenv.BuildMeshgate) on the local emulators (testenv.Start), a copy of the example
// contracts edited while the worker runs, and generated order events.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/producer"
	"github.com/meshgate/meshgate/quarantine"
)

const bucket = "meshgate-quarantine"

type e2e struct {
	t         *testing.T
	stack     *testenv.Stack
	bin       string
	dir       string
	contracts string
	listen    string
	cmd       *exec.Cmd
	logPath   string
	done      chan struct{}
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	stack := testenv.Start(t)
	bin := testenv.BuildMeshgate(t)
	stack.CreateStream(t, "orders-raw", 1)
	stack.CreateStream(t, "orders-curated", 1)
	stack.CreateBucket(t, bucket)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	contracts := filepath.Join(dir, "contracts")
	if err := os.CopyFS(contracts, os.DirFS(filepath.Join(root, "examples", "contracts"))); err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, stack: stack, bin: bin, dir: dir, contracts: contracts, listen: freeAddr(t)}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the worker on orders-raw with extra config lines and waits until it is ready.
func (e *e2e) start(extra string) {
	e.t.Helper()
	cfg := filepath.Join(e.dir, "worker.yaml")
	text := fmt.Sprintf(`application: reload-e2e
contracts: %s
streams: [{name: orders-raw}]
quarantine: {bucket: %s, prefix: quarantine}
kcl: {initialPosition: TRIM_HORIZON, idleTimeBetweenReads: 100ms, shardSyncInterval: 300ms, failoverTime: 3s}
http: {listen: "%s"}
log: {level: info}
shutdownGrace: 5s
%s`, e.contracts, bucket, e.listen, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.logPath = filepath.Join(e.dir, "worker.log")
	logFile, err := os.Create(e.logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cmd = exec.Command(e.bin, "run", "--config", cfg)
	e.cmd.Env = append(e.stack.Endpoints().Environ(), "MESHGATE_WORKER_ID=w1", "MESHGATE_HASH_SALT=e2e-salt")
	e.cmd.Stdout, e.cmd.Stderr = logFile, logFile
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.done = make(chan struct{})
	go func() { e.cmd.Wait(); logFile.Close(); close(e.done) }()
	e.t.Cleanup(func() {
		select {
		case <-e.done:
		default:
			syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-e.done
		}
		if e.t.Failed() {
			data, _ := os.ReadFile(e.logPath)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			e.t.Logf("worker log (last lines):\n%s", strings.Join(lines, "\n"))
		}
	})
	e.waitFor(30*time.Second, "worker ready", func() bool {
		resp, err := http.Get("http://" + e.listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (e *e2e) running() bool {
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}

func (e *e2e) signal(sig syscall.Signal) {
	e.t.Helper()
	if err := e.cmd.Process.Signal(sig); err != nil {
		e.t.Fatal(err)
	}
}

func (e *e2e) waitFor(timeout time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if !e.running() {
			e.t.Fatalf("worker exited while waiting for %s", what)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// metric returns the value of the series name{labels...} (labels as k="v" pairs, all of
// which must be on the series) summed over matching series, from the worker's /metrics.
func (e *e2e) metric(name string, labels ...string) float64 {
	e.t.Helper()
	resp, err := http.Get("http://" + e.listen + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		m := sampleRE.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(m[2], l) {
				ok = false
			}
		}
		if ok {
			v, _ := strconv.ParseFloat(m[3], 64)
			sum += v
		}
	}
	return sum
}

// logEntries returns the worker's log entries whose msg contains msg.
func (e *e2e) logEntries(msg string) []map[string]any {
	data, _ := os.ReadFile(e.logPath)
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && strings.Contains(fmt.Sprint(m["msg"]), msg) {
			out = append(out, m)
		}
	}
	return out
}

// editContract replaces old by new in a contract file.
func (e *e2e) editContract(name, old, new string) {
	e.t.Helper()
	path := filepath.Join(e.contracts, name)
	data, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		e.t.Fatalf("%s has no %q", name, old)
	}
	e.writeContract(name, strings.Replace(string(data), old, new, 1))
}

func (e *e2e) writeContract(name, text string) {
	e.t.Helper()
	tmp := filepath.Join(e.dir, name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.contracts, name)); err != nil { // atomic, as editors and CI do
		e.t.Fatal(err)
	}
}

// orders generates n good order events.
func orders(t *testing.T, n int, seed uint64) []gen.Record {
	t.Helper()
	g, err := gen.New(gen.Config{Domain: gen.DomainOrders, Seed: seed, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]gen.Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func (e *e2e) put(recs []gen.Record) {
	e.t.Helper()
	entries := make([]producer.Entry, len(recs))
	for i, r := range recs {
		entries[i] = producer.Entry{Data: r.Data, PartitionKey: r.PartitionKey}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := producer.Put(ctx, e.stack.Kinesis(), "orders-raw", entries)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			e.t.Fatalf("record %d not sent: %v", i, r.Err)
		}
	}
}

// routed is what the worker produced: curated events by event_id, quarantine records by
// event_id.
type routed struct {
	curated     map[string]map[string]any
	quarantined map[string]quarantine.Record
}

func (e *e2e) routed() routed {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := routed{curated: map[string]map[string]any{}, quarantined: map[string]quarantine.Record{}}
	recs, err := audit.ReadStream(ctx, e.stack.Kinesis(), "orders-curated")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range recs {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err != nil {
			e.t.Fatalf("curated record is not JSON: %s", r.Data)
		}
		out.curated[fmt.Sprint(m["event_id"])] = m
	}
	objs, err := audit.ReadQuarantine(ctx, e.stack.S3(), bucket, "quarantine/")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, o := range objs {
		for _, q := range o.Records {
			var ev struct {
				EventID string `json:"event_id"`
			}
			json.Unmarshal(q.Payload, &ev)
			out.quarantined[ev.EventID] = q
		}
	}
	return out
}

func (e *e2e) waitRouted(recs []gen.Record) routed {
	e.t.Helper()
	var r routed
	e.waitFor(45*time.Second, fmt.Sprintf("%d records routed", len(recs)), func() bool {
		r = e.routed()
		for _, rec := range recs {
			id := eventID(rec)
			if _, ok := r.curated[id]; !ok {
				if _, ok := r.quarantined[id]; !ok {
					return false
				}
			}
		}
		return true
	})
	return r
}

func eventID(r gen.Record) string {
	var ev struct {
		EventID string `json:"event_id"`
	}
	json.Unmarshal(r.Data, &ev)
	return ev.EventID
}

func field(r gen.Record, name string) any {
	var m map[string]any
	json.Unmarshal(r.Data, &m)
	return m[name]
}

func (e *e2e) objects(prefix string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.stack.ListObjects(e.t, ctx, bucket, prefix)
}

func (e *e2e) shadowSamples(key string) []quarantine.ShadowSample {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := e.stack.GetObject(e.t, ctx, bucket, key)
	s, err := quarantine.DecodeShadow(strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatalf("%s: %v", key, err)
	}
	return s
}

// rewrite applies old->new replacements to a contract file in one atomic write.
func (e *e2e) rewrite(name string, pairs ...string) string {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.contracts, name))
	if err != nil {
		e.t.Fatal(err)
	}
	text := string(data)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			e.t.Fatalf("%s has no %q", name, pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	e.writeContract(name, text)
	return text
}

// position returns the 1-based line and column of needle in text.
func position(t *testing.T, text, needle string) (int, int) {
	t.Helper()
	i := strings.Index(text, needle)
	if i < 0 {
		t.Fatalf("%q not found", needle)
	}
	line := strings.Count(text[:i], "\n") + 1
	return line, i - strings.LastIndex(text[:i], "\n")
}

func version(m map[string]any) string {
	meta, _ := m["_meta"].(map[string]any)
	return fmt.Sprint(meta["version"])
}

// checkPhase asserts that every record of recs was judged by version: those for which
// rejected is true quarantined by rule, the others curated.
func checkPhase(t *testing.T, r routed, recs []gen.Record, ver, rule string, rejected func(gen.Record) bool) (nRejected int) {
	t.Helper()
	for _, rec := range recs {
		id := eventID(rec)
		if rejected(rec) {
			nRejected++
			q, ok := r.quarantined[id]
			if !ok {
				t.Errorf("%s (version %s) should be quarantined by %s; curated: %v", id, ver, rule, r.curated[id] != nil)
				continue
			}
			if q.ContractVersion != ver || len(q.Failures) != 1 || q.Failures[0].Rule != rule {
				t.Errorf("%s quarantined by %s with %+v, want %s by %s", id, q.ContractVersion, q.Failures, ver, rule)
			}
			continue
		}
		m, ok := r.curated[id]
		if !ok {
			t.Errorf("%s should be curated by %s; quarantined with %+v", id, ver, r.quarantined[id].Failures)
			continue
		}
		if version(m) != ver {
			t.Errorf("%s curated by version %s, want %s", id, version(m), ver)
		}
	}
	return nRejected
}

func channelIs(c string) func(gen.Record) bool {
	return func(r gen.Record) bool { return field(r, "channel") == c }
}

func TestHotReloadOnTheRunningWorker(t *testing.T) {
	e := newE2E(t)
	e.start("contractsReload: 200ms\n")
	none := func(gen.Record) bool { return false }

	// 1. The example contracts judge the first events.
	first := orders(t, 30, 1)
	e.put(first)
	checkPhase(t, e.waitRouted(first), first, "2.1.0", "", none)

	// 2. A new rule and version, picked up by polling: only later events are judged by it.
	e.rewrite("orders.yaml", "version: 2.1.0", "version: 2.2.0",
		"rules:\n", "rules:\n  - name: no_app_channel\n    check: channel != \"app\"\n    message: app orders are paused\n")
	e.waitFor(15*time.Second, "orders 2.2.0 loaded", func() bool {
		return e.metric("meshgate_contract_info", `domain="orders"`, `version="2.2.0"`) == 1
	})
	second := orders(t, 30, 2)
	e.put(second)
	r := e.waitRouted(second)
	if n := checkPhase(t, r, second, "2.2.0", "no_app_channel", channelIs("app")); n == 0 {
		t.Fatal("no app-channel order in the second phase: the test proves nothing")
	}
	appBefore := 0
	for _, rec := range first { // judged before the reload: still curated by 2.1.0
		if channelIs("app")(rec) {
			appBefore++
		}
	}
	checkPhase(t, r, first, "2.1.0", "", none)
	if appBefore == 0 {
		t.Fatal("no app-channel order in the first phase")
	}

	// 3. A broken edit: the running set stays, the metric and the log say so.
	text := e.rewrite("orders.yaml", `check: channel != "app"`, `check: channel_ok(channel)`)
	line, col := position(t, text, "channel_ok(")
	e.waitFor(15*time.Second, "the failed reload", func() bool {
		return e.metric("meshgate_contracts_last_reload_successful") == 0
	})
	if got := e.metric("meshgate_contract_reloads_total", `result="error"`); got != 1 {
		t.Errorf("reloads error = %v", got)
	}
	failed := e.logEntries("contracts reload failed")
	want := fmt.Sprintf("%s:%d:%d: rule \"no_app_channel\" check: unknown function channel_ok", filepath.Join(e.contracts, "orders.yaml"), line, col)
	if len(failed) != 1 || !strings.Contains(fmt.Sprint(failed[0]["positions"]), want) {
		t.Fatalf("reload failure log %v, want a position %q", failed, want)
	}
	third := orders(t, 20, 3)
	e.put(third)
	checkPhase(t, e.waitRouted(third), third, "2.2.0", "no_app_channel", channelIs("app"))
	if e.metric("meshgate_contract_info", `domain="orders"`, `version="2.2.0"`) != 1 {
		t.Error("the running contract's info series is gone")
	}

	// 4. SIGHUP reloads even unchanged content (polling does not retry it) and does not stop
	// the worker; then a fix is picked up and judges the next events.
	e.signal(syscall.SIGHUP)
	e.waitFor(10*time.Second, "the SIGHUP reload", func() bool {
		return e.metric("meshgate_contract_reloads_total", `result="error"`) == 2
	})
	if len(e.logEntries("SIGHUP: reloading contracts")) != 1 {
		t.Error("no SIGHUP log entry")
	}
	e.rewrite("orders.yaml", "version: 2.2.0", "version: 2.3.0", `check: channel_ok(channel)`, `check: channel != "store"`)
	e.waitFor(15*time.Second, "orders 2.3.0 loaded", func() bool {
		return e.metric("meshgate_contract_info", `domain="orders"`, `version="2.3.0"`) == 1 &&
			e.metric("meshgate_contracts_last_reload_successful") == 1
	})
	fourth := orders(t, 30, 4)
	e.put(fourth)
	checkPhase(t, e.waitRouted(fourth), fourth, "2.3.0", "no_app_channel", channelIs("store"))
	if !e.running() {
		t.Fatal("the worker exited")
	}
	e.signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if code := e.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func saltedHash(v string) string {
	sum := sha256.Sum256([]byte("e2e-salt" + v))
	return hex.EncodeToString(sum[:])
}

func total(r gen.Record) float64 {
	f, _ := field(r, "total").(float64)
	return f
}

func TestShadowContractOnTheRunningWorker(t *testing.T) {
	e := newE2E(t)
	active, err := os.ReadFile(filepath.Join(e.contracts, "orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The candidate: a stricter total and one more hashed field.
	candidate := strings.NewReplacer(
		"version: 2.1.0", "version: 2.2.0-rc1",
		"rules:\n", "rules:\n  - name: total_below_100\n    check: total < 100\n    message: orders over 100 need a second look\n",
		"  - hash: customer_email\n", "  - hash: customer_email\n  - hash: shipping.address.street\n",
	).Replace(string(active))
	e.writeContract("orders-next.yaml", strings.Replace(candidate, "stage: active", "stage: shadow", 1))
	e.start("contractsReload: 0s\nshadow: {sampleInterval: 1s, samples: 5}\n")

	evs := orders(t, 60, 7)
	e.put(evs)
	r := e.waitRouted(evs)
	// Routing is the active contract's: every (good) event curated by 2.1.0.
	over := checkPhase(t, r, evs, "2.1.0", "", func(gen.Record) bool { return false })
	diverging := 0
	for _, rec := range evs {
		if total(rec) >= 100 {
			diverging++
		}
	}
	if diverging == 0 || diverging == len(evs) || over != 0 {
		t.Fatalf("%d of %d events over 100: the test needs both kinds", diverging, len(evs))
	}
	e.waitFor(10*time.Second, "divergences counted", func() bool {
		return e.metric("meshgate_shadow_divergences_total", `domain="orders"`, `rule="total_below_100"`, `direction="would_quarantine"`) == float64(diverging)
	})
	if got := e.metric("meshgate_shadow_divergences_total"); got != float64(diverging) {
		t.Errorf("divergences total %v, want %d (only total_below_100)", got, diverging)
	}

	// Sampled objects: at most 5 samples each, every one masked as the contracts say.
	// Every divergence was offered when its batch was acknowledged (when it was counted);
	// two sample intervals later all of them have been flushed.
	time.Sleep(2500 * time.Millisecond)
	keys := e.objects("quarantine/_shadow/orders/")
	written := 0
	byID := map[string]gen.Record{}
	for _, rec := range evs {
		byID[eventID(rec)] = rec
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, "quarantine/_shadow/orders/dt=") || !strings.Contains(key, "/w1-") {
			t.Errorf("sample key %s", key)
		}
		samples := e.shadowSamples(key)
		if len(samples) == 0 || len(samples) > 5 {
			t.Errorf("%s holds %d samples, want 1..5", key, len(samples))
		}
		written += len(samples)
		for _, s := range samples {
			var ev map[string]any
			if err := json.Unmarshal(s.Event, &ev); err != nil {
				t.Fatalf("sample event: %v", err)
			}
			rec, ok := byID[fmt.Sprint(ev["event_id"])]
			if !ok {
				t.Fatalf("sample of an unknown event: %s", s.Event)
			}
			if s.Direction != "would_quarantine" || fmt.Sprint(s.Rules) != "[total_below_100]" || s.Shadow.Version != "2.2.0-rc1" ||
				s.Active.Version != "2.1.0" || s.Active.Outcome == "quarantined" || s.Stream != "orders-raw" || s.SequenceNumber == "" || total(rec) < 100 {
				t.Errorf("sample %+v", s)
			}
			email := fmt.Sprint(field(rec, "customer_email"))
			if strings.Contains(string(s.Event), email) || ev["customer_email"] != saltedHash(email) {
				t.Errorf("customer_email not hashed in %s", s.Event)
			}
			street := fmt.Sprint(field(rec, "shipping").(map[string]any)["address"].(map[string]any)["street"])
			if strings.Contains(string(s.Event), `"`+street+`"`) {
				t.Errorf("street (hashed by the candidate only) leaked: %s", s.Event)
			}
			if card, _ := field(rec, "payment").(map[string]any)["card_number"].(string); card != "" &&
				(strings.Contains(string(s.Event), card) || !strings.Contains(string(s.Event), `"card_number":"[REDACTED]"`)) {
				t.Errorf("card number not redacted: %s", s.Event)
			}
		}
	}
	if got := e.metric("meshgate_shadow_samples_total", `domain="orders"`, `result="written"`); got != float64(written) {
		t.Errorf("samples written metric %v, objects hold %d", got, written)
	}
	t.Logf("%d divergences, %d samples in %d objects", diverging, written, len(keys))
	if written == 0 || written > diverging {
		t.Errorf("%d samples for %d divergences", written, diverging)
	}
	if n := len(r.quarantined); n != 0 {
		t.Errorf("%d records quarantined; shadow objects must not count as quarantine", n)
	}

	// Promotion is a git change picked up by a reload: here SIGHUP, with polling off.
	e.writeContract("orders.yaml", candidate)
	if err := os.Remove(filepath.Join(e.contracts, "orders-next.yaml")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if e.metric("meshgate_contract_info", `domain="orders"`, `stage="shadow"`) != 1 {
		t.Fatal("the contracts were reloaded without SIGHUP while polling is off")
	}
	e.signal(syscall.SIGHUP)
	e.waitFor(10*time.Second, "the promotion", func() bool {
		return e.metric("meshgate_contract_info", `domain="orders"`, `version="2.2.0-rc1"`, `stage="active"`) == 1 &&
			e.metric("meshgate_contract_info", `stage="shadow"`) == 0
	})
	after := orders(t, 30, 8)
	e.put(after)
	if n := checkPhase(t, e.waitRouted(after), after, "2.2.0-rc1", "total_below_100", func(r gen.Record) bool { return total(r) >= 100 }); n == 0 {
		t.Error("no order over 100 after the promotion")
	}
}
