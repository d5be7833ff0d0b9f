package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadDir writes files (name -> content) into a temporary directory and loads it.
func loadDir(t testing.TB, opts Options, files map[string]string) *Set {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(dir, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

const judgeContract = `
domain: shop
version: 0.1.0
sources: [shop-raw]
partitionKey: customer.id
event: {type: kind, schemaVersion: v, time: at}
fields:
  total: {type: number, minimum: 0}
rules:
  - name: id_present
    check: present(id)
    message: id is required
  - name: qty_positive
    when: qty != nil
    check: qty > 0
    message: qty must be positive
  - name: note_short
    check: note == nil || length(note) <= 5
    severity: warn
    message: note should be short
  - name: payment_amount
    when: kind == "paid"
    check: payment.amount > 0
    message: paid events carry an amount
`

func judge(t *testing.T, c *Contract, data string) Verdict {
	t.Helper()
	return NewEvaluator().Judge(c, Input{Data: []byte(data), PartitionKey: "in-key", Now: funcNow})
}

func violationNames(v Verdict) []string {
	out := []string{}
	for _, vi := range v.Violations {
		out = append(out, vi.Rule)
	}
	return out
}

func TestJudgeReportsEveryFailure(t *testing.T) {
	c := loadDir(t, Options{}, map[string]string{"shop.yaml": judgeContract}).ByDomain("shop")
	tests := []struct {
		name    string
		data    string
		outcome Outcome
		want    []Violation
	}{
		{
			name:    "passes",
			data:    `{"id":"a","qty":2,"total":3}`,
			outcome: Passed,
			want:    nil,
		},
		{
			name:    "every failure in contract order with the offending value",
			data:    `{"qty":0,"total":-1,"note":"far too long"}`,
			outcome: Quarantined,
			want: []Violation{
				{Rule: "total.minimum", Severity: SeverityError, Message: "total must be at least 0", Value: "-1"},
				{Rule: "id_present", Severity: SeverityError, Message: "id is required", Value: "<missing>"},
				{Rule: "qty_positive", Severity: SeverityError, Message: "qty must be positive", Value: "0"},
				{Rule: "note_short", Severity: SeverityWarn, Message: "note should be short", Value: `"far too long"`},
			},
		},
		{
			name:    "only warnings pass as warned",
			data:    `{"id":"a","note":"far too long"}`,
			outcome: Warned,
			want:    []Violation{{Rule: "note_short", Severity: SeverityWarn, Message: "note should be short", Value: `"far too long"`}},
		},
		{
			name:    "a runtime error is the rule's failure",
			data:    `{"id":"a","kind":"paid"}`,
			outcome: Quarantined,
			want: []Violation{{Rule: "payment_amount", Severity: SeverityError, Message: "paid events carry an amount",
				Value: "<missing>", Error: "cannot fetch amount from nil"}},
		},
		{
			name:    "a wrong type in the data is a runtime error",
			data:    `{"id":"a","qty":"two"}`,
			outcome: Quarantined,
			want: []Violation{{Rule: "qty_positive", Severity: SeverityError, Message: "qty must be positive",
				Value: `"two"`, Error: "invalid operation: string > int"}},
		},
		{
			name:    "a declared type is checked by its own rule",
			data:    `{"id":"a","total":"3"}`,
			outcome: Quarantined,
			want:    []Violation{{Rule: "total.type", Severity: SeverityError, Message: "total must be of type number", Value: `"3"`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(t, c, tt.data)
			if v.Outcome != tt.outcome {
				t.Errorf("outcome %s, want %s (%+v)", v.Outcome, tt.outcome, v.Violations)
			}
			if !reflect.DeepEqual(v.Violations, tt.want) {
				t.Errorf("violations\n got %+v\nwant %+v", v.Violations, tt.want)
			}
			if (v.Output != nil) != (tt.outcome != Quarantined) {
				t.Errorf("output %q for outcome %s", v.Output, v.Outcome)
			}
		})
	}
}

func TestJudgeDecodeFailures(t *testing.T) {
	c := loadDir(t, Options{}, map[string]string{"shop.yaml": judgeContract}).ByDomain("shop")
	deep := `{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`
	tests := []struct {
		data, reason string
	}{
		{"", "empty"},
		{" \t", "empty"},
		{"not json", "invalid_json"},
		{`{"id":"a"`, "invalid_json"},
		{"{\"id\":\"caf\xe9\"}", "invalid_utf8"},
		{"\xef\xbb\xbf{}", "bom"},
		{`{"id":"a","id":"b"}`, "duplicate_key"},
		{`["id"]`, "not_object"},
		{`"id"`, "not_object"},
		{deep, "too_deep"},
		{`{"id":"` + strings.Repeat("x", 1<<20) + `"}`, "too_large"},
	}
	for _, tt := range tests {
		v := judge(t, c, tt.data)
		if v.Outcome != Quarantined || v.Decode == nil || v.Decode.Reason != tt.reason {
			t.Errorf("%.40q: got %s %+v, want decode failure %s", tt.data, v.Outcome, v.Decode, tt.reason)
			continue
		}
		if v.Decode.Detail == "" || v.Output != nil || v.Violations != nil || v.PartitionKey != "in-key" {
			t.Errorf("%.40q: incomplete verdict %+v", tt.data, v)
		}
	}
}

func TestJudgeFactsAndPartitionKey(t *testing.T) {
	c := loadDir(t, Options{}, map[string]string{"shop.yaml": judgeContract}).ByDomain("shop")
	v := judge(t, c, `{"id":"a","kind":"placed","v":2,"at":"2025-01-15T11:00:00.5+01:00","customer":{"id":"C1"}}`)
	want := time.Date(2025, 1, 15, 10, 0, 0, 5e8, time.UTC)
	if v.PartitionKey != "C1" || v.EventType != "placed" || v.SchemaVersion != "2" || !v.EventTime.Equal(want) {
		t.Errorf("facts %q %q %q %v", v.PartitionKey, v.EventType, v.SchemaVersion, v.EventTime)
	}
	v = judge(t, c, `{"id":"a","at":1736938800000}`)
	if v.PartitionKey != "in-key" || !v.EventTime.Equal(time.UnixMilli(1736938800000)) {
		t.Errorf("default key / epoch time: %q %v", v.PartitionKey, v.EventTime)
	}
	v = judge(t, c, `{"id":"a","customer":{"id":7}}`)
	if v.PartitionKey != "7" {
		t.Errorf("numeric key: %q", v.PartitionKey)
	}
}

const enrichContract = `
domain: shop
version: 3.2.1
lookups:
  regions: {file: regions.json}
rules: []
enrich:
  - set: geo.region
    value: lookup("regions", country)
  - rename: {from: ref, to: meta.reference}
  - set: ref_copy
    value: meta.reference
  - drop: debug
  - redact: card.number
  - redact: absent.field
  - hash: email
  - hash: phone
  - normalize: {field: code, op: upper}
  - normalize: {field: name, op: trim}
  - normalize: {field: tag, op: lower}
  - metadata: _meta
`

func TestEnrichment(t *testing.T) {
	s := loadDir(t, Options{HashSalt: "pepper"}, map[string]string{
		"shop.yaml": enrichContract, "regions.json": `{"DE": "EU", "US": "NA"}`,
	})
	c := s.ByDomain("shop")
	in := `{"trace_id": 9007199254740993, "ratio": 0.1, "s": "caf\u00e9",  "country":"DE",` +
		`"ref":{"a": 1.50,"b":[1, 2]},"debug":true,"card":{"number":"4111","exp":"12/27"},` +
		`"email":"Anna@Example.com","phone":4930123,"code":"eur","name":"  Anna ","tag":"VIP"}`
	v := judge(t, c, in)
	if v.Outcome != Passed {
		t.Fatalf("outcome %s %+v", v.Outcome, v.Violations)
	}
	sum := func(s string) string { h := sha256.Sum256([]byte("pepper" + s)); return hex.EncodeToString(h[:]) }
	want := `{"trace_id": 9007199254740993, "ratio": 0.1, "s": "caf\u00e9",  "country":"DE",` +
		`"card":{"number":"[REDACTED]","exp":"12/27"},` +
		`"email":"` + sum("Anna@Example.com") + `","phone":"` + sum("4930123") + `","code":"EUR","name":"Anna","tag":"vip",` +
		`"geo":{"region":"EU"},"meta":{"reference":{"a": 1.50,"b":[1, 2]}},"ref_copy":{"a":1.5,"b":[1,2]},` +
		`"_meta":{"contract":"shop","version":"3.2.1","processedAt":"2025-01-15T12:00:00Z"}}`
	if string(v.Output) != want {
		t.Errorf("output\n got %s\nwant %s", v.Output, want)
	}
}

func TestEnrichmentLeavesUntouchedBytesAndInputAlone(t *testing.T) {
	s := loadDir(t, Options{}, map[string]string{
		"a.yaml": "domain: a\nversion: 1.0.0\nrules: []\n",
		"b.yaml": "domain: b\nversion: 1.0.0\nrules: []\nenrich:\n  - set: x\n    value: 1\n",
	})
	in := []byte(`{ "n" : 9007199254740993 , "f":1.0e2, "u":"\u00e9\n" }`)
	for _, domain := range []string{"a", "b"} {
		data := append([]byte(nil), in...)
		v := NewEvaluator().Judge(s.ByDomain(domain), Input{Data: data, Now: funcNow})
		want := string(in)
		if domain == "b" {
			want = `{ "n" : 9007199254740993 , "f":1.0e2, "u":"\u00e9\n","x":1 }`
		}
		if string(v.Output) != want {
			t.Errorf("%s: output %s, want %s", domain, v.Output, want)
		}
		for i := range data {
			data[i] = 'X'
		}
		if string(v.Output) != want {
			t.Errorf("%s: output aliases the input: %s", domain, v.Output)
		}
	}
}

func TestEnrichmentFailureQuarantines(t *testing.T) {
	c := loadDir(t, Options{}, map[string]string{
		"a.yaml": "domain: a\nversion: 1.0.0\nrules: []\nenrich:\n  - set: x\n    value: a.b\n  - set: s.t\n    value: 1\n",
	}).ByDomain("a")
	v := judge(t, c, `{"a":null}`)
	if v.Outcome != Quarantined || len(v.Violations) != 1 || v.Violations[0].Rule != "enrich" ||
		v.Violations[0].Error != "set x: cannot fetch b from nil" {
		t.Errorf("set error: %+v", v)
	}
	v = judge(t, c, `{"a":{"b":1},"s":"not an object"}`)
	if v.Outcome != Quarantined || len(v.Violations) != 1 || v.Violations[0].Error != "set s.t: s is not an object" {
		t.Errorf("set below a scalar: %+v", v)
	}
}

func TestMetadataTimeFormattedPerSecond(t *testing.T) {
	c := loadDir(t, Options{}, map[string]string{
		"a.yaml": "domain: a\nversion: 1.0.0\nrules: []\nenrich:\n  - metadata: m\n",
	}).ByDomain("a")
	e := NewEvaluator()
	at := func(ts time.Time) string {
		v := e.Judge(c, Input{Data: []byte(`{}`), Now: ts})
		return string(v.Output)
	}
	base := time.Date(2025, 1, 15, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	first := at(base)
	if first != `{"m":{"contract":"a","version":"1.0.0","processedAt":"2025-01-15T11:00:00Z"}}` {
		t.Fatalf("metadata %s", first)
	}
	if got := at(base.Add(999 * time.Millisecond)); got != first {
		t.Errorf("same second, different metadata: %s", got)
	}
	if got := at(base.Add(time.Second)); !strings.Contains(got, `"processedAt":"2025-01-15T11:00:01Z"`) {
		t.Errorf("next second: %s", got)
	}
}

func TestHashSaltFromEnvironment(t *testing.T) {
	t.Setenv("MESHGATE_HASH_SALT", "from-env")
	c := loadDir(t, Options{}, map[string]string{
		"a.yaml": "domain: a\nversion: 1.0.0\nrules: []\nenrich:\n  - hash: e\n",
	}).ByDomain("a")
	h := sha256.Sum256([]byte("from-env" + "x@y.z"))
	if v := judge(t, c, `{"e":"x@y.z"}`); string(v.Output) != `{"e":"`+hex.EncodeToString(h[:])+`"}` {
		t.Errorf("output %s", v.Output)
	}
	if !c.HashesFields() {
		t.Error("HashesFields is false")
	}
}

// TestCombinedProgramAgreesWithRuleByRule judges many variants of the example events both ways
// (the combined all-pass program first, and rule by rule only): the verdicts must be equal.
func TestCombinedProgramAgreesWithRuleByRule(t *testing.T) {
	s := loadExamples(t)
	e := NewEvaluator()
	n := 0
	for _, ff := range s.Fixtures() {
		c := s.ByDomain(ff.Contract)
		for _, fc := range ff.Cases {
			for _, data := range mutations(fc.Data) {
				in := Input{Data: data, PartitionKey: "k", Now: fc.Now}
				a := e.Judge(c, in)
				b := e.judge(c, in, &ruleTrace{applied: make([]bool, len(c.rules)), failed: make([]bool, len(c.rules))})
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s: combined %+v\nrule by rule %+v\n%s", fc.Name, a, b, data)
				}
				n++
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d events judged", n)
	}
}

// mutations returns data and variants with each top-level member removed or replaced by
// values of other types.
func mutations(data []byte) [][]byte {
	out := [][]byte{data}
	m, err := decodeForTest(data)
	if err != nil {
		return out
	}
	for k := range m {
		for _, repl := range []string{"", "null", `"x"`, "0", "-1.5", "[]", `[null, 1, "a", {}]`, "{}", "true"} {
			var b bytes.Buffer
			b.WriteByte('{')
			first := true
			for k2, v2 := range m {
				val := string(v2)
				if k2 == k {
					if repl == "" {
						continue
					}
					val = repl
				}
				if !first {
					b.WriteByte(',')
				}
				first = false
				b.WriteString(`"` + k2 + `":` + val)
			}
			b.WriteByte('}')
			out = append(out, b.Bytes())
		}
	}
	return out
}

func TestEvaluatorsShareContractsSafely(t *testing.T) {
	s := loadExamples(t)
	c := s.ByDomain("orders")
	var inputs [][]byte
	for _, fc := range s.Fixtures()[1].Cases {
		inputs = append(inputs, fc.Data)
	}
	want := make([]Verdict, len(inputs))
	e := NewEvaluator()
	for i, d := range inputs {
		want[i] = e.Judge(c, Input{Data: d, Now: benchNow})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := NewEvaluator()
			for round := 0; round < 20; round++ {
				for i, d := range inputs {
					if got := e.Judge(c, Input{Data: d, Now: benchNow}); !reflect.DeepEqual(got, want[i]) {
						errs <- string(d)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for d := range errs {
		t.Errorf("concurrent verdict differs for %s", d)
	}
}

func TestSetAccessors(t *testing.T) {
	s := loadDir(t, Options{}, map[string]string{
		"p.yaml":       "policy: p\nversion: 1.0.0\nappliesTo: [b]\nrules:\n  - name: p1\n    check: true\n",
		"q.yaml":       "policy: q\nversion: 1.0.0\nappliesTo: ['*']\nrules:\n  - name: q1\n    check: true\n",
		"b.yaml":       "domain: b\nversion: 1.0.0\nsources: [b-raw, b2-raw]\nrules:\n  - name: b1\n    check: true\n",
		"a.yaml":       "domain: a\nversion: 1.0.0\nsources: [a-raw]\nrules: []\n",
		"b_next.yaml":  "domain: b\nversion: 2.0.0\nstage: shadow\nsources: [b-raw]\nrules: []\n",
		"notes/x.json": "{}",
	})
	if got := []string{s.Contracts()[0].Domain, s.Contracts()[1].Domain}; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("contracts %v", got)
	}
	if c := s.ByStream("b2-raw"); c == nil || c.Domain != "b" || c.Version != "1.0.0" {
		t.Errorf("ByStream %+v", c)
	}
	if c := s.Shadow("b"); c == nil || c.Version != "2.0.0" || c.Stage != StageShadow || s.Shadow("a") != nil {
		t.Errorf("Shadow %+v", c)
	}
	if got := s.ByDomain("b").RuleNames(); !reflect.DeepEqual(got, []string{"p1", "q1", "b1"}) {
		t.Errorf("RuleNames %v", got)
	}
	if got := s.ByDomain("a").RuleNames(); !reflect.DeepEqual(got, []string{"q1"}) {
		t.Errorf("RuleNames of a %v", got)
	}
	if len(s.Hash()) != 64 || len(s.ByDomain("a").Hash) != 16 {
		t.Errorf("hashes %q %q", s.Hash(), s.ByDomain("a").Hash)
	}
	// The contract hash changes with the policies applied to it.
	s2 := loadDir(t, Options{}, map[string]string{
		"q.yaml": "policy: q\nversion: 1.0.1\nappliesTo: ['*']\nrules:\n  - name: q1\n    check: true\n",
		"a.yaml": "domain: a\nversion: 1.0.0\nsources: [a-raw]\nrules: []\n",
	})
	if s2.ByDomain("a").Hash == s.ByDomain("a").Hash {
		t.Error("contract hash ignores its policies")
	}
}

// decodeForTest splits a JSON object into its members' raw text.
func decodeForTest(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	err := json.Unmarshal(data, &m)
	return m, err
}
