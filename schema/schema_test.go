package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/meshgate/meshgate/gen"
	_ "github.com/meshgate/meshgate/odcs" // ODCS contracts among the examples
	"github.com/meshgate/meshgate/rules"
)

var update = flag.Bool("update", false, "rewrite the golden schemas in testdata")

func loadExamples(t testing.TB) *rules.Set {
	t.Helper()
	dir := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v)", err)
	}
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// compile exports c's schema and compiles it with a real validator, formats asserted.
func compile(t testing.TB, c *rules.Contract) *jsonschema.Schema {
	t.Helper()
	data, err := Export(c)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("exported schema is not JSON: %v\n%s", err, data)
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	url := "urn:test:" + c.Domain + ":" + c.Stage
	if err := comp.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := comp.Compile(url)
	if err != nil {
		t.Fatalf("exported schema of %s does not compile: %v\n%s", c.Domain, err, data)
	}
	return sch
}

func validate(sch *jsonschema.Schema, out []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// TestFixturesValidate judges every example fixture case with its contract and validates
// the enriched output of each one that reaches the curated stream against the exported
// schema.
func TestFixturesValidate(t *testing.T) {
	set := loadExamples(t)
	schemas := map[*rules.Contract]*jsonschema.Schema{}
	ev := rules.NewEvaluator()
	validated := map[string]int{}
	for _, ff := range set.Fixtures() {
		c := set.ByDomain(ff.Contract)
		if ff.Stage == rules.StageShadow {
			c = set.Shadow(ff.Contract)
		}
		if schemas[c] == nil {
			schemas[c] = compile(t, c)
		}
		for _, fc := range ff.Cases {
			now := fc.Now
			if now.IsZero() {
				now = time.Now()
			}
			v := ev.Judge(c, rules.Input{Data: fc.Data, PartitionKey: fc.PartitionKey, Now: now})
			if v.Outcome == rules.Quarantined {
				continue
			}
			if err := validate(schemas[c], v.Output); err != nil {
				t.Errorf("%s: case %q: curated output does not validate against the exported schema: %v\n%s", ff.File, fc.Name, err, v.Output)
			}
			validated[c.Domain]++
		}
	}
	for _, c := range set.Contracts() {
		if validated[c.Domain] == 0 {
			t.Errorf("no curated fixture output of %s was validated", c.Domain)
		}
	}
	t.Logf("validated curated outputs per domain: %v", validated)
}

// TestGeneratedCorpusValidates does the same for a generated corpus with bad and hostile
// events mixed in: every output the contracts route to the curated stream validates.
func TestGeneratedCorpusValidates(t *testing.T) {
	set := loadExamples(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g, err := gen.New(gen.Config{Domain: gen.DomainMixed, Seed: 42, BadFraction: 0.4, HostileFraction: 0.05, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]*jsonschema.Schema{}
	ev := rules.NewEvaluator()
	curated := 0
	for i := 0; i < 3000; i++ {
		rec := g.Next()
		c := set.ByStream(rec.Stream)
		if schemas[c.Domain] == nil {
			schemas[c.Domain] = compile(t, c)
		}
		v := ev.Judge(c, rules.Input{Data: rec.Data, PartitionKey: rec.PartitionKey, Now: now})
		if v.Outcome == rules.Quarantined {
			continue
		}
		curated++
		if err := validate(schemas[c.Domain], v.Output); err != nil {
			t.Fatalf("generated %s event (%s) does not validate: %v\n%s", rec.Kind, rec.Defect, err, v.Output)
		}
	}
	if curated < 1000 {
		t.Errorf("only %d curated outputs", curated)
	}
}

// TestSchemaRejects shows that the schema is not vacuous: a valid curated order, changed
// in one way a consumer relies on, no longer validates.
func TestSchemaRejects(t *testing.T) {
	set := loadExamples(t)
	orders := set.ByDomain("orders")
	sch := compile(t, orders)
	ff := fixtureCase(t, set, "orders", "valid order passes")
	v := rules.NewEvaluator().Judge(orders, rules.Input{Data: ff.Data, Now: ff.Now})
	if err := validate(sch, v.Output); err != nil {
		t.Fatalf("the valid order does not validate: %v", err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"unknown currency", `"currency":"EUR"`, `"currency":"JPY"`},
		{"email not hashed", `"customer_email":"` + field(t, v.Output, "customer_email") + `"`, `"customer_email":"anna.schmidt@example.com"`},
		{"card number not redacted", `"card_number":"[REDACTED]"`, `"card_number":"4111111111111111"`},
		{"bad customer id", `"customer_id":"C0012345"`, `"customer_id":"X12"`},
		{"unknown event type", `"event_type":"order_placed"`, `"event_type":"order_lost"`},
		{"zero quantity", `"qty":2`, `"qty":0`},
		{"malformed event id", `"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a60"`, `"event_id":"0b6a1f0e"`},
		{"malformed occurred_at", `"occurred_at":"2025-01-15T11:58:12.123456789Z"`, `"occurred_at":"yesterday"`},
		{"metadata of another version", `"version":"2.1.0"`, `"version":"2.0.0"`},
		{"metadata with an extra member", `"contract":"orders",`, `"contract":"orders","extra":1,`},
		{"no region", `"region":"EU",`, ``},
		{"negative total", `"total":52.48`, `"total":-1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(v.Output)
			if !strings.Contains(out, tc.old) {
				t.Fatalf("output has no %s:\n%s", tc.old, out)
			}
			bad := strings.Replace(out, tc.old, tc.new, 1)
			if !json.Valid([]byte(bad)) {
				t.Fatalf("edited output is not JSON: %s", bad)
			}
			if err := validate(sch, []byte(bad)); err == nil {
				t.Errorf("the schema accepts it:\n%s", bad)
			}
		})
	}
}

func fixtureCase(t *testing.T, set *rules.Set, domain, name string) rules.FixtureCase {
	t.Helper()
	for _, ff := range set.Fixtures() {
		for _, fc := range ff.Cases {
			if ff.Contract == domain && fc.Name == name {
				return fc
			}
		}
	}
	t.Fatalf("no fixture %q of %s", name, domain)
	return rules.FixtureCase{}
}

func field(t *testing.T, data []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[name].(string)
	return s
}

// TestGolden pins the whole schema of a contract that uses every form the exporter
// understands (testdata/forms.yaml) and every enrichment step. go test -update rewrites it.
func TestGolden(t *testing.T) {
	set, err := rules.Load(filepath.Join("testdata", "forms"), rules.Options{HashSalt: "s"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Export(set.ByDomain("forms"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "forms.schema.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schema of testdata/forms differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	compile(t, set.ByDomain("forms"))
}

// formsEvent passes every rule of testdata/forms.
const formsEvent = `{"id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a60","n":3,"when":"2025-01-15T10:00:00Z","day":"2025-01-15",` +
	`"tags":["a","b"],"kind":"a","code":"ABC","address":{"city":"Berlin"},"obsolete":"x","mail":"a@b.io","level":2,` +
	`"ratio":0.5,"mode":"x","color":"red","nick":"bo","note":"hi there","scores":[{"v":1}],"parts":[{"id":1},null,{"x":1}],` +
	`"flag":true,"country":"DE","meta":{"source":"web"},"maybe":{"deep":[1]},"perhaps":null,"anything":"abc"}`

// FuzzFormsSound checks the exporter's soundness on the contract that uses every form it
// understands: whatever event the contract routes to the curated stream validates against
// the exported schema. The seeds run as a normal test.
func FuzzFormsSound(f *testing.F) {
	set, err := rules.Load(filepath.Join("testdata", "forms"), rules.Options{HashSalt: "s"})
	if err != nil {
		f.Fatal(err)
	}
	c := set.ByDomain("forms")
	sch := compile(f, c)
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, seed := range formsSeeds() {
		f.Add([]byte(seed))
	}
	ev := rules.NewEvaluator()
	f.Fuzz(func(t *testing.T, data []byte) {
		v := ev.Judge(c, rules.Input{Data: data, Now: now})
		if v.Outcome == rules.Quarantined {
			return
		}
		if err := validate(sch, v.Output); err != nil {
			t.Errorf("curated output does not validate: %v\ninput:  %s\noutput: %s", err, data, v.Output)
		}
	})
}

// formsSeeds are variants of formsEvent that all pass the forms contract (TestFormsSeedsPass).
func formsSeeds() []string {
	return []string{
		formsEvent,
		strings.Replace(formsEvent, `"n":3,`, `"n":null,`, 1),
		strings.Replace(formsEvent, `"mode":"x",`, ``, 1),
		strings.Replace(formsEvent, `"note":"hi there",`, `"note":null,`, 1),
		strings.Replace(formsEvent, `"scores":[{"v":1}]`, `"scores":"none"`, 1),
		strings.Replace(formsEvent, `"parts":[{"id":1},null,{"x":1}]`, `"parts":7`, 1),
		strings.Replace(formsEvent, `"kind":"a"`, `"kind":"b"`, 1),
		strings.Replace(formsEvent, `"nick":"bo"`, `"nick":["x","y"]`, 1),
		strings.Replace(formsEvent, `"address":{"city":"Berlin"}`, `"address":null`, 1),
		strings.Replace(formsEvent, `"perhaps":null`, `"perhaps":{"a":1}`, 1),
	}
}

func TestFormsSeedsPass(t *testing.T) {
	set, err := rules.Load(filepath.Join("testdata", "forms"), rules.Options{HashSalt: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for i, seed := range formsSeeds() {
		v := rules.NewEvaluator().Judge(set.ByDomain("forms"), rules.Input{Data: []byte(seed), Now: time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)})
		if v.Outcome == rules.Quarantined {
			t.Errorf("seed %d does not pass: %+v", i, v.Violations)
		}
	}
}
