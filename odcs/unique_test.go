package odcs

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/rules"
)

const uniqueDoc = bound + `      - {name: region, logicalType: string, primaryKey: true, primaryKeyPosition: 1}
      - {name: id, logicalType: string, primaryKey: true, primaryKeyPosition: 0}
      - {name: email, logicalType: string, unique: true}
      - name: customer
        logicalType: object
        properties:
          - {name: ref, logicalType: string, unique: true}
      - name: items
        logicalType: array
        items:
          logicalType: object
          properties:
            - {name: sku, logicalType: string, unique: true}
      - name: order_id
        logicalType: string
        quality:
          - metric: duplicateValues
            mustBeLessThan: 5
            unit: rows
    quality:
      - metric: duplicateValues
        mustBeLessOrEqualTo: 1
        unit: percent
        arguments: {properties: [email, region]}
        severity: warning
`

// TestUniquenessMapsToUniqueRules: primaryKey (composite, in primaryKeyPosition order),
// unique: true (top level and in nested objects) and duplicateValues (on a property, and on
// the schema object with arguments.properties) become unique rules named after their
// place; every one warns and none quarantines; a nil key is not checked.
func TestUniquenessMapsToUniqueRules(t *testing.T) {
	got := judge(t, uniqueDoc,
		`{"id":"1","region":"eu","email":"a@x","customer":{"ref":"r1"},"order_id":"o1"}`,
		`{"id":"1","region":"us","email":"b@x","customer":{"ref":"r2"},"order_id":"o2"}`,   // other composite key
		`{"id":"1","region":"eu","email":"c@x","customer":{"ref":"r3"},"order_id":"o3"}`,   // primary key again
		`{"id":"2","region":"eu","email":"a@x","customer":{"ref":"r1"},"order_id":"o1"}`,   // email, email+region, ref, order_id
		`{"id":"3","region":"eu","email":null,"customer":null,"order_id":null,"items":[]}`, // nil keys: not checked
		`{"id":"4","region":"eu","items":[{"sku":"a"},{"sku":"a"}]}`,                       // unique inside items: not enforced
	)
	want := [][]string{
		nil,
		nil,
		{"e.primaryKey"},
		{"e.customer.ref.unique", "e.duplicateValues", "e.email.unique", "e.order_id.duplicateValues"},
		nil,
		nil,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("failures\n got %v\nwant %v", got, want)
	}

	set, dir, err := loadDir(t, map[string]string{"t.odcs.yaml": uniqueDoc, "t.meshgate.yaml": "window: 15m\nmaxKeys: 5000\n"})
	if err != nil {
		t.Fatal(err)
	}
	c := set.ByDomain("t")
	var infos []string
	for _, r := range c.Rules() {
		if r.Unique {
			infos = append(infos, r.Name+" "+string(r.Severity))
		}
	}
	wantInfos := []string{"e.email.unique warn", "e.customer.ref.unique warn", "e.order_id.duplicateValues warn", "e.primaryKey warn", "e.duplicateValues warn"}
	if !slices.Equal(infos, wantInfos) {
		t.Errorf("unique rules %v, want %v", infos, wantInfos)
	}
	for _, r := range c.Spec.Rules {
		if r.Unique == nil {
			continue
		}
		if r.Unique.Window.Value != "15m0s" || r.Unique.MaxKeys == nil || r.Unique.MaxKeys.Value != 5000 {
			t.Errorf("%s: window %q maxKeys %+v, want the binding's 15m and 5000", r.Name.Value, r.Unique.Window.Value, r.Unique.MaxKeys)
		}
		if r.Name.Value == "e.primaryKey" {
			var keys []string
			for _, k := range r.Unique.Key {
				keys = append(keys, k.Src)
			}
			if strings.Join(keys, ",") != "id,region" {
				t.Errorf("primary key %v, want id,region (primaryKeyPosition order)", keys)
			}
		}
	}
	var notes []string
	for _, n := range set.Notes() {
		notes = append(notes, strings.TrimPrefix(n.String(), dir+string(filepath.Separator)))
	}
	wantNotes := []string{
		`t.odcs.yaml:13:41: e: primaryKey (id, region) is enforced as warnings: an event whose key another record had within the 15m window (as seen by the judging worker) fails rule e.primaryKey and still goes to the curated stream; routing never depends on other events`,
		`t.odcs.yaml:14:44: e.email: unique is enforced as warnings: an event whose key another record had within the 15m window (as seen by the judging worker) fails rule e.email.unique and still goes to the curated stream; routing never depends on other events`,
		`t.odcs.yaml:18:46: e.customer.ref: unique is enforced as warnings: an event whose key another record had within the 15m window (as seen by the judging worker) fails rule e.customer.ref.unique and still goes to the curated stream; routing never depends on other events`,
		`t.odcs.yaml:24:48: e.items[].sku: unique inside array items is not enforced on the stream (uniqueness across events needs a key of the event; use uniqueItems for uniqueness within the array)`,
		`t.odcs.yaml:28:13: quality entry 1 of e.order_id (duplicateValues mustBeLessThan 5) is aggregate: each event whose key another record had within the 15m window (as seen by the judging worker) is a warning of rule e.order_id.duplicateValues (it still goes to the curated stream) and the threshold becomes an alert over the same window`,
		`t.odcs.yaml:32:9: quality entry 1 of e (duplicateValues mustBeLessOrEqualTo 1 percent) is aggregate: each event whose key another record had within the 15m window (as seen by the judging worker) is a warning of rule e.duplicateValues (it still goes to the curated stream) and the threshold becomes an alert over the same window`,
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes\n got:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}

	// The thresholds become alerts over the binding's window, counting the rule's warnings.
	oc, err := LoadBinding(filepath.Join(dir, "t.meshgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	groups, err := Alerts([]*Contract{oc})
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, r := range groups[0].Rules {
		exprs = append(exprs, r.Labels["severity"]+" "+r.Expr)
	}
	wantExprs := []string{
		`critical (sum(increase(meshgate_rule_failures_total{domain="t",rule="e.order_id.duplicateValues"}[15m])) or vector(0)) >= 5`,
		`warning (100 * sum(increase(meshgate_rule_failures_total{domain="t",rule="e.duplicateValues"}[15m])) / sum(increase(meshgate_records_in_total{domain="t"}[15m]))) > 1`,
	}
	if !slices.Equal(exprs, wantExprs) {
		t.Errorf("alerts\n got:\n%s\nwant:\n%s", strings.Join(exprs, "\n"), strings.Join(wantExprs, "\n"))
	}
}

// TestUniquenessProblems pins the errors of uniqueness constructs meshgate cannot run.
func TestUniquenessProblems(t *testing.T) {
	doc := bound + `      - name: x
        logicalType: string
        quality:
          - {metric: duplicateValues, mustBe: 0, arguments: {properties: [x]}}
    quality:
      - {metric: duplicateValues, mustBe: 0, arguments: {properties: [x, nope]}}
      - {metric: duplicateValues, mustBe: 0, arguments: {properties: []}}
      - {type: custom, engine: meshgate, name: once, severity: error, implementation: {unique: {key: x}}}
      - {type: custom, engine: meshgate, name: both, implementation: {check: "true", unique: {key: x}}}
`
	_, dir, err := loadDir(t, map[string]string{"a.odcs.yaml": doc, "a.meshgate.yaml": "maxKeys: 0\n"})
	var list rules.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("not an ErrorList: %v", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, strings.TrimPrefix((&rules.Error{File: e.File, Line: e.Line, Col: e.Col, Msg: e.Msg}).Error(), dir+string(filepath.Separator)))
	}
	want := []string{
		`a.meshgate.yaml:1:10: maxKeys must be between 1 and 10000000, got 0`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("binding errors\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, dir, err = loadDir(t, map[string]string{"a.odcs.yaml": doc})
	if !errors.As(err, &list) {
		t.Fatalf("not an ErrorList: %v", err)
	}
	got = nil
	for _, e := range list {
		got = append(got, strings.TrimPrefix((&rules.Error{File: e.File, Line: e.Line, Col: e.Col, Msg: e.Msg}).Error(), dir+string(filepath.Separator)))
	}
	want = []string{
		`a.odcs.yaml:15:74: quality entry 1 of e.x: arguments.properties is for duplicateValues on the schema object; under a property the property is the key`,
		`a.odcs.yaml:17:70: quality entry 1 of e: arguments.properties names "nope", which is not a top-level property of e`,
		`a.odcs.yaml:18:70: quality entry 2 of e: arguments.properties must be a non-empty list of property names`,
		`a.odcs.yaml:19:9: custom entry e.once: a unique implementation is a warning (severity warn): whether an event repeats a key depends on what the worker judged before, and routing must stay a function of the event`,
		`a.odcs.yaml:20:70: meshgate implementation: check and unique exclude each other`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("errors\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const nativeUnique = `
domain: shop
version: 1.0.0
sources: [shop-raw]
curated: shop-curated
fields:
  order_id: {type: string}
  customer_id: {type: string}
rules:
  - name: order_once
    unique: {key: order_id}
  - name: customer_day_once
    unique: {key: [customer_id, day], window: 24h}
    message: one order per customer and day
  - name: guarded
    when: kind == "paid"
    unique: {key: order_id, window: 7d, maxKeys: 10}
`

// TestUniqueRulesExportAndReadBack: a unique rule on declared fields with the defaults
// exports as the standard duplicateValues metric, any other as a custom meshgate entry in
// the native syntax; the exported contract reads back with the same rules and judges a
// sequence of events exactly like the native one.
func TestUniqueRulesExportAndReadBack(t *testing.T) {
	native, _, err := loadDir(t, map[string]string{"shop.yaml": nativeUnique})
	if err != nil {
		t.Fatal(err)
	}
	nc := native.ByDomain("shop")
	dir := t.TempDir()
	ex, err := Export(nc.Spec, dir, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, q := range ex.Doc.Schema[0].Quality {
		kinds = append(kinds, q.Name+":"+q.Type+":"+q.Metric)
	}
	if want := []string{"order_once:library:duplicateValues", "customer_day_once:custom:", "guarded:custom:"}; !slices.Equal(kinds, want) {
		t.Errorf("exported entries %v, want %v\n%s", kinds, want, ex.Document)
	}
	back, _, err := loadDir(t, map[string]string{"shop.odcs.yaml": string(ex.Document), "shop.meshgate.yaml": string(ex.Binding)})
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, ex.Document)
	}
	bc := back.ByDomain("shop")
	if fmt.Sprint(bc.Rules()) == "" || !slices.Equal(nc.RuleNames(), bc.RuleNames()) {
		t.Fatalf("rules %v, want %v", bc.RuleNames(), nc.RuleNames())
	}
	t0 := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	events := []struct {
		data string
		at   time.Duration
	}{
		{`{"order_id":"o1","customer_id":"c","day":"d1","kind":"paid"}`, 0},
		{`{"order_id":"o1","customer_id":"c","day":"d2","kind":"paid"}`, time.Minute},
		{`{"order_id":"o2","customer_id":"c","day":"d1"}`, 2 * time.Hour},
		{`{"order_id":"o1","customer_id":"x","day":"d1","kind":"paid"}`, 3 * time.Hour},
		{`{"order_id":"o3","customer_id":"c","day":"d1"}`, 30 * time.Hour},
	}
	en, eb := rules.NewEvaluator(), rules.NewEvaluator()
	warned := 0
	for i, e := range events {
		in := rules.Input{Data: []byte(e.data), Now: t0.Add(e.at)}
		vn, vb := en.Judge(nc, in), eb.Judge(bc, in)
		if fmt.Sprint(vn.Outcome, vn.Violations) != fmt.Sprint(vb.Outcome, vb.Violations) {
			t.Errorf("event %d: native %v %v, exported %v %v", i+1, vn.Outcome, vn.Violations, vb.Outcome, vb.Violations)
		}
		if vn.Outcome == rules.Warned {
			warned++
		}
	}
	if warned != 3 {
		t.Errorf("%d events warned, want 3 (the sequence must exercise the rules)", warned)
	}
}
