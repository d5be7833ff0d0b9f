package benchmarks

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/meshgate/meshgate/rules"
)

// The naive engine's vocabulary: the functions the example contracts call, written the obvious
// way (regular expressions, time.Parse, fmt.Sprint keys), with the same meaning as meshgate's
// (rules/doc.go). The tests hold the naive verdicts to meshgate's on a generated corpus.

var (
	naiveUUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// An address: a dot-separated local part without spaces, controls or specials, and a
	// domain of two or more labels of letters, digits and inner hyphens (non-ASCII allowed).
	naiveEmail = regexp.MustCompile(`^[^\x00-\x20@"(),:;<>\[\]\\\x7f.]+(\.[^\x00-\x20@"(),:;<>\[\]\\\x7f.]+)*@` +
		`[A-Za-z0-9\x{80}-\x{10FFFF}]([A-Za-z0-9\x{80}-\x{10FFFF}-]*[A-Za-z0-9\x{80}-\x{10FFFF}])?` +
		`(\.[A-Za-z0-9\x{80}-\x{10FFFF}]([A-Za-z0-9\x{80}-\x{10FFFF}-]*[A-Za-z0-9\x{80}-\x{10FFFF}])?)+$`)
)

func naiveVocabulary(n *Naive, tables map[string]map[string]any) []expr.Option {
	regexes := map[string]*regexp.Regexp{}
	b := func(f func(any) bool) func(...any) (any, error) {
		return func(p ...any) (any, error) { return f(p[0]), nil }
	}
	return []expr.Option{
		expr.Function("present", b(func(v any) bool { return v != nil })),
		expr.Function("not_null", b(func(v any) bool { return v != nil })),
		expr.Function("not_empty", b(func(v any) bool {
			switch x := v.(type) {
			case nil:
				return false
			case string:
				return strings.TrimSpace(x) != ""
			case []any:
				return len(x) > 0
			case map[string]any:
				return len(x) > 0
			}
			return true
		})),
		expr.Function("is_string", b(func(v any) bool { _, ok := v.(string); return ok })),
		expr.Function("is_number", b(func(v any) bool { _, ok := v.(float64); return ok })),
		expr.Function("is_int", b(func(v any) bool { f, ok := v.(float64); return ok && f == math.Trunc(f) })),
		expr.Function("is_bool", b(func(v any) bool { _, ok := v.(bool); return ok })),
		expr.Function("is_array", b(func(v any) bool { _, ok := v.([]any); return ok })),
		expr.Function("is_object", b(func(v any) bool { _, ok := v.(map[string]any); return ok })),
		expr.Function("is_uuid", b(func(v any) bool { s, ok := v.(string); return ok && naiveUUID.MatchString(s) })),
		expr.Function("is_email", b(func(v any) bool {
			s, ok := v.(string)
			return ok && len(s) <= 254 && utf8.ValidString(s) && naiveEmail.MatchString(s) && strings.IndexByte(s, '@') <= 64
		})),
		expr.Function("is_timestamp", b(func(v any) bool { _, ok := naiveTime(v); return ok })),
		expr.Function("is_date", b(func(v any) bool {
			s, ok := v.(string)
			if !ok {
				return false
			}
			_, err := time.Parse("2006-01-02", s)
			return err == nil
		})),
		expr.Function("between", func(p ...any) (any, error) {
			x, ok := p[0].(float64)
			return ok && x >= naiveNum(p[1]) && x <= naiveNum(p[2]), nil
		}),
		expr.Function("match", func(p ...any) (any, error) {
			s, ok := p[0].(string)
			if !ok {
				return false, nil
			}
			re, ok := regexes[p[1].(string)]
			if !ok {
				var err error
				if re, err = regexp.Compile(p[1].(string)); err != nil {
					return nil, err
				}
				regexes[p[1].(string)] = re
			}
			return re.MatchString(s), nil
		}),
		expr.Function("one_of", func(p ...any) (any, error) {
			switch x := naiveNorm(p[0]).(type) {
			case string, float64, bool:
				for _, c := range p[1:] {
					if naiveNorm(c) == x {
						return true, nil
					}
				}
			}
			return false, nil
		}),
		expr.Function("length", func(p ...any) (any, error) {
			l, ok := naiveLen(p[0])
			if !ok {
				return nil, fmt.Errorf("length: %T has no length", p[0])
			}
			return l, nil
		}),
		expr.Function("length_between", func(p ...any) (any, error) {
			l, ok := naiveLen(p[0])
			return ok && l >= int(naiveNum(p[1])) && l <= int(naiveNum(p[2])), nil
		}),
		expr.Function("money_eq", func(p ...any) (any, error) {
			a, b := naiveNum(p[0]), naiveNum(p[1])
			if math.IsNaN(a) || math.IsNaN(b) {
				return false, nil
			}
			return math.Abs(a-b) <= naiveNum(p[2])+1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b))), nil
		}),
		expr.Function("unique", func(p ...any) (any, error) {
			arr, ok := p[0].([]any)
			if !ok {
				return false, nil
			}
			seen := map[string]bool{}
			for _, v := range arr {
				if len(p) == 2 {
					v = naiveGet(v, p[1].(string))
				}
				k := fmt.Sprintf("%T:%v", v, v)
				if seen[k] {
					return false, nil
				}
				seen[k] = true
			}
			return true, nil
		}),
		expr.Function("fresh", func(p ...any) (any, error) {
			t, ok := naiveTime(p[0])
			if !ok {
				return false, nil
			}
			maxAge, err1 := naiveDuration(p[1].(string))
			maxAhead, err2 := naiveDuration(p[2].(string))
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("fresh: bad duration")
			}
			age := n.now.Sub(t)
			return age <= maxAge && -age <= maxAhead, nil
		}),
		expr.Function("now", func(p ...any) (any, error) { return n.now, nil }),
		expr.Function("lookup", func(p ...any) (any, error) {
			t, ok := tables[p[0].(string)]
			if !ok {
				return nil, fmt.Errorf("lookup: unknown table %v", p[0])
			}
			if p[1] == nil {
				return nil, nil
			}
			return t[fmt.Sprint(p[1])], nil
		}),
	}
}

func naiveNum(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	return math.NaN()
}

// naiveNorm makes expr's int literals and JSON's float64 numbers one type.
func naiveNorm(v any) any {
	if i, ok := v.(int); ok {
		return float64(i)
	}
	return v
}

func naiveLen(v any) (int, bool) {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x), true
	case []any:
		return len(x), true
	case map[string]any:
		return len(x), true
	}
	return 0, false
}

func naiveGet(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func naiveTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		if len(x) < 20 {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(x))
		return t, err == nil
	case float64:
		return time.UnixMilli(int64(x)).UTC(), true
	}
	return time.Time{}, false
}

func naiveDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(d, 64)
		return time.Duration(days * float64(24*time.Hour)), err
	}
	return time.ParseDuration(s)
}

// naiveFieldRules spells out the rules a contract's field declarations imply, with meshgate's
// names ("<path>.<facet>") and meaning (rules/doc.go): a facet other than required and type
// holds for an absent value and for a value of another type.
func naiveFieldRules(prefix string, fields []rules.SpecField) ([]rules.SpecRule, error) {
	var out []rules.SpecRule
	for i := range fields {
		var err error
		if out, err = naiveField(out, prefix+fields[i].Name.Value, naiveAccessor("", fields[i].Name.Value), &fields[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var naiveTypes = map[string]string{"string": "is_string", "number": "is_number", "integer": "is_int", "boolean": "is_bool",
	"object": "is_object", "array": "is_array", "timestamp": "is_timestamp", "date": "is_date"}

var naiveFormats = map[string]string{"uuid": "is_uuid", "email": "is_email", "timestamp": "is_timestamp",
	"date-time": "is_timestamp", "iso8601": "is_timestamp", "date": "is_date"}

func naiveField(out []rules.SpecRule, name, acc string, f *rules.SpecField) ([]rules.SpecRule, error) {
	add := func(facet, check string) {
		out = append(out, rules.SpecRule{Name: rules.Str{Value: name + "." + facet}, Check: rules.Expr{Src: check}})
	}
	guard := func(pred string) string { return fmt.Sprintf("%s == nil || !%s(%s) || ", acc, pred, acc) }
	if f.Required {
		add("required", acc+" != nil")
	}
	if t := f.Type.Value; t != "" && t != "any" {
		fn, ok := naiveTypes[t]
		if !ok {
			return nil, fmt.Errorf("naive: field %s: unknown type %q", name, t)
		}
		add("type", fmt.Sprintf("%s == nil || %s(%s)", acc, fn, acc))
	}
	if f.Format.Value != "" {
		fn, ok := naiveFormats[f.Format.Value]
		if !ok {
			return nil, fmt.Errorf("naive: field %s: unknown format %q", name, f.Format.Value)
		}
		add("format", guard("is_string")+fn+"("+acc+")")
	}
	if len(f.Enum) > 0 {
		lits := make([]string, len(f.Enum))
		for i, v := range f.Enum {
			if s, ok := v.(string); ok {
				lits[i] = strconv.Quote(s)
			} else {
				lits[i] = fmt.Sprint(v)
			}
		}
		add("enum", fmt.Sprintf("%s == nil || one_of(%s, %s)", acc, acc, strings.Join(lits, ", ")))
	}
	if f.Pattern.Value != "" {
		add("pattern", guard("is_string")+fmt.Sprintf("match(%s, %s)", acc, strconv.Quote(f.Pattern.Value)))
	}
	bound := func(facet string, b *rules.Bound, op string) {
		add(facet, guard("is_number")+fmt.Sprintf("%s %s %s", acc, op, strconv.FormatFloat(b.Value, 'g', -1, 64)))
	}
	if b := f.Minimum; b != nil && b.Exclusive {
		bound("exclusiveMinimum", b, ">")
	} else if b != nil {
		bound("minimum", b, ">=")
	}
	if b := f.Maximum; b != nil && b.Exclusive {
		bound("exclusiveMaximum", b, "<")
	} else if b != nil {
		bound("maximum", b, "<=")
	}
	size := func(facet string, fc *rules.IntFacet, pred, op string) {
		if fc != nil {
			add(facet, guard(pred)+fmt.Sprintf("length(%s) %s %d", acc, op, fc.Value))
		}
	}
	size("minLength", f.MinLength, "is_string", ">=")
	size("maxLength", f.MaxLength, "is_string", "<=")
	size("minItems", f.MinItems, "is_array", ">=")
	size("maxItems", f.MaxItems, "is_array", "<=")
	if f.UniqueItems {
		add("uniqueItems", guard("is_array")+"unique("+acc+")")
	}
	for i := range f.Fields {
		var err error
		if out, err = naiveField(out, name+"."+f.Fields[i].Name.Value, naiveAccessor(acc, f.Fields[i].Name.Value), &f.Fields[i]); err != nil {
			return nil, err
		}
	}
	if f.Items != nil {
		elem, err := naiveField(nil, name+"[]", "#", f.Items)
		if err != nil {
			return nil, err
		}
		for _, r := range elem {
			r.Check.Src = guard("is_array") + fmt.Sprintf("all(%s, %s)", acc, r.Check.Src)
			out = append(out, r)
		}
	}
	return out, nil
}

var naiveIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func naiveAccessor(base, name string) string {
	if naiveIdent.MatchString(name) {
		if base == "" {
			return name
		}
		return base + "?." + name
	}
	if base == "" {
		return "$env[" + strconv.Quote(name) + "]"
	}
	return base + "?.[" + strconv.Quote(name) + "]"
}
