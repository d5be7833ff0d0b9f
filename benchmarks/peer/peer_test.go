package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/gen"
	_ "github.com/meshgate/meshgate/odcs" // examples/contracts/payments is an ODCS document
	_ "github.com/meshgate/meshgate/odcs" // the examples hold an ODCS contract (payments)
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

const (
	testSalt     = "peer-test-salt"
	examplesDir  = "../../examples/contracts"
	regionsTable = "../../examples/contracts/lookups/country_regions.csv"
)

var testNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// TestPeerAgreesWithMeshgate runs `meshgate check`'s engine (rules.Check) and the peer over
// the same generated corpus — half of it bad, every bad kind of the orders domain — and
// requires the same verdicts: the same number of passed, warned and quarantined events, the
// same count per rule, the same failing rules for every quarantined payload, and the same
// enriched good events (as JSON values: Benthos sorts keys, meshgate keeps the input order).
func TestPeerAgreesWithMeshgate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	writeCorpus(t, in, 3000, 0.5)

	set, err := rules.Load(examplesDir, rules.Options{HashSalt: testSalt})
	if err != nil {
		t.Fatal(err)
	}
	c := set.ByDomain("orders")
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mGood, mQuar bytes.Buffer
	want, err := rules.Check(context.Background(), f, rules.CheckConfig{Contract: c, Good: &mGood, Quarantine: &mQuar, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}

	pGood, pQuar := filepath.Join(dir, "good.ndjson"), filepath.Join(dir, "quarantine.ndjson")
	got, err := Run(context.Background(), Config{In: in, Good: pGood, Quarantine: pQuar, Lookup: regionsTable,
		Now: testNow, Salt: testSalt, Threads: 2, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}

	if got.Events != want.Events || got.Passed != want.Passed || got.Warned != want.Warned || got.Quarantined != want.Quarantined {
		t.Errorf("peer events/passed/warned/quarantined %d/%d/%d/%d, meshgate %d/%d/%d/%d",
			got.Events, got.Passed, got.Warned, got.Quarantined, want.Events, want.Passed, want.Warned, want.Quarantined)
	}
	wantRules, gotRules := map[string]int{}, map[string]int{}
	for _, r := range want.Rules {
		if r.Failures > 0 {
			wantRules[r.Rule] = r.Failures
		}
	}
	for _, r := range got.Rules {
		gotRules[r.Rule] = r.Failures
	}
	if !mapsEqual(wantRules, gotRules) {
		t.Errorf("failures per rule differ\npeer:     %v\nmeshgate: %v", gotRules, wantRules)
	}
	if len(wantRules) < 15 {
		t.Errorf("the corpus made only %d rules fail; the comparison proves little", len(wantRules))
	}

	if g, w := canonicalLines(t, readFile(t, pGood)), canonicalLines(t, mGood.Bytes()); !slices.Equal(g, w) {
		t.Errorf("good events differ: peer %d, meshgate %d lines; first peer line not in meshgate's:\n%s", len(g), len(w), firstMissing(g, w))
	}
	if g, w := quarantined(t, readFile(t, pQuar)), quarantined(t, mQuar.Bytes()); !slices.Equal(g, w) {
		t.Errorf("quarantined payloads/failures differ: peer %d, meshgate %d; first of the peer's not in meshgate's:\n%s", len(g), len(w), firstMissing(g, w))
	}
}

// TestPeerDecodeFailure checks that a record that is not a JSON object is quarantined as a
// decode failure with its exact bytes, not dropped and not judged, and that the output file
// holds this run's records only.
func TestPeerDecodeFailure(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	if err := os.WriteFile(in, []byte("not json\n[1,2]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	q := filepath.Join(dir, "q.ndjson")
	// A previous run's output is replaced, not appended to.
	if err := os.WriteFile(q, []byte("stale line from an earlier run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), Config{In: in, Quarantine: q, Lookup: regionsTable, Now: testNow, Salt: testSalt, Threads: 1, Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 2 || sum.Quarantined != 2 || sum.Decode["decode"] != 2 {
		t.Fatalf("summary %+v", sum)
	}
	recs, err := quarantine.DecodeNDJSON(bytes.NewReader(readFile(t, q)))
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, r := range recs {
		if r.Reason != quarantine.ReasonDecode || r.Failures[0].Rule != "decode" {
			t.Errorf("record %+v", r)
		}
		payloads = append(payloads, string(r.Payload))
	}
	slices.Sort(payloads)
	if !slices.Equal(payloads, []string{"[1,2]", "not json"}) {
		t.Errorf("payloads %q", payloads)
	}
}

func writeCorpus(t *testing.T, path string, n int, bad float64) {
	t.Helper()
	g, err := gen.New(gen.Config{Domain: gen.DomainOrders, Seed: 11, BadFraction: bad, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.Write(g.Next().Data)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonicalLines re-encodes every line with sorted keys and exact numbers, sorted.
func canonicalLines(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Bytes())
		}
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// quarantined lists "payload -> failing rules" for every quarantine record, sorted.
func quarantined(t *testing.T, data []byte) []string {
	t.Helper()
	recs, err := quarantine.DecodeNDJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		var names []string
		for _, f := range r.Failures {
			names = append(names, f.Rule+"/"+f.Severity)
		}
		out = append(out, string(r.Payload)+" -> "+strings.Join(names, ","))
	}
	slices.Sort(out)
	return out
}

func firstMissing(a, b []string) string {
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			return x
		}
	}
	return "(none: counts differ)"
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
