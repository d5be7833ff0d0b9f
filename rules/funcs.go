package rules

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/meshgate/meshgate/jsonx"
)

// The vocabulary: expr functions available in every expression. They are documented for
// users in doc.go (keep both in sync) and tested in funcs_test.go. Every function accepts any
// value without panicking: a value of the wrong type makes a predicate false rather than an
// error, so that a type rule and a format rule on the same field fail independently.

// ctxIdent is the hidden environment key holding the *evalCtx of the evaluating goroutine.
// Calls to the time-dependent functions get it as an extra last argument (see ctxPatcher);
// users cannot write the name.
const ctxIdent = "\x00meshgate"

// evalCtx is what time-dependent functions need to know about the current evaluation.
type evalCtx struct {
	now time.Time
}

// function is one vocabulary entry.
type function struct {
	name string
	// arity is the number of arguments a user writes; -1 for variadic.
	arity int
	// needsCtx: the call gets the *evalCtx as an extra last argument.
	needsCtx bool
	fn       func(params ...any) (any, error)
	types    []any
}

var vocabulary = []function{
	{name: "present", arity: 1, fn: fnPresent, types: []any{new(func(any) bool)}},
	{name: "not_null", arity: 1, fn: fnPresent, types: []any{new(func(any) bool)}},
	{name: "not_empty", arity: 1, fn: fnNotEmpty, types: []any{new(func(any) bool)}},
	{name: "is_string", arity: 1, fn: pred(isString), types: []any{new(func(any) bool)}},
	{name: "is_number", arity: 1, fn: pred(isNumber), types: []any{new(func(any) bool)}},
	{name: "is_int", arity: 1, fn: pred(isInt), types: []any{new(func(any) bool)}},
	{name: "is_bool", arity: 1, fn: pred(isBool), types: []any{new(func(any) bool)}},
	{name: "is_array", arity: 1, fn: pred(isArray), types: []any{new(func(any) bool)}},
	{name: "is_object", arity: 1, fn: pred(isObject), types: []any{new(func(any) bool)}},
	{name: "is_uuid", arity: 1, fn: pred(isUUID), types: []any{new(func(any) bool)}},
	{name: "is_email", arity: 1, fn: pred(isEmail), types: []any{new(func(any) bool)}},
	{name: "is_timestamp", arity: 1, fn: pred(isTimestamp), types: []any{new(func(any) bool)}},
	{name: "is_iso8601", arity: 1, fn: pred(isTimestamp), types: []any{new(func(any) bool)}},
	{name: "is_date", arity: 1, fn: pred(isDate), types: []any{new(func(any) bool)}},
	{name: "between", arity: 3, fn: fnBetween, types: []any{new(func(any, any, any) bool)}},
	{name: "match", arity: 2, fn: fnMatch, types: []any{new(func(any, string) bool)}},
	{name: "one_of", arity: -1, fn: fnOneOf, types: []any{new(func(any, ...any) bool)}},
	{name: "length_between", arity: 3, fn: fnLengthBetween, types: []any{new(func(any, int, int) bool)}},
	{name: "length", arity: 1, fn: fnLength, types: []any{new(func(any) int)}},
	{name: "money_eq", arity: 3, fn: fnMoneyEq, types: []any{new(func(any, any, any) bool)}},
	{name: "unique", arity: -1, fn: fnUnique, types: []any{new(func(any) bool), new(func(any, string) bool)}},
	{name: "fresh", arity: 3, needsCtx: true, fn: fnFresh, types: []any{new(func(any, string, string, any) bool)}},
	{name: "age_seconds", arity: 1, needsCtx: true, fn: fnAgeSeconds, types: []any{new(func(any, any) float64)}},
	{name: "now", arity: 0, needsCtx: true, fn: fnNow, types: []any{new(func(any) time.Time)}},
	{name: "to_time", arity: 1, fn: fnToTime, types: []any{new(func(any) time.Time)}},
}

// vocabularyNames is the set of names reserved by the vocabulary (plus lookup).
var vocabularyNames = func() map[string]bool {
	m := map[string]bool{"lookup": true}
	for _, f := range vocabulary {
		m[f.name] = true
	}
	return m
}()

// vocabularyOptions are the expr options declaring the vocabulary (lookup is per contract).
var vocabularyOptions = func() []expr.Option {
	opts := make([]expr.Option, 0, len(vocabulary)+1)
	for _, f := range vocabulary {
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	return append(opts, expr.Patch(ctxPatcher{}))
}()

// ctxPatcher appends the hidden context argument to calls of the time-dependent functions
// when they are written with their documented number of arguments.
type ctxPatcher struct{}

func (ctxPatcher) Visit(n *ast.Node) {
	c, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	for _, f := range vocabulary {
		if f.name == id.Value && f.needsCtx && len(c.Arguments) == f.arity {
			arg := &ast.IdentifierNode{Value: ctxIdent}
			arg.SetLocation(c.Location())
			c.Arguments = append(c.Arguments, arg)
			return
		}
	}
}

func pred(f func(any) bool) func(params ...any) (any, error) {
	return func(params ...any) (any, error) { return f(params[0]), nil }
}

func fnPresent(p ...any) (any, error) { return p[0] != nil, nil }

func fnNotEmpty(p ...any) (any, error) {
	switch v := p[0].(type) {
	case nil:
		return false, nil
	case string:
		return strings.TrimSpace(v) != "", nil
	case []any:
		return len(v) > 0, nil
	case map[string]any:
		return len(v) > 0, nil
	}
	return true, nil
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isBool(v any) bool   { _, ok := v.(bool); return ok }
func isArray(v any) bool {
	switch v.(type) {
	case []any, []string:
		return true
	}
	return v != nil && reflect.TypeOf(v).Kind() == reflect.Slice
}
func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func isNumber(v any) bool {
	_, ok := toFloat(v)
	return ok
}

func isInt(v any) bool {
	switch x := v.(type) {
	case int, int64, int32:
		return true
	case float64:
		return x == math.Trunc(x) && !math.IsInf(x, 0)
	}
	return false
}

// toFloat converts the numeric types the decoder and expr produce.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isUUID accepts the canonical 8-4-4-4-12 hexadecimal form, either case.
func isUUID(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isEmail is a pragmatic address check: local@domain, no spaces or control characters, a
// local part of 1..64 bytes without leading, trailing or doubled dots, a domain of two or more
// dot-separated labels of letters, digits and hyphens (not at a label's ends), 254 bytes total.
func isEmail(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > 64 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c == '@' || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' ||
			c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == 0x7f {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// parseTimestamp accepts an RFC 3339 date-time (the ISO 8601 profile used on the wire:
// 2025-01-15T10:00:00Z, with optional fraction and a Z or ±hh:mm offset, 't'/'z' allowed).
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Go requires an upper-case T and Z; RFC 3339 allows lower case too.
		if strings.ContainsAny(s, "tz") {
			t, err = time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		}
		if err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}

func isTimestamp(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, ok = parseTimestamp(s)
	return ok
}

// isDate accepts a calendar date YYYY-MM-DD.
func isDate(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != 10 {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// toTime reads a timestamp string or a number of epoch milliseconds.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		return parseTimestamp(x)
	case time.Time:
		return x, true
	}
	if f, ok := toFloat(v); ok && !math.IsNaN(f) && math.Abs(f) < 1e15 {
		ms := int64(f)
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

func fnBetween(p ...any) (any, error) {
	x, ok := toFloat(p[0])
	if !ok {
		return false, nil
	}
	lo, ok1 := toFloat(p[1])
	hi, ok2 := toFloat(p[2])
	if !ok1 || !ok2 {
		return nil, errors.New("between: bounds must be numbers")
	}
	return x >= lo && x <= hi, nil
}

// regexCache holds compiled patterns by source text. Literal patterns are compiled when the
// contract compiles; the cache keeps dynamic ones too, up to regexCacheMax entries.
var regexCache sync.Map // string -> *regexp.Regexp

var regexCacheLen struct {
	sync.Mutex
	n int
}

const regexCacheMax = 4096

func compileRegex(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	regexCacheLen.Lock()
	if regexCacheLen.n < regexCacheMax {
		if _, loaded := regexCache.LoadOrStore(pattern, re); !loaded {
			regexCacheLen.n++
		}
	}
	regexCacheLen.Unlock()
	return re, nil
}

func fnMatch(p ...any) (any, error) {
	s, ok := p[0].(string)
	if !ok {
		return false, nil
	}
	pattern, ok := p[1].(string)
	if !ok {
		return nil, errors.New("match: pattern must be a string")
	}
	re, err := compileRegex(pattern)
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	return re.MatchString(s), nil
}

// equalValues compares two JSON values, numbers by value whatever their Go type.
func equalValues(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}

func fnOneOf(p ...any) (any, error) {
	for _, c := range p[1:] {
		if equalValues(p[0], c) {
			return true, nil
		}
	}
	return false, nil
}

func length(v any) (int, bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case string:
		return utf8.RuneCountInString(x), true
	case []any:
		return len(x), true
	case map[string]any:
		return len(x), true
	case []string:
		return len(x), true
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return rv.Len(), true
	}
	return 0, false
}

func fnLength(p ...any) (any, error) {
	n, ok := length(p[0])
	if !ok {
		return nil, fmt.Errorf("length: %s has no length", typeName(p[0]))
	}
	return n, nil
}

func fnLengthBetween(p ...any) (any, error) {
	n, ok := length(p[0])
	if !ok {
		return false, nil
	}
	lo, ok1 := p[1].(int)
	hi, ok2 := p[2].(int)
	if !ok1 || !ok2 {
		return nil, errors.New("length_between: bounds must be integers")
	}
	return n >= lo && n <= hi, nil
}

// moneyEpsilon absorbs binary floating-point error so that money_eq(0.3, 0.1+0.2, 0) holds.
const moneyEpsilon = 1e-9

func fnMoneyEq(p ...any) (any, error) {
	a, ok1 := toFloat(p[0])
	b, ok2 := toFloat(p[1])
	if !ok1 || !ok2 {
		return false, nil
	}
	tol, ok := toFloat(p[2])
	if !ok || tol < 0 {
		return nil, errors.New("money_eq: tolerance must be a non-negative number")
	}
	return math.Abs(a-b) <= tol+moneyEpsilon*math.Max(1, math.Max(math.Abs(a), math.Abs(b))), nil
}

// uniqueKey maps a value to a comparable key: numbers by value, strings and bools as they are,
// anything else by its JSON text.
func uniqueKey(v any) any {
	switch x := v.(type) {
	case string, bool, nil:
		return x
	}
	if f, ok := toFloat(v); ok {
		return f
	}
	b, err := jsonx.Marshal(nil, v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return "\x00" + string(b)
}

// getPath reads a dotted path (already split) from a JSON value.
func getPath(v any, path []string) (any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return v, true
}

func fnUnique(p ...any) (any, error) {
	if len(p) < 1 || len(p) > 2 {
		return nil, errors.New("unique: want 1 or 2 arguments")
	}
	var path []string
	if len(p) == 2 {
		s, ok := p[1].(string)
		if !ok {
			return nil, errors.New("unique: key path must be a string")
		}
		path = strings.Split(s, ".")
	}
	var items []any
	switch x := p[0].(type) {
	case []any:
		items = x
	case []string:
		seen := make(map[string]struct{}, len(x))
		for _, s := range x {
			if _, dup := seen[s]; dup {
				return false, nil
			}
			seen[s] = struct{}{}
		}
		return true, nil
	default:
		rv := reflect.ValueOf(p[0])
		if !rv.IsValid() || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return false, nil
		}
		items = make([]any, rv.Len())
		for i := range items {
			items[i] = rv.Index(i).Interface()
		}
	}
	if len(items) < 2 {
		return true, nil
	}
	// Small arrays: a quadratic scan without allocating.
	if len(items) <= 8 {
		for i := 1; i < len(items); i++ {
			a := items[i]
			if path != nil {
				a, _ = getPath(a, path)
			}
			for j := 0; j < i; j++ {
				b := items[j]
				if path != nil {
					b, _ = getPath(b, path)
				}
				if uniqueEqual(a, b) {
					return false, nil
				}
			}
		}
		return true, nil
	}
	seen := make(map[any]struct{}, len(items))
	for _, it := range items {
		if path != nil {
			it, _ = getPath(it, path)
		}
		k := uniqueKey(it)
		if _, dup := seen[k]; dup {
			return false, nil
		}
		seen[k] = struct{}{}
	}
	return true, nil
}

func uniqueEqual(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return uniqueKey(a) == uniqueKey(b)
	}
	return equalValues(a, b)
}

// parseDuration is time.ParseDuration plus a "d" unit for days ("7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d := time.Duration(days * float64(24*time.Hour))
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			d += r
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func ctxOf(v any) (*evalCtx, error) {
	c, ok := v.(*evalCtx)
	if !ok || c == nil {
		return nil, errors.New("no evaluation context")
	}
	return c, nil
}

func fnFresh(p ...any) (any, error) {
	c, err := ctxOf(p[3])
	if err != nil {
		return nil, err
	}
	t, ok := toTime(p[0])
	if !ok {
		return false, nil
	}
	maxAge, err := parseDuration(asString(p[1]))
	if err != nil {
		return nil, fmt.Errorf("fresh: max age: %w", err)
	}
	maxAhead, err := parseDuration(asString(p[2]))
	if err != nil {
		return nil, fmt.Errorf("fresh: max ahead: %w", err)
	}
	age := c.now.Sub(t)
	return age <= maxAge && -age <= maxAhead, nil
}

func fnAgeSeconds(p ...any) (any, error) {
	c, err := ctxOf(p[1])
	if err != nil {
		return nil, err
	}
	t, ok := toTime(p[0])
	if !ok {
		return nil, fmt.Errorf("age_seconds: %s is not a timestamp", typeName(p[0]))
	}
	return c.now.Sub(t).Seconds(), nil
}

func fnNow(p ...any) (any, error) {
	c, err := ctxOf(p[0])
	if err != nil {
		return nil, err
	}
	return c.now, nil
}

func fnToTime(p ...any) (any, error) {
	t, ok := toTime(p[0])
	if !ok {
		return nil, fmt.Errorf("to_time: %s is not a timestamp", typeName(p[0]))
	}
	return t, nil
}

func asString(v any) string { s, _ := v.(string); return s }

// typeName names a JSON value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := toFloat(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// formatFuncs maps the formats of field declarations to their predicate function.
var formatFuncs = map[string]string{
	FormatUUID:      "is_uuid",
	FormatEmail:     "is_email",
	FormatTimestamp: "is_timestamp",
	"date-time":     "is_timestamp",
	"iso8601":       "is_timestamp",
	FormatDate:      "is_date",
}
