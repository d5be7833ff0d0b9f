package grafana

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/deploy/prometheus/promcheck"
	"github.com/meshgate/meshgate/metrics"
)

func dashboard(t *testing.T) *promcheck.Dashboard {
	t.Helper()
	d, err := promcheck.ParseDashboard(Dashboard)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDashboardIsImportable(t *testing.T) {
	d := dashboard(t)
	if d.SchemaVersion < 36 || d.SchemaVersion > 41 {
		t.Errorf("schemaVersion %d: want a Grafana 9-11 model (36-41)", d.SchemaVersion)
	}
	if d.UID == "" || len(d.UID) > 40 || d.Title == "" {
		t.Errorf("uid %q / title %q", d.UID, d.Title)
	}
	if d.ID != nil {
		t.Errorf("id must be null so import creates a new dashboard, got %d", *d.ID)
	}
	// Inputs (${DS_...}) need a mapping on import and break file provisioning; the data
	// source is a template variable instead.
	var raw map[string]any
	if err := json.Unmarshal(Dashboard, &raw); err != nil {
		t.Fatal(err)
	}
	if in, _ := raw["__inputs"].([]any); len(in) > 0 {
		t.Errorf("__inputs present: %v", in)
	}
	if strings.Contains(string(Dashboard), "${DS_") {
		t.Error("dashboard refers to an import input ${DS_...}")
	}
}

func TestTemplateVariables(t *testing.T) {
	d := dashboard(t)
	byName := map[string]promcheck.Variable{}
	for _, v := range d.Templating.List {
		byName[v.Name] = v
	}
	ds, ok := byName["datasource"]
	if !ok || ds.Type != "datasource" || strings.Trim(string(ds.Query), `"`) != "prometheus" {
		t.Errorf("datasource variable: %+v", ds)
	}
	dom, ok := byName["domain"]
	if !ok || dom.Type != "query" || dom.QueryText() != "label_values(meshgate_records_in_total, domain)" {
		t.Errorf("domain variable: %+v (query %q)", dom, dom.QueryText())
	}
	if !dom.Multi || !dom.IncludeAll || dom.AllValue != ".*" {
		t.Errorf("domain variable should be multi-value with All = .*: %+v", dom)
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
			t.Errorf("variable %s does not use the datasource variable", v.Name)
		}
	}
}

func TestEveryPanelHasDatasourceAndQueries(t *testing.T) {
	d := dashboard(t)
	panels := d.AllPanels()
	if len(panels) < 20 {
		t.Fatalf("only %d panels", len(panels))
	}
	ids := map[int]string{}
	for _, p := range panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("%s: id also used by %q", name, prev)
		}
		ids[p.ID] = p.Title
		if p.Title == "" || p.Description == "" {
			t.Errorf("%s: needs a title and a description", name)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource %+v, want prometheus ${datasource}", name, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s/%s: empty expr", name, tg.RefID)
			}
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("%s: missing or duplicate refId %q", name, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil && p.Datasource != nil && *tg.Datasource != *p.Datasource {
				t.Errorf("%s/%s: target datasource %+v differs from the panel's", name, tg.RefID, tg.Datasource)
			}
		}
	}
}

func TestLayoutFitsAndDoesNotOverlap(t *testing.T) {
	d := dashboard(t)
	type cell struct{ x, y int }
	used := map[cell]int{}
	var all []promcheck.Panel
	all = append(all, d.Panels...) // top level, rows included
	for _, p := range all {
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v outside the 24-column grid", p.ID, p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panel %d %q overlaps panel %d at (%d,%d)", p.ID, p.Title, other, x, y)
					return
				}
				used[cell{x, y}] = p.ID
			}
		}
	}
}

func TestQueriesUseOnlyExportedMetricsAndKnownVariables(t *testing.T) {
	d := dashboard(t)
	cat, err := promcheck.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		defined[v.Name] = true
	}
	for k := range promcheck.BuiltinVars {
		defined[k] = true
	}
	used := map[string]bool{}
	for _, q := range d.Queries() {
		names, err := promcheck.MetricNames(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.Name(), err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: uses no metric", q.Name())
		}
		for _, n := range names {
			f, ok := cat[n]
			if !ok {
				t.Errorf("%s uses %s, which meshgate does not export (see docs/metrics.md)", q.Name(), n)
				continue
			}
			used[f.Name] = true
		}
		for _, v := range promcheck.Variables(q.Expr) {
			if !defined[v] {
				t.Errorf("%s uses undefined variable $%s", q.Name(), v)
			}
		}
	}
	// Every meshgate metric is on the dashboard somewhere.
	fams, err := metrics.Families()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.Name, "meshgate_") && !used[f.Name] {
			t.Errorf("%s is on no panel", f.Name)
		}
	}
}

func TestRequiredViews(t *testing.T) {
	d := dashboard(t)
	var all strings.Builder
	for _, q := range d.Queries() {
		all.WriteString(q.Expr + "\n")
	}
	text := all.String()
	for _, want := range []string{
		"rate(meshgate_records_in_total{domain=~\"$domain\"}",                  // throughput
		"sum by (domain) (rate(meshgate_records_quarantined_total",             // quarantine ratio per domain
		"increase(meshgate_rule_failures_total{domain=~\"$domain\"}[$__range]", // per-rule table
		"max by (stream, shard) (meshgate_millis_behind_latest",                // lag per shard
		"histogram_quantile(0.99, sum by (sink, le)",                           // sink latency
		"time() - max by (stream, shard) (meshgate_checkpoint_last_success",    // checkpoint age
		"sum by (worker) (meshgate_leases_held",                                // leases per worker
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no query contains %q", want)
		}
	}
}

// TestQueriesParseWithPromtool feeds every query, variables substituted, to promtool as a
// recording rule: the real PromQL parser then checks their syntax offline.
func TestQueriesParseWithPromtool(t *testing.T) {
	pt, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found: apt-get install prometheus")
		}
		t.Skip("promtool not found; install the Debian package prometheus")
	}
	d := dashboard(t)
	vars := map[string]string{"domain": "orders", "stream": "orders-raw"}
	for k, v := range promcheck.BuiltinVars {
		vars[k] = v
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	add := func(expr string) {
		n++
		q, _ := json.Marshal(strings.Join(strings.Fields(expr), " "))
		fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %s\n", n, q)
	}
	for _, q := range d.Queries() {
		expr, err := promcheck.Substitute(q.Expr, vars)
		if err != nil {
			t.Fatal(err)
		}
		add(expr)
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			// label_values(selector, label): check the selector.
			sel := strings.TrimPrefix(v.QueryText(), "label_values(")
			sel = sel[:strings.LastIndex(sel, ",")]
			expr, err := promcheck.Substitute(sel, vars)
			if err != nil {
				t.Fatal(err)
			}
			add(expr)
		}
	}
	path := filepath.Join(t.TempDir(), "queries.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the dashboard queries: %v\n%s\n%s", err, out, b.String())
	}
}
