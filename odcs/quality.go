package odcs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/rules"
	"gopkg.in/yaml.v3"
)

// Severity maps an ODCS quality severity to meshgate's: error quarantines, warn annotates.
// The standard leaves the word free; meshgate knows these spellings (case-insensitive).
func Severity(s string) (rules.Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "error", "critical", "fatal", "high", "blocker", "major":
		return rules.SeverityError, true
	case "warn", "warning", "minor", "low", "medium", "info":
		return rules.SeverityWarn, true
	}
	return "", false
}

// Engine is the custom quality engine meshgate runs: implementation is an expr expression.
const Engine = "meshgate"

// qualities maps the quality entries at one place. place ends in "." (or is the rule
// prefix) and names the rules; acc reads the property's value ("" at schema level).
// Per-event rules read the value through acc; custom meshgate rules see the whole event
// and go straight to the contract's rules.
func (m *mapper) qualities(qs []*Quality, place, acc string) []rules.SpecRule {
	var out []rules.SpecRule
	where := strings.TrimSuffix(place, ".")
	if where == "" {
		where = "the schema object"
	}
	for i, q := range qs {
		pos := m.pos(q.Pos)
		base := q.Name
		if base == "" {
			base = q.ID
		}
		kind := q.Type
		if kind == "" && q.Metric != "" {
			kind = "library"
		}
		label := fmt.Sprintf("quality entry %d of %s", i+1, where)
		if base != "" {
			label = fmt.Sprintf("quality entry %q of %s", base, where)
		}
		sev, ok := Severity(q.Severity)
		if !ok {
			sp := pos
			if q.node != nil {
				if n := key(q.node, "severity"); n != nil {
					sp = rules.Pos{File: m.doc.File, Line: n.Line, Col: n.Column}
				}
			}
			m.errorf(sp, "%s: severity %q is not one meshgate knows (error, critical, fatal, high, blocker, major; warn, warning, minor, low, medium, info)", label, q.Severity)
			continue
		}
		switch kind {
		case "", "text":
			m.note(pos, "%s (text) is documentation only: not enforced on the stream", label)
		case "sql":
			m.note(pos, "%s (sql) is not enforced on the stream: SQL runs against a table, meshgate judges single events", label)
		case "custom":
			if q.Engine != Engine {
				m.note(pos, "%s (custom, engine %s) is not enforced on the stream: meshgate runs only engine %s", label, q.Engine, Engine)
				continue
			}
			if r, ok := m.custom(q, place, base, sev); ok {
				m.extra = append(m.extra, r)
			}
		case "library":
			explicit := base != ""
			if !explicit {
				base = q.Metric
			}
			out = append(out, m.library(q, place, acc, base, explicit, label, sev)...)
		}
	}
	return out
}

// custom maps a custom entry of engine meshgate: its implementation is the check, taken
// verbatim, or a mapping {check, when}, or {unique: {key, window, maxKeys}, when} for a
// unique rule in the native syntax. It sees the whole event wherever it is written.
func (m *mapper) custom(q *Quality, place, base string, sev rules.Severity) (rules.SpecRule, bool) {
	explicit := base != ""
	if !explicit {
		base = "check"
	}
	name := m.name(place+base, explicit)
	pos := m.pos(q.Pos)
	r := rules.SpecRule{Name: rules.Str{Value: name, Pos: pos}, Severity: rules.Str{Value: string(sev), Pos: pos},
		Message: rules.Str{Value: q.Description, Pos: pos}, Pos: pos}
	impl := key(q.node, "implementation")
	if impl == nil {
		m.errorf(pos, "custom entry %s has no implementation", name)
		return r, false
	}
	d := newNodes(m.doc.File)
	switch impl.Kind {
	case yaml.ScalarNode:
		r.Check = rules.ExprFromNode(m.doc.File, impl)
	case yaml.MappingNode:
		present := d.object(impl, "meshgate implementation", fieldSet{
			"check":  func(v *yaml.Node) { r.Check = d.rexpr(v, "check") },
			"when":   func(v *yaml.Node) { r.When = d.rexpr(v, "when") },
			"unique": func(v *yaml.Node) { r.Unique = d.unique(v) },
		})
		_, check := present["check"]
		switch _, unique := present["unique"]; {
		case unique && check:
			d.beyondf(impl, "meshgate implementation: check and unique exclude each other")
		case unique:
			if sev == rules.SeverityError && q.Severity != "" {
				m.errorf(pos, "custom entry %s: a unique implementation is a warning (severity warn): whether an event repeats a key depends on what the worker judged before, and routing must stay a function of the event", name)
				return r, false
			}
			r.Severity.Value = string(rules.SeverityWarn)
		default:
			d.require(impl, "meshgate implementation", present, "check")
		}
	}
	for _, p := range d.probs {
		p.Beyond = true
	}
	m.probs = append(m.probs, d.probs...)
	if r.Unique == nil && strings.TrimSpace(r.Check.Src) == "" && len(d.probs) == 0 {
		m.errorf(pos, "custom entry %s: the implementation (an expr expression) is empty", name)
		return r, false
	}
	if r.Message.Value == "" {
		r.Message.Value = "rule " + name + " failed"
	}
	return r, len(d.probs) == 0
}

// library maps a library metric. nullValues, missingValues and invalidValues are
// predicates on one value: with a threshold that tolerates no failing event they are
// per-event rules; with any other threshold (a percentage, a tolerated count) the predicate
// becomes a warn rule whose failures are counted and the threshold an Aggregate (an alert).
// rowCount is an Aggregate on the event count; duplicateValues is a unique rule (warn)
// whose failures the threshold counts.
func (m *mapper) library(q *Quality, place, acc, base string, explicit bool, label string, sev rules.Severity) []rules.SpecRule {
	pos := m.pos(q.Pos)
	argPos := func(k string) rules.Pos {
		if p, ok := q.ArgPos[k]; ok {
			return m.pos(p)
		}
		return pos
	}
	unit := strings.ToLower(q.Unit)
	percent := unit == "percent" || unit == "%"
	if !percent && unit != "" && unit != "rows" && unit != "row" && unit != "count" {
		m.errorf(pos, "%s: unit %q is not understood (rows or percent)", label, q.Unit)
		return nil
	}
	allowed := map[string][]string{"invalidValues": {"validValues", "pattern"}, "missingValues": {"missingValues"},
		"duplicateValues": {"properties"}, "nullValues": nil, "rowCount": nil}[q.Metric]
	for k := range q.Arguments {
		if !contains(allowed, k) {
			m.errorf(argPos(k), "%s: argument %q is not one meshgate knows for %s (known: %s)", label, k, q.Metric, strings.Join(allowed, ", "))
			return nil
		}
	}
	if _, _, err := brokenWhen("x", q.Operator, q.Operand.V); err != nil {
		m.errorf(pos, "%s: %v", label, err)
		return nil
	}
	threshold := fmt.Sprintf("%s %s", q.Operator, renderJSON(q.Operand.V))
	if percent {
		threshold += " percent"
	}
	switch q.Metric {
	case "duplicateValues":
		m.duplicates(q, place, acc, base, explicit, label, threshold, sev, argPos)
		return nil
	case "rowCount":
		name := m.name(place+base, explicit)
		m.aggs = append(m.aggs, Aggregate{Name: name, Pos: pos, Metric: q.Metric, Operator: q.Operator, Operand: q.Operand,
			Percent: percent, Window: m.window, Severity: sev, Description: q.Description})
		m.note(pos, "%s (rowCount %s) is aggregate: it becomes alert %s on the events per %s window, not a routing decision", label, threshold, name, rules.ShortDuration(m.window))
		return nil
	}
	if acc == "" {
		m.note(pos, "%s (%s) names no property: not enforced on the stream (write it under the property it checks)", label, q.Metric)
		return nil
	}
	var check, msg string
	what := strings.TrimSuffix(place, ".")
	switch q.Metric {
	case "nullValues":
		check = acc + " != nil"
		msg = what + " must not be null"
	case "missingValues":
		lits := []string{}
		if a, ok := q.Arguments["missingValues"]; ok {
			vs, ok := a.V.([]any)
			if !ok {
				m.errorf(argPos("missingValues"), "%s: arguments.missingValues must be a list of values", label)
				return nil
			}
			for _, v := range vs {
				if v != nil {
					lits = append(lits, exprLiteral(v))
				}
			}
		} else {
			lits = append(lits, `""`)
		}
		check = acc + " != nil"
		if len(lits) > 0 {
			check += fmt.Sprintf(" && !one_of(%s, %s)", acc, strings.Join(lits, ", "))
		}
		msg = what + " must not be missing (null or " + strings.Join(lits, ", ") + ")"
	case "invalidValues":
		var parts []string
		if a, ok := q.Arguments["validValues"]; ok {
			vs, ok := a.V.([]any)
			if !ok || len(vs) == 0 {
				m.errorf(argPos("validValues"), "%s: arguments.validValues must be a non-empty list of values", label)
				return nil
			}
			lits := make([]string, len(vs))
			for i, v := range vs {
				lits[i] = exprLiteral(v)
			}
			parts = append(parts, fmt.Sprintf("one_of(%s, %s)", acc, strings.Join(lits, ", ")))
			msg = what + " must be one of " + strings.Join(lits, ", ")
		}
		if a, ok := q.Arguments["pattern"]; ok {
			p, ok := a.V.(string)
			if !ok {
				m.errorf(argPos("pattern"), "%s: arguments.pattern must be a string", label)
				return nil
			}
			if _, err := regexp.Compile(p); err != nil {
				m.errorf(argPos("pattern"), "%s: pattern %q is not a regular expression meshgate (Go RE2) can run: %v", label, p, err)
				return nil
			}
			parts = append(parts, fmt.Sprintf("is_string(%s) && match(%s, %s)", acc, acc, strconv.Quote(p)))
			if msg != "" {
				msg += " and "
			} else {
				msg = what + " "
			}
			msg += "must match " + p
		}
		if len(parts) == 0 {
			m.errorf(pos, "%s: invalidValues needs arguments.validValues or arguments.pattern to say what is valid", label)
			return nil
		}
		check = acc + " == nil || " + strings.Join(parts, " && ")
		if len(parts) > 1 {
			check = acc + " == nil || (" + strings.Join(parts, ") && (") + ")"
		}
	}
	if q.Description != "" {
		msg = q.Description
	}
	name := m.name(place+base, explicit)
	r := m.rule(name, pos, check, msg)
	if zeroTolerance(q.Operator, q.Operand.V, percent) {
		r.Severity = rules.Str{Value: string(sev), Pos: pos}
		return []rules.SpecRule{r}
	}
	r.Severity = rules.Str{Value: string(rules.SeverityWarn), Pos: pos}
	m.aggs = append(m.aggs, Aggregate{Name: name, Pos: pos, Metric: q.Metric, Rule: name, Operator: q.Operator, Operand: q.Operand,
		Percent: percent, Window: m.window, Severity: sev, Description: q.Description})
	m.note(pos, "%s (%s %s) is aggregate: each failing event is a warning of rule %s (it still goes to the curated stream) and the threshold becomes an alert over a %s window",
		label, q.Metric, threshold, name, rules.ShortDuration(m.window))
	return []rules.SpecRule{r}
}

// unique reads {key: expr | [expr, ...], window: 1h, maxKeys: 100000}, the native syntax of
// a unique rule; window and maxKeys are checked by the engine.
func (d *nodes) unique(n *yaml.Node) *rules.SpecUnique {
	n = d.deref(n)
	if n == nil {
		return nil
	}
	u := &rules.SpecUnique{Pos: d.rpos(n)}
	d.object(n, "unique", fieldSet{
		"key": func(v *yaml.Node) {
			if v = d.deref(v); v != nil && v.Kind == yaml.SequenceNode {
				for _, it := range v.Content {
					u.Key = append(u.Key, d.rexpr(it, "unique.key"))
				}
				return
			}
			u.Key = append(u.Key, d.rexpr(v, "unique.key"))
		},
		"window": func(v *yaml.Node) { u.Window = d.rstr(v, "unique.window") },
		"maxKeys": func(v *yaml.Node) {
			if i, ok := d.integer(v, "unique.maxKeys"); ok {
				u.MaxKeys = &rules.IntFacet{Value: int(i), Pos: d.rpos(d.deref(v))}
			}
		},
	})
	return u
}

// duplicates maps duplicateValues: on a property, the property's value is the key; on the
// schema object, arguments.properties names the top-level properties whose values together
// are the key. The key becomes a unique rule (each repeat within the binding's window is a
// warning, never a routing decision) and the threshold, whatever it is, an alert counting
// those warnings over the same window.
func (m *mapper) duplicates(q *Quality, place, acc, base string, explicit bool, label, threshold string, sev rules.Severity, argPos func(string) rules.Pos) {
	pos := m.pos(q.Pos)
	var accs []string
	switch a, ok := q.Arguments["properties"]; {
	case acc != "" && ok:
		m.errorf(argPos("properties"), "%s: arguments.properties is for duplicateValues on the schema object; under a property the property is the key", label)
		return
	case strings.HasPrefix(acc, "#"):
		m.note(pos, "%s (duplicateValues %s) inside array items is not enforced on the stream (uniqueness across events needs a key of the event; use uniqueItems for uniqueness within the array)", label, threshold)
		return
	case acc != "":
		accs = []string{acc}
	case !ok:
		m.note(pos, "%s (duplicateValues) names no property: not enforced on the stream (write it under the property it checks, or list the key's properties in arguments.properties)", label)
		return
	default:
		vs, isList := a.V.([]any)
		if !isList || len(vs) == 0 {
			m.errorf(argPos("properties"), "%s: arguments.properties must be a non-empty list of property names", label)
			return
		}
		for _, v := range vs {
			name, _ := v.(string)
			p := m.topProperty(name)
			if p == nil {
				m.errorf(argPos("properties"), "%s: arguments.properties names %s, which is not a top-level property of %s", label, renderJSON(v), strings.TrimSuffix(m.prefix, "."))
				return
			}
			accs = append(accs, accessor("", p.Key()))
		}
	}
	name := m.name(place+base, explicit)
	m.extra = append(m.extra, m.uniqueRule(name, pos, accs, q.Description))
	m.aggs = append(m.aggs, Aggregate{Name: name, Pos: pos, Metric: q.Metric, Rule: name, Operator: q.Operator, Operand: q.Operand,
		Percent: strings.EqualFold(q.Unit, "percent") || q.Unit == "%", Window: m.window, Severity: sev, Description: q.Description})
	m.note(pos, "%s (duplicateValues %s) is aggregate: each event whose key another record had within the %s window (as seen by the judging worker) is a warning of rule %s (it still goes to the curated stream) and the threshold becomes an alert over the same window",
		label, threshold, rules.ShortDuration(m.window), name)
}

// topProperty returns the top-level property of the event's schema object whose name (or
// physicalName) is name, or nil.
func (m *mapper) topProperty(name string) *Property {
	if m.obj == nil || name == "" {
		return nil
	}
	for _, p := range m.obj.Properties {
		if p.Name == name || p.Key() == name {
			return p
		}
	}
	return nil
}

// zeroTolerance reports whether a threshold on a count of failing events tolerates none,
// so that every failing event breaks the contract on its own.
func zeroTolerance(op string, operand any, percent bool) bool {
	n, ok := operand.(json.Number)
	if !ok {
		return false
	}
	v, err := n.Float64()
	if err != nil {
		return false
	}
	switch op {
	case "mustBe":
		return v == 0
	case "mustBeLessOrEqualTo":
		if percent {
			return v <= 0
		}
		return v < 1
	case "mustBeLessThan":
		if percent {
			return false
		}
		return v <= 1
	}
	return false
}

// exprLiteral renders a JSON scalar as an expr literal.
func exprLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, err := x.Float64(); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	b, _ := json.Marshal(v)
	return strconv.Quote(string(b))
}

func renderJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
