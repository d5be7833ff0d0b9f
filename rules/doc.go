// Package rules is meshgate's contract engine: it loads data contracts and global policies,
// compiles every expression once, and judges events with them.
//
// # Loading
//
// [Load] reads a directory of contract, policy and fixture files, compiles all of them and
// returns an immutable [Set], or an [ErrorList] with every problem of every file, each as
//
//	orders.yaml:31:27: rule "total_matches_items" check: unknown func summ
//	    check: money_eq(total, summ(items, .price * .qty), 0.01)
//	                          ^
//
// Native files are strict YAML (unknown keys are errors) parsed into the source-neutral model
// ([Spec]); other formats register a parser with [RegisterFormat] (ODCS documents,
// *.odcs.yaml) and produce the same model. A contract that does not compile is never part of
// a Set, so it never reaches a worker.
//
// # Contract format
//
//	domain: orders                 # required
//	version: 2.1.0                 # required
//	owner: orders-team@example.com
//	description: ...
//	stage: active                  # active (default) | shadow
//	sources: [orders-raw]          # raw streams judged by this contract
//	curated: orders-curated        # stream good events go to
//	partitionKey: customer_id      # expression; absent keeps the source record's key
//	event:                         # expressions reading envelope facts (all optional)
//	  type: event_type
//	  schemaVersion: schema_version
//	  time: occurred_at            # RFC 3339 string or epoch milliseconds
//	fields:                        # optional declarations (see below)
//	  order_id: {type: string, required: true, format: uuid}
//	lookups:
//	  regions: {file: lookups/country_regions.csv, key: code, value: region}
//	rules:
//	  - name: total_matches_items  # unique across the contract and its policies
//	    when: is_array(items)      # optional guard: the rule is skipped when false
//	    check: money_eq(total, sum(items, .price * .qty), 0.01)
//	    severity: error            # error (default: quarantine) | warn (pass, counted)
//	    message: total must equal the sum of the items
//	  - name: order_once           # a unique rule: a key remembered across events (see below)
//	    when: event_type == "order_placed"
//	    unique: {key: [order_id], window: 1h, maxKeys: 100000}
//	enrich:                        # runs in order, only on events that pass or only warn
//	  - set: region                # dotted path
//	    value: lookup("regions", country)
//	  - rename: {from: cust_ref, to: customer_ref}
//	  - drop: debug
//	  - redact: payment.card_number        # "[REDACTED]" (only when present)
//	  - hash: customer_email               # hex sha256(salt + value)
//	  - normalize: {field: currency, op: upper}   # trim | lower | upper
//	  - metadata: _meta            # {"contract","version","processedAt"}
//
// A global policy has policy:, version:, owner:, description:, appliesTo: ("*" or a list of
// domains) and rules:. Its rules run before the rules of every domain it applies to.
//
// A rule has either check: (judged on each event alone) or unique: (remembered across
// events; see Unique rules below).
//
// Field declarations give types to expressions (a declared string compared with a number is a
// compile error; undeclared fields are of type any) and each constraint becomes a rule of its
// own, named "<path>.<facet>": required, type (string, number, integer, boolean, object,
// array, timestamp, date, any), format (uuid, email, timestamp, date), enum, pattern,
// minimum/maximum, exclusiveMinimum/exclusiveMaximum, minLength/maxLength, minItems/maxItems,
// uniqueItems; fields: declares the properties of an object, items: the elements of an array
// (rules "items[].qty.minimum"). A facet other than required and type holds for an absent
// value and for a value of another type, so one defect fails one rule.
//
// Expressions are github.com/expr-lang/expr expressions over the decoded event. Every value
// in a contract's rules, event, partitionKey and set steps is an expression, so a string
// literal needs expr quotes inside the YAML scalar: value: '"EU"'. Every
// expression compiles once, type-checked, within a node budget ([Options].MaxNodes). A
// member access a?.b is nil when a is nil; inside a chain every access after a ?. is
// nil-tolerant (a?.b.c is nil when a or a.b is nil).
//
// Hashing needs a salt: [Options].HashSalt or the environment variable MESHGATE_HASH_SALT,
// never the contract file. A contract that hashes a field does not load without one, unless
// [Options].InsecureTestSalt is set (then the public [TestSalt] is used: `meshgate lint` does
// this, and `meshgate test` always hashes with TestSalt so fixtures can pin hashed values).
//
// # Vocabulary
//
// Besides expr's own operators and builtins (in, matches, contains, len, all, any, none,
// one, filter, map, sum, count, ...), every expression can call:
//
//	present(x) bool              x is there and not null (missing and null are both nil)
//	not_null(x) bool             same as present
//	not_empty(x) bool            present, and a non-blank string / non-empty array or object
//	is_string(x) bool            type checks on the decoded JSON value
//	is_number(x) bool
//	is_int(x) bool               an integer literal, or a number with no fractional part
//	is_bool(x) bool
//	is_array(x) bool
//	is_object(x) bool
//	between(x, lo, hi) bool      a number with lo <= x <= hi (false for non-numbers)
//	match(x, re) bool            a string matching the RE2 regexp re (compiled once when literal;
//	                             `matches` is expr's operator: x matches "re" works too)
//	one_of(x, v1, v2, ...) bool  x equals one of the values (numbers compare by value)
//	length(x) int                characters of a string (runes, like len), elements of an array or
//	                             object; an error for other types
//	length_between(x, lo, hi) bool  length(x) within [lo, hi] (false for other types)
//	is_uuid(x) bool              canonical 8-4-4-4-12 hexadecimal UUID, either case
//	is_email(x) bool             pragmatic local@domain.tld check
//	is_timestamp(x) bool         RFC 3339 / ISO 8601 date-time (2025-01-15T10:00:00Z, offsets, fractions)
//	is_iso8601(x) bool           same as is_timestamp
//	is_date(x) bool              calendar date YYYY-MM-DD
//	fresh(ts, maxAge, maxAhead) bool  ts (timestamp string or epoch millis) is at most maxAge old
//	                             and at most maxAhead in the future, relative to Input.Now;
//	                             durations like "168h", "7d", "5m"
//	age_seconds(ts) float        seconds from ts to Input.Now (negative in the future)
//	now() time.Time              Input.Now (replaces expr's wall-clock now())
//	to_time(ts) time.Time        parse a timestamp string or epoch millis
//	money_eq(a, b, tol) bool     |a - b| <= tol, absorbing binary floating-point error
//	unique(arr) bool             no two elements are equal (numbers by value, objects by content)
//	unique(arr, "path") bool     no two elements have the same value at the dotted path;
//	                             with a predicate: unique(map(items, .sku))
//	lookup("table", key) any     the value of key in a lookup table the contract declares, or nil
//
// Type checks and formats are false, not errors, for values of another type. An expression
// that fails at run time (a field of nil, a comparison of a string with a number) makes its
// rule fail with Violation.Error set; evaluation never panics.
//
// # Evaluation
//
// An [Evaluator] (one per goroutine) judges a record with [Evaluator.Judge]: decode (a
// [DecodeFailure] quarantines the record), then one combined program of all rules; only when
// it is not true are the rules evaluated one by one to report every failure (name, severity,
// message, offending value, runtime error). Then, unless an error-severity rule failed, the
// enrichment steps run and the output is written by patching the input: members enrichment did
// not touch keep their exact bytes.
//
// # Unique rules
//
// A rule with unique: instead of check: fails for an event whose key another record had
// within the window before it, as seen by the judging worker:
//
//	unique:
//	  key: [customer_id, day]      # one expression or a list; the values together are the key
//	  window: 1h                   # default 1h; "30m", "24h", "7d"; slides with every occurrence
//	  maxKeys: 100000              # default 100000, at most 10000000; the oldest key goes first
//
// Invariants:
//
//   - It never routes: its severity is warn (absent means warn; "error" does not load).
//     Whether an event repeats a key depends on what the worker judged before, so a routing
//     decision based on it would send the same record to different places on replay,
//     `meshgate diff`, an at-least-once re-delivery or after a lease moved. Repeats are
//     counted (meshgate_rule_failures_total, severity warn) and alerted on (ODCS
//     duplicateValues thresholds, `meshgate odcs alerts`).
//   - The same source record judged again is not a duplicate of itself: the worker passes
//     the record's stream, shard, sequence number and sub-sequence in [Input], and a key
//     remembers the first record that had it. A retried batch warns exactly as before.
//   - An event with a nil (missing or null) key component is not checked (nullValues and
//     required: are for that), and only events that go to the curated stream are
//     remembered (a quarantined event's key is not); keys are read before enrichment.
//   - Memory is bounded: a 64-bit hash of the key (seeded per process), about 64 bytes per
//     key, evicted when it leaves the window and, oldest first, when maxKeys is reached
//     (meshgate_unique_keys_evicted_total). It lives in a [State], one per worker, shared by
//     the worker's shards; a duplicate is caught when both copies are judged by the same
//     worker within the window. Kinesis sends equal partition keys to one shard, so keying
//     the raw stream by the unique key makes the check exact (until a reshard or a lease
//     move, which start with an empty memory for that key's shard on the new worker).
//   - A reloaded set keeps the memory of every unique rule whose domain, stage, name, key,
//     window and maxKeys are unchanged; a changed rule starts empty. A restart starts empty.
//
// `meshgate check` judges a contract with unique rules on one goroutine, in input order, so
// the later line of a repeated key is the one that warns. [Evaluator]s made with
// [NewEvaluator] have a private State unless given a shared one with [Evaluator.UseState].
//
// # Fixtures
//
// Files named *.test.yaml next to the contracts hold cases; [RunFixtures] runs them with the
// contract they name and computes rule coverage (a rule is covered when some case applies it
// and it passes, and some case makes it fail); `meshgate test` prints the report.
//
//	contract: orders                 # domain; stage: shadow selects the shadow contract
//	now: 2025-01-15T12:00:00Z        # judging time (freshness, metadata); default: the wall clock
//	partitionKey: k1                 # input partition key (optional)
//	cases:
//	  - name: valid order passes
//	    event: &order {order_id: "...", total: 10.5}   # a YAML mapping, rendered as JSON in order
//	    expect: pass                 # pass | warn | quarantine
//	    failures: []                 # the exact set of failing rules (optional)
//	    enriched: {region: EU, _meta.version: 2.1.0}   # expected output values by dotted path
//	    absent: [payment.card_number]                  # paths the output must not have
//	  - name: negative total
//	    event: *order                # reuse an event and state only the difference:
//	    with: {total: -1, payment.method: cash}        #   set values by dotted path
//	    without: [order_id]                            #   remove members
//	    expect: quarantine
//	    failures: [total.minimum, total_matches_items]
//	  - name: duplicate keys
//	    raw: '{"a":1,"a":2}'         # exact bytes instead of event:
//	    decode: duplicate_key        # expected decode failure (implies expect: quarantine)
//	  - name: a second order with the same id warns
//	    event: *order
//	    after: [valid order passes]  # cases judged right before this one (unique rules)
//	    expect: warn
//	    failures: [order_once]
//
// Every case starts with empty memories for unique rules; after: lists the cases of the same
// file whose events are judged first, in that order and at their own now, so a case states
// which earlier events make its own a repeat (and whether the window has passed).
package rules
