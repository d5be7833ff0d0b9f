package odcs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/rules"
)

// exampleDir returns a directory of the repository's examples, skipping (failing in CI)
// when it is missing.
func exampleDir(t *testing.T, rel string) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "examples", rel)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("examples/%s missing: %v", rel, err)
		}
		t.Skipf("examples/%s missing: %v", rel, err)
	}
	return dir
}

// exportSet exports every contract of set into a new directory, with the policies and
// fixture files of src copied beside them, and loads that directory.
func exportSet(t *testing.T, set *rules.Set, src string) (*rules.Set, string) {
	t.Helper()
	dir := t.TempDir()
	for _, c := range set.Contracts() {
		x, err := Export(c.Spec, dir, c.Domain)
		if err != nil {
			t.Fatalf("export %s: %v", c.Domain, err)
		}
		d, b := ExportFiles(dir, c.Domain)
		if err := os.WriteFile(d, x.Document, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b, x.Binding, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(moduleRoot(t), "..", "shared", "odcs", schemaFile)); err == nil {
			if err := officialValidate(t, d, x.Document); err != nil {
				t.Errorf("exported %s does not validate against the official ODCS schema: %v", d, err)
			}
		}
	}
	for _, p := range set.Policies() {
		copyFile(t, p.File, filepath.Join(dir, "policies", filepath.Base(p.File)))
	}
	for _, f := range set.Fixtures() {
		copyFile(t, f.File, filepath.Join(dir, filepath.Base(f.File)))
	}
	out, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatalf("the exported contracts do not load:\n%v", err)
	}
	for _, c := range set.Contracts() {
		if got := out.ByDomain(c.Domain); got == nil || got.Spec.Format != "odcs" {
			t.Fatalf("domain %s is not an ODCS contract after export", c.Domain)
		}
	}
	_ = src
	return out, dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// verdictKey renders everything a verdict decides, messages aside (ODCS carries a rule's
// message as the quality entry's description, and derived messages may be worded
// differently): outcome, decode failure, each failing rule with its severity and value,
// the exact output bytes, the partition key and the envelope facts.
func verdictKey(v rules.Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "outcome=%s", v.Outcome)
	if v.Decode != nil {
		fmt.Fprintf(&b, " decode=%s", v.Decode.Reason)
	}
	var vs []string
	for _, vi := range v.Violations {
		vs = append(vs, fmt.Sprintf("%s/%s/%q", vi.Rule, vi.Severity, vi.Value))
	}
	slices.Sort(vs)
	fmt.Fprintf(&b, " failed=%v key=%q type=%q version=%q time=%s\noutput=%s", vs, v.PartitionKey, v.EventType,
		v.SchemaVersion, v.EventTime.Format(time.RFC3339Nano), v.Output)
	return b.String()
}

// TestRoundTripJudgesIdentically exports the native example contracts to ODCS, loads the
// exported documents and bindings, and judges a generated corpus (good, bad of every kind,
// hostile) with both: every verdict, failing rule, output byte and partition key agree.
// The native fixtures, copied beside the exported contracts, pass unchanged: rule names
// survive the trip.
func TestRoundTripJudgesIdentically(t *testing.T) {
	src := exampleDir(t, "contracts")
	native, err := rules.Load(src, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatal(err)
	}
	exported, dir := exportSet(t, native, src)

	rep := rules.RunFixtures(exported)
	if rep.Failed() {
		var buf bytes.Buffer
		rep.WriteReport(&buf, false, false)
		t.Errorf("native fixtures fail against the exported contracts (%s):\n%s", dir, buf.String())
	}
	for _, c := range native.Contracts() {
		if a, b := c.RuleNames(), exported.ByDomain(c.Domain).RuleNames(); !slices.Equal(sorted(a), sorted(b)) {
			t.Errorf("%s: rule names differ\nnative:   %v\nexported: %v", c.Domain, sorted(a), sorted(b))
		}
	}

	now := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	g, err := gen.New(gen.Config{Domain: gen.DomainMixed, Seed: 42, BadFraction: 0.4, HostileFraction: 0.05, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	n := 4000
	if testing.Short() {
		n = 800
	}
	en, ee := rules.NewEvaluator(), rules.NewEvaluator()
	kinds := map[string]int{}
	outcomes := map[string]int{}
	diffs := 0
	for i := 0; i < n; i++ {
		rec := g.Next()
		a, b := native.ByStream(rec.Stream), exported.ByStream(rec.Stream)
		if a == nil || b == nil {
			t.Fatalf("stream %s: native contract %v, exported contract %v", rec.Stream, a != nil, b != nil)
		}
		in := rules.Input{Data: rec.Data, PartitionKey: rec.PartitionKey, Now: now}
		va, vb := en.Judge(a, in), ee.Judge(b, in)
		kinds[rec.Kind]++
		outcomes[va.Outcome.String()]++
		if ka, kb := verdictKey(va), verdictKey(vb); ka != kb {
			diffs++
			if diffs <= 5 {
				t.Errorf("record %d (%s/%s) judged differently:\nnative:   %s\nexported: %s", i, rec.Domain, rec.Kind, ka, kb)
			}
		}
	}
	if diffs > 0 {
		t.Fatalf("%d of %d records judged differently", diffs, n)
	}
	if len(kinds) < 20 || outcomes["passed"] == 0 || outcomes["warned"] == 0 || outcomes["quarantined"] == 0 {
		t.Fatalf("corpus too narrow to prove anything: kinds %v, outcomes %v", kinds, outcomes)
	}
	t.Logf("%d records of %d kinds judged identically (%v)", n, len(kinds), outcomes)
}

// TestODCSRoundTripKeepsFixtures exports the example contracts, the ODCS-native payments
// domain among them, back to ODCS and runs their fixtures against the result.
func TestODCSRoundTripKeepsFixtures(t *testing.T) {
	src := exampleDir(t, "contracts")
	set, err := rules.Load(src, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatal(err)
	}
	exported, dir := exportSet(t, set, src)
	rep := rules.RunFixtures(exported)
	var buf bytes.Buffer
	rep.WriteReport(&buf, false, true)
	if rep.Failed() || rep.CoverageGaps() {
		t.Fatalf("payments fixtures fail against the re-exported contract (%s):\n%s", dir, buf.String())
	}
	a, b := set.ByDomain("payments"), exported.ByDomain("payments")
	if !slices.Equal(sorted(a.RuleNames()), sorted(b.RuleNames())) {
		t.Fatalf("rule names differ\nfirst:  %v\nsecond: %v", sorted(a.RuleNames()), sorted(b.RuleNames()))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
