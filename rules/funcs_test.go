package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

var funcNow = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// testTables is the lookup table the vocabulary tests use.
var testTables = map[string]table{"regions": {"DE": "EU", "US": "NA", "1": "one"}}

// evalBoth evaluates src on env twice: compiled the way contracts are (typed fast calls,
// literal arguments bound at compile time, member access without reflection) and compiled
// plainly with expr.Compile (the generic functions). Both must give the same result.
func evalBoth(t *testing.T, src string, env map[string]any) (any, error) {
	t.Helper()
	opts := append(append([]expr.Option{}, vocabularyOptions...), lookupOption(testTables), expr.Env(envType(nil)))
	fast, err := compileProgram(src, testTables, nil, opts...)
	if err != nil {
		t.Fatalf("compile %s: %v", src, err)
	}
	generic, err := expr.Compile(src, opts...)
	if err != nil {
		t.Fatalf("compile (generic) %s: %v", src, err)
	}
	run := func(p *vm.Program) (any, error) {
		m := map[string]any{ctxIdent: &evalCtx{now: funcNow}}
		for k, v := range env {
			m[k] = v
		}
		var machine vm.VM
		return machine.Run(p, m)
	}
	got, err := run(fast)
	gotGeneric, errGeneric := run(generic)
	if (err == nil) != (errGeneric == nil) || (err == nil && !equalValues(got, gotGeneric) && !sameTime(got, gotGeneric)) {
		t.Fatalf("%s: fast path gives (%v, %v), generic path (%v, %v)", src, got, err, gotGeneric, errGeneric)
	}
	return got, err
}

func sameTime(a, b any) bool {
	ta, ok1 := a.(time.Time)
	tb, ok2 := b.(time.Time)
	return ok1 && ok2 && ta.Equal(tb)
}

func TestVocabulary(t *testing.T) {
	order := map[string]any{
		"s": "abc", "blank": "  ", "n": 3, "f": 2.5, "big": 9007199254740993.0, "t": true, "null": nil,
		"arr": []any{1, 2, 3}, "empty": []any{}, "obj": map[string]any{"a": 1},
		"uuid": "0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a60", "UUID": "0B6A1F0E-4C1E-4A8E-9A57-3F1D2C4B5A60",
		"email": "anna.schmidt@example.com",
		"ts":    "2025-01-15T11:58:12.123456789Z", "ts_offset": "2025-01-15T13:00:00+02:00", "ts_lower": "2025-01-15t11:00:00z",
		"old": "2025-01-08T11:59:59Z", "future": "2025-01-15T12:05:01Z", "soon": "2025-01-15T12:04:59Z",
		"ms":      int(funcNow.Add(-time.Hour).UnixMilli()),
		"date":    "1990-04-12",
		"items":   []any{map[string]any{"sku": "A", "price": 19.99, "qty": 2}, map[string]any{"sku": "B", "price": 12.5, "qty": 1}},
		"dups":    []any{map[string]any{"sku": "A"}, map[string]any{"sku": "A"}},
		"pattern": "^a", "lo": 1, "hi": 5, "table": "regions", "code": "DE", "tol": 0.01, "age": "168h",
	}
	tests := []struct {
		name string
		src  string
		want any // nil: expect an error
	}{
		{"present string", `present(s)`, true},
		{"present null", `present(null)`, false},
		{"present missing", `present(missing)`, false},
		{"present false", `present(t == false)`, true},
		{"not_null", `not_null(n) && !not_null(null)`, true},
		{"not_empty string", `not_empty(s)`, true},
		{"not_empty blank", `not_empty(blank)`, false},
		{"not_empty empty array", `not_empty(empty)`, false},
		{"not_empty array", `not_empty(arr)`, true},
		{"not_empty number", `not_empty(n)`, true},
		{"not_empty null", `not_empty(null)`, false},

		{"is_string", `is_string(s) && !is_string(n) && !is_string(null)`, true},
		{"is_number int and float", `is_number(n) && is_number(f) && is_number(big)`, true},
		{"is_number string", `is_number("3")`, false},
		{"is_int", `is_int(n) && !is_int(f) && is_int(big) && is_int(2.0)`, true},
		{"is_bool", `is_bool(t) && !is_bool("true")`, true},
		{"is_array", `is_array(arr) && is_array(empty) && !is_array(obj)`, true},
		{"is_object", `is_object(obj) && !is_object(arr) && !is_object(null)`, true},

		{"between inside", `between(n, 1, 5)`, true},
		{"between bounds inclusive", `between(n, 3, 3)`, true},
		{"between below", `between(f, 3, 5)`, false},
		{"between non-number", `between(s, 0, 10)`, false},
		{"between negative literal", `between(-2, -3, 0)`, true},
		{"between dynamic bounds", `between(n, lo, hi)`, true},
		{"between bad bounds", `between(n, s, hi)`, nil},

		{"match literal", `match(s, "^a[bc]+$")`, true},
		{"match no", `match(s, "^b")`, false},
		{"match non-string", `match(n, "3")`, false},
		{"match dynamic pattern", `match(s, pattern)`, true},
		{"match invalid dynamic pattern", `match(s, "[" + s)`, nil},
		{"matches operator", `s matches "^a"`, true},

		{"one_of yes", `one_of(s, "x", "abc")`, true},
		{"one_of no", `one_of(s, "x", "y")`, false},
		{"one_of numbers by value", `one_of(n, 1, 3.0)`, true},
		{"one_of dynamic", `one_of(s, pattern, s)`, true},
		{"in operator", `s in ["abc", "d"]`, true},

		{"length string runes", `length("Straße")`, 6},
		{"length array", `length(arr)`, 3},
		{"length object", `length(obj)`, 1},
		{"length number", `length(n)`, nil},
		{"length_between string", `length_between(s, 1, 3)`, true},
		{"length_between too long", `length_between(s, 1, 2)`, false},
		{"length_between array", `length_between(arr, 3, 10)`, true},
		{"length_between non-string", `length_between(n, 0, 10)`, false},
		{"length_between dynamic", `length_between(s, lo, hi)`, true},
		{"len builtin counts runes too", `len("Straße")`, 6},

		{"is_uuid", `is_uuid(uuid) && is_uuid(UUID)`, true},
		{"is_uuid short", `is_uuid("0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a6")`, false},
		{"is_uuid bad char", `is_uuid("0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a6g")`, false},
		{"is_uuid dashes misplaced", `is_uuid("0b6a1f0e4-c1e-4a8e-9a57-3f1d2c4b5a60")`, false},
		{"is_email", `is_email(email)`, true},
		{"is_email no at", `is_email("anna.example.com")`, false},
		{"is_email two ats", `is_email("a@@example.com")`, false},
		{"is_email no tld", `is_email("anna@example")`, false},
		{"is_email space", `is_email("anna schmidt@example.com")`, false},
		{"is_email double dot", `is_email("anna..schmidt@example.com")`, false},
		{"is_email label hyphen", `is_email("anna@-example.com")`, false},
		{"is_timestamp", `is_timestamp(ts) && is_timestamp(ts_offset) && is_timestamp(ts_lower)`, true},
		{"is_timestamp date only", `is_timestamp(date)`, false},
		{"is_timestamp no zone", `is_timestamp("2025-01-15T11:58:12")`, false},
		{"is_timestamp garbage", `is_timestamp("15/01/2025 11:58")`, false},
		{"is_iso8601", `is_iso8601(ts)`, true},
		{"is_date", `is_date(date)`, true},
		{"is_date invalid day", `is_date("2025-02-30")`, false},
		{"is_date timestamp", `is_date(ts)`, false},

		{"fresh recent", `fresh(ts, "168h", "5m")`, true},
		{"fresh days unit", `fresh(ts, "7d", "5m")`, true},
		{"fresh too old", `fresh(old, "168h", "5m")`, false},
		{"fresh too far ahead", `fresh(future, "168h", "5m")`, false},
		{"fresh slightly ahead", `fresh(soon, "168h", "5m")`, true},
		{"fresh epoch millis", `fresh(ms, "2h", "0s")`, true},
		{"fresh offset", `fresh(ts_offset, "1h", "0s")`, true},
		{"fresh not a timestamp", `fresh(s, "1h", "1h")`, false},
		{"fresh dynamic duration", `fresh(ts, age, "5m")`, true},
		{"fresh bad dynamic duration", `fresh(ts, s, "5m")`, nil},
		{"age_seconds", `age_seconds(ts) > 107 && age_seconds(ts) < 108`, true},
		{"age_seconds future negative", `age_seconds(future) < 0`, true},
		{"age_seconds not a timestamp", `age_seconds(s)`, nil},
		{"now is Input.Now", `now().Year() == 2025 && now().Day() == 15`, true},
		{"to_time", `to_time(ts).Before(now())`, true},
		{"to_time bad", `to_time(s)`, nil},

		{"money_eq exact", `money_eq(39.98, 19.99 * 2, 0)`, true},
		{"money_eq float error absorbed", `money_eq(0.3, 0.1 + 0.2, 0)`, true},
		{"money_eq within tolerance", `money_eq(52.489, 52.48, 0.01)`, true},
		{"money_eq outside tolerance", `money_eq(52.5, 52.48, 0.01)`, false},
		{"money_eq non-number", `money_eq(s, 1, 0.01)`, false},
		{"money_eq dynamic tolerance", `money_eq(1, 1.005, tol)`, true},
		{"money_eq negative tolerance", `money_eq(1, 1, -1 * tol)`, nil},
		{"sum builtin with predicate", `money_eq(sum(items, .price * .qty), 52.48, 0.001)`, true},

		{"unique values", `unique(arr)`, true},
		{"unique repeated", `unique([1, 2, 1])`, false},
		{"unique numbers by value", `unique([1, 1.0])`, false},
		{"unique objects by content", `unique([{"a": 1}, {"a": 1}])`, false},
		{"unique with map predicate", `unique(map(items, .sku))`, true},
		{"unique with map predicate repeated", `unique(map(dups, .sku))`, false},
		{"unique by path", `unique(items, "sku") && !unique(dups, "sku")`, true},
		{"unique large", `unique(1..100) && !unique(concat(1..50, [7]))`, true},
		{"unique non-array", `unique(s)`, false},

		{"lookup hit", `lookup("regions", code)`, "EU"},
		{"lookup miss", `lookup("regions", "XX") == nil`, true},
		{"lookup null key", `lookup("regions", null) == nil`, true},
		{"lookup number key", `lookup("regions", 1)`, "one"},

		{"member access", `obj.a == 1 && items[1].sku == "B"`, true},
		{"member on nil is an error", `null.a == 1`, nil},
		{"optional member on nil", `null?.a == nil`, true},
		{"optional chain", `null?.a.b == nil`, true},
		{"index out of range", `arr[5] == 1`, nil},
		{"negative index", `arr[-1] == 3`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalBoth(t, tt.src, order)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("%s = %v, want an error", tt.src, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			if !equalValues(got, tt.want) {
				t.Fatalf("%s = %v (%T), want %v", tt.src, got, got, tt.want)
			}
		})
	}
}

// TestFastCallsApplied makes sure the vocabulary compiles to direct typed calls and member
// access avoids expr's reflective fetch: losing that silently would cost most of the speed.
func TestFastCallsApplied(t *testing.T) {
	src := `is_uuid(event_id) && match(customer_id, "^C[0-9]{7}$") && lookup("regions", country) != nil && ` +
		`fresh(occurred_at, "168h", "5m") && between(payment.amount, 0, 10) && one_of(channel, "web", "app") && ` +
		`all(items, .qty > 0) && money_eq(total, sum(items, .price * .qty), 0.01)`
	opts := append(append([]expr.Option{}, vocabularyOptions...), lookupOption(testTables), expr.Env(envType(nil)), expr.AsBool())
	prog, err := compileProgram(src, testTables, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	code := prog.Disassemble()
	for _, op := range []string{"OpCall\t", "OpCall0", "OpCall1", "OpCall2", "OpCall3", "OpCallN", "OpFetch\t", "OpFetch\n"} {
		if strings.Contains(code, op) {
			t.Errorf("program uses %s:\n%s", strings.TrimSpace(op), code)
		}
	}
	if !strings.Contains(code, "OpCallTyped") {
		t.Errorf("program has no OpCallTyped:\n%s", code)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"168h", 168 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0.5d", 12 * time.Hour, true},
		{"7 days", 0, false},
		{"d", 0, false},
		{"-1d", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
