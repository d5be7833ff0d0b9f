package prometheus

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/meshgate/meshgate/deploy/grafana"
	"github.com/meshgate/meshgate/deploy/prometheus/promcheck"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
)

// TestDashboardAgainstRealWorker is the real-parts proof of the observability work: the
// local emulators, the real `meshgate run` binary on the example contracts of all three
// domains (plus a shadow candidate of each, so that the shadow panel has data too), generated
// traffic with every bad and hostile kind, and the real prometheus binary scraping the
// worker every second and loading alerts.yaml and the generated odcs-alerts.yaml. Then:
// promtool check metrics on the worker's /metrics, every dashboard query through
// Prometheus's HTTP API (all domains, then each domain), each of which must return series,
// every alert rule loaded and evaluating cleanly on the real series, every series selector
// of the ODCS threshold alerts matching the worker's series, and the real `meshgate odcs
// alerts` printing the committed odcs-alerts.yaml. deploy/prometheus/check-dashboard.sh
// --worker runs it.
func TestDashboardAgainstRealWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: emulators, worker and Prometheus (about a minute)")
	}
	promBin := needBinary(t, "prometheus")
	promtoolBin := needBinary(t, "promtool")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	stack := testenv.Start(t)
	for name, shards := range map[string]int32{"orders-raw": 2, "customers-raw": 1, "payments-raw": 1,
		"orders-curated": 1, "customers-curated": 1, "payments-curated": 1} {
		stack.CreateStream(t, name, shards)
	}
	stack.CreateBucket(t, "meshgate-quarantine")
	bin := testenv.BuildMeshgate(t)
	dir := t.TempDir()
	contracts := contractsWithShadow(t, filepath.Join(root, "examples", "contracts"), filepath.Join(dir, "contracts"))

	// The worker.
	adminAddr := "127.0.0.1:" + freePort(t)
	cfgPath := filepath.Join(dir, "worker.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`application: meshgate-promcheck
workerID: promcheck-worker
contracts: %s
streams:
  - name: orders-raw
  - name: customers-raw
  - name: payments-raw
quarantine: {bucket: meshgate-quarantine, prefix: quarantine}
kcl:
  initialPosition: TRIM_HORIZON
  idleTimeBetweenReads: 200ms
  shardSyncInterval: 500ms
  failoverTime: 10s
http: {listen: "%s"}
log: {level: info}
shutdownGrace: 15s
`, contracts, adminAddr))
	worker := startProcess(t, "worker", bin, []string{"run", "--config", cfgPath},
		append(stack.Endpoints().Environ(), "MESHGATE_HASH_SALT=promcheck"))
	waitHTTP(t, ctx, "http://"+adminAddr+"/readyz", 90*time.Second, worker)

	// Prometheus, scraping the worker every second and loading the alert rules: the hand-written
	// ones and those generated from the example contracts' ODCS thresholds.
	promAddr := "127.0.0.1:" + freePort(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promCfg, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q, %q]
scrape_configs:
  - job_name: meshgate
    static_configs: [{targets: [%q]}]
`, filepath.Join(root, "deploy", "prometheus", "alerts.yaml"), filepath.Join(root, "deploy", "prometheus", odcsAlertsFile), adminAddr))
	prom := startProcess(t, "prometheus", promBin, []string{
		"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(dir, "tsdb"),
		"--web.listen-address=" + promAddr, "--log.level=warn",
	}, nil)
	waitHTTP(t, ctx, "http://"+promAddr+"/-/ready", 60*time.Second, prom)
	pc := &promcheck.Client{URL: "http://" + promAddr}

	// Traffic: generated events of both domains with bad and hostile ones mixed in, put on
	// the raw streams while Prometheus watches.
	put := putGenerated(t, ctx, stack.Kinesis(), 1500)
	waitQuery(t, ctx, pc, fmt.Sprintf(`sum(meshgate_records_in_total{job="meshgate"}) >= %d`, put), 120*time.Second, worker)
	// Every sink call and checkpoint of the last batches lands, and rate() windows fill up.
	time.Sleep(8 * time.Second)

	// promtool check metrics on what the worker serves.
	body := httpGet(t, ctx, "http://"+adminAddr+"/metrics")
	lint := exec.Command(promtoolBin, "check", "metrics")
	lint.Stdin = bytes.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on the worker's /metrics: %v\n%s", err, out)
	}

	// Every dashboard query, as Grafana would run it.
	d, err := promcheck.ParseDashboard(grafana.Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	// Strict: no allow-list. With the shadow contract every panel has data in this run.
	passes, err := promcheck.CheckAllPasses(ctx, pc, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	failed := promcheck.WriteReport(&report, d, passes)
	t.Log(report.String())
	if failed > 0 {
		t.Errorf("%d dashboard queries failed against the real worker (report above)", failed)
	}
	if len(passes) < 4 {
		t.Errorf("expected passes for All and the three example domains, got %d", len(passes))
	}

	// Every alert rule loaded and evaluates on the real series.
	rules, err := pc.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, alertRules := alerts(t)
	odcsData, err := os.ReadFile(odcsAlertsFile)
	if err != nil {
		t.Fatal(err)
	}
	_, odcsAlerts := odcsRules(t, odcsData)
	if len(rules) != len(alertRules)+len(odcsAlerts) {
		t.Errorf("Prometheus loaded %d rules, alerts.yaml has %d and odcs-alerts.yaml %d", len(rules), len(alertRules), len(odcsAlerts))
	}
	for _, r := range rules {
		if r.Health != "ok" {
			t.Errorf("rule %s: health %s: %s", r.Name, r.Health, r.LastError)
		}
	}
	checkODCSSelectors(t, ctx, pc, odcsAlerts)

	// The committed file is what the real command prints (run from the root, as make generate does).
	cli := exec.Command(bin, "odcs", "alerts", "--contracts", "examples/contracts")
	cli.Dir = root
	if out, err := cli.Output(); err != nil || !bytes.Equal(append([]byte(odcsAlertsHeader), out...), odcsData) {
		t.Errorf("`meshgate odcs alerts --contracts examples/contracts` (%v) does not print the committed %s: run make generate\n%s",
			err, odcsAlertsFile, firstDifference(odcsData, append([]byte(odcsAlertsHeader), out...)))
	}

	// The worker shuts down cleanly within its grace period.
	if err := worker.stop(20 * time.Second); err != nil {
		t.Errorf("worker shutdown: %v", err)
	}
}

// selectorRE finds the series selectors of a generated alert expression (metric{labels}).
var selectorRE = regexp.MustCompile(`meshgate_[a-z_]+\{[^}]*\}`)

// checkODCSSelectors requires every series selector of every ODCS threshold alert to match
// series of the real worker: the generated expressions use the metric names, the domain and
// the derived rule names the worker really exports (a mismatch would leave an alert silent
// forever, or a rowCount alert firing forever).
func checkODCSSelectors(t *testing.T, ctx context.Context, pc *promcheck.Client, odcsAlerts map[string]map[string]any) {
	t.Helper()
	for check, r := range odcsAlerts {
		expr, _ := r["expr"].(string)
		sels := selectorRE.FindAllString(expr, -1)
		if len(sels) == 0 {
			t.Errorf("%s: no series selector in %q", check, expr)
		}
		for _, sel := range sels {
			s, err := pc.Query(ctx, "count("+sel+")")
			if err != nil || len(s) == 0 {
				t.Errorf("%s: %s matches no series of the real worker (%v)", check, sel, err)
			}
		}
	}
}

func needBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: apt-get install prometheus", name)
		}
		t.Skipf("%s not found; install the Debian package prometheus", name)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// proc is a child process whose output is kept for the test log.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
	once sync.Once
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startProcess(t *testing.T, name, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.stop(10 * time.Second)
		if t.Failed() {
			out := p.out.String()
			if len(out) > 8000 {
				out = "…" + out[len(out)-8000:]
			}
			t.Logf("---- %s output (last part):\n%s", name, out)
		}
	})
	return p
}

// stop sends SIGTERM, waits up to grace, then kills. It returns the exit error of a process
// that did not exit 0 on SIGTERM in time.
func (p *proc) stop(grace time.Duration) error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.done:
			err = fmt.Errorf("%s had already exited: %v", p.name, p.err)
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			err = p.err
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("%s did not exit within %v of SIGTERM", p.name, grace)
		}
	})
	return err
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHTTP waits until url answers 200, failing early if p exits.
func waitHTTP(t *testing.T, ctx context.Context, url string, timeout time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited while waiting for %s: %v", p.name, url, p.err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not 200 within %v (last: %s)", url, timeout, last)
}

func httpGet(t *testing.T, ctx context.Context, url string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

// waitQuery waits until expr returns at least one series, failing early if p exits.
func waitQuery(t *testing.T, ctx context.Context, c *promcheck.Client, expr string, timeout time.Duration, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited while waiting for %s: %v", p.name, expr, p.err)
		}
		if s, err := c.Query(ctx, expr); err == nil && len(s) > 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	s, err := c.Query(ctx, strings.SplitN(expr, " >=", 2)[0])
	t.Fatalf("%s not true within %v (now: %v %v)", expr, timeout, s, err)
}

// putGenerated puts n generated records (mixed domains, 15% bad, 5% hostile) and then one
// record of every bad and hostile kind of the generator (so every outcome of every domain
// occurs, not just the likely ones) on their raw streams, in PutRecords calls of up to 250
// records. It returns how many it put: records over Kinesis's 1 MiB limit cannot be put and
// are skipped.
func putGenerated(t *testing.T, ctx context.Context, kc *kinesis.Client, n int) int {
	t.Helper()
	g, err := gen.New(gen.Config{Domain: gen.DomainMixed, Seed: 7, BadFraction: 0.15, HostileFraction: 0.05, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	batches := map[string][]ktypes.PutRecordsRequestEntry{}
	put := 0
	flush := func(stream string) {
		entries := batches[stream]
		for len(entries) > 0 {
			out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil {
				t.Fatalf("PutRecords %s: %v", stream, err)
			}
			var retry []ktypes.PutRecordsRequestEntry
			for i, r := range out.Records {
				if r.ErrorCode != nil {
					retry = append(retry, entries[i])
				}
			}
			entries = retry
		}
		batches[stream] = nil
	}
	// Mixed is orders and customers; payments (the ODCS-native domain) come from their own
	// generator, a fifth as many.
	pg, err := gen.New(gen.Config{Domain: gen.DomainPayments, Seed: 8, BadFraction: 0.15, HostileFraction: 0.05, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	records := make([]gen.Record, 0, n+n/5+len(gen.Kinds()))
	for i := 0; i < n; i++ {
		records = append(records, g.Next())
	}
	for i := 0; i < n/5; i++ {
		records = append(records, pg.Next())
	}
	for _, k := range gen.Kinds() {
		records = append(records, g.Make(k.Domain, k.Class, k.Name))
	}
	// A payment event sent twice: the payments contract counts repeats of a payment's event
	// type (ODCS duplicateValues) and alerts on their share.
	dup := pg.Make(gen.DomainPayments, gen.Good, "")
	records = append(records, dup, dup)
	for i, r := range records {
		key := r.PartitionKey
		if key == "" {
			key = fmt.Sprintf("k%d", i)
		}
		if len(r.Data)+len(key) > 1<<20 {
			continue
		}
		put++
		batches[r.Stream] = append(batches[r.Stream], ktypes.PutRecordsRequestEntry{Data: r.Data, PartitionKey: aws.String(key)})
		if len(batches[r.Stream]) == 250 {
			flush(r.Stream)
		}
	}
	for stream := range batches {
		flush(stream)
	}
	return put
}

// contractsWithShadow copies the example contracts to dst and adds a shadow (candidate)
// version of each domain's contract in which its warn rule is an error, so the worker judges
// every event twice and records divergences in every domain, and a global unique rule on
// event_id. It returns dst.
func contractsWithShadow(t *testing.T, src, dst string) string {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A global unique rule on event_id (a producer-retry detector), so the unique-rule panel has
	// series in every domain, not only in payments (whose ODCS document has its own).
	policy := filepath.Join(dst, "policies", "envelope.yaml")
	pb, err := os.ReadFile(policy)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, policy, strings.TrimRight(string(pb), "\n")+"\n"+
		"  - name: event_id_once\n    unique: {key: event_id, window: 1h}\n    message: event_id repeats an event routed within the hour\n")
	versionRE := regexp.MustCompile(`(?m)^version: (\S+)$`)
	for _, c := range []struct{ file, warnRule string }{
		{"orders.yaml", "length_between(shipping?.address?.postcode, 3, 10)\n    severity: warn\n"},
		{"customers.yaml", "match(phone, \"^\\\\+[1-9][0-9]{6,14}$\")\n    severity: warn\n"},
	} {
		b, err := os.ReadFile(filepath.Join(src, c.file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(b), "\nstage: active\n", "\n", 1)
		if !versionRE.MatchString(text) || !strings.Contains(text, c.warnRule) {
			t.Fatalf("examples/contracts/%s changed (version line or %q not found): update contractsWithShadow", c.file, c.warnRule)
		}
		text = versionRE.ReplaceAllString(text, "version: ${1}-rc1\nstage: shadow")
		text = strings.Replace(text, c.warnRule, strings.Replace(c.warnRule, "severity: warn", "severity: error", 1), 1)
		writeFile(t, filepath.Join(dst, strings.TrimSuffix(c.file, ".yaml")+"-shadow.yaml"), text)
	}
	// payments is an ODCS document with a binding: the candidate is a copy of the document in
	// which failure_has_reason is an error, with a binding of its own that makes it a shadow.
	doc, err := os.ReadFile(filepath.Join(src, "payments", "payments.odcs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const warnEntry = "        description: failed payments say why\n        severity: warning\n"
	if !strings.Contains(string(doc), warnEntry) {
		t.Fatalf("examples/contracts/payments/payments.odcs.yaml changed (%q not found): update contractsWithShadow", warnEntry)
	}
	binding, err := os.ReadFile(filepath.Join(src, "payments", "payments.meshgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dst, "payments-shadow"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dst, "payments-shadow", "payments.odcs.yaml"),
		strings.Replace(string(doc), warnEntry, "        description: failed payments say why\n", 1))
	writeFile(t, filepath.Join(dst, "payments-shadow", "payments.meshgate.yaml"), string(binding)+"stage: shadow\nversion: 1.2.0-rc1\n")
	return dst
}
