package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
)

// node is what is known about one JSON value: the constraints of a JSON Schema, built from
// field declarations, rules and enrichment steps. The zero node allows anything.
type node struct {
	forbidden bool     // the value is never there (schema false)
	types     []string // JSON Schema type names; nil: any
	nonNull   bool     // null is not allowed (a required field is present and not null)
	format    string
	pattern   string
	hasEnum   bool
	enum      []any
	hasConst  bool
	constVal  any
	min, max  *bound
	minLen    *int
	maxLen    *int
	minItems  *int
	maxItems  *int
	minProps  *int
	maxProps  *int
	unique    bool
	props     []*prop // object members, in order of first mention
	closed    bool    // no members besides props (additionalProperties false)
	items     *node
	notes     []string // description parts
}

type prop struct {
	name     string
	required bool
	n        *node
}

type bound struct {
	v         float64
	exclusive bool
}

// child returns the member name of n, creating it.
func (n *node) child(name string) *prop {
	for _, p := range n.props {
		if p.name == name {
			return p
		}
	}
	p := &prop{name: name, n: &node{}}
	n.props = append(n.props, p)
	return p
}

// at returns the node at path below n (creating members on the way) and marks every parent
// on the way as an object.
func (n *node) at(path []string) *prop {
	cur := n
	var p *prop
	for i, k := range path {
		p = cur.child(k)
		if i < len(path)-1 {
			p.n.restrictTypes([]string{"object"})
		}
		cur = p.n
	}
	return p
}

func (n *node) note(s string) {
	if s != "" && !slices.Contains(n.notes, s) {
		n.notes = append(n.notes, s)
	}
}

// restrictTypes intersects the allowed types with ts ("integer" is a kind of "number").
func (n *node) restrictTypes(ts []string) {
	if n.types == nil {
		n.types = slices.Clone(ts)
		return
	}
	var out []string
	for _, a := range n.types {
		for _, b := range ts {
			switch {
			case a == b:
				out = append(out, a)
			case a == "integer" && b == "number", a == "number" && b == "integer":
				out = append(out, "integer")
			}
		}
	}
	if len(out) == 0 {
		return // contradictory: keep what was known (each alone is implied by the contract)
	}
	n.types = dedup(out)
}

func dedup(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// restrictEnum intersects the allowed values with vs.
func (n *node) restrictEnum(vs []any) {
	if !n.hasEnum {
		n.hasEnum, n.enum = true, slices.Clone(vs)
		return
	}
	var out []any
	for _, a := range n.enum {
		for _, b := range vs {
			if sameValue(a, b) {
				out = append(out, a)
				break
			}
		}
	}
	if len(out) > 0 {
		n.enum = out
	}
}

func sameValue(a, b any) bool {
	fa, aNum := toFloat(a)
	fb, bNum := toFloat(b)
	if aNum && bNum {
		return fa == fb
	}
	return a == b
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func tighterMin(cur *bound, b bound) *bound {
	if cur == nil || b.v > cur.v || (b.v == cur.v && b.exclusive) {
		return &b
	}
	return cur
}

func tighterMax(cur *bound, b bound) *bound {
	if cur == nil || b.v < cur.v || (b.v == cur.v && b.exclusive) {
		return &b
	}
	return cur
}

func maxInt(cur *int, v int) *int {
	if cur == nil || v > *cur {
		return &v
	}
	return cur
}

func minInt(cur *int, v int) *int {
	if cur == nil || v < *cur {
		return &v
	}
	return cur
}

// merge adds the constraints of o to n (both hold).
func (n *node) merge(o *node) {
	if o.forbidden {
		n.forbidden = true
	}
	if o.types != nil {
		n.restrictTypes(o.types)
	}
	n.nonNull = n.nonNull || o.nonNull
	if n.format == "" {
		n.format = o.format
	}
	if n.pattern == "" {
		n.pattern = o.pattern
	}
	if o.hasEnum {
		n.restrictEnum(o.enum)
	}
	if o.hasConst && !n.hasConst {
		n.hasConst, n.constVal = true, o.constVal
	}
	if o.min != nil {
		n.min = tighterMin(n.min, *o.min)
	}
	if o.max != nil {
		n.max = tighterMax(n.max, *o.max)
	}
	if o.minLen != nil {
		n.minLen = maxInt(n.minLen, *o.minLen)
	}
	if o.maxLen != nil {
		n.maxLen = minInt(n.maxLen, *o.maxLen)
	}
	if o.minItems != nil {
		n.minItems = maxInt(n.minItems, *o.minItems)
	}
	if o.maxItems != nil {
		n.maxItems = minInt(n.maxItems, *o.maxItems)
	}
	if o.minProps != nil {
		n.minProps = maxInt(n.minProps, *o.minProps)
	}
	if o.maxProps != nil {
		n.maxProps = minInt(n.maxProps, *o.maxProps)
	}
	n.unique = n.unique || o.unique
	for _, op := range o.props {
		p := n.child(op.name)
		p.required = p.required || op.required
		p.n.merge(op.n)
	}
	if o.items != nil {
		if n.items == nil {
			n.items = &node{}
		}
		n.items.merge(o.items)
	}
	for _, s := range o.notes {
		n.note(s)
	}
}

// obj is a JSON object that keeps its keys in insertion order.
type obj []kv

type kv struct {
	k string
	v any
}

func (o *obj) set(k string, v any) { *o = append(*o, kv{k, v}) }

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(m.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return []byte(strconv.FormatInt(int64(f), 10)), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return enc, nil
}

// dropInapplicable removes keywords that cannot matter for the allowed types (minItems
// on a string, ...), which rules like length_between add for every type they accept.
func (n *node) dropInapplicable() {
	if n.types == nil {
		return
	}
	has := func(t string) bool {
		return slices.Contains(n.types, t) || (t == "number" && slices.Contains(n.types, "integer"))
	}
	if !has("string") {
		n.format, n.pattern, n.minLen, n.maxLen = "", "", nil, nil
	}
	if !has("number") {
		n.min, n.max = nil, nil
	}
	if !has("array") {
		n.minItems, n.maxItems, n.unique, n.items = nil, nil, false, nil
	}
	if !has("object") {
		n.minProps, n.maxProps, n.props, n.closed = nil, nil, nil, false
	}
}

// render turns n into a JSON Schema value: false, true ({}) or an object.
func (n *node) render() any {
	if n.forbidden {
		return false
	}
	n.dropInapplicable()
	var o obj
	if len(n.notes) > 0 {
		o.set("description", joinNotes(n.notes))
	}
	if n.types != nil {
		ts := slices.Clone(n.types)
		if !n.nonNull && !slices.Contains(ts, "null") {
			ts = append(ts, "null")
		}
		if len(ts) == 1 {
			o.set("type", ts[0])
		} else {
			o.set("type", ts)
		}
	} else if n.nonNull && !n.hasConst && !n.hasEnum {
		o.set("not", obj{{"type", "null"}})
	}
	if n.hasConst {
		o.set("const", n.constVal)
	} else if n.hasEnum {
		vs := slices.Clone(n.enum)
		if !n.nonNull && !slices.ContainsFunc(vs, func(v any) bool { return v == nil }) {
			vs = append(vs, nil)
		}
		o.set("enum", vs)
	}
	if n.format != "" {
		o.set("format", n.format)
	}
	if n.pattern != "" {
		o.set("pattern", n.pattern)
	}
	if n.min != nil {
		if n.min.exclusive {
			o.set("exclusiveMinimum", n.min.v)
		} else {
			o.set("minimum", n.min.v)
		}
	}
	if n.max != nil {
		if n.max.exclusive {
			o.set("exclusiveMaximum", n.max.v)
		} else {
			o.set("maximum", n.max.v)
		}
	}
	for _, f := range []struct {
		k string
		v *int
	}{{"minLength", n.minLen}, {"maxLength", n.maxLen}, {"minItems", n.minItems}, {"maxItems", n.maxItems},
		{"minProperties", n.minProps}, {"maxProperties", n.maxProps}} {
		if f.v != nil {
			o.set(f.k, *f.v)
		}
	}
	if n.unique {
		o.set("uniqueItems", true)
	}
	if n.items != nil {
		o.set("items", n.items.render())
	}
	if len(n.props) > 0 {
		var req []string
		var props obj
		for _, p := range n.props {
			if p.required && !p.n.forbidden {
				req = append(req, p.name)
			}
			props.set(p.name, p.n.render())
		}
		if len(req) > 0 {
			o.set("required", req)
		}
		o.set("properties", props)
	}
	if n.closed {
		o.set("additionalProperties", false)
	}
	if len(o) == 0 {
		return true
	}
	return o
}

func joinNotes(notes []string) string {
	var b bytes.Buffer
	for i, s := range notes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
