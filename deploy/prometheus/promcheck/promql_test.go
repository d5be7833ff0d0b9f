package promcheck

import (
	"strings"
	"testing"
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, expr, want string
	}{
		{"bare", `meshgate_leases_held`, "meshgate_leases_held"},
		{"matchers and range", `rate(meshgate_records_in_total{domain=~"$domain", stream!="a}b"}[$__rate_interval])`, "meshgate_records_in_total"},
		{"by before", `sum by (domain, rule) (increase(meshgate_rule_failures_total[1h] offset 10m)) > 0`, "meshgate_rule_failures_total"},
		{"by after", `sum(rate(meshgate_sink_requests_total[5m])) by (sink, result)`, "meshgate_sink_requests_total"},
		{"binary with on/group_left", `a_total / on (stream) group_left (domain) b_total and ignoring (x) c unless d or e`, "a_total,b_total,c,d,e"},
		{"histogram_quantile", `histogram_quantile(0.99, sum by (le, sink) (rate(meshgate_sink_request_duration_seconds_bucket[1m])))`, "meshgate_sink_request_duration_seconds_bucket"},
		{"time and numbers", `time() - max by (stream, shard) (meshgate_checkpoint_last_success_timestamp_seconds) > 9e2 + 1.5e+3 - 0x1F`, "meshgate_checkpoint_last_success_timestamp_seconds"},
		{"subquery", `max_over_time(sum by (stream) (meshgate_leases_held)[1h:1m])`, "meshgate_leases_held"},
		{"absent and vector", `absent(meshgate_leases_held) or vector(0)`, "meshgate_leases_held"},
		{"label_replace strings", `label_replace(up, "a", "$1", "b", "(.*)")`, "up"},
		{"bool", `go_goroutines > bool 10`, "go_goroutines"},
		{"grafana vars", `sum(rate(${metric}[$__range])) + $x`, ""},
		{"comment", "x # y_total\n+ z", "x,z"},
		{"name matcher only", `{__name__="x"}`, ""},
		{"at modifier", `x @ start()`, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MetricNames(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tt.want {
				t.Fatalf("got %q, want %q", strings.Join(got, ","), tt.want)
			}
		})
	}
}

func TestMetricNamesErrors(t *testing.T) {
	for _, expr := range []string{`sum(x`, `x{a="b"`, `x[5m`, `x)`, `x{a="b}`, `sum by (a x`} {
		if _, err := MetricNames(expr); err == nil {
			t.Errorf("%q: no error", expr)
		}
	}
}

func TestCatalogKnowsHistogramSeries(t *testing.T) {
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := c.Unknown(`histogram_quantile(0.5, rate(meshgate_batch_duration_seconds_bucket[1m])) + go_gc_duration_seconds_count + meshgate_records_in_total + meshgate_nope_total + meshgate_leases_held_bucket`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(unknown, ",") != "meshgate_leases_held_bucket,meshgate_nope_total" {
		t.Fatalf("unknown = %v", unknown)
	}
}
