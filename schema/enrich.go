package schema

import (
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/meshgate/meshgate/rules"
)

// enrich applies one enrichment step to the event node, as the evaluator applies it to an
// event (rules/enrich.go).
func enrich(root *node, c *rules.Contract, st rules.SpecStep, lookups map[string]string) {
	path := strings.Split(st.Path.Value, ".")
	switch st.Op {
	case rules.OpSet:
		p := setPath(root, path)
		p.n = valueNode(st.Value.Src, lookups)
		p.n.note("set by enrichment: " + st.Value.Src)
	case rules.OpRename:
		from := lookupPath(root, path)
		toPath := strings.Split(st.To.Value, ".")
		if from != nil && from.required && !from.n.forbidden {
			to := setPath(root, toPath)
			to.n = from.n
			to.n.note("renamed from " + st.Path.Value + " by enrichment")
		} else { // maybe absent: then the rename does nothing and the target keeps what it had
			to := root.at(toPath)
			to.n, to.required = &node{notes: []string{"renamed from " + st.Path.Value + " by enrichment, when present"}}, false
		}
		forbid(root, path)
	case rules.OpDrop:
		forbid(root, path)
	case rules.OpRedact:
		p := root.at(path)
		p.n = &node{hasConst: true, constVal: rules.Redacted, notes: []string{"redacted by enrichment"}}
	case rules.OpHash:
		p := root.at(path)
		nonNull := p.n.nonNull
		p.n = &node{types: []string{"string"}, pattern: HashPattern, nonNull: nonNull,
			notes: []string{"hashed by enrichment: hex sha256 of a secret salt and the value"}}
	case rules.OpNormalize:
		p := root.at(path)
		p.n = normalized(p.n, st.Norm.Value)
	case rules.OpMetadata:
		p := setPath(root, path)
		meta := &node{types: []string{"object"}, nonNull: true, closed: true, notes: []string{"processing metadata added by meshgate"}}
		for _, m := range []struct {
			name string
			n    *node
		}{
			{"contract", &node{hasConst: true, constVal: c.Domain}},
			{"version", &node{hasConst: true, constVal: c.Version}},
			{"processedAt", &node{types: []string{"string"}, format: "date-time", nonNull: true}},
		} {
			mp := meta.child(m.name)
			mp.required, mp.n = true, m.n
		}
		p.n = meta
	}
}

// setPath returns the member at path after a step wrote it: present, with every parent a
// present object (the evaluator creates missing parents).
func setPath(root *node, path []string) *prop {
	cur := root
	var p *prop
	for i, k := range path {
		p = cur.child(k)
		p.required = true
		if p.n.forbidden {
			p.n = &node{}
		}
		if i < len(path)-1 {
			p.n.restrictTypes([]string{"object"})
			p.n.nonNull = true
		}
		cur = p.n
	}
	return p
}

func lookupPath(root *node, path []string) *prop {
	cur := root
	var p *prop
	for _, k := range path {
		p = nil
		for _, q := range cur.props {
			if q.name == k {
				p = q
			}
		}
		if p == nil {
			return nil
		}
		cur = p.n
	}
	return p
}

// forbid marks the member at path as never present (when its parents are known).
func forbid(root *node, path []string) {
	p := root.at(path)
	p.n = &node{forbidden: true}
	p.required = false
}

// valueNode is what a set step's expression yields, as far as it is obvious: a literal's
// value, or a CSV lookup's string-or-null.
func valueNode(src string, lookups map[string]string) *node {
	tree, err := parser.Parse(src)
	if err != nil {
		return &node{}
	}
	if v, ok := literal(tree.Node); ok {
		if v == nil {
			return &node{types: []string{"null"}}
		}
		return &node{hasConst: true, constVal: v}
	}
	if call, ok := tree.Node.(*ast.CallNode); ok && callName(call) == "lookup" && len(call.Arguments) == 2 {
		if name, ok := call.Arguments[0].(*ast.StringNode); ok && strings.HasSuffix(lookups[name.Value], ".csv") {
			return &node{types: []string{"string"}} // CSV cells are strings; a missing key gives null
		}
	}
	return &node{}
}

// normalized keeps what holds after trimming or case folding a string value: the type,
// presence and numeric facets, and enum/const values folded the same way.
func normalized(n *node, op string) *node {
	out := &node{types: n.types, nonNull: n.nonNull, min: n.min, max: n.max, minItems: n.minItems, maxItems: n.maxItems,
		unique: n.unique, items: n.items, props: n.props, closed: n.closed, notes: append(n.notes, "normalized by enrichment ("+op+")")}
	fold := func(v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		switch op {
		case "trim":
			return strings.TrimSpace(s)
		case "lower":
			return strings.ToLower(s)
		case "upper":
			return strings.ToUpper(s)
		}
		return s
	}
	if n.hasEnum {
		out.hasEnum = true
		for _, v := range n.enum {
			out.enum = append(out.enum, fold(v))
		}
	}
	if n.hasConst {
		out.hasConst, out.constVal = true, fold(n.constVal)
	}
	return out
}
