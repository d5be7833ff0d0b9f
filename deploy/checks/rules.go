package checks

import (
	"fmt"
	"os"
	"reflect"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// RuleFileGroups reads Prometheus rule files (deploy/prometheus/alerts.yaml, the output of
// `meshgate odcs alerts`) and returns their groups in order, decoded strictly into the
// Prometheus Operator's RuleGroup: a key the PrometheusRule CRD does not know is an error.
func RuleFileGroups(paths ...string) ([]monitoringv1.RuleGroup, error) {
	var out []monitoringv1.RuleGroup
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var f struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(data, &f); err != nil {
			return nil, fmt.Errorf("rule file %s: %w", p, err)
		}
		if len(f.Groups) == 0 {
			return nil, fmt.Errorf("rule file %s: no groups", p)
		}
		out = append(out, f.Groups...)
	}
	return out, nil
}

// checkPrometheusRule checks the rendered PrometheusRule: one when want.PrometheusRuleGroups is
// set, none otherwise; its labels include want.PrometheusRuleLabels; its groups are exactly the
// wanted ones (names unique, every rule an alert or a recording rule with an expression).
func checkPrometheusRule(add func(string, ...any), m *Manifests, want ChartExpect) {
	if want.PrometheusRuleGroups == nil {
		if len(m.PrometheusRules) != 0 {
			add("PrometheusRule rendered although disabled")
		}
		return
	}
	if len(m.PrometheusRules) != 1 {
		add("%d PrometheusRules, want 1", len(m.PrometheusRules))
		return
	}
	pr := m.PrometheusRules[0]
	for k, v := range want.PrometheusRuleLabels {
		if pr.Labels[k] != v {
			add("PrometheusRule label %s=%q, want %q (the Prometheus ruleSelector matches it)", k, pr.Labels[k], v)
		}
	}
	seen := map[string]bool{}
	for _, g := range pr.Spec.Groups {
		if g.Name == "" || seen[g.Name] {
			add("PrometheusRule group name %q empty or not unique", g.Name)
		}
		seen[g.Name] = true
		for i, r := range g.Rules {
			if (r.Alert == "") == (r.Record == "") || r.Expr.String() == "" {
				add("PrometheusRule group %s rule %d: want exactly one of alert/record and an expr, got %+v", g.Name, i, r)
			}
		}
	}
	if !reflect.DeepEqual(pr.Spec.Groups, want.PrometheusRuleGroups) {
		add("PrometheusRule groups %v differ from the rule files' groups %v", groupNames(pr.Spec.Groups), groupNames(want.PrometheusRuleGroups))
		byName := map[string]monitoringv1.RuleGroup{}
		for _, g := range pr.Spec.Groups {
			byName[g.Name] = g
		}
		for _, g := range want.PrometheusRuleGroups {
			got, ok := byName[g.Name]
			if !ok || reflect.DeepEqual(got, g) {
				continue
			}
			what := "its settings"
			for i := range max(len(got.Rules), len(g.Rules)) {
				if i >= len(got.Rules) || i >= len(g.Rules) || !reflect.DeepEqual(got.Rules[i], g.Rules[i]) {
					what = fmt.Sprintf("rule %d", i)
					if i < len(g.Rules) {
						what += " (" + g.Rules[i].Alert + g.Rules[i].Record + ")"
					}
					break
				}
			}
			add("PrometheusRule group %s differs from its rule file at %s (the chart's files/alerts.yaml is a copy of deploy/prometheus/alerts.yaml: make generate)", g.Name, what)
		}
	}
}

func groupNames(gs []monitoringv1.RuleGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}
