package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	_ "github.com/meshgate/meshgate/odcs" // the payments example is an ODCS document
	"github.com/meshgate/meshgate/rules"
)

// TestExampleFixtures runs the fixtures of the example contracts, the ODCS-native payments
// domain included, as `meshgate test --require-coverage` does: every case passes and every
// rule has a passing and a failing case.
func TestExampleFixtures(t *testing.T) {
	dir := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v)", err)
	}
	s, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatal(err)
	}
	rep := rules.RunFixtures(s)
	for _, r := range rep.Results {
		t.Run(r.Contract+"/"+r.Case.Name, func(t *testing.T) {
			for _, p := range r.Problems {
				t.Errorf("%s:%d:%d: %s", r.Case.Pos.File, r.Case.Pos.Line, r.Case.Pos.Col, p)
			}
		})
	}
	for _, c := range rep.Coverage {
		for _, g := range c.Gaps() {
			t.Errorf("coverage gap in %s: %s", c.Name, g)
		}
	}
	domains := map[string]int{}
	for _, r := range rep.Results {
		domains[r.Contract]++
	}
	for _, d := range []string{"orders", "customers", "payments"} {
		if domains[d] < 20 {
			t.Errorf("only %d fixture cases for %s (all: %v)", domains[d], d, domains)
		}
	}
}
