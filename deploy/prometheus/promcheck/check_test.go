package promcheck

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeAPI answers /api/v1/query with one series for expressions mentioning "has_data",
// an empty vector for others, and a bad_data error for ones containing "syntax_error";
// label values come from labels.
func fakeAPI(t *testing.T, labels map[string][]string) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/query":
			q := r.URL.Query().Get("query")
			switch {
			case strings.Contains(q, "syntax_error"):
				w.WriteHeader(400)
				json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": "parse error"})
			case strings.Contains(q, "has_data"):
				json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
					"resultType": "vector", "result": []any{map[string]any{"metric": map[string]string{"q": q}, "value": []any{1, "2.5"}}}}})
			case q == "scalar(1)":
				json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "scalar", "result": []any{1, "1"}}})
			default:
				json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": []any{}}})
			}
		case strings.HasPrefix(r.URL.Path, "/api/v1/label/"):
			name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/label/"), "/values")
			vals := labels[name+"|"+r.URL.Query().Get("match[]")]
			if vals == nil {
				vals = []string{}
			}
			json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": vals})
		default:
			http.NotFound(w, r)
		}
	}))
}

const testDash = `{"uid":"x","title":"x","schemaVersion":39,"panels":[
 {"type":"row","title":"r","panels":[
   {"id":1,"type":"timeseries","title":"Nested","targets":[{"refId":"A","expr":"has_data{d=~\"$domain\"}"}]}]},
 {"id":2,"type":"stat","title":"Empty","targets":[{"refId":"A","expr":"no_data[$__rate_interval]"},{"refId":"B","expr":"hidden","hide":true}]},
 {"id":3,"type":"stat","title":"Broken","targets":[{"refId":"A","expr":"syntax_error"}]},
 {"id":4,"type":"stat","title":"Allowed","targets":[{"refId":"A","expr":"no_data_ok"}]},
 {"id":5,"type":"stat","title":"Unknown var","targets":[{"refId":"A","expr":"has_data{x=\"$nope\"}"}]}
],"templating":{"list":[
 {"name":"datasource","type":"datasource","query":"prometheus"},
 {"name":"domain","type":"query","includeAll":true,"allValue":".*","query":{"query":"label_values(m_total, domain)"}},
 {"name":"stream","type":"query","query":"label_values(m_total{domain=~\"$domain\"}, stream)"}
]}}`

func TestCheckDashboard(t *testing.T) {
	srv := fakeAPI(t, map[string][]string{
		"domain|m_total":                        {"orders", "customers"},
		"stream|m_total{domain=~\".*\"}":        {"b-raw", "a-raw"},
		"stream|m_total{domain=~\"customers\"}": {"c-raw"},
	})
	defer srv.Close()
	d, err := ParseDashboard([]byte(testDash))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Queries()); n != 5 {
		t.Fatalf("%d queries (hidden and row targets handled wrong)", n)
	}
	c := &Client{URL: srv.URL}
	ctx := context.Background()

	vars, err := ResolveVariables(ctx, c, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if vars["domain"] != ".*" || vars["stream"] != "a-raw" || vars["__rate_interval"] != "1m" {
		t.Fatalf("vars = %v", vars)
	}
	vars, err = ResolveVariables(ctx, c, d, map[string]string{"domain": "customers"})
	if err != nil || vars["stream"] != "c-raw" {
		t.Fatalf("pinned domain: %v %v", vars, err)
	}
	if _, err := ResolveVariables(ctx, c, d, map[string]string{"domain": "nope"}); err == nil {
		t.Fatal("unknown pinned value accepted")
	}

	results := CheckDashboard(ctx, c, d, vars, map[string]string{"Allowed/A": "fine in tests"})
	got := map[string]string{}
	for _, r := range results {
		switch {
		case r.Err != nil:
			got[r.Query.Name()] = "error"
		case r.Missing:
			got[r.Query.Name()] = "missing"
		case r.Failed():
			got[r.Query.Name()] = "failed?"
		default:
			got[r.Query.Name()] = "ok"
		}
	}
	want := map[string]string{"Nested/A": "ok", "Empty/A": "missing", "Broken/A": "error", "Allowed/A": "ok", "Unknown var/A": "error"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %s, want %s (all: %v)", k, got[k], v, got)
		}
	}
	if results[0].Expr != `has_data{d=~"customers"}` || results[0].Series != 1 {
		t.Errorf("substitution/series: %+v", results[0])
	}
}

func TestVariableWithoutValuesFails(t *testing.T) {
	srv := fakeAPI(t, nil)
	defer srv.Close()
	d, _ := ParseDashboard([]byte(testDash))
	if _, err := ResolveVariables(context.Background(), &Client{URL: srv.URL}, d, nil); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestQueryScalar(t *testing.T) {
	srv := fakeAPI(t, nil)
	defer srv.Close()
	s, err := (&Client{URL: srv.URL}).Query(context.Background(), "scalar(1)")
	if err != nil || len(s) != 1 || s[0].Value != 1 {
		t.Fatalf("%v %v", s, err)
	}
}

func TestSubstituteAndVariables(t *testing.T) {
	expr := `label_replace(x{a=~"$domain",b="${stream}",c="${stream:regex}"}[$__rate_interval], "l", "$1", "s", "(.*)") + [[old]]`
	if v := strings.Join(Variables(expr), ","); v != "__rate_interval,domain,old,stream" {
		t.Fatalf("Variables = %s", v)
	}
	got, err := Substitute(expr, map[string]string{"domain": "orders", "stream": "s", "__rate_interval": "1m", "old": "7"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `label_replace(x{a=~"orders",b="s",c="s"}[1m], "l", "$1", "s", "(.*)") + 7`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := Substitute(expr, map[string]string{}); err == nil || !strings.Contains(err.Error(), "domain") {
		t.Fatalf("missing vars: %v", err)
	}
}

func TestCheckAllPassesAndReport(t *testing.T) {
	srv := fakeAPI(t, map[string][]string{
		"domain|m_total":                        {"orders", "customers"},
		"stream|m_total{domain=~\".*\"}":        {"a-raw"},
		"stream|m_total{domain=~\"customers\"}": {"c-raw"},
		"stream|m_total{domain=~\"orders\"}":    {"o-raw"},
	})
	defer srv.Close()
	d, _ := ParseDashboard([]byte(testDash))
	c := &Client{URL: srv.URL}
	passes, err := CheckAllPasses(context.Background(), c, d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var domains []string
	for _, p := range passes {
		domains = append(domains, p.Vars["domain"]+"/"+p.Vars["stream"])
	}
	if got := strings.Join(domains, ","); got != ".*/a-raw,customers/c-raw,orders/o-raw" {
		t.Fatalf("passes = %s", got)
	}
	var b strings.Builder
	// Per pass: Empty/A missing, Broken/A error, Allowed/A missing (no allow-list), Unknown var/A error.
	if failed := WriteReport(&b, d, passes); failed != 12 {
		t.Fatalf("failed = %d\n%s", failed, b.String())
	}
	if !strings.Contains(b.String(), "== domain=orders stream=o-raw") || !strings.Contains(b.String(), "15 queries in 3 passes, 12 failed") {
		t.Fatalf("report:\n%s", b.String())
	}
	pinned, err := CheckAllPasses(context.Background(), c, d, map[string]string{"domain": "orders"}, nil)
	if err != nil || len(pinned) != 1 {
		t.Fatalf("pinned: %d passes, %v", len(pinned), err)
	}
}
