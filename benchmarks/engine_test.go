package benchmarks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/rules"
)

// agreementCorpus is a corpus with every bad kind of the orders domain many times over.
func agreementCorpus(t *testing.T) ([][]byte, *rules.Contract) {
	t.Helper()
	c, err := Orders("")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Corpus(3000, 7, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return recs, c
}

// canonical re-encodes a JSON document with sorted keys and exact numbers.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// roundedTraceID is what encoding/json makes of trace_id: a float64, as the naive engine
// re-encodes it. The comparison with the naive output forgives exactly that.
func roundedTraceID(t *testing.T, b []byte) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestNaiveAgrees holds the naive engine to meshgate: same outcome, same failed rules and the
// same enriched output (as JSON values; the naive engine rounds big integers) for every
// record of a corpus with every bad kind.
func TestNaiveAgrees(t *testing.T) {
	recs, c := agreementCorpus(t)
	n, err := NewNaive(c, Salt)
	if err != nil {
		t.Fatal(err)
	}
	e := rules.NewEvaluator()
	failed := map[string]int{}
	for i, rec := range recs {
		v := e.Judge(c, rules.Input{Data: rec, Now: Now})
		want := FromVerdict(&v)
		got, err := n.Judge(rec, Now)
		if err != nil {
			t.Fatalf("record %d: naive: %v", i, err)
		}
		compare(t, i, rec, want, got, roundedTraceID)
		for _, r := range want.Failed {
			failed[r]++
		}
	}
	checkCoverage(t, c, failed)
}

// TestCeilingAgrees holds the hand-written ceiling to meshgate, byte for byte on the output.
func TestCeilingAgrees(t *testing.T) {
	recs, c := agreementCorpus(t)
	cl, err := NewCeiling(c, Salt)
	if err != nil {
		t.Fatal(err)
	}
	e := rules.NewEvaluator()
	for i, rec := range recs {
		v := e.Judge(c, rules.Input{Data: rec, Now: Now})
		want := FromVerdict(&v)
		got := cl.Judge(rec, Now)
		compare(t, i, rec, want, got, nil)
	}
}

func compare(t *testing.T, i int, rec []byte, want, got Result, norm func(*testing.T, []byte) string) {
	t.Helper()
	if want.Outcome != got.Outcome || !reflect.DeepEqual(want.Failed, got.Failed) {
		t.Fatalf("record %d: meshgate %v %v, got %v %v\n%s", i, want.Outcome, want.Failed, got.Outcome, got.Failed, rec)
	}
	if want.Outcome == rules.Quarantined {
		return
	}
	if norm == nil {
		if string(want.Output) != string(got.Output) {
			t.Fatalf("record %d: output differs\nmeshgate: %s\ngot:      %s", i, want.Output, got.Output)
		}
		return
	}
	if w, g := norm(t, want.Output), norm(t, got.Output); w != g {
		t.Fatalf("record %d: output differs\nmeshgate: %s\ngot:      %s", i, w, g)
	}
}

// checkCoverage makes sure the corpus exercised the rules the generator's bad kinds target,
// so that agreement is not agreement on good events only.
func checkCoverage(t *testing.T, c *rules.Contract, failed map[string]int) {
	t.Helper()
	for _, k := range gen.Kinds() {
		if k.Domain != gen.DomainOrders || k.Class != gen.Bad {
			continue
		}
		hit := false
		for _, r := range k.Rules {
			hit = hit || failed[r] > 0
		}
		if !hit {
			t.Errorf("no record of bad kind %s failed any of %v", k.Name, k.Rules)
		}
	}
	if len(failed) < 15 {
		t.Errorf("only %d of %d rules ever failed: %v", len(failed), len(c.RuleNames()), failed)
	}
}
