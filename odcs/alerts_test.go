package odcs

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/rules"
)

func TestBrokenWhen(t *testing.T) {
	tests := []struct {
		name, op  string
		operand   any
		want, thr string
	}{
		{"mustBe", "mustBe", json.Number("0"), "X != 0", "= 0"},
		{"mustNotBe", "mustNotBe", json.Number("3"), "X == 3", "!= 3"},
		{"greater", "mustBeGreaterThan", json.Number("100"), "X <= 100", "> 100"},
		{"greater or equal", "mustBeGreaterOrEqualTo", json.Number("1.5"), "X < 1.5", ">= 1.5"},
		{"less", "mustBeLessThan", json.Number("5"), "X >= 5", "< 5"},
		{"less or equal", "mustBeLessOrEqualTo", json.Number("2"), "X > 2", "<= 2"},
		{"between", "mustBeBetween", []any{json.Number("10"), json.Number("20")}, "X < 10 or X > 20", "between 10 and 20"},
		{"not between", "mustNotBeBetween", []any{json.Number("1"), json.Number("5")}, "X >= 1 and X <= 5", "not between 1 and 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, thr, err := brokenWhen("X", tt.op, tt.operand)
			if err != nil || got != tt.want || thr != tt.thr {
				t.Fatalf("brokenWhen = %q, %q, %v; want %q, %q", got, thr, err, tt.want, tt.thr)
			}
		})
	}
	if _, _, err := brokenWhen("X", "mustBe", "a"); err == nil || err.Error() != `threshold mustBe needs a number, got "a"` {
		t.Fatalf("non-numeric threshold: %v", err)
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found: apt-get install prometheus")
		}
		t.Skip("promtool not found; install the Debian package prometheus")
	}
	return p
}

// TestAlertsFireWhenThresholdsBreak renders the payments contract's aggregate thresholds
// as Prometheus rules and runs promtool's rule unit tests on synthetic worker metrics: the
// 2% nullValues threshold fires at 3% and not at 1%; the rowCount threshold (more than 100
// events per hour) fires for a silent stream and not for a busy one; the duplicateValues
// threshold (at most 0.5% of events repeat a payment's event type, counted as warnings of
// the unique rule payment.duplicateValues) fires at 1% and not at 0.3%.
func TestAlertsFireWhenThresholdsBreak(t *testing.T) {
	pt := promtool(t)
	c, err := LoadBinding(filepath.Join(exampleDir(t, "contracts"), "payments", "payments.meshgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := Alerts([]*Contract{c})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || len(groups[0].Rules) != 3 {
		t.Fatalf("want one group with three alerts, got %+v", groups)
	}
	for _, r := range groups[0].Rules {
		if !strings.Contains(r.Annotations["description"], "payments.odcs.yaml:") {
			t.Errorf("alert %s does not point back to the document: %q", r.Labels["check"], r.Annotations["description"])
		}
	}
	dir := t.TempDir()
	data, err := EncodeAlerts(groups)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(pt, "check", "rules", filepath.Join(dir, "alerts.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	// Annotations are rendered with the value; the unit test pins labels, so the rules
	// are tested without them.
	for i := range groups[0].Rules {
		groups[0].Rules[i].Annotations = nil
	}
	data, _ = EncodeAlerts(groups)
	if err := os.WriteFile(filepath.Join(dir, "bare.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	const tests = `rule_files: [bare.yaml]
evaluation_interval: 1m
tests:
  - name: 3% of payments without PSP reference break the 2% threshold
    interval: 1m
    input_series:
      - series: 'meshgate_records_in_total{domain="payments",stream="payments-raw",instance="w1"}'
        values: '0+100x80'
      - series: 'meshgate_rule_failures_total{domain="payments",rule="payment.psp_reference.nullValues",severity="warn",instance="w1"}'
        values: '0+3x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: MeshgateODCSQualityThreshold
        exp_alerts:
          - exp_labels: {severity: warning, domain: payments, check: payment.psp_reference.nullValues, metric: nullValues, window: 1h}
  - name: 1% stays within the threshold, and a busy stream keeps the row count
    interval: 1m
    input_series:
      - series: 'meshgate_records_in_total{domain="payments",stream="payments-raw",instance="w1"}'
        values: '0+100x80'
      - series: 'meshgate_rule_failures_total{domain="payments",rule="payment.psp_reference.nullValues",severity="warn",instance="w1"}'
        values: '0+1x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: MeshgateODCSQualityThreshold
        exp_alerts: []
  - name: 1% of payments repeating a payment's event type break the 0.5% duplicateValues threshold
    interval: 1m
    input_series:
      - series: 'meshgate_records_in_total{domain="payments",stream="payments-raw",instance="w1"}'
        values: '0+1000x80'
      - series: 'meshgate_rule_failures_total{domain="payments",rule="payment.duplicateValues",severity="warn",instance="w1"}'
        values: '0+10x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: MeshgateODCSQualityThreshold
        exp_alerts:
          - exp_labels: {severity: critical, domain: payments, check: payment.duplicateValues, metric: duplicateValues, window: 1h}
  - name: 0.3% of repeats stay within the duplicateValues threshold
    interval: 1m
    input_series:
      - series: 'meshgate_records_in_total{domain="payments",stream="payments-raw",instance="w1"}'
        values: '0+1000x80'
      - series: 'meshgate_rule_failures_total{domain="payments",rule="payment.duplicateValues",severity="warn",instance="w1"}'
        values: '0+3x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: MeshgateODCSQualityThreshold
        exp_alerts: []
  - name: a silent stream breaks the row count
    interval: 1m
    input_series:
      - series: 'meshgate_records_in_total{domain="payments",stream="payments-raw",instance="w1"}'
        values: '0x80'
    alert_rule_test:
      - eval_time: 70m
        alertname: MeshgateODCSQualityThreshold
        exp_alerts:
          - exp_labels: {severity: critical, domain: payments, check: payment.rowCount, metric: rowCount, window: 1h}
`
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), []byte(tests), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pt, "test", "rules", "alerts_test.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func TestAlertsWindowFromBinding(t *testing.T) {
	c := &Contract{Spec: &rules.Spec{Name: rules.Str{Value: "d"}}, Aggregates: []Aggregate{{
		Name: "o.x.invalidValues", Metric: "invalidValues", Rule: "o.x.invalidValues", Operator: "mustBeLessThan",
		Operand: Any{V: json.Number("10")}, Window: 15 * time.Minute, Severity: rules.SeverityWarn}}}
	groups, err := Alerts([]*Contract{c})
	if err != nil {
		t.Fatal(err)
	}
	want := `(sum(increase(meshgate_rule_failures_total{domain="d",rule="o.x.invalidValues"}[15m])) or vector(0)) >= 10`
	if got := groups[0].Rules[0].Expr; got != want {
		t.Fatalf("expr\n got %s\nwant %s", got, want)
	}
}
