package rules

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const uniqueContract = `
domain: pay
version: 1.0.0
sources: [pay-raw]
fields:
  amount: {type: number, minimum: 0}
rules:
  - name: id_once
    unique: {key: id, window: 10m, maxKeys: 3}
  - name: pair_once
    when: kind == "paid"
    unique:
      key: [customer, day]
    message: one payment per customer and day
enrich:
  - set: id
    value: '"rewritten"'
  - set: id_was
    value: id
`

var uniqueT0 = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// TestUniqueRule judges sequences of records with one evaluator and checks which are
// duplicates: the window slides with each occurrence and ends by the Input's Now, the same
// record judged again is not a duplicate of itself, a nil key component is not checked,
// numbers are keys by value, and only events that go to the curated stream are remembered.
func TestUniqueRule(t *testing.T) {
	set := loadDir(t, Options{InsecureTestSalt: true}, map[string]string{"pay.yaml": uniqueContract})
	c := set.ByDomain("pay")
	type step struct {
		data string
		at   time.Duration // after uniqueT0
		seq  string        // source record sequence number ("" unknown)
		sub  int64
		want []string // failing rules
		out  Outcome
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "second occurrence warns", steps: []step{
			{data: `{"id":"a"}`, want: nil, out: Passed},
			{data: `{"id":"b"}`, want: nil, out: Passed},
			{data: `{"id":"a"}`, at: time.Minute, want: []string{"id_once"}, out: Warned},
			{data: `{"id":"a"}`, at: 2 * time.Minute, want: []string{"id_once"}, out: Warned},
		}},
		{name: "window ends by Now and slides with every occurrence", steps: []step{
			{data: `{"id":"a"}`},
			{data: `{"id":"a"}`, at: 10 * time.Minute, want: []string{"id_once"}, out: Warned}, // exactly the window: still inside
			{data: `{"id":"a"}`, at: 19 * time.Minute, want: []string{"id_once"}, out: Warned}, // 9m after the last one
			{data: `{"id":"a"}`, at: 30 * time.Minute},                                         // 11m after the last one
			{data: `{"id":"a"}`, at: 31 * time.Minute, want: []string{"id_once"}, out: Warned},
		}},
		{name: "the same record judged again is not a duplicate of itself", steps: []step{
			{data: `{"id":"a"}`, seq: "100"},
			{data: `{"id":"a"}`, seq: "100", at: time.Minute},                                         // retried batch
			{data: `{"id":"a"}`, seq: "101", at: time.Minute, want: []string{"id_once"}, out: Warned}, // another record
			{data: `{"id":"a"}`, seq: "100", at: 2 * time.Minute},                                     // the first again
			{data: `{"id":"a"}`, seq: "101", at: 2 * time.Minute, want: []string{"id_once"}, out: Warned},
			{data: `{"id":"a"}`, seq: "100", sub: 1, at: 2 * time.Minute, want: []string{"id_once"}, out: Warned}, // another user record of an aggregate
			{data: `{"id":"a"}`, at: 3 * time.Minute, want: []string{"id_once"}, out: Warned},                     // unknown identity: another record
		}},
		{name: "null or missing key is not checked", steps: []step{
			{data: `{"id":null}`},
			{data: `{"id":null}`},
			{data: `{"other":1}`},
			{data: `{"other":1}`},
		}},
		{name: "numbers are keys by value, types are distinct", steps: []step{
			{data: `{"id":1}`},
			{data: `{"id":1.0}`, want: []string{"id_once"}, out: Warned},
			{data: `{"id":"1"}`},
			{data: `{"id":true}`},
			{data: `{"id":[1,{"b":2,"a":1}]}`},
			{data: `{"id":[1,{"a":1,"b":2}]}`, want: []string{"id_once"}, out: Warned},
		}},
		{name: "composite key with a guard", steps: []step{
			{data: `{"kind":"paid","customer":"C1","day":"2025-01-15"}`},
			{data: `{"kind":"paid","customer":"C1","day":"2025-01-16"}`},
			{data: `{"kind":"refund","customer":"C1","day":"2025-01-15"}`},
			{data: `{"kind":"paid","customer":"C1","day":"2025-01-15"}`, want: []string{"pair_once"}, out: Warned},
			{data: `{"kind":"paid","customer":"C1-2025-01-15","day":""}`}, // components do not run into each other
			{data: `{"kind":"paid","customer":"C1","day":null}`},
		}},
		{name: "quarantined events are not remembered", steps: []step{
			{data: `{"id":"q","amount":-1}`, want: []string{"amount.minimum"}, out: Quarantined},
			{data: `{"id":"q","amount":1}`},
			{data: `{"id":"q","amount":-1}`, want: []string{"amount.minimum"}, out: Quarantined},
			{data: `{"id":"q","amount":2}`, want: []string{"id_once"}, out: Warned},
		}},
		{name: "the key is read before enrichment rewrites it", steps: []step{
			{data: `{"id":"h"}`},
			{data: `{"id":"i"}`},
			{data: `{"id":"h"}`, want: []string{"id_once"}, out: Warned},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvaluator()
			for i, s := range tt.steps {
				in := Input{Data: []byte(s.data), Now: uniqueT0.Add(s.at), Stream: "pay-raw", Shard: "shardId-0", SequenceNumber: s.seq, SubSequence: s.sub}
				v := e.Judge(c, in)
				if got := violationNames(v); strings.Join(got, ",") != strings.Join(s.want, ",") || v.Outcome != s.out {
					t.Errorf("step %d %s at +%s: failures %v outcome %s, want %v %s", i+1, s.data, s.at, got, v.Outcome, s.want, s.out)
				}
			}
		})
	}
}

func TestUniqueViolationNamesTheKey(t *testing.T) {
	set := loadDir(t, Options{InsecureTestSalt: true}, map[string]string{"pay.yaml": uniqueContract})
	c := set.ByDomain("pay")
	e := NewEvaluator()
	var last Verdict
	for _, d := range []string{`{"id":"x1"}`, `{"id":"x1"}`, `{"kind":"paid","customer":"C1","day":"d"}`, `{"kind":"paid","customer":"C1","day":"d"}`} {
		v := e.Judge(c, Input{Data: []byte(d), Now: uniqueT0})
		if len(v.Violations) > 0 {
			last = v
			if v.Violations[0].Rule == "id_once" {
				want := Violation{Rule: "id_once", Severity: SeverityWarn, Message: "id was already seen within 10m", Value: `"x1"`}
				if v.Violations[0] != want {
					t.Errorf("violation %+v, want %+v", v.Violations[0], want)
				}
			}
		}
	}
	want := Violation{Rule: "pair_once", Severity: SeverityWarn, Message: "one payment per customer and day", Value: `["C1","d"]`}
	if len(last.Violations) != 1 || last.Violations[0] != want {
		t.Errorf("violations %+v, want [%+v]", last.Violations, want)
	}
	// The output is the enriched event, as for any warned event.
	if !bytes.Contains(last.Output, []byte(`"customer":"C1"`)) {
		t.Errorf("output %s", last.Output)
	}
}

// TestUniqueMaxKeysEvictsOldest: with maxKeys 3 the least recently seen key goes first, and
// Report hands out each eviction once.
func TestUniqueMaxKeysEvictsOldest(t *testing.T) {
	set := loadDir(t, Options{InsecureTestSalt: true}, map[string]string{"pay.yaml": uniqueContract})
	c := set.ByDomain("pay")
	st := NewState()
	e := NewEvaluator()
	e.UseState(st)
	dup := func(id string, at time.Duration) bool {
		v := e.Judge(c, Input{Data: []byte(`{"id":"` + id + `"}`), Now: uniqueT0.Add(at)})
		return v.Outcome == Warned
	}
	for i, s := range []struct {
		id   string
		want bool
	}{
		{"a", false}, {"b", false}, {"c", false},
		{"a", true},  // renews a: b is now the oldest
		{"d", false}, // evicts b
		{"a", true}, {"c", true}, {"d", true},
		{"b", false}, // b was evicted: seen as new, evicts the oldest (a)
		{"a", false},
	} {
		if got := dup(s.id, time.Duration(i)*time.Second); got != s.want {
			t.Errorf("step %d: %s duplicate = %v, want %v", i+1, s.id, got, s.want)
		}
	}
	var stats []UniqueStat
	st.Report(uniqueT0.Add(time.Minute), func(s UniqueStat) { stats = append(stats, s) })
	want := []UniqueStat{{Domain: "pay", Stage: StageActive, Rule: "id_once", Keys: 3, Evicted: 3}, {Domain: "pay", Stage: StageActive, Rule: "pair_once"}}
	if fmt.Sprint(stats) != fmt.Sprint(want) {
		t.Errorf("report %+v, want %+v", stats, want)
	}
	stats = nil
	st.Report(uniqueT0.Add(time.Minute), func(s UniqueStat) { stats = append(stats, s) })
	if stats[0].Evicted != 0 || stats[0].Keys != 3 {
		t.Errorf("second report %+v: evictions must be handed out once", stats[0])
	}
	// Idle for longer than the window: the memory is released.
	stats = nil
	st.Report(uniqueT0.Add(time.Hour), func(s UniqueStat) { stats = append(stats, s) })
	if stats[0].Keys != 0 {
		t.Errorf("after the window: %+v, want no keys", stats[0])
	}
	if dup("a", time.Hour) {
		t.Error("a key of a released memory is a duplicate")
	}
}

// TestUniqueStateAcrossReloads: a reloaded set whose rule is unchanged keeps the rule's
// memory; a changed rule (here its window) starts empty.
func TestUniqueStateAcrossReloads(t *testing.T) {
	files := map[string]string{"pay.yaml": uniqueContract}
	st := NewState()
	judge := func(s *Set, id string) Outcome {
		e := NewEvaluator()
		e.UseState(st)
		return e.Judge(s.ByDomain("pay"), Input{Data: []byte(`{"id":"` + id + `"}`), Now: uniqueT0}).Outcome
	}
	first := loadDir(t, Options{InsecureTestSalt: true}, files)
	if judge(first, "k") != Passed {
		t.Fatal("first occurrence warned")
	}
	same := loadDir(t, Options{InsecureTestSalt: true}, files)
	if same.ByDomain("pay") == first.ByDomain("pay") {
		t.Fatal("the reload returned the same contract")
	}
	if judge(same, "k") != Warned {
		t.Error("an unchanged rule lost its memory on reload")
	}
	files["pay.yaml"] = strings.Replace(uniqueContract, "window: 10m", "window: 20m", 1)
	changed := loadDir(t, Options{InsecureTestSalt: true}, files)
	if judge(changed, "k") != Passed {
		t.Error("a changed rule kept the memory of the old one")
	}
}

// TestUniqueConcurrentEvaluators shares one State between evaluators on several goroutines
// (run with -race): every key is judged once per goroutine, so exactly one judging of each
// key is a first occurrence and the others are duplicates, whatever the interleaving.
func TestUniqueConcurrentEvaluators(t *testing.T) {
	set := loadDir(t, Options{InsecureTestSalt: true}, map[string]string{"u.yaml": `
domain: u
version: 1.0.0
rules:
  - name: once
    unique: {key: id}
`})
	c := set.ByDomain("u")
	st := NewState()
	const goroutines, keys = 4, 500
	var mu sync.Mutex
	dups := 0
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			e := NewEvaluator()
			e.UseState(st)
			n := 0
			for k := 0; k < keys; k++ {
				id := (k + g*37) % keys // different orders
				v := e.Judge(c, Input{Data: []byte(fmt.Sprintf(`{"id":%d}`, id)), Now: uniqueT0,
					Stream: "s", Shard: fmt.Sprint(g), SequenceNumber: fmt.Sprint(k)})
				if v.Outcome == Warned {
					n++
				}
			}
			mu.Lock()
			dups += n
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	if want := (goroutines - 1) * keys; dups != want {
		t.Errorf("%d duplicates, want %d", dups, want)
	}
	var got []UniqueStat
	st.Report(uniqueT0, func(s UniqueStat) { got = append(got, s) })
	if len(got) != 1 || got[0].Keys != keys {
		t.Errorf("report %+v, want %d keys", got, keys)
	}
}

// TestUniqueFixturesAndCheck: a fixture case starts with empty memories and lists the cases
// judged before it (after:), and the lines of a checked file are judged in order, so the
// second occurrence warns, deterministically.
func TestUniqueFixturesAndCheck(t *testing.T) {
	set := loadDir(t, Options{InsecureTestSalt: true}, map[string]string{
		"pay.yaml": uniqueContract,
		"pay.test.yaml": `
contract: pay
now: 2025-01-15T12:00:00Z
cases:
  - name: first
    event: &p {id: "p1"}
    expect: pass
  - name: every case starts empty
    event: *p
    expect: pass
  - name: second occurrence warns
    event: *p
    after: [first]
    expect: warn
    failures: [id_once]
  - name: after the window it is new again
    now: 2025-01-15T12:10:01Z
    event: *p
    after: [first]
    expect: pass
  - name: the window slides with each occurrence
    now: 2025-01-15T12:10:01Z
    event: *p
    after: [first, halfway]
    expect: warn
    failures: [id_once]
  - name: halfway
    now: 2025-01-15T12:05:00Z
    event: *p
    expect: pass
  - name: guarded pair
    event: &q {kind: paid, customer: C1, day: d1}
    expect: pass
  - name: guarded pair again
    event: *q
    after: [guarded pair, first]
    expect: warn
    failures: [pair_once]
`,
	})
	for i := 0; i < 2; i++ { // twice: no memory leaks from one run into the next
		rep := RunFixtures(set)
		for _, r := range rep.Results {
			if !r.OK() {
				t.Errorf("run %d: %s: %v", i+1, r.Case.Name, r.Problems)
			}
		}
		for _, cv := range rep.Coverage {
			for _, rc := range cv.Rules {
				if (rc.Rule == "id_once" || rc.Rule == "pair_once") && !rc.Covered() {
					t.Errorf("rule %s not covered: %+v", rc.Rule, rc)
				}
			}
		}
	}

	var in strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&in, `{"id":"k%d"}`+"\n", i%600)
	}
	var good bytes.Buffer
	sum, err := Check(context.Background(), strings.NewReader(in.String()), CheckConfig{
		Contract: set.ByDomain("pay"), Good: &good, Workers: 4, Now: func() time.Time { return uniqueT0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	// maxKeys is 3: only a key seen within the last 3 distinct keys is remembered, and no
	// line repeats one of its 3 predecessors, so nothing is a duplicate. A file with
	// immediate repeats shows them.
	if sum.Warned != 0 {
		t.Errorf("warned %d, want 0", sum.Warned)
	}
	in.Reset()
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&in, `{"id":"k%d"}`+"\n", i/2)
	}
	sum, err = Check(context.Background(), strings.NewReader(in.String()), CheckConfig{
		Contract: set.ByDomain("pay"), Workers: 4, Now: func() time.Time { return uniqueT0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Warned != 500 || sum.Passed != 500 {
		t.Errorf("passed %d warned %d, want 500 and 500", sum.Passed, sum.Warned)
	}
}

// TestContractsWithoutUniqueRulesAreUntouched: no memory is created for a contract without
// unique rules.
func TestContractsWithoutUniqueRulesAreUntouched(t *testing.T) {
	set := loadDir(t, Options{}, map[string]string{"shop.yaml": judgeContract})
	c := set.ByDomain("shop")
	if c.HasUniqueRules() {
		t.Fatal("HasUniqueRules")
	}
	st := NewState()
	e := NewEvaluator()
	e.UseState(st)
	e.Judge(c, Input{Data: []byte(`{"id":1}`), Now: uniqueT0})
	e.Judge(c, Input{Data: []byte(`{"id":1}`), Now: uniqueT0})
	st.Report(uniqueT0, func(s UniqueStat) { t.Errorf("memory for %+v", s) })
}

func TestShortDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{24 * time.Hour, "24h"},
		{5 * time.Minute, "5m"},
		{90 * time.Second, "1m30s"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		if got := ShortDuration(tc.d); got != tc.want {
			t.Errorf("ShortDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
