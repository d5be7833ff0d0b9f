package gen_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/gen"
	_ "github.com/meshgate/meshgate/odcs" // payments is an ODCS document
	"github.com/meshgate/meshgate/rules"
)

// TestExampleContractsJudgeAsPredicted runs records of every kind through the real rule
// engine with the example contracts: each record must get exactly the predicted outcome,
// failing rules and decode reason. This is what lets other tests count on Record's fields.
func TestExampleContractsJudgeAsPredicted(t *testing.T) {
	dir := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v); skipping", err)
	}
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatalf("load example contracts: %v", err)
	}
	now := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	g, err := gen.New(gen.Config{Domain: gen.DomainMixed, Seed: 7, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ev := rules.NewEvaluator()
	reported := map[string]bool{}
	check := func(rec gen.Record) {
		t.Helper()
		c := set.ByStream(rec.Stream)
		if c == nil {
			t.Fatalf("no contract judges stream %s", rec.Stream)
		}
		v := ev.Judge(c, rules.Input{Data: rec.Data, PartitionKey: rec.PartitionKey, Now: now})
		var failed []string
		for _, vi := range v.Violations {
			failed = append(failed, vi.Rule)
		}
		slices.Sort(failed)
		decode := ""
		if v.Decode != nil {
			decode = v.Decode.Reason
		}
		if v.Outcome.String() != rec.Outcome || !slices.Equal(failed, rec.Rules) || decode != rec.Decode {
			key := fmt.Sprintf("%s/%s (%s): got %s %v decode=%q, predicted %s %v decode=%q",
				rec.Domain, rec.Kind, rec.Defect, v.Outcome, failed, decode, rec.Outcome, rec.Rules, rec.Decode)
			if !reported[key] {
				reported[key] = true
				show := rec.Data
				if len(show) > 200 {
					show = show[:200]
				}
				t.Errorf("%s\n%s", key, show)
				for _, vi := range v.Violations {
					t.Logf("  %s: %s value=%s error=%s", vi.Rule, vi.Message, vi.Value, vi.Error)
				}
			}
		}
	}
	for _, domain := range []string{gen.DomainOrders, gen.DomainCustomers, gen.DomainPayments} {
		for range 200 {
			check(g.Make(domain, gen.Good, ""))
		}
		for _, k := range gen.Kinds() {
			if k.Domain != domain {
				continue
			}
			n := 40
			if k.Name == "too_large" {
				n = 3
			}
			for range n {
				check(g.Make(domain, k.Class, k.Name))
			}
		}
	}
}
