package odcs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/meshgate/meshgate/rules"
)

// AlertName is the Prometheus alert of every aggregate ODCS quality threshold; the labels
// domain and check (the entry's name after its place) tell them apart.
const AlertName = "MeshgateODCSQualityThreshold"

// PromRule is one Prometheus alerting rule.
type PromRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// PromGroup is one Prometheus rule group.
type PromGroup struct {
	Name  string     `yaml:"name"`
	Rules []PromRule `yaml:"rules"`
}

// Alerts turns the aggregate quality entries of the contracts into Prometheus alerting
// rules over the worker's metrics, one group per domain. A threshold on failing events
// (nullValues, missingValues, invalidValues) counts the failures of the entry's per-event
// warn rule in meshgate_rule_failures_total over the window, as a percentage of
// meshgate_records_in_total when the unit is percent; rowCount counts
// meshgate_records_in_total. An alert fires while the threshold is broken.
func Alerts(cs []*Contract) ([]PromGroup, error) {
	var out []PromGroup
	for _, c := range cs {
		if len(c.Aggregates) == 0 {
			continue
		}
		domain := c.Spec.Name.Value
		g := PromGroup{Name: "meshgate-odcs-" + domain}
		for _, a := range c.Aggregates {
			r, err := alertRule(domain, a)
			if err != nil {
				return nil, fmt.Errorf("%s:%d:%d: %s: %w", a.Pos.File, a.Pos.Line, a.Pos.Col, a.Name, err)
			}
			g.Rules = append(g.Rules, r)
		}
		out = append(out, g)
	}
	return out, nil
}

// EncodeAlerts renders groups as a Prometheus rule file.
func EncodeAlerts(groups []PromGroup) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Prometheus alerting rules for the aggregate quality thresholds of ODCS contracts,\n")
	b.WriteString("# written by `meshgate odcs alerts`. Load with rule_files.\n")
	if err := encodeYAML(&b, map[string]any{"groups": groups}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func promQuote(s string) string {
	return strconv.Quote(s) // PromQL string literals accept Go's escapes
}

func alertRule(domain string, a Aggregate) (PromRule, error) {
	window := promDuration(a.Window)
	var value, what string
	switch {
	case a.Metric == "rowCount":
		value = fmt.Sprintf("(sum(increase(meshgate_records_in_total{domain=%s}[%s])) or vector(0))", promQuote(domain), window)
		what = "events"
		if a.Percent {
			return PromRule{}, fmt.Errorf("rowCount cannot be a percentage")
		}
	case a.Percent:
		value = fmt.Sprintf("(100 * sum(increase(meshgate_rule_failures_total{domain=%s,rule=%s}[%s])) / sum(increase(meshgate_records_in_total{domain=%s}[%s])))",
			promQuote(domain), promQuote(a.Rule), window, promQuote(domain), window)
		what = "percent of events failing " + a.Metric
	default:
		value = fmt.Sprintf("(sum(increase(meshgate_rule_failures_total{domain=%s,rule=%s}[%s])) or vector(0))",
			promQuote(domain), promQuote(a.Rule), window)
		what = "events failing " + a.Metric
	}
	broken, threshold, err := brokenWhen(value, a.Operator, a.Operand.V)
	if err != nil {
		return PromRule{}, err
	}
	severity := "warning"
	if a.Severity == rules.SeverityError {
		severity = "critical"
	}
	desc := a.Description
	if desc == "" {
		desc = fmt.Sprintf("%s %s", a.Metric, threshold)
	}
	return PromRule{
		Alert: AlertName,
		Expr:  broken,
		Labels: map[string]string{"severity": severity, "domain": domain, "check": a.Name, "metric": a.Metric,
			"window": window},
		Annotations: map[string]string{
			"summary": fmt.Sprintf("meshgate: ODCS check %s of %s broken: {{ $value }} %s per %s (must be %s)",
				a.Name, domain, what, window, threshold),
			"description": fmt.Sprintf("%s (quality entry at %s:%d:%d). The contract requires %s %s over %s; meshgate judges it over its metrics, not per event.",
				desc, a.Pos.File, a.Pos.Line, a.Pos.Col, what, threshold, window),
		},
	}, nil
}

// brokenWhen renders the PromQL condition under which the threshold op/operand is broken.
func brokenWhen(value, op string, operand any) (expr, threshold string, err error) {
	numText := func(v any) (string, error) {
		n, ok := v.(json.Number)
		if !ok {
			return "", fmt.Errorf("threshold %s needs a number, got %s", op, renderJSON(v))
		}
		if _, err := n.Float64(); err != nil {
			return "", err
		}
		return string(n), nil
	}
	words := map[string]string{"mustBe": "=", "mustNotBe": "!=", "mustBeGreaterThan": ">", "mustBeGreaterOrEqualTo": ">=",
		"mustBeLessThan": "<", "mustBeLessOrEqualTo": "<="}
	negated := map[string]string{"mustBe": "!=", "mustNotBe": "==", "mustBeGreaterThan": "<=", "mustBeGreaterOrEqualTo": "<",
		"mustBeLessThan": ">=", "mustBeLessOrEqualTo": ">"}
	switch op {
	case "mustBeBetween", "mustNotBeBetween":
		pair, ok := operand.([]any)
		if !ok || len(pair) != 2 {
			return "", "", fmt.Errorf("%s needs two numbers", op)
		}
		lo, err := numText(pair[0])
		if err != nil {
			return "", "", err
		}
		hi, err := numText(pair[1])
		if err != nil {
			return "", "", err
		}
		if op == "mustBeBetween" {
			return fmt.Sprintf("%s < %s or %s > %s", value, lo, value, hi), fmt.Sprintf("between %s and %s", lo, hi), nil
		}
		return fmt.Sprintf("%s >= %s and %s <= %s", value, lo, value, hi), fmt.Sprintf("not between %s and %s", lo, hi), nil
	}
	neg, ok := negated[op]
	if !ok {
		return "", "", fmt.Errorf("unknown operator %q", op)
	}
	v, err := numText(operand)
	if err != nil {
		return "", "", err
	}
	return fmt.Sprintf("%s %s %s", value, neg, v), words[op] + " " + v, nil
}

// promDuration renders a window in Prometheus duration syntax (1h, 15m, 90s).
func promDuration(d interface{ Seconds() float64 }) string {
	s := int64(d.Seconds())
	switch {
	case s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	}
	return fmt.Sprintf("%ds", max(s, 1))
}
