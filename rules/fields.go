package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// deriveRules turns the constraints of field declarations into rules. Each rule is named
// prefix + path + "." + facet (array elements add "[]" to the path: "items[].qty.minimum").
// Facet checks other than required and type hold for absent values and values of another type,
// so that one problem fails one rule.
func deriveRules(prefix string, fields []SpecField) []SpecRule {
	var out []SpecRule
	for i := range fields {
		f := &fields[i]
		out = appendFieldRules(out, prefix+f.Name.Value, accessor("", f.Name.Value), f)
	}
	return out
}

func appendFieldRules(out []SpecRule, name, acc string, f *SpecField) []SpecRule {
	add := func(facet string, pos Pos, check, msg string) {
		if pos.IsZero() {
			pos = f.Name.Pos
		}
		out = append(out, SpecRule{
			Name:    Str{Value: name + "." + facet, Pos: pos},
			Check:   GeneratedExpr(check, pos),
			Message: Str{Value: msg, Pos: pos},
			Pos:     pos,
		})
	}
	label := name
	if f.Required {
		add("required", f.RequiredPos, acc+" != nil", label+" is required")
	}
	if fn, ok := typeFuncs[f.Type.Value]; ok {
		add("type", f.Type.Pos, fmt.Sprintf("%s == nil || %s(%s)", acc, fn, acc), label+" must be of type "+f.Type.Value)
	}
	if fn, ok := formatFuncs[f.Format.Value]; ok {
		add("format", f.Format.Pos, fmt.Sprintf("%s == nil || !is_string(%s) || %s(%s)", acc, acc, fn, acc), label+" must be a valid "+f.Format.Value)
	}
	if len(f.Enum) > 0 {
		lits := make([]string, len(f.Enum))
		for i, v := range f.Enum {
			lits[i] = exprLiteral(v)
		}
		add("enum", f.EnumPos, fmt.Sprintf("%s == nil || one_of(%s, %s)", acc, acc, strings.Join(lits, ", ")),
			label+" must be one of "+strings.Join(lits, ", "))
	}
	if f.Pattern.Value != "" {
		add("pattern", f.Pattern.Pos, fmt.Sprintf("%s == nil || !is_string(%s) || match(%s, %s)", acc, acc, acc, strconv.Quote(f.Pattern.Value)),
			label+" must match "+f.Pattern.Value)
	}
	num := func(facet string, b *Bound, op, word string) {
		if b == nil {
			return
		}
		v := strconv.FormatFloat(b.Value, 'g', -1, 64)
		add(facet, b.Pos, fmt.Sprintf("%s == nil || !is_number(%s) || %s %s %s", acc, acc, acc, op, v), fmt.Sprintf("%s must be %s %s", label, word, v))
	}
	if f.Minimum != nil && f.Minimum.Exclusive {
		num("exclusiveMinimum", f.Minimum, ">", "greater than")
	} else {
		num("minimum", f.Minimum, ">=", "at least")
	}
	if f.Maximum != nil && f.Maximum.Exclusive {
		num("exclusiveMaximum", f.Maximum, "<", "less than")
	} else {
		num("maximum", f.Maximum, "<=", "at most")
	}
	length := func(facet string, fc *IntFacet, pred, op, word, unit string) {
		if fc == nil {
			return
		}
		add(facet, fc.Pos, fmt.Sprintf("%s == nil || !%s(%s) || length(%s) %s %d", acc, pred, acc, acc, op, fc.Value),
			fmt.Sprintf("%s must have %s %d %s", label, word, fc.Value, unit))
	}
	length("minLength", f.MinLength, "is_string", ">=", "at least", "characters")
	length("maxLength", f.MaxLength, "is_string", "<=", "at most", "characters")
	length("minItems", f.MinItems, "is_array", ">=", "at least", "items")
	length("maxItems", f.MaxItems, "is_array", "<=", "at most", "items")
	if f.UniqueItems {
		add("uniqueItems", f.UniquePos, fmt.Sprintf("%s == nil || !is_array(%s) || unique(%s)", acc, acc, acc), label+" must not repeat items")
	}
	// Rules of an object's fields hold while the object is absent or not an object (its own
	// required and type rules say so), so that one problem fails one rule and reading a
	// field of a non-object never errors; a nested required field is required only in a
	// present object, as in JSON Schema.
	for i := range f.Fields {
		sub := &f.Fields[i]
		for _, r := range appendFieldRules(nil, name+"."+sub.Name.Value, accessor(acc, sub.Name.Value), sub) {
			r.Check.Src = fmt.Sprintf("%s == nil || !is_object(%s) || (%s)", acc, acc, r.Check.Src)
			out = append(out, r)
		}
	}
	if f.Items != nil {
		// Element rules hold for every element: all(acc, <element check on #>).
		elem := appendFieldRules(nil, name+"[]", "#", f.Items)
		for _, r := range elem {
			r.Check.Src = fmt.Sprintf("%s == nil || !is_array(%s) || all(%s, %s)", acc, acc, acc, r.Check.Src)
			out = append(out, r)
		}
	}
	return out
}

var typeFuncs = map[string]string{
	TypeString:    "is_string",
	TypeNumber:    "is_number",
	TypeInteger:   "is_int",
	TypeBoolean:   "is_bool",
	TypeObject:    "is_object",
	TypeArray:     "is_array",
	TypeTimestamp: "is_timestamp",
	TypeDate:      "is_date",
}

// exprLiteral renders a JSON scalar as an expr literal.
func exprLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strconv.Quote(fmt.Sprint(v))
}
