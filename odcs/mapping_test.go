package odcs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/rules"
)

// loadDir writes files into a new directory and loads it with rules.Load.
func loadDir(t *testing.T, files map[string]string) (*rules.Set, string, error) {
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
	set, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
	return set, dir, err
}

// TestOfficialExamplesLoad loads every official example as a contract, once per schema
// object (named in a binding), and accounts for every quality entry of the object: each
// becomes a rule written at its position or a note at its position saying why it is not
// enforced per event. Nothing is dropped silently.
func TestOfficialExamplesLoad(t *testing.T) {
	for _, f := range officialExamples(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Decode(f, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, obj := range doc.Schema {
			t.Run(filepath.Base(f)+"/"+obj.Name, func(t *testing.T) {
				set, dir, err := loadDir(t, map[string]string{
					"ex.odcs.yaml":     string(data),
					"ex.meshgate.yaml": fmt.Sprintf("domain: ex\nobject: %s\n", obj.Name),
				})
				if err != nil {
					t.Fatalf("does not load: %v", err)
				}
				c := set.ByDomain("ex")
				at := map[[2]int]bool{}
				for _, r := range c.Rules() {
					at[[2]int{r.Pos.Line, r.Pos.Col}] = true
				}
				for _, n := range set.Notes() {
					if n.Pos.File == filepath.Join(dir, "ex.odcs.yaml") {
						at[[2]int{n.Pos.Line, n.Pos.Col}] = true
					}
				}
				var walk func(ps []*Property)
				check := func(qs []*Quality) {
					for _, q := range qs {
						if !at[[2]int{q.Line, q.Col}] {
							t.Errorf("quality entry at line %d col %d is neither a rule nor a note", q.Line, q.Col)
						}
					}
				}
				walk = func(ps []*Property) {
					for _, p := range ps {
						check(p.Quality)
						walk(p.Properties)
						if p.Items != nil {
							walk([]*Property{p.Items})
						}
					}
				}
				check(obj.Quality)
				walk(obj.Properties)
				if len(c.Rules()) == 0 {
					t.Errorf("no rule derived from %s", obj.Name)
				}
			})
		}
	}
}

// TestExampleSkipReasons pins what lint says about the parts of the official examples that
// are not enforced per event.
func TestExampleSkipReasons(t *testing.T) {
	dir := sharedODCS(t)
	tests := []struct {
		file, object string
		notes        []string
	}{
		{"column-accuracy.odcs.yaml", "Air_Quality", []string{
			`ex.odcs.yaml:21:9: quality entry 1 of Air_Quality.DataValue (sql) is not enforced on the stream: SQL runs against a table, meshgate judges single events`,
		}},
		{"column-custom.odcs.yaml", "Air_Quality", []string{
			`ex.odcs.yaml:17:7: Air_Quality.UniqueID: primaryKey is enforced as warnings: an event whose key another record had within the 1h window (as seen by the judging worker) fails rule Air_Quality.UniqueID.primaryKey and still goes to the curated stream; routing never depends on other events`,
			`ex.odcs.yaml:22:9: quality entry 1 of Air_Quality.UniqueID (custom, engine soda) is not enforced on the stream: meshgate runs only engine meshgate`,
			`ex.odcs.yaml:34:9: quality entry 2 of Air_Quality.UniqueID (custom, engine soda) is not enforced on the stream: meshgate runs only engine meshgate`,
		}},
		{"column-validity.odcs.yaml", "Air_Quality", []string{
			`ex.odcs.yaml:17:7: Air_Quality.air_quality_status: primaryKey is enforced as warnings: an event whose key another record had within the 1h window (as seen by the judging worker) fails rule Air_Quality.air_quality_status.primaryKey and still goes to the curated stream; routing never depends on other events`,
			`ex.odcs.yaml:21:9: quality entry 1 of Air_Quality.air_quality_status (invalidValues mustBeLessOrEqualTo 5 percent) is aggregate: each failing event is a warning of rule Air_Quality.air_quality_status.invalidValues (it still goes to the curated stream) and the threshold becomes an alert over a 1h window`,
		}},
		{"full-example.odcs.yaml", "tbl", []string{
			`ex.odcs.yaml:37:5: schema-level relationships of "tbl" are not enforced on the stream (they relate datasets, not single events)`,
			`ex.odcs.yaml:94:9: tbl.rcvr_id: primaryKey is enforced as warnings: an event whose key another record had within the 1h window (as seen by the judging worker) fails rule tbl.rcvr_id.primaryKey and still goes to the curated stream; routing never depends on other events`,
			`ex.odcs.yaml:107:9: tbl.rcvr_id: relationships are not enforced on the stream (they relate datasets, not single events)`,
			`ex.odcs.yaml:153:9: quality entry 1 of tbl (rowCount mustBeGreaterThan 1000000) is aggregate: it becomes alert tbl.rowCount on the events per 1h window, not a routing decision`,
			`ex.odcs.yaml:170:5: schema object "receivers" is not the event ("tbl" is): its properties and quality are not enforced`,
		}},
		{"all-data-types.odcs.yaml", "transactions_tbl", []string{
			`ex.odcs.yaml:39:20: transactions_tbl.txn_timestamp_tz: minimum "2020-01-01 00:00:00+10:00" is not enforced (bounds are compared only for ISO values or fixed-width formats without a zone)`,
			`ex.odcs.yaml:40:20: transactions_tbl.txn_timestamp_tz: maximum "2021-01-01 00:00:00+10:00" is not enforced (bounds are compared only for ISO values or fixed-width formats without a zone)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "examples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			set, d, err := loadDir(t, map[string]string{
				"ex.odcs.yaml":     string(data),
				"ex.meshgate.yaml": "domain: ex\nobject: " + tt.object + "\n",
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range set.Notes() {
				got = append(got, strings.TrimPrefix(n.String(), d+string(filepath.Separator)))
			}
			if !slices.Equal(got, tt.notes) {
				t.Fatalf("notes\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.notes, "\n"))
			}
		})
	}
}

const bound = `apiVersion: v3.1.0
kind: DataContract
id: t
version: 1.0.0
status: active
domain: t
servers:
  - {server: t-raw, type: kinesis}
schema:
  - name: e
    properties:
`

// TestMappingProblems pins the errors of documents and bindings meshgate cannot run.
func TestMappingProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no domain", map[string]string{"a.odcs.yaml": strings.Replace(bound, "domain: t\n", "", 1) + "      - {name: x}\n"},
			[]string{`a.odcs.yaml:1:1: ODCS document t names no domain: add domain: to the document or a binding file a.meshgate.yaml beside it`}},
		{"several objects and no binding", map[string]string{"a.odcs.yaml": bound + "      - {name: x}\n  - name: f\n"},
			[]string{`a.odcs.yaml:1:1: the document has 2 schema objects (e, f): name the one that describes the event with object: in the binding file`}},
		{"unknown object", map[string]string{"a.odcs.yaml": bound + "      - {name: x}\n", "a.meshgate.yaml": "object: g\n"},
			[]string{`a.meshgate.yaml:1:9: the document has no schema object "g" (it has: e)`}},
		{"binding problems", map[string]string{"a.odcs.yaml": bound + "      - {name: x}\n",
			"a.meshgate.yaml": "objekt: e\nstage: live\nwindow: soon\nenrich:\n  - {hash: a, drop: b}\n"}, []string{
			`a.meshgate.yaml:1:1: unknown field "objekt" in binding (did you mean "object"?)`,
			`a.meshgate.yaml:2:8: stage must be "active" or "shadow", got "live"`,
			`a.meshgate.yaml:3:9: window must be a positive duration like 1h or 15m, got "soon"`,
			`a.meshgate.yaml:5:15: an enrich step has exactly one operation, found "drop" after "hash"`,
		}},
		{"missing document", map[string]string{"a.meshgate.yaml": "odcs: gone.odcs.yaml\n"},
			[]string{`a.meshgate.yaml:1:7: ODCS document gone.odcs.yaml: file does not exist`}},
		{"quality meshgate cannot run", map[string]string{"a.odcs.yaml": bound + `      - name: x
        logicalType: string
        logicalTypeOptions: {pattern: "(?=a)", minLength: 3, maxLength: 2}
        quality:
          - {metric: nullValues, mustBe: 0, severity: sometimes}
          - {metric: invalidValues, mustBe: 0}
          - {metric: invalidValues, mustBe: 0, arguments: {validValues: [a], typo: 1}}
          - {metric: nullValues, mustBe: 0, unit: hours}
          - {metric: nullValues, mustBe: zero}
          - {type: custom, engine: meshgate, implementation: {check: "x != nil", wen: "true"}}
`}, []string{
			`a.odcs.yaml:14:39: e.x: pattern "(?=a)" is not a regular expression meshgate (Go RE2) can run: error parsing regexp: invalid or unsupported Perl syntax: ` + "`(?=`",
			`a.odcs.yaml:14:59: e.x: minLength 3 is greater than maxLength 2: no value can pass`,
			`a.odcs.yaml:16:55: quality entry 1 of e.x: severity "sometimes" is not one meshgate knows (error, critical, fatal, high, blocker, major; warn, warning, minor, low, medium, info)`,
			`a.odcs.yaml:17:13: quality entry 2 of e.x: invalidValues needs arguments.validValues or arguments.pattern to say what is valid`,
			`a.odcs.yaml:18:84: quality entry 3 of e.x: argument "typo" is not one meshgate knows for invalidValues (known: validValues, pattern)`,
			`a.odcs.yaml:19:13: quality entry 4 of e.x: unit "hours" is not understood (rows or percent)`,
			`a.odcs.yaml:20:13: quality entry 5 of e.x: threshold mustBe needs a number, got "zero"`,
			`a.odcs.yaml:21:82: unknown field "wen" in meshgate implementation (did you mean "when"?)`,
		}},
		{"expressions compile with positions", map[string]string{"a.odcs.yaml": bound + `      - {name: x, logicalType: string}
    quality:
      - type: custom
        engine: meshgate
        name: broken
        implementation: x +* 1
`}, []string{`a.odcs.yaml:17:28: rule "e.broken" check: unexpected token Operator("*")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := loadDir(t, tt.files)
			if err == nil {
				t.Fatal("loaded")
			}
			var list rules.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("not an ErrorList: %v", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, strings.TrimPrefix((&rules.Error{File: e.File, Line: e.Line, Col: e.Col, Msg: e.Msg}).Error(), dir+string(filepath.Separator)))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("errors\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// judge loads one ODCS document (domain t, stream t-raw) and returns the sorted failing
// rules for each event.
func judge(t *testing.T, doc string, events ...string) [][]string {
	t.Helper()
	set, _, err := loadDir(t, map[string]string{"t.odcs.yaml": doc})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c := set.ByStream("t-raw")
	if c == nil {
		t.Fatal("no contract for t-raw (kinesis server as source)")
	}
	ev := rules.NewEvaluator()
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	var out [][]string
	for _, e := range events {
		v := ev.Judge(c, rules.Input{Data: []byte(e), Now: now})
		var failed []string
		for _, vi := range v.Violations {
			failed = append(failed, vi.Rule)
			if vi.Error != "" {
				t.Errorf("event %s: rule %s errored: %s", e, vi.Rule, vi.Error)
			}
		}
		slices.Sort(failed)
		out = append(out, failed)
	}
	return out
}

// TestPerEventChecks judges events against ODCS constructs, each case the failing rules
// of one event.
func TestPerEventChecks(t *testing.T) {
	type ev struct {
		json string
		want []string
	}
	tests := []struct {
		name   string
		props  string
		events []ev
	}{
		{"missingValues with its own list, nullValues", `
      - name: a
        quality: [{metric: missingValues, mustBe: 0, arguments: {missingValues: [null, "", "n/a"]}}]
      - name: b
        quality: [{metric: nullValues, mustBeLessThan: 1}]
`, []ev{
			{`{"a":"x","b":1}`, nil},
			{`{"a":"n/a","b":null}`, []string{"e.a.missingValues", "e.b.nullValues"}},
			{`{"b":0}`, []string{"e.a.missingValues"}},
			{`{"a":""}`, []string{"e.a.missingValues", "e.b.nullValues"}},
		}},
		{"invalidValues with validValues and pattern", `
      - name: c
        quality: [{metric: invalidValues, mustBe: 0, arguments: {validValues: [AB, CD, 7], pattern: "^[A-Z]+$"}}]
`, []ev{
			{`{"c":"AB"}`, nil},
			{`{}`, nil},
			{`{"c":"EF"}`, []string{"e.c.invalidValues"}},
			{`{"c":7}`, []string{"e.c.invalidValues"}},
		}},
		{"integer format, multipleOf and both bounds", `
      - name: n
        logicalType: integer
        logicalTypeOptions: {format: i8, multipleOf: 5, minimum: -100, exclusiveMinimum: -101, maximum: 100}
`, []ev{
			{`{"n":-100}`, nil},
			{`{"n":130}`, []string{"e.n.format", "e.n.maximum"}},
			{`{"n":12}`, []string{"e.n.multipleOf"}},
			{`{"n":-105}`, []string{"e.n.exclusiveMinimum", "e.n.minimum"}},
			{`{"n":2.5}`, []string{"e.n.multipleOf", "e.n.type"}},
		}},
		{"objects: required list, min and max properties, nested types", `
      - name: o
        logicalType: object
        logicalTypeOptions: {required: [k], minProperties: 1, maxProperties: 2}
        properties:
          - {name: k, logicalType: string}
          - {name: deep, logicalType: object, properties: [{name: z, logicalType: boolean, required: true}]}
`, []ev{
			{`{"o":{"k":"v"}}`, nil},
			{`{}`, nil},
			{`{"o":{}}`, []string{"e.o.k.required", "e.o.minProperties"}},
			{`{"o":{"k":"v","deep":{},"x":1}}`, []string{"e.o.deep.z.required", "e.o.maxProperties"}},
			{`{"o":"flat"}`, []string{"e.o.type"}},
			{`{"o":{"k":"v","deep":7}}`, []string{"e.o.deep.type"}},
		}},
		{"arrays of objects and of arrays", `
      - name: l
        logicalType: array
        logicalTypeOptions: {uniqueItems: true, maxItems: 3}
        items:
          logicalType: object
          properties:
            - {name: q, logicalType: integer, required: true, logicalTypeOptions: {minimum: 1}}
      - name: m
        logicalType: array
        items: {logicalType: array, items: {logicalType: string, logicalTypeOptions: {maxLength: 2}}}
`, []ev{
			{`{"l":[{"q":1},{"q":2}],"m":[["ab"],[]]}`, nil},
			{`{"l":[{"q":1},{"q":1}]}`, []string{"e.l.uniqueItems"}},
			{`{"l":[{"q":0},{}]}`, []string{"e.l[].q.minimum", "e.l[].q.required"}},
			{`{"l":[3]}`, []string{"e.l[].type"}},
			{`{"m":[["abc"],"x"]}`, []string{"e.m[].type", "e.m[][].maxLength"}},
		}},
		{"dates, timestamps and times with formats and bounds", `
      - name: d
        logicalType: date
        logicalTypeOptions: {minimum: "2020-01-01", exclusiveMaximum: "2030-01-01"}
      - name: dd
        logicalType: date
        logicalTypeOptions: {format: dd.MM.yyyy}
      - name: ts
        logicalType: timestamp
        logicalTypeOptions: {maximum: "2025-01-15T12:00:00Z"}
      - name: local
        logicalType: timestamp
        logicalTypeOptions: {format: "yyyy-MM-dd HH:mm:ss", minimum: "2024-01-01 00:00:00"}
      - name: tm
        logicalType: time
        logicalTypeOptions: {timezone: false, maximum: "18:00:00"}
`, []ev{
			{`{"d":"2024-02-29","dd":"29.02.2024","ts":"2025-01-15T13:00:00+02:00","local":"2024-05-01 08:00:00","tm":"17:59:59"}`, nil},
			{`{"d":"2019-12-31","dd":"2024-02-29"}`, []string{"e.d.minimum", "e.dd.format"}},
			{`{"d":"2030-01-01","ts":"2025-01-15T12:00:01Z"}`, []string{"e.d.exclusiveMaximum", "e.ts.maximum"}},
			{`{"local":"2023-12-31 23:59:59","tm":"18:00:01"}`, []string{"e.local.minimum", "e.tm.maximum"}},
			{`{"local":"2024-05-01T08:00:00","tm":"6pm"}`, []string{"e.local.format", "e.tm.format"}},
		}},
		{"string formats", `
      - {name: u, logicalType: string, logicalTypeOptions: {format: uuid}}
      - {name: ip, logicalType: string, logicalTypeOptions: {format: ipv4}}
      - {name: w, logicalType: string, logicalTypeOptions: {format: uri}}
`, []ev{
			{`{"u":"7c9e6679-7425-40de-944b-e07fc1f90ae7","ip":"10.0.0.1","w":"https://x.example"}`, nil},
			{`{"u":"7c9e","ip":"10.0.0.256","w":"not a uri"}`, []string{"e.ip.format", "e.u.format", "e.w.format"}},
		}},
		{"physicalName is the event key", `
      - {name: Customer Id, physicalName: cust_id, logicalType: string, required: true}
`, []ev{
			{`{"cust_id":"C1"}`, nil},
			{`{"Customer Id":"C1"}`, []string{"e.cust_id.required"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []string
			for _, e := range tt.events {
				events = append(events, e.json)
			}
			got := judge(t, bound+strings.TrimPrefix(tt.props, "\n"), events...)
			for i, e := range tt.events {
				if !slices.Equal(got[i], e.want) {
					t.Errorf("event %s: failing rules %v, want %v", e.json, got[i], e.want)
				}
			}
		})
	}
}

// TestCustomRulesAndSeverity: engine meshgate entries are expr rules taken verbatim with
// their names; severities map; an aggregate threshold makes the per-event rule a warning.
func TestCustomRulesAndSeverity(t *testing.T) {
	doc := bound + `      - {name: a, logicalType: number}
      - name: b
        quality: [{metric: nullValues, mustBeLessOrEqualTo: 10, unit: percent, severity: critical}]
    quality:
      - {type: custom, engine: meshgate, name: a_positive, implementation: "a > 0", severity: Critical}
      - {type: custom, engine: meshgate, implementation: {when: "a != nil", check: "a < 100"}, severity: minor}
`
	set, _, err := loadDir(t, map[string]string{"t.odcs.yaml": doc})
	if err != nil {
		t.Fatal(err)
	}
	c := set.ByDomain("t")
	var got []string
	for _, r := range c.Rules() {
		got = append(got, r.Name+"/"+string(r.Severity))
	}
	want := []string{"e.a.type/error", "e.b.nullValues/warn", "e.a_positive/error", "e.check/warn"}
	if !slices.Equal(got, want) {
		t.Fatalf("rules %v, want %v", got, want)
	}
	ev := rules.NewEvaluator()
	v := ev.Judge(c, rules.Input{Data: []byte(`{"a":150}`), Now: time.Now()})
	if v.Outcome != rules.Warned || len(v.Violations) != 2 {
		t.Fatalf("verdict %v %+v", v.Outcome, v.Violations)
	}
	v = ev.Judge(c, rules.Input{Data: []byte(`{"b":1}`), Now: time.Now()})
	if v.Outcome != rules.Quarantined || v.Violations[0].Rule != "e.a_positive" {
		t.Fatalf("verdict %v %+v", v.Outcome, v.Violations)
	}
}

// TestBindingDefaultsAndOverrides: without a binding, streams come from kinesis servers
// and the partition key from the partitioned property; a binding overrides them, may name
// a document of another name, and is hashed into the contract.
func TestBindingDefaultsAndOverrides(t *testing.T) {
	doc := strings.Replace(bound, "  - {server: t-raw, type: kinesis}\n",
		"  - {server: t-raw, type: kinesis, customProperties: [{property: meshgate.role, value: source}]}\n"+
			"  - {server: t-out, type: kinesis, customProperties: [{property: meshgate.role, value: curated}, {property: stream, value: t-curated}]}\n"+
			"  - {server: db, type: postgres, host: h, port: 5432, database: d, schema: s}\n", 1) +
		"      - {name: k, logicalType: string, partitioned: true}\n"
	set, _, err := loadDir(t, map[string]string{"t.odcs.yaml": doc})
	if err != nil {
		t.Fatal(err)
	}
	c := set.ByDomain("t")
	if !slices.Equal(c.Sources, []string{"t-raw"}) || c.Curated != "t-curated" || c.Spec.PartitionKey.Src != "k" {
		t.Fatalf("defaults: sources %v curated %q key %q", c.Sources, c.Curated, c.Spec.PartitionKey.Src)
	}
	v := rules.NewEvaluator().Judge(c, rules.Input{Data: []byte(`{"k":"p1"}`), PartitionKey: "src", Now: time.Now()})
	if v.PartitionKey != "p1" {
		t.Fatalf("partition key %q", v.PartitionKey)
	}

	set2, dir, err := loadDir(t, map[string]string{"team-doc.odcs.yaml": doc,
		"payments.meshgate.yaml": "odcs: team-doc.odcs.yaml\ndomain: other\nsources: [x-raw]\ncurated: x-out\npartitionKey: '\"fixed\"'\nrulePrefix: \"\"\nstage: shadow\n"})
	if err != nil {
		t.Fatal(err)
	}
	if len(set2.Contracts()) != 0 || set2.Shadow("other") == nil {
		t.Fatalf("the binding's document was loaded twice or not as a shadow: %d active", len(set2.Contracts()))
	}
	c2 := set2.Shadow("other")
	if !slices.Equal(c2.Sources, []string{"x-raw"}) || c2.Curated != "x-out" || !slices.Equal(c2.RuleNames(), []string{"k.type"}) {
		t.Fatalf("overrides: %v %q %v", c2.Sources, c2.Curated, c2.RuleNames())
	}
	// The binding counts in the contract's hash.
	h := c2.Hash
	if err := os.WriteFile(filepath.Join(dir, "payments.meshgate.yaml"), []byte("odcs: team-doc.odcs.yaml\ndomain: other\nstage: shadow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set3, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatal(err)
	}
	if set3.Shadow("other").Hash == h {
		t.Fatal("changing the binding did not change the contract hash")
	}
}

// A binding may name a document outside the contracts directory (a team's repository
// checked out beside it); its lookup files stay relative to the binding.
func TestBindingInAnotherDirectory(t *testing.T) {
	doc := bound + "      - {name: country, logicalType: string}\n"
	_, dir, _ := loadDir(t, map[string]string{
		"team/t.odcs.yaml":          doc,
		"contracts/t.meshgate.yaml": "odcs: ../team/t.odcs.yaml\nlookups:\n  regions: {file: regions.csv, key: code, value: region}\nenrich:\n  - set: region\n    value: lookup(\"regions\", country)\n",
		"contracts/regions.csv":     "code,region\nDE,EU\n",
	})
	set, err := rules.Load(filepath.Join(dir, "contracts"), rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatal(err)
	}
	v := rules.NewEvaluator().Judge(set.ByDomain("t"), rules.Input{Data: []byte(`{"country":"DE"}`), Now: time.Now()})
	if v.Outcome != rules.Passed || !strings.Contains(string(v.Output), `"region":"EU"`) {
		t.Fatalf("verdict %v output %s", v.Outcome, v.Output)
	}
}
