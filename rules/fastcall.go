package rules

import (
	"fmt"
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
)

// Calls of expr.Function functions go through a per-run argument buffer in the VM that is
// allocated (and, in loops, re-allocated) on every run. For the vocabulary that is most of
// the evaluation cost, so after type checking fastCalls rewrites each call into a call of a
// Go function value with one of the signatures the VM calls directly (OpCallTyped: up to two
// arguments of type any, results bool/any/int/float64). Literal arguments (a regexp, a lookup
// table name, durations, bounds, enum values) are bound into the function value at compile
// time, so a regexp is compiled once and a lookup table is resolved once.
//
// Typed functions cannot return an error: they panic with it, and the VM turns the panic into
// the rule's runtime error, exactly like an error returned by the generic function.

// specializer returns a typed function for a call whose literal arguments are lits (nil where
// the argument is not a literal) and the indexes of the arguments it still takes at run
// time, or ok=false when the generic function must be used.
type specializer func(lits []any, tables map[string]table) (fn any, keep []int, ok bool)

// fastFuncs maps vocabulary names to their fast forms: a typed function used when no
// specializer applies, and a specializer.
var fastFuncs = map[string]struct {
	typed any
	spec  specializer
}{
	"present":      {typed: func(v any) bool { return v != nil }},
	"not_null":     {typed: func(v any) bool { return v != nil }},
	"not_empty":    {typed: func(v any) bool { b, _ := fnNotEmpty(v); return b.(bool) }},
	"is_string":    {typed: isString},
	"is_number":    {typed: isNumber},
	"is_int":       {typed: isInt},
	"is_bool":      {typed: isBool},
	"is_array":     {typed: isArray},
	"is_object":    {typed: isObject},
	"is_uuid":      {typed: isUUID},
	"is_email":     {typed: isEmail},
	"is_timestamp": {typed: isTimestamp},
	"is_iso8601":   {typed: isTimestamp},
	"is_date":      {typed: isDate},
	"length": {typed: func(v any) int {
		n, ok := length(v)
		if !ok {
			panic(fmt.Errorf("length: %s has no length", typeName(v)))
		}
		return n
	}},
	"to_time": {typed: func(v any) any { return must(fnToTime(v)) }},
	"now":     {typed: func(c any) any { return must(fnNow(c)) }},
	"age_seconds": {typed: func(ts, c any) any {
		return must(fnAgeSeconds(ts, c))
	}},
	"match": {
		typed: func(v, pattern any) bool { return must(fnMatch(v, pattern)).(bool) },
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			p, ok := lits[1].(string)
			if !ok {
				return nil, nil, false
			}
			re, err := compileRegex(p)
			if err != nil {
				return nil, nil, false // reported by checkCalls
			}
			return func(v any) bool {
				s, ok := v.(string)
				return ok && re.MatchString(s)
			}, []int{0}, true
		},
	},
	"lookup": {
		spec: func(lits []any, tables map[string]table) (any, []int, bool) {
			name, ok := lits[0].(string)
			if !ok {
				return nil, nil, false
			}
			t, ok := tables[name]
			if !ok {
				return nil, nil, false
			}
			return func(k any) any {
				switch k := k.(type) {
				case string:
					return t[k]
				case nil:
					return nil
				default:
					return t[lookupKey(k)]
				}
			}, []int{1}, true
		},
	},
	"between": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			lo, ok1 := toFloat(lits[1])
			hi, ok2 := toFloat(lits[2])
			if !ok1 || !ok2 {
				return nil, nil, false
			}
			return func(v any) bool {
				x, ok := toFloat(v)
				return ok && x >= lo && x <= hi
			}, []int{0}, true
		},
	},
	"length_between": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			lo, ok1 := lits[1].(int)
			hi, ok2 := lits[2].(int)
			if !ok1 || !ok2 {
				return nil, nil, false
			}
			return func(v any) bool {
				n, ok := length(v)
				return ok && n >= lo && n <= hi
			}, []int{0}, true
		},
	},
	"money_eq": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			tol, ok := toFloat(lits[2])
			if !ok || tol < 0 {
				return nil, nil, false
			}
			return func(a, b any) bool {
				return must(fnMoneyEq(a, b, tol)).(bool)
			}, []int{0, 1}, true
		},
	},
	"one_of": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			if len(lits) < 2 {
				return nil, nil, false
			}
			set := make([]any, 0, len(lits)-1)
			for _, l := range lits[1:] {
				if l == nil {
					return nil, nil, false
				}
				set = append(set, l)
			}
			return func(v any) bool {
				for _, c := range set {
					if equalValues(v, c) {
						return true
					}
				}
				return false
			}, []int{0}, true
		},
	},
	"unique": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			switch len(lits) {
			case 1:
				return func(v any) bool { return must(fnUnique(v)).(bool) }, []int{0}, true
			case 2:
				p, ok := lits[1].(string)
				if !ok {
					return nil, nil, false
				}
				return func(v any) bool { return must(fnUnique(v, p)).(bool) }, []int{0}, true
			}
			return nil, nil, false
		},
	},
	"fresh": {
		spec: func(lits []any, _ map[string]table) (any, []int, bool) {
			a, ok1 := lits[1].(string)
			b, ok2 := lits[2].(string)
			if !ok1 || !ok2 || len(lits) != 4 {
				return nil, nil, false
			}
			maxAge, err1 := parseDuration(a)
			maxAhead, err2 := parseDuration(b)
			if err1 != nil || err2 != nil {
				return nil, nil, false // reported by checkCalls
			}
			return func(ts, c any) bool {
				ctx, err := ctxOf(c)
				if err != nil {
					panic(err)
				}
				t, ok := toTime(ts)
				if !ok {
					return false
				}
				age := ctx.now.Sub(t)
				return age <= maxAge && -age <= maxAhead
			}, []int{0, 3}, true
		},
	},
}

func must(v any, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

// fastCalls is the post-check rewrite described above, for one contract's tables.
type fastCalls struct {
	tables map[string]table
}

func (f fastCalls) Visit(n *ast.Node) {
	call, ok := (*n).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	ff, ok := fastFuncs[id.Value]
	if !ok {
		return
	}
	fn, args := ff.typed, call.Arguments
	if ff.spec != nil {
		lits := make([]any, len(call.Arguments))
		for i, a := range call.Arguments {
			lits[i] = literal(a)
		}
		if sfn, keep, ok := ff.spec(lits, f.tables); ok {
			fn = sfn
			args = make([]ast.Node, len(keep))
			for i, k := range keep {
				args[i] = call.Arguments[k]
			}
		}
	}
	if fn == nil {
		return
	}
	t := reflect.TypeOf(fn)
	if len(args) != t.NumIn() {
		return
	}
	if _, ok := checker.TypedFuncIndex(t, false); !ok {
		return
	}
	callee := &ast.ConstantNode{Value: fn}
	callee.SetType(t)
	callee.SetLocation(call.Callee.Location())
	call.Callee = callee
	call.Arguments = args
}

// literal returns the value of a literal node, or nil.
func literal(n ast.Node) any {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value
	case *ast.IntegerNode:
		return n.Value
	case *ast.FloatNode:
		return n.Value
	case *ast.BoolNode:
		return n.Value
	case *ast.UnaryNode:
		if n.Operator == "-" {
			switch x := literal(n.Node).(type) {
			case int:
				return -x
			case float64:
				return -x
			}
		}
	}
	return nil
}
