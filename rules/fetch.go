package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	exprcompiler "github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Member access on decoded JSON (`payment.method`, `.price` inside a predicate) compiles in expr
// to OpFetch, which goes through reflection for every access. Events are map[string]any and
// []any all the way down, so after type checking compileProgram rewrites each such member
// access into a call of a small function with type switches for maps and arrays (it falls
// back to expr's own Fetch for anything else). Type checking has already happened on the
// original tree, so declared field types keep being enforced.
//
// Semantics: `a.b` on a nil `a` is an error, as in expr; `a?.b` is nil. Inside a chain, every
// access after an optional one is nil-tolerant too (`a?.b.c` is nil when a or a.b is nil).

func fetch(base, key any, optional bool) (any, error) {
	switch b := base.(type) {
	case map[string]any:
		if k, ok := key.(string); ok {
			return b[k], nil
		}
	case []any:
		if i, ok := key.(int); ok {
			if i < 0 {
				i += len(b)
			}
			if i < 0 || i >= len(b) {
				return nil, fmt.Errorf("index out of range: %d (array length is %d)", i, len(b))
			}
			return b[i], nil
		}
	case nil:
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot fetch %v from nil", key)
	}
	return runtime.Fetch(base, key), nil
}

var (
	fetchStrict = func(base, key any) any { return must(fetch(base, key, false)) }
	fetchOpt    = func(base, key any) any { return must(fetch(base, key, true)) }
	fetchType   = reflect.TypeOf(fetchStrict)
)

// fetchRewriter replaces member accesses by fetch calls (post-order, after type checking).
type fetchRewriter struct {
	optional map[ast.Node]bool // fetch calls that are nil-tolerant
}

func (f fetchRewriter) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	if t := m.Node.Type(); t != nil {
		switch t.Kind() {
		case reflect.Interface, reflect.Map, reflect.Slice:
		default:
			return // structs (time.Time) and strings keep expr's own access
		}
	}
	fn, opt := fetchStrict, false
	if m.Optional || f.optional[m.Node] {
		fn, opt = fetchOpt, true
	}
	callee := &ast.ConstantNode{Value: fn}
	callee.SetType(fetchType)
	callee.SetLocation(m.Location())
	call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{m.Node, m.Property}}
	call.SetLocation(m.Location())
	if nt := m.Nature(); nt != nil {
		call.SetNature(*nt)
	}
	if opt {
		f.optional[call] = true
	}
	ast.Patch(n, call)
}

// compileProgram is expr.Compile with the fetch and fast-call rewrites between type checking
// and optimisation. inspect, when not nil, sees the checked tree before the rewrites.
func compileProgram(input string, tables map[string]table, inspect func(ast.Node), opts ...expr.Option) (prog *vm.Program, err error) {
	config := conf.CreateNew()
	for _, op := range opts {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := checker.ParseCheck(input, config)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("compile: %v", r)
		}
	}()
	if inspect != nil {
		inspect(tree.Node)
	}
	ast.Walk(&tree.Node, fetchRewriter{optional: map[ast.Node]bool{}})
	ast.Walk(&tree.Node, fastCalls{tables: tables})
	hoistLoads(&tree.Node)
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return exprcompiler.Compile(tree, config)
}

// hoistLoads makes each event field the program reads more than once a variable loaded once:
// `let f = field; ...` around the whole program (loads of top-level fields cannot fail, so
// loading them up front changes nothing but the number of map lookups). Names the program
// declares itself with let, function names and $env are left alone.
func hoistLoads(root *ast.Node) {
	declared := map[string]bool{}
	count := map[string]int{}
	var refs []*ast.Node
	var visit func(n *ast.Node, callee bool)
	visit = func(n *ast.Node, callee bool) {
		switch x := (*n).(type) {
		case nil:
		case *ast.IdentifierNode:
			if !callee && x.Value != "$env" {
				count[x.Value]++
				refs = append(refs, n)
			}
		case *ast.VariableDeclaratorNode:
			declared[x.Name] = true
			visit(&x.Value, false)
			visit(&x.Expr, false)
		case *ast.UnaryNode:
			visit(&x.Node, false)
		case *ast.BinaryNode:
			visit(&x.Left, false)
			visit(&x.Right, false)
		case *ast.ChainNode:
			visit(&x.Node, false)
		case *ast.MemberNode:
			visit(&x.Node, false)
			visit(&x.Property, false)
		case *ast.SliceNode:
			visit(&x.Node, false)
			visit(&x.From, false)
			visit(&x.To, false)
		case *ast.CallNode:
			visit(&x.Callee, true)
			for i := range x.Arguments {
				visit(&x.Arguments[i], false)
			}
		case *ast.BuiltinNode:
			for i := range x.Arguments {
				visit(&x.Arguments[i], false)
			}
			visit(&x.Map, false)
		case *ast.PredicateNode:
			visit(&x.Node, false)
		case *ast.ConditionalNode:
			visit(&x.Cond, false)
			visit(&x.Exp1, false)
			visit(&x.Exp2, false)
		case *ast.SequenceNode:
			for i := range x.Nodes {
				visit(&x.Nodes[i], false)
			}
		case *ast.ArrayNode:
			for i := range x.Nodes {
				visit(&x.Nodes[i], false)
			}
		case *ast.MapNode:
			for i := range x.Pairs {
				visit(&x.Pairs[i], false)
			}
		case *ast.PairNode:
			visit(&x.Key, false)
			visit(&x.Value, false)
		}
	}
	visit(root, false)
	vars := map[string]string{}
	var order []string
	for _, n := range refs {
		name := (*n).(*ast.IdentifierNode).Value
		if declared[name] || count[name] < 2 {
			continue
		}
		v, ok := vars[name]
		if !ok {
			v = "\x00v" + strconv.Itoa(len(vars))
			vars[name] = v
			order = append(order, name)
		}
		id := &ast.IdentifierNode{Value: v}
		id.SetLocation((*n).Location())
		if nt := (*n).Nature(); nt != nil {
			id.SetNature(*nt)
		}
		*n = id
	}
	for i := len(order) - 1; i >= 0; i-- {
		val := &ast.IdentifierNode{Value: order[i]}
		decl := &ast.VariableDeclaratorNode{Name: vars[order[i]], Value: val, Expr: *root}
		if nt := (*root).Nature(); nt != nil {
			decl.SetNature(*nt)
		}
		*root = decl
	}
}
