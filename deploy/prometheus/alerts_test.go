package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/deploy/prometheus/promcheck"
	"gopkg.in/yaml.v3"
)

type ruleFile struct {
	Groups []struct {
		Name  string           `yaml:"name"`
		Rules []map[string]any `yaml:"rules"`
	} `yaml:"groups"`
}

type testFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string           `yaml:"eval_time"`
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
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

func alerts(t *testing.T) (ruleFile, []map[string]any) {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal(Alerts, &rf); err != nil {
		t.Fatal(err)
	}
	var all []map[string]any
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if _, ok := r["alert"]; ok {
				all = append(all, r)
			}
		}
	}
	if len(all) == 0 {
		t.Fatal("no alerts in alerts.yaml")
	}
	return rf, all
}

func TestPromtoolCheckAndTestRules(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		out, err := exec.Command(pt, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertHasFiringAndQuietCases checks the shape of alerts_test.yaml: each alert has
// at least one evaluation expecting it to fire and one expecting silence, and no test
// names an alert that does not exist.
func TestEveryAlertHasFiringAndQuietCases(t *testing.T) {
	_, all := alerts(t)
	raw, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tf testFile
	if err := yaml.Unmarshal(raw, &tf); err != nil {
		t.Fatal(err)
	}
	firing, quiet := map[string]int{}, map[string]int{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname]++
			} else {
				quiet[a.Alertname]++
			}
		}
	}
	names := map[string]bool{}
	for _, r := range all {
		name := r["alert"].(string)
		names[name] = true
		if firing[name] == 0 {
			t.Errorf("%s: no test expects it to fire", name)
		}
		if quiet[name] == 0 {
			t.Errorf("%s: no test expects it to stay quiet", name)
		}
	}
	for name := range firing {
		if !names[name] {
			t.Errorf("alerts_test.yaml tests unknown alert %s", name)
		}
	}
}

func TestAlertsUseOnlyExportedMetrics(t *testing.T) {
	cat, err := promcheck.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	_, all := alerts(t)
	for _, r := range all {
		expr, _ := r["expr"].(string)
		names, err := promcheck.MetricNames(expr)
		if err != nil {
			t.Errorf("%s: %v", r["alert"], err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: expression uses no metric", r["alert"])
		}
		unknown, _ := cat.Unknown(expr)
		if len(unknown) > 0 {
			t.Errorf("%s uses metrics meshgate does not export: %v", r["alert"], unknown)
		}
	}
}

// TestMutantsAreCaught breaks one alert at a time and requires the promtool unit tests to
// notice: an alert that can never fire (proves a firing case exists), and the same alert
// without its `for` (proves the pending period is tested).
func TestMutantsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("runs promtool once per mutant (~2 s each)")
	}
	pt := promtool(t)
	raw, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, all := alerts(t)
	for i := range all {
		name := all[i]["alert"].(string)
		mutants := map[string]func(r map[string]any){
			"never fires": func(r map[string]any) { r["expr"] = "vector(1) < 0" },
		}
		control := "unchanged" // the reduced tests must pass on the real rules
		mutants[control] = func(map[string]any) {}
		if _, ok := all[i]["for"]; ok {
			mutants["no for"] = func(r map[string]any) { delete(r, "for") }
		}
		testYAML := testsFor(t, raw, name) // only this alert's cases: a faster promtool run
		for mname, mutate := range mutants {
			t.Run(name+"/"+mname, func(t *testing.T) {
				rf, rules := alerts(t) // fresh copy
				mutate(rules[i])
				out, err := yaml.Marshal(rf)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "alerts.yaml"), out, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), testYAML, 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(pt, "test", "rules", "alerts_test.yaml")
				cmd.Dir = dir
				res, err := cmd.CombinedOutput()
				switch {
				case mname == control && err != nil:
					t.Errorf("%s's own tests fail on the unchanged rules: %v\n%s", name, err, res)
				case mname != control && err == nil:
					t.Errorf("promtool tests still pass with %s %s:\n%s", name, mname, res)
				}
			})
		}
	}
}

// testsFor returns the promtool test file reduced to the evaluations of one alert.
func testsFor(t *testing.T, raw []byte, alert string) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, tc := range doc["tests"].([]any) {
		tc := tc.(map[string]any)
		var evals []any
		for _, e := range tc["alert_rule_test"].([]any) {
			if e.(map[string]any)["alertname"] == alert {
				evals = append(evals, e)
			}
		}
		if len(evals) > 0 {
			tc["alert_rule_test"] = evals
			kept = append(kept, tc)
		}
	}
	if len(kept) == 0 {
		t.Fatalf("no tests for %s", alert)
	}
	doc["tests"] = kept
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
