package benchmarks

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/meshgate/meshgate/rules"
)

// Result is what one engine (meshgate, naive, ceiling) decided about one record.
type Result struct {
	Outcome rules.Outcome
	// Failed names every failed rule, warn and error alike, in evaluation order.
	Failed []string
	// Output is the enriched event of a passed or warned record.
	Output []byte
}

// FromVerdict converts meshgate's verdict.
func FromVerdict(v *rules.Verdict) Result {
	r := Result{Outcome: v.Outcome, Output: v.Output}
	for _, vi := range v.Violations {
		r.Failed = append(r.Failed, vi.Rule)
	}
	return r
}

// Naive judges events the simplest way: encoding/json into a map[string]any, every rule a
// separately compiled expr program run with expr.Run (a fresh VM per call), enrichment on the
// map and json.Marshal. Its rules are the contract's own expressions (policies first, then
// the rules the field declarations imply, then the contract's rules), read from the Spec the
// contract was compiled from; its vocabulary is written the obvious way (naive_funcs.go).
//
// It loses what a naive gate loses: integers beyond 2^53 are rounded and key order is not
// kept in the output. A Naive is not safe for concurrent use (it holds the judging time).
type Naive struct {
	rules  []naiveRule
	steps  []rules.SpecStep
	domain string
	ver    string
	salt   string
	now    time.Time
	set    map[string]*vm.Program // "set" step values by path
}

type naiveRule struct {
	name     string
	severity rules.Severity
	when     *vm.Program
	check    *vm.Program
}

// NewNaive compiles c's rules and enrichment for naive evaluation.
func NewNaive(c *rules.Contract, salt string) (*Naive, error) {
	n := &Naive{domain: c.Domain, ver: c.Version, salt: salt, steps: c.Spec.Enrich, set: map[string]*vm.Program{}}
	tables := map[string]map[string]any{}
	for _, l := range c.Spec.Lookups {
		t, err := naiveTable(c.File, l)
		if err != nil {
			return nil, fmt.Errorf("lookup %s: %w", l.Name.Value, err)
		}
		tables[l.Name.Value] = t
	}
	opts := naiveVocabulary(n, tables)

	var specRules []rules.SpecRule
	for _, p := range c.Policies {
		specRules = append(specRules, p.Spec.Rules...)
	}
	derived, err := naiveFieldRules(c.Spec.FieldRulePrefix, c.Spec.Fields)
	if err != nil {
		return nil, err
	}
	specRules = append(specRules, derived...)
	specRules = append(specRules, c.Spec.Rules...)
	for _, sr := range specRules {
		r := naiveRule{name: sr.Name.Value, severity: rules.SeverityError}
		if sr.Severity.Value == string(rules.SeverityWarn) {
			r.severity = rules.SeverityWarn
		}
		if !sr.When.IsZero() {
			if r.when, err = expr.Compile(sr.When.Src, opts...); err != nil {
				return nil, fmt.Errorf("rule %s when: %w", r.name, err)
			}
		}
		if r.check, err = expr.Compile(sr.Check.Src, opts...); err != nil {
			return nil, fmt.Errorf("rule %s check: %w", r.name, err)
		}
		n.rules = append(n.rules, r)
	}
	// The naive engine must judge with exactly the contract's rules: same names, same order.
	if got, want := n.ruleNames(), c.RuleNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("naive rules %v differ from the contract's %v", got, want)
	}
	for _, st := range c.Spec.Enrich {
		switch st.Op {
		case rules.OpSet:
			p, err := expr.Compile(st.Value.Src, opts...)
			if err != nil {
				return nil, fmt.Errorf("set %s: %w", st.Path.Value, err)
			}
			n.set[st.Path.Value] = p
		case rules.OpRename, rules.OpDrop, rules.OpRedact, rules.OpHash, rules.OpNormalize, rules.OpMetadata:
		default:
			return nil, fmt.Errorf("naive: unknown enrichment %q", st.Op)
		}
	}
	return n, nil
}

func (n *Naive) ruleNames() []string {
	out := make([]string, len(n.rules))
	for i, r := range n.rules {
		out[i] = r.name
	}
	return out
}

// ErrNotObject is returned by Naive.Judge for a record that is not a JSON object.
var ErrNotObject = errors.New("record is not a JSON object")

// Judge judges one record as of now.
func (n *Naive) Judge(data []byte, now time.Time) (Result, error) {
	n.now = now
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return Result{Outcome: rules.Quarantined}, err
	}
	if m == nil {
		return Result{Outcome: rules.Quarantined}, ErrNotObject
	}
	var res Result
	for _, r := range n.rules {
		if r.when != nil {
			out, err := expr.Run(r.when, m)
			if err == nil && out != true {
				continue
			}
			if err != nil {
				res.fail(r)
				continue
			}
		}
		if out, err := expr.Run(r.check, m); err != nil || out != true {
			res.fail(r)
		}
	}
	if res.Outcome == rules.Quarantined {
		return res, nil
	}
	out, err := n.enrich(m)
	if err != nil {
		return Result{Outcome: rules.Quarantined, Failed: append(res.Failed, "enrich")}, nil
	}
	res.Output = out
	return res, nil
}

func (res *Result) fail(r naiveRule) {
	res.Failed = append(res.Failed, r.name)
	if r.severity == rules.SeverityError {
		res.Outcome = rules.Quarantined
	} else if res.Outcome == rules.Passed {
		res.Outcome = rules.Warned
	}
}

func (n *Naive) enrich(m map[string]any) ([]byte, error) {
	for _, st := range n.steps {
		path := strings.Split(st.Path.Value, ".")
		parent, key := naiveParent(m, path)
		switch st.Op {
		case rules.OpSet:
			v, err := expr.Run(n.set[st.Path.Value], m)
			if err != nil {
				return nil, err
			}
			p, k, err := naiveMkParent(m, path)
			if err != nil {
				return nil, err
			}
			p[k] = v
		case rules.OpRename:
			if parent == nil {
				continue
			}
			v, ok := parent[key]
			if !ok {
				continue
			}
			delete(parent, key)
			p, k, err := naiveMkParent(m, strings.Split(st.To.Value, "."))
			if err != nil {
				return nil, err
			}
			p[k] = v
		case rules.OpDrop:
			if parent != nil {
				delete(parent, key)
			}
		case rules.OpRedact:
			if _, ok := parent[key]; ok {
				parent[key] = rules.Redacted
			}
		case rules.OpHash:
			v, ok := parent[key]
			if !ok || v == nil {
				continue
			}
			s, isStr := v.(string)
			if !isStr {
				b, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				s = string(b)
			}
			sum := sha256.Sum256([]byte(n.salt + s))
			parent[key] = hex.EncodeToString(sum[:])
		case rules.OpNormalize:
			s, ok := parent[key].(string)
			if !ok {
				continue
			}
			switch st.Norm.Value {
			case "trim":
				parent[key] = strings.TrimSpace(s)
			case "lower":
				parent[key] = strings.ToLower(s)
			case "upper":
				parent[key] = strings.ToUpper(s)
			}
		case rules.OpMetadata:
			p, k, err := naiveMkParent(m, path)
			if err != nil {
				return nil, err
			}
			p[k] = map[string]any{"contract": n.domain, "version": n.ver,
				"processedAt": n.now.UTC().Truncate(time.Second).Format(time.RFC3339)}
		}
	}
	return json.Marshal(m)
}

// naiveParent returns the object holding the last element of path, or nil.
func naiveParent(m map[string]any, path []string) (map[string]any, string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, ""
		}
		m = next
	}
	return m, path[len(path)-1]
}

// naiveMkParent is naiveParent creating missing objects.
func naiveMkParent(m map[string]any, path []string) (map[string]any, string, error) {
	for _, k := range path[:len(path)-1] {
		v, ok := m[k]
		if !ok {
			next := map[string]any{}
			m[k] = next
			m = next
			continue
		}
		next, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s is not an object", k)
		}
		m = next
	}
	return m, path[len(path)-1], nil
}

// naiveTable reads a CSV (header row; key and value columns) or JSON object lookup table.
func naiveTable(specFile string, l rules.SpecLookup) (map[string]any, error) {
	path := l.File.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(specFile), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t := map[string]any{}
	if strings.HasSuffix(path, ".json") {
		return t, json.Unmarshal(data, &t)
	}
	recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("%s: bad CSV: %v", path, err)
	}
	ki, vi := 0, 1
	for i, h := range recs[0] {
		switch strings.TrimSpace(h) {
		case l.Key.Value:
			ki = i
		case l.Value.Value:
			vi = i
		}
	}
	for _, r := range recs[1:] {
		t[r[ki]] = r[vi]
	}
	return t, nil
}
