package rules

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nativeExamples returns a copy of examples/contracts without the directories of ODCS
// documents (*.odcs.yaml): this package cannot import the odcs format (odcs imports rules), so
// its internal tests load the native contracts, the policy and their fixtures only. The whole
// directory, ODCS domain included, is tested by TestExampleFixtures in package rules_test.
func nativeExamples(tb testing.TB) string {
	tb.Helper()
	src := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(src); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("example contracts missing: %v", err)
		}
		tb.Skipf("example contracts missing (%v)", err)
	}
	dst := tb.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if odcs, _ := filepath.Glob(filepath.Join(path, "*.odcs.yaml")); len(odcs) > 0 {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		tb.Fatalf("copy example contracts: %v", err)
	}
	return dst
}

const runnerContract = `
domain: shop
version: 1.0.0
rules:
  - name: id_present
    check: present(id)
  - name: qty_positive
    when: qty != nil
    check: qty > 0
  - name: never_fails
    check: true
enrich:
  - set: tagged
    value: '"yes"'  # a string literal: the YAML scalar is the expression "yes"
`

const runnerFixtures = `
contract: shop
now: 2025-01-15T12:00:00Z
cases:
  - name: good
    event: {id: a, qty: 1}
    expect: pass
    enriched: {tagged: "yes"}
  - name: wrong outcome
    event: {qty: 1}
    expect: pass
  - name: wrong failures
    event: {qty: 0}
    expect: quarantine
    failures: [qty_positive]
  - name: wrong output
    event: {id: a}
    expect: pass
    enriched: {tagged: "no", missing.path: 1}
    absent: [id]
  - name: wrong decode
    raw: '{"id": 1, "id": 2}'
    decode: invalid_json
`

func TestFixtureRunnerReportsProblemsAndCoverage(t *testing.T) {
	s := loadDir(t, Options{}, map[string]string{"shop.yaml": runnerContract, "shop.test.yaml": runnerFixtures})
	rep := RunFixtures(s)
	if !rep.Failed() || !rep.CoverageGaps() {
		t.Fatalf("Failed=%v CoverageGaps=%v", rep.Failed(), rep.CoverageGaps())
	}
	var out bytes.Buffer
	rep.WriteReport(&out, true, true)
	file := filepath.Join(s.Dir(), "shop.test.yaml")
	want := strings.ReplaceAll(`=== RUN   shop/good
--- PASS: shop/good
=== RUN   shop/wrong outcome
--- FAIL: shop/wrong outcome
    FILE:9:5
    expected pass, got quarantine; failing rules: id_present (value <missing>)
=== RUN   shop/wrong failures
--- FAIL: shop/wrong failures
    FILE:12:5
    expected failures [qty_positive], got [id_present qty_positive]; also failed: id_present
=== RUN   shop/wrong output
--- FAIL: shop/wrong output
    FILE:16:5
    output tagged = "yes", want "no"
    output has no missing.path (want 1)
    output has id, want it absent
=== RUN   shop/wrong decode
--- FAIL: shop/wrong decode
    FILE:21:5
    expected decode failure invalid_json, got duplicate_key (duplicate_key: key "id" repeated at byte 10)
FAIL	shop	5 cases, 4 failed
coverage: shop: 2/3 rules have a passing and a failing case
    FAIL never_fails: no failing case
`, "FILE", file)
	if out.String() != want {
		t.Errorf("report\n--- got\n%s\n--- want\n%s", out.String(), want)
	}
}

func TestFixtureEditsAndRawBytes(t *testing.T) {
	s := loadDir(t, Options{}, map[string]string{"shop.yaml": runnerContract, "shop.test.yaml": `
contract: shop
cases:
  - name: base
    event: &e {id: a, qty: 2, nested: {x: 1, y: 9007199254740993}}
    expect: pass
  - name: edited
    event: *e
    with: {qty: 0, nested.x: "z", added: [1, 2]}
    without: [id]
    expect: quarantine
  - name: raw
    raw: '{"id":"a"}'
    expect: pass
`})
	cases := s.Fixtures()[0].Cases
	want := []string{
		`{"id":"a","qty":2,"nested":{"x":1,"y":9007199254740993}}`,
		`{"qty":0,"nested":{"x":"z","y":9007199254740993},"added":[1,2]}`,
		`{"id":"a"}`,
	}
	for i, w := range want {
		if string(cases[i].Data) != w {
			t.Errorf("case %d data %s, want %s", i, cases[i].Data, w)
		}
	}
}
