package schema

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/meshgate/meshgate/rules"
)

// This file reads constraints out of rule expressions. Only what a passing event must
// satisfy is kept — an error-severity rule, without a guard or with a guard of a form that
// JSON Schema can express — and a rule that is not understood is skipped, so the schema is
// never stricter than the contract (it may be looser).
//
// Understood, as conjunctions (&&, and) of atoms:
//
//	is_uuid(p) is_email(p) is_timestamp(p) is_iso8601(p) is_date(p)   a string of that format
//	is_string(p) is_number(p) is_int(p) is_bool(p) is_array(p) is_object(p)
//	present(p) not_null(p) p != nil                                   not null (and present)
//	not_empty(p)                                                      not null, non-empty
//	match(p, "re") p matches "re"                                     a string matching re
//	one_of(p, lits...) p in [lits...]                                 one of the literals
//	p == lit                                                          that literal
//	between(p, lo, hi) p > n p >= n p < n p <= n (and n < p, ...)      a number in range
//	length_between(p, lo, hi)                                         length of a string/array/object
//	lookup("table", p) != nil                                         p not null
//
// where p is a field path (a, a.b, a?.b, .x and # in predicates). A path a.b implies that a
// is an object. Escapes — a disjunction esc || ... || body whose escapes are p == nil or
// !is_T(p) on one path p, and guards (when: G is !G || check) of the forms p != nil,
// present(p), not_null(p), is_T(p) — make the body hold conditionally:
//
//	p == nil || atoms on p                 the atoms hold whenever p is not null
//	!is_object(p) || atoms on p.x ...      the atoms hold inside p when it is an object
//	!is_array(p) || all(p, pred)           pred holds for every element (recursively)
//	!is_string(p) || atoms on p            their string keywords (format, pattern, lengths)
//	!is_number(p) || atoms on p            their numeric keywords (ranges)

// applyRule adds what rule r implies to the event node root. A guard (when: G) makes the
// rule the disjunction !G || check.
func applyRule(root *node, r rules.SpecRule) {
	if r.Severity.Value == string(rules.SeverityWarn) {
		return
	}
	check, err := parser.Parse(r.Check.Src)
	if err != nil {
		return
	}
	msg := r.Message.Value
	if r.When.IsZero() || r.When.Src == "" {
		imply(root, check.Node, nil, msg, true)
		return
	}
	guard, err := parser.Parse(r.When.Src)
	if err != nil {
		return
	}
	esc, ok := negate(guard.Node)
	if !ok {
		return
	}
	implyDisjunction(root, []ast.Node{esc, check.Node}, nil, msg)
}

// negate returns the escape that a simple guard's negation is: p != nil / present(p) /
// not_null(p) become p == nil; is_T(p) becomes !is_T(p).
func negate(g ast.Node) (ast.Node, bool) {
	if b, ok := g.(*ast.BinaryNode); ok && b.Operator == "!=" {
		if _, isNil := b.Right.(*ast.NilNode); isNil {
			return &ast.BinaryNode{Operator: "==", Left: b.Left, Right: b.Right}, true
		}
		return nil, false
	}
	call, ok := g.(*ast.CallNode)
	if !ok || len(call.Arguments) != 1 {
		return nil, false
	}
	switch callName(call) {
	case "present", "not_null":
		return &ast.BinaryNode{Operator: "==", Left: call.Arguments[0], Right: &ast.NilNode{}}, true
	case "is_string", "is_number", "is_int", "is_array", "is_object":
		return &ast.UnaryNode{Operator: "!", Node: call}, true
	}
	return nil, false
}

// imply records what e, true for every curated event, says about the value whose node is n;
// e's paths start with prefix (the path of n's value in e's terms: nil for the event, "#"
// for an array element, "card" inside a guard on card). sure says that e holds whatever n's
// value is (not only when it is an object), so that an atom failing for a missing member
// makes n's value a present object.
func imply(n *node, e ast.Node, prefix []string, msg string, sure bool) {
	for _, c := range conjuncts(e) {
		if d := disjuncts(c); len(d) > 1 {
			implyDisjunction(n, d, prefix, msg)
			continue
		}
		con, ok := atom(c, nil)
		if !ok {
			continue
		}
		rel, ok := cutPrefix(con.path, prefix)
		if !ok || len(rel) == 0 {
			continue
		}
		con.path = rel
		if sure && con.n.nonNull {
			n.restrictTypes([]string{"object"})
			n.nonNull = true
		}
		con.apply(n, msg, true)
	}
}

// implyDisjunction handles esc1 || ... || escN || body... where the leading escapes are
// p == nil or !is_T(p) on one path p (the value itself or one member below prefix): the rest
// holds whenever p is present and, with a type escape, of type T. The rest may itself be a
// disjunction with escapes on a member of p (p == nil || !is_object(p) || p.x == nil || ...).
func implyDisjunction(n *node, d []ast.Node, prefix []string, msg string) {
	var p []string
	kind := ""
	i := 0
	for ; i < len(d)-1; i++ {
		ep, k, ok := escape(d[i])
		if !ok || (p != nil && !samePath(p, ep)) || (k != "" && kind != "" && k != kind) {
			break
		}
		p = ep
		if k != "" {
			kind = k
		}
	}
	if i == 0 {
		return
	}
	rest := d[i:]
	rel, ok := cutPrefix(p, prefix)
	if !ok || len(rel) > 1 {
		return
	}
	target := n // the node of p's value
	if len(rel) == 1 {
		target = n.child(rel[0]).n // p is optional here: neither required nor typed by this rule
	}
	if len(rest) > 1 {
		if kind == "object" { // escapes on a member of p follow
			implyDisjunction(target, rest, p, msg)
		}
		return
	}
	body := rest[0]
	switch kind {
	case "", "string", "number", "integer":
		for _, c := range conjuncts(body) {
			con, ok := atom(c, nil)
			if !ok || !samePath(con.path, p) {
				continue
			}
			if kind == "" {
				con.n.nonNull = false
			} else {
				con.n = typeSpecific(con.n, kind)
			}
			target.merge(con.n)
			target.note(msg)
		}
	case "object":
		imply(target, body, p, msg, false)
	case "array":
		for _, c := range conjuncts(body) {
			b, ok := c.(*ast.BuiltinNode)
			if !ok || b.Name != "all" || len(b.Arguments) != 2 {
				continue
			}
			ap, ok := path(b.Arguments[0], nil)
			pred, isPred := b.Arguments[1].(*ast.PredicateNode)
			if !ok || !isPred || !samePath(ap, p) {
				continue
			}
			if target.items == nil {
				target.items = &node{}
			}
			imply(target.items, pred.Node, elemRoot, msg, true)
		}
	}
}

// escape reads p == nil (kind "") or !is_T(p) (kind T).
func escape(e ast.Node) ([]string, string, bool) {
	switch x := e.(type) {
	case *ast.BinaryNode:
		if _, isNil := x.Right.(*ast.NilNode); isNil && x.Operator == "==" {
			p, ok := path(x.Left, nil)
			return p, "", ok
		}
	case *ast.UnaryNode:
		if x.Operator != "!" && x.Operator != "not" {
			return nil, "", false
		}
		call, ok := x.Node.(*ast.CallNode)
		if !ok || len(call.Arguments) != 1 {
			return nil, "", false
		}
		p, ok := path(call.Arguments[0], nil)
		if !ok {
			return nil, "", false
		}
		switch callName(call) {
		case "is_string":
			return p, "string", true
		case "is_number":
			return p, "number", true
		case "is_int":
			return p, "integer", true
		case "is_array":
			return p, "array", true
		case "is_object":
			return p, "object", true
		}
	}
	return nil, "", false
}

func cutPrefix(p, prefix []string) ([]string, bool) {
	if len(p) < len(prefix) || !samePath(p[:len(prefix)], prefix) {
		return nil, false
	}
	return p[len(prefix):], true
}

// disjuncts splits a || b || c.
func disjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "||" || b.Operator == "or") {
		return append(disjuncts(b.Left), disjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// elemRoot is the path of an array element inside a predicate (.x is "#"."x").
var elemRoot = []string{"#"}

// constraint is what one atom says about one path.
type constraint struct {
	path []string
	n    *node
}

// apply puts the constraint on n at c.path. required says the atom holds unconditionally,
// so a path whose value it forbids to be null is present, with every parent a present
// object.
func (c constraint) apply(n *node, msg string, required bool) {
	if len(c.path) == 0 {
		return
	}
	p := n.at(c.path)
	if required && c.n.nonNull {
		cur := n
		for i, k := range c.path {
			pp := cur.child(k)
			pp.required = true
			if i < len(c.path)-1 {
				pp.n.nonNull = true
			}
			cur = pp.n
		}
	}
	p.n.merge(c.n)
	p.n.note(msg)
}

// typeSpecific keeps only the keywords of n that apply to values of one JSON type (and so
// hold under a guard testing that type).
func typeSpecific(n *node, kind string) *node {
	out := &node{}
	switch kind {
	case "string":
		out.format, out.pattern, out.minLen, out.maxLen = n.format, n.pattern, n.minLen, n.maxLen
	case "number", "integer":
		out.min, out.max = n.min, n.max
	}
	return out
}

// conjuncts splits a && b && c.
func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

func callName(c *ast.CallNode) string {
	if id, ok := c.Callee.(*ast.IdentifierNode); ok {
		return id.Value
	}
	return ""
}

// path reads a field path: an identifier and member accesses with constant names. rel is
// the root of a path starting inside a predicate (.x or #); nil outside predicates.
func path(n ast.Node, rel []string) ([]string, bool) {
	switch x := n.(type) {
	case *ast.ChainNode:
		return path(x.Node, rel)
	case *ast.IdentifierNode:
		if x.Value == "$env" || x.Value == "nil" {
			return nil, false
		}
		return []string{x.Value}, true
	case *ast.PointerNode:
		if x.Name == "" {
			return elemRoot, true
		}
		return nil, false
	case *ast.MemberNode:
		s, ok := x.Property.(*ast.StringNode)
		if !ok || x.Method {
			return nil, false
		}
		if id, ok := x.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			return []string{s.Value}, true
		}
		base, ok := path(x.Node, rel)
		if !ok {
			return nil, false
		}
		return append(append([]string{}, base...), s.Value), true
	}
	return nil, false
}

func samePath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// literal reads a scalar literal.
func literal(n ast.Node) (any, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.IntegerNode:
		return float64(x.Value), true
	case *ast.FloatNode:
		return x.Value, true
	case *ast.BoolNode:
		return x.Value, true
	case *ast.NilNode:
		return nil, true
	case *ast.UnaryNode:
		if x.Operator == "-" {
			if v, ok := number(x.Node); ok {
				return -v, true
			}
		}
	}
	return nil, false
}

func number(n ast.Node) (float64, bool) {
	v, ok := literal(n)
	if !ok {
		return 0, false
	}
	f, ok := v.(float64)
	return f, ok
}

var formatOf = map[string][2]string{
	"is_uuid":      {"string", "uuid"},
	"is_email":     {"string", "email"},
	"is_timestamp": {"string", "date-time"},
	"is_iso8601":   {"string", "date-time"},
	"is_date":      {"string", "date"},
	"is_string":    {"string", ""},
	"is_number":    {"number", ""},
	"is_int":       {"integer", ""},
	"is_bool":      {"boolean", ""},
	"is_array":     {"array", ""},
	"is_object":    {"object", ""},
}

// atom reads one understood atom.
func atom(a ast.Node, rel []string) (constraint, bool) {
	n := &node{nonNull: true}
	switch x := a.(type) {
	case *ast.CallNode:
		name := callName(x)
		if len(x.Arguments) == 0 {
			return constraint{}, false
		}
		p, ok := path(x.Arguments[0], rel)
		if name == "lookup" && len(x.Arguments) == 2 {
			return constraint{}, false // only as lookup(...) != nil, below
		}
		if !ok {
			return constraint{}, false
		}
		if tf, ok := formatOf[name]; ok && len(x.Arguments) == 1 {
			n.types, n.format = []string{tf[0]}, tf[1]
			return constraint{p, n}, true
		}
		switch name {
		case "present", "not_null":
			if len(x.Arguments) == 1 {
				return constraint{p, n}, true
			}
		case "not_empty":
			if len(x.Arguments) == 1 {
				one := 1
				n.minLen, n.minItems, n.minProps = &one, &one, &one
				return constraint{p, n}, true
			}
		case "match":
			if len(x.Arguments) == 2 {
				if re, ok := x.Arguments[1].(*ast.StringNode); ok {
					n.types, n.pattern = []string{"string"}, re.Value
					return constraint{p, n}, true
				}
			}
		case "one_of":
			var vs []any
			for _, arg := range x.Arguments[1:] {
				v, ok := literal(arg)
				if !ok {
					return constraint{}, false
				}
				vs = append(vs, v)
			}
			return enumConstraint(p, vs), len(vs) > 0
		case "between":
			if len(x.Arguments) == 3 {
				lo, ok1 := number(x.Arguments[1])
				hi, ok2 := number(x.Arguments[2])
				if ok1 && ok2 {
					n.types, n.min, n.max = []string{"number"}, &bound{v: lo}, &bound{v: hi}
					return constraint{p, n}, true
				}
			}
		case "length_between":
			if len(x.Arguments) == 3 {
				lo, ok1 := number(x.Arguments[1])
				hi, ok2 := number(x.Arguments[2])
				if ok1 && ok2 && lo >= 0 && lo == float64(int(lo)) && hi == float64(int(hi)) {
					l, h := int(lo), int(hi)
					n.types = []string{"string", "array", "object"}
					n.minLen, n.maxLen, n.minItems, n.maxItems, n.minProps, n.maxProps = &l, &h, &l, &h, &l, &h
					return constraint{p, n}, true
				}
			}
		}
	case *ast.BinaryNode:
		switch x.Operator {
		case "!=":
			if _, isNil := x.Right.(*ast.NilNode); isNil {
				if call, ok := x.Left.(*ast.CallNode); ok && callName(call) == "lookup" && len(call.Arguments) == 2 {
					if p, ok := path(call.Arguments[1], rel); ok {
						return constraint{p, n}, true
					}
					return constraint{}, false
				}
				if p, ok := path(x.Left, rel); ok {
					return constraint{p, n}, true
				}
			}
		case "==":
			if p, ok := path(x.Left, rel); ok {
				if v, ok := literal(x.Right); ok && v != nil {
					n.hasConst, n.constVal = true, v
					return constraint{p, n}, true
				}
			}
		case "matches":
			if p, ok := path(x.Left, rel); ok {
				if re, ok := x.Right.(*ast.StringNode); ok {
					n.types, n.pattern = []string{"string"}, re.Value
					return constraint{p, n}, true
				}
			}
		case "in":
			p, ok := path(x.Left, rel)
			arr, isArr := x.Right.(*ast.ArrayNode)
			if !ok || !isArr || len(arr.Nodes) == 0 {
				return constraint{}, false
			}
			var vs []any
			for _, e := range arr.Nodes {
				v, ok := literal(e)
				if !ok {
					return constraint{}, false
				}
				vs = append(vs, v)
			}
			return enumConstraint(p, vs), true
		case ">", ">=", "<", "<=":
			op := x.Operator
			p, ok := path(x.Left, rel)
			v, okv := number(x.Right)
			if !ok || !okv { // n < p is p > n
				p, ok = path(x.Right, rel)
				v, okv = number(x.Left)
				op = map[string]string{">": "<", ">=": "<=", "<": ">", "<=": ">="}[op]
			}
			if !ok || !okv {
				return constraint{}, false
			}
			n.types = []string{"number"}
			switch op {
			case ">":
				n.min = &bound{v: v, exclusive: true}
			case ">=":
				n.min = &bound{v: v}
			case "<":
				n.max = &bound{v: v, exclusive: true}
			case "<=":
				n.max = &bound{v: v}
			}
			return constraint{p, n}, true
		}
	}
	return constraint{}, false
}

// enumConstraint: one of vs; not null unless nil is one of them.
func enumConstraint(p []string, vs []any) constraint {
	n := &node{hasEnum: true, enum: vs, nonNull: true}
	for _, v := range vs {
		if v == nil {
			n.nonNull = false
		}
	}
	return constraint{p, n}
}
