package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// CaseResult is the outcome of one fixture case.
type CaseResult struct {
	File     string
	Contract string // domain, with " (shadow)" for shadow contracts
	Case     *FixtureCase
	// Problems lists every way the verdict differs from the expectation; empty means the case passed.
	Problems []string
	Verdict  Verdict
}

// OK reports whether the case passed.
func (r CaseResult) OK() bool { return len(r.Problems) == 0 }

// RuleCoverage counts the cases in which a rule applied and passed, and in which it failed.
type RuleCoverage struct {
	Rule   string
	Pos    Pos
	Passed int
	Failed int
}

// Covered reports whether the rule has at least one passing and one failing case.
func (c RuleCoverage) Covered() bool { return c.Passed > 0 && c.Failed > 0 }

// Coverage is the rule coverage of one contract's own rules (derived and written) or of one
// policy's rules (across every contract it applies to).
type Coverage struct {
	// Name is "orders", "orders (shadow)" or "policy envelope".
	Name  string
	Cases int
	Rules []RuleCoverage
}

// Gaps returns one line per rule that lacks a passing or a failing case.
func (c Coverage) Gaps() []string {
	var out []string
	for _, r := range c.Rules {
		switch {
		case r.Passed == 0 && r.Failed == 0:
			out = append(out, r.Rule+": no passing and no failing case")
		case r.Passed == 0:
			out = append(out, r.Rule+": no passing case")
		case r.Failed == 0:
			out = append(out, r.Rule+": no failing case")
		}
	}
	return out
}

// FixtureReport is the result of running every fixture of a set.
type FixtureReport struct {
	Results  []CaseResult
	Coverage []Coverage
}

// Failed reports whether any case failed.
func (r *FixtureReport) Failed() bool {
	for _, c := range r.Results {
		if !c.OK() {
			return true
		}
	}
	return false
}

// CoverageGaps reports whether any rule lacks a passing or a failing case.
func (r *FixtureReport) CoverageGaps() bool {
	for _, c := range r.Coverage {
		if len(c.Gaps()) > 0 {
			return true
		}
	}
	return false
}

// RunFixtures judges every fixture case of the set with its contract, rule by rule (so
// coverage knows which rules applied), and compares the verdicts with the expectations.
// Each case is judged on its own, with empty memories for unique rules, after the events of
// the cases it lists in after: (judged first, in that order, at their own now): so a case
// says explicitly which earlier events make its event a repeat.
func RunFixtures(s *Set) *FixtureReport {
	rep := &FixtureReport{}
	e := NewEvaluator()
	type cov struct {
		name  string
		cases int
		rules map[string]*RuleCoverage
		order []string
	}
	covs := map[string]*cov{}
	var covOrder []string
	getCov := func(name string) *cov {
		c, ok := covs[name]
		if !ok {
			c = &cov{name: name, rules: map[string]*RuleCoverage{}}
			covs[name] = c
			covOrder = append(covOrder, name)
		}
		return c
	}
	addRule := func(cv *cov, r *rule) *RuleCoverage {
		rc, ok := cv.rules[r.name]
		if !ok {
			rc = &RuleCoverage{Rule: r.name, Pos: r.pos}
			cv.rules[r.name] = rc
			cv.order = append(cv.order, r.name)
		}
		return rc
	}
	contractName := func(c *Contract) string {
		if c.Stage == StageShadow {
			return c.Domain + " (shadow)"
		}
		return c.Domain
	}
	// Every contract and policy appears in the coverage, with or without fixtures.
	for _, c := range append(append([]*Contract{}, s.contracts...), s.shadows...) {
		cv := getCov(contractName(c))
		for _, r := range c.rules {
			if r.source == "" || r.source == "fields" {
				addRule(cv, r)
			} else {
				addRule(getCov("policy "+r.source), r)
			}
		}
	}
	for fi := range s.fixtures {
		ff := &s.fixtures[fi]
		c := s.ByDomain(ff.Contract)
		if ff.Stage == StageShadow {
			c = s.Shadow(ff.Contract)
		}
		if c == nil {
			continue
		}
		name := contractName(c)
		for ci := range ff.Cases {
			fc := &ff.Cases[ci]
			now := fc.Now
			if now.IsZero() {
				now = time.Now()
			}
			if c.HasUniqueRules() {
				// Every case starts with empty memories; the events of its after: cases
				// are judged first, in order, so it can expect a repeat to warn.
				e.UseState(NewState())
				for _, ai := range fc.After {
					prev := &ff.Cases[ai]
					at := prev.Now
					if at.IsZero() {
						at = now
					}
					e.judge(c, Input{Data: prev.Data, PartitionKey: prev.PartitionKey, Now: at}, nil)
				}
			}
			tr := &ruleTrace{applied: make([]bool, len(c.rules)), failed: make([]bool, len(c.rules))}
			v := e.judge(c, Input{Data: fc.Data, PartitionKey: fc.PartitionKey, Now: now}, tr)
			res := CaseResult{File: ff.File, Contract: name, Case: fc, Verdict: v, Problems: compareCase(fc, v)}
			rep.Results = append(rep.Results, res)
			getCov(name).cases++
			if v.Decode != nil {
				continue
			}
			for i, r := range c.rules {
				cv := getCov(name)
				if r.source != "" && r.source != "fields" {
					cv = getCov("policy " + r.source)
				}
				rc := addRule(cv, r)
				switch {
				case tr.failed[i]:
					rc.Failed++
				case tr.applied[i]:
					rc.Passed++
				}
			}
		}
	}
	for _, name := range covOrder {
		cv := covs[name]
		c := Coverage{Name: name, Cases: cv.cases}
		for _, r := range cv.order {
			c.Rules = append(c.Rules, *cv.rules[r])
		}
		rep.Coverage = append(rep.Coverage, c)
	}
	sort.SliceStable(rep.Coverage, func(i, j int) bool {
		pi, pj := strings.HasPrefix(rep.Coverage[i].Name, "policy "), strings.HasPrefix(rep.Coverage[j].Name, "policy ")
		if pi != pj {
			return !pi
		}
		return rep.Coverage[i].Name < rep.Coverage[j].Name
	})
	return rep
}

func outcomeWord(o Outcome) string {
	switch o {
	case Passed:
		return ExpectPass
	case Warned:
		return ExpectWarn
	}
	return ExpectQuarantine
}

// compareCase lists the differences between a verdict and a case's expectations.
func compareCase(fc *FixtureCase, v Verdict) []string {
	var out []string
	failing := make([]string, 0, len(v.Violations))
	for _, vi := range v.Violations {
		failing = append(failing, vi.Rule)
	}
	describe := func() string {
		if v.Decode != nil {
			return "decode failure " + v.Decode.Reason + " (" + v.Decode.Detail + ")"
		}
		if len(v.Violations) == 0 {
			return "no failing rules"
		}
		parts := make([]string, len(v.Violations))
		for i, vi := range v.Violations {
			parts[i] = vi.Rule
			if vi.Error != "" {
				parts[i] += " (error: " + vi.Error + ")"
			} else if vi.Value != "" {
				parts[i] += " (value " + vi.Value + ")"
			}
		}
		return "failing rules: " + strings.Join(parts, ", ")
	}
	if got := outcomeWord(v.Outcome); got != fc.Expect {
		out = append(out, fmt.Sprintf("expected %s, got %s; %s", fc.Expect, got, describe()))
	}
	if fc.Decode != "" {
		switch {
		case v.Decode == nil:
			out = append(out, fmt.Sprintf("expected decode failure %s, got none", fc.Decode))
		case v.Decode.Reason != fc.Decode:
			out = append(out, fmt.Sprintf("expected decode failure %s, got %s (%s)", fc.Decode, v.Decode.Reason, v.Decode.Detail))
		}
	} else if v.Decode != nil && fc.Expect == ExpectQuarantine {
		out = append(out, "unexpected "+describe())
	}
	if fc.HasFailures {
		want := append([]string(nil), fc.Failures...)
		got := append([]string(nil), failing...)
		sort.Strings(want)
		sort.Strings(got)
		if !reflect.DeepEqual(want, got) {
			missing, extra := diffSets(want, got)
			msg := fmt.Sprintf("expected failures [%s], got [%s]", strings.Join(want, " "), strings.Join(got, " "))
			if len(missing) > 0 {
				msg += "; did not fail: " + strings.Join(missing, " ")
			}
			if len(extra) > 0 {
				msg += "; also failed: " + strings.Join(extra, " ")
			}
			for _, vi := range v.Violations {
				if vi.Error != "" && contains(extra, vi.Rule) {
					msg += fmt.Sprintf("\n%s error: %s", vi.Rule, vi.Error)
				}
			}
			out = append(out, msg)
		}
	}
	if len(fc.Enriched) > 0 || len(fc.Absent) > 0 {
		if v.Output == nil {
			out = append(out, "expected an enriched output, got none ("+describe()+")")
			return out
		}
		dec := json.NewDecoder(bytes.NewReader(v.Output))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			out = append(out, "output is not valid JSON: "+err.Error())
			return out
		}
		for _, fe := range fc.Enriched {
			got, ok := getPath(doc, strings.Split(fe.Path, "."))
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("output has no %s (want %s)", fe.Path, jsonText(fe.Value)))
			case !sameJSON(got, fe.Value):
				out = append(out, fmt.Sprintf("output %s = %s, want %s", fe.Path, jsonText(got), jsonText(fe.Value)))
			}
		}
		for _, p := range fc.Absent {
			if _, ok := getPath(doc, strings.Split(p, ".")); ok {
				out = append(out, fmt.Sprintf("output has %s, want it absent", p))
			}
		}
	}
	return out
}

func diffSets(want, got []string) (missing, extra []string) {
	w := map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
		if !w[s] {
			extra = append(extra, s)
		}
	}
	for _, s := range want {
		if !g[s] {
			missing = append(missing, s)
		}
	}
	return missing, extra
}

// sameJSON compares a decoded output value (json.Number numbers) with an expected value from
// YAML (int/float64 numbers); numbers compare by value.
func sameJSON(got, want any) bool {
	switch g := got.(type) {
	case json.Number:
		gf, err := g.Float64()
		if err != nil {
			return false
		}
		wf, ok := toFloat(want)
		return ok && (gf == wf || math.Abs(gf-wf) <= 1e-12*math.Max(math.Abs(gf), math.Abs(wf)))
	case []any:
		w, ok := want.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range g {
			if !sameJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		w, ok := want.(map[string]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for k, gv := range g {
			wv, ok := w[k]
			if !ok || !sameJSON(gv, wv) {
				return false
			}
		}
		return true
	}
	return equalValues(got, want)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// WriteReport prints the report the way `go test` does: a --- FAIL block per failed case (and
// --- PASS lines when verbose), an ok/FAIL line per contract, then the rule coverage. Coverage
// gaps are marked fatal when requireCoverage is set.
func (r *FixtureReport) WriteReport(w io.Writer, verbose, requireCoverage bool) {
	type tally struct{ cases, failed int }
	per := map[string]*tally{}
	var order []string
	for _, res := range r.Results {
		t, ok := per[res.Contract]
		if !ok {
			t = &tally{}
			per[res.Contract] = t
			order = append(order, res.Contract)
		}
		t.cases++
		name := res.Contract + "/" + res.Case.Name
		if verbose {
			fmt.Fprintf(w, "=== RUN   %s\n", name)
		}
		if res.OK() {
			if verbose {
				fmt.Fprintf(w, "--- PASS: %s\n", name)
			}
			continue
		}
		t.failed++
		fmt.Fprintf(w, "--- FAIL: %s\n", name)
		fmt.Fprintf(w, "    %s\n", posString(res.Case.Pos))
		for _, p := range res.Problems {
			for _, line := range strings.Split(p, "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
	}
	for _, c := range r.Coverage {
		if strings.HasPrefix(c.Name, "policy ") {
			continue
		}
		if _, ok := per[c.Name]; !ok {
			order = append(order, c.Name)
			per[c.Name] = &tally{}
		}
	}
	sort.Strings(order)
	for _, name := range order {
		t := per[name]
		switch {
		case t.failed > 0:
			fmt.Fprintf(w, "FAIL\t%s\t%d cases, %d failed\n", name, t.cases, t.failed)
		case t.cases == 0:
			fmt.Fprintf(w, "?   \t%s\t[no fixtures]\n", name)
		default:
			fmt.Fprintf(w, "ok  \t%s\t%d cases\n", name, t.cases)
		}
	}
	for _, c := range r.Coverage {
		covered := 0
		for _, rc := range c.Rules {
			if rc.Covered() {
				covered++
			}
		}
		gaps := c.Gaps()
		fmt.Fprintf(w, "coverage: %s: %d/%d rules have a passing and a failing case\n", c.Name, covered, len(c.Rules))
		for _, g := range gaps {
			if requireCoverage {
				fmt.Fprintf(w, "    FAIL %s\n", g)
			} else {
				fmt.Fprintf(w, "    %s\n", g)
			}
		}
	}
}
