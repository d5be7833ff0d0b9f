package contractdiff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/rules"
)

// compareFields compares field declarations facet by facet, for producers: a declaration
// or facet that rejects more events is tightening, one that rejects fewer is loosening.
func compareFields(domain string, old, cur []rules.SpecField) []Change {
	var out []Change
	walkFields("", old, cur, func(path string, o, n *rules.SpecField) {
		add := func(impact, what string) {
			out = append(out, Change{Domain: domain, Audience: Producers, Impact: impact, Kind: "field", Subject: path, What: what})
		}
		switch {
		case o == nil:
			if constrains(n) {
				add(Tightening, "declared: "+describe(n))
			} else {
				add(Neutral, "declared without constraints")
			}
			return
		case n == nil:
			if constrains(o) {
				add(Loosening, "declaration removed (was "+describe(o)+")")
			} else {
				add(Neutral, "declaration removed")
			}
			return
		}
		if o.Required != n.Required {
			if n.Required {
				add(Tightening, "now required")
			} else {
				add(Loosening, "no longer required")
			}
		}
		if ot, nt := o.Type.Value, n.Type.Value; ot != nt {
			add(typeImpact(ot, nt), fmt.Sprintf("type %s -> %s", orNone(ot, "any"), orNone(nt, "any")))
		}
		if of, nf := o.Format.Value, n.Format.Value; of != nf {
			switch {
			case of == "":
				add(Tightening, "format "+nf+" added")
			case nf == "":
				add(Loosening, "format "+of+" removed")
			default:
				add(Tightening, fmt.Sprintf("format %s -> %s", of, nf))
			}
		}
		if d := enumChange(o.Enum, n.Enum); d.impact != "" {
			add(d.impact, d.what)
		}
		if op, np := o.Pattern.Value, n.Pattern.Value; op != np {
			switch {
			case op == "":
				add(Tightening, "pattern "+np+" added")
			case np == "":
				add(Loosening, "pattern "+op+" removed")
			default:
				add(Unknown, fmt.Sprintf("pattern %s -> %s", op, np))
			}
		}
		boundChange(add, "minimum", o.Minimum, n.Minimum, true)
		boundChange(add, "maximum", o.Maximum, n.Maximum, false)
		intChange(add, "minLength", o.MinLength, n.MinLength, true)
		intChange(add, "maxLength", o.MaxLength, n.MaxLength, false)
		intChange(add, "minItems", o.MinItems, n.MinItems, true)
		intChange(add, "maxItems", o.MaxItems, n.MaxItems, false)
		if o.UniqueItems != n.UniqueItems {
			if n.UniqueItems {
				add(Tightening, "uniqueItems added")
			} else {
				add(Loosening, "uniqueItems removed")
			}
		}
	})
	return out
}

// walkFields calls fn for every declared path of either list (old first), objects' fields
// as a.b and array elements as a[].
func walkFields(prefix string, old, cur []rules.SpecField, fn func(path string, o, n *rules.SpecField)) {
	find := func(fs []rules.SpecField, name string) *rules.SpecField {
		for i := range fs {
			if fs[i].Name.Value == name {
				return &fs[i]
			}
		}
		return nil
	}
	var names []string
	for _, f := range old {
		names = append(names, f.Name.Value)
	}
	for _, f := range cur {
		if !slices.Contains(names, f.Name.Value) {
			names = append(names, f.Name.Value)
		}
	}
	for _, name := range names {
		o, n := find(old, name), find(cur, name)
		walkField(prefix+name, o, n, fn)
	}
}

func walkField(path string, o, n *rules.SpecField, fn func(path string, o, n *rules.SpecField)) {
	fn(path, o, n)
	if o == nil || n == nil {
		return // the whole declaration was added or removed: reported once
	}
	walkFields(path+".", o.Fields, n.Fields, fn)
	switch {
	case o.Items != nil && n.Items != nil:
		walkField(path+"[]", o.Items, n.Items, fn)
	case o.Items != nil:
		fn(path+"[]", o.Items, nil)
	case n.Items != nil:
		fn(path+"[]", nil, n.Items)
	}
}

// constrains reports whether a declaration rejects anything.
func constrains(f *rules.SpecField) bool {
	return f.Required || (f.Type.Value != "" && f.Type.Value != rules.TypeAny) || f.Format.Value != "" || len(f.Enum) > 0 ||
		f.Pattern.Value != "" || f.Minimum != nil || f.Maximum != nil || f.MinLength != nil || f.MaxLength != nil ||
		f.MinItems != nil || f.MaxItems != nil || f.UniqueItems || len(f.Fields) > 0 || f.Items != nil
}

// describe summarises a declaration: "string, required, format uuid".
func describe(f *rules.SpecField) string {
	var parts []string
	if f.Type.Value != "" {
		parts = append(parts, f.Type.Value)
	}
	if f.Required {
		parts = append(parts, "required")
	}
	if f.Format.Value != "" {
		parts = append(parts, "format "+f.Format.Value)
	}
	if len(f.Enum) > 0 {
		parts = append(parts, "enum "+fmt.Sprint(f.Enum))
	}
	if f.Pattern.Value != "" {
		parts = append(parts, "pattern "+f.Pattern.Value)
	}
	if f.Minimum != nil {
		parts = append(parts, boundText("minimum", f.Minimum))
	}
	if f.Maximum != nil {
		parts = append(parts, boundText("maximum", f.Maximum))
	}
	if len(parts) == 0 {
		return "constraints"
	}
	return strings.Join(parts, ", ")
}

func boundText(name string, b *rules.Bound) string {
	if b.Exclusive {
		name = "exclusive" + strings.ToUpper(name[:1]) + name[1:]
	}
	return name + " " + strconv.FormatFloat(b.Value, 'g', -1, 64)
}

// typeImpact: a type change rejects events of the old type unless the new type accepts
// everything the old one did.
func typeImpact(old, cur string) string {
	wider := map[[2]string]bool{
		{rules.TypeInteger, rules.TypeNumber}:   true,
		{rules.TypeTimestamp, rules.TypeString}: true,
		{rules.TypeDate, rules.TypeString}:      true,
		{"", rules.TypeAny}:                     true,
		{rules.TypeAny, ""}:                     true,
	}
	switch {
	case cur == "" || cur == rules.TypeAny:
		return Loosening
	case wider[[2]string{old, cur}]:
		return Loosening
	}
	return Tightening
}

type facetDiff struct{ impact, what string }

func enumChange(old, cur []any) facetDiff {
	key := func(v any) string { return fmt.Sprint(v) }
	has := func(vs []any, v any) bool {
		return slices.ContainsFunc(vs, func(x any) bool { return key(x) == key(v) })
	}
	switch {
	case len(old) == 0 && len(cur) == 0:
		return facetDiff{}
	case len(old) == 0:
		return facetDiff{Tightening, fmt.Sprintf("enum %v added", cur)}
	case len(cur) == 0:
		return facetDiff{Loosening, fmt.Sprintf("enum %v removed", old)}
	}
	var added, removed []any
	for _, v := range cur {
		if !has(old, v) {
			added = append(added, v)
		}
	}
	for _, v := range old {
		if !has(cur, v) {
			removed = append(removed, v)
		}
	}
	switch {
	case len(added) == 0 && len(removed) == 0:
		return facetDiff{}
	case len(removed) > 0:
		what := fmt.Sprintf("enum values %v removed", removed)
		if len(added) > 0 {
			what += fmt.Sprintf(", %v added", added)
		}
		return facetDiff{Tightening, what}
	}
	return facetDiff{Loosening, fmt.Sprintf("enum values %v added", added)}
}

// boundChange compares a lower (lower=true) or upper bound.
func boundChange(add func(impact, what string), name string, o, n *rules.Bound, lower bool) {
	switch {
	case o == nil && n == nil:
		return
	case o == nil:
		add(Tightening, boundText(name, n)+" added")
		return
	case n == nil:
		add(Loosening, boundText(name, o)+" removed")
		return
	}
	if o.Value == n.Value && o.Exclusive == n.Exclusive {
		return
	}
	// Compare the sets of accepted values: a higher lower bound (or the same one made
	// exclusive) accepts fewer.
	tighter := (lower && (n.Value > o.Value || (n.Value == o.Value && n.Exclusive))) ||
		(!lower && (n.Value < o.Value || (n.Value == o.Value && n.Exclusive)))
	impact := Loosening
	if tighter {
		impact = Tightening
	}
	add(impact, fmt.Sprintf("%s -> %s", boundText(name, o), boundText(name, n)))
}

func intChange(add func(impact, what string), name string, o, n *rules.IntFacet, lower bool) {
	switch {
	case o == nil && n == nil:
		return
	case o == nil:
		add(Tightening, fmt.Sprintf("%s %d added", name, n.Value))
		return
	case n == nil:
		add(Loosening, fmt.Sprintf("%s %d removed", name, o.Value))
		return
	case o.Value == n.Value:
		return
	}
	impact := Loosening
	if (lower && n.Value > o.Value) || (!lower && n.Value < o.Value) {
		impact = Tightening
	}
	add(impact, fmt.Sprintf("%s %d -> %d", name, o.Value, n.Value))
}
