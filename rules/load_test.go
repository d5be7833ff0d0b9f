package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadErrors pins the whole text of the errors Load reports for the broken contracts in
// testdata/broken: every problem of every file at once, each with its file:line:col, the
// source line and a caret under the offending character (inside expressions too, whatever the
// YAML scalar style).
func TestLoadErrors(t *testing.T) {
	t.Setenv("MESHGATE_HASH_SALT", "")
	tests := []struct {
		name string
		want string
	}{
		{
			name: "structure",
			want: `testdata/broken/structure/orders.yaml:4:8: stage must be "active" or "shadow", got "canary"
stage: canary
       ^
testdata/broken/structure/orders.yaml:6:10: curated must be a string, got a list
curated: [orders-curated]
         ^
testdata/broken/structure/orders.yaml:7:1: unknown key "colour" in contract (known: domain, version, owner, description, stage, sources, curated, partitionKey, event, fields, lookups, rules, enrich)
colour: blue
^
testdata/broken/structure/orders.yaml:11:15: rule "total_positive": severity must be "error" or "warn", got "fatal"
    severity: fatal
              ^
testdata/broken/structure/orders.yaml:12:5: rule "no_check": missing required key "check"
  - name: no_check
    ^
testdata/broken/structure/orders.yaml:13:5: unknown key "chekc" in rule (known: name, description, when, check, unique, severity, message)
    chekc: total > 0
    ^
testdata/broken/structure/orders.yaml:14:5: rule: missing required key "name"
  - check: total < 1000000
    ^
testdata/broken/structure/orders.yaml:16:5: set needs a value expression
  - set: region
    ^
testdata/broken/structure/orders.yaml:18:5: an enrich step has exactly one operation, found "redact" after "drop"
    redact: card
    ^
testdata/broken/structure/orders.yaml:19:5: hash email: no salt for hashing: set MESHGATE_HASH_SALT (the salt is never read from a contract)
  - hash: email
    ^
testdata/broken/structure/orders.yaml:20:5: value is only allowed with set
    value: email
    ^
testdata/broken/structure/orders.yaml:21:5: unknown key "upcase" in enrich step (known: set, value, rename, drop, redact, hash, normalize, metadata)
  - upcase: name
    ^
testdata/broken/structure/orders.yaml:22:38: normalize op must be one of trim, lower, upper, got "title"
  - normalize: {field: currency, op: title}
                                     ^`,
		},
		{
			name: "expressions",
			want: `testdata/broken/expressions/orders.yaml:10:21: rule "plain" check: invalid operation: + (mismatched types string and int)
    check: order_id + 1 > 0
                    ^
testdata/broken/expressions/orders.yaml:12:53: rule "double_quoted" check: invalid operation: % (mismatched types float64 and int)
    check: "total > 0 && \"a\" == order_id && total % 2 == 0"
                                                    ^
testdata/broken/expressions/orders.yaml:14:34: rule "single_quoted" check: invalid argument for len (type float64)
    check: 'order_id == ''x'' && len(total) > 1'
                                 ^
testdata/broken/expressions/orders.yaml:18:11: rule "literal_block" check: invalid operation: + (mismatched types int and string)
        1 + "a" == 2
          ^
testdata/broken/expressions/orders.yaml:22:7: rule "folded_block" check: unknown function bar
      bar(total)
      ^
testdata/broken/expressions/orders.yaml:24:28: rule "bad_regexp" check: invalid regular expression: missing closing ]: "[0-9"
    check: match(order_id, "^C[0-9")
                           ^
testdata/broken/expressions/orders.yaml:26:31: rule "bad_duration" check: invalid duration "7 days"
    check: fresh(occurred_at, "7 days", "5m")
                              ^
testdata/broken/expressions/orders.yaml:28:19: rule "unknown_table" check: unknown lookup table "countries" (declared: regions)
    check: lookup("countries", country) != nil
                  ^
testdata/broken/expressions/orders.yaml:30:12: rule "not_bool" check: expected bool, but got float64
    check: total * 2
           ^
testdata/broken/expressions/orders.yaml:32:17: rule "when_error" when: unexpected token EOF
    when: total >
                ^
testdata/broken/expressions/orders.yaml:34:27: partitionKey: unexpected token EOF
partitionKey: customer_id +
                          ^
testdata/broken/expressions/orders.yaml:37:19: set region: unknown lookup table "region" (declared: regions)
    value: lookup("region", country)
                  ^`,
		},
		{
			name: "fields",
			want: `testdata/broken/fields/customers.yaml:4:17: unknown type "text" (known: string, number, integer, boolean, object, array, timestamp, date, any)
  email: {type: text, format: mail}
                ^
testdata/broken/fields/customers.yaml:4:31: unknown format "mail" (known: date, date-time, email, iso8601, timestamp, uuid)
  email: {type: text, format: mail}
                              ^
testdata/broken/fields/customers.yaml:5:36: minimum and exclusiveMinimum are exclusive
  age: {type: integer, minimum: 0, exclusiveMinimum: 0}
                                   ^
testdata/broken/fields/customers.yaml:6:3: field name "address.city" must be a plain key (declare nested objects with fields:)
  address.city: {type: string}
  ^
testdata/broken/fields/customers.yaml:7:3: field "present" has the name of a function; refer to it as $env["present"] and do not declare it
  present: {type: boolean}
  ^
testdata/broken/fields/customers.yaml:8:33: minItems must be a non-negative integer
  tags: {type: array, minItems: -1, items: {type: string, colour: red}}
                                ^
testdata/broken/fields/customers.yaml:8:59: unknown key "colour" in items (known: type, description, required, format, enum, pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, minItems, maxItems, uniqueItems, fields, items)
  tags: {type: array, minItems: -1, items: {type: string, colour: red}}
                                                          ^
testdata/broken/fields/customers.yaml:9:34: required must be true or false
  name: {type: string, required: yes}
                                 ^`,
		},
		{
			name: "names",
			want: `testdata/broken/names/orders.yaml:3:11: stream "orders-raw" is already judged by active contract "billing" (testdata/broken/names/billing.yaml:1:9); a stream has one active contract
sources: [orders-raw]
          ^
testdata/broken/names/orders.yaml:7:11: duplicate rule name "event_id_uuid" (first defined at testdata/broken/names/envelope.yaml:5:11)
  - name: event_id_uuid
          ^
testdata/broken/names/orders.yaml:9:11: duplicate rule name "total.minimum" (first defined at testdata/broken/names/orders.yaml:5:25)
  - name: total.minimum
          ^
testdata/broken/names/orders.yaml:13:11: duplicate rule name "twice" (first defined at testdata/broken/names/orders.yaml:11:11)
  - name: twice
          ^
testdata/broken/names/orders_v2.yaml:1:9: domain "orders" already has an active contract at testdata/broken/names/orders.yaml:1:9 (at most one active and one shadow contract per domain)
domain: orders
        ^`,
		},
		{
			name: "salt",
			want: `testdata/broken/salt/orders.yaml:5:5: hash customer_email: no salt for hashing: set MESHGATE_HASH_SALT (the salt is never read from a contract)
  - hash: customer_email
    ^`,
		},
		{
			name: "lookup",
			want: `testdata/broken/lookup/orders.yaml:4:19: lookup regions: stat testdata/broken/lookup/missing/regions.csv: no such file or directory
  regions: {file: missing/regions.csv, key: code, value: region}
                  ^
testdata/broken/lookup/orders.yaml:5:17: lookup names: testdata/broken/lookup/names.csv: CSV has no column "iso" (columns: code, name)
  names: {file: names.csv, key: iso, value: name}
                ^`,
		},
		{
			name: "yaml",
			want: `testdata/broken/yaml/orders.yaml:4:1: invalid YAML: did not find expected ',' or ']'
  - name: a
^`,
		},
		{
			name: "kind",
			want: `testdata/broken/kind/thing.yaml:1:1: neither a contract (no "domain" key) nor a policy (no "policy" key)
kind: contract
^
testdata/broken/kind/two.yaml:3:1: a file holds exactly one YAML document
---
^`,
		},
		{
			name: "fixtures",
			want: `testdata/broken/fixtures/customers.test.yaml:1:11: no active contract for domain "customers"
contract: customers
          ^
testdata/broken/fixtures/orders.test.yaml:2:6: now must be an RFC 3339 timestamp like 2025-01-15T12:00:00Z
now: yesterday
     ^
testdata/broken/fixtures/orders.test.yaml:4:5: case "both" has both event and raw
  - name: both
    ^
testdata/broken/fixtures/orders.test.yaml:11:16: unknown rule "total_negative"
    failures: [total_negative]
               ^
testdata/broken/fixtures/orders.test.yaml:14:13: unknown decode reason "garbage" (known: invalid_json, invalid_utf8, bom, duplicate_key, not_object, too_deep, too_large, empty)
    decode: garbage
            ^
testdata/broken/fixtures/orders.test.yaml:15:5: case "no expectation": missing required key "expect"
  - name: no expectation
    ^
testdata/broken/fixtures/orders.test.yaml:17:5: duplicate case name "both"
  - name: both
    ^
testdata/broken/fixtures/orders.test.yaml:19:13: expect must be pass, warn or quarantine, got "maybe"
    expect: maybe
            ^
testdata/broken/fixtures/orders.test.yaml:22:13: after: no case "no such case" in this file
    after: [no such case, after nothing]
            ^
testdata/broken/fixtures/orders.test.yaml:22:27: after: case "after nothing" cannot follow itself
    after: [no such case, after nothing]
                          ^`,
		},
		{
			// Unique rules: warn only (routing stays a function of the event and the
			// contract), one of check and unique, a key, a positive window, bounded maxKeys.
			name: "unique",
			want: `testdata/broken/unique/orders.yaml:6:15: rule "order_once": a unique rule must have severity warn: whether an event repeats a key depends on what this worker judged before, and routing must stay a function of the event and the contract
    severity: error
              ^
testdata/broken/unique/orders.yaml:9:5: rule "both": check and unique exclude each other (a rule judges each event on its own, or remembers keys across events)
    unique: {key: order_id}
    ^
testdata/broken/unique/orders.yaml:11:13: rule "no_key": unique.key must name at least one expression
    unique: {window: 1h}
            ^
testdata/broken/unique/orders.yaml:13:13: rule "empty_key": unique.key must name at least one expression
    unique: {key: []}
            ^
testdata/broken/unique/orders.yaml:15:37: rule "bad_window": unique.window must be a positive duration like 1h, 30m or 7d, got "soon"
    unique: {key: order_id, window: soon}
                                    ^
testdata/broken/unique/orders.yaml:17:37: rule "zero_window": unique.window must be a positive duration like 1h, 30m or 7d, got "0s"
    unique: {key: order_id, window: 0s}
                                    ^
testdata/broken/unique/orders.yaml:19:53: rule "too_many": unique.maxKeys must be between 1 and 10000000, got 20000000
    unique: {key: [order_id, customer_id], maxKeys: 20000000}
                                                    ^
testdata/broken/unique/orders.yaml:21:30: rule "bad_expr" unique.key[1]: unknown function lenght
    unique: {key: [order_id, lenght(items)]}
                             ^
testdata/broken/unique/orders.yaml:23:29: unknown key "windw" in unique (known: key, window, maxKeys)
    unique: {key: order_id, windw: 1h}
                            ^
testdata/broken/unique/orders.yaml:26:15: rule "fatal": severity of a unique rule must be "warn" (or absent), got "fatal"
    severity: fatal
              ^`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Load(filepath.Join("testdata", "broken", tt.name), Options{})
			if set != nil {
				t.Fatal("Load returned a set for a broken directory")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load error is %T (%v), want ErrorList", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("errors differ\n--- got\n%s\n--- want\n%s", got, tt.want)
			}
		})
	}
}

func TestNodeBudget(t *testing.T) {
	dir := t.TempDir()
	src := "domain: a\nversion: 1.0.0\nrules:\n  - name: big\n    check: " + strings.Repeat("x + ", 20) + "x > 0\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, Options{MaxNodes: 30})
	if err == nil || !strings.Contains(err.Error(), `a.yaml:5:`) || !strings.Contains(err.Error(), `rule "big" check: compilation failed: expression exceeds maximum allowed nodes`) {
		t.Errorf("over budget: %v", err)
	}
	if _, err := Load(dir, Options{MaxNodes: 100}); err != nil {
		t.Errorf("within budget: %v", err)
	}
}
