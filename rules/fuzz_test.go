package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader as a contract, a policy and a fixture file next
// to a valid contract. Load must never panic; it returns a Set or an ErrorList whose errors all
// have a position in a file of the directory.
//
//	go test ./rules -run '^$' -fuzz FuzzLoad -fuzztime 30s
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"orders.yaml", "customers.yaml", "policies/envelope.yaml", "orders.test.yaml"} {
		if data, err := os.ReadFile(filepath.Join("..", "examples", "contracts", p)); err == nil {
			f.Add(data)
		}
	}
	for _, p := range []string{"structure/orders.yaml", "expressions/orders.yaml", "fields/customers.yaml", "fixtures/orders.test.yaml"} {
		if data, err := os.ReadFile(filepath.Join("testdata", "broken", p)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("domain: x\nversion: 1\nrules:\n  - name: a\n    check: '\"\\u00e9\" == a ||'\n"))
	f.Add([]byte("domain: x\nversion: 1\nrules:\n  - name: a\n    check: >\n      a &&\n      b(\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"x.yaml", "x.test.yaml"} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("domain: base\nversion: 1.0.0\nrules: []\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			set, err := Load(dir, Options{InsecureTestSalt: true})
			if err == nil {
				if set == nil {
					t.Fatal("nil set without error")
				}
				// A set that loads must judge without panicking.
				e := NewEvaluator()
				for _, c := range append(set.Contracts(), set.Shadows()...) {
					e.Judge(c, Input{Data: []byte(`{"a":1,"items":[{"x":null}],"s":"t"}`)})
				}
				RunFixtures(set)
				continue
			}
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("error is %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
		}
	})
}

// FuzzJudge judges arbitrary records with the example orders contract. Judge must never
// panic, and a record that passes must have an output that is valid JSON.
//
//	go test ./rules -run '^$' -fuzz FuzzJudge -fuzztime 30s
func FuzzJudge(f *testing.F) {
	s, err := Load(nativeExamples(f), Options{HashSalt: TestSalt})
	if err != nil {
		f.Skip(err)
	}
	for _, ff := range s.Fixtures() {
		for _, fc := range ff.Cases {
			f.Add(fc.Data)
		}
	}
	f.Add(benchOrder)
	c := s.ByDomain("orders")
	e := NewEvaluator()
	f.Fuzz(func(t *testing.T, data []byte) {
		v := e.Judge(c, Input{Data: data, Now: benchNow})
		if v.Outcome != Quarantined {
			if _, err := decodeForTest(v.Output); err != nil {
				t.Fatalf("output is not a JSON object: %v\n%s", err, v.Output)
			}
		}
	})
}
